/*
 * dnsbl_test.c - DNSBL/DNSWL: RFC 5782 query names (IPv4, IPv6, ::1,
 * IPv4-mapped), postscreen entry syntax good and bad (with file:line
 * errors), answer filters, and whole connections against the fake
 * resolver: weights and threshold, error codes and non-loopback answers
 * never counted, DNSWL and trusted clients never blocked, timeouts and
 * SERVFAIL not counted, reject/tempfail/tag, the warning rate limit.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "dnsbl.h"
#include "session.h"
#include "settings.h"
#include "rgtest.h"
#include "rgtest_conf.h"

static char tmpdir[] = "/tmp/rgdnsblXXXXXX";

static const char zone_text[] =
    "7.2.0.192.zen.test       A 127.0.0.2\n"
    "7.2.0.192.zen.test       A 127.0.0.10\n"
    "7.2.0.192.bl.test        A 127.0.0.3\n"
    "7.2.0.192.filtered.test  A 127.0.0.200\n"
    "7.2.0.192.pub.test       A 127.255.255.254\n"
    "7.2.0.192.hijack.test    A 198.51.100.1\n"
    "7.2.0.192.wl.test        A 127.0.10.1\n"
    "7.2.0.192.slow.test      TIMEOUT\n"
    "7.2.0.192.broken.test    SERVFAIL\n"
    "8.2.0.192.zen.test       A 127.0.0.4\n"
    "9.2.0.192.zen.test       DELAY 50\n"
    "9.2.0.192.zen.test       A 127.0.0.2\n"
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.test "
    "A 127.0.0.2\n";

/* sa_from - a sockaddr for a textual address */
static const struct sockaddr *
sa_from(const char *text, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &((struct sockaddr_in *)ss)->sin_addr) == 1)
		ss->ss_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1)
		ss->ss_family = AF_INET6;
	return (const struct sockaddr *)ss;
}

/* qname - the query name for text under zone, or "(error)" */
static const char *
qname(const char *text, const char *zone)
{
	static char out[RG_DNS_QNAME_MAX + 1];
	struct sockaddr_storage ss;

	if (rg_dnsbl_qname(sa_from(text, &ss), zone, out, sizeof(out)) < 0)
		return "(error)";
	return out;
}

