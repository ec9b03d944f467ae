/*
 * dkim_test.c - DKIM verification through libopendkim with a fake
 * resolver (dkimtest.h): sign-then-verify round trips (rsa-sha256,
 * ed25519-sha256; relaxed and simple), tampering, missing keys and DNS
 * failures, CNAME replies, RFC 8301 policy results, several signatures,
 * and malformed input that must not crash.
 *
 * With arguments it is the driver of tests/integration/t_dkim_interop.sh:
 *   dkim_test sign CONF FROM      sign the message on stdin; print it signed
 *   dkim_test verify KEYDIR       verify stdin; one result line per signature
 *   dkim_test records CONF DIR    write DIR/<selector>._domainkey.<domain>
 * KEYDIR holds one file per key record, named as the DNS name.
 */
#include "dkimtest.h"

/* --- round trips -------------------------------------------------------------- */

static void
test_roundtrip(void)
{
	static const char *const canons[] = { "relaxed/relaxed", "simple/simple",
	    "relaxed/simple", "simple/relaxed", "relaxed", "simple" };
	struct rg_dkim_results r;
	struct tmsg m;

	for (size_t i = 0; i < sizeof(canons) / sizeof(canons[0]); i++) {
		struct rg_conf *c = load("dkim_sign = example.com rsa %s\n"
		    "dkim_canonicalization = %s\n", rsa_pem, canons[i]);

		publish(c);
		RGT_CASE(canons[i]);
		fake_calls = 0;
		sign_verify(c, &m, &r, 1);
		check_one(&r, RG_DKIM_PASS, "");
		RGT_CHECK(fake_calls == 1, "the key came through the hook: %d calls",
		    fake_calls);
		if (r.n == 1) {
			RGT_STREQ(r.sig[0].domain, "example.com");
			RGT_STREQ(r.sig[0].selector, "rsa");
			RGT_STREQ(r.sig[0].algorithm, "rsa-sha256");
			RGT_INTEQ(r.sig[0].keybits, 2048);
			RGT_CHECK(strlen(r.sig[0].b) >= RG_DKIM_HEADER_B_MIN,
			    "header.b \"%s\" is short", r.sig[0].b);
			RGT_CHECK(strncmp(sig_b(m.value[0]), r.sig[0].b,
			    strlen(r.sig[0].b)) == 0, "header.b %s is not the start of "
			    "b=%s", r.sig[0].b, sig_b(m.value[0]));
		}
		RGT_CONTAINS(m.value[0], strchr(canons[i], '/') ? canons[i] :
		    strcmp(canons[i], "relaxed") == 0 ? "c=relaxed/simple" :
		    "c=simple/simple");
		rg_dkim_results_release(&r);
		tmsg_free(&m);
		rg_conf_release(c);
	}

	for (size_t i = 0; i < sizeof(canons) / sizeof(canons[0]); i++) {
		struct rg_conf *c = load("dkim_sign = example.com ed %s\n"
		    "dkim_canonicalization = %s\n", ed_pem, canons[i]);

		RGT_CASE(canons[i]);

		publish(c);
		sign_verify(c, &m, &r, 1);
		check_one(&r, RG_DKIM_PASS, "");
		if (r.n == 1) {
			RGT_STREQ(r.sig[0].algorithm, "ed25519-sha256");
			RGT_INTEQ(r.sig[0].keybits, 256);
		}
		RGT_CONTAINS(m.value[0], "a=ed25519-sha256");
		/* unfolded by the library for simple headers, folded by us */
		RGT_CHECK(strchr(sig_b_tag(m.value[0]), '\n') != NULL,
		    "b= not folded: %s", m.value[0]);
		rg_dkim_results_release(&r);
		tmsg_free(&m);
		rg_conf_release(c);
	}
}

