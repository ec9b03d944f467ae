/*
 * lockout_test.c - compromised-account lockout on a memory store with a
 * fake clock: the message and recipient thresholds, attempts refused by a
 * rate limit still counting, the lock refusing every later message of the
 * account (and no other), hold instead of reject, the alert gate, unlock
 * resetting the counters, keys, and the notify command refused as root.
 */
#include "limits_fixture.h"
#include "lockout.h"
#include "ratelimit.h"
#include "rgtest.h"

/* mail - the MAIL stage as the engine runs it: lock, then counters */
static enum rg_action
mail(struct rg_conn *c, struct rg_verdict *v)
{
	lf_msg(c, "someone@ours.example");
	rg_verdict_clear(v);
	rg_lockout_mail(c, v);
	rg_ratelimit_mail(c, v);
	return v->action;
}

/* stored - the value of key, or "" */
static const char *
stored(struct lf *f, const char *key, char *out, size_t size)
{
	struct rg_buf val = RG_BUF_INIT;

	out[0] = '\0';
	if (rg_kv_get(f->kv, key, &val, NULL) == RG_KV_OK)
		rg_strlcpy(out, rg_buf_cstr(&val), size);
	rg_buf_release(&val);
	return out;
}

static void
test_messages(void)
{
	struct lf f;
	struct rg_verdict v;
	struct rg_conn *bob, *carol;
	struct rg_buf why = RG_BUF_INIT;
	char val[256];
	int ok = 0;

	if (lf_open(&f, "lockout_threshold = 3/1h\n") < 0)
		return;
	rg_verdict_init(&v);
	bob = lf_conn("192.0.2.1", "Bob");
	carol = lf_conn("192.0.2.1", "carol");
	RGT_CASE("the threshold: 3 go, the 4th locks");
	for (int i = 0; i < 3; i++)
		ok += mail(bob, &v) == RG_ACT_CONTINUE;
	RGT_INTEQ(ok, 3);
	RGT_INTEQ(mail(bob, &v), RG_ACT_REJECT);
	RGT_STREQ(v.rcode, "550");
	RGT_STREQ(v.xcode, "5.7.1");
	RGT_STREQ(v.check, "lockout");
	RGT_STREQ(lf_note(bob, "lockout"), "locked");
	RGT_CONTAINS(stored(&f, "lock:bob", val, sizeof(val)),
	    ": 4 messages in 1h, threshold 3");
	RGT_STREQ(stored(&f, "lo:alert:bob", val, sizeof(val)), "1");
	RGT_CASE("locked for good: hours later still refused, at the lock check");
	f.now += 5 * 3600000LL;
	lf_msg(bob, "x@ours.example");
	rg_verdict_clear(&v);
	rg_lockout_mail(bob, &v);
	RGT_INTEQ(v.action, RG_ACT_REJECT);
	RGT_CASE("another account is not affected");
	RGT_INTEQ(mail(carol, &v), RG_ACT_CONTINUE);
	RGT_CASE("a second lock does not alert again");
	RGT_INTEQ(rg_lockout_lock(f.kv, &f.conf->lockout, "bob", "again",
	    "test", &why), RG_KV_OK);
	RGT_STREQ(stored(&f, "lo:alert:bob", val, sizeof(val)), "1");
	RGT_CASE("unlock: mail flows, the counters start again");
	RGT_INTEQ(rg_lockout_unlock(f.kv, &f.conf->lockout, "BOB", &why),
	    RG_KV_OK);
	RGT_STREQ(stored(&f, "lock:bob", val, sizeof(val)), "");
	RGT_STREQ(stored(&f, "lo:alert:bob", val, sizeof(val)), "");
	f.now -= 5 * 3600000LL;	/* inside the old window: reset, not expired */
	ok = 0;
	for (int i = 0; i < 3; i++)
		ok += mail(bob, &v) == RG_ACT_CONTINUE;
	RGT_INTEQ(ok, 3);
	RGT_INTEQ(mail(bob, &v), RG_ACT_REJECT);
	RGT_CASE("unlocking an account that is not locked");
	RGT_INTEQ(rg_lockout_unlock(f.kv, &f.conf->lockout, "nobody-here",
	    &why), RG_KV_NOTFOUND);
	rg_conn_free(bob);
	rg_conn_free(carol);
	rg_verdict_clear(&v);
	rg_buf_release(&why);
	lf_close(&f);
}

static void
test_with_ratelimit(void)
{
	struct lf f;
	struct rg_verdict v;
	struct rg_conn *c;
	char val[256];

	RGT_CASE("attempts refused by a rate limit count toward the lockout");
	if (lf_open(&f, "lockout_threshold = 3/1h\nratelimit_rules = "
	    "pl messages sasl_user 1/1h tempfail auth\n") < 0)
		return;
	rg_verdict_init(&v);
	c = lf_conn("192.0.2.1", "dave");
	RGT_INTEQ(mail(c, &v), RG_ACT_CONTINUE);
	RGT_INTEQ(mail(c, &v), RG_ACT_TEMPFAIL);
	RGT_STREQ(v.check, "ratelimit");
	RGT_INTEQ(mail(c, &v), RG_ACT_TEMPFAIL);
	RGT_INTEQ(mail(c, &v), RG_ACT_REJECT);
	RGT_STREQ(v.check, "lockout");
	RGT_CONTAINS(stored(&f, "lock:dave", val, sizeof(val)), "4 messages");
	rg_conn_free(c);
	rg_verdict_clear(&v);
	lf_close(&f);
}

