/*
 * dnsbl_site.c - DNSBL/DNSWL list entries: parsing, answer filters, query
 * names, and the "dnsbl" parameter table (see dnsbl.h)
 *
 * An entry is "zone[=filter][*weight]" as in Postfix postscreen(8). The
 * filter holds, per octet of the answer, a 256-bit set of the values it
 * accepts. Query names follow RFC 5782 s2.1 and s2.4.
 *
 * Pure functions, except rg_dnsbl_warn_due(), whose small table of zones
 * and times is guarded by dnsbl_warn_mutex. Thread-safe.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dnsbl.h"
#include "strutil.h"
#include "xalloc.h"

#define DNSBL_SPEC_MAX		512
#define DNSBL_WARN_SLOTS	64

static pthread_mutex_t dnsbl_warn_mutex = PTHREAD_MUTEX_INITIALIZER;	/* dnsbl_warn */
static struct {
	char zone[RG_DNS_QNAME_MAX + 1];
	time_t last;
} dnsbl_warn[DNSBL_WARN_SLOTS];

/* site_number - 1 to 3 digits, at most 255; advances *s */
static int
site_number(const char **s)
{
	int v = 0, n = 0;

	while (isdigit((unsigned char)**s) && n < 4) {
		v = v * 10 + (**s - '0');
		(*s)++;
		n++;
	}
	return n == 0 || n > 3 || v > 255 ? -1 : v;
}

/* site_allow - accept lo..hi in one octet's set */
static void
site_allow(unsigned char set[32], int lo, int hi)
{
	for (int v = lo; v <= hi; v++)
		set[v / 8] |= (unsigned char)(1u << (v % 8));
}

/* site_octet - a number, or [a;b..c;...]; advances *s */
static int
site_octet(const char **s, unsigned char set[32])
{
	int lo, hi;

	if (**s != '[') {
		if ((lo = site_number(s)) < 0)
			return -1;
		site_allow(set, lo, lo);
		return 0;
	}
	(*s)++;
	for (;;) {
		if ((lo = site_number(s)) < 0)
			return -1;
		hi = lo;
		if ((*s)[0] == '.' && (*s)[1] == '.') {
			*s += 2;
			if ((hi = site_number(s)) < 0 || hi < lo)
				return -1;
		}
		site_allow(set, lo, hi);
		if (**s == ';') {
			(*s)++;
			continue;
		}
		if (**s != ']')
			return -1;
		(*s)++;
		return 0;
	}
}

/* site_filter - four octets separated by dots */
static int
site_filter(const char *s, unsigned char allow[4][32])
{
	for (int o = 0; o < 4; o++) {
		if (o > 0 && *s++ != '.')
			return -1;
		if (site_octet(&s, allow[o]) < 0)
			return -1;
	}
	return *s == '\0' ? 0 : -1;
}

/* site_zone_ok - letters, digits, '-', '_' in dot-separated labels */
static int
site_zone_ok(const char *z)
{
	if (!rg_dns_name_valid(z))
		return 0;
	for (; *z; z++)
		if (!isalnum((unsigned char)*z) && *z != '-' && *z != '_' && *z != '.')
			return 0;
	return 1;
}

