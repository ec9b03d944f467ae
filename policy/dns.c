/*
 * dns.c - resolver handles, batches and their waits (see dns.h)
 *
 * A batch's mutex protects its queries' flags and results until the wait
 * freezes them, and its reference count: one reference for the owner, one
 * for every query whose answer may still come. Backends deliver answers
 * with rg_dns_query_done() from their own thread; the answer is decoded
 * outside the lock, then installed under it (or dropped when the batch has
 * been waited or freed), and the waiter is signalled. Waits are
 * pthread_cond_timedwait() on CLOCK_MONOTONIC against the batch's deadline.
 *
 * The handle's mutex protects its count of live batches and its closed
 * flag: a closed handle is freed when its last batch goes. Counters are
 * atomics. A handle may keep answers (dns_cache.c): a query found there
 * is answered in rg_dns_batch_add(), and every answer the backend
 * delivers is offered to it. Also the "dns" parameter table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "log.h"
#include "settings.h"
#include "strutil.h"
#include "xalloc.h"

#define DNS_DEADLINE_MAX_MS	3600000LL	/* a batch's deadline is capped at 1h */

struct dns_counters {
	atomic_ullong queries, answers, nxdomain, nodata, timeouts, servfails,
	    errors, secure, bogus, late, batches, cache_hits;
};

struct rg_dns {
	const struct rg_dns_backend *be;
	void *impl;
	pthread_mutex_t mutex;	/* nbatches, closed */
	size_t nbatches;
	int closed;
	struct dns_counters n;
	struct rg_dns_cache *cache;	/* NULL: every query goes to the backend */
};

struct rg_dns_query {
	struct rg_dns_batch *batch;
	int index;
	int rrtype;
	int id;			/* the backend's, for cancel; owner thread only */
	int pending;		/* an answer may still come (batch mutex) */
	int answered;		/* result is set (batch mutex) */
	struct rg_dns_result result;
	char name[RG_DNS_QNAME_MAX + 1];	/* for the cache */
};

struct rg_dns_batch {
	struct rg_dns *dns;	/* NULL: every query fails */
	pthread_mutex_t mutex;	/* everything below */
	pthread_cond_t cond;
	struct timespec deadline;	/* CLOCK_MONOTONIC */
	long long timeout_ms;
	size_t refs;		/* owner + pending queries */
	int waited, freed;
	size_t nq, nanswered;
	struct rg_dns_query **q;
};

static _Atomic(struct rg_dns *) dns_default;

/* ---- handles ----------------------------------------------------------- */

/* rg_dns_new - wrap a backend in a handle that owns impl */
struct rg_dns *
rg_dns_new(const struct rg_dns_backend *be, void *impl)
{
	struct rg_dns *dns = rg_xcalloc(1, sizeof(*dns));

	dns->be = be;
	dns->impl = impl;
	pthread_mutex_init(&dns->mutex, NULL);
	return dns;
}

/* rg_dns_open - the libunbound resolver for the configuration, keeping
 * answers in the process */
struct rg_dns *
rg_dns_open(const struct rg_conf *conf, struct rg_buf *err)
{
	struct rg_dns *dns = rg_dns_unbound_open(&conf->dns, err);

	if (dns != NULL)
		rg_dns_enable_cache(dns);
	return dns;
}

/* rg_dns_enable_cache - answer repeated queries from the process */
void
rg_dns_enable_cache(struct rg_dns *dns)
{
	if (dns->cache == NULL)
		dns->cache = rg_dns_cache_new();
}

/* dns_destroy - free a closed handle with no batches left */
static void
dns_destroy(struct rg_dns *dns)
{
	dns->be->free(dns->impl);
	rg_dns_cache_free(dns->cache);
	pthread_mutex_destroy(&dns->mutex);
	free(dns);
}

