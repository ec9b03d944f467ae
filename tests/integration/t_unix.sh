#!/bin/bash
# t_unix.sh - relayguard on a unix socket, as most installations run it.
#
# Over a unix socket relayguard asks the MTA for fewer replies than over
# TCP (no DATA, no reply at HELO nor per body chunk: there is no Nagle
# stall to avoid there). Checked:
#  - the negotiated steps: milterload sees SMFIP_NODATA, SMFIP_NR_HELO and
#    SMFIP_NR_BODY on the unix socket, and none of them from the same
#    daemon's configuration on TCP, where SMFIP_NR_HDR stays;
#  - through Postfix on the unix socket: a 300 KB message (five body
#    chunks, none answered) whose last chunk holds a listed link is
#    refused at end of message, a clean one is accepted with its
#    Authentication-Results, and the queue id is known without DATA;
#  - then the core tests again over the unix socket: pass, relay, dkim,
#    authres, badinput, content, and sendmail (Sendmail 8.17 behind the
#    same unix socket; each its own harness, RG_MILTER_UNIX=1).
. "$(dirname "$0")/lib.sh"

bin_dir=$(dirname "${RG_BIN:-$RG_TOP_DIR/build/relayguard}")
ML=$bin_dir/tests/bench/milterload
[ -x "$ML" ] || rg_fail "$ML not built"

# SMFIP_* of libmilter's mfdef.h
NR_HELO=$((0x2000)) NODATA=$((0x200)) NR_BODY=$((0x80000)) NR_HDR=$((0x80))

rg_dns_add 'listed-site.com.multi.surbl.test. 300 IN A 127.0.0.8'
RG_MILTER_UNIX=1
RG_CONF='surbl_sites = multi.surbl.test'
rg_harness_start

# proto LINE - the proto=0x... field of a milterload line, as a number
proto() {
	local p
	p=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n 's/^proto=//p')
	[ -n "$p" ] || rg_fail "no proto= in: $1"
	echo $((p))
}

out=$("$ML" -x -c 1 -n 1 -f a@far.example -t user@ours.example "unix:$T/rg.sock") || rg_fail "milterload on the unix socket: $out"
p=$(proto "$out")
for f in NR_HELO NODATA NR_BODY NR_HDR; do
	[ $((p & ${!f})) != 0 ] || rg_fail "unix socket: $f not negotiated (proto=$p)"
done
echo "ok: unix socket negotiates NODATA, NR_HELO, NR_BODY, NR_HDR"

# the same configuration on TCP: a second daemon (-p overrides the socket)
rg_port TCP_PORT
"$RG_BIN" -f -c "$T/relayguard.conf" -u nobody -p "inet:$TCP_PORT@127.0.0.1" \
	>"$T/tcp.log" 2>&1 &
tcp_pid=$!
rg_at_stop "kill -TERM $tcp_pid 2>/dev/null; wait $tcp_pid 2>/dev/null"
RG_EXTRA_LOGS="$T/tcp.log"
rg__wait_listen "$TCP_PORT" "$tcp_pid" 10 || rg_fail "no TCP daemon"
out=$("$ML" -x -c 1 -n 1 -f a@far.example -t user@ours.example "inet:$TCP_PORT@127.0.0.1") || rg_fail "milterload on TCP: $out"
p=$(proto "$out")
for f in NR_HELO NODATA NR_BODY; do
	[ $((p & ${!f})) = 0 ] || rg_fail "TCP: $f negotiated (proto=$p): a TCP stall"
done
[ $((p & NR_HDR)) != 0 ] || rg_fail "TCP: NR_HDR not negotiated (proto=$p)"
echo "ok: TCP keeps the replies at HELO, DATA and body chunks"

# a 300 KB body: five 64 KB chunks, no reply to any; the link in the last
# one still counts
body() {
	printf 'From: a@far.example\r\nTo: user@ours.example\r\nSubject: %s\r\n\r\n' "$1"
	for i in $(seq 1 4000); do
		printf 'line %05d of a long message, nothing to see here at all\r\n' "$i"
	done
	printf '%s\r\n' "$2"
}
body listed 'see http://listed-site.com/offer' >"$T/listed.eml"
body clean 'see http://clean-site.example/' >"$T/clean.eml"
rg_send --from a@far.example --to user@ours.example --xclient-addr 192.0.2.7 \
	--data "$T/listed.eml" || true
rg_assert_contains "$T/last.out" '^<\*\* +554 5\.7\.1 '
rg_send --from a@far.example --to user@ours.example --xclient-addr 192.0.2.7 \
	--data "$T/clean.eml" || rg_fail "clean message refused"
qid=$(sed -n 's/^<- *250 2\.0\.0 Ok: queued as \([0-9A-Za-z]*\).*/\1/p' "$T/last.out")
[ -n "$qid" ] || rg_fail "no queue id in the SMTP reply"
rg_wait_sink 1
f=$(grep -l 'Subject: clean' "$T"/sink/* | head -1)
[ -n "$f" ] || rg_fail "clean message not at the sink"
grep -q '^Authentication-Results: mx.relayguard.test' "$f" || rg_fail "no Authentication-Results"
[ "$(grep -c '^line ' "$f")" = 4000 ] || rg_fail "body lines lost at the sink"
rg_log_grep 'verdict=reject.*surbl' >/dev/null || rg_fail "no SURBL reject logged"
# the queue id reached the summary line without the DATA stage
rg_wait_log "$qid: verdict=accept "
echo "ok: long bodies over the unix socket (qid $qid)"
rg_harness_stop

# the core tests again, over the unix socket
failed=""
for t in pass relay dkim authres badinput content sendmail; do
	if RG_MILTER_UNIX=1 bash "$RG_LIB_DIR/t_$t.sh" >"$T.$t.out" 2>&1; then
		echo "ok: t_$t over the unix socket"
	else
		tail -n 30 "$T.$t.out"
		failed+=" t_$t"
	fi
	rm -f "$T.$t.out"
done
[ -z "$failed" ] || rg_fail "over the unix socket:$failed"
exit 0
