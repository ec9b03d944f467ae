#!/bin/bash
# e2e.sh - relayguard against bare Postfix, end to end, in one run.
#
# One private Postfix (tests/integration/lib.sh) with one smtpd listener per
# setup, all relaying to one smtp-sink:
#   bare      no milter
#   plain     a do-nothing libmilter filter (nullfilter -n), unix socket
#   null      nullfilter: relayguard's side of the milter protocol (same
#             stages, no-reply steps, macro lists, two fields added) and
#             no checks, unix socket: the floor relayguard stands on
#   tcp       relayguard over TCP (inet:127.0.0.1:port)
#   unix      a second relayguard, same configuration, over a unix socket
#   opendkim  OpenDKIM then OpenDMARC, Debian's packages (peers.sh), unix
#   rspamd    rspamd's proxy in milter mode, Debian's package (peers.sh), unix
#   opendkim-tcp, rspamd-tcp  the same over TCP, as the performance issue
#             measured them
#   mem       relayguard over a unix socket with its counters in the
#             embedded store (kv_backend = memory, the default) instead of
#             Redis: what the Redis round trips cost end to end
#   unix-b    another relayguard build (RG_BIN_B), same configuration, unix
#             socket: a before/after comparison in one run (not by default)
# Every relayguard check is on (relayguard.conf) and the messages are
# DKIM-signed with links (bench_corpus); before measuring, the summary
# lines must show each check at work (bench_assert_checks), and each peer
# must have passed SPF, DKIM and DMARC (bench_assert_peers).
# smtp-source injects MESSAGES messages over S concurrent SMTP sessions;
# a setup's rate is MESSAGES divided by the time from the first connection
# until the sink has received the last message (smtp-source returns when
# the last one is queued, not delivered). Setups take turns within each
# round (order reversed every other round), medians over ROUNDS are
# reported with the ratio to bare Postfix, plus the CPU time per message
# of the MTA side (Postfix and relayguard) and of relayguard alone, and
# their ratio: on a shared or busy machine throughput is noisy, CPU time
# per message much less so. The peers are compared with relayguard over
# the unix socket, as they run: rate and filter CPU per message.
#
# Knobs: ROUNDS (3), MESSAGES (1000), SESSIONS ("10 50"), SIZES ("1k 20k
# 200k"), SETUPS ("bare plain null tcp unix mem opendkim opendkim-tcp
# rspamd rspamd-tcp"), REUSE=1 (several messages per SMTP
# session: smtp-source -d), WARMUP (200). Prints a table; RESULTS=FILE
# also writes one line per measurement there.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"

ROUNDS=${ROUNDS:-3}
MESSAGES=${MESSAGES:-1000}
SESSIONS=${SESSIONS:-10 50}
SIZES=${SIZES:-1k 20k 200k}
SETUPS=${SETUPS:-bare plain null tcp unix mem opendkim opendkim-tcp rspamd rspamd-tcp}
REUSE=${REUSE:-0}
WARMUP=${WARMUP:-200}
RESULTS=${RESULTS:-}
HZ=$(getconf CLK_TCK)

bench_prepare

# ---------------------------------------------------------------- set-up

declare -A PORT SPEC
# bench_milter_spec SETUP - the smtpd_milters value (literal $T and ports
# are substituted by the harness)
bench_milter_spec() {
	case "$1" in
	bare) echo "" ;;
	plain) echo 'unix:$T/plain.sock' ;;
	null) echo 'unix:$T/null.sock' ;;
	unix-b) echo 'unix:$T/rgb.sock' ;;
	mem) echo 'unix:$T/mem.sock' ;;
	tcp) echo 'inet:127.0.0.1:$RG_MILTER_PORT' ;;
	unix) echo 'unix:$T/rg.sock' ;;
	opendkim) echo 'unix:$T/peers/run/opendkim.sock,unix:$T/peers/run/opendmarc.sock' ;;
	rspamd) echo 'unix:$T/peers/run/rspamd.sock' ;;
	opendkim-tcp) echo "inet:$PEERS_ADDR:8891,inet:$PEERS_ADDR:8893" ;;
	rspamd-tcp) echo "inet:$PEERS_ADDR:11332" ;;
	*) rg_fail "unknown setup $1" ;;
	esac
}

