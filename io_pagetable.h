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
 * struct iopt_pages (pages.c) is one range of user memory, created by
 * IOMMU_IOAS_MAP and shared by every area IOMMU_IOAS_COPY makes from it.
 * It pins each page of that memory once, accounts it once, and finds the
 * page's PFN again in one of three places (see pages.c).
 *
 * Ranges are inclusive everywhere: [start, last], so a range can end at
 * ULONG_MAX.  IOVAs and user addresses are bytes; "index" is a page number
 * within an iopt_pages.
 */
#ifndef __IO_PAGETABLE_H
#define __IO_PAGETABLE_H

#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/rwsem.h>
#include <linux/xarray.h>

struct iommu_domain;
struct iommufd_access;

/**
 * struct io_pagetable - the address space behind an IOAS
 * @domains_rwsem: protects @domains, @next_domain_id and @access_list.  Held
 *	for read while mappings are filled into the domains, for write while a
 *	domain joins or leaves; outside @iova_rwsem.
 * @domains: the iommu_domains mirroring every area
 * @access_list: attached struct iommufd_access, told about unmaps
 * @next_domain_id: hint for the next free @domains index
 * @iova_rwsem: protects the interval trees, @iova_alignment and
 *	@disable_large_pages
 * @area_itree: the mapped areas (struct iopt_area)
 * @allowed_itree: ranges automatic IOVA allocation may use; empty = all
 * @reserved_itree: ranges that may never be mapped (struct iopt_reserved)
 * @iova_alignment: the alignment every mapping needs for all domains
 * @disable_large_pages: map in PAGE_SIZE units only (IOMMU_OPTION_HUGE_PAGES)
 */
struct io_pagetable {
	struct rw_semaphore domains_rwsem;
	struct xarray domains;
	struct xarray access_list;
	unsigned int next_domain_id;

	struct rw_semaphore iova_rwsem;
	struct rb_root_cached area_itree;
	struct rb_root_cached allowed_itree;
	struct rb_root_cached reserved_itree;
	unsigned long iova_alignment;
	bool disable_large_pages;
};

/**
 * struct iopt_allowed - one range set by IOMMU_IOAS_ALLOW_IOVAS
 * @node: position in io_pagetable::allowed_itree
 */
struct iopt_allowed {
	struct interval_tree_node node;
};

/**
 * struct iopt_reserved - one range that may never be mapped
 * @node: position in io_pagetable::reserved_itree
 * @owner: who added it (a device, a domain, the test ioctl), so it can be
 *	removed again together with everything else that owner added
 */
struct iopt_reserved {
	struct interval_tree_node node;
	void *owner;
};

/**
 * struct iopt_area - one mapping of an IOAS: an IOVA range onto a part of
 * an iopt_pages
 * @node: the IOVA range, in io_pagetable::area_itree
 * @pages_node: the page indexes of @pages it uses; in
 *	iopt_pages::domain_areas while @storage_domain is set
 * @iopt: the table the area belongs to
 * @pages: the memory; the area holds a reference
 * @storage_domain: a domain that maps the area, from which the PFNs of the
 *	area's pages can be read back; NULL while no domain maps it
 * @page_offset: byte offset of the area's first IOVA in its first page
 * @iommu_prot: IOMMU_READ/IOMMU_WRITE/IOMMU_CACHE for the domains
 * @num_accesses: pins of in-kernel accesses inside the area
 * @prevent_access: set while an unmap waits for accesses to let go; new
 *	pins of the area are refused
 * @populated: the area is in every domain; until then (and once an unmap
 *	took it) it is invisible to lookups
 * @unmap_link: on the list of areas one unmap call takes down
 *
 * @node and the flags are protected by io_pagetable::iova_rwsem; the rest
 * by iopt_pages::mutex once @populated.
 */