static void
test_two_signatures(void)
{
	struct rg_conf *c = load("dkim_sign = example.com rsa %s, example.com ed %s,"
	    " example.net other %s\ndkim_canonicalization = simple/simple\n",
	    rsa_pem, ed_pem, rsa_pem);
	struct rg_dkim_results r;
	struct rg_buf sum = RG_BUF_INIT;
	struct tmsg m;

	publish(c);
	RGT_CASE("an RSA and an Ed25519 key for one domain: two signatures");
	sign_verify(c, &m, &r, 2);
	RGT_INTEQ(r.n, 2);
	if (r.n == 2) {
		RGT_INTEQ(r.sig[0].result, RG_DKIM_PASS);
		RGT_INTEQ(r.sig[1].result, RG_DKIM_PASS);
		RGT_CHECK(strcmp(r.sig[0].selector, r.sig[1].selector) != 0,
		    "the same selector twice");
		RGT_CHECK(strcmp(r.sig[0].b, r.sig[1].b) != 0, "header.b not unique");
	}
	rg_dkim_results_summary(&r, &sum);
	RGT_STREQ(rg_buf_cstr(&sum), "pass:example.com,pass:example.com");
	rg_dkim_results_release(&r);

	RGT_CASE("body changed: both fail, body hash");
	rg_buf_puts(&m.body, "P.S. added later\r\n");
	verify(c, &m, &r);
	RGT_INTEQ(r.n, 2);
	for (size_t i = 0; i < r.n; i++) {
		RGT_INTEQ(r.sig[i].result, RG_DKIM_FAIL);
		RGT_STREQ(r.sig[i].reason, "body hash mismatch");
	}
	rg_dkim_results_release(&r);
	tmsg_free(&m);
	rg_buf_release(&sum);
	rg_conf_release(c);
}

static void
test_tampering(void)
{
	struct rg_conf *c = load("dkim_sign = example.com rsa %s\n", rsa_pem);
	struct rg_dkim_results r;
	struct tmsg m;

	publish(c);
	RGT_CASE("tampered body");
	sign_verify(c, &m, &r, 1);
	rg_dkim_results_release(&r);
	m.body.data[0] = 'J';		/* Hello -> Jello */
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_FAIL, "body hash mismatch");
	rg_dkim_results_release(&r);
	tmsg_free(&m);

	RGT_CASE("tampered signed header");
	sign_verify(c, &m, &r, 1);
	rg_dkim_results_release(&r);
	tmsg_set(&m, "Subject", " a different subject");
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_FAIL, "signature verification failed");
	rg_dkim_results_release(&r);
	tmsg_free(&m);

	RGT_CASE("unsigned header changed: still pass");
	sign_verify(c, &m, &r, 1);
	rg_dkim_results_release(&r);
	tmsg_set(&m, "Received", " from elsewhere");
	tmsg_add(&m, "X-Added", " later", 0);
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PASS, "");
	rg_dkim_results_release(&r);
	tmsg_free(&m);

	RGT_CASE("From oversigned: a second From breaks the signature");
	sign_verify(c, &m, &r, 1);
	rg_dkim_results_release(&r);
	RGT_CHECK(strstr(m.value[0], "From:") != NULL ||
	    strstr(m.value[0], "from:") != NULL, "h= lists From: %s", m.value[0]);
	tmsg_add(&m, "From", " mallory@example.org", 0);
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_FAIL, NULL);
	rg_dkim_results_release(&r);
	tmsg_free(&m);
	rg_conf_release(c);
}

