// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * In-kernel accesses, driven through the mock access of IOMMU_TEST_CMD:
 * creating and closing them, pinning pages (ACCESS_PAGES), the unmap
 * callback that makes them let go (and what happens when they do not),
 * copying by IOVA (ACCESS_RW, also on memory of other processes), moving
 * an access to another IOAS, and every teardown order.  Each test runs on
 * an IOAS with no, one or two mock devices attached.
 */
#include <sys/mman.h>

#include "helpers.h"

/* The fixture maps its buffer here; tests map more at IOVA2 and up. */
#define IOVA ((__u64)MOCK_APERTURE_START)
#define IOVA2 (IOVA + (1ULL << 20))
#define IOVA3 (IOVA + (2ULL << 20))
#define BUF_PAGES 16
#define PIN MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES
#define RW_W MOCK_ACCESS_RW_WRITE
#define RW_SLOW MOCK_ACCESS_RW_SLOW_PATH
#define DEFAULT_TEMP_LIMIT 65536
#define FAIL_DIR "/sys/kernel/debug/fail_iommufd/"

/*
 * Fault injection for this task only: the mock access then ignores unmap
 * requests (an access that does not let go) and pinning user pages fails.
 */
static int faults_start(void)
{
	if (write_file(FAIL_DIR "verbose", "0") ||
	    write_file(FAIL_DIR "interval", "1") ||
	    write_file(FAIL_DIR "times", "-1") ||
	    write_file(FAIL_DIR "task-filter", "Y") ||
	    write_file(FAIL_DIR "probability", "100"))
		return -1;
	return write_file("/proc/self/make-it-fail", "1");
}

/* Back to the defaults, where nothing fails. */
static int faults_stop(void)
{
	int rc = 0;

	rc |= write_file("/proc/self/make-it-fail", "0");
	rc |= write_file(FAIL_DIR "probability", "0");
	rc |= write_file(FAIL_DIR "task-filter", "N");
	rc |= write_file(FAIL_DIR "times", "1");
	rc |= write_file(FAIL_DIR "verbose", "2");
	return rc;
}

FIXTURE(mock_access) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id[2];
	__u32 hwpt_id[2];
	size_t page;
	size_t size;
	char *buf;
	bool faults;
	long pinned_base;
};

FIXTURE_VARIANT(mock_access) {
	unsigned int devices;
};

/* Nothing pinned unless an access pins it. */
FIXTURE_VARIANT_ADD(mock_access, no_domain) {
	.devices = 0,
};

/* Everything mapped is pinned once by the domain. */
FIXTURE_VARIANT_ADD(mock_access, one_device) {
	.devices = 1,
};

/*
 * A second device, with MOCK_FLAGS_DEVICE_HUGE_IOVA, on the same IOAS: it
 * may share the first one's domain or get its own; the tests hold either way.
 */
FIXTURE_VARIANT_ADD(mock_access, two_devices) {
	.devices = 2,
};

FIXTURE_SETUP(mock_access)
{
	unsigned int i;

	self->page = sysconf(_SC_PAGESIZE);
	self->size = BUF_PAGES * self->page;
	self->fd = open_counted_ctx(&self->ioas_id, &self->pinned_base);
	ASSERT_LE(0, self->fd);
	for (i = 0; i < variant->devices; i++)
		ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
					       i ? MOCK_FLAGS_DEVICE_HUGE_IOVA :
						   0,
					       &self->stdev_id[i],
					       &self->hwpt_id[i], NULL));
	self->buf = new_buffer(self->size, 1);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
}

FIXTURE_TEARDOWN(mock_access)
{
	if (self->faults)
		EXPECT_EQ(0, faults_stop());
	if (self->fd >= 0) {
		EXPECT_EQ(0, set_temp_memory_limit(self->fd,
						   DEFAULT_TEMP_LIMIT));
		close(self->fd);
	}
	/* Whatever the test left behind went away with the context. */
	EXPECT_EQ(0, nothing_pinned(self->buf, self->size, self->pinned_base));
}

/* Pins of a mapped page no access pins: a domain pins everything mapped. */
#define IDLE (variant->devices ? 1 : 0)

/* Pages charged for pinning since the test started. */
#define PINNED() (pinned_vm_pages() - self->pinned_base)

/* Are pages [first, first + n) of @buf pinned @refs times? */
static int page_refs(int fd, char *buf, size_t first, size_t n,
		     unsigned int refs)
{
	size_t pg = sysconf(_SC_PAGESIZE);

	return md_check_refs(fd, buf + first * pg, n * pg, refs);
}

/* The same for the fixture's buffer, inside a test. */
#define BUF_REFS(first, n, refs) \
	page_refs(self->fd, self->buf, first, n, refs)

/* Does the domain of each of the first @n hwpts map [iova, +len) to @ptr? */
static int check_domains(int fd, const __u32 *hwpt_ids, unsigned int n,
			 __u64 iova, size_t len, void *ptr)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (md_check_map(fd, hwpt_ids[i], iova, len, ptr))
			return -1;
	}
	return 0;
}

TEST_F(mock_access, create_errors)
{
	__u32 ioas2, stdev, hwpt, idev;
	int afd = -1;

	/* Non-IOAS objects of every kind, on an IOAS of their own. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &stdev, &hwpt, &idev));

	EXPECT_ERRNO(ENOENT, create_access(self->fd, 0, 0, &afd));
	EXPECT_ERRNO(ENOENT, create_access(self->fd, 0xfffff, PIN, &afd));
	EXPECT_ERRNO(ENOENT, create_access(self->fd, stdev, 0, &afd));
	EXPECT_ERRNO(ENOENT, create_access(self->fd, hwpt, PIN, &afd));
	EXPECT_ERRNO(ENOENT, create_access(self->fd, idev, 0, &afd));
	EXPECT_ERRNO(EOPNOTSUPP, create_access(self->fd, self->ioas_id,
					       1 << 1, &afd));
	EXPECT_ERRNO(EOPNOTSUPP, create_access(self->fd, self->ioas_id,
					       PIN | 1U << 31, &afd));
	EXPECT_EQ(-1, afd);

	/* The fd of an access is an ordinary, close-on-exec fd. */
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	EXPECT_LE(0, afd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(afd, F_GETFD) & FD_CLOEXEC);

	/* Access ops on an fd that is not an access. */
	EXPECT_ERRNO(EBADFD, access_pages(self->fd, self->fd, 0, IOVA,
					  self->page, self->buf, NULL));
	EXPECT_ERRNO(EBADFD, access_pages(self->fd, -1, 0, IOVA, self->page,
					  self->buf, NULL));
	EXPECT_ERRNO(EBADFD, access_rw(self->fd, self->fd, IOVA, self->buf,
				       1, 0));
	EXPECT_ERRNO(EBADFD, destroy_access_pages(self->fd, self->fd, 0));
	EXPECT_ERRNO(EBADFD, access_replace_ioas(self->fd, self->fd, ioas2));
	EXPECT_EQ(0, close(afd));
	/* A closed access is gone with its fd. */
	EXPECT_ERRNO(EBADFD, access_rw(self->fd, afd, IOVA, self->buf, 1, 0));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
}

/*
 * An access is an object with an ID (IDs are handed out lowest first), but
 * its driver owns it: IOMMU_DESTROY refuses, closing the fd destroys it.
 */
