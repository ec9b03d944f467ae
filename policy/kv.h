/*
 * kv.h - the counter store: windowed counters, limits, values with expiry
 *
 * Rate limits, concurrency limits, greylisting and lockout sit on this
 * interface. Two backends behind one struct of function pointers: the
 * embedded store (kv_mem.c, the default, in-process) and Redis (kv_redis.c,
 * shared by every MTA host). The caller never sees which one runs.
 *
 * Windowed counters use a sliding-window approximation over two fixed
 * buckets aligned to the epoch (bucket i covers [i*W, (i+1)*W)): at time t
 * in bucket i the count is cur + ceil(prev * (remaining part of bucket i)),
 * with the remaining part counted in 1/65536 steps, so a burst at a bucket
 * edge cannot double the rate as a fixed window would allow. Both backends
 * do the same integer arithmetic (kv.c rg_kv_win_apply; the Lua script in
 * kv_script.c mirrors it), so they give the same answers.
 *
 * Every function returns an enum rg_kv_status and appends a reason to
 * `why` (may be NULL) on RG_KV_TEMPFAIL and RG_KV_INVAL. RG_KV_TEMPFAIL means
 * the store could not answer in time; what to do then is the caller's
 * configured failure mode (rg_kv_failure). All calls are thread-safe; no
 * call waits longer than redis_connect_timeout + redis_command_timeout
 * (but rg_kv_scan, for the admin CLI, which may take up to 10 s).
 */
#ifndef RG_KV_H
#define RG_KV_H

#include <stddef.h>

#include "buf.h"
#include "conf.h"

enum rg_kv_status {
	RG_KV_OK,
	RG_KV_NOTFOUND,		/* get, del: no such key */
	RG_KV_TEMPFAIL,		/* store down, slow, or full */
	RG_KV_INVAL,		/* bad argument, or a key of another kind */
};

/* what the engine does when the store answers RG_KV_TEMPFAIL */
enum rg_kv_failmode {
	RG_KV_FAIL_OPEN,	/* skip the limit; logged and counted */
	RG_KV_FAIL_TEMPFAIL,	/* 451 4.7.0 to the client */
};

enum rg_kv_backend_choice { RG_KV_BACKEND_MEMORY, RG_KV_BACKEND_REDIS };

#define RG_KV_KEY_MAX		1024	/* bytes in a key, without the prefix */
#define RG_KV_PREFIX_MAX	64	/* bytes in redis_prefix */
#define RG_KV_VALUE_MAX		4096	/* bytes in a value (set, get) */
#define RG_KV_OPS_MAX		16	/* ops in one rg_kv_check call */
#define RG_KV_PENDING_MAX	256	/* Redis: checks started, not ended */
#define RG_KV_COUNT_MAX		(1LL << 36)	/* counters saturate here */
#define RG_KV_WINDOW_MAX	(366LL * 86400 * 1000)	/* ms */
#define RG_KV_TTL_MAX		(366LL * 86400 * 1000)	/* ms */
#define RG_KV_SCAN_MAX		100000	/* keys listed by one rg_kv_scan */
#define RG_KV_NOLIMIT		(-1LL)	/* op or incr without a limit */

/* "host:port", "[v6addr]:port" or "unix:/path" */
struct rg_kv_server {
	char *host;		/* NULL for a unix socket */
	int port;
	char *path;		/* unix socket, or NULL */
};

/* a secret read from a file at configuration load */
struct rg_kv_secret {
	char *path;
	char *value;		/* the file's first line; never logged */
};

/* settings of the store (relayguard.conf, section kv); see kv_conf.c */
struct rg_kv_conf {
	int backend;		/* enum rg_kv_backend_choice */
	long long mem_max_entries;
	struct rg_kv_server redis_server;
	char *redis_password;
	struct rg_kv_secret redis_password_file;
	long long redis_database;
	char *redis_prefix;
	long long redis_connect_timeout;	/* ms */
	long long redis_command_timeout;	/* ms */
	long long redis_reconnect_delay;	/* ms */
	long long redis_reconnect_max_delay;	/* ms */
	int redis_failure_mode;	/* enum rg_kv_failmode */
};

extern const struct rg_param rg_kv_params[];
int rg_kv_conf_check(struct rg_conf_ctx *cx, void *modconf);

/* one windowed counter in a rg_kv_check call */
struct rg_kv_op {
	const char *key;	/* 1..RG_KV_KEY_MAX bytes, no control chars */
	long long add;		/* 0..RG_KV_COUNT_MAX */
	long long window_ms;	/* 1..RG_KV_WINDOW_MAX */
	long long limit;	/* 0..RG_KV_COUNT_MAX, or RG_KV_NOLIMIT */
};

