/*
 * mimehdr.c - MIME header field values (see mimehdr.h)
 *
 * RFC 2045 s5.1 (parameters), RFC 2231 (continuations, charsets), RFC 2047
 * (encoded words), with the leniency real mail needs: comments anywhere,
 * missing semicolons, unquoted values with spaces, continuations out of
 * order, encoded words inside quoted strings.
 */
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mimehdr.h"
#include "xalloc.h"

/* RFC 2047 s2: an encoded word is at most 75 characters; longer ones are
 * accepted up to this, as some mailers ignore the limit */
#define MIMEHDR_WORD_MAX	1024

struct hdr_cur {
	const char *s;
	size_t len, pos;
};

/* is_ws - white space, including the line breaks of folded fields */
static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* skip_comment - an RFC 822 comment, nested, with quoted pairs */
static void
skip_comment(struct hdr_cur *c)
{
	size_t depth = 0;

	do {
		char ch = c->s[c->pos++];

		if (ch == '\\' && c->pos < c->len)
			c->pos++;
		else if (ch == '(')
			depth++;
		else if (ch == ')')
			depth--;
	} while (depth > 0 && c->pos < c->len);
}

/* skip_cfws - white space and comments */
static void
skip_cfws(struct hdr_cur *c)
{
	while (c->pos < c->len) {
		if (is_ws((unsigned char)c->s[c->pos]))
			c->pos++;
		else if (c->s[c->pos] == '(')
			skip_comment(c);
		else
			break;
	}
}

/* is_tchar - a character of a parameter name (lenient RFC 2045 token) */
static int
is_tchar(int c)
{
	return c > ' ' && c < 127 && strchr("=;\"()<>,:@\\/[]?", c) == NULL;
}

/* next_is_param - at white space inside an unquoted value: does the rest
 * start a comment or another "name=" (a missing ';')? */
static int
next_is_param(const struct hdr_cur *c, size_t i)
{
	while (i < c->len && is_ws((unsigned char)c->s[i]))
		i++;
	if (i < c->len && c->s[i] == '(')
		return 1;
	if (i >= c->len || !is_tchar((unsigned char)c->s[i]))
		return 0;
	while (i < c->len && is_tchar((unsigned char)c->s[i]))
		i++;
	return i < c->len && c->s[i] == '=';
}

/* read_value - a quoted string or an unquoted value into b */
static void
read_value(struct hdr_cur *c, struct rg_buf *b)
{
	size_t start, end;

	if (c->pos < c->len && c->s[c->pos] == '"') {
		for (c->pos++; c->pos < c->len && c->s[c->pos] != '"'; c->pos++) {
			if (c->s[c->pos] == '\\' && c->pos + 1 < c->len)
				c->pos++;
			/* a folded quoted string is unfolded (RFC 5322 s3.2.2) */
			if (c->s[c->pos] != '\r' && c->s[c->pos] != '\n')
				rg_buf_putc(b, c->s[c->pos]);
		}
		if (c->pos < c->len)
			c->pos++;
		return;
	}
	/* unquoted: up to ';', keeping inner spaces ("my file.exe") unless
	 * a comment or another parameter follows them */
	start = c->pos;
	while (c->pos < c->len && c->s[c->pos] != ';') {
		if (is_ws((unsigned char)c->s[c->pos]) && next_is_param(c, c->pos))
			break;
		c->pos++;
	}
	end = c->pos;
	while (end > start && is_ws((unsigned char)c->s[end - 1]))
		end--;
	rg_buf_append(b, c->s + start, end - start);
}

/* split_name - "name*N*" into name, section and extended (RFC 2231) */
static void
split_name(struct rg_mime_param *p, const char *s, size_t len)
{
	const char *star = memchr(s, '*', len);
	size_t blen = star != NULL ? (size_t)(star - s) : len;
	size_t i;

	p->section = -1;
	p->extended = 0;
	if (star != NULL) {
		/* "name*" (RFC 2231 s4), "name*N" (s3), "name*N*" (s4.1) */
		i = blen + 1;
		if (i < len && isdigit((unsigned char)s[i])) {
			p->section = 0;
			for (; i < len && isdigit((unsigned char)s[i]); i++)
				if (p->section < 100000)
					p->section = p->section * 10 + (s[i] - '0');
			if (i < len && s[i] == '*') {
				p->extended = 1;
				i++;
			}
		} else {
			p->extended = 1;
		}
		if (i != len) {		/* not the RFC 2231 form: a plain name */
			blen = len;
			p->section = -1;
			p->extended = 0;
		}
	}
	if (blen >= sizeof(p->name))
		blen = sizeof(p->name) - 1;
	for (i = 0; i < blen; i++)
		p->name[i] = (char)tolower((unsigned char)s[i]);
	p->name[blen] = '\0';
}