static void
test_qname(void)
{
	char zone[260], label[64];

	RGT_CASE("IPv4: reversed octets");
	RGT_STREQ(qname("192.0.2.7", "zen.test"), "7.2.0.192.zen.test");
	RGT_STREQ(qname("127.0.0.2", "zen.test"), "2.0.0.127.zen.test");
	RGT_STREQ(qname("10.200.0.255", "b.test"), "255.0.200.10.b.test");

	RGT_CASE("IPv6: 32 reversed nibbles (RFC 5782 s2.4)");
	RGT_STREQ(qname("2001:db8::1", "zen.test"),
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.test");
	RGT_STREQ(qname("2001:DB8:1234:5678:9abc:def0:fedc:ba98", "z.test"),
	    "8.9.a.b.c.d.e.f.0.f.e.d.c.b.a.9.8.7.6.5.4.3.2.1.8.b.d.0.1.0.0.2.z.test");
	RGT_STREQ(qname("::1", "zen.test"),
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.zen.test");

	RGT_CASE("IPv4-mapped IPv6 is asked as IPv4");
	RGT_STREQ(qname("::ffff:192.0.2.7", "zen.test"), "7.2.0.192.zen.test");

	RGT_CASE("unknown family, name too long");
	RGT_STREQ(qname("not an address", "zen.test"), "(error)");
	memset(label, 'a', 63);
	label[63] = '\0';
	/* 191 octets: room for IPv4's 16, not for IPv6's 64 */
	snprintf(zone, sizeof(zone), "%s.%s.%s", label, label, label);
	RGT_STREQ(qname("2001:db8::1", zone), "(error)");
	RGT_CHECK(strcmp(qname("192.0.2.7", zone), "(error)") != 0,
	    "IPv4 fits under a 191-octet zone");
}

/* a4 - an in_addr for classify */
static struct in_addr
a4(const char *text)
{
	struct in_addr a;

	inet_pton(AF_INET, text, &a);
	return a;
}

static void
test_site_parse(void)
{
	struct rg_dnsbl_site s;
	struct in_addr a;
	char why[256];

	RGT_CASE("zone alone: weight 1, any 127/8 answer");
	RGT_INTEQ(rg_dnsbl_site_parse("Zen.Test.", &s, why, sizeof(why)), 0);
	RGT_STREQ(s.zone, "zen.test");
	RGT_INTEQ(s.weight, 1);
	RGT_INTEQ(s.has_filter, 0);
	a = a4("127.0.0.77");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_LISTED);
	rg_dnsbl_site_release(&s);

	RGT_CASE("range filter and weight");
	RGT_INTEQ(rg_dnsbl_site_parse("zen.spamhaus.org=127.0.0.[2..11]*3", &s, why,
	    sizeof(why)), 0);
	RGT_STREQ(s.zone, "zen.spamhaus.org");
	RGT_INTEQ(s.weight, 3);
	a = a4("127.0.0.2");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_LISTED);
	a = a4("127.0.0.11");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_LISTED);
	a = a4("127.0.0.12");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_FILTERED);
	a = a4("127.0.1.2");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_FILTERED);
	rg_dnsbl_site_release(&s);

	RGT_CASE("single address, list, ranges in two octets");
	RGT_INTEQ(rg_dnsbl_site_parse("b.test=127.0.0.4", &s, why, sizeof(why)), 0);
	a = a4("127.0.0.4");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_LISTED);
	a = a4("127.0.0.5");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_FILTERED);
	rg_dnsbl_site_release(&s);
	RGT_INTEQ(rg_dnsbl_site_parse("l.test=127.0.0.[2;4;6..7]*2", &s, why,
	    sizeof(why)), 0);
	a = a4("127.0.0.4");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_LISTED);
	a = a4("127.0.0.7");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_LISTED);
	a = a4("127.0.0.3");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_FILTERED);
	rg_dnsbl_site_release(&s);
	RGT_INTEQ(rg_dnsbl_site_parse("list.dnswl.test=127.0.[0..255].[2..3]", &s,
	    why, sizeof(why)), 0);
	a = a4("127.0.15.3");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_LISTED);
	a = a4("127.0.15.1");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_FILTERED);
	rg_dnsbl_site_release(&s);

	RGT_CASE("error codes and non-loopback answers never list");
	RGT_INTEQ(rg_dnsbl_site_parse("any.test=127.[0..255].[0..255].[0..255]", &s,
	    why, sizeof(why)), 0);
	a = a4("127.255.255.254");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_REFUSED);
	a = a4("127.255.255.252");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_REFUSED);
	a = a4("127.255.255.255");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_REFUSED);
	a = a4("127.255.254.1");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_LISTED);
	a = a4("10.0.0.2");
	RGT_INTEQ(rg_dnsbl_classify(&s, &a), RG_DNSBL_BOGUS);
	rg_dnsbl_site_release(&s);

	RGT_CASE("negative weight");
	RGT_INTEQ(rg_dnsbl_site_parse("good.test*-5", &s, why, sizeof(why)), 0);
	RGT_INTEQ(s.weight, -5);
	rg_dnsbl_site_release(&s);
}

static void
test_site_bad(void)
{
	static const struct {
		const char *spec, *why;
	} bad[] = {
		{ "=127.0.0.2", "bad zone" },
		{ "zen.test=127.0.0", "bad filter" },
		{ "zen.test=127.0.0.256", "bad filter" },
		{ "zen.test=127.0.0.2.5", "bad filter" },
		{ "zen.test=127.0.0.[5..2]", "bad filter" },
		{ "zen.test=127.0.0.[2..", "bad filter" },
		{ "zen.test=127.0.0.[2;;4]", "bad filter" },
		{ "zen.test=127.0.0.0002", "bad filter" },
		{ "zen.test=", "bad filter" },
		{ "zen.test*x", "weight" },
		{ "zen.test*", "weight" },
		{ "zen.test*5000", "weight" },
		{ "zen.test*3=127.0.0.2", "weight" },
		{ "bad!zone.test", "bad zone" },
		{ "two..dots", "bad zone" },
	};
	struct rg_dnsbl_site s;
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		RGT_CASE(bad[i].spec);
		why[0] = '\0';
		RGT_INTEQ(rg_dnsbl_site_parse(bad[i].spec, &s, why, sizeof(why)), -1);
		RGT_CONTAINS(why, bad[i].why);
		RGT_CHECK(s.zone == NULL, "zone set on error");
	}
}

#define write_file(name, text) rgt_write_file(tmpdir, name, text)
#define load(text, err) rgt_conf_load_in(tmpdir, text, err)

