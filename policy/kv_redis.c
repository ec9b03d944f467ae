/*
 * kv_redis.c - the Redis counter store (kv_backend = redis), on hiredis 0.14
 *
 * One connection per thread (a redisContext is not thread-safe), kept in
 * thread-local storage; a registry lets rg_kv_free close every thread's
 * connection. Counters are changed by one Lua script, loaded once per
 * connection (SCRIPT LOAD) and run with EVALSHA, so a multi-key check is
 * one round trip; NOSCRIPT (Redis restarted, SCRIPT FLUSH) reloads it and
 * retries once. The script sets every key's expiry itself.
 *
 * A check can also be started and ended later (rg_kv_check_start): it is
 * sent on a connection of the store's pool, and the pending check keeps
 * that connection until its answer is read, by whichever thread ends it.
 * The pool holds at most RG_KV_PENDING_MAX connections; past that a check
 * is done at once. A check ended after its store was closed (a reload, the
 * stop) still reads its answer, then closes its connection.
 *
 * hiredis connects and parses; kv_redis_io.c sends and reads against one
 * deadline, so a call never waits longer than redis_connect_timeout
 * (connecting and logging in) plus redis_command_timeout (the operation),
 * and caps what a round trip may read. After a failure to connect, or a
 * command timeout, the whole store fails fast for redis_reconnect_delay,
 * doubling up to redis_reconnect_max_delay, while one thread at a time
 * probes (kv_backoff.c).
 *
 * A redisReply never leaves this file: each operation frees the replies
 * of the commands it issued, after checking their type and size.
 * Public: rg_kv_redis_backend (through kv.h). Thread-safe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_redis_io.h"
#include "log.h"
#include "xalloc.h"

#define KVR_ARGV_MAX	(4 + 4 * RG_KV_OPS_MAX)
#define KVR_SCAN_COUNT	"500"
#define KVR_SCAN_TIME_MAX 10000	/* ms for a whole rg_kv_scan */

/* kvr_recv - one reply by deadline; *total counts the round trip's bytes */
static enum rg_kvr_io
kvr_recv(redisContext *c, redisReply **rep, long long deadline, size_t *total)
{
	void *reply = NULL;
	enum rg_kvr_io io = RG_KVR_IO_OK;

	while (io == RG_KVR_IO_OK) {
		if (redisReaderGetReply(c->reader, &reply) != REDIS_OK)
			return RG_KVR_IO_PROTO;
		if (reply != NULL) {
			*rep = reply;
			return RG_KVR_IO_OK;
		}
		io = rg_kvr_fill(c, deadline, total);
	}
	return io;
}

/*
 * kvr_roundtrip - send the formatted commands in out and read nrep
 * replies by deadline (ms: the time the caller allowed, for messages); on
 * failure none is returned and the connection is dropped. The caller
 * frees the replies.
 */
static enum rg_kv_status
kvr_roundtrip(struct rg_kvr *r, struct rg_kvr_conn *cn,
    const struct rg_buf *out, redisReply **rep, size_t nrep,
    long long deadline, long long ms, struct rg_buf *why)
{
	enum rg_kvr_io io;
	size_t total = 0, i = 0;
	int err;

	io = rg_kvr_send(cn->c, out->data, out->len, deadline);
	for (; io == RG_KVR_IO_OK && i < nrep; i++)
		io = kvr_recv(cn->c, &rep[i], deadline, &total);
	if (io == RG_KVR_IO_OK)
		return RG_KV_OK;
	err = errno;
	while (i-- > 0)
		if (rep[i] != NULL) {
			freeReplyObject(rep[i]);
			rep[i] = NULL;
		}
	rg_kvr_io_fail(r, cn, io, err, ms, why);
	return RG_KV_TEMPFAIL;
}

/* kvr_format - append one command in the protocol to out */
static void
kvr_format(struct rg_buf *out, int argc, const char **argv, const size_t *len)
{
	char *cmd = NULL;
	int n = redisFormatCommandArgv(&cmd, argc, argv, len);

	if (n < 0 || cmd == NULL)
		rg_panic("kv: cannot format a redis command");
	rg_buf_append(out, cmd, (size_t)n);
	redisFreeCommand(cmd);
}

