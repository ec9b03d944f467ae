/*
 * blocklist.h - client networks blocked through the counter store, and
 * the admin settings (control socket)
 *
 * `relayguardctl block 192.0.2.0/24` stores block:<cidr> without expiry.
 * Looking up every prefix length of a client in the store at CONNECT
 * would cost up to 129 round trips, so each process keeps the set in
 * memory, read with rg_kv_scan every block_refresh_interval by the
 * housekeeping thread (and at once after a block or unblock through the
 * control socket). CONNECT then checks the cached set: 554 5.7.1, like
 * client_block_networks. The cache is guarded by a mutex; a failed
 * refresh keeps the set it had. Thread-safe.
 */
#ifndef RG_BLOCKLIST_H
#define RG_BLOCKLIST_H

#include <stddef.h>

#include "buf.h"
#include "conf.h"
#include "kv.h"

struct rg_conn;
struct rg_verdict;

#define RG_BLOCK_PREFIX		"block:"
#define RG_BLOCK_MAX		10000	/* entries read from the store */

/* the "admin" module's settings */
struct rg_admin_conf {
	char *control_socket;		/* unix socket path, or "" */
	long long block_refresh;	/* ms */
};

extern const struct rg_param rg_admin_params[];

/*
 * rg_block_canon - "192.0.2.7" -> "192.0.2.7/32", "2001:db8::1/48" ->
 * "2001:db8::/48" (host bits cleared); 0, or -1 with why
 */
int rg_block_canon(const char *in, char *out, size_t size, char *why,
    size_t whysize);
/* rg_blocklist_refresh - read block:* from kv into the cache */
enum rg_kv_status rg_blocklist_refresh(struct rg_kv *kv, struct rg_buf *why);
/* rg_blocklist_count - networks in the cache */
size_t rg_blocklist_count(void);
/* rg_blocklist_clear - empty the cache (shutdown, tests) */
void rg_blocklist_clear(void);
/* rg_blocklist_connect - refuse a client in a blocked network */
void rg_blocklist_connect(struct rg_conn *c, struct rg_verdict *v);

#endif
