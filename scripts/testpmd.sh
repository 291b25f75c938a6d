#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# testpmd.sh: real, unmodified VFIO type1 userspace on our /dev/vfio/vfio.
# Debian 12's DPDK testpmd, in the normal test kernel's VM, forwards packets
# between two virtio-net devices (iommu_platform, so their DMA goes through
# the emulated VT-d) joined back to back by a QEMU hub, for REALWORLD_SECS
# seconds (default 30).  Then judges the run: testpmd used the type1
# container /dev/vfio/vfio, both ports received and sent more than
# REALWORLD_MIN_PACKETS packets (default 1000), no IOMMU fault, no kernel
# report, testpmd ended cleanly.  Logs: logs/testpmd-console.log (the
# kernel), logs/testpmd.log (the VM's init, selftests/testpmd-init, and
# testpmd).  The last line is PASS or FAIL with the figures; exits 1 on
# failure.  "testpmd.sh judge" judges the logs of the last run again.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/guest.sh"

# testpmd (package dpdk-dev) and the three PMD plugins it loads with -d.
PKGS="dpdk-dev librte-bus-pci23 librte-mempool-ring23 librte-net-virtio23"
TESTPMD=/usr/bin/dpdk-testpmd
PMD_DIR=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0
PMDS="librte_bus_pci.so.23 librte_mempool_ring.so.23 librte_net_virtio.so.23"
SECS=${REALWORLD_SECS:-30}
MIN_PACKETS=${REALWORLD_MIN_PACKETS:-1000}
timeout_s=${BOOT_TIMEOUT:-$((SECS + 600))}
console=$LOGS/testpmd-console.log
log=$LOGS/testpmd.log
clean=$log.clean
cpio=$LOGS/initramfs-testpmd.cpio
kernel=$CACHE/build/normal/arch/x86/boot/bzImage

# install_deps: the harness's packages (deps.sh), then ours if missing.
install_deps() {
	local p
	"$REPO/scripts/deps.sh"
	# shellcheck disable=SC2086 # one word per package
	install_missing $PKGS
	[ -x "$TESTPMD" ] || die "$TESTPMD missing (package dpdk-dev)"
	for p in $PMDS; do
		[ -f "$PMD_DIR/$p" ] || die "$PMD_DIR/$p missing"
	done
}

# pack_initramfs: busybox, selftests/testpmd-init as /init, testpmd, the
# plugins and their libraries at their paths on the host.
pack_initramfs() {
	local root=$CACHE/initramfs-testpmd p f files=("$TESTPMD") libs
	guest_root "$root" testpmd-init
	for p in $PMDS; do
		files+=("$PMD_DIR/$p")
	done
	libs=$(libs_of "${files[@]}")
	for f in "${files[@]}" $libs; do
		install_file "$root" "$f"
	done
	pack_cpio "$root" "$cpio"
	say "$(du -h "$cpio" | cut -f1) initramfs: testpmd, $(wc -w <<< "$PMDS") plugins, $(wc -l <<< "$libs") libraries"
}

# boot_vm: the normal kernel in the machine of boot.sh under VT-d with two
# virtio-net devices on one QEMU hub; kernel log to $console, init's
# output to $log.
boot_vm() {
	local p append net=()
	append="hugepagesz=2M hugepages=256"
	append="$append realworld_secs=$SECS realworld_pmd_dir=$PMD_DIR"
	append="$append realworld_pmds=$(tr ' ' , <<< "$PMDS")"
	for p in 0 1; do
		net+=(-netdev "hubport,id=h$p,hubid=0"
		      -device "virtio-net-pci,netdev=h$p,disable-legacy=on,iommu_platform=on")
	done
	say "booting the normal kernel with testpmd for $SECS s; logs: $console, $log (timeout ${timeout_s}s)"
	say "(QEMU warns that hub 0 has no host network: the hub only joins the two devices)"
	boot_guest intel "$kernel" "$cpio" "$append" "${net[@]}"
}