master_extra=""
for s in $SETUPS; do
	rg__pick_port || rg_fail "no free port"
	PORT[$s]=$RG__PORT
	SPEC[$s]=$(bench_milter_spec "$s")
	# an empty -o value clears the main.cf milter list for this listener
	master_extra+="127.0.0.1:${PORT[$s]} inet n - n - - smtpd -o smtpd_milters=${SPEC[$s]}"$'\n'
done
rg__pick_port || rg_fail "no free port"
BENCH_SINK_PORT=$RG__PORT
RG_POSTFIX_MASTER_EXTRA=$master_extra
RG_POSTFIX_EXTRA="relayhost = [127.0.0.1]:$BENCH_SINK_PORT
# many messages to one destination: let qmgr open enough connections
default_destination_concurrency_limit = 50
relay_destination_concurrency_limit = 50"

rg_harness_start
case " $SETUPS " in *" unix "*) bench_start_unix ;; esac
case " $SETUPS " in *" unix-b "*)
	[ -x "${RG_BIN_B:-}" ] || rg_fail "setup unix-b needs RG_BIN_B, another relayguard"
	bench_start_unix "$RG_BIN_B" rgb ;;
esac
case " $SETUPS " in *" mem "*)
	bench_start_mem ;;
esac
case " $SETUPS " in *" null "* | *" plain "*) bench_start_null ;; esac
case " $SETUPS " in *" opendkim"* | *" rspamd"*) bench_peers_start ;; esac

# smtp-sink without dump files; -c writes a running counter ("sess=N
# quit=N mesg=N", CR-terminated) to a pipe that bench_wait_sink reads:
# no polling, no process started per check
coproc BENCH_SINK { exec smtp-sink -u postfix -c -h sink.relayguard.test \
	"127.0.0.1:$BENCH_SINK_PORT" 256 2>&1; }
RG__PIDS+=" $BENCH_SINK_PID"
exec {BENCH_SINK_FD}<&"${BENCH_SINK[0]}"
rg__wait_listen "$BENCH_SINK_PORT" "$BENCH_SINK_PID" 5 || rg_fail "smtp-sink did not start"
BENCH_SINK_N=0

# bench_wait_sink N - read the counter until N messages arrived (300 s)
bench_wait_sink() {
	local line
	while [ "$BENCH_SINK_N" -lt "$1" ]; do
		IFS= read -r -d $'\r' -t 300 -u "$BENCH_SINK_FD" line ||
			rg_fail "sink has $BENCH_SINK_N of $1 messages after 300s"
		case "$line" in
		*mesg=*) BENCH_SINK_N=${line##*mesg=} ;;
		*) bench_log "sink: $line" ;;
		esac
	done
	[ "$BENCH_SINK_N" -eq "$1" ] || rg_fail "sink has $BENCH_SINK_N messages, want $1"
}

# the milter each setup's smtpd really has (checks the -o override took)
for s in $SETUPS; do
	got=$(postconf -c "$T/postfix" -P "127.0.0.1:${PORT[$s]}/inet/smtpd_milters" 2>/dev/null |
		sed 's/^[^=]*= *//')
	want=$(rg__subst "${SPEC[$s]}")
	[ "$got" = "$want" ] || rg_fail "setup $s: smtpd_milters is '$got', want '$want'"
done

# bench_mta_cpu - CPU ticks spent so far by the MTA side: every live
# process of this Postfix instance, the children its master has reaped,
# and the relayguard daemons. Unlike the machine's busy time it does not
# count other work on a shared machine, nor the load generator.
bench_mta_cpu() {
	local stats p
	# master passes MAIL_CONFIG to all its children (import_environment);
	# the master itself has it from postfix-script
	stats=$(grep -lzx "MAIL_CONFIG=$T/postfix" /proc/[0-9]*/environ 2>/dev/null |
		sed 's/environ$/stat/')
	stats+=" /proc/$RG_MILTER_PID/stat"
	stats+=" ${NULL_PID:+/proc/$NULL_PID/stat} ${PLAIN_PID:+/proc/$PLAIN_PID/stat}"
	# every relayguard on a unix socket (unix, mem, unix-b)
	for p in "${UNIX_PID[@]}"; do stats+=" /proc/$p/stat"; done
	for p in $PEER_PIDS; do stats+=" /proc/$p/stat"; done
	# shellcheck disable=SC2086
	cat $stats 2>/dev/null | awk -v master="$POSTFIX_PID" '{
		pid = $1
		sub(/^.*\) /, "")	# from field 3 (state) on, safe from odd names
		t += $12 + $13		# utime, stime
		if (pid == master)
			t += $14 + $15	# cutime, cstime: children it has reaped
	} END { print t }'
}

