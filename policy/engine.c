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

#include "alert.h"
#include "authres.h"
#include "blocklist.h"
#include "buf.h"
#include "dkim.h"
#include "content.h"
#include "dmarc.h"
#include "dnsbl.h"
#include "msgscan.h"
#include "engine.h"
#include "greylist.h"
#include "lockout.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "relay.h"
#include "settings.h"
#include "spf.h"
#include "surbl.h"
#include "txlog.h"

#define RG_ENGINE_DKIM_MAX	16	/* signatures handed to DMARC */

void
rg_engine_connect(struct rg_conn *c, struct rg_verdict *v)
{
	uint64_t t0 = rg_metrics_now();

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
		rg_verdict_take(&c->verdict, v);
		rg_txlog_connection(c);
	}
	rg_metrics_inc(RG_M_CONNECTIONS);
	rg_metrics_add(RG_M_CONNECTIONS_OPEN, 1);
	rg_metrics_stage(RG_MS_CONNECT, t0);
}

void
rg_engine_helo(struct rg_conn *c, struct rg_verdict *v)
{
	uint64_t t0 = rg_metrics_now();

	(void)v;
	rg_log_id_debug(RG_MOD_ENGINE, c->id, "helo %s", c->helo);
	rg_metrics_stage(RG_MS_HELO, t0);
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
	uint64_t t0 = rg_metrics_now();

	engine_auth_note(c);
	/* the answer to CONNECT's counters: a refused session ends here */
	rg_ratelimit_settle(c, v);
	if (!rg_verdict_is_final(v))
		rg_relay_mail(c, v);
	rg_lockout_mail(c, v);
	if (!rg_verdict_is_final(v) && !rg_relay_is_trusted(c))
		rg_dnsbl_decide(c, rg_relay_is_authenticated(c), v);
	if (!rg_verdict_is_final(v))
		rg_spf_check(c, v);
	/* inbound mail is verified; our own users' mail is signed instead */
	if (!rg_verdict_is_final(v) && !rg_relay_is_trusted(c) &&
	    !rg_relay_is_authenticated(c) &&
	    (m->dkim_verify = rg_dkim_verify_new(c->conf, c->id)) != NULL) {
		rg_dkim_verify_leadspc(m->dkim_verify, c->leadspc);
		rg_dkim_verify_set_resolver(m->dkim_verify, rg_dkim_resolver_lookup,
		    c->conf);
	}
	/* last: a message another check refuses is not counted */
	rg_ratelimit_mail(c, v);
	if (rg_verdict_is_final(v)) {
		rg_verdict_clear(&m->verdict);
		rg_verdict_take(&m->verdict, v);
		rg_txlog_message(c, rg_action_name(v->action));
	}
	rg_metrics_stage(RG_MS_MAIL, t0);
}

void
rg_engine_rcpt(struct rg_conn *c, const char *addr, struct rg_verdict *v)
{
	struct rg_rcpt *r = rg_msg_add_rcpt(c, addr);
	const char *why = NULL;
	uint64_t t0 = rg_metrics_now();

	if (r == NULL) {
		/* RFC 5321 4.5.3.1.8: 452 for too many recipients */
		rg_verdict_set(v, RG_ACT_TEMPFAIL, "limit", "452", "4.5.3",
		    "Too many recipients");
		c->msg->nrcpts_over++;
		rg_metrics_stage(RG_MS_RCPT, t0);
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
			rg_verdict_take(&c->msg->verdict, v);
	}
	if (why != NULL)
		rg_metrics_inc_label("relay", why);
	rg_metrics_stage(RG_MS_RCPT, t0);
}

/* engine_authserv_id - ours: configured, else the MTA's host name */
static const char *
engine_authserv_id(const struct rg_conn *c)
{
	const char *id = c->conf->core.authserv_id;

	return id[0] ? id : c->mta_host[0] ? c->mta_host : "localhost";
}

/* engine_strip - remember a forged field to remove at end of message */
static void
engine_strip(struct rg_conn *c, const char *name, unsigned index)
{
	struct rg_msg *m = c->msg;

	if (m->nstrip < RG_STRIP_MAX) {
		m->strip[m->nstrip].name = name;
		m->strip[m->nstrip++].index = index;
	} else if (m->nstrip_over++ == 0) {
		rg_log_id(RG_LOG_WARN, c->id, "more than %d forged header "
		    "fields; the rest stay in the message", RG_STRIP_MAX);
	}
}

