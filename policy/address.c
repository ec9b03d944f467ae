/*
 * address.c - RFC 5321 paths, read for where the mail really goes
 *
 * A path is read left to right: angle brackets, a source route ("@a,@b:",
 * RFC 5321 4.1.2 A-d-l), then the mailbox: a quoted string or a dot-string
 * up to the last unescaped '@', then the domain or address literal (RFC
 * 5321 4.1.3). The local part, as delivered, is then "peeled" the way
 * MTAs that honour old routing conventions would: the rightmost '@', else
 * the rightmost '%' (Postfix allow_percent_hack, Sendmail), else the
 * leftmost '!' (UUCP, Postfix swap_bangpath) names the next host, until
 * no routing character is left. The last host is the real destination.
 * Functions here take "unsigned *tricks" and add to it; nothing fails.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "strutil.h"

#define BIT(t)	RG_TRICK_BIT(t)

static const char *const addr_trick_names[RG_TRICK_COUNT] = {
	"none", "percent-hack", "bang-path", "source-route",
	"quoted-local-part", "multiple-at", "ip-literal", "escaped-char",
	"empty-part", "too-long", "bad-syntax", "control-char",
	"8bit-local-part", "bad-dots",
};

/* the trick a log line names when there are several: the worst first */
static const enum rg_addr_trick addr_trick_rank[] = {
	RG_TRICK_SYNTAX, RG_TRICK_CONTROL, RG_TRICK_TOO_LONG,
	RG_TRICK_EMPTY_PART, RG_TRICK_SOURCE_ROUTE, RG_TRICK_QUOTED_SPECIAL,
	RG_TRICK_ESCAPE, RG_TRICK_MULTI_AT, RG_TRICK_PERCENT, RG_TRICK_BANG,
	RG_TRICK_8BIT, RG_TRICK_DOTS, RG_TRICK_IP_LITERAL,
};

/* a bounded output buffer for the local part */
struct addr_out {
	char *buf;
	size_t size, len;
	int overflow;
};

/* rg_addr_trick_name - stable log name of a trick */
const char *
rg_addr_trick_name(enum rg_addr_trick t)
{
	if ((int)t < 0 || t >= RG_TRICK_COUNT)
		return "unknown";
	return addr_trick_names[t];
}

/* rg_addr_trick_main - the worst trick set, or RG_TRICK_NONE */
enum rg_addr_trick
rg_addr_trick_main(unsigned tricks)
{
	for (size_t i = 0; i < sizeof(addr_trick_rank) / sizeof(addr_trick_rank[0]); i++)
		if (tricks & BIT(addr_trick_rank[i]))
			return addr_trick_rank[i];
	return RG_TRICK_NONE;
}

/* rg_addr_tricks_format - every trick set, comma-separated */
void
rg_addr_tricks_format(unsigned tricks, char *buf, size_t size)
{
	if (size == 0)
		return;
	buf[0] = '\0';
	for (int t = RG_TRICK_NONE + 1; t < RG_TRICK_COUNT; t++) {
		if (!(tricks & BIT(t)))
			continue;
		if (buf[0] != '\0')
			rg_strlcat(buf, ",", size);
		rg_strlcat(buf, addr_trick_names[t], size);
	}
	if (buf[0] == '\0')
		rg_strlcpy(buf, "none", size);
}

