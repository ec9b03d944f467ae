/*
 * urihost.c - hosts of links: normalisation, registered domains, the set
 *
 * rg_uri_host_parse() reads a host the way the WHATWG URL standard
 * (s3.5 host parsing) does: percent-decoding, IPv4 numbers in any base
 * (s3.5 "IPv4 parser"), IPv6 literals, then UTS #46 processing for
 * domains (libidn2), and reduces a domain to its registered domain with
 * the Public Suffix List (libpsl). Text glued to a host in prose
 * ("example.com)," or "example.com's") is cut off where a host cannot go
 * on. rg_uriset_* keep each result once, within the configured caps.
 *
 * The PSL context is loaded once (pthread_once) and only read afterwards,
 * which libpsl allows from any number of threads; libidn2 is reentrant.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "uri.h"
#include "xalloc.h"

/* the bytes of an ASCII host after lower-casing */
#define URIHOST_ASCII	"abcdefghijklmnopqrstuvwxyz0123456789-._"

static pthread_once_t urihost_once = PTHREAD_ONCE_INIT;
static psl_ctx_t *urihost_loaded;	/* ours to free */
static const psl_ctx_t *urihost_psl;	/* loaded or built-in; read-only */

/* urihost_load - the newest list: the system's file or the built-in */
static void
urihost_load(void)
{
	urihost_loaded = psl_latest(NULL);
	urihost_psl = urihost_loaded != NULL ? urihost_loaded : psl_builtin();
}

/* urihost_ctx - the shared PSL context, loading it on first use */
static const psl_ctx_t *
urihost_ctx(void)
{
	(void)pthread_once(&urihost_once, urihost_load);
	return urihost_psl;
}

const struct psl_ctx_st *
rg_uri_psl(void)
{
	return urihost_ctx();
}

int
rg_uri_global_init(void)
{
	return urihost_ctx() != NULL ? 0 : -1;
}

void
rg_uri_global_free(void)
{
	(void)urihost_ctx();
	urihost_psl = NULL;
	if (urihost_loaded != NULL)
		psl_free(urihost_loaded);
	urihost_loaded = NULL;
}

/* hexval - value of a hex digit, or -1 */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* host_char - may this byte be part of a host (after decoding)? Bytes of
 * UTF-8 are, for IDN; '_' is, as DNS allows it */
static int
host_char(int c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c >= 0x80;
}

/* copy_host - decode and lower-case into buf, cutting at the first byte
 * that cannot be in a host, and trimming dots at both ends */
static size_t
copy_host(const char *raw, size_t len, int decode_pct, char *buf,
    size_t size)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i < len && n + 1 < size; i++) {
		int c = (unsigned char)raw[i];

		if (decode_pct && c == '%' && len - i > 2 &&
		    hexval((unsigned char)raw[i + 1]) >= 0 &&
		    hexval((unsigned char)raw[i + 2]) >= 0) {
			c = hexval((unsigned char)raw[i + 1]) << 4 |
			    hexval((unsigned char)raw[i + 2]);
			i += 2;
		}
		if (!host_char(c))
			break;
		buf[n++] = (char)tolower(c);
	}
	while (n > 0 && buf[n - 1] == '.')
		n--;
	while (start < n && buf[start] == '.')
		start++;
	memmove(buf, buf + start, n - start);
	n -= start;
	buf[n] = '\0';
	return n;
}

/* ipv4_number - one part of an IPv4 host: decimal, 0x hex or 0 octal
 * (WHATWG URL s3.5 "IPv4 number parser"); -1 when it is not a number */
static int
ipv4_number(const char *s, size_t len, unsigned long long *v)
{
	unsigned base = 10;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	} else if (len >= 2 && s[0] == '0') {
		base = 8;
		s++;
		len--;
	} else if (len == 0) {
		return -1;
	}
	*v = 0;
	for (size_t i = 0; i < len; i++) {
		int d = hexval((unsigned char)s[i]);

		if (d < 0 || (unsigned)d >= base)
			return -1;
		if (*v <= 0xffffffffULL)	/* saturate past 32 bits */
			*v = *v * base + (unsigned)d;
	}
	return 0;
}

/* ends_in_number - the last label is a number, so the host must be an
 * IPv4 address or nothing (WHATWG URL s3.5 "ends in a number checker") */
static int
ends_in_number(const char *h, size_t n)
{
	const char *last = memrchr(h, '.', n);
	unsigned long long v;

	last = last != NULL ? last + 1 : h;
	if (strspn(last, "0123456789") == (size_t)(h + n - last))
		return 1;
	return (h + n - last) >= 2 && last[0] == '0' &&
	    (last[1] == 'x' || last[1] == 'X') &&
	    ipv4_number(last, (size_t)(h + n - last), &v) == 0;
}

