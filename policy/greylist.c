/*
 * greylist.c - greylisting at RCPT (see greylist.h)
 *
 * The state of a triplet is one value in the counter store:
 *   absent          never seen, or the retry came after greylist_expire:
 *                   store "p <now>" for greylist_expire; refuse (NEW)
 *   "p <first>"     now - first < greylist_delay: refuse (EARLY), with
 *                   the seconds left; else store "a <now>" for
 *                   greylist_auto_allow and let it pass (PASS)
 *   "a <since>"     let it pass (KNOWN); stored again once a tenth of
 *                   greylist_auto_allow has gone by, so a triplet in use
 *                   stays allowed without a write per message
 * Two round trips at most per recipient (get, then set). A value that is
 * not ours starts over as NEW. Public: see greylist.h. Thread-safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl.h"
#include "greylist.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "relay.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "verdict.h"

#define GL_CHECK	"greylist"

#define GL(f) offsetof(struct rg_greylist_conf, f)

const struct rg_param rg_greylist_params[] = {
	RG_P_BOOL("greylist_enable", "no", GL(enable), 0,
	    "greylist clients that are neither trusted, logged in nor in a DNSWL"),
	RG_P_TIME("greylist_delay", "5m", 1000, 86400000LL, GL(delay), 0,
	    "a triplet's first retry is accepted this long after its first attempt"),
	RG_P_TIME("greylist_expire", "2d", 60000, 30LL * 86400000, GL(expire), 0,
	    "a first attempt not retried within this is forgotten"),
	RG_P_TIME("greylist_auto_allow", "30d", 60000, 366LL * 86400000,
	    GL(auto_allow), 0,
	    "a triplet that passed is let through this long after its last use"),
	RG_P_END
};

/* rg_greylist_conf_check - the retry window must outlast the delay */
int
rg_greylist_conf_check(struct rg_conf_ctx *cx, void *modconf)
{
	const struct rg_greylist_conf *gc = modconf;

	if (gc->expire <= gc->delay) {
		rg_conf_perror(cx, "greylist_expire must be longer than "
		    "greylist_delay");
		return -1;
	}
	return 0;
}

/* rg_greylist_key - gl:<client network>|<sender>|<recipient> */
int
rg_greylist_key(const struct sockaddr *sa, const char *sender,
    const char *rcpt, char *out, size_t size)
{
	char net[64], value[RG_KV_KEY_MAX + 1] = "";

	if (rg_rl_client_net(sa, net, sizeof(net)) < 0)
		return -1;
	rg_rl_key_value(value, sizeof(value), sender && *sender ? sender : "<>");
	rg_strlcat(value, "|", sizeof(value));
	rg_rl_key_value(value, sizeof(value), rcpt ? rcpt : "");
	rg_rl_key_shorten(value);
	if (snprintf(out, size, "gl:%s|%s", net, value) >= (int)size)
		return -1;
	return 0;
}