/* addr_is_ctl - C0 controls and DEL */
static int
addr_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* addr_is_alnum - ASCII letter or digit, whatever the locale */
static int
addr_is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* addr_is_atext - RFC 5322 3.2.3 atext, as RFC 5321 4.1.2 Atom uses it */
static int
addr_is_atext(unsigned char c)
{
	return addr_is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* addr_lower - ASCII lowercase, whatever the locale */
static char
addr_lower(unsigned char c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* addr_put - append one octet, noting overflow instead of writing it */
static void
addr_put(struct addr_out *o, unsigned char c)
{
	if (o->len + 1 < o->size) {
		o->buf[o->len++] = (char)c;
		o->buf[o->len] = '\0';
	} else {
		o->overflow = 1;
	}
}

/* addr_label - one label of a domain name (RFC 5321 4.1.2 sub-domain) */
static void
addr_label(unsigned *tricks, const char *l, size_t n)
{
	if (n == 0)
		*tricks |= BIT(RG_TRICK_EMPTY_PART);
	else if (n > RG_ADDR_LABEL_MAX)
		*tricks |= BIT(RG_TRICK_TOO_LONG);
	else if (l[0] == '-' || l[n - 1] == '-')
		*tricks |= BIT(RG_TRICK_SYNTAX);
}

/* addr_name_char - what one octet of a domain name adds to the tricks */
static unsigned
addr_name_char(unsigned char c)
{
	if (addr_is_ctl(c))
		return BIT(RG_TRICK_CONTROL);
	/* raw 8-bit: IDNs arrive as A-labels (RFC 5890), anything else is junk */
	if (c >= 0x80)
		return BIT(RG_TRICK_SYNTAX);
	/* '_' is no RFC 5321 letter, but real host names carry it */
	if (!addr_is_alnum(c) && c != '-' && c != '_')
		return BIT(RG_TRICK_SYNTAX);
	return 0;
}

/* addr_name - a domain name: lowercased, the root's trailing dot dropped */
static void
addr_name(unsigned *tricks, const char *p, size_t n, struct rg_addr_host *h)
{
	size_t o = 0, start = 0;

	if (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0) {
		*tricks |= BIT(RG_TRICK_EMPTY_PART);
		return;
	}
	if (n > RG_ADDR_DOMAIN_MAX)
		*tricks |= BIT(RG_TRICK_TOO_LONG);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.') {
			addr_label(tricks, p + start, i - start);
			start = i + 1;
		} else {
			*tricks |= addr_name_char((unsigned char)p[i]);
		}
		if (o + 1 < sizeof(h->name))
			h->name[o++] = addr_lower((unsigned char)p[i]);
	}
	addr_label(tricks, p + start, n - start);
	h->name[o] = '\0';
}

/* addr_literal_addr - the address inside the brackets, into h; -1 if bad */
static int
addr_literal_addr(const char *in, size_t len, int v6, struct rg_addr_host *h)
{
	char text[INET6_ADDRSTRLEN + 8], canon[INET6_ADDRSTRLEN];
	struct sockaddr_in *s4 = (struct sockaddr_in *)&h->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&h->sa;
	void *bin = v6 ? (void *)&s6->sin6_addr : (void *)&s4->sin_addr;
	int family = v6 ? AF_INET6 : AF_INET;

	if (len >= sizeof(text))
		return -1;
	memcpy(text, in, len);
	text[len] = '\0';
	if (inet_pton(family, text, bin) != 1) {
		memset(&h->sa, 0, sizeof(h->sa));
		return -1;
	}
	h->family = h->sa.ss_family = (sa_family_t)family;
	inet_ntop(family, bin, canon, sizeof(canon));
	snprintf(h->name, sizeof(h->name), v6 ? "[IPv6:%s]" : "[%s]", canon);
	return 0;
}

/* addr_literal - "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3) */
static void
addr_literal(unsigned *tricks, const char *p, size_t n, struct rg_addr_host *h)
{
	const char *in = p + 1;
	size_t len = n >= 2 ? n - 2 : 0;
	int v6 = 0;

	*tricks |= BIT(RG_TRICK_IP_LITERAL);
	if (n < 3 || p[n - 1] != ']') {
		*tricks |= BIT(RG_TRICK_SYNTAX);
		return;
	}
	/* the tag is case-insensitive, as every ABNF string (RFC 5234 2.3) */
	if (len > 5 && strncasecmp(in, "IPv6:", 5) == 0) {
		v6 = 1;
		in += 5;
		len -= 5;
	}
	if (addr_literal_addr(in, len, v6, h) < 0)
		*tricks |= BIT(RG_TRICK_SYNTAX);
}

/* addr_host - a domain name or an address literal, from p[0..n) */
static void
addr_host(unsigned *tricks, const char *p, size_t n, struct rg_addr_host *h)
{
	memset(h, 0, sizeof(*h));
	if (n > 0 && p[0] == '[')
		addr_literal(tricks, p, n, h);
	else
		addr_name(tricks, p, n, h);
}

/* addr_host_end - where a host that may be a literal ends: a stop char */
static const char *
addr_host_end(const char *p, const char *e, const char *stops)
{
	if (p < e && *p == '[') {
		const char *r = memchr(p, ']', (size_t)(e - p));

		return r ? r + 1 : e;
	}
	while (p < e && (*p == '\0' || strchr(stops, *p) == NULL))
		p++;
	return p;
}

/* addr_route - "@a,@b:" (RFC 5321 4.1.2 A-d-l); returns the mailbox */
static const char *
addr_route(struct rg_addr *a, const char *p, const char *e)
{
	struct rg_addr_host spare;

	a->tricks |= BIT(RG_TRICK_SOURCE_ROUTE);
	while (p < e && *p == '@') {
		const char *q = addr_host_end(p + 1, e, ",:");
		struct rg_addr_host *h = &spare;

		if (a->nroute < RG_ADDR_MAX_HOPS)
			h = &a->route[a->nroute++];
		else
			a->tricks |= BIT(RG_TRICK_TOO_LONG);
		addr_host(&a->tricks, p + 1, (size_t)(q - p - 1), h);
		if (q < e && *q == ':')
			return q + 1;
		if (q == e || *q != ',')
			break;
		p = q + 1;
	}
	a->tricks |= BIT(RG_TRICK_SYNTAX);
	return NULL;
}

