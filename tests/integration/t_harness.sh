#!/bin/bash
# t_harness.sh - the harness itself, without the milter: Postfix relays a
# message to the sink, redis answers, unbound answers the test zone, and
# nothing is left running afterwards.
. "$(dirname "$0")/lib.sh"

RG_NO_MILTER=1
rg_dns_add 'spf.relayguard.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"'
rg_dns_add_zone_cfg 'local-zone: "bad.test." refuse'
RG_POSTFIX_EXTRA='message_size_limit = 2048000'

t0=$(date +%s.%N)
rg_harness_start
t1=$(date +%s.%N)
echo "harness started in $(echo "$t1 - $t0" | bc 2>/dev/null || echo "?")s: $T"

# Postfix took the extra setting, and no milter is configured.
[ "$(postconf -c "$T/postfix" -h message_size_limit)" = 2048000 ] ||
	rg_fail "RG_POSTFIX_EXTRA not applied"
[ -z "$(postconf -c "$T/postfix" -h smtpd_milters)" ] ||
	rg_fail "smtpd_milters should be empty without a milter"
[ -z "$(rg_milter_pid)" ] || rg_fail "a milter runs despite RG_NO_MILTER=1"

# One message from a client presented with XCLIENT.
subject="harness check $$"
rg_send --from sender@example.org --to rcpt@example.net \
	--xclient-addr 192.0.2.7 --xclient-name client.example.org \
	--header "Subject: $subject" --body "hello from the harness" ||
	rg_fail "swaks exited $?"
# swaks marks client lines " ->", server lines "<-" ("~>"/"<~" under TLS,
# "<**" for an error reply); the reply to the final dot is the DATA result.
rg_assert_contains -F "$T/last.out" ' -> XCLIENT ADDR=192.0.2.7'
rg_assert_contains "$T/last.out" '^<- +250 2\.0\.0 Ok: queued as '
rg_assert_not_contains -F "$T/last.out" '<**'
rg_wait_sink 1
rg_sink_grep -F "Subject: $subject" >/dev/null || rg_fail "Subject missing in the sink"
rg_sink_grep -F "X-Rcpt-Args: <rcpt@example.net>" >/dev/null ||
	rg_fail "recipient missing in the sink"
# Postfix saw the XCLIENT address, not 127.0.0.1.
rg_sink_grep -F "[192.0.2.7]" >/dev/null || rg_fail "XCLIENT address not in Received"
rg_wait_queue_empty 20

# STARTTLS works with the self-signed certificate.
rg_send -tls --from sender@example.org --header "Subject: tls $subject" ||
	rg_fail "swaks -tls exited $?"
rg_assert_contains -F "$T/last.out" 'TLS started'
rg_wait_sink 2
rg_sink_grep -F "Subject: tls $subject" >/dev/null || rg_fail "TLS message missing"

# redis
[ "$(rg_redis ping)" = PONG ] || rg_fail "redis did not answer PING"
rg_redis set rg:probe 42 >/dev/null
[ "$(rg_redis get rg:probe)" = 42 ] || rg_fail "redis GET"

# unbound: default data, test data, and nothing else
[ "$(rg_dig +short mx.relayguard.test A)" = 127.0.0.1 ] ||
	rg_fail "unbound does not answer mx.relayguard.test"
rg_dig +short spf.relayguard.test TXT | grep -qF '"v=spf1 ip4:192.0.2.0/24 -all"' ||
	rg_fail "unbound does not answer the TXT record"
rg_dig www.example.com A >"$T/dig.out"
rg_assert_contains "$T/dig.out" 'status: NXDOMAIN'
rg_dig x.bad.test A >"$T/dig.out"
rg_assert_contains "$T/dig.out" 'status: REFUSED'

# Stop explicitly and check that nothing of this test is left.
dir=$T
pids="$SINK_PID $REDIS_PID $DNS_PID $POSTFIX_PID"
RG_KEEP=0 rg_harness_stop
for p in $pids; do
	rg__alive "$p" && { echo "FAIL: pid $p still runs" >&2; exit 1; }
done
if pgrep -a -f "$dir"; then
	echo "FAIL: processes of $dir still run" >&2
	exit 1
fi
[ -z "$(rg__postfix_pids)" ] || { echo "FAIL: postfix processes left" >&2; exit 1; }
[ ! -d "$dir" ] || { echo "FAIL: $dir not removed" >&2; exit 1; }
echo "ok"
