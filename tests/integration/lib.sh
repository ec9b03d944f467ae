# shellcheck shell=bash
# lib.sh - integration test harness for relayguard.
#
# Sourced by every tests/integration/t_*.sh. rg_harness_start brings up, all
# on 127.0.0.1 and all under one temporary directory $T:
#
#   smtp-sink     next hop; one file per delivered message in $T/sink/
#   redis-server  no persistence
#   unbound       answers only the test zones (local-zone "." static)
#   relayguard    unless RG_NO_MILTER=1 (a missing daemon fails the test)
#   postfix       private instance: smtpd on $RG_SMTP_PORT, relays all mail
#                 to the sink, the milter decides
#
# Settings a test may make BEFORE rg_harness_start:
#   RG_BIN                path of the relayguard daemon (default: build/relayguard)
#   RG_NO_MILTER=1        never start the milter, even with RG_BIN set
#   RG_CONF               relayguard.conf body (appended after RG_CONF_BASE)
#   RG_CONF_BASE          first lines of relayguard.conf; default sets socket,
#                         log_target, log_level, dns_servers (the harness's
#                         unbound) and local_domains = ours.example
#                         (the test world: ours.example is ours, the rest foreign)
#   RG_MILTER_UNIX=1      relayguard listens on unix:$T/rg.sock (group postfix)
#                         instead of TCP, and Postfix talks to it there
#   RG_MILTER_ARGS        extra daemon arguments (default: "-u nobody"); may
#                         name $RG_MILTER_PORT etc. like RG_CONF
#   RG_WRAP               words put before the daemon's command, e.g. valgrind
#                         and its options (make check-valgrind); may name $T.
#                         A $T/valgrind.*.log it writes is checked at stop:
#                         errors, or no final summary, fail the test
#   RG_SLOW               whole factor for the daemon's start and stop waits
#                         (default 1: 10 s each), for a slow RG_WRAP
#   RG_POSTFIX_MILTER     smtpd_milters/non_smtpd_milters (set automatically
#                         when the milter is started; empty means none)
#   RG_POSTFIX_EXTRA      extra main.cf lines "name = value", one per line;
#                         applied with postconf -e, so they override defaults
#   RG_POSTFIX_MASTER_EXTRA  raw lines appended to master.cf
#   RG_NO_POSTFIX=1       do not start Postfix (a test that brings its own
#                         MTA, e.g. t_sendmail.sh; rg_send then needs
#                         RG_SMTP_PORT set by the test)
#   RG_KEEP=1             keep $T after the test even when it passed
#   rg_dns_add RR         add an unbound local-data record
#   rg_dns_add_zone_cfg L add a raw unbound server: line
#   rg_dns_servfail_zone Z  unbound answers SERVFAIL for zone Z
# At any time:
#   rg_port VAR           set VAR to a free port no other service here uses
#   rg_redis_stop, rg_redis_kill, rg_redis_start, rg_redis_slow SECONDS
#   rg_dns_stop, rg_dns_start   stop/restart unbound on the same port
#   rg_at_stop CMD        run CMD (eval) first in rg_harness_stop, also on
#                         failure and on signals: stop what the test started
#   RG_EXTRA_LOGS         more files rg_fail shows the tail of
# Ports and $T are unknown until start, so RG_CONF, RG_CONF_BASE,
# RG_POSTFIX_EXTRA and RG_POSTFIX_MASTER_EXTRA may refer to $T, $SINK_PORT,
# $REDIS_PORT, $DNS_PORT, $RG_MILTER_PORT and $RG_SMTP_PORT literally (single
# quotes); the harness substitutes them when it writes the files.
#
# Patterns in rg_assert_*, rg_sink_grep, rg_log_grep and rg_wait_log are
# extended regular expressions; pass -F first for a fixed string, e.g.
#   rg_assert_contains -F "$T/last.out" '<** 550 5.7.1'

RG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RG_TOP_DIR=$(cd "$RG_LIB_DIR/../.." && pwd)
export RG_LIB_DIR RG_TOP_DIR

# Postfix, unbound and friends live in sbin directories.
case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH=$PATH:/usr/sbin:/sbin ;;
esac

RG__DNS_DATA=""     # collected rg_dns_add records
RG__DNS_CFG=""      # collected rg_dns_add_zone_cfg lines
RG__DNS_FWD=""      # forward-zone: clauses (rg_dns_servfail_zone)
RG__PIDS=""         # every background pid we started
RG__PORTS=""        # ports handed out by this harness
RG__STOPPED=0
RG__STARTED=0
RG__FAILED=0
RG__AT_STOP=()      # rg_at_stop commands
RG__KILLED=""       # daemons rg_milter_kill ended (no valgrind summary)
# the first line of a sanitizer report in the daemon's output: ASan and
# LeakSanitizer "ERROR:", UBSan "runtime error:" and its summary
# (ThreadSanitizer's reports are sorted by rg_san_check)
RG__SAN_REPORT='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'

# ---------------------------------------------------------------- messages

rg_log() { printf '%s\n' "rg: $*" >&2; }

# rg_tail FILE [N] - print the last N lines of FILE with a heading.
rg_tail() {
	[ -f "$1" ] || return 0
	printf '%s\n' "---- tail of $1" >&2
	tail -n "${2:-25}" "$1" >&2
}

# rg_fail MSG - report a failure with the logs that explain it, exit 1.
rg_fail() {
	set +e
	RG__FAILED=1
	printf '%s\n' "FAIL: $*" >&2
	if [ -n "${T:-}" ]; then
		[ -f "$T/last.out" ] && rg_tail "$T/last.out" 30
		rg_tail "$T/postfix.log" 25
		rg_tail "$T/relayguard.log" 25
		local f
		for f in ${RG_EXTRA_LOGS:-}; do
			rg_tail "$f" 25
		done
	fi
	exit 1
}

