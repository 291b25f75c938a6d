# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh
# Sourced by the inits of the real-world VMs (testpmd-init, vmm-init):
# the VM's file systems and output, devices bound to vfio-pci, the IOMMU
# faults the kernel logged, the end.  Each step is marked by a
# "REALWORLD:" line on ttyS1 for the host to judge (scripts/guest.sh).

# realworld_setup: busybox's commands, proc, sysfs, devtmpfs; from here on
# everything goes to ttyS1.
realworld_setup() {
	/bin/busybox --install -s /bin
	export PATH=/bin:/usr/bin
	export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	exec > /dev/ttyS1 2>&1
	echo "REALWORLD: START $(uname -r)"
}

# bind_vfio VENDOR DEVICE: every PCI device VENDOR:DEVICE (0x1234 0x11e8)
# to vfio-pci; sets $bdfs.
bind_vfio() {
	bdfs=
	for d in /sys/bus/pci/devices/*; do
		[ "$(cat "$d/vendor")" = "$1" ] || continue
		[ "$(cat "$d/device")" = "$2" ] || continue
		b=${d##*/}
		echo vfio-pci > "$d/driver_override"
		[ -e "$d/driver" ] && echo "$b" > "$d/driver/unbind"
		echo "$b" > /sys/bus/pci/drivers_probe
		drv=$(readlink "$d/driver")
		grp=$(readlink "$d/iommu_group")
		echo "REALWORLD: DEVICE $b driver=${drv##*/} iommu_group=${grp##*/}"
		bdfs="$bdfs $b"
	done
}

# show_fds PROGRAM: the files under /dev/iommu and /dev/vfio that the
# running PROGRAM holds open, one "REALWORLD: OPEN" line each.
show_fds() {
	for p in $(pidof "$1"); do
		for f in "/proc/$p/fd"/*; do
			l=$(readlink "$f")
			case "$l" in /dev/iommu | /dev/vfio/*) echo "REALWORLD: OPEN $l" ;; esac
		done
	done
}

# realworld_end: the kernel's IOMMU fault reports (VT-d: "DMAR: [DMA
# Read/Write ...]", AMD-Vi: IO_PAGE_FAULT), then power off.
realworld_end() {
	dmesg | grep -E 'DMAR: \[|DRHD: handling fault|fault addr|[Ff]ault reason|IO_PAGE_FAULT' |
		sed 's/^/REALWORLD: FAULT /'
	echo "REALWORLD: DONE"
	sync
	poweroff -f
}
