/*
 * out.c - the audit's notes, and one emitter for text and JSON
 *
 * Every check prints its results once, through rg_audit_out_*: in text
 * mode that is an indented report (headings, "label: value" lines, one
 * line per note); in JSON mode one object (RFC 8259) with the same facts
 * under stable keys. Strings from the network (banners, replies, DNS
 * records) are made safe on the way out: control bytes are escaped in
 * text, and invalid UTF-8 becomes U+FFFD in JSON, so the JSON always
 * parses. Not thread-safe: one emitter per output stream.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "../../policy/xalloc.h"

/* rg_audit_note - append a formatted note */
void
rg_audit_note(struct rg_audit_notes *ns, enum rg_audit_sev sev,
    const char *fmt, ...)
{
	struct rg_buf b = RG_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	rg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	ns->v = rg_xreallocarray(ns->v, ns->n + 1, sizeof(*ns->v));
	ns->v[ns->n].sev = sev;
	ns->v[ns->n].text = b.data ? rg_buf_steal(&b) : rg_xstrdup("");
	ns->n++;
}

/* rg_audit_notes_release - free every note */
void
rg_audit_notes_release(struct rg_audit_notes *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i].text);
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
}

/* rg_audit_notes_count - notes of one severity */
size_t
rg_audit_notes_count(const struct rg_audit_notes *ns, enum rg_audit_sev sev)
{
	size_t k = 0;

	for (size_t i = 0; i < ns->n; i++)
		if (ns->v[i].sev == sev)
			k++;
	return k;
}

/* rg_audit_sev_name - the JSON name of a severity */
const char *
rg_audit_sev_name(enum rg_audit_sev sev)
{
	switch (sev) {
	case RG_AUDIT_OK:
		return "ok";
	case RG_AUDIT_INFO:
		return "info";
	case RG_AUDIT_WARN:
		return "warn";
	case RG_AUDIT_FAIL:
		return "fail";
	case RG_AUDIT_ERROR:
		return "error";
	}
	return "?";
}

/* rg_audit_json_string - a JSON string literal of s */
void
rg_audit_json_string(struct rg_buf *out, const char *s)
{
	rg_buf_put_json(out, s ? s : "");
}

/* rg_audit_printable - s with control bytes escaped, for a terminal */
void
rg_audit_printable(struct rg_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			rg_buf_printf(out, "\\x%02x", *p);
		else
			rg_buf_putc(out, *p);
	}
}

/* rg_audit_out_init - an emitter on fp */
void
rg_audit_out_init(struct rg_audit_out *o, FILE *fp, int json)
{
	memset(o, 0, sizeof(*o));
	o->fp = fp;
	o->json = json;
	o->first[0] = 1;
}

/* out_indent - text mode: two spaces per titled level */
static void
out_indent(struct rg_audit_out *o)
{
	for (int i = 0; i < o->depth; i++)
		if (o->titled[i])
			fputs("  ", o->fp);
}

/* out_key - JSON: the separator and "key": before a value */
static void
out_key(struct rg_audit_out *o, const char *key)
{
	struct rg_buf b = RG_BUF_INIT;

	if (!o->first[o->depth])
		fputc(',', o->fp);
	o->first[o->depth] = 0;
	if (key != NULL && !o->array[o->depth]) {
		rg_audit_json_string(&b, key);
		fprintf(o->fp, "%s:", rg_buf_cstr(&b));
	}
	rg_buf_release(&b);
}

/* out_push - one level deeper; a bug when nested too far */
static void
out_push(struct rg_audit_out *o, int array, int titled)
{
	if (o->depth + 1 >= RG_AUDIT_OUT_DEPTH)
		abort();
	o->titled[o->depth] = titled;
	o->depth++;
	o->first[o->depth] = 1;
	o->array[o->depth] = array;
}

/* rg_audit_out_begin - open an object, with a heading in text mode */
void
rg_audit_out_begin(struct rg_audit_out *o, const char *key, const char *title)
{
	if (o->json) {
		out_key(o, key);
		fputc('{', o->fp);
	} else if (title != NULL) {
		struct rg_buf b = RG_BUF_INIT;

		int top = 1;

		for (int i = 1; i < o->depth; i++)
			top &= !o->titled[i];
		rg_audit_printable(&b, title);
		if (top)
			fputc('\n', o->fp);	/* a blank line between sections */
		out_indent(o);
		fprintf(o->fp, "%s\n", rg_buf_cstr(&b));
		rg_buf_release(&b);
	}
	out_push(o, 0, title != NULL);
}

/* rg_audit_out_end - close the innermost object */
void
rg_audit_out_end(struct rg_audit_out *o)
{
	if (o->depth == 0)
		abort();
	o->depth--;
	o->titled[o->depth] = 0;
	if (o->json)
		fputc('}', o->fp);
	if (o->json && o->depth == 0)
		fputc('\n', o->fp);
}

