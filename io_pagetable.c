// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The I/O page table behind an IOAS (struct io_pagetable).  It owns:
 *  - the areas (areas): IOVA ranges mapped onto ranges of user memory
 *    (struct iopt_mem, see pages.c);
 *  - the allowed ranges (allowed) automatic IOVA allocation may use,
 *    and the reserved ranges (reserved) nothing may map, each tagged
 *    with the owner that added it;
 *  - the domains (domains) that mirror every area, and the in-kernel
 *    accesses (accesses) that must hear about unmaps.
 *
 * Invariants whenever iova_rwsem is not held for write:
 *  - no two areas intersect; no area intersects a reserved range; no
 *    allowed range intersects a reserved range;
 *  - every area maps its filled part (all of it once populated) into every
 *    domain of @domains, and lies inside each domain's aperture (the
 *    outside is reserved by the domain);
 *  - every area is aligned (IOVA, length, offset in its first page) to
 *    align: the largest minimum page size of the domains, and at least
 *    PAGE_SIZE while an access that pins pages is attached;
 *  - @gap_tree holds the areas of @areas, each knowing the free IOVA
 *    before it.
 *
 * Mapping claims the IOVA range with iova_rwsem held for write (the area is
 * in the trees but not "populated", so lookups ignore it), then fills the
 * domains step by step (pages.c): pinning user memory with no lock held,
 * mapping what was pinned with domains_sem held for read.  So a map that
 * waits on a user page fault holds up nobody; calls on disjoint ranges run
 * in parallel; and domains may join and leave while an area is filled.
 * Unmapping takes the areas out of use under iova_rwsem, empties the
 * domains under domains_sem and frees them.
 *
 * Locks: the order of the whole subsystem is written in iommufd_private.h.
 * Accesses are asked to unpin (their unmap op) with none of them held.
 */
#include <linux/iommu.h>
#include <linux/iova_bitmap.h>
#include <linux/rbtree_augmented.h>
#include <linux/slab.h>

#include "iommufd_private.h"

/* Unmaps give in-kernel accesses this many chances to let go. */
#define IOPT_UNMAP_ACCESS_TRIES 2

/* Holes of the right size an IOVA search tries before it wants slack. */
#define IOVA_SEARCH_TRIES 8

/**
 * struct iopt_unmap_block - the range of an unmap that waits for accesses
 * @link: on io_pagetable::unmap_blocks
 * @first: first IOVA
 * @last: last IOVA
 */
struct iopt_unmap_block {
	struct list_head link;
	unsigned long first;
	unsigned long last;
};

void iopt_init(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->domains_sem);
	xa_init_flags(&iopt->domains, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	xa_init_flags(&iopt->accesses, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	init_rwsem(&iopt->iova_rwsem);
	iopt->areas = RB_ROOT_CACHED;
	iopt->gap_tree = RB_ROOT;
	iopt->allowed = RB_ROOT_CACHED;
	iopt->reserved = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&iopt->unmap_blocks);
	init_waitqueue_head(&iopt->copies_done);
	/* Without domains any byte granularity is acceptable. */
	iopt->align = 1;
}

/* Empty a tree of struct iopt_allow_range, freeing its ranges. */
void iopt_free_allowed(struct rb_root_cached *root)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(root, 0, ULONG_MAX))) {
		interval_tree_remove(node, root);
		kfree(container_of(node, struct iopt_allow_range, node));
	}
}

/* The IOAS is going away: nothing can use it any more. */
void iopt_teardown(struct io_pagetable *iopt)
{
	struct interval_tree_node *node;

	WARN_ON(!xa_empty(&iopt->domains));
	WARN_ON(!xa_empty(&iopt->accesses));
	/* Without accesses nothing can make this fail. */
	WARN_ON(iopt_unmap_everything(iopt, NULL));

	iopt_free_allowed(&iopt->allowed);
	while ((node = interval_tree_iter_first(&iopt->reserved, 0,
						ULONG_MAX))) {
		interval_tree_remove(node, &iopt->reserved);
		kfree(container_of(node, struct iopt_resv_range, node));
	}
	WARN_ON(!RB_EMPTY_ROOT(&iopt->areas.rb_root));
}

/* The populated area that maps @iova, or NULL; the caller holds iova_rwsem. */
struct iopt_area *iopt_area_find(struct io_pagetable *iopt, unsigned long iova)
{
	struct interval_tree_node *node;
	struct iopt_area *area;

	lockdep_assert_held(&iopt->iova_rwsem);

	node = interval_tree_iter_first(&iopt->areas, iova, iova);
	if (!node)
		return NULL;
	area = container_of(node, struct iopt_area, node);
	return area->populated ? area : NULL;
}

struct iopt_area *iopt_walk_first(struct iopt_walk *iter,
				  struct io_pagetable *iopt,
				  unsigned long iova, unsigned long last)
{
	lockdep_assert_held(&iopt->iova_rwsem);

	iter->cur_iova = iova;
	iter->last_iova = last;
	iter->area = iopt_area_find(iopt, iova);
	iter->complete = iter->area && area_last_iova(iter->area) >= last;
	return iter->area;
}

struct iopt_area *iopt_walk_next(struct iopt_walk *iter,
				 struct io_pagetable *iopt)
{
	if (iter->complete)
		return NULL;
	iter->cur_iova = area_last_iova(iter->area) + 1;
	iter->area = iopt_area_find(iopt, iter->cur_iova);
	iter->complete = iter->area &&
			 area_last_iova(iter->area) >= iter->last_iova;
	return iter->area;
}

