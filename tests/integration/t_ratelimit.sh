#!/bin/bash
# t_ratelimit.sh - rate limits through the real Postfix (memory store):
#  - N messages per hour for a login: exactly N accepted, the N+1st gets
#    451 4.7.1 at MAIL FROM, and nothing of it reaches the sink;
#  - another login is not affected;
#  - going over the limit is logged once, not once per refused message;
#  - a rule in tag mode lets the mail through with X-Relayguard-Ratelimit;
#  - a recipient limit refuses the extra recipients only.
. "$(dirname "$0")/lib.sh"

RG_CONF='ratelimit_rules = per_login messages sasl_user 3/1h tempfail auth;
  anon_tag messages client_ip 1/1h tag unauth;
  rcpts recipients sasl_user+rcpt_domain 2/1h reject auth'
rg_harness_start

send_as() { # LOGIN RCPT [more swaks args]
	local login=$1 rcpt=$2
	shift 2
	rg_send --from "$login@ours.example" --to "$rcpt" \
		--xclient "ADDR=192.0.2.10 LOGIN=$login" "$@"
}

for i in 1 2 3; do
	send_as alice "r$i@far$i.example" || rg_fail "message $i of 3 was refused"
done
send_as alice r4@far4.example && rg_fail "the 4th message was accepted"
rg_assert_contains -F "$T/last.out" '<** 451 4.7.1 Rate limit exceeded (per_login: 3 per 1h); try again later'
send_as alice r5@far5.example && rg_fail "the 5th message was accepted"
send_as bob r1@far1.example || rg_fail "bob was refused for alice's limit"
rg_wait_sink 4

n=$(grep -c 'ratelimit: rl:msg:per_login:1h:alice over 3/1h' "$T/relayguard.log")
[ "$n" = 1 ] || rg_fail "the excess was logged $n times, want once"
grep -q 'verdict=tempfail .*ratelimit="per_login=3/3/1h" check=ratelimit' \
	"$T/relayguard.log" || rg_fail "no summary line with check=ratelimit"

# tag: anonymous mail to our domain, the second one is tagged
rg_send --from x@far.example --to u@ours.example --xclient ADDR=198.51.100.7 ||
	rg_fail "anonymous message 1 refused"
rg_send --from x@far.example --to u@ours.example --xclient ADDR=198.51.100.7 ||
	rg_fail "anonymous message 2 refused (tag mode must not refuse)"
rg_wait_sink 6
rg_sink_grep -F 'X-Relayguard-Ratelimit: anon_tag=2/1/1h' >/dev/null ||
	rg_fail "the tagged message has no X-Relayguard-Ratelimit header"
[ "$(rg_sink_grep -F 'X-Relayguard-Ratelimit' | wc -l)" = 1 ] ||
	rg_fail "more than one message tagged"

# recipients: carol may send to 2 recipients per domain and hour
printf 'a@dest.example\nb@dest.example\nc@dest.example\nd@other.example\n' |
	/usr/bin/python3 "$RG_TOP_DIR/tests/integration/smtp_probe.py" "$RG_SMTP_PORT" \
		carol@ours.example --xclient "ADDR=192.0.2.11 LOGIN=carol" --data limits \
		>"$T/probe.out" 2>"$T/probe.err" || rg_fail "probe: $(cat "$T/probe.err")"
cat "$T/probe.out" >&2
grep -qP '^250\t2.1.5\ta@dest.example$' "$T/probe.out" || rg_fail "a@dest.example refused"
grep -qP '^250\t2.1.5\tb@dest.example$' "$T/probe.out" || rg_fail "b@dest.example refused"
grep -qP '^550\t5.7.1\tc@dest.example$' "$T/probe.out" || rg_fail "c@dest.example not refused"
grep -qP '^250\t2.1.5\td@other.example$' "$T/probe.out" || rg_fail "d@other.example refused"
grep -qP '^DATA\t250$' "$T/probe.out" || rg_fail "the message was not accepted"
rg_wait_sink 7
echo ok
