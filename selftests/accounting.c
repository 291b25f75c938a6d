// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Page pinning and its RLIMIT_MEMLOCK accounting, in both
 * IOMMU_OPTION_RLIMIT_MODEs (0 charges user->locked_vm, 1 charges
 * mm->pinned_vm, which /proc shows as VmPin).  Pinning is lazy; a page of a
 * map is pinned and charged once however many domains, accesses and copies
 * use it, while a second map of the same memory pins it again; every
 * teardown order gives everything back.  A pin past RLIMIT_MEMLOCK fails
 * with ENOMEM and leaves nothing pinned or charged, also half-way through a
 * multi-batch pin.  CAP_IPC_LOCK lifts the limit, not the charge.
 */
#include <sys/mman.h>
#include <sys/resource.h>

#include "helpers.h"

#define PSZ ((size_t)sysconf(_SC_PAGESIZE))
#define HALF ((size_t)MOCK_IO_PAGE_SIZE)
#define BUF_PAGES 32
#define MAP_FIXED_RW (MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)

/* Fixed IOVAs inside the mock aperture, 1 MiB apart. */
static __u64 iova_at(unsigned int slot)
{
	return MOCK_APERTURE_START + (__u64)slot * 0x100000;
}

/* RLIMIT_MEMLOCK of exactly @npages pages (the hard limit is lifted). */
static int set_memlock(size_t npages)
{
	struct rlimit rl = {
		.rlim_cur = npages * PSZ,
		.rlim_max = RLIM_INFINITY,
	};

	return setrlimit(RLIMIT_MEMLOCK, &rl);
}

/* A mock device that cannot share a normal mock domain. */
static int huge_device(int fd, __u32 ioas_id, __u32 *stdev_id,
		       __u32 *hwpt_id)
{
	return mock_domain_flags(fd, ioas_id, MOCK_FLAGS_DEVICE_HUGE_IOVA,
				 stdev_id, hwpt_id, NULL);
}

static int new_pin_access(int fd, __u32 ioas_id, int *access_fd)
{
	return create_access(fd, ioas_id,
			     MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
			     access_fd);
}

/* Is the only usable range of the IOAS [start, last] with @align? */
static bool ranges_are(int fd, __u32 ioas_id, __u64 start, __u64 last,
		       __u64 align)
{
	struct iommu_iova_range ranges[4];
	__u64 got_align = 0;

	return ioas_ranges(fd, ioas_id, ranges, 4, &got_align) == 1 &&
	       ranges[0].start == start && ranges[0].last == last &&
	       got_align == align;
}

FIXTURE(acct) {
	int fd;
	__u32 ioas_id;
	char *buf;
};

FIXTURE_VARIANT(acct) {
	__u64 mode;
};

FIXTURE_VARIANT_ADD(acct, locked_vm) {
	.mode = 0,
};

FIXTURE_VARIANT_ADD(acct, pinned_vm) {
	.mode = 1,
};

FIXTURE_SETUP(acct)
{
	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, set_rlimit_mode(self->fd, variant->mode));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	self->buf = mmap(NULL, BUF_PAGES * PSZ, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	/* Populate it: pins must find the pages MD_CHECK_REFS looks at. */
	memset(self->buf, 0x5a, BUF_PAGES * PSZ);
	ASSERT_EQ(0, pinned_vm_pages());
}

FIXTURE_TEARDOWN(acct)
{
	/* The batch budget is global: always put the default back. */
	set_temp_memory_limit(self->fd, 65536);
	close(self->fd);
	EXPECT_EQ(0, pinned_vm_pages());
	munmap(self->buf, BUF_PAGES * PSZ);
}

/* VmPin: mode 1 counts each pinned page there, mode 0 never touches it. */
#define EXPECT_PINNED(npages) \
	EXPECT_EQ(variant->mode ? (long)(npages) : 0L, pinned_vm_pages())

/* Pages [first, first + npages) of the buffer are each pinned refs times. */
#define EXPECT_REFS(first, npages, refs) \
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + (first) * PSZ, \
				   (npages) * PSZ, refs))

/* No CAP_IPC_LOCK, and a budget of exactly @npages pages. */
#define ASSERT_BUDGET(npages)                                    \
	do {                                                     \
		ASSERT_EQ(0, drop_capability(CAP_IPC_LOCK));     \
		ASSERT_EQ(0, set_memlock(npages));               \
	} while (0)

TEST_F(acct, map_without_domain_pins_nothing)
{
	__u64 iova = iova_at(0);
	char data[64];
	int access_fd;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PSZ, iova));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 8, 0);

	/* Copying through an access pins at most for the copy itself. */
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, 0, &access_fd));
	EXPECT_EQ(0, access_rw(self->fd, access_fd, iova + PSZ, data,
			       sizeof(data), 0));
	EXPECT_EQ(0, access_rw(self->fd, access_fd, iova + PSZ, data,
			       sizeof(data), MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_EQ(0, memcmp(data, self->buf + PSZ, sizeof(data)));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 8, 0);
	close(access_fd);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 8 * PSZ,
				NULL));
	EXPECT_PINNED(0);
}

/*
 * Devices of one IOAS share its domain; a device that needs another domain
 * gets a second one.  Either way each page is pinned once, and stays
 * pinned while any domain maps it, whichever goes first.
 */
