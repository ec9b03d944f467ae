/*
 * content_test.c - content checks: the extension of a file name as
 * Windows reads it (double extensions, trailing dots and spaces, case,
 * no extension, dotfiles), the configured list (forms, errors), header
 * sanity as a table (From missing, repeated, empty; Subject and Date
 * repeated; the header caps), and whole messages: RFC 2231 and RFC 2047
 * names, double extensions in nested parts, reject and tag for both
 * checks, names made safe for a reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "msgscan.h"
#include "session.h"
#include "settings.h"
#include "rgtest.h"
#include "rgtest_conf.h"

static char tmpdir[] = "/tmp/rgcontentXXXXXX";

static void
test_extension(void)
{
	static const struct {
		const char *name, *ext;	/* ext NULL: none */
	} t[] = {
		{ "setup.exe", "exe" },
		{ "invoice.pdf.exe", "exe" },
		{ "INVOICE.PDF.EXE", "exe" },
		{ "Rechnung.Pdf.Exe", "exe" },
		{ "x.exe.", "exe" },
		{ "x.exe ", "exe" },
		{ "x.exe. . ..  ", "exe" },
		{ "x.pdf                         .exe", "exe" },
		{ "report.pdf", "pdf" },
		{ "archive.tar.gz", "gz" },
		{ "C:\\Users\\me\\run.bat", "bat" },
		{ "../../x.cmd", "cmd" },
		{ ".exe", "exe" },		/* Explorer: a nameless .exe */
		{ ".bashrc", "bashrc" },
		{ "noextension", NULL },
		{ "README", NULL },
		{ "x.", NULL },
		{ "x. .", NULL },
		{ "...", NULL },
		{ " ", NULL },
		{ "", NULL },
		{ "x. exe", " exe" },		/* not exe: a space before it */
		{ "x.exe_", "exe_" },
		{ "x.ex e", "ex e" },
		{ "photo.jpg\xe2\x80\xae" "exe.scr", "scr" },	/* RLO trick */
		{ "x.abcdefghijklmnopqrstuvwxyz0123456789", NULL },	/* 36 > 32 */
		{ "x.abcdefghijklmnopqrstuvwxyz01234", "abcdefghijklmnopqrstuvwxyz01234" },
	};
	char ext[RG_CONTENT_EXT_MAX + 1];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int got;

		RGT_CASE(t[i].name);
		ext[0] = '\0';
		got = rg_content_extension(t[i].name, ext, sizeof(ext));
		RGT_INTEQ(got, t[i].ext != NULL);
		if (got && t[i].ext != NULL)
			RGT_STREQ(ext, t[i].ext);
	}
	RGT_CASE("an output buffer of size 0 or 1");
	RGT_INTEQ(rg_content_extension("x.exe", ext, 0), 0);
	RGT_INTEQ(rg_content_extension("x.exe", ext, 1), 0);
	RGT_INTEQ(rg_content_extension("x.exe", ext, 4), 1);
	RGT_STREQ(ext, "exe");
}

/* ---- configuration -------------------------------------------------------- */

#define write_file(name, text) rgt_write_file(tmpdir, name, text)
#define load(text, err) rgt_conf_load_in(tmpdir, text, err)

