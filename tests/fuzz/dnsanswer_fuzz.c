/*
 * dnsanswer_fuzz.c - libFuzzer target for what comes back from DNS: the
 * rdata decoder (dns_rr.c: A, AAAA, TXT character-strings, MX, and the
 * names of PTR, CNAME and NS) and the DNSBL, DNSWL and SURBL code that
 * reads the answers (dnsbl.c, surbl.c)
 *
 * A resolver backend of its own answers every query at once from the
 * input, through rg_dns_query_done() as libunbound's answers go: per
 * query a status byte (status, DNSSEC bits, or "could not start"), a
 * record count, and each record as a length byte and rdata (length 255:
 * two more bytes of length). When the input runs out, queries get
 * NXDOMAIN. The first byte picks one of the configurations and the
 * client's address. One connection asks the DNSBLs and decides; one
 * message with fixed links asks the SURBLs; a DKIM key lookup turns TXT
 * answers into the reply packet libopendkim parses (dkim_dns.c); then
 * single queries of every decoded type. Invariants: results within
 * RG_DNS_MAX_RRS and RG_DNS_MAX_ANSWER, decoded names printable, TXT no
 * longer than its rdata, a reply packet that walks to its exact length,
 * and no listing, reply or added header out of order.
 */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "dkim.h"
#include "dns.h"
#include "dnsbl.h"
#include "msgscan.h"
#include "session.h"
#include "settings.h"
#include "surbl.h"
#include "verdict.h"
#include "fuzzutil.h"

#define DA_RRS_MAX	80	/* a little over RG_DNS_MAX_RRS, to cross it */

static const unsigned char *da_p;	/* what is left of the input */
static size_t da_n;
static int da_next_id;
static struct rg_conf *da_conf[4];
static struct rg_dns *da_dns;

/* da_byte - the next input byte, or 0 once it ran out */
static unsigned
da_byte(void)
{
	if (da_n == 0)
		return 0;
	da_n--;
	return *da_p++;
}

