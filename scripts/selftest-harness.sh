#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# selftest-harness.sh: the harness tests itself, without a VM, in seconds.
# parse.sh must fail every broken log it is fed and pass the clean ones;
# judge must count a missing result as a failure and never reuse counts;
# must_be_clean (lint) must fail on a non-zero exit; safe_rm must refuse
# what is not the harness's; the cache lock must make a second run wait;
# initramfs.sh must pack ONLY and ARGS and each arch's init; each run of the
# IOMMU matrix must have had its IOMMU; vmm.sh's judge must fail every
# broken log of the QEMU test and pass a clean one.  PARSE=<script> tries another
# parse.sh (e.g. an old one from git).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

PARSE=${PARSE:-$REPO/scripts/parse.sh}
t0=$SECONDS
tmp=$(mktemp -d /tmp/harness-selftest.XXXXXX)
touch "$tmp/.harness-dir"
trap 'safe_rm "$tmp"' EXIT
ok=0
ko=0

fails() { ! "$@" > /dev/null 2>&1; }
dies() { ! ( "$@" ) > /dev/null 2>&1; }	# a function that may call die
matches() { [[ $1 =~ $2 ]]; }

check() { # check DESCRIPTION CONDITION...: one test
	local what=$1
	shift
	if "$@"; then
		ok=$((ok + 1))
		say "ok      $what"
	else
		ko=$((ko + 1))
		say "FAILED  $what"
	fi
}

# --- parse.sh on fabricated logs ------------------------------------------

crlf() { sed 's/$/\r/'; }	# the serial port's line ends

tap_program() { # tap_program NAME RESULTS...: a kselftest program's output
	local name=$1 i=0 r
	shift
	echo "HARNESS: RUN $name"
	echo "TAP version 13"
	echo "1..$#"
	echo "# Starting $# tests from 1 test cases."
	for r in "$@"; do
		i=$((i + 1))
		echo "#  RUN           fix.t$i ..."
		case "$r" in
		"ok # "*) echo "ok $i fix.t$i ${r#ok }" ;;
		*) echo "$r $i fix.t$i" ;;
		esac
	done
	echo "# Totals: pass:$# fail:0 xfail:0 xpass:0 skip:0 error:0"
	echo "HARNESS: EXIT $name 0"
}

# iommu_line IOMMU: what init reports in a VM with IOMMU.
iommu_line() {
	local class
	case "$1" in
	intel) class=dmar0 ;;
	amd) class=ivhd0 ;;
	virtio) class=0000:00:03.0 ;;
	smmuv3) class=smmu3.0x0000000009050000 ;;
	esac
	echo "HARNESS: IOMMU want=$1 class=$class,iommufd_mock_iommu edu=0000:00:04.0 group=3 type=DMA"
}

clean_tap() { # clean_tap FLAVOUR-IOMMU
	echo "HARNESS: START 6.12.117"
	echo "HARNESS: WATCHDOG hung_task_timeout_secs=45 hung_task_panic=1 soft_watchdog=1 watchdog_thresh=20 softlockup_panic=1"
	iommu_line "${1#*-}"
	tap_program iommufd-alpha ok ok "ok # SKIP no hugepages"
	echo "HARNESS: RUN iommufd-demo"
	echo "iommufd-demo: done"
	echo "HARNESS: EXIT iommufd-demo 0"
	tap_program iommufd-beta ok ok
	if [ "${1%%-*}" = debug ]; then
		echo "HARNESS: KMEMLEAK BEGIN"
		echo "HARNESS: KMEMLEAK END"
	else
		echo "HARNESS: KMEMLEAK NONE"
	fi
	echo "HARNESS: DONE"
}

clean_console() {
	echo "[    0.000000] Linux version 6.12.117 (root@harness) #1 SMP"
	echo "[    0.000000] Command line: console=ttyS0 panic=-1 oops=panic watchdog_thresh=20"
	echo "[    1.234567] DMAR: Intel(R) Virtualization Technology for Directed I/O"
	echo "[    2.345678] Run /init as init process"
}

# logs NAME FLAVOUR-IOMMU: a directory with a clean run's logs; prints its
# path.
logs() {
	local d=$tmp/$1
	mkdir -p "$d"
	clean_console | crlf > "$d/$2-console.log"
	clean_tap "$2" | crlf > "$d/$2-tests.log"
	echo "$d"
}