/* rg_audit_out_array - open an array (JSON only) */
void
rg_audit_out_array(struct rg_audit_out *o, const char *key)
{
	if (o->json) {
		out_key(o, key);
		fputc('[', o->fp);
	}
	out_push(o, 1, 0);
}

/* rg_audit_out_array_end - close the innermost array */
void
rg_audit_out_array_end(struct rg_audit_out *o)
{
	if (o->depth == 0)
		abort();
	o->depth--;
	o->titled[o->depth] = 0;
	if (o->json)
		fputc(']', o->fp);
}

/* rg_audit_out_str - one string value */
void
rg_audit_out_str(struct rg_audit_out *o, const char *key, const char *label,
    const char *value)
{
	struct rg_buf b = RG_BUF_INIT;

	if (o->json) {
		out_key(o, key);
		if (value == NULL) {
			fputs("null", o->fp);
		} else {
			rg_audit_json_string(&b, value);
			fputs(rg_buf_cstr(&b), o->fp);
		}
	} else if (label != NULL && value != NULL) {
		rg_audit_printable(&b, value);
		out_indent(o);
		fprintf(o->fp, "%s: %s\n", label, rg_buf_cstr(&b));
	}
	rg_buf_release(&b);
}

/* rg_audit_out_int - one number */
void
rg_audit_out_int(struct rg_audit_out *o, const char *key, const char *label,
    long long value)
{
	if (o->json) {
		out_key(o, key);
		fprintf(o->fp, "%lld", value);
	} else if (label != NULL) {
		out_indent(o);
		fprintf(o->fp, "%s: %lld\n", label, value);
	}
}

/* rg_audit_out_bool - true or false (text: yes or no) */
void
rg_audit_out_bool(struct rg_audit_out *o, const char *key, const char *label,
    int value)
{
	if (o->json) {
		out_key(o, key);
		fputs(value ? "true" : "false", o->fp);
	} else if (label != NULL) {
		out_indent(o);
		fprintf(o->fp, "%s: %s\n", label, value ? "yes" : "no");
	}
}

/* rg_audit_out_item - a string inside an array */
void
rg_audit_out_item(struct rg_audit_out *o, const char *value)
{
	struct rg_buf b = RG_BUF_INIT;

	if (o->json) {
		out_key(o, NULL);
		rg_audit_json_string(&b, value);
		fputs(rg_buf_cstr(&b), o->fp);
	} else {
		rg_audit_printable(&b, value);
		out_indent(o);
		fprintf(o->fp, "  %s\n", rg_buf_cstr(&b));
	}
	rg_buf_release(&b);
}

/* out_marker - the text-mode tag of a note, padded to one width */
static const char *
out_marker(enum rg_audit_sev sev)
{
	switch (sev) {
	case RG_AUDIT_OK:
		return "ok   ";
	case RG_AUDIT_INFO:
		return "info ";
	case RG_AUDIT_WARN:
		return "WARN ";
	case RG_AUDIT_FAIL:
		return "FAIL ";
	case RG_AUDIT_ERROR:
		return "ERROR";
	}
	return "?    ";
}

/* rg_audit_out_notes - every note, in the order they were made */
void
rg_audit_out_notes(struct rg_audit_out *o, const struct rg_audit_notes *ns)
{
	struct rg_buf b = RG_BUF_INIT;

	if (o->json)
		rg_audit_out_array(o, "notes");
	for (size_t i = 0; i < ns->n; i++) {
		rg_buf_reset(&b);
		if (o->json) {
			rg_audit_out_begin(o, NULL, NULL);
			rg_audit_out_str(o, "level", NULL, rg_audit_sev_name(ns->v[i].sev));
			rg_audit_out_str(o, "text", NULL, ns->v[i].text);
			rg_audit_out_end(o);
			continue;
		}
		rg_audit_printable(&b, ns->v[i].text);
		out_indent(o);
		fprintf(o->fp, "%s %s\n", out_marker(ns->v[i].sev), rg_buf_cstr(&b));
	}
	if (o->json)
		rg_audit_out_array_end(o);
	rg_buf_release(&b);
}

/* rg_audit_out_text - a free line of the text report */
void
rg_audit_out_text(struct rg_audit_out *o, const char *fmt, ...)
{
	struct rg_buf b = RG_BUF_INIT, safe = RG_BUF_INIT;
	va_list ap;

	if (o->json)
		return;
	va_start(ap, fmt);
	rg_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	rg_audit_printable(&safe, rg_buf_cstr(&b));
	out_indent(o);
	fprintf(o->fp, "%s\n", rg_buf_cstr(&safe));
	rg_buf_release(&b);
	rg_buf_release(&safe);
}
