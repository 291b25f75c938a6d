// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * Several threads on one context at once: maps and unmaps of disjoint
 * ranges, with devices coming and going, IOVA_RANGES readers, accesses
 * pinning and copying, and copies in both directions between two IOASes;
 * races on one range (two maps, map against unmap, access pins against
 * map and unmap) and on one IOAS (destroy against maps, attach and access
 * creation), where exactly one side may win; an access moving between two
 * IOASes while it pins; ioctls meeting one stopped halfway (destroy of the
 * object it uses, an unmap around its map); and closing the context with
 * everything the threads built still live.
 * Every test ends with no page left pinned.
 *
 * Threads never use the harness's ASSERT/EXPECT: each records its first
 * failure, and the main thread checks after joining.  The work is bounded
 * by iteration counts, smaller on the (much slower) debug kernel.
 */
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "helpers.h"

#define PSZ ((size_t)sysconf(_SC_PAGESIZE))
#define HALF ((size_t)MOCK_IO_PAGE_SIZE)
#define MAP_FIXED_RW (MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA)
#define NTHREADS 4
#define SLICE_PAGES 4
#define SLICE (SLICE_PAGES * PSZ)
#define NSLICES 16

/*
 * The debug kernel (KASAN, lockdep, kmemleak) is 10-20 times slower.  The
 * counts stay small anyway: under QEMU's TCG a vCPU that the host preempts
 * while it holds a lock stalls the others, so contended loops can take
 * many times longer on a busy host.
 */
static unsigned int iters(unsigned int normal)
{
	static int debug = -1;

	if (debug < 0)
		debug = !access("/sys/kernel/debug/kmemleak", F_OK);
	return debug ? (normal + 9) / 10 : normal;
}

/* A fixed IOVA per slot inside the mock aperture, 1 MiB apart. */
static __u64 iova_at(unsigned int slot)
{
	return MOCK_APERTURE_START + (__u64)slot * 0x100000;
}

/* The first failure a thread saw, and how many there were. */
struct result {
	unsigned int errors;
	const char *what;
	int err;
	unsigned int iter;
};

static void fail(struct result *res, const char *what, int err,
		 unsigned int iter)
{
	if (!res->errors++) {
		res->what = what;
		res->err = err;
		res->iter = iter;
	}
}

/* @rc of a call returning 0 or -1/errno: record a failure. */
static bool check(struct result *res, int rc, const char *what,
		  unsigned int iter)
{
	if (!rc)
		return true;
	fail(res, what, rc == -1 ? errno : rc, iter);
	return false;
}

/* Did the call fail with exactly @err? */
static bool check_errno(struct result *res, int err, int rc,
			const char *what, unsigned int iter)
{
	if (rc == -1 && errno == err)
		return true;
	fail(res, what, rc == -1 ? errno : rc, iter);
	return false;
}

#define EXPECT_NO_FAILURE(res, name)                                       \
	do {                                                                \
		const struct result *__res = (res);                         \
									    \
		if (__res->errors)                                          \
			TH_LOG("%s: %u failures, first: %s gave %d at %u",  \
			       name, __res->errors, __res->what,            \
			       __res->err, __res->iter);                    \
		EXPECT_EQ(0, __res->errors);                                \
	} while (0)

/* Everything a thread needs; unused fields stay zero. */
struct worker {
	pthread_t thread;
	pthread_barrier_t *start;
	int fd;
	__u32 ioas_id;
	__u32 hwpt_ids[2];	/* the domains that stay, or 0 */
	char *mem;
	size_t len;
	__u64 iova;
	bool auto_iova;
	unsigned int iters;
	int access_fd;
	__u32 ioas2_id;		/* a second IOAS, for copies and destroys */
	bool expect_busy;	/* destroy_ioas(): the IOAS is in use */
	bool use_access;	/* attach_once(), build_up(): make an access */
	__u64 least_align;	/* ranges_reader(): alignment without domains */
	int rc;			/* the outcome of a single call */
	__u32 new_id;		/* the object it created */
	unsigned long count;	/* what the thread counts, if anything */
	struct result res;
};

FIXTURE(conc) {
	int fd;
	__u32 ioas_id;
	__u32 hwpt_ids[2];
	char *buf;
	pthread_barrier_t start;
	struct worker w[NTHREADS + 2];
};

/* How many domains the fixture's IOAS (and a second one) have. */
FIXTURE_VARIANT(conc) {
	unsigned int ndomains;
};

FIXTURE_VARIANT_ADD(conc, no_domain) {
	.ndomains = 0,
};

FIXTURE_VARIANT_ADD(conc, one_domain) {
	.ndomains = 1,
};

FIXTURE_VARIANT_ADD(conc, two_domains) {
	.ndomains = 2,
};

/*
 * Attach a new mock device to an IOAS: a normal one shares the IOAS's
 * normal domain, one with MOCK_FLAGS_DEVICE_HUGE_IOVA needs a domain of
 * another kind.
 */
static int attach_device(int fd, __u32 ioas_id, bool huge, __u32 *stdev_id,
			 __u32 *hwpt_id)
{
	return mock_domain_flags(fd, ioas_id,
				 huge ? MOCK_FLAGS_DEVICE_HUGE_IOVA : 0,
				 stdev_id, hwpt_id, NULL);
}

static char *slice(FIXTURE_DATA(conc) * self, unsigned int n)
{
	return self->buf + n * SLICE;
}

/*
 * A new context in self->fd: an IOAS with @ndomains domains, and the
 * workers pointed at it.  Pinned pages show in VmPin (RLIMIT_MODE 1), so
 * totals can be checked.
 */
static void open_context(struct __test_metadata *_metadata,
			 FIXTURE_DATA(conc) * self, unsigned int ndomains)
{
	unsigned int i;

	self->fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, set_rlimit_mode(self->fd, 1));
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	memset(self->hwpt_ids, 0, sizeof(self->hwpt_ids));
	for (i = 0; i != ndomains; i++)
		ASSERT_EQ(0, attach_device(self->fd, self->ioas_id, i, NULL,
					   &self->hwpt_ids[i]));
	if (ndomains == 2)
		ASSERT_NE(self->hwpt_ids[0], self->hwpt_ids[1]);
	memset(self->w, 0, sizeof(self->w));
	for (i = 0; i != NTHREADS + 2; i++) {
		self->w[i].start = &self->start;
		self->w[i].fd = self->fd;
		self->w[i].ioas_id = self->ioas_id;
		memcpy(self->w[i].hwpt_ids, self->hwpt_ids,
		       sizeof(self->hwpt_ids));
		self->w[i].access_fd = -1;
	}
}

/* Does each domain of @hwpt_ids map [iova, +len) to @mem? */
static int check_domains(int fd, const __u32 hwpt_ids[2], __u64 iova,
			 size_t len, void *mem)
{
	unsigned int i;
	int rc;

	for (i = 0; i != 2 && hwpt_ids[i]; i++) {
		rc = md_check_map(fd, hwpt_ids[i], iova, len, mem);
		if (rc)
			return rc;
	}
	return 0;
}

FIXTURE_SETUP(conc)
{
	unsigned int i;

	self->buf = mmap(NULL, NSLICES * SLICE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	for (i = 0; i != NSLICES; i++)
		memset(slice(self, i), 'a' + i, SLICE);
	open_context(_metadata, self, variant->ndomains);
}

/* Closing the context leaves no page of the buffer pinned. */
FIXTURE_TEARDOWN(conc)
{
	int fd;

	close(self->fd);
	EXPECT_EQ(0, pinned_vm_pages());
	fd = open(IOMMU_DEV, O_RDWR);
	EXPECT_LE(0, fd);
	EXPECT_EQ(0, md_check_refs(fd, self->buf, NSLICES * SLICE, 0));
	close(fd);
	munmap(self->buf, NSLICES * SLICE);
}

/* Start @n workers at once on @fn, then wait for all of them. */
static int run_workers(struct worker *w, unsigned int n,
		       pthread_barrier_t *start, void *(*fn[])(void *))
{
	unsigned int i;
	int rc;

	rc = pthread_barrier_init(start, NULL, n);
	if (rc)
		return rc;
	for (i = 0; i != n; i++) {
		rc = pthread_create(&w[i].thread, NULL, fn[i], &w[i]);
		/* Nobody can pass the barrier now: give up for good. */
		if (rc)
			abort();
	}
	for (i = 0; i != n; i++)
		pthread_join(w[i].thread, NULL);
	return pthread_barrier_destroy(start);
}

/* Map, check, unmap the worker's range over and over. */
static void *map_unmap_loop(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i != w->iters; i++) {
		__u64 iova = w->iova, unmapped = 0;
		int rc;

		if (w->auto_iova)
			rc = ioas_map(w->fd, w->ioas_id, w->mem, w->len, &iova,
				      MAP_RW);
		else
			rc = ioas_map_fixed(w->fd, w->ioas_id, w->mem, w->len,
					    iova);
		if (!check(&w->res, rc, "map", i))
			continue;
		if (iova % PSZ != (uintptr_t)w->mem % PSZ)
			fail(&w->res, "auto IOVA page offset", 0, i);
		check(&w->res, check_domains(w->fd, w->hwpt_ids, iova, w->len,
					     w->mem),
		      "md_check_map", i);
		rc = ioas_unmap(w->fd, w->ioas_id, iova, w->len, &unmapped);
		if (check(&w->res, rc, "unmap", i) && unmapped != w->len)
			fail(&w->res, "unmapped length", (int)unmapped, i);
	}
	return NULL;
}

