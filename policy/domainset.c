/*
 * domainset.c - lists of domains (see domainset.h)
 *
 * Items are checked with the address parser's own domain rules
 * (rg_addr_norm_domain), so a configured name and a name from an envelope
 * compare in the same normal form. "*.example.com" and address literals
 * are refused with a hint: the first is spelled ".example.com" here, the
 * second belongs in local_ip_literals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "domainset.h"
#include "xalloc.h"

/* domainset_push - append a copy of name to a growing array */
static void
domainset_push(char ***v, size_t *n, size_t *cap, const char *name)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = rg_xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[(*n)++] = rg_xstrdup(name);
}

/* rg_domainset_add - "example.com" or ".example.com" */
int
rg_domainset_add(struct rg_domainset *s, const char *item, char *why,
    size_t whysize)
{
	char name[RG_ADDR_DOMAIN_MAX + 1];
	int sub = item[0] == '.';

	if (strncmp(item, "*.", 2) == 0) {
		snprintf(why, whysize, "\"%s\": write subdomains as \"%s\"", item,
		    item + 1);
		return -1;
	}
	if (item[0] == '[') {
		snprintf(why, whysize, "\"%s\": address literals belong in "
		    "local_ip_literals", item);
		return -1;
	}
	if (rg_addr_norm_domain(item + sub, name, sizeof(name)) < 0) {
		snprintf(why, whysize, "bad domain name \"%s\"", item);
		return -1;
	}
	if (sub)
		domainset_push(&s->parent, &s->nparent, &s->capparent, name);
	else
		domainset_push(&s->exact, &s->nexact, &s->capexact, name);
	return 0;
}

/* domainset_cmp - qsort/bsearch order of names */
static int
domainset_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* domainset_sort - sort one array and drop duplicates */
static void
domainset_sort(char **v, size_t *n)
{
	size_t o = 0;

	if (*n > 1)
		qsort(v, *n, sizeof(*v), domainset_cmp);
	for (size_t i = 0; i < *n; i++) {
		if (o > 0 && strcmp(v[o - 1], v[i]) == 0)
			free(v[i]);
		else
			v[o++] = v[i];
	}
	*n = o;
}

/* rg_domainset_finish - sort both arrays for lookups */
void
rg_domainset_finish(struct rg_domainset *s)
{
	domainset_sort(s->exact, &s->nexact);
	domainset_sort(s->parent, &s->nparent);
}

/* domainset_find - binary search of one sorted array */
static int
domainset_find(char *const *v, size_t n, const char *name)
{
	return n > 0 && bsearch(&name, v, n, sizeof(*v), domainset_cmp) != NULL;
}

/* rg_domainset_match - exact name, then each parent for ".parent" items */
int
rg_domainset_match(const struct rg_domainset *s, const char *domain)
{
	char name[RG_ADDR_DOMAIN_MAX + 1];
	size_t n = strnlen(domain, sizeof(name));

	if (n == 0 || n >= sizeof(name))
		return 0;
	for (size_t i = 0; i < n; i++)
		name[i] = (char)(domain[i] >= 'A' && domain[i] <= 'Z' ?
		    domain[i] - 'A' + 'a' : domain[i]);
	if (name[n - 1] == '.')
		n--;
	name[n] = '\0';
	if (domainset_find(s->exact, s->nexact, name))
		return 1;
	for (const char *d = strchr(name, '.'); d != NULL; d = strchr(d + 1, '.'))
		if (d[1] != '\0' && domainset_find(s->parent, s->nparent, d + 1))
			return 1;
	return 0;
}

/* rg_domainset_count - entries of both kinds */
size_t
rg_domainset_count(const struct rg_domainset *s)
{
	return s->nexact + s->nparent;
}

/* rg_domainset_release - free the contents, leave an empty set */
void
rg_domainset_release(struct rg_domainset *s)
{
	for (size_t i = 0; i < s->nexact; i++)
		free(s->exact[i]);
	for (size_t i = 0; i < s->nparent; i++)
		free(s->parent[i]);
	free(s->exact);
	free(s->parent);
	memset(s, 0, sizeof(*s));
}

/* --- as a configuration type ------------------------------------------- */

struct domainset_load {
	struct rg_domainset *set;
	const char *param;
	int nerr;
};

/* domainset_conf_item - one list element, errors at its file and line */
static int
domainset_conf_item(struct rg_conf_ctx *cx, const char *item, const char *file,
    int line, void *arg)
{
	struct domainset_load *ld = arg;
	char why[512];

	if (rg_domainset_add(ld->set, item, why, sizeof(why)) < 0) {
		rg_conf_error(cx, file, line, "%s: %s", ld->param, why);
		ld->nerr++;
	}
	return 0;
}

/* domainset_conf_parse - a list value into a finished set */
static int
domainset_conf_parse(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	struct domainset_load ld = { dst, p->name, 0 };
	int rc = rg_conf_foreach_item(cx, value, domainset_conf_item, &ld);

	rg_domainset_finish(dst);
	return rc < 0 || ld.nerr > 0 ? -1 : 0;
}

/* domainset_conf_free - release a configured set */
static void
domainset_conf_free(void *dst)
{
	rg_domainset_release(dst);
}

const struct rg_ptype_ops rg_domainset_ops = {
	domainset_conf_parse, domainset_conf_free,
};
