#!/bin/bash
# t_audit.sh - relayguard-audit against the harness's Postfix and unbound.
#  1. Postfix with relayguard (local_domains = ours.example, set by the
#     harness's RG_CONF_BASE), TLS 1.2 or later only, and a client dropped
#     after 5 errors: the audit, presented as 203.0.113.5 with XCLIENT,
#     finds no open relay (exit 0), going on in new sessions when Postfix
#     hangs up; relayguard saw that client; TLSv1/TLSv1.1 are refused;
#     nothing was delivered (the audit never sends DATA); --json parses.
#  2. DNS posture (--no-smtp): a good domain with an RSA 2048 DKIM key
#     made here; SPF over 10 lookups, +all, a syntax error, no SPF; DMARC
#     missing; a DKIM selector that does not resolve; exit status each time.
#  3. Usage and connection errors exit 2.
#  4. The same Postfix without relayguard relays anything: the audit finds
#     the open relay (exit 1) and names the accepted addresses; TLSv1 is
#     accepted there (a warning); still nothing delivered.
. "$(dirname "$0")/lib.sh"

build=$(dirname "${RG_BIN:-$RG_TOP_DIR/build/relayguard}")
AUDIT=$build/relayguard-audit
[ -x "$AUDIT" ] || rg_fail "no $AUDIT (make first)"
PY=/usr/bin/python3

# ---- DNS data for part 2 ---------------------------------------------------
# a fresh RSA 2048 key; only its public half is needed, so no file is kept
p=$(openssl genrsa 2048 2>/dev/null | openssl rsa -pubout -outform DER 2>/dev/null |
	base64 -w0)
[ "${#p}" -gt 300 ] || rg_fail "openssl made no public key"
# TXT character-strings hold at most 255 bytes: split the key
dkim="\"v=DKIM1; k=rsa; p=${p:0:200}\" \"${p:200:200}\" \"${p:400}\""
rg_dns_add "sel2048._domainkey.good.test. 300 IN TXT $dkim"
rg_dns_add 'good.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 include:inc.good.test -all"'
rg_dns_add 'good.test. 300 IN TXT "google-site-verification=not-spf"'
rg_dns_add 'inc.good.test. 300 IN TXT "v=spf1 a mx ~all"'
rg_dns_add 'many.test. 300 IN TXT "v=spf1 include:i1.many.test -all"'
for i in $(seq 1 10); do
	rg_dns_add "i$i.many.test. 300 IN TXT \"v=spf1 a include:i$((i + 1)).many.test -all\""
done
rg_dns_add 'i11.many.test. 300 IN TXT "v=spf1 -all"'
rg_dns_add 'plus.test. 300 IN TXT "v=spf1 mx +all"'
rg_dns_add 'syntax.test. 300 IN TXT "v=spf1 ip4:192.0.2.300 -all"'
rg_dns_add 'nodmarc.test. 300 IN TXT "v=spf1 -all"'
rg_dns_add 'nospf.test. 300 IN A 192.0.2.1'
for d in good many plus syntax nospf; do
	rg_dns_add "_dmarc.$d.test. 300 IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@$d.test\""
done

# ---- 1. with relayguard ---------------------------------------------------
RG_BIN=${RG_BIN:-$RG_TOP_DIR/build/relayguard}
RG_POSTFIX_EXTRA='smtpd_tls_protocols = >=TLSv1.2
smtpd_hard_error_limit = 5'
rg_harness_start

# audit ARGS... - run the audit; output in $T/audit.out, status in $rc
audit() {
	rc=0
	"$AUDIT" "$@" >"$T/audit.out" 2>"$T/audit.err" || rc=$?
	RG_EXTRA_LOGS="$T/audit.out $T/audit.err"
}
# expect_rc N WHAT
expect_rc() {
	[ "$rc" = "$1" ] || rg_fail "$2: exit status $rc, want $1"
}
# json EXPR - a Python expression over the JSON report d must be true
json() {
	$PY -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/audit.out" "$1" ||
		rg_fail "--json: not true: $1"
}

SERVER=127.0.0.1:$RG_SMTP_PORT
audit -l ours.example --xclient 203.0.113.5 "$SERVER"
expect_rc 0 "relay battery through relayguard"
rg_assert_contains "$T/audit.out" '^  ok    no open relay: all [0-9]+ attacks were refused'
rg_assert_contains -F "$T/audit.out" 'presented as (XCLIENT): 203.0.113.5'
rg_assert_contains -F "$T/audit.out" 'over TLS: yes'
rg_assert_contains "$T/audit.out" '^  TLSv1 +refused'
rg_assert_contains "$T/audit.out" '^  TLSv1\.1 +refused'
rg_assert_contains "$T/audit.out" '^  TLSv1\.2 +accepted'
rg_assert_contains "$T/audit.out" '^Summary: 0 problem\(s\), 0 error\(s\)'
rg_assert_not_contains "$T/audit.out" '^ *FAIL'
# relayguard judged the presented client, refusing each trick by name
rg_wait_log 'percent-hack from unknown\[203\.0\.113\.5\]'
rg_log_grep 'client=unknown\[203\.0\.113\.5\].* refused=.*<user@example\.com>' >/dev/null ||
	rg_fail "relayguard did not refuse <user@example.com> for 203.0.113.5"

