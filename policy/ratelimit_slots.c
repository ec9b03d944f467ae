/*
 * ratelimit_slots.c - the session slots this process holds, and those it
 * owes the store
 *
 * A session's slot (slot:<address>) is counted up at connect and down at
 * close. Two things used to lose the count-down, leaving the slot taken
 * until max_connections_ttl - an expiry renewed by each later session of
 * the client, so a busy client kept it for good and, a few losses later,
 * was refused outright:
 *  - the store failing at close (Redis down, slow, or failing fast after
 *    either). The count-down is now owed, and the housekeeping thread
 *    tries it again every second (rg_ratelimit_slots_retry).
 *  - the daemon stopping with sessions open (libmilter does not wait for
 *    them). The process keeps count of the slots it holds, and gives all
 *    back, with those it owes, before the store closes
 *    (rg_ratelimit_slots_shutdown). A session that closes afterwards
 *    finds its slot no longer held and gives nothing back.
 * A daemon killed with SIGKILL still leaves its slots to the expiry.
 *
 * A count-down whose reply was lost (a timeout after Redis did the work)
 * is applied twice: the count then errs low by one, never high, and the
 * store never takes it below zero. At most RL_OWED_MAX keys are owed;
 * past that a slot expires by itself, as before.
 *
 * One entry per key with slots held or owed, in a hash table keyed with a
 * random SipHash key (clients cannot aim at one bucket). Public: see
 * ratelimit.h. Thread-safe: rl_slots_mu guards the table and rl_nowed.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "ratelimit.h"
#include "siphash.h"
#include "xalloc.h"

#define RL_SLOTS_BUCKETS	1024
#define RL_OWED_MAX		1024	/* keys with slots owed */

struct rl_slot {
	struct rl_slot *next;
	char *key;
	long long held;		/* sessions of this process holding one */
	long long owed;		/* count-downs the store failed */
	long long ttl;		/* ms: max_connections_ttl when last seen */
};

/* a count-down to do outside the lock */
struct rl_give {
	char *key;
	long long n, ttl;
};

static pthread_mutex_t rl_slots_mu = PTHREAD_MUTEX_INITIALIZER; /* below */
static struct rl_slot *rl_slots[RL_SLOTS_BUCKETS];
static size_t rl_nowed;		/* entries with owed > 0 */
static unsigned char rl_slots_seed[RG_SIPHASH_KEY_LEN];
static pthread_once_t rl_slots_once = PTHREAD_ONCE_INIT;

static void
slots_seed(void)
{
	if (getrandom(rl_slots_seed, sizeof(rl_slots_seed), 0) !=
	    (ssize_t)sizeof(rl_slots_seed))
		memset(rl_slots_seed, 0xa5, sizeof(rl_slots_seed));
}

/* slots_find - key's entry (created when create), or NULL; locked */
static struct rl_slot *
slots_find(const char *key, int create)
{
	struct rl_slot **pp, *s;

	pp = &rl_slots[rg_siphash24(rl_slots_seed, key, strlen(key)) %
	    RL_SLOTS_BUCKETS];
	for (s = *pp; s != NULL; s = s->next)
		if (strcmp(s->key, key) == 0)
			return s;
	if (!create)
		return NULL;
	s = rg_xcalloc(1, sizeof(*s));
	s->key = rg_xstrdup(key);
	s->next = *pp;
	*pp = s;
	return s;
}

/* slots_drop_empty - free key's entry once it holds and owes nothing */
static void
slots_drop_empty(const char *key)
{
	struct rl_slot **pp, *s;

	pp = &rl_slots[rg_siphash24(rl_slots_seed, key, strlen(key)) %
	    RL_SLOTS_BUCKETS];
	for (; (s = *pp) != NULL; pp = &s->next) {
		if (strcmp(s->key, key) != 0)
			continue;
		if (s->held == 0 && s->owed == 0) {
			*pp = s->next;
			free(s->key);
			free(s);
		}
		return;
	}
}

void
rg_ratelimit_slot_held(const char *key, long long ttl_ms)
{
	struct rl_slot *s;

	pthread_once(&rl_slots_once, slots_seed);
	pthread_mutex_lock(&rl_slots_mu);
	s = slots_find(key, 1);
	s->held++;
	s->ttl = ttl_ms;
	pthread_mutex_unlock(&rl_slots_mu);
}

int
rg_ratelimit_slot_unheld(const char *key)
{
	struct rl_slot *s;
	int held = 0;

	pthread_once(&rl_slots_once, slots_seed);
	pthread_mutex_lock(&rl_slots_mu);
	if ((s = slots_find(key, 0)) != NULL && s->held > 0) {
		s->held--;
		held = 1;
		slots_drop_empty(key);
	}
	pthread_mutex_unlock(&rl_slots_mu);
	return held;
}

