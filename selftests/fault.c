// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Fault queues (IOMMU_FAULT_QUEUE_ALLOC) on their own: the object and its
 * file, the read/write/poll rules of the file with nothing pending, and
 * the life of the two (the file keeps the object and the context; the
 * object goes after the file).  Then faults of mock devices attached to a
 * nested hw_pagetable with a queue (IOMMU_TEST_OP_TRIGGER_IOPF): records
 * read and answered, grouped reads, and every way a fault can lose its
 * reader: answered for it when its device leaves the hw_pagetable, when
 * the file closes, when everything is torn down in any order; the mock
 * IOMMU's count of page responses shows each fault answered exactly once.
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

/*
 * A hw_pagetable whose faults go to @fault_id: a mock nested one on the
 * parent @pt_id, or (!@nested) a paging one on the IOAS @pt_id.
 */
static int hwpt_alloc_iopf(int fd, __u32 dev_id, __u32 pt_id, bool nested,
			   __u32 fault_id, __u32 *hwpt_id)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_HWPT_FAULT_ID_VALID,
		.dev_id = dev_id,
		.pt_id = pt_id,
		.fault_id = fault_id,
	};
	int rc;

	if (nested) {
		cmd.data_type = IOMMU_HWPT_DATA_SELFTEST;
		cmd.data_len = sizeof(data);
		cmd.data_uptr = (uintptr_t)&data;
	}
	rc = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	if (!rc)
		*hwpt_id = cmd.out_hwpt_id;
	return rc;
}

/* The mock device bound as @dev_id sends one page request. */
static int trigger_iopf_perm(int fd, __u32 dev_id, __u32 pasid, __u32 grpid,
			     __u32 perm, __u64 addr)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = {
			.dev_id = dev_id,
			.pasid = pasid,
			.grpid = grpid,
			.perm = perm,
			.addr = addr,
		},
	};

	return test_cmd(fd, &cmd);
}

/* The same, for reading and writing. */
static int trigger_iopf(int fd, __u32 dev_id, __u32 pasid, __u32 grpid,
			__u64 addr)
{
	return trigger_iopf_perm(fd, dev_id, pasid, grpid,
				 IOMMU_PGFAULT_PERM_READ |
					 IOMMU_PGFAULT_PERM_WRITE,
				 addr);
}

/* A file of the mock's debugfs directory as a number, or -1. */
static long mock_stat(const char *name)
{
	char path[96], text[24] = "";
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/iommufd_mock/%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(text, sizeof(text), f))
		val = strtol(text, NULL, 0);
	fclose(f);
	return val;
}

/*
 * Did the mock IOMMU get @n page responses since *@seen, the last with
 * @code (enum iommu_page_response_code: 0 success, 1 invalid)?  0 if so.
 */
static int got_responses(long *seen, long n, long code)
{
	long now = mock_stat("iopf_responses");

	if (now != *seen + n)
		return now < 0 ? -1 : now - *seen;
	*seen = now;
	if (n && mock_stat("iopf_last_response") != code)
		return -1000 - mock_stat("iopf_last_response");
	return 0;
}

static int answer(int fault_fd, __u32 cookie, __u32 code)
{
	struct iommu_hwpt_page_response resp = {
		.cookie = cookie,
		.code = code,
	};
	ssize_t n = write(fault_fd, &resp, sizeof(resp));

	return n == sizeof(resp) ? 0 : -1;
}

static bool readable(int fault_fd)
{
	struct pollfd pfd = { .fd = fault_fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

#define ADDR 0xdead0000ULL

/* A mock device attached to a nested hw_pagetable with a fault queue. */
FIXTURE(iopf) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 idev_id;
	__u32 parent_id;
	__u32 fault_id;
	int fault_fd;
	__u32 hwpt_id;
};

FIXTURE_SETUP(iopf)
{
	__u32 pt_id;

	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &self->stdev_id,
				 NULL, &self->idev_id));
	ASSERT_EQ(0, hwpt_alloc(self->fd, self->idev_id, self->ioas_id,
				IOMMU_HWPT_ALLOC_NEST_PARENT,
				&self->parent_id));
	ASSERT_EQ(0, fault_alloc(self->fd, &self->fault_id, &self->fault_fd));
	ASSERT_EQ(0, hwpt_alloc_iopf(self->fd, self->idev_id, self->parent_id,
				     true, self->fault_id,
				     &self->hwpt_id));
	pt_id = self->hwpt_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	ASSERT_EQ(self->hwpt_id, pt_id);
}

