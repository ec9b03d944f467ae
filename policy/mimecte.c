/*
 * mimecte.c - streaming Content-Transfer-Encoding decoders (see mimecte.h)
 *
 * Each decoder is a byte-at-a-time state machine, so a base64 quartet, a
 * "=XX" escape or a soft line break may be split anywhere between calls.
 * Output is batched in a small buffer on the stack and handed to the emit
 * function in runs. Identity (7bit, 8bit, binary, unknown) has nothing to
 * decode: its bytes go to the emit function as they came, uncopied.
 */
#include <string.h>
#include <strings.h>

#include "mimecte.h"

enum { QP_TEXT, QP_EQ, QP_EQ1, QP_EQWS };

/* a run of decoded bytes on its way to the emit function */
struct dec_out {
	struct rg_mime_dec *d;
	size_t n;
	char buf[512];
};

/* out_flush - hand the batch to the emit function */
static void
out_flush(struct dec_out *o)
{
	if (o->n > 0)
		o->d->emit(o->d->arg, o->buf, o->n);
	o->n = 0;
}

/* out_put - one decoded byte, after any line break still owed */
static void
out_put(struct dec_out *o, char c)
{
	if (o->d->nl) {
		o->d->nl = 0;
		out_put(o, '\n');
	}
	if (o->n == sizeof(o->buf))
		out_flush(o);
	o->buf[o->n++] = c;
}

/* out_ws - release the white space held back: it was not trailing */
static void
out_ws(struct dec_out *o)
{
	for (size_t i = 0; i < o->d->nws; i++)
		out_put(o, o->d->ws[i]);
	o->d->nws = 0;
}

/* hexval - value of a hex digit (either case, as RFC 2045 s6.7 advises
 * robust decoders to accept), or -1 */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* b64val - value of a base64 character (RFC 2045 table 1), or -1 */
static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* b64_flush - '=' or the end of the part: emit a partial quartet */
static void
b64_flush(struct dec_out *o)
{
	struct rg_mime_dec *d = o->d;

	if (d->b64n == 2) {
		out_put(o, (char)((d->b64 >> 4) & 0xff));
	} else if (d->b64n == 3) {
		out_put(o, (char)((d->b64 >> 10) & 0xff));
		out_put(o, (char)((d->b64 >> 2) & 0xff));
	}
	d->b64 = 0;
	d->b64n = 0;
}

/* b64_byte - one base64 character; anything outside the alphabet is
 * skipped (RFC 2045 s6.8), and decoding goes on after padding, since
 * some mailers join several encoded blocks */
static void
b64_byte(struct dec_out *o, int c)
{
	struct rg_mime_dec *d = o->d;
	int v = b64val(c);

	if (v < 0) {
		if (c == '=')
			b64_flush(o);
		return;
	}
	d->b64 = (d->b64 << 6) | (unsigned long)v;
	if (++d->b64n == 4) {
		out_put(o, (char)((d->b64 >> 16) & 0xff));
		out_put(o, (char)((d->b64 >> 8) & 0xff));
		out_put(o, (char)(d->b64 & 0xff));
		d->b64 = 0;
		d->b64n = 0;
	}
}

/* qp_ws - hold back one white space character, which may turn out to be
 * trailing (RFC 2045 s6.7 (3): the decoder deletes it) */
static void
qp_ws(struct dec_out *o, int c)
{
	struct rg_mime_dec *d = o->d;

	if (d->nws == sizeof(d->ws)) {
		if (d->qp == QP_EQWS)
			out_put(o, '=');
		d->qp = QP_TEXT;
		out_ws(o);
	}
	d->ws[d->nws++] = (char)c;
}

/* qp_byte - one quoted-printable character; a bad escape is kept as it
 * stands (RFC 2045 s6.7 note (2)) */