# rg_skip MSG - skip the test (exit 77).
rg_skip() {
	printf '%s\n' "SKIP: $*" >&2
	exit 77
}

# ---------------------------------------------------------------- DNS data

# rg_dns_add 'name. 300 IN TXT "v=spf1 -all"' - one record for unbound.
rg_dns_add() {
	RG__DNS_DATA+="$*"$'\n'
}

# rg_dns_add_zone_cfg 'local-zone: "bad.test." deny' - a raw server: line.
rg_dns_add_zone_cfg() {
	RG__DNS_CFG+="$*"$'\n'
}

# ---------------------------------------------------------------- processes

# rg__alive PID - true while PID runs (a zombie counts as dead: kill -0 would
# succeed on an unreaped child that already exited).
rg__alive() {
	local st
	[ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# rg__kill_wait PID [SECONDS [sent]] - SIGTERM (unless "sent": the caller
# did), wait, then SIGKILL.
rg__kill_wait() {
	local pid=$1 limit=$((${2:-10} * 10)) i=0
	# "|| true" everywhere: tests may run under set -e, and wait fails for
	# a pid that is not our child (the Postfix master) or was killed.
	rg__alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
	[ "${3:-}" = sent ] || kill -TERM "$pid" 2>/dev/null || true
	while rg__alive "$pid" && [ $i -lt $limit ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if rg__alive "$pid"; then
		rg_log "pid $pid ignored SIGTERM for ${2:-10}s, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.1
	fi
	wait "$pid" 2>/dev/null || true
	return 0
}

# rg__bg LOGFILE CMD... - start CMD in the background, pid in RG__LASTPID.
rg__bg() {
	local log=$1
	shift
	"$@" </dev/null >>"$log" 2>&1 &
	RG__LASTPID=$!
	RG__PIDS+=" $RG__LASTPID"
}

# rg__secs N - N seconds scaled by RG_SLOW (a daemon under valgrind)
rg__secs() {
	echo $(($1 * ${RG_SLOW:-1}))
}

# ---------------------------------------------------------------- ports

# rg__port_used PORT - true if any TCP or UDP socket uses PORT locally.
rg__port_used() {
	[ -n "$(ss -Htuan "( sport = :$1 )" 2>/dev/null)" ]
}

# rg__pick_port - set RG__PORT to a free port this harness has not handed
# out (not printed: RG__PORTS must survive, a $(...) subshell would lose it).
# Ports come from below the kernel's ephemeral range (32768+) so outgoing
# connections do not take them; a race with another process is still
# possible, which is why every start function retries with a new port.
rg__pick_port() {
	local p n=0
	while [ $n -lt 200 ]; do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % 22000))
		n=$((n + 1))
		case " $RG__PORTS " in *" $p "*) continue ;; esac
		rg__port_used "$p" && continue
		RG__PORTS+=" $p"
		RG__PORT=$p
		return 0
	done
	return 1
}

# rg_port VAR - set the variable named VAR to a free port (see above).
rg_port() {
	rg__pick_port || rg_fail "no free port for $1"
	printf -v "$1" '%s' "$RG__PORT"
}

# rg__listening PORT [PID] [tcp|udp] - true when PORT listens, and when PID
# is given, when PID owns the socket (so a stranger on the port does not
# count as our server being up).
rg__listening() {
	local port=$1 pid=${2:-} flag=-Hltn out
	[ "${3:-tcp}" = udp ] && flag=-Hlun
	if [ -n "$pid" ] && [ "$(id -u)" = 0 ]; then
		out=$(ss $flag -p "( sport = :$port )" 2>/dev/null)
		case "$out" in *"pid=$pid,"*) return 0 ;; esac
		return 1
	fi
	out=$(ss $flag "( sport = :$port )" 2>/dev/null)
	[ -n "$out" ]
}

# rg__wait_for SECONDS PID CMD... - run CMD every 50 ms until it succeeds
# (status 0); 1 when PID dies first or SECONDS pass.
rg__wait_for() {
	local limit=$(($1 * 20)) pid=$2 i=0
	shift 2
	while [ $i -lt $limit ]; do
		"$@" && return 0
		rg__alive "$pid" || return 1
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# rg__wait_listen PORT PID SECONDS [tcp|udp] - wait for PID to listen on
# PORT; fail early when PID dies.
rg__wait_listen() {
	rg__wait_for "$3" "$2" rg__listening "$1" "$2" "${4:-tcp}"
}

# rg__listening_unix PATH PID - PID listens on the unix socket PATH
rg__listening_unix() {
	case "$(ss -Hlxp src "$1" 2>/dev/null)" in *"pid=$2,"*) return 0 ;; esac
	return 1
}

# rg__wait_unix PATH PID SECONDS - wait for PID to listen on the unix
# socket PATH; fail early when PID dies.
rg__wait_unix() {
	rg__wait_for "$3" "$2" rg__listening_unix "$1" "$2"
}

# rg__wake_milter - one connection to the milter's socket (TCP or unix)
rg__wake_milter() {
	if [ "${RG_MILTER_UNIX:-0}" = 1 ]; then
		/usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(1)
s.connect(sys.argv[1])' "$T/rg.sock" 2>/dev/null
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$RG_MILTER_PORT") 2>/dev/null
	fi
	return 0
}

