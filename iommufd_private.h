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
 * object is two-phase: iommufd_object_new() reserves the ID with a zero
 * entry, so lookups cannot find it yet; iommufd_object_publish() publishes
 * it once it is complete, or iommufd_object_discard() throws it away.  So
 * userspace never sees a half-made object.
 *
 * Two counters keep an object alive:
 *  - @refs: one for the ID table plus one for each object or in-kernel owner
 *    that depends on this object for longer than a system call (an hwpt on
 *    its IOAS, VFIO on its bound device).  IOMMU_DESTROY refuses with EBUSY
 *    while anything but the table holds a ref.
 *  - @lookups: one while the object is published plus one per in-flight
 *    iommufd_obj_get().  Removing an object unpublishes it first and then
 *    waits for @lookups to drain, so a pointer obtained from a lookup stays
 *    valid until iommufd_obj_put().  A long-term ref may only be taken
 *    while holding a lookup, which is why @refs is re-checked after the drain.
 *
 * Locking
 * -------
 * This is the one place the lock order is written; every other comment
 * points here.  Outermost first; a lock may be taken while holding any lock
 * above it, never the other way round:
 *   ioas->mutex                 the IOAS's list of paging hw_pagetables
 *   igroup->mutex               which hw_pagetable a group is attached to,
 *                               its attached devices
 *   access->ioas_mutex          which IOAS an access is on, its pins
 *   iopt->domains_sem           the domains and accesses of an io_pagetable,
 *                               the fill state of its areas
 *   iopt->iova_rwsem            its interval trees (areas, reserved,
 *                               allowed), unmap blocks, alignment
 *   pages->mutex                the pins and PFN store of an iopt_mem
 *   mmap_lock                   taken by GUP, and only with none of the
 *                               above held
 *   xa_lock(&ictx->objects), xa_lock(&ictx->groups),
 *   xa_lock(&iopt->accesses)    spinlocks, innermost
 * What each lock protects is written next to the member it guards.
 *
 * User memory.  No lock above is held while user memory is faulted in
 * (pinning) or copied to or from: a user who stalls a page fault
 * (userfaultfd, FUSE) must not stall a driver that binds, attaches,
 * detaches, unbinds or creates and destroys an access.  An ioctl that
 * touches user memory holds at most lookups of its objects meanwhile.
 * Unmaps call the unmap op of in-kernel accesses with none of these locks
 * held.
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/kref.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"

struct iommufd_ioas;
struct iommufd_fault;
struct iommufd_attach_handle;
struct hwpt_user_data;

/* How pinned pages are charged against RLIMIT_MEMLOCK (IOMMU_OPTION_RLIMIT_MODE). */
enum iommufd_account_mode {
	IOMMUFD_ACCOUNT_NONE,	/* kernel-internal pages, not charged */
	IOMMUFD_ACCOUNT_USER,	/* user->locked_vm, as VFIO type1 does (value 0) */
	IOMMUFD_ACCOUNT_MM,	/* mm->pinned_vm, per process (value 1) */
};

/**
 * struct iommufd_ctx - state of one open of /dev/iommu
 * @users: one for the open file, one per in-kernel holder
 *	(iommufd_ctx_get()); the last one frees the context
 * @objects: ID -> struct iommufd_object; a zero entry marks a reserved ID
 * @drained: woken when an object's @lookups count drops to zero
 * @groups: iommu_group ID -> struct iommufd_group of the bound devices
 * @account_mode: how new pinnings are charged (enum iommufd_account_mode)
 * @ioas_creation_lock: serialises creation of the VFIO compatibility IOAS
 *	(outside every lock of the order below)
 * @vfio_ioas: the IOAS VFIO compatibility works on, or NULL; not a
 *	reference (see vfio_compat.c); protected by xa_lock(&objects)
 * @no_iommu_mode: a VFIO no-IOMMU group uses the context, so it never gets
 *	a compat IOAS; protected by xa_lock(&objects)
 */
struct iommufd_ctx {
	struct kref users;
	struct xarray objects;
	wait_queue_head_t drained;
	struct xarray groups;
	u8 account_mode;
	struct rw_semaphore ioas_creation_lock;
	struct iommufd_ioas *vfio_ioas;
	bool no_iommu_mode;
};

