// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Fault queues: I/O page faults (PCI PRI page requests) of devices attached
 * to hw_pagetables made with a fault queue, handed to userspace, which
 * makes the pages present in its own tables and answers.
 *
 * The IOMMU core groups the requests of a device into page request groups
 * (struct iopf_group) and calls the domain's iopf_handler with each
 * complete one; the group stays the core's, and must be answered
 * (iopf_group_response()) and freed exactly once, before the device's
 * IOPF support is turned off, which frees what is still pending.  A group
 * is on one of two places of its queue:
 *  - @deliver: not read yet;
 *  - @response: read (its records carried its cookie, the index here) and
 *    waiting for userspace's answer.
 * Answering takes it out, under @mutex, and so does every way a group can
 * lose its recipient: the device leaves the hw_pagetable (detach, replace:
 * iommufd_fault_respond_handle() answers what came through that attachment,
 * before the device's IOPF is turned off), or the file is closed (all of it
 * is answered, and later faults are refused).  Each answer for a group
 * that went is refused with EINVAL.
 *
 * A fault-capable hw_pagetable is only attached to a group by its one
 * device (hw_pagetable.c), so the attachment names the device whose ID
 * goes in the records.
 *
 * A handler call the core began before a detach must be over when the
 * detach returns: the IOMMU driver drains its page requests when the
 * domain goes (as VT-d does), else the group it delivers would be freed
 * under it when the device's IOPF is turned off.
 *
 * User memory is copied with no lock held: records are built into a kernel
 * buffer under @mutex and copied out after; answers are copied in first.
 *
 * Locks: @mutex is below igroup->mutex (a detach answers under it) and
 * above the core's fault_param->lock (answering takes that).
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/poll.h>
#include <linux/slab.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"

/* Records built per read(): whole groups, at most this many bytes. */
#define FAULT_READ_MAX SZ_64K

static struct iommufd_attach_handle *
to_iommufd_handle(struct iommu_attach_handle *handle)
{
	return container_of(handle, struct iommufd_attach_handle, handle);
}

/* Answer one group and give it back to the core; it is off our lists. */
static void fault_answer(struct iopf_group *group,
			 enum iommu_page_response_code code)
{
	iopf_group_response(group, code);
	iopf_free_group(group);
}

/* Answer everything, or what came through @handle if not NULL. */
static void fault_answer_all(struct iommufd_fault *fault,
			     struct iommufd_attach_handle *handle)
{
	struct iopf_group *group, *next;
	unsigned long index;

	lockdep_assert_held(&fault->mutex);
	list_for_each_entry_safe(group, next, &fault->deliver, node) {
		if (handle && group->attach_handle != &handle->handle)
			continue;
		list_del(&group->node);
		fault_answer(group, IOMMU_PAGE_RESP_INVALID);
	}
	xa_for_each(&fault->response, index, group) {
		if (handle && group->attach_handle != &handle->handle)
			continue;
		xa_erase(&fault->response, index);
		fault_answer(group, IOMMU_PAGE_RESP_INVALID);
	}
}

/**
 * iommufd_fault_respond_handle() - answer what came through an attachment
 * @handle: the attachment of a device to a fault-capable hw_pagetable,
 *	which the core no longer routes faults to
 *
 * Called before the device's IOPF is turned off.
 */
void iommufd_fault_respond_handle(struct iommufd_attach_handle *handle)
{
	struct iommufd_fault *fault = handle->fault;

	mutex_lock(&fault->mutex);
	fault_answer_all(fault, handle);
	mutex_unlock(&fault->mutex);
}

/**
 * iommufd_fault_iopf_handler() - the iopf_handler of fault-capable domains
 * @group: a complete page request group of a device attached to one
 *
 * Return: 0: queued for userspace, or answered.
 */
int iommufd_fault_iopf_handler(struct iopf_group *group)
{
	struct iommufd_attach_handle *handle =
		to_iommufd_handle(group->attach_handle);
	struct iommufd_fault *fault = handle->fault;

	mutex_lock(&fault->mutex);
	/*
	 * Nobody to hand it to (the file is closed), or another device of
	 * the group than the one attached (see above): answered as Invalid
	 * Request here, for the core would answer Response Failure, which
	 * stops the device's page requests altogether.
	 */
	if (fault->closed || group->fault_param->dev != handle->idev->dev) {
		fault_answer(group, IOMMU_PAGE_RESP_INVALID);
	} else {
		list_add_tail(&group->node, &fault->deliver);
		/* Under the mutex: the queue may go right after. */
		wake_up_interruptible(&fault->wait);
	}
	mutex_unlock(&fault->mutex);
	return 0;
}

/* The records of @group, one per request, into @out. */
static void fault_records(struct iopf_group *group, u32 dev_id,
			  struct iommu_hwpt_pgfault *out)
{
	struct iopf_fault *iopf;

