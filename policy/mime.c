/*
 * mime.c - streaming MIME decoder (see mime.h)
 *
 * Bytes are cut into lines (CRLF or bare LF; lines longer than
 * RG_MIME_LINE_MAX go on in pieces, and only a whole line can be a
 * boundary). Each line is checked against the open boundaries, innermost
 * first, then goes to the part at hand: its header (Content-Type,
 * Content-Transfer-Encoding and Content-Disposition are kept and parsed,
 * other fields skipped), or its body (text/ parts decoded by mimecte.c,
 * everything else skipped). A multipart pushes a frame holding its
 * boundary; a message/rfc822 part pushes a frame and starts a new header.
 * A boundary closes every frame opened inside its own (RFC 2046 s5.1.2:
 * an inner part that lacks its final boundary ends there).
 *
 * Public: rg_mime_new, rg_mime_expect_header, rg_mime_header,
 * rg_mime_body, rg_mime_end, rg_mime_stats, rg_mime_free, and the "mime"
 * parameter table. Not thread-safe (one decoder per message).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime.h"
#include "mimehdr.h"
#include "xalloc.h"

/* one Content-* field kept for parsing; RFC 2231 continuations make long
 * ones legitimate, and what is beyond is dropped */
#define MIME_FIELD_MAX	16384

#define LINE_START	0x1	/* the piece starts a line */
#define LINE_END	0x2	/* the piece ends a line */

enum mime_phase { PH_HEADER, PH_TEXT, PH_MESSAGE, PH_SKIP };
enum mime_field { F_NONE, F_CTYPE, F_CTE, F_CDISP };

/* an open container: a multipart (with its boundary) or a message body */
struct mime_frame {
	int multipart;
	int digest;		/* multipart/digest: parts default to message/rfc822 */
	int closed;		/* close delimiter seen: the epilogue follows */
	size_t nchild;
	size_t blen;
	char boundary[RG_MIME_BOUNDARY_MAX + 1];
	char prefix[RG_MIME_PATH_MAX];	/* path of the children, less ".N" */
};

/* the part being read */
struct mime_entity {
	enum mime_phase phase;
	int msgroot;		/* top of a message: path known at header end */
	int have_ctype;		/* the first Content-Type counts */
	int have_cte;
	enum mime_field field;	/* field being collected, or F_NONE */
	struct rg_buf fbuf;
	char qpath[RG_MIME_PATH_MAX];	/* msgroot: the message's own path */
	char path[RG_MIME_PATH_MAX];
	char type[RG_MIME_TYPE_MAX];
	char charset[RG_MIME_CHARSET_MAX + 1];
	char boundary[RG_MIME_BOUNDARY_MAX + 1];
	size_t blen;
	enum rg_mime_cte cte;
	int attachment;
	size_t nnames;
	char *names[RG_MIME_PART_NAMES];
	struct rg_mime_dec dec;
	struct rg_mime_part info;
};

struct rg_mime {
	struct rg_mime_limits lim;
	struct rg_mime_handler h;
	struct rg_mime_stats st;
	int raw;		/* the header comes in the body chunks */
	int body;		/* body started */
	int ended;
	int stopped;		/* over max_parts: the rest is ignored */
	struct rg_mime *child;	/* an encoded message/rfc822 being read */
	size_t depth_base;	/* containers around this decoder's message */
	struct mime_frame *frames;
	size_t nframes, frames_cap;
	struct mime_entity ent;
	size_t llen;
	int lcont;		/* buffered bytes continue a longer line */
	char line[RG_MIME_LINE_MAX];
};

static struct rg_mime *mime_alloc(const struct rg_mime_limits *lim,
    const struct rg_mime_handler *h, const char *path, size_t depth);

#define MIME(f) offsetof(struct rg_mime_conf, f)

const struct rg_param rg_mime_params[] = {
	RG_P_SIZE("mime_max_scan_bytes", "1m", 0, 1073741824LL,
	    MIME(max_scan_bytes), 0,
	    "decoded text per message handed to the URI scanner; the rest is not scanned"),
	RG_P_INT("mime_max_parts", "500", 1, 100000, MIME(max_parts), 0,
	    "MIME parts looked at per message; later parts are ignored"),
	RG_P_INT("mime_max_depth", "32", 1, RG_MIME_DEPTH_LIMIT, MIME(max_depth),
	    0, "nested multipart and message/rfc822 levels followed; deeper parts are skipped"),
	RG_P_END
};

