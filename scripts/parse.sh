#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# parse.sh FLAVOUR: judge one VM run from its two logs.  Counts the TAP
# results of the test programs; a failed test, a program that died, a run
# that did not finish, a kmemleak report or any kernel oops/BUG/WARN/KASAN/
# lockdep report in the console log is a failure.  Prints the evidence and
# writes "PASSED FAILED" to logs/FLAVOUR.result.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:?usage: parse.sh FLAVOUR}
console=$LOGS/$flavour-console.log
tap=$LOGS/$flavour-tests.log
touch "$console" "$tap"
tr -d '\r' < "$tap" > "$tap.clean"

read -r pass fail skip < <(awk '
	/^HARNESS: RUN / { prog = $3; bad[prog] = 0 }
	/^ok [0-9]+ / { if ($0 ~ /# SKIP/) skip++; else pass++ }
	/^not ok [0-9]+ / { fail++; bad[prog]++ }
	/^HARNESS: EXIT / {
		if ($4 != 0 && $4 != 4 && bad[$3] == 0) {
			fail++
			print "program " $3 " exited with status " $4 > "/dev/stderr"
		}
	}
	END { print pass + 0, fail + 0, skip + 0 }' "$tap.clean")

grep -E '^not ok ' "$tap.clean" | sed 's/^/  FAILED: /' || true

if ! grep -q '^HARNESS: DONE' "$tap.clean"; then
	fail=$((fail + 1))
	echo "  FAILED: the VM did not finish the run (crash or timeout); end of console log:"
	tail -n 40 "$console" | sed 's/^/    /'
fi

leaks=$(sed -n '/^HARNESS: KMEMLEAK BEGIN/,/^HARNESS: KMEMLEAK END/p' "$tap.clean" |
	grep -v '^HARNESS:' || true)
if [ -n "$leaks" ]; then
	fail=$((fail + 1))
	echo "  FAILED: kmemleak reports:"
	echo "$leaks" | head -n 60 | sed 's/^/    /'
fi

pattern='(BUG|WARNING|INFO): |Oops|Kernel panic|kernel BUG|general protection fault|UBSAN|Call Trace:|suspected memory leak|possible circular locking|possible recursive locking'
if grep -qE "$pattern" "$console"; then
	fail=$((fail + 1))
	echo "  FAILED: kernel reports in $console:"
	grep -nE -A 25 "$pattern" "$console" | head -n 120 | sed 's/^/    /'
fi

say "$flavour kernel: $pass passed, $fail failed, $skip skipped"
echo "$pass $fail" > "$LOGS/$flavour.result"
