// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Explicit hw_pagetables, through mock devices: IOMMU_HWPT_ALLOC of paging
 * hw_pagetables on an IOAS (filled from what the IOAS maps, pinning once),
 * every refusal of its input, attaching and moving devices onto them, the
 * destroy rules (busy while a device or a nested hw_pagetable uses them),
 * IOMMU_GET_HW_INFO's buffer rules, IOMMU_HWPT_INVALIDATE's refusals on
 * what is not a nested hw_pagetable, and closing everything in any order
 * with the pins back at zero.
 */
#include <sys/mman.h>

#include "helpers.h"

#define IOVA ((__u64)MOCK_APERTURE_START)
#define BUF_PAGES 8
#define PSZ ((size_t)sysconf(_SC_PAGESIZE))

FIXTURE(hwpt) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;		/* a mock device attached to the IOAS */
	__u32 auto_hwpt_id;	/* its automatic hw_pagetable */
	__u32 idev_id;
	char *buf;
	long pinned_base;
};

FIXTURE_SETUP(hwpt)
{
	self->fd = open_counted_ctx(&self->ioas_id, &self->pinned_base);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &self->stdev_id,
				 &self->auto_hwpt_id, &self->idev_id));
	self->buf = new_buffer(BUF_PAGES * PSZ, 7);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(hwpt)
{
	close(self->fd);
	EXPECT_EQ(0, nothing_pinned(self->buf, BUF_PAGES * PSZ,
				    self->pinned_base));
	munmap(self->buf, BUF_PAGES * PSZ);
}

/* A new IOAS gets the next ID: nothing was left behind in between. */
static void expect_no_new_object(struct __test_metadata *_metadata, int fd,
				 __u32 *last_id)
{
	__u32 id;

	ASSERT_EQ(0, ioas_alloc(fd, &id));
	EXPECT_EQ(*last_id + 1, id);
	*last_id = id;
}

TEST_F(hwpt, alloc_bad_input)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.dev_id = self->idev_id,
		.pt_id = self->ioas_id,
	};
	struct iommu_hwpt_alloc good = cmd;
	__u32 data = 0, last_id, id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &last_id));

	cmd.flags = 1 << 3;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	cmd = good;
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	cmd = good;
	cmd.__reserved2 = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	/* A nest parent has no fault queue; other paging ones may. */
	cmd = good;
	cmd.flags = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_FAULT_ID_VALID;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	/* The queue must exist and be one. */
	cmd = good;
	cmd.flags = IOMMU_HWPT_FAULT_ID_VALID;
	cmd.fault_id = 9999;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	cmd.fault_id = self->ioas_id;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	/* Data type and data length go together. */
	cmd = good;
	cmd.data_len = sizeof(data);
	cmd.data_uptr = (uintptr_t)&data;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	cmd = good;
	cmd.data_type = IOMMU_HWPT_DATA_SELFTEST;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));

	/* Wrong or missing objects. */
	EXPECT_ERRNO(ENOENT, hwpt_alloc(self->fd, self->ioas_id, self->ioas_id,
					0, &id));
	EXPECT_ERRNO(ENOENT, hwpt_alloc(self->fd, 0, self->ioas_id, 0, &id));
	EXPECT_ERRNO(ENOENT, hwpt_alloc(self->fd, self->idev_id, 9999, 0, &id));
	EXPECT_ERRNO(EINVAL, hwpt_alloc(self->fd, self->idev_id,
					self->idev_id, 0, &id));
	/* A nested hw_pagetable needs a nest parent, not an automatic one. */
	EXPECT_ERRNO(EINVAL, hwpt_alloc_data(self->fd, self->idev_id,
					     self->auto_hwpt_id, 0,
					     IOMMU_HWPT_DATA_SELFTEST, &data,
					     sizeof(data), &id));
	/* ... and always driver data. */
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc(self->fd, self->idev_id,
					    self->auto_hwpt_id, 0, &id));
	/* Too short for its size field: EINVAL, as every command. */
	cmd = good;
	cmd.size = 4;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_HWPT_ALLOC, &cmd));
	expect_no_new_object(_metadata, self->fd, &last_id);
}

/*
 * An explicit hw_pagetable mirrors the IOAS: filled with what was mapped
 * before (the memory pinned once, although no other domain had pinned it
 * yet), and what is mapped after.
 */
