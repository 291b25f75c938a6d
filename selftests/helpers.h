/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Small helpers shared by the iommufd selftests: opening /dev/iommu, thin
 * wrappers around the ioctls that return 0 or -1/errno like ioctl(2), and
 * readers for the kernel counters tests compare against a baseline.
 */
#ifndef __IOMMUFD_SELFTEST_HELPERS_H
#define __IOMMUFD_SELFTEST_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "iommufd_test.h"

#define IOMMU_DEV "/dev/iommu"

/* The call must fail with -1 and set errno to @err. */
#define EXPECT_ERRNO(err, call)                                              \
	do {                                                                 \
		int __rc = (call);                                           \
		EXPECT_EQ(-1, __rc);                                         \
		if (__rc == -1)                                              \
			EXPECT_EQ(err, errno);                               \
	} while (0)

static inline int ioas_alloc(int fd, __u32 *ioas_id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int rc;

	rc = ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);
	if (!rc)
		*ioas_id = cmd.out_ioas_id;
	return rc;
}

static inline int object_destroy(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &cmd);
}

/*
 * Read the usable ranges of an IOAS into @ranges (room for @max); returns
 * the count the kernel reported, or -errno.
 */
static inline int ioas_ranges(int fd, __u32 ioas_id,
			      struct iommu_iova_range *ranges, __u32 max,
			      __u64 *alignment)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = max,
		.allowed_iovas = (uintptr_t)ranges,
	};

	if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd) && errno != EMSGSIZE)
		return -errno;
	if (alignment)
		*alignment = cmd.out_iova_alignment;
	return cmd.num_iovas;
}

/* A field of /proc/meminfo in KiB, or -1. */
static inline long meminfo_kb(const char *field)
{
	size_t len = strlen(field);
	char line[256];
	long val = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, len) && line[len] == ':') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

#endif
