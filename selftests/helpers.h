/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Small helpers shared by the iommufd selftests: opening /dev/iommu, thin
 * wrappers around the ioctls that return 0 or -1/errno like ioctl(2), and
 * readers for the kernel counters tests compare against a baseline.
 */
#ifndef __IOMMUFD_SELFTEST_HELPERS_H
#define __IOMMUFD_SELFTEST_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "iommufd_test.h"

#define IOMMU_DEV "/dev/iommu"
#define VFIO_CONTAINER "/dev/vfio/vfio"

/* The call must fail with -1 and set errno to @err. */
#define EXPECT_ERRNO(err, call)                                              \
	do {                                                                 \
		int __rc = (call);                                           \
		EXPECT_EQ(-1, __rc);                                         \
		if (__rc == -1)                                              \
			EXPECT_EQ(err, errno);                               \
	} while (0)

static inline int ioas_alloc(int fd, __u32 *ioas_id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	if (!rc)
		*ioas_id = cmd.out_ioas_id;
	return rc;
}

static inline int object_destroy(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd);
}

/*
 * Does iommufd serve /dev/vfio/vfio (CONFIG_IOMMUFD_VFIO_CONTAINER)?  With
 * VFIO's native container (CONFIG_VFIO_CONTAINER) the iommufd ioctls are
 * ENOTTY there: tests of iommufd's container skip, or expect VFIO's answers.
 */
static inline bool container_is_iommufd(void)
{
	int fd = open(VFIO_CONTAINER, O_RDWR);
	__u32 ioas_id;
	bool ours;

	if (fd < 0)
		return false;
	ours = !ioas_alloc(fd, &ioas_id);
	close(fd);
	return ours;
}

/*
 * Read the usable ranges of an IOAS into @ranges (room for @max); returns
 * the count the kernel reported, or -errno.
 */
static inline int ioas_ranges(int fd, __u32 ioas_id,
			      struct iommu_iova_range *ranges, __u32 max,
			      __u64 *alignment)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = max,
		.allowed_iovas = (uintptr_t)ranges,
	};

	if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd) && errno != EMSGSIZE)
		return -errno;
	if (alignment)
		*alignment = cmd.out_iova_alignment;
	return cmd.num_iovas;
}

/* A field of a /proc file in the "Name:   value kB" format, or -1. */
static inline long proc_field_kb(const char *path, const char *field)
{
	size_t len = strlen(field);
	char line[256];
	long val = -1;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, len) && line[len] == ':') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

static inline long meminfo_kb(const char *field)
{
	return proc_field_kb("/proc/meminfo", field);
}

/* mm->pinned_vm of this process, in pages (VmPin). */
static inline long pinned_vm_pages(void)
{
	long kb = proc_field_kb("/proc/self/status", "VmPin");

	return kb < 0 ? kb : kb / (sysconf(_SC_PAGESIZE) / 1024);
}

/* Drop one capability from the effective set of this process. */
static inline int drop_capability(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &hdr, data);
}

/* A byte pattern that differs per @seed and along the buffer. */
static inline void fill_pattern(void *ptr, size_t len, unsigned int seed)
{
	unsigned char *p = ptr;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 37 + i * 7 + (i >> 11));
}

/* Anonymous memory with fill_pattern(): every page touched. */
static inline char *new_buffer(size_t size, unsigned int seed)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		fill_pattern(p, size, seed);
	return p;
}

/*
 * Thin wrappers of the IOAS ioctls: 0 or -1 with errno set, like ioctl().
 * An iova pointer is input with IOMMU_IOAS_MAP_FIXED_IOVA, else output.
 */
static inline int ioas_map(int fd, __u32 ioas_id, void *ptr, size_t length,
			   __u64 *iova, __u32 flags)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)ptr,
		.length = length,
		.iova = iova ? *iova : 0,
	};
	int rc = ioctl(fd, IOMMU_IOAS_MAP, &cmd);

	if (!rc && iova)
		*iova = cmd.iova;
	return rc;
}

#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

/* Map read/write at a fixed IOVA. */
static inline int ioas_map_fixed(int fd, __u32 ioas_id, void *ptr,
				 size_t length, __u64 iova)
{
	return ioas_map(fd, ioas_id, ptr, length, &iova,
			MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
}

static inline int ioas_unmap(int fd, __u32 ioas_id, __u64 iova, __u64 length,
			     __u64 *unmapped)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = length,
	};
	int rc = ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);

	if (!rc && unmapped)
		*unmapped = cmd.length;
	return rc;
}