static void
test_conf(void)
{
	static const char *blocked[] = {
		"exe", "scr", "js", "vbs", "vbe", "jse", "bat", "cmd", "com", "pif",
		"jar", "hta", "msi", "msp", "cpl", "wsf", "wsh", "ps1", "reg", "lnk",
		"iso", "img", "vhd", "scf", "application", "gadget", "inf", "hlp",
		"chm", "dll", "sys",
	};
	static const char *allowed[] = {
		"pdf", "doc", "docx", "xlsx", "txt", "zip", "jpg", "png", "html",
		"json", "csv", "eml", "ics",
	};
	struct rg_buf err = RG_BUF_INIT;
	char ext[RG_CONTENT_EXT_MAX + 1];
	struct rg_conf *c;

	RGT_CASE("defaults");
	c = load("", &err);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c == NULL)
		return;
	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
		RGT_CHECK(rg_strlist_contains(&c->content.block_ext, blocked[i]),
		    ".%s not blocked by default", blocked[i]);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		RGT_CHECK(!rg_strlist_contains(&c->content.block_ext, allowed[i]),
		    ".%s blocked by default", allowed[i]);
	RGT_INTEQ(rg_content_ext_blocked(&c->content.block_ext, "a.pdf.EXE ", ext,
	    sizeof(ext)), 1);
	RGT_STREQ(ext, "exe");
	RGT_INTEQ(rg_content_ext_blocked(&c->content.block_ext, "data.json", ext,
	    sizeof(ext)), 0);
	RGT_INTEQ(rg_content_ext_blocked(&c->content.block_ext, "js", ext,
	    sizeof(ext)), 0);
	RGT_INTEQ(c->content.attachment_action, RG_CONTENT_REJECT);
	RGT_INTEQ(c->content.header_action, RG_CONTENT_REJECT);
	RGT_INTEQ(c->content.header_duplicate_action, RG_CONTENT_TAG);
	rg_conf_release(c);

	RGT_CASE("with or without the dot, any case, from a file, once each");
	write_file("ext.txt", "# more\n*.Docm\n\nxlsm\n");
	c = load("block_attachment_extensions = .EXE, *.js cmd, exe, file:ext.txt\n"
	    "attachment_action = tag\nheader_action = accept\n"
	    "header_duplicate_action = reject\n", &err);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_INTEQ(c->content.block_ext.n, 5);
		RGT_INTEQ(rg_strlist_contains(&c->content.block_ext, "exe"), 1);
		RGT_INTEQ(rg_strlist_contains(&c->content.block_ext, "js"), 1);
		RGT_INTEQ(rg_strlist_contains(&c->content.block_ext, "docm"), 1);
		RGT_INTEQ(rg_strlist_contains(&c->content.block_ext, "scr"), 0);
		RGT_INTEQ(c->content.attachment_action, RG_CONTENT_TAG);
		RGT_INTEQ(c->content.header_action, RG_CONTENT_ACCEPT);
		RGT_INTEQ(c->content.header_duplicate_action, RG_CONTENT_REJECT);
		rg_conf_release(c);
	}

	RGT_CASE("empty: nothing blocked");
	c = load("block_attachment_extensions =\n", &err);
	RGT_CHECK(c != NULL && c->content.block_ext.n == 0, "%s", rg_buf_cstr(&err));
	rg_conf_release(c);

	RGT_CASE("errors name file and line");
	write_file("bad.txt", "exe\n\nx/y\n");
	c = load("# first\nblock_attachment_extensions = file:bad.txt\n"
	    "attachment_action = accept\n", &err);
	RGT_CHECK(c == NULL, "bad config loaded");
	RGT_CONTAINS(rg_buf_cstr(&err), "bad.txt:3: block_attachment_extensions: "
	    "\"x/y\": expected an extension");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:3: attachment_action: expected one of");
	rg_conf_release(c);
	c = load("block_attachment_extensions = .\n", &err);
	RGT_CHECK(c == NULL, "\".\" loaded");
	c = load("block_attachment_extensions = "
	    "abcdefghijklmnopqrstuvwxyz0123456789\n", &err);
	RGT_CHECK(c == NULL, "a 36-character extension loaded");
	RGT_CONTAINS(rg_buf_cstr(&err), "at most 32");
	rg_buf_release(&err);
}

/* ---- header sanity --------------------------------------------------------- */

#define H_MAX 8

/* hdr_msg - a message with the given fields, "Name: value" each */
static void
hdr_msg(struct rg_msg *m, struct rg_header *h, const char *const *fields)
{
	static char names[H_MAX][32];

	memset(m, 0, sizeof(*m));
	m->headers = h;
	for (size_t i = 0; i < H_MAX && fields[i] != NULL; i++) {
		const char *colon = strchr(fields[i], ':');

		snprintf(names[i], sizeof(names[i]), "%.*s", (int)(colon - fields[i]),
		    fields[i]);
		h[i].name = names[i];
		h[i].value = (char *)colon + 2;
		m->nheaders++;
		m->header_bytes += strlen(fields[i]) + 2;
	}
}

