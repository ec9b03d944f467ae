/*
 * battery.c - the relay-abuse list: parsing, placeholders, destinations
 *
 * The list is parsed the same way whether it was compiled in or read
 * with --battery, so the embedded copy cannot drift from the file's
 * format. Placeholders are matched case-insensitively and an upper-case
 * placeholder gets an upper-case value, so USER%EVIL.EXAMPLE@OURS.EXAMPLE
 * keeps testing case handling. Destinations are found on the template,
 * where our names are the known placeholders (see battery.h). Running
 * the list against a server is battery_run.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "battery.h"
#include "../../policy/buf.h"
#include "../../policy/strutil.h"
#include "../../policy/xalloc.h"

enum { PH_LOCAL, PH_FOREIGN, PH_RELAY, PH_IP4, PH_IP6 };

static const struct {
	const char *text;
	int what;
	int ip;		/* an address: must not run on into more digits */
} battery_ph[] = {
	{ "relayed.example", PH_RELAY, 0 },
	{ "ours.example", PH_LOCAL, 0 },
	{ "evil.example", PH_FOREIGN, 0 },
	{ "2001:db8::25", PH_IP6, 1 },
	{ "192.0.2.25", PH_IP4, 1 },
};

/* battery_field - the next TAB-separated field of line, NUL-terminated */
static char *
battery_field(char **line)
{
	char *f = *line, *tab;

	if (f == NULL)
		return NULL;
	if ((tab = strchr(f, '\t')) != NULL) {
		*tab = '\0';
		*line = tab + 1;
	} else {
		*line = NULL;
	}
	return f;
}

/* battery_add - one parsed line; -1 with why */
static int
battery_add(struct rg_audit_battery *b, char *line, int lineno,
    const char *label, char *why, size_t size)
{
	char *addr = battery_field(&line), *exp = battery_field(&line);
	char *reason = battery_field(&line);
	struct rg_audit_case *c;

	if (addr == NULL || addr[0] == '\0' || exp == NULL) {
		snprintf(why, size, "%s:%d: expected address<TAB>accept|reject", label,
		    lineno);
		return -1;
	}
	if (strlen(addr) > RG_AUDIT_BATTERY_ADDR) {
		snprintf(why, size, "%s:%d: address longer than %d bytes", label,
		    lineno, RG_AUDIT_BATTERY_ADDR);
		return -1;
	}
	if (strcmp(exp, "accept") != 0 && strcmp(exp, "reject") != 0) {
		snprintf(why, size, "%s:%d: \"%s\": expected accept or reject", label,
		    lineno, exp);
		return -1;
	}
	if (b->n >= RG_AUDIT_BATTERY_MAX) {
		snprintf(why, size, "%s:%d: more than %d addresses", label, lineno,
		    RG_AUDIT_BATTERY_MAX);
		return -1;
	}
	b->v = rg_xreallocarray(b->v, b->n + 1, sizeof(*b->v));
	c = &b->v[b->n++];
	memset(c, 0, sizeof(*c));
	c->tmpl = rg_xstrdup(addr);
	c->reason = rg_xstrdup(reason ? reason : "");
	c->attack = exp[0] == 'r';
	c->line = lineno;
	c->dest = rg_audit_battery_dest(addr);
	return 0;
}

/* rg_audit_battery_parse - every line of a list */
int
rg_audit_battery_parse(struct rg_audit_battery *b, const char *text, size_t len,
    const char *label, char *why, size_t size)
{
	char line[RG_AUDIT_BATTERY_LINE + 1];
	size_t pos = 0, n;
	int lineno = 0;

	if (memchr(text, '\0', len) != NULL) {
		snprintf(why, size, "%s: contains a NUL byte", label);
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		if (n > RG_AUDIT_BATTERY_LINE) {
			snprintf(why, size, "%s:%d: line longer than %d bytes", label,
			    lineno, RG_AUDIT_BATTERY_LINE);
			return -1;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL);
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (strchr(line, '\r') != NULL) {
			snprintf(why, size, "%s:%d: stray carriage return", label, lineno);
			return -1;
		}
		if (battery_add(b, line, lineno, label, why, size) < 0)
			return -1;
	}
	if (b->n == 0) {
		snprintf(why, size, "%s: no addresses", label);
		return -1;
	}
	return 0;
}