TEST_F(mock_access, not_destroyable_by_id)
{
	__u32 before, after;
	int afd;

	ASSERT_EQ(0, ioas_alloc(self->fd, &before));
	ASSERT_EQ(0, create_access(self->fd, before, PIN, &afd));
	ASSERT_EQ(0, ioas_alloc(self->fd, &after));
	ASSERT_EQ(before + 2, after);
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, before + 1));
	EXPECT_EQ(-ENOENT, ioas_ranges(self->fd, before + 1, NULL, 0, NULL));
	EXPECT_EQ(0, close(afd));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, before + 1));
	EXPECT_EQ(0, object_destroy(self->fd, before));
	EXPECT_EQ(0, object_destroy(self->fd, after));
}

/* An attached access holds its IOAS; closing its fd destroys it. */
TEST_F(mock_access, keeps_ioas_alive)
{
	struct iommu_iova_range range;
	int afd[3];
	unsigned int i;
	__u32 ioas2;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, create_access(self->fd, ioas2, i ? 0 : PIN,
					   &afd[i]));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, ioas2));
	EXPECT_EQ(1, ioas_ranges(self->fd, ioas2, &range, 1, NULL));
	/* Closed in an order unrelated to the creation. */
	EXPECT_EQ(0, close(afd[1]));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, ioas2));
	EXPECT_EQ(0, close(afd[0]));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, ioas2));
	EXPECT_EQ(0, close(afd[2]));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
	EXPECT_EQ(-ENOENT, ioas_ranges(self->fd, ioas2, &range, 1, NULL));

	/* The same for the fixture's IOAS, whose devices also hold it. */
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd[0]));
	ASSERT_EQ(0, access_pages(self->fd, afd[0], 0, IOVA, self->size,
				  self->buf, NULL));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas_id));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 1));
	EXPECT_EQ(0, close(afd[0]));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	for (i = 0; i < variant->devices; i++) {
		EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas_id));
		EXPECT_EQ(0, object_destroy(self->fd, self->stdev_id[i]));
	}
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas_id));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 0));
}

TEST_F(mock_access, pin_whole_and_partial)
{
	size_t pg = self->page;
	__u32 whole, part, sub, cross, last;
	int afd;

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));

	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, self->size,
				  self->buf, &whole));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 1));
	/* Charged once, whoever pins. */
	EXPECT_EQ(BUF_PAGES, PINNED());
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, whole));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(IDLE * BUF_PAGES, PINNED());
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, whole));

	/* Pages 2-5, for writing. */
	ASSERT_EQ(0, access_pages(self->fd, afd, MOCK_FLAGS_ACCESS_WRITE,
				  IOVA + 2 * pg, 4 * pg, self->buf + 2 * pg,
				  &part));
	/* The first ten bytes of page 8. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + 8 * pg, 10,
				  self->buf + 8 * pg, &sub));
	/* Page 10 and the first byte of page 11. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + 10 * pg, pg + 1,
				  self->buf + 10 * pg, &cross));
	/* The first byte of the last page. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + self->size - pg, 1,
				  self->buf + self->size - pg, &last));
	EXPECT_NE(part, sub);
	EXPECT_NE(sub, cross);
	EXPECT_NE(cross, last);

	EXPECT_EQ(0, BUF_REFS(0, 2, IDLE));
	EXPECT_EQ(0, BUF_REFS(2, 4, 1));
	EXPECT_EQ(0, BUF_REFS(6, 2, IDLE));
	EXPECT_EQ(0, BUF_REFS(8, 1, 1));
	EXPECT_EQ(0, BUF_REFS(9, 1, IDLE));
	EXPECT_EQ(0, BUF_REFS(10, 2, 1));
	EXPECT_EQ(0, BUF_REFS(12, 3, IDLE));
	EXPECT_EQ(0, BUF_REFS(15, 1, 1));
	EXPECT_EQ(variant->devices ? BUF_PAGES : 4 + 1 + 2 + 1, PINNED());
	EXPECT_EQ(0, check_domains(self->fd, self->hwpt_id, variant->devices, IOVA, self->size,
				   self->buf));

	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, cross));
	EXPECT_EQ(0, BUF_REFS(10, 2, IDLE));
	EXPECT_EQ(0, BUF_REFS(8, 1, 1));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, part));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, sub));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, last));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(0, close(afd));
}

/* Pins of the same pages stack up, but a page is pinned only once. */
TEST_F(mock_access, pin_twice_and_overlapping)
{
	size_t pg = self->page;
	__u32 a, b, c, d, e;
	int afd, afd2;

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd2));

	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 4 * pg, self->buf,
				  &a));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 4 * pg, self->buf,
				  &b));
	EXPECT_NE(a, b);
	EXPECT_EQ(0, BUF_REFS(0, 4, 1));
	EXPECT_EQ(variant->devices ? BUF_PAGES : 4, PINNED());
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, a));
	EXPECT_EQ(0, BUF_REFS(0, 4, 1));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, b));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));

	/* Pages 0-5, 4-9 and the start of page 5 (another access). */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 6 * pg, self->buf,
				  &c));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + 4 * pg, 6 * pg,
				  self->buf + 4 * pg, &d));
	ASSERT_EQ(0, access_pages(self->fd, afd2, 0, IOVA + 5 * pg, 20,
				  self->buf + 5 * pg, &e));
	EXPECT_EQ(0, BUF_REFS(0, 10, 1));
	EXPECT_EQ(0, BUF_REFS(10, 6, IDLE));
	EXPECT_EQ(variant->devices ? BUF_PAGES : 10, PINNED());

	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, d));
	EXPECT_EQ(0, BUF_REFS(0, 6, 1));
	EXPECT_EQ(0, BUF_REFS(6, 4, IDLE));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, c));
	EXPECT_EQ(0, BUF_REFS(0, 5, IDLE));
	EXPECT_EQ(0, BUF_REFS(5, 1, 1));
	/* Items belong to the access that made them. */
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, e));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd2, e));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(0, check_domains(self->fd, self->hwpt_id, variant->devices, IOVA, self->size,
				   self->buf));
	EXPECT_EQ(0, close(afd2));
	EXPECT_EQ(0, close(afd));
}

/*
 * A range may span adjacent areas.  Unmapping any area a pin touches makes
 * the mock access drop the whole pin.
 */
TEST_F(mock_access, pin_across_areas)
{
	size_t pg = self->page, half = self->size / 2;
	size_t hp = half / pg;
	__u32 mid, edge, two_mems;
	__u64 unmapped;
	char *buf2;
	int afd;

	/* The fixture's memory as two areas, back to back. */
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA, self->size,
				NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, half,
				    IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf + half,
				    half, IOVA + half));
	/* Unrelated memory right after them. */
	buf2 = new_buffer(self->size, 2);
	ASSERT_NE(MAP_FAILED, buf2);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf2, self->size,
				    IOVA + self->size));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));

	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + half - 2 * pg,
				  4 * pg, self->buf + half - 2 * pg, &mid));
	/* The first area's last page and the second's first byte. */
	ASSERT_EQ(0, access_pages(self->fd, afd, MOCK_FLAGS_ACCESS_WRITE,
				  IOVA + half - pg, pg + 1, self->buf + half - pg,
				  &edge));
	/* Its pages are no single user range: skip the mock's comparison. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0,
				  IOVA + self->size - pg, 2 * pg, NULL,
				  &two_mems));
	EXPECT_EQ(0, BUF_REFS(0, hp - 2, IDLE));
	EXPECT_EQ(0, BUF_REFS(hp - 2, 4, 1));
	EXPECT_EQ(0, BUF_REFS(hp + 2, hp - 3, IDLE));
	EXPECT_EQ(0, BUF_REFS(BUF_PAGES - 1, 1, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, pg, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2 + pg, self->size - pg,
				   IDLE));

	/* Cutting into the second area is refused, pins or not. */
	EXPECT_ERRNO(ENOENT, ioas_unmap(self->fd, self->ioas_id, IOVA + half,
					pg, NULL));
	/* Unmapping it drops every pin touching it, even across areas. */
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA + half, half,
				&unmapped));
	EXPECT_EQ(half, unmapped);
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, mid));
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, edge));
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, two_mems));
	EXPECT_EQ(0, BUF_REFS(0, hp, IDLE));
	EXPECT_EQ(0, BUF_REFS(hp, hp, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, self->size, IDLE));
	/* The hole is not pinnable any more. */
	EXPECT_ERRNO(ENOENT, access_pages(self->fd, afd, 0, IOVA + half - pg,
					  2 * pg, self->buf + half - pg,
					  NULL));
	EXPECT_EQ(0, check_domains(self->fd, self->hwpt_id, variant->devices, IOVA, half,
				   self->buf));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, self->size, 0));
	munmap(buf2, self->size);
}

