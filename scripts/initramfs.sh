#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# initramfs.sh OUTPUT: pack busybox, our init script and the selftest
# binaries into an uncompressed cpio archive.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cpio_out=${1:?usage: initramfs.sh OUTPUT}
root=$CACHE/initramfs.$$
trap 'rm -rf "$root"' EXIT
bb=/bin/busybox

rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,mnt,tests}
cp "$bb" "$root/bin/busybox"
cp "$REPO/selftests/init" "$root/init"
chmod 755 "$root/init"
if [ -n "${ONLY:-}" ]; then
	cp "$SELFTESTS_OUT/$ONLY" "$root/tests/"
else
	cp "$SELFTESTS_OUT"/* "$root/tests/"
fi
(cd "$root" && find . | cpio -o -H newc --quiet) > "$cpio_out"
say "$(du -h "$cpio_out" | cut -f1) initramfs with $(ls "$root/tests" | wc -l) test programs"
