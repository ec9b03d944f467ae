/*
 * dns_fake.c - a resolver backend that answers from a zone-like file
 *
 * For unit tests: no network, deterministic answers, and every failure a
 * test needs. One line per record, "name TYPE data":
 *
 *   2.0.0.127.zen.test  A      127.0.0.2
 *   example.test        TXT    "v=spf1 " "-all"
 *   example.test        MX     10 mx.example.test
 *   bad.test            TXT    \# 3 056162        (RFC 3597 s5 raw rdata)
 *   slow.test           TIMEOUT                   (never answered)
 *   broken.test         SERVFAIL
 *   later.test          DELAY  50ms              (answers come 50 ms late,
 *                                                 from another thread)
 *
 * A name with records of other types answers NODATA, and so does a name
 * that only exists as the parent of others (RFC 8020); anything else is
 * NXDOMAIN. Records are converted to wire-format rdata at load time, so
 * answers go through the same decoder as libunbound's.
 *
 * The record table is immutable after loading; delayed answers run on
 * their own threads with a copy of their data, counted under fake->mutex
 * so that stop() can wait for them. Thread-safe.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "strutil.h"
#include "xalloc.h"

#define FAKE_LINE_MAX	8192
#define FAKE_STRING_MAX	255	/* one character-string: RFC 1035 s3.3 */
#define FAKE_DELAY_MAX	60000	/* ms */

enum fake_kind { FAKE_RR, FAKE_TIMEOUT, FAKE_SERVFAIL, FAKE_DELAY };
enum fake_id { FAKE_ID_NEVER = 1, FAKE_ID_DONE, FAKE_ID_DELAYED };

struct fake_rec {
	char *name;		/* lower case, no final dot */
	enum fake_kind kind;
	int type;
	unsigned char *rdata;
	size_t len;
	long long delay_ms;
};

struct dns_fake {
	struct fake_rec *v;
	size_t n;
	pthread_mutex_t mutex;	/* nthreads, stopping */
	pthread_cond_t cond;
	size_t nthreads;
	int stopping;
};

/* a delayed answer with its own copy of the data */
struct fake_later {
	struct dns_fake *fake;
	struct rg_dns_query *q;
	struct rg_dns_answer a;
	char **data;
	int *len;
	long long delay_ms;
};

/* fake_norm - lower case, no final dot, bounded */
static void
fake_norm(char *dst, size_t size, const char *src)
{
	size_t len;

	rg_strlcpy(dst, src, size);
	rg_str_lower(dst);
	len = strlen(dst);
	if (len > 1 && dst[len - 1] == '.')
		dst[len - 1] = '\0';
}

/* fake_find - the first record of name with this kind, or NULL */
static const struct fake_rec *
fake_find(const struct dns_fake *f, const char *name, enum fake_kind kind)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].kind == kind && strcmp(f->v[i].name, name) == 0)
			return &f->v[i];
	return NULL;
}

/* fake_exists - name owns records, or is an empty non-terminal above some */
static int
fake_exists(const struct dns_fake *f, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < f->n; i++) {
		const char *r = f->v[i].name;
		size_t rl = strlen(r);

		if (strcmp(r, name) == 0)
			return 1;
		if (rl > nl && r[rl - nl - 1] == '.' && strcmp(r + rl - nl, name) == 0)
			return 1;
	}
	return 0;
}

/* fake_later_free - a delayed answer's copies */
static void
fake_later_free(struct fake_later *l)
{
	for (size_t i = 0; l->data != NULL && l->data[i] != NULL; i++)
		free(l->data[i]);
	free(l->data);
	free(l->len);
	free(l);
}

/* fake_later_run - sleep (cut short by stop), then deliver */
static void *
fake_later_run(void *arg)
{
	struct fake_later *l = arg;
	struct dns_fake *f = l->fake;
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(l->delay_ms / 1000);
	until.tv_nsec += (long)(l->delay_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->mutex);
	while (!f->stopping &&
	    pthread_cond_timedwait(&f->cond, &f->mutex, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&f->mutex);
	rg_dns_query_done(l->q, &l->a);
	fake_later_free(l);
	pthread_mutex_lock(&f->mutex);
	f->nthreads--;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->mutex);
	return NULL;
}

