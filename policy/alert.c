/*
 * alert.c - volume alerts over the counter store (see alert.h)
 *
 * The count lives under ALERT_KEY_COUNT, a windowed counter. When it goes
 * over the rate, whoever first claims ALERT_KEY_FIRED (rg_kv_incr with
 * limit 1, expiring after one window) raises the alert: one host of a
 * fleet, once per window. If the store fails at that point, this process
 * falls back on its own memory of when it last raised the alert, so an
 * alert is never lost to a store outage, only possibly doubled.
 *
 * Store failures are logged at most once a minute (ALERT_FAIL_LOG_MS):
 * this runs for every relayed message. struct rg_alert is read-only after
 * creation but for its atomics.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "verdict.h"
#include "xalloc.h"

#define ALERT_NAME		"outbound_rate"
#define ALERT_KEY_COUNT		"alert:outbound_rate"
#define ALERT_KEY_FIRED		"alert:outbound_rate:fired"
#define ALERT_FAIL_LOG_MS	60000
#define ALERT_WINDOW_MIN	1000LL	/* ms */

struct rg_alert {
	struct rg_kv *kv;
	int owned;
	long long (*clock)(void *arg);
	void *clock_arg;
	int (*run)(const char *const *argv, void *arg);
	void *run_arg;
	atomic_llong last_fired;	/* ms; for when the store fails */
	atomic_llong last_fail_log;	/* ms */
};

static _Atomic(struct rg_alert *) alert_default;