/* Report the holes of the reserved tree inside [start, last]. */
static int iopt_walk_unreserved(struct io_pagetable *iopt,
				unsigned long start, unsigned long last,
				iopt_range_fn fn, void *arg)
{
	struct interval_tree_span_iter span;
	int rc;

	interval_tree_for_each_span(&span, &iopt->reserved, start, last) {
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
 * set) minus every reserved range, which includes what the domains cannot
 * reach.
 *
 * Return: 0, or the first nonzero value @fn returned.
 */
int iopt_walk_usable_ranges(struct io_pagetable *iopt, iopt_range_fn fn,
			    void *arg)
{
	struct interval_tree_span_iter allowed;
	int rc;

	lockdep_assert_held(&iopt->iova_rwsem);

	if (RB_EMPTY_ROOT(&iopt->allowed.rb_root))
		return iopt_walk_unreserved(iopt, 0, ULONG_MAX, fn, arg);

	interval_tree_for_each_span(&allowed, &iopt->allowed, 0,
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

/*
 * The gap tree: the areas by IOVA, each with the free IOVA between the
 * previous area (or 0) and itself, and every subtree with the largest such
 * gap in it.  Automatic IOVA allocation descends it to the lowest hole of a
 * given size in O(log n) instead of walking every area.
 */
static unsigned long area_gap_before(struct iopt_area *area)
{
	return area->gap_before;
}

RB_DECLARE_CALLBACKS_MAX(static, gap_callbacks, struct iopt_area, gap_node,
			 unsigned long, subtree_gap, area_gap_before)

static struct iopt_area *gap_entry(struct rb_node *node)
{
	return rb_entry(node, struct iopt_area, gap_node);
}

static unsigned long gap_subtree(struct rb_node *node)
{
	return node ? gap_entry(node)->subtree_gap : 0;
}

/* Recompute the gap before @area from its neighbour and pass it upwards. */
static void gap_update(struct iopt_area *area)
{
	struct rb_node *prev = rb_prev(&area->gap_node);
	unsigned long free_from = prev ?
		area_last_iova(gap_entry(prev)) + 1 : 0;

	area->gap_before = area_first_iova(area) - free_from;
	gap_callbacks_propagate(&area->gap_node, NULL);
}

/* Put a new area in both trees; the caller holds iova_rwsem for write. */
static void iopt_area_link(struct io_pagetable *iopt, struct iopt_area *area)
{
	struct rb_node **link = &iopt->gap_tree.rb_node, *parent = NULL;
	struct rb_node *next;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	interval_tree_insert(&area->node, &iopt->areas);
	while (*link) {
		parent = *link;
		if (area_first_iova(area) < area_first_iova(gap_entry(parent)))
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	area->gap_before = 0;
	area->subtree_gap = 0;
	rb_link_node(&area->gap_node, parent, link);
	rb_insert_augmented(&area->gap_node, &iopt->gap_tree, &gap_callbacks);
	gap_update(area);
	next = rb_next(&area->gap_node);
	if (next)
		gap_update(gap_entry(next));
}

/* Take an area out of both trees; the caller holds iova_rwsem for write. */
static void iopt_area_unlink(struct io_pagetable *iopt,
			     struct iopt_area *area)
{
	struct rb_node *next = rb_next(&area->gap_node);

	lockdep_assert_held_write(&iopt->iova_rwsem);

	interval_tree_remove(&area->node, &iopt->areas);
	rb_erase_augmented(&area->gap_node, &iopt->gap_tree, &gap_callbacks);
	if (next)
		gap_update(gap_entry(next));
}

/* The leftmost area of @node's subtree with a gap of @min or more. */
static struct iopt_area *gap_leftmost(struct rb_node *node, unsigned long min)
{
	while (node && gap_subtree(node) >= min) {
		if (gap_subtree(node->rb_left) >= min) {
			node = node->rb_left;
			continue;
		}
		if (gap_entry(node)->gap_before >= min)
			return gap_entry(node);
		node = node->rb_right;
	}
	return NULL;
}

/*
 * The lowest area starting above @after with a gap of @min or more before
 * it.  One descent remembers the last subtree right of the path that has
 * such a gap; the answer is its leftmost one.
 */
static struct iopt_area *gap_next(struct io_pagetable *iopt,
				  unsigned long after, unsigned long min)
{
	struct rb_node *node = iopt->gap_tree.rb_node, *best = NULL;

	while (node) {
		if (area_first_iova(gap_entry(node)) <= after) {
			node = node->rb_right;
			continue;
		}
		/* The node and its right subtree lie above @after. */
		if (gap_entry(node)->gap_before >= min ||
		    gap_subtree(node->rb_right) >= min)
			best = node;
		node = node->rb_left;
	}
	if (!best)
		return NULL;
	if (gap_entry(best)->gap_before >= min)
		return gap_entry(best);
	return gap_leftmost(best->rb_right, min);
}

/* Looking for a free IOVA range: IOVA % modulus == residue. */
struct iova_search {
	struct io_pagetable *iopt;
	unsigned long length;
	unsigned long modulus;
	unsigned long residue;
	unsigned long found;
};

/* Does the hole [first, last] hold the range at a suitable IOVA? */
static bool iova_fits(struct iova_search *s, unsigned long first,
		      unsigned long last)
{
	unsigned long iova, end;

	if (first > last)
		return false;
	if (check_add_overflow(round_down(first, s->modulus), s->residue,
			       &iova))
		return false;
	if (iova < first && check_add_overflow(iova, s->modulus, &iova))
		return false;
	if (check_add_overflow(iova, s->length - 1, &end) || end > last)
		return false;
	s->found = iova;
	return true;
}

/*
 * A fitting hole of the usable range [lo, hi], as low as cheaply found: the
 * one at @lo, then those before each following area (from the gap tree),
 * then the one after the last area.  A hole of the right size can still
 * miss the alignment.  After IOVA_SEARCH_TRIES of those, one search asks
 * for a hole with room to spare (which fits unless it runs past @hi, but
 * may lie above a tight one that would fit); only if there is none do the
 * holes of the right size get walked one by one.  So the search takes
 * O(log n) steps but in contrived layouts, and finds a hole whenever there
 * is one.
 */
static int iova_search_usable(unsigned long lo, unsigned long hi, void *arg)
{
	enum { FIRST_FIT, SPARE_ROOM, EVERY_HOLE } mode = FIRST_FIT;
	struct iova_search *s = arg;
	struct io_pagetable *iopt = s->iopt;
	struct interval_tree_node *node;
	unsigned long after, spare;
	struct iopt_area *area;
	unsigned int tries = 0;

	node = interval_tree_iter_first(&iopt->areas, lo, hi);
	if (!node)
		return iova_fits(s, lo, hi);
	area = container_of(node, struct iopt_area, node);
	if (area_first_iova(area) > lo &&
	    iova_fits(s, lo, area_first_iova(area) - 1))
		return 1;

	if (check_add_overflow(s->length, s->modulus - 1, &spare))
		spare = ULONG_MAX;
	after = area_first_iova(area);
	for (;;) {
		unsigned long hole_first = 0;
		bool fits;

		area = gap_next(iopt, after,
				mode == SPARE_ROOM ? spare : s->length);
		if (area)
			hole_first = area_first_iova(area) - area->gap_before;
		fits = area && hole_first <= hi &&
		       iova_fits(s, hole_first,
				 min(hi, area_first_iova(area) - 1));
		if (fits)
			return 1;
		if (mode == SPARE_ROOM) {
			/* Nothing roomy: holes of the right size, all of them. */
			mode = EVERY_HOLE;
			continue;
		}
		if (!area)
			break;
		if (hole_first > hi)
			return 0;
		after = area_first_iova(area);
		if (mode == FIRST_FIT && ++tries == IOVA_SEARCH_TRIES)
			mode = SPARE_ROOM;
	}

	area = gap_entry(rb_last(&iopt->gap_tree));
	if (area_last_iova(area) >= hi)
		return 0;
	return iova_fits(s, max(lo, area_last_iova(area) + 1), hi);
}

/*
 * Pick a free IOVA for @length bytes whose first byte is at user address
 * @addr.  The IOVA keeps the page offset of @addr, and where possible the
 * alignment @addr and @length share, so the domains can use large pages.
 */
static int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
			   unsigned long addr, unsigned long length)
{
	struct iova_search s = { .iopt = iopt, .length = length };
	unsigned long natural = 1UL << __ffs(addr | length);

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if ((addr % PAGE_SIZE) % iopt->align)
		return -EINVAL;

	s.modulus = max(natural, PAGE_SIZE);
	s.residue = addr % s.modulus;
	if (iopt_walk_usable_ranges(iopt, iova_search_usable, &s) == 1)
		goto found;
	/* Give up large page alignment before giving up. */
	s.modulus = PAGE_SIZE;
	s.residue = addr % PAGE_SIZE;
	if (natural > PAGE_SIZE &&
	    iopt_walk_usable_ranges(iopt, iova_search_usable, &s) == 1)
		goto found;
	return -ENOSPC;
found:
	*iova = s.found;
	return 0;
}

static bool iopt_range_reserved(struct io_pagetable *iopt, unsigned long start,
				unsigned long last)
{
	return interval_tree_iter_first(&iopt->reserved, start, last);
}

/* A fixed IOVA must be aligned, outside reserved ranges, and free. */
static int iopt_check_fixed_iova(struct io_pagetable *iopt,
				 unsigned long iova, unsigned long length)
{
	unsigned long last;

	lockdep_assert_held(&iopt->iova_rwsem);

	if ((iova | length) & (iopt->align - 1))
		return -EINVAL;
	if (iopt_range_last(iova, length, &last))
		return -EOVERFLOW;
	if (iopt_range_reserved(iopt, iova, last))
		return -EINVAL;
	if (interval_tree_iter_first(&iopt->areas, iova, last))
		return -EEXIST;
	return 0;
}

/*
 * A slice of user memory about to become an area: map and copy build a list
 * of them, then claim IOVA for all of them at once.
 */
struct iopt_slice {
	struct list_head link;
	struct iopt_mem *pages;	/* a reference, passed to the area */
	unsigned long start_byte;	/* from the start of page index 0 */
	unsigned long length;
	struct iopt_area *area;
};

static void iopt_free_slices(struct list_head *slices)
{
	struct iopt_slice *slice, *next;

	list_for_each_entry_safe(slice, next, slices, link) {
		kfree(slice->area);
		if (slice->pages)
			iopt_mem_put(slice->pages);
		kfree(slice);
	}
}

static int iopt_add_slice(struct list_head *slices, struct iopt_mem *pages,
			  unsigned long start_byte, unsigned long length)
{
	struct iopt_slice *slice;

	slice = kzalloc(sizeof(*slice), GFP_KERNEL_ACCOUNT);
	if (!slice)
		return -ENOMEM;
	slice->area = kzalloc(sizeof(*slice->area), GFP_KERNEL_ACCOUNT);
	if (!slice->area) {
		kfree(slice);
		return -ENOMEM;
	}
	kref_get(&pages->kref);
	slice->pages = pages;
	slice->start_byte = start_byte;
	slice->length = length;
	list_add_tail(&slice->link, slices);
	return 0;
}

/* Claim [iova, iova + total - 1] with one unpopulated area per slice. */
static int iopt_claim_slices(struct io_pagetable *iopt,
			     struct list_head *slices, unsigned long *iova,
			     unsigned long total, int iommu_prot,
			     unsigned int flags)
{
	struct iopt_slice *first, *slice;
	unsigned long cur;
	int rc;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	first = list_first_entry(slices, struct iopt_slice, link);
	if (flags & IOPT_ALLOC_IOVA)
		rc = iopt_alloc_iova(iopt, iova,
				     (uintptr_t)first->pages->uptr +
					     first->start_byte,
				     total);
	else
		rc = iopt_check_fixed_iova(iopt, *iova, total);
	if (rc)
		return rc;

	list_for_each_entry(slice, slices, link) {
		if ((slice->start_byte % PAGE_SIZE | slice->length) &
		    (iopt->align - 1))
			return -EINVAL;
	}

	cur = *iova;
	list_for_each_entry(slice, slices, link) {
		struct iopt_area *area = slice->area;

		area->iopt = iopt;
		area->pages = slice->pages;
		area->iommu_prot = iommu_prot;
		area->page_offset = slice->start_byte % PAGE_SIZE;
		area->node.start = cur;
		area->node.last = cur + slice->length - 1;
		area->first_index = slice->start_byte / PAGE_SIZE;
		area->last_index = (slice->start_byte + slice->length - 1) /
				   PAGE_SIZE;
		area->fill_next = area->first_index;
		area->small_pages = iopt->small_pages_only;
		iopt_area_link(iopt, area);
		cur += slice->length;
	}
	return 0;
}

/*
 * Turn a list of slices into areas at *iova (chosen here with
 * IOPT_ALLOC_IOVA): claim the IOVA, fill every domain, publish.  On success
 * the areas own the slices' pages references.
 */
static int iopt_map_slices(struct io_pagetable *iopt, struct list_head *slices,
			   unsigned long *iova, unsigned long total,
			   int iommu_prot, unsigned int flags)
{
	struct iopt_slice *slice;
	int rc;

	/* Domains joining or leaving walk the areas: keep them out. */
	down_read(&iopt->domains_sem);
	down_write(&iopt->iova_rwsem);
	rc = iopt_claim_slices(iopt, slices, iova, total, iommu_prot, flags);
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_sem);
	/* Nothing is in the tree unless the claim succeeded. */
	if (rc)
		return rc;

	/* No lock is held here: filling pins user memory (pages.c). */
	list_for_each_entry(slice, slices, link) {
		rc = iopt_area_fill(slice->area, iopt);
		if (rc)
			break;
	}

	down_read(&iopt->domains_sem);
	/* Areas not reached yet have nothing filled, so nothing to undo. */
	if (rc) {
		list_for_each_entry(slice, slices, link)
			iopt_area_unmap_all(slice->area, iopt);
	}
	down_write(&iopt->iova_rwsem);
	list_for_each_entry(slice, slices, link) {
		if (rc) {
			iopt_area_unlink(iopt, slice->area);
		} else {
			slice->area->populated = true;
			/* The area owns the pages reference now. */
			slice->area = NULL;
			slice->pages = NULL;
		}
	}
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_sem);
	return rc;
}

/**
 * iopt_map_user() - map the caller's memory into the table
 * @iopt: the table
 * @iova: the IOVA to map at, or with IOPT_ALLOC_IOVA the one chosen
 * @uptr: user address of the memory
 * @length: bytes to map
 * @iommu_prot: IOMMU_READ/IOMMU_WRITE/IOMMU_CACHE
 * @flags: IOPT_ALLOC_IOVA
 * @account_mode: enum iommufd_account_mode of the context
 *
 * Return: 0; -EINVAL for bad alignment or a reserved range; -EEXIST if
 * something is mapped there; -EOVERFLOW; -ENOSPC if no IOVA is free;
 * -EFAULT, -ENOMEM with nothing changed.
 */
int iopt_map_user(struct io_pagetable *iopt, unsigned long *iova,
		  void __user *uptr, unsigned long length, int iommu_prot,
		  unsigned int flags, u8 account_mode)
{
	struct iopt_mem *pages;
	LIST_HEAD(slices);
	int rc;

	pages = iopt_mem_new(uptr, length, iommu_prot & IOMMU_WRITE,
			     account_mode);
	if (IS_ERR(pages))
		return PTR_ERR(pages);

	rc = iopt_add_slice(&slices, pages, (uintptr_t)uptr % PAGE_SIZE,
			    length);
	iopt_mem_put(pages);
	if (rc)
		return rc;

	rc = iopt_map_slices(iopt, &slices, iova, length, iommu_prot, flags);
	iopt_free_slices(&slices);
	return rc;
}

/**
 * iopt_copy() - map memory another table already maps
 * @dst: the table that receives the mapping
 * @src: the table that maps the memory at @src_iova
 * @dst_iova: the IOVA in @dst, or with IOPT_ALLOC_IOVA the one chosen
 * @src_iova: start of the range in @src
 * @length: bytes
 * @iommu_prot: IOMMU_READ/IOMMU_WRITE/IOMMU_CACHE for @dst
 * @flags: IOPT_ALLOC_IOVA
 *
 * The new areas share the iopt_mem of the source areas, so nothing is
 * pinned or charged again.
 *
 * Return: 0; -ENOENT if the source range is not fully mapped; -EPERM for a
 * writable copy of read-only memory; else as iopt_map_user().
 */
int iopt_copy(struct io_pagetable *dst, struct io_pagetable *src,
	      unsigned long *dst_iova, unsigned long src_iova,
	      unsigned long length, int iommu_prot, unsigned int flags)
{
	struct iopt_walk iter;
	struct iopt_area *area;
	LIST_HEAD(slices);
	unsigned long last;
	int rc = iopt_range_last(src_iova, length, &last);

	if (rc)
		return rc;
	down_read(&src->iova_rwsem);
	for (area = iopt_walk_first(&iter, src, src_iova, last); area;
	     area = iopt_walk_next(&iter, src)) {
		unsigned long piece_last = iopt_walk_piece_last(&iter);
		unsigned long start_byte;

		if ((iommu_prot & IOMMU_WRITE) && !area->pages->writable) {
			rc = -EPERM;
			break;
		}
		start_byte = area_iova_index(area, iter.cur_iova) *
				     PAGE_SIZE +
			     area_iova_offset(area, iter.cur_iova);
		rc = iopt_add_slice(&slices, area->pages, start_byte,
				    piece_last - iter.cur_iova + 1);
		if (rc)
			break;
	}
	if (!rc && !iter.complete)
		rc = -ENOENT;
	up_read(&src->iova_rwsem);

	if (!rc)
		rc = iopt_map_slices(dst, &slices, dst_iova, length, iommu_prot,
				     flags);
	iopt_free_slices(&slices);
	return rc;
}

/**
 * iopt_range_blocked() - may accesses not pin in a range now
 * @iopt: the table; the caller holds iova_rwsem
 * @first: first IOVA
 * @last: last IOVA
 *
 * Return: true while an unmap of an intersecting range waits for accesses
 * to let go of their pins.
 */
bool iopt_range_blocked(struct io_pagetable *iopt, unsigned long first,
			unsigned long last)
{
	struct iopt_unmap_block *block;

	lockdep_assert_held(&iopt->iova_rwsem);

	list_for_each_entry(block, &iopt->unmap_blocks, link) {
		if (block->first <= last && first <= block->last)
			return true;
	}
	return false;
}

/* Are copies of accesses still running through some of the areas? */
static bool areas_copying(struct list_head *victims)
{
	struct iopt_area *area;

	list_for_each_entry(area, victims, doomed_link) {
		if (atomic_read(&area->copies))
			return true;
	}
	return false;
}

/*
 * Wait, with no lock held, until no access copies through the areas an
 * unmap took out of use (no new copy can find them).  If the wait is
 * killed, the areas are put back and -EINTR returned.
 */
static int iopt_wait_copies(struct io_pagetable *iopt,
			    struct list_head *victims)
{
	struct iopt_area *area;

	if (!wait_event_killable(iopt->copies_done, !areas_copying(victims)))
		return 0;
	down_write(&iopt->iova_rwsem);
	list_for_each_entry(area, victims, doomed_link)
		area->populated = true;
	up_write(&iopt->iova_rwsem);
	return -EINTR;
}

/* Add the bytes of an area to an unmap's count, which saturates. */
static u64 count_bytes(u64 done, struct iopt_area *area)
{
	u64 sum;

	return check_add_overflow(done, (u64)area_bytes(area), &sum) ?
		       U64_MAX : sum;
}

/*
 * Unmap every area inside [start, last].  An area that crosses the edge of
 * the range fails the whole call with -ENOENT, as does a range without any
 * area unless @all.  Accesses pinning an area are asked to let go; while
 * they are, the range is blocked for new pins; if they do not, -EBUSY.
 * Either everything is unmapped or nothing.
 */
static int iopt_unmap_range(struct io_pagetable *iopt, unsigned long start,
			    unsigned long last, u64 *unmapped, bool all)
{
	struct iopt_unmap_block block = { .first = start, .last = last };
	struct interval_tree_node *node;
	struct iopt_area *area, *next;
	unsigned int tries = 0;
	bool busy, found, copying;
	LIST_HEAD(victims);
	u64 done = 0;
	int rc = 0;

again:
	down_read(&iopt->domains_sem);
	down_write(&iopt->iova_rwsem);
	busy = false;
	found = false;
	for (node = interval_tree_iter_first(&iopt->areas, start, last);
	     node; node = interval_tree_iter_next(node, start, last)) {
		area = container_of(node, struct iopt_area, node);
		if (!area->populated)
			continue;
		if (area_first_iova(area) < start ||
		    area_last_iova(area) > last) {
			rc = -ENOENT;
			goto out_unlock;
		}
		found = true;
		if (atomic_read(&area->pins))
			busy = true;
	}
	if (!found) {
		rc = all ? 0 : -ENOENT;
		goto out_unlock;
	}

	if (busy) {
		if (tries++ == IOPT_UNMAP_ACCESS_TRIES) {
			rc = -EBUSY;
			goto out_unlock;
		}
		if (tries == 1)
			list_add(&block.link, &iopt->unmap_blocks);
		up_write(&iopt->iova_rwsem);
		up_read(&iopt->domains_sem);
		iommufd_access_notify_unmap(iopt, start, last);
		goto again;
	}

	/* Take the areas out of use; their IOVA stays claimed meanwhile. */
	copying = false;
	for (node = interval_tree_iter_first(&iopt->areas, start, last);
	     node; node = interval_tree_iter_next(node, start, last)) {
		area = container_of(node, struct iopt_area, node);
		if (!area->populated)
			continue;
		area->populated = false;
		done = count_bytes(done, area);
		list_add_tail(&area->doomed_link, &victims);
		copying |= atomic_read(&area->copies);
	}
	if (tries)
		list_del(&block.link);
	up_write(&iopt->iova_rwsem);

	/* A copy may wait for a user's page fault: not with domains_sem. */
	if (copying) {
		up_read(&iopt->domains_sem);
		rc = iopt_wait_copies(iopt, &victims);
		if (rc) {
			if (unmapped)
				*unmapped = 0;
			return rc;
		}
		down_read(&iopt->domains_sem);
	}

	/* Unmapping everything can be 100,000s of areas: let others run. */
	list_for_each_entry(area, &victims, doomed_link) {
		iopt_area_unmap_all(area, iopt);
		cond_resched();
	}

	down_write(&iopt->iova_rwsem);
	list_for_each_entry(area, &victims, doomed_link) {
		iopt_area_unlink(iopt, area);
		cond_resched();
	}
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_sem);

	list_for_each_entry_safe(area, next, &victims, doomed_link) {
		iopt_mem_put(area->pages);
		kfree(area);
		cond_resched();
	}
	if (unmapped)
		*unmapped = done;
	return 0;

out_unlock:
	/* Only this unmap's own block goes; others' stay. */
	if (tries)
		list_del(&block.link);
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_sem);
	if (unmapped)
		*unmapped = 0;
	return rc;
}

