/*
 * housekeep.c - the periodic thread (see housekeep.h)
 *
 * It sleeps on a condition variable with CLOCK_MONOTONIC deadlines, so a
 * stop wakes it at once and a change of the wall clock does not. The
 * configuration is pinned for each round, so block_refresh_interval
 * follows reloads. hk_mutex protects hk_stop.
 */
#include <pthread.h>
#include <time.h>

#include "../policy/blocklist.h"
#include "../policy/conf.h"
#include "../policy/log.h"
#include "../policy/ratelimit.h"
#include "../policy/settings.h"
#include "housekeep.h"

static pthread_mutex_t hk_mutex = PTHREAD_MUTEX_INITIALIZER;	/* hk_stop */
static pthread_cond_t hk_cond;
static int hk_stop, hk_running;
static pthread_t hk_tid;
static struct rg_kv *hk_kv;

/* hk_mono - CLOCK_MONOTONIC in ms */
static long long
hk_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* hk_round - whatever is due at now */
static void
hk_round(long long now, long long *next_sweep, long long *next_block)
{
	struct rg_conf *conf;

	/* session slots the store failed to take back: try every round */
	if (rg_ratelimit_slots_owed() > 0)
		(void)rg_ratelimit_slots_retry(hk_kv);
	if (now >= *next_sweep) {
		rg_kv_sweep(hk_kv);
		*next_sweep = now + RG_HOUSEKEEP_SWEEP * 1000;
	}
	if (now >= *next_block && (conf = rg_conf_acquire()) != NULL) {
		(void)rg_blocklist_refresh(hk_kv, NULL);
		*next_block = now + conf->admin.block_refresh;
		rg_conf_release(conf);
	}
}

/* hk_thread - one round a second until told to stop */
static void *
hk_thread(void *arg)
{
	long long next_sweep = 0, next_block = 0;
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&hk_mutex);
	while (!hk_stop) {
		pthread_mutex_unlock(&hk_mutex);
		hk_round(hk_mono(), &next_sweep, &next_block);
		pthread_mutex_lock(&hk_mutex);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		while (!hk_stop && pthread_cond_timedwait(&hk_cond, &hk_mutex,
		    &ts) == 0)
			;
	}
	pthread_mutex_unlock(&hk_mutex);
	return NULL;
}

/* rg_housekeep_start - start the thread */
void
rg_housekeep_start(struct rg_kv *kv)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hk_cond, &ca);
	pthread_condattr_destroy(&ca);
	hk_kv = kv;
	hk_stop = 0;
	if (pthread_create(&hk_tid, NULL, hk_thread, NULL) != 0)
		rg_fatal("cannot start the housekeeping thread");
	hk_running = 1;
}

/* rg_housekeep_stop - stop and join */
void
rg_housekeep_stop(void)
{
	if (!hk_running)
		return;
	pthread_mutex_lock(&hk_mutex);
	hk_stop = 1;
	pthread_cond_signal(&hk_cond);
	pthread_mutex_unlock(&hk_mutex);
	pthread_join(hk_tid, NULL);
	hk_running = 0;
}
