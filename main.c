// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * /dev/iommu itself: the misc device, one struct iommufd_ctx per open, the
 * object ID table of each context, and the ioctl dispatch table.
 *
 * The table holds every object of a context; the rules for building,
 * finding and removing objects are in iommufd_private.h.  The dispatch
 * table has one line per command: its number, struct, last mandatory member
 * and handler.  From it, the generic code enforces the size rules of the
 * uAPI before a handler runs: a struct shorter than the command's first
 * version is EINVAL, a longer one is accepted only if the bytes we do not
 * know are zero (else E2BIG), and the handler always sees the kernel's full
 * struct, zero-extended.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "iommufd_private.h"
#ifdef CONFIG_IOMMUFD_TEST
#include "iommufd_test.h"
#endif

/*
 * What each object type does when it goes: @destroy releases everything a
 * published object holds, after the last lookup drained; @abort undoes a
 * complete object that was never published (its creating ioctl could not
 * answer), where that differs from destroying it.
 */
struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
	void (*abort)(struct iommufd_object *obj);
};

static const struct iommufd_object_ops iommufd_object_ops[] = {
	[IOMMUFD_OBJ_IOAS] = { .destroy = iommufd_ioas_destroy },
	[IOMMUFD_OBJ_DEVICE] = { .destroy = iommufd_device_destroy },
	[IOMMUFD_OBJ_HWPT_PAGING] = { .destroy = hwpt_paging_destroy },
	[IOMMUFD_OBJ_HWPT_NESTED] = { .destroy = hwpt_nested_destroy },
	[IOMMUFD_OBJ_ACCESS] = { .destroy = iommufd_access_destroy_obj },
	[IOMMUFD_OBJ_FAULT] = { .destroy = iommufd_fault_destroy,
				.abort = iommufd_fault_abort },
#ifdef CONFIG_IOMMUFD_TEST
	[IOMMUFD_OBJ_SELFTEST] = { .destroy = iommufd_selftest_destroy },
#endif
};

static_assert(ARRAY_SIZE(iommufd_object_ops) <= IOMMUFD_OBJ_NR_TYPES);

/* Run the destroy op and free the memory; the ID is already gone. */
static void iommufd_object_free(struct iommufd_object *obj)
{
	iommufd_object_ops[obj->type].destroy(obj);
	kfree(obj);
}

struct iommufd_object *iommufd_object_new_raw(struct iommufd_ctx *ictx,
					      size_t size,
					      enum iommufd_object_type type)
{
	struct iommufd_object *obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	int rc;

