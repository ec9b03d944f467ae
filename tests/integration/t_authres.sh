#!/bin/bash
# t_authres.sh - Authentication-Results headers that claim relayguard's
# authserv-id are forgeries (RFC 8601 s5): removed before delivery and the
# removal logged; those of other hosts stay; relayguard's own is on top.
. "$(dirname "$0")/lib.sh"

rg_harness_start

# no authserv_id set: relayguard uses the MTA's host name (mx.relayguard.test)
rg_send --from a@far.example --to user@ours.example --xclient-addr 192.0.2.7 \
	--add-header 'Authentication-Results: mx.relayguard.test; spf=pass smtp.mailfrom=far.example' \
	--add-header 'Authentication-Results: upstream.example; dkim=pass header.d=far.example' \
	--add-header 'Authentication-Results: (sneaky) MX.RelayGuard.TEST; dkim=pass header.d=bank.example' \
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
rg_wait_log 'verdict=accept .*authres_removed=2'
exit 0
