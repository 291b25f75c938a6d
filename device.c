// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Bound devices, the in-kernel API VFIO uses for physical devices.
 *
 * A driver binds a device to a context; binding claims DMA ownership of
 * the device for the context, so nothing else can attach it to a domain.
 * Devices are bound one by one, but the IOMMU translates per iommu_group,
 * so the bound devices of a group share one struct iommufd_group per
 * context, which records the hw_pagetable the group is attached to and the
 * software MSI window all its devices use.  Attaching a device to an IOAS
 * finds an automatic paging hw_pagetable of that IOAS the device is
 * compatible with, or makes one; how a group joins and leaves a
 * hw_pagetable is hw_pagetable.c's business.
 *
 * A bound device holds a reference on its context, as its driver does:
 * userspace may close /dev/iommu first, and the device (with what it uses)
 * stays until the driver unbinds it.  Each attachment holds a ref on the
 * device, so a driver that unbinds an attached device is caught and the
 * device detached first.
 *
 * Locks: see iommufd_private.h.
 */
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Allow binding devices whose MSIs are not isolated by the platform (interrupt remapping); a device could then raise interrupts it does not own");

static void igroup_release(struct kref *kref)
{
	struct iommufd_group *igroup =
		container_of(kref, struct iommufd_group, refs);

	WARN_ON(igroup->hwpt || !list_empty(&igroup->attached_devs));
	/* A newer igroup may have taken the slot already. */
	xa_cmpxchg(&igroup->ictx->groups, iommu_group_id(igroup->iommu_group),
		   igroup, NULL, GFP_KERNEL);
	iommu_group_put(igroup->iommu_group);
	mutex_destroy(&igroup->mutex);
	kfree(igroup);
}

static void igroup_put(struct iommufd_group *igroup)
{
	kref_put(&igroup->refs, igroup_release);
}

/* The software MSI window of @dev: [*start, *last], or *start = PHYS_ADDR_MAX. */
static void dev_sw_msi_window(struct device *dev, phys_addr_t *start,
			      phys_addr_t *last)
{
	struct iommu_resv_region *resv;
	LIST_HEAD(resv_regions);

	*start = PHYS_ADDR_MAX;
	*last = PHYS_ADDR_MAX;
	iommu_get_resv_regions(dev, &resv_regions);
	list_for_each_entry(resv, &resv_regions, list) {
		if (resv->type != IOMMU_RESV_SW_MSI || !resv->length)
			continue;
		*start = resv->start;
		*last = resv->start + resv->length - 1;
		break;
	}
	iommu_put_resv_regions(dev, &resv_regions);
}

/* A new igroup for @dev, not yet in the table; takes over the ref on @group. */
static struct iommufd_group *igroup_alloc(struct iommufd_ctx *ictx,
					  struct iommu_group *group,
					  struct device *dev)
{
	struct iommufd_group *igroup = kmalloc(sizeof(*igroup),
					       GFP_KERNEL_ACCOUNT);

	if (!igroup) {
		iommu_group_put(group);
		return ERR_PTR(-ENOMEM);
	}
	*igroup = (struct iommufd_group){
		.iommu_group = group,
		.ictx = ictx,
		.refs = KREF_INIT(1),
		.bound = ATOMIC_INIT(0),
		.attached_devs = LIST_HEAD_INIT(igroup->attached_devs),
	};
	dev_sw_msi_window(dev, &igroup->msi_start, &igroup->msi_last);
	mutex_init(&igroup->mutex);
	return igroup;
}

/* The context's igroup for @dev's iommu_group, made if needed. */
static struct iommufd_group *igroup_get(struct iommufd_ctx *ictx,
					struct device *dev)
{
	struct iommu_group *group = iommu_group_get(dev);
	struct iommufd_group *igroup, *cur, *old;
	unsigned int id;

