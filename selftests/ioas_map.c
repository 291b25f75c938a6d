// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Putting user memory into an IOAS: IOMMU_IOAS_MAP with fixed and automatic
 * IOVA and every errno it has, and IOMMU_IOAS_UNMAP.  Every domain must
 * mirror each mapping, every page must be pinned exactly once per MAP while a
 * domain needs it and not at all afterwards, the charge (VmPin) must follow,
 * and a failed call must leave nothing behind.
 */
#include <sys/mman.h>
#include <time.h>

#include "ioas_fixture.h"

/* An anonymous, touched region of @len bytes aligned to @align. */
static void *alloc_aligned(size_t len, size_t align, void **raw,
			   size_t *raw_len)
{
	void *p;

	*raw_len = len + align;
	*raw = mmap(NULL, *raw_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*raw == MAP_FAILED)
		return NULL;
	p = (void *)(((uintptr_t)*raw + align - 1) & ~(uintptr_t)(align - 1));
	memset(p, 0x3c, len);
	return p;
}

/* Is [iova, iova + len) inside one of the usable ranges of the IOAS? */
static bool in_usable(int fd, __u32 ioas_id, __u64 iova, __u64 len)
{
	struct iommu_iova_range r[MAX_RANGES];
	int i, n;

	n = ioas_ranges(fd, ioas_id, r, MAX_RANGES, NULL);
	for (i = 0; i < n && i < MAX_RANGES; i++) {
		if (iova >= r[i].start && iova + len - 1 <= r[i].last)
			return true;
	}
	return false;
}

/*
 * A mock device is refused by an IOAS whose mappings its domain cannot
 * hold; the IOAS stays as it was and nothing is pinned.
 */
static int try_attach(int fd, __u32 ioas_id)
{
	__u32 stdev_id;

	if (!mock_domain(fd, ioas_id, &stdev_id, NULL, NULL)) {
		object_destroy(fd, stdev_id);
		return 0;
	}
	return -errno;
}

TEST_F(ioas_map, map_fixed_iova)
{
	unsigned int p = pins(self);
	void *mem = self->buf + PSZ;
	__u64 iova = self->base + 4 * PSZ;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, mem, 4 * PSZ,
				    iova));
	EXPECT_EQ(0, check_mapped(self, iova, mem, 4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, mem, 4 * PSZ, p));
	/* The neighbours are not pinned. */
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, PSZ, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, mem + 4 * PSZ, PSZ, 0));
	EXPECT_EQ(4 * p, pinned_delta(self));
	EXPECT_EQ(4 * PSZ, unmap_range(self->fd, self->ioas_id, iova,
				       4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, mem, 4 * PSZ, 0));
	EXPECT_EQ(0, pinned_delta(self));

	/* The IOVA may start at another offset in its page than the memory. */
	iova = self->base + MSZ;
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    3 * PSZ, iova));
	EXPECT_EQ(0, check_mapped(self, iova, self->buf, 3 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 3 * PSZ, p));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 3 * PSZ, PSZ, 0));
	EXPECT_EQ(3 * PSZ, unmap_range(self->fd, self->ioas_id, iova,
				       3 * PSZ));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + MSZ, 3 * PSZ, self->base));
	EXPECT_EQ(0, check_mapped(self, self->base, self->buf + MSZ,
				  3 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, p));
	EXPECT_EQ(4 * p, pinned_delta(self));
	EXPECT_EQ(3 * PSZ, unmap_range(self->fd, self->ioas_id, self->base,
				       3 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 0));

	/* Without a domain the whole 64-bit IOVA space can be used. */
	if (!self->ndomains) {
		EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, PSZ, 0));
		EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, PSZ, -PSZ));
		EXPECT_EQ(PSZ, unmap_range(self->fd, self->ioas_id, 0, PSZ));
		EXPECT_EQ(PSZ, unmap_range(self->fd, self->ioas_id, -PSZ,
					   PSZ));
	} else {
		EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
						    self->buf, PSZ, 0));
		EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
						    self->buf, PSZ, -PSZ));
	}
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, pinned_delta(self));
}

TEST_F(ioas_map, map_auto_iova)
{
	unsigned int p = pins(self);
	__u64 iova = 0, iova2 = 0;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, 4 * PSZ,
			      &iova, MAP_RW));
	EXPECT_TRUE(in_usable(self->fd, self->ioas_id, iova, 4 * PSZ));
	EXPECT_EQ(0, iova % PSZ);
	EXPECT_EQ(0, check_mapped(self, iova, self->buf, 4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, p));

	/* A second MAP of the same memory is a new mapping: pinned again. */
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, 4 * PSZ,
			      &iova2, MAP_RW));
	EXPECT_FALSE(overlaps(iova, 4 * PSZ, iova2, 4 * PSZ));
	EXPECT_TRUE(in_usable(self->fd, self->ioas_id, iova2, 4 * PSZ));
	EXPECT_EQ(0, check_mapped(self, iova2, self->buf, 4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 2 * p));
	EXPECT_EQ(8 * p, pinned_delta(self));

	EXPECT_EQ(4 * PSZ, unmap_range(self->fd, self->ioas_id, iova,
				       4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, p));
	EXPECT_EQ(0, check_mapped(self, iova2, self->buf, 4 * PSZ));
	EXPECT_EQ(4 * PSZ, unmap_range(self->fd, self->ioas_id, iova2,
				       4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 0));
	EXPECT_EQ(0, pinned_delta(self));
}

