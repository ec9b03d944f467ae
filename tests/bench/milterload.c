/*
 * milterload.c - load generator that speaks the milter protocol to a filter
 *
 * Talks to a milter's socket as an MTA does (protocol version 6, the wire
 * format of libmilter's mfdef.h: 4-byte big-endian length, 1-byte command,
 * payload): option negotiation, then per connection CONNECT and HELO, per
 * message MAIL, RCPT, DATA, each header, EOH, body chunks and end of
 * message, reading every reply the filter owes (the modifications such as
 * SMFIR_INSHEADER, then the final CONTINUE/ACCEPT/REJECT/...), then QUIT.
 * The flags the filter returns in negotiation are honoured: stages it
 * does not want are not sent, stages with no reply (SMFIP_NR_*) are not
 * waited for, and macro lists it asks for (SMFIR_SETSYMLIST) are what is
 * sent, like Postfix's milter8 client.
 *
 * Many sessions run in parallel, one thread each. The result is one line of
 * key=value pairs: messages per second, and the latency of each message
 * (from its first command to the final reply at end of message, including
 * connection set-up when the message opened the connection) at p50, p99,
 * p99.9 and max. -H holds many idle sessions open (for memory figures).
 * -W writes the generated test message to a file, for smtp-source -F.
 *
 * Single file, no project library; everything shared between threads is
 * read-only after start-up except the atomics in struct ml_stats.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

/* a reply larger than this is a broken filter (libmilter's own replies are
 * bounded by MILTER_MAX_DATA_SIZE plus header room) */
#define ML_MAX_REPLY	(1024 * 1024)
#define ML_RBUF		(64 * 1024)
#define ML_IO_TIMEOUT	30	/* seconds for any one read or write */
#define ML_STAGES	(SMFIM_LAST + 1)
#define ML_MAX_HOLD	100000

struct ml_opts {
	const char *socket;
	unsigned sessions, per_conn, rcpts, hold;
	size_t messages, size;
	double limit, hold_secs;
	const char *file, *write_to, *sender, *rcpt, *auth_user;
	int nodelay, strict, verbose, print_changes;
};

/* the message every session sends: header fields and a CRLF body */
struct ml_message {
	size_t nhdrs;
	char **names, **values;
	char *body;
	size_t body_len;
};

struct ml_stats {
	atomic_size_t next;		/* next message ticket */
	atomic_ulong proto;		/* SMFIP_* flags the filter negotiated */
	atomic_size_t accepted, refused, errors, hdr_changes, conns;
	atomic_int stop;
	atomic_int printed;		/* -p: one message's changes shown */
};

struct ml_conn {
	int fd;
	unsigned serial;
	unsigned long actions, proto;
	char *symlist[ML_STAGES];	/* filter's macro lists, or NULL */
	unsigned char *pend;		/* written, not yet sent (see ml_send) */
	size_t npend, pend_cap;
	unsigned char rbuf[ML_RBUF];
	size_t rpos, rlen;
	unsigned char *reply;		/* last reply's data */
	size_t reply_cap;
};

enum ml_result { ML_CONT, ML_ACCEPT, ML_REFUSE, ML_SKIP, ML_ERR };

static struct ml_opts opts = {
	.sessions = 10, .per_conn = 1, .rcpts = 1, .messages = 1000,
	.size = 1024, .limit = 600, .hold_secs = 5,
	.sender = "bench@sender.bench.example", .rcpt = "user@rcpt.bench.test",
};
static struct ml_message msg;
static struct ml_stats stats;
static double *latency;			/* microseconds, by ticket */
static struct timespec t_start;

static void ml_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ml_die - report a start-up error and exit */
static void
ml_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("milterload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* ml_warn - report a per-session problem when verbose */
static void __attribute__((format(printf, 2, 3)))
ml_warn(struct ml_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (!opts.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "milterload: session %u: ", c->serial);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static double
ml_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
ml_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		ml_die("out of memory (%zu bytes)", n);
	return p;
}

static char *
ml_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(ml_xmalloc(n), s, n);
}

/* ml_parse_size - "200", "20k", "10m" to bytes; 0 on error */
static size_t
ml_parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return 0;
	if (*end == 'k' || *end == 'K')
		v = v > SIZE_MAX / 1024 ? 0 : v * 1024, end++;
	else if (*end == 'm' || *end == 'M')
		v = v > SIZE_MAX / (1024 * 1024) ? 0 : v * 1024 * 1024, end++;
	return *end == '\0' ? (size_t)v : 0;
}

/* ml_parse_uint - a decimal count within [lo, hi], or die naming the option */
static unsigned long long
ml_parse_uint(int opt, const char *s, unsigned long long lo, unsigned long long hi)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		ml_die("-%c: want a number from %llu to %llu, not \"%s\"", opt, lo, hi, s);
	return v;
}

