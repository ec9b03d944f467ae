/*
 * header_fuzz.c - libFuzzer target for header sanity and attachment
 * names: content.c (RFC 5322 s3.6 counts, From, the caps, file types) and
 * mimehdr.c (Content-Type / Content-Disposition parameters, RFC 2047
 * encoded words, RFC 2231 values and continuations)
 *
 * Input: a flags byte, then a message as "Name: value" lines (a line that
 * starts with white space folds into the field before), an empty line and
 * a body. The fields go to the session as the milter hands them over, the
 * body to the scan; every parameter value and encoded word is decoded
 * directly too. Flag bit 0 picks the configuration that rejects instead
 * of tagging, with small header caps. Invariants: parameter names lower
 * case and within their caps, decoded text within a bounded growth,
 * extensions lower case without a dot, and no control character in a
 * reply or in a header we add.
 */
#include <ctype.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "content.h"
#include "mimehdr.h"
#include "msgscan.h"
#include "session.h"
#include "settings.h"
#include "verdict.h"
#include "fuzzutil.h"

#define HDR_FIELDS_MAX	200

static struct rg_conf *hdr_conf[2];

/* hdr_name - a decoded file name, and the extension it gives */
static void
hdr_name(void *arg, const char *v, size_t len)
{
	const struct rg_conf *c = arg;
	char ext[RG_CONTENT_EXT_MAX + 1];

	FUZZ_CHECK(v[len] == '\0', "decoded value not terminated");
	if (!rg_content_extension(v, ext, sizeof(ext)))
		return;
	FUZZ_CHECK(ext[0] != '\0' && strlen(ext) < sizeof(ext), "extension \"%s\"",
	    ext);
	for (const char *p = ext; *p; p++)
		FUZZ_CHECK(*p != '.' && !isupper((unsigned char)*p),
		    "extension \"%s\" of \"%s\"", ext, v);
	(void)rg_content_ext_blocked(&c->content.block_ext, v, ext, sizeof(ext));
}

/* hdr_params - a MIME field value taken apart and every name decoded */
static void
hdr_params(const struct rg_conf *c, const char *value)
{
	struct rg_mime_params ps;
	char mainv[64];

	rg_mime_hdr_parse(value, strlen(value), mainv, sizeof(mainv), &ps);
	FUZZ_CHECK(ps.n <= RG_MIME_PARAMS_MAX, "%zu parameters", ps.n);
	FUZZ_CHECK(strnlen(mainv, sizeof(mainv)) < sizeof(mainv),
	    "value unterminated");
	for (size_t i = 0; i < ps.n; i++) {
		const struct rg_mime_param *p = &ps.v[i];

		FUZZ_CHECK(strnlen(p->name, sizeof(p->name)) < sizeof(p->name),
		    "parameter name unterminated");
		for (const char *q = p->name; *q; q++)
			FUZZ_CHECK(!isupper((unsigned char)*q), "parameter \"%s\"",
			    p->name);
		FUZZ_CHECK(p->section >= -1 && p->section < RG_MIME_SECTIONS_MAX,
		    "section %d", p->section);
	}
	rg_mime_param_values(&ps, "filename", hdr_name, (void *)c);
	rg_mime_param_values(&ps, "name", hdr_name, (void *)c);
	rg_mime_params_free(&ps);
}

/* hdr_words - RFC 2047 decoding of any field value */
static void
hdr_words(const char *value)
{
	struct rg_buf out = RG_BUF_INIT;
	size_t len = strlen(value);

	rg_mime_decode_words(value, len, &out);
	/* a byte of any charset is at most a few UTF-8 bytes */
	FUZZ_CHECK(out.len <= 8 * len + 8, "%zu bytes decoded from %zu", out.len,
	    len);
	rg_buf_release(&out);
}

/* hdr_field - one field: decoded directly, then handed to the session */
static void
hdr_field(struct rg_conn *c, char *name, char *value)
{
	if (strcasecmp(name, "Content-Type") == 0 ||
	    strcasecmp(name, "Content-Disposition") == 0)
		hdr_params(c->conf, value);
	hdr_words(value);
	rg_msg_add_header(c, name, value);
}

/* hdr_message - split the input into fields and a body, feed them */
static void
hdr_message(struct rg_conn *c, char *text, size_t len)
{
	char *p = text, *end = text + len, *name = NULL, *value = NULL;
	size_t nfields = 0;

	while (p < end && *p != '\n' && nfields < HDR_FIELDS_MAX) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *colon;

		if (nl == NULL)
			nl = end;
		*nl = '\0';
		if ((*p == ' ' || *p == '\t') && value != NULL) {
			p[-1] = '\n';	/* folded: the value goes on */
		} else if ((colon = strchr(p, ':')) != NULL) {
			if (name != NULL)
				hdr_field(c, name, value), nfields++;
			*colon = '\0';
			name = p;
			value = colon + 1 + (colon[1] == ' ');
		}
		p = nl + 1;
	}
	if (name != NULL)
		hdr_field(c, name, value);
	if (p < end && *p == '\n')
		p++;
	if (p < end)
		rg_msg_add_body(c, p, (size_t)(end - p));
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct rg_content_hdrcheck hc;
	struct rg_verdict v;
	struct rg_conn *c;
	char *text;

	if (hdr_conf[0] == NULL) {
		rg_log_set_level(RG_LOG_DEBUG);
		hdr_conf[0] = fuzz_conf("header_action = tag\n"
		    "attachment_action = tag\nmax_headers = 1000\n");
		hdr_conf[1] = fuzz_conf("header_duplicate_action = reject\n"
		    "max_headers = 10\nmax_header_bytes = 1k\n"
		    "mime_max_parts = 20\n");
	}
	if (size == 0)
		return 0;
	if ((text = malloc(size)) == NULL)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	atomic_fetch_add(&hdr_conf[data[0] & 1]->refs, 1);	/* conn takes it */
	c = rg_conn_new(hdr_conf[data[0] & 1], 1);
	rg_msg_begin(c);
	hdr_message(c, text, size - 1);
	rg_content_header_check(c->msg, 10, 1024, &hc);
	FUZZ_CHECK(strnlen(hc.bad, sizeof(hc.bad)) < sizeof(hc.bad) &&
	    strnlen(hc.dup, sizeof(hc.dup)) < sizeof(hc.dup), "unterminated");
	rg_msgscan_end(c->msg->scan);
	rg_verdict_init(&v);
	rg_content_eom(c, &v);
	fuzz_check_reply(&v);
	rg_verdict_clear(&v);
	rg_conn_free(c);
	free(text);
	return 0;
}
