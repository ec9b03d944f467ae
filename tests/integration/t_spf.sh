#!/bin/bash
# t_spf.sh - SPF through the real Postfix and the harness's unbound: pass,
# fail, softfail, neutral, none, permerror (too many lookups) and
# temperror (a zone that never answers), each with the configured action,
# its reply code (RFC 7372), Received-SPF and Authentication-Results.
. "$(dirname "$0")/lib.sh"

rg_dns_add 'pass.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"'
rg_dns_add 'soft.test. 300 IN TXT "v=spf1 ~all"'
rg_dns_add 'neutral.test. 300 IN TXT "v=spf1 ?all"'
rg_dns_add 'norecord.test. 300 IN A 192.0.2.1'
rg_dns_add 'loop.test. 300 IN TXT "v=spf1 include:l1.test -all"'
for i in 1 2 3 4 5 6 7 8 9 10; do
	rg_dns_add "l$i.test. 300 IN TXT \"v=spf1 include:l$((i + 1)).test\""
done
rg_dns_add 'l11.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24"'
rg_dns_add_zone_cfg 'local-zone: "slow.test." deny'
RG_CONF='dns_timeout = 2s
spf_softfail_action = tag'
rg_harness_start

# send CLIENT SENDER SUBJECT
send() {
	rg_send --from "$2" --to user@ours.example --xclient-addr "$1" \
		--header "Subject: $3" --body x
}
# delivered SUBJECT RESULT DOMAIN - arrived with both headers saying RESULT
delivered() {
	local f
	f=$(grep -l -F "Subject: $1" "$T"/sink/* 2>/dev/null | head -1)
	[ -n "$f" ] || rg_fail "'$1' did not arrive"
	grep -q "^Received-SPF: $2 " "$f" || rg_fail "'$1': no 'Received-SPF: $2': $(grep -A2 Received-SPF "$f")"
	grep -A3 '^Authentication-Results: mx.relayguard.test' "$f" | grep -q "spf=$2 smtp.mailfrom=$3" ||
		rg_fail "'$1': Authentication-Results lacks spf=$2 smtp.mailfrom=$3"
}

send 192.0.2.7 a@pass.test "pass"
rg_assert_contains -F "$T/last.out" 'queued as'
send 198.51.100.9 a@pass.test "fail"
rg_assert_contains "$T/last.out" '^<\*\* +550 5\.7\.23 '
send 192.0.2.7 a@soft.test "softfail"
rg_assert_contains -F "$T/last.out" 'queued as'
send 192.0.2.7 a@neutral.test "neutral"
rg_assert_contains -F "$T/last.out" 'queued as'
send 192.0.2.7 a@norecord.test "none"
rg_assert_contains -F "$T/last.out" 'queued as'
send 192.0.2.7 a@loop.test "permerror"
rg_assert_contains -F "$T/last.out" 'queued as'
send 192.0.2.7 a@slow.test "temperror"
rg_assert_contains "$T/last.out" '^<\*\* +451 4\.7\.24 '

rg_wait_sink 5
delivered pass pass pass.test
delivered softfail softfail soft.test
delivered neutral neutral neutral.test
delivered none none norecord.test
delivered permerror permerror loop.test
grep -l -F 'Subject: softfail' "$T"/sink/* | xargs grep -q '^X-Relayguard-SPF: softfail' ||
	rg_fail "softfail (tag) has no X-Relayguard-SPF header"
grep -l -F 'Subject: pass' "$T"/sink/* | xargs grep -q '^X-Relayguard-SPF' &&
	rg_fail "pass was tagged"
rg_sink_grep -F 'Subject: fail' >/dev/null && rg_fail "fail arrived"
rg_sink_grep -F 'Subject: temperror' >/dev/null && rg_fail "temperror arrived"
rg_log_grep -F 'spf=permerror' >/dev/null || rg_fail "no spf=permerror in the summary lines"
exit 0
