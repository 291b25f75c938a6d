// SPDX-License-Identifier: GPL-2.0
/*
 * Compile-time guard for the iommufd ABI.
 *
 * Every structure, member offset, member type, constant and ioctl request
 * code that userspace can see through include/uapi/linux/iommufd.h and
 * through the selftest-only iommufd_test.h is pinned here to the values of
 * upstream Linux v6.12.  If an edit to either header moves a field, resizes
 * or retypes a member, renumbers a command or changes a flag, this file
 * stops compiling and names what changed.
 *
 * The numbers are literals on purpose: they were printed by a throwaway
 * program compiled against the header of Debian's linux 6.12.117 package
 * (x86_64, gcc).  The one place where that package differs from v6.12 was
 * corrected by hand: struct iommu_hw_info in v6.12 has a __u32 __reserved
 * at offset 28 where the package has out_max_pasid_log2 and a 3 byte array,
 * and v6.12 has no IOMMU_HW_CAP_PCI_PASID_* bits.
 *
 * It is only compiled (-fsyntax-only), never run.  Every macro below names
 * each of its arguments once; a member is pinned by its offset and by its
 * exact type (which fixes its size and signedness), an aggregate member by
 * its offset and size.  __aligned_u64 members are checked as __u64; their
 * alignment shows in the alignment of the enclosing structure.
 *
 * Copyright (c) 2026 The iommufd authors
 */
#include <assert.h>
#include <stdalign.h>
#include <stddef.h>
#include <linux/iommufd.h>
#include "iommufd_test.h"