	if (!obj)
		return ERR_PTR(-ENOMEM);
	*obj = (struct iommufd_object){
		.type = type,
		.refs = REFCOUNT_INIT(1),
		.lookups = REFCOUNT_INIT(1),
	};
	/* A zero entry reserves the ID; lookups see nothing there yet. */
	rc = xa_alloc(&ictx->objects, &obj->id, XA_ZERO_ENTRY, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	if (!rc)
		return obj;
	kfree(obj);
	return ERR_PTR(rc);
}

/* Publish a completely built object under its reserved ID. */
void iommufd_object_publish(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj)
{
	/* Overwriting the reserved slot never needs memory. */
	WARN_ON(xa_store(&ictx->objects, obj->id, obj, GFP_KERNEL));
}

/* Release the ID of an object that was never published, and free it. */
void iommufd_object_discard(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj)
{
	WARN_ON(xa_erase(&ictx->objects, obj->id));
	kfree(obj);
}

/* Undo whatever the object's constructor did, then discard it. */
void iommufd_object_undo(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	const struct iommufd_object_ops *ops = &iommufd_object_ops[obj->type];

	if (ops->abort)
		ops->abort(obj);
	else
		ops->destroy(obj);
	iommufd_object_discard(ictx, obj);
}

/**
 * iommufd_ucmd_reply_publish() - answer a creating ioctl and publish
 * @ucmd: the call
 * @obj: the object the call built, not yet published
 * @out_id: where in ucmd->cmd the object's ID goes
 * @cmd_len: size of the kernel's command struct
 *
 * The object becomes visible only if userspace got its ID; otherwise it is
 * undone, so a failed call leaves nothing behind.
 *
 * Return: 0 or -EFAULT.
 */
int iommufd_ucmd_reply_publish(struct iommufd_ucmd *ucmd,
			       struct iommufd_object *obj, u32 *out_id,
			       size_t cmd_len)
{
	int rc;

	*out_id = obj->id;
	rc = iommufd_ucmd_reply(ucmd, cmd_len);

	if (rc)
		iommufd_object_undo(ucmd->ictx, obj);
	else
		iommufd_object_publish(ucmd->ictx, obj);
	return rc;
}

static bool iommufd_obj_matches(struct iommufd_object *obj,
				enum iommufd_object_type type)
{
	return obj && (type == IOMMUFD_OBJ_ANY || obj->type == type);
}

/**
 * iommufd_obj_get() - look up a published object and hold it
 * @ictx: the context
 * @id: the ID userspace gave
 * @type: the type the caller needs, or IOMMUFD_OBJ_ANY
 *
 * Return: the object, which stays valid until iommufd_obj_put(), or
 * ERR_PTR(-ENOENT) when @id names no published object of @type.
 */
struct iommufd_object *iommufd_obj_get(struct iommufd_ctx *ictx, u32 id,
				       enum iommufd_object_type type)
{
	struct iommufd_object *obj, *found = ERR_PTR(-ENOENT);

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (iommufd_obj_matches(obj, type) && iommufd_obj_hold(obj))
		found = obj;
	xa_unlock(&ictx->objects);
	return found;
}

/**
 * iommufd_object_kill() - unpublish, drain and destroy one object
 * @ictx: the context
 * @to_destroy: the object the caller means, or NULL to go by @id alone
 * @id: the object's ID
 * @flags: IOMMUFD_KILL_* flags
 *
 * The object disappears from the table at once; then the lookups still in
 * flight are waited for, and if none of them took a long-term ref the
 * object is destroyed.  The caller must not hold a lookup on it.
 *
 * Every ref dropped while the object may be dying is dropped under the
 * table's lock (IOMMUFD_KILL_DROP_REF), so the check that nothing depends
 * on the object cannot miss a ref that is going away.
 *
 * Return: 0 when destroyed; -ENOENT if @id does not name the object;
 * -EBUSY if something else still depends on it (nothing is changed).
 */
int iommufd_object_kill(struct iommufd_ctx *ictx,
			struct iommufd_object *to_destroy, u32 id,
			unsigned int flags)
{
	bool busy_ok = flags & (IOMMUFD_KILL_BUSY_OK | IOMMUFD_KILL_USER);
	struct iommufd_object *obj;
	int rc = 0;

	/* Step 1: take it out of the table, keeping the ID reserved. */
	xa_lock(&ictx->objects);
	if (flags & IOMMUFD_KILL_DROP_REF)
		refcount_dec(&to_destroy->refs);
	obj = xa_load(&ictx->objects, id);
	if (!obj || (to_destroy && obj != to_destroy))
		rc = -ENOENT;
	else if (refcount_read(&obj->refs) > 1)
		rc = -EBUSY;
	/* Userspace may not destroy what another of its ioctls is using. */
	else if ((flags & IOMMUFD_KILL_USER) &&
		 refcount_read(&obj->lookups) > 1)
		rc = -EBUSY;
	else
		__xa_store(&ictx->objects, id, XA_ZERO_ENTRY, 0);
	xa_unlock(&ictx->objects);
	if (rc) {
		/* In-kernel owners guarantee nothing depends on the object. */
		WARN_ON(rc == -EBUSY && !busy_ok);
		return rc;
	}

	/* Step 2: drop the published lookup, wait out the others. */
	if (!refcount_dec_and_test(&obj->lookups))
		wait_event(ictx->drained, !refcount_read(&obj->lookups));

	/*
	 * Step 3: a lookup in flight may have made it a dependency.  No new
	 * ref can be taken now, only dropped (under the lock).
	 */
	xa_lock(&ictx->objects);
	if (refcount_read(&obj->refs) > 1) {
		refcount_set(&obj->lookups, 1);
		/* Our zero entry still holds the slot: no memory needed. */
		__xa_store(&ictx->objects, id, obj, 0);
		rc = -EBUSY;
	} else {
		__xa_erase(&ictx->objects, id);
		/* VFIO compatibility forgets its IOAS with it. */
		if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
			ictx->vfio_ioas = NULL;
	}
	xa_unlock(&ictx->objects);
	if (rc) {
		WARN_ON(!busy_ok);
		return rc;
	}
	iommufd_object_free(obj);
	return 0;
}

static int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iommufd_object_kill(ucmd->ictx, NULL, cmd->id,
				   IOMMUFD_KILL_USER);
}

