/*
 * relay.c - relay authorization (see relay.h), and its parameter table
 *
 * A recipient is ours when every host on its way is ours: the source-route
 * hops, the domain, and each host hidden in the local part (address.h), so
 * "user%evil.example@ours.example" is foreign. Clients that are neither
 * trusted nor logged in get no trick at all, even one that stays with us
 * (Postfix allow_untrusted_routing = no, made stricter): such a form has
 * no business arriving from the open Internet. Trusted or authenticated
 * clients may relay anyway, so a trick address is judged like any other
 * by where it really ends: ours, or foreign under the relaying rules (the
 * null sender's limit, and TLS for authenticated relaying).
 * Functions here only read the configuration and the session.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "log.h"
#include "relay.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "verdict.h"

#define RELAY_CHECK	"relay"

/* relay_client - "name[addr]" for replies and logs */
static void
relay_client(const struct rg_conn *c, char *buf, size_t size)
{
	snprintf(buf, size, "%s[%s]", rg_conn_client_name(c),
	    c->client_addr[0] ? c->client_addr : "unknown");
}

/* rg_relay_is_trusted - client address in trusted_networks */
int
rg_relay_is_trusted(const struct rg_conn *c)
{
	if (c->client_sa.ss_family == 0)
		return 0;
	return rg_netset_contains(&c->conf->relay.trusted_networks,
	    (const struct sockaddr *)&c->client_sa);
}

/* rg_relay_is_authenticated - the MTA reported a SASL login */
int
rg_relay_is_authenticated(const struct rg_conn *c)
{
	return c->auth_user[0] != '\0';
}

/* relay_parse_flags - SMTPUTF8 local parts only when MAIL FROM asked */
static unsigned
relay_parse_flags(const struct rg_conn *c)
{
	return c->msg != NULL && c->msg->smtputf8 ? RG_ADDR_SMTPUTF8 : 0;
}

/* relay_host_is_ours - a local or relay domain, or a local IP literal */
static int
relay_host_is_ours(const struct rg_relay_conf *rc, const struct rg_addr_host *h)
{
	if (h->family != 0)
		return rg_netset_contains(&rc->local_ip_literals,
		    (const struct sockaddr *)&h->sa);
	if (h->name[0] == '\0')
		return 0;
	return rg_domainset_match(&rc->local_domains, h->name) ||
	    rg_domainset_match(&rc->relay_domains, h->name);
}

/* relay_addr_is_ours - every host on the way is ours */
static int
relay_addr_is_ours(const struct rg_relay_conf *rc, const struct rg_addr *a)
{
	if (a->postmaster)
		return 1;
	for (size_t i = 0; i < a->nroute; i++)
		if (!relay_host_is_ours(rc, &a->route[i]))
			return 0;
	if (a->domain.name[0] == '\0' && a->nvia == 0)
		return 0;
	if (a->domain.name[0] != '\0' && !relay_host_is_ours(rc, &a->domain))
		return 0;
	for (size_t i = 0; i < a->nvia; i++)
		if (!relay_host_is_ours(rc, &a->via[i]))
			return 0;
	return 1;
}

/* rg_relay_connect - allow wins over block */
void
rg_relay_connect(const struct rg_conn *c, struct rg_verdict *v)
{
	const struct rg_relay_conf *rc = &c->conf->relay;
	const struct sockaddr *sa = (const struct sockaddr *)&c->client_sa;
	char client[RG_HOST_MAX + RG_ADDR_MAX + 4];

	if (c->client_sa.ss_family == 0 ||
	    rg_netset_contains(&rc->client_allow_networks, sa) ||
	    !rg_netset_contains(&rc->client_block_networks, sa))
		return;
	relay_client(c, client, sizeof(client));
	rg_verdict_set(v, RG_ACT_REJECT, RELAY_CHECK, "554", "5.7.1",
	    "<%s>: Client host rejected: access denied", client);
}

