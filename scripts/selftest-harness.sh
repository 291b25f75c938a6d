#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# selftest-harness.sh: the harness tests itself, without a VM, in seconds.
# parse.sh must fail every broken log it is fed and pass the clean ones;
# judge must count a missing result as a failure and never reuse counts;
# must_be_clean (lint) must fail on a non-zero exit; safe_rm must refuse
# what is not the harness's; the cache lock must make a second run wait;
# initramfs.sh must pack ONLY and ARGS.  PARSE=<script> tries another
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

clean_tap() { # clean_tap FLAVOUR
	echo "HARNESS: START 6.12.117"
	echo "HARNESS: WATCHDOG hung_task_timeout_secs=45 hung_task_panic=1 soft_watchdog=1 watchdog_thresh=20 softlockup_panic=1"
	tap_program iommufd-alpha ok ok "ok # SKIP no hugepages"
	echo "HARNESS: RUN iommufd-demo"
	echo "iommufd-demo: done"
	echo "HARNESS: EXIT iommufd-demo 0"
	tap_program iommufd-beta ok ok
	if [ "$1" = debug ]; then
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

# logs NAME FLAVOUR: a directory with a clean run's logs; prints its path.
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

# expect pass|fail NAME FLAVOUR [RESULT]: parse.sh on $tmp/NAME must exit 0
# (pass) or 1 (fail) and write a well-formed result with no (pass) or some
# (fail) failures; RESULT is the exact result line expected.
expect() {
	local want=$1 name=$2 flavour=$3 d=$tmp/$2 rc=0 res
	LOGS=$d "$PARSE" "$flavour" > "$d/parse.out" 2>&1 || rc=$?
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

d=$(logs clean normal)
expect pass clean normal "5 0 1"
d=$(logs clean-debug debug)
expect pass clean-debug debug "5 0 1"

d=$(logs many-warnings debug)
awk 'BEGIN { for (i = 0; i < 3000; i++) {
	printf "[ %d.000000] ------------[ cut here ]------------\n", i
	printf "[ %d.000000] WARNING: CPU: 1 PID: 99 at drivers/iommu/iommufd/pages.c:%d pages_fill+0x1/0x2\n", i, i
	for (j = 0; j < 25; j++) printf "[ %d.000000]  ? frame_%d+0x10/0x20\n", i, j
}}' | crlf >> "$d/debug-console.log"
expect fail many-warnings debug

d=$(logs died-before-tap normal)
edit "$d/normal-tests.log" '/^HARNESS: RUN iommufd-beta/,/^HARNESS: EXIT iommufd-beta/c\
HARNESS: RUN iommufd-beta\
HARNESS: EXIT iommufd-beta 139'
expect fail died-before-tap normal

d=$(logs silent-exit-0 normal)
edit "$d/normal-tests.log" '/^HARNESS: RUN iommufd-beta/,/^HARNESS: EXIT iommufd-beta/c\
HARNESS: RUN iommufd-beta\
HARNESS: EXIT iommufd-beta 0'
expect fail silent-exit-0 normal

d=$(logs no-newline normal)
truncate -s -2 "$d/normal-tests.log"
expect fail no-newline normal

d=$(logs cut-mid-line normal)
edit "$d/normal-tests.log" '/^HARNESS: EXIT iommufd-beta/,$d'
printf 'ok 3 fix.t' >> "$d/normal-tests.log"
expect fail cut-mid-line normal

d=$(logs plan-too-big normal)
edit "$d/normal-tests.log" '/^HARNESS: RUN iommufd-beta/,/^1\.\./s/^1\.\.2$/1..5/'
expect fail plan-too-big normal

d=$(logs plan-too-small normal)
edit "$d/normal-tests.log" '/^HARNESS: RUN iommufd-alpha/,/^1\.\./s/^1\.\.3$/1..2/'
expect fail plan-too-small normal

d=$(logs not-ok normal)
edit "$d/normal-tests.log" '/^HARNESS: RUN iommufd-alpha/,/^HARNESS: EXIT/s/^ok 2 fix.t2$/not ok 2 fix.t2/
	/^HARNESS: EXIT iommufd-alpha/s/ 0$/ 1/'
expect fail not-ok normal "4 1 1"

d=$(logs bail-out normal)
edit "$d/normal-tests.log" '/^HARNESS: EXIT iommufd-beta/i\
Bail out! cannot open /dev/iommu'
expect fail bail-out normal

d=$(logs never-returned normal)
edit "$d/normal-tests.log" '/^HARNESS: EXIT iommufd-beta/d'
expect fail never-returned normal

d=$(logs no-program normal)
edit "$d/normal-tests.log" '/^HARNESS: RUN/,/^HARNESS: EXIT iommufd-beta/d'
expect fail no-program normal

d=$(logs timeout normal)
edit "$d/normal-tests.log" '/^HARNESS: EXIT iommufd-beta/,$d'
echo "HARNESS: TIMEOUT after 1500s" >> "$d/normal-tests.log"
expect fail timeout normal

d=$(logs no-console normal)
rm "$d/normal-console.log"
expect fail no-console normal

