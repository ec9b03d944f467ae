/*
 * metrics.c - the metrics registry and its Prometheus text rendering
 *
 * Every series is declared here: plain counters and gauges by enum
 * (metrics_scalars), labelled counter families by name with a fixed list
 * of values each, ending in "other" (metrics_families), and one latency
 * histogram per stage. Cells are C11 atomics updated with relaxed order:
 * a scrape may see one counter a message ahead of another, never a torn
 * value. Nothing on the counting path allocates or locks.
 *
 * Rendering (text exposition format 0.0.4, see the Prometheus docs
 * "Exposition formats") also reads, at scrape time, the counters other
 * modules keep: the resolver's, the counter store's, the configuration's
 * generation. metrics_src_mutex protects the scrape-time sources (the
 * store pointer), so clearing it waits for a scrape that is reading it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "dkim.h"
#include "dns.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "session.h"

#ifndef RG_VERSION
#define RG_VERSION "0.0"
#endif

#define METRICS_CELLS_MAX	512	/* cells of all labelled families */

/* -------------------------------------------------------------- tables */

struct metrics_scalar {
	const char *name;
	const char *type;	/* "counter" or "gauge" */
	const char *help;
	const char *label, *value;	/* one fixed label, or NULL */
};

static const struct metrics_scalar metrics_scalars[RG_M_COUNT] = {
	[RG_M_CONNECTIONS] = { "relayguard_connections_total", "counter",
	    "Connections the MTA handed over.", NULL, NULL },
	[RG_M_CONNECTIONS_OPEN] = { "relayguard_connections_open", "gauge",
	    "Connections open now.", NULL, NULL },
	[RG_M_RELOADS_OK] = { "relayguard_config_reloads_total", "counter",
	    "Configuration reloads by result.", "result", "ok" },
	[RG_M_RELOADS_FAILED] = { "relayguard_config_reloads_total", "counter",
	    "Configuration reloads by result.", "result", "failed" },
	[RG_M_RELAYED] = { "relayguard_relayed_messages_total", "counter",
	    "Messages accepted for at least one foreign recipient from a trusted "
	    "or authenticated client.", NULL, NULL },
	[RG_M_ALERT_CMD_FAILED] = { "relayguard_alert_command_failures_total",
	    "counter", "Alert commands that could not be started.", NULL, NULL },
};

static const char *const metrics_verdicts[] = { "accept", "reject",
	"tempfail", "discard", "quarantine", "aborted", "other", NULL };
static const char *const metrics_checks[] = { "none", "relay", "dnsbl",
	"spf", "dkim", "dmarc", "surbl", "limit", "ratelimit", "greylist",
	"content", "other", NULL };
/* rg_relay_rcpt_why() reasons: its own, then address.c's trick names */
static const char *const metrics_relay[] = { "foreign-domain",
	"null-sender", "no-tls", "old-tls", "percent-hack", "bang-path",
	"source-route", "quoted-local-part", "multiple-at", "ip-literal",
	"escaped-char", "empty-part", "too-long", "bad-syntax", "control-char",
	"8bit-local-part", "bad-dots", "other", NULL };
static const char *const metrics_spf[] = { "none", "neutral", "pass", "fail",
	"softfail", "temperror", "permerror", "other", NULL };
static const char *const metrics_dmarc[] = { "none", "pass", "fail",
	"temperror", "permerror", "other", NULL };
static const char *const metrics_dnsbl[] = { "listed", "clean", "refused",
	"timeout", "error", "other", NULL };
static const char *const metrics_greylist[] = { "greylisted", "passed",
	"allowed", "tempfail", "failopen", "other", NULL };
static const char *const metrics_dkim[] = { "none", "pass", "fail",
	"neutral", "policy", "temperror", "permerror", "other", NULL };
static const char *const metrics_surbl[] = { "listed", "clean", "failed",
	"skipped", "other", NULL };
static const char *const metrics_ratelimit[] = { "allowed", "limited",
	"locked", "tempfail", "failopen", "other", NULL };