# rg__subst TEXT - replace $T and the port variables in TEXT.
rg__subst() {
	# The names are for envsubst, not for the shell:
	# shellcheck disable=SC2016
	printf '%s' "$1" | env T="$T" SINK_PORT="${SINK_PORT:-}" \
		REDIS_PORT="${REDIS_PORT:-}" DNS_PORT="${DNS_PORT:-}" \
		RG_MILTER_PORT="${RG_MILTER_PORT:-}" RG_SMTP_PORT="${RG_SMTP_PORT:-}" \
		envsubst '$T $SINK_PORT $REDIS_PORT $DNS_PORT $RG_MILTER_PORT $RG_SMTP_PORT'
}

# ---------------------------------------------------------------- smtp-sink

rg__start_sink() {
	mkdir -p "$T/sink"
	chown postfix "$T/sink"
	for _ in 1 2 3; do
		rg__pick_port || rg_fail "no free port for smtp-sink"
		SINK_PORT=$RG__PORT
		# -u: required as root; -d: one dump file per mail transaction,
		# named by strftime plus a random suffix; -h: a greeting name that
		# differs from myhostname, or Postfix sees a mail loop.
		rg__bg "$T/sink.log" smtp-sink -u postfix -h sink.relayguard.test \
			-d "$T/sink/%Y%m%d%H%M%S." "127.0.0.1:$SINK_PORT" 64
		SINK_PID=$RG__LASTPID
		rg__wait_listen "$SINK_PORT" "$SINK_PID" 5 && { export SINK_PORT SINK_PID; return 0; }
		rg__kill_wait "$SINK_PID" 2
	done
	rg_tail "$T/sink.log"
	rg_fail "smtp-sink did not start"
}

# rg_sink_files - list the message files in the sink, oldest first.
rg_sink_files() {
	find "$T/sink" -type f 2>/dev/null | sort
}

# rg_sink_count - number of messages the sink received.
rg_sink_count() {
	rg_sink_files | wc -l | tr -d ' '
}

# rg__queue_active - true while Postfix has a message in the active queue
# (postqueue marks those with "*" after the queue id).
rg__queue_active() {
	[ -d "$T/postfix" ] || return 1
	postqueue -c "$T/postfix" -p 2>/dev/null | grep -Eq '^[0-9A-Za-z]+\*'
}

# rg_wait_sink N [TIMEOUT] - wait until exactly N messages are in the sink
# and no delivery is in progress (smtp-sink creates its file when the
# transaction starts, so a file alone may still be incomplete).
rg_wait_sink() {
	local want=$1 limit=$((${2:-20} * 10)) i=0 n
	while :; do
		n=$(rg_sink_count)
		[ "$n" -gt "$want" ] && rg_fail "sink has $n messages, expected $want"
		if [ "$n" -eq "$want" ] && ! rg__queue_active; then
			return 0
		fi
		[ $i -ge $limit ] && break
		sleep 0.1
		i=$((i + 1))
	done
	postqueue -c "$T/postfix" -p >&2 2>/dev/null || true
	rg_fail "sink has $n messages after ${2:-20}s, expected $want"
}

# rg_sink_grep [-F] PATTERN - print matching lines of all sink messages;
# status 0 when something matched.
rg_sink_grep() {
	local f=-E files
	[ "${1:-}" = -F ] && { f=-F; shift; }
	files=$(rg_sink_files)
	[ -n "$files" ] || return 1
	# shellcheck disable=SC2086
	grep -h $f -- "$1" $files
}

# ---------------------------------------------------------------- redis

# rg__redis_try - start redis-server on $REDIS_PORT; status 0 when it listens
rg__redis_try() {
	rg__bg "$T/redis.log" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
		--save '' --appendonly no --daemonize no --dir "$T/redis" \
		--pidfile "$T/redis.pid" --logfile "$T/redis.log" --databases 16 \
		--enable-debug-command local
	REDIS_PID=$RG__LASTPID
	export REDIS_PID
	rg__wait_listen "$REDIS_PORT" "$REDIS_PID" 5 && return 0
	rg__kill_wait "$REDIS_PID" 2
	return 1
}

rg__start_redis() {
	mkdir -p "$T/redis"
	for _ in 1 2 3; do
		rg__pick_port || rg_fail "no free port for redis"
		REDIS_PORT=$RG__PORT
		export REDIS_PORT
		rg__redis_try && return 0
	done
	rg_tail "$T/redis.log"
	rg_fail "redis-server did not start"
}

# rg_redis_stop - SIGTERM the test redis and wait (5 s, then SIGKILL).
rg_redis_stop() {
	rg__kill_wait "$REDIS_PID" 5
}

# rg_redis_kill - SIGKILL the test redis: no clean-up, no goodbye.
rg_redis_kill() {
	kill -KILL "$REDIS_PID" 2>/dev/null || true
	wait "$REDIS_PID" 2>/dev/null || true
	return 0
}

# rg_redis_start - start the test redis again on the same port, empty (it
# keeps nothing on disk), and wait until it listens.
rg_redis_start() {
	rg__alive "$REDIS_PID" && rg_fail "redis already runs as pid $REDIS_PID"
	rg__redis_try || { rg_tail "$T/redis.log"; rg_fail "redis did not restart on port $REDIS_PORT"; }
}

# rg_redis_slow SECONDS - make the test redis answer nobody for SECONDS
# (DEBUG SLEEP blocks its one command thread); returns at once. Redis 7
# takes DEBUG only with enable-debug-command, which the harness sets.
rg_redis_slow() {
	local out
	out=$(rg_redis DEBUG SLEEP 0 2>&1)
	[ "$out" = OK ] || rg_fail "redis refuses DEBUG SLEEP: $out"
	rg_redis DEBUG SLEEP "$1" >/dev/null 2>&1 &
	RG__PIDS+=" $!"
}

