/*
 * domain.c - every DNS check of one domain, and its report section
 *
 * SPF, DMARC and each DKIM selector given run one after the other (see
 * dnscheck.h); the section lists them in that order. A domain's notes are
 * counted together for the summary and the exit status.
 */
#include <stdlib.h>
#include <string.h>

#include "dnscheck.h"
#include "../../policy/xalloc.h"

/* rg_audit_domain_check - SPF, DMARC, then each selector */
void
rg_audit_domain_check(struct rg_dns *dns, long long timeout_ms,
    const char *domain, char *const *selectors, size_t nsel,
    struct rg_audit_domain *d)
{
	memset(d, 0, sizeof(*d));
	d->name = rg_xstrdup(domain);
	rg_audit_spf_check(dns, timeout_ms, domain, &d->spf);
	rg_audit_dmarc_check(dns, timeout_ms, domain, &d->dmarc);
	d->nsel = nsel;
	d->dkim = nsel ? rg_xcalloc(nsel, sizeof(*d->dkim)) : NULL;
	for (size_t i = 0; i < nsel; i++)
		rg_audit_dkim_check(dns, timeout_ms, domain, selectors[i], &d->dkim[i]);
}

/* rg_audit_domain_print - one domain's object */
void
rg_audit_domain_print(struct rg_audit_out *o, const struct rg_audit_domain *d)
{
	char title[300];

	snprintf(title, sizeof(title), "Domain %s", d->name);
	rg_audit_out_begin(o, NULL, title);
	rg_audit_out_str(o, "domain", NULL, d->name);
	rg_audit_spf_print(o, &d->spf);
	rg_audit_dmarc_print(o, &d->dmarc);
	rg_audit_out_array(o, "dkim");
	for (size_t i = 0; i < d->nsel; i++)
		rg_audit_dkim_print(o, &d->dkim[i]);
	rg_audit_out_array_end(o);
	rg_audit_out_end(o);
}

/* rg_audit_domain_count - notes of one severity over every check */
size_t
rg_audit_domain_count(const struct rg_audit_domain *d, enum rg_audit_sev sev)
{
	size_t n = rg_audit_notes_count(&d->spf.notes, sev) +
	    rg_audit_notes_count(&d->dmarc.notes, sev);

	for (size_t i = 0; i < d->nsel; i++)
		n += rg_audit_notes_count(&d->dkim[i].notes, sev);
	return n;
}

/* rg_audit_domain_release - free every check of the domain */
void
rg_audit_domain_release(struct rg_audit_domain *d)
{
	free(d->name);
	rg_audit_spf_release(&d->spf);
	rg_audit_dmarc_release(&d->dmarc);
	for (size_t i = 0; i < d->nsel; i++)
		rg_audit_dkim_release(&d->dkim[i]);
	free(d->dkim);
	memset(d, 0, sizeof(*d));
}
