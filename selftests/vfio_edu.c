// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Real DMA through our iommufd: QEMU's edu device (PCI 1234:11e8) bound to
 * vfio-pci, its DMA engine driven from userspace through BAR0 and
 * translated by the VM's IOMMU (VT-d, AMD-Vi, virtio-iommu or SMMUv3; the
 * kernel command line's harness_iommu= says which, VT-d by default).  Every
 * test checks where the bytes land: exactly in the target, nothing next to
 * it, and nowhere at all when no mapping allows the access.
 *
 *  edu_cdev      the device cdev bound to /dev/iommu and attached to an
 *                IOAS: both DMA directions, pins and charge, faults on
 *                never-mapped and unmapped IOVAs (reported by the IOMMU in
 *                the kernel log), detach, replace by a second IOAS
 *  edu_teardown  detach, unbind (close the device), close /dev/iommu and
 *                removal of the PCI device, in every order
 *  edu_huge      a hugetlb buffer: DMA across it, and 2 MiB IOPTEs (VT-d)
 *  edu_group     /dev/vfio/GROUP with /dev/vfio/vfio (type1 v2 and v1) or
 *                /dev/iommu as the container
 *  edu_pair      two edu devices in one IOMMU group (behind a PCIe-to-PCI
 *                bridge), if the VM has them
 *  edu_msi       binding needs isolated MSIs unless allow_unsafe_interrupts
 *
 * Every test leaves edu bound to vfio-pci with nothing pinned or charged,
 * measured before and after: the pins of the whole system by /proc/vmstat
 * (nr_foll_pin_acquired - nr_foll_pin_released), the RLIMIT_MEMLOCK charge
 * of the user (user->locked_vm, where iommufd charges by default) by a
 * child that pins one page under a limit of exactly that charge plus one.
 *
 * QEMU 7.2 aborts the whole VM on an edu transfer that reaches the end of
 * its 4 KiB buffer, so edu_dma() refuses such transfers.  Without edu in the
 * VM the tests skip.
 */
#include <dirent.h>
#include <poll.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "helpers.h"

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_IDENT 0x010000ed
/* BAR0 registers */
#define EDU_REG_IDENT 0x00
#define EDU_REG_SRC 0x80
#define EDU_REG_DST 0x88
#define EDU_REG_CNT 0x90
#define EDU_REG_CMD 0x98
#define EDU_CMD_RUN 0x1
#define EDU_CMD_TO_RAM 0x2
/* The device address of edu's 4 KiB buffer, and the largest safe transfer */
#define EDU_BUF 0x40000ULL
#define EDU_BUF_SIZE 4096
#define EDU_XFER 2048
#define EDU_TIMEOUT_MS 5000

#define PSZ ((size_t)sysconf(_SC_PAGESIZE))
#define BUF_PAGES 4
#define BUF_LEN (BUF_PAGES * PSZ)
#define HUGE_SZ (2UL << 20)
#define HUGE_LEN (4 * HUGE_SZ)

/*
 * IOVAs below 256 MiB (edu's DMA mask is 28 bits), clear of the software
 * MSI window some IOMMUs reserve at 128 MiB.
 */
#define IOVA_A 0x100000ULL
#define IOVA_B 0x200000ULL
#define IOVA_C 0x300000ULL
#define IOVA_D 0x400000ULL
#define IOVA_HOLE 0x600000ULL	/* never mapped */
#define IOVA_HUGE 0x4000000ULL	/* 2 MiB aligned */

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
static int read_file(const char *path, char *buf, size_t size)
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
static enum viommu vm_iommu(void)
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
static unsigned long pci_attr(const char *bdf, const char *attr)
{
	char path[128], val[32];

	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/%s", bdf, attr);
	if (read_file(path, val, sizeof(val)))
		return ~0UL;
	return strtoul(val, NULL, 0);
}

static bool pci_present(const char *bdf)
{
	return pci_attr(bdf, "vendor") != ~0UL;
}

/* The last component of symlink @path into @name, or -1. */
static int link_name(const char *path, char *name, size_t size)
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
static int group_of(const char *bdf)
{
	char path[128], name[32];

	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/iommu_group", bdf);
	if (link_name(path, name, sizeof(name)))
		return -1;
	return atoi(name);
}

static int group_devices(int group)
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
static int edu_list(char (*bdfs)[16], int max)
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

static int bind_vfio_pci(const char *bdf);

/*
 * @want 1: an edu alone in its IOMMU group; @want 2: two edus of one
 * group.  Their addresses into @bdfs; false if the VM has none.  All are
 * bound to vfio-pci first: behind virtio-iommu (ACPI VIOT) a device joins
 * its group only when a driver binds.
 */
static bool edu_find(char (*bdfs)[16], int want)
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

/* Bind a PCI device to vfio-pci, unless it is already; 0 if it is now. */
static int bind_vfio_pci(const char *bdf)
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

/* Open the VFIO cdev of a device (/dev/vfio/devices/vfioN). */
static int cdev_open(const char *bdf)
{
	char path[128];
	struct dirent *d;
	int fd = -1;
	DIR *dir;

	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/vfio-dev", bdf);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, "vfio", 4))
			continue;
		snprintf(path, sizeof(path), "/dev/vfio/devices/%.32s",
			 d->d_name);
		fd = open(path, O_RDWR);
		break;
	}
	closedir(dir);
	return fd;
}

/* iommufd.allow_unsafe_interrupts: 0 or 1, or -1 if it is not there. */
static int unsafe_irqs_get(void)
{
	char val[8];

	if (read_file(UNSAFE_IRQS, val, sizeof(val)))
		return -1;
	return val[0] == 'Y' || val[0] == '1';
}

static int unsafe_irqs_set(int on)
{
	return write_file(UNSAFE_IRQS, on ? "1" : "0");
}

