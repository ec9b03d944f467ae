#!/bin/sh
# run.sh BUILD - run every unit test binary in BUILD/tests/unit, and the
# replay of each fuzz target's corpus and crash reproducers
# (BUILD/tests/fuzz/*_replay, see tests/fuzz/replay.c), and sum up.
# Ends with the line "N passed, N failed"; exits 1 when any test failed.
build=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
passed=0 failed=0
for t in "$build"/tests/unit/*_test "$build"/tests/fuzz/*_replay; do
	[ -x "$t" ] || continue
	out=$("$t" 2>"$t.stderr")
	rc=$?
	printf '%s\n' "$out" | grep -v '^[0-9]* passed, [0-9]* failed$'
	line=$(printf '%s\n' "$out" | tail -n 1)
	p=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(printf '%s' "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		# crashed before its summary: count it as one failure
		echo "FAIL $(basename "$t"): exit $rc without a summary"
		cat "$t.stderr"
		p=0 f=1
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "FAIL $(basename "$t"): exit $rc"
		cat "$t.stderr"
		f=1
	fi
	echo "unit $(basename "$t"): $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
