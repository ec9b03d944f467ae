#!/bin/bash
# memory.sh - relayguard's resident memory: idle, with 1, 100 and 1000
# concurrent idle sessions, and over 100,000 messages.
#
# Figures are VmRSS and RssAnon from /proc/PID/status (kB). Idle sessions
# are milterload -H: connected, negotiated, CONNECT and HELO answered, then
# quiet. For the message run, WARMUP messages come first; after that,
# RssAnon is sampled every STEP messages and must not grow by more than
# GROWTH_KB from the first sample (a leak of even 100 bytes a message
# would show as ~10 MB over 100,000). Exits 1 when it does.
#
# Knobs: HOLD ("1 100 1000"), MEM_MESSAGES (100000), WARMUP (10000),
# STEP (10000), GROWTH_KB (2048), SESSIONS (10).
set -u
. "$(dirname "$0")/lib.sh"

HOLD=${HOLD:-1 100 1000}
MEM_MESSAGES=${MEM_MESSAGES:-100000}
WARMUP=${WARMUP:-10000}
STEP=${STEP:-10000}
GROWTH_KB=${GROWTH_KB:-2048}
SESSIONS=${SESSIONS:-10}
RESULTS=${RESULTS:-}

# one thread and one descriptor per session in relayguard (libmilter), and
# one descriptor per session in milterload: both inherit this limit
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

bench_prepare
rg_harness_start
# the unix-socket daemon: its figures do not depend on the transport, and
# it has no TCP stall to wait out (BENCHMARKS.md)
bench_start_unix
pid=$RG_UNIX_PID
sock="unix:$RG_UNIX_SOCK"
# the messages: DKIM-signed, 20 KB, every check at work on them
bench_corpus "$T/msg" 20k
msg=$T/msg/20k.eml

bench_machine
echo "memory: hold=($HOLD) messages=$MEM_MESSAGES warmup=$WARMUP step=$STEP sessions=$SESSIONS"
echo
printf '%-28s %10s %10s %8s\n' state "VmRSS kB" "RssAnon kB" threads
row() {
	printf '%-28s %10s %10s %8s\n' "$1" "$2" "$3" "$4"
	[ -n "$RESULTS" ] && echo "memory state=\"$1\" vmrss_kb=$2 rssanon_kB=$3 threads=$4" >>"$RESULTS"
	return 0
}
# shellcheck disable=SC2046
row "started, no session" $(bench_rss "$pid") "$(bench_threads "$pid")"

for h in $HOLD; do
	out=$T/hold.$h.out
	"$MILTERLOAD" -H "$h" -w 600 "$sock" >"$out" 2>&1 &
	ml=$!
	i=0
	until grep -q '^holding=' "$out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 600 ] && rg_fail "milterload -H $h did not get its sessions in 60s"
		rg__alive "$ml" || { cat "$out" >&2; rg_fail "milterload -H $h exited"; }
		sleep 0.1
	done
	grep -q "^holding=$h\$" "$out" || { cat "$out" >&2; rg_fail "only $(cat "$out") of $h sessions"; }
	sleep 1
	# shellcheck disable=SC2046
	row "$h idle sessions" $(bench_rss "$pid") "$(bench_threads "$pid")"
	kill -TERM "$ml" 2>/dev/null
	wait "$ml" 2>/dev/null
	# libmilter's workers finish the closes the MTA side caused
	sleep 1
	i=0
	while [ "$(bench_threads "$pid")" -gt 8 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	# shellcheck disable=SC2046
	row "after $h sessions closed" $(bench_rss "$pid") "$(bench_threads "$pid")"
done

"$MILTERLOAD" -x -c "$SESSIONS" -n "$WARMUP" -F "$msg" "$sock" >/dev/null || rg_fail "warm-up failed"
bench_assert_checks "$T/relayguard-unix.log" 100 "$sock"
read -r _ first < <(bench_rss "$pid")
# shellcheck disable=SC2046
row "after $WARMUP warm-up messages" $(bench_rss "$pid") "$(bench_threads "$pid")"
done_n=0 peak=$first
while [ "$done_n" -lt "$MEM_MESSAGES" ]; do
	"$MILTERLOAD" -x -c "$SESSIONS" -n "$STEP" -F "$msg" "$sock" >/dev/null || rg_fail "milterload failed"
	done_n=$((done_n + STEP))
	read -r rss anon < <(bench_rss "$pid")
	[ "$anon" -gt "$peak" ] && peak=$anon
	row "after $done_n more messages" "$rss" "$anon" "$(bench_threads "$pid")"
done
growth=$((peak - first))
echo "RssAnon growth after warm-up: ${growth} kB (bound ${GROWTH_KB} kB)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$growth" -le "$GROWTH_KB" ] || { echo "memory: FAIL: grew by $growth kB"; exit 1; }
exit 0
