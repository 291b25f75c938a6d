// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Sharing and restricting an IOAS: IOMMU_IOAS_COPY within and between
 * IOASes (the pages are never pinned twice), IOMMU_IOAS_ALLOW_IOVAS against
 * IOMMU_IOAS_IOVA_RANGES, and tearing it all down in every order: the IOAS
 * with areas, the source of a copy, the fd with everything live.
 */
#include <sys/mman.h>

#include "ioas_fixture.h"

TEST_F(ioas_map, copy_within_ioas)
{
	unsigned int p = pins(self), order;
	__u64 src = self->base, dst = self->base + 32 * PSZ, auto_iova = 0;

	for (order = 0; order != 2; order++) {
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, 8 * PSZ, src));
		ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &dst,
				       self->ioas_id, src, 8 * PSZ,
				       MAP_RW | FIXED));
		ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &auto_iova,
				       self->ioas_id, src, 8 * PSZ,
				       IOMMU_IOAS_MAP_READABLE));
		EXPECT_EQ(0, auto_iova % PSZ);
		EXPECT_FALSE(overlaps(auto_iova, 8 * PSZ, src, 8 * PSZ));
		EXPECT_FALSE(overlaps(auto_iova, 8 * PSZ, dst, 8 * PSZ));
		EXPECT_EQ(0, check_mapped(self, dst, self->buf, 8 * PSZ));
		EXPECT_EQ(0, check_mapped(self, auto_iova, self->buf,
					  8 * PSZ));
		/* The copies share the pins and the charge of the source. */
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, p));
		EXPECT_EQ(8 * p, pinned_delta(self));

		if (order == 0) {
			EXPECT_EQ(8 * PSZ, unmap_range(self->fd, self->ioas_id,
						       src, 8 * PSZ));
			EXPECT_EQ(0, check_mapped(self, dst, self->buf,
						  8 * PSZ));
			EXPECT_EQ(8 * PSZ, unmap_range(self->fd, self->ioas_id,
						       dst, 8 * PSZ));
		} else {
			EXPECT_EQ(8 * PSZ, unmap_range(self->fd, self->ioas_id,
						       dst, 8 * PSZ));
			EXPECT_EQ(8 * PSZ, unmap_range(self->fd, self->ioas_id,
						       auto_iova, 8 * PSZ));
			EXPECT_EQ(0, check_mapped(self, src, self->buf,
						  8 * PSZ));
			auto_iova = src;
		}
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, p));
		EXPECT_EQ(8 * p, pinned_delta(self));
		EXPECT_EQ(8 * PSZ, unmap_range(self->fd, self->ioas_id,
					       auto_iova, 8 * PSZ));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 0));
		EXPECT_EQ(0, pinned_delta(self));
	}
}

/* From an IOAS with its own domain into this one (0, 1 or 2 domains). */
TEST_F(ioas_map, copy_from_pinned_ioas)
{
	__u64 dst = self->base + 64 * PSZ, src = self->base;
	unsigned int p = pins(self), order;
	__u32 src_ioas, stdev_id, hwpt_id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &src_ioas));
	ASSERT_EQ(0, mock_domain(self->fd, src_ioas, &stdev_id, &hwpt_id,
				 NULL));
	for (order = 0; order != 2; order++) {
		ASSERT_EQ(0, ioas_map_fixed(self->fd, src_ioas, self->buf,
					    8 * PSZ, src));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 1));
		ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &dst, src_ioas,
				       src, 8 * PSZ, MAP_RW | FIXED));
		EXPECT_EQ(0, check_mapped(self, dst, self->buf, 8 * PSZ));
		EXPECT_EQ(0, check_hwpts(self->fd, &hwpt_id, 1, src,
					 self->buf, 8 * PSZ));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 1));
		EXPECT_EQ(8, pinned_delta(self));

		if (order == 0) {
			EXPECT_EQ(8 * PSZ, unmap_range(self->fd, src_ioas,
						       src, 8 * PSZ));
			EXPECT_EQ(0, md_check_refs(self->fd, self->buf,
						   8 * PSZ, p));
			EXPECT_EQ(8 * p, pinned_delta(self));
			EXPECT_EQ(0, check_mapped(self, dst, self->buf,
						  8 * PSZ));
			EXPECT_EQ(8 * PSZ, unmap_range(self->fd, self->ioas_id,
						       dst, 8 * PSZ));
		} else {
			EXPECT_EQ(8 * PSZ, unmap_range(self->fd, self->ioas_id,
						       dst, 8 * PSZ));
			EXPECT_EQ(0, md_check_refs(self->fd, self->buf,
						   8 * PSZ, 1));
			EXPECT_EQ(0, check_hwpts(self->fd, &hwpt_id, 1, src,
						 self->buf, 8 * PSZ));
			EXPECT_EQ(8 * PSZ, unmap_range(self->fd, src_ioas,
						       src, 8 * PSZ));
		}
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 0));
		EXPECT_EQ(0, pinned_delta(self));
	}
}

