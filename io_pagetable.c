// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The I/O page table behind an IOAS (struct io_pagetable).  It owns three
 * interval trees, all guarded by iova_rwsem:
 *  - allowed_itree: ranges userspace permitted for automatic IOVA
 *    allocation (IOMMU_IOAS_ALLOW_IOVAS); empty means the whole space;
 *  - reserved_itree: ranges nothing may ever map, each tagged with the
 *    owner that added it so the owner can take its ranges back;
 *  - the mapped areas (with the IOAS ioctls that fill them).
 * Invariant when iova_rwsem is dropped: no reserved range intersects an
 * allowed range or a mapped area.
 */
#include <linux/slab.h>

#include "io_pagetable.h"

void iopt_init_table(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->iova_rwsem);
	iopt->allowed_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	/* Without attached domains any byte granularity is acceptable. */
	iopt->iova_alignment = 1;
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(&iopt->allowed_itree, 0,
						ULONG_MAX))) {
		interval_tree_remove(node, &iopt->allowed_itree);
		kfree(container_of(node, struct iopt_allowed, node));
	}
	while ((node = interval_tree_iter_first(&iopt->reserved_itree, 0,
						ULONG_MAX))) {
		interval_tree_remove(node, &iopt->reserved_itree);
		kfree(container_of(node, struct iopt_reserved, node));
	}
}

/* Report the holes of the reserved tree inside [start, last]. */
static int iopt_walk_unreserved(struct io_pagetable *iopt,
				unsigned long start, unsigned long last,
				iopt_range_fn fn, void *arg)
{
	struct interval_tree_span_iter span;
	int rc;

	interval_tree_for_each_span(&span, &iopt->reserved_itree, start, last) {
		if (!span.is_hole)
			continue;
		rc = fn(span.start_hole, span.last_hole, arg);
		if (rc)
			return rc;
	}
	return 0;
}

/**
 * iopt_walk_usable_ranges() - walk the IOVA ranges that may be mapped
 * @iopt: the table; the caller holds iova_rwsem
 * @fn: called per range, ascending; a nonzero return ends the walk
 * @arg: passed to @fn
 *
 * The usable ranges are the allowed ranges (or everything, if none were
 * set) minus every reserved range.
 *
 * Return: 0, or the first nonzero value @fn returned.
 */
int iopt_walk_usable_ranges(struct io_pagetable *iopt, iopt_range_fn fn,
			    void *arg)
{
	struct interval_tree_span_iter allowed;
	int rc;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root))
		return iopt_walk_unreserved(iopt, 0, ULONG_MAX, fn, arg);

	interval_tree_for_each_span(&allowed, &iopt->allowed_itree, 0,
				    ULONG_MAX) {
		if (allowed.is_hole)
			continue;
		rc = iopt_walk_unreserved(iopt, allowed.start_used,
					  allowed.last_used, fn, arg);
		if (rc)
			return rc;
	}
	return 0;
}
