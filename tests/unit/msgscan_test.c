/*
 * msgscan_test.c - the corpus in tests/data/mime: every message, fed in
 * several chunkings and both ways the header can come (in the body, or
 * field by field as the milter hands it over), must give exactly the
 * domains, addresses, names and cap flags its .expect file lists, and the
 * same result every time. Then each message is mangled (bytes flipped,
 * cut short) and fed again, to show hostile input is survived. Run from
 * the top of the source tree (tests/unit/run.sh does).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgscan.h"
#include "rgtest.h"

#define CORPUS		"tests/data/mime"
#define CORPUS_MIN	40
#define MSG_MAX		(1 << 20)

/* the default caps, as relayguard.conf(5) documents them */
static const struct rg_mime_limits deflim = { 1 << 20, 500, 32 };
#define MAX_DOMAINS	50
#define MAX_IPS		20

static unsigned long seed;

/* rnd - a fixed-seed generator: chunkings repeat from run to run */
static unsigned
rnd(unsigned n)
{
	seed = seed * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(seed >> 33) % n;
}

/* slurp - a whole file; NULL when unreadable */
static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;

	if (fp == NULL)
		return NULL;
	buf = malloc(MSG_MAX);
	*len = fread(buf, 1, MSG_MAX, fp);
	fclose(fp);
	return buf;
}

/* line_cmp - qsort on lines */
static int
line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* lines_sorted - split text into lines, drop comments and blanks, sort,
 * join again: a canonical form to compare */
static char *
lines_sorted(const char *text)
{
	char *copy = strdup(text), *save = NULL, *l, **v = NULL;
	struct rg_buf out = RG_BUF_INIT;
	size_t n = 0;

	for (l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#' || l[0] == '\0')
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		v[n++] = l;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), line_cmp);
	for (size_t i = 0; i < n; i++)
		rg_buf_printf(&out, "%s\n", v[i]);
	free(v);
	free(copy);
	return out.data != NULL ? rg_buf_steal(&out) : strdup("");
}

/* result - what a scan found, in the .expect format, sorted */
static char *
result(const struct rg_msgscan *s)
{
	const struct rg_uriset *u = rg_msgscan_uris(s);
	unsigned mf = rg_msgscan_stats(s)->flags;
	struct rg_buf b = RG_BUF_INIT;
	char *out;

	for (size_t i = 0; i < u->ndomains; i++)
		rg_buf_printf(&b, "domain %s\n", u->domains[i]);
	for (size_t i = 0; i < u->nips; i++)
		rg_buf_printf(&b, "ip %s\n", u->ips[i].text);
	for (size_t i = 0; i < rg_msgscan_nnames(s); i++)
		rg_buf_printf(&b, "name %s %s\n", rg_msgscan_name(s, i)->path,
		    rg_msgscan_name(s, i)->name);
	if (mf & RG_MIME_F_DEPTH)
		rg_buf_puts(&b, "flag depth\n");
	if (mf & RG_MIME_F_PARTS)
		rg_buf_puts(&b, "flag parts\n");
	if (mf & RG_MIME_F_SCAN)
		rg_buf_puts(&b, "flag scan\n");
	if (mf & RG_MIME_F_NAMES)
		rg_buf_puts(&b, "flag names\n");
	if (u->flags & RG_URI_F_DOMAINS)
		rg_buf_puts(&b, "flag domains\n");
	if (u->flags & RG_URI_F_IPS)
		rg_buf_puts(&b, "flag ips\n");
	out = lines_sorted(rg_buf_cstr(&b));
	rg_buf_release(&b);
	return out;
}

/* feed - body bytes in chunks: chunk 0 means random sizes 1..97 */
static void
feed(struct rg_msgscan *s, const char *p, size_t len, size_t chunk)
{
	while (len > 0) {
		size_t n = chunk ? chunk : 1 + rnd(97);

		if (n > len)
			n = len;
		rg_msgscan_body(s, p, n);
		p += n;
		len -= n;
	}
}

/* eol_len - length of the line break at p (CRLF or LF), 0 if none */
static size_t
eol_len(const char *p, const char *end)
{
	if (p < end && *p == '\n')
		return 1;
	if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	return 0;
}

/* feed_fields - give the header field by field as the milter does (the
 * value without its leading space, folds kept as LF or CRLF plus white
 * space); returns the offset of the body */
