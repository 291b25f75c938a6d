// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * VFIO's no-IOMMU mode through our iommufd.  An edu device that no IOMMU
 * covers, bound to vfio-pci while vfio.enable_unsafe_noiommu_mode is on,
 * gets a fake group (/dev/vfio/noiommu-N).  Its container is iommufd's
 * (/dev/vfio/vfio or /dev/iommu), which VFIO puts in no-IOMMU mode
 * (iommufd_vfio_compat_set_no_iommu()): no IOAS, no translation, the
 * device DMAs to physical addresses.  The tests find those for 2 MiB
 * hugetlb pages (physically contiguous, never swapped) in
 * /proc/self/pagemap; boot.sh gives the edus behind the bridge a 64-bit
 * DMA mask, as QEMU's default of 28 bits would clamp the VM's RAM
 * addresses.
 *
 *  edus              which edus have an IOMMU group; the mode counts only
 *                    when vfio-pci probes a device, and only for a device
 *                    without a group; such a device has no VFIO cdev in
 *                    6.12; a grouped device's container refuses no-IOMMU
 *  noiommu           the group in a container, the device opened, DMA both
 *                    ways at physical addresses; what is refused: no
 *                    container, a compat IOAS, no CAP_SYS_RAWIO, the type1
 *                    ioctls; a no-IOMMU group and an IOMMU-backed group
 *                    never share a container, in either order, two no-IOMMU
 *                    groups may
 *  noiommu_teardown  device, group and container closed, the container
 *                    unset and the device removed, in every order
 *
 * The VM's IOMMU (harness_iommu=) says how many edus must lack a group: two
 * behind the PCIe-to-PCI bridge under virtio-iommu (its ACPI VIOT leaves
 * that bus out), the second of them under SMMUv3 (the driver gives the
 * bridge's stream to the first), none under VT-d and AMD-Vi, where the
 * tests that need one skip.  A device that shares its requester ID with a
 * grouped one (SMMUv3: both behind the bridge) is translated by that
 * device's domain after all: the tests then map their buffers there, at
 * IOVA = physical address.
 *
 * Every test leaves the mode as it found it, the edus without a group
 * unbound (their fake groups gone), the others on vfio-pci, and nothing
 * pinned or charged.
 */
#include "vfio_edu.h"

#define NOIOMMU_TIMEOUT_S 120
#define NOIOMMU_MODE "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
/* What VFIO logs when a user opens a device of a no-IOMMU group */
#define NOIOMMU_OPENED "vfio-noiommu device opened by user"
#define HUGE_SZ (2UL << 20)
#define MAX_EDUS 8

/* How many edus of boot.sh's VM have no IOMMU group, by IOMMU. */
static const int bare_edus[] = {
	[VIOMMU_INTEL] = 0,
	[VIOMMU_AMD] = 0,
	[VIOMMU_VIRTIO] = 2,
	[VIOMMU_SMMUV3] = 1,
};

static int mode_get(void)
{
	char val[8];

	if (read_file(NOIOMMU_MODE, val, sizeof(val)))
		return -1;
	return val[0] == 'Y' || val[0] == '1';
}

static int mode_set(int on)
{
	return write_file(NOIOMMU_MODE, on ? "1" : "0");
}

/* Is @bdf in a fake group of VFIO's no-IOMMU mode? */
static bool in_noiommu_group(const char *bdf)
{
	char path[128], name[32];

	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/iommu_group/name",
		 bdf);
	return !read_file(path, name, sizeof(name)) &&
	       !strcmp(name, "vfio-noiommu");
}

/* The group file of @bdf: /dev/vfio/N, or /dev/vfio/noiommu-N. */
static void group_path(const char *bdf, char *path, size_t size)
{
	snprintf(path, size, "/dev/vfio/%s%d",
		 in_noiommu_group(bdf) ? "noiommu-" : "", group_of(bdf));
}

/* The group file of a grouped edu, opened. */
static int real_group_open(const char *bdf)
{
	char path[32];

	group_path(bdf, path, sizeof(path));
	return open(path, O_RDWR);
}

static bool has_driver(const char *bdf)
{
	char path[128];

	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/driver", bdf);
	return !access(path, F_OK);
}