# edit FILE SED-SCRIPT: edit a log (CRLF kept).
edit() {
	tr -d '\r' < "$1" | sed "$2" | crlf > "$1.new" && mv "$1.new" "$1"
}

# expect pass|fail NAME FLAVOUR-IOMMU [RESULT]: parse.sh on $tmp/NAME must
# exit 0 (pass) or 1 (fail) and write a well-formed result with no (pass) or
# some (fail) failures; RESULT is the exact result line expected.
expect() {
	local want=$1 name=$2 flavour=$3 d=$tmp/$2 rc=0 res
	LOGS=$d "$PARSE" "${flavour%%-*}" "${flavour#*-}" > "$d/parse.out" 2>&1 || rc=$?
	res=$(cat "$d/$flavour.result" 2>/dev/null || echo "(no result file)")
	local good=0
	if [ $want = pass ]; then
		[ $rc = 0 ] && [[ $res =~ ^[0-9]+\ 0\ [0-9]+$ ]] && good=1
	else
		[ $rc = 1 ] && [[ $res =~ ^[0-9]+\ [1-9][0-9]*\ [0-9]+$ ]] && good=1
	fi
	[ -z "${4:-}" ] || [ "$res" = "$4" ] || good=0
	check "parse: $name ($flavour) must ${want^^}: exit $rc, result '$res'" [ $good = 1 ]
	[ $good = 1 ] || sed 's/^/      | /' "$d/parse.out" | tail -n 15
}

d=$(logs clean normal-intel)
expect pass clean normal-intel "5 0 1"
d=$(logs clean-debug debug-intel)
expect pass clean-debug debug-intel "5 0 1"

d=$(logs many-warnings debug-intel)
awk 'BEGIN { for (i = 0; i < 3000; i++) {
	printf "[ %d.000000] ------------[ cut here ]------------\n", i
	printf "[ %d.000000] WARNING: CPU: 1 PID: 99 at drivers/iommu/iommufd/pages.c:%d pages_fill+0x1/0x2\n", i, i
	for (j = 0; j < 25; j++) printf "[ %d.000000]  ? frame_%d+0x10/0x20\n", i, j
}}' | crlf >> "$d/debug-intel-console.log"
expect fail many-warnings debug-intel

