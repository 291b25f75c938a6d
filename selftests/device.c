// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Devices and hw_pagetables, through the mock devices of IOMMU_TEST_CMD:
 * attaching to an IOAS (automatic hw_pagetables, shared by compatible
 * devices) or to a hw_pagetable, IOMMU_DESTROY's rules for devices and
 * hw_pagetables, the IOVA ranges a domain imposes, moving devices between
 * IOASes and hw_pagetables (MOCK_DOMAIN_REPLACE), filling new domains from
 * existing maps (also on huge pages), and tearing everything down in any
 * order with the page pins back at zero.
 */
#include <sys/mman.h>

#include "helpers.h"

#define IOVA ((__u64)MOCK_APERTURE_START)
#define IOVA2 (IOVA + (4ULL << 20))
#define IOVA3 (IOVA + (8ULL << 20))
#define BUF_PAGES 16
#define HUGE_SIZE (2UL << 20)
/* The first IOVA after the aperture. */
#define APERTURE_END ((__u64)MOCK_APERTURE_LAST + 1)
#define PIN MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES

/* Are pages [first, first + n) of @buf pinned @refs times? */
static int page_refs(int fd, char *buf, size_t first, size_t n,
		     unsigned int refs)
{
	size_t pg = sysconf(_SC_PAGESIZE);

	return md_check_refs(fd, buf + first * pg, n * pg, refs);
}

/* AnonHugePages of the mapping that contains @addr, in kB, or -1. */
static long anon_huge_kb(void *addr)
{
	unsigned long start, end, a = (uintptr_t)addr;
	bool inside = false;
	char line[256];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* Only the first line of each mapping has an address range. */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			inside = a >= start && a < end;
			continue;
		}
		if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* Does the IOAS report exactly [start, last] as usable, with @align? */
static int one_range(int fd, __u32 ioas_id, __u64 start, __u64 last,
		     __u64 align)
{
	struct iommu_iova_range ranges[4];
	__u64 got_align = 0;
	int n;

	n = ioas_ranges(fd, ioas_id, ranges, 4, &got_align);
	if (n != 1)
		return n < 0 ? n : -1000 - n;
	if (ranges[0].start != start || ranges[0].last != last ||
	    got_align != align)
		return -1;
	return 0;
}

/* The whole address space, as an IOAS without devices reports it. */
static int full_range(int fd, __u32 ioas_id)
{
	return one_range(fd, ioas_id, 0, UINT64_MAX, 1);
}

/* What a mock domain can translate. */
static int aperture_range(int fd, __u32 ioas_id)
{
	return one_range(fd, ioas_id, MOCK_APERTURE_START, MOCK_APERTURE_LAST,
			 MOCK_IO_PAGE_SIZE);
}

FIXTURE(device) {
	int fd;
	__u32 ioas_id;
	size_t page;
	size_t size;
	char *buf;
	char *buf2;
	long pinned_base;
};

FIXTURE_SETUP(device)
{
	self->page = sysconf(_SC_PAGESIZE);
	self->size = BUF_PAGES * self->page;
	self->fd = open_counted_ctx(&self->ioas_id, &self->pinned_base);
	ASSERT_LE(0, self->fd);
	self->buf = new_buffer(self->size, 1);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->buf2 = new_buffer(self->size, 2);
	ASSERT_NE(MAP_FAILED, self->buf2);
}

FIXTURE_TEARDOWN(device)
{
	int fd;

	if (self->fd >= 0)
		close(self->fd);
	/* Whatever the test left behind went away with the context. */
	fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, md_check_refs(fd, self->buf, self->size, 0));
	EXPECT_EQ(0, md_check_refs(fd, self->buf2, self->size, 0));
	EXPECT_EQ(self->pinned_base, pinned_vm_pages());
	close(fd);
}

/* Pages charged for pinning since the test started. */
#define PINNED() (pinned_vm_pages() - self->pinned_base)

