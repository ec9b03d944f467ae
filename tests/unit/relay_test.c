/*
 * relay_test.c - relay authorization end to end, without an MTA: a
 * configuration loaded from a file, a connection with a client address,
 * SASL login and TLS version, then connect, MAIL FROM and RCPT TO as the
 * engine would run them. One table of cases; the relay-abuse list in
 * tests/data/relay-abuse.txt (which must keep at least 40 entries); the
 * log line for a trick; SMTPUTF8; the configuration errors.
 * Run from the top of the source tree (tests/unit/run.sh does).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "relay.h"
#include "session.h"
#include "settings.h"
#include "rgtest.h"
#include "rgtest_conf.h"

#define ABUSE_LIST	"tests/data/relay-abuse.txt"
#define ABUSE_MIN	40

static char tmpdir[] = "/tmp/rgrelayXXXXXX";
static struct rg_conf *conf_strict, *conf_open;

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

/* load - a configuration from text; NULL and a failed check on error */
static struct rg_conf *
load(const char *text, struct rg_buf *err)
{
	struct rg_conf *c;

	rg_buf_reset(err);
	c = rg_conf_load(write_file("relay.conf", text), err, NULL);
	return c;
}

static void
setup(void)
{
	struct rg_buf err = RG_BUF_INIT;

	rgt_mkdtemp(tmpdir);
	write_file("domains", "# more local domains\nother.example\n");
	write_file("sender_login", "# sender            logins\n"
	    "alice@ours.example      alice\n"
	    "shared@ours.example     alice, Bob\n"
	    "@other.example          bob\n");
	RGT_CASE("load the strict configuration");
	conf_strict = load(
	    "trusted_networks = 127.0.0.0/8, ::1/128, 10.0.0.0/8, [2001:db8:10::]/48\n"
	    "local_domains = ours.example, .ours.example, file:domains\n"
	    "relay_domains = relayed.example\n"
	    "local_ip_literals = 192.0.2.25, 2001:db8::25\n"
	    "client_block_networks = 198.51.100.0/24, 2001:db8:bad::/48\n"
	    "client_allow_networks = 198.51.100.7\n"
	    "sender_block_domains = spam.example, .spammy.example\n"
	    "sender_login_maps = sender_login\n"
	    "relay_require_tls = yes\n"
	    "relay_min_tls_version = TLSv1.2\n", &err);
	RGT_CHECK(conf_strict != NULL, "%s", rg_buf_cstr(&err));
	RGT_CASE("load the open configuration");
	conf_open = load("local_domains = ours.example\n"
	    "reject_unauth_local_sender = no\n", &err);
	RGT_CHECK(conf_open != NULL, "%s", rg_buf_cstr(&err));
	rg_buf_release(&err);
	if (conf_strict == NULL || conf_open == NULL)
		exit(1);
}

/* conn - a connection on conf from ip (NULL: unknown), login, TLS version */
static struct rg_conn *
conn(struct rg_conf *conf, const char *ip, const char *auth, const char *tls)
{
	struct sockaddr_storage ss;
	struct rg_conn *c;

	atomic_fetch_add(&conf->refs, 1);	/* rg_conn_new takes a reference */
	c = rg_conn_new(conf, 1);
	memset(&ss, 0, sizeof(ss));
	if (ip == NULL)
		rg_conn_set_client(c, "", NULL);
	else if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	if (ip != NULL)
		rg_conn_set_client(c, "mx.client.example", (struct sockaddr *)&ss);
	rg_copy_field(c->auth_user, sizeof(c->auth_user), auth);
	rg_copy_field(c->tls_version, sizeof(c->tls_version), tls);
	return c;
}

/* run - connect, MAIL FROM, RCPT TO until the first refusal */
static void
run(struct rg_conn *c, const char *sender, const char *rcpt,
    struct rg_verdict *v, const char **why)
{
	*why = NULL;
	rg_relay_connect(c, v);
	if (rg_verdict_is_final(v))
		return;
	rg_msg_begin(c);
	rg_strip_brackets(c->msg->sender, sizeof(c->msg->sender), sender);
	c->msg->null_sender = c->msg->sender[0] == '\0';
	rg_relay_mail(c, v);
	if (rg_verdict_is_final(v))
		return;
	rg_relay_rcpt_why(c, rcpt, v, why);
}

