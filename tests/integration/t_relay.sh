#!/bin/bash
# t_relay.sh - relay authorization through the real Postfix, which is set
# to relay anything itself (relay_domains = static:ALL, and its own
# routing-trick defenses off) so that relayguard alone decides.
#  - every address of tests/data/relay-abuse.txt, offered by untrusted
#    clients (IPv4 and IPv6), gets the expected answer, and no refused
#    address reaches the sink;
#  - a login and a trusted network may relay, and the mail arrives;
#  - mail to our own domains is accepted from anyone;
#  - sender rules (our domain without login, sender_login_maps, blocked
#    domain) and TLS rules (STARTTLS required, minimum version), each with
#    a passing and a failing case;
#  - client_block_networks at connect.
. "$(dirname "$0")/lib.sh"

PROBE="/usr/bin/python3 $RG_TOP_DIR/tests/integration/smtp_probe.py"
LIST=$RG_TOP_DIR/tests/data/relay-abuse.txt
M=$(mktemp -d /tmp/rgmaps.XXXXXX)
chmod 755 "$M"
printf '# sender  login\nalice@ours.example  alice\n@relayed.example  bob, carol\n' >"$M/logins"
chmod 644 "$M/logins"
trap 'rm -rf "$M"' EXIT

RG_CONF="local_domains = ours.example, .ours.example
relay_domains = relayed.example
local_ip_literals = 192.0.2.25, 2001:db8::25
trusted_networks = 127.0.0.0/8, ::1/128, 198.51.100.0/24, 2001:db8:1::/48
client_block_networks = 203.0.113.66/32, 2001:db8:66::/48
sender_block_domains = spammer.example
sender_login_maps = $M/logins
relay_require_tls = yes
relay_min_tls_version = TLSv1.3"
# Postfix relays anything and leaves address tricks alone
RG_POSTFIX_EXTRA='allow_untrusted_routing = yes
allow_percent_hack = no
swap_bangpath = no
smtpd_hard_error_limit = 1000
smtpd_soft_error_limit = 1000
smtpd_error_sleep_time = 0
smtputf8_enable = yes
inet_protocols = all'
rg_harness_start
trap 'rg_harness_stop; rm -rf "$M"' EXIT

# probe XCLIENT-ARGS SENDER ADDRESS-FILE [probe args] -> $T/probe.out
# (no pipeline: rg_fail must run in this shell, not a subshell)
probe() {
	local xc=$1 from=$2 list=$3
	shift 3
	$PROBE "$RG_SMTP_PORT" "$from" --xclient "$xc" "$@" <"$list" >"$T/probe.out" 2>"$T/probe.err" ||
		rg_fail "probe failed: $(cat "$T/probe.err")"
}

# reply_of ADDRESS -> "CODE ENHANCED" from $T/probe.out
reply_of() {
	awk -F'\t' -v a="$1" '$3 == a { print $1 " " $2; exit }' "$T/probe.out"
}

# expect XCLIENT SENDER "CODE ENHANCED" ADDRESS... - one session, each reply
expect() {
	local xc=$1 from=$2 want=$3 a got
	shift 3
	printf '%s\n' "$@" >"$T/addrs"
	probe "$xc" "$from" "$T/addrs"
	for a in "$@"; do
		got=$(reply_of "$a")
		[ "$got" = "$want" ] || rg_fail "$xc from <$from> to <$a>: got '$got', want '$want'"
	done
}

# --- 1. the regression list, from untrusted IPv4 and IPv6 clients ---------
grep -v '^#' "$LIST" | grep . >"$T/list"
cut -f1 "$T/list" >"$T/list.addrs"
[ "$(wc -l <"$T/list")" -ge 40 ] || rg_fail "relay-abuse.txt has fewer than 40 entries"
for client in "ADDR=203.0.113.5" "ADDR=IPV6:2001:db8:bad::5"; do
	probe "$client NAME=[UNAVAILABLE]" someone@remote.example "$T/list.addrs" --data "abuse $client"
	grep -q "^MAIL	250" "$T/probe.out" || rg_fail "$client: MAIL refused"
	n=0
	while IFS=$'\t' read -r addr want why; do
		n=$((n + 1))
		got=$(sed -n "$((n + 1))p" "$T/probe.out" | cut -f1,2)
		case "$want" in
		accept) [[ "$got" == 250* ]] || rg_fail "$client: <$addr> got '$got', want 250" ;;
		reject)
			# relay tricks and foreign domains: relayguard's 550 5.7.1;
			# plain syntax errors may be refused by Postfix first (501 5.1.3)
			case "$got" in
			"550	5.7.1") ;;
			"501	5.1.3") [ "$why" = bad-syntax ] || [ "$why" = empty-part ] ||
				rg_fail "$client: <$addr> ($why) refused by Postfix, not relayguard" ;;
			*) rg_fail "$client: <$addr> ($why) got '$got', want 550 5.7.1" ;;
			esac ;;
		esac
	done <"$T/list"
	[ "$n" -ge 40 ] || rg_fail "only $n addresses probed"