struct rg_kv_res {
	long long count;	/* count in the window after the call */
	int allowed;		/* count + add stays within the limit */
};

/* a list of keys; release with rg_kv_keys_release() */
struct rg_kv_keys {
	size_t n;
	char **key;		/* sorted, without redis_prefix */
	int truncated;		/* more keys matched than were returned */
};

/* monitoring counters; Redis-only and memory-only ones stay 0 otherwise */
struct rg_kv_stats {
	unsigned long long commands;	/* calls (rg_kv_check, _set, ...) */
	unsigned long long errors;	/* calls that ended in TEMPFAIL */
	unsigned long long timeouts;	/* Redis: replies not in time */
	unsigned long long reconnects;	/* Redis: connecting after a failure */
	unsigned long long failmode;	/* rg_kv_failure calls */
	unsigned long long entries;	/* memory: entries held now */
	unsigned long long evictions;	/* memory: live entries evicted */
	unsigned long long expired;	/* memory: expired entries reclaimed */
	unsigned long long pool;	/* Redis: connections for started checks */
	unsigned long long pool_full;	/* Redis: checks done at once, the pool
					 * being in use to its cap */
};

struct rg_kv;

/*
 * rg_kv_create - open the store the configuration names. Reads only cf
 * (copies what it keeps). Redis is not contacted here: the first call
 * from each thread connects. NULL with a reason in why on bad settings.
 * Caller owns the result: free with rg_kv_free().
 */
struct rg_kv *rg_kv_create(const struct rg_kv_conf *cf, struct rg_buf *why);
/*
 * rg_kv_free - close the store and every thread's connection; accepts
 * NULL, returns NULL. No other thread may use kv during or after the call.
 */
struct rg_kv *rg_kv_free(struct rg_kv *kv);
const char *rg_kv_backend_name(const struct rg_kv *kv);
/*
 * rg_kv_set_default - publish the daemon's store to the policy modules
 * (NULL withdraws it); rg_kv_default - that store, or NULL. Atomic.
 */
void rg_kv_set_default(struct rg_kv *kv);
struct rg_kv *rg_kv_default(void);
/*
 * rg_kv_hold - the default store, pinned until rg_kv_unhold (NULL when
 * there is none; unhold accepts NULL). rg_kv_quiesce - after
 * rg_kv_set_default(NULL): wait up to timeout_ms until no call holds the
 * old store, so that it can be freed; 0, or -1 on timeout.
 */
struct rg_kv *rg_kv_hold(void);
void rg_kv_unhold(struct rg_kv *kv);
int rg_kv_quiesce(long long timeout_ms);

/*
 * rg_kv_set_clock - tests: read the time (ms since the epoch) from fn
 * instead of the system clock. Redis then places windows by this time
 * instead of its own TIME; expiry there stays on Redis's clock. Set
 * before the store is used.
 */
void rg_kv_set_clock(struct rg_kv *kv, long long (*fn)(void *arg), void *arg);

/*
 * rg_kv_check - for each op, add op.add to the windowed counter op.key if
 * every op stays within its limit: all ops are added or none is (one
 * round trip to Redis). res[i] gets each counter's count after the call
 * (without the add when nothing was added) and whether op i alone would
 * fit. RG_KV_OK whether or not the ops were allowed; RG_KV_INVAL for a
 * bad op, the same key twice, or a key that holds a value.
 */
enum rg_kv_status rg_kv_check(struct rg_kv *kv, const struct rg_kv_op *ops,
    size_t nops, struct rg_kv_res *res, struct rg_buf *why);
/* a check sent to the store whose answer is not read yet */
struct rg_kv_pending;

/*
 * rg_kv_check_start - rg_kv_check in two halves, so that a stage need not
 * wait for the store: the ops are sent, and the answer is read later by
 * rg_kv_check_end, from any thread; ops and their keys must stay as they
 * are until then. RG_KV_OK with *pend set: started. *pend NULL: the call
 * was a whole rg_kv_check and its status and res are final (the embedded
 * store always answers at once, and so does any failure, and Redis when
 * RG_KV_PENDING_MAX checks are pending already).
 */
enum rg_kv_status rg_kv_check_start(struct rg_kv *kv,
    const struct rg_kv_op *ops, size_t nops, struct rg_kv_res *res,
    struct rg_kv_pending **pend, struct rg_buf *why);
/*
 * rg_kv_check_end - the answer of a started check, as rg_kv_check gives
 * it; waits at most until redis_command_timeout after the start. Frees
 * pend. kv is the store the caller holds now, or NULL when there is none:
 * a pending check may outlive the store it was started on (a reload, the
 * stop), and its answer is still read.
 */