static void
test_conf(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c;

	RGT_CASE("defaults");
	c = load("", &err);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_INTEQ(c->dnsbl.bl.n, 0);
		RGT_INTEQ(c->dnsbl.threshold, 1);
		RGT_INTEQ(c->dnsbl.action, RG_DNSBL_REJECT);
		rg_conf_release(c);
	}

	RGT_CASE("lists inline, continued and from a file");
	write_file("wl.txt", "# allow lists\nlist.dnswl.test=127.0.[0..255].[1..3]*2\n"
	    "\nother.wl.test\n");
	c = load("dnsbl_sites = zen.spamhaus.org=127.0.0.[2..11]*3,\n"
	    "    bl.example.test*2, b.test=127.0.0.4\n"
	    "dnswl_sites = file:wl.txt\n"
	    "dnsbl_threshold = 3\n"
	    "dnsbl_action = tag\n", &err);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_INTEQ(c->dnsbl.bl.n, 3);
		RGT_INTEQ(c->dnsbl.wl.n, 2);
		if (c->dnsbl.bl.n == 3 && c->dnsbl.wl.n == 2) {
			RGT_STREQ(c->dnsbl.bl.v[1].zone, "bl.example.test");
			RGT_INTEQ(c->dnsbl.bl.v[1].weight, 2);
			RGT_INTEQ(c->dnsbl.bl.v[2].has_filter, 1);
			RGT_INTEQ(c->dnsbl.wl.v[0].weight, 2);
			RGT_STREQ(c->dnsbl.wl.v[1].zone, "other.wl.test");
		}
		RGT_INTEQ(c->dnsbl.threshold, 3);
		RGT_INTEQ(c->dnsbl.action, RG_DNSBL_TAG);
		rg_conf_release(c);
	}

	RGT_CASE("errors name file and line");
	write_file("bad.txt", "ok.test\n\n# comment\nbad.test=127.0.0\n");
	c = load("# first\n"
	    "dnsbl_sites = zen.test=127.0.0.[2..300]\n"
	    "dnswl_sites = file:bad.txt\n"
	    "dnsbl_action = block\n", &err);
	RGT_CHECK(c == NULL, "bad config loaded");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:2: dnsbl_sites: zen.test=127.0.0.[2..300]: bad filter");
	RGT_CONTAINS(rg_buf_cstr(&err), "bad.txt:4: dnswl_sites: bad.test=127.0.0: bad filter");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:4: dnsbl_action: expected one of");
	rg_conf_release(c);

	RGT_CASE("negative DNSWL weight, too many lists");
	c = load("dnswl_sites = wl.test*-2\n", &err);
	RGT_CHECK(c == NULL, "negative DNSWL weight loaded");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:1: dnswl_sites: wl.test*-2: write the weight");
	{
		char text[2048] = "dnsbl_sites =";

		for (int i = 0; i <= RG_DNSBL_SITES_MAX; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text),
			    " l%d.test", i);
		c = load(text, &err);
		RGT_CHECK(c == NULL, "33 lists loaded");
		RGT_CONTAINS(rg_buf_cstr(&err), "more than 32 lists");
	}
	rg_buf_release(&err);
}

/* ---- whole connections against the fake resolver ---------------------- */

struct run {
	struct rg_conn *c;
	struct rg_verdict v;
};

/* run_start - a connection from addr under conf text, queries started */
static void
run_start(struct run *r, const char *conf, const char *addr)
{
	struct rg_buf err = RG_BUF_INIT;
	struct sockaddr_storage ss;
	struct rg_conf *c = load(conf, &err);

	if (c == NULL) {
		printf("FAIL: config: %s", rg_buf_cstr(&err));
		exit(1);
	}
	rg_buf_release(&err);
	r->c = rg_conn_new(c, 1);
	rg_conn_set_client(r->c, "client.test", addr ? sa_from(addr, &ss) : NULL);
	rg_verdict_init(&r->v);
	rg_dnsbl_start(r->c);
}

/* run - start, open a message, decide; the note is returned */
static const char *
run(struct run *r, const char *conf, const char *addr, int skip)
{
	const char *note = NULL;

	run_start(r, conf, addr);
	rg_msg_begin(r->c);
	rg_dnsbl_decide(r->c, skip, &r->v);
	for (size_t i = 0; i < r->c->msg->nnotes; i++)
		if (strcmp(r->c->msg->notes[i].key, "dnsbl") == 0)
			note = r->c->msg->notes[i].value;
	return note ? note : "(no note)";
}

static void
run_end(struct run *r)
{
	rg_verdict_clear(&r->v);
	r->c = rg_conn_free(r->c);
}

#define BASE "dns_timeout = 200ms\n"

