/*
 * kv_suite.h - the semantics every counter store must have, as tables of
 * steps run against a store; included by kv_mem_test.c and
 * kv_redis_test.c so both backends answer the same cases the same way.
 *
 * The store runs on the fixture's clock (rg_kv_set_clock). Window cases
 * only move that clock. Expiry cases also sleep when the backend keeps
 * time itself (Redis expires keys on its own clock): kvs_wait().
 */
#ifndef KV_SUITE_H
#define KV_SUITE_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "kv.h"
#include "rgtest.h"

/* a start aligned to every window the cases use (1 h) */
#define KVS_T0 1699999200000LL

struct kvs_fixture {
	const char *name;	/* backend, for messages */
	struct rg_kv *kv;
	atomic_llong now;	/* the store's clock, ms */
	int real_time;		/* expiry follows the wall clock too */
};

static long long
kvs_clock(void *arg)
{
	return atomic_load(&((struct kvs_fixture *)arg)->now);
}

static void
kvs_fixture_init(struct kvs_fixture *f, const char *name, struct rg_kv *kv,
    int real_time)
{
	f->name = name;
	f->kv = kv;
	atomic_init(&f->now, KVS_T0);
	f->real_time = real_time;
	rg_kv_set_clock(kv, kvs_clock, f);
}

static void
kvs_at(struct kvs_fixture *f, long long offset)
{
	atomic_store(&f->now, KVS_T0 + offset);
}

/* kvs_wait - let ms pass for expiry: the clock, and the wall clock too */
static void
kvs_wait(struct kvs_fixture *f, long long ms)
{
	atomic_fetch_add(&f->now, ms);
	if (f->real_time)
		usleep((useconds_t)ms * 1000);
}

/* one step of a window case: at T0 + t, check one op */
struct kvs_step {
	const char *name;
	long long t;
	const char *key;
	long long add, window, limit;
	long long count;
	int allowed;
};

#define KVS_MAX RG_KV_COUNT_MAX
#define KVS_NL RG_KV_NOLIMIT

static const struct kvs_step kvs_window_steps[] = {
	{ "1 of 3", 0, "w:a", 1, 60000, 3, 1, 1 },
	{ "2 of 3", 0, "w:a", 1, 60000, 3, 2, 1 },
	{ "3 of 3", 0, "w:a", 1, 60000, 3, 3, 1 },
	{ "4th is over", 0, "w:a", 1, 60000, 3, 3, 0 },
	{ "a new bucket still sees all of the last", 60000, "w:a", 1, 60000, 3, 3, 0 },
	{ "half way the last weighs half: ceil(1.5)", 90000, "w:a", 1, 60000, 3, 3, 1 },
	{ "then full again", 90000, "w:a", 1, 60000, 3, 3, 0 },
	{ "next bucket: 1 weighs ceil(0.5)", 150000, "w:a", 1, 60000, 3, 2, 1 },
	{ "two buckets idle: from zero", 300000, "w:a", 1, 60000, 3, 1, 1 },
	{ "a burst at the end of a bucket", 59000, "w:edge", 10, 60000, 10, 10, 1 },
	{ "no second burst just after the edge", 61000, "w:edge", 1, 60000, 10, 10, 0 },
	{ "late in the bucket: ceil(10 * 1092/65536)", 119000, "w:edge", 1, 60000, 10, 2, 1 },
	{ "add 0 without limit reads", 119000, "w:edge", 0, 60000, KVS_NL, 2, 1 },
	{ "limit 0 refuses", 0, "w:zero", 1, 60000, 0, 0, 0 },
	{ "an add above the limit alone", 0, "w:big", 5, 60000, 4, 0, 0 },
	{ "no limit", 0, "w:low", 3, 60000, KVS_NL, 3, 1 },
	{ "add 0 above a lowered limit", 0, "w:low", 0, 60000, 2, 3, 0 },
	{ "the same key, window 60 s", 0, "w:win", 2, 60000, KVS_NL, 2, 1 },
	{ "another window restarts it", 0, "w:win", 1, 10000, KVS_NL, 1, 1 },
	{ "bucket 0", 1000, "w:back", 4, 60000, KVS_NL, 4, 1 },
	{ "bucket 1: ceil(4 * 64443/65536) + 2", 61000, "w:back", 2, 60000, KVS_NL, 6, 1 },
	{ "clock went back: stays in bucket 1, all of bucket 0", 10000, "w:back", 1, 60000, KVS_NL, 7, 1 },
	{ "saturates", 0, "w:sat", KVS_MAX, 60000, KVS_NL, KVS_MAX, 1 },
	{ "stays saturated", 0, "w:sat", KVS_MAX, 60000, KVS_NL, KVS_MAX, 1 },
	{ "1 ms window", 5, "w:ms", 1, 1, 1, 1, 1 },
	{ "1 ms window, next ms: prev weighs all", 6, "w:ms", 1, 1, 1, 1, 0 },
	{ "1 ms window, 2 ms on", 8, "w:ms", 1, 1, 1, 1, 1 },
	{ "longest window", 0, "w:year", 1, RG_KV_WINDOW_MAX, 1, 1, 1 },
	{ "longest window, full", 86400000, "w:year", 1, RG_KV_WINDOW_MAX, 1, 1, 0 },
};

