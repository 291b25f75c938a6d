#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# run.sh: build the normal kernel and the test programs, boot them and show
# the /dev/iommu demo.  With a terminal on stdin you then get a shell in the
# VM; otherwise the VM powers off after the demo.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$REPO/scripts/deps.sh"
"$REPO/scripts/kernel.sh" normal
"$REPO/scripts/selftests.sh"
if [ -t 0 ]; then
	exec "$REPO/scripts/boot.sh" normal shell
fi
exec "$REPO/scripts/boot.sh" normal demo