/* From an IOAS without a domain: the pages are pinned once, whoever needs them. */
TEST_F(ioas_map, copy_from_lazy_ioas)
{
	__u64 dst = self->base + 64 * PSZ, src = self->base;
	__u32 src_ioas, stdev_id, hwpt_id;
	unsigned int p = pins(self);

	ASSERT_EQ(0, ioas_alloc(self->fd, &src_ioas));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, src_ioas, self->buf, 8 * PSZ,
				    src));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 0));
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &dst, src_ioas, src,
			       8 * PSZ, MAP_RW | FIXED));
	EXPECT_EQ(0, check_mapped(self, dst, self->buf, 8 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, p));
	EXPECT_EQ(8 * p, pinned_delta(self));

	/* A domain for the source takes the pages it already has. */
	ASSERT_EQ(0, mock_domain(self->fd, src_ioas, &stdev_id, &hwpt_id,
				 NULL));
	EXPECT_EQ(0, check_hwpts(self->fd, &hwpt_id, 1, src, self->buf,
				 8 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 1));
	EXPECT_EQ(8, pinned_delta(self));
	ASSERT_EQ(0, object_destroy(self->fd, stdev_id));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, p));
	EXPECT_EQ(8 * p, pinned_delta(self));
	EXPECT_EQ(0, check_mapped(self, dst, self->buf, 8 * PSZ));

	EXPECT_EQ(8 * PSZ, unmap_range(self->fd, self->ioas_id, dst,
				       8 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 0));
	EXPECT_EQ(8 * PSZ, unmap_everything(self->fd, src_ioas));
	EXPECT_EQ(0, pinned_delta(self));
}

/* Parts of an area, starting and ending inside pages. */
TEST_F(ioas_map, copy_partial)
{
	__u64 g = self->gran, src = self->base, dst = self->base + 64 * PSZ;
	__u64 off = 3 * PSZ + g, len = 5 * PSZ - g;
	__u64 off2 = 6 * PSZ + g, len2 = 3 * PSZ;
	unsigned int p = pins(self);
	__u64 dst2 = 0;
	__u32 src_ioas;

	ASSERT_EQ(0, ioas_alloc(self->fd, &src_ioas));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, src_ioas, self->buf, 16 * PSZ,
				    src));

	/* Pages 3 to 7 get pinned, no others. */
	dst += g;
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &dst, src_ioas,
			       src + off, len, MAP_RW | FIXED));
	EXPECT_EQ(0, check_mapped(self, dst, self->buf + off, len));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 3 * PSZ, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 3 * PSZ, 5 * PSZ,
				   p));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 8 * PSZ, 8 * PSZ,
				   0));
	EXPECT_EQ(5 * p, pinned_delta(self));

	/* Pages 6 to 9, automatic IOVA: pages 6 and 7 stay pinned once. */
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &dst2, src_ioas,
			       src + off2, len2, MAP_RW));
	EXPECT_EQ(off2 % PSZ, dst2 % PSZ);
	EXPECT_FALSE(overlaps(dst, len, dst2, len2));
	EXPECT_EQ(0, check_mapped(self, dst2, self->buf + off2, len2));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 3 * PSZ, 7 * PSZ,
				   p));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 10 * PSZ, 6 * PSZ,
				   0));
	EXPECT_EQ(7 * p, pinned_delta(self));

	/* The first copy goes: pages 6 and 7 are still needed. */
	EXPECT_EQ(len, unmap_range(self->fd, self->ioas_id, dst, len));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 6 * PSZ, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 6 * PSZ, 4 * PSZ,
				   p));
	EXPECT_EQ(4 * p, pinned_delta(self));
	EXPECT_EQ(0, check_mapped(self, dst2, self->buf + off2, len2));
	EXPECT_EQ(len2, unmap_range(self->fd, self->ioas_id, dst2, len2));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 16 * PSZ, 0));
	EXPECT_EQ(0, pinned_delta(self));
	EXPECT_EQ(16 * PSZ, unmap_everything(self->fd, src_ioas));
}