static void
qp_byte(struct dec_out *o, int c)
{
	struct rg_mime_dec *d = o->d;

	for (;;) {
		switch (d->qp) {
		case QP_EQ:
			if (hexval(c) >= 0) {
				d->qphex = (char)c;
				d->qp = QP_EQ1;
				return;
			}
			if (c == ' ' || c == '\t') {
				d->qp = QP_EQWS;
				qp_ws(o, c);
				return;
			}
			out_put(o, '=');
			d->qp = QP_TEXT;
			continue;
		case QP_EQ1:
			d->qp = QP_TEXT;
			if (hexval(c) >= 0) {
				out_put(o, (char)(hexval(d->qphex) << 4 | hexval(c)));
				return;
			}
			out_put(o, '=');
			out_put(o, d->qphex);
			continue;
		case QP_EQWS:
			if (c == ' ' || c == '\t') {
				qp_ws(o, c);
				return;
			}
			out_put(o, '=');
			d->qp = QP_TEXT;
			out_ws(o);
			continue;
		default:
			if (c == '=') {
				out_ws(o);
				d->qp = QP_EQ;
			} else if (c == ' ' || c == '\t') {
				qp_ws(o, c);
			} else {
				out_ws(o);
				out_put(o, (char)c);
			}
			return;
		}
	}
}

/* qp_close - end of an encoded line or of the part; returns 1 for a soft
 * line break ("=" then only white space) */
static int
qp_close(struct dec_out *o)
{
	struct rg_mime_dec *d = o->d;
	int soft = d->qp == QP_EQ || d->qp == QP_EQWS;

	if (d->qp == QP_EQ1) {
		out_put(o, '=');
		out_put(o, d->qphex);
	}
	d->qp = QP_TEXT;
	d->nws = 0;
	return soft;
}

enum rg_mime_cte
rg_mime_cte_parse(const char *value)
{
	if (strcasecmp(value, "base64") == 0)
		return RG_MIME_CTE_BASE64;
	if (strcasecmp(value, "quoted-printable") == 0)
		return RG_MIME_CTE_QP;
	return RG_MIME_CTE_IDENTITY;
}

const char *
rg_mime_cte_name(enum rg_mime_cte cte)
{
	switch (cte) {
	case RG_MIME_CTE_BASE64:
		return "base64";
	case RG_MIME_CTE_QP:
		return "quoted-printable";
	default:
		return "identity";
	}
}

void
rg_mime_dec_init(struct rg_mime_dec *d, enum rg_mime_cte cte,
    void (*emit)(void *arg, const char *p, size_t n), void *arg)
{
	memset(d, 0, sizeof(*d));
	d->cte = cte;
	d->emit = emit;
	d->arg = arg;
	d->qp = QP_TEXT;
}

/* rg_mime_dec_feed - decode bytes of the current line */
void
rg_mime_dec_feed(struct rg_mime_dec *d, const char *p, size_t n)
{
	struct dec_out o;

	if (d->cte != RG_MIME_CTE_BASE64 && d->cte != RG_MIME_CTE_QP) {
		if (n == 0)
			return;
		/* the line break owed before this line's first byte */
		if (d->nl) {
			d->nl = 0;
			d->emit(d->arg, "\n", 1);
		}
		d->emit(d->arg, p, n);
		return;
	}
	o.d = d;
	o.n = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)p[i];

		if (d->cte == RG_MIME_CTE_BASE64)
			b64_byte(&o, c);
		else
			qp_byte(&o, c);
	}
	out_flush(&o);
}

/* rg_mime_dec_eol - a line break: owed to the output unless it is a
 * quoted-printable soft break; base64 ignores line breaks */
void
rg_mime_dec_eol(struct rg_mime_dec *d)
{
	struct dec_out o;

	if (d->cte == RG_MIME_CTE_BASE64)
		return;
	o.d = d;
	o.n = 0;
	if (d->cte == RG_MIME_CTE_QP && qp_close(&o)) {
		out_flush(&o);
		return;
	}
	if (d->nl) {
		d->nl = 0;
		out_put(&o, '\n');
	}
	out_flush(&o);
	d->nl = 1;
}

/* rg_mime_dec_end - flush a partial quartet or escape; the last line
 * break belongs to the boundary and is dropped */
void
rg_mime_dec_end(struct rg_mime_dec *d)
{
	struct dec_out o;

	o.d = d;
	o.n = 0;
	if (d->cte == RG_MIME_CTE_BASE64)
		b64_flush(&o);
	else if (d->cte == RG_MIME_CTE_QP)
		(void)qp_close(&o);
	out_flush(&o);
	d->nl = 0;
}