/* rg_greylist_result_name - a result as a word for the log */
const char *
rg_greylist_result_name(enum rg_gl_result r)
{
	static const char *const names[] = {
		"new", "early", "pass", "known", "tempfail", "invalid",
	};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

/* gl_parse - "p <ms>" or "a <ms>"; 0, or -1 for anything else */
static int
gl_parse(const struct rg_buf *val, char *kind, long long *t)
{
	const char *s = rg_buf_cstr(val);
	char *end;

	if (val->len < 3 || (s[0] != 'p' && s[0] != 'a') || s[1] != ' ')
		return -1;
	*kind = s[0];
	*t = strtoll(s + 2, &end, 10);
	return *end == '\0' && *t >= 0 ? 0 : -1;
}

/* gl_store - kind and time, expiring after ttl */
static enum rg_kv_status
gl_store(struct rg_kv *kv, const char *key, char kind, long long now,
    long long ttl, struct rg_buf *why)
{
	char v[32];
	int n = snprintf(v, sizeof(v), "%c %lld", kind, now);

	return rg_kv_set(kv, key, v, (size_t)n, ttl, why);
}

/* gl_wait - whole seconds from now until ms (at least 1) */
static long long
gl_wait(long long until, long long now)
{
	long long s = (until - now + 999) / 1000;

	return s < 1 ? 1 : s;
}

/* rg_greylist_eval - one step of the triplet state machine (see the top) */
enum rg_gl_result
rg_greylist_eval(struct rg_kv *kv, const struct rg_greylist_conf *gc,
    const char *key, long long now, long long *wait_s, struct rg_buf *why)
{
	struct rg_buf val = RG_BUF_INIT;
	enum rg_kv_status st = rg_kv_get(kv, key, &val, why);
	char kind = 0;
	long long t = 0;
	int known = st == RG_KV_OK && gl_parse(&val, &kind, &t) == 0;

	rg_buf_release(&val);
	*wait_s = 0;
	if (st == RG_KV_TEMPFAIL || st == RG_KV_INVAL)
		return st == RG_KV_TEMPFAIL ? RG_GL_TEMPFAIL : RG_GL_INVAL;
	if (known && kind == 'a') {
		/* a failed renewal costs nothing now: log it and pass */
		if (now - t >= gc->auto_allow / 10 &&
		    gl_store(kv, key, 'a', now, gc->auto_allow, why) != RG_KV_OK)
			rg_log_debug(RG_MOD_GREYLIST, "greylist: %s not renewed",
			    key);
		return RG_GL_KNOWN;
	}
	if (known && now - t >= gc->delay) {
		if (gl_store(kv, key, 'a', now, gc->auto_allow, why) != RG_KV_OK)
			rg_log_debug(RG_MOD_GREYLIST, "greylist: %s passed, not "
			    "stored", key);
		return RG_GL_PASS;
	}
	if (known) {
		/* another host's clock may run ahead: never more than delay */
		*wait_s = gl_wait(t > now ? now + gc->delay : t + gc->delay, now);
		return RG_GL_EARLY;
	}
	st = gl_store(kv, key, 'p', now, gc->expire, why);
	if (st != RG_KV_OK)
		return st == RG_KV_TEMPFAIL ? RG_GL_TEMPFAIL : RG_GL_INVAL;
	*wait_s = gl_wait(now + gc->delay, now);
	return RG_GL_NEW;
}

/* gl_skip - clients greylisting is not for */
static const char *
gl_skip(const struct rg_conn *c)
{
	if (rg_relay_is_trusted(c))
		return "trusted";
	if (rg_relay_is_authenticated(c))
		return "authenticated";
	if (rg_dnsbl_allowlisted(c))
		return "dnswl";
	return NULL;
}

/* gl_failed - the store could not answer: the failure mode decides */
static void
gl_failed(struct rg_conn *c, struct rg_kv *kv, enum rg_gl_result r,
    const struct rg_buf *why, struct rg_verdict *v)
{
	if (r == RG_GL_INVAL) {
		rg_log_id(RG_LOG_ERR, c->id, "greylist: store refused the "
		    "request: %s; not greylisted", rg_buf_cstr(why));
		return;
	}
	rg_msg_note(c->msg, GL_CHECK, "store-unavailable");
	if (rg_kv_failure(kv, &c->conf->kv, c->id, GL_CHECK, rg_buf_cstr(why)) ==
	    RG_KV_FAIL_TEMPFAIL) {
		rg_metrics_inc_label("greylist", "tempfail");
		rg_verdict_set(v, RG_ACT_TEMPFAIL, GL_CHECK, "451", "4.7.0",
		    "Temporary local problem, try again later");
	} else
		rg_metrics_inc_label("greylist", "failopen");
}

/* rg_greylist_rcpt - greylist one recipient, unless the client is exempt */
void
rg_greylist_rcpt(struct rg_conn *c, const char *rcpt, struct rg_verdict *v)
{
	struct rg_buf why = RG_BUF_INIT;
	char addr[RG_PATH_MAX], key[RG_KV_KEY_MAX + 1];
	const char *skip;
	enum rg_gl_result r;
	struct rg_kv *kv;
	long long wait;

	if (!c->conf->greylist.enable || c->msg == NULL ||
	    rg_verdict_is_final(v))
		return;
	if ((skip = gl_skip(c)) != NULL) {
		rg_msg_note(c->msg, GL_CHECK, "skipped (%s)", skip);
		return;
	}
	rg_strip_brackets(addr, sizeof(addr), rcpt);
	if (rg_greylist_key((const struct sockaddr *)&c->client_sa,
	    c->msg->sender, addr, key, sizeof(key)) < 0 ||
	    (kv = rg_kv_hold()) == NULL)
		return;
	r = rg_greylist_eval(kv, &c->conf->greylist, key, rg_limits_now(),
	    &wait, &why);
	rg_log_id_debug(RG_MOD_GREYLIST, c->id, "greylist: %s: %s", key,
	    rg_greylist_result_name(r));
	if (r == RG_GL_TEMPFAIL || r == RG_GL_INVAL)
		gl_failed(c, kv, r, &why, v);
	else if (r == RG_GL_NEW || r == RG_GL_EARLY) {
		rg_metrics_inc_label("greylist", "greylisted");
		rg_msg_note(c->msg, GL_CHECK, "%s, retry in %llds",
		    rg_greylist_result_name(r), wait);
		rg_verdict_set(v, RG_ACT_TEMPFAIL, GL_CHECK, "451", "4.7.1",
		    "Greylisted, try again in %lld seconds", wait);
	} else {
		rg_metrics_inc_label("greylist", r == RG_GL_PASS ? "passed" :
		    "allowed");
		rg_msg_note(c->msg, GL_CHECK, "%s", rg_greylist_result_name(r));
	}
	rg_kv_unhold(kv);
	rg_buf_release(&why);
}
