// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Real DMA through our iommufd: QEMU's edu device (PCI 1234:11e8) bound to
 * vfio-pci, its DMA engine driven from userspace through BAR0 and
 * translated by the VM's IOMMU (VT-d, AMD-Vi, virtio-iommu or SMMUv3; the
 * kernel command line's harness_iommu= says which, VT-d by default).  Every
 * test checks where the bytes land: exactly in the target, nothing next to
 * it, and nowhere at all when no mapping allows the access.
 *
 *  edu_cdev      the device cdev bound to /dev/iommu and attached to an
 *                IOAS: both DMA directions, pins and charge, faults on
 *                never-mapped and unmapped IOVAs (reported by the IOMMU in
 *                the kernel log), detach
 *  edu_teardown  detach, unbind (close the device), close /dev/iommu and
 *                removal of the PCI device, in every order
 *  edu_huge      a hugetlb buffer: DMA across it, and 2 MiB IOPTEs (VT-d)
 *  edu_group     /dev/vfio/GROUP with /dev/vfio/vfio (type1 v2 and v1) or
 *                /dev/iommu as the container
 *  edu_pair      two edu devices in one IOMMU group (behind a PCIe-to-PCI
 *                bridge), if the VM has them
 *  edu_msi       binding needs isolated MSIs unless allow_unsafe_interrupts
 *  edu_replace   the device moved to a second IOAS without a detach
 *
 * Every test leaves edu bound to vfio-pci with nothing pinned or charged,
 * measured before and after: the pins of the whole system by /proc/vmstat
 * (nr_foll_pin_acquired - nr_foll_pin_released), the RLIMIT_MEMLOCK charge
 * of the user (user->locked_vm, where iommufd charges by default) by a
 * child that pins one page under a limit of exactly that charge plus one.
 * On a kernel where VFIO's own container serves /dev/vfio/vfio (make
 * type1) the type1 tests there expect VFIO's type1: it charges the
 * process (VmLck), v2 refuses a cut mapping with EINVAL, not ENOENT, and
 * v1 unmaps nothing from the middle of a mapping.
 *
 * vfio_edu.h has the device, the measures and what QEMU 7.2 does (it
 * aborts the whole VM on an edu transfer that reaches the end of the
 * device's 4 KiB buffer: edu_dma() refuses those).  Without edu in the VM
 * the tests skip.
 */
#include "vfio_edu.h"

/*
 * Seconds per test: a test waits for DMAs of 100 ms each, forks probes and
 * may sleep out a fault report ratelimit; the debug kernel under TCG on a
 * busy host takes several times as long as the normal one.
 */
#define EDU_TIMEOUT_S 120

#define BUF_PAGES 4
#define BUF_LEN (BUF_PAGES * PSZ)
#define HUGE_SZ (2UL << 20)
#define HUGE_LEN (4 * HUGE_SZ)

/*
 * IOVAs below 256 MiB (edu's DMA mask is 28 bits), clear of the software
 * MSI window some IOMMUs reserve at 128 MiB.
 */
#define IOVA_A 0x100000ULL
#define IOVA_B 0x200000ULL
#define IOVA_C 0x300000ULL
#define IOVA_D 0x400000ULL
#define IOVA_HOLE 0x600000ULL	/* never mapped */
#define IOVA_HUGE 0x4000000ULL	/* 2 MiB aligned */

/* The state every test must leave as it found it. */
struct edu_env {
	enum viommu iommu;
	char bdf[16];
	long pins;	/* pins_held() before the test */
	long locked;	/* locked_vm() before the test */
	long vm_locked;	/* vm_locked() before the test */
	bool native;	/* VFIO's own container serves /dev/vfio/vfio */
	int unsafe;	/* allow_unsafe_interrupts to restore, or -1 */
};

/* mm->locked_vm of this process in pages (VmLck): VFIO's type1 charges it. */
static long vm_locked(void)
{
	long kb = proc_field_kb("/proc/self/status", "VmLck");

	return kb < 0 ? kb : kb / (PSZ / 1024);
}

/*
 * Find @want edu devices (see edu_find(); rescan the bus once, in case a
 * test removed one and died), bind them to vfio-pci, measure the baseline.
 * Under virtio-iommu, which does not isolate MSIs, allow unsafe interrupts
 * unless @strict: VFIO cannot bind there otherwise.  NULL, or why to skip.
 */
static const char *env_setup(struct __test_metadata *_metadata,
			     struct edu_env *env, char (*bdfs)[16], int want,
			     bool strict)
{
	static const char *const none[] = {
		"no edu device (1234:11e8) alone in an IOMMU group (QEMU: -device edu)",
		"no IOMMU group with two edu devices (QEMU: behind a pcie-pci-bridge)",
		"edu devices without an IOMMU group: the IOMMU does not cover them",
	};
	char all[8][16];
	int i, n;

	env->unsafe = -1;
	env->iommu = vm_iommu();
	if (!edu_find(bdfs, want)) {
		write_file("/sys/bus/pci/rescan", "1");
		if (!edu_find(bdfs, want)) {
			n = edu_list(all, 8);
			for (i = 0; i < n; i++)
				if (group_of(all[i]) < 0)
					return none[2];
			return none[want - 1];
		}
	}
	for (i = 0; i < want; i++)
		ASSERT_EQ(0, bind_vfio_pci(bdfs[i]));
	memcpy(env->bdf, bdfs[0], sizeof(env->bdf));
	env->pins = pins_held();
	ASSERT_LE(0, env->pins);
	env->locked = locked_vm();
	ASSERT_LE(0, env->locked);
	env->vm_locked = vm_locked();
	ASSERT_LE(0, env->vm_locked);
	env->native = !container_is_iommufd();
	if (env->iommu == VIOMMU_VIRTIO && !strict) {
		env->unsafe = unsafe_irqs_get();
		ASSERT_LE(0, env->unsafe);
		ASSERT_EQ(0, unsafe_irqs_set(1));
	}
	return NULL;
}

static void env_check(struct __test_metadata *_metadata, struct edu_env *env)
{
	if (env->unsafe >= 0)
		EXPECT_EQ(0, unsafe_irqs_set(env->unsafe));
	EXPECT_EQ(env->pins, pins_held());
	EXPECT_EQ(0, locked_vm_is(env->locked));
	EXPECT_EQ(env->vm_locked, vm_locked());
	/* The next test finds it where this one did. */
	EXPECT_EQ(0, bind_vfio_pci(env->bdf));
}

/* The cdev path: edu bound to a context, attached, buffers a and b mapped. */
struct cdev {
	struct edu_env env;
	struct edu dev;
	int iommufd;
	__u32 ioas_id;
	__u32 hwpt_id;
	struct buf a;
	struct buf b;
};

static const char *cdev_setup(struct __test_metadata *_metadata,
			      struct cdev *c, bool attach)
{
	char bdf[1][16];
	const char *why;

	c->dev.fd = -1;
	c->iommufd = -1;
	why = env_setup(_metadata, &c->env, bdf, 1, false);
	if (why)
		return why;
	edu_init(&c->dev, bdf[0]);
	ASSERT_EQ(0, buf_new(&c->a, BUF_LEN, 1, IOVA_A, false));
	ASSERT_EQ(0, buf_new(&c->b, BUF_LEN, 2, IOVA_B, false));
	c->iommufd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, c->iommufd);
	ASSERT_EQ(0, ioas_alloc(c->iommufd, &c->ioas_id));
	ASSERT_EQ(0, cdev_bind(&c->dev, c->iommufd));
	if (attach) {
		c->hwpt_id = c->ioas_id;
		ASSERT_EQ(0, vfio_attach(c->dev.fd, &c->hwpt_id));
		EXPECT_NE(c->ioas_id, c->hwpt_id);
	}
	ASSERT_EQ(0, edu_regions(&c->dev));
	ASSERT_EQ(EDU_IDENT, edu_ident(&c->dev));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->a.mem, BUF_LEN,
				    IOVA_A));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->b.mem, BUF_LEN,
				    IOVA_B));
	return NULL;
}

