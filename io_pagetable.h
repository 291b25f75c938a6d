/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The I/O page table of an IOAS and the IOVA->PFN store under it.
 *
 * struct io_pagetable (io_pagetable.c) is the address space: which IOVA
 * ranges may be used (allowed), which may never be used (reserved), which
 * are mapped (areas) and which iommu_domains mirror the mappings.
 *
 * struct iopt_mem (pages.c) is one range of user memory, created by
 * IOMMU_IOAS_MAP and shared by every area IOMMU_IOAS_COPY makes from it.
 * It pins each page of that memory once, accounts it once, and finds the
 * page's PFN again in one of three places (see pages.c).
 *
 * Ranges are inclusive everywhere: [start, last], so a range can end at
 * ULONG_MAX.  IOVAs and user addresses are bytes; "index" is a page number
 * within an iopt_mem.
 */
#ifndef __IO_PAGETABLE_H
#define __IO_PAGETABLE_H

#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/wait.h>
#include <linux/xarray.h>

struct iommu_domain;
struct iommufd_access;

/**
 * struct io_pagetable - the address space behind an IOAS
 * @domains_sem: protects @domains, @ndomains, @domain_seq, @accesses and
 *	the fill state of the areas.  Held for read while areas join or leave
 *	the trees and while mappings are filled into or taken out of the domains,
 *	for write while a domain joins or leaves (so the areas stand still);
 *	never held while user memory is touched.
 * @domains: the iommu_domains mirroring every area
 * @accesses: attached struct iommufd_access, told about unmaps
 * @domain_seq: where xa_alloc_cyclic() looks for the next @domains slot
 * @ndomains: how many domains @domains holds (reserved slots not counted)
 * @pinning_accesses: how many of @accesses pin pages (needs_pin_pages);
 *	written with both locks held for write, so either lock reads it
 * @iova_rwsem: protects the interval trees, @gap_tree, @unmap_blocks,
 *	@align and @small_pages_only
 * @areas: the mapped areas (struct iopt_area), by IOVA
 * @gap_tree: the same areas, each with the free IOVA before it, so that
 *	automatic IOVA allocation finds a hole in O(log n)
 * @allowed: ranges automatic IOVA allocation may use; empty = all
 * @reserved: ranges that may never be mapped (struct iopt_resv_range)
 * @unmap_blocks: ranges of unmaps waiting for accesses to unpin
 *	(struct iopt_unmap_block); no new pins there meanwhile
 * @copies_done: woken when an area's last copy in flight is done
 * @align: the alignment every mapping needs: for all domains, and
 *	PAGE_SIZE while accesses pin pages (they pin whole pages)
 * @small_pages_only: map in PAGE_SIZE units only (IOMMU_OPTION_HUGE_PAGES)
 */
struct io_pagetable {
	struct rw_semaphore domains_sem;
	struct xarray domains;
	struct xarray accesses;
	u32 domain_seq;
	unsigned int ndomains;
	unsigned int pinning_accesses;

	struct rw_semaphore iova_rwsem;
	struct rb_root_cached areas;
	struct rb_root gap_tree;
	struct rb_root_cached allowed;
	struct rb_root_cached reserved;
	struct list_head unmap_blocks;
	wait_queue_head_t copies_done;
	unsigned long align;
	bool small_pages_only;
};

/*
 * Walks the domains of a table in slot order (the caller holds
 * domains_sem): it stops at the last domain instead of scanning the rest of
 * the xarray, as xa_for_each() would on every map and unmap.
 */
struct iopt_domain_iter {
	unsigned long slot;	/* of the domain returned last */
	unsigned int left;
};

static inline struct iommu_domain *
iopt_domain_find(struct io_pagetable *iopt, struct iopt_domain_iter *it)
{
	if (!it->left)
		return NULL;
	it->left--;
	return xa_find(&iopt->domains, &it->slot, ULONG_MAX, XA_PRESENT);
}

static inline struct iommu_domain *
iopt_domain_first(struct io_pagetable *iopt, struct iopt_domain_iter *it)
{
	it->slot = 0;
	it->left = iopt->ndomains;
	return iopt_domain_find(iopt, it);
}

static inline struct iommu_domain *
iopt_domain_next(struct io_pagetable *iopt, struct iopt_domain_iter *it)
{
	it->slot++;
	return iopt_domain_find(iopt, it);
}

