/*
 * session.h - one audit SMTP session up to the point where MAIL can start
 *
 * rg_audit_session_open() connects, reads the greeting, sends EHLO, and
 * when asked: STARTTLS (RFC 3207) and EHLO again, then XCLIENT (Postfix's
 * XCLIENT_README: the server then treats us as the client named there)
 * and EHLO again. rg_audit_session_close() sends QUIT and closes. The
 * battery and the TLS probes open their sessions through here.
 *
 * Ownership: the session owns its struct rg_smtp; the target is borrowed
 * and must outlive the session. Single-threaded.
 */
#ifndef RG_AUDIT_SESSION_H
#define RG_AUDIT_SESSION_H

#include "smtp.h"

/* the server under audit and how to talk to it */
struct rg_audit_target {
	const char *host;
	const char *port;
	long long timeout_ms;	/* per connect, reply or handshake */
	int verbose;		/* dialogue on stderr */
	const char *helo;	/* EHLO name */
	const char *xclient;	/* --xclient: an address or ATTR=VALUE list; NULL: none */
	SSL_CTX *tls;		/* for the sessions' STARTTLS; NULL: never */
};

struct rg_audit_session {
	struct rg_smtp *smtp;
	struct rg_smtp_reply greeting;	/* 220 ... */
	struct rg_smtp_reply ehlo;	/* the last EHLO reply */
	int tls_offered;		/* STARTTLS in the first EHLO reply */
	int tls_used;			/* the session runs over TLS */
	int xclient_used;
	char tls_why[200];		/* when STARTTLS was offered but failed */
};

enum rg_audit_sess_status {
	RG_AUDIT_SESS_OK,
	RG_AUDIT_SESS_CONNECT,	/* no connection, or no 220 greeting */
	RG_AUDIT_SESS_REFUSED,	/* greeting or EHLO refused us */
	RG_AUDIT_SESS_TLS,	/* STARTTLS offered, but it failed */
	RG_AUDIT_SESS_XCLIENT,	/* XCLIENT not offered to us, or refused */
	RG_AUDIT_SESS_PROTO,	/* the server broke the protocol, or went away */
};

/*
 * rg_audit_session_open - a session ready for MAIL; use_tls: STARTTLS
 * when offered. On failure the session is closed and why says what
 * happened (with the server's reply when there was one).
 */
enum rg_audit_sess_status rg_audit_session_open(const struct rg_audit_target *t,
    int use_tls, int use_xclient, struct rg_audit_session *s, char *why,
    size_t whysize);
/* rg_audit_session_close - QUIT (reply not awaited long), close */
void rg_audit_session_close(struct rg_audit_session *s);
/*
 * rg_audit_xclient_attrs - what to send after XCLIENT: arg as given when
 * it holds '=', else ADDR=arg (IPV6: prefixed for an IPv6 address) and
 * NAME=[UNAVAILABLE] when the server takes NAME; -1 when arg is unusable.
 */
int rg_audit_xclient_attrs(const char *arg, const char *offered, char *out,
    size_t size);

#endif
