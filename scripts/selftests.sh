#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# selftests.sh [ARCH]: install the uAPI headers of the kernel tree (ours
# included) for ARCH (x86, the default, from the normal kernel's build; or
# arm64, from the arm64 kernel's) and build the selftests and the C init as
# static binaries against them, into $SELFTESTS_OUT/ARCH.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arch=${1:-x86}
case "$arch" in
x86) flavour=normal cc=gcc ;;
arm64) flavour=arm64 cc=aarch64-linux-gnu-gcc ;;
*) die "unknown arch '$arch' (x86 or arm64)" ;;
esac
kbuild_vars "$arch"
out=$CACHE/build/$flavour
hdr=$CACHE/headers/$arch
bin=$(arch_selftests "$arch")
uapi=$REPO/include/uapi/linux/iommufd.h
lock_cache
[ -f "$out/.config" ] || die "configure the kernel first (scripts/kernel.sh $flavour)"

t0=$SECONDS
# headers_install again unless both our uAPI header and the installed copy
# have the content they had after the last install (checksums kept next to
# the headers; timestamps are not trusted).  The selftests and the ABI
# check depend on the installed copy, so they are rebuilt after it changed.
installed=$hdr/include/linux/iommufd.h
stamp=$hdr/.iommufd.h.sha256
sums() { echo "ours $(sha256sum < "$uapi")"; echo "installed $(sha256sum < "$installed")"; }
if [ -f "$installed" ] && [ "$(sums)" = "$(cat "$stamp" 2>/dev/null)" ]; then
	say "$arch uAPI headers in $hdr are up to date"
else
	say "installing the $arch uAPI headers into $hdr (ours or the installed copy changed)"
	# Delete kbuild's copy too, so that it is made again whatever its mtime.
	rm -f "$stamp" "$out/usr/include/linux/iommufd.h"
	make -s -C "$KSRC" O="$out" "${KBUILD_VARS[@]}" INSTALL_HDR_PATH="$hdr" headers_install
	sums > "$stamp"
fi
make -s -C "$REPO/selftests" CC="$cc" KHDR="$hdr/include" KSRC="$KSRC" \
	OUT="$bin" -j"$JOBS"
say "$arch selftests built in $bin: $((SECONDS - t0)) s"
