// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Large pages: the HUGE_PAGES option of an IOAS, and hugetlbfs and THP
 * backed memory mapped from every offset and across the boundary of the huge
 * pages into domains that can or cannot use large IOPTEs.
 */
#include <sys/mman.h>

#include "ioas_fixture.h"

TEST_F(ioas_map, huge_pages_option)
{
	unsigned int p = pins(self);
	__u32 stdev_id, hwpt_id;
	__u64 val, align, iova = 0;
	int rc;

	ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 0));
	ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, NULL, 0, &align));
	EXPECT_EQ(PSZ, align);
	/* Nothing finer than a CPU page now, whoever is attached. */
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, PSZ, self->base + MSZ));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + MSZ, PSZ, self->base));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, PSZ + MSZ, self->base));
	EXPECT_ERRNO(EINVAL, ioas_map(self->fd, self->ioas_id,
				      self->buf + MSZ, PSZ, &iova, MAP_RW));
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 0));

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PSZ, self->base));
	EXPECT_EQ(0, check_mapped(self, self->base, self->buf, 4 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, p));
	/* Setting it again is fine. */
	EXPECT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 0));

	if (!self->ndomains) {
		/* A domain joining keeps PAGE_SIZE alignment. */
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev_id,
					 &hwpt_id, NULL));
		ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, NULL, 0,
					 &align));
		EXPECT_EQ(PSZ, align);
		EXPECT_EQ(0, check_hwpts(self->fd, &hwpt_id, 1, self->base,
					 self->buf, 4 * PSZ));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 1));
		ASSERT_EQ(0, object_destroy(self->fd, stdev_id));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 0));
		/* Without domains it can be switched with areas present. */
		ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 1));
		EXPECT_EQ(4 * PSZ, unmap_everything(self->fd, self->ioas_id));
	} else {
		/* Allowing large pages again only affects new mappings... */
		ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 1));
		val = 7;
		ASSERT_EQ(0, option_op(self->fd, IOMMU_OPTION_HUGE_PAGES,
				       IOMMU_OPTION_OP_GET, self->ioas_id,
				       &val));
		EXPECT_EQ(1, val);
		EXPECT_EQ(0, check_mapped(self, self->base, self->buf,
					  4 * PSZ));
		/* ...but domains that map areas cannot be restricted. */
		rc = set_huge_pages(self->fd, self->ioas_id, 0);
		EXPECT_EQ(-1, rc);
		EXPECT_EQ(EINVAL, errno);
		val = 7;
		ASSERT_EQ(0, option_op(self->fd, IOMMU_OPTION_HUGE_PAGES,
				       IOMMU_OPTION_OP_GET, self->ioas_id,
				       &val));
		EXPECT_EQ(1, val);
		EXPECT_EQ(4 * PSZ, unmap_everything(self->fd, self->ioas_id));
	}
	ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, NULL, 0, &align));
	EXPECT_EQ(self->gran, align);
	EXPECT_EQ(0, unmap_everything(self->fd, self->ioas_id));

	/* A mapping inside a page forbids going to PAGE_SIZE. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + MSZ,
				    PSZ, self->base + MSZ));
	rc = set_huge_pages(self->fd, self->ioas_id, 0);
	EXPECT_EQ(-1, rc);
	if (rc == -1 && !self->ndomains)
		EXPECT_EQ(EADDRINUSE, errno);
	val = 7;
	ASSERT_EQ(0, option_op(self->fd, IOMMU_OPTION_HUGE_PAGES,
			       IOMMU_OPTION_OP_GET, self->ioas_id, &val));
	EXPECT_EQ(1, val);
	ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, NULL, 0, &align));
	EXPECT_EQ(self->gran, align);
	EXPECT_EQ(0, check_mapped(self, self->base + MSZ, self->buf + MSZ,
				  PSZ));
	EXPECT_EQ(PSZ, unmap_everything(self->fd, self->ioas_id));
	EXPECT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 0));
	EXPECT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 1));
}

/*
 * Memory in 2 MiB pages: hugetlbfs and THP, mapped from every offset and
 * across the boundary of the huge pages into domains that can or cannot use
 * large IOPTEs.
 */