TEST_F(acct, domains_pin_each_page_once)
{
	__u32 dev1, dev2, dev3, hwpt1, hwpt2, hwpt3;
	__u64 iova = iova_at(0);

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PSZ, iova));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev1, &hwpt1,
				 NULL));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	EXPECT_REFS(8, 1, 0);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt1, iova, 8 * PSZ, self->buf));

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev2, &hwpt2,
				 NULL));
	EXPECT_EQ(hwpt1, hwpt2);
	ASSERT_EQ(0, huge_device(self->fd, self->ioas_id, &dev3, &hwpt3));
	ASSERT_NE(hwpt1, hwpt3);
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt3, iova, 8 * PSZ, self->buf));

	/* The first domain goes, device by device; the second keeps all. */
	ASSERT_EQ(0, object_destroy(self->fd, dev1));
	EXPECT_PINNED(8);
	ASSERT_EQ(0, object_destroy(self->fd, dev2));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt3, iova, 8 * PSZ, self->buf));
	ASSERT_EQ(0, object_destroy(self->fd, dev3));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 8, 0);

	/* Back to lazy: new domains pin it again, once; now the later goes. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev1, NULL, NULL));
	ASSERT_EQ(0, huge_device(self->fd, self->ioas_id, &dev3, NULL));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	ASSERT_EQ(0, object_destroy(self->fd, dev3));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 8 * PSZ,
				NULL));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 8, 0);
	EXPECT_EQ(0, object_destroy(self->fd, dev1));
}

/* Without a domain an access pins what it asks for, each page once. */
TEST_F(acct, access_pins_only_its_pages)
{
	__u64 iova = iova_at(0);
	int afd1, afd2;
	__u32 item1, item2, item3, dev;
	char *data;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PSZ, iova));
	ASSERT_EQ(0, new_pin_access(self->fd, self->ioas_id, &afd1));
	ASSERT_EQ(0, new_pin_access(self->fd, self->ioas_id, &afd2));

	ASSERT_EQ(0, access_pages(self->fd, afd1, 0, iova, 4 * PSZ,
				  self->buf, &item1));
	EXPECT_PINNED(4);
	EXPECT_REFS(0, 4, 1);
	EXPECT_REFS(4, 4, 0);
	/* The same range again, and an overlapping one of another access. */
	ASSERT_EQ(0, access_pages(self->fd, afd1, MOCK_FLAGS_ACCESS_WRITE,
				  iova, 4 * PSZ, self->buf, &item2));
	EXPECT_PINNED(4);
	ASSERT_EQ(0, access_pages(self->fd, afd2, 0, iova + 2 * PSZ, 4 * PSZ,
				  self->buf + 2 * PSZ, &item3));
	EXPECT_PINNED(6);
	EXPECT_REFS(0, 6, 1);
	EXPECT_REFS(6, 2, 0);

	/* A slow-path copy pins the other pages only while it copies. */
	data = malloc(8 * PSZ);
	ASSERT_NE(NULL, data);
	EXPECT_EQ(0, access_rw(self->fd, afd2, iova, data, 8 * PSZ,
			       MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_EQ(0, memcmp(data, self->buf, 8 * PSZ));
	free(data);
	EXPECT_PINNED(6);
	EXPECT_REFS(6, 2, 0);

	/* A domain pins the rest; it gives back only what it alone needs. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL, NULL));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	ASSERT_EQ(0, object_destroy(self->fd, dev));
	EXPECT_PINNED(6);
	EXPECT_REFS(0, 6, 1);
	EXPECT_REFS(6, 2, 0);

	ASSERT_EQ(0, destroy_access_pages(self->fd, afd1, item1));
	EXPECT_PINNED(6);
	/* Closing the access unpins its remaining item. */
	close(afd1);
	EXPECT_PINNED(4);
	EXPECT_REFS(0, 2, 0);
	EXPECT_REFS(2, 4, 1);
	ASSERT_EQ(0, destroy_access_pages(self->fd, afd2, item3));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 8, 0);
	close(afd2);
}

/* Copies share the pins of the map they come from. */
TEST_F(acct, copy_shares_pins)
{
	__u32 ioas2, ioas3, dev1, dev2, dev3, hwpt3;
	__u64 iova = iova_at(0), dst;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PSZ, iova));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas3));

	/* Into an IOAS without a domain: still lazy. */
	dst = iova_at(1);
	ASSERT_EQ(0, ioas_copy(self->fd, ioas2, &dst, self->ioas_id, iova,
			       8 * PSZ, MAP_FIXED_RW));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 8, 0);

	/* Into an IOAS with a domain: pinned by the copy, once. */
	ASSERT_EQ(0, mock_domain(self->fd, ioas3, &dev3, &hwpt3, NULL));
	dst = iova_at(2);
	ASSERT_EQ(0, ioas_copy(self->fd, ioas3, &dst, self->ioas_id, iova,
			       8 * PSZ, MAP_FIXED_RW));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt3, dst, 8 * PSZ, self->buf));

	/* Domains in the source and the first copy add nothing. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev1, NULL, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &dev2, NULL, NULL));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);

	/* The source going away leaves the copies pinned. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 8 * PSZ,
				NULL));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	ASSERT_EQ(0, object_destroy(self->fd, dev3));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	ASSERT_EQ(0, object_destroy(self->fd, dev2));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 8, 0);
	EXPECT_EQ(0, object_destroy(self->fd, dev1));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
	EXPECT_EQ(0, object_destroy(self->fd, ioas3));
	EXPECT_PINNED(0);
}

/* Two maps of the same memory are two pins and two charges. */
TEST_F(acct, second_map_pins_again)
{
	__u64 iova1 = iova_at(0), iova2 = iova_at(1);
	__u32 dev, item1, item2;
	int afd;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PSZ, iova1));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PSZ, iova2));

	/* Through an access first, then through a domain. */
	ASSERT_EQ(0, new_pin_access(self->fd, self->ioas_id, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, iova1, 2 * PSZ, self->buf,
				  &item1));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, iova2, 2 * PSZ, self->buf,
				  &item2));
	EXPECT_PINNED(4);
	EXPECT_REFS(0, 2, 2);
	EXPECT_REFS(2, 6, 0);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL, NULL));
	EXPECT_PINNED(16);
	EXPECT_REFS(0, 8, 2);
	close(afd);
	EXPECT_PINNED(16);

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova1, 8 * PSZ,
				NULL));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova2, 8 * PSZ,
				NULL));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 8, 0);
	EXPECT_EQ(0, object_destroy(self->fd, dev));
}

