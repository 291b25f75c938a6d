#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# run.sh [FLAVOUR [IOMMU]]: build the FLAVOUR kernel (normal, debug, type1,
# arm64 or upstream) and the test programs, boot them in a VM with IOMMU
# (see boot.sh) and show the /dev/iommu demo.  With a terminal on stdin you
# then get a shell in the VM (x86 only; Ctrl-A X quits QEMU); otherwise the
# VM powers off after the demo.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:-normal}
arch=$(flavour_arch "$flavour")
iommu=$(flavour_iommu "$flavour" "${2:-}")
"$REPO/scripts/deps.sh"
lock_cache
"$REPO/scripts/kernel.sh" "$flavour"
# The x86 selftests are built against the normal kernel's headers.
[ "$arch" != x86 ] || [ "$flavour" = normal ] ||
	"$REPO/scripts/kernel.sh" normal
"$REPO/scripts/selftests.sh" "$arch"
if [ -t 0 ]; then
	exec "$REPO/scripts/boot.sh" "$flavour" shell "$iommu"
fi
exec "$REPO/scripts/boot.sh" "$flavour" demo "$iommu"
