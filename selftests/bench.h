/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The workloads of "make bench" (issue 10), shared by bench.c, the program
 * that prints the figures, and bench_smoke.c, the kselftest that runs every
 * workload at tiny sizes in make check so that none rots.
 *
 * Each workload group (struct bench_group) prints one line per figure:
 *
 *	BENCH <name> <value> <unit> <higher|lower>
 *	BENCH <name> n/a <unit> <higher|lower> <why>
 *
 * "higher" or "lower" says which is better.  The same program runs on our
 * kernel, the package's (upstream iommufd) and the type1 one (VFIO's own
 * container): the device-attached groups drive /dev/iommu with edu bound
 * through its cdev, or, where /dev/vfio/vfio is VFIO's type1 container,
 * that container with edu's group (VFIO_TYPE1v2_IOMMU), on the same sizes
 * and the same kinds of memory.  The in-kernel access groups go through
 * the mock access of the test ABI on an IOAS with no domain; on the type1
 * kernel /dev/iommu is ours, so they say n/a there.  The raw pin limit is
 * mm's /sys/kernel/debug/gup_test (CONFIG_GUP_TEST), PIN_LONGTERM_BENCHMARK
 * over the same buffers.
 */
#ifndef __IOMMUFD_SELFTEST_BENCH_H
#define __IOMMUFD_SELFTEST_BENCH_H

#include <pthread.h>
#include <stdarg.h>
#include <mm/gup_test.h>

#include "vfio_edu.h"

#define MIB (1024UL * 1024)
#define HPAGE (2 * MIB)
/* FOLL_WRITE of include/linux/mm_types.h, as mm's gup_test.c has it */
#define BENCH_FOLL_WRITE 0x01
#define GUP_TEST_FILE "/sys/kernel/debug/gup_test"
#define TYPE1_ENTRY_LIMIT "/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"
#define HUGE_NR "/proc/sys/vm/nr_hugepages"
#define HUGE_FREE "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"

/*
 * IOVAs: the big buffers at 1 GiB (inside the mock domain's aperture,
 * below 2 GiB, clear of the MSI window at 0xfee00000); the existing areas
 * of the level workload in an allowed range of their own, and its
 * fixed-IOVA probe above that range.
 */
#define GIB (1024ULL * MIB)
#define IOVA_BASE GIB
#define AREA_BASE (4 * GIB)
#define AREA_SPAN (2 * GIB)
#define PROBE_IOVA (AREA_BASE + AREA_SPAN + GIB)
/* Pages the many-area workloads map again and again (refcounts stay low) */
#define POOL_PAGES 1024
/* Pins held at once by the access workload: the mock's list stays short */
#define ACCESS_BATCH 256

struct bench_cfg {
	size_t size;		/* the big buffers, bytes */
	size_t piece;		/* the big access piece, bytes */
	unsigned int areas;	/* separate areas mapped, then unmapped */
	unsigned int levels[3];	/* existing areas of the per-op rows */
	unsigned int pairs;	/* map+unmap pairs per pair row */
	unsigned int probes;	/* pairs measured at each level */
};

/* make bench's sizes, and the smoke run's */
static const struct bench_cfg bench_full = {
	.size = 512 * MIB, .piece = 16 * MIB, .areas = 8000,
	.levels = { 1000, 10000, 100000 }, .pairs = 20000, .probes = 1000,
};

static const struct bench_cfg bench_tiny = {
	.size = 4 * MIB, .piece = 1 * MIB, .areas = 64,
	.levels = { 16, 64, 256 }, .pairs = 64, .probes = 16,
};

/* Lines printed so far, and the prefix of each ("# " in the smoke run). */
static unsigned int bench_lines;
static const char *bench_prefix = "";

