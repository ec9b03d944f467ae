#!/bin/sh
# fuzz.sh BUILD - run each libFuzzer target of BUILD (make fuzz builds
# them) for FUZZ_TIME seconds (default 600), one after the other.
# FUZZ_TARGETS="address conf" picks targets; default: every
# tests/fuzz/*_fuzz.c. Each run starts from tests/fuzz/corpus/<target>
# and tests/fuzz/regressions/<target>, and writes what it finds new to
# BUILD/corpus/<target> (never into the tree). A crash, leak, timeout or
# out-of-memory input is copied to tests/fuzz/regressions/<target>/ and
# makes the script fail. Ends with one line per target: runs, execs/s,
# corpus size, findings. Logs: BUILD/logs/<target>.log.
build=${1:-build-fuzz}
cd "$(dirname "$0")/../.." || exit 1
time=${FUZZ_TIME:-600}
targets=${FUZZ_TARGETS:-$(ls tests/fuzz/*_fuzz.c | sed 's|.*/||; s|_fuzz\.c$||')}
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
status=0

# stat - a number from libFuzzer's -print_final_stats lines
stat() {
	sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1
}

for t in $targets; do
	bin=$build/tests/fuzz/${t}_fuzz
	corpus=$build/corpus/$t
	art=$build/artifacts/$t
	log=$build/logs/$t.log
	if [ ! -x "$bin" ]; then
		echo "fuzz: no target $bin"
		status=1
		continue
	fi
	tmp=$PWD/$build/tmp/$t
	rm -rf "$tmp"
	mkdir -p "$corpus" "$art" "$build/logs" "$tmp"
	seeds=tests/fuzz/corpus/$t
	[ -d "tests/fuzz/regressions/$t" ] && seeds="$seeds tests/fuzz/regressions/$t"
	echo "== $t: $time s (log $log)"
	# -close_fd_mask=2: the code's own log lines stay out of the log;
	# libFuzzer's report and any sanitizer report still get there
	TMPDIR=$tmp "$bin" -max_total_time="$time" -timeout=30 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 -close_fd_mask=2 \
	    -artifact_prefix="$art/" "$corpus" $seeds >"$log" 2>&1
	rc=$?
	found=0
	for f in "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*; do
		[ -f "$f" ] || continue
		mkdir -p "tests/fuzz/regressions/$t"
		cp "$f" "tests/fuzz/regressions/$t/"
		echo "fuzz: $t: $(basename "$f") -> tests/fuzz/regressions/$t/"
		# run it once more with stderr open: the broken invariant or the
		# sanitizer's first line
		TMPDIR=$tmp "$bin" "$f" 2>&1 | grep -a -m 2 -E 'invariant broken|ERROR:|runtime error' |
		    cut -c 1-300 | tee -a "$log"
		rm -f "$f"
		found=$((found + 1))
	done
	rm -rf "$tmp"
	if [ "$rc" != 0 ] && [ "$found" = 0 ]; then
		echo "fuzz: $t: exit $rc without a reproducer; see $log"
		found=1
	fi
	[ "$found" = 0 ] || status=1
	runs=$(stat number_of_executed_units "$log")
	rate=$(stat average_exec_per_sec "$log")
	new=$(ls "$corpus" | wc -l)
	corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	printf '%-10s runs=%s execs/s=%s %s %s new-files=%s findings=%s\n' \
	    "$t" "${runs:-?}" "${rate:-?}" "${corp:-corp: ?}" "${cov:-cov: ?}" \
	    "$new" "$found" >>"$summary"
done
echo "== fuzz summary ($time s per target)"
cat "$summary"
exit $status