/* fake_deliver_later - copy the answer and hand it to a thread */
static int
fake_deliver_later(struct dns_fake *f, struct rg_dns_query *q,
    const struct rg_dns_answer *a, size_t n, long long delay_ms)
{
	struct fake_later *l = rg_xcalloc(1, sizeof(*l));
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	l->fake = f;
	l->q = q;
	l->a = *a;
	l->a.why = NULL;
	l->delay_ms = delay_ms;
	l->data = rg_xcalloc(n + 1, sizeof(char *));
	l->len = rg_xcalloc(n + 1, sizeof(int));
	for (size_t i = 0; i < n; i++) {
		l->data[i] = rg_xmemdup(a->data[i], (size_t)a->len[i]);
		l->len[i] = a->len[i];
	}
	l->a.data = l->data;
	l->a.len = l->len;
	pthread_mutex_lock(&f->mutex);
	if (f->stopping) {
		pthread_mutex_unlock(&f->mutex);
		fake_later_free(l);
		return -1;
	}
	f->nthreads++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&tid, &attr, fake_later_run, l);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		f->nthreads--;
	pthread_mutex_unlock(&f->mutex);
	if (rc != 0)
		fake_later_free(l);
	return rc == 0 ? 0 : -1;
}

/* fake_start - answer from the table, now or after the name's delay */
static int
fake_start(void *impl, struct rg_dns_query *q, const char *qname, int rrtype,
    int *id, char *why, size_t whysize)
{
	struct dns_fake *f = impl;
	struct rg_dns_answer a = { .status = RG_DNS_OK, .rcode = 0, .ttl = 300 };
	const struct fake_rec *delay;
	char name[RG_DNS_TEXT_MAX], **data;
	int *len, rc = 0;
	size_t n = 0;

	fake_norm(name, sizeof(name), qname);
	if (fake_find(f, name, FAKE_TIMEOUT) != NULL) {
		*id = FAKE_ID_NEVER;
		return 0;
	}
	data = rg_xcalloc(f->n + 1, sizeof(char *));
	len = rg_xcalloc(f->n + 1, sizeof(int));
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].kind == FAKE_RR && f->v[i].type == rrtype &&
		    strcmp(f->v[i].name, name) == 0) {
			data[n] = (char *)f->v[i].rdata;
			len[n++] = (int)f->v[i].len;
		}
	a.data = data;
	a.len = len;
	if (fake_find(f, name, FAKE_SERVFAIL) != NULL) {
		a.status = RG_DNS_SERVFAIL;
		a.rcode = 2;
		a.why = "SERVFAIL (fake)";
	} else if (n == 0) {
		a.status = fake_exists(f, name) ? RG_DNS_NODATA : RG_DNS_NXDOMAIN;
		a.rcode = a.status == RG_DNS_NXDOMAIN ? 3 : 0;
	}
	if ((delay = fake_find(f, name, FAKE_DELAY)) != NULL) {
		*id = FAKE_ID_DELAYED;
		if ((rc = fake_deliver_later(f, q, &a, n, delay->delay_ms)) < 0)
			rg_strlcpy(why, "resolver stopped", whysize);
	} else {
		*id = FAKE_ID_DONE;
		rg_dns_query_done(q, &a);
	}
	free(data);
	free(len);
	return rc;
}

/* fake_cancel - only a query that is never answered can be cancelled */
static int
fake_cancel(void *impl, int id)
{
	(void)impl;
	return id == FAKE_ID_NEVER ? 0 : -1;
}

/* fake_stop - wake delayed answers and wait until they are delivered */
static void
fake_stop(void *impl)
{
	struct dns_fake *f = impl;

	pthread_mutex_lock(&f->mutex);
	f->stopping = 1;
	pthread_cond_broadcast(&f->cond);
	while (f->nthreads > 0)
		pthread_cond_wait(&f->cond, &f->mutex);
	pthread_mutex_unlock(&f->mutex);
}

/* fake_free - the record table and the handle's locks */
static void
fake_free(void *impl)
{
	struct dns_fake *f = impl;

	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		free(f->v[i].rdata);
	}
	free(f->v);
	pthread_cond_destroy(&f->cond);
	pthread_mutex_destroy(&f->mutex);
	free(f);
}