#define UNAUTH4	"203.0.113.5"
#define UNAUTH6	"2001:db8:1::5"
#define TRUST4	"10.1.2.3"
#define TRUST6	"2001:db8:10::3"
#define S	1	/* conf_strict */
#define O	2	/* conf_open */

struct relay_case {
	int conf;
	const char *name;
	const char *ip, *auth, *tls, *sender, *rcpt;
	const char *act, *rcode, *xcode, *why, *text;
};

static const struct relay_case relay_cases[] = {
	/* connect: client_block_networks, allow wins */
	{ S, "blocked v4 client", "198.51.100.9", "", "", "a@remote.example", "u@ours.example",
	    "reject", "554", "5.7.1", NULL,
	    "<mx.client.example[198.51.100.9]>: Client host rejected: access denied" },
	{ S, "blocked v6 client", "2001:db8:bad::9", "", "", "a@remote.example", "u@ours.example",
	    "reject", "554", "5.7.1", NULL, "Client host rejected: access denied" },
	{ S, "blocked v4-mapped client", "::ffff:198.51.100.9", "", "", "a@remote.example",
	    "u@ours.example", "reject", "554", "5.7.1", NULL, "Client host rejected" },
	{ S, "allow cuts a hole in the block", "198.51.100.7", "", "", "a@remote.example",
	    "u@ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "unknown client address", NULL, "", "", "a@remote.example", "u@ours.example",
	    "continue", NULL, NULL, NULL, NULL },
	/* MAIL FROM: our domains need a login */
	{ S, "unauth local sender", UNAUTH4, "", "", "user@ours.example", "u@ours.example",
	    "reject", "550", "5.7.1", NULL, "<user@ours.example>: Sender address rejected: not logged in" },
	{ S, "unauth local sender, case and root dot", UNAUTH6, "", "", "<User@OURS.Example.>",
	    "u@ours.example", "reject", "550", "5.7.1", NULL, "<User@OURS.Example.>: Sender address rejected: not logged in" },
	{ S, "unauth local subdomain sender", UNAUTH4, "", "", "user@sub.ours.example",
	    "u@ours.example", "reject", "550", "5.7.1", NULL, "not logged in" },
	{ S, "unauth relay-domain sender", UNAUTH4, "", "", "user@relayed.example",
	    "u@ours.example", "reject", "550", "5.7.1", NULL, "not logged in" },
	{ S, "unauth file:-listed domain sender", UNAUTH4, "", "", "user@other.example",
	    "u@ours.example", "reject", "550", "5.7.1", NULL, "not logged in" },
	{ S, "unauth local literal sender", UNAUTH4, "", "", "user@[192.0.2.25]",
	    "u@ours.example", "reject", "550", "5.7.1", NULL, "not logged in" },
	{ O, "unauth local sender allowed when off", UNAUTH4, "", "", "user@ours.example",
	    "u@ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "trusted local sender relays", TRUST4, "", "", "user@ours.example",
	    "u@evil.example", "continue", NULL, NULL, NULL, NULL },
	/* MAIL FROM: blocked domains */
	{ S, "blocked sender domain", UNAUTH4, "", "", "x@spam.example", "u@ours.example",
	    "reject", "550", "5.7.1", NULL, "<x@spam.example>: Sender address rejected: domain blocked" },
	{ S, "blocked sender subdomain", TRUST4, "", "", "x@a.Spammy.example", "u@ours.example",
	    "reject", "550", "5.7.1", NULL, "domain blocked" },
	{ S, ".spammy.example is not spammy.example", UNAUTH4, "", "", "x@spammy.example",
	    "u@ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "blocked real sender domain", UNAUTH4, "", "", "x%spam.example@remote.example",
	    "u@ours.example", "reject", "550", "5.7.1", NULL, "domain blocked" },
	/* MAIL FROM: sender_login_maps */
	{ S, "owner sends as herself", UNAUTH4, "alice", "TLSv1.3", "alice@ours.example",
	    "u@evil.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "shared address, first owner", UNAUTH4, "alice", "TLSv1.3", "shared@ours.example",
	    "u@ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "shared address, login case ignored", UNAUTH6, "bob", "TLSv1.3", "shared@ours.example",
	    "u@ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "not the owner", UNAUTH4, "bob", "TLSv1.3", "alice@ours.example", "u@ours.example",
	    "reject", "553", "5.7.1", NULL,
	    "<alice@ours.example>: Sender address rejected: not owned by user bob" },
	{ S, "whole-domain owner", UNAUTH4, "bob", "TLSv1.3", "anyone@other.example",
	    "u@ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "not the whole-domain owner", UNAUTH4, "alice", "TLSv1.3", "anyone@other.example",
	    "u@ours.example", "reject", "553", "5.7.1", NULL, "not owned by user alice" },
	{ S, "owner, sender case ignored", UNAUTH4, "alice", "TLSv1.3", "ALICE@Ours.Example.",
	    "u@ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "sender in no entry", UNAUTH4, "alice", "TLSv1.3", "alice@evil.example",
	    "u@ours.example", "reject", "553", "5.7.1", NULL, "not owned by user alice" },
	{ O, "no map: any sender", UNAUTH4, "carol", "", "carol@anything.example",
	    "u@evil.example", "continue", NULL, NULL, NULL, NULL },
	/* the null sender: bounces to our own domains only */
	{ S, "unauth bounce to us", UNAUTH4, "", "", "<>", "u@ours.example",
	    "continue", NULL, NULL, NULL, NULL },
	{ S, "unauth bounce elsewhere", UNAUTH4, "", "", "<>", "u@evil.example",
	    "reject", "550", "5.7.1", "foreign-domain", "<u@evil.example>: Relay access denied" },
	{ S, "authenticated bounce to us", UNAUTH4, "alice", "TLSv1.3", "<>", "u@ours.example",
	    "continue", NULL, NULL, NULL, NULL },
	{ S, "authenticated bounce elsewhere", UNAUTH4, "alice", "TLSv1.3", "<>",
	    "u@evil.example", "reject", "550", "5.7.1", "null-sender", "<u@evil.example>: Relay access denied" },
	/* an internal MTA in trusted_networks forwards bounces outward */
	{ S, "trusted bounce elsewhere", TRUST4, "", "", "", "u@evil.example",
	    "continue", NULL, NULL, NULL, NULL },
	{ S, "trusted bounce through a percent hack", TRUST6, "", "", "<>",
	    "u%evil.example@ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "authenticated bounce hidden in a percent hack", UNAUTH6, "alice", "TLSv1.3", "<>",
	    "u%evil.example@ours.example", "reject", "550", "5.7.1", "null-sender", "Relay access denied" },
	/* RCPT from clients neither trusted nor logged in */
	{ S, "unauth to us", UNAUTH4, "", "", "a@remote.example", "<u@ours.example>",
	    "continue", NULL, NULL, NULL, NULL },
	{ S, "unauth to our relay domain", UNAUTH6, "", "", "a@remote.example", "u@relayed.example",
	    "continue", NULL, NULL, NULL, NULL },
	{ O, "unauth to what is no relay domain here", UNAUTH4, "", "", "a@remote.example",
	    "u@relayed.example", "reject", "550", "5.7.1", "foreign-domain", "Relay access denied" },
	{ S, "unauth v6 relaying", UNAUTH6, "", "", "a@remote.example", "<u@evil.example>",
	    "reject", "550", "5.7.1", "foreign-domain", "<u@evil.example>: Relay access denied" },
	{ S, "unauth percent hack", UNAUTH4, "", "", "a@remote.example",
	    "<u%evil.example@ours.example>", "reject", "550", "5.7.1", "percent-hack",
	    "<u%evil.example@ours.example>: Relay access denied" },
	{ S, "unauth percent hack that stays here", UNAUTH4, "", "", "a@remote.example",
	    "u%other.example@ours.example", "reject", "550", "5.7.1", "percent-hack", "Relay access denied" },
	{ S, "unauth bang path", UNAUTH6, "", "", "a@remote.example", "evil.example!u@ours.example",
	    "reject", "550", "5.7.1", "bang-path", "Relay access denied" },
	{ S, "unauth source route", UNAUTH4, "", "", "a@remote.example",
	    "<@ours.example:u@evil.example>", "reject", "550", "5.7.1", "source-route",
	    "<@ours.example:u@evil.example>: Relay access denied" },
	{ S, "unauth quoted @", UNAUTH4, "", "", "a@remote.example", "\"u@evil.example\"@ours.example",
	    "reject", "550", "5.7.1", "quoted-local-part", "Relay access denied" },
	{ S, "unauth escaped @", UNAUTH6, "", "", "a@remote.example", "u\\@evil.example@ours.example",
	    "reject", "550", "5.7.1", "escaped-char", "Relay access denied" },
	{ S, "unauth several @", UNAUTH4, "", "", "a@remote.example", "u@evil.example@ours.example",
	    "reject", "550", "5.7.1", "multiple-at", "Relay access denied" },
	{ S, "unauth to our IPv4 literal", UNAUTH4, "", "", "a@remote.example", "u@[192.0.2.25]",
	    "continue", NULL, NULL, NULL, NULL },
	{ S, "unauth to our IPv6 literal", UNAUTH6, "", "", "a@remote.example",
	    "u@[IPv6:2001:DB8:0::25]", "continue", NULL, NULL, NULL, NULL },
	{ S, "unauth to another literal", UNAUTH4, "", "", "a@remote.example", "u@[192.0.2.26]",
	    "reject", "550", "5.7.1", "ip-literal", "<u@[192.0.2.26]>: Relay access denied" },
	{ S, "unauth to postmaster", UNAUTH4, "", "", "a@remote.example", "<Postmaster>",
	    "continue", NULL, NULL, NULL, NULL },
	{ S, "unauth RCPT TO:<>", UNAUTH4, "", "", "a@remote.example", "<>",
	    "reject", "550", "5.7.1", "bad-syntax", "<>: Relay access denied" },
	{ S, "unauth to an IDN subdomain of ours", UNAUTH4, "", "", "a@remote.example",
	    "u@xn--bcher-kva.ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "unauth control character", UNAUTH4, "", "", "a@remote.example",
	    "u\r\n@ours.example", "reject", "550", "5.7.1", "control-char", "Relay access denied" },
	/* RCPT from authenticated clients: relaying, with TLS rules */
	{ S, "auth relays over TLSv1.3", UNAUTH4, "alice", "TLSv1.3", "alice@ours.example",
	    "u@evil.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "auth relays over TLSv1.2", UNAUTH6, "alice", "TLSv1.2", "alice@ours.example",
	    "u@evil.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "auth relays without TLS", UNAUTH4, "alice", "", "alice@ours.example",
	    "u@evil.example", "reject", "530", "5.7.0", "no-tls", "Must issue a STARTTLS command first" },
	{ S, "auth relays over TLSv1.1", UNAUTH4, "alice", "TLSv1.1", "alice@ours.example",
	    "u@evil.example", "reject", "550", "5.7.1", "old-tls",
	    "TLS protocol TLSv1.1 is too old for relaying; TLSv1.2 or later required" },
	{ S, "auth relays over TLSv1", UNAUTH4, "alice", "TLSv1", "alice@ours.example",
	    "u@evil.example", "reject", "550", "5.7.1", "old-tls", "TLS protocol TLSv1 is too old" },
	{ S, "auth relays over SSLv3", UNAUTH4, "alice", "SSLv3", "alice@ours.example",
	    "u@evil.example", "reject", "550", "5.7.1", "old-tls", "TLS protocol SSLv3 is too old" },
	{ S, "auth to us without TLS", UNAUTH4, "alice", "", "alice@ours.example",
	    "u@ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "auth percent hack over TLS", UNAUTH4, "alice", "TLSv1.3", "alice@ours.example",
	    "u%evil.example@ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "auth percent hack relays without TLS", UNAUTH4, "alice", "", "alice@ours.example",
	    "u%evil.example@ours.example", "reject", "530", "5.7.0", "no-tls", "STARTTLS" },
	{ S, "auth source route relays without TLS", UNAUTH6, "alice", "", "alice@ours.example",
	    "@ours.example:u@evil.example", "reject", "530", "5.7.0", "no-tls", "STARTTLS" },
	{ S, "auth route through a foreign hop", UNAUTH6, "alice", "", "alice@ours.example",
	    "@evil.example:u@ours.example", "reject", "530", "5.7.0", "no-tls", "STARTTLS" },
	{ S, "auth percent hack that stays here", UNAUTH4, "alice", "", "alice@ours.example",
	    "u%other.example@ours.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "auth unreadable recipient", UNAUTH4, "alice", "TLSv1.3", "alice@ours.example",
	    "<u ser@ours.example>", "reject", "501", "5.1.3", "bad-syntax",
	    "<u ser@ours.example>: Bad recipient address syntax" },
	{ S, "auth empty domain", UNAUTH4, "alice", "TLSv1.3", "alice@ours.example", "u@",
	    "reject", "501", "5.1.3", "empty-part", "Bad recipient address syntax" },
	{ S, "auth RCPT TO:<>", UNAUTH4, "alice", "TLSv1.3", "alice@ours.example", "<>",
	    "reject", "501", "5.1.3", "bad-syntax", "Bad recipient address syntax" },
	{ O, "auth relays without TLS when not required", UNAUTH4, "carol", "",
	    "carol@ours.example", "u%evil.example@ours.example", "continue", NULL, NULL, NULL, NULL },
	/* RCPT from trusted clients: relaying, no TLS rule */
	{ S, "trusted relays without TLS", TRUST4, "", "", "a@ours.example", "u@evil.example",
	    "continue", NULL, NULL, NULL, NULL },
	{ S, "trusted and logged in relays without TLS", TRUST4, "alice", "", "alice@ours.example",
	    "u@evil.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "trusted v6 source route", TRUST6, "", "", "a@ours.example",
	    "@ours.example:u@evil.example", "continue", NULL, NULL, NULL, NULL },
	{ S, "trusted v4-mapped", "::ffff:10.1.2.3", "", "", "a@ours.example", "u@evil.example",
	    "continue", NULL, NULL, NULL, NULL },
	{ S, "trusted localhost", "127.0.0.1", "", "", "a@ours.example", "u@evil.example",
	    "continue", NULL, NULL, NULL, NULL },
	{ S, "trusted ::1", "::1", "", "", "a@ours.example", "u@evil.example",
	    "continue", NULL, NULL, NULL, NULL },
	{ S, "trusted unreadable recipient", "127.0.0.1", "", "", "a@ours.example", "user",
	    "reject", "501", "5.1.3", "empty-part", "<user>: Bad recipient address syntax" },
	{ O, "not trusted outside the default networks", TRUST4, "", "", "a@remote.example",
	    "u@evil.example", "reject", "550", "5.7.1", "foreign-domain", "Relay access denied" },
};