/* 3 pages from the middle of page 0 touch (and pin) 4 pages. */
TEST_F(acct, subpage_map)
{
	__u64 iova = iova_at(0) + HALF;
	__u32 dev, hwpt;

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, &hwpt, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + HALF,
				    3 * PSZ, iova));
	EXPECT_PINNED(4);
	EXPECT_REFS(0, 4, 1);
	EXPECT_REFS(4, 1, 0);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, iova, 3 * PSZ,
				  self->buf + HALF));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 3 * PSZ, NULL));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 4, 0);

	/* It needs the budget of 4 pages, too. */
	ASSERT_BUDGET(3);
	EXPECT_ERRNO(ENOMEM, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + HALF, 3 * PSZ, iova));
	EXPECT_REFS(0, 4, 0);
	ASSERT_EQ(0, set_memlock(4));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + HALF,
				    3 * PSZ, iova));
	EXPECT_PINNED(4);
	EXPECT_EQ(0, object_destroy(self->fd, dev));
	EXPECT_PINNED(0);
}

/*
 * Two copies out of one sub-page map share the page where one ends and the
 * other begins: it is pinned once, and stays pinned until both are gone.
 */
TEST_F(acct, subpage_copies_share_page)
{
	__u64 src = iova_at(0) + HALF;
	__u64 dst1 = iova_at(1) + HALF, dst2 = iova_at(2) + HALF;
	__u32 ioas2, dev, hwpt;
	int round;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + HALF,
				    3 * PSZ, src));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &dev, &hwpt, NULL));

	for (round = 0; round != 2; round++) {
		__u64 iova;

		/* Pages 0-1 and pages 1-3 of the buffer. */
		iova = dst1;
		ASSERT_EQ(0, ioas_copy(self->fd, ioas2, &iova, self->ioas_id,
				       src, PSZ, MAP_FIXED_RW));
		iova = dst2;
		ASSERT_EQ(0, ioas_copy(self->fd, ioas2, &iova, self->ioas_id,
				       src + PSZ, 2 * PSZ, MAP_FIXED_RW));
		EXPECT_PINNED(4);
		EXPECT_REFS(0, 4, 1);
		EXPECT_EQ(0, md_check_map(self->fd, hwpt, dst1, PSZ,
					  self->buf + HALF));
		EXPECT_EQ(0, md_check_map(self->fd, hwpt, dst2, 2 * PSZ,
					  self->buf + PSZ + HALF));

		if (!round) {
			ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, dst1, PSZ,
						NULL));
			EXPECT_PINNED(3);
			EXPECT_REFS(0, 1, 0);
			EXPECT_REFS(1, 3, 1);
			ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, dst2, 2 * PSZ,
						NULL));
		} else {
			ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, dst2, 2 * PSZ,
						NULL));
			EXPECT_PINNED(2);
			EXPECT_REFS(0, 2, 1);
			EXPECT_REFS(2, 2, 0);
			ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, dst1, PSZ,
						NULL));
		}
		EXPECT_PINNED(0);
		EXPECT_REFS(0, 4, 0);
	}
	EXPECT_EQ(0, object_destroy(self->fd, dev));
}

/* Two maps sharing a page pin it twice: once per map. */
TEST_F(acct, subpage_maps_share_page)
{
	__u64 iova1 = iova_at(0) + HALF, iova2 = iova_at(1) + HALF;
	__u32 dev;

	/* The limit applies to what is mapped without CAP_IPC_LOCK. */
	ASSERT_BUDGET(3);
	/* Pages 0-1 and pages 1-2 of the buffer. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + HALF,
				    PSZ, iova1));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + PSZ + HALF, PSZ, iova2));
	/* 3 pages of memory, but 4 pins to pay for. */
	EXPECT_ERRNO(ENOMEM, mock_domain(self->fd, self->ioas_id, &dev, NULL,
					 NULL));
	EXPECT_REFS(0, 3, 0);
	EXPECT_PINNED(0);
	ASSERT_EQ(0, set_memlock(4));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL, NULL));
	EXPECT_PINNED(4);
	EXPECT_REFS(0, 1, 1);
	EXPECT_REFS(1, 1, 2);
	EXPECT_REFS(2, 1, 1);

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova1, PSZ, NULL));
	EXPECT_PINNED(2);
	EXPECT_REFS(0, 1, 0);
	EXPECT_REFS(1, 2, 1);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova2, PSZ, NULL));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 3, 0);
	EXPECT_EQ(0, object_destroy(self->fd, dev));
}

/*
 * Like VFIO type1, the exemption from RLIMIT_MEMLOCK is decided when the
 * memory is mapped: CAP_IPC_LOCK of the mapping process counts, not that of
 * whoever later causes the pinning.  The pins are charged either way.
 */
TEST_F(acct, cap_ipc_lock_taken_at_map_time)
{
	__u64 iova = iova_at(0);
	__u32 dev;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PSZ, iova));
	ASSERT_BUDGET(1);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL, NULL));
	EXPECT_PINNED(4);
	EXPECT_REFS(0, 4, 1);
	/* A new mapping made without the capability is limited. */
	EXPECT_ERRNO(ENOMEM, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + 4 * PSZ, 2 * PSZ,
					    iova + 4 * PSZ));
	EXPECT_REFS(4, 2, 0);
	ASSERT_EQ(0, object_destroy(self->fd, dev));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 4, 0);
}

/*
 * Pages of a huge folio are pinned and charged one by one: only those the
 * map covers.  (MD_CHECK_REFS can only tell whether a huge folio is pinned
 * at all.)
 */
