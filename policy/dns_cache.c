/*
 * dns_cache.c - answers kept in the process, in front of the backend
 *
 * libunbound caches as well, but asking it costs a hand-off to its worker
 * thread and back through the resolver thread (pipe writes and reads,
 * polls, fcntl calls and two wake-ups: about thirty system calls a
 * query, ten queries a message with every check on). An answer found
 * here is decoded in the asking thread at once, as if the backend had
 * just delivered it.
 *
 * Kept: OK, NXDOMAIN and NODATA answers that carry a TTL and are not
 * bogus, with at most DNSC_DATA_MAX bytes of rdata, for their TTL as the
 * backend gave it (libunbound counts it down in its own cache) and at
 * most DNSC_TTL_MAX. At most DNSC_MAX entries and DNSC_BYTES_MAX bytes
 * (so that big TXT answers of hostile domains cannot take more), in
 * DNSC_BUCKETS chains
 * keyed by SipHash of the lower-cased name under a random key: a full
 * table first drops the expired entries of the chain, then the chain's
 * oldest; when that is not room enough (an empty chain, a big answer),
 * the next chains in turn, up to DNSC_PRUNE_SCAN of them, so a new answer
 * is kept. One rwlock:
 * hits read in parallel, and the TTL seen is the time left.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "siphash.h"
#include "xalloc.h"

#define DNSC_BUCKETS	4096
#define DNSC_MAX	16384		/* entries */
#define DNSC_DATA_MAX	4096		/* rdata bytes of one answer */
#define DNSC_ITEMS_MAX	RG_DNS_MAX_RRS
#define DNSC_TTL_MAX	3600		/* seconds */
#define DNSC_BYTES_MAX	(8u << 20)	/* all entries, allocations counted */
#define DNSC_PRUNE_SCAN	64		/* chains looked at to make room */

struct dnsc_entry {
	struct dnsc_entry *next;
	uint64_t hash;
	long long expires;		/* CLOCK_MONOTONIC seconds */
	int rrtype, rcode, secure;
	enum rg_dns_status status;
	size_t nitems;
	size_t size;			/* of the one allocation */
	char *name;			/* lower case, in the same allocation */
	char **items;			/* NULL-terminated, as in an answer */
	int *lens;
};

struct rg_dns_cache {
	pthread_rwlock_t lock;
	unsigned char key[RG_SIPHASH_KEY_LEN];
	size_t n;
	size_t bytes;			/* sum of the entries' size */
	struct dnsc_entry *bucket[DNSC_BUCKETS];
};

/* dnsc_now - monotonic seconds */
static long long
dnsc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/* dnsc_lower - name in lower case into buf; 0, or -1 when too long */
static int
dnsc_lower(const char *name, char *buf, size_t size)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i + 1 >= size)
			return -1;
		buf[i] = name[i] >= 'A' && name[i] <= 'Z' ?
		    (char)(name[i] - 'A' + 'a') : name[i];
	}
	buf[i] = '\0';
	return 0;
}

/* dnsc_hash - of the lower-cased name and the type */
static uint64_t
dnsc_hash(const struct rg_dns_cache *c, const char *lname, int rrtype)
{
	return rg_siphash24(c->key, lname, strlen(lname)) ^ (uint64_t)rrtype;
}

struct rg_dns_cache *
rg_dns_cache_new(void)
{
	struct rg_dns_cache *c = rg_xcalloc(1, sizeof(*c));

	pthread_rwlock_init(&c->lock, NULL);
	/* a weak key only lengthens chains: the clock will do */
	if (getrandom(c->key, sizeof(c->key), 0) != (ssize_t)sizeof(c->key)) {
		long long x = dnsc_now() ^ ((long long)getpid() << 20);

		memcpy(c->key, &x, sizeof(x));
	}
	return c;
}

