/*
 * dns_test.c - the resolver with the fake backend: zone file parsing and
 * its errors, every answer status, decoding of A, AAAA, TXT, MX, PTR and
 * CNAME, bounds on malformed and oversized answers, batch rules, waits
 * against the deadline, answers from other threads (also after the batch
 * was freed or the resolver closed), counters, and dns_servers parsing.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "settings.h"
#include "rgtest.h"

static const char zone_text[] =
    "; the zone used by most cases\n"
    "2.0.0.127.zen.test   A     127.0.0.2\n"
    "2.0.0.127.zen.test   A     127.0.0.4\n"
    "2.0.0.127.zen.test   TXT   \"listed, see https://zen.test/\"\n"
    "host.test            AAAA  2001:db8::25\n"
    "Example.TEST.        TXT   \"v=spf1 \" \"ip4:192.0.2.0/24\" \" -all\"\n"
    "example.test         TXT   \"quote \\\" and \\065\"\n"
    "example.test         MX    10 mx1.example.test.\n"
    "example.test         MX    20 mx2.example.test\n"
    "7.2.0.192.in-addr.test PTR client.example.test\n"
    "alias.test           CNAME host.test\n"
    "badtxt.test          TXT   \\# 3 056162\n"
    "mixed.test           TXT   \\# 3 026162\n"
    "mixed.test           TXT   \\# 3 056162\n"
    "shorta.test          A     \\# 3 7f0000\n"
    "ptrloop.test         PTR   \\# 2 c00c\n"
    "weird.test           PTR   \\# 9 03612e620363240000\n"
    "slow.test            TIMEOUT\n"
    "broken.test          SERVFAIL\n"
    "later.test           DELAY 50ms\n"
    "later.test           A     127.0.0.9\n"
    "muchlater.test       DELAY 400\n"
    "muchlater.test       A     127.0.0.10\n";

static struct rg_dns *zone;

/* now_ms - monotonic milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* query - a synchronous lookup in the shared zone */
static enum rg_dns_status
query(const char *name, int type, struct rg_dns_result *r)
{
	return rg_dns_query(zone, name, type, 1000, r);
}

static void
test_zone_errors(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_dns *d;

	RGT_CASE("zone file errors name the line");
	d = rg_dns_fake_open_text(
	    "ok.test A 127.0.0.1\n"
	    "ok.test BOGUSTYPE 1\n"
	    "ok.test A 300.1.1.1\n"
	    "ok.test TXT \"unterminated\n"
	    "ok.test MX ten mx.test\n"
	    "ok.test A\n"
	    "bad..name A 127.0.0.1\n"
	    "ok.test TYPE99 \\# 2 01\n"
	    "ok.test DELAY soon\n"
	    "ok.test TIMEOUT now\n"
	    "ok.test A 127.0.0.1 127.0.0.2\n"
	    "ok.test SOA whatever\n", "t.zone", &err);
	RGT_CHECK(d == NULL, "a bad zone must not load");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.zone:2: unknown type");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.zone:3: bad address");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.zone:4: unterminated string");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.zone:5: bad MX preference");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.zone:6: missing data");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.zone:7: bad name");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.zone:8: bad \\# data");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.zone:9: bad TIMEOUT, SERVFAIL or DELAY");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.zone:10: bad TIMEOUT, SERVFAIL or DELAY");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.zone:11: extra data");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.zone:12: type needs RFC 3597");
	RGT_CHECK(strstr(rg_buf_cstr(&err), "t.zone:1:") == NULL,
	    "line 1 is fine: %s", rg_buf_cstr(&err));

	RGT_CASE("missing zone file");
	rg_buf_reset(&err);
	RGT_CHECK(rg_dns_fake_open("/nonexistent/zone", &err) == NULL, "opened?");
	RGT_CONTAINS(rg_buf_cstr(&err), "/nonexistent/zone: cannot open");

	RGT_CASE("empty zone: everything NXDOMAIN");
	d = rg_dns_fake_open_text("", "empty", &err);
	RGT_CHECK(d != NULL, "empty zone should load");
	if (d != NULL) {
		struct rg_dns_result r;

		RGT_INTEQ(rg_dns_query(d, "a.test", RG_DNS_T_A, 100, &r), RG_DNS_NXDOMAIN);
		rg_dns_result_release(&r);
		rg_dns_close(d);
	}
	rg_buf_release(&err);
}

