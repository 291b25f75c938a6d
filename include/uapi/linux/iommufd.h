/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Userspace interface of /dev/iommu (iommufd): IO address spaces, hardware
 * page tables, dirty tracking and I/O page fault delivery for VMMs and other
 * users of directly assigned devices.
 *
 * Copyright (c) 2026 The iommufd authors
 */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOMMUFD_TYPE (';')

/**
 * DOC: General ioctl format
 *
 * All iommufd commands are ioctls on a file descriptor of /dev/iommu. The
 * ioctl argument always points at a command structure whose first member is
 * a __u32 @size. Userspace stores there sizeof() of the structure as its own
 * copy of this header defines it. This lets the structures grow at the end
 * without breaking either old binaries or old kernels:
 *
 *  - A @size smaller than the first published version of the structure is
 *    rejected with EINVAL.
 *  - A @size larger than what the running kernel knows is accepted only when
 *    every byte beyond the kernel's idea of the structure is zero; otherwise
 *    the call fails with E2BIG. New userspace can thus run on an old kernel
 *    as long as it leaves the new fields alone.
 *  - Fields named __reserved (or similar) and unused flag bits must be zero.
 *
 * Output fields, whose names usually begin with out_, are only meaningful
 * when the ioctl returned 0 unless a command says otherwise.
 *
 * The errno values below have the same meaning for every command:
 *
 *  - ENOTTY: this kernel does not implement the ioctl number at all.
 *  - E2BIG: the structure is longer than the kernel understands and the tail
 *    is not zero.
 *  - EOPNOTSUPP: the structure was parsed, but a flag, a type or another
 *    field carries a value this kernel (or the IOMMU driver) does not offer.
 *  - EINVAL: the request is understood but internally inconsistent, for
 *    example misaligned or out of range.
 *  - ENOENT: an object ID or an IOVA named by the request does not exist.
 *  - ENOMEM: an allocation failed or a memory limit was hit.
 *  - EOVERFLOW: an address or length computation would wrap around.
 *
 * Individual commands document any further errno values they use.
 */

/**
 * DOC: Command numbers
 *
 * Each command has a fixed number in the iommufd ioctl space, counted up
 * from IOMMUFD_CMD_BASE (0x80). The ioctl request codes are built with
 * _IO() from IOMMUFD_TYPE and these numbers; they carry no size or direction
 * bits because the size lives inside the argument structure.
 */
enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
};

/**
 * struct iommu_destroy - ioctl(IOMMU_DESTROY)
 * @size: In, sizeof(struct iommu_destroy)
 * @id: In, the ID of the object to release
 *
 * Drops the userspace reference to an object of any kind that was created
 * through this file descriptor (IOAS, HWPT, fault queue, ...). Objects that
 * are still in use by something else, such as an IOAS that a device or a
 * HWPT is attached to, cannot go away yet and the call fails with EBUSY;
 * so does an object that another ioctl is using at that moment. An ID that
 * names nothing fails with ENOENT.
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};

#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/**
 * struct iommu_ioas_alloc - ioctl(IOMMU_IOAS_ALLOC)
 * @size: In, sizeof(struct iommu_ioas_alloc)
 * @flags: In, no flags are defined yet, must be 0
 * @out_ioas_id: Out, ID of the newly created IOAS
 *
 * Creates an empty I/O address space (IOAS). An IOAS is the kernel-managed
 * table that says which IOVA points at which page of process memory; devices
 * and hardware page tables attached to it follow every change made with
 * IOMMU_IOAS_MAP, IOMMU_IOAS_COPY and IOMMU_IOAS_UNMAP.
 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/**
 * struct iommu_iova_range - a closed interval of IOVA
 * @start: Lowest IOVA that belongs to the range
 * @last: Highest IOVA that belongs to the range (inclusive, so a range that
 *        covers the whole 64-bit space has @last == U64_MAX)
 *
 * Array element used by IOMMU_IOAS_IOVA_RANGES and IOMMU_IOAS_ALLOW_IOVAS.
 */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct iommu_ioas_iova_ranges - ioctl(IOMMU_IOAS_IOVA_RANGES)
 * @size: In, sizeof(struct iommu_ioas_iova_ranges)
 * @ioas_id: In, the IOAS to report on
 * @num_iovas: In, how many struct iommu_iova_range fit at @allowed_iovas.
 *             Out, how many ranges the IOAS currently has.
 * @__reserved: Must be 0
 * @allowed_iovas: In, user pointer to an array of struct iommu_iova_range
 *                 that receives the usable ranges, lowest first
 * @out_iova_alignment: Out, granule that mapping IOVAs must respect
 *
 * Reports the IOVA ranges in which mappings may currently be placed. The
 * answer is not fixed: a new IOAS spans everything, while each attached
 * device (or HWPT) removes what its IOMMU cannot translate and what it has
 * reserved, e.g. MSI windows. Detaching may give IOVA back. A VMM should
 * therefore query again after changing attachments.
 *
 * If the array is too short the call fails with EMSGSIZE; @num_iovas then
 * still holds the number needed and the caller can retry with a larger
 * buffer. Passing @num_iovas == 0 is a cheap way to learn the count.
 *
 * Every IOVA and length handed to IOMMU_IOAS_MAP or IOMMU_IOAS_COPY must be
 * a multiple of @out_iova_alignment. The value is a power of two between 1
 * and the CPU page size.
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};