static size_t
feed_fields(struct rg_msgscan *s, const char *msg, size_t len, int crlf)
{
	const char *p = msg, *end = msg + len;
	struct rg_buf name = RG_BUF_INIT, value = RG_BUF_INIT;

	while (p < end && eol_len(p, end) == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *colon;
		const char *le = nl != NULL ? nl : end;

		if (le > p && le[-1] == '\r')
			le--;
		if (*p == ' ' || *p == '\t') {
			rg_buf_puts(&value, crlf ? "\r\n" : "\n");
			rg_buf_append(&value, p, (size_t)(le - p));
		} else {
			if (name.len > 0)
				rg_msgscan_header(s, name.data, rg_buf_cstr(&value));
			rg_buf_reset(&name);
			rg_buf_reset(&value);
			colon = memchr(p, ':', (size_t)(le - p));
			if (colon == NULL)
				colon = le;
			rg_buf_append(&name, p, (size_t)(colon - p));
			colon += colon < le;
			while (colon < le && (*colon == ' ' || *colon == '\t'))
				colon++;
			rg_buf_append(&value, colon, (size_t)(le - colon));
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (name.len > 0)
		rg_msgscan_header(s, name.data, rg_buf_cstr(&value));
	rg_buf_release(&name);
	rg_buf_release(&value);
	return (size_t)(p - msg) + eol_len(p, end);
}

/* run - one scan of a message; fields: header given field by field */
static char *
run(const char *msg, size_t len, size_t chunk, int fields, int crlf)
{
	struct rg_msgscan *s = rg_msgscan_new_limits(&deflim, MAX_DOMAINS, MAX_IPS);
	size_t off = 0;
	char *out;

	if (fields)
		off = feed_fields(s, msg, len, crlf);
	else
		rg_msgscan_expect_header(s);
	feed(s, msg + off, len - off, chunk);
	rg_msgscan_end(s);
	out = result(s);
	rg_msgscan_free(s);
	return out;
}

/* report - "got X, want Y" as the lines missing and not expected */
static void
report(const char *file, const char *how, const char *got, const char *want)
{
	RGT_CHECK(strcmp(got, want) == 0, "%s (%s):\n--- want\n%s--- got\n%s",
	    file, how, want, got);
}

/* test_message - every way of feeding one message */
static void
test_message(const char *base)
{
	static const struct { size_t chunk; int fields; const char *how; } ways[] = {
		{ SIZE_MAX, 0, "whole" }, { 1, 0, "1-byte chunks" },
		{ 7, 0, "7-byte chunks" }, { 0, 0, "random chunks" },
		{ SIZE_MAX, 1, "fields, whole body" }, { 1, 1, "fields, 1-byte" },
		{ 0, 1, "fields, random chunks" },
	};
	char path[512], *msg, *exp, *want;
	size_t len = 0, elen = 0;

	RGT_CASE(base);
	snprintf(path, sizeof(path), CORPUS "/%s.eml", base);
	msg = slurp(path, &len);
	snprintf(path, sizeof(path), CORPUS "/%s.expect", base);
	exp = slurp(path, &elen);
	RGT_CHECK(msg != NULL && exp != NULL, "%s: .eml or .expect missing", base);
	if (msg == NULL || exp == NULL) {
		free(msg);
		free(exp);
		return;
	}
	exp[elen < MSG_MAX ? elen : MSG_MAX - 1] = '\0';
	want = lines_sorted(exp);
	RGT_CHECK(want[0] != '\0', "%s.expect lists nothing", base);
	seed = 20260302;
	for (size_t w = 0; w < sizeof(ways) / sizeof(ways[0]); w++) {
		char *got = run(msg, len, ways[w].chunk, ways[w].fields, (int)(w & 1));

		report(base, ways[w].how, got, want);
		free(got);
	}
	free(want);
	free(exp);
	free(msg);
}

static char *names[1024];
static size_t nnames;

/* list_corpus - the .eml files, sorted */
static void
list_corpus(void)
{
	DIR *d = opendir(CORPUS);
	struct dirent *de;

	RGT_CASE("corpus");
	RGT_CHECK(d != NULL, "cannot open " CORPUS);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL && nnames < 1024) {
		size_t n = strlen(de->d_name);

		if (n > 4 && strcmp(de->d_name + n - 4, ".eml") == 0)
			names[nnames++] = strndup(de->d_name, n - 4);
	}
	closedir(d);
	qsort(names, nnames, sizeof(names[0]), line_cmp);
	RGT_CHECK(nnames >= CORPUS_MIN, "the corpus has %zu messages, want at "
	    "least %d", nnames, CORPUS_MIN);
}

static void
test_corpus(void)
{
	for (size_t i = 0; i < nnames; i++)
		test_message(names[i]);
}

/* test_mangled - flipped bytes, cut messages, tiny caps: nothing may
 * crash or leak (the sanitizer build is where this bites) */
static void
test_mangled(void)
{
	static const struct rg_mime_limits tiny = { 64, 4, 2 };
	size_t runs = 0;

	RGT_CASE("mangled corpus");
	seed = 77;
	for (size_t i = 0; i < nnames; i++) {
		char path[512], *msg;
		size_t len = 0;

		snprintf(path, sizeof(path), CORPUS "/%s.eml", names[i]);
		if ((msg = slurp(path, &len)) == NULL)
			continue;
		for (int r = 0; r < 20 && len > 0; r++) {
			const struct rg_mime_limits *lim = r % 4 == 3 ? &tiny : &deflim;
			struct rg_msgscan *s = rg_msgscan_new_limits(lim, 3, 2);
			size_t cut = r % 5 == 4 ? rnd((unsigned)len) : len;

			for (int k = 0; k < 8; k++)
				msg[rnd((unsigned)len)] = (char)rnd(256);
			rg_msgscan_expect_header(s);
			feed(s, msg, cut, r % 3 == 0 ? 1 : 0);
			rg_msgscan_end(s);
			rg_msgscan_body(s, "late", 4);	/* ignored after the end */
			RGT_CHECK(rg_msgscan_uris(s)->ndomains <= 3 &&
			    rg_msgscan_uris(s)->nips <= 2, "%s: caps not kept", names[i]);
			rg_msgscan_free(s);
			runs++;
		}
		free(msg);
	}
	RGT_CHECK(runs >= 20 * CORPUS_MIN, "only %zu mangled runs", runs);
}

static void
cleanup(void)
{
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
}

RGT_MAIN(list_corpus, test_corpus, test_mangled, cleanup)