# bench_pid SETUP - the filter processes serving SETUP, if any
bench_pid() {
	case "$1" in
	tcp) echo "$RG_MILTER_PID" ;;
	unix) echo "$RG_UNIX_PID" ;;
	null) echo "$NULL_PID" ;;
	unix-b) echo "${UNIX_PID[rgb]}" ;;
	mem) echo "${UNIX_PID[mem]}" ;;
	plain) echo "$PLAIN_PID" ;;
	opendkim* | rspamd*) bench_peers_pids "$1" ;;
	esac
}

# bench_pids_cpu PID... - CPU ticks of these processes together
bench_pids_cpu() {
	local p t=0
	for p in "$@"; do
		t=$((t + $(bench_cpu "$p" 2>/dev/null || echo 0)))
	done
	echo "$t"
}

# bench_one SETUP FILE SESSIONS N - inject N messages, wait for all of
# them at the sink; sets B_RATE (msg/s), B_BUSY (CPU ms per message of
# Postfix and the filters together, see bench_mta_cpu), B_RG (the setup's
# filters' CPU ms per message). Runs in this shell: the
# sink counter it advances must survive.
bench_one() {
	local s=$1 file=$2 sess=$3 n=$4 want t0 t1 busy0 busy1 pids src cpu0 cpu1
	local flags=()
	[ "$REUSE" = 1 ] && flags+=(-d)
	pids=$(bench_pid "$s")
	want=$((BENCH_SINK_N + n))
	busy0=$(bench_mta_cpu)
	# shellcheck disable=SC2086
	cpu0=$(bench_pids_cpu $pids)
	t0=$EPOCHREALTIME
	smtp-source "${flags[@]}" -s "$sess" -m "$n" -F "$file" -f "$BENCH_SENDER" \
		-t "$BENCH_RCPT" -M client.bench.test "127.0.0.1:${PORT[$s]}" \
		>"$T/source.out" 2>&1 &
	src=$!
	bench_wait_sink "$want"
	t1=$EPOCHREALTIME
	busy1=$(bench_mta_cpu)
	# shellcheck disable=SC2086
	cpu1=$(bench_pids_cpu $pids)
	wait "$src" || {
		cat "$T/source.out" >&2
		rg_fail "smtp-source against $s failed"
	}
	rg_wait_queue_empty 60
	read -r B_RATE B_BUSY B_RG < <(awk -v n="$n" -v t0="$t0" -v t1="$t1" \
		-v b=$((busy1 - busy0)) -v c=$((cpu1 - cpu0)) -v hz="$HZ" 'BEGIN {
		printf "%.1f %.3f %.3f\n", n / (t1 - t0), b * 1000 / hz / n, c * 1000 / hz / n }')
}

# ---------------------------------------------------------------- run

bench_machine
echo "e2e: rounds=$ROUNDS messages=$MESSAGES sessions=($SESSIONS) sizes=($SIZES) setups=($SETUPS) reuse=$REUSE"

# shellcheck disable=SC2086
bench_corpus "$T/msg" $SIZES
first=${SIZES%% *}
PEER_PIDS=""
case " $SETUPS " in *" opendkim"* | *" rspamd"*)
	bench_assert_peers "$T/msg/$first.eml"
	PEER_PIDS="$(bench_peers_pids opendkim) $(bench_peers_pids rspamd)"
	;;
esac

# warm-up: start smtpd processes, fill caches, first milter connections
for s in $SETUPS; do
	bench_one "$s" "$T/msg/$first.eml" 10 "$WARMUP"
done

