/*
 * lockout.h - compromised-account lockout
 *
 * An authenticated account that sends more messages (lockout_threshold)
 * or more recipients (lockout_rcpt_threshold) in a window than any
 * legitimate user would is locked: the key lock:<login> is set in the
 * counter store without expiry, so every host that shares the store
 * refuses (550 5.7.1) or holds (quarantine) the account's mail until an
 * admin unlocks it (relayguardctl unlock). The lock is logged at
 * LOG_ALERT once (a store key lo:alert:<login> gates it across hosts) and
 * lockout_notify_command runs with the account as its argument: no shell,
 * double fork, never as root, never waited for beyond the first fork.
 *
 * Recipients are counted, not distinct recipients: a distinct count would
 * need a set per account in the store; a compromised account sends to
 * many addresses anyway, so the threshold is set a little higher instead.
 * The counters ride in the stage's rate-limit check (ratelimit.c) as one
 * op without limit. Thread-safe.
 */
#ifndef RG_LOCKOUT_H
#define RG_LOCKOUT_H

#include "conf.h"
#include "kv.h"
#include "ratelimit.h"

struct rg_conn;
struct rg_verdict;

enum rg_lockout_action { RG_LOCKOUT_REJECT, RG_LOCKOUT_HOLD };

/* the "lockout" module's settings; a rate with limit < 0 is off */
struct rg_lockout_conf {
	struct rg_rl_rate msgs;
	struct rg_rl_rate rcpts;
	int action;			/* enum rg_lockout_action */
	char *notify_command;		/* absolute path, or "" */
};

extern const struct rg_param rg_lockout_params[];

/* rg_lockout_lock_key, _alert_key, _count_key - the store keys */
void rg_lockout_lock_key(const char *login, char *out, size_t size);
void rg_lockout_alert_key(const char *login, char *out, size_t size);
/* kind: RG_RL_MESSAGES or RG_RL_RECIPIENTS; -1 when that one is off */
int rg_lockout_count_key(const struct rg_lockout_conf *lc,
    enum rg_rl_count kind, const char *login, char *out, size_t size);
/* rg_lockout_over - count is over the threshold (never when off) */
int rg_lockout_over(const struct rg_rl_rate *thr, long long count);

/* rg_lockout_mail - refuse or hold the mail of a locked account */
void rg_lockout_mail(struct rg_conn *c, struct rg_verdict *v);
/* rg_lockout_eom - quarantine a held message (lockout_action = hold) */
void rg_lockout_eom(struct rg_conn *c, struct rg_verdict *v);
/*
 * rg_lockout_op - the account's counter for a stage as an op without
 * limit (key written to key); 0, or -1 when there is none
 */
int rg_lockout_op(const struct rg_conn *c, enum rg_rl_count kind,
    struct rg_kv_op *op, char *key, size_t size);
/*
 * rg_lockout_count - the counter after the stage's check (added is 0 when
 * the check refused and nothing was counted: it is counted here then);
 * locks the account and refuses (or holds) when it is over
 */
void rg_lockout_count(struct rg_conn *c, struct rg_kv *kv,
    enum rg_rl_count kind,
    const struct rg_kv_op *op, long long count, int added,
    struct rg_verdict *v);
/*
 * rg_lockout_lock - lock login now: the lock key, the alert (once, with
 * reason) and the notify command; RG_KV_OK or the store's failure
 */
enum rg_kv_status rg_lockout_lock(struct rg_kv *kv,
    const struct rg_lockout_conf *lc, const char *login, const char *reason,
    const char *id, struct rg_buf *why);
/* rg_lockout_unlock - remove the lock, the alert gate and the counters */
enum rg_kv_status rg_lockout_unlock(struct rg_kv *kv,
    const struct rg_lockout_conf *lc, const char *login, struct rg_buf *why);
/*
 * rg_lockout_notify - run path with login as its only argument, detached
 * (double fork), stdio on /dev/null, default signals; refused as root.
 * 0 when started, -1 (logged) otherwise.
 */
int rg_lockout_notify(const char *path, const char *login);

#endif