# rg_redis ARGS... - redis-cli against the test redis.
rg_redis() {
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

# ---------------------------------------------------------------- unbound

rg__write_unbound_conf() {
	local line
	{
		cat <<EOF
server:
	interface: 127.0.0.1
	port: $DNS_PORT
	# without this a second unbound silently shares the port
	so-reuseport: no
	do-daemonize: no
	username: ""
	chroot: ""
	directory: "$T"
	pidfile: "$T/unbound.pid"
	logfile: "$T/unbound.log"
	use-syslog: no
	verbosity: 1
	num-threads: 1
	do-ip6: no
	access-control: 127.0.0.0/8 allow
	# answer from local data only, never recurse; no trust anchors needed
	module-config: "iterator"
	local-zone: "." static
EOF
		printf '%s' "$RG__DNS_CFG" | while IFS= read -r line; do
			if [ -n "$line" ]; then printf '\t%s\n' "$line"; fi
		done
		printf '%s' "$RG__DNS_DATA" | while IFS= read -r line; do
			if [ -n "$line" ]; then printf "\\tlocal-data: '%s'\\n" "$line"; fi
		done
		printf 'remote-control:\n\tcontrol-enable: no\n'
		printf '%s' "$RG__DNS_FWD"
	} >"$T/unbound.conf"
}

# rg__unbound_try - start unbound with $T/unbound.conf; 0 when it listens
rg__unbound_try() {
	rg__bg "$T/unbound.out" unbound -d -c "$T/unbound.conf"
	DNS_PID=$RG__LASTPID
	export DNS_PID
	# unbound binds UDP first, then TCP: wait for the latter.
	rg__wait_listen "$DNS_PORT" "$DNS_PID" 5 tcp && return 0
	rg__kill_wait "$DNS_PID" 2
	return 1
}

rg__start_unbound() {
	for _ in 1 2 3; do
		rg__pick_port || rg_fail "no free port for unbound"
		DNS_PORT=$RG__PORT
		export DNS_PORT
		rg__write_unbound_conf
		if ! unbound-checkconf "$T/unbound.conf" >"$T/unbound-check.out" 2>&1; then
			cat "$T/unbound-check.out" >&2
			rg_fail "unbound.conf rejected (see $T/unbound.conf)"
		fi
		rg__unbound_try && return 0
	done
	rg_tail "$T/unbound.log"
	rg_tail "$T/unbound.out"
	rg_fail "unbound did not start"
}

# rg_dns_stop - stop the test unbound: queries to $DNS_PORT go unanswered
# (the port is closed).
rg_dns_stop() {
	rg__kill_wait "$DNS_PID" 5
}

# rg_dns_start - start the test unbound again, same port and zones.
rg_dns_start() {
	rg__alive "$DNS_PID" && rg_fail "unbound already runs as pid $DNS_PID"
	rg__unbound_try || { rg_tail "$T/unbound.log"; rg_fail "unbound did not restart on port $DNS_PORT"; }
}

# rg_dns_servfail_zone ZONE - have unbound answer SERVFAIL for ZONE and
# every name below it (before rg_harness_start): the zone is forwarded to
# a port where nothing listens, so unbound's upstream fails.
rg_dns_servfail_zone() {
	local p
	rg_port p
	RG__DNS_CFG+="local-zone: \"$1.\" transparent"$'\n'
	RG__DNS_FWD+="forward-zone:"$'\n\t'"name: \"$1.\""$'\n\t'"forward-addr: 127.0.0.1@$p"$'\n'
}

# rg_dig ARGS... - dig against the test unbound (needs bind9-dnsutils).
rg_dig() {
	dig -p "$DNS_PORT" @127.0.0.1 +time=2 +tries=1 "$@"
}

# ---------------------------------------------------------------- relayguard

rg__write_milter_conf() {
	local base
	# expanded by rg__subst, not by the shell:
	# shellcheck disable=SC2016
	# only parameters the daemon knows: an unknown name is a config error
	base=${RG_CONF_BASE-'socket = inet:$RG_MILTER_PORT@127.0.0.1
log_target = stderr
log_level = info
dns_servers = 127.0.0.1@$DNS_PORT
local_domains = ours.example'}
	{
		if [ "${RG_MILTER_UNIX:-0}" = 1 ]; then
			rg__subst "$base" | sed "s|^socket = .*|socket = unix:$T/rg.sock|"
			printf '\nsocket_group = postfix'
		else
			rg__subst "$base"
		fi
		printf '\n'
		rg__subst "${RG_CONF:-}"
		printf '\n'
	} >"$T/relayguard.conf"
	chmod 644 "$T/relayguard.conf"
}

# rg__milter_try - start relayguard once; status 0 when it listens.
rg__milter_try() {
	[ -n "${RG_BIN:-}" ] || rg_fail "RG_BIN is not set"
	[ -x "$RG_BIN" ] || rg_fail "RG_BIN=$RG_BIN is not executable"
	if rg__alive "${RG_MILTER_PID:-}"; then
		rg_fail "relayguard already runs as pid $RG_MILTER_PID"
	fi
	RG__MILTER_PORT_TAKEN=0
	# shellcheck disable=SC2086
	local args
	args=$(rg__subst "${RG_MILTER_ARGS--u nobody}")
	local wrap
	wrap=$(rg__subst "${RG_WRAP:-}")
	# shellcheck disable=SC2086
	TSAN_OPTIONS=$(rg_daemon_tsan) rg__bg "$T/relayguard.log" $wrap \
		"$RG_BIN" -f -c "$T/relayguard.conf" $args
	RG_MILTER_PID=$RG__LASTPID
	export RG_MILTER_PID
	if [ "${RG_MILTER_UNIX:-0}" = 1 ]; then
		rg__wait_unix "$T/rg.sock" "$RG_MILTER_PID" "$(rg__secs 10)" && return 0
		rg__kill_wait "$RG_MILTER_PID" "$(rg__secs 10)"
		return 1
	fi
	rg__wait_listen "$RG_MILTER_PORT" "$RG_MILTER_PID" "$(rg__secs 10)" && return 0
	if rg__port_used "$RG_MILTER_PORT"; then RG__MILTER_PORT_TAKEN=1; fi
	rg__kill_wait "$RG_MILTER_PID" "$(rg__secs 10)"
	return 1
}

# rg_daemon_tsan - TSAN_OPTIONS for a daemon whose output the test checks
# with rg_san_check: it goes on after a report (all of them in one run,
# and its clean-up still runs) and exits as it would without one. A test
# that starts a daemon itself: TSAN_OPTIONS=$(rg_daemon_tsan) "$RG_BIN" ...
rg_daemon_tsan() {
	if [ -n "${TSAN_OPTIONS:-}" ]; then
		printf '%s' "$TSAN_OPTIONS:halt_on_error=0:exitcode=0"
	fi
}

# rg_milter_start - (re)start relayguard with the same $T/relayguard.conf
# and port, and wait until it accepts connections (10 s).
rg_milter_start() {
	rg__milter_try && return 0
	rg_tail "$T/relayguard.log" 40
	rg_fail "relayguard did not accept connections on port $RG_MILTER_PORT within $(rg__secs 10)s"
}

# rg__milter_term - SIGTERM to the daemon, and wait for it to exit (10 s
# times RG_SLOW, then SIGKILL). libmilter's listener sleeps in select() for
# up to 5 s before it looks at the stop flag; once the daemon has logged
# that it stops (the flag is set just after), one connection to the milter
# port wakes the listener. Without the log line the wait is just longer.
rg__milter_term() {
	local pid=$RG_MILTER_PID n i=0
	n=$(grep -c 'stopping on signal' "$T/relayguard.log" 2>/dev/null)
	rg__alive "$pid" && kill -TERM "$pid" 2>/dev/null
	while [ $i -lt 40 ] && rg__alive "$pid"; do
		if [ "$(grep -c 'stopping on signal' "$T/relayguard.log" 2>/dev/null)" -gt "${n:-0}" ]; then
			sleep 0.1
			rg__wake_milter
			break
		fi
		sleep 0.05
		i=$((i + 1))
	done
	rg__kill_wait "$pid" "$(rg__secs 10)" sent
}

# rg_milter_stop - stop the daemon: see rg__milter_term
rg_milter_stop() {
	[ -n "${RG_MILTER_PID:-}" ] || return 0
	rg__milter_term
}

# rg_milter_kill - SIGKILL, no clean-up in the daemon.
rg_milter_kill() {
	[ -n "${RG_MILTER_PID:-}" ] || return 0
	RG__KILLED+=" $RG_MILTER_PID"
	kill -KILL "$RG_MILTER_PID" 2>/dev/null || true
	wait "$RG_MILTER_PID" 2>/dev/null || true
	return 0
}

# rg_milter_reload - SIGHUP.
rg_milter_reload() {
	rg__alive "${RG_MILTER_PID:-}" || rg_fail "relayguard is not running"
	kill -HUP "$RG_MILTER_PID"
}

# rg_milter_pid - print the daemon's pid (empty when it is not running).
rg_milter_pid() {
	rg__alive "${RG_MILTER_PID:-}" && echo "$RG_MILTER_PID"
	return 0
}

rg__start_milter() {
	for _ in 1 2 3; do
		rg__pick_port || rg_fail "no free port for relayguard"
		RG_MILTER_PORT=$RG__PORT
		export RG_MILTER_PORT
		rg__write_milter_conf
		if rg__milter_try; then
			RG_POSTFIX_MILTER=inet:127.0.0.1:$RG_MILTER_PORT
			[ "${RG_MILTER_UNIX:-0}" = 1 ] && RG_POSTFIX_MILTER=unix:$T/rg.sock
			export RG_POSTFIX_MILTER
			return 0
		fi
		# Retry only when someone else grabbed the port; any other
		# failure is the daemon's and must show.
		[ "$RG__MILTER_PORT_TAKEN" = 1 ] || break
	done
	rg_tail "$T/relayguard.log" 40
	rg_fail "relayguard did not accept connections on port $RG_MILTER_PORT within $(rg__secs 10)s"
}

# rg_log_grep [-F] PATTERN - grep relayguard.log.
rg_log_grep() {
	local f=-E
	[ "${1:-}" = -F ] && { f=-F; shift; }
	grep $f -- "$1" "$T/relayguard.log"
}

# rg_wait_log [-F] PATTERN [TIMEOUT] - wait until relayguard.log matches.
rg_wait_log() {
	local f=-E limit i=0
	[ "${1:-}" = -F ] && { f=-F; shift; }
	limit=$((${2:-10} * 10))
	while [ $i -le $limit ]; do
		grep -q $f -- "$1" "$T/relayguard.log" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	rg_fail "relayguard.log did not match '$1' within ${2:-10}s"
}

# ---------------------------------------------------------------- postfix

rg__write_postfix_conf() {
	local pf=$T/postfix line
	mkdir -p "$pf" "$T/queue" "$T/data"
	# master must lock files in data_directory as user postfix
	chown postfix "$T/data"
	cat >"$pf/main.cf" <<EOF
# generated by tests/integration/lib.sh
compatibility_level = 3.6
queue_directory = $T/queue
data_directory = $T/data
# no syslog socket here: log through postlogd into a file
maillog_file = $T/postfix.log
maillog_file_prefixes = /var, /dev/stdout, $T
myhostname = mx.relayguard.test
mydomain = relayguard.test
myorigin = relayguard.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
# relay everything to the sink; only the milter decides
relayhost = [127.0.0.1]:$SINK_PORT
relay_domains = static:ALL
smtpd_relay_restrictions = reject_unauth_destination
smtpd_authorized_xclient_hosts = 127.0.0.0/8
# keep Postfix itself off the host's DNS
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
# fast tests
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 5s
smtpd_error_sleep_time = 0
in_flow_delay = 0
delay_warning_time = 0
# TLS for swaks -tls
smtpd_tls_security_level = may
smtpd_tls_cert_file = $T/tls/cert.pem
smtpd_tls_key_file = $T/tls/key.pem
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtp_tls_security_level = none
# milter
milter_protocol = 6
milter_default_action = tempfail
smtpd_milters = ${RG_POSTFIX_MILTER:-}
non_smtpd_milters = ${RG_POSTFIX_MILTER:-}
milter_connect_timeout = 10s
milter_command_timeout = 10s
milter_content_timeout = 30s
milter_connect_macros = j {daemon_name} {daemon_addr} {client_addr} {client_name} {client_port} v _
milter_helo_macros = {tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}
milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}
milter_rcpt_macros = i {rcpt_addr} {rcpt_host} {rcpt_mailer}
milter_end_of_data_macros = i
EOF
	# chroot = n everywhere: the queue is under $T and there is no jail.
	cat >"$pf/master.cf" <<EOF
# generated by tests/integration/lib.sh
127.0.0.1:$RG_SMTP_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	if [ -n "${RG_POSTFIX_MASTER_EXTRA:-}" ]; then
		rg__subst "$RG_POSTFIX_MASTER_EXTRA" >>"$pf/master.cf"
		printf '\n' >>"$pf/master.cf"
	fi
	# postconf -e replaces a setting in place instead of adding a duplicate
	if [ -n "${RG_POSTFIX_EXTRA:-}" ]; then
		# not a pipeline: rg_fail must exit this shell, not a subshell
		while IFS= read -r line; do
			case "$line" in '' | '#'*) continue ;; esac
			postconf -c "$pf" -e "$line" ||
				rg_fail "postconf -e '$line' failed"
		done <<<"$(rg__subst "$RG_POSTFIX_EXTRA")"
	fi
}

