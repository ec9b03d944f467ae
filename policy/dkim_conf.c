/*
 * dkim_conf.c - the "dkim" parameter table and its parsers
 *
 * Keys and tables are read while the configuration loads, so `relayguard
 * -n` names the file and line of any problem: a key file others can read,
 * a key too short for RFC 8301, a SigningTable naming a key the KeyTable
 * lacks. dkim_signed_headers becomes a regular expression inside
 * libopendkim (dkim_signhdrs), so names are limited to the characters of
 * real field names plus '*', and to what fits its 1k buffer.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "xalloc.h"

#define DKCONF_HDRS_MAX	900	/* libopendkim's 1024-byte regex, with room */

/* dkconf_parse_sign - dkim_sign triples */
static int
dkconf_parse_sign(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	struct rg_dkim_keylist *l = dst;

	memset(l, 0, sizeof(*l));
	return rg_dkim_keylist_parse(cx, p->name, value, l);
}

/* dkconf_free_sign - release dkim_sign keys */
static void
dkconf_free_sign(void *dst)
{
	rg_dkim_keylist_release(dst);
}

/* dkconf_parse_keytable - dkim_key_table: read the file and its keys */
static int
dkconf_parse_keytable(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	return rg_keytable_parse(cx, p->name, value, dst);
}

/* dkconf_free_keytable - release dkim_key_table */
static void
dkconf_free_keytable(void *dst)
{
	rg_keytable_release(dst);
}

/* dkconf_parse_signtable - dkim_signing_table: read the file */
static int
dkconf_parse_signtable(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	return rg_signtable_parse(cx, p->name, value, dst);
}

/* dkconf_free_signtable - release dkim_signing_table */
static void
dkconf_free_signtable(void *dst)
{
	rg_signtable_release(dst);
}

struct dkconf_hdrs {
	const struct rg_param *p;
	struct rg_strlist *l;
	size_t regex_len;
};

/* dkconf_hdr_item - one field name: letters, digits, '-', '_', '.', '*' */
static int
dkconf_hdr_item(struct rg_conf_ctx *cx, const char *item, const char *file,
    int line, void *arg)
{
	struct dkconf_hdrs *h = arg;
	char *name;

	for (const char *c = item; *c; c++)
		if (!isalnum((unsigned char)*c) && strchr("-_.*", *c) == NULL) {
			rg_conf_error(cx, file, line, "%s: \"%s\" is not a header "
			    "field name", h->p->name, item);
			return -1;
		}
	/* in the regex each character may double ("." to "\.", "*" to ".*") */
	h->regex_len += 2 * strlen(item) + 1;
	if (h->regex_len > DKCONF_HDRS_MAX) {
		rg_conf_error(cx, file, line, "%s: list too long", h->p->name);
		return -1;
	}
	name = rg_xstrdup(item);
	for (char *c = name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (rg_strlist_contains(h->l, name)) {
		free(name);
		return 0;
	}
	h->l->v = rg_xreallocarray(h->l->v, h->l->n + 1, sizeof(char *));
	h->l->v[h->l->n++] = name;
	return 0;
}

/* dkconf_parse_hdrs - dkim_signed_headers: a list of field names */
static int
dkconf_parse_hdrs(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	struct dkconf_hdrs h = { p, dst, 0 };

	memset(dst, 0, sizeof(struct rg_strlist));
	return rg_conf_foreach_item(cx, value, dkconf_hdr_item, &h);
}

/* dkconf_free_hdrs - release dkim_signed_headers */
static void
dkconf_free_hdrs(void *dst)
{
	rg_strlist_free(dst);
}

static const struct rg_ptype_ops dkconf_sign_ops = {
	dkconf_parse_sign, dkconf_free_sign,
};
static const struct rg_ptype_ops dkconf_keytable_ops = {
	dkconf_parse_keytable, dkconf_free_keytable,
};
static const struct rg_ptype_ops dkconf_signtable_ops = {
	dkconf_parse_signtable, dkconf_free_signtable,
};
static const struct rg_ptype_ops dkconf_hdrs_ops = {
	dkconf_parse_hdrs, dkconf_free_hdrs,
};

#define DKIM_F(f) offsetof(struct rg_dkim_conf, f)

const struct rg_param rg_dkim_params[] = {
	RG_P_BOOL("dkim_verify", "yes", DKIM_F(verify), 0,
	    "verify DKIM signatures of incoming mail and report each in Authentication-Results"),
	RG_P_CUSTOM("dkim_sign", "", &dkconf_sign_ops, DKIM_F(sign), 0,
	    "signing keys as \"domain selector /path/to/key\" triples separated by commas; file:/path reads one per line"),
	RG_P_CUSTOM("dkim_key_table", "", &dkconf_keytable_ops, DKIM_F(key_table), 0,
	    "OpenDKIM KeyTable file: \"keyname domain:selector:/path/to/key\" per line"),
	RG_P_CUSTOM("dkim_signing_table", "", &dkconf_signtable_ops,
	    DKIM_F(signing_table), 0,
	    "OpenDKIM SigningTable file from From addresses to KeyTable key names; refile:/path for wildcard patterns"),
	RG_P_ENUM("dkim_canonicalization", "relaxed/relaxed",
	    "relaxed/relaxed|relaxed/simple|simple/relaxed|simple/simple|relaxed|simple",
	    DKIM_F(canon), 0, "header/body canonicalization of the signatures we make"),
	RG_P_CUSTOM("dkim_signed_headers",
	    "from, sender, reply-to, subject, date, message-id, to, cc, in-reply-to, references, mime-version, content-type, content-transfer-encoding, list-*",
	    &dkconf_hdrs_ops, DKIM_F(signed_headers), 0,
	    "header fields our signatures cover when present (* is a wildcard); From is always signed, and oversigned"),
	RG_P_INT("dkim_max_signatures", "5", 1, RG_DKIM_MAX_SIGNATURES,
	    DKIM_F(max_signatures), 0,
	    "DKIM-Signature fields verified per message, from the top; later ones are not verified"),
	RG_P_INT("dkim_min_rsa_bits", "1024", 512, 16384, DKIM_F(min_rsa_bits), 0,
	    "a signature that verifies with a shorter RSA key gives dkim=policy (RFC 8301)"),
	RG_P_END
};

/* rg_dkim_conf_check - SigningTable names resolved against the KeyTable */
int
rg_dkim_conf_check(struct rg_conf_ctx *cx, void *modconf)
{
	struct rg_dkim_conf *dc = modconf;

	if (dc->key_table.path != NULL && dc->signing_table.path == NULL)
		rg_conf_warn(cx, dc->key_table.path, 1, "dkim_key_table is set but "
		    "no dkim_signing_table names its keys; they sign nothing");
	return rg_signtable_resolve(cx, &dc->signing_table, &dc->key_table);
}
