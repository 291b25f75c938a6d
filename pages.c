// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The IOVA->PFN store: struct iopt_mem, one range of user memory shared by
 * every area that maps (a part of) it.
 *
 * Storage tiers.  At any time a page of the memory is in one of:
 *  1. user memory only: not pinned, not charged, its PFN unknown;
 *  2. pinned, PFN kept in @pfn_store: in-kernel accesses use the page and
 *     no domain maps it;
 *  3. pinned, PFN kept by a domain: an area using the page is mapped by an
 *     iommu_domain (the area's pfn_domain), whose page table gives the
 *     PFN back through iommu_iova_to_phys().
 * Pages only get pinned when they leave tier 1.  A new domain is filled from
 * a domain or the store; a page moving between tiers 2 and 3 is never
 * pinned or charged again.
 *
 * Invariants, whenever pages->mutex is not held.  Write D(i) for "page
 * index i is covered by an area in @held_areas" and A(i) for "i is covered
 * by a range in @pinned_ranges":
 *  - i is pinned exactly once, counted once in @npinned and charged once
 *    against RLIMIT_MEMLOCK, iff D(i) || A(i);
 *  - i has a slot in @pfn_store iff A(i); the slot holds the PFN iff !D(i)
 *    and is an empty reservation otherwise.  So a page falling from tier 3
 *    to tier 2 lands in an existing slot: unmapping and detaching never need
 *    memory they might not get.
 *  - a page is unmapped from every domain before it is unpinned.
 *
 * The work is done in batches of PFN runs (physically contiguous PFNs): a
 * run is mapped with one iommu_map() call, so the IOMMU driver can use its
 * large IOPTEs, and user pages are pinned with one GUP call per batch.  The
 * temporary memory of a batch is bounded (by the selftest in test builds).
 */
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include "iommufd_private.h"

/* How much temporary memory one batch and one pinning call may use. */
static size_t iopt_temp_budget(void)
{
	if (IS_ENABLED(CONFIG_IOMMUFD_TEST))
		return READ_ONCE(iommufd_test_memory_limit);
	return SZ_64K;
}

/*
 * A batch: PFNs of consecutive page indexes, as runs of contiguous PFNs.
 */
struct pfn_batch {
	unsigned long *pfn;	/* first PFN of each run */
	unsigned long *len;	/* pages in each run */
	unsigned int capacity;	/* runs the arrays have room for */
	unsigned int nruns;
	unsigned long total;	/* pages in all runs */
};

/* Room for a small batch on the stack, for paths that must not fail. */
#define PFN_BATCH_FALLBACK 8
struct pfn_batch_fallback {
	unsigned long pfn[PFN_BATCH_FALLBACK];
	unsigned long len[PFN_BATCH_FALLBACK];
};

static int batch_init(struct pfn_batch *batch, size_t budget)
{
	size_t cap = max_t(size_t, budget / (2 * sizeof(unsigned long)), 1);

	cap = min_t(size_t, cap, UINT_MAX);
	batch->pfn = kmalloc_array(cap, 2 * sizeof(unsigned long),
				   GFP_KERNEL | __GFP_NOWARN);
	if (!batch->pfn)
		return -ENOMEM;
	batch->len = batch->pfn + cap;
	batch->capacity = cap;
	batch->nruns = 0;
	batch->total = 0;
	return 0;
}

/* Like batch_init() but falls back to @fb when memory is short. */
static void batch_init_nofail(struct pfn_batch *batch,
			      struct pfn_batch_fallback *fb)
{
	if (!batch_init(batch, iopt_temp_budget()))
		return;
	batch->pfn = fb->pfn;
	batch->len = fb->len;
	batch->capacity = PFN_BATCH_FALLBACK;
	batch->nruns = 0;
	batch->total = 0;
}

static void batch_destroy(struct pfn_batch *batch,
			  struct pfn_batch_fallback *fb)
{
	if (!fb || batch->pfn != fb->pfn)
		kfree(batch->pfn);
}

static void batch_clear(struct pfn_batch *batch)
{
	batch->nruns = 0;
	batch->total = 0;
}

/* Append one PFN; false when it needs a new run and there is no room. */
static bool batch_add_pfn(struct pfn_batch *batch, unsigned long pfn)
{
	unsigned int last = batch->nruns - 1;

	if (batch->nruns && batch->pfn[last] + batch->len[last] == pfn) {
		batch->len[last]++;
	} else {
		if (batch->nruns == batch->capacity)
			return false;
		batch->pfn[batch->nruns] = pfn;
		batch->len[batch->nruns] = 1;
		batch->nruns++;
	}
	batch->total++;
	return true;
}

/* Walks a batch from its start, handing out PFNs in index order. */
struct batch_cursor {
	struct pfn_batch *batch;
	unsigned int run;
	unsigned long offset;	/* into the current run */
};

/*
 * Take the next @count PFNs of the batch, calling @fn for each piece that is
 * physically contiguous (with a NULL @fn they are skipped).
 */
static void batch_take(struct batch_cursor *cur, unsigned long count,
		       void (*fn)(unsigned long pfn, unsigned long n, void *arg),
		       void *arg)
{
	while (count) {
		struct pfn_batch *batch = cur->batch;
		unsigned long n;

		if (WARN_ON(cur->run >= batch->nruns))
			return;
		n = min(count, batch->len[cur->run] - cur->offset);
		if (fn)
			fn(batch->pfn[cur->run] + cur->offset, n, arg);
		cur->offset += n;
		count -= n;
		if (cur->offset == batch->len[cur->run]) {
			cur->run++;
			cur->offset = 0;
		}
	}
}

/*
 * RLIMIT_MEMLOCK accounting.  IOMMUFD_ACCOUNT_USER charges the owner's
 * user->locked_vm (shared by all processes of the user), IOMMUFD_ACCOUNT_MM
 * the owner's mm->pinned_vm.  The owner is whoever mapped the memory: unless
 * it had CAP_IPC_LOCK then, the total may not pass its RLIMIT_MEMLOCK, no
 * matter which task later causes the pinning.
 */
static unsigned long pages_charge_limit(struct iopt_mem *pages)
{
	if (pages->unlimited)
		return ULONG_MAX;
	return task_rlimit(pages->owner_task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
}

static int pages_charge(struct iopt_mem *pages, unsigned long npages)
{
	unsigned long limit, cur, new;

	switch (pages->account_mode) {
	case IOMMUFD_ACCOUNT_USER: {
		atomic_long_t *counter = &pages->owner_user->locked_vm;

		limit = pages_charge_limit(pages);
		cur = atomic_long_read(counter);
		do {
			if (check_add_overflow(cur, npages, &new) || new > limit)
				return -ENOMEM;
		} while (!atomic_long_try_cmpxchg(counter, &cur, new));
		return 0;
	}
	case IOMMUFD_ACCOUNT_MM: {
		atomic64_t *counter = &pages->owner_mm->pinned_vm;
		s64 old;

		limit = pages_charge_limit(pages);
		old = atomic64_read(counter);
		do {
			if (check_add_overflow((unsigned long)old, npages,
					       &new) || new > limit)
				return -ENOMEM;
		} while (!atomic64_try_cmpxchg(counter, &old, new));
		return 0;
	}
	default:
		return 0;
	}
}

static void pages_uncharge(struct iopt_mem *pages, unsigned long npages)
{
	switch (pages->account_mode) {
	case IOMMUFD_ACCOUNT_USER:
		atomic_long_sub(npages, &pages->owner_user->locked_vm);
		break;
	case IOMMUFD_ACCOUNT_MM:
		atomic64_sub(npages, &pages->owner_mm->pinned_vm);
		break;
	}
}

/* Pin @npages user pages from page index @index into @upages. */
static long pages_pin_user(struct iopt_mem *pages, unsigned long index,
			   unsigned long npages, struct page **upages)
{
	unsigned long uptr = (uintptr_t)pages->uptr + index * PAGE_SIZE;
	unsigned int gup_flags = FOLL_LONGTERM;
	struct mm_struct *mm = pages->owner_mm;
	int locked = 1;
	long rc;

	if (pages->writable)
		gup_flags |= FOLL_WRITE;
	if (IS_ENABLED(CONFIG_IOMMUFD_TEST) && iommufd_should_fail())
		return -EFAULT;

	if (current->mm == mm)
		return pin_user_pages_fast(uptr, npages, gup_flags, upages);

	/* Mapped by another process: pin from its mm, if it still exists. */
	if (!mmget_not_zero(mm))
		return -EFAULT;
	mmap_read_lock(mm);
	rc = pin_user_pages_remote(mm, uptr, npages, gup_flags, upages,
				   &locked);
	if (locked)
		mmap_read_unlock(mm);
	mmput(mm);
	return rc;
}

/* Unpin @n pinned pages from @pfn on; writable memory is dirtied. */
static void pages_unpin(struct iopt_mem *pages, unsigned long pfn,
			unsigned long n)
{
	unpin_user_page_range_dirty_lock(pfn_to_page(pfn), n, pages->writable);
	pages->npinned -= n;
	pages_uncharge(pages, n);
}

static void pages_unpin_cb(unsigned long pfn, unsigned long n, void *arg)
{
	pages_unpin(arg, pfn, n);
}

/*
 * Coverage: every index falls in one of four classes, by whether an access
 * range (A) and a domain area (D) cover it.
 */
enum {
	COVER_ACCESS = 1 << 0,
	COVER_DOMAIN = 1 << 1,
};

typedef void (*coverage_fn)(struct iopt_mem *pages, unsigned long start,
			    unsigned long last, unsigned int cover, void *arg);

/* Report [start, last] as ascending segments of one class each. */
static void pages_walk_coverage(struct iopt_mem *pages, unsigned long start,
				unsigned long last, coverage_fn fn, void *arg)
{
	struct interval_tree_span_iter aspan, dspan;

	lockdep_assert_held(&pages->mutex);

	interval_tree_for_each_span(&aspan, &pages->pinned_ranges, start,
				    last) {
		unsigned long s = aspan.is_hole ? aspan.start_hole :
						  aspan.start_used;
		unsigned long l = aspan.is_hole ? aspan.last_hole :
						  aspan.last_used;
		unsigned int a = aspan.is_hole ? 0 : COVER_ACCESS;

		interval_tree_for_each_span(&dspan, &pages->held_areas, s, l) {
			if (dspan.is_hole)
				fn(pages, dspan.start_hole, dspan.last_hole, a,
				   arg);
			else
				fn(pages, dspan.start_used, dspan.last_used,
				   a | COVER_DOMAIN, arg);
		}
	}
}

/* Store PFNs into the (reserved) slots of consecutive indexes. */
struct store_pfns {
	struct iopt_mem *pages;
	unsigned long index;
};

static void store_pfns_cb(unsigned long pfn, unsigned long n, void *arg)
{
	struct store_pfns *sp = arg;

	for (; n; n--, pfn++, sp->index++) {
		/* The slot exists, so this never allocates. */
		WARN_ON(xa_err(xa_store(&sp->pages->pfn_store, sp->index,
					xa_mk_value(pfn), GFP_ATOMIC)));
	}
}

/*
 * Settling a batch whose indexes lost a user (a domain area or an access
 * range that is already out of its tree): the PFN of an index still in use
 * by an access but no domain goes to its slot, that of an unused index is
 * unpinned, the rest is left alone.
 */
struct settle {
	struct batch_cursor cur;
};

static void settle_cb(struct iopt_mem *pages, unsigned long start,
		      unsigned long last, unsigned int cover, void *arg)
{
	struct settle *st = arg;
	unsigned long n = last - start + 1;

	if (cover == COVER_ACCESS) {
		struct store_pfns sp = { .pages = pages, .index = start };

		batch_take(&st->cur, n, store_pfns_cb, &sp);
	} else if (!cover) {
		batch_take(&st->cur, n, pages_unpin_cb, pages);
	} else {
		batch_take(&st->cur, n, NULL, NULL);
	}
}

static void pages_settle_batch(struct iopt_mem *pages,
			       struct pfn_batch *batch, unsigned long start)
{
	struct settle st = { .cur = { .batch = batch } };

	if (batch->total)
		pages_walk_coverage(pages, start, start + batch->total - 1,
				    settle_cb, &st);
}

/*
 * The reader produces the PFNs of a range of indexes, batch by batch, from
 * wherever each page is: a domain area, the store, or user memory (pinning
 * and charging it).
 */
struct pfn_reader {
	struct iopt_mem *pages;
	struct pfn_batch batch;
	struct page **upages;		/* for pin_user_pages() */
	unsigned long upages_cap;
	/* upages[pos, len) are pinned, for indexes next on, not batched yet */
	unsigned long upages_pos;
	unsigned long upages_len;
	unsigned long batch_start;	/* index of the batch's first PFN */
	unsigned long next;		/* next index to read */
	unsigned long last;		/* last index to read */
};

static int reader_init(struct pfn_reader *r, struct iopt_mem *pages,
		       unsigned long first, unsigned long last)
{
	size_t budget = iopt_temp_budget();
	int rc;

	rc = batch_init(&r->batch, budget);
	if (rc)
		return rc;
	r->upages_cap = clamp_t(size_t, budget / sizeof(struct page *), 1,
				last - first + 1);
	r->upages = kmalloc_array(r->upages_cap, sizeof(struct page *),
				  GFP_KERNEL | __GFP_NOWARN);
	if (!r->upages) {
		batch_destroy(&r->batch, NULL);
		return -ENOMEM;
	}
	r->upages_pos = 0;
	r->upages_len = 0;
	r->pages = pages;
	r->batch_start = first;
	r->next = first;
	r->last = last;
	return 0;
}

/* Pages pinned ahead but never batched were pinned for nothing. */
static void reader_destroy(struct pfn_reader *r)
{
	for (; r->upages_pos != r->upages_len; r->upages_pos++)
		pages_unpin(r->pages, page_to_pfn(r->upages[r->upages_pos]), 1);
	kfree(r->upages);
	batch_destroy(&r->batch, NULL);
}

static bool reader_done(struct pfn_reader *r)
{
	return r->next > r->last || r->next < r->batch_start;
}

/* The PFN of page @index of @area, read back from its storage domain. */
static unsigned long area_index_pfn(struct iopt_area *area,
				    struct iommu_domain *domain,
				    unsigned long index)
{
	return PHYS_PFN(iommu_iova_to_phys(domain,
					   area_index_first_iova(area, index)));
}

/* Batch the PFNs @domain maps for [index, last]; returns how many fit. */
static unsigned long batch_from_domain(struct pfn_batch *batch,
				       struct iopt_area *area,
				       struct iommu_domain *domain,
				       unsigned long index, unsigned long last)
{
	unsigned long i;

	for (i = index; i <= last && i >= index; i++) {
		if (!batch_add_pfn(batch, area_index_pfn(area, domain, i)))
			break;
	}
	return i - index;
}

static unsigned long reader_from_domain(struct pfn_reader *r,
					struct iopt_area *area,
					unsigned long index, unsigned long last)
{
	return batch_from_domain(&r->batch, area, area->pfn_domain, index,
				 last);
}

/* pages->mutex keeps the store still: one cursor walks the run. */
static unsigned long reader_from_store(struct pfn_reader *r,
				       unsigned long index, unsigned long last)
{
	XA_STATE(xas, &r->pages->pfn_store, index);
	unsigned long i;
	void *entry;

	rcu_read_lock();
	for (i = index, entry = xas_load(&xas); i <= last;
	     i++, entry = xas_next(&xas)) {
		if (!xa_is_value(entry) ||
		    !batch_add_pfn(&r->batch, xa_to_value(entry)))
			break;
	}
	rcu_read_unlock();
	return i - index;
}

/* The last index in [index, last] before one whose PFN is in the store. */
static unsigned long store_gap_last(struct iopt_mem *pages,
				    unsigned long index, unsigned long last)
{
	unsigned long i = index + 1;

	/* xa_find() skips the reserved slots; every other entry is a PFN. */
	if (index == last || !xa_find(&pages->pfn_store, &i, last, XA_PRESENT))
		return last;
	return i - 1;
}

/* Batch the pages pinned ahead; returns how many fit. */
static unsigned long reader_drain_upages(struct pfn_reader *r)
{
	unsigned long n = 0;

	while (r->upages_pos != r->upages_len &&
	       batch_add_pfn(&r->batch,
			     page_to_pfn(r->upages[r->upages_pos]))) {
		r->upages_pos++;
		n++;
	}
	return n;
}

/*
 * Pin up to a full upages array from @index on; what does not fit in the
 * batch waits in upages for the next one.
 */
static long reader_pin(struct pfn_reader *r, unsigned long index,
		       unsigned long last)
{
	unsigned long want = min(last - index + 1, r->upages_cap);
	struct iopt_mem *pages = r->pages;
	long got;
	int rc;

	rc = pages_charge(pages, want);
	if (rc)
		return rc;
	got = pages_pin_user(pages, index, want, r->upages);
	if (got <= 0) {
		pages_uncharge(pages, want);
		return got ? got : -EFAULT;
	}
	if (got < want)
		pages_uncharge(pages, want - got);
	pages->npinned += got;
	r->upages_pos = 0;
	r->upages_len = got;
	return reader_drain_upages(r);
}

/*
 * Read the next batch.  On error the batch still holds what was read before
 * the error (possibly freshly pinned pages), for the caller to settle.
 */
static int reader_next(struct pfn_reader *r)
{
	struct iopt_mem *pages = r->pages;

	batch_clear(&r->batch);
	r->batch_start = r->next;
	while (!reader_done(r)) {
		unsigned long index = r->next, last = r->last;
		struct interval_tree_node *node;
		long n;

		if (r->upages_pos != r->upages_len) {
			n = reader_drain_upages(r);
			goto advance;
		}
		node = interval_tree_iter_first(&pages->held_areas, index,
						last);
		if (node && node->start <= index) {
			n = reader_from_domain(r, container_of(node,
							       struct iopt_area,
							       mem_node),
					       index, min(last, node->last));
		} else {
			if (node)
				last = node->start - 1;
			if (xa_is_value(xa_load(&pages->pfn_store, index)))
				n = reader_from_store(r, index, last);
			else
				n = reader_pin(r, index,
					       store_gap_last(pages, index,
							      last));
		}
advance:
		if (n < 0)
			return n;
		if (!n)
			break;
		r->next += n;
	}
	return 0;
}

/* Map [first, last] of @area's IOVA, backed by @pfn on, into @domain. */
static int area_map_run(struct iopt_area *area, struct iommu_domain *domain,
			unsigned long first, unsigned long last,
			unsigned long pfn)
{
	phys_addr_t paddr = PFN_PHYS(pfn) +
			    area_iova_offset(area, first);

	return iommu_map(domain, first, paddr, last - first + 1,
			 area->iommu_prot, GFP_KERNEL_ACCOUNT);
}

static void area_unmap_range(struct iommu_domain *domain, unsigned long first,
			     unsigned long last)
{
	size_t len = last - first + 1;

	WARN_ON(iommu_unmap(domain, first, len) != len);
}

/*
 * Map a batch holding the PFNs of @index on into @domain.  Each run is one
 * iommu_map() call unless large pages are disabled, in which case every page
 * is mapped by itself.  On failure nothing of the batch stays mapped.
 */
static int batch_map(struct pfn_batch *batch, struct iopt_area *area,
		     struct iommu_domain *domain, unsigned long index,
		     bool small_pages)
{
	unsigned long first_iova = area_index_first_iova(area, index);
	unsigned long i = index;
	unsigned int run;
	int rc = 0;

	for (run = 0; run != batch->nruns && !rc; run++) {
		unsigned long n = batch->len[run], k;

		if (!small_pages) {
			rc = area_map_run(area, domain,
					  area_index_first_iova(area, i),
					  area_index_last_iova(area,
							       i + n - 1),
					  batch->pfn[run]);
			if (!rc)
				i += n;
			continue;
		}
		for (k = 0; k != n; k++, i++) {
			rc = area_map_run(area, domain,
					  area_index_first_iova(area, i),
					  area_index_last_iova(area, i),
					  batch->pfn[run] + k);
			if (rc)
				break;
		}
	}
	if (rc && i != index)
		area_unmap_range(domain, first_iova,
				 area_index_last_iova(area, i - 1));
	return rc;
}

/*
 * Take [first, last] of @area out of @domain, which holds the PFNs of these
 * pages and is leaving: read the PFNs back, unmap, then give each page to
 * the store or unpin it.  Done in chunks that end where the PFNs are not
 * contiguous, so no large IOPTE is ever split.  Cannot fail.
 */
static void area_unfill_storage(struct iopt_area *area,
				struct iommu_domain *domain,
				unsigned long first, unsigned long last)
{
	struct iopt_mem *pages = area->pages;
	struct pfn_batch_fallback fb;
	struct pfn_batch batch;
	unsigned long pos = first;

	batch_init_nofail(&batch, &fb);
	while (pos <= last && pos >= first) {
		unsigned long start = pos;

		batch_clear(&batch);
		pos += batch_from_domain(&batch, area, domain, pos, last);
		area_unmap_range(domain, area_index_first_iova(area, start),
				 area_index_last_iova(area, pos - 1));
		pages_settle_batch(pages, &batch, start);
	}
	batch_destroy(&batch, &fb);
}

/* The area now has a storage domain: its stored PFNs become reservations. */
static void to_reservations_cb(struct iopt_mem *pages, unsigned long start,
			       unsigned long last, unsigned int cover,
			       void *arg)
{
	unsigned long i;

	if (cover != COVER_ACCESS)
		return;
	for (i = start; i <= last && i >= start; i++)
		WARN_ON(xa_err(xa_store(&pages->pfn_store, i, XA_ZERO_ENTRY,
					GFP_ATOMIC)));
}

static void area_set_storage(struct iopt_area *area,
			     struct iommu_domain *domain)
{
	struct iopt_mem *pages = area->pages;

	pages_walk_coverage(pages, area_first_index(area),
			    area_last_index(area), to_reservations_cb,
			    NULL);
	area->pfn_domain = domain;
	interval_tree_insert(&area->mem_node, &pages->held_areas);
}

/**
 * iopt_area_map_domain() - map every page of an area into a domain
 * @area: the area; its pages come from its storage domain if it has one,
 *	else from other areas' domains, the store, or user memory
 * @domain: the domain to fill
 *
 * The first domain an area is filled into becomes its storage domain.
 *
 * Return: 0, or an errno with nothing mapped, pinned or charged by the call.
 */
int iopt_area_map_domain(struct iopt_area *area, struct iommu_domain *domain)
{
	struct iopt_mem *pages = area->pages;
	bool small = area->iopt->small_pages_only;
	struct pfn_reader r;
	int rc;

	mutex_lock(&pages->mutex);
	rc = reader_init(&r, pages, area_first_index(area),
			 area_last_index(area));
	if (rc)
		goto out_unlock;

	while (!reader_done(&r)) {
		rc = reader_next(&r);
		if (!rc && r.batch.total)
			rc = batch_map(&r.batch, area, domain, r.batch_start,
				       small);
		if (rc)
			goto out_unwind;
	}
	if (!area->pfn_domain)
		area_set_storage(area, domain);
	goto out_destroy;

out_unwind:
	if (area->pfn_domain) {
		/* Every page came from the storage domain: just unmap. */
		if (r.batch_start != area_first_index(area)) {
			unsigned long mapped_last =
				area_index_last_iova(area,
						     r.batch_start - 1);

			area_unmap_range(domain, area_first_iova(area),
					 mapped_last);
		}
	} else {
		/* The failed batch is not mapped; what came before is. */
		pages_settle_batch(pages, &r.batch, r.batch_start);
		if (r.batch_start != area_first_index(area))
			area_unfill_storage(area, domain, area_first_index(area),
					    r.batch_start - 1);
	}
out_destroy:
	reader_destroy(&r);
out_unlock:
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_unmap_domain() - take an area out of a domain
 * @area: the area
 * @domain: the domain, which maps all of the area
 * @successor: another domain that maps all of the area and stays, or NULL
 *
 * If @domain is the area's storage domain, @successor takes over that role;
 * without one, every page the area alone kept pinned is unpinned (or moves
 * to the store if an access still uses it).  Cannot fail.
 */
void iopt_area_unmap_domain(struct iopt_area *area,
			    struct iommu_domain *domain,
			    struct iommu_domain *successor)
{
	struct iopt_mem *pages = area->pages;

	mutex_lock(&pages->mutex);
	if (domain != area->pfn_domain || successor) {
		if (domain == area->pfn_domain)
			area->pfn_domain = successor;
		area_unmap_range(domain, area_first_iova(area),
				 area_last_iova(area));
	} else {
		interval_tree_remove(&area->mem_node, &pages->held_areas);
		area->pfn_domain = NULL;
		area_unfill_storage(area, domain, area_first_index(area),
				    area_last_index(area));
	}
	mutex_unlock(&pages->mutex);
}

/*
 * Take @area out of the domains in slots below @end, the storage domain
 * last, so no page is unpinned while another domain still maps it.
 */
static void area_unmap_domains(struct iopt_area *area,
			       struct io_pagetable *iopt, unsigned long end)
{
	struct iommu_domain *domain;
	unsigned long index;

	xa_for_each(&iopt->domains, index, domain) {
		if (index >= end)
			break;
		if (domain != area->pfn_domain)
			iopt_area_unmap_domain(area, domain, NULL);
	}
	if (area->pfn_domain)
		iopt_area_unmap_domain(area, area->pfn_domain, NULL);
}

/**
 * iopt_area_map_all() - map a new area into every domain of its table
 * @area: the area, not yet in any domain
 * @iopt: its table; the caller holds domains_sem
 *
 * Return: 0, or an errno with the area in no domain and nothing pinned.
 */
int iopt_area_map_all(struct iopt_area *area, struct io_pagetable *iopt)
{
	struct iommu_domain *domain;
	unsigned long index;
	int rc;

	lockdep_assert_held(&iopt->domains_sem);

	xa_for_each(&iopt->domains, index, domain) {
		rc = iopt_area_map_domain(area, domain);
		if (rc)
			goto out_unfill;
	}
	return 0;

out_unfill:
	area_unmap_domains(area, iopt, index);
	return rc;
}

/**
 * iopt_area_unmap_all() - take an area out of every domain
 * @area: the area
 * @iopt: its table; the caller holds domains_sem
 *
 * The storage domain goes last, so no page is unpinned while another domain
 * still maps it.  Cannot fail.
 */
void iopt_area_unmap_all(struct iopt_area *area, struct io_pagetable *iopt)
{
	lockdep_assert_held(&iopt->domains_sem);
	area_unmap_domains(area, iopt, ULONG_MAX);
}

/* Release the slots (and for pages no domain holds, the pins) of a range. */
static void release_access_cb(struct iopt_mem *pages, unsigned long start,
			      unsigned long last, unsigned int cover, void *arg)
{
	unsigned long i;

	if (cover & COVER_ACCESS)
		return;
	for (i = start; i <= last && i >= start; i++) {
		void *entry = xa_erase(&pages->pfn_store, i);

		if (!(cover & COVER_DOMAIN) && xa_is_value(entry))
			pages_unpin(pages, xa_to_value(entry), 1);
	}
}

/* After an access range went out of the tree (or never got in). */
static void pages_release_access(struct iopt_mem *pages, unsigned long start,
				 unsigned long last)
{
	pages_walk_coverage(pages, start, last, release_access_cb, NULL);
}

/* Give the slots of a new access range the PFNs nothing else holds. */
struct access_fill {
	struct batch_cursor cur;
	struct page **out_pages;	/* may be NULL */
	unsigned long first;		/* index of out_pages[0] */
};

static void out_pages_cb(unsigned long pfn, unsigned long n, void *arg)
{
	struct page ***out = arg;

	for (; n; n--, pfn++)
		*(*out)++ = pfn_to_page(pfn);
}

static void access_fill_cb(struct iopt_mem *pages, unsigned long start,
			   unsigned long last, unsigned int cover, void *arg)
{
	struct access_fill *af = arg;
	unsigned long n = last - start + 1;
	struct batch_cursor save = af->cur;

	if (!cover) {
		struct store_pfns sp = { .pages = pages, .index = start };

		batch_take(&af->cur, n, store_pfns_cb, &sp);
	} else {
		batch_take(&af->cur, n, NULL, NULL);
	}
	if (af->out_pages) {
		struct page **out = af->out_pages + (start - af->first);

		af->cur = save;
		batch_take(&af->cur, n, out_pages_cb, &out);
	}
}

/* Make sure every index of [start, last] has a slot in the store. */
static int pages_reserve_slots(struct iopt_mem *pages, unsigned long start,
			       unsigned long last)
{
	unsigned long i;
	int rc;

	for (i = start; i <= last && i >= start; i++) {
		rc = xa_reserve(&pages->pfn_store, i, GFP_KERNEL_ACCOUNT);
		if (rc) {
			if (i != start)
				pages_release_access(pages, start, i - 1);
			return rc;
		}
	}
	return 0;
}

static struct iopt_mem_pin *
pages_find_access(struct iopt_mem *pages, unsigned long start,
		  unsigned long last)
{
	struct interval_tree_node *node;

	for (node = interval_tree_iter_first(&pages->pinned_ranges, start,
					     last);
	     node; node = interval_tree_iter_next(node, start, last)) {
		if (node->start == start && node->last == last)
			return container_of(node, struct iopt_mem_pin,
					    node);
	}
	return NULL;
}

/* Read the PFNs of [start, last] (all pinned already) into @out_pages. */
static int pages_read_pinned(struct iopt_mem *pages, unsigned long start,
			     unsigned long last, struct page **out_pages)
{
	struct pfn_reader r;
	int rc;

	rc = reader_init(&r, pages, start, last);
	if (rc)
		return rc;
	while (!reader_done(&r)) {
		struct batch_cursor cur = { .batch = &r.batch };
		struct page **out;

		rc = reader_next(&r);
		if (WARN_ON(rc))
			break;
		out = out_pages + (r.batch_start - start);
		batch_take(&cur, r.batch.total, out_pages_cb, &out);
	}
	reader_destroy(&r);
	return rc;
}

/*
 * Pin [start, last] for an access: the pages enter the store unless a domain
 * holds them.  @out_pages, if not NULL, receives a page per index.
 */
static int pages_add_access(struct iopt_mem *pages, unsigned long start,
			    unsigned long last, struct page **out_pages)
{
	struct iopt_mem_pin *acc;
	struct pfn_reader r;
	int rc;

	lockdep_assert_held(&pages->mutex);

	acc = pages_find_access(pages, start, last);
	if (acc && acc->users != UINT_MAX) {
		if (out_pages) {
			rc = pages_read_pinned(pages, start, last, out_pages);
			if (rc)
				return rc;
		}
		acc->users++;
		return 0;
	}

	acc = kzalloc(sizeof(*acc), GFP_KERNEL_ACCOUNT);
	if (!acc)
		return -ENOMEM;
	rc = pages_reserve_slots(pages, start, last);
	if (rc)
		goto err_free;
	rc = reader_init(&r, pages, start, last);
	if (rc)
		goto err_release;

	while (!reader_done(&r)) {
		struct access_fill af = {
			.cur = { .batch = &r.batch },
			.out_pages = out_pages,
			.first = start,
		};

		rc = reader_next(&r);
		/* What was read is stored even on error, then released. */
		if (r.batch.total)
			pages_walk_coverage(pages, r.batch_start,
					    r.batch_start + r.batch.total - 1,
					    access_fill_cb, &af);
		if (rc)
			goto err_reader;
	}
	reader_destroy(&r);

	acc->node.start = start;
	acc->node.last = last;
	acc->users = 1;
	interval_tree_insert(&acc->node, &pages->pinned_ranges);
	return 0;

err_reader:
	reader_destroy(&r);
err_release:
	pages_release_access(pages, start, last);
err_free:
	kfree(acc);
	return rc;
}

static void pages_remove_access(struct iopt_mem *pages, unsigned long start,
				unsigned long last)
{
	struct iopt_mem_pin *acc;

	lockdep_assert_held(&pages->mutex);

	acc = pages_find_access(pages, start, last);
	if (WARN_ON(!acc))
		return;
	if (--acc->users)
		return;
	interval_tree_remove(&acc->node, &pages->pinned_ranges);
	kfree(acc);
	pages_release_access(pages, start, last);
}

/**
 * iopt_area_pin() - pin pages of an area for an in-kernel access
 * @area: the area
 * @start_index: first page index (of the area's pages) to pin
 * @last_index: last page index to pin
 * @out_pages: receives a struct page per index, or NULL
 * @flags: IOMMUFD_ACCESS_RW_* flags
 *
 * Return: 0; -EPERM for a write to read-only memory; -ENOMEM or -EFAULT
 * with nothing pinned.
 */
int iopt_area_pin(struct iopt_area *area, unsigned long start_index,
		  unsigned long last_index, struct page **out_pages,
		  unsigned int flags)
{
	struct iopt_mem *pages = area->pages;
	int rc;

	if ((flags & IOMMUFD_ACCESS_RW_WRITE) && !pages->writable)
		return -EPERM;

	mutex_lock(&pages->mutex);
	rc = pages_add_access(pages, start_index, last_index, out_pages);
	if (!rc)
		area->pin_count++;
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_unpin() - undo one iopt_area_pin()
 * @area: the area
 * @start_index: the first index given to iopt_area_pin()
 * @last_index: the last index given to iopt_area_pin()
 */
void iopt_area_unpin(struct iopt_area *area, unsigned long start_index,
		     unsigned long last_index)
{
	struct iopt_mem *pages = area->pages;

	mutex_lock(&pages->mutex);
	WARN_ON(!area->pin_count);
	area->pin_count--;
	pages_remove_access(pages, start_index, last_index);
	mutex_unlock(&pages->mutex);
}

/*
 * Copy between @data and the owner's address space at @uptr; the caller
 * runs in that mm, or is a kthread that may borrow it (@borrow).
 */
static int pages_rw_user(struct iopt_mem *pages, unsigned long uptr,
			 void *data, unsigned long length, unsigned int flags,
			 bool borrow)
{
	void __user *uaddr = (void __user *)uptr;
	unsigned long left;

	if (borrow)
		kthread_use_mm(pages->owner_mm);
	if (flags & IOMMUFD_ACCESS_RW_WRITE)
		left = copy_to_user(uaddr, data, length);
	else
		left = copy_from_user(data, uaddr, length);
	if (borrow)
		kthread_unuse_mm(pages->owner_mm);
	return left ? -EFAULT : 0;
}

/* Copy through the pages themselves, pinning them for the duration. */
static int pages_rw_pinned(struct iopt_mem *pages, unsigned long start_byte,
			   void *data, unsigned long length, unsigned int flags)
{
	unsigned long chunk = max_t(size_t, iopt_temp_budget() /
					    sizeof(struct page *), 1);
	struct page **upages;
	int rc = 0;

	upages = kmalloc_array(chunk, sizeof(*upages), GFP_KERNEL);
	if (!upages)
		return -ENOMEM;

	while (length && !rc) {
		unsigned long index = start_byte / PAGE_SIZE;
		unsigned long offset = start_byte % PAGE_SIZE;
		unsigned long n = min(chunk, DIV_ROUND_UP(offset + length,
							  PAGE_SIZE));
		unsigned long i;

		mutex_lock(&pages->mutex);
		rc = pages_add_access(pages, index, index + n - 1, upages);
		mutex_unlock(&pages->mutex);
		if (rc)
			break;

		for (i = 0; i != n && length; i++) {
			unsigned long len = min(length, PAGE_SIZE - offset);

			if (flags & IOMMUFD_ACCESS_RW_WRITE) {
				memcpy_to_page(upages[i], offset, data, len);
				set_page_dirty_lock(upages[i]);
			} else {
				memcpy_from_page(data, upages[i], offset, len);
			}
			data += len;
			length -= len;
			start_byte += len;
			offset = 0;
		}

		mutex_lock(&pages->mutex);
		pages_remove_access(pages, index, index + n - 1);
		mutex_unlock(&pages->mutex);
	}
	kfree(upages);
	return rc;
}

/**
 * iopt_mem_rw() - read or write user memory for an access
 * @pages: the memory
 * @start_byte: offset from the start of page index 0
 * @data: kernel buffer
 * @length: bytes to copy
 * @flags: IOMMUFD_ACCESS_RW_* flags
 *
 * Goes through the owner's page tables when the caller can (it runs in the
 * owner's mm, or is a kthread allowed to borrow it), otherwise through the
 * pinned pages.
 *
 * Return: 0, -EPERM for a write to read-only memory, or -EFAULT.
 */
int iopt_mem_rw(struct iopt_mem *pages, unsigned long start_byte,
		void *data, unsigned long length, unsigned int flags)
{
	unsigned long uptr = (uintptr_t)pages->uptr + start_byte;
	int rc;

	if ((flags & IOMMUFD_ACCESS_RW_WRITE) && !pages->writable)
		return -EPERM;
	if (flags & __IOMMUFD_ACCESS_RW_SLOW_PATH)
		return pages_rw_pinned(pages, start_byte, data, length, flags);

	if (current->mm == pages->owner_mm)
		return pages_rw_user(pages, uptr, data, length, flags, false);
	if ((flags & IOMMUFD_ACCESS_RW_KTHREAD) && !current->mm &&
	    mmget_not_zero(pages->owner_mm)) {
		rc = pages_rw_user(pages, uptr, data, length, flags, true);
		mmput(pages->owner_mm);
		return rc;
	}
	return pages_rw_pinned(pages, start_byte, data, length, flags);
}

/**
 * iopt_mem_new() - describe a range of the caller's memory
 * @uptr: user address of the first byte
 * @length: bytes; @uptr + @length must not overflow
 * @writable: pin for writing
 * @account_mode: enum iommufd_account_mode for all pins of this memory
 *
 * Nothing is pinned until a domain or an access needs the pages.
 *
 * Return: the pages with one reference, or an ERR_PTR.
 */
struct iopt_mem *iopt_mem_new(void __user *uptr, unsigned long length,
			      bool writable, u8 account_mode)
{
	unsigned long start = (uintptr_t)uptr, end;
	struct iopt_mem *pages;

	if (!length || check_add_overflow(start, length - 1, &end))
		return ERR_PTR(-EOVERFLOW);

	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	kref_init(&pages->kref);
	mutex_init(&pages->mutex);
	xa_init_flags(&pages->pfn_store, XA_FLAGS_ACCOUNT);
	pages->pinned_ranges = RB_ROOT_CACHED;
	pages->held_areas = RB_ROOT_CACHED;
	pages->uptr = (void __user *)(start & PAGE_MASK);
	pages->npages = end / PAGE_SIZE - start / PAGE_SIZE + 1;
	pages->writable = writable;
	pages->unlimited = capable(CAP_IPC_LOCK);
	pages->account_mode = account_mode;

	pages->owner_task = get_task_struct(current->group_leader);
	mmgrab(current->mm);
	pages->owner_mm = current->mm;
	pages->owner_user = get_uid(current_user());
	return pages;
}

void iopt_mem_release(struct kref *kref)
{
	struct iopt_mem *pages = container_of(kref, struct iopt_mem, kref);

	WARN_ON(!RB_EMPTY_ROOT(&pages->pinned_ranges.rb_root));
	WARN_ON(!RB_EMPTY_ROOT(&pages->held_areas.rb_root));
	WARN_ON(pages->npinned);
	WARN_ON(!xa_empty(&pages->pfn_store));
	put_task_struct(pages->owner_task);
	mmdrop(pages->owner_mm);
	free_uid(pages->owner_user);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}