TEST_F(acct, huge_folio_charged_by_page)
{
	size_t huge = 2UL << 20, off = 64 * 1024;
	__u64 iova = iova_at(0);
	__u32 dev, hwpt;
	char *mem;

	mem = mmap(NULL, huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	/* The VM boots with hugetlb pages reserved for the tests. */
	ASSERT_NE(MAP_FAILED, mem)
		TH_LOG("no 2 MiB hugetlb page available");
	memset(mem, 0x33, huge);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, &hwpt, NULL));
	ASSERT_BUDGET(16);

	EXPECT_ERRNO(ENOMEM, ioas_map_fixed(self->fd, self->ioas_id, mem + off,
					    17 * PSZ, iova));
	EXPECT_EQ(0, md_check_refs(self->fd, mem, huge, 0));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, mem + off,
				    16 * PSZ, iova));
	EXPECT_PINNED(16);
	EXPECT_EQ(0, md_check_refs(self->fd, mem, huge, 1));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, iova, 16 * PSZ, mem + off));

	/* Another map of the whole folio pays for every page again. */
	EXPECT_ERRNO(ENOMEM, ioas_map_fixed(self->fd, self->ioas_id, mem, huge,
					    iova_at(4)));
	ASSERT_EQ(0, set_memlock(16 + huge / PSZ));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, mem, huge,
				    iova_at(4)));
	EXPECT_PINNED(16 + huge / PSZ);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, iova_at(4), huge, mem));

	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova_at(4), huge,
				NULL));
	EXPECT_PINNED(16);
	EXPECT_EQ(0, md_check_refs(self->fd, mem, huge, 1));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 16 * PSZ,
				NULL));
	EXPECT_PINNED(0);
	EXPECT_EQ(0, md_check_refs(self->fd, mem, huge, 0));
	EXPECT_EQ(0, object_destroy(self->fd, dev));
	munmap(mem, huge);
}

/*
 * The state the teardown tests take apart: pages [0, FULL) mapped once in
 * the fixture's IOAS, which has two domains (a device each) and an access
 * pinning pages [PART_FIRST, PART_FIRST + PART), and copied into a second
 * IOAS that has a device of its own.
 */
#define FULL 8
#define PART_FIRST 2
#define PART 3

struct live_state {
	__u32 dev, dev_huge, ioas2, dev2, item;
	int access_fd;
};

static void build_live_state(struct __test_metadata *_metadata, int fd,
			     __u32 ioas_id, char *buf, struct live_state *st)
{
	__u64 iova = iova_at(0);

	ASSERT_EQ(0, ioas_map_fixed(fd, ioas_id, buf, FULL * PSZ, iova));
	ASSERT_EQ(0, mock_domain(fd, ioas_id, &st->dev, NULL, NULL));
	ASSERT_EQ(0, huge_device(fd, ioas_id, &st->dev_huge, NULL));
	ASSERT_EQ(0, new_pin_access(fd, ioas_id, &st->access_fd));
	ASSERT_EQ(0, access_pages(fd, st->access_fd, 0,
				  iova + PART_FIRST * PSZ, PART * PSZ,
				  buf + PART_FIRST * PSZ, &st->item));
	ASSERT_EQ(0, ioas_alloc(fd, &st->ioas2));
	ASSERT_EQ(0, mock_domain(fd, st->ioas2, &st->dev2, NULL, NULL));
	ASSERT_EQ(0, ioas_copy(fd, st->ioas2, &iova, ioas_id, iova,
			       FULL * PSZ, MAP_FIXED_RW));
}

#define BUILD_LIVE_STATE(st)                                               \
	do {                                                               \
		build_live_state(_metadata, self->fd, self->ioas_id,       \
				 self->buf, st);                           \
		EXPECT_PINNED(FULL);                                       \
		EXPECT_REFS(0, FULL, 1);                                   \
	} while (0)

TEST_F(acct, teardown_unmap_first)
{
	struct live_state st;

	BUILD_LIVE_STATE(&st);
	/* The access is told to let go; the copy's domain keeps the pins. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova_at(0),
				FULL * PSZ, NULL));
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, st.access_fd,
						  st.item));
	EXPECT_PINNED(FULL);
	EXPECT_REFS(0, FULL, 1);
	ASSERT_EQ(0, object_destroy(self->fd, st.dev2));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, FULL, 0);
	EXPECT_EQ(0, object_destroy(self->fd, st.dev));
	EXPECT_EQ(0, object_destroy(self->fd, st.dev_huge));
	close(st.access_fd);
	EXPECT_EQ(0, object_destroy(self->fd, st.ioas2));
	EXPECT_PINNED(0);
}

TEST_F(acct, teardown_domains_first)
{
	struct live_state st;

	BUILD_LIVE_STATE(&st);
	ASSERT_EQ(0, object_destroy(self->fd, st.dev));
	EXPECT_PINNED(FULL);
	EXPECT_REFS(0, FULL, 1);
	ASSERT_EQ(0, object_destroy(self->fd, st.dev_huge));
	EXPECT_PINNED(FULL);
	EXPECT_REFS(0, FULL, 1);
	/* Without domains only what the access pins stays pinned. */
	ASSERT_EQ(0, object_destroy(self->fd, st.dev2));
	EXPECT_PINNED(PART);
	EXPECT_REFS(0, PART_FIRST, 0);
	EXPECT_REFS(PART_FIRST, PART, 1);
	EXPECT_REFS(PART_FIRST + PART, FULL - PART_FIRST - PART, 0);
	/* An IOAS holding a copy can go without touching the pins. */
	ASSERT_EQ(0, object_destroy(self->fd, st.ioas2));
	EXPECT_PINNED(PART);
	ASSERT_EQ(0, destroy_access_pages(self->fd, st.access_fd, st.item));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, FULL, 0);
	close(st.access_fd);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova_at(0),
				FULL * PSZ, NULL));
	EXPECT_PINNED(0);
}

