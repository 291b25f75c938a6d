/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * QEMU's edu device (PCI 1234:11e8) as a DMA engine behind VFIO, for tests
 * of real DMA through our iommufd: finding edu devices in sysfs and binding
 * them to vfio-pci, their BAR0 and the engine (struct edu), buffers that
 * know what they must hold (struct buf), what the VM's IOMMU and QEMU 7.2
 * do (vm_iommu(), viommus[]), the IOMMU's fault reports in the kernel log,
 * a copy through edu's buffer that checks every byte (dma_copy()), a hot
 * removal of an open device (remove_and_rescan()), the VFIO type1
 * container ioctls, VT-d's page table in debugfs, and the two measures of
 * what is pinned: pins_held() and locked_vm_is().
 */
#ifndef __IOMMUFD_SELFTEST_VFIO_EDU_H
#define __IOMMUFD_SELFTEST_VFIO_EDU_H

#include <dirent.h>
#include <poll.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "edu.h"
#include "helpers.h"

#define PSZ ((size_t)sysconf(_SC_PAGESIZE))

#define PCI_DEVICES "/sys/bus/pci/devices"
#define UNSAFE_IRQS "/sys/module/iommufd/parameters/allow_unsafe_interrupts"
#define FAULT_STAMP "/tmp/vfio_edu.last-fault"

/* The IOMMU of the VM, and how QEMU 7.2 and its Linux driver behave. */
enum viommu { VIOMMU_INTEL, VIOMMU_AMD, VIOMMU_VIRTIO, VIOMMU_SMMUV3 };

static const struct {
	const char *name;
	/* in the driver's report of a DMA write fault, NULL: no report */
	const char *fault;
	/* faults that leave room in the drivers' report ratelimit (5 s) */
	int quiet_faults;
	/* does DMA from behind a PCIe-to-PCI bridge reach its domain? */
	bool bridged_dma;
	__u64 msi;	/* an address in the MSI window no IOVA range may hold */
} viommus[] = {
	/* Two or three of the 10 reports per fault. */
	[VIOMMU_INTEL] = { "intel", "[DMA Write", 2, true, 0xfee00000 },
	/*
	 * QEMU 7.2 logs no IO_PAGE_FAULT event (-trace amdvi_page_fault
	 * never fires), and translates a device behind a PCIe-to-PCI bridge
	 * by the requester ID 00:00.0 (the bus number it had when QEMU
	 * started), so its DMA is refused.
	 */
	[VIOMMU_AMD] = { "amd", NULL, 0, false, 0xfee00000 },
	/* QEMU reports every 4 bytes of a DMA: one DMA fills the window. */
	[VIOMMU_VIRTIO] = { "virtio", "fault from EP", 0, true, 0xfee00000 },
	[VIOMMU_SMMUV3] = { "smmuv3", "event 0x10 received", 0, true,
			    0x8000000 },
};

/* A small file into @buf, NUL-terminated, without its newline. */
static inline int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