/* What an object is; IOMMUFD_OBJ_ANY matches every type in lookups. */
enum iommufd_object_type {
	IOMMUFD_OBJ_ANY = 0,
	IOMMUFD_OBJ_IOAS = 1,
	IOMMUFD_OBJ_DEVICE = 2,
	IOMMUFD_OBJ_HWPT_PAGING = 3,
	IOMMUFD_OBJ_HWPT_NESTED = 4,
	IOMMUFD_OBJ_ACCESS = 5,
	IOMMUFD_OBJ_FAULT = 6,
	IOMMUFD_OBJ_SELFTEST = 7,	/* only with CONFIG_IOMMUFD_TEST */
	IOMMUFD_OBJ_NR_TYPES
};

/**
 * struct iommufd_object - header of every object in the ID table
 * @id: the ID userspace names the object by
 * @type: which object this header is embedded in
 * @refs: the table's reference plus long-term dependents
 * @lookups: published reference plus in-flight lookups (see file comment)
 */
struct iommufd_object {
	u32 id;
	enum iommufd_object_type type;
	refcount_t refs;
	refcount_t lookups;
};

/*
 * Building objects: new() reserves an ID, publish() makes the complete
 * object visible, discard() frees one that never was, undo() also runs its
 * destroy op first.
 */
struct iommufd_object *iommufd_object_new_raw(struct iommufd_ctx *ictx,
					      size_t size,
					      enum iommufd_object_type type);
void iommufd_object_publish(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj);
void iommufd_object_discard(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj);
void iommufd_object_undo(struct iommufd_ctx *ictx, struct iommufd_object *obj);

/*
 * Allocate an object of C type @type, whose struct iommufd_object is
 * @member (at offset 0), and reserve an ID for it.  Evaluates to the new
 * object or an ERR_PTR.
 */
#define iommufd_object_new_at(ictx, type, member, obj_type)                  \
	((type *)iommufd_object_new_raw(                                       \
		ictx,                                                          \
		sizeof(type) + BUILD_BUG_ON_ZERO(offsetof(type, member)),      \
		obj_type))

#define iommufd_object_new(ictx, type, obj_type) \
	iommufd_object_new_at(ictx, type, obj, obj_type)

/*
 * Using objects: get() finds a published object by ID and holds it against
 * destruction until put(); hold() does the same for an object reached
 * through a pointer, and fails once its destruction has started.
 */
struct iommufd_object *iommufd_obj_get(struct iommufd_ctx *ictx, u32 id,
				       enum iommufd_object_type type);

static inline bool iommufd_obj_hold(struct iommufd_object *obj)
{
	return refcount_inc_not_zero(&obj->lookups);
}

static inline void iommufd_obj_put(struct iommufd_ctx *ictx,
				   struct iommufd_object *obj)
{
	if (!refcount_dec_and_test(&obj->lookups))
		return;
	wake_up_all(&ictx->drained);
}

/*
 * Destroying objects: kill() unpublishes, waits for lookups and destroys,
 * unless something still depends on the object (EBUSY; a WARN unless
 * IOMMUFD_KILL_BUSY_OK).  IOMMUFD_KILL_USER is a user's IOMMU_DESTROY,
 * which also fails while another ioctl is using the object.
 * IOMMUFD_KILL_DROP_REF drops the caller's ref first, under the table's
 * lock: an object owned by a kernel driver carries the driver's extra ref,
 * which destroy_owned() drops that way.
 */
#define IOMMUFD_KILL_BUSY_OK	BIT(0)
#define IOMMUFD_KILL_USER	BIT(1)
#define IOMMUFD_KILL_DROP_REF	BIT(2)

int iommufd_object_kill(struct iommufd_ctx *ictx,
			struct iommufd_object *to_destroy, u32 id,
			unsigned int flags);

static inline void iommufd_object_destroy_owned(struct iommufd_ctx *ictx,
						struct iommufd_object *obj)
{
	u32 id = obj->id;

	WARN_ON(iommufd_object_kill(ictx, obj, id, IOMMUFD_KILL_DROP_REF));
}

/**
 * struct iommufd_ucmd - one ioctl call in flight
 * @cmd: kernel copy of the command, zero-extended to the kernel's size
 * @uptr_cmd: the user's command struct
 * @usize: the size userspace declared in the struct's first word
 * @ictx: the context the ioctl was issued on
 */
struct iommufd_ucmd {
	void *cmd;
	void __user *uptr_cmd;
	u32 usize;
	struct iommufd_ctx *ictx;
};

