#!/bin/bash
# t_badinput.sh - malformed and oversized mail through the real Postfix
# with every parser of relayguard at work (MIME and link scan, SURBL,
# attachment and header checks, DKIM verification of an outside client):
# a 1 MiB header line, 10,000 header fields, a 20 MB body, 1,000
# recipients, NUL bytes, bare CR and LF, invalid UTF-8, unterminated MIME
# boundaries, 100-deep multipart nesting, broken base64, header lines
# without a colon and an empty message. badmail.py writes them at test
# time; smtp_probe.py sends them byte for byte.
#
# Each gets a clear answer: 250 and exactly one copy at the sink, or a
# 4xx/5xx reply with an enhanced status code of the same class, and the
# code expected for that input (EXPECT below). Each gets exactly one
# summary line in relayguard's log. After each, relayguard still runs, and
# its resident memory (VmRSS, and VmHWM at the end) stays below
# RG_RSS_LIMIT_KB (64 MiB; 256 MiB for a sanitizer build). A plain
# message at the end is delivered with relayguard's
# Authentication-Results: it still answers.
. "$(dirname "$0")/lib.sh"

PROBE="/usr/bin/python3 $RG_TOP_DIR/tests/integration/smtp_probe.py"
CLIENT=192.0.2.44

# The reply each input must get (extended regular expression on
# "CODE ENHANCED"). Why each is right:
#   longhdr   with any filter configured (even one that is down), Postfix
#             cuts the 1 MiB field to about 60 KB before the filter sees
#             it, and the queue file keeps the cut copy: a long but legal
#             header, delivered
#   bighdr    1.2 MB of header > max_header_bytes (1m): 554 5.6.0
#   manyhdrs  10,000 fields > max_headers (1000): header check, 554 5.6.0
#   empty     no From field (RFC 5322 3.6): header check, 554 5.6.0
#   nocolon   Postfix ends the header at the first line without a colon;
#             From is above it, so the message is whole: delivered
#   mime_unterminated  boundaries never closed; the .exe part after them
#             is still found: 554 5.7.1
#   mime_deep 100 levels, over mime_max_depth (32): the levels below are
#             read flat, and the .exe at the bottom is found: 554 5.7.1
#   the rest  well-formed enough to deliver; the parsers must cope
declare -A EXPECT=(
	[longhdr]='250 2\.0\.0'
	[bighdr]='554 5\.6\.0'
	[manyhdrs]='554 5\.6\.0'
	[bigbody]='250 2\.0\.0'
	[rcpts]='250 2\.0\.0'
	[nul]='250 2\.0\.0'
	[bare]='250 2\.0\.0'
	[badutf8]='250 2\.0\.0'
	[mime_unterminated]='554 5\.7\.1'
	[mime_deep]='554 5\.7\.1'
	[base64_garbage]='250 2\.0\.0'
	[nocolon]='250 2\.0\.0'
	[empty]='554 5\.6\.0'
)

RG_CONF='authserv_id = mx.relayguard.test
surbl_sites = multi.surbl.test
dkim_verify = yes
dns_timeout = 2s'
# Postfix's own limits above the inputs, so that relayguard sees them
# whole: a 20 MB message, a 1 MiB header field (header_size_limit), 1,000
# recipients, and all of them in one delivery to the sink. No missing From is filled in for these clients (as on a
# relay for others), so the empty message reaches relayguard as it is.
RG_POSTFIX_EXTRA='message_size_limit = 31457280
mailbox_size_limit = 0
virtual_mailbox_limit = 0
header_size_limit = 4194304
smtpd_recipient_limit = 1000
default_destination_recipient_limit = 1000
local_header_rewrite_clients ='
rg_harness_start
# a sanitizer build keeps shadow memory and a quarantine of freed blocks:
# its bound is 256 MiB (a run peaked at 83 MB where the plain build
# peaked at 15 MB)
if grep -qa __asan_init "$RG_BIN"; then
	RSS_LIMIT_KB=${RG_RSS_LIMIT_KB:-262144}
else
	RSS_LIMIT_KB=${RG_RSS_LIMIT_KB:-65536}
fi

start=$(date +%s)
/usr/bin/python3 "$RG_TOP_DIR/tests/integration/badmail.py" "$T/in" >"$T/cases" ||
	rg_fail "badmail.py failed"
echo "inputs made in $(($(date +%s) - start))s: $(du -sh "$T/in" | cut -f1)"

# rss_kb FIELD - a field of relayguard's /proc status, in kB
rss_kb() {
	awk -v f="$1:" '$1 == f { print $2 }' "/proc/$RG_MILTER_PID/status"
}

