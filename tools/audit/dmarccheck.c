/*
 * dmarccheck.c - the DMARC record of a domain (see dnscheck.h), RFC 7489
 *
 * Policy discovery as a receiver does it (s6.6.3): the TXT records at
 * _dmarc.<domain> that start with "v=DMARC1"; none there, then those at
 * _dmarc.<organizational domain> (libpsl through rg_dmarc_org_domain);
 * more than one is as good as none. The tags that decide what a receiver
 * does are reported: p, sp, pct, and whether rua asks for reports. A
 * record without a valid p= but with a rua= counts as p=none (s6.6.3).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnscheck.h"
#include "../../policy/dmarc.h"
#include "../../policy/dns.h"
#include "../../policy/strutil.h"
#include "../../policy/xalloc.h"

#define DMARC_TAGS_MAX	64	/* tags of one record we look at */

/* dmarc_policy - a p= or sp= value */
static enum rg_audit_dmarc_p
dmarc_policy(const char *v)
{
	if (strcasecmp(v, "none") == 0)
		return RG_AUDIT_P_NONE;
	if (strcasecmp(v, "quarantine") == 0)
		return RG_AUDIT_P_QUARANTINE;
	if (strcasecmp(v, "reject") == 0)
		return RG_AUDIT_P_REJECT;
	return RG_AUDIT_P_BAD;
}

/* dmarc_policy_name - a policy as the record writes it */
static const char *
dmarc_policy_name(enum rg_audit_dmarc_p p)
{
	static const char *const names[] = { "", "none", "quarantine", "reject",
		"invalid" };

	return names[p];
}

/* dmarc_is_record - starts with the v=DMARC1 tag (s6.4: first, exact) */
static int
dmarc_is_record(const char *t, size_t len)
{
	if (strlen(t) != len)
		return 0;
	while (*t == ' ' || *t == '\t')
		t++;
	if (*t != 'v')
		return 0;
	t++;
	while (*t == ' ' || *t == '\t')
		t++;
	if (*t++ != '=')
		return 0;
	while (*t == ' ' || *t == '\t')
		t++;
	return strncmp(t, "DMARC1", 6) == 0 &&
	    (t[6] == ';' || t[6] == '\0' || t[6] == ' ' || t[6] == '\t');
}

/* dmarc_tag - one tag=value of the record */
static void
dmarc_tag(char *tag, struct rg_audit_dmarc *r)
{
	char *eq = strchr(tag, '='), *v;
	long long pct;

	if (eq == NULL)
		return;
	*eq = '\0';
	tag = rg_str_trim(tag);
	v = rg_str_trim(eq + 1);
	if (strcasecmp(tag, "p") == 0)
		r->p = dmarc_policy(v);
	else if (strcasecmp(tag, "sp") == 0)
		r->sp = dmarc_policy(v);
	else if (strcasecmp(tag, "rua") == 0 && v[0] != '\0')
		r->rua = rg_xstrdup(v);
	else if (strcasecmp(tag, "pct") == 0) {
		if (rg_str_parse_ll(v, &pct) < 0 || pct < 0 || pct > 100)
			r->pct = -1;
		else
			r->pct = (int)pct;
	}
}

/* rg_audit_dmarc_parse - the tags of one record into r */
int
rg_audit_dmarc_parse(const char *record, struct rg_audit_dmarc *r)
{
	char *copy, *save = NULL, *tag;
	int n = 0;

	if (!dmarc_is_record(record, strlen(record)))
		return -1;
	copy = rg_xstrdup(record);
	r->p = r->sp = RG_AUDIT_P_UNSET;
	r->pct = 100;
	free(r->rua);
	r->rua = NULL;
	for (tag = strtok_r(copy, ";", &save); tag != NULL && n++ < DMARC_TAGS_MAX;
	    tag = strtok_r(NULL, ";", &save))
		dmarc_tag(tag, r);
	free(copy);
	return 0;
}

/* dmarc_fetch - the records at name: 1 found, 0 none, -1 DNS error, 2 many */
static int
dmarc_fetch(struct rg_dns *dns, long long timeout_ms, const char *name,
    char **rec, char *why, size_t size)
{
	struct rg_dns_result res;
	enum rg_dns_status st;
	size_t found = 0;

	memset(&res, 0, sizeof(res));
	*rec = NULL;
	st = rg_dns_query(dns, name, RG_DNS_T_TXT, timeout_ms, &res);
	for (size_t i = 0; st == RG_DNS_OK && i < res.nrrs; i++)
		if (res.rrs[i].text != NULL &&
		    dmarc_is_record(res.rrs[i].text, res.rrs[i].textlen) && found++ == 0)
			*rec = rg_xstrdup(res.rrs[i].text);
	if (st != RG_DNS_OK && st != RG_DNS_NXDOMAIN && st != RG_DNS_NODATA)
		snprintf(why, size, "TXT %s: %s%s%s", name, rg_dns_status_name(st),
		    res.why[0] ? ": " : "", res.why);
	rg_dns_result_release(&res);
	if (st != RG_DNS_OK && st != RG_DNS_NXDOMAIN && st != RG_DNS_NODATA)
		return -1;
	if (found > 1) {
		free(*rec);
		*rec = NULL;
		snprintf(why, size, "%s has %zu DMARC records (RFC 7489 s6.6.3: none "
		    "applies)", name, found);
		return 2;
	}
	return found == 1;
}

