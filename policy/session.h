/*
 * session.h - what the MTA told us about a connection and its messages
 *
 * struct rg_conn lives from connect to close and pins one configuration
 * snapshot for its whole life (a reload never changes a session in
 * flight). struct rg_msg lives from MAIL FROM to end of message or abort;
 * a connection may carry several messages in turn. Everything copied in
 * from the MTA is bounded here: strings are truncated to fixed fields,
 * headers and recipients are capped by the configuration.
 *
 * One thread per connection (libmilter's model): not thread-safe, and it
 * does not need to be.
 */
#ifndef RG_SESSION_H
#define RG_SESSION_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "buf.h"
#include "spf.h"
#include "verdict.h"

struct rg_conf;
struct rg_msgscan;
struct rg_dkim_verify;
struct rg_dkim_sign;
struct rg_dnsbl_conn;
struct rg_limits_conn;

#define RG_HOST_MAX	256	/* RFC 1035: 255 octets */
#define RG_ADDR_MAX	64	/* textual IPv6 with scope */
#define RG_PATH_MAX	520	/* RFC 5321 4.5.3.1.3: 256 octets, plus room */
#define RG_NOTES_MAX	24
#define RG_STRIP_MAX	32	/* forged fields removed per message */

struct rg_rcpt {
	char *addr;		/* as given, brackets stripped */
	enum rg_action action;	/* what we answered */
	char check[32];		/* the check that refused it, if any */
};

struct rg_header {
	char *name;
	char *value;
};

/* one check's result for the summary line: check=result */
struct rg_note {
	char key[24];
	char value[104];
};

struct rg_msg {
	char sender[RG_PATH_MAX];
	int null_sender;
	int smtputf8;		/* MAIL FROM carried SMTPUTF8 (RFC 6531 3.4) */
	struct rg_rcpt *rcpts;
	size_t nrcpts, rcpts_cap;
	size_t nrcpts_refused;
	size_t nrcpts_over;	/* refused beyond max_recipients, not kept */

	struct rg_header *headers;
	size_t nheaders, headers_cap;
	size_t header_bytes;	/* all header bytes seen */
	size_t headers_dropped;	/* fields seen beyond the caps */
	size_t body_bytes;

	struct rg_note notes[RG_NOTES_MAX];
	size_t nnotes;
	struct rg_buf authres;	/* resinfo entries for Authentication-Results */
	struct rg_spf_state spf;	/* SPF outcome, for DMARC and headers */
	struct rg_msgscan *scan;	/* MIME structure, links, attachment names */
	struct rg_dkim_verify *dkim_verify;	/* inbound mail, or NULL */
	struct rg_dkim_sign *dkim_sign;		/* mail we sign, or NULL */
	unsigned ar_seen;	/* Authentication-Results fields seen so far */
	unsigned tag_seen[RG_TAG_COUNT];	/* our tag fields seen so far */
	struct rg_strip {	/* forged fields to remove, in arrival order */
		const char *name;	/* static: a field name we know */
		unsigned index;		/* occurrence of that name, 1-based */
	} strip[RG_STRIP_MAX];
	size_t nstrip;
	size_t nstrip_over;	/* forged fields beyond RG_STRIP_MAX */
	struct rg_verdict verdict;	/* the message's final verdict so far */
	int logged;		/* summary line written */
	struct timespec start;
};

struct rg_conn {
	struct rg_conf *conf;	/* pinned snapshot, released at free */
	unsigned long serial;
	char id[48];		/* log prefix: queue id, or NOQUEUE-<serial> */
	char qid[32];

	char client_name[RG_HOST_MAX];
	char client_addr[RG_ADDR_MAX];
	struct sockaddr_storage client_sa;	/* ss_family 0 when unknown */
	unsigned client_port;
	char helo[RG_HOST_MAX];
	char mta_host[RG_HOST_MAX];	/* macro j */
	char daemon_name[64];
	char tls_version[32];
	char cipher[64];
	char auth_user[RG_HOST_MAX];
	char auth_type[32];

	int leadspc;		/* header values keep the space after the colon
				   (SMFIP_HDR_LEADSPC): added values need one */
	int noreply;		/* stages the MTA expects no reply at (the
				 * milter's CB_NR_* bits) */
	struct rg_verdict verdict;	/* connection-level decision (connect, helo) */
	int logged;
	unsigned nmsgs;
	struct rg_msg *msg;	/* the message in progress, or NULL */
	struct timespec start;
	struct rg_dnsbl_conn *dnsbl;	/* DNSBL state (dnsbl.c), or NULL */
	struct rg_limits_conn *limits;	/* limits state (ratelimit.c), or NULL */
};

/* rg_conn_new - a connection pinning conf (caller's reference is taken) */
struct rg_conn *rg_conn_new(struct rg_conf *conf, unsigned long serial);
/* rg_conn_free - frees any message and releases the snapshot; returns NULL */
struct rg_conn *rg_conn_free(struct rg_conn *c);
/* rg_conn_set_client - record the client; addr may be NULL (unknown) */
void rg_conn_set_client(struct rg_conn *c, const char *name,
    const struct sockaddr *addr);
void rg_conn_set_qid(struct rg_conn *c, const char *qid);
/* rg_conn_client_name - the client's host name, or "unknown" (MTAs pass
 * "[addr]" for a client without one) */
const char *rg_conn_client_name(const struct rg_conn *c);
/* rg_copy_field - bounded copy of MTA text into a fixed field */
void rg_copy_field(char *dst, size_t size, const char *src);

/* rg_msg_begin - start a new message, ending any left over */
struct rg_msg *rg_msg_begin(struct rg_conn *c);
void rg_msg_end(struct rg_conn *c);
/* rg_msg_add_rcpt - returns the new entry, or NULL over max_recipients */
struct rg_rcpt *rg_msg_add_rcpt(struct rg_conn *c, const char *addr);
void rg_msg_add_header(struct rg_conn *c, const char *name, const char *value);
void rg_msg_add_body(struct rg_conn *c, const void *data, size_t len);
/* rg_msg_note - record one check's result for the summary line */
void rg_msg_note(struct rg_msg *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *rg_msg_header(const struct rg_msg *m, const char *name);

/* rg_strip_brackets - "<a@b>" -> "a@b" into dst; the result is bounded */
void rg_strip_brackets(char *dst, size_t size, const char *src);
/* rg_elapsed_ms - milliseconds since start */
long rg_elapsed_ms(const struct timespec *start);

#endif
