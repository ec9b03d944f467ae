/*
 * dns_cache_test.c - the resolver's answer cache: what it keeps and what
 * it refuses (SERVFAIL, bogus, no TTL, oversized), names compared in any
 * case, the TTL counted down and expiry, the bound on entries, and the
 * cache in front of the fake backend: a repeated query is answered
 * without the backend, a timeout or SERVFAIL is asked again.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "rgtest.h"

/* answer - an answer of status st with the given A records */
static struct rg_dns_answer
answer(enum rg_dns_status st, unsigned ttl, char **items, int *lens)
{
	struct rg_dns_answer a = {
		.status = st, .rcode = st == RG_DNS_NXDOMAIN ? 3 : 0, .ttl = ttl,
		.data = items, .len = lens,
	};

	return a;
}

static void
test_keep(void)
{
	struct rg_dns_cache *c = rg_dns_cache_new();
	char a1[4] = { 127, 0, 0, 2 }, a2[4] = { 127, 0, 0, 4 };
	char *items[] = { a1, a2, NULL };
	int lens[] = { 4, 4, 0 };
	struct rg_dns_answer a = answer(RG_DNS_OK, 300, items, lens);
	struct rg_dns_result r;
	char *none[] = { NULL };

	RGT_CASE("keep");
	memset(&r, 0, sizeof(r));
	RGT_INTEQ(rg_dns_cache_get(c, "2.0.0.127.zen.test", RG_DNS_T_A, &r), 0);
	rg_dns_cache_put(c, "2.0.0.127.Zen.Test", RG_DNS_T_A, &a);
	RGT_INTEQ(rg_dns_cache_count(c), 1);
	RGT_INTEQ(rg_dns_cache_get(c, "2.0.0.127.ZEN.test", RG_DNS_T_A, &r), 1);
	RGT_INTEQ(r.status, RG_DNS_OK);
	RGT_INTEQ(r.nrrs, 2);
	RGT_STREQ(inet_ntoa(r.rrs[1].a), "127.0.0.4");
	RGT_CHECK(r.ttl <= 300 && r.ttl >= 299, "ttl %u", r.ttl);
	rg_dns_result_release(&r);
	/* another type of the same name is another entry */
	RGT_INTEQ(rg_dns_cache_get(c, "2.0.0.127.zen.test", RG_DNS_T_TXT, &r), 0);

	/* negative answers are kept */
	a = answer(RG_DNS_NXDOMAIN, 60, none, lens);
	rg_dns_cache_put(c, "3.0.0.127.zen.test", RG_DNS_T_A, &a);
	RGT_INTEQ(rg_dns_cache_get(c, "3.0.0.127.zen.test", RG_DNS_T_A, &r), 1);
	RGT_INTEQ(r.status, RG_DNS_NXDOMAIN);
	RGT_INTEQ(r.rcode, 3);
	RGT_INTEQ(r.nrrs, 0);
	a = answer(RG_DNS_NODATA, 60, NULL, NULL);
	rg_dns_cache_put(c, "nodata.test", RG_DNS_T_MX, &a);
	RGT_INTEQ(rg_dns_cache_get(c, "nodata.test", RG_DNS_T_MX, &r), 1);
	RGT_INTEQ(r.status, RG_DNS_NODATA);

	/* a second answer for the name replaces the first */
	a = answer(RG_DNS_NXDOMAIN, 60, none, lens);
	rg_dns_cache_put(c, "2.0.0.127.zen.test", RG_DNS_T_A, &a);
	RGT_INTEQ(rg_dns_cache_count(c), 3);
	RGT_INTEQ(rg_dns_cache_get(c, "2.0.0.127.zen.test", RG_DNS_T_A, &r), 1);
	RGT_INTEQ(r.status, RG_DNS_NXDOMAIN);
	rg_dns_cache_free(c);
	/* a NULL cache keeps nothing and finds nothing */
	rg_dns_cache_put(NULL, "x.test", RG_DNS_T_A, &a);
	RGT_INTEQ(rg_dns_cache_get(NULL, "x.test", RG_DNS_T_A, &r), 0);
}

static void
test_refuse(void)
{
	struct rg_dns_cache *c = rg_dns_cache_new();
	static char big[5000];
	char a1[4] = { 127, 0, 0, 2 };
	char *items[] = { a1, NULL }, *bigs[] = { big, NULL };
	int lens[] = { 4, 0 }, biglens[] = { (int)sizeof(big), 0 };
	struct rg_dns_answer a;
	struct rg_dns_result r;

	RGT_CASE("refuse");
	memset(&r, 0, sizeof(r));
	a = answer(RG_DNS_SERVFAIL, 300, NULL, NULL);
	rg_dns_cache_put(c, "servfail.test", RG_DNS_T_A, &a);
	a = answer(RG_DNS_TIMEOUT, 300, NULL, NULL);
	rg_dns_cache_put(c, "timeout.test", RG_DNS_T_A, &a);
	a = answer(RG_DNS_ERROR, 300, NULL, NULL);
	rg_dns_cache_put(c, "error.test", RG_DNS_T_A, &a);
	a = answer(RG_DNS_OK, 0, items, lens);
	rg_dns_cache_put(c, "nottl.test", RG_DNS_T_A, &a);
	a = answer(RG_DNS_OK, 300, items, lens);
	a.bogus = 1;
	rg_dns_cache_put(c, "bogus.test", RG_DNS_T_A, &a);
	a = answer(RG_DNS_OK, 300, bigs, biglens);
	rg_dns_cache_put(c, "big.test", RG_DNS_T_TXT, &a);
	RGT_INTEQ(rg_dns_cache_count(c), 0);
	RGT_INTEQ(rg_dns_cache_get(c, "servfail.test", RG_DNS_T_A, &r), 0);
	RGT_INTEQ(rg_dns_cache_get(c, "bogus.test", RG_DNS_T_A, &r), 0);
	rg_dns_cache_free(c);
}

