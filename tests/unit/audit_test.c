/*
 * audit_test.c - relayguard-audit's parts without a mail server: the
 * relay-abuse list (built-in copy, parse errors, placeholders, where each
 * address leads, skips), SMTP reply lines and a fake server for the
 * client's caps and timeouts, XCLIENT attributes, base64, JSON strings,
 * and the SPF, DMARC and DKIM checks against the fake resolver.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "battery.h"
#include "dnscheck.h"
#include "dns.h"
#include "session.h"
#include "smtp.h"
#include "rgtest.h"

/* ---- the relay-abuse list ---------------------------------------------- */

static void
test_battery_parse(void)
{
	struct rg_audit_battery b;
	char why[256];
	size_t attacks = 0;

	RGT_CASE("battery: the built-in list");
	memset(&b, 0, sizeof(b));
	RGT_INTEQ(rg_audit_battery_parse(&b, (const char *)rg_audit_battery_data,
	    rg_audit_battery_size, "built-in", why, sizeof(why)), 0);
	RGT_CHECK(b.n >= 40, "only %zu addresses", b.n);
	for (size_t i = 0; i < b.n; i++)
		attacks += b.v[i].attack;
	RGT_CHECK(attacks >= 40, "only %zu attacks", attacks);
	RGT_STREQ(b.v[0].tmpl, "user@ours.example");
	rg_audit_battery_release(&b);

	RGT_CASE("battery: errors name the line");
	RGT_INTEQ(rg_audit_battery_parse(&b, "# c\nuser@x\n", 11, "f", why,
	    sizeof(why)), -1);
	RGT_STREQ(why, "f:2: expected address<TAB>accept|reject");
	rg_audit_battery_release(&b);
	RGT_INTEQ(rg_audit_battery_parse(&b, "a@b\tmaybe\n", 10, "f", why,
	    sizeof(why)), -1);
	RGT_CONTAINS(why, "f:1: \"maybe\": expected accept or reject");
	rg_audit_battery_release(&b);
	RGT_INTEQ(rg_audit_battery_parse(&b, "# only\n\n", 8, "f", why, sizeof(why)), -1);
	RGT_STREQ(why, "f: no addresses");
	rg_audit_battery_release(&b);
	RGT_INTEQ(rg_audit_battery_parse(&b, "a@b\taccept\r\nc\treject\tx\n", 23,
	    "f", why, sizeof(why)), 0);
	RGT_INTEQ(b.n, 2);
	RGT_STREQ(b.v[1].reason, "x");
	rg_audit_battery_release(&b);
}

static void
test_battery_subst(void)
{
	struct rg_audit_subst s = { "mine.test", "far.test", NULL, "10.0.0.1", NULL };
	static const struct {
		const char *tmpl, *want;
	} cases[] = {
		{ "user%evil.example@ours.example", "user%far.test@mine.test" },
		{ "USER%EVIL.EXAMPLE@OURS.EXAMPLE", "USER%FAR.TEST@MINE.TEST" },
		{ "user@evilours.example", "user@evilmine.test" },
		{ "@ours.example,@relayed.example:user@evil.example",
		  "@mine.test,@mine.test:user@far.test" },
		{ "user@[IPv6:::ffff:192.0.2.25]", "user@[IPv6:::ffff:10.0.0.1]" },
		{ "user@[192.0.2.26]", "user@[192.0.2.26]" },
		{ "postmaster", "postmaster" },
	};
	char *got;

	RGT_CASE("battery: placeholders");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = rg_audit_subst_addr(cases[i].tmpl, &s);
		RGT_STREQ(got, cases[i].want);
		free(got);
	}
	RGT_CHECK(rg_audit_subst_addr("user@[IPv6:2001:db8::25]", &s) == NULL,
	    "an IPv6 placeholder on an IPv4 connection is not skipped");
	s.relay = "relay.test";
	got = rg_audit_subst_addr("user@relayed.example", &s);
	RGT_STREQ(got, "user@relay.test");
	free(got);
}