/* rg_mime_limits_conf - limits from the configuration */
void
rg_mime_limits_conf(struct rg_mime_limits *l, const struct rg_mime_conf *c)
{
	l->max_scan_bytes = (size_t)c->max_scan_bytes;
	l->max_parts = (size_t)c->max_parts;
	l->max_depth = (size_t)c->max_depth;
}

/* path_join - "prefix.n", or "n" at the top */
static void
path_join(char *dst, const char *prefix, size_t n)
{
	int r = snprintf(dst, RG_MIME_PATH_MAX, "%s%s%zu", prefix,
	    prefix[0] != '\0' ? "." : "", n);

	/* RG_MIME_DEPTH_LIMIT levels of at most 7 characters (mime_max_parts
	 * has 6 digits) fit; should that change, a path is cut, not overrun */
	if (r < 0 || r >= RG_MIME_PATH_MAX)
		dst[RG_MIME_PATH_MAX - 1] = '\0';
}

/* mime_emit - decoded text on its way to the text callback, within
 * max_scan_bytes */
static void
mime_emit(void *arg, const char *p, size_t n)
{
	struct rg_mime *m = arg;
	size_t room = m->lim.max_scan_bytes - m->st.text_bytes;

	if (n > room) {
		n = room;
		m->st.flags |= RG_MIME_F_SCAN;
	}
	if (n == 0)
		return;
	m->st.text_bytes += n;
	if (m->h.text != NULL)
		m->h.text(m->h.arg, &m->ent.info, p, n);
}

/* ent_reset - forget the part, keeping the field buffer's storage */
static void
ent_reset(struct mime_entity *e)
{
	struct rg_buf keep = e->fbuf;

	for (size_t i = 0; i < e->nnames; i++)
		free(e->names[i]);
	memset(e, 0, sizeof(*e));
	e->fbuf = keep;
	rg_buf_reset(&e->fbuf);
	e->phase = PH_SKIP;
}

/* ent_start - a new part at path (or, for a message top, the message's
 * path); counted against max_parts */
static void
ent_start(struct rg_mime *m, const char *path, int msgroot)
{
	struct mime_entity *e = &m->ent;

	ent_reset(e);
	e->msgroot = msgroot;
	(void)snprintf(msgroot ? e->qpath : e->path, RG_MIME_PATH_MAX, "%s", path);
	e->phase = PH_HEADER;
	if (++m->st.parts > m->lim.max_parts) {
		m->st.flags |= RG_MIME_F_PARTS;
		m->stopped = 1;
		e->phase = PH_SKIP;
	}
}

/* ent_add_name - one candidate file name: capped (head and tail kept, as
 * the extension is what the policy looks at), control bytes replaced,
 * duplicates dropped */