#define ABI_SIZE(type, size, align) \
	static_assert(sizeof(type) == (size) && alignof(type) == (align), #type)

#define ABI_OFFSET(type, member, off) \
	static_assert(offsetof(type, member) == (off), #type "." #member)

/*
 * Members are named through an object of the structure's type: ABI_STRUCT
 * declares one with the structure's tag as its name.  It is never defined,
 * only used in unevaluated contexts (sizeof, __typeof__).
 */
#define ABI_STRUCT(type) extern struct type type

#define ABI_MEMBER(expr, t) \
	static_assert(__builtin_types_compatible_p(__typeof__(expr), t), \
		      #expr " must be " #t)

#define ABI_MSIZE(expr, size) static_assert(sizeof(expr) == (size), #expr)

#define ABI_VALUE(name, val) static_assert((name) == (val), #name)

/* The ioctl type byte, ';'. */
ABI_VALUE(IOMMUFD_TYPE, 0x3b);

/*
 * include/uapi/linux/iommufd.h: structures
 */

ABI_STRUCT(iommu_destroy);
ABI_SIZE(struct iommu_destroy, 8, 4);
ABI_OFFSET(struct iommu_destroy, size, 0);
ABI_MEMBER(iommu_destroy.size, __u32);
ABI_OFFSET(struct iommu_destroy, id, 4);
ABI_MEMBER(iommu_destroy.id, __u32);

ABI_STRUCT(iommu_ioas_alloc);
ABI_SIZE(struct iommu_ioas_alloc, 12, 4);
ABI_OFFSET(struct iommu_ioas_alloc, size, 0);
ABI_MEMBER(iommu_ioas_alloc.size, __u32);
ABI_OFFSET(struct iommu_ioas_alloc, flags, 4);
ABI_MEMBER(iommu_ioas_alloc.flags, __u32);
ABI_OFFSET(struct iommu_ioas_alloc, out_ioas_id, 8);
ABI_MEMBER(iommu_ioas_alloc.out_ioas_id, __u32);

ABI_STRUCT(iommu_iova_range);
ABI_SIZE(struct iommu_iova_range, 16, 8);
ABI_OFFSET(struct iommu_iova_range, start, 0);
ABI_MEMBER(iommu_iova_range.start, __u64);
ABI_OFFSET(struct iommu_iova_range, last, 8);
ABI_MEMBER(iommu_iova_range.last, __u64);

ABI_STRUCT(iommu_ioas_iova_ranges);
ABI_SIZE(struct iommu_ioas_iova_ranges, 32, 8);
ABI_OFFSET(struct iommu_ioas_iova_ranges, size, 0);
ABI_MEMBER(iommu_ioas_iova_ranges.size, __u32);
ABI_OFFSET(struct iommu_ioas_iova_ranges, ioas_id, 4);
ABI_MEMBER(iommu_ioas_iova_ranges.ioas_id, __u32);
ABI_OFFSET(struct iommu_ioas_iova_ranges, num_iovas, 8);
ABI_MEMBER(iommu_ioas_iova_ranges.num_iovas, __u32);
ABI_OFFSET(struct iommu_ioas_iova_ranges, __reserved, 12);
ABI_MEMBER(iommu_ioas_iova_ranges.__reserved, __u32);
ABI_OFFSET(struct iommu_ioas_iova_ranges, allowed_iovas, 16);
ABI_MEMBER(iommu_ioas_iova_ranges.allowed_iovas, __u64);
ABI_OFFSET(struct iommu_ioas_iova_ranges, out_iova_alignment, 24);
ABI_MEMBER(iommu_ioas_iova_ranges.out_iova_alignment, __u64);

ABI_STRUCT(iommu_ioas_allow_iovas);
ABI_SIZE(struct iommu_ioas_allow_iovas, 24, 8);
ABI_OFFSET(struct iommu_ioas_allow_iovas, size, 0);
ABI_MEMBER(iommu_ioas_allow_iovas.size, __u32);
ABI_OFFSET(struct iommu_ioas_allow_iovas, ioas_id, 4);
ABI_MEMBER(iommu_ioas_allow_iovas.ioas_id, __u32);
ABI_OFFSET(struct iommu_ioas_allow_iovas, num_iovas, 8);
ABI_MEMBER(iommu_ioas_allow_iovas.num_iovas, __u32);
ABI_OFFSET(struct iommu_ioas_allow_iovas, __reserved, 12);
ABI_MEMBER(iommu_ioas_allow_iovas.__reserved, __u32);
ABI_OFFSET(struct iommu_ioas_allow_iovas, allowed_iovas, 16);
ABI_MEMBER(iommu_ioas_allow_iovas.allowed_iovas, __u64);

ABI_STRUCT(iommu_ioas_map);
ABI_SIZE(struct iommu_ioas_map, 40, 8);
ABI_OFFSET(struct iommu_ioas_map, size, 0);
ABI_MEMBER(iommu_ioas_map.size, __u32);
ABI_OFFSET(struct iommu_ioas_map, flags, 4);
ABI_MEMBER(iommu_ioas_map.flags, __u32);
ABI_OFFSET(struct iommu_ioas_map, ioas_id, 8);
ABI_MEMBER(iommu_ioas_map.ioas_id, __u32);
ABI_OFFSET(struct iommu_ioas_map, __reserved, 12);
ABI_MEMBER(iommu_ioas_map.__reserved, __u32);
ABI_OFFSET(struct iommu_ioas_map, user_va, 16);
ABI_MEMBER(iommu_ioas_map.user_va, __u64);
ABI_OFFSET(struct iommu_ioas_map, length, 24);
ABI_MEMBER(iommu_ioas_map.length, __u64);
ABI_OFFSET(struct iommu_ioas_map, iova, 32);
ABI_MEMBER(iommu_ioas_map.iova, __u64);

ABI_STRUCT(iommu_ioas_copy);
ABI_SIZE(struct iommu_ioas_copy, 40, 8);
ABI_OFFSET(struct iommu_ioas_copy, size, 0);
ABI_MEMBER(iommu_ioas_copy.size, __u32);
ABI_OFFSET(struct iommu_ioas_copy, flags, 4);
ABI_MEMBER(iommu_ioas_copy.flags, __u32);
ABI_OFFSET(struct iommu_ioas_copy, dst_ioas_id, 8);
ABI_MEMBER(iommu_ioas_copy.dst_ioas_id, __u32);
ABI_OFFSET(struct iommu_ioas_copy, src_ioas_id, 12);
ABI_MEMBER(iommu_ioas_copy.src_ioas_id, __u32);
ABI_OFFSET(struct iommu_ioas_copy, length, 16);
ABI_MEMBER(iommu_ioas_copy.length, __u64);
ABI_OFFSET(struct iommu_ioas_copy, dst_iova, 24);
ABI_MEMBER(iommu_ioas_copy.dst_iova, __u64);
ABI_OFFSET(struct iommu_ioas_copy, src_iova, 32);
ABI_MEMBER(iommu_ioas_copy.src_iova, __u64);

ABI_STRUCT(iommu_ioas_unmap);
ABI_SIZE(struct iommu_ioas_unmap, 24, 8);
ABI_OFFSET(struct iommu_ioas_unmap, size, 0);
ABI_MEMBER(iommu_ioas_unmap.size, __u32);
ABI_OFFSET(struct iommu_ioas_unmap, ioas_id, 4);
ABI_MEMBER(iommu_ioas_unmap.ioas_id, __u32);
ABI_OFFSET(struct iommu_ioas_unmap, iova, 8);
ABI_MEMBER(iommu_ioas_unmap.iova, __u64);
ABI_OFFSET(struct iommu_ioas_unmap, length, 16);
ABI_MEMBER(iommu_ioas_unmap.length, __u64);

ABI_STRUCT(iommu_option);
ABI_SIZE(struct iommu_option, 24, 8);
ABI_OFFSET(struct iommu_option, size, 0);
ABI_MEMBER(iommu_option.size, __u32);
ABI_OFFSET(struct iommu_option, option_id, 4);
ABI_MEMBER(iommu_option.option_id, __u32);
ABI_OFFSET(struct iommu_option, op, 8);
ABI_MEMBER(iommu_option.op, __u16);
ABI_OFFSET(struct iommu_option, __reserved, 10);
ABI_MEMBER(iommu_option.__reserved, __u16);
ABI_OFFSET(struct iommu_option, object_id, 12);
ABI_MEMBER(iommu_option.object_id, __u32);
ABI_OFFSET(struct iommu_option, val64, 16);
ABI_MEMBER(iommu_option.val64, __u64);

ABI_STRUCT(iommu_vfio_ioas);
ABI_SIZE(struct iommu_vfio_ioas, 12, 4);
ABI_OFFSET(struct iommu_vfio_ioas, size, 0);
ABI_MEMBER(iommu_vfio_ioas.size, __u32);
ABI_OFFSET(struct iommu_vfio_ioas, ioas_id, 4);
ABI_MEMBER(iommu_vfio_ioas.ioas_id, __u32);
ABI_OFFSET(struct iommu_vfio_ioas, op, 8);
ABI_MEMBER(iommu_vfio_ioas.op, __u16);
ABI_OFFSET(struct iommu_vfio_ioas, __reserved, 10);
ABI_MEMBER(iommu_vfio_ioas.__reserved, __u16);

ABI_STRUCT(iommu_hwpt_vtd_s1);
ABI_SIZE(struct iommu_hwpt_vtd_s1, 24, 8);
ABI_OFFSET(struct iommu_hwpt_vtd_s1, flags, 0);
ABI_MEMBER(iommu_hwpt_vtd_s1.flags, __u64);
ABI_OFFSET(struct iommu_hwpt_vtd_s1, pgtbl_addr, 8);
ABI_MEMBER(iommu_hwpt_vtd_s1.pgtbl_addr, __u64);
ABI_OFFSET(struct iommu_hwpt_vtd_s1, addr_width, 16);
ABI_MEMBER(iommu_hwpt_vtd_s1.addr_width, __u32);
ABI_OFFSET(struct iommu_hwpt_vtd_s1, __reserved, 20);
ABI_MEMBER(iommu_hwpt_vtd_s1.__reserved, __u32);

ABI_STRUCT(iommu_hwpt_alloc);
ABI_SIZE(struct iommu_hwpt_alloc, 48, 8);
ABI_OFFSET(struct iommu_hwpt_alloc, size, 0);
ABI_MEMBER(iommu_hwpt_alloc.size, __u32);
ABI_OFFSET(struct iommu_hwpt_alloc, flags, 4);
ABI_MEMBER(iommu_hwpt_alloc.flags, __u32);
ABI_OFFSET(struct iommu_hwpt_alloc, dev_id, 8);
ABI_MEMBER(iommu_hwpt_alloc.dev_id, __u32);
ABI_OFFSET(struct iommu_hwpt_alloc, pt_id, 12);
ABI_MEMBER(iommu_hwpt_alloc.pt_id, __u32);
ABI_OFFSET(struct iommu_hwpt_alloc, out_hwpt_id, 16);
ABI_MEMBER(iommu_hwpt_alloc.out_hwpt_id, __u32);
ABI_OFFSET(struct iommu_hwpt_alloc, __reserved, 20);
ABI_MEMBER(iommu_hwpt_alloc.__reserved, __u32);
ABI_OFFSET(struct iommu_hwpt_alloc, data_type, 24);
ABI_MEMBER(iommu_hwpt_alloc.data_type, __u32);
ABI_OFFSET(struct iommu_hwpt_alloc, data_len, 28);
ABI_MEMBER(iommu_hwpt_alloc.data_len, __u32);
ABI_OFFSET(struct iommu_hwpt_alloc, data_uptr, 32);
ABI_MEMBER(iommu_hwpt_alloc.data_uptr, __u64);
ABI_OFFSET(struct iommu_hwpt_alloc, fault_id, 40);
ABI_MEMBER(iommu_hwpt_alloc.fault_id, __u32);
ABI_OFFSET(struct iommu_hwpt_alloc, __reserved2, 44);
ABI_MEMBER(iommu_hwpt_alloc.__reserved2, __u32);

ABI_STRUCT(iommu_hw_info_vtd);
ABI_SIZE(struct iommu_hw_info_vtd, 24, 8);
ABI_OFFSET(struct iommu_hw_info_vtd, flags, 0);
ABI_MEMBER(iommu_hw_info_vtd.flags, __u32);
ABI_OFFSET(struct iommu_hw_info_vtd, __reserved, 4);
ABI_MEMBER(iommu_hw_info_vtd.__reserved, __u32);
ABI_OFFSET(struct iommu_hw_info_vtd, cap_reg, 8);
ABI_MEMBER(iommu_hw_info_vtd.cap_reg, __u64);
ABI_OFFSET(struct iommu_hw_info_vtd, ecap_reg, 16);
ABI_MEMBER(iommu_hw_info_vtd.ecap_reg, __u64);

ABI_STRUCT(iommu_hw_info);
ABI_SIZE(struct iommu_hw_info, 40, 8);
ABI_OFFSET(struct iommu_hw_info, size, 0);
ABI_MEMBER(iommu_hw_info.size, __u32);
ABI_OFFSET(struct iommu_hw_info, flags, 4);
ABI_MEMBER(iommu_hw_info.flags, __u32);
ABI_OFFSET(struct iommu_hw_info, dev_id, 8);
ABI_MEMBER(iommu_hw_info.dev_id, __u32);
ABI_OFFSET(struct iommu_hw_info, data_len, 12);
ABI_MEMBER(iommu_hw_info.data_len, __u32);
ABI_OFFSET(struct iommu_hw_info, data_uptr, 16);
ABI_MEMBER(iommu_hw_info.data_uptr, __u64);
ABI_OFFSET(struct iommu_hw_info, out_data_type, 24);
ABI_MEMBER(iommu_hw_info.out_data_type, __u32);
ABI_OFFSET(struct iommu_hw_info, __reserved, 28);
ABI_MEMBER(iommu_hw_info.__reserved, __u32);
ABI_OFFSET(struct iommu_hw_info, out_capabilities, 32);
ABI_MEMBER(iommu_hw_info.out_capabilities, __u64);

ABI_STRUCT(iommu_hwpt_set_dirty_tracking);
ABI_SIZE(struct iommu_hwpt_set_dirty_tracking, 16, 4);
ABI_OFFSET(struct iommu_hwpt_set_dirty_tracking, size, 0);
ABI_MEMBER(iommu_hwpt_set_dirty_tracking.size, __u32);
ABI_OFFSET(struct iommu_hwpt_set_dirty_tracking, flags, 4);
ABI_MEMBER(iommu_hwpt_set_dirty_tracking.flags, __u32);
ABI_OFFSET(struct iommu_hwpt_set_dirty_tracking, hwpt_id, 8);
ABI_MEMBER(iommu_hwpt_set_dirty_tracking.hwpt_id, __u32);
ABI_OFFSET(struct iommu_hwpt_set_dirty_tracking, __reserved, 12);
ABI_MEMBER(iommu_hwpt_set_dirty_tracking.__reserved, __u32);

ABI_STRUCT(iommu_hwpt_get_dirty_bitmap);
ABI_SIZE(struct iommu_hwpt_get_dirty_bitmap, 48, 8);
ABI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, size, 0);
ABI_MEMBER(iommu_hwpt_get_dirty_bitmap.size, __u32);
ABI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, hwpt_id, 4);
ABI_MEMBER(iommu_hwpt_get_dirty_bitmap.hwpt_id, __u32);
ABI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, flags, 8);
ABI_MEMBER(iommu_hwpt_get_dirty_bitmap.flags, __u32);
ABI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, __reserved, 12);
ABI_MEMBER(iommu_hwpt_get_dirty_bitmap.__reserved, __u32);
ABI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, iova, 16);
ABI_MEMBER(iommu_hwpt_get_dirty_bitmap.iova, __u64);
ABI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, length, 24);
ABI_MEMBER(iommu_hwpt_get_dirty_bitmap.length, __u64);
ABI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, page_size, 32);
ABI_MEMBER(iommu_hwpt_get_dirty_bitmap.page_size, __u64);
ABI_OFFSET(struct iommu_hwpt_get_dirty_bitmap, data, 40);
ABI_MEMBER(iommu_hwpt_get_dirty_bitmap.data, __u64);