static inline int ioas_copy(int fd, __u32 dst_ioas_id, __u64 *dst_iova,
			    __u32 src_ioas_id, __u64 src_iova, __u64 length,
			    __u32 flags)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dst_ioas_id = dst_ioas_id,
		.src_ioas_id = src_ioas_id,
		.length = length,
		.dst_iova = dst_iova ? *dst_iova : 0,
		.src_iova = src_iova,
	};
	int rc = ioctl(fd, IOMMU_IOAS_COPY, &cmd);

	if (!rc && dst_iova)
		*dst_iova = cmd.dst_iova;
	return rc;
}

static inline int ioas_allow_iovas(int fd, __u32 ioas_id,
				   struct iommu_iova_range *ranges, __u32 num)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = num,
		.allowed_iovas = (uintptr_t)ranges,
	};

	return ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

static inline int option_op(int fd, __u32 option_id, __u16 op, __u32 object_id,
			    __u64 *val)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option_id,
		.op = op,
		.object_id = object_id,
		.val64 = *val,
	};
	int rc = ioctl(fd, IOMMU_OPTION, &cmd);

	if (!rc)
		*val = cmd.val64;
	return rc;
}

/* IOMMU_OPTION_RLIMIT_MODE: 0 = user->locked_vm, 1 = mm->pinned_vm. */
static inline int set_rlimit_mode(int fd, __u64 mode)
{
	return option_op(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0,
			 &mode);
}

/*
 * A new context that charges pins to this process's mm->pinned_vm, where
 * VmPin shows them, and an IOAS in it.  *pinned_base receives VmPin before
 * anything is pinned.  Returns the fd, or -1.
 */
static inline int open_counted_ctx(__u32 *ioas_id, long *pinned_base)
{
	int fd = open(IOMMU_DEV, O_RDWR);

	if (fd < 0)
		return -1;
	*pinned_base = pinned_vm_pages();
	if (set_rlimit_mode(fd, 1) || *pinned_base < 0 ||
	    ioas_alloc(fd, ioas_id)) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int set_huge_pages(int fd, __u32 ioas_id, __u64 enable)
{
	return option_op(fd, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET,
			 ioas_id, &enable);
}

/* IOMMU_HWPT_ALLOC: a hw_pagetable of dev_id's IOMMU on pt_id. */
static inline int hwpt_alloc_data(int fd, __u32 dev_id, __u32 pt_id,
				  __u32 flags, __u32 data_type, void *data,
				  __u32 data_len, __u32 *hwpt_id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dev_id = dev_id,
		.pt_id = pt_id,
		.data_type = data_type,
		.data_len = data_len,
		.data_uptr = (uintptr_t)data,
	};
	int rc = ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	if (!rc && hwpt_id)
		*hwpt_id = cmd.out_hwpt_id;
	return rc;
}

static inline int hwpt_alloc(int fd, __u32 dev_id, __u32 pt_id, __u32 flags,
			     __u32 *hwpt_id)
{
	return hwpt_alloc_data(fd, dev_id, pt_id, flags, IOMMU_HWPT_DATA_NONE,
			       NULL, 0, hwpt_id);
}

/* IOMMU_GET_HW_INFO into @data (@*len bytes); *len gets the full length. */
static inline int get_hw_info(int fd, __u32 dev_id, void *data, __u32 *len,
			      __u32 *type, __u64 *caps)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd),
		.dev_id = dev_id,
		.data_len = *len,
		.data_uptr = (uintptr_t)data,
	};
	int rc = ioctl(fd, IOMMU_GET_HW_INFO, &cmd);

	if (rc)
		return rc;
	*len = cmd.data_len;
	if (type)
		*type = cmd.out_data_type;
	if (caps)
		*caps = cmd.out_capabilities;
	return 0;
}

/*
 * Does the device's IOMMU offer dirty tracking in IOMMU_GET_HW_INFO exactly
 * when a dirty-tracking hw_pagetable can be made for it on @ioas_id?  0 if
 * so (the hw_pagetable made to find out is destroyed again).
 */
static inline int dirty_cap_is_honest(int fd, __u32 dev_id, __u32 ioas_id)
{
	__u32 len = 0, hwpt_id;
	__u64 caps;
	int rc;

	if (get_hw_info(fd, dev_id, NULL, &len, NULL, &caps) ||
	    (caps & ~(__u64)IOMMU_HW_CAP_DIRTY_TRACKING))
		return -1;
	rc = hwpt_alloc(fd, dev_id, ioas_id, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
			&hwpt_id);
	if (!(caps & IOMMU_HW_CAP_DIRTY_TRACKING))
		return rc && errno == EOPNOTSUPP ? 0 : -1;
	return rc || object_destroy(fd, hwpt_id) ? -1 : 0;
}