/* battery_value - what a placeholder becomes, or NULL */
static const char *
battery_value(int what, const struct rg_audit_subst *s)
{
	switch (what) {
	case PH_LOCAL:
		return s->local;
	case PH_FOREIGN:
		return s->foreign;
	case PH_RELAY:
		return s->relay ? s->relay : s->local;
	case PH_IP4:
		return s->ip4;
	case PH_IP6:
		return s->ip6;
	}
	return NULL;
}

/* battery_match - placeholder k at p (case-insensitive); its length or 0 */
static size_t
battery_match(const char *p, size_t k)
{
	size_t n = strlen(battery_ph[k].text);

	if (strncasecmp(p, battery_ph[k].text, n) != 0)
		return 0;
	if (battery_ph[k].ip && (isxdigit((unsigned char)p[n]) || p[n] == '.' ||
	    p[n] == ':'))
		return 0;
	return n;
}

/* battery_put - append v, upper-cased when the placeholder was written so */
static void
battery_put(struct rg_buf *out, const char *v, const char *orig, size_t n)
{
	int upper = 0;

	for (size_t i = 0; i < n; i++)
		upper |= isupper((unsigned char)orig[i]) != 0;
	for (; *v; v++)
		rg_buf_putc(out, upper ? toupper((unsigned char)*v) : *v);
}

/* rg_audit_subst_addr - the template with our names in it */
char *
rg_audit_subst_addr(const char *tmpl, const struct rg_audit_subst *s)
{
	struct rg_buf out = RG_BUF_INIT;
	const char *p = tmpl, *v;
	size_t k, n = 0;

	while (*p) {
		for (k = 0; k < sizeof(battery_ph) / sizeof(battery_ph[0]); k++)
			if ((n = battery_match(p, k)) > 0)
				break;
		if (n == 0 || k == sizeof(battery_ph) / sizeof(battery_ph[0])) {
			rg_buf_putc(&out, *p++);
			continue;
		}
		if ((v = battery_value(battery_ph[k].what, s)) == NULL) {
			rg_buf_release(&out);
			return NULL;
		}
		battery_put(&out, v, p, n);
		p += n;
		n = 0;
	}
	if (out.data == NULL)
		return rg_xstrdup("");
	return rg_buf_steal(&out);
}

/* ---- destinations ------------------------------------------------------ */

/* battery_host_dest - one domain or [literal] of a template */
static enum rg_audit_dest
battery_host_dest(const char *h, size_t n)
{
	char d[RG_AUDIT_BATTERY_LINE + 1];
	unsigned char bin[16];
	char *p;

	memcpy(d, h, n);
	d[n] = '\0';
	p = d;
	if (*p == '[') {
		p++;
		p[strcspn(p, "]")] = '\0';
		if (strncasecmp(p, "IPv6:", 5) == 0)
			p += 5;
		if (strcmp(p, "127.0.0.1") == 0 || strcmp(p, "::1") == 0)
			return RG_AUDIT_DEST_LOOPBACK;
		if (strcmp(p, "192.0.2.25") == 0 || strcasecmp(p, "2001:db8::25") == 0 ||
		    strcasecmp(p, "::ffff:192.0.2.25") == 0)
			return RG_AUDIT_DEST_OURS;
		if (inet_pton(AF_INET, p, bin) == 1 || inet_pton(AF_INET6, p, bin) == 1)
			return RG_AUDIT_DEST_FOREIGN;
	} else {
		/* a port or other junk after the host does not change the host */
		p[strcspn(p, ":> \t")] = '\0';
	}
	rg_str_lower(p);
	n = strlen(p);
	if (n > 0 && p[n - 1] == '.')
		p[--n] = '\0';
	if (n == 0 || strcmp(p, "ours.example") == 0 ||
	    strcmp(p, "relayed.example") == 0 ||
	    (n > 13 && strcmp(p + n - 13, ".ours.example") == 0))
		return RG_AUDIT_DEST_OURS;
	return RG_AUDIT_DEST_FOREIGN;
}