/* Switching is only allowed before anything could have been charged. */
static int iommufd_set_account_mode(struct iommufd_ctx *ictx, u64 val)
{
	int rc = -EBUSY;

	if (!capable(CAP_SYS_RESOURCE))
		return -EPERM;
	xa_lock(&ictx->objects);
	if (xa_empty(&ictx->objects)) {
		rc = val > 1 ? -EINVAL : 0;
		if (!rc)
			ictx->account_mode = val ? IOMMUFD_ACCOUNT_MM :
						   IOMMUFD_ACCOUNT_USER;
	}
	xa_unlock(&ictx->objects);
	return rc;
}

/* IOMMU_OPTION_RLIMIT_MODE: a setting of the whole context. */
static int iommufd_option_rlimit_mode(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;

	/* A setting of the context, not of an object. */
	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_SET)
		return iommufd_set_account_mode(ucmd->ictx, cmd->val64);
	if (cmd->op != IOMMU_OPTION_OP_GET)
		return -EOPNOTSUPP;
	cmd->val64 = ucmd->ictx->account_mode == IOMMUFD_ACCOUNT_MM;
	return 0;
}

static iommufd_ioctl_fn *const iommufd_option_ops[] = {
	[IOMMU_OPTION_RLIMIT_MODE] = iommufd_option_rlimit_mode,
	[IOMMU_OPTION_HUGE_PAGES] = iommufd_ioas_option,
};

static int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	iommufd_ioctl_fn *fn = NULL;
	int rc;

	if (cmd->option_id < ARRAY_SIZE(iommufd_option_ops))
		fn = iommufd_option_ops[cmd->option_id];
	if (cmd->__reserved || !fn)
		return -EOPNOTSUPP;
	rc = fn(ucmd);
	return rc ? rc : iommufd_ucmd_reply(ucmd, sizeof(*cmd));
}

/* Room for the kernel's copy of any command struct (checked per command). */
#define IOMMUFD_CMD_BUF_SIZE 80

/**
 * struct iommufd_ioctl_op - one line of the dispatch table
 * @ioctl_num: the full ioctl number; anything else with this nr is ENOTTY
 * @struct_size: size of the kernel's struct for the command
 * @min_size: end of the last member the command's first version had
 * @handler: runs the command on the kernel copy in ucmd->cmd
 */
struct iommufd_ioctl_op {
	unsigned int ioctl_num;
	unsigned int struct_size;
	unsigned int min_size;
	iommufd_ioctl_fn *handler;
};

/*
 * IOMMUFD_IOCTL(X, ...) serves IOMMU_X; its slot is the command number
 * minus IOMMUFD_CMD_BASE.
 */
