// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The IOAS object: a user-visible handle on one struct io_pagetable, and
 * the IOMMU_IOAS_* ioctls that translate user requests into io_pagetable
 * calls.  The object owns its io_pagetable; everything else that uses the
 * table (hw_pagetables, accesses) holds a ref on the IOAS object.
 *
 * Each ioctl validates its struct first, then runs its body on the IOAS it
 * names through ioas_run(), which holds the IOAS for the duration.
 */
#include <linux/iommu.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "iommufd_private.h"

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	ioas = iommufd_object_new(ictx, struct iommufd_ioas, IOMMUFD_OBJ_IOAS);
	if (!IS_ERR(ioas)) {
		iopt_init(&ioas->iopt);
		mutex_init(&ioas->mutex);
		INIT_LIST_HEAD(&ioas->hwpt_list);
	}
	return ioas;
}

/* Nothing uses the IOAS any more: hw_pagetables and accesses hold refs. */
void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);

	WARN_ON(!list_empty(&ioas->hwpt_list));
	iopt_teardown(&ioas->iopt);
	mutex_destroy(&ioas->mutex);
}

typedef int ioas_body_fn(struct iommufd_ucmd *ucmd, struct iommufd_ioas *ioas);

/* Run @body on the IOAS @ioas_id, holding it meanwhile. */
static int ioas_run(struct iommufd_ucmd *ucmd, u32 ioas_id, ioas_body_fn *body)
{
	struct iommufd_ioas *ioas = iommufd_ioas_get(ucmd->ictx, ioas_id);
	int rc;

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	rc = body(ucmd, ioas);
	iommufd_obj_put(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = iommufd_ioas_alloc(ucmd->ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	return iommufd_ucmd_reply_publish(ucmd, &ioas->obj, &cmd->out_ioas_id,
					  sizeof(*cmd));
}

/*
 * One IOMMU_IOAS_IOVA_RANGES call: the ranges are collected into a kernel
 * buffer under iova_rwsem and copied to the user's array after it is
 * dropped, so a fault on that array holds up no one.
 */
struct iova_ranges_out {
	struct iommu_iova_range *ranges;
	u32 room;	/* entries @ranges holds */
	u32 count;	/* ranges found so far */
};

static int iova_ranges_emit(unsigned long start, unsigned long last,
			    void *arg)
{
	struct iova_ranges_out *out = arg;

	if (out->count < out->room)
		out->ranges[out->count] = (struct iommu_iova_range){
			.start = start,
			.last = last,
		};
	if (check_add_overflow(out->count, 1, &out->count))
		return -EOVERFLOW;
	return 0;
}

/* Collect the usable ranges into @out; the alignment into *@align. */
static int ioas_collect_ranges(struct iommufd_ioas *ioas,
			       struct iova_ranges_out *out, u64 *align)
{
	int rc;

	out->count = 0;
	down_read(&ioas->iopt.iova_rwsem);
	rc = iopt_walk_usable_ranges(&ioas->iopt, iova_ranges_emit, out);
	*align = ioas->iopt.align;
	up_read(&ioas->iopt.iova_rwsem);
	return rc;
}

static int ioas_iova_ranges(struct iommufd_ucmd *ucmd,
			    struct iommufd_ioas *ioas)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iova_ranges_out out = {};
	u64 align;
	int rc;

	/*
	 * Count first, then collect into a buffer of that size (but no
	 * bigger than the user's array); retry if ranges appeared between.
	 */
	for (;;) {
		rc = ioas_collect_ranges(ioas, &out, &align);
		if (rc || out.count <= out.room || out.room == cmd->num_iovas)
			break;
		kvfree(out.ranges);
		out.room = min(out.count, cmd->num_iovas);
		out.ranges = kvcalloc(out.room, sizeof(*out.ranges),
				      GFP_KERNEL_ACCOUNT);
		if (!out.ranges)
			return -ENOMEM;
	}
	if (!rc && out.room &&
	    copy_to_user(u64_to_user_ptr(cmd->allowed_iovas), out.ranges,
			 min(out.count, out.room) * sizeof(*out.ranges)))
		rc = -EFAULT;
	kvfree(out.ranges);
	if (rc)
		return rc;

	/* The count is reported even when the user array was too short. */
	cmd->num_iovas = out.count;
	cmd->out_iova_alignment = align;
	rc = iommufd_ucmd_reply(ucmd, sizeof(*cmd));
	return rc ? rc : (out.count > out.room ? -EMSGSIZE : 0);
}

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;

	return cmd->__reserved ? -EOPNOTSUPP :
				 ioas_run(ucmd, cmd->ioas_id, ioas_iova_ranges);
}