d=$(logs died-before-tap normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: RUN iommufd-beta/,/^HARNESS: EXIT iommufd-beta/c\
HARNESS: RUN iommufd-beta\
HARNESS: EXIT iommufd-beta 139'
expect fail died-before-tap normal-intel

d=$(logs silent-exit-0 normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: RUN iommufd-beta/,/^HARNESS: EXIT iommufd-beta/c\
HARNESS: RUN iommufd-beta\
HARNESS: EXIT iommufd-beta 0'
expect fail silent-exit-0 normal-intel

d=$(logs no-newline normal-intel)
truncate -s -2 "$d/normal-intel-tests.log"
expect fail no-newline normal-intel

d=$(logs cut-mid-line normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: EXIT iommufd-beta/,$d'
printf 'ok 3 fix.t' >> "$d/normal-intel-tests.log"
expect fail cut-mid-line normal-intel

d=$(logs plan-too-big normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: RUN iommufd-beta/,/^1\.\./s/^1\.\.2$/1..5/'
expect fail plan-too-big normal-intel

d=$(logs plan-too-small normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: RUN iommufd-alpha/,/^1\.\./s/^1\.\.3$/1..2/'
expect fail plan-too-small normal-intel

d=$(logs not-ok normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: RUN iommufd-alpha/,/^HARNESS: EXIT/s/^ok 2 fix.t2$/not ok 2 fix.t2/
	/^HARNESS: EXIT iommufd-alpha/s/ 0$/ 1/'
expect fail not-ok normal-intel "4 1 1"

d=$(logs bail-out normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: EXIT iommufd-beta/i\
Bail out! cannot open /dev/iommu'
expect fail bail-out normal-intel

d=$(logs never-returned normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: EXIT iommufd-beta/d'
expect fail never-returned normal-intel

d=$(logs no-program normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: RUN/,/^HARNESS: EXIT iommufd-beta/d'
expect fail no-program normal-intel

d=$(logs timeout normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: EXIT iommufd-beta/,$d'
echo "HARNESS: TIMEOUT after 1500s" >> "$d/normal-intel-tests.log"
expect fail timeout normal-intel

d=$(logs no-console normal-intel)
rm "$d/normal-intel-console.log"
expect fail no-console normal-intel

d=$(logs kmemleak-disabled debug-intel)
printf '[  9.0] kmemleak: Memory pool empty, consider increasing CONFIG_DEBUG_KMEMLEAK_MEM_POOL_SIZE\n[  9.1] kmemleak: Kernel memory leak detector disabled\n' |
	crlf >> "$d/debug-intel-console.log"
expect fail kmemleak-disabled debug-intel

d=$(logs kmemleak-scan-refused debug-intel)
edit "$d/debug-intel-tests.log" '/^HARNESS: KMEMLEAK BEGIN/,/^HARNESS: KMEMLEAK END/c\
HARNESS: KMEMLEAK DISABLED (scan refused)'
expect fail kmemleak-scan-refused debug-intel

d=$(logs kmemleak-missing debug-intel)
edit "$d/debug-intel-tests.log" '/^HARNESS: KMEMLEAK/d'
expect fail kmemleak-missing debug-intel

d=$(logs kmemleak-leak debug-intel)
edit "$d/debug-intel-tests.log" '/^HARNESS: KMEMLEAK BEGIN/a\
unreferenced object 0xffff888004a1c000 (size 64):\
  comm "iommufd-alpha", pid 93, jiffies 4294939000\
  backtrace (crc 0):\
    iopt_alloc_area+0x25/0x80'
expect fail kmemleak-leak debug-intel

d=$(logs hung-task debug-intel)
edit "$d/debug-intel-tests.log" '/^HARNESS: EXIT iommufd-beta/,$d'
printf '%s\n' "[  60.1] INFO: task iommufd-beta:93 blocked for more than 45 seconds." \
	"[  60.1]       Not tainted 6.12.117 #1" \
	"[  60.2] Call Trace:" "[  60.2]  __mutex_lock+0x1/0x2" \
	"[  60.3] Kernel panic - not syncing: hung_task: blocked tasks" | crlf >> "$d/debug-intel-console.log"
expect fail hung-task debug-intel

d=$(logs hung-task-only-console normal-intel)
echo "[  60.1] INFO: task iommufd-beta:93 blocked for more than 45 seconds." | crlf >> "$d/normal-intel-console.log"
expect fail hung-task-only-console normal-intel

d=$(logs soft-lockup normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: EXIT iommufd-beta/,$d'
printf '%s\n' "[  50.0] watchdog: BUG: soft lockup - CPU#1 stuck for 41s! [iommufd-beta:93]" \
	"[  50.1] Kernel panic - not syncing: softlockup: hung tasks" | crlf >> "$d/normal-intel-console.log"
expect fail soft-lockup normal-intel

d=$(logs watchdog-off normal-intel)
edit "$d/normal-intel-tests.log" 's/hung_task_timeout_secs=45/hung_task_timeout_secs=0/'
expect fail watchdog-off normal-intel

d=$(logs watchdog-missing normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: WATCHDOG/d'
expect fail watchdog-missing normal-intel

# --- the IOMMU matrix: each run names its IOMMU and must have had it -------

for r in normal-amd normal-virtio arm64-smmuv3; do
	d=$(logs "clean-$r" $r)
	expect pass "clean-$r" $r "5 0 1"
done

d=$(logs iommu-missing normal-intel)
edit "$d/normal-intel-tests.log" '/^HARNESS: IOMMU/d'
expect fail iommu-missing normal-intel

d=$(logs iommu-absent normal-amd)
edit "$d/normal-amd-tests.log" 's/class=ivhd0/class=none/'
expect fail iommu-absent normal-amd

d=$(logs iommu-other normal-amd)
edit "$d/normal-amd-tests.log" 's/class=ivhd0/class=dmar0/'
expect fail iommu-other normal-amd

d=$(logs iommu-wrong-boot normal-virtio)
edit "$d/normal-virtio-tests.log" 's/want=virtio/want=intel/'
expect fail iommu-wrong-boot normal-virtio

d=$(logs iommu-no-edu arm64-smmuv3)
edit "$d/arm64-smmuv3-tests.log" 's/edu=[^ ]*/edu=none/'
expect fail iommu-no-edu arm64-smmuv3

d=$(logs iommu-no-group normal-intel)
edit "$d/normal-intel-tests.log" 's/group=3 type=DMA/group=none type=none/'
expect fail iommu-no-group normal-intel

d=$(logs iommu-identity normal-virtio)
edit "$d/normal-virtio-tests.log" 's/type=DMA/type=identity/'
expect fail iommu-identity normal-virtio

d=$(logs iommu-lazy arm64-smmuv3)
edit "$d/arm64-smmuv3-tests.log" 's/type=DMA/type=DMA-FQ/'
expect pass iommu-lazy arm64-smmuv3 "5 0 1"

d=$(logs arm64-oops arm64-smmuv3)
# arm64's words for an oops: no "Oops" or "Call Trace:" in these.
printf '%s\n' "[  12.0] Unable to handle kernel paging request at virtual address dead000000000108" \
	"[  12.1] Call trace:" "[  12.1]  iopt_unmap_iova+0x1c/0x2a0" |
	crlf >> "$d/arm64-smmuv3-console.log"
expect fail arm64-oops arm64-smmuv3

d=$(logs wrong-run normal-intel)
expect fail wrong-run normal-amd

check "flavour_iommu: normal defaults to intel" [ "$(flavour_iommu normal)" = intel ]
check "flavour_iommu: arm64 defaults to smmuv3" [ "$(flavour_iommu arm64)" = smmuv3 ]
check "flavour_iommu: debug takes amd" [ "$(flavour_iommu debug amd)" = amd ]
check "flavour_iommu: no smmuv3 on x86" dies flavour_iommu normal smmuv3
check "flavour_iommu: no amd on arm64" dies flavour_iommu arm64 amd
check "flavour_iommu: no such IOMMU" dies flavour_iommu normal foo
check "flavour_arch: no such flavour" dies flavour_arch sparc
check "flavour_arch: type1 is x86" [ "$(flavour_arch type1)" = x86 ]
check "flavour_frags: type1 is the normal kernel plus type1.config" \
	[ "$(flavour_frags type1)" = "$(flavour_frags normal) $REPO/config/type1.config" ]
check "flavour_iommu: type1 defaults to intel" [ "$(flavour_iommu type1)" = intel ]
check "has_option: type1 has VFIO's container, normal has not" \
	eval 'has_option type1 CONFIG_VFIO_CONTAINER && ! has_option normal CONFIG_VFIO_CONTAINER'
d=$(logs clean-type1 type1-intel)
expect pass clean-type1 type1-intel "5 0 1"
check "flavour_tree: upstream is built from the package's own tree" \
	[ "$(flavour_tree upstream):$(tree_src upstream)" = "upstream:$KSRC_UPSTREAM" ]
check "flavour_tree: normal, debug, type1, arm64 and l2 from ours" \
	[ "$(flavour_tree normal)$(flavour_tree debug)$(flavour_tree type1)$(flavour_tree arm64)$(flavour_tree l2)" = oursoursoursoursours ]
check "flavour_frags: upstream has normal's config" [ "$(flavour_frags upstream)" = "$(flavour_frags normal)" ]
check "flavour_frags: l2 is config/l2.config alone" [ "$(flavour_frags l2)" = "$REPO/config/l2.config" ]

# --- boot.sh: a stalled boot is tried once more, nothing else ---------------

d=$tmp/stall
mkdir -p "$d"
printf '%s\n' "[ 37.7] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:" \
	"[ 37.7] rcu: rcu_sched kthread timer wakeup didn't happen for 6501 jiffies!" \
	"[ 86.1] watchdog: BUG: soft lockup - CPU#0 stuck for 52s! [migration/0:17]" \
	"[ 86.1] Kernel panic - not syncing: softlockup: hung tasks" > "$d/console"
: > "$d/tap"
check "stalled_at_boot: a boot stalled before the tests is tried again" \
	stalled_at_boot "$d/console" "$d/tap"
echo "HARNESS: START 6.12.117" > "$d/started"
check "stalled_at_boot: not once the tests started" \
	fails stalled_at_boot "$d/console" "$d/started"
{ cat "$d/console"; echo "[ 5.0] WARNING: CPU: 0 PID: 1 at drivers/iommu/iommufd/main.c:1"; } > "$d/warned"
check "stalled_at_boot: not with another kernel report" \
	fails stalled_at_boot "$d/warned" "$d/tap"
{ cat "$d/console"; echo "[ 5.0] iommufd: something"; } > "$d/ours"
check "stalled_at_boot: not when iommufd said anything" \
	fails stalled_at_boot "$d/ours" "$d/tap"
check "stalled_at_boot: not for a clean boot that just ended" \
	fails stalled_at_boot "$(logs stall-clean normal-intel)/normal-console.log" "$d/tap"

# --- judge: result handling -------------------------------------------------

# Runs judge in a subshell with a fresh tally; prints "passed failed skipped".
judge_tally() { # judge_tally LOGS FLAVOUR-IOMMU...
	(
		export LOGS=$1
		shift
		passed=0 failed=0 skipped=0
		for r in "$@"; do
			judge "${r%%-*}" "${r#*-}" > /dev/null 2>&1
		done
		echo "$passed $failed $skipped"
	)
}

d=$tmp/judge
mkdir -p "$d"
echo "752 0 0" > "$d/bogus-intel.result"
res=$(judge_tally "$d" bogus-intel)
check "judge: a parse.sh that dies counts as a failure, not the stale result ($res)" \
	[ "$res" = "0 1 0" ]
check "judge: deletes the stale result file" [ ! -e "$d/bogus-intel.result" ]

d=$(logs judge-two normal-intel)
echo "752 0 0" > "$d/debug-intel.result"
echo "752 0 0" > "$d/normal-amd.result"
res=$(judge_tally "$d" normal-intel debug-intel)
check "judge: a failing flavour never reuses the other's counts ($res)" \
	matches "$res" '^5 [1-9][0-9]* 1$'
res=$(judge_tally "$d" normal-intel normal-amd)
check "judge: a failing IOMMU run never reuses another run's counts ($res)" \
	matches "$res" '^5 [1-9][0-9]* 1$'

# --- must_be_clean: lint's verdict -------------------------------------------

check "must_be_clean: clean, exit 0 passes" must_be_clean 'warning:|error:' true
check "must_be_clean: a warning fails" \
	fails must_be_clean 'warning:|error:' echo "main.c:1:2: warning: x"
check "must_be_clean: sparse not found (exit 2, no warning text) fails" \
	fails must_be_clean 'warning:|error:' sh -c 'echo "sh: 1: sparse: not found"; exit 2'
check "must_be_clean: make failing with 'Error 2' only fails" \
	fails must_be_clean 'warning:|error:' sh -c 'echo "make: *** [Makefile:2] Error 2"; exit 2'
check "must_be_clean: any output fails for pattern ." \
	fails must_be_clean . echo 'CHECK: Alignment should match open parenthesis'

# --- safe_rm ------------------------------------------------------------------

mkdir -p "$tmp/rm/unmarked" "$tmp/rm/marked" "$tmp/rm/empty" "$tmp/rm/real"
touch "$tmp/rm/unmarked/precious" "$tmp/rm/marked/.harness-dir" \
	"$tmp/rm/real/.harness-dir" "$tmp/rm/real/file"
ln -s / "$tmp/rm/to-root"
ln -s "$REPO" "$tmp/rm/to-repo"

# try PATH: safe_rm PATH with rm stubbed out; prints "removes" or "refuses".
try() {
	(
		rm() { echo "removes"; }
		safe_rm "$1" 2>/dev/null
	) || echo refuses
}
for p in "" relative/dir / /tmp /usr "$HOME" "$REPO" "$REPO/" "$REPO/scripts" \
	"$REPO/.git" "$REPO/.cache/../scripts" "$REPO/logs/.." "$tmp/rm/unmarked" \
	"$tmp/rm/to-root/usr" "$tmp/rm/to-repo/scripts" "$tmp/rm/marked/../.."; do
	check "safe_rm refuses '$p'" [ "$(try "$p")" = refuses ]
done
for p in "$CACHE/build" "$REPO/logs" "$tmp/rm/marked" "$tmp/rm/empty" "$tmp/rm/none" \
	"$tmp/rm/to-root"; do
	check "safe_rm accepts '$p'" [ "$(try "$p")" = removes ]
done
safe_rm "$tmp/rm/real"
check "safe_rm on 'symlink/' removes the link, never what it points to" \
	[ "$( (rm() { echo "$*"; }; safe_rm "$tmp/rm/to-root/") )" = "-rf -- $tmp/rm/to-root" ]
check "safe_rm deletes a marked directory" [ ! -e "$tmp/rm/real" ]
check "safe_rm left the unmarked one alone" [ -e "$tmp/rm/unmarked/precious" ]

# --- the cache lock -------------------------------------------------------------

lock=$tmp/lock/lock
# locker ACTION: a fresh run (no inherited lock) takes $lock, then runs ACTION.
locker() {
	env -u HARNESS_LOCKED bash -c '
		exec 9>&-
		. "$1"
		lock_cache "$2"
		eval "$3"' locker "$REPO/scripts/lib.sh" "$lock" "$1"
}
locker "touch $tmp/held; sleep 2; touch $tmp/released" > "$tmp/first.out" 2>&1 &
first=$!
for _ in $(seq 50); do [ -e "$tmp/held" ] && break; sleep 0.1; done
locker "[ -e $tmp/released ] && echo after-release" > "$tmp/second.out" 2>&1
wait $first
check "lock: a second run waits and says so" grep -q "waiting for $lock, held by pid" "$tmp/second.out"
check "lock: a second run gets the lock only after the first released it" \
	grep -q after-release "$tmp/second.out"
locker "timeout 5 bash -c '. $REPO/scripts/lib.sh; lock_cache $lock; echo nested-ok'" \
	> "$tmp/nested.out" 2>&1
check "lock: a child of the holder inherits it, without waiting" \
	eval "grep -q nested-ok $tmp/nested.out && ! grep -q waiting $tmp/nested.out"

# --- vmm.sh judge: QEMU 10 on /dev/iommu ------------------------------------------

# vmm_logs NAME: the logs of a good vmm run (normal kernel, intel) in
# $tmp/NAME, as L1's console and init write them.
vmm_logs() {
	local d=$tmp/$1
	mkdir -p "$d"
	printf '%s\n' "[    0.000000] Linux version 6.12.117" \
		"[    1.200000] iommufd: iommufd is providing /dev/vfio/vfio" \
		"[    3.100000] vfio-pci 0000:00:02.0: resetting" | crlf > "$d/vmm-normal-intel-console.log"
	printf '%s\n' "REALWORLD: START 6.12.117" \
		"REALWORLD: QEMU QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)" \
		"REALWORLD: DEVICE 0000:00:02.0 driver=vfio-pci iommu_group=2" \
		"REALWORLD: QEMU START 6.90" \
		"REALWORLD: OPEN /dev/iommu" \
		"REALWORLD: OPEN /dev/vfio/devices/vfio0" \
		"[   11.98] qemu-system-x86_64: warning: IOMMU_IOAS_MAP failed: Bad address, PCI BAR?" \
		"[   30.90] Linux version 6.12.117" \
		"[   80.10] L2: START" \
		"[   81.00] L2: edu 0000:00:02.0 ident 0x010000ed, DMA between RAM 0x15f0000 and 0x15ef000" \
		"[   83.20] L2: PASS: edu 0000:00:02.0: 4 x 2048 bytes from RAM 0x15f0000 and back to 0x15ef000, all landed" \
		"[   83.90] reboot: Restarting system" \
		"[   84.00] REALWORLD: QEMU EXIT 0 83.99" \
		"REALWORLD: DONE" | crlf > "$d/vmm-normal-intel.log"
	echo "$d"
}

# vmm_expect pass|fail NAME: vmm.sh's judge of $tmp/NAME must exit 0 and
# say PASS, or exit 1 and say FAIL.
vmm_expect() {
	local want=$1 d=$tmp/$2 rc=0 out verdict=PASS code=0
	out=$(LOGS=$d "$REPO/scripts/vmm.sh" judge intel normal 2>&1) || rc=$?
	[ "$want" = pass ] || verdict=FAIL code=1
	check "vmm judge: $2 must $verdict (exit $rc)" \
		[ "$rc:$(tail -n 1 <<< "$out" | cut -d: -f2)" = "$code: $verdict" ]
}

d=$(vmm_logs vmm-clean)
vmm_expect pass vmm-clean
check "vmm judge: L2's boot and QEMU's run times from the stamps" \
	eval "LOGS=$d $REPO/scripts/vmm.sh judge | tail -n 1 | grep -q 'L2 booted to its program in 73 s, QEMU ran 77 s'"
# vmm_broken NAME SED-SCRIPT [CONSOLE-LINE]: a good run's logs, the init's
# edited by SED-SCRIPT, CONSOLE-LINE added to the console: must FAIL.
vmm_broken() {
	local d
	d=$(vmm_logs "$1")
	edit "$d/vmm-normal-intel.log" "$2"
	[ -z "${3:-}" ] || echo "$3" | crlf >> "$d/vmm-normal-intel-console.log"
	vmm_expect fail "$1"
}
vmm_broken vmm-l2-fail 's/L2: PASS: .*/L2: FAIL: edu 0000:00:02.0: DMA 0 to RAM missed: 0x15ef000 still poisoned/'
vmm_broken vmm-l2-silent '/L2: PASS/d'
vmm_broken vmm-killed 's/QEMU EXIT 0/QEMU EXIT 137/'
vmm_broken vmm-no-iommufd '/OPEN \/dev\/iommu/d'
vmm_broken vmm-qemu7 's/version 10.0.2/version 7.2.19/'
vmm_broken vmm-no-vfio 's/driver=vfio-pci/driver=pci-stub/'
vmm_broken vmm-fault '' "[   82.0] DMAR: [DMA Write NO_PASID] Request device [00:02.0] fault addr 0x15ef000"
vmm_broken vmm-warn '' "[   82.0] WARNING: CPU: 1 PID: 80 at drivers/iommu/iommufd/pages.c:1 x"
vmm_broken vmm-unfinished '/REALWORLD: DONE/d'
vmm_expect fail vmm-none

# --- initramfs.sh: ONLY and ARGS ------------------------------------------------

mkdir -p "$tmp/progs/x86" "$tmp/cpio"
printf '#!/bin/sh\n' > "$tmp/progs/x86/iommufd-alpha"
cp "$tmp/progs/x86/iommufd-alpha" "$tmp/progs/x86/iommufd-beta"
SELFTESTS_OUT=$tmp/progs ONLY=beta ARGS="-r fix.var.t1 -t 'a b' -v x.y" \
	"$REPO/scripts/initramfs.sh" "$tmp/initramfs.cpio" > /dev/null
(cd "$tmp/cpio" && cpio -id --quiet < "$tmp/initramfs.cpio")
check "initramfs: ONLY=beta packs iommufd-beta alone" \
	[ "$(ls "$tmp/cpio/tests")" = iommufd-beta ]
check "initramfs: ARGS are packed one per line, quotes honoured" \
	[ "$(paste -sd'|' "$tmp/cpio/harness/args")" = "-r|fix.var.t1|-t|a b|-v|x.y" ]
check "initramfs: an unknown ONLY fails" \
	fails env SELFTESTS_OUT="$tmp/progs" ONLY=gamma "$REPO/scripts/initramfs.sh" "$tmp/x.cpio"
check "initramfs: x86 has busybox and the init script" \
	cmp -s "$tmp/cpio/init" "$REPO/selftests/init"

mkdir -p "$tmp/progs/arm64" "$tmp/cpio-arm64"
cp "$tmp/progs/x86/iommufd-alpha" "$tmp/progs/arm64/iommufd-alpha"
check "initramfs: arm64 needs the C init" \
	fails env SELFTESTS_OUT="$tmp/progs" "$REPO/scripts/initramfs.sh" "$tmp/x.cpio" arm64
printf 'C init\n' > "$tmp/progs/arm64/init-static"
SELFTESTS_OUT=$tmp/progs "$REPO/scripts/initramfs.sh" "$tmp/arm64.cpio" arm64 > /dev/null
(cd "$tmp/cpio-arm64" && cpio -id --quiet < "$tmp/arm64.cpio")
# shellcheck disable=SC2016 # expanded by eval
check "initramfs: arm64 packs its own programs, the C init as /init, no busybox" \
	eval '[ "$(ls "$tmp/cpio-arm64/tests")" = iommufd-alpha ] &&
	      [ "$(cat "$tmp/cpio-arm64/init")" = "C init" ] &&
	      [ -x "$tmp/cpio-arm64/init" ] && [ ! -e "$tmp/cpio-arm64/bin/busybox" ]'

say "$ok passed, $ko failed ($((SECONDS - t0)) s)"
[ $ko = 0 ]
