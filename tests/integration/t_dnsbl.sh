#!/bin/bash
# t_dnsbl.sh - DNSBL/DNSWL on the client, through the real Postfix and the
# harness's unbound: a listed client (IPv4 and IPv6) gets 554 5.7.1 naming
# the list; a 127.255.255.254 answer is not a listing; a DNSWL hit
# overrides; a list that never answers delays mail by at most dns_timeout
# and the mail is delivered.
. "$(dirname "$0")/lib.sh"

# 2001:db8::7 as RFC 5782 nibbles
v6=$(/usr/bin/python3 -c 'import ipaddress; print(".".join(reversed(ipaddress.ip_address("2001:db8::7").exploded.replace(":", ""))))')
rg_dns_add '7.2.0.192.zen.test. 300 IN A 127.0.0.2'
rg_dns_add "$v6.zen.test. 300 IN A 127.0.0.3"
rg_dns_add '5.2.0.192.zen.test. 300 IN A 127.255.255.254'
rg_dns_add '9.2.0.192.zen.test. 300 IN A 127.0.0.2'
rg_dns_add '9.2.0.192.wl.test. 300 IN A 127.0.10.1'
rg_dns_add_zone_cfg 'local-zone: "slow.test." deny'
RG_CONF='dnsbl_sites = zen.test=127.0.0.[2..11]*2, slow.test
dnswl_sites = wl.test*3
dnsbl_threshold = 2
dns_timeout = 2s'
RG_POSTFIX_EXTRA='inet_protocols = all'
rg_harness_start

send() { # CLIENT SUBJECT
	rg_send --from a@far.example --to user@ours.example --xclient-addr "$1" \
		--header "Subject: $2" --body x
}

# listed, IPv4 and IPv6: refused at MAIL, naming the list
send 192.0.2.7 "listed v4"
rg_assert_contains "$T/last.out" '^<\*\* +554 5\.7\.1 .*zen\.test'
send "IPV6:2001:db8::7" "listed v6"
rg_assert_contains "$T/last.out" '^<\*\* +554 5\.7\.1 .*zen\.test'

# the list's error code is no listing: delivered, and a warning logged
send 192.0.2.5 "error code"
rg_assert_contains "$T/last.out" 'queued as'
rg_wait_log 'zen.test.*127\.255\.255\.254'

# listed, but on the allow list too: delivered
send 192.0.2.9 "allowed"
rg_assert_contains "$T/last.out" 'queued as'

# a clean client while slow.test never answers: delivered within the deadline
start=$(date +%s.%N)
send 192.0.2.50 "slow list"
end=$(date +%s.%N)
rg_assert_contains "$T/last.out" 'queued as'
took=$(echo "$end - $start" | bc)
echo "message with an unanswering list took ${took}s (dns_timeout 2s)"
[ "$(echo "$took < 4.5" | bc)" = 1 ] || rg_fail "took ${took}s, more than the deadline allows"
[ "$(echo "$took >= 1.5" | bc)" = 1 ] || rg_fail "took ${took}s: slow.test did not time out?"

rg_wait_sink 3
for s in "listed v4" "listed v6"; do
	rg_sink_grep -F "Subject: $s" >/dev/null && rg_fail "'$s' reached the sink"
done
for s in "error code" "allowed" "slow list"; do
	rg_sink_grep -F "Subject: $s" >/dev/null || rg_fail "'$s' missing at the sink"
done
rg_log_grep -F 'dnsbl=' >/dev/null || rg_fail "no dnsbl result in the summary lines"
exit 0