static void disjoint_maps(struct __test_metadata *_metadata,
			  FIXTURE_DATA(conc) * self, bool auto_iova)
{
	void *(*fn[NTHREADS])(void *);
	__u64 unmapped = 1;
	unsigned int i;

	for (i = 0; i != NTHREADS; i++) {
		struct worker *w = &self->w[i];

		/* Odd threads map from the middle of a page. */
		w->mem = slice(self, i) + (i % 2 ? HALF : 0);
		w->len = SLICE - (i % 2 ? PSZ : 0);
		w->iova = iova_at(i) + (i % 2 ? HALF : 0);
		w->auto_iova = auto_iova;
		w->iters = iters(250);
		fn[i] = map_unmap_loop;
	}
	ASSERT_EQ(0, run_workers(self->w, NTHREADS, &self->start, fn));
	for (i = 0; i != NTHREADS; i++)
		EXPECT_NO_FAILURE(&self->w[i].res, "mapper");

	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				&unmapped));
	EXPECT_EQ(0, unmapped);
	EXPECT_EQ(0, pinned_vm_pages());
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, NSLICES * SLICE, 0));
}

TEST_F(conc, disjoint_fixed_iova)
{
	disjoint_maps(_metadata, self, false);
}

TEST_F(conc, disjoint_auto_iova)
{
	disjoint_maps(_metadata, self, true);
}

/*
 * Attach a new device to the IOAS and destroy it, over and over; devices
 * of both kinds, so domains come and go next to the ones that stay.
 */
static void *device_churn(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i != w->iters; i++) {
		bool huge = i % 2;
		__u32 stdev_id, hwpt_id;

		if (!check(&w->res, attach_device(w->fd, w->ioas_id, huge,
						  &stdev_id, &hwpt_id),
			   "mock_domain", i))
			continue;
		/* A domain that stays is shared by new devices of its kind. */
		if (w->hwpt_ids[huge] ? hwpt_id != w->hwpt_ids[huge] :
					hwpt_id == w->hwpt_ids[!huge])
			fail(&w->res, "hwpt_id", hwpt_id, i);
		check(&w->res, object_destroy(w->fd, stdev_id), "destroy", i);
	}
	return NULL;
}

/*
 * Read IOVA_RANGES over and over: with a domain the aperture and its
 * alignment, without one everything at alignment 1.  A domain comes and
 * goes as a whole, so a snapshot of one half-way in (the aperture, but not
 * its alignment) is a failure.
 */
static void *ranges_reader(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i != w->iters; i++) {
		struct iommu_iova_range r[4];
		__u64 least = w->least_align ? w->least_align : 1;
		__u64 align = 0;
		bool all, aperture;
		int n;

		n = ioas_ranges(w->fd, w->ioas_id, r, 4, &align);
		if (n != 1) {
			fail(&w->res, "number of ranges", n, i);
			continue;
		}
		all = r[0].start == 0 && r[0].last == UINT64_MAX;
		aperture = r[0].start == MOCK_APERTURE_START &&
			   r[0].last == MOCK_APERTURE_LAST;
		if (aperture && align == (least > HALF ? least : HALF))
			continue;
		if (!all || align != least || w->hwpt_ids[0])
			fail(&w->res, "ranges", (int)align, i);
	}
	return NULL;
}

/* Pin, write, read back and unpin the worker's range through an access. */
static void *access_loop(void *arg)
{
	struct worker *w = arg;
	char *data = malloc(w->len);
	unsigned int i;

	if (!data) {
		fail(&w->res, "malloc", ENOMEM, 0);
		pthread_barrier_wait(w->start);
		return NULL;
	}
	pthread_barrier_wait(w->start);
	for (i = 0; i != w->iters; i++) {
		__u32 item;

		if (!check(&w->res, access_pages(w->fd, w->access_fd,
						 MOCK_FLAGS_ACCESS_WRITE,
						 w->iova, w->len, w->mem,
						 &item),
			   "access_pages", i))
			continue;
		memset(data, i, w->len);
		if (check(&w->res, access_rw(w->fd, w->access_fd, w->iova,
					     data, w->len,
					     MOCK_ACCESS_RW_WRITE),
			  "access_rw write", i) &&
		    memcmp(data, w->mem, w->len))
			fail(&w->res, "written data", 0, i);
		memset(data, 0, w->len);
		if (check(&w->res, access_rw(w->fd, w->access_fd, w->iova,
					     data, w->len,
					     MOCK_ACCESS_RW_SLOW_PATH),
			  "access_rw read", i) &&
		    memcmp(data, w->mem, w->len))
			fail(&w->res, "read data", 0, i);
		check(&w->res, destroy_access_pages(w->fd, w->access_fd, item),
		      "destroy_access_pages", i);
	}
	free(data);
	return NULL;
}

/*
 * Two mappers, a thread attaching and destroying devices, an IOVA_RANGES
 * reader and an access, all on one IOAS.
 */
TEST_F(conc, mixed)
{
	void *(*fn[5])(void *) = {
		map_unmap_loop, map_unmap_loop, device_churn, ranges_reader,
		access_loop,
	};
	struct worker *w = self->w;
	unsigned int i;

	for (i = 0; i != 2; i++) {
		w[i].mem = slice(self, i);
		w[i].len = SLICE;
		w[i].iova = iova_at(i);
		w[i].iters = iters(1000);
	}
	w[2].iters = iters(300);
	w[3].iters = iters(5000);
	/* The pinning access makes every mapping whole pages. */
	w[3].least_align = PSZ;
	w[4].mem = slice(self, 4);
	w[4].len = SLICE;
	w[4].iova = iova_at(4);
	w[4].iters = iters(1000);
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, w[4].mem,
				    w[4].len, w[4].iova));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &w[4].access_fd));

	ASSERT_EQ(0, run_workers(w, 5, &self->start, fn));
	EXPECT_NO_FAILURE(&w[0].res, "mapper 0");
	EXPECT_NO_FAILURE(&w[1].res, "mapper 1");
	EXPECT_NO_FAILURE(&w[2].res, "device churn");
	EXPECT_NO_FAILURE(&w[3].res, "ranges reader");
	EXPECT_NO_FAILURE(&w[4].res, "access");

	/* Only the access's range is left, pinned if a domain stayed. */
	EXPECT_EQ(variant->ndomains ? SLICE_PAGES : 0, pinned_vm_pages());
	EXPECT_EQ(0, md_check_refs(self->fd, w[4].mem, SLICE,
				   variant->ndomains ? 1 : 0));
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 4 * SLICE, 0));
	close(w[4].access_fd);
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, w[4].iova, w[4].len,
				NULL));
	EXPECT_EQ(0, pinned_vm_pages());
}

/* Copy the worker's range from ioas_id into ioas2_id and unmap it there. */
static void *copy_loop(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i != w->iters; i++) {
		__u64 dst = w->iova + 0x80000, unmapped = 0;
		int rc;

		rc = ioas_copy(w->fd, w->ioas2_id, &dst, w->ioas_id, w->iova,
			       w->len, MAP_FIXED_RW);
		if (!check(&w->res, rc, "copy", i))
			continue;
		rc = ioas_unmap(w->fd, w->ioas2_id, dst, w->len, &unmapped);
		if (check(&w->res, rc, "unmap", i) && unmapped != w->len)
			fail(&w->res, "unmapped length", (int)unmapped, i);
	}
	return NULL;
}

/* Copies between two IOASes in both directions at once. */
TEST_F(conc, copy_both_ways)
{
	void *(*fn[NTHREADS])(void *);
	struct worker *w = self->w;
	__u32 ioas2_id;
	unsigned int i;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2_id));
	for (i = 0; i != variant->ndomains; i++)
		ASSERT_EQ(0, attach_device(self->fd, ioas2_id, i, NULL, NULL));
	for (i = 0; i != NTHREADS; i++) {
		/* Even threads copy out of the fixture's IOAS, odd into it. */
		w[i].ioas_id = i % 2 ? ioas2_id : self->ioas_id;
		w[i].ioas2_id = i % 2 ? self->ioas_id : ioas2_id;
		w[i].mem = slice(self, i);
		w[i].len = SLICE;
		w[i].iova = iova_at(i);
		w[i].iters = iters(300);
		fn[i] = copy_loop;
		ASSERT_EQ(0, ioas_map_fixed(self->fd, w[i].ioas_id, w[i].mem,
					    w[i].len, w[i].iova));
	}
	ASSERT_EQ(0, run_workers(w, NTHREADS, &self->start, fn));
	for (i = 0; i != NTHREADS; i++)
		EXPECT_NO_FAILURE(&w[i].res, "copier");

	/* Each slice is pinned once, by its map, if there are domains. */
	EXPECT_EQ(variant->ndomains ? NTHREADS * SLICE_PAGES : 0,
		  pinned_vm_pages());
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, NTHREADS * SLICE,
				   variant->ndomains ? 1 : 0));
	EXPECT_EQ(0, check_domains(self->fd, self->hwpt_ids, w[0].iova,
				   w[0].len, w[0].mem));
}

