#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run every libFuzzer harness (build/fuzz/fuzz_*) for SECONDS each, from a
# corpus that keeps growing between runs (build/fuzz/corpus/NAME, seeded
# from the wire vectors), after replaying the regression inputs
# (tests/fuzz/regress/NAME/*: crashes found once, kept so they stay
# fixed).  A line "PASS: ..." or "FAIL: ..." per harness; a crash leaves
# its input in build/fuzz/crash-NAME-* (copy it into tests/fuzz/regress/
# once fixed).  scripts/fuzz.sh [SECONDS]
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
secs=${1:-60}
out=build/fuzz
fail=0
mkdir -p "$out/corpus/seed"
"$out/seed" "$out/corpus/seed" || {
	echo "FAIL: fuzz: cannot write the seed corpus"
	exit 1
}
for f in "$out"/fuzz_*; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	corpus=$out/corpus/$name
	log=$out/$name.log
	mkdir -p "$corpus"
	regress=(tests/fuzz/regress/"$name"/*)
	if [ -e "${regress[0]}" ] && ! "$f" "${regress[@]}" >"$log" 2>&1; then
		echo "FAIL: $name: a regression input crashes it again (see $log)"
		fail=1
		continue
	fi
	if "$f" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=1200000 -len_control=200 -print_final_stats=1 \
		-artifact_prefix="$out/crash-$name-" \
		"$corpus" "$out/corpus/seed" >"$log" 2>&1; then
		execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log")
		cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
		echo "PASS: $name: ${execs:-?} inputs in $secs s, no crash (${cov:-cov: ?}, corpus $(find "$corpus" -type f | wc -l))"
	else
		echo "FAIL: $name: crashed, input in $out/crash-$name-* (log: $log)"
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -n 5 | sed 's/^/   /'
		fail=1
	fi
done
exit $fail
