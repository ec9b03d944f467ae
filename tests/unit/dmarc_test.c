/*
 * dmarc_test.c - DMARC: the From domain (RFC 5322 syntax), alignment by
 * the Public Suffix List, policy discovery and disposition on the fake
 * resolver (p, sp, pct, aligned SPF or DKIM, forwarders), and the places
 * where RFC 7489 is followed over libopendmarc.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authres.h"
#include "conf.h"
#include "dmarc.h"
#include "dns.h"
#include "session.h"
#include "settings.h"
#include "verdict.h"
#include "rgtest.h"
#include "rgtest_conf.h"

static const char zone[] =
    "_dmarc.rej.test          TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.quar.test         TXT \"v=DMARC1; p=quarantine; rua=mailto:d@quar.test\"\n"
    "_dmarc.none.test         TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.sub.test          TXT \"v=DMARC1; p=none; sp=reject\"\n"
    "_dmarc.strict.test       TXT \"v=DMARC1; p=reject; aspf=s; adkim=s\"\n"
    "_dmarc.pct0.test         TXT \"v=DMARC1; p=reject; pct=0\"\n"
    "_dmarc.ruaonly.test      TXT \"v=DMARC1; rua=mailto:d@ruaonly.test\"\n"
    "_dmarc.nop.test          TXT \"v=DMARC1; adkim=r\"\n"
    "_dmarc.two.test          TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.two.test          TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.lower.test        TXT \"v=dmarc1; p=reject\"\n"
    "_dmarc.other.test        TXT \"spf stuff\"\n"
    "_dmarc.other.test        TXT \"v = DMARC1 ; p = reject\"\n"
    "_dmarc.slow.test         TIMEOUT\n"
    "_dmarc.example.co.uk     TXT \"v=DMARC1; p=reject\"\n";

static struct rg_conf *conf;

static void
test_from(void)
{
	static const struct {
		const char *in, *dom;
		int n;
	} cases[] = {
		{ "alice@example.com", "example.com", 1 },
		{ " Alice <alice@Example.COM>", "example.com", 1 },
		{ "\"Smith, Alice\" <alice@example.com>", "example.com", 1 },
		{ "\"a@evil.test\" <alice@example.com>", "example.com", 1 },
		{ "alice@example.com (Alice <x@evil.test>)", "example.com", 1 },
		{ "(c) Alice <alice@example.com.>", "example.com", 1 },
		{ "a@example.com, b@example.com", "example.com", 2 },
		{ "a@example.com, b@other.test", "", -1 },
		{ "undisclosed-recipients:;", "", 0 },
		{ "Team: a@example.com, b@example.com;", "example.com", 2 },
		{ "no address here", "", 0 },
		{ "", "", 0 },
		{ "<alice@example.com", "", -1 },
		{ "\"unterminated <a@example.com>", "", -1 },
		{ "a@example.com\r\n\t(folded)", "example.com", 1 },
		/* phishing shapes: the bracketed address is the author */
		{ "alice@bank.test <mallory@evil.test>", "evil.test", 1 },
		{ "<mallory@evil.test> (alice@bank.test)", "evil.test", 1 },
		{ "\"alice@bank.test\" <mallory@evil.test>", "evil.test", 1 },
		{ "a(b@evil.test)@bank.test", "bank.test", 1 },
		{ "<a@evil.test>@bank.test", "evil.test", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[256];
		int n;

		RGT_CASE(cases[i].in);
		n = rg_dmarc_from_domain(cases[i].in, out, sizeof(out));
		RGT_INTEQ(n, cases[i].n);
		if (n > 0)
			RGT_STREQ(out, cases[i].dom);
	}
}

