// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Test support (CONFIG_IOMMUFD_TEST): a mock IOMMU driver and the
 * IOMMU_TEST_CMD ioctl that drives it.
 *
 * The mock driver registers an iommu_device on a private bus.  Mock
 * devices are created on that bus, so the core IOMMU code probes them,
 * gives each its own group and a blocking default domain; they are bound
 * and attached through the same device.c paths VFIO uses.
 *
 * Paging domains.  A mock paging domain keeps its page table in an xarray
 * indexed by IOVA / MOCK_IO_PAGE_SIZE (half a CPU page, so sub-page
 * alignment is exercised).  Each entry, a mock PTE, is an xarray value: the
 * physical address it translates to, in MOCK_IO_PAGE_SIZE frames, above
 * two flag bits, MOCK_PTE_DIRTY and MOCK_PTE_HUGE.  The test ioctl compares
 * the entries with the user memory that should be mapped there.  A domain
 * made for a MOCK_FLAGS_DEVICE_HUGE_IOVA device also maps IOPTEs of
 * MOCK_HUGE_PAGE_SIZE: each of their chunks is an entry flagged
 * MOCK_PTE_HUGE, and the dirty bit of such an IOPTE is kept in its first
 * chunk only.  Unmapping part of a huge IOPTE first splits it into small
 * ones, which inherit its dirty bit.  Entries are stored and erased under
 * the xarray's lock, and their flags change by read-modify-write under it,
 * so marking an IOPTE dirty never brings back one that an unmap erased.
 *
 * domain_alloc_user() makes the same paging domains, optionally as nest
 * parents (IOMMU_HWPT_ALLOC_NEST_PARENT) or with dirty tracking
 * (IOMMU_HWPT_ALLOC_DIRTY_TRACKING).  A MOCK_FLAGS_DEVICE_NO_DIRTY device
 * cannot get or attach to a dirty-tracking domain.  While tracking is on,
 * IOMMU_TEST_OP_DIRTY plays DMA writes by setting dirty bits, and the
 * domain's dirty ops report and clear them, a whole IOPTE at a time.
 *
 * Nested domains (IOMMU_HWPT_DATA_SELFTEST) sit on a nest parent and
 * translate nothing themselves.  They emulate an IOTLB of
 * MOCK_NESTED_DOMAIN_IOTLB_NUM entries, each filled with the value given at
 * allocation, which IOMMU_HWPT_INVALIDATE resets to 0 (entry by entry, or
 * all with IOMMU_TEST_INVALIDATE_FLAG_ALL) and IOMMU_TEST_OP_MD_CHECK_IOTLB
 * reads.
 *
 * I/O page faults.  The mock IOMMU has one iopf_queue; enabling
 * IOMMU_DEV_FEAT_IOPF adds a mock device to it (refused in kernels without
 * CONFIG_IOMMU_IOPF).  IOMMU_TEST_OP_TRIGGER_IOPF reports a page request
 * group of one request, as if the device had sent it.  A request with a
 * PASID is routed to the domain attached to the device's RID, as on an
 * IOMMU whose PASID table the user owns (user_pasid_table).  A page
 * response only ends the request, as the mock device retries nothing; the
 * responses are counted for the tests (debugfs, below).
 *
 * The locks of the mock driver are its own and innermost: the xarray lock
 * of a domain's PTEs (a spinlock, held for single entries or for splitting
 * one huge IOPTE) and mock_iopf_lock (a mock device's IOPF state), under
 * which the iopf_queue takes its own locks.
 *
 * Mock devices behave like the physical devices VFIO binds: they are bound
 * and attached through the exported API, and their MSIs are isolated (they
 * sit behind an MSI irq_domain flagged IRQ_DOMAIN_FLAG_ISOLATED_MSI) and
 * pass the same check.  One thing differs: a mock device lives inside the
 * context it is bound to (as an IOMMUFD_OBJ_SELFTEST object), so it gives
 * the binding's reference on the context back, and unbinds without it;
 * otherwise the context could never go.
 *
 * Debugfs knobs in iommufd_mock/ shape the mock devices created afterwards;
 * they are outside the IOMMU_TEST_CMD ABI and off by default:
 *  - sw_msi_start and sw_msi_length (0 = none) give them a software MSI
 *    window, a reserved region;
 *  - share_group (1) puts them all in one iommu_group, so several bound
 *    devices share one attachment; writing 0 lets the next shared group
 *    start afresh;
 *  - msi_unsafe (1) leaves their MSIs unisolated, so binding them needs
 *    iommufd.allow_unsafe_interrupts;
 *  - no_iommu (1) keeps the mock IOMMU from probing them;
 *  - enforce_coherency (1): their IOMMU can make a domain block
 *    non-snooped DMA (IOMMU_CAP_ENFORCE_CACHE_COHERENCY).  Any mock domain
 *    can be switched to that before it maps anything, as VT-d's
 *    second-stage domains, and never after;
 *  - bind_only (1): MOCK_DOMAIN binds without attaching (out_hwpt_id 0);
 *    MOCK_DOMAIN_REPLACE attaches such a device;
 *  - buggy_driver (1) plays a driver with bugs: destroying the mock device
 *    unbinds it without detaching it if it is attached, and detaches it
 *    anyway if it is only bound.
 * Two read-only files tell what the mock IOMMU saw: iopf_responses counts
 * the page responses it got (from userspace through a fault queue, or from
 * the core answering for it), iopf_last_response holds the code of the
 * last one (enum iommu_page_response_code).
 *
 * Mock accesses are handed to userspace as file descriptors: closing one
 * unpins what the access still holds and destroys it, as a driver's close
 * does.  The pages an access pinned are tracked as items with IDs, indexed
 * by the page their IOVA starts in.  The unmap op walks the range it is
 * given page by page, as real drivers (kvmgt) do, and drops every item
 * starting there; being asked about IOVA the access never pinned is a bug
 * of the core, which the op reports with a WARN.
 */
#include <linux/anon_inodes.h>
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/irqdomain.h>
#include <linux/log2.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"
#include "iommufd_test.h"

/* Half a CPU page; also the smallest alignment a mock domain needs. */
#define MOCK_IO_PAGE_SIZE (PAGE_SIZE / 2)
/* The large IOPTE of a MOCK_FLAGS_DEVICE_HUGE_IOVA domain. */
#define MOCK_HUGE_PAGE_SIZE (512 * MOCK_IO_PAGE_SIZE)

size_t iommufd_test_memory_limit = 65536;

static DECLARE_FAULT_ATTR(fail_iommufd);
static struct dentry *fail_iommufd_dir;

/* The debugfs knobs for new mock devices. */
static struct dentry *mock_debugfs_dir;
static u64 mock_sw_msi_start;
static u64 mock_sw_msi_length;
static DEFINE_MUTEX(mock_group_lock);
static bool mock_share_group;			/* mock_group_lock */
static struct iommu_group *mock_shared_group;	/* mock_group_lock */
static bool mock_msi_unsafe;
static bool mock_no_iommu;
static bool mock_enforce_coherency;
static bool mock_bind_only;
static bool mock_buggy_driver;

/* The MSI controller of mock devices: it isolates their MSIs. */
static struct fwnode_handle *mock_msi_fwnode;
static struct irq_domain *mock_msi_domain;

/* Fault injection point of the core code (debugfs "fail_iommufd"). */
bool iommufd_should_fail(void)
{
	return should_fail(&fail_iommufd, 1);
}

/*
 * The mock IOMMU and its bus.  The fwnode lets the core find the mock ops
 * for mock devices even when a real IOMMU without fwnode is registered.
 */
static struct fwnode_handle mock_fwnode;
static struct iommu_device mock_iommu;
static struct notifier_block mock_bus_nb;
static DEFINE_IDA(mock_dev_ida);
/* The page request queue of the mock IOMMU; NULL without IOMMU_IOPF. */
static struct iopf_queue *mock_iopf_queue;
static DEFINE_MUTEX(mock_iopf_lock);
/* Page responses the mock IOMMU got, and the code of the last one. */
static atomic_t mock_iopf_responses;
static u32 mock_iopf_last_response;

static const struct bus_type mock_bus_type = {
	.name = "iommufd_mock",
};

struct mock_dev {
	struct device dev;
	unsigned long flags;	/* MOCK_FLAGS_DEVICE_* */
	int id;
	u64 sw_msi_start;
	u64 sw_msi_length;	/* 0: no software MSI window */
	bool shared_group;	/* joins mock_shared_group */
	bool no_iommu;		/* the mock IOMMU does not probe it */
	bool enforce_coherency;	/* IOMMU_CAP_ENFORCE_CACHE_COHERENCY */
	bool iopf_enabled;	/* on mock_iopf_queue; mock_iopf_lock */
};

static struct mock_dev *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev);
}

/*
 * A mock PTE: the physical address, in MOCK_IO_PAGE_SIZE frames, shifted
 * above the flags, as an xarray value.
 */
#define MOCK_PTE_DIRTY	BIT(0)	/* written to since last read and cleared */
#define MOCK_PTE_HUGE	BIT(1)	/* a chunk of a MOCK_HUGE_PAGE_SIZE IOPTE */
#define MOCK_PTE_SHIFT	2
#define MOCK_HUGE_CHUNKS (MOCK_HUGE_PAGE_SIZE / MOCK_IO_PAGE_SIZE)