/* State shared by the two threads of a race, round after round. */
struct race {
	pthread_barrier_t barrier;
	int fd;
	__u32 ioas_id;
	__u32 hwpt_ids[2];
	size_t len;
	char *mem[2];
	__u64 iova[2];
	unsigned int rounds;
	int rc[2];		/* 0 or the errno of this round's calls */
	__u64 unmapped;
	unsigned int outcome[2];	/* how often each side won */
	int access_fd;
	struct result res;	/* written by thread 0 only */
	struct result res1;	/* written by thread 1 only */
};

struct racer {
	pthread_t thread;
	struct race *race;
	unsigned int idx;
};

static int rc_errno(int rc)
{
	return rc ? errno : 0;
}

/* Both threads map over the same IOVA; exactly one gets it. */
static void *race_two_maps(void *arg)
{
	struct racer *me = arg;
	struct race *r = me->race;
	unsigned int i, t = me->idx;

	for (i = 0; i != r->rounds; i++) {
		pthread_barrier_wait(&r->barrier);
		r->rc[t] = rc_errno(ioas_map_fixed(r->fd, r->ioas_id, r->mem[t],
						   r->len, r->iova[t]));
		pthread_barrier_wait(&r->barrier);
		if (t == 0) {
			int won = r->rc[0] ? 1 : 0;
			__u64 unmapped = 0;

			if (r->rc[won] || r->rc[!won] != EEXIST) {
				fail(&r->res, "two maps", r->rc[!won], i);
				/* Do not leave anything for the next round. */
				ioas_unmap(r->fd, r->ioas_id, 0, UINT64_MAX,
					   NULL);
			} else {
				r->outcome[won]++;
				check(&r->res,
				      check_domains(r->fd, r->hwpt_ids,
						    r->iova[won], r->len,
						    r->mem[won]),
				      "md_check_map", i);
				check(&r->res,
				      ioas_unmap(r->fd, r->ioas_id,
						 r->iova[won], r->len,
						 &unmapped),
				      "unmap", i);
				if (unmapped != r->len)
					fail(&r->res, "unmapped", 0, i);
			}
		}
		pthread_barrier_wait(&r->barrier);
	}
	return NULL;
}

/*
 * Thread 0 maps, thread 1 unmaps the same range; r->iova[1] == 0 makes
 * thread 1 unmap everything instead.  The unmap takes the whole map or
 * finds nothing, and what is left afterwards agrees with it.
 */
static void *race_map_unmap(void *arg)
{
	struct racer *me = arg;
	struct race *r = me->race;
	unsigned int i, t = me->idx;

	for (i = 0; i != r->rounds; i++) {
		pthread_barrier_wait(&r->barrier);
		if (t == 0) {
			r->rc[0] = rc_errno(ioas_map_fixed(r->fd, r->ioas_id,
							   r->mem[0], r->len,
							   r->iova[0]));
		} else {
			r->unmapped = 0;
			if (r->iova[1])
				r->rc[1] = rc_errno(ioas_unmap(r->fd,
							       r->ioas_id,
							       r->iova[1],
							       r->len,
							       &r->unmapped));
			else
				r->rc[1] = rc_errno(ioas_unmap(r->fd,
							       r->ioas_id, 0,
							       UINT64_MAX,
							       &r->unmapped));
		}
		pthread_barrier_wait(&r->barrier);
		if (t == 0) {
			bool took = !r->rc[1] && r->unmapped == r->len;
			bool missed = r->iova[1] ? r->rc[1] == ENOENT :
					!r->rc[1] && !r->unmapped;
			int rc;

			check(&r->res, r->rc[0], "map", i);
			if (!took && !missed)
				fail(&r->res, "unmap", r->rc[1], i);
			r->outcome[took]++;
			rc = ioas_unmap(r->fd, r->ioas_id, r->iova[0], r->len,
					NULL);
			if (took)
				check_errno(&r->res, ENOENT, rc,
					    "unmap after unmap", i);
			else
				check(&r->res, rc, "unmap after map", i);
		}
		pthread_barrier_wait(&r->barrier);
	}
	return NULL;
}

static void run_race(struct __test_metadata *_metadata, struct race *r,
		     void *(*fn)(void *))
{
	struct racer racers[2];
	unsigned int i;

	ASSERT_EQ(0, pthread_barrier_init(&r->barrier, NULL, 2));
	for (i = 0; i != 2; i++) {
		racers[i].race = r;
		racers[i].idx = i;
		if (pthread_create(&racers[i].thread, NULL, fn, &racers[i]))
			abort();
	}
	for (i = 0; i != 2; i++)
		pthread_join(racers[i].thread, NULL);
	pthread_barrier_destroy(&r->barrier);
	EXPECT_NO_FAILURE(&r->res, "race");
}

TEST_F(conc, race_map_same_iova)
{
	struct race r = {
		.fd = self->fd,
		.ioas_id = self->ioas_id,
		.hwpt_ids = { self->hwpt_ids[0], self->hwpt_ids[1] },
		.len = SLICE,
		.mem = { slice(self, 0), slice(self, 1) },
		/* Overlapping by all but a page. */
		.iova = { iova_at(0), iova_at(0) + PSZ },
		.rounds = iters(1000),
	};

	run_race(_metadata, &r, race_two_maps);
	TH_LOG("first map won %u times, second %u times", r.outcome[0],
	       r.outcome[1]);
	EXPECT_EQ(r.rounds, r.outcome[0] + r.outcome[1]);
	EXPECT_EQ(0, pinned_vm_pages());
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, 2 * SLICE, 0));
}

TEST_F(conc, race_unmap_against_map)
{
	struct race r = {
		.fd = self->fd,
		.ioas_id = self->ioas_id,
		.len = SLICE,
		.mem = { slice(self, 0) },
		.iova = { iova_at(0), iova_at(0) },
		.rounds = iters(600),
	};

	run_race(_metadata, &r, race_map_unmap);
	TH_LOG("unmap of the range: took the map %u times, found nothing %u times",
	       r.outcome[1], r.outcome[0]);

	/* The same with the unmap of everything. */
	memset(&r.outcome, 0, sizeof(r.outcome));
	r.iova[1] = 0;
	run_race(_metadata, &r, race_map_unmap);
	TH_LOG("unmap of everything: took the map %u times, found nothing %u times",
	       r.outcome[1], r.outcome[0]);
	EXPECT_EQ(0, pinned_vm_pages());
	EXPECT_EQ(0, md_check_refs(self->fd, self->buf, SLICE, 0));
}

/* Thread 1 of race_unmap_against_access_pin(): pin, then unpin or retry. */
static void access_side(struct race *r, unsigned int i)
{
	__u32 item = 0;
	int rc;

	/* Racing the map: the range is there or not yet. */
	rc = rc_errno(access_pages(r->fd, r->access_fd, 0, r->iova[0], r->len,
				   r->mem[0], &item));
	if (rc && rc != ENOENT)
		fail(&r->res1, "access_pages against map", rc, i);
	pthread_barrier_wait(&r->barrier);

	/* Racing the unmap: it may take the pin, or be on its way out. */
	if (rc) {
		rc = rc_errno(access_pages(r->fd, r->access_fd, 0, r->iova[0],
					   r->len, r->mem[0], &item));
		if (rc && rc != ENOENT && rc != EINVAL)
			fail(&r->res1, "access_pages against unmap", rc, i);
	}
	if (!rc) {
		rc = rc_errno(destroy_access_pages(r->fd, r->access_fd, item));
		if (rc && rc != ENOENT)
			fail(&r->res1, "destroy_access_pages", rc, i);
		r->outcome[rc == ENOENT]++;
	}
}

/*
 * Thread 0 maps and then unmaps a range; thread 1 pins it through an
 * access, racing first the map and then the unmap.  The unmap always
 * succeeds, as the access lets go when asked, and leaves nothing pinned.
 */
