/*
 * uri_test.c - link extraction: hosts normalised as browsers read them
 * (rg_uri_host_parse), HTML character references, the scanner on text and
 * HTML fed whole, byte by byte and split at every position, flushes and
 * long words, and the set's caps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htmlent.h"
#include "uri.h"
#include "rgtest.h"

static void
test_hosts(void)
{
	static const struct { const char *raw, *want; int pct; } t[] = {
		{ "Example.COM", "example.com", 1 },
		{ "www.example.co.uk", "example.co.uk", 1 },
		{ "%65xample.com", "example.com", 1 },
		{ "%65xample.com", "", 0 },
		{ "example.com.", "example.com", 1 },
		{ "b\xc3\xbc" "cher.de", "xn--bcher-kva.de", 1 },
		{ "b%C3%BCcher.de", "xn--bcher-kva.de", 1 },
		{ "xn--bcher-kva.de", "xn--bcher-kva.de", 1 },
		{ "\xef\xbd\x85\xef\xbd\x98\xef\xbd\x81\xef\xbd\x8d\xef\xbd\x90\xef\xbd\x8c"
		    "\xef\xbd\x85\xef\xbc\x8e\xef\xbd\x83\xef\xbd\x8f\xef\xbd\x8d", "example.com", 1 },
		{ "exa\xc2\xad" "mple.com", "example.com", 1 },	/* soft hyphen */
		{ "example.com\xe2\x80\x99s", "example.com", 1 },	/* prose glued on */
		{ "example.com\xef\xbc\x8f" "evil.com", "example.com", 1 },	/* U+FF0F */
		{ "example.com)", "example.com", 1 },
		{ "a_b.example.com", "example.com", 1 },
		{ "someone.blogspot.com", "someone.blogspot.com", 1 },
		{ "\xff\xfe.com", "", 1 },
		{ "localhost", "", 1 },
		{ "example", "", 1 },
		{ "host.invalidtld", "", 1 },
		{ "com", "", 1 },
		{ "co.uk", "", 1 },
		{ "a..example.com", "", 1 },
		{ "", "", 1 },
		{ "3221225985", "192.0.2.1", 1 },
		{ "0xC0000201", "192.0.2.1", 1 },
		{ "0300.0.2.1", "192.0.2.1", 1 },
		{ "0xc0.0.02.1", "192.0.2.1", 1 },
		{ "192.0.513", "192.0.2.1", 1 },
		{ "192.0.2.1.", "192.0.2.1", 1 },
		{ "%31%39%32.0.2.1", "192.0.2.1", 1 },
		{ "0x", "0.0.0.0", 1 },
		{ "4294967295", "255.255.255.255", 1 },
		{ "4294967296", "", 1 },
		{ "99999999999999999999999", "", 1 },
		{ "1.2.3.4.5", "", 1 },
		{ "1.256.3.4", "", 1 },
		{ "09.1.1.1", "", 1 },
		{ "0x1g.1.1.1", "", 1 },
		{ "example.123", "", 1 },
		{ "\xef\xbc\x91\xef\xbc\x99\xef\xbc\x92.0.2.1", "192.0.2.1", 1 },
		{ "[2001:DB8:0::1]", "2001:db8::1", 1 },
		{ "[192.0.2.1]", "192.0.2.1", 1 },
		{ "[2001:db8::1", "", 1 },
		{ "[fe80::1%25eth0]", "", 1 },
		{ "[]", "", 1 },
	};
	struct rg_uri_host h;
	char label[80], host[300];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *got;

		RGT_CASE(t[i].raw);
		switch (rg_uri_host_parse(t[i].raw, strlen(t[i].raw), t[i].pct, &h)) {
		case RG_URI_HOST_DOMAIN:
			got = h.domain;
			break;
		case RG_URI_HOST_IP:
			got = h.ip.text;
			break;
		default:
			got = "";
		}
		RGT_STREQ(got, t[i].want);
	}
	RGT_CASE("label and name lengths (RFC 1035)");
	memset(label, 'a', 63);
	snprintf(host, sizeof(host), "%.63s.com", label);
	RGT_INTEQ(rg_uri_host_parse(host, strlen(host), 1, &h), RG_URI_HOST_DOMAIN);
	snprintf(host, sizeof(host), "%.63sa.com", label);
	RGT_INTEQ(rg_uri_host_parse(host, strlen(host), 1, &h), RG_URI_HOST_INVALID);
	snprintf(host, sizeof(host), "%.63s.%.63s.%.63s.%.59s.com", label, label,
	    label, label);	/* 257 octets */
	RGT_INTEQ(rg_uri_host_parse(host, strlen(host), 1, &h), RG_URI_HOST_INVALID);
}