FIXTURE_TEARDOWN(iopf)
{
	if (self->fault_fd >= 0)
		close(self->fault_fd);
	close(self->fd);
}

/* One fault: its record, then its answer; a second answer finds nothing. */
TEST_F(iopf, round_trip)
{
	struct iommu_hwpt_pgfault rec[4];

	EXPECT_FALSE(readable(self->fault_fd));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 2, ADDR));
	EXPECT_TRUE(readable(self->fault_fd));
	memset(rec, 0xa5, sizeof(rec));
	ASSERT_EQ(sizeof(rec[0]), read(self->fault_fd, rec, sizeof(rec)));
	EXPECT_EQ(IOMMU_PGFAULT_FLAGS_PASID_VALID |
		  IOMMU_PGFAULT_FLAGS_LAST_PAGE, rec[0].flags);
	EXPECT_EQ(self->idev_id, rec[0].dev_id);
	EXPECT_EQ(1, rec[0].pasid);
	EXPECT_EQ(2, rec[0].grpid);
	EXPECT_EQ(IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE,
		  rec[0].perm);
	EXPECT_EQ(0, rec[0].__reserved);
	EXPECT_EQ(ADDR, rec[0].addr);
	EXPECT_EQ(0, rec[0].length);
	/* Only the one record was written. */
	EXPECT_EQ(0xa5a5a5a5, rec[1].flags);
	EXPECT_FALSE(readable(self->fault_fd));
	EXPECT_EQ(0, read(self->fault_fd, rec, sizeof(rec)));

	EXPECT_EQ(0, answer(self->fault_fd, rec[0].cookie,
			    IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_ERRNO(EINVAL, answer(self->fault_fd, rec[0].cookie,
				    IOMMUFD_PAGE_RESP_SUCCESS));

	/* PASID 0 is none: no PASID flag. */
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 0,
				  3, ADDR + 4096));
	ASSERT_EQ(sizeof(rec[0]), read(self->fault_fd, rec, sizeof(rec)));
	EXPECT_EQ(IOMMU_PGFAULT_FLAGS_LAST_PAGE, rec[0].flags);
	EXPECT_EQ(3, rec[0].grpid);
	EXPECT_EQ(0, answer(self->fault_fd, rec[0].cookie,
			    IOMMUFD_PAGE_RESP_INVALID));
}

/* Reads take whole groups as they fit, in order; answers in one write. */
TEST_F(iopf, reads_and_answers_in_batches)
{
	struct iommu_hwpt_page_response resp[3];
	struct iommu_hwpt_pgfault rec[4];
	int i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 10 + i,
					  ADDR));
	ASSERT_EQ(2 * sizeof(rec[0]), read(self->fault_fd, rec,
					   2 * sizeof(rec[0])));
	ASSERT_EQ(sizeof(rec[0]), read(self->fault_fd, &rec[2],
				       2 * sizeof(rec[0])));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(10 + i, rec[i].grpid);
		resp[i].cookie = rec[i].cookie;
		resp[i].code = IOMMUFD_PAGE_RESP_SUCCESS;
	}
	EXPECT_NE(rec[0].cookie, rec[1].cookie);
	EXPECT_NE(rec[1].cookie, rec[2].cookie);
	/* A bad answer in the middle: the ones before it are taken. */
	resp[1].code = 9;
	EXPECT_EQ(sizeof(resp[0]), write(self->fault_fd, resp, sizeof(resp)));
	resp[1].code = IOMMUFD_PAGE_RESP_SUCCESS;
	EXPECT_EQ(2 * sizeof(resp[0]), write(self->fault_fd, &resp[1],
					     2 * sizeof(resp[0])));
}

/* A read into memory that cannot take it leaves the fault to read again. */
TEST_F(iopf, failed_read_keeps_the_fault)
{
	struct iommu_hwpt_pgfault rec;

	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 4, ADDR));
	EXPECT_ERRNO(EFAULT, read(self->fault_fd, bad_ptr(), sizeof(rec)));
	EXPECT_TRUE(readable(self->fault_fd));
	ASSERT_EQ(sizeof(rec), read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_EQ(4, rec.grpid);
	EXPECT_EQ(0, answer(self->fault_fd, rec.cookie,
			    IOMMUFD_PAGE_RESP_SUCCESS));
}