static void
test_headers(void)
{
	static const struct {
		const char *name;
		const char *fields[H_MAX];
		const char *bad, *dup;
	} t[] = {
		{ "a usual header", { "From: Ann <ann@example.org>",
		    "Subject: hi", "Date: Mon, 2 Jan 2023 10:00:00 +0000" }, "", "" },
		{ "no From", { "Subject: hi", "Date: x" }, "no From header field", "" },
		{ "no field at all", { NULL }, "no From header field", "" },
		{ "two From fields", { "From: a@example.org", "Subject: hi",
		    "FROM: b@example.net" }, "2 From header fields", "" },
		{ "three From fields", { "From: a@example.org", "From: a@example.org",
		    "from: a@example.org" }, "3 From header fields", "" },
		{ "From without an address", { "From: undisclosed-recipients:;" },
		    "From header field without an address", "" },
		{ "From with a display name only", { "From: \"Ann\" (no address)" },
		    "From header field without an address", "" },
		{ "empty From", { "From: " },
		    "From header field without an address", "" },
		{ "several mailboxes, several domains: still one From",
		    { "From: a@example.org, b@example.net", "Sender: a@example.org" },
		    "", "" },
		{ "several mailboxes, one domain", { "From: a@example.org, "
		    "b@example.org" }, "", "" },
		{ "two Subject fields", { "From: a@example.org", "Subject: one",
		    "subject: two" }, "", "2 Subject header fields" },
		{ "two Date fields", { "From: a@example.org", "Date: x", "Date: y" },
		    "", "2 Date header fields" },
		{ "both repeated", { "From: a@example.org", "Date: x", "Date: y",
		    "Subject: a", "Subject: b", "Subject: c" }, "",
		    "3 Subject and 2 Date header fields" },
		{ "both classes at once", { "Subject: a", "Subject: b" },
		    "no From header field", "2 Subject header fields" },
		{ "Resent-From and X-From do not count", { "From: a@example.org",
		    "Resent-From: b@example.org", "X-From: c@example.org" }, "", "" },
	};
	struct rg_header h[H_MAX];
	struct rg_content_hdrcheck hc;
	struct rg_msg m;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		RGT_CASE(t[i].name);
		hdr_msg(&m, h, t[i].fields);
		rg_content_header_check(&m, 1000, 1048576, &hc);
		RGT_STREQ(hc.bad, t[i].bad);
		RGT_STREQ(hc.dup, t[i].dup);
	}

	RGT_CASE("fields beyond max_headers were seen: too many");
	{
		const char *f[] = { "From: a@example.org", NULL };

		hdr_msg(&m, h, f);
		m.headers_dropped = 1200;
		rg_content_header_check(&m, 1000, 1048576, &hc);
		RGT_STREQ(hc.bad, "too many header fields (1201, limit 1000)");

		RGT_CASE("bytes beyond max_header_bytes: too large, named first");
		m.header_bytes = 2000000;
		rg_content_header_check(&m, 1000, 1048576, &hc);
		RGT_STREQ(hc.bad, "header too large (2000000 bytes, limit 1048576)");

		RGT_CASE("at the caps exactly: fine");
		m.headers_dropped = 0;
		m.header_bytes = 1048576;
		rg_content_header_check(&m, 1, 1048576, &hc);
		RGT_STREQ(hc.bad, "");
	}
}

/* ---- whole messages ---------------------------------------------------------- */

struct run {
	struct rg_conn *c;
	struct rg_verdict v;
};

/*
 * run - a message under conf: header fields "Name: value\n" each, then the
 * body; returns the verdict's text or the first added header
 */
static void
run(struct run *r, const char *conf, const char *fields, const char *body)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *cf = load(conf, &err);
	char line[512];

	if (cf == NULL) {
		printf("FAIL: config: %s", rg_buf_cstr(&err));
		exit(1);
	}
	rg_buf_release(&err);
	r->c = rg_conn_new(cf, 1);
	rg_verdict_init(&r->v);
	rg_msg_begin(r->c);
	for (const char *p = fields, *nl; *p; p = nl + 1) {
		char *colon;

		nl = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		colon = strchr(line, ':');
		*colon = '\0';
		rg_msg_add_header(r->c, line, colon + 2);
	}
	rg_msg_add_body(r->c, body, strlen(body));
	rg_msgscan_end(r->c->msg->scan);
	rg_content_eom(r->c, &r->v);
}

/* note - the value of a summary note, or "(none)" */
static const char *
note(const struct run *r, const char *key)
{
	for (size_t i = 0; i < r->c->msg->nnotes; i++)
		if (strcmp(r->c->msg->notes[i].key, key) == 0)
			return r->c->msg->notes[i].value;
	return "(none)";
}

static void
run_end(struct run *r)
{
	rg_verdict_clear(&r->v);
	r->c = rg_conn_free(r->c);
}

#define FROM "From: Ann <ann@example.org>\nSubject: files\n"
#define MIXED FROM "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n"

static const char body_2231[] =
    "--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    "--b1\r\nContent-Type: application/octet-stream\r\n"
    "Content-Disposition: attachment;\r\n filename*=UTF-8''invoice%2Epdf%2Eexe\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n"
    "--b1--\r\n";

