/*
 * content.h - content checks at end of message: attachment file types,
 * header sanity
 *
 * Attachments: every file name the message scan found (msgscan.h: RFC
 * 2231 and RFC 2047 already decoded, nested parts included) is reduced to
 * its extension as Windows sees it - the text after the last dot once
 * trailing dots and spaces are stripped ("invoice.pdf.exe ." is .exe),
 * case folded - and looked up in block_attachment_extensions. Archives
 * are not opened.
 *
 * Header sanity, RFC 5322 s3.6: exactly one From with at least one
 * address, at most one Subject and one Date, and the header within
 * max_headers and max_header_bytes. Missing, repeated or empty From and
 * oversized headers are one class (header_action), a repeated Subject or
 * Date another (header_duplicate_action).
 *
 * Pure functions are reentrant; rg_content_eom() works on one message in
 * its connection's thread. The configuration is read-only.
 */
#ifndef RG_CONTENT_H
#define RG_CONTENT_H

#include <stddef.h>

#include "conf.h"

struct rg_conn;
struct rg_msg;
struct rg_verdict;

#define RG_CONTENT_EXT_MAX	32	/* longest extension in the list */
#define RG_CONTENT_WHY_MAX	160

enum rg_content_action { RG_CONTENT_REJECT, RG_CONTENT_TAG, RG_CONTENT_ACCEPT };

/* the "content" module's settings */
struct rg_content_conf {
	struct rg_strlist block_ext;	/* lower case, without the dot */
	int attachment_action;		/* reject|tag */
	int header_action;		/* enum rg_content_action */
	int header_duplicate_action;	/* enum rg_content_action */
};

extern const struct rg_param rg_content_params[];

/*
 * rg_content_extension - the extension of a file name as Windows reads
 * it, lower case, without the dot, into out; 1, or 0 when the name has
 * none or a longer one than out holds. A leading dot starts an
 * extension too (".exe" is an .exe to Windows Explorer).
 */
int rg_content_extension(const char *name, char *out, size_t size);
/* rg_content_ext_blocked - 1 when name's extension is in list (ext gets it) */
int rg_content_ext_blocked(const struct rg_strlist *list, const char *name,
    char *ext, size_t size);

/* what is wrong with a message's header; empty strings: nothing */
struct rg_content_hdrcheck {
	char bad[RG_CONTENT_WHY_MAX];	/* From missing, repeated, empty; caps */
	char dup[RG_CONTENT_WHY_MAX];	/* Subject or Date repeated */
};

/*
 * rg_content_header_check - judge m's header fields and counters
 * (nheaders, headers_dropped, header_bytes from session.c) against the
 * caps the session applied.
 */
void rg_content_header_check(const struct rg_msg *m, size_t max_headers,
    size_t max_header_bytes, struct rg_content_hdrcheck *out);

/*
 * rg_content_eom - header sanity, then attachment names, for c's message
 * (after rg_msgscan_end): reject (554 5.6.0 / 554 5.7.1), tag with
 * X-Relayguard-Header / X-Relayguard-Attachment, or note only. Leaves v
 * alone when it is already final.
 */
void rg_content_eom(struct rg_conn *c, struct rg_verdict *v);

#endif
