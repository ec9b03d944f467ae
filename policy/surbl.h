/*
 * surbl.h - URI block lists (SURBL, URIBL, Spamhaus DBL) on message links
 *
 * At end of message the registered domains and IP addresses of the
 * message's links (msgscan.h) are looked up under each list of
 * surbl_sites: "example.com.multi.surbl.org", and an address reversed as
 * in RFC 5782 s2.1/s2.4, "4.3.2.1.multi.surbl.org". All queries of a
 * message go out in one batch, waited for once against dns_timeout.
 *
 * A site is "zone" (any 127.0.0.0/8 answer lists), "zone=filter" (the
 * postscreen filter of dnsbl.h: "uribl.test=127.0.0.[2..14]") or
 * "zone&mask" (SURBL's bit mask on the last octet: "multi.surbl.org&0x0e",
 * listed when answer & mask is not zero). Answers outside 127.0.0.0/8,
 * 127.255.255.0/24 and 127.0.0.1 (SURBL and URIBL: "query refused") never
 * list; they are logged at most once a minute per list. A timeout or
 * SERVFAIL does not list either: logged, mail flows.
 *
 * Site parsing and query names are pure and thread-safe; rg_surbl_eom()
 * works on one connection, in its thread, and keeps no state after it
 * returns.
 */
#ifndef RG_SURBL_H
#define RG_SURBL_H

#include <netinet/in.h>
#include <stddef.h>

#include "conf.h"
#include "dnsbl.h"
#include "domainset.h"
#include "uri.h"

struct rg_conn;
struct rg_verdict;

/* sites x hosts is one batch: at most RG_DNS_BATCH_MAX (256) queries */
#define RG_SURBL_SITES_MAX	8
#define RG_SURBL_HOSTS_MAX	32

struct rg_surbl_site {
	struct rg_dnsbl_site site;	/* zone and "=filter", dnsbl's parser */
	unsigned mask;			/* "&mask" on the last octet; 0: none */
};

struct rg_surbl_sites {
	size_t n;
	struct rg_surbl_site *v;
};

enum rg_surbl_action { RG_SURBL_REJECT, RG_SURBL_TEMPFAIL, RG_SURBL_TAG };

/* the "surbl" module's settings */
struct rg_surbl_conf {
	struct rg_surbl_sites sites;
	struct rg_domainset exclude;	/* registered domains never asked */
	long long max_domains;		/* link hosts asked per message */
	int action;			/* enum rg_surbl_action */
	int check_authenticated;	/* also trusted and logged-in clients */
};

extern const struct rg_param rg_surbl_params[];

/*
 * rg_surbl_site_parse - "zone", "zone=filter" or "zone&mask"; 0, or -1
 * with the reason in why. Caller owns out: rg_surbl_site_release().
 */
int rg_surbl_site_parse(const char *spec, struct rg_surbl_site *out,
    char *why, size_t whysize);
void rg_surbl_site_release(struct rg_surbl_site *s);
void rg_surbl_sites_free(struct rg_surbl_sites *l);
/* rg_surbl_classify - what one answer address means for this list */
enum rg_dnsbl_answer rg_surbl_classify(const struct rg_surbl_site *s,
    const struct in_addr *a);
/* rg_surbl_qname_domain - "domain.zone"; 0, or -1 when it does not fit */
int rg_surbl_qname_domain(const char *domain, const char *zone, char *out,
    size_t size);
/* rg_surbl_qname_ip - RFC 5782 name of a link's address; 0 or -1 */
int rg_surbl_qname_ip(const struct rg_uri_ip *ip, const char *zone,
    char *out, size_t size);

/*
 * rg_surbl_eom - look up the links of c's message (after
 * rg_msgscan_end), note "surbl=domain@zone" or "surbl=clean(N)", and on
 * a listing reject (554 5.7.1), tempfail (451 4.7.1) or add the header
 * X-Relayguard-SURBL. trusted: the client is in trusted_networks or
 * logged in; it is checked only with surbl_check_authenticated = yes.
 * Leaves v alone when it is already final. Blocks at most dns_timeout.
 */
void rg_surbl_eom(struct rg_conn *c, int trusted, struct rg_verdict *v);

#endif
