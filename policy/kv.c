/*
 * kv.c - the counter store's front end: argument checks, dispatch to the
 * backend, window arithmetic, the failure mode, monitoring counters
 *
 * Public: everything in kv.h except the parameter table (kv_conf.c).
 * Every request is checked here once, so the backends (kv_mem.c,
 * kv_redis.c) see only keys of 1..RG_KV_KEY_MAX bytes without control
 * characters and numbers within the documented bounds. Thread-safe: the
 * struct rg_kv is read-only after rg_kv_create (but for its atomics) and
 * the backends guard their own state.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv_impl.h"
#include "log.h"
#include "xalloc.h"

/* the remaining part of a bucket is weighed in steps of 1/KV_WIN_SCALE */
#define KV_WIN_SCALE	65536LL

static _Atomic(struct rg_kv *) kv_default;	/* the daemon's store */
static atomic_int kv_holders;			/* calls using it now */

/* rg_kv_mono_ms - CLOCK_MONOTONIC in ms */
long long
rg_kv_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* rg_kv_now - ms since the epoch, or the test clock */
long long
rg_kv_now(const struct rg_kv *kv)
{
	struct timespec ts;

	if (kv->clock != NULL)
		return kv->clock(kv->clock_arg);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* kv_fail - append a reason to why (when there is one) and return st */
static enum rg_kv_status __attribute__((format(printf, 3, 4)))
kv_fail(enum rg_kv_status st, struct rg_buf *why, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL) {
		va_start(ap, fmt);
		rg_buf_vprintf(why, fmt, ap);
		va_end(ap);
	}
	return st;
}

/* kv_done - count the call, and make sure a failure carries a reason */
static enum rg_kv_status
kv_done(struct rg_kv *kv, enum rg_kv_status st, struct rg_buf *why,
    size_t why_len)
{
	atomic_fetch_add(&kv->commands, 1);
	if (st == RG_KV_TEMPFAIL)
		atomic_fetch_add(&kv->errors, 1);
	if (st != RG_KV_OK && st != RG_KV_NOTFOUND && why != NULL &&
	    why->len == why_len)
		rg_buf_puts(why, rg_kv_status_name(st));
	return st;
}

/* kv_key_bad - a key the store refuses: empty, too long, control chars */
static int
kv_key_bad(const char *key, int empty_ok, struct rg_buf *why)
{
	size_t n;

	if (key == NULL) {
		kv_fail(RG_KV_INVAL, why, "no key");
		return 1;
	}
	n = strnlen(key, RG_KV_KEY_MAX + 1);
	if ((n == 0 && !empty_ok) || n > RG_KV_KEY_MAX) {
		kv_fail(RG_KV_INVAL, why, "key length must be 1 to %d bytes",
		    RG_KV_KEY_MAX);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x20 || key[i] == 0x7f) {
			kv_fail(RG_KV_INVAL, why, "key contains a control "
			    "character");
			return 1;
		}
	return 0;
}

/* rg_kv_create - open the configured backend */
struct rg_kv *
rg_kv_create(const struct rg_kv_conf *cf, struct rg_buf *why)
{
	const struct rg_kv_backend *be = cf->backend == RG_KV_BACKEND_REDIS ?
	    &rg_kv_redis_backend : &rg_kv_mem_backend;
	struct rg_kv *kv;
	void *data;

	if ((data = be->open(cf, why)) == NULL)
		return NULL;
	kv = rg_xcalloc(1, sizeof(*kv));
	kv->be = be;
	kv->be_data = data;
	atomic_init(&kv->commands, 0);
	atomic_init(&kv->errors, 0);
	atomic_init(&kv->failmode, 0);
	return kv;
}

/* rg_kv_free - close the backend; returns NULL */
struct rg_kv *
rg_kv_free(struct rg_kv *kv)
{
	if (kv == NULL)
		return NULL;
	kv->be->close(kv->be_data);
	free(kv);
	return NULL;
}

/* rg_kv_set_default - publish the process-wide store */
void
rg_kv_set_default(struct rg_kv *kv)
{
	atomic_store(&kv_default, kv);
}

/* rg_kv_default - the process-wide store, or NULL */
struct rg_kv *
rg_kv_default(void)
{
	return atomic_load(&kv_default);
}

/* rg_kv_hold - count ourselves in first, then look: see rg_kv_quiesce */
struct rg_kv *
rg_kv_hold(void)
{
	struct rg_kv *kv;

	atomic_fetch_add(&kv_holders, 1);
	if ((kv = atomic_load(&kv_default)) == NULL)
		atomic_fetch_sub(&kv_holders, 1);
	return kv;
}

