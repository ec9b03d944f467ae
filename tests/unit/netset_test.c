/*
 * netset_test.c - CIDR network sets: IPv4, IPv6, IPv4-mapped clients,
 * host bits, bad items, and the same through relayguard.conf with errors
 * and warnings naming the file and line (inline values and file: lists).
 * A set of a thousand networks is checked against a plain linear scan.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "netset.h"
#include "settings.h"
#include "rgtest.h"
#include "rgtest_conf.h"

static char tmpdir[] = "/tmp/rgnetXXXXXX";

/* sa - a sockaddr from text (IPv4 or IPv6); static storage, two slots */
static const struct sockaddr *
sa(const char *text)
{
	static struct sockaddr_storage ss[2];
	static int slot;
	struct sockaddr_storage *s = &ss[slot++ % 2];

	memset(s, 0, sizeof(*s));
	if (inet_pton(AF_INET, text, &((struct sockaddr_in *)s)->sin_addr) == 1)
		s->ss_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)s)->sin6_addr) == 1)
		s->ss_family = AF_INET6;
	else
		fprintf(stderr, "test bug: bad address %s\n", text);
	return (const struct sockaddr *)s;
}

/* build - a finished set from items; every item must be accepted */
static void
build(struct rg_netset *s, const char *const *items)
{
	char why[256];

	memset(s, 0, sizeof(*s));
	for (; *items; items++)
		RGT_CHECK(rg_netset_add(s, *items, why, sizeof(why)) >= 0,
		    "rejected %s: %s", *items, why);
	rg_netset_finish(s);
}

static void
test_lookup(void)
{
	static const char *const items[] = {
		"192.0.2.0/24", "198.51.100.7", "10.0.0.0/8", "0.0.0.0/32",
		"2001:db8::/32", "[2001:db8:ffff::1]/128", "fe80::/10",
		"::ffff:203.0.113.0/120", "::1", NULL,
	};
	static const struct {
		const char *addr;
		int want;
	} cases[] = {
		{ "192.0.2.0", 1 }, { "192.0.2.255", 1 }, { "192.0.3.0", 0 },
		{ "198.51.100.7", 1 }, { "198.51.100.8", 0 }, { "10.255.1.2", 1 },
		{ "11.0.0.0", 0 }, { "0.0.0.0", 1 }, { "0.0.0.1", 0 },
		{ "2001:db8::1", 1 }, { "2001:db8:ffff:ffff::1", 1 },
		{ "2001:db9::1", 0 }, { "fe80::1", 1 }, { "febf::1", 1 },
		{ "fec0::1", 0 }, { "::1", 1 }, { "::2", 0 },
		/* IPv4-mapped clients match IPv4 networks */
		{ "::ffff:192.0.2.1", 1 }, { "::ffff:10.1.2.3", 1 },
		{ "::ffff:192.0.3.1", 0 },
		/* a network written IPv4-mapped is the IPv4 network */
		{ "203.0.113.9", 1 }, { "::ffff:203.0.113.9", 1 },
		{ "203.0.114.9", 0 },
		/* IPv4-compatible (deprecated) is not mapped */
		{ "::192.0.2.1", 0 },
	};
	struct rg_netset s;

	build(&s, items);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RGT_CASE(cases[i].addr);
		RGT_INTEQ(rg_netset_contains(&s, sa(cases[i].addr)), cases[i].want);
	}
	RGT_CASE("not an internet address");
	struct sockaddr un = { .sa_family = AF_UNIX };
	RGT_INTEQ(rg_netset_contains(&s, &un), 0);
	RGT_INTEQ(rg_netset_contains(&s, NULL), 0);
	rg_netset_release(&s);
	RGT_INTEQ(rg_netset_count(&s), 0);
	RGT_INTEQ(rg_netset_contains(&s, sa("192.0.2.1")), 0);
}

static void
test_everything(void)
{
	static const char *const v6all[] = { "::/0", NULL };
	static const char *const v4all[] = { "0.0.0.0/0", NULL };
	struct rg_netset s;

	RGT_CASE("::/0 is every IPv6 client, no IPv4 one");
	build(&s, v6all);
	RGT_INTEQ(rg_netset_contains(&s, sa("2001:db8::1")), 1);
	RGT_INTEQ(rg_netset_contains(&s, sa("192.0.2.1")), 0);
	rg_netset_release(&s);

	RGT_CASE("0.0.0.0/0 is every IPv4 client, mapped or not");
	build(&s, v4all);
	RGT_INTEQ(rg_netset_contains(&s, sa("192.0.2.1")), 1);
	RGT_INTEQ(rg_netset_contains(&s, sa("::ffff:192.0.2.1")), 1);
	RGT_INTEQ(rg_netset_contains(&s, sa("2001:db8::1")), 0);
	rg_netset_release(&s);
}