static const struct rg_dns_backend fake_backend = {
	.name = "fake",
	.start = fake_start,
	.cancel = fake_cancel,
	.stop = fake_stop,
	.free = fake_free,
};

/* ---- loading ----------------------------------------------------------- */

struct fake_tok {
	unsigned char s[FAKE_LINE_MAX];
	size_t len;
	int quoted;
};

/*
 * fake_token - the next word or "quoted string" (with \" \\ \DDD) of s
 * from *pos; 1: got one, 0: end of line, -1: syntax error
 */
static int
fake_token(const char *s, size_t *pos, struct fake_tok *t)
{
	size_t p = *pos;

	t->len = 0;
	t->quoted = 0;
	while (s[p] == ' ' || s[p] == '\t')
		p++;
	if (s[p] == '\0')
		return 0;
	if (s[p] != '"') {
		while (s[p] != '\0' && s[p] != ' ' && s[p] != '\t')
			t->s[t->len++] = (unsigned char)s[p++];
		*pos = p;
		return 1;
	}
	t->quoted = 1;
	for (p++; s[p] != '"'; p++) {
		unsigned v;

		if (s[p] == '\0')
			return -1;	/* no closing quote */
		if (s[p] != '\\') {
			t->s[t->len++] = (unsigned char)s[p];
			continue;
		}
		p++;
		if (isdigit((unsigned char)s[p]) && isdigit((unsigned char)s[p + 1]) &&
		    isdigit((unsigned char)s[p + 2])) {
			v = (unsigned)(s[p] - '0') * 100 + (unsigned)(s[p + 1] - '0') * 10 +
			    (unsigned)(s[p + 2] - '0');
			if (v > 255)
				return -1;
			t->s[t->len++] = (unsigned char)v;
			p += 2;
		} else if (s[p] != '\0') {
			t->s[t->len++] = (unsigned char)s[p];
		} else {
			return -1;
		}
	}
	*pos = p + 1;
	return 1;
}

/* fake_wire_name - a text name to uncompressed wire form; its length or -1 */
static int
fake_wire_name(const char *text, unsigned char *out, size_t size)
{
	size_t o = 0, tl = strlen(text);

	if (tl > 0 && text[tl - 1] == '.')
		tl--;
	while (tl > 0) {
		const char *dot = memchr(text, '.', tl);
		size_t l = dot ? (size_t)(dot - text) : tl;

		if (l == 0 || l > RG_DNS_LABEL_MAX || o + 1 + l + 1 > size)
			return -1;
		out[o++] = (unsigned char)l;
		memcpy(out + o, text, l);
		o += l;
		text += l;
		tl -= l;
		if (dot != NULL) {
			text++;
			tl--;
		}
	}
	out[o++] = 0;
	return o <= RG_DNS_NAME_MAX ? (int)o : -1;
}

/* fake_xdigit - the value of a hex digit, or -1 */
static int
fake_xdigit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* fake_hex - RFC 3597 s5 "\# len hexdigits..." after the type */
static int
fake_hex(const char *s, size_t *pos, struct fake_tok *t, struct rg_buf *rd)
{
	long long want;
	int rc;

	if (fake_token(s, pos, t) != 1)
		return -1;
	t->s[t->len] = '\0';
	if (rg_str_parse_ll((char *)t->s, &want) < 0 || want < 0 || want > 65535)
		return -1;
	while ((rc = fake_token(s, pos, t)) == 1) {
		if (t->len % 2 != 0)
			return -1;
		for (size_t i = 0; i < t->len; i += 2) {
			int hi = fake_xdigit(t->s[i]), lo = fake_xdigit(t->s[i + 1]);

			if (hi < 0 || lo < 0)
				return -1;
			rg_buf_putc(rd, hi << 4 | lo);
		}
	}
	return rc == 0 && rd->len == (size_t)want ? 0 : -1;
}

/* fake_rdata - the data after the type in wire form; NULL or an error text */
static const char *
fake_rdata(int type, const char *s, size_t *pos, struct fake_tok *t,
    struct rg_buf *rd)
{
	unsigned char bin[RG_DNS_NAME_MAX + 2];
	long long pref;
	int rc, n;

