#!/bin/bash
# t_pass.sh - a message goes Postfix -> relayguard -> sink and arrives with
# the Authentication-Results header relayguard adds; the summary line is
# written once, under the MTA's queue id.
. "$(dirname "$0")/lib.sh"

RG_CONF='authserv_id = mx.relayguard.test'
rg_harness_start

subject="pass check $$"
rg_send --from alice@ours.example --to bob@far.example \
	--xclient-addr 192.0.2.7 --xclient-login alice \
	--header "Subject: $subject" --body "hello" || rg_fail "swaks exited $?"
rg_assert_contains "$T/last.out" '^<- +250 2\.0\.0 Ok: queued as '
rg_wait_sink 1
f=$(rg_sink_files)
rg_assert_contains -F "$f" "Subject: $subject"
# RFC 8601: authserv-id, then the SMTP AUTH result for the login
rg_assert_contains -F "$f" 'Authentication-Results: mx.relayguard.test;'
rg_assert_contains -F "$f" 'auth=pass smtp.auth=alice'

# A client that did not log in: no auth result, and SPF is checked.
rg_send --from carol@far.example --to dave@ours.example \
	--xclient-addr 198.51.100.9 --header "Subject: second $$" --body "hi" ||
	rg_fail "swaks exited $?"
rg_wait_sink 2
rg_sink_grep -F "Subject: second $$" >/dev/null || rg_fail "second message missing"
f2=$(grep -l -F "Subject: second $$" "$T"/sink/* | head -1)
grep -A2 '^Authentication-Results: mx.relayguard.test;' "$f2" |
	grep -q 'spf=none smtp.mailfrom=far.example' ||
	rg_fail "second message lacks spf=none in Authentication-Results"
grep -q 'auth=pass' "$f2" && rg_fail "second message claims an SMTP AUTH it did not have"

# exactly one summary line per message, under the queue id Postfix logged
qid=$(sed -n 's/^<- *250 2\.0\.0 Ok: queued as \([0-9A-Za-z]*\).*/\1/p' "$T/last.out")
[ -n "$qid" ] || rg_fail "no queue id in the SMTP reply"
rg_wait_log "$qid: verdict=accept "
n=$(grep -c "$qid: verdict=" "$T/relayguard.log")
[ "$n" = 1 ] || rg_fail "want 1 summary line for $qid, got $n"
rg_log_grep -F "from=<carol@far.example> to=<dave@ours.example>" >/dev/null ||
	rg_fail "summary line lacks sender and recipient"
rg_log_grep -F "auth=alice" >/dev/null || rg_fail "summary line lacks auth=alice"
exit 0