/*
 * Pages pinned (FOLL_PIN) in the whole system right now; the counters are
 * folded from the CPUs first, or /proc/vmstat may lag by dozens of pages.
 */
static long pins_held(void)
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
static int locked_vm_child(long pages)
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
static int locked_vm_is(long pages)
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
static long locked_vm(void)
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

/* The state every test must leave as it found it. */
struct edu_env {
	enum viommu iommu;
	char bdf[16];
	long pins;	/* pins_held() before the test */
	long locked;	/* locked_vm() before the test */
	int unsafe;	/* allow_unsafe_interrupts to restore, or -1 */
};

/*
 * Find @want edu devices (see edu_find(); rescan the bus once, in case a
 * test removed one and died), bind them to vfio-pci, measure the baseline.
 * Under virtio-iommu, which does not isolate MSIs, allow unsafe interrupts
 * unless @strict: VFIO cannot bind there otherwise.  NULL, or why to skip.
 */
static const char *env_setup(struct __test_metadata *_metadata,
			     struct edu_env *env, char (*bdfs)[16], int want,
			     bool strict)
{
	static const char *const none[] = {
		"no edu device (1234:11e8) alone in an IOMMU group (QEMU: -device edu)",
		"no IOMMU group with two edu devices (QEMU: behind a pcie-pci-bridge)",
		"edu devices without an IOMMU group: the IOMMU does not cover them",
	};
	char all[8][16];
	int i, n;

	env->unsafe = -1;
	env->iommu = vm_iommu();
	if (!edu_find(bdfs, want)) {
		write_file("/sys/bus/pci/rescan", "1");
		if (!edu_find(bdfs, want)) {
			n = edu_list(all, 8);
			for (i = 0; i < n; i++)
				if (group_of(all[i]) < 0)
					return none[2];
			return none[want - 1];
		}
	}
	for (i = 0; i < want; i++)
		ASSERT_EQ(0, bind_vfio_pci(bdfs[i]));
	memcpy(env->bdf, bdfs[0], sizeof(env->bdf));
	env->pins = pins_held();
	ASSERT_LE(0, env->pins);
	env->locked = locked_vm();
	ASSERT_LE(0, env->locked);
	if (env->iommu == VIOMMU_VIRTIO && !strict) {
		env->unsafe = unsafe_irqs_get();
		ASSERT_LE(0, env->unsafe);
		ASSERT_EQ(0, unsafe_irqs_set(1));
	}
	return NULL;
}

static void env_check(struct __test_metadata *_metadata, struct edu_env *env)
{
	if (env->unsafe >= 0)
		EXPECT_EQ(0, unsafe_irqs_set(env->unsafe));
	EXPECT_EQ(env->pins, pins_held());
	EXPECT_EQ(0, locked_vm_is(env->locked));
	/* The next test finds it where this one did. */
	EXPECT_EQ(0, bind_vfio_pci(env->bdf));
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

static int buf_new(struct buf *b, size_t len, unsigned int seed, __u64 iova,
		   bool huge)
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
static void buf_reset(struct buf *b)
{
	fill_pattern(b->mem, b->len, b->seed);
	memcpy(b->want, b->mem, b->len);
}

static void buf_free(struct buf *b)
{
	if (b->mem)
		munmap(b->mem, b->len);
	free(b->want);
	b->mem = NULL;
	b->want = NULL;
}

/* The first byte that differs from what it must hold, or -1. */
static long buf_diff(const struct buf *b)
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
	void *bar;
	size_t bar_size;
};

static void edu_init(struct edu *e, const char *bdf)
{
	*e = (struct edu){ .fd = -1 };
	memcpy(e->bdf, bdf, sizeof(e->bdf));
}

/* Map BAR0; memory decoding and bus mastering on in the command register. */
static int edu_regions(struct edu *e)
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
static void edu_close(struct edu *e)
{
	if (e->bar)
		munmap(e->bar, e->bar_size);
	if (e->fd >= 0)
		close(e->fd);
	e->bar = NULL;
	e->fd = -1;
}

static __u32 edu_ident(struct edu *e)
{
	return __atomic_load_n((__u32 *)e->bar + EDU_REG_IDENT / 4,
			       __ATOMIC_ACQUIRE);
}

static __u64 edu_reg(struct edu *e, unsigned int reg)
{
	return __atomic_load_n((__u64 *)e->bar + reg / 8, __ATOMIC_ACQUIRE);
}

static void edu_set(struct edu *e, unsigned int reg, __u64 val)
{
	__atomic_store_n((__u64 *)e->bar + reg / 8, val, __ATOMIC_RELEASE);
}

/*
 * One transfer of @len bytes between IOVA @iova and edu's buffer at @off,
 * to RAM or from it.  0 when the engine is done (whether the IOMMU let the
 * access through or not), -1 with ETIMEDOUT if it still runs after 5 s, or
 * with EINVAL for a transfer QEMU would abort the VM on.
 */
static int edu_dma(struct edu *e, __u64 iova, size_t off, size_t len,
		   bool to_ram)
{
	int ms;

	if (!len || len > EDU_XFER || off + len >= EDU_BUF_SIZE) {
		errno = EINVAL;
		return -1;
	}
	edu_set(e, EDU_REG_SRC, to_ram ? EDU_BUF + off : iova);
	edu_set(e, EDU_REG_DST, to_ram ? iova : EDU_BUF + off);
	edu_set(e, EDU_REG_CNT, len);
	edu_set(e, EDU_REG_CMD, EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0));
	for (ms = 0; ms < EDU_TIMEOUT_MS; ms++) {
		if (!(edu_reg(e, EDU_REG_CMD) & EDU_CMD_RUN))
			return 0;
		usleep(1000);
	}
	errno = ETIMEDOUT;
	return -1;
}