/* check_verdict - action, codes, reason and text against a case */
static void
check_verdict(const struct rg_verdict *v, const char *why, const char *act,
    const char *rcode, const char *xcode, const char *want_why, const char *text)
{
	RGT_STREQ(rg_action_name(v->action), act);
	if (rcode != NULL) {
		RGT_STREQ(v->rcode, rcode);
		RGT_STREQ(v->xcode, xcode);
		RGT_STREQ(v->check, "relay");
	}
	if (want_why != NULL || strcmp(act, "continue") == 0)
		RGT_CHECK((why == NULL && want_why == NULL) ||
		    (why != NULL && want_why != NULL && strcmp(why, want_why) == 0),
		    "reason: got %s, want %s", why ? why : "(none)",
		    want_why ? want_why : "(none)");
	if (text != NULL)
		RGT_CONTAINS(v->text, text);
}

static void
test_table(void)
{
	size_t n = sizeof(relay_cases) / sizeof(relay_cases[0]);

	RGT_CASE("table size");
	RGT_CHECK(n >= 40, "only %zu cases", n);
	for (size_t i = 0; i < n; i++) {
		const struct relay_case *t = &relay_cases[i];
		struct rg_conn *c = conn(t->conf == S ? conf_strict : conf_open,
		    t->ip, t->auth, t->tls);
		struct rg_verdict v;
		const char *why;

		RGT_CASE(t->name);
		rg_verdict_init(&v);
		run(c, t->sender, t->rcpt, &v, &why);
		check_verdict(&v, why, t->act, t->rcode, t->xcode, t->why, t->text);
		rg_verdict_clear(&v);
		rg_conn_free(c);
	}
}

