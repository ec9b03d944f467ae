#!/bin/bash
# t_contrib.sh - what we ship works as shipped: Postfix configured with the
# lines of contrib/postfix/main.cf talks to relayguard running on
# contrib/relayguard.conf (the built-in defaults), and the SASL login and
# TLS version reach relayguard through the snippet's macros.
. "$(dirname "$0")/lib.sh"

# the snippet, comments dropped, pointed at this test's milter port
RG_POSTFIX_EXTRA=$(grep -v '^#' "$RG_TOP_DIR/contrib/postfix/main.cf" | grep . |
	sed 's/inet:127\.0\.0\.1:8894/inet:127.0.0.1:$RG_MILTER_PORT/')
grep -q 'inet:127.0.0.1:\$RG_MILTER_PORT' <<<"$RG_POSTFIX_EXTRA" ||
	rg_fail "contrib/postfix/main.cf no longer names inet:127.0.0.1:8894"
RG_CONF_BASE=''
RG_CONF=$(cat "$RG_TOP_DIR/contrib/relayguard.conf")
# shellcheck disable=SC2016
RG_MILTER_ARGS='-u nobody -p inet:$RG_MILTER_PORT@127.0.0.1'
rg_harness_start

[ "$(postconf -c "$T/postfix" -h milter_default_action)" = tempfail ] ||
	rg_fail "snippet did not set milter_default_action"
rg_send -tls --from alice@ours.example --to bob@far.example \
	--xclient-addr 192.0.2.7 --xclient-login alice \
	--header "Subject: contrib $$" --body x || rg_fail "swaks exited $?"
rg_wait_sink 1
rg_sink_grep -F 'auth=pass smtp.auth=alice' >/dev/null ||
	rg_fail "no Authentication-Results with the login"
# the authserv-id defaults to the MTA's host name (macro j)
rg_sink_grep -F 'Authentication-Results: mx.relayguard.test;' >/dev/null ||
	rg_fail "authserv-id is not the MTA's host name"
rg_wait_log 'verdict=accept .*auth=alice tls=TLSv1\.[0-9]'
exit 0