static const char *const metrics_alerts[] = { "outbound_rate", "other", NULL };

struct metrics_family {
	const char *key;		/* what callers name */
	const char *name;
	const char *help;
	const char *label1;
	const char *const *v1;
	const char *label2;		/* NULL: one label */
	const char *const *v2;
};

static const struct metrics_family metrics_families[] = {
	{ "messages", "relayguard_messages_total",
	    "Messages by final verdict and the check that decided it.",
	    "verdict", metrics_verdicts, "check", metrics_checks },
	{ "conn_refused", "relayguard_connections_refused_total",
	    "Connections refused before any message, by check.",
	    "check", metrics_checks, NULL, NULL },
	{ "relay", "relayguard_relay_refusals_total",
	    "Recipients refused by relay authorization, by reason.",
	    "reason", metrics_relay, NULL, NULL },
	{ "dnsbl", "relayguard_dnsbl_lookups_total",
	    "DNS block list lookups by result.",
	    "result", metrics_dnsbl, NULL, NULL },
	{ "dnswl", "relayguard_dnswl_lookups_total",
	    "DNS allow list lookups by result.",
	    "result", metrics_dnsbl, NULL, NULL },
	{ "spf", "relayguard_spf_results_total",
	    "SPF results (RFC 7208).", "result", metrics_spf, NULL, NULL },
	{ "dmarc", "relayguard_dmarc_results_total",
	    "DMARC results (RFC 7489).", "result", metrics_dmarc, NULL, NULL },
	{ "dkim", "relayguard_dkim_results_total",
	    "DKIM signature results (RFC 6376); none: a message without any.",
	    "result", metrics_dkim, NULL, NULL },
	{ "surbl", "relayguard_surbl_results_total",
	    "Messages by link block list result.", "result", metrics_surbl,
	    NULL, NULL },
	{ "greylist", "relayguard_greylist_results_total",
	    "Greylisting results.", "result", metrics_greylist, NULL, NULL },
	{ "ratelimit", "relayguard_ratelimit_results_total",
	    "Rate limit results.", "result", metrics_ratelimit, NULL, NULL },
	{ "alert", "relayguard_alerts_total",
	    "Volume alerts raised.", "alert", metrics_alerts, NULL, NULL },
};

#define METRICS_NFAM (sizeof(metrics_families) / sizeof(metrics_families[0]))

static const char *const metrics_stage_names[RG_MS_COUNT] = {
	"connect", "helo", "mail", "rcpt", "eom",
};

/* upper bounds of the buckets, and the same as "le" label text */
static const uint64_t metrics_bound_ns[RG_METRICS_BUCKETS] = {
	100000ULL, 250000ULL, 500000ULL, 1000000ULL, 2500000ULL, 5000000ULL,
	10000000ULL, 25000000ULL, 50000000ULL, 100000000ULL, 250000000ULL,
	500000000ULL, 1000000000ULL, 2500000000ULL, 5000000000ULL,
};
static const char *const metrics_le[RG_METRICS_BUCKETS + 1] = {
	"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
	"0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf",
};

/* -------------------------------------------------------------- state */

struct metrics_hist {
	atomic_ullong bucket[RG_METRICS_BUCKETS + 1];
	atomic_ullong sum_ns;
};

static atomic_llong metrics_scalar_v[RG_M_COUNT];
static atomic_ullong metrics_cells[METRICS_CELLS_MAX];
static struct metrics_hist metrics_hist[RG_MS_COUNT];

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;
static size_t metrics_off[METRICS_NFAM];	/* first cell of a family */
static size_t metrics_n1[METRICS_NFAM], metrics_n2[METRICS_NFAM];

static pthread_mutex_t metrics_src_mutex = PTHREAD_MUTEX_INITIALIZER;	/* below */
static struct rg_kv *metrics_kv;

