#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# boot.sh FLAVOUR MODE: boot the FLAVOUR kernel in QEMU (TCG, q35 with an
# emulated VT-d and the edu DMA device, and two more edus behind a
# PCIe-to-PCI bridge: one IOMMU group of two devices) with our initramfs.
#   MODE=check  run the selftests; kernel log to logs/FLAVOUR-console.log,
#               test output (TAP) to logs/FLAVOUR-tests.log; then power off
#   MODE=demo   show the /dev/iommu demo on the terminal, then power off
#   MODE=shell  the demo, then a shell on the terminal
# Environment: ONLY and ARGS (see initramfs.sh) choose the test programs and
# their arguments; LOGS and SELFTESTS_OUT (see lib.sh) let several runs
# share a checkout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:?usage: boot.sh FLAVOUR MODE}
mode=${2:?usage: boot.sh FLAVOUR MODE}
flavour_frags "$flavour" >/dev/null
out=$CACHE/build/$flavour
timeout_s=${BOOT_TIMEOUT:-1500}
lock_cache

[ -f "$out/arch/x86/boot/bzImage" ] || die "no $flavour kernel: run scripts/kernel.sh $flavour"
mkdir -p "$LOGS"
cpio=$LOGS/initramfs-$flavour.cpio
"$REPO/scripts/initramfs.sh" "$cpio"

append="console=ttyS0 panic=-1 oops=panic intel_iommu=on iommu=nopt"
append="$append hugepagesz=2M hugepages=128 harness_mode=$mode"
# Soft lockups after 2 * 20 s (see config/base.config).
append="$append watchdog_thresh=20"
qemu=(qemu-system-x86_64 -machine q35,kernel-irqchip=split
      -accel tcg,thread=multi -cpu max -smp 2 -m 4G
      -device intel-iommu,intremap=on -device edu
      -device pcie-pci-bridge,id=br -device edu,bus=br,addr=1
      -device edu,bus=br,addr=2
      -kernel "$out/arch/x86/boot/bzImage" -initrd "$cpio"
      -no-reboot)

# One VM run in check mode, logs to $console and $tap.
run_check() {
	local t0=$SECONDS rc=0

	# A run that fails to start must not leave the last run's logs behind.
	rm -f "$console" "$tap"
	say "booting $flavour kernel; logs: $console, $tap (timeout ${timeout_s}s)"
	timeout "$timeout_s" "${qemu[@]}" -append "$append" -display none \
		-monitor none -serial "file:$console" -serial "file:$tap" || rc=$?
	say "$flavour run: $((SECONDS - t0)) s (qemu exit $rc)"
	[ $rc = 124 ] && echo "HARNESS: TIMEOUT after ${timeout_s}s" >> "$tap"
	return 0
}

if [ "$mode" = check ]; then
	console=$LOGS/$flavour-console.log
	tap=$LOGS/$flavour-tests.log
	run_check
	if stalled_at_boot "$console" "$tap"; then
		mv "$console" "$console.stalled-boot"
		mv "$tap" "$tap.stalled-boot"
		say "the $flavour VM stalled while booting, before any test (see $console.stalled-boot): booting once more"
		run_check
	fi
	exit 0
fi
# The demo needs only the console: the kernel's own messages stay quiet.
append="$append quiet"
if [ "$mode" = shell ]; then
	# The console on the terminal; Ctrl-A X quits QEMU, Ctrl-A C its monitor.
	say "booting the $flavour kernel with a shell; Ctrl-A X quits QEMU"
	exec "${qemu[@]}" -append "$append" -display none \
		-serial mon:stdio -serial null
fi
exec "${qemu[@]}" -append "$append" -display none -monitor none \
	-serial stdio -serial null < /dev/null
