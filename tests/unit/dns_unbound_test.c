/*
 * dns_unbound_test.c - the libunbound backend against a real server.
 *
 * Needs RG_TEST_DNS=addr@port of a server holding the records that
 * tests/integration/t_dns.sh adds; without it the test is skipped (it
 * prints "0 passed, 0 failed"). Checks answers of every type, NXDOMAIN,
 * NODATA, the RR cap, a timeout ending within deadline + 200 ms, 8
 * threads x 50 concurrent batches with exact results (some freed with
 * answers in flight), DNSSEC bogus answers with a trust anchor the zone
 * cannot satisfy, and start-up errors.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "settings.h"
#include "rgtest.h"

static const char *server;
static struct rg_dns *dns;
static struct rg_conf *conf;

/* now_ms - monotonic milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* load - a configuration from text; NULL with err on failure */
static struct rg_conf *
load(const char *text, struct rg_buf *err)
{
	char path[] = "/tmp/rgdnsubXXXXXX";
	int fd = mkstemp(path);
	struct rg_conf *c;

	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		perror("temporary config");
	close(fd);
	rg_buf_reset(err);
	c = rg_conf_load(path, err, NULL);
	unlink(path);
	return c;
}

/* open_with - a resolver for the test server plus extra config lines */
static struct rg_dns *
open_with(const char *extra, struct rg_buf *err, struct rg_conf **cp)
{
	char text[1024];
	struct rg_conf *c;
	struct rg_dns *d;

	snprintf(text, sizeof(text), "dns_servers = %s\n%s", server, extra);
	if ((c = load(text, err)) == NULL)
		return NULL;
	d = rg_dns_open(c, err);
	if (cp != NULL)
		*cp = c;
	else
		rg_conf_release(c);
	return d;
}

static void
setup(void)
{
	struct rg_buf err = RG_BUF_INIT;

	server = getenv("RG_TEST_DNS");
	if (server == NULL || *server == '\0')
		return;
	dns = open_with("", &err, &conf);
	if (dns == NULL) {
		printf("FAIL: rg_dns_open: %s\n", rg_buf_cstr(&err));
		exit(1);
	}
	rg_buf_release(&err);
}

static void
test_answers(void)
{
	struct rg_dns_batch *b;
	const struct rg_dns_result *r;
	char addr[INET6_ADDRSTRLEN];
	int a, aaaa, txt, mx, ptr, nx, nodata, many;

	if (dns == NULL)
		return;
	RGT_CASE("one batch: A, AAAA, TXT, MX, PTR, NXDOMAIN, NODATA, cap");
	b = rg_dns_batch_new(dns, 3000);
	a = rg_dns_batch_add(b, "a.dns.test", RG_DNS_T_A);
	aaaa = rg_dns_batch_add(b, "a.dns.test", RG_DNS_T_AAAA);
	txt = rg_dns_batch_add(b, "txt.dns.test", RG_DNS_T_TXT);
	mx = rg_dns_batch_add(b, "dns.test", RG_DNS_T_MX);
	ptr = rg_dns_batch_add(b, "ptr.dns.test", RG_DNS_T_PTR);
	nx = rg_dns_batch_add(b, "nope.dns.test", RG_DNS_T_A);
	nodata = rg_dns_batch_add(b, "a.dns.test", RG_DNS_T_TXT);
	many = rg_dns_batch_add(b, "many.dns.test", RG_DNS_T_A);
	RGT_INTEQ(rg_dns_batch_wait(b), 8);

	r = rg_dns_batch_result(b, a);
	RGT_INTEQ(r->status, RG_DNS_OK);
	RGT_INTEQ(r->nrrs, 2);
	if (r->nrrs == 2) {
		/* RRset order is the server's choice: compare as a set */
		char s0[INET6_ADDRSTRLEN], s1[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET, &r->rrs[0].a, s0, sizeof(s0));
		inet_ntop(AF_INET, &r->rrs[1].a, s1, sizeof(s1));
		RGT_CHECK((strcmp(s0, "192.0.2.1") == 0 && strcmp(s1, "192.0.2.2") == 0) ||
		    (strcmp(s0, "192.0.2.2") == 0 && strcmp(s1, "192.0.2.1") == 0),
		    "got %s %s, want 192.0.2.1 and 192.0.2.2", s0, s1);
	}
	RGT_CHECK(r->ttl > 0 && r->ttl <= 300, "ttl %u", r->ttl);
	RGT_INTEQ(r->secure, 0);
	RGT_INTEQ(r->bogus, 0);

	r = rg_dns_batch_result(b, aaaa);
	RGT_INTEQ(r->status, RG_DNS_OK);
	if (r->nrrs == 1)
		RGT_STREQ(inet_ntop(AF_INET6, &r->rrs[0].aaaa, addr, sizeof(addr)),
		    "2001:db8::1");

	r = rg_dns_batch_result(b, txt);
	RGT_INTEQ(r->status, RG_DNS_OK);
	RGT_INTEQ(r->nrrs, 1);
	if (r->nrrs == 1)
		RGT_STREQ(r->rrs[0].text, "v=spf1 ip4:192.0.2.0/24 -all");

	r = rg_dns_batch_result(b, mx);
	RGT_INTEQ(r->status, RG_DNS_OK);
	RGT_INTEQ(r->nrrs, 2);
	for (size_t i = 0; i < r->nrrs; i++)
		RGT_CHECK((r->rrs[i].pref == 10 && strcmp(r->rrs[i].text, "mx1.dns.test") == 0) ||
		    (r->rrs[i].pref == 20 && strcmp(r->rrs[i].text, "mx2.dns.test") == 0),
		    "MX %u %s", r->rrs[i].pref, r->rrs[i].text);

	r = rg_dns_batch_result(b, ptr);
	RGT_INTEQ(r->status, RG_DNS_OK);
	if (r->nrrs == 1)
		RGT_STREQ(r->rrs[0].text, "host.dns.test");

	RGT_INTEQ(rg_dns_batch_result(b, nx)->status, RG_DNS_NXDOMAIN);
	RGT_INTEQ(rg_dns_batch_result(b, nx)->rcode, 3);
	RGT_INTEQ(rg_dns_batch_result(b, nodata)->status, RG_DNS_NODATA);

	r = rg_dns_batch_result(b, many);
	RGT_INTEQ(r->status, RG_DNS_OK);
	RGT_INTEQ(r->nrrs, RG_DNS_MAX_RRS);
	RGT_INTEQ(r->truncated, 1);
	rg_dns_batch_free(b);

	RGT_CASE("synchronous query, from the cache now");
	{
		struct rg_dns_result sr;

		RGT_INTEQ(rg_dns_query(dns, "txt.dns.test", RG_DNS_T_TXT, 2000, &sr),
		    RG_DNS_OK);
		RGT_INTEQ(sr.nrrs, 1);
		rg_dns_result_release(&sr);
	}
}

