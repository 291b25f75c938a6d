// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The VFIO type1 container served by iommufd, on the mock IOMMU: the compat
 * IOAS (IOMMU_VFIO_IOAS, and its end when the IOAS is destroyed), the
 * container ioctls with every errno they have, v1's partial unmaps and v2's
 * refusal of them, and /dev/vfio/vfio being the same file as /dev/iommu.
 * Every mapping must reach the mock domain, and pins and VmPin must be back
 * at their baseline afterwards.  The real-device side of VFIO is tested in
 * vfio_edu.c.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/vfio.h>

#include "helpers.h"

#define PSZ ((__u64)sysconf(_SC_PAGESIZE))
#define SZ_2M (2ULL << 20)
#define BASE ((__u64)MOCK_APERTURE_START)
#define INFO_BUF 4096

static int vfio_ioas_op(int fd, __u16 op, __u32 *ioas_id)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = op,
		.ioas_id = *ioas_id,
	};
	int rc = ioctl(fd, IOMMU_VFIO_IOAS, &cmd);

	if (!rc)
		*ioas_id = cmd.ioas_id;
	return rc;
}

static int map_dma(int fd, __u32 flags, void *vaddr, __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = flags,
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};

	return ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

/* Unmap [iova, +size); *size receives the bytes unmapped. */
static int unmap_dma(int fd, __u32 flags, __u64 iova, __u64 *size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.flags = flags,
		.iova = iova,
		.size = *size,
	};
	int rc = ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);

	if (!rc)
		*size = unmap.size;
	return rc;
}

/* The bytes unmapped from [iova, +size), or UINT64_MAX on error. */
static __u64 unmapped(int fd, __u64 iova, __u64 size)
{
	return unmap_dma(fd, 0, iova, &size) ? UINT64_MAX : size;
}

/* Is the kernel built with VFIO's no-IOMMU mode? */
static bool have_noiommu(void)
{
	return !access("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode",
		       F_OK);
}

/* Before anything names a compat IOAS: what works, and what is ENODEV. */
TEST(container_without_ioas)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	__u64 size = PSZ;
	__u32 id = 0;
	int fd = open(IOMMU_DEV, O_RDWR);
	char buf[64];

	ASSERT_LE(0, fd);
	EXPECT_EQ(VFIO_API_VERSION, ioctl(fd, VFIO_GET_API_VERSION));
	EXPECT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL));
	EXPECT_EQ(have_noiommu(),
		  ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU));
	/* Not offered; no compat IOAS means no domain to be incoherent. */
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU));
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_v2_IOMMU));
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_EEH));
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_NESTING_IOMMU));
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR));
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, 1000));

	EXPECT_ERRNO(ENODEV, ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	EXPECT_ERRNO(ENODEV, ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_ERRNO(EINVAL, ioctl(fd, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU));
	EXPECT_ERRNO(EINVAL, ioctl(fd, VFIO_SET_IOMMU, 1000));
	/* No-IOMMU mode needs a no-IOMMU group in the container. */
	if (have_noiommu())
		EXPECT_ERRNO(EINVAL,
			     ioctl(fd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));

	/* argsz is checked before the IOAS is looked for. */
	info.argsz = offsetof(struct vfio_iommu_type1_info, iova_pgsizes) + 7;
	EXPECT_ERRNO(EINVAL, ioctl(fd, VFIO_IOMMU_GET_INFO, &info));
	info.argsz = sizeof(info);
	EXPECT_ERRNO(ENODEV, ioctl(fd, VFIO_IOMMU_GET_INFO, &info));
	memset(buf, 0, sizeof(buf));
	EXPECT_ERRNO(ENODEV, map_dma(fd, RW, buf, BASE, PSZ));
	EXPECT_ERRNO(ENODEV, unmap_dma(fd, 0, BASE, &size));
	EXPECT_ERRNO(ENODEV, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_GET, &id));

	/* Container ioctls we do not offer, and group/device ones. */
	EXPECT_ERRNO(ENOTTY, ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, buf));
	EXPECT_ERRNO(ENOTTY, ioctl(fd, VFIO_IOMMU_ENABLE));
	EXPECT_ERRNO(ENOTTY, ioctl(fd, VFIO_IOMMU_SPAPR_REGISTER_MEMORY, buf));
	EXPECT_ERRNO(ENOTTY, ioctl(fd, VFIO_GROUP_GET_STATUS, buf));
	EXPECT_ERRNO(ENOTTY, ioctl(fd, VFIO_DEVICE_GET_INFO, buf));
	close(fd);
}

