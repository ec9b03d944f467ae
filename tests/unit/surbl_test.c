/*
 * surbl_test.c - URI block lists: query names for domains and reversed
 * addresses (IPv4, IPv6, too long), site syntax (zone, =filter, &mask)
 * good and bad, answer codes (bit masks, filters, 127.0.0.1 and
 * 127.255.255.x refusals, non-loopback answers), the parameters (file:
 * lists, errors at file:line, bounds), and whole messages against the
 * fake resolver: a listed link rejects naming domain and list, excluded
 * domains are never asked, surbl_max_domains caps the queries, a list
 * that never answers costs the deadline and lists nothing, tempfail and
 * tag, trusted clients with and without surbl_check_authenticated.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns.h"
#include "msgscan.h"
#include "session.h"
#include "settings.h"
#include "surbl.h"
#include "rgtest.h"
#include "rgtest_conf.h"

static char tmpdir[] = "/tmp/rgsurblXXXXXX";
static struct rg_dns *zone;

static const char zone_text[] =
    "spam-example.com.multi.surbl.test     A 127.0.0.8\n"
    "cracked-example.com.multi.surbl.test  A 127.0.0.128\n"
    "both-example.com.multi.surbl.test     A 127.0.0.24\n"
    "refused-example.com.multi.surbl.test  A 127.0.0.1\n"
    "spam-example.com.black.uribl.test     A 127.0.0.2\n"
    "grey-example.com.black.uribl.test     A 127.0.0.20\n"
    "hijack-example.com.black.uribl.test   A 198.51.100.7\n"
    "error-example.com.black.uribl.test    A 127.255.255.254\n"
    "ourcompany.com.multi.surbl.test       A 127.0.0.8\n"
    "1.2.0.192.multi.surbl.test            A 127.0.0.16\n"
    "spam-example.com.slow.test            TIMEOUT\n"
    "clean-example.com.slow.test           TIMEOUT\n"
    "spam-example.com.broken.test          SERVFAIL\n";

/* ---- query names --------------------------------------------------------- */

/* ip - a link address for the query name functions */
static struct rg_uri_ip
ip(const char *text)
{
	struct rg_uri_ip a;

	memset(&a, 0, sizeof(a));
	snprintf(a.text, sizeof(a.text), "%s", text);
	if (inet_pton(AF_INET, text, a.addr) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, text, a.addr) == 1)
		a.family = AF_INET6;
	return a;
}

/* qip - the query name for an address, or "(error)" */
static const char *
qip(const char *text, const char *zone_name)
{
	static char out[RG_DNS_QNAME_MAX + 1];
	struct rg_uri_ip a = ip(text);

	return rg_surbl_qname_ip(&a, zone_name, out, sizeof(out)) < 0 ?
	    "(error)" : out;
}

/* qdom - the query name for a domain, or "(error)" */
static const char *
qdom(const char *domain, const char *zone_name)
{
	static char out[RG_DNS_QNAME_MAX + 1];

	return rg_surbl_qname_domain(domain, zone_name, out, sizeof(out)) < 0 ?
	    "(error)" : out;
}

