// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The IOAS object: a user-visible handle on one struct io_pagetable, and
 * the IOMMU_IOAS_* ioctls that translate user requests into io_pagetable
 * calls.  The object owns its io_pagetable; everything else that uses the
 * table (hw_pagetables, accesses) holds a ref on the IOAS object.
 */
#include <linux/slab.h>

#include "iommufd_private.h"

struct iommufd_ioas *iommufd_ioas_alloc(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	ioas = iommufd_object_alloc(ictx, struct iommufd_ioas, IOMMUFD_OBJ_IOAS);
	if (IS_ERR(ioas))
		return ioas;
	iopt_init_table(&ioas->iopt);
	return ioas;
}

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);

	iopt_destroy_table(&ioas->iopt);
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

	down_write(&ioas->iopt.iova_rwsem);
	switch (cmd->op) {
	case IOMMU_OPTION_OP_GET:
		cmd->val64 = !ioas->iopt.disable_large_pages;
		break;
	case IOMMU_OPTION_OP_SET:
		if (cmd->val64 > 1)
			rc = -EINVAL;
		else
			ioas->iopt.disable_large_pages = !cmd->val64;
		break;
	default:
		rc = -EOPNOTSUPP;
	}
	up_write(&ioas->iopt.iova_rwsem);

	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}