	if ((rc = fake_token(s, pos, t)) != 1)
		return rc == 0 ? "missing data" : "unterminated string";
	if (!t->quoted && t->len == 2 && memcmp(t->s, "\\#", 2) == 0)
		return fake_hex(s, pos, t, rd) == 0 ? NULL : "bad \\# data";
	t->s[t->len] = '\0';
	switch (type) {
	case RG_DNS_T_A:
	case RG_DNS_T_AAAA:
		if (inet_pton(type == RG_DNS_T_A ? AF_INET : AF_INET6,
		    (char *)t->s, bin) != 1)
			return "bad address";
		rg_buf_append(rd, bin, type == RG_DNS_T_A ? 4 : 16);
		break;
	case RG_DNS_T_TXT:
	case 99:	/* SPF */
		do {
			if (t->len > FAKE_STRING_MAX)
				return "string longer than 255 bytes";
			rg_buf_putc(rd, (int)t->len);
			rg_buf_append(rd, t->s, t->len);
		} while ((rc = fake_token(s, pos, t)) == 1);
		return rc < 0 ? "unterminated string" : NULL;
	case RG_DNS_T_MX:
		if (rg_str_parse_ll((char *)t->s, &pref) < 0 || pref < 0 || pref > 65535)
			return "bad MX preference";
		rg_buf_putc(rd, (int)(pref >> 8));
		rg_buf_putc(rd, (int)(pref & 0xff));
		if (fake_token(s, pos, t) != 1)
			return "missing MX host";
		t->s[t->len] = '\0';
		/* FALLTHROUGH */
	case RG_DNS_T_PTR:
	case RG_DNS_T_CNAME:
	case RG_DNS_T_NS:
		if ((n = fake_wire_name((char *)t->s, bin, sizeof(bin))) < 0)
			return "bad name";
		rg_buf_append(rd, bin, (size_t)n);
		break;
	default:
		return "type needs RFC 3597 \\# data";
	}
	return fake_token(s, pos, t) == 0 ? NULL : "extra data at end of line";
}

/* fake_add - append a record; takes rdata */
static void
fake_add(struct dns_fake *f, const char *name, enum fake_kind kind, int type,
    struct rg_buf *rd, long long delay_ms)
{
	struct fake_rec *r;
	char norm[RG_DNS_TEXT_MAX];

	f->v = rg_xreallocarray(f->v, f->n + 1, sizeof(*f->v));
	r = &f->v[f->n++];
	memset(r, 0, sizeof(*r));
	fake_norm(norm, sizeof(norm), name);
	r->name = rg_xstrdup(norm);
	r->kind = kind;
	r->type = type;
	r->delay_ms = delay_ms;
	if (rd != NULL) {
		r->len = rd->len;
		r->rdata = rd->len ? (unsigned char *)rg_buf_steal(rd) :
		    rg_xcalloc(1, 1);
	}
}

/* fake_special - TIMEOUT, SERVFAIL, DELAY; 1 if it was one, -1 on error */
static int
fake_special(struct dns_fake *f, const char *name, const char *word,
    const char *s, size_t *pos, struct fake_tok *t)
{
	long long ms;
	size_t l;

	if (strcasecmp(word, "TIMEOUT") == 0 || strcasecmp(word, "SERVFAIL") == 0) {
		if (fake_token(s, pos, t) != 0)
			return -1;
		fake_add(f, name, strcasecmp(word, "TIMEOUT") == 0 ? FAKE_TIMEOUT :
		    FAKE_SERVFAIL, 0, NULL, 0);
		return 1;
	}
	if (strcasecmp(word, "DELAY") != 0)
		return 0;
	if (fake_token(s, pos, t) != 1)
		return -1;
	t->s[t->len] = '\0';
	l = t->len;
	if (l > 2 && strcmp((char *)t->s + l - 2, "ms") == 0)
		t->s[l - 2] = '\0';
	if (rg_str_parse_ll((char *)t->s, &ms) < 0 || ms < 0 || ms > FAKE_DELAY_MAX ||
	    fake_token(s, pos, t) != 0)
		return -1;
	fake_add(f, name, FAKE_DELAY, 0, NULL, ms);
	return 1;
}