/* IOMMU_VFIO_IOAS: get, set, clear, bad input, and the IOAS's end. */
TEST(vfio_ioas)
{
	struct iommu_vfio_ioas cmd = { .size = sizeof(cmd) };
	__u32 ioas_id, other_id, stdev_id, id;
	int fd = open(IOMMU_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas_id));
	ASSERT_EQ(0, ioas_alloc(fd, &other_id));
	ASSERT_EQ(0, mock_domain(fd, other_id, &stdev_id, NULL, NULL));

	id = 0;
	EXPECT_ERRNO(ENODEV, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_GET, &id));
	/* Only an IOAS can be the compat IOAS. */
	id = 0;
	EXPECT_ERRNO(ENOENT, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_SET, &id));
	id = 9999;
	EXPECT_ERRNO(ENOENT, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_SET, &id));
	id = stdev_id;
	EXPECT_ERRNO(ENOENT, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_SET, &id));
	id = 0;
	EXPECT_ERRNO(ENODEV, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_GET, &id));

	/* Bad op or reserved field: refused, nothing changed. */
	cmd.op = IOMMU_VFIO_IOAS_CLEAR + 1;
	cmd.ioas_id = ioas_id;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(fd, IOMMU_VFIO_IOAS, &cmd));
	cmd.op = IOMMU_VFIO_IOAS_SET;
	cmd.__reserved = 1;
	EXPECT_ERRNO(EOPNOTSUPP, ioctl(fd, IOMMU_VFIO_IOAS, &cmd));
	id = 0;
	EXPECT_ERRNO(ENODEV, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_GET, &id));

	id = ioas_id;
	ASSERT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_SET, &id));
	id = 0;
	ASSERT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(ioas_id, id);
	/* Set again, to another one. */
	id = other_id;
	ASSERT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(other_id, id);
	ASSERT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_CLEAR, &id));
	EXPECT_ERRNO(ENODEV, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_GET, &id));
	/* Clearing twice is fine. */
	EXPECT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_CLEAR, &id));

	/* A destroy that fails (a device is attached) leaves it set. */
	id = other_id;
	ASSERT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_SET, &id));
	EXPECT_ERRNO(EBUSY, object_destroy(fd, other_id));
	ASSERT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(other_id, id);
	/* Destroying the compat IOAS ends it. */
	ASSERT_EQ(0, object_destroy(fd, stdev_id));
	ASSERT_EQ(0, object_destroy(fd, other_id));
	EXPECT_ERRNO(ENODEV, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_ERRNO(ENODEV, ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	/* Destroying another IOAS does not. */
	id = ioas_id;
	ASSERT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, ioas_alloc(fd, &other_id));
	ASSERT_EQ(0, object_destroy(fd, other_id));
	ASSERT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(ioas_id, id);
	close(fd);
}

