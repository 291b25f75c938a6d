// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The mock IOMMU driver under the hw_pagetable ioctls for VMMs: the
 * hardware info and capabilities of mock devices, the flags of paging
 * hw_pagetables (NEST_PARENT, DIRTY_TRACKING) and which devices may use
 * them, mock nested hw_pagetables (IOMMU_HWPT_DATA_SELFTEST) with their
 * emulated IOTLB (IOMMU_TEST_OP_MD_CHECK_IOTLB) and its invalidation:
 * entries one by one or all, partial progress, bad entries.
 */
#include <sys/mman.h>

#include "helpers.h"

#define DEF IOMMU_TEST_IOTLB_DEFAULT
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

	/* A nested hw_pagetable on a huge parent is for huge devices only. */
	ASSERT_EQ(0, mock_domain_flags(self->fd, self->ioas_id,
				       MOCK_FLAGS_DEVICE_HUGE_IOVA, &huge_stdev,
				       NULL, &huge_idev));
	ASSERT_EQ(0, hwpt_alloc(self->fd, huge_idev, self->ioas_id,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &huge_parent_id));
	ASSERT_EQ(0, hwpt_alloc_nested(self->fd, huge_idev, huge_parent_id,
				       DEF, &huge_nested_id));
	EXPECT_ERRNO(EINVAL, mock_domain(self->fd, huge_nested_id, NULL, NULL,
					 NULL));
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

TEST_HARNESS_MAIN
