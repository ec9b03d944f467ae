/*
 * engine.c - order of checks per stage, and the transaction's bookkeeping
 *
 * Each stage runs its checks in a fixed order; the first that refuses
 * decides and the rest are skipped. The engine also keeps the promise of
 * exactly one summary line per message: at end of message, at abort, or at
 * close, whichever comes first.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "blocklist.h"
#include "buf.h"
#include "dmarc.h"
#include "dnsbl.h"
#include "engine.h"
#include "greylist.h"
#include "lockout.h"
#include "log.h"
#include "ratelimit.h"
#include "relay.h"
#include "settings.h"
#include "spf.h"
#include "txlog.h"

void
rg_engine_connect(struct rg_conn *c, struct rg_verdict *v)
{
	rg_log_id_debug(RG_MOD_ENGINE, c->id, "connect from %s[%s]",
	    c->client_name, c->client_addr);
	rg_relay_connect(c, v);
	rg_blocklist_connect(c, v);
	rg_ratelimit_connect(c, v);
	/*
	 * The client's list lookups run while the SMTP dialogue goes on.
	 * Trusted networks are never looked up; whether the client will log
	 * in is not known yet, so everyone else is.
	 */
	if (!rg_verdict_is_final(v) && !rg_relay_is_trusted(c))
		rg_dnsbl_start(c);
	if (rg_verdict_is_final(v)) {
		rg_verdict_clear(&c->verdict);
		rg_verdict_set(&c->verdict, v->action, v->check, v->rcode,
		    v->xcode, "%s", v->text);
		rg_txlog_connection(c);
	}
}

void
rg_engine_helo(struct rg_conn *c, struct rg_verdict *v)
{
	(void)v;
	rg_log_id_debug(RG_MOD_ENGINE, c->id, "helo %s", c->helo);
}

/* engine_auth_note - record SMTP AUTH as a check result (RFC 8601 s2.7.4) */
static void
engine_auth_note(struct rg_conn *c)
{
	struct rg_buf ri = RG_BUF_INIT;

	if (c->auth_user[0] == '\0')
		return;
	rg_buf_puts(&ri, "auth=pass smtp.auth=");
	rg_authres_pvalue(&ri, c->auth_user);
	rg_authres_add(c->msg, rg_buf_cstr(&ri));
	rg_buf_release(&ri);
}

void
rg_engine_mail(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_msg *m = c->msg;

	engine_auth_note(c);
	rg_relay_mail(c, v);
	rg_lockout_mail(c, v);
	if (!rg_verdict_is_final(v) && !rg_relay_is_trusted(c))
		rg_dnsbl_decide(c, rg_relay_is_authenticated(c), v);
	if (!rg_verdict_is_final(v))
		rg_spf_check(c, v);
	/* last: a message another check refuses is not counted */
	rg_ratelimit_mail(c, v);
	if (rg_verdict_is_final(v)) {
		rg_verdict_clear(&m->verdict);
		rg_verdict_set(&m->verdict, v->action, v->check, v->rcode, v->xcode,
		    "%s", v->text);
		rg_txlog_message(c, rg_action_name(v->action));
	}
}

void
rg_engine_rcpt(struct rg_conn *c, const char *addr, struct rg_verdict *v)
{
	struct rg_rcpt *r = rg_msg_add_rcpt(c, addr);
	const char *why = NULL;

	if (r == NULL) {
		/* RFC 5321 4.5.3.1.8: 452 for too many recipients */
		rg_verdict_set(v, RG_ACT_TEMPFAIL, "limit", "452", "4.5.3",
		    "Too many recipients");
		c->msg->nrcpts_over++;
		return;
	}
	rg_relay_rcpt_why(c, addr, v, &why);
	if (why != NULL)
		rg_msg_note(c->msg, "relay", "%s", why);
	/* greylisting first: a recipient it defers is not counted */
	rg_greylist_rcpt(c, addr, v);
	rg_ratelimit_rcpt(c, addr, v);
	if (v->action == RG_ACT_REJECT || v->action == RG_ACT_TEMPFAIL) {
		r->action = v->action;
		snprintf(r->check, sizeof(r->check), "%s", v->check);
		c->msg->nrcpts_refused++;
		/* remember the first refusal as the message's reason */
		if (c->msg->verdict.check[0] == '\0')
			rg_verdict_set(&c->msg->verdict, v->action, v->check,
			    v->rcode, v->xcode, "%s", v->text);
	}
}

