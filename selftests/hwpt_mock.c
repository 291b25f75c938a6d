// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The mock IOMMU driver under the hw_pagetable ioctls for VMMs: the
 * hardware info and capabilities of mock devices, the flags of paging
 * hw_pagetables (NEST_PARENT, DIRTY_TRACKING) and which devices may use
 * them, mock nested hw_pagetables (IOMMU_HWPT_DATA_SELFTEST) with their
 * emulated IOTLB (IOMMU_TEST_OP_MD_CHECK_IOTLB) and its invalidation:
 * entries one by one or all, partial progress, bad entries; and dirty
 * bitmaps compared bit by bit against what IOMMU_TEST_OP_DIRTY marked, for
 * several IOPTE, marking and bitmap page sizes, with NO_CLEAR, holes and
 * sub-ranges, and the test op's own refusals.  Page faults of mock
 * devices are in fault.c.
 */
#include <sys/mman.h>

#include "helpers.h"

#define IOVA ((__u64)MOCK_APERTURE_START)
/* The large IOPTE of a MOCK_FLAGS_DEVICE_HUGE_IOVA domain. */
#define MOCK_HUGE_PAGE_SIZE (512 * MOCK_IO_PAGE_SIZE)
#define DEF IOMMU_TEST_IOTLB_DEFAULT
#define NO_CLEAR IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR
/* The invalidation data type the mock refuses on purpose. */
#define INV_REFUSED IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID

/* A mock nested hw_pagetable on the nest parent parent_id. */
static int hwpt_alloc_nested(int fd, __u32 dev_id, __u32 parent_id,
			     __u32 iotlb, __u32 *hwpt_id)
{
	struct iommu_hwpt_selftest data = { .iotlb = iotlb };

	return hwpt_alloc_data(fd, dev_id, parent_id, 0,
			       IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data),
			       hwpt_id);
}

/* Invalidate one IOTLB entry (or all with IOMMU_TEST_INVALIDATE_FLAG_ALL). */
static int invalidate_one(int fd, __u32 hwpt_id, __u32 flags, __u32 iotlb_id)
{
	struct iommu_hwpt_invalidate_selftest req = {
		.flags = flags,
		.iotlb_id = iotlb_id,
	};
	__u32 num = 1;

	return hwpt_invalidate(fd, hwpt_id, &req,
			       IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
			       sizeof(req), &num);
}

static int check_iotlb(int fd, __u32 hwpt_id, __u32 id, __u32 val)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_IOTLB,
		.id = hwpt_id,
		.check_iotlb = { .id = id, .iotlb = val },
	};

	return test_cmd(fd, &cmd);
}

/* The IOTLB entries hold want[0..3]; -1 where the first mismatch is. */
static int check_iotlb4(int fd, __u32 hwpt_id, __u32 w0, __u32 w1, __u32 w2,
			__u32 w3)
{
	__u32 want[MOCK_NESTED_DOMAIN_IOTLB_NUM] = { w0, w1, w2, w3 };
	int i;

	for (i = 0; i != MOCK_NESTED_DOMAIN_IOTLB_NUM; i++) {
		if (check_iotlb(fd, hwpt_id, i, want[i]))
			return -1 - i;
	}
	return 0;
}

static int set_dirty_tracking(int fd, __u32 hwpt_id, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd),
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt_id,
	};

	return ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static int get_dirty_bitmap(int fd, __u32 hwpt_id, __u64 iova, __u64 length,
			    __u64 page_size, __u64 *bitmap, __u32 flags)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt_id,
		.flags = flags,
		.iova = iova,
		.length = length,
		.page_size = page_size,
		.data = (uintptr_t)bitmap,
	};

	return ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

/* IOMMU_TEST_OP_DIRTY: mark the pages whose bits are set; *nr marked. */
static int mock_dirty(int fd, __u32 hwpt_id, __u64 iova, __u64 length,
		      __u64 page_size, __u64 *bitmap, __u64 *nr)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DIRTY,
		.id = hwpt_id,
		.dirty = { .iova = iova, .length = length,
			   .page_size = page_size, .uptr = (uintptr_t)bitmap },
	};
	int rc = test_cmd(fd, &cmd);

	if (!rc && nr)
		*nr = cmd.dirty.out_nr_dirty;
	return rc;
}

static bool test_bit64(const __u64 *map, unsigned long bit)
{
	return map[bit / 64] & (1ULL << (bit % 64));
}

static void set_bit64(__u64 *map, unsigned long bit)
{
	map[bit / 64] |= 1ULL << (bit % 64);
}

static void clear_bit64(__u64 *map, unsigned long bit)
{
	map[bit / 64] &= ~(1ULL << (bit % 64));
}

static size_t bitmap_bytes(unsigned long nbits)
{
	return (nbits + 63) / 64 * sizeof(__u64);
}

FIXTURE(mock_hwpt) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 idev_id;
	__u32 hwpt_id;
};

FIXTURE_SETUP(mock_hwpt)
{
	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &self->stdev_id,
				 &self->hwpt_id, &self->idev_id));
}

FIXTURE_TEARDOWN(mock_hwpt)
{
	close(self->fd);
}

