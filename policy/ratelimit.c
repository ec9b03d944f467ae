/*
 * ratelimit.c - rate limits and concurrency slots at their SMTP stages
 *
 * Each stage gathers the counters of every rule that counts there and
 * applies to this client (class, known key parts), plus the account's
 * lockout counter, and sends them in one rg_kv_check: one round trip, all
 * counted or none. Rules in tag mode carry no limit in the check, so they
 * never refuse and always count; their excess is compared here. The first
 * refusing rule, in configuration order, decides. Messages are counted at
 * MAIL: a refusal there costs the client no DATA, and a spammer's aborted
 * transactions count too. "Limit exceeded" is logged once per window and
 * key (rg_ratelimit_log_due), not once per message.
 *
 * Concurrency: a slot (slot:<address>, rg_kv_incr with a limit and an
 * expiry) is taken at CONNECT and given back at close; slot_held makes the
 * give-back happen once, and the expiry bounds a lost close. A give-back
 * the store fails is tried again later, and the slots of sessions still
 * open when the daemon stops are given back then (ratelimit_slots.c).
 * When the store fails at a check, rg_kv_failure says open (skip) or
 * tempfail (451 4.7.0).
 * Public: see ratelimit.h. The log table is guarded by rl_seen_mu; the
 * rest works on one connection's state in its own thread.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "limits.h"
#include "lockout.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "relay.h"
#include "session.h"
#include "settings.h"
#include "siphash.h"
#include "strutil.h"
#include "verdict.h"
#include "xalloc.h"

#define RL_CHECK		"ratelimit"
#define RL_SEEN_SLOTS		4096	/* keys whose excess was logged */
#define RL_SLOT_LOG_WINDOW	60000	/* ms between "too many sessions" lines */

/* the counters of one stage, for one rg_kv_check; small, as a session
 * may keep one while its answer is pending */
struct rl_batch {
	struct rg_kv_op op[RG_KV_OPS_MAX];
	struct rg_kv_res res[RG_KV_OPS_MAX];
	char *key[RG_KV_OPS_MAX];			/* op[i].key */
	const struct rg_rl_rule *rule[RG_KV_OPS_MAX];	/* NULL: lockout */
	size_t rate[RG_KV_OPS_MAX];
	size_t n;
};

/* rl_batch_free - a batch and its keys */
static void
rl_batch_free(struct rl_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->key[i]);
	free(b);
}

struct rl_seen {
	uint64_t hash;
	long long until;	/* ms: not logged again before */
};

static pthread_mutex_t rl_seen_mu = PTHREAD_MUTEX_INITIALIZER;	/* rl_seen */
static struct rl_seen rl_seen[RL_SEEN_SLOTS];
static unsigned char rl_seen_seed[RG_SIPHASH_KEY_LEN];
static pthread_once_t rl_seen_once = PTHREAD_ONCE_INIT;

static long long (*rl_clock)(void *);
static void *rl_clock_arg;

/* rl_seen_init - a random hash key, so clients cannot aim at one slot */
static void
rl_seen_init(void)
{
	if (getrandom(rl_seen_seed, sizeof(rl_seen_seed), 0) !=
	    (ssize_t)sizeof(rl_seen_seed))
		memset(rl_seen_seed, 0x5a, sizeof(rl_seen_seed));
}

/* rg_ratelimit_log_due - log "limit exceeded" for key at most once per window */
int
rg_ratelimit_log_due(const char *key, long long window_ms, long long now)
{
	uint64_t h;
	struct rl_seen *s;
	int due;

	pthread_once(&rl_seen_once, rl_seen_init);
	h = rg_siphash24(rl_seen_seed, key, strlen(key));
	s = &rl_seen[h % RL_SEEN_SLOTS];
	pthread_mutex_lock(&rl_seen_mu);
	due = s->hash != h || now >= s->until;
	if (due) {
		s->hash = h;
		s->until = now + window_ms;
	}
	pthread_mutex_unlock(&rl_seen_mu);
	return due;
}

