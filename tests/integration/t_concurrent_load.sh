#!/bin/bash
# t_concurrent_load.sh - many sessions at once, with reloads in between,
# and every message accounted for. Meant to give a ThreadSanitizer build
# real contention (RG_BIN=build-tsan/relayguard); any build must pass it.
#
# 30 sessions run in parallel: four milterload runs speak the milter
# protocol straight to the daemon (26 sessions, 460 messages), four swaks
# loops go through Postfix (24 messages). Counters live in Redis, so every
# session thread uses its own Redis connection; every message looks up SPF
# and DNSBL through the shared resolver; mail of the logged-in users is
# DKIM-signed. While the load runs, every 0.1 s: the configuration is
# reloaded (SIGHUP, max_recipients toggled), the metrics are scraped over
# HTTP, and a network no client uses is blocked or unblocked through the
# control socket (the housekeeping thread reloads the blocked networks
# every second while sessions read them).
#
#   alice   logged in, relays to far.example          all accepted, signed
#   dave    logged in, over per_login 25/1h            25 accepted, 15 refused
#   relay   no login, to another foreign domain        all refused (relay)
#   inbound no login, to ours.example                  all accepted
#   Postfix 198.51.100.1-4: inbound accepted, relay attempts refused,
#           198.51.100.4 is on the DNSBL: everything refused
# Checked: each milterload run's accepted/refused/errors, each swaks
# outcome against the sink, one summary line per message in the log and
# one count per message in relayguard_messages_total, the exact per_login
# count in Redis, every scrape and control command answered, reloads
# between the first and the last summary line.
. "$(dirname "$0")/lib.sh"

ML=$(dirname "${RG_BIN:-$RG_TOP_DIR/build/relayguard}")/tests/bench/milterload
[ -x "$ML" ] || rg_fail "$ML not built (make all builds it)"

K=$(mktemp -d /tmp/rgloadkey.XXXXXX)
trap 'rm -rf "$K"' EXIT
chmod 755 "$K"
openssl genpkey -algorithm ed25519 -out "$K/ed.pem" 2>/dev/null || rg_fail "openssl genpkey ed25519"
openssl pkey -in "$K/ed.pem" -outform DER | tail -c 32 | base64 >"$K/ed.seed"
chmod 600 "$K/ed.seed"
chown nobody "$K/ed.seed"

rg_port MPORT
rg_dns_add 'far.example. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 -all"'
rg_dns_add '4.100.51.198.zen.test. 300 IN A 127.0.0.2'
# redis_command_timeout: a slow (sanitizer) build must not turn a busy
# Redis into "failure mode open", which would let dave past his limit
RG_CONF="kv_backend = redis
redis_server = 127.0.0.1:\$REDIS_PORT
redis_command_timeout = 5s
dnsbl_sites = zen.test
dkim_sign = ours.example ed $K/ed.seed
ratelimit_rules = per_login messages sasl_user 25/1h tempfail auth
metrics_listen = 127.0.0.1:$MPORT
control_socket = \$T/control.sock
block_refresh_interval = 1s
max_recipients = 50"
rg_harness_start
trap 'rg_harness_stop; rm -rf "$K"' EXIT
CTL="$(dirname "$ML")/../../relayguardctl -c $T/relayguard.conf"

# the messages milterload sends (-F): header, empty line, body
msg() { # FILE FROM TO
	printf 'From: <%s>\r\nTo: <%s>\r\nSubject: load\r\nMessage-ID: <%s@load.test>\r\n\r\nline one\r\nline two\r\n' \
		"$2" "$3" "$(basename "$1")" >"$1"
}
msg "$T/alice.eml" alice@ours.example r@far.example
msg "$T/dave.eml" dave@ours.example r@far.example
msg "$T/relay.eml" x@far.example y@elsewhere.example
msg "$T/inbound.eml" x@far.example u@ours.example

load() { # NAME MILTERLOAD-ARGS...
	local name=$1
	shift
	"$ML" -F "$T/$name.eml" "$@" "inet:$RG_MILTER_PORT@127.0.0.1" \
		>"$T/ml.$name.out" 2>"$T/ml.$name.err" &
	LOADS+=" $!"
	RG__PIDS+=" $!"
}

# smtp NAME CLIENT - six sessions through Postfix, every other one an
# attempt to relay; one outcome line each
smtp() {
	local n=$1 addr=$2 i to
	for i in 1 2 3 4 5 6; do
		to=u$i@ours.example
		[ $((i % 2)) = 0 ] && to=v$i@elsewhere.example
		rg_send_outcome "$n-$i" --xclient-addr "$addr" --from "s$n@far.example" \
			--to "$to" --header "Subject: smtp $n-$i" --body x
	done
}

LOADS=""
load alice -c 6 -n 20 -a alice -f alice@ours.example -t r@far.example
load dave -c 4 -n 40 -a dave -f dave@ours.example -t r@far.example
load relay -c 8 -n 200 -m 2 -f x@far.example -t y@elsewhere.example
load inbound -c 8 -n 200 -m 2 -f x@far.example -t u@ours.example
SMTPS=""
for n in 1 2 3 4; do
	smtp "$n" "198.51.100.$n" &
	SMTPS+=" $!"
	RG__PIDS+=" $!"
