/*
 * dkim_test.c - DKIM verification and signing through libopendkim with a
 * fake resolver: sign-then-verify round trips (rsa-sha256, ed25519-sha256;
 * relaxed and simple), tampering, missing keys and DNS failures, RFC 8301
 * policy results, several signatures, Authentication-Results golden
 * strings, and malformed input that must not crash.
 *
 * With arguments it is the driver of tests/integration/t_dkim_interop.sh:
 *   dkim_test sign CONF FROM      sign the message on stdin; print it signed
 *   dkim_test verify KEYDIR       verify stdin; one result line per signature
 *   dkim_test records CONF DIR    write DIR/<selector>._domainkey.<domain>
 * KEYDIR holds one file per key record, named as the DNS name.
 */
#include <sys/types.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "conf.h"
#include "dkim.h"
#include "dkim_int.h"
#include "session.h"
#include "settings.h"
#include "xalloc.h"
#include "rgtest.h"
#include "dkimkeys.h"

/* --- a message as the milter hands it over ------------------------------ */

struct tmsg {
	char **name, **value;	/* values as with SMFIP_HDR_LEADSPC, LF folds */
	size_t n;
	struct rg_buf body;	/* CRLF lines */
};

/* tmsg_add - append (or with top set, prepend) a field */
static void
tmsg_add(struct tmsg *m, const char *name, const char *value, int top)
{
	m->name = rg_xreallocarray(m->name, m->n + 1, sizeof(char *));
	m->value = rg_xreallocarray(m->value, m->n + 1, sizeof(char *));
	if (top) {
		memmove(m->name + 1, m->name, m->n * sizeof(char *));
		memmove(m->value + 1, m->value, m->n * sizeof(char *));
	}
	m->name[top ? 0 : m->n] = rg_xstrdup(name);
	m->value[top ? 0 : m->n] = rg_xstrdup(value);
	m->n++;
}

/* tmsg_field - one field of text [s, e): name, and value with LF folds */
static void
tmsg_field(struct tmsg *m, const char *s, const char *e)
{
	const char *colon = memchr(s, ':', (size_t)(e - s));
	struct rg_buf v = RG_BUF_INIT;
	char *name;

	name = rg_xstrndup(s, colon ? (size_t)(colon - s) : (size_t)(e - s));
	for (const char *p = colon ? colon + 1 : e; p < e; p++)
		if (!(*p == '\r' && p + 1 < e && p[1] == '\n'))
			rg_buf_putc(&v, *p);
	tmsg_add(m, name, rg_buf_cstr(&v), 0);
	free(name);
	rg_buf_release(&v);
}

/* tmsg_parse - "Name: value" lines (LF or CRLF), a blank line, the body */
static void
tmsg_parse(struct tmsg *m, const char *text)
{
	const char *p = text;

	memset(m, 0, sizeof(*m));
	while (*p != '\0' && *p != '\n' && !(p[0] == '\r' && p[1] == '\n')) {
		const char *end = p, *nl;

		while ((nl = strchr(end, '\n')) != NULL &&
		    (nl[1] == ' ' || nl[1] == '\t'))
			end = nl + 1;
		end = nl ? nl : end + strlen(end);
		tmsg_field(m, p, end > p && end[-1] == '\r' ? end - 1 : end);
		p = *end ? end + 1 : end;
	}
	p += *p == '\r';
	p += *p == '\n';
	for (; *p; p++) {
		if (*p == '\n' && (p == text || p[-1] != '\r'))
			rg_buf_putc(&m->body, '\r');
		rg_buf_putc(&m->body, *p);
	}
}

static void
tmsg_free(struct tmsg *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->name[i]);
		free(m->value[i]);
	}
	free(m->name);
	free(m->value);
	rg_buf_release(&m->body);
	memset(m, 0, sizeof(*m));
}

/* tmsg_set - replace the value of the first field called name */
static void
tmsg_set(struct tmsg *m, const char *name, const char *value)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcasecmp(m->name[i], name) == 0) {
			free(m->value[i]);
			m->value[i] = rg_xstrdup(value);
			return;
		}
}

