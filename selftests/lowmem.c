// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Operations when memory is short, made so with the kernel's fault
 * injection for this task only: on a fragmented host, where every
 * allocation of more than one page fails, mapping, pinning, copying and
 * unmapping still work; teardown (unmap, closing an access, a device
 * leaving) works with no memory at all; and a pin whose store gets no
 * xarray node undoes itself.
 */
#include <sys/mman.h>

#include "helpers.h"

#define IOVA ((__u64)MOCK_APERTURE_START)
#define PIN MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES
#define FAIL_PAGE "/sys/kernel/debug/fail_page_alloc/"
#define FAIL_SLAB "/sys/kernel/debug/failslab/"
#define XA_NODE_FAILSLAB "/sys/kernel/slab/radix_tree_node/failslab"

static int write_str(const char *dir, const char *file, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), "%s%s", dir, file);
	return write_file(path, val);
}

/* Make every allocation of @dir's kind fail for this task, quietly. */
static int inject(const char *dir)
{
	return write_str(dir, "verbose", "0") ?:
	       write_str(dir, "interval", "1") ?:
	       write_str(dir, "times", "-1") ?:
	       write_str(dir, "ignore-gfp-wait", "N") ?:
	       write_str(dir, "task-filter", "Y") ?:
	       write_str(dir, "probability", "100");
}

static int stop(const char *dir)
{
	return write_str(dir, "probability", "0") ?:
	       write_str(dir, "task-filter", "N") ?:
	       write_str(dir, "times", "1") ?:
	       write_str(dir, "verbose", "2");
}

/*
 * This task's switch.  Opened beforehand: with no memory, opening a file
 * fails too, but writing to an open one does not allocate.
 */
static int make_it_fail(bool on)
{
	static int fd = -1;

	if (fd < 0)
		fd = open("/proc/self/make-it-fail", O_WRONLY);
	return fd >= 0 && pwrite(fd, on ? "1" : "0", 1, 0) == 1 ? 0 : -1;
}

/* A fragmented host: no allocation of two pages or more succeeds. */
static int fragmented(bool on)
{
	if (!on)
		return make_it_fail(false) ?: stop(FAIL_PAGE);
	return write_str(FAIL_PAGE, "min-order", "1") ?: inject(FAIL_PAGE) ?:
	       make_it_fail(true);
}

/* No memory at all: page and slab allocations fail. */
static int no_memory(bool on)
{
	if (!on)
		return make_it_fail(false) ?: stop(FAIL_SLAB) ?:
		       stop(FAIL_PAGE) ?:
		       write_str(FAIL_PAGE, "min-order", "1");
	return write_str(FAIL_PAGE, "min-order", "0") ?: inject(FAIL_PAGE) ?:
	       write_str(FAIL_SLAB, "cache-filter", "N") ?:
	       inject(FAIL_SLAB) ?: make_it_fail(true);
}

/* Only the slab of xarray nodes fails (every xarray of the kernel's). */
static int no_xa_nodes(bool on)
{
	if (!on)
		return make_it_fail(false) ?: stop(FAIL_SLAB) ?:
		       write_str(FAIL_SLAB, "cache-filter", "N") ?:
		       write_file(XA_NODE_FAILSLAB, "0");
	return write_file(XA_NODE_FAILSLAB, "1") ?:
	       write_str(FAIL_SLAB, "cache-filter", "Y") ?:
	       inject(FAIL_SLAB) ?: make_it_fail(true);
}

FIXTURE(lowmem) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id[2];
	__u32 hwpt_id[2];
	size_t page;
	size_t size;
	char *buf;
	long pinned_base;
};

FIXTURE_SETUP(lowmem)
{
	self->page = sysconf(_SC_PAGESIZE);
	self->size = 256 * self->page;
	self->fd = open_counted_ctx(&self->ioas_id, &self->pinned_base);
	ASSERT_LE(0, self->fd);
	/* Two domains: one filled from user memory, one from the first. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &self->stdev_id[0],
				 &self->hwpt_id[0], NULL));
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_HUGE_IOVA,
				       &self->stdev_id[1], &self->hwpt_id[1],
				       NULL));
	self->buf = new_buffer(self->size, 1);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(lowmem)
{
	EXPECT_EQ(0, no_memory(false));
	if (!access(XA_NODE_FAILSLAB, F_OK))
		EXPECT_EQ(0, no_xa_nodes(false));
	close(self->fd);
	EXPECT_EQ(0, nothing_pinned(self->buf, self->size, self->pinned_base));
	munmap(self->buf, self->size);
}

/*
 * Work buffers are sized to the operation and never need more than a
 * page: a one-page map, a big map, pins, copies both ways and unmaps all
 * work when no allocation of two pages or more can.
 */
TEST_F(lowmem, fragmented_host)
{
	size_t pg = self->page;
	char tmp[256], back[256];
	__u64 iova = 0, unmapped = 0;
	__u32 item = 0;
	int afd;

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, fragmented(true));
	EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, pg,
				    IOVA));
	EXPECT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf + pg,
			      self->size - pg, &iova, MAP_RW));
	EXPECT_EQ(0, access_pages(self->fd, afd, 0, iova, 8 * pg,
				  self->buf + pg, &item));
	fill_pattern(tmp, sizeof(tmp), 3);
	EXPECT_EQ(0, access_rw(self->fd, afd, iova + pg - 100, tmp,
			       sizeof(tmp), MOCK_ACCESS_RW_WRITE |
					    MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_EQ(0, access_rw(self->fd, afd, iova + pg - 100, back,
			       sizeof(back), MOCK_ACCESS_RW_SLOW_PATH));
	EXPECT_EQ(0, memcmp(tmp, back, sizeof(tmp)));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, iova,
				self->size - pg, &unmapped));
	EXPECT_EQ(self->size - pg, unmapped);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA, pg, NULL));
	ASSERT_EQ(0, fragmented(false));
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	EXPECT_EQ(0, close(afd));
}