/* alert_now - ms since the epoch, or the test clock */
static long long
alert_now(const struct rg_alert *a)
{
	struct timespec ts;

	if (a->clock != NULL)
		return a->clock(a->clock_arg);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct rg_alert *
rg_alert_create(struct rg_kv *kv, const struct rg_kv_conf *kvc,
    struct rg_buf *why)
{
	struct rg_alert *a;
	int owned = 0;

	if (kv == NULL) {
		if (kvc == NULL) {
			rg_buf_puts(why, "no counter store and no settings for one");
			return NULL;
		}
		if ((kv = rg_kv_create(kvc, why)) == NULL)
			return NULL;
		owned = 1;
	}
	a = rg_xcalloc(1, sizeof(*a));
	a->kv = kv;
	a->owned = owned;
	atomic_init(&a->last_fired, 0);
	atomic_init(&a->last_fail_log, 0);
	return a;
}

struct rg_alert *
rg_alert_free(struct rg_alert *a)
{
	if (a == NULL)
		return NULL;
	if (a->owned)
		rg_kv_free(a->kv);
	free(a);
	return NULL;
}

struct rg_kv *
rg_alert_kv(struct rg_alert *a)
{
	return a != NULL ? a->kv : NULL;
}

void
rg_alert_set_default(struct rg_alert *a)
{
	atomic_store(&alert_default, a);
}

struct rg_alert *
rg_alert_default(void)
{
	return atomic_load(&alert_default);
}

void
rg_alert_set_clock(struct rg_alert *a, long long (*fn)(void *arg), void *arg)
{
	a->clock = fn;
	a->clock_arg = arg;
	if (a->owned)
		rg_kv_set_clock(a->kv, fn, arg);
}

void
rg_alert_set_runner(struct rg_alert *a,
    int (*run)(const char *const *argv, void *arg), void *arg)
{
	a->run = run;
	a->run_arg = arg;
}

/* rg_alert_window_text - the largest unit that divides the window */
void
rg_alert_window_text(long long ms, char *buf, size_t size)
{
	static const struct { long long ms; const char *unit; } u[] = {
		{ 604800000LL, "w" }, { 86400000LL, "d" }, { 3600000LL, "h" },
		{ 60000LL, "m" }, { 1000LL, "s" },
	};

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (ms > 0 && ms % u[i].ms == 0) {
			snprintf(buf, size, "%lld%s", ms / u[i].ms, u[i].unit);
			return;
		}
	snprintf(buf, size, "%lldms", ms);
}

/* alert_store_failed - log a store failure, at most once a minute */
static void
alert_store_failed(struct rg_alert *a, const char *id, const char *what,
    const struct rg_buf *why)
{
	long long now = alert_now(a), last = atomic_load(&a->last_fail_log);

	if (now - last < ALERT_FAIL_LOG_MS ||
	    !atomic_compare_exchange_strong(&a->last_fail_log, &last, now))
		return;
	rg_log_id(RG_LOG_WARN, id, "alert: counter store failed at %s: %s "
	    "(logged once a minute)", what, rg_buf_cstr(why));
}

/* alert_command - start alert_command with name, count and window */
static void
alert_command(struct rg_alert *a, const struct rg_alert_conf *cf,
    const char *id, long long count, const char *window)
{
	char num[24], err[160];
	const char *argv[RG_ALERT_ARGS] = { cf->command, ALERT_NAME, num,
	    window, NULL };
	int rc;

	if (cf->command[0] == '\0')
		return;
	snprintf(num, sizeof(num), "%lld", count);
	err[0] = '\0';
	if (a->run != NULL)
		rc = a->run(argv, a->run_arg);
	else
		rc = rg_alert_spawn(argv, err, sizeof(err));
	if (rc == 0)
		return;
	rg_metrics_inc(RG_M_ALERT_CMD_FAILED);
	rg_log_id(RG_LOG_ERR, id, "alert: cannot run %s: %s", cf->command,
	    err[0] ? err : "failed");
}

/* alert_claim - this process raises the alert now (once per window) */
static int
alert_claim(struct rg_alert *a, const struct rg_alert_conf *cf,
    const char *id)
{
	long long window = cf->outbound_rate.window_ms, now = alert_now(a);
	long long last = atomic_load(&a->last_fired);
	struct rg_buf why = RG_BUF_INIT;
	struct rg_kv_res res;
	enum rg_kv_status st;

	/* raised here in this window: no need to ask the store */
	if (last != 0 && now - last < window)
		return 0;
	st = rg_kv_incr(a->kv, ALERT_KEY_FIRED, 1, 1, window, &res, &why);
	if (st == RG_KV_OK) {
		if (res.allowed)
			atomic_store(&a->last_fired, now);
		rg_buf_release(&why);
		return res.allowed;
	}
	alert_store_failed(a, id, ALERT_KEY_FIRED, &why);
	rg_buf_release(&why);
	/* no store: our own memory decides, one thread at a time */
	return atomic_compare_exchange_strong(&a->last_fired, &last, now);
}

/* alert_raise - the LOG_ALERT line and the command */
static void
alert_raise(struct rg_alert *a, const struct rg_alert_conf *cf,
    const char *id, long long count)
{
	char window[32];

	rg_alert_window_text(cf->outbound_rate.window_ms, window, sizeof(window));
	rg_metrics_inc_label("alert", ALERT_NAME);
	rg_log_write_id(RG_LOG_ALERT, id, "alert: %s: %lld relayed messages in "
	    "%s, over the limit of %lld (alert_outbound_rate); raised once "
	    "per window", ALERT_NAME, count, window, cf->outbound_rate.count);
	alert_command(a, cf, id, count, window);
}

enum rg_alert_result
rg_alert_relayed(struct rg_alert *a, const struct rg_alert_conf *cf,
    const char *id, long long add, long long *count)
{
	struct rg_buf why = RG_BUF_INIT;
	long long n = 0;
	enum rg_kv_status st;

	if (count != NULL)
		*count = 0;
	if (a == NULL || cf->outbound_rate.count == 0)
		return RG_ALERT_OFF;
	st = rg_kv_count_add(a->kv, ALERT_KEY_COUNT, add,
	    cf->outbound_rate.window_ms, &n, &why);
	if (st != RG_KV_OK) {
		alert_store_failed(a, id, ALERT_KEY_COUNT, &why);
		rg_buf_release(&why);
		return RG_ALERT_TEMPFAIL;
	}
	rg_buf_release(&why);
	if (count != NULL)
		*count = n;
	if (n <= cf->outbound_rate.count)
		return RG_ALERT_QUIET;
	if (!alert_claim(a, cf, id))
		return RG_ALERT_SUPPRESSED;
	alert_raise(a, cf, id, n);
	return RG_ALERT_FIRED;
}

/* rg_alert_is_relay - accepted, privileged client, a foreign recipient */
int
rg_alert_is_relay(const struct rg_conn *c, const struct rg_verdict *v)
{
	const struct rg_msg *m = c->msg;

	if (m == NULL || (v->action != RG_ACT_CONTINUE &&
	    v->action != RG_ACT_ACCEPT))
		return 0;
	if (!rg_relay_is_trusted(c) && !rg_relay_is_authenticated(c))
		return 0;
	for (size_t i = 0; i < m->nrcpts; i++) {
		if (m->rcpts[i].action == RG_ACT_REJECT ||
		    m->rcpts[i].action == RG_ACT_TEMPFAIL)
			continue;
		if (rg_relay_is_foreign(c, m->rcpts[i].addr))
			return 1;
	}
	return 0;
}

void
rg_alert_eom(struct rg_conn *c, const struct rg_verdict *v)
{
	if (!rg_alert_is_relay(c, v))
		return;
	rg_metrics_inc(RG_M_RELAYED);
	(void)rg_alert_relayed(rg_alert_default(), &c->conf->alert, c->id, 1,
	    NULL);
}

/* ------------------------------------------------------------ settings */

/* alert_parse_rate - "" (off) or "count/window", e.g. 2000/10m */
static int
alert_parse_rate(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *v, void *dst)
{
	struct rg_alert_rate *r = dst;
	const char *slash = strchr(v, '/');
	char num[24];

	if (*v == '\0')
		return 0;
	if (slash == NULL || slash == v || (size_t)(slash - v) >= sizeof(num))
		goto bad;
	memcpy(num, v, (size_t)(slash - v));
	num[slash - v] = '\0';
	if (rg_str_parse_ll(num, &r->count) < 0 || r->count < 1 ||
	    r->count >= RG_KV_COUNT_MAX)
		goto bad;
	if (rg_conf_parse_time(slash + 1, &r->window_ms) < 0 ||
	    r->window_ms < ALERT_WINDOW_MIN || r->window_ms > RG_KV_WINDOW_MAX)
		goto bad;
	return 0;
bad:
	rg_conf_perror(cx, "%s: expected count/window such as 2000/10m (count "
	    "at least 1, window 1s to 366d), not \"%s\"", p->name, v);
	memset(r, 0, sizeof(*r));
	return -1;
}

static void
alert_free_rate(void *dst)
{
	memset(dst, 0, sizeof(struct rg_alert_rate));
}

static const struct rg_ptype_ops alert_rate_ops = {
	alert_parse_rate, alert_free_rate,
};

/* alert_parse_command - "" or an absolute path; run without a shell */
static int
alert_parse_command(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *v, void *dst)
{
	if (*v != '\0' && (v[0] != '/' || strpbrk(v, " \t") != NULL)) {
		rg_conf_perror(cx, "%s: expected the absolute path of a program "
		    "(no arguments: it gets the alert name, count and window), "
		    "not \"%s\"", p->name, v);
		return -1;
	}
	*(char **)dst = rg_xstrdup(v);
	return 0;
}

static void
alert_free_command(void *dst)
{
	free(*(char **)dst);
	*(char **)dst = NULL;
}

static const struct rg_ptype_ops alert_command_ops = {
	alert_parse_command, alert_free_command,
};

#define ALERT(f) offsetof(struct rg_alert_conf, f)

const struct rg_param rg_alert_params[] = {
	RG_P_CUSTOM("alert_outbound_rate", "", &alert_rate_ops,
	    ALERT(outbound_rate), 0,
	    "relayed messages per window for the whole host or fleet before an alert, e.g. 2000/10m; empty: off"),
	RG_P_CUSTOM("alert_command", "", &alert_command_ops, ALERT(command), 0,
	    "program run when an alert is raised, with the alert name, count and window"),
	RG_P_END
};