/*
 * An access that pins hands out whole pages, so while one is attached the
 * IOAS maps whole pages only (IOVA, length and offset in the page), as with
 * a domain of 4 KiB pages.  An IOAS that maps part of a page refuses one
 * (EADDRINUSE); accesses that only copy are fine with it.
 */
TEST_F(mock_access, pinning_access_aligns_ioas)
{
	size_t pg = self->page, off = pg / 2;
	__u64 align = 0, mock_align = variant->devices ? pg / 2 : 1;
	__u32 ioas2;
	char tmp[8192];
	unsigned int i;
	char *buf2;
	int afd;

	ASSERT_LE(pg + off, sizeof(tmp));
	buf2 = new_buffer(4 * pg, 2);
	ASSERT_NE(MAP_FAILED, buf2);
	/* Multiples of MOCK_IO_PAGE_SIZE, so fine for mock domains. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    2 * pg + off, IOVA2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf2 + off,
				    2 * pg, IOVA2 + 2 * pg + off));
	EXPECT_ERRNO(EADDRINUSE, create_access(self->fd, self->ioas_id, PIN,
					       &afd));
	/* Copying by IOVA has no such limit. */
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, 0, &afd));
	for (i = 0; i < 2; i++) {
		memset(tmp, 0, sizeof(tmp));
		ASSERT_EQ(0, access_rw(self->fd, afd, IOVA2 + 2 * pg, tmp,
				       sizeof(tmp), i ? RW_SLOW : 0));
		EXPECT_EQ(0, memcmp(self->buf + 2 * pg, tmp, off));
		EXPECT_EQ(0, memcmp(buf2 + off, tmp + off, pg));
	}
	EXPECT_EQ(0, close(afd));

	/* A pinning access cannot move onto that IOAS either. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, create_access(self->fd, ioas2, PIN, &afd));
	EXPECT_ERRNO(EADDRINUSE, access_replace_ioas(self->fd, afd,
						     self->ioas_id));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA2,
				4 * pg + off, NULL));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, 4 * pg, 0));
	/* It stayed where it was; once the IOAS is aligned it may come. */
	EXPECT_EQ(0, ioas_map_fixed(self->fd, ioas2, buf2, pg, IOVA2));
	EXPECT_EQ(0, access_pages(self->fd, afd, 0, IOVA2, pg, buf2, NULL));
	ASSERT_EQ(0, access_replace_ioas(self->fd, afd, self->ioas_id));

	/* Attached, it makes every new mapping whole pages. */
	ASSERT_LE(1, ioas_ranges(self->fd, self->ioas_id, NULL, 0, &align));
	EXPECT_EQ(pg, align);
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, pg + off, IOVA2));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + off, pg, IOVA2 + off));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf + off, pg, IOVA2));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id,
					    self->buf, pg, IOVA2 + off));
	EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf2, pg,
				    IOVA2));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA2, pg, NULL));
	/* Detached, the IOAS is as before. */
	EXPECT_EQ(0, close(afd));
	ASSERT_LE(1, ioas_ranges(self->fd, self->ioas_id, NULL, 0, &align));
	EXPECT_EQ(mock_align, align);
	EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf2 + off, pg,
				    IOVA2 + off));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA2 + off, pg,
				NULL));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, 4 * pg, 0));
	munmap(buf2, 4 * pg);
}

/* A pin starts a page (EINVAL otherwise); it may end inside one. */
TEST_F(mock_access, pin_starts_a_page)
{
	size_t pg = self->page;
	__u32 item;
	int afd;

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	EXPECT_ERRNO(EINVAL, access_pages(self->fd, afd, 0, IOVA + 8, 8,
					  self->buf + 8, NULL));
	EXPECT_ERRNO(EINVAL, access_pages(self->fd, afd, 0, IOVA + pg - 8,
					  16, NULL, NULL));
	EXPECT_ERRNO(EINVAL, access_pages(self->fd, afd, 0,
					  IOVA + self->size - 8, 8, NULL,
					  NULL));
	/* Unmapped is ENOENT, whatever the offset. */
	EXPECT_ERRNO(ENOENT, access_pages(self->fd, afd, 0,
					  IOVA + self->size + 8, 8, NULL,
					  NULL));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(IDLE * BUF_PAGES, PINNED());

	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + pg, pg + 8,
				  self->buf + pg, &item));
	EXPECT_EQ(0, BUF_REFS(0, 1, IDLE));
	EXPECT_EQ(0, BUF_REFS(1, 2, 1));
	EXPECT_EQ(0, BUF_REFS(3, BUF_PAGES - 3, IDLE));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(0, close(afd));
}

/*
 * The mock compares the pinned pages with the user memory at uptr: EBADE
 * for other pages, EFAULT for memory it cannot read, nothing for uptr 0.
 * A failed check leaves nothing pinned.
 */
TEST_F(mock_access, pin_checks_user_memory)
{
	size_t pg = self->page;
	char *gone;
	__u32 item;
	int afd;

	gone = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, gone);
	ASSERT_EQ(0, munmap(gone, 2 * pg));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));

	EXPECT_ERRNO(EBADE, access_pages(self->fd, afd, 0, IOVA, 2 * pg,
					 self->buf + pg, NULL));
	EXPECT_ERRNO(EFAULT, access_pages(self->fd, afd, 0, IOVA, 2 * pg,
					  gone, NULL));
	EXPECT_ERRNO(EBADE, access_pages(self->fd, afd,
					 MOCK_FLAGS_ACCESS_SYZ, 0, pg,
					 self->buf + pg, NULL));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(IDLE * BUF_PAGES, PINNED());

	/* Only the page of uptr counts, not the offset in it. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 2 * pg,
				  self->buf + 1, &item));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, item));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 2 * pg, NULL,
				  &item));
	EXPECT_EQ(0, BUF_REFS(0, 2, 1));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(0, close(afd));
}

/* A fuzzer's IOVA (MOCK_FLAGS_ACCESS_SYZ): area number, then offset. */
static __u64 syz_iova(__u32 nth_area, __u32 offset)
{
	return (__u64)offset << 32 | nth_area;
}

/*
 * Areas count in IOVA order, not in the order they were mapped; the offset
 * may reach past its area; an area number past the last is IOVA 0.
 */
