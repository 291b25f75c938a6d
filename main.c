// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * /dev/iommu itself: the misc device, one struct iommufd_ctx per open, the
 * object ID table of each context, and the ioctl dispatch table.
 *
 * The table holds every object of a context; the rules for building,
 * finding and removing objects are in iommufd_private.h.  The dispatch
 * table has one line per command: its number, handler, struct and last
 * mandatory member.  From it, the generic code enforces the size rules of
 * the uAPI before a handler runs: a struct shorter than the command's first
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

static const struct iommufd_object_ops iommufd_object_ops[IOMMUFD_OBJ_MAX] = {
	[IOMMUFD_OBJ_DEVICE] = { .destroy = iommufd_device_destroy },
	[IOMMUFD_OBJ_HWPT_PAGING] = { .destroy = iommufd_hwpt_paging_destroy },
	[IOMMUFD_OBJ_IOAS] = { .destroy = iommufd_ioas_destroy },
	[IOMMUFD_OBJ_ACCESS] = { .destroy = iommufd_access_destroy_object },
#ifdef CONFIG_IOMMUFD_TEST
	[IOMMUFD_OBJ_SELFTEST] = { .destroy = iommufd_selftest_destroy },
#endif
};

struct iommufd_object *__iommufd_object_alloc(struct iommufd_ctx *ictx,
					      size_t size,
					      enum iommufd_object_type type)
{
	struct iommufd_object *obj;
	int rc;

	obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	obj->type = type;
	refcount_set(&obj->lookups, 1);
	refcount_set(&obj->refs, 1);

	/* A zero entry reserves the ID; lookups see nothing there yet. */
	rc = xa_alloc(&ictx->objects, &obj->id, XA_ZERO_ENTRY, xa_limit_32b,
		      GFP_KERNEL_ACCOUNT);
	if (rc) {
		kfree(obj);
		return ERR_PTR(rc);
	}
	return obj;
}

/* Publish a completely built object under its reserved ID. */
void iommufd_object_finalize(struct iommufd_ctx *ictx,
			     struct iommufd_object *obj)
{
	void *old;

	/* Overwriting the reserved slot never needs memory. */
	old = xa_store(&ictx->objects, obj->id, obj, GFP_KERNEL);
	WARN_ON(old);
}

/* Release the ID of an object that was never published, and free it. */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	void *old;

	old = xa_erase(&ictx->objects, obj->id);
	WARN_ON(old);
	kfree(obj);
}

/* Undo whatever the object's constructor did, then abort it. */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx,
				      struct iommufd_object *obj)
{
	const struct iommufd_object_ops *ops = &iommufd_object_ops[obj->type];

	if (ops->abort)
		ops->abort(obj);
	else
		ops->destroy(obj);
	iommufd_object_abort(ictx, obj);
}

/**
 * iommufd_get_object() - look up a published object and hold it
 * @ictx: the context
 * @id: the ID userspace gave
 * @type: the type the caller needs, or IOMMUFD_OBJ_ANY
 *
 * Return: the object, which stays valid until iommufd_put_object(), or
 * ERR_PTR(-ENOENT) when @id names no published object of @type.
 */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (!obj || (type != IOMMUFD_OBJ_ANY && obj->type != type) ||
	    !refcount_inc_not_zero(&obj->lookups))
		obj = ERR_PTR(-ENOENT);
	xa_unlock(&ictx->objects);
	return obj;
}

/*
 * Unpublish @obj (leaving its ID reserved) if only the table depends on it.
 * On success the published lookup reference is ours to drop.
 */
static int iommufd_object_unpublish(struct iommufd_ctx *ictx,
				    struct iommufd_object *to_destroy, u32 id,
				    struct iommufd_object **out)
{
	struct iommufd_object *obj;
	int rc = 0;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (!obj || (to_destroy && obj != to_destroy))
		rc = -ENOENT;
	else if (refcount_read(&obj->refs) != 1)
		rc = -EBUSY;
	else
		__xa_store(&ictx->objects, id, XA_ZERO_ENTRY, 0);
	xa_unlock(&ictx->objects);

	*out = obj;
	return rc;
}

/*
 * A lookup that was in flight took a long-term ref: put the object back as
 * it was.  The slot still holds our zero entry, so this cannot fail.
 */
static void iommufd_object_republish(struct iommufd_ctx *ictx,
				     struct iommufd_object *obj)
{
	refcount_set(&obj->lookups, 1);
	xa_store(&ictx->objects, obj->id, obj, 0);
}

/**
 * iommufd_object_remove() - unpublish, drain and destroy one object
 * @ictx: the context
 * @to_destroy: the object the caller means, or NULL to go by @id alone
 * @id: the object's ID
 * @flags: IOMMUFD_REMOVE_* flags
 *
 * The object disappears from the table at once; then the lookups still in
 * flight are waited for, and if none of them took a long-term ref the
 * object is destroyed.  The caller must not hold a lookup on it.
 *
 * Return: 0 when destroyed; -ENOENT if @id does not name the object;
 * -EBUSY if something else still depends on it (nothing is changed).
 */