static void
test_keys_and_dns(void)
{
	struct rg_conf *c = load("dkim_sign = example.com rsa %s\n", rsa_pem);
	static const struct {
		const char *name;
		enum fake_kind kind;
		enum rg_dkim_result want;
		const char *reason;
	} cases[] = {
		{ "DNS timeout", FK_TEMPFAIL, RG_DKIM_TEMPERROR, "key lookup failed" },
		{ "SERVFAIL reply", FK_SERVFAIL, RG_DKIM_TEMPERROR, "key lookup failed" },
		{ "short reply", FK_SHORT, RG_DKIM_TEMPERROR, "key lookup failed" },
		{ "no TXT record", FK_NODATA, RG_DKIM_PERMERROR, "no key for signature" },
		{ "revoked key (p=)", FK_TXT, RG_DKIM_PERMERROR, "key revoked" },
	};
	struct rg_dkim_results r;
	struct tmsg m;
	size_t saved;

	fake_truncate(0);
	saved = nfake;
	RGT_CASE("missing key: NXDOMAIN");
	sign_verify(c, &m, &r, 1);	/* nothing published yet */
	check_one(&r, RG_DKIM_PERMERROR, "no key for signature");
	rg_dkim_results_release(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RGT_CASE(cases[i].name);
		fake_truncate(saved);
		fake_add("rsa._domainkey.example.com", cases[i].kind,
		    "v=DKIM1; k=rsa; p=");
		verify(c, &m, &r);
		check_one(&r, cases[i].want, cases[i].reason);
		rg_dkim_results_release(&r);
	}
	RGT_CASE("key record of the wrong type");
	fake_truncate(saved);
	fake_add("rsa._domainkey.example.com", FK_TXT,
	    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PERMERROR, NULL);
	rg_dkim_results_release(&r);
	RGT_CASE("key record that is not a key");
	fake_truncate(saved);
	fake_add("rsa._domainkey.example.com", FK_TXT, "v=spf1 -all");
	verify(c, &m, &r);
	RGT_INTEQ(r.n, 1);
	RGT_CHECK(r.n == 1 && r.sig[0].result == RG_DKIM_PERMERROR, "got %s",
	    r.n ? rg_dkim_result_name(r.sig[0].result) : "nothing");
	rg_dkim_results_release(&r);

	RGT_CASE("per-message resolver wins over the default");
	fake_truncate(saved);
	publish(c);
	{
		struct rg_dkim_verify *v = rg_dkim_verify_new(c, "Q");
		int calls = 0;

		rg_dkim_verify_set_resolver(v, always_tempfail, &calls);
		for (size_t i = 0; i < m.n; i++)
			rg_dkim_verify_header(v, m.name[i], m.value[i]);
		rg_dkim_verify_body(v, m.body.data, m.body.len);
		RGT_INTEQ(rg_dkim_verify_eom(v, &r), RG_DKIM_OK);
		check_one(&r, RG_DKIM_TEMPERROR, "key lookup failed");
		RGT_INTEQ(calls, 1);
		rg_dkim_results_release(&r);
		rg_dkim_verify_free(v);
	}
	RGT_CASE("no resolver at all: temperror, no DNS of libopendkim's own");
	rg_dkim_set_resolver(NULL, NULL);
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_TEMPERROR, "key lookup failed");
	rg_dkim_results_release(&r);
	rg_dkim_set_resolver(fake_lookup, NULL);
	tmsg_free(&m);
	rg_conf_release(c);
}

/* raw_sign - a signature made with libopendkim directly, for what our
 * signer refuses to make (rsa-sha1, 512-bit keys) */
static void
raw_sign(const char *pem_path, const char *sel, dkim_alg_t alg, struct tmsg *m)
{
	char *pem = dk_slurp(pem_path);
	struct rg_buf f = RG_BUF_INIT;
	unsigned char *hdr;
	size_t len;
	DKIM_STAT st;
	DKIM *d = dkim_sign(rg_dkim_lib(), (const unsigned char *)"raw", NULL,
	    (dkim_sigkey_t)pem, (const unsigned char *)sel,
	    (const unsigned char *)"example.com", DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, alg, -1, &st);

	RGT_CHECK(d != NULL, "dkim_sign: %d", st);
	if (d == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		rg_dkim_field(&f, m->name[i], m->value[i], 1);
		(void)dkim_header(d, (unsigned char *)f.data, f.len);
	}
	(void)dkim_eoh(d);
	(void)dkim_body(d, (unsigned char *)m->body.data, m->body.len);
	RGT_INTEQ(dkim_eom(d, NULL), DKIM_STAT_OK);
	if (dkim_getsighdr_d(d, 16, &hdr, &len) == DKIM_STAT_OK) {
		rg_buf_reset(&f);
		rg_buf_putc(&f, ' ');
		for (size_t i = 0; i < len; i++)
			if (hdr[i] != '\r')
				rg_buf_putc(&f, hdr[i]);
		tmsg_add(m, "DKIM-Signature", rg_buf_cstr(&f), 1);
	}
	dkim_free(d);
	rg_buf_release(&f);
	free(pem);
}

/* publish_file - the record of a key file made with openssl */
static void
publish_file(const char *sel, const char *pem_path)
{
	char cmd[1024], rec[4096];
	int n;

	snprintf(cmd, sizeof(cmd), "openssl pkey -in '%s' -pubout -outform DER | "
	    "base64 -w0", pem_path);
	n = snprintf(rec, sizeof(rec), "v=DKIM1; k=rsa; p=%s", dk_cmd_output(cmd));
	RGT_CHECK(n > 0 && (size_t)n < sizeof(rec), "key record of %s: %d bytes",
	    pem_path, n);
	snprintf(cmd, sizeof(cmd), "%s._domainkey.example.com", sel);
	fake_add(cmd, FK_TXT, rec);
}