TEST(syz_iova_by_area)
{
	size_t pg = sysconf(_SC_PAGESIZE);
	__u32 ioas, item;
	char tmp[16];
	long base;
	char *buf;
	int fd, afd;

	buf = new_buffer(16 * pg, 3);
	ASSERT_NE(MAP_FAILED, buf);
	fd = open_counted_ctx(&ioas, &base);
	ASSERT_LE(0, fd);
	/* The second area (8 pages at 2 MiB) first, then the first (4). */
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, buf + 4 * pg, 8 * pg, 2 << 20));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, buf, 4 * pg, 1 << 20));
	ASSERT_EQ(0, create_access(fd, ioas, PIN, &afd));

	/* Two pages fit at the end of the first area, not three. */
	ASSERT_EQ(0, access_pages(fd, afd, MOCK_FLAGS_ACCESS_SYZ,
				  syz_iova(0, 2 * pg), 2 * pg, buf + 2 * pg,
				  &item));
	EXPECT_EQ(0, destroy_access_pages(fd, afd, item));
	EXPECT_ERRNO(ENOENT, access_pages(fd, afd, MOCK_FLAGS_ACCESS_SYZ,
					  syz_iova(0, 3 * pg), 2 * pg, NULL,
					  NULL));
	ASSERT_EQ(0, access_pages(fd, afd, MOCK_FLAGS_ACCESS_SYZ,
				  syz_iova(1, 6 * pg), 2 * pg,
				  buf + 10 * pg, &item));
	EXPECT_EQ(0, destroy_access_pages(fd, afd, item));
	/* The first area's offset of 1 MiB is the second area's start. */
	ASSERT_EQ(0, access_pages(fd, afd, MOCK_FLAGS_ACCESS_SYZ,
				  syz_iova(0, 1 << 20), pg, buf + 4 * pg,
				  &item));
	EXPECT_EQ(0, destroy_access_pages(fd, afd, item));
	/* No third area: IOVA 0, not mapped. */
	EXPECT_ERRNO(ENOENT, access_pages(fd, afd, MOCK_FLAGS_ACCESS_SYZ,
					  syz_iova(2, 0), pg, NULL, NULL));
	/* A real IOVA reads as an area number: none such, so IOVA 0. */
	EXPECT_ERRNO(ENOENT, access_pages(fd, afd, MOCK_FLAGS_ACCESS_SYZ,
					  1 << 20, pg, NULL, NULL));
	/* Copies read the IOVA the same way. */
	ASSERT_EQ(0, access_rw(fd, afd, syz_iova(1, pg + 8), tmp,
			       sizeof(tmp), MOCK_FLAGS_ACCESS_SYZ));
	EXPECT_EQ(0, memcmp(buf + 5 * pg + 8, tmp, sizeof(tmp)));
	EXPECT_ERRNO(ENOENT, access_rw(fd, afd, 1 << 20, tmp, sizeof(tmp),
				       MOCK_FLAGS_ACCESS_SYZ));

	/* With an area at IOVA 0, a missing area number lands there. */
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas, buf + 12 * pg, pg, 0));
	ASSERT_EQ(0, access_pages(fd, afd, MOCK_FLAGS_ACCESS_SYZ,
				  syz_iova(7, 5 * pg), pg, buf + 12 * pg,
				  &item));
	EXPECT_EQ(0, destroy_access_pages(fd, afd, item));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, md_check_refs(fd, buf, 16 * pg, 0));
	EXPECT_EQ(base, pinned_vm_pages());
	EXPECT_EQ(0, close(fd));
	munmap(buf, 16 * pg);
}

TEST_F(mock_access, pin_errors)
{
	size_t pg = self->page;
	__u32 item;
	char *ro;
	int afd, rw_afd;

	ro = new_buffer(4 * pg, 3);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, ro, 4 * pg,
			      &(__u64){ IOVA2 },
			      IOMMU_IOAS_MAP_FIXED_IOVA |
				      IOMMU_IOAS_MAP_READABLE));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, 0, &rw_afd));

	/* Not mapped at all, or not to the end. */
	EXPECT_ERRNO(ENOENT, access_pages(self->fd, afd, 0, IOVA - pg, pg,
					  self->buf, NULL));
	EXPECT_ERRNO(ENOENT, access_pages(self->fd, afd, 0, IOVA - 1, 2,
					  self->buf - 1, NULL));
	EXPECT_ERRNO(ENOENT, access_pages(self->fd, afd, 0,
					  IOVA + self->size - pg, 2 * pg,
					  self->buf + self->size - pg, NULL));
	EXPECT_ERRNO(ENOENT, access_pages(self->fd, afd, 0, IOVA2 + 4 * pg,
					  1, ro, NULL));
	/* Writing read-only memory. */
	EXPECT_ERRNO(EPERM, access_pages(self->fd, afd,
					 MOCK_FLAGS_ACCESS_WRITE, IOVA2, pg,
					 ro, NULL));
	/* Bad flags, empty or wrapping range. */
	EXPECT_ERRNO(EOPNOTSUPP, access_pages(self->fd, afd, 1 << 1, IOVA,
					      pg, self->buf, NULL));
	EXPECT_ERRNO(EOPNOTSUPP, access_pages(self->fd, afd, 1U << 31, IOVA,
					      pg, self->buf, NULL));
	EXPECT_ERRNO(EINVAL, access_pages(self->fd, afd, 0, IOVA, 0,
					  self->buf, NULL));
	EXPECT_ERRNO(EOVERFLOW, access_pages(self->fd, afd, 0,
					     UINT64_MAX - 10, 100, self->buf,
					     NULL));
	/* An access that did not ask for pinning. */
	EXPECT_ERRNO(EOPNOTSUPP, access_pages(self->fd, rw_afd, 0, IOVA, pg,
					      self->buf, NULL));
	/* The mock compares what it got with the user memory given. */
	EXPECT_ERRNO(EBADE, access_pages(self->fd, afd, 0, IOVA, pg,
					 self->buf + pg, NULL));
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, 0));
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, 12345));
	/* Nothing of the above left a pin behind. */
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(0, md_check_refs(self->fd, ro, 4 * pg, IDLE));

	/* Reading read-only memory is fine. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA2, 4 * pg, ro, &item));
	EXPECT_EQ(0, md_check_refs(self->fd, ro, 4 * pg, 1));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(0, close(rw_afd));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA2, 4 * pg, NULL));
	EXPECT_EQ(0, md_check_refs(self->fd, ro, 4 * pg, 0));
	munmap(ro, 4 * pg);
}

/* Unmapping pinned IOVA calls the accesses' unmap op, which unpins. */
TEST_F(mock_access, unmap_drops_pins)
{
	size_t pg = self->page;
	__u32 a, b, other;
	__u64 unmapped;
	int afd, afd2;
	char *buf2;

	buf2 = new_buffer(self->size, 2);
	ASSERT_NE(MAP_FAILED, buf2);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf2, self->size,
				    IOVA2));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd2));

	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, self->size,
				  self->buf, &a));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + pg, pg,
				  self->buf + pg, &b));
	ASSERT_EQ(0, access_pages(self->fd, afd2, 0, IOVA2, 2 * pg, buf2,
				  &other));

	/* Unmapping the fixture's area drops both pins of the first access. */
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA, self->size,
				&unmapped));
	EXPECT_EQ(self->size, unmapped);
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, a));
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, b));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 0));
	EXPECT_ERRNO(ENOENT, access_pages(self->fd, afd, 0, IOVA, pg,
					  self->buf, NULL));
	if (variant->devices)
		EXPECT_ERRNO(EINVAL, md_check_map(self->fd, self->hwpt_id[0],
						  IOVA, pg, self->buf));

	/* The other access, pinning elsewhere, was not touched. */
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, 2 * pg, 1));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd2, other));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, self->size, IDLE));
	ASSERT_EQ(0, access_pages(self->fd, afd2, 0, IOVA2, 2 * pg, buf2,
				  &other));

	/* Unmapping everything drops everything. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, pg, self->buf, &a));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(2 * self->size, unmapped);
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, a));
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd2, other));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, self->size, 0));
	/* Also when there is nothing left. */
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(0, unmapped);
	EXPECT_EQ(0, close(afd2));
	EXPECT_EQ(0, close(afd));
	munmap(buf2, self->size);
}

