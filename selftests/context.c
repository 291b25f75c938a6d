// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The context and its object table: opening /dev/iommu, independent
 * contexts on many fds, IOMMU_DESTROY's errors, and every object going away
 * when the fd is closed, in any order.
 */
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "helpers.h"

TEST(device_node)
{
	struct stat st;

	ASSERT_EQ(0, stat(IOMMU_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0660, st.st_mode & 07777);
}

TEST(open_close)
{
	int fd;

	fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
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

/* Teardown by destroy in both orders, and by close with objects left. */
TEST(teardown_orders)
{
	__u32 a, b, c;
	int fd;

	fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &a));
	ASSERT_EQ(0, ioas_alloc(fd, &b));
	ASSERT_EQ(0, ioas_alloc(fd, &c));
	EXPECT_EQ(0, object_destroy(fd, a));
	EXPECT_EQ(0, object_destroy(fd, c));
	EXPECT_EQ(1, ioas_ranges(fd, b, NULL, 0, NULL));
	EXPECT_EQ(0, object_destroy(fd, b));
	EXPECT_EQ(0, close(fd));

	fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioas_alloc(fd, &a));
	ASSERT_EQ(0, ioas_alloc(fd, &b));
	EXPECT_EQ(0, object_destroy(fd, a));
	EXPECT_EQ(0, close(fd));
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
 * Closing frees every object: unreclaimable slab memory must not grow with
 * the number of objects left behind by closed contexts.  Each round leaves
 * about 5 MiB of objects; a leak of all of them would add 20 MiB.
 */
TEST(close_frees_objects)
{
	enum { OBJECTS = 20000, ROUNDS = 4 };
	long before, after;
	int i;

	/*
	 * KASAN's quarantine keeps freed objects in the slabs for a while, so
	 * memory is no measure there; the debug kernel runs kmemleak instead,
	 * which reports any object left behind at the end of the run.
	 */
	if (!access("/sys/kernel/debug/kmemleak", F_OK))
		SKIP(return, "debug kernel: kmemleak checks for leaks instead");

	/* Warm the caches so their own growth is not counted. */
	ASSERT_EQ(0, fill_and_close(OBJECTS));
	before = meminfo_kb("SUnreclaim");
	ASSERT_LT(0, before);
	for (i = 0; i < ROUNDS; i++)
		ASSERT_EQ(0, fill_and_close(OBJECTS));
	after = meminfo_kb("SUnreclaim");
	TH_LOG("SUnreclaim %ld kB before, %ld kB after %d rounds",
	       before, after, ROUNDS);
	EXPECT_GT(before + 2048, after);
}

TEST_HARNESS_MAIN
