/*
 * kv_mem.c - the embedded counter store (kv_backend = memory, the default)
 *
 * Entries live in KVM_SHARDS shards chosen by a keyed hash (SipHash with a
 * random key per store, so keys that clients choose cannot pile up in one
 * chain). Each shard has its own mutex, chained hash table and min-heap of
 * expiry times, so threads that touch different keys rarely wait for one
 * another; a multi-key check locks its shards in ascending order.
 *
 * Expired entries are reclaimed: when a lookup meets one; from the top of
 * each touched shard's heap after every call (KVM_RECLAIM_BATCH at most);
 * from one more shard in turn after every call (trylock, never waits); and
 * all at once by rg_kv_sweep(). The entry count is bounded by
 * kv_mem_max_entries: at the cap a new key evicts the entry closest to
 * expiry (kvm_reserve says why).
 *
 * Public: rg_kv_mem_backend only (through kv.h). Thread-safe.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "kv_impl.h"
#include "log.h"
#include "siphash.h"
#include "xalloc.h"

#define KVM_SHARDS		64	/* a power of two */
#define KVM_SHARD_BITS		6
#define KVM_MIN_BUCKETS		16
#define KVM_RECLAIM_BATCH	16
#define KVM_NOHEAP		((size_t)-1)

enum kvm_type { KVM_STR, KVM_WIN };

struct kvm_entry {
	struct kvm_entry *next;	/* hash chain */
	uint64_t hash;
	long long expire;	/* ms since the epoch; 0: never */
	size_t hidx;		/* place in the shard's heap, or KVM_NOHEAP */
	enum kvm_type type;
	int pinned;		/* used by the call in progress: kept */
	struct rg_kv_win win;	/* KVM_WIN */
	char *val;		/* KVM_STR, NUL-terminated copy */
	size_t vlen;
	char key[];
};

struct kvm_shard {
	/* mu protects every field below and every entry of the shard */
	pthread_mutex_t mu;
	struct kvm_entry **tab;
	size_t nbuckets, n;
	struct kvm_entry **heap;	/* min-heap on expire */
	size_t hn, hcap;
} __attribute__((aligned(64)));	/* one cache line per lock */

struct kvm {
	struct kvm_shard shard[KVM_SHARDS];
	unsigned char seed[RG_SIPHASH_KEY_LEN];
	size_t max;
	atomic_size_t count;		/* entries, plus slots being filled */
	atomic_uint next_sweep;		/* shard swept after the next call */
	atomic_ullong evictions, expired;
};

/* --- the expiry heap -------------------------------------------------- */

static void
kvm_heap_set(struct kvm_shard *s, size_t i, struct kvm_entry *e)
{
	s->heap[i] = e;
	e->hidx = i;
}