static void *mock_pte(phys_addr_t paddr, unsigned long flags)
{
	return xa_mk_value((paddr / MOCK_IO_PAGE_SIZE) << MOCK_PTE_SHIFT |
			   flags);
}

static phys_addr_t mock_pte_paddr(void *pte)
{
	return (phys_addr_t)(xa_to_value(pte) >> MOCK_PTE_SHIFT) *
	       MOCK_IO_PAGE_SIZE;
}

static bool mock_pte_has(void *pte, unsigned long flag)
{
	return xa_to_value(pte) & flag;
}

/* The index of the first chunk of the IOPTE that has chunk @index. */
static unsigned long mock_iopte_first(unsigned long index, void *pte)
{
	if (mock_pte_has(pte, MOCK_PTE_HUGE))
		return ALIGN_DOWN(index, MOCK_HUGE_CHUNKS);
	return index;
}

static unsigned long mock_iopte_chunks(void *pte)
{
	return mock_pte_has(pte, MOCK_PTE_HUGE) ? MOCK_HUGE_CHUNKS : 1;
}

/**
 * struct mock_domain - a mock paging domain
 * @domain: the domain
 * @ptes: the page table, IOVA / MOCK_IO_PAGE_SIZE -> mock PTE
 * @enforcing: blocks non-snooped DMA
 * @nest_parent: made with IOMMU_HWPT_ALLOC_NEST_PARENT
 * @dirty_tracking: sets dirty bits on DMA writes (only with dirty ops)
 * @nested: the nested domains on this one
 */
struct mock_domain {
	struct iommu_domain domain;
	struct xarray ptes;
	bool enforcing;
	bool nest_parent;
	bool dirty_tracking;
	atomic_t nested;
};

static struct mock_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_domain, domain);
}

/**
 * struct mock_nested - a mock nested domain (IOMMU_HWPT_DATA_SELFTEST)
 * @domain: the domain
 * @parent: the nest parent it sits on
 * @iotlb: the emulated IOTLB
 */
struct mock_nested {
	struct iommu_domain domain;
	struct mock_domain *parent;
	u32 iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM];
};

static struct mock_nested *to_mock_nested(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_nested, domain);
}

static const struct iommu_ops mock_ops;

/* Blocking needs nothing of a mock device: it only DMAs when told to. */
static int mock_blocking_attach(struct iommu_domain *domain,
				struct device *dev)
{
	return 0;
}

static struct iommu_domain mock_blocking_domain = {
	.ops = &(const struct iommu_domain_ops){
		.attach_dev = mock_blocking_attach,
	},
	.type = IOMMU_DOMAIN_BLOCKED,
};

/*
 * A MOCK_FLAGS_DEVICE_HUGE_IOVA device only works with domains that have
 * the large IOPTE size; other devices take either.  So a huge device that
 * comes to an IOAS after a plain one gives it a second domain.  A device
 * without dirty tracking cannot use a domain that tracks.
 */
