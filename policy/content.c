/*
 * content.c - attachment file types and header sanity at end of message
 * (see content.h)
 *
 * Both checks read what the session and the message scan already hold:
 * the kept header fields with the counters of what was seen, and the
 * file names of the parts. A header violation is judged first: a message
 * refused for its header needs no more work. Names quoted in replies and
 * headers are made ASCII and cut to a readable length, the extension
 * kept in sight.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "content.h"
#include "dmarc.h"
#include "log.h"
#include "msgscan.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "xalloc.h"

#define CONTENT_NAME_SHOWN	80	/* characters of a file name in replies */
#define CONTENT_TAG_MAX		900	/* header text: within RFC 5322's 998 */
#define CONTENT_FROM_MAX	256

/* rg_content_extension - after the last dot, trailing dots and spaces gone */
int
rg_content_extension(const char *name, char *out, size_t size)
{
	size_t len = strlen(name), n;
	const char *dot;

	/* Windows drops trailing dots and spaces: "x.exe. " opens as x.exe */
	while (len > 0 && (name[len - 1] == '.' || name[len - 1] == ' '))
		len--;
	dot = memrchr(name, '.', len);
	if (dot == NULL || size == 0)
		return 0;
	n = len - (size_t)(dot + 1 - name);
	if (n == 0 || n >= size)
		return 0;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)dot[1 + i]);
	out[n] = '\0';
	return 1;
}

/* rg_content_ext_blocked - the extension, looked up in the list */
int
rg_content_ext_blocked(const struct rg_strlist *list, const char *name,
    char *ext, size_t size)
{
	if (!rg_content_extension(name, ext, size))
		return 0;
	return rg_strlist_contains(list, ext);
}

/* content_count - fields named name among the kept ones */
static size_t
content_count(const struct rg_msg *m, const char *name, const char **first)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nheaders; i++)
		if (strcasecmp(m->headers[i].name, name) == 0 && n++ == 0 &&
		    first != NULL)
			*first = m->headers[i].value;
	return n;
}

/* content_from - RFC 5322 s3.6.2: one From, one or more mailboxes */
static void
content_from(const struct rg_msg *m, char *why, size_t size)
{
	char dom[CONTENT_FROM_MAX];
	const char *from = NULL;
	size_t n = content_count(m, "From", &from);

	if (n == 0)
		snprintf(why, size, "no From header field");
	else if (n > 1)
		snprintf(why, size, "%zu From header fields", n);
	/* -1: several domains or unbalanced syntax; DMARC judges those */
	else if (rg_dmarc_from_domain(from, dom, sizeof(dom)) == 0)
		snprintf(why, size, "From header field without an address");
}

/* rg_content_header_check - the caps first: beyond them the counts are partial */
void
rg_content_header_check(const struct rg_msg *m, size_t max_headers,
    size_t max_header_bytes, struct rg_content_hdrcheck *out)
{
	size_t subj, date;

	out->bad[0] = out->dup[0] = '\0';
	if (m->header_bytes > max_header_bytes)
		snprintf(out->bad, sizeof(out->bad), "header too large (%zu bytes, "
		    "limit %zu)", m->header_bytes, max_header_bytes);
	else if (m->headers_dropped > 0 || m->nheaders > max_headers)
		snprintf(out->bad, sizeof(out->bad), "too many header fields (%zu, "
		    "limit %zu)", m->nheaders + m->headers_dropped, max_headers);
	else
		content_from(m, out->bad, sizeof(out->bad));
	/* RFC 5322 s3.6: Subject and Date at most once */
	subj = content_count(m, "Subject", NULL);
	date = content_count(m, "Date", NULL);
	if (subj > 1 && date > 1)
		snprintf(out->dup, sizeof(out->dup), "%zu Subject and %zu Date "
		    "header fields", subj, date);
	else if (subj > 1)
		snprintf(out->dup, sizeof(out->dup), "%zu Subject header fields", subj);
	else if (date > 1)
		snprintf(out->dup, sizeof(out->dup), "%zu Date header fields", date);
}

/* content_hdr_apply - one class of header findings under its action */
static void
content_hdr_apply(struct rg_conn *c, const char *why, int action,
    struct rg_verdict *v)
{
	if (why[0] == '\0' || rg_verdict_is_final(v))
		return;
	rg_log_id(RG_LOG_INFO, c->id, "content: header: %s (%s)", why,
	    action == RG_CONTENT_REJECT ? "reject" : action == RG_CONTENT_TAG ?
	    "tag" : "accept");
	rg_msg_note(c->msg, "header", "%s", why);
	if (action == RG_CONTENT_REJECT)
		rg_verdict_set(v, RG_ACT_REJECT, "header", "554", "5.6.0",
		    "Message header rejected: %s", why);
	else if (action == RG_CONTENT_TAG)
		rg_verdict_add_header(v, rg_tag_name(RG_TAG_HEADER), why, -1);
}

