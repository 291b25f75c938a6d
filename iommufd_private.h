/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Definitions shared by the files of iommufd: the per-open context, the
 * object header every user-visible object embeds, and the ioctl plumbing.
 *
 * Objects
 * -------
 * Every object userspace can name (IOAS, device, hw_pagetable, access, fault
 * queue, ...) embeds a struct iommufd_object as its first member and lives in
 * the context's @objects xarray under a 32-bit ID (never 0).  Building an
 * object is two-phase: iommufd_object_alloc() reserves the ID with a zero
 * entry, so lookups cannot find it yet; iommufd_object_finalize() publishes
 * it once it is complete, or iommufd_object_abort() throws it away.  So
 * userspace never sees a half-made object.
 *
 * Two counters keep an object alive:
 *  - @refs: one for the ID table plus one for each object or in-kernel owner
 *    that depends on this object for longer than a system call (an hwpt on
 *    its IOAS, VFIO on its bound device).  IOMMU_DESTROY refuses with EBUSY
 *    while anything but the table holds a ref.
 *  - @lookups: one while the object is published plus one per in-flight
 *    iommufd_get_object().  Removing an object unpublishes it first and then
 *    waits for @lookups to drain, so a pointer obtained from a lookup stays
 *    valid until iommufd_put_object().  A long-term ref may only be taken
 *    while holding a lookup, which is why @refs is re-checked after the drain.
 *
 * Locking
 * -------
 * Lock order, outermost first; a lock may be taken while holding any lock
 * above it, never the other way round:
 *   ictx->ioas_creation_lock     VFIO compat: creating the compat IOAS
 *   access->ioas_lock            which IOAS an access is attached to
 *   ioas->mutex                  the IOAS's list of paging hw_pagetables
 *   igroup->lock                 which hw_pagetable a group is attached to
 *   iopt->domains_rwsem          the domains and accesses of an io_pagetable
 *   iopt->iova_rwsem             its interval trees (areas, reserved, allowed)
 *   pages->mutex                 the pins and PFN store of an iopt_pages
 *   mmap_lock                    (taken by GUP when pinning user pages)
 *   xa_lock(&ictx->objects), xa_lock(&ictx->groups)   spinlocks, innermost
 * What each lock protects is written next to the member it guards.
 * Unmaps call the unmap op of in-kernel accesses with none of these held.
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/iommufd.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"

struct iommufd_ioas;

/* How pinned pages are charged against RLIMIT_MEMLOCK (IOMMU_OPTION_RLIMIT_MODE). */
enum iommufd_account_mode {
	IOMMUFD_ACCOUNT_NONE,	/* kernel-internal pages, not charged */
	IOMMUFD_ACCOUNT_USER,	/* user->locked_vm, as VFIO type1 does (value 0) */
	IOMMUFD_ACCOUNT_MM,	/* mm->pinned_vm, per process (value 1) */
};

/**
 * struct iommufd_ctx - state of one open of /dev/iommu
 * @file: the file this context belongs to; in-kernel users hold it
 * @objects: ID -> struct iommufd_object; a zero entry marks a reserved ID
 * @groups: iommu_group ID -> struct iommufd_group of the bound devices
 * @destroy_wait: woken when an object's @lookups count drains to zero
 * @ioas_creation_lock: serialises creation of the VFIO compatibility IOAS
 * @account_mode: how new pinnings are charged (enum iommufd_account_mode)
 * @vfio_ioas: the IOAS VFIO compatibility works on, or NULL
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
	struct xarray groups;
	wait_queue_head_t destroy_wait;
	struct rw_semaphore ioas_creation_lock;
	u8 account_mode;
	struct iommufd_ioas *vfio_ioas;	/* protected by xa_lock(&objects) */
};

enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_HWPT_NESTED,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_ACCESS,
	IOMMUFD_OBJ_FAULT,
#ifdef CONFIG_IOMMUFD_TEST
	IOMMUFD_OBJ_SELFTEST,
#endif
	IOMMUFD_OBJ_MAX,
};

/**
 * struct iommufd_object - header of every object in the ID table
 * @lookups: published reference plus in-flight lookups (see file comment)
 * @refs: the table's reference plus long-term dependents
 * @type: which object this header is embedded in
 * @id: the ID userspace names the object by
 */
