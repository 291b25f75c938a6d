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
# headers_install again unless both our uAPI header and the installed copy
# have the content they had after the last install (checksums kept next to
# the headers; timestamps are not trusted).  The selftests and the ABI
# check depend on the installed copy, so they are rebuilt after it changed.
installed=$hdr/include/linux/iommufd.h
stamp=$hdr/.iommufd.h.sha256
sums() { echo "ours $(sha256sum < "$uapi")"; echo "installed $(sha256sum < "$installed")"; }
if [ -f "$installed" ] && [ "$(sums)" = "$(cat "$stamp" 2>/dev/null)" ]; then
	say "uAPI headers in $hdr are up to date"
else
	say "installing the uAPI headers into $hdr (ours or the installed copy changed)"
	# Delete kbuild's copy too, so that it is made again whatever its mtime.
	rm -f "$stamp" "$out/usr/include/linux/iommufd.h"
	make -s -C "$KSRC" O="$out" INSTALL_HDR_PATH="$hdr" headers_install
	sums > "$stamp"
fi
make -s -C "$REPO/selftests" KHDR="$hdr/include" KSRC="$KSRC" \
	OUT="$SELFTESTS_OUT" -j"$JOBS"
say "selftests built in $SELFTESTS_OUT: $((SECONDS - t0)) s"