/**
 * iopt_unmap() - unmap the areas inside a range
 * @iopt: the table
 * @iova: first IOVA of the range
 * @length: bytes
 * @unmapped: receives the bytes unmapped, or NULL
 *
 * Return: 0; -ENOENT if nothing is mapped there or an area would have to be
 * split; -EBUSY if an access does not release its pins; -EINTR if killed
 * while an access still copied through the range; -EINVAL/-EOVERFLOW for a
 * bad range.
 */
int iopt_unmap(struct io_pagetable *iopt, unsigned long iova,
	       unsigned long length, u64 *unmapped)
{
	unsigned long last;

	return iopt_range_last(iova, length, &last) ?:
	       iopt_unmap_range(iopt, iova, last, unmapped, false);
}

/*
 * Unmap everything; an empty table is fine.  The count saturates at
 * U64_MAX, as all of a 64-bit address space is one byte more than that.
 */
int iopt_unmap_everything(struct io_pagetable *iopt, u64 *unmapped)
{
	return iopt_unmap_range(iopt, 0, ULONG_MAX, unmapped, true);
}

/**
 * iopt_unmap_covered() - unmap the areas inside a range, if there are any
 * @iopt: the table
 * @iova: first IOVA of the range
 * @length: bytes
 * @unmapped: receives the bytes unmapped, or NULL
 *
 * Like iopt_unmap(), except that a range with no area in it is no error:
 * VFIO_IOMMU_UNMAP_DMA reports 0 bytes for it.
 *
 * Return: 0, or the errors of iopt_unmap().
 */