/* dmarc_judge - what the record's tags mean for a receiver */
static void
dmarc_judge(struct rg_audit_dmarc *r, int inherited)
{
	enum rg_audit_dmarc_p eff = inherited && r->sp != RG_AUDIT_P_UNSET &&
	    r->sp != RG_AUDIT_P_BAD ? r->sp : r->p;

	if (r->p == RG_AUDIT_P_UNSET || r->p == RG_AUDIT_P_BAD) {
		if (r->rua == NULL) {
			rg_audit_note(&r->notes, RG_AUDIT_FAIL, "the DMARC record at %s "
			    "has no valid p= (and no rua=): receivers ignore it",
			    r->found_at);
			return;
		}
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "no valid p=: with rua= "
		    "present receivers treat it as p=none (RFC 7489 s6.6.3)");
		r->p = eff = RG_AUDIT_P_NONE;
	}
	if (r->sp == RG_AUDIT_P_BAD)
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "sp= has an invalid value");
	if (eff == RG_AUDIT_P_NONE)
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "policy none: monitoring "
		    "only, receivers deliver mail that fails DMARC");
	else
		rg_audit_note(&r->notes, RG_AUDIT_OK, "policy %s",
		    dmarc_policy_name(eff));
	if (r->pct < 0)
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "pct= is not 0 to 100");
	else if (r->pct < 100 && eff != RG_AUDIT_P_NONE)
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "pct=%d: the policy applies "
		    "to %d%% of failing mail only", r->pct, r->pct);
	if (r->rua == NULL)
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "no rua=: no aggregate "
		    "reports tell you who sends as this domain");
}

/* rg_audit_dmarc_check - discover, parse and judge the record of a domain */
void
rg_audit_dmarc_check(struct rg_dns *dns, long long timeout_ms, const char *domain,
    struct rg_audit_dmarc *r)
{
	char name[RG_DNS_TEXT_MAX], org[256], why[400];
	int got, inherited = 0;

	memset(r, 0, sizeof(*r));
	r->ran = 1;
	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	got = dmarc_fetch(dns, timeout_ms, name, &r->record, why, sizeof(why));
	rg_dmarc_org_domain(domain, org, sizeof(org));
	if (got == 0 && org[0] != '\0' && strcasecmp(org, domain) != 0) {
		snprintf(name, sizeof(name), "_dmarc.%s", org);
		got = dmarc_fetch(dns, timeout_ms, name, &r->record, why, sizeof(why));
		inherited = 1;
	}
	if (got < 0) {
		rg_audit_note(&r->notes, RG_AUDIT_ERROR, "%s", why);
		return;
	}
	if (got == 2) {
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "%s", why);
		return;
	}
	if (got == 0) {
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "no DMARC record at _dmarc.%s%s%s",
		    domain, inherited ? " or at " : "", inherited ? name : "");
		return;
	}
	r->found_at = rg_xstrdup(name);
	if (inherited)
		rg_audit_note(&r->notes, RG_AUDIT_INFO, "no record at _dmarc.%s: the "
		    "organizational domain's record at %s applies", domain, name);
	rg_audit_dmarc_parse(r->record, r);
	dmarc_judge(r, inherited);
}

/* rg_audit_dmarc_print - the "dmarc" object of a domain */
void
rg_audit_dmarc_print(struct rg_audit_out *o, const struct rg_audit_dmarc *r)
{
	rg_audit_out_begin(o, "dmarc", "DMARC");
	rg_audit_out_str(o, "record", "record", r->record);
	if (r->record != NULL) {
		rg_audit_out_str(o, "found_at", "found at", r->found_at);
		rg_audit_out_str(o, "p", NULL, dmarc_policy_name(r->p));
		rg_audit_out_str(o, "sp", NULL, dmarc_policy_name(r->sp));
		rg_audit_out_int(o, "pct", NULL, r->pct);
		rg_audit_out_str(o, "rua", NULL, r->rua);
	}
	rg_audit_out_notes(o, &r->notes);
	rg_audit_out_end(o);
}

/* rg_audit_dmarc_release - free what a check holds */
void
rg_audit_dmarc_release(struct rg_audit_dmarc *r)
{
	free(r->record);
	free(r->found_at);
	free(r->rua);
	rg_audit_notes_release(&r->notes);
	memset(r, 0, sizeof(*r));
}