TEST_F(ioas_map, map_read_write_only)
{
	unsigned int p = pins(self);
	__u64 iova_r = self->base, iova_w = self->base + 2 * PSZ;
	__u64 iova_ro = self->base + 4 * PSZ, iova_rw = self->base + 8 * PSZ;
	__u32 stdev_id, hwpt_id;
	void *ro;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, 2 * PSZ,
			      &iova_r, IOMMU_IOAS_MAP_READABLE | FIXED));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf + 2 * PSZ,
			      2 * PSZ, &iova_w,
			      IOMMU_IOAS_MAP_WRITEABLE | FIXED));
	EXPECT_EQ(0, check_mapped(self, iova_r, self->buf, 2 * PSZ));
	EXPECT_EQ(0, check_mapped(self, iova_w, self->buf + 2 * PSZ, 2 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, p));

	/* Read-only memory can only be mapped readable once pinned. */
	ro = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memset(ro, 0x11, 2 * PSZ);
	ASSERT_EQ(0, mprotect(ro, 2 * PSZ, PROT_READ));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, ro, 2 * PSZ, &iova_ro,
			      IOMMU_IOAS_MAP_READABLE | FIXED));
	EXPECT_EQ(0, check_mapped(self, iova_ro, ro, 2 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, ro, 2 * PSZ, p));

	if (self->ndomains) {
		EXPECT_ERRNO(EFAULT, ioas_map_fixed(self->fd, self->ioas_id,
						    ro, 2 * PSZ, iova_rw));
		EXPECT_ERRNO(EFAULT, ioas_map(self->fd, self->ioas_id, ro,
					      2 * PSZ, &iova_rw,
					      IOMMU_IOAS_MAP_WRITEABLE |
						      FIXED));
		EXPECT_EQ(0, md_check_refs(self->fd, ro, 2 * PSZ, 1));
		EXPECT_EQ(6 * PSZ, unmap_everything(self->fd, self->ioas_id));
	} else {
		/* Nothing is pinned yet, so this cannot fail now... */
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, ro,
					    2 * PSZ, iova_rw));
		/* ...but a domain cannot be filled, and nothing stays pinned. */
		EXPECT_ERRNO(EFAULT, mock_domain(self->fd, self->ioas_id,
						 &stdev_id, &hwpt_id, NULL));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 0));
		EXPECT_EQ(0, md_check_refs(self->fd, ro, 2 * PSZ, 0));
		EXPECT_EQ(0, pinned_delta(self));
		EXPECT_EQ(2 * PSZ, unmap_range(self->fd, self->ioas_id,
					       iova_rw, 2 * PSZ));
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev_id,
					 &hwpt_id, NULL));
		EXPECT_EQ(0, check_hwpts(self->fd, &hwpt_id, 1, iova_r,
					 self->buf, 4 * PSZ));
		EXPECT_EQ(0, check_hwpts(self->fd, &hwpt_id, 1, iova_ro, ro,
					 2 * PSZ));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 1));
		EXPECT_EQ(0, md_check_refs(self->fd, ro, 2 * PSZ, 1));
		EXPECT_EQ(6 * PSZ, unmap_everything(self->fd, self->ioas_id));
		EXPECT_EQ(0, object_destroy(self->fd, stdev_id));
	}
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, ro, 2 * PSZ, 0));
	EXPECT_EQ(0, pinned_delta(self));
	munmap(ro, 2 * PSZ);
}

/* Mappings that start or end inside a CPU page. */
TEST_F(ioas_map, map_sub_page)
{
	unsigned int p = pins(self);
	__u64 iova = 0, iova2 = 0;
	__u64 align = 0;

	ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, NULL, 0, &align));
	EXPECT_EQ(self->gran, align);

	/* Fixed: the second half of page 0 and the first half of page 1. */
	iova = self->base + 3 * MSZ;
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + MSZ,
				    PSZ, iova));
	EXPECT_EQ(0, check_mapped(self, iova, self->buf + MSZ, PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 2 * PSZ, p));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 2 * PSZ, PSZ, 0));
	/* A second mapping from the middle of page 1 pins page 1 again. */
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf + 3 * MSZ,
			      3 * MSZ, &iova2, MAP_RW));
	EXPECT_EQ(MSZ, iova2 % PSZ);
	EXPECT_EQ(0, check_mapped(self, iova2, self->buf + 3 * MSZ, 3 * MSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, PSZ, p));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + PSZ, PSZ, 2 * p));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 2 * PSZ, PSZ, p));
	EXPECT_EQ(4 * p, pinned_delta(self));
	EXPECT_EQ(PSZ, unmap_range(self->fd, self->ioas_id, iova, PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, PSZ, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + PSZ, 2 * PSZ, p));
	EXPECT_EQ(3 * MSZ, unmap_range(self->fd, self->ioas_id, iova2,
				       3 * MSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 3 * PSZ, 0));

	/* Without a domain any byte granularity is fine... */
	if (!self->ndomains) {
		struct ranges_snap snap;
		int rc;

		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + 1, 3, self->base + 1));
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id,
				      self->buf + 123, 1000, &iova, MAP_RW));
		EXPECT_EQ(123, iova % PSZ);
		/* ...but then no mock domain can join. */
		take_snap(self->fd, self->ioas_id, &snap);
		rc = try_attach(self->fd, self->ioas_id);
		EXPECT_TRUE(rc == -EINVAL || rc == -EADDRINUSE)
			TH_LOG("attach: %d", rc);
		EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 2 * PSZ, 0));
		EXPECT_EQ(3, unmap_range(self->fd, self->ioas_id,
					 self->base + 1, 3));
		EXPECT_EQ(1000, unmap_range(self->fd, self->ioas_id, iova,
					    1000));
	}
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, pinned_delta(self));
}

TEST_F(ioas_map, map_bad_flags_and_length)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.user_va = (uintptr_t)self->buf,
		.length = PSZ,
		.iova = self->base,
	};
	struct ranges_snap snap;

	take_snap(self->fd, self->ioas_id, &snap);
	cmd.flags = MAP_RW | FIXED | 1 << 3;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.flags = MAP_RW | 1U << 31;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.flags = MAP_RW | FIXED;
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.__reserved = 0;

	/* Neither readable nor writeable. */
	cmd.flags = FIXED;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.flags = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));

	/* Nothing to map. */
	cmd.length = 0;
	cmd.flags = MAP_RW | FIXED;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	cmd.flags = MAP_RW;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));

	EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 0));
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));

	/* The same command with sane fields works. */
	cmd.length = PSZ;
	cmd.flags = MAP_RW | FIXED;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
	EXPECT_EQ(self->base, cmd.iova);
	EXPECT_EQ(PSZ, unmap_everything(self->fd, self->ioas_id));
}

TEST_F(ioas_map, map_overflow)
{
	struct ranges_snap snap;
	__u64 iova = 0;

	take_snap(self->fd, self->ioas_id, &snap);
	/* An IOVA or a length that is not below ULONG_MAX. */
	EXPECT_ERRNO(EOVERFLOW, ioas_map_fixed(self->fd, self->ioas_id,
					       self->buf, PSZ, UINT64_MAX));
	EXPECT_ERRNO(EOVERFLOW, ioas_map_fixed(self->fd, self->ioas_id,
					       self->buf, UINT64_MAX,
					       self->base));
	EXPECT_ERRNO(EOVERFLOW, ioas_map(self->fd, self->ioas_id, self->buf,
					 UINT64_MAX, &iova, MAP_RW));
	/* The last IOVA would wrap around. */
	EXPECT_ERRNO(EOVERFLOW, ioas_map_fixed(self->fd, self->ioas_id,
					       self->buf, 2 * PSZ, -PSZ));
	EXPECT_ERRNO(EOVERFLOW, ioas_map_fixed(self->fd, self->ioas_id,
					       self->buf, -PSZ, 2 * PSZ));
	/* The user memory would wrap around. */
	EXPECT_ERRNO(EOVERFLOW, ioas_map(self->fd, self->ioas_id,
					 (void *)(uintptr_t)-PSZ, 2 * PSZ,
					 &iova, MAP_RW));
	EXPECT_ERRNO(EOVERFLOW, ioas_map_fixed(self->fd, self->ioas_id,
					       (void *)(uintptr_t)-PSZ,
					       2 * PSZ, self->base));

	EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 0));
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));
}

