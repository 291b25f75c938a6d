// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The smoke run of make bench's workloads (bench.h) in make check: every
 * group at tiny sizes (bench_tiny), so that none rots.  No timing is
 * judged: a group must succeed and print its rows, each with a value (or
 * n/a and why).  The device-attached groups need edu behind VT-d, the
 * machine make bench uses: under the other IOMMUs they skip.
 */
#include "bench.h"

FIXTURE(bench) {
	int unused;
};

FIXTURE_VARIANT(bench) {
	const char *group;
};

FIXTURE_SETUP(bench)
{
	bench_prefix = "# ";
}

FIXTURE_TEARDOWN(bench)
{
}

FIXTURE_VARIANT_ADD(bench, access) {
	.group = "access",
};

FIXTURE_VARIANT_ADD(bench, nodomain) {
	.group = "nodomain",
};

FIXTURE_VARIANT_ADD(bench, gup) {
	.group = "gup",
};

FIXTURE_VARIANT_ADD(bench, map) {
	.group = "map",
};

FIXTURE_VARIANT_ADD(bench, twodom) {
	.group = "twodom",
};

FIXTURE_VARIANT_ADD(bench, pairs) {
	.group = "pairs",
};

FIXTURE_VARIANT_ADD(bench, areas) {
	.group = "areas",
};

FIXTURE_VARIANT_ADD(bench, levels) {
	.group = "levels",
};

FIXTURE_VARIANT_ADD(bench, threads) {
	.group = "threads",
};

TEST_F(bench, runs)
{
	const struct bench_group *g = NULL;
	unsigned int i, before = bench_lines;

	for (i = 0; i < ARRAY_SIZE(bench_groups); i++)
		if (!strcmp(bench_groups[i].name, variant->group))
			g = &bench_groups[i];
	ASSERT_NE(NULL, g);
	if (g->needs_dev && vm_iommu() != VIOMMU_INTEL)
		SKIP(return, "make bench's device rows run under intel only");
	ASSERT_EQ(0, g->fn(&bench_tiny));
	EXPECT_LT(before, bench_lines);
}

TEST_HARNESS_MAIN