/* metrics_count - entries of a NULL-terminated list (1 for NULL) */
static size_t
metrics_count(const char *const *v)
{
	size_t n = 0;

	if (v == NULL)
		return 1;
	while (v[n] != NULL)
		n++;
	return n;
}

/* metrics_init - lay the families out in metrics_cells */
static void
metrics_init(void)
{
	size_t off = 0;

	for (size_t f = 0; f < METRICS_NFAM; f++) {
		metrics_n1[f] = metrics_count(metrics_families[f].v1);
		metrics_n2[f] = metrics_count(metrics_families[f].v2);
		metrics_off[f] = off;
		off += metrics_n1[f] * metrics_n2[f];
	}
	if (off > METRICS_CELLS_MAX)
		rg_panic("metrics: %zu cells, METRICS_CELLS_MAX is %d", off,
		    METRICS_CELLS_MAX);
}

/* metrics_family - index of a family by key; a wrong key is a bug */
static size_t
metrics_family(const char *key)
{
	pthread_once(&metrics_once, metrics_init);
	for (size_t f = 0; f < METRICS_NFAM; f++)
		if (strcmp(metrics_families[f].key, key) == 0)
			return f;
	rg_panic("metrics: no family \"%s\"", key);
}

/* metrics_value - index of value in v; the last ("other") when absent */
static size_t
metrics_value(const char *const *v, size_t n, const char *value)
{
	if (v == NULL)
		return 0;
	for (size_t i = 0; value != NULL && i + 1 < n; i++)
		if (strcmp(v[i], value) == 0)
			return i;
	return n - 1;
}

/* metrics_cell - the cell of family f for (v1, v2) */
static atomic_ullong *
metrics_cell(size_t f, const char *v1, const char *v2)
{
	const struct metrics_family *fam = &metrics_families[f];
	size_t i = metrics_value(fam->v1, metrics_n1[f], v1);
	size_t j = metrics_value(fam->v2, metrics_n2[f], v2);

	return &metrics_cells[metrics_off[f] + i * metrics_n2[f] + j];
}

/* -------------------------------------------------------------- counting */

void
rg_metrics_inc(enum rg_metric m)
{
	rg_metrics_add(m, 1);
}

void
rg_metrics_add(enum rg_metric m, long long delta)
{
	if ((unsigned)m < RG_M_COUNT)
		atomic_fetch_add_explicit(&metrics_scalar_v[m], delta,
		    memory_order_relaxed);
}

long long
rg_metrics_get(enum rg_metric m)
{
	if ((unsigned)m >= RG_M_COUNT)
		return 0;
	return atomic_load_explicit(&metrics_scalar_v[m], memory_order_relaxed);
}

void
rg_metrics_inc_label(const char *family, const char *value)
{
	size_t f = metrics_family(family);

	atomic_fetch_add_explicit(metrics_cell(f, value, NULL), 1,
	    memory_order_relaxed);
}

void
rg_metrics_inc_label2(const char *family, const char *v1, const char *v2)
{
	size_t f = metrics_family(family);

	atomic_fetch_add_explicit(metrics_cell(f, v1, v2), 1,
	    memory_order_relaxed);
}

long long
rg_metrics_get_label(const char *family, const char *v1, const char *v2)
{
	pthread_once(&metrics_once, metrics_init);
	for (size_t f = 0; f < METRICS_NFAM; f++)
		if (strcmp(metrics_families[f].key, family) == 0)
			return (long long)atomic_load_explicit(
			    metrics_cell(f, v1, v2), memory_order_relaxed);
	return -1;
}

uint64_t
rg_metrics_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void
rg_metrics_observe(enum rg_metrics_stage s, uint64_t ns)
{
	size_t b = 0;

	if ((unsigned)s >= RG_MS_COUNT)
		return;
	while (b < RG_METRICS_BUCKETS && ns > metrics_bound_ns[b])
		b++;
	atomic_fetch_add_explicit(&metrics_hist[s].bucket[b], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&metrics_hist[s].sum_ns, ns,
	    memory_order_relaxed);
}