/* rg_dnsbl_site_parse - zone[=filter][*weight], as postscreen */
int
rg_dnsbl_site_parse(const char *spec, struct rg_dnsbl_site *out, char *why,
    size_t whysize)
{
	char buf[DNSBL_SPEC_MAX], *star, *eq;
	long long w = 1;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (rg_strlcpy(buf, spec, sizeof(buf)) >= sizeof(buf))
		return snprintf(why, whysize, "entry too long"), -1;
	if ((star = strrchr(buf, '*')) != NULL) {
		*star = '\0';
		if (rg_str_parse_ll(star + 1, &w) < 0 || w < -RG_DNSBL_WEIGHT_MAX ||
		    w > RG_DNSBL_WEIGHT_MAX)
			return snprintf(why, whysize, "weight must be a whole number "
			    "from %d to %d", -RG_DNSBL_WEIGHT_MAX, RG_DNSBL_WEIGHT_MAX), -1;
	}
	if ((eq = strchr(buf, '=')) != NULL) {
		*eq = '\0';
		if (site_filter(eq + 1, out->allow) < 0)
			return snprintf(why, whysize, "bad filter \"%s\" (expected "
			    "e.g. 127.0.0.2, 127.0.0.[2..11] or 127.0.[0..255].[2;4])",
			    eq + 1), -1;
		out->has_filter = 1;
	}
	rg_str_lower(buf);
	len = strlen(buf);
	if (len > 1 && buf[len - 1] == '.')
		buf[len - 1] = '\0';
	if (!site_zone_ok(buf))
		return snprintf(why, whysize, "bad zone name \"%s\"", buf), -1;
	out->zone = rg_xstrdup(buf);
	out->weight = (int)w;
	return 0;
}

/* rg_dnsbl_site_release - free one parsed entry */
void
rg_dnsbl_site_release(struct rg_dnsbl_site *s)
{
	free(s->zone);
	s->zone = NULL;
}

