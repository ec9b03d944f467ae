/*
 * mimehdr.h - MIME header field values: parameters and encoded words
 *
 * rg_mime_hdr_parse() splits a Content-Type or Content-Disposition value
 * into its lower-case main value ("text/html", "attachment") and its
 * parameters (RFC 2045 s5.1: tokens and quoted strings; RFC 822 comments
 * are skipped; a missing ';' between parameters is tolerated).
 * rg_mime_param_values() gives every decoded value of one parameter:
 * plain values with RFC 2047 encoded words decoded, and RFC 2231 values
 * (name*=charset'lang'%XX, continuations name*0*, name*1, ...) assembled
 * and converted. rg_mime_to_utf8() converts text in a named charset with
 * iconv, falling back to the bytes as they are.
 *
 * Caps: RG_MIME_PARAMS_MAX parameters per field, RG_MIME_SECTIONS_MAX
 * continuation sections. Parsed parameters belong to the caller
 * (rg_mime_params_free). Reentrant: no shared state.
 */
#ifndef RG_MIMEHDR_H
#define RG_MIMEHDR_H

#include <stddef.h>

#include "buf.h"

#define RG_MIME_PARAMS_MAX	64	/* parameters kept per field */
#define RG_MIME_PNAME_MAX	64	/* parameter name, lower case */
#define RG_MIME_SECTIONS_MAX	100	/* RFC 2231 s3: name*0 .. name*99 */
#define RG_MIME_CHARSET_MAX	40	/* longest charset name we look up */

struct rg_mime_param {
	char name[RG_MIME_PNAME_MAX];	/* without section or '*' */
	int section;		/* RFC 2231 s3: name*N; -1 when not split */
	int extended;		/* RFC 2231 s4: value is charset'lang'%XX */
	char *value;		/* unquoted; may hold NUL bytes */
	size_t len;
};

struct rg_mime_params {
	size_t n;
	struct rg_mime_param v[RG_MIME_PARAMS_MAX];
};

/*
 * rg_mime_hdr_parse - split a field value into the main value (lower
 * case, truncated to vsize) and parameters (caller frees with
 * rg_mime_params_free)
 */
void rg_mime_hdr_parse(const char *s, size_t len, char *value, size_t vsize,
    struct rg_mime_params *ps);
void rg_mime_params_free(struct rg_mime_params *ps);
/* rg_mime_param_get - the first plain value of a parameter, or NULL */
const struct rg_mime_param *rg_mime_param_get(const struct rg_mime_params *ps,
    const char *name);
/*
 * rg_mime_param_values - call fn with each decoded value of a parameter,
 * in UTF-8 where the charset is known; the value is borrowed for the
 * call. Returns the number of values.
 */
size_t rg_mime_param_values(const struct rg_mime_params *ps, const char *name,
    void (*fn)(void *arg, const char *v, size_t len), void *arg);
/* rg_mime_decode_words - RFC 2047 encoded words in s, appended as UTF-8 */
void rg_mime_decode_words(const char *s, size_t len, struct rg_buf *out);
/* rg_mime_to_utf8 - append s converted from charset; 0, or -1 when it
 * had to be copied unconverted (unknown charset, bad bytes) */
int rg_mime_to_utf8(const char *charset, const char *s, size_t len,
    struct rg_buf *out);

#endif
