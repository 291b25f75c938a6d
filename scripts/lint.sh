#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lint.sh: checkpatch --strict over our sources, then our directory built
# with sparse (C=2) and W=1.  Any error, warning or check fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cd "$REPO"
"$REPO/scripts/tree.sh" >/dev/null
files=$(git ls-files -co --exclude-standard -- '*.c' '*.h' | grep -v '^\.cache/')
rc=0

t0=$SECONDS
out=$("$KSRC/scripts/checkpatch.pl" --strict --no-tree --quiet --no-summary \
	--show-types --ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $files 2>&1) || true
if [ -n "$out" ]; then
	echo "$out"
	say "checkpatch: FAILED"
	rc=1
else
	say "checkpatch --strict: $(echo $files | wc -w) files clean ($((SECONDS - t0)) s)"
fi

t0=$SECONDS
build=$CACHE/build/normal
[ -f "$build/.config" ] || "$REPO/scripts/kernel.sh" normal >/dev/null
out=$(make -C "$KSRC" O="$build" -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc" \
	C=2 W=1 drivers/iommu/iommufd/ 2>&1 | grep -E 'warning:|error:' || true)
if [ -n "$out" ]; then
	echo "$out"
	say "sparse/W=1: FAILED"
	rc=1
else
	say "sparse (C=2) and W=1: clean ($((SECONDS - t0)) s)"
fi
exit $rc
