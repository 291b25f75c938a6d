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

/* A new igroup, not yet in the table; takes over the ref on @group. */
static struct iommufd_group *igroup_alloc(struct iommufd_ctx *ictx,
					  struct iommu_group *group)
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
		.msi_window = PHYS_ADDR_MAX,
		.attached_devs = LIST_HEAD_INIT(igroup->attached_devs),
	};
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
	igroup = igroup_alloc(ictx, group);
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

static bool iommufd_is_mock(struct device *dev)
{
	return IS_ENABLED(CONFIG_IOMMUFD_TEST) &&
	       iommufd_selftest_is_mock_dev(dev);
}

/* Can the device's DMA and interrupts be contained by its IOMMU group? */
static int iommufd_device_containable(struct device *dev,
				      struct iommu_group *group)
{
	if (iommufd_is_mock(dev) || allow_unsafe_interrupts ||
	    iommu_group_has_isolated_msi(group))
		return 0;
	dev_warn(dev,
		 "MSI interrupts are not isolated; refusing to bind (see iommufd.allow_unsafe_interrupts)\n");
	return -EPERM;
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
 * isolated, -EPERM if another owner uses the group.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	struct iommufd_group *igroup;
	struct iommufd_device *idev;
	int rc;

	/* Without IOMMU_CACHE the device could read stale data. */
	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY))
		return ERR_PTR(-EINVAL);
	igroup = igroup_get(ictx, dev);
	if (IS_ERR(igroup))
		return ERR_CAST(igroup);

	idev = iommufd_object_new(ictx, struct iommufd_device,
				  IOMMUFD_OBJ_DEVICE);
	rc = PTR_ERR_OR_ZERO(idev);
	if (!rc)
		rc = iommufd_device_containable(dev, igroup->iommu_group);
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
	/* A mock device lives in the context: it must not keep it alive. */
	if (!iommufd_is_mock(dev))
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

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, obj);

	WARN_ON(!list_empty(&idev->igroup_link));
	atomic_dec(&idev->igroup->bound);
	iommu_device_release_dma_owner(idev->dev);
	igroup_put(idev->igroup);
	if (!iommufd_is_mock(idev->dev))
		iommufd_ctx_put(idev->ictx);
}

/* Give a paging domain the group's software MSI window, once. */
static int igroup_setup_msi(struct iommufd_group *igroup,
			    struct iommufd_hw_pagetable *hwpt)
{
	struct iommufd_hwpt_paging *paging;
	int rc = 0;

	if (igroup->msi_window == PHYS_ADDR_MAX || !hwpt_is_paging(hwpt))
		return 0;
	paging = hwpt_to_paging(hwpt);
	if (!paging->msi_ready) {
		rc = iommu_get_msi_cookie(hwpt->domain, igroup->msi_window);
		paging->msi_ready = !rc;
	}
	return rc;
}

/* Reserve the regions of the group's attached devices, all or none. */
static int igroup_reserve(struct iommufd_group *igroup,
			  struct io_pagetable *iopt)
{
	struct iommufd_device *idev;
	int rc;

	list_for_each_entry(idev, &igroup->attached_devs, igroup_link) {
		rc = iopt_reserve_dev_regions(iopt, idev->dev,
					      &igroup->msi_window);
		if (rc)
			goto out_undo;
	}
	return 0;

out_undo:
	/* The failing device reserved nothing; undo the ones before it. */
	list_for_each_entry_continue_reverse(idev, &igroup->attached_devs,
					     igroup_link)
		iopt_unreserve_owner(iopt, idev->dev);
	return rc;
}

static void igroup_unreserve(struct iommufd_group *igroup,
			     struct io_pagetable *iopt)
{
	struct iommufd_device *idev;

	list_for_each_entry(idev, &igroup->attached_devs, igroup_link)
		iopt_unreserve_owner(iopt, idev->dev);
}

/* Does any device of the group need coherency enforced? */
static bool igroup_needs_snoop(struct iommufd_group *igroup)
{
	struct iommufd_device *idev;

	list_for_each_entry(idev, &igroup->attached_devs, igroup_link) {
		if (idev->needs_snoop)
			return true;
	}
	return false;
}