/* abuse_line - one "address<TAB>expected[<TAB>reason]" line */
static void
abuse_line(char *line, int lineno)
{
	char *addr = line, *exp, *why, shown[RG_PATH_MAX], text[600], name[64];
	struct rg_conn *c;
	struct rg_verdict v;
	const char *got;

	snprintf(name, sizeof(name), ABUSE_LIST ":%d", lineno);
	RGT_CASE(name);
	if ((exp = strchr(addr, '\t')) == NULL) {
		RGT_CHECK(0, "no TAB in \"%s\"", line);
		return;
	}
	*exp++ = '\0';
	if ((why = strchr(exp, '\t')) != NULL)
		*why++ = '\0';
	RGT_CHECK(strcmp(exp, "reject") == 0 || strcmp(exp, "accept") == 0,
	    "expected is \"%s\", not reject or accept", exp);
	c = conn(conf_strict, UNAUTH4, "", "");
	rg_verdict_init(&v);
	run(c, "someone@remote.example", addr, &v, &got);
	RGT_CASE(addr);
	if (strcmp(exp, "accept") == 0) {
		check_verdict(&v, got, "continue", NULL, NULL, NULL, NULL);
	} else {
		rg_strip_brackets(shown, sizeof(shown), addr);
		snprintf(text, sizeof(text), "<%s>: Relay access denied", shown);
		check_verdict(&v, got, "reject", "550", "5.7.1", why, text);
	}
	rg_verdict_clear(&v);
	rg_conn_free(c);
}