static void cdev_teardown(struct __test_metadata *_metadata, struct cdev *c)
{
	edu_close(&c->dev);
	if (c->iommufd >= 0)
		close(c->iommufd);
	env_check(_metadata, &c->env);
	buf_free(&c->a);
	buf_free(&c->b);
}

/* Pins and RLIMIT_MEMLOCK charge are @pages above the baseline. */
#define EXPECT_PINNED(env, pages)                                        \
	do {                                                             \
		const struct edu_env *__env = (env);                     \
		long __pages = (pages);                                  \
								 \
		EXPECT_EQ(__env->pins + __pages, pins_held());           \
		EXPECT_EQ(0, locked_vm_is(__env->locked + __pages));     \
	} while (0)

/*
 * The same after the type1 ioctls on /dev/vfio/vfio: iommufd's compat
 * charges the user, VFIO's own type1 this process (mm->locked_vm).
 */
#define EXPECT_PINNED_TYPE1(env, pages)                                  \
	do {                                                             \
		const struct edu_env *__e1 = (env);                      \
		long __p1 = (pages);                                     \
									 \
		if (__e1->native) {                                      \
			EXPECT_EQ(__e1->pins + __p1, pins_held());       \
			EXPECT_EQ(0, locked_vm_is(__e1->locked));        \
			EXPECT_EQ(__e1->vm_locked + __p1, vm_locked());  \
		} else {                                                 \
			EXPECT_PINNED(__e1, __p1);                       \
		}                                                        \
	} while (0)

FIXTURE(edu_cdev) {
	struct cdev c;
};

FIXTURE_SETUP(edu_cdev)
{
	const char *why = cdev_setup(_metadata, &self->c, true);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(edu_cdev)
{
	cdev_teardown(_metadata, &self->c);
}

/*
 * RAM to device from a, device to RAM into b, at offsets that cross pages
 * on both sides and end at the last byte of b: exactly the bytes copied
 * change, nothing next to them.
 */
TEST_F_TIMEOUT(edu_cdev, dma_both_directions, EDU_TIMEOUT_S)
{
	struct cdev *c = &self->c;

	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, EDU_XFER, true);
	dma_copy(_metadata, &c->dev, &c->a, PSZ - 100, &c->b, 2 * PSZ - 300,
		 1000, true);
	dma_copy(_metadata, &c->dev, &c->a, 3 * PSZ + 5, &c->b, PSZ + 17, 1,
		 true);
	dma_copy(_metadata, &c->dev, &c->a, 2 * PSZ + 64, &c->b,
		 BUF_LEN - 700, 700, true);
}

/* Attached, every mapped page is pinned and charged once; unmap gives back. */
TEST_F_TIMEOUT(edu_cdev, pins_and_charge, EDU_TIMEOUT_S)
{
	struct cdev *c = &self->c;

	EXPECT_PINNED(&c->env, 2 * BUF_PAGES);
	/* The same memory mapped again is pinned and charged again. */
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->a.mem, BUF_LEN,
				    IOVA_C));
	EXPECT_PINNED(&c->env, 3 * BUF_PAGES);
	ASSERT_EQ(0, ioas_unmap(c->iommufd, c->ioas_id, IOVA_C, BUF_LEN, NULL));
	ASSERT_EQ(0, ioas_unmap(c->iommufd, c->ioas_id, IOVA_B, BUF_LEN, NULL));
	EXPECT_PINNED(&c->env, BUF_PAGES);
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->a, PSZ, 512, true);
}

