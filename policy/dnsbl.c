/*
 * dnsbl.c - DNSBL and DNSWL for the client address: start, score, decide
 *
 * rg_dnsbl_start() (CONNECT) sends one A query per list in a single batch
 * with the dns_timeout deadline, so the answers arrive while the client
 * says HELO. rg_dnsbl_decide() (MAIL) waits once, then scores as
 * postscreen does: each block list whose answer passes its filter adds its
 * weight once, each allow list subtracts its weight; a score at or over
 * dnsbl_threshold blocks, unless an allow list matched or the caller says
 * the client is trusted or authenticated. Later messages on the same
 * connection reuse the result.
 *
 * Error answers (outside 127/8, or 127.255.255.0/24) never list; they are
 * logged at most once a minute per zone. Timeouts and SERVFAIL do not list
 * either: they are logged, and mail flows. State lives in struct
 * rg_dnsbl_conn off struct rg_conn, owned by the connection's thread.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "dns.h"
#include "dnsbl.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "xalloc.h"

#define DNSBL_LISTS_MAX	256	/* zone names in the reply text */
#define DNSBL_SUMMARY_MAX 512

struct rg_dnsbl_conn {
	struct rg_dns_batch *batch;	/* until decided */
	int *bl_index, *wl_index;	/* batch index per site, -1: not asked */
	int decided;
	long long score;
	int listed;			/* score >= threshold */
	int wl_hit;
	int tag;			/* the last decision was "tag" */
	char lists[DNSBL_LISTS_MAX];	/* block lists that hit */
	char summary[DNSBL_SUMMARY_MAX];
};

/* dnsbl_state - c's state, created on first use */
static struct rg_dnsbl_conn *
dnsbl_state(struct rg_conn *c)
{
	if (c->dnsbl == NULL)
		c->dnsbl = rg_xcalloc(1, sizeof(*c->dnsbl));
	return c->dnsbl;
}

/* dnsbl_skip - nothing to ask: decided, with the reason as the summary */
static void
dnsbl_skip(struct rg_dnsbl_conn *d, const char *why)
{
	d->decided = 1;
	rg_strlcpy(d->summary, why, sizeof(d->summary));
}

/* dnsbl_send - one query per site of a list into the batch */
static int *
dnsbl_send(struct rg_conn *c, struct rg_dns_batch *b,
    const struct rg_dnsbl_sites *l)
{
	int *index = rg_xcalloc(l->n ? l->n : 1, sizeof(int));
	char qname[RG_DNS_QNAME_MAX + 1];

	for (size_t i = 0; i < l->n; i++) {
		index[i] = -1;
		if (rg_dnsbl_qname((const struct sockaddr *)&c->client_sa,
		    l->v[i].zone, qname, sizeof(qname)) < 0) {
			rg_log_id(RG_LOG_WARN, c->id, "dnsbl: query name for %s "
			    "under %s is too long", c->client_addr, l->v[i].zone);
			continue;
		}
		index[i] = rg_dns_batch_add(b, qname, RG_DNS_T_A);
	}
	return index;
}

/* rg_dnsbl_start - one A query per list for the client, in one batch */
void
rg_dnsbl_start(struct rg_conn *c)
{
	const struct rg_dnsbl_conf *dc = &c->conf->dnsbl;
	struct rg_dnsbl_conn *d;
	int family = c->client_sa.ss_family;

	if (dc->bl.n + dc->wl.n == 0 || c->dnsbl != NULL)
		return;
	d = dnsbl_state(c);
	if (family != AF_INET && family != AF_INET6) {
		dnsbl_skip(d, "skipped (no client address)");
		return;
	}
	/* read the handle once: it is cleared at shutdown */
	struct rg_dns *dns = rg_dns_default();

	if (dns == NULL) {
		dnsbl_skip(d, "skipped (no resolver)");
		return;
	}
	d->batch = rg_dns_batch_new(dns, c->conf->dns.timeout);
	d->bl_index = dnsbl_send(c, d->batch, &dc->bl);
	d->wl_index = dnsbl_send(c, d->batch, &dc->wl);
	rg_log_id_debug(RG_MOD_DNSBL, c->id, "dnsbl: %zu queries for %s",
	    rg_dns_batch_count(d->batch), c->client_addr);
}

