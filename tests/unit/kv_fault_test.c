/*
 * kv_fault_test.c - the Redis store when Redis misbehaves, without a real
 * Redis: nobody listening, a listener that never answers, a fake server
 * that sends garbage, oversized or unexpected replies, and NOSCRIPT, and
 * a listener that never completes the connection. Every
 * call must end in RG_KV_TEMPFAIL (or the right answer) within its
 * timeout, never crash or hang. Also the back-off logic on a fake clock.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kv.h"
#include "kv_backoff.h"
#include "settings.h"
#include "rgtest.h"

static struct rg_conf *conf;

/* timing checks allow for a busy machine yet tell the cases apart */
#define FAST_MS 100	/* failing fast: far below the 300 ms timeouts */
#define SLACK_MS 250

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_backoff(void)
{
	struct rg_kv_backoff b;
	long long wait;

	rg_kv_backoff_init(&b, 1000, 4000, 500);
	RGT_CASE("backoff: up, callers go ahead");
	RGT_INTEQ(rg_kv_backoff_may_try(&b, 0, &wait), 1);
	RGT_CASE("backoff: a failure starts the minimum wait");
	RGT_INTEQ(rg_kv_backoff_failed(&b, 100), 1000);
	RGT_INTEQ(rg_kv_backoff_may_try(&b, 500, &wait), 0);
	RGT_INTEQ(wait, 600);
	RGT_CASE("backoff: failures during the wait do not lengthen it");
	RGT_INTEQ(rg_kv_backoff_failed(&b, 600), 0);
	RGT_CASE("backoff: one probe at a time");
	RGT_INTEQ(rg_kv_backoff_may_try(&b, 1100, &wait), 1);
	RGT_INTEQ(rg_kv_backoff_may_try(&b, 1200, &wait), 0);
	RGT_INTEQ(wait, 400);
	RGT_CASE("backoff: a failed probe doubles the wait");
	RGT_INTEQ(rg_kv_backoff_failed(&b, 1300), 2000);
	RGT_INTEQ(rg_kv_backoff_failed(&b, 1350), 0);
	RGT_INTEQ(rg_kv_backoff_may_try(&b, 3299, &wait), 0);
	RGT_INTEQ(rg_kv_backoff_may_try(&b, 3300, &wait), 1);
	RGT_INTEQ(rg_kv_backoff_failed(&b, 3400), 4000);
	RGT_CASE("backoff: up to the maximum");
	RGT_INTEQ(rg_kv_backoff_may_try(&b, 7400, &wait), 1);
	RGT_INTEQ(rg_kv_backoff_failed(&b, 7500), 4000);
	RGT_CASE("backoff: a probe that never reports frees the slot");
	RGT_INTEQ(rg_kv_backoff_may_try(&b, 11500, &wait), 1);
	RGT_INTEQ(rg_kv_backoff_may_try(&b, 11999, &wait), 0);
	RGT_INTEQ(rg_kv_backoff_may_try(&b, 12000, &wait), 1);
	RGT_CASE("backoff: success ends it, once");
	RGT_INTEQ(rg_kv_backoff_ok(&b), 1);
	RGT_INTEQ(rg_kv_backoff_ok(&b), 0);
	RGT_INTEQ(rg_kv_backoff_may_try(&b, 12001, &wait), 1);
	RGT_INTEQ(rg_kv_backoff_failed(&b, 13000), 1000);
	rg_kv_backoff_destroy(&b);
}

