// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The in-kernel API for drivers: bound devices and accesses.
 *
 * Devices.  A driver (VFIO) binds a device to a context; binding claims DMA
 * ownership of the device for the context, so nothing else can attach it to
 * a domain.  Devices are bound one by one, but the IOMMU translates per
 * iommu_group, so the bound devices of a group share one struct
 * iommufd_group per context, which records the hw_pagetable the group is
 * attached to.  Attaching a device to an IOAS finds an automatic paging
 * hw_pagetable of that IOAS the device is compatible with, or makes one.
 * Each attached device holds a ref on its hw_pagetable, and its reserved
 * regions are reserved in the hw_pagetable's IOAS while it is attached.
 *
 * Accesses.  A driver that reaches memory by itself (an emulated device)
 * creates an access, attaches it to an IOAS, and pins pages or copies data
 * by IOVA.  When userspace unmaps IOVA an access has pinned, the access's
 * unmap op is called and must unpin before it returns.
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

static void iommufd_group_release(struct kref *kref)
{
	struct iommufd_group *igroup =
		container_of(kref, struct iommufd_group, ref);

	WARN_ON(igroup->hwpt || !list_empty(&igroup->device_list));
	/* A newer igroup may have taken the slot already. */
	xa_cmpxchg(&igroup->ictx->groups, iommu_group_id(igroup->group),
		   igroup, NULL, GFP_KERNEL);
	iommu_group_put(igroup->group);
	mutex_destroy(&igroup->lock);
	kfree(igroup);
}

static void iommufd_put_group(struct iommufd_group *igroup)
{
	kref_put(&igroup->ref, iommufd_group_release);
}

/* The context's igroup for @dev's iommu_group, made if needed. */
static struct iommufd_group *iommufd_get_group(struct iommufd_ctx *ictx,
					       struct device *dev)
{
	struct iommufd_group *igroup, *cur, *old;
	struct iommu_group *group;
	unsigned int id;

	group = iommu_group_get(dev);
	if (!group)
		return ERR_PTR(-ENODEV);
	id = iommu_group_id(group);

	igroup = kzalloc(sizeof(*igroup), GFP_KERNEL_ACCOUNT);
	if (!igroup) {
		iommu_group_put(group);
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&igroup->ref);
	mutex_init(&igroup->lock);
	INIT_LIST_HEAD(&igroup->device_list);
	igroup->sw_msi_start = PHYS_ADDR_MAX;
	igroup->ictx = ictx;
	igroup->group = group;

	xa_lock(&ictx->groups);
	for (;;) {
		cur = xa_load(&ictx->groups, id);
		if (cur && kref_get_unless_zero(&cur->ref)) {
			xa_unlock(&ictx->groups);
			iommufd_put_group(igroup);
			return cur;
		}
		/* Empty, or the old igroup is on its way out: replace it. */
		old = __xa_cmpxchg(&ictx->groups, id, cur, igroup, GFP_KERNEL);
		if (xa_is_err(old)) {
			xa_unlock(&ictx->groups);
			/* Not in the table: release must not erase cur. */
			igroup->ictx = NULL;
			kfree(igroup);
			iommu_group_put(group);
			return ERR_PTR(xa_err(old));
		}
		if (old == cur)
			break;
	}
	xa_unlock(&ictx->groups);
	return igroup;
}

/**
 * iommufd_device_bind() - bind a device to a context
 * @ictx: the context
 * @dev: the device; it must have an IOMMU group
 * @id: receives the ID userspace knows the device by
 *
 * Claims DMA ownership of @dev for @ictx.  The device is not attached to
 * anything yet: it is blocked from DMA until iommufd_device_attach().
 *
 * Return: the bound device, or ERR_PTR: -EINVAL if the IOMMU cannot keep
 * its DMA coherent, -ENODEV without an IOMMU, -EPERM if its MSIs are not
 * isolated, -EBUSY if another owner uses the group.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	bool mock = iommufd_selftest_is_mock_dev(dev);
	struct iommufd_device *idev;
	struct iommufd_group *igroup;
	int rc;

	/* Without IOMMU_CACHE the device could read stale data. */
	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY))
		return ERR_PTR(-EINVAL);

	igroup = iommufd_get_group(ictx, dev);
	if (IS_ERR(igroup))
		return ERR_CAST(igroup);

	if (!mock && !allow_unsafe_interrupts &&
	    !iommu_group_has_isolated_msi(igroup->group)) {
		dev_warn(dev,
			 "MSI interrupts are not isolated; refusing to bind (see iommufd.allow_unsafe_interrupts)\n");
		rc = -EPERM;
		goto out_put_group;
	}

	rc = iommu_device_claim_dma_owner(dev, ictx);
	if (rc)
		goto out_put_group;

	idev = iommufd_object_alloc(ictx, struct iommufd_device,
				    IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto out_release_owner;
	}
	idev->ictx = ictx;
	/* A mock device lives in the context: it must not keep it alive. */
	if (!mock)
		iommufd_ctx_get(ictx);
	idev->dev = dev;
	idev->igroup = igroup;
	INIT_LIST_HEAD(&idev->group_item);
	idev->enforce_cache_coherency =
		device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	/* The binding driver's reference: userspace cannot destroy it. */
	refcount_inc(&idev->obj.refs);
	iommufd_object_finalize(ictx, &idev->obj);
	*id = idev->obj.id;
	return idev;

