/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ABI of IOMMU_TEST_CMD, an ioctl that exists only in kernels built with
 * CONFIG_IOMMUFD_TEST. It lets the kselftests drive iommufd against a mock
 * IOMMU driver and mock devices, and look inside objects that the normal
 * uAPI keeps opaque. It is not a stable interface for applications.
 *
 * Copyright (c) 2026 The iommufd authors
 */
#ifndef _UAPI_IOMMUFD_TEST_H
#define _UAPI_IOMMUFD_TEST_H

#include <linux/iommufd.h>
#include <linux/types.h>

/*
 * Operations selected by iommu_test_cmd.op (the values are ABI).  Unless
 * stated otherwise, iommu_test_cmd.id names the object the operation works
 * on and the arguments live in the union member of the same name.
 *
 * IOMMU_TEST_OP_ADD_RESERVED: punch a reserved hole [start, start + length)
 *	into the IOAS @id, the way an IOMMU driver reserves a window such as
 *	the MSI doorbell, so that mapping into it is refused.
 * IOMMU_TEST_OP_MOCK_DOMAIN: create a mock device, bind it to the iommufd
 *	and attach it to the IOAS or HWPT @id. Returns the IDs of the mock
 *	device object, of the HWPT it ended up on and of its iommufd device.
 * IOMMU_TEST_OP_MD_CHECK_MAP: walk the mock page tables behind @id over an
 *	IOVA range and verify that each page translates to the same physical
 *	page as the user memory at uptr.
 * IOMMU_TEST_OP_MD_CHECK_REFS: verify that every page of the user buffer
 *	holds exactly the given number of pins taken by iommufd.
 * IOMMU_TEST_OP_CREATE_ACCESS: create an in-kernel access on the IOAS @id,
 *	as an emulated (mdev style) device driver would, and hand userspace a
 *	file descriptor that represents it.
 * IOMMU_TEST_OP_DESTROY_ACCESS_PAGES: drop a pinning made earlier through
 *	IOMMU_TEST_OP_ACCESS_PAGES on the access whose fd is @id.
 * IOMMU_TEST_OP_ACCESS_PAGES: pin an IOVA range through the access fd @id
 *	and check the result against user memory; returns a handle for the
 *	pinning.
 * IOMMU_TEST_OP_ACCESS_RW: copy between an IOVA range seen by the access fd
 *	@id and a user buffer, without pinning, in either direction.
 * IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT: shrink the scratch memory iommufd
 *	may use internally while pinning, to force its fallback paths.
 * IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: move the mock device @id to another
 *	IOAS or HWPT without detaching it first.
 * IOMMU_TEST_OP_ACCESS_REPLACE_IOAS: switch the access fd @id over to a
 *	different IOAS.
 * IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS: like IOMMU_TEST_OP_MOCK_DOMAIN, but the
 *	mock device gets the properties in dev_flags.
 * IOMMU_TEST_OP_DIRTY: pretend that DMA wrote to pages of the HWPT @id, by
 *	setting dirty bits in its mock page table wherever a bitmap says so.
 * IOMMU_TEST_OP_MD_CHECK_IOTLB: compare one entry of the emulated IOTLB of
 *	a mock nested HWPT @id with an expected value.
 * IOMMU_TEST_OP_TRIGGER_IOPF: make a mock device report an I/O page fault,
 *	which then travels through the fault queue of the HWPT it uses.
 */
enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN = 2,
	IOMMU_TEST_OP_MD_CHECK_MAP = 3,
	IOMMU_TEST_OP_MD_CHECK_REFS = 4,
	IOMMU_TEST_OP_CREATE_ACCESS = 5,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = 6,
	IOMMU_TEST_OP_ACCESS_PAGES = 7,
	IOMMU_TEST_OP_ACCESS_RW = 8,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = 11,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12,
	IOMMU_TEST_OP_DIRTY = 13,
	IOMMU_TEST_OP_MD_CHECK_IOTLB = 14,
	IOMMU_TEST_OP_TRIGGER_IOPF = 15,
};

