# SPDX-License-Identifier: GPL-2.0-only
# The settings are used by the scripts that source this file.
# shellcheck shell=bash disable=SC2034
# Shared settings and helpers of the harness scripts: where things live, how
# to log, the cache lock, careful deletion, and the tally of a run.
# Sourced, never run.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
CACHE=$REPO/.cache
# The kernel tree with our iommufd in place of the package's (tree.sh), and
# the package's tree untouched, its own iommufd included (tree.sh upstream).
KSRC=$CACHE/linux
KSRC_UPSTREAM=$CACHE/linux-upstream
# Overridable, so that several runs can share one checkout.
LOGS=${LOGS:-$REPO/logs}
SELFTESTS_OUT=${SELFTESTS_OUT:-$CACHE/selftests}
TARBALL=/usr/src/linux-source-6.12.tar.xz
# QEMU 10 from bookworm-backports, unpacked by qemu10.sh (root/ is its
# filesystem), and the firmware files below root/ that vmm.sh needs.
QEMU10=$CACHE/qemu10
QEMU10_FIRMWARE="usr/share/seabios/bios-256k.bin usr/share/qemu/kvmvapic.bin
	usr/share/qemu/linuxboot_dma.bin"
JOBS=$(($(nproc) + 1))
# Paths below the checkout are hashed relative to it, so that another
# checkout (a git worktree) pointing HARNESS_CCACHE_DIR at this cache hits.
export CCACHE_DIR=${HARNESS_CCACHE_DIR:-$CACHE/ccache}
export CCACHE_BASEDIR=$REPO CCACHE_NOHASHDIR=true

# The files of the package's subsystem we replace; nothing else of the
# package is touched.
PKG=linux-source-6.12
PKG_DIR=drivers/iommu/iommufd
PKG_HEADERS="include/linux/iommufd.h include/uapi/linux/iommufd.h"

say() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$(basename "$0" .sh)" "$*" >&2; exit 1; }

# install_missing PKG...: apt-get install (without recommends) those of the
# Debian packages PKG that are not installed.
install_missing() {
	local p missing=
	for p in "$@"; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
			missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	say "installing:$missing"
	[ "$(id -u)" = 0 ] || die "need root to apt-get install:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086 # one word per package
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# timed LABEL CMD...: run CMD, then report how long it took.
timed() {
	local label=$1 t0=$SECONDS rc=0
	shift
	"$@" || rc=$?
	say "$label: $((SECONDS - t0)) s"
	return $rc
}

# The kernel flavours: "normal" and "debug" (x86_64, the debug one with
# the checkers of config/debug.config), "type1" (x86_64 with VFIO's own
# container and type1 IOMMU driver instead of iommufd's: config/type1.config;
# make type1, not part of make check) and "arm64" (cross-built, normal
# config), all with our iommufd; "upstream", the normal x86_64 config built
# from the package's unmodified tree with its own iommufd (to compare
# against); "l2", the tiny x86_64 guest that vmm.sh runs inside the test VM
# (config/l2.config, no iommufd).  flavour_arch FLAVOUR: x86 or arm64.
FLAVOURS="normal, debug, type1, arm64, upstream or l2"
flavour_arch() {
	case "$1" in
	normal | debug | type1 | upstream | l2) echo x86 ;;
	arm64) echo arm64 ;;
	*) die "unknown flavour '$1' ($FLAVOURS)" ;;
	esac
}

# flavour_frags FLAVOUR: the config fragments of a kernel flavour.
flavour_frags() {
	local c=$REPO/config
	case "$1" in
	normal | upstream) echo "$c/base.config $c/x86.config" ;;
	debug) echo "$c/base.config $c/x86.config $c/debug.config" ;;
	type1) echo "$c/base.config $c/x86.config $c/type1.config" ;;
	arm64) echo "$c/base.config $c/arm64.config" ;;
	l2) echo "$c/l2.config" ;;
	*) die "unknown flavour '$1' ($FLAVOURS)" ;;
	esac
}