	if (!group)
		return ERR_PTR(-ENODEV);
	igroup = igroup_alloc(ictx, group, dev);
	if (IS_ERR(igroup))
		return igroup;
	id = iommu_group_id(group);

	xa_lock(&ictx->groups);
	do {
		cur = xa_load(&ictx->groups, id);
		if (cur && kref_get_unless_zero(&cur->refs)) {
			xa_unlock(&ictx->groups);
			igroup_put(igroup);
			return cur;
		}
		/* Empty, or the old igroup is on its way out: replace it. */
		old = __xa_cmpxchg(&ictx->groups, id, cur, igroup, GFP_KERNEL);
	} while (!xa_is_err(old) && old != cur);
	xa_unlock(&ictx->groups);

	if (xa_is_err(old)) {
		/* Never in the table, so its release cannot erase cur. */
		igroup_put(igroup);
		return ERR_PTR(xa_err(old));
	}
	return igroup;
}

/*
 * May the device be handed to userspace?  Its interrupts must be isolated
 * (unless the administrator allowed otherwise), and it must use the same
 * software MSI window as the rest of its group, which shares its domains.
 */
static int iommufd_device_check(struct device *dev,
				struct iommufd_group *igroup)
{
	phys_addr_t start, last;

	if (!allow_unsafe_interrupts &&
	    !iommu_group_has_isolated_msi(igroup->iommu_group)) {
		dev_warn(dev,
			 "MSI interrupts are not isolated; refusing to bind (see iommufd.allow_unsafe_interrupts)\n");
		return -EPERM;
	}
	dev_sw_msi_window(dev, &start, &last);
	if (start != igroup->msi_start || last != igroup->msi_last) {
		dev_warn(dev,
			 "software MSI window differs from the rest of its iommu_group; refusing to bind\n");
		return -EINVAL;
	}
	return 0;
}

/**
 * iommufd_device_bind() - bind a device to a context
 * @ictx: the context; the device holds a reference on it until
 *	iommufd_device_unbind()
 * @dev: the device; it must have an IOMMU group
 * @id: receives the ID userspace knows the device by
 *
 * Claims DMA ownership of @dev for @ictx.  The device is not attached to
 * anything yet: it is blocked from DMA until iommufd_device_attach(), or
 * translated by its group's domain if another device of the group is
 * attached already.
 *
 * Return: the bound device, or ERR_PTR: -ENODEV without an IOMMU, -EINVAL
 * if the IOMMU cannot keep its DMA coherent or its software MSI window
 * differs from its group's, -EPERM if its MSIs are not isolated or another
 * owner uses the group.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	struct iommufd_group *igroup;
	struct iommufd_device *idev;
	int rc;

	igroup = igroup_get(ictx, dev);
	if (IS_ERR(igroup))
		return ERR_CAST(igroup);
	/* Without IOMMU_CACHE the device could read stale data. */
	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY)) {
		igroup_put(igroup);
		return ERR_PTR(-EINVAL);
	}

	idev = iommufd_object_new(ictx, struct iommufd_device,
				  IOMMUFD_OBJ_DEVICE);
	rc = PTR_ERR_OR_ZERO(idev);
	if (!rc)
		rc = iommufd_device_check(dev, igroup);
	if (!rc)
		rc = iommu_device_claim_dma_owner(dev, ictx);
	if (rc) {
		if (!IS_ERR(idev))
			iommufd_object_discard(ictx, &idev->obj);
		igroup_put(igroup);
		return ERR_PTR(rc);
	}

	atomic_inc(&igroup->bound);
	idev->dev = dev;
	idev->needs_snoop =
		device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	idev->igroup = igroup;
	INIT_LIST_HEAD(&idev->igroup_link);
	idev->ictx = ictx;
	iommufd_ctx_get(ictx);
	/* The binding driver's reference: userspace cannot destroy it. */
	refcount_inc(&idev->obj.refs);
	*id = idev->obj.id;
	iommufd_object_publish(ictx, &idev->obj);
	return idev;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_bind, IOMMUFD);