/* A source range made of several areas, or with a hole in it. */
TEST_F(ioas_map, copy_across_areas)
{
	__u64 src = self->base, dst = self->base + 64 * PSZ;
	unsigned int p = pins(self);
	__u32 src_ioas;
	void *mem;

	ASSERT_EQ(0, ioas_alloc(self->fd, &src_ioas));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, src_ioas, self->buf, 4 * PSZ,
				    src));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, src_ioas, self->buf + 8 * PSZ,
				    4 * PSZ, src + 4 * PSZ));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, src_ioas, self->buf + 16 * PSZ,
				    PSZ, src + 9 * PSZ));

	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &dst, src_ioas,
			       src + 2 * PSZ, 4 * PSZ, MAP_RW | FIXED));
	EXPECT_EQ(0, check_mapped(self, dst, self->buf + 2 * PSZ, 2 * PSZ));
	EXPECT_EQ(0, check_mapped(self, dst + 2 * PSZ, self->buf + 8 * PSZ,
				  2 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 2 * PSZ, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 2 * PSZ, 2 * PSZ,
				   p));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 4 * PSZ, 4 * PSZ,
				   0));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 8 * PSZ, 2 * PSZ,
				   p));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 10 * PSZ, 8 * PSZ,
				   0));
	EXPECT_EQ(4 * p, pinned_delta(self));
	/* The copy is unmapped as one range. */
	EXPECT_EQ(4 * PSZ, unmap_range(self->fd, self->ioas_id, dst,
				       4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 16 * PSZ, 0));

	/* Any unmapped byte in the source range: ENOENT. */
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, self->ioas_id, &dst,
				       src_ioas, src + 6 * PSZ, 4 * PSZ,
				       MAP_RW | FIXED));
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, self->ioas_id, &dst,
				       src_ioas, src + 8 * PSZ, PSZ,
				       MAP_RW | FIXED));
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, self->ioas_id, &dst,
				       src_ioas, src + 3 * PSZ, 6 * PSZ,
				       MAP_RW));
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, self->ioas_id, &dst,
				       src_ioas, src - PSZ, 2 * PSZ,
				       MAP_RW));
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, self->ioas_id, &dst,
				       src_ioas, src + 9 * PSZ, 2 * PSZ,
				       MAP_RW));
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 24 * PSZ, 0));

	/* The second part cannot be pinned: the first is let go again. */
	mem = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, src_ioas, self->buf + 20 * PSZ,
				    2 * PSZ, src + 16 * PSZ));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, src_ioas, mem, 2 * PSZ,
				    src + 18 * PSZ));
	ASSERT_EQ(0, munmap(mem, 2 * PSZ));
	if (self->ndomains) {
		EXPECT_ERRNO(EFAULT, ioas_copy(self->fd, self->ioas_id, &dst,
					       src_ioas, src + 16 * PSZ,
					       4 * PSZ, MAP_RW | FIXED));
		EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));
	} else {
		ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &dst,
				       src_ioas, src + 16 * PSZ, 4 * PSZ,
				       MAP_RW | FIXED));
		EXPECT_EQ(4 * PSZ, unmap_everything(self->fd, self->ioas_id));
	}
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 0));
	EXPECT_EQ(0, pinned_delta(self));
	EXPECT_EQ(13 * PSZ, unmap_everything(self->fd, src_ioas));
}

