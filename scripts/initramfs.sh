#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# initramfs.sh OUTPUT [ARCH]: pack the selftest binaries of ARCH (x86, the
# default, or arm64) and an init into an uncompressed cpio archive: on x86
# busybox and our init script, on arm64 (no busybox) our C init,
# selftests/init-static.c; make bench's program as /bin/bench.
# Environment: ONLY=<program> packs just that program ("iommufd-access" or
# "access"); ARGS="-r FIXTURE.TEST ..." are given to every test program
# (split like shell words, quotes allowed; packed as /harness/args, one
# argument per line, for selftests/init).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cpio_out=${1:?usage: initramfs.sh OUTPUT [ARCH]}
arch=${2:-x86}
bin=$(arch_selftests "$arch")
root=$CACHE/initramfs.$$
trap 'safe_rm "$root"' EXIT
bb=/bin/busybox

safe_rm "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,mnt,tests,harness}
case "$arch" in
x86)
	cp "$bb" "$root/bin/busybox"
	cp "$REPO/selftests/init" "$root/init"
	;;
arm64)
	[ -e "$bin/init-static" ] || die "no $bin/init-static: run scripts/selftests.sh arm64"
	cp "$bin/init-static" "$root/init"
	;;
*) die "unknown arch '$arch' (x86 or arm64)" ;;
esac
chmod 755 "$root/init"
# make bench's program (not a test), where it was built.
[ ! -e "$bin/bench" ] || cp "$bin/bench" "$root/bin/bench"
# PERF=1 (x86): the host's perf and its libraries, for profiling the bench.
if [ "${PERF:-}" = 1 ] && [ "$arch" = x86 ]; then
	[ -x /usr/bin/perf ] || die "PERF=1: no /usr/bin/perf (apt-get install linux-perf)"
	cp /usr/bin/perf "$root/bin/perf"
	for lib in $(ldd /usr/bin/perf | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
fi
if [ -n "${ONLY:-}" ]; then
	prog=$ONLY
	[ -e "$bin/$prog" ] || prog=iommufd-$ONLY
	[ -e "$bin/$prog" ] ||
		die "ONLY=$ONLY: no such program in $bin; there are:" \
			"$(cd "$bin" && echo iommufd-*)"
	cp "$bin/$prog" "$root/tests/"
else
	cp "$bin"/iommufd-* "$root/tests/"
fi
if [ -n "${ARGS:-}" ]; then
	# xargs splits like the shell (quotes, backslashes) but runs nothing else.
	printf '%s\n' "$ARGS" | xargs -r printf '%s\n' > "$root/harness/args"
	say "test programs get $(wc -l < "$root/harness/args") arguments: $(paste -sd' ' "$root/harness/args")"
fi
(cd "$root" && find . | cpio -o -H newc --quiet) > "$cpio_out"
say "$(du -h "$cpio_out" | cut -f1) $arch initramfs with $(ls "$root/tests" | wc -l) test programs"