	list_for_each_entry(iopf, &group->faults, list) {
		const struct iommu_fault_page_request *prm = &iopf->fault.prm;

		*out++ = (struct iommu_hwpt_pgfault){
			.flags = ((prm->flags &
				   IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) ?
					  IOMMU_PGFAULT_FLAGS_PASID_VALID : 0) |
				 ((prm->flags &
				   IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE) ?
					  IOMMU_PGFAULT_FLAGS_LAST_PAGE : 0),
			.dev_id = dev_id,
			.pasid = prm->pasid,
			.grpid = prm->grpid,
			.perm = ((prm->perm & IOMMU_FAULT_PERM_READ) ?
					 IOMMU_PGFAULT_PERM_READ : 0) |
				((prm->perm & IOMMU_FAULT_PERM_WRITE) ?
					 IOMMU_PGFAULT_PERM_WRITE : 0) |
				((prm->perm & IOMMU_FAULT_PERM_EXEC) ?
					 IOMMU_PGFAULT_PERM_EXEC : 0) |
				((prm->perm & IOMMU_FAULT_PERM_PRIV) ?
					 IOMMU_PGFAULT_PERM_PRIV : 0),
			.addr = prm->addr,
			.cookie = group->cookie,
		};
	}
}

/* A group a read() moved to @response, and its cookie there. */
struct fault_taken {
	struct iopf_group *group;
	u32 cookie;
};

/*
 * Move the groups whose records @buf takes onto @response, building the
 * records; they go to @taken too.  Return: bytes built.
 */
static size_t fault_take(struct iommufd_fault *fault, void *buf, size_t count,
			 struct fault_taken *taken, unsigned int *ntaken)
{
	const size_t rec = sizeof(struct iommu_hwpt_pgfault);
	struct iopf_group *group, *next;
	size_t done = 0;

	mutex_lock(&fault->mutex);
	list_for_each_entry_safe(group, next, &fault->deliver, node) {
		struct iommufd_attach_handle *handle =
			to_iommufd_handle(group->attach_handle);

		if (done + group->fault_count * rec > count)
			break;
		if (xa_alloc(&fault->response, &group->cookie, group,
			     xa_limit_32b, GFP_KERNEL))
			break;
		list_del(&group->node);
		fault_records(group, handle->idev->obj.id, buf + done);
		taken[*ntaken].group = group;
		taken[(*ntaken)++].cookie = group->cookie;
		done += group->fault_count * rec;
	}
	mutex_unlock(&fault->mutex);
	return done;
}

/*
 * The copy out failed: the groups still unanswered go back, in order.  A
 * group answered meanwhile is freed, and its cookie may name another one
 * already: only entries still ours are taken back.
 */
static void fault_untake(struct iommufd_fault *fault,
			 const struct fault_taken *taken, unsigned int ntaken)
{
	struct iopf_group *group;

	mutex_lock(&fault->mutex);
	while (ntaken--) {
		group = taken[ntaken].group;
		if (xa_cmpxchg(&fault->response, taken[ntaken].cookie, group,
			       NULL, 0) == group)
			list_add(&group->node, &fault->deliver);
	}
	mutex_unlock(&fault->mutex);
}

/*
 * read(): records of whole groups, as many as fit; 0 when there are none
 * (poll() says when there are).  The size must be a multiple of a record.
 */
static ssize_t fault_fops_read(struct file *filep, char __user *buf,
			       size_t count, loff_t *ppos)
{
	const size_t rec = sizeof(struct iommu_hwpt_pgfault);
	struct iommufd_fault *fault = filep->private_data;
	struct fault_taken *taken;
	unsigned int ntaken = 0;
	ssize_t done;
	void *kbuf;

	if (*ppos || count % rec)
		return -ESPIPE;
	count = min_t(size_t, count, FAULT_READ_MAX);
	if (!count)
		return 0;
	kbuf = kvzalloc(count, GFP_KERNEL);
	taken = kvcalloc(count / rec, sizeof(*taken), GFP_KERNEL);
	if (!kbuf || !taken) {
		done = -ENOMEM;
		goto out_free;
	}
	done = fault_take(fault, kbuf, count, taken, &ntaken);
	if (done && copy_to_user(buf, kbuf, done)) {
		fault_untake(fault, taken, ntaken);
		done = -EFAULT;
	}
out_free:
	kvfree(taken);
	kvfree(kbuf);
	return done;
}

/* Answer the group with @resp's cookie. */
static int fault_respond(struct iommufd_fault *fault,
			 const struct iommu_hwpt_page_response *resp)
{
	enum iommu_page_response_code code;
	struct iopf_group *group;

	switch (resp->code) {
	case IOMMUFD_PAGE_RESP_SUCCESS:
		code = IOMMU_PAGE_RESP_SUCCESS;
		break;
	case IOMMUFD_PAGE_RESP_INVALID:
		code = IOMMU_PAGE_RESP_INVALID;
		break;
	default:
		return -EINVAL;
	}
	/* Under the mutex: the device's IOPF stays on meanwhile. */
	mutex_lock(&fault->mutex);
	group = xa_erase(&fault->response, resp->cookie);
	if (group)
		fault_answer(group, code);
	mutex_unlock(&fault->mutex);
	return group ? 0 : -EINVAL;
}