/* da_start - answer the query at once from the input */
static int
da_start(void *impl, struct rg_dns_query *q, const char *name, int rrtype,
    int *id, char *why, size_t whysize)
{
	static const enum rg_dns_status st[] = { RG_DNS_OK, RG_DNS_OK, RG_DNS_OK,
	    RG_DNS_NXDOMAIN, RG_DNS_NODATA, RG_DNS_SERVFAIL, RG_DNS_TIMEOUT,
	    RG_DNS_ERROR };
	char *items[DA_RRS_MAX + 1], text[64];
	int lens[DA_RRS_MAX];
	struct rg_dns_answer a;
	unsigned s = da_n ? da_byte() : 3, n = da_byte() % DA_RRS_MAX;

	(void)impl, (void)name, (void)rrtype;
	if ((s & 0x1f) == 0x1f) {
		snprintf(why, whysize, "not started");
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.status = st[s & 7];
	a.rcode = (int)(s >> 3 & 3) - 1;
	a.secure = (s & 0x20) != 0;
	a.bogus = (s & 0x40) != 0;
	a.ttl = 300;
	for (unsigned i = 0; i < n; i++) {
		size_t len = da_byte();

		if (len == 255) {
			len = da_byte() << 8;
			len |= da_byte();
		}
		if (len > da_n)
			len = da_n;
		items[i] = (char *)da_p;	/* read-only: the decoder copies */
		lens[i] = (s & 0x80) && i == 0 ? -1 : (int)len;
		da_p += len, da_n -= len;
	}
	items[n] = NULL;
	a.data = items;
	a.len = lens;
	/* a few input bytes as the detail text, control bytes and all */
	memcpy(text, da_p, da_n < sizeof(text) - 1 ? da_n : sizeof(text) - 1);
	text[da_n < sizeof(text) - 1 ? da_n : sizeof(text) - 1] = '\0';
	a.why = a.status == RG_DNS_OK ? NULL : text;
	*id = ++da_next_id;
	rg_dns_query_done(q, &a);
	return 0;
}

/* da_cancel - every answer has been given already */
static int
da_cancel(void *impl, int id)
{
	(void)impl, (void)id;
	return -1;
}

static void
da_free(void *impl)
{
	(void)impl;
}

static const struct rg_dns_backend da_backend = {
	.name = "fuzz",
	.start = da_start,
	.cancel = da_cancel,
	.stop = NULL,
	.free = da_free,
};

static void
da_setup(void)
{
	static int impl;

	rg_log_set_level(RG_LOG_DEBUG);
	da_dns = rg_dns_new(&da_backend, &impl);
	rg_dns_set_default(da_dns);
	da_conf[0] = fuzz_conf("dns_timeout = 100ms\n"
	    "dnsbl_sites = zen.test=127.0.0.[2..11]*3, bl.test, hi.test*2\n"
	    "dnswl_sites = wl.test=127.0.[0..255].[1;2;3..5]*10\n"
	    "dnsbl_threshold = 3\n"
	    "surbl_sites = multi.surbl.test&0x58, black.uribl.test=127.0.0.[2..14]\n");
	da_conf[1] = fuzz_conf("dns_timeout = 100ms\n"
	    "dnsbl_sites = zen.test\ndnsbl_action = tag\n"
	    "surbl_sites = dbl.test\nsurbl_action = tag\n");
	da_conf[2] = fuzz_conf("dns_timeout = 100ms\n"
	    "dnsbl_sites = zen.test*2, bl.test*2\ndnsbl_threshold = 2\n"
	    "dnsbl_action = tempfail\n"
	    "surbl_sites = a.test, b.test=127.0.0.2, c.test&0x02\n"
	    "surbl_action = tempfail\n");
	da_conf[3] = fuzz_conf("dns_timeout = 100ms\n");
}

/* da_check_result - a decoded answer within its caps */
static void
da_check_result(const struct rg_dns_result *r, int rrtype)
{
	size_t bytes = 0;

	FUZZ_CHECK(r->nrrs <= RG_DNS_MAX_RRS, "%zu records", r->nrrs);
	FUZZ_CHECK(r->status != RG_DNS_OK || r->nrrs > 0, "OK without records");
	fuzz_check_printable("why", r->why);
	for (size_t i = 0; i < r->nrrs; i++) {
		const struct rg_dns_rr *rr = &r->rrs[i];

		bytes += rr->rdlen;
		FUZZ_CHECK(rr->type == rrtype, "record of type %d", rr->type);
		if (rrtype == RG_DNS_T_TXT)
			FUZZ_CHECK(rr->text != NULL && rr->textlen < rr->rdlen &&
			    rr->text[rr->textlen] == '\0', "TXT of %zu bytes from %zu",
			    rr->textlen, rr->rdlen);
		if (rrtype == RG_DNS_T_MX || rrtype == RG_DNS_T_PTR ||
		    rrtype == RG_DNS_T_CNAME || rrtype == RG_DNS_T_NS) {
			FUZZ_CHECK(rr->text != NULL && strlen(rr->text) == rr->textlen &&
			    rr->textlen < RG_DNS_TEXT_MAX, "name not decoded");
			for (const char *p = rr->text; *p; p++)
				FUZZ_CHECK(*p > 0x20 && *p < 0x7f, "name \"%s\"", rr->text);
		}
	}
	FUZZ_CHECK(bytes <= RG_DNS_MAX_ANSWER, "%zu rdata bytes", bytes);
}

/* da_check_verdict - decided by the check that ran, fit for the MTA */
static void
da_check_verdict(const struct rg_verdict *v, const char *check)
{
	if (v->action == RG_ACT_REJECT || v->action == RG_ACT_TEMPFAIL)
		FUZZ_CHECK(strcmp(v->check, check) == 0, "%s decided by \"%s\"",
		    check, v->check);
	fuzz_check_reply(v);
}

/* da_dnsbl - a connection from the client, decided at MAIL */
static struct rg_conn *
da_dnsbl(struct rg_conf *cf, unsigned pick)
{
	static const char *const clients[] = { "192.0.2.7", "2001:db8::1",
	    "::ffff:192.0.2.8", "127.0.0.2" };
	const char *ip = clients[pick & 3];
	struct sockaddr_storage ss;
	struct rg_verdict v;
	struct rg_conn *c;

	atomic_fetch_add(&cf->refs, 1);	/* rg_conn_new takes one */
	c = rg_conn_new(cf, 1);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	rg_conn_set_client(c, "client.test", (struct sockaddr *)&ss);
	rg_verdict_init(&v);
	rg_dnsbl_start(c);
	rg_msg_begin(c);
	rg_dnsbl_decide(c, (pick & 4) != 0, &v);
	if (v.action == RG_ACT_REJECT || v.action == RG_ACT_TEMPFAIL)
		FUZZ_CHECK(!(pick & 4) && !rg_dnsbl_allowlisted(c),
		    "a trusted or allowlisted client blocked");
	rg_dnsbl_eom(c, &v);
	da_check_verdict(&v, "dnsbl");
	if (rg_dnsbl_summary(c) != NULL)
		fuzz_check_printable("summary", rg_dnsbl_summary(c));
	rg_verdict_clear(&v);
	return c;
}

/* da_surbl - a message whose links are asked at end of message */
static void
da_surbl(struct rg_conn *c)
{
	static const char body[] =
	    "<p><a href=\"http://click.spam-example.com/x\">a</a>"
	    " <a href=\"https://www.example.org/\">b</a>"
	    " http://192.0.2.99/path and http://[2001:db8::7]/v6"
	    " www.other-example.net</p>\n";
	struct rg_verdict v;

	rg_msg_add_header(c, "From", "a@example.org");
	rg_msg_add_header(c, "Content-Type", "text/html; charset=utf-8");
	rg_msg_add_body(c, body, sizeof(body) - 1);
	rg_msgscan_end(c->msg->scan);
	rg_verdict_init(&v);
	rg_surbl_eom(c, 0, &v);
	da_check_verdict(&v, "surbl");
	rg_verdict_clear(&v);
}

/* da_packet_name - the length of the name at off (a pointer ends it), or 0 */
static size_t
da_packet_name(const unsigned char *p, size_t len, size_t off)
{
	size_t start = off;

	while (off < len) {
		if ((p[off] & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 - start : 0;
		if (p[off] == 0)
			return off + 1 - start;
		if (p[off] > 63)
			return 0;
		off += 1 + p[off];
	}
	return 0;
}

/* da_dkim - the DKIM key lookup: a reply packet that walks to its length */
static void
da_dkim(void)
{
	unsigned char buf[8192];
	size_t len = 0, off = 12, n;
	unsigned ancount;

	if (rg_dkim_resolver_lookup(NULL, "sel._domainkey.example.org", buf,
	    sizeof(buf), &len) != RG_DKIM_DNS_ANSWER)
		return;
	FUZZ_CHECK(len >= 12 && len <= sizeof(buf), "reply of %zu bytes", len);
	ancount = (unsigned)buf[6] << 8 | buf[7];
	FUZZ_CHECK(ancount > 0, "an answer without records");
	FUZZ_CHECK((n = da_packet_name(buf, len, off)) > 0, "bad question name");
	off += n + 4;
	for (unsigned i = 0; i < ancount; i++) {
		size_t rdlen, end;

		FUZZ_CHECK((n = da_packet_name(buf, len, off)) > 0 &&
		    off + n + 10 <= len, "record %u: bad owner", i);
		off += n + 10;
		rdlen = (size_t)buf[off - 2] << 8 | buf[off - 1];
		end = off + rdlen;
		FUZZ_CHECK(end <= len, "record %u: rdata past the end", i);
		while (off < end)
			off += 1 + buf[off];
		FUZZ_CHECK(off == end, "record %u: strings do not fill rdata", i);
	}
	FUZZ_CHECK(off == len, "%zu bytes of %zu walked", off, len);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const int types[] = { RG_DNS_T_A, RG_DNS_T_AAAA, RG_DNS_T_TXT,
	    RG_DNS_T_MX, RG_DNS_T_PTR, RG_DNS_T_CNAME, RG_DNS_T_NS, 6 };
	struct rg_dns_result r;
	struct rg_conn *c;
	unsigned pick;

	if (da_dns == NULL)
		da_setup();
	if (size == 0)
		return 0;
	pick = data[0];
	da_p = data + 1, da_n = size - 1;
	c = da_dnsbl(da_conf[pick >> 6], pick);
	da_surbl(c);
	rg_conn_free(c);
	da_dkim();
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]) && da_n > 0; i++) {
		rg_dns_query(da_dns, "x.test", types[i], 100, &r);
		da_check_result(&r, types[i]);
		rg_dns_result_release(&r);
	}
	return 0;
}
