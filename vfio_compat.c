// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * VFIO compatibility: the type1 container API served by iommufd.
 *
 * A context may name one IOAS its "compat IOAS" (ictx->vfio_ioas).  The
 * VFIO container ioctls (VFIO_SET_IOMMU, VFIO_IOMMU_MAP_DMA, ...) issued
 * on /dev/iommu, or on /dev/vfio/vfio when iommufd provides it, all work on
 * that IOAS; VFIO's group code creates it when a group joins the container
 * (iommufd_vfio_compat_ioas_create()) and attaches the group's devices to
 * it; userspace can also choose it with IOMMU_VFIO_IOAS.
 *
 * The pointer is not a reference: it is read and written under
 * xa_lock(&ictx->objects), and cleared there when the IOAS is destroyed
 * (iommufd_object_kill()).  Users of it take a lookup while the IOAS is
 * still published.  ioas_creation_lock serialises creating it, so that two
 * groups joining at once share one IOAS; it is taken with no other lock
 * held.  A creator publishes its IOAS only if no compat IOAS appeared
 * meanwhile (IOMMU_VFIO_IOAS SET does not take the lock).
 *
 * Type1 v1 and v2 differ in unmap: v2 unmaps only whole mappings (a range
 * that cuts one is -ENOENT, as IOMMU_IOAS_UNMAP), v1 may unmap part of a
 * mapping.  For v1 the IOAS maps in PAGE_SIZE IOPTEs only, so its areas can
 * be split at the ends of an unmap.
 */
#include <linux/capability.h>
#include <linux/iommu.h>
#include <linux/vfio.h>

#include "iommufd_private.h"

/* The compat IOAS with a lookup held, or ERR_PTR(-ENODEV). */
static struct iommufd_ioas *compat_ioas_get(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	xa_lock(&ictx->objects);
	ioas = ictx->vfio_ioas;
	/* Only while it is published: a dying IOAS takes no new lookups. */
	if (!ioas || xa_load(&ictx->objects, ioas->obj.id) != &ioas->obj ||
	    !iommufd_obj_hold(&ioas->obj))
		ioas = ERR_PTR(-ENODEV);
	xa_unlock(&ictx->objects);
	return ioas;
}

