#!/bin/bash
# t_dkim_interop.sh - relayguard's DKIM module against an independent
# implementation, dkimpy (Debian's python3-dkim): what we sign, dkimpy
# verifies, and what dkimpy signs, we verify; rsa-sha256 and
# ed25519-sha256, relaxed and simple. No Postfix and no DNS: keys are
# files. The module is driven by the unit test binary in driver mode
# (tests/unit/dkim_test.c), found next to $RG_BIN.
. "$(dirname "$0")/lib.sh"

bin_dir=$(dirname "${RG_BIN:-$RG_TOP_DIR/build/relayguard}")
tool=$bin_dir/tests/unit/dkim_test
py=$RG_LIB_DIR/dkim_interop.py
[ -x "$tool" ] || rg_skip "$tool not built"
/usr/bin/python3 -c 'import dkim, nacl' 2>/dev/null ||
	rg_skip "python3-dkim is not installed"
command -v openssl >/dev/null || rg_skip "openssl is not installed"

T=$(mktemp -d /tmp/rgdkim.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir "$T/keys"

# Keys: RSA as PEM; Ed25519 as the base64 seed dkimpy reads, which the
# module reads too.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null ||
	rg_fail "openssl genpkey rsa"
openssl genpkey -algorithm ed25519 -out "$T/ed.pem" 2>/dev/null || rg_fail "openssl genpkey ed25519"
openssl pkey -in "$T/ed.pem" -outform DER | tail -c 32 | base64 >"$T/ed.seed"
chmod 600 "$T/rsa.pem" "$T/ed.pem" "$T/ed.seed"

message() {
	printf 'From: Alice <alice@example.com>\r\n'
	printf 'To: bob@example.net\r\n'
	printf 'Subject: interop %s\r\n\t folded\r\n' "$1"
	printf 'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n'
	printf 'Message-ID: <%s@example.com>\r\n' "$1"
	printf 'X-Other:   spaced    value  \r\n'
	printf '\r\n'
	printf 'Hello Bob,\r\n  a line   with spaces  \r\n\r\n\r\n'
}

for canon in relaxed/relaxed simple/simple relaxed/simple; do
	cat >"$T/relayguard.conf" <<EOF
dkim_sign = example.com rsa $T/rsa.pem, example.com ed $T/ed.seed
dkim_canonicalization = $canon
EOF
	"$tool" records "$T/relayguard.conf" "$T/keys" || rg_fail "records"

	# relayguard signs, dkimpy verifies both signatures
	message "rg-$canon" | "$tool" sign "$T/relayguard.conf" alice@example.com \
		>"$T/signed" || rg_fail "relayguard could not sign ($canon)"
	[ "$(grep -ci '^DKIM-Signature:' "$T/signed")" = 2 ] ||
		rg_fail "expected two signatures ($canon)"
	got=$(/usr/bin/python3 "$py" verify "$T/keys" <"$T/signed" | tr '\n' ' ')
	[ "$got" = "pass pass " ] || rg_fail "dkimpy on relayguard's $canon signatures: $got"
	echo "ok: dkimpy verifies relayguard ($canon): $got"

	# tampered: dkimpy must see the failure too
	sed 's/Hello Bob/Hello Eve/' "$T/signed" >"$T/tampered"
	got=$(/usr/bin/python3 "$py" verify "$T/keys" <"$T/tampered" | tr '\n' ' ')
	case $got in fail*fail*) ;; *) rg_fail "dkimpy passed a tampered message: $got" ;; esac

	# dkimpy signs, relayguard verifies
	for alg in rsa-sha256 ed25519-sha256; do
		key=$T/rsa.pem sel=rsa
		[ "$alg" = ed25519-sha256 ] && key=$T/ed.seed sel=ed
		message "py-$alg-$canon" | /usr/bin/python3 "$py" sign "$key" example.com \
			"$sel" "$alg" "$canon" >"$T/pysigned" || rg_fail "dkimpy could not sign"
		got=$("$tool" verify "$T/keys" <"$T/pysigned")
		case $got in
		"pass d=example.com s=$sel a=$alg ()") ;;
		*) rg_fail "relayguard on dkimpy's $alg $canon signature: $got" ;;
		esac
		echo "ok: relayguard verifies dkimpy ($alg, $canon)"
		sed 's/Hello Bob/Hello Eve/' "$T/pysigned" >"$T/tampered"
		got=$("$tool" verify "$T/keys" <"$T/tampered")
		case $got in
		"fail d=example.com s=$sel a=$alg (body hash mismatch)") ;;
		*) rg_fail "relayguard on tampered dkimpy $alg $canon message: $got" ;;
		esac
	done
done
echo "dkim interop: all passed"
