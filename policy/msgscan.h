/*
 * msgscan.h - one message's body scan: MIME decoding, links, file names
 *
 * What the engine holds per message: a struct rg_msgscan owns a MIME
 * decoder (mime.h) whose decoded text goes to a URI scanner (uri.h), and
 * keeps the file names of the parts. Feed it the top-level header fields
 * and the body chunks as the milter hands them over, call
 * rg_msgscan_end() at end of message, then read the links (for SURBL) and
 * the names (for the content checks). Memory is bounded by the mime_*
 * and uri_* caps whatever the message.
 *
 * Ownership: the caller owns the scan (rg_msgscan_new/_free); the set,
 * names and stats it returns are borrowed until rg_msgscan_free(). Not
 * thread-safe: one scan per message, used by one thread.
 */
#ifndef RG_MSGSCAN_H
#define RG_MSGSCAN_H

#include <stddef.h>

#include "mime.h"
#include "uri.h"

struct rg_msgscan_name {
	char *path;		/* the part: "2", "3.1" */
	char *name;		/* UTF-8 where the charset was known */
	char *type;		/* the part's Content-Type, lower case */
	int attachment;		/* Content-Disposition: attachment */
};

struct rg_msgscan;

/* rg_msgscan_new - a scan with the configured caps; caller frees */
struct rg_msgscan *rg_msgscan_new(const struct rg_mime_conf *mc,
    const struct rg_uri_conf *uc);
/* rg_msgscan_new_limits - the same with explicit caps (tests, tools) */
struct rg_msgscan *rg_msgscan_new_limits(const struct rg_mime_limits *lim,
    size_t max_domains, size_t max_ips);
/* rg_msgscan_expect_header - the body chunks include the header */
void rg_msgscan_expect_header(struct rg_msgscan *s);
/* rg_msgscan_header - one top-level field (value may be folded) */
void rg_msgscan_header(struct rg_msgscan *s, const char *name,
    const char *value);
/* rg_msgscan_body - the next body chunk, cut anywhere */
void rg_msgscan_body(struct rg_msgscan *s, const void *chunk, size_t len);
/* rg_msgscan_end - end of message; later input is ignored */
void rg_msgscan_end(struct rg_msgscan *s);

const struct rg_uriset *rg_msgscan_uris(const struct rg_msgscan *s);
size_t rg_msgscan_nnames(const struct rg_msgscan *s);
const struct rg_msgscan_name *rg_msgscan_name(const struct rg_msgscan *s,
    size_t i);
const struct rg_mime_stats *rg_msgscan_stats(const struct rg_msgscan *s);
/* rg_msgscan_free - accepts NULL, returns NULL */
struct rg_msgscan *rg_msgscan_free(struct rg_msgscan *s);

#endif