static void
ent_add_name(void *arg, const char *v, size_t len)
{
	struct rg_mime *m = arg;
	struct mime_entity *e = &m->ent;
	char buf[RG_MIME_NAME_MAX + 1];
	size_t n = len, head = RG_MIME_NAME_MAX / 2;

	if (len == 0)
		return;
	if (len > RG_MIME_NAME_MAX) {
		memcpy(buf, v, head);
		memcpy(buf + head, "...", 3);
		n = RG_MIME_NAME_MAX - head - 3;
		memcpy(buf + head + 3, v + len - n, n);
		n = RG_MIME_NAME_MAX;
	} else {
		memcpy(buf, v, len);
	}
	buf[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '_';
	for (size_t i = 0; i < e->nnames; i++)
		if (strcmp(e->names[i], buf) == 0)
			return;
	if (e->nnames == RG_MIME_PART_NAMES) {
		m->st.flags |= RG_MIME_F_NAMES;
		return;
	}
	e->names[e->nnames++] = rg_xstrdup(buf);
}

/* parse_ctype - Content-Type (RFC 2045 s5): the first field sets type,
 * charset and boundary; names are taken from every one */
static void
parse_ctype(struct rg_mime *m, const struct rg_mime_params *ps,
    const char *value)
{
	struct mime_entity *e = &m->ent;
	const struct rg_mime_param *p;

	if (!e->have_ctype) {
		e->have_ctype = 1;
		(void)snprintf(e->type, sizeof(e->type), "%s", value);
		if ((p = rg_mime_param_get(ps, "charset")) != NULL)
			for (size_t i = 0; i < p->len && i < RG_MIME_CHARSET_MAX; i++)
				e->charset[i] = (char)(p->value[i] >= 'A' &&
				    p->value[i] <= 'Z' ? p->value[i] + 32 : p->value[i]);
		p = rg_mime_param_get(ps, "boundary");
		if (p != NULL && p->len > 0 && p->len <= RG_MIME_BOUNDARY_MAX &&
		    memchr(p->value, '\0', p->len) == NULL) {
			memcpy(e->boundary, p->value, p->len);
			e->blen = p->len;
		}
	}
	(void)rg_mime_param_values(ps, "name", ent_add_name, m);
}

/* field_done - parse the field collected so far */
static void
field_done(struct rg_mime *m)
{
	struct mime_entity *e = &m->ent;
	struct rg_mime_params *ps;
	char value[RG_MIME_TYPE_MAX];

	if (e->field == F_NONE)
		return;
	ps = rg_xmalloc(sizeof(*ps));
	rg_mime_hdr_parse(rg_buf_cstr(&e->fbuf), e->fbuf.len, value,
	    sizeof(value), ps);
	if (e->field == F_CTYPE) {
		parse_ctype(m, ps, value);
	} else if (e->field == F_CTE && !e->have_cte) {
		e->have_cte = 1;
		e->cte = rg_mime_cte_parse(value);
	} else if (e->field == F_CDISP) {
		if (strcmp(value, "attachment") == 0)
			e->attachment = 1;
		(void)rg_mime_param_values(ps, "filename", ent_add_name, m);
	}
	rg_mime_params_free(ps);
	free(ps);
	e->field = F_NONE;
	rg_buf_reset(&e->fbuf);
}

/* field_more - value bytes of the field being collected, line breaks
 * dropped (RFC 5322 s2.2.3 unfolding), within MIME_FIELD_MAX */
static void
field_more(struct rg_mime *m, const char *s, size_t n)
{
	struct rg_buf *b = &m->ent.fbuf;

	if (m->ent.field == F_NONE)
		return;
	for (size_t i = 0; i < n && b->len < MIME_FIELD_MAX; i++)
		if (s[i] != '\r' && s[i] != '\n')
			rg_buf_putc(b, s[i] != '\0' ? s[i] : ' ');
}

/* field_begin - a new header field; only three are of interest */
static void
field_begin(struct rg_mime *m, const char *name, size_t nlen)
{
	static const struct {
		const char *name;
		enum mime_field f;
	} kinds[] = {
		{ "content-type", F_CTYPE },
		{ "content-transfer-encoding", F_CTE },
		{ "content-disposition", F_CDISP },
	};

	field_done(m);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strlen(kinds[i].name) == nlen &&
		    strncasecmp(kinds[i].name, name, nlen) == 0)
			m->ent.field = kinds[i].f;
}

/* is_container - a multipart we can follow (it names a boundary) */
static int
is_container(const struct mime_entity *e)
{
	return strncmp(e->type, "multipart/", 10) == 0 && e->blen > 0;
}

/* html_like - a part a mail reader or browser shows as HTML: phishing
 * pages come as "invoice.html" in application/octet-stream, or as SVG */
static int
html_like(const struct mime_entity *e)
{
	static const char *const types[] = {
		"text/html", "application/xhtml+xml", "image/svg+xml",
	};
	static const char *const exts[] = { ".htm", ".html", ".shtml", ".xhtml", ".svg" };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(e->type, types[i]) == 0)
			return 1;
	for (size_t i = 0; i < e->nnames; i++) {
		size_t n = strlen(e->names[i]);

		for (size_t j = 0; j < sizeof(exts) / sizeof(exts[0]); j++)
			if (n >= strlen(exts[j]) && strcasecmp(e->names[i] + n -
			    strlen(exts[j]), exts[j]) == 0)
				return 1;
	}
	return 0;
}

/* headers_finish - the part's header is complete: settle type and path,
 * report names */