rg__make_cert() {
	mkdir -p "$T/tls"
	# EC key: generated in milliseconds, and Postfix and swaks take it.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -days 2 -subj "/CN=mx.relayguard.test" \
		-keyout "$T/tls/key.pem" -out "$T/tls/cert.pem" \
		>"$T/tls/openssl.out" 2>&1 || {
		cat "$T/tls/openssl.out" >&2
		rg_fail "cannot create the TLS certificate"
	}
	chmod 600 "$T/tls/key.pem"
}

# rg__postfix_master_pid - the running master's pid, or nothing.
rg__postfix_master_pid() {
	local pid
	pid=$(cat "$T/queue/pid/master.pid" 2>/dev/null) || true
	pid=${pid//[!0-9]/}
	if rg__alive "$pid"; then echo "$pid"; fi
	return 0
}

# rg__postfix_pids - every process of this Postfix instance: master passes
# MAIL_CONFIG to its children through import_environment.
rg__postfix_pids() {
	local d
	[ -n "${T:-}" ] || return 0
	for d in /proc/[0-9]*; do
		if tr '\0' '\n' 2>/dev/null <"$d/environ" | grep -qxF "MAIL_CONFIG=$T/postfix"; then
			echo "${d#/proc/}"
		fi
	done
}

rg__start_postfix() {
	local pid i
	rg__make_cert
	for _ in 1 2 3; do
		rg__pick_port || rg_fail "no free port for smtpd"
		RG_SMTP_PORT=$RG__PORT
		export RG_SMTP_PORT
		rg__write_postfix_conf
		# check creates the queue directories; its complaints go to the
		# log file, not to a non-tty stderr, so show both on failure.
		if ! postfix -c "$T/postfix" check >"$T/postfix-check.out" 2>&1; then
			cat "$T/postfix-check.out" >&2
			rg_fail "postfix check failed"
		fi
		# start would repeat the same slow checks (~2 s); quick-start,
		# a file postfix-script honours once, skips them.
		touch "$T/queue/quick-start"
		if ! postfix -c "$T/postfix" start >"$T/postfix-start.out" 2>&1; then
			# master exits when another process took the smtpd port
			if grep -q "bind 127.0.0.1 port $RG_SMTP_PORT: Address already in use" \
				"$T/postfix.log" 2>/dev/null; then
				rg__stop_postfix
				continue
			fi
			cat "$T/postfix-start.out" >&2
			rg_fail "postfix start failed"
		fi
		i=0
		pid=""
		while [ $i -lt 100 ]; do
			pid=$(rg__postfix_master_pid)
			[ -n "$pid" ] && rg__listening "$RG_SMTP_PORT" "$pid" && {
				POSTFIX_PID=$pid
				export POSTFIX_PID
				return 0
			}
			[ $i -gt 20 ] && [ -z "$pid" ] && break
			sleep 0.05
			i=$((i + 1))
		done
		rg__stop_postfix
	done
	rg_fail "postfix did not listen on 127.0.0.1:$RG_SMTP_PORT"
}

rg__stop_postfix() {
	local pid p
	[ -d "$T/postfix" ] || return 0
	pid=$(rg__postfix_master_pid)
	if [ -n "$pid" ]; then
		postfix -c "$T/postfix" stop >>"$T/postfix-start.out" 2>&1 || true
		rg__kill_wait "$pid" 10
	fi
	# children that outlive the master (e.g. a busy smtpd)
	for p in $(rg__postfix_pids); do
		kill -KILL "$p" 2>/dev/null || true
	done
	return 0
}

# rg_postfix ARGS... - run a postfix command (postqueue, postsuper, ...)
# on the test instance, e.g. rg_postfix postqueue -p
rg_postfix() {
	local cmd=$1
	shift
	"$cmd" -c "$T/postfix" "$@"
}

# rg_wait_queue_empty [TIMEOUT] - wait until the Postfix queue is empty.
rg_wait_queue_empty() {
	local limit=$((${1:-20} * 10)) i=0
	while [ $i -le $limit ]; do
		postqueue -c "$T/postfix" -p 2>/dev/null | grep -q '^Mail queue is empty' && return 0
		sleep 0.1
		i=$((i + 1))
	done
	postqueue -c "$T/postfix" -p >&2 2>/dev/null || true
	rg_fail "Postfix queue not empty after ${1:-20}s"
}

# ---------------------------------------------------------------- sending

RG__SENDS=0

# rg_send SWAKS-ARGS... - one SMTP session with swaks against smtpd.
# Output goes to $T/last.out (and $T/send.N.out); returns swaks' status.
# Adds --to when none is given and never reads stdin (swaks would prompt).
rg_send() {
	local a has_to=0 rc
	for a in "$@"; do
		case "$a" in -t | --to | --to=*) has_to=1 ;; esac
	done
	local extra=()
	[ $has_to = 1 ] || extra+=(--to rcpt@example.net)
	RG__SENDS=$((RG__SENDS + 1))
	rc=0
	swaks --server "127.0.0.1:$RG_SMTP_PORT" --timeout 60 "${extra[@]}" "$@" \
		</dev/null >"$T/last.out" 2>&1 || rc=$?
	cp "$T/last.out" "$T/send.$RG__SENDS.out"
	return $rc
}