static void
test_alignment(void)
{
	static const struct {
		const char *a, *b;
		int strict, want;
	} cases[] = {
		{ "example.com", "example.com", 1, 1 },
		{ "mail.example.com", "example.com", 0, 1 },
		{ "mail.example.com", "example.com", 1, 0 },
		{ "a.example.co.uk", "b.example.co.uk", 0, 1 },
		{ "example.co.uk", "other.co.uk", 0, 0 },	/* co.uk is a suffix */
		{ "a.github.io", "b.github.io", 0, 0 },	/* private suffix */
		{ "Example.COM", "example.com", 1, 1 },
		{ "evil-example.com", "example.com", 0, 0 },
		{ "", "example.com", 0, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RGT_CASE(cases[i].a);
		RGT_INTEQ(rg_dmarc_aligned(cases[i].a, cases[i].b, cases[i].strict),
		    cases[i].want);
	}
}

static struct rg_conn *
conn_for(const char *ip, const char *auth)
{
	struct rg_conn *c = rg_conn_new(conf, 1);
	struct sockaddr_in sin;

	atomic_fetch_add(&conf->refs, 1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin.sin_addr);
	rg_conn_set_client(c, "client.example", (struct sockaddr *)&sin);
	snprintf(c->auth_user, sizeof(c->auth_user), "%s", auth);
	return c;
}

static void
test_policies(void)
{
	static const struct {
		const char *name, *ip, *auth, *from, *spf_dom;
		enum rg_spf_result spf;
		const char *dkim_dom;
		const char *result, *p, *dis, *act;
	} cases[] = {
		{ "reject, unaligned", "192.0.2.7", "", "a@rej.test", "other.test", RG_SPF_PASS,
		    NULL, "fail", "reject", "reject", "reject" },
		{ "reject, SPF aligned", "192.0.2.7", "", "a@rej.test", "rej.test", RG_SPF_PASS,
		    NULL, "pass", "reject", "none", "continue" },
		{ "reject, SPF aligned relaxed", "192.0.2.7", "", "a@rej.test", "bounce.rej.test",
		    RG_SPF_PASS, NULL, "pass", "reject", "none", "continue" },
		{ "reject, SPF fail", "192.0.2.7", "", "a@rej.test", "rej.test", RG_SPF_FAIL,
		    NULL, "fail", "reject", "reject", "reject" },
		{ "reject, DKIM aligned", "192.0.2.7", "", "a@rej.test", "other.test", RG_SPF_PASS,
		    "rej.test", "pass", "reject", "none", "continue" },
		{ "quarantine, unaligned", "192.0.2.7", "", "a@quar.test", "other.test", RG_SPF_PASS,
		    NULL, "fail", "quarantine", "quarantine", "quarantine" },
		{ "none, unaligned", "192.0.2.7", "", "a@none.test", "other.test", RG_SPF_PASS,
		    NULL, "fail", "none", "none", "continue" },
		{ "subdomain under sp=reject", "192.0.2.7", "", "a@x.sub.test", "other.test",
		    RG_SPF_PASS, NULL, "fail", "reject", "reject", "reject" },
		{ "organizational domain keeps p=none", "192.0.2.7", "", "a@sub.test", "other.test",
		    RG_SPF_PASS, NULL, "fail", "none", "none", "continue" },
		{ "strict: subdomain SPF not aligned", "192.0.2.7", "", "a@strict.test",
		    "mail.strict.test", RG_SPF_PASS, NULL, "fail", "reject", "reject", "reject" },
		{ "strict: subdomain DKIM not aligned", "192.0.2.7", "", "a@strict.test",
		    "x.test", RG_SPF_NONE, "mail.strict.test", "fail", "reject", "reject", "reject" },
		{ "pct=0: reject becomes quarantine", "192.0.2.7", "", "a@pct0.test", "x.test",
		    RG_SPF_NONE, NULL, "fail", "reject", "quarantine", "quarantine" },
		{ "rua without p is p=none (RFC 7489 6.6.3)", "192.0.2.7", "", "a@ruaonly.test",
		    "x.test", RG_SPF_NONE, NULL, "fail", "none", "none", "continue" },
		{ "no p and no rua: permerror", "192.0.2.7", "", "a@nop.test", "x.test",
		    RG_SPF_NONE, NULL, "permerror", "none", "none", "continue" },
		{ "two records: no policy", "192.0.2.7", "", "a@two.test", "x.test", RG_SPF_NONE,
		    NULL, "none", "none", "none", "continue" },
		{ "v=dmarc1 is no record (case-sensitive)", "192.0.2.7", "", "a@lower.test", "x.test",
		    RG_SPF_NONE, NULL, "none", "none", "none", "continue" },
		{ "spaces around = and other TXT records", "192.0.2.7", "", "a@other.test", "x.test",
		    RG_SPF_NONE, NULL, "fail", "reject", "reject", "reject" },
		{ "no record anywhere", "192.0.2.7", "", "a@nothing.test", "x.test", RG_SPF_NONE,
		    NULL, "none", "none", "none", "continue" },
		{ "organizational fallback past a public suffix", "192.0.2.7", "",
		    "a@mail.example.co.uk", "x.test", RG_SPF_NONE, NULL, "fail", "reject", "reject",
		    "reject" },
		{ "DNS timeout: temperror", "192.0.2.7", "", "a@slow.test", "x.test", RG_SPF_NONE,
		    NULL, "temperror", "none", "none", "continue" },
		{ "trusted forwarder: judged, not refused", "198.51.100.5", "", "a@rej.test",
		    "x.test", RG_SPF_NONE, NULL, "fail", "reject", "none", "continue" },
		{ "logged in: not judged", "192.0.2.7", "alice", "a@rej.test", "x.test",
		    RG_SPF_NONE, NULL, "none", "none", "none", "continue" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rg_conn *c = conn_for(cases[i].ip, cases[i].auth);
		struct rg_msg *m = rg_msg_begin(c);
		struct rg_dmarc_dkim sig = { cases[i].dkim_dom, "sel", 1, RG_ARES_PASS };
		struct rg_dmarc_outcome o;
		struct rg_verdict v;
		static const char *const pn[] = { "none", "quarantine", "reject" };

		RGT_CASE(cases[i].name);
		rg_msg_add_header(c, "From", cases[i].from);
		m->spf.result = cases[i].spf;
		snprintf(m->spf.domain, sizeof(m->spf.domain), "%s", cases[i].spf_dom);
		rg_verdict_init(&v);
		rg_dmarc_eom(c, cases[i].dkim_dom ? &sig : NULL, cases[i].dkim_dom ? 1 : 0,
		    &v, &o);
		RGT_STREQ(rg_dmarc_result_name(o.result), cases[i].result);
		RGT_STREQ(pn[o.p], cases[i].p);
		RGT_STREQ(pn[o.disposition], cases[i].dis);
		RGT_STREQ(rg_action_name(v.action), cases[i].act);
		if (v.action == RG_ACT_REJECT) {
			RGT_STREQ(v.rcode, "550");
			RGT_STREQ(v.xcode, "5.7.1");
		}
		rg_verdict_clear(&v);
		rg_conn_free(c);
	}
}

static void
test_authres(void)
{
	struct rg_conn *c = conn_for("192.0.2.7", "");
	struct rg_msg *m = rg_msg_begin(c);
	struct rg_dmarc_outcome o;
	struct rg_verdict v;
	struct rg_buf b = RG_BUF_INIT;

	RGT_CASE("Authentication-Results resinfo");
	rg_msg_add_header(c, "From", "Alice <alice@quar.test>");
	rg_verdict_init(&v);
	rg_dmarc_eom(c, NULL, 0, &v, &o);
	rg_authres_format(m, "mx.test", &b);
	RGT_STREQ(rg_buf_cstr(&b),
	    "mx.test;\n\tdmarc=fail (p=quarantine dis=quarantine) header.from=quar.test");
	rg_verdict_clear(&v);
	rg_conn_free(c);
	rg_buf_release(&b);
}

static void
test_history(void)
{
	struct rg_conn *c = conn_for("192.0.2.7", "");
	struct rg_msg *m = rg_msg_begin(c);
	struct rg_dmarc_dkim sig = { "other.test", "s1", 0, RG_ARES_FAIL };
	struct rg_dmarc_outcome o;
	struct rg_verdict v;
	struct rg_buf b = RG_BUF_INIT;

	RGT_CASE("history record (OpenDMARC format)");
	snprintf(c->qid, sizeof(c->qid), "QID1");
	snprintf(c->mta_host, sizeof(c->mta_host), "mx.test");
	snprintf(m->sender, sizeof(m->sender), "bounce@env.test");
	snprintf(m->spf.receiver, sizeof(m->spf.receiver), "mx.test");
	m->spf.result = RG_SPF_PASS;
	snprintf(m->spf.domain, sizeof(m->spf.domain), "env.test");
	rg_msg_add_header(c, "From", "a@quar.test");
	rg_verdict_init(&v);
	rg_dmarc_eom(c, &sig, 1, &v, &o);
	rg_dmarc_history(c, &sig, 1, &o, &b);
	RGT_CONTAINS(rg_buf_cstr(&b), "job QID1\nreporter mx.test\nreceived ");
	RGT_CONTAINS(rg_buf_cstr(&b), "\nipaddr 192.0.2.7\nfrom quar.test\nmfrom env.test\n"
	    "spf 0\ndkim other.test s1 7\npdomain quar.test\npolicy 17\n"
	    "rua mailto:d@quar.test\npct 100\nadkim 114\naspf 114\np 113\nsp 0\n"
	    "align_dkim 5\nalign_spf 5\naction 4\n");
	rg_verdict_clear(&v);
	rg_conn_free(c);
	rg_buf_release(&b);
}

static void
setup(void)
{
	conf = rgt_conf_text("dns_timeout = 1s\ndmarc_trusted_forwarders = 198.51.100.0/24\n");
	rgt_fake_dns(zone);
}

static void
teardown(void)
{
	rgt_fake_dns_close();
	rg_conf_release(conf);
}

RGT_MAIN(setup, test_from, test_alignment, test_policies, test_authres,
    test_history, teardown)