void
rg_metrics_stage(enum rg_metrics_stage s, uint64_t t0)
{
	uint64_t now = rg_metrics_now();

	rg_metrics_observe(s, now > t0 ? now - t0 : 0);
}

/* rg_metrics_message - verdict and deciding check of a logged message */
void
rg_metrics_message(const struct rg_conn *c, const char *verdict)
{
	const char *check = c->msg != NULL ? c->msg->verdict.check : "";

	/* an accepted message may remember a refused recipient's check */
	if (strcmp(verdict, "accept") == 0 || strcmp(verdict, "aborted") == 0 ||
	    check[0] == '\0')
		check = "none";
	rg_metrics_inc_label2("messages", verdict, check);
}

/* rg_metrics_connection - a connection refused before any message */
void
rg_metrics_connection(const struct rg_conn *c)
{
	rg_metrics_inc_label("conn_refused",
	    c->verdict.check[0] ? c->verdict.check : "none");
}

void
rg_metrics_set_kv(struct rg_kv *kv)
{
	pthread_mutex_lock(&metrics_src_mutex);
	metrics_kv = kv;
	pthread_mutex_unlock(&metrics_src_mutex);
}

void
rg_metrics_reset(void)
{
	pthread_once(&metrics_once, metrics_init);
	for (size_t i = 0; i < RG_M_COUNT; i++)
		atomic_store(&metrics_scalar_v[i], 0);
	for (size_t i = 0; i < METRICS_CELLS_MAX; i++)
		atomic_store(&metrics_cells[i], 0);
	for (size_t s = 0; s < RG_MS_COUNT; s++) {
		for (size_t b = 0; b <= RG_METRICS_BUCKETS; b++)
			atomic_store(&metrics_hist[s].bucket[b], 0);
		atomic_store(&metrics_hist[s].sum_ns, 0);
	}
}

/* -------------------------------------------------------------- writers */

/* metrics_escape - a label value or help text, as the format escapes it */
static void
metrics_escape(struct rg_buf *out, const char *s, int quotes)
{
	for (; *s; s++) {
		if (*s == '\\')
			rg_buf_puts(out, "\\\\");
		else if (*s == '\n')
			rg_buf_puts(out, "\\n");
		else if (*s == '"' && quotes)
			rg_buf_puts(out, "\\\"");
		else
			rg_buf_putc(out, *s);
	}
}

void
rg_metrics_write_head(struct rg_buf *out, const char *name, const char *type,
    const char *help)
{
	rg_buf_printf(out, "# HELP %s ", name);
	metrics_escape(out, help, 0);
	rg_buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

/* metrics_series - name{l1="v1",...} */
static void
metrics_series(struct rg_buf *out, const char *name, const char *const *labels,
    size_t n)
{
	rg_buf_puts(out, name);
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		rg_buf_printf(out, "%c%s=\"", i ? ',' : '{', labels[2 * i]);
		metrics_escape(out, labels[2 * i + 1], 1);
		rg_buf_putc(out, '"');
	}
	rg_buf_putc(out, '}');
}

void
rg_metrics_write_sample(struct rg_buf *out, const char *name,
    const char *const *labels, size_t n, unsigned long long value)
{
	metrics_series(out, name, labels, n);
	rg_buf_printf(out, " %llu\n", value);
}

void
rg_metrics_write_gauge(struct rg_buf *out, const char *name,
    const char *const *labels, size_t n, long long value)
{
	metrics_series(out, name, labels, n);
	rg_buf_printf(out, " %lld\n", value);
}