ABI_STRUCT(iommu_hwpt_vtd_s1_invalidate);
ABI_SIZE(struct iommu_hwpt_vtd_s1_invalidate, 24, 8);
ABI_OFFSET(struct iommu_hwpt_vtd_s1_invalidate, addr, 0);
ABI_MEMBER(iommu_hwpt_vtd_s1_invalidate.addr, __u64);
ABI_OFFSET(struct iommu_hwpt_vtd_s1_invalidate, npages, 8);
ABI_MEMBER(iommu_hwpt_vtd_s1_invalidate.npages, __u64);
ABI_OFFSET(struct iommu_hwpt_vtd_s1_invalidate, flags, 16);
ABI_MEMBER(iommu_hwpt_vtd_s1_invalidate.flags, __u32);
ABI_OFFSET(struct iommu_hwpt_vtd_s1_invalidate, __reserved, 20);
ABI_MEMBER(iommu_hwpt_vtd_s1_invalidate.__reserved, __u32);

ABI_STRUCT(iommu_hwpt_invalidate);
ABI_SIZE(struct iommu_hwpt_invalidate, 32, 8);
ABI_OFFSET(struct iommu_hwpt_invalidate, size, 0);
ABI_MEMBER(iommu_hwpt_invalidate.size, __u32);
ABI_OFFSET(struct iommu_hwpt_invalidate, hwpt_id, 4);
ABI_MEMBER(iommu_hwpt_invalidate.hwpt_id, __u32);
ABI_OFFSET(struct iommu_hwpt_invalidate, data_uptr, 8);
ABI_MEMBER(iommu_hwpt_invalidate.data_uptr, __u64);
ABI_OFFSET(struct iommu_hwpt_invalidate, data_type, 16);
ABI_MEMBER(iommu_hwpt_invalidate.data_type, __u32);
ABI_OFFSET(struct iommu_hwpt_invalidate, entry_len, 20);
ABI_MEMBER(iommu_hwpt_invalidate.entry_len, __u32);
ABI_OFFSET(struct iommu_hwpt_invalidate, entry_num, 24);
ABI_MEMBER(iommu_hwpt_invalidate.entry_num, __u32);
ABI_OFFSET(struct iommu_hwpt_invalidate, __reserved, 28);
ABI_MEMBER(iommu_hwpt_invalidate.__reserved, __u32);

