#!/bin/bash
# t_content.sh - attachment types and header sanity, through the real
# Postfix: an .exe with an RFC 2231 encoded name and a double extension
# inside a nested multipart are refused with 554 5.7.1 naming the file;
# two From fields and a missing From get 554 5.6.0 (header_action =
# reject); a repeated Subject is delivered with X-Relayguard-Header
# (header_duplicate_action = tag); a clean message with links and a PDF
# attachment arrives, its links looked up and found clean.
. "$(dirname "$0")/lib.sh"

DATA=$RG_TOP_DIR/tests/data/content
RG_CONF='surbl_sites = multi.surbl.test'
# Postfix's cleanup adds a missing From (the envelope sender) before the
# milter sees the header, for clients that match local_header_rewrite_
# clients; its default, permit_inet_interfaces, matches these XCLIENT
# sessions from 127.0.0.1. Match no client, as on a relay for others.
RG_POSTFIX_EXTRA='local_header_rewrite_clients ='
rg_harness_start

# send FILE - a prepared message from an outside client
send() {
	rg_send --from sender@far.example --to user@ours.example \
		--xclient-addr 192.0.2.7 --data "$1" || true
}

send "$DATA/exe-rfc2231.eml"
rg_assert_contains -F "$T/last.out" '<** 554 5.7.1 Attachment "Invoice Nr. 42.pdf.exe" refused: file type .exe is not allowed'

send "$DATA/nested-double-ext.eml"
rg_assert_contains -F "$T/last.out" '<** 554 5.7.1 Attachment "Statement.PDF.scr" refused: file type .scr is not allowed'
rg_wait_log 'attachment=".scr in part 2\.2"'

send "$DATA/two-from.eml"
rg_assert_contains -F "$T/last.out" '<** 554 5.6.0 Message header rejected: 2 From header fields'

send "$DATA/no-from.eml"
rg_assert_contains -F "$T/last.out" '<** 554 5.6.0 Message header rejected: no From header field'

send "$DATA/dup-subject.eml"
rg_assert_contains -F "$T/last.out" 'queued as'

# swaks builds the multipart: a text part with links, a PDF attachment
printf '%%PDF-1.4\n%% minutes\n' >"$T/minutes.pdf"
rg_send --from sender@far.example --to user@ours.example --xclient-addr 192.0.2.7 \
	--header 'Subject: content clean with pdf' \
	--body 'Minutes: https://docs.clean-site.com/m and www.example.net/slides' \
	--attach-type application/pdf --attach "$T/minutes.pdf" || true
rg_assert_contains -F "$T/last.out" 'queued as'
rg_wait_log 'surbl=clean\(2\)'

rg_wait_sink 2
for s in "content exe rfc2231" "content nested double extension" \
	"content two from" "content no from"; do
	rg_sink_grep -F "Subject: $s" >/dev/null && rg_fail "'$s' reached the sink"
done
for s in "content duplicate subject" "content clean with pdf"; do
	rg_sink_grep -F "Subject: $s" >/dev/null || rg_fail "'$s' missing at the sink"
done
f=$(grep -l -F 'Subject: content duplicate subject' "$T"/sink/* | head -1)
grep -q '^X-Relayguard-Header: 2 Subject header fields' "$f" ||
	rg_fail "no X-Relayguard-Header in the tagged message: $(head -30 "$f")"
f=$(grep -l -F 'Subject: content clean with pdf' "$T"/sink/* | head -1)
grep -q 'minutes\.pdf' "$f" || rg_fail "the PDF attachment did not arrive"
grep -q '^X-Relayguard-' "$f" && rg_fail "the clean message was tagged"
rg_log_grep -F 'check=attachment' >/dev/null || rg_fail "no check=attachment in the summary lines"
rg_log_grep -F 'check=header' >/dev/null || rg_fail "no check=header in the summary lines"
exit 0