/* dnsbl_refused - an error code or a non-loopback answer, rate-limited */
static void
dnsbl_refused(struct rg_conn *c, const char *zone, enum rg_dnsbl_answer kind,
    const char *addr)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!rg_dnsbl_warn_due(zone, now.tv_sec))
		return;
	if (kind == RG_DNSBL_REFUSED)
		rg_log_id(RG_LOG_WARN, c->id, "dnsbl: list %s refused the query "
		    "(%s)", zone, addr);
	else
		rg_log_id(RG_LOG_WARN, c->id, "dnsbl: list %s answered %s, "
		    "outside 127.0.0.0/8: not a listing (resolver rewriting "
		    "NXDOMAIN?)", zone, addr);
}

/*
 * dnsbl_answer - what a list said about the client: the first listing
 * address into hit (empty: not listed); the summary gets "zone=..." for
 * a listing, a refusal or a failure
 */
static void
dnsbl_answer(struct rg_conn *c, const struct rg_dnsbl_site *s,
    const struct rg_dns_result *r, char *hit, size_t size, struct rg_buf *sum,
    const char *prefix)
{
	char addr[INET_ADDRSTRLEN];
	int refused = 0;

	const char *family = prefix[0] ? "dnswl" : "dnsbl";

	hit[0] = '\0';
	if (r == NULL)
		return;
	if (r->status != RG_DNS_OK) {
		rg_metrics_inc_label(family, r->status == RG_DNS_NXDOMAIN ||
		    r->status == RG_DNS_NODATA ? "clean" :
		    r->status == RG_DNS_TIMEOUT ? "timeout" : "error");
		if (r->status == RG_DNS_NXDOMAIN || r->status == RG_DNS_NODATA)
			return;
		rg_log_id(RG_LOG_NOTICE, c->id, "dnsbl: list %s: %s%s%s; not "
		    "counted", s->zone, rg_dns_status_name(r->status),
		    r->why[0] ? ": " : "", r->why);
		rg_buf_printf(sum, "%s%s%s=%s", sum->len ? " " : "", prefix, s->zone,
		    rg_dns_status_name(r->status));
		return;
	}
	for (size_t i = 0; i < r->nrrs && hit[0] == '\0'; i++) {
		enum rg_dnsbl_answer k = rg_dnsbl_classify(s, &r->rrs[i].a);

		inet_ntop(AF_INET, &r->rrs[i].a, addr, sizeof(addr));
		if (k == RG_DNSBL_LISTED)
			rg_strlcpy(hit, addr, size);
		else if (k == RG_DNSBL_REFUSED || k == RG_DNSBL_BOGUS) {
			dnsbl_refused(c, s->zone, k, addr);
			refused = 1;
		}
	}
	rg_metrics_inc_label(family, hit[0] ? "listed" : refused ? "refused" :
	    "clean");
	if (hit[0] != '\0')
		rg_buf_printf(sum, "%s%s%s=%s", sum->len ? " " : "", prefix, s->zone, hit);
	else if (refused)
		rg_buf_printf(sum, "%s%s%s=refused", sum->len ? " " : "", prefix, s->zone);
}

/* dnsbl_score - every answer into score, hits and the summary */
static void
dnsbl_score(struct rg_conn *c, struct rg_dnsbl_conn *d)
{
	const struct rg_dnsbl_conf *dc = &c->conf->dnsbl;
	struct rg_buf sum = RG_BUF_INIT;
	char hit[INET_ADDRSTRLEN];

	for (size_t i = 0; i < dc->bl.n; i++) {
		dnsbl_answer(c, &dc->bl.v[i], rg_dns_batch_result(d->batch,
		    d->bl_index[i]), hit, sizeof(hit), &sum, "");
		if (hit[0] == '\0')
			continue;
		d->score += dc->bl.v[i].weight;
		if (dc->bl.v[i].weight > 0) {
			if (d->lists[0] != '\0')
				rg_strlcat(d->lists, ", ", sizeof(d->lists));
			rg_strlcat(d->lists, dc->bl.v[i].zone, sizeof(d->lists));
		}
	}
	for (size_t i = 0; i < dc->wl.n; i++) {
		dnsbl_answer(c, &dc->wl.v[i], rg_dns_batch_result(d->batch,
		    d->wl_index[i]), hit, sizeof(hit), &sum, "wl:");
		if (hit[0] == '\0')
			continue;
		d->score -= dc->wl.v[i].weight;
		d->wl_hit = 1;
	}
	d->listed = d->score >= dc->threshold;
	rg_buf_printf(&sum, "%sscore=%lld", sum.len ? " " : "", d->score);
	rg_strlcpy(d->summary, rg_buf_cstr(&sum), sizeof(d->summary));
	rg_buf_release(&sum);
}