struct rg_dns_cache *
rg_dns_cache_free(struct rg_dns_cache *c)
{
	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < DNSC_BUCKETS; i++) {
		struct dnsc_entry *e = c->bucket[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_rwlock_destroy(&c->lock);
	free(c);
	return NULL;
}

/* dnsc_find - the live entry for the name and type, or NULL (locked) */
static const struct dnsc_entry *
dnsc_find(const struct rg_dns_cache *c, uint64_t h, const char *lname,
    int rrtype, long long now)
{
	const struct dnsc_entry *e;

	for (e = c->bucket[h % DNSC_BUCKETS]; e != NULL; e = e->next)
		if (e->hash == h && e->rrtype == rrtype && e->expires > now &&
		    strcmp(e->name, lname) == 0)
			return e;
	return NULL;
}

int
rg_dns_cache_get(struct rg_dns_cache *c, const char *name, int rrtype,
    struct rg_dns_result *r)
{
	char lname[RG_DNS_TEXT_MAX];
	const struct dnsc_entry *e;
	long long now = dnsc_now();
	uint64_t h;

	if (c == NULL || dnsc_lower(name, lname, sizeof(lname)) < 0)
		return 0;
	h = dnsc_hash(c, lname, rrtype);
	pthread_rwlock_rdlock(&c->lock);
	if ((e = dnsc_find(c, h, lname, rrtype, now)) != NULL) {
		struct rg_dns_answer a = {
			.status = e->status, .rcode = e->rcode,
			.secure = e->secure, .bogus = 0,
			.ttl = (unsigned)(e->expires - now),
			.data = e->items, .len = e->lens, .why = NULL,
		};

		rg_dns_decode(&a, rrtype, r);
	}
	pthread_rwlock_unlock(&c->lock);
	return e != NULL;
}

/* dnsc_cacheable - an answer worth keeping; its rdata bytes in *bytes */
static int
dnsc_cacheable(const struct rg_dns_answer *a, size_t *nitems, size_t *bytes)
{
	*nitems = *bytes = 0;
	if (a->bogus || a->ttl == 0 || (a->status != RG_DNS_OK &&
	    a->status != RG_DNS_NXDOMAIN && a->status != RG_DNS_NODATA))
		return 0;
	if (a->data == NULL || a->len == NULL)
		return a->status != RG_DNS_OK;
	for (; a->data[*nitems] != NULL; (*nitems)++) {
		if (*nitems == DNSC_ITEMS_MAX || a->len[*nitems] < 0 ||
		    (size_t)a->len[*nitems] > DNSC_DATA_MAX - *bytes)
			return 0;
		*bytes += (size_t)a->len[*nitems];
	}
	return 1;
}

/* dnsc_make - one allocation: entry, item pointers, lengths, name, rdata */
static struct dnsc_entry *
dnsc_make(const char *lname, int rrtype, const struct rg_dns_answer *a,
    size_t nitems, size_t bytes)
{
	size_t namelen = strlen(lname) + 1;
	size_t size = sizeof(struct dnsc_entry) + (nitems + 1) * sizeof(char *) +
	    (nitems + 1) * sizeof(int) + namelen + bytes;
	struct dnsc_entry *e = rg_xcalloc(1, size);
	char *p;

	e->size = size;
	e->items = (char **)(e + 1);
	e->lens = (int *)(e->items + nitems + 1);
	p = (char *)(e->lens + nitems + 1);
	memcpy(p, lname, namelen);
	e->name = p;
	p += namelen;
	for (size_t i = 0; i < nitems; i++) {
		memcpy(p, a->data[i], (size_t)a->len[i]);
		e->items[i] = p;
		e->lens[i] = a->len[i];
		p += a->len[i];
	}
	e->items[nitems] = NULL;
	e->nitems = nitems;
	e->rrtype = rrtype;
	e->status = a->status;
	e->rcode = a->rcode;
	e->secure = a->secure;
	return e;
}

/* dnsc_drop - unlink *pp and free it (locked) */
static void
dnsc_drop(struct rg_dns_cache *c, struct dnsc_entry **pp)
{
	struct dnsc_entry *e = *pp;

	*pp = e->next;
	c->n--;
	c->bytes -= e->size;
	free(e);
}

/* dnsc_full - no room for an entry of size bytes (locked) */
static int
dnsc_full(const struct rg_dns_cache *c, size_t size)
{
	return c->n >= DNSC_MAX || c->bytes + size > DNSC_BYTES_MAX;
}

/* dnsc_prune - drop expired entries of a chain, and its oldest when the
 * table is still full (locked) */
static void
dnsc_prune(struct rg_dns_cache *c, struct dnsc_entry **head, long long now,
    size_t size)
{
	struct dnsc_entry **pp = head, *e, **oldest = NULL;

	/* cppcheck 2.10 takes *head for unset after the caller's unlink:
	 * the buckets are calloc'd and every unlink stores a next pointer */
	/* cppcheck-suppress uninitvar */
	while (*pp != NULL) {
		e = *pp;
		if (e->expires <= now) {
			dnsc_drop(c, pp);
			continue;
		}
		/* entries are added at the head: the last is the oldest */
		oldest = pp;
		pp = &e->next;
	}
	if (dnsc_full(c, size) && oldest != NULL)
		dnsc_drop(c, oldest);
}

void
rg_dns_cache_put(struct rg_dns_cache *c, const char *name, int rrtype,
    const struct rg_dns_answer *a)
{
	char lname[RG_DNS_TEXT_MAX];
	struct dnsc_entry *e, **head, **pp;
	long long now = dnsc_now();
	size_t nitems, bytes;

	if (c == NULL || !dnsc_cacheable(a, &nitems, &bytes) ||
	    dnsc_lower(name, lname, sizeof(lname)) < 0)
		return;
	e = dnsc_make(lname, rrtype, a, nitems, bytes);
	e->hash = dnsc_hash(c, lname, rrtype);
	e->expires = now + (a->ttl < DNSC_TTL_MAX ? a->ttl : DNSC_TTL_MAX);
	head = &c->bucket[e->hash % DNSC_BUCKETS];
	pthread_rwlock_wrlock(&c->lock);
	/* the same name answered twice (two misses at once): the newer wins */
	for (pp = head; *pp != NULL; pp = &(*pp)->next) {
		struct dnsc_entry *old = *pp;

		if (old->hash == e->hash && old->rrtype == rrtype &&
		    strcmp(old->name, lname) == 0) {
			dnsc_drop(c, pp);
			break;
		}
	}
	for (size_t i = 0; i < DNSC_PRUNE_SCAN && dnsc_full(c, e->size); i++)
		dnsc_prune(c, &c->bucket[(e->hash + i) % DNSC_BUCKETS], now, e->size);
	if (!dnsc_full(c, e->size)) {
		e->next = *head;
		*head = e;
		c->n++;
		c->bytes += e->size;
		e = NULL;
	}
	pthread_rwlock_unlock(&c->lock);
	free(e);
}

size_t
rg_dns_cache_count(struct rg_dns_cache *c)
{
	size_t n;

	if (c == NULL)
		return 0;
	pthread_rwlock_rdlock(&c->lock);
	n = c->n;
	pthread_rwlock_unlock(&c->lock);
	return n;
}
