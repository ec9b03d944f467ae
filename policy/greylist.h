/*
 * greylist.h - greylisting on the triplet (client network, sender, recipient)
 *
 * The first delivery attempt of a triplet is refused with 451 4.7.1 and a
 * retry hint; a retry after greylist_delay (and before greylist_expire)
 * passes, and the triplet is then let through for greylist_auto_allow,
 * renewed as it is used. The client network is the /24 (IPv4) or /64
 * (IPv6), so a sender's pool of outbound hosts counts as one. Trusted
 * networks, authenticated clients and clients listed in a DNSWL skip it.
 * State lives in the counter store (key gl:<net>|<sender>|<rcpt>, values
 * "p <first seen ms>" pending and "a <allowed ms>"), shared by every host.
 * Thread-safe.
 */
#ifndef RG_GREYLIST_H
#define RG_GREYLIST_H

#include <sys/socket.h>

#include "buf.h"
#include "conf.h"
#include "kv.h"

struct rg_conn;
struct rg_verdict;

struct rg_greylist_conf {
	int enable;
	long long delay;		/* ms */
	long long expire;		/* ms */
	long long auto_allow;		/* ms */
};

extern const struct rg_param rg_greylist_params[];
int rg_greylist_conf_check(struct rg_conf_ctx *cx, void *modconf);

enum rg_gl_result {
	RG_GL_NEW,		/* first sight: refuse, retry after wait_s */
	RG_GL_EARLY,		/* retried before the delay: refuse */
	RG_GL_PASS,		/* retried after the delay: now allowed */
	RG_GL_KNOWN,		/* allowed before, within auto_allow */
	RG_GL_TEMPFAIL,		/* the store failed (reason in why) */
	RG_GL_INVAL,		/* the key holds something else */
};

/* rg_greylist_key - gl:<net>|<sender>|<rcpt>; 0, or -1 without address */
int rg_greylist_key(const struct sockaddr *sa, const char *sender,
    const char *rcpt, char *out, size_t size);
/*
 * rg_greylist_eval - the state machine for one triplet at now (ms since
 * the epoch); *wait_s is the seconds still to wait for NEW and EARLY
 */
enum rg_gl_result rg_greylist_eval(struct rg_kv *kv,
    const struct rg_greylist_conf *gc, const char *key, long long now,
    long long *wait_s, struct rg_buf *why);
const char *rg_greylist_result_name(enum rg_gl_result r);
/* rg_greylist_rcpt - the RCPT stage; leaves v alone unless it refuses */
void rg_greylist_rcpt(struct rg_conn *c, const char *rcpt,
    struct rg_verdict *v);

#endif
