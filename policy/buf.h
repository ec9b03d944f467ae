/*
 * buf.h - growable byte strings
 *
 * A struct rg_buf holds bytes that may contain anything (header values, DNS
 * data); it is always NUL-terminated as a safety net, but its length is
 * authoritative. Initialise with RG_BUF_INIT or rg_buf_init(); release with
 * rg_buf_release() (for embedded buffers) or rg_buf_free() (for buffers from
 * rg_buf_alloc()). Not thread-safe: one owner at a time.
 */
#ifndef RG_BUF_H
#define RG_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct rg_buf {
	char *data;	/* NUL-terminated; NULL until the first append */
	size_t len;	/* bytes in use, not counting the NUL */
	size_t cap;	/* bytes allocated */
};

#define RG_BUF_INIT { NULL, 0, 0 }

void rg_buf_init(struct rg_buf *b);
struct rg_buf *rg_buf_alloc(void);
/* rg_buf_free - release a heap buffer; accepts NULL, returns NULL */
struct rg_buf *rg_buf_free(struct rg_buf *b);
void rg_buf_release(struct rg_buf *b);
void rg_buf_reset(struct rg_buf *b);
void rg_buf_truncate(struct rg_buf *b, size_t len);
void rg_buf_reserve(struct rg_buf *b, size_t extra);
void rg_buf_append(struct rg_buf *b, const void *p, size_t n);
void rg_buf_puts(struct rg_buf *b, const char *s);
void rg_buf_putc(struct rg_buf *b, int c);
void rg_buf_printf(struct rg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rg_buf_vprintf(struct rg_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* rg_buf_put_quoted - append v as a quoted-string (RFC 5322 s3.2.4): '"'
 * and '\\' escaped, control characters replaced by '?' */
void rg_buf_put_quoted(struct rg_buf *b, const char *v);
/* rg_buf_put_json - append v as a JSON string (RFC 8259 s7): control
 * characters escaped, invalid UTF-8 (RFC 3629 s4) replaced by U+FFFD */
void rg_buf_put_json(struct rg_buf *b, const char *v);
/* rg_buf_cstr - the contents as a C string ("" when empty); borrowed */
const char *rg_buf_cstr(const struct rg_buf *b);
/* rg_buf_steal - hand the storage to the caller (free with free()) */
char *rg_buf_steal(struct rg_buf *b);

#endif