/* rg_dnsbl_sites_free - free a list of entries */
void
rg_dnsbl_sites_free(struct rg_dnsbl_sites *l)
{
	for (size_t i = 0; i < l->n; i++)
		rg_dnsbl_site_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* rg_dnsbl_classify - what one answer address means for this list */
enum rg_dnsbl_answer
rg_dnsbl_classify(const struct rg_dnsbl_site *s, const struct in_addr *a)
{
	uint32_t ip = ntohl(a->s_addr);

	if (ip >> 24 != 127)
		return RG_DNSBL_BOGUS;
	if ((ip & 0xffffff00u) == 0x7fffff00u)
		return RG_DNSBL_REFUSED;
	if (!s->has_filter)
		return RG_DNSBL_LISTED;
	for (int o = 0; o < 4; o++) {
		unsigned v = (ip >> (24 - 8 * o)) & 0xff;

		if (!(s->allow[o][v / 8] & (1u << (v % 8))))
			return RG_DNSBL_FILTERED;
	}
	return RG_DNSBL_LISTED;
}

/* dnsbl_qname4 - RFC 5782 s2.1: "7.2.0.192.zone" */
static int
dnsbl_qname4(const unsigned char *b, const char *zone, char *out, size_t size)
{
	int n = snprintf(out, size, "%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0], zone);

	return n < 0 || (size_t)n >= size || n > RG_DNS_QNAME_MAX ? -1 : 0;
}

/* dnsbl_qname6 - RFC 5782 s2.4: 32 nibbles, least significant first */
static int
dnsbl_qname6(const unsigned char *b, const char *zone, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	char nib[64];
	int n;

	for (int i = 0; i < 16; i++) {
		nib[4 * i] = hex[b[15 - i] & 0xf];
		nib[4 * i + 1] = '.';
		nib[4 * i + 2] = hex[b[15 - i] >> 4];
		nib[4 * i + 3] = '.';
	}
	n = snprintf(out, size, "%.64s%s", nib, zone);
	return n < 0 || (size_t)n >= size || n > RG_DNS_QNAME_MAX ? -1 : 0;
}

/* rg_dnsbl_qname - the RFC 5782 query name for an address */
int
rg_dnsbl_qname(const struct sockaddr *sa, const char *zone, char *out,
    size_t size)
{
	const struct in6_addr *a6;

	if (sa->sa_family == AF_INET)
		return dnsbl_qname4((const unsigned char *)
		    &((const struct sockaddr_in *)sa)->sin_addr, zone, out, size);
	if (sa->sa_family != AF_INET6)
		return -1;
	a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	/* an IPv4 client on a dual-stack socket: the lists know it by IPv4 */
	if (IN6_IS_ADDR_V4MAPPED(a6))
		return dnsbl_qname4(a6->s6_addr + 12, zone, out, size);
	return dnsbl_qname6(a6->s6_addr, zone, out, size);
}

/* rg_dnsbl_warn_due - at most one warning per zone per RG_DNSBL_WARN_EVERY */
int
rg_dnsbl_warn_due(const char *zone, time_t now)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	int due = 0;
	size_t i;

	for (const char *p = zone; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	i = h % DNSBL_WARN_SLOTS;
	pthread_mutex_lock(&dnsbl_warn_mutex);
	if (strcmp(dnsbl_warn[i].zone, zone) != 0) {
		rg_strlcpy(dnsbl_warn[i].zone, zone, sizeof(dnsbl_warn[i].zone));
		dnsbl_warn[i].last = now;
		due = 1;
	} else if (now - dnsbl_warn[i].last >= RG_DNSBL_WARN_EVERY) {
		dnsbl_warn[i].last = now;
		due = 1;
	}
	pthread_mutex_unlock(&dnsbl_warn_mutex);
	return due;
}

/* ---- parameters -------------------------------------------------------- */

struct dnsbl_parse {
	const char *param;
	int allow;		/* dnswl_sites: weights are given as positive */
	struct rg_dnsbl_sites *l;
};

/* dnsbl_site_item - one list entry of dnsbl_sites or dnswl_sites */
static int
dnsbl_site_item(struct rg_conf_ctx *cx, const char *item, const char *file,
    int line, void *arg)
{
	struct dnsbl_parse *dp = arg;
	struct rg_dnsbl_site s;
	char why[256];

	if (dp->l->n == RG_DNSBL_SITES_MAX) {
		rg_conf_error(cx, file, line, "%s: more than %d lists", dp->param,
		    RG_DNSBL_SITES_MAX);
		return -1;
	}
	if (rg_dnsbl_site_parse(item, &s, why, sizeof(why)) < 0) {
		rg_conf_error(cx, file, line, "%s: %s: %s", dp->param, item, why);
		return -1;
	}
	if (dp->allow && s.weight < 0) {
		rg_conf_error(cx, file, line, "%s: %s: write the weight as a positive "
		    "number; it counts negative", dp->param, item);
		rg_dnsbl_site_release(&s);
		return -1;
	}
	dp->l->v = rg_xreallocarray(dp->l->v, dp->l->n + 1, sizeof(s));
	dp->l->v[dp->l->n++] = s;
	return 0;
}

/* dnsbl_parse_sites - dnsbl_sites or dnswl_sites, with file: lists */
static int
dnsbl_parse_sites(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	struct dnsbl_parse dp = { p->name, strcmp(p->name, "dnswl_sites") == 0, dst };

	return rg_conf_foreach_item(cx, value, dnsbl_site_item, &dp);
}

/* dnsbl_free_sites - release a parsed list */
static void
dnsbl_free_sites(void *dst)
{
	rg_dnsbl_sites_free(dst);
}

static const struct rg_ptype_ops dnsbl_sites_ops = {
	dnsbl_parse_sites, dnsbl_free_sites,
};

#define DNSBL(f) offsetof(struct rg_dnsbl_conf, f)

const struct rg_param rg_dnsbl_params[] = {
	RG_P_CUSTOM("dnsbl_sites", "", &dnsbl_sites_ops, DNSBL(bl), 0,
	    "DNS block lists for the client address: zone[=filter][*weight], "
	    "as in postscreen"),
	RG_P_CUSTOM("dnswl_sites", "", &dnsbl_sites_ops, DNSBL(wl), 0,
	    "DNS allow lists, same syntax; a listed client is never blocked, "
	    "its weight counts negative"),
	RG_P_INT("dnsbl_threshold", "1", 1, 100000, DNSBL(threshold), 0,
	    "score from which a client is blocked"),
	RG_P_ENUM("dnsbl_action", "reject", "reject|tempfail|tag", DNSBL(action), 0,
	    "what a blocked client gets: 554 5.7.1, 451 4.7.1, or an X-DNSBL header"),
	RG_P_END
};