out_release_owner:
	iommu_device_release_dma_owner(dev);
out_put_group:
	iommufd_put_group(igroup);
	return ERR_PTR(rc);
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
	found = igroup && igroup->group == group;
	xa_unlock(&ictx->groups);
	return found;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_has_group, IOMMUFD);

/**
 * iommufd_device_unbind() - undo iommufd_device_bind()
 * @idev: the device, which must be detached
 *
 * DMA ownership returns to the kernel.
 */
void iommufd_device_unbind(struct iommufd_device *idev)
{
	iommufd_object_destroy_owned(idev->ictx, &idev->obj);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_unbind, IOMMUFD);

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	WARN_ON(!list_empty(&idev->group_item));
	iommu_device_release_dma_owner(idev->dev);
	iommufd_put_group(idev->igroup);
	if (!iommufd_selftest_is_mock_dev(idev->dev))
		iommufd_ctx_put(idev->ictx);
}

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

/* Give a paging domain the group's software MSI window, once. */
static int iommufd_group_setup_msi(struct iommufd_group *igroup,
				   struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *hwpt_paging;
	int rc;

	if (igroup->sw_msi_start == PHYS_ADDR_MAX || !hwpt_is_paging(hwpt))
		return 0;
	hwpt_paging = to_hwpt_paging(hwpt);
	if (hwpt_paging->msi_cookie)
		return 0;
	rc = iommu_get_msi_cookie(hwpt->domain, igroup->sw_msi_start);
	if (rc)
		return rc;
	hwpt_paging->msi_cookie = true;
	return 0;
}

/* Reserve the regions of the group's attached devices and of @extra. */
static int iommufd_group_reserve(struct iommufd_group *igroup,
				 struct io_pagetable *iopt,
				 struct iommufd_device *extra)
{
	struct iommufd_device *idev, *undo;
	int rc;

	list_for_each_entry(idev, &igroup->device_list, group_item) {
		rc = iopt_table_enforce_dev_resv_regions(iopt, idev->dev,
							 &igroup->sw_msi_start);
		if (rc)
			goto out_undo;
	}
	if (extra) {
		rc = iopt_table_enforce_dev_resv_regions(iopt, extra->dev,
							 &igroup->sw_msi_start);
		if (rc)
			goto out_undo;
	}
	return 0;

out_undo:
	list_for_each_entry(undo, &igroup->device_list, group_item) {
		if (undo == idev)
			break;
		iopt_remove_reserved_iova(iopt, undo->dev);
	}
	return rc;
}

static void iommufd_group_unreserve(struct iommufd_group *igroup,
				    struct io_pagetable *iopt)
{
	struct iommufd_device *idev;

	list_for_each_entry(idev, &igroup->device_list, group_item)
		iopt_remove_reserved_iova(iopt, idev->dev);
}

/* Does any device of the group (or @extra) need coherency enforced? */
static bool iommufd_group_needs_cc(struct iommufd_group *igroup,
				   struct iommufd_device *extra)
{
	struct iommufd_device *idev;

	if (extra && extra->enforce_cache_coherency)
		return true;
	list_for_each_entry(idev, &igroup->device_list, group_item) {
		if (idev->enforce_cache_coherency)
			return true;
	}
	return false;
}