/* /dev/vfio/vfio is /dev/iommu under another name. */
TEST(dev_vfio_vfio)
{
	__u32 ioas_id, id;
	struct stat st;
	int fd;

	if (!container_is_iommufd())
		SKIP(return, "VFIO's own container serves " VFIO_CONTAINER);
	ASSERT_EQ(0, stat(VFIO_CONTAINER, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(10, major(st.st_rdev));	/* MISC_MAJOR */
	EXPECT_EQ(196, minor(st.st_rdev));	/* VFIO_MINOR */
	EXPECT_EQ(0666, st.st_mode & 0777);

	fd = open(VFIO_CONTAINER, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(VFIO_API_VERSION, ioctl(fd, VFIO_GET_API_VERSION));
	/* The iommufd ioctls work on it too. */
	ASSERT_EQ(0, ioas_alloc(fd, &ioas_id));
	id = ioas_id;
	ASSERT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_SET, &id));
	EXPECT_EQ(0, ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(0, object_destroy(fd, ioas_id));
	close(fd);
}

/*
 * A container as VFIO leaves it after VFIO_SET_IOMMU: a compat IOAS with a
 * mock device attached, on /dev/iommu or /dev/vfio/vfio, in v1 or v2 mode.
 * Pins are charged to VmPin so the teardown can check them.
 */
FIXTURE(compat) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 hwpt_id;
	long vm_pinned;
	void *buf;
	size_t buf_len;
};

FIXTURE_VARIANT(compat) {
	const char *path;
	unsigned long type;
};

FIXTURE_VARIANT_ADD(compat, v2) {
	.path = IOMMU_DEV,
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_VARIANT_ADD(compat, v1) {
	.path = IOMMU_DEV,
	.type = VFIO_TYPE1_IOMMU,
};

FIXTURE_VARIANT_ADD(compat, v2_container) {
	.path = VFIO_CONTAINER,
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_VARIANT_ADD(compat, v1_container) {
	.path = VFIO_CONTAINER,
	.type = VFIO_TYPE1_IOMMU,
};

#define BUF_PAGES 64

FIXTURE_SETUP(compat)
{
	__u32 id;

	self->fd = -1;
	if (!strcmp(variant->path, VFIO_CONTAINER) && !container_is_iommufd())
		SKIP(return, "VFIO's own container serves " VFIO_CONTAINER);
	self->vm_pinned = pinned_vm_pages();
	ASSERT_LE(0, self->vm_pinned);
	self->fd = open(variant->path, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, set_rlimit_mode(self->fd, 1));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &self->stdev_id,
				 &self->hwpt_id, NULL));
	id = self->ioas_id;
	ASSERT_EQ(0, vfio_ioas_op(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, variant->type));
	self->buf_len = BUF_PAGES * PSZ;
	self->buf = new_buffer(self->buf_len, 7);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(compat)
{
	if (!self->buf)
		return;
	if (self->fd >= 0)
		close(self->fd);
	EXPECT_EQ(0, nothing_pinned(self->buf, self->buf_len,
				    self->vm_pinned));
	munmap(self->buf, self->buf_len);
}

/* Is the variant type1 v1 (partial unmaps allowed)? */
#define is_v1(variant) ((variant)->type == VFIO_TYPE1_IOMMU)

TEST_F(compat, huge_pages_option_follows_the_type)
{
	__u64 val = 7;

	ASSERT_EQ(0, option_op(self->fd, IOMMU_OPTION_HUGE_PAGES,
			       IOMMU_OPTION_OP_GET, self->ioas_id, &val));
	EXPECT_EQ(is_v1(variant) ? 0 : 1, val);
}

TEST_F(compat, check_extension_cc)
{
	__u32 ioas_id, id;

	/* The mock domain does not enforce coherency. */
	EXPECT_EQ(0, ioctl(self->fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	/* With no domain at all, every domain does. */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	id = ioas_id;
	ASSERT_EQ(0, vfio_ioas_op(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	EXPECT_EQ(1, ioctl(self->fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
}

/*
 * Where the IOMMU can block non-snooped DMA, the domain does; such a domain
 * is never shared with a device whose IOMMU cannot, so VFIO_DMA_CC_IOMMU
 * says 1 only while every device's DMA is snooped.
 */
TEST(coherency_enforced_where_the_iommu_can)
{
	__u32 ioas_id, id, dev[4], hwpt[4];
	int fd = open(IOMMU_DEV, O_RDWR);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &ioas_id));
	id = ioas_id;
	ASSERT_EQ(0, vfio_ioas_op(fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));

	/*
	 * A device whose IOMMU cannot comes first; the next one's can, and
	 * the first domain could still switch (nothing is mapped), but not
	 * under the first device: a second domain.
	 */
	ASSERT_EQ(0, mock_domain(fd, ioas_id, &dev[0], &hwpt[0], NULL));
	ASSERT_EQ(0, mock_knob("enforce_coherency", 1));
	ASSERT_EQ(0, mock_domain(fd, ioas_id, &dev[1], &hwpt[1], NULL));
	ASSERT_EQ(0, mock_knob("enforce_coherency", 0));
	EXPECT_NE(hwpt[0], hwpt[1]);
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	ASSERT_EQ(0, object_destroy(fd, dev[0]));
	EXPECT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));

	/* Two devices whose IOMMU can share the enforcing domain. */
	ASSERT_EQ(0, mock_knob("enforce_coherency", 1));
	ASSERT_EQ(0, mock_domain(fd, ioas_id, &dev[0], &hwpt[0], NULL));
	ASSERT_EQ(0, mock_knob("enforce_coherency", 0));
	EXPECT_EQ(hwpt[1], hwpt[0]);

	/* One that cannot gets a domain of its own: no longer all snooped. */
	ASSERT_EQ(0, mock_domain(fd, ioas_id, &dev[2], &hwpt[2], NULL));
	EXPECT_NE(hwpt[0], hwpt[2]);
	EXPECT_EQ(0, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	/* A second one like it shares that domain. */
	ASSERT_EQ(0, mock_domain(fd, ioas_id, &dev[3], &hwpt[3], NULL));
	EXPECT_EQ(hwpt[2], hwpt[3]);
	/* Neither can move to the enforcing domain, nor back. */
	id = hwpt[0];
	EXPECT_ERRNO(EINVAL, mock_domain_replace(fd, dev[3], &id));
	id = hwpt[2];
	EXPECT_ERRNO(EINVAL, mock_domain_replace(fd, dev[0], &id));

	ASSERT_EQ(0, object_destroy(fd, dev[2]));
	ASSERT_EQ(0, object_destroy(fd, dev[3]));
	EXPECT_EQ(1, ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU));
	close(fd);
}

/* Fill @len bytes after argsz with 0xaa, call GET_INFO, check they stay. */
static int get_info_checked(int fd, void *buf, __u32 argsz)
{
	struct vfio_iommu_type1_info *info = buf;
	unsigned char *p = buf;
	size_t i;

	memset(buf, 0xaa, INFO_BUF);
	memset(buf, 0, argsz < sizeof(*info) ? argsz : sizeof(*info));
	info->argsz = argsz;
	if (ioctl(fd, VFIO_IOMMU_GET_INFO, buf))
		return -1;
	for (i = argsz; i != INFO_BUF; i++) {
		if (p[i] != 0xaa)
			return -2;
	}
	return 0;
}

TEST_F(compat, get_info)
{
	const __u32 pre_cap = offsetof(struct vfio_iommu_type1_info,
				       cap_offset);
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct iommu_iova_range r[4];
	struct vfio_info_cap_header *hdr;
	struct vfio_iommu_type1_info *info;
	__u32 full, argsz;
	void *buf;
	int n, i;

	buf = malloc(INFO_BUF);
	ASSERT_NE(NULL, buf);
	info = buf;

	/* The struct as it was before capabilities. */
	ASSERT_EQ(0, get_info_checked(self->fd, buf, pre_cap));
	EXPECT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, info->flags);
	/* PAGE_SIZE is the smallest size; v1 offers nothing larger. */
	EXPECT_EQ(PSZ, info->iova_pgsizes & -info->iova_pgsizes);
	if (is_v1(variant))
		EXPECT_EQ(PSZ, info->iova_pgsizes);

	/* Room for the struct only: argsz says what the chain needs. */
	ASSERT_EQ(0, get_info_checked(self->fd, buf, sizeof(*info)));
	EXPECT_EQ(VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS, info->flags);
	EXPECT_EQ(0, info->cap_offset);
	full = info->argsz;
	ASSERT_LT(sizeof(*info), full);
	ASSERT_GT(INFO_BUF, full);

	/* Any size short of that: no chain, nothing written past argsz. */
	for (argsz = sizeof(*info); argsz < full; argsz++) {
		ASSERT_EQ(0, get_info_checked(self->fd, buf, argsz));
		ASSERT_EQ(0, info->cap_offset);
		ASSERT_EQ(full, info->argsz);
	}

	/* The whole chain: the usable ranges, then the mappings left. */
	ASSERT_EQ(0, get_info_checked(self->fd, buf, full));
	ASSERT_EQ(sizeof(*info), info->cap_offset);
	EXPECT_EQ(full, info->argsz);
	hdr = buf + info->cap_offset;
	ASSERT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, hdr->id);
	EXPECT_EQ(1, hdr->version);
	ranges = (void *)hdr;
	n = ioas_ranges(self->fd, self->ioas_id, r, 4, NULL);
	ASSERT_LT(0, n);
	ASSERT_EQ(n, ranges->nr_iovas);
	for (i = 0; i != n; i++) {
		EXPECT_EQ(r[i].start, ranges->iova_ranges[i].start);
		EXPECT_EQ(r[i].last, ranges->iova_ranges[i].end);
	}
	EXPECT_EQ(BASE, ranges->iova_ranges[0].start);
	ASSERT_EQ((void *)&ranges->iova_ranges[n] - buf, hdr->next);
	hdr = buf + hdr->next;
	ASSERT_EQ(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, hdr->id);
	EXPECT_EQ(1, hdr->version);
	EXPECT_EQ(0, hdr->next);
	avail = (void *)hdr;
	EXPECT_LT(0, avail->avail);
	EXPECT_EQ(full, (void *)(avail + 1) - buf);

	/* A reserved range splits the usable IOVA: two ranges now. */
	ASSERT_EQ(0, add_reserved(self->fd, self->ioas_id, BASE + SZ_2M, PSZ));
	ASSERT_EQ(0, get_info_checked(self->fd, buf, sizeof(*info)));
	ASSERT_EQ(full + sizeof(ranges->iova_ranges[0]), info->argsz);
	full = info->argsz;
	ASSERT_EQ(0, get_info_checked(self->fd, buf, full));
	ranges = buf + info->cap_offset;
	ASSERT_EQ(n + 1, ranges->nr_iovas);
	EXPECT_EQ(BASE + SZ_2M - 1, ranges->iova_ranges[0].end);
	EXPECT_EQ(BASE + SZ_2M + PSZ, ranges->iova_ranges[1].start);
	free(buf);
}

TEST_F(compat, map_and_unmap)
{
	__u64 size;

	ASSERT_EQ(0, map_dma(self->fd, RW, self->buf, BASE, self->buf_len));
	EXPECT_EQ(0, md_check_map(self->fd, self->hwpt_id, BASE, self->buf_len,
				  self->buf));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->buf_len, 1));
	EXPECT_EQ(BUF_PAGES, pinned_vm_pages() - self->vm_pinned);
	/* Overlaps are refused. */
	EXPECT_ERRNO(EEXIST, map_dma(self->fd, RW, self->buf, BASE + PSZ, PSZ));
	EXPECT_EQ(self->buf_len, unmapped(self->fd, BASE, self->buf_len));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->buf_len, 0));
	EXPECT_EQ(0, pinned_vm_pages() - self->vm_pinned);
	/* An empty range unmaps nothing, successfully. */
	EXPECT_EQ(0, unmapped(self->fd, BASE, self->buf_len));

	/* Read-only and write-only mappings. */
	ASSERT_EQ(0, map_dma(self->fd, VFIO_DMA_MAP_FLAG_READ, self->buf,
			     BASE, PSZ));
	ASSERT_EQ(0, map_dma(self->fd, VFIO_DMA_MAP_FLAG_WRITE,
			     self->buf + PSZ, BASE + PSZ, PSZ));

	/* FLAG_ALL takes no range, and unmaps all of it. */
	size = PSZ;
	EXPECT_ERRNO(EINVAL, unmap_dma(self->fd, VFIO_DMA_UNMAP_FLAG_ALL,
				       0, &size));
	size = 0;
	EXPECT_ERRNO(EINVAL, unmap_dma(self->fd, VFIO_DMA_UNMAP_FLAG_ALL,
				       BASE, &size));
	size = 0;
	ASSERT_EQ(0, unmap_dma(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(2 * PSZ, size);
	size = 0;
	ASSERT_EQ(0, unmap_dma(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, &size));
	EXPECT_EQ(0, size);
	EXPECT_EQ(0, pinned_vm_pages() - self->vm_pinned);
}

/* Many single pages, unmapped one by one in another order. */
TEST_F(compat, map_pages_unmap_shuffled)
{
	unsigned int order[BUF_PAGES], i;

	for (i = 0; i != BUF_PAGES; i++) {
		ASSERT_EQ(0, map_dma(self->fd, RW, self->buf + i * PSZ,
				     BASE + i * PSZ, PSZ));
		order[i] = (i * 37) % BUF_PAGES;
	}
	EXPECT_EQ(0, md_check_map(self->fd, self->hwpt_id, BASE, self->buf_len,
				  self->buf));
	for (i = 0; i != BUF_PAGES; i++)
		ASSERT_EQ(PSZ, unmapped(self->fd, BASE + order[i] * PSZ, PSZ));
	EXPECT_EQ(0, pinned_vm_pages() - self->vm_pinned);
}

TEST_F(compat, map_bad_input)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(struct vfio_iommu_type1_dma_map) - 1,
		.flags = RW,
		.vaddr = (uintptr_t)self->buf,
		.iova = BASE,
		.size = PSZ,
	};

	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_ERRNO(EINVAL, map_dma(self->fd, RW | VFIO_DMA_MAP_FLAG_VADDR,
				     self->buf, BASE, PSZ));
	EXPECT_ERRNO(EINVAL, map_dma(self->fd, 1 << 5, self->buf, BASE, PSZ));
	EXPECT_ERRNO(EINVAL, map_dma(self->fd, 0, self->buf, BASE, PSZ));
	EXPECT_ERRNO(EINVAL, map_dma(self->fd, RW, self->buf, BASE, 0));
	/* Whole pages only, as type1: IOVA, size and vaddr. */
	EXPECT_ERRNO(EINVAL, map_dma(self->fd, RW, self->buf, BASE + 8, PSZ));
	EXPECT_ERRNO(EINVAL, map_dma(self->fd, RW, self->buf, BASE, PSZ - 8));
	EXPECT_ERRNO(EINVAL, map_dma(self->fd, RW, self->buf + 8, BASE, PSZ));
	/* Outside the mock domain's aperture. */
	EXPECT_ERRNO(EINVAL, map_dma(self->fd, RW, self->buf, 0, PSZ));
	/* IOVA + size wraps. */
	EXPECT_ERRNO(EOVERFLOW, map_dma(self->fd, RW, self->buf,
					UINT64_MAX - PSZ + 1, 2 * PSZ));
	EXPECT_ERRNO(EFAULT, map_dma(self->fd, RW, NULL, BASE, PSZ));
	EXPECT_EQ(0, pinned_vm_pages() - self->vm_pinned);
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->buf_len, 0));
	/* Nothing is mapped after all that. */
	EXPECT_EQ(0, unmapped(self->fd, 0, 1ULL << 62));
}