# rg_send_outcome ID SWAKS-ARGS... - one session with swaks (no --server
# needed), for tests that send many in parallel: appends one line to
# $T/outcomes, "ID delivered", "ID refused CODE" or "ID LOST" (neither a
# queue id nor an error reply: a message the test must count as lost).
rg_send_outcome() {
	local id=$1 out code
	shift
	out=$(swaks --server "127.0.0.1:$RG_SMTP_PORT" --timeout 60 "$@" </dev/null 2>&1)
	code=$(grep -oE '^<\*\* +[45][0-9][0-9] ' <<<"$out" | head -1 | tr -d '<* ')
	if grep -q 'queued as' <<<"$out"; then
		echo "$id delivered" >>"$T/outcomes"
	elif [ -n "$code" ]; then
		echo "$id refused $code" >>"$T/outcomes"
	else
		echo "$id LOST" >>"$T/outcomes"
	fi
}

# ---------------------------------------------------------------- asserts

# rg_assert_contains [-F] FILE PATTERN
rg_assert_contains() {
	local f=-E
	[ "${1:-}" = -F ] && { f=-F; shift; }
	[ -f "$1" ] || rg_fail "no file $1"
	grep -q $f -- "$2" "$1" || {
		rg_tail "$1" 40
		rg_fail "$1 does not contain '$2'"
	}
}