/* fake_line - one line of the file; an error is appended to err */
static void
fake_line(struct dns_fake *f, const char *s, const char *label, int lineno,
    struct rg_buf *err)
{
	struct fake_tok *t = rg_xmalloc(sizeof(*t));
	struct rg_buf rd = RG_BUF_INIT;
	char name[RG_DNS_TEXT_MAX], word[32];
	const char *why = NULL;
	size_t pos = 0;
	int type = 0, sp;

	if (fake_token(s, &pos, t) != 1 || t->quoted || t->len >= sizeof(name))
		why = "bad name";
	else {
		memcpy(name, t->s, t->len);
		name[t->len] = '\0';
		if (!rg_dns_name_valid(name))
			why = "bad name";
	}
	if (why == NULL && (fake_token(s, &pos, t) != 1 || t->len >= sizeof(word)))
		why = "missing type";
	if (why == NULL) {
		memcpy(word, t->s, t->len);
		word[t->len] = '\0';
		if ((sp = fake_special(f, name, word, s, &pos, t)) < 0)
			why = "bad TIMEOUT, SERVFAIL or DELAY line";
		else if (sp == 0 && (type = rg_dns_type_parse(word)) < 0)
			why = "unknown type";
		else if (sp == 0 && (why = fake_rdata(type, s, &pos, t, &rd)) == NULL)
			fake_add(f, name, FAKE_RR, type, &rd, 0);
	}
	if (why != NULL)
		rg_buf_printf(err, "%s:%d: %s\n", label, lineno, why);
	rg_buf_release(&rd);
	free(t);
}

/* fake_load - every line of fp; 0, or -1 with errors in err */
static int
fake_load(struct dns_fake *f, FILE *fp, const char *label, struct rg_buf *err)
{
	char *line = NULL;
	size_t cap = 0, errlen = err ? err->len : 0;
	ssize_t len;
	int lineno = 0, bad = 0;
	struct rg_buf scratch = RG_BUF_INIT;

	if (err == NULL)
		err = &scratch;
	while ((len = getline(&line, &cap, fp)) >= 0) {
		char *p = line;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		if (len >= FAKE_LINE_MAX || memchr(line, '\0', (size_t)len) != NULL) {
			rg_buf_printf(err, "%s:%d: line too long or with NUL\n", label, lineno);
			continue;
		}
		fake_line(f, p, label, lineno, err);
	}
	free(line);
	bad = err->len > errlen;
	rg_buf_release(&scratch);
	return bad ? -1 : 0;
}

/* fake_open_fp - a handle answering from fp's records */
static struct rg_dns *
fake_open_fp(FILE *fp, const char *label, struct rg_buf *err)
{
	struct dns_fake *f = rg_xcalloc(1, sizeof(*f));
	pthread_condattr_t ca;

	pthread_mutex_init(&f->mutex, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (fake_load(f, fp, label, err) < 0) {
		fake_free(f);
		return NULL;
	}
	return rg_dns_new(&fake_backend, f);
}

/* rg_dns_fake_open - a fake resolver from a zone-like file */
struct rg_dns *
rg_dns_fake_open(const char *path, struct rg_buf *err)
{
	struct rg_dns *dns;
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		if (err != NULL)
			rg_buf_printf(err, "%s: cannot open: %s\n", path, strerror(errno));
		return NULL;
	}
	dns = fake_open_fp(fp, path, err);
	fclose(fp);
	return dns;
}

/* rg_dns_fake_open_text - a fake resolver from a string */
struct rg_dns *
rg_dns_fake_open_text(const char *text, const char *label, struct rg_buf *err)
{
	struct rg_dns *dns;
	/* glibc refuses a zero-sized memory stream */
	FILE *fp = *text ? fmemopen((void *)text, strlen(text), "r") :
	    fmemopen((void *)"\n", 1, "r");

	if (fp == NULL) {
		if (err != NULL)
			rg_buf_printf(err, "%s: cannot read: %s\n", label, strerror(errno));
		return NULL;
	}
	dns = fake_open_fp(fp, label, err);
	fclose(fp);
	return dns;
}