TEST_F(compat, unmap_bad_input)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(struct vfio_iommu_type1_dma_unmap) - 1,
		.iova = BASE,
		.size = PSZ,
	};
	__u64 size = PSZ;

	ASSERT_EQ(0, map_dma(self->fd, RW, self->buf, BASE, PSZ));
	EXPECT_ERRNO(EINVAL, ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_ERRNO(EINVAL,
		     unmap_dma(self->fd, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
			       BASE, &size));
	EXPECT_ERRNO(EINVAL, unmap_dma(self->fd, VFIO_DMA_UNMAP_FLAG_VADDR,
				       BASE, &size));
	EXPECT_ERRNO(EINVAL, unmap_dma(self->fd, 1 << 7, BASE, &size));
	size = 0;
	EXPECT_ERRNO(EINVAL, unmap_dma(self->fd, 0, BASE, &size));
	/* Whole pages only, as type1. */
	size = PSZ;
	EXPECT_ERRNO(EINVAL, unmap_dma(self->fd, 0, BASE + 8, &size));
	size = PSZ - 8;
	EXPECT_ERRNO(EINVAL, unmap_dma(self->fd, 0, BASE, &size));
	size = 2 * PSZ;
	EXPECT_ERRNO(EOVERFLOW, unmap_dma(self->fd, 0, UINT64_MAX - PSZ + 1,
					  &size));
	/* Still mapped. */
	EXPECT_EQ(0, md_check_map(self->fd, self->hwpt_id, BASE, PSZ,
				  self->buf));
	EXPECT_EQ(PSZ, unmapped(self->fd, BASE, PSZ));
}