static void
test_abuse_list(void)
{
	char line[2048];
	int lineno = 0, entries = 0;
	FILE *fp = fopen(ABUSE_LIST, "r");

	RGT_CASE("open " ABUSE_LIST);
	RGT_CHECK(fp != NULL, "cannot open " ABUSE_LIST " (run from the top directory)");
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		entries++;
		abuse_line(line, lineno);
	}
	fclose(fp);
	RGT_CASE("size of " ABUSE_LIST);
	RGT_CHECK(entries >= ABUSE_MIN, ABUSE_LIST " has %d entries; it must keep "
	    "at least %d", entries, ABUSE_MIN);
}

/* capture_stderr - run one trick through rg_relay_rcpt with stderr in a file */
static void
capture_stderr(const char *path, const char *rcpt)
{
	struct rg_conn *c = conn(conf_strict, UNAUTH4, "", "");
	struct rg_verdict v;
	int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	const char *why;

	fflush(stderr);
	dup2(fd, 2);
	rg_verdict_init(&v);
	run(c, "someone@remote.example", rcpt, &v, &why);
	fflush(stderr);
	dup2(saved, 2);
	close(fd);
	close(saved);
	rg_verdict_clear(&v);
	rg_conn_free(c);
}

static void
test_log_line(void)
{
	char path[600], buf[4096];
	size_t n;
	FILE *fp;

	RGT_CASE("a refused trick is logged with its name");
	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	capture_stderr(path, "<user%evil.example@ours.example>");
	fp = fopen(path, "r");
	n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;
	buf[n] = '\0';
	if (fp)
		fclose(fp);
	RGT_CONTAINS(buf, "notice: NOQUEUE-1: relay: refused "
	    "<user%evil.example@ours.example>: percent-hack from "
	    "mx.client.example[203.0.113.5]");
}