/* Devices attached to an IOAS share its automatic hw_pagetable. */
TEST_F(device, attach_auto_hwpt)
{
	__u32 stdev[5], hwpt[5], idev[5];
	unsigned int i;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev[0], &hwpt[0],
				 &idev[0]));
	EXPECT_NE(0, stdev[0]);
	EXPECT_NE(0, hwpt[0]);
	EXPECT_NE(0, idev[0]);
	EXPECT_NE(stdev[0], hwpt[0]);
	EXPECT_NE(stdev[0], idev[0]);
	EXPECT_NE(hwpt[0], idev[0]);
	EXPECT_NE(self->ioas_id, hwpt[0]);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt[0], IOVA, self->size,
				  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));

	/* A second device joins the same hw_pagetable. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev[1], &hwpt[1],
				 &idev[1]));
	EXPECT_EQ(hwpt[0], hwpt[1]);
	EXPECT_NE(stdev[0], stdev[1]);
	EXPECT_NE(idev[0], idev[1]);

	/*
	 * Devices with other properties work too: one that needs the large
	 * IOPTE size cannot join the first domain and gets its own.
	 */
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_HUGE_IOVA, &stdev[2],
				       &hwpt[2], &idev[2]));
	EXPECT_NE(hwpt[0], hwpt[2]);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt[2], IOVA, self->size,
				  self->buf));
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_NO_DIRTY, &stdev[3],
				       &hwpt[3], &idev[3]));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt[3], IOVA, self->size,
				  self->buf));

	/* Attached to the hw_pagetable itself. */
	ASSERT_EQ(0, mock_domain(self->fd, hwpt[0], &stdev[4], &hwpt[4],
				 &idev[4]));
	EXPECT_EQ(hwpt[0], hwpt[4]);

	/* However many devices and domains, each page is pinned once. */
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(BUF_PAGES, PINNED());
	for (i = 4; i > 0; i--) {
		EXPECT_EQ(0, object_destroy(self->fd, stdev[i]));
		EXPECT_EQ(0, md_check_map(self->fd, hwpt[0], IOVA, self->size,
					  self->buf));
	}
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, object_destroy(self->fd, stdev[0]));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	EXPECT_EQ(0, PINNED());
}

TEST_F(device, attach_errors)
{
	__u32 stdev, hwpt, idev;

	EXPECT_ERRNO(ENOENT, mock_domain(self->fd, 0, NULL, NULL, NULL));
	EXPECT_ERRNO(ENOENT, mock_domain(self->fd, 0xfffff, NULL, NULL,
					 NULL));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt,
				 &idev));
	/* Devices are not page tables. */
	EXPECT_ERRNO(EINVAL, mock_domain(self->fd, idev, NULL, NULL, NULL));
	EXPECT_ERRNO(EINVAL, mock_domain(self->fd, stdev, NULL, NULL, NULL));
	EXPECT_ERRNO(EINVAL, mock_domain_flags(self->fd, self->ioas_id,
					       1 << 2, NULL, NULL, NULL));
	EXPECT_ERRNO(EINVAL, mock_domain_flags(self->fd, hwpt, 1U << 31,
					       NULL, NULL, NULL));

	/* The hw_pagetable went away with its only device. */
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_ERRNO(ENOENT, mock_domain(self->fd, hwpt, NULL, NULL, NULL));
	/* None of the failures left anything holding the IOAS. */
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas_id));
}

TEST_F(device, destroy_rules)
{
	__u32 stdev[3], hwpt[3], idev[3], ioas2, pt;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	/* Made first, so that no later object reuses a destroyed ID. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &stdev[2], &hwpt[2],
				 &idev[2]));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev[0], &hwpt[0],
				 &idev[0]));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev[1], &hwpt[1],
				 &idev[1]));

	/* The driver owns its device; devices hold hwpt and IOAS. */
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, idev[0]));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, hwpt[0]));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas_id));

	EXPECT_EQ(0, object_destroy(self->fd, stdev[0]));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, stdev[0]));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, idev[0]));
	/* The other device keeps the hw_pagetable. */
	EXPECT_EQ(0, md_check_map(self->fd, hwpt[0], IOVA, self->size,
				  self->buf));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, hwpt[1]));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas_id));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));

	/* The automatic hw_pagetable goes with the last device. */
	EXPECT_EQ(0, object_destroy(self->fd, stdev[1]));
	EXPECT_ERRNO(ENOENT, md_check_map(self->fd, hwpt[0], IOVA, self->size,
					  self->buf));
	pt = hwpt[0];
	EXPECT_ERRNO(ENOENT, mock_domain_replace(self->fd, stdev[2], &pt));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, hwpt[0]));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, idev[1]));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	EXPECT_EQ(0, full_range(self->fd, self->ioas_id));
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas_id));

	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, ioas2));
	EXPECT_EQ(0, object_destroy(self->fd, stdev[2]));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
}