/* rg_dns_close - stop answers, free now or when the last batch goes */
struct rg_dns *
rg_dns_close(struct rg_dns *dns)
{
	int last;

	if (dns == NULL)
		return NULL;
	/* after stop no answer is delivered, so no batch is released by one */
	if (dns->be->stop != NULL)
		dns->be->stop(dns->impl);
	pthread_mutex_lock(&dns->mutex);
	dns->closed = 1;
	last = dns->nbatches == 0;
	pthread_mutex_unlock(&dns->mutex);
	if (last)
		dns_destroy(dns);
	else
		rg_log_debug(RG_MOD_DNS, "dns: closed with batches alive; "
		    "the last one frees the resolver");
	return NULL;
}

/* dns_batch_gone - a batch was released; free the handle if it was the last */
static void
dns_batch_gone(struct rg_dns *dns)
{
	int last;

	pthread_mutex_lock(&dns->mutex);
	dns->nbatches--;
	last = dns->closed && dns->nbatches == 0;
	pthread_mutex_unlock(&dns->mutex);
	if (last)
		dns_destroy(dns);
}

/* rg_dns_set_default - publish the process-wide handle */
void
rg_dns_set_default(struct rg_dns *dns)
{
	atomic_store(&dns_default, dns);
}

/* rg_dns_default - the process-wide handle, or NULL */
struct rg_dns *
rg_dns_default(void)
{
	return atomic_load(&dns_default);
}

/* rg_dns_backend_name - "unbound", "fake", or "none" */
const char *
rg_dns_backend_name(const struct rg_dns *dns)
{
	return dns != NULL ? dns->be->name : "none";
}

/* rg_dns_stats_get - a copy of the counters */
void
rg_dns_stats_get(struct rg_dns *dns, struct rg_dns_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (dns == NULL)
		return;
	out->queries = atomic_load(&dns->n.queries);
	out->answers = atomic_load(&dns->n.answers);
	out->nxdomain = atomic_load(&dns->n.nxdomain);
	out->nodata = atomic_load(&dns->n.nodata);
	out->timeouts = atomic_load(&dns->n.timeouts);
	out->servfails = atomic_load(&dns->n.servfails);
	out->errors = atomic_load(&dns->n.errors);
	out->secure = atomic_load(&dns->n.secure);
	out->bogus = atomic_load(&dns->n.bogus);
	out->late = atomic_load(&dns->n.late);
	out->batches = atomic_load(&dns->n.batches);
	out->cache_hits = atomic_load(&dns->n.cache_hits);
}

/* dns_count - one finished query in the counters */
static void
dns_count(struct rg_dns *dns, const struct rg_dns_result *r)
{
	static const size_t field[] = {
		[RG_DNS_OK] = offsetof(struct dns_counters, answers),
		[RG_DNS_NXDOMAIN] = offsetof(struct dns_counters, nxdomain),
		[RG_DNS_NODATA] = offsetof(struct dns_counters, nodata),
		[RG_DNS_TIMEOUT] = offsetof(struct dns_counters, timeouts),
		[RG_DNS_SERVFAIL] = offsetof(struct dns_counters, servfails),
		[RG_DNS_ERROR] = offsetof(struct dns_counters, errors),
	};

	if (dns == NULL || (unsigned)r->status >= sizeof(field) / sizeof(field[0]))
		return;
	atomic_fetch_add((atomic_ullong *)((char *)&dns->n + field[r->status]), 1);
	if (r->secure)
		atomic_fetch_add(&dns->n.secure, 1);
	if (r->bogus)
		atomic_fetch_add(&dns->n.bogus, 1);
}

/* ---- batches ----------------------------------------------------------- */

