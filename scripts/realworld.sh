#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# realworld.sh: real, unmodified VFIO type1 userspace on our /dev/vfio/vfio.
# Debian 12's DPDK testpmd, in the normal test kernel's VM, forwards packets
# between two virtio-net devices (iommu_platform, so their DMA goes through
# the emulated VT-d) joined back to back by a QEMU hub, for REALWORLD_SECS
# seconds (default 30).  Then judges the run: testpmd used the type1
# container /dev/vfio/vfio, both ports received and sent more than
# REALWORLD_MIN_PACKETS packets (default 1000), no IOMMU fault, no kernel
# report, testpmd ended cleanly.  Logs: logs/realworld-console.log (the
# kernel), logs/realworld-testpmd.log (the VM's init and testpmd).  The
# last line is PASS or FAIL with the figures; exits 1 on failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# testpmd (package dpdk-dev) and the three PMD plugins it loads with -d.
PKGS="dpdk-dev librte-bus-pci23 librte-mempool-ring23 librte-net-virtio23"
TESTPMD=/usr/bin/dpdk-testpmd
PMD_DIR=/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0
PMDS="librte_bus_pci.so.23 librte_mempool_ring.so.23 librte_net_virtio.so.23"
SECS=${REALWORLD_SECS:-30}
MIN_PACKETS=${REALWORLD_MIN_PACKETS:-1000}
timeout_s=${BOOT_TIMEOUT:-$((SECS + 600))}
console=$LOGS/realworld-console.log
log=$LOGS/realworld-testpmd.log
clean=$log.clean
cpio=$LOGS/initramfs-realworld.cpio
kernel=$CACHE/build/normal/arch/x86/boot/bzImage

# install_deps: the harness's packages (deps.sh), then ours if missing.
install_deps() {
	local p missing=
	"$REPO/scripts/deps.sh"
	for p in $PKGS; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		say "installing:$missing"
		[ "$(id -u)" = 0 ] || die "need root to apt-get install:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing >/dev/null
	fi
	[ -x "$TESTPMD" ] || die "$TESTPMD missing (package dpdk-dev)"
	for p in $PMDS; do
		[ -f "$PMD_DIR/$p" ] || die "$PMD_DIR/$p missing"
	done
}

