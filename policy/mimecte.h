/*
 * mimecte.h - streaming Content-Transfer-Encoding decoders (RFC 2045 s6)
 *
 * A struct rg_mime_dec turns the encoded lines of one body part back into
 * bytes, whatever the chunking: base64 (RFC 2045 s6.8; characters outside
 * the alphabet are skipped, an incomplete quartet at the end of the part
 * yields what it can) and quoted-printable (RFC 2045 s6.7: soft line
 * breaks, =XX, trailing white space removed, bad escapes kept literally).
 * Identity (7bit, 8bit, binary, anything unknown) passes bytes through.
 *
 * The caller feeds the bytes of each line without its line break, calls
 * rg_mime_dec_eol() where a line break was, and rg_mime_dec_end() at the
 * end of the part. Decoded bytes go to the emit function given at init;
 * the line break before the end of a part belongs to the boundary
 * (RFC 2046 s5.1.1) and is not emitted. No allocation; not thread-safe
 * (one decoder per part).
 */
#ifndef RG_MIMECTE_H
#define RG_MIMECTE_H

#include <stddef.h>

enum rg_mime_cte {
	RG_MIME_CTE_IDENTITY,	/* 7bit, 8bit, binary, or unknown */
	RG_MIME_CTE_BASE64,
	RG_MIME_CTE_QP,
};

/* RFC 2045 s6.7 (1): encoded lines are at most 76 characters, so a longer
 * run of white space cannot be trailing transport padding to strip */
#define RG_MIME_QP_WS_MAX	80

struct rg_mime_dec {
	enum rg_mime_cte cte;
	void (*emit)(void *arg, const char *p, size_t n);
	void *arg;
	int nl;			/* a line break is owed before more output */
	unsigned long b64;	/* base64: bits of the quartet so far */
	int b64n;		/* base64: sextets in the quartet */
	int qp;			/* quoted-printable state */
	char qphex;		/* first hex digit after '=' */
	size_t nws;		/* white space held back: may be trailing */
	char ws[RG_MIME_QP_WS_MAX];
};

/* rg_mime_cte_parse - a Content-Transfer-Encoding value; unknown: identity */
enum rg_mime_cte rg_mime_cte_parse(const char *value);
const char *rg_mime_cte_name(enum rg_mime_cte cte);

void rg_mime_dec_init(struct rg_mime_dec *d, enum rg_mime_cte cte,
    void (*emit)(void *arg, const char *p, size_t n), void *arg);
/* rg_mime_dec_feed - bytes of the current line (no line break) */
void rg_mime_dec_feed(struct rg_mime_dec *d, const char *p, size_t n);
/* rg_mime_dec_eol - the current line ended */
void rg_mime_dec_eol(struct rg_mime_dec *d);
/* rg_mime_dec_end - the part ended: emit what is pending */
void rg_mime_dec_end(struct rg_mime_dec *d);

#endif