/* IOMMU_OPTION_HUGE_PAGES: whether the IOAS may map with large IOPTEs. */
static int ioas_huge_pages_option(struct iommufd_ucmd *ucmd,
				  struct iommufd_ioas *ioas)
{
	struct iommu_option *cmd = ucmd->cmd;

	if (cmd->op == IOMMU_OPTION_OP_SET)
		return cmd->val64 > 1 ? -EINVAL :
					iopt_set_large_pages(&ioas->iopt,
							     cmd->val64);
	if (cmd->op != IOMMU_OPTION_OP_GET)
		return -EOPNOTSUPP;
	down_read(&ioas->iopt.iova_rwsem);
	cmd->val64 = !ioas->iopt.small_pages_only;
	up_read(&ioas->iopt.iova_rwsem);
	return 0;
}

int iommufd_ioas_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;

	return ioas_run(ucmd, cmd->object_id, ioas_huge_pages_option);
}

/* Build a tree of allowed ranges from the user's array. */
static int read_allowed_ranges(struct iommu_ioas_allow_iovas *cmd,
			       struct rb_root_cached *tree)
{
	struct iommu_iova_range __user *uranges =
		u64_to_user_ptr(cmd->allowed_iovas);
	u32 i;

	for (i = 0; i != cmd->num_iovas; i++) {
		struct iommu_iova_range range;
		struct iopt_allow_range *elm;

		if (copy_from_user(&range, &uranges[i], sizeof(range)))
			return -EFAULT;
		/* Neither empty nor single-byte ranges, nor overlaps. */
		if (range.start >= range.last || range.last > ULONG_MAX ||
		    interval_tree_iter_first(tree, range.start, range.last))
			return -EINVAL;
		elm = kzalloc(sizeof(*elm), GFP_KERNEL_ACCOUNT);
		if (!elm)
			return -ENOMEM;
		elm->node.start = range.start;
		elm->node.last = range.last;
		interval_tree_insert(&elm->node, tree);
	}
	return 0;
}

static int ioas_allow_iovas(struct iommufd_ucmd *ucmd,
			    struct iommufd_ioas *ioas)
{
	struct rb_root_cached tree = RB_ROOT_CACHED;
	int rc;

	rc = read_allowed_ranges(ucmd->cmd, &tree);
	if (!rc)
		rc = iopt_replace_allowed(&ioas->iopt, &tree);
	iopt_free_allowed(&tree);
	return rc;
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;

	return cmd->__reserved ? -EOPNOTSUPP :
				 ioas_run(ucmd, cmd->ioas_id, ioas_allow_iovas);
}

/* IOMMU prot bits for IOMMU_IOAS_MAP_* flags; 0 if neither R nor W. */
static int iommufd_map_prot(u32 flags)
{
	int prot = 0;

	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	if (flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	/* Only coherent (snooped) DMA is offered. */
	return prot ? prot | IOMMU_CACHE : 0;
}

#define IOMMUFD_MAP_FLAGS                                                      \
	(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |                \
	 IOMMU_IOAS_MAP_READABLE)

/* The iopt flags for IOMMU_IOAS_MAP_* flags. */
static unsigned int iommufd_map_iopt_flags(u32 flags)
{
	return (flags & IOMMU_IOAS_MAP_FIXED_IOVA) ? 0 : IOPT_ALLOC_IOVA;
}

static int ioas_map(struct iommufd_ucmd *ucmd, struct iommufd_ioas *ioas)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	int rc;

	rc = iopt_map_user(&ioas->iopt, &iova, u64_to_user_ptr(cmd->user_va),
			   cmd->length, iommufd_map_prot(cmd->flags),
			   iommufd_map_iopt_flags(cmd->flags),
			   ucmd->ictx->account_mode);
	if (rc)
		return rc;
	cmd->iova = iova;
	rc = iommufd_ucmd_reply(ucmd, sizeof(*cmd));
	/* Userspace cannot know what it mapped: take it back. */
	if (rc)
		iopt_unmap(&ioas->iopt, iova, cmd->length, NULL);
	return rc;
}