static void
test_entities(void)
{
	static const struct { const char *ent; int term; long want; } t[] = {
		{ "amp", 1, '&' }, { "amp", 0, '&' }, { "period", 1, '.' },
		{ "period", 0, -1 }, { "#46", 1, '.' }, { "#46", 0, '.' },
		{ "#x2E", 1, '.' }, { "#X2e", 1, '.' }, { "commat", 1, '@' },
		{ "sol", 1, '/' }, { "colon", 1, ':' }, { "nbsp", 1, 0xa0 },
		{ "uuml", 1, 0xfc }, { "#0", 1, RG_UNICODE_BAD },
		{ "#xD800", 1, RG_UNICODE_BAD }, { "#x110000", 1, RG_UNICODE_BAD },
		{ "#99999999999999999999", 1, RG_UNICODE_BAD }, { "#", 1, -1 },
		{ "#x", 1, -1 }, { "#x2g", 1, -1 }, { "bogus", 1, -1 }, { "", 1, -1 },
		{ "AMP", 1, '&' }, { "Amp", 1, -1 },
		{ "abcdefghijklmnopqrstuvwxyz0123456789", 1, -1 },
	};
	char u[4];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		RGT_CASE(t[i].ent);
		RGT_INTEQ(rg_html_entity(t[i].ent, strlen(t[i].ent), t[i].term),
		    t[i].want);
	}
	RGT_CASE("utf-8");
	RGT_INTEQ(rg_utf8_put('A', u), 1);
	RGT_INTEQ(rg_utf8_put(0xfc, u), 2);
	RGT_CHECK(memcmp(u, "\xc3\xbc", 2) == 0, "U+00FC");
	RGT_INTEQ(rg_utf8_put(0x20ac, u), 3);
	RGT_CHECK(memcmp(u, "\xe2\x82\xac", 3) == 0, "U+20AC");
	RGT_INTEQ(rg_utf8_put(0x1f600, u), 4);
	RGT_INTEQ(rg_utf8_put(0x110000, u), 3);	/* U+FFFD */
}

/* set_text - the set as one sorted line: "a.com b.org 192.0.2.1" */
static char *
set_text(const struct rg_uriset *s)
{
	struct rg_buf b = RG_BUF_INIT;
	char **v = calloc(s->ndomains + s->nips + 1, sizeof(*v));
	size_t n = 0;

	for (size_t i = 0; i < s->ndomains; i++)
		v[n++] = s->domains[i];
	for (size_t i = 0; i < s->nips; i++)
		v[n++] = (char *)s->ips[i].text;
	for (size_t i = 0; i < n; i++)	/* insertion sort: tiny lists */
		for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
			char *t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++)
		rg_buf_printf(&b, "%s%s", i ? " " : "", v[i]);
	free(v);
	return b.data != NULL ? rg_buf_steal(&b) : strdup("");
}

/* scan - text through a fresh scanner: split < 0 feeds byte by byte,
 * otherwise in two pieces cut at split */
static char *
scan(const char *text, int html, long split)
{
	struct rg_uriset *s = rg_uriset_new(50, 20);
	struct rg_uri_scanner *sc = rg_uri_scanner_new(s);
	size_t len = strlen(text);
	char *out;

	if (split < 0) {
		for (size_t i = 0; i < len; i++)
			rg_uri_scan_text(sc, text + i, 1, html);
	} else {
		rg_uri_scan_text(sc, text, (size_t)split, html);
		rg_uri_scan_text(sc, text + split, len - (size_t)split, html);
	}
	rg_uri_scan_flush(sc);
	sc = rg_uri_scanner_free(sc);
	out = set_text(s);
	rg_uriset_free(s);
	return out;
}

