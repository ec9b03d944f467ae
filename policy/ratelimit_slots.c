/*
 * ratelimit_slots.c - session slots that could not be given back at close
 *
 * A session's slot (slot:<address>) is counted down at close. When the
 * store fails then (Redis down, slow, or failing fast after either), the
 * slot would stay taken until max_connections_ttl - and that expiry is
 * renewed by every later session of the client, so a busy client could
 * lose a slot for good to each hiccup and end up refused. Instead the
 * count-down is kept here, per key, and the housekeeping thread tries it
 * again every second (rg_ratelimit_slots_retry) until the store takes it.
 *
 * A count-down whose reply was lost (a timeout after Redis did the work)
 * is applied twice: the count then errs low by one, never high, and the
 * store never takes it below zero. At most RL_OWED_MAX keys are kept;
 * past that a slot expires by itself, as before.
 * Public: see ratelimit.h. Thread-safe: rl_owed_mu guards rl_owed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ratelimit.h"
#include "xalloc.h"

#define RL_OWED_MAX	1024	/* keys with slots owed */

struct rl_owed {
	char *key;
	long long n;		/* slots owed */
	long long ttl;		/* ms: max_connections_ttl when deferred */
};

static pthread_mutex_t rl_owed_mu = PTHREAD_MUTEX_INITIALIZER;	/* rl_owed */
static struct rl_owed rl_owed[RL_OWED_MAX];
static size_t rl_nowed;

/* slots_add - n more owed for key; 0, or -1 when the table is full */
static int
slots_add(const char *key, long long n, long long ttl)
{
	for (size_t i = 0; i < rl_nowed; i++) {
		if (strcmp(rl_owed[i].key, key) == 0) {
			rl_owed[i].n += n;
			rl_owed[i].ttl = ttl;
			return 0;
		}
	}
	if (rl_nowed == RL_OWED_MAX)
		return -1;
	rl_owed[rl_nowed].key = rg_xstrdup(key);
	rl_owed[rl_nowed].n = n;
	rl_owed[rl_nowed].ttl = ttl;
	rl_nowed++;
	return 0;
}

int
rg_ratelimit_slot_defer(const char *key, long long ttl_ms)
{
	int r;

	pthread_mutex_lock(&rl_owed_mu);
	r = slots_add(key, 1, ttl_ms);
	pthread_mutex_unlock(&rl_owed_mu);
	return r;
}

/* slots_take - move the whole table to *out (the caller frees it) */
static size_t
slots_take(struct rl_owed **out)
{
	size_t n;

	pthread_mutex_lock(&rl_owed_mu);
	n = rl_nowed;
	*out = n ? rg_xreallocarray(NULL, n, sizeof(**out)) : NULL;
	if (n)
		memcpy(*out, rl_owed, n * sizeof(**out));
	rl_nowed = 0;
	pthread_mutex_unlock(&rl_owed_mu);
	return n;
}

/* slots_give - one key's owed slots back to kv; 0, or -1 to keep them */
static int
slots_give(struct rg_kv *kv, const struct rl_owed *o, struct rg_buf *why)
{
	return rg_kv_incr(kv, o->key, -o->n, RG_KV_NOLIMIT, o->ttl, NULL,
	    why) == RG_KV_OK ? 0 : -1;
}

size_t
rg_ratelimit_slots_retry(struct rg_kv *kv)
{
	struct rg_buf why = RG_BUF_INIT;
	struct rl_owed *todo;
	size_t n = slots_take(&todo), given = 0, left = 0;
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		/* once the store fails, keep the rest for the next round */
		if (!failed && slots_give(kv, &todo[i], &why) == 0) {
			given += (size_t)todo[i].n;
			free(todo[i].key);
			continue;
		}
		failed = 1;
		pthread_mutex_lock(&rl_owed_mu);
		if (slots_add(todo[i].key, todo[i].n, todo[i].ttl) == 0)
			left++;
		else
			rg_log_warn("ratelimit: too many session slots owed; "
			    "%s expires by itself", todo[i].key);
		pthread_mutex_unlock(&rl_owed_mu);
		free(todo[i].key);
	}
	if (given > 0)
		rg_log_notice("ratelimit: gave back %zu session slot(s) the "
		    "store had failed to take back at close", given);
	free(todo);
	rg_buf_release(&why);
	return left;
}

size_t
rg_ratelimit_slots_owed(void)
{
	size_t n = 0;

	pthread_mutex_lock(&rl_owed_mu);
	for (size_t i = 0; i < rl_nowed; i++)
		n += (size_t)rl_owed[i].n;
	pthread_mutex_unlock(&rl_owed_mu);
	return n;
}

void
rg_ratelimit_slots_clear(void)
{
	pthread_mutex_lock(&rl_owed_mu);
	for (size_t i = 0; i < rl_nowed; i++)
		free(rl_owed[i].key);
	rl_nowed = 0;
	pthread_mutex_unlock(&rl_owed_mu);
}
