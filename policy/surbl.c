/*
 * surbl.c - URI block lists at end of message: ask, wait once, decide
 *
 * rg_surbl_eom() takes the link hosts the message scan kept (registered
 * domains in the order they first appeared, then IP addresses), drops the
 * domains of surbl_exclude_domains, keeps at most surbl_max_domains, and
 * sends one A query per host and list in a single batch with the
 * dns_timeout deadline. After the one wait, the first listing in that
 * order decides: reject, tempfail, or tag with every listing found.
 *
 * Error codes and non-loopback answers never list (warned at most once a
 * minute per list, sharing dnsbl's rate table); timeouts and SERVFAIL do
 * not list either (one notice per list and message). Nothing is kept
 * after the call: state lives on the stack, the batch is freed before
 * returning, and names are borrowed from the message's scan.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "dns.h"
#include "log.h"
#include "metrics.h"
#include "msgscan.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "surbl.h"

#define SURBL_TAG_MAX	900	/* header text: well within RFC 5322 s2.1.1's 998 */

/* one host a link pointed to, borrowed from the scan */
struct surbl_host {
	const char *name;		/* domain, or the address as text */
	const struct rg_uri_ip *ip;	/* NULL for a domain */
};

/* what one list said over the whole message */
struct surbl_siteres {
	size_t failed, refused;
	const char *status;		/* of the last failure */
};

struct surbl_run {
	struct rg_conn *c;
	const struct rg_surbl_conf *sc;
	struct surbl_host hosts[RG_SURBL_HOSTS_MAX];
	size_t nhosts, excluded, over;
	struct rg_dns_batch *batch;
	int index[RG_SURBL_HOSTS_MAX][RG_SURBL_SITES_MAX];
	struct surbl_siteres site[RG_SURBL_SITES_MAX];
	size_t nhits;
	const struct surbl_host *hit;	/* the first listing, in host order */
	const struct rg_surbl_site *hit_site;
	struct rg_buf tag;		/* every listing, for the tag header */
};

/* surbl_pick - the hosts to ask: domains not excluded, then addresses */
static void
surbl_pick(struct surbl_run *r, const struct rg_uriset *u)
{
	size_t cap = (size_t)r->sc->max_domains;

	if (cap > RG_SURBL_HOSTS_MAX)
		cap = RG_SURBL_HOSTS_MAX;
	for (size_t i = 0; i < u->ndomains; i++) {
		if (rg_domainset_match(&r->sc->exclude, u->domains[i])) {
			rg_log_id_debug(RG_MOD_SURBL, r->c->id, "surbl: %s excluded",
			    u->domains[i]);
			r->excluded++;
		} else if (r->nhosts == cap) {
			r->over++;
		} else {
			r->hosts[r->nhosts].name = u->domains[i];
			r->hosts[r->nhosts++].ip = NULL;
		}
	}
	for (size_t i = 0; i < u->nips; i++) {
		if (r->nhosts == cap) {
			r->over++;
			continue;
		}
		r->hosts[r->nhosts].name = u->ips[i].text;
		r->hosts[r->nhosts++].ip = &u->ips[i];
	}
}

/* surbl_send - one query per host and list; -1 where no name fits */
static void
surbl_send(struct surbl_run *r)
{
	char qname[RG_DNS_QNAME_MAX + 1];
	const struct rg_surbl_sites *l = &r->sc->sites;

	for (size_t h = 0; h < r->nhosts; h++) {
		const struct surbl_host *host = &r->hosts[h];

		for (size_t s = 0; s < l->n; s++) {
			const char *zone = l->v[s].site.zone;
			int rc = host->ip != NULL ?
			    rg_surbl_qname_ip(host->ip, zone, qname, sizeof(qname)) :
			    rg_surbl_qname_domain(host->name, zone, qname, sizeof(qname));

			r->index[h][s] = -1;
			if (rc < 0) {
				rg_log_id(RG_LOG_INFO, r->c->id, "surbl: %s under %s: "
				    "query name too long, not asked", host->name, zone);
				continue;
			}
			r->index[h][s] = rg_dns_batch_add(r->batch, qname, RG_DNS_T_A);
		}
	}
}

