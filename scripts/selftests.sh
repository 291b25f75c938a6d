#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# selftests.sh: install the uAPI headers of the kernel tree (ours included)
# and build the selftests as static binaries against them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$CACHE/build/normal
hdr=$CACHE/headers
uapi=$REPO/include/uapi/linux/iommufd.h
lock_cache
[ -f "$out/.config" ] || die "configure the kernel first (scripts/kernel.sh normal)"

t0=$SECONDS
# headers_install again whenever the content of our uAPI header differs
# from what was installed last (its checksum is kept next to the headers;
# timestamps are not trusted).  The selftests depend on the installed copy.
sum=$(sha256sum < "$uapi")
if [ -f "$hdr/include/linux/iommufd.h" ] && [ "$(cat "$hdr/.iommufd.h.sha256" 2>/dev/null)" = "$sum" ]; then
	say "uAPI headers in $hdr are up to date"
else
	say "installing the uAPI headers (include/uapi/linux/iommufd.h changed) into $hdr"
	# Delete kbuild's copy too, so that it is made again whatever its mtime.
	rm -f "$hdr/.iommufd.h.sha256" "$out/usr/include/linux/iommufd.h"
	make -s -C "$KSRC" O="$out" INSTALL_HDR_PATH="$hdr" headers_install
	echo "$sum" > "$hdr/.iommufd.h.sha256"
fi
make -s -C "$REPO/selftests" KHDR="$hdr/include" KSRC="$KSRC" \
	OUT="$SELFTESTS_OUT" -j"$JOBS"
say "selftests built in $SELFTESTS_OUT: $((SECONDS - t0)) s"
