// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * In-kernel accesses: a driver that reaches user memory by itself (an
 * emulated device such as an mdev vGPU) creates an access, attaches it to an
 * IOAS and pins pages or copies data by IOVA.
 *
 * Pins.  Every pin an access holds is recorded in its @pins tree, by IOVA
 * range, with a count of identical pins.  When userspace unmaps IOVA the
 * access has pinned, the access's unmap op is called for each run of the
 * access's own pinned ranges that meets the unmapped range (again if the
 * unmap has to retry), never for IOVA it did not pin: drivers walk what
 * they are given page by page.  The driver must unpin inside its op.
 * Moving (replace) or detaching an access tells the driver about exactly
 * its remaining pins the same way; a driver that still holds pins after
 * that is buggy: the pins are dropped with a warning.  An access that pins
 * makes its IOAS map whole pages only (see iopt_register_access()), and a
 * pin starts a page.
 *
 * User memory.  Pinning may fault on user memory (userfaultfd, FUSE), and
 * iommufd_access_rw() copies to and from it.  Neither happens while a lock
 * of the IOAS or the access is held, so a user who stalls a fault cannot
 * stall a driver attaching, detaching or destroying something.  A pin is
 * therefore made in three steps: find the areas under the IOVA range (IOAS
 * locks held), pin their memory (no locks; the memory is referenced), then
 * commit the pin to the areas if the range still maps the pages pinned
 * (IOAS locks held again).  An area unmapped in between fails the pin with
 * -ENOENT and the pages are given back.
 *
 * Locks: see iommufd_private.h.  @ioas_mutex protects which IOAS the
 * access is on and @pins; it is never held across a user-memory access or
 * a call of the driver's unmap op.
 */
#include <linux/iommu.h>
#include <linux/slab.h>

#include "iommufd_private.h"

/* Rounds of unmap notifications an access gets before its pins are taken. */
#define ACCESS_LEAVE_TRIES 2

/* Runs of pinned ranges one notification step collects. */
#define ACCESS_NOTIFY_SPANS 8

/**
 * struct access_pin - one IOVA range an access pinned
 * @node: the range, in iommufd_access::pins
 * @users: identical pins outstanding
 */
struct access_pin {
	struct interval_tree_node node;
	unsigned int users;
};

static struct access_pin *access_find_pin(struct iommufd_access *access,
					  unsigned long first,
					  unsigned long last)
{
	struct interval_tree_node *node;

	lockdep_assert_held(&access->ioas_mutex);

	for (node = interval_tree_iter_first(&access->pins, first, last); node;
	     node = interval_tree_iter_next(node, first, last)) {
		if (node->start == first && node->last == last)
			return container_of(node, struct access_pin, node);
	}
	return NULL;
}

/* Record a pin; @spare is used (and set to NULL) for a new range. */
static void access_record_pin(struct iommufd_access *access,
			      unsigned long first, unsigned long last,
			      struct access_pin **spare)
{
	struct access_pin *pin = access_find_pin(access, first, last);

	if (pin) {
		pin->users++;
		return;
	}
	pin = *spare;
	*spare = NULL;
	pin->node.start = first;
	pin->node.last = last;
	pin->users = 1;
	interval_tree_insert(&pin->node, &access->pins);
}

static bool access_has_pins(struct iommufd_access *access)
{
	bool any;

	mutex_lock(&access->ioas_mutex);
	any = !RB_EMPTY_ROOT(&access->pins.rb_root);
	mutex_unlock(&access->ioas_mutex);
	return any;
}

/* Forget one pin; false if the access never made it. */
static bool access_forget_pin(struct iommufd_access *access,
			      unsigned long first, unsigned long last)
{
	struct access_pin *pin = access_find_pin(access, first, last);

	if (!pin)
		return false;
	if (--pin->users)
		return true;
	interval_tree_remove(&pin->node, &access->pins);
	kfree(pin);
	return true;
}

