// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * hw_pagetables: iommu_domains wrapped as objects, and how device groups
 * join and leave them.  A paging hw_pagetable (struct iommufd_hwpt_paging)
 * belongs to one IOAS: its domain is in the IOAS's io_pagetable, so it maps
 * everything the IOAS maps, and it is on the IOAS's hwpt_list, where
 * attaching devices look for a compatible domain.
 *
 * Life cycle: allocated with a reserved ID for a first device; the domain
 * is made, optionally that device attached, then the domain is filled from
 * the IOAS and the object published.  The hw_pagetable holds a ref on its
 * IOAS; each attached device holds a ref on the hw_pagetable.  An automatic
 * one (made by attaching a device to the IOAS itself) is destroyed when its
 * last device detaches.
 *
 * Groups.  The IOMMU translates a whole iommu_group: the first device of a
 * group to attach attaches the group, the others join it, and the last to
 * detach detaches it.  While attached to a paging hw_pagetable, the
 * reserved regions of each attached device are reserved in its IOAS.
 *
 * MSI.  On IOMMUs that translate MSI writes (SMMUv3, the mock) MSI
 * doorbells are mapped into the domain inside a software MSI window.  A
 * paging domain gets the window of the group it was made for, once, and
 * maps doorbells there for as long as it lives, for every device of every
 * group attached to it, attached or only bound.  So the window is reserved
 * in the IOAS for the hw_pagetable's whole life, and a group with another
 * window cannot use the domain.
 *
 * Locks: see iommufd_private.h.
 */
#include <linux/iommu.h>
#include <linux/pagemap.h>
#include <linux/pci.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"

/*
 * Take the domain out of the IOAS (if it got in), give back its MSI
 * window, and free it.  The caller holds ioas->mutex, and drops the IOAS
 * reference after unlocking it.
 */
static void hwpt_paging_teardown_locked(struct iommufd_hwpt_paging *hwpt_paging)
{
	struct iommufd_ioas *ioas = hwpt_paging->ioas;
	struct iommu_domain *domain = hwpt_paging->base.domain;

	lockdep_assert_held(&ioas->mutex);

	/* On the list exactly while the domain is in the io_pagetable. */
	if (!list_empty(&hwpt_paging->ioas_link)) {
		list_del_init(&hwpt_paging->ioas_link);
		iopt_remove_domain(&ioas->iopt, domain);
	}
	if (hwpt_paging->msi_start != PHYS_ADDR_MAX)
		iopt_unreserve_owner(&ioas->iopt, hwpt_paging);
	if (domain)
		iommu_domain_free(domain);
	if (hwpt_paging->base.fault)
		refcount_dec(&hwpt_paging->base.fault->obj.refs);
}

void hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hwpt_paging =
		container_of(obj, struct iommufd_hwpt_paging, base.obj);
	struct iommufd_ioas *ioas = hwpt_paging->ioas;

	mutex_lock(&ioas->mutex);
	hwpt_paging_teardown_locked(hwpt_paging);
	mutex_unlock(&ioas->mutex);
	refcount_dec(&ioas->obj.refs);
}

/**
 * hwpt_paging_discard_locked() - throw away an unpublished hwpt
 * @ictx: the context
 * @hwpt_paging: from hwpt_paging_create(); no device attached
 *
 * For callers holding ioas->mutex, which the destroy op would take.
 */
void hwpt_paging_discard_locked(struct iommufd_ctx *ictx,
				struct iommufd_hwpt_paging *hwpt_paging)
{
	hwpt_paging_teardown_locked(hwpt_paging);
	/* The caller's lookup of the IOAS keeps it alive. */
	refcount_dec(&hwpt_paging->ioas->obj.refs);
	iommufd_object_discard(ictx, &hwpt_paging->base.obj);
}

/*
 * Make the domain block non-snooped DMA.  -EINVAL if it cannot (some
 * drivers can only switch it on before anything is mapped).
 */
static int hwpt_paging_enforce_snoop(struct iommufd_hwpt_paging *hwpt_paging)
{
	struct iommu_domain *domain = hwpt_paging->base.domain;

	if (hwpt_paging->snoop_enforced)
		return 0;
	if (!domain->ops->enforce_cache_coherency ||
	    !domain->ops->enforce_cache_coherency(domain))
		return -EINVAL;
	hwpt_paging->snoop_enforced = true;
	return 0;
}

/*
 * Give a new domain the software MSI window of the group it is made for:
 * reserved in the IOAS, and the MSI cookie that maps doorbells there.
 */
static int hwpt_paging_take_msi(struct iommufd_hwpt_paging *hwpt_paging,
				struct iommufd_group *igroup)
{
	struct io_pagetable *iopt = &hwpt_paging->ioas->iopt;
	int rc;

	if (igroup->msi_start == PHYS_ADDR_MAX)
		return 0;
	rc = iopt_reserve(iopt, igroup->msi_start, igroup->msi_last,
			  hwpt_paging);
	if (rc)
		return rc;
	rc = iommu_get_msi_cookie(hwpt_paging->base.domain, igroup->msi_start);
	if (rc) {
		iopt_unreserve_owner(iopt, hwpt_paging);
		return rc;
	}
	hwpt_paging->msi_start = igroup->msi_start;
	hwpt_paging->msi_last = igroup->msi_last;
	return 0;
}

/*
 * Can the group's devices use the domain: MSIs of a group with a software
 * MSI window need a domain that maps doorbells in that very window; a
 * device whose IOMMU can block non-snooped DMA needs a domain that does,
 * and a domain that does is not shared with a device whose IOMMU cannot,
 * for then VFIO_DMA_CC_IOMMU would claim all DMA through it snooped.  A
 * domain that tracks dirty pages takes only devices (@dev, of the group)
 * whose IOMMU can do that.
 */
