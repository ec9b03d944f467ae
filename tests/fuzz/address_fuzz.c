/*
 * address_fuzz.c - libFuzzer target for RFC 5321 paths (address.c) and the
 * relay decision built on them (relay.c)
 *
 * The input, cut at its first NUL as the MTA hands strings over, is
 * parsed with and without SMTPUTF8, then offered as RCPT TO by three
 * clients of the relay-abuse configuration (tests/data/relay-abuse.txt):
 * one neither trusted nor logged in, one logged in, one trusted.
 * Invariants: every field within its RFC 5321 cap and NUL-terminated,
 * names lower case without a root dot, a malformed path says so, and the
 * rule relaying rests on - an unauthenticated client never gets a foreign
 * or tricked recipient through.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdatomic.h>
#include <string.h>

#include "address.h"
#include "relay.h"
#include "session.h"
#include "settings.h"
#include "verdict.h"
#include "fuzzutil.h"

static struct rg_conn *addr_conn[3];	/* untrusted, logged in, trusted */

/* addr_client - a connection from ip, logged in as auth ("" for none) */
static struct rg_conn *
addr_client(struct rg_conf *conf, const char *ip, const char *auth)
{
	struct sockaddr_storage ss;
	struct rg_conn *c;

	atomic_fetch_add(&conf->refs, 1);	/* rg_conn_new takes a reference */
	c = rg_conn_new(conf, 1);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_INET;
	inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr);
	rg_conn_set_client(c, "client.example", (struct sockaddr *)&ss);
	rg_copy_field(c->auth_user, sizeof(c->auth_user), auth);
	rg_msg_begin(c);
	rg_copy_field(c->msg->sender, sizeof(c->msg->sender),
	    "someone@remote.example");
	return c;
}

static void
addr_setup(void)
{
	struct rg_conf *conf;

	rg_log_set_level(RG_LOG_ALERT);
	conf = fuzz_conf("local_domains = ours.example, .ours.example\n"
	    "relay_domains = relayed.example\n"
	    "local_ip_literals = 192.0.2.25, 2001:db8::25\n");
	addr_conn[0] = addr_client(conf, "203.0.113.5", "");
	addr_conn[1] = addr_client(conf, "203.0.113.5", "alice");
	addr_conn[2] = addr_client(conf, "127.0.0.1", "");
	rg_conf_release(conf);
}

/*
 * addr_check_host - a host: a literal with its family, or a lower-case
 * name that has lost its root dot (unless the path was malformed)
 */
static void
addr_check_host(const struct rg_addr_host *h, unsigned tricks)
{
	size_t n = strnlen(h->name, sizeof(h->name));

	FUZZ_CHECK(n < sizeof(h->name), "host name not terminated");
	if (h->family != 0) {
		FUZZ_CHECK(h->family == AF_INET || h->family == AF_INET6,
		    "literal family %d", h->family);
		FUZZ_CHECK(h->name[0] == '[' && h->name[n - 1] == ']',
		    "literal \"%s\" without brackets", h->name);
		return;
	}
	FUZZ_CHECK(n == 0 || h->name[n - 1] != '.' ||
	    (tricks & RG_TRICKS_MALFORMED), "root dot kept: \"%s\"",
	    h->name);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(!isupper((unsigned char)h->name[i]),
		    "upper case in \"%s\"", h->name);
}

/* addr_check - the parse of path under flags */
static void
addr_check(const char *path, unsigned flags)
{
	struct rg_addr a;
	char names[512];
	int rc = rg_addr_parse(path, flags, &a);

	FUZZ_CHECK(rc == ((a.tricks & RG_TRICKS_MALFORMED) ? -1 : 0),
	    "rc %d with tricks %#x", rc, a.tricks);
	FUZZ_CHECK(a.tricks < RG_TRICK_BIT(RG_TRICK_COUNT), "tricks %#x",
	    a.tricks);
	FUZZ_CHECK(a.nroute <= RG_ADDR_MAX_HOPS && a.nvia <= RG_ADDR_MAX_HOPS,
	    "%zu hops, %zu hidden hosts", a.nroute, a.nvia);
	FUZZ_CHECK(strnlen(a.local, sizeof(a.local)) < sizeof(a.local) &&
	    strnlen(a.dest_local, sizeof(a.dest_local)) < sizeof(a.dest_local),
	    "local part not terminated");
	if (strlen(a.local) > RG_ADDR_LOCAL_MAX)
		FUZZ_CHECK(a.tricks & RG_TRICK_BIT(RG_TRICK_TOO_LONG),
		    "%zu-octet local part not too long", strlen(a.local));
	/* with or without its brackets, a path over 256 octets is too long
	 * (unless the brackets are unbalanced: refused before measuring) */
	if (strlen(path) > RG_ADDR_PATH_MAX &&
	    (path[0] != '<' || path[strlen(path) - 1] == '>'))
		FUZZ_CHECK(a.tricks & RG_TRICK_BIT(RG_TRICK_TOO_LONG),
		    "%zu-octet path not too long", strlen(path));
	addr_check_host(&a.domain, a.tricks);
	addr_check_host(&a.dest_domain, a.tricks);
	for (size_t i = 0; i < a.nroute; i++)
		addr_check_host(&a.route[i], a.tricks);
	for (size_t i = 0; i < a.nvia; i++)
		addr_check_host(&a.via[i], a.tricks);
	if (a.tricks != 0)
		FUZZ_CHECK(a.tricks & RG_TRICK_BIT(rg_addr_trick_main(a.tricks)),
		    "main trick not among %#x", a.tricks);
	rg_addr_tricks_format(a.tricks, names, sizeof(names));
	rg_addr_tricks_format(a.tricks, names, 8);	/* truncates */
	FUZZ_CHECK(strlen(names) < 8, "format overran its buffer");
}

/* addr_relay - RCPT TO:<path> from each client */
static void
addr_relay(const char *path, int smtputf8)
{
	for (size_t i = 0; i < 3; i++) {
		struct rg_conn *c = addr_conn[i];
		struct rg_verdict v;
		struct rg_addr a;
		const char *why = NULL;
		int foreign;

		c->msg->smtputf8 = smtputf8;
		rg_verdict_init(&v);
		rg_relay_rcpt_why(c, path, &v, &why);
		foreign = rg_relay_is_foreign(c, path);
		FUZZ_CHECK((why != NULL) == (v.action == RG_ACT_REJECT),
		    "reason %s with action %d", why ? why : "(none)", (int)v.action);
		if (i == 0 && why == NULL) {
			rg_addr_parse(path, smtputf8 ? RG_ADDR_SMTPUTF8 : 0, &a);
			FUZZ_CHECK(!foreign, "foreign recipient relayed for an "
			    "unauthenticated client");
			FUZZ_CHECK((a.tricks & ~RG_TRICK_BIT(RG_TRICK_IP_LITERAL)) == 0,
			    "tricks %#x relayed for an unauthenticated client", a.tricks);
		}
		rg_verdict_clear(&v);
	}
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char *path = fuzz_cstr(data, size);

	if (addr_conn[0] == NULL)
		addr_setup();
	addr_check(path, 0);
	addr_check(path, RG_ADDR_SMTPUTF8);
	addr_relay(path, 0);
	addr_relay(path, 1);
	free(path);
	return 0;
}
