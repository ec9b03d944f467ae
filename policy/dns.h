/*
 * dns.h - the one resolver: asynchronous batches and a synchronous call
 *
 * Every DNS lookup of relayguard goes through a struct rg_dns: a backend
 * (libunbound in dns_unbound.c, a zone-file fake in dns_fake.c) behind a
 * struct of function pointers, plus the batch machinery in dns.c. One
 * handle serves the whole process; open it once at start-up, after any
 * fork and before the milter threads run, and make it reachable with
 * rg_dns_set_default().
 *
 * Batches: rg_dns_batch_new() fixes a deadline; rg_dns_batch_add() starts
 * a query at once; rg_dns_batch_wait() waits once for all of them or the
 * deadline, whichever comes first; afterwards the results are frozen (an
 * answer that arrives later is dropped and counted as late) and
 * rg_dns_batch_result() reads them without locking. A batch may outlive
 * the call that made it: start at CONNECT, wait at MAIL. Answers come in
 * on the backend's thread: each query holds a reference to its batch, so
 * rg_dns_batch_free() may run while answers are in flight; it cancels what
 * it can and the last reference frees the memory. No answer ever touches
 * freed memory.
 *
 * Ownership: batches are owned by their creator, one thread at a time (a
 * connection may move between libmilter threads, never run in two).
 * Results are owned by the batch, or by the caller of rg_dns_query().
 * Handles and the counters are thread-safe. Answers are copied and
 * bounded: RG_DNS_MAX_RRS records, RG_DNS_MAX_ANSWER bytes.
 * RFC 1035 (names, RR formats), RFC 3596 (AAAA), RFC 4033 (secure/bogus).
 */
#ifndef RG_DNS_H
#define RG_DNS_H

#include <netinet/in.h>
#include <stddef.h>

#include "buf.h"
#include "conf.h"

struct rg_conf;

/* RR types we decode (RFC 1035 s3.2.2, RFC 3596 s2.1); others stay raw */
#define RG_DNS_T_A	1
#define RG_DNS_T_NS	2
#define RG_DNS_T_CNAME	5
#define RG_DNS_T_PTR	12
#define RG_DNS_T_MX	15
#define RG_DNS_T_TXT	16
#define RG_DNS_T_AAAA	28

#define RG_DNS_MAX_RRS		64	/* records kept per answer */
#define RG_DNS_MAX_ANSWER	65535	/* rdata bytes per answer: RFC 1035 s4.2.2 */
#define RG_DNS_NAME_MAX		255	/* octets of a name: RFC 1035 s2.3.4 */
#define RG_DNS_QNAME_MAX	253	/* text of a query name, no final dot */
#define RG_DNS_LABEL_MAX	63	/* RFC 1035 s2.3.4 */
#define RG_DNS_TEXT_MAX		1024	/* a name in text, escapes included */
#define RG_DNS_BATCH_MAX	256	/* queries per batch */

enum rg_dns_status {
	RG_DNS_OK,		/* records of the type asked for */
	RG_DNS_NXDOMAIN,	/* the name does not exist */
	RG_DNS_NODATA,		/* the name exists, no record of that type */
	RG_DNS_TIMEOUT,		/* no answer by the deadline */
	RG_DNS_SERVFAIL,	/* the resolver failed (also: DNSSEC bogus) */
	RG_DNS_ERROR,		/* bad name, malformed answer, local failure */
};

/* one record, copied out of the answer */
struct rg_dns_rr {
	int type;
	unsigned char *rdata;	/* raw rdata, rdlen bytes */
	size_t rdlen;
	struct in_addr a;	/* A */
	struct in6_addr aaaa;	/* AAAA */
	unsigned pref;		/* MX preference */
	/*
	 * TXT: the character-strings of this record concatenated (may hold
	 * NUL bytes: textlen is authoritative); MX, PTR, CNAME, NS: the name
	 * in text form, no final dot, with RFC 1035 s5.1 escapes. NUL-
	 * terminated; NULL for other types.
	 */
	char *text;
	size_t textlen;
};