int
rg_ratelimit_slot_defer(const char *key, long long ttl_ms)
{
	struct rl_slot *s;
	int r = 0;

	pthread_once(&rl_slots_once, slots_seed);
	pthread_mutex_lock(&rl_slots_mu);
	s = slots_find(key, 0);
	if (s != NULL && s->owed > 0)
		s->owed++;
	else if (rl_nowed == RL_OWED_MAX)
		r = -1;
	else {
		s = slots_find(key, 1);
		s->owed = 1;
		s->ttl = ttl_ms;
		rl_nowed++;
	}
	pthread_mutex_unlock(&rl_slots_mu);
	return r;
}

/*
 * slots_collect - the count-downs to do (owed, plus held when all), taken
 * off the table; *n their number. Locked. The caller frees the list.
 */
static struct rl_give *
slots_collect(int all, size_t *n)
{
	struct rl_give *g = NULL;
	size_t cap = 0;

	*n = 0;
	for (size_t b = 0; b < RL_SLOTS_BUCKETS; b++) {
		for (struct rl_slot *s = rl_slots[b]; s != NULL; s = s->next) {
			long long k = s->owed + (all ? s->held : 0);

			if (k == 0)
				continue;
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				g = rg_xreallocarray(g, cap, sizeof(*g));
			}
			g[(*n)++] = (struct rl_give){ rg_xstrdup(s->key), k, s->ttl };
			if (s->owed > 0)
				rl_nowed--;
			s->owed = 0;
			if (all)
				s->held = 0;
		}
	}
	for (size_t i = 0; i < *n; i++)
		slots_drop_empty(g[i].key);
	return g;
}

/* slots_give - count down what was collected; what fails is owed again
 * (unless final); returns the slots given back */
static long long
slots_give(struct rg_kv *kv, struct rl_give *g, size_t n, int final)
{
	struct rg_buf why = RG_BUF_INIT;
	long long given = 0;
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		/* once the store fails, keep the rest for the next round */
		if (!failed && rg_kv_incr(kv, g[i].key, -g[i].n, RG_KV_NOLIMIT,
		    g[i].ttl, NULL, &why) == RG_KV_OK)
			given += g[i].n;
		else if (!failed++ && final)
			rg_log_warn("ratelimit: cannot give back session slots "
			    "at exit (%s); they expire by themselves",
			    rg_buf_cstr(&why));
		if (failed && !final) {
			for (long long k = 0; k < g[i].n; k++)
				if (rg_ratelimit_slot_defer(g[i].key, g[i].ttl) < 0)
					rg_log_warn("ratelimit: too many session "
					    "slots owed; %s expires by itself",
					    g[i].key);
		}
		free(g[i].key);
	}
	free(g);
	rg_buf_release(&why);
	return given;
}

/* slots_flush - give back what is owed (and held, when all) */
static long long
slots_flush(struct rg_kv *kv, int all)
{
	struct rl_give *g;
	size_t n;

	pthread_once(&rl_slots_once, slots_seed);
	pthread_mutex_lock(&rl_slots_mu);
	g = slots_collect(all, &n);
	pthread_mutex_unlock(&rl_slots_mu);
	return slots_give(kv, g, n, all);
}

size_t
rg_ratelimit_slots_retry(struct rg_kv *kv)
{
	long long given = slots_flush(kv, 0);
	size_t left;

	if (given > 0)
		rg_log_notice("ratelimit: gave back %lld session slot(s) the "
		    "store had failed to take back at close", given);
	pthread_mutex_lock(&rl_slots_mu);
	left = rl_nowed;
	pthread_mutex_unlock(&rl_slots_mu);
	return left;
}

void
rg_ratelimit_slots_shutdown(struct rg_kv *kv)
{
	long long given = slots_flush(kv, 1);

	if (given > 0)
		rg_log_info("ratelimit: gave back %lld session slot(s) of "
		    "sessions still open at exit", given);
}

size_t
rg_ratelimit_slots_owed(void)
{
	size_t n = 0;

	pthread_mutex_lock(&rl_slots_mu);
	for (size_t b = 0; b < RL_SLOTS_BUCKETS; b++)
		for (struct rl_slot *s = rl_slots[b]; s != NULL; s = s->next)
			n += (size_t)s->owed;
	pthread_mutex_unlock(&rl_slots_mu);
	return n;
}

void
rg_ratelimit_slots_clear(void)
{
	struct rl_slot *s;

	pthread_mutex_lock(&rl_slots_mu);
	for (size_t b = 0; b < RL_SLOTS_BUCKETS; b++) {
		while ((s = rl_slots[b]) != NULL) {
			rl_slots[b] = s->next;
			free(s->key);
			free(s);
		}
	}
	rl_nowed = 0;
	pthread_mutex_unlock(&rl_slots_mu);
}
