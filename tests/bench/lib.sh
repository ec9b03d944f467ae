# shellcheck shell=bash
# lib.sh - shared parts of the benchmarks in tests/bench.
#
# Sourced by e2e.sh, load.sh, memory.sh and scaling.sh. Builds on the
# integration harness (tests/integration/lib.sh: private Postfix,
# smtp-sink, unbound, redis, relayguard on TCP, all under $T), and adds:
#
#   bench_prepare         relayguard.conf of tests/bench (every check on),
#                         the DNS records the checks look up, a DKIM key
#   bench_corpus          the benchmark messages, DKIM-signed
#   bench_assert_checks   fail unless the summary lines show every check
#   bench_start_unix      a second relayguard on unix:$T/rg.sock, group postfix
#                         (or another build: bench_start_unix BIN NAME)
#   bench_start_null      nullfilter (relayguard's protocol, no checks) and
#                         nullfilter -n (a plain do-nothing filter) on
#                         unix:$T/null.sock and unix:$T/plain.sock
#   bench_median, bench_ratio   arithmetic on lists of figures
#   bench_rss PID         "VmRSS RssAnon" in kB;  bench_cpu PID: CPU ticks
#   bench_machine         cores, CPU, load average, versions (for the report)
#
# Knobs (environment): RG_BIN (daemon), MILTERLOAD (load generator),
# NULLFILTER (the floor filter), all defaulting to the build/ directory of
# this tree.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/lib.sh
. "$BENCH_DIR/../integration/lib.sh"

RG_BIN=${RG_BIN:-$RG_TOP_DIR/build/relayguard}
MILTERLOAD=${MILTERLOAD:-$RG_TOP_DIR/build/tests/bench/milterload}
NULLFILTER=${NULLFILTER:-$RG_TOP_DIR/build/tests/bench/nullfilter}
BENCH_SENDER=bench@sender.bench.example
BENCH_RCPT=user@rcpt.bench.test

bench_log() { printf '%s\n' "bench: $*" >&2; }

# The harness makes its directory as /tmp/rgtest.XXXXXX. On the shared
# project machine other sessions clear /tmp/rgtest.* while a long
# benchmark runs (twice a run lost its socket and its queue that way), so
# the benchmarks put theirs under BENCH_TMPDIR instead: same disk by
# default; BENCH_TMPDIR=/dev/shm puts the Postfix queue on tmpfs.
BENCH_TMPDIR=${BENCH_TMPDIR:-/var/tmp/relayguard-bench}
mkdir -p -m 755 "$BENCH_TMPDIR"
mktemp() {
	if [ "$#" = 2 ] && [ "$1" = -d ] && [[ $2 == /tmp/rgtest.* ]]; then
		command mktemp -d "$BENCH_TMPDIR/${2#/tmp/}"
	else
		command mktemp "$@"
	fi
}

# bench_prepare - check the binaries, load relayguard.conf, add DNS data,
# make the DKIM key the benchmark messages are signed with.
bench_prepare() {
	[ -x "$RG_BIN" ] || rg_fail "no relayguard at $RG_BIN (run make, or set RG_BIN)"
	[ -x "$MILTERLOAD" ] || rg_fail "no milterload at $MILTERLOAD (run make bench-tools)"
	[ -x "$NULLFILTER" ] || rg_fail "no nullfilter at $NULLFILTER (run make bench-tools)"
	/usr/bin/python3 -c 'import dkim' 2>/dev/null || rg_fail "python3-dkim is not installed"
	RG_CONF=$(cat "$BENCH_DIR/relayguard.conf")
	# log what production logs: one summary line per message (info)
	# shellcheck disable=SC2016
	RG_CONF_BASE='socket = inet:$RG_MILTER_PORT@127.0.0.1
log_target = stderr
log_level = info'
	# what SPF, DMARC, DKIM, DNSBL and SURBL look up for the benchmark
	# mail (the sender's domain is not under .test: OpenDKIM's libunbound
	# answers .test from its built-in empty zone, and the way to tell it
	# otherwise, a libunbound configuration file, crashed its parser under
	# parallel sessions); every other name (the list zones among them) is
	# NXDOMAIN:
	# the harness's unbound serves "." as a static zone
	rg_dns_add 'sender.bench.example. 300 IN TXT "v=spf1 ip4:127.0.0.0/8 ip4:192.0.2.0/24 -all"'
	rg_dns_add '_dmarc.sender.bench.example. 300 IN TXT "v=DMARC1; p=none; rua=mailto:d@sender.bench.example"'
	rg_dns_add 'sender.bench.example. 300 IN MX 10 mx.sender.bench.example.'
	rg_dns_add 'mx.sender.bench.example. 300 IN A 127.0.0.1'
	rg_dns_add 'client.bench.test. 300 IN A 127.0.0.1'
	rg_dns_add 'rcpt.bench.test. 300 IN MX 10 mx.relayguard.test.'
	bench_dkim_key
}

