/*
 * dkim_dns.c - libopendkim's DNS, through our resolver hook
 *
 * libopendkim (dkim-keys.c, dkim_get_key_dns) calls a query-start hook
 * with the name and an 8k buffer, then a wait hook for the reply length,
 * then parses the buffer as a DNS reply with the resolver library's
 * dn_expand(): the question section must be there, NXDOMAIN is read from
 * the header, a reply without answers is "no key". We answer
 * synchronously in the start hook: the lookup function (dkim.h) either
 * fills the buffer with the packet it received, or says NXDOMAIN/NODATA
 * and a packet is built here, or says TEMPFAIL and the wait hook reports
 * an error, which libopendkim turns into a key failure (temperror). A
 * reply whose RCODE is SERVFAIL or REFUSED is a TEMPFAIL too: libopendkim
 * would take it for a missing key.
 *
 * Static functions are dkdns_*: dkim_* names belong to libopendkim.
 * The default resolver is set once before threads start; a handle's own
 * resolver travels in a thread-local pointer (dkim_int.h).
 */
#include <arpa/nameser.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_int.h"
#include "dns.h"
#include "settings.h"
#include "log.h"
#include "xalloc.h"

#define DKDNS_HEADER	12	/* RFC 1035 s4.1.1 */
#define DKDNS_NAME_MAX	255	/* RFC 1035 s2.3.4: octets, encoded */
#define DKDNS_LABEL_MAX	63
#define DKDNS_TXT_MAX	255	/* RFC 1035 s3.3: one character-string */
#define DKDNS_TTL	300

struct dkdns_query {
	int status;		/* DKIM_DNS_SUCCESS or DKIM_DNS_ERROR */
	size_t len;		/* reply bytes in libopendkim's buffer */
};

static struct rg_dkim_resolver dkdns_default;	/* set before threads */
static __thread const struct rg_dkim_resolver *dkdns_current;
static int dkdns_service;	/* its address is the "service handle" */

/* rg_dkim_set_resolver - key lookup for handles without one of their own */
void
rg_dkim_set_resolver(rg_dkim_txt_lookup fn, void *arg)
{
	dkdns_default.fn = fn;
	dkdns_default.arg = arg;
}

/* rg_dkim_dns_enter - set this thread's resolver for the calls to come */
const struct rg_dkim_resolver *
rg_dkim_dns_enter(const struct rg_dkim_resolver *r)
{
	const struct rg_dkim_resolver *prev = dkdns_current;

	dkdns_current = r;
	return prev;
}

/* rg_dkim_dns_leave - put the previous resolver back */
void
rg_dkim_dns_leave(const struct rg_dkim_resolver *prev)
{
	dkdns_current = prev;
}

/* dkdns_put16 - a 16-bit field in network order */
static void
dkdns_put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/* dkdns_put_name - name as labels (RFC 1035 s3.1); bytes written, or 0 */
static size_t
dkdns_put_name(const char *name, unsigned char *p, size_t room)
{
	size_t n = 0, len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len + 2 > DKDNS_NAME_MAX || len + 2 > room)
		return 0;
	while (n < len + 1) {
		const char *start = name + n, *dot = memchr(start, '.', len - n);
		size_t l = dot ? (size_t)(dot - start) : len - n;

		if (l == 0 || l > DKDNS_LABEL_MAX)
			return 0;
		p[n] = (unsigned char)l;
		memcpy(p + n + 1, start, l);
		n += l + 1;
	}
	p[len + 1] = 0;
	return len + 2;
}

