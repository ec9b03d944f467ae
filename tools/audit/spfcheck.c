/*
 * spfcheck.c - the SPF record of a domain (see dnscheck.h), RFC 7208
 *
 * Each record met (the domain's own, and every include: and redirect=
 * target) goes through libspf2's compiler, which knows the full grammar
 * and the address syntax, and through our term walk, which is strict
 * where libspf2 1.2.10 is lenient (an include: without a domain, two
 * redirect= modifiers) and which counts the DNS-querying terms the way a
 * receiver does (s4.6.4): include, a, mx, ptr and exists where they
 * appear, redirect only when the record has no "all" (s6.1), followed
 * into the records they name. A domain-spec with macros (s7) depends on
 * the sender and is counted once but not followed; the count is then
 * "at least". Loops, missing and duplicate records in includes are
 * permerrors (s5.2, s4.5) and fail the check.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <spf2/spf.h>

#include "dnscheck.h"
#include "../../policy/dns.h"
#include "../../policy/xalloc.h"

enum spf_fetch_res { SPF_F_FOUND, SPF_F_NONE, SPF_F_MULTI, SPF_F_DNSERR };

struct spf_walk {
	struct rg_dns *dns;
	long long timeout_ms;
	struct rg_audit_spf *r;
	SPF_server_t *srv;
	unsigned records;	/* fetched so far */
	int depth;
	const char *path[RG_AUDIT_SPF_MAX_DEPTH + 1];	/* domains being walked */
};

static void spf_walk_domain(struct spf_walk *w, const char *domain,
    const char *how, int top);

/* spf_quiet - libspf2's warnings and debug lines are not for our output */
static void
spf_quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

/* spf_is_record - a TXT string that is an SPF record (s4.5) */
static int
spf_is_record(const char *t, size_t len)
{
	return len >= 6 && strlen(t) == len && strncasecmp(t, "v=spf1", 6) == 0 &&
	    (t[6] == ' ' || t[6] == '\0');
}

/* spf_fetch - the one SPF record of domain; why filled unless FOUND */
static enum spf_fetch_res
spf_fetch(struct spf_walk *w, const char *domain, char **rec, char *why,
    size_t size)
{
	struct rg_dns_result res;
	enum rg_dns_status st;
	size_t found = 0;

	*rec = NULL;
	memset(&res, 0, sizeof(res));
	st = rg_dns_query(w->dns, domain, RG_DNS_T_TXT, w->timeout_ms, &res);
	w->records++;
	if (st == RG_DNS_OK) {
		for (size_t i = 0; i < res.nrrs; i++)
			if (res.rrs[i].text != NULL &&
			    spf_is_record(res.rrs[i].text, res.rrs[i].textlen) &&
			    found++ == 0)
				*rec = rg_xstrdup(res.rrs[i].text);
	}
	if (st != RG_DNS_OK && st != RG_DNS_NXDOMAIN && st != RG_DNS_NODATA)
		snprintf(why, size, "TXT %s: %s%s%s", domain, rg_dns_status_name(st),
		    res.why[0] ? ": " : "", res.why);
	rg_dns_result_release(&res);
	if (st != RG_DNS_OK && st != RG_DNS_NXDOMAIN && st != RG_DNS_NODATA)
		return SPF_F_DNSERR;
	if (found > 1) {
		free(*rec);
		*rec = NULL;
		snprintf(why, size, "%s has %zu SPF records (RFC 7208 s4.5: permerror)",
		    domain, found);
		return SPF_F_MULTI;
	}
	return found == 1 ? SPF_F_FOUND : SPF_F_NONE;
}

/* spf_compile - libspf2's verdict on the syntax; 0 when it compiles */
static int
spf_compile(struct spf_walk *w, const char *domain, const char *rec)
{
	SPF_response_t *resp = SPF_response_new(NULL);
	SPF_record_t *compiled = NULL;
	SPF_errcode_t e;
	const char *msg = NULL;

	if (resp == NULL)
		return 0;
	e = SPF_record_compile(w->srv, resp, &compiled, rec);
	for (int i = 0; i < SPF_response_messages(resp); i++) {
		SPF_error_t *err = SPF_response_message(resp, i);

		if (SPF_error_errorp(err) && msg == NULL)
			msg = SPF_error_message(err);
	}
	if (e != SPF_E_SUCCESS)
		rg_audit_note(&w->r->notes, RG_AUDIT_FAIL, "the SPF record of %s is "
		    "invalid: %s", domain, msg ? msg : SPF_strerror(e));
	if (compiled != NULL)
		SPF_record_free(compiled);
	SPF_response_free(resp);
	return e == SPF_E_SUCCESS ? 0 : -1;
}

