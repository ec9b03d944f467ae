/*
 * tlsprobe.c - STARTTLS posture (see tlsprobe.h)
 *
 * One session per probe, because a failed handshake leaves the SMTP
 * stream unusable (RFC 3207 s4.1: the client must close it). A probe
 * that cannot even offer its version, which is decided locally before
 * any connection (SSL_get1_supported_ciphers is empty), is "could not
 * test", never "refused": the server was not asked.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tlsprobe.h"
#include "../../policy/strutil.h"

static const struct {
	int version;
	const char *name;
} tls_versions[RG_AUDIT_TLS_NVERS] = {
	{ TLS1_VERSION, "TLSv1" },
	{ TLS1_1_VERSION, "TLSv1.1" },
	{ TLS1_2_VERSION, "TLSv1.2" },
	{ TLS1_3_VERSION, "TLSv1.3" },
};

/* rg_audit_tls_ctx - a client context for one version, or the defaults */
SSL_CTX *
rg_audit_tls_ctx(int version, char *why, size_t size)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		snprintf(why, size, "OpenSSL: cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (version == 0)
		return ctx;
	if (version < TLS1_2_VERSION) {
		/* OpenSSL 3 forbids TLS < 1.2 from security level 1 on */
		SSL_CTX_set_security_level(ctx, 0);
		SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
	}
	if (SSL_CTX_set_min_proto_version(ctx, version) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, version) != 1) {
		snprintf(why, size, "this OpenSSL cannot pin the protocol version");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* tls_can_offer - the library would send a ClientHello for this context */
static int
tls_can_offer(SSL_CTX *ctx)
{
	SSL *ssl = SSL_new(ctx);
	STACK_OF(SSL_CIPHER) *sk;
	int ok;

	if (ssl == NULL)
		return 0;
	sk = SSL_get1_supported_ciphers(ssl);
	ok = sk != NULL && sk_SSL_CIPHER_num(sk) > 0;
	sk_SSL_CIPHER_free(sk);
	SSL_free(ssl);
	ERR_clear_error();
	return ok;
}

/* tls_probe - one pinned version: accepted, refused, or why not tested */
static void
tls_probe(const struct rg_audit_target *t, int i, struct rg_audit_tls *r)
{
	struct rg_audit_target pt = *t;
	struct rg_audit_session s;
	enum rg_audit_sess_status ss;
	char why[256] = "";

	pt.xclient = NULL;
	pt.tls = rg_audit_tls_ctx(tls_versions[i].version, why, sizeof(why));
	if (pt.tls == NULL || !tls_can_offer(pt.tls)) {
		r->proto[i] = RG_AUDIT_TLS_UNTESTABLE;
		snprintf(r->why[i], sizeof(r->why[i]), "this OpenSSL cannot offer %s",
		    tls_versions[i].name);
		SSL_CTX_free(pt.tls);
		return;
	}
	ss = rg_audit_session_open(&pt, 1, 0, &s, why, sizeof(why));
	if (ss == RG_AUDIT_SESS_OK && s.tls_used) {
		r->proto[i] = RG_AUDIT_TLS_ACCEPTED;
		snprintf(r->why[i], sizeof(r->why[i]), "%s",
		    rg_smtp_tls_cipher(s.smtp));
	} else if (ss == RG_AUDIT_SESS_TLS) {
		/* a local "no protocols available" means we could not offer it */
		r->proto[i] = strstr(s.tls_why, "no protocols available") != NULL ||
		    strstr(s.tls_why, "no ciphers available") != NULL ?
		    RG_AUDIT_TLS_UNTESTABLE : RG_AUDIT_TLS_REFUSED;
		snprintf(r->why[i], sizeof(r->why[i]), "%s", s.tls_why);
	} else {
		/* the session failed, or STARTTLS vanished from this EHLO */
		r->proto[i] = RG_AUDIT_TLS_ERROR;
		snprintf(r->why[i], sizeof(r->why[i]), "%s", why[0] ? why :
		    "STARTTLS not offered in this session");
	}
	rg_audit_session_close(&s);
	SSL_CTX_free(pt.tls);
}

/* tls_best - the handshake a client with default settings gets */
static int
tls_best(const struct rg_audit_target *t, struct rg_audit_tls *r)
{
	struct rg_audit_target pt = *t;
	struct rg_audit_session s;
	char why[256];
	int ok = 0;

	pt.xclient = NULL;
	if ((pt.tls = rg_audit_tls_ctx(0, why, sizeof(why))) == NULL) {
		rg_audit_note(&r->notes, RG_AUDIT_ERROR, "%s", why);
		return -1;
	}
	if (rg_audit_session_open(&pt, 1, 0, &s, why, sizeof(why)) != RG_AUDIT_SESS_OK) {
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "STARTTLS is offered but "
		    "fails with default client settings: %s", why);
	} else if (s.tls_used) {
		rg_strlcpy(r->version, rg_smtp_tls_version(s.smtp), sizeof(r->version));
		rg_strlcpy(r->cipher, rg_smtp_tls_cipher(s.smtp), sizeof(r->cipher));
		r->bits = rg_smtp_tls_bits(s.smtp);
		ok = 1;
	}
	rg_audit_session_close(&s);
	SSL_CTX_free(pt.tls);
	return ok ? 0 : -1;
}