/*
 * Part of a mapping: v1 unmaps it and keeps the rest mapped and pinned; v2
 * refuses and changes nothing.
 */
TEST_F(compat, unmap_part_of_a_mapping)
{
	const __u64 len = 16 * PSZ;
	void *mem = self->buf;

	ASSERT_EQ(0, map_dma(self->fd, RW, mem, BASE, len));
	if (!is_v1(variant)) {
		EXPECT_ERRNO(ENOENT, unmap_dma(self->fd, 0, BASE + 4 * PSZ,
					       &(__u64){ 2 * PSZ }));
		/* A range covering the start only, or the end only. */
		EXPECT_ERRNO(ENOENT, unmap_dma(self->fd, 0, BASE - PSZ,
					       &(__u64){ 2 * PSZ }));
		EXPECT_ERRNO(ENOENT, unmap_dma(self->fd, 0, BASE + len - PSZ,
					       &(__u64){ 2 * PSZ }));
		EXPECT_EQ(0, md_check_map(self->fd, self->hwpt_id, BASE, len,
					  mem));
		EXPECT_EQ(0, md_check_refs(self->fd, mem, len, 1));
		EXPECT_EQ(len, unmapped(self->fd, BASE, len));
		return;
	}

	/* The middle: two pages go, both sides stay. */
	ASSERT_EQ(2 * PSZ, unmapped(self->fd, BASE + 4 * PSZ, 2 * PSZ));
	EXPECT_EQ(0, md_check_map(self->fd, self->hwpt_id, BASE, 4 * PSZ, mem));
	EXPECT_EQ(0, md_check_map(self->fd, self->hwpt_id, BASE + 6 * PSZ,
				  10 * PSZ, mem + 6 * PSZ));
	EXPECT_NE(0, md_check_map(self->fd, self->hwpt_id, BASE + 4 * PSZ,
				  PSZ, mem + 4 * PSZ));
	EXPECT_NE(0, md_check_map(self->fd, self->hwpt_id, BASE + 5 * PSZ,
				  PSZ, mem + 5 * PSZ));
	EXPECT_EQ(0, md_check_refs(self->fd, mem + 4 * PSZ, 2 * PSZ, 0));
	EXPECT_EQ(0, md_check_refs(self->fd, mem, 4 * PSZ, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, mem + 6 * PSZ, 10 * PSZ, 1));
	EXPECT_EQ(14, pinned_vm_pages() - self->vm_pinned);
	/* The same range again: nothing there now. */
	EXPECT_EQ(0, unmapped(self->fd, BASE + 4 * PSZ, 2 * PSZ));

	/* A range over the start of what is left, and past the end. */
	EXPECT_EQ(PSZ, unmapped(self->fd, BASE - PSZ, 2 * PSZ));
	EXPECT_EQ(PSZ, unmapped(self->fd, BASE + len - PSZ, 4 * PSZ));
	EXPECT_EQ(12, pinned_vm_pages() - self->vm_pinned);
	/* A cut must be on a page boundary. */
	EXPECT_ERRNO(EINVAL, unmap_dma(self->fd, 0, BASE + 2 * PSZ + 8,
				       &(__u64){ PSZ }));
	/* One page at a time, back to front: the halves keep splitting. */
	for (int i = 14; i >= 1; i--) {
		if (i == 4 || i == 5)
			continue;
		ASSERT_EQ(PSZ, unmapped(self->fd, BASE + i * PSZ, PSZ));
	}
	EXPECT_EQ(0, md_check_refs(self->fd, mem, len, 0));
	EXPECT_EQ(0, pinned_vm_pages() - self->vm_pinned);
}