static const char body_nested[] =
    "--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    "--b1\r\nContent-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n"
    "--b2\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
    "--b2\r\nContent-Type: application/x-msdownload; name=\"Rechnung.PDF.Exe. \"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n"
    "--b2--\r\n--b1--\r\n";

static const char body_2047[] =
    "--b1\r\nContent-Type: application/javascript;\r\n"
    " name=\"=?UTF-8?B?0YHRh9GR0YIuanM=?=\"\r\n\r\nalert(1)\r\n--b1--\r\n";

static const char body_clean[] =
    "--b1\r\nContent-Type: text/html\r\n\r\n<a href=\"https://example.com/\">x</a>\r\n"
    "--b1\r\nContent-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=\"report.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n";

static void
test_attachments(void)
{
	struct run r;

	RGT_CASE("RFC 2231 name, double extension: 554 5.7.1");
	run(&r, "", MIXED, body_2231);
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	RGT_STREQ(r.v.rcode, "554");
	RGT_STREQ(r.v.xcode, "5.7.1");
	RGT_STREQ(r.v.text, "Attachment \"invoice.pdf.exe\" refused: file type "
	    ".exe is not allowed");
	RGT_STREQ(r.v.check, "attachment");
	RGT_STREQ(note(&r, "attachment"), ".exe in part 2");
	run_end(&r);

	RGT_CASE("nested multipart, trailing dot and space, mixed case");
	run(&r, "", MIXED, body_nested);
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	RGT_STREQ(r.v.text, "Attachment \"Rechnung.PDF.Exe. \" refused: file type "
	    ".exe is not allowed");
	RGT_STREQ(note(&r, "attachment"), ".exe in part 2.2");
	run_end(&r);

	RGT_CASE("RFC 2047 name in UTF-8: shown as ASCII");
	run(&r, "", MIXED, body_2047);
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	RGT_STREQ(r.v.text, "Attachment \"????.js\" refused: file type .js is not "
	    "allowed");
	run_end(&r);

	RGT_CASE("a clean message with a link and a PDF");
	run(&r, "", MIXED, body_clean);
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	RGT_CHECK(r.v.add == NULL, "header added to a clean message");
	RGT_STREQ(note(&r, "attachment"), "(none)");
	RGT_STREQ(note(&r, "header"), "(none)");
	run_end(&r);

	RGT_CASE("not in the configured list: passes");
	run(&r, "block_attachment_extensions = scr\n", MIXED, body_2231);
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("empty list: no check");
	run(&r, "block_attachment_extensions =\n", MIXED, body_nested);
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	run_end(&r);

	RGT_CASE("tag: accepted, every blocked file named in the header");
	run(&r, "attachment_action = tag\n", MIXED,
	    "--b1\r\nContent-Type: application/x-msdownload; name=\"a.exe\"\r\n\r\nx\r\n"
	    "--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
	    "filename=\"b.txt.vbs\"\r\n\r\nx\r\n--b1--\r\n");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	RGT_CHECK(r.v.add != NULL, "no header");
	if (r.v.add != NULL) {
		RGT_STREQ(r.v.add->name, "X-Relayguard-Attachment");
		RGT_STREQ(r.v.add->value, "\"a.exe\" in part 1, \"b.txt.vbs\" in part 2");
	}
	RGT_STREQ(note(&r, "attachment"), ".exe in part 1");
	run_end(&r);

	RGT_CASE("a long name: head and tail, the extension in sight");
	{
		char body[1024], name[300];

		memset(name, 'n', 200);
		memcpy(name + 200, ".pdf.exe", 9);
		snprintf(body, sizeof(body), "--b1\r\nContent-Type: application/"
		    "octet-stream; name=\"%s\"\r\n\r\nx\r\n--b1--\r\n", name);
		run(&r, "", MIXED, body);
		RGT_INTEQ(r.v.action, RG_ACT_REJECT);
		RGT_CONTAINS(r.v.text, "Attachment \"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		    "...nnnnnnnnnnnnnnnnnnnnnnnnnnnnn.pdf.exe\" refused");
		RGT_CHECK(strlen(r.v.text) < 160, "reply of %zu characters",
		    strlen(r.v.text));
		run_end(&r);
	}

	RGT_CASE("a quote in the name does not end the quoted name");
	run(&r, "", MIXED, "--b1\r\nContent-Type: application/octet-stream; "
	    "name*=utf-8''a%22b.exe\r\n\r\nx\r\n--b1--\r\n");
	RGT_STREQ(r.v.text, "Attachment \"a?b.exe\" refused: file type .exe is "
	    "not allowed");
	run_end(&r);

	RGT_CASE("a message that is itself an attachment type, no multipart");
	run(&r, "", FROM "Content-Type: application/octet-stream; name=run.bat\n",
	    "@echo off\r\n");
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	RGT_CONTAINS(r.v.text, "file type .bat");
	run_end(&r);
}