/*
 * Which IOAS an access works on.  Pins and reads go to @ioas, which is
 * NULL while the access is detached or moving; unpins go to @ioas_unpin,
 * where the pins live.  On success the IOAS is held for the caller (put
 * with access_put_ioas()); only a pin's commit needs ioas_mutex again.
 */
static struct iommufd_ioas *access_get_ioas(struct iommufd_access *access)
{
	struct iommufd_ioas *ioas;

	mutex_lock(&access->ioas_mutex);
	ioas = access->ioas;
	/* The access's ref keeps the IOAS from dying while it is attached. */
	if (ioas && WARN_ON(!iommufd_obj_hold(&ioas->obj)))
		ioas = NULL;
	mutex_unlock(&access->ioas_mutex);
	return ioas;
}

static void access_put_ioas(struct iommufd_access *access,
			    struct iommufd_ioas *ioas)
{
	iommufd_obj_put(access->ictx, &ioas->obj);
}

/**
 * struct access_piece - the part of one area inside an IOVA range
 * @area: the area; not used once iova_rwsem was dropped (it may be gone)
 * @pages: the area's memory, referenced while the piece is in use
 * @first: first IOVA of the piece
 * @last: last IOVA of the piece
 * @first_index: page index in @pages of @first
 * @last_index: page index in @pages of @last
 * @byte: offset in @pages of @first, from the start of page index 0
 * @held: a pin of the piece's pages is outstanding
 */
struct access_piece {
	struct iopt_area *area;
	struct iopt_mem *pages;
	unsigned long first;
	unsigned long last;
	unsigned long first_index;
	unsigned long last_index;
	unsigned long byte;
	bool held;
};

/* Checks a piece must pass: 0, or the errno that refuses the range. */
typedef int access_check_fn(struct iopt_area *area, unsigned long first,
			    unsigned long last, unsigned long range_last,
			    unsigned int flags);

/**
 * struct access_walk - the pieces an IOVA range of an access falls into
 * @pieces: one per area, ascending; @inline_pieces or allocated
 * @n: pieces in use
 * @check: what every piece must pass
 * @flags: IOMMUFD_ACCESS_RW_* flags of the call, for @check
 * @last: last IOVA of the range
 * @copying: the areas count the walk among their copies in flight
 *	(iopt_area::copies), so an unmap waits for it
 * @inline_pieces: room for the common case of few areas
 */
struct access_walk {
	struct access_piece *pieces;
	unsigned int n;
	access_check_fn *check;
	unsigned int flags;
	unsigned long last;
	bool copying;
	struct access_piece inline_pieces[2];
};

static int check_writable(struct iopt_area *area, unsigned int flags)
{
	/* What the mapping allows, not only what the memory allows. */
	if ((flags & IOMMUFD_ACCESS_RW_WRITE) &&
	    !(area->iommu_prot & IOMMU_WRITE))
		return -EPERM;
	return 0;
}

static int check_rw_piece(struct iopt_area *area, unsigned long first,
			  unsigned long last, unsigned long range_last,
			  unsigned int flags)
{
	return check_writable(area, flags);
}

static int check_pin_piece(struct iopt_area *area, unsigned long first,
			   unsigned long last, unsigned long range_last,
			   unsigned int flags)
{
	/*
	 * out_pages has a page per page of the range, so the range starts a
	 * page, and a piece followed by another ends with one.  The IOAS of
	 * an attached access maps whole pages (see iopt_register_access());
	 * an IOAS the access has just left, walked by a pin racing the move,
	 * may not.
	 */
	if (area_iova_offset(area, first) ||
	    (last != range_last && (last + 1) % PAGE_SIZE))
		return -EINVAL;
	return check_writable(area, flags);
}

/*
 * Find the areas under [iova, last] and reference their memory; for a copy
 * (@copying) also count it in flight in each area.  Returns -ENOENT at a
 * gap, -EINVAL while an unmap of the range waits for accesses, or what
 * @check says; nothing is referenced on failure.
 */