ABI_STRUCT(iommu_hwpt_pgfault);
ABI_SIZE(struct iommu_hwpt_pgfault, 40, 8);
ABI_OFFSET(struct iommu_hwpt_pgfault, flags, 0);
ABI_MEMBER(iommu_hwpt_pgfault.flags, __u32);
ABI_OFFSET(struct iommu_hwpt_pgfault, dev_id, 4);
ABI_MEMBER(iommu_hwpt_pgfault.dev_id, __u32);
ABI_OFFSET(struct iommu_hwpt_pgfault, pasid, 8);
ABI_MEMBER(iommu_hwpt_pgfault.pasid, __u32);
ABI_OFFSET(struct iommu_hwpt_pgfault, grpid, 12);
ABI_MEMBER(iommu_hwpt_pgfault.grpid, __u32);
ABI_OFFSET(struct iommu_hwpt_pgfault, perm, 16);
ABI_MEMBER(iommu_hwpt_pgfault.perm, __u32);
ABI_OFFSET(struct iommu_hwpt_pgfault, __reserved, 20);
ABI_MEMBER(iommu_hwpt_pgfault.__reserved, __u32);
ABI_OFFSET(struct iommu_hwpt_pgfault, addr, 24);
ABI_MEMBER(iommu_hwpt_pgfault.addr, __u64);
ABI_OFFSET(struct iommu_hwpt_pgfault, length, 32);
ABI_MEMBER(iommu_hwpt_pgfault.length, __u32);
ABI_OFFSET(struct iommu_hwpt_pgfault, cookie, 36);
ABI_MEMBER(iommu_hwpt_pgfault.cookie, __u32);