TEST_F(device, iova_ranges_follow_devices)
{
	__u32 stdev[2];

	EXPECT_EQ(0, full_range(self->fd, self->ioas_id));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev[0], NULL,
				 NULL));
	EXPECT_EQ(0, aperture_range(self->fd, self->ioas_id));
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_HUGE_IOVA, &stdev[1],
				       NULL, NULL));
	EXPECT_EQ(0, aperture_range(self->fd, self->ioas_id));
	EXPECT_EQ(0, object_destroy(self->fd, stdev[0]));
	EXPECT_EQ(0, aperture_range(self->fd, self->ioas_id));
	EXPECT_EQ(0, object_destroy(self->fd, stdev[1]));
	EXPECT_EQ(0, full_range(self->fd, self->ioas_id));
}

/* A domain cannot join an IOAS with maps it cannot translate. */
TEST_F(device, attach_with_map_outside_aperture)
{
	size_t pg = self->page;
	const struct {
		__u64 iova;
		size_t len;
	} maps[] = {
		{ 0, pg },
		{ MOCK_APERTURE_START - pg, 2 * pg },
		{ APERTURE_END - pg, 2 * pg },
		{ APERTURE_END, pg },
		{ 1ULL << 40, pg },
	};
	__u64 unmapped = 0;
	__u32 ioas2, stdev, hwpt;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(maps); i++) {
		ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
		ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf2,
					    maps[i].len, maps[i].iova));
		EXPECT_ERRNO(EADDRINUSE, mock_domain(self->fd, ioas2, NULL,
						     NULL, NULL));
		/* Nothing changed: not pinned, not reserved, not held. */
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size,
					   0));
		EXPECT_EQ(0, full_range(self->fd, ioas2));
		if (i % 2) {
			EXPECT_EQ(0, object_destroy(self->fd, ioas2));
			continue;
		}
		/* The map is still there; without it the device is fine. */
		EXPECT_EQ(0, ioas_unmap(self->fd, ioas2, maps[i].iova,
					maps[i].len, &unmapped));
		EXPECT_EQ(maps[i].len, unmapped);
		ASSERT_EQ(0, mock_domain(self->fd, ioas2, &stdev, NULL, NULL));
		EXPECT_EQ(0, object_destroy(self->fd, stdev));
		EXPECT_EQ(0, object_destroy(self->fd, ioas2));
	}

	/* Inside the aperture but not aligned to MOCK_IO_PAGE_SIZE. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf2 + 100,
				    1000, IOVA + 100));
	EXPECT_ERRNO(EADDRINUSE, mock_domain(self->fd, self->ioas_id, NULL,
					     NULL, NULL));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size, 0));
	EXPECT_EQ(0, full_range(self->fd, self->ioas_id));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA, self->page,
				NULL));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt,
				 NULL));
	/* While attached, nothing can be mapped outside the aperture. */
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf2, pg, 0));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf2, 2 * pg,
					    APERTURE_END - pg));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
}

/* Nor with allowed ranges it cannot translate. */
TEST_F(device, attach_with_allowed_outside_aperture)
{
	size_t pg = self->page;
	struct iommu_iova_range bad[] = {
		{ 0, (1 << 20) - 1 },
		{ MOCK_APERTURE_START - pg, MOCK_APERTURE_START + pg - 1 },
		{ MOCK_APERTURE_LAST, APERTURE_END + pg - 1 },
	};
	struct iommu_iova_range good = {
		MOCK_APERTURE_START, MOCK_APERTURE_START + (1 << 20) - 1
	};
	__u32 ioas2, stdev;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
		ASSERT_EQ(0, ioas_allow_iovas(self->fd, ioas2, &bad[i], 1));
		EXPECT_ERRNO(EADDRINUSE, mock_domain(self->fd, ioas2, NULL,
						     NULL, NULL));
		EXPECT_EQ(0, one_range(self->fd, ioas2, bad[i].start,
				       bad[i].last, 1));
		/* No hw_pagetable holds it. */
		EXPECT_EQ(0, object_destroy(self->fd, ioas2));
	}

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, &good, 1));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL,
				 NULL));
	EXPECT_EQ(0, one_range(self->fd, self->ioas_id, good.start, good.last,
			       MOCK_IO_PAGE_SIZE));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT_ERRNO(EADDRINUSE, ioas_allow_iovas(self->fd,
							  self->ioas_id,
							  &bad[i], 1));
	EXPECT_EQ(0, one_range(self->fd, self->ioas_id, good.start, good.last,
			       MOCK_IO_PAGE_SIZE));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(0, one_range(self->fd, self->ioas_id, good.start, good.last,
			       1));
	EXPECT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, NULL, 0));
	EXPECT_EQ(0, full_range(self->fd, self->ioas_id));
}

