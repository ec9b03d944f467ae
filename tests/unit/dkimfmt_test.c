/*
 * dkimfmt_test.c - what the DKIM module writes and reads as text:
 * Authentication-Results resinfo golden strings (RFC 8601, RFC 6008
 * header.b), the header field itself, From addresses, and DNS reply
 * packets built for fake resolvers (RFC 1035).
 */
#include "dkimtest.h"

/* --- Authentication-Results ------------------------------------------------ */

static void
test_resinfo(void)
{
	static const struct {
		struct rg_dkim_sigresult r;
		const char *want;
	} cases[] = {
		{ { RG_DKIM_PASS, "", "example.com", "sel", "rsa-sha256", "AbCdEfGh",
		    2048 }, "dkim=pass header.d=example.com header.s=sel "
		    "header.a=rsa-sha256 header.b=AbCdEfGh" },
		{ { RG_DKIM_PASS, "", "example.com", "ed1", "ed25519-sha256",
		    "Ab+dEfGh", 256 }, "dkim=pass header.d=example.com header.s=ed1 "
		    "header.a=ed25519-sha256 header.b=Ab+dEfGh" },
		/* '/' and '=' are tspecials (RFC 2045): quote the value */
		{ { RG_DKIM_PASS, "", "example.com", "sel", "rsa-sha256", "Ab/dEf==",
		    2048 }, "dkim=pass header.d=example.com header.s=sel "
		    "header.a=rsa-sha256 header.b=\"Ab/dEf==\"" },
		{ { RG_DKIM_FAIL, "body hash mismatch", "example.com", "sel",
		    "rsa-sha256", "AbCdEfGh", 2048 }, "dkim=fail reason=\"body hash "
		    "mismatch\" header.d=example.com header.s=sel header.a=rsa-sha256 "
		    "header.b=AbCdEfGh" },
		{ { RG_DKIM_POLICY, "rsa-sha1 not accepted (RFC 8301)", "example.org",
		    "s", "rsa-sha1", "12345678", 1024 }, "dkim=policy reason=\"rsa-sha1 "
		    "not accepted (RFC 8301)\" header.d=example.org header.s=s "
		    "header.a=rsa-sha1 header.b=12345678" },
		{ { RG_DKIM_PERMERROR, "signature syntax error", "", "", "", "", 0 },
		    "dkim=permerror reason=\"signature syntax error\"" },
		{ { RG_DKIM_TEMPERROR, "key lookup failed", "example.com", "s", "", "",
		    0 }, "dkim=temperror reason=\"key lookup failed\" "
		    "header.d=example.com header.s=s" },
		/* a hostile d= cannot add properties of its own */
		{ { RG_DKIM_FAIL, "", "x.example;dkim=pass", "s", "", "", 0 },
		    "dkim=fail header.d=\"x.example;dkim=pass\" header.s=s" },
		{ { RG_DKIM_NONE, "", "", "", "", "", 0 }, "dkim=none" },
	};
	struct rg_buf b = RG_BUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RGT_CASE(cases[i].want);
		rg_buf_reset(&b);
		rg_dkim_resinfo(&cases[i].r, &b);
		RGT_STREQ(rg_buf_cstr(&b), cases[i].want);
	}
	rg_buf_release(&b);
}

static void
test_authres_header(void)
{
	struct rg_conf *c = load("\n");
	struct rg_conn *conn = rg_conn_new(c, 1);
	struct rg_msg *m = rg_msg_begin(conn);
	struct rg_dkim_sigresult two[2] = {
		{ RG_DKIM_PASS, "", "example.com", "rsa", "rsa-sha256", "AAAAAAAA", 2048 },
		{ RG_DKIM_FAIL, "body hash mismatch", "example.com", "ed",
		    "ed25519-sha256", "BBBBBBBB", 256 },
	};
	struct rg_dkim_results r = { two, 2, 0 }, none = { NULL, 0, 0 };
	struct rg_buf out = RG_BUF_INIT;

	RGT_CASE("Authentication-Results with two signatures");
	rg_dkim_results_authres(&r, m);
	rg_authres_format(m, "mx.example.net", &out);
	RGT_STREQ(rg_buf_cstr(&out), "mx.example.net;\n"
	    "\tdkim=pass header.d=example.com header.s=rsa header.a=rsa-sha256 "
	    "header.b=AAAAAAAA;\n"
	    "\tdkim=fail reason=\"body hash mismatch\" header.d=example.com "
	    "header.s=ed header.a=ed25519-sha256 header.b=BBBBBBBB");
	RGT_CASE("Authentication-Results without signatures");
	m = rg_msg_begin(conn);
	rg_dkim_results_authres(&none, m);
	rg_authres_format(m, "mx.example.net", &out);
	RGT_STREQ(rg_buf_cstr(&out), "mx.example.net;\n\tdkim=none");
	rg_buf_release(&out);
	rg_conn_free(conn);
}