void
rg_metrics_write_histogram(struct rg_buf *out, const char *name,
    const char *label, const char *value, const unsigned long long *bucket,
    unsigned long long sum_ns)
{
	char series[128];
	const char *l[4] = { label, value, "le", NULL };
	unsigned long long cum = 0;

	snprintf(series, sizeof(series), "%s_bucket", name);
	for (size_t b = 0; b <= RG_METRICS_BUCKETS; b++) {
		cum += bucket[b];
		l[3] = metrics_le[b];
		rg_metrics_write_sample(out, series, l, 2, cum);
	}
	snprintf(series, sizeof(series), "%s_sum", name);
	metrics_series(out, series, l, 1);
	rg_buf_printf(out, " %llu.%09llu\n", sum_ns / 1000000000ULL,
	    sum_ns % 1000000000ULL);
	snprintf(series, sizeof(series), "%s_count", name);
	rg_metrics_write_sample(out, series, l, 1, cum);
}

/* -------------------------------------------------------------- rendering */

/* metrics_render_scalars - consecutive entries of one name share a head */
static void
metrics_render_scalars(struct rg_buf *out)
{
	const char *last = "";

	for (size_t i = 0; i < RG_M_COUNT; i++) {
		const struct metrics_scalar *s = &metrics_scalars[i];
		const char *l[2] = { s->label, s->value };

		if (strcmp(s->name, last) != 0)
			rg_metrics_write_head(out, s->name, s->type, s->help);
		last = s->name;
		rg_metrics_write_gauge(out, s->name, l, s->label ? 1 : 0,
		    rg_metrics_get((enum rg_metric)i));
	}
}

static void
metrics_render_families(struct rg_buf *out)
{
	for (size_t f = 0; f < METRICS_NFAM; f++) {
		const struct metrics_family *fam = &metrics_families[f];

		rg_metrics_write_head(out, fam->name, "counter", fam->help);
		for (size_t i = 0; i < metrics_n1[f]; i++)
			for (size_t j = 0; j < metrics_n2[f]; j++) {
				const char *l[4] = { fam->label1, fam->v1[i],
				    fam->label2, fam->v2 ? fam->v2[j] : NULL };

				rg_metrics_write_sample(out, fam->name, l,
				    fam->label2 ? 2 : 1, atomic_load_explicit(
				    &metrics_cells[metrics_off[f] +
				    i * metrics_n2[f] + j], memory_order_relaxed));
			}
	}
}

static void
metrics_render_stages(struct rg_buf *out)
{
	const char *name = "relayguard_stage_duration_seconds";

	rg_metrics_write_head(out, name, "histogram",
	    "Time spent in relayguard's work for each SMTP stage.");
	for (size_t s = 0; s < RG_MS_COUNT; s++) {
		unsigned long long b[RG_METRICS_BUCKETS + 1];

		for (size_t i = 0; i <= RG_METRICS_BUCKETS; i++)
			b[i] = atomic_load_explicit(&metrics_hist[s].bucket[i],
			    memory_order_relaxed);
		rg_metrics_write_histogram(out, name, "stage",
		    metrics_stage_names[s], b, atomic_load_explicit(
		    &metrics_hist[s].sum_ns, memory_order_relaxed));
	}
}

/* metrics_one - a whole metric with a single unlabelled sample */
static void
metrics_one(struct rg_buf *out, const char *name, const char *type,
    const char *help, unsigned long long v)
{
	rg_metrics_write_head(out, name, type, help);
	rg_metrics_write_sample(out, name, NULL, 0, v);
}

static void
metrics_render_dns(struct rg_buf *out)
{
	struct rg_dns *dns = rg_dns_default();
	struct rg_dns_stats st;

	if (dns == NULL)
		return;
	rg_dns_stats_get(dns, &st);
	metrics_one(out, "relayguard_dns_queries_total", "counter",
	    "DNS queries started.", st.queries);
	metrics_one(out, "relayguard_dns_answers_total", "counter",
	    "DNS queries answered with data.", st.answers);
	metrics_one(out, "relayguard_dns_nxdomain_total", "counter",
	    "DNS queries answered NXDOMAIN.", st.nxdomain);
	metrics_one(out, "relayguard_dns_nodata_total", "counter",
	    "DNS queries answered with no data.", st.nodata);
	metrics_one(out, "relayguard_dns_timeouts_total", "counter",
	    "DNS queries not answered by their deadline.", st.timeouts);
	metrics_one(out, "relayguard_dns_servfails_total", "counter",
	    "DNS queries answered SERVFAIL.", st.servfails);
	metrics_one(out, "relayguard_dns_errors_total", "counter",
	    "DNS queries that failed otherwise.", st.errors);
	metrics_one(out, "relayguard_dns_late_answers_total", "counter",
	    "DNS answers that came after their deadline and were dropped.",
	    st.late);
	metrics_one(out, "relayguard_dns_cache_hits_total", "counter",
	    "DNS queries answered from relayguard's own answer cache.",
	    st.cache_hits);
}

