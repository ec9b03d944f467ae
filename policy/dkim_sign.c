/*
 * dkim_sign.c - DKIM signing (see dkim.h): which keys, and one libopendkim
 * signing handle per key, all fed the same stream
 *
 * The keys for a From address are the SigningTable entry's keys (a "%"
 * domain in the KeyTable is the From domain) and every dkim_sign triple
 * for the From domain, without duplicates, so an RSA and an Ed25519 key
 * for one domain give two signatures. Signed fields are
 * dkim_signed_headers ('*' wildcards allowed; libopendkim adds From), and
 * From is oversigned: listed once more than it occurs, so a From added
 * later breaks the signature (RFC 6376 s8.15). The library folds the
 * value with CRLF; libmilter wants LF, so the CRs go.
 *
 * A message whose header is over the core caps is not signed: fields we
 * did not see would not be covered, and a verifier takes repeated fields
 * from the bottom (RFC 6376 s5.4.2), so the signature could not verify.
 *
 * libopendkim 2.11.0 (Debian 12) leaks the Ed25519 key and signature
 * buffer of every Ed25519 signature it makes: dkim_free() releases the
 * crypto state of RSA signatures only (upstream issue #30, fixed in
 * 2026 by PR #321). dksign_ed25519_release() frees them itself, but
 * only after it has checked, field by field through the public
 * accessors, that the library's structures are laid out as in that
 * release; it clears what it frees, so a fixed library frees nothing
 * twice, and a library laid out differently is left alone.
 *
 * Static functions are dksign_*: dkim_* names belong to libopendkim.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "dkim_int.h"
#include "log.h"
#include "settings.h"
#include "strutil.h"
#include "xalloc.h"

#define DKSIGN_PREFIX	"DKIM-Signature: "	/* width of the first line */
#define DKSIGN_DOMAIN_MAX	256
#define DKSIGN_B_LINE	64	/* b= characters per folded line */

enum dksign_state { DKSIGN_HEADERS, DKSIGN_BODY, DKSIGN_DONE };

struct dksign_one {
	DKIM *dkim;
	const struct rg_dkim_key *key;
	char domain[DKSIGN_DOMAIN_MAX];	/* d= */
	const char *signer;		/* i= template, or NULL */
	int fold_b;			/* unfolded by the library; fold b= here */
	int failed;
};

struct rg_dkim_sign {
	const struct rg_conf *conf;
	struct dksign_one one[RG_DKIM_MAX_SIGNERS];
	size_t n;
	int leadspc;
	enum dksign_state state;
	enum rg_dkim_status error;	/* first failure */
	struct rg_buf why;
	struct rg_buf field;
	size_t nheaders, header_bytes;
	struct rg_dkim_tail tail;	/* how the body ends */
	char from_domain[DKSIGN_DOMAIN_MAX];
	char id[64];			/* libopendkim keeps this pointer */
};

/* dksign_add - one more key, unless that d=/s= pair is already there */
static void
dksign_add(struct rg_dkim_sign *s, const struct rg_dkim_key *k,
    const char *signer)
{
	const char *d = strcmp(k->domain, "%") == 0 ? s->from_domain : k->domain;

	for (size_t i = 0; i < s->n; i++)
		if (strcasecmp(s->one[i].domain, d) == 0 &&
		    strcasecmp(s->one[i].key->selector, k->selector) == 0)
			return;
	/* "%" takes the domain from the message: it must be a host name */
	if (s->n == RG_DKIM_MAX_SIGNERS || !rg_dkim_domain_ok(d)) {
		rg_log_id(RG_LOG_WARN, s->id, "dkim: not signing with %s (%s)",
		    k->path, s->n == RG_DKIM_MAX_SIGNERS ? "too many keys" :
		    "bad From domain");
		return;
	}
	s->one[s->n].key = k;
	s->one[s->n].signer = signer;
	rg_strlcpy(s->one[s->n].domain, d, sizeof(s->one[s->n].domain));
	s->n++;
}

/* dksign_choose - the keys for this From address */
static void
dksign_choose(struct rg_dkim_sign *s, const char *from_addr)
{
	const struct rg_dkim_conf *dc = &s->conf->dkim;
	const struct rg_signtable_entry *e;

	e = rg_signtable_lookup(&dc->signing_table, from_addr);
	for (size_t i = 0; e != NULL && i < e->nkeys; i++)
		dksign_add(s, &dc->key_table.keys.v[e->keys[i]], e->signer);
	for (size_t i = 0; i < dc->sign.n; i++)
		if (strcasecmp(dc->sign.v[i].domain, s->from_domain) == 0)
			dksign_add(s, &dc->sign.v[i], NULL);
}