/* harness_iommu= of the kernel command line; VT-d without it. */
static inline enum viommu vm_iommu(void)
{
	static const char key[] = "harness_iommu=";
	char cmdline[4096] = "", *tok, *save;
	unsigned int i;

	read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	for (tok = strtok_r(cmdline, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		if (strncmp(tok, key, sizeof(key) - 1))
			continue;
		for (i = 0; i < ARRAY_SIZE(viommus); i++)
			if (!strcmp(tok + sizeof(key) - 1, viommus[i].name))
				return i;
	}
	return VIOMMU_INTEL;
}

/* A numeric attribute of a PCI device, or ~0UL. */
static inline unsigned long pci_attr(const char *bdf, const char *attr)
{
	char path[128], val[32];

	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/%s", bdf, attr);
	if (read_file(path, val, sizeof(val)))
		return ~0UL;
	return strtoul(val, NULL, 0);
}

static inline bool pci_present(const char *bdf)
{
	return pci_attr(bdf, "vendor") != ~0UL;
}

/* The last component of symlink @path into @name, or -1. */
static inline int link_name(const char *path, char *name, size_t size)
{
	char target[256], *slash;
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = 0;
	slash = strrchr(target, '/');
	slash = slash ? slash + 1 : target;
	n = strlen(slash);
	if ((size_t)n >= size)
		return -1;
	memcpy(name, slash, n + 1);
	return 0;
}

/* The IOMMU group of a PCI device, or -1. */
static inline int group_of(const char *bdf)
{
	char path[128], name[32];

	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/iommu_group", bdf);
	if (link_name(path, name, sizeof(name)))
		return -1;
	return atoi(name);
}

static inline int group_devices(int group)
{
	char path[96];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/devices",
		 group);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

/* The edu devices, sorted by address; returns how many (at most @max). */
static inline int edu_list(char (*bdfs)[16], int max)
{
	struct dirent **names;
	int n, i, found = 0;

	n = scandir(PCI_DEVICES, &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		const char *bdf = names[i]->d_name;

		if (bdf[0] != '.' && found < max &&
		    pci_attr(bdf, "vendor") == EDU_VENDOR &&
		    pci_attr(bdf, "device") == EDU_DEVICE)
			snprintf(bdfs[found++], 16, "%.15s", bdf);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return found;
}

/* Bind a PCI device to vfio-pci, unless it is already; 0 if it is now. */
static inline int bind_vfio_pci(const char *bdf)
{
	char path[128], drv[64];

	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/driver", bdf);
	if (!link_name(path, drv, sizeof(drv))) {
		if (!strcmp(drv, "vfio-pci"))
			return 0;
		snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/driver/unbind",
			 bdf);
		if (write_file(path, bdf))
			return -1;
	}
	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/driver_override", bdf);
	if (write_file(path, "vfio-pci") ||
	    write_file("/sys/bus/pci/drivers_probe", bdf))
		return -1;
	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/driver", bdf);
	if (link_name(path, drv, sizeof(drv)) || strcmp(drv, "vfio-pci"))
		return -1;
	return 0;
}

/*
 * @want 1: an edu alone in its IOMMU group; @want 2: two edus of one
 * group.  Their addresses into @bdfs; false if the VM has none.  All are
 * bound to vfio-pci first: behind virtio-iommu (ACPI VIOT) a device joins
 * its group only when a driver binds.
 */
static inline bool edu_find(char (*bdfs)[16], int want)
{
	char all[8][16];
	int n, i, j, k, group;

	n = edu_list(all, 8);
	for (i = 0; i < n; i++)
		bind_vfio_pci(all[i]);
	for (i = 0; i < n; i++) {
		group = group_of(all[i]);
		if (group < 0)
			continue;
		for (j = 0, k = 0; j < n && k < want; j++)
			if (group_of(all[j]) == group)
				memcpy(bdfs[k++], all[j], 16);
		if (want == 1 ? group_devices(group) == 1 : k == want)
			return true;
	}
	return false;
}

/* The VFIO device of a PCI device (vfio-dev/vfioN) into @name, or -1. */
static inline int vfio_dev_name(const char *bdf, char *name, size_t size)
{
	char path[128];
	struct dirent *d;
	int rc = -1;
	DIR *dir;

	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, "vfio", 4) || strlen(d->d_name) >= size)
			continue;
		memcpy(name, d->d_name, strlen(d->d_name) + 1);
		rc = 0;
		break;
	}
	closedir(dir);
	return rc;
}

/* Open the VFIO cdev of a device (/dev/vfio/devices/vfioN). */
static inline int cdev_open(const char *bdf)
{
	char path[64], name[32];

	if (vfio_dev_name(bdf, name, sizeof(name)))
		return -1;
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	return open(path, O_RDWR);
}

/* iommufd.allow_unsafe_interrupts: 0 or 1, or -1 if it is not there. */
static inline int unsafe_irqs_get(void)
{
	char val[8];

	if (read_file(UNSAFE_IRQS, val, sizeof(val)))
		return -1;
	return val[0] == 'Y' || val[0] == '1';
}

static inline int unsafe_irqs_set(int on)
{
	return write_file(UNSAFE_IRQS, on ? "1" : "0");
}