/* ipv4_parse - "192.0.2.1", "3221225985", "0xC0000201", "0300.0.2.1",
 * "192.0.513" into out; -1 when invalid */
static int
ipv4_parse(const char *h, size_t n, struct rg_uri_ip *out)
{
	unsigned long long part[4], addr;
	size_t np = 0, i = 0;

	while (i <= n) {
		const char *dot = memchr(h + i, '.', n - i);
		size_t e = dot != NULL ? (size_t)(dot - h) : n;

		if (np == 4 || ipv4_number(h + i, e - i, &part[np]) != 0)
			return -1;
		np++;
		i = e + 1;
	}
	addr = part[np - 1];
	if (addr >= 1ULL << (8 * (5 - np)))
		return -1;
	for (i = 0; i + 1 < np; i++) {
		if (part[i] > 255)
			return -1;
		addr |= part[i] << (8 * (3 - i));
	}
	out->family = AF_INET;
	for (i = 0; i < 4; i++)
		out->addr[i] = (unsigned char)(addr >> (8 * (3 - i)));
	return inet_ntop(AF_INET, out->addr, out->text, sizeof(out->text)) ?
	    0 : -1;
}

/* ip_literal - "[2001:db8::1]" (or "[192.0.2.1]", a mailto: domain
 * literal, RFC 5321 s4.1.3); -1 when invalid */
static int
ip_literal(const char *raw, size_t len, struct rg_uri_ip *out)
{
	const char *close = memchr(raw, ']', len);
	char tmp[RG_URI_ADDR_MAX + 8];
	size_t n = close != NULL ? (size_t)(close - raw - 1) : 0;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, raw + 1, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, out->addr) == 1)
		out->family = AF_INET6;
	else if (inet_pton(AF_INET, tmp, out->addr) == 1)
		out->family = AF_INET;
	else
		return -1;
	return inet_ntop(out->family, out->addr, out->text, sizeof(out->text)) ?
	    0 : -1;
}

/* to_ascii - UTS #46 processing of a host with non-ASCII bytes, in place
 * (browsers use non-transitional processing; transitional is the second
 * try); -1 when it fails */
static int
to_ascii(char *buf, size_t size, size_t *n)
{
	uint8_t *out = NULL;
	int rc;

	rc = idn2_lookup_u8((const uint8_t *)buf, &out,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK)
		rc = idn2_lookup_u8((const uint8_t *)buf, &out,
		    IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
	if (rc != IDN2_OK || strlen((char *)out) >= size) {
		idn2_free(out);
		return -1;
	}
	*n = strlen((char *)out);
	memcpy(buf, out, *n + 1);
	idn2_free(out);
	return 0;
}

/* ascii_prefix - a host that fails UTS #46 because prose is glued to it
 * ("example.com’s"): keep what comes before the first non-ASCII byte */
static size_t
ascii_prefix(char *buf, size_t n)
{
	size_t i = 0;

	while (i < n && (unsigned char)buf[i] < 0x80)
		i++;
	while (i > 0 && (buf[i - 1] == '.' || buf[i - 1] == '-'))
		i--;
	buf[i] = '\0';
	return i;
}

/* labels_ok - RFC 1035 lengths: the name and each label */
static int
labels_ok(const char *h, size_t n)
{
	size_t label = 0;

	if (n > RG_URI_HOST_MAX)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || h[i] == '.') {
			if (label == 0 || label > RG_URI_LABEL_MAX)
				return 0;
			label = 0;
		} else {
			label++;
		}
	}
	return 1;
}

/* registered - the registered domain of h (A-labels), when its top-level
 * label is a known public suffix; -1 otherwise */
static int
registered(const char *h, char *out, size_t size)
{
	const psl_ctx_t *psl = urihost_ctx();
	const char *tld = strrchr(h, '.'), *reg;

	if (psl == NULL || tld == NULL ||
	    !psl_is_public_suffix2(psl, tld + 1,
	    PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE))
		return -1;
	if ((reg = psl_registrable_domain(psl, h)) == NULL ||
	    strlen(reg) >= size)
		return -1;
	memcpy(out, reg, strlen(reg) + 1);
	return 0;
}

/* host_eval - what a decoded, lower-cased host is: IDN processing,
 * then an IPv4 address or a registered domain */
