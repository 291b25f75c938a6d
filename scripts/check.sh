#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# check.sh: everything CI checks.  Lint, then for the normal and the debug
# kernel: build, boot, run the selftests, judge the logs.  The last line is
# "N passed, N failed", summed over both kernels (lint counts as one check).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

t_start=$SECONDS
"$REPO/scripts/deps.sh" || die "cannot install dependencies"
rm -rf "$LOGS"
mkdir -p "$LOGS"
passed=0
failed=0

if "$REPO/scripts/kernel.sh" normal && "$REPO/scripts/selftests.sh"; then
	if "$REPO/scripts/lint.sh"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
	for flavour in normal debug; do
		if [ $flavour = debug ] && ! "$REPO/scripts/kernel.sh" debug; then
			failed=$((failed + 1))
			continue
		fi
		"$REPO/scripts/boot.sh" $flavour check
		"$REPO/scripts/parse.sh" $flavour
		read -r p f < "$LOGS/$flavour.result"
		passed=$((passed + p))
		failed=$((failed + f))
	done
else
	say "build FAILED"
	failed=$((failed + 1))
fi

say "total time: $((SECONDS - t_start)) s; logs in $LOGS"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