/* dkdns_put_txt - one TXT RR, owner as a pointer to the question name */
static size_t
dkdns_put_txt(const char *txt, unsigned char *p, size_t room)
{
	size_t tl = strlen(txt), nstr, rdlen, need, off = 12;

	if (tl > UINT16_MAX)
		return 0;
	nstr = tl == 0 ? 1 : (tl + DKDNS_TXT_MAX - 1) / DKDNS_TXT_MAX;
	rdlen = tl + nstr;
	need = 12 + rdlen;
	if (rdlen > UINT16_MAX || need > room)
		return 0;
	dkdns_put16(p, 0xc000 | DKDNS_HEADER);
	dkdns_put16(p + 2, ns_t_txt);
	dkdns_put16(p + 4, ns_c_in);
	dkdns_put16(p + 6, 0);
	dkdns_put16(p + 8, DKDNS_TTL);
	dkdns_put16(p + 10, (unsigned)rdlen);
	for (size_t i = 0; i < nstr; i++) {
		size_t l = tl - i * DKDNS_TXT_MAX;

		l = l > DKDNS_TXT_MAX ? DKDNS_TXT_MAX : l;
		p[off++] = (unsigned char)l;
		memcpy(p + off, txt + i * DKDNS_TXT_MAX, l);
		off += l;
	}
	return need;
}

/* rg_dkim_dns_txt_answer - a reply packet: header, question, answers */
int
rg_dkim_dns_txt_answer(const char *name, int rcode, const char *const *txt,
    size_t ntxt, unsigned char *buf, size_t size, size_t *len)
{
	size_t off = DKDNS_HEADER, n;

	if (size < DKDNS_HEADER + 4 || ntxt > UINT16_MAX)
		return -1;
	memset(buf, 0, DKDNS_HEADER);
	buf[2] = 0x81;				/* QR, RD */
	buf[3] = (unsigned char)(0x80 | (rcode & 0x0f));	/* RA, RCODE */
	dkdns_put16(buf + 4, 1);		/* QDCOUNT */
	dkdns_put16(buf + 6, (unsigned)ntxt);	/* ANCOUNT */
	if ((n = dkdns_put_name(name, buf + off, size - off - 4)) == 0)
		return -1;
	off += n;
	dkdns_put16(buf + off, ns_t_txt);
	dkdns_put16(buf + off + 2, ns_c_in);
	off += 4;
	for (size_t i = 0; i < ntxt; i++) {
		if ((n = dkdns_put_txt(txt[i], buf + off, size - off)) == 0)
			return -1;
		off += n;
	}
	*len = off;
	return 0;
}

/* dkdns_check_reply - a packet from the hook: complete, and a final RCODE */
static int
dkdns_check_reply(const unsigned char *buf, size_t len, size_t size)
{
	int rcode;

	if (len < DKDNS_HEADER || len > size)
		return -1;
	rcode = buf[3] & 0x0f;
	return rcode == ns_r_noerror || rcode == ns_r_nxdomain ? 0 : -1;
}

/* dkdns_run - ask the resolver; DKIM_DNS_SUCCESS with *len, or ERROR */
static int
dkdns_run(int type, const char *name, unsigned char *buf, size_t size,
    size_t *len)
{
	const struct rg_dkim_resolver *r = dkdns_current ? dkdns_current :
	    &dkdns_default;

	if (r->fn == NULL) {
		rg_log_debug(RG_MOD_DKIM, "dkim: no resolver set; %s not looked up",
		    name);
		return DKIM_DNS_ERROR;
	}
	if (type != ns_t_txt)
		return DKIM_DNS_ERROR;
	*len = 0;
	switch (r->fn(r->arg, name, buf, size, len)) {
	case RG_DKIM_DNS_ANSWER:
		return dkdns_check_reply(buf, *len, size) == 0 ?
		    DKIM_DNS_SUCCESS : DKIM_DNS_ERROR;
	case RG_DKIM_DNS_NXDOMAIN:
		return rg_dkim_dns_txt_answer(name, ns_r_nxdomain, NULL, 0, buf,
		    size, len) == 0 ? DKIM_DNS_SUCCESS : DKIM_DNS_ERROR;
	case RG_DKIM_DNS_NODATA:
		return rg_dkim_dns_txt_answer(name, ns_r_noerror, NULL, 0, buf,
		    size, len) == 0 ? DKIM_DNS_SUCCESS : DKIM_DNS_ERROR;
	case RG_DKIM_DNS_TEMPFAIL:
	default:
		return DKIM_DNS_ERROR;
	}
}