/* relay_sender_blocked - the sender's domain, or its real one, is blocked */
static int
relay_sender_blocked(const struct rg_conn *c, const struct rg_addr *a,
    struct rg_verdict *v)
{
	const struct rg_domainset *bl = &c->conf->relay.sender_block_domains;

	if (!rg_domainset_match(bl, a->domain.name) &&
	    !rg_domainset_match(bl, a->dest_domain.name))
		return 0;
	rg_verdict_set(v, RG_ACT_REJECT, RELAY_CHECK, "550", "5.7.1",
	    "<%s>: Sender address rejected: domain blocked", c->msg->sender);
	return 1;
}

/* relay_sender_login - an authenticated client may use its own senders */
static void
relay_sender_login(const struct rg_conn *c, const struct rg_addr *a,
    struct rg_verdict *v)
{
	const struct rg_loginmap *m = &c->conf->relay.sender_login_maps;

	if (!m->enabled || rg_loginmap_owns(m, a->local, a->domain.name,
	    c->auth_user))
		return;
	rg_verdict_set(v, RG_ACT_REJECT, RELAY_CHECK, "553", "5.7.1",
	    "<%s>: Sender address rejected: not owned by user %s",
	    c->msg->sender, c->auth_user);
}

/* rg_relay_mail - blocked domains, login ownership, local-domain spoofing */
void
rg_relay_mail(const struct rg_conn *c, struct rg_verdict *v)
{
	const struct rg_relay_conf *rc = &c->conf->relay;
	struct rg_addr a;

	/* the null sender owns nothing and claims no domain */
	if (c->msg == NULL || c->msg->null_sender)
		return;
	(void)rg_addr_parse(c->msg->sender, relay_parse_flags(c), &a);
	if (relay_sender_blocked(c, &a, v))
		return;
	if (rg_relay_is_authenticated(c)) {
		relay_sender_login(c, &a, v);
		return;
	}
	if (!rc->reject_unauth_local_sender || rg_relay_is_trusted(c) ||
	    !relay_host_is_ours(rc, &a.domain))
		return;
	rg_verdict_set(v, RG_ACT_REJECT, RELAY_CHECK, "550", "5.7.1",
	    "<%s>: Sender address rejected: not logged in", c->msg->sender);
}

/* relay_deny - 550 5.7.1 Relay access denied, and the log line for tricks */
static const char *
relay_deny(const struct rg_conn *c, const char *shown, const char *why,
    int notice, struct rg_verdict *v)
{
	char client[RG_HOST_MAX + RG_ADDR_MAX + 4];

	relay_client(c, client, sizeof(client));
	if (notice)
		rg_log_id(RG_LOG_NOTICE, c->id, "relay: refused <%s>: %s from %s",
		    shown, why, client);
	else
		rg_log_id_debug(RG_MOD_RELAY, c->id, "relay: refused <%s>: %s from %s",
		    shown, why, client);
	rg_verdict_set(v, RG_ACT_REJECT, RELAY_CHECK, "550", "5.7.1",
	    "<%s>: Relay access denied", shown);
	return why;
}

/* relay_rcpt_untrusted - no trick at all, and the destination is ours */
static const char *
relay_rcpt_untrusted(const struct rg_conn *c, const struct rg_addr *a,
    const char *shown, struct rg_verdict *v)
{
	unsigned bad = a->tricks & ~RG_TRICK_BIT(RG_TRICK_IP_LITERAL);

	if (a->null)
		bad |= RG_TRICK_BIT(RG_TRICK_SYNTAX);	/* RCPT TO:<> */
	if (bad != 0)
		return relay_deny(c, shown,
		    rg_addr_trick_name(rg_addr_trick_main(bad)), 1, v);
	if (relay_addr_is_ours(&c->conf->relay, a))
		return NULL;
	if (a->tricks != 0)
		return relay_deny(c, shown, rg_addr_trick_name(RG_TRICK_IP_LITERAL),
		    1, v);
	return relay_deny(c, shown, "foreign-domain", 0, v);
}

