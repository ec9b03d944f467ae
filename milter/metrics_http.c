/*
 * metrics_http.c - GET /metrics with libmicrohttpd (see metrics_http.h)
 *
 * The daemon runs one internal thread that polls with epoll (MHD_USE_AUTO
 * picks it on Linux): select() would fail once the milter's own sockets
 * push descriptor numbers past FD_SETSIZE. Connections are capped and
 * time out, so a slow or hostile scraper cannot hold the thread or pile
 * up sockets. The endpoint takes no input: the URL and method choose
 * between the metrics and 404, nothing else is read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "../policy/log.h"
#include "../policy/xalloc.h"
#include "metrics_http.h"

#define MH_CONN_MAX	16	/* concurrent scrapes */
#define MH_TIMEOUT_S	10	/* idle connection timeout */
#define MH_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct rg_metrics_http {
	struct MHD_Daemon *daemon;
};

/* mh_log - libmicrohttpd's error messages into our log */
static void __attribute__((format(printf, 2, 0)))
mh_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	rg_log_warn("metrics: %s", msg);
}

/* mh_reply - queue a response with body and content type */
static enum MHD_Result
mh_reply(struct MHD_Connection *conn, unsigned status, const struct rg_buf *b,
    const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(b->len, b->data ? b->data : (char *)"",
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) == MHD_NO) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* mh_answer - /metrics for GET and HEAD; 404 for everything else */
static enum MHD_Result
mh_answer(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct rg_buf body = RG_BUF_INIT;
	enum MHD_Result rc;

	(void)cls, (void)version, (void)upload_data, (void)upload_size;
	(void)con_cls;
	if (strcmp(url, "/metrics") == 0 && (strcmp(method, "GET") == 0 ||
	    strcmp(method, "HEAD") == 0)) {
		rg_metrics_render(&body);
		rc = mh_reply(conn, MHD_HTTP_OK, &body, MH_CONTENT_TYPE);
	} else {
		rg_buf_puts(&body, "Not found: try GET /metrics\n");
		rc = mh_reply(conn, MHD_HTTP_NOT_FOUND, &body,
		    "text/plain; charset=utf-8");
	}
	rg_buf_release(&body);
	return rc;
}

struct rg_metrics_http *
rg_metrics_http_start(const struct rg_metrics_listen *l, struct rg_buf *why)
{
	unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_ERROR_LOG;
	struct rg_metrics_http *h;
	struct MHD_Daemon *d;
	uint16_t port;

	if (l->sa.ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((const struct sockaddr_in6 *)&l->sa)->sin6_port);
	} else {
		port = ntohs(((const struct sockaddr_in *)&l->sa)->sin_port);
	}
	d = MHD_start_daemon(flags, port, NULL, NULL, mh_answer, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mh_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&l->sa,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)MH_CONN_MAX,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)MH_TIMEOUT_S,
	    MHD_OPTION_END);
	if (d == NULL) {
		rg_buf_printf(why, "cannot serve metrics on %s (address in use, "
		    "or not ours?)", l->text ? l->text : "?");
		return NULL;
	}
	h = rg_xcalloc(1, sizeof(*h));
	h->daemon = d;
	return h;
}

struct rg_metrics_http *
rg_metrics_http_stop(struct rg_metrics_http *h)
{
	if (h == NULL)
		return NULL;
	MHD_stop_daemon(h->daemon);
	free(h);
	return NULL;
}