static void
test_rfc8301(void)
{
	struct rg_conf *c = load("dkim_min_rsa_bits = 1024\n");
	struct rg_dkim_results r;
	struct tmsg m;

	publish_file("sha1", rsa_pem);
	publish_file("short", rsa512_pem);
	publish_file("k1024", rsa1024_pem);

	RGT_CASE("rsa-sha1 is policy, not pass");
	tmsg_parse(&m, msg_text);
	raw_sign(rsa_pem, "sha1", DKIM_SIGN_RSASHA1, &m);
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_POLICY, "rsa-sha1 not accepted (RFC 8301)");
	if (r.n == 1)
		RGT_STREQ(r.sig[0].algorithm, "rsa-sha1");
	rg_dkim_results_release(&r);
	RGT_CASE("rsa-sha1 that does not verify stays fail");
	rg_buf_puts(&m.body, "changed\r\n");
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_FAIL, "body hash mismatch");
	rg_dkim_results_release(&r);
	tmsg_free(&m);

	RGT_CASE("512-bit key is policy");
	tmsg_parse(&m, msg_text);
	raw_sign(rsa512_pem, "short", DKIM_SIGN_RSASHA256, &m);
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_POLICY, "RSA key too short (RFC 8301)");
	if (r.n == 1)
		RGT_INTEQ(r.sig[0].keybits, 512);
	rg_dkim_results_release(&r);
	tmsg_free(&m);

	RGT_CASE("1024-bit key passes at dkim_min_rsa_bits = 1024 only");
	tmsg_parse(&m, msg_text);
	raw_sign(rsa1024_pem, "k1024", DKIM_SIGN_RSASHA256, &m);
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PASS, "");
	rg_dkim_results_release(&r);
	rg_conf_release(c);
	c = load("dkim_min_rsa_bits = 2048\n");
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_POLICY, NULL);
	rg_dkim_results_release(&r);
	tmsg_free(&m);
	rg_conf_release(c);
}

/* --- malformed input ------------------------------------------------------------ */

/* one_sig - verify msg_text under a single DKIM-Signature value */
static void
one_sig(const struct rg_conf *c, const char *value, struct rg_dkim_results *r)
{
	struct tmsg m;

	tmsg_parse(&m, msg_text);
	tmsg_add(&m, "DKIM-Signature", value, 1);
	verify(c, &m, r);
	tmsg_free(&m);
}

static void
test_garbage_signatures(void)
{
	static const struct {
		const char *value;
		enum rg_dkim_result want;
	} cases[] = {
		{ " garbage", RG_DKIM_PERMERROR },
		{ "", RG_DKIM_PERMERROR },
		{ " ;;;==;=", RG_DKIM_PERMERROR },
		{ " v=1; a=rsa-sha256", RG_DKIM_PERMERROR },
		{ " v=1; a=rsa-sha256; d=; s=; h=; bh=; b=", RG_DKIM_PERMERROR },
		{ " v=2; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA",
		    RG_DKIM_PERMERROR },
		{ " v=1; a=rsa-sha512; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA",
		    RG_DKIM_PERMERROR },
		{ " v=1; a=rsa-sha256; c=loose/relaxed; d=example.com; s=rsa; h=from; "
		    "bh=AAAA; b=AAAA", RG_DKIM_PERMERROR },
		{ " v=1; a=rsa-sha256; d=example.com; s=rsa; h=subject; bh=AAAA; b=AAAA",
		    RG_DKIM_PERMERROR },
		{ " v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA; "
		    "l=-5", RG_DKIM_PERMERROR },
		{ " v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA; "
		    "q=http/get", RG_DKIM_PERMERROR },
		/* libopendkim's base64 decoder skips what is not base64 */
		{ " v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; b=A!A$",
		    RG_DKIM_FAIL },
		{ " v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; "
		    "b=\xff\xfe\x80", RG_DKIM_PERMERROR },
		{ " v=1; a=rsa-sha256; d=example.com; i=@other.example; s=rsa; h=from; "
		    "bh=AAAA; b=AAAA", RG_DKIM_PERMERROR },
		/* syntax right, signature wrong */
		{ " v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA",
		    RG_DKIM_FAIL },
		{ " v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA; "
		    "x=1000000000", RG_DKIM_NEUTRAL },
		{ " v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; bh=AAAA; b=AAAA; "
		    "t=9999999999", RG_DKIM_NEUTRAL },
		{ " v=1; a=rsa-sha256; d=example.com; s=no.such.selector; h=from; "
		    "bh=AAAA; b=AAAA", RG_DKIM_PERMERROR },
		{ " v=1; a=rsa-sha256; d=example..com; s=rsa; h=from; bh=AAAA; b=AAAA",
		    RG_DKIM_TEMPERROR },
	};
	struct rg_conf *c = load("dkim_sign = example.com rsa %s\n", rsa_pem);
	struct rg_dkim_results r;

	publish(c);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RGT_CASE(cases[i].value);
		one_sig(c, cases[i].value, &r);
		check_one(&r, cases[i].want, NULL);
		if (r.n == 1 && r.sig[0].result != RG_DKIM_PASS)
			RGT_CHECK(r.sig[0].reason[0] != '\0', "no reason given");
		rg_dkim_results_release(&r);
	}
	{
		char *huge = rg_xmalloc(300000);

		RGT_CASE("a 300k DKIM-Signature");
		memset(huge, 'A', 299999);
		huge[299999] = '\0';
		memcpy(huge, " v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; b=", 52);
		one_sig(c, huge, &r);
		check_one(&r, RG_DKIM_PERMERROR, NULL);
		rg_dkim_results_release(&r);
		free(huge);
	}
	rg_conf_release(c);
}