/*
 * The IOMMU drivers ratelimit their fault reports (10 in 5 s, VT-d spends
 * two per fault): FAULT_STAMP counts the faults tests provoked since a
 * time, and a test that looks for a report first lets a busy window pass.
 */
static void fault_stamp(long long *since, int *count)
{
	char text[48];

	*since = 0;
	*count = 0;
	if (!read_file(FAULT_STAMP, text, sizeof(text)))
		sscanf(text, "%lld %d", since, count);
}

static long long now_s(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

static void note_fault(void)
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

static void fault_quiet(enum viommu iommu)
{
	long long since, now = now_s();
	int count;

	fault_stamp(&since, &count);
	if (count > viommus[iommu].quiet_faults && now <= since + 6)
		sleep(since + 7 - now);
}

/*
 * Copy @len bytes from @src + @so to @dst + @dof through edu's buffer, by
 * IOVA: RAM to device, then device to RAM.  The second transfer must land
 * (@lands) or be dropped; either way every byte of both buffers must be
 * what it should.  @dst->mem may be NULL: an IOVA with no memory behind it.
 */
static void dma_copy(struct __test_metadata *_metadata, struct edu *e,
		     struct buf *src, size_t so, struct buf *dst, size_t dof,
		     size_t len, bool lands)
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

/* /dev/kmsg, past its last record. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Does @text hold a hex number 0x... in [lo, hi)? */
static bool has_addr(const char *text, __u64 lo, __u64 hi)
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
static bool fault_logged(int kmsg, enum viommu iommu, __u64 lo, __u64 hi)
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

static int vfio_bind(int devfd, int iommufd, __u32 *devid)
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
static int vfio_attach(int devfd, __u32 *pt_id)
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

static int vfio_detach(int devfd)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	return ioctl(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
}

/* The device cdev of @bdf bound to @iommufd. */
static int cdev_bind(struct edu *e, int iommufd)
{
	e->fd = cdev_open(e->bdf);
	if (e->fd < 0)
		return -1;
	return vfio_bind(e->fd, iommufd, NULL);
}

/* The cdev path: edu bound to a context, attached, buffers a and b mapped. */
struct cdev {
	struct edu_env env;
	struct edu dev;
	int iommufd;
	__u32 ioas_id;
	__u32 hwpt_id;
	struct buf a;
	struct buf b;
};

static const char *cdev_setup(struct __test_metadata *_metadata,
			      struct cdev *c, bool attach)
{
	char bdf[1][16];
	const char *why;

	c->dev.fd = -1;
	c->iommufd = -1;
	why = env_setup(_metadata, &c->env, bdf, 1, false);
	if (why)
		return why;
	edu_init(&c->dev, bdf[0]);
	ASSERT_EQ(0, buf_new(&c->a, BUF_LEN, 1, IOVA_A, false));
	ASSERT_EQ(0, buf_new(&c->b, BUF_LEN, 2, IOVA_B, false));
	c->iommufd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, c->iommufd);
	ASSERT_EQ(0, ioas_alloc(c->iommufd, &c->ioas_id));
	ASSERT_EQ(0, cdev_bind(&c->dev, c->iommufd));
	if (attach) {
		c->hwpt_id = c->ioas_id;
		ASSERT_EQ(0, vfio_attach(c->dev.fd, &c->hwpt_id));
		EXPECT_NE(c->ioas_id, c->hwpt_id);
	}
	ASSERT_EQ(0, edu_regions(&c->dev));
	ASSERT_EQ(EDU_IDENT, edu_ident(&c->dev));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->a.mem, BUF_LEN,
				    IOVA_A));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->b.mem, BUF_LEN,
				    IOVA_B));
	return NULL;
}

static void cdev_teardown(struct __test_metadata *_metadata, struct cdev *c)
{
	edu_close(&c->dev);
	if (c->iommufd >= 0)
		close(c->iommufd);
	env_check(_metadata, &c->env);
	buf_free(&c->a);
	buf_free(&c->b);
}

/* Pins and RLIMIT_MEMLOCK charge are @pages above the baseline. */
#define EXPECT_PINNED(env, pages)                                        \
	do {                                                             \
		const struct edu_env *__env = (env);                     \
		long __pages = (pages);                                  \
								 \
		EXPECT_EQ(__env->pins + __pages, pins_held());           \
		EXPECT_EQ(0, locked_vm_is(__env->locked + __pages));     \
	} while (0)

FIXTURE(edu_cdev) {
	struct cdev c;
};

FIXTURE_SETUP(edu_cdev)
{
	const char *why = cdev_setup(_metadata, &self->c, true);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(edu_cdev)
{
	cdev_teardown(_metadata, &self->c);
}

/*
 * RAM to device from a, device to RAM into b, at offsets that cross pages
 * on both sides and end at the last byte of b: exactly the bytes copied
 * change, nothing next to them.
 */
TEST_F(edu_cdev, dma_both_directions)
{
	struct cdev *c = &self->c;

	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, EDU_XFER, true);
	dma_copy(_metadata, &c->dev, &c->a, PSZ - 100, &c->b, 2 * PSZ - 300,
		 1000, true);
	dma_copy(_metadata, &c->dev, &c->a, 3 * PSZ + 5, &c->b, PSZ + 17, 1,
		 true);
	dma_copy(_metadata, &c->dev, &c->a, 2 * PSZ + 64, &c->b,
		 BUF_LEN - 700, 700, true);
}

