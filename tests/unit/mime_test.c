/*
 * mime_test.c - the MIME layer piece by piece: the transfer decoders
 * (mimecte.c) fed whole and byte by byte, header parameters and encoded
 * words (mimehdr.c), and the stream (mime.c): text and part details
 * handed to callbacks, folded top-level fields, long lines, boundaries,
 * and each cap. The corpus test (msgscan_test.c) covers whole messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "mimecte.h"
#include "mimehdr.h"
#include "rgtest.h"

/* ---- transfer decoders ---- */

static void
collect(void *arg, const char *p, size_t n)
{
	rg_buf_append(arg, p, n);
}

/* decode - run text through a decoder, lines split at '\n'; step 0 feeds
 * each line whole, 1 byte by byte */
static void
decode(enum rg_mime_cte cte, const char *in, int step, struct rg_buf *out)
{
	struct rg_mime_dec d;

	rg_buf_reset(out);
	rg_mime_dec_init(&d, cte, collect, out);
	for (const char *p = in; *p != '\0';) {
		size_t n = strcspn(p, "\n");

		if (step == 0)
			rg_mime_dec_feed(&d, p, n);
		else
			for (size_t i = 0; i < n; i++)
				rg_mime_dec_feed(&d, p + i, 1);
		p += n;
		if (*p == '\n') {
			rg_mime_dec_eol(&d);
			p++;
		}
	}
	rg_mime_dec_end(&d);
}

static void
test_decoders(void)
{
	static const struct {
		enum rg_mime_cte cte;
		const char *in, *want;
		const char *name;
	} t[] = {
		{ RG_MIME_CTE_BASE64, "aGVsbG8g\nd29ybGQ=\n", "hello world", "b64 lines" },
		{ RG_MIME_CTE_BASE64, "aG!Vs b*G8\t", "hello", "b64 garbage skipped" },
		{ RG_MIME_CTE_BASE64, "aGk", "hi", "b64 3 chars at end" },
		{ RG_MIME_CTE_BASE64, "aA", "h", "b64 2 chars at end" },
		{ RG_MIME_CTE_BASE64, "a", "", "b64 1 char at end: nothing" },
		{ RG_MIME_CTE_BASE64, "aGk=aGk=", "hihi", "b64 after padding" },
		{ RG_MIME_CTE_QP, "a=3Db=3d\n", "a=b=", "qp escapes either case" },
		{ RG_MIME_CTE_QP, "soft=\nbreak", "softbreak", "qp soft break" },
		{ RG_MIME_CTE_QP, "soft=  \t\nbreak", "softbreak", "qp soft break, white space" },
		{ RG_MIME_CTE_QP, "trail  \nx", "trail\nx", "qp trailing white space" },
		{ RG_MIME_CTE_QP, "in  side", "in  side", "qp inner white space kept" },
		{ RG_MIME_CTE_QP, "=ZZ =4\n=4x", "=ZZ =4\n=4x", "qp bad escapes kept" },
		{ RG_MIME_CTE_QP, "= x", "= x", "qp '=' before a space and text" },
		{ RG_MIME_CTE_QP, "end=", "end", "qp '=' at end of part" },
		{ RG_MIME_CTE_QP, "a\n\nb\n", "a\n\nb", "qp line breaks, last dropped" },
		{ RG_MIME_CTE_IDENTITY, "one\ntwo\n\n", "one\ntwo\n", "identity: last break is the boundary's" },
		{ RG_MIME_CTE_IDENTITY, "a\0b", "a", "identity: in[] is a C string here" },
	};
	struct rg_buf out = RG_BUF_INIT;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (int step = 0; step < 2; step++) {
			RGT_CASE(t[i].name);
			decode(t[i].cte, t[i].in, step, &out);
			RGT_STREQ(rg_buf_cstr(&out), t[i].want);
		}
	}
	RGT_CASE("long white space run is not padding");
	{
		char in[200];

		memset(in, ' ', 150);
		snprintf(in + 150, sizeof(in) - 150, "x");
		decode(RG_MIME_CTE_QP, in, 1, &out);
		RGT_STREQ(rg_buf_cstr(&out), in);
	}
	RGT_CASE("cte names");
	RGT_INTEQ(rg_mime_cte_parse("BASE64"), RG_MIME_CTE_BASE64);
	RGT_INTEQ(rg_mime_cte_parse("Quoted-Printable"), RG_MIME_CTE_QP);
	RGT_INTEQ(rg_mime_cte_parse("x-uuencode"), RG_MIME_CTE_IDENTITY);
	rg_buf_release(&out);
}