# flavour_tree FLAVOUR: the kernel tree it is built from, "ours" or
# "upstream" (the argument of tree.sh); tree_src TREE: its path.
flavour_tree() {
	flavour_arch "$1" > /dev/null || return 1
	if [ "$1" = upstream ]; then echo upstream; else echo ours; fi
}
tree_src() {
	case "$1" in
	ours) echo "$KSRC" ;;
	upstream) echo "$KSRC_UPSTREAM" ;;
	*) die "unknown kernel tree '$1' (ours or upstream)" ;;
	esac
}

# kbuild_vars ARCH: set KBUILD_VARS, the make variables of a kernel build
# for ARCH (cross-compiling for arm64), and KERNEL_IMAGE, the image's path
# in the build directory.
kbuild_vars() {
	case "$1" in
	x86)
		KBUILD_VARS=(CC="ccache gcc" HOSTCC="ccache gcc")
		KERNEL_IMAGE=arch/x86/boot/bzImage
		;;
	arm64)
		KBUILD_VARS=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
			CC="ccache aarch64-linux-gnu-gcc" HOSTCC="ccache gcc")
		KERNEL_IMAGE=arch/arm64/boot/Image
		;;
	*) die "unknown arch '$1' (x86 or arm64)" ;;
	esac
}

# arch_iommus ARCH: the IOMMUs a VM of ARCH can have (see boot.sh); the
# first is the default.
arch_iommus() {
	case "$1" in
	x86) echo "intel amd virtio" ;;
	arm64) echo "smmuv3" ;;
	*) die "unknown arch '$1' (x86 or arm64)" ;;
	esac
}

# flavour_iommu FLAVOUR [IOMMU]: IOMMU, or the flavour's default one; dies
# if the flavour's machine cannot have it.
flavour_iommu() {
	local all
	all=$(arch_iommus "$(flavour_arch "$1")") || return 1
	if [ -z "${2:-}" ]; then
		echo "${all%% *}"
		return
	fi
	[[ " $all " = *" $2 "* ]] || die "the $1 kernel's VM has no IOMMU '$2' (one of: $all)"
	echo "$2"
}

# vm_machine IOMMU: the test VM of the IOMMU matrix (see boot.sh), shared
# by every script that boots one.  Sets VM_QEMU, the QEMU command (machine,
# IOMMU, TCG, 2 vCPUs, 4 GiB, -cpu max, no NIC, no reboot), and VM_APPEND,
# the kernel command line it needs: its console, every device translated
# (no identity domain), a panic ends the VM, soft lockups after 2 * 20 s
# (see config/base.config).
# QEMU options are comma-separated lists, not array elements.
# shellcheck disable=SC2054
vm_machine() {
	case "$1" in
	intel)
		VM_QEMU=(qemu-system-x86_64 -machine q35,kernel-irqchip=split
			 -device intel-iommu,intremap=on)
		VM_APPEND="console=ttyS0 iommu=nopt intel_iommu=on" ;;
	amd)
		VM_QEMU=(qemu-system-x86_64 -machine q35,kernel-irqchip=split
			 -device amd-iommu,intremap=on)
		VM_APPEND="console=ttyS0 iommu=nopt" ;;
	virtio)
		VM_QEMU=(qemu-system-x86_64 -machine q35 -device virtio-iommu-pci)
		VM_APPEND="console=ttyS0 iommu=nopt" ;;
	smmuv3)
		VM_QEMU=(qemu-system-aarch64 -machine virt,iommu=smmuv3,gic-version=3)
		VM_APPEND="console=ttyAMA0 iommu.passthrough=0" ;;
	*) die "unknown IOMMU '$1' (intel, amd, virtio or smmuv3)" ;;
	esac
	VM_QEMU+=(-accel tcg,thread=multi -cpu max -smp 2 -m 4G -nic none -no-reboot)
	VM_APPEND="$VM_APPEND panic=-1 oops=panic watchdog_thresh=20"
}

# arch_selftests ARCH: where the test programs for ARCH are built.
arch_selftests() { echo "$SELFTESTS_OUT/$1"; }