/**
 * struct iopt_allow_range - one range set by IOMMU_IOAS_ALLOW_IOVAS
 * @node: position in io_pagetable::allowed
 */
struct iopt_allow_range {
	struct interval_tree_node node;
};

/**
 * struct iopt_resv_range - one range that may never be mapped
 * @node: position in io_pagetable::reserved
 * @owner: who added it (a device, a domain, the test ioctl), so it can be
 *	removed again together with everything else that owner added
 */
struct iopt_resv_range {
	struct interval_tree_node node;
	void *owner;
};

/**
 * struct iopt_area - one mapping of an IOAS: an IOVA range onto a part of
 * an iopt_mem
 * @node: the IOVA range, in io_pagetable::areas
 * @gap_node: position in io_pagetable::gap_tree, by IOVA
 * @gap_before: free IOVA between the previous area (or 0) and this one
 * @subtree_gap: the largest @gap_before in @gap_node's subtree
 * @held_node: the page indexes [first_index, fill_next - 1] of @pages;
 *	in iopt_mem::held_areas while @pfn_domain is set
 * @first_index: the first page index of @pages the area uses
 * @last_index: the last page index of @pages the area uses
 * @fill_next: every domain maps the indexes [first_index, fill_next - 1];
 *	all of them once @populated
 * @iopt: the table the area belongs to
 * @pages: the memory; the area holds a reference
 * @pfn_domain: the area's storage domain: one that maps the filled part,
 *	from which the PFNs of its pages can be read back; NULL while no
 *	domain maps it
 * @page_offset: byte offset of the area's first IOVA in its first page
 * @iommu_prot: IOMMU_READ/IOMMU_WRITE/IOMMU_CACHE for the domains
 * @pins: pins of in-kernel accesses inside the area
 * @copies: iommufd_access_rw() calls copying through the area right now;
 *	an unmap waits for them before it frees the area
 * @populated: the area is in every domain; until then (and once an unmap
 *	took it) it is invisible to lookups
 * @small_pages: every domain maps the area in PAGE_SIZE IOPTEs, so it can
 *	be split at any page boundary (set while IOMMU_OPTION_HUGE_PAGES is
 *	off when the area is made)
 * @doomed_link: on the list of areas one unmap call takes down
 *
 * @node, the gap fields and @populated are protected by
 * io_pagetable::iova_rwsem; @fill_next by io_pagetable::domains_sem (the
 * one filling the area moves it holding it for read; iopt_cut() moves it in
 * populated areas holding iova_rwsem for write too); @small_pages is set
 * before the area is visible and changed with both held for write; @held_node and
 * @pfn_domain by iopt_mem::mutex; @pins is changed with iova_rwsem held.
 */
struct iopt_area {
	struct interval_tree_node node;
	struct rb_node gap_node;
	unsigned long gap_before;
	unsigned long subtree_gap;
	struct interval_tree_node held_node;
	unsigned long first_index;
	unsigned long last_index;
	unsigned long fill_next;
	struct io_pagetable *iopt;
	struct iopt_mem *pages;
	struct iommu_domain *pfn_domain;
	unsigned int page_offset;
	int iommu_prot;
	atomic_t pins;
	atomic_t copies;
	bool populated;
	bool small_pages;
	struct list_head doomed_link;
};

/**
 * struct iopt_mem - a range of user memory and its pins
 * @kref: one per area using the memory
 * @mutex: protects everything below and the held_node/pfn_domain of
 *	every area using this memory
 * @npages: pages covered
 * @npinned: pages currently pinned, each exactly once; also what is
 *	charged against RLIMIT_MEMLOCK
 * @owner_task: the task that mapped the memory (for its rlimit)
 * @owner_mm: its mm, in which @uptr is valid (mmgrab'ed)
 * @owner_user: its user, charged in IOMMUFD_ACCOUNT_USER mode
 * @uptr: user address of page index 0 (page aligned)
 * @writable: pinned for writing; else only readable
 * @unlimited: the owner had CAP_IPC_LOCK when mapping: no RLIMIT_MEMLOCK
 * @account_mode: enum iommufd_account_mode, fixed at creation
 * @pfn_store: index -> xa_mk_value(PFN) of pinned pages no domain holds
 * @pinned_ranges: struct iopt_mem_pin, the index ranges accesses pin
 * @held_areas: areas (by held_node) whose storage domain holds their PFNs
 */
