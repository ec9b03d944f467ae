/*
 * keytable_test.c - DKIM signing keys and tables as the configuration
 * loads them: dkim_sign triples, OpenDKIM KeyTable and SigningTable files
 * (plain and refile: wildcards), errors with file:line, key files others
 * can read, key formats, lookups in OpenDKIM's order, and the published
 * DNS record of a key.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "keytable.h"
#include "settings.h"
#include "rgtest.h"
#include "dkimkeys.h"

static const char *rsa_pem, *rsa_pkcs1, *ed_pem, *ed_seed, *rsa512;

/* load - a configuration from text; errors into err */
static struct rg_conf *
load(const char *text, struct rg_buf *err, struct rg_buf *warn)
{
	rg_buf_reset(err);
	if (warn)
		rg_buf_reset(warn);
	return rg_conf_load(dk_write("t.conf", text, 0644), err, warn);
}

/* keys - the test keys, made once */
static void
keys(void)
{
	char cmd[1024];

	rsa_pem = dk_genkey("rsa.pem", "rsa", 2048, 0);
	rsa_pkcs1 = dk_genkey("rsa1.pem", "rsa", 1024, 1);
	ed_pem = dk_genkey("ed.pem", "ed25519", 0, 0);
	rsa512 = dk_genkey("rsa512.pem", "rsa", 512, 0);
	/* the raw seed: the last 32 bytes of the PKCS#8 DER, as base64 */
	ed_seed = strdup(dk_path("ed.seed"));
	snprintf(cmd, sizeof(cmd), "openssl pkey -in '%s' -outform DER | "
	    "tail -c 32 | base64 > '%s' && chmod 600 '%s'", ed_pem, ed_seed,
	    ed_seed);
	dk_run(cmd);
}

