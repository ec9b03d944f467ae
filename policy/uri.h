/*
 * uri.h - links in message text, reduced to what a URI blocklist needs
 *
 * A struct rg_uri_scanner reads decoded text in pieces of any size
 * (a link may be split between calls) and finds links as a spam filter
 * must: http, https and ftp URIs, the domains of mailto: addresses,
 * schemeless "www." links, and in HTML (html = 1: tags parsed, character
 * references decoded) the values of href, src and similar attributes,
 * including "//host" and bare "host.tld/path". Hosts are read as a
 * browser reads them (WHATWG URL): userinfo and port dropped, tab and
 * newline inside attribute values ignored, percent-encoding decoded,
 * lower case, IDN U-labels to A-labels (libidn2, UTS #46), IPv4 in
 * decimal, hex, octal or mixed forms as a dotted quad, IPv6 in RFC 5952
 * form. A domain is reduced to its registered domain with the Public
 * Suffix List (libpsl); a host whose top-level label is not in the list
 * (localhost, intranet names, truncated junk) is dropped.
 *
 * Results go to a struct rg_uriset: each registered domain once, at most
 * uri_max_domains of them, and IP addresses apart, at most uri_max_ips.
 *
 * Ownership: the caller owns sets and scanners (_new/_free); a scanner
 * borrows its set, which must outlive it. A set or scanner is used by one
 * thread at a time. The Public Suffix List is loaded once per process by
 * rg_uri_global_init() (or on first use) and is read-only afterwards.
 */
#ifndef RG_URI_H
#define RG_URI_H

#include <stddef.h>

#include "conf.h"

#define RG_URI_HOST_MAX		253	/* RFC 1035 s2.3.4: 255 on the wire */
#define RG_URI_LABEL_MAX	63	/* RFC 1035 s2.3.4 */
#define RG_URI_RAWHOST_MAX	1024	/* a host as written (percent-encoded,
					 * U-labels) is looked at up to this */
#define RG_URI_ADDR_MAX		46	/* INET6_ADDRSTRLEN */

/* the "uri" section of relayguard.conf */
struct rg_uri_conf {
	long long max_domains;
	long long max_ips;
};

extern const struct rg_param rg_uri_params[];

struct rg_uri_ip {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* network order; 4 bytes for AF_INET */
	char text[RG_URI_ADDR_MAX];	/* "192.0.2.1", "2001:db8::1" */
};

#define RG_URI_F_DOMAINS	0x01	/* a domain was refused: set full */
#define RG_URI_F_IPS		0x02	/* an address was refused: set full */

/* what one message links to; read the fields, change them only through
 * the functions below */
struct rg_uriset {
	char **domains;		/* registered domains, A-labels, lower case */
	size_t ndomains, max_domains;
	struct rg_uri_ip *ips;
	size_t nips, max_ips;
	size_t links;		/* hosts looked at, valid or not */
	size_t refused;		/* valid hosts refused because a set was full */
	unsigned flags;		/* RG_URI_F_* */
	size_t domains_cap, ips_cap;	/* allocated */
};

enum rg_uri_hostkind {
	RG_URI_HOST_INVALID,	/* not a host a link can reach */
	RG_URI_HOST_DOMAIN,
	RG_URI_HOST_IP,
};

struct rg_uri_host {
	enum rg_uri_hostkind kind;
	char domain[RG_URI_HOST_MAX + 1];	/* DOMAIN: registered domain */
	struct rg_uri_ip ip;			/* IP */
};

enum rg_uri_add {
	RG_URI_ADDED,
	RG_URI_KNOWN,		/* already in the set */
	RG_URI_FULL,		/* new, but the set is full */
	RG_URI_INVALID,
};

/* rg_uri_global_init - load the Public Suffix List (the system's file
 * when newer than libpsl's built-in copy); call once at start-up, before
 * threads. 0, or -1 when no list could be had (domains are then dropped) */
int rg_uri_global_init(void);
/* rg_uri_psl - the one Public Suffix List context (libpsl's psl_ctx_t),
 * for every registered-domain decision (links, DMARC); read-only */
const struct psl_ctx_st *rg_uri_psl(void);
/* rg_uri_global_free - at shutdown, after the last scanner is gone */
void rg_uri_global_free(void);

/*
 * rg_uri_host_parse - normalise a host as written in a link (raw[0..len);
 * decode_pct: percent-decode it first). Reentrant.
 */
enum rg_uri_hostkind rg_uri_host_parse(const char *raw, size_t len,
    int decode_pct, struct rg_uri_host *out);

/* rg_uriset_new - an empty set; caller frees with rg_uriset_free */
struct rg_uriset *rg_uriset_new(size_t max_domains, size_t max_ips);
/* rg_uriset_conf - an empty set with the configured caps */
struct rg_uriset *rg_uriset_conf(const struct rg_uri_conf *c);
struct rg_uriset *rg_uriset_free(struct rg_uriset *s);
/* rg_uriset_add_host - normalise a host and add it (see rg_uri_host_parse) */
enum rg_uri_add rg_uriset_add_host(struct rg_uriset *s, const char *raw,
    size_t len, int decode_pct);

struct rg_uri_scanner;

/* rg_uri_scanner_new - a scanner filling set (borrowed); caller frees */
struct rg_uri_scanner *rg_uri_scanner_new(struct rg_uriset *set);
/*
 * rg_uri_scan_text - the next piece of decoded text; html = 1 for
 * text/html. A change of html ends the text before it, as a flush does.
 */
void rg_uri_scan_text(struct rg_uri_scanner *sc, const char *text,
    size_t len, int html);
/* rg_uri_scan_flush - end of a text part: what is pending is looked at,
 * and no link continues into the next text */
void rg_uri_scan_flush(struct rg_uri_scanner *sc);
/* rg_uri_scanner_free - flushes, then frees; accepts NULL, returns NULL */
struct rg_uri_scanner *rg_uri_scanner_free(struct rg_uri_scanner *sc);

#endif