TEST_F(mock_hwpt, hw_info)
{
	struct iommu_test_hw_info info;
	__u32 len = sizeof(info), type, idev_id, stdev_id;
	__u64 caps;

	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, get_hw_info(self->fd, self->idev_id, &info, &len, &type,
				 &caps));
	EXPECT_EQ(sizeof(info), len);
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, type);
	EXPECT_EQ(0, info.flags);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, info.test_reg);
	EXPECT_EQ(IOMMU_HW_CAP_DIRTY_TRACKING, caps);

	/* A device whose IOMMU cannot track dirty pages says so. */
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_NO_DIRTY, &stdev_id,
				       NULL, &idev_id));
	len = sizeof(info);
	ASSERT_EQ(0, get_hw_info(self->fd, idev_id, &info, &len, &type, &caps));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, type);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, info.test_reg);
	EXPECT_EQ(0, caps);
	EXPECT_EQ(0, object_destroy(self->fd, stdev_id));
}

TEST_F(mock_hwpt, paging_flags)
{
	const __u32 flags[] = {
		0,
		IOMMU_HWPT_ALLOC_NEST_PARENT,
		IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	};
	__u32 hwpt_id, stdev_id, nodirty_idev, nodirty_stdev, pt_id;
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(flags); i++) {
		ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
					flags[i], &hwpt_id));
		/* Any normal mock device can use it. */
		ASSERT_EQ(0, mock_domain(self->fd, hwpt_id, &stdev_id, &pt_id,
					 NULL));
		EXPECT_EQ(hwpt_id, pt_id);
		EXPECT_ERRNO(EBUSY, object_destroy(self->fd, hwpt_id));
		EXPECT_EQ(0, object_destroy(self->fd, stdev_id));
		EXPECT_EQ(0, object_destroy(self->fd, hwpt_id));
	}
	/* Flags the mock IOMMU does not know. */
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc(self->fd, self->idev_id,
					    self->ioas_id, 1 << 3, &hwpt_id));
	EXPECT_ERRNO(EOPNOTSUPP, hwpt_alloc(self->fd, self->idev_id,
					    self->ioas_id, 1U << 31, &hwpt_id));

	/* A device without dirty tracking gets no tracking domain... */
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_NO_DIRTY,
				       &nodirty_stdev, NULL, &nodirty_idev));
	EXPECT_ERRNO(EOPNOTSUPP,
		     hwpt_alloc(self->fd, nodirty_idev, self->ioas_id,
				IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt_id));
	ASSERT_EQ(0, hwpt_alloc(self->fd, nodirty_idev, self->ioas_id,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &hwpt_id));
	EXPECT_EQ(0, object_destroy(self->fd, hwpt_id));

	/* ... and cannot join one made for another device. */
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
				IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt_id));
	EXPECT_ERRNO(EINVAL, mock_domain_flags(self->fd, hwpt_id,
					       MOCK_FLAGS_DEVICE_NO_DIRTY,
					       &stdev_id, NULL, NULL));
	pt_id = hwpt_id;
	EXPECT_ERRNO(EINVAL, mock_domain_replace(self->fd, nodirty_stdev,
						 &pt_id));
	/* A device that needs huge IOPTEs cannot either. */
	EXPECT_ERRNO(EINVAL, mock_domain_flags(self->fd, hwpt_id,
					       MOCK_FLAGS_DEVICE_HUGE_IOVA,
					       &stdev_id, NULL, NULL));
	EXPECT_EQ(0, object_destroy(self->fd, hwpt_id));
	EXPECT_EQ(0, object_destroy(self->fd, nodirty_stdev));
}

