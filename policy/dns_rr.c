/*
 * dns_rr.c - copy DNS answers into bounded results, and small DNS helpers
 *
 * rg_dns_decode() takes the rdata items a backend hands over (libunbound's
 * ub_result data/len arrays, or the fake backend's) and copies at most
 * RG_DNS_MAX_RRS records and RG_DNS_MAX_ANSWER bytes into a struct
 * rg_dns_result, decoding A, AAAA, TXT (RFC 1035 s3.3.14), MX (s3.3.9) and
 * the names of PTR, CNAME and NS (s3.3). Nothing is read past an item's
 * length; a record that does not parse is skipped and counted, never
 * trusted. Names come out in RFC 1035 s5.1 text form with escapes, so a
 * hostile name cannot smuggle dots, NULs or control bytes.
 *
 * Pure functions; thread-safe.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "strutil.h"
#include "xalloc.h"

static const struct {
	int type;
	const char *name;
} dns_types[] = {
	{ RG_DNS_T_A, "A" }, { RG_DNS_T_NS, "NS" }, { RG_DNS_T_CNAME, "CNAME" },
	{ 6, "SOA" }, { RG_DNS_T_PTR, "PTR" }, { RG_DNS_T_MX, "MX" },
	{ RG_DNS_T_TXT, "TXT" }, { RG_DNS_T_AAAA, "AAAA" }, { 33, "SRV" },
	{ 43, "DS" }, { 48, "DNSKEY" }, { 99, "SPF" }, { 255, "ANY" },
};

#define DNS_NTYPES (sizeof(dns_types) / sizeof(dns_types[0]))

/* rg_dns_type_name - a type's mnemonic, or "other" */
const char *
rg_dns_type_name(int rrtype)
{
	for (size_t i = 0; i < DNS_NTYPES; i++)
		if (dns_types[i].type == rrtype)
			return dns_types[i].name;
	return "other";
}

/* rg_dns_type_parse - a mnemonic, or TYPEnnn (RFC 3597 s5) */
int
rg_dns_type_parse(const char *name)
{
	long long n;

	for (size_t i = 0; i < DNS_NTYPES; i++)
		if (strcasecmp(dns_types[i].name, name) == 0)
			return dns_types[i].type;
	if (strncasecmp(name, "TYPE", 4) == 0 &&
	    rg_str_parse_ll(name + 4, &n) == 0 && n > 0 && n <= 65535)
		return (int)n;
	return -1;
}