static void *race_pin_unmap(void *arg)
{
	struct racer *me = arg;
	struct race *r = me->race;
	unsigned int i;

	for (i = 0; i != r->rounds; i++) {
		__u64 unmapped = 0;

		pthread_barrier_wait(&r->barrier);
		if (me->idx) {
			access_side(r, i);
			pthread_barrier_wait(&r->barrier);
			continue;
		}
		check(&r->res, ioas_map_fixed(r->fd, r->ioas_id, r->mem[0],
					      r->len, r->iova[0]),
		      "map", i);
		pthread_barrier_wait(&r->barrier);
		if (check(&r->res, ioas_unmap(r->fd, r->ioas_id, r->iova[0],
					      r->len, &unmapped),
			  "unmap", i) &&
		    unmapped != r->len)
			fail(&r->res, "unmapped", 0, i);
		pthread_barrier_wait(&r->barrier);
		check(&r->res, md_check_refs(r->fd, r->mem[0], r->len, 0),
		      "md_check_refs", i);
		if (pinned_vm_pages())
			fail(&r->res, "VmPin", (int)pinned_vm_pages(), i);
	}
	return NULL;
}

TEST_F(conc, race_unmap_against_access_pin)
{
	struct race r = {
		.fd = self->fd,
		.ioas_id = self->ioas_id,
		.len = SLICE,
		.mem = { slice(self, 0) },
		.iova = { iova_at(0) },
		.rounds = iters(600),
	};

	ASSERT_EQ(0, create_access(self->fd, self->ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &r.access_fd));
	run_race(_metadata, &r, race_pin_unmap);
	EXPECT_NO_FAILURE(&r.res1, "access");
	TH_LOG("pins released by the access %u times, by the unmap %u times",
	       r.outcome[0], r.outcome[1]);
	close(r.access_fd);
	EXPECT_EQ(0, pinned_vm_pages());
}

/*
 * Destroy the IOAS w->ioas2_id once, after w->iters lookups of another
 * object, or (with w->expect_busy) try w->iters times, expecting EBUSY.
 * A destroy that meets a map in flight fails with EBUSY and is retried;
 * w->count is how often that happened.
 */
static void *destroy_ioas(void *arg)
{
	struct worker *w = arg;
	struct iommu_iova_range range;
	unsigned int i;

	pthread_barrier_wait(w->start);
	if (w->expect_busy) {
		for (i = 0; i != w->iters; i++)
			check_errno(&w->res, EBUSY,
				    object_destroy(w->fd, w->ioas2_id),
				    "destroy of a used IOAS", i);
		return NULL;
	}
	for (i = 0; i != w->iters; i++)
		ioas_ranges(w->fd, w->ioas_id, &range, 1, NULL);
	for (w->count = 0; object_destroy(w->fd, w->ioas2_id); w->count++) {
		if (errno != EBUSY) {
			fail(&w->res, "destroy", errno, w->count);
			break;
		}
	}
	return NULL;
}

/*
 * Map and unmap in w->ioas2_id until the IOAS is gone: every call succeeds
 * until the first ENOENT, and every call after that fails with ENOENT.
 */
static void *map_until_gone(void *arg)
{
	struct worker *w = arg;
	unsigned int i, gone = 0;

	pthread_barrier_wait(w->start);
	for (i = 0; i != w->iters && gone < 3; i++) {
		int rc;

		rc = ioas_map_fixed(w->fd, w->ioas2_id, w->mem, w->len,
				    w->iova);
		if (!rc)
			rc = ioas_unmap(w->fd, w->ioas2_id, w->iova, w->len,
					NULL);
		if (!rc && gone)
			fail(&w->res, "call after ENOENT", 0, i);
		else if (rc && errno != ENOENT)
			fail(&w->res, "map or unmap", errno, i);
		else if (rc)
			gone++;
	}
	w->count = gone;
	return NULL;
}

/*
 * IOMMU_DESTROY of an IOAS racing maps in it: with a domain attached it
 * always fails with EBUSY and the maps all work; without one it fails with
 * EBUSY while a map is in flight and otherwise succeeds, and the maps work
 * up to the moment it does and then fail with ENOENT.
 */
TEST_F(conc, race_destroy_ioas_against_maps)
{
	void *(*fn[2])(void *) = { map_until_gone, destroy_ioas };
	struct worker *w = self->w;
	unsigned int round, rounds = iters(200), seen_gone = 0;
	unsigned long busy = 0;

	for (round = 0; round != rounds; round++) {
		__u32 ioas_id = self->ioas_id;

		if (!variant->ndomains)
			ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
		w[0].ioas2_id = ioas_id;
		w[0].mem = slice(self, 0);
		w[0].len = SLICE;
		w[0].iova = iova_at(0);
		w[0].iters = variant->ndomains ? iters(1000) : 1000;
		w[1].ioas2_id = ioas_id;
		w[1].expect_busy = variant->ndomains;
		/* Vary how far the maps are when the destroy comes. */
		w[1].iters = variant->ndomains ? iters(1000) : round % 8 * 3;
		ASSERT_EQ(0, run_workers(w, 2, &self->start, fn));
		EXPECT_NO_FAILURE(&w[0].res, "mapper");
		EXPECT_NO_FAILURE(&w[1].res, "destroyer");
		if (variant->ndomains) {
			EXPECT_EQ(0, w[0].count);
			break;
		}
		seen_gone += !!w[0].count;
		busy += w[1].count;
		EXPECT_ERRNO(ENOENT, object_destroy(self->fd, ioas_id));
		if (_metadata->exit_code)
			break;
	}
	if (!variant->ndomains) {
		TH_LOG("the maps saw the IOAS go in %u of %u rounds",
		       seen_gone, rounds);
		TH_LOG("%lu destroys met a map in flight", busy);
	}
	EXPECT_EQ(0, pinned_vm_pages());
}

/* Attach a device to w->ioas2_id, or create an access there. */
static void *attach_once(void *arg)
{
	struct worker *w = arg;
	__u32 stdev_id = 0;
	int rc;

	pthread_barrier_wait(w->start);
	if (w->use_access)
		rc = create_access(w->fd, w->ioas2_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &w->access_fd);
	else
		rc = mock_domain(w->fd, w->ioas2_id, &stdev_id, NULL, NULL);
	w->rc = rc_errno(rc);
	w->new_id = stdev_id;
	return NULL;
}

static void *destroy_once(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(w->start);
	w->rc = rc_errno(object_destroy(w->fd, w->ioas2_id));
	return NULL;
}

/*
 * IOMMU_DESTROY of an IOAS racing the attach of a device or an access:
 * either the attach wins and the destroy fails with EBUSY, or the destroy
 * wins and the attach fails with ENOENT.
 *
 * IDs are handed out again, lowest first, and attaching a mock device
 * creates objects before it looks the IOAS up: given the ID the destroy
 * just freed, the lookup would find the new device (EINVAL).  Two free IDs
 * below the IOAS's keep that from happening.
 */
TEST_F(conc, race_destroy_ioas_against_attach)
{
	void *(*fn[2])(void *) = { attach_once, destroy_once };
	unsigned int round, rounds = iters(200), won[2] = { 0, 0 };
	struct worker *w = self->w;

	for (round = 0; round != rounds; round++) {
		__u32 ioas_id, devs[2], pads[2], i;

		ASSERT_EQ(0, ioas_alloc(self->fd, &pads[0]));
		ASSERT_EQ(0, ioas_alloc(self->fd, &pads[1]));
		ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
		for (i = 0; i != variant->ndomains; i++)
			ASSERT_EQ(0, attach_device(self->fd, ioas_id, i,
						   &devs[i], NULL));
		ASSERT_EQ(0, object_destroy(self->fd, pads[0]));
		ASSERT_EQ(0, object_destroy(self->fd, pads[1]));
		memset(w, 0, 2 * sizeof(*w));
		for (i = 0; i != 2; i++) {
			w[i].start = &self->start;
			w[i].fd = self->fd;
			w[i].ioas2_id = ioas_id;
			w[i].use_access = round % 2;
		}
		ASSERT_EQ(0, run_workers(w, 2, &self->start, fn));

		if (!w[0].rc) {
			/* The attach won (always, with a domain there). */
			EXPECT_EQ(EBUSY, w[1].rc);
			won[0]++;
			if (w[0].use_access)
				close(w[0].access_fd);
			else
				EXPECT_EQ(0, object_destroy(self->fd,
							    w[0].new_id));
			for (i = 0; i != variant->ndomains; i++)
				EXPECT_EQ(0, object_destroy(self->fd,
							    devs[i]));
			EXPECT_EQ(0, object_destroy(self->fd, ioas_id));
		} else {
			EXPECT_EQ(0, variant->ndomains);
			EXPECT_EQ(ENOENT, w[0].rc);
			EXPECT_EQ(0, w[1].rc);
			won[1]++;
		}
		if (_metadata->exit_code) {
			TH_LOG("round %u: attach %d, destroy %d", round,
			       w[0].rc, w[1].rc);
			break;
		}
	}
	TH_LOG("the attach won %u times, the destroy %u times", won[0],
	       won[1]);
}

