#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# test.sh: the edit-run loop.  Build the normal kernel and the selftests,
# boot, run the tests, judge the logs; no lint, no debug kernel.  IOMMU
# picks the VM's IOMMU: intel (the default), amd or virtio on the normal
# kernel, smmuv3 on the arm64 kernel.  FLAVOUR=debug or FLAVOUR=upstream
# (the package's own iommufd) boots that x86 kernel instead.  ONLY and ARGS (see initramfs.sh) pick
# one program and its kselftest options, e.g.
# ONLY=iommufd-access ARGS="-r mock_access.no_domain.pin_errors".
# The last line is "N passed, N failed, N skipped".
set -uo pipefail
. "$(dirname "$0")/lib.sh"

t_start=$SECONDS
flavour=${FLAVOUR:-normal}
case "$flavour" in
normal | debug | upstream) ;;
*) die "FLAVOUR=$flavour: make test boots normal, debug or upstream (IOMMU=smmuv3: arm64)" ;;
esac
[ "${IOMMU:-}" = smmuv3 ] && [ "$flavour" = normal ] && flavour=arm64
arch=$(flavour_arch $flavour)
iommu=$(flavour_iommu $flavour "${IOMMU:-}") || exit 1
"$REPO/scripts/deps.sh" || die "cannot install dependencies"
lock_cache
mkdir -p "$LOGS"
say "$flavour kernel under $iommu only${ONLY:+, ONLY=$ONLY}${ARGS:+, ARGS=$ARGS}"
# The x86 selftests are built against the normal kernel's headers.
headers=$flavour
[ "$arch" = x86 ] && headers=normal
if build "build $flavour kernel" "$REPO/scripts/kernel.sh" $flavour &&
   { [ $headers = $flavour ] || build "build $headers kernel" "$REPO/scripts/kernel.sh" $headers; } &&
   build "build $arch selftests" "$REPO/scripts/selftests.sh" "$arch"; then
	vm_run $flavour "$iommu"
fi
report $t_start