static void
test_scoring(void)
{
	struct run r;

	RGT_CASE("listed, weight reaches the threshold: reject naming the list");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = zen.test=127.0.0.[2..11]*3\n"
	    "dnsbl_threshold = 3\n", "192.0.2.7", 0), "zen.test=127.0.0.2 score=3");
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	RGT_STREQ(r.v.rcode, "554");
	RGT_STREQ(r.v.xcode, "5.7.1");
	RGT_STREQ(r.v.text, "Service unavailable; client [192.0.2.7] blocked using zen.test");
	RGT_STREQ(r.v.check, "dnsbl");
	run_end(&r);

	RGT_CASE("below the threshold: mail flows");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = zen.test*2\ndnsbl_threshold = 3\n",
	    "192.0.2.7", 0), "zen.test=127.0.0.2 score=2");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("two lists add up, both named; a list counts once");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = zen.test*2, bl.test, nothere.test*5\n"
	    "dnsbl_threshold = 3\n", "192.0.2.7", 0),
	    "zen.test=127.0.0.2 bl.test=127.0.0.3 score=3");
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	RGT_CONTAINS(r.v.text, "blocked using zen.test, bl.test");
	run_end(&r);

	RGT_CASE("an answer the filter refuses does not count");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = filtered.test=127.0.0.[2..11]\n",
	    "192.0.2.7", 0), "score=0");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("the second answer passes the filter");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = zen.test=127.0.0.10\n",
	    "192.0.2.7", 0), "zen.test=127.0.0.10 score=1");
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	run_end(&r);

	RGT_CASE("error code 127.255.255.254 is never a listing");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = pub.test\n", "192.0.2.7", 0),
	    "pub.test=refused score=0");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("an answer outside 127/8 is never a listing");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = hijack.test\n", "192.0.2.7", 0),
	    "hijack.test=refused score=0");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("negative weight in dnsbl_sites offsets");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = zen.test*2, bl.test*-1\n"
	    "dnsbl_threshold = 2\n", "192.0.2.7", 0),
	    "zen.test=127.0.0.2 bl.test=127.0.0.3 score=1");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);
}

static void
test_overrides(void)
{
	struct run r;

	RGT_CASE("a DNSWL hit means never blocked");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = zen.test*10\n"
	    "dnswl_sites = wl.test=127.0.[0..255].[1..3]*2\n", "192.0.2.7", 0),
	    "zen.test=127.0.0.2 wl:wl.test=127.0.10.1 score=8");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("a DNSWL whose filter does not match changes nothing");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = zen.test\n"
	    "dnswl_sites = wl.test=127.0.[0..255].[2..3]\n", "192.0.2.7", 0),
	    "zen.test=127.0.0.2 score=1");
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	run_end(&r);

	RGT_CASE("trusted or authenticated: never blocked, still noted");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = zen.test\n", "192.0.2.7", 1),
	    "zen.test=127.0.0.2 score=1");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("a verdict already final is left alone");
	run_start(&r, BASE "dnsbl_sites = zen.test\n", "192.0.2.7");
	rg_verdict_set(&r.v, RG_ACT_TEMPFAIL, "relay", "450", "4.7.1", "x");
	rg_dnsbl_decide(r.c, 0, &r.v);
	RGT_STREQ(r.v.check, "relay");
	RGT_STREQ(rg_dnsbl_summary(r.c), "zen.test=127.0.0.2 score=1");
	run_end(&r);
}

/* elapsed_ms - since t0 */
static long long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000LL + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
test_failures(void)
{
	struct timespec t0;
	struct run r;
	long long took;

	RGT_CASE("a timeout does not count and ends at the deadline");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	RGT_STREQ(run(&r, BASE "dnsbl_sites = slow.test*5, bl.test\n"
	    "dnsbl_threshold = 2\n", "192.0.2.7", 0),
	    "slow.test=timeout bl.test=127.0.0.3 score=1");
	took = elapsed_ms(&t0);
	RGT_CHECK(took >= 195 && took < 200 + 200, "took %lld ms, want ~200", took);
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("SERVFAIL does not count");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = broken.test\n", "192.0.2.7", 0),
	    "broken.test=servfail score=0");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("no client address: nothing asked");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = zen.test\n", NULL, 0),
	    "skipped (no client address)");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("no lists: no state, no note");
	RGT_STREQ(run(&r, BASE, "192.0.2.7", 0), "(no note)");
	RGT_CHECK(r.c->dnsbl == NULL, "state without lists");
	run_end(&r);

	RGT_CASE("freed with answers in flight");
	run_start(&r, BASE "dnsbl_sites = zen.test, slow.test\n", "192.0.2.9");
	run_end(&r);
	usleep(80 * 1000);	/* the delayed answer arrives to nothing */
}

