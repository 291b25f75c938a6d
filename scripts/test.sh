#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# test.sh [FLAVOUR]: the edit-run loop.  Build a kernel and the selftests,
# boot, run the tests, judge the logs; no lint.  FLAVOUR (the argument, else
# the environment's FLAVOUR) is normal (the default), debug, type1 (make
# type1: VFIO's own container, see config/type1.config) or upstream (the
# package's own iommufd); IOMMU picks the VM's IOMMU: intel (the default),
# amd or virtio on those, smmuv3 on the arm64 kernel.  ONLY and ARGS (see
# initramfs.sh) pick one program and its kselftest options, e.g.
# ONLY=iommufd-access ARGS="-r mock_access.no_domain.pin_errors".
# The last line is "N passed, N failed, N skipped".
set -uo pipefail
. "$(dirname "$0")/lib.sh"

t_start=$SECONDS
flavour=${1:-${FLAVOUR:-normal}}
case "$flavour" in
normal | debug | type1 | upstream) ;;
*) die "FLAVOUR=$flavour: make test boots normal, debug, type1 or upstream (IOMMU=smmuv3: arm64)" ;;
esac
[ "${IOMMU:-}" = smmuv3 ] && [ "$flavour" = normal ] && flavour=arm64
arch=$(flavour_arch $flavour) || exit 1
iommu=$(flavour_iommu $flavour "${IOMMU:-}") || exit 1
"$REPO/scripts/deps.sh" || die "cannot install dependencies"
lock_cache
mkdir -p "$LOGS"
say "$flavour kernel under $iommu${ONLY:+, ONLY=$ONLY}${ARGS:+, ARGS=$ARGS}"
# The x86 selftests are built against the normal kernel's headers.
headers=$flavour
[ "$arch" = x86 ] && headers=normal
if build "build $flavour kernel" "$REPO/scripts/kernel.sh" $flavour &&
   { [ $headers = $flavour ] || build "build $headers kernel" "$REPO/scripts/kernel.sh" $headers; } &&
   build "build $arch selftests" "$REPO/scripts/selftests.sh" "$arch"; then
	vm_run $flavour "$iommu"
fi
report $t_start
