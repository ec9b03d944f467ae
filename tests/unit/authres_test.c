/*
 * authres_test.c - Authentication-Results: the header value relayguard
 * writes (golden strings, RFC 8601) and the matcher that finds forged
 * headers claiming our authserv-id (RFC 8601 s5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "buf.h"
#include "session.h"
#include "rgtest.h"

static void
test_format(void)
{
	struct rg_msg m;
	struct rg_buf out = RG_BUF_INIT;

	memset(&m, 0, sizeof(m));
	RGT_CASE("no results");
	rg_authres_format(&m, "mx.example.com", &out);
	RGT_STREQ(rg_buf_cstr(&out), "mx.example.com; none");

	RGT_CASE("empty authserv-id falls back");
	rg_authres_format(&m, "", &out);
	RGT_STREQ(rg_buf_cstr(&out), "localhost; none");

	RGT_CASE("two results, folded with LF TAB");
	rg_authres_add(&m, "auth=pass smtp.auth=alice");
	rg_authres_add(&m, "spf=pass smtp.mailfrom=example.org");
	rg_authres_format(&m, "mx.example.com", &out);
	RGT_STREQ(rg_buf_cstr(&out), "mx.example.com;\n\tauth=pass smtp.auth=alice;\n"
	    "\tspf=pass smtp.mailfrom=example.org");
	rg_buf_release(&m.authres);
	rg_buf_release(&out);
}

static void
test_pvalue(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "alice", "alice" },
		{ "alice@example.com", "alice@example.com" },
		{ "example.com", "example.com" },
		{ "", "\"\"" },
		{ "two words", "\"two words\"" },
		{ "semi;colon", "\"semi;colon\"" },
		{ "a\"quote", "\"a\\\"quote\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "@example.com", "\"@example.com\"" },
		{ "a@b@c", "\"a@b@c\"" },
		{ "x=y", "\"x=y\"" },
		{ "ctl\001char", "\"ctl?char\"" },
		{ "alice; dkim=pass", "\"alice; dkim=pass\"" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rg_buf b = RG_BUF_INIT;

		RGT_CASE(cases[i].in);
		rg_authres_pvalue(&b, cases[i].in);
		RGT_STREQ(rg_buf_cstr(&b), cases[i].want);
		rg_buf_release(&b);
	}
}

static void
test_is_ours(void)
{
	static const struct {
		const char *value;
		int want;
	} cases[] = {
		{ "mx.example.com; spf=pass smtp.mailfrom=a.example", 1 },
		{ " mx.example.com; none", 1 },
		{ "MX.Example.COM; dkim=pass", 1 },
		{ "mx.example.com 1; none", 1 },		/* with a version */
		{ "mx.example.com;", 1 },
		{ "mx.example.com", 1 },
		{ "(comment) mx.example.com; none", 1 },
		{ "(nested (comment)) mx.example.com; none", 1 },
		{ "\"mx.example.com\"; none", 1 },
		{ "\r\n\tmx.example.com;\r\n\tspf=pass", 1 },
		{ "other.example.com; spf=pass", 0 },
		{ "mx.example.com.evil; spf=pass", 0 },
		{ "mx.example.co; spf=pass", 0 },
		{ "xmx.example.com; none", 0 },
		{ "; none", 0 },
		{ "", 0 },
		{ "(unterminated mx.example.com; none", 0 },
		{ "\"mx.example.com; none", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RGT_CASE(cases[i].value);
		RGT_INTEQ(rg_authres_is_ours(cases[i].value, "mx.example.com"),
		    cases[i].want);
	}
	RGT_CASE("empty authserv-id never matches");
	RGT_INTEQ(rg_authres_is_ours("; none", ""), 0);
}

/* ids longer than 255 octets: no prefix of a longer id is ours (found by
 * tests/fuzz/authres_fuzz.c), and a long id still matches itself */
static void
test_is_ours_long(void)
{
	char id[301], value[320];

	memset(id, 'a', 300);
	id[300] = '\0';
	RGT_CASE("a 300-octet id matches itself");
	snprintf(value, sizeof(value), "%s; none", id);
	RGT_INTEQ(rg_authres_is_ours(value, id), 1);
	snprintf(value, sizeof(value), "\"%s\"; none", id);
	RGT_INTEQ(rg_authres_is_ours(value, id), 1);

	RGT_CASE("a longer token that starts with a 255-octet id is not ours");
	id[255] = '\0';
	memset(value, 'a', 256);
	snprintf(value + 256, sizeof(value) - 256, "; none");
	RGT_INTEQ(rg_authres_is_ours(value, id), 0);
	value[0] = '"';
	snprintf(value + 256, sizeof(value) - 256, "\"; none");
	RGT_INTEQ(rg_authres_is_ours(value, id), 1);
	value[1] = 'b';
	RGT_INTEQ(rg_authres_is_ours(value, id), 0);

	RGT_CASE("the id longer than the value's");
	RGT_INTEQ(rg_authres_is_ours("aaa; none", id), 0);
	RGT_INTEQ(rg_authres_is_ours("\"aaa\"; none", id), 0);
}

RGT_MAIN(test_format, test_pvalue, test_is_ours, test_is_ours_long)
