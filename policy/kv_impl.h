/*
 * kv_impl.h - between the counter store's front end (kv.c) and its
 * backends (kv_mem.c, kv_redis.c); nothing else includes it.
 *
 * kv.c checks every argument (key syntax, bounds, duplicate keys) before
 * it calls a backend, so a backend sees only valid requests, and fills in
 * a reason when a backend returns a failure without one. Each backend is a
 * const struct rg_kv_backend written with designated initialisers; its
 * state hangs off kv->be_data. Backends are thread-safe.
 */
#ifndef RG_KV_IMPL_H
#define RG_KV_IMPL_H

#include <stdatomic.h>

#include "kv.h"

struct rg_kv_backend {
	const char *name;
	/* open: state for kv->be_data, or NULL with a reason */
	void *(*open)(const struct rg_kv_conf *cf, struct rg_buf *why);
	void (*close)(void *be_data);
	enum rg_kv_status (*check)(struct rg_kv *kv, const struct rg_kv_op *ops,
	    size_t nops, struct rg_kv_res *res, struct rg_buf *why);
	/* check_start, check_end: rg_kv_check in two halves; both NULL
	 * when check answers at once. check_end gets the store held now,
	 * which may be NULL or another one than the check started on */
	enum rg_kv_status (*check_start)(struct rg_kv *kv,
	    const struct rg_kv_op *ops, size_t nops, struct rg_kv_res *res,
	    struct rg_kv_pending **pend, struct rg_buf *why);
	enum rg_kv_status (*check_end)(struct rg_kv *kv,
	    struct rg_kv_pending *pend, const struct rg_kv_op *ops,
	    size_t nops, struct rg_kv_res *res, struct rg_buf *why);
	enum rg_kv_status (*set)(struct rg_kv *kv, const char *key,
	    const void *value, size_t len, long long ttl_ms,
	    struct rg_buf *why);
	enum rg_kv_status (*get)(struct rg_kv *kv, const char *key,
	    struct rg_buf *val, struct rg_buf *why);
	enum rg_kv_status (*del)(struct rg_kv *kv, const char *key,
	    struct rg_buf *why);
	enum rg_kv_status (*incr)(struct rg_kv *kv, const char *key,
	    long long delta, long long limit, long long ttl_ms,
	    struct rg_kv_res *res, struct rg_buf *why);
	/* scan: unsorted keys, at most max + 1 so truncation shows */
	enum rg_kv_status (*scan)(struct rg_kv *kv, const char *prefix,
	    size_t max, struct rg_kv_keys *out, struct rg_buf *why);
	/* sweep: reclaim expired entries; may be NULL */
	void (*sweep)(struct rg_kv *kv);
	/* stats: fill what the backend counts */
	void (*stats)(struct rg_kv *kv, struct rg_kv_stats *st);
};

struct rg_kv {
	const struct rg_kv_backend *be;
	void *be_data;
	long long (*clock)(void *arg);	/* NULL: the system clock */
	void *clock_arg;
	atomic_ullong commands;		/* calls */
	atomic_ullong errors;		/* calls that ended in TEMPFAIL */
	atomic_ullong failmode;		/* rg_kv_failure calls */
};

/* a started check; each backend that starts checks extends it */
struct rg_kv_pending {
	const struct rg_kv_backend *be;
};

extern const struct rg_kv_backend rg_kv_mem_backend;
extern const struct rg_kv_backend rg_kv_redis_backend;

/* the Lua script of the Redis backend (kv_script.c) */
extern const char rg_kv_script[];

/* rg_kv_now - ms since the epoch, from the test clock when one is set */
long long rg_kv_now(const struct rg_kv *kv);
/* rg_kv_mono_ms - CLOCK_MONOTONIC in ms, for deadlines and back-off */
long long rg_kv_mono_ms(void);
/* rg_kv_parse_int - strict "-?[0-9]+" within +-RG_KV_COUNT_MAX; 0 or -1 */
int rg_kv_parse_int(const char *s, size_t len, long long *out);
/* rg_kv_keys_add - append a copy of key (len bytes) to k */
void rg_kv_keys_add(struct rg_kv_keys *k, const char *key, size_t len);

#endif
