/*
 * spf.h - SPF (RFC 7208) on MAIL FROM and HELO, with libspf2
 *
 * libspf2 evaluates the records; all its DNS goes through relayguard's
 * resolver (rg_dns_query) with one deadline per evaluation, never through
 * libspf2's own resolver. Where libspf2 1.2.10 departs from RFC 7208 the
 * difference is corrected here: the limit of two void lookups (s4.6.4) is
 * enforced, and the Received-SPF header (s9.1) is written by us.
 *
 * rg_spf_check() runs at MAIL FROM for clients neither trusted nor logged
 * in; it records the result in the message (for DMARC and the headers)
 * and may fill a verdict per the configured action. Thread-safe: the
 * libspf2 server is shared and read-only after creation; the per-
 * evaluation state is thread-local.
 */
#ifndef RG_SPF_H
#define RG_SPF_H

#include "conf.h"

struct rg_conn;
struct rg_verdict;

/* RFC 7208 s4.6.4: at most 10 DNS-querying terms, 2 void lookups */
#define RG_SPF_MAX_DNS_MECH	10
#define RG_SPF_MAX_VOID		2
#define RG_SPF_MAX_MX		10	/* s4.6.4: MX names per mx term */
#define RG_SPF_MAX_PTR		10	/* s4.6.4: PTR names per ptr term */

enum rg_spf_result {
	RG_SPF_NONE,		/* no check ran, or no record */
	RG_SPF_NEUTRAL,
	RG_SPF_PASS,
	RG_SPF_FAIL,
	RG_SPF_SOFTFAIL,
	RG_SPF_TEMPERROR,
	RG_SPF_PERMERROR,
};

/* what to do per result; "tag" adds X-Relayguard-SPF, "accept" nothing */
enum rg_spf_action { RG_SPF_ACT_REJECT, RG_SPF_ACT_TEMPFAIL, RG_SPF_ACT_TAG,
	RG_SPF_ACT_ACCEPT };

struct rg_spf_conf {
	int enable;
	int check_helo;		/* also check HELO when MAIL FROM is not null */
	int received_spf;	/* add Received-SPF */
	int act_fail, act_softfail, act_neutral, act_none, act_permerror,
	    act_temperror;
};

extern const struct rg_param rg_spf_params[];

/* the SPF outcome of one message, kept for DMARC and the headers */
struct rg_spf_state {
	enum rg_spf_result result;	/* of the identity DMARC uses */
	char domain[256];		/* that identity's domain */
	int helo_identity;		/* the domain is the HELO name */
	enum rg_spf_result helo_result;	/* when HELO was checked too */
	char reason[160];		/* for the header comment and logs */
	char receiver[256];
};

const char *rg_spf_result_name(enum rg_spf_result r);
/* rg_spf_check - evaluate at MAIL FROM; may set v per the action */
void rg_spf_check(struct rg_conn *c, struct rg_verdict *v);
/* rg_spf_eom - Received-SPF, the resinfo for Authentication-Results, tag */
void rg_spf_eom(struct rg_conn *c, struct rg_verdict *v);
/* rg_spf_received - format a Received-SPF value (RFC 7208 s9.1) */
void rg_spf_received(const struct rg_spf_state *s, const char *client_ip,
    const char *sender, const char *helo, struct rg_buf *out);

#endif
