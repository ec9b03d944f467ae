/*
 * kv_mem_test.c - the embedded counter store: the shared semantics
 * (kv_suite.h), window arithmetic (also against the double arithmetic the
 * Redis script does), expiry and reclamation, the entry cap, the failure
 * mode, and 8 threads on shared keys with exact counts.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "settings.h"
#include "siphash.h"
#include "rgtest.h"
#include "kv_suite.h"

static struct rg_conf *conf;

/* mem_store - a memory store capped at max entries, on fixture f's clock */
static struct rg_kv *
mem_store(struct kvs_fixture *f, long long max)
{
	struct rg_kv_conf kc = conf->kv;
	struct rg_buf why = RG_BUF_INIT;
	struct rg_kv *kv;

	kc.mem_max_entries = max;
	kv = rg_kv_create(&kc, &why);
	RGT_CHECK(kv != NULL, "create: %s", rg_buf_cstr(&why));
	rg_buf_release(&why);
	if (kv == NULL)
		abort();
	kvs_fixture_init(f, "memory", kv, 0);
	return kv;
}

static unsigned long long
mem_entries(struct rg_kv *kv)
{
	struct rg_kv_stats st;

	rg_kv_stats(kv, &st);
	return st.entries;
}

static void
test_setup(void)
{
	struct rg_buf err = RG_BUF_INIT;

	RGT_CASE("defaults load");
	conf = rg_conf_load(NULL, &err, NULL);
	RGT_CHECK(conf != NULL, "%s", rg_buf_cstr(&err));
	if (conf == NULL)
		exit(1);
	RGT_INTEQ(conf->kv.backend, RG_KV_BACKEND_MEMORY);
	RGT_INTEQ(conf->kv.mem_max_entries, 100000);
	rg_buf_release(&err);
}

static void
test_suite(void)
{
	struct kvs_fixture f;
	struct rg_kv *kv = mem_store(&f, 100000);

	RGT_CASE("backend name");
	RGT_STREQ(rg_kv_backend_name(kv), "memory");
	kvs_all(&f);
	rg_kv_free(kv);
}

/* a window case for rg_kv_win_apply on its own */
struct win_case {
	const char *name;
	struct rg_kv_win st;	/* before */
	long long now, window, add, limit;
	int allowed;
	long long est;		/* the count before the add */
	struct rg_kv_win after;	/* when allowed */
};

#define CMAX RG_KV_COUNT_MAX

static const struct win_case win_cases[] = {
	{ "fresh", { 0, 0, 0, 0 }, 120500, 1000, 1, 5, 1, 0, { 1000, 120, 1, 0 } },
	{ "same bucket", { 1000, 120, 3, 0 }, 120999, 1000, 2, 5, 1, 3,
	    { 1000, 120, 5, 0 } },
	{ "same bucket, over", { 1000, 120, 4, 0 }, 120100, 1000, 2, 5, 0, 4, { 0 } },
	{ "next bucket, start: all of prev", { 1000, 120, 4, 0 }, 121000, 1000,
	    1, 5, 1, 4, { 1000, 121, 1, 4 } },
	{ "next bucket, 1/4 in: ceil(4 * 3/4) = 3", { 1000, 120, 4, 0 }, 121250,
	    1000, 2, 5, 1, 3, { 1000, 121, 2, 4 } },
	{ "next bucket, last ms: ceil(4 * 65/65536) = 1", { 1000, 120, 4, 0 },
	    121999, 1000, 4, 5, 1, 1, { 1000, 121, 4, 4 } },
	{ "prev and cur: 2 + ceil(4 / 2)", { 1000, 121, 2, 4 }, 121500, 1000, 1, 10,
	    1, 4, { 1000, 121, 3, 4 } },
	{ "two buckets on: nothing left", { 1000, 120, 4, 7 }, 122000, 1000, 1, 5,
	    1, 0, { 1000, 122, 1, 0 } },
	{ "window changed: restart", { 60000, 2, 50, 50 }, 121000, 1000, 1, 5, 1, 0,
	    { 1000, 121, 1, 0 } },
	{ "clock back: stored bucket, el 0", { 1000, 121, 1, 3 }, 119000, 1000, 1,
	    10, 1, 4, { 1000, 121, 2, 3 } },
	{ "negative clock is 0", { 0, 0, 0, 0 }, -5, 1000, 1, 1, 1, 0,
	    { 1000, 0, 1, 0 } },
	{ "no limit", { 1000, 5, 100, 0 }, 5000, 1000, 7, RG_KV_NOLIMIT, 1, 100,
	    { 1000, 5, 107, 0 } },
	{ "saturates", { 1000, 5, CMAX - 1, 0 }, 5000, 1000, 9, RG_KV_NOLIMIT, 1,
	    CMAX - 1, { 1000, 5, CMAX, 0 } },
	{ "limit 0, add 0 on nothing fits", { 0, 0, 0, 0 }, 0, 1000, 0, 0, 1, 0,
	    { 1000, 0, 0, 0 } },
};