/* conf_fmt - printf into a static buffer */
static const char *
conf_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *
conf_fmt(const char *fmt, ...)
{
	static char buf[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

static void
test_sign_triples(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c;

	RGT_CASE("dkim_sign: two keys, PKCS#1 and PKCS#8 RSA, Ed25519 PEM and seed");
	c = load(conf_fmt("# keys\ndkim_sign = Example.COM rsa1 %s,\n"
	    "  example.com ed1 %s, example.net old %s,\n  example.org ed2 %s\n",
	    rsa_pem, ed_pem, rsa_pkcs1, ed_seed), &err, NULL);
	RGT_CHECK(c != NULL, "load failed: %s", rg_buf_cstr(&err));
	if (c == NULL)
		return;
	RGT_INTEQ(c->dkim.sign.n, 4);
	if (c->dkim.sign.n == 4) {
		const struct rg_dkim_key *k = c->dkim.sign.v;

		RGT_STREQ(k[0].domain, "example.com");
		RGT_STREQ(k[0].selector, "rsa1");
		RGT_INTEQ(k[0].type, RG_DKIM_KEY_RSA);
		RGT_INTEQ(k[0].bits, 2048);
		RGT_CONTAINS(k[0].pem, "-----BEGIN PRIVATE KEY-----");
		RGT_INTEQ(k[1].type, RG_DKIM_KEY_ED25519);
		RGT_INTEQ(k[1].bits, 256);
		RGT_INTEQ(k[2].bits, 1024);
		/* PKCS#1 comes out as PKCS#8, which libopendkim reads */
		RGT_CONTAINS(k[2].pem, "-----BEGIN PRIVATE KEY-----");
		RGT_INTEQ(k[3].type, RG_DKIM_KEY_ED25519);
		RGT_CHECK(k[1].name == NULL, "triples have no key name");
	}
	rg_conf_release(c);

	RGT_CASE("dkim_sign from a file, one triple per line");
	dk_write("sign.list", conf_fmt("# ours\nexample.com rsa1 %s\n\n"
	    "example.com ed1 %s   # the new one\n", rsa_pem, ed_pem), 0644);
	c = load(conf_fmt("dkim_sign = file:%s\n", dk_path("sign.list")), &err,
	    NULL);
	RGT_CHECK(c != NULL && c->dkim.sign.n == 2, "file: %s", rg_buf_cstr(&err));
	rg_conf_release(c);
	rg_buf_release(&err);
}

/* expect_error - loading text fails with want in the errors */
static void
expect_error(const char *name, const char *text, const char *want)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c;

	RGT_CASE(name);
	c = load(text, &err, NULL);
	RGT_CHECK(c == NULL, "accepted");
	RGT_CONTAINS(rg_buf_cstr(&err), want);
	rg_conf_release(c);
	rg_buf_release(&err);
}

static void
test_key_errors(void)
{
	char want[1024];
	const char *p;

	p = dk_copy(rsa_pem, "readable.pem", 0644);
	snprintf(want, sizeof(want), "t.conf:2: key file %s: accessible by others "
	    "(mode 0644); run chmod o-rwx %s", p, p);
	expect_error("world-readable key, dkim_sign", conf_fmt("\n"
	    "dkim_sign = example.com s1 %s\n", p), want);

	p = dk_copy(rsa_pem, "owrite.pem", 0602);
	expect_error("world-writable key", conf_fmt("dkim_sign = example.com s1 "
	    "%s\n", p), "(mode 0602)");

	p = dk_copy(rsa_pem, "group.pem", 0640);
	{
		struct rg_buf err = RG_BUF_INIT;
		struct rg_conf *c;

		RGT_CASE("group-readable key is fine");
		c = load(conf_fmt("dkim_sign = example.com s1 %s\n", p), &err, NULL);
		RGT_CHECK(c != NULL, "refused: %s", rg_buf_cstr(&err));
		rg_conf_release(c);
		rg_buf_release(&err);
	}

	expect_error("missing key file", "dkim_sign = example.com s1 /nonexistent/k.pem\n",
	    "t.conf:1: key file /nonexistent/k.pem: cannot open: No such file");
	expect_error("relative key path", "dkim_sign = example.com s1 keys/k.pem\n",
	    "must be an absolute path");
	expect_error("two fields", "dkim_sign = example.com /k.pem\n",
	    "t.conf:1: dkim_sign: expected \"domain selector /path/to/key\"");
	expect_error("bad domain", conf_fmt("dkim_sign = exa$mple.com s1 %s\n",
	    rsa_pem), "bad signing domain \"exa$mple.com\"");
	expect_error("bad selector", conf_fmt("dkim_sign = example.com s..1 %s\n",
	    rsa_pem), "bad selector \"s..1\"");
	expect_error("512-bit key cannot sign (RFC 8301)",
	    conf_fmt("dkim_sign = example.com s1 %s\n", rsa512),
	    "RSA key of 512 bits; RFC 8301 requires at least 1024");
	p = dk_write("garbage.pem", "-----BEGIN PRIVATE KEY-----\nnot base64!\n"
	    "-----END PRIVATE KEY-----\n", 0600);
	expect_error("garbage key", conf_fmt("dkim_sign = example.com s1 %s\n", p),
	    "not a PEM private key");
	p = dk_write("empty.pem", "", 0600);
	expect_error("empty key", conf_fmt("dkim_sign = example.com s1 %s\n", p),
	    "not a PEM private key");
	{
		char cmd[1024];

		p = dk_path("enc.pem");
		snprintf(cmd, sizeof(cmd), "openssl pkey -in '%s' -aes128 -passout "
		    "pass:secret -out '%s' && chmod 600 '%s'", rsa_pem, p, p);
		dk_run(cmd);
		expect_error("encrypted key", conf_fmt("dkim_sign = example.com s1 "
		    "%s\n", p), "an encrypted key cannot be used");
	}
	expect_error("directory as key", "dkim_sign = example.com s1 /tmp\n",
	    "not a regular file");
	p = dk_write("bad.list", conf_fmt("example.com s1 %s\nexample.com\n",
	    rsa_pem), 0644);
	snprintf(want, sizeof(want), "%s:2: dkim_sign: expected", p);
	expect_error("bad line in a dkim_sign file", conf_fmt("dkim_sign = "
	    "file:%s\n", p), want);
}

static void
test_keytable(void)
{
	struct rg_buf err = RG_BUF_INIT, warn = RG_BUF_INIT;
	struct rg_conf *c;
	const char *kt, *st, *bad;
	char want[1024];

	kt = dk_write("KeyTable", conf_fmt("# OpenDKIM key table\n"
	    "rsa._domainkey.example.com example.com:rsa:%s\n"
	    "\n"
	    "ed   example.com:ed:%s  # ed25519\n"
	    "any  %%:default:%s\n", rsa_pem, ed_pem, rsa_pem), 0644);
	st = dk_write("SigningTable", "# OpenDKIM signing table\n"
	    "boss@example.com   ed\n"
	    "example.com        rsa._domainkey.example.com,ed\n"
	    ".example.org       any  @%\n"
	    "*                  any\n", 0644);

	RGT_CASE("KeyTable and SigningTable");
	c = load(conf_fmt("dkim_key_table = file:%s\ndkim_signing_table = %s\n",
	    kt, st), &err, &warn);
	RGT_CHECK(c != NULL, "load failed: %s", rg_buf_cstr(&err));
	if (c != NULL) {
		const struct rg_keytable *k = &c->dkim.key_table;
		const struct rg_signtable *s = &c->dkim.signing_table;

		RGT_INTEQ(k->keys.n, 3);
		RGT_STREQ(k->keys.v[0].name, "rsa._domainkey.example.com");
		RGT_STREQ(k->keys.v[1].selector, "ed");
		RGT_STREQ(k->keys.v[2].domain, "%");
		RGT_INTEQ(s->n, 4);
		RGT_INTEQ(s->wildcard, 0);
		RGT_INTEQ(s->v[1].nkeys, 2);
		RGT_INTEQ(s->v[1].keys[0], 0);
		RGT_INTEQ(s->v[1].keys[1], 1);
		RGT_STREQ(s->v[2].signer, "@%");
		RGT_INTEQ(s->v[3].line, 5);
	}
	RGT_STREQ(rg_buf_cstr(&warn), "");
	rg_conf_release(c);

	RGT_CASE("KeyTable without SigningTable warns");
	c = load(conf_fmt("dkim_key_table = %s\n", kt), &err, &warn);
	RGT_CHECK(c != NULL, "load failed: %s", rg_buf_cstr(&err));
	RGT_CONTAINS(rg_buf_cstr(&warn), "KeyTable:1: warning: dkim_key_table is "
	    "set but no dkim_signing_table names its keys");
	rg_conf_release(c);

	bad = dk_write("st.unknown", "example.com rsa\n# two\nexample.net nokey\n",
	    0644);
	snprintf(want, sizeof(want), "%s:1: key \"rsa\" is not in dkim_key_table %s",
	    bad, kt);
	expect_error("SigningTable names an unknown key", conf_fmt("dkim_key_table "
	    "= %s\ndkim_signing_table = %s\n", kt, bad), want);
	snprintf(want, sizeof(want), "%s:1: key \"rsa\": dkim_signing_table needs "
	    "a dkim_key_table", bad);
	expect_error("SigningTable without KeyTable", conf_fmt(
	    "dkim_signing_table = %s\n", bad), want);

	bad = dk_write("kt.bad", conf_fmt("ok example.com:ok:%s\nbroken "
	    "example.com-no-colons\n", rsa_pem), 0644);
	snprintf(want, sizeof(want), "%s:2: expected \"keyname "
	    "domain:selector:/path/to/key\"", bad);
	expect_error("KeyTable line without colons", conf_fmt("dkim_key_table = "
	    "%s\n", bad), want);
	bad = dk_write("kt.dup", conf_fmt("k example.com:a:%s\nk example.com:b:%s\n",
	    rsa_pem, rsa_pem), 0644);
	expect_error("KeyTable name twice", conf_fmt("dkim_key_table = %s\n", bad),
	    "kt.dup:2: key name \"k\" used twice");
	{
		const char *open = dk_copy(rsa_pem, "open.pem", 0644);

		bad = dk_write("kt.open", conf_fmt("\n\nk example.com:a:%s\n", open),
		    0644);
		snprintf(want, sizeof(want), "%s:3: key file %s: accessible by "
		    "others (mode 0644)", bad, open);
		expect_error("KeyTable key readable by others", conf_fmt(
		    "dkim_key_table = %s\n", bad), want);
	}
	bad = dk_write("kt.inline", "k example.com:a:MIIEvQIBADANBgkqhkiG9w0\n",
	    0644);
	expect_error("KeyTable with inline key data", conf_fmt("dkim_key_table = "
	    "%s\n", bad), "inline key data is not supported");
	expect_error("KeyTable in LDAP", "dkim_key_table = ldap://ldap.example/\n",
	    "t.conf:1: dkim_key_table: data set type \"ldap:\" is not supported");
	expect_error("refile: KeyTable", conf_fmt("dkim_key_table = refile:%s\n",
	    kt), "data set type \"refile:\" is not supported");
	expect_error("relative table", "dkim_signing_table = SigningTable\n",
	    "t.conf:1: dkim_signing_table: \"SigningTable\" must be an absolute path");
	expect_error("missing table", "dkim_signing_table = /nonexistent/st\n",
	    "t.conf:1: dkim_signing_table: cannot open /nonexistent/st");
	bad = dk_write("st.fields", "a b c d\n", 0644);
	expect_error("SigningTable line with four fields", conf_fmt(
	    "dkim_key_table = %s\ndkim_signing_table = %s\n", kt, bad),
	    "st.fields:1: expected \"pattern keyname[,keyname...] [signer]\"");
	rg_buf_release(&err);
	rg_buf_release(&warn);
}

/* lookup_name - first key name of the entry for addr, or "-" */
static const char *
lookup_name(const struct rg_signtable *t, const char *addr)
{
	const struct rg_signtable_entry *e = rg_signtable_lookup(t, addr);

	return e ? e->names[0] : "-";
}

static void
test_lookup(void)
{
	static const struct {
		const char *addr, *plain, *wild;
	} cases[] = {
		{ "boss@example.com", "k-boss", "k-boss" },
		{ "Boss@Example.COM", "k-boss", "k-boss" },
		{ "other@example.com", "k-domain", "k-domain" },
		{ "a@sub.example.com", "k-a-parent", "k-sub" },
		{ "b@sub.example.com", "k-parent", "k-sub" },
		{ "b@deep.sub.example.com", "k-parent", "k-sub" },
		{ "postmaster@example.org", "k-user-any", "k-user-any" },
		{ "x@example.org", "k-star", "k-star" },
		{ "example.com", "k-domain", "k-star" },
		{ "", "-", "-" },
	};
	const char *plain = dk_write("st.plain",
	    "boss@example.com k-boss\n"
	    "example.com k-domain\n"
	    "a@.example.com k-a-parent\n"
	    ".example.com k-parent\n"
	    "postmaster@* k-user-any\n"
	    "* k-star\n", 0644);
	const char *wild = dk_write("st.wild",
	    "boss@example.com k-boss\n"
	    "*@example.com k-domain\n"
	    "*@*.example.com k-sub\n"
	    "postmaster@* k-user-any\n"
	    "* k-star\n", 0644);
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *cp, *cw;
	const char *kt;
	char text[4096];
	size_t n = 0;

	/* every name the tables use, all with the same key */
	static const char *const names[] = { "k-boss", "k-domain", "k-a-parent",
	    "k-parent", "k-sub", "k-user-any", "k-star" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "%s example.com:s%zu:%s\n", names[i], i, rsa_pem);
	kt = dk_write("kt.lookup", text, 0644);
	RGT_CASE("lookup tables load");
	cp = load(conf_fmt("dkim_key_table = %s\ndkim_signing_table = %s\n", kt,
	    plain), &err, NULL);
	RGT_CHECK(cp != NULL, "plain: %s", rg_buf_cstr(&err));
	cw = load(conf_fmt("dkim_key_table = %s\ndkim_signing_table = refile:%s\n",
	    kt, wild), &err, NULL);
	RGT_CHECK(cw != NULL, "refile: %s", rg_buf_cstr(&err));
	if (cp == NULL || cw == NULL)
		return;
	RGT_INTEQ(cw->dkim.signing_table.wildcard, 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RGT_CASE(cases[i].addr);
		RGT_STREQ(lookup_name(&cp->dkim.signing_table, cases[i].addr),
		    cases[i].plain);
		RGT_STREQ(lookup_name(&cw->dkim.signing_table, cases[i].addr),
		    cases[i].wild);
	}
	rg_conf_release(cp);
	rg_conf_release(cw);
	rg_buf_release(&err);
}

static void
test_wildmat(void)
{
	static const struct {
		const char *pat, *s;
		int want;
	} cases[] = {
		{ "*", "", 1 }, { "*", "anything", 1 }, { "", "", 1 }, { "", "a", 0 },
		{ "*@example.com", "a@example.com", 1 },
		{ "*@example.com", "a@example.com.evil", 0 },
		{ "*@example.com", "a@sub.example.com", 0 },
		{ "*@*.example.com", "a@sub.example.com", 1 },
		{ "*@*.example.com", "a@example.com", 0 },
		{ "a*b*c", "aXXbYYc", 1 }, { "a*b*c", "aXXbYY", 0 },
		{ "A@EXAMPLE.com", "a@example.COM", 1 },
		{ "**@x", "a@x", 1 }, { "*a", "aaaa", 1 }, { "*ab", "aaaab", 1 },
		{ "*aab", "aaab", 1 }, { "x", "xx", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RGT_CASE(cases[i].pat);
		RGT_CHECK(rg_wildmat(cases[i].pat, cases[i].s) == cases[i].want,
		    "wildmat(\"%s\", \"%s\"): got %d, want %d", cases[i].pat,
		    cases[i].s, !cases[i].want, cases[i].want);
	}
}

static void
test_record(void)
{
	struct rg_buf err = RG_BUF_INIT, rec = RG_BUF_INIT;
	struct rg_conf *c;
	char cmd[1024];

	RGT_CASE("DNS records of the keys");
	c = load(conf_fmt("dkim_sign = example.com rsa %s, example.com ed %s\n",
	    rsa_pem, ed_pem), &err, NULL);
	RGT_CHECK(c != NULL, "load: %s", rg_buf_cstr(&err));
	if (c == NULL)
		return;
	RGT_INTEQ(rg_dkim_key_record(&c->dkim.sign.v[0], &rec), 0);
	snprintf(cmd, sizeof(cmd), "printf 'v=DKIM1; k=rsa; p='; openssl pkey "
	    "-in '%s' -pubout -outform DER | base64 -w0", rsa_pem);
	RGT_STREQ(rg_buf_cstr(&rec), dk_cmd_output(cmd));
	rg_buf_reset(&rec);
	RGT_INTEQ(rg_dkim_key_record(&c->dkim.sign.v[1], &rec), 0);
	snprintf(cmd, sizeof(cmd), "printf 'v=DKIM1; k=ed25519; p='; openssl pkey "
	    "-in '%s' -pubout -outform DER | tail -c 32 | base64 -w0", ed_pem);
	RGT_STREQ(rg_buf_cstr(&rec), dk_cmd_output(cmd));
	rg_conf_release(c);
	rg_buf_release(&err);
	rg_buf_release(&rec);
}

static void
test_signed_headers(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c;

	RGT_CASE("default dkim_signed_headers");
	c = load("", &err, NULL);
	RGT_CHECK(c != NULL, "defaults: %s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_CHECK(rg_strlist_contains(&c->dkim.signed_headers, "from"), "from");
		RGT_CHECK(rg_strlist_contains(&c->dkim.signed_headers, "list-*"),
		    "list-*");
		RGT_INTEQ(c->dkim.max_signatures, 5);
		RGT_INTEQ(c->dkim.min_rsa_bits, 1024);
		RGT_INTEQ(c->dkim.verify, 1);
	}
	rg_conf_release(c);
	RGT_CASE("custom list, lowercased, duplicates dropped");
	c = load("dkim_signed_headers = From, Subject, X-Mailer, subject\n", &err,
	    NULL);
	RGT_CHECK(c != NULL && c->dkim.signed_headers.n == 3, "custom: %s",
	    rg_buf_cstr(&err));
	if (c != NULL && c->dkim.signed_headers.n == 3)
		RGT_STREQ(c->dkim.signed_headers.v[2], "x-mailer");
	rg_conf_release(c);
	rg_buf_release(&err);
	expect_error("regex characters in a field name",
	    "dkim_signed_headers = from, sub(ject|x)\n",
	    "t.conf:1: dkim_signed_headers: \"sub(ject|x)\" is not a header field name");
	{
		char text[4096];
		size_t n = (size_t)snprintf(text, sizeof(text), "dkim_signed_headers = ");

		for (int i = 0; i < 60; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n,
			    "x-header-number-%02d, ", i);
		snprintf(text + n, sizeof(text) - n, "\n");
		expect_error("list too long for libopendkim", text,
		    "dkim_signed_headers: list too long");
	}
	expect_error("bad canonicalization", "dkim_canonicalization = loose\n",
	    "t.conf:1: dkim_canonicalization: expected one of");
	expect_error("max signatures out of range", "dkim_max_signatures = 51\n",
	    "dkim_max_signatures: value \"51\" out of range");
}

int
main(void)
{
	keys();
	test_sign_triples();
	test_key_errors();
	test_keytable();
	test_lookup();
	test_wildmat();
	test_record();
	test_signed_headers();
	printf("%d passed, %d failed\n", rgt_passed, rgt_failed);
	return rgt_failed != 0;
}