/**
 * iommufd_ctx_has_group() - does the context have a device in this group
 * @ictx: the context
 * @group: an iommu_group
 *
 * Return: true if a device of @group is bound to @ictx.
 */
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group)
{
	struct iommufd_group *igroup;
	bool found;

	if (!ictx || !group)
		return false;
	xa_lock(&ictx->groups);
	igroup = xa_load(&ictx->groups, iommu_group_id(group));
	/* The igroup outlives its devices' DMA ownership by a little. */
	found = igroup && igroup->iommu_group == group &&
		atomic_read(&igroup->bound);
	xa_unlock(&ictx->groups);
	return found;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_has_group, IOMMUFD);

static bool idev_is_attached(struct iommufd_device *idev)
{
	bool attached;

	mutex_lock(&idev->igroup->mutex);
	attached = !list_empty(&idev->igroup_link);
	mutex_unlock(&idev->igroup->mutex);
	return attached;
}

/**
 * iommufd_device_unbind() - undo iommufd_device_bind()
 * @idev: the device, which should be detached
 *
 * DMA ownership returns to the kernel.  A device still attached is
 * detached first, with a warning: that is a driver bug.
 */
void iommufd_device_unbind(struct iommufd_device *idev)
{
	struct iommufd_ctx *ictx = idev->ictx;

	__iommufd_device_unbind(idev);
	/* Last: this may be the final reference on the context. */
	iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_unbind, IOMMUFD);

/**
 * __iommufd_device_unbind() - iommufd_device_unbind() but for the context
 * @idev: the device
 *
 * For a binder that gave back the context reference of the binding (the
 * selftest's mock device, which lives inside the context it is bound to).
 */
void __iommufd_device_unbind(struct iommufd_device *idev)
{
	if (idev_is_attached(idev)) {
		dev_warn(idev->dev,
			 "iommufd: unbound while attached; detaching first\n");
		iommufd_device_detach(idev);
	}
	iommufd_object_destroy_owned(idev->ictx, &idev->obj);
}

/**
 * iommufd_device_to_id() - the ID userspace knows a device by
 * @idev: the device
 *
 * Return: the ID
 */
u32 iommufd_device_to_id(struct iommufd_device *idev)
{
	return idev->obj.id;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_id, IOMMUFD);

/**
 * iommufd_device_to_ictx() - the context a device is bound to
 * @idev: the device
 *
 * Return: the context
 */
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev)
{
	return idev->ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_ictx, IOMMUFD);

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	WARN_ON(!list_empty(&idev->igroup_link));
	atomic_dec(&idev->igroup->bound);
	iommu_device_release_dma_owner(idev->dev);
	igroup_put(idev->igroup);
}

/* What idev_auto_attach_locked() works on. */
struct idev_auto_attach {
	struct iommufd_device *idev;
	struct iommufd_ioas *ioas;
	u32 *pt_id;
	bool replace;
};

/* Attach or replace onto an automatic hw_pagetable of the IOAS. */
static int idev_auto_attach_locked(void *arg)
{
	struct idev_auto_attach *a = arg;
	struct iommufd_device *idev = a->idev;
	struct iommufd_ioas *ioas = a->ioas;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_hw_pagetable *hwpt, *old = NULL;
	unsigned int num = 0;
	int rc;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt_paging, &ioas->hwpt_list, ioas_link) {
		if (!hwpt_paging->auto_made)
			continue;
		hwpt = &hwpt_paging->base;
		if (!iommufd_obj_hold(&hwpt->obj))
			continue;
		if (a->replace)
			rc = hwpt_switch_group(idev, hwpt, &old, &num);
		else
			rc = hwpt_attach_dev(hwpt, idev);
		iommufd_obj_put(idev->ictx, &hwpt->obj);
		/* -EINVAL: this domain does not suit the device; next. */
		if (rc == -EINVAL)
			continue;
		if (!rc)
			*a->pt_id = hwpt->obj.id;
		goto out_unlock;
	}

	hwpt_paging = hwpt_paging_create(idev->ictx, ioas, idev, 0, NULL,
					 a->replace ? HWPT_JOIN_REPLACE :
						      HWPT_JOIN_ATTACH,
					 &old, &num);
	if (IS_ERR(hwpt_paging)) {
		rc = PTR_ERR(hwpt_paging);
		goto out_unlock;
	}
	hwpt = &hwpt_paging->base;
	hwpt_paging->auto_made = true;
	*a->pt_id = hwpt->obj.id;
	iommufd_object_publish(idev->ictx, &hwpt->obj);
	rc = 0;