void
rg_engine_header(struct rg_conn *c, const char *name, const char *value)
{
	struct rg_msg *m = c->msg;
	int t;

	/* RFC 8601 s5: a header claiming our authserv-id is a forgery */
	if (strcasecmp(name, "Authentication-Results") == 0) {
		m->ar_seen++;
		if (rg_authres_is_ours(value, engine_authserv_id(c)))
			engine_strip(c, "Authentication-Results", m->ar_seen);
	} else if ((t = rg_tag_lookup(name)) >= 0) {
		/* our tag fields mean what we decided; a trusted network's
		 * own relayguard may have added them one hop before */
		m->tag_seen[t]++;
		if (!rg_relay_is_trusted(c))
			engine_strip(c, rg_tag_name(t), m->tag_seen[t]);
	}
	rg_msg_add_header(c, name, value);
	if (m->dkim_verify != NULL)
		rg_dkim_verify_header(m->dkim_verify, name, value);
}

/* engine_sign_start - a signer for mail from our users, fed the header */
static void
engine_sign_start(struct rg_conn *c)
{
	struct rg_msg *m = c->msg;
	struct rg_buf why = RG_BUF_INIT;
	const char *from = rg_msg_header(m, "From");
	char addr[RG_PATH_MAX];

	if (!rg_relay_is_trusted(c) && !rg_relay_is_authenticated(c))
		return;
	/* a header we did not keep whole cannot be signed faithfully */
	if (from == NULL || m->headers_dropped > 0 ||
	    rg_dkim_from_address(from, addr, sizeof(addr)) < 0)
		return;
	m->dkim_sign = rg_dkim_sign_new(c->conf, addr, c->id, &why);
	if (m->dkim_sign == NULL) {
		if (why.len)
			rg_log_id(RG_LOG_ERR, c->id, "dkim: cannot sign: %s",
			    rg_buf_cstr(&why));
		rg_buf_release(&why);
		return;
	}
	rg_dkim_sign_leadspc(m->dkim_sign, c->leadspc);
	for (size_t i = 0; i < m->nheaders; i++)
		rg_dkim_sign_header(m->dkim_sign, m->headers[i].name,
		    m->headers[i].value);
	rg_dkim_sign_eoh(m->dkim_sign);
	rg_buf_release(&why);
}

void
rg_engine_eoh(struct rg_conn *c)
{
	if (c->msg->dkim_verify != NULL)
		rg_dkim_verify_eoh(c->msg->dkim_verify);
	engine_sign_start(c);
}

void
rg_engine_body(struct rg_conn *c, const void *chunk, size_t len)
{
	struct rg_msg *m = c->msg;

	rg_msg_add_body(c, chunk, len);
	if (m->dkim_verify != NULL)
		rg_dkim_verify_body(m->dkim_verify, chunk, len);
	if (m->dkim_sign != NULL)
		rg_dkim_sign_body(m->dkim_sign, chunk, len);
}

/* engine_dkim_ares - a DKIM result as OpenDMARC's history file numbers it */
static enum rg_dmarc_ares
engine_dkim_ares(enum rg_dkim_result r)
{
	switch (r) {
	case RG_DKIM_PASS:
		return RG_ARES_PASS;
	case RG_DKIM_FAIL:
		return RG_ARES_FAIL;
	case RG_DKIM_NEUTRAL:
		return RG_ARES_NEUTRAL;
	case RG_DKIM_POLICY:
		return RG_ARES_POLICY;
	case RG_DKIM_TEMPERROR:
		return RG_ARES_TEMPERROR;
	case RG_DKIM_PERMERROR:
		return RG_ARES_PERMERROR;
	default:
		return RG_ARES_NONE;
	}
}

/*
 * engine_dkim_verify - results into Authentication-Results and the log;
 * the signatures that passed are handed to DMARC through sigs (borrowed
 * from res, which the caller releases)
 */
static size_t
engine_dkim_verify(struct rg_conn *c, struct rg_dkim_results *res,
    struct rg_dmarc_dkim *sigs, size_t max)
{
	struct rg_msg *m = c->msg;
	struct rg_buf sum = RG_BUF_INIT;
	size_t n = 0;

