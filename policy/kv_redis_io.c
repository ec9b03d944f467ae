/*
 * kv_redis_io.c - the Redis store's sockets, per-thread connections and
 * back-off (see kv_redis_io.h); commands and replies are kv_redis.c's
 *
 * hiredis connects; we send (send with MSG_NOSIGNAL, so a closed peer
 * cannot raise SIGPIPE) and read (poll against one deadline, at most
 * RG_KVR_REPLY_MAX bytes per round trip) ourselves, and hand the bytes to
 * hiredis's reader. Each thread's connection is in thread-local storage
 * and in a registry, so the store can close the connections of threads
 * that still run. Thread-safe: kvr_registry_mu guards the registry.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kv_redis_io.h"
#include "log.h"
#include "xalloc.h"

/* kvr_registry_mu protects kvr_registry, the list of every connection of
 * every store, and each connection's next */
static pthread_mutex_t kvr_registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rg_kvr_conn *kvr_registry;

void
rg_kvr_why(struct rg_buf *why, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL)
		return;
	va_start(ap, fmt);
	rg_buf_vprintf(why, fmt, ap);
	va_end(ap);
}

/* rg_kvr_may_connect - 0 while backing off or another thread probes */
int
rg_kvr_may_connect(struct rg_kvr *r, struct rg_buf *why)
{
	long long wait;

	if (rg_kv_backoff_may_try(&r->backoff, rg_kv_mono_ms(), &wait))
		return 1;
	rg_kvr_why(why, "redis %s unavailable; next attempt in %lld ms",
	    r->label, wait);
	return 0;
}

/* rg_kvr_failed - Redis is down or slow (reason names it): start or
 * lengthen the back-off, and say so once per change */
void
rg_kvr_failed(struct rg_kvr *r, const char *reason)
{
	long long delay = rg_kv_backoff_failed(&r->backoff, rg_kv_mono_ms());

	if (delay > 0)
		rg_log_warn("kv: %s; failing fast for %lld ms", reason, delay);
}

/* rg_kvr_up - Redis answered: end the back-off */
void
rg_kvr_up(struct rg_kvr *r)
{
	if (rg_kv_backoff_ok(&r->backoff))
		rg_log_notice("kv: redis %s available again", r->label);
}

/* kvr_wait - poll fd for ev until deadline: 1 ready, 0 timeout, -1 error;
 * past the deadline it still looks once (a started check's answer may
 * have come long ago) */