/**
 * hwpt_attach_dev() - attach a device to a hw_pagetable
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
int hwpt_attach_dev(struct iommufd_hw_pagetable *hwpt,
		    struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct io_pagetable *iopt = NULL;
	int rc;

	mutex_lock(&igroup->mutex);
	if ((igroup->hwpt && igroup->hwpt != hwpt) ||
	    !list_empty(&idev->igroup_link)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (hwpt_is_paging(hwpt)) {
		struct iommufd_hwpt_paging *hwpt_paging = hwpt_to_paging(hwpt);

		if (idev->needs_snoop) {
			rc = hwpt_paging_enforce_snoop(hwpt_paging);
			if (rc)
				goto out_unlock;
		}
		iopt = &hwpt_paging->ioas->iopt;
		rc = iopt_reserve_dev_regions(iopt, idev->dev,
					      &igroup->msi_window);
		if (rc)
			goto out_unlock;
	}

	if (list_empty(&igroup->attached_devs)) {
		rc = igroup_setup_msi(igroup, hwpt);
		if (!rc)
			rc = iommu_attach_group(hwpt->domain, igroup->iommu_group);
		if (rc) {
			if (iopt)
				iopt_unreserve_owner(iopt, idev->dev);
			goto out_unlock;
		}
		igroup->hwpt = hwpt;
	}
	refcount_inc(&hwpt->obj.refs);
	list_add_tail(&idev->igroup_link, &igroup->attached_devs);
out_unlock:
	mutex_unlock(&igroup->mutex);
	return rc;
}

/**
 * hwpt_detach_dev() - detach a device from its hw_pagetable
 * @idev: an attached device
 *
 * The last device of a group detaches the group, which goes back to
 * blocking DMA.
 *
 * Return: the hw_pagetable, whose ref for the device the caller drops with
 * hwpt_drop_dev().
 */
struct iommufd_hw_pagetable *
hwpt_detach_dev(struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *hwpt;

	mutex_lock(&igroup->mutex);
	hwpt = igroup->hwpt;
	list_del_init(&idev->igroup_link);
	if (list_empty(&igroup->attached_devs)) {
		iommu_detach_group(hwpt->domain, igroup->iommu_group);
		igroup->hwpt = NULL;
	}
	if (hwpt_is_paging(hwpt))
		iopt_unreserve_owner(&hwpt_to_paging(hwpt)->ioas->iopt,
				     idev->dev);
	mutex_unlock(&igroup->mutex);
	return hwpt;
}

/*
 * Drop a device's ref on a hw_pagetable; an automatic one goes away with
 * its last device.  No lock of the IOAS or group may be held.
 */
void hwpt_drop_dev(struct iommufd_ctx *ictx,
		   struct iommufd_hw_pagetable *hwpt)
{
	if (hwpt_is_paging(hwpt) && hwpt_to_paging(hwpt)->auto_made)
		iommufd_object_kill(ictx, &hwpt->obj, hwpt->obj.id,
				    IOMMUFD_KILL_BUSY_OK |
					    IOMMUFD_KILL_DROP_REF);
	else
		refcount_dec(&hwpt->obj.refs);
}

/*
 * Move the group of an attached device to @hwpt without blocking DMA in
 * between.  On success *old is the previous hw_pagetable, whose refs of the
 * group's devices (*num of them) the caller drops; *old is NULL if nothing
 * changed.
 */
