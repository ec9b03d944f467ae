/*
 * dns_unbound.c - the libunbound backend of the resolver (see dns.h)
 *
 * One ub_ctx for the process, configured once in rg_dns_unbound_open()
 * before any other thread uses it (ub_ctx_set_option and friends are not
 * thread-safe). It caches, and validates when a trust anchor is given.
 * Queries go out with ub_resolve_async() in threaded mode: libunbound's
 * own worker thread does the network work; our resolver thread polls
 * ub_fd() and calls ub_process(), which runs the callbacks, and these hand
 * the answers to dns.c. ub_resolve_async() and ub_cancel() are safe from
 * any thread; ub_process() runs only on the resolver thread.
 *
 * Cancel, in threaded mode, only marks the query under libunbound's lock:
 * success means the callback will never run, UB_NOID that it runs or ran;
 * dns.c relies on exactly that.
 *
 * With dns_servers set, "test." is made transparent: libunbound otherwise
 * answers every *.test name NXDOMAIN itself (RFC 6761 s6.2), which would
 * hide a test server's zones.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "xalloc.h"

#define DNSUB_CLASS_IN	1	/* RFC 1035 s3.2.4 */
#define DNSUB_POLL_MS	1000	/* the stop flag is checked at least this often */
#define DNSUB_BACKOFF_MS 100	/* after a failing ub_process() */
#define DNSUB_ERR_EVERY	60	/* seconds between repeated error lines */

struct dns_ub {
	struct ub_ctx *ctx;
	pthread_t thread;
	int running;		/* thread started, not yet joined */
	int wake[2];		/* stop() writes here to wake the thread */
	atomic_int stop;
};

/* dnsub_sleep_ms - a short pause that cannot spin */
static void
dnsub_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* dnsub_convert - a ub_result as an answer; why holds detail */
static void
dnsub_convert(const struct ub_result *res, struct rg_dns_answer *a,
    char *why, size_t size)
{
	a->rcode = res->rcode;
	a->secure = res->secure;
	a->bogus = res->bogus;
	a->ttl = res->ttl > 0 ? (unsigned)res->ttl : 0;
	if (res->bogus) {
		/* a validating resolver answers SERVFAIL for bogus data */
		a->status = RG_DNS_SERVFAIL;
		snprintf(why, size, "DNSSEC bogus: %s",
		    res->why_bogus ? res->why_bogus : "validation failed");
		a->why = why;
		return;
	}
	switch (res->rcode) {
	case 0:
		a->status = res->havedata ? RG_DNS_OK : RG_DNS_NODATA;
		a->data = res->havedata ? res->data : NULL;
		a->len = res->havedata ? res->len : NULL;
		break;
	case 3:
		a->status = RG_DNS_NXDOMAIN;
		break;
	case 2:
		a->status = RG_DNS_SERVFAIL;
		a->why = "SERVFAIL";
		break;
	default:
		a->status = RG_DNS_ERROR;
		snprintf(why, size, "DNS rcode %d", res->rcode);
		a->why = why;
		break;
	}
}

/* dnsub_callback - libunbound's answer, on the resolver thread */
static void
dnsub_callback(void *arg, int err, struct ub_result *res)
{
	struct rg_dns_answer a = { .status = RG_DNS_ERROR, .rcode = -1 };
	char why[160];

	if (err != 0 || res == NULL) {
		a.status = err == UB_SERVFAIL ? RG_DNS_SERVFAIL : RG_DNS_ERROR;
		a.why = ub_strerror(err);
	} else {
		dnsub_convert(res, &a, why, sizeof(why));
	}
	rg_dns_query_done(arg, &a);
	ub_resolve_free(res);
}

/* dnsub_warm_callback - the start-up query's answer: nothing to do */
static void
dnsub_warm_callback(void *arg, int err, struct ub_result *res)
{
	(void)arg, (void)err;
	ub_resolve_free(res);
}