/**
 * iommufd_vfio_compat_ioas_get_id() - the ID of the compat IOAS
 * @ictx: the context
 * @out_ioas_id: receives the ID
 *
 * VFIO attaches the devices of a group in a container to this IOAS.
 *
 * Return: 0, or -ENODEV if the context has no compat IOAS.
 */
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id)
{
	struct iommufd_ioas *ioas = compat_ioas_get(ictx);

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	*out_ioas_id = ioas->obj.id;
	iommufd_obj_put(ictx, &ioas->obj);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_get_id, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_set_no_iommu() - put the context in no-IOMMU mode
 * @ictx: the context
 *
 * For a VFIO group without an IOMMU (enable_unsafe_noiommu_mode): its
 * devices DMA to physical addresses, so the container has no IOAS.  Such
 * a group cannot share a container with groups that have one.
 *
 * Return: 0, or -EINVAL if the context already has a compat IOAS.
 */
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	int rc = 0;

	xa_lock(&ictx->objects);
	if (ictx->vfio_ioas)
		rc = -EINVAL;
	else
		ictx->no_iommu_mode = true;
	xa_unlock(&ictx->objects);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_set_no_iommu, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_ioas_create() - give the context a compat IOAS
 * @ictx: the context
 *
 * Called by VFIO when a group joins a container: the first group creates
 * the IOAS (an ordinary IOAS userspace can see by ID), later ones find it.
 *
 * Return: 0; -EINVAL in no-IOMMU mode; -ENOMEM.
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	down_write(&ictx->ioas_creation_lock);
	ioas = compat_ioas_get(ictx);
	if (!IS_ERR(ioas)) {
		iommufd_obj_put(ictx, &ioas->obj);
		goto out_unlock;
	}
	if (READ_ONCE(ictx->no_iommu_mode)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	ioas = iommufd_ioas_alloc(ictx);
	if (IS_ERR(ioas)) {
		rc = PTR_ERR(ioas);
		goto out_unlock;
	}
	xa_lock(&ictx->objects);
	if (ictx->no_iommu_mode) {
		/* A no-IOMMU group came first after all. */
		rc = -EINVAL;
	} else if (ictx->vfio_ioas &&
		   xa_load(&ictx->objects, ictx->vfio_ioas->obj.id) ==
			   &ictx->vfio_ioas->obj) {
		/* IOMMU_VFIO_IOAS chose one meanwhile: that one it is. */
		rc = 1;
	} else {
		/* The slot is reserved: publishing needs no memory. */
		WARN_ON(__xa_store(&ictx->objects, ioas->obj.id, &ioas->obj,
				   0));
		ictx->vfio_ioas = ioas;
	}
	xa_unlock(&ictx->objects);
	if (rc) {
		iommufd_object_undo(ictx, &ioas->obj);
		rc = rc > 0 ? 0 : rc;
	}
out_unlock:
	up_write(&ictx->ioas_creation_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_create, IOMMUFD_VFIO);

/* IOMMU_VFIO_IOAS: get, set or clear the compat IOAS. */
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = compat_ioas_get(ictx);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		cmd->ioas_id = ioas->obj.id;
		iommufd_obj_put(ictx, &ioas->obj);
		return iommufd_ucmd_reply(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_ioas_get(ictx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		xa_lock(&ictx->objects);
		ictx->vfio_ioas = ioas;
		xa_unlock(&ictx->objects);
		iommufd_obj_put(ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		xa_lock(&ictx->objects);
		ictx->vfio_ioas = NULL;
		xa_unlock(&ictx->objects);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

typedef int compat_body_fn(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   void __user *arg);

/* Run @body on the compat IOAS, holding it meanwhile; -ENODEV if none. */
static int compat_run(struct iommufd_ctx *ictx, void __user *arg,
		      compat_body_fn *body)
{
	struct iommufd_ioas *ioas = compat_ioas_get(ictx);
	int rc;

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = body(ictx, ioas, arg);
	iommufd_obj_put(ictx, &ioas->obj);
	return rc;
}

/* VFIO_DMA_CC_IOMMU: does every domain of the IOAS enforce coherency? */
static int compat_cc_iommu(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   void __user *arg)
{
	struct iommufd_hwpt_paging *hwpt_paging;
	int coherent = 1;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt_paging, &ioas->hwpt_list, ioas_link) {
		if (!hwpt_paging->snoop_enforced)
			coherent = 0;
	}
	mutex_unlock(&ioas->mutex);
	return coherent;
}

static int compat_check_extension(struct iommufd_ctx *ictx,
				  unsigned long type)
{
	int rc;

	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_NOIOMMU_IOMMU:
		return IS_ENABLED(CONFIG_VFIO_NOIOMMU);
	case VFIO_DMA_CC_IOMMU:
		/* Without a compat IOAS there is no domain to ask. */
		rc = compat_run(ictx, NULL, compat_cc_iommu);
		return rc < 0 ? 0 : rc;
	default:
		/*
		 * Not offered: the SPAPR IOMMUs, EEH, the nesting type, and
		 * VFIO_UPDATE_VADDR (live update of vaddr).
		 */
		return 0;
	}
}

static int compat_set_v1(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			 void __user *arg)
{
	/* v1 unmaps may split a mapping: map in PAGE_SIZE IOPTEs only. */
	return iopt_set_large_pages(&ioas->iopt, false);
}

static int compat_set_v2(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			 void __user *arg)
{
	return 0;
}

static int compat_set_iommu(struct iommufd_ctx *ictx, unsigned long type)
{
	if (type == VFIO_NOIOMMU_IOMMU && IS_ENABLED(CONFIG_VFIO_NOIOMMU)) {
		if (!capable(CAP_SYS_RAWIO))
			return -EPERM;
		return READ_ONCE(ictx->no_iommu_mode) ? 0 : -EINVAL;
	}
	switch (type) {
	case VFIO_TYPE1_IOMMU:
		return compat_run(ictx, NULL, compat_set_v1);
	case VFIO_TYPE1v2_IOMMU:
		return compat_run(ictx, NULL, compat_set_v2);
	default:
		return -EINVAL;
	}
}

/*
 * The IOPTE sizes mappings of the IOAS may use: what every domain offers
 * (PAGE_SIZE and up), from the alignment the IOAS needs; only that smallest
 * size where large IOPTEs are off.
 */
static u64 compat_pgsizes(struct iommufd_ioas *ioas)
{
	struct iommufd_hwpt_paging *hwpt_paging;
	unsigned long pgsizes = ULONG_MAX;
	unsigned long align;
	bool small;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt_paging, &ioas->hwpt_list, ioas_link)
		pgsizes &= hwpt_paging->base.domain->pgsize_bitmap;
	mutex_unlock(&ioas->mutex);

	down_read(&ioas->iopt.iova_rwsem);
	align = max(ioas->iopt.align, PAGE_SIZE);
	small = ioas->iopt.small_pages_only;
	up_read(&ioas->iopt.iova_rwsem);

	pgsizes &= ~(align - 1);
	if (!pgsizes)
		pgsizes = align;
	return small ? pgsizes & -pgsizes : pgsizes;
}

/* A capability chain built in a kernel buffer, offsets from the info. */
struct compat_caps {
	u8 *buf;
	size_t len;		/* bytes used */
	struct vfio_info_cap_header *last;
};

/* Append a capability of @size bytes; the caller made room for it. */
static void *compat_cap_add(struct compat_caps *caps, u16 id, u16 version,
			    size_t size)
{
	struct vfio_info_cap_header *hdr;

	hdr = (void *)(caps->buf + caps->len);
	hdr->id = id;
	hdr->version = version;
	hdr->next = 0;
	if (caps->last)
		caps->last->next = sizeof(struct vfio_iommu_type1_info) +
				   caps->len;
	caps->last = hdr;
	caps->len += size;
	return hdr;
}

/* Writes the usable IOVA ranges into a capability, as many as fit. */
struct compat_ranges {
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	u32 room;
	u32 count;
};

static int compat_range_emit(unsigned long start, unsigned long last,
			     void *arg)
{
	struct compat_ranges *r = arg;

	if (r->count < r->room) {
		r->cap->iova_ranges[r->count].start = start;
		r->cap->iova_ranges[r->count].end = last;
	}
	r->count++;
	return 0;
}

/* Write up to @r->room ranges; returns how many there are in @r->count. */
static int compat_walk_ranges(struct iommufd_ioas *ioas,
			      struct compat_ranges *r)
{
	int rc;

	r->count = 0;
	down_read(&ioas->iopt.iova_rwsem);
	rc = iopt_walk_usable_ranges(&ioas->iopt, compat_range_emit, r);
	up_read(&ioas->iopt.iova_rwsem);
	return rc;
}

/*
 * Build the capability chain of VFIO_IOMMU_GET_INFO in a kernel buffer:
 * the usable IOVA ranges, and how many more mappings may be made (there is
 * no limit).  The ranges are counted, then written into a buffer of that
 * size; if they changed in between, again.  The caller frees caps->buf.
 */
static int compat_collect_caps(struct iommufd_ioas *ioas,
			       struct compat_caps *caps)
{
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct compat_ranges r = {};
	int rc;

	rc = compat_walk_ranges(ioas, &r);
	while (!rc) {
		kfree(caps->buf);
		*caps = (struct compat_caps){};
		caps->buf = kzalloc(struct_size(r.cap, iova_ranges, r.count) +
					    sizeof(*avail),
				    GFP_KERNEL_ACCOUNT);
		if (!caps->buf)
			return -ENOMEM;
		r.room = r.count;
		r.cap = compat_cap_add(caps,
				       VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1,
				       struct_size(r.cap, iova_ranges, r.room));
		avail = compat_cap_add(caps, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1,
				       sizeof(*avail));
		avail->avail = U32_MAX;
		rc = compat_walk_ranges(ioas, &r);
		if (!rc && r.count == r.room) {
			r.cap->nr_iovas = r.count;
			return 0;
		}
	}
	return rc;
}

/*
 * VFIO_IOMMU_GET_INFO.  As native type1: the capability chain is copied
 * only when all of it fits after the struct; otherwise argsz reports the
 * size needed and cap_offset stays 0.  Nothing past the caller's argsz is
 * written.
 */
static int compat_get_info(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   void __user *arg)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_info,
					 iova_pgsizes);
	const size_t capsz = offsetofend(struct vfio_iommu_type1_info,
					 cap_offset);
	struct vfio_iommu_type1_info info = {};
	struct compat_caps caps = {};
	size_t outsz = minsz;
	u32 argsz;
	int rc;

	if (get_user(argsz, (u32 __user *)arg))
		return -EFAULT;
	if (argsz < minsz)
		return -EINVAL;
	info.argsz = argsz;
	info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	info.iova_pgsizes = compat_pgsizes(ioas);

	rc = compat_collect_caps(ioas, &caps);
	if (rc)
		goto out_free;
	if (argsz >= capsz)
		outsz = capsz;
	if (argsz < sizeof(info) + caps.len) {
		info.argsz = sizeof(info) + caps.len;
	} else {
		info.cap_offset = sizeof(info);
		if (copy_to_user(arg + sizeof(info), caps.buf, caps.len)) {
			rc = -EFAULT;
			goto out_free;
		}
	}
	if (copy_to_user(arg, &info, outsz))
		rc = -EFAULT;
out_free:
	kfree(caps.buf);
	return rc;
}

