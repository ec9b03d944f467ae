/*
 * keytable.h - DKIM signing keys and the tables that choose them
 *
 * Three ways to name signing keys, all read when the configuration loads
 * (and again at each reload), so a bad key or table stops `relayguard -n`
 * with file:line instead of failing on a message:
 *   dkim_sign           "domain selector /path/key, ..." triples
 *   dkim_key_table      OpenDKIM KeyTable: "name domain:selector:/path/key"
 *   dkim_signing_table  OpenDKIM SigningTable: "pattern name[,name...]
 *                       [signer]"; "refile:" makes patterns wildcards
 * A key file must not be accessible by others (group-readable is fine). It
 * may hold an RSA key (PEM, PKCS#1 or PKCS#8), an Ed25519 key (PEM PKCS#8,
 * RFC 8410) or an Ed25519 seed as bare base64 (what dkimpy's dknewkey
 * writes); every key is kept as PKCS#8 PEM, the form libopendkim reads.
 *
 * Everything here belongs to one configuration snapshot: built once,
 * read-only afterwards, so any thread may read it. The private key text is
 * wiped when the snapshot is freed.
 */
#ifndef RG_KEYTABLE_H
#define RG_KEYTABLE_H

#include <stddef.h>

#include "buf.h"

struct rg_conf_ctx;

/* RFC 8301 s3.2: signers MUST use RSA keys of at least 1024 bits */
#define RG_DKIM_SIGN_MIN_RSA_BITS	1024
/* largest key file we read (an 8192-bit RSA PEM is about 6.5k) */
#define RG_DKIM_KEYFILE_MAX		(64 * 1024)

enum rg_dkim_keytype {
	RG_DKIM_KEY_RSA,
	RG_DKIM_KEY_ED25519,	/* RFC 8463 */
};

struct rg_dkim_key {
	char *name;		/* KeyTable key name; NULL for dkim_sign */
	char *domain;		/* d=; "%" means the From domain */
	char *selector;		/* s= */
	char *path;		/* the key file */
	char *pem;		/* private key, PKCS#8 PEM, NUL-terminated */
	enum rg_dkim_keytype type;
	unsigned bits;		/* RSA modulus bits; 256 for Ed25519 */
};

struct rg_dkim_keylist {
	struct rg_dkim_key *v;
	size_t n;
};

struct rg_keytable {
	char *path;		/* NULL when not configured */
	struct rg_dkim_keylist keys;
};

struct rg_signtable_entry {
	char *pattern;		/* address, domain, ".domain", "user@*", "*" */
	char **names;		/* key names, as written */
	size_t *keys;		/* the same keys as indices into the KeyTable */
	size_t nkeys;
	char *signer;		/* i= ("%" is the From domain), or NULL */
	int line;		/* where it was written in path */
};

struct rg_signtable {
	char *path;		/* NULL when not configured */
	int wildcard;		/* "refile:": patterns with '*', in file order */
	struct rg_signtable_entry *v;
	size_t n;
};

/*
 * rg_dkim_key_load - read k->path into k->pem, k->type and k->bits. The
 * file must be a regular file not accessible by others. On failure
 * returns -1 and says why in why (which names the file).
 */
int rg_dkim_key_load(struct rg_dkim_key *k, struct rg_buf *why);
/* rg_dkim_key_release - free what a key holds, wiping the private key */
void rg_dkim_key_release(struct rg_dkim_key *k);
/*
 * rg_dkim_key_record - the DNS TXT record that publishes the public half:
 * "v=DKIM1; k=rsa; p=..." (RFC 6376 s3.6.1) or "v=DKIM1; k=ed25519; p=..."
 * (RFC 8463 s4). Appends to out; -1 if the key cannot be read back.
 */
int rg_dkim_key_record(const struct rg_dkim_key *k, struct rg_buf *out);

/*
 * Parsers for the three parameters; each reports errors through cx with
 * the file and line they come from and returns -1 after the first one.
 * rg_dkim_keylist_parse also accepts "file:/path" elements, one triple
 * per line. Table paths must be absolute.
 */
int rg_dkim_keylist_parse(struct rg_conf_ctx *cx, const char *param,
    const char *value, struct rg_dkim_keylist *out);
int rg_keytable_parse(struct rg_conf_ctx *cx, const char *param,
    const char *value, struct rg_keytable *out);
int rg_signtable_parse(struct rg_conf_ctx *cx, const char *param,
    const char *value, struct rg_signtable *out);
/* rg_signtable_resolve - turn key names into KeyTable indices (-1: unknown) */
int rg_signtable_resolve(struct rg_conf_ctx *cx, struct rg_signtable *st,
    const struct rg_keytable *kt);

void rg_dkim_keylist_release(struct rg_dkim_keylist *l);
void rg_keytable_release(struct rg_keytable *t);
void rg_signtable_release(struct rg_signtable *t);

/*
 * rg_signtable_lookup - the entry for a From address ("user@domain"), or
 * NULL. Wildcard tables: the first pattern that matches. Others, as
 * OpenDKIM: user@host, host, user@.parent and .parent for each parent
 * domain in turn, user@*, then *. Matching ignores case.
 */
const struct rg_signtable_entry *rg_signtable_lookup(
    const struct rg_signtable *t, const char *addr);
/* rg_dkim_domain_ok - a usable d= value: host name characters, 1..253 */
int rg_dkim_domain_ok(const char *domain);
/* rg_wildmat - '*' matches any run of characters; case is ignored */
int rg_wildmat(const char *pattern, const char *s);

#endif