static int mock_domain_attach(struct iommu_domain *domain, struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	if ((mdev->flags & MOCK_FLAGS_DEVICE_HUGE_IOVA) &&
	    !(domain->pgsize_bitmap & MOCK_HUGE_PAGE_SIZE))
		return -EINVAL;
	if (domain->dirty_ops && (mdev->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return -EINVAL;
	return 0;
}

/*
 * Set and clear flags of the PTE at @index, if it is there; return the PTE
 * as it was, or NULL.
 */
static void *mock_pte_change(struct mock_domain *mock, unsigned long index,
			     unsigned long set, unsigned long clear)
{
	unsigned long val;
	void *pte;

	xa_lock(&mock->ptes);
	pte = xa_load(&mock->ptes, index);
	if (pte) {
		val = (xa_to_value(pte) | set) & ~clear;
		/* The slot exists: no memory needed. */
		if (val != xa_to_value(pte))
			__xa_store(&mock->ptes, index, xa_mk_value(val),
				   GFP_ATOMIC);
	}
	xa_unlock(&mock->ptes);
	return pte;
}

/*
 * Make @index, which an unmap starts or ends at, the edge of an IOPTE: a
 * huge IOPTE around it becomes small ones, each dirty if it was.
 */
static void mock_domain_split_at(struct mock_domain *mock,
				 unsigned long index)
{
	unsigned long first = ALIGN_DOWN(index, MOCK_HUGE_CHUNKS), i;
	void *pte;

	if (first == index)
		return;
	xa_lock(&mock->ptes);
	pte = xa_load(&mock->ptes, first);
	if (pte && mock_pte_has(pte, MOCK_PTE_HUGE)) {
		unsigned long flags = xa_to_value(pte) & MOCK_PTE_DIRTY;
		phys_addr_t paddr = mock_pte_paddr(pte);

		for (i = 0; i != MOCK_HUGE_CHUNKS; i++)
			__xa_store(&mock->ptes, first + i,
				   mock_pte(paddr + i * MOCK_IO_PAGE_SIZE,
					    flags),
				   GFP_ATOMIC);
	}
	xa_unlock(&mock->ptes);
}

static void mock_domain_unmap_chunks(struct mock_domain *mock,
				     unsigned long iova, size_t size)
{
	for (; size; size -= MOCK_IO_PAGE_SIZE, iova += MOCK_IO_PAGE_SIZE)
		xa_erase(&mock->ptes, iova / MOCK_IO_PAGE_SIZE);
}

static int mock_domain_map_pages(struct iommu_domain *domain,
				 unsigned long iova, phys_addr_t paddr,
				 size_t pgsize, size_t pgcount, int prot,
				 gfp_t gfp, size_t *mapped)
{
	struct mock_domain *mock = to_mock_domain(domain);
	unsigned long flags = pgsize == MOCK_HUGE_PAGE_SIZE ? MOCK_PTE_HUGE : 0;
	XA_STATE(xas, &mock->ptes, iova / MOCK_IO_PAGE_SIZE);
	size_t size = pgsize * pgcount, done = 0;
	void *old = NULL;
	int rc;

	/* One walk of the table, as a driver writes consecutive IOPTEs. */
	do {
		xas_lock(&xas);
		while (done != size) {
			old = xas_store(&xas, mock_pte(paddr + done, flags));
			if (xas_error(&xas) || WARN_ON(old))
				break;
			done += MOCK_IO_PAGE_SIZE;
			xas_next(&xas);
		}
		xas_unlock(&xas);
	} while (xas_nomem(&xas, gfp));
	rc = xas_error(&xas);
	if (!rc && done != size) {
		/* Do not erase what was there before this call. */
		done += MOCK_IO_PAGE_SIZE;
		rc = -EBUSY;
	}
	if (rc) {
		mock_domain_unmap_chunks(mock, iova, done);
		return rc;
	}
	*mapped = size;
	return 0;
}

static size_t mock_domain_unmap_pages(struct iommu_domain *domain,
				      unsigned long iova, size_t pgsize,
				      size_t pgcount,
				      struct iommu_iotlb_gather *gather)
{
	struct mock_domain *mock = to_mock_domain(domain);
	XA_STATE(xas, &mock->ptes, iova / MOCK_IO_PAGE_SIZE);
	size_t size = pgsize * pgcount, done;

	mock_domain_split_at(mock, iova / MOCK_IO_PAGE_SIZE);
	mock_domain_split_at(mock, (iova + size) / MOCK_IO_PAGE_SIZE);
	xas_lock(&xas);
	for (done = 0; done != size; done += MOCK_IO_PAGE_SIZE) {
		/* The core never unmaps what was not mapped. */
		if (WARN_ON(!xas_store(&xas, NULL)))
			break;
		xas_next(&xas);
	}
	xas_unlock(&xas);
	return done;
}

static phys_addr_t mock_domain_iova_to_phys(struct iommu_domain *domain,
					    dma_addr_t iova)
{
	struct mock_domain *mock = to_mock_domain(domain);
	void *pte = xa_load(&mock->ptes, iova / MOCK_IO_PAGE_SIZE);

	if (!pte)
		return 0;
	return mock_pte_paddr(pte) + iova % MOCK_IO_PAGE_SIZE;
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_domain *mock = to_mock_domain(domain);

	WARN_ON(!xa_empty(&mock->ptes));
	WARN_ON(atomic_read(&mock->nested));
	xa_destroy(&mock->ptes);
	kfree(mock);
}

/* Only before anything is mapped; the core holds the domain meanwhile. */
static bool mock_domain_enforce_coherency(struct iommu_domain *domain)
{
	struct mock_domain *mock = to_mock_domain(domain);

	if (!mock->enforcing && xa_empty(&mock->ptes))
		mock->enforcing = true;
	return mock->enforcing;
}

static const struct iommu_domain_ops mock_domain_ops = {
	.attach_dev = mock_domain_attach,
	.enforce_cache_coherency = mock_domain_enforce_coherency,
	.map_pages = mock_domain_map_pages,
	.unmap_pages = mock_domain_unmap_pages,
	.iova_to_phys = mock_domain_iova_to_phys,
	.free = mock_domain_free,
};

static int mock_domain_set_dirty_tracking(struct iommu_domain *domain,
					  bool enable)
{
	WRITE_ONCE(to_mock_domain(domain)->dirty_tracking, enable);
	return 0;
}

/*
 * Report the dirty IOPTEs that meet [iova, iova + size), whole, and clear
 * their dirty bits unless IOMMU_DIRTY_NO_CLEAR.  Without a bitmap (the core
 * clearing stale bits) this works while tracking is off too.
 */
static int mock_domain_read_and_clear_dirty(struct iommu_domain *domain,
					    unsigned long iova, size_t size,
					    unsigned long flags,
					    struct iommu_dirty_bitmap *dirty)
{
	struct mock_domain *mock = to_mock_domain(domain);
	unsigned long clear = flags & IOMMU_DIRTY_NO_CLEAR ? 0 : MOCK_PTE_DIRTY;
	unsigned long index = iova / MOCK_IO_PAGE_SIZE, max, last, first;
	void *pte, *head;

	if (!READ_ONCE(mock->dirty_tracking) && dirty->bitmap)
		return -EINVAL;
	if (!size)
		return 0;
	if (check_add_overflow(iova, size - 1, &last))
		last = ULONG_MAX;
	max = last / MOCK_IO_PAGE_SIZE;

	while ((pte = xa_find(&mock->ptes, &index, max, XA_PRESENT))) {
		first = mock_iopte_first(index, pte);
		head = first == index ? pte : xa_load(&mock->ptes, first);
		/* An unmap may take it between the look and the change. */
		if (head && mock_pte_has(head, MOCK_PTE_DIRTY))
			head = mock_pte_change(mock, first, 0, clear);
		if (head && mock_pte_has(head, MOCK_PTE_DIRTY)) {
			size_t pgsize = mock_iopte_chunks(head) *
					MOCK_IO_PAGE_SIZE;

			iommu_dirty_bitmap_record(dirty,
						  first * MOCK_IO_PAGE_SIZE,
						  pgsize);
		}
		/* Past the IOPTE, which has chunk @index whatever happened. */
		index = first + mock_iopte_chunks(pte);
		if (index > max)
			break;
	}
	return 0;
}

static const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_domain_set_dirty_tracking,
	.read_and_clear_dirty = mock_domain_read_and_clear_dirty,
};

/* @dev is NULL when the core allocates a domain for no device. */
static struct mock_domain *mock_domain_alloc(struct device *dev)
{
	struct mock_domain *mock;

	mock = kzalloc(sizeof(*mock), GFP_KERNEL);
	if (!mock)
		return NULL;
	xa_init(&mock->ptes);
	atomic_set(&mock->nested, 0);
	mock->domain.type = IOMMU_DOMAIN_UNMANAGED;
	mock->domain.ops = &mock_domain_ops;
	mock->domain.pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	if (dev && (to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_HUGE_IOVA))
		mock->domain.pgsize_bitmap |= MOCK_HUGE_PAGE_SIZE;
	mock->domain.geometry.aperture_start = MOCK_APERTURE_START;
	mock->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	mock->domain.geometry.force_aperture = true;
	return mock;
}

static struct iommu_domain *mock_domain_alloc_paging(struct device *dev)
{
	struct mock_domain *mock = mock_domain_alloc(dev);

	return mock ? &mock->domain : ERR_PTR(-ENOMEM);
}

/* As a nested domain translates nothing, its devices only need the parent's. */
static int mock_nested_attach(struct iommu_domain *domain, struct device *dev)
{
	return mock_domain_attach(&to_mock_nested(domain)->parent->domain, dev);
}

static void mock_nested_free(struct iommu_domain *domain)
{
	struct mock_nested *nested = to_mock_nested(domain);

	atomic_dec(&nested->parent->nested);
	kfree(nested);
}

/*
 * IOMMU_HWPT_INVALIDATE: reset the IOTLB entries the requests name.  On
 * failure array->entry_num says how many requests were done.
 */
static int mock_nested_cache_invalidate_user(struct iommu_domain *domain,
					     struct iommu_user_data_array *array)
{
	struct mock_nested *nested = to_mock_nested(domain);
	struct iommu_hwpt_invalidate_selftest inv;
	u32 done = 0;
	int rc = 0;
	u32 i;

	if (array->type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST) {
		rc = -EINVAL;
		goto out;
	}
	while (done != array->entry_num) {
		bool all;

		rc = iommu_copy_struct_from_user_array(&inv, array,
						       IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
						       done, iotlb_id);
		if (rc)
			break;
		all = inv.flags & IOMMU_TEST_INVALIDATE_FLAG_ALL;
		/* Unknown flags, then an entry out of range, are refused. */
		if (inv.flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL)
			rc = -EOPNOTSUPP;
		else if (!all && inv.iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
			rc = -EINVAL;
		if (rc)
			break;
		for (i = 0; i != MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
			if (all || i == inv.iotlb_id)
				WRITE_ONCE(nested->iotlb[i], 0);
		done++;
		cond_resched();
	}
out:
	array->entry_num = done;
	return rc;
}

static const struct iommu_domain_ops mock_nested_ops = {
	.attach_dev = mock_nested_attach,
	.cache_invalidate_user = mock_nested_cache_invalidate_user,
	.free = mock_nested_free,
};

/*
 * A nested domain on @parent, as VT-d checks one: only the selftest data
 * type (EOPNOTSUPP), on a mock nest parent (EINVAL), no flags.
 */
static struct iommu_domain *
mock_nested_alloc(u32 flags, struct iommu_domain *parent,
		  const struct iommu_user_data *user_data)
{
	struct iommu_hwpt_selftest data;
	struct mock_nested *nested;
	unsigned int i;
	int rc;

	if (flags)
		return ERR_PTR(-EOPNOTSUPP);
	if (!user_data)
		return ERR_PTR(-EINVAL);
	if (user_data->type != IOMMU_HWPT_DATA_SELFTEST)
		return ERR_PTR(-EOPNOTSUPP);
	if (parent->ops != &mock_domain_ops ||
	    !to_mock_domain(parent)->nest_parent)
		return ERR_PTR(-EINVAL);
	rc = iommu_copy_struct_from_user(&data, user_data,
					 IOMMU_HWPT_DATA_SELFTEST, iotlb);
	if (rc)
		return ERR_PTR(rc);

	nested = kzalloc(sizeof(*nested), GFP_KERNEL_ACCOUNT);
	if (!nested)
		return ERR_PTR(-ENOMEM);
	nested->domain.type = IOMMU_DOMAIN_NESTED;
	nested->domain.ops = &mock_nested_ops;
	nested->domain.owner = &mock_ops;
	nested->parent = to_mock_domain(parent);
	for (i = 0; i != MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
		nested->iotlb[i] = data.iotlb;
	atomic_inc(&nested->parent->nested);
	return &nested->domain;
}

static bool mock_capable(struct device *dev, enum iommu_cap cap)
{
	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
		return true;
	case IOMMU_CAP_ENFORCE_CACHE_COHERENCY:
		return to_mock_dev(dev)->enforce_coherency;
	case IOMMU_CAP_DIRTY_TRACKING:
		return !(to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
	default:
		return false;
	}
}

/*
 * IOMMU_HWPT_ALLOC: a paging domain as domain_alloc_paging() makes one,
 * flagged as nest parent and with dirty ops if asked, or with a parent a
 * nested one.  Like VT-d: paging domains take no driver data, and unknown
 * flags or dirty tracking where the device has none are EOPNOTSUPP.
 */
static struct iommu_domain *
mock_domain_alloc_user(struct device *dev, u32 flags,
		       struct iommu_domain *parent,
		       const struct iommu_user_data *user_data)
{
	bool dirty = flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	struct mock_domain *mock;

	if (parent)
		return mock_nested_alloc(flags, parent, user_data);
	if (flags & ~(IOMMU_HWPT_ALLOC_NEST_PARENT |
		      IOMMU_HWPT_ALLOC_DIRTY_TRACKING))
		return ERR_PTR(-EOPNOTSUPP);
	if (user_data ||
	    (dirty && !mock_capable(dev, IOMMU_CAP_DIRTY_TRACKING)))
		return ERR_PTR(-EOPNOTSUPP);

	mock = mock_domain_alloc(dev);
	if (!mock)
		return ERR_PTR(-ENOMEM);
	mock->domain.owner = &mock_ops;
	mock->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	if (dirty)
		mock->domain.dirty_ops = &mock_dirty_ops;
	return &mock->domain;
}

/* IOMMU_GET_HW_INFO: the fake register; the caller frees the buffer. */
static void *mock_hw_info(struct device *dev, u32 *length, u32 *type)
{
	static const struct iommu_test_hw_info regs = {
		.test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL,
	};
	void *copy = kmemdup(&regs, sizeof(regs), GFP_KERNEL);

	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	*length = sizeof(regs);
	return copy ?: ERR_PTR(-ENOMEM);
}

static void mock_get_resv_regions(struct device *dev, struct list_head *head)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	struct iommu_resv_region *region;

	if (!mdev->sw_msi_length)
		return;
	region = iommu_alloc_resv_region(mdev->sw_msi_start,
					 mdev->sw_msi_length,
					 IOMMU_WRITE | IOMMU_NOEXEC | IOMMU_MMIO,
					 IOMMU_RESV_SW_MSI, GFP_KERNEL);
	if (region)
		list_add_tail(&region->list, head);
}

static struct iommu_group *mock_device_group(struct device *dev)
{
	struct iommu_group *group;

	if (!to_mock_dev(dev)->shared_group)
		return generic_device_group(dev);
	mutex_lock(&mock_group_lock);
	if (!mock_shared_group) {
		group = iommu_group_alloc();
		if (IS_ERR(group))
			goto out_unlock;
		/* The allocation's reference is the knob's. */
		mock_shared_group = group;
	}
	group = iommu_group_ref_get(mock_shared_group);
out_unlock:
	mutex_unlock(&mock_group_lock);
	return group;
}

static int mock_share_group_get(void *data, u64 *val)
{
	*val = READ_ONCE(mock_share_group);
	return 0;
}

static int mock_share_group_set(void *data, u64 val)
{
	mutex_lock(&mock_group_lock);
	WRITE_ONCE(mock_share_group, val);
	if (!val && mock_shared_group) {
		iommu_group_put(mock_shared_group);
		mock_shared_group = NULL;
	}
	mutex_unlock(&mock_group_lock);
	return 0;
}

DEFINE_DEBUGFS_ATTRIBUTE(mock_share_group_fops, mock_share_group_get,
			 mock_share_group_set, "%llu\n");

static struct iommu_device *mock_probe_device(struct device *dev)
{
	if (dev->bus != &mock_bus_type || to_mock_dev(dev)->no_iommu)
		return ERR_PTR(-ENODEV);
	return &mock_iommu;
}

static int mock_dev_enable_iopf(struct mock_dev *mdev)
{
	int rc = 0;

	if (!mock_iopf_queue)
		return -ENODEV;
	mutex_lock(&mock_iopf_lock);
	if (mdev->iopf_enabled)
		rc = -EBUSY;
	else
		rc = iopf_queue_add_device(mock_iopf_queue, &mdev->dev);
	if (!rc)
		mdev->iopf_enabled = true;
	mutex_unlock(&mock_iopf_lock);
	return rc;
}

/* Answers what is still pending, as a real driver does. */
static int mock_dev_disable_iopf(struct mock_dev *mdev)
{
	int rc = 0;

	mutex_lock(&mock_iopf_lock);
	if (mdev->iopf_enabled)
		iopf_queue_remove_device(mock_iopf_queue, &mdev->dev);
	else
		rc = -EINVAL;
	mdev->iopf_enabled = false;
	mutex_unlock(&mock_iopf_lock);
	return rc;
}

/* Like VT-d: enabling twice is EBUSY, disabling what is off EINVAL. */
static int mock_dev_enable_feat(struct device *dev,
				enum iommu_dev_features feat)
{
	if (feat != IOMMU_DEV_FEAT_IOPF)
		return -ENODEV;
	return mock_dev_enable_iopf(to_mock_dev(dev));
}

static int mock_dev_disable_feat(struct device *dev,
				 enum iommu_dev_features feat)
{
	if (feat != IOMMU_DEV_FEAT_IOPF)
		return -ENODEV;
	return mock_dev_disable_iopf(to_mock_dev(dev));
}

/* The core disables IOPF when the device leaves a fault-capable domain. */
static void mock_release_device(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	if (WARN_ON(READ_ONCE(mdev->iopf_enabled)))
		mock_dev_disable_iopf(mdev);
}

/*
 * The mock device retries nothing, so a response only ends the request;
 * it is counted for the debugfs files iopf_responses and
 * iopf_last_response.
 */
static void mock_page_response(struct device *dev, struct iopf_fault *evt,
			       struct iommu_page_response *msg)
{
	WRITE_ONCE(mock_iopf_last_response, msg->code);
	atomic_inc(&mock_iopf_responses);
}

static const struct iommu_ops mock_ops = {
	.owner = THIS_MODULE,
	.capable = mock_capable,
	.hw_info = mock_hw_info,
	.probe_device = mock_probe_device,
	.release_device = mock_release_device,
	.device_group = mock_device_group,
	.domain_alloc_paging = mock_domain_alloc_paging,
	.domain_alloc_user = mock_domain_alloc_user,
	.get_resv_regions = mock_get_resv_regions,
	.dev_enable_feat = mock_dev_enable_feat,
	.dev_disable_feat = mock_dev_disable_feat,
	.page_response = mock_page_response,
	/* Faults with a PASID go to the domain of the RID (see the top). */
	.user_pasid_table = 1,
	/* Mock devices start out blocked; they have no identity domain. */
	.default_domain = &mock_blocking_domain,
	.blocked_domain = &mock_blocking_domain,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE,
	.default_domain_ops = &mock_domain_ops,
};

static void mock_dev_release(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);

	ida_free(&mock_dev_ida, mdev->id);
	kfree(mdev);
}

/*
 * Point the device at the mock IOMMU before it is added.  The core frees
 * both allocations (dev_iommu_free()) when it releases the device; the
 * device is not visible to anyone yet, so no locking is needed.
 */
static int mock_dev_set_fwspec(struct device *dev)
{
	struct iommu_fwspec *fwspec;

	dev->iommu = kzalloc(sizeof(*dev->iommu), GFP_KERNEL);
	if (!dev->iommu)
		return -ENOMEM;
	mutex_init(&dev->iommu->lock);
	fwspec = kzalloc(struct_size(fwspec, ids, 1), GFP_KERNEL);
	if (!fwspec) {
		kfree(dev->iommu);
		dev->iommu = NULL;
		return -ENOMEM;
	}
	fwspec->iommu_fwnode = &mock_fwnode;
	dev->iommu->fwspec = fwspec;
	return 0;
}

static struct mock_dev *mock_dev_create(unsigned long flags)
{
	struct mock_dev *mdev;
	int rc;

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev)
		return ERR_PTR(-ENOMEM);
	device_initialize(&mdev->dev);
	mdev->flags = flags;
	mdev->sw_msi_start = READ_ONCE(mock_sw_msi_start);
	mdev->sw_msi_length = READ_ONCE(mock_sw_msi_length);
	mdev->shared_group = READ_ONCE(mock_share_group);
	mdev->no_iommu = READ_ONCE(mock_no_iommu);
	mdev->enforce_coherency = READ_ONCE(mock_enforce_coherency);
	mdev->dev.release = mock_dev_release;
	mdev->dev.bus = &mock_bus_type;
	if (!READ_ONCE(mock_msi_unsafe))
		dev_set_msi_domain(&mdev->dev, mock_msi_domain);

	mdev->id = ida_alloc(&mock_dev_ida, GFP_KERNEL);
	if (mdev->id < 0) {
		rc = mdev->id;
		kfree(mdev);
		return ERR_PTR(rc);
	}
	rc = dev_set_name(&mdev->dev, "iommufd_mock%d", mdev->id);
	if (!rc)
		rc = mock_dev_set_fwspec(&mdev->dev);
	if (rc)
		goto err_put;
	rc = device_add(&mdev->dev);
	if (rc)
		goto err_put;
	if (!mdev->dev.iommu_group && !mdev->no_iommu) {
		/* The probe failed: there is no IOMMU behind the device. */
		device_unregister(&mdev->dev);
		return ERR_PTR(-ENODEV);
	}
	return mdev;

err_put:
	if (mdev->dev.iommu) {
		iommu_fwspec_free(&mdev->dev);
		kfree(mdev->dev.iommu);
		mdev->dev.iommu = NULL;
	}
	put_device(&mdev->dev);
	return ERR_PTR(rc);
}

static void mock_dev_destroy(struct mock_dev *mdev)
{
	device_unregister(&mdev->dev);
}

/* Objects of type IOMMUFD_OBJ_SELFTEST: a mock device and its binding. */
struct selftest_obj {
	struct iommufd_object obj;
	struct iommufd_device *idev;
	struct mock_dev *mdev;
	bool attached;
	bool buggy_driver;	/* detach exactly when it should not */
};

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct selftest_obj *sobj = container_of(obj, struct selftest_obj, obj);

	if (sobj->attached != sobj->buggy_driver)
		iommufd_device_detach(sobj->idev);
	__iommufd_device_unbind(sobj->idev);
	mock_dev_destroy(sobj->mdev);
}