/**
 * iommufd_hw_pagetable_attach() - attach a device to a hw_pagetable
 * @hwpt: the hw_pagetable
 * @idev: a bound, detached device
 *
 * The first device of a group attaches the whole group; the others join.
 * Takes a ref on @hwpt for the device.
 *
 * Return: 0; -EINVAL if the group is attached elsewhere or the domain does
 * not suit the device; -EADDRINUSE if the device's reserved regions are
 * mapped; other errnos from the IOMMU driver.
 */
int iommufd_hw_pagetable_attach(struct iommufd_hw_pagetable *hwpt,
				struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct io_pagetable *iopt = NULL;
	int rc;

	mutex_lock(&igroup->lock);
	if ((igroup->hwpt && igroup->hwpt != hwpt) ||
	    !list_empty(&idev->group_item)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (hwpt_is_paging(hwpt)) {
		struct iommufd_hwpt_paging *hwpt_paging = to_hwpt_paging(hwpt);

		if (idev->enforce_cache_coherency) {
			rc = iommufd_hwpt_paging_enforce_cc(hwpt_paging);
			if (rc)
				goto out_unlock;
		}
		iopt = &hwpt_paging->ioas->iopt;
		rc = iopt_table_enforce_dev_resv_regions(iopt, idev->dev,
							 &igroup->sw_msi_start);
		if (rc)
			goto out_unlock;
	}

	if (list_empty(&igroup->device_list)) {
		rc = iommufd_group_setup_msi(igroup, hwpt);
		if (!rc)
			rc = iommu_attach_group(hwpt->domain, igroup->group);
		if (rc) {
			if (iopt)
				iopt_remove_reserved_iova(iopt, idev->dev);
			goto out_unlock;
		}
		igroup->hwpt = hwpt;
	}
	refcount_inc(&hwpt->obj.refs);
	list_add_tail(&idev->group_item, &igroup->device_list);
out_unlock:
	mutex_unlock(&igroup->lock);
	return rc;
}

/**
 * iommufd_hw_pagetable_detach() - detach a device from its hw_pagetable
 * @idev: an attached device
 *
 * The last device of a group detaches the group, which goes back to
 * blocking DMA.
 *
 * Return: the hw_pagetable, whose ref for the device the caller drops with
 * iommufd_hw_pagetable_put().
 */
struct iommufd_hw_pagetable *
iommufd_hw_pagetable_detach(struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *hwpt;

	mutex_lock(&igroup->lock);
	hwpt = igroup->hwpt;
	list_del_init(&idev->group_item);
	if (list_empty(&igroup->device_list)) {
		iommu_detach_group(hwpt->domain, igroup->group);
		igroup->hwpt = NULL;
	}
	if (hwpt_is_paging(hwpt))
		iopt_remove_reserved_iova(&to_hwpt_paging(hwpt)->ioas->iopt,
					  idev->dev);
	mutex_unlock(&igroup->lock);
	return hwpt;
}

/*
 * Drop a device's ref on a hw_pagetable; an automatic one goes away with
 * its last device.  No lock of the IOAS or group may be held.
 */
void iommufd_hw_pagetable_put(struct iommufd_ctx *ictx,
			      struct iommufd_hw_pagetable *hwpt)
{
	bool is_auto = hwpt_is_paging(hwpt) &&
		       to_hwpt_paging(hwpt)->auto_domain;
	u32 id = hwpt->obj.id;

	refcount_dec(&hwpt->obj.refs);
	if (is_auto)
		iommufd_object_remove(ictx, &hwpt->obj, id,
				      IOMMUFD_REMOVE_BUSY_OK);
}

/*
 * Move the group of an attached device to @hwpt without blocking DMA in
 * between.  On success *old is the previous hw_pagetable, whose refs of the
 * group's devices (*num of them) the caller drops; *old is NULL if nothing
 * changed.
 */
static int iommufd_device_do_replace(struct iommufd_device *idev,
				     struct iommufd_hw_pagetable *hwpt,
				     struct iommufd_hw_pagetable **old,
				     unsigned int *num)
{
	struct iommufd_group *igroup = idev->igroup;
	struct io_pagetable *old_iopt = NULL, *new_iopt = NULL;
	struct iommufd_device *cur;
	unsigned int n = 0;
	int rc;

	*old = NULL;
	mutex_lock(&igroup->lock);
	if (!igroup->hwpt || list_empty(&idev->group_item)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (igroup->hwpt == hwpt) {
		rc = 0;
		goto out_unlock;
	}

	if (hwpt_is_paging(igroup->hwpt))
		old_iopt = &to_hwpt_paging(igroup->hwpt)->ioas->iopt;
	if (hwpt_is_paging(hwpt)) {
		struct iommufd_hwpt_paging *hwpt_paging = to_hwpt_paging(hwpt);

		new_iopt = &hwpt_paging->ioas->iopt;
		if (iommufd_group_needs_cc(igroup, NULL)) {
			rc = iommufd_hwpt_paging_enforce_cc(hwpt_paging);
			if (rc)
				goto out_unlock;
		}
	}
	if (new_iopt && new_iopt != old_iopt) {
		rc = iommufd_group_reserve(igroup, new_iopt, NULL);
		if (rc)
			goto out_unlock;
	}

	rc = iommufd_group_setup_msi(igroup, hwpt);
	if (!rc)
		rc = iommu_group_replace_domain(igroup->group, hwpt->domain);
	if (rc) {
		if (new_iopt && new_iopt != old_iopt)
			iommufd_group_unreserve(igroup, new_iopt);
		goto out_unlock;
	}
	if (old_iopt && old_iopt != new_iopt)
		iommufd_group_unreserve(igroup, old_iopt);

	list_for_each_entry(cur, &igroup->device_list, group_item)
		n++;
	refcount_add(n, &hwpt->obj.refs);
	*old = igroup->hwpt;
	*num = n;
	igroup->hwpt = hwpt;
out_unlock:
	mutex_unlock(&igroup->lock);
	return rc;
}

/* Drop the refs a replace took away from the old hw_pagetable. */
static void iommufd_hw_pagetable_put_many(struct iommufd_ctx *ictx,
					  struct iommufd_hw_pagetable *hwpt,
					  unsigned int num)
{
	if (!hwpt || !num)
		return;
	/* All but the last leave at least one ref behind. */
	while (--num)
		refcount_dec(&hwpt->obj.refs);
	iommufd_hw_pagetable_put(ictx, hwpt);
}

/* Attach or replace onto an automatic hw_pagetable of @ioas. */
static int iommufd_device_auto_domain(struct iommufd_device *idev,
				      struct iommufd_ioas *ioas, u32 *pt_id,
				      bool replace)
{
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_hw_pagetable *hwpt, *old = NULL;
	unsigned int num = 0;
	int rc;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt_paging, &ioas->hwpt_list, hwpt_item) {
		if (!hwpt_paging->auto_domain)
			continue;
		hwpt = &hwpt_paging->common;
		if (!iommufd_lock_obj(&hwpt->obj))
			continue;
		if (replace)
			rc = iommufd_device_do_replace(idev, hwpt, &old, &num);
		else
			rc = iommufd_hw_pagetable_attach(hwpt, idev);
		iommufd_put_object(idev->ictx, &hwpt->obj);
		/* -EINVAL: this domain does not suit the device; next. */
		if (rc == -EINVAL)
			continue;
		if (!rc)
			*pt_id = hwpt->obj.id;
		goto out_unlock;
	}

	hwpt_paging = iommufd_hwpt_paging_alloc(idev->ictx, ioas, idev,
						!replace);
	if (IS_ERR(hwpt_paging)) {
		rc = PTR_ERR(hwpt_paging);
		goto out_unlock;
	}
	hwpt = &hwpt_paging->common;
	hwpt_paging->auto_domain = true;
	if (replace) {
		rc = iommufd_device_do_replace(idev, hwpt, &old, &num);
		if (rc) {
			iommufd_hwpt_paging_abort_locked(idev->ictx,
							 hwpt_paging);
			goto out_unlock;
		}
	}
	*pt_id = hwpt->obj.id;
	iommufd_object_finalize(idev->ictx, &hwpt->obj);
	rc = 0;
out_unlock:
	mutex_unlock(&ioas->mutex);
	iommufd_hw_pagetable_put_many(idev->ictx, old, num);
	return rc;
}

/* Attach (or replace) @idev to whatever *pt_id names. */
static int iommufd_device_change_pt(struct iommufd_device *idev, u32 *pt_id,
				    bool replace)
{
	struct iommufd_hw_pagetable *old = NULL;
	struct iommufd_object *pt_obj;
	unsigned int num = 0;
	int rc;

	pt_obj = iommufd_get_object(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_HWPT_NESTED:
	case IOMMUFD_OBJ_HWPT_PAGING: {
		struct iommufd_hw_pagetable *hwpt =
			container_of(pt_obj, struct iommufd_hw_pagetable, obj);

		if (replace)
			rc = iommufd_device_do_replace(idev, hwpt, &old, &num);
		else
			rc = iommufd_hw_pagetable_attach(hwpt, idev);
		break;
	}
	case IOMMUFD_OBJ_IOAS:
		rc = iommufd_device_auto_domain(idev,
						container_of(pt_obj,
							     struct iommufd_ioas,
							     obj),
						pt_id, replace);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	iommufd_put_object(idev->ictx, pt_obj);
	iommufd_hw_pagetable_put_many(idev->ictx, old, num);
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

	rc = iommufd_device_change_pt(idev, pt_id, false);
	if (rc)
		return rc;
	/* An attached device cannot be destroyed (catches driver bugs). */
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
	return iommufd_device_change_pt(idev, pt_id, true);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_replace, IOMMUFD);

/**
 * iommufd_device_detach() - undo iommufd_device_attach()
 * @idev: an attached device
 *
 * The device's DMA is blocked again.
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	iommufd_hw_pagetable_put(idev->ictx, iommufd_hw_pagetable_detach(idev));
	refcount_dec(&idev->obj.refs);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

/**
 * iommufd_access_create() - make an access for an emulated device
 * @ictx: the context
 * @ops: the driver's callbacks; @ops->unmap is required with
 *	@ops->needs_pin_pages
 * @data: cookie passed to @ops
 * @id: receives the ID of the access
 *
 * Return: the access, not attached to any IOAS, or an ERR_PTR.
 */
struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id)
{
	struct iommufd_access *access;

	if (WARN_ON(ops->needs_pin_pages && !ops->unmap))
		return ERR_PTR(-EINVAL);

	access = iommufd_object_alloc(ictx, struct iommufd_access,
				      IOMMUFD_OBJ_ACCESS);
	if (IS_ERR(access))
		return access;
	access->ops = ops;
	access->data = data;
	mutex_init(&access->ioas_lock);
	access->ictx = ictx;
	iommufd_ctx_get(ictx);
	/* The creating driver's reference: userspace cannot destroy it. */
	refcount_inc(&access->obj.refs);
	iommufd_object_finalize(ictx, &access->obj);
	*id = access->obj.id;
	return access;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_create, IOMMUFD);

/**
 * iommufd_access_destroy() - undo iommufd_access_create()
 * @access: the access; it is detached first if still attached
 */
void iommufd_access_destroy(struct iommufd_access *access)
{
	struct iommufd_ctx *ictx = access->ictx;

	iommufd_object_destroy_owned(ictx, &access->obj);
	/* Last: this may be the final reference on the context. */
	iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

/*
 * Tell the access to give back whatever it pinned in its IOAS.  Called
 * without ioas_lock: the driver unpins from within its unmap op.
 */
static void iommufd_access_drop_pins(struct iommufd_access *access)
{
	lockdep_assert_not_held(&access->ioas_lock);

	if (access->ops->unmap)
		access->ops->unmap(access->data, 0, ULONG_MAX);
}

/* Leave @ioas, whose access list has the access under @list_id. */
static void iommufd_access_leave(struct iommufd_access *access,
				 struct iommufd_ioas *ioas, u32 list_id)
{
	iopt_remove_access(&ioas->iopt, access, list_id);
	refcount_dec(&ioas->obj.refs);
}

void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access =
		container_of(obj, struct iommufd_access, obj);

	if (access->ioas) {
		iommufd_access_drop_pins(access);
		iommufd_access_leave(access, access->ioas,
				     access->iopt_access_list_id);
		access->ioas = NULL;
	}
	mutex_destroy(&access->ioas_lock);
}

/*
 * Attach to @ioas_id, replacing the current IOAS if @replace.  Attach,
 * replace and detach of one access are serialised by its driver.
 */
static int iommufd_access_change_ioas(struct iommufd_access *access,
				      u32 ioas_id, bool replace)
{
	struct iommufd_ioas *ioas, *old;
	u32 list_id;
	int rc;

	ioas = iommufd_get_ioas(access->ictx, ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	mutex_lock(&access->ioas_lock);
	old = access->ioas;
	rc = -EINVAL;
	if (replace ? !old : !!old)
		goto out_unlock;
	rc = 0;
	if (old == ioas)
		goto out_unlock;
	rc = iopt_add_access(&ioas->iopt, access, &list_id);
	if (rc)
		goto out_unlock;
	refcount_inc(&ioas->obj.refs);
	mutex_unlock(&access->ioas_lock);

	/* Pins live in the old IOAS until the driver gives them back. */
	if (old)
		iommufd_access_drop_pins(access);

	mutex_lock(&access->ioas_lock);
	access->ioas = ioas;
	swap(access->iopt_access_list_id, list_id);
	mutex_unlock(&access->ioas_lock);
	if (old)
		iommufd_access_leave(access, old, list_id);
	iommufd_put_object(access->ictx, &ioas->obj);
	return 0;

out_unlock:
	mutex_unlock(&access->ioas_lock);
	iommufd_put_object(access->ictx, &ioas->obj);
	return rc;
}

/**
 * iommufd_access_attach() - attach an access to an IOAS
 * @access: a detached access
 * @ioas_id: the IOAS
 *
 * Return: 0; -EINVAL if already attached; -ENOENT for a bad ID.
 */
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	return iommufd_access_change_ioas(access, ioas_id, false);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_attach, IOMMUFD);

/**
 * iommufd_access_replace() - move an attached access to another IOAS
 * @access: an attached access
 * @ioas_id: the new IOAS
 *
 * The driver's unmap op is called for everything first: pins of the old
 * IOAS must be given back.
 *
 * Return: 0; -EINVAL if not attached; -ENOENT for a bad ID.
 */
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id)
{
	return iommufd_access_change_ioas(access, ioas_id, true);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_replace, IOMMUFD);