TEST_F(ioas_map, copy_errors)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.dst_ioas_id = self->ioas_id,
		.src_ioas_id = self->ioas_id,
	};
	__u64 rw = self->base, ro = self->base + 8 * PSZ;
	__u64 dst = self->base + 64 * PSZ;
	unsigned int p = pins(self);
	struct ranges_snap snap;

	/* A writeable area followed by a read-only one, then a hole. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PSZ, rw));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf + 8 * PSZ,
			      4 * PSZ, &ro, IOMMU_IOAS_MAP_READABLE | FIXED));
	take_snap(self->fd, self->ioas_id, &snap);

	/* Read-only memory cannot be made writeable by a copy. */
	EXPECT_ERRNO(EPERM, ioas_copy(self->fd, self->ioas_id, &dst,
				      self->ioas_id, ro, 4 * PSZ,
				      MAP_RW | FIXED));
	EXPECT_ERRNO(EPERM, ioas_copy(self->fd, self->ioas_id, &dst,
				      self->ioas_id, ro + PSZ, PSZ,
				      IOMMU_IOAS_MAP_WRITEABLE | FIXED));
	/* Also not when only a part of the range is read-only. */
	EXPECT_ERRNO(EPERM, ioas_copy(self->fd, self->ioas_id, &dst,
				      self->ioas_id, rw + 6 * PSZ, 4 * PSZ,
				      MAP_RW));

	/* Source not (fully) mapped. */
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, self->ioas_id, &dst,
				       self->ioas_id, ro + 4 * PSZ, PSZ,
				       IOMMU_IOAS_MAP_READABLE | FIXED));
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, self->ioas_id, &dst,
				       self->ioas_id, ro + 3 * PSZ, 2 * PSZ,
				       IOMMU_IOAS_MAP_READABLE | FIXED));
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, self->ioas_id, &dst,
				       self->ioas_id, rw - PSZ, 2 * PSZ,
				       MAP_RW | FIXED));
	EXPECT_ERRNO(ENOENT, ioas_copy(self->fd, self->ioas_id, &dst,
				       self->ioas_id, rw, 16 * PSZ,
				       IOMMU_IOAS_MAP_READABLE | FIXED));
	/* The destination is taken. */
	dst = rw + 4 * PSZ;
	EXPECT_ERRNO(EEXIST, ioas_copy(self->fd, self->ioas_id, &dst,
				       self->ioas_id, rw, PSZ,
				       MAP_RW | FIXED));
	dst = ro + 3 * PSZ;
	EXPECT_ERRNO(EEXIST, ioas_copy(self->fd, self->ioas_id, &dst,
				       self->ioas_id, rw, 2 * PSZ,
				       IOMMU_IOAS_MAP_READABLE | FIXED));
	dst = self->base + 64 * PSZ;

	/* Flags, length and ranges as for IOMMU_IOAS_MAP. */
	cmd.src_iova = rw;
	cmd.dst_iova = dst;
	cmd.length = PSZ;
	cmd.flags = MAP_RW | FIXED | 1 << 3;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));
	cmd.flags = FIXED;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));
	cmd.flags = MAP_RW | FIXED;
	cmd.length = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));
	cmd.length = UINT64_MAX;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));
	cmd.length = PSZ;
	cmd.src_iova = UINT64_MAX;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));
	cmd.src_iova = -PSZ;
	cmd.length = 2 * PSZ;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));
	cmd.src_iova = rw;
	cmd.dst_iova = UINT64_MAX;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));
	cmd.dst_iova = -PSZ;
	EXPECT_ERRNO(EOVERFLOW, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));

	/* Destinations only a domain refuses. */
	cmd.length = PSZ;
	cmd.dst_iova = 0;
	if (self->ndomains) {
		EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));
		cmd.dst_iova = dst + 1;
		EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));
	} else {
		ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));
		EXPECT_EQ(PSZ, unmap_range(self->fd, self->ioas_id, 0, PSZ));
		cmd.dst_iova = dst + 1;
		ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_COPY, &cmd));
		EXPECT_EQ(PSZ, unmap_range(self->fd, self->ioas_id, dst + 1,
					   PSZ));
	}

	/* A read-only copy of read-only memory is fine, also across both. */
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &dst, self->ioas_id,
			       ro, 4 * PSZ, IOMMU_IOAS_MAP_READABLE | FIXED));
	EXPECT_EQ(0, check_mapped(self, dst, self->buf + 8 * PSZ, 4 * PSZ));
	EXPECT_EQ(4 * PSZ, unmap_range(self->fd, self->ioas_id, dst,
				       4 * PSZ));
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &dst, self->ioas_id,
			       rw + 6 * PSZ, 4 * PSZ,
			       IOMMU_IOAS_MAP_READABLE | FIXED));
	EXPECT_EQ(0, check_mapped(self, dst, self->buf + 6 * PSZ, 4 * PSZ));
	EXPECT_EQ(4 * PSZ, unmap_range(self->fd, self->ioas_id, dst,
				       4 * PSZ));

	EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 12 * PSZ, p));
	EXPECT_EQ(12 * p, pinned_delta(self));
	EXPECT_EQ(12 * PSZ, unmap_everything(self->fd, self->ioas_id));
}

