/*
 * relay.h - relay authorization: who may send where
 *
 * Three stages; each reads only c->conf->relay and the facts in struct
 * rg_conn / struct rg_msg, and writes only the verdict passed in (left
 * untouched when the check lets the stage go on):
 *   rg_relay_connect  client_allow_networks / client_block_networks
 *   rg_relay_mail     sender_block_domains, sender_login_maps,
 *                     reject_unauth_local_sender
 *   rg_relay_rcpt     per recipient, on the real destination (address.h);
 *                     the null sender's limit; TLS for authenticated relaying
 * Replies use Postfix's wording and RFC 3463 enhanced codes (relay denied
 * 550 5.7.1; STARTTLS first 530 5.7.0, RFC 3207 4). Thread-safe.
 */
#ifndef RG_RELAY_H
#define RG_RELAY_H

#include "domainset.h"
#include "loginmap.h"
#include "netset.h"

struct rg_conn;
struct rg_verdict;

struct rg_relay_conf {
	struct rg_netset trusted_networks;
	struct rg_domainset local_domains;
	struct rg_domainset relay_domains;
	struct rg_netset local_ip_literals;
	struct rg_netset client_block_networks;
	struct rg_netset client_allow_networks;
	struct rg_domainset sender_block_domains;
	int reject_unauth_local_sender;
	struct rg_loginmap sender_login_maps;
	int relay_require_tls;
	int relay_min_tls_version;	/* 0: any; else major * 100 + minor */
};

extern const struct rg_param rg_relay_params[];

/* rg_relay_is_trusted - the client address is in trusted_networks */
int rg_relay_is_trusted(const struct rg_conn *c);
/* rg_relay_is_authenticated - the client logged in with SASL (auth_user) */
int rg_relay_is_authenticated(const struct rg_conn *c);

/* rg_relay_connect - refuse blocked client networks (554 5.7.1) */
void rg_relay_connect(const struct rg_conn *c, struct rg_verdict *v);
/* rg_relay_mail - sender checks for c->msg (begun, sender set) */
void rg_relay_mail(const struct rg_conn *c, struct rg_verdict *v);
/* rg_relay_rcpt - may this client send to rcpt (with or without <>) */
void rg_relay_rcpt(const struct rg_conn *c, const char *rcpt,
    struct rg_verdict *v);
/*
 * rg_relay_rcpt_why - rg_relay_rcpt that also says why it refused: a
 * trick name from rg_addr_trick_name(), or "foreign-domain",
 * "null-sender", "no-tls", "old-tls"; NULL when the recipient may go on.
 * The string is static.
 */
void rg_relay_rcpt_why(const struct rg_conn *c, const char *rcpt,
    struct rg_verdict *v, const char **why);
/*
 * rg_relay_is_foreign - rcpt (with or without <>) leaves us: some host on
 * its way is neither a local nor a relay domain (what relaying means)
 */
int rg_relay_is_foreign(const struct rg_conn *c, const char *rcpt);
/* rg_relay_tls_rank - "TLSv1.2" -> 102 (major * 100 + minor); 0 unknown */
int rg_relay_tls_rank(const char *version);

#endif
