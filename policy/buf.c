/*
 * buf.c - growable byte strings (see buf.h)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "xalloc.h"

void
rg_buf_init(struct rg_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

struct rg_buf *
rg_buf_alloc(void)
{
	return rg_xcalloc(1, sizeof(struct rg_buf));
}

struct rg_buf *
rg_buf_free(struct rg_buf *b)
{
	if (b != NULL) {
		rg_buf_release(b);
		free(b);
	}
	return NULL;
}

/* rg_buf_release - free the storage of an embedded buffer */
void
rg_buf_release(struct rg_buf *b)
{
	free(b->data);
	rg_buf_init(b);
}

void
rg_buf_reset(struct rg_buf *b)
{
	rg_buf_truncate(b, 0);
}

void
rg_buf_truncate(struct rg_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}

/* rg_buf_reserve - make room for extra bytes plus the terminator */
void
rg_buf_reserve(struct rg_buf *b, size_t extra)
{
	size_t need, cap;

	if (extra > SIZE_MAX - b->len - 1)
		rg_panic("rg_buf_reserve: size overflow");
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->data = rg_xrealloc(b->data, cap);
	b->cap = cap;
}

void
rg_buf_append(struct rg_buf *b, const void *p, size_t n)
{
	rg_buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
rg_buf_puts(struct rg_buf *b, const char *s)
{
	rg_buf_append(b, s, strlen(s));
}

void
rg_buf_putc(struct rg_buf *b, int c)
{
	char ch = (char)c;

	rg_buf_append(b, &ch, 1);
}

void
rg_buf_vprintf(struct rg_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	rg_buf_reserve(b, 64);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		rg_panic("rg_buf_vprintf: bad format");
	if ((size_t)n >= b->cap - b->len) {
		rg_buf_reserve(b, (size_t)n);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void
rg_buf_printf(struct rg_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rg_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void
rg_buf_put_quoted(struct rg_buf *b, const char *v)
{
	rg_buf_putc(b, '"');
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '"' || c == '\\')
			rg_buf_putc(b, '\\');
		rg_buf_putc(b, c < 0x20 || c == 0x7f ? '?' : c);
	}
	rg_buf_putc(b, '"');
}

/* buf_utf8_len - length of a valid UTF-8 sequence at p (RFC 3629 s4), or 0 */
static size_t
buf_utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* no overlong forms, no surrogates, nothing above U+10FFFF */
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

void
rg_buf_put_json(struct rg_buf *b, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n;

	rg_buf_putc(b, '"');
	while (*p) {
		if (*p == '"' || *p == '\\') {
			rg_buf_putc(b, '\\');
			rg_buf_putc(b, *p++);
		} else if (*p < 0x20 || *p == 0x7f) {
			rg_buf_printf(b, "\\u%04x", *p++);
		} else if (*p < 0x80) {
			rg_buf_putc(b, *p++);
		} else if ((n = buf_utf8_len(p)) > 0) {
			rg_buf_append(b, p, n);
			p += n;
		} else {
			rg_buf_puts(b, "\\ufffd");
			p++;
		}
	}
	rg_buf_putc(b, '"');
}

const char *
rg_buf_cstr(const struct rg_buf *b)
{
	return b->data ? b->data : "";
}

char *
rg_buf_steal(struct rg_buf *b)
{
	char *p = b->data ? b->data : rg_xstrdup("");

	rg_buf_init(b);
	return p;
}
