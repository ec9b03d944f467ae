#!/bin/bash
# t_reload.sh - SIGHUP applies a new configuration to new sessions; a
# malformed one is refused with a log line naming file and line, and the
# old configuration keeps serving.
. "$(dirname "$0")/lib.sh"

RG_CONF='authserv_id = first.relayguard.test'
rg_harness_start

send() {
	rg_send --from a@far.example --to b@ours.example --xclient-addr 192.0.2.7 \
		--header "Subject: $1" --body x || rg_fail "$1: swaks exited $?"
}
header_of() {
	grep -l -F "Subject: $1" "$T"/sink/* | head -1 | xargs grep '^Authentication-Results:'
}

send one
rg_wait_sink 1
header_of one | grep -q 'first.relayguard.test;' || rg_fail "first id not used"

# a good new configuration
sed -i 's/^authserv_id = .*/authserv_id = second.relayguard.test/' "$T/relayguard.conf"
rg_milter_reload
rg_wait_log 'reloaded configuration from .* \(generation 2\)'
send two
rg_wait_sink 2
header_of two | grep -q 'second.relayguard.test;' || rg_fail "reload not applied"

# a broken one: refused, named by file and line, old one keeps serving
printf 'authserv_id = third.relayguard.test\nmax_headers = lots\n' >>"$T/relayguard.conf"
line=$(grep -n '^max_headers' "$T/relayguard.conf" | cut -d: -f1)
rg_milter_reload
rg_wait_log "$T/relayguard.conf:$line: max_headers: expected a number"
rg_wait_log 'reload failed: keeping the configuration'
send three
rg_wait_sink 3
header_of three | grep -q 'second.relayguard.test;' ||
	rg_fail "old configuration not kept after a bad reload"
kill -0 "$(rg_milter_pid)" 2>/dev/null || rg_fail "relayguard died on a bad reload"

# several reloads in a row do not stop it (libmilter's own SIGHUP handling)
for i in 1 2 3 4 5; do kill -HUP "$(rg_milter_pid)"; done
sleep 1
kill -0 "$(rg_milter_pid)" 2>/dev/null || rg_fail "relayguard stopped after repeated SIGHUP"
send four
rg_wait_sink 4
exit 0