FIXTURE(hugemem) {
	int fd;
	__u32 ioas_id;
	unsigned int nhwpts;
	__u32 hwpt_ids[2];
	void *raw;
	size_t raw_len;
	void *mem;	/* SZ_4M, 2 MiB aligned, in huge pages */
	long vm_pinned;
};

FIXTURE_VARIANT(hugemem) {
	bool hugetlb;
	unsigned int ndevs;
	__u32 dev_flags[2];
	__u32 memory_limit;	/* 0: the default */
};

FIXTURE_VARIANT_ADD(hugemem, hugetlb_one_domain) {
	.hugetlb = true,
	.ndevs = 1,
};

FIXTURE_VARIANT_ADD(hugemem, hugetlb_two_devices) {
	.hugetlb = true,
	.ndevs = 2,
	.dev_flags = { 0, MOCK_FLAGS_DEVICE_HUGE_IOVA },
};

FIXTURE_VARIANT_ADD(hugemem, hugetlb_huge_iova_domain) {
	.hugetlb = true,
	.ndevs = 1,
	.dev_flags = { MOCK_FLAGS_DEVICE_HUGE_IOVA },
};

FIXTURE_VARIANT_ADD(hugemem, thp_one_domain) {
	.ndevs = 1,
};

FIXTURE_VARIANT_ADD(hugemem, thp_two_devices) {
	.ndevs = 2,
	.dev_flags = { MOCK_FLAGS_DEVICE_HUGE_IOVA, 0 },
};

FIXTURE_VARIANT_ADD(hugemem, thp_huge_iova_domain) {
	.ndevs = 1,
	.dev_flags = { MOCK_FLAGS_DEVICE_HUGE_IOVA },
};

/* One PFN run per batch: a batch ends at every huge page. */
FIXTURE_VARIANT_ADD(hugemem, hugetlb_tiny_batches) {
	.hugetlb = true,
	.ndevs = 1,
	.dev_flags = { MOCK_FLAGS_DEVICE_HUGE_IOVA },
	.memory_limit = 16,
};

FIXTURE_VARIANT_ADD(hugemem, thp_tiny_batches) {
	.ndevs = 1,
	.memory_limit = 16,
};

FIXTURE_SETUP(hugemem)
{
	unsigned int i;
	long thp_kb;

	self->fd = open_batched_ctx(&self->ioas_id, &self->vm_pinned,
				    variant->memory_limit);
	ASSERT_LE(0, self->fd);
	for (i = 0; i != variant->ndevs; i++) {
		__u32 hwpt_id;

		ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
					       variant->dev_flags[i], NULL,
					       &hwpt_id, NULL));
		/* Check each distinct domain once. */
		if (!self->nhwpts || self->hwpt_ids[0] != hwpt_id)
			self->hwpt_ids[self->nhwpts++] = hwpt_id;
	}

	if (variant->hugetlb) {
		self->raw_len = SZ_4M;
		self->raw = mmap(NULL, SZ_4M, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
				 -1, 0);
		ASSERT_NE(MAP_FAILED, self->raw);
		self->mem = self->raw;
		ASSERT_EQ(0, (uintptr_t)self->mem % SZ_2M);
		memset(self->mem, 0x77, SZ_4M);
		return;
	}
	thp_kb = meminfo_kb("AnonHugePages");
	self->raw_len = SZ_4M + SZ_2M;
	self->raw = mmap(NULL, self->raw_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->raw);
	self->mem = (void *)(((uintptr_t)self->raw + SZ_2M - 1) &
			     ~(uintptr_t)(SZ_2M - 1));
	ASSERT_EQ(0, madvise(self->mem, SZ_4M, MADV_HUGEPAGE));
	memset(self->mem, 0x77, SZ_4M);
	ASSERT_LE(thp_kb + 4096, meminfo_kb("AnonHugePages"))
		TH_LOG("no transparent huge pages");
}