/* tmsg_del - remove every field called name */
static void
tmsg_del(struct tmsg *m, const char *name)
{
	size_t j = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (strcasecmp(m->name[i], name) == 0) {
			free(m->name[i]);
			free(m->value[i]);
			continue;
		}
		m->name[j] = m->name[i];
		m->value[j++] = m->value[i];
	}
	m->n = j;
}

static const char *const msg_text =
    "Received: from client.example.com by mx.example.com\n"
    "From: Alice <alice@example.com>\n"
    "To: bob@example.net\n"
    "Subject: a test message\n"
    "\twith a folded subject\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
    "Message-ID: <1@example.com>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain\n"
    "\n"
    "Hello Bob,\n"
    "  this is a   test.\n"
    "\n"
    "\n";

/* --- the fake resolver ------------------------------------------------------ */

enum fake_kind { FK_TXT, FK_TEMPFAIL, FK_SERVFAIL, FK_NODATA, FK_SHORT };

struct fake_rr {
	char name[300];
	char *txt;
	enum fake_kind kind;
};

static struct fake_rr fake[64];
static size_t nfake;
static int fake_calls;
static const char *fake_keydir;	/* driver mode: records from files */

static void
fake_add(const char *name, enum fake_kind kind, const char *txt)
{
	if (nfake == sizeof(fake) / sizeof(fake[0]))
		abort();
	snprintf(fake[nfake].name, sizeof(fake[nfake].name), "%s", name);
	fake[nfake].txt = txt ? rg_xstrdup(txt) : NULL;
	fake[nfake++].kind = kind;
}

/* fake_truncate - forget the records after the first n */
static void
fake_truncate(size_t n)
{
	while (nfake > n)
		free(fake[--nfake].txt);
}

/* fake_file - driver mode: the record in keydir/name, or NULL */
static char *
fake_file(const char *name)
{
	char path[1024];
	char *txt;

	if (strchr(name, '/') != NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", fake_keydir, name);
	if ((txt = dk_slurp(path)) != NULL)
		txt[strcspn(txt, "\r\n")] = '\0';
	return txt;
}

/* fake_answer - a TXT reply packet for one record */
static enum rg_dkim_dns_result
fake_answer(const char *name, const char *txt, unsigned char *ans,
    size_t size, size_t *len)
{
	const char *t[1] = { txt };

	return rg_dkim_dns_txt_answer(name, 0, t, 1, ans, size, len) == 0 ?
	    RG_DKIM_DNS_ANSWER : RG_DKIM_DNS_TEMPFAIL;
}

static enum rg_dkim_dns_result
fake_lookup(void *arg, const char *name, unsigned char *ans, size_t size,
    size_t *len)
{
	(void)arg;
	fake_calls++;
	if (fake_keydir != NULL) {
		char *txt = fake_file(name);
		enum rg_dkim_dns_result r = RG_DKIM_DNS_NXDOMAIN;

		if (txt != NULL)
			r = fake_answer(name, txt, ans, size, len);
		free(txt);
		return r;
	}
	/* the record added last wins */
	for (size_t i = nfake; i-- > 0;) {
		if (strcasecmp(fake[i].name, name) != 0)
			continue;
		switch (fake[i].kind) {
		case FK_TXT:
			return fake_answer(name, fake[i].txt, ans, size, len);
		case FK_TEMPFAIL:
			return RG_DKIM_DNS_TEMPFAIL;
		case FK_SERVFAIL:
			(void)rg_dkim_dns_txt_answer(name, 2, NULL, 0, ans, size, len);
			return RG_DKIM_DNS_ANSWER;
		case FK_NODATA:
			return RG_DKIM_DNS_NODATA;
		case FK_SHORT:
			*len = 5;
			return RG_DKIM_DNS_ANSWER;
		}
	}
	return RG_DKIM_DNS_NXDOMAIN;
}

/* always_tempfail - a resolver that never answers */
static enum rg_dkim_dns_result
always_tempfail(void *arg, const char *name, unsigned char *ans, size_t size,
    size_t *len)
{
	(void)name, (void)ans, (void)size, (void)len;
	(*(int *)arg)++;
	return RG_DKIM_DNS_TEMPFAIL;
}

/* publish - the records of every key a configuration signs with */
static void
publish(const struct rg_conf *c)
{
	const struct rg_dkim_keylist *lists[2] = { &c->dkim.sign,
	    &c->dkim.key_table.keys };

	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++) {
			const struct rg_dkim_key *k = &lists[l]->v[i];
			struct rg_buf rec = RG_BUF_INIT;
			char name[300];

			if (strcmp(k->domain, "%") == 0)
				continue;
			snprintf(name, sizeof(name), "%s._domainkey.%s", k->selector,
			    k->domain);
			if (rg_dkim_key_record(k, &rec) == 0)
				fake_add(name, FK_TXT, rg_buf_cstr(&rec));
			rg_buf_release(&rec);
		}
}