static void
test_battery_dest(void)
{
	static const struct {
		const char *tmpl;
		enum rg_audit_dest want;
	} cases[] = {
		{ "user@ours.example", RG_AUDIT_DEST_OURS },
		{ "USER@OURS.EXAMPLE.", RG_AUDIT_DEST_OURS },
		{ "user@mail.ours.example", RG_AUDIT_DEST_OURS },
		{ "john.doe@ours.example", RG_AUDIT_DEST_OURS },
		{ "user@evil.example", RG_AUDIT_DEST_FOREIGN },
		{ "user@evilours.example", RG_AUDIT_DEST_FOREIGN },
		{ "user@ours.example.evil.example", RG_AUDIT_DEST_FOREIGN },
		{ "user%evil.example@ours.example", RG_AUDIT_DEST_FOREIGN },
		{ "user%ours.example@ours.example", RG_AUDIT_DEST_OURS },
		{ "user%evil.example", RG_AUDIT_DEST_FOREIGN },
		{ "evil.example!user@ours.example", RG_AUDIT_DEST_FOREIGN },
		{ "ours.example!user", RG_AUDIT_DEST_OURS },
		{ "<@ours.example:user@evil.example>", RG_AUDIT_DEST_FOREIGN },
		{ "@evil.example:user@ours.example", RG_AUDIT_DEST_FOREIGN },
		{ "@ours.example:user@ours.example", RG_AUDIT_DEST_OURS },
		{ "\"user@evil.example\"@ours.example", RG_AUDIT_DEST_FOREIGN },
		{ "\"user@ours.example\"@ours.example", RG_AUDIT_DEST_OURS },
		{ "\"@evil.example:user\"@ours.example", RG_AUDIT_DEST_FOREIGN },
		{ "user\\@evil.example@ours.example", RG_AUDIT_DEST_FOREIGN },
		{ "user@[192.0.2.25]", RG_AUDIT_DEST_OURS },
		{ "user@[192.0.2.26]", RG_AUDIT_DEST_FOREIGN },
		{ "user@[IPv6:2001:db8::26]", RG_AUDIT_DEST_FOREIGN },
		{ "user@[127.0.0.1]", RG_AUDIT_DEST_LOOPBACK },
		{ "user@[IPv6:::1]", RG_AUDIT_DEST_LOOPBACK },
		{ "user@ours.example:25", RG_AUDIT_DEST_OURS },
		{ "<<user@ours.example>>", RG_AUDIT_DEST_OURS },
		{ "user@bücher.example", RG_AUDIT_DEST_FOREIGN },
		{ "<>", RG_AUDIT_DEST_OURS },
	};

	RGT_CASE("battery: where an address leads");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		RGT_CHECK(rg_audit_battery_dest(cases[i].tmpl) == cases[i].want,
		    "%s: got %d, want %d", cases[i].tmpl,
		    rg_audit_battery_dest(cases[i].tmpl), cases[i].want);
}

static void
test_battery_skips(void)
{
	static const char list[] =
	    "user@ours.example\taccept\n"
	    "<user@relayed.example>\taccept\n"
	    "user@[127.0.0.1]\treject\tip-literal\n"
	    "@[192.0.2.25]:user@evil.example\treject\tsource-route\n"
	    "user@[IPv6:2001:db8::25]\taccept\n";
	struct rg_audit_subst s = { "mine.test", "far.test", NULL, "127.0.0.1", NULL };
	struct rg_audit_battery b;
	char why[256];

	RGT_CASE("battery: duplicates, own literals, missing families");
	memset(&b, 0, sizeof(b));
	RGT_INTEQ(rg_audit_battery_parse(&b, list, sizeof(list) - 1, "t", why,
	    sizeof(why)), 0);
	rg_audit_battery_subst(&b, &s);
	RGT_INTEQ(b.v[0].result, RG_AUDIT_RCPT_UNTRIED);
	RGT_INTEQ(b.v[1].result, RG_AUDIT_RCPT_SKIPPED);
	RGT_STREQ(b.v[1].reply, "same address as an earlier line");
	RGT_INTEQ(b.v[2].result, RG_AUDIT_RCPT_SKIPPED);
	RGT_STREQ(b.v[2].reply, "names the server's own address");
	RGT_INTEQ(b.v[3].result, RG_AUDIT_RCPT_UNTRIED);
	RGT_STREQ(b.v[3].addr, "@[127.0.0.1]:user@far.test");
	RGT_INTEQ(b.v[4].result, RG_AUDIT_RCPT_SKIPPED);
	rg_audit_battery_release(&b);
}

/* ---- SMTP -------------------------------------------------------------- */