out_unlock:
	mutex_unlock(&ioas->mutex);
	hwpt_drop_devs(idev->ictx, old, num);
	return rc;
}

static int idev_auto_attach(struct iommufd_device *idev,
			    struct iommufd_ioas *ioas, u32 *pt_id,
			    bool replace)
{
	struct idev_auto_attach a = {
		.idev = idev, .ioas = ioas, .pt_id = pt_id, .replace = replace,
	};

	return ioas_call_pinned(ioas, idev_auto_attach_locked, &a);
}

/* What idev_join_paging_locked() works on. */
struct idev_join_paging {
	struct iommufd_device *idev;
	struct iommufd_hwpt_paging *hwpt_paging;
	bool replace;
	struct iommufd_hw_pagetable *old;
	unsigned int num;
};

/* What a paging domain enforces is set under its IOAS's lock. */
static int idev_join_paging_locked(void *arg)
{
	struct idev_join_paging *j = arg;
	struct mutex *ioas_mutex = &j->hwpt_paging->ioas->mutex;
	int rc;

	mutex_lock(ioas_mutex);
	rc = hwpt_paging_join(j->hwpt_paging, j->idev, j->replace, &j->old,
			      &j->num);
	mutex_unlock(ioas_mutex);
	/* Every attempt: one that says -EAGAIN may have moved refs too. */
	hwpt_drop_devs(j->idev->ictx, j->old, j->num);
	j->old = NULL;
	j->num = 0;
	return rc;
}

/* Attach (or replace) @idev to whatever *pt_id names. */
static int idev_set_pt(struct iommufd_device *idev, u32 *pt_id, bool replace)
{
	struct iommufd_hw_pagetable *old = NULL;
	struct iommufd_object *pt_obj;
	unsigned int num = 0;
	int rc = -EINVAL;

	/* Only an attached device can be moved; fail before making domains. */
	if (replace && !idev_is_attached(idev))
		return -EINVAL;
	pt_obj = iommufd_obj_get(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);

	if (pt_obj->type == IOMMUFD_OBJ_IOAS) {
		struct iommufd_ioas *ioas =
			container_of(pt_obj, struct iommufd_ioas, obj);

		rc = idev_auto_attach(idev, ioas, pt_id, replace);
	} else if (pt_obj->type == IOMMUFD_OBJ_HWPT_PAGING) {
		struct idev_join_paging j = {
			.idev = idev,
			.hwpt_paging = container_of(pt_obj,
						    struct iommufd_hwpt_paging,
						    base.obj),
			.replace = replace,
		};

		rc = ioas_call_pinned(j.hwpt_paging->ioas,
				      idev_join_paging_locked, &j);
	} else if (pt_obj->type == IOMMUFD_OBJ_HWPT_NESTED) {
		struct iommufd_hw_pagetable *hwpt =
			container_of(pt_obj, struct iommufd_hw_pagetable, obj);
		struct mutex *ioas_mutex =
			&hwpt_to_nested(hwpt)->parent->ioas->mutex;

		/* What the parent enforces is set under its IOAS's lock. */
		mutex_lock(ioas_mutex);
		rc = replace ? hwpt_switch_group(idev, hwpt, &old, &num) :
			       hwpt_attach_dev(hwpt, idev);
		mutex_unlock(ioas_mutex);
	}
	iommufd_obj_put(idev->ictx, pt_obj);
	hwpt_drop_devs(idev->ictx, old, num);
	return rc;
}

