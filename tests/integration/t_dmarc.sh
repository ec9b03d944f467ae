#!/bin/bash
# t_dmarc.sh - DMARC through the real Postfix and the harness's unbound:
# p=reject refuses an unaligned message and passes an aligned one;
# p=quarantine holds the message in Postfix's hold queue; p=none delivers
# with the result recorded; sp= governs subdomains.
. "$(dirname "$0")/lib.sh"

for d in rej quar none sub env; do
	rg_dns_add "$d.test. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\""
done
rg_dns_add '_dmarc.rej.test. 300 IN TXT "v=DMARC1; p=reject"'
rg_dns_add '_dmarc.quar.test. 300 IN TXT "v=DMARC1; p=quarantine"'
rg_dns_add '_dmarc.none.test. 300 IN TXT "v=DMARC1; p=none"'
rg_dns_add '_dmarc.sub.test. 300 IN TXT "v=DMARC1; p=none; sp=reject"'
RG_CONF='dmarc_history_file = $T/dmarc.history'
rg_harness_start
# the daemon runs as nobody and opens the file per record
touch "$T/dmarc.history"
chown nobody "$T/dmarc.history"

# send ENVELOPE-FROM HEADER-FROM SUBJECT
send() {
	rg_send --from "$1" --h-From "$2" --to user@ours.example --xclient-addr 192.0.2.7 \
		--header "Subject: $3" --body x
}
header_of() {
	grep -l -F "Subject: $1" "$T"/sink/* | head -1 | xargs grep -A4 '^Authentication-Results: mx.relayguard.test'
}

send a@env.test a@rej.test "reject unaligned"
rg_assert_contains "$T/last.out" '^<\*\* +550 5\.7\.1 Email rejected per DMARC policy for rej\.test'
send bounce@rej.test a@rej.test "reject aligned"
rg_assert_contains -F "$T/last.out" 'queued as'
send a@env.test "Alice <a@none.test>" "none unaligned"
rg_assert_contains -F "$T/last.out" 'queued as'
send a@env.test a@x.sub.test "sp reject"
rg_assert_contains "$T/last.out" '^<\*\* +550 5\.7\.1 .*sub\.test'
send a@env.test a@sub.test "org p none"
rg_assert_contains -F "$T/last.out" 'queued as'
send a@env.test a@quar.test "quarantine unaligned"
rg_assert_contains -F "$T/last.out" 'queued as'
qid=$(sed -n 's/^<- *250 2\.0\.0 Ok: queued as \([0-9A-Za-z]*\).*/\1/p' "$T/last.out")

rg_wait_sink 3
header_of "reject aligned" | grep -q 'dmarc=pass (p=reject dis=none) header.from=rej.test' ||
	rg_fail "aligned message: $(header_of 'reject aligned')"
header_of "none unaligned" | grep -q 'dmarc=fail (p=none dis=none) header.from=none.test' ||
	rg_fail "p=none message: $(header_of 'none unaligned')"
header_of "org p none" | grep -q 'dmarc=fail (p=none dis=none) header.from=sub.test' ||
	rg_fail "organizational domain message: $(header_of 'org p none')"
for s in "reject unaligned" "sp reject" "quarantine unaligned"; do
	rg_sink_grep -F "Subject: $s" >/dev/null && rg_fail "'$s' reached the sink"
done
# quarantined: held by Postfix, not delivered
postqueue -c "$T/postfix" -p | grep -q "^$qid!" ||
	rg_fail "quarantined message $qid is not in the hold queue: $(postqueue -c "$T/postfix" -p)"
rg_wait_log "$qid: verdict=quarantine .*check=dmarc"
# aggregate-report data: one OpenDMARC history record per evaluation
[ "$(grep -c '^job ' "$T/dmarc.history")" = 6 ] ||
	rg_fail "want 6 history records: $(grep '^job ' "$T/dmarc.history")"
grep -A20 "^job $qid\$" "$T/dmarc.history" | grep -q '^policy 17$' ||
	rg_fail "quarantine record wrong: $(grep -A18 "^job $qid" "$T/dmarc.history")"
grep -A20 "^job $qid\$" "$T/dmarc.history" | grep -q '^action 4$' ||
	rg_fail "quarantine record has the wrong action"
grep -q '^from rej.test$' "$T/dmarc.history" || rg_fail "no record for rej.test"
exit 0