static void
test_reply_lines(void)
{
	const char *text;
	int code, last;

	RGT_CASE("smtp: reply lines");
	RGT_INTEQ(rg_smtp_reply_parse_line("250-mx.test", &code, &last, &text), 0);
	RGT_CHECK(code == 250 && !last && strcmp(text, "mx.test") == 0, "250-");
	RGT_INTEQ(rg_smtp_reply_parse_line("550 5.7.1 no", &code, &last, &text), 0);
	RGT_CHECK(code == 550 && last && strcmp(text, "5.7.1 no") == 0, "550 ");
	RGT_INTEQ(rg_smtp_reply_parse_line("220", &code, &last, &text), 0);
	RGT_CHECK(code == 220 && last, "bare code");
	RGT_INTEQ(rg_smtp_reply_parse_line("25", &code, &last, &text), -1);
	RGT_INTEQ(rg_smtp_reply_parse_line("2500 x", &code, &last, &text), -1);
	RGT_INTEQ(rg_smtp_reply_parse_line("650 x", &code, &last, &text), -1);
	RGT_INTEQ(rg_smtp_reply_parse_line("hello", &code, &last, &text), -1);
}

struct fake_server {
	int lfd;
	const char *script;	/* what the server writes, all at once */
	size_t len;
	int hangup;		/* close right after the script */
};

/* fake_server_run - accept one client, write the script, drain until EOF */
static void *
fake_server_run(void *arg)
{
	struct fake_server *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	char buf[512];

	if (fd < 0)
		return NULL;
	if (f->len > 0 && write(fd, f->script, f->len) < 0)
		perror("fake server");
	while (!f->hangup && read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return NULL;
}

/*
 * fake_session - a server that sends script; the client reads one reply.
 * A negative timeout: the server hangs up after the script.
 */
static enum rg_smtp_status
fake_session(const char *script, size_t len, long long timeout_ms,
    struct rg_smtp_reply *r, char *ehlo_ext, size_t extsize)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sa);
	struct fake_server f = { -1, script, len, timeout_ms < 0 };
	struct rg_smtp *s;
	enum rg_smtp_status st = RG_SMTP_IOERR;
	pthread_t th;
	char port[16], why[256];

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (f.lfd < 0 || bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(f.lfd, 1) < 0 || getsockname(f.lfd, (struct sockaddr *)&sa, &slen) < 0)
		return st;
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
	pthread_create(&th, NULL, fake_server_run, &f);
	if (timeout_ms < 0)
		timeout_ms = 5000;
	if ((s = rg_smtp_open("127.0.0.1", port, timeout_ms, 0, why, sizeof(why))) != NULL) {
		st = rg_smtp_read(s, r);
		if (ehlo_ext != NULL && rg_smtp_ext(r, "XCLIENT", ehlo_ext, extsize) == NULL)
			ehlo_ext[0] = '\0';
		rg_smtp_close(s);
	}
	pthread_join(th, NULL);
	close(f.lfd);
	return st;
}

static void
test_smtp_client(void)
{
	static const char multi[] = "250-mx.test hello\r\n250-PIPELINING\r\n"
	    "250-XCLIENT NAME ADDR PROTO\r\n250 STARTTLS\r\n";
	struct rg_smtp_reply *r = calloc(1, sizeof(*r));
	char ext[128], longline[RG_SMTP_LINE_MAX + 100];
	struct rg_buf many = RG_BUF_INIT;

	RGT_CASE("smtp: a multi-line reply and its extensions");
	RGT_INTEQ(fake_session(multi, sizeof(multi) - 1, 5000, r, ext, sizeof(ext)),
	    RG_SMTP_OK);
	RGT_INTEQ(r->code, 250);
	RGT_INTEQ(r->nlines, 4);
	RGT_STREQ(ext, "NAME ADDR PROTO");
	RGT_CHECK(rg_smtp_ext(r, "starttls", ext, sizeof(ext)) != NULL, "STARTTLS");
	RGT_CHECK(rg_smtp_ext(r, "mx.test", ext, sizeof(ext)) == NULL,
	    "the greeting line is not an extension");

	RGT_CASE("smtp: enhanced status code");
	RGT_INTEQ(fake_session("550 5.7.1 <a@b>: Relay access denied\n", 37, 5000,
	    r, NULL, 0), RG_SMTP_OK);
	RGT_STREQ(r->enh, "5.7.1");

	RGT_CASE("smtp: codes that differ within one reply");
	RGT_INTEQ(fake_session("250-a\r\n550 b\r\n", 14, 5000, r, NULL, 0),
	    RG_SMTP_PROTO);

	RGT_CASE("smtp: an over-long line is refused, not buffered");
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "250 ", 4);
	RGT_INTEQ(fake_session(longline, sizeof(longline), 5000, r, NULL, 0),
	    RG_SMTP_PROTO);

	RGT_CASE("smtp: too many lines");
	for (int i = 0; i <= RG_SMTP_REPLY_LINES; i++)
		rg_buf_puts(&many, "250-x\r\n");
	rg_buf_puts(&many, "250 x\r\n");
	RGT_INTEQ(fake_session(many.data, many.len, 5000, r, NULL, 0), RG_SMTP_PROTO);
	rg_buf_release(&many);

	RGT_CASE("smtp: a silent server times out, a closing one is closed");
	RGT_INTEQ(fake_session("250-half\r\n", 10, 300, r, NULL, 0), RG_SMTP_TIMEOUT);
	RGT_INTEQ(fake_session("250-half\r\n", 10, -1, r, NULL, 0), RG_SMTP_CLOSED);
	free(r);
}

