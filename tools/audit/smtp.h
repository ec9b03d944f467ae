/*
 * smtp.h - a small SMTP client for the audit (RFC 5321, RFC 3207)
 *
 * One struct rg_smtp per connection: a non-blocking socket, every wait
 * bounded by poll() and the handle's timeout, replies read line by line
 * with caps on line length and line count, multi-line replies joined.
 * STARTTLS upgrades the same handle with OpenSSL (certificates are not
 * verified: the audit looks at protocol versions, not at trust). The
 * client sends only what its caller asks for; the audit never sends DATA.
 *
 * Ownership: rg_smtp_open() returns a handle the caller frees with
 * rg_smtp_close(); it borrows the SSL_CTX given to rg_smtp_starttls(),
 * which must outlive it. Not thread-safe: one handle, one thread.
 */
#ifndef RG_AUDIT_SMTP_H
#define RG_AUDIT_SMTP_H

#include <stddef.h>
#include <openssl/ssl.h>

/* RFC 5321 s4.5.3.1.5: a reply line is at most 512 octets with CRLF; we
 * take up to the 1000 of a text line (s4.5.3.1.6) to be lenient */
#define RG_SMTP_LINE_MAX	1000
#define RG_SMTP_REPLY_LINES	100	/* lines of one multi-line reply */
#define RG_SMTP_REPLY_MAX	8192	/* bytes kept of one reply's text */
#define RG_SMTP_PORT		25	/* RFC 5321 s4.5.4.2 */

enum rg_smtp_status {
	RG_SMTP_OK,
	RG_SMTP_TIMEOUT,	/* no progress within the timeout */
	RG_SMTP_CLOSED,		/* the server closed the connection */
	RG_SMTP_PROTO,		/* a reply that breaks RFC 5321 s4.2 */
	RG_SMTP_IOERR,		/* connect, read or write failed */
	RG_SMTP_TLSFAIL,	/* the handshake failed (refused by the server) */
	RG_SMTP_TLSLOCAL,	/* our TLS library cannot offer what was asked */
};

struct rg_smtp_reply {
	int code;			/* 3 digits, or 0 when none was read */
	char enh[16];			/* enhanced status code (RFC 3463) or "" */
	char text[RG_SMTP_REPLY_MAX];	/* the lines without their codes, '\n' between */
	char line[RG_SMTP_LINE_MAX + 1];	/* the last line, as received */
	size_t nlines;
};

struct rg_smtp;

/*
 * rg_smtp_open - connect to host:port (name or address, each address in
 * turn), waiting at most timeout_ms per step; NULL with why filled.
 * verbose: the dialogue goes to stderr.
 */
struct rg_smtp *rg_smtp_open(const char *host, const char *port,
    long long timeout_ms, int verbose, char *why, size_t whysize);
/* rg_smtp_close - close and free; accepts NULL, returns NULL */
struct rg_smtp *rg_smtp_close(struct rg_smtp *s);

/* rg_smtp_read - one complete reply */
enum rg_smtp_status rg_smtp_read(struct rg_smtp *s, struct rg_smtp_reply *r);
/* rg_smtp_cmd - send one command line (CRLF added), then read the reply */
enum rg_smtp_status rg_smtp_cmd(struct rg_smtp *s, struct rg_smtp_reply *r,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * rg_smtp_starttls - STARTTLS and the handshake with ctx; RG_SMTP_PROTO
 * when the server does not answer 220 (r holds its reply), TLSFAIL or
 * TLSLOCAL when the handshake fails (see why).
 */
enum rg_smtp_status rg_smtp_starttls(struct rg_smtp *s, SSL_CTX *ctx,
    const char *sni, struct rg_smtp_reply *r);
/* rg_smtp_tls_version, rg_smtp_tls_cipher - of the session; NULL before */
const char *rg_smtp_tls_version(const struct rg_smtp *s);
const char *rg_smtp_tls_cipher(const struct rg_smtp *s);
int rg_smtp_tls_bits(const struct rg_smtp *s);
/* rg_smtp_why - detail of the last failure */
const char *rg_smtp_why(const struct rg_smtp *s);
/* rg_smtp_peer - the server's address as text, and its family */
const char *rg_smtp_peer(const struct rg_smtp *s, int *family);

/* rg_smtp_ext - the EHLO reply r names keyword: its parameters, or NULL */
const char *rg_smtp_ext(const struct rg_smtp_reply *r, const char *keyword,
    char *params, size_t size);
/* rg_smtp_reply_parse_line - one reply line: code, is-last; -1 if malformed */
int rg_smtp_reply_parse_line(const char *line, int *code, int *last,
    const char **text);
const char *rg_smtp_status_name(enum rg_smtp_status st);

#endif