int iopt_unmap_covered(struct io_pagetable *iopt, unsigned long iova,
		       unsigned long length, u64 *unmapped)
{
	unsigned long last;

	return iopt_range_last(iova, length, &last) ?:
	       iopt_unmap_range(iopt, iova, last, unmapped, true);
}

/*
 * Split the area containing @iova so that @iova starts an area; the second
 * half is *@spare, which is then used up.  Both halves keep the memory,
 * the fill and the storage domain of the original; the domains need no
 * change, as they map the area page by page.
 */
static int iopt_split_area(struct io_pagetable *iopt, unsigned long iova,
			   struct iopt_area **spare)
{
	struct iopt_area *area = iopt_area_find(iopt, iova);
	struct iopt_mem *pages;
	struct iopt_area *tail;
	unsigned long index;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	/* Nothing to split; an area still being made is left to its map. */
	if (!area || area_first_iova(area) == iova)
		return 0;
	if (!area->small_pages || area_iova_offset(area, iova) ||
	    iova % iopt->align)
		return -EINVAL;
	/* Pins and copies in flight are counted against the whole area. */
	if (atomic_read(&area->pins) || atomic_read(&area->copies))
		return -EBUSY;

	pages = area->pages;
	index = area_iova_index(area, iova);
	tail = *spare;
	*spare = NULL;
	tail->iopt = iopt;
	tail->pages = pages;
	tail->iommu_prot = area->iommu_prot;
	tail->node.start = iova;
	tail->node.last = area_last_iova(area);
	tail->first_index = index;
	tail->last_index = area->last_index;
	tail->fill_next = area->fill_next;
	tail->small_pages = true;
	tail->populated = true;
	iopt_mem_get(pages);

