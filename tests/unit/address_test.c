/*
 * address_test.c - the RFC 5321 path parser: one table of paths with the
 * local part, domain, real destination and tricks each must give, then the
 * parts the table does not show (route hops, literal addresses, the hosts
 * in a local part, names of tricks, configured domain names).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "rgtest.h"

#define U8	RG_ADDR_SMTPUTF8

struct addr_case {
	const char *in;
	unsigned flags;
	int rc;
	const char *special;	/* "null", "postmaster" or NULL */
	const char *local, *domain, *dest, *tricks;
};

static const struct addr_case addr_cases[] = {
	/* plain forms */
	{ "<user@ours.example>", 0, 0, NULL, "user", "ours.example", "ours.example", "none" },
	{ "user@ours.example", 0, 0, NULL, "user", "ours.example", "ours.example", "none" },
	{ "<User@OURS.Example.>", 0, 0, NULL, "User", "ours.example", "ours.example", "none" },
	{ "<first.last+tag@mail.ours.example>", 0, 0, NULL, "first.last+tag", "mail.ours.example", "mail.ours.example", "none" },
	{ "<>", 0, 0, "null", "", "", "", "none" },
	{ "", 0, 0, "null", "", "", "", "none" },
	{ "<postmaster>", 0, 0, "postmaster", "postmaster", "", "", "none" },
	{ "<PostMaster>", 0, 0, "postmaster", "PostMaster", "", "", "none" },
	{ "<\"john doe\"@ours.example>", 0, 0, NULL, "john doe", "ours.example", "ours.example", "none" },
	{ "<\"user\"@ours.example>", 0, 0, NULL, "user", "ours.example", "ours.example", "none" },
	{ "<user@ours_mx.example>", 0, 0, NULL, "user", "ours_mx.example", "ours_mx.example", "none" },
	/* IDN: A-labels are ordinary names (RFC 5890) */
	{ "<user@xn--bcher-kva.example>", 0, 0, NULL, "user", "xn--bcher-kva.example", "xn--bcher-kva.example", "none" },
	{ "<user@XN--BCHER-KVA.Example>", 0, 0, NULL, "user", "xn--bcher-kva.example", "xn--bcher-kva.example", "none" },
	/* percent hack, plain and nested: the rightmost % is the next hop */
	{ "<user%evil.example@ours.example>", 0, 0, NULL, "user%evil.example", "ours.example", "evil.example", "percent-hack" },
	{ "<USER%EVIL.Example@ours.example>", 0, 0, NULL, "USER%EVIL.Example", "ours.example", "evil.example", "percent-hack" },
	{ "<user%evil.example>", 0, 0, NULL, "user%evil.example", "", "evil.example", "percent-hack" },
	{ "<user%evil.example%relay.example@ours.example>", 0, 0, NULL, "user%evil.example%relay.example", "ours.example", "evil.example", "percent-hack" },
	{ "<user%@ours.example>", 0, -1, NULL, "user%", "ours.example", "", "percent-hack,empty-part" },
	/* bang paths: the leftmost host is the next hop */
	{ "<evil.example!user@ours.example>", 0, 0, NULL, "evil.example!user", "ours.example", "evil.example", "bang-path" },
	{ "<ours.example!evil.example!user>", 0, 0, NULL, "ours.example!evil.example!user", "", "evil.example", "bang-path" },
	{ "<!user@ours.example>", 0, -1, NULL, "!user", "ours.example", "", "bang-path,empty-part" },
	{ "<evil.example!user%relay.example@ours.example>", 0, 0, NULL, "evil.example!user%relay.example", "ours.example", "evil.example", "percent-hack,bang-path" },
	/* source routes (RFC 5321 4.1.1.3, appendix C) */
	{ "<@ours.example:user@evil.example>", 0, 0, NULL, "user", "evil.example", "evil.example", "source-route" },
	{ "<@a.example,@b.example:user@c.example>", 0, 0, NULL, "user", "c.example", "c.example", "source-route" },
	{ "<@ours.example:user%evil.example@ours.example>", 0, 0, NULL, "user%evil.example", "ours.example", "evil.example", "percent-hack,source-route" },
	{ "<@[192.0.2.1]:user@evil.example>", 0, 0, NULL, "user", "evil.example", "evil.example", "source-route,ip-literal" },
	{ "<@a.example,b.example:user@c.example>", 0, -1, NULL, "", "", "", "source-route,bad-syntax" },
	{ "<@ours.example:>", 0, -1, NULL, "", "", "", "source-route,empty-part" },
	/* quoted local parts hiding routing characters */
	{ "<\"user@evil.example\"@ours.example>", 0, 0, NULL, "user@evil.example", "ours.example", "evil.example", "quoted-local-part" },
	{ "<\"user%evil.example\"@ours.example>", 0, 0, NULL, "user%evil.example", "ours.example", "evil.example", "percent-hack,quoted-local-part" },
	{ "<\"evil.example!user\"@ours.example>", 0, 0, NULL, "evil.example!user", "ours.example", "evil.example", "bang-path,quoted-local-part" },
	{ "<\"\"@ours.example>", 0, -1, NULL, "", "ours.example", "ours.example", "empty-part" },
	{ "<\"user\"x@ours.example>", 0, -1, NULL, "user", "", "", "empty-part,bad-syntax" },
	{ "<\"user@ours.example>", 0, -1, NULL, "user@ours.example", "", "ours.example", "quoted-local-part,bad-syntax" },
	/* backslash escapes, outside and inside quotes */
	{ "<user\\@evil.example@ours.example>", 0, 0, NULL, "user@evil.example", "ours.example", "evil.example", "escaped-char" },
	{ "<user\\%evil.example@ours.example>", 0, 0, NULL, "user%evil.example", "ours.example", "evil.example", "percent-hack,escaped-char" },
	{ "<us\\er@ours.example>", 0, 0, NULL, "user", "ours.example", "ours.example", "escaped-char" },
	{ "<\"us\\\"er\"@ours.example>", 0, 0, NULL, "us\"er", "ours.example", "ours.example", "escaped-char" },
	{ "<\"user\\@evil.example\"@ours.example>", 0, 0, NULL, "user@evil.example", "ours.example", "evil.example", "quoted-local-part,escaped-char" },
	/* several @: the last one is the domain */
	{ "<user@evil.example@ours.example>", 0, 0, NULL, "user@evil.example", "ours.example", "evil.example", "multiple-at" },
	{ "<a@b.example@c.example@ours.example>", 0, 0, NULL, "a@b.example@c.example", "ours.example", "b.example", "multiple-at" },
	/* address literals (RFC 5321 4.1.3) */
	{ "<user@[192.0.2.1]>", 0, 0, NULL, "user", "[192.0.2.1]", "[192.0.2.1]", "ip-literal" },
	{ "<user@[IPv6:2001:db8::1]>", 0, 0, NULL, "user", "[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", "ip-literal" },
	{ "<user@[ipv6:2001:0DB8:0:0::1]>", 0, 0, NULL, "user", "[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", "ip-literal" },
	{ "<user@[IPv6:::ffff:192.0.2.1]>", 0, 0, NULL, "user", "[IPv6:::ffff:192.0.2.1]", "[IPv6:::ffff:192.0.2.1]", "ip-literal" },
	{ "<\"user%[192.0.2.9]\"@ours.example>", 0, 0, NULL, "user%[192.0.2.9]", "ours.example", "[192.0.2.9]", "percent-hack,quoted-local-part,ip-literal" },
	/* unquoted, '[' and ']' are no atext */
	{ "<user%[192.0.2.9]@ours.example>", 0, -1, NULL, "user%[192.0.2.9]", "ours.example", "[192.0.2.9]", "percent-hack,ip-literal,bad-syntax" },
	{ "<user@[192.0.2.256]>", 0, -1, NULL, "user", "", "", "ip-literal,bad-syntax" },
	{ "<user@[::1]>", 0, -1, NULL, "user", "", "", "ip-literal,bad-syntax" },
	{ "<user@[IPv6:2001:db8::g]>", 0, -1, NULL, "user", "", "", "ip-literal,bad-syntax" },
	{ "<user@[192.0.2.1>", 0, -1, NULL, "user", "", "", "ip-literal,bad-syntax" },
	/* empty parts */
	{ "<user>", 0, -1, NULL, "user", "", "", "empty-part" },
	{ "<@ours.example>", 0, -1, NULL, "", "ours.example", "ours.example", "empty-part" },
	{ "<user@>", 0, -1, NULL, "user", "", "", "empty-part" },
	{ "<user@ours..example>", 0, -1, NULL, "user", "ours..example", "ours..example", "empty-part" },
	{ "<user@ours.example..>", 0, -1, NULL, "user", "ours.example.", "ours.example.", "empty-part" },
	{ "<user@.ours.example>", 0, -1, NULL, "user", ".ours.example", ".ours.example", "empty-part" },
	/* dots in a local part: not RFC 5321, but they route nowhere */
	{ "<.user@ours.example>", 0, 0, NULL, ".user", "ours.example", "ours.example", "bad-dots" },
	{ "<us..er@ours.example>", 0, 0, NULL, "us..er", "ours.example", "ours.example", "bad-dots" },
	/* control and 8-bit characters */
	{ "<us\ter@ours.example>", 0, -1, NULL, "us\ter", "ours.example", "ours.example", "control-char" },
	{ "<\"us\r\ner\"@ours.example>", 0, -1, NULL, "us\r\ner", "ours.example", "ours.example", "control-char" },
	{ "<j\xc3\xb6rg@ours.example>", 0, 0, NULL, "j\xc3\xb6rg", "ours.example", "ours.example", "8bit-local-part" },
	{ "<j\xc3\xb6rg@ours.example>", U8, 0, NULL, "j\xc3\xb6rg", "ours.example", "ours.example", "none" },
	{ "<j\xff\xferg@ours.example>", U8, 0, NULL, "j\xff\xferg", "ours.example", "ours.example", "8bit-local-part" },
	{ "<j\xc0\xafrg@ours.example>", U8, 0, NULL, "j\xc0\xafrg", "ours.example", "ours.example", "8bit-local-part" },
	{ "<user@b\xc3\xbc" "cher.example>", U8, -1, NULL, "user", "b\xc3\xbc" "cher.example", "b\xc3\xbc" "cher.example", "bad-syntax" },
	/* plain syntax errors */
	{ "<user@ours.example", 0, -1, NULL, "", "", "", "bad-syntax" },
	{ "user@ours.example>", 0, -1, NULL, "user", "ours.example>", "ours.example>", "bad-syntax" },
	{ "<user name@ours.example>", 0, -1, NULL, "user name", "ours.example", "ours.example", "bad-syntax" },
	{ "<user@ours.example (x)>", 0, -1, NULL, "user", "ours.example (x)", "ours.example (x)", "bad-syntax" },
	{ "<user@-ours.example>", 0, -1, NULL, "user", "-ours.example", "-ours.example", "bad-syntax" },
	{ "<user@ours.example:25>", 0, -1, NULL, "user", "ours.example:25", "ours.example:25", "bad-syntax" },
	{ "<<user@ours.example>>", 0, -1, NULL, "<user", "ours.example>", "ours.example>", "bad-syntax" },
};