static int access_walk_init(struct access_walk *w, struct io_pagetable *iopt,
			    unsigned long iova, unsigned long last,
			    access_check_fn *check, unsigned int flags,
			    bool copying)
{
	struct iopt_walk iter;
	struct iopt_area *area;
	unsigned int n = 0, i;
	int rc = 0;

	w->pieces = w->inline_pieces;
	w->n = 0;
	w->check = check;
	w->flags = flags;
	w->last = last;
	w->copying = copying;
	down_read(&iopt->iova_rwsem);
	for (area = iopt_walk_first(&iter, iopt, iova, last); area;
	     area = iopt_walk_next(&iter, iopt)) {
		rc = check(area, iter.cur_iova, iopt_walk_piece_last(&iter),
			   last, flags);
		if (rc)
			goto out_unlock;
		n++;
	}
	if (!iter.complete) {
		rc = -ENOENT;
		goto out_unlock;
	}
	if (iopt_range_blocked(iopt, iova, last)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (n > ARRAY_SIZE(w->inline_pieces)) {
		w->pieces = kmalloc_array(n, sizeof(*w->pieces), GFP_KERNEL);
		if (!w->pieces) {
			w->pieces = w->inline_pieces;
			rc = -ENOMEM;
			goto out_unlock;
		}
	}
	i = 0;
	for (area = iopt_walk_first(&iter, iopt, iova, last); area;
	     area = iopt_walk_next(&iter, iopt), i++) {
		unsigned long first = iter.cur_iova;

		w->pieces[i] = (struct access_piece){
			.area = area,
			.pages = area->pages,
			.first = first,
			.last = iopt_walk_piece_last(&iter),
			.first_index = area_iova_index(area, first),
			.last_index = area_iova_index(area,
						      iopt_walk_piece_last(&iter)),
			.byte = area_iova_index(area, first) * PAGE_SIZE +
				area_iova_offset(area, first),
		};
		iopt_mem_get(area->pages);
		if (copying)
			atomic_inc(&area->copies);
	}
	w->n = n;
out_unlock:
	up_read(&iopt->iova_rwsem);
	return rc;
}

/*
 * A copy is done with its areas: an unmap waiting for it may go on (and
 * free them, so they are not touched after this).
 */
static void access_walk_end_copy(struct access_walk *w,
				 struct io_pagetable *iopt)
{
	unsigned int i;

	for (i = 0; i != w->n; i++) {
		if (atomic_dec_and_test(&w->pieces[i].area->copies))
			wake_up_all(&iopt->copies_done);
	}
	w->copying = false;
}

static void access_walk_destroy(struct access_walk *w)
{
	unsigned int i;

	WARN_ON(w->copying && w->n);
	for (i = 0; i != w->n; i++)
		iopt_mem_put(w->pieces[i].pages);
	if (w->pieces != w->inline_pieces)
		kfree(w->pieces);
}

/*
 * Does the range still map, piece by piece, the very pages the walk found
 * and pinned, with checks passed, open to new pins?  An area found at the
 * same address may be a new one (the old was unmapped and its memory
 * reused), so what counts is the memory and page indexes it maps, not the
 * pointer.  The caller holds iova_rwsem.  Returns 0, -ENOENT if the
 * mapping changed, or -EINVAL while an unmap of the range waits, as
 * access_walk_init() would.
 */
static int access_walk_revalidate(struct access_walk *w,
				  struct io_pagetable *iopt)
{
	unsigned int i;
	int rc;

	lockdep_assert_held(&iopt->iova_rwsem);

	for (i = 0; i != w->n; i++) {
		struct access_piece *p = &w->pieces[i];
		struct iopt_area *area = iopt_area_find(iopt, p->first);

		/*
		 * The pieces must also split the range where they did: unpin
		 * takes one pin off each area and gives back each area's part.
		 */
		if (!area || area->pages != p->pages ||
		    area_last_iova(area) < p->last ||
		    (i && area_first_iova(area) != p->first) ||
		    (i != w->n - 1 && area_last_iova(area) != p->last) ||
		    area_iova_index(area, p->first) != p->first_index ||
		    area_iova_index(area, p->last) != p->last_index)
			return -ENOENT;
		rc = w->check(area, p->first, p->last, w->last, w->flags);
		if (rc)
			return rc;
		p->area = area;
	}
	return iopt_range_blocked(iopt, w->pieces[0].first, w->last) ?
		       -EINVAL : 0;
}

/* Give back the pins the pieces of a walk took on their memory. */
static void access_walk_unhold(struct access_walk *w)
{
	unsigned int i;

	for (i = 0; i != w->n; i++) {
		struct access_piece *p = &w->pieces[i];

		if (!p->held)
			continue;
		iopt_mem_unhold(p->pages, p->first_index, p->last_index);
		p->held = false;
	}
}

/*
 * Undo one pin of [iova, last] in @iopt: the areas' pin counts and the
 * pins of their memory.  The caller holds ioas_mutex; the range must be
 * one the access pinned, so its areas cannot be unmapped meanwhile.
 */
static void access_unpin_range(struct io_pagetable *iopt, unsigned long iova,
			       unsigned long last)
{
	struct iopt_walk iter;
	struct iopt_area *area;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_walk_first(&iter, iopt, iova, last); area;
	     area = iopt_walk_next(&iter, iopt)) {
		unsigned long piece_last = iopt_walk_piece_last(&iter);

		if (WARN_ON(!atomic_read(&area->pins)))
			break;
		atomic_dec(&area->pins);
		iopt_mem_unhold(area->pages, area_iova_index(area,
							     iter.cur_iova),
				area_iova_index(area, piece_last));
	}
	WARN_ON(!iter.complete);
	up_read(&iopt->iova_rwsem);
}