/* spf_follow - an include: or redirect= target: walk it or say why not */
static void
spf_follow(struct spf_walk *w, const char *target, const char *how, int top)
{
	if (strchr(target, '%') != NULL) {
		rg_audit_note(&w->r->notes, RG_AUDIT_INFO, "%s%s uses macros: it "
		    "depends on the sender, counted once, not followed", how, target);
		w->r->at_least = 1;
		return;
	}
	for (int i = 0; i <= w->depth && i <= RG_AUDIT_SPF_MAX_DEPTH; i++)
		if (w->path[i] != NULL && strcasecmp(w->path[i], target) == 0) {
			rg_audit_note(&w->r->notes, RG_AUDIT_FAIL, "%s%s loops back to "
			    "%s (permerror)", how, target, w->path[i]);
			return;
		}
	if (w->depth >= RG_AUDIT_SPF_MAX_DEPTH ||
	    w->records >= RG_AUDIT_SPF_MAX_RECORDS) {
		if (!w->r->at_least)
			rg_audit_note(&w->r->notes, RG_AUDIT_WARN, "stopped following "
			    "includes at %s%s (more than %d levels or %d records)", how,
			    target, RG_AUDIT_SPF_MAX_DEPTH, RG_AUDIT_SPF_MAX_RECORDS);
		w->r->at_least = 1;
		return;
	}
	spf_walk_domain(w, target, how, top);
}