/* --- connecting ------------------------------------------------------- */

static struct timeval
kvr_tv(long long ms)
{
	struct timeval tv = {
		.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000
	};

	return tv;
}

/* kvr_reply_text - an error reply's text, for a reason */
static const char *
kvr_reply_text(const redisReply *rep)
{
	return rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply";
}

/* kvr_setup_reply - check the replies to AUTH, SELECT and SCRIPT LOAD */
static int
kvr_setup_reply(struct rg_kvr_conn *cn, redisReply **rep, size_t n,
    struct rg_buf *why)
{
	const struct rg_kvr *r = cn->owner;

	for (size_t i = 0; i + 1 < n; i++)
		if (rep[i]->type != REDIS_REPLY_STATUS) {
			rg_kvr_why(why, "redis %s: %s: %.200s", r->label,
			    i == 0 && r->password ? "AUTH" : "SELECT",
			    kvr_reply_text(rep[i]));
			return -1;
		}
	if (rep[n - 1]->type != REDIS_REPLY_STRING ||
	    rep[n - 1]->len != RG_KVR_SHA_LEN) {
		rg_kvr_why(why, "redis %s: SCRIPT LOAD: %.200s", r->label,
		    kvr_reply_text(rep[n - 1]));
		return -1;
	}
	memcpy(cn->sha, rep[n - 1]->str, RG_KVR_SHA_LEN);
	cn->sha[RG_KVR_SHA_LEN] = '\0';
	return 0;
}

/* kvr_setup - log in, choose the database, load the script: one round
 * trip, done by deadline */
static enum rg_kv_status
kvr_setup(struct rg_kvr *r, struct rg_kvr_conn *cn, long long deadline,
    long long ms, struct rg_buf *why)
{
	struct rg_buf out = RG_BUF_INIT;
	redisReply *rep[3] = { NULL, NULL, NULL };
	const char *argv[3];
	size_t len[3], n = 0;
	char db[24];
	enum rg_kv_status st;

	if (r->password != NULL) {
		argv[0] = "AUTH";
		argv[1] = r->password;
		len[0] = 4;
		len[1] = strlen(r->password);
		kvr_format(&out, 2, argv, len);
		n++;
	}
	if (r->db != 0) {
		argv[0] = "SELECT";
		argv[1] = db;
		len[0] = 6;
		len[1] = (size_t)snprintf(db, sizeof(db), "%lld", r->db);
		kvr_format(&out, 2, argv, len);
		n++;
	}
	argv[0] = "SCRIPT";
	argv[1] = "LOAD";
	argv[2] = rg_kv_script;
	len[0] = 6;
	len[1] = 4;
	len[2] = strlen(rg_kv_script);
	kvr_format(&out, 3, argv, len);
	n++;
	st = kvr_roundtrip(r, cn, &out, rep, n, deadline, ms, why);
	explicit_bzero(out.data, out.len);
	rg_buf_release(&out);
	if (st == RG_KV_OK && kvr_setup_reply(cn, rep, n, why) < 0) {
		rg_kvr_drop(cn);
		st = RG_KV_TEMPFAIL;
	}
	for (size_t i = 0; i < n; i++)
		if (rep[i] != NULL)
			freeReplyObject(rep[i]);
	return st;
}

/* kvr_connect - a new connection for this thread, ready for EVALSHA */
static enum rg_kv_status
kvr_connect(struct rg_kvr *r, struct rg_kvr_conn *cn, struct rg_buf *why)
{
	long long deadline = rg_kv_mono_ms() + r->connect_ms;
	struct rg_buf err = RG_BUF_INIT;
	redisContext *c;

	if (cn->lost)
		atomic_fetch_add(&r->reconnects, 1);
	if (r->path != NULL)
		c = redisConnectUnixWithTimeout(r->path, kvr_tv(r->connect_ms));
	else
		c = redisConnectWithTimeout(r->host, r->port,
		    kvr_tv(r->connect_ms));
	if (c == NULL || c->err) {
		rg_buf_printf(&err, "redis %s: connect: %s", r->label,
		    c ? c->errstr : "out of memory");
		if (c != NULL)
			redisFree(c);
		cn->lost = 1;
		goto fail;
	}
	/* a backstop only: we poll, so the socket never waits by itself */
	(void)redisSetTimeout(c, kvr_tv(r->command_ms));
	cn->c = c;
	if (kvr_setup(r, cn, deadline, r->connect_ms, &err) != RG_KV_OK)
		goto fail;
	cn->lost = 0;
	rg_kvr_up(r);
	rg_buf_release(&err);
	return RG_KV_OK;
fail:
	rg_kvr_why(why, "%s", rg_buf_cstr(&err));
	rg_kvr_failed(r, rg_buf_cstr(&err));
	rg_buf_release(&err);
	return RG_KV_TEMPFAIL;
}