# check_alive CASE - relayguard runs and stays below the memory bound
check_alive() {
	local rss
	[ -n "$(rg_milter_pid)" ] || rg_fail "$1: relayguard died"
	rss=$(rss_kb VmRSS)
	[ "$rss" -lt "$RSS_LIMIT_KB" ] ||
		rg_fail "$1: relayguard VmRSS ${rss} kB >= ${RSS_LIMIT_KB} kB"
	echo "  VmRSS after $1: $rss kB"
}

delivered=0
while read -r c; do
	t0=$(date +%s.%N)
	if [ "$c" = rcpts ]; then
		seq -f 'r%g@ours.example' 1000
	else
		echo user@ours.example
	fi >"$T/rcpts.$c"
	$PROBE "$RG_SMTP_PORT" "bi-$c@far.example" --xclient "ADDR=$CLIENT" \
		--data-file "$T/in/$c.eml" <"$T/rcpts.$c" >"$T/out.$c" 2>"$T/err.$c" ||
		rg_fail "$c: probe failed: $(tail -3 "$T/err.$c")"
	took=$(echo "$(date +%s.%N) - $t0" | bc)
	line=$(grep -P '^DATA\t' "$T/out.$c") || rg_fail "$c: no DATA reply"
	code=$(cut -f2 <<<"$line")
	enh=$(cut -f3 <<<"$line")
	printf '%-18s %s %s (%.1fs) %s\n' "$c" "$code" "$enh" "$took" "$(cut -f4 <<<"$line" | cut -c1-90)"
	# a clear answer: a code, and an enhanced code of the same class
	[[ "$code" =~ ^[245][0-9][0-9]$ ]] || rg_fail "$c: no SMTP answer ($line)"
	[[ "$enh" =~ ^${code:0:1}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
		rg_fail "$c: reply $code without a matching enhanced status code ($line)"
	[[ "$code $enh" =~ ^${EXPECT[$c]}$ ]] ||
		rg_fail "$c: got '$code $enh', want '${EXPECT[$c]}'"
	if [ "$c" = rcpts ]; then
		n=$(grep -cP '^250\t2\.1\.5\t' "$T/out.rcpts")
		[ "$n" = 1000 ] || rg_fail "rcpts: $n of 1000 recipients accepted"
	fi
	if [ "$code" = 250 ]; then
		delivered=$((delivered + 1))
		rg_wait_sink "$delivered" 60
		n=$(grep -l -F "X-Test-Id: $c" "$T"/sink/* | wc -l)
		[ "$n" = 1 ] || rg_fail "$c: $n copies at the sink, want 1"
		if [ "$c" = rcpts ]; then
			f=$(grep -l -F "X-Test-Id: $c" "$T"/sink/*)
			n=$(grep -c '^X-Rcpt-Args: <r[0-9]*@ours.example>' "$f")
			[ "$n" = 1000 ] || rg_fail "rcpts: $n of 1000 recipients at the sink"
		fi
	fi
	# exactly one summary line for the transaction
	rg_wait_log -F "from=<bi-$c@far.example>" 10
	n=$(grep -c -F "from=<bi-$c@far.example>" "$T/relayguard.log")
	[ "$n" = 1 ] || rg_fail "$c: $n summary lines, want 1"
	check_alive "$c"
done <"$T/cases"

# the depth cap that mime_deep hit is named in the log
rg_log_grep -F 'content: not every part was looked at (mime_max_depth); attachment' >/dev/null ||
	rg_fail "mime_deep: no log line naming mime_max_depth"
# the long recipient list is cut in the summary line, with a count
rg_log_grep -F '+990 more' >/dev/null || rg_fail "rcpts: summary line does not count the rest"

# still answering, and still adding its header
rg_send --from a@far.example --to b@ours.example --xclient-addr "$CLIENT" \
	--header 'Subject: badinput control' --body 'after all that' ||
	rg_fail "control message refused: $(tail -3 "$T/last.out")"
delivered=$((delivered + 1))
rg_wait_sink "$delivered" 20
f=$(grep -l -F 'Subject: badinput control' "$T"/sink/*)
grep -q '^Authentication-Results: mx.relayguard.test;' "$f" ||
	rg_fail "control message without relayguard's Authentication-Results"
check_alive control
hwm=$(rss_kb VmHWM)
echo "relayguard peak RSS (VmHWM) $hwm kB, limit $RSS_LIMIT_KB kB; $delivered delivered; $(($(date +%s) - start))s"
[ "$hwm" -lt "$RSS_LIMIT_KB" ] || rg_fail "relayguard VmHWM $hwm kB >= $RSS_LIMIT_KB kB"
rg_wait_queue_empty 20
exit 0