static int hwpt_suits_group(struct iommufd_hw_pagetable *hwpt,
			    struct iommufd_group *igroup, struct device *dev,
			    bool needs_snoop)
{
	struct iommufd_hwpt_paging *hwpt_paging;

	/* Replacing does not check this in the core; attaching does. */
	if (hwpt->domain->owner != dev_iommu_ops(dev))
		return -EINVAL;
	/* A nested domain's DMA goes on through its parent. */
	if (!hwpt_is_paging(hwpt))
		hwpt = &hwpt_to_nested(hwpt)->parent->base;
	if (hwpt->domain->dirty_ops &&
	    !device_iommu_capable(dev, IOMMU_CAP_DIRTY_TRACKING))
		return -EINVAL;
	hwpt_paging = hwpt_to_paging(hwpt);
	if (igroup->msi_start != PHYS_ADDR_MAX &&
	    (hwpt_paging->msi_start != igroup->msi_start ||
	     hwpt_paging->msi_last != igroup->msi_last))
		return -EINVAL;
	if (!needs_snoop)
		return hwpt_paging->snoop_enforced ? -EINVAL : 0;
	/*
	 * Nor is a domain switched to enforcing under devices that use it
	 * without (attaching holds ioas->mutex, so none can join meanwhile).
	 */
	if (!hwpt_paging->snoop_enforced && refcount_read(&hwpt->obj.refs) > 1)
		return -EINVAL;
	return hwpt_paging_enforce_snoop(hwpt_paging);
}

/* Reserve the regions of the group's attached devices, all or none. */
static int igroup_reserve(struct iommufd_group *igroup,
			  struct io_pagetable *iopt)
{
	struct iommufd_device *idev;
	int rc;

