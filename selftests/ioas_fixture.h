/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The ioas_map fixture shared by the programs that put user memory into an
 * IOAS (ioas_map.c, ioas_copy.c, hugemem.c): an IOAS with 0, 1 or 2 mock
 * devices attached (two devices get a domain each, both checked), a buffer
 * of BUF_PAGES touched pages, and a teardown that proves closing the fd let
 * go of every pin and every charge.  Include it from exactly one file per
 * program; the helpers on the fixture data take FIXTURE_DATA(ioas_map).
 */
#ifndef __IOMMUFD_SELFTEST_IOAS_FIXTURE_H
#define __IOMMUFD_SELFTEST_IOAS_FIXTURE_H

#include "helpers.h"

#define PSZ ((__u64)sysconf(_SC_PAGESIZE))
#define MSZ ((__u64)MOCK_IO_PAGE_SIZE)
#define SZ_256K (256ULL << 10)
#define SZ_1M (1024ULL << 10)
#define SZ_2M (2ULL << 20)
#define SZ_4M (4ULL << 20)
#define BUF_PAGES 32
#define MAX_RANGES 8
#define APERTURE_START ((__u64)MOCK_APERTURE_START)
#define APERTURE_LAST ((__u64)MOCK_APERTURE_LAST)
#define FIXED IOMMU_IOAS_MAP_FIXED_IOVA
#define DEFAULT_MEMORY_LIMIT 65536

static inline __u64 lowest_bit(__u64 v)
{
	return v & -v;
}

static inline __u64 max_u64(__u64 a, __u64 b)
{
	return a > b ? a : b;
}