/**
 * iommufd_access_pin_pages() - pin the pages behind an IOVA range
 * @access: an attached access whose ops have needs_pin_pages
 * @iova: first IOVA; must start a page
 * @length: bytes
 * @out_pages: receives a struct page per IOVA page of the range
 * @flags: IOMMUFD_ACCESS_RW_WRITE if the pages will be written
 *
 * The pages stay pinned until iommufd_access_unpin_pages() with the same
 * range, which the driver must call at the latest from its unmap op.  The
 * user memory is pinned with no lock held, so this may sleep on a user's
 * page fault without holding up anyone else.
 *
 * Return: 0; -ENOENT if the range is not fully mapped or the access is not
 * attached; -EPERM if the range is not mapped writable and @flags asks for
 * writing; -EINVAL if @iova does not start a page, or for a range the
 * access cannot pin now; -ENOMEM, -EFAULT.
 * Nothing is pinned on failure.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	struct access_pin *spare;
	struct iommufd_ioas *ioas;
	struct access_walk w;
	unsigned long last;
	struct page **out;
	unsigned int i;
	int rc;

	if (WARN_ON(!access->ops->needs_pin_pages))
		return -EINVAL;
	rc = iopt_range_last(iova, length, &last);
	if (rc)
		return rc;
	spare = kzalloc(sizeof(*spare), GFP_KERNEL_ACCOUNT);
	if (!spare)
		return -ENOMEM;
	ioas = access_get_ioas(access);
	if (!ioas) {
		rc = -ENOENT;
		goto out_free;
	}
	rc = access_walk_init(&w, &ioas->iopt, iova, last, check_pin_piece,
			      flags, false);
	if (rc)
		goto out_put;

	/* Pin with no lock held: this is where user faults happen. */
	out = out_pages;
	for (i = 0; i != w.n; i++) {
		struct access_piece *p = &w.pieces[i];

		rc = iopt_mem_hold(p->pages, p->first_index, p->last_index,
				   out);
		if (rc)
			goto out_unhold;
		p->held = true;
		out += p->last_index - p->first_index + 1;
	}

	/* Commit, if the areas are still there and the access still here. */
	mutex_lock(&access->ioas_mutex);
	rc = -ENOENT;
	if (access->ioas == ioas) {
		down_read(&ioas->iopt.iova_rwsem);
		rc = access_walk_revalidate(&w, &ioas->iopt);
		if (!rc) {
			for (i = 0; i != w.n; i++) {
				atomic_inc(&w.pieces[i].area->pins);
				w.pieces[i].held = false;
			}
			access_record_pin(access, iova, last, &spare);
		}
		up_read(&ioas->iopt.iova_rwsem);
	}
	mutex_unlock(&access->ioas_mutex);

