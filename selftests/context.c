// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The context and its object table: opening /dev/iommu, independent
 * contexts on many fds, IOMMU_DESTROY's errors, and every object going away
 * when the fd is closed, in any order.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "helpers.h"

#define MOCK_DEVICES "/sys/bus/iommufd_mock/devices"
#define IOVA ((__u64)MOCK_APERTURE_START)
#define NPAGES 8

/* The mock devices that exist in the system now, or -1. */
static int mock_devices(void)
{
	struct dirent *d;
	int n = 0;
	DIR *dir;

	dir = opendir(MOCK_DEVICES);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

TEST(device_node)
{
	struct stat st;

	ASSERT_EQ(0, stat(IOMMU_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0660, st.st_mode & 07777);
}

/*
 * Closing a context lets go of everything it held: the pins of a mapping,
 * their charge to VmPin, the mock device and its domain.
 */
TEST(open_close)
{
	size_t len = NPAGES * sysconf(_SC_PAGESIZE);
	int fd, devices;
	long pinned_base;
	__u32 ioas_id;
	char *buf;

	fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));

	buf = new_buffer(len, 1);
	ASSERT_NE(MAP_FAILED, buf);
	devices = mock_devices();
	ASSERT_LE(0, devices);
	fd = open_counted_ctx(&ioas_id, &pinned_base);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mock_domain(fd, ioas_id, NULL, NULL, NULL));
	ASSERT_EQ(0, ioas_map_fixed(fd, ioas_id, buf, len, IOVA));
	/* What the close has to undo is really there. */
	ASSERT_EQ(devices + 1, mock_devices());
	ASSERT_EQ(0, md_check_refs(fd, buf, len, 1));
	ASSERT_EQ(pinned_base + NPAGES, pinned_vm_pages());

	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, nothing_pinned(buf, len, pinned_base));
	EXPECT_EQ(devices, mock_devices());
	munmap(buf, len);
}

TEST(unknown_ioctl)
{
	int fd;

	fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_ERRNO(ENOTTY, ioctl(fd, _IO('x', 1), NULL));
	EXPECT_ERRNO(ENOTTY, ioctl(fd, FIONREAD, NULL));
	close(fd);
}

/* Each open is its own context: its own IDs, its own objects. */
TEST(many_contexts)
{
	enum { NFDS = 200, PER_FD = 3 };
	struct iommu_iova_range range;
	int fds[NFDS];
	__u32 id;
	int i, j;

	for (i = 0; i < NFDS; i++) {
		fds[i] = open(IOMMU_DEV, O_RDWR);
		ASSERT_LE(0, fds[i]);
		for (j = 0; j < PER_FD; j++) {
			ASSERT_EQ(0, ioas_alloc(fds[i], &id));
			/* IDs are small and per context, starting at 1. */
			EXPECT_EQ((__u32)j + 1, id);
		}
	}

	/* Destroying in one context leaves the same ID in another alone. */
	EXPECT_EQ(0, object_destroy(fds[0], 2));
	EXPECT_EQ(-ENOENT, ioas_ranges(fds[0], 2, &range, 1, NULL));
	EXPECT_EQ(1, ioas_ranges(fds[1], 2, &range, 1, NULL));

	/* Close in an order unrelated to the opening. */
	for (i = 0; i < NFDS; i += 2)
		EXPECT_EQ(0, close(fds[i]));
	for (i = NFDS - 1; i > 0; i -= 2)
		EXPECT_EQ(0, close(fds[i]));
}

TEST(destroy_errors)
{
	__u32 id;
	int fd;

	fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd);

	EXPECT_ERRNO(ENOENT, object_destroy(fd, 0));
	EXPECT_ERRNO(ENOENT, object_destroy(fd, 1));
	EXPECT_ERRNO(ENOENT, object_destroy(fd, UINT32_MAX));

	ASSERT_EQ(0, ioas_alloc(fd, &id));
	EXPECT_ERRNO(ENOENT, object_destroy(fd, id + 1));
	EXPECT_EQ(0, object_destroy(fd, id));
	/* A destroyed ID is gone... */
	EXPECT_ERRNO(ENOENT, object_destroy(fd, id));
	EXPECT_EQ(-ENOENT, ioas_ranges(fd, id, NULL, 0, NULL));
	/* ...and free to be handed out again. */
	ASSERT_EQ(0, ioas_alloc(fd, &id));
	EXPECT_EQ(1, id);
	close(fd);
}

/*
 * Teardown by destroy in both orders, each destroyed ID gone at once, and by
 * close with objects left: an IOAS with a mapping pinned by the domain of a
 * mock device, whose objects depend on it, next to an IOAS already gone.
 */
