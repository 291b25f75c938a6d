#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# vmm.sh [IOMMU [FLAVOUR]]: a real VMM on our /dev/iommu.  QEMU 10 (from
# bookworm-backports, qemu10.sh), inside the test VM (L1: the FLAVOUR
# kernel, normal by default or upstream, under IOMMU, intel by default or
# amd, with one edu device), boots a tiny L2 guest (the l2 kernel,
# config/l2.config) under TCG with edu passed through by its iommufd
# backend (-object iommufd -device vfio-pci,iommufd=...).  L2 has no
# IOMMU: its init, selftests/l2_edu.c, has edu DMA to and from L2
# guest-physical addresses, which lands only if QEMU's IOAS_MAP,
# HWPT_ALLOC and attach built the right translation in L1's iommufd.
# Passes if edu was on vfio-pci, QEMU held /dev/iommu and the device's cdev
# open, L2 said "L2: PASS", QEMU exited 0 (L2 ended itself), no IOMMU
# fault, no kernel report, L1's init finished.  QEMU is given VMM_SECS
# seconds (default 300).  Logs: logs/vmm-FLAVOUR-IOMMU-console.log (L1's
# kernel), logs/vmm-FLAVOUR-IOMMU.log (L1's init, selftests/vmm-init:
# QEMU's messages and L2's console, stamped with L1's uptime).  The last
# line is PASS or FAIL with the figures; exits 1 on failure.
# "vmm.sh judge [IOMMU [FLAVOUR]]" judges the logs of the last run again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"

judge_only=0
if [ "${1:-}" = judge ]; then
	judge_only=1
	shift
fi
iommu=${1:-intel}
flavour=${2:-normal}
case "$iommu" in
intel | amd) ;;
*) die "IOMMU '$iommu': the vmm test runs under intel or amd" ;;
esac
case "$flavour" in
normal | upstream) ;;
*) die "FLAVOUR '$flavour': the vmm test runs the normal or the upstream kernel" ;;
esac
SECS=${VMM_SECS:-300}
timeout_s=${BOOT_TIMEOUT:-$((SECS + 300))}
run=vmm-$flavour-$iommu
console=$LOGS/$run-console.log
log=$LOGS/$run.log
clean=$log.clean
cpio=$LOGS/initramfs-vmm.cpio
l2_cpio=$LOGS/initramfs-l2.cpio
kernel=$CACHE/build/$flavour/arch/x86/boot/bzImage
l2=$CACHE/build/l2

# build_l2: the L2 kernel and its uAPI headers, l2-edu built against them.
build_l2() {
	"$REPO/scripts/kernel.sh" l2 bzImage headers
	make -s -C "$REPO/selftests" CC=gcc KHDR="$l2/usr/include" KSRC="$KSRC" \
		OUT="$l2" "$l2/l2-edu"
}

# pack_l2: L2's initramfs, l2-edu as /init and the mount points it uses.
pack_l2() {
	local root=$CACHE/initramfs-l2
	fresh_dir "$root"
	mkdir -p "$root"/{dev,proc,sys}
	cp "$l2/l2-edu" "$root/init"
	pack_cpio "$root" "$l2_cpio"
}

# pack_initramfs: busybox, selftests/vmm-init as /init, QEMU 10 and the
# libraries it needs (the host's, bookworm's), its firmware in
# /usr/share/qemu (its -L), the L2 kernel and initramfs in /l2.
pack_initramfs() {
	local root=$CACHE/initramfs-vmm qemu=$QEMU10/root/usr/bin/qemu-system-x86_64 f libs
	guest_root "$root" vmm-init
	mkdir -p "$root/usr/bin" "$root/usr/share/qemu" "$root/l2"
	cp "$qemu" "$root/usr/bin/"
	libs=$(libs_of "$qemu")
	for f in $libs; do
		install_file "$root" "$f"
	done
	for f in $QEMU10_FIRMWARE; do
		cp "$QEMU10/root/$f" "$root/usr/share/qemu/"
	done
	cp "$l2/arch/x86/boot/bzImage" "$root/l2/bzImage"
	cp "$l2_cpio" "$root/l2/initramfs.cpio"
	pack_cpio "$root" "$cpio"
	say "$(du -h "$cpio" | cut -f1) initramfs: QEMU 10, $(wc -l <<< "$libs") libraries, $(wc -w <<< "$QEMU10_FIRMWARE") firmware files, the L2 kernel ($(du -h "$l2/arch/x86/boot/bzImage" | cut -f1)) and initramfs ($(du -h "$l2_cpio" | cut -f1))"
}

