/*
 * dnsbl.h - DNS block and allow lists for the client address
 *
 * dnsbl_sites and dnswl_sites use Postfix postscreen's syntax,
 * zone[=filter][*weight]: "zen.spamhaus.org=127.0.0.[2..11]*3". A filter
 * is an IPv4 address whose octets may each be a number, a range
 * [lo..hi] or a list [a;b;c..d]; the weight defaults to 1 and counts
 * negative for dnswl_sites. Query names follow RFC 5782 s2.1 (IPv4:
 * reversed octets) and s2.4 (IPv6: 32 reversed nibbles).
 *
 * Per connection: rg_dnsbl_start() at CONNECT starts every query in one
 * batch; rg_dnsbl_decide() at MAIL waits once, scores, and fills the
 * verdict; rg_dnsbl_eom() adds the X-DNSBL header in tag mode;
 * rg_dnsbl_free() (called by rg_conn_free) releases it all. The state
 * hangs off struct rg_conn and shares its thread rules. Answers outside
 * 127.0.0.0/8 and the 127.255.255.0/24 error codes (Spamhaus: query via
 * a public resolver, typo, over quota) never list anyone; a timeout or
 * SERVFAIL does not either. Both are logged, mail flows.
 */
#ifndef RG_DNSBL_H
#define RG_DNSBL_H

#include <stddef.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include "conf.h"

struct rg_conn;
struct rg_verdict;

#define RG_DNSBL_SITES_MAX	32	/* per list: one query each per connection */
#define RG_DNSBL_WEIGHT_MAX	1000
#define RG_DNSBL_WARN_EVERY	60	/* seconds between warnings per zone */

struct rg_dnsbl_site {
	char *zone;			/* lower case, no final dot */
	int has_filter;
	unsigned char allow[4][32];	/* per octet: bitmap of values */
	int weight;
};

struct rg_dnsbl_sites {
	size_t n;
	struct rg_dnsbl_site *v;
};

enum rg_dnsbl_action { RG_DNSBL_REJECT, RG_DNSBL_TEMPFAIL, RG_DNSBL_TAG };

/* the "dnsbl" module's settings */
struct rg_dnsbl_conf {
	struct rg_dnsbl_sites bl;
	struct rg_dnsbl_sites wl;
	long long threshold;
	int action;			/* enum rg_dnsbl_action */
};

extern const struct rg_param rg_dnsbl_params[];

/* what one answer address means for a site */
enum rg_dnsbl_answer {
	RG_DNSBL_LISTED,	/* in 127/8 and through the filter */
	RG_DNSBL_FILTERED,	/* in 127/8, not through the filter */
	RG_DNSBL_REFUSED,	/* 127.255.255.0/24: the list refused the query */
	RG_DNSBL_BOGUS,		/* outside 127/8: never a listing (RFC 5782 s2.1) */
};

/*
 * rg_dnsbl_site_parse - one "zone[=filter][*weight]"; 0, or -1 with the
 * reason in why. Caller owns out: rg_dnsbl_site_release().
 */
int rg_dnsbl_site_parse(const char *spec, struct rg_dnsbl_site *out,
    char *why, size_t whysize);
void rg_dnsbl_site_release(struct rg_dnsbl_site *s);
void rg_dnsbl_sites_free(struct rg_dnsbl_sites *l);
enum rg_dnsbl_answer rg_dnsbl_classify(const struct rg_dnsbl_site *s,
    const struct in_addr *a);
/*
 * rg_dnsbl_qname - the query name for an address under zone (RFC 5782);
 * an IPv4-mapped IPv6 address is queried as IPv4. 0, or -1 when the
 * family is unknown or the name does not fit.
 */
int rg_dnsbl_qname(const struct sockaddr *sa, const char *zone, char *out,
    size_t size);
/* rg_dnsbl_warn_due - rate limit for per-zone warnings (now: monotonic s) */
int rg_dnsbl_warn_due(const char *zone, time_t now);

/* rg_dnsbl_start - start the queries for c's client (at CONNECT) */
void rg_dnsbl_start(struct rg_conn *c);
/*
 * rg_dnsbl_decide - wait for the answers once (starting the queries if
 * rg_dnsbl_start was not called), score, note the result;
 * unless skip_block (trusted or authenticated client) or a DNSWL hit,
 * a score at or over dnsbl_threshold rejects, tempfails or tags.
 * Leaves v alone when it is already final.
 */
void rg_dnsbl_decide(struct rg_conn *c, int skip_block, struct rg_verdict *v);
/* rg_dnsbl_eom - in tag mode, add "X-DNSBL:" to a listed client's message */
void rg_dnsbl_eom(struct rg_conn *c, struct rg_verdict *v);
/* rg_dnsbl_allowlisted - decided, and a DNSWL listed the client */
int rg_dnsbl_allowlisted(const struct rg_conn *c);
/* rg_dnsbl_summary - the scored result ("zen.test=127.0.0.2 score=3"), or NULL */
const char *rg_dnsbl_summary(const struct rg_conn *c);
/* rg_dnsbl_free - release c's state (also in-flight queries) */
void rg_dnsbl_free(struct rg_conn *c);

#endif