static int unbind_driver(const char *bdf)
{
	char path[128];

	if (!has_driver(bdf))
		return 0;
	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/driver/unbind", bdf);
	return write_file(path, bdf);
}

/* Does any /dev/vfio/noiommu-N exist? */
static bool any_noiommu_group(void)
{
	struct dirent *d;
	bool found = false;
	DIR *dir;

	dir = opendir("/dev/vfio");
	if (!dir)
		return false;
	while ((d = readdir(dir)))
		found |= !strncmp(d->d_name, "noiommu-", 8);
	closedir(dir);
	return found;
}

/* A 2 MiB hugetlb buffer whose "IOVA" is its physical address. */
static void phys_buf(struct __test_metadata *_metadata, struct buf *b,
		     unsigned int seed)
{
	size_t off;

	ASSERT_EQ(0, buf_new(b, HUGE_SZ, seed, 0, true));
	b->iova = phys_addr(b->mem);
	ASSERT_NE(0, b->iova);
	for (off = 0; off < HUGE_SZ; off += PSZ)
		ASSERT_EQ(b->iova + off, phys_addr(b->mem + off));
}

/* Has the kernel logged @needle since kmsg_open()?  Reads what is there. */
static bool kmsg_has(int kmsg, const char *needle)
{
	char rec[2048];
	ssize_t n;

	for (;;) {
		n = read(kmsg, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten; the next one follows */
		if (n < 0)
			return false;
		rec[n] = 0;
		if (strstr(rec, needle))
			return true;
	}
}

/* The VM's edus, and the state every test must leave as it found it. */
struct nenv {
	enum viommu iommu;
	char bare[MAX_EDUS][16];	/* no IOMMU group */
	int nbare;
	char grouped[MAX_EDUS][16];
	int ngrouped;
	int mode;	/* enable_unsafe_noiommu_mode before the test */
	long pins;	/* pins_held() before the test */
	long locked;	/* locked_vm() before the test */
};

/*
 * With the mode off, bind every edu to vfio-pci: vfio-pci refuses those
 * that no IOMMU covers, which stay without a driver.  (A fake group that a
 * test which died left behind goes first.)  Then the baseline.
 */
static void env_setup(struct __test_metadata *_metadata, struct nenv *env)
{
	char all[MAX_EDUS][16];
	int i, n;

	memset(env, 0, sizeof(*env));
	env->iommu = vm_iommu();
	env->mode = mode_get();
	ASSERT_LE(0, env->mode);
	ASSERT_EQ(0, mode_set(0));
	n = edu_list(all, MAX_EDUS);
	for (i = 0; i < n; i++) {
		if (in_noiommu_group(all[i]))
			ASSERT_EQ(0, unbind_driver(all[i]));
		bind_vfio_pci(all[i]);
		if (group_of(all[i]) >= 0)
			memcpy(env->grouped[env->ngrouped++], all[i], 16);
		else
			memcpy(env->bare[env->nbare++], all[i], 16);
	}
	env->pins = pins_held();
	ASSERT_LE(0, env->pins);
	env->locked = locked_vm();
	ASSERT_LE(0, env->locked);
}

static void env_check(struct __test_metadata *_metadata, struct nenv *env)
{
	int i;

	for (i = 0; i < env->nbare; i++) {
		EXPECT_EQ(0, unbind_driver(env->bare[i]));
		EXPECT_EQ(-1, group_of(env->bare[i]));
	}
	EXPECT_FALSE(any_noiommu_group());
	EXPECT_EQ(0, mode_set(env->mode));
	EXPECT_EQ(env->pins, pins_held());
	EXPECT_EQ(0, locked_vm_is(env->locked));
	for (i = 0; i < env->ngrouped; i++)
		EXPECT_EQ(0, bind_vfio_pci(env->grouped[i]));
}

/*
 * NULL if the VM has @want edus without an IOMMU group; else why to skip,
 * or a failure if boot.sh's VM has them under this IOMMU.
 */
static const char *need_bare(struct __test_metadata *_metadata,
			     struct nenv *env, int want)
{
	static char why[128];

	if (env->nbare >= want)
		return NULL;
	ASSERT_GT(want, bare_edus[env->iommu]) {
		TH_LOG("the %s VM must have %d edus without an IOMMU group, not %d",
		       viommus[env->iommu].name, bare_edus[env->iommu],
		       env->nbare);
	}
	snprintf(why, sizeof(why),
		 "%d edu(s) without an IOMMU group under %s, the test needs %d",
		 env->nbare, viommus[env->iommu].name, want);
	return why;
}

FIXTURE(edus) {
	struct nenv env;
};

FIXTURE_SETUP(edus)
{
	env_setup(_metadata, &self->env);
}

FIXTURE_TEARDOWN(edus)
{
	env_check(_metadata, &self->env);
}

/*
 * As many edus without an IOMMU group as the IOMMU leaves (see
 * bare_edus[]), none of them on a driver while the mode is off; the others
 * on vfio-pci, in real groups.
 */
TEST_F_TIMEOUT(edus, which_have_a_group, NOIOMMU_TIMEOUT_S)
{
	struct nenv *env = &self->env;
	char path[32];
	int i;

	EXPECT_EQ(bare_edus[env->iommu], env->nbare);
	EXPECT_LE(1, env->ngrouped);
	for (i = 0; i < env->nbare; i++)
		EXPECT_FALSE(has_driver(env->bare[i]));
	for (i = 0; i < env->ngrouped; i++) {
		EXPECT_EQ(0, bind_vfio_pci(env->grouped[i]));
		EXPECT_FALSE(in_noiommu_group(env->grouped[i]));
		group_path(env->grouped[i], path, sizeof(path));
		EXPECT_EQ(0, access(path, F_OK));
	}
	EXPECT_FALSE(any_noiommu_group());
}

/*
 * The mode is read when vfio-pci probes a device: off, it refuses a device
 * without a group; on, the device gets a fake group and no VFIO cdev (6.12
 * has none for such devices); off again, the bound device keeps its group,
 * which goes when the device is unbound.
 */
TEST_F_TIMEOUT(edus, mode_decides_at_probe, NOIOMMU_TIMEOUT_S)
{
	struct nenv *env = &self->env;
	char gpath[32], name[32], path[160];
	const char *why, *bdf;
	int fd;

	why = need_bare(_metadata, env, 1);
	if (why)
		SKIP(return, "%s", why);
	bdf = env->bare[0];
	EXPECT_NE(0, bind_vfio_pci(bdf));
	EXPECT_EQ(-1, group_of(bdf));

	ASSERT_EQ(0, mode_set(1));
	EXPECT_EQ(1, mode_get());
	ASSERT_EQ(0, bind_vfio_pci(bdf));
	ASSERT_TRUE(in_noiommu_group(bdf));
	group_path(bdf, gpath, sizeof(gpath));
	EXPECT_EQ(0, strncmp(gpath, "/dev/vfio/noiommu-", 18));
	EXPECT_EQ(0, access(gpath, F_OK));
	/* The VFIO device is there, without a device number or cdev. */
	ASSERT_EQ(0, vfio_dev_name(bdf, name, sizeof(name)));
	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s/vfio-dev/%s/dev",
		 bdf, name);
	EXPECT_NE(0, access(path, F_OK));
	snprintf(path, sizeof(path), "/dev/vfio/devices/%s", name);
	EXPECT_NE(0, access(path, F_OK));
	EXPECT_EQ(-1, cdev_open(bdf));

	ASSERT_EQ(0, mode_set(0));
	EXPECT_TRUE(in_noiommu_group(bdf));
	fd = open(gpath, O_RDWR);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	ASSERT_EQ(0, unbind_driver(bdf));
	EXPECT_EQ(-1, group_of(bdf));
	EXPECT_NE(0, access(gpath, F_OK));
	EXPECT_NE(0, bind_vfio_pci(bdf));
}

