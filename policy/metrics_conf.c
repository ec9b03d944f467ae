/*
 * metrics_conf.c - relayguard.conf parameters of the metrics endpoint
 *
 * Public: rg_metrics_params[] (listed in settings.c),
 * rg_metrics_conf_check() and rg_metrics_parse_listen(). metrics_listen
 * takes an address literal and a port ("127.0.0.1:9324", "[::1]:9324"),
 * never a host name, so that what is checked for loopback is what the
 * server binds. A non-loopback address is refused unless
 * metrics_allow_remote = yes; the check runs after the whole file is read
 * (the two may come in any order) and names the line of metrics_listen.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "strutil.h"
#include "xalloc.h"

#define MCONF_HOST_MAX	64	/* textual IPv6 with room to spare */

/* mconf_port - "1".."65535" to a number, else -1 */
static int
mconf_port(const char *s)
{
	long long v;

	if (rg_str_parse_ll(s, &v) < 0 || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

/* mconf_is_loopback - 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104 */
static int
mconf_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (IN6_IS_ADDR_LOOPBACK(a))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
}

/* mconf_split - host and port of "host:port" or "[host]:port" */
static const char *
mconf_split(const char *v, char *host, size_t size, const char **port)
{
	const char *end, *colon;

	if (v[0] == '[') {
		if ((end = strchr(v, ']')) == NULL || end[1] != ':')
			return "expected [address]:port";
		v++;
		colon = end + 1;
	} else {
		colon = strrchr(v, ':');
		if (colon == NULL)
			return "expected address:port";
		if (memchr(v, ':', (size_t)(colon - v)) != NULL)
			return "write an IPv6 address in brackets: [::1]:9324";
		end = colon;
	}
	if (end == v || (size_t)(end - v) >= size)
		return "expected address:port";
	memcpy(host, v, (size_t)(end - v));
	host[end - v] = '\0';
	*port = colon + 1;
	return NULL;
}

/* rg_metrics_parse_listen - fill l (not text, file, line) from v */
const char *
rg_metrics_parse_listen(const char *v, struct rg_metrics_listen *l)
{
	char host[MCONF_HOST_MAX];
	const char *port, *why;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&l->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&l->sa;
	int p;

	memset(&l->sa, 0, sizeof(l->sa));
	if ((why = mconf_split(v, host, sizeof(host), &port)) != NULL)
		return why;
	if ((p = mconf_port(port)) < 0)
		return "bad port (1 to 65535)";
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1 && v[0] != '[') {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		l->salen = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1 && v[0] == '[') {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		l->salen = sizeof(*s6);
	} else {
		return "expected an IP address, not a host name";
	}
	l->loopback = mconf_is_loopback(&l->sa);
	l->set = 1;
	return NULL;
}

static int
mconf_parse_listen(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *v, void *dst)
{
	struct rg_metrics_listen *l = dst;
	const char *why, *file;
	int line;

	if (*v == '\0')
		return 0;
	if ((why = rg_metrics_parse_listen(v, l)) != NULL) {
		rg_conf_perror(cx, "%s: %s: \"%s\"", p->name, why, v);
		return -1;
	}
	rg_conf_where(cx, &file, &line);
	l->text = rg_xstrdup(v);
	l->file = rg_xstrdup(file);
	l->line = line;
	return 0;
}

static void
mconf_free_listen(void *dst)
{
	struct rg_metrics_listen *l = dst;

	free(l->text);
	free(l->file);
	memset(l, 0, sizeof(*l));
}

static const struct rg_ptype_ops mconf_listen_ops = {
	mconf_parse_listen, mconf_free_listen,
};

/* rg_metrics_conf_check - metrics are refused beyond loopback by default */
int
rg_metrics_conf_check(struct rg_conf_ctx *cx, void *modconf)
{
	const struct rg_metrics_conf *mc = modconf;

	if (!mc->listen.set || mc->listen.loopback || mc->allow_remote)
		return 0;
	rg_conf_error(cx, mc->listen.file, mc->listen.line, "metrics_listen: "
	    "%s is not a loopback address; set metrics_allow_remote = yes to "
	    "serve metrics to other hosts", mc->listen.text);
	return -1;
}

#define MCONF(f) offsetof(struct rg_metrics_conf, f)

const struct rg_param rg_metrics_params[] = {
	RG_P_CUSTOM("metrics_listen", "", &mconf_listen_ops, MCONF(listen),
	    RG_CF_RESTART,
	    "address:port of the Prometheus endpoint (127.0.0.1:9324, [::1]:9324); empty: off"),
	RG_P_BOOL("metrics_allow_remote", "no", MCONF(allow_remote), RG_CF_RESTART,
	    "allow a metrics_listen address other than loopback"),
	RG_P_END
};
