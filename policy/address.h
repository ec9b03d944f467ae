/*
 * address.h - RFC 5321 paths, read for where the mail really goes
 *
 * rg_addr_parse() reads a reverse- or forward-path (RFC 5321 4.1.2), with
 * or without its angle brackets, into a struct rg_addr: the local part as
 * it would be delivered, the domain (lowercased, root dot removed, address
 * literals parsed), the hops of a source route, the hosts hidden in the
 * local part (percent hack, bang path, quoted or escaped '@') and, last of
 * those, the real destination. Every form that hides a destination or
 * breaks an RFC 5321 rule is recorded as a trick; what a trick costs is
 * the caller's decision (policy/relay.c).
 *
 * Pure functions of their arguments, no allocation: thread-safe. Input of
 * any content and length is safe; it can only produce tricks.
 */
#ifndef RG_ADDRESS_H
#define RG_ADDRESS_H

#include <stddef.h>
#include <sys/socket.h>

#define RG_ADDR_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1: local-part octets */
#define RG_ADDR_DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2: domain octets */
#define RG_ADDR_PATH_MAX	256	/* RFC 5321 4.5.3.1.3: path octets with < > */
#define RG_ADDR_LABEL_MAX	63	/* RFC 1035 2.3.4: label octets */
#define RG_ADDR_MAX_HOPS	8	/* route hops, and hosts in a local part */
#define RG_ADDR_INPUT_MAX	1024	/* longer input is not parsed at all */

enum rg_addr_trick {
	RG_TRICK_NONE,
	RG_TRICK_PERCENT,	/* user%remote@ours */
	RG_TRICK_BANG,		/* remote!user@ours, ours!remote!user */
	RG_TRICK_SOURCE_ROUTE,	/* @ours:user@remote (RFC 5321 4.1.1.3, C) */
	RG_TRICK_QUOTED_SPECIAL,	/* "user@remote"@ours: @ % ! in quotes */
	RG_TRICK_MULTI_AT,	/* user@remote@ours */
	RG_TRICK_IP_LITERAL,	/* user@[192.0.2.1]: legal, noted */
	RG_TRICK_ESCAPE,	/* a backslash, in quotes or not */
	RG_TRICK_EMPTY_PART,	/* empty local part, domain, label or hop */
	RG_TRICK_TOO_LONG,	/* over an RFC 5321 4.5.3.1 limit */
	RG_TRICK_SYNTAX,	/* anything else that is no RFC 5321 path */
	RG_TRICK_CONTROL,	/* a control character */
	RG_TRICK_8BIT,		/* 8-bit local part without SMTPUTF8, or bad UTF-8 */
	RG_TRICK_DOTS,		/* leading, trailing or doubled dot in a local part */
	RG_TRICK_COUNT
};

#define RG_TRICK_BIT(t)	(1u << (t))
/* the mail goes elsewhere than the domain says */
#define RG_TRICKS_ROUTING (RG_TRICK_BIT(RG_TRICK_PERCENT) | \
	RG_TRICK_BIT(RG_TRICK_BANG) | RG_TRICK_BIT(RG_TRICK_SOURCE_ROUTE) | \
	RG_TRICK_BIT(RG_TRICK_QUOTED_SPECIAL) | RG_TRICK_BIT(RG_TRICK_MULTI_AT))
/* no usable path: where it goes cannot be told */
#define RG_TRICKS_MALFORMED (RG_TRICK_BIT(RG_TRICK_EMPTY_PART) | \
	RG_TRICK_BIT(RG_TRICK_TOO_LONG) | RG_TRICK_BIT(RG_TRICK_SYNTAX) | \
	RG_TRICK_BIT(RG_TRICK_CONTROL))

/* rg_addr_parse flags */
#define RG_ADDR_SMTPUTF8	0x01	/* the MTA accepted SMTPUTF8 (RFC 6531) */

struct rg_addr_host {
	/* lowercase, no root dot; literals as "[192.0.2.1]", "[IPv6:2001:db8::1]" */
	char name[RG_ADDR_DOMAIN_MAX + 1];
	int family;		/* AF_INET or AF_INET6 for a literal, else 0 */
	struct sockaddr_storage sa;	/* the literal's address */
};

struct rg_addr {
	int null;		/* the null path <> */
	int postmaster;		/* "postmaster" without a domain (RFC 5321 4.5.1) */
	unsigned tricks;	/* RG_TRICK_BIT() of every trick found */
	char local[RG_ADDR_PATH_MAX + 1];	/* unquoted, unescaped */
	struct rg_addr_host domain;	/* after the last '@'; name "" if none */
	struct rg_addr_host route[RG_ADDR_MAX_HOPS];	/* source route, in order */
	size_t nroute;
	/* hosts hidden in the local part, in the order mail would reach them */
	struct rg_addr_host via[RG_ADDR_MAX_HOPS];
	size_t nvia;
	struct rg_addr_host dest_domain;	/* where the mail ends up */
	char dest_local[RG_ADDR_PATH_MAX + 1];	/* the mailbox there */
};

/*
 * rg_addr_parse - parse path into out (always filled, tricks and all);
 * "<>" and "" are the null path. flags: RG_ADDR_SMTPUTF8 or 0.
 * Returns 0 when the destination can be told (tricks may still be set),
 * -1 when the path is malformed (a RG_TRICKS_MALFORMED trick is set).
 */
int rg_addr_parse(const char *path, unsigned flags, struct rg_addr *out);
/* rg_addr_trick_name - stable name for logs ("percent-hack", ...) */
const char *rg_addr_trick_name(enum rg_addr_trick t);
/* rg_addr_trick_main - the trick a log line names: the worst one set */
enum rg_addr_trick rg_addr_trick_main(unsigned tricks);
/* rg_addr_tricks_format - "percent-hack,multiple-at" (enum order); "none" */
void rg_addr_tricks_format(unsigned tricks, char *buf, size_t size);
/*
 * rg_addr_norm_domain - a domain name (no literal) lowercased, root dot
 * removed, into out; -1 when it is no valid name or does not fit.
 */
int rg_addr_norm_domain(const char *in, char *out, size_t size);

#endif
