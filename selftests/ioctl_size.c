// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The extensibility rules every command obeys, checked on each command
 * number from one table: a size below the command's first version is
 * EINVAL, a larger struct is accepted only when the bytes the kernel does
 * not know are zero (else E2BIG), and a zero-extended struct behaves exactly
 * like the plain one.  Numbers that name no command are ENOTTY.  The
 * command list of the uAPI header, generated from it at build time, is the
 * reference for the table and for what the kernel serves.
 */
#include <sys/mman.h>
#include <linux/vfio.h>

#include "helpers.h"

struct cmd_desc {
	const char *name;
	unsigned long ioctl;
	size_t size;		/* the v6.12 struct */
	size_t min_size;	/* the size of the command's first version */
};

#define CMD(_ioctl, _struct, _min_size) \
	{ #_ioctl, _ioctl, sizeof(struct _struct), _min_size }

static const struct cmd_desc commands[] = {
	CMD(IOMMU_DESTROY, iommu_destroy, 8),
	CMD(IOMMU_IOAS_ALLOC, iommu_ioas_alloc, 12),
	CMD(IOMMU_IOAS_ALLOW_IOVAS, iommu_ioas_allow_iovas, 24),
	CMD(IOMMU_IOAS_COPY, iommu_ioas_copy, 40),
	CMD(IOMMU_IOAS_IOVA_RANGES, iommu_ioas_iova_ranges, 32),
	CMD(IOMMU_IOAS_MAP, iommu_ioas_map, 40),
	CMD(IOMMU_IOAS_UNMAP, iommu_ioas_unmap, 24),
	CMD(IOMMU_OPTION, iommu_option, 24),
	CMD(IOMMU_VFIO_IOAS, iommu_vfio_ioas, 12),
	/* data_type, data_len, data_uptr and fault_id came later */
	CMD(IOMMU_HWPT_ALLOC, iommu_hwpt_alloc, 24),
	/* out_capabilities came later */
	CMD(IOMMU_GET_HW_INFO, iommu_hw_info, 32),
	CMD(IOMMU_HWPT_SET_DIRTY_TRACKING, iommu_hwpt_set_dirty_tracking, 16),
	CMD(IOMMU_HWPT_GET_DIRTY_BITMAP, iommu_hwpt_get_dirty_bitmap, 48),
	CMD(IOMMU_HWPT_INVALIDATE, iommu_hwpt_invalidate, 32),
	CMD(IOMMU_FAULT_QUEUE_ALLOC, iommu_fault_alloc, 16),
	/* The test-only command, as the v6.12 test ABI defines it */
	CMD(IOMMU_TEST_CMD, iommu_test_cmd, 68),
};

static unsigned int table_count(unsigned int nr)
{
	unsigned int i, found = 0;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		found += _IOC_NR(commands[i].ioctl) == nr;
	return found;
}

/* The command numbers linux/iommufd.h lists, as the Makefile found them. */
static const struct uapi_cmd {
	const char *name;
	unsigned int nr;
} uapi_cmds[] = {
#define X(_nr) { #_nr, _nr },
#include "iommufd_cmds.h"
#undef X
};

static bool in_uapi(unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(uapi_cmds); i++) {
		if (uapi_cmds[i].nr == nr)
			return true;
	}
	return false;
}

/*
 * Every command of the uAPI header is in the table, once, and the table has
 * nothing else but the test-only command.
 */
TEST(table_is_complete)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(uapi_cmds); i++) {
		const struct uapi_cmd *u = &uapi_cmds[i];

		EXPECT_EQ(1, table_count(u->nr))
			TH_LOG("%s", u->name);
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		if (commands[i].ioctl != IOMMU_TEST_CMD)
			EXPECT_TRUE(in_uapi(_IOC_NR(commands[i].ioctl)))
				TH_LOG("%s is not in linux/iommufd.h",
				       commands[i].name);
	}
	EXPECT_FALSE(in_uapi(_IOC_NR(IOMMU_TEST_CMD)));
	EXPECT_EQ(1, table_count(_IOC_NR(IOMMU_TEST_CMD)));
}

FIXTURE(size_rules) {
	int fd;
	unsigned char *buf;	/* the struct, followed by 8 spare bytes */
};

FIXTURE_SETUP(size_rules)
{
	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	self->buf = calloc(1, 4096);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(size_rules)
{
	free(self->buf);
	close(self->fd);
}

/* Issue the command with an all-zero body of @size bytes plus @tail. */
static int issue(int fd, const struct cmd_desc *c, unsigned char *buf,
		 __u32 size, unsigned char tail_byte, size_t tail_at)
{
	memset(buf, 0, 4096);
	memcpy(buf, &size, sizeof(size));
	if (tail_at)
		buf[tail_at] = tail_byte;
	return ioctl(fd, c->ioctl, buf) ? errno : 0;
}

TEST_F(size_rules, too_small_is_einval)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct cmd_desc *c = &commands[i];

		EXPECT_EQ(EINVAL, issue(self->fd, c, self->buf, 0, 0, 0))
			TH_LOG("%s", c->name);
		EXPECT_EQ(EINVAL, issue(self->fd, c, self->buf, 4, 0, 0))
			TH_LOG("%s", c->name);
		EXPECT_EQ(EINVAL, issue(self->fd, c, self->buf,
					c->min_size - 1, 0, 0))
			TH_LOG("%s", c->name);
	}
}