out_unhold:
	access_walk_unhold(&w);
	access_walk_destroy(&w);
out_put:
	access_put_ioas(access, ioas);
out_free:
	kfree(spare);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

/**
 * iommufd_access_unpin_pages() - undo iommufd_access_pin_pages()
 * @access: the access
 * @iova: the IOVA given to iommufd_access_pin_pages()
 * @length: the length given to iommufd_access_pin_pages()
 */
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	unsigned long last;

	if (WARN_ON(iopt_range_last(iova, length, &last)))
		return;
	mutex_lock(&access->ioas_mutex);
	/* A range never pinned (or pinned elsewhere) would corrupt counts. */
	if (!WARN_ON(!access->ioas_unpin) &&
	    !WARN_ON(!access_forget_pin(access, iova, last)))
		access_unpin_range(&access->ioas_unpin->iopt, iova, last);
	mutex_unlock(&access->ioas_mutex);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

/**
 * iommufd_access_rw() - read or write memory by IOVA
 * @access: an attached access
 * @iova: first IOVA
 * @data: kernel buffer
 * @length: bytes
 * @flags: IOMMUFD_ACCESS_RW_* flags
 *
 * Nothing is copied if part of the range is unmapped, or mapped read-only
 * and @flags asks for writing.  The copy runs with no lock held; an unmap
 * of the range waits for it to finish.
 *
 * Return: 0; -ENOENT if the range is not fully mapped or the access is not
 * attached; -EPERM for writing through a read-only mapping; -EINVAL while
 * an unmap of the range waits for accesses; -ENOMEM; -EFAULT if the memory
 * cannot be reached.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t length, unsigned int flags)
{
	struct iommufd_ioas *ioas;
	struct access_walk w;
	unsigned long last;
	unsigned int i;
	int rc = iopt_range_last(iova, length, &last);

	if (rc)
		return rc;
	ioas = access_get_ioas(access);
	if (!ioas)
		return -ENOENT;
	rc = access_walk_init(&w, &ioas->iopt, iova, last, check_rw_piece,
			      flags, true);
	for (i = 0; !rc && i != w.n; i++) {
		struct access_piece *p = &w.pieces[i];
		unsigned long len = p->last - p->first + 1;

		rc = iopt_mem_rw(p->pages, p->byte, data, len, flags);
		data += len;
	}
	access_walk_end_copy(&w, &ioas->iopt);
	access_walk_destroy(&w);
	access_put_ioas(access, ioas);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);

/**
 * struct notify_span - a run of an access's pinned ranges
 * @first: first IOVA
 * @last: last IOVA
 */
struct notify_span {
	unsigned long first;
	unsigned long last;
};

/*
 * Collect up to @max runs of the pins meeting [first, last], merged where
 * they overlap or touch, in ascending order.  A run may reach outside the
 * range: it is the driver's own pins, whole.
 */