	if (m->dkim_verify == NULL)
		return 0;
	(void)rg_dkim_verify_eom(m->dkim_verify, res);
	rg_dkim_results_authres(res, m);
	rg_dkim_results_summary(res, &sum);
	rg_msg_note(m, "dkim", "%s", sum.len ? rg_buf_cstr(&sum) : "none");
	rg_buf_release(&sum);
	if (res->n == 0)
		rg_metrics_inc_label("dkim", "none");
	for (size_t i = 0; i < res->n; i++)
		rg_metrics_inc_label("dkim", rg_dkim_result_name(res->sig[i].result));
	for (size_t i = 0; i < res->n && n < max; i++) {
		sigs[n].domain = res->sig[i].domain;
		sigs[n].selector = res->sig[i].selector;
		sigs[n].pass = res->sig[i].result == RG_DKIM_PASS;
		sigs[n].ares = engine_dkim_ares(res->sig[i].result);
		n++;
	}
	return n;
}

/* engine_dkim_sign - DKIM-Signature fields at the top, after other edits */
static void
engine_dkim_sign(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_msg *m = c->msg;
	struct rg_strlist sigs = { 0, NULL };
	struct rg_buf why = RG_BUF_INIT;

	if (m->dkim_sign == NULL)
		return;
	if (rg_dkim_sign_eom(m->dkim_sign, &sigs, &why) != RG_DKIM_OK)
		rg_log_id(RG_LOG_ERR, c->id, "dkim: signing failed: %s",
		    rg_buf_cstr(&why));
	for (size_t i = 0; i < sigs.n; i++)
		rg_verdict_add_header(v, "DKIM-Signature", sigs.v[i], 0);
	rg_msg_note(m, "dkim_signed", "%zu", sigs.n);
	rg_strlist_free(&sigs);
	rg_buf_release(&why);
}

/* engine_remove_forged - delete forged fields, last first so that each
 * deletion leaves the indices of the earlier ones of its name unchanged */
static void
engine_remove_forged(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_msg *m = c->msg;
	size_t nar = 0;

	for (size_t i = m->nstrip; i-- > 0;) {
		const struct rg_strip *s = &m->strip[i];
		int ar = strcmp(s->name, "Authentication-Results") == 0;

		rg_verdict_del_header(v, s->name, (int)s->index);
		if (ar) {
			nar++;
			rg_log_id(RG_LOG_NOTICE, c->id, "removed forged "
			    "Authentication-Results #%u claiming %s", s->index,
			    engine_authserv_id(c));
		} else {
			rg_log_id(RG_LOG_NOTICE, c->id, "removed forged %s #%u "
			    "from an untrusted client", s->name, s->index);
		}
	}
	if (nar)
		rg_msg_note(m, "authres_removed", "%zu", nar);
	if (m->nstrip > nar)
		rg_msg_note(m, "tags_removed", "%zu", m->nstrip - nar);
}

void
rg_engine_eom(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_msg *m = c->msg;
	struct rg_buf ar = RG_BUF_INIT;
	uint64_t t0 = rg_metrics_now();

	rg_msgscan_end(m->scan);
	/* content, then links: a refused message needs no DKIM or DMARC */
	rg_content_eom(c, v);
	rg_surbl_eom(c, rg_relay_is_trusted(c) || rg_relay_is_authenticated(c), v);
	if (!rg_verdict_is_final(v)) {
		struct rg_dmarc_outcome dmarc;
		struct rg_dkim_results dkim = { NULL, 0, 0 };
		struct rg_dmarc_dkim sigs[RG_ENGINE_DKIM_MAX];
		size_t nsigs;

		rg_dnsbl_eom(c, v);
		rg_spf_eom(c, v);
		nsigs = engine_dkim_verify(c, &dkim, sigs, RG_ENGINE_DKIM_MAX);
		rg_dmarc_eom(c, sigs, nsigs, v, &dmarc);
		rg_dkim_results_release(&dkim);
		rg_ratelimit_eom(c, v);
		rg_lockout_eom(c, v);
		engine_remove_forged(c, v);
		rg_authres_format(m, engine_authserv_id(c), &ar);
		rg_verdict_add_header(v, "Authentication-Results", rg_buf_cstr(&ar), 0);
		rg_buf_release(&ar);
		if (!rg_verdict_is_final(v))
			engine_dkim_sign(c, v);
	}
	rg_verdict_clear(&m->verdict);
	rg_verdict_take(&m->verdict, v);
	rg_txlog_message(c, v->action == RG_ACT_CONTINUE ? "accept" :
	    rg_action_name(v->action));
	rg_alert_eom(c, v);
	rg_metrics_stage(RG_MS_EOM, t0);
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
	rg_ratelimit_settle(c, NULL);
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
	rg_metrics_add(RG_M_CONNECTIONS_OPEN, -1);
}