/* An IOVA never mapped: nothing changes, the IOMMU reports the fault. */
TEST_F_TIMEOUT(edu_cdev, fault_never_mapped, EDU_TIMEOUT_S)
{
	struct buf hole = { .iova = IOVA_HOLE };
	struct cdev *c = &self->c;
	int kmsg;

	fault_quiet(c->env.iommu);
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	dma_copy(_metadata, &c->dev, &c->a, 0, &hole, 100, 256, false);
	EXPECT_EQ(-1, buf_diff(&c->b));
	EXPECT_TRUE(fault_logged(kmsg, c->env.iommu, IOVA_HOLE,
				 IOVA_HOLE + 100 + 256));
	close(kmsg);
	/* The device goes on working. */
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 256, true);
}

/*
 * Mapped, DMA lands; unmapped, the same DMA is dropped (the IOTLB was
 * flushed) and reported; mapped again, it lands again.
 */
TEST_F_TIMEOUT(edu_cdev, fault_unmapped_since, EDU_TIMEOUT_S)
{
	struct cdev *c = &self->c;
	int kmsg;

	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, PSZ, 512, true);
	buf_reset(&c->b);
	ASSERT_EQ(0, ioas_unmap(c->iommufd, c->ioas_id, IOVA_B, BUF_LEN, NULL));
	fault_quiet(c->env.iommu);
	kmsg = kmsg_open();
	ASSERT_LE(0, kmsg);
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, PSZ, 512, false);
	EXPECT_TRUE(fault_logged(kmsg, c->env.iommu, IOVA_B + PSZ,
				 IOVA_B + PSZ + 512));
	close(kmsg);
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->b.mem, BUF_LEN,
				    IOVA_B));
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, PSZ, 512, true);
}

/* Detached, the device is blocked and nothing stays pinned; reattached, OK. */
TEST_F_TIMEOUT(edu_cdev, detach_blocks_dma, EDU_TIMEOUT_S)
{
	struct cdev *c = &self->c;
	__u32 pt_id = c->ioas_id;

	ASSERT_EQ(0, vfio_detach(c->dev.fd));
	EXPECT_PINNED(&c->env, 0);
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 512, false);
	/* Detaching again changes nothing. */
	EXPECT_EQ(0, vfio_detach(c->dev.fd));
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 512, false);
	ASSERT_EQ(0, vfio_attach(c->dev.fd, &pt_id));
	EXPECT_PINNED(&c->env, 2 * BUF_PAGES);
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 512, true);
}

enum step { END, DETACH, UNBIND, CLOSE_IOMMUFD, REMOVE };

FIXTURE(edu_teardown) {
	struct cdev c;
};

FIXTURE_VARIANT(edu_teardown) {
	enum step steps[3];
};

FIXTURE_VARIANT_ADD(edu_teardown, detach_unbind_close) {
	.steps = { DETACH, UNBIND, CLOSE_IOMMUFD },
};

FIXTURE_VARIANT_ADD(edu_teardown, detach_close_unbind) {
	.steps = { DETACH, CLOSE_IOMMUFD, UNBIND },
};

FIXTURE_VARIANT_ADD(edu_teardown, close_detach_unbind) {
	.steps = { CLOSE_IOMMUFD, DETACH, UNBIND },
};

FIXTURE_VARIANT_ADD(edu_teardown, unbind_close) {
	.steps = { UNBIND, CLOSE_IOMMUFD },
};

FIXTURE_VARIANT_ADD(edu_teardown, close_unbind) {
	.steps = { CLOSE_IOMMUFD, UNBIND },
};

FIXTURE_VARIANT_ADD(edu_teardown, remove_close) {
	.steps = { REMOVE, CLOSE_IOMMUFD },
};

FIXTURE_VARIANT_ADD(edu_teardown, close_remove) {
	.steps = { CLOSE_IOMMUFD, REMOVE },
};

FIXTURE_SETUP(edu_teardown)
{
	const char *why = cdev_setup(_metadata, &self->c, true);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(edu_teardown)
{
	cdev_teardown(_metadata, &self->c);
}

/*
 * After each step: the pages are pinned and charged exactly while the
 * device is attached (a closed /dev/iommu lives on in the bound device),
 * and an open device's DMA lands exactly then.
 */
TEST_F_TIMEOUT(edu_teardown, orders, EDU_TIMEOUT_S)
{
	struct cdev *c = &self->c;
	bool attached = true;
	unsigned int i;

	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 512, true);
	EXPECT_PINNED(&c->env, 2 * BUF_PAGES);
	for (i = 0; i < ARRAY_SIZE(variant->steps) && variant->steps[i]; i++) {
		switch (variant->steps[i]) {
		case DETACH:
			ASSERT_EQ(0, vfio_detach(c->dev.fd));
			attached = false;
			break;
		case UNBIND:
			edu_close(&c->dev);
			attached = false;
			break;
		case CLOSE_IOMMUFD:
			ASSERT_EQ(0, close(c->iommufd));
			c->iommufd = -1;
			break;
		case REMOVE:
			remove_and_rescan(_metadata, &c->dev);
			attached = false;
			break;
		default:
			break;
		}
		EXPECT_PINNED(&c->env, attached ? 2 * BUF_PAGES : 0);
		if (c->dev.fd >= 0) {
			buf_reset(&c->b);
			dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 512,
				 attached);
		}
	}
	EXPECT_EQ(-1, c->dev.fd);
}