/* check_case - one row: every field */
static void
check_case(const struct addr_case *t)
{
	struct rg_addr a;
	char tricks[256];
	int rc = rg_addr_parse(t->in, t->flags, &a);

	RGT_CASE(t->in);
	RGT_INTEQ(rc, t->rc);
	RGT_INTEQ(a.null, t->special && strcmp(t->special, "null") == 0);
	RGT_INTEQ(a.postmaster, t->special && strcmp(t->special, "postmaster") == 0);
	RGT_STREQ(a.local, t->local);
	RGT_STREQ(a.domain.name, t->domain);
	RGT_STREQ(a.dest_domain.name, t->dest);
	rg_addr_tricks_format(a.tricks, tricks, sizeof(tricks));
	RGT_STREQ(tricks, t->tricks);
}

static void
test_table(void)
{
	size_t n = sizeof(addr_cases) / sizeof(addr_cases[0]);

	RGT_CASE("table size");
	RGT_CHECK(n >= 40, "only %zu addresses in the table", n);
	for (size_t i = 0; i < n; i++)
		check_case(&addr_cases[i]);
}

/* repeat - a string of n copies of c */
static void
repeat(char *buf, size_t n, char c)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

static void
test_limits(void)
{
	char local[128], label[128], path[2048];
	struct rg_addr a;

	RGT_CASE("local part of 64 octets (RFC 5321 4.5.3.1.1)");
	repeat(local, 64, 'a');
	snprintf(path, sizeof(path), "<%s@ours.example>", local);
	RGT_INTEQ(rg_addr_parse(path, 0, &a), 0);
	RGT_INTEQ(a.tricks, 0);

	RGT_CASE("local part of 65 octets");
	repeat(local, 65, 'a');
	snprintf(path, sizeof(path), "<%s@ours.example>", local);
	RGT_INTEQ(rg_addr_parse(path, 0, &a), -1);
	RGT_INTEQ(a.tricks, RG_TRICK_BIT(RG_TRICK_TOO_LONG));

	RGT_CASE("label of 64 octets (RFC 1035 2.3.4)");
	repeat(label, 64, 'b');
	snprintf(path, sizeof(path), "<u@%s.example>", label);
	RGT_INTEQ(rg_addr_parse(path, 0, &a), -1);
	RGT_INTEQ(a.tricks, RG_TRICK_BIT(RG_TRICK_TOO_LONG));

	RGT_CASE("path of 257 octets with brackets (RFC 5321 4.5.3.1.3)");
	repeat(label, 63, 'c');
	repeat(local, 63, 'a');
	snprintf(path, sizeof(path), "<%s@%s.%s.%s>", local, label, label, label);
	RGT_INTEQ(strlen(path), 257);
	RGT_INTEQ(rg_addr_parse(path, 0, &a), -1);
	RGT_INTEQ(a.tricks, RG_TRICK_BIT(RG_TRICK_TOO_LONG));

	RGT_CASE("path of 256 octets with brackets");
	repeat(local, 62, 'a');
	snprintf(path, sizeof(path), "<%s@%s.%s.%s>", local, label, label, label);
	RGT_INTEQ(strlen(path), 256);
	RGT_INTEQ(rg_addr_parse(path, 0, &a), 0);
	RGT_INTEQ(a.tricks, 0);

	RGT_CASE("input over RG_ADDR_INPUT_MAX is not parsed");
	repeat(path, RG_ADDR_INPUT_MAX + 1, 'x');
	RGT_INTEQ(rg_addr_parse(path, 0, &a), -1);
	RGT_INTEQ(a.tricks, RG_TRICK_BIT(RG_TRICK_TOO_LONG));
	RGT_STREQ(a.local, "");

	RGT_CASE("more than RG_ADDR_MAX_HOPS hosts in a local part");
	snprintf(path, sizeof(path), "<u%%a%%b%%c%%d%%e%%f%%g%%h%%i%%j@ours.example>");
	RGT_INTEQ(rg_addr_parse(path, 0, &a), -1);
	RGT_INTEQ(a.nvia, RG_ADDR_MAX_HOPS);
	RGT_CHECK(a.tricks & RG_TRICK_BIT(RG_TRICK_TOO_LONG), "no too-long");
}