/*
 * Teardown needs no memory it might not get: with every page and slab
 * allocation failing, unmapping (with an access asked to let go of its
 * pins), closing the access and taking a device and its domain away
 * still work, and leave nothing pinned.
 */
TEST_F(lowmem, teardown_without_memory)
{
	size_t pg = self->page;
	__u64 unmapped = 0;
	int afd, afd2;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd2));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + 3 * pg, 8 * pg,
				  self->buf + 3 * pg, NULL));
	ASSERT_EQ(0, access_pages(self->fd, afd2, 0, IOVA, 4 * pg, self->buf,
				  NULL));

	ASSERT_EQ(0, no_memory(true));
	EXPECT_EQ(0, object_destroy(self->fd, self->stdev_id[1]));
	/* The domain with the PFNs leaves: pinned pages go to the store. */
	EXPECT_EQ(0, object_destroy(self->fd, self->stdev_id[0]));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 3 * pg, 1));
	EXPECT_EQ(0, close(afd2));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA, self->size,
				&unmapped));
	EXPECT_EQ(self->size, unmapped);
	EXPECT_EQ(0, close(afd));
	ASSERT_EQ(0, no_memory(false));

	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	EXPECT_EQ(0, pinned_vm_pages() - self->pinned_base);
}

/*
 * Pins whose slots in the store cannot all be made (no xarray node to be
 * had) fail with ENOMEM and leave everything as it was: the slots made so
 * far go, the pages pinned for them are unpinned, nothing stays charged.
 * The first node of each store exists (a small pin in the middle made it),
 * so both fail half way: on the IOAS with domains, making empty slots for
 * pages the domains hold; on one without, storing the PFNs of pages just
 * pinned, over two pin runs (the small pin splits the range).
 */
TEST_F(lowmem, store_without_nodes)
{
	size_t pg = self->page;
	__u32 bare, item[2];
	long pinned;
	int afd[2], i;

	if (access(XA_NODE_FAILSLAB, F_OK))
		SKIP(return, "no %s", XA_NODE_FAILSLAB);
	ASSERT_EQ(0, ioas_alloc(self->fd, &bare));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, bare, self->buf, self->size,
				    IOVA));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd[0]));
	ASSERT_EQ(0, create_access(self->fd, bare, PIN, &afd[1]));
	for (i = 0; i != 2; i++)
		ASSERT_EQ(0, access_pages(self->fd, afd[i], 0, IOVA + 100 * pg,
					  8 * pg, self->buf + 100 * pg,
					  &item[i]));
	pinned = pinned_vm_pages();

	ASSERT_EQ(0, no_xa_nodes(true));
	for (i = 0; i != 2; i++)
		EXPECT_ERRNO(ENOMEM,
			     access_pages(self->fd, afd[i], 0, IOVA + 64 * pg,
					  137 * pg, self->buf + 64 * pg, NULL));
	ASSERT_EQ(0, no_xa_nodes(false));

	EXPECT_EQ(pinned, pinned_vm_pages());
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 100 * pg, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 100 * pg, 8 * pg, 2));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 108 * pg,
				   self->size - 108 * pg, 1));
	/* With memory again, the same pins work and go. */
	for (i = 0; i != 2; i++) {
		__u32 again = 0;

		EXPECT_EQ(0, access_pages(self->fd, afd[i], 0, IOVA + 64 * pg,
					  137 * pg, self->buf + 64 * pg,
					  &again));
		EXPECT_EQ(0, destroy_access_pages(self->fd, afd[i], again));
		EXPECT_EQ(0, destroy_access_pages(self->fd, afd[i], item[i]));
	}
	EXPECT_EQ(pinned - 8, pinned_vm_pages());
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	for (i = 0; i != 2; i++)
		EXPECT_EQ(0, close(afd[i]));
	EXPECT_EQ(0, ioas_unmap(self->fd, bare, IOVA, self->size, NULL));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA, self->size,
				NULL));
}

TEST_HARNESS_MAIN