/* addr_quoted - RFC 5321 Quoted-string; returns the end, NULL if open */
static const char *
addr_quoted(struct rg_addr *a, const char *p, const char *e,
    struct addr_out *lo)
{
	for (const char *s = p + 1; s < e; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"')
			return s + 1;
		if (c == '\\') {
			a->tricks |= BIT(RG_TRICK_ESCAPE);
			if (++s == e)
				break;
			c = (unsigned char)*s;
		}
		if (addr_is_ctl(c))
			a->tricks |= BIT(RG_TRICK_CONTROL);
		if (c == '@' || c == '%' || c == '!')
			a->tricks |= BIT(RG_TRICK_QUOTED_SPECIAL);
		addr_put(lo, c);
	}
	a->tricks |= BIT(RG_TRICK_SYNTAX);
	return NULL;
}

/* addr_last_at - the last '@' not escaped by a backslash, or NULL */
static const char *
addr_last_at(struct rg_addr *a, const char *p, const char *e)
{
	const char *at = NULL;
	int n = 0;

	for (const char *s = p; s < e; s++) {
		if (*s == '\\' && s + 1 < e)
			s++;
		else if (*s == '@')
			at = s, n++;
	}
	if (n > 1)
		a->tricks |= BIT(RG_TRICK_MULTI_AT);
	return at;
}

/* addr_dotstring - RFC 5321 Dot-string, with Sendmail's '\' escapes */
static void
addr_dotstring(struct rg_addr *a, const char *p, const char *e,
    struct addr_out *lo)
{
	for (const char *s = p; s < e; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\') {
			a->tricks |= BIT(RG_TRICK_ESCAPE);
			if (++s == e) {
				a->tricks |= BIT(RG_TRICK_SYNTAX);
				break;
			}
			c = (unsigned char)*s;
		} else if (c < 0x80 && !addr_is_ctl(c) && !addr_is_atext(c) &&
		    c != '.' && c != '@') {
			a->tricks |= BIT(RG_TRICK_SYNTAX);
		}
		if (addr_is_ctl(c))
			a->tricks |= BIT(RG_TRICK_CONTROL);
		addr_put(lo, c);
	}
	/* Dot-string = Atom *("." Atom): no empty atom */
	if (p < e && (p[0] == '.' || e[-1] == '.' ||
	    memmem(p, (size_t)(e - p), "..", 2) != NULL))
		a->tricks |= BIT(RG_TRICK_DOTS);
}

/* addr_utf8_valid - well-formed UTF-8: no overlongs, surrogates, > U+10FFFF */
static int
addr_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], cp, min;
		size_t len;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			len = 3, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* addr_8bit - an 8-bit local part is legal only under SMTPUTF8 (RFC 6531) */
static void
addr_8bit(struct rg_addr *a, unsigned flags)
{
	const unsigned char *s = (const unsigned char *)a->local;
	size_t n = strlen(a->local);
	int any = 0;

	for (size_t i = 0; i < n; i++)
		any |= s[i] >= 0x80;
	if (any && (!(flags & RG_ADDR_SMTPUTF8) || !addr_utf8_valid(s, n)))
		a->tricks |= BIT(RG_TRICK_8BIT);
}

/* addr_peel_one - split the next host off work; returns it, or NULL */
static char *
addr_peel_one(struct rg_addr *a, char *work, char **rest)
{
	char *s;

	*rest = NULL;
	if ((s = strrchr(work, '@')) != NULL) {
		/* flagged already: quoted, escaped or multiple '@' */
		*s = '\0';
		return s + 1;
	}
	if ((s = strrchr(work, '%')) != NULL) {
		a->tricks |= BIT(RG_TRICK_PERCENT);
		*s = '\0';
		return s + 1;
	}
	if ((s = strchr(work, '!')) != NULL) {
		a->tricks |= BIT(RG_TRICK_BANG);
		*s = '\0';
		*rest = s + 1;
		return work;
	}
	return NULL;
}

