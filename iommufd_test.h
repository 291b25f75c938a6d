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
 * Operations selected by iommu_test_cmd.op. Unless stated otherwise,
 * iommu_test_cmd.id names the object the operation works on and the
 * arguments live in the union member of the same name.
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
	IOMMU_TEST_OP_MOCK_DOMAIN,
	IOMMU_TEST_OP_MD_CHECK_MAP,
	IOMMU_TEST_OP_MD_CHECK_REFS,
	IOMMU_TEST_OP_CREATE_ACCESS,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_RW,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
	IOMMU_TEST_OP_DIRTY,
	IOMMU_TEST_OP_MD_CHECK_IOTLB,
	IOMMU_TEST_OP_TRIGGER_IOPF,
};

/*
 * IOVA window that mock domains translate, inclusive at both ends:
 * 16 MiB up to just below 2 GiB. Anything outside it is reported as not
 * usable by IOMMU_IOAS_IOVA_RANGES once a mock device is attached.
 */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

/*
 * Flags of the access operations:
 * MOCK_FLAGS_ACCESS_WRITE asks for the pages to be pinned for writing.
 * MOCK_FLAGS_ACCESS_SYZ marks a call made by a fuzzer (syzkaller). Such a
 * caller cannot know real IOVAs, so the IOVA it passes is translated by the
 * kernel into one inside an existing mapping instead of being used as is.
 */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
};

/*
 * access_rw.flags:
 * MOCK_ACCESS_RW_WRITE copies from the user buffer into the IOVA range
 * (device write); without it data flows from the IOVA range to the buffer.
 * MOCK_ACCESS_RW_SLOW_PATH tells the access to avoid its fast path, so
 * that the general copy code gets exercised as well.
 */
enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

/*
 * create_access.flags:
 * MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES registers the access as one that
 * pins pages, so it must be told, through its unmap callback, before pinned
 * IOVA is unmapped.
 */
enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/*
 * mock_domain_flags.dev_flags:
 * MOCK_FLAGS_DEVICE_NO_DIRTY gives the mock device an IOMMU without dirty
 * tracking, so the dirty tracking error paths can be tested.
 * MOCK_FLAGS_DEVICE_HUGE_IOVA lets the mock IOMMU of the device use huge
 * IOVA page sizes.
 */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
};

/*
 * A mock nested HWPT emulates a small IOTLB of MOCK_NESTED_DOMAIN_IOTLB_NUM
 * entries, indexed 0 to MOCK_NESTED_DOMAIN_IOTLB_ID_MAX.
 */
enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
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
 * @add_reserved.start: First IOVA of the hole
 * @add_reserved.length: Size of the hole in bytes
 * @mock_domain: Arguments of IOMMU_TEST_OP_MOCK_DOMAIN
 * @mock_domain.out_stdev_id: Out, ID of the selftest object that owns the
 *                            mock device; destroying it unplugs the device
 * @mock_domain.out_hwpt_id: Out, ID of the HWPT the device was attached to
 * @mock_domain.out_idev_id: Out, the ordinary iommufd device ID, as a real
 *                           driver would get it from binding the device
 * @mock_domain_flags: Arguments of IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS
 * @mock_domain_flags.out_stdev_id: Out, as in @mock_domain
 * @mock_domain_flags.out_hwpt_id: Out, as in @mock_domain
 * @mock_domain_flags.out_idev_id: Out, as in @mock_domain
 * @mock_domain_flags.dev_flags: In, MOCK_FLAGS_DEVICE_* bits of the device
 * @mock_domain_replace: Arguments of IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE
 * @mock_domain_replace.pt_id: In, the new IOAS or HWPT. Out, the HWPT the
 *                             device now uses.
 * @check_map: Arguments of IOMMU_TEST_OP_MD_CHECK_MAP
 * @check_map.iova: First IOVA to check
 * @check_map.length: Number of bytes to check
 * @check_map.uptr: User memory that should back the range
 * @check_refs: Arguments of IOMMU_TEST_OP_MD_CHECK_REFS
 * @check_refs.length: Size of the user buffer in bytes
 * @check_refs.uptr: Start of the user buffer
 * @check_refs.refs: Expected number of pins on each page
 * @create_access: Arguments of IOMMU_TEST_OP_CREATE_ACCESS
 * @create_access.out_access_fd: Out, file descriptor of the new access
 * @create_access.flags: In, MOCK_FLAGS_ACCESS_CREATE_* bits
 * @destroy_access_pages: Arguments of IOMMU_TEST_OP_DESTROY_ACCESS_PAGES
 * @destroy_access_pages.access_pages_id: The handle returned in
 *                                        @access_pages.out_access_pages_id
 * @access_pages: Arguments of IOMMU_TEST_OP_ACCESS_PAGES
 * @access_pages.flags: In, MOCK_FLAGS_ACCESS_WRITE and MOCK_FLAGS_ACCESS_SYZ
 * @access_pages.out_access_pages_id: Out, handle of the pinning
 * @access_pages.iova: In, first IOVA to pin
 * @access_pages.length: In, number of bytes to pin
 * @access_pages.uptr: In, user memory the pinned pages must match
 * @access_rw: Arguments of IOMMU_TEST_OP_ACCESS_RW
 * @access_rw.iova: First IOVA of the copy
 * @access_rw.length: Number of bytes to copy
 * @access_rw.uptr: User buffer on the other side of the copy
 * @access_rw.flags: MOCK_ACCESS_RW_* bits
 * @memory_limit: Arguments of IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT
 * @memory_limit.limit: New limit on the scratch memory
 * @access_replace_ioas: Arguments of IOMMU_TEST_OP_ACCESS_REPLACE_IOAS
 * @access_replace_ioas.ioas_id: The IOAS the access should use from now on
 * @dirty: Arguments of IOMMU_TEST_OP_DIRTY
 * @dirty.flags: No flags are defined, pass 0
 * @dirty.iova: First IOVA covered by the bitmap
 * @dirty.length: Number of bytes of IOVA covered by the bitmap
 * @dirty.page_size: IOVA bytes represented by one bit
 * @dirty.uptr: User pointer to the bitmap of pages to mark dirty
 * @dirty.out_nr_dirty: Out, how many pages were marked dirty
 * @check_iotlb: Arguments of IOMMU_TEST_OP_MD_CHECK_IOTLB
 * @check_iotlb.id: Index of the IOTLB entry, 0 to
 *                  MOCK_NESTED_DOMAIN_IOTLB_ID_MAX
 * @check_iotlb.iotlb: Value the entry is expected to hold
 * @trigger_iopf: Arguments of IOMMU_TEST_OP_TRIGGER_IOPF
 * @trigger_iopf.dev_id: iommufd device ID of the faulting mock device
 * @trigger_iopf.pasid: PASID of the fault
 * @trigger_iopf.grpid: Page request group index of the fault
 * @trigger_iopf.perm: IOMMU_PGFAULT_PERM_* bits requested
 * @trigger_iopf.addr: Faulting address
 * @last: Marks the end of the structure; the selftests use it to compute
 *        sizes when they probe the size handling of the ioctl
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
	};
	__u32 last;
};

#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

/*
 * IOMMU_GET_HW_INFO on a mock device reports this data type, and the
 * test_reg member of the returned struct iommu_test_hw_info holds
 * IOMMU_HW_INFO_SELFTEST_REGVAL.
 */
#define IOMMU_HW_INFO_TYPE_SELFTEST	0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL	0xdeadbeef

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

/*
 * Driver data type for nested HWPTs of the mock IOMMU, chosen so it can
 * never clash with a real enum iommu_hwpt_data_type value. A fresh nested
 * mock HWPT fills its emulated IOTLB with IOMMU_TEST_IOTLB_DEFAULT.
 */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef

/**
 * struct iommu_hwpt_selftest - driver data of a mock nested HWPT
 *                              (IOMMU_HWPT_DATA_SELFTEST)
 * @iotlb: Value to store in every entry of the emulated IOTLB; the
 *         selftests pass IOMMU_TEST_IOTLB_DEFAULT
 */
struct iommu_hwpt_selftest {
	__u32 iotlb;
};

/*
 * Invalidation data types understood by IOMMU_HWPT_INVALIDATE on a mock
 * nested HWPT. Like IOMMU_HWPT_DATA_SELFTEST they stay clear of the real
 * enum iommu_hwpt_invalidate_data_type values. The _INVALID one is a type
 * the mock driver deliberately refuses, to test the error path.
 */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

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
#define IOMMU_TEST_INVALIDATE_FLAG_ALL	1
	__u32 flags;
	__u32 iotlb_id;
};

#endif