#define IOMMUFD_IOCTL(_name, _type, _last_mandatory, _handler)                \
	[_IOC_NR(IOMMU_##_name) - IOMMUFD_CMD_BASE] = {                       \
		.ioctl_num = IOMMU_##_name,                                   \
		.struct_size = sizeof(_type) +                                \
			BUILD_BUG_ON_ZERO(sizeof(_type) >                     \
					  IOMMUFD_CMD_BUF_SIZE),              \
		.min_size = offsetofend(_type, _last_mandatory),              \
		.handler = _handler,                                          \
	}

static const struct iommufd_ioctl_op iommufd_ioctl_ops[] = {
	IOMMUFD_IOCTL(DESTROY, struct iommu_destroy, id, iommufd_destroy),
	IOMMUFD_IOCTL(IOAS_ALLOC, struct iommu_ioas_alloc, out_ioas_id,
		      iommufd_ioas_alloc_ioctl),
	IOMMUFD_IOCTL(IOAS_ALLOW_IOVAS, struct iommu_ioas_allow_iovas,
		      allowed_iovas, iommufd_ioas_allow_iovas),
	IOMMUFD_IOCTL(IOAS_COPY, struct iommu_ioas_copy, src_iova,
		      iommufd_ioas_copy),
	IOMMUFD_IOCTL(IOAS_IOVA_RANGES, struct iommu_ioas_iova_ranges,
		      out_iova_alignment, iommufd_ioas_iova_ranges),
	IOMMUFD_IOCTL(IOAS_MAP, struct iommu_ioas_map, iova, iommufd_ioas_map),
	IOMMUFD_IOCTL(IOAS_UNMAP, struct iommu_ioas_unmap, length,
		      iommufd_ioas_unmap),
	IOMMUFD_IOCTL(OPTION, struct iommu_option, val64, iommufd_option),
	IOMMUFD_IOCTL(VFIO_IOAS, struct iommu_vfio_ioas, __reserved,
		      iommufd_vfio_ioas),
	IOMMUFD_IOCTL(HWPT_ALLOC, struct iommu_hwpt_alloc, __reserved,
		      iommufd_hwpt_alloc),
	IOMMUFD_IOCTL(GET_HW_INFO, struct iommu_hw_info, __reserved,
		      iommufd_get_hw_info),
	IOMMUFD_IOCTL(HWPT_SET_DIRTY_TRACKING,
		      struct iommu_hwpt_set_dirty_tracking, __reserved,
		      iommufd_hwpt_set_dirty_tracking),
	IOMMUFD_IOCTL(HWPT_GET_DIRTY_BITMAP, struct iommu_hwpt_get_dirty_bitmap,
		      data, iommufd_hwpt_get_dirty_bitmap),
	IOMMUFD_IOCTL(HWPT_INVALIDATE, struct iommu_hwpt_invalidate,
		      __reserved, iommufd_hwpt_invalidate),
	IOMMUFD_IOCTL(FAULT_QUEUE_ALLOC, struct iommu_fault_alloc,
		      out_fault_fd, iommufd_fault_alloc),
#ifdef CONFIG_IOMMUFD_TEST
	IOMMUFD_IOCTL(TEST_CMD, struct iommu_test_cmd, last, iommufd_test),
#endif
};

/* The table line for @cmd, or NULL if no command has that number. */
static const struct iommufd_ioctl_op *iommufd_find_op(unsigned int cmd)
{
	unsigned int slot = _IOC_NR(cmd) - IOMMUFD_CMD_BASE;

	/* Numbers below the base wrap around to huge slots. */
	if (slot >= ARRAY_SIZE(iommufd_ioctl_ops) ||
	    iommufd_ioctl_ops[slot].ioctl_num != cmd)
		return NULL;
	return &iommufd_ioctl_ops[slot];
}

static long iommufd_fops_ioctl(struct file *filp, unsigned int cmd,
			       unsigned long arg)
{
	const struct iommufd_ioctl_op *op = iommufd_find_op(cmd);
	u64 buf[IOMMUFD_CMD_BUF_SIZE / sizeof(u64)];
	struct iommufd_ucmd ucmd = {
		.cmd = buf,
		.uptr_cmd = (void __user *)arg,
		.ictx = filp->private_data,
	};
	int rc;

	/* The VFIO container ioctls share our ioctl type, below our base. */
	if (!op) {
		rc = iommufd_vfio_ioctl(ucmd.ictx, cmd, arg);
		return rc == -ENOIOCTLCMD ? -ENOTTY : rc;
	}
	if (get_user(ucmd.usize, (u32 __user *)ucmd.uptr_cmd))
		return -EFAULT;
	if (ucmd.usize < op->min_size)
		return -EINVAL;
	/* Zero-extends short structs; E2BIG for nonzero bytes we lack. */
	rc = copy_struct_from_user(ucmd.cmd, op->struct_size, ucmd.uptr_cmd,
				   ucmd.usize);
	return rc ? rc : op->handler(&ucmd);
}

static struct miscdevice vfio_misc_dev;

static int iommufd_fops_open(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx;

	/* misc_open() left the device opened in private_data. */
	if (filp->private_data == &vfio_misc_dev)
		pr_info_once("iommufd is providing /dev/vfio/vfio, not VFIO\n");
	ictx = kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT);
	if (!ictx)
		return -ENOMEM;
	/* The open file's reference. */
	kref_init(&ictx->users);
	xa_init_flags(&ictx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	init_waitqueue_head(&ictx->drained);
	xa_init(&ictx->groups);
	ictx->account_mode = IOMMUFD_ACCOUNT_USER;
	init_rwsem(&ictx->ioas_creation_lock);
	filp->private_data = ictx;
	return 0;
}

/*
 * Destroy every object nothing depends on, sweep after sweep, so that
 * dependents go before what they depend on.
 */
static void iommufd_sweep(struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj;
	unsigned long id;
	bool progress;

	do {
		progress = false;
		xa_for_each(&ictx->objects, id, obj) {
			if (!iommufd_object_kill(ictx, NULL, id,
						 IOMMUFD_KILL_BUSY_OK))
				progress = true;
		}
	} while (progress);
}

/*
 * The file is closed and no kernel user is left: no ioctl or driver call
 * can come, and nothing can depend on anything any more.
 */
static void iommufd_ctx_release(struct kref *kref)
{
	struct iommufd_ctx *ictx = container_of(kref, struct iommufd_ctx,
						users);

	iommufd_sweep(ictx);
	WARN_ON(!xa_empty(&ictx->objects));
	WARN_ON(!xa_empty(&ictx->groups));
	kfree(ictx);
}

/*
 * Userspace closed the file.  Kernel users (a bound VFIO device, an access)
 * keep the whole context, objects and all, until they let go: a device
 * can still be attached to an IOAS by ID, say.
 */
static int iommufd_fops_release(struct inode *inode, struct file *filp)
{
	iommufd_ctx_put(filp->private_data);
	return 0;
}

static const struct file_operations iommufd_fops = {
	.open = iommufd_fops_open,
	.unlocked_ioctl = iommufd_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = iommufd_fops_release,
	.owner = THIS_MODULE,
};

/**
 * iommufd_ctx_get() - take a reference on a context
 * @ictx: the context
 *
 * The context, and the objects kernel drivers own in it, live until every
 * holder called iommufd_ctx_put() and userspace closed the file.
 */
void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
	kref_get(&ictx->users);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_get, IOMMUFD);