struct rg_dns_result {
	enum rg_dns_status status;
	int rrtype;		/* the type asked for */
	int rcode;		/* DNS RCODE when known, else -1 */
	int secure;		/* DNSSEC validated (RFC 4033 s5) */
	int bogus;		/* DNSSEC validation failed: status SERVFAIL */
	int truncated;		/* records beyond the caps were dropped */
	size_t malformed;	/* records skipped as malformed */
	unsigned ttl;
	size_t nrrs;
	struct rg_dns_rr *rrs;
	char why[160];		/* detail for logs when not OK */
};

/* counters since open, for metrics; cache hits are not reported by libunbound */
struct rg_dns_stats {
	unsigned long long queries;	/* started */
	unsigned long long answers;	/* status OK */
	unsigned long long nxdomain;
	unsigned long long nodata;
	unsigned long long timeouts;	/* not answered by a batch's deadline */
	unsigned long long servfails;
	unsigned long long errors;
	unsigned long long secure;
	unsigned long long bogus;
	unsigned long long late;	/* answers after the wait, dropped */
	unsigned long long batches;
	unsigned long long cache_hits;	/* queries answered by rg_dns's own cache */
};

/* the "dns" module's settings (relayguard.conf(5)) */
struct rg_dns_conf {
	struct rg_strlist servers;	/* addr or addr@port; empty: resolv.conf */
	long long timeout;		/* ms, per stage's batch */
	char *trust_anchor_file;	/* empty: no DNSSEC validation */
};

extern const struct rg_param rg_dns_params[];

struct rg_dns;
struct rg_dns_batch;

/*
 * rg_dns_open - the libunbound resolver configured from conf (servers,
 * DNSSEC); NULL with the reason in err. Call once, at start-up, after
 * any fork, before other threads use DNS. Free with rg_dns_close().
 */
struct rg_dns *rg_dns_open(const struct rg_conf *conf, struct rg_buf *err);
/*
 * rg_dns_close - stop answering and free the handle. Call it when no new
 * batch can be made (milter threads done, default reset to NULL).
 * Batches still alive keep what they need: their waits end, their free
 * works, and the last one releases the handle. Accepts NULL, returns NULL.
 */
struct rg_dns *rg_dns_close(struct rg_dns *dns);
/* the process-wide handle for policy modules; set at start-up */
void rg_dns_set_default(struct rg_dns *dns);
struct rg_dns *rg_dns_default(void);
const char *rg_dns_backend_name(const struct rg_dns *dns);
void rg_dns_stats_get(struct rg_dns *dns, struct rg_dns_stats *out);

/* rg_dns_batch_new - a batch whose wait ends deadline_ms from now */
struct rg_dns_batch *rg_dns_batch_new(struct rg_dns *dns,
    long long deadline_ms_from_now);
/*
 * rg_dns_batch_add - start one query; returns its index, or -1 when the
 * batch is full or already waited. An invalid name still gets an index,
 * with the result RG_DNS_ERROR.
 */
int rg_dns_batch_add(struct rg_dns_batch *b, const char *name, int rrtype);
/* rg_dns_batch_wait - wait once; returns how many queries were answered */
size_t rg_dns_batch_wait(struct rg_dns_batch *b);
/* rg_dns_batch_result - a result after the wait; NULL before it or for a bad index */
const struct rg_dns_result *rg_dns_batch_result(const struct rg_dns_batch *b,
    int index);
size_t rg_dns_batch_count(const struct rg_dns_batch *b);
/* rg_dns_batch_free - cancel what is outstanding; accepts NULL, returns NULL */
struct rg_dns_batch *rg_dns_batch_free(struct rg_dns_batch *b);

/*
 * rg_dns_query - one lookup, waiting at most timeout_ms; returns
 * out->status. The caller owns out: rg_dns_result_release().
 */
enum rg_dns_status rg_dns_query(struct rg_dns *dns, const char *name,
    int rrtype, long long timeout_ms, struct rg_dns_result *out);