/* relay_tls_name - "TLSv1", "TLSv1.2" from a rank */
static void
relay_tls_name(int rank, char *buf, size_t size)
{
	if (rank % 100 == 0 && rank / 100 == 1)
		snprintf(buf, size, "TLSv1");
	else
		snprintf(buf, size, "TLSv%d.%d", rank / 100, rank % 100);
}

/* relay_check_tls - authenticated relaying: STARTTLS, and recent enough */
static const char *
relay_check_tls(const struct rg_conn *c, struct rg_verdict *v)
{
	const struct rg_relay_conf *rc = &c->conf->relay;
	char want[32];

	if (!rc->relay_require_tls && rc->relay_min_tls_version == 0)
		return NULL;
	if (c->tls_version[0] == '\0') {
		/* RFC 3207 4: 530 until the client has issued STARTTLS */
		rg_verdict_set(v, RG_ACT_REJECT, RELAY_CHECK, "530", "5.7.0",
		    "Must issue a STARTTLS command first");
		return "no-tls";
	}
	if (rc->relay_min_tls_version == 0 ||
	    rg_relay_tls_rank(c->tls_version) >= rc->relay_min_tls_version)
		return NULL;
	relay_tls_name(rc->relay_min_tls_version, want, sizeof(want));
	rg_verdict_set(v, RG_ACT_REJECT, RELAY_CHECK, "550", "5.7.1",
	    "TLS protocol %s is too old for relaying; %s or later required",
	    c->tls_version, want);
	return "old-tls";
}

/* relay_rcpt_privileged - trusted or logged in: judged by the destination */
static const char *
relay_rcpt_privileged(const struct rg_conn *c, const struct rg_addr *a,
    const char *shown, struct rg_verdict *v)
{
	if (a->null || (a->tricks & RG_TRICKS_MALFORMED)) {
		/* RFC 3463 X.1.3: bad destination mailbox address syntax */
		rg_verdict_set(v, RG_ACT_REJECT, RELAY_CHECK, "501", "5.1.3",
		    "<%s>: Bad recipient address syntax", shown);
		return a->null ? rg_addr_trick_name(RG_TRICK_SYNTAX) :
		    rg_addr_trick_name(rg_addr_trick_main(a->tricks &
		    RG_TRICKS_MALFORMED));
	}
	if (relay_addr_is_ours(&c->conf->relay, a))
		return NULL;
	/*
	 * Bounces go to our own users only. Trusted networks are exempt: an
	 * internal MTA forwards bounces outward. A logged-in user is not: mail
	 * clients never send with <>, a hijacked account sending backscatter
	 * does.
	 */
	if (c->msg != NULL && c->msg->null_sender && !rg_relay_is_trusted(c))
		return relay_deny(c, shown, "null-sender", 1, v);
	if (!rg_relay_is_trusted(c))
		return relay_check_tls(c, v);
	return NULL;
}

/* rg_relay_rcpt_why - the relay decision for one recipient */
void
rg_relay_rcpt_why(const struct rg_conn *c, const char *rcpt,
    struct rg_verdict *v, const char **why)
{
	char shown[RG_PATH_MAX];
	struct rg_addr a;
	const char *reason;

	rg_strip_brackets(shown, sizeof(shown), rcpt);
	(void)rg_addr_parse(rcpt ? rcpt : "", relay_parse_flags(c), &a);
	if (rg_relay_is_trusted(c) || rg_relay_is_authenticated(c))
		reason = relay_rcpt_privileged(c, &a, shown, v);
	else
		reason = relay_rcpt_untrusted(c, &a, shown, v);
	if (why != NULL)
		*why = reason;
}

/* rg_relay_rcpt - the relay decision, without the reason */
void
rg_relay_rcpt(const struct rg_conn *c, const char *rcpt, struct rg_verdict *v)
{
	rg_relay_rcpt_why(c, rcpt, v, NULL);
}

/* rg_relay_is_foreign - the recipient is not ours */
int
rg_relay_is_foreign(const struct rg_conn *c, const char *rcpt)
{
	struct rg_addr a;

	(void)rg_addr_parse(rcpt ? rcpt : "", relay_parse_flags(c), &a);
	return !relay_addr_is_ours(&c->conf->relay, &a);
}