struct iommufd_object {
	refcount_t lookups;
	refcount_t refs;
	enum iommufd_object_type type;
	u32 id;
};

/**
 * struct iommufd_object_ops - per-type object operations
 * @destroy: release everything the object holds; cannot fail.  Called once
 *	nothing depends on the object and no lookup is in flight.
 * @abort: undo a partially built object that was never published; if NULL,
 *	@destroy is used.
 */
struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
	void (*abort)(struct iommufd_object *obj);
};

struct iommufd_object *__iommufd_object_alloc(struct iommufd_ctx *ictx,
					      size_t size,
					      enum iommufd_object_type type);
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj);
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj);
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj);

/*
 * Allocate an object of C type @type, whose struct iommufd_object is
 * @member (at offset 0), and reserve an ID for it.  Evaluates to the new
 * object or an ERR_PTR.
 */
#define iommufd_object_alloc_at(ictx, type, member, obj_type)                  \
	((type *)__iommufd_object_alloc(                                       \
		ictx,                                                          \
		sizeof(type) + BUILD_BUG_ON_ZERO(offsetof(type, member)),      \
		obj_type))

#define iommufd_object_alloc(ictx, type, obj_type) \
	iommufd_object_alloc_at(ictx, type, obj, obj_type)

struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type);

/* Drop a lookup taken by iommufd_get_object(). */
static inline void iommufd_put_object(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	if (refcount_dec_and_test(&obj->lookups))
		wake_up_all(&ictx->destroy_wait);
}

/* Flags for iommufd_object_remove(). */
enum {
	/* Others may still hold refs: fail with EBUSY instead of a WARN. */
	IOMMUFD_REMOVE_BUSY_OK = 1 << 0,
};

int iommufd_object_remove(struct iommufd_ctx *ictx,
			  struct iommufd_object *to_destroy, u32 id,
			  unsigned int flags);

/*
 * Hold an object found some other way than by ID (on a list); fails once
 * its removal has begun.  Dropped with iommufd_put_object().
 */
static inline bool iommufd_lock_obj(struct iommufd_object *obj)
{
	return refcount_inc_not_zero(&obj->lookups);
}

/*
 * Remove an object owned by the kernel (a bound device, an access).  The
 * owner's extra ref is dropped first; nothing else may depend on it.
 */
static inline void iommufd_object_destroy_owned(struct iommufd_ctx *ictx,
						struct iommufd_object *obj)
{
	refcount_dec(&obj->refs);
	WARN_ON(iommufd_object_remove(ictx, obj, obj->id, 0));
}

/**
 * struct iommufd_ucmd - one ioctl call in flight
 * @ictx: the context the ioctl was issued on
 * @ubuffer: the user's command struct
 * @user_size: the size userspace declared in the struct's first word
 * @cmd: kernel copy of the command, zero-extended to the kernel's size
 */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

/* Copy the (updated) command back, truncated to what userspace knows. */
static inline int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd,
				       size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

/* ioas.c */
/**
 * struct iommufd_ioas - an I/O address space
 * @obj: object header
 * @iopt: the address space
 * @mutex: serialises attaching hw_pagetables; protects @hwpt_list
 * @hwpt_list: the paging hw_pagetables on this IOAS (hwpt_item)
 */
struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
	struct mutex mutex;		/* see the kernel-doc above */
	struct list_head hwpt_list;
};

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx);
void iommufd_ioas_destroy(struct iommufd_object *obj);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);

static inline struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx,
						    u32 id)
{
	return (struct iommufd_ioas *)iommufd_get_object(ictx, id,
							 IOMMUFD_OBJ_IOAS);
}

/* hw_pagetable.c */
/**
 * struct iommufd_hw_pagetable - an iommu_domain userspace can name
 * @obj: object header; @obj.refs counts the attached devices
 * @domain: the domain
 */
struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommu_domain *domain;
};

/**
 * struct iommufd_hwpt_paging - a hw_pagetable mirroring an IOAS
 * @common: the hw_pagetable
 * @ioas: the IOAS whose mappings the domain holds; referenced
 * @hwpt_item: on ioas->hwpt_list while the domain is in the io_pagetable
 * @auto_domain: made by attaching a device to the IOAS; destroyed when the
 *	last device leaves
 * @enforce_cache_coherency: the domain blocks non-snooped DMA
 * @msi_cookie: the domain has the software MSI window set up
 */
struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable common;
	struct iommufd_ioas *ioas;
	struct list_head hwpt_item;
	bool auto_domain : 1;
	bool enforce_cache_coherency : 1;
	bool msi_cookie : 1;
};

static inline struct iommufd_hwpt_paging *
to_hwpt_paging(struct iommufd_hw_pagetable *hwpt)
{
	return container_of(hwpt, struct iommufd_hwpt_paging, common);
}

static inline bool hwpt_is_paging(struct iommufd_hw_pagetable *hwpt)
{
	return hwpt->obj.type == IOMMUFD_OBJ_HWPT_PAGING;
}

struct iommufd_device;
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  struct iommufd_device *idev, bool immediate_attach);
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
void iommufd_hwpt_paging_abort_locked(struct iommufd_ctx *ictx,
				      struct iommufd_hwpt_paging *hwpt_paging);
int iommufd_hwpt_paging_enforce_cc(struct iommufd_hwpt_paging *hwpt_paging);

/* device.c */
/**
 * struct iommufd_group - the iommu_group of bound devices, per context
 * @ref: one per bound device of the group
 * @lock: protects @hwpt and @device_list
 * @ictx: the context
 * @group: the iommu_group; referenced
 * @hwpt: the hw_pagetable the group is attached to, or NULL
 * @device_list: the attached devices of the group (group_item)
 * @sw_msi_start: start of the software MSI window, or PHYS_ADDR_MAX
 */
struct iommufd_group {
	struct kref ref;
	struct mutex lock;		/* see the kernel-doc above */
	struct iommufd_ctx *ictx;
	struct iommu_group *group;
	struct iommufd_hw_pagetable *hwpt;
	struct list_head device_list;
	phys_addr_t sw_msi_start;
};

/**
 * struct iommufd_device - a device bound to a context
 * @obj: object header; the binding driver holds an extra ref
 * @ictx: the context; referenced unless the device is a selftest mock
 * @igroup: the device's group in this context; referenced
 * @group_item: on igroup->device_list while attached
 * @dev: the device
 * @enforce_cache_coherency: the device can issue non-snooped DMA, so its
 *	domain must block that
 */
struct iommufd_device {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_group *igroup;
	struct list_head group_item;
	struct device *dev;
	bool enforce_cache_coherency;
};

void iommufd_device_destroy(struct iommufd_object *obj);
int iommufd_hw_pagetable_attach(struct iommufd_hw_pagetable *hwpt,
				struct iommufd_device *idev);
struct iommufd_hw_pagetable *
iommufd_hw_pagetable_detach(struct iommufd_device *idev);
void iommufd_hw_pagetable_put(struct iommufd_ctx *ictx,
			      struct iommufd_hw_pagetable *hwpt);

/**
 * struct iommufd_access - an in-kernel user of an IOAS
 * @obj: object header; the creating driver holds an extra ref
 * @ictx: the context; referenced
 * @ioas: the IOAS attached to, or NULL; referenced; protected by @ioas_lock
 * @ioas_lock: serialises attach/detach against pins and reads
 * @ops: the driver's callbacks
 * @data: the driver's cookie for @ops
 * @iopt_access_list_id: index in ioas->iopt.access_list
 */
struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_ioas *ioas;
	struct mutex ioas_lock;		/* see the kernel-doc above */
	const struct iommufd_access_ops *ops;
	void *data;
	u32 iopt_access_list_id;
};

void iommufd_access_destroy_object(struct iommufd_object *obj);
void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length);

/* selftest.c */
#ifdef CONFIG_IOMMUFD_TEST
extern size_t iommufd_test_memory_limit;
bool iommufd_should_fail(void);
int iommufd_test(struct iommufd_ucmd *ucmd);
void iommufd_selftest_destroy(struct iommufd_object *obj);
int __init iommufd_test_init(void);
void iommufd_test_exit(void);
bool iommufd_selftest_is_mock_dev(struct device *dev);
#else
static inline bool iommufd_should_fail(void)
{
	return false;
}

static inline int iommufd_test_init(void)
{
	return 0;
}

static inline void iommufd_test_exit(void)
{
}

static inline bool iommufd_selftest_is_mock_dev(struct device *dev)
{
	return false;
}
#endif

#endif
