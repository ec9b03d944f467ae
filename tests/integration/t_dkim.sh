#!/bin/bash
# t_dkim.sh - DKIM through the real Postfix, keys served by the harness's
# unbound: messages signed by an independent signer (dkimpy) verify as
# pass (rsa-sha256 and ed25519-sha256, relaxed and simple), a changed body
# as fail, an unpublished key as permerror; an aligned DKIM pass satisfies
# DMARC p=reject and a broken one does not; mail a logged-in user submits
# arrives signed (RSA and Ed25519) and dkimpy verifies both signatures.
# The RSA key, the same for every RSA signature here, is decoded once and
# then reused (relayguard_dkim_key_cache_*: the daemon's d2i_PUBKEY_bio is
# the one libopendkim calls).
. "$(dirname "$0")/lib.sh"

bin_dir=$(dirname "${RG_BIN:-$RG_TOP_DIR/build/relayguard}")
tool=$bin_dir/tests/unit/dkim_test
py=$RG_LIB_DIR/dkim_interop.py
[ -x "$tool" ] || rg_fail "$tool not built"
/usr/bin/python3 -c 'import dkim, nacl' 2>/dev/null || rg_fail "python3-dkim is not installed"

K=$(mktemp -d /tmp/rgdkimkeys.XXXXXX)
trap 'rm -rf "$K"' EXIT
chmod 755 "$K"
mkdir "$K/pub"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.pem" 2>/dev/null ||
	rg_fail "openssl genpkey rsa"
openssl genpkey -algorithm ed25519 -out "$K/ed.pem" 2>/dev/null || rg_fail "openssl genpkey ed25519"
openssl pkey -in "$K/ed.pem" -outform DER | tail -c 32 | base64 >"$K/ed.seed"
# private keys: not readable by others, readable by the daemon's user
chmod 600 "$K/rsa.pem" "$K/ed.pem" "$K/ed.seed"
chown nobody "$K/rsa.pem" "$K/ed.seed"
# the public records, for every domain of this test
for d in plain.test strict.test ours.example; do
	printf 'dkim_sign = %s rsa %s/rsa.pem, %s ed %s/ed.seed\n' "$d" "$K" "$d" "$K" >"$K/rec.conf"
	"$tool" records "$K/rec.conf" "$K/pub" || rg_fail "could not write key records"
done
for f in "$K"/pub/*; do
	# TXT strings are at most 255 octets: split the record
	rg_dns_add "$(basename "$f"). 300 IN TXT $(fold -w 200 "$f" | sed 's/.*/"&"/' | tr '\n' ' ')"
done
rg_dns_add '_dmarc.strict.test. 300 IN TXT "v=DMARC1; p=reject"'
rg__pick_port || rg_fail "no free port for metrics"
MPORT=$RG__PORT
RG_CONF="dkim_sign = ours.example rsa $K/rsa.pem, ours.example ed $K/ed.seed
metrics_listen = 127.0.0.1:$MPORT"
rg_harness_start
trap 'rg_harness_stop; rm -rf "$K"' EXIT

# message FROM-DOMAIN SUBJECT > file
message() {
	printf 'From: Alice <alice@%s>\r\nTo: user@ours.example\r\nSubject: %s\r\n' "$1" "$2"
	printf 'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <%s@%s>\r\n\r\n' "$2" "$1"
	printf 'Hello Bob,\r\n  a line   with spaces  \r\n\r\n'
}
# pysign DOMAIN SELECTOR ALG CANON SUBJECT > signed message
pysign() {
	local key=$K/rsa.pem
	[ "$3" = ed25519-sha256 ] && key=$K/ed.seed
	message "$1" "$5" | /usr/bin/python3 "$py" sign "$key" "$1" "$2" "$3" "$4"
}
# send FILE: from an untrusted client, envelope from an unrelated domain
send() {
	rg_send --from a@far.example --to user@ours.example --xclient-addr 192.0.2.7 --data "$1"
}
authres_of() {
	grep -l -F "Subject: $1" "$T"/sink/* | head -1 | xargs grep -A6 '^Authentication-Results: mx.relayguard.test'
}

n=0
for v in "rsa rsa-sha256 relaxed/relaxed" "rsa rsa-sha256 simple/simple" \
	"ed ed25519-sha256 relaxed/relaxed" "ed ed25519-sha256 simple/simple"; do
	set -- $v
	pysign plain.test "$1" "$2" "$3" "verify-$1-${3%%/*}-${3##*/}" >"$K/m$n"
	send "$K/m$n"
	rg_assert_contains -F "$T/last.out" 'queued as'
	n=$((n + 1))
