#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# initramfs.sh OUTPUT: pack busybox, our init script and the selftest
# binaries into an uncompressed cpio archive.
# Environment: ONLY=<program> packs just that program ("iommufd-access" or
# "access"); ARGS="-r FIXTURE.TEST ..." are given to every test program
# (split like shell words, quotes allowed; packed as /harness/args, one
# argument per line, for selftests/init).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cpio_out=${1:?usage: initramfs.sh OUTPUT}
root=$CACHE/initramfs.$$
trap 'safe_rm "$root"' EXIT
bb=/bin/busybox

safe_rm "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,mnt,tests,harness}
cp "$bb" "$root/bin/busybox"
cp "$REPO/selftests/init" "$root/init"
chmod 755 "$root/init"
if [ -n "${ONLY:-}" ]; then
	prog=$ONLY
	[ -e "$SELFTESTS_OUT/$prog" ] || prog=iommufd-$ONLY
	[ -e "$SELFTESTS_OUT/$prog" ] ||
		die "ONLY=$ONLY: no such program in $SELFTESTS_OUT; there are:" \
			"$(cd "$SELFTESTS_OUT" && echo iommufd-*)"
	cp "$SELFTESTS_OUT/$prog" "$root/tests/"
else
	cp "$SELFTESTS_OUT"/iommufd-* "$root/tests/"
fi
if [ -n "${ARGS:-}" ]; then
	# xargs splits like the shell (quotes, backslashes) but runs nothing else.
	printf '%s\n' "$ARGS" | xargs -r printf '%s\n' > "$root/harness/args"
	say "test programs get $(wc -l < "$root/harness/args") arguments: $(paste -sd' ' "$root/harness/args")"
fi
(cd "$root" && find . | cpio -o -H newc --quiet) > "$cpio_out"
say "$(du -h "$cpio_out" | cut -f1) initramfs with $(ls "$root/tests" | wc -l) test programs"
