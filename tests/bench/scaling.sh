#!/bin/bash
# scaling.sh - time per message against message size, 1 KB to 10 MB.
#
# milterload sends messages of each size to relayguard over a unix socket
# (one session, so the time is one message's, not a queue's) and reports
# the median time per message, and relayguard's CPU time per message. Cost must grow linearly with size: the
# per-megabyte cost of the largest size may not exceed MAX_SLOPE_RATIO
# times that between the two sizes below it (after subtracting the fixed
# per-message cost measured at the smallest size). Exits 1 when it does.
#
# Knobs: SCALE_SIZES ("1k 10k 100k 1m 10m"), SCALE_BYTES (total bytes per
# size, 400m), ROUNDS (3), MAX_SLOPE_RATIO (1.5), SCALE_SOCKET (unix|tcp).
set -u
. "$(dirname "$0")/lib.sh"

SCALE_SIZES=${SCALE_SIZES:-1k 10k 100k 1m 10m}
SCALE_BYTES=${SCALE_BYTES:-419430400}
ROUNDS=${ROUNDS:-3}
MAX_SLOPE_RATIO=${MAX_SLOPE_RATIO:-1.5}
SCALE_SOCKET=${SCALE_SOCKET:-unix}
RESULTS=${RESULTS:-}

bench_prepare
rg_harness_start
bench_start_unix
if [ "$SCALE_SOCKET" = tcp ]; then
	sock="inet:$RG_MILTER_PORT@127.0.0.1" pid=$RG_MILTER_PID
else
	sock="unix:$RG_UNIX_SOCK" pid=$RG_UNIX_PID
fi

# DKIM-signed messages: verification hashes the whole body
# shellcheck disable=SC2086
bench_corpus "$T/msg" $SCALE_SIZES
bench_machine
echo "scaling: sizes=($SCALE_SIZES) bytes per size=$SCALE_BYTES rounds=$ROUNDS socket=$SCALE_SOCKET"
first=${SCALE_SIZES%% *}
"$MILTERLOAD" -x -c 1 -n 200 -F "$T/msg/$first.eml" "$sock" >/dev/null || rg_fail "warm-up failed"
bench_assert_checks "$T/relayguard$([ "$SCALE_SOCKET" = tcp ] || echo -unix).log" 200 "$sock"

declare -A MS P99 BYTES CPU
for r in $(seq 1 "$ROUNDS"); do
	for size in $SCALE_SIZES; do
		bytes=$(stat -c %s "$T/msg/$size.eml")
		n=$((SCALE_BYTES / bytes))
		[ "$n" -gt 5000 ] && n=5000
		[ "$n" -lt 10 ] && n=10
		c0=$(bench_cpu "$pid")
		out=$("$MILTERLOAD" -x -c 1 -n "$n" -F "$T/msg/$size.eml" "$sock") || rg_fail "milterload: $out"
		c1=$(bench_cpu "$pid")
		CPU[$size]+=" $(awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN { printf "%.4f", c * 1000 / hz / n }')"
		MS[$size]+=" $(bench_kv p50_ms "$out")"
		P99[$size]+=" $(bench_kv p99_ms "$out")"
		BYTES[$size]=$bytes
		[ -n "$RESULTS" ] && echo "scaling size=$size bytes=$bytes round=$r $out" >>"$RESULTS"
		bench_log "$size round $r: $out"
	done
done

echo
printf '%-6s %10s %10s %10s %12s %10s\n' size bytes p50_ms p99_ms "ms per MB" "rg ms/msg"
first=${SCALE_SIZES%% *}
# shellcheck disable=SC2086
base=$(bench_median ${MS[$first]})
prev_b="" prev_ms="" slopes=()
for size in $SCALE_SIZES; do
	# shellcheck disable=SC2086
	med=$(bench_median ${MS[$size]})
	b=${BYTES[$size]}
	# marginal cost per MB between this size and the one before
	slope=-
	if [ -n "$prev_b" ]; then
		slope=$(awk -v m="$med" -v pm="$prev_ms" -v b="$b" -v pb="$prev_b" \
			'BEGIN { printf "%.3f", (m - pm) / ((b - pb) / 1048576) }')
		slopes+=("$slope")
	fi
	# shellcheck disable=SC2086
	printf '%-6s %10s %10s %10s %12s %10s\n' "$size" "$b" "$med" "$(bench_median ${P99[$size]})" \
		"$slope" "$(bench_median ${CPU[$size]})"
	prev_b=$b prev_ms=$med
done
echo "(ms per MB: marginal cost from the size above; fixed cost per message ${base} ms)"
n=${#slopes[@]}
verdict=0
if [ "$n" -ge 2 ]; then
	last=${slopes[$((n - 1))]} before=${slopes[$((n - 2))]}
	ratio=$(awk -v a="$last" -v b="$before" 'BEGIN { if (b <= 0) b = 0.001; printf "%.2f", a / b }')
	echo "slope ratio largest/previous: $ratio (bound $MAX_SLOPE_RATIO)"
	awk -v r="$ratio" -v m="$MAX_SLOPE_RATIO" 'BEGIN { exit !(r > m) }' && verdict=1
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$verdict" = 0 ] && echo "scaling: linear" || echo "scaling: FAIL: worse than linear"
exit "$verdict"