static void
test_answers(void)
{
	struct rg_dns_result r;
	char addr[INET6_ADDRSTRLEN];

	RGT_CASE("A, two records");
	RGT_INTEQ(query("2.0.0.127.zen.test", RG_DNS_T_A, &r), RG_DNS_OK);
	RGT_INTEQ(r.nrrs, 2);
	if (r.nrrs == 2) {
		RGT_STREQ(inet_ntop(AF_INET, &r.rrs[0].a, addr, sizeof(addr)), "127.0.0.2");
		RGT_STREQ(inet_ntop(AF_INET, &r.rrs[1].a, addr, sizeof(addr)), "127.0.0.4");
		RGT_INTEQ(r.rrs[0].rdlen, 4);
	}
	RGT_INTEQ(r.rrtype, RG_DNS_T_A);
	rg_dns_result_release(&r);

	RGT_CASE("AAAA");
	RGT_INTEQ(query("host.test", RG_DNS_T_AAAA, &r), RG_DNS_OK);
	if (r.nrrs == 1)
		RGT_STREQ(inet_ntop(AF_INET6, &r.rrs[0].aaaa, addr, sizeof(addr)),
		    "2001:db8::25");
	rg_dns_result_release(&r);

	RGT_CASE("TXT: strings concatenated per record, names case-blind");
	RGT_INTEQ(query("EXAMPLE.test.", RG_DNS_T_TXT, &r), RG_DNS_OK);
	RGT_INTEQ(r.nrrs, 2);
	if (r.nrrs == 2) {
		RGT_STREQ(r.rrs[0].text, "v=spf1 ip4:192.0.2.0/24 -all");
		RGT_INTEQ(r.rrs[0].textlen, strlen("v=spf1 ip4:192.0.2.0/24 -all"));
		RGT_STREQ(r.rrs[1].text, "quote \" and A");
	}
	rg_dns_result_release(&r);

	RGT_CASE("MX: preference and name");
	RGT_INTEQ(query("example.test", RG_DNS_T_MX, &r), RG_DNS_OK);
	RGT_INTEQ(r.nrrs, 2);
	if (r.nrrs == 2) {
		RGT_INTEQ(r.rrs[0].pref, 10);
		RGT_STREQ(r.rrs[0].text, "mx1.example.test");
		RGT_INTEQ(r.rrs[1].pref, 20);
		RGT_STREQ(r.rrs[1].text, "mx2.example.test");
	}
	rg_dns_result_release(&r);

	RGT_CASE("PTR and CNAME");
	RGT_INTEQ(query("7.2.0.192.in-addr.test", RG_DNS_T_PTR, &r), RG_DNS_OK);
	if (r.nrrs == 1)
		RGT_STREQ(r.rrs[0].text, "client.example.test");
	rg_dns_result_release(&r);
	RGT_INTEQ(query("alias.test", RG_DNS_T_CNAME, &r), RG_DNS_OK);
	if (r.nrrs == 1)
		RGT_STREQ(r.rrs[0].text, "host.test");
	rg_dns_result_release(&r);

	RGT_CASE("NXDOMAIN, NODATA, empty non-terminal");
	RGT_INTEQ(query("3.0.0.127.zen.test", RG_DNS_T_A, &r), RG_DNS_NXDOMAIN);
	RGT_INTEQ(r.nrrs, 0);
	rg_dns_result_release(&r);
	RGT_INTEQ(query("host.test", RG_DNS_T_A, &r), RG_DNS_NODATA);
	rg_dns_result_release(&r);
	RGT_INTEQ(query("zen.test", RG_DNS_T_A, &r), RG_DNS_NODATA);
	rg_dns_result_release(&r);

	RGT_CASE("SERVFAIL");
	RGT_INTEQ(query("broken.test", RG_DNS_T_A, &r), RG_DNS_SERVFAIL);
	RGT_INTEQ(r.rcode, 2);
	rg_dns_result_release(&r);

	RGT_CASE("invalid names never reach the backend");
	RGT_INTEQ(query("a..test", RG_DNS_T_A, &r), RG_DNS_ERROR);
	RGT_CONTAINS(r.why, "invalid query name");
	rg_dns_result_release(&r);
	RGT_INTEQ(query("with space.test", RG_DNS_T_A, &r), RG_DNS_ERROR);
	rg_dns_result_release(&r);
	RGT_INTEQ(query("example.test", 0, &r), RG_DNS_ERROR);
	rg_dns_result_release(&r);
}

