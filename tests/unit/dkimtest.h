/*
 * dkimtest.h - the fixture of the DKIM tests: a message as the milter hands
 * it over (struct tmsg), a fake resolver answering with wire-format
 * replies built from the keys a configuration signs with, and helpers that
 * sign and verify through the module's public API. Keys are made at test
 * time (dkimkeys.h).
 */
#ifndef DKIMTEST_H
#define DKIMTEST_H

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
static inline void
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
static inline void
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
static inline void
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

static inline void
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
static inline void
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
static inline void
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

static inline void
fake_add(const char *name, enum fake_kind kind, const char *txt)
{
	if (nfake == sizeof(fake) / sizeof(fake[0]))
		abort();
	snprintf(fake[nfake].name, sizeof(fake[nfake].name), "%s", name);
	fake[nfake].txt = txt ? rg_xstrdup(txt) : NULL;
	fake[nfake++].kind = kind;
}

/* fake_truncate - forget the records after the first n */
static inline void
fake_truncate(size_t n)
{
	while (nfake > n)
		free(fake[--nfake].txt);
}

/* fake_file - driver mode: the record in keydir/name, or NULL */
static inline char *
fake_file(const char *name)
{
	char path[1024];
	char *txt;

	if (fake_keydir == NULL || strchr(name, '/') != NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", fake_keydir, name);
	if ((txt = dk_slurp(path)) != NULL)
		txt[strcspn(txt, "\r\n")] = '\0';
	return txt;
}

/* fake_answer - a TXT reply packet for one record */
static inline enum rg_dkim_dns_result
fake_answer(const char *name, const char *txt, unsigned char *ans,
    size_t size, size_t *len)
{
	const char *t[1] = { txt };

	return rg_dkim_dns_txt_answer(name, 0, t, 1, ans, size, len) == 0 ?
	    RG_DKIM_DNS_ANSWER : RG_DKIM_DNS_TEMPFAIL;
}

static inline enum rg_dkim_dns_result
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
static inline enum rg_dkim_dns_result
always_tempfail(void *arg, const char *name, unsigned char *ans, size_t size,
    size_t *len)
{
	(void)name, (void)ans, (void)size, (void)len;
	(*(int *)arg)++;
	return RG_DKIM_DNS_TEMPFAIL;
}

/* publish - the records of every key a configuration signs with */
static inline void
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
static inline enum rg_dkim_status
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
static inline enum rg_dkim_status
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

static inline struct rg_conf *
load(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* load - a configuration from printf-style text; aborts the test on error */
static inline struct rg_conf *
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
static inline void
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
static inline void
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
static inline const char *
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
static inline const char *
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

/* dkt_keys - the test keys, made once */
static inline void
dkt_keys(void)
{
	rsa_pem = dk_genkey("rsa.pem", "rsa", 2048, 0);
	rsa1024_pem = dk_genkey("rsa1024.pem", "rsa", 1024, 0);
	rsa512_pem = dk_genkey("rsa512.pem", "rsa", 512, 0);
	ed_pem = dk_genkey("ed.pem", "ed25519", 0, 0);
}

/* dkt_start - a test program's start: the fake resolver, the library, the keys */
static inline void
dkt_start(void)
{
	rg_dkim_set_resolver(fake_lookup, NULL);
	RGT_CASE("library");
	RGT_INTEQ(rg_dkim_init(), 0);
	dkt_keys();
}

/* dkt_end - a test program's end: the library stopped, the tally; exit status */
static inline int
dkt_end(void)
{
	rg_dkim_shutdown();
	printf("%d passed, %d failed\n", rgt_passed, rgt_failed);
	return rgt_failed != 0;
}

#endif