TEST_F(ioas_map, map_misaligned)
{
	struct {
		__u64 offset;	/* into buf */
		__u64 iova;	/* from base; UINT64_MAX: automatic */
		__u64 length;
	} cases[] = {
		{ 0, 1, PSZ },
		{ 0, MSZ / 2, PSZ },
		{ 0, MSZ + 8, 2 * PSZ },
		{ 0, 0, PSZ + 1 },
		{ 0, 0, MSZ / 2 },
		{ 0, 0, MSZ + MSZ / 2 },
		{ 1, 0, PSZ },
		{ MSZ / 2, 0, PSZ },
		{ PSZ - 1, 0, PSZ },
		{ 1, UINT64_MAX, PSZ },
		{ MSZ / 2, UINT64_MAX, MSZ },
		{ 0, UINT64_MAX, PSZ + 1 },
		{ 0, UINT64_MAX, MSZ / 2 },
	};
	struct ranges_snap snap;
	unsigned int i;

	take_snap(self->fd, self->ioas_id, &snap);
	for (i = 0; i != ARRAY_SIZE(cases); i++) {
		void *ptr = self->buf + cases[i].offset;
		__u64 len = cases[i].length;
		__u64 iova = self->base + cases[i].iova;
		__u32 flags = MAP_RW | FIXED;
		int rc;

		if (cases[i].iova == UINT64_MAX)
			flags = MAP_RW;
		rc = ioas_map(self->fd, self->ioas_id, ptr, len, &iova, flags);
		if (self->ndomains) {
			/* Nothing is finer than MOCK_IO_PAGE_SIZE. */
			EXPECT_EQ(-1, rc);
			EXPECT_EQ(EINVAL, errno);
			continue;
		}
		ASSERT_EQ(0, rc)
			TH_LOG("case %u", i);
		if (flags == MAP_RW)
			EXPECT_EQ((uintptr_t)ptr % PSZ, iova % PSZ);
		EXPECT_EQ(len, unmap_range(self->fd, self->ioas_id, iova,
					   len));
	}
	EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 0));
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));
}

TEST_F(ioas_map, map_reserved)
{
	__u64 g = self->gran, resv = self->base + 8 * PSZ;
	struct {
		__u64 iova;
		__u64 length;
	} cases[] = {
		{ resv, 4 * PSZ },
		{ resv - PSZ, 2 * PSZ },
		{ resv + 3 * PSZ, 2 * PSZ },
		{ resv + PSZ, PSZ },
		{ resv - 2 * PSZ, 8 * PSZ },
		{ resv, g },
		{ resv + 4 * PSZ - g, g },
		{ resv - g, 2 * g },
		{ resv + 4 * PSZ - g, 2 * g },
	};
	struct iommu_iova_range r[MAX_RANGES];
	void *victim = self->buf + 16 * PSZ;
	struct ranges_snap snap;
	unsigned int i;
	int n;

	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, resv, 4 * PSZ));
	/* The reserved range is a hole in the usable ranges. */
	n = ioas_ranges(self->fd, self->ioas_id, r, MAX_RANGES, NULL);
	ASSERT_EQ(2, n);
	EXPECT_EQ(self->ndomains ? APERTURE_START : 0, r[0].start);
	EXPECT_EQ(resv - 1, r[0].last);
	EXPECT_EQ(resv + 4 * PSZ, r[1].start);
	EXPECT_EQ(self->ndomains ? APERTURE_LAST : UINT64_MAX, r[1].last);

	take_snap(self->fd, self->ioas_id, &snap);
	for (i = 0; i != ARRAY_SIZE(cases); i++) {
		EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
						    victim, cases[i].length,
						    cases[i].iova));
	}
	EXPECT_EQ(0, md_check_refs(self->fd, victim, 8 * PSZ, 0));
	EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));

	/* Right next to it is fine. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PSZ, resv - 4 * PSZ));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 4 * PSZ, 4 * PSZ,
				    resv + 4 * PSZ));
	EXPECT_EQ(0, check_mapped(self, resv - 4 * PSZ, self->buf, 4 * PSZ));
	EXPECT_EQ(0, check_mapped(self, resv + 4 * PSZ, self->buf + 4 * PSZ,
				  4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, pins(self)));

	/* A mapped range cannot become reserved. */
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas_id,
					      resv - PSZ, PSZ));
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas_id,
					      resv + 4 * PSZ, 8 * PSZ));
	EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
	EXPECT_EQ(8 * PSZ, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 0));
}