/*
 * A device with a group keeps it when the mode is on, and its container
 * refuses no-IOMMU.  CHECK_EXTENSION(VFIO_NOIOMMU_IOMMU) is iommufd's 1
 * (the kernel has the mode) whatever the container holds; VFIO's own
 * container asks the drivers that could serve it: the no-IOMMU driver only
 * while the mode is on and no real group is in it.  A negative iommufd is
 * refused by BIND_IOMMUFD (no no-IOMMU cdevs in 6.12).
 */
TEST_F_TIMEOUT(edus, grouped_devices_keep_their_group, NOIOMMU_TIMEOUT_S)
{
	struct nenv *env = &self->env;
	bool ours = container_is_iommufd();
	int i, group, container, devfd;

	ASSERT_LE(1, env->ngrouped);
	ASSERT_EQ(0, mode_set(1));
	for (i = 0; i < env->ngrouped; i++) {
		ASSERT_EQ(0, unbind_driver(env->grouped[i]));
		ASSERT_EQ(0, bind_vfio_pci(env->grouped[i]));
		EXPECT_FALSE(in_noiommu_group(env->grouped[i]));
	}
	EXPECT_FALSE(any_noiommu_group());

	group = real_group_open(env->grouped[0]);
	ASSERT_LE(0, group);
	container = open(VFIO_CONTAINER, O_RDWR);
	ASSERT_LE(0, container);
	EXPECT_EQ(1, ioctl(container, VFIO_CHECK_EXTENSION,
			   VFIO_NOIOMMU_IOMMU));
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
	EXPECT_EQ(ours, ioctl(container, VFIO_CHECK_EXTENSION,
			      VFIO_NOIOMMU_IOMMU));
	EXPECT_ERRNO(ours ? EINVAL : ENODEV,
		     ioctl(container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(0, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(ours, ioctl(container, VFIO_CHECK_EXTENSION,
			      VFIO_NOIOMMU_IOMMU));
	close(group);
	close(container);

	ASSERT_EQ(0, mode_set(0));
	container = open(VFIO_CONTAINER, O_RDWR);
	ASSERT_LE(0, container);
	EXPECT_EQ(ours, ioctl(container, VFIO_CHECK_EXTENSION,
			      VFIO_NOIOMMU_IOMMU));
	close(container);

	devfd = cdev_open(env->grouped[0]);
	ASSERT_LE(0, devfd);
	EXPECT_ERRNO(EINVAL, vfio_bind(devfd, -1, NULL));
	close(devfd);
}

/*
 * An edu without an IOMMU group in a fake group (the mode on), the group
 * and a container opened, two physical buffers.  Where a grouped edu has
 * its requester ID, that one is bound and attached to an IOAS with the
 * buffers at IOVA = physical address.
 */
struct bare {
	struct nenv env;
	struct edu dev;
	char gpath[32];
	int group;
	int container;
	struct buf a;
	struct buf b;
	struct edu alias;
	int alias_fd;
	__u32 alias_ioas;
};

/* The sysfs directory of the PCI bridge @bdf is behind, or -1. */
static int bridge_dir(const char *bdf, char *dir)
{
	char path[PATH_MAX], *slash;

	snprintf(path, sizeof(path), PCI_DEVICES "/%.15s", bdf);
	if (!realpath(path, dir))
		return -1;
	slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = 0;
	/* A PCI device (a bridge), not the host bridge. */
	snprintf(path, sizeof(path), "%.4000s/vendor", dir);
	return access(path, F_OK);
}

/*
 * A grouped edu behind the same PCI bridge as @bdf into @alias: the IOMMU
 * sees the DMA of both with the bridge's requester ID (its secondary bus,
 * devfn 0).
 */
static bool alias_of(struct nenv *env, const char *bdf, char *alias)
{
	char mine[PATH_MAX], theirs[PATH_MAX];
	int i;

	if (bridge_dir(bdf, mine))
		return false;
	for (i = 0; i < env->ngrouped; i++) {
		if (!bridge_dir(env->grouped[i], theirs) &&
		    !strcmp(mine, theirs)) {
			memcpy(alias, env->grouped[i], 16);
			return true;
		}
	}
	return false;
}

static void alias_setup(struct __test_metadata *_metadata, struct bare *t)
{
	char bdf[16];
	__u32 pt_id;

	if (!alias_of(&t->env, t->dev.bdf, bdf))
		return;
	edu_init(&t->alias, bdf);
	t->alias_fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, t->alias_fd);
	ASSERT_EQ(0, ioas_alloc(t->alias_fd, &t->alias_ioas));
	ASSERT_EQ(0, ioas_map_fixed(t->alias_fd, t->alias_ioas, t->a.mem,
				    HUGE_SZ, t->a.iova));
	ASSERT_EQ(0, ioas_map_fixed(t->alias_fd, t->alias_ioas, t->b.mem,
				    HUGE_SZ, t->b.iova));
	ASSERT_EQ(0, cdev_bind(&t->alias, t->alias_fd));
	pt_id = t->alias_ioas;
	ASSERT_EQ(0, vfio_attach(t->alias.fd, &pt_id));
}

/* What the alias pins: the test itself pins nothing. */
static long alias_pins(struct bare *t)
{
	return t->alias_fd >= 0 ? 2 * HUGE_SZ / PSZ : 0;
}

static const char *bare_setup(struct __test_metadata *_metadata,
			      struct bare *t)
{
	const char *why;
	int i;

	t->group = -1;
	t->container = -1;
	t->alias_fd = -1;
	t->dev = (struct edu){ .fd = -1 };
	t->alias = (struct edu){ .fd = -1 };
	env_setup(_metadata, &t->env);
	why = need_bare(_metadata, &t->env, 1);
	if (why)
		return why;
	if (!container_is_iommufd())
		return "VFIO's own container serves " VFIO_CONTAINER;
	ASSERT_EQ(0, mode_set(1));
	for (i = 0; i < t->env.nbare; i++) {
		ASSERT_EQ(0, bind_vfio_pci(t->env.bare[i]));
		ASSERT_TRUE(in_noiommu_group(t->env.bare[i]));
	}
	edu_init(&t->dev, t->env.bare[0]);
	group_path(t->dev.bdf, t->gpath, sizeof(t->gpath));
	t->group = open(t->gpath, O_RDWR);
	ASSERT_LE(0, t->group);
	t->container = open(VFIO_CONTAINER, O_RDWR);
	ASSERT_LE(0, t->container);
	phys_buf(_metadata, &t->a, 1);
	phys_buf(_metadata, &t->b, 2);
	alias_setup(_metadata, t);
	return NULL;
}

static void bare_teardown(struct __test_metadata *_metadata, struct bare *t)
{
	edu_close(&t->dev);
	if (t->group >= 0)
		close(t->group);
	if (t->container >= 0)
		close(t->container);
	edu_close(&t->alias);
	if (t->alias_fd >= 0)
		close(t->alias_fd);
	env_check(_metadata, &t->env);
	buf_free(&t->a);
	buf_free(&t->b);
}

/* Open @e of @group, in a no-IOMMU container: BAR0 mapped, edu answers. */
static void bare_open_dev(struct __test_metadata *_metadata, int group,
			  struct edu *e)
{
	e->fd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, e->bdf);
	ASSERT_LE(0, e->fd);
	ASSERT_EQ(0, edu_regions(e));
	ASSERT_EQ(EDU_IDENT, edu_ident(e));
}

/* The group into the container, no-IOMMU set, the device opened. */
static void bare_open(struct __test_metadata *_metadata, struct bare *t)
{
	ASSERT_EQ(0, ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &t->container));
	ASSERT_EQ(0, ioctl(t->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	bare_open_dev(_metadata, t->group, &t->dev);
}

/*
 * DMA at physical addresses, out of a and into b, across pages and at the
 * ends of the buffers; nothing pinned for it.
 */
static void dma_physical(struct __test_metadata *_metadata, struct bare *t,
			 struct edu *e)
{
	buf_reset(&t->b);
	dma_copy(_metadata, e, &t->a, 0, &t->b, 0, EDU_XFER, true);
	dma_copy(_metadata, e, &t->a, PSZ - 100, &t->b, 2 * PSZ - 300, 1000,
		 true);
	dma_copy(_metadata, e, &t->a, HUGE_SZ - EDU_XFER, &t->b,
		 HUGE_SZ - 700, 700, true);
	EXPECT_EQ(t->env.pins + alias_pins(t), pins_held());
}

FIXTURE(noiommu) {
	struct bare t;
};

FIXTURE_SETUP(noiommu)
{
	const char *why = bare_setup(_metadata, &self->t);

	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(noiommu)
{
	bare_teardown(_metadata, &self->t);
}

/*
 * /dev/vfio/vfio as the container: no IOAS, so the type1 ioctls find
 * nothing (ENODEV), VFIO_NOIOMMU_IOMMU is the type to set; the device
 * opens (VFIO says so in the kernel log) and DMAs to physical addresses.
 * Where a grouped device has its requester ID, that device's domain
 * decides: detached (blocked), the IOMMU drops the DMA.
 */
TEST_F_TIMEOUT(noiommu, dma_vfio_container, NOIOMMU_TIMEOUT_S)
{
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	struct bare *t = &self->t;
	int kmsg = kmsg_open();
	__u32 pt_id;

	ASSERT_LE(0, kmsg);
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(t->group));
	EXPECT_EQ(1, ioctl(t->container, VFIO_CHECK_EXTENSION,
			   VFIO_NOIOMMU_IOMMU));
	ASSERT_EQ(0, ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &t->container));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(t->group));
	EXPECT_ERRNO(ENODEV, ioctl(t->container, VFIO_SET_IOMMU,
				   VFIO_TYPE1v2_IOMMU));
	EXPECT_ERRNO(ENODEV, ioctl(t->container, VFIO_SET_IOMMU,
				   VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, ioctl(t->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(1, ioctl(t->container, VFIO_CHECK_EXTENSION,
			   VFIO_NOIOMMU_IOMMU));
	bare_open_dev(_metadata, t->group, &t->dev);
	EXPECT_TRUE(kmsg_has(kmsg, NOIOMMU_OPENED));
	close(kmsg);
	EXPECT_ERRNO(ENODEV, dma_map(t->container, &t->a, t->a.iova));
	EXPECT_ERRNO(ENODEV, dma_unmap(t->container, t->a.iova, HUGE_SZ,
				       NULL));
	EXPECT_ERRNO(ENODEV, ioctl(t->container, IOMMU_VFIO_IOAS, &vioas));
	dma_physical(_metadata, t, &t->dev);
	if (t->alias_fd < 0)
		return;
	ASSERT_EQ(0, vfio_detach(t->alias.fd));
	buf_reset(&t->b);
	dma_copy(_metadata, &t->dev, &t->a, 0, &t->b, 0, 512, false);
	pt_id = t->alias_ioas;
	ASSERT_EQ(0, vfio_attach(t->alias.fd, &pt_id));
	dma_physical(_metadata, t, &t->dev);
}

/* /dev/iommu as the container works the same. */
TEST_F_TIMEOUT(noiommu, dma_iommufd_container, NOIOMMU_TIMEOUT_S)
{
	struct bare *t = &self->t;

	close(t->container);
	t->container = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, t->container);
	bare_open(_metadata, t);
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(t->group));
	dma_physical(_metadata, t, &t->dev);
}

/* Without CAP_SYS_RAWIO: what VFIO and iommufd refuse (EPERM), by step. */
static int child_without_rawio(struct bare *t)
{
	if (drop_capability(CAP_SYS_RAWIO))
		return 10;
	if (open(t->gpath, O_RDWR) >= 0 || errno != EPERM)
		return 1;
	if (!ioctl(t->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU) ||
	    errno != EPERM)
		return 2;
	if (ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD, t->dev.bdf) >= 0 ||
	    errno != EPERM)
		return 3;
	return 0;
}