static void
headers_finish(struct rg_mime *m)
{
	struct mime_entity *e = &m->ent;
	const struct mime_frame *up = m->nframes > 0 ? &m->frames[m->nframes - 1] : NULL;

	field_done(m);
	if (strchr(e->type, '/') == NULL)	/* RFC 2045 s5.2 default */
		(void)snprintf(e->type, sizeof(e->type), "%s",
		    !e->msgroot && up != NULL && up->digest ? "message/rfc822" :
		    "text/plain");
	if (e->msgroot && is_container(e))
		(void)snprintf(e->path, sizeof(e->path), "%s",
		    e->qpath[0] != '\0' ? e->qpath : "0");
	else if (e->msgroot)
		path_join(e->path, e->qpath, 1);
	e->info.path = e->path;
	e->info.type = e->type;
	e->info.charset = e->charset;
	e->info.kind = html_like(e) ? RG_MIME_TEXT_HTML : RG_MIME_TEXT_PLAIN;
	e->info.cte = e->cte;
	e->info.attachment = e->attachment;
	e->info.depth = m->depth_base + m->nframes;
	for (size_t i = 0; i < e->nnames; i++)
		if (m->h.name != NULL)
			m->h.name(m->h.arg, &e->info, e->names[i]);
}

/* frame_push - open a container; the caller checked max_depth */
static struct mime_frame *
frame_push(struct rg_mime *m, const char *prefix)
{
	struct mime_frame *f;

	if (m->nframes == m->frames_cap) {
		m->frames_cap = m->frames_cap ? m->frames_cap * 2 : 4;
		m->frames = rg_xreallocarray(m->frames, m->frames_cap,
		    sizeof(*m->frames));
	}
	f = &m->frames[m->nframes++];
	memset(f, 0, sizeof(*f));
	(void)snprintf(f->prefix, sizeof(f->prefix), "%s", prefix);
	if (m->nframes > m->st.max_depth)
		m->st.max_depth = m->nframes;
	return f;
}

/* open_message - a message/rfc822 part: its body is a message */
static void
open_message(struct rg_mime *m)
{
	char path[RG_MIME_PATH_MAX];

	memcpy(path, m->ent.path, sizeof(path));
	(void)frame_push(m, path);
	ent_start(m, path, 1);
}

/* child_emit - the decoded body of an encoded message/rfc822 part goes to
 * a decoder of its own, as it holds boundaries of its own */
static void
child_emit(void *arg, const char *p, size_t n)
{
	struct rg_mime *m = arg;

	rg_mime_body(m->child, p, n);
	if (m->child->stopped)		/* it used up max_parts */
		m->stopped = 1;
}

/* open_encoded - a message/rfc822 part in base64 or quoted-printable,
 * which RFC 2046 s5.2.1 forbids and mail readers decode all the same: a
 * nested decoder gets what is left of each cap */
static void
open_encoded(struct rg_mime *m)
{
	struct mime_entity *e = &m->ent;
	struct rg_mime_limits lim = m->lim;

	lim.max_depth -= m->nframes + 1;
	lim.max_parts -= m->st.parts;
	lim.max_scan_bytes -= m->st.text_bytes;
	m->child = mime_alloc(&lim, &m->h, e->path, m->depth_base + m->nframes + 1);
	m->child->raw = 1;
	e->phase = PH_MESSAGE;
	rg_mime_dec_init(&e->dec, e->cte, child_emit, m);
}

/* close_encoded - the encoded message ended: count what it held */
static void
close_encoded(struct rg_mime *m)
{
	struct rg_mime *c = m->child;

	rg_mime_dec_end(&m->ent.dec);
	rg_mime_end(c);
	m->st.parts += c->st.parts;
	m->st.text_bytes += c->st.text_bytes;
	m->st.flags |= c->st.flags;
	if (m->nframes + 1 + c->st.max_depth > m->st.max_depth)
		m->st.max_depth = m->nframes + 1 + c->st.max_depth;
	if (c->stopped)
		m->stopped = 1;
	m->child = rg_mime_free(c);
}

/* headers_end - the blank line after a part's header: what its body is */
static void
headers_end(struct rg_mime *m)
{
	struct mime_entity *e = &m->ent;
	struct mime_frame *f;
	int message;

	headers_finish(m);
	message = strcmp(e->type, "message/rfc822") == 0 ||
	    strcmp(e->type, "message/global") == 0;
	e->phase = PH_SKIP;
	if (is_container(e) || message) {
		if (m->nframes >= m->lim.max_depth) {
			m->st.flags |= RG_MIME_F_DEPTH;
			return;
		}
		if (message && e->cte != RG_MIME_CTE_IDENTITY)
			open_encoded(m);
		else if (message)
			open_message(m);
		if (message)
			return;
		f = frame_push(m, e->msgroot ? e->qpath : e->path);
		f->multipart = 1;
		f->digest = strcmp(e->type, "multipart/digest") == 0;
		memcpy(f->boundary, e->boundary, e->blen);
		f->blen = e->blen;
		return;		/* the preamble is skipped */
	}
	/* a multipart without a boundary is read as text, so that nothing
	 * in it goes unscanned */
	if (strncmp(e->type, "text/", 5) != 0 &&
	    strncmp(e->type, "multipart/", 10) != 0 && !html_like(e))
		return;
	if (m->st.text_bytes >= m->lim.max_scan_bytes) {
		m->st.flags |= RG_MIME_F_SCAN;
		return;
	}
	e->phase = PH_TEXT;
	rg_mime_dec_init(&e->dec, e->cte, mime_emit, m);
}