/*
 * Leaving the hw_pagetable answers the device's faults, read or not; the
 * parent has no queue, so a fault there is refused; back on a queue,
 * faults arrive again.
 */
TEST_F(iopf, leaving_answers_pending_faults)
{
	struct iommu_hwpt_pgfault rec;
	__u32 pt_id = self->parent_id;

	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 5, ADDR));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 6, ADDR));
	ASSERT_EQ(sizeof(rec), read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->hwpt_id));
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_FALSE(readable(self->fault_fd));
	EXPECT_ERRNO(EINVAL, answer(self->fault_fd, rec.cookie,
				    IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_ERRNO(EINVAL, trigger_iopf(self->fd, self->idev_id, 1, 7,
					  ADDR));

	pt_id = self->hwpt_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 8, ADDR));
	ASSERT_EQ(sizeof(rec), read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_EQ(8, rec.grpid);
	EXPECT_EQ(0, answer(self->fault_fd, rec.cookie,
			    IOMMUFD_PAGE_RESP_SUCCESS));
}

/* Moving between two hw_pagetables of one queue keeps later faults coming. */
TEST_F(iopf, replace_between_queues)
{
	struct iommu_hwpt_pgfault rec;
	__u32 hwpt2, pt_id;

	ASSERT_EQ(0, hwpt_alloc_iopf(self->fd, self->idev_id, self->parent_id,
				     true, self->fault_id,
				     &hwpt2));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 1, ADDR));
	pt_id = hwpt2;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	/* The one that came through the first attachment was answered. */
	EXPECT_FALSE(readable(self->fault_fd));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 2, ADDR));
	ASSERT_EQ(sizeof(rec), read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_EQ(2, rec.grpid);
	EXPECT_EQ(0, answer(self->fault_fd, rec.cookie,
			    IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(0, object_destroy(self->fd, self->hwpt_id));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, hwpt2));
}

/*
 * Closing the file answers what it had; later faults are answered at once.
 * The queue stays while a hw_pagetable names it.
 */
TEST_F(iopf, close_answers_pending_faults)
{
	struct iommu_hwpt_pgfault rec;
	__u32 pt_id = self->ioas_id;

	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 1, ADDR));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 2, ADDR));
	ASSERT_EQ(sizeof(rec), read(self->fault_fd, &rec, sizeof(rec)));
	ASSERT_EQ(0, close(self->fault_fd));
	self->fault_fd = -1;
	EXPECT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 3, ADDR));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, self->fault_id));
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_EQ(0, object_destroy(self->fd, self->hwpt_id));
	EXPECT_EQ(0, object_destroy(self->fd, self->fault_id));
}

/* The record says what the device asked for, whatever it was. */
TEST_F(iopf, records_what_the_device_asked)
{
	const __u32 all = IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE |
			  IOMMU_PGFAULT_PERM_EXEC | IOMMU_PGFAULT_PERM_PRIV;
	const __u32 perms[] = { IOMMU_PGFAULT_PERM_READ,
				IOMMU_PGFAULT_PERM_WRITE,
				IOMMU_PGFAULT_PERM_EXEC | IOMMU_PGFAULT_PERM_PRIV,
				all };
	struct iommu_hwpt_pgfault rec;
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(perms); i++) {
		ASSERT_EQ(0, trigger_iopf_perm(self->fd, self->idev_id,
					       0xfffff - i, 0x1ff - i,
					       perms[i], ~0ULL << (12 + i)));
		ASSERT_EQ(sizeof(rec), read(self->fault_fd, &rec,
					    sizeof(rec)));
		EXPECT_EQ(0xfffff - i, rec.pasid);
		EXPECT_EQ(0x1ff - i, rec.grpid);
		EXPECT_EQ(perms[i], rec.perm);
		EXPECT_EQ(~0ULL << (12 + i), rec.addr);
		EXPECT_EQ(0, answer(self->fault_fd, rec.cookie,
				    IOMMUFD_PAGE_RESP_SUCCESS));
	}
	/* Permissions the uAPI does not have; only devices fault. */
	EXPECT_ERRNO(EOPNOTSUPP, trigger_iopf_perm(self->fd, self->idev_id, 1,
						   1, all << 1, ADDR));
	EXPECT_ERRNO(ENOENT, trigger_iopf(self->fd, self->stdev_id, 1, 1,
					  ADDR));
	EXPECT_ERRNO(ENOENT, trigger_iopf(self->fd, self->hwpt_id, 1, 1,
					  ADDR));
	EXPECT_ERRNO(ENOENT, trigger_iopf(self->fd, 0, 1, 1, ADDR));
	EXPECT_FALSE(readable(self->fault_fd));
}