# bench_dkim_key - an RSA key in BENCH_KEYDIR (removed at exit), its
# public half as bench._domainkey.sender.bench.example
bench_dkim_key() {
	local pub
	BENCH_KEYDIR=$(command mktemp -d "$BENCH_TMPDIR/keys.XXXXXX") || rg_fail "mktemp failed"
	rg_at_stop "rm -rf '$BENCH_KEYDIR'"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$BENCH_KEYDIR/rsa.pem" 2>/dev/null || rg_fail "openssl genpkey"
	chmod 644 "$BENCH_KEYDIR/rsa.pem"	# the peers' users read it too
	pub=$(openssl pkey -in "$BENCH_KEYDIR/rsa.pem" -pubout -outform DER | base64 -w0)
	# TXT strings are at most 255 octets: split the record
	rg_dns_add "bench._domainkey.sender.bench.example. 300 IN TXT $(printf 'v=DKIM1; k=rsa; p=%s' "$pub" |
		fold -w 200 | sed 's/.*/"&"/' | tr '\n' ' ')"
}

# bench_corpus DIR SIZE... - DIR/SIZE.eml for each size: milterload's
# message (RFC 5322 header, text body with five links), DKIM-signed
# (rsa-sha256, relaxed/relaxed, d=sender.bench.example) by dkimpy, LF line
# ends as smtp-source -F and milterload -F read them
bench_corpus() {
	local dir=$1 size
	shift
	mkdir -p "$dir"
	for size in "$@"; do
		"$MILTERLOAD" -s "$size" -W "$dir/$size.plain" || rg_fail "cannot write the $size message"
		/usr/bin/python3 "$RG_LIB_DIR/dkim_interop.py" sign "$BENCH_KEYDIR/rsa.pem" \
			sender.bench.example bench rsa-sha256 relaxed/relaxed <"$dir/$size.plain" |
			tr -d '\r' >"$dir/$size.eml" || rg_fail "cannot sign the $size message"
		rm -f "$dir/$size.plain"
	done
}

# bench_assert_checks LOG N SOCKET [CONF] - the last N summary lines in
# LOG show every check at work: an accepted inbound message, spf=pass,
# dkim=pass, dmarc=pass, the DNSBL and SURBL lookups made; the store holds
# the rate limit counters (Redis, or with CONF, the embedded store of the
# relayguard configured there, asked through its control socket); and
# the relayguard on SOCKET refuses to relay to a foreign domain. Without
# this the figures would measure a filter that skipped its work.
bench_assert_checks() {
	local log=$1 n=$2 sock=$3 conf=${4:-} lines want bad="" out keys
	lines=$(grep 'verdict=' "$log" | tail -n "$n")
	[ "$(printf '%s\n' "$lines" | grep -c 'verdict=accept')" -eq "$n" ] ||
		bad+=" verdict=accept"
	for want in 'spf=pass' 'dkim=pass' 'dmarc="?pass' 'dnsbl=' 'surbl="?clean\([1-9]'; do
		[ "$(printf '%s\n' "$lines" | grep -cE "$want")" -eq "$n" ] || bad+=" $want"
	done
	[ -z "$bad" ] || {
		printf '%s\n' "$lines" | tail -n 3 >&2
		rg_fail "$log: not every check ran on the last $n messages:$bad"
	}
	if [ -n "$conf" ]; then
		keys=$("$(dirname "$RG_BIN")/relayguardctl" -c "$conf" show 'rl:*' 2>&1)
	else
		keys=$(rg_redis --scan --pattern 'rg:rl:*')
	fi
	for want in per_ip_conn per_ip_msg per_sender_rcpt; do
		printf '%s\n' "$keys" | grep -q "rl:[a-z]*:$want:" ||
			rg_fail "no counter of rate limit $want in ${conf:+the embedded store of }${conf:-Redis}: $(printf '%s\n' "$keys" | head -3)"
	done
	out=$("$MILTERLOAD" -c 1 -n 1 -t user@foreign.bench.test "$sock")
	[ "$(bench_kv refused "$out")" = 1 ] || rg_fail "relay to a foreign domain not refused: $out"
}

