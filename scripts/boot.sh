#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# boot.sh FLAVOUR MODE [IOMMU]: boot the FLAVOUR kernel in QEMU (TCG) with
# our initramfs, on a machine with IOMMU and the edu DMA device (and a
# group of two more edus behind a bridge):
#   intel   x86 q35, VT-d with interrupt remapping (the default on x86)
#   amd     x86 q35, AMD-Vi with interrupt remapping
#   virtio  x86 q35, virtio-iommu (no interrupt remapping)
#   smmuv3  arm64 virt, SMMUv3 (the default, and the only one, on arm64)
# The kernel command line carries harness_iommu=IOMMU, for init's report
# and for tests that need to know.
#   MODE=check  run the selftests; kernel log to logs/FLAVOUR-IOMMU-console.log,
#               test output (TAP) to logs/FLAVOUR-IOMMU-tests.log; power off
#   MODE=bench  run make bench's /bin/bench (ARGS are its arguments); kernel
#               log to logs/FLAVOUR-IOMMU-bench-console.log, its figures to
#               logs/FLAVOUR-IOMMU-bench.log; power off
#   MODE=demo   show the /dev/iommu demo on the terminal, then power off
#   MODE=shell  the demo, then a shell on the terminal (x86 only: arm64
#               has no busybox)
# Environment: ONLY and ARGS (see initramfs.sh) choose the test programs and
# their arguments; LOGS and SELFTESTS_OUT (see lib.sh) let several runs
# share a checkout.
# QEMU options are comma-separated lists, not array elements.
# shellcheck disable=SC2054
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:?usage: boot.sh FLAVOUR MODE [IOMMU]}
mode=${2:?usage: boot.sh FLAVOUR MODE [IOMMU]}
arch=$(flavour_arch "$flavour")
iommu=$(flavour_iommu "$flavour" "${3:-}")
kbuild_vars "$arch"
kernel=$CACHE/build/$flavour/$KERNEL_IMAGE
run=$flavour-$iommu
timeout_s=${BOOT_TIMEOUT:-1500}
lock_cache

[ -f "$kernel" ] || die "no $flavour kernel: run scripts/kernel.sh $flavour"
mkdir -p "$LOGS"
cpio=$LOGS/initramfs-$flavour.cpio
"$REPO/scripts/initramfs.sh" "$cpio" "$arch"

vm_machine "$iommu"
append="$VM_APPEND hugepagesz=2M hugepages=128"
append="$append harness_mode=$mode harness_iommu=$iommu"
# Two more edus behind a PCIe-to-PCI bridge make one IOMMU group of two
# devices (vfio_edu's edu_pair; it skips where the IOMMU cannot tell them
# apart from the bridge, as QEMU's AMD-Vi and virtio-iommu), or devices
# without a group where the IOMMU does not cover them (virtio-iommu both,
# SMMUv3 the second): vfio_noiommu's.  Those DMA to physical addresses in
# VFIO's no-IOMMU mode, so their DMA mask is 64 bits, not edu's 28.
bridged=edu,bus=br,dma_mask=0xffffffffffffffff
qemu=("${VM_QEMU[@]}" -device edu
      -device pcie-pci-bridge,id=br -device "$bridged,addr=1"
      -device "$bridged,addr=2"
      -kernel "$kernel" -initrd "$cpio")

# tap_to FILE|null: set TAP, QEMU's options for the test output's channel:
# the second serial port (ttyS1) on x86; on arm64, whose virt machine has
# one UART, a virtio console (hvc0, virtio-mmio: not behind the SMMU).
tap_to() {
	local dest=file,path=$1
	[ "$1" = null ] && dest=null
	if [ "$arch" = x86 ]; then
		TAP=(-serial "${dest/,path=/:}")
	else
		TAP=(-device virtio-serial-device -device virtconsole,chardev=tap
		     -chardev "$dest,id=tap")
	fi
}

# One VM run in check mode, logs to $console and $tap.
run_check() {
	local t0=$SECONDS rc=0

	# A run that fails to start must not leave the last run's logs behind.
	rm -f "$console" "$tap"
	tap_to "$tap"
	say "booting $flavour kernel under $iommu; logs: $console, $tap (timeout ${timeout_s}s)"
	timeout "$timeout_s" "${qemu[@]}" -append "$append" -display none \
		-monitor none -serial "file:$console" "${TAP[@]}" || rc=$?
	say "$run run: $((SECONDS - t0)) s (qemu exit $rc)"
	[ $rc = 124 ] && echo "HARNESS: TIMEOUT after ${timeout_s}s" >> "$tap"
	return 0
}

if [ "$mode" = check ] || [ "$mode" = bench ]; then
	console=$LOGS/$run-console.log
	tap=$LOGS/$run-tests.log
	if [ "$mode" = bench ]; then
		console=$LOGS/$run-bench-console.log
		tap=$LOGS/$run-bench.log
	fi
	run_check
	if stalled_at_boot "$console" "$tap"; then
		mv "$console" "$console.stalled-boot"
		mv "$tap" "$tap.stalled-boot"
		say "the $run VM stalled while booting, before any test (see $console.stalled-boot): booting once more"
		run_check
	fi
	exit 0
fi
# The demo needs only the console: the kernel's own messages stay quiet.
append="$append quiet"
tap_to null
if [ "$mode" = shell ]; then
	# The console on the terminal; Ctrl-A X quits QEMU, Ctrl-A C its monitor.
	say "booting the $flavour kernel under $iommu with a shell; Ctrl-A X quits QEMU"
	exec "${qemu[@]}" -append "$append" -display none \
		-serial mon:stdio "${TAP[@]}"
fi
exec "${qemu[@]}" -append "$append" -display none -monitor none \
	-serial stdio "${TAP[@]}" < /dev/null