/* A device moves between IOASes; each time it gets a fresh domain. */
TEST_F(device, replace_between_ioas)
{
	__u32 ioas2, stdev, hwpt1, hwpt2, pt;
	unsigned int round;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf2, self->size,
				    IOVA2));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt1,
				 NULL));

	for (round = 0; round < 2; round++) {
		pt = ioas2;
		ASSERT_EQ(0, mock_domain_replace(self->fd, stdev, &pt));
		hwpt2 = pt;
		EXPECT_NE(ioas2, hwpt2);
		EXPECT_NE(hwpt1, hwpt2);
		/* The old automatic hw_pagetable lost its only device. */
		EXPECT_ERRNO(ENOENT, md_check_map(self->fd, hwpt1, IOVA,
						  self->page, self->buf));
		EXPECT_EQ(0, md_check_map(self->fd, hwpt2, IOVA2, self->size,
					  self->buf2));
		EXPECT_ERRNO(EINVAL, md_check_map(self->fd, hwpt2, IOVA,
						  self->page, self->buf));
		/* Pins follow the IOAS the device is on. */
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size,
					   0));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size,
					   1));
		EXPECT_EQ(BUF_PAGES, PINNED());
		EXPECT_EQ(0, full_range(self->fd, self->ioas_id));
		EXPECT_EQ(0, aperture_range(self->fd, ioas2));
		EXPECT_ERRNO(EBUSY, object_destroy(self->fd, ioas2));

		pt = self->ioas_id;
		ASSERT_EQ(0, mock_domain_replace(self->fd, stdev, &pt));
		hwpt1 = pt;
		EXPECT_NE(hwpt2, hwpt1);
		EXPECT_ERRNO(ENOENT, md_check_map(self->fd, hwpt2, IOVA2,
						  self->page, self->buf2));
		EXPECT_EQ(0, md_check_map(self->fd, hwpt1, IOVA, self->size,
					  self->buf));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size,
					   1));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size,
					   0));
		EXPECT_EQ(0, full_range(self->fd, ioas2));
	}
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
}

/* Replacing onto a hw_pagetable, the same one, and bad targets. */
TEST_F(device, replace_onto_hwpt)
{
	__u32 ioas2, stdev[2], hwpt[2], idev[2], pt;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf2, self->size,
				    IOVA2));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev[0], &hwpt[0],
				 &idev[0]));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &stdev[1], &hwpt[1],
				 &idev[1]));

	pt = hwpt[1];
	ASSERT_EQ(0, mock_domain_replace(self->fd, stdev[0], &pt));
	EXPECT_EQ(hwpt[1], pt);
	EXPECT_ERRNO(ENOENT, md_check_map(self->fd, hwpt[0], IOVA,
					  self->page, self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size, 1));
	EXPECT_EQ(0, full_range(self->fd, self->ioas_id));

	/* Where it is already, directly or through the IOAS. */
	ASSERT_EQ(0, mock_domain_replace(self->fd, stdev[0], &pt));
	EXPECT_EQ(hwpt[1], pt);
	pt = ioas2;
	ASSERT_EQ(0, mock_domain_replace(self->fd, stdev[0], &pt));
	EXPECT_EQ(hwpt[1], pt);
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size, 1));

	/* Bad targets and bad devices change nothing. */
	pt = 0;
	EXPECT_ERRNO(ENOENT, mock_domain_replace(self->fd, stdev[0], &pt));
	pt = 0xfffff;
	EXPECT_ERRNO(ENOENT, mock_domain_replace(self->fd, stdev[0], &pt));
	pt = idev[1];
	EXPECT_ERRNO(EINVAL, mock_domain_replace(self->fd, stdev[0], &pt));
	pt = stdev[1];
	EXPECT_ERRNO(EINVAL, mock_domain_replace(self->fd, stdev[0], &pt));
	pt = self->ioas_id;
	EXPECT_ERRNO(ENOENT, mock_domain_replace(self->fd, 0xfffff, &pt));
	EXPECT_ERRNO(ENOENT, mock_domain_replace(self->fd, idev[0], &pt));
	EXPECT_ERRNO(ENOENT, mock_domain_replace(self->fd, hwpt[1], &pt));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt[1], IOVA2, self->size,
				  self->buf2));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, hwpt[1]));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));

	/* The moved device alone keeps the hw_pagetable. */
	EXPECT_EQ(0, object_destroy(self->fd, stdev[1]));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt[1], IOVA2, self->size,
				  self->buf2));
	pt = self->ioas_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, stdev[0], &pt));
	EXPECT_ERRNO(ENOENT, md_check_map(self->fd, hwpt[1], IOVA2,
					  self->page, self->buf2));
	EXPECT_EQ(0, md_check_map(self->fd, pt, IOVA, self->size, self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size, 0));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
	EXPECT_EQ(0, object_destroy(self->fd, stdev[0]));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
}