/* v1 cannot split where an in-kernel access pins: EBUSY, nothing changes. */
TEST_F(compat, unmap_part_pinned_by_an_access)
{
	const __u64 len = 8 * PSZ;
	__u32 item;
	int access_fd;

	ASSERT_EQ(0, map_dma(self->fd, RW, self->buf, BASE, len));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &access_fd));
	ASSERT_EQ(0, access_pages(self->fd, access_fd, 0, BASE + 6 * PSZ, PSZ,
				  self->buf + 6 * PSZ, &item));
	EXPECT_ERRNO(is_v1(variant) ? EBUSY : ENOENT,
		     unmap_dma(self->fd, 0, BASE, &(__u64){ 2 * PSZ }));
	EXPECT_EQ(0, md_check_map(self->fd, self->hwpt_id, BASE, len,
				  self->buf));
	/* Once the access lets go, the cut works. */
	ASSERT_EQ(0, destroy_access_pages(self->fd, access_fd, item));
	if (is_v1(variant))
		EXPECT_EQ(2 * PSZ, unmapped(self->fd, BASE, 2 * PSZ));

	/*
	 * A pin inside the part to unmap: the access is asked to let go
	 * (the mock's unmap op drops the item), then the cut and the unmap
	 * go through.
	 */
	ASSERT_EQ(0, access_pages(self->fd, access_fd, 0, BASE + 4 * PSZ, PSZ,
				  self->buf + 4 * PSZ, &item));
	if (is_v1(variant)) {
		EXPECT_EQ(2 * PSZ, unmapped(self->fd, BASE + 3 * PSZ, 2 * PSZ));
		EXPECT_ERRNO(ENOENT,
			     destroy_access_pages(self->fd, access_fd, item));
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf + 3 * PSZ,
					   2 * PSZ, 0));
	}
	close(access_fd);
}

