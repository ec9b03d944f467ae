/*
 * kv_redis_io.h - between kv_redis.c (commands and replies) and
 * kv_redis_io.c (sockets, per-thread connections, back-off); nothing else
 * includes it. No function here sees a redisReply: replies are parsed,
 * checked and freed in kv_redis.c only.
 */
#ifndef RG_KV_REDIS_IO_H
#define RG_KV_REDIS_IO_H

#include <pthread.h>
#include <stdatomic.h>

#include <hiredis/hiredis.h>

#include "kv_backoff.h"
#include "kv_impl.h"

#define RG_KVR_SHA_LEN	40
#define RG_KVR_REPLY_MAX (1024 * 1024)	/* bytes read for one round trip */

/* one Redis store; read-only after kv_redis.c opens it, but the atomics
 * and the back-off (which has its own lock) */
struct rg_kvr {
	char *host, *path, *password, *prefix;
	char label[160];		/* host:port or unix:path, for logs */
	int port;
	long long db;
	size_t plen;
	long long connect_ms, command_ms;
	pthread_key_t tls;		/* this store's connection per thread */
	struct rg_kv_backoff backoff;	/* shared by all threads */
	atomic_ullong timeouts, reconnects, pool_full;
	unsigned long long gen;		/* this store among all opened */
	pthread_mutex_t pool_mu;	/* guards pool and pool_n */
	struct rg_kvr_conn *pool;	/* idle connections of started checks */
	int pool_n;			/* theirs, idle or in a check */
};

/* one thread's connection, used by that thread only; or one of the pool
 * of started checks (kv_redis.c), used by one check at a time */
struct rg_kvr_conn {
	struct rg_kvr_conn *next;	/* the registry (kv_redis_io.c) */
	struct rg_kvr *owner;
	redisContext *c;		/* NULL: not connected */
	int lost;			/* the last connection failed */
	char sha[RG_KVR_SHA_LEN + 1];	/* the script's SHA1 */
};

enum rg_kvr_io { RG_KVR_IO_OK, RG_KVR_IO_TIMEOUT, RG_KVR_IO_EOF,
	RG_KVR_IO_ERR, RG_KVR_IO_BIG, RG_KVR_IO_PROTO };

/* rg_kvr_why - append a reason when the caller wants one */
void rg_kvr_why(struct rg_buf *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* back-off for the whole store (kv_backoff.c), with logging */
int rg_kvr_may_connect(struct rg_kvr *r, struct rg_buf *why);
void rg_kvr_failed(struct rg_kvr *r, const char *reason);
void rg_kvr_up(struct rg_kvr *r);

/* rg_kvr_send - all of p by deadline (monotonic ms), no SIGPIPE */
enum rg_kvr_io rg_kvr_send(redisContext *c, const char *p, size_t n,
    long long deadline);
/* rg_kvr_fill - wait for bytes by deadline and feed them to c's reader;
 * *total counts the bytes of the round trip against RG_KVR_REPLY_MAX */
enum rg_kvr_io rg_kvr_fill(redisContext *c, long long deadline,
    size_t *total);
/* rg_kvr_io_fail - explain a failure in why, drop the connection; a
 * timeout counts, and starts the back-off (ms: the time allowed) */
void rg_kvr_io_fail(struct rg_kvr *r, struct rg_kvr_conn *cn,
    enum rg_kvr_io io, int err, long long ms, struct rg_buf *why);
void rg_kvr_drop(struct rg_kvr_conn *cn);
/* rg_kvr_stale - the server closed an idle connection, or sent unasked */
int rg_kvr_stale(redisContext *c);

/* rg_kvr_conn_get - this thread's connection, created on first use
 * (maybe not connected) */
struct rg_kvr_conn *rg_kvr_conn_get(struct rg_kvr *r);
/* rg_kvr_conn_destroy - the thread-local key's destructor */
void rg_kvr_conn_destroy(void *p);
/* rg_kvr_conns_close - delete r's key, close every thread's connection */
void rg_kvr_conns_close(struct rg_kvr *r);

#endif