static void
ml_usage(void)
{
	fprintf(stderr,
	    "usage: milterload [options] unix:PATH | inet:PORT@HOST\n"
	    "       milterload -W FILE [-s size]     write the test message\n"
	    "  -c N     concurrent sessions (threads), default 10\n"
	    "  -n N     messages in all, default 1000\n"
	    "  -m N     messages per milter connection, default 1\n"
	    "  -r N     recipients per message, default 1\n"
	    "  -s SIZE  message size (header and body), e.g. 1k, 200k, 10m\n"
	    "  -F FILE  send this message (header, empty line, body) instead\n"
	    "  -f ADDR  sender; -t ADDR recipient; -a USER SASL login\n"
	    "  -H N     hold N idle sessions open for -w seconds (default 5)\n"
	    "  -N       TCP_NODELAY on the client side (Postfix does not set it)\n"
	    "  -T SECS  stop sending after this long (default 600)\n"
	    "  -x       exit 1 unless every message was accepted\n"
	    "  -p       print the header changes of one message (to check a filter)\n"
	    "  -v       say why sessions fail\n");
	exit(2);
}

static void
ml_parse_args(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "a:c:f:F:H:m:n:Npr:s:t:T:vw:W:x")) != -1) {
		switch (ch) {
		case 'a': opts.auth_user = optarg; break;
		case 'c': opts.sessions = (unsigned)ml_parse_uint(ch, optarg, 1, 10000); break;
		case 'f': opts.sender = optarg; break;
		case 'F': opts.file = optarg; break;
		case 'H': opts.hold = (unsigned)ml_parse_uint(ch, optarg, 1, ML_MAX_HOLD); break;
		case 'm': opts.per_conn = (unsigned)ml_parse_uint(ch, optarg, 1, UINT_MAX); break;
		case 'n': opts.messages = (size_t)ml_parse_uint(ch, optarg, 1, 100000000); break;
		case 'N': opts.nodelay = 1; break;
		case 'p': opts.print_changes = 1; break;
		case 'r': opts.rcpts = (unsigned)ml_parse_uint(ch, optarg, 1, 10000); break;
		case 's':
			if ((opts.size = ml_parse_size(optarg)) == 0)
				ml_die("-s: bad size \"%s\"", optarg);
			break;
		case 't': opts.rcpt = optarg; break;
		case 'T': opts.limit = (double)ml_parse_uint(ch, optarg, 1, 86400); break;
		case 'v': opts.verbose = 1; break;
		case 'w': opts.hold_secs = (double)ml_parse_uint(ch, optarg, 0, 86400); break;
		case 'W': opts.write_to = optarg; break;
		case 'x': opts.strict = 1; break;
		default: ml_usage();
		}
	}
	if (opts.write_to != NULL && optind == argc)
		return;
	if (optind != argc - 1)
		ml_usage();
	opts.socket = argv[optind];
}

/* ---------------------------------------------------------------- message */

static void
ml_add_header(const char *name, const char *value)
{
	msg.names = realloc(msg.names, (msg.nhdrs + 1) * sizeof(char *));
	msg.values = realloc(msg.values, (msg.nhdrs + 1) * sizeof(char *));
	if (msg.names == NULL || msg.values == NULL)
		ml_die("out of memory");
	msg.names[msg.nhdrs] = ml_xstrdup(name);
	msg.values[msg.nhdrs] = ml_xstrdup(value);
	msg.nhdrs++;
}

/* ml_body_line - line number n of the generated body; a few carry links */
static int
ml_body_line(char *line, size_t size, size_t n, size_t nlines)
{
	static const char *const hosts[] = { "www.example.com", "shop.example.net",
	    "news.example.org", "cdn.example.com", "track.example.net" };
	size_t every = nlines / 5 ? nlines / 5 : 1;

	if (n % every == every / 2 && n / every < 5)
		return snprintf(line, size, "Details at https://%s/bench/page-%zu?id=%zu"
		    " and nowhere else.", hosts[n / every], n, n * 7919);
	return snprintf(line, size, "Line %06zu of the benchmark message: the quick "
	    "brown fox jumps over the dog.", n);
}

/* ml_make_message - header fields like a client's, body up to opts.size */
static void
ml_make_message(void)
{
	char line[128];
	size_t hdr = 0, want, n = 0, nlines;
	int len;

	ml_add_header("From", "Bench Sender <bench@sender.bench.example>");
	ml_add_header("To", "<user@rcpt.bench.test>");
	ml_add_header("Subject", "relayguard benchmark message");
	ml_add_header("Date", "Thu, 01 Jan 2026 00:00:00 +0000");
	ml_add_header("Message-ID", "<bench.1@sender.bench.example>");
	ml_add_header("MIME-Version", "1.0");
	ml_add_header("Content-Type", "text/plain; charset=us-ascii");
	for (size_t i = 0; i < msg.nhdrs; i++)
		hdr += strlen(msg.names[i]) + strlen(msg.values[i]) + 4;
	want = opts.size > hdr + 2 ? opts.size - hdr - 2 : 80;
	nlines = want / 80 + 1;
	msg.body = ml_xmalloc(want + sizeof(line) + 2);
	while (msg.body_len < want) {
		len = ml_body_line(line, sizeof(line), n++, nlines);
		if (len < 0 || (size_t)len >= sizeof(line))
			ml_die("body line too long");
		memcpy(msg.body + msg.body_len, line, (size_t)len);
		msg.body_len += (size_t)len;
		memcpy(msg.body + msg.body_len, "\r\n", 2);
		msg.body_len += 2;
	}
}

