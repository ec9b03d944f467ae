/*
 * dkimcheck.c - a DKIM selector's key record (see dnscheck.h)
 *
 * The record at <selector>._domainkey.<domain> (RFC 6376 s3.6.2.1) is a
 * tag list (s3.2): v=DKIM1 first when present, k= the key type (rsa by
 * default, ed25519 per RFC 8463), p= the base64 key, empty when revoked
 * (s3.6.1), t=y for testing. RSA keys are SubjectPublicKeyInfo (s3.6.1;
 * some publish a bare RSAPublicKey, which verifiers also take), parsed
 * with d2i_PUBKEY and sized with EVP_PKEY_bits; ed25519 keys are the
 * raw 32 bytes. RFC 8301 s3.2: verifiers must refuse RSA keys under 1024
 * bits (a failure here), signers should use 2048 (a warning).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dnscheck.h"
#include "../../policy/dns.h"
#include "../../policy/strutil.h"
#include "../../policy/xalloc.h"

#define DKIM_TAGS_MAX		64	/* tags of one record we look at */
#define DKIM_ED25519_LEN	32	/* RFC 8032 s5.1.5: public key octets */

/* base64_value - the 6-bit value of c (RFC 4648 s4), or -1 */
static int
base64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* rg_audit_base64 - decode, skipping FWS (RFC 6376 s3.6.1 allows it in p=) */
int
rg_audit_base64(const char *in, size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char *o = rg_xmalloc(len / 4 * 3 + 3);
	unsigned long acc = 0;
	size_t n = 0, bits = 0, pad = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i], v;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = base64_value(c)) < 0)
			goto bad;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	/* leftover bits must be padding zeros; at most "==" */
	if (pad > 2 || bits >= 6 || acc != 0)
		goto bad;
	*out = o;
	*outlen = n;
	return 0;
bad:
	free(o);
	return -1;
}

/* dkim_rsa - an RSA key's size; 0 when it does not parse */
static int
dkim_rsa(const unsigned char *der, size_t len, char *other, size_t size)
{
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);
	int bits = 0;

	if (k == NULL) {
		p = der;
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	}
	ERR_clear_error();
	if (k == NULL)
		return 0;
	if (EVP_PKEY_base_id(k) == EVP_PKEY_RSA)
		bits = EVP_PKEY_bits(k);
	else
		snprintf(other, size, "%s", OBJ_nid2sn(EVP_PKEY_base_id(k)));
	EVP_PKEY_free(k);
	return bits;
}

/* dkim_ed25519 - a raw ed25519 public key is valid */
static int
dkim_ed25519(const unsigned char *raw, size_t len)
{
	EVP_PKEY *k;

	if (len != DKIM_ED25519_LEN)
		return 0;
	k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, len);
	ERR_clear_error();
	if (k == NULL)
		return 0;
	EVP_PKEY_free(k);
	return 1;
}

/* dkim_judge_key - decode p= for key type k and judge its size */
static void
dkim_judge_key(const char *k, const char *p, struct rg_audit_dkim *r)
{
	unsigned char *der = NULL;
	size_t len = 0;
	char other[64] = "";

	if (rg_audit_base64(p, strlen(p), &der, &len) < 0) {
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "p= is not valid base64");
		return;
	}
	if (strcasecmp(k, "ed25519") == 0) {
		if (dkim_ed25519(der, len)) {
			r->key_type = rg_xstrdup("ed25519");
			r->bits = 256;
			rg_audit_note(&r->notes, RG_AUDIT_OK, "ed25519 key (RFC 8463)");
		} else {
			rg_audit_note(&r->notes, RG_AUDIT_FAIL, "k=ed25519 but p= is not "
			    "a 32-byte ed25519 key");
		}
	} else if ((r->bits = dkim_rsa(der, len, other, sizeof(other))) > 0) {
		r->key_type = rg_xstrdup("rsa");
		if (r->bits < RG_AUDIT_DKIM_MIN_BITS)
			rg_audit_note(&r->notes, RG_AUDIT_FAIL, "RSA key of %d bits: "
			    "verifiers must refuse keys under %d bits (RFC 8301 s3.2)",
			    r->bits, RG_AUDIT_DKIM_MIN_BITS);
		else if (r->bits < RG_AUDIT_DKIM_GOOD_BITS)
			rg_audit_note(&r->notes, RG_AUDIT_WARN, "RSA key of %d bits: "
			    "use %d or more (RFC 8301 s3.2)", r->bits,
			    RG_AUDIT_DKIM_GOOD_BITS);
		else
			rg_audit_note(&r->notes, RG_AUDIT_OK, "RSA key of %d bits", r->bits);
	} else {
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "p= is not an RSA public "
		    "key%s%s", other[0] ? ": it is " : "", other);
	}
	free(der);
}

