/*
 * callbacks.c - libmilter callbacks: copy, call the policy, answer
 *
 * Each callback pins the connection's configuration snapshot (at connect),
 * fetches its context, copies and bounds what the MTA said into it, calls
 * the matching rg_engine_* stage where a decision is due, and hands the
 * verdict to reply.c. Nothing here decides anything.
 *
 * xxfi_close may come with no private data (the MTA gave up before
 * connect completed), and a callback may come without a message context
 * (the MTA skipped MAIL): both are answered, never crashed on.
 */
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "../policy/conf.h"
#include "../policy/engine.h"
#include "../policy/log.h"
#include "../policy/session.h"
#include "../policy/settings.h"
#include "callbacks.h"
#include "macros.h"
#include "reply.h"

static atomic_ulong cb_serial;

static atomic_int cb_local;	/* listening on a unix socket */

/*
 * Between negotiation and connect the private pointer holds one of these
 * markers; its index carries what the MTA agreed to: CB_LEADSPC (header
 * values keep the space after the colon, which DKIM needs), and the
 * stages that get no reply: CB_NR_HDR (each header), CB_NR_EOH (end of
 * header), CB_NR_HELO and CB_NR_BODY (each body chunk). relayguard decides
 * nothing at any of them, and each reply saved is a round trip. A
 * callback that finds a marker has no connection context yet.
 */
#define CB_LEADSPC	1
#define CB_NR_HDR	2
#define CB_NR_EOH	4
#define CB_NR_HELO	8
#define CB_NR_BODY	16
#define CB_NMARKERS	32
static char cb_markers[CB_NMARKERS];

void
rg_callbacks_local(int local)
{
	atomic_store(&cb_local, local != 0);
}

static int
cb_marker_flags(const void *p)
{
	if (p < (const void *)cb_markers ||
	    p >= (const void *)(cb_markers + CB_NMARKERS))
		return -1;
	return (int)((const char *)p - cb_markers);
}

static struct rg_conn *
cb_conn(SMFICTX *ctx)
{
	void *p = smfi_getpriv(ctx);

	return cb_marker_flags(p) >= 0 ? NULL : p;
}

/* cb_noreply - the MTA expects no reply at this stage (a CB_NR_* bit) */
static int
cb_noreply(SMFICTX *ctx, int stage)
{
	struct rg_conn *c = cb_conn(ctx);
	int flags = c != NULL ? c->noreply : cb_marker_flags(smfi_getpriv(ctx));

	return flags > 0 && (flags & stage);
}

/*
 * cb_lost - a stage came without the context it needs: tempfail, or where
 * the MTA expects no reply, say nothing (a reply would answer its next
 * command) and let the next stage that replies tempfail instead.
 */
static sfsistat
cb_lost(SMFICTX *ctx, int stage, const char *why)
{
	return cb_noreply(ctx, stage) ? SMFIS_NOREPLY : rg_reply_tempfail(ctx, why);
}