TEST_F(mock_hwpt, nested_alloc)
{
	struct {
		struct iommu_hwpt_selftest data;
		__u32 tail;
	} big = { { IOMMU_TEST_IOTLB_DEFAULT }, 0 };
	__u32 parent_id, plain_id, nested_id, nested2_id, id;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, self->ioas_id, 0,
				&plain_id));

	/* The parent must be a mock nest parent. */
	EXPECT_ERRNO(EINVAL, hwpt_alloc_nested(self->fd, self->idev_id,
					       plain_id,
					       IOMMU_TEST_IOTLB_DEFAULT, &id));
	/* Only the mock's data type, fully there, and no flags. */
	EXPECT_ERRNO(EOPNOTSUPP,
		     hwpt_alloc_data(self->fd, self->idev_id, parent_id, 0,
				     IOMMU_HWPT_DATA_SELFTEST + 1, &big.data,
				     sizeof(big.data), &id));
	EXPECT_ERRNO(EOPNOTSUPP,
		     hwpt_alloc_data(self->fd, self->idev_id, parent_id, 0,
				     IOMMU_HWPT_DATA_VTD_S1, &big.data,
				     sizeof(big.data), &id));
	EXPECT_ERRNO(EINVAL,
		     hwpt_alloc_data(self->fd, self->idev_id, parent_id, 0,
				     IOMMU_HWPT_DATA_SELFTEST, &big.data,
				     sizeof(big.data) - 1, &id));
	EXPECT_ERRNO(EFAULT, hwpt_alloc_data(self->fd, self->idev_id, parent_id,
					     0, IOMMU_HWPT_DATA_SELFTEST, NULL,
					     sizeof(big.data), &id));
	/* v6.12's iommu_copy_struct_from_user() takes no longer struct. */
	EXPECT_ERRNO(EINVAL, hwpt_alloc_data(self->fd, self->idev_id, parent_id,
					     0, IOMMU_HWPT_DATA_SELFTEST, &big,
					     sizeof(big), &id));
	EXPECT_ERRNO(EOPNOTSUPP,
		     hwpt_alloc_data(self->fd, self->idev_id, parent_id,
				     IOMMU_HWPT_ALLOC_NEST_PARENT,
				     IOMMU_HWPT_DATA_SELFTEST, &big.data,
				     sizeof(big.data), &id));
	EXPECT_ERRNO(EOPNOTSUPP,
		     hwpt_alloc_data(self->fd, self->idev_id, parent_id,
				     IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				     IOMMU_HWPT_DATA_SELFTEST, &big.data,
				     sizeof(big.data), &id));

	/* Two nested hw_pagetables on one parent, each with its IOTLB. */
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, self->idev_id, parent_id,
				       IOMMU_TEST_IOTLB_DEFAULT, &nested_id));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, self->idev_id, parent_id,
				       0x12345678, &nested2_id));
	EXPECT_EQ(0, check_iotlb4(self->fd, nested_id,
				  IOMMU_TEST_IOTLB_DEFAULT,
				  IOMMU_TEST_IOTLB_DEFAULT,
				  IOMMU_TEST_IOTLB_DEFAULT,
				  IOMMU_TEST_IOTLB_DEFAULT));
	EXPECT_EQ(0, check_iotlb4(self->fd, nested2_id, 0x12345678,
				  0x12345678, 0x12345678, 0x12345678));

	/* MD_CHECK_IOTLB: wrong value, entry or object. */
	EXPECT_ERRNO(EINVAL, check_iotlb(self->fd, nested_id, 0, 0));
	EXPECT_ERRNO(EINVAL, check_iotlb(self->fd, nested_id,
					 MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1,
					 IOMMU_TEST_IOTLB_DEFAULT));
	EXPECT_ERRNO(ENOENT, check_iotlb(self->fd, parent_id, 0,
					 IOMMU_TEST_IOTLB_DEFAULT));
	EXPECT_ERRNO(ENOENT, check_iotlb(self->fd, self->ioas_id, 0,
					 IOMMU_TEST_IOTLB_DEFAULT));
	EXPECT_ERRNO(ENOENT, check_iotlb(self->fd, 0, 0,
					 IOMMU_TEST_IOTLB_DEFAULT));

	/* Nothing nests on a nested hw_pagetable. */
	EXPECT_ERRNO(EINVAL, hwpt_alloc_nested(self->fd, self->idev_id,
					       nested_id,
					       IOMMU_TEST_IOTLB_DEFAULT, &id));
	/* The parent stays while nested hw_pagetables use it. */
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, parent_id));
	EXPECT_EQ(0, object_destroy(self->fd, nested_id));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, parent_id));
	EXPECT_EQ(0, object_destroy(self->fd, nested2_id));
	EXPECT_EQ(0, object_destroy(self->fd, parent_id));
	EXPECT_EQ(0, object_destroy(self->fd, plain_id));
}

TEST_F(mock_hwpt, nested_attach)
{
	__u32 parent_id, dirty_parent_id, nested_id, dirty_nested_id, pt_id;
	__u32 stdev_id, huge_stdev, huge_idev, nodirty_stdev;
	__u32 huge_parent_id, huge_nested_id;

	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, self->idev_id, parent_id,
				       IOMMU_TEST_IOTLB_DEFAULT, &nested_id));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
				IOMMU_HWPT_ALLOC_NEST_PARENT |
					IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				&dirty_parent_id));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, self->idev_id, dirty_parent_id,
				       IOMMU_TEST_IOTLB_DEFAULT,
				       &dirty_nested_id));

	/* Replace onto the nested one, between nested ones, and back. */
	pt_id = nested_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_EQ(nested_id, pt_id);
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, nested_id));
	pt_id = dirty_nested_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, dirty_nested_id));
	pt_id = parent_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_EQ(parent_id, pt_id);

	/* A new device straight onto a nested hw_pagetable. */
	ASSERT_EQ(0, mock_domain(self->fd, nested_id, &stdev_id, &pt_id,
				 NULL));
	EXPECT_EQ(nested_id, pt_id);
	EXPECT_EQ(0, object_destroy(self->fd, stdev_id));

	/* The device must suit the parent: huge IOPTEs, dirty tracking. */
	EXPECT_ERRNO(EINVAL, mock_domain_flags(self->fd, nested_id,
					       MOCK_FLAGS_DEVICE_HUGE_IOVA,
					       &stdev_id, NULL, NULL));
	EXPECT_ERRNO(EINVAL, mock_domain_flags(self->fd, dirty_nested_id,
					       MOCK_FLAGS_DEVICE_NO_DIRTY,
					       &stdev_id, NULL, NULL));
	ASSERT_EQ(0, mock_domain_flags(self->fd, nested_id,
				       MOCK_FLAGS_DEVICE_NO_DIRTY,
				       &nodirty_stdev, NULL, NULL));
	EXPECT_EQ(0, object_destroy(self->fd, nodirty_stdev));

	/* A nested hw_pagetable on a huge parent suits plain devices too. */
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_HUGE_IOVA, &huge_stdev,
				       NULL, &huge_idev));
	ASSERT_EQ(0, hwpt_alloc(self->fd, huge_idev, self->ioas_id,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &huge_parent_id));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, huge_idev, huge_parent_id,
				       DEF, &huge_nested_id));
	ASSERT_EQ(0, mock_domain(self->fd, huge_nested_id, &stdev_id, &pt_id,
				 NULL));
	EXPECT_EQ(huge_nested_id, pt_id);
	EXPECT_EQ(0, object_destroy(self->fd, stdev_id));
	pt_id = huge_nested_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, huge_stdev, &pt_id));
	EXPECT_EQ(0, object_destroy(self->fd, huge_stdev));
	EXPECT_EQ(0, object_destroy(self->fd, huge_nested_id));
	EXPECT_EQ(0, object_destroy(self->fd, huge_parent_id));

	EXPECT_EQ(0, object_destroy(self->fd, nested_id));
	EXPECT_EQ(0, object_destroy(self->fd, dirty_nested_id));
	EXPECT_EQ(0, object_destroy(self->fd, dirty_parent_id));
	/* The device is still on the parent. */
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, parent_id));
	pt_id = self->ioas_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_EQ(0, object_destroy(self->fd, parent_id));
}