/* dksign_canon - dkim_canonicalization as libopendkim's two values */
static void
dksign_canon(int c, dkim_canon_t *hdr, dkim_canon_t *body)
{
	*hdr = c == RG_DKIM_C_SIMPLE_RELAXED || c == RG_DKIM_C_SIMPLE_SIMPLE ||
	    c == RG_DKIM_C_SIMPLE ? DKIM_CANON_SIMPLE : DKIM_CANON_RELAXED;
	*body = c == RG_DKIM_C_RELAXED_RELAXED || c == RG_DKIM_C_SIMPLE_RELAXED ?
	    DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
}

/* dksign_signer - i=, with "%" replaced by the From domain */
static void
dksign_signer(struct rg_dkim_sign *s, struct dksign_one *o)
{
	struct rg_buf b = RG_BUF_INIT;

	for (const char *p = o->signer; *p; p++) {
		if (*p == '%')
			rg_buf_puts(&b, s->from_domain);
		else
			rg_buf_putc(&b, *p);
	}
	if (dkim_set_signer(o->dkim, (const unsigned char *)rg_buf_cstr(&b)) !=
	    DKIM_STAT_OK)
		rg_log_id(RG_LOG_WARN, s->id, "dkim: signer %s not used",
		    rg_buf_cstr(&b));
	rg_buf_release(&b);
}

/* dksign_start - a libopendkim signing handle for one key */
static int
dksign_start(struct rg_dkim_sign *s, DKIM_LIB *lib, struct dksign_one *o,
    const char **hdrs)
{
	dkim_canon_t hc, bc;
	DKIM_STAT st = DKIM_STAT_INTERNAL;

	dksign_canon(s->conf->dkim.canon, &hc, &bc);
	o->dkim = dkim_sign(lib, (const unsigned char *)s->id, NULL,
	    (dkim_sigkey_t)o->key->pem, (const unsigned char *)o->key->selector,
	    (const unsigned char *)o->domain, hc, bc,
	    o->key->type == RG_DKIM_KEY_ED25519 ? DKIM_SIGN_ED25519SHA256 :
	    DKIM_SIGN_RSASHA256, -1, &st);
	if (o->dkim == NULL || (st = dkim_signhdrs(o->dkim, hdrs)) != DKIM_STAT_OK) {
		rg_buf_printf(&s->why, "cannot sign for %s with %s: %s", o->domain,
		    o->key->path, dkim_getresultstr(st) ? dkim_getresultstr(st) :
		    "library error");
		return -1;
	}
	/*
	 * libopendkim folds the header it signs with an empty b= and the one
	 * it returns with the signature in; only for RSA does it make both
	 * wrap before b=. For Ed25519 the two differ, which simple header
	 * canonicalization sees. Unfolded, they agree; b= is folded later,
	 * where white space does not count (RFC 6376 s3.5, b=).
	 */
	if (o->key->type == RG_DKIM_KEY_ED25519 && hc == DKIM_CANON_SIMPLE) {
		if (dkim_set_margin(o->dkim, 0) != DKIM_STAT_OK) {
			rg_buf_printf(&s->why, "cannot sign for %s with %s: margin",
			    o->domain, o->key->path);
			return -1;
		}
		o->fold_b = 1;
	}
	if (o->signer != NULL)
		dksign_signer(s, o);
	return 0;
}

