#!/bin/bash
# t_authres.sh - Authentication-Results headers that claim relayguard's
# authserv-id are forgeries (RFC 8601 s5): removed before delivery and the
# removal logged; those of other hosts stay; relayguard's own is on top.
# relayguard's tag fields (X-Relayguard-SPF, ...) from an untrusted client
# are forgeries too; from a trusted network they stay (an inner hop).
. "$(dirname "$0")/lib.sh"

RG_CONF='trusted_networks = 127.0.0.0/8, ::1/128, 198.51.100.0/24'
rg_harness_start

# no authserv_id set: relayguard uses the MTA's host name (mx.relayguard.test)
rg_send --from a@far.example --to user@ours.example --xclient-addr 192.0.2.7 \
	--add-header 'Authentication-Results: mx.relayguard.test; spf=pass smtp.mailfrom=far.example' \
	--add-header 'Authentication-Results: upstream.example; dkim=pass header.d=far.example' \
	--add-header 'Authentication-Results: (sneaky) MX.RelayGuard.TEST; dkim=pass header.d=bank.example' \
	--add-header 'X-Relayguard-SPF: pass' \
	--add-header 'x-relayguard-dmarc: pass' \
	--add-header 'X-Relayguard-SPF: none' \
	--add-header 'X-Relayguard-Something: kept' \
	--header "Subject: forged $$" --body x || rg_fail "swaks exited $?"
rg_wait_sink 1
f=$(rg_sink_files)
n=$(grep -ci '^Authentication-Results: *(sneaky)\|^Authentication-Results: mx.relayguard.test; spf=pass' "$f")
[ "$n" = 0 ] || rg_fail "forged Authentication-Results reached the sink"
rg_assert_contains -F "$f" 'Authentication-Results: upstream.example; dkim=pass header.d=far.example'
# ours: exactly one, and above the message's own header fields
[ "$(grep -ci '^Authentication-Results: mx.relayguard.test;' "$f")" = 1 ] ||
	rg_fail "relayguard's own header missing or doubled"
ours=$(grep -n '^Authentication-Results: mx.relayguard.test;' "$f" | cut -d: -f1)
subj=$(grep -n '^Subject:' "$f" | cut -d: -f1)
[ "$ours" -lt "$subj" ] || rg_fail "relayguard's header is not at the top"
rg_wait_log 'removed forged Authentication-Results #3 claiming mx.relayguard.test'
rg_wait_log 'removed forged Authentication-Results #1 claiming mx.relayguard.test'
rg_wait_log 'verdict=accept .*authres_removed=2 tags_removed=3'
rg_wait_log 'removed forged X-Relayguard-SPF #2 from an untrusted client'
rg_wait_log 'removed forged X-Relayguard-SPF #1 from an untrusted client'
rg_wait_log 'removed forged X-Relayguard-DMARC #1 from an untrusted client'
if grep -qi '^X-Relayguard-\(SPF\|DMARC\):' "$f"; then
	rg_fail "a forged tag field reached the sink"
fi
rg_assert_contains -F "$f" 'X-Relayguard-Something: kept'

# the same tag from a trusted network is an inner hop's verdict: kept
rg_send --from a@ours.example --to user@ours.example \
	--xclient-addr 198.51.100.9 --add-header 'X-Relayguard-SPF: softfail' \
	--header "Subject: inner hop $$" --body x || rg_fail "swaks exited $?"
rg_wait_sink 2
f=$(grep -l -F "Subject: inner hop $$" "$T"/sink/* | head -n 1)
[ -n "$f" ] || rg_fail "the trusted hop's message is not at the sink"
rg_assert_contains -F "$f" 'X-Relayguard-SPF: softfail'
if rg_log_grep 'tags_removed=1'; then
	rg_fail "a trusted network's tag was removed"
fi
exit 0