/* content_headers - judge the header; the serious class first */
static void
content_headers(struct rg_conn *c, struct rg_verdict *v)
{
	const struct rg_content_conf *cc = &c->conf->content;
	struct rg_content_hdrcheck hc;

	rg_content_header_check(c->msg, (size_t)c->conf->core.max_headers,
	    (size_t)c->conf->core.max_header_bytes, &hc);
	content_hdr_apply(c, hc.bad, cc->header_action, v);
	content_hdr_apply(c, hc.dup, cc->header_duplicate_action, v);
}

/*
 * content_safe_name - a name fit for a reply or header: ASCII, each UTF-8
 * sequence one '?', quotes and controls '?', head and tail of a long one
 */
static void
content_safe_name(const char *name, char *out, size_t size)
{
	char tmp[RG_MIME_NAME_MAX + 1];
	size_t n = 0, head = CONTENT_NAME_SHOWN / 2;

	for (const unsigned char *p = (const unsigned char *)name;
	    *p && n + 1 < sizeof(tmp); p++) {
		if (*p >= 0x80 && *p < 0xc0)
			continue;	/* UTF-8 continuation: already shown */
		tmp[n++] = *p < 0x20 || *p >= 0x7f || *p == '"' ? '?' : (char)*p;
	}
	tmp[n] = '\0';
	if (n <= CONTENT_NAME_SHOWN)
		snprintf(out, size, "%s", tmp);
	else
		snprintf(out, size, "%.*s...%s", (int)head, tmp,
		    tmp + n - (CONTENT_NAME_SHOWN - head - 3));
}

/* content_blocked - a refused name: log, then reject or add to the tag */
static void
content_blocked(struct rg_conn *c, const struct rg_msgscan_name *nm,
    const char *ext, struct rg_buf *tag, struct rg_verdict *v)
{
	char shown[CONTENT_NAME_SHOWN + 8];

	content_safe_name(nm->name, shown, sizeof(shown));
	rg_log_id(RG_LOG_INFO, c->id, "content: attachment \"%s\" in part %s "
	    "(%s): file type .%s is blocked", shown, nm->path, nm->type, ext);
	if (tag->len == 0)
		rg_msg_note(c->msg, "attachment", ".%s in part %s", ext, nm->path);
	if (c->conf->content.attachment_action == RG_CONTENT_REJECT) {
		rg_verdict_set(v, RG_ACT_REJECT, "attachment", "554", "5.7.1",
		    "Attachment \"%s\" refused: file type .%s is not allowed",
		    shown, ext);
		return;
	}
	if (tag->len + strlen(shown) + strlen(nm->path) + 16 <= CONTENT_TAG_MAX)
		rg_buf_printf(tag, "%s\"%s\" in part %s", tag->len ? ", " : "",
		    shown, nm->path);
}

/* content_caps_note - log which decoder caps left parts unread */
static void
content_caps_note(const struct rg_conn *c, unsigned flags)
{
	static const struct {
		unsigned flag;
		const char *name;
	} caps[] = {
		{ RG_MIME_F_DEPTH, "mime_max_depth" },
		{ RG_MIME_F_PARTS, "mime_max_parts" },
		{ RG_MIME_F_NAMES, "names per part" },
	};
	struct rg_buf b = RG_BUF_INIT;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (flags & caps[i].flag)
			rg_buf_printf(&b, "%s%s", b.len ? ", " : "", caps[i].name);
	if (b.len > 0)
		rg_log_id(RG_LOG_NOTICE, c->id, "content: not every part was "
		    "looked at (%s); attachment names may be missing",
		    rg_buf_cstr(&b));
	rg_buf_release(&b);
}