ABI_STRUCT(iommu_hwpt_page_response);
ABI_SIZE(struct iommu_hwpt_page_response, 8, 4);
ABI_OFFSET(struct iommu_hwpt_page_response, cookie, 0);
ABI_MEMBER(iommu_hwpt_page_response.cookie, __u32);
ABI_OFFSET(struct iommu_hwpt_page_response, code, 4);
ABI_MEMBER(iommu_hwpt_page_response.code, __u32);

ABI_STRUCT(iommu_fault_alloc);
ABI_SIZE(struct iommu_fault_alloc, 16, 4);
ABI_OFFSET(struct iommu_fault_alloc, size, 0);
ABI_MEMBER(iommu_fault_alloc.size, __u32);
ABI_OFFSET(struct iommu_fault_alloc, flags, 4);
ABI_MEMBER(iommu_fault_alloc.flags, __u32);
ABI_OFFSET(struct iommu_fault_alloc, out_fault_id, 8);
ABI_MEMBER(iommu_fault_alloc.out_fault_id, __u32);
ABI_OFFSET(struct iommu_fault_alloc, out_fault_fd, 12);
ABI_MEMBER(iommu_fault_alloc.out_fault_fd, __u32);

/* Command numbers */
ABI_VALUE(IOMMUFD_CMD_BASE, 0x80);
ABI_VALUE(IOMMUFD_CMD_DESTROY, 0x80);
ABI_VALUE(IOMMUFD_CMD_IOAS_ALLOC, 0x81);
ABI_VALUE(IOMMUFD_CMD_IOAS_ALLOW_IOVAS, 0x82);
ABI_VALUE(IOMMUFD_CMD_IOAS_COPY, 0x83);
ABI_VALUE(IOMMUFD_CMD_IOAS_IOVA_RANGES, 0x84);
ABI_VALUE(IOMMUFD_CMD_IOAS_MAP, 0x85);
ABI_VALUE(IOMMUFD_CMD_IOAS_UNMAP, 0x86);
ABI_VALUE(IOMMUFD_CMD_OPTION, 0x87);
ABI_VALUE(IOMMUFD_CMD_VFIO_IOAS, 0x88);
ABI_VALUE(IOMMUFD_CMD_HWPT_ALLOC, 0x89);
ABI_VALUE(IOMMUFD_CMD_GET_HW_INFO, 0x8a);
ABI_VALUE(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING, 0x8b);
ABI_VALUE(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP, 0x8c);
ABI_VALUE(IOMMUFD_CMD_HWPT_INVALIDATE, 0x8d);
ABI_VALUE(IOMMUFD_CMD_FAULT_QUEUE_ALLOC, 0x8e);

/* Enumerations and flags */
ABI_VALUE(IOMMU_IOAS_MAP_FIXED_IOVA, 0x1);
ABI_VALUE(IOMMU_IOAS_MAP_WRITEABLE, 0x2);
ABI_VALUE(IOMMU_IOAS_MAP_READABLE, 0x4);
ABI_VALUE(IOMMU_OPTION_RLIMIT_MODE, 0x0);
ABI_VALUE(IOMMU_OPTION_HUGE_PAGES, 0x1);
ABI_VALUE(IOMMU_OPTION_OP_SET, 0x0);
ABI_VALUE(IOMMU_OPTION_OP_GET, 0x1);
ABI_VALUE(IOMMU_VFIO_IOAS_GET, 0x0);
ABI_VALUE(IOMMU_VFIO_IOAS_SET, 0x1);
ABI_VALUE(IOMMU_VFIO_IOAS_CLEAR, 0x2);
ABI_VALUE(IOMMU_HWPT_ALLOC_NEST_PARENT, 0x1);
ABI_VALUE(IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 0x2);
ABI_VALUE(IOMMU_HWPT_FAULT_ID_VALID, 0x4);
ABI_VALUE(IOMMU_VTD_S1_SRE, 0x1);
ABI_VALUE(IOMMU_VTD_S1_EAFE, 0x2);
ABI_VALUE(IOMMU_VTD_S1_WPE, 0x4);
ABI_VALUE(IOMMU_HWPT_DATA_NONE, 0x0);
ABI_VALUE(IOMMU_HWPT_DATA_VTD_S1, 0x1);
ABI_VALUE(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, 0x1);
ABI_VALUE(IOMMU_HW_INFO_TYPE_NONE, 0x0);
ABI_VALUE(IOMMU_HW_INFO_TYPE_INTEL_VTD, 0x1);
ABI_VALUE(IOMMU_HW_CAP_DIRTY_TRACKING, 0x1);
ABI_VALUE(IOMMU_HWPT_DIRTY_TRACKING_ENABLE, 0x1);
ABI_VALUE(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, 0x1);
ABI_VALUE(IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, 0x0);
ABI_VALUE(IOMMU_VTD_INV_FLAGS_LEAF, 0x1);
ABI_VALUE(IOMMU_PGFAULT_FLAGS_PASID_VALID, 0x1);
ABI_VALUE(IOMMU_PGFAULT_FLAGS_LAST_PAGE, 0x2);
ABI_VALUE(IOMMU_PGFAULT_PERM_READ, 0x1);
ABI_VALUE(IOMMU_PGFAULT_PERM_WRITE, 0x2);
ABI_VALUE(IOMMU_PGFAULT_PERM_EXEC, 0x4);
ABI_VALUE(IOMMU_PGFAULT_PERM_PRIV, 0x8);
ABI_VALUE(IOMMUFD_PAGE_RESP_SUCCESS, 0x0);
ABI_VALUE(IOMMUFD_PAGE_RESP_INVALID, 0x1);