int iommufd_object_remove(struct iommufd_ctx *ictx,
			  struct iommufd_object *to_destroy, u32 id,
			  unsigned int flags)
{
	struct iommufd_object *obj;
	int rc;

	rc = iommufd_object_unpublish(ictx, to_destroy, id, &obj);
	if (rc) {
		/* In-kernel owners guarantee nothing depends on the object. */
		WARN_ON(rc == -EBUSY && !(flags & IOMMUFD_REMOVE_BUSY_OK));
		return rc;
	}

	if (!refcount_dec_and_test(&obj->lookups))
		wait_event(ictx->destroy_wait,
			   refcount_read(&obj->lookups) == 0);

	if (refcount_read(&obj->refs) != 1) {
		iommufd_object_republish(ictx, obj);
		return -EBUSY;
	}

	xa_erase(&ictx->objects, id);
	iommufd_object_ops[obj->type].destroy(obj);
	kfree(obj);
	return 0;
}

static int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iommufd_object_remove(ucmd->ictx, NULL, cmd->id,
				     IOMMUFD_REMOVE_BUSY_OK);
}

/* IOMMU_OPTION_RLIMIT_MODE: a setting of the whole context. */
static int iommufd_option_rlimit_mode(struct iommu_option *cmd,
				      struct iommufd_ctx *ictx)
{
	int rc = 0;

	if (cmd->object_id)
		return -EINVAL;

	switch (cmd->op) {
	case IOMMU_OPTION_OP_GET:
		cmd->val64 = ictx->account_mode == IOMMUFD_ACCOUNT_MM;
		return 0;
	case IOMMU_OPTION_OP_SET:
		break;
	default:
		return -EOPNOTSUPP;
	}

	if (!capable(CAP_SYS_RESOURCE))
		return -EPERM;
	if (cmd->val64 > 1)
		return -EINVAL;

	/* Switching is only allowed before anything could have been charged. */
	xa_lock(&ictx->objects);
	if (!xa_empty(&ictx->objects))
		rc = -EBUSY;
	else
		ictx->account_mode = cmd->val64 ? IOMMUFD_ACCOUNT_MM :
						  IOMMUFD_ACCOUNT_USER;
	xa_unlock(&ictx->objects);
	return rc;
}

static int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		rc = iommufd_option_rlimit_mode(cmd, ucmd->ictx);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		rc = iommufd_ioas_option(ucmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;
	return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
}

/*
 * Commands whose objects are not implemented yet: the generic size checks
 * still apply, then the command is refused.
 */
static int iommufd_not_supported(struct iommufd_ucmd *ucmd)
{
	return -EOPNOTSUPP;
}

/* Room for the kernel's copy of any command struct. */
union iommufd_cmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_fault_alloc fault;
	struct iommu_hw_info info;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hwpt_get_dirty_bitmap get_dirty_bitmap;
	struct iommu_hwpt_invalidate cache;
	struct iommu_hwpt_set_dirty_tracking set_dirty_tracking;
	struct iommu_ioas_alloc alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_unmap unmap;
	struct iommu_option option;
	struct iommu_vfio_ioas vfio_ioas;
#ifdef CONFIG_IOMMUFD_TEST
	struct iommu_test_cmd test;
#endif
};

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
	int (*handler)(struct iommufd_ucmd *ucmd);
};

/*
 * One line per command: IOMMUFD_IOCTL(X, ...) serves IOMMU_X, whose number
 * is IOMMUFD_CMD_X.
 */
#define IOMMUFD_IOCTL(_name, _type, _last_mandatory, _handler)                \
	[_IOC_NR(IOMMU_##_name) - IOMMUFD_CMD_BASE] = {                       \
		.ioctl_num = IOMMU_##_name,                                   \
		.struct_size = sizeof(_type) +                                \
			BUILD_BUG_ON_ZERO(sizeof(_type) >                     \
					  sizeof(union iommufd_cmd_buffer)),  \
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
		      iommufd_not_supported),
	IOMMUFD_IOCTL(HWPT_ALLOC, struct iommu_hwpt_alloc, __reserved,
		      iommufd_not_supported),
	IOMMUFD_IOCTL(GET_HW_INFO, struct iommu_hw_info, __reserved,
		      iommufd_not_supported),
	IOMMUFD_IOCTL(HWPT_SET_DIRTY_TRACKING,
		      struct iommu_hwpt_set_dirty_tracking, __reserved,
		      iommufd_not_supported),
	IOMMUFD_IOCTL(HWPT_GET_DIRTY_BITMAP, struct iommu_hwpt_get_dirty_bitmap,
		      data, iommufd_not_supported),
	IOMMUFD_IOCTL(HWPT_INVALIDATE, struct iommu_hwpt_invalidate,
		      __reserved, iommufd_not_supported),
	IOMMUFD_IOCTL(FAULT_QUEUE_ALLOC, struct iommu_fault_alloc,
		      out_fault_fd, iommufd_not_supported),
#ifdef CONFIG_IOMMUFD_TEST
	IOMMUFD_IOCTL(TEST_CMD, struct iommu_test_cmd, last, iommufd_test),
#endif
};

