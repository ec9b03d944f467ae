/*
 * kv_redis_test.c - the Redis store against a real redis-server: the same
 * semantics as the memory store (kv_suite.h), keys carry the prefix and a
 * TTL, NOSCRIPT recovery, a connection closed by the server, 8 threads
 * with exact counts, AUTH, a unix socket, Redis killed and restarted,
 * Redis slow (DEBUG SLEEP).
 *
 * Environment (tests/integration/t_kv_redis.sh sets it):
 *   RG_TEST_REDIS=127.0.0.1:PORT   the server; unset: skip, "0 passed, 0 failed"
 *   RG_TEST_REDIS_STOP, RG_TEST_REDIS_START   shell commands that kill the
 *                    server and start it again on the same port; unset:
 *                    the kill/restart case is skipped
 *   RG_TEST_REDIS_UNIX=/path        the server's unix socket, if it has one
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "kv.h"
#include "settings.h"
#include "rgtest.h"
#include "kv_suite.h"

#define TEST_DB 7
#define CONNECT_MS 500
#define COMMAND_MS 200
#define SHORT_TIMEOUTS "redis_connect_timeout = 500ms\nredis_command_timeout = 200ms"
/* timing checks allow for a busy machine yet tell the cases apart */
#define FAST_MS 100	/* failing fast: far below either timeout */
#define SLACK_MS 300	/* a timeout: below the 1 s Redis sleeps */

static const char *addr;
static char host[128], prefix[64], tmpconf[] = "/tmp/rgkvredisXXXXXX";
static int port;
static struct rg_conf *confs[16];
static size_t nconfs;
static redisContext *adm;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* admin - a command on our own connection to the test database */
static redisReply *
admin(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	for (int i = 0; i < 2; i++) {
		if (adm == NULL || adm->err) {
			if (adm != NULL)
				redisFree(adm);
			adm = redisConnect(host, port);
			if (adm == NULL || adm->err)
				continue;
			freeReplyObject(redisCommand(adm, "SELECT %d", TEST_DB));
		}
		va_start(ap, fmt);
		r = redisvCommand(adm, fmt, ap);
		va_end(ap);
		if (r != NULL)
			return r;
	}
	return NULL;
}

/* admin_int - an integer reply, or -1000 */
static long long
admin_int(const char *fmt, const char *arg)
{
	redisReply *r = admin(fmt, arg);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1000;

	if (r)
		freeReplyObject(r);
	return v;
}

/* store - a Redis store with the test settings plus extra config lines;
 * the timeouts are generous (semantics, not timing, on a busy machine)
 * unless extra sets them */
static struct rg_kv *
store(const char *extra)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c;
	struct rg_kv *kv;
	FILE *fp = fopen(tmpconf, "w");

	fprintf(fp, "kv_backend = redis\nredis_server = %s\nredis_prefix = %s\n"
	    "redis_database = %d\nredis_connect_timeout = 5s\n"
	    "redis_command_timeout = 5s\nredis_reconnect_delay = 100ms\n"
	    "redis_reconnect_max_delay = 400ms\n%s\n", addr, prefix, TEST_DB,
	    extra ? extra : "");
	fclose(fp);
	c = rg_conf_load(tmpconf, &err, NULL);
	if (c == NULL) {
		printf("FAIL config: %s\n", rg_buf_cstr(&err));
		exit(1);
	}
	confs[nconfs++] = c;
	kv = rg_kv_create(&c->kv, &err);
	if (kv == NULL) {
		printf("FAIL create: %s\n", rg_buf_cstr(&err));
		exit(1);
	}
	rg_buf_release(&err);
	return kv;
}

static void
test_suite(void)
{
	struct kvs_fixture f;
	struct rg_kv *kv = store(NULL);

	RGT_CASE("backend name");
	RGT_STREQ(rg_kv_backend_name(kv), "redis");
	kvs_fixture_init(&f, "redis", kv, 1);
	kvs_all(&f);
	rg_kv_free(kv);
}

/* key_ttl - PTTL of prefix + key */
static long long
key_ttl(const char *key)
{
	char full[256];

	snprintf(full, sizeof(full), "%s%s", prefix, key);
	return admin_int("PTTL %s", full);
}

