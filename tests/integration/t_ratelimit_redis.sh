#!/bin/bash
# t_ratelimit_redis.sh - two relayguard instances on different sockets
# share one Redis and together enforce one limit, and relayguardctl talks
# to that Redis itself.
#
# Instance A is the harness's daemon, behind Postfix. Instance B is a
# second daemon started here with its own configuration and port and the
# same Redis, driven by miltertest as a second MTA would drive it (a second
# Postfix would show nothing more: what matters is that two processes,
# each with its own connections to Redis, count into the same keys).
# per_login allows 4 messages an hour: 2 through A, then 3 through B (the
# 3rd refused), then 1 more through A (refused): 4 accepted in all.
# With Redis the answer to MAIL's counters is read at RCPT, so the refusal
# comes there. Then: relayguardctl show reads the shared counter; block
# through Redis reaches A within block_refresh_interval, unblock too.
# Last, per_ip_conn (3 sessions an hour): CONNECT's counters are answered
# at MAIL, so the 4th session from one address is refused at MAIL, and
# the excess is logged once.
. "$(dirname "$0")/lib.sh"

command -v miltertest >/dev/null || rg_skip "miltertest is not installed"
# redis_command_timeout: the default 200 ms is too short for a sanitizer
# build on a busy machine, and failure mode open would skip the limit
RG_CONF='kv_backend = redis
redis_server = 127.0.0.1:$REDIS_PORT
redis_command_timeout = 2s
block_refresh_interval = 1s
ratelimit_rules = per_login messages sasl_user 4/1h tempfail auth; per_ip_conn connections client_ip 3/1h tempfail unauth'
rg_harness_start
CTL="$(dirname "$RG_BIN")/relayguardctl -c $T/relayguard.conf"

# instance B: same store and rule, its own socket and log
rg_port B_PORT
sed "s/^socket = .*/socket = inet:$B_PORT@127.0.0.1/" "$T/relayguard.conf" >"$T/b.conf"
TSAN_OPTIONS=$(rg_daemon_tsan) "$RG_BIN" -f -c "$T/b.conf" -u nobody >"$T/b.log" 2>&1 &
B_PID=$!
rg_at_stop "rg__kill_wait $B_PID 10; rg_san_check $T/b.log || exit 1"
RG_EXTRA_LOGS="$T/b.log"
rg__wait_listen "$B_PORT" "$B_PID" 10 || rg_fail "instance B did not start: $(cat "$T/b.log")"

send_a() {
	rg_send --from carol@ours.example --to r@far.example \
		--xclient "ADDR=192.0.2.30 LOGIN=carol"
}
send_b() { # COUNT
	RG_SOCKET="inet:$B_PORT@127.0.0.1" RG_LOGIN=carol RG_COUNT=$1 \
		miltertest -s "$RG_TOP_DIR/tests/milter/ratelimit_login.lua" >"$T/mt.out" 2>&1 ||
		rg_fail "miltertest: $(cat "$T/mt.out")"
}

send_a || rg_fail "A: message 1 refused"
send_a || rg_fail "A: message 2 refused"
send_b 3
cat "$T/mt.out" >&2
[ "$(grep -c '^message [12] continue$' "$T/mt.out")" = 2 ] ||
	rg_fail "B did not accept messages 3 and 4 of the limit: $(cat "$T/mt.out")"
grep -q '^message 3 refused$' "$T/mt.out" ||
	rg_fail "B accepted a 5th message: $(cat "$T/mt.out")"
send_a && rg_fail "A accepted a 6th message"
rg_assert_contains -F "$T/last.out" '<** 451 4.7.1 Rate limit exceeded (per_login: 4 per 1h)'
grep -B1 -F '<** 451 4.7.1 Rate limit exceeded (per_login' "$T/last.out" | grep -q -- '-> RCPT TO:' ||
	rg_fail "the message was not refused at RCPT: $(cat "$T/last.out")"