static void
test_actions(void)
{
	struct rg_verdict eom;
	struct run r;

	RGT_CASE("tempfail");
	run(&r, BASE "dnsbl_sites = zen.test\ndnsbl_action = tempfail\n",
	    "192.0.2.7", 0);
	RGT_INTEQ(r.v.action, RG_ACT_TEMPFAIL);
	RGT_STREQ(r.v.rcode, "451");
	RGT_STREQ(r.v.xcode, "4.7.1");
	RGT_CONTAINS(r.v.text, "client [192.0.2.7] blocked using zen.test");
	run_end(&r);

	RGT_CASE("tag: mail flows, the header comes at end of message");
	run(&r, BASE "dnsbl_sites = zen.test\ndnsbl_action = tag\n", "192.0.2.7", 0);
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	rg_verdict_init(&eom);
	rg_dnsbl_eom(r.c, &eom);
	RGT_CHECK(eom.add != NULL, "no X-DNSBL header");
	if (eom.add != NULL) {
		RGT_STREQ(eom.add->name, "X-DNSBL");
		RGT_STREQ(eom.add->value, "zen.test=127.0.0.2 score=1");
	}
	rg_verdict_clear(&eom);

	RGT_CASE("second message on the connection: same answer, no new wait");
	rg_msg_begin(r.c);
	rg_dnsbl_decide(r.c, 1, &r.v);
	RGT_STREQ(r.c->msg->nnotes ? r.c->msg->notes[0].value : "", "zen.test=127.0.0.2 score=1");
	rg_dnsbl_eom(r.c, &eom);
	RGT_CHECK(eom.add == NULL, "tagged a trusted client");
	rg_verdict_clear(&eom);
	run_end(&r);

	RGT_CASE("IPv6 client");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = zen.test\n", "2001:db8::1", 0),
	    "zen.test=127.0.0.2 score=1");
	RGT_STREQ(r.v.text, "Service unavailable; client [2001:db8::1] blocked using zen.test");
	run_end(&r);

	RGT_CASE("answer delivered from another thread");
	RGT_STREQ(run(&r, BASE "dnsbl_sites = zen.test\n", "192.0.2.9", 0),
	    "zen.test=127.0.0.2 score=1");
	run_end(&r);

	RGT_CASE("decide without start: the queries start then");
	{
		struct rg_buf err = RG_BUF_INIT;
		struct sockaddr_storage ss;

		r.c = rg_conn_new(load(BASE "dnsbl_sites = zen.test\n", &err), 1);
		rg_conn_set_client(r.c, "client.test", sa_from("192.0.2.7", &ss));
		rg_verdict_init(&r.v);
		rg_dnsbl_decide(r.c, 0, &r.v);
		RGT_INTEQ(r.v.action, RG_ACT_REJECT);
		run_end(&r);
		rg_buf_release(&err);
	}

	RGT_CASE("decided before any message: summary kept for later");
	run_start(&r, BASE "dnsbl_sites = zen.test=127.0.0.4\n", "192.0.2.8");
	rg_dnsbl_decide(r.c, 0, &r.v);
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	RGT_STREQ(rg_dnsbl_summary(r.c), "zen.test=127.0.0.4 score=1");
	run_end(&r);
}

static void
test_warn_rate(void)
{
	RGT_CASE("one warning per zone per minute");
	RGT_INTEQ(rg_dnsbl_warn_due("rate.test", 1000), 1);
	RGT_INTEQ(rg_dnsbl_warn_due("rate.test", 1010), 0);
	RGT_INTEQ(rg_dnsbl_warn_due("other-rate.test", 1010), 1);
	RGT_INTEQ(rg_dnsbl_warn_due("rate.test", 1059), 0);
	RGT_INTEQ(rg_dnsbl_warn_due("rate.test", 1060), 1);
}

static struct rg_dns *zone;

static void
setup(void)
{
	rgt_mkdtemp(tmpdir);
	rgt_fake_dns(zone_text);
	zone = rg_dns_default();
}

static void
teardown(void)
{
	rgt_fake_dns_close();
	zone = NULL;
	rgt_rmtree(tmpdir);
}

RGT_MAIN(setup, test_qname, test_site_parse, test_site_bad, test_conf,
    test_scoring, test_overrides, test_failures, test_actions, test_warn_rate,
    teardown)