	list_for_each_entry(idev, &igroup->attached_devs, igroup_link) {
		rc = iopt_reserve_dev_regions(iopt, idev->dev);
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

/* Does any attached device of the group need coherency enforced? */
static bool igroup_needs_snoop(struct iommufd_group *igroup)
{
	struct iommufd_device *idev;

	list_for_each_entry(idev, &igroup->attached_devs, igroup_link) {
		if (idev->needs_snoop)
			return true;
	}
	return false;
}

/*
 * The IOAS whose IOVA the device's DMA ends up in: a nested domain's
 * output goes through its parent, so the device's reserved regions are
 * reserved there.
 */
static struct io_pagetable *hwpt_iopt(struct iommufd_hw_pagetable *hwpt)
{
	if (!hwpt_is_paging(hwpt))
		hwpt = &hwpt_to_nested(hwpt)->parent->base;
	return &hwpt_to_paging(hwpt)->ioas->iopt;
}

/*
 * A group's attachment to a hw_pagetable with a fault queue: the handle
 * the fault handler finds the queue and the device by, and the device's
 * IOPF turned on (unless it is on already, from the attachment this one
 * replaces).
 */
static struct iommufd_attach_handle *
hwpt_fault_handle_new(struct iommufd_hw_pagetable *hwpt,
		      struct iommufd_device *idev, bool enable_iopf)
{
	struct iommufd_attach_handle *handle;
	int rc;

	handle = kzalloc(sizeof(*handle), GFP_KERNEL);
	if (!handle)
		return ERR_PTR(-ENOMEM);
	handle->fault = hwpt->fault;
	handle->idev = idev;
	/*
	 * A VF shares PRI with its PF: a failure answered for one would
	 * stop the others' page requests.
	 */
	if (dev_is_pci(idev->dev) && to_pci_dev(idev->dev)->is_virtfn) {
		kfree(handle);
		return ERR_PTR(-EINVAL);
	}
	if (enable_iopf) {
		rc = iommu_dev_enable_feature(idev->dev, IOMMU_DEV_FEAT_IOPF);
		if (rc) {
			kfree(handle);
			return ERR_PTR(rc);
		}
	}
	return handle;
}

/*
 * The core routes no more faults through @handle: answer what came
 * through it, then turn the device's IOPF off (which drops what the core
 * still has pending) unless the attachment that replaced it needs it.
 */
static void hwpt_fault_handle_free(struct iommufd_attach_handle *handle,
				   bool disable_iopf)
{
	iommufd_fault_respond_handle(handle);
	if (disable_iopf)
		iommu_dev_disable_feature(handle->idev->dev,
					  IOMMU_DEV_FEAT_IOPF);
	kfree(handle);
}

/*
 * The records of a fault name the device that attached; so a group
 * attaches to a hw_pagetable with a fault queue only through its one
 * bound device.
 */
static int hwpt_fault_suits_group(struct iommufd_hw_pagetable *hwpt,
				  struct iommufd_group *igroup)
{
	if (hwpt->fault && atomic_read(&igroup->bound) != 1)
		return -EINVAL;
	return 0;
}

/* The first device of the group attaches the group. */
static int hwpt_group_attach(struct iommufd_hw_pagetable *hwpt,
			     struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_attach_handle *handle;
	int rc;

	if (!hwpt->fault)
		return iommu_attach_group(hwpt->domain, igroup->iommu_group);
	handle = hwpt_fault_handle_new(hwpt, idev, true);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	rc = iommu_attach_group_handle(hwpt->domain, igroup->iommu_group,
				       &handle->handle);
	if (rc) {
		hwpt_fault_handle_free(handle, true);
		return rc;
	}
	igroup->handle = handle;
	return 0;
}

/* The last device of the group detaches the group. */
static void hwpt_group_detach(struct iommufd_hw_pagetable *hwpt,
			      struct iommufd_group *igroup)
{
	if (!igroup->handle) {
		iommu_detach_group(hwpt->domain, igroup->iommu_group);
		return;
	}
	iommu_detach_group_handle(hwpt->domain, igroup->iommu_group);
	hwpt_fault_handle_free(igroup->handle, true);
	igroup->handle = NULL;
}

/* Move the attached group to @hwpt's domain, with or without a handle. */
static int hwpt_group_replace(struct iommufd_hw_pagetable *hwpt,
			      struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_attach_handle *old = igroup->handle, *handle = NULL;
	int rc;

	if (hwpt->fault) {
		handle = hwpt_fault_handle_new(hwpt, idev, !old);
		if (IS_ERR(handle))
			return PTR_ERR(handle);
	}
	rc = iommu_replace_group_handle(igroup->iommu_group, hwpt->domain,
					handle ? &handle->handle : NULL);
	if (rc) {
		if (handle)
			hwpt_fault_handle_free(handle, !old);
		return rc;
	}
	igroup->handle = handle;
	if (old)
		hwpt_fault_handle_free(old, !handle);
	return 0;
}

/**
 * hwpt_attach_dev() - attach a device to a hw_pagetable
 * @hwpt: the hw_pagetable
 * @idev: a bound, detached device
 *
 * The first device of a group attaches the whole group; the others join.
 * Takes a ref on @hwpt for the device.
 *
 * Return: 0; -EINVAL if the device is attached, its group is attached
 * elsewhere, or the domain does not suit it; -EADDRINUSE if the device's
 * reserved regions are mapped; other errnos from the IOMMU driver.
 */
int hwpt_attach_dev(struct iommufd_hw_pagetable *hwpt,
		    struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct io_pagetable *iopt = hwpt_iopt(hwpt);
	int rc;

	mutex_lock(&igroup->mutex);
	if ((igroup->hwpt && igroup->hwpt != hwpt) || igroup->leaving_iopt ||
	    !list_empty(&idev->igroup_link)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	rc = hwpt_suits_group(hwpt, igroup, idev->dev, idev->needs_snoop);
	if (!rc)
		rc = hwpt_fault_suits_group(hwpt, igroup);
	if (rc)
		goto out_unlock;
	rc = iopt_reserve_dev_regions(iopt, idev->dev);
	if (rc)
		goto out_unlock;
	if (list_empty(&igroup->attached_devs)) {
		rc = hwpt_group_attach(hwpt, idev);
		if (rc) {
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
 * @idev: a device
 *
 * The last device of a group detaches the group, which goes back to
 * blocking DMA.
 *
 * Return: the hw_pagetable, whose ref for the device the caller drops with
 * hwpt_drop_devs(); NULL if the device was not attached.
 */
struct iommufd_hw_pagetable *hwpt_detach_dev(struct iommufd_device *idev)
{
	struct iommufd_group *igroup = idev->igroup;
	struct iommufd_hw_pagetable *hwpt = NULL;
	struct io_pagetable *iopt;

	mutex_lock(&igroup->mutex);
	if (list_empty(&idev->igroup_link) || WARN_ON(!igroup->hwpt))
		goto out_unlock;
	hwpt = igroup->hwpt;
	iopt = hwpt_iopt(hwpt);
	list_del_init(&idev->igroup_link);
	if (list_empty(&igroup->attached_devs)) {
		hwpt_group_detach(hwpt, igroup);
		igroup->hwpt = NULL;
	}
	iopt_unreserve_owner(iopt, idev->dev);
	if (igroup->leaving_iopt)
		iopt_unreserve_owner(igroup->leaving_iopt, idev->dev);
out_unlock:
	mutex_unlock(&igroup->mutex);
	return hwpt;
}

/*
 * hwpt_switch_group() below, where @keep leaves the devices' regions
 * reserved in the old IOAS until hwpt_switch_commit() or
 * hwpt_switch_back().  Until then no other attach or replace of the group
 * goes through; a device that detaches takes its regions from both.
 */
static int hwpt_switch_group_keep(struct iommufd_device *idev,
				  struct iommufd_hw_pagetable *hwpt, bool keep,
				  struct iommufd_hw_pagetable **old,
				  unsigned int *num)
{
	struct iommufd_group *igroup = idev->igroup;
	struct io_pagetable *old_iopt, *new_iopt = hwpt_iopt(hwpt);
	bool move_regions;
	unsigned int n;
	int rc;

	*old = NULL;
	*num = 0;
	mutex_lock(&igroup->mutex);
	if (!igroup->hwpt || list_empty(&idev->igroup_link)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	/* Another replace of the group is not final yet. */
	rc = -EBUSY;
	if (igroup->leaving_iopt)
		goto out_unlock;
	rc = 0;
	if (igroup->hwpt == hwpt)
		goto out_unlock;
	old_iopt = hwpt_iopt(igroup->hwpt);
	move_regions = new_iopt != old_iopt;

	rc = hwpt_suits_group(hwpt, igroup, idev->dev,
			      igroup_needs_snoop(igroup));
	if (!rc)
		rc = hwpt_fault_suits_group(hwpt, igroup);
	if (rc)
		goto out_unlock;
	if (move_regions) {
		rc = igroup_reserve(igroup, new_iopt);
		if (rc)
			goto out_unlock;
	}
	rc = hwpt_group_replace(hwpt, idev);
	if (rc) {
		if (move_regions)
			igroup_unreserve(igroup, new_iopt);
		goto out_unlock;
	}
	if (move_regions && keep)
		igroup->leaving_iopt = old_iopt;
	else if (move_regions)
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

/**
 * hwpt_switch_group() - move a group to another hw_pagetable, hitlessly
 * @idev: an attached device of the group
 * @hwpt: where to
 * @old: receives the previous hw_pagetable, or NULL if nothing changed
 * @num: receives how many device refs of *@old the caller drops with
 *	hwpt_drop_devs()
 *
 * DMA keeps being translated by the old domain until the new one takes
 * over.
 *
 * Return: 0; -EINVAL if the device is not attached or the domain does not
 * suit the group; -EADDRINUSE if the devices' regions are mapped in the new
 * IOAS; other errnos from the IOMMU driver.  Nothing changes on failure.
 */
int hwpt_switch_group(struct iommufd_device *idev,
		      struct iommufd_hw_pagetable *hwpt,
		      struct iommufd_hw_pagetable **old, unsigned int *num)
{
	return hwpt_switch_group_keep(idev, hwpt, false, old, num);
}

/**
 * hwpt_drop_devs() - drop refs of devices that left a hw_pagetable
 * @ictx: the context
 * @hwpt: the hw_pagetable, or NULL
 * @num: how many
 *
 * An automatic hw_pagetable goes away with its last device.  No lock of
 * the IOAS or group may be held.
 */
void hwpt_drop_devs(struct iommufd_ctx *ictx,
		    struct iommufd_hw_pagetable *hwpt, unsigned int num)
{
	if (!hwpt || !num)
		return;
	/* All but the last leave at least one ref behind. */
	while (--num)
		refcount_dec(&hwpt->obj.refs);
	if (hwpt_is_paging(hwpt) && hwpt_to_paging(hwpt)->auto_made)
		iommufd_object_kill(ictx, &hwpt->obj, hwpt->obj.id,
				    IOMMUFD_KILL_BUSY_OK |
					    IOMMUFD_KILL_DROP_REF);
	else
		refcount_dec(&hwpt->obj.refs);
}

/**
 * struct hwpt_user_data - the driver data of IOMMU_HWPT_ALLOC
 * @data: where it is, for the driver
 * @read_faulted: the driver's read of it failed on a page not present
 *	(see hwpt_domain_alloc_user())
 */
struct hwpt_user_data {
	struct iommu_user_data data;
	bool read_faulted;
};

/*
 * The driver's domain_alloc_user.  A driver reads @user_data from user
 * memory while the caller holds the device, whose unbind waits for it, and
 * maybe ioas->mutex.  So that a user cannot stall those paths by stalling
 * the read (userfaultfd, FUSE), the call runs with page faults disabled:
 * the caller faulted the data in before taking anything, and a page that
 * went away since makes the driver fail with -EFAULT; the caller faults it
 * in again and retries (iommufd_hwpt_alloc()).
 */
static struct iommu_domain *
hwpt_domain_alloc_user(struct device *dev, u32 flags,
		       struct iommu_domain *parent,
		       struct hwpt_user_data *user_data)
{
	const struct iommu_ops *ops = dev_iommu_ops(dev);
	struct iommu_domain *domain;

	if (!ops->domain_alloc_user)
		return ERR_PTR(-EOPNOTSUPP);
	if (user_data)
		pagefault_disable();
	domain = ops->domain_alloc_user(dev, flags, parent,
					user_data ? &user_data->data : NULL);
	if (user_data) {
		pagefault_enable();
		user_data->read_faulted = PTR_ERR_OR_ZERO(domain) == -EFAULT;
	}
	if (IS_ERR(domain))
		return domain;
	if (WARN_ON(!domain))
		return ERR_PTR(-ENOMEM);
	/* The core sets this for the domains it allocates itself. */
	domain->owner = ops;
	return domain;
}

/* A paging domain from the device's IOMMU driver. */
static struct iommu_domain *
hwpt_paging_domain_alloc(struct device *dev, u32 flags,
			 struct hwpt_user_data *user_data)
{
	const struct iommu_ops *ops = dev_iommu_ops(dev);
	struct iommu_domain *domain;

	if (!ops->domain_alloc_user) {
		if (flags || user_data)
			return ERR_PTR(-EOPNOTSUPP);
		return iommu_paging_domain_alloc(dev);
	}
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !device_iommu_capable(dev, IOMMU_CAP_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);
	domain = hwpt_domain_alloc_user(dev, flags, NULL, user_data);
	if (IS_ERR(domain))
		return domain;
	if (WARN_ON(!(domain->type & __IOMMU_DOMAIN_PAGING)) ||
	    ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	     WARN_ON(!domain->dirty_ops))) {
		iommu_domain_free(domain);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return domain;
}

/*
 * Drivers with only the legacy domain_alloc op (virtio-iommu in 6.12)
 * finish a domain (its page sizes, aperture, even the IOMMU it belongs
 * to) when the first device attaches; mapping into it before crashes.
 */
static bool driver_done_at_attach(const struct iommu_ops *ops)
{
	return !ops->domain_alloc_paging && !ops->domain_alloc_user;
}

static bool domain_done_at_attach(struct iommu_domain *domain)
{
	return driver_done_at_attach(domain->owner);
}

/* The replace by hwpt_switch_group_keep() stays: free the old regions. */
static void hwpt_switch_commit(struct iommufd_group *igroup)
{
	mutex_lock(&igroup->mutex);
	if (igroup->leaving_iopt)
		igroup_unreserve(igroup, igroup->leaving_iopt);
	igroup->leaving_iopt = NULL;
	mutex_unlock(&igroup->mutex);
}

/*
 * Move the group back after a failed fill from @hwpt to @old, which it
 * left with hwpt_switch_group_keep(): its regions are still reserved
 * there, and the old domain took the group before, so nothing in the
 * IOAS can refuse this.  @old keeps the refs the caller drops for the
 * devices that left it; the devices attached now get new ones.
 */
static void hwpt_switch_back(struct iommufd_device *idev,
			     struct iommufd_hw_pagetable *hwpt,
			     struct iommufd_hw_pagetable *old)
{
	struct iommufd_group *igroup = idev->igroup;
	struct io_pagetable *iopt = hwpt_iopt(hwpt);
	unsigned int n;
	bool back;

	mutex_lock(&igroup->mutex);
	back = !WARN_ON(igroup->hwpt != hwpt) &&
	       !WARN_ON(hwpt_group_replace(old, idev));
	/* The regions stay reserved only where the group ends up. */
	if (igroup->leaving_iopt)
		igroup_unreserve(igroup, back ? iopt : igroup->leaving_iopt);
	igroup->leaving_iopt = NULL;
	if (!back)
		goto out_unlock;
	igroup->hwpt = old;
	n = list_count_nodes(&igroup->attached_devs);
	refcount_add(n, &old->obj.refs);
	/* The devices' refs on @hwpt go; the table's own stays. */
	WARN_ON(refcount_sub_and_test(n, &hwpt->obj.refs));
out_unlock:
	mutex_unlock(&igroup->mutex);
}

/*
 * Bring @idev in as @join says (see hwpt_paging_create()) and fill the
 * domain from the IOAS.  On failure the join is undone, and the domain is
 * left out of the IOAS.
 */
static int hwpt_paging_join_fill(struct iommufd_hwpt_paging *hwpt_paging,
				 struct iommufd_device *idev,
				 enum hwpt_join join,
				 struct iommufd_hw_pagetable **old,
				 unsigned int *num)
{
	bool replace_first = join == HWPT_JOIN_REPLACE &&
			     domain_done_at_attach(hwpt_paging->base.domain);
	struct iommufd_hw_pagetable *hwpt = &hwpt_paging->base;
	struct iommufd_ioas *ioas = hwpt_paging->ioas;
	int rc = 0;

	lockdep_assert_held(&ioas->mutex);
	/*
	 * The device is attached before the domain is filled: a driver may
	 * only learn the domain's final geometry from its first device.
	 */
	if (join == HWPT_JOIN_ATTACH)
		rc = hwpt_attach_dev(hwpt, idev);
	else if (replace_first)
		rc = hwpt_switch_group_keep(idev, hwpt, true, old, num);
	if (rc)
		return rc;
	rc = iopt_add_domain(&ioas->iopt, hwpt->domain);
	if (rc)
		goto out_detach;
	if (replace_first)
		hwpt_switch_commit(idev->igroup);
	if (join == HWPT_JOIN_REPLACE && !replace_first) {
		rc = hwpt_switch_group(idev, hwpt, old, num);
		if (rc)
			goto out_remove;
	}
	list_add_tail(&hwpt_paging->ioas_link, &ioas->hwpt_list);
	return 0;

out_remove:
	iopt_remove_domain(&ioas->iopt, hwpt->domain);
out_detach:
	if (join == HWPT_JOIN_ATTACH)
		refcount_dec(&hwpt_detach_dev(idev)->obj.refs);
	else if (replace_first)
		hwpt_switch_back(idev, hwpt, *old);
	return rc;
}

/**
 * hwpt_paging_create() - make a paging hw_pagetable for an IOAS
 * @ictx: the context
 * @ioas: the IOAS; the caller holds ioas->mutex
 * @idev: the device the domain is made for
 * @flags: IOMMU_HWPT_ALLOC_NEST_PARENT, IOMMU_HWPT_ALLOC_DIRTY_TRACKING
 * @user_data: driver data for the domain, or NULL
 * @join: HWPT_JOIN_NONE leaves attaching to the caller, and where the
 *	driver only finishes a domain at its first attach, filling it too
 *	(hwpt_paging_join() does both then);
 *	HWPT_JOIN_ATTACH attaches @idev before the domain is filled;
 *	HWPT_JOIN_REPLACE moves @idev's group onto it, before filling it
 *	where the driver only finishes domains at their first attach
 *	(which is not hitless: DMA faults until the fill is done), else
 *	after
 * @old: with HWPT_JOIN_REPLACE, receives the hw_pagetable the group left
 *	and @num the device refs to drop from it (hwpt_drop_devs()); also
 *	when the call fails
 * @num: see @old
 *
 * Return: the new hw_pagetable, on ioas->hwpt_list once filled, not yet
 * published (the caller finalizes it, or aborts it with
 * hwpt_paging_discard_locked() after detaching any device), or an
 * ERR_PTR with everything undone.
 */
struct iommufd_hwpt_paging *
hwpt_paging_create(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
		   struct iommufd_device *idev, u32 flags,
		   struct hwpt_user_data *user_data, enum hwpt_join join,
		   struct iommufd_hw_pagetable **old, unsigned int *num)
{
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_hw_pagetable *hwpt;
	struct iommu_domain *domain;
	int rc;

	lockdep_assert_held(&ioas->mutex);

	hwpt_paging = iommufd_object_new_at(ictx, struct iommufd_hwpt_paging,
					    base.obj,
					    IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(hwpt_paging))
		return hwpt_paging;
	hwpt = &hwpt_paging->base;
	INIT_LIST_HEAD(&hwpt_paging->ioas_link);
	hwpt_paging->msi_start = PHYS_ADDR_MAX;
	hwpt_paging->msi_last = PHYS_ADDR_MAX;
	refcount_inc(&ioas->obj.refs);
	hwpt_paging->ioas = ioas;
	hwpt_paging->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;

	domain = hwpt_paging_domain_alloc(idev->dev, flags, user_data);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto out_abort;
	}
	hwpt->domain = domain;

	/* Before anything is mapped: some drivers cannot switch it later. */
	if (idev->needs_snoop) {
		rc = hwpt_paging_enforce_snoop(hwpt_paging);
		if (WARN_ON(rc))
			goto out_abort;
	}
	rc = hwpt_paging_take_msi(hwpt_paging, idev->igroup);
	if (rc)
		goto out_abort;

	/* Such a domain cannot be filled before it has a device. */
	if (join == HWPT_JOIN_NONE && domain_done_at_attach(domain))
		return hwpt_paging;
	rc = hwpt_paging_join_fill(hwpt_paging, idev, join, old, num);
	if (rc)
		goto out_abort;
	return hwpt_paging;

out_abort:
	hwpt_paging_discard_locked(ictx, hwpt_paging);
	return ERR_PTR(rc);
}

/**
 * hwpt_paging_join() - attach a device to, or replace it onto, an explicit
 *	paging hw_pagetable
 * @hwpt_paging: the hw_pagetable; the caller holds its ioas->mutex, and
 *	holds the IOAS's memory pinned if the IOAS has no domain yet
 *	(ioas_call_pinned())
 * @idev: the device
 * @replace: replace (hwpt_switch_group()) instead of attach
 *	(hwpt_attach_dev())
 * @old: see hwpt_switch_group()
 * @num: see hwpt_switch_group()
 *
 * A hw_pagetable made before it could be filled is filled now, with the
 * device brought in first.
 *
 * Return: 0, -EAGAIN if memory needs pinning first, or an errno of
 * attaching.
 */
int hwpt_paging_join(struct iommufd_hwpt_paging *hwpt_paging,
		     struct iommufd_device *idev, bool replace,
		     struct iommufd_hw_pagetable **old, unsigned int *num)
{
	struct iommufd_hw_pagetable *hwpt = &hwpt_paging->base;

	lockdep_assert_held(&hwpt_paging->ioas->mutex);
	/* On the list exactly while the domain is in the io_pagetable. */
	if (list_empty(&hwpt_paging->ioas_link))
		return hwpt_paging_join_fill(hwpt_paging, idev,
					     replace ? HWPT_JOIN_REPLACE :
						       HWPT_JOIN_ATTACH,
					     old, num);
	return replace ? hwpt_switch_group(idev, hwpt, old, num) :
			 hwpt_attach_dev(hwpt, idev);
}

void hwpt_nested_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_nested *hwpt_nested =
		container_of(obj, struct iommufd_hwpt_nested, base.obj);

	if (hwpt_nested->base.domain)
		iommu_domain_free(hwpt_nested->base.domain);
	if (hwpt_nested->base.fault)
		refcount_dec(&hwpt_nested->base.fault->obj.refs);
	refcount_dec(&hwpt_nested->parent->base.obj.refs);
}

/* The fault queue @fault_id, referenced for a hw_pagetable's life. */
static struct iommufd_fault *hwpt_fault_get(struct iommufd_ctx *ictx,
					    u32 fault_id)
{
	struct iommufd_object *obj;

	obj = iommufd_obj_get(ictx, fault_id, IOMMUFD_OBJ_FAULT);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	refcount_inc(&obj->refs);
	iommufd_obj_put(ictx, obj);
	return container_of(obj, struct iommufd_fault, obj);
}

/* A nested hw_pagetable of @idev's IOMMU on @parent, from @user_data. */
static struct iommufd_hw_pagetable *
hwpt_nested_create(struct iommufd_device *idev,
		   struct iommufd_hwpt_paging *parent, u32 flags,
		   u32 fault_id, struct hwpt_user_data *user_data)
{
	struct iommufd_hwpt_nested *hwpt_nested;
	struct iommu_domain *domain;

	if ((flags & ~IOMMU_HWPT_FAULT_ID_VALID) || !user_data)
		return ERR_PTR(-EOPNOTSUPP);
	/* The parent must be a nest parent of the same driver. */
	if (!parent->nest_parent ||
	    parent->base.domain->owner != dev_iommu_ops(idev->dev))
		return ERR_PTR(-EINVAL);

	hwpt_nested = iommufd_object_new_at(idev->ictx,
					    struct iommufd_hwpt_nested,
					    base.obj, IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(hwpt_nested))
		return ERR_CAST(hwpt_nested);
	refcount_inc(&parent->base.obj.refs);
	hwpt_nested->parent = parent;
	if (flags & IOMMU_HWPT_FAULT_ID_VALID) {
		struct iommufd_fault *fault = hwpt_fault_get(idev->ictx,
							     fault_id);

		if (IS_ERR(fault)) {
			iommufd_object_undo(idev->ictx,
					    &hwpt_nested->base.obj);
			return ERR_CAST(fault);
		}
		hwpt_nested->base.fault = fault;
	}

	domain = hwpt_domain_alloc_user(idev->dev, 0, parent->base.domain,
					user_data);
	if (!IS_ERR(domain) && WARN_ON(domain->type != IOMMU_DOMAIN_NESTED)) {
		iommu_domain_free(domain);
		domain = ERR_PTR(-EINVAL);
	}
	if (IS_ERR(domain)) {
		iommufd_object_undo(idev->ictx, &hwpt_nested->base.obj);
		return ERR_CAST(domain);
	}
	hwpt_nested->base.domain = domain;
	if (hwpt_nested->base.fault)
		domain->iopf_handler = iommufd_fault_iopf_handler;
	return &hwpt_nested->base;
}

/* What hwpt_paging_alloc_locked() works on and makes. */
struct hwpt_paging_alloc {
	struct iommufd_ctx *ictx;
	u32 dev_id;
	bool unfilled;
	struct iommufd_ioas *ioas;
	u32 flags;
	struct hwpt_user_data *user_data;
	struct iommufd_fault *fault;
	struct iommufd_hwpt_paging *made;
};

/*
 * The device is looked up here, after ioas_call_pinned() pinned what the
 * domain needs: a user whose pinning stalls must not hold the device, whose
 * unbind would wait for it.
 */
static int hwpt_paging_alloc_locked(void *arg)
{
	struct hwpt_paging_alloc *a = arg;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_device *idev;

	idev = iommufd_device_get(a->ictx, a->dev_id);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	mutex_lock(&a->ioas->mutex);
	hwpt_paging = hwpt_paging_create(a->ictx, a->ioas, idev, a->flags,
					 a->user_data, HWPT_JOIN_NONE, NULL,
					 NULL);
	mutex_unlock(&a->ioas->mutex);
	iommufd_obj_put(a->ictx, &idev->obj);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);
	/* No device is attached yet: all will report faults to the queue. */
	if (a->fault) {
		hwpt_paging->base.fault = a->fault;
		hwpt_paging->base.domain->iopf_handler =
			iommufd_fault_iopf_handler;
		a->fault = NULL;
	}
	a->made = hwpt_paging;
	return 0;
}

/*
 * An explicit paging hw_pagetable on @ioas, for @idev's IOMMU; the caller's
 * lookup of @idev is dropped (and taken again after pinning).
 */
static struct iommufd_hw_pagetable *
hwpt_paging_alloc(struct iommufd_device *idev, struct iommufd_ioas *ioas,
		  u32 flags, u32 fault_id, struct hwpt_user_data *user_data)
{
	struct hwpt_paging_alloc a = {
		.ictx = idev->ictx, .dev_id = idev->obj.id, .ioas = ioas,
		.flags = flags & ~IOMMU_HWPT_FAULT_ID_VALID,
		.user_data = user_data,
		/* Not filled before its first attach: nothing to pin now. */
		.unfilled = driver_done_at_attach(dev_iommu_ops(idev->dev)),
	};
	int rc;

	/* Pinning may be needed: not while holding the device. */
	iommufd_obj_put(idev->ictx, &idev->obj);
	if (flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT |
		      IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
		      IOMMU_HWPT_FAULT_ID_VALID))
		return ERR_PTR(-EOPNOTSUPP);
	if (flags & IOMMU_HWPT_FAULT_ID_VALID) {
		/* Faults of a stage 2 are the kernel's, not the user's. */
		if (flags & IOMMU_HWPT_ALLOC_NEST_PARENT)
			return ERR_PTR(-EOPNOTSUPP);
		a.fault = hwpt_fault_get(a.ictx, fault_id);
		if (IS_ERR(a.fault))
			return ERR_CAST(a.fault);
	}
	if (a.unfilled)
		rc = hwpt_paging_alloc_locked(&a);
	else
		rc = ioas_call_pinned(ioas, hwpt_paging_alloc_locked, &a);
	/* Not taken by a hw_pagetable. */
	if (a.fault)
		refcount_dec(&a.fault->obj.refs);
	return rc ? ERR_PTR(rc) : &a.made->base;
}

/* One attempt of IOMMU_HWPT_ALLOC: the hw_pagetable, unpublished. */
static struct iommufd_hw_pagetable *
hwpt_alloc_once(struct iommufd_ctx *ictx, struct iommu_hwpt_alloc *cmd,
		struct hwpt_user_data *user_data)
{
	struct iommufd_hw_pagetable *hwpt = ERR_PTR(-EINVAL);
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;

	/* A missing device is reported before a wrong pt_id. */
	idev = iommufd_device_get(ictx, cmd->dev_id);
	if (IS_ERR(idev))
		return ERR_CAST(idev);
	pt_obj = iommufd_obj_get(ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (IS_ERR(pt_obj)) {
		iommufd_obj_put(ictx, &idev->obj);
		return ERR_CAST(pt_obj);
	}
	if (pt_obj->type == IOMMUFD_OBJ_IOAS) {
		/* Drops the device. */
		hwpt = hwpt_paging_alloc(idev,
					 container_of(pt_obj,
						      struct iommufd_ioas, obj),
					 cmd->flags, cmd->fault_id, user_data);
		idev = NULL;
	} else if (pt_obj->type == IOMMUFD_OBJ_HWPT_PAGING) {
		hwpt = hwpt_nested_create(idev,
					  container_of(pt_obj,
						       struct iommufd_hwpt_paging,
						       base.obj),
					  cmd->flags, cmd->fault_id, user_data);
	}
	iommufd_obj_put(ictx, pt_obj);
	if (idev)
		iommufd_obj_put(ictx, &idev->obj);
	return hwpt;
}

/*
 * How often a driver's read of the user data may fail on a page that was
 * readable just before (reclaimed, migrating) before we give up.
 */
#define HWPT_ALLOC_TRIES 16

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct hwpt_user_data user_data = {
		.data = {
			.type = cmd->data_type,
			.uptr = u64_to_user_ptr(cmd->data_uptr),
			.len = cmd->data_len,
		},
	};
	struct hwpt_user_data *data = cmd->data_len ? &user_data : NULL;
	void __user *uptr = user_data.data.uptr;
	struct iommufd_hw_pagetable *hwpt;
	int tries = 0;

	if (cmd->__reserved || cmd->__reserved2)
		return -EOPNOTSUPP;
	if (!cmd->data_type != !cmd->data_len)
		return -EINVAL;

	/* See hwpt_domain_alloc_user(); only its read is tried again. */
	for (;;) {
		if (data)
			fault_in_readable(uptr, cmd->data_len);
		hwpt = hwpt_alloc_once(ucmd->ictx, cmd, data);
		if (!data || !user_data.read_faulted ||
		    ++tries == HWPT_ALLOC_TRIES ||
		    fault_in_readable(uptr, cmd->data_len))
			break;
		if (fatal_signal_pending(current))
			return -EINTR;
		user_data.read_faulted = false;
		cond_resched();
	}
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	return iommufd_ucmd_reply_publish(ucmd, &hwpt->obj, &cmd->out_hwpt_id,
					  sizeof(*cmd));
}

/*
 * The driver reads the entries from user memory: nothing waits for a
 * lookup of a nested hw_pagetable but a user's destroy, so a stalled read
 * stalls no driver.
 */
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;
	struct iommu_user_data_array array = {
		.type = cmd->data_type,
		.uptr = u64_to_user_ptr(cmd->data_uptr),
		.entry_len = cmd->entry_len,
		.entry_num = cmd->entry_num,
	};
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *obj;
	u32 done = 0;
	int rc;

	/* Entries to read need somewhere to read them from. */
	rc = cmd->__reserved ? -EOPNOTSUPP :
	     cmd->entry_num && !(cmd->data_uptr && cmd->entry_len) ? -EINVAL : 0;
	if (rc)
		goto out;
	obj = iommufd_obj_get(ucmd->ictx, cmd->hwpt_id,
			      IOMMUFD_OBJ_HWPT_NESTED);
	if (IS_ERR(obj)) {
		rc = PTR_ERR(obj);
		goto out;
	}
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (hwpt->domain->ops->cache_invalidate_user) {
		rc = hwpt->domain->ops->cache_invalidate_user(hwpt->domain,
							      &array);
		/* The driver says how many entries it carried out. */
		done = min(array.entry_num, cmd->entry_num);
	} else {
		rc = -EOPNOTSUPP;
	}
	iommufd_obj_put(ucmd->ictx, obj);
out:
	cmd->entry_num = done;
	if (iommufd_ucmd_reply(ucmd, sizeof(*cmd)))
		return -EFAULT;
	return rc;
}

/*
 * The paging hw_pagetable @id, if it tracks dirty pages; held (put with
 * iommufd_obj_put()).  Only hw_pagetables allocated with
 * IOMMU_HWPT_ALLOC_DIRTY_TRACKING do, which only a user destroys: so the
 * hold may be kept while the user's bitmap is faulted in.
 */
static struct iommufd_hwpt_paging *hwpt_get_dirty(struct iommufd_ctx *ictx,
						  u32 id)
{
	struct iommufd_hwpt_paging *hwpt_paging;
	struct iommufd_object *obj;

	obj = iommufd_obj_get(ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	hwpt_paging = container_of(obj, struct iommufd_hwpt_paging, base.obj);
	if (!hwpt_paging->base.domain->dirty_ops || hwpt_paging->auto_made) {
		iommufd_obj_put(ictx, obj);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return hwpt_paging;
}

int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) || cmd->__reserved)
		return -EOPNOTSUPP;
	hwpt_paging = hwpt_get_dirty(ucmd->ictx, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);
	rc = iopt_set_dirty_tracking(&hwpt_paging->ioas->iopt,
				     hwpt_paging->base.domain,
				     cmd->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	iommufd_obj_put(ucmd->ictx, &hwpt_paging->base.obj);
	return rc;
}

/*
 * The range must be whole IOMMU pages of the IOAS and whole bitmap pages;
 * the IOAS's alignment may change, so this is a snapshot, as the range's
 * contents are.
 */
static int dirty_range_check(struct io_pagetable *iopt,
			     struct iommu_hwpt_get_dirty_bitmap *cmd)
{
	unsigned long align;
	u64 last;

	if (check_add_overflow(cmd->iova, cmd->length - 1, &last) ||
	    last > ULONG_MAX)
		return -EOVERFLOW;
	if (!cmd->length || !cmd->page_size ||
	    !is_power_of_2(cmd->page_size) || cmd->page_size > ULONG_MAX)
		return -EINVAL;
	down_read(&iopt->iova_rwsem);
	align = iopt->align;
	up_read(&iopt->iova_rwsem);
	if ((cmd->iova | (last + 1)) & (max_t(u64, align, cmd->page_size) - 1))
		return -EINVAL;
	return 0;
}

int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt_paging;
	struct io_pagetable *iopt;
	int rc;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	hwpt_paging = hwpt_get_dirty(ucmd->ictx, cmd->hwpt_id);
	if (IS_ERR(hwpt_paging))
		return PTR_ERR(hwpt_paging);
	iopt = &hwpt_paging->ioas->iopt;
	rc = dirty_range_check(iopt, cmd);
	if (!rc)
		rc = iopt_read_dirty(iopt, hwpt_paging->base.domain, cmd->iova,
				     cmd->length, cmd->page_size,
				     u64_to_user_ptr(cmd->data),
				     (cmd->flags &
				      IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ?
					     IOMMU_DIRTY_NO_CLEAR : 0);
	iommufd_obj_put(ucmd->ictx, &hwpt_paging->base.obj);
	return rc;
}