done
# relayguard logged each trick by name
for trick in percent-hack bang-path source-route quoted-local-part multiple-at \
	ip-literal escaped-char too-long bad-dots; do
	rg_log_grep -F ": $trick from unknown[2001:db8:bad::5]" >/dev/null ||
		rg_fail "no log line naming $trick for the IPv6 client"
done
# only the accepted addresses reached the sink, none of the refused ones
rg_wait_sink 2
grep -h '^X-Rcpt-Args:' "$T"/sink/* | sed 's/^X-Rcpt-Args: <\(.*\)> .*/\1/' | sort -u >"$T/delivered"
grep -qi 'evil' "$T/delivered" && rg_fail "a foreign address reached the sink: $(grep -i evil "$T/delivered")"
[ "$(wc -l <"$T/delivered")" -ge 6 ] || rg_fail "accepted addresses did not all arrive"

# --- 2. who may relay: login, trusted networks (v4 and v6) ----------------
expect "ADDR=198.51.100.7" someone@remote.example "250 2.1.5" user@far.example
expect "ADDR=IPV6:2001:db8:1::7" someone@remote.example "250 2.1.5" user@far.example
expect "ADDR=203.0.113.5" someone@remote.example "550 5.7.1" user@far.example
# a login relays only over TLSv1.3 here (relay_require_tls, relay_min_tls_version)
expect "ADDR=203.0.113.5 LOGIN=alice" alice@ours.example "530 5.7.0" user@far.example
probe "ADDR=203.0.113.5 LOGIN=alice" alice@ours.example <(echo user@far.example) --tls tls1_2
[ "$(reply_of user@far.example)" = "550 5.7.1" ] || rg_fail "TLSv1.2 login relayed: $(cat "$T/probe.out")"
probe "ADDR=203.0.113.5 LOGIN=alice" alice@ours.example <(echo user@far.example) --tls tls1_3 --data "login relay"
[ "$(reply_of user@far.example)" = "250 2.1.5" ] || rg_fail "TLSv1.3 login refused: $(cat "$T/probe.out")"
grep -q '^DATA	250' "$T/probe.out" || rg_fail "login relay: DATA not accepted"
rg_wait_sink 3
rg_sink_grep -F 'X-Rcpt-Args: <user@far.example>' >/dev/null || rg_fail "relayed mail did not arrive"
rg_log_grep -F 'TLS protocol TLSv1.2 is too old for relaying; TLSv1.3 or later required' >/dev/null ||
	rg_fail "no reason logged for the old TLS version"
# mail to our own domains from anyone, with or without tricks-free paths
expect "ADDR=203.0.113.5" someone@remote.example "250 2.1.5" user@ours.example user@relayed.example

# --- 3. sender rules -------------------------------------------------------
probe "ADDR=203.0.113.5" alice@ours.example <(echo user@ours.example)
grep -q '^MAIL	550	5.7.1' "$T/probe.out" || rg_fail "unauthenticated local sender accepted"
probe "ADDR=198.51.100.7" alice@ours.example <(echo user@ours.example)
grep -q '^MAIL	250' "$T/probe.out" || rg_fail "trusted client's local sender refused"
probe "ADDR=203.0.113.5 LOGIN=bob" alice@ours.example <(echo user@ours.example) --tls tls1_3
grep -q '^MAIL	553	5.7.1' "$T/probe.out" || rg_fail "bob could use alice's address"
probe "ADDR=203.0.113.5 LOGIN=bob" x@relayed.example <(echo user@ours.example) --tls tls1_3
grep -q '^MAIL	250' "$T/probe.out" || rg_fail "bob refused for @relayed.example"
probe "ADDR=203.0.113.5" x@spammer.example <(echo user@ours.example)
grep -q '^MAIL	550	5.7.1' "$T/probe.out" || rg_fail "blocked sender domain accepted"
# the null sender: bounces to our users only
probe "ADDR=203.0.113.5" "" <(printf 'user@ours.example\nuser@far.example\n')
[ "$(reply_of user@ours.example)" = "250 2.1.5" ] || rg_fail "bounce to our user refused"
[ "$(reply_of user@far.example)" = "550 5.7.1" ] || rg_fail "bounce relayed"

# --- 4. client_block_networks at connect: nothing is accepted --------------
rg_send --from a@far.example --to user@ours.example --xclient-addr 203.0.113.66 \
	--header "Subject: blocked" --body x
rg_assert_not_contains -F "$T/last.out" 'queued as'
rg_wait_log 'Client host rejected: access denied'
rg_sink_grep -F 'Subject: blocked' >/dev/null && rg_fail "blocked client's mail arrived"
exit 0