/*
 * Pages pinned (FOLL_PIN) in the whole system right now; the counters are
 * folded from the CPUs first, or /proc/vmstat may lag by dozens of pages.
 */
static inline long pins_held(void)
{
	long acquired = -1, released = -1, val;
	char name[64];
	FILE *f;

	if (write_file("/proc/sys/vm/stat_refresh", "1"))
		return -1;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &val) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired"))
			acquired = val;
		else if (!strcmp(name, "nr_foll_pin_released"))
			released = val;
	}
	fclose(f);
	return acquired < 0 || released < 0 ? -1 : acquired - released;
}

/*
 * The child of locked_vm_is(): without CAP_IPC_LOCK, pin one page through a
 * mock domain (charged like any domain) under RLIMIT_MEMLOCK @pages + 1,
 * which must work, and under @pages, which must fail.
 */
static inline int locked_vm_child(long pages)
{
	struct rlimit rl = { .rlim_max = RLIM_INFINITY };
	__u64 iova = MOCK_APERTURE_START;
	__u32 ioas_id;
	char *page;
	int fd;

	close_range(3, ~0U, 0);
	fd = open(IOMMU_DEV, O_RDWR);
	page = new_buffer(PSZ, 0);
	if (fd < 0 || page == MAP_FAILED || drop_capability(CAP_IPC_LOCK) ||
	    ioas_alloc(fd, &ioas_id) ||
	    mock_domain(fd, ioas_id, NULL, NULL, NULL))
		return 10;
	rl.rlim_cur = (pages + 1) * PSZ;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return 11;
	if (ioas_map_fixed(fd, ioas_id, page, PSZ, iova))
		return errno == ENOMEM ? 1 : 12;
	if (ioas_unmap(fd, ioas_id, iova, PSZ, NULL))
		return 13;
	rl.rlim_cur = pages * PSZ;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return 11;
	if (!ioas_map_fixed(fd, ioas_id, page, PSZ, iova))
		return 2;
	return errno == ENOMEM ? 0 : 14;
}

/*
 * Is the RLIMIT_MEMLOCK charge of this user (user->locked_vm) exactly
 * @pages?  0 if so, 1 if it is more, 2 if less, else a probe error.
 */
static inline int locked_vm_is(long pages)
{
	int status;
	pid_t pid;

	if (pages < 0)
		return 3;
	pid = fork();
	if (!pid)
		_exit(locked_vm_child(pages));
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 4;
	return WEXITSTATUS(status);
}

/* user->locked_vm in pages, or -1: usually 0, so try 0 first, then double. */
static inline long locked_vm(void)
{
	long lo = 0, hi = 0, mid;
	int r;

	while ((r = locked_vm_is(hi)) == 1) {
		lo = hi + 1;
		hi = 2 * hi + 1;
		if (hi > 1L << 24)
			return -1;
	}
	if (r != 2)
		return r ? -1 : hi;
	for (hi--; lo <= hi;) {
		mid = lo + (hi - lo) / 2;
		r = locked_vm_is(mid);
		if (!r)
			return mid;
		if (r == 1)
			lo = mid + 1;
		else if (r == 2)
			hi = mid - 1;
		else
			return -1;
	}
	return -1;
}

/* A user buffer at an IOVA, and what it must hold. */
struct buf {
	char *mem;
	char *want;
	size_t len;
	unsigned int seed;
	bool huge;
	__u64 iova;	/* where the test has it mapped */
};

static inline int buf_new(struct buf *b, size_t len, unsigned int seed,
			  __u64 iova, bool huge)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;

	if (huge)
		flags |= MAP_HUGETLB | (21 << MAP_HUGE_SHIFT);
	*b = (struct buf){ .len = len, .seed = seed, .iova = iova,
			   .huge = huge };
	b->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	b->want = malloc(len);
	if (b->mem == MAP_FAILED || !b->want) {
		b->mem = NULL;
		return -1;
	}
	fill_pattern(b->mem, len, seed);
	memcpy(b->want, b->mem, len);
	return 0;
}