# The lines of QEMU and L2 (stamped by vmm-init with L1's uptime), without
# the stamps; stamp_of PATTERN: the stamp of the first one matching.
l2_lines() { sed -n 's/^\[ *[0-9.]*\] //p' "$clean"; }
stamp_of() {
	sed -n "s/^\[ *\([0-9.]*\)\] $1.*/\1/p" "$clean" | head -n 1
}

# seconds A B: B - A, whole seconds, for two uptimes; "?" if one is missing.
seconds() {
	[ -n "$1" ] && [ -n "$2" ] || { echo '?'; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", b - a + 0.5 }'
}

# check_qemu: QEMU 10 ran on the iommufd and the cdev of the edu on
# vfio-pci, and exited 0 once L2 ended itself; says what QEMU reported.
# Sets $version, $rc, $t_start, $t_end.
check_qemu() {
	local msgs
	check_devices 1
	version=$(sed -n 's/^REALWORLD: QEMU QEMU emulator version \([^ ]*\).*/\1/p' "$clean")
	[[ $version = 10.* ]] || problem "QEMU's version '${version:-none}', not 10.x"
	grep -qx 'REALWORLD: OPEN /dev/iommu' "$clean" ||
		problem "QEMU did not hold /dev/iommu open (its iommufd backend)"
	grep -q '^REALWORLD: OPEN /dev/vfio/devices/vfio' "$clean" ||
		problem "QEMU did not hold edu's VFIO cdev (/dev/vfio/devices/vfioN) open"
	t_start=$(sed -n 's/^REALWORLD: QEMU START //p' "$clean")
	read -r rc t_end < <(l2_lines | sed -n 's/^REALWORLD: QEMU EXIT //p') || true
	case "${rc:-none}" in
	0) ;;
	137) problem "QEMU killed after $SECS s: L2 did not end" ;;
	*) problem "QEMU's exit status '${rc:-none}', not 0" ;;
	esac
	msgs=$(l2_lines | grep '^qemu-system-x86_64: ' | sort | uniq -c) || true
	if [ -n "$msgs" ]; then
		say "QEMU said (count, message):"
		sed 's/^/    /' <<< "$msgs"
	fi
}

# check_l2: L2 booted, and its program saw the DMA land both ways; sets
# $t_l2.
check_l2() {
	local l
	t_l2=$(stamp_of 'L2: START')
	[ -n "$t_l2" ] || problem "L2's program never started (see $log)"
	if l=$(l2_lines | grep -m 1 '^L2: FAIL'); then
		problem "$l"
	elif l=$(l2_lines | grep -m 1 '^L2: PASS: '); then
		say "${l#L2: PASS: }"
	else
		problem "L2 said neither PASS nor FAIL"
	fi
}

# judge [SECONDS]: the verdict on the logs of a run (whose VM took
# SECONDS); prints what is wrong, then one PASS or FAIL line.
judge() {
	local faults version rc t_start t_end t_l2
	judge_start
	check_qemu
	check_l2
	check_kernel
	check_done
	judge_report vmm " $flavour kernel under $iommu: QEMU ${version:-?} exit ${rc:-none}; L2 booted to its program in $(seconds "$t_start" "$t_l2") s, QEMU ran $(seconds "$t_start" "$t_end") s${1:+, the VM $1 s}; IOMMU faults ${faults:-?}"
}

if [ $judge_only = 1 ]; then
	judge
	exit
fi
# (Not through lib.sh's timed: set -e must hold inside these functions.)
t0=$SECONDS
"$REPO/scripts/deps.sh"
lock_cache
"$REPO/scripts/qemu10.sh"
"$REPO/scripts/kernel.sh" "$flavour"
build_l2
mkdir -p "$LOGS"
t=$SECONDS
pack_l2
pack_initramfs
say "pack: $((SECONDS - t)) s"
t_boot=$SECONDS
say "booting the $flavour kernel under $iommu; QEMU 10 in it boots L2 with edu (budget $SECS s); logs: $console, $log (timeout ${timeout_s}s)"
boot_guest "$iommu" "$kernel" "$cpio" "vmm_secs=$SECS" -device edu
say "VM run: $((SECONDS - t_boot)) s; total time: $((SECONDS - t0)) s"
judge $((SECONDS - t_boot))