/* dnsbl_collect - wait once, score, and let the batch go */
static void
dnsbl_collect(struct rg_conn *c, struct rg_dnsbl_conn *d)
{
	size_t n = rg_dns_batch_wait(d->batch);

	rg_log_id_debug(RG_MOD_DNSBL, c->id, "dnsbl: %zu of %zu answered", n,
	    rg_dns_batch_count(d->batch));
	dnsbl_score(c, d);
	d->batch = rg_dns_batch_free(d->batch);
	d->decided = 1;
}

/* rg_dnsbl_decide - score once, then reject, tempfail, tag or pass */
void
rg_dnsbl_decide(struct rg_conn *c, int skip_block, struct rg_verdict *v)
{
	struct rg_dnsbl_conn *d;
	const char *why = NULL;

	/* not started at CONNECT: start now and wait the whole timeout */
	rg_dnsbl_start(c);
	if ((d = c->dnsbl) == NULL)
		return;
	if (!d->decided)
		dnsbl_collect(c, d);
	if (c->msg != NULL)
		rg_msg_note(c->msg, "dnsbl", "%s", d->summary);
	d->tag = 0;
	if (!d->listed)
		return;
	if (skip_block)
		why = "trusted or authenticated client";
	else if (d->wl_hit)
		why = "listed in a DNSWL";
	else if (rg_verdict_is_final(v))
		why = "already decided";
	if (why != NULL) {
		rg_log_id(RG_LOG_INFO, c->id, "dnsbl: client [%s] not blocked: %s "
		    "(%s)", c->client_addr, why, d->summary);
		return;
	}
	switch (c->conf->dnsbl.action) {
	case RG_DNSBL_REJECT:
		rg_verdict_set(v, RG_ACT_REJECT, "dnsbl", "554", "5.7.1",
		    "Service unavailable; client [%s] blocked using %s",
		    c->client_addr, d->lists);
		break;
	case RG_DNSBL_TEMPFAIL:
		rg_verdict_set(v, RG_ACT_TEMPFAIL, "dnsbl", "451", "4.7.1",
		    "Service temporarily unavailable; client [%s] blocked using %s",
		    c->client_addr, d->lists);
		break;
	default:
		d->tag = 1;
		break;
	}
}

/* rg_dnsbl_eom - the X-DNSBL header of a tagged client */
void
rg_dnsbl_eom(struct rg_conn *c, struct rg_verdict *v)
{
	if (c->dnsbl != NULL && c->dnsbl->tag)
		rg_verdict_add_header(v, "X-DNSBL", c->dnsbl->summary, 0);
}

/* rg_dnsbl_allowlisted - a DNSWL hit (greylisting skips those clients) */
int
rg_dnsbl_allowlisted(const struct rg_conn *c)
{
	return c->dnsbl != NULL && c->dnsbl->decided && c->dnsbl->wl_hit;
}

/* rg_dnsbl_summary - the scored result, once decided */
const char *
rg_dnsbl_summary(const struct rg_conn *c)
{
	return c->dnsbl != NULL && c->dnsbl->decided ? c->dnsbl->summary : NULL;
}

/* rg_dnsbl_free - release the state and any queries in flight */
void
rg_dnsbl_free(struct rg_conn *c)
{
	struct rg_dnsbl_conn *d = c->dnsbl;

	if (d == NULL)
		return;
	rg_dns_batch_free(d->batch);
	free(d->bl_index);
	free(d->wl_index);
	free(d);
	c->dnsbl = NULL;
}
