#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# check.sh: everything CI checks, in this order: the harness's own
# self-test (no VM), the normal kernel and the selftests built, lint, the
# tests on the normal kernel, then the debug kernel built and the tests on
# it.  Each flavour's logs are judged by parse.sh.  The last line is
# "N passed, N failed, N skipped", summed over everything (the self-test
# and lint count as one check each).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

t_start=$SECONDS
"$REPO/scripts/deps.sh" || die "cannot install dependencies"
lock_cache
if [ -n "${ONLY:-}${ARGS:-}" ]; then
	say "ignoring ONLY/ARGS: make check runs everything (make test takes them)"
	unset ONLY ARGS
fi
fresh_dir "$LOGS"

step "harness self-test" "$REPO/scripts/selftest-harness.sh"
if build "build normal kernel" "$REPO/scripts/kernel.sh" normal &&
   build "build selftests" "$REPO/scripts/selftests.sh"; then
	step "lint" "$REPO/scripts/lint.sh"
	vm_run normal
	build "build debug kernel" "$REPO/scripts/kernel.sh" debug && vm_run debug
fi
report $t_start