static void
test_malformed(void)
{
	struct rg_dns_result r;

	RGT_CASE("TXT string longer than its record");
	RGT_INTEQ(query("badtxt.test", RG_DNS_T_TXT, &r), RG_DNS_ERROR);
	RGT_INTEQ(r.malformed, 1);
	RGT_CONTAINS(r.why, "malformed");
	rg_dns_result_release(&r);

	RGT_CASE("one good, one malformed record");
	RGT_INTEQ(query("mixed.test", RG_DNS_T_TXT, &r), RG_DNS_OK);
	RGT_INTEQ(r.nrrs, 1);
	RGT_INTEQ(r.malformed, 1);
	if (r.nrrs == 1)
		RGT_STREQ(r.rrs[0].text, "ab");
	rg_dns_result_release(&r);

	RGT_CASE("A record of 3 bytes");
	RGT_INTEQ(query("shorta.test", RG_DNS_T_A, &r), RG_DNS_ERROR);
	rg_dns_result_release(&r);

	RGT_CASE("compression pointer in rdata is refused");
	RGT_INTEQ(query("ptrloop.test", RG_DNS_T_PTR, &r), RG_DNS_ERROR);
	rg_dns_result_release(&r);

	RGT_CASE("dots and NULs inside labels are escaped");
	RGT_INTEQ(query("weird.test", RG_DNS_T_PTR, &r), RG_DNS_OK);
	if (r.nrrs == 1)
		RGT_STREQ(r.rrs[0].text, "a\\.b.c\\$\\000");
	rg_dns_result_release(&r);
}

/* test_decode_direct - answers a backend could hand over, however broken */
static void
test_decode_direct(void)
{
	static char rec[RG_DNS_MAX_RRS + 10][4];
	char *data[RG_DNS_MAX_RRS + 11];
	int len[RG_DNS_MAX_RRS + 11];
	struct rg_dns_answer a = { .status = RG_DNS_OK };
	struct rg_dns_result r;
	size_t i;

	RGT_CASE("more records than RG_DNS_MAX_RRS");
	for (i = 0; i < RG_DNS_MAX_RRS + 10; i++) {
		rec[i][0] = 127, rec[i][1] = 0, rec[i][2] = 0, rec[i][3] = (char)i;
		data[i] = rec[i];
		len[i] = 4;
	}
	data[i] = NULL;
	a.data = data;
	a.len = len;
	rg_dns_decode(&a, RG_DNS_T_A, &r);
	RGT_INTEQ(r.status, RG_DNS_OK);
	RGT_INTEQ(r.nrrs, RG_DNS_MAX_RRS);
	RGT_INTEQ(r.truncated, 1);
	rg_dns_result_release(&r);

	RGT_CASE("negative length");
	len[0] = -1;
	data[1] = NULL;
	rg_dns_decode(&a, RG_DNS_T_A, &r);
	RGT_INTEQ(r.status, RG_DNS_ERROR);
	rg_dns_result_release(&r);

	RGT_CASE("OK without data is NODATA");
	a.data = NULL;
	rg_dns_decode(&a, RG_DNS_T_A, &r);
	RGT_INTEQ(r.status, RG_DNS_NODATA);
	rg_dns_result_release(&r);

	RGT_CASE("empty TXT record, MX without a name");
	data[0] = rec[0];
	len[0] = 0;
	a.data = data;
	rg_dns_decode(&a, RG_DNS_T_TXT, &r);
	RGT_INTEQ(r.status, RG_DNS_ERROR);
	rg_dns_result_release(&r);
	len[0] = 2;
	rg_dns_decode(&a, RG_DNS_T_MX, &r);
	RGT_INTEQ(r.status, RG_DNS_ERROR);
	rg_dns_result_release(&r);

	RGT_CASE("unknown type kept raw");
	len[0] = 3;
	rg_dns_decode(&a, 33, &r);
	RGT_INTEQ(r.status, RG_DNS_OK);
	RGT_INTEQ(r.nrrs == 1 ? r.rrs[0].rdlen : 0, 3);
	RGT_CHECK(r.nrrs == 1 && r.rrs[0].text == NULL, "no text for SRV");
	rg_dns_result_release(&r);
}