/* Pin and unpin w->mem at w->iova through w->access_fd, over and over. */
static void *pin_through_access(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i != w->iters; i++) {
		__u32 item = 0;
		int rc;

		rc = rc_errno(access_pages(w->fd, w->access_fd, 0, w->iova,
					   w->len, w->mem, &item));
		/* The access is on its way between the two IOASes. */
		if (rc == ENOENT) {
			w->count++;
			continue;
		}
		if (rc) {
			fail(&w->res, "access_pages", rc, i);
			continue;
		}
		/* A replace may have had the pin given back already. */
		rc = rc_errno(destroy_access_pages(w->fd, w->access_fd, item));
		if (rc && rc != ENOENT)
			fail(&w->res, "destroy_access_pages", rc, i);
	}
	return NULL;
}

/* Move w->access_fd to w->ioas2_id and back, w->iters times in all. */
static void *move_access(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i != w->iters; i++)
		check(&w->res,
		      access_replace_ioas(w->fd, w->access_fd,
					  i % 2 ? w->ioas_id : w->ioas2_id),
		      "access_replace_ioas", i);
	return NULL;
}

/*
 * An access moving between two IOASes mapping the same memory while a
 * thread pins through it: each pin lands in the IOAS the access is in, or
 * fails with ENOENT while it moves.  No pin is left behind in an IOAS the
 * access left, so afterwards both unmap everything at the first try.
 */
TEST_F(conc, race_access_replace_against_pins)
{
	void *(*fn[2])(void *) = { pin_through_access, move_access };
	struct worker *w = self->w;
	__u32 ioas2_id;
	int access_fd;
	unsigned int i;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2_id));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, self->ioas_id, slice(self, 0),
				    SLICE, iova_at(0)));
	ASSERT_EQ(0, ioas_map_fixed(self->fd, ioas2_id, slice(self, 0), SLICE,
				    iova_at(0)));
	ASSERT_EQ(0, create_access(self->fd, self->ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &access_fd));
	for (i = 0; i != 2; i++)
		w[i] = (struct worker){
			.start = &self->start,
			.fd = self->fd,
			.ioas_id = self->ioas_id,
			.ioas2_id = ioas2_id,
			.access_fd = access_fd,
			.mem = slice(self, 0),
			.len = SLICE,
			.iova = iova_at(0),
			/* Even, so the access ends where it started. */
			.iters = iters(300) * 2,
		};
	ASSERT_EQ(0, run_workers(w, 2, &self->start, fn));
	EXPECT_NO_FAILURE(&w[0].res, "pinner");
	EXPECT_NO_FAILURE(&w[1].res, "mover");
	TH_LOG("%lu of %u pins came while the access moved", w[0].count,
	       w[0].iters);

	EXPECT_EQ(0, ioas_unmap(self->fd, ioas2_id, 0, UINT64_MAX, NULL));
	EXPECT_EQ(0, ioas_unmap(self->fd, self->ioas_id, 0, UINT64_MAX,
				NULL));
	close(access_fd);
	EXPECT_EQ(0, object_destroy(self->fd, ioas2_id));
	EXPECT_EQ(0, pinned_vm_pages());
}

/*
 * A page of memory whose first touch waits until the test serves it with
 * a userfaultfd: an ioctl that reads it (copy_from_user(), or pinning it)
 * stops there, in the middle of its work.
 */
struct held_page {
	int uffd;
	char *page;
	char *content;	/* what serving puts there */
};

/* Hold the page at @page, a page of memory of the caller's. */
static int held_page_init_at(struct held_page *h, char *page)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };

	h->page = page;
	h->content = new_buffer(PSZ, 7);
	h->uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (h->page == MAP_FAILED || h->content == MAP_FAILED || h->uffd < 0 ||
	    ioctl(h->uffd, UFFDIO_API, &api))
		return -1;
	reg.range.start = (uintptr_t)h->page;
	reg.range.len = PSZ;
	return ioctl(h->uffd, UFFDIO_REGISTER, &reg);
}

static int held_page_init(struct held_page *h)
{
	return held_page_init_at(h, mmap(NULL, PSZ, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
}

/* Wait until something touches the page; it is then stopped there. */
static int held_page_wait(struct held_page *h)
{
	struct uffd_msg msg;

	if (read(h->uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		return -1;
	return 0;
}

/* Fill the page with h->content, which lets the toucher go on. */
static int held_page_serve(struct held_page *h)
{
	struct uffdio_copy copy = {
		.dst = (uintptr_t)h->page,
		.src = (uintptr_t)h->content,
		.len = PSZ,
	};

	return ioctl(h->uffd, UFFDIO_COPY, &copy);
}

static void held_page_fini(struct held_page *h)
{
	close(h->uffd);
	munmap(h->page, PSZ);
	munmap(h->content, PSZ);
}

/* One ioctl on another thread, stopped at a held page. */
struct held_ioctl {
	int fd;
	__u32 ioas_id;
	struct held_page hp;
	__u64 iova;
	__u64 len;	/* of a pin; 0 for a page */
	int access_fd;
	int rc;
};

/*
 * The usual start of a test with a held page: a context and an IOAS in
 * h->fd and h->ioas_id, the held page, h->iova for it, and one page of
 * normal memory in *@mem.  0 or -1.
 */
static int held_setup(struct held_ioctl *h, char **mem)
{
	h->fd = open(IOMMU_DEV, O_RDWR);
	if (h->fd < 0 || ioas_alloc(h->fd, &h->ioas_id) ||
	    held_page_init(&h->hp))
		return -1;
	*mem = new_buffer(PSZ, 3);
	h->iova = iova_at(1);
	return *mem == MAP_FAILED ? -1 : 0;
}

/* IOMMU_IOAS_ALLOW_IOVAS, reading its array from the held page. */
static void *allow_iovas_held(void *arg)
{
	struct held_ioctl *h = arg;

	h->rc = rc_errno(ioas_allow_iovas(h->fd, h->ioas_id,
					  (void *)h->hp.page, 1));
	return NULL;
}

/* IOMMU_IOAS_MAP of the held page, which a domain makes it pin. */
static void *map_held(void *arg)
{
	struct held_ioctl *h = arg;

	h->rc = rc_errno(ioas_map_fixed(h->fd, h->ioas_id, h->hp.page, PSZ,
					h->iova));
	return NULL;
}

/*
 * IOMMU_DESTROY of an IOAS that another thread's ioctl is using fails with
 * EBUSY, and the IOAS stays usable meanwhile; once that ioctl is done the
 * destroy works.
 */
TEST(destroy_of_an_object_in_use_by_an_ioctl)
{
	struct iommu_iova_range got[4], *want;
	struct held_ioctl h = {};
	pthread_t thread;

	h.fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, h.fd);
	ASSERT_EQ(0, ioas_alloc(h.fd, &h.ioas_id));
	ASSERT_EQ(0, held_page_init(&h.hp));
	want = (struct iommu_iova_range *)h.hp.content;
	*want = (struct iommu_iova_range){ 1UL << 30, (2UL << 30) - 1 };

	ASSERT_EQ(0, pthread_create(&thread, NULL, allow_iovas_held, &h));
	ASSERT_EQ(0, held_page_wait(&h.hp));
	EXPECT_ERRNO(EBUSY, object_destroy(h.fd, h.ioas_id));
	EXPECT_LE(1, ioas_ranges(h.fd, h.ioas_id, got, 4, NULL));
	ASSERT_EQ(0, held_page_serve(&h.hp));
	ASSERT_EQ(0, pthread_join(thread, NULL));

	EXPECT_EQ(0, h.rc);
	ASSERT_EQ(1, ioas_ranges(h.fd, h.ioas_id, got, 4, NULL));
	EXPECT_EQ(want->start, got[0].start);
	EXPECT_EQ(want->last, got[0].last);
	EXPECT_EQ(0, object_destroy(h.fd, h.ioas_id));
	EXPECT_ERRNO(ENOENT, object_destroy(h.fd, h.ioas_id));
	held_page_fini(&h.hp);
	close(h.fd);
}

/*
 * An unmap that waits for an access to let go of a pin keeps the access
 * from pinning anew in the range meanwhile.  A map still under way in the
 * range (stopped at a held page while it pins) is not part of that unmap:
 * once done, the access can pin it.
 */
TEST(unmap_waiting_for_an_access_spares_a_map_under_way)
{
	struct held_ioctl h = {};
	__u32 stdev_id, item;
	pthread_t thread;
	__u64 unmapped = 0;
	int access_fd;
	char *mem;

	h.fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, h.fd);
	ASSERT_EQ(0, ioas_alloc(h.fd, &h.ioas_id));
	ASSERT_EQ(0, mock_domain(h.fd, h.ioas_id, &stdev_id, NULL, NULL));
	ASSERT_EQ(0, held_page_init(&h.hp));
	mem = new_buffer(PSZ, 3);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, ioas_map_fixed(h.fd, h.ioas_id, mem, PSZ, iova_at(0)));
	ASSERT_EQ(0, create_access(h.fd, h.ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &access_fd));
	ASSERT_EQ(0, access_pages(h.fd, access_fd, 0, iova_at(0), PSZ, mem,
				  &item));

	h.iova = iova_at(1);
	ASSERT_EQ(0, pthread_create(&thread, NULL, map_held, &h));
	ASSERT_EQ(0, held_page_wait(&h.hp));
	/* The access gives its pin back when asked; the map is not seen. */
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, iova_at(0),
				iova_at(2) - iova_at(0), &unmapped));
	EXPECT_EQ(PSZ, unmapped);
	EXPECT_ERRNO(ENOENT, destroy_access_pages(h.fd, access_fd, item));
	ASSERT_EQ(0, held_page_serve(&h.hp));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, h.rc);

	EXPECT_EQ(0, access_pages(h.fd, access_fd, 0, h.iova, PSZ, h.hp.page,
				  &item));
	EXPECT_EQ(0, destroy_access_pages(h.fd, access_fd, item));
	close(access_fd);
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, h.iova, PSZ, NULL));
	EXPECT_EQ(0, object_destroy(h.fd, stdev_id));
	held_page_fini(&h.hp);
	munmap(mem, PSZ);
	close(h.fd);
	EXPECT_EQ(0, pinned_vm_pages());
}