int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;

	if ((cmd->flags & ~IOMMUFD_MAP_FLAGS) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		return -EOVERFLOW;
	if (!iommufd_map_prot(cmd->flags) || !cmd->length)
		return -EINVAL;
	return ioas_run(ucmd, cmd->ioas_id, ioas_map);
}

/* The copy runs on the source IOAS; this looks up the destination. */
static int ioas_copy(struct iommufd_ucmd *ucmd, struct iommufd_ioas *src)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	unsigned long iova = cmd->dst_iova;
	struct iommufd_ioas *dst;
	int rc;

	dst = iommufd_ioas_get(ucmd->ictx, cmd->dst_ioas_id);
	if (IS_ERR(dst))
		return PTR_ERR(dst);
	rc = iopt_copy(&dst->iopt, &src->iopt, &iova, cmd->src_iova,
		       cmd->length, iommufd_map_prot(cmd->flags),
		       iommufd_map_iopt_flags(cmd->flags));
	if (!rc) {
		cmd->dst_iova = iova;
		rc = iommufd_ucmd_reply(ucmd, sizeof(*cmd));
		if (rc)
			iopt_unmap(&dst->iopt, iova, cmd->length, NULL);
	}
	iommufd_obj_put(ucmd->ictx, &dst->obj);
	return rc;
}

int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;

	if (cmd->flags & ~IOMMUFD_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->length >= ULONG_MAX || cmd->src_iova >= ULONG_MAX ||
	    cmd->dst_iova >= ULONG_MAX)
		return -EOVERFLOW;
	if (!iommufd_map_prot(cmd->flags))
		return -EINVAL;
	return ioas_run(ucmd, cmd->src_ioas_id, ioas_copy);
}

static int ioas_unmap(struct iommufd_ucmd *ucmd, struct iommufd_ioas *ioas)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	u64 unmapped = 0;
	int rc;

	/* iova 0 with length U64_MAX means everything. */
	if (!cmd->iova && cmd->length == U64_MAX)
		rc = iopt_unmap_everything(&ioas->iopt, &unmapped);
	else if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		rc = -EOVERFLOW;
	else
		rc = iopt_unmap(&ioas->iopt, cmd->iova, cmd->length,
				&unmapped);
	if (rc)
		return rc;
	cmd->length = unmapped;
	return iommufd_ucmd_reply(ucmd, sizeof(*cmd));
}

int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;

	return ioas_run(ucmd, cmd->ioas_id, ioas_unmap);
}

/**
 * ioas_call_pinned() - run a step that adds a domain, with memory pinned
 * @ioas: the IOAS
 * @fn: the step; it takes ioas->mutex itself, and returns -EAGAIN when
 *	iopt_add_domain() found memory that is not pinned
 * @arg: for @fn
 *
 * A first domain of the IOAS needs the IOAS's memory pinned, which may
 * fault: that happens here, before @fn takes any lock, and again when maps
 * came in between.
 *
 * Return: what @fn returned, or an errno of pinning; -EINTR if the task
 * was killed while retrying.
 */
int ioas_call_pinned(struct iommufd_ioas *ioas, int (*fn)(void *arg),
		     void *arg)
{
	LIST_HEAD(holds);
	int rc;

	for (;;) {
		/* A hint: with a domain there, nothing needs pinning. */
		rc = data_race(xa_empty(&ioas->iopt.domains)) ?
			     iopt_hold_unpinned(&ioas->iopt, &holds) : 0;
		if (!rc)
			rc = fn(arg);
		if (rc != -EAGAIN)
			break;
		if (fatal_signal_pending(current)) {
			rc = -EINTR;
			break;
		}
		cond_resched();
	}
	iopt_drop_holds(&holds);
	return rc;
}
