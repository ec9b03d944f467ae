/*
 * spf_test.c - SPF through libspf2 with relayguard's resolver (the fake
 * backend): every result, the actions and their reply codes, RFC 7208's
 * void-lookup limit that libspf2 lacks, the null sender's HELO identity,
 * skipped clients, and the Received-SPF and Authentication-Results text.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authres.h"
#include "conf.h"
#include "dns.h"
#include "session.h"
#include "settings.h"
#include "spf.h"
#include "verdict.h"
#include "rgtest.h"
#include "rgtest_conf.h"

static const char zone[] =
    "pass.test        TXT \"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all\"\n"
    "soft.test        TXT \"v=spf1 ip4:203.0.113.0/24 ~all\"\n"
    "neutral.test     TXT \"v=spf1 ?all\"\n"
    "split.test       TXT \"v=spf1 ip4:198.51.100.0/24\" \" -all\"\n"
    "incl.test        TXT \"v=spf1 include:pass.test -all\"\n"
    "mx.test          TXT \"v=spf1 mx -all\"\n"
    "mx.test          MX 10 mail.mx.test\n"
    "mail.mx.test     A 192.0.2.99\n"
    "voids.test       TXT \"v=spf1 a:nx1.test a:nx2.test a:nx3.test -all\"\n"
    "twovoids.test    TXT \"v=spf1 a:nx1.test a:nx2.test ip4:192.0.2.0/24 -all\"\n"
    "loop.test        TXT \"v=spf1 include:l1.test -all\"\n"
    "ten.test         TXT \"v=spf1 include:l2.test -all\"\n"
    "l1.test          TXT \"v=spf1 include:l2.test\"\n"
    "l2.test          TXT \"v=spf1 include:l3.test\"\n"
    "l3.test          TXT \"v=spf1 include:l4.test\"\n"
    "l4.test          TXT \"v=spf1 include:l5.test\"\n"
    "l5.test          TXT \"v=spf1 include:l6.test\"\n"
    "l6.test          TXT \"v=spf1 include:l7.test\"\n"
    "l7.test          TXT \"v=spf1 include:l8.test\"\n"
    "l8.test          TXT \"v=spf1 include:l9.test\"\n"
    "l9.test          TXT \"v=spf1 include:l10.test\"\n"
    "l10.test         TXT \"v=spf1 include:l11.test\"\n"
    "l11.test         TXT \"v=spf1 ip4:192.0.2.0/24\"\n"
    "broken.test      TXT \"v=spf1 ip4:not-an-address -all\"\n"
    "two.test         TXT \"v=spf1 -all\"\n"
    "two.test         TXT \"v=spf1 +all\"\n"
    "slow.test        TIMEOUT\n"
    "servfail.test    SERVFAIL\n"
    "helo.test        TXT \"v=spf1 ip4:192.0.2.7 -all\"\n";

static struct rg_conf *conf;

static struct rg_conn *
conn_for(const char *ip, const char *helo, const char *auth)
{
	struct rg_conn *c = rg_conn_new(conf, 1);
	struct sockaddr_storage ss;

	atomic_fetch_add(&conf->refs, 1);	/* the conn releases its own pin */
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &s4->sin_addr);
	}
	rg_conn_set_client(c, "client.example", (struct sockaddr *)&ss);
	snprintf(c->helo, sizeof(c->helo), "%s", helo);
	snprintf(c->mta_host, sizeof(c->mta_host), "mx.relayguard.test");
	snprintf(c->auth_user, sizeof(c->auth_user), "%s", auth);
	return c;
}