static struct selftest_obj *iommufd_get_selftest(struct iommufd_ctx *ictx,
						 u32 id)
{
	struct iommufd_object *obj = iommufd_obj_get(ictx, id,
						     IOMMUFD_OBJ_SELFTEST);

	return IS_ERR(obj) ? ERR_CAST(obj) :
			     container_of(obj, struct selftest_obj, obj);
}

/*
 * MOCK_DOMAIN(_FLAGS): a new mock device, bound and attached to cmd->id
 * (with the bind_only knob: bound only).
 */
static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	struct iommufd_device *idev;
	struct selftest_obj *sobj;
	unsigned long dev_flags = 0;
	u32 pt_id = cmd->id;
	u32 idev_id;
	int rc;

	if (cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS) {
		dev_flags = cmd->mock_domain_flags.dev_flags;
		if (dev_flags & ~(MOCK_FLAGS_DEVICE_NO_DIRTY |
				  MOCK_FLAGS_DEVICE_HUGE_IOVA))
			return -EINVAL;
	}

	sobj = iommufd_object_new(ucmd->ictx, struct selftest_obj,
				  IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	sobj->buggy_driver = READ_ONCE(mock_buggy_driver);

	sobj->mdev = mock_dev_create(dev_flags);
	if (IS_ERR(sobj->mdev)) {
		rc = PTR_ERR(sobj->mdev);
		goto out_abort;
	}
	idev = iommufd_device_bind(ucmd->ictx, &sobj->mdev->dev, &idev_id);
	if (IS_ERR(idev)) {
		rc = PTR_ERR(idev);
		goto out_mdev;
	}
	/* The ioctl's file keeps the context; this device lives inside it. */
	iommufd_ctx_put(ucmd->ictx);
	sobj->idev = idev;
	if (READ_ONCE(mock_bind_only)) {
		pt_id = 0;
	} else {
		rc = iommufd_device_attach(idev, &pt_id);
		if (rc)
			goto out_unbind;
		sobj->attached = true;
	}

	/* Both layouts put the three IDs in the same place. */
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_idev_id = idev_id;
	return iommufd_ucmd_reply_publish(ucmd, &sobj->obj,
					  &cmd->mock_domain.out_stdev_id,
					  sizeof(*cmd));

out_unbind:
	__iommufd_device_unbind(idev);
out_mdev:
	mock_dev_destroy(sobj->mdev);
out_abort:
	iommufd_object_discard(ucmd->ictx, &sobj->obj);
	return rc;
}

