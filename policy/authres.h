/*
 * authres.h - Authentication-Results (RFC 8601)
 *
 * Checks append resinfo entries to the message ("spf=pass
 * smtp.mailfrom=example.com"); rg_authres_format() builds the header
 * value "authserv-id; resinfo; resinfo" or "authserv-id; none", folded
 * with LF + TAB, the line ending libmilter expects in header values.
 */
#ifndef RG_AUTHRES_H
#define RG_AUTHRES_H

#include "buf.h"

struct rg_msg;

/* rg_authres_add - append "method=result prop=value ..." (caller formats) */
void rg_authres_add(struct rg_msg *m, const char *resinfo);
/* rg_authres_format - the header value; out is reset first */
void rg_authres_format(const struct rg_msg *m, const char *authserv_id,
    struct rg_buf *out);
/* rg_authres_pvalue - append a property value, quoted when RFC 8601 needs it */
void rg_authres_pvalue(struct rg_buf *out, const char *value);

/*
 * rg_authres_is_ours - does an Authentication-Results value claim our
 * authserv-id? Compares the leading authserv-id (a token or quoted
 * string after optional CFWS) without case, so "MX.Example" and
 * "mx.example" both match (RFC 8601 s5: remove such headers on entry).
 */
int rg_authres_is_ours(const char *value, const char *authserv_id);

#endif
