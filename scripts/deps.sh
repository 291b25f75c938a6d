#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages the harness needs, only those that are missing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS="linux-source-6.12 qemu-system-x86 build-essential bc bison flex
      libelf-dev libssl-dev cpio xz-utils busybox-static ccache sparse perl rsync"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

say "installing:$missing"
[ "$(id -u)" = 0 ] || die "need root to apt-get install:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