/* rg_dkim_sign_new - a signer with every key that applies to from_addr */
struct rg_dkim_sign *
rg_dkim_sign_new(const struct rg_conf *conf, const char *from_addr,
    const char *id, struct rg_buf *why)
{
	const struct rg_strlist *sh = &conf->dkim.signed_headers;
	const char *at = from_addr ? strrchr(from_addr, '@') : NULL;
	struct rg_dkim_sign *s;
	DKIM_LIB *lib;
	const char **hdrs;
	int rc = 0;

	if (from_addr == NULL || *from_addr == '\0')
		return NULL;
	s = rg_xcalloc(1, sizeof(*s));
	s->conf = conf;
	s->leadspc = 1;
	rg_str_sanitize(s->id, sizeof(s->id), id ? id : "NOQUEUE");
	rg_strlcpy(s->from_domain, at ? at + 1 : from_addr, sizeof(s->from_domain));
	rg_str_lower(s->from_domain);
	dksign_choose(s, from_addr);
	if (s->n == 0)
		return rg_dkim_sign_free(s);
	if ((lib = rg_dkim_lib()) == NULL) {
		rg_buf_puts(why, "libopendkim is not available");
		return rg_dkim_sign_free(s);
	}
	hdrs = rg_xcalloc(sh->n + 1, sizeof(char *));
	for (size_t i = 0; i < sh->n; i++)
		hdrs[i] = sh->v[i];
	for (size_t i = 0; i < s->n && rc == 0; i++)
		rc = dksign_start(s, lib, &s->one[i], hdrs);
	free(hdrs);
	if (rc < 0) {
		rg_buf_append(why, s->why.data, s->why.len);
		return rg_dkim_sign_free(s);
	}
	return s;
}

/* rg_dkim_sign_count - the number of signatures to be made */
size_t
rg_dkim_sign_count(const struct rg_dkim_sign *s)
{
	return s ? s->n : 0;
}

/* rg_dkim_sign_leadspc - whether values keep the space after the colon */
void
rg_dkim_sign_leadspc(struct rg_dkim_sign *s, int leadspc)
{
	s->leadspc = leadspc != 0;
}

/* dksign_fail - remember the first failure; the handle makes no signature */
static void
dksign_fail(struct rg_dkim_sign *s, struct dksign_one *o,
    enum rg_dkim_status status, const char *what, DKIM_STAT st)
{
	const char *err = o ? dkim_geterror(o->dkim) : NULL;

	if (o != NULL)
		o->failed = 1;
	else
		for (size_t i = 0; i < s->n; i++)
			s->one[i].failed = 1;
	if (s->error != RG_DKIM_OK)
		return;
	s->error = status;
	rg_buf_puts(&s->why, what);
	if (o != NULL)
		rg_buf_printf(&s->why, " for %s", o->domain);
	if (st != DKIM_STAT_OK && dkim_getresultstr(st) != NULL)
		rg_buf_printf(&s->why, ": %s", dkim_getresultstr(st));
	if (err != NULL && *err != '\0')
		rg_buf_printf(&s->why, " (%s)", err);
}

/* dksign_feed_ok - may another field of this size be signed? */
static int
dksign_feed_ok(struct rg_dkim_sign *s)
{
	const struct rg_core_conf *core = &s->conf->core;

	if (s->nheaders >= (size_t)core->max_headers ||
	    s->field.len > (size_t)core->max_header_bytes - s->header_bytes) {
		dksign_fail(s, NULL, RG_DKIM_PERMFAIL, "too many header fields to "
		    "sign", DKIM_STAT_OK);
		return 0;
	}
	s->nheaders++;
	s->header_bytes += s->field.len;
	return 1;
}

/* rg_dkim_sign_header - one header field, to every signing handle */
void
rg_dkim_sign_header(struct rg_dkim_sign *s, const char *name,
    const char *value)
{
	if (s == NULL || s->state != DKSIGN_HEADERS || s->error != RG_DKIM_OK)
		return;
	/* a field libopendkim cannot name cannot be signed; it is not in h= */
	if (name == NULL || !rg_dkim_name_ok(name))
		return;
	value = value ? value : "";
	if (strlen(value) > (size_t)s->conf->core.max_header_bytes) {
		dksign_fail(s, NULL, RG_DKIM_PERMFAIL, "too many header fields to "
		    "sign", DKIM_STAT_OK);
		return;
	}
	rg_dkim_field(&s->field, name, value, s->leadspc);
	if (!dksign_feed_ok(s))
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct dksign_one *o = &s->one[i];
		DKIM_STAT st = dkim_header(o->dkim,
		    (unsigned char *)s->field.data, s->field.len);

		if (st != DKIM_STAT_OK && st != DKIM_STAT_SYNTAX)
			dksign_fail(s, o, RG_DKIM_TEMPFAIL, "header", st);
	}
}

