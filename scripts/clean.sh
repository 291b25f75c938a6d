#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# clean.sh [all]: delete the builds and the logs; "all" deletes the whole
# .cache too (unpacked kernel, ccache).  Waits for a run that holds the lock.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

lock_cache
if [ "${1:-}" = all ]; then
	say "deleting $CACHE and $LOGS"
	safe_rm "$LOGS" "$CACHE"
else
	say "deleting $CACHE/build, $SELFTESTS_OUT, $CACHE/headers and $LOGS"
	safe_rm "$LOGS" "$CACHE/build" "$SELFTESTS_OUT" "$CACHE/headers"
fi
