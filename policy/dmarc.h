/*
 * dmarc.h - DMARC (RFC 7489) at end of message
 *
 * The policy record is looked up through relayguard's resolver:
 * _dmarc.<From domain>, then _dmarc.<organizational domain> (libpsl's
 * registrable domain, RFC 7489 s3.2). libopendmarc parses the record;
 * alignment, the policy that applies (p or sp), and pct sampling are
 * decided here as RFC 7489 s3.1, s6.3 and s6.6 say, because libopendmarc
 * 1.4.2 finds organizational domains without the Public Suffix List and
 * drops records that RFC 7489 s6.6.3 keeps (no valid p but a rua: p=none).
 *
 * Clients in trusted_networks and logged-in clients are not judged.
 * Thread-safe: libopendmarc is initialised once; state is per message.
 */
#ifndef RG_DMARC_H
#define RG_DMARC_H

#include "conf.h"
#include "netset.h"

struct rg_conn;
struct rg_verdict;

enum rg_dmarc_action { RG_DMARC_ACT_REJECT, RG_DMARC_ACT_QUARANTINE,
	RG_DMARC_ACT_TAG, RG_DMARC_ACT_ACCEPT };

struct rg_dmarc_conf {
	int enable;
	char *history_file;	/* OpenDMARC history records; empty: none */
	int reject_action;	/* what p=reject leads to */
	int quarantine_action;	/* what p=quarantine leads to */
	struct rg_netset trusted_forwarders;	/* judged, never enforced */
};

extern const struct rg_param rg_dmarc_params[];

/* authentication results as OpenDMARC's history file numbers them */
enum rg_dmarc_ares { RG_ARES_PASS = 0, RG_ARES_SOFTFAIL = 2, RG_ARES_NEUTRAL = 3,
	RG_ARES_TEMPERROR = 4, RG_ARES_PERMERROR = 5, RG_ARES_NONE = 6,
	RG_ARES_FAIL = 7, RG_ARES_POLICY = 8 };

/* a DKIM signature's outcome, as DMARC sees it */
struct rg_dmarc_dkim {
	const char *domain;	/* d= */
	const char *selector;	/* s= */
	int pass;
	enum rg_dmarc_ares ares;	/* the full result, for the history file */
};

enum rg_dmarc_result { RG_DMARC_NONE, RG_DMARC_PASS, RG_DMARC_FAIL,
	RG_DMARC_TEMPERROR, RG_DMARC_PERMERROR };

enum rg_dmarc_policy { RG_DMARC_P_NONE, RG_DMARC_P_QUARANTINE,
	RG_DMARC_P_REJECT };

struct rg_dmarc_outcome {
	enum rg_dmarc_result result;
	char from_domain[256];
	char policy_domain[256];	/* where the record was found */
	enum rg_dmarc_policy p;		/* the record's policy for this domain */
	enum rg_dmarc_policy disposition;	/* what we applied */
	int spf_aligned, dkim_aligned;
	int pct;
	int raw_p, raw_sp, raw_adkim, raw_aspf;	/* the record's tags, as libopendmarc gives them */
	char rua[4][256];			/* the record's rua URIs */
	char why[320];
};

/*
 * rg_dmarc_from_domain - the domain of the one address in a From field
 * (RFC 5322 s3.4: display names, comments, quoted strings, groups);
 * returns the number of mailboxes found, with out set when they all
 * share one domain, and -1 when their domains differ.
 */
int rg_dmarc_from_domain(const char *value, char *out, size_t size);
/* rg_dmarc_aligned - RFC 7489 s3.1: strict (exact) or relaxed (org domains) */
int rg_dmarc_aligned(const char *a, const char *b, int strict);
/* rg_dmarc_org_domain - RFC 7489 s3.2 via libpsl; out gets a lower-case copy */
void rg_dmarc_org_domain(const char *domain, char *out, size_t size);

/*
 * rg_dmarc_eom - evaluate for the message in progress: SPF from the
 * message's SPF state, DKIM from sigs; may fill v (reject, quarantine)
 * and adds the resinfo to Authentication-Results.
 */
void rg_dmarc_eom(struct rg_conn *c, const struct rg_dmarc_dkim *sigs,
    size_t nsigs, struct rg_verdict *v, struct rg_dmarc_outcome *out);
const char *rg_dmarc_result_name(enum rg_dmarc_result r);
/*
 * rg_dmarc_history - one record in OpenDMARC's history format (what
 * opendmarc-import reads to build aggregate reports, RFC 7489 s7.2)
 * appended to out; rg_dmarc_eom writes it to dmarc_history_file.
 */
void rg_dmarc_history(const struct rg_conn *c, const struct rg_dmarc_dkim *sigs,
    size_t nsigs, const struct rg_dmarc_outcome *o, struct rg_buf *out);

#endif