static void
test_batch_rules(void)
{
	struct rg_dns_batch *b = rg_dns_batch_new(zone, 500);
	int i1, i2, i3;

	RGT_CASE("indexes in order, no result before the wait");
	i1 = rg_dns_batch_add(b, "2.0.0.127.zen.test", RG_DNS_T_A);
	i2 = rg_dns_batch_add(b, "nope.test", RG_DNS_T_A);
	i3 = rg_dns_batch_add(b, "", RG_DNS_T_A);
	RGT_INTEQ(i1, 0);
	RGT_INTEQ(i2, 1);
	RGT_INTEQ(i3, 2);
	RGT_CHECK(rg_dns_batch_result(b, i1) == NULL, "result before the wait");
	RGT_INTEQ(rg_dns_batch_wait(b), 3);
	RGT_INTEQ(rg_dns_batch_result(b, i1)->status, RG_DNS_OK);
	RGT_INTEQ(rg_dns_batch_result(b, i2)->status, RG_DNS_NXDOMAIN);
	RGT_INTEQ(rg_dns_batch_result(b, i3)->status, RG_DNS_ERROR);
	RGT_CHECK(rg_dns_batch_result(b, 3) == NULL, "index past the end");
	RGT_CHECK(rg_dns_batch_result(b, -1) == NULL, "negative index");

	RGT_CASE("no query after the wait; waiting twice is harmless");
	RGT_INTEQ(rg_dns_batch_add(b, "x.test", RG_DNS_T_A), -1);
	RGT_INTEQ(rg_dns_batch_wait(b), 3);
	rg_dns_batch_free(b);

	RGT_CASE("a batch is full at RG_DNS_BATCH_MAX");
	b = rg_dns_batch_new(zone, 500);
	for (int i = 0; i < RG_DNS_BATCH_MAX; i++)
		rg_dns_batch_add(b, "nope.test", RG_DNS_T_A);
	RGT_INTEQ(rg_dns_batch_add(b, "nope.test", RG_DNS_T_A), -1);
	RGT_INTEQ(rg_dns_batch_count(b), RG_DNS_BATCH_MAX);
	rg_dns_batch_free(b);

	RGT_CASE("no resolver: every query fails, nothing crashes");
	b = rg_dns_batch_new(NULL, 100);
	i1 = rg_dns_batch_add(b, "example.test", RG_DNS_T_TXT);
	rg_dns_batch_wait(b);
	RGT_INTEQ(rg_dns_batch_result(b, i1)->status, RG_DNS_ERROR);
	RGT_STREQ(rg_dns_batch_result(b, i1)->why, "no resolver");
	rg_dns_batch_free(b);
	RGT_CHECK(rg_dns_batch_free(NULL) == NULL, "free(NULL)");
}