/* dnsub_thread - deliver answers until stop() */
static void *
dnsub_thread(void *arg)
{
	struct dns_ub *u = arg;
	struct pollfd pfd[2] = {
		{ .fd = ub_fd(u->ctx), .events = POLLIN },
		{ .fd = u->wake[0], .events = POLLIN },
	};
	char drain[64];
	time_t last_err = 0;

	while (!atomic_load(&u->stop)) {
		int n = poll(pfd, 2, DNSUB_POLL_MS), r;
		struct timespec now;

		if (n < 0 && errno != EINTR) {
			rg_log_error_errno("dns: poll");
			dnsub_sleep_ms(DNSUB_BACKOFF_MS);
		}
		if (n <= 0)
			continue;
		if (pfd[1].revents != 0)
			while (read(u->wake[0], drain, sizeof(drain)) > 0)
				;
		if (pfd[0].revents == 0)
			continue;
		if ((r = ub_process(u->ctx)) != 0) {
			/* e.g. libunbound's worker died: queries time out */
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (last_err == 0 || now.tv_sec - last_err >= DNSUB_ERR_EVERY) {
				rg_log_error("dns: libunbound: %s", ub_strerror(r));
				last_err = now.tv_sec;
			}
			dnsub_sleep_ms(DNSUB_BACKOFF_MS);
		}
	}
	return NULL;
}

/* dnsub_start - hand a query to libunbound */
static int
dnsub_start(void *impl, struct rg_dns_query *q, const char *name, int rrtype,
    int *id, char *why, size_t whysize)
{
	struct dns_ub *u = impl;
	int r = ub_resolve_async(u->ctx, name, rrtype, DNSUB_CLASS_IN, q,
	    dnsub_callback, id);

	if (r != 0) {
		snprintf(why, whysize, "libunbound: %s", ub_strerror(r));
		return -1;
	}
	return 0;
}

/* dnsub_cancel - in threaded mode: 0 means the callback never runs */
static int
dnsub_cancel(void *impl, int id)
{
	struct dns_ub *u = impl;

	return ub_cancel(u->ctx, id) == 0 ? 0 : -1;
}

/* dnsub_stop - stop and join the resolver thread */
static void
dnsub_stop(void *impl)
{
	struct dns_ub *u = impl;

	if (!u->running)
		return;
	atomic_store(&u->stop, 1);
	if (write(u->wake[1], "x", 1) < 0 && errno != EAGAIN)
		rg_log_warn_errno("dns: cannot wake the resolver thread");
	pthread_join(u->thread, NULL);
	u->running = 0;
}

/* dnsub_free - the context, the thread, the pipe */
static void
dnsub_free(void *impl)
{
	struct dns_ub *u = impl;

	if (u == NULL)
		return;
	dnsub_stop(u);
	if (u->ctx != NULL)
		ub_ctx_delete(u->ctx);
	if (u->wake[0] >= 0)
		close(u->wake[0]);
	if (u->wake[1] >= 0)
		close(u->wake[1]);
	free(u);
}

static const struct rg_dns_backend dnsub_backend = {
	.name = "unbound",
	.start = dnsub_start,
	.cancel = dnsub_cancel,
	.stop = dnsub_stop,
	.free = dnsub_free,
};

/* dnsub_configure - servers and trust anchor; -1 with err filled */
static int
dnsub_configure(struct dns_ub *u, const struct rg_dns_conf *dc,
    struct rg_buf *err)
{
	int r;

