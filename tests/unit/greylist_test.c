/*
 * greylist_test.c - greylisting: the triplet key, the state machine on a
 * memory store with a fake clock (new, early, pass, known, renewal,
 * expiry of both kinds, values that are not ours), the RCPT stage and
 * who skips it, the failure modes, and the settings' cross-check.
 */
#include "greylist.h"
#include "limits_fixture.h"
#include "metrics.h"
#include "rgtest.h"

#define GL_CONF "greylist_enable = yes\ngreylist_delay = 2m\n" \
	"greylist_expire = 1h\ngreylist_auto_allow = 10d\n"

static void
test_key(void)
{
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	char key[RG_KV_KEY_MAX + 1];

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.200", &in.sin_addr);
	RGT_CASE("IPv4 /24, lower case");
	RGT_INTEQ(rg_greylist_key((struct sockaddr *)&in, "A@Far.Example",
	    "b@ours.example", key, sizeof(key)), 0);
	RGT_STREQ(key, "gl:192.0.2.0/24|a@far.example|b@ours.example");
	RGT_CASE("the null sender");
	RGT_INTEQ(rg_greylist_key((struct sockaddr *)&in, "", "b@ours.example",
	    key, sizeof(key)), 0);
	RGT_STREQ(key, "gl:192.0.2.0/24|<>|b@ours.example");
	RGT_CASE("IPv6 /64");
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:a:b:1:2:3:4", &in6.sin6_addr);
	RGT_INTEQ(rg_greylist_key((struct sockaddr *)&in6, "s@x", "r@y", key,
	    sizeof(key)), 0);
	RGT_STREQ(key, "gl:2001:db8:a:b::/64|s@x|r@y");
	RGT_CASE("no client address: no key");
	RGT_INTEQ(rg_greylist_key(NULL, "s@x", "r@y", key, sizeof(key)), -1);
}

/* eval - one step of the state machine at the fixture's clock */
static enum rg_gl_result
eval(struct lf *f, const char *key, long long *wait)
{
	return rg_greylist_eval(f->kv, &f->conf->greylist, key, f->now, wait,
	    NULL);
}

static void
test_states(void)
{
	const char *k = "gl:192.0.2.0/24|s@x|r@y";
	struct lf f;
	long long wait = -1;
	struct rg_buf val = RG_BUF_INIT;

	if (lf_open(&f, GL_CONF) < 0)
		return;
	RGT_CASE("first sight: new, wait the delay");
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_NEW);
	RGT_INTEQ(wait, 120);
	RGT_CASE("retry too early: the time that is left");
	f.now += 30500;
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_EARLY);
	RGT_INTEQ(wait, 90);
	f.now += 89000;
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_EARLY);
	RGT_INTEQ(wait, 1);
	RGT_CASE("an early retry does not restart the delay");
	f.now += 500;
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_PASS);
	RGT_CASE("then known");
	f.now += 1000;
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_KNOWN);
	RGT_INTEQ(wait, 0);
	RGT_CASE("used within auto_allow: renewed");
	f.now += 5LL * 86400000;
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_KNOWN);
	f.now += 6LL * 86400000;	/* 11 days after the pass */
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_KNOWN);
	RGT_CASE("unused for auto_allow: forgotten");
	f.now += 10LL * 86400000 + 1;
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_NEW);
	RGT_CASE("not retried within greylist_expire: new again");
	f.now += 3600000 + 1;
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_NEW);
	RGT_CASE("the stored value");
	RGT_INTEQ(rg_kv_get(f.kv, k, &val, NULL), RG_KV_OK);
	RGT_CHECK(val.len > 2 && strncmp(rg_buf_cstr(&val), "p ", 2) == 0,
	    "value \"%s\"", rg_buf_cstr(&val));
	RGT_CASE("a value that is not ours starts over");
	rg_kv_set(f.kv, k, "junk", 4, 0, NULL);
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_NEW);
	rg_kv_set(f.kv, k, "p 12x", 5, 0, NULL);
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_NEW);
	RGT_CASE("another host's clock ahead: never more than the delay");
	rg_kv_set(f.kv, k, "p 9999999999999", 15, 0, NULL);
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_EARLY);
	RGT_INTEQ(wait, 120);
	RGT_CASE("a counter under the key: invalid");
	rg_kv_del(f.kv, k, NULL);
	rg_kv_count_add(f.kv, k, 1, 60000, NULL, NULL);
	RGT_INTEQ(eval(&f, k, &wait), RG_GL_INVAL);
	rg_buf_release(&val);
	lf_close(&f);
}

/* rcpt - greylisting at RCPT; the action */
static enum rg_action
rcpt(struct rg_conn *c, const char *addr, struct rg_verdict *v)
{
	rg_verdict_clear(v);
	rg_greylist_rcpt(c, addr, v);
	return v->action;
}

