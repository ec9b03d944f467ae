#!/bin/bash
# t_greylist.sh - greylisting through the real Postfix (greylist_delay =
# 2s): the first attempt and an early retry get 451 4.7.1 with the retry
# hint; a retry after the delay is delivered; another host of the same /24
# is let through at once (the triplet is known); a new triplet is
# greylisted again; logged-in and trusted clients are never greylisted.
. "$(dirname "$0")/lib.sh"

RG_CONF='greylist_enable = yes
greylist_delay = 2s
greylist_expire = 1h
trusted_networks = 198.51.100.0/24'
rg_harness_start

send_from() { # ADDR SENDER RCPT [swaks args]
	local addr=$1 from=$2 to=$3
	shift 3
	rg_send --from "$from" --to "$to" --xclient "ADDR=$addr" "$@"
}

send_from 192.0.2.20 s@far.example u@ours.example &&
	rg_fail "the first attempt was not greylisted"
rg_assert_contains "$T/last.out" '<\*\* 451 4\.7\.1 Greylisted, try again in [12] seconds'
send_from 192.0.2.20 s@far.example u@ours.example &&
	rg_fail "an early retry was accepted"
rg_assert_contains "$T/last.out" '<\*\* 451 4\.7\.1 Greylisted, try again in [12] seconds'
sleep 2.2
send_from 192.0.2.20 s@far.example u@ours.example ||
	rg_fail "the retry after the delay was refused"
send_from 192.0.2.21 s@far.example u@ours.example ||
	rg_fail "another host of the same /24 was greylisted for a known triplet"
send_from 192.0.2.20 s@far.example other@ours.example &&
	rg_fail "a new triplet was not greylisted"
rg_send --from a@ours.example --to u@ours.example --xclient 'ADDR=192.0.2.30 LOGIN=amy' ||
	rg_fail "a logged-in client was greylisted"
send_from 198.51.100.5 t@far.example u@ours.example ||
	rg_fail "a trusted client was greylisted"
rg_wait_sink 4
grep -q 'greylist="new, retry in 2s"' "$T/relayguard.log" ||
	rg_fail "no summary line with the greylisting note"
grep -q 'greylist=pass' "$T/relayguard.log" || rg_fail "no summary line for the pass"
echo ok