static void
test_from_address(void)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
		{ " alice@example.com", "alice@example.com" },
		{ " Alice <alice@Example.COM>", "alice@example.com" },
		{ " \"Smith, Alice\" <alice@example.com>", "alice@example.com" },
		{ " alice@example.com (Alice)", "alice@example.com" },
		{ " <>", NULL },
		{ " no address here", NULL },
		{ "", NULL },
	};
	char addr[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = rg_dkim_from_address(cases[i].value, addr, sizeof(addr));

		RGT_CASE(cases[i].value);
		if (cases[i].want == NULL) {
			RGT_CHECK(rc < 0, "got \"%s\", want an error", addr);
		} else {
			RGT_INTEQ(rc, 0);
			if (rc == 0)
				RGT_STREQ(addr, cases[i].want);
		}
	}
	RGT_CASE("address longer than the buffer");
	RGT_CHECK(rg_dkim_from_address(" alice@example.com", addr, 8) < 0,
	    "truncated silently");
	RGT_CHECK(rg_dkim_from_address(NULL, addr, sizeof(addr)) < 0, "NULL");
}

/* --- the wire format ----------------------------------------------------- */

static void
test_dns_answer(void)
{
	unsigned char buf[2048];
	char txt[601];
	const char *t[2] = { txt, "second" };
	size_t len = 0;
	static const unsigned char head[] = {
		0, 0, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
		3, 's', 'e', 'l', 10, '_', 'd', 'o', 'm', 'a', 'i', 'n', 'k', 'e', 'y',
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
		0, 16, 0, 1,
		0xc0, 12, 0, 16, 0, 1, 0, 0, 1, 44, 2, 91, 255,
	};

	RGT_CASE("TXT answer, one record split in 255-byte strings");
	memset(txt, 'x', 600);
	txt[600] = '\0';
	RGT_INTEQ(rg_dkim_dns_txt_answer("sel._domainkey.example.com.", 0, t, 2,
	    buf, sizeof(buf), &len), 0);
	RGT_INTEQ(len, sizeof(head) + 255 + 1 + 255 + 1 + 90 + 12 + 7);
	RGT_CHECK(memcmp(buf, head, sizeof(head)) == 0, "header, question or "
	    "the first answer differ");
	RGT_INTEQ(buf[sizeof(head) + 254 + 1], 255);		/* second string */
	RGT_INTEQ(buf[sizeof(head) + 254 + 1 + 255 + 1], 90);	/* third */
	RGT_CHECK(memcmp(buf + len - 7, "\x06second", 7) == 0, "second record");

	RGT_CASE("NXDOMAIN answer");
	RGT_INTEQ(rg_dkim_dns_txt_answer("a.b", 3, NULL, 0, buf, sizeof(buf), &len),
	    0);
	RGT_INTEQ(len, 12 + 5 + 4);
	RGT_INTEQ(buf[3] & 0x0f, 3);
	RGT_INTEQ(buf[7], 0);

	RGT_CASE("bad names and small buffers");
	RGT_INTEQ(rg_dkim_dns_txt_answer("", 0, NULL, 0, buf, sizeof(buf), &len), -1);
	RGT_INTEQ(rg_dkim_dns_txt_answer("a..b", 0, NULL, 0, buf, sizeof(buf), &len),
	    -1);
	RGT_INTEQ(rg_dkim_dns_txt_answer(".a", 0, NULL, 0, buf, sizeof(buf), &len),
	    -1);
	memset(txt, 'a', 64);
	txt[64] = '\0';
	RGT_INTEQ(rg_dkim_dns_txt_answer(txt, 0, NULL, 0, buf, sizeof(buf), &len),
	    -1);
	RGT_INTEQ(rg_dkim_dns_txt_answer("a.b", 0, t, 1, buf, 40, &len), -1);
	RGT_INTEQ(rg_dkim_dns_txt_answer("a.b", 0, NULL, 0, buf, 12, &len), -1);
}

int
main(void)
{
	rg_dkim_set_resolver(fake_lookup, NULL);
	RGT_CASE("library");
	RGT_INTEQ(rg_dkim_init(), 0);
	test_resinfo();
	test_authres_header();
	test_from_address();
	test_dns_answer();
	rg_dkim_shutdown();
	printf("%d passed, %d failed\n", rgt_passed, rgt_failed);
	return rgt_failed != 0;
}