static void
test_stage(void)
{
	struct lf f;
	struct rg_verdict v;
	struct rg_conn *c;

	if (lf_open(&f, GL_CONF "trusted_networks = 10.0.0.0/8\n") < 0)
		return;
	rg_verdict_init(&v);
	rg_metrics_reset();
	RGT_CASE("an anonymous client: 451 4.7.1 with the retry hint");
	c = lf_conn("192.0.2.1", NULL);
	lf_msg(c, "s@far.example");
	RGT_INTEQ(rcpt(c, "<r@ours.example>", &v), RG_ACT_TEMPFAIL);
	RGT_STREQ(v.rcode, "451");
	RGT_STREQ(v.xcode, "4.7.1");
	RGT_STREQ(v.text, "Greylisted, try again in 120 seconds");
	RGT_STREQ(lf_note(c, "greylist"), "new, retry in 120s");
	RGT_CASE("from another host of the same /24, after the delay");
	rg_conn_free(c);
	f.now += 120000;
	c = lf_conn("192.0.2.77", NULL);
	lf_msg(c, "S@far.example");
	RGT_INTEQ(rcpt(c, "<R@ours.example>", &v), RG_ACT_CONTINUE);
	RGT_STREQ(lf_note(c, "greylist"), "pass");
	RGT_CASE("another recipient is another triplet");
	RGT_INTEQ(rcpt(c, "<other@ours.example>", &v), RG_ACT_TEMPFAIL);
	rg_conn_free(c);
	RGT_CASE("each result counted");
	RGT_INTEQ(rg_metrics_get_label("greylist", "greylisted", NULL), 2);
	RGT_INTEQ(rg_metrics_get_label("greylist", "passed", NULL), 1);
	RGT_INTEQ(rg_metrics_get_label("greylist", "allowed", NULL), 0);
	RGT_CASE("trusted and authenticated clients skip it");
	c = lf_conn("10.0.0.1", NULL);
	lf_msg(c, "s2@far.example");
	RGT_INTEQ(rcpt(c, "<r@ours.example>", &v), RG_ACT_CONTINUE);
	RGT_STREQ(lf_note(c, "greylist"), "skipped (trusted)");
	rg_conn_free(c);
	c = lf_conn("192.0.2.1", "carol");
	lf_msg(c, "s3@far.example");
	RGT_INTEQ(rcpt(c, "<r@ours.example>", &v), RG_ACT_CONTINUE);
	RGT_STREQ(lf_note(c, "greylist"), "skipped (authenticated)");
	RGT_INTEQ(rg_dnsbl_allowlisted(c), 0);
	rg_conn_free(c);
	RGT_CASE("an earlier refusal is left alone");
	c = lf_conn("192.0.2.1", NULL);
	lf_msg(c, "s4@far.example");
	rg_verdict_clear(&v);
	rg_verdict_set(&v, RG_ACT_REJECT, "relay", "550", "5.7.1", "denied");
	rg_greylist_rcpt(c, "<r@ours.example>", &v);
	RGT_STREQ(v.check, "relay");
	rg_conn_free(c);
	rg_verdict_clear(&v);
	lf_close(&f);

	RGT_CASE("off by default");
	if (lf_open(&f, "log_level = error\n") < 0)
		return;
	c = lf_conn("192.0.2.1", NULL);
	lf_msg(c, "s@far.example");
	RGT_INTEQ(rcpt(c, "<r@ours.example>", &v), RG_ACT_CONTINUE);
	rg_conn_free(c);
	lf_close(&f);
}

static void
test_failure_conf(void)
{
	struct lf f;
	struct rg_verdict v;
	struct rg_conn *c;
	struct rg_buf err = RG_BUF_INIT;
	char key[32];

	RGT_CASE("store full: tempfail mode gives 451 4.7.0");
	if (lf_open(&f, GL_CONF "kv_mem_max_entries = 100\n"
	    "redis_failure_mode = tempfail\n") < 0)
		return;
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "fill:%d", i);
		rg_kv_set(f.kv, key, "x", 1, 0, NULL);
	}
	rg_verdict_init(&v);
	c = lf_conn("192.0.2.1", NULL);
	lf_msg(c, "s@far.example");
	RGT_INTEQ(rcpt(c, "<r@ours.example>", &v), RG_ACT_TEMPFAIL);
	RGT_STREQ(v.xcode, "4.7.0");
	RGT_STREQ(lf_note(c, "greylist"), "store-unavailable");
	rg_conn_free(c);
	rg_verdict_clear(&v);
	lf_close(&f);

	RGT_CASE("greylist_expire must be longer than greylist_delay");
	RGT_CHECK(lf_load("greylist_delay = 1h\ngreylist_expire = 1h\n", &err) ==
	    NULL, "accepted");
	RGT_CONTAINS(rg_buf_cstr(&err), "greylist_expire must be longer");
	rg_buf_release(&err);
}

RGT_MAIN(test_key, test_states, test_stage, test_failure_conf)
