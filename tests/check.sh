#!/bin/sh
# check.sh BUILD... - every test, for each build directory given:
# unit tests, then integration tests against that build's daemon.
# A sanitizer build runs with halt_on_error, so any report fails the test
# that caused it: a directory name containing "asan" means ASan + UBSan,
# one containing "tsan" ThreadSanitizer (suppressions in tests/tsan.supp,
# for libraries we link only; the integration harness lets the daemon go
# on after a report and judges its log, see rg_san_check in lib.sh).
# Ends with the total as "N passed, N failed". Integration tests run
# RG_JOBS (default 3) at a time: they mostly wait on their services.
cd "$(dirname "$0")/.." || exit 1
total_p=0 total_f=0 total_s=0

# tally - add the "N passed, N failed[, N skipped]" line of a log
tally() {
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "check: $2 ended without a summary line"
		total_f=$((total_f + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
	total_p=$((total_p + p))
	total_f=$((total_f + f))
	total_s=$((total_s + ${s:-0}))
	echo "check: $2: $line"
}

for build in "$@"; do
	unset ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS
	case "$build" in
	*asan*)
		export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0"
		export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
		;;
	*tsan*)
		export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
		;;
	esac
	log=$(mktemp)
	echo "== unit tests ($build)"
	tests/unit/run.sh "$build" | tee "$log"
	tally "$log" "unit ($build)"
	echo "== integration tests ($build)"
	RG_BIN="$PWD/$build/relayguard" tests/integration/run.sh \
	    -j "${RG_JOBS:-3}" | tee "$log"
	tally "$log" "integration ($build)"
	rm -f "$log"
done
if [ "$total_s" -gt 0 ]; then
	echo "$total_p passed, $total_f failed, $total_s skipped"
else
	echo "$total_p passed, $total_f failed"
fi
[ "$total_f" = 0 ]