/* battery_worse - the more dangerous of two destinations */
static enum rg_audit_dest
battery_worse(enum rg_audit_dest a, enum rg_audit_dest b)
{
	if (a == RG_AUDIT_DEST_FOREIGN || b == RG_AUDIT_DEST_FOREIGN)
		return RG_AUDIT_DEST_FOREIGN;
	if (a == RG_AUDIT_DEST_LOOPBACK || b == RG_AUDIT_DEST_LOOPBACK)
		return RG_AUDIT_DEST_LOOPBACK;
	return RG_AUDIT_DEST_OURS;
}

static enum rg_audit_dest battery_mailbox(const char *p, size_t n, int depth);

/* battery_local - hosts hidden in a local part: %-hack, bang path, quotes */
static enum rg_audit_dest
battery_local(const char *p, size_t n, int depth)
{
	enum rg_audit_dest d = RG_AUDIT_DEST_OURS;
	const char *e = p + n, *q;

	if (n >= 2 && p[0] == '"' && p[n - 1] == '"')
		return battery_mailbox(p + 1, n - 2, depth + 1);
	if (memchr(p, '@', n) != NULL)
		return battery_mailbox(p, n, depth + 1);
	/* a%b%c: b and c are hosts; a!b!c: a and b are hosts */
	for (q = memchr(p, '%', n); q != NULL; q = memchr(q + 1, '%', (size_t)(e - q - 1))) {
		const char *end = memchr(q + 1, '%', (size_t)(e - q - 1));

		d = battery_worse(d, battery_host_dest(q + 1,
		    (size_t)((end ? end : e) - q - 1)));
	}
	for (const char *s = p; (q = memchr(s, '!', (size_t)(e - s))) != NULL; s = q + 1)
		d = battery_worse(d, battery_host_dest(s, (size_t)(q - s)));
	return d;
}

/* battery_mailbox - [route:]local[@host]: the worst destination in it */
static enum rg_audit_dest
battery_mailbox(const char *p, size_t n, int depth)
{
	enum rg_audit_dest d = RG_AUDIT_DEST_OURS;
	const char *colon, *at = NULL;

	if (depth > 4)
		return RG_AUDIT_DEST_FOREIGN;
	if (n > 0 && p[0] == '@' && (colon = memchr(p, ':', n)) != NULL) {
		/* RFC 5321 s4.1.2 A-d-l: @host,@host: */
		for (const char *h = p; h < colon; ) {
			const char *end = memchr(h, ',', (size_t)(colon - h));

			if (end == NULL)
				end = colon;
			d = battery_worse(d, battery_host_dest(h + (*h == '@'),
			    (size_t)(end - h - (*h == '@'))));
			h = end + 1;
		}
		n -= (size_t)(colon + 1 - p);
		p = colon + 1;
	}
	/* the host follows the last '@' that is outside quotes */
	for (size_t i = 0, inq = 0; i < n; i++) {
		if (p[i] == '"' && (i == 0 || p[i - 1] != '\\'))
			inq = !inq;
		else if (p[i] == '@' && !inq)
			at = p + i;
	}
	if (at == NULL)
		return battery_worse(d, battery_local(p, n, depth));
	d = battery_worse(d, battery_host_dest(at + 1, (size_t)(p + n - at - 1)));
	return battery_worse(d, battery_local(p, (size_t)(at - p), depth));
}

/* rg_audit_battery_dest - where a template's address leads */
enum rg_audit_dest
rg_audit_battery_dest(const char *tmpl)
{
	size_t n = strlen(tmpl);

	if (n >= 2 && tmpl[0] == '<' && tmpl[n - 1] == '>') {
		tmpl++;
		n -= 2;
	}
	return battery_mailbox(tmpl, n, 0);
}