struct iopt_mem {
	struct kref kref;
	struct mutex mutex;	/* see the kernel-doc above */
	unsigned long npages;
	unsigned long npinned;
	struct task_struct *owner_task;
	struct mm_struct *owner_mm;
	struct user_struct *owner_user;
	void __user *uptr;
	bool writable;
	bool unlimited;
	u8 account_mode;
	struct xarray pfn_store;
	struct rb_root_cached pinned_ranges;
	struct rb_root_cached held_areas;
};

/**
 * struct iopt_mem_pin - an index range pinned for in-kernel users
 * @node: the range, in iopt_mem::pinned_ranges
 * @users: how many pins of exactly this range are outstanding
 * @building: still growing towards its full range (iopt_mem_hold()), so
 *	no one else may count on it yet
 */
struct iopt_mem_pin {
	struct interval_tree_node node;
	unsigned int users;
	bool building;
};

/* The area's IOVA range. */
static inline unsigned long area_first_iova(struct iopt_area *area)
{
	return area->node.start;
}

static inline unsigned long area_last_iova(struct iopt_area *area)
{
	return area->node.last;
}

static inline unsigned long area_bytes(struct iopt_area *area)
{
	return area->node.last - area->node.start + 1;
}

/* The area's page indexes within its iopt_mem. */
static inline unsigned long area_first_index(struct iopt_area *area)
{
	return area->first_index;
}

static inline unsigned long area_last_index(struct iopt_area *area)
{
	return area->last_index;
}

/* The first IOVA of the area that lies in page @index of its memory. */
static inline unsigned long area_index_first_iova(struct iopt_area *area,
						  unsigned long index)
{
	if (index == area_first_index(area))
		return area_first_iova(area);
	/* Only the first page can start before the area. */
	return area_first_iova(area) - area->page_offset +
	       (index - area_first_index(area)) * PAGE_SIZE;
}

/* The last IOVA of the area that lies in page @index of its memory. */
static inline unsigned long area_index_last_iova(struct iopt_area *area,
						 unsigned long index)
{
	if (index == area_last_index(area))
		return area_last_iova(area);
	return area_index_first_iova(area, index + 1) - 1;
}

/* The page index of @iova, which must lie inside the area. */
static inline unsigned long area_iova_index(struct iopt_area *area,
					    unsigned long iova)
{
	return area_first_index(area) +
	       (iova - area_first_iova(area) + area->page_offset) / PAGE_SIZE;
}

/* The byte offset of @iova inside its page of the area's memory. */
static inline unsigned int area_iova_offset(struct iopt_area *area,
					    unsigned long iova)
{
	return (iova - area_first_iova(area) + area->page_offset) % PAGE_SIZE;
}

/*
 * Walks the populated areas that cover [iova, last] back to back; the walk
 * stops at the first gap.  @complete tells whether the whole range was
 * covered.  The caller holds iova_rwsem.
 */
struct iopt_walk {
	unsigned long cur_iova;
	unsigned long last_iova;
	struct iopt_area *area;
	bool complete;
};

struct iopt_area *iopt_walk_first(struct iopt_walk *iter,
				  struct io_pagetable *iopt,
				  unsigned long iova, unsigned long last);
struct iopt_area *iopt_walk_next(struct iopt_walk *iter,
				 struct io_pagetable *iopt);

/* The part of the current area inside the walked range. */
static inline unsigned long
iopt_walk_piece_last(struct iopt_walk *iter)
{
	return min(iter->last_iova, area_last_iova(iter->area));
}

/*
 * The last byte of a user range [iova, iova + length); -EINVAL for an empty
 * range, -EOVERFLOW if it wraps.
 */
static inline int iopt_range_last(unsigned long iova, unsigned long length,
				  unsigned long *last)
{
	if (!length)
		return -EINVAL;
	return check_add_overflow(iova, length - 1, last) ? -EOVERFLOW : 0;
}

/* io_pagetable.c */
void iopt_init(struct io_pagetable *iopt);
void iopt_teardown(struct io_pagetable *iopt);
struct iopt_area *iopt_area_find(struct io_pagetable *iopt,
				 unsigned long iova);
