/*
 * spf.c - SPF with libspf2, its DNS through relayguard's resolver
 *
 * spf_layer is a libspf2 DNS layer (SPF_dns_server_t) whose lookup calls
 * rg_dns_query() on the process-wide resolver. It is shared by every
 * thread; what differs per evaluation (the deadline, the void-lookup
 * count) lives in the thread-local spf_eval, set just before libspf2 is
 * called in the same thread. libspf2's server is created once
 * (pthread_once) and only read afterwards.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <spf2/spf.h>
#include <spf2/spf_dns.h>

#include "authres.h"
#include "dns.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "session.h"
#include "settings.h"
#include "spf.h"
#include "strutil.h"

#define SPF_ACTIONS "reject|tempfail|tag|accept"
#define SPF(f) offsetof(struct rg_spf_conf, f)

const struct rg_param rg_spf_params[] = {
	RG_P_BOOL("spf_enable", "yes", SPF(enable), 0,
	    "check SPF (RFC 7208) for clients neither trusted nor logged in"),
	RG_P_BOOL("spf_check_helo", "no", SPF(check_helo), 0,
	    "also check the HELO name when MAIL FROM is not null"),
	RG_P_BOOL("spf_received_header", "yes", SPF(received_spf), 0,
	    "add a Received-SPF header (RFC 7208 s9.1)"),
	RG_P_ENUM("spf_fail_action", "reject", SPF_ACTIONS, SPF(act_fail), 0,
	    "on fail: reject (550 5.7.23), tempfail, tag or accept"),
	RG_P_ENUM("spf_softfail_action", "tag", SPF_ACTIONS, SPF(act_softfail), 0,
	    "on softfail"),
	RG_P_ENUM("spf_neutral_action", "accept", SPF_ACTIONS, SPF(act_neutral), 0,
	    "on neutral"),
	RG_P_ENUM("spf_none_action", "accept", SPF_ACTIONS, SPF(act_none), 0,
	    "when the domain publishes no SPF record"),
	RG_P_ENUM("spf_permerror_action", "accept", SPF_ACTIONS, SPF(act_permerror), 0,
	    "on permerror (a broken record, too many lookups)"),
	RG_P_ENUM("spf_temperror_action", "tempfail", SPF_ACTIONS, SPF(act_temperror), 0,
	    "on temperror (DNS failed or timed out): tempfail (451 4.7.24) or accept"),
	RG_P_END
};

/*
 * Per-evaluation state of the calling thread. RFC 7208 ends an
 * evaluation at the first of: an 11th term that queries DNS (s4.6.4), a
 * third void lookup (s4.6.4), a DNS failure or timeout (s4.4, temperror).
 * libspf2 1.2.10 counts terms per record rather than across includes,
 * and turns SERVFAIL into permerror, so the layer below records the first
 * such condition itself and the result is corrected after libspf2.
 */
struct spf_eval {
	struct timespec deadline;
	unsigned txt;		/* TXT lookups: the first is the record itself */
	unsigned terms;		/* include, redirect, a, mx, ptr, exists */
	unsigned mx_hosts;	/* address lookups still owed to an mx term */
	unsigned voids;		/* NXDOMAIN or NODATA answers */
	enum rg_spf_result stop;	/* the first terminal condition, or NONE */
	char why[96];
};

/* spf_stop - remember the first condition that ends the evaluation */
static void
spf_stop(struct spf_eval *e, enum rg_spf_result r, const char *why,
    const char *name)
{
	if (e->stop != RG_SPF_NONE)
		return;
	e->stop = r;
	snprintf(e->why, sizeof(e->why), "%s (%s)", why, name);
}

/* spf_count_term - count the DNS-querying term behind a lookup (s4.6.4) */
static void
spf_count_term(struct spf_eval *e, ns_type type, const char *name)
{
	if (type == ns_t_txt && e->txt++ == 0)
		return;		/* the record itself is no term */
	if ((type == ns_t_a || type == ns_t_aaaa) && e->mx_hosts > 0) {
		e->mx_hosts--;	/* an address of an mx term's host: s4.6.4 */
		return;
	}
	if (++e->terms > RG_SPF_MAX_DNS_MECH)
		spf_stop(e, RG_SPF_PERMERROR, "more than 10 DNS lookups", name);
}

static __thread struct spf_eval *spf_eval;
static pthread_once_t spf_once = PTHREAD_ONCE_INIT;
static SPF_server_t *spf_server;
static SPF_dns_server_t spf_layer;

/* spf_remaining_ms - time left of this evaluation's deadline */
static long long
spf_remaining_ms(const struct spf_eval *e)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(e->deadline.tv_sec - now.tv_sec) * 1000 +
	    (e->deadline.tv_nsec - now.tv_nsec) / 1000000;
}