static void
test_xclient_attrs(void)
{
	char out[128];

	RGT_CASE("xclient: attributes");
	RGT_INTEQ(rg_audit_xclient_attrs("203.0.113.5", "NAME ADDR PROTO", out,
	    sizeof(out)), 0);
	RGT_STREQ(out, "ADDR=203.0.113.5 NAME=[UNAVAILABLE]");
	RGT_INTEQ(rg_audit_xclient_attrs("2001:db8::5", "ADDR", out, sizeof(out)), 0);
	RGT_STREQ(out, "ADDR=IPV6:2001:db8::5");
	RGT_INTEQ(rg_audit_xclient_attrs("ADDR=192.0.2.1 LOGIN=alice", "ADDR", out,
	    sizeof(out)), 0);
	RGT_STREQ(out, "ADDR=192.0.2.1 LOGIN=alice");
	RGT_INTEQ(rg_audit_xclient_attrs("1.2.3.4\r\nDATA", NULL, out, sizeof(out)), -1);
	RGT_INTEQ(rg_audit_xclient_attrs("1.2.3.4 5.6.7.8", NULL, out, sizeof(out)), -1);
	RGT_INTEQ(rg_audit_xclient_attrs("", NULL, out, sizeof(out)), -1);
}

/* ---- small codecs ------------------------------------------------------ */

static void
test_codecs(void)
{
	unsigned char *o = NULL;
	size_t n = 0;
	struct rg_buf b = RG_BUF_INIT;

	RGT_CASE("base64");
	RGT_INTEQ(rg_audit_base64("aGVs bG8=", 9, &o, &n), 0);
	RGT_CHECK(n == 5 && memcmp(o, "hello", 5) == 0, "got %zu bytes", n);
	free(o);
	RGT_INTEQ(rg_audit_base64("aGVsbG8", 7, &o, &n), 0);
	RGT_INTEQ(n, 5);
	free(o);
	RGT_INTEQ(rg_audit_base64("aGV*bG8=", 8, &o, &n), -1);
	RGT_INTEQ(rg_audit_base64("aGVsbG8=x", 9, &o, &n), -1);
	RGT_INTEQ(rg_audit_base64("a", 1, &o, &n), -1);
	RGT_INTEQ(rg_audit_base64("aGVsbG9=", 8, &o, &n), -1);	/* stray bits */

	RGT_CASE("json strings");
	rg_audit_json_string(&b, "a\"b\\c\n\x01");
	RGT_STREQ(rg_buf_cstr(&b), "\"a\\\"b\\\\c\\u000a\\u0001\"");
	rg_buf_reset(&b);
	rg_audit_json_string(&b, "j\xc3\xb6rg \xff \xed\xa0\x80 \xe2\x82");
	RGT_STREQ(rg_buf_cstr(&b), "\"j\xc3\xb6rg \\ufffd \\ufffd\\ufffd\\ufffd "
	    "\\ufffd\\ufffd\"");
	rg_buf_release(&b);
}

/* ---- DNS checks -------------------------------------------------------- */