static void
test_malformed_fields(void)
{
	struct rg_conf *c = load("dkim_sign = example.com rsa %s\n", rsa_pem);
	struct rg_dkim_results r;
	struct tmsg m;
	char *big;

	publish(c);
	RGT_CASE("junk field names around a good signature");
	sign_verify(c, &m, &r, 1);
	rg_dkim_results_release(&r);
	{
		struct rg_dkim_verify *v = rg_dkim_verify_new(c, NULL);
		char longname[2100];

		memset(longname, 'X', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		rg_dkim_verify_header(v, NULL, " value");
		rg_dkim_verify_header(v, "", " value");
		rg_dkim_verify_header(v, "Bad Name", " value");
		rg_dkim_verify_header(v, "X:Y", " value");
		rg_dkim_verify_header(v, "X;Y", " value");
		rg_dkim_verify_header(v, "\x80\xff", " value");
		rg_dkim_verify_header(v, longname, " value");
		rg_dkim_verify_header(v, "X-Null", NULL);
		rg_dkim_verify_header(v, "X-Empty", "");
		rg_dkim_verify_header(v, "X-Newlines", "\n\n\r\n");
		rg_dkim_verify_header(v, "X-Bare-CR", " a\rb\r");
		rg_dkim_verify_header(v, "X-8bit", " \xc3\xa9t\xc3\xa9 \xff");
		for (size_t i = 0; i < m.n; i++)
			rg_dkim_verify_header(v, m.name[i], m.value[i]);
		rg_dkim_verify_eoh(v);
		rg_dkim_verify_body(v, m.body.data, m.body.len);
		RGT_INTEQ(rg_dkim_verify_eom(v, &r), RG_DKIM_OK);
		check_one(&r, RG_DKIM_PASS, "");
		rg_dkim_results_release(&r);
		rg_dkim_verify_free(v);
	}

	RGT_CASE("10,000 header fields: over max_headers");
	for (int i = 0; i < 10000; i++)
		tmsg_add(&m, "X-Junk", " junk", 0);
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PERMERROR, "too many header fields");
	rg_dkim_results_release(&r);
	tmsg_free(&m);

	RGT_CASE("a 2 MB field: over max_header_bytes");
	sign_verify(c, &m, &r, 1);
	rg_dkim_results_release(&r);
	big = rg_xmalloc(2 * 1024 * 1024 + 1);
	memset(big, 'x', 2 * 1024 * 1024);
	big[0] = ' ';
	big[2 * 1024 * 1024] = '\0';
	tmsg_add(&m, "X-Huge", big, 0);
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PERMERROR, "too many header fields");
	rg_dkim_results_release(&r);
	free(big);
	tmsg_free(&m);

	RGT_CASE("two 600k fields: together over max_header_bytes");
	sign_verify(c, &m, &r, 1);
	rg_dkim_results_release(&r);
	big = rg_xmalloc(600 * 1024 + 1);
	memset(big, 'y', 600 * 1024);
	big[0] = ' ';
	big[600 * 1024] = '\0';
	tmsg_add(&m, "X-Big-1", big, 0);
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PASS, "");
	rg_dkim_results_release(&r);
	tmsg_add(&m, "X-Big-2", big, 0);
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PERMERROR, "too many header fields");
	rg_dkim_results_release(&r);
	free(big);
	tmsg_free(&m);

	RGT_CASE("10,000 fields, no signature: none");
	tmsg_parse(&m, msg_text);
	for (int i = 0; i < 10000; i++)
		tmsg_add(&m, "X-Junk", " junk", 0);
	verify(c, &m, &r);
	RGT_INTEQ(r.n, 0);
	rg_dkim_results_release(&r);
	tmsg_free(&m);
	rg_conf_release(c);
}