/* ioctl request codes: _IO(IOMMUFD_TYPE, IOMMUFD_CMD_*) */
ABI_VALUE(IOMMU_DESTROY, 0x3b80);
ABI_VALUE(IOMMU_IOAS_ALLOC, 0x3b81);
ABI_VALUE(IOMMU_IOAS_IOVA_RANGES, 0x3b84);
ABI_VALUE(IOMMU_IOAS_ALLOW_IOVAS, 0x3b82);
ABI_VALUE(IOMMU_IOAS_MAP, 0x3b85);
ABI_VALUE(IOMMU_IOAS_COPY, 0x3b83);
ABI_VALUE(IOMMU_IOAS_UNMAP, 0x3b86);
ABI_VALUE(IOMMU_OPTION, 0x3b87);
ABI_VALUE(IOMMU_VFIO_IOAS, 0x3b88);
ABI_VALUE(IOMMU_HWPT_ALLOC, 0x3b89);
ABI_VALUE(IOMMU_GET_HW_INFO, 0x3b8a);
ABI_VALUE(IOMMU_HWPT_SET_DIRTY_TRACKING, 0x3b8b);
ABI_VALUE(IOMMU_HWPT_GET_DIRTY_BITMAP, 0x3b8c);
ABI_VALUE(IOMMU_HWPT_INVALIDATE, 0x3b8d);
ABI_VALUE(IOMMU_FAULT_QUEUE_ALLOC, 0x3b8e);

/*
 * iommufd_test.h: IOMMU_TEST_CMD and the mock driver data
 */