/*
 * Constants of the mock IOMMU and flags of the operations:
 *
 * MOCK_APERTURE_START, MOCK_APERTURE_LAST: the IOVA window mock domains
 * translate, inclusive at both ends: 16 MiB up to just below 2 GiB.
 * Anything outside it is reported as not usable by IOMMU_IOAS_IOVA_RANGES
 * once a mock device is attached.
 *
 * create_access.flags: MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES registers
 * the access as one that pins pages, so it must be told, through its unmap
 * callback, before pinned IOVA is unmapped.
 *
 * access_pages.flags: MOCK_FLAGS_ACCESS_WRITE pins the pages for writing.
 * MOCK_FLAGS_ACCESS_SYZ, in access_pages.flags and access_rw.flags, marks
 * a call made by a fuzzer (syzkaller), which cannot know the IOVA its maps
 * got: the iova names a place by area instead, the low 32 bits counting
 * the areas of the access's IOAS in IOVA order from 0, the high 32 bits a
 * byte offset from the start of that area.  With no such area it is IOVA 0.
 *
 * access_rw.flags: MOCK_ACCESS_RW_WRITE copies from the user buffer into
 * the IOVA range (device write); without it data flows from the IOVA range
 * to the buffer.  MOCK_ACCESS_RW_SLOW_PATH makes the access avoid its fast
 * path, so that the general copy code gets exercised as well.
 *
 * mock_domain_flags.dev_flags: MOCK_FLAGS_DEVICE_NO_DIRTY gives the mock
 * device an IOMMU without dirty tracking.  MOCK_FLAGS_DEVICE_HUGE_IOVA lets
 * the mock IOMMU of the device use a large IOPTE size as well.
 *
 * A mock nested HWPT emulates a small IOTLB of MOCK_NESTED_DOMAIN_IOTLB_NUM
 * entries, indexed 0 to MOCK_NESTED_DOMAIN_IOTLB_ID_MAX.
 */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

/* The test-only ioctl itself. */
#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

/*
 * Data types of the mock IOMMU driver, chosen so they can never clash with
 * the real ones:
 *
 * IOMMU_HW_INFO_TYPE_SELFTEST is what IOMMU_GET_HW_INFO reports for a mock
 * device; the test_reg member of its struct iommu_test_hw_info holds
 * IOMMU_HW_INFO_SELFTEST_REGVAL.
 *
 * IOMMU_HWPT_DATA_SELFTEST is the driver data type of mock nested HWPTs
 * (struct iommu_hwpt_selftest); a fresh one fills its emulated IOTLB with
 * IOMMU_TEST_IOTLB_DEFAULT.
 *
 * IOMMU_HWPT_INVALIDATE_DATA_SELFTEST is the invalidation data type of mock
 * nested HWPTs (struct iommu_hwpt_invalidate_selftest); the _INVALID one is
 * a type the mock driver deliberately refuses, to test the error path.
 * IOMMU_TEST_INVALIDATE_FLAG_ALL in its flags resets every IOTLB entry.
 */
#define IOMMU_HW_INFO_TYPE_SELFTEST			0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL			0xdeadbeef
#define IOMMU_HWPT_DATA_SELFTEST			0xdead
#define IOMMU_TEST_IOTLB_DEFAULT			0xbadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST		0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID	0xdadbeef
#define IOMMU_TEST_INVALIDATE_FLAG_ALL			1

/**
 * struct iommu_test_hw_info - hardware data of the mock IOMMU
 *                             (IOMMU_HW_INFO_TYPE_SELFTEST)
 * @flags: Always 0
 * @test_reg: A fake register, reads as IOMMU_HW_INFO_SELFTEST_REGVAL
 */
struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