/* Back to its first contents. */
static inline void buf_reset(struct buf *b)
{
	fill_pattern(b->mem, b->len, b->seed);
	memcpy(b->want, b->mem, b->len);
}

static inline void buf_free(struct buf *b)
{
	if (b->mem)
		munmap(b->mem, b->len);
	free(b->want);
	b->mem = NULL;
	b->want = NULL;
}

/* The first byte that differs from what it must hold, or -1. */
static inline long buf_diff(const struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if (b->mem[i] != b->want[i])
			return i;
	return -1;
}

/* An edu device opened through VFIO, BAR0 mapped. */
struct edu {
	char bdf[16];
	int fd;
	__u32 devid;	/* the iommufd device ID, once bound (cdev_bind()) */
	void *bar;
	size_t bar_size;
};

static inline void edu_init(struct edu *e, const char *bdf)
{
	*e = (struct edu){ .fd = -1 };
	memcpy(e->bdf, bdf, sizeof(e->bdf));
}

/* Map BAR0; memory decoding and bus mastering on in the command register. */
static inline int edu_regions(struct edu *e)
{
	struct vfio_region_info bar = {
		.argsz = sizeof(bar),
		.index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	struct vfio_region_info cfg = {
		.argsz = sizeof(cfg),
		.index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	__u16 cmd;
	void *p;

	if (ioctl(e->fd, VFIO_DEVICE_GET_REGION_INFO, &bar) ||
	    ioctl(e->fd, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		return -1;
	if (!(bar.flags & VFIO_REGION_INFO_FLAG_MMAP) || bar.size < 0x100) {
		errno = EINVAL;
		return -1;
	}
	if (pread(e->fd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		return -1;
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(e->fd, &cmd, 2, cfg.offset + PCI_COMMAND) != 2)
		return -1;
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd,
		 bar.offset);
	if (p == MAP_FAILED)
		return -1;
	e->bar = p;
	e->bar_size = bar.size;
	return 0;
}

/* Close the device: BAR0's mapping holds the file too. */
static inline void edu_close(struct edu *e)
{
	if (e->bar)
		munmap(e->bar, e->bar_size);
	if (e->fd >= 0)
		close(e->fd);
	e->bar = NULL;
	e->fd = -1;
}

static inline __u32 edu_ident(struct edu *e)
{
	return edu_bar_ident(e->bar);
}

/* One transfer between IOVA @iova and edu's buffer: edu_bar_dma(). */
static inline int edu_dma(struct edu *e, __u64 iova, size_t off,
			  size_t len, bool to_ram)
{
	return edu_bar_dma(e->bar, iova, off, len, to_ram);
}

/*
 * The IOMMU drivers ratelimit their fault reports (10 in 5 s, VT-d spends
 * two per fault): FAULT_STAMP counts the faults tests provoked since a
 * time, and a test that looks for a report first lets a busy window pass.
 */
static inline void fault_stamp(long long *since, int *count)
{
	char text[48];

	*since = 0;
	*count = 0;
	if (!read_file(FAULT_STAMP, text, sizeof(text)))
		sscanf(text, "%lld %d", since, count);
}

static inline long long now_s(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

static inline void note_fault(void)
{
	long long since, now = now_s();
	int count;
	FILE *f;

	fault_stamp(&since, &count);
	if (!count || now > since + 5) {
		since = now;
		count = 0;
	}
	f = fopen(FAULT_STAMP, "w");
	if (f) {
		fprintf(f, "%lld %d\n", since, count + 1);
		fclose(f);
	}
}

static inline void fault_quiet(enum viommu iommu)
{
	long long since, now = now_s();
	int count;

	fault_stamp(&since, &count);
	if (count > viommus[iommu].quiet_faults && now <= since + 6)
		sleep(since + 7 - now);
}

/* /dev/kmsg, past its last record. */
static inline int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Does @text hold a hex number 0x... in [lo, hi)? */
static inline bool has_addr(const char *text, __u64 lo, __u64 hi)
{
	unsigned long long v;
	const char *p;

	for (p = text; (p = strstr(p, "0x")); p += 2) {
		v = strtoull(p, NULL, 16);
		if (v >= lo && v < hi)
			return true;
	}
	return false;
}

/*
 * Has the IOMMU driver reported a DMA write fault at an address in
 * [lo, hi) since kmsg_open()?  Its report, then the address in it or in a
 * record after it (SMMUv3 dumps the event in lines of their own).  Waits up
 * to 3 s for it to come in.
 */
static inline bool fault_logged(int kmsg, enum viommu iommu, __u64 lo,
				__u64 hi)
{
	bool seen = false;
	char rec[2048];
	int waited = 0;
	ssize_t n;

	if (!viommus[iommu].fault) {
		ksft_print_msg("fault report not checked: QEMU's %s IOMMU makes none\n",
			       viommus[iommu].name);
		return true;
	}
	while (waited < 3000) {
		n = read(kmsg, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten; the next one follows */
		if (n < 0) {
			if (errno != EAGAIN)
				return false;
			usleep(10000);
			waited += 10;
			continue;
		}
		rec[n] = 0;
		if (strstr(rec, viommus[iommu].fault))
			seen = true;
		if (seen && has_addr(strchr(rec, ';') ?: rec, lo, hi))
			return true;
	}
	return false;
}

/*
 * Copy @len bytes from @src + @so to @dst + @dof through edu's buffer, by
 * IOVA: RAM to device, then device to RAM.  The second transfer must land
 * (@lands) or be dropped; either way every byte of both buffers must be
 * what it should.  @dst->mem may be NULL: an IOVA with no memory behind it.
 */
static inline void dma_copy(struct __test_metadata *_metadata,
			    struct edu *e, struct buf *src, size_t so,
			    struct buf *dst, size_t dof, size_t len, bool lands)
{
	size_t eo = so & 1023;

	ASSERT_EQ(0, edu_dma(e, src->iova + so, eo, len, false));
	if (!lands && dst->mem) {
		/* Else the check below could not fail. */
		ASSERT_NE(0, memcmp(dst->mem + dof, src->mem + so, len));
	}
	ASSERT_EQ(0, edu_dma(e, dst->iova + dof, eo, len, true));
	if (lands)
		memcpy(dst->want + dof, src->mem + so, len);
	else
		note_fault();
	EXPECT_EQ(-1, buf_diff(src));
	if (dst->mem)
		EXPECT_EQ(-1, buf_diff(dst));
}

/*
 * Remove the open device through sysfs, as a hot unplug: vfio-pci asks for
 * it back through the request eventfd and waits; we close it and the
 * removal ends.  A child writes "remove", holding no reference to the
 * device (a blocked removal would wait for it).  Then rescan the bus and
 * bind the new device to vfio-pci.
 */
static inline void remove_and_rescan(struct __test_metadata *_metadata,
				     struct edu *e)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int)];
	struct vfio_irq_set *irq = (struct vfio_irq_set *)buf;
	struct pollfd pfd = { .events = POLLIN };
	char path[128];
	int status;
	pid_t pid;

	pfd.fd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, pfd.fd);
	*irq = (struct vfio_irq_set){
		.argsz = sizeof(buf),
		.flags = VFIO_IRQ_SET_DATA_EVENTFD |
			 VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_REQ_IRQ_INDEX,
		.count = 1,
	};
	memcpy(irq->data, &pfd.fd, sizeof(int));
	ASSERT_EQ(0, ioctl(e->fd, VFIO_DEVICE_SET_IRQS, irq));
	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/remove", e->bdf);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		munmap(e->bar, e->bar_size);
		close_range(3, ~0U, 0);
		_exit(write_file(path, "1") ? 1 : 0);
	}
	EXPECT_EQ(1, poll(&pfd, 1, 10000));
	edu_close(e);
	close(pfd.fd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_FALSE(pci_present(e->bdf));
	ASSERT_EQ(0, write_file("/sys/bus/pci/rescan", "1"));
	ASSERT_EQ(0, bind_vfio_pci(e->bdf));
}

static inline int vfio_bind(int devfd, int iommufd, __u32 *devid)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = iommufd,
	};
	int rc = ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind);

	if (!rc && devid)
		*devid = bind.out_devid;
	return rc;
}