/* parse_param - one "name=value", or one stray character skipped */
static void
parse_param(struct hdr_cur *c, struct rg_mime_params *ps)
{
	size_t start = c->pos;
	struct rg_buf v = RG_BUF_INIT;
	struct rg_mime_param *p;

	while (c->pos < c->len && is_tchar((unsigned char)c->s[c->pos]))
		c->pos++;
	if (c->pos == start) {		/* stray character: skip it */
		c->pos++;
		return;
	}
	/* beyond RG_MIME_PARAMS_MAX: parsed to stay in step, not kept */
	p = ps->n < RG_MIME_PARAMS_MAX ? &ps->v[ps->n] : NULL;
	if (p != NULL)
		split_name(p, c->s + start, c->pos - start);
	skip_cfws(c);
	if (c->pos >= c->len || c->s[c->pos] != '=')
		return;
	c->pos++;
	skip_cfws(c);
	read_value(c, &v);
	if (p == NULL || p->section > RG_MIME_SECTIONS_MAX * 10) {
		rg_buf_release(&v);
		return;
	}
	p->len = v.len;
	p->value = v.data != NULL ? rg_buf_steal(&v) : rg_xstrdup("");
	ps->n++;
}

/* rg_mime_hdr_parse - main value and parameters of a structured field */
void
rg_mime_hdr_parse(const char *s, size_t len, char *value, size_t vsize,
    struct rg_mime_params *ps)
{
	struct hdr_cur c = { s, len, 0 };
	size_t n = 0;

	ps->n = 0;
	skip_cfws(&c);
	while (c.pos < len && s[c.pos] != ';' && s[c.pos] != '(' &&
	    !is_ws((unsigned char)s[c.pos])) {
		if (n + 1 < vsize)
			value[n++] = (char)tolower((unsigned char)s[c.pos]);
		c.pos++;
	}
	if (vsize > 0)
		value[n] = '\0';
	for (;;) {
		skip_cfws(&c);
		while (c.pos < len && s[c.pos] == ';') {
			c.pos++;
			skip_cfws(&c);
		}
		if (c.pos >= len)
			break;
		parse_param(&c, ps);
	}
}

void
rg_mime_params_free(struct rg_mime_params *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->v[i].value);
		ps->v[i].value = NULL;
	}
	ps->n = 0;
}

const struct rg_mime_param *
rg_mime_param_get(const struct rg_mime_params *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].section < 0 && !ps->v[i].extended &&
		    strcmp(ps->v[i].name, name) == 0)
			return &ps->v[i];
	return NULL;
}

/* hexval - value of a hex digit, or -1 */
static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* pct_decode - RFC 2231 s4 %XX octets; a bad escape is kept as it is */
static void
pct_decode(const char *s, size_t len, struct rg_buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && len - i > 2 &&
		    hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			rg_buf_putc(out, hexval((unsigned char)s[i + 1]) << 4 |
			    hexval((unsigned char)s[i + 2]));
			i += 2;
		} else {
			rg_buf_putc(out, s[i]);
		}
	}
}

/* split_charset - "charset'lang'rest": copy the charset, return rest */
static const char *
split_charset(const char *v, size_t len, char *cs, size_t cssize,
    size_t *restlen)
{
	const char *q1 = memchr(v, '\'', len), *q2;

	cs[0] = '\0';
	*restlen = len;
	if (q1 == NULL)
		return v;
	q2 = memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - v));
	if (q2 == NULL)
		return v;
	if ((size_t)(q1 - v) < cssize) {
		memcpy(cs, v, (size_t)(q1 - v));
		cs[q1 - v] = '\0';
	}
	*restlen = len - (size_t)(q2 + 1 - v);
	return q2 + 1;
}

/* find_section - the parameter holding section idx of name, or NULL */
static const struct rg_mime_param *
find_section(const struct rg_mime_params *ps, const char *name, int idx)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].section == idx && strcmp(ps->v[i].name, name) == 0)
			return &ps->v[i];
	return NULL;
}

/* assemble_sections - RFC 2231 s3 continuations, from the lowest present
 * (a value that lacks section 0 is still shown to the policy); 1 when
 * there were any */