#define K2048 \
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkWqhb5wXBtzJfTox/8Q5" \
    "uKELE9LsMlKBbYXVPqYiWaL0YcKenwV1eKwW3L0EAyq0/w/vqVecTfAgGJ8339ng" \
    "v7zSULGFKWTtc55iGWIYgykIWZyiZ/dY5ndwGFpFi9C0B48PEjkb6uVRLeu++rvZ" \
    "MTGnuvXdd4laMtT+N7/UywSWnMIV2oXsOLyWmRV3TJSDSOceik7JLbBpsiBPemzp" \
    "P5VbAPBMr5ai4UbfSn5v6qMV85TgdUc5vFZtic78wB+XxNQPzhXj1ue5ud1ABmXo" \
    "isMQTEbhFLKo/VKBYpeWxx2CBLzqGkux75f0lV/3I1HxyLUiGZ7fhW2OtHQyR9bI" \
    "pwIDAQAB"
#define K1024 \
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDInTy/FDCBB3/ZXgtcvN+QtI3Y" \
    "8vfMW9ylg573VUtN8ZzTjYRglo40nOcdSM6m61qjrJDoHFd7iRo6BPJ798KBymqo" \
    "2QJLZESebKKyVL3Rb0e5ecSsDAiYoOvHwdexIBICt50+PtwRNyqY/fnC1gth/PxJ" \
    "rv1tQzY/qL9pp+qjwQIDAQAB"
#define K512 \
    "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAOMqwODqBoozAG3n7NzsGAVbeysdW2TR" \
    "jo4sFEk8cNNOLV9fNXsZEy/xggalL3K7xcgrJHJk+qdDDT1JnwCBoTUCAwEAAQ=="
#define KPKCS1 \
    "MIGJAoGBAMidPL8UMIEHf9leC1y835C0jdjy98xb3KWDnvdVS03xnNONhGCWjjSc" \
    "5x1IzqbrWqOskOgcV3uJGjoE8nv3woHKaqjZAktkRJ5sorJUvdFvR7l5xKwMCJig" \
    "68fB17EgEgK3nT4+3BE3Kpj9+cLWC2H8/Emu/W1DNj+ov2mn6qPBAgMBAAE="
#define KED "PiG6+xMnvMgi8RsQwivd/Qv0Q9VEjzl9F1aJ+spQtSk="

/* zone_txt - a TXT line, split into character-strings of 200 bytes */
static void
zone_txt(struct rg_buf *z, const char *name, const char *v)
{
	size_t len = strlen(v);

	rg_buf_printf(z, "%s TXT", name);
	for (size_t i = 0; i < len; i += 200)
		rg_buf_printf(z, " \"%.*s\"", (int)(len - i < 200 ? len - i : 200), v + i);
	rg_buf_puts(z, "\n");
}