struct iopt_area {
	struct interval_tree_node node;
	struct interval_tree_node pages_node;
	struct io_pagetable *iopt;
	struct iopt_pages *pages;
	struct iommu_domain *storage_domain;
	unsigned int page_offset;
	int iommu_prot;
	unsigned int num_accesses;
	bool prevent_access;
	bool populated;
	struct list_head unmap_link;
};

/**
 * struct iopt_pages - a range of user memory and its pins
 * @kref: one per area using the memory
 * @mutex: protects everything below and the pages_node/storage_domain of
 *	every area using this memory
 * @npages: pages covered
 * @npinned: pages currently pinned, each exactly once; also what is
 *	charged against RLIMIT_MEMLOCK
 * @source_task: the task that mapped the memory (for its rlimit)
 * @source_mm: its mm, in which @uptr is valid (mmgrab'ed)
 * @source_user: its user, charged in IOMMUFD_ACCOUNT_USER mode
 * @uptr: user address of page index 0 (page aligned)
 * @writable: pinned for writing; else only readable
 * @account_mode: enum iommufd_account_mode, fixed at creation
 * @pfn_store: index -> xa_mk_value(PFN) of pinned pages no domain holds
 * @access_ranges: struct iopt_pages_access, the index ranges accesses pin
 * @domain_areas: areas (by pages_node) whose storage domain holds their PFNs
 */
struct iopt_pages {
	struct kref kref;
	struct mutex mutex;	/* see the kernel-doc above */
	unsigned long npages;
	unsigned long npinned;
	struct task_struct *source_task;
	struct mm_struct *source_mm;
	struct user_struct *source_user;
	void __user *uptr;
	bool writable;
	u8 account_mode;
	struct xarray pfn_store;
	struct rb_root_cached access_ranges;
	struct rb_root_cached domain_areas;
};

/**
 * struct iopt_pages_access - an index range pinned for in-kernel accesses
 * @node: the range, in iopt_pages::access_ranges
 * @users: how many pins of exactly this range are outstanding
 */
struct iopt_pages_access {
	struct interval_tree_node node;
	unsigned int users;
};

/* The area's IOVA range. */
static inline unsigned long iopt_area_iova(struct iopt_area *area)
{
	return area->node.start;
}

static inline unsigned long iopt_area_last_iova(struct iopt_area *area)
{
	return area->node.last;
}

static inline unsigned long iopt_area_length(struct iopt_area *area)
{
	return area->node.last - area->node.start + 1;
}

/* The area's page indexes within its iopt_pages. */
static inline unsigned long iopt_area_index(struct iopt_area *area)
{
	return area->pages_node.start;
}

static inline unsigned long iopt_area_last_index(struct iopt_area *area)
{
	return area->pages_node.last;
}

/* The first IOVA of the area that lies in page @index of its memory. */
static inline unsigned long iopt_area_index_iova(struct iopt_area *area,
						 unsigned long index)
{
	if (index == iopt_area_index(area))
		return iopt_area_iova(area);
	/* Only the first page can start before the area. */
	return iopt_area_iova(area) - area->page_offset +
	       (index - iopt_area_index(area)) * PAGE_SIZE;
}

/* The last IOVA of the area that lies in page @index of its memory. */
static inline unsigned long iopt_area_index_last_iova(struct iopt_area *area,
						      unsigned long index)
{
	if (index == iopt_area_last_index(area))
		return iopt_area_last_iova(area);
	return iopt_area_index_iova(area, index + 1) - 1;
}

/* The page index of @iova, which must lie inside the area. */
static inline unsigned long iopt_area_iova_to_index(struct iopt_area *area,
						    unsigned long iova)
{
	return iopt_area_index(area) +
	       (iova - iopt_area_iova(area) + area->page_offset) / PAGE_SIZE;
}

/* The byte offset of @iova inside its page of the area's memory. */
static inline unsigned int iopt_area_iova_page_offset(struct iopt_area *area,
						      unsigned long iova)
{
	return (iova - iopt_area_iova(area) + area->page_offset) % PAGE_SIZE;
}