ABI_STRUCT(iommu_test_cmd);
ABI_SIZE(struct iommu_test_cmd, 72, 8);
ABI_OFFSET(struct iommu_test_cmd, size, 0);
ABI_MEMBER(iommu_test_cmd.size, __u32);
ABI_OFFSET(struct iommu_test_cmd, op, 4);
ABI_MEMBER(iommu_test_cmd.op, __u32);
ABI_OFFSET(struct iommu_test_cmd, id, 8);
ABI_MEMBER(iommu_test_cmd.id, __u32);
ABI_OFFSET(struct iommu_test_cmd, __reserved, 12);
ABI_MEMBER(iommu_test_cmd.__reserved, __u32);
ABI_OFFSET(struct iommu_test_cmd, add_reserved, 16);
ABI_MSIZE(iommu_test_cmd.add_reserved, 16);
ABI_OFFSET(struct iommu_test_cmd, add_reserved.start, 16);
ABI_MEMBER(iommu_test_cmd.add_reserved.start, __u64);
ABI_OFFSET(struct iommu_test_cmd, add_reserved.length, 24);
ABI_MEMBER(iommu_test_cmd.add_reserved.length, __u64);
ABI_OFFSET(struct iommu_test_cmd, mock_domain, 16);
ABI_MSIZE(iommu_test_cmd.mock_domain, 12);
ABI_OFFSET(struct iommu_test_cmd, mock_domain.out_stdev_id, 16);
ABI_MEMBER(iommu_test_cmd.mock_domain.out_stdev_id, __u32);
ABI_OFFSET(struct iommu_test_cmd, mock_domain.out_hwpt_id, 20);
ABI_MEMBER(iommu_test_cmd.mock_domain.out_hwpt_id, __u32);
ABI_OFFSET(struct iommu_test_cmd, mock_domain.out_idev_id, 24);
ABI_MEMBER(iommu_test_cmd.mock_domain.out_idev_id, __u32);
ABI_OFFSET(struct iommu_test_cmd, mock_domain_flags, 16);
ABI_MSIZE(iommu_test_cmd.mock_domain_flags, 16);
ABI_OFFSET(struct iommu_test_cmd, mock_domain_flags.out_stdev_id, 16);
ABI_MEMBER(iommu_test_cmd.mock_domain_flags.out_stdev_id, __u32);
ABI_OFFSET(struct iommu_test_cmd, mock_domain_flags.out_hwpt_id, 20);
ABI_MEMBER(iommu_test_cmd.mock_domain_flags.out_hwpt_id, __u32);
ABI_OFFSET(struct iommu_test_cmd, mock_domain_flags.out_idev_id, 24);
ABI_MEMBER(iommu_test_cmd.mock_domain_flags.out_idev_id, __u32);
ABI_OFFSET(struct iommu_test_cmd, mock_domain_flags.dev_flags, 28);
ABI_MEMBER(iommu_test_cmd.mock_domain_flags.dev_flags, __u32);
ABI_OFFSET(struct iommu_test_cmd, mock_domain_replace, 16);
ABI_MSIZE(iommu_test_cmd.mock_domain_replace, 4);
ABI_OFFSET(struct iommu_test_cmd, mock_domain_replace.pt_id, 16);
ABI_MEMBER(iommu_test_cmd.mock_domain_replace.pt_id, __u32);
ABI_OFFSET(struct iommu_test_cmd, check_map, 16);
ABI_MSIZE(iommu_test_cmd.check_map, 24);
ABI_OFFSET(struct iommu_test_cmd, check_map.iova, 16);
ABI_MEMBER(iommu_test_cmd.check_map.iova, __u64);
ABI_OFFSET(struct iommu_test_cmd, check_map.length, 24);
ABI_MEMBER(iommu_test_cmd.check_map.length, __u64);
ABI_OFFSET(struct iommu_test_cmd, check_map.uptr, 32);
ABI_MEMBER(iommu_test_cmd.check_map.uptr, __u64);
ABI_OFFSET(struct iommu_test_cmd, check_refs, 16);
ABI_MSIZE(iommu_test_cmd.check_refs, 24);
ABI_OFFSET(struct iommu_test_cmd, check_refs.length, 16);
ABI_MEMBER(iommu_test_cmd.check_refs.length, __u64);
ABI_OFFSET(struct iommu_test_cmd, check_refs.uptr, 24);
ABI_MEMBER(iommu_test_cmd.check_refs.uptr, __u64);
ABI_OFFSET(struct iommu_test_cmd, check_refs.refs, 32);
ABI_MEMBER(iommu_test_cmd.check_refs.refs, __u32);
ABI_OFFSET(struct iommu_test_cmd, create_access, 16);
ABI_MSIZE(iommu_test_cmd.create_access, 8);
ABI_OFFSET(struct iommu_test_cmd, create_access.out_access_fd, 16);
ABI_MEMBER(iommu_test_cmd.create_access.out_access_fd, __u32);
ABI_OFFSET(struct iommu_test_cmd, create_access.flags, 20);
ABI_MEMBER(iommu_test_cmd.create_access.flags, __u32);
ABI_OFFSET(struct iommu_test_cmd, destroy_access_pages, 16);
ABI_MSIZE(iommu_test_cmd.destroy_access_pages, 4);
ABI_OFFSET(struct iommu_test_cmd, destroy_access_pages.access_pages_id, 16);
ABI_MEMBER(iommu_test_cmd.destroy_access_pages.access_pages_id, __u32);
ABI_OFFSET(struct iommu_test_cmd, access_pages, 16);
ABI_MSIZE(iommu_test_cmd.access_pages, 32);
ABI_OFFSET(struct iommu_test_cmd, access_pages.flags, 16);
ABI_MEMBER(iommu_test_cmd.access_pages.flags, __u32);
ABI_OFFSET(struct iommu_test_cmd, access_pages.out_access_pages_id, 20);
ABI_MEMBER(iommu_test_cmd.access_pages.out_access_pages_id, __u32);
ABI_OFFSET(struct iommu_test_cmd, access_pages.iova, 24);
ABI_MEMBER(iommu_test_cmd.access_pages.iova, __u64);
ABI_OFFSET(struct iommu_test_cmd, access_pages.length, 32);
ABI_MEMBER(iommu_test_cmd.access_pages.length, __u64);
ABI_OFFSET(struct iommu_test_cmd, access_pages.uptr, 40);
ABI_MEMBER(iommu_test_cmd.access_pages.uptr, __u64);
ABI_OFFSET(struct iommu_test_cmd, access_rw, 16);
ABI_MSIZE(iommu_test_cmd.access_rw, 32);
ABI_OFFSET(struct iommu_test_cmd, access_rw.iova, 16);
ABI_MEMBER(iommu_test_cmd.access_rw.iova, __u64);
ABI_OFFSET(struct iommu_test_cmd, access_rw.length, 24);
ABI_MEMBER(iommu_test_cmd.access_rw.length, __u64);
ABI_OFFSET(struct iommu_test_cmd, access_rw.uptr, 32);
ABI_MEMBER(iommu_test_cmd.access_rw.uptr, __u64);
ABI_OFFSET(struct iommu_test_cmd, access_rw.flags, 40);
ABI_MEMBER(iommu_test_cmd.access_rw.flags, __u32);
ABI_OFFSET(struct iommu_test_cmd, memory_limit, 16);
ABI_MSIZE(iommu_test_cmd.memory_limit, 4);
ABI_OFFSET(struct iommu_test_cmd, memory_limit.limit, 16);
ABI_MEMBER(iommu_test_cmd.memory_limit.limit, __u32);
ABI_OFFSET(struct iommu_test_cmd, access_replace_ioas, 16);
ABI_MSIZE(iommu_test_cmd.access_replace_ioas, 4);
ABI_OFFSET(struct iommu_test_cmd, access_replace_ioas.ioas_id, 16);
ABI_MEMBER(iommu_test_cmd.access_replace_ioas.ioas_id, __u32);
ABI_OFFSET(struct iommu_test_cmd, dirty, 16);
ABI_MSIZE(iommu_test_cmd.dirty, 48);
ABI_OFFSET(struct iommu_test_cmd, dirty.flags, 16);
ABI_MEMBER(iommu_test_cmd.dirty.flags, __u32);
ABI_OFFSET(struct iommu_test_cmd, dirty.iova, 24);
ABI_MEMBER(iommu_test_cmd.dirty.iova, __u64);
ABI_OFFSET(struct iommu_test_cmd, dirty.length, 32);
ABI_MEMBER(iommu_test_cmd.dirty.length, __u64);
ABI_OFFSET(struct iommu_test_cmd, dirty.page_size, 40);
ABI_MEMBER(iommu_test_cmd.dirty.page_size, __u64);
ABI_OFFSET(struct iommu_test_cmd, dirty.uptr, 48);
ABI_MEMBER(iommu_test_cmd.dirty.uptr, __u64);
ABI_OFFSET(struct iommu_test_cmd, dirty.out_nr_dirty, 56);
ABI_MEMBER(iommu_test_cmd.dirty.out_nr_dirty, __u64);
ABI_OFFSET(struct iommu_test_cmd, check_iotlb, 16);
ABI_MSIZE(iommu_test_cmd.check_iotlb, 8);
ABI_OFFSET(struct iommu_test_cmd, check_iotlb.id, 16);
ABI_MEMBER(iommu_test_cmd.check_iotlb.id, __u32);
ABI_OFFSET(struct iommu_test_cmd, check_iotlb.iotlb, 20);
ABI_MEMBER(iommu_test_cmd.check_iotlb.iotlb, __u32);
ABI_OFFSET(struct iommu_test_cmd, trigger_iopf, 16);
ABI_MSIZE(iommu_test_cmd.trigger_iopf, 24);
ABI_OFFSET(struct iommu_test_cmd, trigger_iopf.dev_id, 16);
ABI_MEMBER(iommu_test_cmd.trigger_iopf.dev_id, __u32);
ABI_OFFSET(struct iommu_test_cmd, trigger_iopf.pasid, 20);
ABI_MEMBER(iommu_test_cmd.trigger_iopf.pasid, __u32);
ABI_OFFSET(struct iommu_test_cmd, trigger_iopf.grpid, 24);
ABI_MEMBER(iommu_test_cmd.trigger_iopf.grpid, __u32);
ABI_OFFSET(struct iommu_test_cmd, trigger_iopf.perm, 28);
ABI_MEMBER(iommu_test_cmd.trigger_iopf.perm, __u32);
ABI_OFFSET(struct iommu_test_cmd, trigger_iopf.addr, 32);
ABI_MEMBER(iommu_test_cmd.trigger_iopf.addr, __u64);
ABI_OFFSET(struct iommu_test_cmd, last, 64);
ABI_MEMBER(iommu_test_cmd.last, __u32);