/**
 * struct iommu_hwpt_selftest - driver data of a mock nested HWPT
 *                              (IOMMU_HWPT_DATA_SELFTEST)
 * @iotlb: Value to store in every entry of the emulated IOTLB; the
 *         selftests pass IOMMU_TEST_IOTLB_DEFAULT
 */
struct iommu_hwpt_selftest {
	__u32 iotlb;
};

/**
 * struct iommu_hwpt_invalidate_selftest - one invalidation request for a
 *                                         mock nested HWPT
 *                                         (IOMMU_HWPT_INVALIDATE_DATA_SELFTEST)
 * @flags: IOMMU_TEST_INVALIDATE_FLAG_ALL or 0
 * @iotlb_id: Index of the emulated IOTLB entry to reset, 0 to
 *            MOCK_NESTED_DOMAIN_IOTLB_ID_MAX; not used when
 *            IOMMU_TEST_INVALIDATE_FLAG_ALL is set, which resets all entries
 *
 * Resetting an entry sets it to 0, which the selftests then check with
 * IOMMU_TEST_OP_MD_CHECK_IOTLB.
 */
struct iommu_hwpt_invalidate_selftest {
	__u32 flags;
	__u32 iotlb_id;
};

/*
 * The arguments of each operation, one member of the union in
 * struct iommu_test_cmd; "out" members are written back by the kernel.
 */

/* IOMMU_TEST_OP_ADD_RESERVED: the hole [start, start + length). */
struct iommu_test_add_reserved {
	__aligned_u64 start;
	__aligned_u64 length;
};

/*
 * IOMMU_TEST_OP_MOCK_DOMAIN(_FLAGS): out_stdev_id names the selftest object
 * that owns the mock device (destroying it unplugs the device), out_hwpt_id
 * the HWPT the device was attached to, out_idev_id the ordinary iommufd
 * device ID a real driver would get from binding.  dev_flags (the _FLAGS
 * variant only) holds MOCK_FLAGS_DEVICE_* bits.
 */
struct iommu_test_mock_domain {
	__u32 out_stdev_id;
	__u32 out_hwpt_id;
	__u32 out_idev_id;
};

struct iommu_test_mock_domain_flags {
	__u32 out_stdev_id;
	__u32 out_hwpt_id;
	__u32 out_idev_id;
	__u32 dev_flags;
};

/* IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE: in the new IOAS/HWPT, out the HWPT. */
struct iommu_test_mock_domain_replace {
	__u32 pt_id;
};

/* IOMMU_TEST_OP_MD_CHECK_MAP: IOVA range and the user memory behind it. */
struct iommu_test_check_map {
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 uptr;
};

/* IOMMU_TEST_OP_MD_CHECK_REFS: user buffer and the pins each page has. */
struct iommu_test_check_refs {
	__aligned_u64 length;
	__aligned_u64 uptr;
	__u32 refs;
};

/* IOMMU_TEST_OP_CREATE_ACCESS: out the access fd, in MOCK_FLAGS_ACCESS_*. */
struct iommu_test_create_access {
	__u32 out_access_fd;
	__u32 flags;
};

/* IOMMU_TEST_OP_DESTROY_ACCESS_PAGES: handle from ACCESS_PAGES. */
struct iommu_test_destroy_access_pages {
	__u32 access_pages_id;
};

/*
 * IOMMU_TEST_OP_ACCESS_PAGES: pin [iova, iova + length); out the handle of
 * the pinning.  If uptr is not 0, the pinned pages must be the user memory
 * at uptr (rounded down to a page): -EBADE if they are other pages, -EFAULT
 * if that memory cannot be read.
 */
struct iommu_test_access_pages {
	__u32 flags;
	__u32 out_access_pages_id;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 uptr;
};

/* IOMMU_TEST_OP_ACCESS_RW: copy between the IOVA range and uptr. */
struct iommu_test_access_rw {
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 uptr;
	__u32 flags;
};

/* IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT: bytes of scratch memory. */
struct iommu_test_memory_limit {
	__u32 limit;
};

/* IOMMU_TEST_OP_ACCESS_REPLACE_IOAS: the IOAS to use from now on. */
struct iommu_test_access_replace_ioas {
	__u32 ioas_id;
};

/*
 * IOMMU_TEST_OP_DIRTY: the bitmap at uptr (one bit per page_size bytes of
 * [iova, iova + length)) says which pages to mark dirty; flags must be 0;
 * out how many were marked.  The padding after flags is explicit here.
 */
struct iommu_test_dirty {
	__u32 flags;
	__u32 __pad;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 uptr;
	__aligned_u64 out_nr_dirty;
};

/* IOMMU_TEST_OP_MD_CHECK_IOTLB: entry index and its expected value. */
struct iommu_test_check_iotlb {
	__u32 id;
	__u32 iotlb;
};

/*
 * IOMMU_TEST_OP_TRIGGER_IOPF: the fault a mock device reports: its iommufd
 * device ID, PASID, page request group, IOMMU_PGFAULT_PERM_* and address.
 */
struct iommu_test_trigger_iopf {
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u64 addr;
};

/**
 * struct iommu_test_cmd - argument of ioctl(IOMMU_TEST_CMD)
 * @size: sizeof(struct iommu_test_cmd), with the same rules as the normal
 *        iommufd commands
 * @op: One of the IOMMU_TEST_OP_* values
 * @id: The object the operation applies to (IOAS, HWPT, mock device or
 *      access fd, depending on @op)
 * @__reserved: Must be 0
 * @add_reserved: Arguments of IOMMU_TEST_OP_ADD_RESERVED
 * @mock_domain: Arguments of IOMMU_TEST_OP_MOCK_DOMAIN
 * @mock_domain_flags: Arguments of IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS
 * @mock_domain_replace: Arguments of IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE
 * @check_map: Arguments of IOMMU_TEST_OP_MD_CHECK_MAP
 * @check_refs: Arguments of IOMMU_TEST_OP_MD_CHECK_REFS
 * @create_access: Arguments of IOMMU_TEST_OP_CREATE_ACCESS
 * @destroy_access_pages: Arguments of IOMMU_TEST_OP_DESTROY_ACCESS_PAGES
 * @access_pages: Arguments of IOMMU_TEST_OP_ACCESS_PAGES
 * @access_rw: Arguments of IOMMU_TEST_OP_ACCESS_RW
 * @memory_limit: Arguments of IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT
 * @access_replace_ioas: Arguments of IOMMU_TEST_OP_ACCESS_REPLACE_IOAS
 * @dirty: Arguments of IOMMU_TEST_OP_DIRTY
 * @check_iotlb: Arguments of IOMMU_TEST_OP_MD_CHECK_IOTLB
 * @trigger_iopf: Arguments of IOMMU_TEST_OP_TRIGGER_IOPF
 * @last: Marks the end of the structure; the selftests use it to compute
 *        sizes when they probe the size handling of the ioctl
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id, __reserved;
	union {
		struct iommu_test_add_reserved add_reserved;
		struct iommu_test_mock_domain mock_domain;
		struct iommu_test_mock_domain_flags mock_domain_flags;
		struct iommu_test_mock_domain_replace mock_domain_replace;
		struct iommu_test_check_map check_map;
		struct iommu_test_check_refs check_refs;
		struct iommu_test_create_access create_access;
		struct iommu_test_destroy_access_pages destroy_access_pages;
		struct iommu_test_access_pages access_pages;
		struct iommu_test_access_rw access_rw;
		struct iommu_test_memory_limit memory_limit;
		struct iommu_test_access_replace_ioas access_replace_ioas;
		struct iommu_test_dirty dirty;
		struct iommu_test_check_iotlb check_iotlb;
		struct iommu_test_trigger_iopf trigger_iopf;
	};
	__u32 last;
};

#endif