static void
kvm_heap_up(struct kvm_shard *s, size_t i)
{
	struct kvm_entry *e = s->heap[i];

	while (i > 0 && s->heap[(i - 1) / 2]->expire > e->expire) {
		kvm_heap_set(s, i, s->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	kvm_heap_set(s, i, e);
}

static void
kvm_heap_down(struct kvm_shard *s, size_t i)
{
	struct kvm_entry *e = s->heap[i];
	size_t c;

	while ((c = 2 * i + 1) < s->hn) {
		if (c + 1 < s->hn &&
		    s->heap[c + 1]->expire < s->heap[c]->expire)
			c++;
		if (s->heap[c]->expire >= e->expire)
			break;
		kvm_heap_set(s, i, s->heap[c]);
		i = c;
	}
	kvm_heap_set(s, i, e);
}

static void
kvm_heap_remove(struct kvm_shard *s, struct kvm_entry *e)
{
	size_t i = e->hidx;
	struct kvm_entry *last;

	if (i == KVM_NOHEAP)
		return;
	e->hidx = KVM_NOHEAP;
	last = s->heap[--s->hn];
	if (i == s->hn)
		return;
	kvm_heap_set(s, i, last);
	kvm_heap_up(s, i);
	kvm_heap_down(s, last->hidx);
}

/* kvm_set_expiry - give e a new expiry time (0: never) and fix the heap */
static void
kvm_set_expiry(struct kvm_shard *s, struct kvm_entry *e, long long expire)
{
	if (expire == 0) {
		kvm_heap_remove(s, e);
		e->expire = 0;
		return;
	}
	e->expire = expire;
	if (e->hidx == KVM_NOHEAP) {
		if (s->hn == s->hcap) {
			s->hcap = s->hcap ? s->hcap * 2 : 16;
			s->heap = rg_xreallocarray(s->heap, s->hcap,
			    sizeof(*s->heap));
		}
		kvm_heap_set(s, s->hn++, e);
	}
	kvm_heap_up(s, e->hidx);
	kvm_heap_down(s, e->hidx);
}

/* --- the hash table --------------------------------------------------- */

static uint64_t
kvm_hash(const struct kvm *m, const char *key)
{
	return rg_siphash24(m->seed, key, strlen(key));
}

static struct kvm_shard *
kvm_shard_of(struct kvm *m, uint64_t h)
{
	return &m->shard[h & (KVM_SHARDS - 1)];
}

static struct kvm_entry **
kvm_bucket(struct kvm_shard *s, uint64_t h)
{
	return &s->tab[(h >> KVM_SHARD_BITS) & (s->nbuckets - 1)];
}

/* kvm_unlink - take e out of its shard and free it; count not changed */
static void
kvm_unlink(struct kvm_shard *s, struct kvm_entry *e)
{
	struct kvm_entry **pp = kvm_bucket(s, e->hash);

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	kvm_heap_remove(s, e);
	s->n--;
	free(e->val);
	free(e);
}

/* kvm_remove - unlink e and count it gone */
static void
kvm_remove(struct kvm *m, struct kvm_shard *s, struct kvm_entry *e)
{
	kvm_unlink(s, e);
	atomic_fetch_sub(&m->count, 1);
}

/* kvm_lookup - the live entry for key, reclaiming it if it expired */
static struct kvm_entry *
kvm_lookup(struct kvm *m, struct kvm_shard *s, uint64_t h, const char *key,
    long long now)
{
	struct kvm_entry *e = *kvm_bucket(s, h);

	while (e != NULL && (e->hash != h || strcmp(e->key, key) != 0))
		e = e->next;
	if (e != NULL && e->expire != 0 && e->expire <= now) {
		kvm_remove(m, s, e);
		atomic_fetch_add(&m->expired, 1);
		return NULL;
	}
	return e;
}

/* kvm_grow - double the buckets when the chains average one entry */
static void
kvm_grow(struct kvm_shard *s)
{
	size_t nb = s->nbuckets * 2;
	struct kvm_entry **tab = rg_xcalloc(nb, sizeof(*tab)), *e, *next;

	for (size_t i = 0; i < s->nbuckets; i++)
		for (e = s->tab[i]; e != NULL; e = next) {
			next = e->next;
			e->next = tab[(e->hash >> KVM_SHARD_BITS) & (nb - 1)];
			tab[(e->hash >> KVM_SHARD_BITS) & (nb - 1)] = e;
		}
	free(s->tab);
	s->tab = tab;
	s->nbuckets = nb;
}

/* kvm_insert - a new entry for key; its slot was reserved (kvm_reserve) */
static struct kvm_entry *
kvm_insert(struct kvm_shard *s, uint64_t h, const char *key)
{
	size_t klen = strlen(key);
	struct kvm_entry *e = rg_xcalloc(1, sizeof(*e) + klen + 1), **b;

	memcpy(e->key, key, klen + 1);
	e->hash = h;
	e->hidx = KVM_NOHEAP;
	if (s->n >= s->nbuckets)
		kvm_grow(s);
	b = kvm_bucket(s, h);
	e->next = *b;
	*b = e;
	s->n++;
	return e;
}

/* kvm_reclaim - drop up to limit expired entries from the heap's top */
static void
kvm_reclaim(struct kvm *m, struct kvm_shard *s, long long now, size_t limit)
{
	while (limit-- > 0 && s->hn > 0 && s->heap[0]->expire <= now &&
	    !s->heap[0]->pinned) {
		kvm_remove(m, s, s->heap[0]);
		atomic_fetch_add(&m->expired, 1);
	}
}

/* kvm_victim - the entry of s closest to expiry that is not in use */
static struct kvm_entry *
kvm_victim(struct kvm_shard *s)
{
	/* the root, then its children: the next closest to expiry */
	for (size_t j = 0; j < 3 && j < s->hn; j++)
		if (!s->heap[j]->pinned)
			return s->heap[j];
	return NULL;
}

static int
kvm_held(const struct kvm_shard *s, struct kvm_shard *const *held,
    size_t nheld)
{
	for (size_t i = 0; i < nheld; i++)
		if (held[i] == s)
			return 1;
	return 0;
}

/*
 * kvm_evict_one - drop the entry closest to expiry of the whole store;
 * the caller has already taken it off the count.
 * Shards this call does not hold are only tried (trylock), never waited
 * for, so no lock is taken out of order; a busy shard is passed over.
 * At most one shard besides the held ones is locked at a time.
 */
static int
kvm_evict_one(struct kvm *m, struct kvm_shard **held, size_t nheld,
    long long now)
{
	struct kvm_shard *best = NULL;
	struct kvm_entry *victim = NULL, *e;
	int best_held = 0;

	for (size_t i = 0; i < KVM_SHARDS; i++) {
		struct kvm_shard *s = &m->shard[i];
		int h = kvm_held(s, held, nheld);

		if (!h && pthread_mutex_trylock(&s->mu) != 0)
			continue;
		e = kvm_victim(s);
		if (e != NULL &&
		    (victim == NULL || e->expire < victim->expire)) {
			if (best != NULL && !best_held)
				pthread_mutex_unlock(&best->mu);
			best = s;
			best_held = h;
			victim = e;
		} else if (!h) {
			pthread_mutex_unlock(&s->mu);
		}
	}
	if (victim == NULL)
		return -1;
	atomic_fetch_add(victim->expire <= now ? &m->expired : &m->evictions,
	    1);
	kvm_unlink(best, victim);
	if (!best_held)
		pthread_mutex_unlock(&best->mu);
	return 0;
}

/*
 * kvm_reserve - room for k new entries, evicting at the cap. Evicting
 * the entries closest to expiry, rather than refusing new keys: a flood
 * of new keys (forged senders, many client addresses) would otherwise
 * make the store refuse every new client, and with redis_failure_mode =
 * tempfail that refuses legitimate mail. The entries that go are those
 * that would have mattered least: expired ones first, then the ones about
 * to end; long windows, lockouts and concurrency slots stay. Only entries
 * without expiry cannot be evicted; when nothing can go, -1 (TEMPFAIL).
 */
static int
kvm_reserve(struct kvm *m, struct kvm_shard **held, size_t nheld, size_t k,
    long long now)
{
	size_t c;

	atomic_fetch_add(&m->count, k);
	while ((c = atomic_load(&m->count)) > m->max) {
		/* claim one eviction first, so threads racing here never
		 * evict more than their reservations need */
		if (!atomic_compare_exchange_weak(&m->count, &c, c - 1))
			continue;
		if (kvm_evict_one(m, held, nheld, now) < 0) {
			atomic_fetch_sub(&m->count, k - 1);
			return -1;
		}
	}
	return 0;
}

static enum rg_kv_status
kvm_full(struct rg_buf *why, const struct kvm *m)
{
	if (why != NULL)
		rg_buf_printf(why, "memory store full: %zu entries without "
		    "expiry or in use (kv_mem_max_entries)", m->max);
	return RG_KV_TEMPFAIL;
}

/* --- locking ---------------------------------------------------------- */

/* kvm_after - clean up after a call: one more shard, without waiting */
static void
kvm_after(struct kvm *m, long long now)
{
	struct kvm_shard *s = &m->shard[atomic_fetch_add(&m->next_sweep, 1) &
	    (KVM_SHARDS - 1)];

	if (pthread_mutex_trylock(&s->mu) == 0) {
		kvm_reclaim(m, s, now, KVM_RECLAIM_BATCH);
		pthread_mutex_unlock(&s->mu);
	}
}

static struct kvm_shard *
kvm_lock1(struct kvm *m, uint64_t h)
{
	struct kvm_shard *s = kvm_shard_of(m, h);

	pthread_mutex_lock(&s->mu);
	return s;
}

static void
kvm_unlock1(struct kvm *m, struct kvm_shard *s, long long now)
{
	kvm_reclaim(m, s, now, KVM_RECLAIM_BATCH);
	pthread_mutex_unlock(&s->mu);
	kvm_after(m, now);
}

/* kvm_lock_set - lock the distinct shards of h[], in address order */
static size_t
kvm_lock_set(struct kvm *m, const uint64_t *h, size_t n,
    struct kvm_shard **held)
{
	size_t nheld = 0, j;

	for (size_t i = 0; i < n; i++) {
		struct kvm_shard *s = kvm_shard_of(m, h[i]);

		for (j = nheld; j > 0 && held[j - 1] > s; j--)
			held[j] = held[j - 1];
		if (j > 0 && held[j - 1] == s) {	/* held already: undo */
			memmove(&held[j], &held[j + 1],
			    (nheld - j) * sizeof(*held));
			continue;
		}
		held[j] = s;
		nheld++;
	}
	for (size_t i = 0; i < nheld; i++)
		pthread_mutex_lock(&held[i]->mu);
	return nheld;
}

static void
kvm_unlock_set(struct kvm *m, struct kvm_shard **held, size_t nheld,
    long long now)
{
	for (size_t i = nheld; i-- > 0;) {
		kvm_reclaim(m, held[i], now, KVM_RECLAIM_BATCH);
		pthread_mutex_unlock(&held[i]->mu);
	}
	kvm_after(m, now);
}

/* --- operations ------------------------------------------------------- */

static enum rg_kv_status
kvm_wrongtype(const char *key, const char *what, struct rg_buf *why)
{
	if (why != NULL)
		rg_buf_printf(why, "%s holds %s", key, what);
	return RG_KV_INVAL;
}

/* kvm_commit - store the new window states of an allowed check */
static enum rg_kv_status
kvm_commit(struct kvm *m, const struct rg_kv_op *ops, size_t nops,
    const uint64_t *h, struct kvm_entry **e, const struct rg_kv_win *st,
    struct kvm_shard **held, size_t nheld, long long now, struct rg_buf *why)
{
	size_t need = 0;

	for (size_t i = 0; i < nops; i++)
		need += ops[i].add > 0 && e[i] == NULL;
	if (need > 0 && kvm_reserve(m, held, nheld, need, now) < 0)
		return kvm_full(why, m);
	for (size_t i = 0; i < nops; i++) {
		struct kvm_shard *s = kvm_shard_of(m, h[i]);

		if (ops[i].add == 0)
			continue;
		if (e[i] == NULL) {
			e[i] = kvm_insert(s, h[i], ops[i].key);
			e[i]->type = KVM_WIN;
		}
		e[i]->win = st[i];
		kvm_set_expiry(s, e[i], rg_kv_win_expiry(st[i].bucket,
		    st[i].window));
	}
	return RG_KV_OK;
}

static enum rg_kv_status
kvm_check(struct rg_kv *kv, const struct rg_kv_op *ops, size_t nops,
    struct rg_kv_res *res, struct rg_buf *why)
{
	struct kvm *m = kv->be_data;
	uint64_t h[RG_KV_OPS_MAX];
	struct kvm_entry *e[RG_KV_OPS_MAX];
	struct rg_kv_win st[RG_KV_OPS_MAX];
	struct kvm_shard *held[RG_KV_OPS_MAX];
	enum rg_kv_status rc = RG_KV_OK;
	long long now = rg_kv_now(kv);
	size_t nheld, i;
	int all = 1;

	for (i = 0; i < nops; i++)
		h[i] = kvm_hash(m, ops[i].key);
	nheld = kvm_lock_set(m, h, nops, held);
	for (i = 0; i < nops; i++) {
		e[i] = kvm_lookup(m, kvm_shard_of(m, h[i]), h[i], ops[i].key,
		    now);
		if (e[i] != NULL && e[i]->type != KVM_WIN) {
			rc = kvm_wrongtype(ops[i].key, "a value", why);
			break;
		}
		memset(&st[i], 0, sizeof(st[i]));
		if (e[i] != NULL) {
			st[i] = e[i]->win;
			e[i]->pinned = 1;
		}
		res[i].allowed = rg_kv_win_apply(&st[i], now, ops[i].window_ms,
		    ops[i].add, ops[i].limit, &res[i].count);
		all &= res[i].allowed;
	}
	if (rc == RG_KV_OK && all &&
	    (rc = kvm_commit(m, ops, nops, h, e, st, held, nheld, now, why)) ==
	    RG_KV_OK)
		for (size_t j = 0; j < nops; j++)
			res[j].count = rg_kv_count_sum(res[j].count,
			    ops[j].add);
	for (size_t j = 0; j < i; j++)
		if (e[j] != NULL)
			e[j]->pinned = 0;
	kvm_unlock_set(m, held, nheld, now);
	return rc;
}

/* kvm_store_str - make e a value entry holding len bytes */
static void
kvm_store_str(struct kvm_entry *e, const void *value, size_t len)
{
	free(e->val);
	e->type = KVM_STR;
	e->val = rg_xmemdup(value, len);
	e->vlen = len;
}

static enum rg_kv_status
kvm_set(struct rg_kv *kv, const char *key, const void *value, size_t len,
    long long ttl_ms, struct rg_buf *why)
{
	struct kvm *m = kv->be_data;
	long long now = rg_kv_now(kv);
	uint64_t h = kvm_hash(m, key);
	struct kvm_shard *s = kvm_lock1(m, h);
	struct kvm_entry *e = kvm_lookup(m, s, h, key, now);

	if (e == NULL) {
		if (kvm_reserve(m, &s, 1, 1, now) < 0) {
			kvm_unlock1(m, s, now);
			return kvm_full(why, m);
		}
		e = kvm_insert(s, h, key);
	}
	kvm_store_str(e, value, len);
	kvm_set_expiry(s, e, ttl_ms ? now + ttl_ms : 0);
	kvm_unlock1(m, s, now);
	return RG_KV_OK;
}

static enum rg_kv_status
kvm_get(struct rg_kv *kv, const char *key, struct rg_buf *val,
    struct rg_buf *why)
{
	struct kvm *m = kv->be_data;
	long long now = rg_kv_now(kv);
	uint64_t h = kvm_hash(m, key);
	struct kvm_shard *s = kvm_lock1(m, h);
	struct kvm_entry *e = kvm_lookup(m, s, h, key, now);
	enum rg_kv_status rc = RG_KV_OK;

	if (e == NULL)
		rc = RG_KV_NOTFOUND;
	else if (e->type != KVM_STR)
		rc = kvm_wrongtype(key, "a window counter", why);
	else
		rg_buf_append(val, e->val, e->vlen);
	kvm_unlock1(m, s, now);
	return rc;
}

static enum rg_kv_status
kvm_del(struct rg_kv *kv, const char *key, struct rg_buf *why)
{
	struct kvm *m = kv->be_data;
	long long now = rg_kv_now(kv);
	uint64_t h = kvm_hash(m, key);
	struct kvm_shard *s = kvm_lock1(m, h);
	struct kvm_entry *e = kvm_lookup(m, s, h, key, now);

	(void)why;
	if (e != NULL)
		kvm_remove(m, s, e);
	kvm_unlock1(m, s, now);
	return e ? RG_KV_OK : RG_KV_NOTFOUND;
}

/* kvm_incr_locked - rg_kv_incr with the shard held */
static enum rg_kv_status
kvm_incr_locked(struct kvm *m, struct kvm_shard *s, uint64_t h,
    const char *key, long long delta, long long limit, long long ttl_ms,
    long long now, struct rg_kv_res *res, struct rg_buf *why)
{
	struct kvm_entry *e = kvm_lookup(m, s, h, key, now);
	long long old = 0, v;
	char num[24];

	if (e != NULL && e->type != KVM_STR)
		return kvm_wrongtype(key, "a window counter", why);
	if (e != NULL && rg_kv_parse_int(e->val, e->vlen, &old) < 0)
		return kvm_wrongtype(key, "a value that is not a counter", why);
	v = old + delta;
	if (delta > 0 && limit >= 0 && v > limit) {
		res->count = old;
		res->allowed = 0;
		return RG_KV_OK;
	}
	v = v < 0 ? 0 : v > RG_KV_COUNT_MAX ? RG_KV_COUNT_MAX : v;
	res->count = v;
	res->allowed = 1;
	if (v == 0) {
		if (e != NULL)
			kvm_remove(m, s, e);
		return RG_KV_OK;
	}
	if (e == NULL) {
		if (kvm_reserve(m, &s, 1, 1, now) < 0)
			return kvm_full(why, m);
		e = kvm_insert(s, h, key);
	}
	kvm_store_str(e, num, (size_t)snprintf(num, sizeof(num), "%lld", v));
	kvm_set_expiry(s, e, now + ttl_ms);
	return RG_KV_OK;
}

static enum rg_kv_status
kvm_incr(struct rg_kv *kv, const char *key, long long delta, long long limit,
    long long ttl_ms, struct rg_kv_res *res, struct rg_buf *why)
{
	struct kvm *m = kv->be_data;
	long long now = rg_kv_now(kv);
	uint64_t h = kvm_hash(m, key);
	struct kvm_shard *s = kvm_lock1(m, h);
	enum rg_kv_status rc;

	rc = kvm_incr_locked(m, s, h, key, delta, limit, ttl_ms, now, res, why);
	kvm_unlock1(m, s, now);
	return rc;
}

/* kvm_scan_chain - keys of one hash chain that match, until max + 1 */
static void
kvm_scan_chain(const struct kvm_entry *e, const char *prefix, size_t plen,
    long long now, size_t max, struct rg_kv_keys *out)
{
	for (; e != NULL && out->n <= max; e = e->next)
		if ((e->expire == 0 || e->expire > now) &&
		    strncmp(e->key, prefix, plen) == 0)
			rg_kv_keys_add(out, e->key, strlen(e->key));
}

static enum rg_kv_status
kvm_scan(struct rg_kv *kv, const char *prefix, size_t max,
    struct rg_kv_keys *out, struct rg_buf *why)
{
	struct kvm *m = kv->be_data;
	long long now = rg_kv_now(kv);
	size_t plen = strlen(prefix);

	(void)why;
	for (size_t i = 0; i < KVM_SHARDS && out->n <= max; i++) {
		struct kvm_shard *s = &m->shard[i];

		pthread_mutex_lock(&s->mu);
		for (size_t b = 0; b < s->nbuckets && out->n <= max; b++)
			kvm_scan_chain(s->tab[b], prefix, plen, now, max, out);
		pthread_mutex_unlock(&s->mu);
	}
	return RG_KV_OK;
}

static void
kvm_sweep(struct rg_kv *kv)
{
	struct kvm *m = kv->be_data;
	long long now = rg_kv_now(kv);

	for (size_t i = 0; i < KVM_SHARDS; i++) {
		pthread_mutex_lock(&m->shard[i].mu);
		kvm_reclaim(m, &m->shard[i], now, SIZE_MAX);
		pthread_mutex_unlock(&m->shard[i].mu);
	}
}

static void
kvm_stats(struct rg_kv *kv, struct rg_kv_stats *st)
{
	struct kvm *m = kv->be_data;

	st->entries = atomic_load(&m->count);
	st->evictions = atomic_load(&m->evictions);
	st->expired = atomic_load(&m->expired);
}

/* kvm_seed - a random hash key; time and pid if getrandom fails */
static void
kvm_seed(struct kvm *m)
{
	struct timespec ts;
	uint64_t x;

	if (getrandom(m->seed, sizeof(m->seed), 0) == (ssize_t)sizeof(m->seed))
		return;
	rg_log_warn("kv: getrandom failed; the memory store's hash key "
	    "comes from the clock");
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
	    ((uint64_t)getpid() << 17) ^ (uint64_t)(uintptr_t)m;
	memcpy(m->seed, &x, sizeof(x));
	x = rg_siphash24(m->seed, &ts, sizeof(ts));
	memcpy(m->seed + 8, &x, sizeof(x));
}

static void *
kvm_open(const struct rg_kv_conf *cf, struct rg_buf *why)
{
	struct kvm *m;

	if (cf->mem_max_entries < 1) {
		if (why != NULL)
			rg_buf_puts(why, "kv_mem_max_entries below 1");
		return NULL;
	}
	/* the shards are cache-line aligned, which calloc does not promise */
	if (posix_memalign((void **)&m, 64, sizeof(*m)) != 0)
		rg_panic("kv: out of memory");
	memset(m, 0, sizeof(*m));
	m->max = (size_t)cf->mem_max_entries;
	atomic_init(&m->count, 0);
	atomic_init(&m->next_sweep, 0);
	atomic_init(&m->evictions, 0);
	atomic_init(&m->expired, 0);
	kvm_seed(m);
	for (size_t i = 0; i < KVM_SHARDS; i++) {
		pthread_mutex_init(&m->shard[i].mu, NULL);
		m->shard[i].nbuckets = KVM_MIN_BUCKETS;
		m->shard[i].tab = rg_xcalloc(KVM_MIN_BUCKETS,
		    sizeof(*m->shard[i].tab));
	}
	return m;
}

static void
kvm_close(void *data)
{
	struct kvm *m = data;
	struct kvm_entry *e, *next;

	for (size_t i = 0; i < KVM_SHARDS; i++) {
		struct kvm_shard *s = &m->shard[i];

		for (size_t b = 0; b < s->nbuckets; b++)
			for (e = s->tab[b]; e != NULL; e = next) {
				next = e->next;
				free(e->val);
				free(e);
			}
		free(s->tab);
		free(s->heap);
		pthread_mutex_destroy(&s->mu);
	}
	free(m);
}

const struct rg_kv_backend rg_kv_mem_backend = {
	.name = "memory",
	.open = kvm_open,
	.close = kvm_close,
	.check = kvm_check,
	.set = kvm_set,
	.get = kvm_get,
	.del = kvm_del,
	.incr = kvm_incr,
	.scan = kvm_scan,
	.sweep = kvm_sweep,
	.stats = kvm_stats,
};