/* A replace that fails leaves the device where it was. */
TEST_F(device, replace_failure_keeps_attachment)
{
	struct iommu_iova_range outside = { 0, (1 << 20) - 1 };
	__u32 ioas2, stdev, hwpt, pt;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt,
				 NULL));

	/* An IOAS with a map outside the aperture. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf2, self->page,
				    0));
	pt = ioas2;
	EXPECT_ERRNO(EADDRINUSE, mock_domain_replace(self->fd, stdev, &pt));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, IOVA, self->size,
				  self->buf));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, hwpt));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size, 0));
	EXPECT_EQ(0, full_range(self->fd, ioas2));
	EXPECT_EQ(0, aperture_range(self->fd, self->ioas_id));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));

	/* An IOAS allowing IOVA outside the aperture. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, ioas2, &outside, 1));
	pt = ioas2;
	EXPECT_ERRNO(EADDRINUSE, mock_domain_replace(self->fd, stdev, &pt));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, IOVA, self->size,
				  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, one_range(self->fd, ioas2, outside.start, outside.last,
			       1));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
}

/* Pins of an access stay while the device moves away and back. */
TEST_F(device, replace_with_pins)
{
	__u32 ioas2, stdev, pt, item;
	int afd;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf2, self->size,
				    IOVA));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 4 * self->page,
				  self->buf, &item));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL, NULL));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size, 0));

	pt = ioas2;
	ASSERT_EQ(0, mock_domain_replace(self->fd, stdev, &pt));
	EXPECT_EQ(0, md_check_map(self->fd, pt, IOVA, self->size, self->buf2));
	EXPECT_EQ(0, page_refs(self->fd, self->buf, 0, 4, 1));
	EXPECT_EQ(0, page_refs(self->fd, self->buf, 4, BUF_PAGES - 4, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size, 1));
	EXPECT_EQ(4 + BUF_PAGES, PINNED());
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + 2 * self->page,
				  self->page, self->buf + 2 * self->page,
				  &item));

	pt = self->ioas_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, stdev, &pt));
	EXPECT_EQ(0, md_check_map(self->fd, pt, IOVA, self->size, self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size, 0));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
}

/*
 * Objects of every kind, then closing the context fd and the access fds:
 * accesses first, or the context first (the accesses hold it).
 */
TEST_F(device, close_with_everything_live)
{
	unsigned int order;

	for (order = 0; order < 2; order++) {
		__u32 ioas1, ioas2, hwpt, stdev;
		int fd, afd, rw_afd;

		fd = open(IOMMU_DEV, O_RDWR);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ioas_alloc(fd, &ioas1));
		ASSERT_EQ(0, ioas_alloc(fd, &ioas2));
		ASSERT_EQ(0, ioas_map_fixed(fd, ioas1, self->buf, self->size,
					    IOVA));
		ASSERT_EQ(0, ioas_copy(fd, ioas2, &(__u64){ IOVA2 }, ioas1,
				       IOVA, self->size,
				       IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW));
		ASSERT_EQ(0, ioas_map_fixed(fd, ioas2, self->buf2, self->size,
					    IOVA));
		ASSERT_EQ(0, mock_domain(fd, ioas1, NULL, &hwpt, NULL));
		ASSERT_EQ(0, mock_domain(fd, hwpt, NULL, NULL, NULL));
		ASSERT_EQ(0, mock_domain_flags(fd, ioas2,
					       MOCK_FLAGS_DEVICE_HUGE_IOVA,
					       &stdev, NULL, NULL));
		ASSERT_EQ(0, create_access(fd, ioas1, PIN, &afd));
		ASSERT_EQ(0, access_pages(fd, afd, 0, IOVA, self->size,
					  self->buf, NULL));
		ASSERT_EQ(0, create_access(fd, ioas2, 0, &rw_afd));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size,
					   1));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size,
					   1));

		if (order) {
			EXPECT_EQ(0, close(afd));
			EXPECT_EQ(0, close(rw_afd));
			/* The domains still pin everything. */
			EXPECT_EQ(0, md_check_refs(self->fd, self->buf,
						   self->size, 1));
			EXPECT_EQ(0, close(fd));
		} else {
			EXPECT_EQ(0, close(fd));
			/* The accesses keep the context alive. */
			EXPECT_EQ(0, md_check_refs(self->fd, self->buf,
						   self->size, 1));
			EXPECT_EQ(0, close(afd));
			EXPECT_EQ(0, md_check_refs(self->fd, self->buf2,
						   self->size, 1));
			EXPECT_EQ(0, close(rw_afd));
		}
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size,
					   0));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size,
					   0));
	}
}