static inline void bench_out(const char *fmt, ...)
{
	va_list ap;

	printf("%s", bench_prefix);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static inline void bench_row(const char *name, double val, const char *unit,
			     bool higher)
{
	bench_out("BENCH %s %.6g %s %s\n", name, val, unit,
		  higher ? "higher" : "lower");
	bench_lines++;
}

static inline void bench_na(const char *name, const char *unit, bool higher,
			    const char *why)
{
	bench_out("BENCH %s n/a %s %s %s\n", name, unit,
		  higher ? "higher" : "lower", why);
	bench_lines++;
}

/* What failed, with errno; the group's return value. */
static inline int bench_fail(const char *what)
{
	bench_out("BENCH-ERROR %s: %s\n", what, strerror(errno));
	return -1;
}

static inline __u64 now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

static inline double mib_per_s(size_t bytes, __u64 ns)
{
	return ns ? (double)bytes / MIB * 1e9 / ns : 0;
}

static inline double per_s(unsigned long ops, __u64 ns)
{
	return ns ? ops * 1e9 / ns : 0;
}

/* "1k" for 1000, "64" for 64: the level in a row's name */
static inline const char *count_label(unsigned int n, char *buf, size_t size)
{
	if (n >= 1000 && !(n % 1000))
		snprintf(buf, size, "%uk", n / 1000);
	else
		snprintf(buf, size, "%u", n);
	return buf;
}

/*
 * The kinds of memory of the big maps: 4 KiB pages in scattered physical
 * order (faulted in a shuffled order, THP off), THP (2 MiB aligned,
 * MADV_HUGEPAGE) and 2 MiB hugetlb pages.
 */
enum mem_kind { MEM_4K, MEM_THP, MEM_HUGE, MEM_KINDS };
static const char *const mem_names[MEM_KINDS] = { "4k", "thp", "huge" };

/* Enough free 2 MiB hugetlb pages for @bytes; the pool only grows. */
static inline int huge_reserve(size_t bytes)
{
	char text[32];
	long nr, free_pages, need = bytes / HPAGE;

	if (read_file(HUGE_NR, text, sizeof(text)))
		return -1;
	nr = atol(text);
	if (read_file(HUGE_FREE, text, sizeof(text)))
		return -1;
	free_pages = atol(text);
	if (free_pages >= need)
		return 0;
	snprintf(text, sizeof(text), "%ld", nr + need - free_pages);
	if (write_file(HUGE_NR, text) || read_file(HUGE_FREE, text, sizeof(text)))
		return -1;
	if (atol(text) < need) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* Touch the 4 KiB pages of [p, +size) in a shuffled order. */
static inline int touch_scattered(char *p, size_t size)
{
	size_t n = size / PSZ, i, j;
	unsigned int *order = malloc(n * sizeof(*order));
	unsigned long long x = 88172645463325252ULL;

	if (!order)
		return -1;
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		unsigned int t;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = x % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (i = 0; i < n; i++)
		memset(p + (size_t)order[i] * PSZ, (int)(i | 1), PSZ);
	free(order);
	return 0;
}

/* @size bytes of memory of @kind, every page present; NULL on failure. */
static inline void *mem_get(enum mem_kind kind, size_t size)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	char *p, *q;

	switch (kind) {
	case MEM_4K:
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		if (madvise(p, size, MADV_NOHUGEPAGE) || touch_scattered(p, size)) {
			munmap(p, size);
			return NULL;
		}
		return p;
	case MEM_THP:
		/* 2 MiB aligned: the slack around it is unmapped again */
		p = mmap(NULL, size + HPAGE, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		q = (char *)(((uintptr_t)p + HPAGE - 1) & ~(HPAGE - 1));
		if (q != p)
			munmap(p, q - p);
		munmap(q + size, p + HPAGE - q);
		if (madvise(q, size, MADV_HUGEPAGE)) {
			munmap(q, size);
			return NULL;
		}
		memset(q, 0x5a, size);
		return q;
	case MEM_HUGE:
		if (huge_reserve(size))
			return NULL;
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 flags | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		memset(p, 0x5a, size);
		return p;
	default:
		errno = EINVAL;
		return NULL;
	}
}

/*
 * The device side: edu on vfio-pci, either bound to /dev/iommu through its
 * cdev and attached to an IOAS (a domain of the VM's IOMMU, automatic), or
 * with its group in a VFIO type1 v2 container where /dev/vfio/vfio is
 * VFIO's own.
 */
struct bench_dev {
	bool type1;
	int fd;		/* /dev/iommu, or the container */
	int devfd;	/* the cdev */
	int group;
	__u32 ioas;
	char bdf[16];
};

/* Is /dev/vfio/vfio VFIO's own type1 container (not iommufd's)? */
static inline bool bench_type1(void)
{
	static int type1 = -1;
	int fd;

	if (type1 < 0) {
		fd = open(VFIO_CONTAINER, O_RDWR);
		type1 = fd >= 0 && !container_is_iommufd();
		if (fd >= 0)
			close(fd);
	}
	return type1;
}

/* Does the VM have an edu we can use (alone in its group)? */
static inline bool bench_have_dev(char *bdf)
{
	char bdfs[1][16];

	if (!edu_find(bdfs, 1))
		return false;
	memcpy(bdf, bdfs[0], 16);
	return true;
}

static inline void dev_close(struct bench_dev *d)
{
	if (d->devfd >= 0)
		close(d->devfd);
	if (d->group >= 0)
		close(d->group);
	if (d->fd >= 0)
		close(d->fd);
	d->devfd = -1;
	d->group = -1;
	d->fd = -1;
}

static inline int dev_open(struct bench_dev *d)
{
	char path[32];
	__u32 pt;

	*d = (struct bench_dev){ .fd = -1, .devfd = -1, .group = -1,
				 .type1 = bench_type1() };
	if (!bench_have_dev(d->bdf)) {
		errno = ENODEV;
		return bench_fail("no edu alone in an IOMMU group");
	}
	if (d->type1) {
		snprintf(path, sizeof(path), "/dev/vfio/%d", group_of(d->bdf));
		d->group = open(path, O_RDWR);
		d->fd = open(VFIO_CONTAINER, O_RDWR);
		if (d->group < 0 || d->fd < 0 ||
		    ioctl(d->group, VFIO_GROUP_SET_CONTAINER, &d->fd) ||
		    ioctl(d->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
			dev_close(d);
			return bench_fail("edu's group in a type1 v2 container");
		}
		/* U16_MAX by default: the 100k-area rows need more */
		write_file(TYPE1_ENTRY_LIMIT, "1000000");
		return 0;
	}
	d->fd = open(IOMMU_DEV, O_RDWR);
	if (d->fd < 0 || ioas_alloc(d->fd, &d->ioas)) {
		dev_close(d);
		return bench_fail("an IOAS on /dev/iommu");
	}
	d->devfd = cdev_open(d->bdf);
	pt = d->ioas;
	if (d->devfd < 0 || vfio_bind(d->devfd, d->fd, NULL) ||
	    vfio_attach(d->devfd, &pt)) {
		dev_close(d);
		return bench_fail("edu's cdev bound and attached to the IOAS");
	}
	return 0;
}

static inline int dev_map(struct bench_dev *d, void *p, size_t len, __u64 iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)p,
		.iova = iova,
		.size = len,
	};

	if (d->type1)
		return ioctl(d->fd, VFIO_IOMMU_MAP_DMA, &map);
	return ioas_map_fixed(d->fd, d->ioas, p, len, iova);
}

/* The kernel picks the IOVA (iommufd only). */
static inline int dev_map_auto(struct bench_dev *d, void *p, size_t len,
			       __u64 *iova)
{
	return ioas_map(d->fd, d->ioas, p, len, iova, MAP_RW);
}

static inline int dev_unmap(struct bench_dev *d, __u64 iova, size_t len)
{
	if (d->type1)
		return dma_unmap(d->fd, iova, len, NULL);
	return ioas_unmap(d->fd, d->ioas, iova, len, NULL);
}

/* Time @n 4 KiB map+unmap pairs at @iova of page @p, ns; 0 on failure. */
static inline __u64 dev_pairs(struct bench_dev *d, void *p, __u64 iova,
			      unsigned int n, bool automatic)
{
	__u64 t0 = now_ns(), at;
	unsigned int i;

	for (i = 0; i < n; i++) {
		at = iova;
		if (automatic ? dev_map_auto(d, p, PSZ, &at) :
				dev_map(d, p, PSZ, at))
			return 0;
		if (dev_unmap(d, at, PSZ))
			return 0;
	}
	return now_ns() - t0 ?: 1;
}

/*
 * Kernel memory that mappings cost: slab, vmalloc and IOMMU page-table
 * pages, in KiB (the vm counters folded first).
 */
struct kmem {
	long slab, vmalloc, iommu;
};

static inline long vmstat_pages(const char *name)
{
	char key[64];
	long val, found = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			found = val;
	fclose(f);
	return found;
}

static inline void kmem_read(struct kmem *m)
{
	long kib = PSZ / 1024;

	write_file("/proc/sys/vm/stat_refresh", "1");
	m->slab = (vmstat_pages("nr_slab_reclaimable") +
		   vmstat_pages("nr_slab_unreclaimable")) * kib;
	m->vmalloc = meminfo_kb("VmallocUsed");
	m->iommu = vmstat_pages("nr_iommu_pages") * kib;
}

/*
 * mm's pin benchmark: PIN_LONGTERM_BENCHMARK (pin_user_pages with
 * FOLL_LONGTERM | FOLL_WRITE) over [p, +size), @per_call pages per call;
 * the kernel's own timing of the pins and of the unpins, in ns.
 */
static inline int gup_bench(void *p, size_t size, unsigned int per_call,
			    __u64 *pin_ns, __u64 *unpin_ns)
{
	struct gup_test gup = {
		.addr = (uintptr_t)p,
		.size = size,
		.nr_pages_per_call = per_call,
		.gup_flags = BENCH_FOLL_WRITE,
	};
	int fd = open(GUP_TEST_FILE, O_RDWR), rc;

	if (fd < 0)
		return -1;
	rc = ioctl(fd, PIN_LONGTERM_BENCHMARK, &gup);
	close(fd);
	if (rc)
		return -1;
	if (gup.size != size) {
		errno = EFAULT;
		return -1;
	}
	*pin_ns = gup.get_delta_usec * 1000 ?: 1;
	*unpin_ns = gup.put_delta_usec * 1000 ?: 1;
	return 0;
}

/*
 * The groups, each a function printing its rows; 0, or -1 on failure.  A
 * group that fails may leave its files and memory behind: each runs in a
 * process of its own (bench.c forks, the kselftest harness too).
 */
typedef int (*bench_fn)(const struct bench_cfg *cfg);

/*
 * In-kernel access (the path of mdev/vGPU drivers): iommufd_access_pin_pages,
 * unpin over the whole buffer and iommufd_access_rw over its first 32 MiB
 * (ACCESS_RW_BYTES), in pieces of
 * cfg->piece and of one page, through the mock access on an IOAS with no
 * domain (so the pins come from user memory each time).  Our mock checks
 * each pinned page against user memory (a second walk of the user's page
 * tables, about the cost of the pin), so the pin rows cannot pass half the
 * GUP limit on our kernel.
 */
/* How much of the buffer the rw rows copy (at least one piece). */
#define ACCESS_RW_BYTES (32UL << 20)

static inline int access_piece(int fd, int afd, char *buf, size_t size,
			       size_t piece, const char *label)
{
	__u32 ids[ACCESS_BATCH];
	__u64 pin = 0, unpin = 0, rw = 0, t0;
	size_t off, n, i, count = size / piece, rw_count;
	char name[48], *bounce;

	bounce = mem_get(MEM_4K, piece);
	if (!bounce)
		return bench_fail("access bounce buffer");
	for (off = 0; off < count; off += n) {
		n = count - off < ACCESS_BATCH ? count - off : ACCESS_BATCH;
		t0 = now_ns();
		for (i = 0; i < n; i++)
			if (access_pages(fd, afd, MOCK_FLAGS_ACCESS_WRITE,
					 IOVA_BASE + (off + i) * piece, piece,
					 buf + (off + i) * piece, &ids[i]))
				return bench_fail("access pin");
		pin += now_ns() - t0;
		t0 = now_ns();
		for (i = 0; i < n; i++)
			if (destroy_access_pages(fd, afd, ids[i]))
				return bench_fail("access unpin");
		unpin += now_ns() - t0;
	}
	/* rw: half the pieces written to the IOVA, half read back */
	/* Copies run at TCG's byte-by-byte rep movs: a part is enough. */
	rw_count = (ACCESS_RW_BYTES + piece - 1) / piece;
	if (rw_count > count)
		rw_count = count;
	t0 = now_ns();
	for (off = 0; off < rw_count; off++)
		if (access_rw(fd, afd, IOVA_BASE + off * piece, bounce, piece,
			      off & 1 ? 0 : MOCK_ACCESS_RW_WRITE))
			return bench_fail("access rw");
	rw = now_ns() - t0;
	munmap(bounce, piece);
	snprintf(name, sizeof(name), "access_pin_%s", label);
	bench_row(name, mib_per_s(count * piece, pin), "MiB/s", true);
	snprintf(name, sizeof(name), "access_unpin_%s", label);
	bench_row(name, mib_per_s(count * piece, unpin), "MiB/s", true);
	snprintf(name, sizeof(name), "access_rw_%s", label);
	bench_row(name, mib_per_s(rw_count * piece, rw), "MiB/s", true);
	return 0;
}

static const char *const access_rows[] = {
	"access_pin_16m", "access_unpin_16m", "access_rw_16m",
	"access_pin_page", "access_unpin_page", "access_rw_page",
};

static inline int bench_access(const struct bench_cfg *cfg)
{
	size_t piece = cfg->piece < cfg->size ? cfg->piece : cfg->size;
	int fd = -1, afd = -1, rc = -1;
	unsigned int i;
	__u32 ioas;
	char *buf;

	if (bench_type1()) {
		for (i = 0; i < ARRAY_SIZE(access_rows); i++)
			bench_na(access_rows[i], "MiB/s", true,
				 "type1-kernel: /dev/iommu there is ours, VFIO type1 has no access to drive");
		return 0;
	}
	buf = mem_get(MEM_4K, cfg->size);
	if (!buf)
		return bench_fail("access buffer");
	fd = open(IOMMU_DEV, O_RDWR);
	if (fd < 0 || ioas_alloc(fd, &ioas) ||
	    ioas_map_fixed(fd, ioas, buf, cfg->size, IOVA_BASE) ||
	    create_access(fd, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
			  &afd)) {
		bench_fail("an IOAS with the buffer mapped and a mock access");
		goto out;
	}
	if (!access_piece(fd, afd, buf, cfg->size, piece, "16m") &&
	    !access_piece(fd, afd, buf, cfg->size, PSZ, "page"))
		rc = 0;
out:
	if (afd >= 0)
		close(afd);
	if (fd >= 0)
		close(fd);
	munmap(buf, cfg->size);
	return rc;
}

/* 4 KiB map+unmap pairs on an IOAS with no domain (nothing pinned). */
static inline int bench_nodomain(const struct bench_cfg *cfg)
{
	struct bench_dev d = { .fd = -1, .devfd = -1, .group = -1 };
	char *page;
	__u64 ns;

	if (bench_type1()) {
		bench_na("nodomain_pair_4k", "pairs/s", true,
			 "type1-kernel: VFIO type1 maps only with a group attached");
		return 0;
	}
	page = mem_get(MEM_4K, PSZ);
	d.fd = open(IOMMU_DEV, O_RDWR);
	if (!page || d.fd < 0 || ioas_alloc(d.fd, &d.ioas))
		return bench_fail("an IOAS");
	ns = dev_pairs(&d, page, IOVA_BASE, cfg->pairs, false);
	close(d.fd);
	munmap(page, PSZ);
	if (!ns)
		return bench_fail("4 KiB map+unmap with no domain");
	bench_row("nodomain_pair_4k", per_s(cfg->pairs, ns), "pairs/s", true);
	return 0;
}

/* The raw pin limit on each kind of memory, 16 MiB and one page per call. */
static inline int bench_gup(const struct bench_cfg *cfg)
{
	unsigned int per_call = (cfg->piece < cfg->size ? cfg->piece : cfg->size) / PSZ;
	__u64 pin, unpin;
	char name[48];
	int kind;
	void *p;

	if (access(GUP_TEST_FILE, F_OK)) {
		for (kind = 0; kind < MEM_KINDS; kind++) {
			snprintf(name, sizeof(name), "gup_pin_%s", mem_names[kind]);
			bench_na(name, "MiB/s", true, "no " GUP_TEST_FILE " (CONFIG_GUP_TEST)");
		}
		bench_na("gup_pin_page", "MiB/s", true, "no " GUP_TEST_FILE);
		return 0;
	}
	for (kind = 0; kind < MEM_KINDS; kind++) {
		p = mem_get(kind, cfg->size);
		if (!p)
			return bench_fail(mem_names[kind]);
		if (gup_bench(p, cfg->size, per_call, &pin, &unpin))
			return bench_fail("PIN_LONGTERM_BENCHMARK");
		snprintf(name, sizeof(name), "gup_pin_%s", mem_names[kind]);
		bench_row(name, mib_per_s(cfg->size, pin), "MiB/s", true);
		snprintf(name, sizeof(name), "gup_unpin_%s", mem_names[kind]);
		bench_row(name, mib_per_s(cfg->size, unpin), "MiB/s", true);
		if (kind == MEM_4K) {
			if (gup_bench(p, cfg->size, 1, &pin, &unpin))
				return bench_fail("PIN_LONGTERM_BENCHMARK, one page per call");
			bench_row("gup_pin_page", mib_per_s(cfg->size, pin),
				  "MiB/s", true);
		}
		munmap(p, cfg->size);
	}
	return 0;
}

/*
 * Device attached: map and unmap the whole buffer in one call, on each
 * kind of memory; on the 4 KiB one also what the mapping costs in kernel
 * memory, per GiB mapped.
 */
static inline int bench_map(const struct bench_cfg *cfg)
{
	struct kmem before, after;
	struct bench_dev d;
	__u64 t0, map, unmap;
	char name[48];
	double per_gib = (double)GIB / cfg->size;
	int kind;
	void *p;

	for (kind = 0; kind < MEM_KINDS; kind++) {
		p = mem_get(kind, cfg->size);
		if (!p)
			return bench_fail(mem_names[kind]);
		if (dev_open(&d))
			return -1;
		kmem_read(&before);
		t0 = now_ns();
		if (dev_map(&d, p, cfg->size, IOVA_BASE))
			return bench_fail("map");
		map = now_ns() - t0;
		kmem_read(&after);
		t0 = now_ns();
		if (dev_unmap(&d, IOVA_BASE, cfg->size))
			return bench_fail("unmap");
		unmap = now_ns() - t0;
		dev_close(&d);
		munmap(p, cfg->size);
		snprintf(name, sizeof(name), "map_%s", mem_names[kind]);
		bench_row(name, mib_per_s(cfg->size, map), "MiB/s", true);
		snprintf(name, sizeof(name), "unmap_%s", mem_names[kind]);
		bench_row(name, mib_per_s(cfg->size, unmap), "MiB/s", true);
		if (kind != MEM_4K)
			continue;
		bench_row("kmem_per_gib",
			  per_gib * (after.slab - before.slab + after.vmalloc -
				     before.vmalloc + after.iommu - before.iommu),
			  "KiB/GiB", false);
		bench_row("kmem_iommu_pt_per_gib",
			  per_gib * (after.iommu - before.iommu), "KiB/GiB",
			  false);
	}
	return 0;
}

/* Can a mock domain be made at all (on a fresh IOAS of a fresh context)? */
static inline bool mock_domain_works(void)
{
	int fd = open(IOMMU_DEV, O_RDWR);
	bool works;
	__u32 ioas;

	works = fd >= 0 && !ioas_alloc(fd, &ioas) &&
		!mock_domain(fd, ioas, NULL, NULL, NULL);
	if (fd >= 0)
		close(fd);
	return works;
}

/*
 * Two domains on one IOAS: the VT-d one of edu and a mock domain (another
 * IOMMU, so a second page table to fill); the map's time over the
 * one-domain map's, measured just before on the same buffer.
 */
static inline int bench_twodom(const struct bench_cfg *cfg)
{
	__u64 t0, one, two, unmap;
	const char *why;
	struct bench_dev d;
	__u32 stdev;
	void *p;

	why = bench_type1() ? "type1-kernel: no mock domain" :
	      !mock_domain_works() ? "this kernel's mock domain refuses our MOCK_DOMAIN" :
	      NULL;
	if (why) {
		bench_na("map_2dom_4k", "MiB/s", true, why);
		bench_na("unmap_2dom_4k", "MiB/s", true, why);
		bench_na("map_2dom_cost", "x", false, why);
		return 0;
	}
	p = mem_get(MEM_4K, cfg->size);
	if (!p)
		return bench_fail("4k buffer");
	if (dev_open(&d))
		return -1;
	t0 = now_ns();
	if (dev_map(&d, p, cfg->size, IOVA_BASE))
		return bench_fail("map, one domain");
	one = now_ns() - t0;
	if (dev_unmap(&d, IOVA_BASE, cfg->size) ||
	    mock_domain(d.fd, d.ioas, &stdev, NULL, NULL))
		return bench_fail("unmap, then a mock domain on the IOAS");
	t0 = now_ns();
	if (dev_map(&d, p, cfg->size, IOVA_BASE))
		return bench_fail("map, two domains");
	two = now_ns() - t0;
	t0 = now_ns();
	if (dev_unmap(&d, IOVA_BASE, cfg->size))
		return bench_fail("unmap, two domains");
	unmap = now_ns() - t0;
	object_destroy(d.fd, stdev);
	dev_close(&d);
	munmap(p, cfg->size);
	bench_row("map_2dom_4k", mib_per_s(cfg->size, two), "MiB/s", true);
	bench_row("unmap_2dom_4k", mib_per_s(cfg->size, unmap), "MiB/s", true);
	bench_row("map_2dom_cost", (double)two / one, "x", false);
	return 0;
}

/* 4 KiB map+unmap pairs with the device attached (the DPDK pattern). */
static inline int bench_pairs(const struct bench_cfg *cfg)
{
	struct bench_dev d;
	void *page = mem_get(MEM_4K, PSZ);
	__u64 ns;

	if (!page)
		return bench_fail("a page");
	if (dev_open(&d))
		return -1;
	ns = dev_pairs(&d, page, IOVA_BASE, cfg->pairs, false);
	dev_close(&d);
	munmap(page, PSZ);
	if (!ns)
		return bench_fail("4 KiB map+unmap");
	bench_row("dev_pair_4k", per_s(cfg->pairs, ns), "pairs/s", true);
	return 0;
}

/* cfg->areas separate 4 KiB areas mapped, then unmapped one by one. */
static inline int areas_run(struct bench_dev *d, char *pool, unsigned int n,
			    bool automatic)
{
	const char *how = automatic ? "auto" : "fixed";
	__u64 *iovas = calloc(n, sizeof(*iovas)), t0, map, unmap;
	unsigned int i;
	char name[48];

	if (!iovas)
		return bench_fail("IOVA array");
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		iovas[i] = IOVA_BASE + (__u64)i * PSZ;
		if (automatic ? dev_map_auto(d, pool + (size_t)i * PSZ, PSZ, &iovas[i]) :
				dev_map(d, pool + (size_t)i * PSZ, PSZ, iovas[i]))
			return bench_fail("map of one area");
	}
	map = now_ns() - t0;
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if (dev_unmap(d, iovas[i], PSZ))
			return bench_fail("unmap of one area");
	unmap = now_ns() - t0;
	free(iovas);
	snprintf(name, sizeof(name), "areas_map_%s", how);
	bench_row(name, per_s(n, map), "ops/s", true);
	snprintf(name, sizeof(name), "areas_unmap_%s", how);
	bench_row(name, per_s(n, unmap), "ops/s", true);
	return 0;
}