/* VFIO_DMA_MAP_FLAG_* to IOMMU prot bits; 0 if neither R nor W. */
static int compat_map_prot(u32 flags)
{
	int prot = 0;

	if (flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	return prot ? prot | IOMMU_CACHE : 0;
}

/* VFIO_IOMMU_MAP_DMA: map user memory at a fixed IOVA. */
static int compat_map_dma(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			  void __user *arg)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	unsigned long iova;
	int prot;

	if (copy_from_user(&map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz ||
	    map.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE))
		return -EINVAL;
	prot = compat_map_prot(map.flags);
	/* As type1: whole pages, at least; the domains may want more. */
	if (!prot || !map.size ||
	    (map.iova | map.size | map.vaddr) & (PAGE_SIZE - 1))
		return -EINVAL;
	if (map.iova >= ULONG_MAX || map.size >= ULONG_MAX ||
	    map.vaddr >= ULONG_MAX)
		return -EOVERFLOW;
	iova = map.iova;
	return iopt_map_user(&ioas->iopt, &iova, u64_to_user_ptr(map.vaddr),
			     map.size, prot, 0, ictx->account_mode);
}

/*
 * VFIO_IOMMU_UNMAP_DMA.  An empty range unmaps 0 bytes; FLAG_ALL wants iova
 * and size 0.  In v1 mode the ends of the range split the mappings they
 * fall in first.  The dirty-bitmap and vaddr flags are not offered.
 */
