#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# check.sh: everything CI checks, in this order: the harness's own
# self-test (no VM); the normal kernel and the x86 selftests built, lint,
# and the tests on the normal kernel under each x86 IOMMU (intel, amd,
# virtio) and DPDK's testpmd on /dev/vfio/vfio (testpmd.sh); the arm64
# kernel and selftests built and the tests under smmuv3;
# then the debug kernel built and the tests on it under intel.  Each run's
# logs are judged by parse.sh.  The last line is "N passed, N failed, N
# skipped", summed over everything (the self-test and lint count as one
# check each).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

t_start=$SECONDS
"$REPO/scripts/deps.sh" || die "cannot install dependencies"
lock_cache
if [ -n "${ONLY:-}${ARGS:-}${IOMMU:-}" ]; then
	say "ignoring ONLY/ARGS/IOMMU: make check runs everything (make test takes them)"
	unset ONLY ARGS IOMMU
fi
fresh_dir "$LOGS"

step "harness self-test" "$REPO/scripts/selftest-harness.sh"
x86=0
if build "build normal kernel" "$REPO/scripts/kernel.sh" normal &&
   build "build x86 selftests" "$REPO/scripts/selftests.sh" x86; then
	x86=1
	step "lint" "$REPO/scripts/lint.sh"
	for iommu in $(arch_iommus x86); do
		vm_run normal "$iommu"
	done
	step "realworld: DPDK testpmd" "$REPO/scripts/testpmd.sh"
fi
if build "build arm64 kernel" "$REPO/scripts/kernel.sh" arm64 &&
   build "build arm64 selftests" "$REPO/scripts/selftests.sh" arm64; then
	vm_run arm64 smmuv3
fi
if [ $x86 = 1 ]; then
	build "build debug kernel" "$REPO/scripts/kernel.sh" debug && vm_run debug intel
fi
report $t_start