TEST_F(acct, teardown_access_first)
{
	struct live_state st;

	BUILD_LIVE_STATE(&st);
	close(st.access_fd);
	EXPECT_PINNED(FULL);
	EXPECT_REFS(0, FULL, 1);
	ASSERT_EQ(0, object_destroy(self->fd, st.dev2));
	EXPECT_PINNED(FULL);
	ASSERT_EQ(0, ioas_unmap(self->fd, st.ioas2, iova_at(0), FULL * PSZ,
				NULL));
	EXPECT_PINNED(FULL);
	EXPECT_REFS(0, FULL, 1);
	ASSERT_EQ(0, object_destroy(self->fd, st.dev_huge));
	EXPECT_PINNED(FULL);
	ASSERT_EQ(0, object_destroy(self->fd, st.dev));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, FULL, 0);
}

/*
 * Closing /dev/iommu with everything live: the open access keeps the
 * context (and so all of it) alive until the access is closed too.
 */
TEST_F(acct, teardown_close)
{
	struct live_state st;
	int fd2;

	BUILD_LIVE_STATE(&st);
	fd2 = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd2);
	close(self->fd);
	self->fd = fd2;
	EXPECT_PINNED(FULL);
	EXPECT_REFS(0, FULL, 1);
	close(st.access_fd);
	EXPECT_PINNED(0);
	EXPECT_REFS(0, FULL, 0);
}

/* With a domain present, a map needs its pages in the budget at once. */
TEST_F(acct, limit_map_with_domain)
{
	__u64 iova = iova_at(0);
	__u32 dev, hwpt;

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, &hwpt, NULL));
	ASSERT_BUDGET(8);

	EXPECT_ERRNO(ENOMEM, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, 9 * PSZ, iova));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 9, 0);
	/* Nothing was left behind, and the domain is intact. */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, iova,
					9 * PSZ, NULL));
	EXPECT_TRUE(ranges_are(self->fd, self->ioas_id, MOCK_APERTURE_START,
			       MOCK_APERTURE_LAST, HALF));

	/* Exactly the budget fits; then not a page more. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PSZ, iova));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, iova, 8 * PSZ, self->buf));
	EXPECT_ERRNO(ENOMEM, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + 8 * PSZ, PSZ,
					    iova_at(1)));
	EXPECT_REFS(8, 1, 0);
	EXPECT_PINNED(8);

	/* Unmapping gives the budget back. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 8 * PSZ, NULL));
	EXPECT_PINNED(0);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 8 * PSZ, PSZ, iova_at(1)));
	EXPECT_PINNED(1);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova_at(1), PSZ,
				NULL));

	/* The refused map succeeds once the limit allows it. */
	ASSERT_EQ(0, set_memlock(9));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    9 * PSZ, iova));
	EXPECT_PINNED(9);
	EXPECT_REFS(0, 9, 1);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 9 * PSZ, NULL));
	EXPECT_PINNED(0);
	EXPECT_EQ(0, object_destroy(self->fd, dev));
}

/* Attaching the first domain pins every map of the IOAS, or nothing. */
TEST_F(acct, limit_attach_domain)
{
	__u32 dev, hwpt;

	ASSERT_BUDGET(8);
	/* Two areas: the first fits, the second does not. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * PSZ, iova_at(0)));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 4 * PSZ, 5 * PSZ, iova_at(1)));
	EXPECT_ERRNO(ENOMEM, mock_domain(self->fd, self->ioas_id, &dev, NULL,
					 NULL));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 9, 0);
	/* No aperture of a half-attached domain is left reserved. */
	EXPECT_TRUE(ranges_are(self->fd, self->ioas_id, 0, UINT64_MAX, 1));

	/* The IOAS is still usable and exactly the budget fits. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova_at(1), 5 * PSZ,
				NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 4 * PSZ, 4 * PSZ, iova_at(1)));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, &hwpt, NULL));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, iova_at(1), 4 * PSZ,
				  self->buf + 4 * PSZ));
	EXPECT_ERRNO(ENOMEM, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + 8 * PSZ, PSZ,
					    iova_at(2)));

	/* Destroying the domain gives the budget back. */
	ASSERT_EQ(0, object_destroy(self->fd, dev));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 8, 0);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL, NULL));
	EXPECT_PINNED(8);
	ASSERT_EQ(0, object_destroy(self->fd, dev));

	/* The refused attach succeeds once the limit allows it. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 8 * PSZ, PSZ, iova_at(2)));
	EXPECT_ERRNO(ENOMEM, mock_domain(self->fd, self->ioas_id, &dev, NULL,
					 NULL));
	EXPECT_REFS(0, 9, 0);
	ASSERT_EQ(0, set_memlock(9));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL, NULL));
	EXPECT_PINNED(9);
	EXPECT_REFS(0, 9, 1);
	ASSERT_EQ(0, object_destroy(self->fd, dev));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 9, 0);
}

/* An access pins lazily mapped pages within the budget, or nothing. */
TEST_F(acct, limit_access_pin)
{
	__u64 iova = iova_at(0);
	__u32 item1, item2, item3;
	char *data;
	int afd;

	data = malloc(12 * PSZ);
	ASSERT_NE(NULL, data);
	ASSERT_BUDGET(8);
	/* Two areas back to back: pages [0, 6) and [6, 12). */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    6 * PSZ, iova));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 6 * PSZ, 6 * PSZ,
				    iova + 6 * PSZ));
	ASSERT_EQ(0, new_pin_access(self->fd, self->ioas_id, &afd));

	EXPECT_ERRNO(ENOMEM, access_pages(self->fd, afd, 0, iova, 12 * PSZ,
					  self->buf, &item1));
	EXPECT_ERRNO(ENOMEM, access_pages(self->fd, afd, 0, iova, 9 * PSZ,
					  self->buf, &item1));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 12, 0);

	/* Exactly the budget, across both areas. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, iova, 8 * PSZ, self->buf,
				  &item1));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);
	EXPECT_ERRNO(ENOMEM, access_pages(self->fd, afd, 0, iova + 8 * PSZ,
					  PSZ, self->buf + 8 * PSZ, &item2));
	/* A slow-path copy needs its (unpinned) page in the budget too. */
	EXPECT_ERRNO(ENOMEM, access_rw(self->fd, afd, iova + 7 * PSZ, data,
				       2 * PSZ, MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_REFS(8, 4, 0);
	EXPECT_PINNED(8);
	/* Pinned pages can be pinned again for free. */
	ASSERT_EQ(0, access_pages(self->fd, afd, MOCK_FLAGS_ACCESS_WRITE,
				  iova + 2 * PSZ, 5 * PSZ, self->buf + 2 * PSZ,
				  &item2));
	EXPECT_EQ(0, access_rw(self->fd, afd, iova, data, 8 * PSZ,
			       MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_EQ(0, memcmp(data, self->buf, 8 * PSZ));
	EXPECT_PINNED(8);
	ASSERT_EQ(0, destroy_access_pages(self->fd, afd, item2));

	/* Unpinning gives the budget back. */
	ASSERT_EQ(0, destroy_access_pages(self->fd, afd, item1));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 12, 0);
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, iova + 4 * PSZ, 8 * PSZ,
				  self->buf + 4 * PSZ, &item3));
	EXPECT_PINNED(8);
	ASSERT_EQ(0, destroy_access_pages(self->fd, afd, item3));

	/* The refused pin succeeds once the limit allows it. */
	ASSERT_EQ(0, set_memlock(12));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, iova, 12 * PSZ, self->buf,
				  &item1));
	EXPECT_PINNED(12);
	EXPECT_REFS(0, 12, 1);
	close(afd);
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 12, 0);
	free(data);
}