static int
assemble_sections(const struct rg_mime_params *ps, const char *name,
    struct rg_buf *out)
{
	struct rg_buf raw = RG_BUF_INIT;
	char cs[RG_MIME_CHARSET_MAX + 1] = "";
	int lo = -1, any_ext = 0;

	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].section >= 0 && strcmp(ps->v[i].name, name) == 0 &&
		    (lo < 0 || ps->v[i].section < lo))
			lo = ps->v[i].section;
	if (lo < 0)
		return 0;
	for (int idx = lo; idx < lo + RG_MIME_SECTIONS_MAX; idx++) {
		const struct rg_mime_param *p = find_section(ps, name, idx);
		const char *v;
		size_t vlen;

		if (p == NULL)
			break;
		v = p->value;
		vlen = p->len;
		if (p->extended) {
			if (!any_ext)
				v = split_charset(v, vlen, cs, sizeof(cs), &vlen);
			any_ext = 1;
			pct_decode(v, vlen, &raw);
		} else {
			rg_buf_append(&raw, v, vlen);
		}
	}
	if (any_ext)
		(void)rg_mime_to_utf8(cs, raw.data ? raw.data : "", raw.len, out);
	else
		rg_mime_decode_words(raw.data ? raw.data : "", raw.len, out);
	rg_buf_release(&raw);
	return 1;
}

/* rg_mime_param_values - every decoded value of a parameter */
size_t
rg_mime_param_values(const struct rg_mime_params *ps, const char *name,
    void (*fn)(void *arg, const char *v, size_t len), void *arg)
{
	struct rg_buf out = RG_BUF_INIT, raw = RG_BUF_INIT;
	char cs[RG_MIME_CHARSET_MAX + 1];
	size_t count = 0, restlen;

	for (size_t i = 0; i < ps->n; i++) {
		const struct rg_mime_param *p = &ps->v[i];
		const char *rest;

		if (p->section >= 0 || strcmp(p->name, name) != 0)
			continue;
		rg_buf_reset(&out);
		if (p->extended) {
			rest = split_charset(p->value, p->len, cs, sizeof(cs), &restlen);
			rg_buf_reset(&raw);
			pct_decode(rest, restlen, &raw);
			(void)rg_mime_to_utf8(cs, raw.data ? raw.data : "", raw.len, &out);
		} else {
			rg_mime_decode_words(p->value, p->len, &out);
		}
		fn(arg, rg_buf_cstr(&out), out.len);
		count++;
	}
	rg_buf_reset(&out);
	if (assemble_sections(ps, name, &out)) {
		fn(arg, rg_buf_cstr(&out), out.len);
		count++;
	}
	rg_buf_release(&out);
	rg_buf_release(&raw);
	return count;
}

/* an RFC 2047 encoded word found in a string */
struct mime_word {
	char charset[RG_MIME_CHARSET_MAX + 1];	/* "*lang" (RFC 2231 s5) cut */
	int enc;		/* 'b' or 'q' */
	const char *text;
	size_t tlen;
	size_t end;		/* offset just past "?=" */
};

/* parse_word - "=?charset?enc?text?=" at s[pos]; 0 when it is one */
static int
parse_word(const char *s, size_t len, size_t pos, struct mime_word *w)
{
	size_t i = pos + 2, cs = i, t;

	while (i < len && s[i] != '?' && !is_ws((unsigned char)s[i]) &&
	    i - cs <= RG_MIME_CHARSET_MAX)
		i++;
	if (i == cs || i >= len || s[i] != '?' || i - cs > RG_MIME_CHARSET_MAX)
		return -1;
	if (len - i < 4 || s[i + 2] != '?')
		return -1;
	w->enc = tolower((unsigned char)s[i + 1]);
	if (w->enc != 'b' && w->enc != 'q')
		return -1;
	memcpy(w->charset, s + cs, i - cs);
	w->charset[i - cs] = '\0';
	w->charset[strcspn(w->charset, "*")] = '\0';
	t = i + 3;
	for (i = t; i + 1 < len && i - t < MIMEHDR_WORD_MAX; i++)
		if (s[i] == '?' && s[i + 1] == '=')
			break;
	if (i + 1 >= len || s[i] != '?' || s[i + 1] != '=')
		return -1;
	w->text = s + t;
	w->tlen = i - t;
	w->end = i + 2;
	return 0;
}

/* word_decode - the octets of an encoded word (RFC 2047 s4.1, s4.2) */
static void
word_decode(const struct mime_word *w, struct rg_buf *raw)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long bits = 0;
	int nbits = 0;

	for (size_t i = 0; i < w->tlen; i++) {
		int c = (unsigned char)w->text[i];
		const char *p;

		if (w->enc == 'q') {
			if (c == '_') {
				rg_buf_putc(raw, ' ');
			} else if (c == '=' && w->tlen - i > 2 &&
			    hexval((unsigned char)w->text[i + 1]) >= 0 &&
			    hexval((unsigned char)w->text[i + 2]) >= 0) {
				rg_buf_putc(raw, hexval((unsigned char)w->text[i + 1]) << 4 |
				    hexval((unsigned char)w->text[i + 2]));
				i += 2;
			} else {
				rg_buf_putc(raw, c);
			}
		} else if (c != '\0' && c != '=' && (p = strchr(b64, c)) != NULL) {
			bits = (bits << 6 | (unsigned long)(p - b64)) & 0xffffff;
			if ((nbits += 6) >= 8) {
				nbits -= 8;
				rg_buf_putc(raw, (int)((bits >> nbits) & 0xff));
			}
		}
	}
}

