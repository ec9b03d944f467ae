/*
 * dkim.h - DKIM verification and signing on libopendkim
 *
 * RFC 6376 (DKIM), RFC 8463 (ed25519-sha256), RFC 8301 (rsa-sha1 and RSA
 * keys under dkim_min_rsa_bits are "policy", never "pass"), RFC 8601 and
 * RFC 6008 (Authentication-Results with header.d/s/a/b).
 *
 * Verification is fed from the milter's header, eoh and body callbacks
 * (no copy of the message is kept) and reports every signature; signing
 * takes the same stream and returns DKIM-Signature values to add. Key
 * lookups go only through the resolver hook set here (libopendkim does no
 * DNS of its own): the hook returns a wire-format TXT answer.
 *
 * rg_dkim_crypto_init() first of all, rg_dkim_init() once at start-up,
 * rg_dkim_shutdown() at exit. Handles
 * (struct rg_dkim_verify, struct rg_dkim_sign) belong to one message and
 * one thread; the library handle and configuration they read are shared
 * and read-only, so different threads may run handles at the same time.
 */
#ifndef RG_DKIM_H
#define RG_DKIM_H

#include <stddef.h>

#include "buf.h"
#include "conf.h"
#include "keytable.h"

struct rg_conf;
struct rg_msg;

#define RG_DKIM_MAX_SIGNATURES	50	/* upper bound for dkim_max_signatures */
#define RG_DKIM_MAX_SIGNERS	8	/* signatures we add to one message */
#define RG_DKIM_HEADER_B_MIN	8	/* RFC 6008 s4: header.b, 8+ characters */
#define RG_DKIM_HEADER_B_MAX	96	/* longest header.b we report */

/* module "dkim" of the configuration */
struct rg_dkim_conf {
	int verify;			/* dkim_verify */
	struct rg_dkim_keylist sign;	/* dkim_sign triples */
	struct rg_keytable key_table;	/* dkim_key_table */
	struct rg_signtable signing_table;	/* dkim_signing_table */
	int canon;			/* dkim_canonicalization, RG_DKIM_C_* */
	struct rg_strlist signed_headers;	/* dkim_signed_headers */
	long long max_signatures;	/* dkim_max_signatures */
	long long min_rsa_bits;		/* dkim_min_rsa_bits */
};

/* dkim_canonicalization, in the order of its choices */
enum rg_dkim_canon {
	RG_DKIM_C_RELAXED_RELAXED,
	RG_DKIM_C_RELAXED_SIMPLE,
	RG_DKIM_C_SIMPLE_RELAXED,
	RG_DKIM_C_SIMPLE_SIMPLE,
	RG_DKIM_C_RELAXED,	/* RFC 6376 s3.5 c=: body defaults to simple */
	RG_DKIM_C_SIMPLE,
};

extern const struct rg_param rg_dkim_params[];
/* rg_dkim_conf_check - cross-checks once the whole file is read */
int rg_dkim_conf_check(struct rg_conf_ctx *cx, void *modconf);

enum rg_dkim_status {
	RG_DKIM_OK,
	RG_DKIM_NOKEY,		/* signing: no key applies to this sender */
	RG_DKIM_TEMPFAIL,	/* library out of resources, internal error */
	RG_DKIM_PERMFAIL,	/* the message cannot be signed (no From) */
	RG_DKIM_INVAL,		/* used out of order */
};

/* rg_dkim_init - create the library handle (also done on first use);
 * 0 on success, -1 when libopendkim cannot start (logged) */
int rg_dkim_init(void);
/* rg_dkim_shutdown - release it; no handle may be in use */
void rg_dkim_shutdown(void);
/*
 * rg_dkim_crypto_init - start libcrypto without its clean-up at exit; call
 * it before anything uses OpenSSL (the configuration's keys, libopendkim),
 * since the first start decides. libmilter does not wait for its threads:
 * an idle worker may end while exit() runs. Had libcrypto's exit handler
 * deleted its thread-local keys by then, that thread's error state and
 * random generator (RSA signing makes one per thread) would be lost, never
 * freed, and a thread still in a session would use freed library state.
 * Without the handler nothing is torn down under running threads; what
 * libcrypto holds at exit stays reachable. 0, or -1 if it cannot start.
 */
int rg_dkim_crypto_init(void);

/* --- DNS ---------------------------------------------------------------- */

enum rg_dkim_dns_result {
	RG_DKIM_DNS_ANSWER,	/* answer holds a whole DNS reply (RFC 1035 s4) */
	RG_DKIM_DNS_NXDOMAIN,	/* no such name; no packet needed */
	RG_DKIM_DNS_NODATA,	/* the name has no TXT record; no packet needed */
	RG_DKIM_DNS_TEMPFAIL,	/* timeout, SERVFAIL, no server */
};