static void
test_scanner(void)
{
	static const struct { const char *text; int html; const char *want; } t[] = {
		{ "see http://a-dom.com/x, then", 0, "a-dom.com" },
		{ "xhttp://nope.com 1http://digit-before.com", 0, "digit-before.com" },
		{ "http:/one-slash.com http:\\\\back-slash.com http:no-slash.com", 0,
		    "back-slash.com one-slash.com" },
		{ "FTP://F.FTP-DOM.NET https://s.https-dom.org:443", 0, "ftp-dom.net https-dom.org" },
		{ "mailto:a@mail-dom.org?cc=b@cc-dom.org MAILTO:%61@pct-mail.com", 0,
		    "mail-dom.org pct-mail.com" },
		{ "www.w-dom.com awww.no-dom.com a.www.no2-dom.com", 0, "w-dom.com" },
		{ "http://u:p@userinfo-dom.com@real-dom.net:8/ http://[2001:db8::7]:80/", 0,
		    "2001:db8::7 real-dom.net" },
		{ "a\0b http://nul-dom.com", 0, "" },	/* C string: stops at NUL */
		{ "(www.a-dom.com(www.b-dom.com@at-dom.com", 0, "at-dom.com" },
		{ "mailto:x@one-dom.com,mailto:y@two-dom.com;z@three-dom.com", 0,
		    "one-dom.com three-dom.com two-dom.com" },
		{ "<a href=\"http://h-dom.com\">x</a> <a href=//rel-dom.com>y</a>", 1,
		    "h-dom.com rel-dom.com" },
		{ "<a title=\"t\" HREF = 'bare-dom.co.uk/p'>x</a><a href=\"page.html\">", 1,
		    "bare-dom.co.uk" },
		{ "<a href=\"http://ent&#x2e;dom&period;com\">", 1, "dom.com" },
		{ "&lt;a href=\"bare-nope.com\"&gt; &lt;http://lt-dom.com&gt;", 1, "lt-dom.com" },
		{ "<!-- http://c-dom.com --><!DOCTYPE x \"http://d-nope.com\">", 1, "c-dom.com" },
		{ "<script>var u=\"http://s-dom.com\";</script>", 1, "s-dom.com" },
		{ "<p>http://ent-end.com&amp", 1, "ent-end.com" },
		{ "<a href>text http://t-dom.com</a>", 1, "t-dom.com" },
		{ "<a href=\"ht\ntp://exa\tmple-dom.com/\">", 1, "example-dom.com" },
		{ "<img src=\"http://x-dom.com\"\nalt=\"www.alt-dom.org\" class=\"http://no.com\">",
		    1, "alt-dom.org x-dom.com" },
		{ "http&colon;//colon-dom.com &#104;ttp://h-ent-dom.com", 1,
		    "colon-dom.com h-ent-dom.com" },
		/* "<h" opens a tag, as in a browser: nothing shown, nothing to click */
		{ "a < http://lone-lt.com b<http://in-tag.com", 1, "lone-lt.com" },
		{ "<a href=\"javascript:go('http://js-dom.com')\">", 1, "js-dom.com" },
		{ "<a href=\"example.com:80/x\"><a href=\"#x\"><a href=\"..//x.com\">", 1, "" },
		{ "<a\thref\n=\n\"http://ws-dom.com\"\n>", 1, "ws-dom.com" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long len = (long)strlen(t[i].text);

		RGT_CASE(t[i].text);
		for (long split = -1; split <= len; split++) {
			char *got = scan(t[i].text, t[i].html, split);

			RGT_CHECK(strcmp(got, t[i].want) == 0, "split %ld: got \"%s\", "
			    "want \"%s\"", split, got, t[i].want);
			free(got);
		}
	}
}

static void
test_flush(void)
{
	struct rg_uriset *s = rg_uriset_new(50, 20);
	struct rg_uri_scanner *sc = rg_uri_scanner_new(s);
	char *got;

	RGT_CASE("a flush ends the link");
	rg_uri_scan_text(sc, "http://flush-", 13, 0);
	rg_uri_scan_flush(sc);
	rg_uri_scan_text(sc, "dom.com", 7, 0);
	rg_uri_scan_flush(sc);
	RGT_INTEQ(s->ndomains, 0);
	RGT_CASE("a change between text and HTML ends it too");
	rg_uri_scan_text(sc, "http://mode-", 12, 0);
	rg_uri_scan_text(sc, "switch.com", 10, 1);
	rg_uri_scan_flush(sc);
	RGT_INTEQ(s->ndomains, 0);
	RGT_CASE("without a flush it is one link");
	rg_uri_scan_text(sc, "http://joined-", 14, 1);
	rg_uri_scan_text(sc, "dom.com", 7, 1);
	rg_uri_scan_text(sc, "<p>", 3, 1);
	got = set_text(s);
	RGT_STREQ(got, "joined-dom.com");
	free(got);
	RGT_CASE("an open tag does not outlive a flush");
	rg_uri_scan_text(sc, "<a href=\"", 9, 1);
	rg_uri_scan_flush(sc);
	rg_uri_scan_text(sc, "bare-after-flush.com\"", 21, 1);
	rg_uri_scan_flush(sc);
	RGT_INTEQ(s->ndomains, 1);
	rg_uri_scanner_free(sc);
	rg_uriset_free(s);
	RGT_CHECK(rg_uri_scanner_free(NULL) == NULL, "free(NULL)");
}

/* test_long_words - a link anywhere in a word far longer than the
 * scanner keeps whole, fed whole and byte by byte */
static void
test_long_words(void)
{
	static const size_t at[] = { 0, 100, 3000, 4070, 4080, 4090, 4096, 4100,
	    5000, 7100, 7200, 9000 };
	char *w = malloc(12000);

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		memset(w, 'x', 12000);
		memcpy(w + at[i], "=http://long-dom.com/", 21);
		w[11999] = '\0';
		RGT_CASE("long word");
		for (long split = -1; split <= 0; split++) {
			char *got = scan(w, (int)(i & 1), split);

			RGT_CHECK(strcmp(got, "long-dom.com") == 0, "link at %zu, "
			    "split %ld: got \"%s\"", at[i], split, got);
			free(got);
		}
	}
	free(w);
}