static void
test_prefix_ttl(void)
{
	struct kvs_fixture f;
	struct rg_kv *kv = store(NULL);
	struct rg_kv_res res;
	redisReply *r;
	long long t;

	kvs_fixture_init(&f, "redis", kv, 1);
	RGT_CASE("a window key: prefixed, a hash, expires after two windows");
	RGT_INTEQ(rg_kv_count_add(kv, "pt:w", 1, 60000, NULL, NULL), RG_KV_OK);
	RGT_INTEQ(admin_int("EXISTS %s", "pt:w"), 0);
	t = key_ttl("pt:w");
	RGT_CHECK(t > 110000 && t <= 120000, "PTTL %lld, want about 120000", t);
	r = admin("TYPE %s%s", prefix, "pt:w");
	RGT_CHECK(r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "hash") == 0,
	    "TYPE %s", r && r->str ? r->str : "?");
	if (r)
		freeReplyObject(r);
	RGT_CASE("values and counters: the TTL asked for");
	rg_kv_set(kv, "pt:s", "x", 1, 5000, NULL);
	t = key_ttl("pt:s");
	RGT_CHECK(t > 4000 && t <= 5000, "PTTL %lld", t);
	rg_kv_set(kv, "pt:p", "x", 1, 0, NULL);
	RGT_INTEQ(key_ttl("pt:p"), -1);
	rg_kv_incr(kv, "pt:i", 1, 10, 30000, &res, NULL);
	t = key_ttl("pt:i");
	RGT_CHECK(t > 29000 && t <= 30000, "PTTL %lld", t);
	RGT_CASE("every key in the database carries the prefix");
	r = admin("KEYS *");
	RGT_CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements > 10,
	    "KEYS: %zu", r ? r->elements : 0);
	for (size_t i = 0; r && i < r->elements; i++)
		RGT_CHECK(strncmp(r->element[i]->str, prefix, strlen(prefix)) == 0,
		    "key %s", r->element[i]->str);
	if (r)
		freeReplyObject(r);
	RGT_CASE("nothing went to database 0");
	r = admin("SELECT 0");
	if (r)
		freeReplyObject(r);
	r = admin("KEYS %s*", prefix);
	RGT_CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 0,
	    "%zu keys in db 0", r ? r->elements : 0);
	if (r)
		freeReplyObject(r);
	redisFree(adm);
	adm = NULL;
	rg_kv_free(kv);
}

static void
test_noscript(void)
{
	struct rg_kv *kv = store(NULL);
	long long n = -1;
	struct rg_buf why = RG_BUF_INIT;

	RGT_CASE("NOSCRIPT: SCRIPT FLUSH between calls");
	for (int i = 1; i <= 3; i++) {
		freeReplyObject(admin("SCRIPT FLUSH"));
		RGT_INTEQ(rg_kv_count_add(kv, "ns:k", 1, 60000, &n, &why), RG_KV_OK);
		RGT_INTEQ(n, i);
	}
	RGT_CASE("NOSCRIPT: incr and a multi-op check too");
	{
		struct rg_kv_op ops[2] = { { "ns:a", 1, 1000, 5 }, { "ns:b", 2, 1000, 5 } };
		struct rg_kv_res res[2];

		freeReplyObject(admin("SCRIPT FLUSH"));
		RGT_INTEQ(rg_kv_incr(kv, "ns:i", 1, 5, 1000, res, &why), RG_KV_OK);
		freeReplyObject(admin("SCRIPT FLUSH"));
		RGT_INTEQ(rg_kv_check(kv, ops, 2, res, &why), RG_KV_OK);
		RGT_INTEQ(res[1].count, 2);
	}
	RGT_CASE("a connection the server closed is replaced, no failure");
	freeReplyObject(admin("CLIENT KILL TYPE normal SKIPME yes"));
	usleep(50 * 1000);
	RGT_INTEQ(rg_kv_count_add(kv, "ns:k", 1, 60000, &n, &why), RG_KV_OK);
	RGT_INTEQ(n, 4);
	rg_buf_release(&why);
	rg_kv_free(kv);
}