/* ---- header fields ---- */

/* values - every decoded value of a parameter, joined by '|' */
static void
join_value(void *arg, const char *v, size_t len)
{
	struct rg_buf *b = arg;

	if (b->len > 0)
		rg_buf_putc(b, '|');
	rg_buf_append(b, v, len);
}

static const char *
values(const char *field, const char *param, struct rg_buf *b,
    char *value, size_t vsize)
{
	struct rg_mime_params ps;

	rg_buf_reset(b);
	rg_mime_hdr_parse(field, strlen(field), value, vsize, &ps);
	(void)rg_mime_param_values(&ps, param, join_value, b);
	rg_mime_params_free(&ps);
	return rg_buf_cstr(b);
}

static void
test_params(void)
{
	static const struct {
		const char *field, *param, *value, *want, *name;
	} t[] = {
		{ "Text/HTML; Charset=\"UTF-8\"", "charset", "text/html", "UTF-8", "case and quotes" },
		{ "multipart/mixed (c) ; boundary=\"a\\\"b\" (c2)", "boundary",
		    "multipart/mixed", "a\"b", "comments and quoted pair" },
		{ "multipart/mixed boundary=abc charset=x", "boundary",
		    "multipart/mixed", "abc", "missing semicolons" },
		{ "attachment; filename=my file.exe", "filename", "attachment",
		    "my file.exe", "unquoted with a space" },
		{ "attachment; filename=a.pdf (comment)", "filename", "attachment",
		    "a.pdf", "unquoted, then a comment" },
		{ "attachment; filename*=utf-8'en'%E2%82%AC.exe", "filename",
		    "attachment", "\xe2\x82\xac.exe", "RFC 2231 charset'lang'" },
		{ "attachment; filename*=''plain%2Eexe", "filename", "attachment",
		    "plain.exe", "RFC 2231 empty charset" },
		{ "attachment; filename*2=c; filename*0=a; filename*1=b", "filename",
		    "attachment", "abc", "sections out of order" },
		{ "attachment; filename*0*=iso-8859-1''%E9; filename*1=t\xe9", "filename",
		    "attachment", "\xc3\xa9t\xc3\xa9", "extended then plain section" },
		{ "attachment; filename=\"=?utf-8?Q?a_b?=\"", "filename", "attachment",
		    "a b", "encoded word in a quoted string" },
		{ "attachment; filename=x; filename=y", "filename", "attachment",
		    "x|y", "both of two values" },
		{ "attachment; filename*0=\"=?utf-8?B?\"; filename*1=\"YWIuZXhl?=\"",
		    "filename", "attachment", "ab.exe", "encoded word split over sections" },
		{ "inline;;; ;filename=\"unterminated", "filename", "inline",
		    "unterminated", "stray semicolons, open quote" },
		{ "a; name*x=1; name=ok", "name", "a", "ok", "name*x is another parameter" },
		{ "((nested) comment) text/plain", "charset", "text/plain", "",
		    "nested comment first" },
	};
	struct rg_buf b = RG_BUF_INIT;
	char value[64];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		RGT_CASE(t[i].name);
		if (strcmp(t[i].param, "charset") == 0 ||
		    strcmp(t[i].param, "boundary") == 0) {
			struct rg_mime_params ps;
			const struct rg_mime_param *p;

			rg_mime_hdr_parse(t[i].field, strlen(t[i].field), value,
			    sizeof(value), &ps);
			p = rg_mime_param_get(&ps, t[i].param);
			RGT_STREQ(p != NULL ? p->value : "", t[i].want);
			rg_mime_params_free(&ps);
		} else {
			RGT_STREQ(values(t[i].field, t[i].param, &b, value,
			    sizeof(value)), t[i].want);
		}
		RGT_STREQ(value, t[i].value);
	}

	RGT_CASE("parameter cap");
	rg_buf_reset(&b);
	for (int i = 0; i < 200; i++)
		rg_buf_printf(&b, "; p%d=v", i);
	rg_buf_puts(&b, "; filename=last.exe");
	{
		char *field = rg_buf_steal(&b);
		struct rg_mime_params ps;

		rg_mime_hdr_parse(field, strlen(field), value, sizeof(value), &ps);
		RGT_INTEQ(ps.n, RG_MIME_PARAMS_MAX);
		rg_mime_params_free(&ps);
		free(field);
	}
	rg_buf_release(&b);
}