static void
test_expiry_and_bound(void)
{
	struct rg_dns_cache *c = rg_dns_cache_new();
	char a1[4] = { 127, 0, 0, 2 }, *items[] = { a1, NULL }, name[64];
	int lens[] = { 4, 0 };
	struct rg_dns_answer a = answer(RG_DNS_OK, 1, items, lens);
	struct rg_dns_result r;
	struct timespec ts = { 1, 100000000L };

	RGT_CASE("expiry");
	memset(&r, 0, sizeof(r));
	rg_dns_cache_put(c, "short.test", RG_DNS_T_A, &a);
	nanosleep(&ts, NULL);
	RGT_INTEQ(rg_dns_cache_get(c, "short.test", RG_DNS_T_A, &r), 0);

	RGT_CASE("bound");
	a.ttl = 600;
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "n%d.test", i);
		rg_dns_cache_put(c, name, RG_DNS_T_A, &a);
	}
	RGT_CHECK(rg_dns_cache_count(c) <= 16384 && rg_dns_cache_count(c) > 10000,
	    "%zu entries", rg_dns_cache_count(c));
	/* the newest is kept, whatever chain it lands in: 200 more names in
	 * the full table, each found at once (an empty chain used to store
	 * nothing: about 1 name in 55) */
	{
		int kept = 0;

		for (int i = 20000; i < 20200; i++) {
			snprintf(name, sizeof(name), "n%d.test", i);
			rg_dns_cache_put(c, name, RG_DNS_T_A, &a);
			if (rg_dns_cache_get(c, name, RG_DNS_T_A, &r) == 1) {
				kept++;
				rg_dns_result_release(&r);
			}
		}
		RGT_INTEQ(kept, 200);
		RGT_CHECK(rg_dns_cache_count(c) <= 16384, "%zu entries",
		    rg_dns_cache_count(c));
	}
	rg_dns_cache_free(c);

	RGT_CASE("bound in bytes: big TXT answers cannot take 16384 x 4 KB");
	c = rg_dns_cache_new();
	{
		static char big[4000];
		char *titems[] = { big, NULL };
		int tlens[] = { (int)sizeof(big), 0 };
		struct rg_dns_answer t = answer(RG_DNS_OK, 600, titems, tlens);

		memset(big, 'v', sizeof(big));
		for (int i = 0; i < 6000; i++) {
			snprintf(name, sizeof(name), "t%d.test", i);
			rg_dns_cache_put(c, name, RG_DNS_T_TXT, &t);
		}
	}
	/* 8 MiB over about 4.1 KB an entry */
	RGT_CHECK(rg_dns_cache_count(c) <= 2048 && rg_dns_cache_count(c) > 1000,
	    "%zu entries of 4 KB", rg_dns_cache_count(c));
	rg_dns_cache_free(c);
}

static void
test_in_front_of_backend(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_dns *dns = rg_dns_fake_open_text(
	    "2.0.0.127.zen.test A 127.0.0.2\n"
	    "slow.test TIMEOUT\n"
	    "broken.test SERVFAIL\n", "cache", &err);
	struct rg_dns_result r;
	struct rg_dns_stats st;
	char got[256];

	RGT_CASE("backend");
	RGT_CHECK(dns != NULL, "fake: %s", rg_buf_cstr(&err));
	if (dns == NULL)
		return;
	rg_dns_enable_cache(dns);
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 3; i++) {
		RGT_INTEQ(rg_dns_query(dns, "2.0.0.127.zen.test", RG_DNS_T_A, 100, &r), RG_DNS_OK);
		RGT_STREQ(inet_ntoa(r.rrs[0].a), "127.0.0.2");
		rg_dns_result_release(&r);
		RGT_INTEQ(rg_dns_query(dns, "9.0.0.127.zen.test", RG_DNS_T_A, 100, &r),
		    RG_DNS_NXDOMAIN);
		RGT_INTEQ(rg_dns_query(dns, "broken.test", RG_DNS_T_A, 100, &r), RG_DNS_SERVFAIL);
	}
	RGT_INTEQ(rg_dns_query(dns, "slow.test", RG_DNS_T_A, 20, &r), RG_DNS_TIMEOUT);
	RGT_INTEQ(rg_dns_query(dns, "slow.test", RG_DNS_T_A, 20, &r), RG_DNS_TIMEOUT);
	rg_dns_stats_get(dns, &st);
	/* 11 queries; the 2nd and 3rd of each kept answer came from the cache */
	snprintf(got, sizeof(got), "queries=%llu hits=%llu ok=%llu nx=%llu "
	    "servfail=%llu timeout=%llu", st.queries, st.cache_hits, st.answers,
	    st.nxdomain, st.servfails, st.timeouts);
	RGT_STREQ(got, "queries=11 hits=4 ok=3 nx=3 servfail=3 timeout=2");
	rg_dns_close(dns);
	rg_buf_release(&err);
}

RGT_MAIN(test_keep, test_refuse, test_expiry_and_bound, test_in_front_of_backend)