static struct rg_dns *
test_zone(void)
{
	struct rg_buf z = RG_BUF_INIT, err = RG_BUF_INIT;
	struct rg_dns *dns;
	char name[64];

	zone_txt(&z, "good.test", "v=spf1 ip4:192.0.2.0/24 include:inc.test -all");
	zone_txt(&z, "good.test", "not spf at all");
	zone_txt(&z, "inc.test", "v=spf1 a mx include:inc2.test ~all");
	zone_txt(&z, "inc2.test", "v=spf1 exists:%{i}.x.test -all");
	/* a chain of 12 includes */
	zone_txt(&z, "many.test", "v=spf1 include:c1.test -all");
	for (int i = 1; i < 12; i++) {
		char v[64];

		snprintf(name, sizeof(name), "c%d.test", i);
		snprintf(v, sizeof(v), "v=spf1 include:c%d.test -all", i + 1);
		zone_txt(&z, name, v);
	}
	zone_txt(&z, "c12.test", "v=spf1 -all");
	zone_txt(&z, "plus.test", "v=spf1 mx +all");
	zone_txt(&z, "quest.test", "v=spf1 mx ?all");
	zone_txt(&z, "noall.test", "v=spf1 mx");
	zone_txt(&z, "badip.test", "v=spf1 ip4:192.0.2.300 -all");
	zone_txt(&z, "unknown.test", "v=spf1 foo:bar -all");
	zone_txt(&z, "emptyinc.test", "v=spf1 include: -all");
	zone_txt(&z, "twice.test", "v=spf1 redirect=a.test redirect=b.test");
	zone_txt(&z, "dangling.test", "v=spf1 include:nospf.test -all");
	zone_txt(&z, "loop.test", "v=spf1 include:loop2.test -all");
	zone_txt(&z, "loop2.test", "v=spf1 include:loop.test -all");
	zone_txt(&z, "redir.test", "v=spf1 mx redirect=plus.test");
	zone_txt(&z, "multi.test", "v=spf1 -all");
	zone_txt(&z, "multi.test", "v=spf1 ~all");
	zone_txt(&z, "ptr.test", "v=spf1 ptr -all");
	rg_buf_puts(&z, "fail.test SERVFAIL\n");
	rg_buf_puts(&z, "nospf.test A 192.0.2.1\n");
	zone_txt(&z, "_dmarc.good.test", "v=DMARC1; p=reject; rua=mailto:d@good.test");
	zone_txt(&z, "_dmarc.none.test", "v=DMARC1; p=none; rua=mailto:d@none.test");
	zone_txt(&z, "_dmarc.pct.test", "v=DMARC1; p=quarantine; pct=20");
	zone_txt(&z, "_dmarc.nop.test", "v=DMARC1; rua=mailto:x@nop.test");
	zone_txt(&z, "_dmarc.bad.test", "v=DMARC1; p=maybe");
	zone_txt(&z, "_dmarc.two.test", "v=DMARC1; p=reject");
	zone_txt(&z, "_dmarc.two.test", "v=DMARC1; p=none");
	zone_txt(&z, "_dmarc.org.test", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:a@org.test");
	zone_txt(&z, "k2048._domainkey.good.test", "v=DKIM1; k=rsa; p=" K2048);
	zone_txt(&z, "k1024._domainkey.good.test", "v=DKIM1; p=" K1024);
	zone_txt(&z, "k512._domainkey.good.test", "v=DKIM1; p=" K512);
	zone_txt(&z, "pkcs1._domainkey.good.test", "k=rsa; t=y; p=" KPKCS1);
	zone_txt(&z, "ed._domainkey.good.test", "v=DKIM1; k=ed25519; p=" KED);
	zone_txt(&z, "edbad._domainkey.good.test", "v=DKIM1; k=ed25519; p=" K1024);
	zone_txt(&z, "revoked._domainkey.good.test", "v=DKIM1; p=");
	zone_txt(&z, "junk._domainkey.good.test", "v=DKIM1; p=!!!!");
	zone_txt(&z, "vlate._domainkey.good.test", "k=rsa; v=DKIM1; p=" K2048);
	dns = rg_dns_fake_open_text(z.data, "audit zone", &err);
	if (dns == NULL)
		printf("zone: %s\n", rg_buf_cstr(&err));
	rg_buf_release(&z);
	rg_buf_release(&err);
	return dns;
}

/* spf_has - r's notes hold a note of sev containing text */
static int
notes_have(const struct rg_audit_notes *ns, enum rg_audit_sev sev, const char *text)
{
	for (size_t i = 0; i < ns->n; i++)
		if (ns->v[i].sev == sev && strstr(ns->v[i].text, text) != NULL)
			return 1;
	return 0;
}

#define SPF_EXPECT(dns, domain, sev, want) do { \
	struct rg_audit_spf r_; \
	rg_audit_spf_check((dns), 1000, (domain), &r_); \
	RGT_CHECK(notes_have(&r_.notes, (sev), (want)), "%s: no %s note with " \
	    "\"%s\" (%zu notes, first: %s)", (domain), rg_audit_sev_name(sev), \
	    (want), r_.notes.n, r_.notes.n ? r_.notes.v[0].text : "-"); \
	rg_audit_spf_release(&r_); \
} while (0)