/* ent_end - the part ended (boundary or end of message) */
static void
ent_end(struct rg_mime *m)
{
	struct mime_entity *e = &m->ent;

	if (e->phase == PH_HEADER) {
		headers_finish(m);
	} else if (e->phase == PH_TEXT) {
		rg_mime_dec_end(&e->dec);
		if (m->h.text_end != NULL)
			m->h.text_end(m->h.arg, &e->info);
	} else if (e->phase == PH_MESSAGE) {
		close_encoded(m);
	}
	ent_reset(e);
}

/* boundary_match - the innermost open boundary this line is a delimiter
 * of (RFC 2046 s5.1.1: "--" boundary, then "--" for the last, then
 * optional white space); a boundary merely followed by other text counts
 * too, in a second pass, as most mail readers accept it. -1: none */
static int
boundary_match(const struct rg_mime *m, const char *line, size_t len,
    int *close)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = m->nframes; k-- > 0;) {
			const struct mime_frame *f = &m->frames[k];
			const char *rest;
			size_t rlen;

			if (!f->multipart || len < 2 + f->blen ||
			    memcmp(line + 2, f->boundary, f->blen) != 0)
				continue;
			rest = line + 2 + f->blen;
			rlen = len - 2 - f->blen;
			*close = rlen >= 2 && rest[0] == '-' && rest[1] == '-';
			if (pass == 1 || *close)
				return (int)k;
			while (rlen > 0 && (*rest == ' ' || *rest == '\t')) {
				rest++;
				rlen--;
			}
			if (rlen == 0)
				return (int)k;
		}
	}
	return -1;
}

/* on_boundary - a delimiter of frame k: close everything inside it */
static void
on_boundary(struct rg_mime *m, size_t k, int close)
{
	struct mime_frame *f;
	char path[RG_MIME_PATH_MAX];

	ent_end(m);
	m->nframes = k + 1;
	f = &m->frames[k];
	f->closed = close;
	if (close)
		return;		/* the epilogue is skipped */
	path_join(path, f->prefix, ++f->nchild);
	ent_start(m, path, 0);
}

/* header_name - length of the field name if line starts a field, else 0;
 * *vstart gets the offset of the value */
static size_t
header_name(const char *line, size_t len, size_t *vstart)
{
	size_t i = 0, n;

	while (i < len && line[i] > ' ' && line[i] < 127 && line[i] != ':')
		i++;
	n = i;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (n == 0 || i >= len || line[i] != ':')
		return 0;
	*vstart = i + 1;
	return n;
}

/* header_line - a line of a part's header; 0 when it ended the header and
 * must be read again as body (a part that lacks the blank line) */
static int
header_line(struct rg_mime *m, const char *line, size_t len, int flags)
{
	size_t nlen, v;

	if (!(flags & LINE_START) || (len > 0 && (line[0] == ' ' ||
	    line[0] == '\t'))) {
		field_more(m, line, len);	/* folded or long line */
		return 1;
	}
	if (len == 0 && (flags & LINE_END)) {
		headers_end(m);
		return 1;
	}
	if ((nlen = header_name(line, len, &v)) == 0) {
		headers_end(m);
		return 0;
	}
	field_begin(m, line, nlen);
	field_more(m, line + v, len - v);
	return 1;
}

