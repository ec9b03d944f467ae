/*
 * metrics_http.h - the Prometheus endpoint: GET /metrics over HTTP
 *
 * One libmicrohttpd daemon with its own thread serves the text that
 * rg_metrics_render() writes; every other path gets 404. Started once,
 * after the privilege drop and after the signal mask is set (its thread
 * inherits the mask); stopped at shutdown before the resolver and the
 * counter store it reads from are closed.
 */
#ifndef RG_METRICS_HTTP_H
#define RG_METRICS_HTTP_H

#include "../policy/buf.h"
#include "../policy/metrics.h"

struct rg_metrics_http;

/*
 * rg_metrics_http_start - listen on l; NULL with the reason in why when
 * the address cannot be bound. Caller owns the result.
 */
struct rg_metrics_http *rg_metrics_http_start(const struct rg_metrics_listen *l,
    struct rg_buf *why);
/* rg_metrics_http_stop - close the socket, join the thread; returns NULL */
struct rg_metrics_http *rg_metrics_http_stop(struct rg_metrics_http *h);

#endif