# check that each milter setup really saw the mail: its relayguard logged
# a verdict for every warm-up message, with every check at work; rspamd
# logged one line per message
for s in $SETUPS; do
	conf=""
	case "$s" in
	tcp) log=$T/relayguard.log sock="inet:$RG_MILTER_PORT@127.0.0.1" ;;
	unix) log=$T/relayguard-unix.log sock="unix:$RG_UNIX_SOCK" ;;
	unix-b) log=$T/relayguard-rgb.log sock="unix:${UNIX_SOCK[rgb]}" ;;
	mem) log=$T/relayguard-mem.log sock="unix:${UNIX_SOCK[mem]}" conf=$T/relayguard-mem.conf ;;
	rspamd | rspamd-tcp)
		# both rspamd setups log to one file
		k=$(printf '%s\n' $SETUPS | grep -c '^rspamd')
		n=$(grep -c 'rspamd_task_write_log.*R_DKIM_ALLOW' "$PEERS_DIR/rspamd/rspamd.log")
		[ "$n" -ge $((k * WARMUP)) ] ||
			rg_fail "setups rspamd*: $n DKIM passes logged for $((k * WARMUP)) messages"
		continue ;;
	*) continue ;;
	esac
	n=$(grep -c 'verdict=accept' "$log")
	[ "$n" -ge "$WARMUP" ] || rg_fail "setup $s: relayguard logged $n verdicts for $WARMUP messages"
	bench_assert_checks "$log" "$WARMUP" "$sock" "$conf"
done

declare -A RATE BUSY RGCPU
for size in $SIZES; do
	for sess in $SESSIONS; do
		order=$SETUPS
		for r in $(seq 1 "$ROUNDS"); do
			for s in $order; do
				bench_one "$s" "$T/msg/$size.eml" "$sess" "$MESSAGES"
				rate=$B_RATE busy=$B_BUSY rgcpu=$B_RG
				key="$size/$sess/$s"
				RATE[$key]+=" $rate"
				BUSY[$key]+=" $busy"
				RGCPU[$key]+=" $rgcpu"
				[ -n "$RESULTS" ] && echo "e2e size=$size sessions=$sess setup=$s round=$r msgs_per_s=$rate cpu_ms_per_msg=$busy rg_cpu_ms_per_msg=$rgcpu" >>"$RESULTS"
				bench_log "$size x$sess $s round $r: $rate msg/s"
			done
			# reverse the order every round: A B C, C B A, ...
			order=$(printf '%s\n' $order | tac | tr '\n' ' ')
		done
	done
done

echo
printf '%-6s %-5s %-12s %-24s %8s %6s %11s %9s %10s %8s\n' size sess setup "msg/s per round" median ratio "mta ms/msg" "cpu ratio" "flt ms/msg" "rg/this"
for size in $SIZES; do
	for sess in $SESSIONS; do
		bare_med="" bare_cpu=""
		for s in $SETUPS; do
			# the peers and the floor against relayguard on the same
			# transport: TCP for the -tcp setups, else the unix socket
			via=unix
			case "$s" in *-tcp) via=tcp ;; esac
			# shellcheck disable=SC2086
			rg_med=$(bench_median ${RATE[$size/$sess/$via]:-})
			# shellcheck disable=SC2086
			rg_flt=$(bench_median ${RGCPU[$size/$sess/$via]:-})
			key="$size/$sess/$s"
			# shellcheck disable=SC2086
			med=$(bench_median ${RATE[$key]})
			# shellcheck disable=SC2086
			cpu=$(bench_median ${BUSY[$key]})
			# shellcheck disable=SC2086
			flt=$(bench_median ${RGCPU[$key]})
			[ "$s" = bare ] && bare_med=$med bare_cpu=$cpu
			# a peer or the floor against relayguard (unix socket, as
			# they run): rate ratio, and filter CPU ratio in brackets
			vs=-
			case "$s" in opendkim* | rspamd* | null | plain | unix-b | mem)
				[ "$rg_med" != nan ] && vs="$(bench_ratio "$rg_med" "$med")($(bench_ratio "$flt" "$rg_flt"))" ;;
			esac
			# shellcheck disable=SC2086
			printf '%-6s %-5s %-12s %-24s %8s %6s %11s %9s %10s %8s\n' "$size" "$sess" "$s" \
				"$(echo ${RATE[$key]})" "$med" "$(bench_ratio "$med" "${bare_med:-$med}")" \
				"$cpu" "$(bench_ratio "${bare_cpu:-$cpu}" "$cpu")" "$flt" "$vs"
		done
	done
done
echo "ratio: msg/s against bare Postfix; cpu ratio: bare's MTA CPU per message over this setup's"
echo "flt ms/msg: CPU of the setup's filter processes per message; rg/this: relayguard's msg/s"
echo "(over TCP for the -tcp setups, else over the unix socket) over this setup's, and in brackets"
echo "this setup's filter CPU per message over relayguard's"
echo "(for null and plain, relayguard's rate as a share of the floor's)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
