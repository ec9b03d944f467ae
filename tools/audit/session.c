/*
 * session.c - connect, greeting, EHLO, STARTTLS, XCLIENT (see session.h)
 *
 * The order is the one a real client would use: TLS first, so that what
 * follows (XCLIENT, the battery) travels encrypted when the server offers
 * it, then XCLIENT, after which Postfix answers with a new greeting and
 * wants a new EHLO (XCLIENT_README). Each step that fails closes the
 * session and says why, with the server's reply.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "session.h"
#include "../../policy/strutil.h"

/* session_fail - close what is open, describe the failure, return st */
static enum rg_audit_sess_status
session_fail(struct rg_audit_session *s, enum rg_audit_sess_status st,
    char *why, size_t whysize, const char *what, const struct rg_smtp_reply *r,
    enum rg_smtp_status io)
{
	if (io != RG_SMTP_OK)
		snprintf(why, whysize, "%s: %s", what, rg_smtp_why(s->smtp));
	else
		snprintf(why, whysize, "%s: %d %s", what, r->code, r->text);
	/* keep the first line of a multi-line reply only */
	why[strcspn(why, "\n")] = '\0';
	if (io != RG_SMTP_OK && st == RG_AUDIT_SESS_REFUSED)
		st = RG_AUDIT_SESS_PROTO;
	s->smtp = rg_smtp_close(s->smtp);
	return st;
}

/* session_ehlo - EHLO, falling back to HELO (RFC 5321 s4.1.4) */
static enum rg_smtp_status
session_ehlo(struct rg_audit_session *s, const char *helo)
{
	enum rg_smtp_status st = rg_smtp_cmd(s->smtp, &s->ehlo, "EHLO %s", helo);

	if (st == RG_SMTP_OK && s->ehlo.code >= 500 && s->ehlo.code != 521)
		st = rg_smtp_cmd(s->smtp, &s->ehlo, "HELO %s", helo);
	return st;
}

/* rg_audit_xclient_attrs - the attribute list sent after XCLIENT */
int
rg_audit_xclient_attrs(const char *arg, const char *offered, char *out,
    size_t size)
{
	int name = 0;
	size_t n;

	if (arg[0] == '\0')
		return -1;
	for (const char *p = arg; *p; p++)
		if (!isgraph((unsigned char)*p) && *p != ' ')
			return -1;
	if (strchr(arg, '=') != NULL)
		n = rg_strlcpy(out, arg, size);
	else {
		if (strchr(arg, ' ') != NULL)
			return -1;
		if (offered != NULL)
			for (const char *p = offered; (p = strstr(p, "NAME")) != NULL; p += 4)
				if ((p == offered || p[-1] == ' ') && (p[4] == ' ' || p[4] == '\0'))
					name = 1;
		n = (size_t)snprintf(out, size, "ADDR=%s%s%s",
		    strchr(arg, ':') && strncasecmp(arg, "IPV6:", 5) != 0 ? "IPV6:" : "",
		    arg, name ? " NAME=[UNAVAILABLE]" : "");
	}
	return n < size ? 0 : -1;
}

/* session_xclient - XCLIENT, its 220, and a new EHLO */
static enum rg_audit_sess_status
session_xclient(struct rg_audit_session *s, const struct rg_audit_target *t,
    char *why, size_t whysize)
{
	char offered[512], attrs[512];
	struct rg_smtp_reply r;
	enum rg_smtp_status st;

	if (rg_smtp_ext(&s->ehlo, "XCLIENT", offered, sizeof(offered)) == NULL) {
		snprintf(why, whysize, "the server does not offer XCLIENT to this "
		    "host (Postfix: smtpd_authorized_xclient_hosts)");
		s->smtp = rg_smtp_close(s->smtp);
		return RG_AUDIT_SESS_XCLIENT;
	}
	if (rg_audit_xclient_attrs(t->xclient, offered, attrs, sizeof(attrs)) < 0) {
		snprintf(why, whysize, "unusable --xclient value");
		s->smtp = rg_smtp_close(s->smtp);
		return RG_AUDIT_SESS_XCLIENT;
	}
	st = rg_smtp_cmd(s->smtp, &r, "XCLIENT %s", attrs);
	if (st != RG_SMTP_OK || r.code != 220)
		return session_fail(s, st == RG_SMTP_OK ? RG_AUDIT_SESS_XCLIENT :
		    RG_AUDIT_SESS_PROTO, why, whysize, "XCLIENT", &r, st);
	s->greeting = r;
	st = session_ehlo(s, t->helo);
	if (st != RG_SMTP_OK || s->ehlo.code / 100 != 2)
		return session_fail(s, RG_AUDIT_SESS_REFUSED, why, whysize,
		    "EHLO after XCLIENT", &s->ehlo, st);
	s->xclient_used = 1;
	return RG_AUDIT_SESS_OK;
}