/* IOMMU_HWPT_INVALIDATE; *num in: entries, out: entries done. */
static inline int hwpt_invalidate(int fd, __u32 hwpt_id, void *reqs,
				  __u32 data_type, __u32 entry_len,
				  __u32 *num)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd),
		.hwpt_id = hwpt_id,
		.data_uptr = (uintptr_t)reqs,
		.data_type = data_type,
		.entry_len = entry_len,
		.entry_num = *num,
	};
	int rc = ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd);

	*num = cmd.entry_num;
	return rc;
}

/*
 * Wrappers of the test-only IOMMU_TEST_CMD ops (iommufd_test.h); the mock
 * IOMMU maps in MOCK_IO_PAGE_SIZE units inside [MOCK_APERTURE_START,
 * MOCK_APERTURE_LAST].
 */
#define MOCK_IO_PAGE_SIZE (sysconf(_SC_PAGESIZE) / 2)

static inline int test_cmd(int fd, struct iommu_test_cmd *cmd)
{
	cmd->size = sizeof(*cmd);
	return ioctl(fd, IOMMU_TEST_CMD, cmd);
}

/*
 * A new mock device attached to pt_id (an IOAS or a hw_pagetable), with
 * MOCK_FLAGS_DEVICE_* flags.  Both ops return the IDs in the same place.
 */
static inline int mock_domain_flags(int fd, __u32 pt_id, __u32 dev_flags,
				    __u32 *stdev_id, __u32 *hwpt_id,
				    __u32 *idev_id)
{
	struct iommu_test_cmd cmd = {
		.op = dev_flags ? IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS :
				  IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
		.mock_domain_flags = { .dev_flags = dev_flags },
	};
	int rc = test_cmd(fd, &cmd);

	if (rc)
		return rc;
	if (stdev_id)
		*stdev_id = cmd.mock_domain_flags.out_stdev_id;
	if (hwpt_id)
		*hwpt_id = cmd.mock_domain_flags.out_hwpt_id;
	if (idev_id)
		*idev_id = cmd.mock_domain_flags.out_idev_id;
	return 0;
}

static inline int mock_domain(int fd, __u32 pt_id, __u32 *stdev_id,
			      __u32 *hwpt_id, __u32 *idev_id)
{
	return mock_domain_flags(fd, pt_id, 0, stdev_id, hwpt_id, idev_id);
}

/* Move the mock device to *pt_id; *pt_id receives the hw_pagetable. */
static inline int mock_domain_replace(int fd, __u32 stdev_id, __u32 *pt_id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev_id,
		.mock_domain_replace = { .pt_id = *pt_id },
	};
	int rc = test_cmd(fd, &cmd);

	if (!rc)
		*pt_id = cmd.mock_domain_replace.pt_id;
	return rc;
}

/* Does mock hw_pagetable hwpt_id map [iova, +length) to the memory at ptr? */
static inline int md_check_map(int fd, __u32 hwpt_id, __u64 iova,
			       __u64 length, void *ptr)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt_id,
		.check_map = { .iova = iova, .length = length,
			       .uptr = (uintptr_t)ptr },
	};

	return test_cmd(fd, &cmd);
}

/* Is every page of [ptr, +length) pinned exactly refs times (0 or 1)? */
static inline int md_check_refs(int fd, void *ptr, __u64 length, __u32 refs)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = length, .uptr = (uintptr_t)ptr,
				.refs = refs },
	};

	return test_cmd(fd, &cmd);
}

static inline int add_reserved(int fd, __u32 ioas_id, __u64 start,
			       __u64 length)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ADD_RESERVED,
		.id = ioas_id,
		.add_reserved = { .start = start, .length = length },
	};

	return test_cmd(fd, &cmd);
}

/*
 * After a context was closed: are the pages of [buf, +len) unpinned and is
 * VmPin back at @pinned_base?  0 if so.
 */
static inline int nothing_pinned(void *buf, size_t len, long pinned_base)
{
	int fd = open(IOMMU_DEV, O_RDWR);
	int rc;

	if (fd < 0)
		return -1;
	rc = md_check_refs(fd, buf, len, 0);
	close(fd);
	return rc || pinned_vm_pages() != pinned_base ? -1 : 0;
}

/* The test's temporary memory budget per batch, in bytes (default 65536). */
static inline int set_temp_memory_limit(int fd, __u32 limit)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
		.memory_limit = { .limit = limit },
	};

	return test_cmd(fd, &cmd);
}

/* A mock access attached to ioas_id, as a file descriptor. */
static inline int create_access(int fd, __u32 ioas_id, __u32 flags,
				int *access_fd)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas_id,
		.create_access = { .flags = flags },
	};
	int rc = test_cmd(fd, &cmd);

	if (!rc)
		*access_fd = cmd.create_access.out_access_fd;
	return rc;
}