done
pysign plain.test rsa rsa-sha256 relaxed/relaxed tampered | sed 's/Hello Bob/Hello Eve/' >"$K/tampered"
send "$K/tampered"
pysign plain.test nokey rsa-sha256 relaxed/relaxed nokey >"$K/nokey"
send "$K/nokey"
pysign strict.test rsa rsa-sha256 relaxed/relaxed aligned >"$K/aligned"
send "$K/aligned"
rg_assert_contains -F "$T/last.out" 'queued as'
pysign strict.test rsa rsa-sha256 relaxed/relaxed broken | sed 's/Hello Bob/Hello Eve/' >"$K/broken"
send "$K/broken"
rg_assert_contains "$T/last.out" '^<\*\* +550 5\.7\.1 Email rejected per DMARC policy for strict\.test'

rg_wait_sink 7
for s in verify-rsa-relaxed-relaxed verify-rsa-simple-simple; do
	authres_of "$s" | grep -q 'dkim=pass header.d=plain.test header.s=rsa header.a=rsa-sha256' ||
		rg_fail "$s: $(authres_of "$s")"
done
for s in verify-ed-relaxed-relaxed verify-ed-simple-simple; do
	authres_of "$s" | grep -q 'dkim=pass header.d=plain.test header.s=ed header.a=ed25519-sha256' ||
		rg_fail "$s: $(authres_of "$s")"
done
authres_of tampered | grep -q 'dkim=fail' || rg_fail "tampered: $(authres_of tampered)"
authres_of nokey | grep -q 'dkim=permerror' || rg_fail "nokey: $(authres_of nokey)"
authres_of aligned | grep -q 'dmarc=pass (p=reject dis=none) header.from=strict.test' ||
	rg_fail "aligned: $(authres_of aligned)"

# one RSA key behind five RSA signatures (plain.test and strict.test
# publish the same one): decoded once, reused after
curl -sf -o "$K/metrics" "http://127.0.0.1:$MPORT/metrics" || rg_fail "no metrics"
hits=$(awk '$1 == "relayguard_dkim_key_cache_hits_total" { print $2 }' "$K/metrics")
misses=$(awk '$1 == "relayguard_dkim_key_cache_misses_total" { print $2 }' "$K/metrics")
[ -n "$hits" ] && [ "$hits" -ge 3 ] && [ -n "$misses" ] && [ "$misses" -le 2 ] ||
	rg_fail "DKIM key cache: hits '$hits' misses '$misses', want >= 3 and <= 2"
echo "ok: DKIM key cache hits=$hits misses=$misses"

# signing: a logged-in user's mail arrives with both signatures, and
# dkimpy verifies them against the published keys
rg_send --from alice@ours.example --to bob@far.example --xclient-addr 192.0.2.7 \
	--xclient-login alice --data "$(message ours.example signed-by-us)" ||
	rg_fail "submission refused"
rg_wait_sink 8
f=$(grep -l -F 'Subject: signed-by-us' "$T"/sink/*)
[ "$(grep -c '^DKIM-Signature:' "$f")" = 2 ] || rg_fail "want 2 DKIM-Signature fields: $(grep -A1 DKIM-Sig "$f")"
# the sink's own trace fields sit above ours; dkimpy verifies the message
# as the next hop received it
sed -n '/^DKIM-Signature:/,$p' "$f" >"$K/out"
got=$(/usr/bin/python3 "$py" verify "$K/pub" <"$K/out" | tr '\n' ' ')
[ "$got" = "pass pass " ] || rg_fail "dkimpy on relayguard's signatures: $got"
rg_log_grep -F 'dkim_signed=2' >/dev/null || rg_fail "signing not in the summary line"
exit 0
