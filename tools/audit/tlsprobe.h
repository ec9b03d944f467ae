/*
 * tlsprobe.h - STARTTLS posture: offered, best version, old versions
 *
 * rg_audit_tls_run() opens fresh sessions to the server: one to see
 * whether STARTTLS is offered, one with the library's defaults (the
 * version and cipher a modern client gets), and one per protocol version
 * pinned with SSL_CTX_set_min/max_proto_version, to see which the server
 * still accepts. TLS 1.0 and 1.1 (deprecated by RFC 8996) are offered at
 * OpenSSL security level 0, since Debian's OpenSSL refuses them at its
 * default level; when the library cannot offer a version at all the
 * result says "could not test". Certificates are not verified.
 *
 * Ownership: results own their notes (rg_audit_tls_release). The
 * SSL_CTX from rg_audit_tls_ctx() is the caller's (SSL_CTX_free).
 */
#ifndef RG_AUDIT_TLSPROBE_H
#define RG_AUDIT_TLSPROBE_H

#include <openssl/ssl.h>

#include "audit.h"
#include "session.h"

#define RG_AUDIT_TLS_NVERS	4	/* TLS 1.0, 1.1, 1.2, 1.3 */

enum rg_audit_tlsres {
	RG_AUDIT_TLS_NOT_TESTED,
	RG_AUDIT_TLS_ACCEPTED,
	RG_AUDIT_TLS_REFUSED,	/* the server would not complete a handshake */
	RG_AUDIT_TLS_UNTESTABLE,	/* our library cannot offer the version */
	RG_AUDIT_TLS_ERROR,	/* the session failed before the handshake */
};

struct rg_audit_tls {
	int ran;			/* the check was attempted */
	int offered;			/* STARTTLS in the EHLO reply */
	char version[32];		/* negotiated with default settings */
	char cipher[128];
	int bits;
	enum rg_audit_tlsres proto[RG_AUDIT_TLS_NVERS];
	char why[RG_AUDIT_TLS_NVERS][256];
	struct rg_audit_notes notes;
};

/*
 * rg_audit_tls_ctx - a client context: version 0 for the library's
 * defaults, else min = max = version (TLS1_VERSION ...), at security
 * level 0 below TLS 1.2. NULL with why on failure.
 */
SSL_CTX *rg_audit_tls_ctx(int version, char *why, size_t size);
/* rg_audit_tls_run - every probe against t (its tls and xclient unused) */
void rg_audit_tls_run(const struct rg_audit_target *t, struct rg_audit_tls *r);
void rg_audit_tls_print(struct rg_audit_out *o, const struct rg_audit_tls *r);
void rg_audit_tls_release(struct rg_audit_tls *r);
const char *rg_audit_tls_res_name(enum rg_audit_tlsres res);

#endif
