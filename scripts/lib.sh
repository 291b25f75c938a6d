# SPDX-License-Identifier: GPL-2.0-only
# Shared settings for the harness scripts: where things live and how to log.
# Sourced, never run.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$REPO/.cache
KSRC=$CACHE/linux
# Overridable, so that several runs can share one checkout.
LOGS=${LOGS:-$REPO/logs}
SELFTESTS_OUT=${SELFTESTS_OUT:-$CACHE/selftests}
TARBALL=/usr/src/linux-source-6.12.tar.xz
JOBS=$(($(nproc) + 1))
export CCACHE_DIR=$CACHE/ccache

# The files of the package's subsystem we replace; nothing else of the
# package is touched.
PKG_DIR=drivers/iommu/iommufd
PKG_HEADERS="include/linux/iommufd.h include/uapi/linux/iommufd.h"

say() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$(basename "$0" .sh)" "$*" >&2; exit 1; }

# timed LABEL CMD...: run CMD, then report how long it took.
timed() {
	local label=$1 t0=$SECONDS rc=0
	shift
	"$@" || rc=$?
	say "$label: $((SECONDS - t0)) s"
	return $rc
}