/*
 * With the budget used up by one map and a domain, everything else that
 * uses the same pages still works: more devices, a second domain, an
 * access, copies into IOASes with and without domains.
 */
TEST_F(acct, limit_shared_pins_cost_nothing)
{
	__u32 dev1, dev2, dev3, dev4, dev5, ioas2, ioas3, item;
	__u64 iova = iova_at(0), dst = iova_at(0);
	char *data;
	int afd;

	data = malloc(8 * PSZ);
	ASSERT_NE(NULL, data);
	ASSERT_BUDGET(8);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev1, NULL, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PSZ, iova));
	EXPECT_PINNED(8);

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev2, NULL, NULL));
	ASSERT_EQ(0, huge_device(self->fd, self->ioas_id, &dev5, NULL));
	ASSERT_EQ(0, new_pin_access(self->fd, self->ioas_id, &afd));
	EXPECT_EQ(0, access_pages(self->fd, afd, 0, iova, 8 * PSZ, self->buf,
				  &item));
	EXPECT_EQ(0, access_rw(self->fd, afd, iova, data, 8 * PSZ,
			       MOCK_ACCESS_RW_SLOW_PATH));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &dev3, NULL, NULL));
	EXPECT_EQ(0, ioas_copy(self->fd, ioas2, &dst, self->ioas_id, iova,
			       8 * PSZ, MAP_FIXED_RW));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas3));
	EXPECT_EQ(0, ioas_copy(self->fd, ioas3, &dst, self->ioas_id, iova,
			       8 * PSZ, MAP_FIXED_RW));
	ASSERT_EQ(0, mock_domain(self->fd, ioas3, &dev4, NULL, NULL));
	EXPECT_PINNED(8);
	EXPECT_REFS(0, 8, 1);

	/* The budget really is used up. */
	EXPECT_ERRNO(ENOMEM, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + 8 * PSZ, PSZ,
					    iova_at(1)));
	EXPECT_REFS(8, 1, 0);

	/* Taking it all down gives the whole budget back. */
	close(afd);
	EXPECT_EQ(0, object_destroy(self->fd, dev4));
	EXPECT_EQ(0, object_destroy(self->fd, dev3));
	EXPECT_EQ(0, object_destroy(self->fd, dev2));
	EXPECT_EQ(0, object_destroy(self->fd, dev5));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
	EXPECT_EQ(0, object_destroy(self->fd, ioas3));
	EXPECT_PINNED(8);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 8 * PSZ, NULL));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 8, 0);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 8 * PSZ, 8 * PSZ, iova_at(1)));
	EXPECT_PINNED(8);
	EXPECT_REFS(8, 8, 1);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova_at(1), 8 * PSZ,
				NULL));
	EXPECT_EQ(0, object_destroy(self->fd, dev1));
	free(data);
}

/*
 * Each way of letting go uncharges: with the budget for one set of pages
 * only, pinning and releasing it again and again always works.
 */