/*
 * The device opens only in a container; not when the context has a compat
 * IOAS (the user expects translation), and not without CAP_SYS_RAWIO.
 */
TEST_F_TIMEOUT(noiommu, refusals, NOIOMMU_TIMEOUT_S)
{
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.op = IOMMU_VFIO_IOAS_SET,
	};
	struct bare *t = &self->t;
	int status;
	pid_t pid;

	EXPECT_ERRNO(EINVAL, ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD,
				   t->dev.bdf));
	ASSERT_EQ(0, ioctl(t->group, VFIO_GROUP_SET_CONTAINER, &t->container));

	ASSERT_EQ(0, ioas_alloc(t->container, &vioas.ioas_id));
	ASSERT_EQ(0, ioctl(t->container, IOMMU_VFIO_IOAS, &vioas));
	EXPECT_ERRNO(EPERM, ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD,
				  t->dev.bdf));
	vioas.op = IOMMU_VFIO_IOAS_CLEAR;
	ASSERT_EQ(0, ioctl(t->container, IOMMU_VFIO_IOAS, &vioas));
	EXPECT_EQ(0, object_destroy(t->container, vioas.ioas_id));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(child_without_rawio(t));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	ASSERT_EQ(0, ioctl(t->container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	bare_open_dev(_metadata, t->group, &t->dev);
	dma_physical(_metadata, t, &t->dev);
}

/*
 * No-IOMMU group first: an IOMMU-backed group cannot join (EINVAL, and no
 * compat IOAS appears), not even after the no-IOMMU group left: the
 * context stays in no-IOMMU mode.  A container of its own takes it.
 */
TEST_F_TIMEOUT(noiommu, mix_noiommu_first, NOIOMMU_TIMEOUT_S)
{
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.op = IOMMU_VFIO_IOAS_GET,
	};
	struct bare *t = &self->t;
	int real, other;

	real = real_group_open(t->env.grouped[0]);
	ASSERT_LE(0, real);
	bare_open(_metadata, t);
	EXPECT_ERRNO(EINVAL, ioctl(real, VFIO_GROUP_SET_CONTAINER,
				   &t->container));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(real));
	EXPECT_ERRNO(ENODEV, ioctl(t->container, IOMMU_VFIO_IOAS, &vioas));
	dma_physical(_metadata, t, &t->dev);

	edu_close(&t->dev);
	ASSERT_EQ(0, ioctl(t->group, VFIO_GROUP_UNSET_CONTAINER));
	EXPECT_ERRNO(EINVAL, ioctl(real, VFIO_GROUP_SET_CONTAINER,
				   &t->container));
	other = open(VFIO_CONTAINER, O_RDWR);
	ASSERT_LE(0, other);
	EXPECT_EQ(0, ioctl(real, VFIO_GROUP_SET_CONTAINER, &other));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET,
		  group_flags(real));
	close(real);
	close(other);
}

