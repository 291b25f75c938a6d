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
 * Lock order, outermost first:
 *   ictx->ioas_creation_lock   (VFIO compat: creating/choosing the compat IOAS)
 *   xa_lock(&ictx->objects)    (the ID table; spinlock, nothing nests inside)
 * Locks owned by other files (io_pagetable, pages, devices) are documented
 * with their structures and are always taken outside xa_lock.
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
 * @destroy_wait: woken when an object's @lookups count drains to zero
 * @ioas_creation_lock: serialises creation of the VFIO compatibility IOAS
 * @account_mode: how new pinnings are charged (enum iommufd_account_mode)
 * @vfio_ioas: the IOAS VFIO compatibility works on, or NULL
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
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
 * Allocate an object of C type @type (which embeds struct iommufd_object as
 * member "obj", at offset 0) and reserve an ID for it.  Evaluates to the new
 * object or an ERR_PTR.
 */
#define iommufd_object_alloc(ictx, type, obj_type)                             \
	((type *)__iommufd_object_alloc(                                       \
		ictx, sizeof(type) + BUILD_BUG_ON_ZERO(offsetof(type, obj)),   \
		obj_type))

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
	/* The caller is userspace: refuse with EBUSY while others hold refs. */
	IOMMUFD_REMOVE_USER = 1 << 0,
};

int iommufd_object_remove(struct iommufd_ctx *ictx,
			  struct iommufd_object *to_destroy, u32 id,
			  unsigned int flags);

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
struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
};

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx);
void iommufd_ioas_destroy(struct iommufd_object *obj);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);

static inline struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx,
						    u32 id)
{
	return (struct iommufd_ioas *)iommufd_get_object(ictx, id,
							 IOMMUFD_OBJ_IOAS);
}

#endif