/*
 * Walks the populated areas that cover [iova, last] back to back; the walk
 * stops at the first gap.  @complete tells whether the whole range was
 * covered.  The caller holds iova_rwsem.
 */
struct iopt_area_contig_iter {
	unsigned long cur_iova;
	unsigned long last_iova;
	struct iopt_area *area;
	bool complete;
};

struct iopt_area *iopt_area_contig_first(struct iopt_area_contig_iter *iter,
					 struct io_pagetable *iopt,
					 unsigned long iova, unsigned long last);
struct iopt_area *iopt_area_contig_next(struct iopt_area_contig_iter *iter,
					struct io_pagetable *iopt);

/* The part of the current area inside the walked range. */
static inline unsigned long
iopt_area_contig_last(struct iopt_area_contig_iter *iter)
{
	return min(iter->last_iova, iopt_area_last_iova(iter->area));
}

/* io_pagetable.c */
void iopt_init_table(struct io_pagetable *iopt);
void iopt_destroy_table(struct io_pagetable *iopt);

/* Called for each usable IOVA range in ascending order; nonzero stops. */
typedef int (*iopt_range_fn)(unsigned long start, unsigned long last,
			     void *arg);
int iopt_walk_usable_ranges(struct io_pagetable *iopt, iopt_range_fn fn,
			    void *arg);

int iopt_map_user_pages(struct io_pagetable *iopt, unsigned long *iova,
			void __user *uptr, unsigned long length, int iommu_prot,
			unsigned int flags, u8 account_mode);
int iopt_copy_iova(struct io_pagetable *dst, struct io_pagetable *src,
		   unsigned long *dst_iova, unsigned long src_iova,
		   unsigned long length, int iommu_prot, unsigned int flags);
int iopt_unmap_iova(struct io_pagetable *iopt, unsigned long iova,
		    unsigned long length, unsigned long *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, unsigned long *unmapped);

/* Flags of iopt_map_user_pages() and iopt_copy_iova(). */
enum {
	IOPT_ALLOC_IOVA = 1 << 0,	/* pick the IOVA; *iova is output */
};

int iopt_set_allow_iova(struct io_pagetable *iopt,
			struct rb_root_cached *allowed);
int iopt_reserve_iova(struct io_pagetable *iopt, unsigned long start,
		      unsigned long last, void *owner);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner);
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable);

int iopt_table_add_domain(struct io_pagetable *iopt,
			  struct iommu_domain *domain);
void iopt_table_remove_domain(struct io_pagetable *iopt,
			      struct iommu_domain *domain);
int iopt_table_enforce_dev_resv_regions(struct io_pagetable *iopt,
					struct device *dev,
					phys_addr_t *sw_msi_start);

int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access,
		    u32 *list_id);
void iopt_remove_access(struct io_pagetable *iopt,
			struct iommufd_access *access, u32 list_id);

/* pages.c */
struct iopt_pages *iopt_alloc_pages(void __user *uptr, unsigned long length,
				    bool writable, u8 account_mode);
void iopt_release_pages(struct kref *kref);

static inline void iopt_put_pages(struct iopt_pages *pages)
{
	kref_put(&pages->kref, iopt_release_pages);
}

int iopt_area_fill_domain(struct iopt_area *area, struct iommu_domain *domain);
void iopt_area_unfill_domain(struct iopt_area *area,
			     struct iommu_domain *domain,
			     struct iommu_domain *successor);
int iopt_area_fill_domains(struct iopt_area *area, struct io_pagetable *iopt);
void iopt_area_unfill_domains(struct iopt_area *area,
			      struct io_pagetable *iopt);

int iopt_area_add_access(struct iopt_area *area, unsigned long start_index,
			 unsigned long last_index, struct page **out_pages,
			 unsigned int flags);
void iopt_area_remove_access(struct iopt_area *area, unsigned long start_index,
			     unsigned long last_index);
int iopt_pages_rw_access(struct iopt_pages *pages, unsigned long start_byte,
			 void *data, unsigned long length, unsigned int flags);

#endif