/*
 * IOMMU-backed group first: it gives the context a compat IOAS, so the
 * no-IOMMU group cannot join (EINVAL), also after the other group left;
 * once the compat IOAS is cleared it can.
 */
TEST_F_TIMEOUT(noiommu, mix_grouped_first, NOIOMMU_TIMEOUT_S)
{
	struct iommu_vfio_ioas vioas = {
		.size = sizeof(vioas),
		.op = IOMMU_VFIO_IOAS_CLEAR,
	};
	struct bare *t = &self->t;
	int real;

	real = real_group_open(t->env.grouped[0]);
	ASSERT_LE(0, real);
	ASSERT_EQ(0, ioctl(real, VFIO_GROUP_SET_CONTAINER, &t->container));
	EXPECT_ERRNO(EINVAL, ioctl(t->group, VFIO_GROUP_SET_CONTAINER,
				   &t->container));
	EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(t->group));
	ASSERT_EQ(0, ioctl(real, VFIO_GROUP_UNSET_CONTAINER));
	close(real);
	EXPECT_ERRNO(EINVAL, ioctl(t->group, VFIO_GROUP_SET_CONTAINER,
				   &t->container));

	ASSERT_EQ(0, ioctl(t->container, IOMMU_VFIO_IOAS, &vioas));
	bare_open(_metadata, t);
	dma_physical(_metadata, t, &t->dev);
}