#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/**
 * struct iommu_ioas_allow_iovas - ioctl(IOMMU_IOAS_ALLOW_IOVAS)
 * @size: In, sizeof(struct iommu_ioas_allow_iovas)
 * @ioas_id: In, the IOAS whose allowed list is replaced
 * @num_iovas: In, number of entries at @allowed_iovas (0 clears the list)
 * @__reserved: Must be 0
 * @allowed_iovas: In, user pointer to an array of struct iommu_iova_range
 *
 * Promises that the given IOVA ranges stay usable for the life of the IOAS.
 * A typical user is a VMM that must keep guest physical memory addressable
 * no matter which devices join later. The new list replaces the old one
 * completely. Each range must span more than one byte (start < last), and
 * the ranges of a list must not overlap; adjacent ones are fine.
 *
 * Once the list is set, anything that would shrink the usable IOVA into it
 * is refused, so attaching a device whose IOMMU cannot reach part of these
 * ranges, or that reserves IOVA inside them, fails. Likewise, the call
 * itself fails if the ranges are not all usable at this moment.
 *
 * When the list is not empty, mappings whose IOVA is chosen by the kernel
 * (IOMMU_IOAS_MAP without IOMMU_IOAS_MAP_FIXED_IOVA) are placed only inside
 * the allowed ranges.
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};

