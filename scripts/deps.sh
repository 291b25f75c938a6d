#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages the harness needs, only those that are
# missing, without recommends; then check that every command the harness
# runs is there (a package's recommends are not: rsync, which the kernel's
# headers_install runs, is only recommended by linux-source-6.12, and the
# arm64 C library only by gcc-aarch64-linux-gnu).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS="linux-source-6.12 qemu-system-x86 build-essential bc bison flex
      libelf-dev libssl-dev cpio xz-utils busybox-static ccache sparse perl rsync
      qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
# command:package for every command the scripts and the kernel build run.
CMDS="gcc:build-essential make:build-essential bc:bc bison:bison flex:flex
      cpio:cpio xz:xz-utils ccache:ccache sparse:sparse perl:perl rsync:rsync
      qemu-system-x86_64:qemu-system-x86 flock:util-linux timeout:coreutils
      qemu-system-aarch64:qemu-system-arm aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu"

# shellcheck disable=SC2086 # one word per package
install_missing $PKGS

for c in $CMDS; do
	command -v "${c%%:*}" >/dev/null || die "command ${c%%:*} missing (package ${c#*:})"
done
[ -x /bin/busybox ] || die "/bin/busybox missing (package busybox-static)"
# Only recommended by the cross compiler: the static test programs need it.
[ -f /usr/aarch64-linux-gnu/lib/libc.a ] ||
	die "/usr/aarch64-linux-gnu/lib/libc.a missing (package libc6-dev-arm64-cross)"
[ -f "$TARBALL" ] || die "$TARBALL missing (package $PKG)"
