/*
 * blocklist.c - client networks blocked through the store (see blocklist.h)
 *
 * The cache is a finished struct rg_netset behind a pointer: a refresh
 * builds a new set from rg_kv_scan("block:") outside the lock and swaps
 * it in; CONNECT looks up under the lock (a binary search, microseconds).
 * A refresh that fails keeps the old set and logs, at most once a minute.
 * Also the "admin" settings: control_socket and block_refresh_interval.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocklist.h"
#include "log.h"
#include "netset.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "verdict.h"
#include "xalloc.h"

#define BL_WARN_EVERY	60	/* seconds between "cannot refresh" lines */

static pthread_mutex_t bl_mu = PTHREAD_MUTEX_INITIALIZER;	/* bl_set, bl_warned */
static struct rg_netset *bl_set;
static time_t bl_warned;

/* bl_parse_socket - an absolute unix socket path that fits sun_path */
static int
bl_parse_socket(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *v, void *dst)
{
	if (v[0] != '\0' && (v[0] != '/' || strlen(v) >= 108)) {
		rg_conf_perror(cx, "%s: an absolute path shorter than 108 bytes, "
		    "not \"%s\"", p->name, v);
		return -1;
	}
	*(char **)dst = rg_xstrdup(v);
	return 0;
}

/* bl_free_str - release a string setting */
static void
bl_free_str(void *dst)
{
	free(*(char **)dst);
	*(char **)dst = NULL;
}

static const struct rg_ptype_ops bl_socket_ops = {
	.parse = bl_parse_socket, .free = bl_free_str,
};

#define AD(f) offsetof(struct rg_admin_conf, f)

const struct rg_param rg_admin_params[] = {
	RG_P_CUSTOM("control_socket", "", &bl_socket_ops, AD(control_socket),
	    RG_CF_RESTART,
	    "unix socket for relayguardctl (mode 0600, the daemon's user); empty: none"),
	RG_P_TIME("block_refresh_interval", "10s", 1000, 3600000,
	    AD(block_refresh), 0,
	    "how often the networks blocked with relayguardctl are read from the store"),
	RG_P_END
};

/* bl_mask - clear the bits after plen of an n-byte address */
static void
bl_mask(unsigned char *a, size_t n, unsigned plen)
{
	for (size_t i = 0; i < n; i++) {
		unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ?
		    plen - 8 * (unsigned)i : 0;

		a[i] &= keep ? (unsigned char)(0xffu << (8 - keep)) : 0;
	}
}

/* rg_block_canon - an address or network in canonical CIDR form */
int
rg_block_canon(const char *in, char *out, size_t size, char *why,
    size_t whysize)
{
	char host[INET6_ADDRSTRLEN + 1], text[INET6_ADDRSTRLEN];
	const char *slash = strchr(in, '/');
	size_t hl = slash ? (size_t)(slash - in) : strlen(in);
	unsigned char a[16];
	long long plen;
	int af;

	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(why, whysize, "not an address: \"%.60s\"", in);
		return -1;
	}
	memcpy(host, in, hl);
	host[hl] = '\0';
	af = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, host, a) != 1) {
		snprintf(why, whysize, "not an address: \"%.60s\"", host);
		return -1;
	}
	plen = af == AF_INET ? 32 : 128;
	if (slash != NULL && (rg_str_parse_ll(slash + 1, &plen) < 0 ||
	    plen < 0 || plen > (af == AF_INET ? 32 : 128))) {
		snprintf(why, whysize, "bad prefix length in \"%.60s\"", in);
		return -1;
	}
	bl_mask(a, af == AF_INET ? 4 : 16, (unsigned)plen);
	inet_ntop(af, a, text, sizeof(text));
	if (snprintf(out, size, "%s/%lld", text, plen) >= (int)size) {
		snprintf(why, whysize, "too long");
		return -1;
	}
	return 0;
}

/* bl_build - a finished set of the networks named by the keys */
static struct rg_netset *
bl_build(const struct rg_kv_keys *keys)
{
	struct rg_netset *s = rg_xcalloc(1, sizeof(*s));
	size_t plen = strlen(RG_BLOCK_PREFIX);
	char why[160];

	for (size_t i = 0; i < keys->n; i++)
		if (rg_netset_add(s, keys->key[i] + plen, why, sizeof(why)) < 0)
			rg_log_warn("blocklist: ignoring key %s: %s",
			    keys->key[i], why);
	rg_netset_finish(s);
	return s;
}

/* bl_swap - install s (NULL: empty) and free the set it replaces */
static void
bl_swap(struct rg_netset *s)
{
	struct rg_netset *old;

	pthread_mutex_lock(&bl_mu);
	old = bl_set;
	bl_set = s;
	pthread_mutex_unlock(&bl_mu);
	if (old != NULL) {
		rg_netset_release(old);
		free(old);
	}
}

/* rg_blocklist_refresh - read block:* from the store into the cache */
enum rg_kv_status
rg_blocklist_refresh(struct rg_kv *kv, struct rg_buf *why)
{
	struct rg_kv_keys keys;
	enum rg_kv_status st;
	time_t now = time(NULL);
	int warn;

	st = rg_kv_scan(kv, RG_BLOCK_PREFIX, RG_BLOCK_MAX, &keys, why);
	if (st != RG_KV_OK) {
		pthread_mutex_lock(&bl_mu);
		warn = now - bl_warned >= BL_WARN_EVERY;
		if (warn)
			bl_warned = now;
		pthread_mutex_unlock(&bl_mu);
		if (warn)
			rg_log_warn("blocklist: cannot read blocked networks from "
			    "the store (%s); keeping the %zu known",
			    why ? rg_buf_cstr(why) : rg_kv_status_name(st),
			    rg_blocklist_count());
		return st;
	}
	if (keys.truncated)
		rg_log_warn("blocklist: more than %d blocked networks; the rest "
		    "are ignored", RG_BLOCK_MAX);
	bl_swap(bl_build(&keys));
	rg_kv_keys_release(&keys);
	return RG_KV_OK;
}

/* rg_blocklist_count - networks in the cache */
size_t
rg_blocklist_count(void)
{
	size_t n;

	pthread_mutex_lock(&bl_mu);
	n = bl_set ? rg_netset_count(bl_set) : 0;
	pthread_mutex_unlock(&bl_mu);
	return n;
}

/* rg_blocklist_clear - empty the cache */
void
rg_blocklist_clear(void)
{
	bl_swap(NULL);
}

/* rg_blocklist_connect - refuse a client in a blocked network (554 5.7.1) */
void
rg_blocklist_connect(struct rg_conn *c, struct rg_verdict *v)
{
	int hit;

	if (rg_verdict_is_final(v) || c->client_sa.ss_family == 0)
		return;
	pthread_mutex_lock(&bl_mu);
	hit = bl_set != NULL && rg_netset_contains(bl_set,
	    (const struct sockaddr *)&c->client_sa);
	pthread_mutex_unlock(&bl_mu);
	if (!hit)
		return;
	rg_verdict_set(v, RG_ACT_REJECT, "block", "554", "5.7.1",
	    "Service unavailable; client [%s] blocked by the administrator",
	    c->client_addr);
}
