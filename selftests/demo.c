// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * "make run" shows this: /dev/iommu opened, an IOAS allocated, its usable
 * IOVA ranges listed, the IOAS destroyed.  Exits nonzero on any failure,
 * so the check run executes it too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/iommufd.h>

static int fail(const char *what)
{
	printf("iommufd-demo: %s failed: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	struct iommu_iova_range ranges[16];
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_iova_ranges query = {
		.size = sizeof(query),
		.num_iovas = 16,
		.allowed_iovas = (uintptr_t)ranges,
	};
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	unsigned int i;
	int fd;

	printf("iommufd-demo: open(\"/dev/iommu\")\n");
	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return fail("open");

	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		return fail("IOMMU_IOAS_ALLOC");
	printf("iommufd-demo: IOMMU_IOAS_ALLOC -> IOAS id %u\n",
	       alloc.out_ioas_id);

	query.ioas_id = alloc.out_ioas_id;
	if (ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &query))
		return fail("IOMMU_IOAS_IOVA_RANGES");
	printf("iommufd-demo: IOMMU_IOAS_IOVA_RANGES -> %u range(s), alignment %llu\n",
	       query.num_iovas, (unsigned long long)query.out_iova_alignment);
	for (i = 0; i < query.num_iovas && i < 16; i++)
		printf("iommufd-demo:   [0x%016llx, 0x%016llx]\n",
		       (unsigned long long)ranges[i].start,
		       (unsigned long long)ranges[i].last);

	destroy.id = alloc.out_ioas_id;
	if (ioctl(fd, IOMMU_DESTROY, &destroy))
		return fail("IOMMU_DESTROY");
	printf("iommufd-demo: IOMMU_DESTROY %u -> ok\n", destroy.id);
	if (ioctl(fd, IOMMU_DESTROY, &destroy) == 0 || errno != ENOENT)
		return fail("second IOMMU_DESTROY (expected ENOENT)");
	printf("iommufd-demo: IOMMU_DESTROY %u again -> ENOENT, as it should\n",
	       destroy.id);
	close(fd);
	printf("iommufd-demo: done\n");
	return 0;
}
