/*
 * uri.c - finding links in decoded text (see uri.h)
 *
 * Text is cut into words at white space; a word is kept whole (up to
 * URI_WORD_MAX octets, so a link split between calls is seen as one) and
 * searched for links when it ends: "scheme:" for http, https, ftp and
 * mailto, and "www." where a word or punctuation starts it. In HTML a
 * small tokenizer (after the HTML Living Standard s13.2.5, much reduced)
 * decodes character references in text and attribute values; the value
 * of a URL attribute (href, src, ...) is one word, with tab and newline
 * removed as the URL parser does, and may also be "//host/..." or a bare
 * "host.tld/..."; values of other attributes that display text or style
 * are read as text, the rest are skipped. Comments are read as text
 * (Outlook acts on conditional comments); <!DOCTYPE> and <?...> are not.
 *
 * A word longer than URI_WORD_MAX is searched where it is cut, and its
 * last URI_WORD_KEEP octets start the next piece, so that a link across
 * the cut is found whole; a link running into the cut is left for the
 * next piece. Public: rg_uri_scanner_new/_free, rg_uri_scan_text,
 * rg_uri_scan_flush, and the "uri" parameter table.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "htmlent.h"
#include "uri.h"
#include "xalloc.h"

#define URI_WORD_MAX	4096	/* a run of text without white space */
#define URI_WORD_KEEP	1024	/* carried over when a longer run is cut */
#define URI_ATTR_MAX	24	/* attribute names we compare are shorter */
#define URI_MAILTO_MAX	1024	/* mailto: address list looked at */

enum html_state {
	H_TEXT, H_LT, H_TAG, H_ATTRS, H_ANAME, H_AFTER_ANAME, H_BEFORE_VALUE,
	H_VALUE_Q, H_VALUE_U, H_DECL, H_COMMENT,
};

enum word_kind {
	W_TEXT,		/* prose: links are found by scheme or "www." */
	W_URLATTR,	/* the value of href, src...: one link */
	W_SKIP,		/* an attribute value with no link in it (class, id) */
};

struct rg_uri_scanner {
	struct rg_uriset *set;
	int html;
	enum html_state hs;
	char quote;		/* of the attribute value being read */
	int decl;		/* '-' seen after "<!"; 2: a comment; 3: not */
	size_t alen;
	char attr[URI_ATTR_MAX + 1];
	enum word_kind vkind;	/* the attribute value being read */
	int in_ent;
	size_t elen;
	char ent[RG_HTML_ENTITY_MAX + 1];
	enum word_kind wkind;
	int wcut;		/* the word is the rest of a cut one */
	/* what the search of the current word knows already, so that it
	 * stays linear however the word is built */
	size_t seg_from, seg_end;	/* [seg_from, seg_end) has no auth_stop */
	size_t seg_at;			/* last '@' in it, or SIZE_MAX */
	size_t last_host;		/* start of the host added last */
	size_t mailto_end;		/* mailto: addresses read up to here */
	size_t wlen;
	char word[URI_WORD_MAX];
};

#define URI(f) offsetof(struct rg_uri_conf, f)

const struct rg_param rg_uri_params[] = {
	RG_P_INT("uri_max_domains", "50", 1, 1000, URI(max_domains), 0,
	    "registered domains of links collected per message; more are counted, not kept"),
	RG_P_INT("uri_max_ips", "20", 1, 1000, URI(max_ips), 0,
	    "IP addresses of links collected per message; more are counted, not kept"),
	RG_P_END
};

/* auth_stop - a byte that ends the authority of a link: the URL
 * delimiters (RFC 3986 s3.2; '\' as browsers read it) and what never
 * appears in a link written in text */
static int
auth_stop(int c)
{
	return c <= ' ' || c == 0x7f || strchr("/\\?#\"<>`{}|^", c) != NULL;
}

/* host_char - may this byte be part of a host as written (percent-
 * encoded, UTF-8)? */
static int
host_char(int c)
{
	return isalnum(c) || c >= 0x80 || (c != '\0' && strchr("-._%", c) != NULL);
}

/* auth_segment - where the authority starting at p ends, and the last '@'
 * in it (SIZE_MAX: none). Candidates come left to right, so the segment
 * found for one usually serves the next: each byte is looked at once */