/* test_adversarial - inputs built to make a naive search quadratic still
 * give every link (the time is not measured here, see the commit) */
static void
test_adversarial(void)
{
	struct rg_buf b = RG_BUF_INIT;
	char *got;

	RGT_CASE("mailto: after a list longer than the scanner reads at once");
	rg_buf_puts(&b, "mailto:");
	for (int i = 0; i < 300; i++)
		rg_buf_printf(&b, "a%d@list-dom.com,", i);
	rg_buf_puts(&b, "mailto:last@late-dom.com");
	got = scan(rg_buf_cstr(&b), 0, -1);
	RGT_STREQ(got, "late-dom.com list-dom.com");
	free(got);

	RGT_CASE("many www. candidates in one word");
	rg_buf_reset(&b);
	for (int i = 0; i < 2000; i++)
		rg_buf_puts(&b, "(www.");
	rg_buf_puts(&b, " (www.end-dom.com");
	got = scan(rg_buf_cstr(&b), 0, 100);
	RGT_STREQ(got, "end-dom.com");
	free(got);
	rg_buf_release(&b);
}

static void
test_set(void)
{
	struct rg_uriset *s = rg_uriset_new(2, 1);
	struct rg_uri_conf c = { 5, 6 };

	RGT_CASE("set: each once, then full");
	RGT_INTEQ(rg_uriset_add_host(s, "a.com", 5, 1), RG_URI_ADDED);
	RGT_INTEQ(rg_uriset_add_host(s, "WWW.A.COM", 9, 1), RG_URI_KNOWN);
	RGT_INTEQ(rg_uriset_add_host(s, "b.org", 5, 1), RG_URI_ADDED);
	RGT_INTEQ(rg_uriset_add_host(s, "c.net", 5, 1), RG_URI_FULL);
	RGT_INTEQ(rg_uriset_add_host(s, "b.org", 5, 1), RG_URI_KNOWN);
	RGT_INTEQ(rg_uriset_add_host(s, "nohost", 6, 1), RG_URI_INVALID);
	RGT_INTEQ(rg_uriset_add_host(s, "192.0.2.1", 9, 1), RG_URI_ADDED);
	RGT_INTEQ(rg_uriset_add_host(s, "3221225985", 10, 1), RG_URI_KNOWN);
	RGT_INTEQ(rg_uriset_add_host(s, "[2001:db8::1]", 13, 1), RG_URI_FULL);
	RGT_INTEQ(s->ndomains, 2);
	RGT_INTEQ(s->nips, 1);
	RGT_INTEQ(s->links, 9);
	RGT_INTEQ(s->refused, 2);
	RGT_INTEQ(s->flags, RG_URI_F_DOMAINS | RG_URI_F_IPS);
	RGT_STREQ(s->domains[0], "a.com");
	RGT_INTEQ(s->ips[0].family, 2);	/* AF_INET */
	RGT_CHECK(memcmp(s->ips[0].addr, "\xc0\x00\x02\x01", 4) == 0, "address bytes");
	rg_uriset_free(s);
	RGT_CHECK(rg_uriset_free(NULL) == NULL, "free(NULL)");

	RGT_CASE("set from the configuration");
	s = rg_uriset_conf(&c);
	RGT_INTEQ(s->max_domains, 5);
	RGT_INTEQ(s->max_ips, 6);
	rg_uriset_free(s);
	RGT_STREQ(rg_uri_params[0].name, "uri_max_domains");
	RGT_INTEQ(rg_uri_global_init(), 0);
}

RGT_MAIN(test_hosts, test_entities, test_scanner, test_flush, test_long_words,
    test_adversarial, test_set)