FIXTURE_TEARDOWN(hugemem)
{
	EXPECT_EQ(0, close_batched_ctx(self->fd, variant->memory_limit,
				       self->mem, SZ_4M, self->vm_pinned));
	munmap(self->raw, self->raw_len);
}

struct huge_case {
	__u64 offset;	/* into the 4 MiB */
	__u64 length;
};

/* Offsets in 256 KiB steps, and MOCK_IO_PAGE_SIZE steps at the edges. */
static unsigned int huge_cases(struct huge_case *c)
{
	unsigned int n = 0;
	__u64 off;

	for (off = 0; off < SZ_4M; off += SZ_256K) {
		c[n++] = (struct huge_case){ off, SZ_4M - off };
		if (off && off < SZ_2M)
			c[n++] = (struct huge_case){ off, SZ_2M };
	}
	c[n++] = (struct huge_case){ MSZ, SZ_4M - 2 * MSZ };
	c[n++] = (struct huge_case){ 0, SZ_4M - MSZ };
	c[n++] = (struct huge_case){ SZ_2M - MSZ, 2 * MSZ };
	c[n++] = (struct huge_case){ SZ_2M - PSZ - MSZ, 2 * PSZ + 2 * MSZ };
	c[n++] = (struct huge_case){ SZ_2M + MSZ, SZ_2M - MSZ };
	c[n++] = (struct huge_case){ SZ_256K + MSZ, SZ_2M };
	c[n++] = (struct huge_case){ SZ_2M - SZ_256K, SZ_256K + MSZ };
	return n;
}

static __u64 pages_touched(void *ptr, __u64 len)
{
	uintptr_t start = (uintptr_t)ptr & ~(uintptr_t)(PSZ - 1);
	uintptr_t end = ((uintptr_t)ptr + len + PSZ - 1) & ~(uintptr_t)(PSZ - 1);

	return (end - start) / PSZ;
}

TEST_F(hugemem, map_every_alignment)
{
	const __u64 shifts[] = { 0, MSZ, SZ_256K };
	struct huge_case cases[48];
	unsigned int i, n;

	n = huge_cases(cases);
	for (i = 0; i != n; i++) {
		__u64 len = cases[i].length, iova = 0, natural;
		void *ptr = self->mem + cases[i].offset;
		long npages = pages_touched(ptr, len);

		/* Automatic IOVA: aligned like the memory where possible. */
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, ptr, len,
				      &iova, MAP_RW))
			TH_LOG("offset %llx length %llx",
			       (unsigned long long)cases[i].offset,
			       (unsigned long long)len);
		natural = lowest_bit((uintptr_t)ptr | len);
		EXPECT_EQ(0, (iova ^ (uintptr_t)ptr) &
				     (max_u64(natural, PSZ) - 1));
		EXPECT_EQ(0, check_hwpts(self->fd, self->hwpt_ids,
					 self->nhwpts, iova, ptr, len));
		EXPECT_EQ(0, check_refs(self->fd, ptr, len, 1));
		EXPECT_EQ(npages, pinned_vm_pages() - self->vm_pinned);
		EXPECT_EQ(len, unmap_range(self->fd, self->ioas_id, iova,
					   len));
		EXPECT_EQ(0, md_check_refs(self->fd, self->mem, SZ_4M, 0));
		EXPECT_EQ(0, pinned_vm_pages() - self->vm_pinned);

		/* Fixed IOVA, aligned differently than the memory. */
		iova = APERTURE_START + 8 * SZ_1M + cases[i].offset +
		       shifts[i % 3];
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, ptr,
					    len, iova));
		EXPECT_EQ(0, check_hwpts(self->fd, self->hwpt_ids,
					 self->nhwpts, iova, ptr, len));
		EXPECT_EQ(0, check_refs(self->fd, ptr, len, 1));
		EXPECT_EQ(len, unmap_range(self->fd, self->ioas_id, iova,
					   len));
		EXPECT_EQ(0, md_check_refs(self->fd, self->mem, SZ_4M, 0));
	}
	EXPECT_EQ(0, pinned_vm_pages() - self->vm_pinned);
}