#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/**
 * enum iommufd_ioas_map_flags - flags of IOMMU_IOAS_MAP and IOMMU_IOAS_COPY
 * @IOMMU_IOAS_MAP_FIXED_IOVA: The caller chooses the IOVA and passes it in.
 *                             Without this flag the kernel picks a free
 *                             spot and reports it back.
 * @IOMMU_IOAS_MAP_WRITEABLE: Devices may write through the mapping
 * @IOMMU_IOAS_MAP_READABLE: Devices may read through the mapping
 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/**
 * struct iommu_ioas_map - ioctl(IOMMU_IOAS_MAP)
 * @size: In, sizeof(struct iommu_ioas_map)
 * @flags: In, any combination of enum iommufd_ioas_map_flags
 * @ioas_id: In, the IOAS that receives the mapping
 * @__reserved: Must be 0
 * @user_va: In, start of the process memory to expose to DMA
 * @length: In, size of the mapping in bytes, not 0
 * @iova: In when IOMMU_IOAS_MAP_FIXED_IOVA is set, otherwise Out: the IOVA
 *        at which the memory appears to devices
 *
 * Pins @length bytes of the calling process' memory starting at @user_va
 * and makes them reachable at @iova by every device using the IOAS. The
 * pinned pages are charged to the memory lock limit (RLIMIT_MEMLOCK) as
 * selected with IOMMU_OPTION_RLIMIT_MODE.
 *
 * With IOMMU_IOAS_MAP_FIXED_IOVA, the whole target range must be free and
 * must not touch reserved IOVA (EINVAL), which includes what an attached
 * domain cannot translate; replacing an existing mapping is not possible
 * (EEXIST). Allowed ranges only steer automatic allocation. Without the
 * flag, the kernel searches the usable IOVA for a suitably aligned hole.
 *
 * @iova, @length and the offset of @user_va within its page must respect
 * the alignment reported in iommu_ioas_iova_ranges.out_iova_alignment.
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/**
 * struct iommu_ioas_copy - ioctl(IOMMU_IOAS_COPY)
 * @size: In, sizeof(struct iommu_ioas_copy)
 * @flags: In, any combination of enum iommufd_ioas_map_flags
 * @dst_ioas_id: In, the IOAS that receives the new mapping
 * @src_ioas_id: In, the IOAS that already maps the memory
 * @length: In, size in bytes of the range to duplicate
 * @dst_iova: In when IOMMU_IOAS_MAP_FIXED_IOVA is set, otherwise Out: the
 *            IOVA of the new mapping in @dst_ioas_id
 * @src_iova: In, where the memory is mapped in @src_ioas_id
 *
 * Creates a mapping in @dst_ioas_id of the same pages that @src_ioas_id
 * maps at @src_iova, as if IOMMU_IOAS_MAP had been called again with the
 * original user pointer. Every byte of the source range must be mapped;
 * the range may cover parts of one or more earlier mappings (ENOENT if any
 * of it is unmapped).
 *
 * Because the pages are already pinned, the copy shares them instead of
 * pinning and charging them a second time. This makes it a fast way to
 * build one IOAS from parts of another. @dst_ioas_id may equal
 * @src_ioas_id.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};

#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/**
 * struct iommu_ioas_unmap - ioctl(IOMMU_IOAS_UNMAP)
 * @size: In, sizeof(struct iommu_ioas_unmap)
 * @ioas_id: In, the IOAS to remove mappings from
 * @iova: In, start of the IOVA range to clear
 * @length: In, size of the range in bytes. Out, how many bytes of mappings
 *          were actually removed.
 *
 * Removes every mapping that lies inside [@iova, @iova + @length - 1]. A
 * mapping created by a single IOMMU_IOAS_MAP or IOMMU_IOAS_COPY is removed
 * as a whole: a range that would cut one in two is rejected rather than
 * splitting it. @iova == 0 with @length == U64_MAX empties the IOAS.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/**
 * enum iommufd_option - options reachable through IOMMU_OPTION
 * @IOMMU_OPTION_RLIMIT_MODE:
 *    Chooses whose RLIMIT_MEMLOCK pays for pinned pages. 0, the default,
 *    charges the user that owns the process; 1 charges the process itself.
 *    Changing it needs privilege (CAP_SYS_RESOURCE). It is a setting of the
 *    whole iommufd, so iommu_option.object_id must be 0.
 * @IOMMU_OPTION_HUGE_PAGES:
 *    Set per IOAS (iommu_option.object_id is the IOAS ID). With 1, the
 *    default, physically contiguous runs of pages are mapped with large
 *    IOMMU pages where possible. With 0 everything is mapped in CPU page
 *    size units, which is mostly of interest for testing and benchmarks.
 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/**
 * enum iommufd_option_ops - what IOMMU_OPTION does with the option
 * @IOMMU_OPTION_OP_SET: Store iommu_option.val64 as the new value
 * @IOMMU_OPTION_OP_GET: Return the current value in iommu_option.val64
 */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/**
 * struct iommu_option - ioctl(IOMMU_OPTION)
 * @size: In, sizeof(struct iommu_option)
 * @option_id: In, one of enum iommufd_option
 * @op: In, one of enum iommufd_option_ops
 * @__reserved: Must be 0
 * @object_id: In, the object the option belongs to, or 0 for options of the
 *             iommufd itself
 * @val64: In for IOMMU_OPTION_OP_SET, Out for IOMMU_OPTION_OP_GET
 *
 * A single entry point for small tunables, so that adding one does not need
 * a new ioctl. Values that an option does not accept fail with EINVAL.
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};

#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

/**
 * enum iommufd_vfio_ioas_op - operations of IOMMU_VFIO_IOAS
 * @IOMMU_VFIO_IOAS_GET: Report the IOAS used for VFIO compatibility; fails
 *                       if none is designated
 * @IOMMU_VFIO_IOAS_SET: Make iommu_vfio_ioas.ioas_id the compatibility IOAS
 * @IOMMU_VFIO_IOAS_CLEAR: Drop the designation, leaving the legacy VFIO
 *                         container ioctls without an IOAS to act on
 */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/**
 * struct iommu_vfio_ioas - ioctl(IOMMU_VFIO_IOAS)
 * @size: In, sizeof(struct iommu_vfio_ioas)
 * @ioas_id: In for IOMMU_VFIO_IOAS_SET, Out for IOMMU_VFIO_IOAS_GET
 * @op: In, one of enum iommufd_vfio_ioas_op
 * @__reserved: Must be 0
 *
 * When an iommufd stands in for a VFIO container, the type1 style VFIO
 * ioctls have no way to name an IOAS, so one IOAS is designated for them.
 * This ioctl inspects or changes that choice. A VFIO group joining the
 * container picks up the designated IOAS at that time (creating one when
 * none is set) and keeps using it; later SET or CLEAR calls do not move
 * it, and they never destroy an IOAS that was created automatically.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};

#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

/**
 * enum iommufd_hwpt_alloc_flags - flags of IOMMU_HWPT_ALLOC
 * @IOMMU_HWPT_ALLOC_NEST_PARENT: The new HWPT will be used as the stage-2
 *                                (parent) of nested HWPTs
 * @IOMMU_HWPT_ALLOC_DIRTY_TRACKING: The HWPT must be able to track dirty
 *                                   pages; only devices whose IOMMU can do
 *                                   so may be attached to it
 * @IOMMU_HWPT_FAULT_ID_VALID: iommu_hwpt_alloc.fault_id names a fault queue
 *                             that receives the I/O page faults of the HWPT
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
};

/**
 * enum iommu_hwpt_vtd_s1_flags - VT-d stage-1 translation attributes
 * @IOMMU_VTD_S1_SRE: Supervisor Request Enable, DMA with supervisor
 *                    privilege may use the page table
 * @IOMMU_VTD_S1_EAFE: Extended Accessed Flag Enable
 * @IOMMU_VTD_S1_WPE: Write Protect Enable, read-only pages stay read-only for
 *                    supervisor requests as well
 *
 * These correspond to bits of the PASID table entry; see the Intel VT-d
 * specification. The host rejects bits its hardware does not support.
 */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/**
 * struct iommu_hwpt_vtd_s1 - guest stage-1 page table for Intel VT-d
 *                            (IOMMU_HWPT_DATA_VTD_S1)
 * @flags: Any combination of enum iommu_hwpt_vtd_s1_flags
 * @pgtbl_addr: Guest physical (stage-2 input) address of the root of the
 *              stage-1 page table
 * @addr_width: Input address width in bits covered by the stage-1 table,
 *              which selects the number of paging levels (e.g. 48 or 57)
 * @__reserved: Must be 0
 *
 * The driver data that IOMMU_HWPT_ALLOC takes to build a nested HWPT on top
 * of a VT-d parent HWPT. The page table itself lives in guest memory and is
 * walked by the hardware.
 */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/**
 * enum iommu_hwpt_data_type - format of iommu_hwpt_alloc.data_uptr
 * @IOMMU_HWPT_DATA_NONE: No driver data; the HWPT is managed by the kernel
 *                        and mirrors an IOAS
 * @IOMMU_HWPT_DATA_VTD_S1: struct iommu_hwpt_vtd_s1
 */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
};

