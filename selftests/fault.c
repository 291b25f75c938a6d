// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Fault queues (IOMMU_FAULT_QUEUE_ALLOC) on their own: the object and its
 * file, the read/write/poll rules of the file with nothing pending, and
 * the life of the two (the file keeps the object and the context; the
 * object goes after the file).  Faults delivered through mock devices are
 * in hwpt_mock.
 */
#include <poll.h>
#include <sys/mman.h>

#include "helpers.h"

static int fault_alloc(int fd, __u32 *id, int *fault_fd)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };
	int rc = ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);

	if (rc)
		return rc;
	*id = cmd.out_fault_id;
	*fault_fd = cmd.out_fault_fd;
	return 0;
}

FIXTURE(fault) {
	int fd;
	__u32 id;
	int fault_fd;
};

FIXTURE_SETUP(fault)
{
	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, fault_alloc(self->fd, &self->id, &self->fault_fd));
}

FIXTURE_TEARDOWN(fault)
{
	if (self->fault_fd >= 0)
		close(self->fault_fd);
	close(self->fd);
}

TEST_F(fault, alloc_bad_input)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd), .flags = 1 };
	__u32 ioas_id;

	EXPECT_ERRNO(EOPNOTSUPP, ioctl(self->fd, IOMMU_FAULT_QUEUE_ALLOC,
				       &cmd));
	cmd.flags = 0;
	cmd.size = 8;
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd));
	/* Nothing was made: the next object gets the next ID. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	EXPECT_EQ(self->id + 1, ioas_id);
	/* The descriptor is close-on-exec. */
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->fault_fd, F_GETFD) & FD_CLOEXEC);
}

/* A page of address space that cannot be read. */
static void *bad_ptr(void)
{
	return mmap(NULL, sysconf(_SC_PAGESIZE), PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* With nothing pending: read gives nothing, write finds no group. */
TEST_F(fault, file_rules_when_idle)
{
	struct iommu_hwpt_pgfault rec[2];
	struct iommu_hwpt_page_response resp[2] = {
		{ .cookie = 1, .code = IOMMUFD_PAGE_RESP_SUCCESS },
		{ .cookie = 2, .code = IOMMUFD_PAGE_RESP_INVALID },
	};
	struct pollfd pfd = { .fd = self->fault_fd, .events = POLLIN | POLLOUT };

	EXPECT_EQ(0, read(self->fault_fd, rec, sizeof(rec)));
	EXPECT_EQ(0, read(self->fault_fd, rec, 0));
	EXPECT_ERRNO(ESPIPE, read(self->fault_fd, rec, sizeof(rec[0]) - 1));
	EXPECT_ERRNO(ESPIPE, pread(self->fault_fd, rec, sizeof(rec), 8));

	EXPECT_ERRNO(EINVAL, write(self->fault_fd, resp, sizeof(resp)));
	EXPECT_ERRNO(ESPIPE, write(self->fault_fd, resp, sizeof(resp[0]) + 1));
	resp[0].code = 7;
	EXPECT_ERRNO(EINVAL, write(self->fault_fd, resp, sizeof(resp[0])));
	EXPECT_ERRNO(EFAULT, write(self->fault_fd, bad_ptr(), sizeof(resp[0])));

	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLOUT, pfd.revents);
}

/* The open file keeps the queue: EBUSY until it is closed. */
TEST_F(fault, destroy_after_close)
{
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->id));
	ASSERT_EQ(0, close(self->fault_fd));
	self->fault_fd = -1;
	EXPECT_EQ(0, object_destroy(self->fd, self->id));
	EXPECT_ERRNO(ENOENT, object_destroy(self->fd, self->id));
}

/* The file outlives /dev/iommu, and the context goes with the file. */
TEST_F(fault, file_outlives_context)
{
	struct iommu_hwpt_pgfault rec;

	ASSERT_EQ(0, close(self->fd));
	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(0, read(self->fault_fd, &rec, sizeof(rec)));
	ASSERT_EQ(0, close(self->fault_fd));
	self->fault_fd = -1;
}

/* A queue nobody names, and many of them, all go with the context. */
TEST(many_queues_go_with_the_context)
{
	int fd = open(IOMMU_DEV, O_RDWR), fds[64], i;
	__u32 id;

	ASSERT_LE(0, fd);
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, fault_alloc(fd, &id, &fds[i]));
	for (i = 0; i < 64; i += 2)
		ASSERT_EQ(0, close(fds[i]));
	ASSERT_EQ(0, close(fd));
	for (i = 1; i < 64; i += 2)
		ASSERT_EQ(0, close(fds[i]));
}

TEST_HARNESS_MAIN