/* surbl_refused - an error code or a non-loopback answer, rate-limited */
static void
surbl_refused(struct surbl_run *r, const char *zone, enum rg_dnsbl_answer k,
    const struct in_addr *a)
{
	char addr[INET_ADDRSTRLEN];
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!rg_dnsbl_warn_due(zone, now.tv_sec))
		return;
	inet_ntop(AF_INET, a, addr, sizeof(addr));
	if (k == RG_DNSBL_REFUSED)
		rg_log_id(RG_LOG_WARN, r->c->id, "surbl: list %s refused the "
		    "query (%s)", zone, addr);
	else
		rg_log_id(RG_LOG_WARN, r->c->id, "surbl: list %s answered %s, "
		    "outside 127.0.0.0/8: not a listing (resolver rewriting "
		    "NXDOMAIN?)", zone, addr);
}

/* surbl_listing - a host is listed: remember the first, log every one */
static void
surbl_listing(struct surbl_run *r, const struct surbl_host *h,
    const struct rg_surbl_site *s, const struct in_addr *a)
{
	char addr[INET_ADDRSTRLEN];
	char entry[RG_DNS_QNAME_MAX * 2 + 64];

	inet_ntop(AF_INET, a, addr, sizeof(addr));
	rg_log_id(RG_LOG_INFO, r->c->id, "surbl: link to %s listed by %s (%s)",
	    h->name, s->site.zone, addr);
	if (r->nhits++ == 0) {
		r->hit = h;
		r->hit_site = s;
	}
	snprintf(entry, sizeof(entry), "%s listed by %s (%s)", h->name,
	    s->site.zone, addr);
	if (r->tag.len + strlen(entry) + 2 <= SURBL_TAG_MAX)
		rg_buf_printf(&r->tag, "%s%s", r->tag.len ? ", " : "", entry);
}

/* surbl_answer - what one list said about one host */
static void
surbl_answer(struct surbl_run *r, size_t h, size_t s)
{
	const struct rg_surbl_site *site = &r->sc->sites.v[s];
	const struct rg_dns_result *res;

	if (r->index[h][s] < 0)
		return;
	res = rg_dns_batch_result(r->batch, r->index[h][s]);
	if (res == NULL || (res->status != RG_DNS_OK &&
	    res->status != RG_DNS_NXDOMAIN && res->status != RG_DNS_NODATA)) {
		r->site[s].failed++;
		r->site[s].status = res ? rg_dns_status_name(res->status) : "error";
		return;
	}
	for (size_t i = 0; res->status == RG_DNS_OK && i < res->nrrs; i++) {
		enum rg_dnsbl_answer k;

		if (res->rrs[i].type != RG_DNS_T_A)
			continue;
		k = rg_surbl_classify(site, &res->rrs[i].a);
		if (k == RG_DNSBL_LISTED) {
			surbl_listing(r, &r->hosts[h], site, &res->rrs[i].a);
			return;
		}
		if (k == RG_DNSBL_REFUSED || k == RG_DNSBL_BOGUS) {
			r->site[s].refused++;
			surbl_refused(r, site->site.zone, k, &res->rrs[i].a);
		}
	}
}

/* surbl_collect - every answer, in host order, then the failures */
static void
surbl_collect(struct surbl_run *r)
{
	size_t nsites = r->sc->sites.n;

	for (size_t h = 0; h < r->nhosts; h++)
		for (size_t s = 0; s < nsites; s++)
			surbl_answer(r, h, s);
	for (size_t s = 0; s < nsites; s++)
		if (r->site[s].failed > 0)
			rg_log_id(RG_LOG_NOTICE, r->c->id, "surbl: list %s: %zu of "
			    "%zu queries failed (last: %s); not counted",
			    r->sc->sites.v[s].site.zone, r->site[s].failed,
			    r->nhosts, r->site[s].status);
}