static void
test_hops(void)
{
	struct rg_addr a;

	RGT_CASE("source route hops, in order");
	RGT_INTEQ(rg_addr_parse("<@A.example,@[IPv6:2001:db8::5],@c.example.:u@d.example>",
	    0, &a), 0);
	RGT_INTEQ(a.nroute, 3);
	RGT_STREQ(a.route[0].name, "a.example");
	RGT_STREQ(a.route[1].name, "[IPv6:2001:db8::5]");
	RGT_INTEQ(a.route[1].family, AF_INET6);
	RGT_STREQ(a.route[2].name, "c.example");
	RGT_STREQ(a.dest_domain.name, "d.example");

	RGT_CASE("hosts in the local part, in delivery order");
	RGT_INTEQ(rg_addr_parse("<first.example!second.example!user%third.example@ours.example>",
	    0, &a), 0);
	RGT_INTEQ(a.nvia, 3);
	RGT_STREQ(a.via[0].name, "third.example");
	RGT_STREQ(a.via[1].name, "first.example");
	RGT_STREQ(a.via[2].name, "second.example");
	RGT_STREQ(a.dest_local, "user");
	RGT_STREQ(a.dest_domain.name, "second.example");
}

static void
test_literals(void)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;
	struct in6_addr want6;
	struct rg_addr a;

	RGT_CASE("IPv4 literal address");
	RGT_INTEQ(rg_addr_parse("<u@[192.0.2.1]>", 0, &a), 0);
	s4 = (const struct sockaddr_in *)&a.domain.sa;
	RGT_INTEQ(a.domain.family, AF_INET);
	RGT_INTEQ(a.domain.sa.ss_family, AF_INET);
	RGT_INTEQ(ntohl(s4->sin_addr.s_addr), 0xc0000201);

	RGT_CASE("IPv6 literal address");
	RGT_INTEQ(rg_addr_parse("<u@[IPv6:2001:db8::1]>", 0, &a), 0);
	s6 = (const struct sockaddr_in6 *)&a.domain.sa;
	inet_pton(AF_INET6, "2001:db8::1", &want6);
	RGT_INTEQ(a.domain.family, AF_INET6);
	RGT_CHECK(memcmp(&s6->sin6_addr, &want6, sizeof(want6)) == 0, "wrong address");

	RGT_CASE("a name is no literal");
	RGT_INTEQ(rg_addr_parse("<u@ours.example>", 0, &a), 0);
	RGT_INTEQ(a.domain.family, 0);
}

