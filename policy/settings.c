/*
 * settings.c - the list of parameter tables, and the daemon's own table
 *
 * Every module that has settings adds its table to rg_conf_sections; the
 * rows of the daemon's own settings (socket, user, logging, caps on what
 * the MTA may hand us) are here.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "settings.h"
#include "strutil.h"
#include "xalloc.h"

/*
 * rg_settings_check_socket - a libmilter socket spec: unix:/path (or
 * local:/path), inet:port@host, inet6:port@host; checked here so that
 * `relayguard -n` names the line instead of libmilter failing later.
 * Returns NULL when good, else a static description of the problem.
 */
const char *
rg_settings_check_socket(const char *v)
{
	const char *rest, *at;
	long long port;
	char num[8];

	if (strncmp(v, "unix:", 5) == 0 || strncmp(v, "local:", 6) == 0) {
		rest = strchr(v, ':') + 1;
		if (rest[0] != '/')
			return "unix socket path must be absolute";
		if (strlen(rest) >= 108)	/* sizeof(sun_path) on Linux */
			return "unix socket path too long";
		return NULL;
	}
	if (strncmp(v, "inet:", 5) != 0 && strncmp(v, "inet6:", 6) != 0)
		return "expected unix:/path, inet:port@host or inet6:port@host";
	rest = strchr(v, ':') + 1;
	at = strchr(rest, '@');
	if (at == NULL || at == rest || (size_t)(at - rest) >= sizeof(num) ||
	    at[1] == '\0')
		return "expected inet:port@host";
	memcpy(num, rest, (size_t)(at - rest));
	num[at - rest] = '\0';
	if (rg_str_parse_ll(num, &port) < 0 || port < 1 || port > 65535)
		return "bad port";
	return NULL;
}

static int
settings_parse_socket(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *v, void *dst)
{
	const char *why = rg_settings_check_socket(v);

	if (why != NULL) {
		rg_conf_perror(cx, "%s: %s: \"%s\"", p->name, why, v);
		return -1;
	}
	*(char **)dst = rg_xstrdup(v);
	return 0;
}

static void
settings_free_str(void *dst)
{
	free(*(char **)dst);
	*(char **)dst = NULL;
}

static const struct rg_ptype_ops settings_socket_ops = {
	settings_parse_socket, settings_free_str,
};

#define CORE(f) offsetof(struct rg_core_conf, f)

const struct rg_param rg_core_params[] = {
	RG_P_CUSTOM("socket", "inet:8894@127.0.0.1", &settings_socket_ops,
	    CORE(socket), RG_CF_RESTART,
	    "where the MTA connects: unix:/path, inet:port@host or inet6:port@host"),
	RG_P_STR("user", "nobody", CORE(user), RG_CF_RESTART,
	    "unprivileged user to run as after the socket is open (when started as root)"),
	RG_P_STR("socket_group", "", CORE(socket_group), RG_CF_RESTART,
	    "group owning a unix socket (the MTA's user must be in it); empty: the user's group"),
	RG_P_BOOL("allow_root", "no", CORE(allow_root), RG_CF_RESTART,
	    "permit running as root when user = root (not recommended)"),
	RG_P_STR("pidfile", "", CORE(pidfile), RG_CF_RESTART,
	    "file to write the process id to; empty: none"),
	RG_P_ENUM("log_target", "auto", "auto|syslog|stderr", CORE(log_target), 0,
	    "where log lines go; auto: stderr in the foreground (-f), syslog otherwise"),
	RG_P_ENUM("syslog_facility", "mail",
	    "mail|daemon|local0|local1|local2|local3|local4|local5|local6|local7",
	    CORE(syslog_facility), 0, "syslog facility"),
	RG_P_ENUM("log_level", "info", "alert|error|warning|notice|info|debug",
	    CORE(log_level), 0, "least severe level logged"),
	RG_P_ENUM("log_format", "kv", "kv|json", CORE(log_format), 0,
	    "summary line per message as key=value pairs or as one JSON object"),
	RG_P_LIST("debug_modules", "", CORE(debug_modules), 0,
	    "modules that log at debug level regardless of log_level, e.g. relay, spf, dns"),
	RG_P_TIME("milter_timeout", "300s", 1000, 86400000LL, CORE(milter_timeout),
	    RG_CF_RESTART, "how long libmilter waits for the MTA between commands"),
	RG_P_INT("socket_backlog", "128", 1, 65535, CORE(socket_backlog),
	    RG_CF_RESTART, "listen backlog of the milter socket"),
	RG_P_STR("authserv_id", "", CORE(authserv_id), 0,
	    "authserv-id of Authentication-Results; empty: the MTA's host name (macro j)"),
	RG_P_INT("max_headers", "1000", 10, 100000, CORE(max_headers), 0,
	    "header fields kept per message; further fields are counted, not kept"),
	RG_P_SIZE("max_header_bytes", "1m", 1024, 67108864, CORE(max_header_bytes), 0,
	    "header bytes kept per message; further bytes are counted, not kept"),
	RG_P_INT("max_recipients", "1000", 1, 100000, CORE(max_recipients), 0,
	    "recipients accepted per message; more get 452 4.5.3"),
	RG_P_END
};

const struct rg_conf_section rg_conf_sections[] = {
	{ "core", rg_core_params, offsetof(struct rg_conf, core), NULL },
	{ "relay", rg_relay_params, offsetof(struct rg_conf, relay), NULL },
	{ "spf", rg_spf_params, offsetof(struct rg_conf, spf), NULL },
	{ "dmarc", rg_dmarc_params, offsetof(struct rg_conf, dmarc), NULL },
	{ "dns", rg_dns_params, offsetof(struct rg_conf, dns), NULL },
	{ "dnsbl", rg_dnsbl_params, offsetof(struct rg_conf, dnsbl), NULL },
	{ "kv", rg_kv_params, offsetof(struct rg_conf, kv), rg_kv_conf_check },
	{ "mime", rg_mime_params, offsetof(struct rg_conf, mime), NULL },
	{ "uri", rg_uri_params, offsetof(struct rg_conf, uri), NULL },
	{ "dkim", rg_dkim_params, offsetof(struct rg_conf, dkim), rg_dkim_conf_check },
	{ "metrics", rg_metrics_params, offsetof(struct rg_conf, metrics),
	    rg_metrics_conf_check },
	{ "alert", rg_alert_params, offsetof(struct rg_conf, alert), NULL },
	{ "surbl", rg_surbl_params, offsetof(struct rg_conf, surbl), NULL },
	{ "content", rg_content_params, offsetof(struct rg_conf, content), NULL },
	{ "ratelimit", rg_ratelimit_params, offsetof(struct rg_conf, ratelimit),
	    NULL },
	{ "greylist", rg_greylist_params, offsetof(struct rg_conf, greylist),
	    rg_greylist_conf_check },
	{ "lockout", rg_lockout_params, offsetof(struct rg_conf, lockout), NULL },
	{ "admin", rg_admin_params, offsetof(struct rg_conf, admin), NULL },
	{ NULL, NULL, 0, NULL }
};

int
rg_settings_facility(int choice)
{
	static const int fac[] = {
		LOG_MAIL, LOG_DAEMON, LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2,
		LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7,
	};

	if (choice < 0 || choice >= (int)(sizeof(fac) / sizeof(fac[0])))
		return LOG_MAIL;
	return fac[choice];
}