/*
 * write(): answers, struct iommu_hwpt_page_response each.  Return: the
 * bytes of the answers taken, or the errno of the first one if none was.
 */
static ssize_t fault_fops_write(struct file *filep, const char __user *buf,
				size_t count, loff_t *ppos)
{
	const size_t size = sizeof(struct iommu_hwpt_page_response);
	struct iommufd_fault *fault = filep->private_data;
	struct iommu_hwpt_page_response resp;
	size_t done = 0;
	int rc = 0;

	if (*ppos || count % size)
		return -ESPIPE;
	while (done < count) {
		if (copy_from_user(&resp, buf + done, size)) {
			rc = -EFAULT;
			break;
		}
		rc = fault_respond(fault, &resp);
		if (rc)
			break;
		done += size;
	}
	return done ? done : rc;
}

static __poll_t fault_fops_poll(struct file *filep,
				struct poll_table_struct *wait)
{
	struct iommufd_fault *fault = filep->private_data;
	bool unread;

	poll_wait(filep, &fault->wait, wait);
	mutex_lock(&fault->mutex);
	unread = !list_empty(&fault->deliver);
	mutex_unlock(&fault->mutex);
	/* Answers can always be written. */
	return unread ? EPOLLOUT | EPOLLIN | EPOLLRDNORM : EPOLLOUT;
}

/*
 * The last close: no one will answer any more, so everything pending is
 * answered now and new faults are refused.  The file held a ref on the
 * queue and on its context.  No private data: the queue's creation was
 * undone (fault_abort()).
 */
static int fault_fops_release(struct inode *inode, struct file *filep)
{
	struct iommufd_fault *fault = filep->private_data;
	struct iommufd_ctx *ictx;

	if (!fault)
		return 0;
	ictx = fault->ictx;
	mutex_lock(&fault->mutex);
	fault->closed = true;
	fault_answer_all(fault, NULL);
	mutex_unlock(&fault->mutex);
	refcount_dec(&fault->obj.refs);
	iommufd_ctx_put(ictx);
	return 0;
}

/* The fault file: records out, responses in, closed by its last user. */
static const struct file_operations fault_fops = {
	.release = fault_fops_release,
	.poll = fault_fops_poll,
	.write = fault_fops_write,
	.read = fault_fops_read,
	.owner = THIS_MODULE,
};

/* Nothing can be pending: the file and every hw_pagetable let go. */
void iommufd_fault_destroy(struct iommufd_object *obj)
{
	struct iommufd_fault *fault =
		container_of(obj, struct iommufd_fault, obj);

	WARN_ON(!list_empty(&fault->deliver));
	WARN_ON(!xa_empty(&fault->response));
	xa_destroy(&fault->response);
	mutex_destroy(&fault->mutex);
}

/*
 * IOMMU_FAULT_QUEUE_ALLOC could not answer: the descriptor was never
 * installed, so the file goes without running its release, and what the
 * file held is given back here.
 */
void iommufd_fault_abort(struct iommufd_object *obj)
{
	struct iommufd_fault *fault =
		container_of(obj, struct iommufd_fault, obj);

	put_unused_fd(fault->abort_fd);
	fault->filep->private_data = NULL;
	fput(fault->filep);
	refcount_dec(&fault->obj.refs);
	iommufd_ctx_put(fault->ictx);
	iommufd_fault_destroy(obj);
}

int iommufd_fault_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_fault_alloc *cmd = ucmd->cmd;
	struct iommufd_fault *fault;
	struct file *filep;
	int fdno, rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	fault = iommufd_object_new(ucmd->ictx, struct iommufd_fault,
				   IOMMUFD_OBJ_FAULT);
	if (IS_ERR(fault))
		return PTR_ERR(fault);
	mutex_init(&fault->mutex);
	init_waitqueue_head(&fault->wait);
	xa_init_flags(&fault->response, XA_FLAGS_ALLOC1);
	INIT_LIST_HEAD(&fault->deliver);
	fault->ictx = ucmd->ictx;

	fdno = get_unused_fd_flags(O_CLOEXEC);
	if (fdno < 0) {
		rc = fdno;
		goto out_undo;
	}
	filep = anon_inode_getfile("[iommufd-pgfault]", &fault_fops, fault,
				   O_RDWR);
	if (IS_ERR(filep)) {
		put_unused_fd(fdno);
		rc = PTR_ERR(filep);
		goto out_undo;
	}
	/* What the file holds until its release. */
	refcount_inc(&fault->obj.refs);
	iommufd_ctx_get(fault->ictx);
	fault->filep = filep;
	fault->abort_fd = fdno;

	cmd->out_fault_fd = fdno;
	rc = iommufd_ucmd_reply_publish(ucmd, &fault->obj, &cmd->out_fault_id,
					sizeof(*cmd));
	if (!rc)
		fd_install(fdno, filep);
	return rc;

out_undo:
	/* No file yet: not the abort op's undo. */
	iommufd_fault_destroy(&fault->obj);
	iommufd_object_discard(ucmd->ictx, &fault->obj);
	return rc;
}
