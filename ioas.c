// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The IOAS object: a user-visible handle on one struct io_pagetable, and
 * the IOMMU_IOAS_* ioctls that translate user requests into io_pagetable
 * calls.  The object owns its io_pagetable; everything else that uses the
 * table (hw_pagetables, accesses) holds a ref on the IOAS object.
 */
#include <linux/iommu.h>
#include <linux/slab.h>

#include "iommufd_private.h"

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	ioas = iommufd_object_alloc(ictx, struct iommufd_ioas, IOMMUFD_OBJ_IOAS);
	if (IS_ERR(ioas))
		return ioas;
	iopt_init_table(&ioas->iopt);
	mutex_init(&ioas->mutex);
	INIT_LIST_HEAD(&ioas->hwpt_list);
	return ioas;
}

/* Nothing uses the IOAS any more: hw_pagetables and accesses hold refs. */
void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);

	WARN_ON(!list_empty(&ioas->hwpt_list));
	iopt_destroy_table(&ioas->iopt);
	mutex_destroy(&ioas->mutex);
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;

	ioas = iommufd_ioas_alloc(ucmd->ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	cmd->out_ioas_id = ioas->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		iommufd_object_abort_and_destroy(ucmd->ictx, &ioas->obj);
		return rc;
	}
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;
}

/* State of one IOMMU_IOAS_IOVA_RANGES call while walking the ranges. */
struct iova_ranges_out {
	struct iommu_iova_range __user *uranges;
	u32 room;	/* entries the user array holds */
	u32 count;	/* ranges found so far */
};

static int iova_ranges_emit(unsigned long start, unsigned long last,
			    void *arg)
{
	struct iova_ranges_out *out = arg;
	struct iommu_iova_range range = { .start = start, .last = last };

	if (out->count < out->room &&
	    copy_to_user(&out->uranges[out->count], &range, sizeof(range)))
		return -EFAULT;
	if (check_add_overflow(out->count, 1, &out->count))
		return -EOVERFLOW;
	return 0;
}

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iova_ranges_out out = {
		.uranges = u64_to_user_ptr(cmd->allowed_iovas),
		.room = cmd->num_iovas,
	};
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	down_read(&ioas->iopt.iova_rwsem);
	rc = iopt_walk_usable_ranges(&ioas->iopt, iova_ranges_emit, &out);
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	up_read(&ioas->iopt.iova_rwsem);
	if (rc)
		goto out_put;

	/* The count is reported even when the user array was too short. */
	cmd->num_iovas = out.count;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (!rc && out.count > out.room)
		rc = -EMSGSIZE;
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* IOMMU_OPTION_HUGE_PAGES: whether the IOAS may map with large IOPTEs. */
int iommufd_ioas_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc = 0;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	switch (cmd->op) {
	case IOMMU_OPTION_OP_GET:
		down_read(&ioas->iopt.iova_rwsem);
		cmd->val64 = !ioas->iopt.disable_large_pages;
		up_read(&ioas->iopt.iova_rwsem);
		break;
	case IOMMU_OPTION_OP_SET:
		if (cmd->val64 > 1)
			rc = -EINVAL;
		else
			rc = iopt_set_large_pages(&ioas->iopt, cmd->val64);
		break;
	default:
		rc = -EOPNOTSUPP;
	}

	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct iommu_iova_range __user *uranges;
	struct rb_root_cached allowed = RB_ROOT_CACHED;
	struct interval_tree_node *node;
	struct iommufd_ioas *ioas;
	u32 i;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	uranges = u64_to_user_ptr(cmd->allowed_iovas);
	for (i = 0; i != cmd->num_iovas; i++) {
		struct iommu_iova_range range;
		struct iopt_allowed *elm;

		if (copy_from_user(&range, &uranges[i], sizeof(range))) {
			rc = -EFAULT;
			goto out_free;
		}
		if (range.start > range.last || range.last > ULONG_MAX) {
			rc = -EINVAL;
			goto out_free;
		}
		elm = kzalloc(sizeof(*elm), GFP_KERNEL_ACCOUNT);
		if (!elm) {
			rc = -ENOMEM;
			goto out_free;
		}
		elm->node.start = range.start;
		elm->node.last = range.last;
		interval_tree_insert(&elm->node, &allowed);
	}
	rc = iopt_set_allow_iova(&ioas->iopt, &allowed);

out_free:
	while ((node = interval_tree_iter_first(&allowed, 0, ULONG_MAX))) {
		interval_tree_remove(node, &allowed);
		kfree(container_of(node, struct iopt_allowed, node));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
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

int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	unsigned int flags = 0;
	struct iommufd_ioas *ioas;
	unsigned long iova;
	int prot, rc;

	if ((cmd->flags & ~IOMMUFD_MAP_FLAGS) || cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		return -EOVERFLOW;
	prot = iommufd_map_prot(cmd->flags);
	if (!prot || !cmd->length)
		return -EINVAL;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	iova = cmd->iova;
	rc = iopt_map_user_pages(&ioas->iopt, &iova,
				 u64_to_user_ptr(cmd->user_va), cmd->length,
				 prot, flags, ucmd->ictx->account_mode);
	if (rc)
		goto out_put;

	cmd->iova = iova;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		iopt_unmap_iova(&ioas->iopt, iova, cmd->length, NULL);
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iommufd_ioas *src, *dst;
	unsigned int flags = 0;
	unsigned long iova;
	int prot, rc;

	if (cmd->flags & ~IOMMUFD_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->length >= ULONG_MAX || cmd->src_iova >= ULONG_MAX ||
	    cmd->dst_iova >= ULONG_MAX)
		return -EOVERFLOW;
	prot = iommufd_map_prot(cmd->flags);
	if (!prot)
		return -EINVAL;

	src = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (IS_ERR(src))
		return PTR_ERR(src);
	dst = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (IS_ERR(dst)) {
		rc = PTR_ERR(dst);
		goto out_put_src;
	}

	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	iova = cmd->dst_iova;
	rc = iopt_copy_iova(&dst->iopt, &src->iopt, &iova, cmd->src_iova,
			    cmd->length, prot, flags);
	if (rc)
		goto out_put_dst;

	cmd->dst_iova = iova;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		iopt_unmap_iova(&dst->iopt, iova, cmd->length, NULL);
out_put_dst:
	iommufd_put_object(ucmd->ictx, &dst->obj);
out_put_src:
	iommufd_put_object(ucmd->ictx, &src->obj);
	return rc;
}

int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	unsigned long unmapped = 0;
	struct iommufd_ioas *ioas;
	int rc;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);

	if (cmd->iova == 0 && cmd->length == U64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX) {
		rc = -EOVERFLOW;
	} else {
		rc = iopt_unmap_iova(&ioas->iopt, cmd->iova, cmd->length,
				     &unmapped);
	}
	if (rc)
		goto out_put;

	cmd->length = unmapped;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}