/**
 * iommufd_access_detach() - detach an access from its IOAS
 * @access: an attached access
 *
 * The driver's unmap op is called for everything first.
 */
void iommufd_access_detach(struct iommufd_access *access)
{
	struct iommufd_ioas *ioas;

	mutex_lock(&access->ioas_lock);
	ioas = access->ioas;
	mutex_unlock(&access->ioas_lock);
	if (WARN_ON(!ioas))
		return;

	iommufd_access_drop_pins(access);
	mutex_lock(&access->ioas_lock);
	access->ioas = NULL;
	mutex_unlock(&access->ioas_lock);
	iommufd_access_leave(access, ioas, access->iopt_access_list_id);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_detach, IOMMUFD);

/**
 * iommufd_access_notify_unmap() - ask the accesses of a table to unpin
 * @iopt: the table
 * @iova: start of the range being unmapped
 * @length: its length; ULONG_MAX stands for the whole address space
 *
 * Called by unmap with no locks held.  Each attached access that pins pages
 * gets its unmap op called and must unpin what it holds in the range.
 */
void iommufd_access_notify_unmap(struct io_pagetable *iopt, unsigned long iova,
				 unsigned long length)
{
	struct iommufd_access *access;
	unsigned long index = 0;

	for (;;) {
		xa_lock(&iopt->access_list);
		access = xa_find(&iopt->access_list, &index, ULONG_MAX,
				 XA_PRESENT);
		/* A dying access has already given its pins back. */
		while (access && !iommufd_lock_obj(&access->obj)) {
			index++;
			access = xa_find(&iopt->access_list, &index,
					 ULONG_MAX, XA_PRESENT);
		}
		xa_unlock(&iopt->access_list);
		if (!access)
			break;
		if (access->ops->unmap)
			access->ops->unmap(access->data, iova, length);
		iommufd_put_object(access->ictx, &access->obj);
		index++;
	}
}