audit -l ours.example --xclient 203.0.113.5 --json "$SERVER"
expect_rc 0 "--json through relayguard"
json 'd["relay"]["open_relay"] is False and d["relay"]["attacks_accepted"] == 0'
json 'd["relay"]["attacks_refused"] >= 40 and d["relay"]["controls_accepted"] >= 3'
json 'd["relay"]["xclient"] == "203.0.113.5" and d["relay"]["tls"] is True'
# 60-odd refusals, 5 per session before Postfix hangs up: more sessions
# than the audit's own 8 per session would need, and no address lost
json 'd["relay"]["sessions"] > 9 and d["relay"]["errors"] == 0'
json 'all(c["result"] in ("refused", "skipped") for c in d["relay"]["cases"] if c["expected"] == "reject")'
json 'd["starttls"]["protocols"]["TLSv1"] == "refused" and d["starttls"]["protocols"]["TLSv1.3"] == "accepted"'
json 'd["summary"] == {"fail": 0, "error": 0, "warn": d["summary"]["warn"], "exit": 0}'

audit -l ours.example --xclient 203.0.113.5 --no-tls "$SERVER"
expect_rc 0 "--no-tls"
rg_assert_contains -F "$T/audit.out" 'over TLS: no'
rg_assert_not_contains -F "$T/audit.out" 'STARTTLS'

# ---- 2. DNS posture ---------------------------------------------------------
DNS="--dns 127.0.0.1@$DNS_PORT --no-smtp"
# shellcheck disable=SC2086
dns_audit() { audit $DNS "$@"; }

dns_audit -d good.test -s sel2048
expect_rc 0 "good.test"
rg_assert_contains -F "$T/audit.out" 'record: v=spf1 ip4:192.0.2.0/24 include:inc.good.test -all'
rg_assert_contains -F "$T/audit.out" 'ok    3 of 10 DNS lookups'
rg_assert_contains -F "$T/audit.out" 'ok    policy reject'
rg_assert_contains -F "$T/audit.out" 'ok    RSA key of 2048 bits'
dns_audit -d good.test -s sel2048 --json
expect_rc 0 "good.test --json"
json 'd["domains"][0]["spf"]["lookups"] == 3 and d["domains"][0]["spf"]["all"] == "-all"'
json 'd["domains"][0]["dmarc"]["p"] == "reject" and d["domains"][0]["dmarc"]["pct"] == 100'
json 'd["domains"][0]["dkim"][0]["bits"] == 2048 and d["domains"][0]["dkim"][0]["usable"] is True'
json '"relay" not in d and d["summary"]["exit"] == 0'

dns_audit -d many.test
expect_rc 1 "SPF over 10 lookups"
rg_assert_contains -F "$T/audit.out" 'FAIL  21 DNS-querying terms'
dns_audit -d plus.test
expect_rc 0 "+all is a warning"
rg_assert_contains -F "$T/audit.out" 'WARN  the SPF record of plus.test ends in +all'
dns_audit -d syntax.test
expect_rc 1 "SPF syntax error"
rg_assert_contains -F "$T/audit.out" 'FAIL  the SPF record of syntax.test is invalid'
dns_audit -d nospf.test
expect_rc 1 "no SPF record"
rg_assert_contains -F "$T/audit.out" 'FAIL  no SPF record at nospf.test'
dns_audit -d nodmarc.test
expect_rc 1 "no DMARC record"
rg_assert_contains -F "$T/audit.out" 'FAIL  no DMARC record at _dmarc.nodmarc.test'
dns_audit -d good.test -s sel2048 -s nosuch --json
expect_rc 1 "a selector that does not resolve"
json 'd["domains"][0]["dkim"][1]["usable"] is False and d["summary"]["fail"] == 1'
json '"does not resolve" in d["domains"][0]["dkim"][1]["notes"][0]["text"]'

# ---- 3. usage and connection errors -----------------------------------------
audit --no-smtp
expect_rc 2 "nothing to do"
audit -l ours.example --bogus-option
expect_rc 2 "unknown option"
rg_port CLOSED_PORT
audit -l ours.example "127.0.0.1:$CLOSED_PORT"
expect_rc 2 "nothing listening"
rg_assert_contains -F "$T/audit.out" 'Connection refused'

# the audit never sent DATA: nothing reached the queue or the sink
rg_wait_queue_empty 5
[ "$(rg_sink_count)" = 0 ] || rg_fail "the audit delivered mail"
rg_harness_stop

# ---- 4. without relayguard: Postfix relays anything (relay_domains = static:ALL)
RG_NO_MILTER=1
RG_POSTFIX_EXTRA=''
RG_POSTFIX_MILTER=''
rg_harness_start
SERVER=127.0.0.1:$RG_SMTP_PORT
audit -l ours.example --xclient 203.0.113.5 "$SERVER"
expect_rc 1 "open relay"
rg_assert_contains -F "$T/audit.out" 'FAIL  open relay: accepted <user@example.com> (foreign-domain): 250'
rg_assert_contains -F "$T/audit.out" 'FAIL  open relay: accepted <user%example.com> (percent-hack)'
rg_assert_contains -F "$T/audit.out" 'FAIL  open relay: accepted <user@[192.0.2.26]> (ip-literal)'
rg_assert_contains -F "$T/audit.out" 'WARN  TLSv1 is still accepted'
rg_assert_contains "$T/audit.out" '^Summary: [1-9][0-9]* problem'
audit -l ours.example --xclient 203.0.113.5 --json "$SERVER"
expect_rc 1 "open relay --json"
json 'd["relay"]["open_relay"] is True and "user@example.com" in d["relay"]["accepted"]'
json 'd["starttls"]["protocols"]["TLSv1"] == "accepted" and d["summary"]["exit"] == 1'
rg_wait_queue_empty 5
[ "$(rg_sink_count)" = 0 ] || rg_fail "the audit delivered mail through the open relay"
exit 0