/* rg_kv_unhold - the end of a rg_kv_hold */
void
rg_kv_unhold(struct rg_kv *kv)
{
	if (kv != NULL)
		atomic_fetch_sub(&kv_holders, 1);
}

/*
 * rg_kv_quiesce - wait for the holders of a withdrawn store. A holder
 * that counted itself in after we saw zero loads the default after it
 * was withdrawn (sequentially consistent atomics), so it sees NULL.
 */
int
rg_kv_quiesce(long long timeout_ms)
{
	struct timespec pause = { 0, 10 * 1000000 };

	for (long long waited = 0; atomic_load(&kv_holders) > 0; waited += 10) {
		if (waited >= timeout_ms)
			return -1;
		nanosleep(&pause, NULL);
	}
	return 0;
}

const char *
rg_kv_backend_name(const struct rg_kv *kv)
{
	return kv->be->name;
}

void
rg_kv_set_clock(struct rg_kv *kv, long long (*fn)(void *arg), void *arg)
{
	kv->clock = fn;
	kv->clock_arg = arg;
}

/* kv_op_bad - check one op of rg_kv_check */
static int
kv_op_bad(const struct rg_kv_op *op, struct rg_buf *why)
{
	if (kv_key_bad(op->key, 0, why))
		return 1;
	if (op->add < 0 || op->add > RG_KV_COUNT_MAX ||
	    op->window_ms < 1 || op->window_ms > RG_KV_WINDOW_MAX ||
	    op->limit < RG_KV_NOLIMIT || op->limit > RG_KV_COUNT_MAX) {
		kv_fail(RG_KV_INVAL, why, "%s: add, window or limit out of "
		    "range", op->key);
		return 1;
	}
	return 0;
}

/* kv_check_bad - the arguments of a check, checked */
static int
kv_check_bad(const struct rg_kv_op *ops, size_t nops,
    const struct rg_kv_res *res, struct rg_buf *why)
{
	if (ops == NULL || res == NULL || nops == 0 || nops > RG_KV_OPS_MAX) {
		kv_fail(RG_KV_INVAL, why, "1 to %d ops per check",
		    RG_KV_OPS_MAX);
		return 1;
	}
	for (size_t i = 0; i < nops; i++) {
		if (kv_op_bad(&ops[i], why))
			return 1;
		/* the ops are evaluated before any is added: one key twice
		 * would not see its own first add */
		for (size_t j = 0; j < i; j++)
			if (strcmp(ops[i].key, ops[j].key) == 0) {
				kv_fail(RG_KV_INVAL, why, "%s: key given "
				    "twice", ops[i].key);
				return 1;
			}
	}
	return 0;
}

enum rg_kv_status
rg_kv_check(struct rg_kv *kv, const struct rg_kv_op *ops, size_t nops,
    struct rg_kv_res *res, struct rg_buf *why)
{
	size_t wl = why ? why->len : 0;

	if (kv_check_bad(ops, nops, res, why))
		return kv_done(kv, RG_KV_INVAL, why, wl);
	return kv_done(kv, kv->be->check(kv, ops, nops, res, why), why, wl);
}

/* the call is counted when it ends: at once, or in rg_kv_check_end */
enum rg_kv_status
rg_kv_check_start(struct rg_kv *kv, const struct rg_kv_op *ops, size_t nops,
    struct rg_kv_res *res, struct rg_kv_pending **pend, struct rg_buf *why)
{
	size_t wl = why ? why->len : 0;
	enum rg_kv_status st;

	*pend = NULL;
	if (kv_check_bad(ops, nops, res, why))
		return kv_done(kv, RG_KV_INVAL, why, wl);
	if (kv->be->check_start == NULL)
		return kv_done(kv, kv->be->check(kv, ops, nops, res, why), why,
		    wl);
	st = kv->be->check_start(kv, ops, nops, res, pend, why);
	return *pend != NULL ? st : kv_done(kv, st, why, wl);
}

enum rg_kv_status
rg_kv_check_end(struct rg_kv *kv, struct rg_kv_pending *pend,
    const struct rg_kv_op *ops, size_t nops, struct rg_kv_res *res,
    struct rg_buf *why)
{
	size_t wl = why ? why->len : 0;
	enum rg_kv_status st;

	st = pend->be->check_end(kv, pend, ops, nops, res, why);
	if (kv != NULL)
		return kv_done(kv, st, why, wl);
	if (st != RG_KV_OK && why != NULL && why->len == wl)
		rg_buf_puts(why, rg_kv_status_name(st));
	return st;
}

