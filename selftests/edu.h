/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * QEMU's edu device (PCI 1234:11e8): its BAR0 registers and its DMA
 * engine, driven through a mapping of BAR0, and the physical address of a
 * buffer for it where nothing translates its DMA.  Shared by the tests of
 * edu behind VFIO (vfio_edu.h) and by the L2 guest of vmm.sh (l2_edu.c),
 * which has edu passed through by QEMU and no IOMMU: there an address
 * given to the engine is a guest-physical address, here an IOVA (or a
 * physical address, in VFIO's no-IOMMU mode: vfio_noiommu.c).
 */
#ifndef __IOMMUFD_SELFTEST_EDU_H
#define __IOMMUFD_SELFTEST_EDU_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <linux/types.h>

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_IDENT 0x010000ed
#define EDU_BAR_SIZE 0x100000
/* BAR0 registers */
#define EDU_REG_IDENT 0x00
#define EDU_REG_SRC 0x80
#define EDU_REG_DST 0x88
#define EDU_REG_CNT 0x90
#define EDU_REG_CMD 0x98
#define EDU_CMD_RUN 0x1
#define EDU_CMD_TO_RAM 0x2
/* The device address of edu's 4 KiB buffer, and the largest safe transfer */
#define EDU_BUF 0x40000ULL
#define EDU_BUF_SIZE 4096
#define EDU_XFER 2048
#define EDU_TIMEOUT_MS 5000
/* The PFN in a /proc/self/pagemap entry */
#define PAGEMAP_PFN ((1ULL << 55) - 1)

static inline __u32 edu_bar_ident(void *bar)
{
	return __atomic_load_n((__u32 *)bar + EDU_REG_IDENT / 4,
			       __ATOMIC_ACQUIRE);
}

static inline __u64 edu_bar_reg(void *bar, unsigned int reg)
{
	return __atomic_load_n((__u64 *)bar + reg / 8, __ATOMIC_ACQUIRE);
}

static inline void edu_bar_set(void *bar, unsigned int reg, __u64 val)
{
	__atomic_store_n((__u64 *)bar + reg / 8, val, __ATOMIC_RELEASE);
}

/*
 * One transfer of @len bytes between device address @addr and edu's buffer
 * at @off, to RAM or from it.  0 when the engine is done (whether the
 * access reached memory or not), -1 with ETIMEDOUT if it still runs after
 * 5 s, or with EINVAL for a transfer QEMU 7.2 would abort the VM on.  A
 * transfer ends on a ~100 ms timer of the VM's clock: poll every 1 ms.
 */
static inline int edu_bar_dma(void *bar, __u64 addr, size_t off, size_t len,
			      bool to_ram)
{
	int ms;

	if (!len || len > EDU_XFER || off + len >= EDU_BUF_SIZE) {
		errno = EINVAL;
		return -1;
	}
	edu_bar_set(bar, EDU_REG_SRC, to_ram ? EDU_BUF + off : addr);
	edu_bar_set(bar, EDU_REG_DST, to_ram ? addr : EDU_BUF + off);
	edu_bar_set(bar, EDU_REG_CNT, len);
	edu_bar_set(bar, EDU_REG_CMD,
		    EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0));
	for (ms = 0; ms < EDU_TIMEOUT_MS; ms++) {
		if (!(edu_bar_reg(bar, EDU_REG_CMD) & EDU_CMD_RUN))
			return 0;
		usleep(1000);
	}
	errno = ETIMEDOUT;
	return -1;
}

/*
 * The physical address of the byte at @p (resident), from
 * /proc/self/pagemap, or 0 (not present, or no PFN shown: that takes
 * CAP_SYS_ADMIN).  What the engine is given where nothing translates its
 * DMA: VFIO's no-IOMMU mode, a guest with no IOMMU.
 */
static inline __u64 phys_addr(const void *p)
{
	size_t psz = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	__u64 ent = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), (uintptr_t)p / psz * sizeof(ent)) !=
	    sizeof(ent))
		ent = 0;
	close(fd);
	/* Bit 63: present; bits 0-54: the PFN (0 without CAP_SYS_ADMIN). */
	if (!(ent >> 63) || !(ent & PAGEMAP_PFN))
		return 0;
	return (ent & PAGEMAP_PFN) * psz + (uintptr_t)p % psz;
}

#endif
