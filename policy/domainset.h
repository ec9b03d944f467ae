/*
 * domainset.h - lists of domains: local_domains, relay_domains, ...
 *
 * "example.com" matches that domain only; ".example.com" matches every
 * domain below it (a.example.com, a.b.example.com) but not example.com
 * itself. Matching ignores case and a trailing root dot. Filled from a list
 * value (inline or file:) through rg_domainset_ops, or with
 * rg_domainset_add() then rg_domainset_finish(); then immutable and safe to
 * read from any thread. Lookups are binary searches: one for the name, one
 * per parent domain.
 */
#ifndef RG_DOMAINSET_H
#define RG_DOMAINSET_H

#include <stddef.h>

#include "conf.h"

struct rg_domainset {
	char **exact;		/* sorted, normalised */
	size_t nexact, capexact;
	char **parent;		/* ".example.com" entries, kept without the dot */
	size_t nparent, capparent;
};

/* rg_domainset_add - one item; -1 with why filled when it is no domain */
int rg_domainset_add(struct rg_domainset *s, const char *item, char *why,
    size_t whysize);
/* rg_domainset_finish - sort and drop duplicates; required before lookups */
void rg_domainset_finish(struct rg_domainset *s);
/* rg_domainset_match - 1 when domain (any case, root dot or not) is listed */
int rg_domainset_match(const struct rg_domainset *s, const char *domain);
size_t rg_domainset_count(const struct rg_domainset *s);
void rg_domainset_release(struct rg_domainset *s);

/* RG_PT_CUSTOM ops: the field is a struct rg_domainset */
extern const struct rg_ptype_ops rg_domainset_ops;

#endif