/* ACCESS_PAGES of the held page: with no domain the access pins it. */
static void *access_pin_held(void *arg)
{
	struct held_ioctl *h = arg;

	h->rc = rc_errno(access_pages(h->fd, h->access_fd, 0, h->iova,
				      h->len ?: PSZ, h->hp.page, NULL));
	return NULL;
}

/* ACCESS_RW reading the held page, straight from the user mapping. */
static void *access_read_held(void *arg)
{
	struct held_ioctl *h = arg;
	char tmp[64];

	h->rc = rc_errno(access_rw(h->fd, h->access_fd, h->iova, tmp,
				   sizeof(tmp), 0));
	if (!h->rc && memcmp(tmp, h->hp.content, sizeof(tmp)))
		h->rc = EIO;
	return NULL;
}

/* IOMMU_IOAS_IOVA_RANGES writing its answer into the held page. */
static void *iova_ranges_held(void *arg)
{
	struct held_ioctl *h = arg;
	int n = ioas_ranges(h->fd, h->ioas_id, (void *)h->hp.page, 4, NULL);

	h->rc = n < 0 ? -n : 0;
	return NULL;
}

/*
 * held_setup(), a second IOAS, the held page mapped at h->iova (without a
 * domain, so not pinned) and an access with @flags in h->access_fd.
 */
static int held_access_setup(struct held_ioctl *h, char **mem, __u32 *ioas2,
			     __u32 flags)
{
	return held_setup(h, mem) ?: ioas_alloc(h->fd, ioas2) ?:
	       ioas_map_fixed(h->fd, h->ioas_id, h->hp.page, PSZ, h->iova) ?:
	       create_access(h->fd, h->ioas_id, flags, &h->access_fd);
}

/*
 * What drivers do on an IOAS (attach and detach devices, make domains,
 * create and destroy accesses) and what other maps do must not wait for a
 * user's page fault: here a map stopped while it pins a page of a held
 * userfaultfd.  Once the page is served the map completes in every
 * domain, including the one that came and went meanwhile.
 */
TEST(driver_paths_pass_a_parked_map)
{
	__u32 stdev[3] = {}, hwpt[3] = {}, item = 0;
	struct held_ioctl h = {};
	pthread_t thread;
	int afd = -1;
	char *mem;

	h.fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, h.fd);
	ASSERT_EQ(0, ioas_alloc(h.fd, &h.ioas_id));
	ASSERT_EQ(0, attach_device(h.fd, h.ioas_id, false, &stdev[0],
				   &hwpt[0]));
	ASSERT_EQ(0, held_page_init(&h.hp));
	mem = new_buffer(PSZ, 3);
	ASSERT_NE(MAP_FAILED, mem);

	h.iova = iova_at(1);
	ASSERT_EQ(0, pthread_create(&thread, NULL, map_held, &h));
	ASSERT_EQ(0, held_page_wait(&h.hp));

	/* A device joining the domain, one with a domain of its own. */
	EXPECT_EQ(0, attach_device(h.fd, h.ioas_id, false, &stdev[1],
				   &hwpt[1]));
	EXPECT_EQ(hwpt[0], hwpt[1]);
	EXPECT_EQ(0, attach_device(h.fd, h.ioas_id, true, &stdev[2],
				   &hwpt[2]));
	EXPECT_NE(hwpt[0], hwpt[2]);
	/* Other maps and unmaps, and an access that pins and goes. */
	EXPECT_EQ(0, ioas_map_fixed(h.fd, h.ioas_id, mem, PSZ, iova_at(0)));
	EXPECT_EQ(0, create_access(h.fd, h.ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &afd));
	EXPECT_EQ(0, access_pages(h.fd, afd, 0, iova_at(0), PSZ, mem, &item));
	EXPECT_EQ(0, destroy_access_pages(h.fd, afd, item));
	EXPECT_EQ(0, close(afd));
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, iova_at(0), PSZ, NULL));
	/* Devices leaving, the last of its domain taking it along. */
	EXPECT_EQ(0, object_destroy(h.fd, stdev[2]));
	EXPECT_EQ(0, object_destroy(h.fd, stdev[1]));

	ASSERT_EQ(0, held_page_serve(&h.hp));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, h.rc);
	EXPECT_EQ(0, md_check_map(h.fd, hwpt[0], h.iova, PSZ, h.hp.page));
	EXPECT_EQ(0, md_check_refs(h.fd, h.hp.page, PSZ, 1));
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, h.iova, PSZ, NULL));
	EXPECT_EQ(0, object_destroy(h.fd, stdev[0]));
	EXPECT_EQ(0, md_check_refs(h.fd, h.hp.page, PSZ, 0));
	held_page_fini(&h.hp);
	munmap(mem, PSZ);
	close(h.fd);
}

/*
 * An access stopped while it pins a held page holds no lock: maps of the
 * same IOAS, other accesses, and moving that very access elsewhere all go
 * on.  The stopped pin then finds its access gone and pins nothing.
 */
TEST(driver_paths_pass_a_parked_access_pin)
{
	struct held_ioctl h = {};
	__u32 ioas2, item = 0;
	pthread_t thread;
	int afd2 = -1;
	char *mem;

	ASSERT_EQ(0, held_access_setup(&h, &mem, &ioas2,
				       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES));

	ASSERT_EQ(0, pthread_create(&thread, NULL, access_pin_held, &h));
	ASSERT_EQ(0, held_page_wait(&h.hp));

	EXPECT_EQ(0, ioas_map_fixed(h.fd, h.ioas_id, mem, PSZ, iova_at(0)));
	EXPECT_EQ(0, create_access(h.fd, h.ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &afd2));
	EXPECT_EQ(0, access_pages(h.fd, afd2, 0, iova_at(0), PSZ, mem,
				  &item));
	EXPECT_EQ(0, md_check_refs(h.fd, mem, PSZ, 1));
	EXPECT_EQ(0, destroy_access_pages(h.fd, afd2, item));
	EXPECT_EQ(0, close(afd2));
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, iova_at(0), PSZ, NULL));
	EXPECT_EQ(0, access_replace_ioas(h.fd, h.access_fd, ioas2));

	ASSERT_EQ(0, held_page_serve(&h.hp));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(ENOENT, h.rc);
	EXPECT_EQ(0, md_check_refs(h.fd, h.hp.page, PSZ, 0));
	EXPECT_EQ(0, close(h.access_fd));
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, h.iova, PSZ, NULL));
	held_page_fini(&h.hp);
	munmap(mem, PSZ);
	close(h.fd);
	EXPECT_EQ(0, pinned_vm_pages());
}

/*
 * ACCESS_RW copying from a held page (the direct path, in the caller's
 * own mm) holds no lock either: a map of the same IOAS and moving the
 * access go on.  The copy finishes on the IOAS it started on.
 */
TEST(driver_paths_pass_a_parked_access_read)
{
	struct held_ioctl h = {};
	pthread_t thread;
	__u32 ioas2;
	int afd2 = -1;
	char *mem;

	ASSERT_EQ(0, held_access_setup(&h, &mem, &ioas2, 0));

	ASSERT_EQ(0, pthread_create(&thread, NULL, access_read_held, &h));
	ASSERT_EQ(0, held_page_wait(&h.hp));

	EXPECT_EQ(0, ioas_map_fixed(h.fd, h.ioas_id, mem, PSZ, iova_at(0)));
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, iova_at(0), PSZ, NULL));
	EXPECT_EQ(0, create_access(h.fd, h.ioas_id, 0, &afd2));
	EXPECT_EQ(0, close(afd2));
	EXPECT_EQ(0, access_replace_ioas(h.fd, h.access_fd, ioas2));

	ASSERT_EQ(0, held_page_serve(&h.hp));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, h.rc);
	EXPECT_EQ(0, close(h.access_fd));
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, h.iova, PSZ, NULL));
	held_page_fini(&h.hp);
	munmap(mem, PSZ);
	close(h.fd);
}