/* ---- concurrency -------------------------------------------------------- */

#define THREADS	8
#define BATCHES	50
#define PER	6
#define NAMES	20	/* n1..n20.dns.test A 127.0.1.N */

struct worker {
	int id;
	int wrong, checked;
	char first[160];
};

/* worker_check - one finished batch against what the zone says */
static void
worker_check(struct worker *w, struct rg_dns_batch *b, const int *num,
    const int *idx, int nx)
{
	for (int k = 0; k < PER; k++) {
		const struct rg_dns_result *r = rg_dns_batch_result(b, idx[k]);

		w->checked++;
		if (r->status != RG_DNS_OK || r->nrrs != 1 ||
		    ntohl(r->rrs[0].a.s_addr) != (0x7f000100u | (unsigned)num[k])) {
			if (!w->wrong++)
				snprintf(w->first, sizeof(w->first), "n%d: %s %.100s",
				    num[k], rg_dns_status_name(r->status), r->why);
		}
	}
	w->checked++;
	if (rg_dns_batch_result(b, nx)->status != RG_DNS_NXDOMAIN && !w->wrong++)
		snprintf(w->first, sizeof(w->first), "nx: %s",
		    rg_dns_status_name(rg_dns_batch_result(b, nx)->status));
}

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	char name[64];

	for (int n = 0; n < BATCHES; n++) {
		struct rg_dns_batch *b = rg_dns_batch_new(dns, 5000);
		int num[PER], idx[PER], nx;

		for (int k = 0; k < PER; k++) {
			num[k] = (w->id * 7 + n * 3 + k) % NAMES + 1;
			snprintf(name, sizeof(name), "n%d.dns.test", num[k]);
			idx[k] = rg_dns_batch_add(b, name, RG_DNS_T_A);
		}
		/* a name nobody asked before: the server has to answer it */
		snprintf(name, sizeof(name), "nx-%d-%d.dns.test", w->id, n);
		nx = rg_dns_batch_add(b, name, RG_DNS_T_A);
		if (n % 5 == 4) {
			rg_dns_batch_free(b);	/* answers still in flight */
			continue;
		}
		rg_dns_batch_wait(b);
		worker_check(w, b, num, idx, nx);
		rg_dns_batch_free(b);
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t tid[THREADS];
	struct worker w[THREADS];
	int wrong = 0, checked = 0;
	struct rg_dns_stats st;

	if (dns == NULL)
		return;
	RGT_CASE("8 threads x 50 batches, exact results");
	memset(w, 0, sizeof(w));
	for (int i = 0; i < THREADS; i++) {
		w[i].id = i;
		pthread_create(&tid[i], NULL, worker_run, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		wrong += w[i].wrong;
		checked += w[i].checked;
		if (w[i].wrong)
			printf("thread %d: %d wrong, first: %s\n", i, w[i].wrong, w[i].first);
	}
	RGT_INTEQ(wrong, 0);
	RGT_INTEQ(checked, THREADS * (BATCHES - BATCHES / 5) * (PER + 1));
	rg_dns_stats_get(dns, &st);
	RGT_CHECK(st.queries >= THREADS * BATCHES * (PER + 1), "queries %llu",
	    st.queries);
	RGT_INTEQ(st.timeouts, 0);
}

/* ---- failures ------------------------------------------------------------ */

static void
test_timeout(void)
{
	struct rg_dns_batch *b;
	long long t0, took;
	int slow, fast;

	if (dns == NULL)
		return;
	RGT_CASE("a server that never answers: the wait ends at the deadline");
	b = rg_dns_batch_new(dns, 700);
	t0 = now_ms();
	slow = rg_dns_batch_add(b, "x.slow.test", RG_DNS_T_A);
	fast = rg_dns_batch_add(b, "a.dns.test", RG_DNS_T_A);
	RGT_INTEQ(rg_dns_batch_wait(b), 1);
	took = now_ms() - t0;
	RGT_CHECK(took >= 695 && took <= 700 + 200, "wait took %lld ms, want 700..900",
	    took);
	RGT_INTEQ(rg_dns_batch_result(b, slow)->status, RG_DNS_TIMEOUT);
	RGT_INTEQ(rg_dns_batch_result(b, fast)->status, RG_DNS_OK);
	rg_dns_batch_free(b);

	RGT_CASE("started at one stage, waited at a later one");
	b = rg_dns_batch_new(dns, 400);
	slow = rg_dns_batch_add(b, "y.slow.test", RG_DNS_T_TXT);
	usleep(500 * 1000);	/* the deadline passes meanwhile */
	t0 = now_ms();
	rg_dns_batch_wait(b);
	RGT_CHECK(now_ms() - t0 < 50, "waited %lld ms after the deadline", now_ms() - t0);
	RGT_INTEQ(rg_dns_batch_result(b, slow)->status, RG_DNS_TIMEOUT);
	rg_dns_batch_free(b);
}

static void
test_dnssec(void)
{
	char ta[] = "/tmp/rgtaXXXXXX", extra[256];
	struct rg_buf err = RG_BUF_INIT;
	struct rg_dns_result r;
	struct rg_dns_stats st;
	struct rg_dns *d;
	int fd;

	if (dns == NULL)
		return;
	RGT_CASE("trust anchor for test.: unsigned answers are bogus");
	fd = mkstemp(ta);
	dprintf(fd, "test. 3600 IN DS 12345 8 2 "
	    "49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE7B4E4A4C7C7B5A1C2D3E4F50\n");
	close(fd);
	snprintf(extra, sizeof(extra), "dns_trust_anchor_file = %s\n", ta);
	d = open_with(extra, &err, NULL);
	RGT_CHECK(d != NULL, "open with anchor: %s", rg_buf_cstr(&err));
	if (d != NULL) {
		RGT_INTEQ(rg_dns_query(d, "a.dns.test", RG_DNS_T_A, 5000, &r),
		    RG_DNS_SERVFAIL);
		RGT_INTEQ(r.bogus, 1);
		RGT_INTEQ(r.secure, 0);
		RGT_CONTAINS(r.why, "DNSSEC bogus");
		RGT_INTEQ(r.nrrs, 0);
		rg_dns_result_release(&r);
		rg_dns_stats_get(d, &st);
		RGT_INTEQ(st.bogus, 1);
		rg_dns_close(d);
	}

	RGT_CASE("a trust anchor file that does not parse stops start-up");
	fd = open(ta, O_WRONLY | O_TRUNC);
	dprintf(fd, "this is not a zone file\n");
	close(fd);
	d = open_with(extra, &err, NULL);
	RGT_CHECK(d == NULL, "opened with a garbage anchor");
	RGT_CONTAINS(rg_buf_cstr(&err), ta);
	rg_dns_close(d);
	unlink(ta);

	RGT_CASE("a missing trust anchor file stops start-up");
	d = open_with("dns_trust_anchor_file = /nonexistent/root.key\n", &err, NULL);
	RGT_CHECK(d == NULL, "opened with a missing anchor");
	RGT_CONTAINS(rg_buf_cstr(&err), "/nonexistent/root.key");
	rg_dns_close(d);
	rg_buf_release(&err);
}

static void
teardown(void)
{
	dns = rg_dns_close(dns);
	rg_conf_release(conf);
}

RGT_MAIN(setup, test_answers, test_threads, test_timeout, test_dnssec, teardown)