TEST_F(hwpt, alloc_fills_from_the_ioas)
{
	__u32 ioas2, hwpt_id, dev2, stdev2;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf, 4 * PSZ, IOVA));
	ASSERT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 0));

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, ioas2, 0, &hwpt_id));
	EXPECT_NE(0, hwpt_id);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt_id, IOVA, 4 * PSZ, self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * PSZ, 1));
	EXPECT_EQ(self->pinned_base + 4, pinned_vm_pages());

	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf + 4 * PSZ,
				    4 * PSZ, IOVA + 4 * PSZ));
	EXPECT_EQ(0, md_check_map(self->fd, hwpt_id, IOVA, BUF_PAGES * PSZ,
				  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 1));

	/* A second device attaches to it directly, by its ID. */
	ASSERT_EQ(0, mock_domain(self->fd, hwpt_id, &stdev2, NULL, &dev2));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, hwpt_id));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, ioas2));
	ASSERT_EQ(0, object_destroy(self->fd, stdev2));

	/* Unused again, it goes by its ID; the memory stays mapped. */
	ASSERT_EQ(0, object_destroy(self->fd, hwpt_id));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, hwpt_id));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 0));
	EXPECT_EQ(self->pinned_base, pinned_vm_pages());
	ASSERT_EQ(0, object_destroy(self->fd, ioas2));
}

/*
 * Attaching to the IOAS never picks an explicit hw_pagetable; moving a
 * device onto one and away leaves it alive, unlike an automatic one.
 */
TEST_F(hwpt, explicit_is_not_automatic)
{
	__u32 hwpt_id, pt_id, stdev2, auto2;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, self->ioas_id, 0,
				&hwpt_id));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    BUF_PAGES * PSZ, IOVA));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev2, &auto2,
				 NULL));
	EXPECT_EQ(self->auto_hwpt_id, auto2);

	pt_id = hwpt_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_EQ(hwpt_id, pt_id);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt_id, IOVA, BUF_PAGES * PSZ,
				  self->buf));
	/* The automatic one goes with its last device, the explicit stays. */
	ASSERT_EQ(0, object_destroy(self->fd, stdev2));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, auto2));
	pt_id = self->ioas_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_NE(hwpt_id, pt_id);
	EXPECT_EQ(0, md_check_map(self->fd, hwpt_id, IOVA, BUF_PAGES * PSZ,
				  self->buf));
	EXPECT_EQ(0, md_check_map(self->fd, pt_id, IOVA, BUF_PAGES * PSZ,
				  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, BUF_PAGES * PSZ, 1));
	ASSERT_EQ(0, object_destroy(self->fd, hwpt_id));
}

/* Closing the context with explicit hw_pagetables in use frees it all. */
FIXTURE(hwpt_close) {
	char *buf;
	long pinned_base;
};

FIXTURE_VARIANT(hwpt_close) {
	bool attached;		/* a device attached to the explicit one */
	bool destroy_device;	/* the device destroyed before the close */
};

FIXTURE_VARIANT_ADD(hwpt_close, idle) {
	.attached = false,
};

FIXTURE_VARIANT_ADD(hwpt_close, attached) {
	.attached = true,
};

FIXTURE_VARIANT_ADD(hwpt_close, device_gone_first) {
	.attached = true,
	.destroy_device = true,
};

FIXTURE_SETUP(hwpt_close)
{
	self->buf = new_buffer(BUF_PAGES * PSZ, 3);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(hwpt_close)
{
	munmap(self->buf, BUF_PAGES * PSZ);
}

TEST_F(hwpt_close, frees_everything)
{
	__u32 ioas_id, stdev_id, idev_id, hwpt_id, pt_id;
	int fd;

	fd = open_counted_ctx(&ioas_id, &self->pinned_base);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas_id, self->buf, BUF_PAGES * PSZ,
				    IOVA));
	ASSERT_EQ(0, mock_domain(fd, ioas_id, &stdev_id, NULL, &idev_id));
	ASSERT_EQ(0, hwpt_alloc(fd, idev_id, ioas_id,
				0, &hwpt_id));
	if (variant->attached) {
		pt_id = hwpt_id;
		ASSERT_EQ(0, mock_domain_replace(fd, stdev_id, &pt_id));
	}
	if (variant->destroy_device)
		ASSERT_EQ(0, object_destroy(fd, stdev_id));
	EXPECT_EQ(0, md_check_refs(fd, self->buf, BUF_PAGES * PSZ, 1));
	close(fd);
	EXPECT_EQ(0, nothing_pinned(self->buf, BUF_PAGES * PSZ,
				    self->pinned_base));
}

/*
 * The data buffer gets what fits of the driver's data, zeroes after it,
 * and the full length back; nothing outside the buffer is touched.
 */