/* Two no-IOMMU groups share a container; both devices DMA. */
TEST_F_TIMEOUT(noiommu, two_noiommu_groups, NOIOMMU_TIMEOUT_S)
{
	struct bare *t = &self->t;
	const char *why;
	struct edu dev2;
	char path[32];
	int group2;

	why = need_bare(_metadata, &t->env, 2);
	if (why)
		SKIP(return, "%s", why);
	edu_init(&dev2, t->env.bare[1]);
	group_path(dev2.bdf, path, sizeof(path));
	EXPECT_STRNE(t->gpath, path);
	group2 = open(path, O_RDWR);
	ASSERT_LE(0, group2);
	bare_open(_metadata, t);
	EXPECT_EQ(0, ioctl(group2, VFIO_GROUP_SET_CONTAINER, &t->container));
	bare_open_dev(_metadata, group2, &dev2);
	dma_physical(_metadata, t, &t->dev);
	dma_physical(_metadata, t, &dev2);
	edu_close(&dev2);
	close(group2);
}

enum step {
	END, CLOSE_DEVICE, CLOSE_GROUP, UNSET_CONTAINER, CLOSE_CONTAINER,
	REMOVE
};

FIXTURE(noiommu_teardown) {
	struct bare t;
};

FIXTURE_VARIANT(noiommu_teardown) {
	enum step steps[4];
};