static void
test_smtputf8(void)
{
	static const char rcpt[] = "j\xc3\xb6rg@ours.example";
	struct rg_conn *c = conn(conf_strict, UNAUTH4, "", "");
	struct rg_verdict v;
	const char *why;

	RGT_CASE("UTF-8 local part without SMTPUTF8");
	rg_verdict_init(&v);
	run(c, "a@remote.example", rcpt, &v, &why);
	check_verdict(&v, why, "reject", "550", "5.7.1", "8bit-local-part", NULL);
	rg_verdict_clear(&v);

	RGT_CASE("UTF-8 local part with SMTPUTF8");
	c->msg->smtputf8 = 1;
	rg_relay_rcpt_why(c, rcpt, &v, &why);
	check_verdict(&v, why, "continue", NULL, NULL, NULL, NULL);
	rg_relay_rcpt(c, "j\xc3\xb6rg@evil.example", &v);
	check_verdict(&v, NULL, "reject", "550", "5.7.1", NULL, "Relay access denied");
	rg_verdict_clear(&v);
	rg_conn_free(c);
}

static void
test_predicates(void)
{
	struct rg_conn *c = conn(conf_strict, TRUST6, "", "");

	RGT_CASE("trusted and authenticated");
	RGT_INTEQ(rg_relay_is_trusted(c), 1);
	RGT_INTEQ(rg_relay_is_authenticated(c), 0);
	rg_copy_field(c->auth_user, sizeof(c->auth_user), "alice");
	RGT_INTEQ(rg_relay_is_authenticated(c), 1);
	rg_conn_free(c);
	c = conn(conf_strict, NULL, "", "");
	RGT_INTEQ(rg_relay_is_trusted(c), 0);
	rg_conn_free(c);

	RGT_CASE("TLS versions compare as versions");
	RGT_INTEQ(rg_relay_tls_rank("TLSv1"), 100);
	RGT_INTEQ(rg_relay_tls_rank("TLSv1.0"), 100);
	RGT_INTEQ(rg_relay_tls_rank("TLSv1.1"), 101);
	RGT_INTEQ(rg_relay_tls_rank("TLSv1.2"), 102);
	RGT_INTEQ(rg_relay_tls_rank("tlsv1.3"), 103);
	RGT_INTEQ(rg_relay_tls_rank("TLSv1.10"), 110);
	RGT_INTEQ(rg_relay_tls_rank("SSLv3"), 0);
	RGT_INTEQ(rg_relay_tls_rank("TLSv"), 0);
	RGT_INTEQ(rg_relay_tls_rank("TLSv1."), 0);
	RGT_INTEQ(rg_relay_tls_rank("TLSv1.2x"), 0);
	RGT_INTEQ(rg_relay_tls_rank(""), 0);
}

