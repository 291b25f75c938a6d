// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * IOMMU_OPTION: validation of every field, the global RLIMIT_MODE (root
 * only, fixed once the context has objects) and the per-IOAS HUGE_PAGES.
 */
#include "helpers.h"

FIXTURE(option) {
	int fd;
	struct iommu_option cmd;
};

FIXTURE_SETUP(option)
{
	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	self->cmd = (struct iommu_option){ .size = sizeof(self->cmd) };
}

FIXTURE_TEARDOWN(option)
{
	close(self->fd);
}

static int option(int fd, struct iommu_option *cmd, __u32 option_id, __u16 op,
		  __u32 object_id, __u64 val)
{
	cmd->option_id = option_id;
	cmd->op = op;
	cmd->object_id = object_id;
	cmd->val64 = val;
	return ioctl(fd, IOMMU_OPTION, cmd);
}

TEST_F(option, bad_fields)
{
	struct iommu_option *cmd = &self->cmd;

	EXPECT_ERRNO(EOPNOTSUPP, option(self->fd, cmd, 2, IOMMU_OPTION_OP_GET,
					0, 0));
	EXPECT_ERRNO(EOPNOTSUPP, option(self->fd, cmd, UINT32_MAX,
					IOMMU_OPTION_OP_GET, 0, 0));
	EXPECT_ERRNO(EOPNOTSUPP, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
					2, 0, 0));
	cmd->__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
					IOMMU_OPTION_OP_GET, 0, 0));
	cmd->__reserved = 0;
	/* RLIMIT_MODE belongs to the context: v6.12 refuses an object. */
	EXPECT_ERRNO(EOPNOTSUPP, option(self->fd, cmd,
					IOMMU_OPTION_RLIMIT_MODE,
					IOMMU_OPTION_OP_GET, 1, 0));
	EXPECT_ERRNO(EOPNOTSUPP, option(self->fd, cmd,
					IOMMU_OPTION_RLIMIT_MODE,
					IOMMU_OPTION_OP_SET, 1, 0));
}

TEST_F(option, rlimit_mode)
{
	struct iommu_option *cmd = &self->cmd;
	__u32 ioas_id;

	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_GET, 0, 7));
	EXPECT_EQ(0, cmd->val64);

	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_SET, 0, 1));
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_GET, 0, 7));
	EXPECT_EQ(1, cmd->val64);
	EXPECT_ERRNO(EINVAL, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
				    IOMMU_OPTION_OP_SET, 0, 2));
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_SET, 0, 0));
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_GET, 0, 7));
	EXPECT_EQ(0, cmd->val64);

	/* Once the context holds objects the mode is fixed. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	EXPECT_ERRNO(EBUSY, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
				   IOMMU_OPTION_OP_SET, 0, 1));
	/* Busy comes first, as in v6.12: the value is not even looked at. */
	EXPECT_ERRNO(EBUSY, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
				   IOMMU_OPTION_OP_SET, 0, 2));
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_GET, 0, 7));
	EXPECT_EQ(0, cmd->val64);
	ASSERT_EQ(0, object_destroy(self->fd, ioas_id));
	EXPECT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_SET, 0, 1));
}

TEST_F(option, rlimit_mode_needs_cap_sys_resource)
{
	struct iommu_option *cmd = &self->cmd;

	ASSERT_EQ(0, drop_capability(CAP_SYS_RESOURCE));
	EXPECT_ERRNO(EPERM, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
				   IOMMU_OPTION_OP_SET, 0, 1));
	/* Reading it needs no privilege. */
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_GET, 0, 7));
	EXPECT_EQ(0, cmd->val64);
}

TEST_F(option, huge_pages)
{
	struct iommu_option *cmd = &self->cmd;
	__u32 ioas_id;

	/* It belongs to an IOAS: no object, or a missing one, is ENOENT. */
	EXPECT_ERRNO(ENOENT, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
				    IOMMU_OPTION_OP_GET, 0, 0));
	EXPECT_ERRNO(ENOENT, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
				    IOMMU_OPTION_OP_SET, 0, 1));
	EXPECT_ERRNO(ENOENT, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
				    IOMMU_OPTION_OP_GET, 99, 0));

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, ioas_id, 7));
	EXPECT_EQ(1, cmd->val64);
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, ioas_id, 0));
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, ioas_id, 7));
	EXPECT_EQ(0, cmd->val64);
	EXPECT_ERRNO(EINVAL, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
				    IOMMU_OPTION_OP_SET, ioas_id, 2));
	EXPECT_ERRNO(EOPNOTSUPP, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
					3, ioas_id, 0));
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, ioas_id, 1));
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, ioas_id, 7));
	EXPECT_EQ(1, cmd->val64);

	/* Each IOAS has its own setting. */
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, ioas_id, 0));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	ASSERT_EQ(0, option(self->fd, cmd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, ioas_id, 7));
	EXPECT_EQ(1, cmd->val64);
}

TEST_HARNESS_MAIN