static void
test_items(void)
{
	static const struct {
		const char *item;
		int rc;
		const char *why;
	} cases[] = {
		{ "192.0.2.1/24", 1, "host bits set in \"192.0.2.1/24\"; using 192.0.2.0/24" },
		{ "2001:db8::1/32", 1, "using 2001:db8::/32" },
		{ "::ffff:192.0.2.1/120", 1, "using 192.0.2.0/24" },
		{ "192.0.2.0/33", -1, "prefix length out of range (0 to 32) in \"192.0.2.0/33\"" },
		{ "2001:db8::/129", -1, "prefix length out of range (0 to 128)" },
		{ "192.0.2.0/", -1, "prefix length out of range" },
		{ "192.0.2.0/-1", -1, "prefix length out of range" },
		{ "192.0.2.0/+8", -1, "prefix length out of range" },
		{ "192.0.2.0/0024", -1, "prefix length out of range" },
		{ "192.0.2.0/2x", -1, "prefix length out of range" },
		{ "192.0.2", -1, "bad network address \"192.0.2\"" },
		{ "192.0.2.256", -1, "bad network address" },
		{ "010.0.0.1", -1, "bad network address" },
		{ "10/8", -1, "bad network address" },
		{ "example.com", -1, "bad network address" },
		{ "/24", -1, "bad network address" },
		{ "[192.0.2.1", -1, "bad network address" },
		{ "2001:db8:::1", -1, "bad network address" },
		{ "[2001:db8::]/48", 0, "" },
		{ "[::1]", 0, "" },
		{ "0.0.0.0/0", 0, "" },
	};
	struct rg_netset s;
	char why[256];

	memset(&s, 0, sizeof(s));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RGT_CASE(cases[i].item);
		why[0] = '\0';
		RGT_INTEQ(rg_netset_add(&s, cases[i].item, why, sizeof(why)),
		    cases[i].rc);
		if (cases[i].rc != 0)
			RGT_CONTAINS(why, cases[i].why);
	}
	RGT_CASE("duplicates are dropped");
	/* 192.0.2.0/24 three times (once IPv4-mapped), 2001:db8::/32 and /48,
	 * ::1/128, 0.0.0.0/0 */
	rg_netset_add(&s, "192.0.2.0/24", why, sizeof(why));
	rg_netset_finish(&s);
	RGT_INTEQ(rg_netset_count(&s), 5);
	RGT_INTEQ(rg_netset_contains(&s, sa("192.0.2.77")), 1);
	rg_netset_release(&s);
}

static struct rg_netset singles[1000];

/* linear - the obvious lookup: one single-network set after another */
static int
linear(size_t n, const char *addr)
{
	const struct sockaddr *a = sa(addr);

	for (size_t i = 0; i < n; i++)
		if (rg_netset_contains(&singles[i], a))
			return 1;
	return 0;
}

static void
test_large(void)
{
	static char items[1000][48];
	struct rg_netset s;
	char why[128], addr[64];
	size_t bad = 0, hits = 0;

	RGT_CASE("a thousand networks of mixed lengths");
	memset(&s, 0, sizeof(s));
	srand(7);
	for (size_t i = 0; i < 1000; i++) {
		if (i % 3 == 0)
			snprintf(items[i], sizeof(items[i]), "2001:db8:%x::/%d",
			    rand() % 0x10000, 40 + rand() % 25);
		else
			snprintf(items[i], sizeof(items[i]), "%d.%d.0.0/%d",
			    rand() % 224, rand() % 256, 12 + rand() % 13);
		if (rg_netset_add(&s, items[i], why, sizeof(why)) < 0)
			bad++;
		rg_netset_add(&singles[i], items[i], why, sizeof(why));
		rg_netset_finish(&singles[i]);
	}
	rg_netset_finish(&s);
	RGT_INTEQ(bad, 0);
	for (int i = 0; i < 3000; i++) {
		if (i % 3 == 0)
			snprintf(addr, sizeof(addr), "2001:db8:%x::%x", rand() % 0x10000,
			    rand() % 0x10000);
		else
			snprintf(addr, sizeof(addr), "%d.%d.%d.%d", rand() % 224,
			    rand() % 256, rand() % 256, rand() % 256);
		if (rg_netset_contains(&s, sa(addr)) != linear(1000, addr))
			bad++;
		hits += (size_t)linear(1000, addr);
	}
	RGT_CHECK(bad == 0, "%zu lookups disagree with a linear scan", bad);
	RGT_CHECK(hits > 20 && hits < 2980, "%zu hits: the sample tests one side only",
	    hits);
	/* every network's own address is inside */
	for (size_t i = 0; i < 1000; i++) {
		char host[48];

		snprintf(host, sizeof(host), "%.*s", (int)strcspn(items[i], "/"),
		    items[i]);
		if (!rg_netset_contains(&s, sa(host)))
			bad++;
		rg_netset_release(&singles[i]);
	}
	RGT_INTEQ(bad, 0);
	rg_netset_release(&s);
}