/*
 * IOVA_RANGES stopped while it writes its answer to a held page holds no
 * lock: a device attaching (which reserves ranges) and a map go on.
 */
TEST(driver_paths_pass_a_parked_iova_ranges)
{
	struct held_ioctl h = {};
	pthread_t thread;
	__u32 stdev = 0;
	char *mem;

	h.fd = open(IOMMU_DEV, O_RDWR);
	ASSERT_LE(0, h.fd);
	ASSERT_EQ(0, ioas_alloc(h.fd, &h.ioas_id));
	ASSERT_EQ(0, held_page_init(&h.hp));
	mem = new_buffer(PSZ, 3);
	ASSERT_NE(MAP_FAILED, mem);

	ASSERT_EQ(0, pthread_create(&thread, NULL, iova_ranges_held, &h));
	ASSERT_EQ(0, held_page_wait(&h.hp));

	EXPECT_EQ(0, attach_device(h.fd, h.ioas_id, false, &stdev, NULL));
	EXPECT_EQ(0, ioas_map_fixed(h.fd, h.ioas_id, mem, PSZ, iova_at(0)));
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, iova_at(0), PSZ, NULL));
	EXPECT_EQ(0, object_destroy(h.fd, stdev));

	ASSERT_EQ(0, held_page_serve(&h.hp));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, h.rc);
	held_page_fini(&h.hp);
	munmap(mem, PSZ);
	close(h.fd);
}

#define FAIL_DIR "/sys/kernel/debug/fail_iommufd/"

/* fail_iommufd armed for the threads that ask for it (make-it-fail). */
static int faults_armed(bool on)
{
	if (!on)
		return write_file(FAIL_DIR "probability", "0") ?:
		       write_file(FAIL_DIR "task-filter", "N") ?:
		       write_file(FAIL_DIR "times", "1") ?:
		       write_file(FAIL_DIR "verbose", "2");
	return write_file(FAIL_DIR "verbose", "0") ?:
	       write_file(FAIL_DIR "interval", "1") ?:
	       write_file(FAIL_DIR "times", "-1") ?:
	       write_file(FAIL_DIR "task-filter", "Y") ?:
	       write_file(FAIL_DIR "probability", "100");
}

/*
 * An unmap on a thread of its own, which says when it returned; with
 * @faults the mock access ignores it (fault injection on that thread).
 */
struct held_unmap {
	int fd;
	__u32 ioas_id;
	__u64 iova;
	bool faults;
	int rc;
	bool done;
};

static void *unmap_thread(void *arg)
{
	struct held_unmap *u = arg;

	if (u->faults &&
	    write_file("/proc/thread-self/make-it-fail", "1")) {
		u->rc = -1;
		return NULL;
	}
	u->rc = rc_errno(ioas_unmap(u->fd, u->ioas_id, u->iova, PSZ, NULL));
	if (u->faults)
		write_file("/proc/thread-self/make-it-fail", "0");
	__atomic_store_n(&u->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Two unmaps of one range both wait for an access to let go: the first
 * stays stuck in the access's unmap op (the mock access is busy with a pin
 * stopped at a held page), the second is ignored by the access (fault
 * injection) and gives up with EBUSY.  Giving up lifts only its own
 * block: new pins of the range stay refused until the first unmap is
 * done, and it then succeeds.
 */
TEST(failed_unmap_keeps_the_other_unmaps_block)
{
	struct held_unmap u1 = {}, u2 = {};
	pthread_t pinner, t1, t2;
	struct held_ioctl h = {};
	unsigned int tries;
	__u32 item = 0;
	int afd2, rc;
	char *mem;

	ASSERT_EQ(0, held_setup(&h, &mem));
	ASSERT_EQ(0, ioas_map_fixed(h.fd, h.ioas_id, mem, PSZ, iova_at(0)));
	ASSERT_EQ(0, ioas_map_fixed(h.fd, h.ioas_id, h.hp.page, PSZ, h.iova));
	ASSERT_EQ(0, create_access(h.fd, h.ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &h.access_fd));
	ASSERT_EQ(0, create_access(h.fd, h.ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &afd2));
	ASSERT_EQ(0, access_pages(h.fd, h.access_fd, 0, iova_at(0), PSZ, mem,
				  NULL));

	/* The first access is busy: its pin waits for the held page. */
	ASSERT_EQ(0, pthread_create(&pinner, NULL, access_pin_held, &h));
	ASSERT_EQ(0, held_page_wait(&h.hp));

	u1 = (struct held_unmap){ .fd = h.fd, .ioas_id = h.ioas_id,
				  .iova = iova_at(0) };
	ASSERT_EQ(0, pthread_create(&t1, NULL, unmap_thread, &u1));
	/* Once the first unmap waits for the access, pins there are refused. */
	for (tries = 0; tries != 500; tries++) {
		rc = access_pages(h.fd, afd2, 0, iova_at(0), PSZ, mem, &item);
		if (rc)
			break;
		EXPECT_EQ(0, destroy_access_pages(h.fd, afd2, item));
		usleep(10000);
	}
	EXPECT_EQ(-1, rc);
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, faults_armed(true));
	u2 = (struct held_unmap){ .fd = h.fd, .ioas_id = h.ioas_id,
				  .iova = iova_at(0), .faults = true };
	ASSERT_EQ(0, pthread_create(&t2, NULL, unmap_thread, &u2));
	ASSERT_EQ(0, pthread_join(t2, NULL));
	EXPECT_EQ(0, faults_armed(false));
	EXPECT_EQ(EBUSY, u2.rc);
	/* The first unmap still waits: still no new pins. */
	EXPECT_ERRNO(EINVAL, access_pages(h.fd, afd2, 0, iova_at(0), PSZ, mem,
					  NULL));

	ASSERT_EQ(0, held_page_serve(&h.hp));
	ASSERT_EQ(0, pthread_join(pinner, NULL));
	ASSERT_EQ(0, pthread_join(t1, NULL));
	EXPECT_EQ(0, h.rc);
	EXPECT_EQ(0, u1.rc);
	EXPECT_EQ(0, md_check_refs(h.fd, mem, PSZ, 0));
	EXPECT_EQ(0, close(afd2));
	EXPECT_EQ(0, close(h.access_fd));
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, h.iova, PSZ, NULL));
	held_page_fini(&h.hp);
	munmap(mem, PSZ);
	close(h.fd);
	EXPECT_EQ(0, pinned_vm_pages());
}

/*
 * Two pages of memory, the first held, mapped together in a second IOAS
 * at iova_at(8); a context and an IOAS in @h.  0 or -1.
 */
static int held_pair_setup(struct held_ioctl *h, __u32 *ioas2, char **two)
{
	h->fd = open(IOMMU_DEV, O_RDWR);
	if (h->fd < 0 || ioas_alloc(h->fd, &h->ioas_id) ||
	    ioas_alloc(h->fd, ioas2))
		return -1;
	*two = mmap(NULL, 2 * PSZ, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*two == MAP_FAILED)
		return -1;
	memset(*two + PSZ, 0x5a, PSZ);
	return held_page_init_at(&h->hp, *two) ?:
	       ioas_map_fixed(h->fd, *ioas2, *two, 2 * PSZ, iova_at(8));
}

static void held_pair_fini(struct held_ioctl *h, char *two)
{
	close(h->fd);
	close(h->hp.uffd);
	munmap(h->hp.content, PSZ);
	munmap(two, 2 * PSZ);
}

/*
 * A pin stopped while it pins (a held page) commits only if the IOVA still
 * maps the pages it pinned.  Here the mapping it started on is unmapped and
 * the same memory mapped again at the same IOVA, but one page further on
 * (a COPY, which reuses the memory): the pin fails with ENOENT, pins
 * nothing, and the access can pin the new mapping afresh.
 */