static void
test_qname(void)
{
	char longdom[260], zonebuf[80], label[64];

	RGT_CASE("a registered domain, as it is");
	RGT_STREQ(qdom("example.com", "multi.surbl.org"),
	    "example.com.multi.surbl.org");
	RGT_STREQ(qdom("example.co.uk", "dbl.spamhaus.org"),
	    "example.co.uk.dbl.spamhaus.org");
	RGT_STREQ(qdom("xn--bcher-kva.de", "z.test"), "xn--bcher-kva.de.z.test");

	RGT_CASE("IPv4: reversed octets (RFC 5782 s2.1)");
	RGT_STREQ(qip("1.2.3.4", "multi.surbl.org"), "4.3.2.1.multi.surbl.org");
	RGT_STREQ(qip("192.0.2.1", "z.test"), "1.2.0.192.z.test");

	RGT_CASE("IPv6: 32 reversed nibbles (RFC 5782 s2.4)");
	RGT_STREQ(qip("2001:db8::1", "z.test"),
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.z.test");

	RGT_CASE("too long for a DNS name (RFC 1035 s2.3.4): not asked");
	memset(label, 'a', 63);
	label[63] = '\0';
	/* 195 octets, then 68 of zone: 264 */
	snprintf(longdom, sizeof(longdom), "%s.%s.%s.com", label, label, label);
	snprintf(zonebuf, sizeof(zonebuf), "%s.test", label);
	RGT_STREQ(qdom(longdom, zonebuf), "(error)");
	RGT_CHECK(strcmp(qdom(longdom, "multi.surbl.org"), "(error)") != 0,
	    "195 + 16 octets fit");
	snprintf(longdom, sizeof(longdom), "%s.%s.%s", label, label, label);
	RGT_STREQ(qip("2001:db8::1", longdom), "(error)");
	RGT_CHECK(strcmp(qip("192.0.2.1", longdom), "(error)") != 0,
	    "IPv4 fits under a 191-octet zone");

	RGT_CASE("unknown family");
	{
		struct rg_uri_ip a;
		char out[RG_DNS_QNAME_MAX + 1];

		memset(&a, 0, sizeof(a));
		RGT_INTEQ(rg_surbl_qname_ip(&a, "z.test", out, sizeof(out)), -1);
	}
}

/* ---- sites and answer codes ---------------------------------------------- */

/* cls - classify one textual answer under a parsed site */
static enum rg_dnsbl_answer
cls(const struct rg_surbl_site *s, const char *addr)
{
	struct in_addr a;

	inet_pton(AF_INET, addr, &a);
	return rg_surbl_classify(s, &a);
}

static void
test_site(void)
{
	struct rg_surbl_site s;
	char why[256];

	RGT_CASE("zone alone: any 127/8 answer but the refusals");
	RGT_INTEQ(rg_surbl_site_parse("Multi.SURBL.test.", &s, why, sizeof(why)), 0);
	RGT_STREQ(s.site.zone, "multi.surbl.test");
	RGT_INTEQ(s.mask, 0);
	RGT_INTEQ(cls(&s, "127.0.0.2"), RG_DNSBL_LISTED);
	RGT_INTEQ(cls(&s, "127.0.0.128"), RG_DNSBL_LISTED);
	RGT_INTEQ(cls(&s, "127.0.0.1"), RG_DNSBL_REFUSED);
	RGT_INTEQ(cls(&s, "127.255.255.254"), RG_DNSBL_REFUSED);
	RGT_INTEQ(cls(&s, "127.255.255.252"), RG_DNSBL_REFUSED);
	RGT_INTEQ(cls(&s, "10.0.0.2"), RG_DNSBL_BOGUS);
	RGT_INTEQ(cls(&s, "198.51.100.7"), RG_DNSBL_BOGUS);
	rg_surbl_site_release(&s);

	RGT_CASE("bit mask, hexadecimal: answer & mask not zero");
	RGT_INTEQ(rg_surbl_site_parse("multi.surbl.test&0x58", &s, why,
	    sizeof(why)), 0);
	RGT_INTEQ(s.mask, 0x58);
	RGT_INTEQ(cls(&s, "127.0.0.8"), RG_DNSBL_LISTED);
	RGT_INTEQ(cls(&s, "127.0.0.16"), RG_DNSBL_LISTED);
	RGT_INTEQ(cls(&s, "127.0.0.64"), RG_DNSBL_LISTED);
	RGT_INTEQ(cls(&s, "127.0.0.136"), RG_DNSBL_LISTED);	/* 128 + 8 */
	RGT_INTEQ(cls(&s, "127.0.0.128"), RG_DNSBL_FILTERED);
	RGT_INTEQ(cls(&s, "127.0.0.2"), RG_DNSBL_FILTERED);
	RGT_INTEQ(cls(&s, "127.0.0.1"), RG_DNSBL_REFUSED);
	RGT_INTEQ(cls(&s, "127.255.255.255"), RG_DNSBL_REFUSED);
	RGT_INTEQ(cls(&s, "192.0.2.8"), RG_DNSBL_BOGUS);
	rg_surbl_site_release(&s);

	RGT_CASE("bit mask, decimal; a leading zero is not octal");
	RGT_INTEQ(rg_surbl_site_parse("m.test&8", &s, why, sizeof(why)), 0);
	RGT_INTEQ(s.mask, 8);
	RGT_INTEQ(cls(&s, "127.0.0.10"), RG_DNSBL_LISTED);
	RGT_INTEQ(cls(&s, "127.0.0.4"), RG_DNSBL_FILTERED);
	rg_surbl_site_release(&s);
	RGT_INTEQ(rg_surbl_site_parse("m.test&010", &s, why, sizeof(why)), 0);
	RGT_INTEQ(s.mask, 10);
	rg_surbl_site_release(&s);
	RGT_INTEQ(rg_surbl_site_parse("m.test&0XFF", &s, why, sizeof(why)), 0);
	RGT_INTEQ(s.mask, 255);
	rg_surbl_site_release(&s);

	RGT_CASE("plain codes, URIBL style: dnsbl's filter");
	RGT_INTEQ(rg_surbl_site_parse("black.uribl.test=127.0.0.[2..14]", &s, why,
	    sizeof(why)), 0);
	RGT_INTEQ(s.site.has_filter, 1);
	RGT_INTEQ(cls(&s, "127.0.0.2"), RG_DNSBL_LISTED);
	RGT_INTEQ(cls(&s, "127.0.0.14"), RG_DNSBL_LISTED);
	RGT_INTEQ(cls(&s, "127.0.0.20"), RG_DNSBL_FILTERED);
	RGT_INTEQ(cls(&s, "127.0.0.1"), RG_DNSBL_REFUSED);
	rg_surbl_site_release(&s);

	RGT_CASE("Spamhaus DBL: 127.0.1.255 (address query) filtered out");
	RGT_INTEQ(rg_surbl_site_parse("dbl.test=127.0.1.[2..99]", &s, why,
	    sizeof(why)), 0);
	RGT_INTEQ(cls(&s, "127.0.1.2"), RG_DNSBL_LISTED);
	RGT_INTEQ(cls(&s, "127.0.1.255"), RG_DNSBL_FILTERED);
	rg_surbl_site_release(&s);
}

static void
test_site_bad(void)
{
	static const struct {
		const char *spec, *why;
	} bad[] = {
		{ "m.test&0", "bad mask" },
		{ "m.test&256", "bad mask" },
		{ "m.test&0x100", "bad mask" },
		{ "m.test&0x", "bad mask" },
		{ "m.test&-1", "bad mask" },
		{ "m.test&x8", "bad mask" },
		{ "m.test&8a", "bad mask" },
		{ "m.test&0xg", "bad mask" },
		{ "m.test&", "bad mask" },
		{ "m.test& 8", "bad mask" },
		{ "m.test=127.0.0.2&8", "either =filter or &mask" },
		{ "m.test*2", "no weight" },
		{ "m.test=127.0.0.[2..300]", "bad filter" },
		{ "&8", "bad zone" },
		{ "bad!zone.test", "bad zone" },
	};
	struct rg_surbl_site s;
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		RGT_CASE(bad[i].spec);
		why[0] = '\0';
		RGT_INTEQ(rg_surbl_site_parse(bad[i].spec, &s, why, sizeof(why)), -1);
		RGT_CONTAINS(why, bad[i].why);
		RGT_CHECK(s.site.zone == NULL && s.mask == 0, "left set on error");
	}
}

