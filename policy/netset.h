/*
 * netset.h - sets of IPv4 and IPv6 networks in CIDR notation
 *
 * Filled from a list value (inline or file:) through rg_netset_ops, or with
 * rg_netset_add() then rg_netset_finish(); finished, a set is immutable and
 * rg_netset_contains() is thread-safe. Embedded in a config struct;
 * rg_netset_release() frees what it holds.
 * Lookup: networks sorted by (family, prefix length, address), one run per
 * prefix length; the address is masked once per run and binary-searched:
 * (distinct prefix lengths) x log2(n) comparisons, a few dozen for
 * thousands of networks, with no memory beyond the list (a trie would cost
 * more code for little gain at these sizes). IPv4 clients, also IPv4-mapped
 * (::ffff:192.0.2.1, RFC 4291 2.5.5.2), match IPv4 networks; ::ffff:
 * networks are stored as IPv4 ones; ::/0 matches IPv6 clients only.
 */
#ifndef RG_NETSET_H
#define RG_NETSET_H

#include <stddef.h>
#include <sys/socket.h>

#include "conf.h"

struct rg_net {
	unsigned char family;	/* 4 or 6 */
	unsigned char plen;	/* prefix length */
	unsigned char addr[16];	/* host bits zero; IPv4 in the first 4 octets */
};

struct rg_netrun {
	unsigned char family, plen;
	size_t start, n;	/* nets[start .. start + n) */
};

struct rg_netset {
	struct rg_net *nets;
	size_t n, cap;
	struct rg_netrun *runs;	/* built by rg_netset_finish() */
	size_t nruns;
	int finished;
};

/*
 * rg_netset_add - one "address" or "address/prefix" (IPv6 optionally in
 * brackets). Returns 0; 1 when host bits were set and have been cleared
 * (why says so); -1 on a bad item (why says why, the set is unchanged).
 */
int rg_netset_add(struct rg_netset *s, const char *item, char *why,
    size_t whysize);
/* rg_netset_finish - sort, drop duplicates, index; required before lookups */
void rg_netset_finish(struct rg_netset *s);
/* rg_netset_contains - 1 when the address is in a network of the set */
int rg_netset_contains(const struct rg_netset *s, const struct sockaddr *sa);
size_t rg_netset_count(const struct rg_netset *s);
/* rg_netset_release - free the contents; the set is empty and reusable */
void rg_netset_release(struct rg_netset *s);

/* RG_PT_CUSTOM ops: the field is a struct rg_netset */
extern const struct rg_ptype_ops rg_netset_ops;

#endif