/* ml_load_message - header and body from a file; LF or CRLF line ends */
static void
ml_load_message(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL, *name = NULL, *value = NULL;
	size_t cap = 0, bcap = 0;
	ssize_t n;
	int in_body = 0;

	if (fp == NULL)
		ml_die("%s: %s", path, strerror(errno));
	while ((n = getline(&line, &cap, fp)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (in_body) {
			if (msg.body_len + (size_t)n + 2 > bcap) {
				bcap = (bcap + (size_t)n + 2) * 2;
				if ((msg.body = realloc(msg.body, bcap)) == NULL)
					ml_die("out of memory");
			}
			memcpy(msg.body + msg.body_len, line, (size_t)n);
			memcpy(msg.body + msg.body_len + n, "\r\n", 2);
			msg.body_len += (size_t)n + 2;
		} else if ((line[0] == ' ' || line[0] == '\t') && value != NULL) {
			/* a folded line: the MTA passes the fold as CRLF WSP */
			size_t vl = strlen(value);

			if ((value = realloc(value, vl + (size_t)n + 3)) == NULL)
				ml_die("out of memory");
			snprintf(value + vl, (size_t)n + 3, "\r\n%s", line);
		} else {
			char *colon = strchr(line, ':');

			if (name != NULL)
				ml_add_header(name, value);
			free(name), free(value), name = value = NULL;
			if (n == 0) {
				in_body = 1;
				continue;
			}
			if (colon == NULL)
				ml_die("%s: not a header line: %s", path, line);
			*colon = '\0';
			name = ml_xstrdup(line);
			colon++;
			value = ml_xstrdup(colon + (*colon == ' '));
		}
	}
	if (name != NULL)
		ml_add_header(name, value);
	free(name), free(value), free(line);
	fclose(fp);
}

/* ml_write_message - the test message with LF line ends (smtp-source -F) */
static void
ml_write_message(const char *path)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		ml_die("%s: %s", path, strerror(errno));
	for (size_t i = 0; i < msg.nhdrs; i++)
		fprintf(fp, "%s: %s\n", msg.names[i], msg.values[i]);
	fputc('\n', fp);
	for (size_t i = 0; i < msg.body_len; i++)
		if (msg.body[i] != '\r')
			fputc(msg.body[i], fp);
	if (fclose(fp) != 0)
		ml_die("%s: %s", path, strerror(errno));
}

/* ---------------------------------------------------------------- wire */