/* ---- parameters ---------------------------------------------------------- */

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
		RGT_INTEQ(c->surbl.sites.n, 0);
		RGT_INTEQ(rg_domainset_count(&c->surbl.exclude), 0);
		RGT_INTEQ(c->surbl.max_domains, 20);
		RGT_INTEQ(c->surbl.action, RG_SURBL_REJECT);
		RGT_INTEQ(c->surbl.check_authenticated, 1);
		rg_conf_release(c);
	}

	RGT_CASE("lists inline, continued and from files");
	write_file("ex.txt", "# ours\nourcompany.com\n.blogspot.test\n");
	c = load("surbl_sites = multi.surbl.test&0x58,\n"
	    "    black.uribl.test=127.0.0.[2..14] dbl.test\n"
	    "surbl_exclude_domains = example.org, file:ex.txt\n"
	    "surbl_max_domains = 32\n"
	    "surbl_action = tag\n"
	    "surbl_check_authenticated = no\n", &err);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_INTEQ(c->surbl.sites.n, 3);
		if (c->surbl.sites.n == 3) {
			RGT_INTEQ(c->surbl.sites.v[0].mask, 0x58);
			RGT_INTEQ(c->surbl.sites.v[1].site.has_filter, 1);
			RGT_STREQ(c->surbl.sites.v[2].site.zone, "dbl.test");
		}
		RGT_INTEQ(rg_domainset_count(&c->surbl.exclude), 3);
		RGT_INTEQ(rg_domainset_match(&c->surbl.exclude, "OurCompany.com"), 1);
		RGT_INTEQ(rg_domainset_match(&c->surbl.exclude, "me.blogspot.test"), 1);
		RGT_INTEQ(rg_domainset_match(&c->surbl.exclude, "blogspot.test"), 0);
		RGT_INTEQ(rg_domainset_match(&c->surbl.exclude, "example.com"), 0);
		RGT_INTEQ(c->surbl.max_domains, 32);
		RGT_INTEQ(c->surbl.action, RG_SURBL_TAG);
		RGT_INTEQ(c->surbl.check_authenticated, 0);
		rg_conf_release(c);
	}

	RGT_CASE("errors name file and line");
	write_file("bad.txt", "ok.test\n\n*.wild.example\n");
	c = load("# first\n"
	    "surbl_sites = m.test&0x1ff\n"
	    "surbl_exclude_domains = file:bad.txt\n"
	    "surbl_max_domains = 33\n"
	    "surbl_action = drop\n", &err);
	RGT_CHECK(c == NULL, "bad config loaded");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:2: surbl_sites: m.test&0x1ff: bad mask");
	RGT_CONTAINS(rg_buf_cstr(&err), "bad.txt:3: surbl_exclude_domains: "
	    "\"*.wild.example\": write subdomains as \".wild.example\"");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:4: surbl_max_domains");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:5: surbl_action: expected one of");
	rg_conf_release(c);

	RGT_CASE("at most 8 lists: 8 x 32 hosts is one batch");
	c = load("surbl_sites = a.test b.test c.test d.test e.test f.test "
	    "g.test h.test i.test\n", &err);
	RGT_CHECK(c == NULL, "9 lists loaded");
	RGT_CONTAINS(rg_buf_cstr(&err), "surbl_sites: more than 8 lists");
	RGT_INTEQ(RG_SURBL_SITES_MAX * RG_SURBL_HOSTS_MAX, RG_DNS_BATCH_MAX);
	rg_buf_release(&err);
}