static void
test_win_apply(void)
{
	for (size_t i = 0; i < sizeof(win_cases) / sizeof(win_cases[0]); i++) {
		const struct win_case *c = &win_cases[i];
		struct rg_kv_win st = c->st;
		long long est = -1;
		int ok;

		RGT_CASE(c->name);
		ok = rg_kv_win_apply(&st, c->now, c->window, c->add, c->limit, &est);
		RGT_INTEQ(ok, c->allowed);
		RGT_INTEQ(est, c->est);
		if (ok && c->allowed)
			RGT_CHECK(memcmp(&st, &c->after, sizeof(st)) == 0,
			    "state {%lld %lld %lld %lld}, want {%lld %lld %lld %lld}",
			    st.window, st.bucket, st.cur, st.prev, c->after.window,
			    c->after.bucket, c->after.cur, c->after.prev);
	}
	RGT_CASE("expiry: the end of the bucket after");
	RGT_INTEQ(rg_kv_win_expiry(120, 1000), 122000);
	RGT_CASE("saturating sum");
	RGT_INTEQ(rg_kv_count_sum(CMAX, CMAX), CMAX);
	RGT_INTEQ(rg_kv_count_sum(2, 3), 5);
}

/* dfloor, dceil - math.floor and math.ceil for doubles in 0..2^53 */
static double
dfloor(double x)
{
	return (double)(long long)x;
}

static double
dceil(double x)
{
	double t = (double)(long long)x;

	return t < x ? t + 1 : t;
}

/* lua_est - the estimate as the Redis script computes it, in doubles */
static long long
lua_est(double now, double w, double cur, double prev)
{
	double i = dfloor(now / w), el = now - i * w;
	double wt = dfloor((w - el) * 65536 / w);

	return (long long)(cur + dceil(prev * wt / 65536));
}

/* the integer arithmetic and Lua's doubles agree, to the edges */
static void
test_win_doubles(void)
{
	unsigned int seed = 12345;
	int bad = 0;

	RGT_CASE("C integers and Lua doubles agree");
	for (int n = 0; n < 300000; n++) {
		long long w = 1 + (long long)(((unsigned long long)rand_r(&seed) << 16 ^
		    (unsigned long long)rand_r(&seed)) % (unsigned long long)RG_KV_WINDOW_MAX);
		long long now = KVS_T0 + rand_r(&seed) % 100000000LL;
		long long prev = n % 3 == 0 ? RG_KV_COUNT_MAX - rand_r(&seed) % 5 :
		    rand_r(&seed) % 1000000;
		struct rg_kv_win st = { w, now / w - 1, prev, 0 };
		long long got;

		if (n % 5 == 0)
			w = 1 + rand_r(&seed) % 1000;	/* short windows: many buckets */
		st.window = w;
		st.bucket = now / w - 1;
		rg_kv_win_apply(&st, now, w, 0, RG_KV_NOLIMIT, &got);
		if (got != lua_est((double)now, (double)w, 0, (double)prev) && bad++ < 5)
			RGT_CHECK(0, "w %lld now %lld prev %lld: C %lld, Lua %lld", w,
			    now, prev, got, lua_est((double)now, (double)w, 0,
			    (double)prev));
	}
	RGT_INTEQ(bad, 0);
}

static void
test_siphash(void)
{
	unsigned char key[16], msg[15];

	RGT_CASE("siphash-2-4 reference vector");
	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (unsigned char)i;
	RGT_CHECK(rg_siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL,
	    "got %016llx", (unsigned long long)rg_siphash24(key, msg, 15));
	RGT_CHECK(rg_siphash24(key, "", 0) == 0x726fdb47dd0e0e31ULL,
	    "empty: got %016llx", (unsigned long long)rg_siphash24(key, "", 0));
}