/* rg_relay_tls_rank - "TLSv<major>[.<minor>]" as the MTA writes it */
int
rg_relay_tls_rank(const char *s)
{
	int major = 0, minor = 0, nd = 0;

	if (strncasecmp(s, "TLSv", 4) != 0)
		return 0;	/* SSLv3 and unknown: older than any TLS */
	for (s += 4; *s >= '0' && *s <= '9' && nd < 3; s++, nd++)
		major = major * 10 + (*s - '0');
	if (nd == 0 || (*s != '\0' && *s != '.'))
		return 0;
	if (*s == '.') {
		for (s++, nd = 0; *s >= '0' && *s <= '9' && nd < 2; s++, nd++)
			minor = minor * 10 + (*s - '0');
		if (nd == 0)
			return 0;
	}
	return *s == '\0' ? major * 100 + minor : 0;
}

/* relay_tlsver_parse - relay_min_tls_version: empty, or TLSv1 .. TLSv1.3 */
static int
relay_tlsver_parse(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	int rank = rg_relay_tls_rank(value);

	if (*value == '\0') {
		*(int *)dst = 0;
		return 0;
	}
	if (rank < 100 || rank > 103) {
		rg_conf_perror(cx, "%s: expected TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3, "
		    "not \"%s\"", p->name, value);
		return -1;
	}
	*(int *)dst = rank;
	return 0;
}

/* relay_tlsver_free - nothing is allocated: back to "any" */
static void
relay_tlsver_free(void *dst)
{
	*(int *)dst = 0;
}

static const struct rg_ptype_ops relay_tlsver_ops = {
	relay_tlsver_parse, relay_tlsver_free,
};

#define RELAY(f) offsetof(struct rg_relay_conf, f)

const struct rg_param rg_relay_params[] = {
	RG_P_CUSTOM("trusted_networks", "127.0.0.0/8, ::1/128", &rg_netset_ops,
	    RELAY(trusted_networks), 0,
	    "client networks that may relay without logging in"),
	RG_P_CUSTOM("local_domains", "", &rg_domainset_ops, RELAY(local_domains), 0,
	    "domains delivered here: example.com exactly, .example.com its subdomains"),
	RG_P_CUSTOM("relay_domains", "", &rg_domainset_ops, RELAY(relay_domains), 0,
	    "domains accepted here for other hosts we serve, as local_domains"),
	RG_P_CUSTOM("local_ip_literals", "", &rg_netset_ops,
	    RELAY(local_ip_literals), 0,
	    "addresses that make user@[address] a local recipient"),
	RG_P_CUSTOM("client_block_networks", "", &rg_netset_ops,
	    RELAY(client_block_networks), 0,
	    "client networks refused at connect (554 5.7.1)"),
	RG_P_CUSTOM("client_allow_networks", "", &rg_netset_ops,
	    RELAY(client_allow_networks), 0,
	    "client networks never refused by client_block_networks"),
	RG_P_CUSTOM("sender_block_domains", "", &rg_domainset_ops,
	    RELAY(sender_block_domains), 0,
	    "sender domains refused at MAIL FROM, as local_domains"),
	RG_P_BOOL("reject_unauth_local_sender", "yes",
	    RELAY(reject_unauth_local_sender), 0,
	    "refuse our own domains as sender from clients neither trusted nor logged in"),
	RG_P_CUSTOM("sender_login_maps", "", &rg_loginmap_ops,
	    RELAY(sender_login_maps), 0,
	    "file of senders and the SASL logins that own them; empty: off"),
	RG_P_BOOL("relay_require_tls", "no", RELAY(relay_require_tls), 0,
	    "authenticated clients relay to foreign domains only over TLS"),
	RG_P_CUSTOM("relay_min_tls_version", "", &relay_tlsver_ops,
	    RELAY(relay_min_tls_version), 0,
	    "oldest TLS version for authenticated relaying (TLSv1.2); empty: any"),
	RG_P_END
};