/* rg_audit_dkim_key - one key record: tags, then the key */
void
rg_audit_dkim_key(const char *record, size_t len, struct rg_audit_dkim *r)
{
	char *copy, *save = NULL, *tag, *k = NULL, *p = NULL;
	int n = 0;

	if (strlen(record) != len) {
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "the key record holds a NUL byte");
		return;
	}
	copy = rg_xstrdup(record);
	for (tag = strtok_r(copy, ";", &save); tag != NULL && n < DKIM_TAGS_MAX;
	    tag = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(tag, '='), *name, *v;

		if (eq == NULL)
			continue;
		*eq = '\0';
		name = rg_str_trim(tag);
		v = rg_str_trim(eq + 1);
		if (strcmp(name, "v") == 0 && (n > 0 || strcmp(v, "DKIM1") != 0)) {
			rg_audit_note(&r->notes, RG_AUDIT_FAIL, "v= must be the first tag "
			    "and DKIM1 (RFC 6376 s3.6.1)");
			free(copy);
			return;
		}
		n++;
		if (strcmp(name, "k") == 0)
			k = v;
		else if (strcmp(name, "p") == 0)
			p = v;
		else if (strcmp(name, "t") == 0)
			r->testing = strchr(v, 'y') != NULL;
	}
	if (p == NULL)
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "the key record has no p= tag");
	else if (p[0] == '\0')
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "the key is revoked (empty p=)");
	else if (k != NULL && strcasecmp(k, "rsa") != 0 && strcasecmp(k, "ed25519") != 0)
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "unknown key type k=%s", k);
	else
		dkim_judge_key(k ? k : "rsa", p, r);
	if (r->testing)
		rg_audit_note(&r->notes, RG_AUDIT_WARN, "t=y: the domain is testing "
		    "DKIM; verifiers may treat failures as unsigned");
	free(copy);
}

/* dkim_is_key - a TXT string that looks like a key record */
static int
dkim_is_key(const char *t)
{
	while (isspace((unsigned char)*t))
		t++;
	return strncmp(t, "v=DKIM1", 7) == 0 || strstr(t, "p=") != NULL;
}

/* rg_audit_dkim_check - look up one selector and judge its key */
void
rg_audit_dkim_check(struct rg_dns *dns, long long timeout_ms, const char *domain,
    const char *selector, struct rg_audit_dkim *r)
{
	struct rg_dns_result res;
	enum rg_dns_status st;
	char name[RG_DNS_TEXT_MAX];
	size_t keys = 0, first = 0;

	memset(r, 0, sizeof(*r));
	r->selector = rg_xstrdup(selector);
	snprintf(name, sizeof(name), "%s._domainkey.%s", selector, domain);
	r->name = rg_xstrdup(name);
	memset(&res, 0, sizeof(res));
	st = rg_dns_query(dns, name, RG_DNS_T_TXT, timeout_ms, &res);
	for (size_t i = 0; st == RG_DNS_OK && i < res.nrrs; i++)
		if (res.rrs[i].text != NULL && dkim_is_key(res.rrs[i].text) && keys++ == 0)
			first = i;
	if (st == RG_DNS_OK && keys > 0) {
		if (keys > 1)
			rg_audit_note(&r->notes, RG_AUDIT_WARN, "%zu key records at %s: "
			    "verifiers may pick any (RFC 6376 s3.6.2.2)", keys, name);
		rg_audit_dkim_key(res.rrs[first].text, res.rrs[first].textlen, r);
	} else if (st == RG_DNS_OK || st == RG_DNS_NXDOMAIN || st == RG_DNS_NODATA) {
		rg_audit_note(&r->notes, RG_AUDIT_FAIL, "selector %s does not resolve: "
		    "no key record at %s", selector, name);
	} else {
		rg_audit_note(&r->notes, RG_AUDIT_ERROR, "TXT %s: %s%s%s", name,
		    rg_dns_status_name(st), res.why[0] ? ": " : "", res.why);
	}
	rg_dns_result_release(&res);
}

/* rg_audit_dkim_print - one selector's object */
void
rg_audit_dkim_print(struct rg_audit_out *o, const struct rg_audit_dkim *r)
{
	char title[300];

	snprintf(title, sizeof(title), "DKIM selector %s", r->selector);
	rg_audit_out_begin(o, NULL, title);
	rg_audit_out_str(o, "selector", NULL, r->selector);
	rg_audit_out_str(o, "name", NULL, r->name);
	rg_audit_out_bool(o, "usable", NULL, r->key_type != NULL &&
	    rg_audit_notes_count(&r->notes, RG_AUDIT_FAIL) == 0);
	rg_audit_out_str(o, "key_type", NULL, r->key_type);
	rg_audit_out_int(o, "bits", NULL, r->bits);
	rg_audit_out_bool(o, "testing", NULL, r->testing);
	rg_audit_out_notes(o, &r->notes);
	rg_audit_out_end(o);
}

/* rg_audit_dkim_release - free what a check holds */
void
rg_audit_dkim_release(struct rg_audit_dkim *r)
{
	free(r->selector);
	free(r->name);
	free(r->key_type);
	rg_audit_notes_release(&r->notes);
	memset(r, 0, sizeof(*r));
}
