/*
 * mime.h - streaming MIME decoder (RFC 2045, 2046, 2047, 2231)
 *
 * Fed what the milter gets: the top-level header fields one at a time
 * (rg_mime_header), then body chunks cut anywhere (rg_mime_body), then
 * rg_mime_end. It follows the part structure (nested multiparts with a
 * boundary stack, message/rfc822 parsed recursively, even when base64 or
 * quoted-printable encoded, preamble and epilogue skipped, missing final
 * boundaries tolerated, CRLF or bare LF), decodes the text of text/ parts
 * and of HTML and SVG attachments (base64, quoted-printable, identity)
 * for a text callback, and gives every part's file names (Content-
 * Disposition filename, Content-Type name; RFC 2231 and RFC 2047 decoded,
 * UTF-8) to a name callback with the part's IMAP-style path ("2.1").
 * Text is passed on in the part's own charset (ASCII-compatible ones are
 * what link extraction needs; UTF-16 text is not converted).
 *
 * Memory is bounded whatever the input: one line of RG_MIME_LINE_MAX
 * octets (longer lines are handled in pieces), one frame per open
 * container up to mime_max_depth, and one part's header state (one more
 * line and part per encoded message/rfc822 open, within the depth).
 * Deeper containers are skipped; after mime_max_parts parts the rest of
 * the message is ignored; at most mime_max_scan_bytes of text reach the
 * text callback. The flags in struct rg_mime_stats say when a cap was hit.
 *
 * Ownership: the caller owns the decoder (rg_mime_new/rg_mime_free);
 * everything handed to callbacks is borrowed for the call. Not
 * thread-safe: one decoder per message, used by one thread.
 */
#ifndef RG_MIME_H
#define RG_MIME_H

#include <stddef.h>

#include "conf.h"
#include "mimecte.h"

#define RG_MIME_LINE_MAX	1000	/* RFC 5322 s2.1.1: 998 octets + CRLF */
#define RG_MIME_BOUNDARY_MAX	200	/* RFC 2046 s5.1.1 says 70; longer
					 * ones occur and are accepted */
#define RG_MIME_DEPTH_LIMIT	64	/* most mime_max_depth may allow */
#define RG_MIME_PATH_MAX	512	/* "1.2.3": depth x (digits + '.') */
#define RG_MIME_TYPE_MAX	128	/* RFC 6838 s4.2: 127 per name part */
#define RG_MIME_NAME_MAX	1024	/* a longer name keeps head and tail */
#define RG_MIME_PART_NAMES	4	/* distinct names reported per part */

/* the "mime" section of relayguard.conf */
struct rg_mime_conf {
	long long max_scan_bytes;
	long long max_parts;
	long long max_depth;
};

extern const struct rg_param rg_mime_params[];

struct rg_mime_limits {
	size_t max_scan_bytes;	/* text handed to the text callback */
	size_t max_parts;	/* parts looked at */
	size_t max_depth;	/* nested containers followed */
};

/* rg_mime_limits_conf - limits from the configuration */
void rg_mime_limits_conf(struct rg_mime_limits *l, const struct rg_mime_conf *c);

enum rg_mime_text_kind {
	RG_MIME_TEXT_PLAIN,	/* text/plain and other text/ types */
	RG_MIME_TEXT_HTML,	/* text/html, .html and .svg attachments:
				 * character references still encoded */
};

/* what callbacks learn about the part at hand; borrowed */
struct rg_mime_part {
	const char *path;	/* IMAP-style: "1", "2.1"; "0" for a top multipart */
	const char *type;	/* "text/html", lower case */
	const char *charset;	/* lower case, "" when absent */
	enum rg_mime_text_kind kind;
	enum rg_mime_cte cte;
	int attachment;		/* Content-Disposition: attachment */
	size_t depth;		/* containers around the part */
};

struct rg_mime_handler {
	/* decoded text of a text/ part, in pieces of any size; may be NULL */
	void (*text)(void *arg, const struct rg_mime_part *p, const char *text,
	    size_t len);
	/* the text part ended: text never continues into the next part */
	void (*text_end)(void *arg, const struct rg_mime_part *p);
	/* a file name of the part (UTF-8 where the charset was known,
	 * control characters replaced by '_'); may be NULL */
	void (*name)(void *arg, const struct rg_mime_part *p, const char *name);
	void *arg;
};

#define RG_MIME_F_DEPTH	0x01	/* containers beyond max_depth skipped */
#define RG_MIME_F_PARTS	0x02	/* parts beyond max_parts ignored */
#define RG_MIME_F_SCAN	0x04	/* text beyond max_scan_bytes not passed on */
#define RG_MIME_F_NAMES	0x08	/* a part had more than RG_MIME_PART_NAMES */

struct rg_mime_stats {
	size_t parts;		/* parts seen, containers included */
	size_t text_bytes;	/* decoded text handed to the text callback */
	size_t max_depth;	/* deepest nesting seen */
	unsigned flags;		/* RG_MIME_F_* */
};

struct rg_mime;

/* rg_mime_new - a decoder for one message; caller frees with rg_mime_free */
struct rg_mime *rg_mime_new(const struct rg_mime_limits *lim,
    const struct rg_mime_handler *h);
/* rg_mime_expect_header - the body chunks start with the message header
 * (tests, tools); call before the first chunk */
void rg_mime_expect_header(struct rg_mime *m);
/* rg_mime_header - one top-level field; value may be folded (CRLF or LF
 * followed by white space); ignored once the body has started */
void rg_mime_header(struct rg_mime *m, const char *name, const char *value);
/* rg_mime_body - the next chunk of the body, cut anywhere */
void rg_mime_body(struct rg_mime *m, const void *chunk, size_t len);
/* rg_mime_end - end of message: closes open parts; later input is ignored */
void rg_mime_end(struct rg_mime *m);
const struct rg_mime_stats *rg_mime_stats(const struct rg_mime *m);
/* rg_mime_free - accepts NULL, returns NULL */
struct rg_mime *rg_mime_free(struct rg_mime *m);

#endif