/*
 * rg_dkim_txt_lookup - look up TXT records for name. For
 * RG_DKIM_DNS_ANSWER write the reply packet as received (libunbound's
 * ub_result answer_packet/answer_len) into answer (answer_size bytes, at
 * least 8k) and its length into *answer_len. A reply whose RCODE is not
 * NOERROR or NXDOMAIN counts as RG_DKIM_DNS_TEMPFAIL. name is
 * "selector._domainkey.domain" from the message's signature: any printable
 * text, to be checked by the resolver. Called from the thread running the
 * handle (at rg_dkim_verify_eom), and may block until the answer is there.
 */
typedef enum rg_dkim_dns_result (*rg_dkim_txt_lookup)(void *arg,
    const char *name, unsigned char *answer, size_t answer_size,
    size_t *answer_len);

/* rg_dkim_resolver_lookup - the lookup over relayguard's resolver; arg is
 * the message's struct rg_conf (dns_timeout) or NULL */
enum rg_dkim_dns_result rg_dkim_resolver_lookup(void *arg, const char *name,
    unsigned char *answer, size_t answer_size, size_t *answer_len);
/* rg_dkim_set_resolver - the process-wide default; set before threads run */
void rg_dkim_set_resolver(rg_dkim_txt_lookup fn, void *arg);
/*
 * rg_dkim_dns_txt_answer - build a reply packet for name: rcode (0
 * NOERROR, 3 NXDOMAIN), and one TXT record per element of txt (split into
 * 255-byte strings). For fake resolvers and tests. 0, or -1 if it does not
 * fit in size bytes or name is not a valid domain name.
 */
int rg_dkim_dns_txt_answer(const char *name, int rcode,
    const char *const *txt, size_t ntxt, unsigned char *buf, size_t size,
    size_t *len);

/* --- results ------------------------------------------------------------ */

enum rg_dkim_result {		/* RFC 8601 s2.7.1 */
	RG_DKIM_NONE,
	RG_DKIM_PASS,
	RG_DKIM_FAIL,
	RG_DKIM_NEUTRAL,
	RG_DKIM_POLICY,
	RG_DKIM_TEMPERROR,
	RG_DKIM_PERMERROR,
};

struct rg_dkim_sigresult {
	enum rg_dkim_result result;
	const char *reason;	/* static text; "" for pass */
	char domain[256];	/* d=, as written (may be empty when missing) */
	char selector[256];	/* s= */
	char algorithm[32];	/* a= */
	char b[RG_DKIM_HEADER_B_MAX + 1];	/* leading part of b= */
	unsigned keybits;	/* 0 when the key was not read */
};

struct rg_dkim_results {
	struct rg_dkim_sigresult *sig;	/* n entries, in header order */
	size_t n;
	size_t skipped;		/* signatures beyond dkim_max_signatures */
};

/* rg_dkim_results_release - free what a results struct holds */
void rg_dkim_results_release(struct rg_dkim_results *r);
const char *rg_dkim_result_name(enum rg_dkim_result r);
/*
 * rg_dkim_resinfo - one RFC 8601 resinfo, appended to out:
 * "dkim=pass header.d=example.com header.s=sel header.a=rsa-sha256
 * header.b=AbCdEfGh"; a reason="..." follows the result when it is not
 * pass. Values are quoted where RFC 8601 needs it.
 */
void rg_dkim_resinfo(const struct rg_dkim_sigresult *s, struct rg_buf *out);
/* rg_dkim_results_authres - one resinfo per signature ("dkim=none" when
 * the message had none) added to m's Authentication-Results */
void rg_dkim_results_authres(const struct rg_dkim_results *r,
    struct rg_msg *m);
/* rg_dkim_results_summary - "pass:example.com,fail:example.net" for logs */
void rg_dkim_results_summary(const struct rg_dkim_results *r,
    struct rg_buf *out);

/* --- verification --------------------------------------------------------- */

struct rg_dkim_verify;

/*
 * rg_dkim_verify_new - verification of one message, or NULL when
 * dkim_verify = no. conf must outlive the handle; id names the message
 * in logs. Caller owns the handle: rg_dkim_verify_free().
 */
struct rg_dkim_verify *rg_dkim_verify_new(const struct rg_conf *conf,
    const char *id);
/* rg_dkim_verify_set_resolver - this message's resolver (a deadline, say) */
void rg_dkim_verify_set_resolver(struct rg_dkim_verify *v,
    rg_dkim_txt_lookup fn, void *arg);
