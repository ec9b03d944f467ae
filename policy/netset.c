/*
 * netset.c - sets of IPv4 and IPv6 networks (see netset.h)
 *
 * Items are parsed with inet_pton(), so only the standard dotted-quad and
 * RFC 4291 text forms are accepted (no "10/8", no octal). Host bits under
 * the prefix are cleared with a warning, as Postfix's cidr tables do.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "netset.h"
#include "xalloc.h"

static const unsigned char netset_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

/* netset_mask - clear the bits after plen; returns 1 if any were set */
static int
netset_mask(unsigned char *a, unsigned plen)
{
	int dirty = 0;

	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * i : 0;
		unsigned char m = keep == 0 ? 0 : (unsigned char)(0xffu << (8 - keep));

		if (a[i] & (unsigned char)~m)
			dirty = 1;
		a[i] &= m;
	}
	return dirty;
}

/* netset_prefix - the decimal prefix length after '/', 0..max, or -1 */
static int
netset_prefix(const char *s, int max)
{
	int v = 0;

	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v <= max ? v : -1;
}

/* netset_address - the address part of an item into net; -1 if bad */
static int
netset_address(const char *item, size_t len, struct rg_net *net)
{
	char host[INET6_ADDRSTRLEN + 1];

	if (len >= 2 && item[0] == '[' && item[len - 1] == ']')
		item++, len -= 2;
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, item, len);
	host[len] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, host, net->addr) == 1)
		net->family = 4;
	else if (inet_pton(AF_INET6, host, net->addr) == 1)
		net->family = 6;
	else
		return -1;
	return 0;
}

/* netset_unmap - ::ffff:a.b.c.d/n with n >= 96 is the IPv4 network */
static void
netset_unmap(struct rg_net *net)
{
	if (net->family != 6 || net->plen < 96 ||
	    memcmp(net->addr, netset_v4mapped, 12) != 0)
		return;
	memmove(net->addr, net->addr + 12, 4);
	memset(net->addr + 4, 0, 12);
	net->family = 4;
	net->plen -= 96;
}

/* netset_format - "192.0.2.0/24" or "2001:db8::/32" */
static void
netset_format(const struct rg_net *net, char *buf, size_t size)
{
	char text[INET6_ADDRSTRLEN];

	inet_ntop(net->family == 4 ? AF_INET : AF_INET6, net->addr, text,
	    sizeof(text));
	snprintf(buf, size, "%s/%u", text, net->plen);
}

/* netset_parse - one item into net; see rg_netset_add() for the result */
static int
netset_parse(const char *item, struct rg_net *net, char *why, size_t whysize)
{
	const char *slash = strchr(item, '/');
	size_t len = slash ? (size_t)(slash - item) : strlen(item);
	char text[INET6_ADDRSTRLEN + 8];
	int max, plen;

	if (netset_address(item, len, net) < 0) {
		snprintf(why, whysize, "bad network address \"%s\"", item);
		return -1;
	}
	max = net->family == 4 ? 32 : 128;
	plen = slash ? netset_prefix(slash + 1, max) : max;
	if (plen < 0) {
		snprintf(why, whysize, "prefix length out of range (0 to %d) in \"%s\"",
		    max, item);
		return -1;
	}
	net->plen = (unsigned char)plen;
	netset_unmap(net);
	if (netset_mask(net->addr, net->plen)) {
		netset_format(net, text, sizeof(text));
		snprintf(why, whysize, "host bits set in \"%s\"; using %s", item, text);
		return 1;
	}
	return 0;
}

/* rg_netset_add - parse and append one item */
int
rg_netset_add(struct rg_netset *s, const char *item, char *why, size_t whysize)
{
	struct rg_net net;
	int rc = netset_parse(item, &net, why, whysize);

	if (rc < 0)
		return -1;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->nets = rg_xreallocarray(s->nets, s->cap, sizeof(*s->nets));
	}
	s->nets[s->n++] = net;
	s->finished = 0;
	return rc;
}