TEST_F(ioas_map, map_overlap)
{
	__u64 g = self->gran, area = self->base + 16 * PSZ;
	struct {
		__u64 iova;
		__u64 length;
	} cases[] = {
		{ area, 4 * PSZ },		/* the same */
		{ area + PSZ, PSZ },		/* inside */
		{ area - PSZ, 2 * PSZ },	/* over the start */
		{ area + 3 * PSZ, 2 * PSZ },	/* over the end */
		{ area - PSZ, 6 * PSZ },	/* around it */
		{ area, g },			/* its first byte(s) */
		{ area + 4 * PSZ - g, g },	/* its last byte(s) */
		{ area - g, 2 * g },		/* touching the start */
		{ area + 4 * PSZ - g, 2 * g },	/* touching the end */
		{ area, 5 * PSZ },		/* same start, longer */
		{ area - PSZ, 5 * PSZ },	/* same end, longer */
	};
	void *victim = self->buf + 8 * PSZ;
	unsigned int p = pins(self);
	struct ranges_snap snap;
	unsigned int i;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PSZ, area));
	take_snap(self->fd, self->ioas_id, &snap);
	for (i = 0; i != ARRAY_SIZE(cases); i++) {
		EXPECT_ERRNO(EEXIST, ioas_map_fixed(self->fd, self->ioas_id,
						    victim, cases[i].length,
						    cases[i].iova));
	}
	EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
	EXPECT_EQ(0, md_check_refs(self->fd, victim, 8 * PSZ, 0));
	EXPECT_EQ(0, check_mapped(self, area, self->buf, 4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, p));
	EXPECT_EQ(4 * p, pinned_delta(self));

	/* Adjacent on both sides is fine. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, victim, 4 * PSZ,
				    area - 4 * PSZ));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    victim + 4 * PSZ, 4 * PSZ,
				    area + 4 * PSZ));
	EXPECT_EQ(0, check_mapped(self, area - 4 * PSZ, victim, 4 * PSZ));
	EXPECT_EQ(0, check_mapped(self, area + 4 * PSZ, victim + 4 * PSZ,
				  4 * PSZ));
	EXPECT_EQ(0, check_mapped(self, area, self->buf, 4 * PSZ));
	EXPECT_EQ(12 * PSZ, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 16 * PSZ, 0));
}

TEST_F(ioas_map, map_outside_aperture)
{
	struct {
		__u64 iova;
		__u64 length;
	} cases[] = {
		{ 0, PSZ },
		{ APERTURE_START - PSZ, PSZ },
		{ APERTURE_START - PSZ, 2 * PSZ },
		{ APERTURE_LAST + 1 - PSZ, 2 * PSZ },
		{ APERTURE_LAST + 1, PSZ },
		{ 1ULL << 40, PSZ },
		{ APERTURE_START - PSZ, APERTURE_LAST - APERTURE_START + 3 * PSZ },
	};
	struct ranges_snap snap;
	unsigned int i;

	take_snap(self->fd, self->ioas_id, &snap);
	for (i = 0; i != ARRAY_SIZE(cases); i++) {
		__u64 len = cases[i].length;
		__u64 iova = cases[i].iova;

		if (self->ndomains) {
			EXPECT_ERRNO(EINVAL,
				     ioas_map_fixed(self->fd, self->ioas_id,
						    self->buf, len, iova));
			continue;
		}
		/* Lazy pinning: a huge length is fine without a domain. */
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, len, iova));
		EXPECT_EQ(len, unmap_range(self->fd, self->ioas_id, iova,
					   len));
	}
	EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 0));
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));

	/* A mapping outside the aperture keeps mock devices out. */
	if (!self->ndomains) {
		int rc;

		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, 2 * PSZ,
					    APERTURE_START));
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + 2 * PSZ, PSZ,
					    APERTURE_LAST + 1));
		rc = try_attach(self->fd, self->ioas_id);
		EXPECT_TRUE(rc == -EINVAL || rc == -EADDRINUSE)
			TH_LOG("attach: %d", rc);
		EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 3 * PSZ, 0));
		EXPECT_EQ(PSZ, unmap_range(self->fd, self->ioas_id,
					   APERTURE_LAST + 1, PSZ));
		EXPECT_EQ(0, try_attach(self->fd, self->ioas_id));
		EXPECT_EQ(2 * PSZ, unmap_everything(self->fd, self->ioas_id));
	}

	/* The first and the last page of the aperture are usable. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, PSZ,
				    APERTURE_START));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + PSZ, PSZ,
				    APERTURE_LAST + 1 - PSZ));
	EXPECT_EQ(0, check_mapped(self, APERTURE_START, self->buf, PSZ));
	EXPECT_EQ(0, check_mapped(self, APERTURE_LAST + 1 - PSZ,
				  self->buf + PSZ, PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 2 * PSZ, pins(self)));
	EXPECT_EQ(2 * PSZ, unmap_everything(self->fd, self->ioas_id));
}

/* IDs that are not an IOAS: none, a destroyed one, other object types. */
TEST_F(ioas_map, bad_object_ids)
{
	struct iommu_iova_range range = { .start = self->base,
					  .last = self->base + PSZ - 1 };
	__u32 other, stdev_id, hwpt_id, idev_id, gone;
	__u32 bad[6];
	unsigned int i;
	__u64 iova;

	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	ASSERT_EQ(0, mock_domain(self->fd, other, &stdev_id, &hwpt_id,
				 &idev_id));
	ASSERT_EQ(0, ioas_alloc(self->fd, &gone));
	ASSERT_EQ(0, object_destroy(self->fd, gone));
	bad[0] = 0;
	bad[1] = gone;
	bad[2] = stdev_id;
	bad[3] = hwpt_id;
	bad[4] = idev_id;
	bad[5] = UINT32_MAX;
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, PSZ,
				    self->base));

	for (i = 0; i != ARRAY_SIZE(bad); i++) {
		iova = self->base + PSZ;
		EXPECT_ERRNO(ENOENT, ioas_map_fixed(self->fd, bad[i],
						    self->buf, PSZ, iova));
		EXPECT_ERRNO(ENOENT, ioas_map(self->fd, bad[i], self->buf,
					      PSZ, &iova, MAP_RW));
		EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, bad[i], self->base,
						PSZ, NULL));
		EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, bad[i], 0,
						UINT64_MAX, NULL));
		EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, self->ioas_id, &iova,
					       bad[i], self->base, PSZ,
					       MAP_RW));
		EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, bad[i], &iova,
					       self->ioas_id, self->base, PSZ,
					       MAP_RW));
		EXPECT_ERRNO(ENOENT, ioas_allow_iovas(self->fd, bad[i], &range,
						      1));
		EXPECT_EQ(-ENOENT, ioas_ranges(self->fd, bad[i], &range, 1,
					       NULL));
	}
	/* The IOAS behind hwpt_id saw none of it. */
	EXPECT_EQ(0, unmap_everything(self->fd, other));
	EXPECT_EQ(0, check_mapped(self, self->base, self->buf, PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, PSZ, pins(self)));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + PSZ,
				   (BUF_PAGES - 1) * PSZ, 0));
	EXPECT_EQ(PSZ, unmap_everything(self->fd, self->ioas_id));
}