static inline int bench_areas(const struct bench_cfg *cfg)
{
	char *pool = mem_get(MEM_4K, (size_t)cfg->areas * PSZ);
	struct bench_dev d;
	int rc;

	if (!pool)
		return bench_fail("area pages");
	if (dev_open(&d))
		return -1;
	rc = areas_run(&d, pool, cfg->areas, false);
	if (!rc && d.type1) {
		bench_na("areas_map_auto", "ops/s", true, "type1: no automatic IOVA");
		bench_na("areas_unmap_auto", "ops/s", true, "type1: no automatic IOVA");
	} else if (!rc) {
		rc = areas_run(&d, pool, cfg->areas, true);
	}
	dev_close(&d);
	munmap(pool, (size_t)cfg->areas * PSZ);
	return rc;
}

/*
 * The cost of one 4 KiB map+unmap pair with 1k, 10k and 100k areas
 * already mapped: contiguous 4 KiB areas from AREA_BASE (on iommufd the
 * only range automatic IOVAs may use, so an allocator has to get past
 * them), pairs at a fixed IOVA above them and, on iommufd, at automatic
 * ones; then the cost at the last level over the first, and the kernel
 * memory an existing area takes (slab, vmalloc, IOMMU page tables).
 */
static inline int bench_levels(const struct bench_cfg *cfg)
{
	struct iommu_iova_range allowed = {
		.start = AREA_BASE, .last = AREA_BASE + AREA_SPAN - 1,
	};
	double cost[2][3] = { { 0 } };
	struct kmem before, after;
	unsigned int done = 0, l, a;
	char name[64], lb[16], lb0[16];
	struct bench_dev d;
	char *pool;
	__u64 ns;

	pool = mem_get(MEM_4K, POOL_PAGES * PSZ);
	if (!pool)
		return bench_fail("area pages");
	if (dev_open(&d))
		return -1;
	if (!d.type1 && ioas_allow_iovas(d.fd, d.ioas, &allowed, 1))
		return bench_fail("IOMMU_IOAS_ALLOW_IOVAS");
	kmem_read(&before);
	for (l = 0; l < 3; l++) {
		for (; done < cfg->levels[l]; done++)
			if (dev_map(&d, pool + (done % POOL_PAGES) * PSZ, PSZ,
				    AREA_BASE + (__u64)done * PSZ))
				return bench_fail("map of an existing area");
		count_label(cfg->levels[l], lb, sizeof(lb));
		for (a = 0; a < 2; a++) {
			snprintf(name, sizeof(name), "pair_%s_at_%s",
				 a ? "auto" : "fixed", lb);
			if (a && d.type1) {
				bench_na(name, "ns/pair", false, "type1: no automatic IOVA");
				continue;
			}
			ns = dev_pairs(&d, pool, PROBE_IOVA, cfg->probes, a);
			if (!ns)
				return bench_fail("map+unmap among existing areas");
			cost[a][l] = (double)ns / cfg->probes;
			bench_row(name, cost[a][l], "ns/pair", false);
		}
	}
	kmem_read(&after);
	if (dev_unmap(&d, AREA_BASE, (size_t)done * PSZ))
		return bench_fail("unmap of the existing areas");
	bench_row("kmem_per_area", 1024.0 * (after.slab - before.slab +
					    after.vmalloc - before.vmalloc +
					    after.iommu - before.iommu) / done,
		  "bytes", false);
	dev_close(&d);
	munmap(pool, POOL_PAGES * PSZ);
	count_label(cfg->levels[0], lb0, sizeof(lb0));
	count_label(cfg->levels[2], lb, sizeof(lb));
	for (a = 0; a < 2; a++) {
		snprintf(name, sizeof(name), "pair_%s_%s_vs_%s",
			 a ? "auto" : "fixed", lb, lb0);
		if (a && d.type1)
			bench_na(name, "x", false, "type1: no automatic IOVA");
		else
			bench_row(name, cost[a][2] / cost[a][0], "x", false);
	}
	return 0;
}