static unsigned int access_collect_spans(struct iommufd_access *access,
					 unsigned long first,
					 unsigned long last,
					 struct notify_span *spans,
					 unsigned int max)
{
	struct interval_tree_node *node;
	unsigned int n = 0;

	lockdep_assert_held(&access->ioas_mutex);

	for (node = interval_tree_iter_first(&access->pins, first, last); node;
	     node = interval_tree_iter_next(node, first, last)) {
		struct notify_span *cur = n ? &spans[n - 1] : NULL;

		if (cur && (node->start <= cur->last ||
			    node->start - cur->last == 1)) {
			cur->last = max(cur->last, node->last);
			continue;
		}
		if (n == max)
			break;
		spans[n++] = (struct notify_span){ node->start, node->last };
	}
	return n;
}

/*
 * Tell the driver to unpin what it pinned of @ioas in [first, last], one
 * call per run of its pins.  No lock is held across the driver's op.
 */
static void access_notify_pins(struct iommufd_access *access,
			       struct iommufd_ioas *ioas, unsigned long first,
			       unsigned long last)
{
	struct notify_span spans[ACCESS_NOTIFY_SPANS];
	unsigned int n, i;

	while (first <= last) {
		mutex_lock(&access->ioas_mutex);
		n = 0;
		/* Pins of another IOAS are not touched by this unmap. */
		if (access->ioas_unpin == ioas)
			n = access_collect_spans(access, first, last, spans,
						 ARRAY_SIZE(spans));
		mutex_unlock(&access->ioas_mutex);

		for (i = 0; i != n; i++)
			access->ops->unmap(access->data, spans[i].first,
					   spans[i].last - spans[i].first + 1);
		if (n != ARRAY_SIZE(spans) || spans[n - 1].last >= last)
			return;
		first = spans[n - 1].last + 1;
	}
}

/**
 * iommufd_access_notify_unmap() - ask accesses to unpin before an unmap
 * @iopt: the table being unmapped
 * @first: first IOVA of the range being unmapped
 * @last: last IOVA of the range
 *
 * Called by unmap with no locks held.  Each access attached to the table
 * hears about the runs of its own pins that meet the range, and must unpin
 * them before its op returns.
 */
void iommufd_access_notify_unmap(struct io_pagetable *iopt,
				 unsigned long first, unsigned long last)
{
	struct iommufd_ioas *ioas = container_of(iopt, struct iommufd_ioas,
						 iopt);
	struct iommufd_access *access;
	unsigned long index;

	xa_lock(&iopt->accesses);
	xa_for_each(&iopt->accesses, index, access) {
		/* A dying access has left the IOAS, pins given back. */
		if (!iommufd_obj_hold(&access->obj))
			continue;
		xa_unlock(&iopt->accesses);
		if (access->ops->unmap)
			access_notify_pins(access, ioas, first, last);
		iommufd_obj_put(access->ictx, &access->obj);
		xa_lock(&iopt->accesses);
	}
	xa_unlock(&iopt->accesses);
}

/*
 * The access is leaving the IOAS its pins live in (no new pins can come):
 * ask the driver for exactly the pins it still holds, and if it keeps some
 * all the same, drop them for it.  Only a buggy driver gets that far.
 */
static void access_drop_pins(struct iommufd_access *access,
			     struct iommufd_ioas *ioas)
{
	struct interval_tree_node *node;
	unsigned int tries;

	lockdep_assert_not_held(&access->ioas_mutex);

	for (tries = 0; tries != ACCESS_LEAVE_TRIES; tries++) {
		if (!access_has_pins(access) || !access->ops->unmap)
			break;
		access_notify_pins(access, ioas, 0, ULONG_MAX);
	}

	mutex_lock(&access->ioas_mutex);
	WARN_ONCE(!RB_EMPTY_ROOT(&access->pins.rb_root),
		  "iommufd: an access left its IOAS still holding pins\n");
	while ((node = interval_tree_iter_first(&access->pins, 0, ULONG_MAX))) {
		struct access_pin *pin = container_of(node, struct access_pin,
						      node);

		for (; pin->users; pin->users--)
			access_unpin_range(&ioas->iopt, node->start,
					   node->last);
		interval_tree_remove(node, &access->pins);
		kfree(pin);
	}
	mutex_unlock(&access->ioas_mutex);
}