enum rg_kv_status
rg_kv_count_add(struct rg_kv *kv, const char *key, long long add,
    long long window_ms, long long *count, struct rg_buf *why)
{
	struct rg_kv_op op = { key, add, window_ms, RG_KV_NOLIMIT };
	struct rg_kv_res res = { 0, 0 };
	enum rg_kv_status st;

	st = rg_kv_check(kv, &op, 1, &res, why);
	if (count != NULL)
		*count = res.count;
	return st;
}

enum rg_kv_status
rg_kv_count_get(struct rg_kv *kv, const char *key, long long window_ms,
    long long *count, struct rg_buf *why)
{
	return rg_kv_count_add(kv, key, 0, window_ms, count, why);
}

enum rg_kv_status
rg_kv_set(struct rg_kv *kv, const char *key, const void *value, size_t len,
    long long ttl_ms, struct rg_buf *why)
{
	size_t wl = why ? why->len : 0;

	if (kv_key_bad(key, 0, why))
		return kv_done(kv, RG_KV_INVAL, why, wl);
	if ((value == NULL && len > 0) || len > RG_KV_VALUE_MAX ||
	    ttl_ms < 0 || ttl_ms > RG_KV_TTL_MAX)
		return kv_done(kv, kv_fail(RG_KV_INVAL, why,
		    "%s: value length or expiry out of range", key), why, wl);
	return kv_done(kv, kv->be->set(kv, key, value ? value : "", len, ttl_ms,
	    why), why, wl);
}

enum rg_kv_status
rg_kv_get(struct rg_kv *kv, const char *key, struct rg_buf *val,
    struct rg_buf *why)
{
	size_t wl = why ? why->len : 0;

	if (kv_key_bad(key, 0, why) || val == NULL)
		return kv_done(kv, RG_KV_INVAL, why, wl);
	rg_buf_reset(val);
	return kv_done(kv, kv->be->get(kv, key, val, why), why, wl);
}

enum rg_kv_status
rg_kv_del(struct rg_kv *kv, const char *key, struct rg_buf *why)
{
	size_t wl = why ? why->len : 0;

	if (kv_key_bad(key, 0, why))
		return kv_done(kv, RG_KV_INVAL, why, wl);
	return kv_done(kv, kv->be->del(kv, key, why), why, wl);
}

enum rg_kv_status
rg_kv_incr(struct rg_kv *kv, const char *key, long long delta,
    long long limit, long long ttl_ms, struct rg_kv_res *res,
    struct rg_buf *why)
{
	size_t wl = why ? why->len : 0;
	struct rg_kv_res dummy;

	if (kv_key_bad(key, 0, why))
		return kv_done(kv, RG_KV_INVAL, why, wl);
	if (delta < -RG_KV_COUNT_MAX || delta > RG_KV_COUNT_MAX ||
	    limit < RG_KV_NOLIMIT || limit > RG_KV_COUNT_MAX ||
	    ttl_ms < 1 || ttl_ms > RG_KV_TTL_MAX)
		return kv_done(kv, kv_fail(RG_KV_INVAL, why,
		    "%s: delta, limit or expiry out of range", key), why, wl);
	return kv_done(kv, kv->be->incr(kv, key, delta, limit, ttl_ms,
	    res ? res : &dummy, why), why, wl);
}

/* kv_keys_cmp - qsort: byte order */
static int
kv_keys_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* kv_keys_finish - sort, drop duplicates (Redis SCAN may repeat keys), cap */
static void
kv_keys_finish(struct rg_kv_keys *k, size_t max)
{
	size_t j = 0;

	if (k->n > 1)
		qsort(k->key, k->n, sizeof(k->key[0]), kv_keys_cmp);
	for (size_t i = 0; i < k->n; i++) {
		if (j > 0 && strcmp(k->key[j - 1], k->key[i]) == 0) {
			free(k->key[i]);
			continue;
		}
		k->key[j++] = k->key[i];
	}
	k->n = j;
	while (k->n > max) {
		k->truncated = 1;
		free(k->key[--k->n]);
	}
}

enum rg_kv_status
rg_kv_scan(struct rg_kv *kv, const char *prefix, size_t max,
    struct rg_kv_keys *out, struct rg_buf *why)
{
	size_t wl = why ? why->len : 0;
	enum rg_kv_status st;

	if (out == NULL)
		return kv_done(kv, RG_KV_INVAL, why, wl);
	memset(out, 0, sizeof(*out));
	if (kv_key_bad(prefix, 1, why))
		return kv_done(kv, RG_KV_INVAL, why, wl);
	if (max < 1 || max > RG_KV_SCAN_MAX)
		return kv_done(kv, kv_fail(RG_KV_INVAL, why,
		    "list 1 to %d keys", RG_KV_SCAN_MAX), why, wl);
	st = kv->be->scan(kv, prefix, max, out, why);
	if (st != RG_KV_OK) {
		rg_kv_keys_release(out);
		return kv_done(kv, st, why, wl);
	}
	kv_keys_finish(out, max);
	return kv_done(kv, st, why, wl);
}

