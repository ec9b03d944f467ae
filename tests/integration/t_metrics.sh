#!/bin/bash
# t_metrics.sh - the Prometheus endpoint through the real Postfix:
#  - GET /metrics answers 200 with text format 0.0.4; other paths and
#    methods get 404; it listens on loopback only;
#  - after an accepted message, a relayed one, a relay refusal and a
#    DNSBL-listed client, the counters moved by exactly what was sent
#    (messages by verdict and check, relay reasons, DNSBL results,
#    relayed messages, stage histograms) and no connection stays open;
#  - a reload shows in the reload counter and the generation;
#  - the configured Redis password never appears in the output;
#  - `relayguard -n` refuses a non-loopback metrics_listen naming
#    file:line, and accepts it with metrics_allow_remote = yes.
. "$(dirname "$0")/lib.sh"

SECRET='Zq9-metrics-Secret-7Xw'
rg__pick_port || rg_fail "no free port for metrics"
MPORT=$RG__PORT
URL="http://127.0.0.1:$MPORT/metrics"
rg_dns_add '7.2.0.192.zen.test. 300 IN A 127.0.0.2'
RG_CONF="metrics_listen = 127.0.0.1:$MPORT
redis_password = $SECRET
dnsbl_sites = zen.test
dns_timeout = 2s
ratelimit_rules = anon messages client_ip 1/1h tempfail unauth
surbl_sites = multi.surbl.test"
rg_harness_start

# scrape FILE - fetch the metrics into FILE (fails the test on an error)
scrape() {
	curl -sf -o "$1" -D "$1.headers" "$URL" || rg_fail "GET $URL failed"
}

# val FILE SERIES - the value of one series (name with its labels)
val() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) print "missing" }' "$1"
}

# delta SERIES WANT - the series moved by exactly WANT between the scrapes
delta() {
	local a b
	a=$(val "$T/m0" "$1")
	b=$(val "$T/m1" "$1")
	[ "$a" != missing ] && [ "$b" != missing ] || rg_fail "$1 is missing"
	[ $((b - a)) = "$2" ] || rg_fail "$1 moved by $((b - a)), want $2 ($a -> $b)"
	echo "ok: $1 +$2"
}

# --- the endpoint ---------------------------------------------------------
scrape "$T/m0"
head -n 1 "$T/m0.headers" | grep -q ' 200' || rg_fail "status: $(head -n 1 "$T/m0.headers")"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/m0.headers" ||
	rg_fail "no text format 0.0.4 content type: $(cat "$T/m0.headers")"
grep -q '^# TYPE relayguard_messages_total counter$' "$T/m0" || rg_fail "no messages counter"
grep -q '^# TYPE relayguard_stage_duration_seconds histogram$' "$T/m0" || rg_fail "no histogram"
for path in / /metrics/ /foo "/metrics?x=1/../../etc/passwd"; do
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT$path")
	case "$path" in
	"/metrics?"*) want=200 ;; # a query string is no other path
	*) want=404 ;;
	esac
	[ "$code" = "$want" ] || rg_fail "GET $path: $code, want $want"
done
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x=1 "$URL")
[ "$code" = 404 ] || rg_fail "POST /metrics: $code, want 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$URL")
[ "$code" = 200 ] || rg_fail "HEAD /metrics: $code, want 200"
ss -Hltn "( sport = :$MPORT )" | grep -q "127.0.0.1:$MPORT" ||
	rg_fail "not listening on 127.0.0.1:$MPORT: $(ss -Hltn "( sport = :$MPORT )")"

# --- traffic --------------------------------------------------------------
# accepted: an untrusted client to our domain (DNSBL clean, SPF none)
rg_send --from a@far.example --to user@ours.example --xclient-addr 192.0.2.50 \
	--header "Subject: accepted" || rg_fail "accepted message: swaks $?"
# the same client again: over its rate limit of one message
rg_send --from a@far.example --to user@ours.example --xclient-addr 192.0.2.50 \
	--header "Subject: limited" || true
rg_assert_contains -F "$T/last.out" '<** 451 4.7.1'
# relayed: a trusted client (127.0.0.1, no XCLIENT) to a foreign domain
rg_send --from a@ours.example --to b@far.example --header "Subject: relayed" ||
	rg_fail "relayed message: swaks $?"