bool iopt_range_blocked(struct io_pagetable *iopt, unsigned long first,
			unsigned long last);

/* Called for each usable IOVA range in ascending order; nonzero stops. */
typedef int (*iopt_range_fn)(unsigned long start, unsigned long last,
			     void *arg);
int iopt_walk_usable_ranges(struct io_pagetable *iopt, iopt_range_fn fn,
			    void *arg);

int iopt_map_user(struct io_pagetable *iopt, unsigned long *iova,
		  void __user *uptr, unsigned long length, int iommu_prot,
		  unsigned int flags, u8 account_mode);
int iopt_copy(struct io_pagetable *dst, struct io_pagetable *src,
	      unsigned long *dst_iova, unsigned long src_iova,
	      unsigned long length, int iommu_prot, unsigned int flags);
int iopt_unmap(struct io_pagetable *iopt, unsigned long iova,
	       unsigned long length, u64 *unmapped);
int iopt_unmap_everything(struct io_pagetable *iopt, u64 *unmapped);
int iopt_unmap_covered(struct io_pagetable *iopt, unsigned long iova,
		       unsigned long length, u64 *unmapped);
int iopt_cut(struct io_pagetable *iopt, unsigned long iova,
	     unsigned long length);

/* Flags of iopt_map_user() and iopt_copy(). */
enum {
	IOPT_ALLOC_IOVA = 1 << 0,	/* pick the IOVA; *iova is output */
};

int iopt_replace_allowed(struct io_pagetable *iopt,
			 struct rb_root_cached *allowed);
void iopt_free_allowed(struct rb_root_cached *root);
int iopt_reserve(struct io_pagetable *iopt, unsigned long start,
		 unsigned long last, void *owner);
void iopt_unreserve_owner(struct io_pagetable *iopt, void *owner);
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable);

int iopt_hold_unpinned(struct io_pagetable *iopt, struct list_head *holds);
void iopt_drop_holds(struct list_head *holds);
int iopt_add_domain(struct io_pagetable *iopt,
		    struct iommu_domain *domain);
void iopt_remove_domain(struct io_pagetable *iopt,
			struct iommu_domain *domain);
int iopt_reserve_dev_regions(struct io_pagetable *iopt, struct device *dev);
int iopt_set_dirty_tracking(struct io_pagetable *iopt,
			    struct iommu_domain *domain, bool enable);
int iopt_read_dirty(struct io_pagetable *iopt, struct iommu_domain *domain,
		    unsigned long iova, unsigned long length,
		    unsigned long page_size, u64 __user *data,
		    unsigned long flags);

int iopt_register_access(struct io_pagetable *iopt, struct iommufd_access *access,
			 u32 *list_id);
void iopt_unregister_access(struct io_pagetable *iopt,
			    struct iommufd_access *access, u32 list_id);

/* pages.c */
struct iopt_mem *iopt_mem_new(void __user *uptr, unsigned long length,
			      bool writable, u8 account_mode);
void iopt_mem_release(struct kref *kref);

static inline void iopt_mem_get(struct iopt_mem *pages)
{
	kref_get(&pages->kref);
}

static inline void iopt_mem_put(struct iopt_mem *pages)
{
	kref_put(&pages->kref, iopt_mem_release);
}

int iopt_area_fill(struct iopt_area *area, struct io_pagetable *iopt);
int iopt_area_map_domain(struct iopt_area *area, struct iommu_domain *domain);
void iopt_area_unmap_domain(struct iopt_area *area,
			    struct iommu_domain *domain,
			    struct iommu_domain *successor);
void iopt_area_unmap_all(struct iopt_area *area, struct io_pagetable *iopt);

/*
 * Pin/unpin page indexes [first, last] of the memory for in-kernel users;
 * called with no lock of iommufd held.
 */
int iopt_mem_hold(struct iopt_mem *pages, unsigned long first,
		  unsigned long last, struct page **out_pages);
void iopt_mem_unhold(struct iopt_mem *pages, unsigned long first,
		     unsigned long last);
bool iopt_mem_pinned(struct iopt_mem *pages, unsigned long first,
		     unsigned long last);
int iopt_mem_rw(struct iopt_mem *pages, unsigned long start_byte,
		void *data, unsigned long length, unsigned int flags);

#endif