/**
 * iommufd_device_attach() - attach a device to an IOAS or hw_pagetable
 * @idev: a bound, detached device
 * @pt_id: in: an IOAS or hw_pagetable ID; out: the hw_pagetable used
 *
 * Attaching to an IOAS uses a compatible automatic hw_pagetable of it, or
 * makes a new one.
 *
 * Return: 0 or an errno, with nothing changed.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	int rc;

	rc = idev_set_pt(idev, pt_id, false);
	if (rc)
		return rc;
	/* The attachment's ref: an attached device is not destroyed. */
	refcount_inc(&idev->obj.refs);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_attach, IOMMUFD);

/**
 * iommufd_device_replace() - move an attached device elsewhere, hitlessly
 * @idev: an attached device
 * @pt_id: in: an IOAS or hw_pagetable ID; out: the hw_pagetable used
 *
 * DMA keeps being translated by the old domain until the new one takes
 * over; on failure the old attachment stays.  All devices of the group
 * move together.
 *
 * Return: 0 or an errno, with nothing changed.
 */
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	return idev_set_pt(idev, pt_id, true);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_replace, IOMMUFD);

/**
 * iommufd_device_detach() - undo iommufd_device_attach()
 * @idev: an attached device
 *
 * The device's DMA is blocked again once no device of its group is
 * attached.  Detaching a device that is not attached does nothing but
 * warn: that is a driver bug.
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_hw_pagetable *hwpt = hwpt_detach_dev(idev);

	if (!hwpt) {
		dev_warn(idev->dev, "iommufd: detached while not attached\n");
		return;
	}
	hwpt_drop_devs(idev->ictx, hwpt, 1);
	refcount_dec(&idev->obj.refs);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

/*
 * IOMMU_GET_HW_INFO: what the device's IOMMU is and can do.  The driver's
 * data is taken while the device is held, and copied out after: a stalled
 * copy must not hold up the device's unbind.
 */
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	void __user *uptr = u64_to_user_ptr(cmd->data_uptr);
	const struct iommu_ops *ops;
	struct iommufd_device *idev;
	u32 len = 0, copy;
	void *data = NULL;
	int rc = 0;

	if (cmd->flags || cmd->__reserved)
		return -EOPNOTSUPP;
	idev = iommufd_device_get(ucmd->ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	ops = dev_iommu_ops(idev->dev);
	cmd->out_data_type = IOMMU_HW_INFO_TYPE_NONE;
	if (ops->hw_info) {
		data = ops->hw_info(idev->dev, &len, &cmd->out_data_type);
		if (IS_ERR(data))
			rc = PTR_ERR(data);
		else if (WARN_ON_ONCE(cmd->out_data_type ==
				      IOMMU_HW_INFO_TYPE_NONE))
			rc = -EOPNOTSUPP;
	}
	cmd->out_capabilities = 0;
	if (device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING))
		cmd->out_capabilities |= IOMMU_HW_CAP_DIRTY_TRACKING;
	iommufd_obj_put(ucmd->ictx, &idev->obj);
	if (rc)
		goto out_free;

	/* As much as fits; what the buffer has beyond the data is zeroed. */
	copy = min(len, cmd->data_len);
	if (copy_to_user(uptr, data, copy) ||
	    clear_user(uptr + copy, cmd->data_len - copy)) {
		rc = -EFAULT;
		goto out_free;
	}
	cmd->data_len = len;
	rc = iommufd_ucmd_reply(ucmd, sizeof(*cmd));
out_free:
	if (!IS_ERR(data))
		kfree(data);
	return rc;
}
