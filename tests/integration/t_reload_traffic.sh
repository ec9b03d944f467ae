#!/bin/bash
# t_reload_traffic.sh - SIGHUP under traffic loses nothing: three senders
# stream messages through Postfix while the configuration is reloaded
# three times (a limit lowered, an invalid file, a valid one again). Every
# message is delivered or answered with a code; the lowered limit applies
# to sessions that start after the reload; the invalid file is refused
# with a log line and the previous settings keep serving.
. "$(dirname "$0")/lib.sh"

RG_CONF='max_recipients = 5'
rg_harness_start
PER_SENDER=25

sender() { # N: send PER_SENDER messages, 3 recipients each; log each outcome
	local n=$1 i
	for i in $(seq "$PER_SENDER"); do
		rg_send_outcome "$n-$i" --xclient-addr "192.0.2.$n" \
			--from "s$n@far.example" --to "a$i@ours.example,b$i@ours.example,c$i@ours.example" \
			--header "Subject: stream $n-$i" --body x
	done
}

sender 1 &
p1=$!
sender 2 &
p2=$!
sender 3 &
p3=$!
sleep 1
# 1. lower the limit: new sessions get 452 for the third recipient
sed -i 's/^max_recipients = 5$/max_recipients = 2/' "$T/relayguard.conf"
rg_milter_reload
rg_wait_log 'reloaded configuration .*generation 2'
sleep 1
# 2. an invalid file: refused, logged with file and line, old one serves
cp "$T/relayguard.conf" "$T/good.conf"
echo 'max_recipients = many' >>"$T/relayguard.conf"
rg_milter_reload
rg_wait_log "$T/relayguard.conf:[0-9]*: max_recipients: expected a number"
rg_wait_log 'reload failed: keeping the configuration'
sleep 1
# 3. valid again
cp "$T/good.conf" "$T/relayguard.conf"
rg_milter_reload
rg_wait_log 'reloaded configuration .*generation 3'
wait "$p1" "$p2" "$p3"

total=$(wc -l <"$T/outcomes")
lost=$(grep -c LOST "$T/outcomes")
delivered=$(grep -c delivered "$T/outcomes")
echo "sent $total, delivered $delivered, refused $(grep -c refused "$T/outcomes"), lost $lost"
[ "$total" = $((3 * PER_SENDER)) ] || rg_fail "only $total outcomes for $((3 * PER_SENDER)) messages"
[ "$lost" = 0 ] || rg_fail "$lost messages without a delivery or a code"
rg_wait_sink "$delivered" 60
kill -0 "$(rg_milter_pid)" 2>/dev/null || rg_fail "relayguard died during the reloads"
# the lowered limit applied to later sessions, never before the reload
grep -q 'over_limit=1' "$T/relayguard.log" || rg_fail "the lowered limit never applied"
first=$(grep -n 'verdict=' "$T/relayguard.log" | head -3 | grep -c over_limit)
[ "$first" = 0 ] || rg_fail "the lowered limit applied before the reload"
last=$(grep 'verdict=accept' "$T/relayguard.log" | tail -3 | grep -c 'over_limit=1')
[ "$last" = 3 ] || rg_fail "sessions after the reloads do not use max_recipients = 2"
exit 0