/* spf_copy_rr - one record into libspf2's answer; -1 when out of memory */
static int
spf_copy_rr(SPF_dns_rr_t *rr, int i, ns_type type, const struct rg_dns_rr *src)
{
	const void *data;
	size_t len;

	switch (type) {
	case ns_t_a:
		data = &src->a, len = sizeof(src->a);
		break;
	case ns_t_aaaa:
		data = &src->aaaa, len = sizeof(src->aaaa);
		break;
	default:	/* TXT, MX, PTR: text, NUL-terminated */
		if (src->text == NULL)
			return 0;
		data = src->text, len = src->textlen + 1;
		break;
	}
	if (SPF_dns_rr_buf_realloc(rr, i, len) != SPF_E_SUCCESS)
		return -1;
	memcpy(rr->rr[i], data, len);
	return 1;
}

/* spf_lookup - libspf2's DNS lookup, answered by our resolver */
static SPF_dns_rr_t *
spf_lookup(SPF_dns_server_t *layer, const char *domain, ns_type type,
    int should_cache)
{
	struct spf_eval *e = spf_eval;
	struct rg_dns_result r;
	SPF_dns_rr_t *rr;
	long long left;
	int herrno, n = 0;
	struct rg_dns *dns = rg_dns_default();

	(void)should_cache;
	/* the SPF RR type is obsolete (RFC 7208 s3.1): never queried */
	if (type == 99 || e == NULL || dns == NULL)
		return SPF_dns_rr_new_init(layer, domain, type, 0, NO_DATA);
	left = spf_remaining_ms(e);
	if (left <= 0) {
		spf_stop(e, RG_SPF_TEMPERROR, "DNS timeout", domain);
		return SPF_dns_rr_new_init(layer, domain, type, 0, TRY_AGAIN);
	}
	spf_count_term(e, type, domain);
	memset(&r, 0, sizeof(r));
	switch (rg_dns_query(dns, domain, type, left, &r)) {
	case RG_DNS_OK:
		herrno = NETDB_SUCCESS;
		break;
	case RG_DNS_NXDOMAIN:
		herrno = HOST_NOT_FOUND;
		break;
	case RG_DNS_NODATA:
		herrno = NO_DATA;
		break;
	case RG_DNS_TIMEOUT:
		spf_stop(e, RG_SPF_TEMPERROR, "DNS timeout", domain);
		herrno = TRY_AGAIN;
		break;
	default:	/* SERVFAIL, or a local error: RFC 7208 s4.4 */
		spf_stop(e, RG_SPF_TEMPERROR, "DNS failure", domain);
		herrno = TRY_AGAIN;
		break;
	}
	rr = SPF_dns_rr_new_init(layer, domain, type, (int)r.ttl, herrno);
	for (size_t i = 0; rr != NULL && herrno == NETDB_SUCCESS && i < r.nrrs; i++) {
		int k;

		if (r.rrs[i].type != (int)type)
			continue;
		if ((k = spf_copy_rr(rr, n, type, &r.rrs[i])) < 0) {
			SPF_dns_rr_free(rr);
			rr = NULL;
		}
		n += k > 0;
	}
	if (rr != NULL) {
		rr->num_rr = n;
		/* an answer with no record of the type is NODATA to libspf2 */
		if (herrno == NETDB_SUCCESS && n == 0)
			rr->herrno = herrno = NO_DATA;
	}
	if (herrno == HOST_NOT_FOUND || herrno == NO_DATA) {
		/* the record lookup itself finding nothing is result none */
		if (!(type == ns_t_txt && e->txt == 1) && ++e->voids > RG_SPF_MAX_VOID)
			spf_stop(e, RG_SPF_PERMERROR, "more than 2 void lookups", domain);
	} else if (type == ns_t_mx) {
		e->mx_hosts += (unsigned)n;
	}
	rg_dns_result_release(&r);
	return rr;
}

static void
spf_init_once(void)
{
	memset(&spf_layer, 0, sizeof(spf_layer));
	spf_layer.destroy = NULL;	/* static: never freed by libspf2 */
	spf_layer.lookup = spf_lookup;
	spf_layer.name = "relayguard";
	spf_server = SPF_server_new_dns(&spf_layer, 0);
	if (spf_server == NULL)
		return;
	SPF_server_set_max_dns_mech(spf_server, RG_SPF_MAX_DNS_MECH);
	SPF_server_set_max_dns_mx(spf_server, RG_SPF_MAX_MX);
	SPF_server_set_max_dns_ptr(spf_server, RG_SPF_MAX_PTR);
}