/* kvr_conn - this thread's connection, connected; NULL with a reason */
static struct rg_kvr_conn *
kvr_conn(struct rg_kvr *r, struct rg_buf *why)
{
	struct rg_kvr_conn *cn = rg_kvr_conn_get(r);

	if (cn->c != NULL && rg_kvr_stale(cn->c))
		rg_kvr_drop(cn);
	if (cn->c == NULL && (!rg_kvr_may_connect(r, why) ||
	    kvr_connect(r, cn, why) != RG_KV_OK))
		return NULL;
	return cn;
}

/* --- commands --------------------------------------------------------- */

/* arguments of one command; keys get the prefix */
struct kvr_args {
	int argc;
	const char *argv[KVR_ARGV_MAX];
	size_t len[KVR_ARGV_MAX];
	size_t keyoff[KVR_ARGV_MAX];	/* offset in keys, or SIZE_MAX */
	char num[KVR_ARGV_MAX][24];
	struct rg_buf keys;
};

static void
kvr_arg(struct kvr_args *a, const char *s, size_t len)
{
	a->argv[a->argc] = s;
	a->len[a->argc] = len;
	a->keyoff[a->argc++] = SIZE_MAX;
}

static void
kvr_arg_str(struct kvr_args *a, const char *s)
{
	kvr_arg(a, s, strlen(s));
}

static void
kvr_arg_num(struct kvr_args *a, long long v)
{
	int n = snprintf(a->num[a->argc], sizeof(a->num[0]), "%lld", v);

	kvr_arg(a, a->num[a->argc], (size_t)n);
}

/* kvr_arg_key - prefix + key; pointed to by kvr_args_done */
static void
kvr_arg_key(const struct rg_kvr *r, struct kvr_args *a, const char *key)
{
	size_t off = a->keys.len;

	rg_buf_append(&a->keys, r->prefix, r->plen);
	rg_buf_puts(&a->keys, key);
	rg_buf_putc(&a->keys, '\0');
	kvr_arg(a, NULL, a->keys.len - off - 1);
	a->keyoff[a->argc - 1] = off;
}

static void
kvr_args_done(struct kvr_args *a)
{
	for (int i = 0; i < a->argc; i++)
		if (a->keyoff[i] != SIZE_MAX)
			a->argv[i] = a->keys.data + a->keyoff[i];
}

/*
 * kvr_run - one command on this thread's connection (connecting first if
 * need be), done within redis_command_timeout; *rep for the caller to
 * free. A NOSCRIPT error to EVALSHA (argv[1], filled in here) reloads the
 * script and retries once, within the same time.
 */
static enum rg_kv_status
kvr_run(struct rg_kvr *r, struct kvr_args *a, redisReply **rep,
    struct rg_buf *why)
{
	struct rg_kvr_conn *cn = kvr_conn(r, why);
	struct rg_buf out = RG_BUF_INIT;
	enum rg_kv_status st;
	int evalsha = strcmp(a->argv[0], "EVALSHA") == 0;
	long long deadline, ms = r->command_ms;

