// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Reserved regions of devices: a device's reserved regions (here a
 * software MSI window the mock IOMMU reports when debugfs
 * iommufd_mock/sw_msi_* is set) are reserved in the IOAS while the device
 * is attached, follow it on replace, and go away when it leaves; they can
 * never be mapped, and a device whose regions collide with mappings or
 * allowed ranges cannot attach.  A domain maps MSI doorbells in the window
 * of the group it was made for as long as it lives, so that window stays
 * reserved while any device may DMA through the domain, and devices with
 * another window never share it; the devices of one group agree on it.
 */
#include <sys/mman.h>

#include "helpers.h"

#define MOCK_DBG "/sys/kernel/debug/iommufd_mock/"

/* The window: 1 MiB, 64 MiB into the mock aperture. */
#define WIN_START ((__u64)MOCK_APERTURE_START + 0x4000000)
#define WIN_LEN 0x100000ULL
#define WIN_LAST (WIN_START + WIN_LEN - 1)

static int write_u64(const char *name, __u64 val)
{
	char path[128], buf[32];
	int fd, len, rc;

	snprintf(path, sizeof(path), MOCK_DBG "%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	len = snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)val);
	rc = write(fd, buf, len) == len ? 0 : -1;
	close(fd);
	return rc;
}

/* Mock devices created from now on report [start, start + len - 1]. */
static int set_window(__u64 start, __u64 len)
{
	return write_u64("sw_msi_start", start) ?:
	       write_u64("sw_msi_length", len);
}

/* The usable ranges of an IOAS must be exactly @want (up to 4). */
static int ranges_are(int fd, __u32 ioas_id,
		      const struct iommu_iova_range *want, int n)
{
	struct iommu_iova_range got[4];
	int i;

	if (ioas_ranges(fd, ioas_id, got, 4, NULL) != n)
		return -1;
	for (i = 0; i < n; i++) {
		if (got[i].start != want[i].start || got[i].last != want[i].last)
			return -1;
	}
	return 0;
}

static const struct iommu_iova_range around_window[] = {
	{ MOCK_APERTURE_START, WIN_START - 1 },
	{ WIN_LAST + 1, MOCK_APERTURE_LAST },
};

static const struct iommu_iova_range everything[] = {
	{ 0, UINT64_MAX },
};

FIXTURE(resv) {
	int fd;
	__u32 ioas_id;
	size_t page;
	void *buf;
};

FIXTURE_SETUP(resv)
{
	/* The mock always has the knobs, and the VM mounts debugfs. */
	ASSERT_EQ(0, access(MOCK_DBG "sw_msi_start", W_OK))
		TH_LOG("no " MOCK_DBG "sw_msi_start");
	self->page = sysconf(_SC_PAGESIZE);
	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	self->buf = mmap(NULL, 4 * self->page, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0x3c, 4 * self->page);
	ASSERT_EQ(0, set_window(WIN_START, WIN_LEN));
}

FIXTURE_TEARDOWN(resv)
{
	int fd;

	set_window(0, 0);
	if (!self->buf)
		return;
	close(self->fd);
	fd = open(IOMMU_DEV, O_RDWR);
	EXPECT_EQ(0, md_check_refs(fd, self->buf, 4 * self->page, 0));
	close(fd);
	munmap(self->buf, 4 * self->page);
}

/* The window is reserved while the device is attached, and only then. */
TEST_F(resv, reserved_while_attached)
{
	__u64 iova = 0;
	__u32 stdev;
	int i;

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL, NULL));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, around_window, 2));

	/* Nothing can be mapped into it, not even partly. */
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    self->page, WIN_START));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    2 * self->page,
					    WIN_START - self->page));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    self->page, WIN_LAST + 1 - 2048));
	/* Automatic IOVAs steer clear of it. */
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id,
				      (struct iommu_iova_range[]){
					      { WIN_START - 4 * self->page,
						WIN_START - 1 },
					      { WIN_LAST + 1,
						WIN_LAST + 4 * self->page } },
				      2));
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, self->buf,
				      self->page, &iova, MAP_RW));
		EXPECT_TRUE(iova + self->page - 1 < WIN_START ||
			    iova > WIN_LAST);
	}
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX, NULL));
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, NULL, 0));

	ASSERT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, everything, 1));
	/* Free to map now. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->page, WIN_START));
}

/* A device whose window is mapped, or allowed, cannot attach. */
TEST_F(resv, collisions_refuse_attach)
{
	__u32 stdev;

	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->page, WIN_LAST + 1 - self->page));
	EXPECT_ERRNO(EADDRINUSE, mock_domain(self->fd, self->ioas_id, NULL,
					     NULL, NULL));
	/* Nothing changed: no reservation, no pins, the map is intact. */
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, everything, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->page, 0));
	ASSERT_EQ(0, ioas_unmap(self->fd, self->ioas_id,
				WIN_LAST + 1 - self->page, self->page, NULL));

	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id,
				      (struct iommu_iova_range[]){
					      { WIN_START + WIN_LEN / 2,
						WIN_LAST + WIN_LEN } },
				      1));
	EXPECT_ERRNO(EADDRINUSE, mock_domain(self->fd, self->ioas_id, NULL,
					     NULL, NULL));
	ASSERT_EQ(0, ioas_allow_iovas(self->fd, self->ioas_id, NULL, 0));

	/* With the collisions gone it attaches. */
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL, NULL));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, around_window, 2));
	/* And while it is attached the window cannot be allowed. */
	EXPECT_ERRNO(EADDRINUSE,
		     ioas_allow_iovas(self->fd, self->ioas_id,
				      (struct iommu_iova_range[]){
					      { WIN_START, WIN_START + 1 } },
				      1));
	ASSERT_EQ(0, object_destroy(self->fd, stdev));
}

