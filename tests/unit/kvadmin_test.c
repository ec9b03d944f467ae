/*
 * kvadmin_test.c - relayguardctl's commands on a memory store: lock,
 * unlock, locked; block, unblock, blocked, and the blocked networks at
 * CONNECT; show (values, counters, prefixes); top; usage errors; and the
 * canonical form of blocked networks.
 */
#include "blocklist.h"
#include "kvadmin.h"
#include "limits_fixture.h"
#include "ratelimit.h"
#include "rgtest.h"

/* run - one command line (words separated by spaces); status and output */
static enum rg_kvadmin_status
run(struct lf *f, const char *line, struct rg_buf *out)
{
	char copy[512], *argv[RG_KVADMIN_ARGS_MAX + 1], *save = NULL;
	int argc = 0;

	rg_strlcpy(copy, line, sizeof(copy));
	for (char *w = strtok_r(copy, " ", &save); w && argc < RG_KVADMIN_ARGS_MAX;
	    w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	rg_buf_reset(out);
	return rg_kvadmin_run(f->kv, f->conf, argc, argv, out);
}

static void
test_lock(void)
{
	struct lf f;
	struct rg_buf out = RG_BUF_INIT;
	struct rg_verdict v;
	struct rg_conn *c;

	if (lf_open(&f, "lockout_threshold = 100/1h\n") < 0)
		return;
	RGT_CASE("lock");
	RGT_INTEQ(run(&f, "lock Alice", &out), RG_KVADMIN_OK);
	RGT_STREQ(rg_buf_cstr(&out), "locked Alice\n");
	RGT_CASE("locked lists it");
	RGT_INTEQ(run(&f, "locked", &out), RG_KVADMIN_OK);
	RGT_CONTAINS(rg_buf_cstr(&out), "alice ");
	RGT_CONTAINS(rg_buf_cstr(&out), ": by the administrator");
	RGT_CASE("the daemon honours it");
	rg_verdict_init(&v);
	c = lf_conn("192.0.2.1", "alice");
	lf_msg(c, "alice@ours.example");
	rg_lockout_mail(c, &v);
	RGT_INTEQ(v.action, RG_ACT_REJECT);
	RGT_CASE("show the lock");
	RGT_INTEQ(run(&f, "show lock:alice", &out), RG_KVADMIN_OK);
	RGT_CONTAINS(rg_buf_cstr(&out), "lock:alice = locked ");
	RGT_CASE("unlock");
	RGT_INTEQ(run(&f, "unlock alice", &out), RG_KVADMIN_OK);
	RGT_STREQ(rg_buf_cstr(&out), "unlocked alice\n");
	rg_verdict_clear(&v);
	rg_lockout_mail(c, &v);
	RGT_INTEQ(v.action, RG_ACT_CONTINUE);
	RGT_CASE("unlock again: not locked, status 1");
	RGT_INTEQ(run(&f, "unlock alice", &out), RG_KVADMIN_FAIL);
	RGT_CONTAINS(rg_buf_cstr(&out), "alice was not locked");
	RGT_INTEQ(run(&f, "locked", &out), RG_KVADMIN_OK);
	RGT_STREQ(rg_buf_cstr(&out), "# no account is locked\n");
	rg_conn_free(c);
	rg_buf_release(&out);
	lf_close(&f);
}

/* connect_action - the blocked-network check at CONNECT for ip */
static enum rg_action
connect_action(const char *ip, struct rg_verdict *v)
{
	struct rg_conn *c = lf_conn(ip, NULL);

	rg_verdict_clear(v);
	rg_blocklist_connect(c, v);
	rg_conn_free(c);
	return v->action;
}

static void
test_block(void)
{
	struct lf f;
	struct rg_buf out = RG_BUF_INIT;
	struct rg_verdict v;

	if (lf_open(&f, "log_level = error\n") < 0)
		return;
	rg_verdict_init(&v);
	RGT_CASE("block an address");
	RGT_INTEQ(run(&f, "block 192.0.2.7", &out), RG_KVADMIN_OK);
	RGT_STREQ(rg_buf_cstr(&out), "blocked 192.0.2.7/32\n");
	RGT_INTEQ(rg_blocklist_count(), 1);
	RGT_INTEQ(connect_action("192.0.2.7", &v), RG_ACT_REJECT);
	RGT_STREQ(v.rcode, "554");
	RGT_STREQ(v.xcode, "5.7.1");
	RGT_CONTAINS(v.text, "client [192.0.2.7] blocked by the administrator");
	RGT_INTEQ(connect_action("192.0.2.8", &v), RG_ACT_CONTINUE);
	RGT_CASE("a network, host bits cleared; IPv6");
	RGT_INTEQ(run(&f, "block 198.51.100.9/24", &out), RG_KVADMIN_OK);
	RGT_STREQ(rg_buf_cstr(&out), "blocked 198.51.100.0/24\n");
	RGT_INTEQ(run(&f, "block 2001:db8:1::5/48", &out), RG_KVADMIN_OK);
	RGT_INTEQ(connect_action("198.51.100.200", &v), RG_ACT_REJECT);
	RGT_INTEQ(connect_action("2001:db8:1:ffff::1", &v), RG_ACT_REJECT);
	RGT_INTEQ(connect_action("::ffff:198.51.100.1", &v), RG_ACT_REJECT);
	RGT_INTEQ(connect_action("2001:db8:2::1", &v), RG_ACT_CONTINUE);
	RGT_CASE("blocked lists them");
	RGT_INTEQ(run(&f, "blocked", &out), RG_KVADMIN_OK);
	RGT_CONTAINS(rg_buf_cstr(&out), "192.0.2.7/32 ");
	RGT_CONTAINS(rg_buf_cstr(&out), "198.51.100.0/24 ");
	RGT_CONTAINS(rg_buf_cstr(&out), "2001:db8:1::/48 ");
	RGT_CASE("unblock");
	RGT_INTEQ(run(&f, "unblock 198.51.100.0/24", &out), RG_KVADMIN_OK);
	RGT_INTEQ(connect_action("198.51.100.200", &v), RG_ACT_CONTINUE);
	RGT_INTEQ(run(&f, "unblock 198.51.100.0/24", &out), RG_KVADMIN_FAIL);
	RGT_CONTAINS(rg_buf_cstr(&out), "not found");
	RGT_CASE("bad networks are usage errors");
	RGT_INTEQ(run(&f, "block 192.0.2.1/33", &out), RG_KVADMIN_USAGE);
	RGT_CONTAINS(rg_buf_cstr(&out), "bad prefix length");
	RGT_INTEQ(run(&f, "block example.org", &out), RG_KVADMIN_USAGE);
	RGT_CASE("a refresh from the store sees the same set");
	rg_blocklist_clear();
	RGT_INTEQ(connect_action("192.0.2.7", &v), RG_ACT_CONTINUE);
	RGT_INTEQ(rg_blocklist_refresh(f.kv, NULL), RG_KV_OK);
	RGT_INTEQ(rg_blocklist_count(), 2);
	RGT_INTEQ(connect_action("192.0.2.7", &v), RG_ACT_REJECT);
	rg_blocklist_clear();
	rg_verdict_clear(&v);
	rg_buf_release(&out);
	lf_close(&f);
}

static void
test_show_top(void)
{
	struct lf f;
	struct rg_buf out = RG_BUF_INIT;
	struct rg_verdict v;
	struct rg_conn *c;
	const char *users[] = { "u1", "u2", "u2", "u3", "u3", "u3" };

	if (lf_open(&f, "ratelimit_rules = pl messages sasl_user 100/1h auth\n"
	    "lockout_threshold = 1000/1d\n") < 0)
		return;
	rg_verdict_init(&v);
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		c = lf_conn("192.0.2.1", users[i]);
		lf_msg(c, "x@ours.example");
		rg_ratelimit_mail(c, &v);
		rg_conn_free(c);
	}
	RGT_CASE("show a counter with the window its key names");
	RGT_INTEQ(run(&f, "show rl:msg:pl:1h:u3", &out), RG_KVADMIN_OK);
	RGT_STREQ(rg_buf_cstr(&out), "rl:msg:pl:1h:u3 = 3 in 1h\n");
	RGT_INTEQ(run(&f, "show lo:msg:1d:u2", &out), RG_KVADMIN_OK);
	RGT_STREQ(rg_buf_cstr(&out), "lo:msg:1d:u2 = 2 in 1d\n");
	RGT_CASE("reading does not change it");
	RGT_INTEQ(run(&f, "show rl:msg:pl:1h:u3", &out), RG_KVADMIN_OK);
	RGT_STREQ(rg_buf_cstr(&out), "rl:msg:pl:1h:u3 = 3 in 1h\n");
	RGT_CASE("show a prefix");
	RGT_INTEQ(run(&f, "show rl:msg:pl:*", &out), RG_KVADMIN_OK);
	RGT_STREQ(rg_buf_cstr(&out), "rl:msg:pl:1h:u1 = 1 in 1h\n"
	    "rl:msg:pl:1h:u2 = 2 in 1h\nrl:msg:pl:1h:u3 = 3 in 1h\n");
	RGT_CASE("show a missing key: status 1");
	RGT_INTEQ(run(&f, "show lock:nobody", &out), RG_KVADMIN_FAIL);
	RGT_STREQ(rg_buf_cstr(&out), "lock:nobody: not found\n");
	RGT_CASE("top messages 2");
	RGT_INTEQ(run(&f, "top messages 2", &out), RG_KVADMIN_OK);
	RGT_STREQ(rg_buf_cstr(&out), "           3  lo:msg:1d:u3\n"
	    "           3  rl:msg:pl:1h:u3\n");
	RGT_CASE("top recipients: none");
	RGT_INTEQ(run(&f, "top recipients", &out), RG_KVADMIN_OK);
	RGT_STREQ(rg_buf_cstr(&out), "# no recipients counted\n");
	RGT_CASE("usage errors");
	RGT_INTEQ(run(&f, "top messages 0", &out), RG_KVADMIN_USAGE);
	RGT_INTEQ(run(&f, "frobnicate", &out), RG_KVADMIN_USAGE);
	RGT_CONTAINS(rg_buf_cstr(&out), "commands:");
	RGT_INTEQ(run(&f, "lock", &out), RG_KVADMIN_USAGE);
	RGT_INTEQ(run(&f, "", &out), RG_KVADMIN_USAGE);
	rg_verdict_clear(&v);
	rg_buf_release(&out);
	lf_close(&f);
}

static void
test_canon(void)
{
	static const struct { const char *in, *out; } good[] = {
		{ "192.0.2.7", "192.0.2.7/32" },
		{ "192.0.2.7/24", "192.0.2.0/24" },
		{ "10.1.2.3/0", "0.0.0.0/0" },
		{ "2001:DB8::1", "2001:db8::1/128" },
		{ "2001:db8:ff::1/40", "2001:db8::/40" },
	};
	static const char *const bad[] = { "", "/24", "192.0.2.1/", "1.2.3/24",
		"192.0.2.1/33", "::1/129", "192.0.2.1/x", "host.example" };
	char out[64], why[128];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		RGT_CASE(good[i].in);
		RGT_INTEQ(rg_block_canon(good[i].in, out, sizeof(out), why,
		    sizeof(why)), 0);
		RGT_STREQ(out, good[i].out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		RGT_CASE(bad[i]);
		RGT_INTEQ(rg_block_canon(bad[i], out, sizeof(out), why,
		    sizeof(why)), -1);
	}
}

RGT_MAIN(test_lock, test_block, test_show_top, test_canon)