/* Attached, every mapped page is pinned and charged once; unmap gives back. */
TEST_F(edu_cdev, pins_and_charge)
{
	struct cdev *c = &self->c;

	EXPECT_PINNED(&c->env, 2 * BUF_PAGES);
	/* The same memory mapped again is pinned and charged again. */
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->a.mem, BUF_LEN,
				    IOVA_C));
	EXPECT_PINNED(&c->env, 3 * BUF_PAGES);
	ASSERT_EQ(0, ioas_unmap(c->iommufd, c->ioas_id, IOVA_C, BUF_LEN, NULL));
	ASSERT_EQ(0, ioas_unmap(c->iommufd, c->ioas_id, IOVA_B, BUF_LEN, NULL));
	EXPECT_PINNED(&c->env, BUF_PAGES);
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->a, PSZ, 512, true);
}

/* An IOVA never mapped: nothing changes, the IOMMU reports the fault. */
TEST_F(edu_cdev, fault_never_mapped)
{
	struct buf hole = { .iova = IOVA_HOLE };
	struct cdev *c = &self->c;
	int kmsg;

	fault_quiet(c->env.iommu);
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	dma_copy(_metadata, &c->dev, &c->a, 0, &hole, 100, 256, false);
	EXPECT_EQ(-1, buf_diff(&c->b));
	EXPECT_TRUE(fault_logged(kmsg, c->env.iommu, IOVA_HOLE,
				 IOVA_HOLE + 100 + 256));
	close(kmsg);
	/* The device goes on working. */
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 256, true);
}

/*
 * Mapped, DMA lands; unmapped, the same DMA is dropped (the IOTLB was
 * flushed) and reported; mapped again, it lands again.
 */
TEST_F(edu_cdev, fault_unmapped_since)
{
	struct cdev *c = &self->c;
	int kmsg;

	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, PSZ, 512, true);
	buf_reset(&c->b);
	ASSERT_EQ(0, ioas_unmap(c->iommufd, c->ioas_id, IOVA_B, BUF_LEN, NULL));
	fault_quiet(c->env.iommu);
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, PSZ, 512, false);
	EXPECT_TRUE(fault_logged(kmsg, c->env.iommu, IOVA_B + PSZ,
				 IOVA_B + PSZ + 512));
	close(kmsg);
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->b.mem, BUF_LEN,
				    IOVA_B));
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, PSZ, 512, true);
}

/* Detached, the device is blocked and nothing stays pinned; reattached, OK. */
TEST_F(edu_cdev, detach_blocks_dma)
{
	struct cdev *c = &self->c;
	__u32 pt_id = c->ioas_id;

	ASSERT_EQ(0, vfio_detach(c->dev.fd));
	EXPECT_PINNED(&c->env, 0);
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 512, false);
	/* Detaching again changes nothing. */
	EXPECT_EQ(0, vfio_detach(c->dev.fd));
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 512, false);
	ASSERT_EQ(0, vfio_attach(c->dev.fd, &pt_id));
	EXPECT_PINNED(&c->env, 2 * BUF_PAGES);
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 512, true);
}

/*
 * Remove the open device through sysfs, as a hot unplug: vfio-pci asks for
 * it back through the request eventfd and waits; we close it and the
 * removal ends.  A child writes "remove", holding no reference to the
 * device (a blocked removal would wait for it).  Then rescan the bus and
 * bind the new device to vfio-pci.
 */
static void remove_and_rescan(struct __test_metadata *_metadata,
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

enum step { END, DETACH, UNBIND, CLOSE_IOMMUFD, REMOVE };

FIXTURE(edu_teardown) {
	struct cdev c;
};

FIXTURE_VARIANT(edu_teardown) {
	enum step steps[3];
};

FIXTURE_VARIANT_ADD(edu_teardown, detach_unbind_close) {
	.steps = { DETACH, UNBIND, CLOSE_IOMMUFD },
};

FIXTURE_VARIANT_ADD(edu_teardown, detach_close_unbind) {
	.steps = { DETACH, CLOSE_IOMMUFD, UNBIND },
};

FIXTURE_VARIANT_ADD(edu_teardown, close_detach_unbind) {
	.steps = { CLOSE_IOMMUFD, DETACH, UNBIND },
};

FIXTURE_VARIANT_ADD(edu_teardown, unbind_close) {
	.steps = { UNBIND, CLOSE_IOMMUFD },
};

FIXTURE_VARIANT_ADD(edu_teardown, close_unbind) {
	.steps = { CLOSE_IOMMUFD, UNBIND },
};

FIXTURE_VARIANT_ADD(edu_teardown, remove_close) {
	.steps = { REMOVE, CLOSE_IOMMUFD },
};

FIXTURE_VARIANT_ADD(edu_teardown, close_remove) {
	.steps = { CLOSE_IOMMUFD, REMOVE },
};

FIXTURE_SETUP(edu_teardown)
{
	const char *why = cdev_setup(_metadata, &self->c, true);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(edu_teardown)
{
	cdev_teardown(_metadata, &self->c);
}

/*
 * After each step: the pages are pinned and charged exactly while the
 * device is attached (a closed /dev/iommu lives on in the bound device),
 * and an open device's DMA lands exactly then.
 */
TEST_F_TIMEOUT(edu_teardown, orders, 120)
{
	struct cdev *c = &self->c;
	bool attached = true;
	unsigned int i;

	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 512, true);
	EXPECT_PINNED(&c->env, 2 * BUF_PAGES);
	for (i = 0; i < ARRAY_SIZE(variant->steps) && variant->steps[i]; i++) {
		switch (variant->steps[i]) {
		case DETACH:
			ASSERT_EQ(0, vfio_detach(c->dev.fd));
			attached = false;
			break;
		case UNBIND:
			edu_close(&c->dev);
			attached = false;
			break;
		case CLOSE_IOMMUFD:
			ASSERT_EQ(0, close(c->iommufd));
			c->iommufd = -1;
			break;
		case REMOVE:
			remove_and_rescan(_metadata, &c->dev);
			attached = false;
			break;
		default:
			break;
		}
		EXPECT_PINNED(&c->env, attached ? 2 * BUF_PAGES : 0);
		if (c->dev.fd >= 0) {
			buf_reset(&c->b);
			dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 512,
				 attached);
		}
	}
	EXPECT_EQ(-1, c->dev.fd);
}