static void
test_words(void)
{
	static const struct { const char *in, *want, *name; } t[] = {
		{ "=?utf-8?B?aW52b2ljZS5leGU=?=", "invoice.exe", "B" },
		{ "=?ISO-8859-1?q?caf=E9_au_lait?=", "caf\xc3\xa9 au lait", "Q latin1" },
		{ "=?utf-8?B?w6k=?= =?utf-8?B?dMOp?=", "\xc3\xa9t\xc3\xa9", "space between words dropped" },
		{ "a =?utf-8?Q?b?= c", "a b c", "space next to text kept" },
		{ "=?utf-8?B?4oI=?==?utf-8?B?rA==?=", "\xe2\x82\xac", "character split over words" },
		{ "=?utf-8*en?Q?x?=", "x", "RFC 2231 language suffix" },
		{ "=?bad", "=?bad", "not a word" },
		{ "=?utf-8?X?abc?=", "=?utf-8?X?abc?=", "unknown encoding kept" },
		{ "=?x-nonesuch?Q?raw=E9?=", "raw\xe9", "unknown charset: bytes kept" },
		{ "=?windows-1252?Q?=80?=", "\xe2\x82\xac", "windows-1252" },
		{ "=?utf-8?B?" "?=", "", "empty word" },
		{ "=?../../etc?Q?x?=", "x", "odd charset name never reaches iconv" },
	};
	struct rg_buf b = RG_BUF_INIT;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		RGT_CASE(t[i].name);
		rg_buf_reset(&b);
		rg_mime_decode_words(t[i].in, strlen(t[i].in), &b);
		RGT_STREQ(rg_buf_cstr(&b), t[i].want);
	}
	RGT_CASE("invalid utf-8 in a utf-8 word is passed through");
	rg_buf_reset(&b);
	RGT_INTEQ(rg_mime_to_utf8("iso-8859-1", "\xe9", 1, &b), 0);
	RGT_STREQ(rg_buf_cstr(&b), "\xc3\xa9");
	rg_buf_reset(&b);
	RGT_INTEQ(rg_mime_to_utf8("shift_jis", "\x82\xa0\x82", 3, &b), -1);
	RGT_CONTAINS(rg_buf_cstr(&b), "\xe3\x81\x82");	/* HIRAGANA A, then U+FFFD */
	rg_buf_release(&b);
}

/* ---- the stream ---- */

struct trace {
	struct rg_buf text;	/* "[path kind]text" per text part */
	struct rg_buf names;	/* "path=name;" */
	int ends;
};

static void
tr_text(void *arg, const struct rg_mime_part *p, const char *t, size_t n)
{
	struct trace *tr = arg;

	if (tr->text.len == 0 || tr->text.data[tr->text.len - 1] == '|')
		rg_buf_printf(&tr->text, "[%s %s %s]", p->path, p->type,
		    p->kind == RG_MIME_TEXT_HTML ? "html" : "plain");
	rg_buf_append(&tr->text, t, n);
}

static void
tr_end(void *arg, const struct rg_mime_part *p)
{
	struct trace *tr = arg;

	(void)p;
	rg_buf_putc(&tr->text, '|');
	tr->ends++;
}

static void
tr_name(void *arg, const struct rg_mime_part *p, const char *name)
{
	struct trace *tr = arg;

	rg_buf_printf(&tr->names, "%s=%s;", p->path, name);
}

/* stream - a raw message through a decoder with limits, in chunks */
static struct rg_mime_stats
stream(const char *msg, size_t chunk, const struct rg_mime_limits *lim,
    struct trace *tr)
{
	struct rg_mime_handler h = { tr_text, tr_end, tr_name, tr };
	struct rg_mime *m = rg_mime_new(lim, &h);
	struct rg_mime_stats st;
	size_t len = strlen(msg);

	memset(tr, 0, sizeof(*tr));
	rg_mime_expect_header(m);
	for (size_t i = 0; i < len; i += chunk)
		rg_mime_body(m, msg + i, len - i < chunk ? len - i : chunk);
	rg_mime_end(m);
	st = *rg_mime_stats(m);
	rg_mime_free(m);
	return st;
}