/* Each device's regions come and go with that device. */
TEST_F(resv, per_device)
{
	__u32 with, without, hwpt1, hwpt2;

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &with, &hwpt1,
				 NULL));
	ASSERT_EQ(0, set_window(0, 0));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &without, &hwpt2,
				 NULL));
	/* They share the automatic domain; the window is reserved once. */
	EXPECT_EQ(hwpt1, hwpt2);
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, around_window, 2));

	/*
	 * The domain maps MSI doorbells in the window for as long as it
	 * lives, for the device without a window too: it stays reserved.
	 */
	ASSERT_EQ(0, object_destroy(self->fd, with));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, around_window, 2));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    self->page, WIN_START));
	ASSERT_EQ(0, object_destroy(self->fd, without));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, everything, 1));
}

/* On replace the window moves to the new IOAS, or nothing happens. */
TEST_F(resv, follows_replace)
{
	__u32 ioas2, stdev, pt;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &stdev, NULL, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->page, MOCK_APERTURE_START));

	/* The window would collide with a map in ioas2. */
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2, self->buf + self->page,
				    self->page, WIN_START));
	pt = ioas2;
	EXPECT_ERRNO(EADDRINUSE, mock_domain_replace(self->fd, stdev, &pt));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, around_window, 2));
	EXPECT_EQ(0, ranges_are(self->fd, ioas2, everything, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->page, 1));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf + self->page,
				   self->page, 0));

	ASSERT_EQ(0, ioas_unmap(self->fd, ioas2, WIN_START, self->page, NULL));
	pt = ioas2;
	ASSERT_EQ(0, mock_domain_replace(self->fd, stdev, &pt));
	EXPECT_EQ(0, ranges_are(self->fd, ioas2, around_window, 2));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, everything, 1));
	/* The old IOAS's memory is no longer pinned by the device. */
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, self->page, 0));

	/* The IOAS it left can go; the one it is on cannot. */
	EXPECT_EQ(0, object_destroy(self->fd, self->ioas_id));
	EXPECT_ERRNO(EBUSY, object_destroy(self->fd, ioas2));
	ASSERT_EQ(0, object_destroy(self->fd, stdev));
	EXPECT_EQ(0, ranges_are(self->fd, ioas2, everything, 1));
}

