/*
 * dkim.c - the libopendkim handle, and verification (see dkim.h)
 *
 * One DKIM_LIB per process, set up once: our DNS hooks (dkim_dns.c);
 * BADSIGHANDLES, so a malformed DKIM-Signature is kept and reported
 * (permerror) instead of silently dropped; DELAYSIGPROC, so every key is
 * fetched at end of message, in one place; no library minimum key size,
 * since RFC 8301 says "policy" and dkim_min_rsa_bits is checked here; From
 * oversigned on every signature we make. libcrypto itself is started
 * first, by rg_dkim_crypto_init(), without its exit handler (dkim.h).
 *
 * Verification feeds what the milter hands over to dkim_header(),
 * dkim_eoh() and dkim_body(), within the caps of the core configuration
 * (max_headers, max_header_bytes) and dkim_max_signatures. Every status
 * libopendkim returns is looked at: SYNTAX means a malformed field, which
 * the library keeps for the report; anything else is a library failure
 * and turns the results into temperror. At the end each signature's flags
 * and error are mapped to an RFC 8601 result.
 *
 * Static functions are dkv_*: dkim_* names belong to libopendkim.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "authres.h"
#include "dkim_int.h"
#include "log.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "xalloc.h"

#define DKV_SIGNATURE	"DKIM-Signature"
#define DKV_NAME_MAX	997	/* RFC 5322 s2.1.1: 998 per line, less ':' */

enum dkv_state { DKV_HEADERS, DKV_BODY, DKV_DONE };

struct rg_dkim_verify {
	DKIM *dkim;			/* NULL when the library failed */
	const struct rg_conf *conf;
	struct rg_dkim_resolver resolver;
	int has_resolver;
	int leadspc;
	enum dkv_state state;
	int nosig;			/* libopendkim found no signature */
	int overflow;			/* max_headers / max_header_bytes hit */
	enum rg_dkim_status error;	/* first library failure */
	size_t nheaders, header_bytes;
	size_t nsigs;			/* DKIM-Signature fields fed */
	size_t skipped;			/* ... and not fed */
	size_t malformed;		/* fields with unusable names */
	struct rg_dkim_tail tail;	/* how the body ends */
	struct rg_buf field;
	char id[64];			/* libopendkim keeps this pointer */
};

static pthread_once_t dkv_once = PTHREAD_ONCE_INIT;
static DKIM_LIB *dkv_lib;

/* dkv_lib_start - create and configure the one library handle */
static void
dkv_lib_start(void)
{
	unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES |
	    DKIM_LIBFLAGS_DELAYSIGPROC | DKIM_LIBFLAGS_DROPSIGNER;
	unsigned int minbits = 0;
	const char *oversign[] = { "from", NULL };
	DKIM_LIB *lib = dkim_init(NULL, NULL);

	if (lib == NULL) {
		rg_log_error("dkim: libopendkim failed to start");
		return;
	}
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits,
	    sizeof(minbits)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, oversign,
	    sizeof(char **)) != DKIM_STAT_OK ||
	    !dkim_libfeature(lib, DKIM_FEATURE_SHA256)) {
		rg_log_error("dkim: libopendkim refused its options");
		dkim_close(lib);
		return;
	}
	if (!dkim_libfeature(lib, DKIM_FEATURE_ED25519))
		rg_log_warn("dkim: libopendkim was built without ed25519-sha256");
	rg_dkim_dns_install(lib);
	dkv_lib = lib;
}

/* rg_dkim_lib - the one library handle, made on first use */
DKIM_LIB *
rg_dkim_lib(void)
{
	pthread_once(&dkv_once, dkv_lib_start);
	return dkv_lib;
}

/* rg_dkim_crypto_init - libcrypto, with no clean-up at exit (see dkim.h) */
int
rg_dkim_crypto_init(void)
{
	return OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL) == 1 ? 0 : -1;
}

/* rg_dkim_init - start libopendkim at start-up rather than on first use */
int
rg_dkim_init(void)
{
	return rg_dkim_lib() != NULL ? 0 : -1;
}