/*
 * Every fault gets exactly one page response at the IOMMU: userspace's
 * answer, or the core's when there is no one to answer (no queue, the
 * device left, the file closed, the device went away).
 */
TEST_F(iopf, each_fault_answered_once_at_the_iommu)
{
	long seen = mock_stat("iopf_responses");
	struct iommu_hwpt_pgfault rec;
	__u32 pt_id, hwpt2;
	int i;

	ASSERT_LE(0, seen);
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 1, ADDR));
	ASSERT_EQ(sizeof(rec), read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_EQ(0, got_responses(&seen, 0, 0));
	EXPECT_EQ(0, answer(self->fault_fd, rec.cookie,
			    IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(0, got_responses(&seen, 1, 0));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 0, 2, ADDR));
	ASSERT_EQ(sizeof(rec), read(self->fault_fd, &rec, sizeof(rec)));
	EXPECT_EQ(0, answer(self->fault_fd, rec.cookie,
			    IOMMUFD_PAGE_RESP_INVALID));
	EXPECT_EQ(0, got_responses(&seen, 1, 1));

	/* Leaving: read or not, each pending fault is answered. */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, i, i,
					  ADDR));
	ASSERT_EQ(sizeof(rec), read(self->fault_fd, &rec, sizeof(rec)));
	pt_id = self->parent_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_EQ(0, got_responses(&seen, 3, 1));
	/* No queue there: answered at once. */
	EXPECT_ERRNO(EINVAL, trigger_iopf(self->fd, self->idev_id, 1, 4,
					  ADDR));
	EXPECT_EQ(0, got_responses(&seen, 1, 1));

	/* Moving to another hw_pagetable of the queue. */
	pt_id = self->hwpt_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	ASSERT_EQ(0, hwpt_alloc_iopf(self->fd, self->idev_id, self->parent_id,
				     true, self->fault_id,
				     &hwpt2));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 5, ADDR));
	pt_id = hwpt2;
	ASSERT_EQ(0, mock_domain_replace(self->fd, self->stdev_id, &pt_id));
	EXPECT_EQ(0, got_responses(&seen, 1, 1));

	/* Closing the file. */
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 6, ADDR));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 7, ADDR));
	EXPECT_EQ(0, got_responses(&seen, 0, 0));
	ASSERT_EQ(0, close(self->fault_fd));
	self->fault_fd = -1;
	EXPECT_EQ(0, got_responses(&seen, 2, 1));
	EXPECT_EQ(0, trigger_iopf(self->fd, self->idev_id, 1, 8, ADDR));
	EXPECT_EQ(0, got_responses(&seen, 1, 1));

	/* The device going away. */
	EXPECT_EQ(0, object_destroy(self->fd, self->stdev_id));
	EXPECT_EQ(0, got_responses(&seen, 0, 0));
}

/*
 * A paging hw_pagetable on the IOAS can have a queue too.  Requests without
 * a PASID reach it; one with a PASID finds no handler (the core routes those
 * only to nested domains) and is refused at once.  Destroying the device
 * answers what is pending.
 */