/* addr_peel - the hosts hidden in the local part, and the final mailbox */
static void
addr_peel(struct rg_addr *a)
{
	char work[sizeof(a->local)], *host, *rest;

	rg_strlcpy(work, a->local, sizeof(work));
	while ((host = addr_peel_one(a, work, &rest)) != NULL) {
		if (a->nvia == RG_ADDR_MAX_HOPS) {
			a->tricks |= BIT(RG_TRICK_TOO_LONG);
			break;
		}
		addr_host(&a->tricks, host, strlen(host), &a->via[a->nvia++]);
		if (rest != NULL)	/* bang path: the host was in front */
			memmove(work, rest, strlen(rest) + 1);
	}
	rg_strlcpy(a->dest_local, work, sizeof(a->dest_local));
}

/* addr_mailbox - Local-part "@" ( Domain / address-literal ) */
static void
addr_mailbox(struct rg_addr *a, const char *p, const char *e, unsigned flags)
{
	struct addr_out lo = { a->local, sizeof(a->local), 0, 0 };
	const char *at, *end;

	if (*p == '"') {
		end = addr_quoted(a, p, e, &lo);
		if (end == NULL)
			end = e;
		else if (end < e && *end != '@')
			a->tricks |= BIT(RG_TRICK_SYNTAX);
		at = end < e && *end == '@' ? end : NULL;
	} else {
		at = addr_last_at(a, p, e);
		end = at ? at : e;
		addr_dotstring(a, p, end, &lo);
	}
	if ((size_t)(end - p) > RG_ADDR_LOCAL_MAX || lo.overflow)
		a->tricks |= BIT(RG_TRICK_TOO_LONG);
	if (lo.len == 0)
		a->tricks |= BIT(RG_TRICK_EMPTY_PART);
	if (at != NULL)
		addr_host(&a->tricks, at + 1, (size_t)(e - at - 1), &a->domain);
	addr_8bit(a, flags);
	addr_peel(a);
	if (at == NULL && a->nvia == 0) {
		/* RFC 5321 4.5.1: only postmaster may come without a domain */
		if (strcasecmp(a->local, "postmaster") == 0)
			a->postmaster = 1;
		else
			a->tricks |= BIT(RG_TRICK_EMPTY_PART);
	}
}

/* addr_path - [ A-d-l ":" ] Mailbox, between the brackets */
static void
addr_path(struct rg_addr *a, const char *p, const char *e, unsigned flags)
{
	if (*p == '@') {
		const char *q = addr_host_end(p + 1, e, ",:");

		if (q == e) {
			/* "@domain": a mailbox without its local part */
			a->tricks |= BIT(RG_TRICK_EMPTY_PART);
			addr_host(&a->tricks, p + 1, (size_t)(e - p - 1), &a->domain);
			a->dest_domain = a->domain;
			return;
		}
		if ((p = addr_route(a, p, e)) == NULL)
			return;
		if (p == e) {
			a->tricks |= BIT(RG_TRICK_EMPTY_PART);
			return;
		}
	}
	addr_mailbox(a, p, e, flags);
	a->dest_domain = a->nvia > 0 ? a->via[a->nvia - 1] : a->domain;
}

/* rg_addr_parse - see address.h */
int
rg_addr_parse(const char *path, unsigned flags, struct rg_addr *a)
{
	const char *p = path ? path : "", *e;
	size_t len;

	memset(a, 0, sizeof(*a));
	len = strnlen(p, RG_ADDR_INPUT_MAX + 1);
	if (len > RG_ADDR_INPUT_MAX) {
		a->tricks |= BIT(RG_TRICK_TOO_LONG);
		return -1;
	}
	e = p + len;
	if (len > 0 && p[0] == '<') {
		if (len < 2 || e[-1] != '>') {
			a->tricks |= BIT(RG_TRICK_SYNTAX);
			return -1;
		}
		p++, e--;
	}
	/* RFC 5321 4.5.3.1.3: 256 octets, counting the brackets */
	if ((size_t)(e - p) + 2 > RG_ADDR_PATH_MAX)
		a->tricks |= BIT(RG_TRICK_TOO_LONG);
	if (p == e)
		a->null = 1;
	else
		addr_path(a, p, e, flags);
	return (a->tricks & RG_TRICKS_MALFORMED) ? -1 : 0;
}

/* rg_addr_norm_domain - a configured domain name, in the parser's form */
int
rg_addr_norm_domain(const char *in, char *out, size_t size)
{
	struct rg_addr_host h;
	unsigned tricks = 0;
	size_t n = strnlen(in, RG_ADDR_DOMAIN_MAX + 2);

	memset(&h, 0, sizeof(h));
	if (n > RG_ADDR_DOMAIN_MAX + 1 || (n > 0 && in[0] == '['))
		return -1;
	addr_name(&tricks, in, n, &h);
	if (tricks != 0)
		return -1;
	if (rg_strlcpy(out, h.name, size) >= size)
		return -1;
	return 0;
}
