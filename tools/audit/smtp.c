/*
 * smtp.c - a small SMTP client for the audit (see smtp.h)
 *
 * Every socket is non-blocking; every wait is a poll() bounded by the
 * time left of the current step (connect, one reply, one command), so a
 * silent or slow server costs at most the timeout. Lines are read into a
 * fixed buffer and capped (RG_SMTP_LINE_MAX); a reply of more than
 * RG_SMTP_REPLY_LINES lines is a protocol error, not a memory problem.
 * With TLS the same loop runs over SSL_read/SSL_write, whose WANT_READ
 * and WANT_WRITE become the poll events. RFC 5321 s4.2 (replies),
 * RFC 3207 (STARTTLS), RFC 2034 / RFC 3463 (enhanced status codes).
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "smtp.h"
#include "../../policy/strutil.h"
#include "../../policy/xalloc.h"

#define SMTP_BUF	4096	/* read buffer; more than one full line */

struct rg_smtp {
	int fd;
	SSL *ssl;
	int dead;		/* a failed handshake left the stream unusable */
	long long timeout_ms;
	int verbose;
	char buf[SMTP_BUF];
	size_t off, len;	/* unread bytes are buf[off..len) */
	char why[256];
	char peer[64];
	int family;
};

/* smtp_now_ms - a monotonic clock in milliseconds */
static long long
smtp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* smtp_fail - declared first for its format attribute */
static enum rg_smtp_status
smtp_fail(struct rg_smtp *s, enum rg_smtp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* smtp_fail - record why, return st */
static enum rg_smtp_status
smtp_fail(struct rg_smtp *s, enum rg_smtp_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	return st;
}

/* smtp_wait - poll fd for events until the deadline */
static enum rg_smtp_status
smtp_wait(struct rg_smtp *s, short events, long long deadline)
{
	struct pollfd p = { s->fd, events, 0 };
	long long left;
	int r;

	for (;;) {
		left = deadline - smtp_now_ms();
		if (left <= 0)
			return smtp_fail(s, RG_SMTP_TIMEOUT, "timed out");
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return RG_SMTP_OK;
		if (r < 0 && errno != EINTR)
			return smtp_fail(s, RG_SMTP_IOERR, "poll: %s", strerror(errno));
	}
}

/* smtp_connect_one - one address, non-blocking connect within the deadline */
static int
smtp_connect_one(struct rg_smtp *s, const struct addrinfo *ai, long long deadline)
{
	int err = 0;
	socklen_t len = sizeof(err);

	s->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (s->fd < 0) {
		smtp_fail(s, RG_SMTP_IOERR, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(s->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else if (smtp_wait(s, POLLOUT, deadline) != RG_SMTP_OK) {
			err = ETIMEDOUT;
		} else if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
			err = errno;
		}
	}
	if (err != 0) {
		smtp_fail(s, RG_SMTP_IOERR, "connect: %s", strerror(err));
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	s->family = ai->ai_family;
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, s->peer, sizeof(s->peer),
	    NULL, 0, NI_NUMERICHOST) != 0)
		rg_strlcpy(s->peer, "?", sizeof(s->peer));
	return 0;
}

/* rg_smtp_open - the first address of host that accepts a connection */
struct rg_smtp *
rg_smtp_open(const char *host, const char *port, long long timeout_ms,
    int verbose, char *why, size_t whysize)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct rg_smtp *s = rg_xcalloc(1, sizeof(*s));
	int r;

	s->fd = -1;
	s->timeout_ms = timeout_ms;
	s->verbose = verbose;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(why, whysize, "%s: %s", host, gai_strerror(r));
		free(s);
		return NULL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (smtp_connect_one(s, ai, smtp_now_ms() + timeout_ms) == 0)
			break;
	freeaddrinfo(res);
	if (s->fd < 0) {
		snprintf(why, whysize, "%s port %s: %s", host, port, s->why);
		free(s);
		return NULL;
	}
	return s;
}

/* rg_smtp_close - say nothing more, close, free */
struct rg_smtp *
rg_smtp_close(struct rg_smtp *s)
{
	if (s == NULL)
		return NULL;
	if (s->ssl != NULL) {
		/* one non-blocking close_notify; no wait for the peer's */
		SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
	}
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return NULL;
}