/*
 * MOCK_DOMAIN_REPLACE: move the mock device cmd->id to pt_id, or attach it
 * there if it is only bound.
 */
static int iommufd_test_mock_domain_replace(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	u32 pt_id = cmd->mock_domain_replace.pt_id;
	struct selftest_obj *sobj;
	int rc;

	sobj = iommufd_get_selftest(ucmd->ictx, cmd->id);
	if (IS_ERR(sobj))
		return PTR_ERR(sobj);
	if (sobj->attached) {
		rc = iommufd_device_replace(sobj->idev, &pt_id);
	} else {
		rc = iommufd_device_attach(sobj->idev, &pt_id);
		sobj->attached = !rc;
	}
	if (!rc) {
		cmd->mock_domain_replace.pt_id = pt_id;
		rc = iommufd_ucmd_reply(ucmd, sizeof(*cmd));
	}
	iommufd_obj_put(ucmd->ictx, &sobj->obj);
	return rc;
}

/* ADD_RESERVED: reserve [start, start + length - 1] in the IOAS cmd->id. */
static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	unsigned long last;
	struct iommufd_ioas *ioas;
	int rc;

	rc = iopt_range_last(cmd->add_reserved.start,
			     cmd->add_reserved.length, &last);
	if (rc)
		return rc;

	ioas = iommufd_ioas_get(ucmd->ictx, cmd->id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = iopt_reserve(&ioas->iopt, cmd->add_reserved.start, last,
			  NULL);
	iommufd_obj_put(ucmd->ictx, &ioas->obj);
	return rc;
}

/* The user page at @uaddr, referenced (not pinned). */
static struct page *test_user_page(unsigned long uaddr)
{
	struct page *page;

	if (get_user_pages_fast(uaddr & PAGE_MASK, 1, 0, &page) != 1)
		return NULL;
	return page;
}

/*
 * The hw_pagetable @id of @type, held by a lookup, if its domain is a mock
 * one with @ops (EINVAL otherwise).
 */
static struct iommufd_hw_pagetable *
mock_hwpt_get(struct iommufd_ctx *ictx, u32 id, enum iommufd_object_type type,
	      const struct iommu_domain_ops *ops)
{
	struct iommufd_hw_pagetable *hwpt;
	struct iommufd_object *obj;

	obj = iommufd_obj_get(ictx, id, type);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (hwpt->domain->ops != ops) {
		iommufd_obj_put(ictx, obj);
		return ERR_PTR(-EINVAL);
	}
	return hwpt;
}

/* Does the mock domain map [iova, +length) to the user pages given? */
static int mock_domain_maps(struct iommufd_ctx *ictx, u32 hwpt_id,
			    unsigned long iova, unsigned long uptr,
			    unsigned long length, struct page **upages)
{
	struct iommufd_hw_pagetable *hwpt;
	struct mock_domain *mock;
	int rc = 0;

	hwpt = mock_hwpt_get(ictx, hwpt_id, IOMMUFD_OBJ_HWPT_PAGING,
			     &mock_domain_ops);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	mock = to_mock_domain(hwpt->domain);
	for (; length; length -= MOCK_IO_PAGE_SIZE, iova += MOCK_IO_PAGE_SIZE,
	     uptr += MOCK_IO_PAGE_SIZE) {
		void *pte = xa_load(&mock->ptes, iova / MOCK_IO_PAGE_SIZE);
		phys_addr_t want = page_to_phys(*upages) + uptr % PAGE_SIZE;

		if (!pte || mock_pte_paddr(pte) != want) {
			rc = -EINVAL;
			break;
		}
		/* The next chunk of the user range starts a new page. */
		if ((uptr + MOCK_IO_PAGE_SIZE) % PAGE_SIZE == 0)
			upages++;
	}
	iommufd_obj_put(ictx, &hwpt->obj);
	return rc;
}

/*
 * MD_CHECK_MAP: does the mock domain of hwpt cmd->id map the user range?
 * The user pages are looked up before the hw_pagetable is, a chunk at a
 * time, so a fault on them holds up no one.
 */
static int iommufd_test_md_check_map(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->check_map.iova;
	unsigned long uptr = cmd->check_map.uptr;
	unsigned long length = cmd->check_map.length;
	struct page *upages[64];
	int rc = 0;

	if ((iova | length) % MOCK_IO_PAGE_SIZE || uptr % MOCK_IO_PAGE_SIZE)
		return -EINVAL;

	while (length && !rc) {
		unsigned long first = uptr & PAGE_MASK;
		unsigned long chunk = min(length, ARRAY_SIZE(upages) * PAGE_SIZE -
						  (uptr - first));
		int n = DIV_ROUND_UP(uptr - first + chunk, PAGE_SIZE);
		int got = get_user_pages_fast(first, n, 0, upages);

		if (got == n)
			rc = mock_domain_maps(ucmd->ictx, cmd->id, iova, uptr,
					      chunk, upages);
		else
			rc = -EFAULT;
		while (got > 0)
			put_page(upages[--got]);
		iova += chunk;
		uptr += chunk;
		length -= chunk;
	}
	return rc;
}

/*
 * MD_CHECK_REFS: is every page of the range pinned cmd->refs times?  For a
 * page of a large folio only "pinned or not" can be told.
 */
static int iommufd_test_md_check_refs(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	unsigned long uptr = cmd->check_refs.uptr;
	unsigned long length = cmd->check_refs.length;
	unsigned int refs = cmd->check_refs.refs;

	if ((uptr | length) % PAGE_SIZE)
		return -EINVAL;

	for (; length; length -= PAGE_SIZE, uptr += PAGE_SIZE) {
		struct page *page = test_user_page(uptr);
		struct folio *folio;
		bool ok;

		if (!page)
			return -EFAULT;
		folio = page_folio(page);
		if (folio_test_large(folio))
			ok = folio_maybe_dma_pinned(folio) == !!refs;
		else
			ok = folio_ref_count(folio) / GUP_PIN_COUNTING_BIAS ==
			     refs;
		put_page(page);
		if (!ok)
			return -EIO;
	}
	return 0;
}

/* Mark the IOPTEs translating [first, last] dirty; false if there are none. */
static bool mock_domain_mark_dirty(struct mock_domain *mock,
				   unsigned long first, unsigned long last)
{
	unsigned long index = first / MOCK_IO_PAGE_SIZE;
	unsigned long max = last / MOCK_IO_PAGE_SIZE;
	bool mapped = false;
	void *pte;

	while ((pte = xa_find(&mock->ptes, &index, max, XA_PRESENT))) {
		unsigned long head = mock_iopte_first(index, pte);

		/* Gone meanwhile is fine: the write came before the unmap. */
		mock_pte_change(mock, head, MOCK_PTE_DIRTY, 0);
		mapped = true;
		index = head + mock_iopte_chunks(pte);
		if (index > max)
			break;
	}
	return mapped;
}

/* Mark the pages of the @nbits bits in @words; return how many are mapped. */
static unsigned long mock_domain_mark_bits(struct mock_domain *mock,
					   const u64 *words,
					   unsigned long nbits,
					   unsigned long iova,
					   unsigned long page_size)
{
	unsigned long w, nr = 0;

	for (w = 0; w != DIV_ROUND_UP(nbits, 64); w++) {
		u64 word = words[w];

		if (nbits - w * 64 < 64)
			word &= GENMASK_ULL(nbits - w * 64 - 1, 0);
		while (word) {
			unsigned long first =
				iova + (w * 64 + __ffs64(word)) * page_size;

			nr += mock_domain_mark_dirty(mock, first,
						     first + page_size - 1);
			word &= word - 1;
		}
	}
	return nr;
}