/* The kernel serves every command of the uAPI header: EINVAL, not ENOTTY. */
TEST_F(size_rules, uapi_commands_are_served)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(uapi_cmds); i++) {
		const struct cmd_desc c = {
			.name = uapi_cmds[i].name,
			.ioctl = _IO(IOMMUFD_TYPE, uapi_cmds[i].nr),
		};

		EXPECT_EQ(EINVAL, issue(self->fd, &c, self->buf, 0, 0, 0))
			TH_LOG("%s", c.name);
	}
}

TEST_F(size_rules, nonzero_tail_is_e2big)
{
	unsigned int i, at;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct cmd_desc *c = &commands[i];

		for (at = c->size; at < c->size + 8; at++)
			EXPECT_EQ(E2BIG, issue(self->fd, c, self->buf,
					       c->size + 8, 0xff, at))
				TH_LOG("%s, byte %u", c->name, at);
		EXPECT_EQ(E2BIG, issue(self->fd, c, self->buf, 4096, 1, 4095))
			TH_LOG("%s", c->name);
	}
}

/* A zero tail, or a size between min_size and size, changes nothing. */
TEST_F(size_rules, zero_extension_is_transparent)
{
	unsigned int i, size;

	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct cmd_desc *c = &commands[i];
		int plain, extended;

		plain = issue(self->fd, c, self->buf, c->size, 0, 0);
		extended = issue(self->fd, c, self->buf, c->size + 8, 0, 0);
		EXPECT_EQ(plain, extended)
			TH_LOG("%s", c->name);
		extended = issue(self->fd, c, self->buf, 4096, 0, 0);
		EXPECT_EQ(plain, extended)
			TH_LOG("%s", c->name);
		for (size = c->min_size; size < c->size; size++)
			EXPECT_EQ(plain, issue(self->fd, c, self->buf, size,
					       0, 0))
				TH_LOG("%s, size %u", c->name, size);
	}
}

TEST_F(size_rules, bad_pointer_is_efault)
{
	unsigned int i;
	void *ro;

	ro = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	for (i = 0; i < ARRAY_SIZE(commands); i++) {
		EXPECT_EQ(-1, ioctl(self->fd, commands[i].ioctl, NULL));
		EXPECT_EQ(EFAULT, errno)
			TH_LOG("%s", commands[i].name);
		EXPECT_EQ(-1, ioctl(self->fd, commands[i].ioctl, ro));
		EXPECT_EQ(EFAULT, errno)
			TH_LOG("%s", commands[i].name);
	}
	munmap(ro, 4096);
}

/*
 * The container and type1 IOMMU ioctls of VFIO: they share IOMMUFD_TYPE, and
 * /dev/iommu may serve them for VFIO compatibility.
 */
static const unsigned long vfio_type1_ioctls[] = {
	VFIO_GET_API_VERSION, VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU,
	VFIO_IOMMU_GET_INFO, VFIO_IOMMU_MAP_DMA, VFIO_IOMMU_UNMAP_DMA,
	VFIO_IOMMU_ENABLE, VFIO_IOMMU_DISABLE, VFIO_IOMMU_DIRTY_PAGES,
};

static bool is_vfio_type1(unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vfio_type1_ioctls); i++) {
		if (_IOC_TYPE(vfio_type1_ioctls[i]) == IOMMUFD_TYPE &&
		    _IOC_NR(vfio_type1_ioctls[i]) == nr)
			return true;
	}
	return false;
}

/*
 * Numbers that name no command of the uAPI header (below its first, between
 * and after its commands), and commands with the wrong encoding.
 */
TEST_F(size_rules, unknown_commands_are_enotty)
{
	unsigned int nr;

	for (nr = 0; nr < 0x100; nr++) {
		if (in_uapi(nr) || nr == _IOC_NR(IOMMU_TEST_CMD) ||
		    is_vfio_type1(nr))
			continue;
		EXPECT_EQ(ENOTTY, ioctl(self->fd, _IO(IOMMUFD_TYPE, nr),
					self->buf) ? errno : 0)
			TH_LOG("number 0x%x", nr);
	}
	/* The right number in another type, direction or size encoding. */
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO('x', IOMMUFD_CMD_DESTROY),
				   self->buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd,
				   _IOWR(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY,
					 struct iommu_destroy),
				   self->buf));
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd,
				   _IOW(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP,
					struct iommu_ioas_map),
				   self->buf));
}

TEST_HARNESS_MAIN