FIXTURE(nested) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 idev_id;
	__u32 parent_id;
	__u32 nested_id;
};

FIXTURE_SETUP(nested)
{
	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &self->stdev_id, NULL,
				 &self->idev_id));
	ASSERT_EQ(0,
		  hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_NEST_PARENT, &self->parent_id));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, self->idev_id, self->parent_id,
				       IOMMU_TEST_IOTLB_DEFAULT,
				       &self->nested_id));
}

FIXTURE_TEARDOWN(nested)
{
	close(self->fd);
}

TEST_F(nested, invalidate_entries)
{
	struct iommu_hwpt_invalidate_selftest reqs[3] = {};
	__u32 num, other_id;

	/* One entry at a time. */
	ASSERT_EQ(0, invalidate_one(self->fd, self->nested_id, 0, 2));
	EXPECT_EQ(0, check_iotlb4(self->fd, self->nested_id, DEF, DEF, 0,
				  DEF));
	/* Again is fine. */
	ASSERT_EQ(0, invalidate_one(self->fd, self->nested_id, 0, 2));

	/* Several in one call. */
	reqs[0].iotlb_id = 0;
	reqs[1].iotlb_id = 3;
	num = 2;
	ASSERT_EQ(0, hwpt_invalidate(self->fd, self->nested_id, reqs,
				     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				     sizeof(reqs[0]), &num));
	EXPECT_EQ(2, num);
	EXPECT_EQ(0, check_iotlb4(self->fd, self->nested_id, 0, DEF, 0, 0));

	/* FLAG_ALL ignores iotlb_id, and does not touch other HWPTs. */
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, self->idev_id,
				       self->parent_id, 7, &other_id));
	ASSERT_EQ(0, invalidate_one(self->fd, self->nested_id,
				    IOMMU_TEST_INVALIDATE_FLAG_ALL, 1000));
	EXPECT_EQ(0, check_iotlb4(self->fd, self->nested_id, 0, 0, 0, 0));
	EXPECT_EQ(0, check_iotlb4(self->fd, other_id, 7, 7, 7, 7));
	EXPECT_EQ(0, object_destroy(self->fd, other_id));

	/* No entries: nothing to do, but the data type is checked. */
	num = 0;
	EXPECT_EQ(0, hwpt_invalidate(self->fd, self->nested_id, NULL,
				     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0,
				     &num));
	EXPECT_EQ(0, num);
	EXPECT_ERRNO(EINVAL, hwpt_invalidate(self->fd, self->nested_id, NULL,
					     INV_REFUSED, 0, &num));
	EXPECT_EQ(0, num);
}