/* --- driving the module ----------------------------------------------------- */

static int leadspc = 1;		/* how fields are handed to the module */

/* verify - feed a message; body in small chunks, as a milter may get it */
static enum rg_dkim_status
verify(const struct rg_conf *c, const struct tmsg *m,
    struct rg_dkim_results *res)
{
	struct rg_dkim_verify *v = rg_dkim_verify_new(c, "TESTQID");
	enum rg_dkim_status st;

	if (v == NULL) {
		memset(res, 0, sizeof(*res));
		return RG_DKIM_INVAL;
	}
	rg_dkim_verify_leadspc(v, leadspc);
	for (size_t i = 0; i < m->n; i++)
		rg_dkim_verify_header(v, m->name[i], m->value[i]);
	rg_dkim_verify_eoh(v);
	for (size_t off = 0; off < m->body.len; off += 7)
		rg_dkim_verify_body(v, m->body.data + off,
		    m->body.len - off < 7 ? m->body.len - off : 7);
	st = rg_dkim_verify_eom(v, res);
	rg_dkim_verify_free(v);
	return st;
}

/* sign - sign m as from, and put the signatures at its top */
static enum rg_dkim_status
sign(const struct rg_conf *c, const char *from, struct tmsg *m,
    size_t *nsigs, struct rg_buf *why)
{
	struct rg_strlist sigs = { 0, NULL };
	struct rg_dkim_sign *s = rg_dkim_sign_new(c, from, "TESTQID", why);
	enum rg_dkim_status st;

	*nsigs = 0;
	if (s == NULL)
		return RG_DKIM_NOKEY;
	rg_dkim_sign_leadspc(s, leadspc);
	for (size_t i = 0; i < m->n; i++)
		rg_dkim_sign_header(s, m->name[i], m->value[i]);
	rg_dkim_sign_eoh(s);
	rg_dkim_sign_body(s, m->body.data, m->body.len);
	st = rg_dkim_sign_eom(s, &sigs, why);
	rg_dkim_sign_free(s);
	for (size_t i = 0; i < sigs.n; i++) {
		char value[8192];

		snprintf(value, sizeof(value), "%s%s", leadspc ? " " : "", sigs.v[i]);
		tmsg_add(m, "DKIM-Signature", value, 1);
	}
	*nsigs = sigs.n;
	rg_strlist_free(&sigs);
	return st;
}

static const char *rsa_pem, *ed_pem, *rsa512_pem, *rsa1024_pem;