static void
test_results(void)
{
	static const struct {
		const char *name, *ip, *helo, *auth, *sender, *want, *act, *rcode,
		    *xcode;
	} cases[] = {
		{ "pass v4", "192.0.2.7", "h.test", "", "a@pass.test", "pass", "continue", "", "" },
		{ "pass v6", "2001:db8::7", "h.test", "", "a@pass.test", "pass", "continue", "", "" },
		{ "fail", "198.51.100.1", "h.test", "", "a@pass.test", "fail", "reject", "550", "5.7.23" },
		{ "softfail (tag)", "192.0.2.7", "h.test", "", "a@soft.test", "softfail", "continue", "", "" },
		{ "neutral", "192.0.2.7", "h.test", "", "a@neutral.test", "neutral", "continue", "", "" },
		{ "none: no record", "192.0.2.7", "h.test", "", "a@norecord.test", "none", "continue", "", "" },
		{ "record in two strings", "198.51.100.4", "h.test", "", "a@split.test", "pass", "continue", "", "" },
		{ "include", "192.0.2.8", "h.test", "", "a@incl.test", "pass", "continue", "", "" },
		{ "mx", "192.0.2.99", "h.test", "", "a@mx.test", "pass", "continue", "", "" },
		{ "mx miss", "192.0.2.98", "h.test", "", "a@mx.test", "fail", "reject", "550", "5.7.23" },
		{ "three void lookups: permerror (RFC 7208 4.6.4)", "198.51.100.1", "h.test", "",
		    "a@voids.test", "permerror", "continue", "", "" },
		{ "two void lookups are allowed", "192.0.2.7", "h.test", "", "a@twovoids.test",
		    "pass", "continue", "", "" },
		{ "more than 10 lookups: permerror", "192.0.2.7", "h.test", "", "a@loop.test",
		    "permerror", "continue", "", "" },
		{ "exactly 10 lookups pass", "192.0.2.7", "h.test", "", "a@ten.test",
		    "pass", "continue", "", "" },
		{ "syntax error: permerror", "192.0.2.7", "h.test", "", "a@broken.test",
		    "permerror", "continue", "", "" },
		{ "two records: permerror (RFC 7208 4.5)", "192.0.2.7", "h.test", "", "a@two.test",
		    "permerror", "continue", "", "" },
		{ "timeout: temperror", "192.0.2.7", "h.test", "", "a@slow.test", "temperror",
		    "tempfail", "451", "4.7.24" },
		{ "servfail: temperror", "192.0.2.7", "h.test", "", "a@servfail.test", "temperror",
		    "tempfail", "451", "4.7.24" },
		{ "null sender uses HELO", "192.0.2.7", "helo.test", "", "", "pass", "continue", "", "" },
		{ "null sender, HELO fails", "192.0.2.9", "helo.test", "", "", "fail", "reject", "550", "5.7.23" },
		{ "logged in: not checked", "198.51.100.1", "h.test", "alice", "a@pass.test", "none",
		    "continue", "", "" },
		{ "trusted: not checked", "127.0.0.1", "h.test", "", "a@pass.test", "none", "continue", "", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rg_conn *c = conn_for(cases[i].ip, cases[i].helo, cases[i].auth);
		struct rg_verdict v;
		struct rg_msg *m = rg_msg_begin(c);

		RGT_CASE(cases[i].name);
		snprintf(m->sender, sizeof(m->sender), "%s", cases[i].sender);
		m->null_sender = cases[i].sender[0] == '\0';
		rg_verdict_init(&v);
		rg_spf_check(c, &v);
		RGT_STREQ(rg_spf_result_name(m->spf.result), cases[i].want);
		RGT_STREQ(rg_action_name(v.action), cases[i].act);
		RGT_STREQ(v.rcode, cases[i].rcode);
		RGT_STREQ(v.xcode, cases[i].xcode);
		rg_verdict_clear(&v);
		rg_conn_free(c);
	}
}

static void
test_headers(void)
{
	struct rg_conn *c = conn_for("192.0.2.7", "mail.pass.test", "");
	struct rg_msg *m = rg_msg_begin(c);
	struct rg_verdict v;
	struct rg_buf b = RG_BUF_INIT;
	const struct rg_hdr *h;

	RGT_CASE("Received-SPF and Authentication-Results");
	snprintf(m->sender, sizeof(m->sender), "alice@pass.test");
	rg_verdict_init(&v);
	rg_spf_check(c, &v);
	rg_spf_eom(c, &v);
	for (h = v.add; h && strcmp(h->name, "Received-SPF"); h = h->next)
		;
	RGT_CHECK(h != NULL, "no Received-SPF header");
	if (h)
		RGT_STREQ(h->value, "pass (mx.relayguard.test: domain of alice@pass.test "
		    "designates 192.0.2.7 as permitted sender)\n\tclient-ip=192.0.2.7; "
		    "envelope-from=\"alice@pass.test\"; helo=mail.pass.test;\n\t"
		    "receiver=mx.relayguard.test; identity=mailfrom;");
	rg_authres_format(m, "mx.relayguard.test", &b);
	RGT_STREQ(rg_buf_cstr(&b), "mx.relayguard.test;\n\tspf=pass smtp.mailfrom=pass.test");
	rg_verdict_clear(&v);
	rg_conn_free(c);

	RGT_CASE("null sender: helo identity, quoted values");
	c = conn_for("192.0.2.7", "helo.test", "");
	m = rg_msg_begin(c);
	m->null_sender = 1;
	rg_verdict_init(&v);
	rg_spf_check(c, &v);
	rg_spf_eom(c, &v);
	for (h = v.add; h && strcmp(h->name, "Received-SPF"); h = h->next)
		;
	if (h)
		RGT_STREQ(h->value, "pass (mx.relayguard.test: helo helo.test designates "
		    "192.0.2.7 as permitted sender)\n\tclient-ip=192.0.2.7; "
		    "envelope-from=\"\"; helo=helo.test;\n\treceiver=mx.relayguard.test; "
		    "identity=helo;");
	rg_authres_format(m, "mx.relayguard.test", &b);
	RGT_STREQ(rg_buf_cstr(&b), "mx.relayguard.test;\n\tspf=pass smtp.helo=helo.test");
	rg_verdict_clear(&v);
	rg_conn_free(c);
	rg_buf_release(&b);
}

static void
setup(void)
{
	conf = rgt_conf_text("dns_timeout = 1s\nspf_softfail_action = tag\n");
	rgt_fake_dns(zone);
}

static void
teardown(void)
{
	rgt_fake_dns_close();
	rg_conf_release(conf);
}

RGT_MAIN(setup, test_results, test_headers, teardown)
