#!/bin/bash
# load.sh - relayguard alone under milterload: TCP against unix socket.
#
# milterload speaks the milter protocol to relayguard as Postfix does, so
# this measures relayguard's own work and the milter transport without
# Postfix: messages per second, per-message latency p50/p99/p99.9 (first
# command to final reply at end of message, connection set-up included),
# and relayguard's CPU time per message. Both daemons run the same
# configuration (tests/bench/relayguard.conf: every check on, DNS from
# the harness's unbound, rate limits in its Redis) on the same
# DKIM-signed messages (bench_corpus); transports take turns. After the
# warm-up (which fills relayguard's DNS cache) the summary lines must
# show every check at work (bench_assert_checks).
#
# The same load against nullfilter (tests/bench/nullfilter.c: relayguard's
# side of the protocol, no checks) over a unix socket gives the floor:
# what libmilter and the transport cost before relayguard does anything.
# Row mem is relayguard over a unix socket with its counters in the
# embedded store (kv_backend = memory, the default) instead of Redis:
# between null, mem and unix lie the checks and the Redis round trips.
# One session (the first of SESSIONS) gives the latency of one message
# without queueing: the figure the p99 target is read from.
#
# A TCP stall shows as a median latency far above the unix socket's:
# exits 1 when TCP's p50 exceeds unix's both by more than STALL_MS (20)
# and by more than STALL_RATIO (1.5) times; the Nagle/delayed-ACK stall of
# BENCHMARKS.md added 40 ms a message (44 ms against 3 ms at 10 sessions,
# 47 against 16 at 50). The ratio keeps 50 saturated sessions from
# tripping it: there the median is mostly queueing, which grows with the
# CPU a message costs, and TCP costs more (it keeps replies the unix
# socket does without).
#
# Knobs: ROUNDS (3), LOAD_MESSAGES (5000), SESSIONS ("1 10 50"), SIZES
# ("1k 20k 200k"), PER_CONN (1: one message per milter connection),
# STALL_MS (20), STALL_RATIO (1.5).
set -u
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3}
LOAD_MESSAGES=${LOAD_MESSAGES:-5000}
SESSIONS=${SESSIONS:-1 10 50}
SIZES=${SIZES:-1k 20k 200k}
PER_CONN=${PER_CONN:-1}
STALL_MS=${STALL_MS:-20}
STALL_RATIO=${STALL_RATIO:-1.5}
RESULTS=${RESULTS:-}
HZ=$(getconf CLK_TCK)

bench_prepare
rg_harness_start
bench_start_unix
bench_start_mem
bench_start_null
VIAS="tcp unix mem null"
declare -A SOCK=([tcp]="inet:$RG_MILTER_PORT@127.0.0.1" [unix]="unix:$RG_UNIX_SOCK" [mem]="unix:${UNIX_SOCK[mem]}" [null]="unix:$NULL_SOCK")
declare -A PID=([tcp]=$RG_MILTER_PID [unix]=$RG_UNIX_PID [mem]=${UNIX_PID[mem]} [null]=$NULL_PID)

declare -A LOG=([tcp]=$T/relayguard.log [unix]=$T/relayguard-unix.log [mem]=$T/relayguard-mem.log)
# shellcheck disable=SC2086
bench_corpus "$T/msg" $SIZES

bench_machine
echo "load: rounds=$ROUNDS messages=$LOAD_MESSAGES sessions=($SESSIONS) sizes=($SIZES) per_conn=$PER_CONN"
for t in $VIAS; do
	for size in $SIZES; do
		"$MILTERLOAD" -x -c 10 -n 500 -F "$T/msg/$size.eml" "${SOCK[$t]}" >/dev/null ||
			rg_fail "warm-up over $t failed"
	done
	[ "$t" = null ] && continue
	conf=""
	[ "$t" != mem ] || conf=$T/relayguard-mem.conf
	bench_assert_checks "${LOG[$t]}" 500 "${SOCK[$t]}" "$conf"
done

declare -A RATE P50 P99 P999 CPU
for size in $SIZES; do
	for sess in $SESSIONS; do
		order=$VIAS
		for r in $(seq 1 "$ROUNDS"); do
			for t in $order; do
				c0=$(bench_cpu "${PID[$t]}")
				out=$("$MILTERLOAD" -x -c "$sess" -n "$LOAD_MESSAGES" -m "$PER_CONN" \
					-F "$T/msg/$size.eml" "${SOCK[$t]}") || rg_fail "milterload over $t: $out"
				c1=$(bench_cpu "${PID[$t]}")
				k="$size/$sess/$t"
				RATE[$k]+=" $(bench_kv msgs_per_s "$out")"
				P50[$k]+=" $(bench_kv p50_ms "$out")"
				P99[$k]+=" $(bench_kv p99_ms "$out")"
				P999[$k]+=" $(bench_kv p999_ms "$out")"
				CPU[$k]+=" $(awk -v c=$((c1 - c0)) -v hz="$HZ" -v n="$LOAD_MESSAGES" 'BEGIN { printf "%.3f", c * 1000 / hz / n }')"
				[ -n "$RESULTS" ] && echo "load size=$size sessions=$sess transport=$t round=$r $out" >>"$RESULTS"
				bench_log "$size x$sess $t round $r: $out"
			done
			order=$(printf '%s\n' $order | tac | tr '\n' ' ')
		done
	done
done

stall=""
echo
printf '%-6s %-5s %-5s %9s %7s %8s %8s %8s %10s\n' size sess via "msg/s" "vs unix" p50_ms p99_ms p999_ms "rg ms/msg"
for size in $SIZES; do
	for sess in $SESSIONS; do
		# shellcheck disable=SC2086
		unix_med=$(bench_median ${RATE[$size/$sess/unix]})
		for t in $VIAS; do
			k="$size/$sess/$t"
			# shellcheck disable=SC2086
			med=$(bench_median ${RATE[$k]})
			# shellcheck disable=SC2086
			printf '%-6s %-5s %-5s %9s %7s %8s %8s %8s %10s\n' "$size" "$sess" "$t" "$med" \
				"$(bench_ratio "$med" "$unix_med")" "$(bench_median ${P50[$k]})" \
				"$(bench_median ${P99[$k]})" "$(bench_median ${P999[$k]})" \
				"$(bench_median ${CPU[$k]})"
		done
		# shellcheck disable=SC2086
		tp=$(bench_median ${P50[$size/$sess/tcp]})
		# shellcheck disable=SC2086
		up=$(bench_median ${P50[$size/$sess/unix]})
		gap=$(awk -v t="$tp" -v u="$up" 'BEGIN { printf "%.1f", t - u }')
		if awk -v t="$tp" -v u="$up" -v m="$STALL_MS" -v r="$STALL_RATIO" \
			'BEGIN { exit !(t - u > m && t > u * r) }'; then
			stall+=" $size/x$sess(+${gap}ms)"
		fi
	done
done
echo "mem: relayguard over a unix socket, counters in the embedded store instead of Redis"
echo "null: nullfilter, relayguard's side of the protocol without any check (unix socket)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$stall" ]; then
	echo "load: FAIL: TCP median latency above unix by more than ${STALL_MS} ms and ${STALL_RATIO}x:$stall"
	exit 1
fi
exit 0