# libs_of FILE...: every shared library the files need, the dynamic
# loader included, as the paths ldd resolves them to.
libs_of() {
	local out
	out=$(ldd "$@")
	! grep -q 'not found' <<< "$out" || die "libraries not found: $(grep 'not found' <<< "$out")"
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(0x/ { print $1 }' <<< "$out" | sort -u
}

# install_file ROOT PATH: PATH into ROOT as on the host, with every
# symlink on the way to the file: a plugin and the library of the same
# name must stay one file, or the dynamic loader loads it twice (and DPDK
# panics on the second registration of its tailqs).
install_file() {
	local root=$1 f=$2 link
	while [ -L "$f" ]; do
		mkdir -p "$root$(dirname "$f")"
		link=$(readlink "$f")
		ln -sfn "$link" "$root$f"
		case "$link" in
		/*) f=$link ;;
		*) f=$(dirname "$f")/$link ;;
		esac
	done
	mkdir -p "$root$(dirname "$f")"
	cp "$f" "$root$f"
}

# pack_initramfs: busybox, selftests/realworld-init as /init, testpmd, the
# plugins and their libraries at their paths on the host (/lib and /lib64
# symlinks to /usr as on a merged-/usr host).
pack_initramfs() {
	local root=$CACHE/initramfs-realworld d p f files=("$TESTPMD") libs
	fresh_dir "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp}
	for d in lib lib64; do
		[ -L "/$d" ] || continue
		mkdir -p "$root/$(readlink "/$d")"
		ln -s "$(readlink "/$d")" "$root/$d"
	done
	cp /bin/busybox "$root/bin/busybox"
	cp "$REPO/selftests/realworld-init" "$root/init"
	chmod 755 "$root/init"
	for p in $PMDS; do
		files+=("$PMD_DIR/$p")
	done
	libs=$(libs_of "${files[@]}")
	for f in "${files[@]}" $libs; do
		install_file "$root" "$f"
	done
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$cpio"
	safe_rm "$root"
	say "$(du -h "$cpio" | cut -f1) initramfs: testpmd, $(wc -w <<< "$PMDS") plugins, $(wc -l <<< "$libs") libraries"
}

# boot_vm: the normal kernel in the machine of boot.sh (q35, VT-d with
# interrupt remapping, TCG, 2 vCPUs, 4 GiB) with two virtio-net devices
# on one QEMU hub; kernel log to $console, init's output to $log.
boot_vm() {
	local rc=0 p append net=()
	append="console=ttyS0 panic=-1 oops=panic intel_iommu=on iommu=nopt"
	append="$append hugepagesz=2M hugepages=256 watchdog_thresh=20"
	append="$append realworld_secs=$SECS realworld_pmd_dir=$PMD_DIR"
	append="$append realworld_pmds=$(tr ' ' , <<< "$PMDS")"
	for p in 0 1; do
		net+=(-netdev "hubport,id=h$p,hubid=0"
		      -device "virtio-net-pci,netdev=h$p,disable-legacy=on,iommu_platform=on")
	done
	rm -f "$console" "$log" "$clean"
	say "booting the normal kernel with testpmd for $SECS s; logs: $console, $log (timeout ${timeout_s}s)"
	say "(QEMU warns that hub 0 has no host network: the hub only joins the two devices)"
	timeout "$timeout_s" qemu-system-x86_64 -machine q35,kernel-irqchip=split \
		-accel tcg,thread=multi -cpu max -smp 2 -m 4G \
		-device intel-iommu,intremap=on "${net[@]}" \
		-kernel "$kernel" -initrd "$cpio" -append "$append" \
		-no-reboot -display none -monitor none \
		-serial "file:$console" -serial "file:$log" || rc=$?
	[ $rc = 124 ] && echo "REALWORLD: TIMEOUT after ${timeout_s}s" >> "$log"
	say "qemu exit $rc"
}

# The verdict.  Each check adds what is wrong to $bad; judge prints it.
bad=()
problem() { bad+=("$*"); }

# check_vfio: both devices on vfio-pci, and testpmd on the type1
# container /dev/vfio/vfio, which our iommufd serves.
check_vfio() {
	local n l
	n=$(grep -c '^REALWORLD: DEVICE .* driver=vfio-pci ' "$clean" || true)
	[ "$n" = 2 ] || problem "$n virtio-net devices bound to vfio-pci, not 2"
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

# check_kernel: no IOMMU fault (as dmesg in the VM and the console show
# them), no kernel report (the patterns of parse.sh); sets $faults.
check_kernel() {
	local kfaults reports pattern
	faults=$(grep -c '^REALWORLD: FAULT' "$clean" || true)
	kfaults=$(grep -csE 'DMAR: \[|DRHD: handling fault|fault addr|[Ff]ault reason' "$console" || true)
	[ "$faults" = 0 ] && [ "${kfaults:-0}" = 0 ] ||
		problem "IOMMU faults: $faults in the VM's dmesg, $kfaults lines on the console"
	pattern='(BUG|WARNING|INFO): |Oops|Kernel panic|kernel BUG|general protection fault'
	pattern="$pattern|UBSAN|Call Trace:|blocked for more than|soft lockup|hard LOCKUP|detected stalls"
	reports=$(grep -csE "$pattern" "$console" || true)
	[ "${reports:-0}" = 0 ] ||
		problem "$reports kernel report lines on the console, the first: $(grep -m 1 -E "$pattern" "$console")"
}

# check_exit: testpmd stopped on SIGINT, closed its ports and exited 0;
# the VM finished.  Sets $rc.
check_exit() {
	rc=$(sed -n 's/^REALWORLD: TESTPMD EXIT //p' "$clean")
	[ "$rc" = 0 ] || problem "testpmd exit status '${rc:-none}', not 0"
	grep -qx 'Bye\.\.\.' "$clean" || problem "testpmd did not say Bye... (it closes its ports first)"
	grep -qx 'REALWORLD: DONE' "$clean" ||
		problem "the VM did not finish (crash, panic, timeout): see $log, $console"
}

# judge [SECONDS]: the verdict on the logs of a run (that took SECONDS);
# prints what is wrong, then one PASS or FAIL line; returns 1 on failure.
judge() {
	local figures='' faults rc l
	[ -s "$log" ] && [ -s "$console" ] || problem "$log or $console is missing or empty"
	tr -d '\r' < "$log" > "$clean" 2>/dev/null || : > "$clean"
	check_vfio
	check_ports
	check_kernel
	check_exit
	figures="${figures:- no forward statistics;} IOMMU faults ${faults:-?}, testpmd exit ${rc:-none}${1:+, run time $1 s}"
	if [ ${#bad[@]} = 0 ]; then
		echo "realworld: PASS:$figures"
		return 0
	fi
	for l in "${bad[@]}"; do
		say "FAILED: $l"
	done
	echo "realworld: FAIL:$figures"
	return 1
}

# "realworld.sh judge": judge the logs of the last run again.
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