TEST_F(acct, limit_every_release_uncharges)
{
	__u64 iova = iova_at(0);
	__u32 dev, ioas2, item;
	int i, afd, fd2;

	ASSERT_BUDGET(8);
	for (i = 0; i != 3; i++) {
		/* Unmap. */
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL,
					 NULL));
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    8 * PSZ, iova));
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 8 * PSZ,
					NULL));
		ASSERT_EQ(0, object_destroy(self->fd, dev));

		/* Domain destruction. */
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    8 * PSZ, iova));
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL,
					 NULL));
		ASSERT_EQ(0, object_destroy(self->fd, dev));

		/* Access unpin, and access destruction. */
		ASSERT_EQ(0, new_pin_access(self->fd, self->ioas_id, &afd));
		ASSERT_EQ(0, access_pages(self->fd, afd, 0, iova, 8 * PSZ,
					  self->buf, &item));
		ASSERT_EQ(0, destroy_access_pages(self->fd, afd, item));
		ASSERT_EQ(0, access_pages(self->fd, afd, 0, iova, 8 * PSZ,
					  self->buf, &item));
		close(afd);

		/* An unmap the pinning access of a copy is told about. */
		ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
		ASSERT_EQ(0, ioas_copy(self->fd, ioas2, &iova, self->ioas_id,
				       iova, 8 * PSZ, MAP_FIXED_RW));
		ASSERT_EQ(0, new_pin_access(self->fd, ioas2, &afd));
		ASSERT_EQ(0, access_pages(self->fd, afd, 0, iova, 8 * PSZ,
					  self->buf, &item));
		ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, iova, 8 * PSZ, NULL));
		close(afd);
		ASSERT_EQ(0, object_destroy(self->fd, ioas2));
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 8 * PSZ,
					NULL));

		/* Closing the context. */
		fd2 = open(IOMMU_DEV, O_RDWR);
		ASSERT_LE(0, fd2);
		ASSERT_EQ(0, set_rlimit_mode(fd2, variant->mode));
		ASSERT_EQ(0, ioas_alloc(fd2, &ioas2));
		ASSERT_EQ(0, mock_domain(fd2, ioas2, &dev, NULL, NULL));
		ASSERT_EQ(0, ioas_map_fixed(fd2, ioas2, self->buf, 8 * PSZ,
					    iova));
		EXPECT_PINNED(8);
		close(fd2);
		EXPECT_PINNED(0);
	}
	EXPECT_REFS(0, 8, 0);
}

/*
 * Refusals in the middle of a pin that takes many batches (a tiny batch
 * budget), at every possible point: always a full rollback.
 */
TEST_F(acct, limit_refusal_mid_batch)
{
	__u64 iova = iova_at(0);
	__u32 dev, hwpt, item;
	unsigned int limit;
	int afd;

	ASSERT_EQ(0, set_temp_memory_limit(self->fd, 32));
	ASSERT_BUDGET(1);
	ASSERT_EQ(0, new_pin_access(self->fd, self->ioas_id, &afd));

	for (limit = 1; limit != 16; limit++) {
		ASSERT_EQ(0, set_memlock(limit));

		/* A map with a domain present. */
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL,
					 NULL));
		EXPECT_ERRNO(ENOMEM, ioas_map_fixed(self->fd, self->ioas_id,
						    self->buf, 16 * PSZ,
						    iova));
		EXPECT_PINNED(0);
		EXPECT_REFS(0, 16, 0);
		EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, iova,
						16 * PSZ, NULL));
		ASSERT_EQ(0, object_destroy(self->fd, dev));

		/* Attaching a domain to the mapped IOAS. */
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    16 * PSZ, iova));
		EXPECT_ERRNO(ENOMEM, mock_domain(self->fd, self->ioas_id, &dev,
						 NULL, NULL));
		EXPECT_PINNED(0);
		EXPECT_REFS(0, 16, 0);
		/* Whole pages only: the pinning access is attached. */
		EXPECT_TRUE(ranges_are(self->fd, self->ioas_id, 0, UINT64_MAX,
				       PSZ));

		/* An access pinning the unpinned map. */
		EXPECT_ERRNO(ENOMEM, access_pages(self->fd, afd, 0, iova,
						  16 * PSZ, self->buf, &item));
		EXPECT_PINNED(0);
		EXPECT_REFS(0, 16, 0);
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova,
					16 * PSZ, NULL));
		if (_metadata->exit_code) {
			TH_LOG("failed with a limit of %u pages", limit);
			break;
		}
	}

	/* With room for it, each of them works in the same small batches. */
	ASSERT_EQ(0, set_memlock(16));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    16 * PSZ, iova));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, iova, 16 * PSZ, self->buf,
				  &item));
	EXPECT_PINNED(16);
	EXPECT_REFS(0, 16, 1);
	ASSERT_EQ(0, destroy_access_pages(self->fd, afd, item));
	EXPECT_PINNED(0);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, &hwpt, NULL));
	EXPECT_PINNED(16);
	EXPECT_REFS(0, 16, 1);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, iova, 16 * PSZ, self->buf));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 16 * PSZ,
				NULL));
	EXPECT_PINNED(0);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    16 * PSZ, iova));
	EXPECT_PINNED(16);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, iova, 16 * PSZ, self->buf));
	ASSERT_EQ(0, object_destroy(self->fd, dev));
	EXPECT_PINNED(0);
	EXPECT_REFS(0, 16, 0);
	close(afd);
	EXPECT_EQ(0, set_temp_memory_limit(self->fd, 65536));
}

/* CAP_IPC_LOCK ignores RLIMIT_MEMLOCK, but what it pins is charged. */
TEST_F(acct, cap_ipc_lock_bypasses_limit)
{
	__u64 iova = iova_at(0);
	__u32 dev, item;
	int afd;

	ASSERT_EQ(0, set_memlock(1));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    16 * PSZ, iova));
	ASSERT_EQ(0, new_pin_access(self->fd, self->ioas_id, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, iova, 4 * PSZ, self->buf,
				  &item));
	EXPECT_PINNED(4);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL, NULL));
	EXPECT_PINNED(16);
	EXPECT_REFS(0, 16, 1);
	close(afd);

	/* Without it, the 16 pages count against a limit of 16. */
	ASSERT_BUDGET(16);
	EXPECT_ERRNO(ENOMEM, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + 16 * PSZ, PSZ,
					    iova_at(1)));
	EXPECT_REFS(16, 1, 0);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 16 * PSZ,
				NULL));
	EXPECT_PINNED(0);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    16 * PSZ, iova));
	EXPECT_PINNED(16);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova, 16 * PSZ,
				NULL));
	EXPECT_EQ(0, object_destroy(self->fd, dev));
}