static void
tr_free(struct trace *tr)
{
	rg_buf_release(&tr->text);
	rg_buf_release(&tr->names);
}

static const struct rg_mime_limits lim_default = { 1 << 20, 500, 32 };

static void
test_stream_text(void)
{
	const char *msg =
	    "Content-Type: multipart/alternative; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=C3=A9 soft=\r\nbreak\r\nline two\r\n"
	    "--b\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--b--\r\n";
	struct trace tr;

	for (size_t chunk = 1; chunk <= 64; chunk *= 4) {
		RGT_CASE("text and part details");
		(void)stream(msg, chunk, &lim_default, &tr);
		RGT_STREQ(rg_buf_cstr(&tr.text),
		    "[1 text/plain plain]caf\xc3\xa9 softbreak\nline two|"
		    "[2 text/html html]<p>x</p>|");
		RGT_INTEQ(tr.ends, 2);
		tr_free(&tr);
	}
}

/* test_header_fields - top-level fields as the milter gives them */
static void
test_header_fields(void)
{
	struct trace tr;
	struct rg_mime_handler h = { tr_text, tr_end, tr_name, &tr };
	struct rg_mime *m;
	const char *body = "--folded b\nContent-Type: text/plain\n\nin part\n--folded b--\n";

	RGT_CASE("folded top-level Content-Type");
	memset(&tr, 0, sizeof(tr));
	m = rg_mime_new(&lim_default, &h);
	rg_mime_header(m, "Subject", "not content");
	rg_mime_header(m, "content-type", "multipart/mixed;\r\n\tboundary=\n \"folded b\"");
	rg_mime_body(m, body, strlen(body));
	rg_mime_header(m, "Content-Type", "text/html");	/* too late: ignored */
	rg_mime_end(m);
	rg_mime_end(m);		/* twice is harmless */
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1 text/plain plain]in part|");
	RGT_INTEQ(rg_mime_stats(m)->parts, 2);
	rg_mime_free(m);
	tr_free(&tr);

	RGT_CASE("header only, no body");
	memset(&tr, 0, sizeof(tr));
	m = rg_mime_new(&lim_default, &h);
	rg_mime_header(m, "Content-Type", "application/pdf; name=\"only.pdf\"");
	rg_mime_end(m);
	RGT_STREQ(rg_buf_cstr(&tr.names), "1=only.pdf;");
	rg_mime_free(m);
	tr_free(&tr);
	RGT_CHECK(rg_mime_free(NULL) == NULL, "rg_mime_free(NULL)");
}

static void
test_long_lines(void)
{
	struct rg_buf msg = RG_BUF_INIT, want = RG_BUF_INIT;
	struct trace tr;
	size_t pfx = strlen("[1 text/plain plain]");

	/* 2999 octets: three pieces, the CR completing the last one */
	rg_buf_puts(&msg, "Content-Type: text/plain\r\n\r\n");
	for (int i = 0; i < 2999; i++)
		rg_buf_putc(&want, 'a' + i % 26);
	rg_buf_puts(&want, "\nnext");
	rg_buf_append(&msg, want.data, 2999);
	rg_buf_puts(&msg, "\r\nnext\r\n");
	for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
		RGT_CASE("long line passes whole");
		(void)stream(rg_buf_cstr(&msg), chunk, &lim_default, &tr);
		rg_buf_putc(&want, '|');
		RGT_CHECK(tr.text.len == pfx + want.len &&
		    memcmp(tr.text.data + pfx, want.data, want.len) == 0,
		    "got %zu bytes, want %zu", tr.text.len, pfx + want.len);
		rg_buf_truncate(&want, want.len - 1);
		tr_free(&tr);
	}
	RGT_CASE("a line filling the buffer, CR included, ends cleanly");
	rg_buf_reset(&msg);
	rg_buf_puts(&msg, "Content-Type: text/plain\r\n\r\n");
	for (int i = 0; i < 999; i++)
		rg_buf_putc(&msg, 'x');
	rg_buf_puts(&msg, "\r\ny\r\n");
	(void)stream(rg_buf_cstr(&msg), 1, &lim_default, &tr);
	RGT_CHECK(strchr(rg_buf_cstr(&tr.text), '\r') == NULL, "a CR reached the text");
	RGT_CONTAINS(rg_buf_cstr(&tr.text), "x\ny|");
	tr_free(&tr);
	rg_buf_release(&msg);
	rg_buf_release(&want);
}