TEST_F(device, destroy_device_first)
{
	__u64 unmapped = 0;
	__u32 stdev;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL, NULL));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	/* The map outlives the device. */
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(self->size, unmapped);
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas_id));
}

TEST_F(device, destroy_ioas_first)
{
	__u32 stdev, hwpt;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt,
				 NULL));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas_id));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, hwpt));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, IOVA, self->size,
				  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	/* Destroying the IOAS unmaps what it still maps. */
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas_id));
}

TEST_F(device, unmap_first)
{
	__u64 unmapped = 0;
	__u32 stdev, hwpt;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf2,
				    self->size, IOVA2));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt,
				 NULL));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA2, self->size,
				&unmapped));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf2, self->size, 0));
	EXPECT_ERRNO(EINVAL, md_check_map(self->fd, hwpt, IOVA2, self->page,
					  self->buf2));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(self->size, unmapped);
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	EXPECT_ERRNO(EINVAL, md_check_map(self->fd, hwpt, IOVA, self->page,
					  self->buf));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas_id));
	EXPECT_EQ(0, close(self->fd));
	self->fd = -1;
}

#define UNSAFE_PARAM "/sys/module/iommufd/parameters/allow_unsafe_interrupts"

/*
 * A device whose MSIs are not isolated (the mock's MSI controller flags
 * isolation, unless msi_unsafe) is refused by the same capability check
 * VFIO's devices go through, unless the administrator allows it.
 */
TEST_F(device, bind_needs_isolated_msi)
{
	__u32 stdev;

	ASSERT_EQ(0, mock_knob("msi_unsafe", 1));
	EXPECT_ERRNO(EPERM, mock_domain(self->fd, self->ioas_id, &stdev, NULL,
					NULL));
	ASSERT_EQ(0, write_file(UNSAFE_PARAM, "Y"));
	EXPECT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL, NULL));
	EXPECT_EQ(0, write_file(UNSAFE_PARAM, "N"));
	EXPECT_EQ(0, mock_knob("msi_unsafe", 0));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL, NULL));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
}

/* A device the IOMMU does not handle cannot be bound: ENODEV. */
TEST_F(device, bind_without_iommu_is_enodev)
{
	__u32 stdev;

	ASSERT_EQ(0, mock_knob("no_iommu", 1));
	EXPECT_ERRNO(ENODEV, mock_domain(self->fd, self->ioas_id, &stdev,
					 NULL, NULL));
	EXPECT_EQ(0, mock_knob("no_iommu", 0));
	EXPECT_EQ(0, full_range(self->fd, self->ioas_id));
}

/* A device can be bound now and attached later. */
TEST_F(device, bind_then_attach)
{
	__u32 stdev, hwpt = 0, pt;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, mock_knob("bind_only", 1));
	EXPECT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt,
				 NULL));
	ASSERT_EQ(0, mock_knob("bind_only", 0));
	EXPECT_EQ(0, hwpt);
	/* Bound, not attached: nothing needs the memory pinned. */
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	pt = self->ioas_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, stdev, &pt));
	EXPECT_NE(self->ioas_id, pt);
	EXPECT_EQ(0, md_check_map(self->fd, pt, IOVA, self->size, self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, pt));
}

/*
 * A driver that unbinds an attached device gets a warning and the device
 * is detached first: nothing leaks, the IOAS can go.
 */
TEST_F(device, unbind_while_attached)
{
	const char *msg = "unbound while attached; detaching first";
	int before = kernel_log_count(msg);
	__u32 stdev, hwpt;

	ASSERT_LE(0, before);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, mock_knob("buggy_driver", 1));
	EXPECT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt,
				 NULL));
	ASSERT_EQ(0, mock_knob("buggy_driver", 0));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(before + 1, kernel_log_count(msg));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, hwpt));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA, self->size,
				NULL));
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas_id));
}

