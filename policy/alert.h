/*
 * alert.h - volume alerts: too much relayed mail for the whole host
 *
 * alert_outbound_rate = N/window counts relayed messages (accepted for at
 * least one foreign recipient from a trusted or authenticated client) in
 * the counter store under one fixed key, so every host sharing a Redis
 * adds to the same count. When the count goes over N, the alert is logged
 * at LOG_ALERT and alert_command runs, once per window for the whole
 * fleet (a second key, claimed with rg_kv_incr, says who raised it).
 *
 * alert_command is started as a vector (no shell): the path, then the
 * alert name, the count and the window ("outbound_rate" "2001" "10m"),
 * stdin on /dev/null, signals unblocked, no descriptor of ours but 0-2.
 * It is double-forked so it is never our child: the caller waits only
 * until it has been executed, never for it to finish.
 *
 * One struct rg_alert serves the process (rg_alert_set_default). It uses
 * a counter store passed in (borrowed) or opens its own from the kv
 * settings (owned) while the daemon has no shared one. Thread-safe.
 */
#ifndef RG_ALERT_H
#define RG_ALERT_H

#include "buf.h"
#include "conf.h"

struct rg_conn;
struct rg_kv;
struct rg_kv_conf;
struct rg_verdict;

#define RG_ALERT_ARGS	5	/* path, name, count, window, NULL */

/* a rate: count in window; count 0 means off */
struct rg_alert_rate {
	long long count;
	long long window_ms;
};

/* the "alert" module's settings */
struct rg_alert_conf {
	struct rg_alert_rate outbound_rate;
	char *command;		/* absolute path, or "" */
};

extern const struct rg_param rg_alert_params[];

enum rg_alert_result {
	RG_ALERT_OFF,		/* no rate configured: nothing counted */
	RG_ALERT_QUIET,		/* counted, within the rate */
	RG_ALERT_FIRED,		/* over the rate: raised now */
	RG_ALERT_SUPPRESSED,	/* over the rate, already raised this window */
	RG_ALERT_TEMPFAIL,	/* the store did not answer: nothing known */
};

struct rg_alert;

/*
 * rg_alert_create - kv: a shared store (borrowed, must outlive the
 * alert), or NULL to open one from kvc (owned). NULL with a reason in why
 * when that store cannot be opened. Free with rg_alert_free().
 */
struct rg_alert *rg_alert_create(struct rg_kv *kv, const struct rg_kv_conf *kvc,
    struct rg_buf *why);
/* rg_alert_free - accepts NULL, returns NULL; nothing may use a after */
struct rg_alert *rg_alert_free(struct rg_alert *a);
/* rg_alert_kv - the store in use (borrowed) */
struct rg_kv *rg_alert_kv(struct rg_alert *a);

/* the process-wide instance, for rg_alert_eom; set at start-up */
void rg_alert_set_default(struct rg_alert *a);
struct rg_alert *rg_alert_default(void);

/*
 * Tests: read the time (ms since the epoch) from fn, also in an owned
 * store; run commands through run (argv as exec would get it; return 0
 * when started) instead of forking. Set before use.
 */
void rg_alert_set_clock(struct rg_alert *a, long long (*fn)(void *arg),
    void *arg);
void rg_alert_set_runner(struct rg_alert *a,
    int (*run)(const char *const *argv, void *arg), void *arg);

/*
 * rg_alert_relayed - count add relayed messages against cf's rate; over
 * it, raise the alert unless already raised in this window. *count (may
 * be NULL) gets the count in the window. id prefixes the log lines.
 */
enum rg_alert_result rg_alert_relayed(struct rg_alert *a,
    const struct rg_alert_conf *cf, const char *id, long long add,
    long long *count);

/*
 * rg_alert_is_relay - the message in c, with verdict v at end of
 * message, is relayed: accepted, from a trusted or authenticated client,
 * for at least one accepted foreign recipient.
 */
int rg_alert_is_relay(const struct rg_conn *c, const struct rg_verdict *v);
/* rg_alert_eom - engine hook: count a relayed message, metrics and alert */
void rg_alert_eom(struct rg_conn *c, const struct rg_verdict *v);

/*
 * rg_alert_spawn - run argv[0] with argv (alert_exec.c): double fork,
 * stdin on /dev/null, every other descriptor above 2 closed, signals
 * unblocked and at their defaults. Returns 0 once the program has been
 * executed, -1 with the reason in err when it could not be. Never waits
 * for the program; it is never our child. Prepare argv before calling:
 * nothing between fork and exec allocates.
 */
int rg_alert_spawn(const char *const *argv, char *err, size_t errsize);

/* rg_alert_window_text - "10m", "1h", "90s", "1500ms" */
void rg_alert_window_text(long long ms, char *buf, size_t size);

#endif