/* Closing the context with a windowed device attached cleans up. */
TEST_F(resv, close_with_window)
{
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, NULL, NULL, NULL));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    4 * self->page, MOCK_APERTURE_START));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * self->page, 1));
	/* The teardown closes the fd and checks the pins are gone. */
}

/* Another window, 16 MiB further up. */
#define WIN2_START (WIN_START + 0x1000000)

/*
 * A domain maps doorbells in one window: a device with another window
 * gets a domain of its own, and cannot be moved onto the first one.
 */
TEST_F(resv, windows_never_share_a_domain)
{
	__u32 dev1, dev2, hwpt1, hwpt2, pt;

	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev1, &hwpt1,
				 NULL));
	ASSERT_EQ(0, set_window(WIN2_START, WIN_LEN));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev2, &hwpt2,
				 NULL));
	EXPECT_NE(hwpt1, hwpt2);
	pt = hwpt1;
	EXPECT_ERRNO(EINVAL, mock_domain_replace(self->fd, dev2, &pt));
	/* Both windows are reserved, each by its domain. */
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    self->page, WIN_START));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    self->page, WIN2_START));
	ASSERT_EQ(0, object_destroy(self->fd, dev1));
	EXPECT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
				    self->page, WIN_START));
	ASSERT_EQ(0, object_destroy(self->fd, dev2));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, WIN_START,
				self->page, NULL));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, everything, 1));
}

/*
 * The devices of one iommu_group share its domains, so they must agree on
 * the window: one that does not is refused at bind, and a failed bind or
 * attach leaves the group's window as it was.
 */
TEST_F(resv, group_agrees_on_window)
{
	__u32 dev1, dev2, hwpt1, hwpt2;

	ASSERT_EQ(0, mock_knob("share_group", 1));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev1, &hwpt1,
				 NULL));
	ASSERT_EQ(0, set_window(WIN2_START, WIN_LEN));
	EXPECT_ERRNO(EINVAL, mock_domain(self->fd, self->ioas_id, NULL, NULL,
					 NULL));
	ASSERT_EQ(0, set_window(0, 0));
	EXPECT_ERRNO(EINVAL, mock_domain(self->fd, self->ioas_id, NULL, NULL,
					 NULL));
	ASSERT_EQ(0, set_window(WIN_START, WIN_LEN));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &dev2, &hwpt2,
				 NULL));
	EXPECT_EQ(hwpt1, hwpt2);
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, around_window, 2));
	ASSERT_EQ(0, object_destroy(self->fd, dev1));
	ASSERT_EQ(0, object_destroy(self->fd, dev2));
	EXPECT_EQ(0, mock_knob("share_group", 0));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, everything, 1));
}

/*
 * The SMMUv3 case: a device only bound, in a group another device of which
 * is attached, DMAs (and raises MSIs) through the group's domain, so the
 * window is reserved while that domain is in use; attached later itself,
 * it gets the window reserved again.
 */
TEST_F(resv, bound_member_of_an_attached_group)
{
	__u32 bound, attached, hwpt, pt;

	ASSERT_EQ(0, mock_knob("share_group", 1));
	ASSERT_EQ(0, mock_knob("bind_only", 1));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &bound, NULL, NULL));
	ASSERT_EQ(0, mock_knob("bind_only", 0));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, everything, 1));
	ASSERT_EQ(0, mock_domain(self->fd, self->ioas_id, &attached, &hwpt,
				 NULL));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, around_window, 2));
	EXPECT_ERRNO(EINVAL, ioas_map_fixed(self->fd, self->ioas_id, self->buf,
					    self->page, WIN_START));
	/* The last attached device leaves: the group stops DMA. */
	ASSERT_EQ(0, object_destroy(self->fd, attached));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, everything, 1));
	pt = self->ioas_id;
	ASSERT_EQ(0, mock_domain_replace(self->fd, bound, &pt));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, around_window, 2));
	ASSERT_EQ(0, object_destroy(self->fd, bound));
	EXPECT_EQ(0, mock_knob("share_group", 0));
	EXPECT_EQ(0, ranges_are(self->fd, self->ioas_id, everything, 1));
}

TEST_HARNESS_MAIN