/* Copy the (updated) command back, truncated to what userspace knows. */
static inline int iommufd_ucmd_reply(struct iommufd_ucmd *ucmd,
				     size_t cmd_len)
{
	size_t n = min_t(size_t, ucmd->usize, cmd_len);

	return copy_to_user(ucmd->uptr_cmd, ucmd->cmd, n) ? -EFAULT : 0;
}

int iommufd_ucmd_reply_publish(struct iommufd_ucmd *ucmd,
			       struct iommufd_object *obj, u32 *out_id,
			       size_t cmd_len);

/* Every ioctl handler has this type. */
typedef int iommufd_ioctl_fn(struct iommufd_ucmd *ucmd);

/* ioas.c */
/**
 * struct iommufd_ioas - an I/O address space
 * @obj: object header
 * @hwpt_list: the paging hw_pagetables on this IOAS (ioas_link)
 * @mutex: serialises attaching hw_pagetables; protects @hwpt_list
 * @iopt: the address space
 */
struct iommufd_ioas {
	struct iommufd_object obj;
	struct list_head hwpt_list;
	struct mutex mutex;		/* see the kernel-doc above */
	struct io_pagetable iopt;
};

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx);
void iommufd_ioas_destroy(struct iommufd_object *obj);
iommufd_ioctl_fn iommufd_ioas_alloc_ioctl, iommufd_ioas_iova_ranges;
iommufd_ioctl_fn iommufd_ioas_allow_iovas, iommufd_ioas_option;
iommufd_ioctl_fn iommufd_ioas_map, iommufd_ioas_copy, iommufd_ioas_unmap;
int ioas_call_pinned(struct iommufd_ioas *ioas, int (*fn)(void *arg),
		     void *arg);

static inline struct iommufd_ioas *iommufd_ioas_get(struct iommufd_ctx *ictx,
						    u32 id)
{
	struct iommufd_object *obj = iommufd_obj_get(ictx, id,
						     IOMMUFD_OBJ_IOAS);

	return IS_ERR(obj) ? ERR_CAST(obj) :
			     container_of(obj, struct iommufd_ioas, obj);
}

/* hw_pagetable.c */
/**
 * struct iommufd_hw_pagetable - an iommu_domain userspace can name
 * @obj: object header; @obj.refs counts the attached devices
 * @domain: the domain
 * @fault: the queue the domain's I/O page faults go to, or NULL;
 *	referenced
 */
struct iommufd_hw_pagetable {
	struct iommufd_object obj;
	struct iommu_domain *domain;
	struct iommufd_fault *fault;
};

/**
 * struct iommufd_hwpt_paging - a hw_pagetable mirroring an IOAS
 * @base: the hw_pagetable
 * @auto_made: made by attaching a device to the IOAS; destroyed when the
 *	last device leaves
 * @nest_parent: made with IOMMU_HWPT_ALLOC_NEST_PARENT: nested
 *	hw_pagetables may be built on it, and attaching never picks it
 *	automatically
 * @snoop_enforced: the domain blocks non-snooped DMA
 * @msi_start: first IOVA of the software MSI window the domain maps MSI
 *	doorbells in (it has the MSI cookie), or PHYS_ADDR_MAX; reserved in
 *	the IOAS for the hw_pagetable's lifetime
 * @msi_last: last IOVA of that window
 * @ioas_link: on ioas->hwpt_list while the domain is in the io_pagetable
 * @ioas: the IOAS whose mappings the domain holds; referenced
 *
 * @snoop_enforced and the MSI window are set under igroup->mutex of an
 * attaching group and ioas->mutex.
 */
struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable base;
	bool auto_made;
	bool nest_parent;
	bool snoop_enforced;
	phys_addr_t msi_start;
	phys_addr_t msi_last;
	struct list_head ioas_link;
	struct iommufd_ioas *ioas;
};

static inline struct iommufd_hwpt_paging *
hwpt_to_paging(struct iommufd_hw_pagetable *hwpt)
{
	return container_of(hwpt, struct iommufd_hwpt_paging, base);
}

static inline bool hwpt_is_paging(struct iommufd_hw_pagetable *hwpt)
{
	return hwpt->obj.type == IOMMUFD_OBJ_HWPT_PAGING;
}