/* checks started now and ended later, against what can go wrong */
static void
test_started(void)
{
	struct rg_kv *kv = store(SHORT_TIMEOUTS), *kv2;
	struct rg_kv_op op = { "sd:k", 1, 60000, RG_KV_NOLIMIT };
	static struct rg_kv_pending *many[RG_KV_PENDING_MAX + 1];
	struct rg_kv_pending *p;
	struct rg_kv_res res;
	struct rg_buf why = RG_BUF_INIT;
	long long n = 0;

	RGT_CASE("started: read after its deadline, the answer that came");
	RGT_INTEQ(rg_kv_check_start(kv, &op, 1, &res, &p, &why), RG_KV_OK);
	RGT_CHECK(p != NULL, "not started");
	usleep((COMMAND_MS + 100) * 1000);
	if (p != NULL)
		RGT_INTEQ(rg_kv_check_end(kv, p, &op, 1, &res, &why), RG_KV_OK);
	RGT_INTEQ(res.count, ++n);
	RGT_CASE("started: NOSCRIPT on a pooled connection, done again");
	freeReplyObject(admin("SCRIPT FLUSH"));
	RGT_INTEQ(rg_kv_check_start(kv, &op, 1, &res, &p, &why), RG_KV_OK);
	if (p != NULL)
		RGT_INTEQ(rg_kv_check_end(kv, p, &op, 1, &res, &why), RG_KV_OK);
	RGT_INTEQ(res.count, ++n);
	RGT_CASE("started: a pooled connection the server closed is replaced");
	freeReplyObject(admin("CLIENT KILL TYPE normal SKIPME yes"));
	usleep(50 * 1000);
	RGT_INTEQ(rg_kv_check_start(kv, &op, 1, &res, &p, &why), RG_KV_OK);
	if (p != NULL)
		RGT_INTEQ(rg_kv_check_end(kv, p, &op, 1, &res, &why), RG_KV_OK);
	RGT_INTEQ(res.count, ++n);
	RGT_CASE("started: at most RG_KV_PENDING_MAX, then done at once");
	for (int i = 0; i <= RG_KV_PENDING_MAX; i++) {
		RGT_INTEQ(rg_kv_check_start(kv, &op, 1, &res, &many[i], &why),
		    RG_KV_OK);
		RGT_CHECK((many[i] != NULL) == (i < RG_KV_PENDING_MAX),
		    "check %d: pending %d", i, many[i] != NULL);
	}
	RGT_INTEQ(res.count, n + RG_KV_PENDING_MAX + 1);
	{
		struct rg_kv_stats ks;

		rg_kv_stats(kv, &ks);
		RGT_INTEQ(ks.pool, RG_KV_PENDING_MAX);
		RGT_INTEQ(ks.pool_full, 1);
	}
	for (int i = 0; i < RG_KV_PENDING_MAX; i++)
		if (many[i] != NULL && rg_kv_check_end(kv, many[i], &op, 1,
		    &res, &why) != RG_KV_OK)
			RGT_CHECK(0, "check %d: %s", i, rg_buf_cstr(&why));
	n += RG_KV_PENDING_MAX + 1;
	RGT_INTEQ(rg_kv_count_get(kv, "sd:k", 60000, &res.count, &why), RG_KV_OK);
	RGT_INTEQ(res.count, n);
	RGT_CASE("started: the answer outlives its store (reload, stop)");
	RGT_INTEQ(rg_kv_check_start(kv, &op, 1, &res, &p, &why), RG_KV_OK);
	rg_kv_free(kv);
	kv2 = store(NULL);
	if (p != NULL)
		RGT_INTEQ(rg_kv_check_end(kv2, p, &op, 1, &res, &why), RG_KV_OK);
	RGT_INTEQ(res.count, ++n);
	RGT_INTEQ(rg_kv_check_start(kv2, &op, 1, &res, &p, &why), RG_KV_OK);
	rg_kv_free(kv2);
	if (p != NULL)
		RGT_INTEQ(rg_kv_check_end(NULL, p, &op, 1, &res, &why), RG_KV_OK);
	RGT_INTEQ(res.count, ++n);
	rg_buf_release(&why);
}