TEST_F(hwpt, get_hw_info)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = self->idev_id,
	};
	unsigned char data[64];
	__u32 len, type, full;
	__u64 caps;
	size_t i;

	memset(data, 0xa5, sizeof(data));
	len = 0;
	ASSERT_EQ(0, get_hw_info(self->fd, self->idev_id, data, &len, &type,
				 &caps));
	full = len;
	for (i = 0; i < sizeof(data); i++)
		ASSERT_EQ(0xa5, data[i]);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, type);
	EXPECT_EQ(sizeof(struct iommu_test_hw_info), full);
	/* The mock IOMMU tracks dirty pages unless told not to. */
	EXPECT_EQ(IOMMU_HW_CAP_DIRTY_TRACKING, caps);

	/* Larger than the data: the tail is zeroed. */
	len = sizeof(data) - 8;
	ASSERT_EQ(0, get_hw_info(self->fd, self->idev_id, data, &len, NULL,
				 NULL));
	EXPECT_EQ(full, len);
	EXPECT_EQ(0, ((struct iommu_test_hw_info *)data)->flags);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL,
		  ((struct iommu_test_hw_info *)data)->test_reg);
	for (i = full; i < sizeof(data) - 8; i++)
		ASSERT_EQ(0, data[i]);
	for (; i < sizeof(data); i++)
		ASSERT_EQ(0xa5, data[i]);

	/* Shorter: filled to its length only. */
	memset(data, 0xa5, sizeof(data));
	len = 4;
	ASSERT_EQ(0, get_hw_info(self->fd, self->idev_id, data, &len, NULL,
				 NULL));
	EXPECT_EQ(full, len);
	/* The first 4 bytes are the flags, 0. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, data[i]);
	for (i = 4; i < sizeof(data); i++)
		ASSERT_EQ(0xa5, data[i]);

	/* Refusals. */
	cmd.flags = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.flags = 0;
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.__reserved = 0;
	cmd.dev_id = self->ioas_id;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.dev_id = self->idev_id;
	cmd.data_len = 16;
	cmd.data_uptr = 8;
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	/* An old struct without out_capabilities still works. */
	cmd.data_len = 0;
	cmd.data_uptr = 0;
	cmd.size = offsetof(struct iommu_hw_info, out_capabilities);
	cmd.out_capabilities = 0x55;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(0x55, cmd.out_capabilities);
}

/* Dirty tracking is offered exactly when a hw_pagetable can do it. */
TEST_F(hwpt, capabilities_match_alloc)
{
	EXPECT_EQ(0, dirty_cap_is_honest(self->fd, self->idev_id,
					 self->ioas_id));
}

/* Only nested hw_pagetables take invalidations; what is refused first. */
TEST_F(hwpt, invalidate_refusals)
{
	struct iommu_hwpt_invalidate_selftest req = {};
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = self->auto_hwpt_id,
		.data_uptr = (uintptr_t)&req,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(req),
		.entry_num = 1,
	};
	__u32 num = 1;

	EXPECT_ERRNO(ENOENT, hwpt_invalidate(self->fd, self->auto_hwpt_id,
					     &req,
					     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					     sizeof(req), &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_ERRNO(ENOENT, hwpt_invalidate(self->fd, self->ioas_id, &req,
					     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					     sizeof(req), &num));
	EXPECT_EQ(0, num);
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);
	cmd.__reserved = 0;
	cmd.entry_num = 1;
	cmd.data_uptr = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);
	cmd.data_uptr = (uintptr_t)&req;
	cmd.entry_num = 1;
	cmd.entry_len = 0;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_HWPT_INVALIDATE, &cmd));
	EXPECT_EQ(0, cmd.entry_num);
}

/*
 * Dirty tracking needs a hw_pagetable allocated for it; the flags and
 * reserved fields are checked first.
 */
TEST_F(hwpt, dirty_refusals)
{
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set),
		.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
		.hwpt_id = self->auto_hwpt_id,
	};
	__u64 bitmap[4] = {};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get),
		.hwpt_id = self->auto_hwpt_id,
		.iova = IOVA,
		.length = 64 * PSZ,
		.page_size = PSZ,
		.data = (uintptr_t)bitmap,
	};
	__u32 hwpt_id;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, self->ioas_id, 0,
				&hwpt_id));
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING,
				       &set));
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				       &get));
	set.hwpt_id = hwpt_id;
	get.hwpt_id = hwpt_id;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING,
				       &set));
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				       &get));
	set.hwpt_id = self->ioas_id;
	get.hwpt_id = self->ioas_id;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING,
				   &set));
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				   &get));
	set.flags = 2;
	get.flags = 2;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING,
				       &set));
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				       &get));
	set.flags = 0;
	get.flags = 0;
	set.__reserved = 1;
	get.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING,
				       &set));
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP,
				       &get));
	ASSERT_EQ(0, object_destroy(self->fd, hwpt_id));
}

TEST_HARNESS_MAIN