	*rep = NULL;
	if (cn == NULL)
		return RG_KV_TEMPFAIL;
	deadline = rg_kv_mono_ms() + ms;
	kvr_args_done(a);
	if (evalsha) {
		a->argv[1] = cn->sha;
		a->len[1] = RG_KVR_SHA_LEN;
	}
	kvr_format(&out, a->argc, a->argv, a->len);
	st = kvr_roundtrip(r, cn, &out, rep, 1, deadline, ms, why);
	if (st == RG_KV_OK && evalsha && (*rep)->type == REDIS_REPLY_ERROR &&
	    strncmp((*rep)->str, "NOSCRIPT", 8) == 0) {
		rg_log_notice("kv: redis %s lost the script; loading it again",
		    r->label);
		freeReplyObject(*rep);
		*rep = NULL;
		rg_buf_release(&out);
		if ((st = kvr_setup(r, cn, deadline, ms, why)) == RG_KV_OK) {
			a->argv[1] = cn->sha;
			kvr_format(&out, a->argc, a->argv, a->len);
			st = kvr_roundtrip(r, cn, &out, rep, 1, deadline, ms,
			    why);
		}
	}
	rg_buf_release(&out);
	if (st == RG_KV_OK)
		rg_kvr_up(r);
	return st;
}

/* kvr_error_at - an error reply from the store labelled label: of another
 * kind (INVAL) or a failure */
static enum rg_kv_status
kvr_error_at(const char *label, const redisReply *rep, struct rg_buf *why)
{
	rg_kvr_why(why, "redis %s: %.200s", label, kvr_reply_text(rep));
	if (rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "WRONGTYPE", 9) == 0)
		return RG_KV_INVAL;
	return RG_KV_TEMPFAIL;
}

static enum rg_kv_status
kvr_error(const struct rg_kvr *r, const redisReply *rep, struct rg_buf *why)
{
	return kvr_error_at(r->label, rep, why);
}

/* kvr_int_array - rep is an array of n integers */
static int
kvr_int_array(const redisReply *rep, size_t n)
{
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (rep->element[i]->type != REDIS_REPLY_INTEGER)
			return 0;
	return 1;
}

/* kvr_script_status - the script's own errors: 2 other kind, 3 no counter */
static enum rg_kv_status
kvr_script_status(const redisReply *rep, const char *key, struct rg_buf *why)
{
	long long s = rep->element[0]->integer;

	if (s == 0 || s == 1)
		return RG_KV_OK;
	rg_kvr_why(why, "%s holds %s", key, s == 2 ?
	    "a value of another kind" : "a value that is not a counter");
	return RG_KV_INVAL;
}

/* kvr_check_args - EVALSHA of the counter script for ops (argv[1], the
 * script's SHA, is the connection's: filled in when it is sent) */
static void
kvr_check_args(struct rg_kv *kv, const struct rg_kvr *r, struct kvr_args *a,
    const struct rg_kv_op *ops, size_t nops)
{
	kvr_arg_str(a, "EVALSHA");
	kvr_arg_str(a, "");
	kvr_arg_num(a, (long long)nops);
	for (size_t i = 0; i < nops; i++)
		kvr_arg_key(r, a, ops[i].key);
	kvr_arg_str(a, "c");
	kvr_arg_num(a, kv->clock ? rg_kv_now(kv) : -1);
	for (size_t i = 0; i < nops; i++) {
		kvr_arg_num(a, ops[i].add);
		kvr_arg_num(a, ops[i].window_ms);
		kvr_arg_num(a, ops[i].limit);
	}
}

/* kvr_check_reply - the script's answer to a check into res */
static enum rg_kv_status
kvr_check_reply(const char *label, const redisReply *rep,
    const struct rg_kv_op *ops, size_t nops, struct rg_kv_res *res,
    struct rg_buf *why)
{
	if (kvr_int_array(rep, 2) && rep->element[0]->integer == 2 &&
	    rep->element[1]->integer >= 1 &&
	    (size_t)rep->element[1]->integer <= nops)
		return kvr_script_status(rep,
		    ops[rep->element[1]->integer - 1].key, why);
	if (!kvr_int_array(rep, 1 + 2 * nops) || rep->element[0]->integer > 1)
		return kvr_error_at(label, rep, why);
	for (size_t i = 0; i < nops; i++) {
		res[i].count = rep->element[1 + 2 * i]->integer;
		res[i].allowed = rep->element[2 + 2 * i]->integer == 1;
	}
	return RG_KV_OK;
}

static enum rg_kv_status
kvr_check(struct rg_kv *kv, const struct rg_kv_op *ops, size_t nops,
    struct rg_kv_res *res, struct rg_buf *why)
{
	struct rg_kvr *r = kv->be_data;
	struct kvr_args a = { .argc = 0, .keys = RG_BUF_INIT };
	redisReply *rep;
	enum rg_kv_status st;