/* User memory that cannot be pinned, entirely or from half way on. */
TEST_F(ioas_map, map_efault)
{
	struct ranges_snap snap;
	__u32 stdev_id, hwpt_id;
	void *mem, *none;
	unsigned int i;
	struct {
		__u64 offset;
		__u64 length;
	} cases[] = {
		{ 0, 8 * PSZ },		/* the second part is gone */
		{ 4 * PSZ, 2 * PSZ },	/* one page there, one gone */
		{ 5 * PSZ, PSZ },	/* all gone */
		{ MSZ, 8 * PSZ - MSZ },
	};

	mem = mmap(NULL, 8 * PSZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	memset(mem, 0x22, 8 * PSZ);
	ASSERT_EQ(0, munmap(mem + 5 * PSZ, 3 * PSZ));
	none = mmap(NULL, 2 * PSZ, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	ASSERT_NE(MAP_FAILED, none);

	if (!self->ndomains) {
		/* Nothing is pinned, so the map works... */
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, 4 * PSZ, self->base));
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, mem,
					    8 * PSZ, self->base + 8 * PSZ));
		EXPECT_EQ(0, md_check_refs(self->fd, mem, 5 * PSZ, 0));
		/* ...but no domain can be filled from it. */
		take_snap(self->fd, self->ioas_id, &snap);
		EXPECT_ERRNO(EFAULT, mock_domain(self->fd, self->ioas_id,
						 &stdev_id, &hwpt_id, NULL));
		EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
		EXPECT_EQ(0, md_check_refs(self->fd, mem, 5 * PSZ, 0));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 0));
		EXPECT_EQ(0, pinned_delta(self));
		EXPECT_EQ(8 * PSZ, unmap_range(self->fd, self->ioas_id,
					       self->base + 8 * PSZ, 8 * PSZ));
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev_id,
					 &hwpt_id, NULL));
		EXPECT_EQ(0, check_hwpts(self->fd, &hwpt_id, 1, self->base,
					 self->buf, 4 * PSZ));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 1));
		EXPECT_EQ(4 * PSZ, unmap_everything(self->fd, self->ioas_id));
	}

	/* With a domain each of these fails and leaves nothing pinned. */
	take_snap(self->fd, self->ioas_id, &snap);
	for (i = 0; i != ARRAY_SIZE(cases); i++) {
		__u64 iova = self->base + cases[i].offset;
		void *ptr = mem + cases[i].offset;

		EXPECT_ERRNO(EFAULT, ioas_map_fixed(self->fd, self->ioas_id,
						    ptr, cases[i].length,
						    iova));
		EXPECT_ERRNO(EFAULT, ioas_map(self->fd, self->ioas_id, ptr,
					      cases[i].length, &iova,
					      MAP_RW));
		EXPECT_EQ(0, md_check_refs(self->fd, mem, 5 * PSZ, 0));
	}
	EXPECT_ERRNO(EFAULT, ioas_map_fixed(self->fd, self->ioas_id, none,
					    2 * PSZ, self->base));
	EXPECT_ERRNO(EFAULT, ioas_map(self->fd, self->ioas_id, none, PSZ,
				      NULL, IOMMU_IOAS_MAP_READABLE));
	EXPECT_ERRNO(EFAULT, ioas_map(self->fd, self->ioas_id, NULL, PSZ,
				      NULL, IOMMU_IOAS_MAP_READABLE));
	EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, pinned_delta(self));

	/* The IOVA is still free for good memory. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, mem, 5 * PSZ,
				    self->base));
	EXPECT_EQ(0, check_mapped(self, self->base, mem, 5 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, mem, 5 * PSZ, 1));
	EXPECT_EQ(5 * PSZ, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, mem, 5 * PSZ, 0));
	munmap(mem, 5 * PSZ);
	munmap(none, 2 * PSZ);
}

TEST_F(ioas_map, map_enospc)
{
	struct iommu_iova_range range = { .start = self->base,
					  .last = self->base + 4 * PSZ - 1 };
	struct ranges_snap snap;
	__u64 iova = 0, iova2 = 0;

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, &range, 1));
	take_snap(self->fd, self->ioas_id, &snap);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, 4 * PSZ,
			      &iova, MAP_RW));
	EXPECT_EQ(self->base, iova);
	EXPECT_ERRNO(ENOSPC, ioas_map(self->fd, self->ioas_id,
				      self->buf + 4 * PSZ, PSZ, &iova2,
				      MAP_RW));
	EXPECT_ERRNO(ENOSPC, ioas_map(self->fd, self->ioas_id,
				      self->buf + 4 * PSZ, self->gran,
				      &iova2, MAP_RW));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 4 * PSZ, 4 * PSZ,
				   0));
	EXPECT_EQ(4 * PSZ, unmap_range(self->fd, self->ioas_id, iova,
				       4 * PSZ));

	/* Two halves fill it as well. */
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf, 2 * PSZ,
			      &iova, MAP_RW));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf + 2 * PSZ,
			      2 * PSZ, &iova2, MAP_RW));
	EXPECT_FALSE(overlaps(iova, 2 * PSZ, iova2, 2 * PSZ));
	EXPECT_TRUE(iova >= range.start && iova + 2 * PSZ - 1 <= range.last);
	EXPECT_TRUE(iova2 >= range.start && iova2 + 2 * PSZ - 1 <= range.last);
	EXPECT_ERRNO(ENOSPC, ioas_map(self->fd, self->ioas_id,
				      self->buf + 4 * PSZ, PSZ, &iova2,
				      MAP_RW));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, pins(self)));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 4 * PSZ, PSZ, 0));
	EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));

	/* Without the allowed list there is room again. */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, NULL, 0));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf + 4 * PSZ,
			      PSZ, &iova2, MAP_RW));
	EXPECT_EQ(5 * PSZ, unmap_everything(self->fd, self->ioas_id));

	/* More than the whole aperture. */
	if (self->ndomains) {
		EXPECT_ERRNO(ENOSPC, ioas_map(self->fd, self->ioas_id,
					      self->buf, 1ULL << 32, &iova,
					      MAP_RW));
	} else {
		/* Nothing is pinned without a domain. */
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf,
				      1ULL << 32, &iova, MAP_RW));
		EXPECT_EQ(1ULL << 32, unmap_everything(self->fd,
						       self->ioas_id));
	}
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 0));
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));
}

/* If the IOVA cannot be reported back the mapping must not stay. */
TEST_F(ioas_map, unwritable_result)
{
	struct iommu_ioas_map *map, *map_fixed;
	struct iommu_ioas_copy *copy;
	void *page;

	page = mmap(NULL, PSZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	map = page;
	map_fixed = page + 256;
	copy = page + 512;
	*map = (struct iommu_ioas_map){
		.size = sizeof(*map),
		.flags = MAP_RW,
		.ioas_id = self->ioas_id,
		.user_va = (uintptr_t)self->buf,
		.length = 4 * PSZ,
	};
	*map_fixed = *map;
	map_fixed->flags |= FIXED;
	map_fixed->iova = self->base + 16 * PSZ;
	*copy = (struct iommu_ioas_copy){
		.size = sizeof(*copy),
		.flags = MAP_RW,
		.dst_ioas_id = self->ioas_id,
		.src_ioas_id = self->ioas_id,
		.length = 2 * PSZ,
		.src_iova = self->base,
	};
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 8 * PSZ, 2 * PSZ, self->base));
	ASSERT_EQ(0, mprotect(page, PSZ, PROT_READ));

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_MAP, map));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_MAP, map_fixed));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 0));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_COPY, copy));

	/* Only the source of the copy is left. */
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 8 * PSZ, 2 * PSZ,
				   pins(self)));
	EXPECT_EQ(2 * PSZ, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 0));
	/* The fixed IOVA is free again. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PSZ, self->base + 16 * PSZ));
	EXPECT_EQ(4 * PSZ, unmap_everything(self->fd, self->ioas_id));
	munmap(page, PSZ);
}

/* Automatic IOVAs are aligned to the lowest set bit of (uptr | length). */
TEST_F(ioas_map, auto_iova_natural_alignment)
{
	static const unsigned int npages[] = {
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
		32, 64, 128, 256,
	};
	static const unsigned int offsets[] = { 1, 2, 3, 4, 6, 8, 12, 16 };
	__u64 iovas[ARRAY_SIZE(npages) + ARRAY_SIZE(offsets)];
	__u64 lens[ARRAY_SIZE(iovas)];
	unsigned int i, j, n = 0;
	__u64 total = 0;
	size_t raw_len;
	void *raw, *mem;

	mem = alloc_aligned(2 * SZ_1M, SZ_1M, &raw, &raw_len);
	ASSERT_NE(NULL, mem);

	for (i = 0; i != ARRAY_SIZE(npages) + ARRAY_SIZE(offsets); i++) {
		void *ptr = mem;
		__u64 natural;

		if (i < ARRAY_SIZE(npages)) {
			lens[n] = npages[i] * PSZ;
		} else {
			ptr = mem + offsets[i - ARRAY_SIZE(npages)] * PSZ;
			lens[n] = 32 * PSZ;
		}
		natural = lowest_bit((uintptr_t)ptr | lens[n]);
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, ptr, lens[n],
				      &iovas[n], MAP_RW));
		EXPECT_EQ(0, (iovas[n] ^ (uintptr_t)ptr) &
				     (max_u64(natural, PSZ) - 1))
			TH_LOG("length %llx uptr %p iova %llx",
			       (unsigned long long)lens[n], ptr,
			       (unsigned long long)iovas[n]);
		EXPECT_TRUE(in_usable(self->fd, self->ioas_id, iovas[n],
				      lens[n]));
		EXPECT_EQ(0, check_mapped(self, iovas[n], ptr, lens[n]));
		total += lens[n];
		n++;
	}
	/* All of them are there at once, so none may overlap another. */
	for (i = 0; i != n; i++)
		for (j = i + 1; j != n; j++)
			EXPECT_FALSE(overlaps(iovas[i], lens[i], iovas[j],
					      lens[j]));
	EXPECT_EQ(total, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, mem, 2 * SZ_1M, 0));
	EXPECT_EQ(0, pinned_delta(self));
	munmap(raw, raw_len);
}