TEST_F(ioas_map, allow_iovas_reported)
{
	__u64 b = self->base;
	struct iommu_iova_range allowed[] = {
		{ b + 8 * PSZ, b + 10 * PSZ - 1 },	/* adjacent to two */
		{ b + PSZ, b + 2 * PSZ - 1 },
		{ b + 4 * PSZ, b + 8 * PSZ - 1 },
		{ b + 10 * PSZ, b + 12 * PSZ - 1 },
	};
	struct iommu_iova_range r[MAX_RANGES];
	__u64 align;

	/* Without an allowed list: everything, or the aperture. */
	ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, r, MAX_RANGES,
				 &align));
	EXPECT_EQ(self->ndomains ? APERTURE_START : 0, r[0].start);
	EXPECT_EQ(self->ndomains ? APERTURE_LAST : UINT64_MAX, r[0].last);
	EXPECT_EQ(self->gran, align);

	/* Reported merged and sorted. */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, allowed,
				      ARRAY_SIZE(allowed)));
	ASSERT_EQ(2, ioas_ranges(self->fd, self->ioas_id, r, MAX_RANGES,
				 &align));
	EXPECT_EQ(b + PSZ, r[0].start);
	EXPECT_EQ(b + 2 * PSZ - 1, r[0].last);
	EXPECT_EQ(b + 4 * PSZ, r[1].start);
	EXPECT_EQ(b + 12 * PSZ - 1, r[1].last);
	EXPECT_EQ(self->gran, align);

	/* A reserved range outside of them changes nothing. */
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, b + 2 * PSZ,
				  2 * PSZ));
	ASSERT_EQ(2, ioas_ranges(self->fd, self->ioas_id, r, MAX_RANGES,
				 NULL));
	EXPECT_EQ(b + 2 * PSZ - 1, r[0].last);
	EXPECT_EQ(b + 4 * PSZ, r[1].start);

	/* Cleared: all minus the reserved range (and the aperture). */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, NULL, 0));
	ASSERT_EQ(2, ioas_ranges(self->fd, self->ioas_id, r, MAX_RANGES,
				 NULL));
	EXPECT_EQ(self->ndomains ? APERTURE_START : 0, r[0].start);
	EXPECT_EQ(b + 2 * PSZ - 1, r[0].last);
	EXPECT_EQ(b + 4 * PSZ, r[1].start);
	EXPECT_EQ(self->ndomains ? APERTURE_LAST : UINT64_MAX, r[1].last);

	/* The list may end at the last IOVA when there is no domain. */
	allowed[0].start = APERTURE_LAST + 1 - PSZ;
	allowed[0].last = self->ndomains ? APERTURE_LAST : UINT64_MAX;
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, allowed, 1));
	ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, r, MAX_RANGES,
				 NULL));
	EXPECT_EQ(0, memcmp(allowed, r, sizeof(r[0])));
}