/* netset_cmp - by family, prefix length, then address */
static int
netset_cmp(const void *x, const void *y)
{
	const struct rg_net *a = x, *b = y;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen > b->plen ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

/* netset_build_runs - one run per (family, prefix length) */
static void
netset_build_runs(struct rg_netset *s)
{
	free(s->runs);
	s->runs = NULL;
	s->nruns = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct rg_netrun *r = s->nruns ? &s->runs[s->nruns - 1] : NULL;

		if (r != NULL && r->family == s->nets[i].family &&
		    r->plen == s->nets[i].plen) {
			r->n++;
			continue;
		}
		s->runs = rg_xreallocarray(s->runs, s->nruns + 1, sizeof(*s->runs));
		r = &s->runs[s->nruns++];
		r->family = s->nets[i].family;
		r->plen = s->nets[i].plen;
		r->start = i;
		r->n = 1;
	}
}

/* rg_netset_finish - sort, deduplicate, build the runs */
void
rg_netset_finish(struct rg_netset *s)
{
	size_t o = 0;

	if (s->n > 1)
		qsort(s->nets, s->n, sizeof(*s->nets), netset_cmp);
	for (size_t i = 0; i < s->n; i++)
		if (o == 0 || netset_cmp(&s->nets[o - 1], &s->nets[i]) != 0)
			s->nets[o++] = s->nets[i];
	s->n = o;
	netset_build_runs(s);
	s->finished = 1;
}

/* netset_key - the client address as (family, 16 octets); 0 if none */
static int
netset_key(const struct sockaddr *sa, unsigned char key[16])
{
	memset(key, 0, 16);
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	if (memcmp(key, netset_v4mapped, 12) == 0) {
		memmove(key, key + 12, 4);
		memset(key + 4, 0, 12);
		return 4;
	}
	return 6;
}

/* netset_search - binary search of one run for a masked address */
static int
netset_search(const struct rg_net *v, size_t n, const unsigned char *k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(k, v[mid].addr, 16);

		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* rg_netset_contains - is the address inside one of the networks */
int
rg_netset_contains(const struct rg_netset *s, const struct sockaddr *sa)
{
	unsigned char key[16], k[16];
	int fam;

	if (s->n == 0)
		return 0;
	if (!s->finished)
		rg_panic("netset: lookup before rg_netset_finish()");
	if ((fam = netset_key(sa, key)) == 0)
		return 0;
	for (size_t r = 0; r < s->nruns; r++) {
		const struct rg_netrun *run = &s->runs[r];

		if (run->family != fam)
			continue;
		memcpy(k, key, sizeof(k));
		netset_mask(k, run->plen);
		if (netset_search(s->nets + run->start, run->n, k))
			return 1;
	}
	return 0;
}

/* rg_netset_count - networks in the set, duplicates dropped */
size_t
rg_netset_count(const struct rg_netset *s)
{
	return s->n;
}

/* rg_netset_release - free the contents, leave an empty set */
void
rg_netset_release(struct rg_netset *s)
{
	free(s->nets);
	free(s->runs);
	memset(s, 0, sizeof(*s));
}

/* --- as a configuration type ------------------------------------------- */

struct netset_load {
	struct rg_netset *set;
	const char *param;
	int nerr;
};

/* netset_conf_item - one list element, errors at its file and line */
static int
netset_conf_item(struct rg_conf_ctx *cx, const char *item, const char *file,
    int line, void *arg)
{
	struct netset_load *ld = arg;
	char why[256];
	int rc = rg_netset_add(ld->set, item, why, sizeof(why));

	if (rc < 0) {
		rg_conf_error(cx, file, line, "%s: %s", ld->param, why);
		ld->nerr++;
	} else if (rc > 0) {
		rg_conf_warn(cx, file, line, "%s: %s", ld->param, why);
	}
	return 0;	/* go on: report every bad element at once */
}

/* netset_conf_parse - a list value into a finished set */
static int
netset_conf_parse(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	struct netset_load ld = { dst, p->name, 0 };
	int rc = rg_conf_foreach_item(cx, value, netset_conf_item, &ld);

	rg_netset_finish(dst);
	return rc < 0 || ld.nerr > 0 ? -1 : 0;
}

/* netset_conf_free - release a configured set */
static void
netset_conf_free(void *dst)
{
	rg_netset_release(dst);
}

const struct rg_ptype_ops rg_netset_ops = {
	netset_conf_parse, netset_conf_free,
};