const char *
rg_spf_result_name(enum rg_spf_result r)
{
	static const char *const names[] = {
		"none", "neutral", "pass", "fail", "softfail", "temperror",
		"permerror",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "none";
}

static enum rg_spf_result
spf_map(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_NEUTRAL:
		return RG_SPF_NEUTRAL;
	case SPF_RESULT_PASS:
		return RG_SPF_PASS;
	case SPF_RESULT_FAIL:
		return RG_SPF_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return RG_SPF_SOFTFAIL;
	case SPF_RESULT_NONE:
		return RG_SPF_NONE;
	case SPF_RESULT_TEMPERROR:
		return RG_SPF_TEMPERROR;
	case SPF_RESULT_PERMERROR:
	default:
		return RG_SPF_PERMERROR;
	}
}

/*
 * spf_eval_identity - evaluate one identity (a mailbox, or postmaster@helo)
 * for the client address; fills why for logs and the header comment
 */
static enum rg_spf_result
spf_eval_identity(const struct rg_conn *c, const char *identity,
    char *why, size_t whysize)
{
	struct spf_eval e;
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	enum rg_spf_result res = RG_SPF_PERMERROR;
	const struct sockaddr_storage *sa = &c->client_sa;

	pthread_once(&spf_once, spf_init_once);
	if (spf_server == NULL || (req = SPF_request_new(spf_server)) == NULL) {
		snprintf(why, whysize, "SPF library unavailable");
		return RG_SPF_TEMPERROR;
	}
	memset(&e, 0, sizeof(e));
	clock_gettime(CLOCK_MONOTONIC, &e.deadline);
	e.deadline.tv_sec += c->conf->dns.timeout / 1000;
	e.deadline.tv_nsec += (c->conf->dns.timeout % 1000) * 1000000;
	if (e.deadline.tv_nsec >= 1000000000) {
		e.deadline.tv_sec++;
		e.deadline.tv_nsec -= 1000000000;
	}
	if (sa->ss_family == AF_INET)
		SPF_request_set_ipv4(req, ((const struct sockaddr_in *)sa)->sin_addr);
	else
		SPF_request_set_ipv6(req, ((const struct sockaddr_in6 *)sa)->sin6_addr);
	if (c->helo[0])
		SPF_request_set_helo_dom(req, c->helo);
	if (SPF_request_set_env_from(req, identity) != 0) {
		snprintf(why, whysize, "invalid identity <%s>", identity);
		SPF_request_free(req);
		return RG_SPF_NONE;
	}
	spf_eval = &e;
	SPF_request_query_mailfrom(req, &resp);
	spf_eval = NULL;
	if (resp != NULL) {
		res = spf_map(SPF_response_result(resp));
		snprintf(why, whysize, "%s", SPF_response_get_smtp_comment(resp) ?
		    SPF_response_get_smtp_comment(resp) : "");
		SPF_response_free(resp);
	}
	SPF_request_free(req);
	/* the evaluation ended at the first terminal condition, whatever
	 * libspf2 went on to conclude */
	if (e.stop != RG_SPF_NONE) {
		res = e.stop;
		snprintf(why, whysize, "%s", e.why);
	}
	return res;
}

/* spf_domain_of - the domain of an address, or the address */
static const char *
spf_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : addr;
}

static int
spf_action_of(const struct rg_spf_conf *sc, enum rg_spf_result r)
{
	switch (r) {
	case RG_SPF_FAIL:
		return sc->act_fail;
	case RG_SPF_SOFTFAIL:
		return sc->act_softfail;
	case RG_SPF_NEUTRAL:
		return sc->act_neutral;
	case RG_SPF_TEMPERROR:
		return sc->act_temperror;
	case RG_SPF_PERMERROR:
		return sc->act_permerror;
	default:
		return sc->act_none;
	}
}

/* spf_apply - the configured action; RFC 7372 codes 5.7.23, x.7.24 */
static void
spf_apply(struct rg_conn *c, const struct rg_spf_state *s, struct rg_verdict *v)
{
	int act = spf_action_of(&c->conf->spf, s->result);
	int error = s->result == RG_SPF_TEMPERROR || s->result == RG_SPF_PERMERROR;

	if (act == RG_SPF_ACT_REJECT)
		rg_verdict_set(v, RG_ACT_REJECT, "spf", "550", error ? "5.7.24" : "5.7.23",
		    "SPF %s for %s from [%s]: %s", rg_spf_result_name(s->result),
		    s->domain, c->client_addr, s->reason);
	else if (act == RG_SPF_ACT_TEMPFAIL)
		rg_verdict_set(v, RG_ACT_TEMPFAIL, "spf", "451", "4.7.24",
		    "SPF %s for %s, try again later", rg_spf_result_name(s->result),
		    s->domain);
}

