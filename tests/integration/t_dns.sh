#!/bin/bash
# t_dns.sh - the libunbound resolver against the harness's unbound: runs
# tests/unit/dns_unbound_test with RG_TEST_DNS pointing at it. Records of
# every type the policy modules need, 70 A records for the answer cap, 20
# names for the concurrent batches, and a zone whose queries are dropped
# (local-zone deny) for the timeout.
. "$(dirname "$0")/lib.sh"

RG_NO_MILTER=1
# the build under test: the one whose daemon tests/check.sh names
build=$(dirname "${RG_BIN:-$RG_TOP_DIR/build/relayguard}")
bin=$build/tests/unit/dns_unbound_test
[ -x "$bin" ] || rg_fail "no $bin (make first)"

rg_dns_add 'a.dns.test. 300 IN A 192.0.2.1'
rg_dns_add 'a.dns.test. 300 IN A 192.0.2.2'
rg_dns_add 'a.dns.test. 300 IN AAAA 2001:db8::1'
rg_dns_add 'txt.dns.test. 300 IN TXT "v=spf1 " "ip4:192.0.2.0/24" " -all"'
rg_dns_add 'dns.test. 300 IN MX 10 mx1.dns.test.'
rg_dns_add 'dns.test. 300 IN MX 20 mx2.dns.test.'
rg_dns_add 'ptr.dns.test. 300 IN PTR host.dns.test.'
for i in $(seq 1 70); do
	rg_dns_add "many.dns.test. 300 IN A 198.51.100.$i"
done
for i in $(seq 1 20); do
	rg_dns_add "n$i.dns.test. 300 IN A 127.0.1.$i"
done
rg_dns_add_zone_cfg 'local-zone: "slow.test." deny'
rg_harness_start

# the server itself answers as the test expects
rg_dig +short txt.dns.test TXT | grep -qF '"v=spf1 " "ip4:192.0.2.0/24" " -all"' ||
	rg_fail "unbound does not serve the TXT record"

RG_TEST_DNS="127.0.0.1@$DNS_PORT" "$bin" >"$T/dns_unbound_test.out" 2>&1 || true
cat "$T/dns_unbound_test.out"
last=$(tail -n 1 "$T/dns_unbound_test.out")
case "$last" in
"0 passed, 0 failed") rg_fail "dns_unbound_test ran no test" ;;
*" passed, 0 failed") echo "ok: $last" ;;
*) rg_fail "dns_unbound_test: $last" ;;
esac