/* smtp_tls_wait - turn WANT_READ/WANT_WRITE into a poll; else an error */
static enum rg_smtp_status
smtp_tls_wait(struct rg_smtp *s, int ret, long long deadline)
{
	int e = SSL_get_error(s->ssl, ret);
	unsigned long code;

	if (e == SSL_ERROR_WANT_READ)
		return smtp_wait(s, POLLIN, deadline);
	if (e == SSL_ERROR_WANT_WRITE)
		return smtp_wait(s, POLLOUT, deadline);
	if (e == SSL_ERROR_ZERO_RETURN)
		return smtp_fail(s, RG_SMTP_CLOSED, "the server closed the TLS session");
	if ((code = ERR_get_error()) != 0) {
		char msg[200];

		ERR_error_string_n(code, msg, sizeof(msg));
		ERR_clear_error();
		return smtp_fail(s, RG_SMTP_IOERR, "TLS: %s", msg);
	}
	return smtp_fail(s, RG_SMTP_CLOSED, "connection closed");
}

/* smtp_fill - read more bytes into the buffer, waiting until the deadline */
static enum rg_smtp_status
smtp_fill(struct rg_smtp *s, long long deadline)
{
	enum rg_smtp_status st;
	ssize_t n;

	if (s->dead)
		return smtp_fail(s, RG_SMTP_IOERR, "the connection is unusable");
	if (s->off > 0) {
		memmove(s->buf, s->buf + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
	for (;;) {
		if (s->ssl != NULL) {
			n = SSL_read(s->ssl, s->buf + s->len, (int)(SMTP_BUF - s->len));
			if (n > 0)
				break;
			if ((st = smtp_tls_wait(s, (int)n, deadline)) != RG_SMTP_OK)
				return st;
			continue;
		}
		n = recv(s->fd, s->buf + s->len, SMTP_BUF - s->len, 0);
		if (n > 0)
			break;
		if (n == 0)
			return smtp_fail(s, RG_SMTP_CLOSED, "connection closed by the server");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return smtp_fail(s, RG_SMTP_IOERR, "read: %s", strerror(errno));
		if ((st = smtp_wait(s, POLLIN, deadline)) != RG_SMTP_OK)
			return st;
	}
	s->len += (size_t)n;
	return RG_SMTP_OK;
}

/* smtp_read_line - one line without its CRLF into line (LINE_MAX + 1) */
static enum rg_smtp_status
smtp_read_line(struct rg_smtp *s, char *line, long long deadline)
{
	enum rg_smtp_status st;
	char *nl;
	size_t n;

	while ((nl = memchr(s->buf + s->off, '\n', s->len - s->off)) == NULL) {
		if (s->len - s->off > RG_SMTP_LINE_MAX + 1)
			return smtp_fail(s, RG_SMTP_PROTO, "reply line longer than %d bytes",
			    RG_SMTP_LINE_MAX);
		if ((st = smtp_fill(s, deadline)) != RG_SMTP_OK)
			return st;
	}
	n = (size_t)(nl - (s->buf + s->off));
	if (n > 0 && s->buf[s->off + n - 1] == '\r')
		n--;
	if (n > RG_SMTP_LINE_MAX)
		return smtp_fail(s, RG_SMTP_PROTO, "reply line longer than %d bytes",
		    RG_SMTP_LINE_MAX);
	memcpy(line, s->buf + s->off, n);
	line[n] = '\0';
	/* a NUL would end the C string early: show it as '?' */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\0')
			line[i] = '?';
	s->off = (size_t)(nl - s->buf) + 1;
	if (s->verbose)
		fprintf(stderr, "S: %s\n", line);
	return RG_SMTP_OK;
}

/* rg_smtp_reply_parse_line - "250-text", "250 text" or "250" */
int
rg_smtp_reply_parse_line(const char *line, int *code, int *last,
    const char **text)
{
	if (line[0] < '2' || line[0] > '5' || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return -1;
	*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (line[3] == '\0') {
		*last = 1;
		*text = line + 3;
	} else if (line[3] == ' ' || line[3] == '-') {
		*last = line[3] == ' ';
		*text = line + 4;
	} else {
		return -1;
	}
	return 0;
}

/* smtp_enhanced - "X.Y.Z" at the start of text, of the reply's class */
static void
smtp_enhanced(const char *text, int code, char *enh, size_t size)
{
	size_t n = strspn(text, "0123456789.");
	int dots = 0;

	enh[0] = '\0';
	for (size_t i = 0; i < n; i++)
		dots += text[i] == '.';
	if (dots != 2 || n >= size || n < 5 || text[0] - '0' != code / 100 ||
	    text[1] != '.' || text[n - 1] == '.' || (text[n] != ' ' && text[n] != '\0'))
		return;
	memcpy(enh, text, n);
	enh[n] = '\0';
}

/* rg_smtp_read - one reply, all of its lines, within one timeout */
enum rg_smtp_status
rg_smtp_read(struct rg_smtp *s, struct rg_smtp_reply *r)
{
	long long deadline = smtp_now_ms() + s->timeout_ms;
	enum rg_smtp_status st;
	const char *text;
	int code, last = 0;

	r->code = 0;
	r->enh[0] = r->text[0] = r->line[0] = '\0';
	r->nlines = 0;
	while (!last) {
		if ((st = smtp_read_line(s, r->line, deadline)) != RG_SMTP_OK)
			return st;
		if (rg_smtp_reply_parse_line(r->line, &code, &last, &text) < 0)
			return smtp_fail(s, RG_SMTP_PROTO, "malformed reply line");
		if (r->nlines > 0 && code != r->code)
			return smtp_fail(s, RG_SMTP_PROTO, "reply codes differ in one reply");
		if (++r->nlines > RG_SMTP_REPLY_LINES)
			return smtp_fail(s, RG_SMTP_PROTO, "reply of more than %d lines",
			    RG_SMTP_REPLY_LINES);
		if (r->nlines == 1) {
			smtp_enhanced(text, code, r->enh, sizeof(r->enh));
		} else {
			rg_strlcat(r->text, "\n", sizeof(r->text));
		}
		/* a reply longer than the cap keeps its beginning */
		rg_strlcat(r->text, text, sizeof(r->text));
		r->code = code;
	}
	return RG_SMTP_OK;
}

/* smtp_write - send all of data within the deadline */
static enum rg_smtp_status
smtp_write(struct rg_smtp *s, const char *data, size_t len, long long deadline)
{
	enum rg_smtp_status st;
	ssize_t n;

	if (s->dead)
		return smtp_fail(s, RG_SMTP_IOERR, "the connection is unusable");
	while (len > 0) {
		if (s->ssl != NULL) {
			n = SSL_write(s->ssl, data, (int)len);
			if (n <= 0) {
				if ((st = smtp_tls_wait(s, (int)n, deadline)) != RG_SMTP_OK)
					return st;
				continue;
			}
		} else if ((n = send(s->fd, data, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return smtp_fail(s, RG_SMTP_CLOSED, "connection closed by the server");
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return smtp_fail(s, RG_SMTP_IOERR, "write: %s", strerror(errno));
			if ((st = smtp_wait(s, POLLOUT, deadline)) != RG_SMTP_OK)
				return st;
			continue;
		}
		data += n;
		len -= (size_t)n;
	}
	return RG_SMTP_OK;
}

/* rg_smtp_cmd - one command line and its reply */
enum rg_smtp_status
rg_smtp_cmd(struct rg_smtp *s, struct rg_smtp_reply *r, const char *fmt, ...)
{
	char line[RG_SMTP_LINE_MAX + 3];
	enum rg_smtp_status st;
	va_list ap;
	int n;

	r->code = 0;
	r->enh[0] = r->text[0] = r->line[0] = '\0';
	r->nlines = 0;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return smtp_fail(s, RG_SMTP_PROTO, "command longer than %d bytes",
		    RG_SMTP_LINE_MAX - 2);
	if (strpbrk(line, "\r\n") != NULL)
		return smtp_fail(s, RG_SMTP_PROTO, "command contains a line break");
	if (s->verbose)
		fprintf(stderr, "C: %s\n", line);
	memcpy(line + n, "\r\n", 3);
	st = smtp_write(s, line, (size_t)n + 2, smtp_now_ms() + s->timeout_ms);
	if (st != RG_SMTP_OK)
		return st;
	return rg_smtp_read(s, r);
}

/* smtp_tls_error - classify a failed handshake: ours or the server's */
static enum rg_smtp_status
smtp_tls_error(struct rg_smtp *s, int ret)
{
	unsigned long code = ERR_peek_error();
	int reason = ERR_GET_REASON(code);
	char msg[200];

	s->dead = 1;
	if (code == 0) {
		ERR_clear_error();
		if (SSL_get_error(s->ssl, ret) == SSL_ERROR_SYSCALL && errno != 0)
			return smtp_fail(s, RG_SMTP_TLSFAIL, "handshake: %s", strerror(errno));
		return smtp_fail(s, RG_SMTP_TLSFAIL, "the server closed the connection "
		    "during the handshake");
	}
	ERR_error_string_n(code, msg, sizeof(msg));
	ERR_clear_error();
	if (ERR_GET_LIB(code) == ERR_LIB_SSL && (reason == SSL_R_NO_PROTOCOLS_AVAILABLE ||
	    reason == SSL_R_NO_CIPHERS_AVAILABLE))
		return smtp_fail(s, RG_SMTP_TLSLOCAL, "%s", msg);
	return smtp_fail(s, RG_SMTP_TLSFAIL, "%s", msg);
}

/* rg_smtp_starttls - RFC 3207: STARTTLS, 220, then the handshake */
enum rg_smtp_status
rg_smtp_starttls(struct rg_smtp *s, SSL_CTX *ctx, const char *sni,
    struct rg_smtp_reply *r)
{
	long long deadline;
	enum rg_smtp_status st;
	int ret;

	if ((st = rg_smtp_cmd(s, r, "STARTTLS")) != RG_SMTP_OK)
		return st;
	if (r->code != 220)
		return smtp_fail(s, RG_SMTP_PROTO, "STARTTLS refused: %d %s", r->code,
		    r->text);
	/* RFC 3207 s5: nothing sent before the handshake may be trusted */
	if (s->off != s->len) {
		s->dead = 1;
		return smtp_fail(s, RG_SMTP_PROTO, "the server sent data after its "
		    "220 to STARTTLS (command injection risk, CVE-2011-0411)");
	}
	ERR_clear_error();
	if ((s->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
		s->dead = 1;
		return smtp_fail(s, RG_SMTP_TLSLOCAL, "cannot set up a TLS session");
	}
	if (sni != NULL)
		SSL_set_tlsext_host_name(s->ssl, sni);
	deadline = smtp_now_ms() + s->timeout_ms;
	while ((ret = SSL_connect(s->ssl)) != 1) {
		int e = SSL_get_error(s->ssl, ret);

		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			st = smtp_wait(s, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
			    deadline);
			if (st != RG_SMTP_OK) {
				s->dead = 1;
				return st;
			}
			continue;
		}
		return smtp_tls_error(s, ret);
	}
	if (s->verbose)
		fprintf(stderr, "-- TLS: %s, %s\n", SSL_get_version(s->ssl),
		    SSL_get_cipher_name(s->ssl));
	return RG_SMTP_OK;
}

/* rg_smtp_tls_version - "TLSv1.3" and so on, or NULL */
const char *
rg_smtp_tls_version(const struct rg_smtp *s)
{
	return s->ssl != NULL && !s->dead ? SSL_get_version(s->ssl) : NULL;
}

/* rg_smtp_tls_cipher - OpenSSL's name of the cipher, or NULL */
const char *
rg_smtp_tls_cipher(const struct rg_smtp *s)
{
	return s->ssl != NULL && !s->dead ? SSL_get_cipher_name(s->ssl) : NULL;
}

/* rg_smtp_tls_bits - the cipher's secret bits, or 0 */
int
rg_smtp_tls_bits(const struct rg_smtp *s)
{
	return s->ssl != NULL && !s->dead ? SSL_get_cipher_bits(s->ssl, NULL) : 0;
}

/* rg_smtp_why - detail of the last failure */
const char *
rg_smtp_why(const struct rg_smtp *s)
{
	return s->why;
}

/* rg_smtp_peer - the address connected to */
const char *
rg_smtp_peer(const struct rg_smtp *s, int *family)
{
	if (family != NULL)
		*family = s->family;
	return s->peer;
}

/* rg_smtp_ext - an EHLO keyword (RFC 5321 s4.1.1.1), case-insensitive */
const char *
rg_smtp_ext(const struct rg_smtp_reply *r, const char *keyword, char *params,
    size_t size)
{
	const char *line = r->text, *nl;
	size_t klen = strlen(keyword);

	/* the first line is the greeting, not an extension */
	while ((nl = strchr(line, '\n')) != NULL) {
		line = nl + 1;
		if (strncasecmp(line, keyword, klen) != 0 ||
		    (line[klen] != ' ' && line[klen] != '\n' && line[klen] != '\0'))
			continue;
		line += klen;
		line += *line == ' ';
		nl = strchr(line, '\n');
		snprintf(params, size, "%.*s", (int)(nl ? nl - line : (long)strlen(line)),
		    line);
		return params;
	}
	return NULL;
}

/* rg_smtp_status_name - for messages */
const char *
rg_smtp_status_name(enum rg_smtp_status st)
{
	static const char *const names[] = {
		"ok", "timeout", "closed", "protocol error", "I/O error",
		"TLS handshake failed", "TLS not available locally",
	};

	if ((size_t)st < sizeof(names) / sizeof(names[0]))
		return names[st];
	return "?";
}
