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

struct rg_conn;

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