/* A driver that detaches a device never attached gets a warning only. */
TEST_F(device, detach_while_detached)
{
	const char *msg = "detached while not attached";
	int before = kernel_log_count(msg);
	__u32 stdev;

	ASSERT_LE(0, before);
	ASSERT_EQ(0, mock_knob("bind_only", 1));
	ASSERT_EQ(0, mock_knob("buggy_driver", 1));
	EXPECT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL,
				 NULL));
	ASSERT_EQ(0, mock_knob("buggy_driver", 0));
	ASSERT_EQ(0, mock_knob("bind_only", 0));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(before + 1, kernel_log_count(msg));
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas_id));
}

/*
 * Filling domains from maps, on memory of each kind: small pages, hugetlb
 * pages and a transparent huge page.  For pages of a huge folio
 * MD_CHECK_REFS only tells pinned from not pinned.
 */
enum mem_kind { SMALL, HUGETLB, THP };

FIXTURE(fill) {
	int fd;
	__u32 ioas_id;
	size_t page;
	size_t size;
	char *buf;
	void *mapping;
	size_t mapping_size;
	long pinned_base;
};

FIXTURE_VARIANT(fill) {
	enum mem_kind kind;
};

FIXTURE_VARIANT_ADD(fill, small_pages) {
	.kind = SMALL,
};

FIXTURE_VARIANT_ADD(fill, hugetlb) {
	.kind = HUGETLB,
};

FIXTURE_VARIANT_ADD(fill, thp) {
	.kind = THP,
};

FIXTURE_SETUP(fill)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;

	self->page = sysconf(_SC_PAGESIZE);
	self->size = variant->kind == SMALL ? BUF_PAGES * self->page :
					      HUGE_SIZE;
	self->mapping_size = variant->kind == THP ? 2 * HUGE_SIZE : self->size;
	if (variant->kind == HUGETLB)
		flags |= MAP_HUGETLB;
	self->mapping = mmap(NULL, self->mapping_size, PROT_READ | PROT_WRITE,
			     flags, -1, 0);
	/* The VM boots with hugetlb pages reserved for the tests. */
	ASSERT_NE(MAP_FAILED, self->mapping)
		TH_LOG("no %s memory", variant->kind == HUGETLB ?
		       "hugetlb" : "anonymous");
	self->buf = self->mapping;
	if (variant->kind == THP) {
		/* A 2 MiB aligned 2 MiB region that may become a THP. */
		self->buf = (char *)(((uintptr_t)self->mapping + HUGE_SIZE - 1) &
				     ~(HUGE_SIZE - 1));
		ASSERT_EQ(0, madvise(self->buf, HUGE_SIZE, MADV_HUGEPAGE));
	}
	fill_pattern(self->buf, self->size, 1);
	/* The VM's init sets transparent_hugepage to madvise. */
	if (variant->kind == THP) {
		ASSERT_LE(2048, anon_huge_kb(self->buf))
			TH_LOG("no transparent huge page");
	}

	self->fd = open_counted_ctx(&self->ioas_id, &self->pinned_base);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(fill)
{
	close(self->fd);
	EXPECT_EQ(0, nothing_pinned(self->buf, self->size, self->pinned_base));
	munmap(self->mapping, self->mapping_size);
}

/* Can the pins of single pages be told apart? */
#define EXACT_REFS (variant->kind == SMALL)

/*
 * Maps made before any device: one of the first half of the buffer, and two
 * of 2 pages in the second half starting in the middle of a page, one of
 * them at a page aligned IOVA.  Attaching fills the domain with all three.
 */
TEST_F(fill, maps_before_attach)
{
	size_t pg = self->page, off = pg / 2, half = self->size / 2;
	char *sub1 = self->buf + half + off;
	char *sub2 = self->buf + half + 4 * pg + off;
	__u32 stdev[2], hwpt[2];
	unsigned int i;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, half,
				    IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, sub1, 2 * pg,
				    IOVA2 + off));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, sub2, 2 * pg,
				    IOVA3));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev[0], &hwpt[0],
				 NULL));
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_HUGE_IOVA, &stdev[1],
				       &hwpt[1], NULL));
	/* The second one needs the large IOPTE size: two domains to fill. */
	EXPECT_NE(hwpt[0], hwpt[1]);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, md_check_map(self->fd, hwpt[i], IOVA, half,
					  self->buf));
		EXPECT_EQ(0, md_check_map(self->fd, hwpt[i], IOVA2 + off,
					  2 * pg, sub1));
		EXPECT_EQ(0, md_check_map(self->fd, hwpt[i], IOVA3, 2 * pg,
					  sub2));
	}
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, half, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + half, 3 * pg, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + half + 4 * pg,
				   3 * pg, 1));
	if (EXACT_REFS) {
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf + half + 3 * pg,
					   pg, 0));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf + half + 7 * pg,
					   half - 7 * pg, 0));
	}

	/* One device leaves: the other's domain keeps everything. */
	EXPECT_EQ(0, object_destroy(self->fd, stdev[0]));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt[1], IOVA, half, self->buf));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt[1], IOVA2 + off, 2 * pg,
				  sub1));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt[1], IOVA3, 2 * pg, sub2));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, half, 1));
	/* The last one takes the pins along. */
	EXPECT_EQ(0, object_destroy(self->fd, stdev[1]));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
}