/* The IOAS of an access, with ioas_lock held on success. */
static struct io_pagetable *
iommufd_access_lock_iopt(struct iommufd_access *access)
{
	mutex_lock(&access->ioas_lock);
	if (!access->ioas) {
		mutex_unlock(&access->ioas_lock);
		return NULL;
	}
	return &access->ioas->iopt;
}

/* Undo the pins of [iova, last], which the caller holds. */
static void iommufd_access_unpin_locked(struct io_pagetable *iopt,
					unsigned long iova, unsigned long last)
{
	struct iopt_area_contig_iter iter;
	struct iopt_area *area;

	for (area = iopt_area_contig_first(&iter, iopt, iova, last); area;
	     area = iopt_area_contig_next(&iter, iopt)) {
		unsigned long piece_last = iopt_area_contig_last(&iter);

		iopt_area_remove_access(area,
					iopt_area_iova_to_index(area,
								iter.cur_iova),
					iopt_area_iova_to_index(area,
								piece_last));
	}
	WARN_ON(!iter.complete);
}

/**
 * iommufd_access_unpin_pages() - undo iommufd_access_pin_pages()
 * @access: the access
 * @iova: the IOVA given to iommufd_access_pin_pages()
 * @length: the length given to iommufd_access_pin_pages()
 */
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	struct io_pagetable *iopt;
	unsigned long last;

	if (WARN_ON(!length) || WARN_ON(check_add_overflow(iova, length - 1,
							   &last)))
		return;
	iopt = iommufd_access_lock_iopt(access);
	if (WARN_ON(!iopt))
		return;
	down_read(&iopt->iova_rwsem);
	iommufd_access_unpin_locked(iopt, iova, last);
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