/**
 * struct iommu_hwpt_alloc - ioctl(IOMMU_HWPT_ALLOC)
 * @size: In, sizeof(struct iommu_hwpt_alloc)
 * @flags: In, any combination of enum iommufd_hwpt_alloc_flags
 * @dev_id: In, ID of a bound device whose IOMMU the HWPT is made for
 * @pt_id: In, the IOAS to mirror, or the parent HWPT of a nested HWPT
 * @out_hwpt_id: Out, ID assigned to the created HWPT
 * @__reserved: Must be 0
 * @data_type: In, one of enum iommu_hwpt_data_type
 * @data_len: In, size in bytes of the buffer at @data_uptr
 * @data_uptr: In, user pointer to driver data in the format of @data_type
 * @fault_id: In, ID of a fault queue from IOMMU_FAULT_QUEUE_ALLOC; looked at
 *            only when IOMMU_HWPT_FAULT_ID_VALID is in @flags
 * @__reserved2: Must be 0, pads the structure to a multiple of 8 bytes
 *
 * Creates a hardware page table (HWPT), the object that stands for an IOMMU
 * translation (an iommu_domain) programmed into the IOMMU of @dev_id. HWPTs
 * are also created implicitly when a device is attached directly to an
 * IOAS; this ioctl gives userspace explicit control. Two kinds exist:
 *
 * If @pt_id is an IOAS, the HWPT is kernel managed: its translation follows
 * the mappings of that IOAS. @data_type must be IOMMU_HWPT_DATA_NONE and
 * @data_len and @data_uptr must be 0. IOMMU_HWPT_ALLOC_NEST_PARENT prepares
 * it for use as a stage-2 below nested HWPTs.
 *
 * If @pt_id is such a nest-parent HWPT, the new HWPT is user managed (nested):
 * userspace, usually a guest, owns a stage-1 table in a hardware-defined
 * format, described by @data_type and the driver data. After changing that
 * table userspace must call IOMMU_HWPT_INVALIDATE. @data_len and @data_uptr
 * are required for this kind.
 *
 * An unknown @data_type or a type the IOMMU of @dev_id does not implement
 * fails with EOPNOTSUPP.
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};

#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

/**
 * enum iommu_hw_info_vtd_flags - quirks of a VT-d IOMMU
 * @IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: The hardware is affected by Intel
 *                                         errata 772415 (Sapphire Rapids
 *                                         SPR17). Read-only mappings must
 *                                         not be placed in a nest-parent
 *                                         HWPT, so a VMM should map guest
 *                                         memory writable there.
 */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/**
 * struct iommu_hw_info_vtd - Intel VT-d data of IOMMU_GET_HW_INFO
 *                            (IOMMU_HW_INFO_TYPE_INTEL_VTD)
 * @flags: Any combination of enum iommu_hw_info_vtd_flags
 * @__reserved: Must be 0
 * @cap_reg: Raw content of the VT-d Capability Register
 * @ecap_reg: Raw content of the VT-d Extended Capability Register
 *
 * The register values are passed through unchanged; decoding them, for
 * instance to build a matching virtual IOMMU for a guest, requires the Intel
 * VT-d specification.
 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/**
 * enum iommu_hw_info_type - format of the data returned by IOMMU_GET_HW_INFO
 * @IOMMU_HW_INFO_TYPE_NONE: The driver reports no hardware specific data
 * @IOMMU_HW_INFO_TYPE_INTEL_VTD: struct iommu_hw_info_vtd
 */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
};