/*
 * The size of the VT-d IOPTE that maps @iova in @bdf's domain, from the
 * page table dump in debugfs (a line per leaf: IOVA_PFN | PML5E PML4E PDPE
 * [PDE [PTE]]): 4 KiB, 2 MiB or 1 GiB; 0 if no IOPTE maps it, -1 if the
 * dump cannot be read (needs CONFIG_INTEL_IOMMU_DEBUGFS).
 */
static long vtd_iopte_size(const char *bdf, __u64 iova)
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

FIXTURE(edu_huge) {
	struct cdev c;
	struct buf h;
};

FIXTURE_VARIANT(edu_huge) {
	bool map_first;
};

FIXTURE_VARIANT_ADD(edu_huge, attach_then_map) {
	.map_first = false,
};

FIXTURE_VARIANT_ADD(edu_huge, map_then_attach) {
	.map_first = true,
};

FIXTURE_SETUP(edu_huge)
{
	struct cdev *c = &self->c;
	const char *why;

	why = cdev_setup(_metadata, c, !variant->map_first);
	if (why)
		SKIP(return, "%s", why);
	if (buf_new(&self->h, HUGE_LEN, 3, IOVA_HUGE, true))
		SKIP(return, "no %lu free 2 MiB hugetlb pages",
		     HUGE_LEN / HUGE_SZ);
	ASSERT_EQ(0, (uintptr_t)self->h.mem % HUGE_SZ);
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, self->h.mem,
				    HUGE_LEN, IOVA_HUGE));
	if (variant->map_first) {
		c->hwpt_id = c->ioas_id;
		ASSERT_EQ(0, vfio_attach(c->dev.fd, &c->hwpt_id));
	}
}

FIXTURE_TEARDOWN(edu_huge)
{
	cdev_teardown(_metadata, &self->c);
	buf_free(&self->h);
}

/*
 * DMA into and out of the hugetlb buffer at its start, across the ends of
 * huge pages, in the middle and at its end; every 2 MiB of it is one IOPTE
 * (checked on VT-d, which shows its page table in debugfs).
 */
TEST_F_TIMEOUT(edu_huge, dma_across_buffer, 90)
{
	static const struct {
		size_t off;
		size_t len;
	} spots[] = {
		{ 0, EDU_XFER },
		{ HUGE_SZ - 1000, 2000 },
		{ HUGE_SZ + 7 * 4096 + 3, 1234 },
		{ 3 * HUGE_SZ - 17, 100 },
		{ HUGE_LEN - 1999, 1999 },
	};
	struct cdev *c = &self->c;
	unsigned int i;
	long size;

	for (i = 0; i < ARRAY_SIZE(spots); i++) {
		dma_copy(_metadata, &c->dev, &c->a, i * 512, &self->h,
			 spots[i].off, spots[i].len, true);
		buf_reset(&c->b);
		dma_copy(_metadata, &c->dev, &self->h, spots[i].off + 11 - i,
			 &c->b, PSZ, 1500, true);
	}
	EXPECT_PINNED(&c->env, 2 * BUF_PAGES + HUGE_LEN / PSZ);
	if (c->env.iommu != VIOMMU_INTEL) {
		TH_LOG("IOPTE sizes not checked: only VT-d shows its page table");
		return;
	}
	for (i = 0; i < HUGE_LEN / HUGE_SZ; i++) {
		size = vtd_iopte_size(c->dev.bdf, IOVA_HUGE + i * HUGE_SZ);
		EXPECT_EQ(HUGE_SZ, size);
		size = vtd_iopte_size(c->dev.bdf,
				      IOVA_HUGE + i * HUGE_SZ + HUGE_SZ - 1);
		EXPECT_EQ(HUGE_SZ, size);
	}
	/* The small buffers: small IOPTEs. */
	EXPECT_EQ(PSZ, vtd_iopte_size(c->dev.bdf, IOVA_A));
	EXPECT_EQ(0, vtd_iopte_size(c->dev.bdf, IOVA_HOLE));
}

/* VFIO type1 container ioctls, as a DPDK-style program issues them. */
static int dma_map(int fd, struct buf *b, __u64 iova)
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

static int dma_unmap(int fd, __u64 iova, __u64 size, __u64 *unmapped)
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

static __u32 group_flags(int group)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };

	if (ioctl(group, VFIO_GROUP_GET_STATUS, &status))
		return ~0U;
	return status.flags;
}

/* VFIO_IOMMU_GET_INFO with its capability chain (malloc()ed), or NULL. */
static struct vfio_iommu_type1_info *iommu_info(int container)
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

static struct vfio_iommu_type1_info_cap_iova_range *
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
static bool in_ranges(struct vfio_iommu_type1_info_cap_iova_range *cap,
		      __u64 start, __u64 last)
{
	__u32 i;

	for (i = 0; i < cap->nr_iovas; i++)
		if (start >= cap->iova_ranges[i].start &&
		    last <= cap->iova_ranges[i].end)
			return true;
	return false;
}

/* The group path: edu's group in a container. */
FIXTURE(edu_group) {
	struct edu_env env;
	struct edu dev;
	int container;
	int group;
	struct buf a;
	struct buf b;
};

FIXTURE_SETUP(edu_group)
{
	char bdf[1][16], path[32];
	const char *why;

	self->dev.fd = -1;
	self->container = -1;
	self->group = -1;
	why = env_setup(_metadata, &self->env, bdf, 1, false);
	if (why)
		SKIP(return, "%s", why);
	edu_init(&self->dev, bdf[0]);
	ASSERT_EQ(0, buf_new(&self->a, BUF_LEN, 1, IOVA_A, false));
	ASSERT_EQ(0, buf_new(&self->b, BUF_LEN, 2, IOVA_B, false));
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_of(bdf[0]));
	self->group = open(path, O_RDWR);
	ASSERT_LE(0, self->group);
	self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container);
}