/* Maps made while a device is attached are in its domain at once. */
TEST_F(fill, maps_after_attach)
{
	size_t pg = self->page, off = pg / 2;
	__u64 iova = 0, unmapped = 0;
	__u32 stdev, hwpt;

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt,
				 NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, IOVA, self->size,
				  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	/* Automatic IOVA, sub-page. */
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf + off, pg,
			      &iova, MAP_RW));
	EXPECT_EQ(off, iova % pg);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, iova, pg, self->buf + off));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, pg,
				&unmapped));
	EXPECT_EQ(pg, unmapped);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA, self->size,
				&unmapped));
	EXPECT_EQ(self->size, unmapped);
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	EXPECT_ERRNO(EINVAL, md_check_map(self->fd, hwpt, IOVA, pg,
					  self->buf));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
}

/*
 * A copy shares the pins of its source; each IOAS has its own domain, and
 * the pages stay pinned while any domain maps them, in either order.
 */
TEST_F(fill, copy_between_domains)
{
	__u32 ioas2, stdev[2], hwpt[2];
	unsigned int order;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	for (order = 0; order < 2; order++) {
		__u32 *first = order ? &ioas2 : &self->ioas_id;
		__u32 *second = order ? &self->ioas_id : &ioas2;
		__u64 src = order ? IOVA2 : IOVA, dst = order ? IOVA : IOVA2;

		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev[0],
					 &hwpt[0], NULL));
		ASSERT_EQ(0, mock_domain(self->fd, ioas2, &stdev[1], &hwpt[1],
					 NULL));
		EXPECT_NE(hwpt[0], hwpt[1]);
		ASSERT_EQ(0, ioas_map_fixed(self->fd, *first, self->buf,
					    self->size, src));
		ASSERT_EQ(0, ioas_copy(self->fd, *second, &dst, *first, src,
				       self->size,
				       IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size,
					   1));
		/* Charged once, in page units. */
		EXPECT_EQ(self->size / self->page, PINNED());
		EXPECT_EQ(0, md_check_map(self->fd, hwpt[0], IOVA, self->size,
					  self->buf));
		EXPECT_EQ(0, md_check_map(self->fd, hwpt[1], IOVA2, self->size,
					  self->buf));

		/* The source IOAS's device leaves, then its map goes. */
		EXPECT_EQ(0, object_destroy(self->fd, stdev[order]));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size,
					   1));
		EXPECT_EQ(0, ioas_unmap(self->fd, *first, src, self->size,
					NULL));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size,
					   1));
		EXPECT_EQ(self->size / self->page, PINNED());
		EXPECT_EQ(0, md_check_map(self->fd, hwpt[!order], dst,
					  self->size, self->buf));
		EXPECT_EQ(0, object_destroy(self->fd, stdev[!order]));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size,
					   0));
		EXPECT_EQ(0, ioas_unmap(self->fd, *second, dst, self->size,
					NULL));
	}
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
}

/*
 * An access pins the first page.  Domains come and go; when the last one
 * leaves only that page stays pinned.
 */
TEST_F(fill, domains_leave_access_stays)
{
	size_t pg = self->page;
	__u32 stdev[2], hwpt[2];
	int afd;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, pg, self->buf,
				  NULL));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev[0], &hwpt[0],
				 NULL));
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_HUGE_IOVA, &stdev[1],
				       &hwpt[1], NULL));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, object_destroy(self->fd, stdev[0]));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt[1], IOVA, self->size,
				  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, object_destroy(self->fd, stdev[1]));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, pg, 1));
	EXPECT_EQ(1, PINNED());
	if (EXACT_REFS)
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf + pg,
					   self->size - pg, 0));
	/* A new domain gets the pinned page from the access's store. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev[0], &hwpt[0],
				 NULL));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt[0], IOVA, self->size,
				  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, object_destroy(self->fd, stdev[0]));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
}

TEST_HARNESS_MAIN