	kvr_check_args(kv, r, &a, ops, nops);
	if ((st = kvr_run(r, &a, &rep, why)) == RG_KV_OK) {
		st = kvr_check_reply(r->label, rep, ops, nops, res, why);
		freeReplyObject(rep);
	}
	rg_buf_release(&a.keys);
	return st;
}

/* --- checks started now and ended later ------------------------------ */

struct kvr_pending {
	struct rg_kv_pending base;	/* first: what kv.c sees */
	struct rg_kvr_conn *cn;		/* the answer comes on it */
	unsigned long long gen;		/* of the store that sent it */
	long long deadline, ms;		/* monotonic ms; the time allowed */
	char label[160];
};

static atomic_ullong kvr_gens;		/* stores opened so far */

/* kvr_pool_take - an idle connection of the pool, or a new one; NULL when
 * RG_KV_PENDING_MAX are in checks */
static struct rg_kvr_conn *
kvr_pool_take(struct rg_kvr *r)
{
	struct rg_kvr_conn *cn = NULL;

	pthread_mutex_lock(&r->pool_mu);
	if ((cn = r->pool) != NULL)
		r->pool = cn->next;
	else if (r->pool_n < RG_KV_PENDING_MAX) {
		cn = rg_xcalloc(1, sizeof(*cn));
		cn->owner = r;
		r->pool_n++;
	}
	pthread_mutex_unlock(&r->pool_mu);
	return cn;
}

static void
kvr_pool_put(struct rg_kvr *r, struct rg_kvr_conn *cn)
{
	pthread_mutex_lock(&r->pool_mu);
	cn->next = r->pool;
	r->pool = cn;
	pthread_mutex_unlock(&r->pool_mu);
}

static void
kvr_conn_free(struct rg_kvr_conn *cn)
{
	if (cn->c != NULL)
		redisFree(cn->c);
	free(cn);
}

static enum rg_kv_status
kvr_check_start(struct rg_kv *kv, const struct rg_kv_op *ops, size_t nops,
    struct rg_kv_res *res, struct rg_kv_pending **pend, struct rg_buf *why)
{
	struct rg_kvr *r = kv->be_data;
	struct kvr_args a = { .argc = 0, .keys = RG_BUF_INIT };
	struct rg_buf out = RG_BUF_INIT;
	struct rg_kvr_conn *cn = kvr_pool_take(r);
	struct kvr_pending *p;
	enum rg_kvr_io io;
	long long deadline;

	if (cn == NULL) {
		atomic_fetch_add(&r->pool_full, 1);
		return kvr_check(kv, ops, nops, res, why);
	}
	if (cn->c != NULL && rg_kvr_stale(cn->c))
		rg_kvr_drop(cn);
	if (cn->c == NULL && (!rg_kvr_may_connect(r, why) ||
	    kvr_connect(r, cn, why) != RG_KV_OK)) {
		kvr_pool_put(r, cn);
		return RG_KV_TEMPFAIL;
	}
	kvr_check_args(kv, r, &a, ops, nops);
	kvr_args_done(&a);
	a.argv[1] = cn->sha;
	a.len[1] = RG_KVR_SHA_LEN;
	kvr_format(&out, a.argc, a.argv, a.len);
	rg_buf_release(&a.keys);
	deadline = rg_kv_mono_ms() + r->command_ms;
	io = rg_kvr_send(cn->c, out.data, out.len, deadline);
	rg_buf_release(&out);
	if (io != RG_KVR_IO_OK) {
		rg_kvr_io_fail(r, cn, io, errno, r->command_ms, why);
		kvr_pool_put(r, cn);
		return RG_KV_TEMPFAIL;
	}
	p = rg_xcalloc(1, sizeof(*p));
	p->base.be = &rg_kv_redis_backend;
	p->cn = cn;
	p->gen = r->gen;
	p->deadline = deadline;
	p->ms = r->command_ms;
	snprintf(p->label, sizeof(p->label), "%s", r->label);
	*pend = &p->base;
	return RG_KV_OK;
}