/* surbl_note - the summary field and the log lines about what was left out */
static void
surbl_note(struct surbl_run *r, const struct rg_uriset *u)
{
	size_t failed = 0;

	for (size_t s = 0; s < r->sc->sites.n; s++)
		failed += r->site[s].failed;
	if (r->over > 0 || u->refused > 0)
		rg_log_id(RG_LOG_INFO, r->c->id, "surbl: %zu link hosts looked up; "
		    "%zu over surbl_max_domains and %zu over uri_max_domains/"
		    "uri_max_ips were not", r->nhosts, r->over, u->refused);
	rg_metrics_inc_label("surbl", r->nhits > 0 ? "listed" : failed > 0 ?
	    "failed" : "clean");
	if (r->nhits > 0)
		rg_msg_note(r->c->msg, "surbl", "%s@%s%s", r->hit->name,
		    r->hit_site->site.zone, r->nhits > 1 ? " +more" : "");
	else if (failed > 0)
		rg_msg_note(r->c->msg, "surbl", "clean(%zu) failed=%zu", r->nhosts,
		    failed);
	else
		rg_msg_note(r->c->msg, "surbl", "clean(%zu)", r->nhosts);
}

/* surbl_decide - reject, tempfail or tag on the first listing */
static void
surbl_decide(struct surbl_run *r, struct rg_verdict *v)
{
	const char *host, *zone;

	if (r->nhits == 0)
		return;
	host = r->hit->name;
	zone = r->hit_site->site.zone;
	switch (r->sc->action) {
	case RG_SURBL_REJECT:
		rg_verdict_set(v, RG_ACT_REJECT, "surbl", "554", "5.7.1",
		    "Message rejected: link to %s listed by %s", host, zone);
		break;
	case RG_SURBL_TEMPFAIL:
		rg_verdict_set(v, RG_ACT_TEMPFAIL, "surbl", "451", "4.7.1",
		    "Message deferred: link to %s listed by %s", host, zone);
		break;
	default:
		rg_verdict_add_header(v, rg_tag_name(RG_TAG_SURBL), rg_buf_cstr(&r->tag),
		    -1);
		break;
	}
}

/* surbl_skip - nothing asked, with the reason as the summary field */
static void
surbl_skip(struct rg_conn *c, const char *why)
{
	rg_log_id_debug(RG_MOD_SURBL, c->id, "surbl: skipped: %s", why);
	rg_msg_note(c->msg, "surbl", "skipped(%s)", why);
	rg_metrics_inc_label("surbl", "skipped");
}

/* surbl_ask - the batch: send, wait once, read; -1 without a resolver */
static int
surbl_ask(struct surbl_run *r)
{
	/* read the handle once: it is cleared at shutdown */
	struct rg_dns *dns = rg_dns_default();

	if (dns == NULL)
		return -1;
	r->batch = rg_dns_batch_new(dns, r->c->conf->dns.timeout);
	surbl_send(r);
	rg_log_id_debug(RG_MOD_SURBL, r->c->id, "surbl: %zu queries for %zu "
	    "hosts (%zu excluded)", rg_dns_batch_count(r->batch), r->nhosts,
	    r->excluded);
	rg_dns_batch_wait(r->batch);
	surbl_collect(r);
	r->batch = rg_dns_batch_free(r->batch);
	return 0;
}

/* rg_surbl_eom - one batch for every link host and list, one wait */
void
rg_surbl_eom(struct rg_conn *c, int trusted, struct rg_verdict *v)
{
	static const struct surbl_run zero;
	struct surbl_run r = zero;
	const struct rg_uriset *u;

	r.c = c;
	r.sc = &c->conf->surbl;
	if (r.sc->sites.n == 0 || c->msg == NULL || c->msg->scan == NULL ||
	    rg_verdict_is_final(v))
		return;
	if (trusted && !r.sc->check_authenticated) {
		surbl_skip(c, "trusted");
		return;
	}
	u = rg_msgscan_uris(c->msg->scan);
	surbl_pick(&r, u);
	if (r.nhosts > 0 && surbl_ask(&r) < 0) {
		surbl_skip(c, "no resolver");
		return;
	}
	surbl_note(&r, u);
	surbl_decide(&r, v);
	rg_buf_release(&r.tag);
}