static void
test_spf(struct rg_dns *dns)
{
	struct rg_audit_spf r;

	RGT_CASE("spf: a good record through includes, with a macro");
	rg_audit_spf_check(dns, 1000, "good.test", &r);
	RGT_STREQ(r.record, "v=spf1 ip4:192.0.2.0/24 include:inc.test -all");
	RGT_INTEQ(r.lookups, 5);	/* include, a, mx, include, exists */
	RGT_INTEQ(r.at_least, 0);
	RGT_STREQ(r.catchall, "-all");
	RGT_INTEQ(rg_audit_notes_count(&r.notes, RG_AUDIT_FAIL), 0);
	RGT_INTEQ(rg_audit_notes_count(&r.notes, RG_AUDIT_WARN), 0);
	RGT_CHECK(notes_have(&r.notes, RG_AUDIT_OK, "5 of 10 DNS lookups"), "count note");
	rg_audit_spf_release(&r);

	RGT_CASE("spf: too many lookups");
	rg_audit_spf_check(dns, 1000, "many.test", &r);
	RGT_INTEQ(r.lookups, 12);
	rg_audit_spf_release(&r);
	SPF_EXPECT(dns, "many.test", RG_AUDIT_FAIL, "12 DNS-querying terms");

	RGT_CASE("spf: catch-alls");
	SPF_EXPECT(dns, "plus.test", RG_AUDIT_WARN, "ends in +all");
	SPF_EXPECT(dns, "quest.test", RG_AUDIT_WARN, "?all");
	SPF_EXPECT(dns, "noall.test", RG_AUDIT_WARN, "no \"all\" catch-all");
	SPF_EXPECT(dns, "redir.test", RG_AUDIT_WARN, "the SPF record of plus.test ends in +all");
	SPF_EXPECT(dns, "redir.test", RG_AUDIT_OK, "3 of 10");

	RGT_CASE("spf: broken records");
	SPF_EXPECT(dns, "badip.test", RG_AUDIT_FAIL, "is invalid");
	SPF_EXPECT(dns, "unknown.test", RG_AUDIT_FAIL, "invalid");
	SPF_EXPECT(dns, "emptyinc.test", RG_AUDIT_FAIL, "without a domain");
	SPF_EXPECT(dns, "twice.test", RG_AUDIT_FAIL, "more than one redirect=");
	SPF_EXPECT(dns, "dangling.test", RG_AUDIT_FAIL, "include:nospf.test has no SPF record");
	SPF_EXPECT(dns, "loop.test", RG_AUDIT_FAIL, "loops back to loop.test");
	SPF_EXPECT(dns, "multi.test", RG_AUDIT_FAIL, "2 SPF records");
	SPF_EXPECT(dns, "nospf.test", RG_AUDIT_FAIL, "no SPF record at nospf.test");
	SPF_EXPECT(dns, "nothere.test", RG_AUDIT_FAIL, "no SPF record");
	SPF_EXPECT(dns, "ptr.test", RG_AUDIT_WARN, "ptr");
	SPF_EXPECT(dns, "fail.test", RG_AUDIT_ERROR, "SERVFAIL");
}

#define DMARC_EXPECT(dns, domain, sev, want) do { \
	struct rg_audit_dmarc r_; \
	rg_audit_dmarc_check((dns), 1000, (domain), &r_); \
	RGT_CHECK(notes_have(&r_.notes, (sev), (want)), "%s: no %s note with " \
	    "\"%s\" (%zu notes, first: %s)", (domain), rg_audit_sev_name(sev), \
	    (want), r_.notes.n, r_.notes.n ? r_.notes.v[0].text : "-"); \
	rg_audit_dmarc_release(&r_); \
} while (0)

static void
test_dmarc(struct rg_dns *dns)
{
	struct rg_audit_dmarc r;

	RGT_CASE("dmarc: a good record");
	rg_audit_dmarc_check(dns, 1000, "good.test", &r);
	RGT_INTEQ(r.p, RG_AUDIT_P_REJECT);
	RGT_INTEQ(r.pct, 100);
	RGT_STREQ(r.rua, "mailto:d@good.test");
	RGT_INTEQ(r.notes.n, 1);
	RGT_CHECK(notes_have(&r.notes, RG_AUDIT_OK, "policy reject"), "ok note");
	rg_audit_dmarc_release(&r);

	RGT_CASE("dmarc: the organizational domain's record");
	rg_audit_dmarc_check(dns, 1000, "mail.org.test", &r);
	RGT_STREQ(r.found_at, "_dmarc.org.test");
	RGT_CHECK(notes_have(&r.notes, RG_AUDIT_OK, "policy quarantine"), "sp applies");
	rg_audit_dmarc_release(&r);

	RGT_CASE("dmarc: weak and broken records");
	DMARC_EXPECT(dns, "none.test", RG_AUDIT_WARN, "policy none");
	DMARC_EXPECT(dns, "pct.test", RG_AUDIT_WARN, "pct=20");
	DMARC_EXPECT(dns, "pct.test", RG_AUDIT_WARN, "no rua=");
	DMARC_EXPECT(dns, "nop.test", RG_AUDIT_WARN, "treat it as p=none");
	DMARC_EXPECT(dns, "bad.test", RG_AUDIT_FAIL, "no valid p=");
	DMARC_EXPECT(dns, "two.test", RG_AUDIT_FAIL, "2 DMARC records");
	DMARC_EXPECT(dns, "missing.test", RG_AUDIT_FAIL, "no DMARC record at _dmarc.missing.test");

	RGT_CASE("dmarc: parsing");
	memset(&r, 0, sizeof(r));
	RGT_INTEQ(rg_audit_dmarc_parse("v=DMARC1;p=reject;sp=none;pct=50", &r), 0);
	RGT_CHECK(r.p == RG_AUDIT_P_REJECT && r.sp == RG_AUDIT_P_NONE && r.pct == 50,
	    "p %d sp %d pct %d", r.p, r.sp, r.pct);
	RGT_INTEQ(rg_audit_dmarc_parse("p=reject; v=DMARC1", &r), -1);
	RGT_INTEQ(rg_audit_dmarc_parse("v=DMARC2; p=reject", &r), -1);
	rg_audit_dmarc_release(&r);
}

