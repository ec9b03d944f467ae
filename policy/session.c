/*
 * session.c - connection and message contexts (see session.h)
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "conf.h"
#include "dkim.h"
#include "msgscan.h"
#include "dnsbl.h"
#include "ratelimit.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "xalloc.h"

struct rg_conn *
rg_conn_new(struct rg_conf *conf, unsigned long serial)
{
	struct rg_conn *c = rg_xcalloc(1, sizeof(*c));

	c->conf = conf;
	c->serial = serial;
	snprintf(c->id, sizeof(c->id), "NOQUEUE-%lu", serial);
	rg_verdict_init(&c->verdict);
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	return c;
}

struct rg_conn *
rg_conn_free(struct rg_conn *c)
{
	if (c == NULL)
		return NULL;
	rg_msg_end(c);
	rg_dnsbl_free(c);
	rg_limits_free(c);
	rg_verdict_clear(&c->verdict);
	rg_conf_release(c->conf);
	free(c);
	return NULL;
}

void
rg_copy_field(char *dst, size_t size, const char *src)
{
	rg_strlcpy(dst, src ? src : "", size);
}

void
rg_conn_set_client(struct rg_conn *c, const char *name,
    const struct sockaddr *sa)
{
	rg_copy_field(c->client_name, sizeof(c->client_name), name);
	memset(&c->client_sa, 0, sizeof(c->client_sa));
	c->client_addr[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		memcpy(&c->client_sa, in, sizeof(*in));
		inet_ntop(AF_INET, &in->sin_addr, c->client_addr, sizeof(c->client_addr));
		c->client_port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		memcpy(&c->client_sa, in6, sizeof(*in6));
		inet_ntop(AF_INET6, &in6->sin6_addr, c->client_addr,
		    sizeof(c->client_addr));
		c->client_port = ntohs(in6->sin6_port);
	}
}

const char *
rg_conn_client_name(const struct rg_conn *c)
{
	return c->client_name[0] && c->client_name[0] != '[' ?
	    c->client_name : "unknown";
}

void
rg_conn_set_qid(struct rg_conn *c, const char *qid)
{
	if (qid == NULL || *qid == '\0' || strcmp(qid, c->qid) == 0)
		return;
	rg_copy_field(c->qid, sizeof(c->qid), qid);
	rg_copy_field(c->id, sizeof(c->id), c->qid);
}

struct rg_msg *
rg_msg_begin(struct rg_conn *c)
{
	rg_msg_end(c);
	c->msg = rg_xcalloc(1, sizeof(*c->msg));
	rg_verdict_init(&c->msg->verdict);
	c->msg->scan = rg_msgscan_new(&c->conf->mime, &c->conf->uri);
	clock_gettime(CLOCK_MONOTONIC, &c->msg->start);
	c->nmsgs++;
	/* a new transaction gets its own queue id from the MTA */
	c->qid[0] = '\0';
	snprintf(c->id, sizeof(c->id), "NOQUEUE-%lu", c->serial);
	return c->msg;
}

void
rg_msg_end(struct rg_conn *c)
{
	struct rg_msg *m = c->msg;

	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nrcpts; i++)
		free(m->rcpts[i].addr);
	free(m->rcpts);
	for (size_t i = 0; i < m->nheaders; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	rg_buf_release(&m->authres);
	rg_verdict_clear(&m->verdict);
	rg_msgscan_free(m->scan);
	rg_dkim_verify_free(m->dkim_verify);
	rg_dkim_sign_free(m->dkim_sign);
	free(m);
	c->msg = NULL;
}

void
rg_strip_brackets(char *dst, size_t size, const char *src)
{
	size_t len;

	if (src == NULL)
		src = "";
	len = strlen(src);
	if (len >= 2 && src[0] == '<' && src[len - 1] == '>') {
		src++;
		len -= 2;
	}
	if (size == 0)
		return;
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

struct rg_rcpt *
rg_msg_add_rcpt(struct rg_conn *c, const char *addr)
{
	struct rg_msg *m = c->msg;
	struct rg_rcpt *r;
	char tmp[RG_PATH_MAX];

	if (m->nrcpts >= (size_t)c->conf->core.max_recipients)
		return NULL;
	if (m->nrcpts == m->rcpts_cap) {
		m->rcpts_cap = m->rcpts_cap ? m->rcpts_cap * 2 : 8;
		m->rcpts = rg_xreallocarray(m->rcpts, m->rcpts_cap, sizeof(*m->rcpts));
	}
	rg_strip_brackets(tmp, sizeof(tmp), addr);
	r = &m->rcpts[m->nrcpts++];
	memset(r, 0, sizeof(*r));
	r->addr = rg_xstrdup(tmp);
	r->action = RG_ACT_CONTINUE;
	return r;
}

void
rg_msg_add_header(struct rg_conn *c, const char *name, const char *value)
{
	struct rg_msg *m = c->msg;
	size_t nl = strlen(name), vl = strlen(value);

	m->header_bytes += nl + vl + 3;
	/* the scanner sees every field: a dropped Content-Type would blind it */
	rg_msgscan_header(m->scan, name, value);
	if (m->nheaders >= (size_t)c->conf->core.max_headers ||
	    m->header_bytes > (size_t)c->conf->core.max_header_bytes) {
		m->headers_dropped++;
		return;
	}
	if (m->nheaders == m->headers_cap) {
		m->headers_cap = m->headers_cap ? m->headers_cap * 2 : 16;
		m->headers = rg_xreallocarray(m->headers, m->headers_cap,
		    sizeof(*m->headers));
	}
	m->headers[m->nheaders].name = rg_xmemdup(name, nl);
	m->headers[m->nheaders].value = rg_xmemdup(value, vl);
	m->nheaders++;
}

void
rg_msg_add_body(struct rg_conn *c, const void *data, size_t len)
{
	c->msg->body_bytes += len;
	rg_msgscan_body(c->msg->scan, data, len);
}

const char *
rg_msg_header(const struct rg_msg *m, const char *name)
{
	for (size_t i = 0; i < m->nheaders; i++)
		if (strcasecmp(m->headers[i].name, name) == 0)
			return m->headers[i].value;
	return NULL;
}

void
rg_msg_note(struct rg_msg *m, const char *key, const char *fmt, ...)
{
	struct rg_note *n = NULL;
	va_list ap;

	for (size_t i = 0; i < m->nnotes; i++)
		if (strcmp(m->notes[i].key, key) == 0)
			n = &m->notes[i];
	if (n == NULL) {
		if (m->nnotes == RG_NOTES_MAX)
			return;
		n = &m->notes[m->nnotes++];
		rg_strlcpy(n->key, key, sizeof(n->key));
	}
	va_start(ap, fmt);
	vsnprintf(n->value, sizeof(n->value), fmt, ap);
	va_end(ap);
}

long
rg_elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)((now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000);
}