static void
test_many_signatures(void)
{
	struct rg_conf *c = load("dkim_sign = example.com rsa %s\n"
	    "dkim_max_signatures = 5\n", rsa_pem);
	struct rg_dkim_results r;
	struct tmsg m;
	size_t n;
	struct rg_buf why = RG_BUF_INIT;

	publish(c);
	RGT_CASE("60 signatures: 5 verified, 55 skipped");
	tmsg_parse(&m, msg_text);
	for (int i = 0; i < 59; i++)
		tmsg_add(&m, "DKIM-Signature", " v=1; a=rsa-sha256; d=example.com; "
		    "s=rsa; h=from; bh=AAAA; b=AAAA", 1);
	RGT_INTEQ(sign(c, "alice@example.com", &m, &n, &why), RG_DKIM_OK);
	verify(c, &m, &r);
	RGT_INTEQ(r.n, 5);
	RGT_INTEQ(r.skipped, 55);
	if (r.n == 5) {
		RGT_INTEQ(r.sig[0].result, RG_DKIM_PASS);
		RGT_INTEQ(r.sig[4].result, RG_DKIM_FAIL);
	}
	rg_dkim_results_release(&r);
	tmsg_free(&m);
	rg_buf_release(&why);
	rg_conf_release(c);
}

static void
test_body_and_order(void)
{
	struct rg_conf *c = load("dkim_sign = example.com rsa %s\n", rsa_pem);
	struct rg_dkim_results r;
	struct rg_dkim_verify *v;
	struct tmsg m;
	static const char nuls[] = "a\0b\0c\r\nbare LF\nbare CR\r\r\n\0";

	publish(c);
	RGT_CASE("body with NUL bytes, bare LF and CR: signs and verifies");
	tmsg_parse(&m, msg_text);
	rg_buf_reset(&m.body);
	rg_buf_append(&m.body, nuls, sizeof(nuls));
	{
		size_t n;
		struct rg_buf why = RG_BUF_INIT;

		RGT_INTEQ(sign(c, "alice@example.com", &m, &n, &why), RG_DKIM_OK);
		RGT_STREQ(rg_buf_cstr(&why), "");
		rg_buf_release(&why);
	}
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PASS, "");
	rg_dkim_results_release(&r);

	RGT_CASE("calls out of order");
	v = rg_dkim_verify_new(c, "Q");
	rg_dkim_verify_body(v, "early body\r\n", 12);	/* ends the header */
	rg_dkim_verify_header(v, "From", " late@example.com");	/* ignored */
	rg_dkim_verify_eoh(v);
	rg_dkim_verify_body(v, NULL, 0);
	RGT_INTEQ(rg_dkim_verify_eom(v, &r), RG_DKIM_OK);
	RGT_INTEQ(r.n, 0);
	rg_dkim_results_release(&r);
	RGT_INTEQ(rg_dkim_verify_eom(v, &r), RG_DKIM_INVAL);
	rg_dkim_verify_body(v, "after\r\n", 7);
	rg_dkim_verify_free(v);
	RGT_CHECK(rg_dkim_verify_free(NULL) == NULL, "free(NULL)");
	rg_dkim_verify_header(NULL, "From", " x");
	rg_dkim_verify_eoh(NULL);
	rg_dkim_verify_body(NULL, "x", 1);
	RGT_INTEQ(rg_dkim_verify_eom(NULL, &r), RG_DKIM_INVAL);

	RGT_CASE("signed message without From header field");
	tmsg_del(&m, "From");
	verify(c, &m, &r);
	RGT_INTEQ(r.n, 1);
	RGT_CHECK(r.n == 1 && r.sig[0].result == RG_DKIM_FAIL, "got %s",
	    r.n ? rg_dkim_result_name(r.sig[0].result) : "none");
	rg_dkim_results_release(&r);
	tmsg_free(&m);

	RGT_CASE("dkim_verify = no");
	rg_conf_release(c);
	c = load("dkim_verify = no\n");
	RGT_CHECK(rg_dkim_verify_new(c, "Q") == NULL, "verifier made anyway");
	rg_conf_release(c);
}