/*
 * DIRTY: play DMA writes to the pages of [iova, iova + length) whose bits
 * are set in the user bitmap (u64 words, one bit per page_size bytes, laid
 * out as IOMMU_HWPT_GET_DIRTY_BITMAP writes them): every IOPTE translating
 * such a page gets dirty.  The range lies in the aperture, and the domain
 * must be tracking (EINVAL otherwise).  The bitmap is read a page at a time
 * with only the hw_pagetable's lookup held.  out_nr_dirty counts the set
 * bits whose page is mapped.
 */
static int iommufd_test_dirty(struct iommufd_ucmd *ucmd,
			      struct iommu_test_cmd *cmd)
{
	const unsigned long chunk_bits = PAGE_SIZE * BITS_PER_BYTE;
	u64 __user *uptr = u64_to_user_ptr(cmd->dirty.uptr);
	unsigned long page_size = cmd->dirty.page_size;
	unsigned long length = cmd->dirty.length;
	unsigned long iova = cmd->dirty.iova;
	unsigned long nbits, bit, last, nr_dirty = 0;
	struct iommufd_hw_pagetable *hwpt;
	struct mock_domain *mock;
	u64 *words;
	int rc = 0;

	if (cmd->dirty.flags || cmd->dirty.__pad)
		return -EOPNOTSUPP;
	if (!is_power_of_2(page_size) || !length ||
	    (iova | length) & (page_size - 1) ||
	    check_add_overflow(iova, length - 1, &last) ||
	    iova < MOCK_APERTURE_START || last > MOCK_APERTURE_LAST)
		return -EINVAL;
	nbits = length / page_size;

	words = kmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT);
	if (!words)
		return -ENOMEM;
	hwpt = mock_hwpt_get(ucmd->ictx, cmd->id, IOMMUFD_OBJ_HWPT_PAGING,
			     &mock_domain_ops);
	if (IS_ERR(hwpt)) {
		rc = PTR_ERR(hwpt);
		goto out_free;
	}
	mock = to_mock_domain(hwpt->domain);
	if (!READ_ONCE(mock->dirty_tracking)) {
		rc = -EINVAL;
		goto out_put;
	}

	for (bit = 0; bit < nbits; bit += chunk_bits) {
		unsigned long n = min(nbits - bit, chunk_bits);

		if (copy_from_user(words, uptr + bit / 64,
				   DIV_ROUND_UP(n, 64) * sizeof(u64))) {
			rc = -EFAULT;
			goto out_put;
		}
		nr_dirty += mock_domain_mark_bits(mock, words, n,
						  iova + bit * page_size,
						  page_size);
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			goto out_put;
		}
		cond_resched();
	}
	cmd->dirty.out_nr_dirty = nr_dirty;
	rc = iommufd_ucmd_reply(ucmd, sizeof(*cmd));
out_put:
	iommufd_obj_put(ucmd->ictx, &hwpt->obj);
out_free:
	kfree(words);
	return rc;
}

/* MD_CHECK_IOTLB: does the IOTLB entry of the nested hwpt cmd->id match? */
static int iommufd_test_md_check_iotlb(struct iommufd_ucmd *ucmd,
				       struct iommu_test_cmd *cmd)
{
	u32 id = cmd->check_iotlb.id;
	struct iommufd_hw_pagetable *hwpt;
	int rc = 0;

	if (id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
		return -EINVAL;
	hwpt = mock_hwpt_get(ucmd->ictx, cmd->id, IOMMUFD_OBJ_HWPT_NESTED,
			     &mock_nested_ops);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (READ_ONCE(to_mock_nested(hwpt->domain)->iotlb[id]) !=
	    cmd->check_iotlb.iotlb)
		rc = -EINVAL;
	iommufd_obj_put(ucmd->ictx, &hwpt->obj);
	return rc;
}

struct mock_fault_report {
	struct device *dev;
	struct iopf_fault *event;
	int rc;
};

/*
 * Called with the group's mutex held, which every attach, replace and
 * detach of the group holds too: like a real IOMMU's fault path, which
 * the driver drains when the device changes domain, a request is routed
 * entirely before or entirely after such a change, so it never reaches
 * an attach handle that is going away.
 */
static int mock_report_fault(struct device *dev, void *data)
{
	struct mock_fault_report *report = data;

	if (dev == report->dev)
		report->rc = iommu_report_device_fault(dev, report->event);
	return 0;
}

/*
 * TRIGGER_IOPF: the mock device bound as dev_id sends a page request, the
 * last (and only) one of its group.  The IOPF core routes it to the fault
 * handler of the device's domain, or answers it through page_response and
 * fails with EINVAL when there is none.
 */
static int iommufd_test_trigger_iopf(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct iommu_test_trigger_iopf *req = &cmd->trigger_iopf;
	struct mock_fault_report report;
	struct iopf_fault event = {};
	struct iommufd_device *idev;
	struct iommufd_object *obj;
	int rc;

	/* The uAPI's permission bits are the kernel's. */
	BUILD_BUG_ON((IOMMU_PGFAULT_PERM_READ ^ IOMMU_FAULT_PERM_READ) |
		     (IOMMU_PGFAULT_PERM_WRITE ^ IOMMU_FAULT_PERM_WRITE) |
		     (IOMMU_PGFAULT_PERM_EXEC ^ IOMMU_FAULT_PERM_EXEC) |
		     (IOMMU_PGFAULT_PERM_PRIV ^ IOMMU_FAULT_PERM_PRIV));
	if (req->perm & ~(IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE |
			  IOMMU_PGFAULT_PERM_EXEC | IOMMU_PGFAULT_PERM_PRIV))
		return -EOPNOTSUPP;

	obj = iommufd_obj_get(ucmd->ictx, req->dev_id, IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	idev = container_of(obj, struct iommufd_device, obj);
	/* Only a mock device can be made to fault. */
	if (idev->dev->bus != &mock_bus_type) {
		rc = -EINVAL;
		goto out_put;
	}

	event.fault.type = IOMMU_FAULT_PAGE_REQ;
	event.fault.prm.flags = IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
	if (req->pasid != IOMMU_NO_PASID) {
		event.fault.prm.flags |= IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
		event.fault.prm.pasid = req->pasid;
	}
	event.fault.prm.grpid = req->grpid;
	event.fault.prm.perm = req->perm;
	event.fault.prm.addr = req->addr;
	report.dev = idev->dev;
	report.event = &event;
	report.rc = -ENODEV;
	iommu_group_for_each_dev(idev->igroup->iommu_group, &report,
				 mock_report_fault);
	rc = report.rc;
out_put:
	iommufd_obj_put(ucmd->ictx, obj);
	return rc;
}

/* A mock access: an iommufd_access owned by a file. */
struct selftest_access {
	struct iommufd_access *access;
	struct mutex lock;	/* protects everything below */
	struct list_head items;
	struct xarray by_page;	/* IOVA page -> chain of items starting there */
	struct rb_root_cached ever;	/* IOVA the access ever pinned, merged */
	unsigned int next_id;
};

/* Pages one ACCESS_PAGES call pinned. */
struct selftest_access_item {
	struct list_head link;
	struct selftest_access_item *next_at_page;
	unsigned long iova;
	unsigned long length;
	unsigned int id;
};

/* Add an item to the chain of the page its IOVA starts in. */
static int selftest_access_index(struct selftest_access *staccess,
				 struct selftest_access_item *item)
{
	unsigned long page = item->iova >> PAGE_SHIFT;

	item->next_at_page = xa_load(&staccess->by_page, page);
	return xa_err(xa_store(&staccess->by_page, page, item,
			       GFP_KERNEL_ACCOUNT));
}

static void selftest_access_unindex(struct selftest_access *staccess,
				    struct selftest_access_item *item)
{
	unsigned long page = item->iova >> PAGE_SHIFT;
	struct selftest_access_item *head = xa_load(&staccess->by_page, page);

	if (head != item) {
		while (head->next_at_page != item)
			head = head->next_at_page;
		head->next_at_page = item->next_at_page;
	} else if (item->next_at_page) {
		/* The slot exists: no memory needed. */
		xa_store(&staccess->by_page, page, item->next_at_page,
			 GFP_ATOMIC);
	} else {
		xa_erase(&staccess->by_page, page);
	}
}

/* Remember [first, last] as pinned once; @spare is used if needed. */
static void selftest_access_remember(struct selftest_access *staccess,
				     unsigned long first, unsigned long last,
				     struct interval_tree_node **spare)
{
	unsigned long lo = first ? first - 1 : 0;
	unsigned long hi = last == ULONG_MAX ? last : last + 1;
	struct interval_tree_node *node;

	/* Merge with every range that meets or touches this one. */
	while ((node = interval_tree_iter_first(&staccess->ever, lo, hi))) {
		first = min(first, node->start);
		last = max(last, node->last);
		interval_tree_remove(node, &staccess->ever);
		kfree(*spare);
		*spare = node;
	}
	(*spare)->start = first;
	(*spare)->last = last;
	interval_tree_insert(*spare, &staccess->ever);
	*spare = NULL;
}

static bool selftest_access_ever_pinned(struct selftest_access *staccess,
					unsigned long first, unsigned long last)
{
	struct interval_tree_span_iter span;

	interval_tree_for_each_span(&span, &staccess->ever, first, last) {
		if (span.is_hole)
			return false;
	}
	return true;
}

static void selftest_access_unpin_item(struct selftest_access *staccess,
				       struct selftest_access_item *item)
{
	iommufd_access_unpin_pages(staccess->access, item->iova,
				   item->length);
	selftest_access_unindex(staccess, item);
	list_del(&item->link);
	kfree(item);
}

/* Unpin the item @id of the access, if it still has it. */
static int selftest_access_drop_item(struct selftest_access *staccess,
				     unsigned int id)
{
	struct selftest_access_item *item;
	int rc = -ENOENT;

	mutex_lock(&staccess->lock);
	list_for_each_entry(item, &staccess->items, link) {
		if (item->id == id) {
			selftest_access_unpin_item(staccess, item);
			rc = 0;
			break;
		}
	}
	mutex_unlock(&staccess->lock);
	return rc;
}

/*
 * The unmap op, as a real driver does it: walk the range page by page and
 * drop every item that starts there.  With fault injection (fail_iommufd)
 * it plays an access that does not let go.  A request for IOVA the access
 * never pinned is a bug of the core: the walk would be pointless, and for
 * a huge range endless.
 */
static void selftest_access_unmap(void *data, unsigned long iova,
				  unsigned long length)
{
	struct selftest_access *staccess = data;
	unsigned long last, page;

	if (WARN_ON(!length || check_add_overflow(iova, length - 1, &last)))
		return;
	if (iommufd_should_fail())
		return;
	mutex_lock(&staccess->lock);
	if (WARN(!selftest_access_ever_pinned(staccess, iova, last),
		 "iommufd_mock: asked to unmap [0x%lx, 0x%lx], never pinned there\n",
		 iova, last))
		goto out_unlock;
	for (page = iova >> PAGE_SHIFT; page <= last >> PAGE_SHIFT; page++) {
		struct selftest_access_item *item, *next;

		for (item = xa_load(&staccess->by_page, page); item;
		     item = next) {
			next = item->next_at_page;
			selftest_access_unpin_item(staccess, item);
		}
		cond_resched();
	}
out_unlock:
	mutex_unlock(&staccess->lock);
}

static const struct iommufd_access_ops selftest_access_pin_ops = {
	.needs_pin_pages = 1,
	.unmap = selftest_access_unmap,
};

static const struct iommufd_access_ops selftest_access_rw_ops = {
	.unmap = selftest_access_unmap,
};

static void selftest_access_free(struct selftest_access *staccess)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(&staccess->ever, 0,
						ULONG_MAX))) {
		interval_tree_remove(node, &staccess->ever);
		kfree(node);
	}
	WARN_ON(!xa_empty(&staccess->by_page));
	xa_destroy(&staccess->by_page);
	mutex_destroy(&staccess->lock);
	kfree(staccess);
}