/* write_file - tmpdir/name with text; returns the path (static, 2 slots) */
static const char *
write_file(const char *name, const char *text)
{
	static char path[2][512];
	static int slot;
	char *p = path[slot++ % 2];
	FILE *fp;

	snprintf(p, 512, "%s/%s", tmpdir, name);
	fp = fopen(p, "w");
	fputs(text, fp);
	fclose(fp);
	return p;
}

static void
test_conf(void)
{
	struct rg_buf err = RG_BUF_INIT, warn = RG_BUF_INIT;
	struct rg_conf *c;

	RGT_CASE("default trusted_networks");
	c = rg_conf_load(NULL, &err, NULL);
	RGT_CHECK(c != NULL, "defaults: %s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_INTEQ(rg_netset_contains(&c->relay.trusted_networks, sa("127.0.0.5")), 1);
		RGT_INTEQ(rg_netset_contains(&c->relay.trusted_networks, sa("::1")), 1);
		RGT_INTEQ(rg_netset_contains(&c->relay.trusted_networks, sa("::ffff:127.0.0.1")), 1);
		RGT_INTEQ(rg_netset_contains(&c->relay.trusted_networks, sa("192.0.2.1")), 0);
		RGT_INTEQ(rg_netset_count(&c->relay.local_ip_literals), 0);
	}
	rg_conf_release(c);

	RGT_CASE("inline and file: lists, with a warning at its line");
	write_file("nets", "# trusted\n192.0.2.0/24   # office\n\n"
	    "2001:db8::/32, 198.51.100.1/24\n");
	rg_buf_reset(&err);
	c = rg_conf_load(write_file("t.conf", "log_level = info\n"
	    "trusted_networks = 127.0.0.1,\n  file:nets\n"), &err, &warn);
	RGT_CHECK(c != NULL, "load: %s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_INTEQ(rg_netset_count(&c->relay.trusted_networks), 4);
		RGT_INTEQ(rg_netset_contains(&c->relay.trusted_networks, sa("198.51.100.200")), 1);
		RGT_INTEQ(rg_netset_contains(&c->relay.trusted_networks, sa("2001:db8:1::1")), 1);
		RGT_INTEQ(rg_netset_contains(&c->relay.trusted_networks, sa("127.0.0.2")), 0);
	}
	RGT_CONTAINS(rg_buf_cstr(&warn), "/nets:4: warning: trusted_networks: "
	    "host bits set in \"198.51.100.1/24\"; using 198.51.100.0/24");
	rg_conf_release(c);

	RGT_CASE("bad items: every one named with its file and line");
	write_file("nets", "192.0.2.0/24\n192.0.2.0/40\n\n# c\nnot-an-address\n");
	rg_buf_reset(&err);
	c = rg_conf_load(write_file("t.conf", "\nclient_block_networks = 10.0.0.0/8 10.1/16\n"
	    "local_ip_literals = file:nets\n"), &err, &warn);
	RGT_CHECK(c == NULL, "accepted bad networks");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:2: client_block_networks: bad network "
	    "address \"10.1/16\"");
	RGT_CONTAINS(rg_buf_cstr(&err), "/nets:2: local_ip_literals: prefix length out "
	    "of range (0 to 32) in \"192.0.2.0/40\"");
	RGT_CONTAINS(rg_buf_cstr(&err), "/nets:5: local_ip_literals: bad network "
	    "address \"not-an-address\"");
	rg_conf_release(c);

	RGT_CASE("missing file: list");
	rg_buf_reset(&err);
	c = rg_conf_load(write_file("t.conf", "trusted_networks = file:/nonexistent/nets\n"),
	    &err, &warn);
	RGT_CHECK(c == NULL, "accepted a missing file");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:1: cannot open /nonexistent/nets");
	rg_conf_release(c);
	rg_buf_release(&err);
	rg_buf_release(&warn);
}

static void
setup(void)
{
	rgt_mkdtemp(tmpdir);
}

static void
teardown(void)
{
	rgt_rmtree(tmpdir);
}

RGT_MAIN(setup, test_lookup, test_everything, test_items, test_large,
    test_conf, teardown)
