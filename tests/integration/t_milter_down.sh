#!/bin/bash
# t_milter_down.sh - relayguard stopped or killed: Postfix answers 4xx
# (milter_default_action = tempfail), nothing reaches the sink unchecked,
# and mail flows again once relayguard is back.
. "$(dirname "$0")/lib.sh"

rg_harness_start

rg_send --from a@far.example --to b@ours.example --xclient-addr 192.0.2.7 \
	--header "Subject: before" --body x || rg_fail "first message: swaks $?"
rg_wait_sink 1

# clean stop
rg_milter_stop
rg_send --from a@far.example --to b@ours.example --xclient-addr 192.0.2.7 \
	--header "Subject: while stopped" --body x
rg_assert_contains "$T/last.out" '^<\*\* +4[0-9][0-9] '
rg_assert_not_contains "$T/last.out" 'queued as'

# crash (SIGKILL) of a running daemon
rg_milter_start
rg_milter_kill
rg_send --from a@far.example --to b@ours.example --xclient-addr 192.0.2.7 \
	--header "Subject: while killed" --body x
rg_assert_contains "$T/last.out" '^<\*\* +4[0-9][0-9] '

# back again: mail flows, and the refused ones never arrived
rg_milter_start
rg_send --from a@far.example --to b@ours.example --xclient-addr 192.0.2.7 \
	--header "Subject: after" --body x || rg_fail "after restart: swaks $?"
rg_wait_sink 2
rg_sink_grep -F "Subject: while" >/dev/null && rg_fail "a message passed unchecked"
rg_sink_grep -F "Subject: after" >/dev/null || rg_fail "message after restart missing"
exit 0