enum rg_kv_status rg_kv_check_end(struct rg_kv *kv, struct rg_kv_pending *pend,
    const struct rg_kv_op *ops, size_t nops, struct rg_kv_res *res,
    struct rg_buf *why);
/* rg_kv_count_add - add to a windowed counter without a limit */
enum rg_kv_status rg_kv_count_add(struct rg_kv *kv, const char *key,
    long long add, long long window_ms, long long *count, struct rg_buf *why);
/* rg_kv_count_get - read a windowed counter (0 when it does not exist) */
enum rg_kv_status rg_kv_count_get(struct rg_kv *kv, const char *key,
    long long window_ms, long long *count, struct rg_buf *why);

/*
 * rg_kv_set - store a value (0..RG_KV_VALUE_MAX bytes) that expires after
 * ttl_ms (0: never; 1..RG_KV_TTL_MAX), replacing whatever key held.
 */
enum rg_kv_status rg_kv_set(struct rg_kv *kv, const char *key,
    const void *value, size_t len, long long ttl_ms, struct rg_buf *why);
/* rg_kv_get - the value of key into val (reset first); RG_KV_NOTFOUND */
enum rg_kv_status rg_kv_get(struct rg_kv *kv, const char *key,
    struct rg_buf *val, struct rg_buf *why);
/* rg_kv_del - remove key of any kind; RG_KV_NOTFOUND when absent */
enum rg_kv_status rg_kv_del(struct rg_kv *kv, const char *key,
    struct rg_buf *why);
/*
 * rg_kv_incr - add delta (may be negative) to the integer value of key
 * and let it expire ttl_ms (1..RG_KV_TTL_MAX) after this call: a slot
 * counted up at connect and down at close cannot leak forever when the
 * close is lost. A missing key counts as 0; the value never drops below 0
 * and a key that reaches 0 is removed. When delta > 0 and limit is not
 * RG_KV_NOLIMIT, nothing changes unless value + delta <= limit. res gets
 * the value after the call and whether the change was made.
 */
enum rg_kv_status rg_kv_incr(struct rg_kv *kv, const char *key,
    long long delta, long long limit, long long ttl_ms, struct rg_kv_res *res,
    struct rg_buf *why);

/*
 * rg_kv_scan - keys that start with prefix ("" for all), at most max
 * (1..RG_KV_SCAN_MAX), for the admin CLI; out->truncated when there were
 * more. Expensive on a big Redis: not for the mail path. Caller owns out.
 */
enum rg_kv_status rg_kv_scan(struct rg_kv *kv, const char *prefix,
    size_t max, struct rg_kv_keys *out, struct rg_buf *why);
void rg_kv_keys_release(struct rg_kv_keys *k);

/* rg_kv_sweep - reclaim every expired entry now (memory; Redis: no-op) */
void rg_kv_sweep(struct rg_kv *kv);
/* rg_kv_stats - the monitoring counters (atomic reads) */
void rg_kv_stats(struct rg_kv *kv, struct rg_kv_stats *st);

/*
 * rg_kv_failure - the store answered RG_KV_TEMPFAIL for `what` (e.g.
 * "ratelimit client"): log it under id, count it, and return what the
 * configuration says to do (cf is the caller's pinned snapshot, so the
 * mode follows reloads).
 */
enum rg_kv_failmode rg_kv_failure(struct rg_kv *kv,
    const struct rg_kv_conf *cf, const char *id, const char *what,
    const char *why);

const char *rg_kv_status_name(enum rg_kv_status st);

/*
 * Window arithmetic, shared by the backends and tested on its own.
 * rg_kv_win_apply evaluates the counter st at now: *est is its count
 * before the add. Returns 1 when est + add stays within limit, and then
 * st is the state to store (with the add); 0 otherwise, st unusable.
 */
struct rg_kv_win {
	long long window;	/* ms; another window restarts the counter */
	long long bucket;	/* index of the current bucket: time / window */
	long long cur;		/* count in the current bucket */
	long long prev;		/* count in the bucket before */
};

int rg_kv_win_apply(struct rg_kv_win *st, long long now, long long window,
    long long add, long long limit, long long *est);
/* rg_kv_count_sum - a + b, saturated at RG_KV_COUNT_MAX (both >= 0) */
long long rg_kv_count_sum(long long a, long long b);
/* rg_kv_win_expiry - when a counter in bucket `bucket` is all zero (ms) */
long long rg_kv_win_expiry(long long bucket, long long window);

#endif