/*
 * Stop new pins and reads in the current IOAS and have the driver give
 * back what it pinned there.  Returns that IOAS, which only unpins still
 * reach, or NULL if the access is detached.
 */
static struct iommufd_ioas *access_quiesce(struct iommufd_access *access)
{
	struct iommufd_ioas *cur;

	mutex_lock(&access->ioas_mutex);
	cur = access->ioas_unpin;
	access->ioas = NULL;
	mutex_unlock(&access->ioas_mutex);
	if (cur)
		access_drop_pins(access, cur);
	return cur;
}

/* Leave @ioas, whose access list has the access under @list_id. */
static void access_leave(struct iommufd_access *access,
			 struct iommufd_ioas *ioas, u32 list_id)
{
	iopt_unregister_access(&ioas->iopt, access, list_id);
	refcount_dec(&ioas->obj.refs);
}

/*
 * Detach from the current IOAS, pins dropped first.  Returns false if the
 * access was not attached.
 */
static bool access_leave_current(struct iommufd_access *access)
{
	struct iommufd_ioas *cur = access_quiesce(access);

	if (!cur)
		return false;
	mutex_lock(&access->ioas_mutex);
	access->ioas_unpin = NULL;
	mutex_unlock(&access->ioas_mutex);
	access_leave(access, cur, access->list_id);
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
	access->pins = RB_ROOT_CACHED;
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
	access_leave_current(access);
	iommufd_object_destroy_owned(ictx, &access->obj);
	/* Last: this may be the final reference on the context. */
	iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

void iommufd_access_destroy_obj(struct iommufd_object *obj)
{
	struct iommufd_access *access =
		container_of(obj, struct iommufd_access, obj);

	/* iommufd_access_destroy() detached it already. */
	WARN_ON(access_leave_current(access));
	mutex_destroy(&access->ioas_mutex);
}

/*
 * Attach to @ioas_id, replacing the current IOAS if @replace.  Attach,
 * replace and detach of one access are serialised by its driver; pins and
 * reads may run concurrently and fail with -ENOENT while the access moves.
 */
static int access_change_ioas(struct iommufd_access *access, u32 ioas_id,
			      bool replace)
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

	/* Pins live in the old IOAS until they are given back. */
	access_quiesce(access);

	mutex_lock(&access->ioas_mutex);
	access->ioas = ioas;
	access->ioas_unpin = ioas;
	swap(access->list_id, list_id);
	mutex_unlock(&access->ioas_mutex);
	if (old)
		access_leave(access, old, list_id);
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
 * Return: 0; -EINVAL if already attached; -ENOENT for a bad ID;
 * -EADDRINUSE if the access pins pages and the IOAS maps part of a page.
 */
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	return access_change_ioas(access, ioas_id, false);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_attach, IOMMUFD);

/**
 * iommufd_access_replace() - move an attached access to another IOAS
 * @access: an attached access
 * @ioas_id: the new IOAS
 *
 * The driver's unmap op is called for each run of pins it still holds in
 * the old IOAS: they must be given back.
 *
 * Return: 0; -EINVAL if not attached; -ENOENT for a bad ID;
 * -EADDRINUSE if the access pins pages and the IOAS maps part of a page.
 */
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id)
{
	return access_change_ioas(access, ioas_id, true);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_replace, IOMMUFD);

/**
 * iommufd_access_detach() - detach an access from its IOAS
 * @access: an attached access
 *
 * A driver should have unpinned everything; the unmap op is called for
 * each run of pins it still holds.
 */
void iommufd_access_detach(struct iommufd_access *access)
{
	WARN_ON(!access_leave_current(access));
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_detach, IOMMUFD);