static void
test_leadspc(void)
{
	struct rg_conf *c = load("dkim_sign = example.com rsa %s\n"
	    "dkim_canonicalization = simple/simple\n", rsa_pem);
	struct rg_dkim_results r;
	struct tmsg m;
	size_t n;
	struct rg_buf why = RG_BUF_INIT;

	publish(c);
	RGT_CASE("values without their leading space (no SMFIP_HDR_LEADSPC)");
	tmsg_parse(&m, msg_text);
	for (size_t i = 0; i < m.n; i++)
		if (m.value[i][0] == ' ')
			memmove(m.value[i], m.value[i] + 1, strlen(m.value[i]));
	leadspc = 0;
	RGT_INTEQ(sign(c, "alice@example.com", &m, &n, &why), RG_DKIM_OK);
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PASS, "");
	rg_dkim_results_release(&r);
	leadspc = 1;
	RGT_CASE("... and the same message with LEADSPC values");
	for (size_t i = 0; i < m.n; i++) {
		char *v = rg_xmalloc(strlen(m.value[i]) + 2);

		v[0] = ' ';
		memcpy(v + 1, m.value[i], strlen(m.value[i]) + 1);
		free(m.value[i]);
		m.value[i] = v;
	}
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PASS, "");
	rg_dkim_results_release(&r);
	tmsg_free(&m);
	rg_buf_release(&why);
	rg_conf_release(c);
}

/* put16 - a 16-bit field in network order */
static size_t
put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
	return 2;
}

/*
 * cname_lookup - a reply as a recursive resolver sends it for a CNAME to
 * the key: alias._domainkey.example.com CNAME rsa._domainkey.example.com,
 * then the TXT record, names compressed (RFC 1035 s4.1.4)
 */
static enum rg_dkim_dns_result
cname_lookup(void *arg, const char *name, unsigned char *ans, size_t size,
    size_t *len)
{
	static const unsigned char head[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
		5, 'a', 'l', 'i', 'a', 's', 10, '_', 'd', 'o', 'm', 'a', 'i', 'n',
		'k', 'e', 'y', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o',
		'm', 0, 0, 16, 0, 1,
		/* CNAME: owner at 12; target "rsa" + the rest of the name at 18 */
		0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'r', 's', 'a', 0xc0, 18,
	};
	const char *txt = arg;
	size_t off = sizeof(head), tl = strlen(txt), rdata = off - 6;

	if (strcmp(name, "alias._domainkey.example.com") != 0)
		return RG_DKIM_DNS_NXDOMAIN;
	if (size < off + 12 + tl + tl / 255 + 1)
		return RG_DKIM_DNS_TEMPFAIL;
	memcpy(ans, head, sizeof(head));
	/* TXT: owner is the CNAME's target */
	off += put16(ans + off, 0xc000 | (unsigned)rdata);
	off += put16(ans + off, 16);
	off += put16(ans + off, 1);
	off += put16(ans + off, 0);
	off += put16(ans + off, 60);
	off += put16(ans + off, (unsigned)(tl + (tl + 254) / 255));
	for (size_t i = 0; i < tl; i += 255) {
		size_t l = tl - i > 255 ? 255 : tl - i;

		ans[off++] = (unsigned char)l;
		memcpy(ans + off, txt + i, l);
		off += l;
	}
	*len = off;
	return RG_DKIM_DNS_ANSWER;
}

static void
test_cname_reply(void)
{
	struct rg_conf *c = load("dkim_sign = example.com alias %s\n", rsa_pem);
	struct rg_buf rec = RG_BUF_INIT;
	struct rg_dkim_results r;
	struct tmsg m;

	RGT_CASE("key reached through a CNAME, compressed names");
	rg_dkim_key_record(&c->dkim.sign.v[0], &rec);
	rg_dkim_set_resolver(cname_lookup, rec.data);
	sign_verify(c, &m, &r, 1);
	check_one(&r, RG_DKIM_PASS, "");
	rg_dkim_results_release(&r);
	rg_dkim_set_resolver(fake_lookup, NULL);
	tmsg_free(&m);
	rg_buf_release(&rec);
	rg_conf_release(c);
}

/* --- driver mode ------------------------------------------------------------ */

/* read_stdin - the whole message */
static char *
read_stdin(void)
{
	struct rg_buf b = RG_BUF_INIT;
	char chunk[65536];
	size_t n;

	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		rg_buf_append(&b, chunk, n);
	return rg_buf_steal(&b);
}

/* print_field - a field with CRLF line ends, as on the wire */
static void
print_field(const char *name, const char *value)
{
	printf("%s:", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\n')
			putchar('\r');
		putchar(*p);
	}
	printf("\r\n");
}