static size_t
auth_segment(struct rg_uri_scanner *sc, const char *w, size_t n, size_t p,
    size_t *at)
{
	if (!(p >= sc->seg_from && p <= sc->seg_end)) {
		sc->seg_from = p;
		sc->seg_at = SIZE_MAX;
		for (sc->seg_end = p; sc->seg_end < n &&
		    !auth_stop((unsigned char)w[sc->seg_end]); sc->seg_end++)
			if (w[sc->seg_end] == '@')
				sc->seg_at = sc->seg_end;
	}
	*at = sc->seg_at != SIZE_MAX && sc->seg_at >= p ? sc->seg_at : SIZE_MAX;
	return sc->seg_end;
}

/* authority_at - w[start..]: [userinfo@]host[:port]; the host goes to the
 * set (WHATWG URL: the last '@' ends the userinfo) */
static void
authority_at(struct rg_uri_scanner *sc, const char *w, size_t n,
    size_t start, int cut)
{
	size_t at, e = auth_segment(sc, w, n, start, &at), h, he;
	const char *p;

	if (e == n && cut)
		return;		/* may go on past the cut: the next piece has it */
	h = at != SIZE_MAX ? at + 1 : start;
	if (h == sc->last_host)
		return;		/* "(www.a(www.b@host": host already added */
	if (h < e && w[h] == '[') {
		he = (p = memchr(w + h, ']', e - h)) != NULL ?
		    (size_t)(p - w) + 1 : e;
	} else {
		/* the host ends at the port, or where no host can go on;
		 * candidates never share a run of host bytes */
		for (he = h; he < e && he - h < RG_URI_RAWHOST_MAX &&
		    host_char((unsigned char)w[he]); he++)
			;
	}
	sc->last_host = h;
	if (he > h)
		(void)rg_uriset_add_host(sc->set, w + h, he - h, 1);
}

/* mailto_at - w[start..]: addresses up to '?' (RFC 6068 s2), each one's
 * domain to the set */