# has_option FLAVOUR CONFIG_X: does the flavour's kernel have CONFIG_X=y?
has_option() {
	local f
	f=$(flavour_frags "$1") || return 2
	# shellcheck disable=SC2086
	grep -qhx "$2=y" $f
}

# lock_cache [LOCKFILE]: hold LOCKFILE (default .cache/lock) with flock(1)
# until this script and its children end, so that two runs in one checkout
# never build into, or boot from, the same files at once.  A second run
# waits and says for whom.  The holder's children inherit the lock (fd 9,
# marked by HARNESS_LOCKED) instead of waiting for their own parent.
lock_cache() {
	local lock=${1:-$CACHE/lock} t0=$SECONDS
	if [ "${HARNESS_LOCKED:-}" = "$lock" ] && flock -n 9 2>/dev/null; then
		return 0
	fi
	mkdir -p "$(dirname "$lock")"
	exec 9>>"$lock"
	if ! flock -n 9; then
		say "waiting for $lock, held by $(cat "$lock" 2>/dev/null || echo '?')"
		flock 9
		say "got $lock after $((SECONDS - t0)) s of waiting"
	fi
	printf 'pid %s (%s, since %s)\n' $$ "$(basename "$0")" "$(date +%T)" > "$lock"
	export HARNESS_LOCKED=$lock
}

# safe_rm PATH...: rm -rf PATH, but only a path that is clearly the
# harness's: inside .cache or logs of this checkout, or a directory the
# harness made (fresh_dir marks those with a .harness-dir file), an empty
# directory, a symlink (removed, not followed), or nothing at all.  Refuses
# (dies) on anything else: an empty or relative path, /, a top-level
# directory, the checkout itself, its sources.
safe_rm() {
	local p base real
	for p in "$@"; do
		case "$p" in
		"") die "safe_rm: refusing an empty path" ;;
		/*) ;;
		*) die "safe_rm: refusing a relative path: '$p'" ;;
		esac
		base=$(basename -- "$p")
		case "$base" in
		/ | . | ..) die "safe_rm: refusing '$p'" ;;
		esac
		# Resolve the parent ("..", symlinks), not the last component: a
		# symlink is removed, never followed.
		real=$(realpath -m -- "$(dirname -- "$p")")
		real=${real%/}/$base
		case "$real" in
		"$CACHE" | "$CACHE"/* | "$REPO/logs" | "$REPO/logs"/*) ;;
		"$REPO" | "$REPO"/*)
			die "safe_rm: refusing '$p': part of the checkout, not .cache or logs" ;;
		/*/*)
			[ ! -e "$real" ] || [ -L "$real" ] || [ -f "$real/.harness-dir" ] ||
				{ [ -d "$real" ] && [ -z "$(ls -A "$real")" ]; } ||
				die "safe_rm: refusing '$p': not made by the harness (no .harness-dir in it)"
			;;
		*) die "safe_rm: refusing the top-level directory '$p'" ;;
		esac
		rm -rf -- "$real"
	done
}

# fresh_dir DIR: an empty DIR, marked as the harness's (see safe_rm).
fresh_dir() {
	safe_rm "$1"
	mkdir -p "$1"
	touch "$1/.harness-dir"
}

# must_be_clean PATTERN CMD...: run CMD; it is clean if it exits 0 and no
# line of its output matches PATTERN (an extended regex).  Otherwise print
# the offending lines (or the end of the output) and return 1.
must_be_clean() {
	local pattern=$1 out rc=0 bad
	shift
	out=$("$@" 2>&1) || rc=$?
	bad=$(grep -E -- "$pattern" <<< "$out" || true)
	[ $rc = 0 ] && [ -z "$bad" ] && return 0
	if [ -n "$bad" ]; then
		echo "$bad"
	else
		tail -n 40 <<< "$out"
	fi
	[ $rc = 0 ] || echo "  (exit status $rc: $*)"
	return 1
}

# The tally of a run: checks passed, failed and skipped, and one line per
# step for the summary at the end.
passed=0
failed=0
skipped=0
steps=()