/* rg_limits_set_clock - tests: a fake clock for greylisting and logs */
void
rg_limits_set_clock(long long (*fn)(void *arg), void *arg)
{
	rl_clock = fn;
	rl_clock_arg = arg;
}

/* rg_limits_now - ms since the epoch */
long long
rg_limits_now(void)
{
	struct timespec ts;

	if (rl_clock != NULL)
		return rl_clock(rl_clock_arg);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* rg_limits_state - create on first use; a new message resets its part */
struct rg_limits_conn *
rg_limits_state(struct rg_conn *c)
{
	struct rg_limits_conn *l = c->limits;

	if (l == NULL)
		l = c->limits = rg_xcalloc(1, sizeof(*l));
	if (l->msgno != c->nmsgs) {
		l->msgno = c->nmsgs;
		l->hold = 0;
		l->locked = 0;
		l->tag[0] = '\0';
	}
	return l;
}

/* rg_limits_facts - the client, login, sender and recipient of c */
void
rg_limits_facts(const struct rg_conn *c, const char *rcpt,
    struct rg_rl_facts *f)
{
	f->sa = c->client_sa.ss_family ?
	    (const struct sockaddr *)&c->client_sa : NULL;
	f->sasl_user = c->auth_user;
	f->sender = c->msg != NULL ? c->msg->sender : NULL;
	f->rcpt = rcpt;
}

/* rl_class_ok - the rule applies to this client */
static int
rl_class_ok(const struct rg_conn *c, const struct rg_rl_rule *r)
{
	switch (r->class) {
	case RG_RL_ALL:
		return 1;
	case RG_RL_AUTH:
		return rg_relay_is_authenticated(c);
	case RG_RL_TRUSTED:
		return rg_relay_is_trusted(c);
	case RG_RL_UNAUTH:
		return !rg_relay_is_authenticated(c) && !rg_relay_is_trusted(c);
	}
	return 0;
}

/* rl_collect - one op per rate of every rule of this stage that applies */
static void
rl_collect(const struct rg_conn *c, enum rg_rl_count kind,
    const struct rg_rl_facts *f, struct rl_batch *b)
{
	const struct rg_rl_rules *rules = &c->conf->ratelimit.rules;
	char key[RG_KV_KEY_MAX + 1];

	for (size_t i = 0; i < rules->n; i++) {
		const struct rg_rl_rule *r = &rules->v[i];

		if (r->count != kind || !rl_class_ok(c, r))
			continue;
		for (size_t w = 0; w < r->nrates && b->n < RG_RL_STAGE_OPS_MAX;
		    w++) {
			if (rg_rl_key(r, w, f, key, sizeof(key)) < 0)
				break;	/* a key part is unknown: not for us */
			b->key[b->n] = rg_xstrdup(key);
			b->op[b->n] = (struct rg_kv_op){ b->key[b->n], 1,
			    r->rate[w].window_ms, r->action == RG_RL_TAG ?
			    RG_KV_NOLIMIT : r->rate[w].limit };
			b->rule[b->n] = r;
			b->rate[b->n++] = w;
		}
	}
}

/* rl_log_over - "limit exceeded", once per window and key */
static void
rl_log_over(const struct rg_conn *c, const struct rl_batch *b, size_t i,
    long long count)
{
	const struct rg_rl_rule *r = b->rule[i];
	const struct rg_rl_rate *rt = &r->rate[b->rate[i]];
	char win[24];

	if (!rg_ratelimit_log_due(b->key[i], rt->window_ms, rg_limits_now()))
		return;
	rg_rl_window_format(rt->window_ms, win, sizeof(win));
	rg_log_id(RG_LOG_NOTICE, c->id, "ratelimit: %s over %lld/%s (%lld) "
	    "from %s[%s]%s%s: %s; not logged again in this window", b->key[i],
	    rt->limit, win, count, rg_conn_client_name(c), c->client_addr,
	    c->auth_user[0] ? " login=" : "", c->auth_user,
	    rg_rl_action_name(r->action));
}

/* rl_refuse - the first rule over its limit decides */
static void
rl_refuse(struct rg_conn *c, const struct rl_batch *b, size_t i,
    struct rg_verdict *v)
{
	const struct rg_rl_rule *r = b->rule[i];
	const struct rg_rl_rate *rt = &r->rate[b->rate[i]];
	char win[24];

	rg_rl_window_format(rt->window_ms, win, sizeof(win));
	rl_log_over(c, b, i, b->res[i].count);
	if (c->msg != NULL)
		rg_msg_note(c->msg, RL_CHECK, "%s=%lld/%lld/%s", r->name,
		    b->res[i].count, rt->limit, win);
	if (r->action == RG_RL_REJECT)
		rg_verdict_set(v, RG_ACT_REJECT, RL_CHECK, "550", "5.7.1",
		    "Rate limit exceeded (%s: %lld per %s)", r->name, rt->limit,
		    win);
	else
		rg_verdict_set(v, RG_ACT_TEMPFAIL, RL_CHECK, "451", "4.7.1",
		    "Rate limit exceeded (%s: %lld per %s); try again later",
		    r->name, rt->limit, win);
}

/* rl_tag - a tag-mode rule over its limit marks the message */
static void
rl_tag(struct rg_conn *c, const struct rl_batch *b, size_t i)
{
	struct rg_limits_conn *l = rg_limits_state(c);
	const struct rg_rl_rule *r = b->rule[i];
	const struct rg_rl_rate *rt = &r->rate[b->rate[i]];
	char win[24], one[128];

	rl_log_over(c, b, i, b->res[i].count);
	rg_rl_window_format(rt->window_ms, win, sizeof(win));
	snprintf(one, sizeof(one), "%s%s=%lld/%lld/%s", l->tag[0] ? ", " : "",
	    r->name, b->res[i].count, rt->limit, win);
	rg_strlcat(l->tag, one, sizeof(l->tag));
	if (c->msg != NULL)
		rg_msg_note(c->msg, RL_CHECK, "tag %s", l->tag);
}

/* rl_judge - refuse, tag, and feed the lockout counter */
static void
rl_judge(struct rg_conn *c, struct rg_kv *kv, enum rg_rl_count kind,
    const struct rl_batch *b, struct rg_verdict *v)
{
	size_t refused = b->n;
	int lockout = -1;

	for (size_t i = 0; i < b->n; i++) {
		if (b->rule[i] == NULL)
			lockout = (int)i;
		else if (!b->res[i].allowed && refused == b->n)
			refused = i;
	}
	rg_metrics_inc_label("ratelimit", refused < b->n ? "limited" :
	    "allowed");
	if (refused < b->n)
		rl_refuse(c, b, refused, v);
	else
		for (size_t i = 0; i < b->n; i++)
			if (b->rule[i] != NULL && b->rule[i]->action == RG_RL_TAG &&
			    b->res[i].count > b->rule[i]->rate[b->rate[i]].limit)
				rl_tag(c, b, i);
	if (lockout >= 0)
		rg_lockout_count(c, kv, kind, &b->op[lockout],
		    b->res[lockout].count, refused == b->n, v);
}

/* rl_store_failed - the configured failure mode, or a logged bug */
static void
rl_store_failed(struct rg_conn *c, struct rg_kv *kv, const char *what,
    enum rg_kv_status st, const struct rg_buf *why, struct rg_verdict *v)
{
	if (st == RG_KV_INVAL) {
		rg_log_id(RG_LOG_ERR, c->id, "%s: store refused the request: "
		    "%s; limit skipped", what, rg_buf_cstr(why));
		return;
	}
	if (c->msg != NULL)
		rg_msg_note(c->msg, RL_CHECK, "store-unavailable");
	if (rg_kv_failure(kv, &c->conf->kv, c->id, what, rg_buf_cstr(why)) ==
	    RG_KV_FAIL_TEMPFAIL) {
		rg_metrics_inc_label("ratelimit", "tempfail");
		rg_verdict_set(v, RG_ACT_TEMPFAIL, RL_CHECK, "451", "4.7.0",
		    "Temporary local problem, try again later");
	} else
		rg_metrics_inc_label("ratelimit", "failopen");
}

/* rl_answer - the store's answer to a stage's counters, judged into v */
static void
rl_answer(struct rg_conn *c, struct rg_kv *kv, enum rg_rl_count kind,
    const struct rl_batch *b, enum rg_kv_status st, const struct rg_buf *why,
    struct rg_verdict *v)
{
	static const char *const what[] = {
		"ratelimit connect", "ratelimit mail", "ratelimit rcpt",
	};

	if (st == RG_KV_OK)
		rl_judge(c, kv, kind, b, v);
	else
		rl_store_failed(c, kv, what[kind], st, why, v);
}

/*
 * rl_stage_start - every counter of a stage in one round trip, sent; the
 * answer is judged into v at once, unless the store keeps it pending:
 * then *pend and the returned batch are the caller's, for rl_stage_end.
 * NULL when there was nothing to send or the answer is judged.
 */
static struct rl_batch *
rl_stage_start(struct rg_conn *c, struct rg_kv *kv, enum rg_rl_count kind,
    const char *rcpt, struct rg_kv_pending **pend, struct rg_verdict *v)
{
	struct rg_buf why = RG_BUF_INIT;
	struct rg_rl_facts f;
	struct rl_batch *b;
	char key[RG_KV_KEY_MAX + 1];
	enum rg_kv_status st;

	*pend = NULL;
	if (kv == NULL || rg_verdict_is_final(v))
		return NULL;
	b = rg_xcalloc(1, sizeof(*b));
	rg_limits_facts(c, rcpt, &f);
	rl_collect(c, kind, &f, b);
	if (rg_lockout_op(c, kind, &b->op[b->n], key, sizeof(key)) == 0) {
		b->op[b->n].key = b->key[b->n] = rg_xstrdup(key);
		b->rule[b->n++] = NULL;
	}
	if (b->n > 0) {
		st = rg_kv_check_start(kv, b->op, b->n, b->res, pend, &why);
		if (*pend == NULL)
			rl_answer(c, kv, kind, b, st, &why, v);
	}
	rg_buf_release(&why);
	if (*pend != NULL)
		return b;
	rl_batch_free(b);
	return NULL;
}

/* rl_stage_end - read a pending answer and judge it into v; frees b.
 * kv: the store held now, or NULL (stopping: nothing is judged) */
static void
rl_stage_end(struct rg_conn *c, struct rg_kv *kv, enum rg_rl_count kind,
    struct rl_batch *b, struct rg_kv_pending *pend, struct rg_verdict *v)
{
	struct rg_buf why = RG_BUF_INIT;
	enum rg_kv_status st;

	st = rg_kv_check_end(kv, pend, b->op, b->n, b->res, &why);
	if (kv != NULL)
		rl_answer(c, kv, kind, b, st, &why, v);
	rg_buf_release(&why);
	rl_batch_free(b);
}

/* a refusal read after its stage (rg_limits_conn.refused) */
#define RL_REFUSED_NONE		0
#define RL_REFUSED_SESSION	1	/* every MAIL of the session */
#define RL_REFUSED_MESSAGE	2	/* every RCPT of message refused_msgno */

/* rl_refusal_give - the late refusal that applies now into v */
static void
rl_refusal_give(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_limits_conn *l = c->limits;

	if (l == NULL || v == NULL || rg_verdict_is_final(v) ||
	    l->refused == RL_REFUSED_NONE ||
	    (l->refused == RL_REFUSED_MESSAGE && l->refused_msgno != c->nmsgs))
		return;
	rg_verdict_take(v, &l->refusal);
}

/* rl_settle - end the pending stage, if any; a refusal it holds is kept
 * for rl_refusal_give (and a session's also as the connection's verdict,
 * for its log line) */
static void
rl_settle(struct rg_conn *c, struct rg_kv *kv)
{
	struct rg_limits_conn *l = c->limits;
	struct rg_verdict late;

	if (l == NULL || l->pend == NULL)
		return;
	rg_verdict_init(&late);
	rl_stage_end(c, kv, (enum rg_rl_count)l->pend_kind, l->pend_batch,
	    l->pend, &late);
	l->pend = NULL;
	l->pend_batch = NULL;
	/* a session's refusal stays; a message's gives way to the next's */
	if (rg_verdict_is_final(&late) && l->refused != RL_REFUSED_SESSION) {
		l->refused = l->pend_kind == RG_RL_CONNECTIONS ?
		    RL_REFUSED_SESSION : RL_REFUSED_MESSAGE;
		l->refused_msgno = l->pend_msgno;
		rg_verdict_take(&l->refusal, &late);
		if (l->refused == RL_REFUSED_SESSION &&
		    !rg_verdict_is_final(&c->verdict))
			rg_verdict_take(&c->verdict, &late);
	}
	rg_verdict_clear(&late);
}

/* rl_stage_defer - send a stage's counters; keep the answer pending */
static void
rl_stage_defer(struct rg_conn *c, struct rg_kv *kv, enum rg_rl_count kind,
    struct rg_verdict *v)
{
	struct rg_kv_pending *pend;
	struct rl_batch *b = rl_stage_start(c, kv, kind, NULL, &pend, v);
	struct rg_limits_conn *l;

	if (b == NULL)
		return;
	l = rg_limits_state(c);
	rl_settle(c, kv);	/* one pending stage at a time */
	l->pend = pend;
	l->pend_batch = b;
	l->pend_kind = kind;
	l->pend_msgno = c->nmsgs;
}

/* rl_slot_take - one concurrency slot for the client, or 451 4.7.0 */
static void
rl_slot_take(struct rg_conn *c, struct rg_kv *kv, struct rg_verdict *v)
{
	const struct rg_ratelimit_conf *rc = &c->conf->ratelimit;
	struct rg_buf why = RG_BUF_INIT;
	struct rg_limits_conn *l;
	struct rg_kv_res res;
	char ip[64];
	enum rg_kv_status st;

	if (kv == NULL || rc->max_connections == 0 || rg_relay_is_trusted(c) ||
	    rg_rl_client_ip((const struct sockaddr *)&c->client_sa, ip,
	    sizeof(ip)) < 0)
		return;
	l = rg_limits_state(c);
	snprintf(l->slot_key, sizeof(l->slot_key), "slot:%s", ip);
	st = rg_kv_incr(kv, l->slot_key, 1, rc->max_connections, rc->slot_ttl,
	    &res, &why);
	if (st != RG_KV_OK)
		rl_store_failed(c, kv, "ratelimit sessions", st, &why, v);
	else if (res.allowed) {
		l->slot_held = 1;
		rg_ratelimit_slot_held(l->slot_key, rc->slot_ttl);
	}
	else {
		if (rg_ratelimit_log_due(l->slot_key, RL_SLOT_LOG_WINDOW,
		    rg_limits_now()))
			rg_log_id(RG_LOG_NOTICE, c->id, "ratelimit: %s[%s] has "
			    "%lld sessions, the limit is %lld; refused (not "
			    "logged again for a minute)", rg_conn_client_name(c),
			    ip, res.count, rc->max_connections);
		rg_verdict_set(v, RG_ACT_TEMPFAIL, RL_CHECK, "451", "4.7.0",
		    "Too many concurrent connections from [%s]; try again later",
		    ip);
	}
	rg_buf_release(&why);
}

/* rg_ratelimit_connect - the concurrency slot, then the connection rules */
void
rg_ratelimit_connect(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_kv *kv;

	if (rg_verdict_is_final(v) || (kv = rg_kv_hold()) == NULL)
		return;
	rl_slot_take(c, kv, v);
	rl_stage_defer(c, kv, RG_RL_CONNECTIONS, v);
	rg_kv_unhold(kv);
}

void
rg_ratelimit_settle(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_kv *kv;

	if (c->limits != NULL && c->limits->pend != NULL) {
		kv = rg_kv_hold();
		rl_settle(c, kv);
		rg_kv_unhold(kv);
	}
	rl_refusal_give(c, v);
}

/* rg_ratelimit_mail - the message rules and the lockout counter, at MAIL */
void
rg_ratelimit_mail(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_kv *kv = rg_kv_hold();

	rl_stage_defer(c, kv, RG_RL_MESSAGES, v);
	rg_kv_unhold(kv);
}

/*
 * rg_ratelimit_rcpt - the recipient rules and the lockout counter, per
 * RCPT. The recipient's counters go out first; then the message's answer
 * still pending is read, then the recipient's: one wait for both. A
 * recipient of a message refused that way has been counted.
 */
void
rg_ratelimit_rcpt(struct rg_conn *c, const char *rcpt, struct rg_verdict *v)
{
	char addr[RG_PATH_MAX];
	struct rg_kv_pending *pend;
	struct rl_batch *b;
	struct rg_verdict late;
	struct rg_kv *kv = rg_kv_hold();

	rl_refusal_give(c, v);
	rg_strip_brackets(addr, sizeof(addr), rcpt);
	b = rl_stage_start(c, kv, RG_RL_RECIPIENTS, addr, &pend, v);
	rl_settle(c, kv);
	rl_refusal_give(c, v);
	if (b != NULL) {
		rg_verdict_init(&late);
		rl_stage_end(c, kv, RG_RL_RECIPIENTS, b, pend, &late);
		if (rg_verdict_is_final(&late) && !rg_verdict_is_final(v))
			rg_verdict_take(v, &late);
		rg_verdict_clear(&late);
	}
	rg_kv_unhold(kv);
}

/* rg_ratelimit_eom - the tag header of a message over a tag-mode limit */
void
rg_ratelimit_eom(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_limits_conn *l = c->limits;

	if (l != NULL && l->msgno == c->nmsgs && l->tag[0] != '\0')
		rg_verdict_add_header(v, rg_tag_name(RG_TAG_RATELIMIT), l->tag, 0);
}

/* rl_slot_release - count the slot down; the flag goes first: once only */
static void
rl_slot_release(struct rg_conn *c, struct rg_limits_conn *l)
{
	struct rg_buf why = RG_BUF_INIT;
	struct rg_kv *kv;

	if (!l->slot_held)
		return;
	l->slot_held = 0;
	/*
	 * The store first: once the daemon is stopping there is none, and the
	 * slot must stay counted as held so that the shutdown gives it back
	 * (unheld first, it was lost between the two). Holding the store
	 * makes the shutdown wait until this slot is unheld and given back.
	 */
	if ((kv = rg_kv_hold()) == NULL)
		return;
	/* given back already, with the rest, when the daemon stopped */
	if (!rg_ratelimit_slot_unheld(l->slot_key)) {
		rg_kv_unhold(kv);
		return;
	}
	if (rg_kv_incr(kv, l->slot_key, -1, RG_KV_NOLIMIT,
	    c->conf->ratelimit.slot_ttl, NULL, &why) != RG_KV_OK)
		rg_log_id(RG_LOG_WARN, c->id, "ratelimit: cannot give back the "
		    "session slot %s (%s); %s", l->slot_key, rg_buf_cstr(&why),
		    rg_ratelimit_slot_defer(l->slot_key,
		    c->conf->ratelimit.slot_ttl) == 0 ?
		    "trying again" : "it expires by itself");
	rg_kv_unhold(kv);
	rg_buf_release(&why);
}

/* rg_ratelimit_close - the answer still pending, then the slot back */
void
rg_ratelimit_close(struct rg_conn *c)
{
	if (c->limits != NULL) {
		rg_ratelimit_settle(c, NULL);
		rl_slot_release(c, c->limits);
	}
}

/* rg_limits_free - release c->limits, giving back a slot still held */
void
rg_limits_free(struct rg_conn *c)
{
	if (c->limits == NULL)
		return;
	/* a connection freed without its close stage still gives back */
	rg_ratelimit_settle(c, NULL);
	rl_slot_release(c, c->limits);
	rg_verdict_clear(&c->limits->refusal);
	free(c->limits);
	c->limits = NULL;
}