#define DKIM_EXPECT(dns, sel, sev, want) do { \
	struct rg_audit_dkim r_; \
	rg_audit_dkim_check((dns), 1000, "good.test", (sel), &r_); \
	RGT_CHECK(notes_have(&r_.notes, (sev), (want)), "%s: no %s note with " \
	    "\"%s\" (%zu notes, first: %s)", (sel), rg_audit_sev_name(sev), \
	    (want), r_.notes.n, r_.notes.n ? r_.notes.v[0].text : "-"); \
	rg_audit_dkim_release(&r_); \
} while (0)

static void
test_dkim(struct rg_dns *dns)
{
	struct rg_audit_dkim r;

	RGT_CASE("dkim: key sizes and types");
	rg_audit_dkim_check(dns, 1000, "good.test", "k2048", &r);
	RGT_STREQ(r.key_type, "rsa");
	RGT_INTEQ(r.bits, 2048);
	RGT_STREQ(r.name, "k2048._domainkey.good.test");
	RGT_INTEQ(rg_audit_notes_count(&r.notes, RG_AUDIT_FAIL) +
	    rg_audit_notes_count(&r.notes, RG_AUDIT_WARN), 0);
	rg_audit_dkim_release(&r);
	rg_audit_dkim_check(dns, 1000, "good.test", "ed", &r);
	RGT_STREQ(r.key_type, "ed25519");
	rg_audit_dkim_release(&r);
	DKIM_EXPECT(dns, "k1024", RG_AUDIT_WARN, "RSA key of 1024 bits");
	DKIM_EXPECT(dns, "k512", RG_AUDIT_FAIL, "RSA key of 512 bits");
	DKIM_EXPECT(dns, "pkcs1", RG_AUDIT_WARN, "RSA key of 1024 bits");
	DKIM_EXPECT(dns, "pkcs1", RG_AUDIT_WARN, "t=y");

	RGT_CASE("dkim: broken and missing keys");
	DKIM_EXPECT(dns, "edbad", RG_AUDIT_FAIL, "not a 32-byte ed25519 key");
	DKIM_EXPECT(dns, "revoked", RG_AUDIT_FAIL, "revoked");
	DKIM_EXPECT(dns, "junk", RG_AUDIT_FAIL, "not valid base64");
	DKIM_EXPECT(dns, "vlate", RG_AUDIT_FAIL, "v= must be the first tag");
	DKIM_EXPECT(dns, "nosuch", RG_AUDIT_FAIL, "selector nosuch does not resolve");
}

static void
test_dns_checks(void)
{
	struct rg_dns *dns = test_zone();

	RGT_CASE("dns: the fake zone loads");
	RGT_CHECK(dns != NULL, "no zone");
	if (dns == NULL)
		return;
	test_spf(dns);
	test_dmarc(dns);
	test_dkim(dns);
	rg_dns_close(dns);
}

RGT_MAIN(test_battery_parse, test_battery_subst, test_battery_dest,
    test_battery_skips, test_reply_lines, test_smtp_client, test_xclient_attrs,
    test_codecs, test_dns_checks)