FIXTURE(edu_huge) {
	struct cdev c;
	struct buf h;
};

FIXTURE_VARIANT(edu_huge) {
	bool map_first;
};

FIXTURE_VARIANT_ADD(edu_huge, attach_then_map) {
	.map_first = false,
};

FIXTURE_VARIANT_ADD(edu_huge, map_then_attach) {
	.map_first = true,
};

FIXTURE_SETUP(edu_huge)
{
	struct cdev *c = &self->c;
	const char *why;

	why = cdev_setup(_metadata, c, !variant->map_first);
	if (why)
		SKIP(return, "%s", why);
	if (buf_new(&self->h, HUGE_LEN, 3, IOVA_HUGE, true))
		SKIP(return, "no %lu free 2 MiB hugetlb pages",
		     HUGE_LEN / HUGE_SZ);
	ASSERT_EQ(0, (uintptr_t)self->h.mem % HUGE_SZ);
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, self->h.mem,
				    HUGE_LEN, IOVA_HUGE));
	if (variant->map_first) {
		c->hwpt_id = c->ioas_id;
		ASSERT_EQ(0, vfio_attach(c->dev.fd, &c->hwpt_id));
	}
}

FIXTURE_TEARDOWN(edu_huge)
{
	cdev_teardown(_metadata, &self->c);
	buf_free(&self->h);
}

/*
 * DMA into and out of the hugetlb buffer at its start, across the ends of
 * huge pages, in the middle and at its end; every 2 MiB of it is one IOPTE
 * (checked on VT-d, which shows its page table in debugfs).
 */
TEST_F_TIMEOUT(edu_huge, dma_across_buffer, EDU_TIMEOUT_S)
{
	static const struct {
		size_t off;
		size_t len;
	} spots[] = {
		{ 0, EDU_XFER },
		{ HUGE_SZ - 1000, 2000 },
		{ HUGE_SZ + 7 * 4096 + 3, 1234 },
		{ 3 * HUGE_SZ - 17, 100 },
		{ HUGE_LEN - 1999, 1999 },
	};
	struct cdev *c = &self->c;
	unsigned int i;
	long size;

	for (i = 0; i < ARRAY_SIZE(spots); i++) {
		dma_copy(_metadata, &c->dev, &c->a, i * 512, &self->h,
			 spots[i].off, spots[i].len, true);
		buf_reset(&c->b);
		dma_copy(_metadata, &c->dev, &self->h, spots[i].off + 11 - i,
			 &c->b, PSZ, 1500, true);
	}
	EXPECT_PINNED(&c->env, 2 * BUF_PAGES + HUGE_LEN / PSZ);
	if (c->env.iommu != VIOMMU_INTEL) {
		TH_LOG("IOPTE sizes not checked: only VT-d shows its page table");
		return;
	}
	for (i = 0; i < HUGE_LEN / HUGE_SZ; i++) {
		size = vtd_iopte_size(c->dev.bdf, IOVA_HUGE + i * HUGE_SZ);
		EXPECT_EQ(HUGE_SZ, size);
		size = vtd_iopte_size(c->dev.bdf,
				      IOVA_HUGE + i * HUGE_SZ + HUGE_SZ - 1);
		EXPECT_EQ(HUGE_SZ, size);
	}
	/* The small buffers: small IOPTEs. */
	EXPECT_EQ(PSZ, vtd_iopte_size(c->dev.bdf, IOVA_A));
	EXPECT_EQ(0, vtd_iopte_size(c->dev.bdf, IOVA_HOLE));
}

/* The group path: edu's group in a container. */
FIXTURE(edu_group) {
	struct edu_env env;
	struct edu dev;
	int container;
	int group;
	struct buf a;
	struct buf b;
};

FIXTURE_SETUP(edu_group)
{
	char bdf[1][16], path[32];
	const char *why;

	self->dev.fd = -1;
	self->container = -1;
	self->group = -1;
	why = env_setup(_metadata, &self->env, bdf, 1, false);
	if (why)
		SKIP(return, "%s", why);
	edu_init(&self->dev, bdf[0]);
	ASSERT_EQ(0, buf_new(&self->a, BUF_LEN, 1, IOVA_A, false));
	ASSERT_EQ(0, buf_new(&self->b, BUF_LEN, 2, IOVA_B, false));
	snprintf(path, sizeof(path), "/dev/vfio/%d", group_of(bdf[0]));
	self->group = open(path, O_RDWR);
	ASSERT_LE(0, self->group);
	self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container);
}

FIXTURE_TEARDOWN(edu_group)
{
	edu_close(&self->dev);
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
	env_check(_metadata, &self->env);
	buf_free(&self->a);
	buf_free(&self->b);
}

/* The group into @container, IOMMU @type set, the device opened. */
static void group_open(struct __test_metadata *_metadata, int group,
		       int container, unsigned long type, struct edu *e)
{
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(group));
	if (type)
		ASSERT_EQ(0, ioctl(container, VFIO_SET_IOMMU, type));
	e->fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, e->bdf);
	ASSERT_LE(0, e->fd);
	ASSERT_EQ(0, edu_regions(e));
	ASSERT_EQ(EDU_IDENT, edu_ident(e));
}

/*
 * Type1 v2 through /dev/vfio/vfio: the API checks, the IOMMU's page sizes
 * and usable IOVA ranges (without its MSI window), map, DMA, unmap.
 */
