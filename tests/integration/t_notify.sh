#!/bin/bash
# t_notify.sh - systemd's readiness protocol, with a listener standing in
# for systemd on $NOTIFY_SOCKET: READY=1 once relayguard serves,
# RELOADING=1 then READY=1 around a reload (SIGHUP), STOPPING=1 at
# SIGTERM. Skipped when relayguard was built without libsystemd.
. "$(dirname "$0")/lib.sh"

RG_BIN=${RG_BIN:-$RG_TOP_DIR/build/relayguard}
"$RG_BIN" -V | grep -q 'sd_notify' || rg_skip "built without libsystemd"

N=$(mktemp -d /tmp/rgnotify.XXXXXX)
chmod 755 "$N"
# the listener: one line per datagram, its newlines shown as spaces
/usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)   # relayguard sends as the unprivileged user
open(sys.argv[2] + ".up", "w").close()
while True:
    d = s.recv(4096).decode(errors="replace").replace("\n", " ")
    with open(sys.argv[2], "a") as f:
        f.write(d + "\n")
' "$N/notify.sock" "$N/states" >"$N/listener.log" 2>&1 &
LISTENER=$!
trap 'kill $LISTENER 2>/dev/null; rm -rf "$N"' EXIT
for _ in $(seq 50); do [ -e "$N/states.up" ] && break; sleep 0.1; done
[ -e "$N/states.up" ] || rg_fail "the notify listener did not start: $(cat "$N/listener.log")"
touch "$N/states"

# only relayguard gets NOTIFY_SOCKET (the harness's unbound would notify too)
printf '#!/bin/sh\nNOTIFY_SOCKET=%s/notify.sock exec %s "$@"\n' "$N" "$RG_BIN" >"$N/relayguard"
chmod 755 "$N/relayguard"
RG_BIN=$N/relayguard
RG_NO_POSTFIX=1
rg_harness_start
rg_at_stop "kill $LISTENER 2>/dev/null; rm -rf '$N'"

# wait_state N PATTERN - line N of the states matches PATTERN (5 s)
wait_state() {
	for _ in $(seq 50); do
		sed -n "$1p" "$N/states" | grep -qE "$2" && return 0
		sleep 0.1
	done
	cat "$N/states" >&2
	rg_fail "notification $1 is not '$2'"
}

wait_state 1 '^READY=1( |$)'
rg_milter_reload
rg_wait_log 'reloaded configuration'
wait_state 2 '^RELOADING=1 MONOTONIC_USEC=[0-9]+$'
wait_state 3 '^READY=1( |$)'
rg_milter_stop
wait_state 4 '^STOPPING=1$'
[ "$(wc -l <"$N/states")" = 4 ] || { cat "$N/states" >&2; rg_fail "more notifications than expected"; }
exit 0
