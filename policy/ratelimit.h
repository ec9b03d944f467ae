/*
 * ratelimit.h - rate limits and concurrency limits over the counter store
 *
 * ratelimit_rules, one rule per line (file:) or separated by ';' inline:
 *     NAME  COUNT  KEY  RATE [RATE...]  [ACTION]  [CLASS]
 *     per_login  messages  sasl_user  100/1h 1000/1d  tempfail  auth
 * COUNT is connections (counted at CONNECT), messages (at MAIL) or
 * recipients (at each RCPT); KEY is client_ip, client_net (/24, /64),
 * sasl_user, sender, sender_domain, rcpt_domain, or several joined by '+';
 * each RATE is LIMIT/WINDOW and each is enforced; ACTION is tempfail
 * (451 4.7.1, the default), reject (550 5.7.1) or tag (a header); CLASS is
 * all (default), auth, unauth (neither logged in nor trusted) or trusted.
 * All counters of one stage go to the store in one rg_kv_check (one round
 * trip); a refusal counts nothing. max_connections_per_client holds one
 * slot per session (rg_kv_incr, expiring) from CONNECT to close.
 *
 * Parsing and key building are pure and thread-safe; the stage functions
 * use the process-wide store (rg_kv_default) and keep their per-connection
 * state in c->limits (struct rg_limits_conn), freed by rg_limits_free().
 */
#ifndef RG_RATELIMIT_H
#define RG_RATELIMIT_H

#include <stddef.h>
#include <sys/socket.h>

#include "conf.h"
#include "kv.h"

struct rg_conn;
struct rg_verdict;

#define RG_RL_NAME_MAX		32	/* bytes in a rule name */
#define RG_RL_WINDOWS_MAX	4	/* rates per rule */
#define RG_RL_RULES_MAX		100
/* counters of one stage in one rg_kv_check; one op is the lockout's */
#define RG_RL_STAGE_OPS_MAX	(RG_KV_OPS_MAX - 1)
#define RG_RL_KEYTEXT_MAX	600	/* key values beyond this are hashed */
#define RG_RL_NET4_PREFIX	24	/* client_net, greylisting */
#define RG_RL_NET6_PREFIX	64

enum rg_rl_count { RG_RL_CONNECTIONS, RG_RL_MESSAGES, RG_RL_RECIPIENTS };
enum rg_rl_part {
	RG_RLK_CLIENT_IP, RG_RLK_CLIENT_NET, RG_RLK_SASL_USER, RG_RLK_SENDER,
	RG_RLK_SENDER_DOMAIN, RG_RLK_RCPT_DOMAIN, RG_RLK_COUNT
};
enum rg_rl_action { RG_RL_TEMPFAIL, RG_RL_REJECT, RG_RL_TAG };
enum rg_rl_class { RG_RL_ALL, RG_RL_AUTH, RG_RL_UNAUTH, RG_RL_TRUSTED };

/* LIMIT events per WINDOW */
struct rg_rl_rate {
	long long limit;
	long long window_ms;
};

struct rg_rl_rule {
	char name[RG_RL_NAME_MAX + 1];
	enum rg_rl_count count;
	enum rg_rl_part part[RG_RLK_COUNT];	/* in the order written */
	size_t nparts;
	struct rg_rl_rate rate[RG_RL_WINDOWS_MAX];
	size_t nrates;
	enum rg_rl_action action;
	enum rg_rl_class class;
};

struct rg_rl_rules {
	size_t n;
	struct rg_rl_rule *v;
};

/* the "ratelimit" module's settings */
struct rg_ratelimit_conf {
	struct rg_rl_rules rules;
	long long max_connections;	/* per client address; 0: no limit */
	long long slot_ttl;		/* ms a slot outlives its last change */
};

extern const struct rg_param rg_ratelimit_params[];
/* RG_PT_CUSTOM ops: the field is a struct rg_rl_rate ("" or "0": off) */
extern const struct rg_ptype_ops rg_rl_rate_ops;

/* what a key is built from; NULL or "" when not known (yet) */
struct rg_rl_facts {
	const struct sockaddr *sa;	/* client address, or NULL */
	const char *sasl_user;
	const char *sender;		/* without <>; "" is the null sender */
	const char *rcpt;		/* without <> */
};

/*
 * rg_rl_rule_parse - one rule line; 0, or -1 with the reason in why.
 * rg_rl_rate_parse - "100/1h" (limit 0..RG_KV_COUNT_MAX, window 1s to
 * 366d; units s m h d w, a bare unit is 1 of it); 0 or -1.
 */
int rg_rl_rule_parse(const char *line, struct rg_rl_rule *out, char *why,
    size_t whysize);
