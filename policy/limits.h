/*
 * limits.h - per-connection state shared by ratelimit.c, lockout.c and
 * greylist.c (nothing else includes it)
 *
 * One struct rg_limits_conn hangs off struct rg_conn (c->limits), created
 * on first use by rg_limits_state() and freed by rg_limits_free() when
 * the connection is freed. The message part is reset whenever a new
 * message has begun (c->nmsgs changed). Owned by the connection's thread.
 */
#ifndef RG_LIMITS_H
#define RG_LIMITS_H

#include "kv.h"
#include "ratelimit.h"
#include "verdict.h"

struct rg_conn;
struct rl_batch;

#define RG_LIMITS_TAG_MAX	256	/* the tag header's value */

struct rg_limits_conn {
	/* connection */
	char slot_key[RG_KV_KEY_MAX + 1];
	int slot_held;			/* counted up, not yet down */
	/* message number msgno (c->nmsgs when set) */
	unsigned msgno;
	int hold;			/* lockout_action = hold: quarantine */
	int locked;			/* the account is locked: not counted */
	char tag[RG_LIMITS_TAG_MAX];	/* rules in tag mode that were over */
	/* a stage's counters sent to the store, answer not read yet */
	struct rg_kv_pending *pend;
	struct rl_batch *pend_batch;
	int pend_kind;			/* enum rg_rl_count */
	unsigned pend_msgno;		/* c->nmsgs when sent */
	/* a refusal read after its stage: of the session, or of message
	 * refused_msgno; its reply is given at the next MAIL or RCPT */
	int refused;			/* RL_REFUSED_* (ratelimit.c) */
	unsigned refused_msgno;
	struct rg_verdict refusal;	/* no header edits */
};

/* rg_limits_state - c's state; its message part belongs to c->msg */
struct rg_limits_conn *rg_limits_state(struct rg_conn *c);
/* rg_limits_facts - what keys are built from, for c (and rcpt) */
void rg_limits_facts(const struct rg_conn *c, const char *rcpt,
    struct rg_rl_facts *f);
/* rg_limits_now - ms since the epoch (the clock greylisting compares) */
long long rg_limits_now(void);
/* rg_limits_set_clock - tests: read the time from fn instead */
void rg_limits_set_clock(long long (*fn)(void *arg), void *arg);

#endif