FIXTURE_VARIANT_ADD(noiommu_teardown, device_group_container) {
	.steps = { CLOSE_DEVICE, CLOSE_GROUP, CLOSE_CONTAINER },
};

FIXTURE_VARIANT_ADD(noiommu_teardown, container_group_device) {
	.steps = { CLOSE_CONTAINER, CLOSE_GROUP, CLOSE_DEVICE },
};

FIXTURE_VARIANT_ADD(noiommu_teardown, group_container_device) {
	.steps = { CLOSE_GROUP, CLOSE_CONTAINER, CLOSE_DEVICE },
};

FIXTURE_VARIANT_ADD(noiommu_teardown, unset_container_device_group) {
	.steps = { UNSET_CONTAINER, CLOSE_CONTAINER, CLOSE_DEVICE,
		   CLOSE_GROUP },
};

FIXTURE_VARIANT_ADD(noiommu_teardown, remove_group_container) {
	.steps = { REMOVE, CLOSE_GROUP, CLOSE_CONTAINER },
};

FIXTURE_VARIANT_ADD(noiommu_teardown, container_remove_group) {
	.steps = { CLOSE_CONTAINER, REMOVE, CLOSE_GROUP },
};

FIXTURE_SETUP(noiommu_teardown)
{
	const char *why = bare_setup(_metadata, &self->t);

	if (why)
		SKIP(return, "%s", why);
	bare_open(_metadata, &self->t);
}

