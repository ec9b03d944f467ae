/*
 * authres.c - Authentication-Results header values (RFC 8601)
 *
 * A pvalue (RFC 8601 s2.2) is a token, or an addr-spec-like
 * [local-part "@"] domain; anything else is written as a quoted-string
 * with '\' and '"' escaped, so a hostile SASL login or sender cannot add
 * fields of its own to the header.
 */
#include <ctype.h>
#include <string.h>

#include "authres.h"
#include "session.h"

void
rg_authres_add(struct rg_msg *m, const char *resinfo)
{
	if (m->authres.len > 0)
		rg_buf_puts(&m->authres, ";\n\t");
	rg_buf_puts(&m->authres, resinfo);
}

void
rg_authres_format(const struct rg_msg *m, const char *authserv_id,
    struct rg_buf *out)
{
	rg_buf_reset(out);
	rg_buf_puts(out, authserv_id[0] ? authserv_id : "localhost");
	if (m->authres.len == 0) {
		rg_buf_puts(out, "; none");
		return;
	}
	rg_buf_puts(out, ";\n\t");
	rg_buf_append(out, m->authres.data, m->authres.len);
}

/* authres_token_char - RFC 2045 token characters, minus '@' (tspecials) */
static int
authres_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

void
rg_authres_pvalue(struct rg_buf *out, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;
	int plain = *p != '\0', ats = 0;

	for (; *p; p++) {
		if (*p == '@' && ++ats == 1 && p != (const unsigned char *)value)
			continue;
		if (!authres_token_char(*p))
			plain = 0;
	}
	if (ats > 1)
		plain = 0;
	if (plain) {
		rg_buf_puts(out, value);
		return;
	}
	rg_buf_put_quoted(out, value);
}

/* authres_skip_cfws - white space and (nested) comments, RFC 5322 s3.2.2 */
static const char *
authres_skip_cfws(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (*p == '\\' && depth > 0 && p[1] != '\0')
			p++;
		else if (depth == 0 && *p != ' ' && *p != '\t' && *p != '\r' &&
		    *p != '\n')
			break;
	}
	return p;
}

/*
 * rg_authres_is_ours - compared in place, without a copy: an id of any
 * length, and no prefix of a longer one, matches
 */
int
rg_authres_is_ours(const char *value, const char *authserv_id)
{
	const char *p = authres_skip_cfws(value), *want = authserv_id;

	if (*authserv_id == '\0')
		return 0;
	if (*p == '"') {
		for (p++; *p != '"'; p++, want++) {
			if (*p == '\0')
				return 0;	/* unterminated quoted-string */
			if (*p == '\\' && p[1] != '\0')
				p++;
			/* also ends at the end of want: *p is no NUL */
			if (tolower((unsigned char)*p) != tolower((unsigned char)*want))
				return 0;
		}
		return *want == '\0';
	}
	for (; authres_token_char((unsigned char)*p); p++, want++)
		if (tolower((unsigned char)*p) != tolower((unsigned char)*want))
			return 0;
	return *want == '\0';
}