static void
test_deadline(void)
{
	/* 300 ms: later.test (50 ms) has 250 ms to spare on a loaded machine
	 * under a sanitizer; muchlater.test (400 ms) can only come later */
	struct rg_dns_batch *b = rg_dns_batch_new(zone, 300);
	long long t0 = now_ms(), took;
	int slow, fast, later, much;

	RGT_CASE("a timeout ends the wait at the deadline, answers are kept");
	slow = rg_dns_batch_add(b, "slow.test", RG_DNS_T_A);
	fast = rg_dns_batch_add(b, "2.0.0.127.zen.test", RG_DNS_T_A);
	later = rg_dns_batch_add(b, "later.test", RG_DNS_T_A);
	much = rg_dns_batch_add(b, "muchlater.test", RG_DNS_T_A);
	RGT_INTEQ(rg_dns_batch_wait(b), 2);
	took = now_ms() - t0;
	RGT_CHECK(took >= 295 && took < 300 + 300, "wait took %lld ms, want ~300", took);
	RGT_INTEQ(rg_dns_batch_result(b, slow)->status, RG_DNS_TIMEOUT);
	RGT_CONTAINS(rg_dns_batch_result(b, slow)->why, "300 ms");
	RGT_INTEQ(rg_dns_batch_result(b, fast)->status, RG_DNS_OK);
	RGT_INTEQ(rg_dns_batch_result(b, later)->status, RG_DNS_OK);
	RGT_INTEQ(rg_dns_batch_result(b, much)->status, RG_DNS_TIMEOUT);
	rg_dns_batch_free(b);

	RGT_CASE("without slow names the wait ends with the last answer");
	b = rg_dns_batch_new(zone, 5000);
	t0 = now_ms();
	later = rg_dns_batch_add(b, "later.test", RG_DNS_T_A);
	rg_dns_batch_add(b, "later.test", RG_DNS_T_AAAA);
	RGT_INTEQ(rg_dns_batch_wait(b), 2);
	took = now_ms() - t0;
	RGT_CHECK(took >= 45 && took < 1000, "wait took %lld ms, want ~50", took);
	RGT_INTEQ(rg_dns_batch_result(b, later)->status, RG_DNS_OK);
	RGT_INTEQ(rg_dns_batch_result(b, 1)->status, RG_DNS_NODATA);
	rg_dns_batch_free(b);

	RGT_CASE("a deadline already past: no wait at all");
	b = rg_dns_batch_new(zone, 0);
	rg_dns_batch_add(b, "slow.test", RG_DNS_T_A);
	t0 = now_ms();
	rg_dns_batch_wait(b);
	RGT_CHECK(now_ms() - t0 < 50, "waited %lld ms", now_ms() - t0);
	rg_dns_batch_free(b);
}