TEST_F_TIMEOUT(edu_group, type1v2, EDU_TIMEOUT_S)
{
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	struct vfio_iommu_type1_info *info;
	__u64 unmapped = 0;

	EXPECT_EQ(VFIO_API_VERSION, ioctl(self->container,
					  VFIO_GET_API_VERSION));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(self->group));
	group_open(_metadata, self->group, self->container,
		   VFIO_TYPE1v2_IOMMU, &self->dev);

	info = iommu_info(self->container);
	ASSERT_NE(NULL, info);
	EXPECT_TRUE(info->flags & VFIO_IOMMU_INFO_PGSIZES);
	EXPECT_EQ(PSZ, info->iova_pgsizes & -info->iova_pgsizes);
	ranges = info_ranges(info);
	ASSERT_NE(NULL, ranges);
	EXPECT_LE(1, ranges->nr_iovas);
	EXPECT_TRUE(in_ranges(ranges, IOVA_A, IOVA_HUGE + HUGE_LEN - 1));
	EXPECT_FALSE(in_ranges(ranges, viommus[self->env.iommu].msi,
			       viommus[self->env.iommu].msi));
	free(info);

	ASSERT_EQ(0, dma_map(self->container, &self->a, IOVA_A));
	ASSERT_EQ(0, dma_map(self->container, &self->b, IOVA_B));
	EXPECT_PINNED_TYPE1(&self->env, 2 * BUF_PAGES);
	dma_copy(_metadata, &self->dev, &self->a, 100, &self->b, PSZ - 50,
		 EDU_XFER, true);
	/*
	 * v2 unmaps whole mappings only: ENOENT from iommufd (as
	 * IOMMU_IOAS_UNMAP), EINVAL from VFIO's type1.
	 */
	EXPECT_ERRNO(self->env.native ? EINVAL : ENOENT,
		     dma_unmap(self->container, IOVA_B, PSZ, NULL));
	buf_reset(&self->b);
	dma_copy(_metadata, &self->dev, &self->a, 0, &self->b, 0, 256, true);
	ASSERT_EQ(0, dma_unmap(self->container, IOVA_B, BUF_LEN, &unmapped));
	EXPECT_EQ(BUF_LEN, unmapped);
	EXPECT_PINNED_TYPE1(&self->env, BUF_PAGES);
	buf_reset(&self->b);
	dma_copy(_metadata, &self->dev, &self->a, 0, &self->b, 0, 256, false);
	dma_copy(_metadata, &self->dev, &self->a, 0, &self->a, PSZ, 256, true);
}

/*
 * Type1 v1 on iommufd maps in small IOPTEs, and unmapping a page from the
 * middle of a mapping works: DMA into that page is dropped, around it the
 * DMA lands.  VFIO's own v1 unmaps nothing from the middle of a mapping
 * (success, 0 bytes) and maps with every IOPTE size of the IOMMU.
 */
TEST_F_TIMEOUT(edu_group, type1v1_partial_unmap, EDU_TIMEOUT_S)
{
	struct vfio_iommu_type1_info *info;
	bool cut = !self->env.native;
	__u64 unmapped = 0;
	unsigned int pg;

	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1_IOMMU));
	group_open(_metadata, self->group, self->container, VFIO_TYPE1_IOMMU,
		   &self->dev);
	info = iommu_info(self->container);
	ASSERT_NE(NULL, info);
	EXPECT_EQ(PSZ, cut ? info->iova_pgsizes :
			     info->iova_pgsizes & -info->iova_pgsizes);
	free(info);
	ASSERT_EQ(0, dma_map(self->container, &self->a, IOVA_A));
	ASSERT_EQ(0, dma_map(self->container, &self->b, IOVA_B));

	ASSERT_EQ(0, dma_unmap(self->container, IOVA_B + PSZ, PSZ,
			       &unmapped));
	EXPECT_EQ(cut ? PSZ : 0, unmapped);
	EXPECT_PINNED_TYPE1(&self->env, 2 * BUF_PAGES - cut);
	for (pg = 0; pg < BUF_PAGES; pg++) {
		buf_reset(&self->b);
		dma_copy(_metadata, &self->dev, &self->a, 8, &self->b,
			 pg * PSZ + 40, 300, pg != 1 || !cut);
	}
	/* The rest goes with one unmap over the whole range. */
	ASSERT_EQ(0, dma_unmap(self->container, IOVA_B, BUF_LEN, &unmapped));
	EXPECT_EQ(BUF_LEN - cut * PSZ, unmapped);
	EXPECT_PINNED_TYPE1(&self->env, BUF_PAGES);
}

/*
 * /dev/iommu as the container: the group's device attaches to the compat
 * IOAS (IOMMU_VFIO_IOAS finds it), which IOMMU_IOAS_MAP and the type1
 * ioctls on the same fd both fill.
 */