/*
 * An access that does not let go: with fault injection the mock access
 * ignores the unmap request for a range (requests for everything, as on
 * detach, are always honoured), so the unmap fails with EBUSY and changes
 * nothing.
 */
TEST_F(mock_access, unmap_busy)
{
	size_t pg = self->page;
	__u32 item, again;
	__u64 unmapped;
	char tmp[64];
	char *buf2;
	int afd, rc, err;

	/* The VM's kernel has it: CONFIG_FAULT_INJECTION_DEBUG_FS */
	ASSERT_EQ(0, access(FAIL_DIR "probability", W_OK))
		TH_LOG("no fail_iommufd fault injection in debugfs");
	buf2 = new_buffer(self->size, 2);
	ASSERT_NE(MAP_FAILED, buf2);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf2, self->size,
				    IOVA2));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + pg, 2 * pg,
				  self->buf + pg, &item));

	self->faults = true;
	ASSERT_EQ(0, faults_start());
	EXPECT_ERRNO(EBUSY, ioas_unmap(self->fd, self->ioas_id, IOVA,
				       self->size, NULL));
	/* A range over both areas fails as a whole: nothing is unmapped. */
	EXPECT_ERRNO(EBUSY, ioas_unmap(self->fd, self->ioas_id, IOVA,
				       IOVA2 + self->size - IOVA, NULL));
	/* Both areas are still mapped and the pin is still there. */
	EXPECT_EQ(variant->devices ? 2 * BUF_PAGES : 2, PINNED());
	EXPECT_EQ(0, BUF_REFS(1, 2, 1));
	EXPECT_EQ(0, BUF_REFS(3, BUF_PAGES - 3, IDLE));
	EXPECT_EQ(0, check_domains(self->fd, self->hwpt_id, variant->devices, IOVA, self->size,
				   self->buf));
	EXPECT_EQ(0, check_domains(self->fd, self->hwpt_id, variant->devices, IOVA2, self->size,
				   buf2));
	EXPECT_EQ(0, access_rw(self->fd, afd, IOVA + pg, tmp, sizeof(tmp), 0));
	EXPECT_EQ(0, memcmp(self->buf + pg, tmp, sizeof(tmp)));
	/* The area stays usable: pinned pages can be pinned again. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + pg, 2 * pg,
				  self->buf + pg, &again));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, again));
	/* New pages cannot be pinned while injection lasts. */
	rc = access_pages(self->fd, afd, 0, IOVA2, pg, buf2, &again);
	err = errno;
	if (variant->devices) {
		/* ...but these come from the domain. */
		EXPECT_EQ(0, rc);
		EXPECT_EQ(0, destroy_access_pages(self->fd, afd, again));
	} else {
		EXPECT_EQ(-1, rc);
		EXPECT_EQ(EFAULT, err);
		EXPECT_EQ(0, md_check_refs(self->fd, buf2, pg, 0));
	}
	/* An area without pins unmaps without asking the access. */
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA2, self->size,
				&unmapped));
	EXPECT_EQ(self->size, unmapped);

	ASSERT_EQ(0, faults_stop());
	self->faults = false;
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA, self->size,
				&unmapped));
	EXPECT_EQ(self->size, unmapped);
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, self->size, 0));
	EXPECT_EQ(0, close(afd));
	munmap(buf2, self->size);
}

/*
 * Read and write every length up to 64 at every offset from @before bytes
 * before to @after bytes after the page boundary @boundary of an area
 * mapping @mem at @iova; neighbours of the written bytes must not change.
 * The slow path, which pins for every copy, gets a narrower window: the
 * debug kernel takes about a millisecond per copy there.
 */
static void check_rw_boundary(struct __test_metadata *_metadata, int fd,
			      int afd, char *mem, __u64 iova, __u64 boundary,
			      unsigned int flags)
{
	unsigned int before = flags & RW_SLOW ? 24 : 64;
	unsigned int after = flags & RW_SLOW ? 8 : 16;
	unsigned char tmp[64], data[64];
	unsigned int seed = 0;
	__u64 at;
	size_t len;

	for (at = boundary - before; at < boundary + after; at++) {
		char *user = mem + (at - iova);

		for (len = 1; len <= sizeof(tmp); len++) {
			char before = user[-1], after = user[len];

			memset(tmp, 0, sizeof(tmp));
			ASSERT_EQ(0, access_rw(fd, afd, at, tmp, len, flags));
			ASSERT_EQ(0, memcmp(user, tmp, len));
			fill_pattern(data, len, ++seed);
			ASSERT_EQ(0, access_rw(fd, afd, at, data, len,
					       flags | RW_W));
			ASSERT_EQ(0, memcmp(user, data, len));
			ASSERT_EQ(before, user[-1]);
			ASSERT_EQ(after, user[len]);
		}
	}
}

TEST_F(mock_access, rw_page_boundary)
{
	int afd;

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, 0, &afd));
	check_rw_boundary(_metadata, self->fd, afd, self->buf, IOVA,
			  IOVA + 4 * self->page, 0);
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
}

TEST_F(mock_access, rw_page_boundary_slow_path)
{
	int afd;

	/* A pinning access copies by IOVA just the same. */
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	check_rw_boundary(_metadata, self->fd, afd, self->buf, IOVA,
			  IOVA + 4 * self->page, RW_SLOW);
	/* The slow path pins only for the copy. */
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(0, close(afd));
}

/* An area whose memory starts inside a page, at a page aligned IOVA. */
TEST_F(mock_access, rw_subpage_area)
{
	size_t pg = self->page, off = variant->devices ? pg / 2 : 100;
	char *mem = self->buf + 2 * pg + off;
	int afd;

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, 0, &afd));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, mem,
				    4 * pg - (variant->devices ? 0 : off),
				    IOVA2));
	check_rw_boundary(_metadata, self->fd, afd, mem, IOVA2,
			  IOVA2 + pg - off, 0);
	check_rw_boundary(_metadata, self->fd, afd, mem, IOVA2,
			  IOVA2 + 2 * pg - off, RW_SLOW);
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA2, 4 * pg, NULL));
}

/* Whole buffers, across areas, and in small pieces of temporary memory. */
TEST_F(mock_access, rw_multi_page)
{
	static const unsigned int flags[] = { 0, RW_SLOW };
	size_t size = self->size;
	char *buf2, *tmp;
	unsigned int i;
	int afd;

	buf2 = new_buffer(size, 2);
	ASSERT_NE(MAP_FAILED, buf2);
	tmp = malloc(2 * size);
	ASSERT_NE(NULL, tmp);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf2, size,
				    IOVA + size));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, 0, &afd));

	for (i = 0; i < 2 * ARRAY_SIZE(flags); i++) {
		unsigned int f = flags[i % ARRAY_SIZE(flags)];

		/* The second round with 2 pages of temporary memory. */
		if (i == ARRAY_SIZE(flags))
			ASSERT_EQ(0, set_temp_memory_limit(self->fd,
							   2 * sizeof(void *)));
		memset(tmp, 0, 2 * size);
		ASSERT_EQ(0, access_rw(self->fd, afd, IOVA, tmp, size, f));
		EXPECT_EQ(0, memcmp(self->buf, tmp, size));
		/* Through both areas. */
		ASSERT_EQ(0, access_rw(self->fd, afd, IOVA + 100, tmp,
				       2 * size - 200, f));
		EXPECT_EQ(0, memcmp(self->buf + 100, tmp, size - 100));
		EXPECT_EQ(0, memcmp(buf2, tmp + size - 100, size - 100));

		fill_pattern(tmp, 2 * size, 10 + i);
		ASSERT_EQ(0, access_rw(self->fd, afd, IOVA, tmp, 2 * size,
				       f | RW_W));
		EXPECT_EQ(0, memcmp(self->buf, tmp, size));
		EXPECT_EQ(0, memcmp(buf2, tmp + size, size));
	}
	EXPECT_EQ(0, set_temp_memory_limit(self->fd, DEFAULT_TEMP_LIMIT));
	EXPECT_EQ(0, check_domains(self->fd, self->hwpt_id, variant->devices, IOVA, size,
				   self->buf));
	EXPECT_EQ(0, check_domains(self->fd, self->hwpt_id, variant->devices, IOVA + size, size,
				   buf2));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, size, IDLE));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA + size, size,
				NULL));
	free(tmp);
	munmap(buf2, size);
}