static void
test_stats_and_late(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_dns *d = rg_dns_fake_open_text(zone_text, "zone", &err);
	struct rg_dns_stats st;
	struct rg_dns_batch *b;

	RGT_CASE("counters");
	b = rg_dns_batch_new(d, 100);
	rg_dns_batch_add(b, "2.0.0.127.zen.test", RG_DNS_T_A);
	rg_dns_batch_add(b, "nope.test", RG_DNS_T_A);
	rg_dns_batch_add(b, "host.test", RG_DNS_T_A);
	rg_dns_batch_add(b, "broken.test", RG_DNS_T_A);
	rg_dns_batch_add(b, "slow.test", RG_DNS_T_A);
	rg_dns_batch_add(b, "muchlater.test", RG_DNS_T_A);
	rg_dns_batch_add(b, "bad name.test", RG_DNS_T_A);
	rg_dns_batch_wait(b);
	rg_dns_batch_free(b);
	/* muchlater.test answers 400 ms after the start: late, dropped */
	usleep(450 * 1000);
	rg_dns_stats_get(d, &st);
	RGT_INTEQ(st.queries, 6);
	RGT_INTEQ(st.answers, 1);
	RGT_INTEQ(st.nxdomain, 1);
	RGT_INTEQ(st.nodata, 1);
	RGT_INTEQ(st.servfails, 1);
	RGT_INTEQ(st.timeouts, 2);
	RGT_INTEQ(st.errors, 1);
	RGT_INTEQ(st.late, 1);
	RGT_INTEQ(st.batches, 1);
	RGT_STREQ(rg_dns_backend_name(d), "fake");

	RGT_CASE("freed before the answers came: they find nothing freed");
	b = rg_dns_batch_new(d, 1000);
	rg_dns_batch_add(b, "later.test", RG_DNS_T_A);
	rg_dns_batch_add(b, "slow.test", RG_DNS_T_A);
	rg_dns_batch_free(b);
	usleep(100 * 1000);
	rg_dns_stats_get(d, &st);
	RGT_INTEQ(st.late, 2);

	RGT_CASE("closed while a batch waits for a late answer");
	b = rg_dns_batch_new(d, 1000);
	rg_dns_batch_add(b, "muchlater.test", RG_DNS_T_A);
	rg_dns_close(d);	/* delivers the late answer, keeps the handle */
	RGT_INTEQ(rg_dns_batch_wait(b), 1);
	RGT_INTEQ(rg_dns_batch_add(b, "x.test", RG_DNS_T_A), -1);
	rg_dns_batch_free(b);	/* frees the handle */

	RGT_CASE("a batch made after close fails its queries");
	d = rg_dns_fake_open_text(zone_text, "zone", &err);
	b = rg_dns_batch_new(d, 100);
	rg_dns_close(d);
	rg_dns_batch_add(b, "2.0.0.127.zen.test", RG_DNS_T_A);
	rg_dns_batch_wait(b);
	RGT_STREQ(rg_dns_batch_result(b, 0)->why, "resolver closed");
	rg_dns_batch_free(b);
	rg_buf_release(&err);
}

/* ---- many threads, many batches --------------------------------------- */

#define THREADS 8
#define BATCHES 50

struct worker {
	int id;
	int wrong;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;

