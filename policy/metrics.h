/*
 * metrics.h - process-wide counters, gauges and latency histograms
 *
 * A fixed registry: every metric and every label value is declared in
 * metrics.c, so no input can ever create a new series. A module counts
 * with rg_metrics_inc(RG_M_...) for plain counters, or with
 * rg_metrics_inc_label("spf", "pass") for a labelled family; a value the
 * family does not declare is counted as "other" (and a family name that
 * does not exist is a bug: rg_panic). The hot path is lock-free (C11
 * atomics, relaxed) and never allocates.
 *
 * rg_metrics_render() writes the Prometheus text exposition format 0.0.4:
 * the registry, plus what other modules already count, read at scrape
 * time (the resolver's rg_dns_stats_get, the counter store's rg_kv_stats,
 * the configuration generation, the locked-accounts hook). Thread-safe.
 */
#ifndef RG_METRICS_H
#define RG_METRICS_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "buf.h"
#include "conf.h"

struct rg_conn;
struct rg_kv;

/* metrics_listen: where the HTTP exposition listens (metrics_conf.c) */
struct rg_metrics_listen {
	int set;			/* 0: the value was empty, no server */
	struct sockaddr_storage sa;	/* address and port */
	socklen_t salen;
	int loopback;			/* 127.0.0.0/8 or ::1 */
	char *text;			/* as written, for logs */
	char *file;			/* where it was written, for the check */
	int line;
};

/* the "metrics" module's settings */
struct rg_metrics_conf {
	struct rg_metrics_listen listen;
	int allow_remote;
};

extern const struct rg_param rg_metrics_params[];
/* rg_metrics_conf_check - a remote metrics_listen needs allow_remote */
int rg_metrics_conf_check(struct rg_conf_ctx *cx, void *modconf);
/* rg_metrics_parse_listen - "addr:port" or "[v6addr]:port"; NULL or why not */
const char *rg_metrics_parse_listen(const char *v, struct rg_metrics_listen *l);

/* plain counters and gauges */
enum rg_metric {
	RG_M_CONNECTIONS,		/* counter: connections seen */
	RG_M_CONNECTIONS_OPEN,		/* gauge: up at connect, down at close */
	RG_M_RELOADS_OK,		/* counter: configurations reloaded */
	RG_M_RELOADS_FAILED,		/* counter: reloads refused */
	RG_M_RELAYED,			/* counter: messages relayed (alert.c) */
	RG_M_ALERT_CMD_FAILED,		/* counter: alert_command not started */
	RG_M_COUNT
};

/* the stages whose time is measured (engine.c) */
enum rg_metrics_stage {
	RG_MS_CONNECT,
	RG_MS_HELO,
	RG_MS_MAIL,
	RG_MS_RCPT,
	RG_MS_EOM,
	RG_MS_COUNT
};

#define RG_METRICS_BUCKETS	15	/* 0.1 ms .. 5 s, and +Inf */

/* rg_metrics_inc - add 1 to a counter (or a gauge) */
void rg_metrics_inc(enum rg_metric m);
/* rg_metrics_add - add delta (may be negative for a gauge) */
void rg_metrics_add(enum rg_metric m, long long delta);
long long rg_metrics_get(enum rg_metric m);

/*
 * rg_metrics_inc_label - add 1 to family[value]; the families and their
 * values (see metrics.c): "relay" (refusal reason), "spf", "dmarc",
 * "dnsbl", "dnswl", "greylist", "ratelimit", "alert", "conn_refused"
 * (check). An undeclared value counts as "other".
 */
void rg_metrics_inc_label(const char *family, const char *value);
/* rg_metrics_inc_label2 - the same for a two-label family ("messages") */
void rg_metrics_inc_label2(const char *family, const char *v1,
    const char *v2);
/* rg_metrics_get_label - a cell's value (tests); -1 for no such family */
long long rg_metrics_get_label(const char *family, const char *v1,
    const char *v2);

/* rg_metrics_now - monotonic nanoseconds, for rg_metrics_stage */
uint64_t rg_metrics_now(void);
/* rg_metrics_stage - observe the time since t0 (rg_metrics_now) */
void rg_metrics_stage(enum rg_metrics_stage s, uint64_t t0);
/* rg_metrics_observe - observe a duration in nanoseconds */
void rg_metrics_observe(enum rg_metrics_stage s, uint64_t ns);

/*
 * rg_metrics_message - a message's summary was logged with this verdict
 * (txlog.c): counts messages{verdict, check}; check is c->msg's deciding
 * check ("none" for accepted and aborted messages).
 */
void rg_metrics_message(const struct rg_conn *c, const char *verdict);
/* rg_metrics_connection - a connection refused before any message */
void rg_metrics_connection(const struct rg_conn *c);

/*
 * Sources read at scrape time. rg_metrics_set_kv: the counter store whose
 * rg_kv_stats are shown (borrowed; set to NULL before freeing it, and
 * only while no scrape can run, i.e. before the HTTP server starts or
 * after it stopped).
 */
void rg_metrics_set_kv(struct rg_kv *kv);

/* rg_metrics_render - the text exposition format 0.0.4, appended to out */
void rg_metrics_render(struct rg_buf *out);
/* rg_metrics_reset - every counter, gauge and histogram to 0 (tests) */
void rg_metrics_reset(void);

/*
 * The writers rg_metrics_render uses, public for tests and for other
 * exporters. Each emits the # HELP and # TYPE lines first when help is
 * not NULL. Label values are escaped (\\, \", \n); labels is a list of
 * name/value pairs, n pairs.
 */
void rg_metrics_write_head(struct rg_buf *out, const char *name,
    const char *type, const char *help);
void rg_metrics_write_sample(struct rg_buf *out, const char *name,
    const char *const *labels, size_t n, unsigned long long value);
void rg_metrics_write_gauge(struct rg_buf *out, const char *name,
    const char *const *labels, size_t n, long long value);
/* bucket: RG_METRICS_BUCKETS + 1 counts (not cumulative), last is +Inf */
void rg_metrics_write_histogram(struct rg_buf *out, const char *name,
    const char *label, const char *value, const unsigned long long *bucket,
    unsigned long long sum_ns);

#endif