TEST_F(mock_access, rw_errors)
{
	size_t pg = self->page;
	char tmp[64];
	char *ro;
	int afd;

	ro = new_buffer(pg, 3);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, ro, pg,
			      &(__u64){ IOVA2 },
			      IOMMU_IOAS_MAP_FIXED_IOVA |
				      IOMMU_IOAS_MAP_READABLE));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, 0, &afd));

	/* Read-only memory can be read, not written. */
	EXPECT_EQ(0, access_rw(self->fd, afd, IOVA2, tmp, sizeof(tmp), 0));
	EXPECT_EQ(0, memcmp(ro, tmp, sizeof(tmp)));
	EXPECT_ERRNO(EPERM, access_rw(self->fd, afd, IOVA2, tmp, sizeof(tmp),
				      RW_W));
	EXPECT_ERRNO(EPERM, access_rw(self->fd, afd, IOVA2, tmp, sizeof(tmp),
				      RW_W | RW_SLOW));
	EXPECT_EQ(0, memcmp(ro, tmp, sizeof(tmp)));
	/* Unmapped IOVA, before, after and across the end of an area. */
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, afd, IOVA - 1, tmp, 1, 0));
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, afd, IOVA + self->size, tmp,
				       1, 0));
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, afd, IOVA + self->size - 1,
				       tmp, 2, RW_SLOW));
	EXPECT_ERRNO(ENOENT, access_rw(self->fd, afd, IOVA2 + pg - 8, tmp, 16,
				       0));
	/* Bad flags, empty and wrapping ranges. */
	EXPECT_ERRNO(EOPNOTSUPP, access_rw(self->fd, afd, IOVA, tmp, 1,
					   1 << 1));
	EXPECT_ERRNO(EOPNOTSUPP, access_rw(self->fd, afd, IOVA, tmp, 1,
					   1U << 31));
	EXPECT_ERRNO(EINVAL, access_rw(self->fd, afd, IOVA, tmp, 0, 0));
	EXPECT_ERRNO(EOVERFLOW, access_rw(self->fd, afd, UINT64_MAX, tmp, 2,
					  0));
	/* The user buffer of the copy is bad. */
	EXPECT_ERRNO(EFAULT, access_rw(self->fd, afd, IOVA, NULL, 8, 0));
	EXPECT_ERRNO(EFAULT, access_rw(self->fd, afd, IOVA, NULL, 8, RW_W));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA2, pg, NULL));
	munmap(ro, pg);
}

/*
 * Memory mapped by a child that has exited: pinned while a domain existed
 * at map time, so still reachable; otherwise it cannot be pinned any more.
 */
TEST_F(mock_access, rw_mapped_by_exited_child)
{
	size_t size = self->size;
	char *want, *tmp;
	__u32 ioas2, stdev, item;
	struct peer child;
	int afd, afd2;

	want = malloc(size);
	tmp = malloc(size);
	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, tmp);
	fill_pattern(want, size, 5);
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));

	if (!peer_fork(&child)) {
		char *mem = new_buffer(size, 5);

		if (mem == MAP_FAILED)
			_exit(1);
		_exit(ioas_map_fixed(self->fd, self->ioas_id, mem, size,
				     IOVA2) ? 2 : 0);
	}
	ASSERT_LT(0, child.pid);
	ASSERT_EQ(0, peer_reap(&child));

	if (variant->devices) {
		ASSERT_EQ(0, access_rw(self->fd, afd, IOVA2, tmp, size, 0));
		EXPECT_EQ(0, memcmp(want, tmp, size));
		ASSERT_EQ(0, access_rw(self->fd, afd, IOVA2, tmp, size,
				       RW_SLOW));
		EXPECT_EQ(0, memcmp(want, tmp, size));
		fill_pattern(want, 100, 6);
		ASSERT_EQ(0, access_rw(self->fd, afd, IOVA2 + 1000, want, 100,
				       RW_W));
		ASSERT_EQ(0, access_rw(self->fd, afd, IOVA2 + 1000, tmp, 100,
				       0));
		EXPECT_EQ(0, memcmp(want, tmp, 100));
		ASSERT_EQ(0, access_pages(self->fd, afd, 0,
					  IOVA2, size, NULL, &item));
		EXPECT_EQ(0, destroy_access_pages(self->fd, afd, item));

		/* A new domain is filled from the pinned pages. */
		ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
		ASSERT_EQ(0, ioas_copy(self->fd, ioas2, &(__u64){ IOVA },
				       self->ioas_id, IOVA2, size,
				       IOMMU_IOAS_MAP_FIXED_IOVA | MAP_RW));
		ASSERT_EQ(0, mock_domain(self->fd, ioas2, &stdev, NULL, NULL));
		ASSERT_EQ(0, create_access(self->fd, ioas2, 0, &afd2));
		ASSERT_EQ(0, access_rw(self->fd, afd2, IOVA + 1000, tmp, 100,
				       0));
		EXPECT_EQ(0, memcmp(want, tmp, 100));
		EXPECT_EQ(0, close(afd2));
		EXPECT_EQ(0, object_destroy(self->fd, stdev));
		EXPECT_EQ(0, object_destroy(self->fd, ioas2));
	} else {
		/* The pages are gone with the child's address space. */
		EXPECT_ERRNO(EFAULT, access_rw(self->fd, afd, IOVA2, tmp, 8,
					       0));
		EXPECT_ERRNO(EFAULT, access_rw(self->fd, afd, IOVA2, tmp, 8,
					       RW_SLOW));
		EXPECT_ERRNO(EFAULT, access_rw(self->fd, afd, IOVA2, tmp, 8,
					       RW_W));
		EXPECT_ERRNO(EFAULT, access_pages(self->fd, afd,
						  0, IOVA2,
						  8, NULL, NULL));
		EXPECT_ERRNO(EFAULT, mock_domain(self->fd, self->ioas_id,
						 NULL, NULL, NULL));
		/* Our own memory is still fine. */
		ASSERT_EQ(0, access_rw(self->fd, afd, IOVA, tmp, size, 0));
		EXPECT_EQ(0, memcmp(self->buf, tmp, size));
	}
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA2, size, NULL));
	if (!variant->devices) {
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev,
					 &self->hwpt_id[0], NULL));
		EXPECT_EQ(0, check_domains(self->fd, self->hwpt_id, 1, IOVA, size, self->buf));
	}
	EXPECT_EQ(0, close(afd));
	free(tmp);
	free(want);
}