static void
test_boundaries(void)
{
	struct trace tr;

	RGT_CASE("inner boundary extending the outer one");
	(void)stream("Content-Type: multipart/mixed; boundary=\"ab\"\n\n--ab\n"
	    "Content-Type: multipart/mixed; boundary=\"abc\"\n\n--abc\n\none\n"
	    "--abc--\n--ab\n\ntwo\n--ab--\n", 3, &lim_default, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1.1 text/plain plain]one|[2 text/plain plain]two|");
	tr_free(&tr);

	RGT_CASE("inner boundary a prefix of the outer one");
	(void)stream("Content-Type: multipart/mixed; boundary=\"abc\"\n\n--abc\n"
	    "Content-Type: multipart/mixed; boundary=\"ab\"\n\n--ab\n\none\n"
	    "--abc\n\ntwo\n--abc--\n", 5, &lim_default, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1.1 text/plain plain]one|[2 text/plain plain]two|");
	tr_free(&tr);

	RGT_CASE("delimiter followed by junk still counts");
	(void)stream("Content-Type: multipart/mixed; boundary=q\n\n--q junk\n\nbody\n--q--\n",
	    1, &lim_default, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1 text/plain plain]body|");
	tr_free(&tr);

	RGT_CASE("parts after the close delimiter are read");
	(void)stream("Content-Type: multipart/mixed; boundary=q\n\n--q\n\none\n--q--\n"
	    "epilogue\n--q\n\nlate\n", 2, &lim_default, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1 text/plain plain]one|[2 text/plain plain]late|");
	tr_free(&tr);
}

static void
test_caps(void)
{
	struct rg_mime_limits lim = lim_default;
	struct rg_mime_stats st;
	struct trace tr;
	const char *nest =
	    "Content-Type: multipart/mixed; boundary=l1\n\n--l1\n\nd1\n"
	    "--l1\nContent-Type: multipart/mixed; boundary=l2\n\n--l2\n\nd2\n"
	    "--l2\nContent-Type: message/rfc822\n\nContent-Type: text/plain\n\nd3\n"
	    "--l2--\n--l1\n\nafter\n--l1--\n";

	RGT_CASE("depth cap");
	lim.max_depth = 2;
	st = stream(nest, 1, &lim, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1 text/plain plain]d1|"
	    "[2.1 text/plain plain]d2|[3 text/plain plain]after|");
	RGT_CHECK(st.flags & RG_MIME_F_DEPTH, "flags %x", st.flags);
	RGT_INTEQ(st.max_depth, 2);
	tr_free(&tr);
	RGT_CASE("depth within the cap");
	lim.max_depth = 3;
	st = stream(nest, 1, &lim, &tr);
	RGT_CONTAINS(rg_buf_cstr(&tr.text), "[2.2.1 text/plain plain]d3|");
	RGT_INTEQ(st.flags, 0);
	tr_free(&tr);

	RGT_CASE("parts cap");
	lim = lim_default;
	lim.max_parts = 3;
	st = stream(nest, 4, &lim, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1 text/plain plain]d1|");
	RGT_CHECK(st.flags & RG_MIME_F_PARTS, "flags %x", st.flags);
	tr_free(&tr);

	RGT_CASE("scan cap");
	lim = lim_default;
	lim.max_scan_bytes = 5;
	st = stream("Content-Type: multipart/mixed; boundary=q\n\n--q\n\n0123456789\n"
	    "--q\n\nmore\n--q\nContent-Type: image/gif; name=a.gif\n\nx\n--q--\n",
	    1, &lim, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1 text/plain plain]01234|");
	RGT_STREQ(rg_buf_cstr(&tr.names), "3=a.gif;");
	RGT_INTEQ(st.text_bytes, 5);
	RGT_CHECK(st.flags & RG_MIME_F_SCAN, "flags %x", st.flags);
	tr_free(&tr);

	RGT_CASE("names per part, long names");
	{
		struct rg_buf msg = RG_BUF_INIT;

		rg_buf_puts(&msg, "Content-Type: application/x; name=a; name=b; name=c\n"
		    "Content-Disposition: attachment; filename=d; filename=e; filename=\"");
		for (int i = 0; i < 3000; i++)
			rg_buf_putc(&msg, 'n');
		rg_buf_puts(&msg, ".exe\"\n\nx\n");
		st = stream(rg_buf_cstr(&msg), 7, &lim_default, &tr);
		RGT_STREQ(rg_buf_cstr(&tr.names), "1=a;1=b;1=c;1=d;");
		RGT_CHECK(st.flags & RG_MIME_F_NAMES, "flags %x", st.flags);
		tr_free(&tr);
		rg_buf_reset(&msg);
		rg_buf_puts(&msg, "Content-Type: application/x; name=\"");
		for (int i = 0; i < 3000; i++)
			rg_buf_putc(&msg, 'n');
		rg_buf_puts(&msg, ".exe\"\n\nx\n");
		(void)stream(rg_buf_cstr(&msg), 7, &lim_default, &tr);
		RGT_INTEQ(tr.names.len, 2 + RG_MIME_NAME_MAX + 1);
		RGT_CONTAINS(rg_buf_cstr(&tr.names), "nnn...nnn");
		RGT_CONTAINS(rg_buf_cstr(&tr.names), "n.exe;");
		tr_free(&tr);
		rg_buf_release(&msg);
	}
}

