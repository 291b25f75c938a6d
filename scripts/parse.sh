#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# parse.sh FLAVOUR [IOMMU]: judge one VM run, FLAVOUR-IOMMU (IOMMU defaults
# to the flavour's, see boot.sh), from its two logs in $LOGS
# (FLAVOUR-IOMMU-console.log, FLAVOUR-IOMMU-tests.log), print the evidence,
# write "PASSED FAILED SKIPPED" to $LOGS/FLAVOUR-IOMMU.result and exit 0 if
# the run passed, 1 if not.
#
# PASSED and SKIPPED count the TAP results ("ok N ...", "ok N ... # SKIP");
# FAILED counts the failed results ("not ok N ...") plus one for each
# problem of the run:
#   - a program without a TAP plan ("1..N"), with a plan that disagrees with
#     its number of results, that never returned, or that exited non-zero
#     without a failed result ("Bail out!" too); no result at all;
#   - a test log that does not end with "HARNESS: DONE" and a newline (the
#     VM crashed, panicked, timed out, or the output was cut off);
#   - the hung-task and soft-lockup detectors not armed;
#   - the VM without the IOMMU the run asked for, or the edu device not
#     translated by it;
#   - on a kernel with kmemleak: a leak report, or kmemleak disabled, or its
#     section missing from the test log;
#   - any kernel report in the console log (oops, BUG, WARNING, KASAN,
#     lockdep, UBSAN, hung task, soft lockup, RCU stall, panic, ...).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:?usage: parse.sh FLAVOUR [IOMMU]}
iommu=$(flavour_iommu "$flavour" "${2:-}")
run=$flavour-$iommu
console=$LOGS/$run-console.log
tap=$LOGS/$run-tests.log
result=$LOGS/$run.result
# Programs that are not TAP programs: their exit status is their one result.
NO_TAP="iommufd-demo"
rm -f "$result"

problems=0
problem() {
	problems=$((problems + 1))
	echo "  FAILED: $*"
}
# excerpt N: the first N lines of stdin, indented.  Reads all its input, so
# that the command writing into the pipe never dies of SIGPIPE.
excerpt() {
	awk -v n="$1" 'NR <= n { print "    " $0 }
		END { if (NR > n) print "    ... (" NR - n " more lines)" }'
}

for f in "$console" "$tap"; do
	[ -s "$f" ] || problem "$f is missing or empty"
done
tr -d '\r' < "$tap" > "$tap.clean" 2>/dev/null || : > "$tap.clean"

# The TAP results, program by program.  Prints "NOTOK PROG LINE" for each
# failed result, "PROBLEM TEXT" for each problem, then "COUNTS P F S
# PROGRAMS RESULTS".
tap_summary() {
	awk -v no_tap=" $NO_TAP " '
	function start(name) {
		prog = name; plan = ""; plans = 0; results = 0; bad = 0
		exited = 0; status = ""; progs++
	}
	function finish() {
		if (prog == "")
			return
		if (index(no_tap, " " prog " ")) {
			if (exited && status == 0)
				pass++
			else
				problem(prog " exited with status " (exited ? status : "none: it never returned"))
		} else {
			if (plan == "")
				problem(prog ": no TAP plan (\"1..N\"): it died before printing TAP, or is no TAP program")
			else if (plan != results)
				problem(prog ": TAP plan 1.." plan " but " results " results")
			if (plans > 1)
				problem(prog ": " plans " TAP plans")
			if (!exited)
				problem(prog ": never returned (no HARNESS: EXIT line)")
			else if (status != 0 && bad == 0)
				problem(prog ": exited with status " status " without a failed test")
		}
		prog = ""
	}
	function problem(text) { print "PROBLEM " text; fail++ }
	/^HARNESS: RUN / { finish(); start($3); next }
	/^HARNESS: EXIT / { exited = 1; status = $4; finish(); next }
	prog == "" { next }
	/^1\.\.[0-9]+/ { plans++; if (plan == "") { plan = substr($1, 4) + 0 }; next }
	/^ok [0-9]+( |$)/ { results++; total++; if ($0 ~ /# [Ss][Kk][Ii][Pp]/) skip++; else pass++; next }
	/^not ok [0-9]+( |$)/ { results++; total++; bad++; fail++; print "NOTOK " prog " " $0; next }
	/^Bail out!/ { problem(prog ": " $0) }
	END {
		finish()
		if (progs == 0)
			problem("no test program ran")
		else if (total == 0)
			problem("no test result at all")
		print "COUNTS", pass + 0, fail + 0, skip + 0, progs + 0, total + 0
	}' "$tap.clean"
}

pass=0 fail=0 skip=0 progs=0 results=0 notok=0 counted=
while IFS= read -r line; do
	case "$line" in
	"NOTOK "*)
		notok=$((notok + 1))
		[ $notok -gt 50 ] || echo "  FAILED: ${line#NOTOK }"
		;;
	"PROBLEM "*) echo "  FAILED: ${line#PROBLEM }" ;;
	"COUNTS "*) read -r _ pass fail skip progs results <<< "$line"; counted=1 ;;
	esac
done < <(tap_summary)
[ $notok -le 50 ] || echo "  ... and $((notok - 50)) more failed results"
# The problems awk found are already in $fail.
[ -n "$counted" ] || problem "could not count the TAP results of $tap"
say "test programs run: $progs; TAP results: $results, each program's checked against its plan"

