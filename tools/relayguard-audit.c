/*
 * relayguard-audit.c - an admin's self-audit of a mail server
 *
 *   relayguard-audit [options] [host[:port]]
 *
 * Runs the relay-abuse battery at RCPT against the server (never DATA),
 * probes its STARTTLS, and checks the SPF, DMARC and DKIM records of the
 * domains given, then prints one report: text, or one JSON object with
 * --json. Exit status: 0 nothing wrong; 1 an open relay, or an SPF or
 * DMARC record missing or broken, or a DKIM selector that does not
 * resolve to a usable key (any FAIL note); 2 a usage error, or a check
 * that could not run (no connection, DNS failure) when nothing failed.
 * relayguard-audit(8) is the manual. The parts are in tools/audit/.
 *
 * Single-threaded, except for the resolver's own threads (policy/dns.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../policy/conf.h"
#include "../policy/dns.h"
#include "../policy/log.h"
#include "../policy/settings.h"
#include "../policy/strutil.h"
#include "../policy/xalloc.h"
#include "audit/audit.h"
#include "audit/battery.h"
#include "audit/dnscheck.h"
#include "audit/session.h"
#include "audit/tlsprobe.h"

#define AUDIT_EXIT_OK		0
#define AUDIT_EXIT_FOUND	1	/* a FAIL note */
#define AUDIT_EXIT_ERROR	2	/* usage, or an ERROR note and no FAIL */
#define AUDIT_TIMEOUT_S		30	/* per SMTP step; RFC 5321 s4.5.3.2 allows minutes */
#define AUDIT_LIST_MAX		(1024 * 1024)	/* bytes of a --battery file */
#define AUDIT_DEFAULT_FOREIGN	"example.com"

struct audit_opts {
	char host[256];
	char port[16];
	const char *local, *foreign, *relay, *sender, *helo, *xclient;
	const char *battery, *config;
	struct rg_strlist dns, domains, selectors;
	int json, no_tls, no_smtp, verbose;
	long long timeout_ms;
};

struct audit_run {
	struct rg_audit_battery battery;
	struct rg_audit_tls tls;
	struct rg_audit_domain *domains;
	size_t ndomains;
	struct rg_audit_notes notes;	/* the audit's own (resolver, setup) */
};