	mutex_lock(&pages->mutex);
	tail->pfn_domain = area->pfn_domain;
	if (area->pfn_domain) {
		interval_tree_remove(&area->held_node, &pages->held_areas);
		area->held_node.last = index - 1;
		interval_tree_insert(&area->held_node, &pages->held_areas);
		tail->held_node.start = index;
		tail->held_node.last = tail->fill_next - 1;
		interval_tree_insert(&tail->held_node, &pages->held_areas);
	}
	mutex_unlock(&pages->mutex);

	/* The interval tree keys on the range: out, shrink, back in. */
	iopt_area_unlink(iopt, area);
	area->node.last = iova - 1;
	area->last_index = index - 1;
	area->fill_next = index;
	iopt_area_link(iopt, area);
	iopt_area_link(iopt, tail);
	return 0;
}

/**
 * iopt_cut() - make a range start and end at area boundaries
 * @iopt: the table
 * @iova: first IOVA of the range
 * @length: bytes
 *
 * Splits the areas that cross either end of the range, so that an unmap of
 * the range can take part of what one IOMMU_IOAS_MAP (or VFIO type1 v1
 * MAP_DMA) mapped.  Only areas mapped in PAGE_SIZE IOPTEs can be split
 * (IOMMU_OPTION_HUGE_PAGES off when they were made).  An area that
 * in-kernel accesses pin cannot be split: they are asked to let go of
 * their pins inside the range first, as for an unmap of it.
 *
 * Return: 0; -EINVAL if an end cannot be split there (not on a page
 * boundary, or an area with large IOPTEs); -EBUSY if an access still pins
 * or copies through that area; -EINVAL/-EOVERFLOW for a bad range;
 * -ENOMEM.  An end already split stays split.
 */
int iopt_cut(struct io_pagetable *iopt, unsigned long iova,
	     unsigned long length)
{
	struct iopt_unmap_block block = { .first = iova };
	struct iopt_area *spare[2] = {};
	unsigned int n = 0, i, tries = 0;
	unsigned long cuts[2];
	int rc;

	rc = iopt_range_last(iova, length, &block.last);
	if (rc)
		return rc;
	if (iova)
		cuts[n++] = iova;
	if (block.last != ULONG_MAX)
		cuts[n++] = block.last + 1;

again:
	/* A split uses its spare up; a retry may need another. */
	for (i = 0; i != n; i++) {
		if (!spare[i])
			spare[i] = kzalloc(sizeof(*spare[i]), GFP_KERNEL_ACCOUNT);
		if (!spare[i]) {
			rc = -ENOMEM;
			goto out_unblock;
		}
	}
	/* domains_sem keeps the domains, and so the fill, as they are. */
	down_read(&iopt->domains_sem);
	down_write(&iopt->iova_rwsem);
	for (i = 0, rc = 0; i != n && !rc; i++)
		rc = iopt_split_area(iopt, cuts[i], &spare[i]);
	if (rc == -EBUSY && tries++ != IOPT_UNMAP_ACCESS_TRIES) {
		/* No new pins in the range while the accesses let go. */
		if (tries == 1)
			list_add(&block.link, &iopt->unmap_blocks);
		up_write(&iopt->iova_rwsem);
		up_read(&iopt->domains_sem);
		iommufd_access_notify_unmap(iopt, block.first, block.last);
		goto again;
	}
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_sem);
out_unblock:
	if (tries) {
		down_write(&iopt->iova_rwsem);
		list_del(&block.link);
		up_write(&iopt->iova_rwsem);
	}
	kfree(spare[0]);
	kfree(spare[1]);
	return rc;
}

