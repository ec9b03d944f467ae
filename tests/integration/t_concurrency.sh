#!/bin/bash
# t_concurrency.sh - max_connections_per_client through the real Postfix:
# two sessions from one client are held open; a third is refused at
# connect (451 4.7.0 from the milter, which Postfix turns into a refusal
# of the session's commands); after one of the two QUITs the next session
# delivers. The slot count is read from the daemon's memory store with
# relayguardctl over the control socket: 2 while held, gone after all
# sessions closed, also after one that the client just dropped.
. "$(dirname "$0")/lib.sh"

RG_CONF='max_connections_per_client = 2
control_socket = $T/control.sock'
rg_harness_start
CTL="$(dirname "$RG_BIN")/relayguardctl -c $T/relayguard.conf"

# hold ID - a session from 192.0.2.50 that stays open until $T/release.ID
# exists, then QUITs (or, with ID "drop", closes without QUIT)
cat >"$T/hold.py" <<'PY'
import os, smtplib, sys, time
port, ident, tdir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo("holder.example")
code, msg = s.docmd("XCLIENT ADDR=192.0.2.50")
s.ehlo("holder.example")
code, msg = s.docmd("MAIL FROM:<h@far.example>")
print("MAIL %d %s" % (code, msg.decode()), flush=True)
while not os.path.exists(os.path.join(tdir, "release." + ident)):
    time.sleep(0.05)
if ident == "drop":
    s.sock.close()
else:
    s.quit()
PY
hold() {
	/usr/bin/python3 "$T/hold.py" "$RG_SMTP_PORT" "$1" "$T" >"$T/hold.$1.out" 2>&1 &
	RG__PIDS+=" $!"
}
wait_mail() { # ID - until the held session got its MAIL reply
	local i
	for i in $(seq 100); do
		grep -q '^MAIL' "$T/hold.$1.out" 2>/dev/null && return 0
		sleep 0.1
	done
	rg_fail "held session $1 got no MAIL reply: $(cat "$T/hold.$1.out")"
}
slots() { $CTL show slot:192.0.2.50 2>&1; }

hold one
wait_mail one
hold drop
wait_mail drop
grep -q '^MAIL 250' "$T/hold.one.out" || rg_fail "session 1: $(cat "$T/hold.one.out")"
grep -q '^MAIL 250' "$T/hold.drop.out" || rg_fail "session 2: $(cat "$T/hold.drop.out")"
[ "$(slots)" = "slot:192.0.2.50 = 2" ] || rg_fail "slots while two are held: $(slots)"

# the third session is refused
rg_send --from x@far.example --to u@ours.example --xclient ADDR=192.0.2.50 &&
	rg_fail "a third concurrent session delivered"
# (with XCLIENT, Postfix logs the refusal at XCLIENT, then refuses
# every command of the session with the milter's reply)
rg_assert_contains -F "$T/last.out" '<** 451 4.7.0 Too many concurrent connections from [192.0.2.50]'
# postlogd writes the line a moment later: wait for it (10 s)
for _ in $(seq 100); do
	grep -q 'milter-reject: XCLIENT from unknown\[192.0.2.50\]: 451 4.7.0 Too many concurrent connections from \[192.0.2.50\]' \
		"$T/postfix.log" && break
	sleep 0.1
done
grep -q 'milter-reject: XCLIENT from unknown\[192.0.2.50\]: 451 4.7.0 Too many concurrent connections from \[192.0.2.50\]' \
	"$T/postfix.log" || rg_fail "Postfix did not log the milter's 451 4.7.0: $(grep 'milter-reject' "$T/postfix.log" | tail -3)"
rg_wait_sink 0
[ "$(slots)" = "slot:192.0.2.50 = 2" ] || rg_fail "the refused session changed the count: $(slots)"

# one QUITs: the next session delivers
touch "$T/release.one"
for _ in $(seq 50); do [ "$(slots)" = "slot:192.0.2.50 = 1" ] && break; sleep 0.1; done
[ "$(slots)" = "slot:192.0.2.50 = 1" ] || rg_fail "slot not freed after QUIT: $(slots)"
rg_send --from x@far.example --to u@ours.example --xclient ADDR=192.0.2.50 ||
	rg_fail "the session after QUIT was refused"
rg_wait_sink 1

# the other drops its connection without QUIT: its slot is freed too
touch "$T/release.drop"
for _ in $(seq 50); do slots | grep -q 'not found' && break; sleep 0.1; done
slots | grep -q 'slot:192.0.2.50: not found' || rg_fail "slot left after a dropped session: $(slots)"
grep -q 'control: "show slot:192.0.2.50" from uid 0: status' "$T/relayguard.log" ||
	rg_fail "control socket commands are not logged"
[ "$(stat -c '%a %U' "$T/control.sock")" = "600 nobody" ] ||
	rg_fail "control socket is $(stat -c '%a %U' "$T/control.sock"), want 600 nobody"
echo ok
