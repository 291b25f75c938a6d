#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# bench.sh: make bench.  Builds three kernels from the same 6.12 tree and
# config (kernel.sh): ours (normal), the package's own iommufd (upstream)
# and VFIO's native container and type1 driver (type1), boots each in the
# same VM (boot.sh bench: VT-d, edu) and runs selftests/bench.c's workloads
# there, alternating the kernels over ROUNDS rounds (default 3; each round
# starts with the next kernel, so none always goes first).  Then one
# table: per workload the best figure of each kernel, the ratios ours over
# upstream and over type1 and, for the map and pin rows, ours over the raw
# pin limit (mm's gup_test on our kernel, the same memory).  Ratios are of
# the figures as printed: read them with the row's "better" column.
# Environment: ROUNDS; KERNELS (default "normal upstream type1"); PERF=1
# (each run under perf, its samples in the log for scripts/profile.py);
# BENCH_ARGS, the program's arguments (e.g. "-t", the
# smoke run's tiny sizes; "-g map,pairs" some groups only).  Logs in
# $LOGS/bench/: KERNEL-rN.log (the program's output), KERNEL-rN-console.log,
# table.txt.  Not part of make check (bench_smoke is).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

t_start=$SECONDS
rounds=${ROUNDS:-3}
read -ra kernels <<< "${KERNELS:-normal upstream type1}"
iommu=intel
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS=$rounds: want a number of rounds >= 1"
"$REPO/scripts/deps.sh" || die "cannot install dependencies"
lock_cache
out=$LOGS/bench
mkdir -p "$out"
rm -f "$out"/*.log "$out/table.txt"

for k in "${kernels[@]}"; do
	"$REPO/scripts/kernel.sh" "$k" || die "building the $k kernel failed"
done
"$REPO/scripts/selftests.sh" x86 || die "building the x86 programs failed"
t_built=$SECONDS

# One VM run: the logs of boot.sh copied to the round's names; fails on a
# run that did not finish, a failed workload or a kernel report.
bench_run() {
	local k=$1 r=$2 log=$out/$1-r$2.log con=$out/$1-r$2-console.log t0=$SECONDS
	ONLY='' ARGS=${BENCH_ARGS:-} "$REPO/scripts/boot.sh" "$k" bench "$iommu" ||
		{ say "FAILED: $k round $r did not boot"; return 1; }
	cp "$LOGS/$k-$iommu-bench.log" "$log"
	cp "$LOGS/$k-$iommu-bench-console.log" "$con"
	say "$k round $r: $((SECONDS - t0)) s, $(grep -c '^BENCH ' "$log") figures"
	if ! grep -q '^BENCH-END 0 groups failed' "$log" || ! grep -q '^HARNESS: DONE' "$log"; then
		say "FAILED: $k round $r: $(grep -m 3 -E '^BENCH-ERROR|^BENCH-END' "$log" | paste -sd';')"
		return 1
	fi
	if grep -qE '(BUG|WARNING|INFO): |Oops|Kernel panic|kernel BUG|general protection fault|soft lockup' "$con"; then
		say "FAILED: $k round $r: kernel report: $(grep -m 1 -E '(BUG|WARNING|INFO): |Oops|Kernel panic|kernel BUG|general protection fault|soft lockup' "$con")"
		return 1
	fi
}

bad=0
for ((r = 1; r <= rounds; r++)); do
	for ((i = 0; i < ${#kernels[@]}; i++)); do
		k=${kernels[(i + r - 1) % ${#kernels[@]}]}
		say "== round $r/$rounds: $k kernel"
		bench_run "$k" "$r" || bad=$((bad + 1))
	done
done
t_runs=$((SECONDS - t_built))

# The table: the best value per kernel over the rounds (max or min, by the
# row's direction), rows in the order our kernel printed them.
table() {
	awk '
	FNR == 1 {
		k = FILENAME; sub(/.*\//, "", k); sub(/-r[0-9]+\.log$/, "", k)
	}
	# The VM serial port ends lines with CR LF.
	{ sub(/\r$/, "") }
	$1 == "BENCH" {
		name = $2; val = $3; unit[name] = $4; dir[name] = $5
		if (!(name in seen)) { seen[name] = 1; order[n++] = name }
		if (val == "n/a") {
			why = $0; sub(/^BENCH [^ ]+ n\/a [^ ]+ [^ ]+ ?/, "", why)
			if (!((k, name) in best)) na[k, name] = why
			next
		}
		if (!((k, name) in best) ||
		    (dir[name] == "higher" ? val + 0 > best[k, name] : val + 0 < best[k, name]))
			best[k, name] = val + 0
	}
	function num(v) {
		return v >= 100 ? sprintf("%.0f", v) : sprintf("%.3g", v)
	}
	function fig(k, name) {
		if ((k, name) in best) return num(best[k, name])
		return (k, name) in na ? "n/a" : "-"
	}
	function ratio(a, b, name) {
		if (!((a, name) in best) || !((b, name) in best) || best[b, name] == 0)
			return "-"
		return sprintf("%.2f", best[a, name] / best[b, name])
	}
	# The pin limit of a map or pin row: gup_test on our kernel, the
	# same kind of memory.
	function gup_ratio(name,   g) {
		g = ""
		if (name ~ /^map_(4k|thp|huge)$/) { g = name; sub(/^map_/, "gup_pin_", g) }
		else if (name == "map_2dom_4k" || name == "access_pin_16m") g = "gup_pin_4k"
		else if (name == "access_pin_page") g = "gup_pin_page"
		if (g == "" || !(("normal", name) in best) || !(("normal", g) in best))
			return ""
		return sprintf("%.2f", best["normal", name] / best["normal", g])
	}
	END {
		fmt = "%-24s %-8s %-6s %10s %10s %10s %8s %8s %8s\n"
		printf fmt, "workload", "unit", "better", "ours", "upstream", "type1",
			"ours/up", "ours/t1", "ours/gup"
		for (i = 0; i < n; i++) {
			r = order[i]
			printf fmt, r, unit[r], dir[r], fig("normal", r), fig("upstream", r),
				fig("type1", r), ratio("normal", "upstream", r),
				ratio("normal", "type1", r), gup_ratio(r)
		}
		# The rows n/a on a kernel, by kernel and reason.
		for (kk = 0; kk < 3; kk++) {
			k = kk == 0 ? "normal" : kk == 1 ? "upstream" : "type1"
			split("", rows); nw = 0
			for (i = 0; i < n; i++) {
				r = order[i]
				if (!((k, r) in na) || (k, r) in best)
					continue
				if (!(na[k, r] in rows)) { rows[na[k, r]] = ""; wo[nw++] = na[k, r] }
				rows[na[k, r]] = rows[na[k, r]] " " r
			}
			for (j = 0; j < nw; j++)
				printf "n/a on %s (%s):%s\n", k, wo[j], rows[wo[j]]
		}
	}' "$@"
}

runs=()
for k in "${kernels[@]}"; do
	for ((r = 1; r <= rounds; r++)); do
		[ -s "$out/$k-r$r.log" ] && runs+=("$out/$k-r$r.log")
	done
done
[ ${#runs[@]} -gt 0 ] || die "no benchmark output in $out"
{
	echo "make bench: $rounds round(s), kernels ours (normal) / upstream / type1 under $iommu;" \
		"$(grep -m 1 '^BENCH-INFO' "${runs[0]}" | cut -d' ' -f4-)"
	echo "ours = this tree's iommufd; upstream = the package's own; type1 = VFIO's own container (device rows only)"
	table "${runs[@]}"
	echo "built in $((t_built - t_start)) s; $((rounds * ${#kernels[@]})) VM runs in $t_runs s; total $((SECONDS - t_start)) s; $bad failed run(s)"
} | tee "$out/table.txt"
say "table in $out/table.txt"
[ $bad = 0 ]