/**
 * struct iommufd_hwpt_nested - a user-managed stage-1 table on a parent
 * @base: the hw_pagetable; its domain is IOMMU_DOMAIN_NESTED, the format
 *	of its table is the driver's (the data type it was made with)
 * @parent: the paging hw_pagetable translating what the stage-1 table
 *	outputs; referenced, so it outlives its nested hw_pagetables
 */
struct iommufd_hwpt_nested {
	struct iommufd_hw_pagetable base;
	struct iommufd_hwpt_paging *parent;
};

static inline struct iommufd_hwpt_nested *
hwpt_to_nested(struct iommufd_hw_pagetable *hwpt)
{
	return container_of(hwpt, struct iommufd_hwpt_nested, base);
}

struct iommufd_device;

/* How hwpt_paging_create() brings in the device it makes a domain for. */
enum hwpt_join {
	HWPT_JOIN_NONE,		/* not at all; the caller attaches */
	HWPT_JOIN_ATTACH,	/* attaches it */
	HWPT_JOIN_REPLACE,	/* moves its attached group over */
};

struct iommufd_hwpt_paging *
hwpt_paging_create(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
		   struct iommufd_device *idev, u32 flags,
		   struct hwpt_user_data *user_data, enum hwpt_join join,
		   struct iommufd_hw_pagetable **old, unsigned int *num);
int hwpt_paging_join(struct iommufd_hwpt_paging *hwpt_paging,
		     struct iommufd_device *idev, bool replace,
		     struct iommufd_hw_pagetable **old, unsigned int *num);
void hwpt_paging_destroy(struct iommufd_object *obj);
void hwpt_nested_destroy(struct iommufd_object *obj);
iommufd_ioctl_fn iommufd_hwpt_alloc, iommufd_hwpt_invalidate;
iommufd_ioctl_fn iommufd_hwpt_set_dirty_tracking, iommufd_hwpt_get_dirty_bitmap;
void hwpt_paging_discard_locked(struct iommufd_ctx *ictx,
				struct iommufd_hwpt_paging *hwpt_paging);
int hwpt_attach_dev(struct iommufd_hw_pagetable *hwpt,
		    struct iommufd_device *idev);
struct iommufd_hw_pagetable *hwpt_detach_dev(struct iommufd_device *idev);
int hwpt_switch_group(struct iommufd_device *idev,
		      struct iommufd_hw_pagetable *hwpt,
		      struct iommufd_hw_pagetable **old, unsigned int *num);
void hwpt_drop_devs(struct iommufd_ctx *ictx,
		    struct iommufd_hw_pagetable *hwpt, unsigned int num);

/* device.c */
/**
 * struct iommufd_group - the iommu_group of bound devices, per context
 * @iommu_group: the iommu_group; referenced
 * @ictx: the context
 * @refs: one per device of the group being bound or bound
 * @bound: devices of the group that own DMA (bind done, unbind not begun)
 * @msi_start: first IOVA of the software MSI window of the group's
 *	devices (they all agree), or PHYS_ADDR_MAX
 * @msi_last: last IOVA of that window
 * @mutex: protects @hwpt, @attached_devs and @leaving_iopt
 * @attached_devs: the attached devices of the group (igroup_link)
 * @hwpt: the hw_pagetable the group is attached to, or NULL
 * @handle: the attachment to @hwpt if it has a fault queue, else NULL
 * @leaving_iopt: while a replace is not final yet (the domain is filled
 *	only after the group moved onto it), the io_pagetable the group left,
 *	where its attached devices' regions stay reserved so that the group
 *	can always move back; else NULL
 *
 * The MSI window is set when the igroup is made, by its first device.
 */
struct iommufd_group {
	struct iommu_group *iommu_group;
	struct iommufd_ctx *ictx;
	struct kref refs;
	atomic_t bound;
	phys_addr_t msi_start;
	phys_addr_t msi_last;
	struct mutex mutex;		/* see the kernel-doc above */
	struct list_head attached_devs;
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_attach_handle *handle;
	struct io_pagetable *leaving_iopt;
};

/**
 * struct iommufd_device - a device bound to a context
 * @obj: object header; the binding driver holds an extra ref, and so does
 *	the device's attachment
 * @dev: the device
 * @needs_snoop: the device's IOMMU can block its non-snooped DMA
 *	(IOMMU_CAP_ENFORCE_CACHE_COHERENCY), so its domain must do that
 * @igroup: the device's group in this context; referenced
 * @igroup_link: on igroup->attached_devs while attached
 * @ictx: the context; referenced
 */