TEST_F_TIMEOUT(edu_group, iommufd_container, EDU_TIMEOUT_S)
{
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	int iommufd = open(IOMMU_DEV, O_RDWR);

	ASSERT_LE(0, iommufd);
	group_open(_metadata, self->group, iommufd, 0, &self->dev);
	ASSERT_EQ(0, ioctl(iommufd, IOMMU_VFIO_IOAS, &vioas));
	ASSERT_EQ(0, ioas_map_fixed(iommufd, vioas.ioas_id, self->a.mem,
				    BUF_LEN, IOVA_A));
	EXPECT_EQ(1, ioctl(iommufd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, ioctl(iommufd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, dma_map(iommufd, &self->b, IOVA_B));
	EXPECT_PINNED(&self->env, 2 * BUF_PAGES);
	dma_copy(_metadata, &self->dev, &self->a, 0, &self->b, 300, 1000, true);
	ASSERT_EQ(0, ioas_unmap(iommufd, vioas.ioas_id, IOVA_B, BUF_LEN, NULL));
	buf_reset(&self->b);
	dma_copy(_metadata, &self->dev, &self->a, 0, &self->b, 300, 1000,
		 false);
	/* The device holds the context; it goes when both are closed. */
	close(iommufd);
	EXPECT_PINNED(&self->env, BUF_PAGES);
}

/* Two edu devices of one IOMMU group. */
FIXTURE(edu_pair) {
	struct edu_env env;
	struct edu dev[2];
	int fds[3];	/* whatever the test opens besides the devices */
	struct buf a;
	struct buf b;
};

FIXTURE_SETUP(edu_pair)
{
	char bdfs[2][16];
	const char *why;
	int i;

	for (i = 0; i < 3; i++)
		self->fds[i] = -1;
	self->dev[0].fd = -1;
	self->dev[1].fd = -1;
	why = env_setup(_metadata, &self->env, bdfs, 2, false);
	if (why)
		SKIP(return, "%s", why);
	edu_init(&self->dev[0], bdfs[0]);
	edu_init(&self->dev[1], bdfs[1]);
	ASSERT_EQ(0, buf_new(&self->a, BUF_LEN, 1, IOVA_A, false));
	ASSERT_EQ(0, buf_new(&self->b, BUF_LEN, 2, IOVA_B, false));
}

FIXTURE_TEARDOWN(edu_pair)
{
	int i;

	edu_close(&self->dev[0]);
	edu_close(&self->dev[1]);
	for (i = 0; i < 3; i++)
		if (self->fds[i] >= 0)
			close(self->fds[i]);
	env_check(_metadata, &self->env);
	EXPECT_EQ(0, bind_vfio_pci(self->dev[1].bdf));
	buf_free(&self->a);
	buf_free(&self->b);
}

/* One group, one container, both devices: both DMA through its mappings. */
TEST_F_TIMEOUT(edu_pair, group_path, EDU_TIMEOUT_S)
{
	struct edu *d = self->dev;
	char path[32];
	int group;

	if (!viommus[self->env.iommu].bridged_dma)
		SKIP(return, "QEMU's %s IOMMU drops DMA from behind a PCIe-to-PCI bridge",
		     viommus[self->env.iommu].name);

	snprintf(path, sizeof(path), "/dev/vfio/%d", group_of(d[0].bdf));
	group = open(path, O_RDWR);
	self->fds[0] = group;
	ASSERT_LE(0, group);
	self->fds[1] = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->fds[1]);
	group_open(_metadata, group, self->fds[1], VFIO_TYPE1v2_IOMMU, &d[0]);
	d[1].fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, d[1].bdf);
	ASSERT_LE(0, d[1].fd);
	ASSERT_EQ(0, edu_regions(&d[1]));
	ASSERT_EQ(0, dma_map(self->fds[1], &self->a, IOVA_A));
	ASSERT_EQ(0, dma_map(self->fds[1], &self->b, IOVA_B));
	dma_copy(_metadata, &d[0], &self->a, 0, &self->b, 0, 512, true);
	dma_copy(_metadata, &d[1], &self->a, 512, &self->b, 2 * PSZ, 512,
		 true);
	edu_close(&d[0]);
	dma_copy(_metadata, &d[1], &self->a, 1024, &self->b, 3 * PSZ, 512,
		 true);
	EXPECT_PINNED_TYPE1(&self->env, 2 * BUF_PAGES);
}

/*
 * Bound to one context, the devices share the group's domain: the second
 * cannot attach to another IOAS, and a device stays translated while the
 * other is still attached.
 */
TEST_F_TIMEOUT(edu_pair, cdev_one_domain, EDU_TIMEOUT_S)
{
	struct edu *d = self->dev;
	__u32 ioas1, ioas2, pt0, pt1;
	int iommufd;

	if (!viommus[self->env.iommu].bridged_dma)
		SKIP(return, "QEMU's %s IOMMU drops DMA from behind a PCIe-to-PCI bridge",
		     viommus[self->env.iommu].name);

	iommufd = open(IOMMU_DEV, O_RDWR);
	self->fds[0] = iommufd;
	ASSERT_LE(0, iommufd);
	ASSERT_EQ(0, ioas_alloc(iommufd, &ioas1));
	ASSERT_EQ(0, ioas_alloc(iommufd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(iommufd, ioas1, self->a.mem, BUF_LEN,
				    IOVA_A));
	ASSERT_EQ(0, ioas_map_fixed(iommufd, ioas1, self->b.mem, BUF_LEN,
				    IOVA_B));
	ASSERT_EQ(0, cdev_bind(&d[0], iommufd));
	ASSERT_EQ(0, cdev_bind(&d[1], iommufd));
	ASSERT_EQ(0, edu_regions(&d[0]));
	ASSERT_EQ(0, edu_regions(&d[1]));
	pt0 = ioas1;
	ASSERT_EQ(0, vfio_attach(d[0].fd, &pt0));
	pt1 = ioas2;
	EXPECT_ERRNO(EINVAL, vfio_attach(d[1].fd, &pt1));
	pt1 = ioas1;
	ASSERT_EQ(0, vfio_attach(d[1].fd, &pt1));
	EXPECT_EQ(pt0, pt1);
	dma_copy(_metadata, &d[0], &self->a, 0, &self->b, 0, 512, true);
	dma_copy(_metadata, &d[1], &self->a, 0, &self->b, PSZ, 512, true);

	ASSERT_EQ(0, vfio_detach(d[0].fd));
	EXPECT_PINNED(&self->env, 2 * BUF_PAGES);
	buf_reset(&self->b);
	dma_copy(_metadata, &d[0], &self->a, 0, &self->b, 0, 512, true);
	ASSERT_EQ(0, vfio_detach(d[1].fd));
	EXPECT_PINNED(&self->env, 0);
	buf_reset(&self->b);
	dma_copy(_metadata, &d[0], &self->a, 0, &self->b, 0, 512, false);
	dma_copy(_metadata, &d[1], &self->a, 0, &self->b, 0, 512, false);
}

/* The group belongs to one context: the other device cannot bind elsewhere. */
TEST_F_TIMEOUT(edu_pair, cdev_other_context, EDU_TIMEOUT_S)
{
	struct edu *d = self->dev;

	self->fds[0] = open(IOMMU_DEV, O_RDWR);
	self->fds[1] = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fds[0]);
	ASSERT_LE(0, self->fds[1]);
	ASSERT_EQ(0, cdev_bind(&d[0], self->fds[0]));
	EXPECT_ERRNO(EPERM, cdev_bind(&d[1], self->fds[1]));
	edu_close(&d[1]);
	/* Once the first lets go, the group is free for the other context. */
	edu_close(&d[0]);
	EXPECT_EQ(0, cdev_bind(&d[1], self->fds[1]));
}