void
rg_kv_keys_add(struct rg_kv_keys *k, const char *key, size_t len)
{
	/* capacity is the next power of two, at least 8 */
	if (k->n == 0 || (k->n >= 8 && (k->n & (k->n - 1)) == 0))
		k->key = rg_xreallocarray(k->key, k->n < 8 ? 8 : k->n * 2,
		    sizeof(k->key[0]));
	k->key[k->n++] = rg_xmemdup(key, len);
}

void
rg_kv_keys_release(struct rg_kv_keys *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->n; i++)
		free(k->key[i]);
	free(k->key);
	memset(k, 0, sizeof(*k));
}

void
rg_kv_sweep(struct rg_kv *kv)
{
	if (kv->be->sweep != NULL)
		kv->be->sweep(kv);
}

void
rg_kv_stats(struct rg_kv *kv, struct rg_kv_stats *st)
{
	memset(st, 0, sizeof(*st));
	kv->be->stats(kv, st);
	st->commands = atomic_load(&kv->commands);
	st->errors = atomic_load(&kv->errors);
	st->failmode = atomic_load(&kv->failmode);
}

enum rg_kv_failmode
rg_kv_failure(struct rg_kv *kv, const struct rg_kv_conf *cf, const char *id,
    const char *what, const char *why)
{
	enum rg_kv_failmode mode = cf != NULL &&
	    cf->redis_failure_mode == RG_KV_FAIL_TEMPFAIL ?
	    RG_KV_FAIL_TEMPFAIL : RG_KV_FAIL_OPEN;

	if (kv != NULL)
		atomic_fetch_add(&kv->failmode, 1);
	rg_log_id(RG_LOG_WARN, id ? id : "NOQUEUE",
	    "kv: %s: counter store unavailable (%s); failure mode %s: %s",
	    what ? what : "?", why && *why ? why : "no reason given",
	    mode == RG_KV_FAIL_OPEN ? "open" : "tempfail",
	    mode == RG_KV_FAIL_OPEN ? "limit skipped" :
	    "client asked to retry");
	return mode;
}

const char *
rg_kv_status_name(enum rg_kv_status st)
{
	switch (st) {
	case RG_KV_OK:
		return "ok";
	case RG_KV_NOTFOUND:
		return "not found";
	case RG_KV_TEMPFAIL:
		return "temporary failure";
	case RG_KV_INVAL:
		return "invalid request";
	}
	return "unknown status";
}

int
rg_kv_parse_int(const char *s, size_t len, long long *out)
{
	size_t i = 0;
	long long v = 0;
	int neg = 0;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	/* 2^36 has 11 digits; 12 cannot overflow and are checked below */
	if (len == i || len - i > 12)
		return -1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > RG_KV_COUNT_MAX)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

/*
 * rg_kv_win_apply - the sliding-window estimate: bucket i = now / window;
 * count = cur + ceil(prev * weight / 65536) where weight is the part of
 * bucket i still to come, in 1/65536 steps (so a request at the very
 * start of a bucket still sees all of the bucket before). A clock that
 * went back stays in the stored bucket. Every product stays below 2^53,
 * so the Lua copy in kv_script.c, which computes in doubles, agrees.
 */
int
rg_kv_win_apply(struct rg_kv_win *st, long long now, long long window,
    long long add, long long limit, long long *est)
{
	long long i, el, cur, prev, wt;

	if (now < 0)
		now = 0;
	i = now / window;
	if (st->window != window) {
		st->window = window;
		st->bucket = i;
		st->cur = st->prev = 0;
	}
	if (i < st->bucket) {
		i = st->bucket;
		el = 0;
	} else {
		el = now - i * window;
	}
	cur = i == st->bucket ? st->cur : 0;
	prev = i == st->bucket ? st->prev : i == st->bucket + 1 ? st->cur : 0;
	wt = (window - el) * KV_WIN_SCALE / window;
	*est = cur + (prev * wt + KV_WIN_SCALE - 1) / KV_WIN_SCALE;
	if (limit >= 0 && *est + add > limit)
		return 0;
	st->bucket = i;
	st->cur = rg_kv_count_sum(cur, add);
	st->prev = prev;
	return 1;
}

long long
rg_kv_count_sum(long long a, long long b)
{
	return a + b > RG_KV_COUNT_MAX ? RG_KV_COUNT_MAX : a + b;
}

long long
rg_kv_win_expiry(long long bucket, long long window)
{
	/* bucket + 1 still weighs bucket; at the end of bucket + 1 all is 0 */
	return (bucket + 2) * window;
}