/* cb_update_qid - the MTA's queue id, once it has one */
static void
cb_update_qid(SMFICTX *ctx, struct rg_conn *c)
{
	const char *qid = rg_macro(ctx, "i");

	if (qid != NULL)
		rg_conn_set_qid(c, qid);
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want_actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS |
	    SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
	/*
	 * Stages we never look at: the MTA need not send them. Header values
	 * as received, leading space included (DKIM canonicalization). No
	 * reply per header nor at end of header: Postfix then sends the
	 * whole header and the first body chunk in one write, and waits
	 * once. Over a unix socket also no DATA, and no reply at HELO nor
	 * per body chunk. Over TCP those replies stay: a packet that gets
	 * none leaves its ACK to the delayed-ACK timer, and the MTA's next
	 * packet waits for it under Nagle's algorithm, 40 ms a message (see
	 * cb_data and BENCHMARKS.md).
	 */
	unsigned long want_proto = SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC |
	    SMFIP_NR_HDR | SMFIP_NR_EOH;
	int marker;

	(void)f2, (void)f3;
	if (atomic_load(&cb_local))
		want_proto |= SMFIP_NODATA | SMFIP_NR_HELO | SMFIP_NR_BODY;
	if ((f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS)) != (SMFIF_ADDHDRS | SMFIF_CHGHDRS))
		rg_log_warn("MTA does not allow header changes: "
		    "Authentication-Results cannot be added");
	*pf0 = want_actions & f0;
	*pf1 = want_proto & f1;
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST)
		rg_macro_request(ctx);
	marker = ((*pf1 & SMFIP_HDR_LEADSPC) ? CB_LEADSPC : 0) |
	    ((*pf1 & SMFIP_NR_HDR) ? CB_NR_HDR : 0) |
	    ((*pf1 & SMFIP_NR_EOH) ? CB_NR_EOH : 0) |
	    ((*pf1 & SMFIP_NR_HELO) ? CB_NR_HELO : 0) |
	    ((*pf1 & SMFIP_NR_BODY) ? CB_NR_BODY : 0);
	smfi_setpriv(ctx, &cb_markers[marker]);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct rg_conf *conf = rg_conf_acquire();
	int flags = cb_marker_flags(smfi_getpriv(ctx));
	struct rg_verdict v;
	struct rg_conn *c;
	sfsistat rc;

	if (conf == NULL)
		return rg_reply_tempfail(ctx, "no configuration loaded");
	c = rg_conn_new(conf, atomic_fetch_add(&cb_serial, 1) + 1);
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
		rg_conn_free(c);
		return rg_reply_tempfail(ctx, "cannot attach connection context");
	}
	c->leadspc = flags > 0 && (flags & CB_LEADSPC);
	c->noreply = flags > 0 ? flags & (CB_NR_HDR | CB_NR_EOH | CB_NR_HELO |
	    CB_NR_BODY) : 0;
	rg_conn_set_client(c, hostname, hostaddr);
	rg_macro_copy(ctx, "j", c->mta_host, sizeof(c->mta_host));
	rg_macro_copy(ctx, "daemon_name", c->daemon_name, sizeof(c->daemon_name));
	if (c->client_addr[0] == '\0')
		rg_macro_copy(ctx, "client_addr", c->client_addr, sizeof(c->client_addr));
	rg_verdict_init(&v);
	rg_engine_connect(c, &v);
	rc = rg_reply(ctx, c, &v, 0);
	rg_verdict_clear(&v);
	return rc;
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct rg_conn *c = cb_conn(ctx);
	struct rg_verdict v;
	sfsistat rc;

	if (c == NULL)
		return cb_lost(ctx, CB_NR_HELO, "HELO without connection context");
	rg_copy_field(c->helo, sizeof(c->helo), helo);
	rg_macro_copy(ctx, "tls_version", c->tls_version, sizeof(c->tls_version));
	rg_macro_copy(ctx, "cipher", c->cipher, sizeof(c->cipher));
	rg_verdict_init(&v);
	rg_engine_helo(c, &v);	/* decides nothing */
	rc = cb_noreply(ctx, CB_NR_HELO) ? SMFIS_NOREPLY : rg_reply(ctx, c, &v, 0);
	rg_verdict_clear(&v);
	return rc;
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct rg_conn *c = cb_conn(ctx);
	struct rg_verdict v;
	struct rg_msg *m;
	sfsistat rc;

	if (c == NULL)
		return rg_reply_tempfail(ctx, "MAIL without connection context");
	m = rg_msg_begin(c);
	cb_update_qid(ctx, c);
	rg_strip_brackets(m->sender, sizeof(m->sender), argv[0]);
	m->null_sender = m->sender[0] == '\0';
	/* RFC 6531: UTF-8 local parts are legal only in an SMTPUTF8 transaction */
	for (int i = 1; argv[i] != NULL; i++)
		if (strcasecmp(argv[i], "SMTPUTF8") == 0)
			m->smtputf8 = 1;
	/* SASL and TLS facts as of this transaction (AUTH may follow STARTTLS) */
	c->auth_user[0] = c->auth_type[0] = '\0';
	rg_macro_copy(ctx, "auth_authen", c->auth_user, sizeof(c->auth_user));
	rg_macro_copy(ctx, "auth_type", c->auth_type, sizeof(c->auth_type));
	rg_macro_copy(ctx, "tls_version", c->tls_version, sizeof(c->tls_version));
	rg_macro_copy(ctx, "cipher", c->cipher, sizeof(c->cipher));
	rg_verdict_init(&v);
	rg_engine_mail(c, &v);
	rc = rg_reply(ctx, c, &v, 0);
	rg_verdict_clear(&v);
	return rc;
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct rg_conn *c = cb_conn(ctx);
	struct rg_verdict v;
	sfsistat rc;

	if (c == NULL || c->msg == NULL)
		return rg_reply_tempfail(ctx, "RCPT without transaction context");
	cb_update_qid(ctx, c);
	rg_verdict_init(&v);
	rg_engine_rcpt(c, argv[0], &v);
	rc = rg_reply(ctx, c, &v, 0);
	rg_verdict_clear(&v);
	return rc;
}

