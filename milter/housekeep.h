/*
 * housekeep.h - periodic work on the counter store
 *
 * One thread wakes every second: rg_kv_sweep() every RG_HOUSEKEEP_SWEEP
 * seconds (the memory store reclaims expired entries; Redis: nothing), and
 * the blocked networks are read from the store every
 * block_refresh_interval (blocklist.h), the first time at once.
 */
#ifndef RG_HOUSEKEEP_H
#define RG_HOUSEKEEP_H

#include "../policy/kv.h"

#define RG_HOUSEKEEP_SWEEP	10	/* seconds between sweeps */

void rg_housekeep_start(struct rg_kv *kv);
/* rg_housekeep_stop - wake the thread and wait for it */
void rg_housekeep_stop(void);

#endif
