#!/bin/bash
# t_ratelimit_kvdown.sh - Redis stopped in the middle of a run, through
# the real Postfix, with a rate limit (3/1h per client) and a concurrency
# limit on Redis:
#  1. Redis up: 2 messages delivered;
#  2. Redis down, redis_failure_mode = tempfail: every message gets
#     451 4.7.0, and each failure is logged;
#  3. Redis started again (empty: it keeps nothing on disk): the limit
#     works as before, 3 delivered, the 4th 451 4.7.1;
#  4. redis_failure_mode = open (reload), Redis down again: messages are
#     delivered with "limit skipped" logged.
# Nothing is lost: every message is at the sink or was refused with a
# code, and Postfix's queue is empty at the end.
. "$(dirname "$0")/lib.sh"

RG_CONF='kv_backend = redis
redis_server = 127.0.0.1:$REDIS_PORT
redis_reconnect_delay = 100ms
redis_reconnect_max_delay = 200ms
redis_failure_mode = tempfail
max_connections_per_client = 5
ratelimit_rules = per_ip messages client_ip 3/1h tempfail'
rg_harness_start

refused=0
send() { # ADDR - one message; true when delivered
	rg_send --from x@far.example --to u@ours.example --xclient "ADDR=$1"
}
refused_with() { # CODE - the last message was refused with CODE
	send "$1" && rg_fail "delivered, want $2"
	rg_assert_contains -F "$T/last.out" "<** $2"
	refused=$((refused + 1))
}

# 1. up
send 192.0.2.60 || rg_fail "phase 1: message 1 refused"
send 192.0.2.60 || rg_fail "phase 1: message 2 refused"
rg_wait_sink 2

# 2. down, tempfail
rg_redis_stop
for i in 1 2 3; do
	refused_with 192.0.2.60 '451 4.7.0'
done
grep -q 'kv: ratelimit .*: counter store unavailable (.*); failure mode tempfail: client asked to retry' \
	"$T/relayguard.log" || rg_fail "no failure-mode line in the log"

# 3. up again: a fresh Redis, the limit as before
rg_redis_start
sleep 0.5
for i in 1 2 3; do
	send 192.0.2.60 || rg_fail "phase 3: message $i refused: $(tail -3 "$T/last.out")"
done
refused_with 192.0.2.60 '451 4.7.1 Rate limit exceeded (per_ip: 3 per 1h)'
rg_wait_sink 5

# 4. open mode (a reload), down again: delivered, logged
sed -i 's/^redis_failure_mode = tempfail$/redis_failure_mode = open/' "$T/relayguard.conf"
rg_milter_reload
rg_wait_log 'reloaded configuration' 10
rg_redis_stop
send 192.0.2.60 || rg_fail "phase 4: message 1 refused in open mode"
send 192.0.2.60 || rg_fail "phase 4: message 2 refused in open mode"
rg_wait_sink 7
grep -q 'failure mode open: limit skipped' "$T/relayguard.log" ||
	rg_fail "open mode did not log the skipped limit"

# every message accounted for: 11 sent, 7 delivered, 4 refused with a code
[ $((refused + $(rg_sink_count))) = 11 ] || rg_fail "refused $refused + delivered $(rg_sink_count) != 11"
rg_wait_queue_empty 10
rg_redis_start	# for a clean stop
echo ok