/* Pin [iova, +length) through the access; uptr is the memory mapped there. */
static inline int access_pages(int fd, int access_fd, __u32 flags, __u64 iova,
			       __u64 length, void *uptr, __u32 *item_id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = access_fd,
		.access_pages = { .flags = flags, .iova = iova,
				  .length = length, .uptr = (uintptr_t)uptr },
	};
	int rc = test_cmd(fd, &cmd);

	if (!rc && item_id)
		*item_id = cmd.access_pages.out_access_pages_id;
	return rc;
}

static inline int destroy_access_pages(int fd, int access_fd, __u32 item_id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		.id = access_fd,
		.destroy_access_pages = { .access_pages_id = item_id },
	};

	return test_cmd(fd, &cmd);
}

/* Copy between buf and IOVA through the access (MOCK_ACCESS_RW_* flags). */
static inline int access_rw(int fd, int access_fd, __u64 iova, void *buf,
			    __u64 length, __u32 flags)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_RW,
		.id = access_fd,
		.access_rw = { .iova = iova, .length = length,
			       .uptr = (uintptr_t)buf, .flags = flags },
	};

	return test_cmd(fd, &cmd);
}

static inline int access_replace_ioas(int fd, int access_fd, __u32 ioas_id)
{
	struct iommu_test_cmd cmd = {
		.op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
		.id = access_fd,
		.access_replace_ioas = { .ioas_id = ioas_id },
	};

	return test_cmd(fd, &cmd);
}

/*
 * A forked child and a pipe each way to exchange single bytes with it.  Each
 * side keeps its own ends in rd/wr; when the other side dies, a read sees
 * the end of the pipe.
 */
struct peer {
	pid_t pid;	/* the child, in the parent; 0 in the child */
	int rd;
	int wr;
};

/* fork(2) with the pipes set up: -1, 0 in the child, the pid in the parent */
static inline pid_t peer_fork(struct peer *p)
{
	int down[2], up[2];

	*p = (struct peer){ .pid = -1, .rd = -1, .wr = -1 };
	if (pipe(down))
		return -1;
	if (pipe(up)) {
		close(down[0]);
		close(down[1]);
		return -1;
	}
	p->pid = fork();
	if (p->pid < 0) {
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		return -1;
	}
	/* The parent writes down and reads up; the child the other way. */
	close(p->pid ? down[0] : down[1]);
	close(p->pid ? up[1] : up[0]);
	p->rd = p->pid ? up[0] : down[0];
	p->wr = p->pid ? down[1] : up[1];
	return p->pid;
}

static inline int peer_send(struct peer *p, char byte)
{
	return write(p->wr, &byte, 1) == 1 ? 0 : -1;
}

/* The next byte from the other side, or 0 if it is gone. */
static inline char peer_recv(struct peer *p)
{
	char byte;

	return read(p->rd, &byte, 1) == 1 ? byte : 0;
}

/* Send @req and return the answer, or 0. */
static inline char peer_ask(struct peer *p, char req)
{
	return peer_send(p, req) ? 0 : peer_recv(p);
}

/* In the parent: close the pipes, wait for the child, its exit status or -1 */
static inline int peer_reap(struct peer *p)
{
	int status;

	close(p->rd);
	close(p->wr);
	if (waitpid(p->pid, &status, 0) != p->pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Write the string @val to the file at @path (sysfs, debugfs, proc). */
static inline int write_file(const char *path, const char *val)
{
	ssize_t len = strlen(val), n;
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return -1;
	n = write(fd, val, len);
	close(fd);
	return n == len ? 0 : -1;
}

/* Write @val to the mock's debugfs knob iommufd_mock/@name; 0 or -1. */
static inline int mock_knob(const char *name, unsigned long long val)
{
	char path[96], text[24];

	snprintf(path, sizeof(path), "/sys/kernel/debug/iommufd_mock/%s", name);
	snprintf(text, sizeof(text), "%llu", val);
	return write_file(path, text);
}

/* How often @needle appears in the kernel log, or -1. */
static inline int kernel_log_count(const char *needle)
{
	int size = 1 << 20, len, count = 0;
	char *log = malloc(size + 1), *p;

	if (!log)
		return -1;
	/* SYSLOG_ACTION_READ_ALL */
	len = syscall(SYS_syslog, 3, log, size);
	if (len < 0) {
		free(log);
		return -1;
	}
	log[len] = 0;
	for (p = log; (p = strstr(p, needle)); p++)
		count++;
	free(log);
	return count;
}

#endif
