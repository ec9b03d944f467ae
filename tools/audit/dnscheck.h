/*
 * dnscheck.h - DNS posture of a sending domain: SPF, DMARC, DKIM keys
 *
 * All lookups go through relayguard's resolver (policy/dns.h), one
 * synchronous query at a time, each bounded by the timeout given.
 *
 *  SPF (spfcheck.c, RFC 7208): exactly one "v=spf1" TXT record; valid
 *    (libspf2's record compiler, plus our own checks where libspf2 is
 *    lenient); the catch-all (+all and ?all warn); DNS-querying terms
 *    (include, a, mx, ptr, exists, redirect) counted through includes
 *    and redirects, at most 10 (s4.6.4), with caps on depth and records.
 *  DMARC (dmarccheck.c, RFC 7489): the record at _dmarc.<domain>, else
 *    at the organizational domain (s6.6.3); p=, sp=, pct=, rua.
 *  DKIM (dkimcheck.c, RFC 6376 s3.6.1, RFC 8463, RFC 8301): each
 *    selector's key record; the key parsed with OpenSSL, its type and
 *    size; under 1024 bits fails, under 2048 warns.
 *
 * Ownership: each result owns its strings and notes; release them.
 * Not thread-safe (libspf2's log handlers are process-wide).
 */
#ifndef RG_AUDIT_DNSCHECK_H
#define RG_AUDIT_DNSCHECK_H

#include <stddef.h>

#include "audit.h"

struct rg_dns;

#define RG_AUDIT_SPF_MAX_LOOKUPS 10	/* RFC 7208 s4.6.4 */
#define RG_AUDIT_SPF_MAX_DEPTH	16	/* include/redirect nesting we follow */
#define RG_AUDIT_SPF_MAX_RECORDS 50	/* SPF records fetched for one domain */
#define RG_AUDIT_SPF_MAX_TERMS	200	/* terms of one record we look at */
#define RG_AUDIT_DKIM_MIN_BITS	1024	/* RFC 8301 s3.2: verifiers refuse less */
#define RG_AUDIT_DKIM_GOOD_BITS	2048	/* RFC 8301 s3.2: signers SHOULD use */

struct rg_audit_spf {
	int ran;
	char *record;		/* the domain's own record; NULL: none */
	unsigned lookups;	/* DNS-querying terms, includes followed */
	int at_least;		/* a cap or a macro stopped the count */
	char catchall[8];	/* "-all", "~all", "?all", "+all", "" */
	char *catchall_from;	/* the record it is in (after redirects) */
	struct rg_audit_notes notes;
};

enum rg_audit_dmarc_p { RG_AUDIT_P_UNSET, RG_AUDIT_P_NONE,
	RG_AUDIT_P_QUARANTINE, RG_AUDIT_P_REJECT, RG_AUDIT_P_BAD };

struct rg_audit_dmarc {
	int ran;
	char *record;
	char *found_at;		/* _dmarc.<domain> or _dmarc.<org domain> */
	enum rg_audit_dmarc_p p, sp;
	int pct;		/* 0..100; 100 when absent */
	char *rua;		/* NULL: no aggregate reports */
	struct rg_audit_notes notes;
};

struct rg_audit_dkim {
	char *selector;
	char *name;		/* selector._domainkey.domain */
	char *key_type;		/* "rsa", "ed25519"; NULL: no key */
	int bits;
	int testing;		/* t=y */
	struct rg_audit_notes notes;
};

struct rg_audit_domain {
	char *name;
	struct rg_audit_spf spf;
	struct rg_audit_dmarc dmarc;
	size_t nsel;
	struct rg_audit_dkim *dkim;
};

void rg_audit_spf_check(struct rg_dns *dns, long long timeout_ms,
    const char *domain, struct rg_audit_spf *r);
void rg_audit_spf_print(struct rg_audit_out *o, const struct rg_audit_spf *r);
void rg_audit_spf_release(struct rg_audit_spf *r);

/* rg_audit_dmarc_parse - one record's tags into r; -1 when not DMARC */
int rg_audit_dmarc_parse(const char *record, struct rg_audit_dmarc *r);
void rg_audit_dmarc_check(struct rg_dns *dns, long long timeout_ms,
    const char *domain, struct rg_audit_dmarc *r);
void rg_audit_dmarc_print(struct rg_audit_out *o, const struct rg_audit_dmarc *r);
void rg_audit_dmarc_release(struct rg_audit_dmarc *r);

/* rg_audit_dkim_key - judge one key record's text (tests call it directly) */
void rg_audit_dkim_key(const char *record, size_t len, struct rg_audit_dkim *r);
void rg_audit_dkim_check(struct rg_dns *dns, long long timeout_ms,
    const char *domain, const char *selector, struct rg_audit_dkim *r);
void rg_audit_dkim_print(struct rg_audit_out *o, const struct rg_audit_dkim *r);
void rg_audit_dkim_release(struct rg_audit_dkim *r);
/* rg_audit_base64 - decode RFC 4648 base64, skipping white space; -1 if bad */
int rg_audit_base64(const char *in, size_t len, unsigned char **out,
    size_t *outlen);

/* every check of one domain, and its section of the report (domain.c) */
void rg_audit_domain_check(struct rg_dns *dns, long long timeout_ms,
    const char *domain, char *const *selectors, size_t nsel,
    struct rg_audit_domain *d);
void rg_audit_domain_print(struct rg_audit_out *o, const struct rg_audit_domain *d);
void rg_audit_domain_release(struct rg_audit_domain *d);
/* rg_audit_domain_worst - the count of notes of severity sev in all checks */
size_t rg_audit_domain_count(const struct rg_audit_domain *d,
    enum rg_audit_sev sev);

#endif