static int
kvr_wait(int fd, short ev, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	long long left;
	int n;

	for (;;) {
		if ((left = deadline - rg_kv_mono_ms()) < 0)
			left = 0;
		if ((n = poll(&p, 1, (int)left)) > 0)
			return 1;
		if (n == 0 && left == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

enum rg_kvr_io
rg_kvr_send(redisContext *c, const char *p, size_t n, long long deadline)
{
	ssize_t w;
	int k;

	while (n > 0) {
		if ((w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT)) > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((k = kvr_wait(c->fd, POLLOUT, deadline)) <= 0)
				return k == 0 ? RG_KVR_IO_TIMEOUT :
				    RG_KVR_IO_ERR;
		} else {
			return RG_KVR_IO_ERR;
		}
	}
	return RG_KVR_IO_OK;
}

enum rg_kvr_io
rg_kvr_fill(redisContext *c, long long deadline, size_t *total)
{
	char buf[16384];
	ssize_t n;
	int k;

	for (;;) {
		if ((k = kvr_wait(c->fd, POLLIN, deadline)) <= 0)
			return k == 0 ? RG_KVR_IO_TIMEOUT : RG_KVR_IO_ERR;
		if ((n = read(c->fd, buf, sizeof(buf))) > 0)
			break;
		if (n == 0)
			return RG_KVR_IO_EOF;
		if (errno != EINTR && errno != EAGAIN)
			return RG_KVR_IO_ERR;
	}
	if ((*total += (size_t)n) > RG_KVR_REPLY_MAX)
		return RG_KVR_IO_BIG;
	if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK)
		return RG_KVR_IO_PROTO;
	return RG_KVR_IO_OK;
}

void
rg_kvr_drop(struct rg_kvr_conn *cn)
{
	if (cn->c != NULL)
		redisFree(cn->c);
	cn->c = NULL;
	cn->lost = 1;
}

void
rg_kvr_io_fail(struct rg_kvr *r, struct rg_kvr_conn *cn, enum rg_kvr_io io,
    int err, long long ms, struct rg_buf *why)
{
	char what[160], reason[400], eb[128];

	switch (io) {
	case RG_KVR_IO_TIMEOUT:
		snprintf(what, sizeof(what), "no reply within %lld ms", ms);
		break;
	case RG_KVR_IO_EOF:
		snprintf(what, sizeof(what), "connection closed by the server");
		break;
	case RG_KVR_IO_BIG:
		snprintf(what, sizeof(what), "reply over %d bytes",
		    RG_KVR_REPLY_MAX);
		break;
	case RG_KVR_IO_PROTO:
		snprintf(what, sizeof(what), "protocol error: %s",
		    cn->c->reader->errstr);
		break;
	default:
		snprintf(what, sizeof(what), "%s",
		    strerror_r(err, eb, sizeof(eb)));
	}
	snprintf(reason, sizeof(reason), "redis %s: %s", r->label, what);
	rg_kvr_why(why, "%s", reason);
	rg_kvr_drop(cn);
	if (io == RG_KVR_IO_TIMEOUT) {
		atomic_fetch_add(&r->timeouts, 1);
		rg_kvr_failed(r, reason);
	}
}

int
rg_kvr_stale(redisContext *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	return c->err != 0 || poll(&p, 1, 0) != 0;
}

struct rg_kvr_conn *
rg_kvr_conn_get(struct rg_kvr *r)
{
	struct rg_kvr_conn *cn = pthread_getspecific(r->tls);

	if (cn != NULL)
		return cn;
	cn = rg_xcalloc(1, sizeof(*cn));
	cn->owner = r;
	pthread_mutex_lock(&kvr_registry_mu);
	cn->next = kvr_registry;
	kvr_registry = cn;
	pthread_mutex_unlock(&kvr_registry_mu);
	if (pthread_setspecific(r->tls, cn) != 0)
		rg_panic("kv: pthread_setspecific failed");
	return cn;
}

/* rg_kvr_conn_destroy - thread exit: close the thread's connection, unless
 * rg_kvr_conns_close already did (then it is no longer in the registry) */
void
rg_kvr_conn_destroy(void *p)
{
	struct rg_kvr_conn *cn = p, **pp;

	pthread_mutex_lock(&kvr_registry_mu);
	for (pp = &kvr_registry; *pp != NULL && *pp != cn; pp = &(*pp)->next)
		;
	if (*pp != NULL)
		*pp = cn->next;
	else
		cn = NULL;
	pthread_mutex_unlock(&kvr_registry_mu);
	if (cn != NULL) {
		if (cn->c != NULL)
			redisFree(cn->c);
		free(cn);
	}
}

void
rg_kvr_conns_close(struct rg_kvr *r)
{
	struct rg_kvr_conn *mine = NULL, *cn, **pp;

	/* no destructor runs for this key from now on; connections of
	 * threads still alive are closed here */
	pthread_key_delete(r->tls);
	pthread_mutex_lock(&kvr_registry_mu);
	for (pp = &kvr_registry; (cn = *pp) != NULL;) {
		if (cn->owner != r) {
			pp = &cn->next;
			continue;
		}
		*pp = cn->next;
		cn->next = mine;
		mine = cn;
	}
	pthread_mutex_unlock(&kvr_registry_mu);
	while ((cn = mine) != NULL) {
		mine = cn->next;
		if (cn->c != NULL)
			redisFree(cn->c);
		free(cn);
	}
}