/* Attach to (or replace by) *pt_id; *pt_id receives the hw_pagetable. */
static inline int vfio_attach(int devfd, __u32 *pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
		.pt_id = *pt_id,
	};
	int rc = ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);

	if (!rc)
		*pt_id = attach.pt_id;
	return rc;
}

static inline int vfio_detach(int devfd)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	return ioctl(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
}

/* The device cdev of @bdf bound to @iommufd. */
static inline int cdev_bind(struct edu *e, int iommufd)
{
	e->fd = cdev_open(e->bdf);
	if (e->fd < 0)
		return -1;
	return vfio_bind(e->fd, iommufd, &e->devid);
}

/* VFIO type1 container ioctls, as a DPDK-style program issues them. */
static inline int dma_map(int fd, struct buf *b, __u64 iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)b->mem,
		.iova = iova,
		.size = b->len,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

static inline int dma_unmap(int fd, __u64 iova, __u64 size,
			    __u64 *unmapped)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};
	int rc = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);

	if (!rc && unmapped)
		*unmapped = unmap.size;
	return rc;
}

static inline __u32 group_flags(int group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status))
		return ~0U;
	return status.flags;
}

/* VFIO_IOMMU_GET_INFO with its capability chain (malloc()ed), or NULL. */
static inline struct vfio_iommu_type1_info *iommu_info(int container)
{
	struct vfio_iommu_type1_info *info = calloc(1, sizeof(*info));
	__u32 size;

	if (!info)
		return NULL;
	info->argsz = sizeof(*info);
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
		goto err;
	size = info->argsz;
	if (size > sizeof(*info)) {
		free(info);
		info = calloc(1, size);
		if (!info)
			return NULL;
		info->argsz = size;
		if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
			goto err;
	}
	return info;
err:
	free(info);
	return NULL;
}