static void
metrics_render_dkim_keys(struct rg_buf *out)
{
	struct rg_dkim_keycache_stats st;

	rg_dkim_keycache_stats(&st);
	metrics_one(out, "relayguard_dkim_key_cache_hits_total", "counter",
	    "DKIM signatures verified with a public key kept decoded.", st.hits);
	metrics_one(out, "relayguard_dkim_key_cache_misses_total", "counter",
	    "DKIM public keys decoded.", st.misses);
	metrics_one(out, "relayguard_dkim_key_cache_entries", "gauge",
	    "DKIM public keys kept decoded.", st.entries);
}

/* metrics_render_kv - the counter store; called with metrics_src_mutex */
static void
metrics_render_kv(struct rg_buf *out, struct rg_kv *kv)
{
	struct rg_kv_stats st;

	rg_kv_stats(kv, &st);
	metrics_one(out, "relayguard_kv_commands_total", "counter",
	    "Counter store calls.", st.commands);
	metrics_one(out, "relayguard_kv_errors_total", "counter",
	    "Counter store calls that failed.", st.errors);
	metrics_one(out, "relayguard_kv_timeouts_total", "counter",
	    "Redis replies that did not come in time.", st.timeouts);
	metrics_one(out, "relayguard_kv_reconnects_total", "counter",
	    "Redis connections made after a failure.", st.reconnects);
	metrics_one(out, "relayguard_kv_pending_connections", "gauge",
	    "Redis connections for answers read a stage later.", st.pool);
	metrics_one(out, "relayguard_kv_pending_full_total", "counter",
	    "Checks done at once: the pending connections all in use.",
	    st.pool_full);
	metrics_one(out, "relayguard_kv_failure_mode_total", "counter",
	    "Times the counter store's failure mode was applied.", st.failmode);
	metrics_one(out, "relayguard_kv_entries", "gauge",
	    "Entries in the memory store.", st.entries);
	metrics_one(out, "relayguard_kv_evictions_total", "counter",
	    "Live entries the memory store evicted when full.", st.evictions);
	metrics_one(out, "relayguard_kv_expired_total", "counter",
	    "Expired entries the memory store reclaimed.", st.expired);
}

/* metrics_render_sources - store, configuration */
static void
metrics_render_sources(struct rg_buf *out)
{
	struct rg_conf *conf = rg_conf_acquire();

	pthread_mutex_lock(&metrics_src_mutex);
	if (metrics_kv != NULL)
		metrics_render_kv(out, metrics_kv);
	pthread_mutex_unlock(&metrics_src_mutex);
	if (conf != NULL)
		metrics_one(out, "relayguard_config_generation", "gauge",
		    "Configurations installed since start (1: the first).",
		    rg_conf_generation(conf));
	rg_conf_release(conf);
}

void
rg_metrics_render(struct rg_buf *out)
{
	const char *ver[2] = { "version", RG_VERSION };

	pthread_once(&metrics_once, metrics_init);
	rg_metrics_write_head(out, "relayguard_build_info", "gauge",
	    "Always 1; the version is a label.");
	rg_metrics_write_sample(out, "relayguard_build_info", ver, 1, 1);
	metrics_render_scalars(out);
	metrics_render_families(out);
	metrics_render_stages(out);
	metrics_render_dns(out);
	metrics_render_dkim_keys(out);
	metrics_render_sources(out);
}