/* Memory mapped by a live child is copied from and to its address space. */
TEST_F(mock_access, rw_mapped_by_live_child)
{
	size_t size = self->size, pg = self->page;
	struct peer child;
	char *want, *tmp;
	int afd;

	want = malloc(size);
	tmp = malloc(size);
	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, tmp);
	fill_pattern(want, size, 5);
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, 0, &afd));

	if (!peer_fork(&child)) {
		char *mem = new_buffer(size, 5);
		bool ok;

		/* What the parent writes through the access. */
		fill_pattern(want + pg - 32, 64, 6);
		ok = mem != MAP_FAILED &&
		     !ioas_map_fixed(self->fd, self->ioas_id, mem, size,
				     IOVA2);
		if (peer_send(&child, ok ? 'M' : 'E') || !ok)
			_exit(1);
		/* Wait for the parent to finish. */
		if (!peer_recv(&child))
			_exit(2);
		_exit(memcmp(mem, want, size) ? 3 : 0);
	}
	ASSERT_LT(0, child.pid);
	ASSERT_EQ('M', peer_recv(&child));

	ASSERT_EQ(0, access_rw(self->fd, afd, IOVA2, tmp, size, 0));
	EXPECT_EQ(0, memcmp(want, tmp, size));
	memset(tmp, 0, size);
	ASSERT_EQ(0, access_rw(self->fd, afd, IOVA2, tmp, size, RW_SLOW));
	EXPECT_EQ(0, memcmp(want, tmp, size));
	/* Write across a page boundary of the child's memory. */
	fill_pattern(want + pg - 32, 64, 6);
	ASSERT_EQ(0, access_rw(self->fd, afd, IOVA2 + pg - 32, want + pg - 32,
			       64, RW_W));
	ASSERT_EQ(0, access_rw(self->fd, afd, IOVA2, tmp, size, 0));
	EXPECT_EQ(0, memcmp(want, tmp, size));
	/* None of this went through our own memory. */
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));

	/* The child checks what we wrote into its memory. */
	ASSERT_EQ(0, peer_send(&child, 'X'));
	EXPECT_EQ(0, peer_reap(&child));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA2, size, NULL));
	EXPECT_EQ(0, close(afd));
	free(tmp);
	free(want);
}

/* ACCESS_REPLACE_IOAS moves an access; its pins of the old IOAS go. */
TEST_F(mock_access, replace_ioas)
{
	size_t pg = self->page;
	char tmp[64];
	__u32 ioas2, item;
	unsigned int i;
	int afd, rw_afd;
	char *buf2;

	/* The same IOVA maps other memory in the second IOAS. */
	buf2 = new_buffer(self->size, 2);
	ASSERT_NE(MAP_FAILED, buf2);
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, buf2, self->size, IOVA));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, 0, &rw_afd));

	/* Without pins, there and back. */
	EXPECT_EQ(0, access_replace_ioas(self->fd, rw_afd, ioas2));
	EXPECT_EQ(0, access_rw(self->fd, rw_afd, IOVA, tmp, sizeof(tmp), 0));
	EXPECT_EQ(0, memcmp(buf2, tmp, sizeof(tmp)));
	EXPECT_EQ(0, access_replace_ioas(self->fd, rw_afd, self->ioas_id));
	EXPECT_EQ(0, access_rw(self->fd, rw_afd, IOVA, tmp, sizeof(tmp), 0));
	EXPECT_EQ(0, memcmp(self->buf, tmp, sizeof(tmp)));

	/* With pins: they are given back to the old IOAS. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 4 * pg, self->buf,
				  &item));
	EXPECT_EQ(0, BUF_REFS(0, 4, 1));
	EXPECT_EQ(0, access_replace_ioas(self->fd, afd, ioas2));
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(0, access_rw(self->fd, afd, IOVA, tmp, sizeof(tmp), 0));
	EXPECT_EQ(0, memcmp(buf2, tmp, sizeof(tmp)));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 4 * pg, buf2,
				  &item));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, 4 * pg, 1));

	/* Nowhere to go: the access stays where it is. */
	EXPECT_ERRNO(ENOENT, access_replace_ioas(self->fd, afd, 0));
	EXPECT_ERRNO(ENOENT, access_replace_ioas(self->fd, afd, 0xfffff));
	for (i = 0; i < variant->devices; i++) {
		EXPECT_ERRNO(ENOENT, access_replace_ioas(self->fd, afd,
							 self->hwpt_id[i]));
		EXPECT_ERRNO(ENOENT, access_replace_ioas(self->fd, afd,
							 self->stdev_id[i]));
	}
	EXPECT_EQ(0, access_rw(self->fd, afd, IOVA, tmp, sizeof(tmp), 0));
	EXPECT_EQ(0, memcmp(buf2, tmp, sizeof(tmp)));
	/* To where it is already. */
	EXPECT_EQ(0, access_replace_ioas(self->fd, afd, ioas2));
	EXPECT_EQ(0, access_rw(self->fd, afd, IOVA, tmp, sizeof(tmp), 0));
	EXPECT_EQ(0, memcmp(buf2, tmp, sizeof(tmp)));

	/* Only the devices and the other access hold the old IOAS now. */
	EXPECT_EQ(0, close(rw_afd));
	for (i = 0; i < variant->devices; i++) {
		EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas_id));
		EXPECT_EQ(0, object_destroy(self->fd, self->stdev_id[i]));
	}
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas_id));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 0));

	/* The access works on the new IOAS, which it holds. */
	ASSERT_EQ(0, access_pages(self->fd, afd, MOCK_FLAGS_ACCESS_WRITE, IOVA,
				  self->size, buf2, &item));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, self->size, 1));
	fill_pattern(tmp, sizeof(tmp), 9);
	EXPECT_EQ(0, access_rw(self->fd, afd, IOVA + 10, tmp, sizeof(tmp),
			       RW_W));
	EXPECT_EQ(0, memcmp(buf2 + 10, tmp, sizeof(tmp)));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, ioas2));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, self->size, 0));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
	munmap(buf2, self->size);
}

/* Pins move between a domain and the access's own store, never lost. */
TEST_F(mock_access, pins_across_domain_changes)
{
	size_t pg = self->page;
	char tmp[64];
	__u32 stdev, hwpt, item;
	unsigned int i;
	int afd;

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 4 * pg, self->buf,
				  &item));
	for (i = 0; i < variant->devices; i++)
		EXPECT_EQ(0, object_destroy(self->fd, self->stdev_id[i]));
	EXPECT_EQ(0, BUF_REFS(0, 4, 1));
	EXPECT_EQ(0, BUF_REFS(4, BUF_PAGES - 4, 0));
	EXPECT_EQ(4, PINNED());

	/* A new domain takes the pinned pages and pins the rest. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, &hwpt,
				 NULL));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt, IOVA, self->size,
				  self->buf));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 1));
	EXPECT_EQ(BUF_PAGES, PINNED());
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 1));

	/* When it leaves, the access keeps what it pins. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + 2 * pg, 4 * pg,
				  self->buf + 2 * pg, &item));
	EXPECT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(0, BUF_REFS(0, 2, 0));
	EXPECT_EQ(0, BUF_REFS(2, 4, 1));
	EXPECT_EQ(0, BUF_REFS(6, BUF_PAGES - 6, 0));
	EXPECT_EQ(4, PINNED());
	EXPECT_EQ(0, access_rw(self->fd, afd, IOVA + 3 * pg - 32, tmp,
			       sizeof(tmp), RW_SLOW));
	EXPECT_EQ(0, memcmp(self->buf + 3 * pg - 32, tmp, sizeof(tmp)));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 0));
	EXPECT_EQ(0, close(afd));
}

/* Closing an access with pins gives them back. */
TEST_F(mock_access, close_access_with_pins)
{
	size_t pg = self->page;
	int afd;

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 4 * pg, self->buf,
				  NULL));
	ASSERT_EQ(0, access_pages(self->fd, afd, MOCK_FLAGS_ACCESS_WRITE,
				  IOVA + 2 * pg, 4 * pg, self->buf + 2 * pg,
				  NULL));
	EXPECT_EQ(0, BUF_REFS(0, 6, 1));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	/* Nothing is left to make the unmap wait. */
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA, self->size,
				NULL));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 0));
}