/* session_tls - STARTTLS and EHLO again; the session is gone on failure */
static enum rg_audit_sess_status
session_tls(struct rg_audit_session *s, const struct rg_audit_target *t,
    char *why, size_t whysize)
{
	struct rg_smtp_reply r;
	enum rg_smtp_status st;
	const char *sni = t->host;

	/* RFC 6066 s3: no IP literals in server_name */
	if (strspn(sni, "0123456789.") == strlen(sni) || strchr(sni, ':') != NULL)
		sni = NULL;
	st = rg_smtp_starttls(s->smtp, t->tls, sni, &r);
	if (st != RG_SMTP_OK) {
		snprintf(s->tls_why, sizeof(s->tls_why), "%s", rg_smtp_why(s->smtp));
		snprintf(why, whysize, "STARTTLS: %s", s->tls_why);
		s->smtp = rg_smtp_close(s->smtp);
		return RG_AUDIT_SESS_TLS;
	}
	s->tls_used = 1;
	st = session_ehlo(s, t->helo);
	if (st != RG_SMTP_OK || s->ehlo.code / 100 != 2)
		return session_fail(s, RG_AUDIT_SESS_REFUSED, why, whysize,
		    "EHLO after STARTTLS", &s->ehlo, st);
	return RG_AUDIT_SESS_OK;
}

/* rg_audit_session_open - connect and get ready for MAIL */
enum rg_audit_sess_status
rg_audit_session_open(const struct rg_audit_target *t, int use_tls,
    int use_xclient, struct rg_audit_session *s, char *why, size_t whysize)
{
	enum rg_audit_sess_status ss;
	enum rg_smtp_status st;
	char params[64];

	memset(s, 0, sizeof(*s));
	s->smtp = rg_smtp_open(t->host, t->port, t->timeout_ms, t->verbose, why,
	    whysize);
	if (s->smtp == NULL)
		return RG_AUDIT_SESS_CONNECT;
	st = rg_smtp_read(s->smtp, &s->greeting);
	if (st != RG_SMTP_OK)
		return session_fail(s, RG_AUDIT_SESS_CONNECT, why, whysize,
		    "greeting", &s->greeting, st);
	if (s->greeting.code != 220)
		return session_fail(s, RG_AUDIT_SESS_REFUSED, why, whysize,
		    "greeting", &s->greeting, st);
	st = session_ehlo(s, t->helo);
	if (st != RG_SMTP_OK || s->ehlo.code / 100 != 2)
		return session_fail(s, RG_AUDIT_SESS_REFUSED, why, whysize, "EHLO",
		    &s->ehlo, st);
	s->tls_offered = rg_smtp_ext(&s->ehlo, "STARTTLS", params,
	    sizeof(params)) != NULL;
	if (use_tls && s->tls_offered && t->tls != NULL &&
	    (ss = session_tls(s, t, why, whysize)) != RG_AUDIT_SESS_OK)
		return ss;
	if (use_xclient && t->xclient != NULL &&
	    (ss = session_xclient(s, t, why, whysize)) != RG_AUDIT_SESS_OK)
		return ss;
	return RG_AUDIT_SESS_OK;
}

/* rg_audit_session_close - QUIT and close; a dead session just closes */
void
rg_audit_session_close(struct rg_audit_session *s)
{
	struct rg_smtp_reply r;

	if (s->smtp == NULL)
		return;
	(void)rg_smtp_cmd(s->smtp, &r, "QUIT");
	s->smtp = rg_smtp_close(s->smtp);
}