/**
 * iopt_replace_allowed() - replace the allowed ranges
 * @iopt: the table
 * @allowed: a tree of struct iopt_allow_range; emptied into the table on success
 *
 * Return: 0, or -EADDRINUSE if a reserved range intersects an allowed one.
 */
int iopt_replace_allowed(struct io_pagetable *iopt,
			 struct rb_root_cached *allowed)
{
	struct interval_tree_node *node;
	struct rb_root_cached old;

	down_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(allowed, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (iopt_range_reserved(iopt, node->start, node->last)) {
			up_write(&iopt->iova_rwsem);
			return -EADDRINUSE;
		}
	}
	old = iopt->allowed;
	iopt->allowed = *allowed;
	*allowed = old;
	up_write(&iopt->iova_rwsem);
	iopt_free_allowed(allowed);
	return 0;
}

static int iopt_reserve_locked(struct io_pagetable *iopt, unsigned long start,
			       unsigned long last, void *owner)
{
	struct iopt_resv_range *resv;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	if (interval_tree_iter_first(&iopt->allowed, start, last) ||
	    interval_tree_iter_first(&iopt->areas, start, last))
		return -EADDRINUSE;
	resv = kzalloc(sizeof(*resv), GFP_KERNEL_ACCOUNT);
	if (!resv)
		return -ENOMEM;
	resv->node.start = start;
	resv->node.last = last;
	resv->owner = owner;
	interval_tree_insert(&resv->node, &iopt->reserved);
	return 0;
}

static void iopt_unreserve_locked(struct io_pagetable *iopt,
				  void *owner)
{
	struct interval_tree_node *node, *next;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (node = interval_tree_iter_first(&iopt->reserved, 0,
					     ULONG_MAX);
	     node; node = next) {
		struct iopt_resv_range *resv =
			container_of(node, struct iopt_resv_range, node);

		next = interval_tree_iter_next(node, 0, ULONG_MAX);
		if (resv->owner == owner) {
			interval_tree_remove(node, &iopt->reserved);
			kfree(resv);
		}
	}
}

/**
 * iopt_reserve() - make a range unmappable
 * @iopt: the table
 * @start: first IOVA
 * @last: last IOVA
 * @owner: tag for iopt_unreserve_owner()
 *
 * Return: 0, or -EADDRINUSE if the range intersects an allowed range or a
 * mapping.
 */
int iopt_reserve(struct io_pagetable *iopt, unsigned long start,
		 unsigned long last, void *owner)
{
	int rc;

	down_write(&iopt->iova_rwsem);
	rc = iopt_reserve_locked(iopt, start, last, owner);
	up_write(&iopt->iova_rwsem);
	return rc;
}

/* Remove every reserved range @owner added. */
void iopt_unreserve_owner(struct io_pagetable *iopt, void *owner)
{
	down_write(&iopt->iova_rwsem);
	iopt_unreserve_locked(iopt, owner);
	up_write(&iopt->iova_rwsem);
}

static void iopt_recalc_alignment(struct io_pagetable *iopt)
{
	unsigned long align = iopt->small_pages_only ||
			      iopt->pinning_accesses ? PAGE_SIZE : 1;
	struct iopt_domain_iter it;
	struct iommu_domain *domain;

	lockdep_assert_held_write(&iopt->iova_rwsem);

	for (domain = iopt_domain_first(iopt, &it); domain;
	     domain = iopt_domain_next(iopt, &it))
		align = max(align, 1UL << __ffs(domain->pgsize_bitmap));
	iopt->align = align;
}

/* Is every area aligned to @align (IOVA, length and page offset)? */
static bool iopt_areas_aligned(struct io_pagetable *iopt, unsigned long align)
{
	struct interval_tree_node *node;

	for (node = interval_tree_iter_first(&iopt->areas, 0, ULONG_MAX);
	     node; node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		struct iopt_area *area =
			container_of(node, struct iopt_area, node);

		if ((area_first_iova(area) | area_bytes(area) |
		     area->page_offset) & (align - 1))
			return false;
	}
	return true;
}

/**
 * iopt_set_large_pages() - allow or forbid IOPTEs larger than PAGE_SIZE
 * @iopt: the table
 * @enable: allow them (the default)
 *
 * Forbidding them makes PAGE_SIZE the minimum alignment.  Allowing them
 * again only affects mappings made from then on.
 *
 * Return: 0; -EINVAL when forbidding them while domains already map areas
 * (possibly with large IOPTEs); -EADDRINUSE if a mapping is not PAGE_SIZE
 * aligned.
 */
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable)
{
	struct interval_tree_node *node;
	int rc = 0;

	down_write(&iopt->domains_sem);
	down_write(&iopt->iova_rwsem);
	if (enable || iopt->small_pages_only)
		goto out_set;
	if (!xa_empty(&iopt->domains) &&
	    !RB_EMPTY_ROOT(&iopt->areas.rb_root)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (!iopt_areas_aligned(iopt, PAGE_SIZE)) {
		rc = -EADDRINUSE;
		goto out_unlock;
	}
	/* No domain maps anything yet: every domain will map small. */
	for (node = interval_tree_iter_first(&iopt->areas, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX))
		container_of(node, struct iopt_area, node)->small_pages = true;
out_set:
	iopt->small_pages_only = !enable;
	iopt_recalc_alignment(iopt);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_sem);
	return rc;
}

/* Reserve what the domain cannot translate. */
static int iopt_reserve_aperture(struct io_pagetable *iopt,
				 struct iommu_domain *domain)
{
	const struct iommu_domain_geometry *geo = &domain->geometry;
	int rc;

	if (!geo->force_aperture)
		return 0;
	if (geo->aperture_start) {
		rc = iopt_reserve_locked(iopt, 0, geo->aperture_start - 1,
					 domain);
		if (rc)
			return rc;
	}
	if (geo->aperture_end != ULONG_MAX) {
		rc = iopt_reserve_locked(iopt, geo->aperture_end + 1,
					 ULONG_MAX, domain);
		if (rc) {
			iopt_unreserve_locked(iopt, domain);
			return rc;
		}
	}
	return 0;
}

/**
 * struct iopt_hold - pages a joining domain needs pinned beforehand
 * @link: on the joining call's list
 * @pages: the memory, referenced
 * @first: first page index held
 * @last: last page index held
 */
struct iopt_hold {
	struct list_head link;
	struct iopt_mem *pages;
	unsigned long first;
	unsigned long last;
};

/**
 * iopt_drop_holds() - give back what iopt_hold_unpinned() pinned
 * @holds: the list it filled; emptied
 *
 * Pages a domain took over in the meantime stay pinned for the domain.
 */
