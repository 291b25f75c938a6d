// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * PID 1 of the L2 guest of vmm.sh: QEMU 10, inside the test VM, runs this
 * guest with the test VM's edu device passed through over iommufd.  There
 * is no IOMMU in L2, so edu's DMA addresses are L2 guest-physical
 * addresses; QEMU mapped L2's RAM at those IOVAs in an IOAS of the test
 * VM's /dev/iommu (IOMMU_IOAS_MAP, IOMMU_HWPT_ALLOC, attach), so the data
 * lands only if the translation iommufd built is right.
 *
 * Finds edu in sysfs, enables memory decoding and bus mastering, maps BAR0
 * through its resource0 file, takes two locked pages and their physical
 * addresses from /proc/self/pagemap, and copies TRANSFERS blocks from the
 * first page through edu's buffer into the second (one DMA from RAM, one to
 * RAM each), checking every byte that landed.  Prints "L2: PASS ..." or
 * "L2: FAIL ..." on the console, then reboots, which ends the VM (QEMU runs
 * with -no-reboot).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <linux/pci_regs.h>

#include "edu.h"

#define PCI_DEVICES "/sys/bus/pci/devices"
#define PAGE 4096
/* Blocks of EDU_XFER bytes: each half of the source page, both orders. */
#define TRANSFERS 4

static char bdf[NAME_MAX + 1];

static void end_vm(void)
{
	fflush(stdout);
	sync();
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("L2: FAIL: edu %s: ", bdf[0] ? bdf : "-");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("%s%s\n", errno ? ": " : "", errno ? strerror(errno) : "");
	end_vm();
}

/* proc, sysfs, devtmpfs, and the console on stdout and stderr. */
static void setup(void)
{
	int fd;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static unsigned long pci_attr(const char *dev, const char *attr)
{
	char path[PATH_MAX], val[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/%s", dev, attr);
	f = fopen(path, "r");
	if (!f)
		return ~0UL;
	if (!fgets(val, sizeof(val), f))
		val[0] = 0;
	fclose(f);
	return strtoul(val, NULL, 0);
}

/* The first edu on PCI into bdf[]. */
static void find_edu(void)
{
	struct dirent *de;
	DIR *d = opendir(PCI_DEVICES);

	if (!d)
		fail("no " PCI_DEVICES);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (pci_attr(de->d_name, "vendor") == EDU_VENDOR &&
		    pci_attr(de->d_name, "device") == EDU_DEVICE) {
			snprintf(bdf, sizeof(bdf), "%s", de->d_name);
			break;
		}
	}
	closedir(d);
	errno = 0;
	if (!bdf[0])
		fail("no edu device (%04x:%04x) on PCI", EDU_VENDOR,
		     EDU_DEVICE);
}

/* Memory decoding and bus mastering on, through the config space file. */
static void enable_edu(void)
{
	char path[PATH_MAX];
	__u16 cmd;
	int fd;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/config", bdf);
	fd = open(path, O_RDWR);
	if (fd < 0 || pread(fd, &cmd, 2, PCI_COMMAND) != 2)
		fail("reading %s", path);
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	if (pwrite(fd, &cmd, 2, PCI_COMMAND) != 2)
		fail("writing PCI_COMMAND");
	close(fd);
}

static void *map_bar(void)
{
	char path[PATH_MAX];
	void *bar;
	int fd;

	snprintf(path, sizeof(path), PCI_DEVICES "/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		fail("opening %s", path);
	bar = mmap(NULL, EDU_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	if (bar == MAP_FAILED)
		fail("mapping %s", path);
	close(fd);
	errno = 0;
	if (edu_bar_ident(bar) != EDU_IDENT)
		fail("ident register 0x%08x, not 0x%08x", edu_bar_ident(bar),
		     EDU_IDENT);
	return bar;
}

/* The physical address of the locked page at @va, from the pagemap. */
static __u64 phys_of(void *va)
{
	__u64 pa;

	errno = 0;
	pa = phys_addr(va);
	if (!pa)
		fail("no PFN for %p in /proc/self/pagemap", va);
	return pa;
}

/* Byte @i of block @n: no two blocks alike, no byte equal to a poison. */
static unsigned char pattern(int n, size_t i)
{
	unsigned char b = (i * 37 + (i >> 8) * 11 + n * 101 + 0x5a) & 0xff;

	return b >= 0xa0 && b < 0xa0 + TRANSFERS ? b ^ 0x40 : b;
}

/*
 * Block @n: a fresh pattern in @src page's half (n & 1) to edu's buffer,
 * then the buffer into @dst page's other half, poisoned before; the bytes
 * must be the source's, and the rest of @dst untouched.
 */
static void copy_block(void *bar, unsigned char *src, __u64 src_pa,
		       unsigned char *dst, __u64 dst_pa, int n)
{
	size_t from = (n & 1) * EDU_XFER, to = EDU_XFER - from, i;
	unsigned char poison = 0xa0 + n;

	for (i = 0; i < PAGE; i++)
		src[i] = pattern(n, i);
	memset(dst, poison, PAGE);
	if (edu_bar_dma(bar, src_pa + from, 0, EDU_XFER, false))
		fail("DMA %d from RAM 0x%llx", n,
		     (unsigned long long)(src_pa + from));
	if (edu_bar_dma(bar, dst_pa + to, 0, EDU_XFER, true))
		fail("DMA %d to RAM 0x%llx", n,
		     (unsigned long long)(dst_pa + to));
	errno = 0;
	for (i = 0; i < EDU_XFER; i++) {
		if (dst[to + i] == src[from + i])
			continue;
		if (dst[to + i] == poison)
			fail("DMA %d to RAM missed: 0x%llx still poisoned",
			     n, (unsigned long long)(dst_pa + to + i));
		fail("DMA %d: RAM 0x%llx holds 0x%02x, not 0x%02x from 0x%llx",
		     n, (unsigned long long)(dst_pa + to + i), dst[to + i],
		     src[from + i], (unsigned long long)(src_pa + from + i));
	}
	for (i = 0; i < EDU_XFER; i++)
		if (dst[from + i] != poison)
			fail("DMA %d wrote RAM 0x%llx, outside its range",
			     n, (unsigned long long)(dst_pa + from + i));
}

int main(void)
{
	unsigned char *mem;
	__u64 pa[2];
	void *bar;
	int n;

	setup();
	printf("L2: START\n");
	find_edu();
	enable_edu();
	bar = map_bar();
	mem = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED || mlock(mem, 2 * PAGE))
		fail("two locked pages");
	pa[0] = phys_of(mem);
	pa[1] = phys_of(mem + PAGE);
	printf("L2: edu %s ident 0x%08x, DMA between RAM 0x%llx and 0x%llx\n",
	       bdf, edu_bar_ident(bar), (unsigned long long)pa[0],
	       (unsigned long long)pa[1]);
	for (n = 0; n < TRANSFERS; n++)
		copy_block(bar, mem, pa[0], mem + PAGE, pa[1], n);
	printf("L2: PASS: edu %s: %d x %d bytes from RAM 0x%llx and back to 0x%llx, all landed\n",
	       bdf, TRANSFERS, EDU_XFER, (unsigned long long)pa[0],
	       (unsigned long long)pa[1]);
	end_vm();
}
