#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# test.sh: the edit-run loop.  Build the normal kernel and the selftests,
# boot, run the tests, judge the logs; no lint, no debug kernel.  ONLY and
# ARGS (see initramfs.sh) pick one program and its kselftest options, e.g.
# ONLY=iommufd-access ARGS="-r mock_access.no_domain.pin_errors".
# The last line is "N passed, N failed, N skipped".
set -uo pipefail
. "$(dirname "$0")/lib.sh"

t_start=$SECONDS
"$REPO/scripts/deps.sh" || die "cannot install dependencies"
lock_cache
mkdir -p "$LOGS"
say "normal kernel only${ONLY:+, ONLY=$ONLY}${ARGS:+, ARGS=$ARGS}"
if build "build normal kernel" "$REPO/scripts/kernel.sh" normal &&
   build "build selftests" "$REPO/scripts/selftests.sh"; then
	vm_run normal
fi
report $t_start