/*
 * The child of limit_other_process(): pin @npages pages of its own, report
 * 'P' (or 'E'), wait for the parent's word, exit.
 */
static int pin_in_child(__u64 mode, size_t npages, struct peer *parent)
{
	__u32 ioas_id, dev;
	char *mem;
	int fd, rc;

	mem = mmap(NULL, npages * PSZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = open(IOMMU_DEV, O_RDWR);
	if (mem == MAP_FAILED || fd < 0)
		return 1;
	memset(mem, 1, npages * PSZ);
	rc = set_rlimit_mode(fd, mode) || ioas_alloc(fd, &ioas_id) ||
	     mock_domain(fd, ioas_id, &dev, NULL, NULL) ||
	     ioas_map_fixed(fd, ioas_id, mem, npages * PSZ, iova_at(0));
	if (peer_send(parent, rc ? 'E' : 'P') || !peer_recv(parent))
		return 1;
	return rc;
}

/*
 * Mode 0 charges the user, whose budget all its processes share; mode 1
 * charges each process on its own.
 */
TEST_F(acct, limit_other_process)
{
	struct peer child;
	__u32 dev;

	ASSERT_BUDGET(8);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL, NULL));
	if (!peer_fork(&child))
		_exit(pin_in_child(variant->mode, 8, &child));
	ASSERT_LT(0, child.pid);
	EXPECT_EQ('P', peer_recv(&child));
	if (variant->mode) {
		ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    PSZ, iova_at(0)));
		EXPECT_PINNED(1);
		ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova_at(0),
					PSZ, NULL));
	} else {
		EXPECT_ERRNO(ENOMEM, ioas_map_fixed(self->fd, self->ioas_id,
						    self->buf, PSZ,
						    iova_at(0)));
		EXPECT_REFS(0, 1, 0);
	}

	/* The child's exit closes its context and uncharges its pages. */
	ASSERT_EQ(0, peer_send(&child, 'X'));
	EXPECT_EQ(0, peer_reap(&child));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    8 * PSZ, iova_at(0)));
	EXPECT_PINNED(8);
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova_at(0), 8 * PSZ,
				NULL));
	EXPECT_EQ(0, object_destroy(self->fd, dev));
}

/* VmPin of another process, in pages. */
static long pinned_vm_pages_of(pid_t pid)
{
	char path[64];
	long kb;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	kb = proc_field_kb(path, "VmPin");
	return kb < 0 ? kb : kb / (long)(PSZ / 1024);
}

/*
 * The child of charged_to_mapping_process(): with RLIMIT_MEMLOCK of 4
 * pages, map 8 pages of its own into the parent's IOAS, then serve the
 * parent's requests: 'L' raises the limit to 8 pages, '0' and '1' check
 * the pins of the memory, 'X' exits.
 */
static int mapping_child(int fd, __u32 ioas_id, struct peer *parent)
{
	char *mem, req, ans;

	mem = mmap(NULL, 8 * PSZ, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	memset(mem, 1, 8 * PSZ);
	ans = set_memlock(4) ||
	      ioas_map_fixed(fd, ioas_id, mem, 8 * PSZ, iova_at(0)) ? 'E' : 'M';
	while (!peer_send(parent, ans) && (req = peer_recv(parent))) {
		if (req == 'X')
			return 0;
		if (req == 'L')
			ans = set_memlock(8) ? 'E' : 'Y';
		else
			ans = md_check_refs(fd, mem, 8 * PSZ, req - '0') ? 'N' :
									   'Y';
	}
	return 1;
}

/*
 * Memory is charged to the process that mapped it, against its limit,
 * even when another process sharing the context pins it; once that process
 * is gone its memory can no longer be pinned (EFAULT).
 */
TEST_F(acct, charged_to_mapping_process)
{
	struct peer child;
	__u32 dev;

	ASSERT_BUDGET(64);
	if (!peer_fork(&child))
		_exit(mapping_child(self->fd, self->ioas_id, &child));
	ASSERT_LT(0, child.pid);
	ASSERT_EQ('M', peer_recv(&child));

	/* The child's limit, not ours, applies to its memory. */
	EXPECT_ERRNO(ENOMEM, mock_domain(self->fd, self->ioas_id, &dev, NULL,
					 NULL));
	EXPECT_EQ('Y', peer_ask(&child, '0'));
	EXPECT_EQ('Y', peer_ask(&child, 'L'));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL, NULL));
	EXPECT_EQ('Y', peer_ask(&child, '1'));
	EXPECT_PINNED(0);
	EXPECT_EQ(variant->mode ? 8 : 0, pinned_vm_pages_of(child.pid));
	ASSERT_EQ(0, object_destroy(self->fd, dev));
	EXPECT_EQ('Y', peer_ask(&child, '0'));
	EXPECT_EQ(0, pinned_vm_pages_of(child.pid));

	/* The child exits while its memory is pinned for our domain. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL, NULL));
	EXPECT_EQ(variant->mode ? 8 : 0, pinned_vm_pages_of(child.pid));
	ASSERT_EQ(0, peer_send(&child, 'X'));
	EXPECT_EQ(0, peer_reap(&child));
	ASSERT_EQ(0, object_destroy(self->fd, dev));
	EXPECT_ERRNO(EFAULT, mock_domain(self->fd, self->ioas_id, &dev, NULL,
					 NULL));
	EXPECT_TRUE(ranges_are(self->fd, self->ioas_id, 0, UINT64_MAX, 1));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova_at(0), 8 * PSZ,
				NULL));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev, NULL, NULL));
	EXPECT_EQ(0, object_destroy(self->fd, dev));
	EXPECT_PINNED(0);
}

TEST_HARNESS_MAIN
