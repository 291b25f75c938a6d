// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * hw_pagetables: iommu_domains wrapped as objects.  A paging hw_pagetable
 * (struct iommufd_hwpt_paging) belongs to one IOAS: its domain is in the
 * IOAS's io_pagetable, so it maps everything the IOAS maps, and it is on the
 * IOAS's hwpt_list, where attaching devices look for a compatible domain.
 *
 * Life cycle: allocated with a reserved ID; the domain is made, optionally
 * the first device attached, then the domain is filled from the IOAS and
 * the object published.  The hw_pagetable holds a ref on its IOAS; each
 * attached device holds a ref on the hw_pagetable.  An automatic one (made
 * by attaching a device to the IOAS itself) is destroyed when its last
 * device detaches.
 */
#include <linux/iommu.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"

/*
 * Take the domain out of the IOAS (if it got in) and free it.  The caller
 * holds ioas->mutex, and drops the IOAS reference after unlocking it.
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
	if (domain)
		iommu_domain_free(domain);
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

/**
 * hwpt_paging_enforce_snoop() - make the domain block non-snooped DMA
 * @hwpt_paging: the hw_pagetable
 *
 * Return: 0, or -EINVAL if the domain cannot enforce cache coherency (some
 * drivers can only switch it on before anything is mapped).
 */
int hwpt_paging_enforce_snoop(struct iommufd_hwpt_paging *hwpt_paging)
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

/* A paging domain from the device's IOMMU driver. */
static struct iommu_domain *hwpt_paging_domain_alloc(struct device *dev)
{
	const struct iommu_ops *ops = dev_iommu_ops(dev);
	struct iommu_domain *domain;

	if (!ops->domain_alloc_user)
		return iommu_paging_domain_alloc(dev);

	domain = ops->domain_alloc_user(dev, 0, NULL, NULL);
	if (IS_ERR(domain))
		return domain;
	/* The core sets this for the domains it allocates itself. */
	domain->owner = ops;
	return domain;
}

/**
 * hwpt_paging_create() - make a paging hw_pagetable for an IOAS
 * @ictx: the context
 * @ioas: the IOAS; the caller holds ioas->mutex
 * @idev: the device the domain is made for
 * @immediate_attach: attach @idev before the domain is filled
 *
 * Return: the new hw_pagetable, on ioas->hwpt_list but not yet published
 * (the caller finalizes it, or aborts it with
 * hwpt_paging_discard_locked() after detaching any device), or an
 * ERR_PTR with everything undone.
 */
struct iommufd_hwpt_paging *
hwpt_paging_create(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
		   struct iommufd_device *idev, bool immediate_attach)
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
	refcount_inc(&ioas->obj.refs);
	hwpt_paging->ioas = ioas;

	domain = hwpt_paging_domain_alloc(idev->dev);
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

	/*
	 * The device is attached before the domain is filled: a driver may
	 * only learn the domain's final geometry from its first device.
	 */
	if (immediate_attach) {
		rc = hwpt_attach_dev(hwpt, idev);
		if (rc)
			goto out_abort;
	}
	rc = iopt_add_domain(&ioas->iopt, domain);
	if (rc)
		goto out_detach;
	list_add_tail(&hwpt_paging->ioas_link, &ioas->hwpt_list);
	return hwpt_paging;

out_detach:
	if (immediate_attach)
		refcount_dec(&hwpt_detach_dev(idev)->obj.refs);
out_abort:
	hwpt_paging_discard_locked(ictx, hwpt_paging);
	return ERR_PTR(rc);
}