static const struct option audit_longopts[] = {
	{ "local-domain", required_argument, NULL, 'l' },
	{ "foreign-domain", required_argument, NULL, 'f' },
	{ "relay-domain", required_argument, NULL, 'r' },
	{ "sender", required_argument, NULL, 'S' },
	{ "helo", required_argument, NULL, 'H' },
	{ "xclient", required_argument, NULL, 'x' },
	{ "battery", required_argument, NULL, 'b' },
	{ "domain", required_argument, NULL, 'd' },
	{ "selector", required_argument, NULL, 's' },
	{ "dns", required_argument, NULL, 'D' },
	{ "config", required_argument, NULL, 'c' },
	{ "timeout", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	{ "no-tls", no_argument, NULL, 'T' },
	{ "no-smtp", no_argument, NULL, 'N' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* audit_usage - the synopsis; exits with status */
static void __attribute__((noreturn))
audit_usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: relayguard-audit [options] [host[:port]]   (default 127.0.0.1:25)\n"
	    "  -l, --local-domain D    your domain, for the relay battery (default: first -d)\n"
	    "  -f, --foreign-domain D  the foreign domain of the attacks (default %s)\n"
	    "  -r, --relay-domain D    a domain you relay for (default: the local domain)\n"
	    "  -S, --sender ADDR       MAIL FROM of the battery (default relayguard-audit@FOREIGN)\n"
	    "  -H, --helo NAME         EHLO name (default: this host's name)\n"
	    "  -x, --xclient ADDR      present this client address with XCLIENT (Postfix)\n"
	    "  -b, --battery FILE      a relay-abuse list instead of the built-in one\n"
	    "      --no-tls            no STARTTLS, no TLS probes\n"
	    "      --no-smtp           DNS checks only\n"
	    "  -d, --domain D          check SPF and DMARC of D (repeatable)\n"
	    "  -s, --selector S        check the DKIM key S._domainkey.D (repeatable)\n"
	    "      --dns ADDR[@PORT]   DNS server to ask (repeatable; default resolv.conf)\n"
	    "  -c, --config FILE       take dns_servers from this relayguard.conf\n"
	    "  -t, --timeout SECONDS   per SMTP step (default %d)\n"
	    "      --json              one JSON object instead of text\n"
	    "  -v, --verbose           the SMTP dialogue on stderr\n"
	    "exit: 0 clean, 1 problem found, 2 usage error or could not check\n",
	    AUDIT_DEFAULT_FOREIGN, AUDIT_TIMEOUT_S);
	exit(status);
}

/* audit_die - a usage error */
static void __attribute__((noreturn, format(printf, 1, 2)))
audit_die(const char *fmt, ...)
{
	va_list ap;

	fputs("relayguard-audit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(AUDIT_EXIT_ERROR);
}

/* audit_push - append to a string list */
static void
audit_push(struct rg_strlist *l, const char *v)
{
	l->v = rg_xreallocarray(l->v, l->n + 1, sizeof(char *));
	l->v[l->n++] = rg_xstrdup(v);
}

/* audit_target - host, host:port, [v6]:port, or a bare IPv6 address */
static void
audit_target(struct audit_opts *o, const char *arg)
{
	const char *colon = strrchr(arg, ':'), *port = "25";
	size_t hlen = strlen(arg);

	if (arg[0] == '[') {
		const char *end = strchr(arg, ']');

		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			audit_die("bad server \"%s\": expected [address]:port", arg);
		if (end[1] == ':')
			port = end + 2;
		arg++;
		hlen = (size_t)(end - arg);
	} else if (colon != NULL && strchr(arg, ':') == colon) {
		port = colon + 1;
		hlen = (size_t)(colon - arg);
	}
	if (hlen == 0 || hlen >= sizeof(o->host) || port[0] == '\0' ||
	    rg_strlcpy(o->port, port, sizeof(o->port)) >= sizeof(o->port))
		audit_die("bad server \"%s\"", arg);
	memcpy(o->host, arg, hlen);
	o->host[hlen] = '\0';
}

/* audit_domain_arg - a domain name on the command line */
static const char *
audit_domain_arg(const char *opt, const char *v)
{
	if (!rg_dns_name_valid(v) || strchr(v, '@') != NULL || v[0] == '.')
		audit_die("%s: \"%s\" is not a domain name", opt, v);
	return v;
}

/* audit_dns_arg - addr or addr@port, as dns_servers takes it */
static void
audit_dns_arg(struct audit_opts *o, const char *v)
{
	char addr[64];
	unsigned char bin[16];
	const char *at = strchr(v, '@');
	size_t n = at ? (size_t)(at - v) : strlen(v);
	long long port = 53;

	if (n == 0 || n >= sizeof(addr))
		audit_die("--dns: bad server \"%s\"", v);
	memcpy(addr, v, n);
	addr[n] = '\0';
	if ((inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1) ||
	    (at != NULL && (rg_str_parse_ll(at + 1, &port) < 0 || port < 1 ||
	    port > 65535)))
		audit_die("--dns: expected an IP address or address@port, not \"%s\"", v);
	audit_push(&o->dns, v);
}

/* audit_option - one option; 0, or -1 when it was not one of ours */
static int
audit_option(struct audit_opts *o, int c, const char *arg)
{
	long long secs;

	switch (c) {
	case 'l': o->local = audit_domain_arg("--local-domain", arg); break;
	case 'f': o->foreign = audit_domain_arg("--foreign-domain", arg); break;
	case 'r': o->relay = audit_domain_arg("--relay-domain", arg); break;
	case 'S': o->sender = arg; break;
	case 'H': o->helo = audit_domain_arg("--helo", arg); break;
	case 'x': o->xclient = arg; break;
	case 'b': o->battery = arg; break;
	case 'd': audit_push(&o->domains, audit_domain_arg("--domain", arg)); break;
	case 's': audit_push(&o->selectors, arg); break;
	case 'D': audit_dns_arg(o, arg); break;
	case 'c': o->config = arg; break;
	case 'j': o->json = 1; break;
	case 'T': o->no_tls = 1; break;
	case 'N': o->no_smtp = 1; break;
	case 'v': o->verbose = 1; break;
	case 't':
		if (rg_str_parse_ll(arg, &secs) < 0 || secs < 1 || secs > 3600)
			audit_die("--timeout: expected 1 to 3600 seconds, not \"%s\"", arg);
		o->timeout_ms = secs * 1000;
		break;
	default:
		return -1;
	}
	return 0;
}

/* audit_check_opts - what the options need from each other */
static void
audit_check_opts(struct audit_opts *o)
{
	char xc[512];

	if (o->no_smtp && o->domains.n == 0)
		audit_die("nothing to do: --no-smtp and no --domain");
	if (o->selectors.n > 0 && o->domains.n == 0)
		audit_die("--selector needs a --domain");
	for (size_t i = 0; i < o->selectors.n; i++)
		if (!rg_dns_name_valid(o->selectors.v[i]) || o->selectors.v[i][0] == '.')
			audit_die("--selector: \"%s\" is not a selector", o->selectors.v[i]);
	if (o->local == NULL && o->domains.n > 0)
		o->local = o->domains.v[0];
	if (!o->no_smtp && o->local == NULL)
		audit_die("the relay battery needs --local-domain (or a --domain), "
		    "or use --no-smtp");
	if (o->foreign == NULL)
		o->foreign = AUDIT_DEFAULT_FOREIGN;
	if (o->local != NULL && strcasecmp(o->local, o->foreign) == 0)
		audit_die("--foreign-domain must differ from the local domain");
	if (o->xclient != NULL && rg_audit_xclient_attrs(o->xclient, NULL, xc,
	    sizeof(xc)) < 0)
		audit_die("--xclient: expected an address or ATTR=VALUE pairs");
	if (o->sender != NULL && (strpbrk(o->sender, "<> \t\r\n") != NULL ||
	    strlen(o->sender) > 256))
		audit_die("--sender: expected a bare address, not \"%s\"", o->sender);
}

/* audit_parse - the command line into o */
static void
audit_parse(struct audit_opts *o, int argc, char **argv)
{
	int c;

	memset(o, 0, sizeof(*o));
	rg_strlcpy(o->host, "127.0.0.1", sizeof(o->host));
	rg_strlcpy(o->port, "25", sizeof(o->port));
	o->timeout_ms = AUDIT_TIMEOUT_S * 1000LL;
	while ((c = getopt_long(argc, argv, "l:f:r:S:H:x:b:d:s:c:t:vVh",
	    audit_longopts, NULL)) != -1) {
		if (c == 'h')
			audit_usage(stdout, AUDIT_EXIT_OK);
		if (c == 'V') {
			printf("relayguard-audit %s\n", RG_VERSION);
			exit(AUDIT_EXIT_OK);
		}
		if (audit_option(o, c, optarg) < 0)
			audit_usage(stderr, AUDIT_EXIT_ERROR);
	}
	if (argc - optind > 1)
		audit_die("one server at a time");
	if (optind < argc)
		audit_target(o, argv[optind]);
	audit_check_opts(o);
}

/* audit_load_battery - the built-in list, or --battery FILE */
static void
audit_load_battery(const struct audit_opts *o, struct rg_audit_battery *b)
{
	char why[512];
	struct rg_buf text = RG_BUF_INIT;
	FILE *fp;
	size_t n;
	char chunk[4096];

	if (o->battery == NULL) {
		if (rg_audit_battery_parse(b, (const char *)rg_audit_battery_data,
		    rg_audit_battery_size, "built-in list", why, sizeof(why)) < 0)
			audit_die("%s", why);
		return;
	}
	if ((fp = fopen(o->battery, "r")) == NULL)
		audit_die("%s: %s", o->battery, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (text.len + n > AUDIT_LIST_MAX)
			audit_die("%s: larger than %d bytes", o->battery, AUDIT_LIST_MAX);
		rg_buf_append(&text, chunk, n);
	}
	fclose(fp);
	if (rg_audit_battery_parse(b, text.data ? text.data : "", text.len,
	    o->battery, why, sizeof(why)) < 0)
		audit_die("%s", why);
	rg_buf_release(&text);
}

/* audit_smtp - the battery, then the STARTTLS probes */
static void
audit_smtp(const struct audit_opts *o, struct audit_run *run)
{
	struct rg_audit_target t;
	struct rg_audit_subst sub = { o->local, o->foreign, o->relay, NULL, NULL };
	char helo[256] = "localhost", sender[300], why[256];

	if (o->helo != NULL)
		rg_strlcpy(helo, o->helo, sizeof(helo));
	else if (gethostname(helo, sizeof(helo)) < 0 || helo[0] == '\0')
		rg_strlcpy(helo, "localhost", sizeof(helo));
	helo[sizeof(helo) - 1] = '\0';
	snprintf(sender, sizeof(sender), "%s", o->sender ? o->sender : "");
	if (o->sender == NULL)
		snprintf(sender, sizeof(sender), "relayguard-audit@%s", o->foreign);
	memset(&t, 0, sizeof(t));
	t.host = o->host;
	t.port = o->port;
	t.timeout_ms = o->timeout_ms;
	t.verbose = o->verbose;
	t.helo = helo;
	t.xclient = o->xclient;
	if (!o->no_tls && (t.tls = rg_audit_tls_ctx(0, why, sizeof(why))) == NULL)
		rg_audit_note(&run->notes, RG_AUDIT_ERROR, "%s", why);
	rg_audit_battery_run(&run->battery, &t, !o->no_tls, sender, &sub);
	rg_audit_battery_judge(&run->battery);
	if (!o->no_tls && run->battery.sessions > 0)
		rg_audit_tls_run(&t, &run->tls);
	SSL_CTX_free(t.tls);
}

/* audit_error - an ERROR note from a message that may span lines */
static void
audit_error(struct audit_run *run, const char *prefix, struct rg_buf *msg)
{
	char *p;

	while (msg->len > 0 && msg->data[msg->len - 1] == '\n')
		rg_buf_truncate(msg, msg->len - 1);
	for (p = msg->data; p != NULL && (p = strchr(p, '\n')) != NULL; p++)
		*p = ';';
	rg_audit_note(&run->notes, RG_AUDIT_ERROR, "%s%s", prefix, rg_buf_cstr(msg));
}

/* audit_resolver - relayguard's resolver: -c's dns_servers, --dns, or resolv.conf */
static struct rg_dns *
audit_resolver(const struct audit_opts *o, struct audit_run *run,
    long long *timeout_ms)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *conf = rg_conf_load(o->config, &err, NULL);
	struct rg_dns *dns = NULL;

	if (conf == NULL) {
		audit_error(run, "", &err);
		rg_buf_release(&err);
		return NULL;
	}
	if (o->dns.n > 0) {
		rg_strlist_free(&conf->dns.servers);
		for (size_t i = 0; i < o->dns.n; i++)
			audit_push(&conf->dns.servers, o->dns.v[i]);
	}
	*timeout_ms = conf->dns.timeout;
	if ((dns = rg_dns_open(conf, &err)) == NULL)
		audit_error(run, "resolver: ", &err);
	rg_conf_release(conf);
	rg_buf_release(&err);
	return dns;
}

/* audit_dns - every domain's checks */
static void
audit_dns(const struct audit_opts *o, struct audit_run *run)
{
	long long timeout_ms = 5000;
	struct rg_dns *dns = audit_resolver(o, run, &timeout_ms);

	if (dns == NULL)
		return;
	run->domains = rg_xcalloc(o->domains.n, sizeof(*run->domains));
	run->ndomains = o->domains.n;
	for (size_t i = 0; i < o->domains.n; i++)
		rg_audit_domain_check(dns, timeout_ms, o->domains.v[i],
		    o->selectors.v, o->selectors.n, &run->domains[i]);
	rg_dns_close(dns);
}

/* audit_count - notes of one severity over the whole run */
static size_t
audit_count(const struct audit_run *run, enum rg_audit_sev sev)
{
	size_t n = rg_audit_notes_count(&run->notes, sev) +
	    rg_audit_notes_count(&run->battery.notes, sev) +
	    rg_audit_notes_count(&run->tls.notes, sev);

	for (size_t i = 0; i < run->ndomains; i++)
		n += rg_audit_domain_count(&run->domains[i], sev);
	return n;
}

/* audit_report - the whole report; returns the exit status */
static int
audit_report(const struct audit_opts *o, const struct audit_run *run)
{
	size_t fails = audit_count(run, RG_AUDIT_FAIL);
	size_t errors = audit_count(run, RG_AUDIT_ERROR);
	size_t warns = audit_count(run, RG_AUDIT_WARN);
	int status = fails ? AUDIT_EXIT_FOUND : errors ? AUDIT_EXIT_ERROR : AUDIT_EXIT_OK;
	struct rg_audit_out out;
	char server[300];

	snprintf(server, sizeof(server), "%s%s%s:%s", strchr(o->host, ':') ? "[" : "",
	    o->host, strchr(o->host, ':') ? "]" : "", o->port);
	rg_audit_out_init(&out, stdout, o->json);
	rg_audit_out_begin(&out, NULL, NULL);
	rg_audit_out_text(&out, "relayguard-audit %s", RG_VERSION);
	rg_audit_out_str(&out, "version", NULL, RG_VERSION);
	rg_audit_out_str(&out, "server", o->no_smtp ? NULL : "server",
	    o->no_smtp ? NULL : server);
	if (run->battery.peer[0] != '\0')
		rg_audit_out_str(&out, "server_address", "server address", run->battery.peer);
	rg_audit_out_notes(&out, &run->notes);
	if (!o->no_smtp) {
		rg_audit_battery_print(&out, &run->battery);
		if (run->tls.ran)
			rg_audit_tls_print(&out, &run->tls);
	}
	rg_audit_out_array(&out, "domains");
	for (size_t i = 0; i < run->ndomains; i++)
		rg_audit_domain_print(&out, &run->domains[i]);
	rg_audit_out_array_end(&out);
	rg_audit_out_begin(&out, "summary", NULL);
	rg_audit_out_int(&out, "fail", NULL, (long long)fails);
	rg_audit_out_int(&out, "error", NULL, (long long)errors);
	rg_audit_out_int(&out, "warn", NULL, (long long)warns);
	rg_audit_out_int(&out, "exit", NULL, status);
	rg_audit_out_end(&out);
	rg_audit_out_text(&out, "%s", "");
	rg_audit_out_text(&out, "Summary: %zu problem(s), %zu error(s), %zu "
	    "warning(s); exit status %d", fails, errors, warns, status);
	rg_audit_out_end(&out);
	fflush(stdout);
	return status;
}

/* audit_free - release everything the run holds */
static void
audit_free(struct audit_opts *o, struct audit_run *run)
{
	rg_audit_battery_release(&run->battery);
	rg_audit_tls_release(&run->tls);
	for (size_t i = 0; i < run->ndomains; i++)
		rg_audit_domain_release(&run->domains[i]);
	free(run->domains);
	rg_audit_notes_release(&run->notes);
	rg_strlist_free(&o->dns);
	rg_strlist_free(&o->domains);
	rg_strlist_free(&o->selectors);
}

/* main - options, the SMTP checks, the DNS checks, the report */
int
main(int argc, char **argv)
{
	struct audit_opts o;
	struct audit_run run;
	int status;

	signal(SIGPIPE, SIG_IGN);
	rg_log_open(RG_LOG_TO_STDERR, 0);
	rg_log_set_level(RG_LOG_ERR);
	audit_parse(&o, argc, argv);
	memset(&run, 0, sizeof(run));
	if (!o.no_smtp)
		audit_load_battery(&o, &run.battery);
	if (!o.no_smtp)
		audit_smtp(&o, &run);
	if (o.domains.n > 0)
		audit_dns(&o, &run);
	status = audit_report(&o, &run);
	audit_free(&o, &run);
	return status;
}