# tally LABEL SECONDS PASSED FAILED SKIPPED [TEXT]
tally() {
	passed=$((passed + $3))
	failed=$((failed + $4))
	skipped=$((skipped + $5))
	steps+=("$(printf '%-24s %-36s %5d s' "$1" "${6:-$3 passed, $4 failed, $5 skipped}" "$2")")
}

# run_part KIND LABEL CMD...: run CMD as a part of the run.  KIND "check"
# counts it as one check, passed if CMD exits 0; KIND "build" counts only
# its failure.
run_part() {
	local kind=$1 label=$2 t0=$SECONDS rc=0 ok=1 word=passed
	shift 2
	[ "$kind" = build ] && ok=0 word="done"
	say "== $label"
	"$@" || rc=$?
	if [ $rc = 0 ]; then
		tally "$label" $((SECONDS - t0)) $ok 0 0 "$word"
	else
		tally "$label" $((SECONDS - t0)) 0 1 0 FAILED
	fi
	return $rc
}

# step LABEL CMD...: one check of the tally; build LABEL CMD...: a build.
step() { run_part check "$@"; }
build() { run_part build "$@"; }

# judge FLAVOUR IOMMU [T0]: judge the logs of the run FLAVOUR-IOMMU
# (started at T0) with parse.sh and add its counts to the tally.  Any doubt
# is a failure: a stale result file is deleted first, and a missing or
# malformed one, or a parse.sh that failed without counting a failure,
# counts as one failure.  Never reuses counts of another run.
judge() {
	local run=$1-$2 result=$LOGS/$1-$2.result t0=${3:-$SECONDS} rc=0 line=
	rm -f "$result"
	"$REPO/scripts/parse.sh" "$1" "$2" || rc=$?
	{ IFS= read -r line < "$result"; } 2>/dev/null || true
	if ! [[ $line =~ ^([0-9]+)\ ([0-9]+)\ ([0-9]+)$ ]]; then
		say "FAILED: no valid result in $result (parse.sh exit $rc)"
		tally "$run tests" $((SECONDS - t0)) 0 1 0 "FAILED: no result"
		return 1
	fi
	local p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} s=${BASH_REMATCH[3]}
	if [ $rc != 0 ] && [ "$f" = 0 ]; then
		say "FAILED: parse.sh exited with $rc but counted no failure"
		f=1
	fi
	tally "$run tests" $((SECONDS - t0)) "$p" "$f" "$s"
	[ "$f" = 0 ]
}

# vm_run FLAVOUR IOMMU: boot the FLAVOUR kernel in a VM with IOMMU, run the
# tests, judge the logs.
vm_run() {
	local t0=$SECONDS
	say "== $1 kernel under $2: boot and run the tests"
	if ! "$REPO/scripts/boot.sh" "$1" check "$2"; then
		tally "$1-$2 tests" $((SECONDS - t0)) 0 1 0 "FAILED: could not boot"
		return 1
	fi
	judge "$1" "$2" $t0
}

# report T0: the summary of the tally, the total time since T0, and the
# final line "N passed, N failed, N skipped"; returns 0 if nothing failed.
report() {
	local s
	say "summary:"
	for s in "${steps[@]}"; do
		say "  $s"
	done
	say "total time: $((SECONDS - $1)) s; logs in $LOGS"
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
}

# stalled_at_boot CONSOLE TAP: did the VM stall while booting, before any
# test ran?  Under TCG a vCPU's timer sometimes stops firing while the
# kernel boots (QEMU, not the kernel under test): RCU stalls, then a soft
# lockup.  boot.sh tries such a boot once more, keeping the first logs.  A
# console with any other kernel report, or a mention of iommufd, does not
# count: that could be ours.
stalled_at_boot() {
	! grep -q '^HARNESS: START' "$2" 2>/dev/null &&
	grep -qE "rcu_sched kthread timer wakeup didn't happen|timer doesn't work through Interrupt-remapped IO-APIC|watchdog: BUG: soft lockup" "$1" 2>/dev/null &&
	! grep -qE 'WARNING:|Oops|KASAN|general protection|kernel BUG|BUG: (sleeping|scheduling|unable|spinlock|bad)|iommufd' "$1"
}