TEST_F(nested, invalidate_errors)
{
	struct iommu_hwpt_invalidate_selftest reqs[4] = {};
	__u32 num;

	/* A type the mock refuses. */
	num = 1;
	EXPECT_ERRNO(EINVAL, hwpt_invalidate(self->fd, self->nested_id, reqs,
					     INV_REFUSED, sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_ERRNO(EINVAL, hwpt_invalidate(self->fd, self->nested_id, reqs,
					     IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
					     sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	/* Entries shorter than the first version of the struct. */
	num = 1;
	EXPECT_ERRNO(EINVAL,
		     hwpt_invalidate(self->fd, self->nested_id, reqs,
				     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				     sizeof(reqs[0]) - 1, &num));
	EXPECT_EQ(0, num);
	/*
	 * Entries longer than the kernel's struct: EINVAL, zero tail or not
	 * (6.12's iommu_copy_struct_from_user_array() takes no longer
	 * entries, so there is no E2BIG here).
	 */
	num = 1;
	EXPECT_ERRNO(EINVAL,
		     hwpt_invalidate(self->fd, self->nested_id, reqs,
				     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				     sizeof(reqs[0]) + 1, &num));
	EXPECT_EQ(0, num);
	reqs[1].flags = 1;
	num = 1;
	EXPECT_ERRNO(EINVAL,
		     hwpt_invalidate(self->fd, self->nested_id, reqs,
				     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				     2 * sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	reqs[1].flags = 0;
	/* Unknown flags. */
	reqs[0].flags = 1 << 1;
	num = 1;
	EXPECT_ERRNO(EOPNOTSUPP,
		     hwpt_invalidate(self->fd, self->nested_id, reqs,
				     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				     sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	/* An entry that does not exist. */
	reqs[0].flags = 0;
	reqs[0].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	num = 1;
	EXPECT_ERRNO(EINVAL,
		     hwpt_invalidate(self->fd, self->nested_id, reqs,
				     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				     sizeof(reqs[0]), &num));
	EXPECT_EQ(0, num);
	EXPECT_EQ(0,
		  check_iotlb4(self->fd, self->nested_id, DEF, DEF, DEF, DEF));

	/* Partial progress: the entries before the bad one are done. */
	reqs[0].iotlb_id = 0;
	reqs[1].iotlb_id = 1;
	reqs[2].flags = 0xffffffff;
	reqs[3].iotlb_id = 3;
	num = 4;
	EXPECT_ERRNO(EOPNOTSUPP,
		     hwpt_invalidate(self->fd, self->nested_id, reqs,
				     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				     sizeof(reqs[0]), &num));
	EXPECT_EQ(2, num);
	EXPECT_EQ(0, check_iotlb4(self->fd, self->nested_id, 0, 0, DEF, DEF));

	reqs[0].iotlb_id = 2;
	reqs[1].iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1;
	num = 2;
	EXPECT_ERRNO(EINVAL,
		     hwpt_invalidate(self->fd, self->nested_id, reqs,
				     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				     sizeof(reqs[0]), &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0, check_iotlb4(self->fd, self->nested_id, 0, 0, 0, DEF));
}

/* The array runs into unmapped memory: what was read is done. */
TEST_F(nested, invalidate_fault)
{
	struct iommu_hwpt_invalidate_selftest *edge;
	size_t pg = sysconf(_SC_PAGESIZE);
	char *mem;
	__u32 num = 2;

	mem = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, munmap(mem + pg, pg));
	edge = (void *)(mem + pg - sizeof(*edge));
	edge->flags = 0;
	edge->iotlb_id = 3;
	EXPECT_ERRNO(EFAULT,
		     hwpt_invalidate(self->fd, self->nested_id, edge,
				     IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				     sizeof(*edge), &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0, check_iotlb4(self->fd, self->nested_id, DEF, DEF, DEF, 0));
	munmap(mem, pg);
}

/*
 * Dirty tracking.  A buffer of @size is mapped at IOVA into a tracking
 * hw_pagetable whose IOPTEs are @iopte bytes (a huge domain on hugetlbfs
 * memory for MOCK_HUGE_PAGE_SIZE).  The mock marks pages of @mark_size
 * bytes, and the bitmap is read in pages of @read_size bytes.  The expected
 * bitmap follows from what was marked: every IOPTE a marked page touches
 * is dirty as a whole, and a read bit is set if its page touches a dirty
 * IOPTE.
 */
FIXTURE(dirty) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 idev_id;
	__u32 hwpt_id;
	size_t iopte;
	size_t mark_size;
	size_t read_size;
	char *buf;
	__u64 *marks;
	__u64 *got;
	__u64 *want;
};

FIXTURE_VARIANT(dirty) {
	size_t size;
	bool huge;
	/* Multiples of MOCK_IO_PAGE_SIZE, or its fraction if negative. */
	int mark_chunks;
	int read_chunks;
};

static size_t chunks_to_size(int chunks)
{
	return chunks > 0 ? chunks * MOCK_IO_PAGE_SIZE :
			    MOCK_IO_PAGE_SIZE / -chunks;
}

FIXTURE_VARIANT_ADD(dirty, chunk_bits) {
	.size = 256 * 1024, .mark_chunks = 1, .read_chunks = 1,
};

FIXTURE_VARIANT_ADD(dirty, cpu_page_bits) {
	.size = 256 * 1024, .mark_chunks = 1, .read_chunks = 2,
};

FIXTURE_VARIANT_ADD(dirty, sub_chunk_bits) {
	.size = 256 * 1024, .mark_chunks = -2, .read_chunks = -4,
};

FIXTURE_VARIANT_ADD(dirty, big_read_pages) {
	.size = 1024 * 1024, .mark_chunks = 2, .read_chunks = 32,
};

FIXTURE_VARIANT_ADD(dirty, big_mark_pages) {
	.size = 1024 * 1024, .mark_chunks = 16, .read_chunks = 1,
};

FIXTURE_VARIANT_ADD(dirty, bitmap_64m) {
	.size = 64 * 1024 * 1024, .mark_chunks = 1, .read_chunks = 1,
};

FIXTURE_VARIANT_ADD(dirty, huge_chunk_bits) {
	.size = 8 * 1024 * 1024, .huge = true,
	.mark_chunks = 1, .read_chunks = 1,
};

FIXTURE_VARIANT_ADD(dirty, huge_big_read_pages) {
	.size = 8 * 1024 * 1024, .huge = true,
	.mark_chunks = 4, .read_chunks = 1024,
};

FIXTURE_SETUP(dirty)
{
	size_t nbits;

	self->mark_size = chunks_to_size(variant->mark_chunks);
	self->read_size = chunks_to_size(variant->read_chunks);
	self->iopte = variant->huge ? MOCK_HUGE_PAGE_SIZE : MOCK_IO_PAGE_SIZE;
	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));

	if (variant->huge) {
		self->buf = mmap(NULL, variant->size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
					 MAP_POPULATE,
				 -1, 0);
		if (self->buf == MAP_FAILED)
			SKIP(return, "no 2 MiB hugetlb pages");
		ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
					       MOCK_FLAGS_DEVICE_HUGE_IOVA,
					       &self->stdev_id, NULL,
					       &self->idev_id));
	} else {
		self->buf = new_buffer(variant->size, 3);
		ASSERT_NE(MAP_FAILED, self->buf);
		ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id,
					 &self->stdev_id, NULL,
					 &self->idev_id));
	}
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    variant->size, IOVA));
	ASSERT_EQ(0,
		  hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
			     IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &self->hwpt_id));

	nbits = variant->size / self->mark_size;
	if (variant->size / self->read_size > nbits)
		nbits = variant->size / self->read_size;
	self->marks = calloc(1, bitmap_bytes(nbits));
	self->got = calloc(1, bitmap_bytes(nbits));
	self->want = calloc(1, bitmap_bytes(nbits));
	ASSERT_NE(NULL, self->marks);
	ASSERT_NE(NULL, self->got);
	ASSERT_NE(NULL, self->want);
}

