#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lint.sh: checkpatch --strict over our sources, then our directory built
# with sparse (C=2) and W=1.  Any error, warning or check fails, and so does
# checkpatch, sparse or make exiting non-zero (sparse missing, a build
# error), or sparse checking no file at all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$REPO"
lock_cache
"$REPO/scripts/tree.sh" >/dev/null
files=$(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^\.cache/')
rc=0

t0=$SECONDS
# shellcheck disable=SC2086
if must_be_clean . "$KSRC/scripts/checkpatch.pl" --strict --no-tree --quiet --no-summary \
	--show-types --ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $files; then
	say "checkpatch --strict: $(echo $files | wc -w) files clean ($((SECONDS - t0)) s)"
else
	say "checkpatch: FAILED"
	rc=1
fi

t0=$SECONDS
build=$CACHE/build/normal
[ -f "$build/.config" ] || "$REPO/scripts/kernel.sh" normal >/dev/null
log=$CACHE/lint-sparse.log
sparse_build() {
	make -C "$KSRC" O="$build" -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc" \
		C=2 W=1 drivers/iommu/iommufd/ 2>&1 | tee "$log"
}
if ! must_be_clean 'warning:|error:' sparse_build; then
	say "sparse/W=1: FAILED (full output: $log)"
	rc=1
elif ! checked=$(grep -c '^  CHECK ' "$log"); then
	say "sparse/W=1: FAILED: sparse checked no file (see $log)"
	rc=1
else
	say "sparse (C=2) and W=1: $checked files checked, clean ($((SECONDS - t0)) s)"
fi
exit $rc