	if ((r = ub_ctx_async(u->ctx, 1)) != 0) {
		rg_buf_printf(err, "libunbound: no threads: %s", ub_strerror(r));
		return -1;
	}
	if (dc->servers.n == 0 && (r = ub_ctx_resolvconf(u->ctx, NULL)) != 0) {
		rg_buf_printf(err, "dns: cannot use /etc/resolv.conf: %s",
		    ub_strerror(r));
		return -1;
	}
	for (size_t i = 0; i < dc->servers.n; i++)
		if ((r = ub_ctx_set_fwd(u->ctx, dc->servers.v[i])) != 0) {
			rg_buf_printf(err, "dns_servers: %s: %s", dc->servers.v[i],
			    ub_strerror(r));
			return -1;
		}
	if (dc->servers.n > 0 &&
	    (r = ub_ctx_set_option(u->ctx, "local-zone:", "test. transparent")) != 0) {
		rg_buf_printf(err, "libunbound: local-zone: %s", ub_strerror(r));
		return -1;
	}
	if (dc->trust_anchor_file[0] != '\0') {
		if (access(dc->trust_anchor_file, R_OK) < 0) {
			rg_buf_printf(err, "dns_trust_anchor_file: %s: %s",
			    dc->trust_anchor_file, strerror(errno));
			return -1;
		}
		if ((r = ub_ctx_add_ta_file(u->ctx, dc->trust_anchor_file)) != 0) {
			rg_buf_printf(err, "dns_trust_anchor_file: %s: %s",
			    dc->trust_anchor_file, ub_strerror(r));
			return -1;
		}
	}
	return 0;
}

/*
 * dnsub_finalize - make libunbound read its configuration now, so that a
 * bad trust anchor fails start-up rather than the first query: a blocking
 * lookup of "localhost.", answered from libunbound's built-in local zone.
 */
static int
dnsub_finalize(struct dns_ub *u, const struct rg_dns_conf *dc,
    struct rg_buf *err)
{
	struct ub_result *res = NULL;
	int r = ub_resolve(u->ctx, "localhost.", 1, DNSUB_CLASS_IN, &res);

	ub_resolve_free(res);
	if (r != 0) {
		if (dc->trust_anchor_file[0] != '\0')
			rg_buf_printf(err, "libunbound: %s (check dns_trust_anchor_file %s)",
			    ub_strerror(r), dc->trust_anchor_file);
		else
			rg_buf_printf(err, "libunbound: %s", ub_strerror(r));
		return -1;
	}
	return 0;
}

/*
 * dnsub_threads - start libunbound's worker (by a first async query) and
 * our resolver thread with every signal blocked, so that signals meant
 * for the daemon's sigwait() never land on them.
 */
static int
dnsub_threads(struct dns_ub *u, struct rg_buf *err)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = ub_resolve_async(u->ctx, "localhost.", 1, DNSUB_CLASS_IN, NULL,
	    dnsub_warm_callback, NULL);
	if (r != 0)
		rg_buf_printf(err, "libunbound: cannot start: %s", ub_strerror(r));
	else if (pthread_create(&u->thread, NULL, dnsub_thread, u) != 0) {
		rg_buf_printf(err, "dns: cannot start the resolver thread");
		r = -1;
	} else
		u->running = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r == 0 ? 0 : -1;
}

/* rg_dns_unbound_open - configure once, finalize, start the threads */
struct rg_dns *
rg_dns_unbound_open(const struct rg_dns_conf *dc, struct rg_buf *err)
{
	struct dns_ub *u = rg_xcalloc(1, sizeof(*u));

	u->wake[0] = u->wake[1] = -1;
	atomic_init(&u->stop, 0);
	if ((u->ctx = ub_ctx_create()) == NULL) {
		rg_buf_printf(err, "libunbound: cannot create a context");
		goto fail;
	}
	if (dnsub_configure(u, dc, err) < 0 || dnsub_finalize(u, dc, err) < 0)
		goto fail;
	if (pipe2(u->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		rg_buf_printf(err, "dns: pipe: %s", strerror(errno));
		goto fail;
	}
	if (dnsub_threads(u, err) < 0)
		goto fail;
	rg_log_debug(RG_MOD_DNS, "dns: libunbound %s, %zu server(s)%s%s",
	    ub_version(), dc->servers.n, dc->servers.n ? "" : " from /etc/resolv.conf",
	    dc->trust_anchor_file[0] ? ", DNSSEC on" : "");
	return rg_dns_new(&dnsub_backend, u);
fail:
	dnsub_free(u);
	return NULL;
}