/* Binding needs isolated MSIs, which virtio-iommu does not provide. */
FIXTURE(edu_msi) {
	struct cdev c;
	int unsafe;
};

FIXTURE_SETUP(edu_msi)
{
	struct cdev *c = &self->c;
	char bdf[1][16];
	const char *why;

	c->dev.fd = -1;
	c->iommufd = -1;
	self->unsafe = -1;
	why = env_setup(_metadata, &c->env, bdf, 1, true);
	if (why)
		SKIP(return, "%s", why);
	edu_init(&c->dev, bdf[0]);
	ASSERT_EQ(0, buf_new(&c->a, BUF_LEN, 1, IOVA_A, false));
	ASSERT_EQ(0, buf_new(&c->b, BUF_LEN, 2, IOVA_B, false));
	c->iommufd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, c->iommufd);
	ASSERT_EQ(0, ioas_alloc(c->iommufd, &c->ioas_id));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->a.mem, BUF_LEN,
				    IOVA_A));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, c->ioas_id, c->b.mem, BUF_LEN,
				    IOVA_B));
	self->unsafe = unsafe_irqs_get();
	ASSERT_LE(0, self->unsafe);
	ASSERT_EQ(0, unsafe_irqs_set(0));
}

FIXTURE_TEARDOWN(edu_msi)
{
	if (self->unsafe >= 0)
		EXPECT_EQ(0, unsafe_irqs_set(self->unsafe));
	cdev_teardown(_metadata, &self->c);
}

/*
 * With interrupt remapping (VT-d, AMD-Vi) or the GIC ITS (SMMUv3) the
 * device binds as it is; behind virtio-iommu only with
 * allow_unsafe_interrupts (EPERM without).  Then DMA works.
 */
TEST_F_TIMEOUT(edu_msi, bind_needs_isolated_msi, EDU_TIMEOUT_S)
{
	struct cdev *c = &self->c;

	c->dev.fd = cdev_open(c->dev.bdf);
	ASSERT_LE(0, c->dev.fd);
	if (c->env.iommu == VIOMMU_VIRTIO) {
		EXPECT_ERRNO(EPERM, vfio_bind(c->dev.fd, c->iommufd, NULL));
		ASSERT_EQ(0, unsafe_irqs_set(1));
	}
	ASSERT_EQ(0, vfio_bind(c->dev.fd, c->iommufd, NULL));
	c->hwpt_id = c->ioas_id;
	ASSERT_EQ(0, vfio_attach(c->dev.fd, &c->hwpt_id));
	ASSERT_EQ(0, edu_regions(&c->dev));
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 1024, true);
}

/* Explicit hw_pagetables of the edu's IOMMU, and what it reports. */
FIXTURE(edu_hwpt) {
	struct cdev c;
};

FIXTURE_SETUP(edu_hwpt)
{
	const char *why = cdev_setup(_metadata, &self->c, false);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(edu_hwpt)
{
	cdev_teardown(_metadata, &self->c);
}

/* A VT-d register as the driver shows it in sysfs, or ~0. */
static __u64 vtd_sysfs_reg(const char *bdf, const char *reg)
{
	char path[256], val[64];

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/iommu/intel-iommu/%s",
		 bdf, reg);
	if (read_file(path, val, sizeof(val)))
		return ~0ULL;
	return strtoull(val, NULL, 16);
}

/*
 * IOMMU_GET_HW_INFO: VT-d reports its capability registers, the same the
 * driver shows in sysfs; the other IOMMUs' 6.12 drivers report no data.
 * Dirty tracking is offered exactly when a hw_pagetable can do it.
 */