/* ---- whole messages against the fake resolver ----------------------------- */

struct run {
	struct rg_conn *c;
	struct rg_verdict v;
	unsigned long long queries;	/* started for this message */
	long long ms;			/* rg_surbl_eom's time */
};

/* elapsed_ms - since t0 */
static long long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000LL + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* run - a message whose HTML body is html, under conf; the note */
static const char *
run(struct run *r, const char *conf, const char *html, int trusted)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *cf = load(conf, &err);
	struct rg_dns_stats st0, st1;
	struct timespec t0;

	if (cf == NULL) {
		printf("FAIL: config: %s", rg_buf_cstr(&err));
		exit(1);
	}
	rg_buf_release(&err);
	r->c = rg_conn_new(cf, 1);
	rg_verdict_init(&r->v);
	rg_msg_begin(r->c);
	rg_msg_add_header(r->c, "From", "a@example.org");
	rg_msg_add_header(r->c, "Content-Type", "text/html; charset=utf-8");
	rg_msg_add_body(r->c, html, strlen(html));
	rg_msgscan_end(r->c->msg->scan);
	rg_dns_stats_get(zone, &st0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rg_surbl_eom(r->c, trusted, &r->v);
	r->ms = elapsed_ms(&t0);
	rg_dns_stats_get(zone, &st1);
	r->queries = st1.queries - st0.queries;
	for (size_t i = 0; i < r->c->msg->nnotes; i++)
		if (strcmp(r->c->msg->notes[i].key, "surbl") == 0)
			return r->c->msg->notes[i].value;
	return "(no note)";
}