static void
test_expiry(void)
{
	struct kvs_fixture f;
	struct rg_kv *kv = mem_store(&f, 100000);
	struct rg_buf val = RG_BUF_INIT;
	struct rg_kv_stats st;
	char key[32];

	RGT_CASE("expired entries stay until reclaimed");
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "e:%d", i);
		rg_kv_set(kv, key, "x", 1, 1000, NULL);
	}
	rg_kv_count_add(kv, "e:win", 1, 1000, NULL, NULL);
	RGT_INTEQ(mem_entries(kv), 101);
	kvs_wait(&f, 999);
	RGT_INTEQ(rg_kv_get(kv, "e:5", &val, NULL), RG_KV_OK);
	kvs_wait(&f, 1);
	RGT_CASE("a lookup reclaims what it finds expired");
	RGT_INTEQ(rg_kv_get(kv, "e:7", &val, NULL), RG_KV_NOTFOUND);
	RGT_CHECK(mem_entries(kv) < 101, "entries %llu", mem_entries(kv));
	RGT_CASE("the sweep reclaims the rest; a window key lives 2 windows");
	rg_kv_sweep(kv);
	RGT_INTEQ(mem_entries(kv), 1);
	kvs_wait(&f, 1000);
	rg_kv_sweep(kv);
	RGT_INTEQ(mem_entries(kv), 0);
	rg_kv_stats(kv, &st);
	RGT_INTEQ(st.expired, 101);
	RGT_INTEQ(st.evictions, 0);

	RGT_CASE("calls on other keys reclaim expired entries by themselves");
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "g:%d", i);
		rg_kv_set(kv, key, "x", 1, 10, NULL);
	}
	kvs_wait(&f, 20);
	for (int i = 0; i < 64 * 8; i++)
		rg_kv_get(kv, "g:none", &val, NULL);
	RGT_INTEQ(mem_entries(kv), 0);
	rg_buf_release(&val);
	rg_kv_free(kv);
}

