// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The IOAS object: allocation, destruction and IOMMU_IOAS_IOVA_RANGES.
 */
#include <sys/mman.h>

#include "helpers.h"

FIXTURE(ioas) {
	int fd;
	__u32 ioas_id;
};

FIXTURE_SETUP(ioas)
{
	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_NE(0, self->ioas_id);
}

FIXTURE_TEARDOWN(ioas)
{
	close(self->fd);
}

TEST_F(ioas, alloc_flags)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = 1 };

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_ALLOC, &cmd));
	cmd.flags = 1U << 31;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_IOAS_ALLOC, &cmd));
}

/*
 * If the new ID cannot be written back the object must not exist: the ID
 * is handed out again by the next allocation.
 */
TEST_F(ioas, alloc_unwritable_result)
{
	struct iommu_ioas_alloc *cmd;
	__u32 id;

	cmd = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, cmd);
	cmd->size = sizeof(*cmd);
	ASSERT_EQ(0, mprotect(cmd, 4096, PROT_READ));
	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_ALLOC, cmd));
	ASSERT_EQ(0, ioas_alloc(self->fd, &id));
	EXPECT_EQ(self->ioas_id + 1, id);
	munmap(cmd, 4096);
}

TEST_F(ioas, distinct_ids)
{
	__u32 ids[64];
	int i, j;

	for (i = 0; i < 64; i++) {
		ASSERT_EQ(0, ioas_alloc(self->fd, &ids[i]));
		EXPECT_NE(self->ioas_id, ids[i]);
		for (j = 0; j < i; j++)
			EXPECT_NE(ids[j], ids[i]);
	}
	for (i = 0; i < 64; i += 2)
		EXPECT_EQ(0, object_destroy(self->fd, ids[i]));
	for (i = 1; i < 64; i += 2)
		EXPECT_EQ(1, ioas_ranges(self->fd, ids[i], NULL, 0, NULL));
}

/* A new IOAS can map anything at any alignment. */
TEST_F(ioas, iova_ranges_empty_ioas)
{
	struct iommu_iova_range ranges[4];
	__u64 align = 0;

	memset(ranges, 0xa5, sizeof(ranges));
	ASSERT_EQ(1, ioas_ranges(self->fd, self->ioas_id, ranges, 4, &align));
	EXPECT_EQ(0, ranges[0].start);
	EXPECT_EQ(UINT64_MAX, ranges[0].last);
	EXPECT_EQ(1, align);
	/* Entries past the count are not written. */
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, ranges[1].start);
}

/* A short array gets EMSGSIZE, the needed count, and nothing past it. */
TEST_F(ioas, iova_ranges_short_array)
{
	struct iommu_iova_range range = { .start = 7, .last = 7 };
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 0,
		.allowed_iovas = (uintptr_t)&range,
	};

	EXPECT_ERRNO(EMSGSIZE, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	EXPECT_EQ(1, cmd.num_iovas);
	EXPECT_EQ(1, cmd.out_iova_alignment);
	EXPECT_EQ(7, range.start);

	/* A NULL array is fine when the caller only asks for the count. */
	cmd.num_iovas = 0;
	cmd.allowed_iovas = 0;
	EXPECT_ERRNO(EMSGSIZE, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	EXPECT_EQ(1, cmd.num_iovas);
}

TEST_F(ioas, iova_ranges_bad_input)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 1,
		.allowed_iovas = 8,	/* never mapped */
	};

	EXPECT_ERRNO(EFAULT, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	cmd.allowed_iovas = 0;
	cmd.num_iovas = 0;
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP,
		     ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	cmd.__reserved = 0;
	cmd.ioas_id = self->ioas_id + 1;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	cmd.ioas_id = 0;
	EXPECT_ERRNO(ENOENT, ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
}

TEST_HARNESS_MAIN