/**
 * iommufd_ctx_put() - drop a reference taken on a context
 * @ictx: the context
 *
 * The last reference destroys what is left of the context (unmapping and
 * unpinning all of it), right here: the caller may sleep and must hold no
 * lock of iommufd nor a lookup of one of its objects.
 */
void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	might_sleep();
	kref_put(&ictx->users, iommufd_ctx_release);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_put, IOMMUFD);

/**
 * iommufd_ctx_from_file() - the context behind an open /dev/iommu file
 * @file: a file the caller holds
 *
 * Return: the context with a reference the caller must drop with
 * iommufd_ctx_put(), or ERR_PTR(-EBADFD) if @file is not /dev/iommu.
 */
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	if (file->f_op != &iommufd_fops)
		return ERR_PTR(-EBADFD);
	iommufd_ctx_get(file->private_data);
	return file->private_data;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_file, IOMMUFD);

/**
 * iommufd_ctx_from_fd() - the context behind a file descriptor
 * @fd: a descriptor of the current task
 *
 * Return: the context with a reference the caller must drop with
 * iommufd_ctx_put(); ERR_PTR(-EBADF) for a bad descriptor or
 * ERR_PTR(-EBADFD) if it is not /dev/iommu.
 */
struct iommufd_ctx *iommufd_ctx_from_fd(int fd)
{
	CLASS(fd, f)(fd);

	if (fd_empty(f))
		return ERR_PTR(-EBADF);
	return iommufd_ctx_from_file(fd_file(f));
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_fd, IOMMUFD);

static struct miscdevice iommu_misc_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "iommu",
	.mode = 0660,
	.fops = &iommufd_fops,
};

/*
 * The VFIO container, with IOMMUFD_VFIO_CONTAINER: the same file
 * operations, so VFIO's iommufd_ctx_from_file() accepts it as well.
 */
static struct miscdevice vfio_misc_dev = {
	.minor = VFIO_MINOR,
	.name = "vfio",
	.nodename = "vfio/vfio",
	.mode = 0666,
	.fops = &iommufd_fops,
};

/* Our character devices: registered in this order, removed in reverse. */
static struct miscdevice *const iommufd_misc_devs[] = {
	&iommu_misc_dev,
#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
	&vfio_misc_dev,
#endif
};

/* Remove the first @n of them. */
static void iommufd_misc_remove(unsigned int n)
{
	while (n--)
		misc_deregister(iommufd_misc_devs[n]);
}

static int __init iommufd_init(void)
{
	unsigned int n;
	int rc;

	for (n = 0; n != ARRAY_SIZE(iommufd_misc_devs); n++) {
		rc = misc_register(iommufd_misc_devs[n]);
		if (rc)
			goto out_remove;
	}
	if (!IS_ENABLED(CONFIG_IOMMUFD_TEST))
		return 0;
	rc = iommufd_test_init();
	if (!rc)
		return 0;
out_remove:
	iommufd_misc_remove(n);
	return rc;
}

static void __exit iommufd_exit(void)
{
	if (IS_ENABLED(CONFIG_IOMMUFD_TEST))
		iommufd_test_exit();
	iommufd_misc_remove(ARRAY_SIZE(iommufd_misc_devs));
}

module_init(iommufd_init);
module_exit(iommufd_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("I/O address space management for userspace");
/* iommu_group_replace_domain() and the attach-handle calls. */
MODULE_IMPORT_NS(IOMMUFD_INTERNAL);
#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
/* Loaded on first open of /dev/vfio/vfio, as VFIO's container is. */
MODULE_ALIAS("devname:vfio/vfio");
MODULE_ALIAS_MISCDEV(VFIO_MINOR);
#endif