#define THREADS 8
#define ROUNDS 2000
#define KEYS 4
#define LIMIT 3000	/* each key gets THREADS * ROUNDS / KEYS = 4000 tries */

struct race {
	struct rg_kv *kv;
	atomic_int next_id;
	atomic_llong allowed[KEYS], pairs, errors;
};

/* rl_started - one check started and ended (on the pool's connections) */
static enum rg_kv_status
rl_started(struct rg_kv *kv, const struct rg_kv_op *op, struct rg_kv_res *res)
{
	struct rg_kv_pending *p;
	enum rg_kv_status st = rg_kv_check_start(kv, op, 1, res, &p, NULL);

	return p != NULL ? rg_kv_check_end(kv, p, op, 1, res, NULL) : st;
}

static void *
race_thread(void *arg)
{
	struct race *r = arg;
	int id = atomic_fetch_add(&r->next_id, 1);
	static const char *const keys[KEYS] = { "th:0", "th:1", "th:2", "th:3" };

	for (int j = 0; j < ROUNDS; j++) {
		struct rg_kv_op op = { keys[(id + j) % KEYS], 1, 3600000, LIMIT };
		struct rg_kv_op pair[2] = { { "th:p0", 1, 3600000, 1000 },
			{ "th:p1", 1, 3600000, 1000 } };
		struct rg_kv_res res[2];

		if ((id + j) % 2) {
			pair[0].key = "th:p1";
			pair[1].key = "th:p0";
		}
		if ((j % 2 ? rl_started(r->kv, &op, res) :
		    rg_kv_check(r->kv, &op, 1, res, NULL)) != RG_KV_OK)
			atomic_fetch_add(&r->errors, 1);
		else if (res[0].allowed)
			atomic_fetch_add(&r->allowed[(id + j) % KEYS], 1);
		if (j % 4 == 0) {
			if (rg_kv_check(r->kv, pair, 2, res, NULL) != RG_KV_OK)
				atomic_fetch_add(&r->errors, 1);
			else if (res[0].allowed && res[1].allowed)
				atomic_fetch_add(&r->pairs, 1);
		}
	}
	return NULL;
}

static void
test_threads(void)
{
	struct race r;
	pthread_t t[THREADS];
	long long n;

	memset(&r, 0, sizeof(r));
	r.kv = store(NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, race_thread, &r);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	RGT_CASE("8 threads: no errors");
	RGT_INTEQ(atomic_load(&r.errors), 0);
	RGT_CASE("8 threads: exactly the limit allowed, exact counts");
	for (int k = 0; k < KEYS; k++) {
		char key[8];

		snprintf(key, sizeof(key), "th:%d", k);
		RGT_INTEQ(atomic_load(&r.allowed[k]), LIMIT);
		RGT_INTEQ(rg_kv_count_get(r.kv, key, 3600000, &n, NULL), RG_KV_OK);
		RGT_INTEQ(n, LIMIT);
	}
	RGT_CASE("8 threads: pairs all or nothing");
	RGT_INTEQ(atomic_load(&r.pairs), 1000);
	RGT_INTEQ(rg_kv_count_get(r.kv, "th:p0", 3600000, &n, NULL), RG_KV_OK);
	RGT_INTEQ(n, 1000);
	RGT_INTEQ(rg_kv_count_get(r.kv, "th:p1", 3600000, &n, NULL), RG_KV_OK);
	RGT_INTEQ(n, 1000);
	rg_kv_free(r.kv);
}