/* Out pages are per IOVA page: the area's memory must be congruent. */
static bool iopt_area_page_congruent(struct iopt_area *area,
				     unsigned long iova)
{
	return iopt_area_iova_page_offset(area, iova) == iova % PAGE_SIZE;
}

/**
 * iommufd_access_pin_pages() - pin the pages behind an IOVA range
 * @access: an attached access whose ops have needs_pin_pages
 * @iova: first IOVA
 * @length: bytes
 * @out_pages: receives a struct page per IOVA page of the range
 * @flags: IOMMUFD_ACCESS_RW_WRITE if the pages will be written
 *
 * The pages stay pinned until iommufd_access_unpin_pages() with the same
 * range, which the driver must call at the latest from its unmap op.
 *
 * Return: 0; -ENOENT if the range is not fully mapped; -EPERM for writing
 * read-only memory; -EINVAL for a range the access cannot pin now;
 * -ENOMEM, -EFAULT.  Nothing is pinned on failure.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	struct iopt_area_contig_iter iter;
	struct io_pagetable *iopt;
	struct iopt_area *area;
	unsigned long last;
	int rc = 0;

	if (WARN_ON(!access->ops->needs_pin_pages))
		return -EINVAL;
	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	iopt = iommufd_access_lock_iopt(access);
	if (!iopt)
		return -ENOENT;
	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_contig_first(&iter, iopt, iova, last); area;
	     area = iopt_area_contig_next(&iter, iopt)) {
		unsigned long piece_last = iopt_area_contig_last(&iter);
		unsigned long index = iopt_area_iova_to_index(area,
							      iter.cur_iova);
		unsigned long last_index = iopt_area_iova_to_index(area,
								   piece_last);

		if (area->prevent_access ||
		    !iopt_area_page_congruent(area, iter.cur_iova)) {
			rc = -EINVAL;
			break;
		}
		rc = iopt_area_add_access(area, index, last_index, out_pages,
					  flags);
		if (rc)
			break;
		out_pages += last_index - index + 1;
	}
	if (!rc && !iter.complete)
		rc = -ENOENT;
	if (rc && iter.cur_iova != iova)
		iommufd_access_unpin_locked(iopt, iova, iter.cur_iova - 1);
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

/**
 * iommufd_access_rw() - read or write memory by IOVA
 * @access: an attached access
 * @iova: first IOVA
 * @data: kernel buffer
 * @length: bytes
 * @flags: IOMMUFD_ACCESS_RW_* flags
 *
 * Return: 0; -ENOENT if the range is not fully mapped; -EPERM for writing
 * read-only memory; -EFAULT if the memory cannot be reached.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t length, unsigned int flags)
{
	struct iopt_area_contig_iter iter;
	struct io_pagetable *iopt;
	struct iopt_area *area;
	unsigned long last;
	int rc = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	iopt = iommufd_access_lock_iopt(access);
	if (!iopt)
		return -ENOENT;
	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_contig_first(&iter, iopt, iova, last); area;
	     area = iopt_area_contig_next(&iter, iopt)) {
		unsigned long bytes = iopt_area_contig_last(&iter) -
				      iter.cur_iova + 1;
		unsigned long start_byte =
			iopt_area_iova_to_index(area, iter.cur_iova) *
				PAGE_SIZE +
			iopt_area_iova_page_offset(area, iter.cur_iova);

		if (area->prevent_access) {
			rc = -EINVAL;
			break;
		}
		rc = iopt_pages_rw_access(area->pages, start_byte, data, bytes,
					  flags);
		if (rc)
			break;
		data += bytes;
	}
	if (!rc && !iter.complete)
		rc = -ENOENT;
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);