/*
 * rg_dkim_verify_leadspc - how header values arrive. 1 (the default):
 * everything after the colon as received, as libmilter passes it when
 * SMFIP_HDR_LEADSPC was negotiated. 0: the MTA removed the space after
 * the colon, and one is put back.
 */
void rg_dkim_verify_leadspc(struct rg_dkim_verify *v, int leadspc);
/*
 * rg_dkim_verify_header - one header field, in order. Folded values may
 * use LF (libmilter) or CRLF. Fields with a malformed name, beyond
 * max_headers/max_header_bytes, or DKIM-Signature fields beyond
 * dkim_max_signatures are not verified; none of this can fail.
 */
void rg_dkim_verify_header(struct rg_dkim_verify *v, const char *name,
    const char *value);
void rg_dkim_verify_eoh(struct rg_dkim_verify *v);
/* rg_dkim_verify_body - a body chunk as the MTA sends it (CRLF lines) */
void rg_dkim_verify_body(struct rg_dkim_verify *v, const void *chunk,
    size_t len);
/*
 * rg_dkim_verify_eom - look up keys and verify; one result per signature
 * into out (caller releases it with rg_dkim_results_release). RG_DKIM_OK,
 * or RG_DKIM_TEMPFAIL when the library failed (the results then say
 * temperror), or RG_DKIM_INVAL when called twice.
 */
enum rg_dkim_status rg_dkim_verify_eom(struct rg_dkim_verify *v,
    struct rg_dkim_results *out);
/* rg_dkim_verify_free - accepts NULL, returns NULL */
struct rg_dkim_verify *rg_dkim_verify_free(struct rg_dkim_verify *v);

/*
 * Public keys are kept decoded between messages (dkim_keycache.c: the
 * process supplies libopendkim's d2i_PUBKEY_bio). At most 1024 keys.
 */
struct rg_dkim_keycache_stats {
	unsigned long long hits;	/* signatures that reused a kept key */
	unsigned long long misses;	/* keys decoded */
	size_t entries;			/* keys kept now */
};
void rg_dkim_keycache_stats(struct rg_dkim_keycache_stats *st);
/* rg_dkim_keycache_clear - drop every kept key (rg_dkim_shutdown does) */
void rg_dkim_keycache_clear(void);

/* --- signing ---------------------------------------------------------------- */

struct rg_dkim_sign;

/*
 * rg_dkim_sign_new - a signer for mail whose From address is from_addr
 * ("user@example.com"; see rg_dkim_from_address), with every key the
 * signing table and dkim_sign give for it (up to RG_DKIM_MAX_SIGNERS).
 * NULL when no key applies (why stays empty) or on a library failure (why
 * says so). Which mail to sign is the caller's decision. Caller owns the
 * result: rg_dkim_sign_free().
 */
struct rg_dkim_sign *rg_dkim_sign_new(const struct rg_conf *conf,
    const char *from_addr, const char *id, struct rg_buf *why);
/* rg_dkim_sign_leadspc - as rg_dkim_verify_leadspc */
void rg_dkim_sign_leadspc(struct rg_dkim_sign *s, int leadspc);
void rg_dkim_sign_header(struct rg_dkim_sign *s, const char *name,
    const char *value);
void rg_dkim_sign_eoh(struct rg_dkim_sign *s);
void rg_dkim_sign_body(struct rg_dkim_sign *s, const void *chunk, size_t len);
/*
 * rg_dkim_sign_eom - sign; appends one DKIM-Signature value per key to out
 * (folded with LF + TAB, as libmilter wants; add each at the top of the
 * header). The value has no leading space, and the field must reach the
 * wire as "DKIM-Signature: v=1; ..." with exactly one space after the
 * colon, which is what was signed (simple header canonicalization sees
 * it): with SMFIP_HDR_LEADSPC negotiated, hand libmilter " " + value.
 * RG_DKIM_OK when every key signed, else the first failure with why
 * filled; signatures that worked are still in out.
 */
enum rg_dkim_status rg_dkim_sign_eom(struct rg_dkim_sign *s,
    struct rg_strlist *out, struct rg_buf *why);
struct rg_dkim_sign *rg_dkim_sign_free(struct rg_dkim_sign *s);
/* rg_dkim_sign_count - how many signatures the signer will make */
size_t rg_dkim_sign_count(const struct rg_dkim_sign *s);

/*
 * rg_dkim_from_address - the first address of a From header value
 * (RFC 5322 s3.6.2), as "local@domain" with the domain lowercased, into
 * addr. 0, or -1 when there is no parsable address or it does not fit.
 */
int rg_dkim_from_address(const char *from_value, char *addr, size_t size);

#endif
