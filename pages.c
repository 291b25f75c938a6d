// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The IOVA->PFN store: struct iopt_mem, one range of user memory shared by
 * every area that maps (a part of) it.
 *
 * Storage tiers.  At any time a page of the memory is in one of:
 *  1. user memory only: not pinned, not charged, its PFN unknown;
 *  2. pinned, PFN kept in @pfn_store: an in-kernel user (an access, or an
 *     operation that needs the page soon) holds the page and no domain maps
 *     it;
 *  3. pinned, PFN kept by a domain: an area using the page is mapped by an
 *     iommu_domain (the area's pfn_domain), whose page table gives the
 *     PFN back through iommu_iova_to_phys().
 * A page moving between tiers 2 and 3 is never pinned or charged again; a
 * new domain is filled from a domain or the store.
 *
 * Fill ranges.  An area is mapped into its table's domains from its first
 * page index on: every domain maps the indexes [first_index, fill_next - 1]
 * of the area (all of them once the area is populated), and while the
 * table has domains that range is the area's @held_node in @held_areas.
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
 * Pinning user pages can fault, and a fault can wait for userspace
 * (userfaultfd, FUSE) for as long as it likes.  So pages are pinned with no
 * lock of iommufd held, pages->mutex included: an operation finds the first
 * run of indexes nothing pins (under the mutex), pins it into a struct
 * pin_run of its own (no lock), then takes the mutex again and uses what is
 * still needed; pages someone else pinned meanwhile are given back.  The
 * readers that fill domains and pinned ranges never pin: they take PFNs
 * from the domains, the store and the caller's pin_run, and stop where none
 * has the page.
 *
 * The work is done in batches of PFN runs (physically contiguous PFNs): a
 * run is mapped with one iommu_map() call, so the IOMMU driver can use its
 * large IOPTEs.  Work buffers are sized to the operation (on the stack when
 * small) within a budget (set by the selftest in test builds), and fall
 * back to smaller buffers rather than fail.
 */
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>

#include "iommufd_private.h"

/* How much temporary memory one batch and one pin run may use. */
static size_t iopt_temp_budget(void)
{
	if (IS_ENABLED(CONFIG_IOMMUFD_TEST))
		return READ_ONCE(iommufd_test_memory_limit);
	return SZ_64K;
}

/*
 * A work buffer of up to @want elements of @elem bytes (at least one, at
 * most what the budget allows).  Small ones use @inline_buf (room for
 * @inline_n); big ones are allocated, falling back to a single page and
 * then to @inline_buf, so a caller never fails for want of memory.
 * *@cap receives how many elements the buffer holds.
 */
static void *work_buf_alloc(unsigned long want, size_t elem, void *inline_buf,
			    unsigned long inline_n, unsigned long *cap)
{
	unsigned long budget = max_t(size_t, iopt_temp_budget() / elem, 1);
	void *buf;

	want = clamp(want, 1UL, budget);
	if (want <= inline_n) {
		*cap = want;
		return inline_buf;
	}
	buf = kmalloc_array(want, elem, GFP_KERNEL | __GFP_NORETRY |
						__GFP_NOWARN);
	if (buf) {
		*cap = want;
		return buf;
	}
	if (PAGE_SIZE / elem > inline_n) {
		buf = kmalloc(PAGE_SIZE, GFP_KERNEL | __GFP_NOWARN);
		if (buf) {
			*cap = PAGE_SIZE / elem;
			return buf;
		}
	}
	*cap = inline_n;
	return inline_buf;
}

static void work_buf_free(void *buf, void *inline_buf)
{
	if (buf != inline_buf)
		kfree(buf);
}

/*
 * A batch: PFNs of consecutive page indexes, as runs of contiguous PFNs.
 * Embeds room for a few runs, so it must not be copied.
 */
#define BATCH_INLINE_RUNS 8

struct pfn_batch {
	unsigned long *pfn;	/* first PFN of each run */
	unsigned long *len;	/* pages in each run */
	unsigned int capacity;	/* runs the arrays have room for */
	unsigned int nruns;
	unsigned long total;	/* pages in all runs */
	unsigned long inline_runs[2 * BATCH_INLINE_RUNS];
};

/* A batch for reading up to @npages pages; cannot fail. */
static void batch_init(struct pfn_batch *batch, unsigned long npages)
{
	unsigned long cap;

	batch->pfn = work_buf_alloc(npages, 2 * sizeof(unsigned long),
				    batch->inline_runs, BATCH_INLINE_RUNS,
				    &cap);
	cap = min_t(unsigned long, cap, UINT_MAX);
	batch->len = batch->pfn + cap;
	batch->capacity = cap;
	batch->nruns = 0;
	batch->total = 0;
}

static void batch_destroy(struct pfn_batch *batch)
{
	work_buf_free(batch->pfn, batch->inline_runs);
}

static void batch_clear(struct pfn_batch *batch)
{
	batch->nruns = 0;
	batch->total = 0;
}

/*
 * Append @n contiguous PFNs from @pfn on; false when they need a new run
 * and there is no room.
 */
static bool batch_add_pfns(struct pfn_batch *batch, unsigned long pfn,
			   unsigned long n)
{
	unsigned int last = batch->nruns - 1;

	if (batch->nruns && batch->pfn[last] + batch->len[last] == pfn) {
		batch->len[last] += n;
	} else {
		if (batch->nruns == batch->capacity)
			return false;
		batch->pfn[batch->nruns] = pfn;
		batch->len[batch->nruns] = n;
		batch->nruns++;
	}
	batch->total += n;
	return true;
}

static bool batch_add_pfn(struct pfn_batch *batch, unsigned long pfn)
{
	return batch_add_pfns(batch, pfn, 1);
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

/*
 * Pin @npages user pages from page index @index into @upages.  May fault
 * and wait for userspace: no lock of iommufd may be held.
 */
static long pages_pin_user(struct iopt_mem *pages, unsigned long index,
			   unsigned long npages, struct page **upages)
{
	unsigned long uptr = (uintptr_t)pages->uptr + index * PAGE_SIZE;
	unsigned int gup_flags = FOLL_LONGTERM;
	struct mm_struct *mm = pages->owner_mm;
	int locked = 1;
	long rc;

	lockdep_assert_not_held(&pages->mutex);

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
static void unpin_run_cb(unsigned long pfn, unsigned long n, void *arg)
{
	struct iopt_mem *pages = arg;

	unpin_user_page_range_dirty_lock(pfn_to_page(pfn), n, pages->writable);
}

/* Unpin the next @n PFNs of @cur, counted and charged as one. */
static void pages_unpin_next(struct iopt_mem *pages, struct batch_cursor *cur,
			     unsigned long n)
{
	batch_take(cur, n, unpin_run_cb, pages);
	pages->npinned -= n;
	pages_uncharge(pages, n);
}

/*
 * A pin run: user pages an operation pinned (and charged) for the indexes
 * [first, first + n - 1], with no lock held, before it knows whether it
 * still needs them.  A reader takes pages out of it (their slots become
 * NULL and they count in npinned from then on); what is left is given
 * back.  Embeds room for a few pages, so it must not be copied.
 */
#define RUN_INLINE_PAGES 16

struct pin_run {
	struct page **upages;
	unsigned long cap;
	unsigned long first;
	unsigned long n;
	unsigned long taken;	/* slots readers emptied */
	struct page *inline_pages[RUN_INLINE_PAGES];
};

/* A run for pinning up to @npages pages at a time; cannot fail. */
static void pin_run_init(struct pin_run *run, unsigned long npages)
{
	run->upages = work_buf_alloc(npages, sizeof(struct page *),
				     run->inline_pages, RUN_INLINE_PAGES,
				     &run->cap);
	run->first = 0;
	run->n = 0;
	run->taken = 0;
}

/* Give back the pages nobody took. */
static void pin_run_release(struct iopt_mem *pages, struct pin_run *run)
{
	unsigned long i;

	if (run->taken != run->n) {
		for (i = 0; i != run->n; i++) {
			if (run->upages[i])
				unpin_user_page(run->upages[i]);
		}
		pages_uncharge(pages, run->n - run->taken);
	}
	run->n = 0;
	run->taken = 0;
}

static void pin_run_destroy(struct iopt_mem *pages, struct pin_run *run)
{
	pin_run_release(pages, run);
	work_buf_free(run->upages, run->inline_pages);
}

/* The pinned page of @index still in the run, or NULL. */
static struct page *pin_run_peek(struct pin_run *run, unsigned long index)
{
	if (index < run->first || index - run->first >= run->n)
		return NULL;
	return run->upages[index - run->first];
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

/*
 * The first run of indexes in [start, last] that nothing pins (no domain,
 * no pinned range).  Returns false if there is none.
 */
static bool pages_find_unpinned(struct iopt_mem *pages, unsigned long start,
				unsigned long last, unsigned long *first,
				unsigned long *end)
{
	struct interval_tree_span_iter aspan, dspan;

	lockdep_assert_held(&pages->mutex);

	interval_tree_for_each_span(&aspan, &pages->pinned_ranges, start,
				    last) {
		if (!aspan.is_hole)
			continue;
		interval_tree_for_each_span(&dspan, &pages->held_areas,
					    aspan.start_hole, aspan.last_hole) {
			if (!dspan.is_hole)
				continue;
			*first = dspan.start_hole;
			*end = dspan.last_hole;
			return true;
		}
	}
	return false;
}

/*
 * Pin the first run of indexes from @start to @last that nothing pins yet,
 * as far as @run has room, and charge it.  Takes pages->mutex only to look;
 * the pinning runs with no lock held.  An empty run means everything in
 * the range is pinned already.
 */
static int pin_run_fill(struct iopt_mem *pages, struct pin_run *run,
			unsigned long start, unsigned long last)
{
	unsigned long first, end, want;
	bool found;
	long got;
	int rc;

	mutex_lock(&pages->mutex);
	found = pages_find_unpinned(pages, start, last, &first, &end);
	mutex_unlock(&pages->mutex);
	if (!found)
		return 0;

	want = min(end - first + 1, run->cap);
	rc = pages_charge(pages, want);
	if (rc)
		return rc;
	got = pages_pin_user(pages, first, want, run->upages);
	if (got <= 0) {
		pages_uncharge(pages, want);
		return got ? got : -EFAULT;
	}
	if (got < want)
		pages_uncharge(pages, want - got);
	run->first = first;
	run->n = got;
	run->taken = 0;
	return 0;
}

/*
 * Walks of the store hold its lock for at most this many slots at a time,
 * then let others run (pages->mutex stays held: nobody else writes).
 */
#define STORE_WALK_CHUNK 256

/*
 * Store PFNs into the slots of consecutive indexes, making the slots that
 * do not exist yet (with the store's lock dropped while allocating).  After
 * a failure to allocate, the state holds the error and the first index
 * without a slot, and the rest is skipped.
 */
struct store_pfns {
	struct xa_state xas;
	unsigned long count;
};

static void store_pfns_cb(unsigned long pfn, unsigned long n, void *arg)
{
	struct store_pfns *sp = arg;
	struct xa_state *xas = &sp->xas;

	while (n && !xas_error(xas)) {
		xas_store(xas, xa_mk_value(pfn));
		if (xas_error(xas)) {
			xas_unlock(xas);
			/* Keeps the error if no memory is to be had. */
			xas_nomem(xas, GFP_KERNEL_ACCOUNT);
			xas_lock(xas);
			continue;
		}
		pfn++;
		n--;
		if (++sp->count % STORE_WALK_CHUNK) {
			xas_next(xas);
			continue;
		}
		xas_unlock(xas);
		cond_resched();
		xas_lock(xas);
		/* A restarted state walks down to the index it is set to. */
		xas_set(xas, xas->xa_index + 1);
	}
}

/*
 * Store the next @n PFNs of @cur into the slots from @index on.  Return: 0,
 * or -ENOMEM with *@failed_at the first index left without its PFN (the
 * cursor is then past all @n PFNs anyway).
 */
static int pages_store_pfns(struct iopt_mem *pages, struct batch_cursor *cur,
			    unsigned long index, unsigned long n,
			    unsigned long *failed_at)
{
	struct store_pfns sp = {
		.xas = __XA_STATE(&pages->pfn_store, index, 0, 0),
	};
	int rc;

	xas_lock(&sp.xas);
	batch_take(cur, n, store_pfns_cb, &sp);
	xas_unlock(&sp.xas);
	rc = xas_error(&sp.xas);
	if (rc)
		*failed_at = sp.xas.xa_index;
	else
		xas_nomem(&sp.xas, 0);	/* frees a node left unused */
	return rc;
}

/*
 * Settling a batch whose indexes lost a user (a domain area or a pinned
 * range that is already out of its tree), or never got one: the PFN of an
 * index still in a pinned range but no domain goes to its slot, that of an
 * unused index is unpinned, the rest is left alone.
 */
static void settle_cb(struct iopt_mem *pages, unsigned long start,
		      unsigned long last, unsigned int cover, void *arg)
{
	struct batch_cursor *cur = arg;
	unsigned long n = last - start + 1;
	unsigned long failed_at;

	/* These slots exist, so storing cannot fail. */
	if (cover == COVER_ACCESS)
		WARN_ON(pages_store_pfns(pages, cur, start, n, &failed_at));
	else if (!cover)
		pages_unpin_next(pages, cur, n);
	else
		batch_take(cur, n, NULL, NULL);
}

/* Settle the PFNs of a batch starting at index @start, from index @from on. */
static void pages_settle_from(struct iopt_mem *pages, struct pfn_batch *batch,
			      unsigned long start, unsigned long from)
{
	struct batch_cursor cur = { .batch = batch };

	if (from - start >= batch->total)
		return;
	batch_take(&cur, from - start, NULL, NULL);
	pages_walk_coverage(pages, from, start + batch->total - 1, settle_cb,
			    &cur);
}

static void pages_settle_batch(struct iopt_mem *pages,
			       struct pfn_batch *batch, unsigned long start)
{
	pages_settle_from(pages, batch, start, start);
}

/*
 * The reader produces the PFNs of a range of indexes, batch by batch, from
 * wherever each page is: a domain area, the store, or the caller's pin run.
 * It never pins; it stops (@stalled) at an index none of them has.
 */
struct pfn_reader {
	struct iopt_mem *pages;
	struct pin_run *run;		/* may be NULL */
	struct pfn_batch batch;
	unsigned long batch_start;	/* index of the batch's first PFN */
	unsigned long next;		/* next index to read */
	unsigned long last;		/* last index to read */
	bool stalled;
};

static void reader_init(struct pfn_reader *r, struct iopt_mem *pages,
			unsigned long first, unsigned long last,
			struct pin_run *run)
{
	lockdep_assert_held(&pages->mutex);

	batch_init(&r->batch, last - first + 1);
	r->pages = pages;
	r->run = run;
	r->batch_start = first;
	r->next = first;
	r->last = last;
	r->stalled = false;
}

static void reader_destroy(struct pfn_reader *r)
{
	batch_destroy(&r->batch);
}

static bool reader_done(struct pfn_reader *r)
{
	return r->stalled || r->next > r->last || r->next < r->batch_start;
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

/*
 * Take pages of the pin run for [index, last]; they are pinned for the
 * indexes' new user from now on.  Stalls the reader if the run does not
 * have @index.
 */
static unsigned long reader_from_run(struct pfn_reader *r,
				     unsigned long index, unsigned long last)
{
	struct pin_run *run = r->run;
	struct page **upages;
	unsigned long i, n;

	if (!run || !pin_run_peek(run, index)) {
		r->stalled = true;
		return 0;
	}
	last = min(store_gap_last(r->pages, index, last),
		   run->first + run->n - 1);
	upages = run->upages + (index - run->first);
	n = last - index + 1;
	/* A large folio comes back as consecutive pages: one step each. */
	for (i = 0; i != n && upages[i];) {
		struct page *page = upages[i];
		unsigned long k = 1;

		while (i + k != n && upages[i + k] == nth_page(page, k))
			k++;
		if (!batch_add_pfns(&r->batch, page_to_pfn(page), k))
			break;
		memset(upages + i, 0, k * sizeof(*upages));
		i += k;
	}
	run->taken += i;
	r->pages->npinned += i;
	return i;
}

/* Read the next batch; on return it may be empty only if the reader is done. */
static void reader_next(struct pfn_reader *r)
{
	struct iopt_mem *pages = r->pages;

	batch_clear(&r->batch);
	r->batch_start = r->next;
	while (!reader_done(r)) {
		unsigned long index = r->next, last = r->last;
		struct interval_tree_node *node;
		unsigned long n;

		node = interval_tree_iter_first(&pages->held_areas, index,
						last);
		if (node && node->start <= index) {
			struct iopt_area *area = container_of(node,
							      struct iopt_area,
							      held_node);

			n = batch_from_domain(&r->batch, area,
					      area->pfn_domain, index,
					      min(last, node->last));
		} else {
			if (node)
				last = node->start - 1;
			if (xa_is_value(xa_load(&pages->pfn_store, index)))
				n = reader_from_store(r, index, last);
			else
				n = reader_from_run(r, index, last);
		}
		if (!n)
			break;
		r->next += n;
	}
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

/* Unmap the IOVA of page indexes [first, last] of @area from @domain. */
static void area_unmap_indexes(struct iopt_area *area,
			       struct iommu_domain *domain,
			       unsigned long first, unsigned long last)
{
	area_unmap_range(domain, area_index_first_iova(area, first),
			 area_index_last_iova(area, last));
}

/*
 * Map a batch holding the PFNs of @index on into @domain.  Each run is one
 * iommu_map() call unless large pages are disabled, in which case every page
 * is mapped by itself.  On failure nothing of the batch stays mapped.
 */
static int batch_map(struct pfn_batch *batch, struct iopt_area *area,
		     struct iommu_domain *domain, unsigned long index)
{
	bool small_pages = area->small_pages;
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
		area_unmap_indexes(area, domain, index, i - 1);
	return rc;
}

/*
 * Take [first, last] of @area out of @domain, which holds the PFNs of these
 * pages and is leaving: read the PFNs back, unmap, then give each page to
 * the store or unpin it.  Done in chunks that end where the PFNs are not
 * contiguous, so no large IOPTE is ever split.  Needs no memory it might not
 * get, and cannot fail.
 */
static void area_unfill_storage(struct iopt_area *area,
				struct iommu_domain *domain,
				unsigned long first, unsigned long last)
{
	struct iopt_mem *pages = area->pages;
	struct pfn_batch batch;
	unsigned long pos = first;

	batch_init(&batch, last - first + 1);
	while (pos <= last && pos >= first) {
		unsigned long start = pos;

		batch_clear(&batch);
		pos += batch_from_domain(&batch, area, domain, pos, last);
		area_unmap_indexes(area, domain, start, pos - 1);
		pages_settle_batch(pages, &batch, start);
	}
	batch_destroy(&batch);
}

/* Indexes an area's storage domain now holds: their stored PFNs step aside. */
static void to_reservations_cb(struct iopt_mem *pages, unsigned long start,
			       unsigned long last, unsigned int cover,
			       void *arg)
{
	unsigned long next = start;

	if (cover != COVER_ACCESS)
		return;
	while (next <= last && next >= start) {
		unsigned long end = min(last, next + STORE_WALK_CHUNK - 1);
		XA_STATE(xas, &pages->pfn_store, next);
		void *entry;

		/* Every slot exists: replacing an entry never allocates. */
		xas_lock(&xas);
		xas_for_each(&xas, entry, end)
			xas_store(&xas, XA_ZERO_ENTRY);
		xas_unlock(&xas);
		next = end + 1;
		cond_resched();
	}
}

/*
 * @storage now maps the area's indexes up to @last as well: make it the
 * area's storage domain (if it is not yet) and extend the held range.
 */
static void area_hold_upto(struct iopt_area *area,
			   struct iommu_domain *storage, unsigned long last)
{
	struct iopt_mem *pages = area->pages;
	unsigned long from = area_first_index(area);

	if (area->pfn_domain) {
		from = area->held_node.last + 1;
		interval_tree_remove(&area->held_node, &pages->held_areas);
	}
	pages_walk_coverage(pages, from, last, to_reservations_cb, NULL);
	area->pfn_domain = storage;
	area->held_node.start = area_first_index(area);
	area->held_node.last = last;
	interval_tree_insert(&area->held_node, &pages->held_areas);
}

/* Map a batch into every domain of the table, @storage first. */
static int batch_map_all(struct pfn_batch *batch, struct iopt_area *area,
			 struct io_pagetable *iopt,
			 struct iommu_domain *storage, unsigned long index)
{
	unsigned long last_index = index + batch->total - 1;
	struct iommu_domain *domain, *undo;
	struct iopt_domain_iter it, uit;
	int rc;

	rc = batch_map(batch, area, storage, index);
	if (rc)
		return rc;
	for (domain = iopt_domain_first(iopt, &it); domain;
	     domain = iopt_domain_next(iopt, &it)) {
		if (domain == storage)
			continue;
		rc = batch_map(batch, area, domain, index);
		if (rc)
			goto out_undo;
	}
	return 0;

out_undo:
	for (undo = iopt_domain_first(iopt, &uit); undo;
	     undo = iopt_domain_next(iopt, &uit)) {
		if (undo == domain)
			break;
		if (undo != storage)
			area_unmap_indexes(area, undo, index, last_index);
	}
	area_unmap_indexes(area, storage, index, last_index);
	return rc;
}

/*
 * One step of filling a new area: map its next pages into every domain of
 * the table, as far as they can be found without pinning (the pin run has
 * what nothing else pinned).  The caller holds domains_sem for read and is
 * the only one moving the area's fill_next.
 */
static int area_fill_step(struct iopt_area *area, struct io_pagetable *iopt,
			  struct pin_run *run)
{
	struct iopt_mem *pages = area->pages;
	struct iommu_domain *storage = area->pfn_domain;
	struct iopt_domain_iter it;
	struct pfn_reader r;
	int rc = 0;

	lockdep_assert_held(&iopt->domains_sem);

	if (!storage)
		storage = iopt_domain_first(iopt, &it);
	if (!storage) {
		/* No domain to fill: the area waits in user memory. */
		area->fill_next = area_last_index(area) + 1;
		return 0;
	}

	mutex_lock(&pages->mutex);
	reader_init(&r, pages, area->fill_next, area_last_index(area), run);
	while (!reader_done(&r)) {
		reader_next(&r);
		if (!r.batch.total)
			break;
		rc = batch_map_all(&r.batch, area, iopt, storage,
				   r.batch_start);
		if (rc) {
			pages_settle_batch(pages, &r.batch, r.batch_start);
			break;
		}
		area_hold_upto(area, storage,
			       r.batch_start + r.batch.total - 1);
		area->fill_next = r.batch_start + r.batch.total;
	}
	reader_destroy(&r);
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_fill() - map a new area into every domain of its table
 * @area: the area, claimed in the table but not populated
 * @iopt: its table
 *
 * Pins what no domain or pinned range holds yet, step by step, with no lock
 * held while pinning; each step maps what it pinned under domains_sem, so
 * domains may join and leave in between.  A table without domains pins
 * nothing.
 *
 * Return: 0 with the whole area in every domain, or an errno with what was
 * filled still mapped (the caller takes it out with iopt_area_unmap_all()).
 */
int iopt_area_fill(struct iopt_area *area, struct io_pagetable *iopt)
{
	struct iopt_mem *pages = area->pages;
	struct pin_run run;
	int rc = 0;

	pin_run_init(&run, area_last_index(area) - area->fill_next + 1);
	while (area->fill_next <= area_last_index(area)) {
		/* A hint: the step checks again under the lock. */
		if (!data_race(xa_empty(&iopt->domains))) {
			rc = pin_run_fill(pages, &run, area->fill_next,
					  area_last_index(area));
			if (rc)
				break;
		}
		down_read(&iopt->domains_sem);
		rc = area_fill_step(area, iopt, &run);
		up_read(&iopt->domains_sem);
		pin_run_release(pages, &run);
		if (rc)
			break;
	}
	pin_run_destroy(pages, &run);
	return rc;
}

/**
 * iopt_area_map_domain() - map the filled part of an area into a new domain
 * @area: the area
 * @domain: the domain joining the table; the caller holds domains_sem for
 *	write
 *
 * The pages come from the area's storage domain if it has one, else from
 * other areas' domains or the store: nothing is pinned here.  The first
 * domain an area is filled into becomes its storage domain.
 *
 * Return: 0; -EAGAIN if a page is not pinned by anyone (the caller pins it
 * and tries again); other errnos from the IOMMU driver.  Nothing stays
 * mapped on failure.
 */
int iopt_area_map_domain(struct iopt_area *area, struct iommu_domain *domain)
{
	struct iopt_mem *pages = area->pages;
	unsigned long first = area_first_index(area);
	struct pfn_reader r;
	int rc = 0;

	if (area->fill_next == first)
		return 0;
	mutex_lock(&pages->mutex);
	reader_init(&r, pages, first, area->fill_next - 1, NULL);
	while (!reader_done(&r)) {
		reader_next(&r);
		if (r.stalled)
			rc = -EAGAIN;
		if (!rc && r.batch.total)
			rc = batch_map(&r.batch, area, domain, r.batch_start);
		if (rc)
			break;
	}
	/* Nothing was pinned for this, so undoing is only unmapping. */
	if (rc && r.batch_start != first)
		area_unmap_indexes(area, domain, first, r.batch_start - 1);
	else if (!rc && !area->pfn_domain)
		area_hold_upto(area, domain, area->fill_next - 1);
	reader_destroy(&r);
	mutex_unlock(&pages->mutex);
	return rc;
}

/**
 * iopt_area_unmap_domain() - take an area out of a domain
 * @area: the area
 * @domain: the domain, which maps the filled part of the area
 * @successor: another domain that maps it too and stays, or NULL
 *
 * If @domain is the area's storage domain, @successor takes over that role;
 * without one, every page the area alone kept pinned is unpinned (or moves
 * to the store if a pinned range still uses it).  Cannot fail.
 */
void iopt_area_unmap_domain(struct iopt_area *area,
			    struct iommu_domain *domain,
			    struct iommu_domain *successor)
{
	struct iopt_mem *pages = area->pages;
	unsigned long first = area_first_index(area);

	if (area->fill_next == first)
		return;
	mutex_lock(&pages->mutex);
	if (domain != area->pfn_domain || successor) {
		if (domain == area->pfn_domain)
			area->pfn_domain = successor;
		area_unmap_indexes(area, domain, first, area->fill_next - 1);
	} else {
		interval_tree_remove(&area->held_node, &pages->held_areas);
		area->pfn_domain = NULL;
		area_unfill_storage(area, domain, first, area->fill_next - 1);
	}
	mutex_unlock(&pages->mutex);
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
	struct iopt_domain_iter it;
	struct iommu_domain *domain;

	lockdep_assert_held(&iopt->domains_sem);

	for (domain = iopt_domain_first(iopt, &it); domain;
	     domain = iopt_domain_next(iopt, &it)) {
		if (domain != area->pfn_domain)
			iopt_area_unmap_domain(area, domain, NULL);
	}
	if (area->pfn_domain)
		iopt_area_unmap_domain(area, area->pfn_domain, NULL);
}

/*
 * Release the slots (and for pages no domain holds, the pins) of a range:
 * the store's lock is held to empty up to a chunk of slots or a batch (@arg)
 * of PFNs, which are then unpinned run by run.
 */
static void release_pin_cb(struct iopt_mem *pages, unsigned long start,
			   unsigned long last, unsigned int cover, void *arg)
{
	bool unpin = !(cover & COVER_DOMAIN);
	struct pfn_batch *batch = arg;
	unsigned long next = start;

	if (cover & COVER_ACCESS)
		return;
	while (next <= last && next >= start) {
		unsigned long end = min(last, next + STORE_WALK_CHUNK - 1);
		XA_STATE(xas, &pages->pfn_store, next);
		struct batch_cursor cur = { .batch = batch };
		void *entry;

		batch_clear(batch);
		xas_lock(&xas);
		xas_for_each(&xas, entry, end) {
			if (unpin && xa_is_value(entry) &&
			    !batch_add_pfn(batch, xa_to_value(entry))) {
				end = xas.xa_index - 1;
				break;
			}
			xas_store(&xas, NULL);
		}
		xas_unlock(&xas);
		pages_unpin_next(pages, &cur, batch->total);
		next = end + 1;
		cond_resched();
	}
}

/* After a pinned range went out of the tree (or never got in). */
static void pages_release_range(struct iopt_mem *pages, unsigned long start,
				unsigned long last)
{
	struct pfn_batch batch;

	batch_init(&batch, last - start + 1);
	pages_walk_coverage(pages, start, last, release_pin_cb, &batch);
	batch_destroy(&batch);
}

/*
 * Make sure every index of [start, last] has a slot in the store.  Return:
 * 0, or -ENOMEM with *@failed_at the first index left without one (those
 * before it have theirs).
 */
static int pages_reserve_slots(struct iopt_mem *pages, unsigned long start,
			       unsigned long last, unsigned long *failed_at)
{
	unsigned long next = start;
	int rc = 0;

	while (next <= last && next >= start && !rc) {
		unsigned long end = min(last, next + STORE_WALK_CHUNK - 1);
		XA_STATE(xas, &pages->pfn_store, next);
		void *entry;

		do {
			xas_lock(&xas);
			for (entry = xas_load(&xas);; entry = xas_next(&xas)) {
				if (!entry) {
					xas_store(&xas, XA_ZERO_ENTRY);
					if (xas_error(&xas))
						break;
				}
				if (xas.xa_index == end)
					break;
			}
			xas_unlock(&xas);
		} while (xas_nomem(&xas, GFP_KERNEL_ACCOUNT));
		rc = xas_error(&xas);
		next = rc ? xas.xa_index : end + 1;
		cond_resched();
	}
	*failed_at = next;
	return rc;
}

/* The complete pinned range [start, last], or NULL. */
static struct iopt_mem_pin *pages_find_pin(struct iopt_mem *pages,
					   unsigned long start,
					   unsigned long last)
{
	struct interval_tree_node *node;

	for (node = interval_tree_iter_first(&pages->pinned_ranges, start,
					     last);
	     node; node = interval_tree_iter_next(node, start, last)) {
		struct iopt_mem_pin *pin = container_of(node,
							struct iopt_mem_pin,
							node);

		if (node->start == start && node->last == last &&
		    !pin->building)
			return pin;
	}
	return NULL;
}

static void out_pages_cb(unsigned long pfn, unsigned long n, void *arg)
{
	struct page ***out = arg;

	for (; n; n--, pfn++)
		*(*out)++ = pfn_to_page(pfn);
}

/* Read the pages of [start, last] (all pinned already) into @out_pages. */
static int pages_read_pinned(struct iopt_mem *pages, unsigned long start,
			     unsigned long last, struct page **out_pages)
{
	struct pfn_reader r;

	reader_init(&r, pages, start, last, NULL);
	while (!reader_done(&r)) {
		struct batch_cursor cur = { .batch = &r.batch };
		struct page **out = out_pages + (r.next - start);

		reader_next(&r);
		batch_take(&cur, r.batch.total, out_pages_cb, &out);
	}
	reader_destroy(&r);
	return WARN_ON(r.stalled) ? -EFAULT : 0;
}

/*
 * Give a growing pinned range its slots: the PFNs nothing else holds go
 * into new slots, indexes a domain holds get empty ones, those of other
 * pinned ranges have theirs.  Stops at the first index it cannot give a
 * slot (@rc, @failed_at).
 */
struct pin_fill {
	struct batch_cursor cur;
	struct page **out_pages;	/* may be NULL */
	unsigned long first;		/* index of out_pages[0] */
	unsigned long failed_at;
	int rc;
};

static void pin_fill_cb(struct iopt_mem *pages, unsigned long start,
			unsigned long last, unsigned int cover, void *arg)
{
	struct pin_fill *pf = arg;
	unsigned long n = last - start + 1;
	struct batch_cursor save = pf->cur;

	if (pf->rc)
		return;
	if (!cover)
		pf->rc = pages_store_pfns(pages, &pf->cur, start, n,
					  &pf->failed_at);
	else if (cover == COVER_DOMAIN)
		pf->rc = pages_reserve_slots(pages, start, last,
					     &pf->failed_at);
	if (cover)
		batch_take(&pf->cur, n, NULL, NULL);
	if (pf->out_pages && !pf->rc) {
		struct page **out = pf->out_pages + (start - pf->first);

		pf->cur = save;
		batch_take(&pf->cur, n, out_pages_cb, &out);
	}
}

/* Make @pin cover [node.start, last] in the tree. */
static void pin_extend(struct iopt_mem *pages, struct iopt_mem_pin *pin,
		       unsigned long last, bool in_tree)
{
	if (in_tree)
		interval_tree_remove(&pin->node, &pages->pinned_ranges);
	pin->node.last = last;
	interval_tree_insert(&pin->node, &pages->pinned_ranges);
}

/*
 * Grow a pinned range under construction from *@next towards @last, with
 * the PFNs the reader finds (the pin run has what nothing else pinned).
 * The range covers [pin->node.start, *@next - 1] afterwards.
 */
static int pin_grow(struct iopt_mem *pages, struct iopt_mem_pin *pin,
		    unsigned long *next, unsigned long last,
		    struct pin_run *run, struct page **out_pages)
{
	unsigned long start = pin->node.start;
	struct pfn_reader r;
	int rc = 0;

	lockdep_assert_held(&pages->mutex);

	reader_init(&r, pages, *next, last, run);
	while (!reader_done(&r)) {
		struct pin_fill pf = {
			.cur = { .batch = &r.batch },
			.out_pages = out_pages,
			.first = start,
		};
		unsigned long batch_last;

		reader_next(&r);
		if (!r.batch.total)
			break;
		batch_last = r.batch_start + r.batch.total - 1;
		pages_walk_coverage(pages, r.batch_start, batch_last,
				    pin_fill_cb, &pf);
		rc = pf.rc;
		if (rc) {
			/* Slots made so far go (with their pages), then the rest. */
			if (pf.failed_at != r.batch_start)
				pages_release_range(pages, r.batch_start,
						    pf.failed_at - 1);
			pages_settle_from(pages, &r.batch, r.batch_start,
					  pf.failed_at);
			break;
		}
		pin_extend(pages, pin, batch_last, *next != start);
		*next = batch_last + 1;
	}
	reader_destroy(&r);
	return rc;
}

/**
 * iopt_mem_hold() - pin pages of the memory for an in-kernel user
 * @pages: the memory; the caller holds a reference
 * @first: first page index
 * @last: last page index
 * @out_pages: receives a struct page per index, or NULL
 *
 * The pages stay pinned (in the store unless a domain holds them) until
 * iopt_mem_unhold() with the same range.  What is not pinned yet is pinned
 * with no lock held: the caller must hold none of iommufd's locks.
 *
 * Return: 0; -ENOMEM or -EFAULT with nothing held.
 */
int iopt_mem_hold(struct iopt_mem *pages, unsigned long first,
		  unsigned long last, struct page **out_pages)
{
	unsigned long next = first;
	struct iopt_mem_pin *pin;
	struct pin_run run;
	int rc = 0;

	mutex_lock(&pages->mutex);
	pin = pages_find_pin(pages, first, last);
	if (pin && pin->users != UINT_MAX) {
		if (out_pages)
			rc = pages_read_pinned(pages, first, last, out_pages);
		if (!rc)
			pin->users++;
		mutex_unlock(&pages->mutex);
		return rc;
	}
	mutex_unlock(&pages->mutex);

	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin)
		return -ENOMEM;
	/* Not found by others until complete; covers nothing yet. */
	pin->building = true;
	pin->node.start = first;
	pin_run_init(&run, last - first + 1);
	while (next <= last && next >= first) {
		rc = pin_run_fill(pages, &run, next, last);
		if (rc)
			break;
		mutex_lock(&pages->mutex);
		rc = pin_grow(pages, pin, &next, last, &run, out_pages);
		mutex_unlock(&pages->mutex);
		pin_run_release(pages, &run);
		if (rc)
			break;
	}
	pin_run_destroy(pages, &run);

	mutex_lock(&pages->mutex);
	if (!rc) {
		pin->users = 1;
		pin->building = false;
		pin = NULL;
	} else if (next != first) {
		interval_tree_remove(&pin->node, &pages->pinned_ranges);
		pages_release_range(pages, first, next - 1);
	}
	mutex_unlock(&pages->mutex);
	kfree(pin);
	return rc;
}

/**
 * iopt_mem_unhold() - undo one iopt_mem_hold()
 * @pages: the memory
 * @first: the first index given to iopt_mem_hold()
 * @last: the last index given to iopt_mem_hold()
 *
 * Pages no domain and no other pinned range holds are unpinned.
 */
void iopt_mem_unhold(struct iopt_mem *pages, unsigned long first,
		     unsigned long last)
{
	struct iopt_mem_pin *pin;

	mutex_lock(&pages->mutex);
	pin = pages_find_pin(pages, first, last);
	if (!WARN_ON(!pin) && !--pin->users) {
		interval_tree_remove(&pin->node, &pages->pinned_ranges);
		kfree(pin);
		pages_release_range(pages, first, last);
	}
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_mem_pinned() - is every page of a range pinned already
 * @pages: the memory
 * @first: first page index
 * @last: last page index
 *
 * Return: true if a domain or a pinned range holds each page.
 */
bool iopt_mem_pinned(struct iopt_mem *pages, unsigned long first,
		     unsigned long last)
{
	unsigned long gap_first, gap_last;
	bool found;

	mutex_lock(&pages->mutex);
	found = pages_find_unpinned(pages, first, last, &gap_first, &gap_last);
	mutex_unlock(&pages->mutex);
	return !found;
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
	struct page *inline_pages[RUN_INLINE_PAGES], **upages;
	unsigned long chunk;
	int rc = 0;

	upages = work_buf_alloc(DIV_ROUND_UP(start_byte % PAGE_SIZE + length,
					     PAGE_SIZE),
				sizeof(*upages), inline_pages,
				ARRAY_SIZE(inline_pages), &chunk);
	while (length && !rc) {
		unsigned long index = start_byte / PAGE_SIZE;
		unsigned long offset = start_byte % PAGE_SIZE;
		unsigned long n = min(chunk, DIV_ROUND_UP(offset + length,
							  PAGE_SIZE));
		unsigned long i;

		rc = iopt_mem_hold(pages, index, index + n - 1, upages);
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
		iopt_mem_unhold(pages, index, index + n - 1);
	}
	work_buf_free(upages, inline_pages);
	return rc;
}

/**
 * iopt_mem_rw() - read or write user memory for an access
 * @pages: the memory; the caller holds a reference and no lock of iommufd
 * @start_byte: offset from the start of page index 0
 * @data: kernel buffer
 * @length: bytes to copy
 * @flags: IOMMUFD_ACCESS_RW_* flags
 *
 * Goes through the owner's page tables when the caller can (it runs in the
 * owner's mm, or is a kthread allowed to borrow it), otherwise through the
 * pinned pages.  Either way it may fault on user memory.
 *
 * Return: 0, -EPERM for a write to read-only memory, -ENOMEM (pinning,
 * RLIMIT_MEMLOCK), or -EFAULT.
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

/* Does the store hold any entry (a PFN or a reservation)? */
static bool pages_store_used(struct iopt_mem *pages)
{
	XA_STATE(xas, &pages->pfn_store, 0);
	void *entry;

	rcu_read_lock();
	entry = xas_find(&xas, ULONG_MAX);
	rcu_read_unlock();
	return entry;
}

void iopt_mem_release(struct kref *kref)
{
	struct iopt_mem *pages = container_of(kref, struct iopt_mem, kref);

	WARN_ON(!RB_EMPTY_ROOT(&pages->pinned_ranges.rb_root));
	WARN_ON(!RB_EMPTY_ROOT(&pages->held_areas.rb_root));
	WARN_ON(pages->npinned);
	WARN_ON(pages_store_used(pages));
	/* A store that ran out of memory half way may have left empty nodes. */
	xa_destroy(&pages->pfn_store);
	put_task_struct(pages->owner_task);
	mmdrop(pages->owner_mm);
	free_uid(pages->owner_user);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}