TEST_F(ioas_map, allow_iovas_errors)
{
	__u64 b = self->base;
	struct iommu_iova_range good = { b + 16 * PSZ, b + 32 * PSZ - 1 };
	struct iommu_iova_range bad[2] = {
		{ b + 64 * PSZ, b + 72 * PSZ - 1 },
	};
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 1,
		.allowed_iovas = (uintptr_t)&good,
	};
	struct iommu_iova_range r[MAX_RANGES];
	struct ranges_snap snap;
	__u32 stdev_id, hwpt_id;

	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, b, 4 * PSZ));
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, &good, 1));
	take_snap(self->fd, self->ioas_id, &snap);

	/* start > last; the old list stays, also if only one entry is bad. */
	bad[1].start = b + 80 * PSZ;
	bad[1].last = bad[1].start - 1;
	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id, bad,
					      2));
	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id,
					      &bad[1], 1));
	/* A range of one byte is refused too, as in v6.12. */
	bad[1].start = b + 80 * PSZ;
	bad[1].last = bad[1].start;
	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id,
					      &bad[1], 1));
	/* Ranges of one list may not overlap, not even by a byte. */
	bad[1].start = b + 72 * PSZ - 1;
	bad[1].last = b + 80 * PSZ;
	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id, bad,
					      2));
	bad[1] = bad[0];
	EXPECT_ERRNO(EINVAL, ioas_allow_iovas(self->fd, self->ioas_id, bad,
					      2));
	/* An allowed range must not intersect a reserved one... */
	bad[1].start = b + 3 * PSZ;
	bad[1].last = b + 5 * PSZ;
	EXPECT_ERRNO(EADDRINUSE, ioas_allow_iovas(self->fd, self->ioas_id,
						  bad, 2));
	/* ...nor the other way round. */
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas_id,
					      b + 31 * PSZ, 2 * PSZ));
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas_id,
					      b, 64 * PSZ));
	/* Outside the aperture of a domain. */
	bad[1].start = 0;
	bad[1].last = PSZ - 1;
	if (self->ndomains) {
		EXPECT_ERRNO(EADDRINUSE, ioas_allow_iovas(self->fd,
							  self->ioas_id, bad,
							  2));
		bad[1].start = APERTURE_LAST;
		bad[1].last = APERTURE_LAST + PSZ;
		EXPECT_ERRNO(EADDRINUSE, ioas_allow_iovas(self->fd,
							  self->ioas_id,
							  &bad[1], 1));
	}
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	cmd.__reserved = 0;
	cmd.allowed_iovas = 8;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd));
	EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));

	/* A device cannot come in if it would cut into the allowed ranges. */
	if (!self->ndomains) {
		ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, bad,
					      2));
		take_snap(self->fd, self->ioas_id, &snap);
		EXPECT_ERRNO(EADDRINUSE, mock_domain(self->fd, self->ioas_id,
						     &stdev_id, &hwpt_id,
						     NULL));
		EXPECT_TRUE(snap_unchanged(self->fd, self->ioas_id, &snap));
		ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, bad,
					      1));
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev_id,
					 &hwpt_id, NULL));
		ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, r,
					 MAX_RANGES, NULL));
		EXPECT_EQ(0, memcmp(bad, r, sizeof(r[0])));
		/* Back to no domain: the reserved range only. */
		ASSERT_EQ(0, object_destroy(self->fd, stdev_id));
	}

	/* A mapping cannot become reserved. */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, NULL, 0));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * PSZ, b + 8 * PSZ));
	EXPECT_ERRNO(EADDRINUSE, add_reserved(self->fd, self->ioas_id,
					      b + 9 * PSZ, PSZ));
	EXPECT_EQ(2 * PSZ, unmap_everything(self->fd, self->ioas_id));
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, b + 9 * PSZ, PSZ));
}