static void
mailto_at(struct rg_uri_scanner *sc, const char *w, size_t n, size_t start,
    int cut)
{
	char buf[URI_MAILTO_MAX + 1];
	size_t len = 0, a = 0, i;

	if (start < sc->mailto_end)
		return;		/* inside a list read already */
	/* percent-decode first: '@' itself may be written %40 */
	for (i = start; i < n && len < URI_MAILTO_MAX && w[i] != '?' &&
	    w[i] != '#' && w[i] != '\'' && !auth_stop((unsigned char)w[i]); i++) {
		if (w[i] == '%' && n - i > 2 && isxdigit((unsigned char)w[i + 1]) &&
		    isxdigit((unsigned char)w[i + 2])) {
			char hex[3] = { w[i + 1], w[i + 2], '\0' };

			buf[len++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			buf[len++] = w[i];
		}
	}
	if (i == n && cut)
		return;		/* may go on past the cut */
	sc->mailto_end = i;	/* a later "mailto:" past the cap is read */
	for (i = 0; i <= len; i++) {
		const char *at = NULL;

		if (i < len && buf[i] != ',' && buf[i] != ';')
			continue;
		for (size_t j = a; j < i; j++)
			if (buf[j] == '@')
				at = buf + j;
		if (at != NULL && buf + i > at + 1)
			(void)rg_uriset_add_host(sc->set, at + 1,
			    (size_t)(buf + i - at - 1), 0);
		a = i + 1;
	}
}

/* scheme_at - w[i] is ':': a scheme we follow ends there? */
static void
scheme_at(struct rg_uri_scanner *sc, const char *w, size_t n, size_t i,
    int cut)
{
	static const char *const schemes[] = { "http", "https", "ftp", "mailto" };

	for (size_t s = 0; s < sizeof(schemes) / sizeof(schemes[0]); s++) {
		size_t l = strlen(schemes[s]), j;

		if (i < l || strncasecmp(w + i - l, schemes[s], l) != 0 ||
		    (i > l && isalpha((unsigned char)w[i - l - 1])))
			continue;
		if (schemes[s][0] == 'm') {
			mailto_at(sc, w, n, i + 1, cut);
			return;
		}
		/* "http:/x", "http:\\x" and "http:///x" all reach host x */
		for (j = i + 1; j < n && (w[j] == '/' || w[j] == '\\'); j++)
			;
		if (j > i + 1)
			authority_at(sc, w, n, j, cut);
		return;
	}
}

/* www_at - "www." starting a word or after punctuation (not after a
 * host, path or '@', where it is part of something else) */
static void
www_at(struct rg_uri_scanner *sc, const char *w, size_t n, size_t i, int cut)
{
	int prev = i > 0 ? (unsigned char)w[i - 1] : ' ';

	if (n - i < 5 || strncasecmp(w + i, "www.", 4) != 0 || isalnum(prev) ||
	    prev >= 0x80 || (prev != '\0' && strchr(".-_@/\\%", prev) != NULL))
		return;
	authority_at(sc, w, n, i, cut);
}

/* attr_start - the start of a URL attribute value: "//host" (relative to
 * the scheme), or a bare "host.tld/..." that has no scheme */
static void
attr_start(struct rg_uri_scanner *sc, const char *w, size_t n, int cut)
{
	size_t i = 0, j;

	while (i < n && (unsigned char)w[i] <= ' ')
		i++;
	if (n - i >= 2 && (w[i] == '/' || w[i] == '\\') &&
	    (w[i + 1] == '/' || w[i + 1] == '\\')) {
		for (j = i; j < n && (w[j] == '/' || w[j] == '\\'); j++)
			;
		authority_at(sc, w, n, j, cut);
		return;
	}
	if (i == n || !(isalnum((unsigned char)w[i]) ||
	    (unsigned char)w[i] >= 0x80 || w[i] == '%'))
		return;
	/* "x:" before any '/', '?' or '#' is a scheme (or what the URL
	 * parser takes for one), not a host */
	for (j = i; j < n && w[j] != '\0' && !strchr("/\\?#", w[j]); j++)
		if (w[j] == ':')
			return;
	authority_at(sc, w, n, i, cut);
}

/* scan_word - look for links in the word; cut: it was cut at the end */
static void
scan_word(struct rg_uri_scanner *sc, int cut)
{
	const char *w = sc->word;
	size_t n = sc->wlen;

	if (sc->wkind == W_SKIP)
		return;
	sc->seg_from = sc->seg_end = SIZE_MAX;
	sc->last_host = SIZE_MAX;
	sc->mailto_end = 0;
	if (sc->wkind == W_URLATTR && !sc->wcut)
		attr_start(sc, w, n, cut);
	for (size_t i = 0; i < n; i++) {
		if (w[i] == ':')
			scheme_at(sc, w, n, i, cut);
		else if (w[i] == 'w' || w[i] == 'W')
			www_at(sc, w, n, i, cut);
	}
}

/* word_end - white space or markup ended the word */
static void
word_end(struct rg_uri_scanner *sc)
{
	if (sc->wlen > 0)
		scan_word(sc, 0);
	sc->wlen = 0;
	sc->wcut = 0;
}

/* word_put - one byte of a word; a full word is searched and its tail
 * kept */
static void
word_put(struct rg_uri_scanner *sc, char c)
{
	if (sc->wlen == sizeof(sc->word)) {
		scan_word(sc, 1);
		memmove(sc->word, sc->word + sc->wlen - URI_WORD_KEEP,
		    URI_WORD_KEEP);
		sc->wlen = URI_WORD_KEEP;
		sc->wcut = 1;
	}
	sc->word[sc->wlen++] = c;
}

/* is_delim - white space and control bytes end a word of text */
static int
is_delim(int c)
{
	return c <= ' ' || c == 0x7f;
}

/* text_out - a byte of prose */
static void
text_out(struct rg_uri_scanner *sc, int c)
{
	if (is_delim(c))
		word_end(sc);
	else
		word_put(sc, (char)c);
}

/* value_out - a byte of an attribute value */
static void
value_out(struct rg_uri_scanner *sc, int c)
{
	if (sc->vkind == W_SKIP)
		return;
	if (sc->vkind == W_TEXT)
		text_out(sc, c);
	else if (c != '\t' && c != '\n' && c != '\r')	/* WHATWG URL s4.4 */
		word_put(sc, (char)c);
}

/* attr_kind - what the value of the attribute just named holds */
static enum word_kind
attr_kind(const struct rg_uri_scanner *sc)
{
	static const char *const url[] = {
		"href", "src", "action", "background", "cite", "longdesc",
		"usemap", "formaction", "poster", "data", "codebase", "lowsrc",
		"dynsrc", "srcset", "xlink:href",
	};
	static const char *const text[] = { "alt", "title", "style", "content" };

	for (size_t i = 0; i < sizeof(url) / sizeof(url[0]); i++)
		if (strcmp(sc->attr, url[i]) == 0)
			return W_URLATTR;
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (strcmp(sc->attr, text[i]) == 0)
			return W_TEXT;
	/* event handlers hold script, which may open links */
	return strncmp(sc->attr, "on", 2) == 0 ? W_TEXT : W_SKIP;
}

/* value_begin - an attribute value starts: it is a word of its own */
static void
value_begin(struct rg_uri_scanner *sc)
{
	word_end(sc);
	sc->vkind = attr_kind(sc);
	sc->wkind = sc->vkind;
}

/* value_end - the attribute value ended */
static void
value_end(struct rg_uri_scanner *sc)
{
	word_end(sc);
	sc->wkind = W_TEXT;
	sc->vkind = W_TEXT;
}

/* attr_add - a byte of an attribute name, lower case */
static void
attr_add(struct rg_uri_scanner *sc, int c)
{
	if (sc->alen < URI_ATTR_MAX)
		sc->attr[sc->alen++] = (char)tolower(c);
	sc->attr[sc->alen] = '\0';
}

/* cp_out - a decoded character reference, to text or to the value */
static void
cp_out(struct rg_uri_scanner *sc, unsigned long cp)
{
	char u[4];
	size_t n;

	/* NBSP and the Unicode spaces separate words as a space does */
	if (cp == 0xa0 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x3000)
		cp = ' ';
	n = rg_utf8_put(cp, u);
	for (size_t i = 0; i < n; i++) {
		if (sc->hs == H_VALUE_Q || sc->hs == H_VALUE_U)
			value_out(sc, (unsigned char)u[i]);
		else
			text_out(sc, (unsigned char)u[i]);
	}
}

/* ent_finish - a character reference ended (terminated: by ';') */
static void
ent_finish(struct rg_uri_scanner *sc, int terminated)
{
	long cp = rg_html_entity(sc->ent, sc->elen, terminated);

	sc->in_ent = 0;
	if (cp >= 0) {
		cp_out(sc, (unsigned long)cp);
		return;
	}
	/* not a reference: the text stands as written */
	cp_out(sc, '&');
	for (size_t i = 0; i < sc->elen; i++)
		cp_out(sc, (unsigned char)sc->ent[i]);
	if (terminated)
		cp_out(sc, ';');
}

/* ent_accepts - can c go on the reference? A numeric one takes digits
 * only ("&#46com" is '.' then "com", as browsers read it) */
static int
ent_accepts(const struct rg_uri_scanner *sc, int c)
{
	if (sc->elen == 0)
		return isalnum(c) || c == '#';
	if (sc->ent[0] != '#')
		return isalnum(c);
	if (sc->elen == 1 && (c == 'x' || c == 'X'))
		return 1;
	if (sc->elen >= 2 && (sc->ent[1] == 'x' || sc->ent[1] == 'X'))
		return isxdigit(c);
	return isdigit(c);
}

/* ent_char - a byte after '&'; 0 when it ended the reference and must be
 * read again */
static int
ent_char(struct rg_uri_scanner *sc, int c)
{
	if (c == ';') {
		ent_finish(sc, 1);
		return 1;
	}
	if (ent_accepts(sc, c) && sc->elen < RG_HTML_ENTITY_MAX) {
		sc->ent[sc->elen++] = (char)c;
		return 1;
	}
	ent_finish(sc, 0);
	return 0;
}

/* is_ws - HTML white space */
static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* tag_step - one byte inside a tag; 1 when it must be read again */
static int
tag_step(struct rg_uri_scanner *sc, int c)
{
	switch (sc->hs) {
	case H_TAG:
		if (is_ws(c) || c == '/')
			sc->hs = H_ATTRS;
		else if (c == '>')
			sc->hs = H_TEXT;
		return 0;
	case H_ATTRS:
	case H_AFTER_ANAME:
		if (c == '>') {
			sc->hs = H_TEXT;
		} else if (c == '/') {
			sc->hs = H_ATTRS;
		} else if (c == '=' && sc->hs == H_AFTER_ANAME) {
			sc->hs = H_BEFORE_VALUE;
		} else if (!is_ws(c)) {
			sc->alen = 0;
			attr_add(sc, c);
			sc->hs = H_ANAME;
		}
		return 0;
	case H_ANAME:
		if (is_ws(c))
			sc->hs = H_AFTER_ANAME;
		else if (c == '=')
			sc->hs = H_BEFORE_VALUE;
		else if (c == '>')
			sc->hs = H_TEXT;
		else if (c == '/')
			sc->hs = H_ATTRS;
		else
			attr_add(sc, c);
		return 0;
	default:		/* H_BEFORE_VALUE */
		if (is_ws(c))
			return 0;
		if (c == '>') {
			sc->hs = H_TEXT;
			return 0;
		}
		value_begin(sc);
		if (c == '"' || c == '\'') {
			sc->quote = (char)c;
			sc->hs = H_VALUE_Q;
			return 0;
		}
		sc->hs = H_VALUE_U;
		return 1;
	}
}

/* value_step - one byte of an attribute value */
static void
value_step(struct rg_uri_scanner *sc, int c)
{
	if (sc->hs == H_VALUE_Q ? c == sc->quote : is_ws(c)) {
		value_end(sc);
		sc->hs = H_ATTRS;
	} else if (sc->hs == H_VALUE_U && c == '>') {
		value_end(sc);
		sc->hs = H_TEXT;
	} else if (c == '&') {
		sc->in_ent = 1;
		sc->elen = 0;
	} else {
		value_out(sc, c);
	}
}

/* decl_step - after "<!": a comment is read as text, anything else
 * (DOCTYPE, CDATA, "<![endif]") is skipped up to '>' */
static void
decl_step(struct rg_uri_scanner *sc, int c)
{
	if (c == '>') {
		word_end(sc);
		sc->hs = H_TEXT;
	} else if (sc->hs == H_COMMENT) {
		text_out(sc, c);
	} else if (sc->decl < 2 && c == '-') {
		if (++sc->decl == 2)
			sc->hs = H_COMMENT;
	} else {
		sc->decl = 3;
	}
}

/* html_step - one byte of HTML; 1 when it must be read again */
static int
html_step(struct rg_uri_scanner *sc, int c)
{
	switch (sc->hs) {
	case H_TEXT:
		if (c == '<') {
			word_end(sc);
			sc->hs = H_LT;
		} else if (c == '&') {
			sc->in_ent = 1;
			sc->elen = 0;
		} else {
			text_out(sc, c);
		}
		return 0;
	case H_LT:
		if (isalpha(c) || c == '/') {
			sc->hs = H_TAG;
		} else if (c == '!' || c == '?') {
			sc->hs = H_DECL;
			sc->decl = c == '!' ? 0 : 3;
		} else {
			sc->hs = H_TEXT;
			return 1;	/* a lone '<' is text (and ends a word) */
		}
		return 0;
	case H_VALUE_Q:
	case H_VALUE_U:
		value_step(sc, c);
		return 0;
	case H_DECL:
	case H_COMMENT:
		decl_step(sc, c);
		return 0;
	default:
		return tag_step(sc, c);
	}
}

/* html_byte - one byte of HTML, character references first */
static void
html_byte(struct rg_uri_scanner *sc, int c)
{
	if (sc->in_ent && ent_char(sc, c))
		return;
	while (html_step(sc, c))
		;
}

struct rg_uri_scanner *
rg_uri_scanner_new(struct rg_uriset *set)
{
	struct rg_uri_scanner *sc = rg_xcalloc(1, sizeof(*sc));

	sc->set = set;
	return sc;
}

/* text_run - prose, as text_out byte by byte would take it, but each run
 * between delimiters copied into the word at once */
static void
text_run(struct rg_uri_scanner *sc, const char *p, size_t n)
{
	size_t i = 0, j, k;

	while (i < n) {
		if (is_delim((unsigned char)p[i])) {
			word_end(sc);
			i++;
			continue;
		}
		for (j = i; j < n && !is_delim((unsigned char)p[j]); j++)
			;
		while (i < j) {
			if (sc->wlen == sizeof(sc->word))
				word_put(sc, p[i++]);	/* cuts the word, as it does */
			k = sizeof(sc->word) - sc->wlen;
			if (k > j - i)
				k = j - i;
			memcpy(sc->word + sc->wlen, p + i, k);
			sc->wlen += k;
			i += k;
		}
	}
}

/* rg_uri_scan_text - feed decoded text */
void
rg_uri_scan_text(struct rg_uri_scanner *sc, const char *text, size_t len,
    int html)
{
	if ((html != 0) != sc->html) {
		rg_uri_scan_flush(sc);
		sc->html = html != 0;
	}
	if (!sc->html) {
		text_run(sc, text, len);
		return;
	}
	for (size_t i = 0; i < len; i++)
		html_byte(sc, (unsigned char)text[i]);
}

/* rg_uri_scan_flush - end of a text: finish what is pending */
void
rg_uri_scan_flush(struct rg_uri_scanner *sc)
{
	if (sc->in_ent)
		ent_finish(sc, 0);
	word_end(sc);
	sc->hs = H_TEXT;
	sc->wkind = W_TEXT;
	sc->vkind = W_TEXT;
}

struct rg_uri_scanner *
rg_uri_scanner_free(struct rg_uri_scanner *sc)
{
	if (sc == NULL)
		return NULL;
	rg_uri_scan_flush(sc);
	free(sc);
	return NULL;
}