static void
kvs_windows(struct kvs_fixture *f)
{
	for (size_t i = 0; i < sizeof(kvs_window_steps) / sizeof(kvs_window_steps[0]); i++) {
		const struct kvs_step *s = &kvs_window_steps[i];
		struct rg_kv_op op = { s->key, s->add, s->window, s->limit };
		struct rg_kv_res res = { -1, -1 };
		struct rg_buf why = RG_BUF_INIT;
		enum rg_kv_status st;

		RGT_CASE(s->name);
		kvs_at(f, s->t);
		st = rg_kv_check(f->kv, &op, 1, &res, &why);
		RGT_CHECK(st == RG_KV_OK, "%s: %s", f->name, rg_buf_cstr(&why));
		RGT_CHECK(res.count == s->count && res.allowed == s->allowed,
		    "%s: %s: got count %lld allowed %d, want %lld %d", f->name,
		    s->key, res.count, res.allowed, s->count, s->allowed);
		rg_buf_release(&why);
	}
}

/* kvs_count - the count of a window key, as rg_kv_count_get sees it */
static long long
kvs_count(struct kvs_fixture *f, const char *key, long long window)
{
	long long n = -1;
	struct rg_buf why = RG_BUF_INIT;

	RGT_CHECK(rg_kv_count_get(f->kv, key, window, &n, &why) == RG_KV_OK,
	    "%s: count_get %s: %s", f->name, key, rg_buf_cstr(&why));
	rg_buf_release(&why);
	return n;
}

/* all-or-nothing: one op over its limit adds nothing to the others */
static void
kvs_multi(struct kvs_fixture *f)
{
	struct rg_kv_op ops[3] = {
		{ "m:minute", 1, 60000, 10 },
		{ "m:hour", 1, 3600000, 2 },
		{ "m:day", 1, 86400000, RG_KV_NOLIMIT },
	};
	struct rg_kv_res res[3];
	struct rg_buf why = RG_BUF_INIT;

	RGT_CASE("multi: all fit");
	kvs_at(f, 0);
	for (int i = 0; i < 2; i++) {
		RGT_INTEQ(rg_kv_check(f->kv, ops, 3, res, &why), RG_KV_OK);
		RGT_CHECK(res[0].allowed && res[1].allowed && res[2].allowed,
		    "%s: round %d refused", f->name, i);
	}
	RGT_INTEQ(res[0].count, 2);
	RGT_INTEQ(res[1].count, 2);
	RGT_CASE("multi: one over, none added");
	RGT_INTEQ(rg_kv_check(f->kv, ops, 3, res, &why), RG_KV_OK);
	RGT_CHECK(res[0].allowed == 1 && res[1].allowed == 0 && res[2].allowed == 1,
	    "%s: allowed %d %d %d, want 1 0 1", f->name, res[0].allowed,
	    res[1].allowed, res[2].allowed);
	RGT_INTEQ(res[0].count, 2);
	RGT_INTEQ(res[1].count, 2);
	RGT_INTEQ(kvs_count(f, "m:minute", 60000), 2);
	RGT_INTEQ(kvs_count(f, "m:day", 86400000), 2);
	RGT_CASE("multi: a read of a key never written is 0");
	RGT_INTEQ(kvs_count(f, "m:none", 60000), 0);
	RGT_CASE("multi: count_add");
	{
		long long n = -1;

		RGT_INTEQ(rg_kv_count_add(f->kv, "m:add", 5, 60000, &n, &why), RG_KV_OK);
		RGT_INTEQ(n, 5);
		RGT_INTEQ(rg_kv_count_add(f->kv, "m:add", 2, 60000, &n, &why), RG_KV_OK);
		RGT_INTEQ(n, 7);
	}
	rg_buf_release(&why);
}