/* spf_modifier - name=value; 1 when it was the redirect */
static int
spf_modifier(struct spf_walk *w, const char *domain, const char *t,
    const char **redirect, int *nexp)
{
	size_t n = strcspn(t, "=");

	if (!isalpha((unsigned char)t[0]) || strspn(t, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != n) {
		rg_audit_note(&w->r->notes, RG_AUDIT_FAIL, "the SPF record of %s has "
		    "a malformed modifier \"%s\" (RFC 7208 s12)", domain, t);
		return 0;
	}
	if (n == 8 && strncasecmp(t, "redirect", 8) == 0) {
		if (*redirect != NULL || t[9] == '\0')
			rg_audit_note(&w->r->notes, RG_AUDIT_FAIL, "the SPF record of %s "
			    "has %s redirect= (RFC 7208 s6: permerror)", domain,
			    *redirect ? "more than one" : "an empty");
		else
			*redirect = t + 9;
		return 1;
	}
	if (n == 3 && strncasecmp(t, "exp", 3) == 0 && ++*nexp > 1)
		rg_audit_note(&w->r->notes, RG_AUDIT_FAIL, "the SPF record of %s has "
		    "more than one exp= (RFC 7208 s6: permerror)", domain);
	return 0;
}

/* spf_mechanism - one directive; counts it; returns 1 for "all" */
static int
spf_mechanism(struct spf_walk *w, const char *domain, const char *t, char *allq)
{
	char q = strchr("+-~?", t[0]) && t[0] != '\0' ? t[0] : '+';
	const char *name = t + (strchr("+-~?", t[0]) && t[0] != '\0');
	size_t n = strcspn(name, ":/");
	const char *arg = name[n] == ':' ? name + n + 1 : NULL;
	char target[RG_DNS_TEXT_MAX];

#define SPF_IS(s) (n == sizeof(s) - 1 && strncasecmp(name, s, n) == 0)
	if (SPF_IS("all")) {
		if (name[n] != '\0')
			rg_audit_note(&w->r->notes, RG_AUDIT_FAIL, "the SPF record of %s "
			    "has \"%s\": all takes no argument", domain, t);
		allq[0] = q;
		return 1;
	}
	if (SPF_IS("ip4") || SPF_IS("ip6"))
		return 0;
	if (!SPF_IS("include") && !SPF_IS("a") && !SPF_IS("mx") && !SPF_IS("ptr") &&
	    !SPF_IS("exists")) {
		rg_audit_note(&w->r->notes, RG_AUDIT_FAIL, "the SPF record of %s has "
		    "an unknown mechanism \"%s\" (permerror)", domain, t);
		return 0;
	}
	w->r->lookups++;
	if ((SPF_IS("include") || SPF_IS("exists")) && (arg == NULL || arg[0] == '\0')) {
		rg_audit_note(&w->r->notes, RG_AUDIT_FAIL, "the SPF record of %s has "
		    "\"%s\" without a domain (permerror)", domain, t);
		return 0;
	}
	if (SPF_IS("ptr"))
		rg_audit_note(&w->r->notes, RG_AUDIT_WARN, "the SPF record of %s uses "
		    "ptr, which RFC 7208 s5.5 says not to use", domain);
	if (SPF_IS("include")) {
		snprintf(target, sizeof(target), "%s", arg);
		spf_follow(w, target, "include:", 0);
	}
#undef SPF_IS
	return 0;
}

/* spf_walk_record - every term of one record; top: its "all" is the domain's */
static void
spf_walk_record(struct spf_walk *w, const char *domain, const char *rec, int top)
{
	char *copy = rg_xstrdup(rec), *save = NULL, *t;
	const char *redirect = NULL;
	char allq[2] = "", target[RG_DNS_TEXT_MAX];
	int nexp = 0, terms = 0, after_all = 0;

	for (t = strtok_r(copy + 6, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		if (++terms > RG_AUDIT_SPF_MAX_TERMS) {
			rg_audit_note(&w->r->notes, RG_AUDIT_WARN, "the SPF record of %s "
			    "has more than %d terms; the rest was not read", domain,
			    RG_AUDIT_SPF_MAX_TERMS);
			w->r->at_least = 1;
			break;
		}
		if (t[strcspn(t, "=:/")] == '=') {
			spf_modifier(w, domain, t, &redirect, &nexp);
			continue;
		}
		after_all += allq[0] != '\0';
		if (allq[0] == '\0')
			spf_mechanism(w, domain, t, allq);
	}
	if (after_all > 0)
		rg_audit_note(&w->r->notes, RG_AUDIT_WARN, "the SPF record of %s has "
		    "mechanisms after \"all\", which are never evaluated", domain);
	if (top && allq[0] != '\0') {
		snprintf(w->r->catchall, sizeof(w->r->catchall), "%call", allq[0]);
		free(w->r->catchall_from);
		w->r->catchall_from = rg_xstrdup(domain);
	}
	/* s6.1: redirect is ignored when the record has "all" */
	if (redirect != NULL && allq[0] == '\0') {
		w->r->lookups++;
		snprintf(target, sizeof(target), "%s", redirect);
		spf_follow(w, target, "redirect=", top);
	}
	free(copy);
}

/* spf_walk_domain - fetch, check and walk the record of an include/redirect */
static void
spf_walk_domain(struct spf_walk *w, const char *domain, const char *how, int top)
{
	char why[400], *rec;

	switch (spf_fetch(w, domain, &rec, why, sizeof(why))) {
	case SPF_F_NONE:
		rg_audit_note(&w->r->notes, RG_AUDIT_FAIL, "%s%s has no SPF record "
		    "(permerror)", how, domain);
		return;
	case SPF_F_MULTI:
		rg_audit_note(&w->r->notes, RG_AUDIT_FAIL, "%s%s: %s", how, domain, why);
		return;
	case SPF_F_DNSERR:
		rg_audit_note(&w->r->notes, RG_AUDIT_ERROR, "%s%s: %s", how, domain, why);
		return;
	case SPF_F_FOUND:
		break;
	}
	/* a record libspf2 cannot compile is a permerror: nothing to count */
	if (spf_compile(w, domain, rec) < 0) {
		free(rec);
		return;
	}
	w->path[++w->depth] = domain;
	spf_walk_record(w, domain, rec, top);
	w->path[w->depth--] = NULL;
	free(rec);
}

/* spf_judge - notes on the count and on the catch-all */
static void
spf_judge(struct rg_audit_spf *r, const char *domain)
{
	if (r->lookups > RG_AUDIT_SPF_MAX_LOOKUPS)
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "%s%u DNS-querying terms "
		    "(include, a, mx, ptr, exists, redirect): more than the %d of "
		    "RFC 7208 s4.6.4, receivers return permerror",
		    r->at_least ? "at least " : "", r->lookups, RG_AUDIT_SPF_MAX_LOOKUPS);
	else
		rg_audit_note(&r->notes, RG_AUDIT_OK, "%s%u of %d DNS lookups",
		    r->at_least ? "at least " : "", r->lookups, RG_AUDIT_SPF_MAX_LOOKUPS);
	if (strcmp(r->catchall, "+all") == 0)
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "the SPF record of %s ends in "
		    "+all: any host may send as %s", r->catchall_from, domain);
	else if (strcmp(r->catchall, "?all") == 0)
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "the SPF record of %s ends in "
		    "?all (neutral): it protects nothing", r->catchall_from);
	else if (r->catchall[0] == '\0')
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "no \"all\" catch-all: mail "
		    "from hosts not listed gets neutral");
	else if (strcmp(r->catchall, "~all") == 0)
		rg_audit_note(&r->notes, RG_AUDIT_INFO, "ends in ~all (softfail); "
		    "-all is stricter");
}

