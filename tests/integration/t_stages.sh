#!/bin/bash
# t_stages.sh - the milter stages through miltertest, an independent milter
# client: several messages per connection, abort, the recipient cap, a
# close with no connection context; exactly one summary line per message.
. "$(dirname "$0")/lib.sh"

command -v miltertest >/dev/null || rg_skip "miltertest is not installed"
RG_BIN=${RG_BIN:-$RG_TOP_DIR/build/relayguard}
D=$(mktemp -d /tmp/rgstages.XXXXXX)
chmod 755 "$D"
pid=""
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT

rg__pick_port || rg_fail "no free port"
port=$RG__PORT
printf 'socket = inet:%s@127.0.0.1\nlog_target = stderr\nmax_recipients = 2\nauthserv_id = stages.test\ntrusted_networks = 192.0.2.0/24\n' \
	"$port" >"$D/rg.conf"
TSAN_OPTIONS=$(rg_daemon_tsan) "$RG_BIN" -f -c "$D/rg.conf" -u nobody -P "$D/rg.pid" >"$D/rg.log" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q ready "$D/rg.log" && break; sleep 0.1; done
[ "$(cat "$D/rg.pid" 2>/dev/null)" = "$pid" ] || rg_fail "-P did not write the pid"

RG_SOCKET="inet:$port@127.0.0.1" miltertest -s "$RG_TOP_DIR/tests/milter/stages.lua" \
	>"$D/mt.out" 2>&1
rc=$?
cat "$D/mt.out"
[ "$rc" = 0 ] || { cat "$D/rg.log"; rg_fail "miltertest exited $rc"; }
grep -q 'stages ok' "$D/mt.out" || rg_fail "script did not finish"

sleep 0.5
grep -c 'QIDONE: verdict=' "$D/rg.log" | grep -qx 1 || rg_fail "want one summary for QIDONE"
grep -q 'QIDONE: verdict=accept .*to=<a@far.example>,<b@far.example> over_limit=1 size=[0-9]* ' \
	"$D/rg.log" || { cat "$D/rg.log"; rg_fail "QIDONE summary wrong"; }
grep -c 'QIDTWO: verdict=' "$D/rg.log" | grep -qx 1 || rg_fail "want one summary for QIDTWO"
grep -q 'QIDTWO: verdict=aborted ' "$D/rg.log" || rg_fail "QIDTWO not logged as aborted"
kill -0 "$pid" 2>/dev/null || rg_fail "daemon died"

# a reload during a session: the session keeps its snapshot
sed 's/^authserv_id = .*/authserv_id = old.test/' "$D/rg.conf" >"$D/old.conf"
sed 's/^authserv_id = .*/authserv_id = new.test/' "$D/rg.conf" >"$D/new.conf"
cp "$D/old.conf" "$D/rg.conf"
kill -HUP "$pid"
for _ in $(seq 50); do grep -q 'generation 2' "$D/rg.log" && break; sleep 0.1; done
RG_SOCKET="inet:$port@127.0.0.1" RG_RELOAD_CMD="cp $D/new.conf $D/rg.conf && kill -HUP $pid" \
	miltertest -s "$RG_TOP_DIR/tests/milter/reload_inflight.lua" >"$D/mt2.out" 2>&1
rc=$?
cat "$D/mt2.out"
[ "$rc" = 0 ] && grep -q 'reload ok' "$D/mt2.out" ||
	{ cat "$D/rg.log"; rg_fail "in-flight reload check failed"; }
grep -q 'generation 3' "$D/rg.log" || rg_fail "the mid-session reload did not happen"
grep -qiE 'panic|error' "$D/rg.log" && { cat "$D/rg.log"; rg_fail "errors in the log"; }
# a clean stop, then no sanitizer report in what the daemon wrote
rg__kill_wait "$pid" 10
pid=""
rg_san_check "$D/rg.log" || rg_fail "sanitizer report"
exit 0