static void
test_recipients_hold(void)
{
	struct lf f;
	struct rg_verdict v;
	struct rg_conn *c;
	char val[256];

	RGT_CASE("recipients: the 6th of 5 locks; hold instead of reject");
	if (lf_open(&f, "lockout_rcpt_threshold = 5/1h\nlockout_action = hold\n") < 0)
		return;
	rg_verdict_init(&v);
	c = lf_conn("2001:db8::5", "erin");
	RGT_INTEQ(mail(c, &v), RG_ACT_CONTINUE);
	for (int i = 0; i < 5; i++) {
		rg_verdict_clear(&v);
		rg_ratelimit_rcpt(c, "<x@far.example>", &v);
		RGT_INTEQ(v.action, RG_ACT_CONTINUE);
	}
	rg_verdict_clear(&v);
	rg_ratelimit_rcpt(c, "<y@far.example>", &v);
	RGT_INTEQ(v.action, RG_ACT_CONTINUE);
	RGT_STREQ(lf_note(c, "lockout"), "locked, held");
	RGT_CONTAINS(stored(&f, "lock:erin", val, sizeof(val)),
	    "6 recipients in 1h, threshold 5");
	RGT_CASE("held at end of message: quarantine");
	rg_lockout_eom(c, &v);
	RGT_INTEQ(v.action, RG_ACT_QUARANTINE);
	RGT_CONTAINS(v.text, "account erin locked");
	RGT_CASE("the next message is held too, and not counted");
	RGT_INTEQ(mail(c, &v), RG_ACT_CONTINUE);
	rg_verdict_clear(&v);
	rg_ratelimit_rcpt(c, "<z@far.example>", &v);
	rg_lockout_eom(c, &v);
	RGT_INTEQ(v.action, RG_ACT_QUARANTINE);
	RGT_CONTAINS(stored(&f, "lock:erin", val, sizeof(val)),
	    "6 recipients in 1h, threshold 5");
	RGT_CASE("a message refused anyway is not held");
	RGT_INTEQ(mail(c, &v), RG_ACT_CONTINUE);
	rg_verdict_set(&v, RG_ACT_REJECT, "spf", "550", "5.7.23", "spf");
	rg_lockout_eom(c, &v);
	RGT_INTEQ(v.action, RG_ACT_REJECT);
	RGT_CASE("a client that did not log in is not counted");
	rg_conn_free(c);
	c = lf_conn("192.0.2.1", NULL);
	RGT_INTEQ(mail(c, &v), RG_ACT_CONTINUE);
	for (int i = 0; i < 10; i++) {
		rg_verdict_clear(&v);
		rg_ratelimit_rcpt(c, "<x@far.example>", &v);
	}
	RGT_INTEQ(v.action, RG_ACT_CONTINUE);
	rg_lockout_eom(c, &v);
	RGT_INTEQ(v.action, RG_ACT_CONTINUE);
	rg_conn_free(c);
	rg_verdict_clear(&v);
	lf_close(&f);
}

static void
test_keys_notify(void)
{
	struct rg_lockout_conf lc;
	char key[RG_KV_KEY_MAX + 1];
	struct rg_buf err = RG_BUF_INIT;

	RGT_CASE("keys");
	memset(&lc, 0, sizeof(lc));
	lc.msgs.limit = 500;
	lc.msgs.window_ms = 3600000;
	lc.rcpts.limit = -1;
	rg_lockout_lock_key("Alice@Example.COM", key, sizeof(key));
	RGT_STREQ(key, "lock:alice@example.com");
	rg_lockout_alert_key("alice", key, sizeof(key));
	RGT_STREQ(key, "lo:alert:alice");
	RGT_INTEQ(rg_lockout_count_key(&lc, RG_RL_MESSAGES, "alice", key,
	    sizeof(key)), 0);
	RGT_STREQ(key, "lo:msg:1h:alice");
	RGT_INTEQ(rg_lockout_count_key(&lc, RG_RL_RECIPIENTS, "alice", key,
	    sizeof(key)), -1);
	RGT_INTEQ(rg_lockout_count_key(&lc, RG_RL_MESSAGES, "", key,
	    sizeof(key)), -1);
	RGT_CASE("over: strictly more than the threshold, never when off");
	RGT_INTEQ(rg_lockout_over(&lc.msgs, 500), 0);
	RGT_INTEQ(rg_lockout_over(&lc.msgs, 501), 1);
	RGT_INTEQ(rg_lockout_over(&lc.rcpts, 1000000), 0);
	RGT_CASE("the notify command never runs as root");
	if (geteuid() == 0)
		RGT_INTEQ(rg_lockout_notify("/bin/true", "alice"), -1);
	RGT_CASE("the notify command must be an absolute path");
	RGT_CHECK(lf_load("lockout_notify_command = notify.sh\n", &err) == NULL,
	    "accepted");
	RGT_CONTAINS(rg_buf_cstr(&err), "must be an absolute path");
	rg_buf_release(&err);
}

RGT_MAIN(test_messages, test_with_ratelimit, test_recipients_hold,
    test_keys_notify)