static struct rg_conf *
load(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* load - a configuration from printf-style text; aborts the test on error */
static struct rg_conf *
load(const char *fmt, ...)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c;
	char text[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	c = rg_conf_load(dk_write("dkim.conf", text, 0644), &err, NULL);
	if (c == NULL) {
		printf("configuration failed: %s\n", rg_buf_cstr(&err));
		exit(1);
	}
	rg_buf_release(&err);
	return c;
}

/* check_one - exactly one result, with this outcome and reason */
static void
check_one(const struct rg_dkim_results *r, enum rg_dkim_result want,
    const char *reason)
{
	RGT_INTEQ(r->n, 1);
	if (r->n != 1)
		return;
	RGT_CHECK(r->sig[0].result == want, "got %s (%s), want %s",
	    rg_dkim_result_name(r->sig[0].result), r->sig[0].reason,
	    rg_dkim_result_name(want));
	if (reason != NULL)
		RGT_STREQ(r->sig[0].reason, reason);
}

/* sign_verify - sign msg_text as alice with c, then verify it */
static void
sign_verify(const struct rg_conf *c, struct tmsg *m,
    struct rg_dkim_results *r, size_t want_sigs)
{
	struct rg_buf why = RG_BUF_INIT;
	size_t n;

	tmsg_parse(m, msg_text);
	RGT_INTEQ(sign(c, "alice@example.com", m, &n, &why), RG_DKIM_OK);
	RGT_INTEQ(n, want_sigs);
	RGT_STREQ(rg_buf_cstr(&why), "");
	RGT_INTEQ(verify(c, m, r), RG_DKIM_OK);
	rg_buf_release(&why);
}

/* sig_b_tag - where the b= tag of a signature value starts, or "" */
static const char *
sig_b_tag(const char *sig)
{
	const char *p = sig;

	/* the tag starts the value or follows ';' or white space */
	while ((p = strstr(p, "b=")) != NULL && p != sig &&
	    strchr(" \t\n;", p[-1]) == NULL)
		p += 2;
	return p ? p : "";
}

/* sig_b - the b= tag's value, white space removed (static) */
static const char *
sig_b(const char *sig)
{
	static char b[2048];
	const char *p = sig_b_tag(sig);
	size_t n = 0;

	for (p = *p ? p + 2 : ""; *p && *p != ';' && n + 1 < sizeof(b); p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			b[n++] = *p;
	b[n] = '\0';
	return b;
}

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

	snprintf(cmd, sizeof(cmd), "openssl pkey -in '%s' -pubout -outform DER | "
	    "base64 -w0", pem_path);
	snprintf(rec, sizeof(rec), "v=DKIM1; k=rsa; p=%s", dk_cmd_output(cmd));
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

/* --- signing ------------------------------------------------------------------ */

/* count_ci - occurrences of needle in hay, ignoring case */
static int
count_ci(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strcasestr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
test_signing(void)
{
	const char *kt = dk_write("kt", "", 0644), *st;
	struct rg_buf why = RG_BUF_INIT;
	struct rg_dkim_results r;
	struct rg_conf *c;
	struct tmsg m;
	size_t n;
	char text[2048];

	snprintf(text, sizeof(text), "rsa example.com:rsa:%s\nany %%:any:%s\n",
	    rsa_pem, ed_pem);
	kt = dk_write("kt", text, 0644);
	st = dk_write("st", "*@example.com rsa\n*@*.example.org any @%\n", 0644);
	c = load("dkim_key_table = %s\ndkim_signing_table = refile:%s\n"
	    "dkim_sign = example.com rsa %s, example.net n %s\n", kt, st, rsa_pem,
	    ed_pem);
	publish(c);

	RGT_CASE("no key for the sender: NULL, and no error");
	RGT_CHECK(rg_dkim_sign_new(c, "someone@example.info", "Q", &why) == NULL,
	    "signer for a foreign domain");
	RGT_CHECK(rg_dkim_sign_new(c, "", "Q", &why) == NULL, "signer for \"\"");
	RGT_CHECK(rg_dkim_sign_new(c, NULL, "Q", &why) == NULL, "signer for NULL");
	RGT_STREQ(rg_buf_cstr(&why), "");

	RGT_CASE("%% domain from a From address that is no host name");
	RGT_CHECK(rg_dkim_sign_new(c, "a@x y.example.org", "Q", &why) == NULL,
	    "signed for a bad domain");
	RGT_CHECK(rg_dkim_sign_new(c, "a@x..example.org", "Q", &why) == NULL,
	    "signed for a bad domain");

	RGT_CASE("table and triple name the same key once");
	{
		struct rg_dkim_sign *s = rg_dkim_sign_new(c, "a@example.com", "Q", &why);

		RGT_INTEQ(rg_dkim_sign_count(s), 1);
		rg_dkim_sign_free(s);
	}

	RGT_CASE("%% domain and %% signer: d= and i= of the From domain");
	tmsg_parse(&m, msg_text);
	tmsg_set(&m, "From", " Carol <carol@sub.example.org>");
	RGT_INTEQ(sign(&*c, "carol@sub.example.org", &m, &n, &why), RG_DKIM_OK);
	RGT_INTEQ(n, 1);
	RGT_CONTAINS(m.value[0], "d=sub.example.org");
	RGT_CONTAINS(m.value[0], "i=@sub.example.org");
	RGT_CONTAINS(m.value[0], "a=ed25519-sha256");
	fake_add("any._domainkey.sub.example.org", FK_TXT, NULL);
	{
		struct rg_buf rec = RG_BUF_INIT;

		rg_dkim_key_record(&c->dkim.key_table.keys.v[1], &rec);
		fake[nfake - 1].txt = rg_buf_steal(&rec);
	}
	verify(c, &m, &r);
	check_one(&r, RG_DKIM_PASS, "");
	rg_dkim_results_release(&r);
	tmsg_free(&m);

	RGT_CASE("signature value: LF folds, From oversigned, default fields");
	tmsg_parse(&m, msg_text);
	RGT_INTEQ(sign(c, "alice@example.com", &m, &n, &why), RG_DKIM_OK);
	RGT_CHECK(strchr(m.value[0], '\r') == NULL, "CR in the value");
	RGT_CONTAINS(m.value[0], "\n\t");
	RGT_CHECK(m.value[0][strlen(m.value[0]) - 1] != '\n', "trailing newline");
	{
		const char *h = strstr(m.value[0], "h=");

		RGT_CHECK(h != NULL && count_ci(h, "from") == 2,
		    "From once more than it occurs: %s", h ? h : "(no h=)");
		RGT_CHECK(h != NULL && strcasestr(h, "subject") != NULL, "Subject");
		RGT_CHECK(h != NULL && strcasestr(h, "received") == NULL,
		    "Received is not signed");
	}
	tmsg_free(&m);

	RGT_CASE("no From header field: permfail");
	tmsg_parse(&m, msg_text);
	tmsg_del(&m, "From");
	rg_buf_reset(&why);
	RGT_INTEQ(sign(c, "alice@example.com", &m, &n, &why), RG_DKIM_PERMFAIL);
	RGT_INTEQ(n, 0);
	RGT_CONTAINS(rg_buf_cstr(&why), "no From header field");
	tmsg_free(&m);

	RGT_CASE("too many fields to sign: permfail");
	tmsg_parse(&m, msg_text);
	for (int i = 0; i < 1200; i++)
		tmsg_add(&m, "X-Junk", " junk", 0);
	rg_buf_reset(&why);
	RGT_INTEQ(sign(c, "alice@example.com", &m, &n, &why), RG_DKIM_PERMFAIL);
	RGT_INTEQ(n, 0);
	RGT_CONTAINS(rg_buf_cstr(&why), "too many header fields");
	tmsg_free(&m);

	RGT_CASE("signer used out of order");
	{
		struct rg_dkim_sign *s = rg_dkim_sign_new(c, "a@example.com", "Q", &why);
		struct rg_strlist out = { 0, NULL };

		rg_dkim_sign_body(s, "x\r\n", 3);
		rg_dkim_sign_header(s, "From", " a@example.com");
		RGT_INTEQ(rg_dkim_sign_eom(s, &out, NULL), RG_DKIM_PERMFAIL);
		RGT_INTEQ(rg_dkim_sign_eom(s, &out, NULL), RG_DKIM_INVAL);
		rg_strlist_free(&out);
		rg_dkim_sign_free(s);
		RGT_CHECK(rg_dkim_sign_free(NULL) == NULL, "free(NULL)");
	}
	rg_buf_release(&why);
	rg_conf_release(c);
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

/* --- threads ------------------------------------------------------------------ */

struct thread_arg {
	const struct rg_conf *conf;
	int lookups, passes, rounds;
};

/* thread_lookup - the fake records, read-only while threads run */
static enum rg_dkim_dns_result
thread_lookup(void *arg, const char *name, unsigned char *ans, size_t size,
    size_t *len)
{
	struct thread_arg *t = arg;

	t->lookups++;
	for (size_t i = nfake; i-- > 0;)
		if (fake[i].kind == FK_TXT && strcasecmp(fake[i].name, name) == 0)
			return fake_answer(name, fake[i].txt, ans, size, len);
	return RG_DKIM_DNS_NXDOMAIN;
}

/* thread_main - sign and verify, again and again, with its own resolver */
static void *
thread_main(void *arg)
{
	struct thread_arg *t = arg;

	for (int round = 0; round < t->rounds; round++) {
		struct rg_strlist sigs = { 0, NULL };
		struct rg_dkim_results r;
		struct rg_dkim_sign *s = rg_dkim_sign_new(t->conf, "alice@example.com",
		    "T", NULL);
		struct rg_dkim_verify *v = rg_dkim_verify_new(t->conf, "T");
		struct tmsg m;

		tmsg_parse(&m, msg_text);
		for (size_t i = 0; i < m.n; i++)
			rg_dkim_sign_header(s, m.name[i], m.value[i]);
		rg_dkim_sign_body(s, m.body.data, m.body.len);
		(void)rg_dkim_sign_eom(s, &sigs, NULL);
		rg_dkim_sign_free(s);
		rg_dkim_verify_set_resolver(v, thread_lookup, t);
		for (size_t i = 0; i < sigs.n; i++) {
			char value[8192];

			snprintf(value, sizeof(value), " %s", sigs.v[i]);
			rg_dkim_verify_header(v, "DKIM-Signature", value);
		}
		for (size_t i = 0; i < m.n; i++)
			rg_dkim_verify_header(v, m.name[i], m.value[i]);
		rg_dkim_verify_body(v, m.body.data, m.body.len);
		(void)rg_dkim_verify_eom(v, &r);
		for (size_t i = 0; i < r.n; i++)
			t->passes += r.sig[i].result == RG_DKIM_PASS;
		rg_dkim_results_release(&r);
		rg_dkim_verify_free(v);
		rg_strlist_free(&sigs);
		tmsg_free(&m);
	}
	return NULL;
}

static void
test_threads(void)
{
	struct rg_conf *c = load("dkim_sign = example.com rsa %s, example.com ed %s\n",
	    rsa_pem, ed_pem);
	struct thread_arg args[4];
	pthread_t tid[4];

	publish(c);
	RGT_CASE("four threads sign and verify at once");
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ c, 0, 0, 10 };
		RGT_INTEQ(pthread_create(&tid[i], NULL, thread_main, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		RGT_INTEQ(args[i].passes, 2 * args[i].rounds);
		RGT_INTEQ(args[i].lookups, 2 * args[i].rounds);
	}
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
	rsa_pem = dk_genkey("rsa.pem", "rsa", 2048, 0);
	rsa1024_pem = dk_genkey("rsa1024.pem", "rsa", 1024, 0);
	rsa512_pem = dk_genkey("rsa512.pem", "rsa", 512, 0);
	ed_pem = dk_genkey("ed.pem", "ed25519", 0, 0);
	test_roundtrip();
	test_two_signatures();
	test_tampering();
	test_keys_and_dns();
	test_rfc8301();
	test_resinfo();
	test_authres_header();
	test_garbage_signatures();
	test_malformed_fields();
	test_many_signatures();
	test_body_and_order();
	test_leadspc();
	test_signing();
	test_from_address();
	test_dns_answer();
	test_cname_reply();
	test_threads();
	rg_dkim_shutdown();
	printf("%d passed, %d failed\n", rgt_passed, rgt_failed);
	return rgt_failed != 0;
}