	for (int n = 0; n < BATCHES; n++) {
		struct rg_dns_batch *b = rg_dns_batch_new(zone, 2000);
		int a = rg_dns_batch_add(b, "later.test", RG_DNS_T_A);
		int t = rg_dns_batch_add(b, "example.test", RG_DNS_T_TXT);
		int x = rg_dns_batch_add(b, "nope.test", RG_DNS_T_A);
		const struct rg_dns_result *r;

		if ((n + w->id) % 3 == 0) {
			rg_dns_batch_free(b);	/* gone with answers in flight */
			continue;
		}
		rg_dns_batch_wait(b);
		r = rg_dns_batch_result(b, a);
		if (r->status != RG_DNS_OK || r->nrrs != 1 ||
		    r->rrs[0].a.s_addr != htonl(0x7f000009))
			w->wrong++;
		r = rg_dns_batch_result(b, t);
		if (r->status != RG_DNS_OK || r->nrrs != 2)
			w->wrong++;
		if (rg_dns_batch_result(b, x)->status != RG_DNS_NXDOMAIN)
			w->wrong++;
		rg_dns_batch_free(b);
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t tid[THREADS];
	struct worker w[THREADS];
	int wrong = 0;

	RGT_CASE("8 threads x 50 batches, answers from other threads");
	for (int i = 0; i < THREADS; i++) {
		w[i].id = i;
		w[i].wrong = 0;
		pthread_create(&tid[i], NULL, worker_run, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(tid[i], NULL);
		wrong += w[i].wrong;
	}
	RGT_INTEQ(wrong, 0);
}

static void
test_helpers(void)
{
	RGT_CASE("type names");
	RGT_INTEQ(rg_dns_type_parse("txt"), RG_DNS_T_TXT);
	RGT_INTEQ(rg_dns_type_parse("AAAA"), RG_DNS_T_AAAA);
	RGT_INTEQ(rg_dns_type_parse("TYPE257"), 257);
	RGT_INTEQ(rg_dns_type_parse("TYPE0"), -1);
	RGT_INTEQ(rg_dns_type_parse("nonsense"), -1);
	RGT_STREQ(rg_dns_type_name(RG_DNS_T_MX), "MX");
	RGT_STREQ(rg_dns_status_name(RG_DNS_TIMEOUT), "timeout");

	RGT_CASE("query names");
	RGT_INTEQ(rg_dns_name_valid("example.test"), 1);
	RGT_INTEQ(rg_dns_name_valid("example.test."), 1);
	RGT_INTEQ(rg_dns_name_valid("_dmarc.x-y.test"), 1);
	RGT_INTEQ(rg_dns_name_valid("."), 0);
	RGT_INTEQ(rg_dns_name_valid(".test"), 0);
	RGT_INTEQ(rg_dns_name_valid("a\\.test"), 0);
	RGT_INTEQ(rg_dns_name_valid("a\ttest"), 0);
	{
		char label[70], name[300];

		memset(label, 'a', 64);
		label[64] = '\0';
		snprintf(name, sizeof(name), "%s.test", label);
		RGT_INTEQ(rg_dns_name_valid(name), 0);
		label[63] = '\0';
		snprintf(name, sizeof(name), "%s.test", label);
		RGT_INTEQ(rg_dns_name_valid(name), 1);
		snprintf(name, sizeof(name), "%s.%s.%s.%s", label, label, label, label);
		RGT_INTEQ(rg_dns_name_valid(name), 0);	/* 255 > 253 */
	}
}

/* load - a configuration from text */
static struct rg_conf *
load(const char *text, struct rg_buf *err)
{
	char path[] = "/tmp/rgdnsXXXXXX";
	int fd = mkstemp(path);
	struct rg_conf *c;

	if (write(fd, text, strlen(text)) < 0)
		perror("write");
	close(fd);
	rg_buf_reset(err);
	c = rg_conf_load(path, err, NULL);
	unlink(path);
	return c;
}

static void
test_conf(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c;

	RGT_CASE("dns defaults");
	c = load("", &err);
	RGT_CHECK(c != NULL, "defaults: %s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_INTEQ(c->dns.servers.n, 0);
		RGT_INTEQ(c->dns.timeout, 5000);
		RGT_STREQ(c->dns.trust_anchor_file, "");
		rg_conf_release(c);
	}

	RGT_CASE("dns_servers forms");
	c = load("dns_servers = 127.0.0.1@5353, ::1 192.0.2.53\n"
	    "dns_timeout = 250ms\n", &err);
	RGT_CHECK(c != NULL, "servers: %s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_INTEQ(c->dns.servers.n, 3);
		if (c->dns.servers.n == 3)
			RGT_STREQ(c->dns.servers.v[0], "127.0.0.1@5353");
		RGT_INTEQ(c->dns.timeout, 250);
		rg_conf_release(c);
	}

	RGT_CASE("bad dns_servers and timeout");
	c = load("\n"
	    "dns_servers = 127.0.0.1@99999\n"
	    "dns_timeout = 50ms\n"
	    "dns_trust_anchor_file = /x\n"
	    "dns_servers = ns.example.test\n", &err);
	RGT_CHECK(c == NULL, "bad config loaded");
	RGT_CONTAINS(rg_buf_cstr(&err), ":2: dns_servers: bad port");
	RGT_CONTAINS(rg_buf_cstr(&err), ":3: dns_timeout: value \"50ms\" out of range");
	RGT_CONTAINS(rg_buf_cstr(&err), ":5: dns_servers: \"ns.example.test\" is not");
	rg_conf_release(c);
	rg_buf_release(&err);
}

static void
setup(void)
{
	struct rg_buf err = RG_BUF_INIT;

	zone = rg_dns_fake_open_text(zone_text, "zone", &err);
	if (zone == NULL) {
		printf("FAIL: test zone: %s", rg_buf_cstr(&err));
		exit(1);
	}
	rg_buf_release(&err);
}

static void
teardown(void)
{
	zone = rg_dns_close(zone);
}

RGT_MAIN(setup, test_zone_errors, test_answers, test_malformed,
    test_decode_direct, test_batch_rules, test_deadline, test_stats_and_late,
    test_threads, test_helpers, test_conf, teardown)