/* The page offset of the user address survives automatic allocation. */
TEST_F(ioas_map, auto_iova_sub_page)
{
	__u64 dom_offsets[] = { MSZ, 0, MSZ };
	__u64 dom_lens[] = { MSZ, 3 * MSZ, 5 * PSZ + MSZ };
	__u64 offsets[] = { 1, 123, MSZ, PSZ - 1, 7 };
	__u64 lens[] = { 1, 100, PSZ, 3 * PSZ + 5, 2 * PSZ };
	unsigned int i, n = ARRAY_SIZE(offsets);
	unsigned int p = pins(self);

	for (i = 0; i != n; i++) {
		__u64 off = offsets[i], len = lens[i], iova = 0;
		void *ptr;

		if (self->ndomains) {
			if (i >= ARRAY_SIZE(dom_offsets))
				break;
			off = dom_offsets[i];
			len = dom_lens[i];
		}
		ptr = self->buf + 4 * PSZ + off;
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, ptr, len,
				      &iova, MAP_RW));
		EXPECT_EQ(off % PSZ, iova % PSZ);
		EXPECT_TRUE(in_usable(self->fd, self->ioas_id, iova, len));
		if (self->ndomains)
			EXPECT_EQ(0, check_mapped(self, iova, ptr, len));
		EXPECT_EQ(0, check_refs(self->fd, ptr, len, p));
		EXPECT_EQ(len, unmap_range(self->fd, self->ioas_id, iova,
					   len));
		EXPECT_EQ(0, check_refs(self->fd, ptr, len, 0));
	}
	EXPECT_EQ(0, pinned_delta(self));
}

/* Automatic IOVAs stay clear of reserved ranges and existing mappings. */
TEST_F(ioas_map, auto_iova_avoids_reserved_and_mapped)
{
	struct iommu_iova_range r[MAX_RANGES];
	__u64 iovas[12], lens[12], low, total = 0;
	unsigned int i, j, n = 0;

	ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, r, MAX_RANGES,
				 NULL));
	low = r[0].start;
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, low, 16 * PSZ));
	/* Fixed mappings with a 4 page hole between them. */
	iovas[n] = low + 16 * PSZ;
	lens[n] = 4 * PSZ;
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    lens[n], iovas[n]));
	total += lens[n++];
	iovas[n] = low + 24 * PSZ;
	lens[n] = 2 * PSZ;
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    lens[n], iovas[n]));
	total += lens[n++];

	for (i = 0; i != 10; i++) {
		lens[n] = (i % 4 + 1) * PSZ;
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf,
				      lens[n], &iovas[n], MAP_RW));
		EXPECT_FALSE(overlaps(iovas[n], lens[n], low, 16 * PSZ));
		EXPECT_TRUE(in_usable(self->fd, self->ioas_id, iovas[n],
				      lens[n]));
		EXPECT_EQ(0, check_mapped(self, iovas[n], self->buf, lens[n]));
		total += lens[n++];
	}
	for (i = 0; i != n; i++)
		for (j = i + 1; j != n; j++)
			EXPECT_FALSE(overlaps(iovas[i], lens[i], iovas[j],
					      lens[j]));
	EXPECT_EQ(total, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 0));
}

/* With an allowed list, automatic IOVAs come only from it. */
TEST_F(ioas_map, auto_iova_allowed_ranges)
{
	struct iommu_iova_range allowed[2] = {
		{ self->base + PSZ, self->base + 3 * PSZ - 1 },
		{ self->base + 16 * PSZ, self->base + 32 * PSZ - 1 },
	};
	static const unsigned int npages[] = { 1, 1, 4, 8, 4 };
	struct iommu_iova_range r[MAX_RANGES];
	__u64 iovas[ARRAY_SIZE(npages)], lens[ARRAY_SIZE(npages)];
	__u64 total = 0, iova = 0;
	unsigned int i, j;
	size_t raw_len;
	void *raw, *mem;
	__u64 align;

	/* Memory aligned better than any length used here. */
	mem = alloc_aligned(SZ_256K, SZ_256K, &raw, &raw_len);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, allowed, 2));
	ASSERT_EQ(2, ioas_ranges(self->fd, self->ioas_id, r, MAX_RANGES,
				 &align));
	EXPECT_EQ(0, memcmp(allowed, r, sizeof(allowed)));
	EXPECT_EQ(self->gran, align);

	/* 18 pages fit exactly when every mapping is naturally aligned. */
	for (i = 0; i != ARRAY_SIZE(npages); i++) {
		bool inside = false;

		lens[i] = npages[i] * PSZ;
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, mem,
				      lens[i], &iovas[i], MAP_RW));
		for (j = 0; j != 2; j++)
			inside |= iovas[i] >= allowed[j].start &&
				  iovas[i] + lens[i] - 1 <= allowed[j].last;
		EXPECT_TRUE(inside);
		EXPECT_EQ(0, iovas[i] % lens[i]);
		EXPECT_EQ(0, check_mapped(self, iovas[i], mem, lens[i]));
		total += lens[i];
	}
	for (i = 0; i != ARRAY_SIZE(npages); i++)
		for (j = i + 1; j != ARRAY_SIZE(npages); j++)
			EXPECT_FALSE(overlaps(iovas[i], lens[i], iovas[j],
					      lens[j]));
	EXPECT_ERRNO(ENOSPC, ioas_map(self->fd, self->ioas_id, mem,
				      self->gran, &iova, MAP_RW));

	/* Clearing the list makes everything usable again. */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, NULL, 0));
	ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, r, MAX_RANGES,
				 NULL));
	EXPECT_EQ(self->ndomains ? APERTURE_START : 0, r[0].start);
	EXPECT_EQ(self->ndomains ? APERTURE_LAST : UINT64_MAX, r[0].last);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, mem, PSZ, &iova,
			      MAP_RW));
	EXPECT_EQ(total + PSZ, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, mem, SZ_256K, 0));
	munmap(raw, raw_len);
}