/* rg_dkim_shutdown - close the library handle at exit */
void
rg_dkim_shutdown(void)
{
	pthread_once(&dkv_once, dkv_lib_start);
	if (dkv_lib != NULL)
		dkim_close(dkv_lib);
	dkv_lib = NULL;
	rg_dkim_keycache_clear();
}

/* --- header fields -------------------------------------------------------- */

/* rg_dkim_name_ok - 1..997 printable characters, no colon */
int
rg_dkim_name_ok(const char *name)
{
	size_t n = 0;

	for (; name[n] != '\0'; n++)
		if ((unsigned char)name[n] < 33 || (unsigned char)name[n] > 126 ||
		    name[n] == ':' || n >= DKV_NAME_MAX)
			return 0;
	return n > 0;
}

/* rg_dkim_field - "Name:value", LF and CRLF line breaks both made CRLF */
void
rg_dkim_field(struct rg_buf *out, const char *name, const char *value,
    int leadspc)
{
	size_t len = strlen(value), start = 0;

	rg_buf_reset(out);
	rg_buf_puts(out, name);
	rg_buf_putc(out, ':');
	if (!leadspc && len > 0 && strchr(" \t\r\n", value[0]) == NULL)
		rg_buf_putc(out, ' ');
	/* RFC 6376 s5.3: the field ends before its CRLF; drop stray ones */
	while (len > 0 && (value[len - 1] == '\n' || value[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len; i++) {
		if (value[i] != '\n' || (i > 0 && value[i - 1] == '\r'))
			continue;
		rg_buf_append(out, value + start, i - start);
		rg_buf_puts(out, "\r\n");
		start = i + 1;
	}
	rg_buf_append(out, value + start, len - start);
}

/* rg_dkim_tail_update - remember the last two body bytes */
void
rg_dkim_tail_update(struct rg_dkim_tail *t, const void *chunk, size_t len)
{
	const unsigned char *p = chunk;

	if (len >= 2) {
		t->last[0] = p[len - 2];
		t->last[1] = p[len - 1];
	} else if (len == 1) {
		t->last[0] = t->last[1];
		t->last[1] = p[0];
	}
	t->len += len;
}

/* rg_dkim_tail_needs_crlf - a body that does not end in CRLF */
int
rg_dkim_tail_needs_crlf(const struct rg_dkim_tail *t)
{
	return t->len > 0 && !(t->last[0] == '\r' && t->last[1] == '\n');
}

/* --- verification ------------------------------------------------------ */

/* dkv_fail - record the first library failure, with its text in the log */
static void
dkv_fail(struct rg_dkim_verify *v, const char *where, DKIM_STAT st)
{
	const char *err = v->dkim ? dkim_geterror(v->dkim) : NULL;

	if (v->error != RG_DKIM_OK)
		return;
	v->error = RG_DKIM_TEMPFAIL;
	rg_log_id(RG_LOG_WARN, v->id, "dkim: %s: %s%s%s", where,
	    dkim_getresultstr(st) ? dkim_getresultstr(st) : "library error",
	    err ? ": " : "", err ? err : "");
}

/* dkv_status - OK, and SYNTAX (kept by the library for the report), are
 * fine; anything else is a failure */
static void
dkv_status(struct rg_dkim_verify *v, const char *where, DKIM_STAT st)
{
	if (st == DKIM_STAT_OK || st == DKIM_STAT_SYNTAX)
		return;
	dkv_fail(v, where, st);
}

/* rg_dkim_verify_new - a verifier for one message; NULL: dkim_verify = no */
struct rg_dkim_verify *
rg_dkim_verify_new(const struct rg_conf *conf, const char *id)
{
	struct rg_dkim_verify *v;
	DKIM_LIB *lib;
	DKIM_STAT st = DKIM_STAT_INTERNAL;

	if (!conf->dkim.verify)
		return NULL;
	v = rg_xcalloc(1, sizeof(*v));
	v->conf = conf;
	v->leadspc = 1;
	rg_str_sanitize(v->id, sizeof(v->id), id ? id : "NOQUEUE");
	if ((lib = rg_dkim_lib()) != NULL)
		v->dkim = dkim_verify(lib, (const unsigned char *)v->id, NULL, &st);
	if (v->dkim == NULL)
		dkv_fail(v, "cannot start verification", st);
	return v;
}

/* rg_dkim_verify_set_resolver - this message's key lookups go to fn */
void
rg_dkim_verify_set_resolver(struct rg_dkim_verify *v, rg_dkim_txt_lookup fn,
    void *arg)
{
	v->resolver.fn = fn;
	v->resolver.arg = arg;
	v->has_resolver = fn != NULL;
}

/* rg_dkim_verify_leadspc - whether values keep the space after the colon */
void
rg_dkim_verify_leadspc(struct rg_dkim_verify *v, int leadspc)
{
	v->leadspc = leadspc != 0;
}

/* dkv_admit - may this field go to the library? counts what it skips */
static int
dkv_admit(struct rg_dkim_verify *v, int is_sig)
{
	const struct rg_core_conf *core = &v->conf->core;

	if (v->overflow ||
	    (is_sig && v->nsigs >= (size_t)v->conf->dkim.max_signatures)) {
		v->skipped += is_sig;
		return 0;
	}
	if (v->nheaders >= (size_t)core->max_headers ||
	    v->field.len > (size_t)core->max_header_bytes - v->header_bytes) {
		/* later fields would be missing from the hashes anyway */
		v->overflow = 1;
		v->skipped += is_sig;
		return 0;
	}
	v->nheaders++;
	v->header_bytes += v->field.len;
	v->nsigs += is_sig;
	return 1;
}

/* rg_dkim_verify_header - one header field, within the caps */
void
rg_dkim_verify_header(struct rg_dkim_verify *v, const char *name,
    const char *value)
{
	int is_sig;

	if (v == NULL || v->state != DKV_HEADERS)
		return;
	if (name == NULL || !rg_dkim_name_ok(name)) {
		v->malformed++;
		return;
	}
	is_sig = strcasecmp(name, DKV_SIGNATURE) == 0;
	value = value ? value : "";
	/* no copy of a value that could never fit */
	if (strlen(value) > (size_t)v->conf->core.max_header_bytes) {
		v->overflow = 1;
		v->skipped += is_sig;
		return;
	}
	rg_dkim_field(&v->field, name, value, v->leadspc);
	if (!dkv_admit(v, is_sig) || v->dkim == NULL)
		return;
	dkv_status(v, "header", dkim_header(v->dkim,
	    (unsigned char *)v->field.data, v->field.len));
}

/* dkv_enter - this handle's resolver for the libopendkim call to come */
static const struct rg_dkim_resolver *
dkv_enter(struct rg_dkim_verify *v)
{
	return rg_dkim_dns_enter(v->has_resolver ? &v->resolver : NULL);
}

/* rg_dkim_verify_eoh - end of the header; signatures are known now */
void
rg_dkim_verify_eoh(struct rg_dkim_verify *v)
{
	const struct rg_dkim_resolver *prev;
	DKIM_STAT st;

	if (v == NULL || v->state != DKV_HEADERS)
		return;
	v->state = DKV_BODY;
	rg_buf_release(&v->field);
	if (v->dkim == NULL || v->error != RG_DKIM_OK)
		return;
	prev = dkv_enter(v);
	st = dkim_eoh(v->dkim);
	rg_dkim_dns_leave(prev);
	if (st == DKIM_STAT_NOSIG)
		v->nosig = 1;
	else
		dkv_status(v, "end of header", st);
}

/* rg_dkim_verify_body - a body chunk; the first one also ends the header */
void
rg_dkim_verify_body(struct rg_dkim_verify *v, const void *chunk, size_t len)
{
	if (v == NULL || v->state == DKV_DONE)
		return;
	if (v->state == DKV_HEADERS)
		rg_dkim_verify_eoh(v);
	if (v->dkim == NULL || v->nosig || v->error != RG_DKIM_OK || len == 0)
		return;
	rg_dkim_tail_update(&v->tail, chunk, len);
	dkv_status(v, "body", dkim_body(v->dkim, (unsigned char *)chunk, len));
}

/* --- results ------------------------------------------------------------- */

/* dkv_copy - message text into a field: printable ASCII only, bounded */
static void
dkv_copy(char *dst, size_t size, const unsigned char *src)
{
	size_t n = 0;

	for (; src != NULL && *src != '\0' && n + 1 < size; src++)
		dst[n++] = *src > 32 && *src < 127 ? (char)*src : '?';
	dst[n] = '\0';
}

/* dkv_keyerror - errors about the key record: all permanent */
static const char *
dkv_keyerror(int err)
{
	switch (err) {
	case DKIM_SIGERROR_NOKEY:
		return "no key for signature";
	case DKIM_SIGERROR_KEYREVOKED:
		return "key revoked";
	case DKIM_SIGERROR_MULTIREPLY:
		return "more than one key record";
	case DKIM_SIGERROR_KEYHASHMISMATCH:
		return "key does not allow this hash";
	case DKIM_SIGERROR_NOTEMAILKEY:
		return "key not for email";
	case DKIM_SIGERROR_SUBDOMAIN:
		return "identity not allowed by key (t=s)";
	case DKIM_SIGERROR_DNSSYNTAX:
	case DKIM_SIGERROR_KEYVERSION:
	case DKIM_SIGERROR_KEYUNKNOWNHASH:
	case DKIM_SIGERROR_KEYTYPEMISSING:
	case DKIM_SIGERROR_KEYTYPEUNKNOWN:
	case DKIM_SIGERROR_KEYDECODE:
		return "key record invalid";
	default:
		return NULL;
	}
}

/* dkv_classify - libopendkim's verdict on one signature, as RFC 8601 */
static enum rg_dkim_result
dkv_classify(DKIM_SIGINFO *sig, const char **reason)
{
	unsigned flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig), bh = dkim_sig_getbh(sig);
	int passed = (flags & DKIM_SIGFLAG_PASSED) != 0;

	if ((*reason = dkv_keyerror(err)) != NULL)
		return RG_DKIM_PERMERROR;
	switch (err) {
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_UNKNOWN:
		if (passed && bh == DKIM_SIGBH_MATCH)
			return *reason = "", RG_DKIM_PASS;
		if (!(flags & DKIM_SIGFLAG_PROCESSED))
			return *reason = "not verified", RG_DKIM_TEMPERROR;
		return *reason = "signature verification failed", RG_DKIM_FAIL;
	case DKIM_SIGERROR_BADSIG:
		if (passed && bh == DKIM_SIGBH_MISMATCH)
			return *reason = "body hash mismatch", RG_DKIM_FAIL;
		return *reason = "signature verification failed", RG_DKIM_FAIL;
	case DKIM_SIGERROR_KEYFAIL:
		return *reason = "key lookup failed", RG_DKIM_TEMPERROR;
	case DKIM_SIGERROR_KEYTOOSMALL:
		return *reason = "key too short", RG_DKIM_POLICY;
	case DKIM_SIGERROR_EXPIRED:
		return *reason = "signature expired", RG_DKIM_NEUTRAL;
	case DKIM_SIGERROR_FUTURE:
		return *reason = "signature in the future", RG_DKIM_NEUTRAL;
	default:
		*reason = dkim_sig_geterrorstr(err);
		if (*reason == NULL)
			*reason = "signature syntax error";
		return RG_DKIM_PERMERROR;
	}
}

/* dkv_rfc8301 - a pass with rsa-sha1 or a short RSA key is "policy" */
static void
dkv_rfc8301(const struct rg_dkim_verify *v, struct rg_dkim_sigresult *r)
{
	if (r->result != RG_DKIM_PASS)
		return;
	if (strcasecmp(r->algorithm, "rsa-sha1") == 0) {
		r->result = RG_DKIM_POLICY;
		r->reason = "rsa-sha1 not accepted (RFC 8301)";
	} else if (strncasecmp(r->algorithm, "rsa-", 4) == 0 &&
	    r->keybits < (unsigned)v->conf->dkim.min_rsa_bits) {
		r->result = RG_DKIM_POLICY;
		r->reason = "RSA key too short (RFC 8301)";
	}
}

/* dkv_describe - one signature's tags and result */
static void
dkv_describe(struct rg_dkim_verify *v, DKIM_SIGINFO *sig,
    struct rg_dkim_sigresult *r)
{
	size_t blen = RG_DKIM_HEADER_B_MAX;
	char b[RG_DKIM_HEADER_B_MAX + 1];
	unsigned bits = 0;

	dkv_copy(r->domain, sizeof(r->domain),
	    dkim_sig_gettagvalue(sig, 0, (unsigned char *)"d"));
	dkv_copy(r->selector, sizeof(r->selector),
	    dkim_sig_gettagvalue(sig, 0, (unsigned char *)"s"));
	dkv_copy(r->algorithm, sizeof(r->algorithm),
	    dkim_sig_gettagvalue(sig, 0, (unsigned char *)"a"));
	/* it writes at most blen bytes, not always with a NUL */
	if (dkim_get_sigsubstring(v->dkim, sig, b, &blen) == DKIM_STAT_OK &&
	    blen < sizeof(b))
		b[blen] = '\0';
	else
		b[0] = '\0';
	dkv_copy(r->b, sizeof(r->b), (unsigned char *)b);
	r->result = dkv_classify(sig, &r->reason);
	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		r->keybits = bits;
	/* libopendkim leaves the size of an Ed25519 key at 0 */
	if (strcasecmp(r->algorithm, "ed25519-sha256") == 0 &&
	    (dkim_sig_getflags(sig) & DKIM_SIGFLAG_PASSED))
		r->keybits = 256;
	dkv_rfc8301(v, r);
}

/* dkv_collect - the library's list of signatures into out */
static void
dkv_collect(struct rg_dkim_verify *v, struct rg_dkim_results *out)
{
	DKIM_SIGINFO **sigs = NULL;
	int n = 0;

	if (v->dkim == NULL || v->nosig ||
	    dkim_getsiglist(v->dkim, &sigs, &n) != DKIM_STAT_OK || n <= 0)
		return;
	out->sig = rg_xcalloc((size_t)n, sizeof(*out->sig));
	for (int i = 0; i < n; i++)
		dkv_describe(v, sigs[i], &out->sig[out->n++]);
}

/* dkv_override - a verdict that holds for every signature */
static void
dkv_override(struct rg_dkim_verify *v, struct rg_dkim_results *out)
{
	enum rg_dkim_result res = RG_DKIM_TEMPERROR;
	const char *reason = "verifier failed";

	if (v->error == RG_DKIM_OK) {
		if (!v->overflow)
			return;
		res = RG_DKIM_PERMERROR;
		reason = "too many header fields";
	}
	/* the library could not say which signatures there were */
	if (out->n == 0 && v->nsigs > 0) {
		out->sig = rg_xcalloc(v->nsigs, sizeof(*out->sig));
		out->n = v->nsigs;
	}
	for (size_t i = 0; i < out->n; i++) {
		out->sig[i].result = res;
		out->sig[i].reason = reason;
	}
}

/* rg_dkim_verify_eom - fetch keys, verify, report every signature */
enum rg_dkim_status
rg_dkim_verify_eom(struct rg_dkim_verify *v, struct rg_dkim_results *out)
{
	const struct rg_dkim_resolver *prev;
	DKIM_STAT st;

	memset(out, 0, sizeof(*out));
	if (v == NULL || v->state == DKV_DONE)
		return RG_DKIM_INVAL;
	if (v->state == DKV_HEADERS)
		rg_dkim_verify_eoh(v);
	if (rg_dkim_tail_needs_crlf(&v->tail))
		rg_dkim_verify_body(v, "\r\n", 2);
	v->state = DKV_DONE;
	if (v->dkim != NULL && !v->nosig && v->error == RG_DKIM_OK) {
		prev = dkv_enter(v);
		st = dkim_eom(v->dkim, NULL);
		rg_dkim_dns_leave(prev);
		/* the final status is about one signature; we look at all */
		if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL ||
		    st == DKIM_STAT_INVALID)
			dkv_fail(v, "end of message", st);
	}
	dkv_collect(v, out);
	dkv_override(v, out);
	out->skipped = v->skipped;
	if (v->skipped > 0)
		rg_log_id(RG_LOG_INFO, v->id, "dkim: %zu signature(s) over the "
		    "limits not verified", v->skipped);
	if (v->malformed > 0)
		rg_log_id(RG_LOG_INFO, v->id, "dkim: %zu header field(s) with a "
		    "malformed name not verified", v->malformed);
	return v->error == RG_DKIM_OK ? RG_DKIM_OK : RG_DKIM_TEMPFAIL;
}