static enum rg_kv_status
kvr_check_end(struct rg_kv *kv, struct rg_kv_pending *pend,
    const struct rg_kv_op *ops, size_t nops, struct rg_kv_res *res,
    struct rg_buf *why)
{
	struct kvr_pending *p = (struct kvr_pending *)pend;
	struct rg_kvr_conn *cn = p->cn;
	struct rg_kvr *r = NULL;
	redisReply *rep = NULL;
	enum rg_kv_status st;
	enum rg_kvr_io io;
	size_t total = 0;

	/* the store it was sent to, if that is still the one held */
	if (kv != NULL && kv->be == &rg_kv_redis_backend &&
	    ((struct rg_kvr *)kv->be_data)->gen == p->gen)
		r = kv->be_data;
	io = kvr_recv(cn->c, &rep, p->deadline, &total);
	if (io != RG_KVR_IO_OK) {
		if (r != NULL)
			rg_kvr_io_fail(r, cn, io, errno, p->ms, why);
		else {
			rg_kvr_why(why, "redis %s: no answer to a started "
			    "check", p->label);
			rg_kvr_drop(cn);
		}
		st = RG_KV_TEMPFAIL;
	} else if (rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* Redis lost the script: this connection loads it again
		 * when it is next used; the check is done again at once */
		rg_kvr_drop(cn);
		if (r != NULL)
			st = kvr_check(kv, ops, nops, res, why);
		else {
			rg_kvr_why(why, "redis %s lost the script", p->label);
			st = RG_KV_TEMPFAIL;
		}
	} else {
		st = kvr_check_reply(p->label, rep, ops, nops, res, why);
		if (r != NULL)
			rg_kvr_up(r);
	}
	if (rep != NULL)
		freeReplyObject(rep);
	if (r != NULL)
		kvr_pool_put(r, cn);
	else
		kvr_conn_free(cn);
	free(p);
	return st;
}

static enum rg_kv_status
kvr_incr(struct rg_kv *kv, const char *key, long long delta, long long limit,
    long long ttl_ms, struct rg_kv_res *res, struct rg_buf *why)
{
	struct rg_kvr *r = kv->be_data;
	struct kvr_args a = { .argc = 0, .keys = RG_BUF_INIT };
	redisReply *rep;
	enum rg_kv_status st;

	kvr_arg_str(&a, "EVALSHA");
	kvr_arg_str(&a, "");
	kvr_arg_str(&a, "1");
	kvr_arg_key(r, &a, key);
	kvr_arg_str(&a, "i");
	kvr_arg_num(&a, delta);
	kvr_arg_num(&a, limit);
	kvr_arg_num(&a, ttl_ms);
	if ((st = kvr_run(r, &a, &rep, why)) == RG_KV_OK) {
		if (!kvr_int_array(rep, 3))
			st = kvr_error(r, rep, why);
		else if ((st = kvr_script_status(rep, key, why)) == RG_KV_OK) {
			res->count = rep->element[1]->integer;
			res->allowed = rep->element[2]->integer == 1;
		}
		freeReplyObject(rep);
	}
	rg_buf_release(&a.keys);
	return st;
}

static enum rg_kv_status
kvr_set(struct rg_kv *kv, const char *key, const void *value, size_t len,
    long long ttl_ms, struct rg_buf *why)
{
	struct rg_kvr *r = kv->be_data;
	struct kvr_args a = { .argc = 0, .keys = RG_BUF_INIT };
	redisReply *rep;
	enum rg_kv_status st;

	kvr_arg_str(&a, "SET");
	kvr_arg_key(r, &a, key);
	kvr_arg(&a, value, len);
	if (ttl_ms > 0) {
		kvr_arg_str(&a, "PX");
		kvr_arg_num(&a, ttl_ms);
	}
	if ((st = kvr_run(r, &a, &rep, why)) == RG_KV_OK) {
		if (rep->type != REDIS_REPLY_STATUS)
			st = kvr_error(r, rep, why);
		freeReplyObject(rep);
	}
	rg_buf_release(&a.keys);
	return st;
}

