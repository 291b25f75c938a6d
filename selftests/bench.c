// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (c) 2026 The iommufd authors
 *
 * The benchmark of "make bench" (scripts/bench.sh), run inside the VM on
 * each kernel: the workloads of bench.h, one "BENCH <name> <value> <unit>
 * <higher|lower>" line per figure.  Not a kselftest: it prints figures and
 * exits non-zero if a workload failed.
 *
 *	bench [-t] [-s MIB] [-g GROUP,...]
 *
 * -t runs the tiny sizes of the smoke run instead of the full ones
 * (512 MiB buffers, 8,000 areas, 1k/10k/100k existing areas), -s sets the
 * size of the big buffers, -g runs only the named groups.
 */
#include <getopt.h>
#include <sys/resource.h>
#include <sys/utsname.h>

/*
 * bench.h reuses the selftests' helpers, which come with the kselftest
 * harness; this program has no tests, so its runner goes unused.
 */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "bench.h"

static bool wanted(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	if (!list)
		return true;
	for (p = list; (p = strstr(p, name)); p += len)
		if ((p == list || p[-1] == ',') && (!p[len] || p[len] == ','))
			return true;
	return false;
}

/* One group in a child process: what it leaves behind on failure goes. */
static int run_group(const struct bench_group *g, const struct bench_cfg *cfg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid)
		_exit(g->fn(cfg) ? 1 : 0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	struct bench_cfg cfg = bench_full;
	const char *groups = NULL;
	struct utsname uts;
	unsigned int i;
	int opt, failed = 0;
	__u64 t0;

	while ((opt = getopt(argc, argv, "ts:g:")) != -1) {
		switch (opt) {
		case 't':
			cfg = bench_tiny;
			break;
		case 's':
			cfg.size = strtoul(optarg, NULL, 0) * MIB;
			break;
		case 'g':
			groups = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-t] [-s MIB] [-g GROUP,...]\n",
				argv[0]);
			return 2;
		}
	}
	if (!cfg.size || cfg.size % HPAGE) {
		fprintf(stderr, "bench: -s must be a multiple of 2 (MiB)\n");
		return 2;
	}
	setrlimit(RLIMIT_MEMLOCK, &unlimited);
	uname(&uts);
	printf("BENCH-INFO kernel=%s container=%s size=%zuMiB piece=%zuMiB",
	       uts.release, bench_type1() ? "type1" : "iommufd",
	       cfg.size / MIB, cfg.piece / MIB);
	printf(" areas=%u levels=%u,%u,%u pairs=%u probes=%u\n", cfg.areas,
	       cfg.levels[0], cfg.levels[1], cfg.levels[2], cfg.pairs,
	       cfg.probes);
	for (i = 0; i < ARRAY_SIZE(bench_groups); i++) {
		if (!wanted(groups, bench_groups[i].name))
			continue;
		t0 = now_ns();
		if (run_group(&bench_groups[i], &cfg)) {
			printf("BENCH-ERROR group %s failed\n", bench_groups[i].name);
			failed++;
		}
		printf("BENCH-TIME %s %.1f s\n", bench_groups[i].name,
		       (now_ns() - t0) / 1e9);
		fflush(stdout);
	}
	printf("BENCH-END %d groups failed\n", failed);
	return failed ? 1 : 0;
}