# The end of the run: init's last line, complete.
last=$(tail -n 1 "$tap.clean")
if [ "$last" != "HARNESS: DONE" ]; then
	problem "the VM did not finish the run (crash, panic or timeout): last line of $tap: '$last'"
	echo "    end of $console:"
	{ tail -n 40 "$console" 2>/dev/null || true; } | excerpt 40
elif [ "$(tail -c 1 "$tap" | od -An -c | tr -d ' ')" != '\n' ]; then
	problem "the last line of $tap has no newline: the output was cut off"
else
	say "run complete: the test log ends with HARNESS: DONE"
fi

# The deadlock detectors (see config/base.config, boot.sh) must be armed.
wd=$(grep -m 1 '^HARNESS: WATCHDOG ' "$tap.clean" || true)
if [[ $wd =~ hung_task_timeout_secs=([1-9][0-9]*)\ hung_task_panic=1\ soft_watchdog=1\ watchdog_thresh=([1-9][0-9]*)\ softlockup_panic=1 ]]; then
	say "deadlock detectors armed: hung task after ${BASH_REMATCH[1]} s, soft lockup after $((2 * BASH_REMATCH[2])) s, both panic"
else
	problem "hung-task/soft-lockup detectors not armed: '${wd:-no HARNESS: WATCHDOG line}'"
fi

# The IOMMU: init reports "HARNESS: IOMMU want=IOMMU class=ENTRIES edu=BDF
# group=N type=TYPE" (/sys/class/iommu, the edu device's iommu group and its
# default domain).  The IOMMU asked for must be there, with the edu device
# in a translated (DMA) domain.
case "$iommu" in
intel) class_re='dmar[0-9]+' ;;
amd) class_re='ivhd[0-9]+' ;;
# virtio-iommu's entry is named after its PCI device
virtio) class_re='[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]' ;;
smmuv3) class_re='smmu3\.0x[0-9a-f]+' ;;
esac
io=$(grep -m 1 '^HARNESS: IOMMU ' "$tap.clean" || true)
if ! [[ $io =~ ^HARNESS:\ IOMMU\ want=([^ ]*)\ class=([^ ]*)\ edu=([^ ]*)\ group=([^ ]*)\ type=([^ ]*)$ ]]; then
	problem "no IOMMU report from the VM: '${io:-no HARNESS: IOMMU line}'"
else
	want=${BASH_REMATCH[1]} class=${BASH_REMATCH[2]} edu=${BASH_REMATCH[3]}
	group=${BASH_REMATCH[4]} type=${BASH_REMATCH[5]}
	if [ "$want" != "$iommu" ]; then
		problem "the VM was booted for IOMMU '$want', not $iommu: '$io'"
	elif ! grep -qxE "$class_re" <<< "${class//,/$'\n'}"; then
		problem "the $iommu IOMMU is absent: /sys/class/iommu has '$class', no entry like '$class_re'"
	elif [ "$edu" = none ] || [ "$group" = none ]; then
		problem "the edu device is missing or in no iommu group: edu=$edu group=$group"
	elif [ "$type" != DMA ] && [ "$type" != DMA-FQ ]; then
		problem "the edu device's default domain is '$type', not translated (DMA)"
	else
		say "IOMMU: $iommu present ($class); edu $edu in iommu group $group, default domain $type"
	fi
fi

# kmemleak: init scans at the end and copies the reports between markers.
leaks=$(sed -n '/^HARNESS: KMEMLEAK BEGIN/,/^HARNESS: KMEMLEAK END/p' "$tap.clean" |
	grep -v '^HARNESS:' || true)
if [ -n "$leaks" ]; then
	problem "kmemleak reports:"
	excerpt 60 <<< "$leaks"
fi
if has_option "$flavour" CONFIG_DEBUG_KMEMLEAK; then
	if grep -q '^HARNESS: KMEMLEAK DISABLED' "$tap.clean" ||
	   grep -qE 'kmemleak: .*(disabled|Memory pool empty|Cannot allocate)' "$console"; then
		problem "kmemleak was disabled during the run: its leak reports cannot be trusted"
		{ grep -hE 'kmemleak:|HARNESS: KMEMLEAK' "$console" "$tap.clean" || true; } | excerpt 10
	elif ! grep -q '^HARNESS: KMEMLEAK END' "$tap.clean"; then
		problem "no kmemleak section in $tap, though this kernel has kmemleak"
	elif [ -z "$leaks" ]; then
		say "kmemleak: scanned after the tests, no leak"
	fi
fi

# Kernel reports in the console log.
pattern='(BUG|WARNING|INFO): |Oops|Kernel panic|kernel BUG|general protection fault'
pattern="$pattern|UBSAN|Call Trace:|suspected memory leak|possible circular locking"
pattern="$pattern|possible recursive locking|blocked for more than|soft lockup|hard LOCKUP"
pattern="$pattern|detected stalls|Call trace:|Internal error:|Unable to handle kernel"
reports=$(grep -cE "$pattern" "$console" 2>/dev/null || true)
if [ "${reports:-0}" != 0 ]; then
	problem "$reports kernel report lines in $console; the first:"
	{ grep -nE -A 25 "$pattern" "$console" || true; } | excerpt 120
else
	say "console: no kernel report (oops, BUG, WARNING, KASAN, lockdep, hung task, lockup, ...)"
fi

fail=$((fail + problems))
say "$run: $pass passed, $fail failed, $skip skipped"
echo "$pass $fail $skip" > "$result"
[ "$fail" = 0 ]