static void
run_end(struct run *r)
{
	rg_verdict_clear(&r->v);
	r->c = rg_conn_free(r->c);
}

#define BASE "dns_timeout = 300ms\n"
#define SURBL BASE "surbl_sites = multi.surbl.test&0x58, black.uribl.test=127.0.0.[2..14]\n"

static void
test_listed(void)
{
	struct run r;

	RGT_CASE("a listed link rejects, naming domain and list");
	RGT_STREQ(run(&r, SURBL, "<p>Hi <a href=\"https://www.clean-example.com/\">x</a>"
	    " <a href=\"http://Click.SPAM-example.com/win?x=1\">win</a></p>", 0),
	    "spam-example.com@multi.surbl.test +more");
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	RGT_STREQ(r.v.rcode, "554");
	RGT_STREQ(r.v.xcode, "5.7.1");
	RGT_STREQ(r.v.text, "Message rejected: link to spam-example.com listed by "
	    "multi.surbl.test");
	RGT_STREQ(r.v.check, "surbl");
	RGT_INTEQ(r.queries, 4);	/* 2 domains x 2 lists, in one batch */
	run_end(&r);

	RGT_CASE("the first listing in link order decides");
	RGT_STREQ(run(&r, SURBL, "<a href=\"http://grey-example.com/\">a</a>"
	    "<a href=\"http://both-example.com/\">b</a>"
	    "<a href=\"http://spam-example.com/\">c</a>", 0),
	    "both-example.com@multi.surbl.test +more");
	RGT_CONTAINS(r.v.text, "link to both-example.com listed by multi.surbl.test");
	run_end(&r);

	RGT_CASE("plain codes of the second list");
	RGT_STREQ(run(&r, BASE "surbl_sites = black.uribl.test=127.0.0.[2..14]\n",
	    "see www.spam-example.com today", 0),
	    "spam-example.com@black.uribl.test");
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	run_end(&r);

	RGT_CASE("a link to an IP address is asked reversed");
	RGT_STREQ(run(&r, SURBL, "<a href=\"http://192.0.2.1/login\">bank</a>", 0),
	    "192.0.2.1@multi.surbl.test");
	RGT_STREQ(r.v.text, "Message rejected: link to 192.0.2.1 listed by "
	    "multi.surbl.test");
	run_end(&r);

	RGT_CASE("hexadecimal IP link: the scanner's dotted quad is asked");
	RGT_STREQ(run(&r, SURBL, "<a href=\"http://0xc0000201/\">bank</a>", 0),
	    "192.0.2.1@multi.surbl.test");
	run_end(&r);
}