/* With HUGE_PAGES 0 huge pages are mapped one CPU page at a time. */
TEST_F(hugemem, small_pages_only)
{
	const struct huge_case cases[] = {
		{ 0, SZ_4M },
		{ SZ_2M - SZ_256K, SZ_1M },
		{ PSZ, SZ_4M - 2 * PSZ },
		{ SZ_2M - PSZ, 2 * PSZ },
	};
	__u64 align, iova = 0;
	unsigned int i;

	ASSERT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 0));
	ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, NULL, 0, &align));
	EXPECT_EQ(PSZ, align);
	for (i = 0; i != ARRAY_SIZE(cases); i++) {
		void *ptr = self->mem + cases[i].offset;
		__u64 len = cases[i].length;

		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, ptr, len,
				      &iova, MAP_RW));
		EXPECT_EQ(0, check_hwpts(self->fd, self->hwpt_ids,
					 self->nhwpts, iova, ptr, len));
		EXPECT_EQ(0, md_check_refs(self->fd, ptr, len, 1));
		EXPECT_EQ(len / PSZ, pinned_vm_pages() - self->vm_pinned);
		EXPECT_EQ(len, unmap_range(self->fd, self->ioas_id, iova,
					   len));
		EXPECT_EQ(0, md_check_refs(self->fd, self->mem, SZ_4M, 0));
	}
	EXPECT_ERRNO(EINVAL, ioas_map(self->fd, self->ioas_id,
				      self->mem + MSZ, PSZ, &iova, MAP_RW));
	EXPECT_EQ(0, set_huge_pages(self->fd, self->ioas_id, 1));
	EXPECT_EQ(0, pinned_vm_pages() - self->vm_pinned);
}

/* Areas mapped before any domain, then filled into a new one. */
TEST_F(hugemem, map_then_attach)
{
	__u64 cuts[] = { 0, SZ_256K + MSZ, SZ_2M - MSZ, SZ_2M + SZ_1M,
			 SZ_4M };
	__u64 base = APERTURE_START + 16 * SZ_1M;
	__u32 ioas_id, stdev_id, hwpt_id;
	long npages = 0;
	unsigned int i;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	for (i = 0; i + 1 != ARRAY_SIZE(cuts); i++) {
		ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas_id,
					    self->mem + cuts[i],
					    cuts[i + 1] - cuts[i],
					    base + cuts[i]));
		/* A page cut by two mappings is pinned by each of them. */
		npages += pages_touched(self->mem + cuts[i],
					cuts[i + 1] - cuts[i]);
	}
	ASSERT_EQ(SZ_4M / PSZ + 2, npages);
	/* Until now the pins are only those of the fixture's IOAS: none. */
	EXPECT_EQ(0, md_check_refs(self->fd, self->mem, SZ_4M, 0));

	for (i = 0; i != variant->ndevs; i++) {
		ASSERT_EQ(0, mock_domain_flags(self->fd, ioas_id,
					       variant->dev_flags[i],
					       &stdev_id, &hwpt_id, NULL));
		EXPECT_EQ(0, check_hwpts(self->fd, &hwpt_id, 1, base,
					 self->mem, SZ_4M));
		EXPECT_EQ(0, md_check_refs(self->fd, self->mem, SZ_4M, 1));
		EXPECT_EQ(npages, pinned_vm_pages() - self->vm_pinned);
		ASSERT_EQ(0, object_destroy(self->fd, stdev_id));
		EXPECT_EQ(0, md_check_refs(self->fd, self->mem, SZ_4M, 0));
		EXPECT_EQ(0, pinned_vm_pages() - self->vm_pinned);
	}
	EXPECT_EQ(SZ_4M, unmap_everything(self->fd, ioas_id));
	ASSERT_EQ(0, object_destroy(self->fd, ioas_id));
}