done

# every 0.1 s while anything is still sending: reload, scrape, (un)block
reloads=0 scrapes=0 ctls=0
running() {
	local p
	for p in $LOADS $SMTPS; do
		rg__alive "$p" && return 0
	done
	return 1
}
while running; do
	if grep -q '^max_recipients = 50$' "$T/relayguard.conf"; then
		sed -i 's/^max_recipients = 50$/max_recipients = 60/' "$T/relayguard.conf"
	else
		sed -i 's/^max_recipients = 60$/max_recipients = 50/' "$T/relayguard.conf"
	fi
	rg_milter_reload
	reloads=$((reloads + 1))
	curl -sf -o "$T/metrics" "http://127.0.0.1:$MPORT/metrics" && scrapes=$((scrapes + 1))
	if [ $((reloads % 2)) = 1 ]; then
		$CTL block 203.0.113.0/24 >/dev/null && ctls=$((ctls + 1))
	else
		$CTL unblock 203.0.113.0/24 >/dev/null && ctls=$((ctls + 1))
	fi
	sleep 0.1
done
for p in $LOADS $SMTPS; do
	wait "$p" || rg_fail "load process $p exited $?"
done
echo "SIGHUPs sent: $reloads, scrapes: $scrapes, control commands: $ctls"
[ "$scrapes" = "$reloads" ] || rg_fail "only $scrapes of $reloads metrics scrapes answered"
[ "$ctls" = "$reloads" ] || rg_fail "only $ctls of $reloads control commands answered"

# milterload: NAME MESSAGES ACCEPTED REFUSED
expect() {
	local out
	out=$(cat "$T/ml.$1.out")
	echo "$1: $out"
	[ -s "$T/ml.$1.err" ] && rg_fail "milterload $1 complained: $(cat "$T/ml.$1.err")"
	case " $out " in
	*" messages=$2 accepted=$3 refused=$4 errors=0 "*) ;;
	*) rg_fail "$1: want messages=$2 accepted=$3 refused=$4 errors=0, got: $out" ;;
	esac
}
expect alice 20 20 0
expect dave 40 25 15
expect relay 200 0 200
expect inbound 200 200 0

# Postfix: inbound delivered, relay refused with 550, the listed client
# refused with 554 whatever it sends
cat "$T/outcomes" >&2
[ "$(wc -l <"$T/outcomes")" = 24 ] || rg_fail "$(wc -l <"$T/outcomes") outcomes for 24 messages"
grep -q LOST "$T/outcomes" && rg_fail "messages without a delivery or a code"
for n in 1 2 3; do
	for i in 1 3 5; do grep -qx "$n-$i delivered" "$T/outcomes" || rg_fail "$n-$i not delivered"; done
	for i in 2 4 6; do grep -qx "$n-$i refused 550" "$T/outcomes" || rg_fail "$n-$i not refused with 550"; done
done
[ "$(grep -c '^4-[1-6] refused 554$' "$T/outcomes")" = 6 ] || rg_fail "the listed client was not refused 6 times"
rg_wait_sink 9 30

# the log: one summary line per message, signatures for alice's and
# dave's accepted mail, dave's count in Redis exact
sums=$(grep -c ' verdict=' "$T/relayguard.log")
[ "$sums" = $((460 + 24)) ] || rg_fail "$sums summary lines for $((460 + 24)) messages"
signed=$(grep ' verdict=' "$T/relayguard.log" | grep -c 'dkim_signed=1')
[ "$signed" = 45 ] || rg_fail "$signed messages signed, want 45 (alice 20, dave 25)"
got=$($CTL show rl:msg:per_login:1h:dave 2>&1)
[ "$got" = "rl:msg:per_login:1h:dave = 25 in 1h" ] || rg_fail "dave's counter in Redis: $got"
curl -sf -o "$T/metrics" "http://127.0.0.1:$MPORT/metrics" || rg_fail "last scrape failed"
counted=$(awk '/^relayguard_messages_total\{/ { n += $2 } END { print n + 0 }' "$T/metrics")
[ "$counted" = 484 ] || rg_fail "relayguard_messages_total adds up to $counted, want 484"
# a reload happened while summary lines were being written
first=$(grep -n ' verdict=' "$T/relayguard.log" | head -1 | cut -d: -f1)
last=$(grep -n ' verdict=' "$T/relayguard.log" | tail -1 | cut -d: -f1)
mid=$(grep -n 'reloaded configuration' "$T/relayguard.log" |
	awk -F: -v a="$first" -v b="$last" '$1 > a && $1 < b' | wc -l)
[ "$mid" -ge 2 ] || rg_fail "only $mid reloads during the traffic"
echo "ok: 484 messages, $reloads SIGHUPs, $mid reloads between summary lines"