void iopt_drop_holds(struct list_head *holds)
{
	struct iopt_hold *hold, *next;

	list_for_each_entry_safe(hold, next, holds, link) {
		iopt_mem_unhold(hold->pages, hold->first, hold->last);
		iopt_mem_put(hold->pages);
		kfree(hold);
	}
}

/*
 * The next area at or after @from whose pages are not all pinned, with its
 * memory referenced in @hold; false if there is none.  *@from moves past
 * the areas looked at.
 */
static bool iopt_next_unpinned(struct io_pagetable *iopt, unsigned long *from,
			       bool *done, struct iopt_hold *hold)
{
	struct interval_tree_node *node;
	bool found = false;

	down_read(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(&iopt->areas, *from, ULONG_MAX);
	     node && !found; node = interval_tree_iter_next(node, *from,
							     ULONG_MAX)) {
		struct iopt_area *area = container_of(node, struct iopt_area,
						      node);

		*done = area_last_iova(area) == ULONG_MAX;
		*from = area_last_iova(area) + 1;
		if (iopt_mem_pinned(area->pages, area_first_index(area),
				    area_last_index(area)))
			continue;
		iopt_mem_get(area->pages);
		hold->pages = area->pages;
		hold->first = area_first_index(area);
		hold->last = area_last_index(area);
		found = true;
	}
	if (!node)
		*done = true;
	up_read(&iopt->iova_rwsem);
	return found;
}

/**
 * iopt_hold_unpinned() - pin the memory a first domain will need
 * @iopt: the table
 * @holds: list the holds are added to, for iopt_drop_holds()
 *
 * Before the first domain joins, the memory of the areas is in user memory
 * only.  Pinning may fault, so it happens here, before the caller takes any
 * lock, and the holds keep the pages until the domain has them.  Areas
 * already pinned are skipped, so calling again after iopt_add_domain()
 * said -EAGAIN pins only what is new.  The caller holds no lock.
 *
 * Return: 0, or -ENOMEM/-EFAULT (what was held stays on @holds).
 */
int iopt_hold_unpinned(struct io_pagetable *iopt, struct list_head *holds)
{
	unsigned long from = 0;
	bool done = false;
	int rc;

	while (!done) {
		struct iopt_hold *hold = kzalloc(sizeof(*hold),
						 GFP_KERNEL_ACCOUNT);

		if (!hold)
			return -ENOMEM;
		if (!iopt_next_unpinned(iopt, &from, &done, hold)) {
			kfree(hold);
			break;
		}
		rc = iopt_mem_hold(hold->pages, hold->first, hold->last, NULL);
		if (rc) {
			iopt_mem_put(hold->pages);
			kfree(hold);
			return rc;
		}
		list_add_tail(&hold->link, holds);
	}
	return 0;
}

/**
 * iopt_add_domain() - make a domain mirror the table
 * @iopt: the table
 * @domain: a paging domain not in any table yet
 *
 * Every area is mapped into @domain, and what @domain cannot translate is
 * reserved from now on.  Nothing is pinned here: the first domain of a
 * table needs iopt_hold_unpinned() beforehand, with no lock held.
 *
 * Return: 0; -EAGAIN if pages are not pinned (the caller holds them and
 * tries again); -EINVAL if the domain's smallest page is larger than
 * PAGE_SIZE; -EADDRINUSE if existing areas do not suit its page size or
 * aperture, or its aperture excludes allowed ranges; -ENOMEM with nothing
 * changed.
 */
int iopt_add_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	unsigned long pgsize = 1UL << __ffs(domain->pgsize_bitmap);
	struct interval_tree_node *node, *undo;
	struct iopt_area *area;
	u32 slot;
	int rc;

	if (pgsize > PAGE_SIZE)
		return -EINVAL;

	down_write(&iopt->domains_sem);
	down_write(&iopt->iova_rwsem);
	/* A slot for the domain, used once every area is in it. */
	rc = xa_alloc_cyclic(&iopt->domains, &slot, NULL, xa_limit_32b,
			     &iopt->domain_seq, GFP_KERNEL_ACCOUNT);
	if (rc < 0)
		goto out_unlock;

	/* Reserving the outside of the aperture fails over an area too. */
	rc = -EADDRINUSE;
	if (!iopt_areas_aligned(iopt, pgsize))
		goto out_erase;
	rc = iopt_reserve_aperture(iopt, domain);
	if (rc)
		goto out_erase;
	/* What IOVA_RANGES reports changes as a whole, now. */
	iopt->align = max(iopt->align, pgsize);
	up_write(&iopt->iova_rwsem);

	/*
	 * domains_sem keeps the areas still, and what is being mapped stops
	 * at its filled part; the pages are all pinned already.
	 */
	for (node = interval_tree_iter_first(&iopt->areas, 0, ULONG_MAX);
	     node; node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		area = container_of(node, struct iopt_area, node);
		rc = iopt_area_map_domain(area, domain);
		if (rc)
			goto out_unfill;
	}

	down_write(&iopt->iova_rwsem);
	xa_store(&iopt->domains, slot, domain, 0);
	iopt->ndomains++;
	iopt_recalc_alignment(iopt);
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_sem);
	return 0;

out_unfill:
	for (undo = interval_tree_iter_first(&iopt->areas, 0, ULONG_MAX);
	     undo != node; undo = interval_tree_iter_next(undo, 0, ULONG_MAX))
		iopt_area_unmap_domain(container_of(undo, struct iopt_area,
						    node),
				       domain, NULL);
	down_write(&iopt->iova_rwsem);
	iopt_unreserve_locked(iopt, domain);
	iopt_recalc_alignment(iopt);
out_erase:
	xa_erase(&iopt->domains, slot);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_sem);
	return rc;
}

/**
 * iopt_remove_domain() - stop a domain from mirroring the table
 * @iopt: the table
 * @domain: a domain added with iopt_add_domain()
 *
 * Every area is unmapped from @domain; pages only @domain held are
 * unpinned.  Cannot fail.
 */
void iopt_remove_domain(struct io_pagetable *iopt,
			struct iommu_domain *domain)
{
	struct iommu_domain *entry, *successor = NULL;
	struct interval_tree_node *node;
	unsigned long found = ULONG_MAX;
	struct iopt_domain_iter it;

	down_write(&iopt->domains_sem);
	for (entry = iopt_domain_first(iopt, &it); entry;
	     entry = iopt_domain_next(iopt, &it)) {
		if (entry == domain)
			found = it.slot;
		else if (!successor)
			successor = entry;
	}
	if (WARN_ON(found == ULONG_MAX))
		goto out_unlock;
	xa_erase(&iopt->domains, found);
	iopt->ndomains--;

	for (node = interval_tree_iter_first(&iopt->areas, 0, ULONG_MAX);
	     node; node = interval_tree_iter_next(node, 0, ULONG_MAX))
		iopt_area_unmap_domain(container_of(node, struct iopt_area,
						    node),
				       domain, successor);