/* When no naturally aligned hole is left, PAGE_SIZE alignment will do. */
TEST_F(ioas_map, auto_iova_fallback_alignment)
{
	struct iommu_iova_range range = { self->base + PSZ,
					  self->base + 5 * PSZ - 1 };
	size_t raw_len;
	void *raw, *mem;
	__u64 iova = 0;

	mem = alloc_aligned(SZ_1M, SZ_1M, &raw, &raw_len);
	ASSERT_NE(NULL, mem);

	/* 4 pages, naturally 16 KiB aligned, fit only at the start. */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, &range, 1));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, mem, 4 * PSZ, &iova,
			      MAP_RW));
	EXPECT_EQ(self->base + PSZ, iova);
	EXPECT_EQ(0, check_mapped(self, iova, mem, 4 * PSZ));
	EXPECT_EQ(4 * PSZ, unmap_everything(self->fd, self->ioas_id));

	/* In 3 pages, 2 pages go to the aligned spot if it exists. */
	range.last = self->base + 4 * PSZ - 1;
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, &range, 1));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, mem, 2 * PSZ, &iova,
			      MAP_RW));
	EXPECT_EQ(self->base + 2 * PSZ, iova);
	EXPECT_ERRNO(ENOSPC, ioas_map(self->fd, self->ioas_id, mem, 2 * PSZ,
				      &iova, MAP_RW));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, mem, PSZ, &iova,
			      MAP_RW));
	EXPECT_EQ(self->base + PSZ, iova);
	EXPECT_EQ(3 * PSZ, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, mem, SZ_1M, 0));
	munmap(raw, raw_len);
}

/* Only whole areas can be unmapped. */
TEST_F(ioas_map, unmap_whole_areas_only)
{
	__u64 g = self->gran, area = self->base + 16 * PSZ;
	struct {
		__u64 iova;
		__u64 length;
	} cases[] = {
		{ area, PSZ },
		{ area + 3 * PSZ, PSZ },
		{ area - PSZ, 2 * PSZ },
		{ area + 3 * PSZ, 2 * PSZ },
		{ area + PSZ, 2 * PSZ },
		{ area, 4 * PSZ - g },
		{ area + g, 4 * PSZ - g },
		{ area - PSZ, 4 * PSZ },
		{ area + g, 8 * PSZ },
	};
	unsigned int p = pins(self);
	unsigned int i;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PSZ, area));
	for (i = 0; i != ARRAY_SIZE(cases); i++) {
		EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id,
						cases[i].iova,
						cases[i].length, NULL));
	}
	EXPECT_EQ(0, check_mapped(self, area, self->buf, 4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, p));
	/* Nothing mapped in the range at all. */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, area - PSZ,
					PSZ, NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id,
					area + 4 * PSZ, 4 * PSZ, NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, 0,
					area, NULL));
	/* A range with room on both sides takes the area. */
	EXPECT_EQ(4 * PSZ, unmap_range(self->fd, self->ioas_id, area - PSZ,
				       6 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 0));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, area,
					4 * PSZ, NULL));
}

TEST_F(ioas_map, unmap_several_areas)
{
	static const unsigned int at[] = { 0, 4, 8, 12 };
	static const unsigned int npages[] = { 2, 1, 3, 4 };
	unsigned int p = pins(self);
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(at); i++)
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + at[i] * PSZ,
					    npages[i] * PSZ,
					    self->base + at[i] * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 2 * PSZ, p));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 2 * PSZ, 2 * PSZ, 0));

	/* Only holes. */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id,
					self->base + 2 * PSZ, 2 * PSZ, NULL));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id,
					self->base + 11 * PSZ, PSZ, NULL));
	/* All of area 1 but only a part of area 2: nothing happens. */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id,
					self->base + 3 * PSZ, 6 * PSZ, NULL));
	EXPECT_EQ(0, check_mapped(self, self->base + 4 * PSZ,
				  self->buf + 4 * PSZ, PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 4 * PSZ, PSZ, p));

	/* Areas 1 to 3 and the holes around them; the sum comes back. */
	EXPECT_EQ(8 * PSZ, unmap_range(self->fd, self->ioas_id,
				       self->base + 2 * PSZ, 15 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 2 * PSZ, 14 * PSZ,
				   0));
	EXPECT_EQ(0, check_mapped(self, self->base, self->buf, 2 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 2 * PSZ, p));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id,
					self->base + 2 * PSZ, 15 * PSZ, NULL));
	EXPECT_EQ(2 * PSZ, unmap_range(self->fd, self->ioas_id, 0,
				       self->base + 2 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 16 * PSZ, 0));
	EXPECT_EQ(0, pinned_delta(self));
}

TEST_F(ioas_map, unmap_all)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.iova = 0,
		.length = UINT64_MAX,
	};
	__u64 iova = 0;

	/* Fine on an empty IOAS, and says so. */
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_UNMAP, &cmd));
	EXPECT_EQ(0, cmd.length);

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PSZ, self->base));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf + 4 * PSZ,
			      3 * PSZ, &iova, IOMMU_IOAS_MAP_READABLE));
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &iova, self->ioas_id,
			       self->base, 2 * PSZ, MAP_RW));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 7 * PSZ, pins(self)));
	cmd.length = UINT64_MAX;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_UNMAP, &cmd));
	EXPECT_EQ(9 * PSZ, cmd.length);
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 7 * PSZ, 0));
	EXPECT_EQ(0, pinned_delta(self));

	cmd.length = UINT64_MAX;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_UNMAP, &cmd));
	EXPECT_EQ(0, cmd.length);
	/* Only iova 0 with length U64_MAX means everything. */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, 0,
					UINT64_MAX - 1, NULL));
}

TEST_F(ioas_map, unmap_bad_ranges)
{
	unsigned int p = pins(self);

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PSZ, self->base));
	EXPECT_ERRNO(EINVAL, ioas_unmap(self->fd, self->ioas_id, self->base,
					0, NULL));
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id,
					   UINT64_MAX, PSZ, NULL));
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id,
					   self->base, UINT64_MAX, NULL));
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id, 1,
					   UINT64_MAX, NULL));
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id, -PSZ,
					   2 * PSZ, NULL));
	EXPECT_ERRNO(EOVERFLOW, ioas_unmap(self->fd, self->ioas_id,
					   self->base, -self->base + 1, NULL));
	EXPECT_EQ(0, check_mapped(self, self->base, self->buf, 4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, p));
	/* Up to the very last IOVA is a valid range. */
	EXPECT_EQ(4 * PSZ, unmap_range(self->fd, self->ioas_id, self->base,
				       -self->base));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 0));
}