ABI_STRUCT(iommu_test_hw_info);
ABI_SIZE(struct iommu_test_hw_info, 8, 4);
ABI_OFFSET(struct iommu_test_hw_info, flags, 0);
ABI_MEMBER(iommu_test_hw_info.flags, __u32);
ABI_OFFSET(struct iommu_test_hw_info, test_reg, 4);
ABI_MEMBER(iommu_test_hw_info.test_reg, __u32);

ABI_STRUCT(iommu_hwpt_selftest);
ABI_SIZE(struct iommu_hwpt_selftest, 4, 4);
ABI_OFFSET(struct iommu_hwpt_selftest, iotlb, 0);
ABI_MEMBER(iommu_hwpt_selftest.iotlb, __u32);

ABI_STRUCT(iommu_hwpt_invalidate_selftest);
ABI_SIZE(struct iommu_hwpt_invalidate_selftest, 8, 4);
ABI_OFFSET(struct iommu_hwpt_invalidate_selftest, flags, 0);
ABI_MEMBER(iommu_hwpt_invalidate_selftest.flags, __u32);
ABI_OFFSET(struct iommu_hwpt_invalidate_selftest, iotlb_id, 4);
ABI_MEMBER(iommu_hwpt_invalidate_selftest.iotlb_id, __u32);

/* Test operations, mock driver constants, IOMMU_TEST_CMD */
ABI_VALUE(IOMMU_TEST_OP_ADD_RESERVED, 0x1);
ABI_VALUE(IOMMU_TEST_OP_MOCK_DOMAIN, 0x2);
ABI_VALUE(IOMMU_TEST_OP_MD_CHECK_MAP, 0x3);
ABI_VALUE(IOMMU_TEST_OP_MD_CHECK_REFS, 0x4);
ABI_VALUE(IOMMU_TEST_OP_CREATE_ACCESS, 0x5);
ABI_VALUE(IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, 0x6);
ABI_VALUE(IOMMU_TEST_OP_ACCESS_PAGES, 0x7);
ABI_VALUE(IOMMU_TEST_OP_ACCESS_RW, 0x8);
ABI_VALUE(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT, 0x9);
ABI_VALUE(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, 0xa);
ABI_VALUE(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS, 0xb);
ABI_VALUE(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, 0xc);
ABI_VALUE(IOMMU_TEST_OP_DIRTY, 0xd);
ABI_VALUE(IOMMU_TEST_OP_MD_CHECK_IOTLB, 0xe);
ABI_VALUE(IOMMU_TEST_OP_TRIGGER_IOPF, 0xf);
ABI_VALUE(MOCK_APERTURE_START, 0x1000000);
ABI_VALUE(MOCK_APERTURE_LAST, 0x7fffffff);
ABI_VALUE(MOCK_FLAGS_ACCESS_WRITE, 0x1);
ABI_VALUE(MOCK_FLAGS_ACCESS_SYZ, 0x10000);
ABI_VALUE(MOCK_ACCESS_RW_WRITE, 0x1);
ABI_VALUE(MOCK_ACCESS_RW_SLOW_PATH, 0x4);
ABI_VALUE(MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, 0x1);
ABI_VALUE(MOCK_FLAGS_DEVICE_NO_DIRTY, 0x1);
ABI_VALUE(MOCK_FLAGS_DEVICE_HUGE_IOVA, 0x2);
ABI_VALUE(MOCK_NESTED_DOMAIN_IOTLB_ID_MAX, 0x3);
ABI_VALUE(MOCK_NESTED_DOMAIN_IOTLB_NUM, 0x4);
ABI_VALUE(IOMMU_TEST_CMD, 0x3ba0);
ABI_VALUE(IOMMU_HW_INFO_TYPE_SELFTEST, 0xfeedbeef);
ABI_VALUE(IOMMU_HW_INFO_SELFTEST_REGVAL, 0xdeadbeef);
ABI_VALUE(IOMMU_HWPT_DATA_SELFTEST, 0xdead);
ABI_VALUE(IOMMU_TEST_IOTLB_DEFAULT, 0xbadbeef);
ABI_VALUE(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 0xdeadbeef);
ABI_VALUE(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID, 0xdadbeef);
ABI_VALUE(IOMMU_TEST_INVALIDATE_FLAG_ALL, 0x1);
