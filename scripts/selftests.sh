#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# selftests.sh: install the uAPI headers of the kernel tree (ours included)
# and build the selftests as static binaries against them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out=$CACHE/build/normal
hdr=$CACHE/headers
[ -f "$out/.config" ] || die "configure the kernel first (scripts/kernel.sh normal)"

t0=$SECONDS
# Only the first run installs the headers; later ones reuse them.
[ -f "$hdr/include/linux/iommufd.h" ] && [ "$hdr/include/linux/iommufd.h" -nt "$REPO/include/uapi/linux/iommufd.h" ] ||
	make -s -C "$KSRC" O="$out" INSTALL_HDR_PATH="$hdr" headers_install
make -s -C "$REPO/selftests" KHDR="$hdr/include" KSRC="$KSRC" \
	OUT="$SELFTESTS_OUT" -j"$JOBS"
say "selftests built in $SELFTESTS_OUT: $((SECONDS - t0)) s"