static void
test_auth(void)
{
	char pwfile[] = "/tmp/rgkvpwXXXXXX", line[128];
	struct rg_kv *kv;
	struct rg_buf why = RG_BUF_INIT;
	int fd = mkstemp(pwfile);

	(void)!write(fd, "t3st-pw\n", 8);
	close(fd);
	freeReplyObject(admin("CONFIG SET requirepass t3st-pw"));
	RGT_CASE("AUTH: no password, refused");
	kv = store(NULL);
	RGT_INTEQ(rg_kv_count_add(kv, "au:k", 1, 1000, NULL, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "NOAUTH");
	rg_kv_free(kv);
	RGT_CASE("AUTH: a wrong password, refused, not shown");
	kv = store("redis_password = wrong-pw");
	rg_buf_reset(&why);
	RGT_INTEQ(rg_kv_count_add(kv, "au:k", 1, 1000, NULL, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "AUTH");
	RGT_CHECK(strstr(rg_buf_cstr(&why), "wrong-pw") == NULL, "password in why");
	rg_kv_free(kv);
	RGT_CASE("AUTH: the password from redis_password_file");
	snprintf(line, sizeof(line), "redis_password_file = %s", pwfile);
	kv = store(line);
	RGT_INTEQ(rg_kv_count_add(kv, "au:k", 1, 1000, NULL, &why), RG_KV_OK);
	rg_kv_free(kv);
	freeReplyObject(admin("CONFIG SET requirepass %s", ""));
	unlink(pwfile);
	rg_buf_release(&why);
}

static void
test_unix(void)
{
	const char *path = getenv("RG_TEST_REDIS_UNIX");
	char line[256];
	struct rg_kv *kv;
	struct rg_buf val = RG_BUF_INIT, why = RG_BUF_INIT;

	if (path == NULL || *path == '\0')
		return;
	RGT_CASE("unix socket");
	snprintf(line, sizeof(line), "redis_server = unix:%s", path);
	kv = store(line);
	RGT_INTEQ(rg_kv_set(kv, "ux:k", "v", 1, 1000, &why), RG_KV_OK);
	RGT_INTEQ(rg_kv_get(kv, "ux:k", &val, &why), RG_KV_OK);
	RGT_STREQ(rg_buf_cstr(&val), "v");
	RGT_INTEQ(rg_kv_count_add(kv, "ux:w", 1, 1000, NULL, &why), RG_KV_OK);
	if (why.len)
		printf("why: %s\n", rg_buf_cstr(&why));
	rg_kv_free(kv);
	rg_buf_release(&val);
	rg_buf_release(&why);
}

/* timed - one count_add: its status, the time it took in *ms */
static enum rg_kv_status
timed(struct rg_kv *kv, long long *ms, struct rg_buf *why)
{
	long long t0 = now_ms();
	enum rg_kv_status st;

	rg_buf_reset(why);
	st = rg_kv_count_add(kv, "down:k", 1, 60000, NULL, why);
	*ms = now_ms() - t0;
	return st;
}

/* until_ok - retry count_add every 20 ms up to limit ms; the time taken */
static long long
until_ok(struct rg_kv *kv, long long limit)
{
	long long t0 = now_ms();

	while (rg_kv_count_add(kv, "down:k", 1, 60000, NULL, NULL) != RG_KV_OK) {
		if (now_ms() - t0 > limit)
			return -1;
		usleep(20 * 1000);
	}
	return now_ms() - t0;
}

static int
redis_up(void)
{
	redisReply *r;

	if (adm != NULL) {
		redisFree(adm);
		adm = NULL;
	}
	r = admin("PING");
	if (r == NULL)
		return 0;
	freeReplyObject(r);
	return 1;
}

static void
test_kill_restart(void)
{
	const char *stop = getenv("RG_TEST_REDIS_STOP");
	const char *start = getenv("RG_TEST_REDIS_START");
	struct rg_buf why = RG_BUF_INIT;
	struct rg_kv_stats st;
	struct rg_kv *kv;
	long long ms;
	int i;

	if (stop == NULL || start == NULL) {
		fprintf(stderr, "kill/restart skipped: RG_TEST_REDIS_STOP/START unset\n");
		return;
	}
	kv = store(SHORT_TIMEOUTS);
	RGT_CASE("killed: connected before");
	RGT_INTEQ(timed(kv, &ms, &why), RG_KV_OK);
	RGT_CHECK(system(stop) == 0, "%s failed", stop);
	for (i = 0; i < 100 && redis_up(); i++)
		usleep(20 * 1000);
	RGT_CASE("killed: TEMPFAIL within the timeouts");
	RGT_INTEQ(timed(kv, &ms, &why), RG_KV_TEMPFAIL);
	RGT_CHECK(ms < CONNECT_MS + COMMAND_MS, "took %lld ms", ms);
	fprintf(stderr, "killed: first call failed in %lld ms: %s\n", ms,
	    rg_buf_cstr(&why));
	RGT_CASE("killed: then fail fast");
	RGT_INTEQ(timed(kv, &ms, &why), RG_KV_TEMPFAIL);
	RGT_CHECK(ms < FAST_MS, "took %lld ms", ms);
	RGT_CONTAINS(rg_buf_cstr(&why), "next attempt in");
	RGT_CASE("killed: the failure mode is the caller's, counted");
	RGT_INTEQ(rg_kv_failure(kv, &confs[nconfs - 1]->kv, "NOQUEUE-7",
	    "test", rg_buf_cstr(&why)), RG_KV_FAIL_OPEN);
	RGT_CASE("restarted on the same port: back within the back-off");
	RGT_CHECK(system(start) == 0, "%s failed", start);
	for (i = 0; i < 250 && !redis_up(); i++)
		usleep(20 * 1000);
	RGT_CHECK(i < 250, "redis did not come back");
	ms = until_ok(kv, 3000);
	RGT_CHECK(ms >= 0 && ms <= 400 + SLACK_MS, "back after %lld ms, want "
	    "within the 400 ms back-off", ms);
	fprintf(stderr, "restarted: calls succeed again after %lld ms\n", ms);
	rg_kv_stats(kv, &st);
	RGT_CHECK(st.reconnects >= 1, "reconnects %llu", st.reconnects);
	RGT_INTEQ(st.failmode, 1);
	rg_kv_free(kv);
	rg_buf_release(&why);
}

/* slow_thread - make Redis busy for a second from another connection */
static void *
slow_thread(void *arg)
{
	redisContext *c = redisConnect(host, port);
	redisReply *r = redisCommand(c, "DEBUG SLEEP 1");

	if (r != NULL && r->type == REDIS_REPLY_ERROR) {
		/* DEBUG is off unless enable-debug-command allows it: a busy
		 * script blocks every other client the same way */
		freeReplyObject(r);
		r = redisCommand(c, "EVAL %s 0", "local t = redis.call('TIME') "
		    "local s = t[1] * 1000000 + t[2] repeat local n = redis.call('TIME') "
		    "until n[1] * 1000000 + n[2] - s > 1000000 return 1");
		*(int *)arg = 1;
	}
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return NULL;
}

/* wait_busy - until a PING goes unanswered for 50 ms: Redis is asleep */
static int
wait_busy(void)
{
	struct timeval tv = { 0, 50000 };
	long long t0 = now_ms();
	redisContext *c = redisConnect(host, port);
	redisReply *r;
	int busy = 0;

	if (c == NULL || c->err)
		return 0;
	redisSetTimeout(c, tv);
	while (!busy && now_ms() - t0 < 2000) {
		if ((r = redisCommand(c, "PING")) == NULL)
			busy = 1;
		else
			freeReplyObject(r);
	}
	redisFree(c);
	return busy;
}

static void
test_slow(void)
{
	struct rg_buf why = RG_BUF_INIT;
	struct rg_kv_stats st;
	struct rg_kv *kv = store(SHORT_TIMEOUTS);
	long long ms;
	pthread_t t;
	int used_eval = 0;

	RGT_CASE("slow: connected before");
	RGT_INTEQ(timed(kv, &ms, &why), RG_KV_OK);
	pthread_create(&t, NULL, slow_thread, &used_eval);
	RGT_CHECK(wait_busy(), "Redis did not become busy");
	RGT_CASE("slow: TEMPFAIL after redis_command_timeout, not after 1 s");
	RGT_INTEQ(timed(kv, &ms, &why), RG_KV_TEMPFAIL);
	RGT_CHECK(ms >= COMMAND_MS - 10 && ms < COMMAND_MS + SLACK_MS,
	    "took %lld ms, want about %d", ms, COMMAND_MS);
	RGT_CONTAINS(rg_buf_cstr(&why), "no reply within 200 ms");
	fprintf(stderr, "slow: failed in %lld ms: %s\n", ms, rg_buf_cstr(&why));
	RGT_CASE("slow: then fail fast");
	RGT_INTEQ(timed(kv, &ms, &why), RG_KV_TEMPFAIL);
	RGT_CHECK(ms < FAST_MS, "took %lld ms", ms);
	RGT_CASE("slow: a started check fails fast too");
	{
		struct rg_kv_op op = { "sl:s", 1, 60000, RG_KV_NOLIMIT };
		struct rg_kv_pending *p;
		struct rg_kv_res res;

		RGT_INTEQ(rg_kv_check_start(kv, &op, 1, &res, &p, &why),
		    RG_KV_TEMPFAIL);
		RGT_CHECK(p == NULL, "pending while backing off");
	}
	pthread_join(t, NULL);
	fprintf(stderr, "slow: made busy with %s\n", used_eval ? "a busy EVAL" :
	    "DEBUG SLEEP 1");
	RGT_CASE("slow: back once Redis answers");
	ms = until_ok(kv, 2000);
	RGT_CHECK(ms >= 0, "not back after 2 s");
	rg_kv_stats(kv, &st);
	RGT_CHECK(st.timeouts >= 1, "timeouts %llu", st.timeouts);
	RGT_CASE("slow: a started check ends after redis_command_timeout");
	{
		struct rg_kv_op op = { "sl:s", 1, 60000, RG_KV_NOLIMIT };
		struct rg_kv_pending *p;
		struct rg_kv_res res;
		long long t0;

		/* the pool's connection is made while Redis answers */
		RGT_INTEQ(rl_started(kv, &op, &res), RG_KV_OK);
		pthread_create(&t, NULL, slow_thread, &used_eval);
		RGT_CHECK(wait_busy(), "Redis did not become busy again");
		t0 = now_ms();
		rg_buf_reset(&why);
		RGT_INTEQ(rg_kv_check_start(kv, &op, 1, &res, &p, &why),
		    RG_KV_OK);
		RGT_CHECK(p != NULL, "not started");
		if (p != NULL)
			RGT_INTEQ(rg_kv_check_end(kv, p, &op, 1, &res, &why),
			    RG_KV_TEMPFAIL);
		ms = now_ms() - t0;
		RGT_CHECK(ms >= COMMAND_MS - 10 && ms < COMMAND_MS + SLACK_MS,
		    "took %lld ms, want about %d", ms, COMMAND_MS);
		RGT_CONTAINS(rg_buf_cstr(&why), "no reply within 200 ms");
		pthread_join(t, NULL);
		RGT_CASE("slow: back again");
		RGT_CHECK(until_ok(kv, 2000) >= 0, "not back after 2 s");
	}
	rg_kv_free(kv);
	rg_buf_release(&why);
}

static void
parse_addr(void)
{
	const char *colon = strrchr(addr, ':');

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host) ||
	    (port = atoi(colon + 1)) <= 0) {
		printf("FAIL RG_TEST_REDIS=%s: want host:port\n", addr);
		exit(1);
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
}

int
main(void)
{
	int fd;

	if ((addr = getenv("RG_TEST_REDIS")) == NULL || *addr == '\0') {
		fprintf(stderr, "kv_redis_test: RG_TEST_REDIS unset, skipped\n");
		printf("0 passed, 0 failed\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	parse_addr();
	snprintf(prefix, sizeof(prefix), "rgt%ld:", (long)getpid());
	if ((fd = mkstemp(tmpconf)) < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	test_suite();
	test_prefix_ttl();
	test_noscript();
	test_started();
	test_threads();
	test_auth();
	test_kill_restart();
	test_unix();	/* the restarted server has the socket */
	test_slow();
	unlink(tmpconf);
	while (nconfs > 0)
		rg_conf_release(confs[--nconfs]);
	if (adm != NULL)
		redisFree(adm);
	printf("%d passed, %d failed\n", rgt_passed, rgt_failed);
	return rgt_failed != 0;
}
