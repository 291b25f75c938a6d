# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# What the real-world tests (testpmd.sh, vmm.sh) share: an initramfs of
# unmodified host programs with the libraries they need, busybox and an
# init that sources selftests/realworld-lib.sh; booting it in the test VM
# of the IOMMU matrix; and the checks of the VM's logs that do not depend
# on the program (devices on vfio-pci, IOMMU faults, kernel reports, the
# init finished).  Each program's init marks its steps with "REALWORLD:"
# lines on ttyS1.  Sourced after lib.sh, never run.

# The kernel's reports of an IOMMU fault: VT-d, AMD-Vi.
FAULT_PATTERN='DMAR: \[|DRHD: handling fault|fault addr|[Ff]ault reason|IO_PAGE_FAULT'
# The kernel reports of parse.sh.
REPORT_PATTERN='(BUG|WARNING|INFO): |Oops|Kernel panic|kernel BUG|general protection fault'
REPORT_PATTERN="$REPORT_PATTERN|UBSAN|Call Trace:|blocked for more than|soft lockup|hard LOCKUP|detected stalls"

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

# guest_root ROOT INIT: a fresh initramfs tree in ROOT with busybox, INIT
# (selftests/testpmd-init or vmm-init) as /init and selftests/realworld-lib.sh, which
# it sources; /lib and /lib64 symlinks to /usr as on a merged-/usr host.
guest_root() {
	local root=$1 d
	fresh_dir "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp}
	for d in lib lib64; do
		[ -L "/$d" ] || continue
		mkdir -p "$root/$(readlink "/$d")"
		ln -s "$(readlink "/$d")" "$root/$d"
	done
	cp /bin/busybox "$root/bin/busybox"
	cp "$REPO/selftests/$2" "$root/init"
	cp "$REPO/selftests/realworld-lib.sh" "$root/realworld-lib.sh"
	chmod 755 "$root/init"
}

# pack_cpio ROOT CPIO: ROOT into the uncompressed cpio archive CPIO, then
# ROOT is deleted.
pack_cpio() {
	(cd "$1" && find . | cpio -o -H newc --quiet) > "$2"
	safe_rm "$1"
}

# boot_guest IOMMU KERNEL CPIO APPEND [QEMU ARG...]: boot KERNEL with CPIO
# in the test VM with IOMMU (lib.sh's vm_machine) and the QEMU ARGs, the
# kernel command line APPEND added to the machine's; the kernel's console
# to $console, ttyS1 (the init's output) to $log.  A run that outlasts
# $timeout_s seconds is killed and marked in $log.
boot_guest() {
	local iommu=$1 kernel=$2 cpio=$3 append=$4 rc=0
	shift 4
	vm_machine "$iommu"
	rm -f "$console" "$log"
	timeout "$timeout_s" "${VM_QEMU[@]}" "$@" \
		-kernel "$kernel" -initrd "$cpio" -append "$VM_APPEND $append" \
		-display none -monitor none \
		-serial "file:$console" -serial "file:$log" || rc=$?
	[ $rc = 124 ] && echo "REALWORLD: TIMEOUT after ${timeout_s}s" >> "$log"
	say "qemu exit $rc"
}

# The verdict.  Each check adds what is wrong to $bad; judge_report
# prints it.
bad=()
problem() { bad+=("$*"); }

# judge_start: $log without the serial port's carriage returns into
# $clean, which the checks read; a missing or empty log is a problem.
judge_start() {
	[ -s "$log" ] && [ -s "$console" ] || problem "$log or $console is missing or empty"
	mkdir -p "$(dirname "$clean")"
	tr -d '\r' < "$log" > "$clean" 2>/dev/null || : > "$clean"
}

# check_devices N: N devices were bound to vfio-pci (the init's
# "REALWORLD: DEVICE" lines).
check_devices() {
	local n
	n=$(grep -c '^REALWORLD: DEVICE .* driver=vfio-pci ' "$clean" || true)
	[ "$n" = "$1" ] || problem "$n devices bound to vfio-pci, not $1"
}

# check_kernel: no IOMMU fault (as dmesg in the VM and the console show
# them), no kernel report (the patterns of parse.sh); sets $faults.
check_kernel() {
	local kfaults reports
	faults=$(grep -c '^REALWORLD: FAULT' "$clean" || true)
	kfaults=$(grep -csE "$FAULT_PATTERN" "$console" || true)
	[ "$faults" = 0 ] && [ "${kfaults:-0}" = 0 ] ||
		problem "IOMMU faults: $faults in the VM's dmesg, $kfaults lines on the console"
	reports=$(grep -csE "$REPORT_PATTERN" "$console" || true)
	[ "${reports:-0}" = 0 ] ||
		problem "$reports kernel report lines on the console, the first: $(grep -m 1 -E "$REPORT_PATTERN" "$console")"
}

# check_done: the init finished (no crash, panic or timeout).
check_done() {
	grep -qx 'REALWORLD: DONE' "$clean" ||
		problem "the VM did not finish (crash, panic, timeout): see $log, $console"
}

# judge_report NAME FIGURES: what is wrong, then the verdict "NAME: PASS:
# FIGURES" or "NAME: FAIL: FIGURES"; returns 1 on failure.
judge_report() {
	local l
	if [ ${#bad[@]} = 0 ]; then
		echo "$1: PASS:$2"
		return 0
	fi
	for l in "${bad[@]}"; do
		say "FAILED: $l"
	done
	echo "$1: FAIL:$2"
	return 1
}