static enum rg_kv_status
kvr_get(struct rg_kv *kv, const char *key, struct rg_buf *val,
    struct rg_buf *why)
{
	struct rg_kvr *r = kv->be_data;
	struct kvr_args a = { .argc = 0, .keys = RG_BUF_INIT };
	redisReply *rep;
	enum rg_kv_status st;

	kvr_arg_str(&a, "GET");
	kvr_arg_key(r, &a, key);
	if ((st = kvr_run(r, &a, &rep, why)) == RG_KV_OK) {
		if (rep->type == REDIS_REPLY_NIL) {
			st = RG_KV_NOTFOUND;
		} else if (rep->type != REDIS_REPLY_STRING) {
			st = kvr_error(r, rep, why);
		} else if (rep->len > RG_KV_VALUE_MAX) {
			rg_kvr_why(why, "%s: value over %d bytes", key,
			    RG_KV_VALUE_MAX);
			st = RG_KV_INVAL;
		} else {
			rg_buf_append(val, rep->str, rep->len);
		}
		freeReplyObject(rep);
	}
	rg_buf_release(&a.keys);
	return st;
}

static enum rg_kv_status
kvr_del(struct rg_kv *kv, const char *key, struct rg_buf *why)
{
	struct rg_kvr *r = kv->be_data;
	struct kvr_args a = { .argc = 0, .keys = RG_BUF_INIT };
	redisReply *rep;
	enum rg_kv_status st;

	kvr_arg_str(&a, "DEL");
	kvr_arg_key(r, &a, key);
	if ((st = kvr_run(r, &a, &rep, why)) == RG_KV_OK) {
		if (rep->type != REDIS_REPLY_INTEGER)
			st = kvr_error(r, rep, why);
		else if (rep->integer == 0)
			st = RG_KV_NOTFOUND;
		freeReplyObject(rep);
	}
	rg_buf_release(&a.keys);
	return st;
}

/* kvr_scan_page - keys of one SCAN reply into out; the next cursor */
static enum rg_kv_status
kvr_scan_page(const struct rg_kvr *r, const redisReply *rep, char *cursor,
    size_t csize, struct rg_kv_keys *out, struct rg_buf *why)
{
	const redisReply *keys;

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[0]->len >= csize ||
	    rep->element[1]->type != REDIS_REPLY_ARRAY)
		return kvr_error(r, rep, why);
	memcpy(cursor, rep->element[0]->str, rep->element[0]->len + 1);
	keys = rep->element[1];
	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];

		/* MATCH chose them; skip what does not fit rather than trust */
		if (k->type != REDIS_REPLY_STRING || k->len <= r->plen ||
		    k->len > r->plen + RG_KV_KEY_MAX ||
		    memcmp(k->str, r->prefix, r->plen) != 0 ||
		    memchr(k->str, '\0', k->len) != NULL)
			continue;
		rg_kv_keys_add(out, k->str + r->plen, k->len - r->plen);
	}
	return RG_KV_OK;
}

/* kvr_glob_quote - s for SCAN MATCH, its glob characters escaped */
static void
kvr_glob_quote(struct rg_buf *pat, const char *s)
{
	for (; *s; s++) {
		if (strchr("*?[]\\", *s) != NULL)
			rg_buf_putc(pat, '\\');
		rg_buf_putc(pat, *s);
	}
}

static enum rg_kv_status
kvr_scan(struct rg_kv *kv, const char *prefix, size_t max,
    struct rg_kv_keys *out, struct rg_buf *why)
{
	struct rg_kvr *r = kv->be_data;
	struct rg_buf pat = RG_BUF_INIT;
	char cursor[32] = "0";
	long long start = rg_kv_mono_ms();
	enum rg_kv_status st;
	redisReply *rep;

	kvr_glob_quote(&pat, r->prefix);
	kvr_glob_quote(&pat, prefix);
	rg_buf_putc(&pat, '*');
	do {
		struct kvr_args a = { .argc = 0, .keys = RG_BUF_INIT };

		kvr_arg_str(&a, "SCAN");
		kvr_arg_str(&a, cursor);
		kvr_arg_str(&a, "MATCH");
		kvr_arg(&a, pat.data, pat.len);
		kvr_arg_str(&a, "COUNT");
		kvr_arg_str(&a, KVR_SCAN_COUNT);
		if ((st = kvr_run(r, &a, &rep, why)) != RG_KV_OK)
			break;
		st = kvr_scan_page(r, rep, cursor, sizeof(cursor), out, why);
		freeReplyObject(rep);
	} while (st == RG_KV_OK && strcmp(cursor, "0") != 0 && out->n <= max &&
	    rg_kv_mono_ms() - start < KVR_SCAN_TIME_MAX);
	if (st == RG_KV_OK && strcmp(cursor, "0") != 0)
		out->truncated = 1;
	rg_buf_release(&pat);
	return st;
}