/* Closing the access: give back its pins, as a driver's close does. */
static int selftest_access_release(struct inode *inode, struct file *filep)
{
	struct selftest_access *staccess = filep->private_data;
	struct selftest_access_item *item, *next;

	mutex_lock(&staccess->lock);
	list_for_each_entry_safe(item, next, &staccess->items, link)
		selftest_access_unpin_item(staccess, item);
	mutex_unlock(&staccess->lock);
	iommufd_access_destroy(staccess->access);
	selftest_access_free(staccess);
	return 0;
}

static const struct file_operations selftest_access_fops = {
	.owner = THIS_MODULE,
	.release = selftest_access_release,
};

/* The mock access behind file descriptor @fd, with the file held. */
static struct selftest_access *selftest_access_get(int fd, struct file **filep)
{
	struct file *file = fget(fd);

	if (file && file->f_op == &selftest_access_fops) {
		*filep = file;
		return file->private_data;
	}
	if (file)
		fput(file);
	return ERR_PTR(-EBADFD);
}

/* CREATE_ACCESS: an access attached to the IOAS cmd->id, as an fd. */
static int iommufd_test_create_access(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	unsigned int flags = cmd->create_access.flags;
	struct selftest_access *staccess;
	struct iommufd_access *access;
	struct file *filep;
	u32 id;
	int fd, rc;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;

	staccess = kzalloc(sizeof(*staccess), GFP_KERNEL_ACCOUNT);
	if (!staccess)
		return -ENOMEM;
	mutex_init(&staccess->lock);
	INIT_LIST_HEAD(&staccess->items);
	xa_init(&staccess->by_page);
	staccess->ever = RB_ROOT_CACHED;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		rc = fd;
		goto out_free;
	}
	access = iommufd_access_create(ucmd->ictx,
				       (flags &
					MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) ?
					       &selftest_access_pin_ops :
					       &selftest_access_rw_ops,
				       staccess, &id);
	if (IS_ERR(access)) {
		rc = PTR_ERR(access);
		goto out_put_fd;
	}
	staccess->access = access;
	cmd->create_access.out_access_fd = fd;
	rc = iommufd_access_attach(access, cmd->id);
	/* The fd is only installed once the reply is out. */
	rc = rc ?: iommufd_ucmd_reply(ucmd, sizeof(*cmd));
	if (rc)
		goto out_destroy;

	filep = anon_inode_getfile("[iommufd_test_access]",
				   &selftest_access_fops, staccess, O_RDWR);
	if (IS_ERR(filep)) {
		rc = PTR_ERR(filep);
		goto out_destroy;
	}
	fd_install(fd, filep);
	return 0;

out_destroy:
	iommufd_access_destroy(access);
out_put_fd:
	put_unused_fd(fd);
out_free:
	selftest_access_free(staccess);
	return rc;
}

/* ACCESS_REPLACE_IOAS: move the access cmd->id to another IOAS. */
static int iommufd_test_access_replace_ioas(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	struct selftest_access *staccess;
	struct file *filep;
	int rc;

	staccess = selftest_access_get(cmd->id, &filep);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	rc = iommufd_access_replace(staccess->access,
				    cmd->access_replace_ioas.ioas_id);
	fput(filep);
	return rc;
}

/*
 * Are the pinned pages the user memory at @uptr?  0, -EBADE if not, or
 * -EFAULT if the user memory is not there.
 */
