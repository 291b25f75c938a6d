#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# realworld.sh [FLAVOUR]: the real-world tests, each judged on its own:
# testpmd.sh, Debian's DPDK testpmd on our /dev/vfio/vfio (the normal
# kernel under intel), and vmm.sh, QEMU 10 on our /dev/iommu booting an L2
# guest with edu passed through, on the FLAVOUR kernel (normal, the
# default, or upstream) under intel and amd.  ONLY=testpmd or ONLY=vmm runs
# one of them, IOMMU=intel or IOMMU=amd the vmm test under that IOMMU only.
# The last line is "N passed, N failed, N skipped" (one check per run).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

t_start=$SECONDS
flavour=${1:-normal}
case "${ONLY:-}" in
"" | testpmd | vmm) ;;
*) die "ONLY=$ONLY: the real-world tests are testpmd and vmm" ;;
esac
"$REPO/scripts/deps.sh" || die "cannot install dependencies"
lock_cache
mkdir -p "$LOGS"
if [ "${ONLY:-testpmd}" = testpmd ]; then
	step "realworld: DPDK testpmd" "$REPO/scripts/testpmd.sh"
fi
if [ "${ONLY:-vmm}" = vmm ]; then
	for iommu in ${IOMMU:-intel amd}; do
		step "vmm: $flavour-$iommu" "$REPO/scripts/vmm.sh" "$iommu" "$flavour"
	done
fi
report $t_start