rg_wait_sink 2
grep -q 'verdict=tempfail .*check=ratelimit' "$T/b.log" || rg_fail "B logged no refusal"

rg_redis --scan --pattern 'rg:*' | sort >"$T/keys"
grep -qx 'rg:rl:msg:per_login:1h:carol' "$T/keys" || rg_fail "keys: $(cat "$T/keys")"
out=$($CTL show rl:msg:per_login:1h:carol) || rg_fail "relayguardctl show: $out"
[ "$out" = "rl:msg:per_login:1h:carol = 4 in 1h" ] || rg_fail "relayguardctl show: $out"
$CTL top messages 1 | grep -q '^ *4  rl:msg:per_login:1h:carol$' || rg_fail "top: $($CTL top)"

# blocks through Redis reach the daemon within block_refresh_interval
out=$($CTL block 203.0.113.7) || rg_fail "block: $out"
[ "$(rg_redis get rg:block:203.0.113.7/32 | cut -c1-8)" = "blocked " ] || rg_fail "no block key in Redis"
sleep 1.5
rg_send --from x@far.example --to u@ours.example --xclient ADDR=203.0.113.7 &&
	rg_fail "a client blocked through Redis delivered"
grep -q 'milter-reject: XCLIENT from unknown\[203.0.113.7\]: 554 5.7.1' "$T/postfix.log" ||
	rg_fail "no 554 5.7.1 for the blocked client"
$CTL unblock 203.0.113.7 >/dev/null || rg_fail "unblock failed"
sleep 1.5
rg_send --from x@far.example --to u@ours.example --xclient ADDR=203.0.113.7 ||
	rg_fail "refused after unblock"
rg_wait_sink 3

# per_ip_conn: three sessions of 192.0.2.44 deliver, the fourth is refused
# at MAIL (Postfix logs it)
for n in 1 2 3; do
	rg_send --from x@far.example --to u@ours.example --xclient ADDR=192.0.2.44 ||
		rg_fail "session $n of 192.0.2.44 refused: $(cat "$T/last.out")"
done
rg_wait_sink 6
# its sender, one of ours without a login, would be refused by the relay
# check; the session's refusal, read first, decides, as at CONNECT
rg_send --from x@ours.example --to u@ours.example --xclient ADDR=192.0.2.44 &&
	rg_fail "a 4th session of 192.0.2.44 delivered"
grep -B1 -F '<** 451 4.7.1 Rate limit exceeded (per_ip_conn: 3 per 1h)' "$T/last.out" |
	grep -q -- '-> MAIL FROM:' || rg_fail "not refused at MAIL: $(cat "$T/last.out")"
for _ in $(seq 100); do # postlogd writes it a moment later
	grep -q 'milter-reject: MAIL from unknown\[192.0.2.44\]: 451 4.7.1 Rate limit exceeded (per_ip_conn' \
		"$T/postfix.log" && break
	sleep 0.1
done
grep -q 'milter-reject: MAIL from unknown\[192.0.2.44\]: 451 4.7.1 Rate limit exceeded (per_ip_conn' \
	"$T/postfix.log" || rg_fail "Postfix logged no refusal at MAIL"
rg_wait_log 'verdict=tempfail client=unknown\[192\.0\.2\.44\].*check=ratelimit reply="451 4\.7\.1 Rate limit exceeded \(per_ip_conn'
[ "$(grep -c 'ratelimit: rl:conn:per_ip_conn:1h:192.0.2.44 over 3/1h' "$T/relayguard.log")" = 1 ] ||
	rg_fail "the excess was not logged once: $(grep 'ratelimit:' "$T/relayguard.log")"
# the counter counted the refused session too: nothing was added
[ "$($CTL show rl:conn:per_ip_conn:1h:192.0.2.44)" = "rl:conn:per_ip_conn:1h:192.0.2.44 = 3 in 1h" ] ||
	rg_fail "counter: $($CTL show rl:conn:per_ip_conn:1h:192.0.2.44)"
echo ok