# refused relaying: an untrusted client to a foreign domain
rg_send --from a@far.example --to victim@far.example --xclient-addr 192.0.2.60 || true
rg_assert_contains -F "$T/last.out" '<** 550 5.7.1'
# listed: refused at MAIL
rg_send --from a@far.example --to user@ours.example --xclient-addr 192.0.2.7 || true
rg_assert_contains "$T/last.out" '^<\*\* +554 5\.7\.1 .*zen\.test'
rg_wait_sink 2
# every session's close has reached the milter: nothing open
for _ in $(seq 50); do
	scrape "$T/m1"
	[ "$(val "$T/m1" relayguard_connections_open)" = 0 ] && break
	sleep 0.1
done
[ "$(val "$T/m1" relayguard_connections_open)" = 0 ] ||
	rg_fail "connections open after the sessions: $(val "$T/m1" relayguard_connections_open)"

delta 'relayguard_messages_total{verdict="accept",check="none"}' 2
delta 'relayguard_messages_total{verdict="reject",check="relay"}' 1
delta 'relayguard_messages_total{verdict="reject",check="dnsbl"}' 1
delta 'relayguard_messages_total{verdict="aborted",check="none"}' 0
delta 'relayguard_relay_refusals_total{reason="foreign-domain"}' 1
delta 'relayguard_relay_refusals_total{reason="other"}' 0
delta 'relayguard_dnsbl_lookups_total{result="listed"}' 1
delta 'relayguard_dnsbl_lookups_total{result="clean"}' 3
delta 'relayguard_dnsbl_lookups_total{result="timeout"}' 0
delta 'relayguard_spf_results_total{result="none"}' 3
delta 'relayguard_messages_total{verdict="tempfail",check="ratelimit"}' 1
delta 'relayguard_dkim_results_total{result="none"}' 1
delta 'relayguard_surbl_results_total{result="clean"}' 2
delta 'relayguard_surbl_results_total{result="listed"}' 0
delta 'relayguard_ratelimit_results_total{result="limited"}' 1
delta 'relayguard_ratelimit_results_total{result="allowed"}' 2
delta 'relayguard_relayed_messages_total' 1
delta 'relayguard_stage_duration_seconds_count{stage="mail"}' 5
delta 'relayguard_stage_duration_seconds_count{stage="rcpt"}' 3
delta 'relayguard_stage_duration_seconds_count{stage="eom"}' 2
delta 'relayguard_stage_duration_seconds_bucket{stage="eom",le="+Inf"}' 2
# every connection's connect stage was timed
conns=$(($(val "$T/m1" relayguard_connections_total) - $(val "$T/m0" relayguard_connections_total)))
[ "$conns" -ge 5 ] || rg_fail "only $conns connections counted for 5 sessions"
delta 'relayguard_stage_duration_seconds_count{stage="connect"}' "$conns"
[ "$(val "$T/m1" relayguard_dns_cache_hits_total)" != missing ] ||
	rg_fail "no DNS cache hit counter"
q=$(($(val "$T/m1" relayguard_dns_queries_total) - $(val "$T/m0" relayguard_dns_queries_total)))
[ "$q" -ge 3 ] || rg_fail "only $q DNS queries counted"

# --- reload ---------------------------------------------------------------
cp "$T/m1" "$T/m0"
rg_milter_reload
rg_wait_log 'reloaded configuration'
scrape "$T/m1"
delta 'relayguard_config_reloads_total{result="ok"}' 1
delta 'relayguard_config_generation' 1

# --- no secrets -----------------------------------------------------------
grep -rqF "$SECRET" "$T/m0" "$T/m1" && rg_fail "the Redis password is in the metrics"
grep -qF "$SECRET" "$T/relayguard.conf" || rg_fail "test broken: the password is not configured"

# --- a remote address is refused at -n, with file:line --------------------
printf 'log_level = info\nmetrics_listen = 192.0.2.1:9324\n' >"$T/remote.conf"
if "$RG_BIN" -n -c "$T/remote.conf" >"$T/n.out" 2>&1; then
	rg_fail "relayguard -n accepted a non-loopback metrics_listen"
fi
rg_assert_contains -F "$T/n.out" "$T/remote.conf:2: metrics_listen: 192.0.2.1:9324 is not a loopback address"
printf 'metrics_allow_remote = yes\n' >>"$T/remote.conf"
"$RG_BIN" -n -c "$T/remote.conf" >"$T/n.out" 2>&1 ||
	rg_fail "relayguard -n refused metrics_allow_remote = yes: $(cat "$T/n.out")"
exit 0