d=$(logs kmemleak-disabled debug)
printf '[  9.0] kmemleak: Memory pool empty, consider increasing CONFIG_DEBUG_KMEMLEAK_MEM_POOL_SIZE\n[  9.1] kmemleak: Kernel memory leak detector disabled\n' |
	crlf >> "$d/debug-console.log"
expect fail kmemleak-disabled debug

d=$(logs kmemleak-scan-refused debug)
edit "$d/debug-tests.log" '/^HARNESS: KMEMLEAK BEGIN/,/^HARNESS: KMEMLEAK END/c\
HARNESS: KMEMLEAK DISABLED (scan refused)'
expect fail kmemleak-scan-refused debug

d=$(logs kmemleak-missing debug)
edit "$d/debug-tests.log" '/^HARNESS: KMEMLEAK/d'
expect fail kmemleak-missing debug

d=$(logs kmemleak-leak debug)
edit "$d/debug-tests.log" '/^HARNESS: KMEMLEAK BEGIN/a\
unreferenced object 0xffff888004a1c000 (size 64):\
  comm "iommufd-alpha", pid 93, jiffies 4294939000\
  backtrace (crc 0):\
    iopt_alloc_area+0x25/0x80'
expect fail kmemleak-leak debug

d=$(logs hung-task debug)
edit "$d/debug-tests.log" '/^HARNESS: EXIT iommufd-beta/,$d'
printf '%s\n' "[  60.1] INFO: task iommufd-beta:93 blocked for more than 45 seconds." \
	"[  60.1]       Not tainted 6.12.117 #1" \
	"[  60.2] Call Trace:" "[  60.2]  __mutex_lock+0x1/0x2" \
	"[  60.3] Kernel panic - not syncing: hung_task: blocked tasks" | crlf >> "$d/debug-console.log"
expect fail hung-task debug

d=$(logs hung-task-only-console normal)
echo "[  60.1] INFO: task iommufd-beta:93 blocked for more than 45 seconds." | crlf >> "$d/normal-console.log"
expect fail hung-task-only-console normal

d=$(logs soft-lockup normal)
edit "$d/normal-tests.log" '/^HARNESS: EXIT iommufd-beta/,$d'
printf '%s\n' "[  50.0] watchdog: BUG: soft lockup - CPU#1 stuck for 41s! [iommufd-beta:93]" \
	"[  50.1] Kernel panic - not syncing: softlockup: hung tasks" | crlf >> "$d/normal-console.log"
expect fail soft-lockup normal

d=$(logs watchdog-off normal)
edit "$d/normal-tests.log" 's/hung_task_timeout_secs=45/hung_task_timeout_secs=0/'
expect fail watchdog-off normal

d=$(logs watchdog-missing normal)
edit "$d/normal-tests.log" '/^HARNESS: WATCHDOG/d'
expect fail watchdog-missing normal

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
	fails stalled_at_boot "$(logs stall-clean normal)/normal-console.log" "$d/tap"

# --- judge: result handling -------------------------------------------------

# Runs judge in a subshell with a fresh tally; prints "passed failed skipped".
judge_tally() { # judge_tally LOGS FLAVOUR...
	(
		export LOGS=$1
		shift
		passed=0 failed=0 skipped=0
		for f in "$@"; do
			judge "$f" > /dev/null 2>&1
		done
		echo "$passed $failed $skipped"
	)
}

d=$tmp/judge
mkdir -p "$d"
echo "752 0 0" > "$d/bogus.result"
res=$(judge_tally "$d" bogus)
check "judge: a parse.sh that dies counts as a failure, not the stale result ($res)" \
	[ "$res" = "0 1 0" ]
check "judge: deletes the stale result file" [ ! -e "$d/bogus.result" ]

d=$(logs judge-two normal)
echo "752 0 0" > "$d/debug.result"
res=$(judge_tally "$d" normal debug)
check "judge: a failing flavour never reuses the other's counts ($res)" \
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

# --- initramfs.sh: ONLY and ARGS ------------------------------------------------

mkdir -p "$tmp/progs" "$tmp/cpio"
printf '#!/bin/sh\n' > "$tmp/progs/iommufd-alpha"
cp "$tmp/progs/iommufd-alpha" "$tmp/progs/iommufd-beta"
SELFTESTS_OUT=$tmp/progs ONLY=beta ARGS="-r fix.var.t1 -t 'a b' -v x.y" \
	"$REPO/scripts/initramfs.sh" "$tmp/initramfs.cpio" > /dev/null
(cd "$tmp/cpio" && cpio -id --quiet < "$tmp/initramfs.cpio")
check "initramfs: ONLY=beta packs iommufd-beta alone" \
	[ "$(ls "$tmp/cpio/tests")" = iommufd-beta ]
check "initramfs: ARGS are packed one per line, quotes honoured" \
	[ "$(paste -sd'|' "$tmp/cpio/harness/args")" = "-r|fix.var.t1|-t|a b|-v|x.y" ]
check "initramfs: an unknown ONLY fails" \
	fails env SELFTESTS_OUT="$tmp/progs" ONLY=gamma "$REPO/scripts/initramfs.sh" "$tmp/x.cpio"

say "$ok passed, $ko failed ($((SECONDS - t0)) s)"
[ $ko = 0 ]
