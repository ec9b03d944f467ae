/*
 * surbl_site.c - URI block list entries: parsing, answer codes, query
 * names, and the "surbl" parameter table (see surbl.h)
 *
 * An entry is "zone", "zone=filter" or "zone&mask". The zone and the
 * filter go through the DNSBL parser (dnsbl_site.c), so both lists are
 * written alike; the mask is SURBL's: a bit set of the last octet of the
 * answer (multi.surbl.org: 8 PH, 16 MW, 64 ABUSE, 128 CR). Domains are
 * asked as "domain.zone"; IP addresses as RFC 5782 s2.1 and s2.4 say.
 *
 * Pure functions; thread-safe.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "surbl.h"
#include "strutil.h"
#include "xalloc.h"

#define SURBL_SPEC_MAX		512
#define SURBL_REFUSED_CODE	0x7f000001u	/* 127.0.0.1: SURBL, URIBL */

/* surbl_mask - "0x0e" or "14": a mask of the last octet, 1 to 255 */
static int
surbl_mask(const char *s, unsigned *out)
{
	unsigned long v;
	char *end;
	int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');

	/* hexadecimal or decimal; a leading 0 does not mean octal here */
	if (hex)
		s += 2;
	if (!isxdigit((unsigned char)s[0]) || (!hex && !isdigit((unsigned char)s[0])))
		return -1;
	errno = 0;
	v = strtoul(s, &end, hex ? 16 : 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > 255)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* rg_surbl_site_parse - zone, zone=filter or zone&mask */
int
rg_surbl_site_parse(const char *spec, struct rg_surbl_site *out, char *why,
    size_t whysize)
{
	char buf[SURBL_SPEC_MAX], *amp;

	memset(out, 0, sizeof(*out));
	if (rg_strlcpy(buf, spec, sizeof(buf)) >= sizeof(buf))
		return snprintf(why, whysize, "entry too long"), -1;
	if (strchr(buf, '*') != NULL)
		return snprintf(why, whysize, "a link list takes no weight: one "
		    "listing decides"), -1;
	if ((amp = strchr(buf, '&')) != NULL) {
		*amp = '\0';
		if (strchr(buf, '=') != NULL)
			return snprintf(why, whysize, "write either =filter or "
			    "&mask, not both"), -1;
		if (surbl_mask(amp + 1, &out->mask) < 0)
			return snprintf(why, whysize, "bad mask \"%s\" (expected a "
			    "number from 1 to 255, e.g. 0x0e or 14)", amp + 1), -1;
	}
	if (rg_dnsbl_site_parse(buf, &out->site, why, whysize) < 0) {
		out->mask = 0;
		return -1;
	}
	return 0;
}

/* rg_surbl_site_release - free one parsed entry */
void
rg_surbl_site_release(struct rg_surbl_site *s)
{
	rg_dnsbl_site_release(&s->site);
}

/* rg_surbl_sites_free - free a list of entries */
void
rg_surbl_sites_free(struct rg_surbl_sites *l)
{
	for (size_t i = 0; i < l->n; i++)
		rg_surbl_site_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* rg_surbl_classify - 127.0.0.1 refused, then the DNSBL rules, then the mask */
enum rg_dnsbl_answer
rg_surbl_classify(const struct rg_surbl_site *s, const struct in_addr *a)
{
	uint32_t ip = ntohl(a->s_addr);
	enum rg_dnsbl_answer k;

	if (ip == SURBL_REFUSED_CODE)
		return RG_DNSBL_REFUSED;
	k = rg_dnsbl_classify(&s->site, a);
	if (k != RG_DNSBL_LISTED || s->mask == 0)
		return k;
	return (ip & s->mask) != 0 ? RG_DNSBL_LISTED : RG_DNSBL_FILTERED;
}

/* rg_surbl_qname_domain - the domain as it is, under the zone */
int
rg_surbl_qname_domain(const char *domain, const char *zone, char *out,
    size_t size)
{
	int n = snprintf(out, size, "%s.%s", domain, zone);

	return n < 0 || (size_t)n >= size || n > RG_DNS_QNAME_MAX ? -1 : 0;
}

/* rg_surbl_qname_ip - reversed octets or nibbles, as for a client */
int
rg_surbl_qname_ip(const struct rg_uri_ip *ip, const char *zone, char *out,
    size_t size)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (ip->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, ip->addr, 4);
	} else if (ip->family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, ip->addr, 16);
	} else {
		return -1;
	}
	return rg_dnsbl_qname((const struct sockaddr *)&ss, zone, out, size);
}

/* ---- parameters -------------------------------------------------------- */

/* surbl_site_item - one entry of surbl_sites */
static int
surbl_site_item(struct rg_conf_ctx *cx, const char *item, const char *file,
    int line, void *arg)
{
	struct rg_surbl_sites *l = arg;
	struct rg_surbl_site s;
	char why[256];

	if (l->n == RG_SURBL_SITES_MAX) {
		rg_conf_error(cx, file, line, "surbl_sites: more than %d lists",
		    RG_SURBL_SITES_MAX);
		return -1;
	}
	if (rg_surbl_site_parse(item, &s, why, sizeof(why)) < 0) {
		rg_conf_error(cx, file, line, "surbl_sites: %s: %s", item, why);
		return -1;
	}
	l->v = rg_xreallocarray(l->v, l->n + 1, sizeof(s));
	l->v[l->n++] = s;
	return 0;
}

/* surbl_parse_sites - surbl_sites, with file: lists */
static int
surbl_parse_sites(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	(void)p;
	return rg_conf_foreach_item(cx, value, surbl_site_item, dst);
}

/* surbl_free_sites - release a parsed list */
static void
surbl_free_sites(void *dst)
{
	rg_surbl_sites_free(dst);
}

static const struct rg_ptype_ops surbl_sites_ops = {
	surbl_parse_sites, surbl_free_sites,
};

#define SURBL(f) offsetof(struct rg_surbl_conf, f)

const struct rg_param rg_surbl_params[] = {
	RG_P_CUSTOM("surbl_sites", "", &surbl_sites_ops, SURBL(sites), 0,
	    "URI block lists for the domains and addresses of links: zone, "
	    "zone=filter or zone&mask"),
	RG_P_CUSTOM("surbl_exclude_domains", "", &rg_domainset_ops,
	    SURBL(exclude), 0,
	    "registered domains of links never looked up (.example.com: below it)"),
	RG_P_INT("surbl_max_domains", "20", 1, RG_SURBL_HOSTS_MAX,
	    SURBL(max_domains), 0,
	    "link hosts (registered domains, then addresses) looked up per message"),
	RG_P_ENUM("surbl_action", "reject", "reject|tempfail|tag", SURBL(action),
	    0, "what a message with a listed link gets: 554 5.7.1, 451 4.7.1, "
	    "or an X-Relayguard-SURBL header"),
	RG_P_BOOL("surbl_check_authenticated", "yes",
	    SURBL(check_authenticated), 0,
	    "also look up links in mail from logged-in clients and trusted_networks"),
	RG_P_END
};
