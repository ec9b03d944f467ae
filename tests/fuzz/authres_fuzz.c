/*
 * authres_fuzz.c - libFuzzer target for Authentication-Results: the
 * matcher that finds forged fields claiming our authserv-id (RFC 8601
 * s5), as rg_engine_header() applies it, and the property values we write
 *
 * Input: the authserv-id (the MTA's host name, macro j), then header
 * values, separated by NUL bytes; every third value arrives as our
 * X-Relayguard-SPF tag field instead (from an untrusted client: always
 * forged), so the per-name occurrence counts are tested too. Invariants: the matcher agrees with a plain reading of RFC 8601
 * (CFWS, then a token or a quoted-string equal to the id without regard
 * to case), ignores the case of the id, and finds our own header; the
 * engine marks exactly the forged fields, in order, within its cap;
 * a property value is written plain or as a quoted-string that reads back.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "buf.h"
#include "engine.h"
#include "session.h"
#include "settings.h"
#include "fuzzutil.h"

#define AR_VALUES_MAX	64

static struct rg_conf *ar_conf;

/* ar_tspecial - RFC 2045 s5.1 tspecials */
static int
ar_tspecial(unsigned char c)
{
	return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* ar_skip_cfws - RFC 5322 s3.2.2 white space and nested comments */
static const char *
ar_skip_cfws(const char *p)
{
	int depth = 0;

	for (;; p++) {
		if (*p == '(') {
			depth++;
		} else if (depth > 0 && *p == ')') {
			depth--;
		} else if (depth > 0 && *p == '\\' && p[1] != '\0') {
			p++;
		} else if (*p == '\0' || (depth == 0 && strchr(" \t\r\n", *p) == NULL)) {
			return p;
		}
	}
}

/* ar_reference - the leading authserv-id of value into out, or -1 */
static int
ar_reference(const char *value, struct rg_buf *out)
{
	const char *p = ar_skip_cfws(value);

	rg_buf_reset(out);
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\0')
				return -1;	/* unterminated */
			if (*p == '\\' && p[1] != '\0')
				p++;
			rg_buf_putc(out, *p);
		}
		return 0;
	}
	for (; *p > 0x20 && *p < 0x7f && !ar_tspecial((unsigned char)*p); p++)
		rg_buf_putc(out, *p);
	return 0;
}

/* ar_check_value - the matcher on one value, against the reference */
static int
ar_check_value(const char *value, const char *id)
{
	struct rg_buf ref = RG_BUF_INIT, up = RG_BUF_INIT;
	int ours = rg_authres_is_ours(value, id);
	int want = *id != '\0' && ar_reference(value, &ref) == 0 && ref.len > 0 &&
	    strlen(rg_buf_cstr(&ref)) == ref.len &&
	    strcasecmp(rg_buf_cstr(&ref), id) == 0;

	FUZZ_CHECK(ours == want, "is_ours %d, RFC 8601 reading %d: id \"%s\", "
	    "value \"%s\"", ours, want, id, value);
	for (const char *p = id; *p; p++)
		rg_buf_putc(&up, toupper((unsigned char)*p));
	FUZZ_CHECK(rg_authres_is_ours(value, rg_buf_cstr(&up)) == ours,
	    "case of the id matters: \"%s\"", id);
	rg_buf_release(&ref);
	rg_buf_release(&up);
	return ours;
}

/* ar_check_pvalue - written plain, or quoted so that it reads back */
static void
ar_check_pvalue(const char *value)
{
	struct rg_buf out = RG_BUF_INIT;
	const char *p;
	size_t i = 0;

	rg_authres_pvalue(&out, value);
	fuzz_check_printable("property value", rg_buf_cstr(&out));
	p = rg_buf_cstr(&out);
	if (strcmp(p, value) != 0) {
		FUZZ_CHECK(*p == '"' && out.len >= 2 && p[out.len - 1] == '"',
		    "\"%s\" written as %s", value, p);
		for (p++; *p && p < out.data + out.len - 1; p++, i++) {
			unsigned char want = (unsigned char)value[i];

			if (*p == '\\')
				p++;
			FUZZ_CHECK((unsigned char)*p == want ||
			    (*p == '?' && (want < 0x20 || want == 0x7f)),
			    "\"%s\" does not read back from %s", value,
			    rg_buf_cstr(&out));
		}
		FUZZ_CHECK(value[i] == '\0', "\"%s\" cut in %s", value,
		    rg_buf_cstr(&out));
	}
	rg_buf_release(&out);
}

/* ar_check_own - the header we add must match our own id */
static void
ar_check_own(struct rg_conn *c, const char *id, const char *value)
{
	struct rg_buf out = RG_BUF_INIT, ref = RG_BUF_INIT;

	rg_authres_add(c->msg, "spf=pass smtp.mailfrom=");
	rg_authres_pvalue(&c->msg->authres, value);
	rg_authres_format(c->msg, id, &out);
	/* only an id that is one token can be matched when written bare */
	if (ar_reference(id, &ref) == 0 && ref.len == strlen(id) && ref.len > 0)
		FUZZ_CHECK(rg_authres_is_ours(rg_buf_cstr(&out), id),
		    "our own header not recognised: %s", rg_buf_cstr(&out));
	rg_buf_release(&out);
	rg_buf_release(&ref);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *text = malloc(size + 1), *values[AR_VALUES_MAX];
	size_t n = 0, nstrip = 0, off;
	unsigned ntags = 0;
	struct rg_conn *c;
	const char *id;

	if (ar_conf == NULL) {
		rg_log_set_level(RG_LOG_DEBUG);
		ar_conf = fuzz_conf("max_headers = 10\n");
	}
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	id = text;
	for (off = strlen(text) + 1; off <= size && n < AR_VALUES_MAX;
	    off += strlen(text + off) + 1)
		values[n++] = text + off;
	atomic_fetch_add(&ar_conf->refs, 1);	/* rg_conn_new takes one */
	c = rg_conn_new(ar_conf, 1);
	rg_copy_field(c->mta_host, sizeof(c->mta_host), id);
	id = c->mta_host;	/* as the engine sees it: bounded */
	rg_msg_begin(c);
	for (size_t i = 0; i < n; i++) {
		int ar = i % 3 != 2;
		int ours = ar ? ar_check_value(values[i], id[0] ? id : "localhost") :
		    1;	/* our tag field from an untrusted client: forged */
		const char *name = ar ? "Authentication-Results" :
		    rg_tag_name(RG_TAG_SPF);
		unsigned want = ar ? c->msg->ar_seen + 1 : ++ntags;
		const struct rg_strip *st = &c->msg->strip[nstrip];

		rg_engine_header(c, name, values[i]);
		if (ours && nstrip < RG_STRIP_MAX) {
			FUZZ_CHECK(st->index == want && strcmp(st->name, name) == 0,
			    "field %s #%u claiming \"%s\" not marked", name, want, id);
			nstrip++;
		}
		if (ar)
			ar_check_pvalue(values[i]);
	}
	FUZZ_CHECK(c->msg->nstrip == nstrip, "%zu fields marked, %zu forged",
	    c->msg->nstrip, nstrip);
	ar_check_own(c, id[0] ? id : "localhost", n > 0 ? values[0] : "");
	rg_conn_free(c);
	free(text);
	return 0;
}