/*
 * cb_data - DATA over TCP: nothing to decide, but the reply keeps TCP
 * moving (over a unix socket DATA is skipped, see cb_negotiate).
 * Postfix sends the DATA macros even to a filter that skips DATA; a packet
 * that gets no reply leaves its ACK to the kernel's delayed-ACK timer, and
 * Postfix's next packet (the first header, once the client has sent its
 * message) waits for that ACK under Nagle's algorithm: 40 ms a message
 * over TCP. Answering DATA sends the ACK with the reply (BENCHMARKS.md).
 */
static sfsistat
cb_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct rg_conn *c = cb_conn(ctx);

	if (c == NULL || c->msg == NULL)
		return cb_lost(ctx, CB_NR_HDR, "header without transaction context");
	rg_engine_header(c, name, value ? value : "");
	return cb_noreply(ctx, CB_NR_HDR) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct rg_conn *c = cb_conn(ctx);

	if (c == NULL || c->msg == NULL)
		return cb_lost(ctx, CB_NR_EOH, "end of header without transaction context");
	cb_update_qid(ctx, c);
	rg_engine_eoh(c);
	return cb_noreply(ctx, CB_NR_EOH) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct rg_conn *c = cb_conn(ctx);

	if (c == NULL || c->msg == NULL)
		return cb_lost(ctx, CB_NR_BODY, "body without transaction context");
	rg_engine_body(c, chunk, len);
	return cb_noreply(ctx, CB_NR_BODY) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct rg_conn *c = cb_conn(ctx);
	struct rg_verdict v;
	sfsistat rc;

	if (c == NULL || c->msg == NULL)
		return rg_reply_tempfail(ctx, "end of message without transaction context");
	cb_update_qid(ctx, c);
	rg_verdict_init(&v);
	rg_engine_eom(c, &v);
	rc = rg_reply(ctx, c, &v, 1);
	rg_verdict_clear(&v);
	rg_msg_end(c);
	return rc;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct rg_conn *c = cb_conn(ctx);

	if (c != NULL && c->msg != NULL) {
		rg_engine_abort(c);
		rg_msg_end(c);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct rg_conn *c = cb_conn(ctx);

	if (c != NULL) {
		rg_engine_close(c);
		rg_conn_free(c);
	}
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

struct smfiDesc rg_milter_desc = {
	.xxfi_name = "relayguard",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
	    SMFIF_SETSYMLIST,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_unknown = NULL,
	.xxfi_data = cb_data,
	.xxfi_negotiate = cb_negotiate,
};
