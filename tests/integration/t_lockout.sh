#!/bin/bash
# t_lockout.sh - compromised-account lockout and relayguardctl over the
# control socket (memory store), through the real Postfix:
#  - lockout_threshold = 3/1h: three messages go, the 4th locks the
#    account (550 5.7.1), the alert is logged once at alert level and
#    lockout_notify_command runs (as the unprivileged user) with the
#    account; later messages are refused; another account is not;
#  - relayguardctl locked lists it, unlock restores sending;
#  - relayguardctl block refuses a client at connect (554 5.7.1), unblock
#    lets it in again; a relayguardctl without a way to the store says so.
. "$(dirname "$0")/lib.sh"

RG_CONF='lockout_threshold = 3/1h
lockout_notify_command = $T/notify.sh
control_socket = $T/control.sock'
rg_harness_start
CTL="$(dirname "$RG_BIN")/relayguardctl -c $T/relayguard.conf"

# the notify program records its argument and its user
cat >"$T/notify.sh" <<'SH'
#!/bin/sh
echo "$1 $(id -un)" >>"$(dirname "$0")/notify.out"
SH
chmod 755 "$T/notify.sh"
: >"$T/notify.out"
chmod 666 "$T/notify.out"

send_as() { # LOGIN [swaks args]
	local login=$1
	shift
	rg_send --from "$login@ours.example" --to r@far.example \
		--xclient "ADDR=192.0.2.40 LOGIN=$login" "$@"
}

for i in 1 2 3; do
	send_as mallory || rg_fail "message $i of 3 refused"
done
send_as mallory && rg_fail "the 4th message was accepted"
rg_assert_contains -F "$T/last.out" '<** 550 5.7.1 Sending is suspended for this account; contact your administrator'
send_as mallory && rg_fail "a message after the lock was accepted"
rg_assert_contains -F "$T/last.out" '<** 550 5.7.1 Sending is suspended'
send_as nancy || rg_fail "another account was refused"
rg_wait_sink 4

n=$(grep -c 'alert: .*lockout: account mallory locked: 4 messages in 1h, threshold 3' "$T/relayguard.log")
[ "$n" = 1 ] || rg_fail "the alert was logged $n times, want once"
for _ in $(seq 50); do [ -s "$T/notify.out" ] && break; sleep 0.1; done
[ "$(cat "$T/notify.out")" = "mallory nobody" ] ||
	rg_fail "notify command: '$(cat "$T/notify.out")', want 'mallory nobody'"

out=$($CTL locked) || rg_fail "relayguardctl locked: $out"
echo "$out" | grep -q '^mallory  *locked .*: 4 messages in 1h, threshold 3$' ||
	rg_fail "relayguardctl locked: $out"
out=$($CTL unlock mallory) || rg_fail "relayguardctl unlock: $out"
[ "$out" = "unlocked mallory" ] || rg_fail "relayguardctl unlock said: $out"
send_as mallory || rg_fail "refused after unlock"
rg_wait_sink 5
$CTL unlock mallory >/dev/null 2>&1 && rg_fail "unlocking an unlocked account succeeded"

# blocked networks through the store
out=$($CTL block 203.0.113.0/24) || rg_fail "relayguardctl block: $out"
[ "$out" = "blocked 203.0.113.0/24" ] || rg_fail "relayguardctl block said: $out"
$CTL blocked | grep -q '^203.0.113.0/24  *blocked ' || rg_fail "blocked: $($CTL blocked)"
rg_send --from x@far.example --to u@ours.example --xclient ADDR=203.0.113.9 &&
	rg_fail "a blocked client delivered"
grep -q 'milter-reject: XCLIENT from unknown\[203.0.113.9\]: 554 5.7.1 Service unavailable; client \[203.0.113.9\] blocked by the administrator' \
	"$T/postfix.log" || rg_fail "no 554 5.7.1 for the blocked client"
$CTL unblock 203.0.113.0/24 >/dev/null || rg_fail "unblock failed"
rg_send --from x@far.example --to u@ours.example --xclient ADDR=203.0.113.9 ||
	rg_fail "refused after unblock"
rg_wait_sink 6

# usage and a configuration without a way to the store
$CTL frobnicate >/dev/null 2>&1
[ $? = 2 ] || rg_fail "an unknown command did not exit 2"
printf 'log_level = error\n' >"$T/nostore.conf"
out=$("$(dirname "$RG_BIN")/relayguardctl" -c "$T/nostore.conf" locked 2>&1)
[ $? = 1 ] || rg_fail "relayguardctl without a store did not exit 1"
echo "$out" | grep -q 'set control_socket there' || rg_fail "no clear message: $out"
echo ok