/* dkdns_start - libopendkim's query start: the answer is ready at once */
static int
dkdns_start(void *srv, int type, unsigned char *query, unsigned char *buf,
    size_t buflen, void **qh)
{
	struct dkdns_query *q = rg_xcalloc(1, sizeof(*q));

	(void)srv;
	q->status = dkdns_run(type, (const char *)query, buf, buflen, &q->len);
	*qh = q;
	return DKIM_DNS_SUCCESS;
}

/* dkdns_waitreply - report what dkdns_start found */
static int
dkdns_waitreply(void *srv, void *qh, struct timeval *timeout, size_t *bytes,
    int *error, int *dnssec)
{
	const struct dkdns_query *q = qh;

	(void)srv, (void)timeout;
	if (bytes != NULL)
		*bytes = q->len;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return q->status;
}

/* dkdns_cancel - libopendkim calls this for every query it started */
static int
dkdns_cancel(void *srv, void *qh)
{
	(void)srv;
	free(qh);
	return DKIM_DNS_SUCCESS;
}

/* dkdns_init - libopendkim would otherwise set up its own res_* resolver */
static int
dkdns_init(void **srv)
{
	*srv = &dkdns_service;
	return DKIM_DNS_SUCCESS;
}

/* dkdns_close - nothing to release */
static void
dkdns_close(void *srv)
{
	(void)srv;
}

/* rg_dkim_dns_install - replace every DNS hook of the library with ours */
void
rg_dkim_dns_install(DKIM_LIB *lib)
{
	(void)dkim_dns_set_query_service(lib, &dkdns_service);
	dkim_dns_set_init(lib, dkdns_init);
	dkim_dns_set_close(lib, dkdns_close);
	dkim_dns_set_query_start(lib, dkdns_start);
	dkim_dns_set_query_waitreply(lib, dkdns_waitreply);
	dkim_dns_set_query_cancel(lib, dkdns_cancel);
	dkim_dns_set_nslist(lib, NULL);
	dkim_dns_set_config(lib, NULL);
	dkim_dns_set_trustanchor(lib, NULL);
}

/*
 * rg_dkim_resolver_lookup - relayguard's resolver as libopendkim's DNS:
 * the TXT records come back decoded, so the reply packet libopendkim
 * parses is rebuilt from them (one TXT record per answer record, split
 * into 255-byte strings, which is how RFC 6376 s3.6.2.2 keys are read).
 * arg is the message's configuration snapshot (for dns_timeout), or NULL
 * for the 5-second default.
 */
enum rg_dkim_dns_result
rg_dkim_resolver_lookup(void *arg, const char *name, unsigned char *answer,
    size_t answer_size, size_t *answer_len)
{
	const struct rg_conf *conf = arg;
	struct rg_dns *dns = rg_dns_default();
	struct rg_dns_result r;
	const char *txt[RG_DNS_MAX_RRS];
	size_t n = 0;
	enum rg_dkim_dns_result rc;

	if (dns == NULL)
		return RG_DKIM_DNS_TEMPFAIL;
	memset(&r, 0, sizeof(r));
	switch (rg_dns_query(dns, name, RG_DNS_T_TXT, conf ? conf->dns.timeout : 5000,
	    &r)) {
	case RG_DNS_OK:
		for (size_t i = 0; i < r.nrrs && n < RG_DNS_MAX_RRS; i++)
			if (r.rrs[i].type == RG_DNS_T_TXT && r.rrs[i].text != NULL &&
			    strlen(r.rrs[i].text) == r.rrs[i].textlen)
				txt[n++] = r.rrs[i].text;
		rc = n == 0 ? RG_DKIM_DNS_NODATA :
		    rg_dkim_dns_txt_answer(name, 0, txt, n, answer, answer_size,
		    answer_len) == 0 ? RG_DKIM_DNS_ANSWER : RG_DKIM_DNS_TEMPFAIL;
		break;
	case RG_DNS_NXDOMAIN:
		rc = RG_DKIM_DNS_NXDOMAIN;
		break;
	case RG_DNS_NODATA:
		rc = RG_DKIM_DNS_NODATA;
		break;
	default:
		rc = RG_DKIM_DNS_TEMPFAIL;
		break;
	}
	rg_dns_result_release(&r);
	return rc;
}