static void
test_names(void)
{
	char buf[256];

	RGT_CASE("trick names");
	RGT_STREQ(rg_addr_trick_name(RG_TRICK_PERCENT), "percent-hack");
	RGT_STREQ(rg_addr_trick_name(RG_TRICK_BANG), "bang-path");
	RGT_STREQ(rg_addr_trick_name(RG_TRICK_SOURCE_ROUTE), "source-route");
	RGT_STREQ(rg_addr_trick_name(RG_TRICK_QUOTED_SPECIAL), "quoted-local-part");
	RGT_STREQ(rg_addr_trick_name(RG_TRICK_MULTI_AT), "multiple-at");
	RGT_STREQ(rg_addr_trick_name(RG_TRICK_IP_LITERAL), "ip-literal");
	RGT_STREQ(rg_addr_trick_name(RG_TRICK_ESCAPE), "escaped-char");
	RGT_STREQ(rg_addr_trick_name(RG_TRICK_EMPTY_PART), "empty-part");
	RGT_STREQ(rg_addr_trick_name(RG_TRICK_TOO_LONG), "too-long");
	RGT_STREQ(rg_addr_trick_name(RG_TRICK_SYNTAX), "bad-syntax");
	RGT_STREQ(rg_addr_trick_name(RG_TRICK_COUNT), "unknown");

	RGT_CASE("the trick a log line names");
	RGT_INTEQ(rg_addr_trick_main(0), RG_TRICK_NONE);
	RGT_INTEQ(rg_addr_trick_main(RG_TRICK_BIT(RG_TRICK_PERCENT) |
	    RG_TRICK_BIT(RG_TRICK_QUOTED_SPECIAL)), RG_TRICK_QUOTED_SPECIAL);
	RGT_INTEQ(rg_addr_trick_main(RG_TRICK_BIT(RG_TRICK_PERCENT) |
	    RG_TRICK_BIT(RG_TRICK_SOURCE_ROUTE)), RG_TRICK_SOURCE_ROUTE);
	RGT_INTEQ(rg_addr_trick_main(RG_TRICK_BIT(RG_TRICK_IP_LITERAL) |
	    RG_TRICK_BIT(RG_TRICK_SYNTAX)), RG_TRICK_SYNTAX);

	RGT_CASE("tricks format into a small buffer");
	rg_addr_tricks_format(RG_TRICK_BIT(RG_TRICK_PERCENT) |
	    RG_TRICK_BIT(RG_TRICK_BANG), buf, 10);
	RGT_STREQ(buf, "percent-h");
}

static void
test_norm_domain(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Ours.Example.", "ours.example" },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
		{ "localhost", "localhost" },
		{ "", NULL },
		{ ".", NULL },
		{ "a..example", NULL },
		{ "[192.0.2.1]", NULL },
		{ "user@ours.example", NULL },
		{ "-bad.example", NULL },
		{ "b\xc3\xbc" "cher.example", NULL },
	};
	char out[RG_ADDR_DOMAIN_MAX + 1], small[4];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = rg_addr_norm_domain(cases[i].in, out, sizeof(out));

		RGT_CASE(cases[i].in);
		RGT_INTEQ(rc, cases[i].out ? 0 : -1);
		if (rc == 0 && cases[i].out)
			RGT_STREQ(out, cases[i].out);
	}
	RGT_CASE("normalised name does not fit");
	RGT_INTEQ(rg_addr_norm_domain("ours.example", small, sizeof(small)), -1);
}

RGT_MAIN(test_table, test_limits, test_hops, test_literals, test_names,
    test_norm_domain)