/* rg_dkim_verify_free - release the verifier and its libopendkim handle */
struct rg_dkim_verify *
rg_dkim_verify_free(struct rg_dkim_verify *v)
{
	if (v == NULL)
		return NULL;
	if (v->dkim != NULL)
		(void)dkim_free(v->dkim);
	rg_buf_release(&v->field);
	free(v);
	return NULL;
}

/* --- reporting ------------------------------------------------------------ */

/* rg_dkim_results_release - free the result array */
void
rg_dkim_results_release(struct rg_dkim_results *r)
{
	free(r->sig);
	memset(r, 0, sizeof(*r));
}

/* rg_dkim_result_name - the RFC 8601 word for a result */
const char *
rg_dkim_result_name(enum rg_dkim_result r)
{
	static const char *const names[] = {
		"none", "pass", "fail", "neutral", "policy", "temperror",
		"permerror",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] :
	    "permerror";
}

/* dkv_prop - " name=value" when there is a value */
static void
dkv_prop(struct rg_buf *out, const char *name, const char *value)
{
	if (value[0] == '\0')
		return;
	rg_buf_printf(out, " %s=", name);
	rg_authres_pvalue(out, value);
}

/* rg_dkim_resinfo - one signature as an Authentication-Results resinfo */
void
rg_dkim_resinfo(const struct rg_dkim_sigresult *s, struct rg_buf *out)
{
	rg_buf_printf(out, "dkim=%s", rg_dkim_result_name(s->result));
	if (s->result == RG_DKIM_NONE)
		return;
	/* RFC 8601 s2.2: reasonspec comes before the properties */
	if (s->result != RG_DKIM_PASS && s->reason != NULL && s->reason[0]) {
		rg_buf_puts(out, " reason=\"");
		rg_buf_puts(out, s->reason);
		rg_buf_putc(out, '"');
	}
	dkv_prop(out, "header.d", s->domain);
	dkv_prop(out, "header.s", s->selector);
	dkv_prop(out, "header.a", s->algorithm);
	dkv_prop(out, "header.b", s->b);
}

/* rg_dkim_results_authres - every signature into Authentication-Results */
void
rg_dkim_results_authres(const struct rg_dkim_results *r, struct rg_msg *m)
{
	struct rg_buf b = RG_BUF_INIT;

	if (r->n == 0)
		rg_authres_add(m, "dkim=none");
	for (size_t i = 0; i < r->n; i++) {
		rg_buf_reset(&b);
		rg_dkim_resinfo(&r->sig[i], &b);
		rg_authres_add(m, rg_buf_cstr(&b));
	}
	rg_buf_release(&b);
}

/* rg_dkim_results_summary - result:domain pairs for the summary log line */
void
rg_dkim_results_summary(const struct rg_dkim_results *r, struct rg_buf *out)
{
	if (r->n == 0)
		rg_buf_puts(out, "none");
	for (size_t i = 0; i < r->n; i++)
		rg_buf_printf(out, "%s%s:%s", i ? "," : "",
		    rg_dkim_result_name(r->sig[i].result),
		    r->sig[i].domain[0] ? r->sig[i].domain : "?");
}
