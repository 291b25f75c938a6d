#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# qemu10.sh: QEMU 10 from Debian 12's backports suite, unpacked into
# .cache/qemu10/root, for vmm.sh to run inside the test VM.  The host's own
# QEMU 7.2 (which boots the test VMs) is left alone: the packages are only
# downloaded (apt-get download, through an apt configuration of our own in
# .cache/qemu10/apt that lists bookworm-backports alone) and unpacked with
# dpkg -x, never installed.  The libraries QEMU 10 links against come from
# bookworm itself: those of its dependencies that are missing are
# installed like deps.sh does.  Done once; the versions unpacked are kept
# in .cache/qemu10/versions, and `make distclean` (or deleting the
# directory) fetches the current ones again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# The binary, its firmware files (qemu-system-data), and the SeaBIOS it
# was built for (bookworm's is older than QEMU 10 asks for).
DEBS="qemu-system-x86 qemu-system-data seabios"
SUITE=bookworm-backports
root=$QEMU10/root
qemu=$root/usr/bin/qemu-system-x86_64

# apt_bp DIR TOOL ARG...: apt-get or apt-cache with the source list, lists
# and cache in DIR/apt, so that the host's apt state stays as it was.
apt_bp() {
	local apt=$1/apt tool=$2
	shift 2
	"$tool" -o Dir::Etc::SourceList="$apt/backports.sources" \
		-o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" "$@"
}

# Download the packages into $QEMU10.tmp, unpack them, then move it in place.
fetch() {
	local t=$QEMU10.tmp d names=()
	[ "$(id -u)" = 0 ] || die "need root to fetch QEMU 10 from $SUITE (apt-get update)"
	fresh_dir "$t"
	mkdir -p "$t/apt/lists/partial" "$t/apt/cache/archives/partial" "$t/debs"
	cat > "$t/apt/backports.sources" <<-EOF
	Types: deb
	URIs: http://deb.debian.org/debian
	Suites: $SUITE
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	say "apt-get update of $SUITE alone (lists in $t/apt)"
	apt_bp "$t" apt-get update -qq
	for d in $DEBS; do
		names+=("$d/$SUITE")
	done
	# apt warns that root downloads where its sandbox user cannot write.
	(cd "$t/debs" && apt_bp "$t" apt-get download -qq "${names[@]}" 2>&1) |
		{ grep -v 'unsandboxed as root' || true; } >&2
	for d in "$t"/debs/*.deb; do
		dpkg -x "$d" "$t/root"
		dpkg-deb -W --showformat='${Package} ${Version}\n' "$d" >> "$t/versions"
	done
	safe_rm "$QEMU10"
	mv "$t" "$QEMU10"
}

# The libraries QEMU 10 depends on are bookworm's: install those missing.
install_libs() {
	local libs
	libs=$(dpkg-deb -f "$QEMU10"/debs/qemu-system-x86_*.deb Depends |
		tr ',' '\n' | sed 's/^ *//; s/[ (].*//' | grep '^lib')
	# shellcheck disable=SC2086 # one word per package
	install_missing $libs
}

lock_cache
if [ ! -x "$qemu" ] || [ ! -s "$QEMU10/versions" ]; then
	timed "fetch QEMU 10 from $SUITE" fetch
fi
install_libs
! ldd "$qemu" | grep 'not found' >&2 || die "$qemu: libraries not found"
"$qemu" --version | grep -q '^QEMU emulator version 10\.' ||
	die "$qemu is not QEMU 10: $("$qemu" --version | head -n 1)"
for f in $QEMU10_FIRMWARE; do
	[ -f "$root/$f" ] || die "$root/$f missing"
done
say "$SUITE's $(paste -sd, "$QEMU10/versions" | sed 's/,/, /g') in $root"
