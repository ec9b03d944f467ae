/*
 * kv_backoff.h - fail fast while a shared store is down
 *
 * After a failure, callers are turned away for `min` ms, then one caller
 * at a time may try (the probe, given probe_ms to finish); each failed
 * probe doubles the wait up to `max`; a success ends it. Failures that
 * arrive while a wait is running (connections opened before the failure
 * was noticed) do not lengthen it, so many threads failing at once count
 * as one failure. Times are monotonic ms passed in by the caller, so the
 * logic is tested with a fake clock. Thread-safe.
 */
#ifndef RG_KV_BACKOFF_H
#define RG_KV_BACKOFF_H

#include <pthread.h>
#include <stdatomic.h>

struct rg_kv_backoff {
	long long min, max, probe_ms;	/* set once by init */
	atomic_int down;	/* read without mu as a hint */
	/* mu protects next_try, probe_until and delay */
	pthread_mutex_t mu;
	long long next_try, probe_until, delay;
};

void rg_kv_backoff_init(struct rg_kv_backoff *b, long long min,
    long long max, long long probe_ms);
void rg_kv_backoff_destroy(struct rg_kv_backoff *b);
/* rg_kv_backoff_may_try - 1: go ahead; 0: fail fast, *wait ms to go */
int rg_kv_backoff_may_try(struct rg_kv_backoff *b, long long now,
    long long *wait);
/* rg_kv_backoff_failed - the wait it started or lengthened (to log), or 0 */
long long rg_kv_backoff_failed(struct rg_kv_backoff *b, long long now);
/* rg_kv_backoff_ok - a success; 1 when it ended a back-off (to log) */
int rg_kv_backoff_ok(struct rg_kv_backoff *b);

#endif