FIXTURE_TEARDOWN(dirty)
{
	free(self->marks);
	free(self->got);
	free(self->want);
	close(self->fd);
}

/* Is the IOPTE containing byte @off of the buffer touched by a mark? */
static bool iopte_marked(FIXTURE_DATA(dirty) * self, size_t off)
{
	size_t first = off / self->iopte * self->iopte, o;

	for (o = first; o < first + self->iopte; o += self->mark_size) {
		if (test_bit64(self->marks, o / self->mark_size))
			return true;
		/* A mark page bigger than the IOPTE covers it whole. */
		if (self->mark_size > self->iopte)
			break;
	}
	return false;
}

/* Expected read bits for [off, off + length) of the buffer. */
static void expect_dirty(FIXTURE_DATA(dirty) * self, size_t off,
			 size_t length)
{
	size_t bit, o;

	memset(self->want, 0, bitmap_bytes(length / self->read_size));
	for (bit = 0; bit != length / self->read_size; bit++) {
		size_t start = off + bit * self->read_size;
		size_t step = self->read_size < self->iopte ? self->read_size :
							      self->iopte;

		for (o = start; o < start + self->read_size; o += step) {
			if (iopte_marked(self, o)) {
				set_bit64(self->want, bit);
				break;
			}
		}
	}
}

/* The first bit where got and want differ, or -1. */
static long first_difference(const __u64 *got, const __u64 *want,
			     size_t nbits)
{
	size_t bit;

	for (bit = 0; bit != nbits; bit++) {
		if (test_bit64(got, bit) != test_bit64(want, bit))
			return bit;
	}
	return -1;
}

/* Mark the pages whose index satisfies the pattern; how many were marked. */
static __u64 mark_pattern(FIXTURE_DATA(dirty) * self, size_t size,
			  unsigned int seed)
{
	size_t nbits = size / self->mark_size, bit;
	__u64 n = 0;

	memset(self->marks, 0, bitmap_bytes(nbits));
	for (bit = 0; bit != nbits; bit++) {
		if ((bit * 7 + seed) % 13 == 0 || bit == nbits - 1) {
			set_bit64(self->marks, bit);
			n++;
		}
	}
	return n;
}

/* Read [IOVA + off, +length) and compare bit by bit; 0 if all match. */
static long read_and_compare(FIXTURE_DATA(dirty) * self, size_t off,
			     size_t length, __u32 flags)
{
	size_t nbits = length / self->read_size;

	memset(self->got, 0, bitmap_bytes(nbits));
	if (get_dirty_bitmap(self->fd, self->hwpt_id, IOVA + off, length,
			     self->read_size, self->got, flags))
		return -errno - 1000000;
	return first_difference(self->got, self->want, nbits) + 1;
}

TEST_F(dirty, marked_bits_read_back)
{
	__u64 nr, want_nr;
	unsigned int seed;

	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	for (seed = 0; seed != 3; seed++) {
		want_nr = mark_pattern(self, variant->size, seed);
		ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id, IOVA,
					variant->size, self->mark_size,
					self->marks, &nr));
		EXPECT_EQ(want_nr, nr);

		/* NO_CLEAR leaves the bits, the next read takes them. */
		expect_dirty(self, 0, variant->size);
		EXPECT_EQ(0, read_and_compare(self, 0, variant->size, NO_CLEAR));
		EXPECT_EQ(0, read_and_compare(self, 0, variant->size, NO_CLEAR));
		EXPECT_EQ(0, read_and_compare(self, 0, variant->size, 0));
		memset(self->want, 0,
		       bitmap_bytes(variant->size / self->read_size));
		EXPECT_EQ(0, read_and_compare(self, 0, variant->size, 0));
	}
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, false));
}

