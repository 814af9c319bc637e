#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test driver behind `make check` and its layers.
#
#   scripts/check.sh all     deps, build, style, host tests, fuzz, KUnit, guest
#   scripts/check.sh style   checkpatch.pl over kmod/, wire/ and uapi/
#   scripts/check.sh host    host tests (tests/host/test_*)
#   scripts/check.sh fuzz    libFuzzer harnesses (tests/fuzz), 30 s each
#   scripts/check.sh kunit   KUnit suites on UML
#   scripts/check.sh guest   in-guest tests (tests/guest/*.sh) under qemu
#
# Every layer leaves "passed failed" in build/results/<layer>.counts; the
# run ends with ONE line "N passed, M failed" over all layers that ran and
# exits non-zero if anything failed (a layer that could not run at all
# counts as one failure, never as a pass).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
results=$repo/build/results
export VDIFS_RESULTS=$results
mkdir -p "$results"

layer_counts() { # layer passed failed
	echo "$2 $3" >"$results/$1.counts"
	echo "== $1: $2 passed, $3 failed"
}

# Check's summary: "100%: Checks: 12, Failures: 0, Errors: 0"
run_host() {
	local passed=0 failed=0 t out line n f e
	rm -f "$results"/host-*.log
	# host tests run against the ASan/UBSan build of everything: a memory
	# error in a server under test fails the run instead of passing by luck
	if ! make -s SANITIZE=1 userspace; then
		layer_counts host 0 1
		return 1
	fi
	for t in build/asan/tests/test_*; do
		[ -x "$t" ] || continue
		out=$results/host-$(basename "$t").log
		echo "-- $t"
		CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120} VDIFS_BIN=$repo/build/asan \
			timeout 900 "$t" >"$out" 2>&1
		local rc=$?
		line=$(grep -E 'Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$out" | tail -n 1)
		if [ -z "$line" ]; then
			echo "   no summary (exit $rc); last lines:"
			tail -n 20 "$out" | sed 's/^/   /'
			failed=$((failed + 1))
			continue
		fi
		n=$(sed -nE 's/.*Checks: ([0-9]+).*/\1/p' <<<"$line")
		f=$(sed -nE 's/.*Failures: ([0-9]+).*/\1/p' <<<"$line")
		e=$(sed -nE 's/.*Errors: ([0-9]+).*/\1/p' <<<"$line")
		echo "   $line"
		grep -E ':[EF]:' "$out" | head -n 20 | sed 's/^/   /'
		passed=$((passed + n - f - e))
		failed=$((failed + f + e))
		if [ "$rc" != 0 ] && [ $((f + e)) = 0 ]; then
			echo "   exit status $rc with no failed check"
			failed=$((failed + 1))
		fi
	done
	layer_counts host "$passed" "$failed"
	[ "$failed" = 0 ]
}

# kernel style: checkpatch.pl over the kernel-side sources, one check a file
run_style() {
	local out p f
	out=$(scripts/checkpatch.sh)
	echo "$out" | grep -v '^PASS: '
	p=$(grep -c '^PASS: ' <<<"$out")
	f=$(grep -c '^FAIL: ' <<<"$out")
	layer_counts style "$p" "$f"
	[ "$f" = 0 ]
}

run_kunit() {
	rm -f "$results/kunit.counts"
	scripts/kunit.sh
	local rc=$?
	if [ ! -f "$results/kunit.counts" ]; then
		layer_counts kunit 0 1
		return 1
	fi
	read -r p f <"$results/kunit.counts"
	[ "$rc" = 0 ] || [ "$f" != 0 ] || f=1
	layer_counts kunit "$p" "$f"
	[ "$f" = 0 ]
}

# the codec under libFuzzer, briefly (make fuzz runs longer): a crash on
# any input, or a regression input crashing again, fails
run_fuzz() {
	local out p f
	if ! make -s fuzz-build; then
		layer_counts fuzz 0 1
		return 1
	fi
	out=$(scripts/fuzz.sh "${VDIFS_FUZZ_SECONDS:-30}")
	echo "$out" | sed 's/^/   /'
	p=$(grep -c '^PASS: ' <<<"$out")
	f=$(grep -c '^FAIL: ' <<<"$out")
	[ "$p" -gt 0 ] || [ "$f" -gt 0 ] || f=1
	layer_counts fuzz "$p" "$f"
	[ "$f" = 0 ]
}

# A guest test prints "PASS: what" / "FAIL: what" lines; the runner's own
# failure (timeout, oops, no status) counts as one more failure.  A test
# may ask for more than the default time with a line "# vm-timeout: SECS"
# (VDIFS_GUEST_TIMEOUT overrides every test's).
run_guest() {
	local passed=0 failed=0 s name dir rc p f t
	if ! make -s module userspace; then
		layer_counts guest 0 1
		return 1
	fi
	for s in tests/guest/[0-9]*.sh; do
		[ -f "$s" ] || continue
		name=$(basename "$s" .sh)
		dir=$results/guest-$name
		rm -rf "$dir"
		echo "-- guest: $s"
		t=$(sed -n 's/^# vm-timeout: *\([0-9][0-9]*\)$/\1/p' "$s" | head -n 1)
		VDIFS_VM_QUIET=1 tests/vm/run \
			--timeout "${VDIFS_GUEST_TIMEOUT:-${t:-900}}" \
			--results "$dir" "$s"
		rc=$?
		p=$(grep -c '^PASS: ' "$dir/console.log" 2>/dev/null)
		f=$(grep -c '^FAIL: ' "$dir/console.log" 2>/dev/null)
		p=${p:-0}
		f=${f:-0}
		grep -E '^(PASS|FAIL): ' "$dir/console.log" 2>/dev/null | sed 's/^/   /'
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			echo "   guest run failed (exit $rc): see $dir/console.log"
			f=1
		fi
		passed=$((passed + p))
		failed=$((failed + f))
	done
	layer_counts guest "$passed" "$failed"
	[ "$failed" = 0 ]
}

summary() {
	local p=0 f=0 l a b
	for l in "$@"; do
		if [ -f "$results/$l.counts" ]; then
			read -r a b <"$results/$l.counts"
		else
			a=0
			b=1
		fi
		p=$((p + a))
		f=$((f + b))
	done
	echo "$p passed, $f failed"
	[ "$f" = 0 ]
}

case "${1:-all}" in
host)
	run_host
	summary host
	;;
kunit)
	run_kunit
	summary kunit
	;;
style)
	run_style
	summary style
	;;
fuzz)
	run_fuzz
	summary fuzz
	;;
guest)
	run_guest
	summary guest
	;;
all)
	rm -f "$results"/*.counts
	if ! make -s deps; then
		echo "make deps failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
	if ! make -s all; then
		echo "build failed"
		echo "0 passed, 1 failed"
		exit 1
	fi
	run_style
	run_host
	run_fuzz
	run_kunit
	run_guest
	summary style host fuzz kunit guest
	;;
*)
	echo "usage: check.sh [all|host|kunit|guest]" >&2
	exit 2
	;;
esac