/*
 * A hugetlb mapping cut into 16 pieces, unmapped in a scrambled order: v1
 * unmaps each piece (the IOAS maps it with small IOPTEs); v2 refuses each.
 */
TEST_F(compat, unmap_pieces_of_a_huge_mapping)
{
	const __u64 len = 2 * SZ_2M, piece = len / 16;
	unsigned int i, k;
	void *huge;

	huge = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE,
		    -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no 2 MiB hugetlb pages");
	ASSERT_EQ(0, map_dma(self->fd, RW, huge, BASE, len));
	for (i = 0; i != 16; i++) {
		k = (i * 7) % 16;
		if (is_v1(variant)) {
			ASSERT_EQ(piece, unmapped(self->fd, BASE + k * piece,
						  piece));
			ASSERT_NE(0, md_check_map(self->fd, self->hwpt_id,
						  BASE + k * piece, PSZ,
						  huge + k * piece));
		} else {
			EXPECT_ERRNO(ENOENT,
				     unmap_dma(self->fd, 0, BASE + k * piece,
					       &(__u64){ piece }));
		}
	}
	if (!is_v1(variant)) {
		EXPECT_EQ(0, md_check_map(self->fd, self->hwpt_id, BASE, len,
					  huge));
		EXPECT_EQ(len, unmapped(self->fd, BASE, len));
	}
	EXPECT_EQ(0, md_check_refs(self->fd, huge, len, 0));
	munmap(huge, len);
}

/* Closing the container with mappings left lets go of every pin. */
TEST_F(compat, close_with_mappings)
{
	ASSERT_EQ(0, map_dma(self->fd, RW, self->buf, BASE, self->buf_len / 2));
	ASSERT_EQ(0, map_dma(self->fd, RW, self->buf + self->buf_len / 2,
			     BASE + SZ_2M, self->buf_len / 2));
	EXPECT_EQ(BUF_PAGES, pinned_vm_pages() - self->vm_pinned);
	close(self->fd);
	self->fd = -1;
	/* The teardown checks pins and VmPin. */
}

TEST_HARNESS_MAIN