static void
test_not_listed(void)
{
	struct run r;

	RGT_CASE("clean links: clean(N), mail flows");
	RGT_STREQ(run(&r, SURBL, "<a href=\"https://clean-example.com/\">a</a> "
	    "https://other-example.net/x", 0), "clean(2)");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	RGT_CHECK(r.v.add == NULL, "header added");
	RGT_INTEQ(r.queries, 4);
	run_end(&r);

	RGT_CASE("no links: nothing asked");
	RGT_STREQ(run(&r, SURBL, "<p>no links here</p>", 0), "clean(0)");
	RGT_INTEQ(r.queries, 0);
	run_end(&r);

	RGT_CASE("the mask leaves cracked sites (128) out");
	RGT_STREQ(run(&r, SURBL, "http://cracked-example.com/", 0), "clean(1)");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("a code outside the filter");
	RGT_STREQ(run(&r, SURBL, "http://grey-example.com/", 0), "clean(1)");
	run_end(&r);

	RGT_CASE("127.0.0.1, 127.255.255.254 and non-loopback answers never list");
	RGT_STREQ(run(&r, BASE "surbl_sites = multi.surbl.test, black.uribl.test\n",
	    "http://refused-example.com/ http://hijack-example.com/ "
	    "http://error-example.com/", 0), "clean(3)");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("no lists: nothing asked, no note");
	RGT_STREQ(run(&r, BASE, "http://spam-example.com/", 0), "(no note)");
	RGT_INTEQ(r.queries, 0);
	run_end(&r);
}

static void
test_exclude_cap(void)
{
	struct run r;

	RGT_CASE("an excluded domain is never asked");
	RGT_STREQ(run(&r, SURBL "surbl_exclude_domains = ourcompany.com\n",
	    "<a href=\"https://www.ourcompany.com/unsubscribe\">u</a>", 0),
	    "clean(0)");
	RGT_INTEQ(r.queries, 0);
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("without the exclusion the same link is listed");
	RGT_STREQ(run(&r, SURBL, "https://www.ourcompany.com/unsubscribe", 0),
	    "ourcompany.com@multi.surbl.test");
	run_end(&r);

	RGT_CASE("excluded domains do not count against the cap");
	RGT_STREQ(run(&r, SURBL "surbl_exclude_domains = ourcompany.com\n"
	    "surbl_max_domains = 1\n", "http://ourcompany.com/ "
	    "http://spam-example.com/", 0), "spam-example.com@multi.surbl.test +more");
	RGT_INTEQ(r.queries, 2);
	run_end(&r);

	RGT_CASE("surbl_max_domains: the hosts after the cap are not asked");
	RGT_STREQ(run(&r, SURBL "surbl_max_domains = 2\n", "http://a-example.com/ "
	    "http://b-example.com/ http://spam-example.com/ http://192.0.2.1/", 0),
	    "clean(2)");
	RGT_INTEQ(r.queries, 4);
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("domains come before addresses");
	RGT_STREQ(run(&r, SURBL "surbl_max_domains = 1\n", "http://192.0.2.1/ "
	    "http://a-example.com/", 0), "clean(1)");
	run_end(&r);
}

static void
test_failures(void)
{
	struct run r;

	RGT_CASE("a list that never answers: the deadline, not listed, mail flows");
	RGT_STREQ(run(&r, BASE "surbl_sites = slow.test\n",
	    "http://spam-example.com/ http://clean-example.com/", 0),
	    "clean(2) failed=2");
	RGT_CHECK(r.ms >= 295 && r.ms < 300 + 300, "took %lld ms, want ~300", r.ms);
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("one slow list, one answering: the listing still counts");
	RGT_STREQ(run(&r, BASE "surbl_sites = slow.test, multi.surbl.test\n",
	    "http://spam-example.com/", 0), "spam-example.com@multi.surbl.test");
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	run_end(&r);

	RGT_CASE("SERVFAIL is not a listing");
	RGT_STREQ(run(&r, BASE "surbl_sites = broken.test\n",
	    "http://spam-example.com/", 0), "clean(1) failed=1");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("a query name too long for DNS is skipped, others asked");
	{
		char conf[512], label[64];

		memset(label, 'z', 63);
		label[63] = '\0';
		/* a 237-octet zone: 17 more for "spam-example.com." is 254 */
		snprintf(conf, sizeof(conf), BASE "surbl_sites = %s.%s.%s.%.40s.test, "
		    "multi.surbl.test\n", label, label, label, label);
		RGT_STREQ(run(&r, conf, "http://spam-example.com/", 0),
		    "spam-example.com@multi.surbl.test");
		RGT_INTEQ(r.queries, 1);
		run_end(&r);
	}
}