/**
 * enum iommufd_hw_capabilities - generic IOMMU features of a device
 * @IOMMU_HW_CAP_DIRTY_TRACKING: The IOMMU records which pages devices wrote
 *                               to, so HWPTs for the device can be allocated
 *                               with IOMMU_HWPT_ALLOC_DIRTY_TRACKING and used
 *                               with IOMMU_HWPT_SET_DIRTY_TRACKING and
 *                               IOMMU_HWPT_GET_DIRTY_BITMAP
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
};

/**
 * struct iommu_hw_info - ioctl(IOMMU_GET_HW_INFO)
 * @size: In, sizeof(struct iommu_hw_info)
 * @flags: In, must be 0
 * @dev_id: In, ID of a device bound to this iommufd
 * @data_len: In, size of the buffer at @data_uptr, may be 0. Out, size of
 *            the data the driver has.
 * @data_uptr: In, user pointer to a buffer for the hardware specific data
 * @out_data_type: Out, one of enum iommu_hw_info_type, telling how to read
 *                 the buffer
 * @__reserved: Must be 0
 * @out_capabilities: Out, any combination of enum iommufd_hw_capabilities
 *
 * Describes the IOMMU that translates for @dev_id. A VMM uses it to decide
 * what it can expose to a guest, for example which stage-1 formats a nested
 * HWPT may use and with which features.
 *
 * The kernel writes min(@data_len, size of its data) bytes into the buffer
 * and clears the rest of the buffer if it is larger, so a zeroed tail simply
 * means features this kernel does not know. On return @data_len holds the
 * size of the driver's data, which lets a caller first ask with
 * @data_len == 0 and then retry with a buffer of the right size.
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 out_data_type;
	__u32 __reserved;
	__aligned_u64 out_capabilities;
};

#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/**
 * enum iommufd_hwpt_set_dirty_tracking_flags - flags of
 *                                              IOMMU_HWPT_SET_DIRTY_TRACKING
 * @IOMMU_HWPT_DIRTY_TRACKING_ENABLE: Turn recording on; without the flag it
 *                                    is turned off
 */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/**
 * struct iommu_hwpt_set_dirty_tracking - ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING)
 * @size: In, sizeof(struct iommu_hwpt_set_dirty_tracking)
 * @flags: In, any combination of enum iommufd_hwpt_set_dirty_tracking_flags
 * @hwpt_id: In, the HWPT to change
 * @__reserved: Must be 0
 *
 * Starts or stops the recording of DMA writes in the IOMMU page table of
 * @hwpt_id, typically around the live migration of a guest. The HWPT must
 * have been allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING.
 */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};

