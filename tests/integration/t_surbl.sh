#!/bin/bash
# t_surbl.sh - URI block lists on message links, through the real Postfix
# and the harness's unbound: a message whose base64 HTML part links to a
# listed domain gets 554 5.7.1 naming the domain and the list; a link to
# an IP address is asked reversed; a link to an excluded domain is never
# asked (unbound's query log); a logged-in client is checked too; a list
# that never answers delays mail by at most dns_timeout and the mail is
# delivered; a clean message arrives.
. "$(dirname "$0")/lib.sh"

DATA=$RG_TOP_DIR/tests/data/surbl
rg_dns_add 'spam-site.com.multi.surbl.test. 300 IN A 127.0.0.8'
rg_dns_add 'ourcompany.com.multi.surbl.test. 300 IN A 127.0.0.8'
rg_dns_add 'cracked-site.com.multi.surbl.test. 300 IN A 127.0.0.128'
rg_dns_add '99.2.0.192.multi.surbl.test. 300 IN A 127.0.0.16'
rg_dns_add_zone_cfg 'local-zone: "slow.test." deny'
rg_dns_add_zone_cfg 'log-queries: yes'
RG_CONF='surbl_sites = multi.surbl.test&0x58, slow.test
surbl_exclude_domains = ourcompany.com
dns_timeout = 2s'
rg_harness_start

# send FILE [swaks args...] - the prepared message, timed into $took
send() {
	local f=$1 start end
	shift
	start=$(date +%s.%N)
	rg_send --from sender@far.example --to user@ours.example \
		--xclient-addr 192.0.2.7 --data "$f" "$@" || true
	end=$(date +%s.%N)
	took=$(echo "$end - $start" | bc)
}

# listed domain in a base64 HTML part: refused, naming domain and list
send "$DATA/listed-base64-html.eml"
rg_assert_contains "$T/last.out" '^<\*\* +554 5\.7\.1 Message rejected: link to spam-site\.com listed by multi\.surbl\.test'

# a link to an IP address: asked as 99.2.0.192.multi.surbl.test
send "$DATA/ip-link.eml"
rg_assert_contains "$T/last.out" '^<\*\* +554 5\.7\.1 Message rejected: link to 192\.0\.2\.99 listed by multi\.surbl\.test'

# the excluded domain is listed in DNS, but never asked: delivered
send "$DATA/excluded.eml"
rg_assert_contains -F "$T/last.out" 'queued as'
rg_wait_log 'surbl=clean\(0\)'

# a logged-in client is checked as well (surbl_check_authenticated = yes)
rg_send --from alice@ours.example --to user@ours.example \
	--xclient 'ADDR=203.0.113.5 LOGIN=alice' --header 'Subject: surbl outbound' \
	--body 'Cheap pills: http://www.spam-site.com/buy' || true
rg_assert_contains "$T/last.out" '^<\*\* +554 5\.7\.1 .*link to spam-site\.com'

# clean links, with slow.test never answering: delivered within the deadline
send "$DATA/clean-links.eml"
rg_assert_contains -F "$T/last.out" 'queued as'
echo "message with an unanswering list took ${took}s (dns_timeout 2s)"
[ "$(echo "$took < 4.5" | bc)" = 1 ] || rg_fail "took ${took}s, more than the deadline allows"
[ "$(echo "$took >= 1.5" | bc)" = 1 ] || rg_fail "took ${took}s: slow.test did not time out?"
rg_wait_log 'surbl="clean\(2\) failed=2"'
rg_wait_log 'surbl: list slow\.test: 2 of 2 queries failed'

# masked out (cracked sites, 128, not in 0x58): delivered
rg_send --from sender@far.example --to user@ours.example --xclient-addr 192.0.2.7 \
	--header 'Subject: surbl masked' --body 'see http://cracked-site.com/page' || true
rg_assert_contains -F "$T/last.out" 'queued as'

rg_wait_sink 3
for s in "surbl listed base64 html" "surbl ip link" "surbl outbound"; do
	rg_sink_grep -F "Subject: $s" >/dev/null && rg_fail "'$s' reached the sink"
done
for s in "surbl excluded link" "surbl clean links" "surbl masked"; do
	rg_sink_grep -F "Subject: $s" >/dev/null || rg_fail "'$s' missing at the sink"
done
grep -q 'spam-site\.com\.multi\.surbl\.test' "$T/unbound.log" ||
	rg_fail "unbound never saw the listed domain: is log-queries on?"
if grep -q 'ourcompany\.com\.multi\.surbl\.test' "$T/unbound.log"; then
	rg_fail "the excluded domain was looked up"
fi
rg_log_grep -F 'check=surbl' >/dev/null || rg_fail "no check=surbl in the summary lines"
exit 0