static void
kvr_stats(struct rg_kv *kv, struct rg_kv_stats *st)
{
	struct rg_kvr *r = kv->be_data;

	st->timeouts = atomic_load(&r->timeouts);
	st->reconnects = atomic_load(&r->reconnects);
	st->pool_full = atomic_load(&r->pool_full);
	pthread_mutex_lock(&r->pool_mu);
	st->pool = (unsigned long long)r->pool_n;
	pthread_mutex_unlock(&r->pool_mu);
}

static void *
kvr_open(const struct rg_kv_conf *cf, struct rg_buf *why)
{
	struct rg_kvr *r;
	const char *pw = cf->redis_password_file.value ?
	    cf->redis_password_file.value : cf->redis_password;

	if (cf->redis_server.host == NULL && cf->redis_server.path == NULL) {
		if (why != NULL)
			rg_buf_puts(why, "redis_server is not set");
		return NULL;
	}
	r = rg_xcalloc(1, sizeof(*r));
	if (pthread_key_create(&r->tls, rg_kvr_conn_destroy) != 0) {
		if (why != NULL)
			rg_buf_puts(why, "no thread-local key left");
		free(r);
		return NULL;
	}
	if (cf->redis_server.host != NULL)
		r->host = rg_xstrdup(cf->redis_server.host);
	if (cf->redis_server.path != NULL)
		r->path = rg_xstrdup(cf->redis_server.path);
	r->port = cf->redis_server.port;
	if (r->path != NULL)
		snprintf(r->label, sizeof(r->label), "unix:%s", r->path);
	else
		snprintf(r->label, sizeof(r->label), strchr(r->host, ':') ?
		    "[%s]:%d" : "%s:%d", r->host, r->port);
	r->password = pw && *pw ? rg_xstrdup(pw) : NULL;
	r->prefix = rg_xstrdup(cf->redis_prefix ? cf->redis_prefix : "");
	r->plen = strlen(r->prefix);
	r->db = cf->redis_database;
	r->connect_ms = cf->redis_connect_timeout;
	r->command_ms = cf->redis_command_timeout;
	rg_kv_backoff_init(&r->backoff, cf->redis_reconnect_delay,
	    cf->redis_reconnect_max_delay, r->connect_ms);
	atomic_init(&r->timeouts, 0);
	atomic_init(&r->reconnects, 0);
	atomic_init(&r->pool_full, 0);
	r->gen = atomic_fetch_add(&kvr_gens, 1) + 1;
	pthread_mutex_init(&r->pool_mu, NULL);
	return r;
}

static void
kvr_close(void *data)
{
	struct rg_kvr *r = data;
	struct rg_kvr_conn *cn;

	rg_kvr_conns_close(r);
	/* connections in started checks are closed when those end */
	while ((cn = r->pool) != NULL) {
		r->pool = cn->next;
		kvr_conn_free(cn);
	}
	pthread_mutex_destroy(&r->pool_mu);
	if (r->password != NULL)
		explicit_bzero(r->password, strlen(r->password));
	free(r->password);
	free(r->host);
	free(r->path);
	free(r->prefix);
	rg_kv_backoff_destroy(&r->backoff);
	free(r);
}

const struct rg_kv_backend rg_kv_redis_backend = {
	.name = "redis",
	.open = kvr_open,
	.close = kvr_close,
	.check = kvr_check,
	.check_start = kvr_check_start,
	.check_end = kvr_check_end,
	.set = kvr_set,
	.get = kvr_get,
	.del = kvr_del,
	.incr = kvr_incr,
	.scan = kvr_scan,
	.sweep = NULL,
	.stats = kvr_stats,
};