/* bad requests: refused before any backend work */
static void
kvs_inval(struct kvs_fixture *f)
{
	char longkey[RG_KV_KEY_MAX + 2];
	struct rg_kv_op ops[RG_KV_OPS_MAX + 1];
	struct rg_kv_res res[RG_KV_OPS_MAX + 1];
	struct rg_buf why = RG_BUF_INIT, val = RG_BUF_INIT;

	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	for (size_t i = 0; i <= RG_KV_OPS_MAX; i++) {
		ops[i].key = "i:k";
		ops[i].add = 1;
		ops[i].window_ms = 1000;
		ops[i].limit = 5;
	}
	RGT_CASE("inval: the same key twice");
	RGT_INTEQ(rg_kv_check(f->kv, ops, 2, res, &why), RG_KV_INVAL);
	RGT_CONTAINS(rg_buf_cstr(&why), "twice");
	RGT_CASE("inval: no ops, too many ops");
	RGT_INTEQ(rg_kv_check(f->kv, ops, 0, res, NULL), RG_KV_INVAL);
	RGT_INTEQ(rg_kv_check(f->kv, ops, RG_KV_OPS_MAX + 1, res, NULL), RG_KV_INVAL);
	RGT_CASE("inval: numbers out of range");
	ops[0].window_ms = 0;
	RGT_INTEQ(rg_kv_check(f->kv, ops, 1, res, NULL), RG_KV_INVAL);
	ops[0].window_ms = RG_KV_WINDOW_MAX + 1;
	RGT_INTEQ(rg_kv_check(f->kv, ops, 1, res, NULL), RG_KV_INVAL);
	ops[0].window_ms = 1000;
	ops[0].add = -1;
	RGT_INTEQ(rg_kv_check(f->kv, ops, 1, res, NULL), RG_KV_INVAL);
	ops[0].add = 1;
	ops[0].limit = -2;
	RGT_INTEQ(rg_kv_check(f->kv, ops, 1, res, NULL), RG_KV_INVAL);
	RGT_INTEQ(rg_kv_incr(f->kv, "i:k", 1, RG_KV_NOLIMIT, 0, res, NULL), RG_KV_INVAL);
	RGT_INTEQ(rg_kv_set(f->kv, "i:k", "x", 1, -1, NULL), RG_KV_INVAL);
	RGT_CASE("inval: keys");
	rg_buf_reset(&why);
	RGT_INTEQ(rg_kv_set(f->kv, longkey, "x", 1, 0, &why), RG_KV_INVAL);
	RGT_CONTAINS(rg_buf_cstr(&why), "key length");
	longkey[RG_KV_KEY_MAX] = '\0';
	RGT_INTEQ(rg_kv_set(f->kv, longkey, "x", 1, 1000, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_get(f->kv, longkey, &val, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_set(f->kv, "", "x", 1, 0, NULL), RG_KV_INVAL);
	RGT_INTEQ(rg_kv_set(f->kv, "a\nb", "x", 1, 0, NULL), RG_KV_INVAL);
	RGT_INTEQ(rg_kv_get(f->kv, NULL, &val, NULL), RG_KV_INVAL);
	RGT_CASE("inval: value too long");
	{
		static char big[RG_KV_VALUE_MAX + 1];

		RGT_INTEQ(rg_kv_set(f->kv, "i:big", big, sizeof(big), 0, NULL),
		    RG_KV_INVAL);
		RGT_INTEQ(rg_kv_set(f->kv, "i:big", big, sizeof(big) - 1, 1000, NULL),
		    RG_KV_OK);
		RGT_INTEQ(rg_kv_get(f->kv, "i:big", &val, NULL), RG_KV_OK);
		RGT_INTEQ(val.len, RG_KV_VALUE_MAX);
	}
	rg_buf_release(&why);
	rg_buf_release(&val);
}

static void
kvs_values(struct kvs_fixture *f)
{
	struct rg_buf val = RG_BUF_INIT;

	kvs_at(f, 0);
	RGT_CASE("values: set, get");
	RGT_INTEQ(rg_kv_set(f->kv, "v:a", "one", 3, 0, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_get(f->kv, "v:a", &val, NULL), RG_KV_OK);
	RGT_STREQ(rg_buf_cstr(&val), "one");
	RGT_CASE("values: replace");
	RGT_INTEQ(rg_kv_set(f->kv, "v:a", "two!", 4, 0, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_get(f->kv, "v:a", &val, NULL), RG_KV_OK);
	RGT_STREQ(rg_buf_cstr(&val), "two!");
	RGT_CASE("values: bytes, NUL included");
	RGT_INTEQ(rg_kv_set(f->kv, "v:bin", "a\0b\377", 4, 0, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_get(f->kv, "v:bin", &val, NULL), RG_KV_OK);
	RGT_CHECK(val.len == 4 && memcmp(val.data, "a\0b\377", 4) == 0,
	    "%s: got %zu bytes", f->name, val.len);
	RGT_CASE("values: empty");
	RGT_INTEQ(rg_kv_set(f->kv, "v:empty", NULL, 0, 0, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_get(f->kv, "v:empty", &val, NULL), RG_KV_OK);
	RGT_INTEQ(val.len, 0);
	RGT_CASE("values: delete");
	RGT_INTEQ(rg_kv_del(f->kv, "v:a", NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_del(f->kv, "v:a", NULL), RG_KV_NOTFOUND);
	RGT_INTEQ(rg_kv_get(f->kv, "v:a", &val, NULL), RG_KV_NOTFOUND);
	RGT_INTEQ(rg_kv_get(f->kv, "v:never", &val, NULL), RG_KV_NOTFOUND);
	RGT_CASE("values: expiry");
	/* wide margins: on Redis these are real times on a busy machine */
	RGT_INTEQ(rg_kv_set(f->kv, "v:ttl", "x", 1, 500, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_set(f->kv, "v:keep", "y", 1, 60000, NULL), RG_KV_OK);
	kvs_wait(f, 20);
	RGT_INTEQ(rg_kv_get(f->kv, "v:ttl", &val, NULL), RG_KV_OK);
	kvs_wait(f, 600);
	RGT_INTEQ(rg_kv_get(f->kv, "v:ttl", &val, NULL), RG_KV_NOTFOUND);
	RGT_INTEQ(rg_kv_del(f->kv, "v:ttl", NULL), RG_KV_NOTFOUND);
	RGT_INTEQ(rg_kv_get(f->kv, "v:keep", &val, NULL), RG_KV_OK);
	RGT_CASE("values: a set without expiry makes it permanent");
	RGT_INTEQ(rg_kv_set(f->kv, "v:keep", "z", 1, 0, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_get(f->kv, "v:keep", &val, NULL), RG_KV_OK);
	RGT_STREQ(rg_buf_cstr(&val), "z");
	rg_buf_release(&val);
}

/* kvs_incr1 - one rg_kv_incr; checks the status */
static struct rg_kv_res
kvs_incr1(struct kvs_fixture *f, const char *key, long long d, long long lim,
    long long ttl)
{
	struct rg_kv_res res = { -1, -1 };
	struct rg_buf why = RG_BUF_INIT;

	RGT_CHECK(rg_kv_incr(f->kv, key, d, lim, ttl, &res, &why) == RG_KV_OK,
	    "%s: incr %s %lld: %s", f->name, key, d, rg_buf_cstr(&why));
	rg_buf_release(&why);
	return res;
}

#define KVS_RES(r, c, a) RGT_CHECK((r).count == (c) && (r).allowed == (a), \
	"got count %lld allowed %d, want %lld %d", (r).count, (r).allowed, \
	(long long)(c), (a))

static void
kvs_incr(struct kvs_fixture *f)
{
	struct rg_buf val = RG_BUF_INIT;
	struct rg_kv_res r;

	kvs_at(f, 0);
	RGT_CASE("incr: slots up to the limit");
	for (int i = 1; i <= 3; i++) {
		r = kvs_incr1(f, "i:slots", 1, 3, 60000);
		KVS_RES(r, i, 1);
	}
	r = kvs_incr1(f, "i:slots", 1, 3, 60000);
	KVS_RES(r, 3, 0);
	RGT_CASE("incr: down");
	r = kvs_incr1(f, "i:slots", -1, 3, 60000);
	KVS_RES(r, 2, 1);
	r = kvs_incr1(f, "i:slots", 1, 3, 60000);
	KVS_RES(r, 3, 1);
	RGT_CASE("incr: the value reads as a number");
	RGT_INTEQ(rg_kv_get(f->kv, "i:slots", &val, NULL), RG_KV_OK);
	RGT_STREQ(rg_buf_cstr(&val), "3");
	RGT_CASE("incr: never below 0, removed at 0");
	r = kvs_incr1(f, "i:slots", -5, RG_KV_NOLIMIT, 60000);
	KVS_RES(r, 0, 1);
	RGT_INTEQ(rg_kv_get(f->kv, "i:slots", &val, NULL), RG_KV_NOTFOUND);
	r = kvs_incr1(f, "i:slots", -1, RG_KV_NOLIMIT, 60000);
	KVS_RES(r, 0, 1);
	RGT_INTEQ(rg_kv_get(f->kv, "i:slots", &val, NULL), RG_KV_NOTFOUND);
	RGT_CASE("incr: a decrement ignores the limit");
	r = kvs_incr1(f, "i:over", 5, RG_KV_NOLIMIT, 60000);
	KVS_RES(r, 5, 1);
	r = kvs_incr1(f, "i:over", -1, 2, 60000);
	KVS_RES(r, 4, 1);
	RGT_CASE("incr: saturates");
	r = kvs_incr1(f, "i:sat", RG_KV_COUNT_MAX, RG_KV_NOLIMIT, 60000);
	r = kvs_incr1(f, "i:sat", 10, RG_KV_NOLIMIT, 60000);
	KVS_RES(r, RG_KV_COUNT_MAX, 1);
	RGT_CASE("incr: on a value that is a number");
	RGT_INTEQ(rg_kv_set(f->kv, "i:num", "41", 2, 0, NULL), RG_KV_OK);
	r = kvs_incr1(f, "i:num", 1, RG_KV_NOLIMIT, 60000);
	KVS_RES(r, 42, 1);
	RGT_CASE("incr: a lost close expires");
	r = kvs_incr1(f, "i:lost", 1, 10, 150);
	KVS_RES(r, 1, 1);
	kvs_wait(f, 300);
	RGT_INTEQ(rg_kv_get(f->kv, "i:lost", &val, NULL), RG_KV_NOTFOUND);
	r = kvs_incr1(f, "i:lost", 1, 10, 150);
	KVS_RES(r, 1, 1);
	rg_buf_release(&val);
}

/* values, window counters and counters do not mix */
static void
kvs_kinds(struct kvs_fixture *f)
{
	struct rg_kv_op op = { "k:text", 1, 60000, 10 };
	struct rg_kv_res res;
	struct rg_buf val = RG_BUF_INIT, why = RG_BUF_INIT;

	kvs_at(f, 0);
	RGT_CASE("kinds: check on a value");
	RGT_INTEQ(rg_kv_set(f->kv, "k:text", "abc", 3, 0, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_check(f->kv, &op, 1, &res, &why), RG_KV_INVAL);
	RGT_CONTAINS(rg_buf_cstr(&why), "k:text");
	RGT_CASE("kinds: incr on a value that is not a number");
	RGT_INTEQ(rg_kv_incr(f->kv, "k:text", 1, RG_KV_NOLIMIT, 1000, &res, NULL),
	    RG_KV_INVAL);
	RGT_INTEQ(rg_kv_set(f->kv, "k:huge", "99999999999999", 14, 0, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_incr(f->kv, "k:huge", 1, RG_KV_NOLIMIT, 1000, &res, NULL),
	    RG_KV_INVAL);
	RGT_INTEQ(rg_kv_set(f->kv, "k:sp", " 5", 2, 0, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_incr(f->kv, "k:sp", 1, RG_KV_NOLIMIT, 1000, &res, NULL),
	    RG_KV_INVAL);
	RGT_CASE("kinds: get and incr on a window counter");
	RGT_INTEQ(rg_kv_count_add(f->kv, "k:win", 1, 60000, NULL, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_get(f->kv, "k:win", &val, NULL), RG_KV_INVAL);
	RGT_INTEQ(rg_kv_incr(f->kv, "k:win", 1, RG_KV_NOLIMIT, 1000, &res, NULL),
	    RG_KV_INVAL);
	RGT_CASE("kinds: the failed op in a multi-check names its key");
	{
		struct rg_kv_op ops[2] = { { "k:fine", 1, 60000, 5 },
			{ "k:text", 1, 60000, 5 } };
		struct rg_kv_res r2[2];

		rg_buf_reset(&why);
		RGT_INTEQ(rg_kv_check(f->kv, ops, 2, r2, &why), RG_KV_INVAL);
		RGT_CONTAINS(rg_buf_cstr(&why), "k:text");
		RGT_INTEQ(kvs_count(f, "k:fine", 60000), 0);
	}
	RGT_CASE("kinds: set replaces any kind; del removes any kind");
	RGT_INTEQ(rg_kv_set(f->kv, "k:win", "v", 1, 0, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_get(f->kv, "k:win", &val, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_count_add(f->kv, "k:win2", 1, 60000, NULL, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_del(f->kv, "k:win2", NULL), RG_KV_OK);
	RGT_INTEQ(kvs_count(f, "k:win2", 60000), 0);
	rg_buf_release(&val);
	rg_buf_release(&why);
}

static void
kvs_scan(struct kvs_fixture *f)
{
	static const char *const keys[] = { "s:c", "s:a", "s:b", "s:*x", "s:ax",
		"t:other" };
	struct rg_kv_keys k;

	kvs_at(f, 0);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		RGT_INTEQ(rg_kv_set(f->kv, keys[i], "1", 1, 60000, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_count_add(f->kv, "s:w", 1, 60000, NULL, NULL), RG_KV_OK);
	RGT_CASE("scan: sorted, every kind");
	RGT_INTEQ(rg_kv_scan(f->kv, "s:", 100, &k, NULL), RG_KV_OK);
	RGT_INTEQ(k.n, 6);
	RGT_INTEQ(k.truncated, 0);
	if (k.n == 6) {
		RGT_STREQ(k.key[0], "s:*x");
		RGT_STREQ(k.key[1], "s:a");
		RGT_STREQ(k.key[5], "s:w");
	}
	rg_kv_keys_release(&k);
	RGT_CASE("scan: capped");
	RGT_INTEQ(rg_kv_scan(f->kv, "s:", 2, &k, NULL), RG_KV_OK);
	RGT_INTEQ(k.n, 2);
	RGT_INTEQ(k.truncated, 1);
	rg_kv_keys_release(&k);
	RGT_CASE("scan: glob characters are plain");
	RGT_INTEQ(rg_kv_scan(f->kv, "s:*", 100, &k, NULL), RG_KV_OK);
	RGT_INTEQ(k.n, 1);
	rg_kv_keys_release(&k);
	RGT_INTEQ(rg_kv_scan(f->kv, "s:a", 100, &k, NULL), RG_KV_OK);
	RGT_INTEQ(k.n, 2);
	rg_kv_keys_release(&k);
	RGT_CASE("scan: nothing");
	RGT_INTEQ(rg_kv_scan(f->kv, "nomatch:", 100, &k, NULL), RG_KV_OK);
	RGT_INTEQ(k.n, 0);
	rg_kv_keys_release(&k);
	RGT_CASE("scan: expired keys are not listed");
	RGT_INTEQ(rg_kv_set(f->kv, "x:gone", "1", 1, 100, NULL), RG_KV_OK);
	kvs_wait(f, 200);
	RGT_INTEQ(rg_kv_scan(f->kv, "x:", 100, &k, NULL), RG_KV_OK);
	RGT_INTEQ(k.n, 0);
	rg_kv_keys_release(&k);
	RGT_CASE("scan: bad arguments");
	RGT_INTEQ(rg_kv_scan(f->kv, "s:", 0, &k, NULL), RG_KV_INVAL);
	RGT_INTEQ(rg_kv_scan(f->kv, "s:", RG_KV_SCAN_MAX + 1, &k, NULL), RG_KV_INVAL);
}

struct kvs_end_arg {
	struct rg_kv *kv;
	struct rg_kv_pending *pend;
	const struct rg_kv_op *op;
	struct rg_kv_res res;
	enum rg_kv_status st;
};

static void *
kvs_end_thread(void *arg)
{
	struct kvs_end_arg *a = arg;

	a->st = rg_kv_check_end(a->kv, a->pend, a->op, 1, &a->res, NULL);
	return NULL;
}

/* started checks: the same answers as rg_kv_check, in whatever order and
 * on whatever thread they end; the embedded store answers at once */
static void
kvs_started(struct kvs_fixture *f, int starts)
{
	struct rg_kv_op ops[3] = {
		{ "st:a", 1, 60000, 2 }, { "st:b", 2, 60000, 4 },
		{ "st:c", 1, 60000, RG_KV_NOLIMIT },
	};
	struct rg_kv_pending *pend[3];
	struct rg_kv_res res[3];
	struct rg_buf why = RG_BUF_INIT;
	struct kvs_end_arg ea;
	pthread_t t;

	RGT_CASE("started: pending only where the store starts checks");
	kvs_at(f, 0);
	for (int round = 1; round <= 2; round++) {
		for (int i = 0; i < 3; i++) {
			memset(&res[i], 0xff, sizeof(res[i]));
			RGT_INTEQ(rg_kv_check_start(f->kv, &ops[i], 1, &res[i],
			    &pend[i], &why), RG_KV_OK);
			RGT_CHECK((pend[i] != NULL) == starts, "%s: pending %d",
			    f->name, pend[i] != NULL);
		}
		RGT_CASE("started: ended in reverse order, exact answers");
		for (int i = 2; i >= 0; i--)
			if (pend[i] != NULL)
				RGT_INTEQ(rg_kv_check_end(f->kv, pend[i],
				    &ops[i], 1, &res[i], &why), RG_KV_OK);
		RGT_INTEQ(res[0].count, round);
		RGT_INTEQ(res[0].allowed, 1);
		RGT_INTEQ(res[1].count, round * 2);
		RGT_INTEQ(res[2].count, round);
	}
	RGT_CASE("started: over its limit, nothing added");
	RGT_INTEQ(rg_kv_check_start(f->kv, &ops[1], 1, &res[1], &pend[1], &why),
	    RG_KV_OK);
	if (pend[1] != NULL)
		RGT_INTEQ(rg_kv_check_end(f->kv, pend[1], &ops[1], 1, &res[1],
		    &why), RG_KV_OK);
	RGT_INTEQ(res[1].allowed, 0);
	RGT_INTEQ(res[1].count, 4);
	RGT_INTEQ(kvs_count(f, "st:b", 60000), 4);
	RGT_CASE("started: ended by another thread");
	memset(&ea, 0, sizeof(ea));
	ea.kv = f->kv;
	ea.op = &ops[2];
	RGT_INTEQ(rg_kv_check_start(f->kv, &ops[2], 1, &ea.res, &ea.pend, &why),
	    RG_KV_OK);
	if (ea.pend != NULL) {
		pthread_create(&t, NULL, kvs_end_thread, &ea);
		pthread_join(t, NULL);
		RGT_INTEQ(ea.st, RG_KV_OK);
	}
	RGT_INTEQ(ea.res.count, 3);
	RGT_CASE("started: a bad op is refused at once");
	{
		struct rg_kv_op bad = { "", 1, 60000, 1 };

		RGT_INTEQ(rg_kv_check_start(f->kv, &bad, 1, res, &pend[0], &why),
		    RG_KV_INVAL);
		RGT_CHECK(pend[0] == NULL, "%s: pending for a bad op", f->name);
	}
	rg_buf_release(&why);
}

/* kvs_all - every table above, against one store */
static void
kvs_all(struct kvs_fixture *f)
{
	kvs_windows(f);
	kvs_multi(f);
	kvs_inval(f);
	kvs_values(f);
	kvs_incr(f);
	kvs_kinds(f);
	kvs_scan(f);
	kvs_started(f, strcmp(f->name, "redis") == 0);
}

#endif