# bench_start_unix [BIN NAME [SED]] - a second relayguard, same
# configuration, on a unix socket the Postfix user can reach
# (socket_group = postfix): RG_BIN on $T/rg.sock (sets RG_UNIX_SOCK and
# RG_UNIX_PID), or BIN on $T/NAME.sock (another build in the same run, or
# with SED, a sed expression applied to the configuration, the same build
# configured otherwise). Every one is in UNIX_SOCK[NAME] and
# UNIX_PID[NAME]; its log is $T/relayguard-NAME.log ("unix" for rg). The
# harness stops it at exit.
declare -gA UNIX_SOCK UNIX_PID
bench_start_unix() {
	local bin=${1:-$RG_BIN} name=${2:-rg} edit=${3:-} sock pid conf
	sock=$T/$name.sock
	conf=$T/relayguard-unix.conf
	[ "$name" = rg ] || conf=$T/relayguard-$name.conf
	sed -e "s|^socket = .*|socket = unix:$sock|" ${edit:+-e "$edit"} "$T/relayguard.conf" >"$conf"
	[ -z "$edit" ] || ! cmp -s "$conf" <(sed -e "s|^socket = .*|socket = unix:$sock|" "$T/relayguard.conf") ||
		rg_fail "bench_start_unix: \"$edit\" changed nothing"
	echo "socket_group = postfix" >>"$conf"
	rg__bg "${conf%.conf}.log" "$bin" -f -c "$conf" -u nobody
	pid=$RG__LASTPID
	[ "$name" != rg ] || RG_UNIX_SOCK=$sock RG_UNIX_PID=$pid
	UNIX_SOCK[$name]=$sock UNIX_PID[$name]=$pid
	rg__wait_for 10 "$pid" bench__answers "$sock" && return 0
	rg_tail "${conf%.conf}.log"
	rg_fail "relayguard on $sock did not answer"
}

# bench_start_mem - bench_start_unix's relayguard "mem": its counters in
# the embedded store (kv_backend = memory) instead of Redis, and a control
# socket through which bench_assert_checks finds them; its configuration
# is $T/relayguard-mem.conf
bench_start_mem() {
	bench_start_unix "$RG_BIN" mem "s/^kv_backend = redis\$/kv_backend = memory/;\$a control_socket = $T/mem-control.sock"
}

# bench__answers SOCK - a milter on the unix socket SOCK takes a message
bench__answers() {
	[ -S "$1" ] && "$MILTERLOAD" -n 1 -c 1 "unix:$1" >/dev/null 2>&1
}

# bench_start_null - the floor: nullfilter speaks the milter protocol as
# relayguard does (same stages, no-reply steps, macro lists, two header
# fields added) and checks nothing, on unix:$T/null.sock; nullfilter -n,
# the plain do-nothing filter (every stage, nothing negotiated), on
# unix:$T/plain.sock. Sets NULL_SOCK, NULL_PID, PLAIN_SOCK, PLAIN_PID.
bench_start_null() {
	local v sock pid
	for v in null plain; do
		sock=$T/$v.sock
		if [ "$v" = null ]; then
			rg__bg "$T/$v.log" "$NULLFILTER" -g postfix "unix:$sock"
		else
			rg__bg "$T/$v.log" "$NULLFILTER" -n -g postfix "unix:$sock"
		fi
		pid=$RG__LASTPID
		rg__wait_for 10 "$pid" bench__answers "$sock" || {
			rg_tail "$T/$v.log"
			rg_fail "nullfilter on $sock did not answer"
		}
		if [ "$v" = null ]; then NULL_SOCK=$sock NULL_PID=$pid; else PLAIN_SOCK=$sock PLAIN_PID=$pid; fi
	done
}

# bench_median N... - the median of the numbers given
bench_median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "nan"; else if (NR % 2) printf "%g\n", v[(NR + 1) / 2];
		      else printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bench_ratio A B - A / B with two decimals
bench_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "nan" }'
}

# bench_kv KEY LINE - the value of KEY=... in a line of key=value pairs
bench_kv() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# bench_rss PID - "VmRSS RssAnon" in kB
bench_rss() {
	awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { print r, a }' "/proc/$1/status"
}

# bench_threads PID - number of threads
bench_threads() {
	awk '/^Threads:/ { print $2 }' "/proc/$1/status"
}

# bench_cpu PID - user + system CPU time of PID in clock ticks
bench_cpu() {
	# the command name may hold spaces: count fields after the last ')'
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# bench_machine - the facts a figure needs beside it
bench_machine() {
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cores: $(nproc) ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | sort -u | head -1))"
	echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "kernel: $(uname -r); Debian $(cat /etc/debian_version)"
	echo "postfix: $(postconf -d -h mail_version 2>/dev/null); libmilter: $(dpkg-query -W -f='${Version}' libmilter1.0.1 2>/dev/null)"
	echo "relayguard: $(git -C "$RG_TOP_DIR" describe --always --dirty 2>/dev/null)"
}
