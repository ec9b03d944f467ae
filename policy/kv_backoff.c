/*
 * kv_backoff.c - fail fast while a shared store is down (see kv_backoff.h)
 *
 * Used by kv_redis.c for the whole store: one dead Redis costs one
 * connection attempt per back-off period, not one per thread per message.
 */
#include "kv_backoff.h"

void
rg_kv_backoff_init(struct rg_kv_backoff *b, long long min, long long max,
    long long probe_ms)
{
	b->min = min;
	b->max = max < min ? min : max;
	b->probe_ms = probe_ms;
	atomic_init(&b->down, 0);
	pthread_mutex_init(&b->mu, NULL);
	b->next_try = b->probe_until = b->delay = 0;
}

void
rg_kv_backoff_destroy(struct rg_kv_backoff *b)
{
	pthread_mutex_destroy(&b->mu);
}

int
rg_kv_backoff_may_try(struct rg_kv_backoff *b, long long now, long long *wait)
{
	*wait = 0;
	if (!atomic_load(&b->down))
		return 1;
	pthread_mutex_lock(&b->mu);
	if (now < b->next_try)
		*wait = b->next_try - now;
	else if (now < b->probe_until)
		*wait = b->probe_until - now;	/* another caller probes */
	else
		b->probe_until = now + b->probe_ms;
	pthread_mutex_unlock(&b->mu);
	return *wait == 0;
}

long long
rg_kv_backoff_failed(struct rg_kv_backoff *b, long long now)
{
	long long delay;

	pthread_mutex_lock(&b->mu);
	if (!atomic_load(&b->down)) {
		atomic_store(&b->down, 1);
		b->delay = b->min;
	} else if (now >= b->next_try) {
		/* the probe failed: wait longer */
		b->delay = b->delay > b->max / 2 ? b->max : b->delay * 2;
	} else {
		pthread_mutex_unlock(&b->mu);
		return 0;
	}
	b->next_try = now + b->delay;
	b->probe_until = 0;
	delay = b->delay;
	pthread_mutex_unlock(&b->mu);
	return delay;
}

int
rg_kv_backoff_ok(struct rg_kv_backoff *b)
{
	int was;

	if (!atomic_load(&b->down))
		return 0;
	pthread_mutex_lock(&b->mu);
	was = atomic_exchange(&b->down, 0);
	b->delay = b->next_try = b->probe_until = 0;
	pthread_mutex_unlock(&b->mu);
	return was;
}