/* test_encoded_message - a base64 message/rfc822 is read by a nested
 * decoder that gets what is left of each cap */
static void
test_encoded_message(void)
{
	/* the inner message: multipart, a text part "deep" */
	const char *msg =
	    "Content-Type: multipart/mixed; boundary=o\n\n--o\n\nfirst\n"
	    "--o\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
	    "Q29udGVudC1UeXBlOiBtdWx0aXBhcnQvbWl4ZWQ7IGJvdW5kYXJ5PWkKCi0taQoKZGVlcAot\n"
	    "LWktLQo=\n--o\n\nlast\n--o--\n";
	struct rg_mime_limits lim = lim_default;
	struct rg_mime_stats st;
	struct trace tr;

	RGT_CASE("encoded message read");
	st = stream(msg, 3, &lim, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1 text/plain plain]first|"
	    "[2.1 text/plain plain]deep|[3 text/plain plain]last|");
	RGT_INTEQ(st.parts, 6);	/* top, 1, 2, inner top, 2.1, 3 */
	RGT_INTEQ(st.max_depth, 3);
	RGT_INTEQ(st.flags, 0);
	tr_free(&tr);

	RGT_CASE("encoded message: depth left over");
	lim.max_depth = 2;
	st = stream(msg, 3, &lim, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1 text/plain plain]first|"
	    "[3 text/plain plain]last|");
	RGT_CHECK(st.flags & RG_MIME_F_DEPTH, "flags %x", st.flags);
	tr_free(&tr);

	RGT_CASE("encoded message: parts left over");
	lim = lim_default;
	lim.max_parts = 4;
	st = stream(msg, 3, &lim, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1 text/plain plain]first|");
	RGT_CHECK(st.flags & RG_MIME_F_PARTS, "flags %x", st.flags);
	tr_free(&tr);

	RGT_CASE("encoded message: text left over");
	lim = lim_default;
	lim.max_scan_bytes = 7;
	st = stream(msg, 3, &lim, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1 text/plain plain]first|"
	    "[2.1 text/plain plain]de|");
	RGT_INTEQ(st.text_bytes, 7);
	RGT_CHECK(st.flags & RG_MIME_F_SCAN, "flags %x", st.flags);
	tr_free(&tr);

	RGT_CASE("HTML attachment read as HTML");
	(void)stream("Content-Type: application/octet-stream; name=\"a.HTM\"\n\n<a>\n",
	    1, &lim_default, &tr);
	RGT_STREQ(rg_buf_cstr(&tr.text), "[1 application/octet-stream html]<a>|");
	tr_free(&tr);
}

static void
test_config(void)
{
	struct rg_mime_conf c = { 1024, 7, 3 };
	struct rg_mime_limits l;

	RGT_CASE("limits from the configuration");
	rg_mime_limits_conf(&l, &c);
	RGT_INTEQ(l.max_scan_bytes, 1024);
	RGT_INTEQ(l.max_parts, 7);
	RGT_INTEQ(l.max_depth, 3);
	RGT_STREQ(rg_mime_params[0].name, "mime_max_scan_bytes");
}

RGT_MAIN(test_decoders, test_params, test_words, test_stream_text,
    test_header_fields, test_long_lines, test_boundaries, test_caps,
    test_encoded_message, test_config)