/* driver_sign - sign stdin for from; print the signed message */
static int
driver_sign(const char *conf, const char *from)
{
	struct rg_buf err = RG_BUF_INIT, why = RG_BUF_INIT;
	struct rg_conf *c = rg_conf_load(conf, &err, NULL);
	char *text = read_stdin();
	struct tmsg m;
	size_t n;
	int rc = 0;

	if (c == NULL) {
		fprintf(stderr, "%s", rg_buf_cstr(&err));
		free(text);
		return 2;
	}
	tmsg_parse(&m, text);
	if (sign(c, from, &m, &n, &why) != RG_DKIM_OK || n == 0) {
		fprintf(stderr, "signing failed: %s\n", rg_buf_cstr(&why));
		rc = 1;
	} else {
		for (size_t i = 0; i < m.n; i++)
			print_field(m.name[i], m.value[i]);
		printf("\r\n");
		fwrite(m.body.data, 1, m.body.len, stdout);
	}
	tmsg_free(&m);
	free(text);
	rg_buf_release(&why);
	rg_conf_release(c);
	return rc;
}

/* driver_verify - one line per signature: result d= s= a= (reason) */
static int
driver_verify(const char *keydir)
{
	struct rg_conf *c = rg_conf_load(NULL, NULL, NULL);
	char *text = read_stdin();
	struct rg_dkim_results r;
	struct tmsg m;
	int rc = 0;

	fake_keydir = keydir;
	tmsg_parse(&m, text);
	if (verify(c, &m, &r) != RG_DKIM_OK)
		rc = 1;
	if (r.n == 0)
		printf("none\n");
	for (size_t i = 0; i < r.n; i++)
		printf("%s d=%s s=%s a=%s (%s)\n", rg_dkim_result_name(r.sig[i].result),
		    r.sig[i].domain, r.sig[i].selector, r.sig[i].algorithm,
		    r.sig[i].reason);
	rg_dkim_results_release(&r);
	tmsg_free(&m);
	free(text);
	rg_conf_release(c);
	return rc;
}

/* driver_records - dir/<selector>._domainkey.<domain> for each key */
static int
driver_records(const char *conf, const char *dir)
{
	struct rg_buf err = RG_BUF_INIT, rec = RG_BUF_INIT;
	struct rg_conf *c = rg_conf_load(conf, &err, NULL);
	int rc = 0;

	if (c == NULL) {
		fprintf(stderr, "%s", rg_buf_cstr(&err));
		rg_buf_release(&err);
		return 2;
	}
	for (size_t i = 0; i < c->dkim.sign.n && rc == 0; i++) {
		const struct rg_dkim_key *k = &c->dkim.sign.v[i];
		char path[1024];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/%s._domainkey.%s", dir, k->selector,
		    k->domain);
		rg_buf_reset(&rec);
		if (rg_dkim_key_record(k, &rec) < 0 || (fp = fopen(path, "w")) == NULL) {
			rc = 1;
			break;
		}
		fprintf(fp, "%s\n", rg_buf_cstr(&rec));
		fclose(fp);
	}
	rg_buf_release(&rec);
	rg_conf_release(c);
	return rc;
}

/* driver_end - release the library, so leak checkers see a clean exit */
static int
driver_end(int rc)
{
	rg_dkim_shutdown();
	return rc;
}

int
main(int argc, char **argv)
{
	rg_dkim_set_resolver(fake_lookup, NULL);
	if (argc == 4 && strcmp(argv[1], "sign") == 0)
		return driver_end(driver_sign(argv[2], argv[3]));
	if (argc == 3 && strcmp(argv[1], "verify") == 0)
		return driver_end(driver_verify(argv[2]));
	if (argc == 4 && strcmp(argv[1], "records") == 0)
		return driver_end(driver_records(argv[2], argv[3]));
	if (argc != 1) {
		fprintf(stderr, "usage: dkim_test [sign CONF FROM | verify KEYDIR | "
		    "records CONF DIR] < message\n");
		return 2;
	}
	RGT_CASE("library");
	RGT_INTEQ(rg_dkim_init(), 0);
	dkt_keys();
	test_roundtrip();
	test_two_signatures();
	test_tampering();
	test_keys_and_dns();
	test_rfc8301();
	test_garbage_signatures();
	test_malformed_fields();
	test_many_signatures();
	test_body_and_order();
	test_leadspc();
	test_cname_reply();
	rg_dkim_shutdown();
	printf("%d passed, %d failed\n", rgt_passed, rgt_failed);
	return rgt_failed != 0;
}