static long iommufd_fops_ioctl(struct file *filp, unsigned int cmd,
			       unsigned long arg)
{
	const struct iommufd_ioctl_op *op;
	union iommufd_cmd_buffer buf;
	struct iommufd_ucmd ucmd = {
		.ictx = filp->private_data,
		.ubuffer = (void __user *)arg,
		.cmd = &buf,
	};
	unsigned int nr = _IOC_NR(cmd);
	int rc;

	if (nr < IOMMUFD_CMD_BASE ||
	    nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ioctl_ops))
		return -ENOTTY;
	op = &iommufd_ioctl_ops[nr - IOMMUFD_CMD_BASE];
	if (op->ioctl_num != cmd)
		return -ENOTTY;

	rc = get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer);
	if (rc)
		return rc;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	rc = copy_struct_from_user(ucmd.cmd, op->struct_size, ucmd.ubuffer,
				   ucmd.user_size);
	if (rc)
		return rc;
	return op->handler(&ucmd);
}

static int iommufd_fops_open(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx;

	ictx = kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT);
	if (!ictx)
		return -ENOMEM;

	ictx->file = filp;
	ictx->account_mode = IOMMUFD_ACCOUNT_USER;
	xa_init_flags(&ictx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	xa_init(&ictx->groups);
	init_waitqueue_head(&ictx->destroy_wait);
	init_rwsem(&ictx->ioas_creation_lock);
	filp->private_data = ictx;
	return 0;
}

/*
 * Destroy every object nothing else depends on; return how many went.
 * Only called when no ioctl or in-kernel user can be running.
 */
static unsigned int iommufd_destroy_unused(struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj;
	unsigned int destroyed = 0;
	unsigned long index;

	xa_for_each(&ictx->objects, index, obj) {
		if (refcount_read(&obj->refs) != 1)
			continue;
		xa_erase(&ictx->objects, index);
		iommufd_object_ops[obj->type].destroy(obj);
		kfree(obj);
		destroyed++;
	}
	return destroyed;
}

static int iommufd_fops_release(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx = filp->private_data;

	/*
	 * The last file reference is gone, so no ioctl is running and no
	 * in-kernel user (which holds the file) is left.  Objects that others
	 * depend on go in a later pass, once their dependents are destroyed.
	 */
	while (!xa_empty(&ictx->objects)) {
		if (WARN_ON(!iommufd_destroy_unused(ictx)))
			break;
	}
	WARN_ON(!xa_empty(&ictx->groups));
	kfree(ictx);
	return 0;
}

static const struct file_operations iommufd_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_fops_open,
	.release = iommufd_fops_release,
	.unlocked_ioctl = iommufd_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/**
 * iommufd_ctx_get() - take a reference on a context
 * @ictx: the context
 *
 * The reference is on the context's file: the context lives until every
 * holder called iommufd_ctx_put() and userspace closed the file.
 */
void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
	get_file(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_get, IOMMUFD);

/**
 * iommufd_ctx_from_file() - the context behind an open /dev/iommu file
 * @file: a file the caller holds
 *
 * Return: the context with a reference the caller must drop with
 * iommufd_ctx_put(), or ERR_PTR(-EBADFD) if @file is not /dev/iommu.
 */
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	struct iommufd_ctx *ictx;

	if (file->f_op != &iommufd_fops)
		return ERR_PTR(-EBADFD);
	ictx = file->private_data;
	iommufd_ctx_get(ictx);
	return ictx;
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
	struct file *file;

	file = fget(fd);
	if (!file)
		return ERR_PTR(-EBADF);
	if (file->f_op != &iommufd_fops) {
		fput(file);
		return ERR_PTR(-EBADFD);
	}
	/* The reference fget() took is the one handed to the caller. */
	return file->private_data;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_fd, IOMMUFD);

/**
 * iommufd_ctx_put() - drop a reference taken on a context
 * @ictx: the context
 */
void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	fput(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_put, IOMMUFD);

static struct miscdevice iommu_misc_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "iommu",
	.fops = &iommufd_fops,
	.nodename = "iommu",
	.mode = 0660,
};

static int __init iommufd_init(void)
{
	int rc;

	rc = misc_register(&iommu_misc_dev);
	if (rc)
		return rc;
	rc = iommufd_test_init();
	if (rc)
		misc_deregister(&iommu_misc_dev);
	return rc;
}

static void __exit iommufd_exit(void)
{
	iommufd_test_exit();
	misc_deregister(&iommu_misc_dev);
}

module_init(iommufd_init);
module_exit(iommufd_exit);

MODULE_IMPORT_NS(IOMMUFD_INTERNAL);
MODULE_DESCRIPTION("I/O address space management for userspace");
MODULE_LICENSE("GPL");