/* listen_any - a listening socket on 127.0.0.1, its port in *port */
static int
listen_any(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		perror("listen");
		exit(1);
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

/* redis_store - a Redis store for 127.0.0.1:port, short timeouts */
static struct rg_kv *
redis_store(int port, long long delay)
{
	struct rg_kv_conf kc = conf->kv;
	char host[] = "127.0.0.1";
	struct rg_kv *kv;

	kc.backend = RG_KV_BACKEND_REDIS;
	kc.redis_server.host = host;
	kc.redis_server.port = port;
	kc.redis_connect_timeout = 300;
	kc.redis_command_timeout = 200;
	kc.redis_reconnect_delay = delay;
	kc.redis_reconnect_max_delay = delay * 4;
	kv = rg_kv_create(&kc, NULL);
	if (kv == NULL)
		abort();
	return kv;
}

/* timed_add - one count_add; its status, the time it took in *ms */
static enum rg_kv_status
timed_add(struct rg_kv *kv, long long *ms, struct rg_buf *why)
{
	long long t0 = now_ms();
	enum rg_kv_status st;

	rg_buf_reset(why);
	st = rg_kv_count_add(kv, "f:k", 1, 60000, NULL, why);
	*ms = now_ms() - t0;
	return st;
}

static void
test_refused(void)
{
	struct rg_buf why = RG_BUF_INIT;
	struct rg_kv_stats st;
	long long ms;
	int port, fd = listen_any(&port);
	struct rg_kv *kv;

	close(fd);	/* nobody listens there now */
	kv = redis_store(port, 300);
	RGT_CASE("refused: TEMPFAIL at once");
	RGT_INTEQ(timed_add(kv, &ms, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "connect");
	RGT_CHECK(ms < FAST_MS, "took %lld ms", ms);
	RGT_CASE("refused: then fail fast without trying");
	RGT_INTEQ(timed_add(kv, &ms, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "next attempt in");
	RGT_CHECK(ms < FAST_MS, "took %lld ms", ms);
	RGT_CASE("refused: every operation, the same");
	RGT_INTEQ(rg_kv_set(kv, "f:s", "x", 1, 0, NULL), RG_KV_TEMPFAIL);
	RGT_INTEQ(rg_kv_get(kv, "f:s", &why, NULL), RG_KV_TEMPFAIL);
	RGT_INTEQ(rg_kv_del(kv, "f:s", NULL), RG_KV_TEMPFAIL);
	RGT_INTEQ(rg_kv_incr(kv, "f:s", 1, 3, 1000, NULL, NULL), RG_KV_TEMPFAIL);
	{
		struct rg_kv_keys k;

		RGT_INTEQ(rg_kv_scan(kv, "", 10, &k, NULL), RG_KV_TEMPFAIL);
		RGT_INTEQ(k.n, 0);
	}
	RGT_CASE("refused: after the delay, one more attempt");
	usleep(350 * 1000);
	RGT_INTEQ(timed_add(kv, &ms, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "connect");
	rg_kv_stats(kv, &st);
	RGT_INTEQ(st.reconnects, 1);
	RGT_INTEQ(st.errors, 8);
	rg_kv_free(kv);
	rg_buf_release(&why);
}

static void
test_silent(void)
{
	struct rg_buf why = RG_BUF_INIT;
	struct rg_kv_stats st;
	long long ms;
	int port, fd = listen_any(&port);
	struct rg_kv *kv = redis_store(port, 1000);

	/* the kernel accepts the connection; nobody ever answers */
	RGT_CASE("silent server: TEMPFAIL after redis_connect_timeout");
	RGT_INTEQ(timed_add(kv, &ms, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "no reply within");
	RGT_CHECK(ms >= 280 && ms < 300 + SLACK_MS, "took %lld ms, want about 300",
	    ms);
	rg_kv_stats(kv, &st);
	RGT_INTEQ(st.timeouts, 1);
	RGT_CASE("silent server: then fail fast");
	RGT_INTEQ(timed_add(kv, &ms, &why), RG_KV_TEMPFAIL);
	RGT_CHECK(ms < FAST_MS, "took %lld ms", ms);
	rg_kv_free(kv);
	close(fd);
	rg_buf_release(&why);
}

static void
test_full_backlog(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct rg_buf why = RG_BUF_INIT;
	struct rg_kv *kv;
	int port, fd, filler[4];
	long long ms;

	/* a listener whose accept queue is full drops new SYNs: connect()
	 * hangs as with a dead host, and hiredis must give up in time */
	fd = listen_any(&port);
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 0) < 0)
		abort();
	for (int i = 0; i < 4; i++) {
		filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		(void)connect(filler[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(50 * 1000);
	kv = redis_store(port, 1000);
	RGT_CASE("no answer to connect: TEMPFAIL after redis_connect_timeout");
	RGT_INTEQ(timed_add(kv, &ms, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "connect");
	RGT_CHECK(ms >= 280 && ms < 300 + SLACK_MS, "took %lld ms, want about 300",
	    ms);
	rg_kv_free(kv);
	for (int i = 0; i < 4; i++)
		close(filler[i]);
	close(fd);
	rg_buf_release(&why);
}

/* a fake Redis: answers each request with the next scripted reply */
struct fake {
	int lfd;
	const char *const *replies;	/* NULL ends; "" closes the connection */
	size_t big;			/* > 0: first reply is this many bytes */
};

static void *
fake_thread(void *arg)
{
	struct fake *f = arg;
	char buf[65536];
	int fd = accept(f->lfd, NULL, NULL);

	for (size_t i = 0; fd >= 0 && f->replies[i] != NULL; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (read(fd, buf, sizeof(buf)) <= 0)
			break;
		/* the rest of a request that came in pieces */
		while (poll(&p, 1, 20) > 0 && read(fd, buf, sizeof(buf)) > 0)
			;
		if (f->replies[i][0] == '\0')
			break;
		if (i == 0 && f->big > 0) {
			memset(buf, 'x', sizeof(buf));
			(void)!write(fd, "$99999999\r\n", 11);
			for (size_t n = 0; n < f->big; n += sizeof(buf))
				if (write(fd, buf, sizeof(buf)) < 0)
					break;
			continue;
		}
		(void)!write(fd, f->replies[i], strlen(f->replies[i]));
	}
	if (fd >= 0) {
		usleep(100 * 1000);
		close(fd);
	}
	return NULL;
}

#define SHA "$40\r\n0123456789012345678901234567890123456789\r\n"

static int fake_started;	/* fake_run starts and ends its check */

/* fake_count - count_add, or the same check started and ended */
static enum rg_kv_status
fake_count(struct rg_kv *kv, long long *count, struct rg_buf *why)
{
	struct rg_kv_op op = { "f:k", 1, 60000, RG_KV_NOLIMIT };
	struct rg_kv_res res = { -1, 0 };
	struct rg_kv_pending *p;
	enum rg_kv_status st;

	if (!fake_started)
		return rg_kv_count_add(kv, "f:k", 1, 60000, count, why);
	st = rg_kv_check_start(kv, &op, 1, &res, &p, why);
	if (p != NULL)
		st = rg_kv_check_end(kv, p, &op, 1, &res, why);
	*count = res.count;
	return st;
}

/* fake_run - count_add against a fake that sends replies */
static enum rg_kv_status
fake_run(const char *const *replies, size_t big, long long *count,
    struct rg_buf *why)
{
	struct fake f = { .replies = replies, .big = big };
	int port;
	pthread_t t;
	struct rg_kv *kv;
	enum rg_kv_status st;

	f.lfd = listen_any(&port);
	kv = redis_store(port, 1000);
	pthread_create(&t, NULL, fake_thread, &f);
	rg_buf_reset(why);
	*count = -1;
	st = fake_count(kv, count, why);
	pthread_join(t, NULL);
	rg_kv_free(kv);
	close(f.lfd);
	return st;
}

static void
test_fake(void)
{
	static const char *const garbage[] = { "?what\r\n", NULL };
	static const char *const closes[] = { "", NULL };
	static const char *const good[] = { SHA, "*3\r\n:0\r\n:7\r\n:1\r\n", NULL };
	static const char *const noscript[] = { SHA,
		"-NOSCRIPT No matching script. Please use EVAL.\r\n", SHA,
		"*3\r\n:0\r\n:8\r\n:1\r\n", NULL };
	static const char *const noscript2[] = { SHA, "-NOSCRIPT gone\r\n", SHA,
		"-NOSCRIPT gone again\r\n", NULL };
	static const char *const badsha[] = { "$3\r\nabc\r\n", NULL };
	static const char *const authfail[] = { "-ERR unknown command\r\n", NULL };
	static const char *const wrongtype[] = { SHA, ":5\r\n", NULL };
	static const char *const short_arr[] = { SHA, "*2\r\n:0\r\n:7\r\n", NULL };
	static const char *const kinds[] = { SHA, "*2\r\n:2\r\n:1\r\n", NULL };
	static const char *const badidx[] = { SHA, "*2\r\n:2\r\n:9\r\n", NULL };
	static const char *const nested[] = { SHA, "*3\r\n:0\r\n*1\r\n:7\r\n:1\r\n", NULL };
	static const char *const loading[] = { SHA,
		"-LOADING Redis is loading the dataset in memory\r\n", NULL };
	static const char *const big[] = { "x", NULL };
	struct rg_buf why = RG_BUF_INIT;
	long long n;

	RGT_CASE("fake: a good reply is read");
	RGT_INTEQ(fake_run(good, 0, &n, &why), RG_KV_OK);
	RGT_INTEQ(n, 7);
	/* a started check retries on another connection: the fake serves
	 * one (kv_redis_test has NOSCRIPT for started checks) */
	if (!fake_started) {
		RGT_CASE("fake: NOSCRIPT reloads and retries once");
		RGT_INTEQ(fake_run(noscript, 0, &n, &why), RG_KV_OK);
		RGT_INTEQ(n, 8);
		RGT_CASE("fake: NOSCRIPT twice is a failure");
		RGT_INTEQ(fake_run(noscript2, 0, &n, &why), RG_KV_TEMPFAIL);
		RGT_CONTAINS(rg_buf_cstr(&why), "NOSCRIPT");
	}
	RGT_CASE("fake: protocol garbage");
	RGT_INTEQ(fake_run(garbage, 0, &n, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "protocol error");
	RGT_CASE("fake: closed at once");
	RGT_INTEQ(fake_run(closes, 0, &n, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "closed");
	RGT_CASE("fake: SCRIPT LOAD answers no sha");
	RGT_INTEQ(fake_run(badsha, 0, &n, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "SCRIPT LOAD");
	RGT_INTEQ(fake_run(authfail, 0, &n, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "unknown command");
	RGT_CASE("fake: replies of the wrong shape");
	RGT_INTEQ(fake_run(wrongtype, 0, &n, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "unexpected reply");
	RGT_INTEQ(fake_run(short_arr, 0, &n, &why), RG_KV_TEMPFAIL);
	RGT_INTEQ(fake_run(nested, 0, &n, &why), RG_KV_TEMPFAIL);
	RGT_INTEQ(fake_run(badidx, 0, &n, &why), RG_KV_TEMPFAIL);
	RGT_CASE("fake: the script says the key is of another kind");
	RGT_INTEQ(fake_run(kinds, 0, &n, &why), RG_KV_INVAL);
	RGT_CONTAINS(rg_buf_cstr(&why), "f:k holds");
	RGT_CASE("fake: an error reply");
	RGT_INTEQ(fake_run(loading, 0, &n, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "LOADING");
	RGT_CASE("fake: a reply over 1 MiB is cut off");
	RGT_INTEQ(fake_run(big, 4 << 20, &n, &why), RG_KV_TEMPFAIL);
	RGT_CONTAINS(rg_buf_cstr(&why), "reply over");
	rg_buf_release(&why);
}

static void
setup(void)
{
	/* as the daemon does: a peer that closes must not kill the writer */
	signal(SIGPIPE, SIG_IGN);
	conf = rg_conf_load(NULL, NULL, NULL);
	if (conf == NULL)
		exit(1);
}

static void
teardown(void)
{
	rg_conf_release(conf);
}

/* the fake's replies again, to checks started and ended later */
static void
test_fake_started(void)
{
	fake_started = 1;
	test_fake();
	fake_started = 0;
}

RGT_MAIN(setup, test_backoff, test_refused, test_silent, test_full_backlog,
    test_fake, test_fake_started, teardown)