/* tls_judge - notes from the per-version results */
static void
tls_judge(struct rg_audit_tls *r)
{
	for (int i = 0; i < 2; i++) {
		if (r->proto[i] == RG_AUDIT_TLS_ACCEPTED)
			rg_audit_note(&r->notes, RG_AUDIT_WARN, "%s is still accepted "
			    "(deprecated by RFC 8996)", tls_versions[i].name);
		else if (r->proto[i] == RG_AUDIT_TLS_UNTESTABLE)
			rg_audit_note(&r->notes, RG_AUDIT_INFO, "%s could not be tested: "
			    "%s", tls_versions[i].name, r->why[i]);
	}
	for (int i = 0; i < RG_AUDIT_TLS_NVERS; i++)
		if (r->proto[i] == RG_AUDIT_TLS_ERROR)
			rg_audit_note(&r->notes, RG_AUDIT_INFO, "%s could not be tested: "
			    "%s", tls_versions[i].name, r->why[i]);
	if (r->proto[2] != RG_AUDIT_TLS_ACCEPTED && r->proto[3] != RG_AUDIT_TLS_ACCEPTED)
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "neither TLSv1.2 nor TLSv1.3 "
		    "is accepted");
	else if (r->proto[0] != RG_AUDIT_TLS_ACCEPTED &&
	    r->proto[1] != RG_AUDIT_TLS_ACCEPTED)
		rg_audit_note(&r->notes, RG_AUDIT_OK, "no protocol version older "
		    "than TLSv1.2 is accepted");
}

/* rg_audit_tls_run - is STARTTLS offered, and which versions work */
void
rg_audit_tls_run(const struct rg_audit_target *t, struct rg_audit_tls *r)
{
	struct rg_audit_target pt = *t;
	struct rg_audit_session s;
	char why[256];

	memset(r, 0, sizeof(*r));
	r->ran = 1;
	pt.xclient = NULL;
	if (rg_audit_session_open(&pt, 0, 0, &s, why, sizeof(why)) != RG_AUDIT_SESS_OK) {
		rg_audit_note(&r->notes, RG_AUDIT_ERROR, "%s", why);
		return;
	}
	r->offered = s.tls_offered;
	rg_audit_session_close(&s);
	if (!r->offered) {
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "STARTTLS is not offered: "
		    "mail to this server travels in clear text");
		return;
	}
	if (tls_best(t, r) == 0)
		rg_audit_note(&r->notes, RG_AUDIT_OK, "STARTTLS offered; a default "
		    "client gets %s with %s", r->version, r->cipher);
	for (int i = 0; i < RG_AUDIT_TLS_NVERS; i++)
		tls_probe(t, i, r);
	tls_judge(r);
}

/* rg_audit_tls_res_name - a probe result for the report */
const char *
rg_audit_tls_res_name(enum rg_audit_tlsres res)
{
	switch (res) {
	case RG_AUDIT_TLS_NOT_TESTED:
		return "not tested";
	case RG_AUDIT_TLS_ACCEPTED:
		return "accepted";
	case RG_AUDIT_TLS_REFUSED:
		return "refused";
	case RG_AUDIT_TLS_UNTESTABLE:
		return "could not test";
	case RG_AUDIT_TLS_ERROR:
		return "error";
	}
	return "?";
}

/* rg_audit_tls_print - the "tls" section */
void
rg_audit_tls_print(struct rg_audit_out *o, const struct rg_audit_tls *r)
{
	char line[320];

	rg_audit_out_begin(o, "starttls", "STARTTLS");
	rg_audit_out_bool(o, "offered", "offered", r->offered);
	if (r->version[0] != '\0') {
		rg_audit_out_str(o, "version", "best version", r->version);
		rg_audit_out_str(o, "cipher", "cipher", r->cipher);
		rg_audit_out_int(o, "bits", NULL, r->bits);
	}
	if (r->offered) {
		rg_audit_out_begin(o, "protocols", NULL);
		for (int i = 0; i < RG_AUDIT_TLS_NVERS; i++) {
			snprintf(line, sizeof(line), "%s%s%s", rg_audit_tls_res_name(r->proto[i]),
			    r->why[i][0] && r->proto[i] != RG_AUDIT_TLS_UNTESTABLE ? " (" : "",
			    r->why[i][0] && r->proto[i] != RG_AUDIT_TLS_UNTESTABLE ?
			    r->why[i] : "");
			if (r->why[i][0] && r->proto[i] != RG_AUDIT_TLS_UNTESTABLE)
				rg_strlcat(line, ")", sizeof(line));
			rg_audit_out_str(o, tls_versions[i].name, NULL,
			    rg_audit_tls_res_name(r->proto[i]));
			rg_audit_out_text(o, "%-8s %s", tls_versions[i].name, line);
		}
		rg_audit_out_end(o);
	}
	rg_audit_out_notes(o, &r->notes);
	rg_audit_out_end(o);
}

/* rg_audit_tls_release - free the notes */
void
rg_audit_tls_release(struct rg_audit_tls *r)
{
	rg_audit_notes_release(&r->notes);
}