#define IOMMU_HWPT_SET_DIRTY_TRACKING _IO(IOMMUFD_TYPE, \
					  IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

/**
 * enum iommufd_hwpt_get_dirty_bitmap_flags - flags of
 *                                            IOMMU_HWPT_GET_DIRTY_BITMAP
 * @IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: Report the dirty state but leave it
 *                                        set in the page table. Saves work
 *                                        when the range is about to be
 *                                        unmapped anyway.
 */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/**
 * struct iommu_hwpt_get_dirty_bitmap - ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP)
 * @size: In, sizeof(struct iommu_hwpt_get_dirty_bitmap)
 * @hwpt_id: In, the HWPT whose page table is read
 * @flags: In, any combination of enum iommufd_hwpt_get_dirty_bitmap_flags
 * @__reserved: Must be 0
 * @iova: In, first IOVA covered by the bitmap
 * @length: In, number of bytes of IOVA covered by the bitmap
 * @page_size: In, bytes of IOVA represented by one bit; a power of two
 * @data: In, user pointer to the bitmap, an array of __u64 words
 *
 * Scans the IOMMU page table of @hwpt_id over [@iova, @iova + @length - 1]
 * and sets a bit for every @page_size sized chunk that a device wrote to
 * since the previous scan. Bit n of the bitmap (bit n % 64 of word n / 64)
 * stands for the chunk that starts at @iova + n * @page_size. Bits for clean
 * chunks are left as they are, so callers normally zero the bitmap first.
 *
 * Unless IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR is given, the dirty state is
 * reset while reading, so the next call only reports newer writes.
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};

#define IOMMU_HWPT_GET_DIRTY_BITMAP _IO(IOMMUFD_TYPE, \
					IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

/**
 * enum iommu_hwpt_invalidate_data_type - format of the entries passed to
 *                                        IOMMU_HWPT_INVALIDATE
 * @IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: struct iommu_hwpt_vtd_s1_invalidate
 */
enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
};

/**
 * enum iommu_hwpt_vtd_s1_invalidate_flags - flags of a VT-d stage-1
 *                                           invalidation entry
 * @IOMMU_VTD_INV_FLAGS_LEAF: Only leaf entries changed, so cached
 *                            intermediate levels (the paging structure
 *                            cache) may be kept
 */
enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/**
 * struct iommu_hwpt_vtd_s1_invalidate - one VT-d stage-1 invalidation
 *                                       (IOMMU_HWPT_INVALIDATE_DATA_VTD_S1)
 * @addr: First address of the range to flush, 4 KiB aligned
 * @npages: Length of the range in 4 KiB pages
 * @flags: Any combination of enum iommu_hwpt_vtd_s1_invalidate_flags
 * @__reserved: Must be 0
 *
 * Tells the host which part of a nested VT-d HWPT's stage-1 translation has
 * gone stale, mirroring what a guest driver would put in an IOTLB
 * invalidation descriptor. @addr == 0 together with @npages == U64_MAX
 * flushes everything cached for the page table. Device TLBs of devices
 * using ATS are flushed along with the IOTLB; no separate entry is needed.
 */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/**
 * struct iommu_hwpt_invalidate - ioctl(IOMMU_HWPT_INVALIDATE)
 * @size: In, sizeof(struct iommu_hwpt_invalidate)
 * @hwpt_id: In, the nested HWPT whose caches are flushed
 * @data_uptr: In, user pointer to an array of invalidation entries
 * @data_type: In, one of enum iommu_hwpt_invalidate_data_type, giving the
 *             format of every entry; the HWPT's driver must accept it
 * @entry_len: In, size in bytes of one entry as userspace lays it out
 * @entry_num: In, number of entries in the array. Out, number of entries
 *             that were carried out, counted from the first one.
 * @__reserved: Must be 0
 *
 * After userspace edits the stage-1 table of a nested HWPT, stale
 * translations may remain in IOMMU caches; this ioctl flushes them. Several
 * requests can be batched in one call. They are processed in order, and on
 * an error @entry_num tells how many succeeded before the failing one.
 *
 * @entry_len lets the entry format grow: an entry may be shorter than the
 * kernel's, down to the format's first version, and is zero-extended; one
 * longer than the kernel's is refused with EINVAL. With @entry_num == 0
 * nothing is flushed and @entry_len and @data_uptr are ignored; this can be
 * used to probe whether @data_type is supported.
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};

#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

/**
 * enum iommu_hwpt_pgfault_flags - flags of struct iommu_hwpt_pgfault
 * @IOMMU_PGFAULT_FLAGS_PASID_VALID: The request carried a PASID, found in
 *                                   iommu_hwpt_pgfault.pasid
 * @IOMMU_PGFAULT_FLAGS_LAST_PAGE: This is the final request of its page
 *                                 request group; the group is answered as a
 *                                 whole after it arrives
 */
enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID		= (1 << 0),
	IOMMU_PGFAULT_FLAGS_LAST_PAGE		= (1 << 1),
};

/**
 * enum iommu_hwpt_pgfault_perm - access wanted by a faulting request
 * @IOMMU_PGFAULT_PERM_READ: The device wants to read
 * @IOMMU_PGFAULT_PERM_WRITE: The device wants to write
 * @IOMMU_PGFAULT_PERM_EXEC: The PASID prefix of the request asked for
 *                           execute permission (PCIe r6, 10.4.1)
 * @IOMMU_PGFAULT_PERM_PRIV: The PASID prefix of the request asked for
 *                           privileged mode access (PCIe r6, 10.4.1)
 */
enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ			= (1 << 0),
	IOMMU_PGFAULT_PERM_WRITE		= (1 << 1),
	IOMMU_PGFAULT_PERM_EXEC			= (1 << 2),
	IOMMU_PGFAULT_PERM_PRIV			= (1 << 3),
};

/**
 * struct iommu_hwpt_pgfault - an I/O page fault read from a fault queue
 * @flags: Any combination of enum iommu_hwpt_pgfault_flags
 * @dev_id: iommufd device ID of the device that faulted
 * @pasid: PASID of the request, when IOMMU_PGFAULT_FLAGS_PASID_VALID is set
 * @grpid: Page request group index chosen by the device
 * @perm: Any combination of enum iommu_hwpt_pgfault_perm
 * @__reserved: Always 0
 * @addr: Faulting address, in the IOVA space of the HWPT
 * @length: Optional hint of how many bytes the device intends to access
 *          starting at @addr, so that more than one page can be made
 *          present at once; 0 when the device gave no hint
 * @cookie: Opaque value chosen by the kernel for the fault group. It must be
 *          copied into struct iommu_hwpt_page_response when answering.
 *
 * read() on the file descriptor returned by IOMMU_FAULT_QUEUE_ALLOC yields an
 * array of these records, one per fault, for HWPTs created with that queue.
 */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

/**
 * enum iommufd_page_response_code - outcome reported for a fault group
 * @IOMMUFD_PAGE_RESP_SUCCESS: The pages are now mapped and the device may
 *                             repeat its access (PCI "Success" response)
 * @IOMMUFD_PAGE_RESP_INVALID: The fault could not be resolved; the device
 *                             must not retry (PCI "Invalid Request"
 *                             response)
 */
enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/**
 * struct iommu_hwpt_page_response - answer to a fault group
 * @cookie: The cookie of the group, as found in struct iommu_hwpt_pgfault
 * @code: One of enum iommufd_page_response_code
 *
 * Written with write() to the fault queue's file descriptor once userspace
 * has dealt with the faults of a group. Several responses may be written in
 * one call.
 */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

/**
 * struct iommu_fault_alloc - ioctl(IOMMU_FAULT_QUEUE_ALLOC)
 * @size: In, sizeof(struct iommu_fault_alloc)
 * @flags: In, must be 0
 * @out_fault_id: Out, object ID of the queue, for iommu_hwpt_alloc.fault_id
 * @out_fault_fd: Out, a new file descriptor for reading faults and writing
 *                responses
 *
 * Creates a queue through which the I/O page faults of HWPTs are handed to
 * userspace. HWPTs opt in at allocation time via IOMMU_HWPT_FAULT_ID_VALID.
 * The file descriptor supports read(), write() and poll(); see struct
 * iommu_hwpt_pgfault and struct iommu_hwpt_page_response for the formats.
 */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};

#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, \
				    IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

#endif