static int compat_unmap_dma(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			    void __user *arg)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_unmap,
					 size);
	struct vfio_iommu_type1_dma_unmap unmap;
	u64 unmapped = 0;
	bool split;
	int rc;

	if (copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz || unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL)
		return -EINVAL;

	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			return -EINVAL;
		rc = iopt_unmap_everything(&ioas->iopt, &unmapped);
	} else {
		if ((unmap.iova | unmap.size) & (PAGE_SIZE - 1))
			return -EINVAL;
		if (unmap.iova >= ULONG_MAX || unmap.size >= ULONG_MAX)
			return -EOVERFLOW;
		down_read(&ioas->iopt.iova_rwsem);
		split = ioas->iopt.small_pages_only;
		up_read(&ioas->iopt.iova_rwsem);
		rc = split ? iopt_cut(&ioas->iopt, unmap.iova, unmap.size) : 0;
		if (!rc)
			rc = iopt_unmap_covered(&ioas->iopt, unmap.iova,
						unmap.size, &unmapped);
	}
	if (rc)
		return rc;
	unmap.size = unmapped;
	return copy_to_user(arg, &unmap, minsz) ? -EFAULT : 0;
}

/* GET_INFO checks argsz before it looks for the IOAS: EINVAL over ENODEV. */
static int compat_check_argsz(void __user *arg, size_t minsz)
{
	u32 argsz;

	if (get_user(argsz, (u32 __user *)arg))
		return -EFAULT;
	return argsz < minsz ? -EINVAL : 0;
}

/**
 * iommufd_vfio_ioctl() - serve a VFIO container ioctl
 * @ictx: the context
 * @cmd: the ioctl number
 * @arg: its argument
 *
 * Return: the ioctl's result; -ENOIOCTLCMD for anything VFIO's container
 * has and we do not (VFIO_IOMMU_DIRTY_PAGES, the SPAPR ioctls) or that is
 * no VFIO ioctl at all.
 */
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	int rc;

	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return compat_check_extension(ictx, arg);
	case VFIO_SET_IOMMU:
		return compat_set_iommu(ictx, arg);
	case VFIO_IOMMU_GET_INFO:
		rc = compat_check_argsz(uarg,
					offsetofend(struct vfio_iommu_type1_info,
						    iova_pgsizes));
		return rc ?: compat_run(ictx, uarg, compat_get_info);
	case VFIO_IOMMU_MAP_DMA:
		return compat_run(ictx, uarg, compat_map_dma);
	case VFIO_IOMMU_UNMAP_DMA:
		return compat_run(ictx, uarg, compat_unmap_dma);
	default:
		return -ENOIOCTLCMD;
	}
}
