#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# run.sh [FLAVOUR]: build the FLAVOUR kernel (normal, or debug) and the test
# programs, boot them and show the /dev/iommu demo.  With a terminal on
# stdin you then get a shell in the VM (Ctrl-A X quits QEMU); otherwise the
# VM powers off after the demo.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:-normal}
flavour_frags "$flavour" >/dev/null
"$REPO/scripts/deps.sh"
lock_cache
"$REPO/scripts/kernel.sh" "$flavour"
[ "$flavour" = normal ] || "$REPO/scripts/kernel.sh" normal
"$REPO/scripts/selftests.sh"
if [ -t 0 ]; then
	exec "$REPO/scripts/boot.sh" "$flavour" shell
fi
exec "$REPO/scripts/boot.sh" "$flavour" demo