static void
test_conf_errors(void)
{
	static const struct {
		const char *name, *text, *want;
	} cases[] = {
		{ "bad TLS version", "relay_min_tls_version = TLSv1.4\n",
		    "relay.conf:1: relay_min_tls_version: expected TLSv1, TLSv1.1, "
		    "TLSv1.2 or TLSv1.3, not \"TLSv1.4\"" },
		{ "SSL is no minimum", "\nrelay_min_tls_version = SSLv3\n",
		    "relay.conf:2: relay_min_tls_version" },
		{ "bad domain", "local_domains = ours.example, bad..example\n",
		    "relay.conf:1: local_domains: bad domain name \"bad..example\"" },
		{ "wildcard domain", "relay_domains = *.ours.example\n",
		    "relay_domains: \"*.ours.example\": write subdomains as \".ours.example\"" },
		{ "literal as domain", "local_domains = [192.0.2.1]\n",
		    "address literals belong in local_ip_literals" },
		{ "address as domain", "sender_block_domains = user@spam.example\n",
		    "bad domain name \"user@spam.example\"" },
		{ "bad domain in a file", "local_domains = file:bad_domains\n",
		    "/bad_domains:3: local_domains: bad domain name \"-x.example\"" },
		{ "login map: bad key", "sender_login_maps = bad_logins\n",
		    "/bad_logins:2: sender_login_maps: \"alice\" is neither user@domain nor @domain" },
		{ "login map: key without login", "sender_login_maps = bad_logins\n",
		    "/bad_logins:3: sender_login_maps: no login for bob@ours.example" },
		{ "login map: missing file", "sender_login_maps = /nonexistent/logins\n",
		    "relay.conf:1: cannot open /nonexistent/logins" },
		{ "login map: two files", "sender_login_maps = a b\n",
		    "relay.conf:1: sender_login_maps: expected one file name" },
	};
	struct rg_buf err = RG_BUF_INIT, warn = RG_BUF_INIT;
	struct rg_conf *c;

	write_file("bad_domains", "ok.example\n# c\n-x.example\n");
	write_file("bad_logins", "a@ours.example a\nalice alice\nbob@ours.example\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RGT_CASE(cases[i].name);
		c = load(cases[i].text, &err);
		RGT_CHECK(c == NULL, "accepted a bad configuration");
		RGT_CONTAINS(rg_buf_cstr(&err), cases[i].want);
		rg_conf_release(c);
	}

	RGT_CASE("login map: a key listed twice warns, the first wins");
	write_file("dup_logins", "a@ours.example  a1\nA@OURS.example. a2\n");
	rg_buf_reset(&err);
	c = rg_conf_load(write_file("relay.conf", "sender_login_maps = file:dup_logins\n"),
	    &err, &warn);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	RGT_CONTAINS(rg_buf_cstr(&warn), "/dup_logins:2: warning: sender_login_maps: "
	    "a@ours.example is listed again");
	if (c != NULL) {
		RGT_INTEQ(rg_loginmap_owns(&c->relay.sender_login_maps, "a", "ours.example", "a1"), 1);
		RGT_INTEQ(rg_loginmap_owns(&c->relay.sender_login_maps, "a", "ours.example", "a2"), 0);
	}
	rg_conf_release(c);
	rg_buf_release(&err);
	rg_buf_release(&warn);
}

static void
teardown(void)
{
	rg_conf_release(conf_strict);
	rg_conf_release(conf_open);
	rgt_rmtree(tmpdir);
}

RGT_MAIN(setup, test_table, test_abuse_list, test_log_line, test_smtputf8,
    test_predicates, test_conf_errors, teardown)