TEST(pin_does_not_commit_onto_a_new_mapping)
{
	__u64 iova = iova_at(0), src = iova_at(8);
	struct held_ioctl h = {};
	__u32 ioas2, item = 0;
	pthread_t thread;
	char *two;

	ASSERT_EQ(0, held_pair_setup(&h, &ioas2, &two));
	/* Page 0 of the pair copied to iova. */
	ASSERT_EQ(0, ioas_copy(h.fd, h.ioas_id, &iova, ioas2, src, PSZ,
			       MAP_FIXED_RW));
	ASSERT_EQ(0, create_access(h.fd, h.ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &h.access_fd));
	h.iova = iova;
	ASSERT_EQ(0, pthread_create(&thread, NULL, access_pin_held, &h));
	ASSERT_EQ(0, held_page_wait(&h.hp));

	/* Nothing is committed yet, so the unmap does not wait. */
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, iova, PSZ, NULL));
	EXPECT_EQ(0, ioas_copy(h.fd, h.ioas_id, &iova, ioas2, src + PSZ, PSZ,
			       MAP_FIXED_RW));

	ASSERT_EQ(0, held_page_serve(&h.hp));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(ENOENT, h.rc);
	EXPECT_EQ(0, md_check_refs(h.fd, two, 2 * PSZ, 0));
	EXPECT_EQ(0, access_pages(h.fd, h.access_fd, 0, iova, PSZ, two + PSZ,
				  &item));
	EXPECT_EQ(0, md_check_refs(h.fd, two + PSZ, PSZ, 1));
	EXPECT_EQ(0, destroy_access_pages(h.fd, h.access_fd, item));
	EXPECT_EQ(0, close(h.access_fd));
	EXPECT_EQ(0, md_check_refs(h.fd, two, 2 * PSZ, 0));
	held_pair_fini(&h, two);
}

/*
 * The same, when the memory comes back as one mapping where the pin saw
 * two: pins and unpins go area by area, so the pin must fail (ENOENT) and
 * leave nothing pinned; the new mapping unmaps without waiting.
 */
TEST(pin_does_not_commit_across_new_area_boundaries)
{
	__u64 iova = iova_at(0), src = iova_at(8), at;
	struct held_ioctl h = {};
	pthread_t thread;
	__u64 unmapped = 0;
	__u32 ioas2;
	char *two;

	ASSERT_EQ(0, held_pair_setup(&h, &ioas2, &two));
	/* Two areas, a page each. */
	at = iova;
	ASSERT_EQ(0, ioas_copy(h.fd, h.ioas_id, &at, ioas2, src, PSZ,
			       MAP_FIXED_RW));
	at = iova + PSZ;
	ASSERT_EQ(0, ioas_copy(h.fd, h.ioas_id, &at, ioas2, src + PSZ, PSZ,
			       MAP_FIXED_RW));
	ASSERT_EQ(0, create_access(h.fd, h.ioas_id,
				   MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
				   &h.access_fd));
	h.iova = iova;
	h.len = 2 * PSZ;
	ASSERT_EQ(0, pthread_create(&thread, NULL, access_pin_held, &h));
	ASSERT_EQ(0, held_page_wait(&h.hp));

	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, iova, 2 * PSZ, &unmapped));
	EXPECT_EQ(2 * PSZ, unmapped);
	/* One area over the same pages. */
	at = iova;
	EXPECT_EQ(0, ioas_copy(h.fd, h.ioas_id, &at, ioas2, src, 2 * PSZ,
			       MAP_FIXED_RW));

	ASSERT_EQ(0, held_page_serve(&h.hp));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(ENOENT, h.rc);
	EXPECT_EQ(0, md_check_refs(h.fd, two, 2 * PSZ, 0));
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, iova, 2 * PSZ, &unmapped));
	EXPECT_EQ(2 * PSZ, unmapped);
	EXPECT_EQ(0, close(h.access_fd));
	held_pair_fini(&h, two);
}

/*
 * An unmap does not return while an access still copies through the range
 * (here a copy stopped at a held page): after the unmap, no access may
 * touch the memory.  It holds no lock while it waits: other maps go on.
 */
TEST(unmap_waits_for_a_copy_in_flight)
{
	struct held_unmap u = {};
	struct held_ioctl h = {};
	pthread_t reader, unmapper;
	char *mem;

	ASSERT_EQ(0, held_setup(&h, &mem));
	ASSERT_EQ(0, ioas_map_fixed(h.fd, h.ioas_id, h.hp.page, PSZ, h.iova));
	ASSERT_EQ(0, create_access(h.fd, h.ioas_id, 0, &h.access_fd));
	ASSERT_EQ(0, pthread_create(&reader, NULL, access_read_held, &h));
	ASSERT_EQ(0, held_page_wait(&h.hp));

	u = (struct held_unmap){ .fd = h.fd, .ioas_id = h.ioas_id,
				 .iova = h.iova };
	ASSERT_EQ(0, pthread_create(&unmapper, NULL, unmap_thread, &u));
	EXPECT_EQ(0, ioas_map_fixed(h.fd, h.ioas_id, mem, PSZ, iova_at(0)));
	EXPECT_EQ(0, ioas_unmap(h.fd, h.ioas_id, iova_at(0), PSZ, NULL));
	usleep(200000);
	EXPECT_FALSE(__atomic_load_n(&u.done, __ATOMIC_ACQUIRE));

	ASSERT_EQ(0, held_page_serve(&h.hp));
	ASSERT_EQ(0, pthread_join(reader, NULL));
	ASSERT_EQ(0, pthread_join(unmapper, NULL));
	EXPECT_EQ(0, h.rc);
	EXPECT_EQ(0, u.rc);
	EXPECT_ERRNO(ENOENT, ioas_unmap(h.fd, h.ioas_id, h.iova, PSZ, NULL));
	EXPECT_EQ(0, close(h.access_fd));
	held_page_fini(&h.hp);
	munmap(mem, PSZ);
	close(h.fd);
}

/*
 * Build up objects in the shared context: per round an IOAS with a map of
 * the next slice of the worker, one domain (two in odd rounds), and a copy
 * into the fixture's IOAS.  With w->use_access, the first round adds an access pinning half
 * of its slice.
 */
static void *build_up(void *arg)
{
	struct worker *w = arg;
	unsigned int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i != w->iters; i++) {
		char *mem = w->mem + i * SLICE;
		__u64 iova = w->iova + i * 0x100000;
		__u32 ioas_id, item;

		if (!check(&w->res, ioas_alloc(w->fd, &ioas_id), "alloc", i) ||
		    !check(&w->res, ioas_map_fixed(w->fd, ioas_id, mem, SLICE,
						   iova),
			   "map", i) ||
		    !check(&w->res, attach_device(w->fd, ioas_id, false, NULL,
						  NULL),
			   "mock_domain", i) ||
		    (i % 2 && !check(&w->res, attach_device(w->fd, ioas_id,
							    true, NULL, NULL),
				     "mock_domain huge", i)) ||
		    !check(&w->res, ioas_copy(w->fd, w->ioas_id, &iova, ioas_id,
					      iova, SLICE, MAP_FIXED_RW),
			   "copy", i))
			break;
		if (!w->use_access || w->access_fd >= 0)
			continue;
		if (!check(&w->res, create_access(w->fd, ioas_id,
						  MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
						  &w->access_fd),
			   "create_access", i) ||
		    !check(&w->res, access_pages(w->fd, w->access_fd, 0, iova,
						 SLICE / 2, mem, &item),
			   "access_pages", i))
			break;
	}
	return NULL;
}

/*
 * Close the context after the threads built everything up.  The accesses
 * keep the context alive until they are closed as well.
 */
static void close_after_join(struct __test_metadata *_metadata,
			     FIXTURE_DATA(conc) * self, unsigned int ndomains,
			     bool accesses)
{
	void *(*fn[NTHREADS])(void *);
	unsigned int i, cycle, cycles = iters(10), rounds = 3;
	long pinned = NTHREADS * rounds * SLICE_PAGES;
	int fd2;

	for (cycle = 0; cycle != cycles; cycle++) {
		for (i = 0; i != NTHREADS; i++) {
			self->w[i].mem = slice(self, i * rounds);
			self->w[i].iova = iova_at(i * rounds);
			self->w[i].iters = rounds;
			self->w[i].use_access = accesses;
			fn[i] = build_up;
		}
		ASSERT_EQ(0, run_workers(self->w, NTHREADS, &self->start, fn));
		for (i = 0; i != NTHREADS; i++)
			EXPECT_NO_FAILURE(&self->w[i].res, "builder");
		EXPECT_EQ(pinned, pinned_vm_pages());
		EXPECT_EQ(0, md_check_refs(self->fd, self->buf,
					   NTHREADS * rounds * SLICE, 1));

		fd2 = open(IOMMU_DEV, O_RDWR);
		ASSERT_LE(0, fd2);
		close(self->fd);
		if (accesses) {
			EXPECT_EQ(pinned, pinned_vm_pages());
			EXPECT_EQ(0, md_check_refs(fd2, self->buf,
						   NTHREADS * rounds * SLICE,
						   1));
			for (i = 0; i != NTHREADS; i++)
				close(self->w[i].access_fd);
		}
		EXPECT_EQ(0, pinned_vm_pages());
		EXPECT_EQ(0, md_check_refs(fd2, self->buf,
					   NTHREADS * rounds * SLICE, 0));
		close(fd2);
		open_context(_metadata, self, ndomains);
		if (_metadata->exit_code)
			break;
	}
}

TEST_F(conc, close_after_join)
{
	close_after_join(_metadata, self, variant->ndomains, false);
}

TEST_F(conc, close_after_join_with_accesses)
{
	close_after_join(_metadata, self, variant->ndomains, true);
}

TEST_HARNESS_MAIN
