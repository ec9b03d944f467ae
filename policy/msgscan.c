/*
 * msgscan.c - one message's body scan (see msgscan.h)
 *
 * The MIME decoder's callbacks: text goes to the URI scanner in the
 * part's mode (HTML or not) and is flushed at the end of each text part,
 * so that a link never runs from one part into the next; names are
 * copied into a list. Both are bounded by the decoder's caps (parts,
 * RG_MIME_PART_NAMES names each, mime_max_scan_bytes of text).
 */
#include <stdlib.h>

#include "msgscan.h"
#include "xalloc.h"

struct rg_msgscan {
	struct rg_mime *mime;
	struct rg_uriset *uris;
	struct rg_uri_scanner *scanner;
	struct rg_msgscan_name *names;
	size_t nnames, names_cap;
};

/* scan_text - decoded text of a text part */
static void
scan_text(void *arg, const struct rg_mime_part *p, const char *text,
    size_t len)
{
	struct rg_msgscan *s = arg;

	rg_uri_scan_text(s->scanner, text, len, p->kind == RG_MIME_TEXT_HTML);
}

/* scan_text_end - a text part ended */
static void
scan_text_end(void *arg, const struct rg_mime_part *p)
{
	struct rg_msgscan *s = arg;

	(void)p;
	rg_uri_scan_flush(s->scanner);
}

/* scan_name - a part's file name */
static void
scan_name(void *arg, const struct rg_mime_part *p, const char *name)
{
	struct rg_msgscan *s = arg;
	struct rg_msgscan_name *n;

	if (s->nnames == s->names_cap) {
		s->names_cap = s->names_cap ? s->names_cap * 2 : 4;
		s->names = rg_xreallocarray(s->names, s->names_cap,
		    sizeof(*s->names));
	}
	n = &s->names[s->nnames++];
	n->path = rg_xstrdup(p->path);
	n->name = rg_xstrdup(name);
	n->type = rg_xstrdup(p->type);
	n->attachment = p->attachment;
}

struct rg_msgscan *
rg_msgscan_new_limits(const struct rg_mime_limits *lim, size_t max_domains,
    size_t max_ips)
{
	struct rg_msgscan *s = rg_xcalloc(1, sizeof(*s));
	struct rg_mime_handler h = { scan_text, scan_text_end, scan_name, s };

	s->uris = rg_uriset_new(max_domains, max_ips);
	s->scanner = rg_uri_scanner_new(s->uris);
	s->mime = rg_mime_new(lim, &h);
	return s;
}

struct rg_msgscan *
rg_msgscan_new(const struct rg_mime_conf *mc, const struct rg_uri_conf *uc)
{
	struct rg_mime_limits lim;

	rg_mime_limits_conf(&lim, mc);
	return rg_msgscan_new_limits(&lim, (size_t)uc->max_domains,
	    (size_t)uc->max_ips);
}

void
rg_msgscan_expect_header(struct rg_msgscan *s)
{
	rg_mime_expect_header(s->mime);
}

void
rg_msgscan_header(struct rg_msgscan *s, const char *name, const char *value)
{
	rg_mime_header(s->mime, name, value);
}

void
rg_msgscan_body(struct rg_msgscan *s, const void *chunk, size_t len)
{
	rg_mime_body(s->mime, chunk, len);
}

/* rg_msgscan_end - close the decoder, then the scanner */
void
rg_msgscan_end(struct rg_msgscan *s)
{
	rg_mime_end(s->mime);
	rg_uri_scan_flush(s->scanner);
}

const struct rg_uriset *
rg_msgscan_uris(const struct rg_msgscan *s)
{
	return s->uris;
}

size_t
rg_msgscan_nnames(const struct rg_msgscan *s)
{
	return s->nnames;
}

const struct rg_msgscan_name *
rg_msgscan_name(const struct rg_msgscan *s, size_t i)
{
	return i < s->nnames ? &s->names[i] : NULL;
}

const struct rg_mime_stats *
rg_msgscan_stats(const struct rg_msgscan *s)
{
	return rg_mime_stats(s->mime);
}

struct rg_msgscan *
rg_msgscan_free(struct rg_msgscan *s)
{
	if (s == NULL)
		return NULL;
	s->mime = rg_mime_free(s->mime);
	s->scanner = rg_uri_scanner_free(s->scanner);
	s->uris = rg_uriset_free(s->uris);
	for (size_t i = 0; i < s->nnames; i++) {
		free(s->names[i].path);
		free(s->names[i].name);
		free(s->names[i].type);
	}
	free(s->names);
	free(s);
	return NULL;
}