/* IOMMU_DESTROY of the IOAS: with areas, and with devices attached. */
TEST_F(ioas_map, destroy_ioas_with_areas)
{
	struct iommu_iova_range r[MAX_RANGES];
	unsigned int i, n = self->ndomains;
	__u64 iova = self->base + 16 * PSZ, align;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PSZ, self->base));
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &iova, self->ioas_id,
			       self->base + PSZ, 2 * PSZ, MAP_RW | FIXED));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf + 4 * PSZ,
			      4 * PSZ, &iova, MAP_RW));

	/* The devices keep the IOAS alive; the last one out unpins. */
	for (i = 0; i != n; i++) {
		EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas_id));
		EXPECT_EQ(0, check_hwpts(self->fd, &self->hwpt_ids[i], n - i,
					 self->base, self->buf, 4 * PSZ));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 1));
		EXPECT_EQ(8, pinned_delta(self));
		ASSERT_EQ(0, object_destroy(self->fd, self->stdev_ids[i]));
	}
	if (n) {
		EXPECT_ERRNO(ENOENT, md_check_map(self->fd, self->hwpt_ids[0],
						  self->base, PSZ,
						  self->buf));
		ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, r,
					 MAX_RANGES, &align));
		EXPECT_EQ(0, r[0].start);
		EXPECT_EQ(UINT64_MAX, r[0].last);
		EXPECT_EQ(1, align);
		self->ndomains = 0;
	}
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 0));
	EXPECT_EQ(0, pinned_delta(self));

	/* Without devices the areas do not hold it back. */
	ASSERT_EQ(0, object_destroy(self->fd, self->ioas_id));
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, 0,
					UINT64_MAX, NULL));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 0));
}

/* The source IOAS of a copy goes away first. */
TEST_F(ioas_map, destroy_copy_source)
{
	__u64 dst = self->base + 64 * PSZ, dst2 = dst + 16 * PSZ;
	__u32 lazy_ioas, pinned_ioas, stdev_id;
	unsigned int p = pins(self);

	ASSERT_EQ(0, ioas_alloc(self->fd, &lazy_ioas));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, lazy_ioas, self->buf, 4 * PSZ,
				    self->base));
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &dst, lazy_ioas,
			       self->base, 4 * PSZ, MAP_RW | FIXED));
	ASSERT_EQ(0, object_destroy(self->fd, lazy_ioas));
	EXPECT_EQ(0, check_mapped(self, dst, self->buf, 4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, p));

	ASSERT_EQ(0, ioas_alloc(self->fd, &pinned_ioas));
	ASSERT_EQ(0, mock_domain(self->fd, pinned_ioas, &stdev_id, NULL,
				 NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, pinned_ioas,
				    self->buf + 4 * PSZ, 4 * PSZ, self->base));
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &dst2, pinned_ioas,
			       self->base, 4 * PSZ, MAP_RW | FIXED));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, pinned_ioas));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 4 * PSZ, 4 * PSZ, 1));
	ASSERT_EQ(0, object_destroy(self->fd, stdev_id));
	ASSERT_EQ(0, object_destroy(self->fd, pinned_ioas));
	EXPECT_EQ(0, check_mapped(self, dst2, self->buf + 4 * PSZ, 4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, p));
	EXPECT_EQ(8 * p, pinned_delta(self));

	EXPECT_EQ(8 * PSZ, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 8 * PSZ, 0));
	EXPECT_EQ(0, pinned_delta(self));
}

/* Closing the fd with everything live lets go of every page. */
TEST_F(ioas_map, close_with_everything_live)
{
	__u32 other, stdev_id, hwpt_id;
	__u64 iova = self->base + 32 * PSZ;
	int fd;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PSZ, self->base));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf + 8 * PSZ,
			      4 * PSZ, &iova, IOMMU_IOAS_MAP_READABLE));
	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	ASSERT_EQ(0, mock_domain(self->fd, other, &stdev_id, &hwpt_id, NULL));
	ASSERT_EQ(0, ioas_copy(self->fd, other, &iova, self->ioas_id,
			       self->base + 2 * PSZ, 4 * PSZ, MAP_RW));
	ASSERT_EQ(0, ioas_map(self->fd, other, self->buf + 16 * PSZ, 4 * PSZ,
			      &iova, MAP_RW));
	ASSERT_EQ(0, ioas_copy(self->fd, self->ioas_id, &iova, other, iova,
			       4 * PSZ, MAP_RW));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 2 * PSZ, 4 * PSZ,
				   1));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 16 * PSZ, 4 * PSZ,
				   1));
	EXPECT_LT(0, pinned_delta(self));

	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, md_check_refs(fd, self->buf, BUF_PAGES * PSZ, 0));
	EXPECT_EQ(0, pinned_delta(self));
	close(fd);
}

TEST_HARNESS_MAIN