/* Two threads doing 4 KiB map+unmap pairs on disjoint ranges of one IOAS. */
struct pair_thread {
	struct bench_dev *d;
	pthread_barrier_t *start;
	void *page;
	__u64 iova;
	unsigned int n;
	__u64 ns, t0;	/* its time, and when it started */
};

static inline void *pair_thread_fn(void *arg)
{
	struct pair_thread *t = arg;

	pthread_barrier_wait(t->start);
	t->t0 = now_ns();
	t->ns = dev_pairs(t->d, t->page, t->iova, t->n, false);
	return NULL;
}

static inline int bench_threads(const struct bench_cfg *cfg)
{
	struct pair_thread t[2];
	pthread_barrier_t start;
	pthread_t tid[2];
	struct bench_dev d;
	__u64 one, two, t0;
	char *pages = mem_get(MEM_4K, 2 * PSZ);
	int i;

	if (!pages)
		return bench_fail("two pages");
	if (dev_open(&d))
		return -1;
	one = dev_pairs(&d, pages, IOVA_BASE, cfg->pairs, false);
	if (!one)
		return bench_fail("4 KiB map+unmap, one thread");
	pthread_barrier_init(&start, NULL, 3);
	for (i = 0; i < 2; i++) {
		t[i] = (struct pair_thread){ .d = &d, .start = &start,
			.page = pages + i * PSZ, .n = cfg->pairs,
			.iova = IOVA_BASE + i * (256 * MIB) };
		if (pthread_create(&tid[i], NULL, pair_thread_fn, &t[i]))
			return bench_fail("pthread_create");
	}
	pthread_barrier_wait(&start);
	for (i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	/* from the first start to the last end */
	t0 = t[0].t0 < t[1].t0 ? t[0].t0 : t[1].t0;
	two = t[0].t0 + t[0].ns > t[1].t0 + t[1].ns ? t[0].t0 + t[0].ns :
						      t[1].t0 + t[1].ns;
	two -= t0;
	pthread_barrier_destroy(&start);
	dev_close(&d);
	munmap(pages, 2 * PSZ);
	if (!t[0].ns || !t[1].ns) {
		errno = EIO;
		return bench_fail("4 KiB map+unmap, two threads");
	}
	bench_row("threads1_pair_4k", per_s(cfg->pairs, one), "pairs/s", true);
	bench_row("threads2_pair_4k", per_s(2 * cfg->pairs, two), "pairs/s", true);
	bench_row("threads2_scaling", (double)one * 2 / two, "x", true);
	return 0;
}

struct bench_group {
	const char *name;
	bench_fn fn;
	bool needs_dev;		/* edu behind the VM's IOMMU */
};

static const struct bench_group bench_groups[] = {
	{ "access", bench_access, false },
	{ "nodomain", bench_nodomain, false },
	{ "gup", bench_gup, false },
	{ "map", bench_map, true },
	{ "twodom", bench_twodom, true },
	{ "pairs", bench_pairs, true },
	{ "areas", bench_areas, true },
	{ "levels", bench_levels, true },
	{ "threads", bench_threads, true },
};

#endif