/* ml_dial - connect to unix:PATH, local:PATH, inet:PORT@HOST, inet6:... */
static int
ml_dial(const char *spec)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	struct timeval tv = { .tv_sec = ML_IO_TIMEOUT };
	char host[256], port[16];
	const char *rest, *at;
	int fd, one = 1;

	if ((rest = strchr(spec, ':')) == NULL)
		ml_die("bad socket \"%s\"", spec);
	rest++;
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		if (strlen(rest) >= sizeof(sun.sun_path))
			ml_die("socket path too long: %s", rest);
		memcpy(sun.sun_path, rest, strlen(rest) + 1);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			return close(fd), -1;
	} else {
		if ((at = strchr(rest, '@')) == NULL || (size_t)(at - rest) >= sizeof(port) ||
		    strlen(at + 1) >= sizeof(host))
			ml_die("bad socket \"%s\" (want inet:PORT@HOST)", spec);
		memcpy(port, rest, (size_t)(at - rest));
		port[at - rest] = '\0';
		memcpy(host, at + 1, strlen(at + 1) + 1);
		hints.ai_family = strncmp(spec, "inet6:", 6) == 0 ? AF_INET6 : AF_INET;
		hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
		if (getaddrinfo(host, port, &hints, &ai) != 0)
			ml_die("bad address in \"%s\"", spec);
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
			close(fd), fd = -1;
		freeaddrinfo(ai);
		if (fd < 0)
			return -1;
		if (opts.nodelay)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* ml_queue - append one packet to what the next ml_send writes */
static void
ml_queue(struct ml_conn *c, char cmd, const void *data, size_t len)
{
	uint32_t nl = htonl((uint32_t)(len + 1));

	if (c->npend + len + 5 > c->pend_cap) {
		c->pend_cap = (c->npend + len + 5) * 2;
		if ((c->pend = realloc(c->pend, c->pend_cap)) == NULL)
			ml_die("out of memory");
	}
	memcpy(c->pend + c->npend, &nl, 4);
	c->pend[c->npend + 4] = (unsigned char)cmd;
	if (len)
		memcpy(c->pend + c->npend + 5, data, len);
	c->npend += len + 5;
}

/* ml_send - one command (length with the command byte, command, data),
 * in one write with what was queued before it (macros, commands that get
 * no reply), as Postfix's buffered stream does; it flushes when it waits
 * for a reply or for its SMTP client. cmd 0 writes only what is queued. */
static int
ml_send(struct ml_conn *c, char cmd, const void *data, size_t len)
{
	unsigned char hdr[MILTER_LEN_BYTES + 1];
	uint32_t nl = htonl((uint32_t)(len + 1));
	struct iovec iov[3] = { { c->pend, c->npend }, { hdr, sizeof(hdr) },
	    { (void *)data, len } };
	size_t left = c->npend + (cmd ? sizeof(hdr) + len : 0);
	int niov = cmd == 0 ? 1 : len ? 3 : 2;
	struct iovec *v = iov;

	memcpy(hdr, &nl, 4);
	hdr[4] = (unsigned char)cmd;
	c->npend = 0;
	while (left > 0) {
		ssize_t n = writev(c->fd, v, niov);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		left -= (size_t)n;
		while (niov > 0 && (size_t)n >= v->iov_len)
			n -= (ssize_t)v->iov_len, v++, niov--;
		if (niov > 0) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* ml_flush - send what is queued: Postfix's stream at the end of an
 * SMTP-stage event, before it waits for its client again */
static int
ml_flush(struct ml_conn *c)
{
	return c->npend ? ml_send(c, 0, NULL, 0) : 0;
}

/* ml_fill - read exactly len bytes through the session's buffer */
static int
ml_fill(struct ml_conn *c, unsigned char *dst, size_t len)
{
	while (len > 0) {
		if (c->rpos == c->rlen) {
			ssize_t n = read(c->fd, c->rbuf, sizeof(c->rbuf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			c->rpos = 0;
			c->rlen = (size_t)n;
		}
		size_t k = c->rlen - c->rpos < len ? c->rlen - c->rpos : len;

		memcpy(dst, c->rbuf + c->rpos, k);
		c->rpos += k, dst += k, len -= k;
	}
	return 0;
}

/* ml_recv - one reply; its data is in c->reply, NUL-terminated */
static int
ml_recv(struct ml_conn *c, char *cmd, size_t *len)
{
	unsigned char hdr[MILTER_LEN_BYTES + 1];
	uint32_t nl;

	if (ml_fill(c, hdr, sizeof(hdr)) < 0)
		return -1;
	memcpy(&nl, hdr, 4);
	nl = ntohl(nl);
	if (nl < 1 || nl > ML_MAX_REPLY)
		return ml_warn(c, "reply length %u", nl), -1;
	*cmd = (char)hdr[4];
	*len = nl - 1;
	if (*len + 1 > c->reply_cap) {
		free(c->reply);
		c->reply_cap = *len + 1;
		c->reply = ml_xmalloc(c->reply_cap);
	}
	if (ml_fill(c, c->reply, *len) < 0)
		return -1;
	c->reply[*len] = '\0';
	return 0;
}

/* ---------------------------------------------------------------- payloads */

struct ml_pl {
	char data[2048];
	size_t len;
};

/* ml_pl_put - append bytes; payloads here are small and fixed in shape */
static void
ml_pl_put(struct ml_pl *p, const void *s, size_t n)
{
	if (p->len + n > sizeof(p->data))
		ml_die("payload too large");
	memcpy(p->data + p->len, s, n);
	p->len += n;
}

static void
ml_pl_str(struct ml_pl *p, const char *s)
{
	ml_pl_put(p, s, strlen(s) + 1);
}

/* ml_macro_value - what an MTA would say for a macro, or NULL */
static const char *
ml_macro_value(const char *name, unsigned serial, size_t ticket, char *buf, size_t size)
{
	if (strcmp(name, "j") == 0)
		return "mx.relayguard.test";
	if (strcmp(name, "_") == 0)
		return snprintf(buf, size, "client.bench.test [192.0.2.%u]",
		    1 + serial % 254), buf;
	if (strcmp(name, "daemon_name") == 0)
		return "smtpd";
	if (strcmp(name, "daemon_addr") == 0)
		return "127.0.0.1";
	if (strcmp(name, "client_addr") == 0)
		return snprintf(buf, size, "192.0.2.%u", 1 + serial % 254), buf;
	if (strcmp(name, "client_name") == 0)
		return "client.bench.test";
	if (strcmp(name, "client_port") == 0)
		return snprintf(buf, size, "%u", 10000 + serial % 50000), buf;
	if (strcmp(name, "v") == 0)
		return "Postfix 3.7";
	if (strcmp(name, "i") == 0)
		return snprintf(buf, size, "4B%08zX", ticket), buf;
	if (strcmp(name, "auth_type") == 0 && opts.auth_user)
		return "PLAIN";
	if (strcmp(name, "auth_authen") == 0)
		return opts.auth_user;
	if (strcmp(name, "mail_addr") == 0)
		return opts.sender;
	if (strcmp(name, "rcpt_addr") == 0)
		return opts.rcpt;
	if (strcmp(name, "rcpt_host") == 0) {
		const char *at = strrchr(opts.rcpt, '@');

		return at ? at + 1 : NULL;
	}
	if (strcmp(name, "mail_mailer") == 0 || strcmp(name, "rcpt_mailer") == 0)
		return "smtp";
	return NULL;
}

/* the macros an MTA sends by default, per SMFIM_* stage (Postfix's lists) */
static const char *const ml_default_macros[ML_STAGES] = {
	[SMFIM_CONNECT] = "j {daemon_name} {daemon_addr} {client_addr} {client_name} {client_port} v _",
	[SMFIM_HELO] = "",
	[SMFIM_ENVFROM] = "i {auth_type} {auth_authen} {mail_addr} {mail_mailer}",
	[SMFIM_ENVRCPT] = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
	[SMFIM_DATA] = "i",
	[SMFIM_EOM] = "i",
	[SMFIM_EOH] = "i",
};

/* ml_macros - queue SMFIC_MACRO for a stage: the filter's list, else the
 * default; ml_send writes it with the stage's command */
static int
ml_macros(struct ml_conn *c, int stage, char cmd, size_t ticket)
{
	const char *list = c->symlist[stage] ? c->symlist[stage] : ml_default_macros[stage];
	char copy[512], bare[64], wire[68], val[128], *save = NULL;
	struct ml_pl p = { .len = 0 };

	if (snprintf(copy, sizeof(copy), "%s", list) >= (int)sizeof(copy))
		return -1;
	ml_pl_put(&p, &cmd, 1);
	for (char *w = strtok_r(copy, " ,", &save); w; w = strtok_r(NULL, " ,", &save)) {
		size_t n = strlen(w);
		const char *v;

		if (w[0] == '{' && n > 2 && w[n - 1] == '}')
			snprintf(bare, sizeof(bare), "%.*s", (int)(n - 2), w + 1);
		else
			snprintf(bare, sizeof(bare), "%s", w);
		if ((v = ml_macro_value(bare, c->serial, ticket, val, sizeof(val))) == NULL)
			continue;
		/* as Postfix sends them: one-letter names bare, longer ones {braced} */
		snprintf(wire, sizeof(wire), strlen(bare) > 1 ? "{%s}" : "%s", bare);
		ml_pl_str(&p, wire);
		ml_pl_str(&p, v);
	}
	ml_queue(c, SMFIC_MACRO, p.data, p.len);
	return 0;
}

/* ml_final - map a final reply code to a result */
static enum ml_result
ml_final(struct ml_conn *c, char cmd)
{
	switch (cmd) {
	case SMFIR_CONTINUE:
		return ML_CONT;
	case SMFIR_ACCEPT:
		return ML_ACCEPT;
	case SMFIR_SKIP:
		return ML_SKIP;
	case SMFIR_REJECT: case SMFIR_TEMPFAIL: case SMFIR_DISCARD:
	case SMFIR_REPLYCODE:
		return ML_REFUSE;
	default:
		ml_warn(c, "unexpected reply '%c'", cmd);
		return ML_ERR;
	}
}

/* ml_print_change - -p: one header change as "+ Name: value" (added or
 * inserted) or "~ Name: value" (changed), into out */
static void
ml_print_change(struct ml_conn *c, char r, size_t rl, char *out, size_t size)
{
	const char *d = (const char *)c->reply;
	size_t skip = r == SMFIR_ADDHEADER ? 0 : 4, used = strlen(out);
	const char *name, *value;

	if (rl <= skip || used >= size)
		return;
	name = d + skip;
	value = name + strnlen(name, rl - skip) + 1;
	if (value >= d + rl)
		return;
	snprintf(out + used, size - used, "%c %s:%s\n",
	    r == SMFIR_CHGHEADER ? '~' : '+', name, value);
}

/* ml_stage - send a command and, unless it has no reply, wait for the
 * final one; at end of message, count the modifications before it */
static enum ml_result
ml_stage(struct ml_conn *c, char cmd, const void *data, size_t len, unsigned long nr)
{
	char r, changes[8192] = "";
	size_t rl;

	if (nr && (c->proto & nr)) {
		/* no reply: stays in the buffer unless that is full */
		ml_queue(c, cmd, data, len);
		if (c->npend >= ML_RBUF && ml_flush(c) < 0)
			return ml_warn(c, "write '%c': %s", cmd, strerror(errno)), ML_ERR;
		return ML_CONT;
	}
	if (ml_send(c, cmd, data, len) < 0)
		return ml_warn(c, "write '%c': %s", cmd, strerror(errno)), ML_ERR;
	for (;;) {
		if (ml_recv(c, &r, &rl) < 0)
			return ml_warn(c, "read after '%c': %s", cmd, strerror(errno)), ML_ERR;
		if (r == SMFIR_PROGRESS)
			continue;
		if (cmd == SMFIC_BODYEOB && strchr("hime+-2bql", r) != NULL) {
			if (r == SMFIR_ADDHEADER || r == SMFIR_INSHEADER ||
			    r == SMFIR_CHGHEADER) {
				atomic_fetch_add(&stats.hdr_changes, 1);
				if (opts.print_changes)
					ml_print_change(c, r, rl, changes, sizeof(changes));
			}
			continue;
		}
		if (opts.print_changes && cmd == SMFIC_BODYEOB &&
		    atomic_exchange(&stats.printed, 1) == 0)
			fputs(changes, stdout);
		return ml_final(c, r);
	}
}

/* ml_negotiate - SMFIC_OPTNEG: offer what Postfix offers, keep the answer */
static int
ml_negotiate(struct ml_conn *c)
{
	uint32_t v[3] = { htonl(SMFI_PROT_VERSION), htonl(SMFI_CURR_ACTS),
	    htonl(SMFI_CURR_PROT & ~(SMFIP_RCPT_REJ)) };
	size_t rl, off = MILTER_OPTLEN;
	char r;

	if (ml_send(c, SMFIC_OPTNEG, v, sizeof(v)) < 0 || ml_recv(c, &r, &rl) < 0)
		return ml_warn(c, "negotiation: %s", strerror(errno)), -1;
	if (r != SMFIC_OPTNEG || rl < MILTER_OPTLEN)
		return ml_warn(c, "negotiation: reply '%c' of %zu bytes", r, rl), -1;
	memcpy(v, c->reply, sizeof(v));
	c->actions = ntohl(v[1]);
	c->proto = ntohl(v[2]);
	atomic_store(&stats.proto, c->proto);
	/* SMFIR_SETSYMLIST data: (uint32 stage, "names\0")* */
	while (off + 4 < rl) {
		uint32_t st;
		size_t n;

		memcpy(&st, c->reply + off, 4);
		st = ntohl(st);
		off += 4;
		n = strnlen((char *)c->reply + off, rl - off);
		if (st < ML_STAGES) {
			free(c->symlist[st]);
			c->symlist[st] = ml_xmalloc(n + 1);
			memcpy(c->symlist[st], c->reply + off, n);
			c->symlist[st][n] = '\0';
		}
		off += n + 1;
	}
	return 0;
}

/* ml_open - connect, negotiate, CONNECT and HELO; ML_CONT when usable */
static enum ml_result
ml_open(struct ml_conn *c)
{
	struct ml_pl p = { .len = 0 };
	char addr[32], fam = SMFIA_INET;
	uint16_t port = htons((uint16_t)(10000 + c->serial % 50000));
	enum ml_result r = ML_CONT;

	if ((c->fd = ml_dial(opts.socket)) < 0)
		return ml_warn(c, "connect %s: %s", opts.socket, strerror(errno)), ML_ERR;
	atomic_fetch_add(&stats.conns, 1);
	if (ml_negotiate(c) < 0)
		return ML_ERR;
	snprintf(addr, sizeof(addr), "192.0.2.%u", 1 + c->serial % 254);
	ml_pl_str(&p, "client.bench.test");
	ml_pl_put(&p, &fam, 1);
	ml_pl_put(&p, &port, 2);
	ml_pl_str(&p, addr);
	if (!(c->proto & SMFIP_NOCONNECT)) {
		if (ml_macros(c, SMFIM_CONNECT, SMFIC_CONNECT, 0) < 0)
			return ML_ERR;
		r = ml_stage(c, SMFIC_CONNECT, p.data, p.len, SMFIP_NR_CONN);
		if (r == ML_CONT && ml_flush(c) < 0)
			r = ML_ERR;
	}
	if (r == ML_CONT && !(c->proto & SMFIP_NOHELO)) {
		if (ml_macros(c, SMFIM_HELO, SMFIC_HELO, 0) < 0)
			return ML_ERR;
		r = ml_stage(c, SMFIC_HELO, "client.bench.test", 18, SMFIP_NR_HELO);
		if (r == ML_CONT && ml_flush(c) < 0)
			r = ML_ERR;
	}
	return r;
}

/* ml_close - QUIT and close */
static void
ml_close(struct ml_conn *c)
{
	if (c->fd >= 0) {
		(void)ml_send(c, SMFIC_QUIT, NULL, 0);
		close(c->fd);
	}
	c->fd = -1;
	c->rpos = c->rlen = c->npend = 0;
	for (int i = 0; i < ML_STAGES; i++)
		free(c->symlist[i]), c->symlist[i] = NULL;
}

/* ml_envelope - MAIL and the RCPTs of one message */
static enum ml_result
ml_envelope(struct ml_conn *c, size_t ticket)
{
	struct ml_pl p = { .len = 0 };
	char addr[512];
	enum ml_result r = ML_CONT;

	if (!(c->proto & SMFIP_NOMAIL)) {
		snprintf(addr, sizeof(addr), "<%s>", opts.sender);
		ml_pl_str(&p, addr);
		if (ml_macros(c, SMFIM_ENVFROM, SMFIC_MAIL, ticket) < 0)
			return ML_ERR;
		r = ml_stage(c, SMFIC_MAIL, p.data, p.len, SMFIP_NR_MAIL);
		if (r == ML_CONT && ml_flush(c) < 0)
			r = ML_ERR;
	}
	for (unsigned i = 0; r == ML_CONT && i < opts.rcpts && !(c->proto & SMFIP_NORCPT); i++) {
		if (i == 0)
			snprintf(addr, sizeof(addr), "<%s>", opts.rcpt);
		else
			snprintf(addr, sizeof(addr), "<r%u.%s>", i, opts.rcpt);
		p.len = 0;
		ml_pl_str(&p, addr);
		if (ml_macros(c, SMFIM_ENVRCPT, SMFIC_RCPT, ticket) < 0)
			return ML_ERR;
		r = ml_stage(c, SMFIC_RCPT, p.data, p.len, SMFIP_NR_RCPT);
		if (r == ML_CONT && ml_flush(c) < 0)
			r = ML_ERR;
	}
	if (r == ML_CONT) {
		if (ml_macros(c, SMFIM_DATA, SMFIC_DATA, ticket) < 0)
			return ML_ERR;
		/* Postfix 3.7 sends the DATA macros even to a filter that
		 * skips DATA, alone, then waits for the client's message */
		if (!(c->proto & SMFIP_NODATA))
			r = ml_stage(c, SMFIC_DATA, NULL, 0, SMFIP_NR_DATA);
		if (r == ML_CONT && ml_flush(c) < 0)
			r = ML_ERR;
	}
	return r;
}

/* ml_headers - the Received field the MTA adds, the message's, then EOH */
static enum ml_result
ml_headers(struct ml_conn *c, size_t ticket)
{
	char recv[512], *buf = NULL;
	size_t cap = 0;
	enum ml_result r = ML_CONT;
	const char *lead = (c->proto & SMFIP_HDR_LEADSPC) ? " " : "";

	snprintf(recv, sizeof(recv), "from client.bench.test (client.bench.test "
	    "[192.0.2.%u])\r\n\tby mx.relayguard.test (Postfix) with ESMTP id "
	    "4B%08zX\r\n\tfor <%s>; Thu, 01 Jan 2026 00:00:00 +0000",
	    1 + c->serial % 254, ticket, opts.rcpt);
	for (size_t i = 0; r == ML_CONT && i <= msg.nhdrs && !(c->proto & SMFIP_NOHDRS); i++) {
		const char *n = i ? msg.names[i - 1] : "Received";
		const char *v = i ? msg.values[i - 1] : recv;
		size_t nl = strlen(n) + 1, vl = strlen(v) + 1 + strlen(lead);

		if (nl + vl > cap) {
			free(buf);
			cap = nl + vl;
			buf = ml_xmalloc(cap);
		}
		memcpy(buf, n, nl);
		snprintf(buf + nl, vl, "%s%s", lead, v);
		r = ml_stage(c, SMFIC_HEADER, buf, nl + vl, SMFIP_NR_HDR);
	}
	free(buf);
	if (r == ML_CONT && !(c->proto & SMFIP_NOEOH)) {
		if (ml_macros(c, SMFIM_EOH, SMFIC_EOH, ticket) < 0)
			return ML_ERR;
		r = ml_stage(c, SMFIC_EOH, NULL, 0, SMFIP_NR_EOH);
	}
	return r;
}

/* ml_message - one transaction; ML_CONT means accepted at end of message */
static enum ml_result
ml_message(struct ml_conn *c, size_t ticket)
{
	enum ml_result r = ml_envelope(c, ticket);

	if (r == ML_CONT)
		r = ml_headers(c, ticket);
	for (size_t off = 0; r == ML_CONT && off < msg.body_len &&
	    !(c->proto & SMFIP_NOBODY); off += MILTER_CHUNK_SIZE) {
		size_t n = msg.body_len - off < MILTER_CHUNK_SIZE ?
		    msg.body_len - off : MILTER_CHUNK_SIZE;

		r = ml_stage(c, SMFIC_BODY, msg.body + off, n, SMFIP_NR_BODY);
	}
	if (r == ML_SKIP)
		r = ML_CONT;
	if (r == ML_CONT) {
		if (ml_macros(c, SMFIM_EOM, SMFIC_BODYEOB, ticket) < 0)
			return ML_ERR;
		r = ml_stage(c, SMFIC_BODYEOB, NULL, 0, 0);
		return r == ML_ACCEPT ? ML_CONT : r;
	}
	/* refused or accepted before the end: the MTA ends the transaction */
	if (r != ML_ERR && ml_send(c, SMFIC_ABORT, NULL, 0) < 0)
		return ML_ERR;
	return r == ML_ACCEPT ? ML_CONT : r;
}

/* ---------------------------------------------------------------- runs */

/* ml_count - tally one message's outcome */
static void
ml_count(enum ml_result r)
{
	if (r == ML_CONT)
		atomic_fetch_add(&stats.accepted, 1);
	else if (r == ML_REFUSE)
		atomic_fetch_add(&stats.refused, 1);
	else
		atomic_fetch_add(&stats.errors, 1);
}

/* ml_ticket - the next message to send, or SIZE_MAX when done */
static size_t
ml_ticket(void)
{
	size_t t;

	if (atomic_load(&stats.stop) || ml_now() - ((double)t_start.tv_sec +
	    (double)t_start.tv_nsec / 1e9) > opts.limit)
		return SIZE_MAX;
	t = atomic_fetch_add(&stats.next, 1);
	return t < opts.messages ? t : SIZE_MAX;
}

static void *
ml_worker(void *arg)
{
	struct ml_conn *c = ml_xmalloc(sizeof(*c));
	size_t t;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->serial = (unsigned)(uintptr_t)arg;
	while ((t = ml_ticket()) != SIZE_MAX) {
		double t0 = ml_now();
		enum ml_result r = ml_open(c);

		for (unsigned k = 0; ; k++) {
			int opened = r == ML_CONT;

			if (opened)
				r = ml_message(c, t);
			latency[t] = (ml_now() - t0) * 1e6;
			ml_count(r);
			/* a refused connection or a broken one carries no more */
			if (!opened || r == ML_ERR || k + 1 >= opts.per_conn ||
			    (t = ml_ticket()) == SIZE_MAX)
				break;
			r = ML_CONT;
			t0 = ml_now();
		}
		ml_close(c);
		c->serial += opts.sessions;
	}
	free(c->reply);
	free(c->pend);
	free(c);
	return NULL;
}

static int
ml_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ml_pct - the q quantile of n sorted values (nearest rank) */
static double
ml_pct(const double *v, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.999999);

	return n == 0 ? 0 : v[k == 0 ? 0 : k - 1 < n ? k - 1 : n - 1];
}

static int
ml_run(void)
{
	pthread_t *tid = ml_xmalloc(opts.sessions * sizeof(*tid));
	size_t done;
	double secs;

	latency = ml_xmalloc(opts.messages * sizeof(double));
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	for (unsigned i = 0; i < opts.sessions; i++)
		if (pthread_create(&tid[i], NULL, ml_worker, (void *)(uintptr_t)i) != 0)
			ml_die("cannot start thread %u", i);
	for (unsigned i = 0; i < opts.sessions; i++)
		pthread_join(tid[i], NULL);
	secs = ml_now() - ((double)t_start.tv_sec + (double)t_start.tv_nsec / 1e9);
	done = atomic_load(&stats.accepted) + atomic_load(&stats.refused) +
	    atomic_load(&stats.errors);
	qsort(latency, done, sizeof(double), ml_cmp);
	printf("messages=%zu accepted=%zu refused=%zu errors=%zu hdr_changes=%zu "
	    "connections=%zu sessions=%u size=%zu seconds=%.3f msgs_per_s=%.1f "
	    "p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f proto=0x%lx\n",
	    done, atomic_load(&stats.accepted), atomic_load(&stats.refused),
	    atomic_load(&stats.errors), atomic_load(&stats.hdr_changes),
	    atomic_load(&stats.conns), opts.sessions,
	    msg.body_len, secs, (double)done / secs,
	    ml_pct(latency, done, 0.50) / 1e3, ml_pct(latency, done, 0.99) / 1e3,
	    ml_pct(latency, done, 0.999) / 1e3,
	    done ? latency[done - 1] / 1e3 : 0.0, atomic_load(&stats.proto));
	free(tid);
	if (atomic_load(&stats.errors) > 0 || done < opts.messages)
		return 1;
	return opts.strict && atomic_load(&stats.accepted) != done ? 1 : 0;
}

/* ml_hold - open opts.hold sessions up to HELO, idle, then QUIT them all */
static int
ml_hold(void)
{
	struct ml_conn **cs = ml_xmalloc(opts.hold * sizeof(*cs));
	struct rlimit rl;
	unsigned open = 0;
	struct timespec ts;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < opts.hold + 64) {
		rl.rlim_cur = rl.rlim_max < opts.hold + 64 ? rl.rlim_max : opts.hold + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (unsigned i = 0; i < opts.hold; i++) {
		cs[i] = ml_xmalloc(sizeof(**cs));
		memset(cs[i], 0, sizeof(**cs));
		cs[i]->serial = i;
		if (ml_open(cs[i]) != ML_CONT) {
			fprintf(stderr, "milterload: session %u of %u failed\n", i + 1, opts.hold);
			free(cs[i]);
			break;
		}
		open++;
	}
	printf("holding=%u\n", open);
	fflush(stdout);
	ts.tv_sec = (time_t)opts.hold_secs;
	ts.tv_nsec = 0;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	for (unsigned i = 0; i < open; i++) {
		ml_close(cs[i]);
		free(cs[i]->reply);
		free(cs[i]->pend);
		free(cs[i]);
	}
	free(cs);
	return open == opts.hold ? 0 : 1;
}

int
main(int argc, char **argv)
{
	ml_parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (opts.file)
		ml_load_message(opts.file);
	else
		ml_make_message();
	if (opts.write_to) {
		ml_write_message(opts.write_to);
		return 0;
	}
	if (opts.hold)
		return ml_hold();
	return ml_run();
}