FIXTURE_TEARDOWN(edu_group)
{
	edu_close(&self->dev);
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
	env_check(_metadata, &self->env);
	buf_free(&self->a);
	buf_free(&self->b);
}

/* The group into @container, IOMMU @type set, the device opened. */
static void group_open(struct __test_metadata *_metadata, int group,
		       int container, unsigned long type, struct edu *e)
{
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(group));
	if (type)
		ASSERT_EQ(0, ioctl(container, VFIO_SET_IOMMU, type));
	e->fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, e->bdf);
	ASSERT_LE(0, e->fd);
	ASSERT_EQ(0, edu_regions(e));
	ASSERT_EQ(EDU_IDENT, edu_ident(e));
}

/*
 * Type1 v2 through /dev/vfio/vfio: the API checks, the IOMMU's page sizes
 * and usable IOVA ranges (without its MSI window), map, DMA, unmap.
 */
TEST_F(edu_group, type1v2)
{
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	struct vfio_iommu_type1_info *info;
	__u64 unmapped = 0;

	EXPECT_EQ(VFIO_API_VERSION, ioctl(self->container,
					  VFIO_GET_API_VERSION));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(self->group));
	group_open(_metadata, self->group, self->container,
		   VFIO_TYPE1v2_IOMMU, &self->dev);

	info = iommu_info(self->container);
	ASSERT_NE(NULL, info);
	EXPECT_TRUE(info->flags & VFIO_IOMMU_INFO_PGSIZES);
	EXPECT_EQ(PSZ, info->iova_pgsizes & -info->iova_pgsizes);
	ranges = info_ranges(info);
	ASSERT_NE(NULL, ranges);
	EXPECT_LE(1, ranges->nr_iovas);
	EXPECT_TRUE(in_ranges(ranges, IOVA_A, IOVA_HUGE + HUGE_LEN - 1));
	EXPECT_FALSE(in_ranges(ranges, viommus[self->env.iommu].msi,
			       viommus[self->env.iommu].msi));
	free(info);

	ASSERT_EQ(0, dma_map(self->container, &self->a, IOVA_A));
	ASSERT_EQ(0, dma_map(self->container, &self->b, IOVA_B));
	EXPECT_PINNED(&self->env, 2 * BUF_PAGES);
	dma_copy(_metadata, &self->dev, &self->a, 100, &self->b, PSZ - 50,
		 EDU_XFER, true);
	/* v2 unmaps whole mappings only. */
	EXPECT_ERRNO(ENOENT, dma_unmap(self->container, IOVA_B, PSZ, NULL));
	buf_reset(&self->b);
	dma_copy(_metadata, &self->dev, &self->a, 0, &self->b, 0, 256, true);
	ASSERT_EQ(0, dma_unmap(self->container, IOVA_B, BUF_LEN, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	EXPECT_PINNED(&self->env, BUF_PAGES);
	buf_reset(&self->b);
	dma_copy(_metadata, &self->dev, &self->a, 0, &self->b, 0, 256, false);
	dma_copy(_metadata, &self->dev, &self->a, 0, &self->a, PSZ, 256, true);
}

/*
 * Type1 v1 maps in small IOPTEs, and unmapping a page from the middle of a
 * mapping works: DMA into that page is dropped, around it the DMA lands.
 */
TEST_F(edu_group, type1v1_partial_unmap)
{
	struct vfio_iommu_type1_info *info;
	__u64 unmapped = 0;
	unsigned int pg;

	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1_IOMMU));
	group_open(_metadata, self->group, self->container, VFIO_TYPE1_IOMMU,
		   &self->dev);
	info = iommu_info(self->container);
	ASSERT_NE(NULL, info);
	EXPECT_EQ(PSZ, info->iova_pgsizes);
	free(info);
	ASSERT_EQ(0, dma_map(self->container, &self->a, IOVA_A));
	ASSERT_EQ(0, dma_map(self->container, &self->b, IOVA_B));

	ASSERT_EQ(0, dma_unmap(self->container, IOVA_B + PSZ, PSZ,
			       &unmapped));
	EXPECT_EQ(PSZ, unmapped);
	EXPECT_PINNED(&self->env, 2 * BUF_PAGES - 1);
	for (pg = 0; pg < BUF_PAGES; pg++) {
		buf_reset(&self->b);
		dma_copy(_metadata, &self->dev, &self->a, 8, &self->b,
			 pg * PSZ + 40, 300, pg != 1);
	}
	/* The rest goes with one unmap over the whole range. */
	ASSERT_EQ(0, dma_unmap(self->container, IOVA_B, BUF_LEN, &unmapped));
	EXPECT_EQ(BUF_LEN - PSZ, unmapped);
	EXPECT_PINNED(&self->env, BUF_PAGES);
}

/*
 * /dev/iommu as the container: the group's device attaches to the compat
 * IOAS (IOMMU_VFIO_IOAS finds it), which IOMMU_IOAS_MAP and the type1
 * ioctls on the same fd both fill.
 */