TEST(teardown_orders)
{
	size_t len = NPAGES * sysconf(_SC_PAGESIZE);
	__u32 a, b, c, dev, hwpt;
	int fd, devices;
	long pinned_base;
	char *buf;

	fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &a));
	ASSERT_EQ(0, ioas_alloc(fd, &b));
	ASSERT_EQ(0, ioas_alloc(fd, &c));
	EXPECT_EQ(0, object_destroy(fd, a));
	EXPECT_EQ(-ENOENT, ioas_ranges(fd, a, NULL, 0, NULL));
	EXPECT_EQ(0, object_destroy(fd, c));
	EXPECT_EQ(-ENOENT, ioas_ranges(fd, c, NULL, 0, NULL));
	EXPECT_EQ(1, ioas_ranges(fd, b, NULL, 0, NULL));
	EXPECT_EQ(0, object_destroy(fd, b));
	EXPECT_EQ(-ENOENT, ioas_ranges(fd, b, NULL, 0, NULL));
	EXPECT_ERRNO(ENOENT, object_destroy(fd, a));
	EXPECT_ERRNO(ENOENT, object_destroy(fd, b));
	EXPECT_ERRNO(ENOENT, object_destroy(fd, c));
	EXPECT_EQ(0, close(fd));

	buf = new_buffer(len, 2);
	ASSERT_NE(MAP_FAILED, buf);
	devices = mock_devices();
	ASSERT_LE(0, devices);
	fd = open_counted_ctx(&a, &pinned_base);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &b));
	ASSERT_EQ(0, ioas_map_fixed(fd, b, buf, len, IOVA));
	ASSERT_EQ(0, mock_domain(fd, b, &dev, &hwpt, NULL));
	ASSERT_EQ(devices + 1, mock_devices());
	ASSERT_EQ(0, md_check_refs(fd, buf, len, 1));
	ASSERT_EQ(pinned_base + NPAGES, pinned_vm_pages());
	/* What the device uses cannot go before it. */
	EXPECT_ERRNO(EBUSY, object_destroy(fd, b));
	EXPECT_ERRNO(EBUSY, object_destroy(fd, hwpt));
	EXPECT_EQ(0, object_destroy(fd, a));
	EXPECT_EQ(-ENOENT, ioas_ranges(fd, a, NULL, 0, NULL));
	EXPECT_EQ(0, md_check_map(fd, hwpt, IOVA, len, buf));

	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, nothing_pinned(buf, len, pinned_base));
	EXPECT_EQ(devices, mock_devices());
	munmap(buf, len);
}

/* Allocate @count objects in a fresh context and close it with them live. */
static int fill_and_close(unsigned int count)
{
	unsigned int i;
	__u32 id;
	int fd;

	fd = open(IOMMU_DEV, O_RDWR);
	if (fd < 0)
		return -1;
	for (i = 0; i < count; i++) {
		if (ioas_alloc(fd, &id))
			return -1;
	}
	return close(fd);
}

/*
 * Closing frees every object and the context itself: unreclaimable slab
 * memory must not grow with the objects and contexts left behind by closed
 * contexts.  Each round leaves about 5 MiB of objects and 20000 empty
 * contexts of at least 128 bytes; a leak of either would add 10 MiB or more.
 */
TEST(close_frees_objects)
{
	enum { OBJECTS = 20000, CONTEXTS = 20000, ROUNDS = 4 };
	long before, after;
	int i, j;

	/*
	 * KASAN's quarantine keeps freed objects in the slabs for a while, so
	 * memory is no measure there; the debug kernel runs kmemleak instead,
	 * which reports any object left behind at the end of the run.
	 */
	if (!access("/sys/kernel/debug/kmemleak", F_OK))
		SKIP(return, "debug kernel: kmemleak checks for leaks instead");

	/* Warm the caches so their own growth is not counted. */
	ASSERT_EQ(0, fill_and_close(OBJECTS));
	ASSERT_EQ(0, fill_and_close(0));
	before = meminfo_kb("SUnreclaim");
	ASSERT_LT(0, before);
	for (i = 0; i < ROUNDS; i++) {
		ASSERT_EQ(0, fill_and_close(OBJECTS));
		for (j = 0; j < CONTEXTS; j++)
			ASSERT_EQ(0, fill_and_close(0));
	}
	after = meminfo_kb("SUnreclaim");
	TH_LOG("SUnreclaim %ld kB before, %ld kB after %d rounds",
	       before, after, ROUNDS);
	EXPECT_GT(before + 2048, after);
}

TEST_HARNESS_MAIN