	down_write(&iopt->iova_rwsem);
	iopt_unreserve_locked(iopt, domain);
	iopt_recalc_alignment(iopt);
	up_write(&iopt->iova_rwsem);
out_unlock:
	up_write(&iopt->domains_sem);
}

/**
 * iopt_reserve_dev_regions() - reserve a device's regions
 * @iopt: the table the device's domain is about to mirror
 * @dev: the device
 *
 * The regions are tagged with @dev; iopt_unreserve_owner(@dev) undoes
 * this.
 *
 * Return: 0, or -EADDRINUSE if a region intersects a mapping or an allowed
 * range (nothing is reserved then).
 */
int iopt_reserve_dev_regions(struct io_pagetable *iopt, struct device *dev)
{
	struct iommu_resv_region *resv;
	LIST_HEAD(resv_regions);
	int rc = 0;

	iommu_get_resv_regions(dev, &resv_regions);
	down_write(&iopt->iova_rwsem);
	list_for_each_entry(resv, &resv_regions, list) {
		if (resv->type == IOMMU_RESV_DIRECT_RELAXABLE)
			continue;
		rc = iopt_reserve_locked(iopt, resv->start,
					 resv->start + resv->length - 1, dev);
		if (rc) {
			iopt_unreserve_locked(iopt, dev);
			break;
		}
	}
	up_write(&iopt->iova_rwsem);
	iommu_put_resv_regions(dev, &resv_regions);
	return rc;
}

/*
 * Register an access to hear about unmaps; *list_id is its slot.  An access
 * that pins pages makes PAGE_SIZE the least alignment of every mapping, as
 * a domain with 4 KiB pages would: it pins and hands out whole pages, so
 * no mapping may begin or end inside one.  -EADDRINUSE if one already does.
 */
int iopt_register_access(struct io_pagetable *iopt, struct iommufd_access *access,
			 u32 *list_id)
{
	bool pins = access->ops->needs_pin_pages;
	int rc;

	down_write(&iopt->domains_sem);
	down_write(&iopt->iova_rwsem);
	if (pins && !iopt_areas_aligned(iopt, PAGE_SIZE)) {
		rc = -EADDRINUSE;
		goto out_unlock;
	}
	rc = xa_alloc(&iopt->accesses, list_id, access, xa_limit_16b,
		      GFP_KERNEL_ACCOUNT);
	if (!rc && pins) {
		iopt->pinning_accesses++;
		iopt_recalc_alignment(iopt);
	}
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_sem);
	return rc;
}

void iopt_unregister_access(struct io_pagetable *iopt,
			    struct iommufd_access *access, u32 list_id)
{
	down_write(&iopt->domains_sem);
	down_write(&iopt->iova_rwsem);
	WARN_ON(xa_erase(&iopt->accesses, list_id) != access);
	if (access->ops->needs_pin_pages) {
		iopt->pinning_accesses--;
		iopt_recalc_alignment(iopt);
	}
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_sem);
}

/*
 * Dirty tracking.  The IOMMU records in its page table which IOPTEs DMA
 * wrote through; reading the records walks the domain's page table.  Only
 * populated areas are walked, under iova_rwsem: their IOPTEs cannot change
 * meanwhile, for an unmap or a fill only works on areas that are not
 * populated.  IOVA nothing maps is never dirty.
 */
static int iopt_dirty_areas(struct io_pagetable *iopt,
			    struct iommu_domain *domain, unsigned long first,
			    unsigned long last, unsigned long flags,
			    struct iommu_dirty_bitmap *dirty)
{
	const struct iommu_dirty_ops *ops = domain->dirty_ops;
	struct interval_tree_node *node;
	int rc = 0;

	lockdep_assert_held(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(&iopt->areas, first, last);
	     node && !rc; node = interval_tree_iter_next(node, first, last)) {
		struct iopt_area *area = container_of(node, struct iopt_area,
						      node);
		unsigned long start = max(first, area_first_iova(area));
		unsigned long end = min(last, area_last_iova(area));

		if (area->populated)
			rc = ops->read_and_clear_dirty(domain, start,
						       end - start + 1, flags,
						       dirty);
	}
	return rc;
}

/* Read and clear (or only read) the records of [first, last]. */
static int iopt_dirty_range(struct io_pagetable *iopt,
			    struct iommu_domain *domain, unsigned long first,
			    unsigned long last, unsigned long flags,
			    struct iova_bitmap *bitmap)
{
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty;
	int rc;

	iommu_dirty_bitmap_init(&dirty, bitmap, &gather);
	down_read(&iopt->iova_rwsem);
	rc = iopt_dirty_areas(iopt, domain, first, last, flags, &dirty);
	/* The IOTLB may cache IOPTEs whose dirty bit was just cleared. */
	if (!(flags & IOMMU_DIRTY_NO_CLEAR))
		iommu_iotlb_sync(domain, &gather);
	up_read(&iopt->iova_rwsem);
	return rc;
}

/**
 * iopt_set_dirty_tracking() - start or stop the domain's dirty records
 * @iopt: the table the domain is in
 * @domain: a domain with dirty_ops
 * @enable: start, after clearing what it recorded before
 *
 * Return: 0 or the driver's errno.
 */
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable)
{
	int rc;

	if (enable) {
		rc = iopt_dirty_range(iopt, domain, 0, ULONG_MAX, 0, NULL);
		if (rc)
			return rc;
	}
	return domain->dirty_ops->set_dirty_tracking(domain, enable);
}

struct iopt_dirty_read {
	struct io_pagetable *iopt;
	struct iommu_domain *domain;
	unsigned long flags;
};

/* One window of the user's bitmap, pinned by iova_bitmap_for_each(). */
static int iopt_dirty_window(struct iova_bitmap *bitmap, unsigned long iova,
			     size_t length, void *opaque)
{
	struct iopt_dirty_read *r = opaque;

	return iopt_dirty_range(r->iopt, r->domain, iova, iova + length - 1,
				r->flags, bitmap);
}

/**
 * iopt_read_dirty() - report the dirty records of a range into user memory
 * @iopt: the table the domain is in
 * @domain: a domain with dirty_ops
 * @iova: first IOVA
 * @length: bytes of IOVA
 * @page_size: IOVA bytes per bit of the bitmap, a power of two
 * @data: the user bitmap
 * @flags: IOMMU_DIRTY_NO_CLEAR keeps the records
 *
 * The bitmap's pages are pinned a window at a time with no lock held;
 * the records are written into them under iova_rwsem.
 *
 * Return: 0 or an errno; bits already written stay.
 */
int iopt_read_dirty(struct io_pagetable *iopt, struct iommu_domain *domain,
		    unsigned long iova, unsigned long length,
		    unsigned long page_size, u64 __user *data,
		    unsigned long flags)
{
	struct iopt_dirty_read r = {
		.iopt = iopt, .domain = domain, .flags = flags,
	};
	struct iova_bitmap *bitmap;
	int rc;

	bitmap = iova_bitmap_alloc(iova, length, page_size, data);
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);
	rc = iova_bitmap_for_each(bitmap, &r, iopt_dirty_window);
	iova_bitmap_free(bitmap);
	return rc;
}