TEST_F(edu_group, iommufd_container)
{
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	int iommufd = open(IOMMU_DEV, O_RDWR);

	ASSERT_LE(0, iommufd);
	group_open(_metadata, self->group, iommufd, 0, &self->dev);
	ASSERT_EQ(0, ioctl(iommufd, IOMMU_VFIO_IOAS, &vioas));
	ASSERT_EQ(0, ioas_map_fixed(iommufd, vioas.ioas_id, self->a.mem,
				    BUF_LEN, IOVA_A));
	EXPECT_EQ(1, ioctl(iommufd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, ioctl(iommufd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, dma_map(iommufd, &self->b, IOVA_B));
	EXPECT_PINNED(&self->env, 2 * BUF_PAGES);
	dma_copy(_metadata, &self->dev, &self->a, 0, &self->b, 300, 1000, true);
	ASSERT_EQ(0, ioas_unmap(iommufd, vioas.ioas_id, IOVA_B, BUF_LEN, NULL));
	buf_reset(&self->b);
	dma_copy(_metadata, &self->dev, &self->a, 0, &self->b, 300, 1000,
		 false);
	/* The device holds the context; it goes when both are closed. */
	close(iommufd);
	EXPECT_PINNED(&self->env, BUF_PAGES);
}

/* Two edu devices of one IOMMU group. */
FIXTURE(edu_pair) {
	struct edu_env env;
	struct edu dev[2];
	int fds[3];	/* whatever the test opens besides the devices */
	struct buf a;
	struct buf b;
};

FIXTURE_SETUP(edu_pair)
{
	char bdfs[2][16];
	const char *why;
	int i;

	for (i = 0; i < 3; i++)
		self->fds[i] = -1;
	self->dev[0].fd = -1;
	self->dev[1].fd = -1;
	why = env_setup(_metadata, &self->env, bdfs, 2, false);
	if (why)
		SKIP(return, "%s", why);
	edu_init(&self->dev[0], bdfs[0]);
	edu_init(&self->dev[1], bdfs[1]);
	ASSERT_EQ(0, buf_new(&self->a, BUF_LEN, 1, IOVA_A, false));
	ASSERT_EQ(0, buf_new(&self->b, BUF_LEN, 2, IOVA_B, false));
}

FIXTURE_TEARDOWN(edu_pair)
{
	int i;

	edu_close(&self->dev[0]);
	edu_close(&self->dev[1]);
	for (i = 0; i < 3; i++)
		if (self->fds[i] >= 0)
			close(self->fds[i]);
	env_check(_metadata, &self->env);
	EXPECT_EQ(0, bind_vfio_pci(self->dev[1].bdf));
	buf_free(&self->a);
	buf_free(&self->b);
}

/* One group, one container, both devices: both DMA through its mappings. */
TEST_F(edu_pair, group_path)
{
	struct edu *d = self->dev;
	char path[32];
	int group;

	if (!viommus[self->env.iommu].bridged_dma)
		SKIP(return, "QEMU's %s IOMMU drops DMA from behind a PCIe-to-PCI bridge",
		     viommus[self->env.iommu].name);

	snprintf(path, sizeof(path), "/dev/vfio/%d", group_of(d[0].bdf));
	group = open(path, O_RDWR);
	self->fds[0] = group;
	ASSERT_LE(0, group);
	self->fds[1] = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->fds[1]);
	group_open(_metadata, group, self->fds[1], VFIO_TYPE1v2_IOMMU, &d[0]);
	d[1].fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, d[1].bdf);
	ASSERT_LE(0, d[1].fd);
	ASSERT_EQ(0, edu_regions(&d[1]));
	ASSERT_EQ(0, dma_map(self->fds[1], &self->a, IOVA_A));
	ASSERT_EQ(0, dma_map(self->fds[1], &self->b, IOVA_B));
	dma_copy(_metadata, &d[0], &self->a, 0, &self->b, 0, 512, true);
	dma_copy(_metadata, &d[1], &self->a, 512, &self->b, 2 * PSZ, 512,
		 true);
	edu_close(&d[0]);
	dma_copy(_metadata, &d[1], &self->a, 1024, &self->b, 3 * PSZ, 512,
		 true);
	EXPECT_PINNED(&self->env, 2 * BUF_PAGES);
}

/*
 * Bound to one context, the devices share the group's domain: the second
 * cannot attach to another IOAS, and a device stays translated while the
 * other is still attached.
 */
TEST_F(edu_pair, cdev_one_domain)
{
	struct edu *d = self->dev;
	__u32 ioas1, ioas2, pt0, pt1;
	int iommufd;

	if (!viommus[self->env.iommu].bridged_dma)
		SKIP(return, "QEMU's %s IOMMU drops DMA from behind a PCIe-to-PCI bridge",
		     viommus[self->env.iommu].name);

	iommufd = open(IOMMU_DEV, O_RDWR);
	self->fds[0] = iommufd;
	ASSERT_LE(0, iommufd);
	ASSERT_EQ(0, ioas_alloc(iommufd, &ioas1));
	ASSERT_EQ(0, ioas_alloc(iommufd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(iommufd, ioas1, self->a.mem, BUF_LEN,
				    IOVA_A));
	ASSERT_EQ(0, ioas_map_fixed(iommufd, ioas1, self->b.mem, BUF_LEN,
				    IOVA_B));
	ASSERT_EQ(0, cdev_bind(&d[0], iommufd));
	ASSERT_EQ(0, cdev_bind(&d[1], iommufd));
	ASSERT_EQ(0, edu_regions(&d[0]));
	ASSERT_EQ(0, edu_regions(&d[1]));
	pt0 = ioas1;
	ASSERT_EQ(0, vfio_attach(d[0].fd, &pt0));
	pt1 = ioas2;
	EXPECT_ERRNO(EINVAL, vfio_attach(d[1].fd, &pt1));
	pt1 = ioas1;
	ASSERT_EQ(0, vfio_attach(d[1].fd, &pt1));
	EXPECT_EQ(pt0, pt1);
	dma_copy(_metadata, &d[0], &self->a, 0, &self->b, 0, 512, true);
	dma_copy(_metadata, &d[1], &self->a, 0, &self->b, PSZ, 512, true);

	ASSERT_EQ(0, vfio_detach(d[0].fd));
	EXPECT_PINNED(&self->env, 2 * BUF_PAGES);
	buf_reset(&self->b);
	dma_copy(_metadata, &d[0], &self->a, 0, &self->b, 0, 512, true);
	ASSERT_EQ(0, vfio_detach(d[1].fd));
	EXPECT_PINNED(&self->env, 0);
	buf_reset(&self->b);
	dma_copy(_metadata, &d[0], &self->a, 0, &self->b, 0, 512, false);
	dma_copy(_metadata, &d[1], &self->a, 0, &self->b, 0, 512, false);
}

/* The group belongs to one context: the other device cannot bind elsewhere. */
TEST_F(edu_pair, cdev_other_context)
{
	struct edu *d = self->dev;

	self->fds[0] = open(IOMMU_DEV, O_RDWR);
	self->fds[1] = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fds[0]);
	ASSERT_LE(0, self->fds[1]);
	ASSERT_EQ(0, cdev_bind(&d[0], self->fds[0]));
	EXPECT_ERRNO(EPERM, cdev_bind(&d[1], self->fds[1]));
	edu_close(&d[1]);
	/* Once the first lets go, the group is free for the other context. */
	edu_close(&d[0]);
	EXPECT_EQ(0, cdev_bind(&d[1], self->fds[1]));
}

