#!/bin/bash
# t_alert.sh - volume alert on relayed mail through the real Postfix, the
# count kept in the harness's Redis as a fleet would keep it:
#  - alert_outbound_rate = 3/1m; four messages relayed by a trusted client
#    raise the alert once: one LOG_ALERT line, alert_command run once with
#    the vector (outbound_rate, 4, 1m) and stdin on /dev/null;
#  - mail to our own domain does not count, a fifth relayed message does
#    not raise it again within the window;
#  - the count lives in Redis under the fixed key, and the metrics agree.
. "$(dirname "$0")/lib.sh"

rg__pick_port || rg_fail "no free port for metrics"
MPORT=$RG__PORT
# shellcheck disable=SC2016
RG_CONF='alert_outbound_rate = 3/1m
alert_command = $T/alert/page.sh
kv_backend = redis
redis_server = 127.0.0.1:$REDIS_PORT
metrics_listen = 127.0.0.1:'$MPORT
rg_harness_start

# the command runs as the daemon's user (nobody): give it a place to write
mkdir -p "$T/alert/out"
chmod 1777 "$T/alert/out"
cat >"$T/alert/page.sh" <<EOF
#!/bin/sh
# one file per run: the arguments, one per line, then what stdin gave
f=$T/alert/out/run.\$\$
printf '%s\n' "\$@" >"\$f.tmp"
if read -r line; then echo "stdin: data" >>"\$f.tmp"; else echo "stdin: empty" >>"\$f.tmp"; fi
mv "\$f.tmp" "\$f"
EOF
chmod 755 "$T/alert/page.sh"

relay() { # N - one message from the trusted client to a foreign domain
	rg_send --from boss@ours.example --to "friend$1@far.example" \
		--header "Subject: relayed $1" || rg_fail "relayed message $1: swaks $?"
}

relay 1
relay 2
# local mail is not relayed: not counted
rg_send --from a@ours.example --to user@ours.example --header "Subject: local" ||
	rg_fail "local message: swaks $?"
relay 3
rg_log_grep -F 'alert: outbound_rate' && rg_fail "alert raised at 3 of 3"
relay 4
rg_wait_log 'alert: .*alert: outbound_rate: 4 relayed messages in 1m, over the limit of 3'
relay 5
rg_wait_sink 6

# the command ran once, with the vector, without stdin
for _ in $(seq 50); do
	[ -n "$(ls "$T/alert/out")" ] && break
	sleep 0.1
done
sleep 1	# a second run, if there were one, would show up by now
runs=$(find "$T/alert/out" -name 'run.*' ! -name '*.tmp' | wc -l)
[ "$runs" = 1 ] || rg_fail "alert_command ran $runs times, want 1"
out=$(find "$T/alert/out" -name 'run.*' ! -name '*.tmp')
printf 'outbound_rate\n4\n1m\nstdin: empty\n' >"$T/want"
diff -u "$T/want" "$out" || rg_fail "alert_command got other arguments"
n=$(grep -c -F 'alert: outbound_rate:' "$T/relayguard.log")
[ "$n" = 1 ] || rg_fail "the alert was logged $n times"
rg_log_grep 'relayguard\[[0-9]+\]: alert: ' >/dev/null || rg_fail "not logged at level alert"

# the fleet's count is in Redis under the fixed key
rg_redis --scan --pattern 'rg:alert:outbound_rate*' >"$T/keys"
grep -qx 'rg:alert:outbound_rate' "$T/keys" || rg_fail "no count key in Redis: $(cat "$T/keys")"
grep -qx 'rg:alert:outbound_rate:fired' "$T/keys" || rg_fail "no fired key in Redis: $(cat "$T/keys")"

curl -sf "http://127.0.0.1:$MPORT/metrics" >"$T/metrics" || rg_fail "no metrics"
grep -qx 'relayguard_relayed_messages_total 5' "$T/metrics" ||
	rg_fail "relayed: $(grep relayed_messages "$T/metrics")"
grep -qx 'relayguard_alerts_total{alert="outbound_rate"} 1' "$T/metrics" ||
	rg_fail "alerts: $(grep alerts_total "$T/metrics")"
grep -qx 'relayguard_alert_command_failures_total 0' "$T/metrics" ||
	rg_fail "command failures: $(grep alert_command_failures "$T/metrics")"
exit 0