FIXTURE_TEARDOWN(noiommu_teardown)
{
	bare_teardown(_metadata, &self->t);
}

/*
 * After each step the open device's DMA still lands (nothing translates it
 * that a step could take away).  The device holds no group file (only
 * VFIO's own container takes one): once closed, the group opens again,
 * without a container.  An unset group opens no device.  At the end the
 * group opens again: all was released.
 */
TEST_F_TIMEOUT(noiommu_teardown, orders, NOIOMMU_TIMEOUT_S)
{
	struct bare *t = &self->t;
	unsigned int i;
	int fd;

	dma_physical(_metadata, t, &t->dev);
	for (i = 0; i < ARRAY_SIZE(variant->steps) && variant->steps[i]; i++) {
		switch (variant->steps[i]) {
		case CLOSE_DEVICE:
			edu_close(&t->dev);
			break;
		case CLOSE_GROUP:
			ASSERT_EQ(0, close(t->group));
			t->group = -1;
			if (t->dev.fd < 0)
				break;
			/* With iommufd, the device holds no group file. */
			fd = open(t->gpath, O_RDWR);
			ASSERT_LE(0, fd);
			EXPECT_EQ(VFIO_GROUP_FLAGS_VIABLE, group_flags(fd));
			close(fd);
			break;
		case UNSET_CONTAINER:
			ASSERT_EQ(0, ioctl(t->group,
					   VFIO_GROUP_UNSET_CONTAINER));
			EXPECT_ERRNO(EINVAL,
				     ioctl(t->group, VFIO_GROUP_GET_DEVICE_FD,
					   t->dev.bdf));
			break;
		case CLOSE_CONTAINER:
			ASSERT_EQ(0, close(t->container));
			t->container = -1;
			break;
		case REMOVE:
			remove_and_rescan(_metadata, &t->dev);
			ASSERT_TRUE(in_noiommu_group(t->dev.bdf));
			break;
		default:
			break;
		}
		if (t->dev.fd >= 0)
			dma_physical(_metadata, t, &t->dev);
	}
	EXPECT_EQ(-1, t->dev.fd);
	group_path(t->dev.bdf, t->gpath, sizeof(t->gpath));
	fd = open(t->gpath, O_RDWR);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(t->env.pins + alias_pins(t), pins_held());
}

TEST_HARNESS_MAIN
