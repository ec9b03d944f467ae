/*
 * dkim_int.h - what dkim.c, dkim_sign.c and dkim_dns.c share; not for
 * other modules (they use dkim.h)
 *
 * The libopendkim handle is created once per process and only read
 * afterwards. The resolver a handle uses is passed to the DNS hooks
 * through a thread-local pointer for the length of a libopendkim call.
 */
#ifndef RG_DKIM_INT_H
#define RG_DKIM_INT_H

#include <sys/types.h>
#include <stdbool.h>

#include <opendkim/dkim.h>

#include "buf.h"
#include "dkim.h"

struct rg_dkim_resolver {
	rg_dkim_txt_lookup fn;
	void *arg;
};

/* rg_dkim_lib - the library handle, created on first use; NULL if broken */
DKIM_LIB *rg_dkim_lib(void);
/* rg_dkim_dns_install - point libopendkim's DNS hooks at ours */
void rg_dkim_dns_install(DKIM_LIB *lib);
/* rg_dkim_dns_enter - resolver for this thread's next calls (NULL: the
 * default); returns the one before, for rg_dkim_dns_leave */
const struct rg_dkim_resolver *rg_dkim_dns_enter(
    const struct rg_dkim_resolver *r);
void rg_dkim_dns_leave(const struct rg_dkim_resolver *prev);

/*
 * RFC 6376 s3.4.3 and s3.4.4: a body that does not end in CRLF is hashed
 * as if it did; libopendkim refuses to sign one instead, so we feed the
 * CRLF ourselves at the end.
 */
struct rg_dkim_tail {
	unsigned char last[2];
	size_t len;
};

void rg_dkim_tail_update(struct rg_dkim_tail *t, const void *chunk,
    size_t len);
int rg_dkim_tail_needs_crlf(const struct rg_dkim_tail *t);

/* rg_dkim_name_ok - a field name libopendkim takes (RFC 5322 s3.6.8) */
int rg_dkim_name_ok(const char *name);
/*
 * rg_dkim_field - "Name:value" into out (reset first) as dkim_header()
 * wants it: line breaks as CRLF, none at the end; with leadspc 0 a space
 * goes back after the colon.
 */
void rg_dkim_field(struct rg_buf *out, const char *name, const char *value,
    int leadspc);

#endif