void
rg_spf_check(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_msg *m = c->msg;
	struct rg_spf_state *s = &m->spf;
	char identity[RG_PATH_MAX + 16];

	memset(s, 0, sizeof(*s));
	if (!c->conf->spf.enable || rg_relay_is_trusted(c) ||
	    rg_relay_is_authenticated(c))
		return;
	if (c->client_sa.ss_family != AF_INET && c->client_sa.ss_family != AF_INET6)
		return;
	rg_strlcpy(s->receiver, c->mta_host[0] ? c->mta_host : "localhost",
	    sizeof(s->receiver));
	/* RFC 7208 s2.4: the null sender is checked as postmaster@HELO */
	if (m->null_sender || c->conf->spf.check_helo) {
		snprintf(identity, sizeof(identity), "postmaster@%s", c->helo);
		s->helo_result = c->helo[0] ? spf_eval_identity(c, identity,
		    s->reason, sizeof(s->reason)) : RG_SPF_NONE;
	}
	if (m->null_sender) {
		s->result = s->helo_result;
		s->helo_identity = 1;
		rg_strlcpy(s->domain, c->helo, sizeof(s->domain));
	} else {
		s->result = spf_eval_identity(c, m->sender, s->reason,
		    sizeof(s->reason));
		rg_strlcpy(s->domain, spf_domain_of(m->sender), sizeof(s->domain));
	}
	rg_msg_note(m, "spf", "%s", rg_spf_result_name(s->result));
	rg_metrics_inc_label("spf", rg_spf_result_name(s->result));
	rg_log_id_debug(RG_MOD_SPF, c->id, "spf: %s for %s: %s",
	    rg_spf_result_name(s->result), s->domain, s->reason);
	spf_apply(c, s, v);
}

/* spf_kv_value - a key-value value: dot-atom as is, else quoted */
static void
spf_kv_value(struct rg_buf *out, const char *v)
{
	int plain = *v != '\0';

	for (const char *p = v; *p && plain; p++)
		if (!(strchr("!#$%&'*+-/=?^_`{|}~.", *p) || (*p >= '0' && *p <= '9') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			plain = 0;
	if (plain)
		rg_buf_puts(out, v);
	else
		rg_buf_put_quoted(out, v);
}

void
rg_spf_received(const struct rg_spf_state *s, const char *client_ip,
    const char *sender, const char *helo, struct rg_buf *out)
{
	static const char *const verb[] = {
		[RG_SPF_NONE] = "does not designate permitted sender hosts",
		[RG_SPF_NEUTRAL] = "neither permits nor denies",
		[RG_SPF_PASS] = "designates",
		[RG_SPF_FAIL] = "does not designate",
		[RG_SPF_SOFTFAIL] = "does not designate",
		[RG_SPF_TEMPERROR] = "could not be checked for",
		[RG_SPF_PERMERROR] = "has a broken SPF record for",
	};
	const char *who = s->helo_identity ? "helo" : "domain of";
	const char *id = s->helo_identity ? helo : sender;

	rg_buf_reset(out);
	rg_buf_printf(out, "%s (%s: %s %s %s %s%s)", rg_spf_result_name(s->result),
	    s->receiver, who, id, verb[s->result],
	    s->result == RG_SPF_NONE ? "" : client_ip,
	    s->result == RG_SPF_PASS || s->result == RG_SPF_FAIL ||
	    s->result == RG_SPF_SOFTFAIL ? " as permitted sender" : "");
	rg_buf_puts(out, "\n\tclient-ip=");
	spf_kv_value(out, client_ip);
	rg_buf_puts(out, "; envelope-from=");
	spf_kv_value(out, sender);
	rg_buf_puts(out, "; helo=");
	spf_kv_value(out, helo);
	rg_buf_puts(out, ";\n\treceiver=");
	spf_kv_value(out, s->receiver);
	rg_buf_printf(out, "; identity=%s;", s->helo_identity ? "helo" : "mailfrom");
}

void
rg_spf_eom(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_msg *m = c->msg;
	const struct rg_spf_state *s = &m->spf;
	struct rg_buf b = RG_BUF_INIT;

	if (s->receiver[0] == '\0')
		return;		/* not checked */
	/* RFC 8601 s2.7.2: the domain checked, as smtp.mailfrom or smtp.helo */
	rg_buf_printf(&b, "spf=%s ", rg_spf_result_name(s->result));
	rg_buf_puts(&b, s->helo_identity ? "smtp.helo=" : "smtp.mailfrom=");
	rg_authres_pvalue(&b, s->domain[0] ? s->domain : "unknown");
	rg_authres_add(m, rg_buf_cstr(&b));
	if (c->conf->spf.received_spf) {
		rg_spf_received(s, c->client_addr, m->null_sender ? "" : m->sender,
		    c->helo, &b);
		rg_verdict_add_header(v, "Received-SPF", rg_buf_cstr(&b), 0);
	}
	if (spf_action_of(&c->conf->spf, s->result) == RG_SPF_ACT_TAG)
		rg_verdict_add_header(v, rg_tag_name(RG_TAG_SPF),
		    rg_spf_result_name(s->result), -1);
	rg_buf_release(&b);
}