/* Binding needs isolated MSIs, which virtio-iommu does not provide. */
FIXTURE(edu_msi) {
	struct cdev c;
	int unsafe;
};

FIXTURE_SETUP(edu_msi)
{
	struct cdev *c = &self->c;
	char bdf[1][16];
	const char *why;

	c->dev.fd = -1;
	c->iommufd = -1;
	self->unsafe = -1;
	why = env_setup(_metadata, &c->env, bdf, 1, true);
	if (why)
		SKIP(return, "%s", why);
	edu_init(&c->dev, bdf[0]);
	ASSERT_EQ(0, buf_new(&c->a, BUF_LEN, 1, IOVA_A, false));
	ASSERT_EQ(0, buf_new(&c->b, BUF_LEN, 2, IOVA_B, false));
	c->iommufd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, c->iommufd);
	ASSERT_EQ(0, ioas_alloc(c->iommufd, &c->ioas_id));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->a.mem, BUF_LEN,
				    IOVA_A));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->b.mem, BUF_LEN,
				    IOVA_B));
	self->unsafe = unsafe_irqs_get();
	ASSERT_LE(0, self->unsafe);
	ASSERT_EQ(0, unsafe_irqs_set(0));
}

FIXTURE_TEARDOWN(edu_msi)
{
	if (self->unsafe >= 0)
		EXPECT_EQ(0, unsafe_irqs_set(self->unsafe));
	cdev_teardown(_metadata, &self->c);
}

/*
 * With interrupt remapping (VT-d, AMD-Vi) or the GIC ITS (SMMUv3) the
 * device binds as it is; behind virtio-iommu only with
 * allow_unsafe_interrupts (EPERM without).  Then DMA works.
 */
TEST_F(edu_msi, bind_needs_isolated_msi)
{
	struct cdev *c = &self->c;

	c->dev.fd = cdev_open(c->dev.bdf);
	ASSERT_LE(0, c->dev.fd);
	if (c->env.iommu == VIOMMU_VIRTIO) {
		EXPECT_ERRNO(EPERM, vfio_bind(c->dev.fd, c->iommufd, NULL));
		ASSERT_EQ(0, unsafe_irqs_set(1));
	}
	ASSERT_EQ(0, vfio_bind(c->dev.fd, c->iommufd, NULL));
	c->hwpt_id = c->ioas_id;
	ASSERT_EQ(0, vfio_attach(c->dev.fd, &c->hwpt_id));
	ASSERT_EQ(0, edu_regions(&c->dev));
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 1024, true);
}

/*
 * Replace: the last fixture, because on virtio-iommu it oopses the kernel
 * (the new domain is filled before its first attach; 6.12's virtio-iommu
 * driver cannot map into such a domain and crashes unwinding the map).
 */
FIXTURE(edu_replace) {
	struct cdev c;
};

FIXTURE_SETUP(edu_replace)
{
	const char *why = cdev_setup(_metadata, &self->c, true);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(edu_replace)
{
	cdev_teardown(_metadata, &self->c);
}

/*
 * Attached to a second IOAS that has the same memory at other IOVAs, with
 * no detach in between: DMA works through the new IOVAs and not the old,
 * and only the new IOAS's pages stay pinned.  And back.
 */
TEST_F(edu_replace, hitless)
{
	struct cdev *c = &self->c;
	__u32 ioas2, pt_id;

	ASSERT_EQ(0, ioas_alloc(c->iommufd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, ioas2, c->a.mem, BUF_LEN,
				    IOVA_C));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, ioas2, c->b.mem, BUF_LEN,
				    IOVA_D));
	pt_id = ioas2;
	ASSERT_EQ(0, vfio_attach(c->dev.fd, &pt_id));
	EXPECT_NE(c->hwpt_id, pt_id);
	EXPECT_PINNED(&c->env, 2 * BUF_PAGES);

	c->a.iova = IOVA_C;
	c->b.iova = IOVA_D;
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 1024, true);
	buf_reset(&c->b);
	c->b.iova = IOVA_B;
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 1024, false);

	pt_id = c->ioas_id;
	ASSERT_EQ(0, vfio_attach(c->dev.fd, &pt_id));
	EXPECT_PINNED(&c->env, 2 * BUF_PAGES);
	c->a.iova = IOVA_A;
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 1024, true);
	buf_reset(&c->b);
	c->b.iova = IOVA_D;
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 1024, false);
	c->b.iova = IOVA_B;
	/* The second IOAS is idle again and can go. */
	EXPECT_EQ(0, object_destroy(c->iommufd, ioas2));
}

TEST_HARNESS_MAIN