# rg_assert_not_contains [-F] FILE PATTERN
rg_assert_not_contains() {
	local f=-E
	[ "${1:-}" = -F ] && { f=-F; shift; }
	[ -f "$1" ] || rg_fail "no file $1"
	if grep $f -- "$2" "$1" >&2; then
		rg_fail "$1 contains '$2'"
	fi
}

# ---------------------------------------------------------------- start/stop

rg__on_exit() {
	local rc=$?
	set +e
	[ $rc -ne 0 ] && [ $rc -ne 77 ] && RG__FAILED=1
	rg_harness_stop
	exit $rc
}

rg__on_signal() {
	set +e
	RG__FAILED=1
	rg_log "interrupted by SIG$1"
	trap - EXIT
	rg_harness_stop
	exit $((128 + $2))
}

# rg_harness_start - start every service; see the top of this file.
rg_harness_start() {
	if [ "$RG__STARTED" = 1 ] && [ "$RG__STOPPED" = 0 ]; then
		rg_fail "rg_harness_start called twice without rg_harness_stop"
	fi
	[ "$(id -u)" = 0 ] || rg_skip "the harness needs root (postfix start)"
	umask 022
	T=$(mktemp -d /tmp/rgtest.XXXXXX) || rg_fail "mktemp failed"
	# postfix-owned processes (smtp-sink -u postfix, postlogd, tlsmgr)
	# must reach files below $T
	chmod 755 "$T"
	export T
	RG__STARTED=1
	RG__STOPPED=0
	RG__PIDS=""
	RG_MILTER_PID=""
	trap rg__on_exit EXIT
	trap 'rg__on_signal INT 2' INT
	trap 'rg__on_signal TERM 15' TERM

	case "$RG__DNS_DATA" in
	*"mx.relayguard.test. 300 IN A 127.0.0.1"*) ;;
	*) rg_dns_add 'mx.relayguard.test. 300 IN A 127.0.0.1' ;;
	esac

	rg__start_sink
	rg__start_redis
	rg__start_unbound
	# a test runs with the milter unless it says otherwise: a missing
	# daemon must fail the test, not let it pass without relayguard
	if [ "${RG_NO_MILTER:-0}" != 1 ]; then
		RG_BIN=${RG_BIN:-$RG_TOP_DIR/build/relayguard}
		[ -x "$RG_BIN" ] || rg_fail "no relayguard daemon at $RG_BIN (build it, or set RG_BIN)"
		rg__start_milter
	fi
	if [ "${RG_NO_POSTFIX:-0}" != 1 ]; then
		rg__start_postfix
	fi
	{
		echo "T=$T"
		echo "RG_SMTP_PORT=$RG_SMTP_PORT SINK_PORT=$SINK_PORT REDIS_PORT=$REDIS_PORT"
		echo "DNS_PORT=$DNS_PORT RG_MILTER_PORT=${RG_MILTER_PORT:-}"
		echo "RG_POSTFIX_MILTER=${RG_POSTFIX_MILTER:-}"
	} >"$T/harness.env"
}