/* process_line - one line, or one piece of a long line */
static void
process_line(struct rg_mime *m, const char *line, size_t len, int flags)
{
	int close;
	int k;

	if (m->stopped)
		return;
	if ((flags & (LINE_START | LINE_END)) == (LINE_START | LINE_END) &&
	    len >= 2 && line[0] == '-' && line[1] == '-' &&
	    (k = boundary_match(m, line, len, &close)) >= 0) {
		on_boundary(m, (size_t)k, close);
		return;
	}
	/* each pass either consumes the line or opens a part header, and
	 * headers nest no deeper than max_depth */
	while (!m->stopped) {
		if (m->ent.phase == PH_HEADER) {
			if (header_line(m, line, len, flags))
				return;
			continue;
		}
		if (m->ent.phase == PH_TEXT || m->ent.phase == PH_MESSAGE) {
			rg_mime_dec_feed(&m->ent.dec, line, len);
			if (flags & LINE_END)
				rg_mime_dec_eol(&m->ent.dec);
		}
		return;
	}
}

/* line_room - the line buffer is full and the line goes on: pass on the
 * piece (an LF never reaches the buffer, so a CR in it is data) */
static void
line_room(struct rg_mime *m)
{
	process_line(m, m->line, m->llen, m->lcont ? 0 : LINE_START);
	m->lcont = 1;
	m->llen = 0;
}

/* line_add - bytes of a line (no LF) into the line buffer */
static void
line_add(struct rg_mime *m, const char *p, size_t n)
{
	while (n > 0) {
		size_t k;

		if (m->llen == sizeof(m->line))
			line_room(m);
		k = sizeof(m->line) - m->llen;
		if (k > n)
			k = n;
		memcpy(m->line + m->llen, p, k);
		m->llen += k;
		p += k;
		n -= k;
	}
}

/* line_end - an LF: the buffered line is complete */
static void
line_end(struct rg_mime *m)
{
	size_t len = m->llen;

	if (len > 0 && m->line[len - 1] == '\r')
		len--;
	process_line(m, m->line, len, (m->lcont ? 0 : LINE_START) | LINE_END);
	m->llen = 0;
	m->lcont = 0;
}

/* mime_alloc - a decoder for a message at path, inside depth containers */
static struct rg_mime *
mime_alloc(const struct rg_mime_limits *lim, const struct rg_mime_handler *h,
    const char *path, size_t depth)
{
	struct rg_mime *m = rg_xcalloc(1, sizeof(*m));

	m->lim = *lim;
	if (m->lim.max_depth > RG_MIME_DEPTH_LIMIT)
		m->lim.max_depth = RG_MIME_DEPTH_LIMIT;
	if (h != NULL)
		m->h = *h;
	m->depth_base = depth;
	ent_start(m, path, 1);
	return m;
}

struct rg_mime *
rg_mime_new(const struct rg_mime_limits *lim, const struct rg_mime_handler *h)
{
	return mime_alloc(lim, h, "", 0);
}

void
rg_mime_expect_header(struct rg_mime *m)
{
	m->raw = 1;
}

/* rg_mime_header - one top-level field, as the milter hands it over */
void
rg_mime_header(struct rg_mime *m, const char *name, const char *value)
{
	if (m->body || m->ended || m->raw || m->ent.phase != PH_HEADER)
		return;
	field_begin(m, name, strlen(name));
	field_more(m, value, strlen(value));
	field_done(m);
}

/* rg_mime_body - split a chunk into lines */
void
rg_mime_body(struct rg_mime *m, const void *chunk, size_t len)
{
	const char *p = chunk;

	if (m->ended)
		return;
	if (!m->body && !m->raw && m->ent.phase == PH_HEADER)
		headers_end(m);
	m->body = 1;
	while (len > 0 && !m->stopped) {
		const char *nl = memchr(p, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - p) : len;

		line_add(m, p, n);
		if (nl != NULL) {
			line_end(m);
			n++;
		}
		p += n;
		len -= n;
	}
}

/* rg_mime_end - the end of the message ends every open part */
void
rg_mime_end(struct rg_mime *m)
{
	if (m->ended)
		return;
	if (!m->body && !m->raw && m->ent.phase == PH_HEADER)
		headers_end(m);
	m->body = 1;
	if (m->llen > 0 && !m->stopped)
		line_end(m);
	ent_end(m);
	m->nframes = 0;
	m->ended = 1;
}

const struct rg_mime_stats *
rg_mime_stats(const struct rg_mime *m)
{
	return &m->st;
}

struct rg_mime *
rg_mime_free(struct rg_mime *m)
{
	if (m == NULL)
		return NULL;
	m->child = rg_mime_free(m->child);
	ent_reset(&m->ent);
	rg_buf_release(&m->ent.fbuf);
	free(m->frames);
	free(m);
	return NULL;
}