static void
test_cap(void)
{
	struct kvs_fixture f;
	struct rg_kv *kv = mem_store(&f, 10);
	struct rg_buf val = RG_BUF_INIT, why = RG_BUF_INIT;
	struct rg_kv_stats st;
	struct rg_kv_res res;
	char key[32];

	RGT_CASE("at the cap the entry closest to expiry goes");
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "c:%d", i);
		RGT_INTEQ(rg_kv_set(kv, key, "x", 1, (i + 1) * 1000LL, NULL), RG_KV_OK);
	}
	RGT_INTEQ(rg_kv_set(kv, "c:new", "x", 1, 100000, NULL), RG_KV_OK);
	RGT_INTEQ(mem_entries(kv), 10);
	RGT_INTEQ(rg_kv_get(kv, "c:0", &val, NULL), RG_KV_NOTFOUND);
	RGT_INTEQ(rg_kv_get(kv, "c:1", &val, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_count_add(kv, "c:win", 1, 60000, NULL, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_get(kv, "c:1", &val, NULL), RG_KV_NOTFOUND);
	RGT_INTEQ(rg_kv_incr(kv, "c:slot", 1, 5, 60000, &res, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_get(kv, "c:2", &val, NULL), RG_KV_NOTFOUND);
	RGT_INTEQ(rg_kv_get(kv, "c:3", &val, NULL), RG_KV_OK);
	rg_kv_stats(kv, &st);
	RGT_INTEQ(st.evictions, 3);
	RGT_INTEQ(mem_entries(kv), 10);
	rg_kv_free(kv);

	RGT_CASE("expired entries go before live ones");
	kv = mem_store(&f, 10);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "%s:%d", i < 5 ? "old" : "live", i);
		rg_kv_set(kv, key, "x", 1, i < 5 ? 100 : 3600000, NULL);
	}
	kvs_wait(&f, 200);
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "n:%d", i);
		RGT_INTEQ(rg_kv_set(kv, key, "x", 1, 1000, NULL), RG_KV_OK);
	}
	for (int i = 5; i < 10; i++) {
		snprintf(key, sizeof(key), "live:%d", i);
		RGT_INTEQ(rg_kv_get(kv, key, &val, NULL), RG_KV_OK);
	}
	rg_kv_stats(kv, &st);
	RGT_INTEQ(st.evictions, 0);
	RGT_INTEQ(st.expired, 5);
	rg_kv_free(kv);

	RGT_CASE("entries without expiry are never evicted: TEMPFAIL");
	kv = mem_store(&f, 10);
	for (int i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "p:%d", i);
		rg_kv_set(kv, key, "x", 1, 0, NULL);
	}
	RGT_INTEQ(rg_kv_set(kv, "p:new", "x", 1, 1000, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "full");
	RGT_INTEQ(rg_kv_count_add(kv, "p:win", 1, 1000, NULL, NULL), RG_KV_TEMPFAIL);
	RGT_INTEQ(rg_kv_incr(kv, "p:slot", 1, 5, 1000, &res, NULL), RG_KV_TEMPFAIL);
	RGT_CASE("full: what exists can still change; reads work");
	RGT_INTEQ(rg_kv_set(kv, "p:3", "y", 1, 0, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_count_get(kv, "p:win", 1000, &res.count, NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_del(kv, "p:4", NULL), RG_KV_OK);
	RGT_INTEQ(rg_kv_set(kv, "p:new", "x", 1, 1000, NULL), RG_KV_OK);
	rg_kv_stats(kv, &st);
	RGT_INTEQ(st.errors, 3);
	RGT_INTEQ(mem_entries(kv), 10);
	rg_kv_free(kv);
	rg_buf_release(&val);
	rg_buf_release(&why);
}

static void
test_failure_mode(void)
{
	struct kvs_fixture f;
	struct rg_kv *kv = mem_store(&f, 100);
	struct rg_kv_conf kc = conf->kv;
	struct rg_kv_stats st;

	RGT_CASE("failure mode open by default, counted");
	RGT_INTEQ(rg_kv_failure(kv, &kc, "NOQUEUE-1", "ratelimit client",
	    "redis down"), RG_KV_FAIL_OPEN);
	kc.redis_failure_mode = RG_KV_FAIL_TEMPFAIL;
	RGT_INTEQ(rg_kv_failure(kv, &kc, "NOQUEUE-1", "ratelimit client", NULL),
	    RG_KV_FAIL_TEMPFAIL);
	rg_kv_stats(kv, &st);
	RGT_INTEQ(st.failmode, 2);
	RGT_CASE("status names; free(NULL)");
	RGT_STREQ(rg_kv_status_name(RG_KV_TEMPFAIL), "temporary failure");
	RGT_CHECK(rg_kv_free(NULL) == NULL, "rg_kv_free(NULL)");
	rg_kv_free(kv);
}

/* --- threads ----------------------------------------------------------- */

#define THREADS 8
#define ROUNDS 10000
#define KEYS 4
#define LIMIT 15000	/* each key gets THREADS * ROUNDS / KEYS = 20000 tries */

struct race {
	struct rg_kv *kv;
	int id;
	atomic_llong allowed[KEYS];
	atomic_llong pair_allowed;
	atomic_llong slot_max, errors;
	atomic_int next_id;
};

static void *
race_thread(void *arg)
{
	struct race *r = arg;
	static const char *const keys[KEYS] = { "r:0", "r:1", "r:2", "r:3" };
	int id = atomic_fetch_add(&r->next_id, 1);

	for (int j = 0; j < ROUNDS; j++) {
		struct rg_kv_op op = { keys[(id + j) % KEYS], 1, 60000, LIMIT };
		/* two keys, in both orders: the shard locks must not deadlock */
		struct rg_kv_op pair[2] = { { "r:p0", 1, 60000, 5000 },
			{ "r:p1", 1, 60000, 5000 } };
		struct rg_kv_res res[2];

		if ((id + j) % 2) {
			pair[0].key = "r:p1";
			pair[1].key = "r:p0";
		}
		if (rg_kv_check(r->kv, &op, 1, res, NULL) != RG_KV_OK)
			atomic_fetch_add(&r->errors, 1);
		else if (res[0].allowed)
			atomic_fetch_add(&r->allowed[(id + j) % KEYS], 1);
		/* every call writes: the most chances to lose an update */
		if (rg_kv_count_add(r->kv, "r:all", 1, 60000, NULL, NULL) != RG_KV_OK)
			atomic_fetch_add(&r->errors, 1);
		if (rg_kv_check(r->kv, pair, 2, res, NULL) != RG_KV_OK)
			atomic_fetch_add(&r->errors, 1);
		else if (res[0].allowed && res[1].allowed)
			atomic_fetch_add(&r->pair_allowed, 1);
		/* a concurrency slot: up, then down */
		if (rg_kv_incr(r->kv, "r:slot", 1, 3, 60000, res, NULL) != RG_KV_OK)
			atomic_fetch_add(&r->errors, 1);
		else if (res[0].allowed) {
			long long seen = res[0].count, m = atomic_load(&r->slot_max);

			while (seen > m && !atomic_compare_exchange_weak(&r->slot_max,
			    &m, seen))
				;
			rg_kv_incr(r->kv, "r:slot", -1, 3, 60000, res, NULL);
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	struct kvs_fixture f;
	struct rg_kv *kv = mem_store(&f, 100000);
	struct race r;
	pthread_t t[THREADS];
	long long total = 0;
	struct rg_buf val = RG_BUF_INIT;

	memset(&r, 0, sizeof(r));
	r.kv = kv;
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, race_thread, &r);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	RGT_CASE("8 threads x 10000: no errors");
	RGT_INTEQ(atomic_load(&r.errors), 0);
	RGT_CASE("8 threads x 10000: exactly the limit allowed, count exact");
	for (int k = 0; k < KEYS; k++) {
		char key[8];

		snprintf(key, sizeof(key), "r:%d", k);
		RGT_INTEQ(atomic_load(&r.allowed[k]), LIMIT);
		RGT_INTEQ(kvs_count(&f, key, 60000), LIMIT);
		total += atomic_load(&r.allowed[k]);
	}
	RGT_INTEQ(total, KEYS * LIMIT);
	RGT_CASE("8 threads x 10000 on one key without limit: no update lost");
	RGT_INTEQ(kvs_count(&f, "r:all", 60000), THREADS * ROUNDS);
	RGT_CASE("8 threads: two keys at once, all or nothing");
	RGT_INTEQ(atomic_load(&r.pair_allowed), 5000);
	RGT_INTEQ(kvs_count(&f, "r:p0", 60000), 5000);
	RGT_INTEQ(kvs_count(&f, "r:p1", 60000), 5000);
	RGT_CASE("8 threads: slots never above the limit, all released");
	RGT_CHECK(atomic_load(&r.slot_max) >= 1 && atomic_load(&r.slot_max) <= 3,
	    "slot max %lld", (long long)atomic_load(&r.slot_max));
	RGT_INTEQ(rg_kv_get(kv, "r:slot", &val, NULL), RG_KV_NOTFOUND);
	rg_buf_release(&val);
	rg_kv_free(kv);
}

/* many threads adding distinct keys never push the store over its cap */
static void *
cap_thread(void *arg)
{
	struct race *r = arg;
	int id = atomic_fetch_add(&r->next_id, 1);
	char key[32];

	for (int j = 0; j < 5000; j++) {
		snprintf(key, sizeof(key), "cap:%d:%d", id, j);
		if (rg_kv_set(r->kv, key, "x", 1, 1000 + j, NULL) != RG_KV_OK)
			atomic_fetch_add(&r->errors, 1);
	}
	return NULL;
}

static void
test_cap_threads(void)
{
	struct kvs_fixture f;
	struct race r;
	pthread_t t[THREADS];
	struct rg_kv_stats st;

	memset(&r, 0, sizeof(r));
	r.kv = mem_store(&f, 1000);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, cap_thread, &r);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	rg_kv_stats(r.kv, &st);
	RGT_CASE("8 threads x 5000 new keys, cap 1000");
	RGT_INTEQ(atomic_load(&r.errors), 0);
	RGT_INTEQ(st.entries, 1000);
	RGT_INTEQ(st.evictions, THREADS * 5000 - 1000);
	rg_kv_free(r.kv);
}

static void
test_teardown(void)
{
	rg_conf_release(conf);
}

RGT_MAIN(test_setup, test_suite, test_win_apply, test_win_doubles, test_siphash,
    test_expiry, test_cap, test_failure_mode, test_threads, test_cap_threads,
    test_teardown)