/* engine_authserv_id - ours: configured, else the MTA's host name */
static const char *
engine_authserv_id(const struct rg_conn *c)
{
	const char *id = c->conf->core.authserv_id;

	return id[0] ? id : c->mta_host[0] ? c->mta_host : "localhost";
}

void
rg_engine_header(struct rg_conn *c, const char *name, const char *value)
{
	struct rg_msg *m = c->msg;

	/* RFC 8601 s5: a header claiming our authserv-id is a forgery */
	if (strcasecmp(name, "Authentication-Results") == 0) {
		m->ar_seen++;
		if (rg_authres_is_ours(value, engine_authserv_id(c)) &&
		    m->nar_forged < RG_AR_FORGED_MAX)
			m->ar_forged[m->nar_forged++] = m->ar_seen;
	}
	rg_msg_add_header(c, name, value);
}

/* engine_remove_forged - delete forged Authentication-Results, last first
 * so that each deletion leaves the indices of the others unchanged */
static void
engine_remove_forged(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_msg *m = c->msg;

	for (size_t i = m->nar_forged; i-- > 0;) {
		rg_verdict_del_header(v, "Authentication-Results", (int)m->ar_forged[i]);
		rg_log_id(RG_LOG_NOTICE, c->id, "removed forged "
		    "Authentication-Results #%u claiming %s", m->ar_forged[i],
		    engine_authserv_id(c));
	}
	if (m->nar_forged)
		rg_msg_note(m, "authres_removed", "%zu", m->nar_forged);
}

void
rg_engine_eom(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_msg *m = c->msg;
	struct rg_buf ar = RG_BUF_INIT;

	if (!rg_verdict_is_final(v)) {
		struct rg_dmarc_outcome dmarc;

		rg_dnsbl_eom(c, v);
		rg_spf_eom(c, v);
		/* DKIM results join here once DKIM verification is wired */
		rg_dmarc_eom(c, NULL, 0, v, &dmarc);
		rg_ratelimit_eom(c, v);
		rg_lockout_eom(c, v);
		engine_remove_forged(c, v);
		rg_authres_format(m, engine_authserv_id(c), &ar);
		rg_verdict_add_header(v, "Authentication-Results", rg_buf_cstr(&ar), 0);
		rg_buf_release(&ar);
	}
	rg_verdict_clear(&m->verdict);
	rg_verdict_set(&m->verdict, v->action, v->check, v->rcode, v->xcode,
	    "%s", v->text);
	rg_txlog_message(c, v->action == RG_ACT_CONTINUE ? "accept" :
	    rg_action_name(v->action));
}

/* engine_unfinished - summary of a transaction that never reached eom */
static void
engine_unfinished(struct rg_conn *c)
{
	struct rg_msg *m = c->msg;

	if (m == NULL || m->logged)
		return;
	if (m->nrcpts > 0 && m->nrcpts_refused == m->nrcpts)
		rg_txlog_message(c, rg_action_name(m->verdict.action));
	else
		rg_txlog_message(c, "aborted");
}

void
rg_engine_abort(struct rg_conn *c)
{
	engine_unfinished(c);
}

void
rg_engine_close(struct rg_conn *c)
{
	engine_unfinished(c);
	rg_ratelimit_close(c);
	if (c->nmsgs == 0 && rg_verdict_is_final(&c->verdict))
		rg_txlog_connection(c);
	rg_log_id_debug(RG_MOD_ENGINE, c->id, "disconnect after %u message(s)",
	    c->nmsgs);
}