void rg_dns_result_release(struct rg_dns_result *r);

const char *rg_dns_status_name(enum rg_dns_status s);
const char *rg_dns_type_name(int rrtype);
/* rg_dns_type_parse - "TXT" -> 16; -1 when unknown */
int rg_dns_type_parse(const char *name);
/* rg_dns_name_valid - a query name we send: LDH-ish labels, lengths capped */
int rg_dns_name_valid(const char *name);

/* ---- backend interface: for dns_unbound.c and dns_fake.c only ---------- */

struct rg_dns_query;	/* one query of a batch, as backends see it */

/* an answer as a backend hands it over; the data is copied at once */
struct rg_dns_answer {
	enum rg_dns_status status;
	int rcode, secure, bogus;
	unsigned ttl;
	char *const *data;	/* rdata items, NULL-terminated (ub_result style) */
	const int *len;		/* length of each item */
	const char *why;	/* detail when not OK, or NULL */
};

struct rg_dns_backend {
	const char *name;
	/*
	 * start - begin resolving; 0: done() will be called exactly once,
	 * unless cancel() succeeds (it may be called before start returns,
	 * from any thread); -1: it will not be called (why filled in).
	 * *id identifies the query for cancel.
	 */
	int (*start)(void *impl, struct rg_dns_query *q, const char *name,
	    int rrtype, int *id, char *why, size_t whysize);
	/* cancel - 0: done() will not be called; -1: it runs or has run */
	int (*cancel)(void *impl, int id);
	/* stop - after it returns no done() runs; may be NULL */
	void (*stop)(void *impl);
	void (*free)(void *impl);
};

/* rg_dns_new - wrap a backend; the handle owns impl */
struct rg_dns *rg_dns_new(const struct rg_dns_backend *be, void *impl);
/* rg_dns_query_done - a backend delivers an answer (any thread) */
void rg_dns_query_done(struct rg_dns_query *q, const struct rg_dns_answer *a);
/* rg_dns_unbound_open - the libunbound backend (dns_unbound.c) */
struct rg_dns *rg_dns_unbound_open(const struct rg_dns_conf *dc,
    struct rg_buf *err);
/*
 * rg_dns_fake_open - answers from a zone-like file (dns_fake.c):
 *   name TYPE data        A, AAAA, TXT "s" "s", MX pref name, PTR, CNAME, NS,
 *                          or any type as RFC 3597 "\# len hex"
 *   name TIMEOUT          never answered
 *   name SERVFAIL         answered SERVFAIL
 * '#' or ';' start comments. Errors name file:line. rg_dns_fake_open_text()
 * reads the same from a string (label names it in errors).
 */
struct rg_dns *rg_dns_fake_open(const char *path, struct rg_buf *err);
struct rg_dns *rg_dns_fake_open_text(const char *text, const char *label,
    struct rg_buf *err);

/*
 * The answer cache (dns_cache.c): OK, NXDOMAIN and NODATA answers with a
 * TTL, not bogus, kept for that TTL (at most an hour), bounded in count
 * and size. rg_dns_open() enables it; rg_dns_enable_cache() does so for
 * another backend. get: 1 and r filled (owned by the caller) on a hit.
 * All calls are thread-safe and accept a NULL cache.
 */
struct rg_dns_cache;
void rg_dns_enable_cache(struct rg_dns *dns);
struct rg_dns_cache *rg_dns_cache_new(void);
struct rg_dns_cache *rg_dns_cache_free(struct rg_dns_cache *c);
int rg_dns_cache_get(struct rg_dns_cache *c, const char *name, int rrtype,
    struct rg_dns_result *r);
void rg_dns_cache_put(struct rg_dns_cache *c, const char *name, int rrtype,
    const struct rg_dns_answer *a);
size_t rg_dns_cache_count(struct rg_dns_cache *c);

/* rg_dns_decode - copy an answer into r (dns_rr.c); r is released first */
void rg_dns_decode(const struct rg_dns_answer *a, int rrtype,
    struct rg_dns_result *r);

#endif