/* The access keeps the context alive after its fd is closed. */
TEST_F(mock_access, close_iommufd_first)
{
	int afd, rw_afd, fd;

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, 0, &rw_afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, self->size,
				  self->buf, NULL));
	EXPECT_EQ(0, close(self->fd));
	self->fd = -1;

	fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, md_check_refs(fd, self->buf, self->size, 1));
	EXPECT_EQ(0, close(rw_afd));
	EXPECT_EQ(0, md_check_refs(fd, self->buf, self->size, 1));
	/* The last access takes the context, its devices and maps along. */
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, md_check_refs(fd, self->buf, self->size, 0));
	close(fd);
}

TEST_F(mock_access, unmap_then_close)
{
	__u64 unmapped;
	int afd;

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, self->size,
				  self->buf, NULL));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(self->size, unmapped);
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 0));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, close(self->fd));
	self->fd = -1;
}

/*
 * An unmap tells the access about its own pins that meet the range, each
 * whole: a pin that starts in an area left alone is still found by an
 * unmap op that looks for pins by the page they start in (the mock's, like
 * kvmgt's).  Pins that do not meet the range are not touched.
 */
TEST_F(mock_access, unmap_notifies_whole_pins)
{
	size_t pg = self->page;
	__u64 next = IOVA + self->size, unmapped;
	__u32 across, inside, other;
	char *buf2;
	int afd;

	buf2 = new_buffer(self->size, 2);
	ASSERT_NE(MAP_FAILED, buf2);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, buf2, self->size,
				    next));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	/* Two pages at the end of the first area and two of the second. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0,
				  next - 2 * pg, 4 * pg, NULL, &across));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 2 * pg, self->buf,
				  &inside));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, next + 4 * pg, pg,
				  buf2 + 4 * pg, &other));
	EXPECT_EQ(0, BUF_REFS(BUF_PAGES - 2, 2, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, 2 * pg, 1));

	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, next, self->size,
				&unmapped));
	EXPECT_EQ(self->size, unmapped);
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, across));
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, other));
	EXPECT_EQ(0, md_check_refs(self->fd, buf2, self->size, 0));
	EXPECT_EQ(0, BUF_REFS(BUF_PAGES - 2, 2, IDLE));
	/* The pin in the first area only was not asked for. */
	EXPECT_EQ(0, BUF_REFS(0, 2, 1));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, inside));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(0, close(afd));
	munmap(buf2, self->size);
}

/*
 * Unmapping everything asks about the pins only, never about the whole
 * address space (a driver walking that page by page would never finish).
 */
TEST_F(mock_access, unmap_everything_notifies_only_pins)
{
	size_t pg = self->page;
	__u64 unmapped;
	__u32 item;
	int afd;

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + 3 * pg, 5 * pg,
				  self->buf + 3 * pg, &item));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + 3 * pg, 5 * pg,
				  self->buf + 3 * pg, NULL));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + 5 * pg, 9 * pg,
				  self->buf + 5 * pg, NULL));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(self->size, unmapped);
	EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd, item));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, 0));
	EXPECT_EQ(0, close(afd));
}

/*
 * Moving an access gives back the pins of the old IOAS: the driver hears
 * about exactly its pinned ranges, overlapping and repeated ones included.
 */
TEST_F(mock_access, replace_notifies_exactly_the_pins)
{
	size_t pg = self->page;
	__u32 ioas2, item[4];
	unsigned int i;
	int afd;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id, PIN, &afd));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, pg, self->buf,
				  &item[0]));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 3 * pg, self->buf,
				  &item[1]));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 3 * pg, self->buf,
				  &item[2]));
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA + 10 * pg, pg,
				  self->buf + 10 * pg, &item[3]));
	EXPECT_EQ(0, access_replace_ioas(self->fd, afd, ioas2));
	for (i = 0; i != ARRAY_SIZE(item); i++)
		EXPECT_ERRNO(ENOENT, destroy_access_pages(self->fd, afd,
							  item[i]));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
}

/*
 * Write permission is the mapping's, not the memory's: through a read-only
 * copy of writable memory an access can neither pin for writing nor write,
 * on the direct and on the pinning path; nothing is pinned or changed.
 */
TEST_F(mock_access, readonly_copy_refuses_writes)
{
	size_t pg = self->page;
	char want[64], tmp[64];
	__u64 iova = IOVA;
	__u32 ioas2, item;
	int afd, rw_afd;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_copy(self->fd, ioas2, &iova, self->ioas_id, IOVA,
			       self->size,
			       IOMMU_IOAS_MAP_FIXED_IOVA |
				       IOMMU_IOAS_MAP_READABLE));
	ASSERT_EQ(0, create_access(self->fd, ioas2, PIN, &afd));
	ASSERT_EQ(0, create_access(self->fd, ioas2, 0, &rw_afd));
	memcpy(want, self->buf + pg, sizeof(want));

	EXPECT_ERRNO(EPERM, access_pages(self->fd, afd,
					 MOCK_FLAGS_ACCESS_WRITE, IOVA,
					 2 * pg, self->buf, NULL));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));
	fill_pattern(tmp, sizeof(tmp), 5);
	EXPECT_ERRNO(EPERM, access_rw(self->fd, rw_afd, IOVA + pg, tmp,
				      sizeof(tmp), RW_W));
	EXPECT_ERRNO(EPERM, access_rw(self->fd, rw_afd, IOVA + pg, tmp,
				      sizeof(tmp), RW_W | RW_SLOW));
	EXPECT_ERRNO(EPERM, access_rw(self->fd, afd, IOVA + pg - 8, tmp,
				      sizeof(tmp), RW_W | RW_SLOW));
	EXPECT_EQ(0, memcmp(want, self->buf + pg, sizeof(want)));
	EXPECT_EQ(0, BUF_REFS(0, BUF_PAGES, IDLE));

	/* Reading is what the copy allows. */
	ASSERT_EQ(0, access_pages(self->fd, afd, 0, IOVA, 2 * pg, self->buf,
				  &item));
	EXPECT_EQ(0, BUF_REFS(0, 2, 1));
	EXPECT_EQ(0, access_rw(self->fd, rw_afd, IOVA + pg, tmp, sizeof(tmp),
			       RW_SLOW));
	EXPECT_EQ(0, memcmp(want, tmp, sizeof(tmp)));
	EXPECT_EQ(0, destroy_access_pages(self->fd, afd, item));
	/* The original mapping still writes. */
	EXPECT_EQ(0, access_replace_ioas(self->fd, rw_afd, self->ioas_id));
	EXPECT_EQ(0, access_rw(self->fd, rw_afd, IOVA + pg, tmp, sizeof(tmp),
			       RW_W));
	EXPECT_EQ(0, memcmp(tmp, self->buf + pg, sizeof(tmp)));
	EXPECT_EQ(0, close(rw_afd));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, ioas_unmap(self->fd, ioas2, IOVA, self->size, NULL));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
}

TEST_HARNESS_MAIN