/* only_ws - white space between two encoded words is dropped (s6.2) */
static int
only_ws(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_ws((unsigned char)s[i]))
			return 0;
	return 1;
}

/* rg_mime_decode_words - decode RFC 2047 encoded words; adjacent words in
 * one charset are joined before conversion, since encoders split
 * multi-byte characters between them */
void
rg_mime_decode_words(const char *s, size_t len, struct rg_buf *out)
{
	struct rg_buf raw = RG_BUF_INIT;
	char cs[RG_MIME_CHARSET_MAX + 1] = "";
	size_t pos = 0, lit = 0;
	int after_word = 0;
	struct mime_word w;

	while (pos + 1 < len) {
		if (s[pos] != '=' || s[pos + 1] != '?' ||
		    parse_word(s, len, pos, &w) != 0) {
			pos++;
			continue;
		}
		if (!(after_word && only_ws(s + lit, pos - lit)) ||
		    strcasecmp(cs, w.charset) != 0) {
			(void)rg_mime_to_utf8(cs, raw.data ? raw.data : "", raw.len, out);
			rg_buf_reset(&raw);
			if (!(after_word && only_ws(s + lit, pos - lit)))
				rg_buf_append(out, s + lit, pos - lit);
			memcpy(cs, w.charset, sizeof(cs));
		}
		word_decode(&w, &raw);
		pos = lit = w.end;
		after_word = 1;
	}
	(void)rg_mime_to_utf8(cs, raw.data ? raw.data : "", raw.len, out);
	rg_buf_append(out, s + lit, len - lit);
	rg_buf_release(&raw);
}

/* charset_plain - charsets whose bytes are copied as they are */
static int
charset_plain(const char *cs)
{
	return cs[0] == '\0' || strcmp(cs, "utf-8") == 0 ||
	    strcmp(cs, "utf8") == 0 || strcmp(cs, "us-ascii") == 0 ||
	    strcmp(cs, "ascii") == 0;
}

/* iconv_run - convert with an open descriptor; -1 if any byte was bad */
static int
iconv_run(iconv_t cd, const char *s, size_t len, struct rg_buf *out)
{
	char *in = (char *)(uintptr_t)s, tmp[256], *op;
	size_t inleft = len, outleft;
	int rc = 0;

	for (;;) {
		size_t r;

		op = tmp;
		outleft = sizeof(tmp);
		r = iconv(cd, inleft > 0 ? &in : NULL, &inleft, &op, &outleft);
		rg_buf_append(out, tmp, (size_t)(op - tmp));
		if (r != (size_t)-1 && inleft == 0) {
			/* a stateful charset (ISO-2022-JP) may owe a reset */
			op = tmp;
			outleft = sizeof(tmp);
			(void)iconv(cd, NULL, NULL, &op, &outleft);
			rg_buf_append(out, tmp, (size_t)(op - tmp));
			return rc;
		}
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		rg_buf_append(out, "\xef\xbf\xbd", 3);	/* U+FFFD */
		rc = -1;
		if (errno != EILSEQ || inleft == 0)
			return rc;
		in++;
		inleft--;
	}
}

/* rg_mime_to_utf8 - convert from a named charset; iconv's tables load on
 * first use of a charset, and the name is checked first so that text
 * from the message never reaches iconv_open() as anything but a name */
int
rg_mime_to_utf8(const char *charset, const char *s, size_t len,
    struct rg_buf *out)
{
	char cs[RG_MIME_CHARSET_MAX + 1];
	size_t n = strlen(charset);
	iconv_t cd;
	int rc;

	if (len == 0)
		return 0;
	if (n > RG_MIME_CHARSET_MAX || strspn(charset,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-")
	    != n) {
		rg_buf_append(out, s, len);
		return -1;
	}
	for (size_t i = 0; i <= n; i++)
		cs[i] = (char)tolower((unsigned char)charset[i]);
	if (charset_plain(cs)) {
		rg_buf_append(out, s, len);
		return 0;
	}
	if ((cd = iconv_open("UTF-8", cs)) == (iconv_t)-1) {
		rg_buf_append(out, s, len);
		return -1;
	}
	rc = iconv_run(cd, s, len, out);
	iconv_close(cd);
	return rc;
}