static int idev_switch(struct iommufd_device *idev,
		       struct iommufd_hw_pagetable *hwpt,
		       struct iommufd_hw_pagetable **old,
		       unsigned int *num)
{
	struct iommufd_group *igroup = idev->igroup;
	struct io_pagetable *old_iopt = NULL, *new_iopt = NULL;
	unsigned int n = 0;
	int rc;

	*old = NULL;
	mutex_lock(&igroup->mutex);
	if (!igroup->hwpt || list_empty(&idev->igroup_link)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (igroup->hwpt == hwpt) {
		rc = 0;
		goto out_unlock;
	}

	if (hwpt_is_paging(igroup->hwpt))
		old_iopt = &hwpt_to_paging(igroup->hwpt)->ioas->iopt;
	if (hwpt_is_paging(hwpt)) {
		struct iommufd_hwpt_paging *hwpt_paging = hwpt_to_paging(hwpt);

		new_iopt = &hwpt_paging->ioas->iopt;
		if (igroup_needs_snoop(igroup)) {
			rc = hwpt_paging_enforce_snoop(hwpt_paging);
			if (rc)
				goto out_unlock;
		}
	}
	if (new_iopt && new_iopt != old_iopt) {
		rc = igroup_reserve(igroup, new_iopt);
		if (rc)
			goto out_unlock;
	}

	rc = igroup_setup_msi(igroup, hwpt);
	if (!rc)
		rc = iommu_group_replace_domain(igroup->iommu_group, hwpt->domain);
	if (rc) {
		if (new_iopt && new_iopt != old_iopt)
			igroup_unreserve(igroup, new_iopt);
		goto out_unlock;
	}
	if (old_iopt && old_iopt != new_iopt)
		igroup_unreserve(igroup, old_iopt);

	n = list_count_nodes(&igroup->attached_devs);
	refcount_add(n, &hwpt->obj.refs);
	*old = igroup->hwpt;
	*num = n;
	igroup->hwpt = hwpt;
out_unlock:
	mutex_unlock(&igroup->mutex);
	return rc;
}

/* Drop the refs a replace took away from the old hw_pagetable. */
static void hwpt_drop_devs(struct iommufd_ctx *ictx,
			   struct iommufd_hw_pagetable *hwpt,
			   unsigned int num)
{
	if (!hwpt || !num)
		return;
	/* All but the last leave at least one ref behind. */
	while (--num)
		refcount_dec(&hwpt->obj.refs);
	hwpt_drop_dev(ictx, hwpt);
}

/* Attach or replace onto an automatic hw_pagetable of @ioas. */
static int idev_auto_attach(struct iommufd_device *idev,
			    struct iommufd_ioas *ioas, u32 *pt_id,
			    bool replace)
{
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
		if (replace)
			rc = idev_switch(idev, hwpt, &old, &num);
		else
			rc = hwpt_attach_dev(hwpt, idev);
		iommufd_obj_put(idev->ictx, &hwpt->obj);
		/* -EINVAL: this domain does not suit the device; next. */
		if (rc == -EINVAL)
			continue;
		if (!rc)
			*pt_id = hwpt->obj.id;
		goto out_unlock;
	}

	hwpt_paging = hwpt_paging_create(idev->ictx, ioas, idev,
					 !replace);
	if (IS_ERR(hwpt_paging)) {
		rc = PTR_ERR(hwpt_paging);
		goto out_unlock;
	}
	hwpt = &hwpt_paging->base;
	hwpt_paging->auto_made = true;
	if (replace) {
		rc = idev_switch(idev, hwpt, &old, &num);
		if (rc) {
			hwpt_paging_discard_locked(idev->ictx,
						   hwpt_paging);
			goto out_unlock;
		}
	}
	*pt_id = hwpt->obj.id;
	iommufd_object_publish(idev->ictx, &hwpt->obj);
	rc = 0;
out_unlock:
	mutex_unlock(&ioas->mutex);
	hwpt_drop_devs(idev->ictx, old, num);
	return rc;
}