static enum rg_uri_hostkind
host_eval(const char *h, size_t n, struct rg_uri_host *out)
{
	char buf[RG_URI_RAWHOST_MAX + 1];

	memcpy(buf, h, n + 1);
	if (strspn(buf, URIHOST_ASCII) != n) {
		if (to_ascii(buf, sizeof(buf), &n) != 0)
			return RG_URI_HOST_INVALID;
		/* UTS #46 maps some characters to ASCII that no host may hold
		 * (U+FF0F to '/'): cut there, as for ASCII text */
		n = strspn(buf, URIHOST_ASCII);
		while (n > 0 && buf[n - 1] == '.')
			n--;
		buf[n] = '\0';
	}
	if (n == 0)
		return RG_URI_HOST_INVALID;
	if (ends_in_number(buf, n)) {
		if (ipv4_parse(buf, n, &out->ip) == 0)
			return RG_URI_HOST_IP;
	} else if (labels_ok(buf, n) &&
	    registered(buf, out->domain, sizeof(out->domain)) == 0) {
		return RG_URI_HOST_DOMAIN;
	}
	return RG_URI_HOST_INVALID;
}

/* rg_uri_host_parse - normalise a written host */
enum rg_uri_hostkind
rg_uri_host_parse(const char *raw, size_t len, int decode_pct,
    struct rg_uri_host *out)
{
	char buf[RG_URI_RAWHOST_MAX + 1];
	size_t n;

	memset(out, 0, sizeof(*out));
	out->kind = RG_URI_HOST_INVALID;
	if (len > 0 && raw[0] == '[') {
		if (ip_literal(raw, len, &out->ip) == 0)
			out->kind = RG_URI_HOST_IP;
		return out->kind;
	}
	if (len > RG_URI_RAWHOST_MAX)
		len = RG_URI_RAWHOST_MAX;
	n = copy_host(raw, len, decode_pct, buf, sizeof(buf));
	if (n == 0)
		return out->kind;
	out->kind = host_eval(buf, n, out);
	/* prose glued to a host ("example.com\u2019s") may pass UTS #46 and
	 * still make no usable host: then the ASCII part before it is the
	 * link, as a reader sees it */
	if (out->kind == RG_URI_HOST_INVALID && strspn(buf, URIHOST_ASCII) != n &&
	    (n = ascii_prefix(buf, n)) > 0)
		out->kind = host_eval(buf, n, out);
	return out->kind;
}

struct rg_uriset *
rg_uriset_new(size_t max_domains, size_t max_ips)
{
	struct rg_uriset *s = rg_xcalloc(1, sizeof(*s));

	s->max_domains = max_domains;
	s->max_ips = max_ips;
	return s;
}

struct rg_uriset *
rg_uriset_conf(const struct rg_uri_conf *c)
{
	return rg_uriset_new((size_t)c->max_domains, (size_t)c->max_ips);
}

struct rg_uriset *
rg_uriset_free(struct rg_uriset *s)
{
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < s->ndomains; i++)
		free(s->domains[i]);
	free(s->domains);
	free(s->ips);
	free(s);
	return NULL;
}

/* add_domain - keep a registered domain once */
static enum rg_uri_add
add_domain(struct rg_uriset *s, const char *d)
{
	for (size_t i = 0; i < s->ndomains; i++)
		if (strcmp(s->domains[i], d) == 0)
			return RG_URI_KNOWN;
	if (s->ndomains >= s->max_domains) {
		s->flags |= RG_URI_F_DOMAINS;
		s->refused++;
		return RG_URI_FULL;
	}
	if (s->ndomains == s->domains_cap) {
		s->domains_cap = s->domains_cap ? s->domains_cap * 2 : 8;
		s->domains = rg_xreallocarray(s->domains, s->domains_cap,
		    sizeof(*s->domains));
	}
	s->domains[s->ndomains++] = rg_xstrdup(d);
	return RG_URI_ADDED;
}

/* add_ip - keep an address once */
static enum rg_uri_add
add_ip(struct rg_uriset *s, const struct rg_uri_ip *ip)
{
	size_t alen = ip->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < s->nips; i++)
		if (s->ips[i].family == ip->family &&
		    memcmp(s->ips[i].addr, ip->addr, alen) == 0)
			return RG_URI_KNOWN;
	if (s->nips >= s->max_ips) {
		s->flags |= RG_URI_F_IPS;
		s->refused++;
		return RG_URI_FULL;
	}
	if (s->nips == s->ips_cap) {
		s->ips_cap = s->ips_cap ? s->ips_cap * 2 : 4;
		s->ips = rg_xreallocarray(s->ips, s->ips_cap, sizeof(*s->ips));
	}
	s->ips[s->nips++] = *ip;
	return RG_URI_ADDED;
}

/* rg_uriset_add_host - normalise and keep */
enum rg_uri_add
rg_uriset_add_host(struct rg_uriset *s, const char *raw, size_t len,
    int decode_pct)
{
	struct rg_uri_host h;

	s->links++;
	switch (rg_uri_host_parse(raw, len, decode_pct, &h)) {
	case RG_URI_HOST_DOMAIN:
		return add_domain(s, h.domain);
	case RG_URI_HOST_IP:
		return add_ip(s, &h.ip);
	default:
		return RG_URI_INVALID;
	}
}