int rg_rl_rate_parse(const char *s, struct rg_rl_rate *out);
/* rg_rl_window_format - ms as the largest exact unit: 3600000 -> "1h" */
void rg_rl_window_format(long long ms, char *out, size_t size);
/* rg_rl_window_parse - the inverse ("90s", "1h"); 0 or -1 */
int rg_rl_window_parse(const char *s, long long *ms);
const char *rg_rl_count_name(enum rg_rl_count c);
const char *rg_rl_action_name(enum rg_rl_action a);

/*
 * Keys (all kinds share them, so the admin tool finds what the daemon
 * wrote). Values are lower-cased, control bytes become '?', and values
 * longer than RG_RL_KEYTEXT_MAX become "#" and a hash. Each function
 * returns 0, or -1 when a part is unknown (the rule does not apply).
 *   rl:<msg|rcpt|conn>:<rule>:<window>:<value>[|<value>...]
 *   slot:<client address>    lo:<msg|rcpt>:<window>:<login>
 *   lock:<login>             lo:alert:<login>
 */
int rg_rl_key(const struct rg_rl_rule *r, size_t rate,
    const struct rg_rl_facts *f, char *out, size_t size);
/* rg_rl_client_ip - canonical text; IPv4-mapped IPv6 as IPv4 */
int rg_rl_client_ip(const struct sockaddr *sa, char *out, size_t size);
/* rg_rl_client_net - "192.0.2.0/24", "2001:db8::/64" */
int rg_rl_client_net(const struct sockaddr *sa, char *out, size_t size);
/* rg_rl_key_value - append value, normalised as above, to key */
void rg_rl_key_value(char *key, size_t size, const char *value);
/* rg_rl_key_shorten - in place: "#" and a hash when over the limit */
void rg_rl_key_shorten(char *value);
/* rg_rl_key_join - prefix and one normalised (maybe hashed) value */
void rg_rl_key_join(char *out, size_t size, const char *prefix,
    const char *value);
/* rg_rl_domain_of - the part after the last '@', or NULL */
const char *rg_rl_domain_of(const char *addr);

/*
 * rg_ratelimit_log_due - 1 when "limit exceeded" for key should be logged
 * now (the first time in window_ms); then 0 until the window has passed.
 * A small in-process table: a collision may log twice, never never.
 */
int rg_ratelimit_log_due(const char *key, long long window_ms,
    long long now_ms);

/*
 * stages; each leaves v alone unless it refuses. With Redis the counters
 * of CONNECT and MAIL are sent at their stage and their answer is read at
 * the next one (rg_ratelimit_settle at MAIL, at RCPT, at close), so that
 * no stage but RCPT waits for a round trip: a refusal of the session then
 * comes at MAIL, of the message at RCPT. The embedded store answers at
 * once and refuses at the stage itself.
 */
void rg_ratelimit_connect(struct rg_conn *c, struct rg_verdict *v);
/* rg_ratelimit_settle - read the answer still pending, and give the
 * session's refusal it holds (v may be NULL: read only) */
void rg_ratelimit_settle(struct rg_conn *c, struct rg_verdict *v);
void rg_ratelimit_mail(struct rg_conn *c, struct rg_verdict *v);
void rg_ratelimit_rcpt(struct rg_conn *c, const char *rcpt,
    struct rg_verdict *v);
/* rg_ratelimit_eom - the tag header of a tagged message */
void rg_ratelimit_eom(struct rg_conn *c, struct rg_verdict *v);
/* rg_ratelimit_close - give back the concurrency slot, exactly once */
void rg_ratelimit_close(struct rg_conn *c);
/* rg_limits_free - release c->limits (rg_conn_free calls it) */
void rg_limits_free(struct rg_conn *c);

/*
 * Session slots this process holds, and those the store failed to take
 * back at close (ratelimit_slots.c). Thread-safe.
 * rg_ratelimit_slot_held - a session took a slot of key (ttl_ms: its
 * expiry). rg_ratelimit_slot_unheld - the session closes: 1 when the
 * caller must give the slot back, 0 when it was given back already.
 * rg_ratelimit_slot_defer - owe one slot of key, to be counted down later;
 * 0, or -1 when too many keys are owed (it then expires by itself).
 * rg_ratelimit_slots_retry - count the owed slots down in kv (the
 * housekeeping thread, every second); returns how many keys are still
 * owed. rg_ratelimit_slots_shutdown - at exit: give back every slot held
 * or owed. rg_ratelimit_slots_owed - slots owed now.
 * rg_ratelimit_slots_clear - forget everything (tests).
 */
void rg_ratelimit_slot_held(const char *key, long long ttl_ms);
int rg_ratelimit_slot_unheld(const char *key);
int rg_ratelimit_slot_defer(const char *key, long long ttl_ms);
size_t rg_ratelimit_slots_retry(struct rg_kv *kv);
void rg_ratelimit_slots_shutdown(struct rg_kv *kv);
size_t rg_ratelimit_slots_owed(void);
void rg_ratelimit_slots_clear(void);

#endif
