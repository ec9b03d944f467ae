#!/bin/bash
# t_kv_redis.sh - the Redis counter store against the harness's private
# redis-server: runs build/tests/unit/kv_redis_test with RG_TEST_REDIS
# set, and lets it kill Redis and start it again on the same port (with a
# unix socket and DEBUG allowed, so the slow case can use DEBUG SLEEP).
. "$(dirname "$0")/lib.sh"

RG_NO_MILTER=1
# the test binary of the build whose daemon is under test (check.sh sets
# RG_BIN to build/ or build-asan/), unless RG_KV_REDIS_TEST names one
if [ -z "${RG_KV_REDIS_TEST:-}" ] && [ -n "${RG_BIN:-}" ]; then
	RG_KV_REDIS_TEST=$(dirname "$RG_BIN")/tests/unit/kv_redis_test
fi
bin=${RG_KV_REDIS_TEST:-$RG_TOP_DIR/build/tests/unit/kv_redis_test}
[ -x "$bin" ] || rg_fail "no $bin (run make)"
rg_harness_start

# the arguments lib.sh starts redis-server with, plus a unix socket and
# DEBUG for local connections
args="--bind 127.0.0.1 --port $REDIS_PORT --save '' --appendonly no"
args+=" --daemonize no --dir $T/redis --pidfile $T/redis.pid"
args+=" --logfile $T/redis.log --databases 16"
args+=" --unixsocket $T/redis.sock --unixsocketperm 700"
args+=" --enable-debug-command local"

export RG_TEST_REDIS=127.0.0.1:$REDIS_PORT
export RG_TEST_REDIS_STOP="kill -KILL $REDIS_PID"
export RG_TEST_REDIS_START="setsid redis-server $args </dev/null >>$T/redis.out 2>&1 &"
export RG_TEST_REDIS_UNIX=$T/redis.sock

# the test kills it: no job report from this shell
disown "$REDIS_PID" 2>/dev/null || true
rc=0
"$bin" >"$T/kv_redis_test.out" 2>"$T/kv_redis_test.err" || rc=$?

# the restarted server is not a child of this shell: have the harness
# stop it with the rest
if [ -s "$T/redis.pid" ]; then
	pid=$(cat "$T/redis.pid")
	[ "$pid" != "$REDIS_PID" ] && RG__PIDS+=" $pid"
fi

cat "$T/kv_redis_test.out"
grep -v 'relayguard\[' "$T/kv_redis_test.err" >&2 || true
[ "$rc" = 0 ] || rg_fail "kv_redis_test exited $rc"
line=$(tail -n 1 "$T/kv_redis_test.out")
case "$line" in
"0 passed"*) rg_fail "kv_redis_test ran nothing" ;;
*" passed, 0 failed") ;;
*) rg_fail "kv_redis_test: $line" ;;
esac
# the kill/restart and slow cases ran, and timed what they should
grep -q '^killed: first call failed in' "$T/kv_redis_test.err" ||
	rg_fail "the kill/restart case did not run"
grep -q '^slow: made busy with DEBUG SLEEP 1' "$T/kv_redis_test.err" ||
	rg_fail "the slow case did not use DEBUG SLEEP"
# what the store logged while Redis was away
grep -q 'kv: redis 127.0.0.1:[0-9]*: connect: Connection refused; failing fast' \
	"$T/kv_redis_test.err" || rg_fail "no log line for the refused connection"
grep -q 'kv: redis 127.0.0.1:[0-9]* available again' "$T/kv_redis_test.err" ||
	rg_fail "no log line for the recovery"
echo ok