# check_vfio: both devices on vfio-pci, and testpmd on the type1
# container /dev/vfio/vfio, which our iommufd serves.
check_vfio() {
	local l
	check_devices 2
	grep -qs 'iommufd is providing /dev/vfio/vfio' "$console" ||
		problem "the kernel did not say 'iommufd is providing /dev/vfio/vfio'"
	grep -q '^EAL: VFIO support initialized$' "$clean" ||
		problem "testpmd's EAL did not initialize VFIO"
	grep -qx 'REALWORLD: OPEN /dev/vfio/vfio' "$clean" ||
		problem "testpmd did not hold /dev/vfio/vfio open"
	if l=$(grep -m 1 '^EAL: Using IOMMU type 1 ' "$clean"); then
		say "testpmd held /dev/vfio/vfio open; ${l#EAL: }"
	else
		problem "testpmd's EAL did not use IOMMU type 1"
	fi
}

# port_totals: "PORT RX-total TX-total" for each port, from the "Forward
# statistics for port N" sections testpmd prints when it stops.
port_totals() {
	awk '
	/Forward statistics for port/ { port = $0; sub(/.*for port +/, "", port); sub(/ .*/, "", port); next }
	/^ *-+ *$/ { port = ""; next }
	port != "" && /RX-total:/ { rx[port] = $NF }
	port != "" && /TX-total:/ { tx[port] = $NF }
	END { for (p in rx) print p, rx[p], tx[p] + 0 }' "$clean" | sort -n
}

# check_ports: both ports received and sent more than MIN_PACKETS; sets
# $figures.
check_ports() {
	local port rx tx ports=0
	while read -r port rx tx; do
		ports=$((ports + 1))
		figures="$figures port $port RX $rx TX $tx;"
		[ "$rx" -gt "$MIN_PACKETS" ] && [ "$tx" -gt "$MIN_PACKETS" ] ||
			problem "port $port: RX-total $rx, TX-total $tx, not both > $MIN_PACKETS"
	done < <(port_totals)
	[ $ports = 2 ] || problem "forward statistics for $ports ports, not 2"
}

# check_exit: testpmd stopped on SIGINT, closed its ports and exited 0;
# the VM finished.  Sets $rc.
check_exit() {
	rc=$(sed -n 's/^REALWORLD: TESTPMD EXIT //p' "$clean")
	[ "$rc" = 0 ] || problem "testpmd exit status '${rc:-none}', not 0"
	grep -qx 'Bye\.\.\.' "$clean" || problem "testpmd did not say Bye... (it closes its ports first)"
	check_done
}

# judge [SECONDS]: the verdict on the logs of a run (that took SECONDS);
# prints what is wrong, then one PASS or FAIL line; returns 1 on failure.
judge() {
	local figures='' faults rc
	judge_start
	check_vfio
	check_ports
	check_kernel
	check_exit
	judge_report testpmd "${figures:- no forward statistics;} IOMMU faults ${faults:-?}, testpmd exit ${rc:-none}${1:+, run time $1 s}"
}

# "testpmd.sh judge": judge the logs of the last run again.
if [ "${1:-}" = judge ]; then
	judge
	exit
fi
# (Not through lib.sh's timed: set -e must hold inside these functions.)
t0=$SECONDS
install_deps
say "DPDK $(dpkg-query -W -f='${Version}' dpdk-dev) testpmd on /dev/vfio/vfio, the type1 container of our iommufd"
lock_cache
"$REPO/scripts/kernel.sh" normal
mkdir -p "$LOGS"
t=$SECONDS
pack_initramfs
say "pack: $((SECONDS - t)) s"
t_boot=$SECONDS
boot_vm
say "VM run: $((SECONDS - t_boot)) s; total time: $((SECONDS - t0)) s"
judge $((SECONDS - t_boot))