TEST_F_TIMEOUT(edu_hwpt, hw_info, EDU_TIMEOUT_S)
{
	struct cdev *c = &self->c;
	struct iommu_hw_info_vtd vtd;
	__u32 len = sizeof(vtd), type;
	__u64 caps;

	memset(&vtd, 0xa5, sizeof(vtd));
	ASSERT_EQ(0, get_hw_info(c->iommufd, c->dev.devid, &vtd, &len, &type,
				 &caps));
	if (c->env.iommu == VIOMMU_INTEL) {
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_INTEL_VTD, type);
		EXPECT_EQ(sizeof(vtd), len);
		/* 6.12's driver flags the erratum on every VT-d. */
		EXPECT_EQ(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17, vtd.flags);
		EXPECT_EQ(0, vtd.__reserved);
		EXPECT_EQ(vtd_sysfs_reg(c->env.bdf, "cap"), vtd.cap_reg);
		EXPECT_EQ(vtd_sysfs_reg(c->env.bdf, "ecap"), vtd.ecap_reg);
	} else {
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_NONE, type);
		EXPECT_EQ(0, len);
		EXPECT_EQ(0, vtd.cap_reg);
		EXPECT_EQ(0, vtd.ecap_reg);
	}
	EXPECT_EQ(0, dirty_cap_is_honest(c->iommufd, c->dev.devid,
					 c->ioas_id));
}

/*
 * A hw_pagetable allocated for the edu and attached by its ID, as QEMU's
 * iommufd backend does it: DMA goes through it; it is busy while attached;
 * a replace onto another moves the DMA there.
 */
TEST_F_TIMEOUT(edu_hwpt, explicit_dma, EDU_TIMEOUT_S)
{
	struct cdev *c = &self->c;
	__u32 hwpt_id, hwpt2, ioas2, pt_id;

	/*
	 * 6.12's virtio-iommu finishes a domain only at its first attach:
	 * this one is filled then.
	 */
	ASSERT_EQ(0, hwpt_alloc(c->iommufd, c->dev.devid, c->ioas_id, 0,
				&hwpt_id));
	pt_id = hwpt_id;
	ASSERT_EQ(0, vfio_attach(c->dev.fd, &pt_id));
	EXPECT_EQ(hwpt_id, pt_id);
	EXPECT_PINNED(&c->env, 2 * BUF_PAGES);
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, PSZ, EDU_XFER, true);
	EXPECT_ERRNO(EBUSY, object_destroy(c->iommufd, hwpt_id));

	/* Replaced onto another one, of an IOAS with other IOVAs. */
	ASSERT_EQ(0, ioas_alloc(c->iommufd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, ioas2, c->a.mem, BUF_LEN,
				    IOVA_C));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, ioas2, c->b.mem, BUF_LEN,
				    IOVA_D));
	ASSERT_EQ(0, hwpt_alloc(c->iommufd, c->dev.devid, ioas2, 0, &hwpt2));
	pt_id = hwpt2;
	ASSERT_EQ(0, vfio_attach(c->dev.fd, &pt_id));
	EXPECT_EQ(hwpt2, pt_id);
	c->a.iova = IOVA_C;
	c->b.iova = IOVA_D;
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 1024, true);
	c->a.iova = IOVA_A;
	c->b.iova = IOVA_B;
	EXPECT_EQ(0, object_destroy(c->iommufd, hwpt_id));

	ASSERT_EQ(0, vfio_detach(c->dev.fd));
	EXPECT_EQ(0, object_destroy(c->iommufd, hwpt2));
	EXPECT_EQ(0, object_destroy(c->iommufd, ioas2));
	/* Explicit, so no automatic hw_pagetable kept the pins. */
	EXPECT_PINNED(&c->env, 0);
}

/*
 * Replace: the last fixture, because on virtio-iommu it oopses the kernel
 * (the new domain is filled before its first attach; 6.12's virtio-iommu
 * driver cannot map into such a domain and crashes unwinding the map).
 */
FIXTURE(edu_replace) {
	struct cdev c;
};

FIXTURE_SETUP(edu_replace)
{
	const char *why = cdev_setup(_metadata, &self->c, true);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(edu_replace)
{
	cdev_teardown(_metadata, &self->c);
}

/*
 * Attached to a second IOAS that has the same memory at other IOVAs, with
 * no detach in between: DMA works through the new IOVAs and not the old,
 * and only the new IOAS's pages stay pinned.  And back.
 */
TEST_F_TIMEOUT(edu_replace, hitless, EDU_TIMEOUT_S)
{
	struct cdev *c = &self->c;
	__u32 ioas2, pt_id;

	ASSERT_EQ(0, ioas_alloc(c->iommufd, &ioas2));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, ioas2, c->a.mem, BUF_LEN,
				    IOVA_C));
	ASSERT_EQ(0, ioas_map_fixed(c->iommufd, ioas2, c->b.mem, BUF_LEN,
				    IOVA_D));
	pt_id = ioas2;
	ASSERT_EQ(0, vfio_attach(c->dev.fd, &pt_id));
	EXPECT_NE(c->hwpt_id, pt_id);
	EXPECT_PINNED(&c->env, 2 * BUF_PAGES);

	c->a.iova = IOVA_C;
	c->b.iova = IOVA_D;
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 1024, true);
	buf_reset(&c->b);
	c->b.iova = IOVA_B;
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 1024, false);

	pt_id = c->ioas_id;
	ASSERT_EQ(0, vfio_attach(c->dev.fd, &pt_id));
	EXPECT_PINNED(&c->env, 2 * BUF_PAGES);
	c->a.iova = IOVA_A;
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 1024, true);
	buf_reset(&c->b);
	c->b.iova = IOVA_D;
	dma_copy(_metadata, &c->dev, &c->a, 0, &c->b, 0, 1024, false);
	c->b.iova = IOVA_B;
	/* The second IOAS is idle again and can go. */
	EXPECT_EQ(0, object_destroy(c->iommufd, ioas2));
}

TEST_HARNESS_MAIN