/* One marked page dirties exactly the IOPTEs it touches, nothing else. */
TEST_F(dirty, single_marks)
{
	size_t nbits = variant->size / self->mark_size;
	const size_t picks[] = { 0, 1, nbits / 2 - 1, nbits / 2, nbits - 1 };
	unsigned int i;
	__u64 nr;

	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	for (i = 0; i != ARRAY_SIZE(picks); i++) {
		memset(self->marks, 0, bitmap_bytes(nbits));
		set_bit64(self->marks, picks[i]);
		ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id, IOVA,
					variant->size, self->mark_size,
					self->marks, &nr));
		EXPECT_EQ(1, nr);
		expect_dirty(self, 0, variant->size);
		EXPECT_EQ(0, read_and_compare(self, 0, variant->size, 0));
	}
}

/* A bitmap that starts at an odd byte of user memory. */
TEST_F(dirty, unaligned_bitmaps)
{
	size_t nbits = variant->size / self->read_size;
	char *raw = calloc(1, bitmap_bytes(nbits) + 16);
	__u64 *odd = (__u64 *)(raw + 3), nr;
	size_t bit;

	ASSERT_NE(NULL, raw);
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	mark_pattern(self, variant->size, 5);
	ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id, IOVA, variant->size,
				self->mark_size, self->marks, &nr));
	expect_dirty(self, 0, variant->size);
	ASSERT_EQ(0, get_dirty_bitmap(self->fd, self->hwpt_id, IOVA,
				      variant->size, self->read_size, odd, 0));
	for (bit = 0; bit != nbits; bit++) {
		__u64 word;

		memcpy(&word, (char *)odd + bit / 64 * 8, sizeof(word));
		ASSERT_EQ(test_bit64(self->want, bit),
			  !!(word & (1ULL << (bit % 64))));
	}
	free(raw);
}

/* Reads of part of the range report and clear only what they cover. */
TEST_F(dirty, sub_ranges)
{
	size_t half = variant->size / 2;
	__u64 nr;

	if (half % self->iopte || half % self->read_size)
		SKIP(return, "range not divisible");
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	mark_pattern(self, variant->size, 1);
	ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id, IOVA, variant->size,
				self->mark_size, self->marks, &nr));

	expect_dirty(self, half, half);
	EXPECT_EQ(0, read_and_compare(self, half, half, 0));
	memset(self->want, 0, bitmap_bytes(half / self->read_size));
	EXPECT_EQ(0, read_and_compare(self, half, half, 0));
	expect_dirty(self, 0, half);
	EXPECT_EQ(0, read_and_compare(self, 0, half, 0));
}

/* Only mapped IOVA gets dirty: a hole is neither counted nor reported. */
TEST_F(dirty, holes)
{
	size_t hole = variant->size / 4, nbits, bit;
	__u64 nr, unmapped, want_nr = 0;

	if (hole % self->iopte || hole % self->mark_size ||
	    hole % self->read_size)
		SKIP(return, "range not divisible");
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, hole,
				    IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id,
				    self->buf + 2 * hole, 2 * hole,
				    IOVA + 2 * hole));
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));

	nbits = variant->size / self->mark_size;
	memset(self->marks, 0xff, bitmap_bytes(nbits));
	for (bit = 0; bit != nbits; bit++) {
		size_t off = bit * self->mark_size;

		want_nr += off < hole || off >= 2 * hole;
	}
	ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id, IOVA, variant->size,
				self->mark_size, self->marks, &nr));
	EXPECT_EQ(want_nr, nr);

	/* Everything but the hole. */
	memset(self->marks, 0, bitmap_bytes(nbits));
	for (bit = 0; bit != nbits; bit++) {
		size_t off = bit * self->mark_size;

		if (off < hole || off >= 2 * hole)
			set_bit64(self->marks, bit);
	}
	expect_dirty(self, 0, variant->size);
	EXPECT_EQ(0, read_and_compare(self, 0, variant->size, 0));

	/* Unmapping drops dirty bits with the IOPTEs. */
	ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id, IOVA, variant->size,
				self->mark_size, self->marks, &nr));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, IOVA, hole,
				&unmapped));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf, hole,
				    IOVA));
	for (bit = 0; bit != hole / self->mark_size; bit++)
		clear_bit64(self->marks, bit);
	expect_dirty(self, 0, variant->size);
	EXPECT_EQ(0, read_and_compare(self, 0, variant->size, 0));
}

TEST_F(dirty, tracking_off)
{
	__u64 nr;

	/* The mock only records writes while tracking. */
	mark_pattern(self, variant->size, 0);
	EXPECT_ERRNO(EINVAL, mock_dirty(self->fd, self->hwpt_id, IOVA,
					variant->size, self->mark_size,
					self->marks, &nr));
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id, IOVA, variant->size,
				self->mark_size, self->marks, &nr));
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, false));
	EXPECT_ERRNO(EINVAL, mock_dirty(self->fd, self->hwpt_id, IOVA,
					variant->size, self->mark_size,
					self->marks, &nr));
	/* Turning it on again starts afresh. */
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	memset(self->want, 0, bitmap_bytes(variant->size / self->read_size));
	EXPECT_EQ(0, read_and_compare(self, 0, variant->size, 0));
}

/*
 * Other devices join the tracking domain if their IOMMU tracks dirty pages:
 * a plain one also on a domain of huge IOPTEs, a NO_DIRTY one never.
 */