/* rg_audit_spf_check - every SPF check of one domain */
void
rg_audit_spf_check(struct rg_dns *dns, long long timeout_ms, const char *domain,
    struct rg_audit_spf *r)
{
	struct spf_walk w;
	char why[400];
	size_t fails;

	memset(r, 0, sizeof(*r));
	memset(&w, 0, sizeof(w));
	r->ran = 1;
	w.dns = dns;
	w.timeout_ms = timeout_ms;
	w.r = r;
	switch (spf_fetch(&w, domain, &r->record, why, sizeof(why))) {
	case SPF_F_NONE:
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "no SPF record at %s", domain);
		return;
	case SPF_F_MULTI:
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "%s", why);
		return;
	case SPF_F_DNSERR:
		rg_audit_note(&r->notes, RG_AUDIT_ERROR, "%s", why);
		return;
	case SPF_F_FOUND:
		break;
	}
	SPF_warning_handler = spf_quiet;
	SPF_info_handler = spf_quiet;
	SPF_debug_handler = spf_quiet;
	if ((w.srv = SPF_server_new(SPF_DNS_ZONE, 0)) == NULL) {
		rg_audit_note(&r->notes, RG_AUDIT_ERROR, "libspf2: cannot start");
		return;
	}
	w.path[0] = domain;
	if (spf_compile(&w, domain, r->record) == 0)
		spf_walk_record(&w, domain, r->record, 1);
	SPF_server_free(w.srv);
	if (rg_audit_notes_count(&r->notes, RG_AUDIT_FAIL) > 0 && r->lookups == 0 &&
	    r->catchall[0] == '\0')
		return;
	fails = rg_audit_notes_count(&r->notes, RG_AUDIT_FAIL);
	spf_judge(r, domain);
	if (fails == 0 && rg_audit_notes_count(&r->notes, RG_AUDIT_FAIL) == 0)
		rg_audit_note(&r->notes, RG_AUDIT_OK, "the SPF record is valid");
}

/* rg_audit_spf_print - the "spf" object of a domain */
void
rg_audit_spf_print(struct rg_audit_out *o, const struct rg_audit_spf *r)
{
	rg_audit_out_begin(o, "spf", "SPF");
	rg_audit_out_str(o, "record", "record", r->record);
	if (r->record != NULL) {
		rg_audit_out_int(o, "lookups", NULL, r->lookups);
		rg_audit_out_bool(o, "lookups_at_least", NULL, r->at_least);
		rg_audit_out_str(o, "all", NULL, r->catchall);
	}
	rg_audit_out_notes(o, &r->notes);
	rg_audit_out_end(o);
}

/* rg_audit_spf_release - free what a check holds */
void
rg_audit_spf_release(struct rg_audit_spf *r)
{
	free(r->record);
	free(r->catchall_from);
	rg_audit_notes_release(&r->notes);
	memset(r, 0, sizeof(*r));
}