/* rg_dkim_sign_eoh - end of the header; a missing From shows here */
void
rg_dkim_sign_eoh(struct rg_dkim_sign *s)
{
	if (s == NULL || s->state != DKSIGN_HEADERS)
		return;
	s->state = DKSIGN_BODY;
	rg_buf_release(&s->field);
	for (size_t i = 0; i < s->n; i++) {
		struct dksign_one *o = &s->one[i];
		DKIM_STAT st;

		if (o->failed)
			continue;
		st = dkim_eoh(o->dkim);
		/* SYNTAX here: a required field (From) is missing */
		if (st == DKIM_STAT_SYNTAX)
			dksign_fail(s, o, RG_DKIM_PERMFAIL, "no From header field", st);
		else if (st != DKIM_STAT_OK)
			dksign_fail(s, o, RG_DKIM_TEMPFAIL, "end of header", st);
	}
}

/* rg_dkim_sign_body - a body chunk to every signing handle */
void
rg_dkim_sign_body(struct rg_dkim_sign *s, const void *chunk, size_t len)
{
	if (s == NULL || s->state == DKSIGN_DONE || len == 0)
		return;
	if (s->state == DKSIGN_HEADERS)
		rg_dkim_sign_eoh(s);
	rg_dkim_tail_update(&s->tail, chunk, len);
	for (size_t i = 0; i < s->n; i++) {
		struct dksign_one *o = &s->one[i];
		DKIM_STAT st;

		if (o->failed)
			continue;
		if ((st = dkim_body(o->dkim, (unsigned char *)chunk, len)) !=
		    DKIM_STAT_OK)
			dksign_fail(s, o, RG_DKIM_TEMPFAIL, "body", st);
	}
}

/* dksign_value - the signature header value, LF line breaks; with fold_b
 * the unfolded value gets its b= tag (the last one) folded */
static char *
dksign_value(const unsigned char *v, size_t len, int fold_b)
{
	struct rg_buf out = RG_BUF_INIT;
	size_t b = 0, col = 0;

	for (size_t i = 0; i + 3 <= len; i++)
		if (v[i] == ' ' && v[i + 1] == 'b' && v[i + 2] == '=')
			b = i + 3;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\r')
			continue;
		if (fold_b && b > 0 && i >= b && col++ == DKSIGN_B_LINE) {
			rg_buf_puts(&out, "\n\t ");
			col = 1;
		}
		rg_buf_putc(&out, (char)v[i]);
	}
	return rg_buf_steal(&out);
}

/*
 * The start of libopendkim 2.11.0's struct dkim_siginfo and struct
 * dkim_crypto (dkim-types.h, OpenSSL build), as far as needed to reach the
 * Ed25519 key of a signing handle.
 */
struct dksign_lib_siginfo {
	int sig_dnssec_key;
	unsigned sig_flags, sig_error, sig_bh, sig_version, sig_hashtype;
	unsigned sig_keytype, sig_keybits;
	size_t sig_siglen, sig_keylen, sig_b64keylen;
	int sig_query, sig_signalg, sig_hdrcanonalg, sig_bodycanonalg;
	uint64_t sig_timestamp;
	unsigned char *sig_domain, *sig_selector, *sig_sig, *sig_key;
	unsigned char *sig_b64key;
	void *sig_context;
	void *sig_signature;
};

struct dksign_lib_crypto {
	unsigned char crypto_pad;
	int crypto_keysize;
	size_t crypto_inlen, crypto_outlen;
	EVP_PKEY *crypto_pkey;
	void *crypto_key;
	void *crypto_keydata;
	unsigned char *crypto_in, *crypto_out;
};

/* dksign_layout_ok - the handle's signature is laid out as we think */
static int
dksign_layout_ok(DKIM *d, const struct dksign_lib_siginfo *si)
{
	DKIM_SIGINFO *sig = (DKIM_SIGINFO *)(uintptr_t)si;
	unsigned bits = 0;
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;

	return dkim_getmode(d) == DKIM_MODE_SIGN &&
	    dkim_sig_getflags(sig) == si->sig_flags &&
	    dkim_sig_geterror(sig) == (int)si->sig_error &&
	    dkim_sig_getbh(sig) == (int)si->sig_bh &&
	    dkim_sig_getsignalg(sig, &alg) == DKIM_STAT_OK &&
	    alg == DKIM_SIGN_ED25519SHA256 && si->sig_signalg == alg &&
	    dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK &&
	    bits == si->sig_keybits &&
	    si->sig_domain != NULL && dkim_sig_getdomain(sig) == si->sig_domain &&
	    si->sig_selector != NULL &&
	    dkim_sig_getselector(sig) == si->sig_selector &&
	    dkim_sig_getcontext(sig) == si->sig_context &&
	    si->sig_signature != NULL;
}