TEST_F(dirty, devices_that_join)
{
	__u32 stdev_id, pt_id;
	__u64 nr, want_nr;

	ASSERT_EQ(0, mock_domain(self->fd, self->hwpt_id, &stdev_id, &pt_id,
				 NULL));
	EXPECT_EQ(self->hwpt_id, pt_id);
	EXPECT_ERRNO(EINVAL, mock_domain_flags(self->fd, self->hwpt_id,
					       MOCK_FLAGS_DEVICE_NO_DIRTY,
					       &pt_id, NULL, NULL));
	/* Tracking works with both attached. */
	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	want_nr = mark_pattern(self, variant->size, 1);
	ASSERT_EQ(0, mock_dirty(self->fd, self->hwpt_id, IOVA, variant->size,
				self->mark_size, self->marks, &nr));
	EXPECT_EQ(want_nr, nr);
	expect_dirty(self, 0, variant->size);
	EXPECT_EQ(0, read_and_compare(self, 0, variant->size, 0));
	EXPECT_EQ(0, object_destroy(self->fd, stdev_id));
}

TEST_F(dirty, test_op_errors)
{
	__u64 nr, word = ~0ULL;
	__u32 plain_id, nested_id;

	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DIRTY,
		.id = self->hwpt_id,
		.dirty = { .flags = 1, .iova = IOVA,
			   .length = MOCK_IO_PAGE_SIZE,
			   .page_size = MOCK_IO_PAGE_SIZE,
			   .uptr = (uintptr_t)&word },
	};

	ASSERT_EQ(0, set_dirty_tracking(self->fd, self->hwpt_id, true));
	/* Arguments. */
	EXPECT_ERRNO(EOPNOTSUPP, test_cmd(self->fd, &cmd));
	cmd.dirty.flags = 0;
	cmd.dirty.__pad = 1;
	EXPECT_ERRNO(EOPNOTSUPP, test_cmd(self->fd, &cmd));
	EXPECT_ERRNO(EINVAL, mock_dirty(self->fd, self->hwpt_id, IOVA,
					MOCK_IO_PAGE_SIZE, 0, &word, &nr));
	EXPECT_ERRNO(EINVAL, mock_dirty(self->fd, self->hwpt_id, IOVA,
					3 * MOCK_IO_PAGE_SIZE,
					3 * MOCK_IO_PAGE_SIZE, &word, &nr));
	EXPECT_ERRNO(EINVAL, mock_dirty(self->fd, self->hwpt_id, IOVA, 0,
					MOCK_IO_PAGE_SIZE, &word, &nr));
	EXPECT_ERRNO(EINVAL, mock_dirty(self->fd, self->hwpt_id, IOVA + 1,
					MOCK_IO_PAGE_SIZE, MOCK_IO_PAGE_SIZE,
					&word, &nr));
	EXPECT_ERRNO(EINVAL, mock_dirty(self->fd, self->hwpt_id, IOVA,
					MOCK_IO_PAGE_SIZE + 1,
					MOCK_IO_PAGE_SIZE, &word, &nr));
	/* Outside the aperture, and a range that wraps. */
	EXPECT_ERRNO(EINVAL, mock_dirty(self->fd, self->hwpt_id,
					IOVA - MOCK_IO_PAGE_SIZE,
					2 * MOCK_IO_PAGE_SIZE,
					MOCK_IO_PAGE_SIZE, &word, &nr));
	EXPECT_ERRNO(EINVAL, mock_dirty(self->fd, self->hwpt_id,
					(__u64)MOCK_APERTURE_LAST + 1 -
						MOCK_IO_PAGE_SIZE,
					2 * MOCK_IO_PAGE_SIZE,
					MOCK_IO_PAGE_SIZE, &word, &nr));
	EXPECT_ERRNO(EINVAL, mock_dirty(self->fd, self->hwpt_id,
					-(__u64)MOCK_IO_PAGE_SIZE,
					2 * MOCK_IO_PAGE_SIZE,
					MOCK_IO_PAGE_SIZE, &word, &nr));
	/* A bitmap the kernel cannot read. */
	EXPECT_ERRNO(EFAULT, mock_dirty(self->fd, self->hwpt_id, IOVA,
					MOCK_IO_PAGE_SIZE, MOCK_IO_PAGE_SIZE,
					NULL, &nr));

	/* Objects: not a hw_pagetable, not tracking, nested. */
	EXPECT_ERRNO(ENOENT, mock_dirty(self->fd, self->ioas_id, IOVA,
					MOCK_IO_PAGE_SIZE, MOCK_IO_PAGE_SIZE,
					&word, &nr));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &plain_id));
	EXPECT_ERRNO(EINVAL,
		     mock_dirty(self->fd, plain_id, IOVA, MOCK_IO_PAGE_SIZE,
				MOCK_IO_PAGE_SIZE, &word, &nr));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, self->idev_id, plain_id,
				       DEF, &nested_id));
	EXPECT_ERRNO(ENOENT, mock_dirty(self->fd, nested_id, IOVA,
					MOCK_IO_PAGE_SIZE, MOCK_IO_PAGE_SIZE,
					&word, &nr));
	EXPECT_EQ(0, object_destroy(self->fd, nested_id));
	EXPECT_EQ(0, object_destroy(self->fd, plain_id));
}

TEST_HARNESS_MAIN
