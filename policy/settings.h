/*
 * settings.h - the configuration snapshot as modules see it
 *
 * struct rg_conf gathers every module's settings; each module reads only
 * its own part (conf->core, conf->relay, ...) and never writes it. The
 * tables that fill each part are listed in settings.c, one per module.
 */
#ifndef RG_SETTINGS_H
#define RG_SETTINGS_H

#include <stdatomic.h>

#include "conf.h"
#include "content.h"
#include "dmarc.h"
#include "dkim.h"
#include "relay.h"
#include "spf.h"
#include "surbl.h"
#include "dns.h"
#include "dnsbl.h"
#include "kv.h"
#include "mime.h"
#include "uri.h"
#include "metrics.h"
#include "alert.h"
#include "ratelimit.h"
#include "greylist.h"
#include "lockout.h"
#include "blocklist.h"

enum rg_log_target_choice { RG_LT_AUTO, RG_LT_SYSLOG, RG_LT_STDERR };
enum rg_log_format_choice { RG_LF_KV, RG_LF_JSON };

/* core: the daemon itself (read by milter/main.c and the logger) */
struct rg_core_conf {
	char *socket;
	char *user;
	char *socket_group;
	int allow_root;
	char *pidfile;
	int log_target;
	int syslog_facility;
	int log_level;
	int log_format;
	struct rg_strlist debug_modules;
	long long milter_timeout;
	int socket_backlog;
	char *authserv_id;
	long long max_headers;
	long long max_header_bytes;
	long long max_recipients;
};

struct rg_conf {
	/* bookkeeping, owned by conf.c */
	atomic_int refs;
	unsigned long generation;
	char *path;
	char **raw;		/* value text per parameter, by global index */
	unsigned char *isset;	/* set in the file, not defaulted */

	struct rg_core_conf core;
	struct rg_relay_conf relay;
	struct rg_spf_conf spf;
	struct rg_dmarc_conf dmarc;
	struct rg_dns_conf dns;
	struct rg_dnsbl_conf dnsbl;
	struct rg_kv_conf kv;
	struct rg_mime_conf mime;
	struct rg_uri_conf uri;
	struct rg_dkim_conf dkim;
	struct rg_metrics_conf metrics;
	struct rg_alert_conf alert;
	struct rg_surbl_conf surbl;
	struct rg_content_conf content;
	struct rg_ratelimit_conf ratelimit;
	struct rg_greylist_conf greylist;
	struct rg_lockout_conf lockout;
	struct rg_admin_conf admin;
};

extern const struct rg_conf_section rg_conf_sections[];
extern const struct rg_param rg_core_params[];

/* rg_settings_check_socket - NULL if a socket spec is good, else why not */
const char *rg_settings_check_socket(const char *spec);

/* syslog facility choices in the order of core.syslog_facility */
int rg_settings_facility(int choice);

#endif