struct iommufd_device {
	struct iommufd_object obj;
	struct device *dev;
	bool needs_snoop;
	struct iommufd_group *igroup;
	struct list_head igroup_link;
	struct iommufd_ctx *ictx;
};

void iommufd_device_destroy(struct iommufd_object *obj);
void __iommufd_device_unbind(struct iommufd_device *idev);
iommufd_ioctl_fn iommufd_get_hw_info;

static inline struct iommufd_device *
iommufd_device_get(struct iommufd_ctx *ictx, u32 id)
{
	struct iommufd_object *obj = iommufd_obj_get(ictx, id,
						     IOMMUFD_OBJ_DEVICE);

	return IS_ERR(obj) ? ERR_CAST(obj) :
			     container_of(obj, struct iommufd_device, obj);
}

/* fault.c */
/**
 * struct iommufd_fault - a fault queue (see fault.c)
 * @obj: object header; the open file holds an extra ref
 * @ictx: the context; referenced by the open file
 * @mutex: protects @deliver, @response and @closed
 * @deliver: page request groups not read yet (iopf_group.node)
 * @response: read groups awaiting an answer, by cookie
 * @closed: the file is closed; new faults are refused
 * @wait: poll() waits here for @deliver
 * @filep: the file, until its descriptor is installed
 * @abort_fd: the descriptor reserved for it, until installed
 */
struct iommufd_fault {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct mutex mutex;		/* see the kernel-doc above */
	struct list_head deliver;
	struct xarray response;
	bool closed;
	wait_queue_head_t wait;
	struct file *filep;
	int abort_fd;
};

/**
 * struct iommufd_attach_handle - a group's attachment to a fault-capable
 *	hw_pagetable, which the IOMMU core hands to the fault handler
 * @handle: the core's part
 * @fault: the queue of the hw_pagetable
 * @idev: the device that attached the group, its only attached device
 */
struct iommufd_attach_handle {
	struct iommu_attach_handle handle;
	struct iommufd_fault *fault;
	struct iommufd_device *idev;
};

struct iopf_group;
iommufd_ioctl_fn iommufd_fault_alloc;
void iommufd_fault_destroy(struct iommufd_object *obj);
void iommufd_fault_abort(struct iommufd_object *obj);
int iommufd_fault_iopf_handler(struct iopf_group *group);
void iommufd_fault_respond_handle(struct iommufd_attach_handle *handle);

/* vfio_compat.c */
iommufd_ioctl_fn iommufd_vfio_ioas;
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg);

/* access.c */
/**
 * struct iommufd_access - an in-kernel user of an IOAS
 * @obj: object header; the creating driver holds an extra ref
 * @ops: the driver's callbacks
 * @data: the driver's cookie for @ops
 * @ioas_mutex: serialises attach/detach against pins; protects the fields
 *	below but @list_id and @ictx
 * @ioas: the IOAS pins and reads go to; NULL while detached and while the
 *	access leaves an IOAS
 * @ioas_unpin: the IOAS attached to, where the access's pins live, or
 *	NULL; referenced
 * @pins: the IOVA ranges the access has pinned (struct access_pin)
 * @list_id: index in ioas->iopt.accesses
 * @ictx: the context; referenced
 */
struct iommufd_access {
	struct iommufd_object obj;
	const struct iommufd_access_ops *ops;
	void *data;
	struct mutex ioas_mutex;	/* see the kernel-doc above */
	struct iommufd_ioas *ioas;
	struct iommufd_ioas *ioas_unpin;
	struct rb_root_cached pins;
	u32 list_id;
	struct iommufd_ctx *ictx;
};

void iommufd_access_destroy_obj(struct iommufd_object *obj);
void iommufd_access_notify_unmap(struct io_pagetable *iopt,
				 unsigned long first, unsigned long last);

/*
 * selftest.c, built with CONFIG_IOMMUFD_TEST only: callers test
 * IS_ENABLED(CONFIG_IOMMUFD_TEST) first, so the calls vanish otherwise.
 */
extern size_t iommufd_test_memory_limit;
bool iommufd_should_fail(void);
int iommufd_test(struct iommufd_ucmd *ucmd);
void iommufd_selftest_destroy(struct iommufd_object *obj);
int iommufd_test_init(void);
void iommufd_test_exit(void);

#endif