static inline struct vfio_iommu_type1_info_cap_iova_range *
info_ranges(struct vfio_iommu_type1_info *info)
{
	struct vfio_info_cap_header *hdr;
	__u32 off;

	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		return NULL;
	for (off = info->cap_offset; off && off + sizeof(*hdr) <= info->argsz;
	     off = hdr->next) {
		hdr = (void *)((char *)info + off);
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			return (void *)hdr;
	}
	return NULL;
}

/* Is all of [start, last] inside one of the ranges? */
static inline bool
in_ranges(struct vfio_iommu_type1_info_cap_iova_range *cap, __u64 start,
	  __u64 last)
{
	__u32 i;

	for (i = 0; i < cap->nr_iovas; i++)
		if (start >= cap->iova_ranges[i].start &&
		    last <= cap->iova_ranges[i].end)
			return true;
	return false;
}

/*
 * The size of the VT-d IOPTE that maps @iova in @bdf's domain, from the
 * page table dump in debugfs (a line per leaf: IOVA_PFN | PML5E PML4E PDPE
 * [PDE [PTE]]): 4 KiB, 2 MiB or 1 GiB; 0 if no IOPTE maps it, -1 if the
 * dump cannot be read (needs CONFIG_INTEL_IOMMU_DEBUGFS).
 */
static inline long vtd_iopte_size(const char *bdf, __u64 iova)
{
	static const long sizes[] = { 1L << 30, 2L << 20, 4L << 10 };
	unsigned long long pfn;
	char path[160], line[256], *p;
	long size = 0;
	int fields;
	FILE *f;

	snprintf(path, sizeof(path),
		 "/sys/kernel/debug/iommu/intel/%s/domain_translation_struct",
		 bdf);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (!size && fgets(line, sizeof(line), f)) {
		p = strchr(line, '|');
		if (!p || sscanf(line, "0x%llx", &pfn) != 1)
			continue;
		for (fields = 0; (p = strstr(p, "0x")); p += 2)
			fields++;
		if (fields < 3 || fields > 5)
			continue;
		if (iova >= pfn << 12 && iova < (pfn << 12) + sizes[fields - 3])
			size = sizes[fields - 3];
	}
	fclose(f);
	return size;
}

#endif