static void
test_header_eom(void)
{
	struct run r;

	RGT_CASE("two From fields: 554 5.6.0 by default");
	run(&r, "", "From: a@example.org\nFrom: b@example.net\nSubject: x\n", "hi\r\n");
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	RGT_STREQ(r.v.rcode, "554");
	RGT_STREQ(r.v.xcode, "5.6.0");
	RGT_STREQ(r.v.text, "Message header rejected: 2 From header fields");
	RGT_STREQ(r.v.check, "header");
	RGT_STREQ(note(&r, "header"), "2 From header fields");
	run_end(&r);

	RGT_CASE("no From: rejected before the attachments are looked at");
	run(&r, "", "Subject: x\nContent-Type: multipart/mixed; boundary=\"b1\"\n",
	    body_2231);
	RGT_STREQ(r.v.text, "Message header rejected: no From header field");
	RGT_STREQ(note(&r, "attachment"), "(none)");
	run_end(&r);

	RGT_CASE("header_action = tag: accepted with X-Relayguard-Header");
	run(&r, "header_action = tag\n", "Subject: x\n", "hi\r\n");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	RGT_CHECK(r.v.add != NULL && strcmp(r.v.add->name, "X-Relayguard-Header") == 0 &&
	    strcmp(r.v.add->value, "no From header field") == 0, "no header");
	run_end(&r);

	RGT_CASE("header_action = accept: noted only");
	run(&r, "header_action = accept\n", "Subject: x\n", "hi\r\n");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	RGT_CHECK(r.v.add == NULL, "header added");
	RGT_STREQ(note(&r, "header"), "no From header field");
	run_end(&r);

	RGT_CASE("two Subject fields: tagged by default");
	run(&r, "", FROM "Subject: again\n", "hi\r\n");
	RGT_INTEQ(r.v.action, RG_ACT_CONTINUE);
	RGT_CHECK(r.v.add != NULL && strcmp(r.v.add->value,
	    "2 Subject header fields") == 0, "no header");
	run_end(&r);

	RGT_CASE("header_duplicate_action = reject");
	run(&r, "header_duplicate_action = reject\n", FROM "Date: a\nDate: b\n",
	    "hi\r\n");
	RGT_INTEQ(r.v.action, RG_ACT_REJECT);
	RGT_STREQ(r.v.text, "Message header rejected: 2 Date header fields");
	run_end(&r);

	RGT_CASE("over max_headers as session.c counted: rejected");
	{
		char fields[4096] = FROM;

		for (int i = 0; i < 12; i++)
			snprintf(fields + strlen(fields), sizeof(fields) - strlen(fields),
			    "X-Filler-%d: %d\n", i, i);
		run(&r, "max_headers = 10\n", fields, "hi\r\n");
		RGT_INTEQ(r.c->msg->headers_dropped, 4);
		RGT_INTEQ(r.v.action, RG_ACT_REJECT);
		RGT_STREQ(r.v.text, "Message header rejected: too many header fields "
		    "(14, limit 10)");
		run_end(&r);
	}

	RGT_CASE("a verdict already final is left alone");
	{
		struct rg_buf err = RG_BUF_INIT;

		r.c = rg_conn_new(load("", &err), 1);
		rg_msg_begin(r.c);
		rg_msgscan_end(r.c->msg->scan);
		rg_verdict_init(&r.v);
		rg_verdict_set(&r.v, RG_ACT_TEMPFAIL, "relay", "451", "4.7.1", "x");
		rg_content_eom(r.c, &r.v);
		RGT_STREQ(r.v.check, "relay");
		RGT_STREQ(note(&r, "header"), "(none)");
		run_end(&r);
		rg_buf_release(&err);
	}
}

static void
setup(void)
{
	rgt_mkdtemp(tmpdir);
}

static void
cleanup(void)
{
	rgt_rmtree(tmpdir);
}

RGT_MAIN(setup, test_extension, test_conf, test_headers, test_attachments,
    test_header_eom, cleanup)