/* content_attachments - every file name of every part */
static void
content_attachments(struct rg_conn *c, struct rg_verdict *v)
{
	const struct rg_content_conf *cc = &c->conf->content;
	const struct rg_msgscan *s = c->msg->scan;
	struct rg_buf tag = RG_BUF_INIT;
	char ext[RG_CONTENT_EXT_MAX + 1];
	size_t n = rg_msgscan_nnames(s);

	content_caps_note(c, rg_msgscan_stats(s)->flags);
	for (size_t i = 0; i < n && !rg_verdict_is_final(v); i++) {
		const struct rg_msgscan_name *nm = rg_msgscan_name(s, i);

		if (rg_content_ext_blocked(&cc->block_ext, nm->name, ext, sizeof(ext)))
			content_blocked(c, nm, ext, &tag, v);
	}
	if (tag.len > 0 && !rg_verdict_is_final(v))
		rg_verdict_add_header(v, rg_tag_name(RG_TAG_ATTACHMENT),
		    rg_buf_cstr(&tag), -1);
	rg_buf_release(&tag);
}

/* rg_content_eom - the header, then the attachments */
void
rg_content_eom(struct rg_conn *c, struct rg_verdict *v)
{
	if (c->msg == NULL || rg_verdict_is_final(v))
		return;
	content_headers(c, v);
	if (c->msg->scan != NULL && c->conf->content.block_ext.n > 0 &&
	    !rg_verdict_is_final(v))
		content_attachments(c, v);
}

/* ---- parameters -------------------------------------------------------- */

/* content_ext_ok - 1 to RG_CONTENT_EXT_MAX letters, digits and -_+~$!# */
static int
content_ext_ok(const char *e)
{
	size_t n = strlen(e);

	if (n == 0 || n > RG_CONTENT_EXT_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)e[i]) && strchr("-_+~$!#", e[i]) == NULL)
			return 0;
	return 1;
}

/* content_ext_item - ".exe", "*.exe" or "exe", stored as "exe" */
static int
content_ext_item(struct rg_conf_ctx *cx, const char *item, const char *file,
    int line, void *arg)
{
	struct rg_strlist *l = arg;
	const char *e = item;
	char buf[RG_CONTENT_EXT_MAX + 1];

	if (e[0] == '*' && e[1] == '.')
		e += 2;
	else if (e[0] == '.')
		e++;
	if (!content_ext_ok(e)) {
		rg_conf_error(cx, file, line, "block_attachment_extensions: \"%s\": "
		    "expected an extension such as exe or .exe (letters, digits, "
		    "-_+~$!#; at most %d)", item, RG_CONTENT_EXT_MAX);
		return -1;
	}
	rg_strlcpy(buf, e, sizeof(buf));	/* fits: content_ext_ok */
	rg_str_lower(buf);
	if (rg_strlist_contains(l, buf))
		return 0;
	l->v = rg_xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = rg_xstrdup(buf);
	return 0;
}

/* content_parse_ext - the extension list, with file: lists */
static int
content_parse_ext(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	(void)p;
	return rg_conf_foreach_item(cx, value, content_ext_item, dst);
}

/* content_free_ext - release the list */
static void
content_free_ext(void *dst)
{
	rg_strlist_free(dst);
}

static const struct rg_ptype_ops content_ext_ops = {
	content_parse_ext, content_free_ext,
};

#define CONTENT(f) offsetof(struct rg_content_conf, f)

const struct rg_param rg_content_params[] = {
	RG_P_CUSTOM("block_attachment_extensions",
	    "exe, com, scr, pif, cpl, dll, sys, drv, ocx, msi, msp, mst, msc, "
	    "msix, msixbundle, appx, appxbundle, application, appref-ms, gadget, "
	    "bat, cmd, ps1, psm1, vb, vbs, vbe, js, jse, wsf, wsh, wsc, sct, hta, "
	    "jar, jnlp, lnk, url, scf, inf, reg, hlp, chm, iso, img, vhd, vhdx, xll",
	    &content_ext_ops, CONTENT(block_ext), 0,
	    "file name extensions refused in any MIME part (last extension, "
	    "as Windows reads it); empty: none"),
	RG_P_ENUM("attachment_action", "reject", "reject|tag",
	    CONTENT(attachment_action), 0,
	    "a blocked attachment gets 554 5.7.1, or an X-Relayguard-Attachment header"),
	RG_P_ENUM("header_action", "reject", "reject|tag|accept",
	    CONTENT(header_action), 0,
	    "no From, several From, From without an address, header over "
	    "max_headers or max_header_bytes: 554 5.6.0, a header, or a log line"),
	RG_P_ENUM("header_duplicate_action", "tag", "reject|tag|accept",
	    CONTENT(header_duplicate_action), 0,
	    "more than one Subject or Date: 554 5.6.0, an X-Relayguard-Header "
	    "header, or a log line"),
	RG_P_END
};