/*
 * Huge pages an access pins with no domain have their PFNs in the store,
 * long runs of them: a new domain is filled from the store, the PFNs go
 * back to it when the domain leaves, and unpinning gives every page back.
 */
TEST_F(hugemem, pinned_then_attach)
{
	__u64 base = APERTURE_START + 16 * SZ_1M;
	__u32 ioas_id, stdev_id, hwpt_id, item;
	long npages = SZ_4M / PSZ;
	unsigned int i;
	int afd;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas_id, self->mem, SZ_4M,
				    base));
	ASSERT_EQ(0, create_access(self->fd, ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, MOCK_FLAGS_ACCESS_WRITE,
				  base, SZ_4M, self->mem, &item));
	EXPECT_EQ(npages, pinned_vm_pages() - self->vm_pinned);
	for (i = 0; i != variant->ndevs; i++) {
		ASSERT_EQ(0, mock_domain_flags(self->fd, ioas_id,
					       variant->dev_flags[i],
					       &stdev_id, &hwpt_id, NULL));
		EXPECT_EQ(0, check_hwpts(self->fd, &hwpt_id, 1, base,
					 self->mem, SZ_4M));
		EXPECT_EQ(npages, pinned_vm_pages() - self->vm_pinned);
		ASSERT_EQ(0, object_destroy(self->fd, stdev_id));
		EXPECT_EQ(0, md_check_refs(self->fd, self->mem, SZ_4M, 1));
	}
	/* A second pin of the same range reads the store back. */
	EXPECT_EQ(0, access_pages(self->fd, afd, 0, base, SZ_4M, self->mem,
				  NULL));
	EXPECT_EQ(npages, pinned_vm_pages() - self->vm_pinned);
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, md_check_refs(self->fd, self->mem, SZ_4M, 0));
	EXPECT_EQ(0, pinned_vm_pages() - self->vm_pinned);

	/*
	 * Now a domain first: a pin of all but the first and last page gets
	 * empty slots (from index 1, so the walks pause inside xarray
	 * nodes); when the domain leaves, its PFNs go to those slots and the
	 * two pages nobody pins are unpinned; a pin inside reads them back.
	 */
	ASSERT_EQ(0, mock_domain_flags(self->fd, ioas_id, variant->dev_flags[0],
				       &stdev_id, &hwpt_id, NULL));
	ASSERT_EQ(0, create_access(self->fd, ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, base + PSZ,
				  SZ_4M - 2 * PSZ, self->mem + PSZ, NULL));
	EXPECT_EQ(npages, pinned_vm_pages() - self->vm_pinned);
	ASSERT_EQ(0, object_destroy(self->fd, stdev_id));
	EXPECT_EQ(npages - 2, pinned_vm_pages() - self->vm_pinned);
	EXPECT_EQ(0, access_pages(self->fd, afd, 0, base + 2 * PSZ, SZ_2M,
				  self->mem + 2 * PSZ, NULL));
	EXPECT_EQ(npages - 2, pinned_vm_pages() - self->vm_pinned);
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, md_check_refs(self->fd, self->mem, SZ_4M, 0));
	EXPECT_EQ(0, pinned_vm_pages() - self->vm_pinned);
	EXPECT_EQ(SZ_4M, unmap_everything(self->fd, ioas_id));
	ASSERT_EQ(0, object_destroy(self->fd, ioas_id));
}

TEST_HARNESS_MAIN