/* rg_dns_status_name - a status in lower case, for logs */
const char *
rg_dns_status_name(enum rg_dns_status s)
{
	static const char *const names[] = {
		"ok", "nxdomain", "nodata", "timeout", "servfail", "error",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* rg_dns_name_valid - printable, no escapes or blanks, RFC 1035 lengths */
int
rg_dns_name_valid(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > RG_DNS_QNAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (ch <= ' ' || ch >= 0x7f || ch == '\\')
			return 0;
		if (++label > RG_DNS_LABEL_MAX)
			return 0;
	}
	return label > 0;
}

/* dns_put_label_byte - one octet of a label in RFC 1035 s5.1 text form */
static int
dns_put_label_byte(char *out, size_t size, size_t *pos, unsigned char ch)
{
	int n;

	if (ch > ' ' && ch < 0x7f && strchr(".\\\"();@$", ch) == NULL) {
		if (*pos + 1 >= size)
			return -1;
		out[(*pos)++] = (char)ch;
		return 0;
	}
	if (ch > ' ' && ch < 0x7f)
		n = snprintf(out + *pos, size - *pos, "\\%c", ch);
	else
		n = snprintf(out + *pos, size - *pos, "\\%03u", ch);
	if (n < 0 || (size_t)n >= size - *pos)
		return -1;
	*pos += (size_t)n;
	return 0;
}

/*
 * dns_name_text - the uncompressed name at p[0..len) into out; returns
 * the octets it took, or -1. Compression pointers are refused: libunbound
 * hands rdata over with names already expanded.
 */
static int
dns_name_text(const unsigned char *p, size_t len, char *out, size_t size)
{
	size_t off = 0, pos = 0;

	for (;;) {
		size_t l;

		if (off >= len || off >= RG_DNS_NAME_MAX)
			return -1;
		l = p[off++];
		if (l == 0)
			break;
		if (l > RG_DNS_LABEL_MAX || l > len - off)
			return -1;
		if (pos > 0) {
			if (pos + 1 >= size)
				return -1;
			out[pos++] = '.';
		}
		for (size_t i = 0; i < l; i++)
			if (dns_put_label_byte(out, size, &pos, p[off + i]) < 0)
				return -1;
		off += l;
	}
	if (off > RG_DNS_NAME_MAX)
		return -1;
	if (pos == 0)
		out[pos++] = '.';	/* the root */
	out[pos] = '\0';
	return (int)off;
}

/* dns_set_name - decode a name that fills p[0..len) exactly into rr->text */
static int
dns_set_name(struct rg_dns_rr *rr, const unsigned char *p, size_t len)
{
	char text[RG_DNS_TEXT_MAX];
	int used = dns_name_text(p, len, text, sizeof(text));

	if (used < 0 || (size_t)used != len)
		return -1;
	rr->textlen = strlen(text);
	rr->text = rg_xmemdup(text, rr->textlen);
	return 0;
}

/* dns_set_txt - concatenate the character-strings (RFC 1035 s3.3.14) */
static int
dns_set_txt(struct rg_dns_rr *rr, const unsigned char *p, size_t len)
{
	size_t off = 0, out = 0;

	if (len == 0)
		return -1;	/* one or more strings */
	rr->text = rg_xmalloc(len + 1);
	while (off < len) {
		size_t l = p[off++];

		if (l > len - off) {
			free(rr->text);
			rr->text = NULL;
			return -1;
		}
		memcpy(rr->text + out, p + off, l);
		out += l;
		off += l;
	}
	rr->text[out] = '\0';
	rr->textlen = out;
	return 0;
}

/* dns_decode_rr - one record; -1 when it does not parse */
static int
dns_decode_rr(struct rg_dns_rr *rr, int type, const unsigned char *p,
    size_t len)
{
	rr->type = type;
	switch (type) {
	case RG_DNS_T_A:
		if (len != sizeof(rr->a))
			return -1;
		memcpy(&rr->a, p, len);
		break;
	case RG_DNS_T_AAAA:
		if (len != sizeof(rr->aaaa))
			return -1;
		memcpy(&rr->aaaa, p, len);
		break;
	case RG_DNS_T_TXT:
		if (dns_set_txt(rr, p, len) < 0)
			return -1;
		break;
	case RG_DNS_T_MX:
		if (len < 3 || dns_set_name(rr, p + 2, len - 2) < 0)
			return -1;
		rr->pref = (unsigned)p[0] << 8 | p[1];
		break;
	case RG_DNS_T_PTR:
	case RG_DNS_T_CNAME:
	case RG_DNS_T_NS:
		if (dns_set_name(rr, p, len) < 0)
			return -1;
		break;
	default:
		break;
	}
	rr->rdata = (unsigned char *)rg_xmemdup(p, len);
	rr->rdlen = len;
	return 0;
}

/* dns_decode_items - copy the rdata items of an OK answer, within the caps */
static void
dns_decode_items(const struct rg_dns_answer *a, struct rg_dns_result *r)
{
	size_t n = 0, bytes = 0;

	while (a->data[n] != NULL)
		n++;
	r->rrs = rg_xcalloc(n < RG_DNS_MAX_RRS ? (n ? n : 1) : RG_DNS_MAX_RRS,
	    sizeof(*r->rrs));
	for (size_t i = 0; i < n; i++) {
		struct rg_dns_rr *rr = &r->rrs[r->nrrs];

		if (a->len[i] < 0) {
			r->malformed++;
			continue;
		}
		if (r->nrrs == RG_DNS_MAX_RRS ||
		    (size_t)a->len[i] > RG_DNS_MAX_ANSWER - bytes) {
			r->truncated = 1;
			break;
		}
		if (dns_decode_rr(rr, r->rrtype, (const unsigned char *)a->data[i],
		    (size_t)a->len[i]) < 0) {
			memset(rr, 0, sizeof(*rr));
			r->malformed++;
			continue;
		}
		bytes += (size_t)a->len[i];
		r->nrrs++;
	}
}

/* dns_copy_printable - bounded copy with control bytes replaced, for logs */
static void
dns_copy_printable(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	for (; *src != '\0' && o + 1 < size; src++)
		dst[o++] = (unsigned char)*src < 0x20 || *src == 0x7f ? '?' : *src;
	dst[o] = '\0';
}

/* rg_dns_decode - an answer into a bounded result */
void
rg_dns_decode(const struct rg_dns_answer *a, int rrtype,
    struct rg_dns_result *r)
{
	memset(r, 0, sizeof(*r));
	r->status = a->status;
	r->rrtype = rrtype;
	r->rcode = a->rcode;
	r->secure = a->secure;
	r->bogus = a->bogus;
	r->ttl = a->ttl;
	if (a->why != NULL)
		dns_copy_printable(r->why, sizeof(r->why), a->why);
	if (a->status != RG_DNS_OK)
		return;
	if (a->data != NULL && a->len != NULL)
		dns_decode_items(a, r);
	if (r->nrrs > 0)
		return;
	if (r->malformed > 0) {
		r->status = RG_DNS_ERROR;
		snprintf(r->why, sizeof(r->why), "malformed answer (%zu record%s)",
		    r->malformed, r->malformed == 1 ? "" : "s");
	} else {
		r->status = RG_DNS_NODATA;
	}
}

/* rg_dns_result_release - free a result's records; the struct stays usable */
void
rg_dns_result_release(struct rg_dns_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nrrs; i++) {
		free(r->rrs[i].rdata);
		free(r->rrs[i].text);
	}
	free(r->rrs);
	r->rrs = NULL;
	r->nrrs = 0;
}