static int selftest_pages_match(struct page **pages, unsigned long npages,
				unsigned long uptr)
{
	struct page *user[64];
	unsigned long i, n;

	for (i = 0; i < npages; i += n) {
		int rc = 0;
		long got;

		n = min_t(unsigned long, npages - i, ARRAY_SIZE(user));
		got = get_user_pages_fast(uptr + i * PAGE_SIZE, n, 0, user);
		if (got != n)
			rc = -EFAULT;
		else if (memcmp(user, pages + i, n * sizeof(*user)))
			rc = -EBADE;
		if (got > 0)
			release_pages(user, got);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * The IOVA a call means.  Under MOCK_FLAGS_ACCESS_SYZ a fuzzer, which cannot
 * know the IOVAs its maps got, names a place by area: the low 32 bits of
 * @iova count the areas of the access's IOAS in IOVA order, the high 32
 * bits are a byte offset from the start of that one; IOVA 0 if there is no
 * such area.
 */
static unsigned long selftest_access_iova(struct iommufd_access *access,
					  u64 iova, unsigned int flags)
{
	u32 nth = lower_32_bits(iova), offset = upper_32_bits(iova);
	struct interval_tree_node *node;
	struct io_pagetable *iopt;
	unsigned long found = 0;

	if (!(flags & MOCK_FLAGS_ACCESS_SYZ))
		return iova;
	mutex_lock(&access->ioas_mutex);
	if (!access->ioas)
		goto out_unlock;
	iopt = &access->ioas->iopt;
	down_read(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(&iopt->areas, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (!nth--) {
			found = node->start + offset;
			break;
		}
	}
	up_read(&iopt->iova_rwsem);
out_unlock:
	mutex_unlock(&access->ioas_mutex);
	return found;
}

/* ACCESS_PAGES: pin an IOVA range through the access cmd->id. */
static int iommufd_test_access_pages(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	unsigned long uptr = cmd->access_pages.uptr;
	unsigned long length = cmd->access_pages.length;
	unsigned int flags = cmd->access_pages.flags;
	struct interval_tree_node *spare = NULL;
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	unsigned long npages, end;
	unsigned long iova;
	unsigned int id;
	struct page **pages;
	struct file *filep;
	int rc;

	if (flags & ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	staccess = selftest_access_get(cmd->id, &filep);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	if (!staccess->access->ops->needs_pin_pages) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}
	iova = selftest_access_iova(staccess->access, cmd->access_pages.iova,
				    flags);
	rc = -EINVAL;
	if (!length)
		goto out_put;
	/* A range that wraps, even once rounded up to pages. */
	rc = -EOVERFLOW;
	if (check_add_overflow(iova, length, &end) ||
	    end > ULONG_MAX - PAGE_SIZE)
		goto out_put;
	npages = (ALIGN(end, PAGE_SIZE) - ALIGN_DOWN(iova, PAGE_SIZE)) /
		 PAGE_SIZE;
	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	item = kzalloc(sizeof(*item), GFP_KERNEL_ACCOUNT);
	spare = kzalloc(sizeof(*spare), GFP_KERNEL_ACCOUNT);
	if (!pages || !item || !spare) {
		rc = -ENOMEM;
		goto out_free;
	}

	mutex_lock(&staccess->lock);
	rc = iommufd_access_pin_pages(staccess->access, iova, length, pages,
				      (flags & MOCK_FLAGS_ACCESS_WRITE) ?
					      IOMMUFD_ACCESS_RW_WRITE :
					      0);
	if (rc)
		goto out_unlock;
	item->iova = iova;
	item->length = length;
	item->id = staccess->next_id++;
	rc = selftest_access_index(staccess, item);
	if (rc) {
		iommufd_access_unpin_pages(staccess->access, iova, length);
		goto out_unlock;
	}
	selftest_access_remember(staccess, iova, end - 1, &spare);
	list_add_tail(&item->link, &staccess->items);
	id = item->id;
	/* The list has it now, and an unmap may drop it once unlocked. */
	item = NULL;
	mutex_unlock(&staccess->lock);

	/*
	 * User memory is looked at with no lock an unmap op needs; a caller
	 * with no pointer to give (a fuzzer) passes none.
	 */
	rc = uptr ? selftest_pages_match(pages, npages, uptr & PAGE_MASK) : 0;
	if (!rc) {
		cmd->access_pages.out_access_pages_id = id;
		rc = iommufd_ucmd_reply(ucmd, sizeof(*cmd));
	}
	if (rc)
		selftest_access_drop_item(staccess, id);
	goto out_free;

out_unlock:
	mutex_unlock(&staccess->lock);
out_free:
	kfree(spare);
	kfree(item);
	kvfree(pages);
out_put:
	fput(filep);
	return rc;
}

/* DESTROY_ACCESS_PAGES: unpin one item of the access cmd->id. */
static int iommufd_test_access_item_destroy(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	struct selftest_access *staccess;
	struct file *filep;
	int rc;

	staccess = selftest_access_get(cmd->id, &filep);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	rc = selftest_access_drop_item(staccess,
				       cmd->destroy_access_pages.access_pages_id);
	fput(filep);
	return rc;
}

/* ACCESS_RW: copy between user memory at uptr and IOVA via the access. */
static int iommufd_test_access_rw(struct iommufd_ucmd *ucmd,
				  struct iommu_test_cmd *cmd)
{
	void __user *uptr = u64_to_user_ptr(cmd->access_rw.uptr);
	unsigned long length = cmd->access_rw.length;
	unsigned int flags = cmd->access_rw.flags;
	unsigned int rw_flags = 0;
	struct selftest_access *staccess;
	struct file *filep;
	unsigned long iova;
	void *buf;
	int rc;

	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH |
		      MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	if (flags & MOCK_ACCESS_RW_WRITE)
		rw_flags |= IOMMUFD_ACCESS_RW_WRITE;
	if (flags & MOCK_ACCESS_RW_SLOW_PATH)
		rw_flags |= __IOMMUFD_ACCESS_RW_SLOW_PATH;
	if (!length || length > SZ_16M)
		return -EINVAL;

	staccess = selftest_access_get(cmd->id, &filep);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	iova = selftest_access_iova(staccess->access, cmd->access_rw.iova,
				    flags);
	/*
	 * A bounce buffer, as a driver emulating a device's DMA has; not
	 * zeroed: what is copied out was first filled, all of it.
	 */
	buf = kvmalloc(length, GFP_KERNEL_ACCOUNT);
	rc = buf ? 0 : -ENOMEM;
	if (!rc && (flags & MOCK_ACCESS_RW_WRITE) &&
	    copy_from_user(buf, uptr, length))
		rc = -EFAULT;
	if (!rc)
		rc = iommufd_access_rw(staccess->access, iova, buf, length,
				       rw_flags);
	if (!rc && !(flags & MOCK_ACCESS_RW_WRITE) &&
	    copy_to_user(uptr, buf, length))
		rc = -EFAULT;
	kvfree(buf);
	fput(filep);
	return rc;
}

/**
 * iommufd_test() - the IOMMU_TEST_CMD ioctl
 * @ucmd: the call; ucmd->cmd is a struct iommu_test_cmd
 *
 * Return: 0 or the errno of the op; -EOPNOTSUPP for unknown ops.
 */
int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return iommufd_test_mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return iommufd_test_mock_domain_replace(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iommufd_test_md_check_map(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_md_check_refs(ucmd, cmd);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return iommufd_test_create_access(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return iommufd_test_access_replace_ioas(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return iommufd_test_access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return iommufd_test_access_item_destroy(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iommufd_test_access_rw(ucmd, cmd);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		WRITE_ONCE(iommufd_test_memory_limit,
			   cmd->memory_limit.limit);
		return 0;
	case IOMMU_TEST_OP_DIRTY:
		return iommufd_test_dirty(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		return iommufd_test_md_check_iotlb(ucmd, cmd);
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return iommufd_test_trigger_iopf(ucmd, cmd);
	default:
		return -EOPNOTSUPP;
	}
}

int iommufd_test_init(void)
{
	int rc;

	fail_iommufd_dir = fault_create_debugfs_attr("fail_iommufd", NULL,
						     &fail_iommufd);
	mock_debugfs_dir = debugfs_create_dir("iommufd_mock", NULL);
	debugfs_create_x64("sw_msi_start", 0600, mock_debugfs_dir,
			   &mock_sw_msi_start);
	debugfs_create_x64("sw_msi_length", 0600, mock_debugfs_dir,
			   &mock_sw_msi_length);
	debugfs_create_file_unsafe("share_group", 0600, mock_debugfs_dir, NULL,
				   &mock_share_group_fops);
	debugfs_create_bool("msi_unsafe", 0600, mock_debugfs_dir,
			    &mock_msi_unsafe);
	debugfs_create_bool("no_iommu", 0600, mock_debugfs_dir,
			    &mock_no_iommu);
	debugfs_create_bool("enforce_coherency", 0600, mock_debugfs_dir,
			    &mock_enforce_coherency);
	debugfs_create_bool("bind_only", 0600, mock_debugfs_dir,
			    &mock_bind_only);
	debugfs_create_bool("buggy_driver", 0600, mock_debugfs_dir,
			    &mock_buggy_driver);
	debugfs_create_atomic_t("iopf_responses", 0400, mock_debugfs_dir,
				&mock_iopf_responses);
	debugfs_create_u32("iopf_last_response", 0400, mock_debugfs_dir,
			   &mock_iopf_last_response);

	rc = -ENOMEM;
	mock_msi_fwnode = irq_domain_alloc_named_fwnode("iommufd-mock-msi");
	if (!mock_msi_fwnode)
		goto err_debugfs;
	mock_msi_domain = irq_domain_create_linear(mock_msi_fwnode, 1,
						   &irq_domain_simple_ops,
						   NULL);
	if (!mock_msi_domain)
		goto err_fwnode;
	/* Like interrupt remapping: a device reaches only its own vectors. */
	mock_msi_domain->flags |= IRQ_DOMAIN_FLAG_ISOLATED_MSI;

	if (IS_ENABLED(CONFIG_IOMMU_IOPF)) {
		mock_iopf_queue = iopf_queue_alloc("iommufd_mock");
		if (!mock_iopf_queue)
			goto err_msi;
	}

	rc = bus_register(&mock_bus_type);
	if (rc)
		goto err_iopf;
	rc = iommu_device_sysfs_add(&mock_iommu, NULL, NULL,
				    "iommufd_mock_iommu");
	if (rc)
		goto err_bus;
	mock_iommu.fwnode = &mock_fwnode;
	rc = iommu_device_register_bus(&mock_iommu, &mock_ops, &mock_bus_type,
				       &mock_bus_nb);
	if (rc)
		goto err_sysfs;
	return 0;

err_sysfs:
	iommu_device_sysfs_remove(&mock_iommu);
err_bus:
	bus_unregister(&mock_bus_type);
err_iopf:
	iopf_queue_free(mock_iopf_queue);
	mock_iopf_queue = NULL;
err_msi:
	irq_domain_remove(mock_msi_domain);
err_fwnode:
	irq_domain_free_fwnode(mock_msi_fwnode);
err_debugfs:
	debugfs_remove_recursive(mock_debugfs_dir);
	debugfs_remove_recursive(fail_iommufd_dir);
	return rc;
}

void iommufd_test_exit(void)
{
	iommu_device_unregister_bus(&mock_iommu, &mock_bus_type, &mock_bus_nb);
	iommu_device_sysfs_remove(&mock_iommu);
	bus_unregister(&mock_bus_type);
	iopf_queue_free(mock_iopf_queue);
	mock_iopf_queue = NULL;
	irq_domain_remove(mock_msi_domain);
	irq_domain_free_fwnode(mock_msi_fwnode);
	debugfs_remove_recursive(mock_debugfs_dir);
	debugfs_remove_recursive(fail_iommufd_dir);
	mock_share_group_set(NULL, 0);
}
