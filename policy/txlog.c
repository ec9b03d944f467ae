/*
 * txlog.c - the one summary line per transaction (see txlog.h)
 *
 * The fields are gathered once into an ordered list, then rendered as
 * key=value or JSON, so both formats always carry the same fields. Each
 * value is capped (TXLOG_VALUE_MAX) and the recipient lists are cut after
 * TXLOG_RCPTS_MAX entries with a count of the rest, so one line stays
 * within the logger's line size whatever the client sent.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "txlog.h"

#define TXLOG_FIELDS_MAX	(16 + RG_NOTES_MAX)
#define TXLOG_VALUE_MAX		400
#define TXLOG_RCPTS_MAX		10

struct txlog_field {
	const char *key;
	char value[TXLOG_VALUE_MAX];
};

struct txlog {
	struct txlog_field f[TXLOG_FIELDS_MAX];
	size_t n;
};

static void
txlog_add(struct txlog *t, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
txlog_add(struct txlog *t, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (t->n == TXLOG_FIELDS_MAX)
		return;
	t->f[t->n].key = key;
	va_start(ap, fmt);
	vsnprintf(t->f[t->n].value, TXLOG_VALUE_MAX, fmt, ap);
	va_end(ap);
	t->n++;
}

/* txlog_rcpts - comma-separated recipients whose refusal matches */
static void
txlog_rcpts(struct txlog *t, const char *key, const struct rg_msg *m,
    int refused)
{
	struct rg_buf b = RG_BUF_INIT;
	size_t shown = 0, more = 0;

	for (size_t i = 0; i < m->nrcpts; i++) {
		int r = m->rcpts[i].action == RG_ACT_REJECT ||
		    m->rcpts[i].action == RG_ACT_TEMPFAIL;

		if (r != refused)
			continue;
		if (shown == TXLOG_RCPTS_MAX) {
			more++;
			continue;
		}
		rg_buf_printf(&b, "%s<%s>", shown ? "," : "", m->rcpts[i].addr);
		shown++;
	}
	if (more)
		rg_buf_printf(&b, ",+%zu more", more);
	if (shown)
		txlog_add(t, key, "%s", rg_buf_cstr(&b));
	rg_buf_release(&b);
}

static void
txlog_client(struct txlog *t, const struct rg_conn *c)
{
	txlog_add(t, "client", "%s[%s]:%u", rg_conn_client_name(c),
	    c->client_addr[0] ? c->client_addr : "unknown", c->client_port);
	if (c->helo[0])
		txlog_add(t, "helo", "%s", c->helo);
	if (c->auth_user[0])
		txlog_add(t, "auth", "%s", c->auth_user);
	if (c->tls_version[0])
		txlog_add(t, "tls", "%s", c->tls_version);
}

static void
txlog_reply(struct txlog *t, const struct rg_verdict *v)
{
	if (v->check[0])
		txlog_add(t, "check", "%s", v->check);
	if (v->rcode[0])
		txlog_add(t, "reply", "%s %s %s", v->rcode, v->xcode, v->text);
}

/* txlog_kv_value - a value, quoted when it holds space, quote or '=' */
static void
txlog_kv_value(struct rg_buf *out, const char *v)
{
	if (*v && strpbrk(v, " \t\"=\\") == NULL)
		rg_buf_puts(out, v);
	else
		rg_buf_put_quoted(out, v);
}

static void
txlog_emit(const struct rg_conn *c, const struct txlog *t)
{
	struct rg_buf out = RG_BUF_INIT;
	int json = c->conf->core.log_format == RG_LF_JSON;

	if (json)
		rg_buf_printf(&out, "{\"id\":\"%s\"", c->id);
	for (size_t i = 0; i < t->n; i++) {
		if (json) {
			rg_buf_printf(&out, ",\"%s\":", t->f[i].key);
			rg_buf_put_json(&out, t->f[i].value);
		} else {
			rg_buf_printf(&out, "%s%s=", i ? " " : "", t->f[i].key);
			txlog_kv_value(&out, t->f[i].value);
		}
	}
	if (json) {
		rg_buf_putc(&out, '}');
		rg_log_write(RG_LOG_INFO, "%s", rg_buf_cstr(&out));
	} else {
		rg_log_write_id(RG_LOG_INFO, c->id, "%s", rg_buf_cstr(&out));
	}
	rg_buf_release(&out);
}

void
rg_txlog_message(struct rg_conn *c, const char *verdict)
{
	struct rg_msg *m = c->msg;
	struct txlog t;

	if (m == NULL || m->logged)
		return;
	m->logged = 1;
	rg_metrics_message(c, verdict);
	t.n = 0;
	txlog_add(&t, "verdict", "%s", verdict);
	txlog_client(&t, c);
	txlog_add(&t, "from", "<%s>", m->sender);
	txlog_rcpts(&t, "to", m, 0);
	txlog_rcpts(&t, "refused", m, 1);
	if (m->nrcpts_over)
		txlog_add(&t, "over_limit", "%zu", m->nrcpts_over);
	txlog_add(&t, "size", "%zu", m->header_bytes + m->body_bytes);
	for (size_t i = 0; i < m->nnotes; i++)
		txlog_add(&t, m->notes[i].key, "%s", m->notes[i].value);
	txlog_reply(&t, &m->verdict);
	txlog_add(&t, "time", "%ldms", rg_elapsed_ms(&m->start));
	txlog_emit(c, &t);
}

void
rg_txlog_connection(struct rg_conn *c)
{
	struct txlog t;

	if (c->logged)
		return;
	c->logged = 1;
	rg_metrics_connection(c);
	t.n = 0;
	txlog_add(&t, "verdict", "%s", rg_action_name(c->verdict.action));
	txlog_client(&t, c);
	txlog_reply(&t, &c->verdict);
	txlog_add(&t, "time", "%ldms", rg_elapsed_ms(&c->start));
	txlog_emit(c, &t);
}