/* Attach (or replace) @idev to whatever *pt_id names. */
static int idev_set_pt(struct iommufd_device *idev, u32 *pt_id, bool replace)
{
	struct iommufd_hw_pagetable *old = NULL;
	struct iommufd_object *pt_obj;
	unsigned int num = 0;
	int rc = -EINVAL;

	pt_obj = iommufd_obj_get(idev->ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj))
		return PTR_ERR(pt_obj);

	if (pt_obj->type == IOMMUFD_OBJ_IOAS) {
		struct iommufd_ioas *ioas =
			container_of(pt_obj, struct iommufd_ioas, obj);

		rc = idev_auto_attach(idev, ioas, pt_id, replace);
	} else if (pt_obj->type == IOMMUFD_OBJ_HWPT_PAGING ||
		   pt_obj->type == IOMMUFD_OBJ_HWPT_NESTED) {
		struct iommufd_hw_pagetable *hwpt =
			container_of(pt_obj, struct iommufd_hw_pagetable, obj);

		rc = replace ? idev_switch(idev, hwpt, &old, &num) :
			       hwpt_attach_dev(hwpt, idev);
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
	return idev_set_pt(idev, pt_id, true);
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
	hwpt_drop_dev(idev->ictx, hwpt_detach_dev(idev));
	refcount_dec(&idev->obj.refs);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

/*
 * Tell the access to give back whatever it pinned in its IOAS.  Called
 * without ioas_mutex: the driver unpins from within its unmap op.
 */
static void iommufd_access_drop_pins(struct iommufd_access *access)
{
	lockdep_assert_not_held(&access->ioas_mutex);

	if (access->ops->unmap)
		access->ops->unmap(access->data, 0, ULONG_MAX);
}

/*
 * Stop new pins and reads in the current IOAS and have the driver give
 * back what it pinned there.  Returns that IOAS, which only unpins still
 * reach, or NULL if the access is detached.
 */
static struct iommufd_ioas *iommufd_access_quiesce(struct iommufd_access *access)
{
	struct iommufd_ioas *cur;

	mutex_lock(&access->ioas_mutex);
	cur = access->ioas_unpin;
	access->ioas = NULL;
	mutex_unlock(&access->ioas_mutex);
	if (cur)
		iommufd_access_drop_pins(access);
	return cur;
}

/* Leave @ioas, whose access list has the access under @list_id. */
static void iommufd_access_leave(struct iommufd_access *access,
				 struct iommufd_ioas *ioas, u32 list_id)
{
	iopt_unregister_access(&ioas->iopt, access, list_id);
	refcount_dec(&ioas->obj.refs);
}

/*
 * Detach from the current IOAS, the driver's unmap op first.  Returns false
 * if the access was not attached.
 */
static bool iommufd_access_leave_current(struct iommufd_access *access)
{
	struct iommufd_ioas *cur = iommufd_access_quiesce(access);

	if (!cur)
		return false;
	mutex_lock(&access->ioas_mutex);
	access->ioas_unpin = NULL;
	mutex_unlock(&access->ioas_mutex);
	iommufd_access_leave(access, cur, access->list_id);
	return true;
}

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

	access = iommufd_object_new(ictx, struct iommufd_access,
				    IOMMUFD_OBJ_ACCESS);
	if (IS_ERR(access))
		return access;
	access->ops = ops;
	access->data = data;
	mutex_init(&access->ioas_mutex);
	access->ictx = ictx;
	iommufd_ctx_get(ictx);
	/* The creating driver's reference: userspace cannot destroy it. */
	refcount_inc(&access->obj.refs);
	iommufd_object_publish(ictx, &access->obj);
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

	/* While unmaps can still reach the access to ask for its pins. */
	iommufd_access_leave_current(access);
	iommufd_object_destroy_owned(ictx, &access->obj);
	/* Last: this may be the final reference on the context. */
	iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

void access_destroy_obj(struct iommufd_object *obj)
{
	struct iommufd_access *access =
		container_of(obj, struct iommufd_access, obj);

	/* iommufd_access_destroy() detached it already. */
	WARN_ON(iommufd_access_leave_current(access));
	mutex_destroy(&access->ioas_mutex);
}

/*
 * Attach to @ioas_id, replacing the current IOAS if @replace.  Attach,
 * replace and detach of one access are serialised by its driver; pins and
 * reads may run concurrently and fail with -ENOENT while the access moves.
 */
static int iommufd_access_change_ioas(struct iommufd_access *access,
				      u32 ioas_id, bool replace)
{
	struct iommufd_ioas *ioas, *old;
	u32 list_id;
	int rc;

	ioas = iommufd_ioas_get(access->ictx, ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	mutex_lock(&access->ioas_mutex);
	old = access->ioas_unpin;
	rc = -EINVAL;
	if (replace ? !old : !!old)
		goto out_unlock;
	rc = 0;
	if (old == ioas)
		goto out_unlock;
	rc = iopt_register_access(&ioas->iopt, access, &list_id);
	if (rc)
		goto out_unlock;
	refcount_inc(&ioas->obj.refs);
	mutex_unlock(&access->ioas_mutex);

	/* Pins live in the old IOAS until the driver gives them back. */
	iommufd_access_quiesce(access);

	mutex_lock(&access->ioas_mutex);
	access->ioas = ioas;
	access->ioas_unpin = ioas;
	swap(access->list_id, list_id);
	mutex_unlock(&access->ioas_mutex);
	if (old)
		iommufd_access_leave(access, old, list_id);
	iommufd_obj_put(access->ictx, &ioas->obj);
	return 0;

out_unlock:
	mutex_unlock(&access->ioas_mutex);
	iommufd_obj_put(access->ictx, &ioas->obj);
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
	WARN_ON(!iommufd_access_leave_current(access));
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
	unsigned long index;

	xa_lock(&iopt->accesses);
	xa_for_each(&iopt->accesses, index, access) {
		/* A dying access has left the IOAS, pins given back. */
		if (!iommufd_obj_hold(&access->obj))
			continue;
		xa_unlock(&iopt->accesses);
		if (access->ops->unmap)
			access->ops->unmap(access->data, iova, length);
		iommufd_obj_put(access->ictx, &access->obj);
		xa_lock(&iopt->accesses);
	}
	xa_unlock(&iopt->accesses);
}

/*
 * The IOAS an access pins and reads in (or, for @unpin, the one its pins
 * live in), with ioas_mutex held on success.
 */
static struct io_pagetable *
iommufd_access_lock_iopt(struct iommufd_access *access, bool unpin)
{
	struct iommufd_ioas *ioas;

	mutex_lock(&access->ioas_mutex);
	ioas = unpin ? access->ioas_unpin : access->ioas;
	if (ioas)
		return &ioas->iopt;
	mutex_unlock(&access->ioas_mutex);
	return NULL;
}

/* Called per area piece [first, last] of a walked IOVA range. */
typedef int iopt_piece_fn(struct iopt_area *area, unsigned long first,
			  unsigned long last, void *arg);

/*
 * Walk [iova, last] area by area with iova_rwsem held.  Returns the first
 * error of @fn, or -ENOENT at a gap; *stop is the first IOVA not done.
 */
static int iopt_walk_pieces(struct io_pagetable *iopt, unsigned long iova,
			    unsigned long last, iopt_piece_fn *fn, void *arg,
			    unsigned long *stop)
{
	struct iopt_walk walk;
	struct iopt_area *area;
	int rc = 0;

	lockdep_assert_held(&iopt->iova_rwsem);

	area = iopt_walk_first(&walk, iopt, iova, last);
	while (area && !rc) {
		rc = fn(area, walk.cur_iova, iopt_walk_piece_last(&walk), arg);
		if (!rc)
			area = iopt_walk_next(&walk, iopt);
	}
	*stop = walk.cur_iova;
	if (!rc && !walk.complete)
		rc = -ENOENT;
	return rc;
}

static int unpin_piece(struct iopt_area *area, unsigned long first,
		       unsigned long last, void *arg)
{
	iopt_area_unpin(area, area_iova_index(area, first),
			area_iova_index(area, last));
	return 0;
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
	unsigned long last, stop;

	if (WARN_ON(iopt_range_last(iova, length, &last)))
		return;
	iopt = iommufd_access_lock_iopt(access, true);
	if (WARN_ON(!iopt))
		return;
	down_read(&iopt->iova_rwsem);
	WARN_ON(iopt_walk_pieces(iopt, iova, last, unpin_piece, NULL, &stop));
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_mutex);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

/* Where the next piece's struct pages go, the pin flags, the range end. */
struct pin_cursor {
	struct page **out;
	unsigned int flags;
	unsigned long last;
};

static int pin_piece(struct iopt_area *area, unsigned long first,
		     unsigned long last, void *arg)
{
	unsigned long first_index = area_iova_index(area, first);
	unsigned long last_index = area_iova_index(area, last);
	struct pin_cursor *cur = arg;
	int rc;

	/*
	 * out_pages has a page per IOVA page, so the area's memory must sit
	 * at the same offsets within pages as its IOVA, and a piece followed
	 * by another must end with a page.
	 */
	if (area->no_new_pins ||
	    area_iova_offset(area, first) != first % PAGE_SIZE ||
	    (last != cur->last && (last + 1) % PAGE_SIZE))
		return -EINVAL;
	rc = iopt_area_pin(area, first_index, last_index, cur->out,
			   cur->flags);
	if (!rc)
		cur->out += last_index - first_index + 1;
	return rc;
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
	struct pin_cursor cur = { .out = out_pages, .flags = flags };
	struct io_pagetable *iopt;
	unsigned long last, stop;
	int rc;

	if (WARN_ON(!access->ops->needs_pin_pages))
		return -EINVAL;
	rc = iopt_range_last(iova, length, &last);
	if (rc)
		return rc;
	cur.last = last;
	iopt = iommufd_access_lock_iopt(access, false);
	if (!iopt)
		return -ENOENT;

	down_read(&iopt->iova_rwsem);
	rc = iopt_walk_pieces(iopt, iova, last, pin_piece, &cur, &stop);
	/* Give back what the pieces before the failing one pinned. */
	if (rc && stop != iova)
		iopt_walk_pieces(iopt, iova, stop - 1, unpin_piece, NULL,
				 &stop);
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_mutex);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

/* The kernel buffer of an rw call and its flags. */
struct rw_cursor {
	void *data;
	unsigned int flags;
};

/* The first walk of an rw call only checks the range can be reached. */
static int rw_check_piece(struct iopt_area *area, unsigned long first,
			  unsigned long last, void *arg)
{
	unsigned int flags = *(unsigned int *)arg;

	if (area->no_new_pins)
		return -EINVAL;
	if ((flags & IOMMUFD_ACCESS_RW_WRITE) && !area->pages->writable)
		return -EPERM;
	return 0;
}

static int rw_piece(struct iopt_area *area, unsigned long first,
		    unsigned long last, void *arg)
{
	unsigned long byte = area_iova_index(area, first) * PAGE_SIZE +
			     area_iova_offset(area, first);
	struct rw_cursor *cur = arg;
	int rc;

	rc = iopt_mem_rw(area->pages, byte, cur->data, last - first + 1,
			 cur->flags);
	cur->data += last - first + 1;
	return rc;
}

/**
 * iommufd_access_rw() - read or write memory by IOVA
 * @access: an attached access
 * @iova: first IOVA
 * @data: kernel buffer
 * @length: bytes
 * @flags: IOMMUFD_ACCESS_RW_* flags
 *
 * Nothing is copied if part of the range is unmapped or read-only.
 *
 * Return: 0; -ENOENT if the range is not fully mapped; -EPERM for writing
 * read-only memory; -EFAULT if the memory cannot be reached.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t length, unsigned int flags)
{
	struct rw_cursor cur = { .data = data, .flags = flags };
	unsigned long last, stop;
	struct io_pagetable *iopt;
	int rc = iopt_range_last(iova, length, &last);

	if (rc)
		return rc;
	iopt = iommufd_access_lock_iopt(access, false);
	if (!iopt)
		return -ENOENT;
	down_read(&iopt->iova_rwsem);
	/* Nothing is copied unless all of the range can be. */
	rc = iopt_walk_pieces(iopt, iova, last, rw_check_piece, &flags, &stop);
	if (!rc)
		rc = iopt_walk_pieces(iopt, iova, last, rw_piece, &cur, &stop);
	up_read(&iopt->iova_rwsem);
	mutex_unlock(&access->ioas_mutex);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);

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