static inline bool overlaps(__u64 a, __u64 alen, __u64 b, __u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* Unmap everything; the number of bytes unmapped, UINT64_MAX on error. */
static inline __u64 unmap_everything(int fd, __u32 ioas_id)
{
	__u64 len = 0;

	if (ioas_unmap(fd, ioas_id, 0, UINT64_MAX, &len))
		return UINT64_MAX;
	return len;
}

/* Unmap exactly [iova, iova + len); the bytes unmapped or UINT64_MAX. */
static inline __u64 unmap_range(int fd, __u32 ioas_id, __u64 iova, __u64 len)
{
	__u64 done = 0;

	if (ioas_unmap(fd, ioas_id, iova, len, &done))
		return UINT64_MAX;
	return done;
}

/* Do all of the hw_pagetables map [iova, iova + len) to @ptr?  0 or -errno */
static inline int check_hwpts(int fd, const __u32 *hwpt_ids,
			      unsigned int n, __u64 iova, void *ptr,
			      __u64 len)
{
	unsigned int i;

	for (i = 0; i != n; i++) {
		if (md_check_map(fd, hwpt_ids[i], iova, len, ptr))
			return -errno;
	}
	return 0;
}

/* Pin check of the whole pages touched by [ptr, ptr + len).  0 or -errno */
static inline int check_refs(int fd, void *ptr, __u64 len, unsigned int refs)
{
	uintptr_t start = (uintptr_t)ptr & ~(uintptr_t)(PSZ - 1);
	uintptr_t end = ((uintptr_t)ptr + len + PSZ - 1) & ~(uintptr_t)(PSZ - 1);

	if (md_check_refs(fd, (void *)start, end - start, refs))
		return -errno;
	return 0;
}

/* What IOMMU_IOAS_IOVA_RANGES reports, to compare before and after. */
struct ranges_snap {
	int count;
	__u64 align;
	struct iommu_iova_range r[MAX_RANGES];
};

static inline void take_snap(int fd, __u32 ioas_id, struct ranges_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->count = ioas_ranges(fd, ioas_id, s->r, MAX_RANGES, &s->align);
}

static inline bool snap_unchanged(int fd, __u32 ioas_id,
				  const struct ranges_snap *s)
{
	struct ranges_snap now;

	take_snap(fd, ioas_id, &now);
	return !memcmp(&now, s, sizeof(now));
}

/*
 * open_counted_ctx() with batches of at most @memory_limit bytes of PFN runs
 * (0: the default), so every path runs batch by batch.  The fd or -1.
 */
static inline int open_batched_ctx(__u32 *ioas_id, long *vm_pinned,
				   __u32 memory_limit)
{
	int fd = open_counted_ctx(ioas_id, vm_pinned);

	if (fd >= 0 && memory_limit &&
	    set_temp_memory_limit(fd, memory_limit)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Close a context from open_batched_ctx() (if @fd is open), put the batch
 * limit back, and check that nothing of [buf, buf + len) is pinned and VmPin
 * is back at @vm_pinned.  0 if so.
 */
static inline int close_batched_ctx(int fd, __u32 memory_limit, void *buf,
				    size_t len, long vm_pinned)
{
	if (fd >= 0)
		close(fd);
	if (memory_limit) {
		fd = open(IOMMU_DEV, O_RDWR);
		if (fd < 0 || set_temp_memory_limit(fd, DEFAULT_MEMORY_LIMIT))
			return -1;
		close(fd);
	}
	return nothing_pinned(buf, len, vm_pinned);
}

FIXTURE(ioas_map) {
	int fd;
	__u32 ioas_id;
	unsigned int ndomains;
	__u32 stdev_ids[2];
	__u32 hwpt_ids[2];
	__u64 base;	/* an IOVA every variant can map at */
	__u64 gran;	/* the IOVA alignment of the IOAS */
	void *buf;	/* BUF_PAGES touched pages */
	long vm_pinned;	/* VmPin before the test */
};

FIXTURE_VARIANT(ioas_map) {
	unsigned int mock_domains;
	__u32 memory_limit;	/* 0: the default */
};

FIXTURE_VARIANT_ADD(ioas_map, no_domain) {
	.mock_domains = 0,
};

FIXTURE_VARIANT_ADD(ioas_map, one_domain) {
	.mock_domains = 1,
};

/* Two mock devices with a domain each; both domains are checked. */
FIXTURE_VARIANT_ADD(ioas_map, two_domains) {
	.mock_domains = 2,
};

/* Batches of one PFN run and two pages: every path runs batch by batch. */
FIXTURE_VARIANT_ADD(ioas_map, one_domain_tiny_batches) {
	.mock_domains = 1,
	.memory_limit = 16,
};

FIXTURE_SETUP(ioas_map)
{
	unsigned int i;

	self->fd = open_batched_ctx(&self->ioas_id, &self->vm_pinned,
				    variant->memory_limit);
	ASSERT_LE(0, self->fd);
	/*
	 * The second device needs the large IOPTE size, so it cannot share
	 * the first one's domain: the IOAS really has two domains.
	 */
	for (i = 0; i != variant->mock_domains; i++)
		ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
					       i ? MOCK_FLAGS_DEVICE_HUGE_IOVA :
						   0,
					       &self->stdev_ids[i],
					       &self->hwpt_ids[i], NULL));
	if (variant->mock_domains == 2)
		ASSERT_NE(self->hwpt_ids[0], self->hwpt_ids[1]);
	self->ndomains = variant->mock_domains;
	self->base = APERTURE_START;
	self->gran = self->ndomains ? MSZ : 1;
	self->buf = mmap(NULL, BUF_PAGES * PSZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0x5a, BUF_PAGES * PSZ);
}

FIXTURE_TEARDOWN(ioas_map)
{
	/* Closing the context let go of every page and every charge. */
	EXPECT_EQ(0, close_batched_ctx(self->fd, variant->memory_limit,
				       self->buf, BUF_PAGES * PSZ,
				       self->vm_pinned));
	munmap(self->buf, BUF_PAGES * PSZ);
}

/*
 * Helpers on the fixture data (FIXTURE_DATA(ioas_map) is this struct).
 * Pins each mapped page has: pinning is lazy, only domains pin here.
 */
static inline unsigned int pins(struct _test_data_ioas_map *self)
{
	return self->ndomains ? 1 : 0;
}

static inline int check_mapped(struct _test_data_ioas_map *self,
			       __u64 iova, void *ptr, __u64 len)
{
	return check_hwpts(self->fd, self->hwpt_ids, self->ndomains, iova, ptr,
			   len);
}

static inline long pinned_delta(struct _test_data_ioas_map *self)
{
	return pinned_vm_pages() - self->vm_pinned;
}

#endif