/* A new context with an IOAS: the fd, or -1. */
static int open_ioas(__u32 *ioas_id)
{
	int fd = open(IOMMU_DEV, O_RDWR);

	if (fd >= 0 && ioas_alloc(fd, ioas_id)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * All of the 64-bit IOVA space is one byte more than a u64 can count:
 * unmapping it reports U64_MAX rather than wrapping to 0.  Without a
 * domain nothing is pinned, so areas this large are only bookkeeping.
 */
TEST(unmapped_count_saturates)
{
	__u64 half = 1ULL << 63, unmapped = 0;
	__u32 ioas_id;
	char *buf;
	int fd;

	fd = open_ioas(&ioas_id);
	ASSERT_LE(0, fd);
	buf = new_buffer(PSZ, 1);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas_id, buf, half, 0));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas_id, buf, half, half));
	EXPECT_EQ(0, ioas_unmap(fd, ioas_id, 0, UINT64_MAX, &unmapped));
	EXPECT_EQ(UINT64_MAX, unmapped);

	/* Half of it is counted exactly. */
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas_id, buf, half, half));
	EXPECT_EQ(0, ioas_unmap(fd, ioas_id, 0, UINT64_MAX, &unmapped));
	EXPECT_EQ(half, unmapped);
	munmap(buf, PSZ);
	close(fd);
}

#define MANY_AREAS 100000
#define MANY_BASE 0x100000000ULL

/*
 * Automatic IOVA for many areas: 100,000 one-page maps land back to back
 * from the bottom of the allowed range (lowest fit, page offset of the
 * user address kept, nothing overlapping, nothing outside); holes made by
 * unmapping every tenth area are refilled lowest first; an area too large
 * for the holes goes after the last area; a full range is ENOSPC.  The
 * allocator finds a hole in O(log n), so this takes seconds, not hours.
 */
FIXTURE(many_areas) {
	int fd;
	__u32 ioas_id;
	char *buf;
};

FIXTURE_SETUP(many_areas)
{
	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	self->buf = new_buffer(4 * PSZ, 1);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(many_areas)
{
	munmap(self->buf, 4 * PSZ);
	close(self->fd);
}

/* The debug kernel needs minutes for this; the normal one seconds. */
TEST_F_TIMEOUT(many_areas, auto_iova, 900)
{
	struct iommu_iova_range allowed = {
		.start = MANY_BASE,
		.last = MANY_BASE + (__u64)(MANY_AREAS + 2) * PSZ - 1,
	};
	struct timespec t0, t1;
	__u64 iova = 0, unmapped = 0;
	__u32 ioas_id = self->ioas_id;
	char *buf = self->buf;
	int fd = self->fd;
	unsigned int i;

	ASSERT_EQ(0, ioas_allow_iovas(fd, ioas_id, &allowed, 1));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i != MANY_AREAS; i++) {
		ASSERT_EQ(0, ioas_map(fd, ioas_id, buf, PSZ, &iova, MAP_RW));
		ASSERT_EQ(MANY_BASE + (__u64)i * PSZ, iova);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("%u automatic maps in %.2f s", MANY_AREAS,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);

	/* A sub-page area keeps the offset of its user address. */
	ASSERT_EQ(0, ioas_map(fd, ioas_id, buf + 0x100, 0x100, &iova, MAP_RW));
	EXPECT_EQ(MANY_BASE + (__u64)MANY_AREAS * PSZ + 0x100, iova);
	ASSERT_EQ(0, ioas_unmap(fd, ioas_id, iova, 0x100, NULL));

	for (i = 0; i < MANY_AREAS; i += 10)
		ASSERT_EQ(0, ioas_unmap(fd, ioas_id, MANY_BASE + (__u64)i * PSZ,
					PSZ, NULL));
	/* Two pages fit no hole: after the last area. */
	ASSERT_EQ(0, ioas_map(fd, ioas_id, buf, 2 * PSZ, &iova, MAP_RW));
	EXPECT_EQ(MANY_BASE + (__u64)MANY_AREAS * PSZ, iova);
	/* Single pages refill the holes, lowest first. */
	for (i = 0; i < MANY_AREAS; i += 10) {
		ASSERT_EQ(0, ioas_map(fd, ioas_id, buf, PSZ, &iova, MAP_RW));
		ASSERT_EQ(MANY_BASE + (__u64)i * PSZ, iova);
	}
	/* Now the allowed range is full. */
	EXPECT_ERRNO(ENOSPC, ioas_map(fd, ioas_id, buf, PSZ, &iova, MAP_RW));
	EXPECT_EQ(0, ioas_unmap(fd, ioas_id, 0, UINT64_MAX, &unmapped));
	EXPECT_EQ((__u64)(MANY_AREAS + 2) * PSZ, unmapped);
}

/*
 * Holes of the right size that miss the alignment do not hide one that
 * fits: ten page-sized holes one byte off page alignment, then one aligned
 * page, in a range otherwise full (without a domain any byte granularity
 * can be mapped).  The automatic map lands in the aligned hole.
 */
TEST(auto_iova_finds_the_one_hole_that_fits)
{
	__u64 base = MANY_BASE, iova = 0;
	struct iommu_iova_range allowed = {
		.start = base,
		.last = base + 32 * PSZ - 1,
	};
	unsigned int k;
	__u32 ioas_id;
	char *buf;
	int fd;

	fd = open_ioas(&ioas_id);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_allow_iovas(fd, ioas_id, &allowed, 1));
	buf = new_buffer(4 * PSZ, 1);
	ASSERT_NE(MAP_FAILED, buf);
	for (k = 0; k != 10; k++) {
		__u64 at = base + 3 * k * PSZ;

		/* One byte, the hole [at + 1, at + PSZ], then the rest. */
		ASSERT_EQ(0, ioas_map_fixed(fd, ioas_id, buf, 1, at));
		ASSERT_EQ(0, ioas_map_fixed(fd, ioas_id, buf, 2 * PSZ - 1,
					    at + PSZ + 1));
	}
	/* [base + 30 pages, base + 31 pages) stays free; the last page not. */
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas_id, buf, PSZ, base + 31 * PSZ));

	ASSERT_EQ(0, ioas_map(fd, ioas_id, buf, PSZ, &iova, MAP_RW));
	EXPECT_EQ(base + 30 * PSZ, iova);
	EXPECT_ERRNO(ENOSPC, ioas_map(fd, ioas_id, buf, PSZ, &iova, MAP_RW));
	munmap(buf, 4 * PSZ);
	close(fd);
}

TEST_HARNESS_MAIN