/* dksign_ed25519_release - free what dkim_free() forgets (see above) */
static void
dksign_ed25519_release(struct dksign_one *o)
{
	const struct dksign_lib_siginfo *si;
	struct dksign_lib_crypto *cr;

	if (o->key->type != RG_DKIM_KEY_ED25519 ||
	    (si = (const void *)dkim_getsignature(o->dkim)) == NULL ||
	    !dksign_layout_ok(o->dkim, si))
		return;
	cr = si->sig_signature;
	/* as dkim_privkey_load() and dkim_eom_sign() leave an Ed25519 key */
	if (cr->crypto_keysize != 512 || cr->crypto_outlen != 64 ||
	    cr->crypto_key != NULL || cr->crypto_out == NULL ||
	    cr->crypto_pkey == NULL ||
	    EVP_PKEY_base_id(cr->crypto_pkey) != EVP_PKEY_ED25519)
		return;
	EVP_PKEY_free(cr->crypto_pkey);
	cr->crypto_pkey = NULL;
	free(cr->crypto_out);		/* DKIM_MALLOC with no allocator: malloc */
	cr->crypto_out = NULL;
	cr->crypto_outlen = 0;
}

/* dksign_finish - sign with one handle; the value goes to out */
static void
dksign_finish(struct rg_dkim_sign *s, struct dksign_one *o,
    struct rg_strlist *out)
{
	unsigned char *hdr = NULL;
	size_t len = 0;
	DKIM_STAT st;

	if ((st = dkim_eom(o->dkim, NULL)) != DKIM_STAT_OK) {
		dksign_fail(s, o, RG_DKIM_TEMPFAIL, "signing", st);
		return;
	}
	st = dkim_getsighdr_d(o->dkim, strlen(DKSIGN_PREFIX), &hdr, &len);
	if (st != DKIM_STAT_OK || hdr == NULL || len == 0) {
		dksign_fail(s, o, RG_DKIM_TEMPFAIL, "signature header", st);
		return;
	}
	out->v = rg_xreallocarray(out->v, out->n + 1, sizeof(char *));
	out->v[out->n++] = dksign_value(hdr, len, o->fold_b);
	dksign_ed25519_release(o);
}

/* rg_dkim_sign_eom - make the signatures */
enum rg_dkim_status
rg_dkim_sign_eom(struct rg_dkim_sign *s, struct rg_strlist *out,
    struct rg_buf *why)
{
	if (s == NULL || s->state == DKSIGN_DONE)
		return RG_DKIM_INVAL;
	if (s->state == DKSIGN_HEADERS)
		rg_dkim_sign_eoh(s);
	if (rg_dkim_tail_needs_crlf(&s->tail))
		rg_dkim_sign_body(s, "\r\n", 2);
	s->state = DKSIGN_DONE;
	for (size_t i = 0; i < s->n; i++)
		if (!s->one[i].failed)
			dksign_finish(s, &s->one[i], out);
	if (s->error != RG_DKIM_OK && why != NULL)
		rg_buf_append(why, s->why.data, s->why.len);
	return s->error;
}

/* rg_dkim_sign_free - release the signer and its handles */
struct rg_dkim_sign *
rg_dkim_sign_free(struct rg_dkim_sign *s)
{
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (s->one[i].dkim != NULL)
			(void)dkim_free(s->one[i].dkim);
	rg_buf_release(&s->why);
	rg_buf_release(&s->field);
	free(s);
	return NULL;
}

/* rg_dkim_from_address - libopendkim's RFC 5322 address parser, on a copy */
int
rg_dkim_from_address(const char *from_value, char *addr, size_t size)
{
	unsigned char *copy, *user = NULL, *domain = NULL;
	int rc = -1;

	if (from_value == NULL)
		return -1;
	copy = (unsigned char *)rg_xstrdup(from_value);
	if (dkim_mail_parse(copy, &user, &domain) == 0 && user != NULL &&
	    domain != NULL && *user != '\0' && *domain != '\0') {
		rg_str_lower((char *)domain);
		if (snprintf(addr, size, "%s@%s", user, domain) < (int)size)
			rc = 0;
	}
	free(copy);
	return rc;
}
