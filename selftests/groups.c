// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Devices that share an iommu_group: iommufd binds them one by one, but
 * the IOMMU translates per group, so they share one attachment.  The mock
 * puts its devices in one group while debugfs iommufd_mock/share_group is
 * set.
 */
#include <sys/mman.h>

#include "helpers.h"

#define SHARE_GROUP "/sys/kernel/debug/iommufd_mock/share_group"
#define IOVA ((__u64)MOCK_APERTURE_START)
#define NPAGES 4

static int share_group(int on)
{
	int fd = open(SHARE_GROUP, O_WRONLY);
	int rc;

	if (fd < 0)
		return -1;
	rc = write(fd, on ? "1" : "0", 1) == 1 ? 0 : -1;
	close(fd);
	return rc;
}

FIXTURE(group) {
	int fd;
	__u32 ioas_id;
	long pinned_base;
	size_t size;
	char *buf;
};

FIXTURE_SETUP(group)
{
	/* The mock always has the knob, and the VM mounts debugfs. */
	ASSERT_EQ(0, access(SHARE_GROUP, W_OK))
		TH_LOG("no " SHARE_GROUP);
	/* A fresh group for this test's devices. */
	ASSERT_EQ(0, share_group(0));
	ASSERT_EQ(0, share_group(1));
	self->size = NPAGES * sysconf(_SC_PAGESIZE);
	self->buf = new_buffer(self->size, 7);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->fd = open_counted_ctx(&self->ioas_id, &self->pinned_base);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->size, IOVA));
}

FIXTURE_TEARDOWN(group)
{
	share_group(0);
	if (!self->buf)
		return;
	close(self->fd);
	EXPECT_EQ(0, nothing_pinned(self->buf, self->size, self->pinned_base));
	munmap(self->buf, self->size);
}

/* The second device joins the first one's attachment and outlives it. */
TEST_F(group, one_attachment)
{
	__u32 a, b, hwpt_a, hwpt_b;

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &a, &hwpt_a, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &b, &hwpt_b, NULL));
	EXPECT_EQ(hwpt_a, hwpt_b);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt_a, IOVA, self->size,
				  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));

	/* The group stays attached while one of its devices is. */
	ASSERT_EQ(0, object_destroy(self->fd, a));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt_b, IOVA, self->size,
				  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->ioas_id));

	ASSERT_EQ(0, object_destroy(self->fd, b));
	EXPECT_ERRNO(ENOENT, md_check_map(self->fd, hwpt_b, IOVA, self->size,
					  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 0));
	EXPECT_EQ(self->pinned_base, pinned_vm_pages());
}

/* While the group is attached, no device of it can go elsewhere. */
TEST_F(group, attached_elsewhere)
{
	__u32 a, b, hwpt_a, hwpt_b, ioas2;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &a, &hwpt_a, NULL));
	EXPECT_ERRNO(EINVAL, mock_domain(self->fd, ioas2, NULL, NULL, NULL));
	/* No hw_pagetable was left behind on the other IOAS. */
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));

	/* Naming the group's hw_pagetable directly is fine. */
	ASSERT_EQ(0, mock_domain(self->fd, hwpt_a, &b, &hwpt_b, NULL));
	EXPECT_EQ(hwpt_a, hwpt_b);
	ASSERT_EQ(0, object_destroy(self->fd, b));
	ASSERT_EQ(0, object_destroy(self->fd, a));
}

/* Replacing through one device moves the whole group, hitlessly. */
TEST_F(group, replace_moves_group)
{
	__u32 a, b, hwpt1, pt, ioas2;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf, self->size,
				    IOVA));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &a, &hwpt1, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &b, NULL, NULL));

	pt = ioas2;
	ASSERT_EQ(0, mock_domain_replace(self->fd, a, &pt));
	EXPECT_NE(hwpt1, pt);
	EXPECT_EQ(0, md_check_map(self->fd, pt, IOVA, self->size,
				  self->buf));
	/* Both devices left: the old hw_pagetable is gone with them... */
	EXPECT_ERRNO(ENOENT, md_check_map(self->fd, hwpt1, IOVA, self->size,
					  self->buf));
	/* ...and only the new IOAS's mapping pins the memory. */
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas_id));

	/* The other device already is where it is asked to go. */
	ASSERT_EQ(0, mock_domain_replace(self->fd, b, &pt));
	ASSERT_EQ(0, object_destroy(self->fd, a));
	ASSERT_EQ(0, object_destroy(self->fd, b));
	EXPECT_EQ(0, object_destroy(self->fd, ioas2));
}

/*
 * A group in use by one context cannot be bound by another: the IOMMU core
 * refuses the second DMA owner (EPERM).
 */
TEST_F(group, other_context)
{
	__u32 a, ioas2;
	long base2;
	int fd2;

	fd2 = open_counted_ctx(&ioas2, &base2);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &a, NULL, NULL));
	EXPECT_ERRNO(EPERM, mock_domain(fd2, ioas2, NULL, NULL, NULL));
	ASSERT_EQ(0, object_destroy(self->fd, a));
	/* Once the group is free, the other context can have it. */
	ASSERT_EQ(0, mock_domain(fd2, ioas2, NULL, NULL, NULL));
	EXPECT_ERRNO(EPERM, mock_domain(self->fd, self->ioas_id, NULL, NULL,
					NULL));
	close(fd2);
}

/* Closing the context with both devices attached cleans up. */
TEST_F(group, close_with_group_attached)
{
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->size, 1));
	/* The teardown closes the fd and checks nothing stays pinned. */
}

TEST_HARNESS_MAIN