static void
test_actions(void)
{
	struct run r;

	RGT_CASE("tempfail");
	run(&r, SURBL "surbl_action = tempfail\n", "http://spam-example.com/", 0);
	RGT_INTEQ(r.v.action, RG_ACT_TEMPFAIL);
	RGT_STREQ(r.v.rcode, "451");
	RGT_STREQ(r.v.xcode, "4.7.1");
	RGT_STREQ(r.v.text, "Message deferred: link to spam-example.com listed by "
	    "multi.surbl.test");
	run_end(&r);

	RGT_CASE("tag: every listing in X-Relayguard-SURBL, mail flows");
	RGT_STREQ(run(&r, SURBL "surbl_action = tag\n", "http://spam-example.com/ "
	    "http://192.0.2.1/", 0), "spam-example.com@multi.surbl.test +more");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	RGT_CHECK(r.v.add != NULL, "no header");
	if (r.v.add != NULL) {
		RGT_STREQ(r.v.add->name, "X-Relayguard-SURBL");
		RGT_STREQ(r.v.add->value, "spam-example.com listed by multi.surbl.test "
		    "(127.0.0.8), spam-example.com listed by black.uribl.test "
		    "(127.0.0.2), 192.0.2.1 listed by multi.surbl.test (127.0.0.16)");
		RGT_INTEQ(r.v.add->index, -1);
	}
	run_end(&r);

	RGT_CASE("trusted or logged in: checked by default");
	run(&r, SURBL, "http://spam-example.com/", 1);
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	run_end(&r);

	RGT_CASE("trusted, surbl_check_authenticated = no: skipped, nothing asked");
	RGT_STREQ(run(&r, SURBL "surbl_check_authenticated = no\n",
	    "http://spam-example.com/", 1), "skipped(trusted)");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	RGT_INTEQ(r.queries, 0);
	run_end(&r);

	RGT_CASE("untrusted, surbl_check_authenticated = no: checked");
	run(&r, SURBL "surbl_check_authenticated = no\n", "http://spam-example.com/", 0);
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	run_end(&r);

	RGT_CASE("a verdict already final is left alone, nothing asked");
	{
		struct rg_buf err = RG_BUF_INIT;
		struct rg_dns_stats a, b;

		r.c = rg_conn_new(load(SURBL, &err), 1);
		rg_msg_begin(r.c);
		rg_msg_add_body(r.c, "http://spam-example.com/\n", 25);
		rg_msgscan_end(r.c->msg->scan);
		rg_verdict_init(&r.v);
		rg_verdict_set(&r.v, RG_ACT_REJECT, "header", "554", "5.6.0", "x");
		rg_dns_stats_get(zone, &a);
		rg_surbl_eom(r.c, 0, &r.v);
		rg_dns_stats_get(zone, &b);
		RGT_STREQ(r.v.check, "header");
		RGT_INTEQ(b.queries - a.queries, 0);
		run_end(&r);
		rg_buf_release(&err);
	}

	RGT_CASE("no resolver: skipped, mail flows");
	rg_dns_set_default(NULL);
	RGT_STREQ(run(&r, SURBL, "http://spam-example.com/", 0),
	    "skipped(no resolver)");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);
	rg_dns_set_default(zone);
}

static void
setup(void)
{
	rgt_mkdtemp(tmpdir);
	rgt_fake_dns(zone_text);
	zone = rg_dns_default();
}

static void
cleanup(void)
{
	rgt_fake_dns_close();
	zone = NULL;
	rgt_rmtree(tmpdir);
}

RGT_MAIN(setup, test_qname, test_site, test_site_bad, test_conf, test_listed,
    test_not_listed, test_exclude_cap, test_failures, test_actions, cleanup)
