#!/bin/bash
# t_daemon.sh - the daemon's command line and privileges, without Postfix:
# -n names file and line, -d prints every parameter, root is refused, the
# daemon runs as the unprivileged user, a unix socket is 0660 and given to
# that user and the socket group, its limit of open files is raised;
# SIGTERM stops it within 3 s, over a unix socket and over TCP on the
# wildcard address.
. "$(dirname "$0")/lib.sh"

RG_BIN=${RG_BIN:-$RG_TOP_DIR/build/relayguard}
[ -x "$RG_BIN" ] || rg_fail "no daemon at $RG_BIN"
D=$(mktemp -d /tmp/rgdaemon.XXXXXX)
chmod 755 "$D"
pids=""
cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$D"
}
trap cleanup EXIT

# -n: good file exits 0 and prints nothing
printf 'log_level = debug\n' >"$D/good.conf"
out=$("$RG_BIN" -n -c "$D/good.conf" 2>&1) || rg_fail "-n on a good file exited $?: $out"
[ -z "$out" ] || rg_fail "-n on a good file printed: $out"

# -n: broken file exits 1 naming file and line of each error
printf '# comment\nlog_level = debug\nmax_headres = 5\n\nsocket = inet:x@y\n' >"$D/bad.conf"
out=$("$RG_BIN" -n -c "$D/bad.conf" 2>&1)
rc=$?
[ "$rc" = 1 ] || rg_fail "-n on a broken file exited $rc, want 1"
echo "$out" | grep -qF "$D/bad.conf:3: unknown parameter \"max_headres\" (did you mean \"max_headers\"?)" ||
	rg_fail "-n did not name line 3: $out"
echo "$out" | grep -qF "$D/bad.conf:5: socket:" || rg_fail "-n did not name line 5: $out"

# -n: a missing file named with -c is an error
"$RG_BIN" -n -c "$D/none.conf" >/dev/null 2>&1 && rg_fail "-n accepted a missing file"

# -d: every parameter, the file's value, defaults marked
out=$("$RG_BIN" -d -c "$D/good.conf") || rg_fail "-d exited $?"
echo "$out" | grep -q '^log_level = debug$' || rg_fail "-d lacks the file's value"
echo "$out" | grep -q '^user = nobody  *# default$' || rg_fail "-d does not mark defaults"
[ "$(echo "$out" | grep -c ' = ')" -ge 15 ] || rg_fail "-d prints too few parameters"

# -V
"$RG_BIN" -V | grep -q '^relayguard [0-9]' || rg_fail "-V prints no version"

# root is refused unless the config says so
printf 'socket = inet:1@127.0.0.1\nuser = root\n' >"$D/root.conf"
rg__pick_port || rg_fail "no free port"
port=$RG__PORT
out=$(timeout 10 "$RG_BIN" -f -c "$D/root.conf" -p "inet:$port@127.0.0.1" 2>&1)
rc=$?
[ "$rc" = 1 ] || rg_fail "running as root: exit $rc, want 1 ($out)"
echo "$out" | grep -q 'refusing to run as root' || rg_fail "no reason given: $out"

# unix socket: mode 0660, owned by the user and the socket group; the
# daemon runs as that user (checked from /proc)
printf 'socket = unix:%s/rg.sock\nuser = nobody\nsocket_group = postfix\nlog_target = stderr\n' \
	"$D" >"$D/unix.conf"
# started with a soft limit of 256 open files, which it raises
TSAN_OPTIONS=$(rg_daemon_tsan) prlimit --nofile=256: "$RG_BIN" -f -c "$D/unix.conf" >"$D/unix.log" 2>&1 &
pid=$!
pids="$pids $pid"
for _ in $(seq 50); do [ -S "$D/rg.sock" ] && grep -q ready "$D/unix.log" && break; sleep 0.1; done
[ -S "$D/rg.sock" ] || rg_fail "no unix socket: $(cat "$D/unix.log")"
set -- $(stat -c '%a %U %G' "$D/rg.sock")
[ "$1" = 660 ] || rg_fail "socket mode $1, want 660"
[ "$2" = nobody ] || rg_fail "socket owner $2, want nobody"
[ "$3" = postfix ] || rg_fail "socket group $3, want postfix"
uid=$(awk '/^Uid:/ {print $2, $3, $4}' "/proc/$pid/status")
[ "$uid" = "$(id -u nobody) $(id -u nobody) $(id -u nobody)" ] ||
	rg_fail "daemon uid is '$uid', want nobody's"
# open files: the soft limit raised to the hard one, at most 65536
set -- $(awk '/^Max open files/ {print $4, $5}' "/proc/$pid/limits")
want=$2
[ "$want" = unlimited ] || [ "$want" -gt 65536 ] && want=65536
[ "$1" = "$want" ] || rg_fail "open files: soft limit $1, want $want (hard $2)"

# stop_soon PID LOG - SIGTERM stops the daemon within 3 s, cleanly.
# libmilter's listener looks at its stop flag only when its 5-second wait
# for a connection ends; a connection just before the signal starts a new
# wait, so a daemon that does not wake its listener takes 4.5 s or more.
stop_soon() {
	local pid=$1 log=$2 rc
	sleep 0.3
	kill -TERM "$pid"
	for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && rg_fail "daemon did not stop on SIGTERM within 3s ($log)"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || rg_fail "clean stop exited $rc ($log)"
	grep -q 'stopped' "$log" || rg_fail "no 'stopped' line in $log"
	rg_san_check "$log" || rg_fail "sanitizer report in $log"
}

/usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.close()' "$D/rg.sock" || rg_fail "cannot connect to $D/rg.sock"
stop_soon "$pid" "$D/unix.log"

# TCP on the wildcard address: the stop wakes the listener over loopback
rg__pick_port || rg_fail "no free port"
port=$RG__PORT
printf 'socket = inet:%s@0.0.0.0\nuser = nobody\nlog_target = stderr\n' "$port" >"$D/tcp.conf"
TSAN_OPTIONS=$(rg_daemon_tsan) "$RG_BIN" -f -c "$D/tcp.conf" >"$D/tcp.log" 2>&1 &
pid=$!
pids="$pids $pid"
for _ in $(seq 50); do grep -q ready "$D/tcp.log" && break; sleep 0.1; done
grep -q ready "$D/tcp.log" || rg_fail "TCP daemon not ready: $(cat "$D/tcp.log")"
(exec 3<>"/dev/tcp/127.0.0.1/$port") || rg_fail "cannot connect to port $port"
stop_soon "$pid" "$D/tcp.log"
exit 0
