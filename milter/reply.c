/*
 * reply.c - verdicts to smfi_setreply() and SMFIS_* codes
 *
 * Reply text can carry client input (an address), so it is sanitised:
 * libmilter refuses CR and LF and reads '%' as a format character. A
 * reply code of the wrong class for the action (a 5xx with tempfail) is
 * replaced by the standard one rather than sent inconsistent.
 */
#include <string.h>

#include "../policy/log.h"
#include "../policy/strutil.h"
#include "reply.h"

static void
reply_set(SMFICTX *ctx, struct rg_conn *c, const struct rg_verdict *v,
    char cls, const char *defcode, const char *defx)
{
	char text[sizeof(v->text) * 2];
	const char *rcode = v->rcode, *xcode = v->xcode;

	if (rcode[0] != cls || strlen(rcode) != 3) {
		rcode = defcode;
		xcode = defx;
	}
	if (xcode[0] != cls)
		xcode = defx;
	rg_str_sanitize(text, sizeof(text), v->text[0] ? v->text : "Refused");
	if (smfi_setreply(ctx, (char *)rcode, (char *)xcode, text) != MI_SUCCESS)
		rg_log_id(RG_LOG_WARN, c->id, "could not set SMTP reply \"%s %s\"",
		    rcode, xcode);
}

/* reply_headers - apply deletions, then additions, at end of message */
static void
reply_headers(SMFICTX *ctx, struct rg_conn *c, const struct rg_verdict *v)
{
	for (const struct rg_hdr *h = v->del; h; h = h->next)
		if (smfi_chgheader(ctx, h->name, h->index, NULL) != MI_SUCCESS)
			rg_log_id(RG_LOG_WARN, c->id, "could not remove header %s #%d",
			    h->name, h->index);
	for (const struct rg_hdr *h = v->add; h; h = h->next) {
		struct rg_buf val = RG_BUF_INIT;
		int rc;

		/* with SMFIP_HDR_LEADSPC the MTA adds no space after the colon */
		if (c->leadspc)
			rg_buf_putc(&val, ' ');
		rg_buf_puts(&val, h->value);
		rc = h->index < 0 ? smfi_addheader(ctx, h->name, val.data) :
		    smfi_insheader(ctx, h->index, h->name, val.data);
		if (rc != MI_SUCCESS)
			rg_log_id(RG_LOG_WARN, c->id, "could not add header %s", h->name);
		rg_buf_release(&val);
	}
}

sfsistat
rg_reply(SMFICTX *ctx, struct rg_conn *c, const struct rg_verdict *v, int eom)
{
	if (eom && (v->action == RG_ACT_CONTINUE || v->action == RG_ACT_ACCEPT ||
	    v->action == RG_ACT_QUARANTINE))
		reply_headers(ctx, c, v);

	switch (v->action) {
	case RG_ACT_CONTINUE:
		return SMFIS_CONTINUE;
	case RG_ACT_ACCEPT:
		return SMFIS_ACCEPT;
	case RG_ACT_TEMPFAIL:
		reply_set(ctx, c, v, '4', "451", "4.7.1");
		return SMFIS_TEMPFAIL;
	case RG_ACT_REJECT:
		reply_set(ctx, c, v, '5', "550", "5.7.1");
		return SMFIS_REJECT;
	case RG_ACT_DISCARD:
		return SMFIS_DISCARD;
	case RG_ACT_QUARANTINE:
		/* only end of message can quarantine; earlier it is continue */
		if (eom && smfi_quarantine(ctx, (char *)(v->text[0] ? v->text :
		    "relayguard")) != MI_SUCCESS)
			rg_log_id(RG_LOG_WARN, c->id, "could not quarantine");
		return SMFIS_CONTINUE;
	}
	rg_panic("rg_reply: unknown action %d", (int)v->action);
}

sfsistat
rg_reply_tempfail(SMFICTX *ctx, const char *why)
{
	rg_log_error("tempfail: %s", why);
	smfi_setreply(ctx, "451", "4.3.0", "Temporary local problem, try again later");
	return SMFIS_TEMPFAIL;
}
