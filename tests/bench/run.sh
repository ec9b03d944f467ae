#!/bin/bash
# run.sh [PART...] - the benchmark suite (never part of make check).
#
# PART is e2e, load, memory or scaling; without arguments all four run, in
# that order, each in its own bash with its own private services. Output
# goes to the terminal and to BENCH_OUT (default
# build/bench/bench-YYYYmmdd-HHMM.txt); RESULTS (default BENCH_OUT with
# .kv) collects one key=value line per measurement. Knobs of each part
# are described at the top of its script and in BENCHMARKS.md.
# BENCH_QUICK=1 makes every part short (one round, 1 KB, 10 sessions,
# fewer messages) to check the suite works; its figures are not for the
# record. Exits 1 when a part failed (memory grew, scaling not linear, a
# setup lost mail, a check did not run).
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(e2e load memory scaling)
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	export ROUNDS=${ROUNDS:-1} MESSAGES=${MESSAGES:-300} SIZES=${SIZES:-1k}
	export SESSIONS=${SESSIONS:-10} LOAD_MESSAGES=${LOAD_MESSAGES:-2000}
	export HOLD=${HOLD:-1 100} MEM_MESSAGES=${MEM_MESSAGES:-20000} STEP=${STEP:-5000}
	export WARMUP=${WARMUP:-200}
	export SCALE_SIZES=${SCALE_SIZES:-1k 100k 1m} SCALE_BYTES=${SCALE_BYTES:-52428800}
fi

mkdir -p "$top/build/bench"
BENCH_OUT=${BENCH_OUT:-$top/build/bench/bench-$(date -u +%Y%m%d-%H%M).txt}
RESULTS=${RESULTS:-${BENCH_OUT%.txt}.kv}
export RESULTS
: >"$RESULTS"

# run_parts - every part; status 1 when any failed
run_parts() {
	local p start failed=""
	for p in "${parts[@]}"; do
		echo "==== $p ($(date -u '+%H:%M:%S'), load $(cut -d' ' -f1-3 /proc/loadavg))"
		start=$SECONDS
		bash "$here/$p.sh" || failed+=" $p"
		echo "==== $p took $((SECONDS - start))s"
	done
	[ -z "$failed" ] && return 0
	echo "run.sh: failed:$failed"
	return 1
}

for p in "${parts[@]}"; do
	[ -f "$here/$p.sh" ] || { echo "run.sh: no such part: $p" >&2; exit 2; }
done
run_parts 2>&1 | tee "$BENCH_OUT"
rc=${PIPESTATUS[0]}
grep -q '^bench: ' "$BENCH_OUT" && sed -i '/^bench: /d' "$BENCH_OUT"
echo "report: $BENCH_OUT; measurements: $RESULTS"
exit "$rc"