# rg_at_stop CMD - have rg_harness_stop eval CMD before it stops anything
# else (in the order given); CMD must not exit.
rg_at_stop() {
	RG__AT_STOP+=("$1")
}

# rg__tsan_ours FILE - print the ThreadSanitizer reports of FILE that fail
# a test: all of them, except those printed after the daemon logged
# "stopping on signal" whose access stacks hold no frame of relayguard
# itself. Those are libmilter tearing down its own threads (its listener,
# worker pool and stop mutex; see tests/tsan.supp), which a suppression
# cannot name: the pool's functions are static. A report's access stacks
# are the frames before its first "Location", "Mutex" or "Thread" line.
rg__tsan_ours() {
	awk '
	/ info: stopping on signal / { stopping = 1 }
	/ info: relayguard .* ready on / { stopping = 0 }
	/(WARNING|ERROR|FATAL): ThreadSanitizer/ {
		inrep = 1; access = 1; ours = 0; text = ""
	}
	inrep {
		text = text $0 "\n"
		if ($0 ~ /^  (Location is|Mutex |Thread T)/)
			access = 0
		if (access && $0 ~ /^ +#[0-9]+ / && $0 ~ /\(relayguard\+0x/)
			ours = 1
		if ($0 ~ /^FATAL: ThreadSanitizer/)
			ours = 1
		if ($0 ~ /^SUMMARY: ThreadSanitizer/ || $0 ~ /^FATAL:/) {
			if (ours || !stopping)
				printf "%s", text
			else
				ignored++
			inrep = 0
		}
	}
	END {
		if (inrep)
			printf "%s", text
		if (ignored)
			printf "(%d report(s) of libmilter stopping its own threads left out)\n", ignored > "/dev/stderr"
	}' "$1"
}

# rg_san_check FILE - false, with the report shown, when FILE (a daemon's
# output) holds a sanitizer report that fails the test
rg_san_check() {
	local tsan
	[ -f "$1" ] || return 0
	if grep -qE "$RG__SAN_REPORT" "$1"; then
		printf '%s\n' "FAIL: sanitizer report in $1" >&2
		grep -A40 -E "$RG__SAN_REPORT" "$1" | head -80 >&2
		RG__FAILED=1
		return 1
	fi
	grep -q 'ThreadSanitizer' "$1" || return 0
	tsan=$(rg__tsan_ours "$1")
	[ -z "$tsan" ] && return 0
	printf '%s\n' "FAIL: ThreadSanitizer report in $1" >&2
	printf '%s\n' "$tsan" | head -80 >&2
	RG__FAILED=1
	return 1
}

# rg__check_valgrind - false (and the report shown) when a valgrind log of
# the daemon (valgrind.PID.log) names errors, or lacks its final summary
# (the daemon was killed before valgrind could check for leaks, and not
# on purpose by rg_milter_kill)
rg__check_valgrind() {
	local f pid ok=0
	for f in "$T"/valgrind.*.log; do
		[ -f "$f" ] || continue
		pid=${f##*/valgrind.}
		pid=${pid%.log}
		if ! grep -q 'ERROR SUMMARY: ' "$f"; then
			case " $RG__KILLED " in *" $pid "*) continue ;; esac
			printf '%s\n' "FAIL: $f has no ERROR SUMMARY (daemon killed?)" >&2
			ok=1
		elif grep -q 'ERROR SUMMARY: [1-9]' "$f"; then
			printf '%s\n' "FAIL: valgrind errors in $f" >&2
			head -150 "$f" >&2
			ok=1
		fi
	done
	[ $ok = 0 ] || RG__FAILED=1
	return $ok
}

# rg_harness_stop - stop everything rg_harness_start started and remove $T
# (kept when the test failed or RG_KEEP=1). Safe to call more than once.
rg_harness_stop() {
	# clean-up must run to the end even when the test uses set -e
	local - pid left=""
	set +e
	[ "$RG__STARTED" = 1 ] && [ "$RG__STOPPED" = 0 ] || return 0
	RG__STOPPED=1
	# the test's own services first: they may talk to the others
	local cmd
	for cmd in "${RG__AT_STOP[@]}"; do
		eval "$cmd"
	done
	RG__AT_STOP=()
	# Postfix first, so it stops talking to the milter and the sink.
	rg__stop_postfix
	[ -n "${RG_MILTER_PID:-}" ] && rg__milter_term
	for pid in $RG__PIDS; do
		rg__kill_wait "$pid" 5
	done
	# Anything still naming $T on its command line, or of our Postfix.
	for pid in $(pgrep -f "$T" 2>/dev/null) $(rg__postfix_pids); do
		[ "$pid" = $$ ] || [ "$pid" = "${BASHPID:-}" ] && continue
		left+=" $pid"
		kill -KILL "$pid" 2>/dev/null || true
	done
	[ -n "$left" ] && rg_log "killed leftover processes:$left"
	# a sanitizer report from the daemon fails the test that caused it
	local sanitizer=0
	rg_san_check "$T/relayguard.log" || sanitizer=1
	rg__check_valgrind || sanitizer=1
	if [ "$RG__FAILED" = 1 ] || [ "${RG_KEEP:-0}" = 1 ]; then
		rg_log "test directory kept: $T"
	else
		rm -rf "$T"
	fi
	trap - EXIT INT TERM
	[ "$sanitizer" = 0 ] || exit 1
	return 0
}