/* dns_deadline - now + ms on CLOCK_MONOTONIC */
static void
dns_deadline(struct timespec *ts, long long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* rg_dns_batch_new - an empty batch with its deadline fixed now */
struct rg_dns_batch *
rg_dns_batch_new(struct rg_dns *dns, long long deadline_ms_from_now)
{
	struct rg_dns_batch *b = rg_xcalloc(1, sizeof(*b));
	pthread_condattr_t ca;

	if (deadline_ms_from_now < 0)
		deadline_ms_from_now = 0;
	if (deadline_ms_from_now > DNS_DEADLINE_MAX_MS)
		deadline_ms_from_now = DNS_DEADLINE_MAX_MS;
	b->dns = dns;
	b->refs = 1;
	b->timeout_ms = deadline_ms_from_now;
	pthread_mutex_init(&b->mutex, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	dns_deadline(&b->deadline, deadline_ms_from_now);
	if (dns != NULL) {
		pthread_mutex_lock(&dns->mutex);
		dns->nbatches++;
		pthread_mutex_unlock(&dns->mutex);
		atomic_fetch_add(&dns->n.batches, 1);
	}
	return b;
}

/* dns_batch_destroy - the last reference is gone */
static void
dns_batch_destroy(struct rg_dns_batch *b)
{
	struct rg_dns *dns = b->dns;

	for (size_t i = 0; i < b->nq; i++) {
		rg_dns_result_release(&b->q[i]->result);
		free(b->q[i]);
	}
	free(b->q);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->mutex);
	free(b);
	if (dns != NULL)
		dns_batch_gone(dns);
}

/* dns_fail_locked - a query that will never be answered: ERROR now */
static void
dns_fail_locked(struct rg_dns_batch *b, struct rg_dns_query *q,
    const char *why)
{
	memset(&q->result, 0, sizeof(q->result));
	q->result.status = RG_DNS_ERROR;
	q->result.rrtype = q->rrtype;
	q->result.rcode = -1;
	rg_strlcpy(q->result.why, why, sizeof(q->result.why));
	q->answered = 1;
	b->nanswered++;
	dns_count(b->dns, &q->result);
}

/* dns_resolver_closed - the handle no longer answers */
static int
dns_resolver_closed(struct rg_dns *dns)
{
	int closed;

	pthread_mutex_lock(&dns->mutex);
	closed = dns->closed;
	pthread_mutex_unlock(&dns->mutex);
	return closed;
}

/* rg_dns_batch_add - start one query; its index */
int
rg_dns_batch_add(struct rg_dns_batch *b, const char *name, int rrtype)
{
	struct rg_dns_query *q;
	const char *why = NULL;
	char detail[sizeof(q->result.why)] = "";

	pthread_mutex_lock(&b->mutex);
	if (b->waited || b->freed || b->nq == RG_DNS_BATCH_MAX) {
		pthread_mutex_unlock(&b->mutex);
		return -1;
	}
	q = rg_xcalloc(1, sizeof(*q));
	q->batch = b;
	q->index = (int)b->nq;
	q->rrtype = rrtype;
	b->q = rg_xreallocarray(b->q, b->nq + 1, sizeof(*b->q));
	b->q[b->nq++] = q;
	if (b->dns == NULL)
		why = "no resolver";
	else if (!rg_dns_name_valid(name))
		why = "invalid query name";
	else if (rrtype < 1 || rrtype > 65535)
		why = "invalid query type";
	else if (dns_resolver_closed(b->dns))
		why = "resolver closed";
	if (why != NULL) {
		dns_fail_locked(b, q, why);
		pthread_mutex_unlock(&b->mutex);
		return q->index;
	}
	atomic_fetch_add(&b->dns->n.queries, 1);
	if (rg_dns_cache_get(b->dns->cache, name, rrtype, &q->result)) {
		q->answered = 1;
		b->nanswered++;
		dns_count(b->dns, &q->result);
		pthread_mutex_unlock(&b->mutex);
		atomic_fetch_add(&b->dns->n.cache_hits, 1);
		rg_log_debug(RG_MOD_DNS, "dns: cached %s %s", name,
		    rg_dns_type_name(rrtype));
		return q->index;
	}
	/* valid names are shorter than this */
	rg_strlcpy(q->name, name, sizeof(q->name));
	q->pending = 1;
	b->refs++;
	pthread_mutex_unlock(&b->mutex);

	/* unlocked: a backend may answer before start returns */
	rg_log_debug(RG_MOD_DNS, "dns: query %s %s", name, rg_dns_type_name(rrtype));
	if (b->dns->be->start(b->dns->impl, q, name, rrtype, &q->id, detail,
	    sizeof(detail)) < 0) {
		pthread_mutex_lock(&b->mutex);
		q->pending = 0;
		b->refs--;
		dns_fail_locked(b, q, detail[0] ? detail : "query not started");
		pthread_mutex_unlock(&b->mutex);
	}
	return q->index;
}

/* rg_dns_query_done - install an answer unless waited or freed; drop its reference */
void
rg_dns_query_done(struct rg_dns_query *q, const struct rg_dns_answer *a)
{
	struct rg_dns_batch *b = q->batch;
	struct rg_dns_result r;
	int keep, last;

	/* b->dns outlives its batches; q->name is written before start() */
	if (b->dns != NULL)
		rg_dns_cache_put(b->dns->cache, q->name, q->rrtype, a);
	rg_dns_decode(a, q->rrtype, &r);
	pthread_mutex_lock(&b->mutex);
	keep = q->pending && !q->answered && !b->waited && !b->freed;
	if (keep) {
		q->result = r;
		q->answered = 1;
		b->nanswered++;
		dns_count(b->dns, &q->result);
		if (b->nanswered == b->nq)
			pthread_cond_broadcast(&b->cond);
	} else if (b->dns != NULL) {
		atomic_fetch_add(&b->dns->n.late, 1);
	}
	if (q->pending) {
		q->pending = 0;
		b->refs--;
	}
	last = b->refs == 0;
	pthread_mutex_unlock(&b->mutex);
	if (!keep)
		rg_dns_result_release(&r);
	if (last)
		dns_batch_destroy(b);
}

/* dns_timeout_locked - the deadline passed without an answer */
static void
dns_timeout_locked(struct rg_dns_batch *b, struct rg_dns_query *q)
{
	memset(&q->result, 0, sizeof(q->result));
	q->result.status = RG_DNS_TIMEOUT;
	q->result.rrtype = q->rrtype;
	q->result.rcode = -1;
	snprintf(q->result.why, sizeof(q->result.why),
	    "no answer within %lld ms", b->timeout_ms);
	dns_count(b->dns, &q->result);
}

/* rg_dns_batch_wait - wait once for every answer or the deadline, then freeze */
size_t
rg_dns_batch_wait(struct rg_dns_batch *b)
{
	size_t n;

	pthread_mutex_lock(&b->mutex);
	while (!b->waited && b->nanswered < b->nq) {
		int rc = pthread_cond_timedwait(&b->cond, &b->mutex, &b->deadline);

		if (rc == ETIMEDOUT)
			break;
	}
	if (!b->waited) {
		b->waited = 1;
		for (size_t i = 0; i < b->nq; i++)
			if (!b->q[i]->answered)
				dns_timeout_locked(b, b->q[i]);
	}
	n = b->nanswered;
	pthread_mutex_unlock(&b->mutex);
	return n;
}

/* rg_dns_batch_result - a frozen result */
const struct rg_dns_result *
rg_dns_batch_result(const struct rg_dns_batch *b, int index)
{
	/* no lock: after the wait only the owner reads, nobody writes */
	if (b == NULL || !b->waited || index < 0 || (size_t)index >= b->nq)
		return NULL;
	return &b->q[index]->result;
}

/* rg_dns_batch_count - queries added */
size_t
rg_dns_batch_count(const struct rg_dns_batch *b)
{
	return b != NULL ? b->nq : 0;
}

/* rg_dns_batch_free - the owner lets go; cancel what can be cancelled */
struct rg_dns_batch *
rg_dns_batch_free(struct rg_dns_batch *b)
{
	int last;

	if (b == NULL)
		return NULL;
	pthread_mutex_lock(&b->mutex);
	b->freed = 1;
	/*
	 * A successful cancel means no answer will come: drop its reference
	 * here. Otherwise the answer is being (or has been) delivered, and
	 * rg_dns_query_done() drops it. The backend's cancel never waits
	 * for this mutex, so holding it here cannot deadlock.
	 */
	for (size_t i = 0; i < b->nq; i++) {
		struct rg_dns_query *q = b->q[i];

		if (q->pending && b->dns->be->cancel(b->dns->impl, q->id) == 0) {
			q->pending = 0;
			b->refs--;
		}
	}
	last = --b->refs == 0;
	pthread_mutex_unlock(&b->mutex);
	if (last)
		dns_batch_destroy(b);
	return NULL;
}

/* rg_dns_query - a batch of one */
enum rg_dns_status
rg_dns_query(struct rg_dns *dns, const char *name, int rrtype,
    long long timeout_ms, struct rg_dns_result *out)
{
	struct rg_dns_batch *b = rg_dns_batch_new(dns, timeout_ms);
	int i = rg_dns_batch_add(b, name, rrtype);

	rg_dns_batch_wait(b);
	/* move the frozen result out; the batch then frees an empty one */
	*out = b->q[i]->result;
	memset(&b->q[i]->result, 0, sizeof(b->q[i]->result));
	rg_dns_batch_free(b);
	return out->status;
}

/* ---- parameters -------------------------------------------------------- */

/* dns_server_item - one "addr" or "addr@port" of dns_servers */
static int
dns_server_item(struct rg_conf_ctx *cx, const char *item, const char *file,
    int line, void *arg)
{
	struct rg_strlist *l = arg;
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *at = strchr(item, '@');
	size_t alen = at ? (size_t)(at - item) : strlen(item);
	long long port = 53;

	if (alen == 0 || alen >= sizeof(addr)) {
		rg_conf_error(cx, file, line, "dns_servers: bad address \"%s\"", item);
		return -1;
	}
	memcpy(addr, item, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1) {
		rg_conf_error(cx, file, line, "dns_servers: \"%s\" is not an IPv4 "
		    "or IPv6 address (expected addr or addr@port)", addr);
		return -1;
	}
	if (at != NULL && (rg_str_parse_ll(at + 1, &port) < 0 || port < 1 ||
	    port > 65535)) {
		rg_conf_error(cx, file, line, "dns_servers: bad port in \"%s\"", item);
		return -1;
	}
	l->v = rg_xreallocarray(l->v, l->n + 1, sizeof(char *));
	l->v[l->n++] = rg_xstrdup(item);
	return 0;
}

/* dns_parse_servers - dns_servers: a list of addr or addr@port */
static int
dns_parse_servers(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	(void)p;
	return rg_conf_foreach_item(cx, value, dns_server_item, dst);
}

/* dns_free_servers - release a parsed dns_servers */
static void
dns_free_servers(void *dst)
{
	rg_strlist_free(dst);
}

static const struct rg_ptype_ops dns_servers_ops = {
	dns_parse_servers, dns_free_servers,
};

#define DNS(f) offsetof(struct rg_dns_conf, f)

const struct rg_param rg_dns_params[] = {
	RG_P_CUSTOM("dns_servers", "", &dns_servers_ops, DNS(servers),
	    RG_CF_RESTART, "DNS servers to ask, addr or addr@port; empty: "
	    "the nameservers of /etc/resolv.conf"),
	RG_P_TIME("dns_timeout", "5s", 100, 60000, DNS(timeout), 0,
	    "how long one stage waits for its DNS answers"),
	RG_P_STR("dns_trust_anchor_file", "", DNS(trust_anchor_file),
	    RG_CF_RESTART, "DNSSEC trust anchor file (e.g. /usr/share/dns/root.key); "
	    "empty: no validation"),
	RG_P_END
};