TEST(iopf_on_a_paging_hwpt)
{
	int fd = open(IOMMU_DEV, O_RDWR), fault_fd;
	__u32 ioas_id, stdev_id, idev_id, fault_id, hwpt_id, pt_id;
	struct iommu_hwpt_pgfault rec[2];

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas_id));
	ASSERT_EQ(0, mock_domain(fd, ioas_id, &stdev_id, NULL, &idev_id));
	ASSERT_EQ(0, fault_alloc(fd, &fault_id, &fault_fd));
	ASSERT_EQ(0, hwpt_alloc_iopf(fd, idev_id, ioas_id, false, fault_id,
				     &hwpt_id));
	/* It holds the queue. */
	EXPECT_ERRNO(EBUSY, object_destroy(fd, fault_id));
	pt_id = hwpt_id;
	ASSERT_EQ(0, mock_domain_replace(fd, stdev_id, &pt_id));

	EXPECT_ERRNO(EINVAL, trigger_iopf(fd, idev_id, 1, 1, ADDR));
	EXPECT_FALSE(readable(fault_fd));
	ASSERT_EQ(0, trigger_iopf(fd, idev_id, 0, 2, ADDR));
	ASSERT_EQ(sizeof(rec[0]), read(fault_fd, rec, sizeof(rec)));
	EXPECT_EQ(IOMMU_PGFAULT_FLAGS_LAST_PAGE, rec[0].flags);
	EXPECT_EQ(idev_id, rec[0].dev_id);
	EXPECT_EQ(2, rec[0].grpid);
	EXPECT_EQ(ADDR, rec[0].addr);
	EXPECT_EQ(0, answer(fault_fd, rec[0].cookie,
			    IOMMUFD_PAGE_RESP_SUCCESS));

	/* One left pending goes with the device; then the rest can go. */
	ASSERT_EQ(0, trigger_iopf(fd, idev_id, 0, 3, ADDR));
	EXPECT_EQ(0, object_destroy(fd, stdev_id));
	EXPECT_EQ(0, object_destroy(fd, hwpt_id));
	EXPECT_FALSE(readable(fault_fd));
	EXPECT_EQ(0, read(fault_fd, rec, sizeof(rec)));
	/* The open file holds the queue. */
	EXPECT_ERRNO(EBUSY, object_destroy(fd, fault_id));
	EXPECT_EQ(0, close(fault_fd));
	EXPECT_EQ(0, object_destroy(fd, fault_id));
	EXPECT_EQ(0, close(fd));
}

/* Everything goes, with faults pending, whatever goes first. */
FIXTURE(iopf_teardown) {};

FIXTURE_VARIANT(iopf_teardown) {
	bool close_iommufd_first;
	bool destroy_device_first;
};

FIXTURE_VARIANT_ADD(iopf_teardown, iommufd_then_queue) {
	.close_iommufd_first = true,
};

FIXTURE_VARIANT_ADD(iopf_teardown, queue_then_iommufd) {
	.close_iommufd_first = false,
};

FIXTURE_VARIANT_ADD(iopf_teardown, device_then_queue) {
	.destroy_device_first = true,
	.close_iommufd_first = true,
};

FIXTURE_SETUP(iopf_teardown)
{
}

FIXTURE_TEARDOWN(iopf_teardown)
{
}

TEST_F(iopf_teardown, with_faults_pending)
{
	struct iommu_hwpt_pgfault rec;
	int fd, fault_fd;
	__u32 ioas_id, stdev_id, idev_id, parent_id, fault_id, hwpt_id, pt_id;

	fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas_id));
	ASSERT_EQ(0, mock_domain(fd, ioas_id, &stdev_id, NULL, &idev_id));
	ASSERT_EQ(0, hwpt_alloc(fd, idev_id, ioas_id,
				IOMMU_HWPT_ALLOC_NEST_PARENT, &parent_id));
	ASSERT_EQ(0, fault_alloc(fd, &fault_id, &fault_fd));
	ASSERT_EQ(0, hwpt_alloc_iopf(fd, idev_id, parent_id, true, fault_id,
				     &hwpt_id));
	pt_id = hwpt_id;
	ASSERT_EQ(0, mock_domain_replace(fd, stdev_id, &pt_id));
	ASSERT_EQ(0, trigger_iopf(fd, idev_id, 1, 1, ADDR));
	ASSERT_EQ(0, trigger_iopf(fd, idev_id, 1, 2, ADDR));
	ASSERT_EQ(sizeof(rec), read(fault_fd, &rec, sizeof(rec)));

	if (variant->destroy_device_first)
		ASSERT_EQ(0, object_destroy(fd, stdev_id));
	if (variant->close_iommufd_first) {
		ASSERT_EQ(0, close(fd));
		/* The queue's file still works; the fault is still there. */
		if (!variant->destroy_device_first)
			EXPECT_TRUE(readable(fault_fd));
		ASSERT_EQ(0, close(fault_fd));
	} else {
		ASSERT_EQ(0, close(fault_fd));
		ASSERT_EQ(0, close(fd));
	}
}

TEST_HARNESS_MAIN
