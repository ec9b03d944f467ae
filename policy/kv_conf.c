/*
 * kv_conf.c - relayguard.conf parameters of the counter store (section kv)
 *
 * Public: rg_kv_params[] (listed in settings.c) and rg_kv_conf_check().
 * redis_server is parsed here ("host:port", "[v6]:port", "unix:/path") so
 * `relayguard -n` names the line. redis_password is RG_CF_SECRET, so
 * `relayguard -d` masks it; redis_password_file is read when the
 * configuration is loaded (as root at start-up, as the unprivileged user
 * at reload) and refused when others may read it. Its contents are never
 * logged or dumped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kv.h"
#include "strutil.h"
#include "xalloc.h"

#define KV_SECRET_MAX	1024	/* bytes read from redis_password_file */
#define KV_UNIX_PATH_MAX 108	/* sizeof(sun_path) on Linux */

/* kvc_parse_port - 1..65535; -1 otherwise */
static int
kvc_parse_port(const char *s)
{
	long long v;

	if (rg_str_parse_ll(s, &v) < 0 || v < 1 || v > 65535)
		return -1;
	return (int)v;
}

/* kvc_parse_server - unix:/path, [v6]:port, host:port or host */
static int
kvc_parse_server(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *v, void *dst)
{
	struct rg_kv_server *s = dst;
	const char *colon, *host = v, *end;

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] != '/' || strlen(v + 5) >= KV_UNIX_PATH_MAX) {
			rg_conf_perror(cx, "%s: unix socket path must be "
			    "absolute and shorter than %d bytes: \"%s\"",
			    p->name, KV_UNIX_PATH_MAX, v);
			return -1;
		}
		s->path = rg_xstrdup(v + 5);
		return 0;
	}
	if (v[0] == '[') {
		host = v + 1;
		if ((end = strchr(host, ']')) == NULL ||
		    (end[1] != '\0' && end[1] != ':')) {
			rg_conf_perror(cx, "%s: expected [address]:port, "
			    "not \"%s\"", p->name, v);
			return -1;
		}
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strchr(v, ':');
		end = colon ? colon : v + strlen(v);
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			rg_conf_perror(cx, "%s: write an IPv6 address in "
			    "brackets: [%s]:6379", p->name, v);
			return -1;
		}
	}
	s->port = colon ? kvc_parse_port(colon + 1) : 6379;
	if (end == host || s->port < 0) {
		rg_conf_perror(cx, "%s: expected host:port or unix:/path, "
		    "not \"%s\"", p->name, v);
		return -1;
	}
	s->host = rg_xstrndup(host, (size_t)(end - host));
	return 0;
}

static void
kvc_free_server(void *dst)
{
	struct rg_kv_server *s = dst;

	free(s->host);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

/* kvc_read_secret - the first line of fd, without its line end */
static int
kvc_read_secret(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

/* kvc_parse_secret - a file only its owner (and group) may read */
static int
kvc_parse_secret(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *v, void *dst)
{
	struct rg_kv_secret *s = dst;
	char buf[KV_SECRET_MAX + 1];
	struct stat st;
	int fd, rc;

	if (*v == '\0')
		return 0;
	if (v[0] != '/') {
		rg_conf_perror(cx, "%s: path must be absolute: \"%s\"",
		    p->name, v);
		return -1;
	}
	if ((fd = open(v, O_RDONLY | O_NOCTTY | O_NONBLOCK)) < 0 ||
	    fstat(fd, &st) < 0) {
		rg_conf_perror(cx, "%s: %s: %s", p->name, v, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & S_IRWXO) != 0) {
		rg_conf_perror(cx, "%s: %s: %s", p->name, v,
		    S_ISREG(st.st_mode) ? "others may read or write it "
		    "(chmod o-rwx)" : "not a regular file");
		close(fd);
		return -1;
	}
	rc = kvc_read_secret(fd, buf, sizeof(buf));
	close(fd);
	if (rc < 0 || buf[0] == '\0') {
		rg_conf_perror(cx, "%s: %s: %s", p->name, v,
		    rc < 0 ? "read error" : "empty first line");
		return -1;
	}
	s->path = rg_xstrdup(v);
	s->value = rg_xstrdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static void
kvc_free_secret(void *dst)
{
	struct rg_kv_secret *s = dst;

	free(s->path);
	if (s->value != NULL) {
		explicit_bzero(s->value, strlen(s->value));
		free(s->value);
	}
	memset(s, 0, sizeof(*s));
}

/* kvc_parse_prefix - printable, no white space, RG_KV_PREFIX_MAX bytes */
static int
kvc_parse_prefix(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *v, void *dst)
{
	if (strlen(v) > RG_KV_PREFIX_MAX) {
		rg_conf_perror(cx, "%s: longer than %d bytes", p->name,
		    RG_KV_PREFIX_MAX);
		return -1;
	}
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f) {
			rg_conf_perror(cx, "%s: white space or control "
			    "character in \"%s\"", p->name, v);
			return -1;
		}
	*(char **)dst = rg_xstrdup(v);
	return 0;
}

static void
kvc_free_str(void *dst)
{
	free(*(char **)dst);
	*(char **)dst = NULL;
}

static const struct rg_ptype_ops kvc_server_ops = {
	.parse = kvc_parse_server, .free = kvc_free_server,
};
static const struct rg_ptype_ops kvc_secret_ops = {
	.parse = kvc_parse_secret, .free = kvc_free_secret,
};
static const struct rg_ptype_ops kvc_prefix_ops = {
	.parse = kvc_parse_prefix, .free = kvc_free_str,
};

#define KV(f) offsetof(struct rg_kv_conf, f)
#define KV_R RG_CF_RESTART

const struct rg_param rg_kv_params[] = {
	RG_P_ENUM("kv_backend", "memory", "memory|redis", KV(backend), KV_R,
	    "counter store: memory (this process only) or redis (shared by all MTA hosts)"),
	RG_P_INT("kv_mem_max_entries", "100000", 100, 100000000,
	    KV(mem_max_entries), KV_R,
	    "entries the memory store holds; at the cap those closest to expiry are evicted"),
	RG_P_CUSTOM("redis_server", "127.0.0.1:6379", &kvc_server_ops,
	    KV(redis_server), KV_R, "Redis server: host:port, [address]:port or unix:/path"),
	RG_P_STR("redis_password", "", KV(redis_password), KV_R | RG_CF_SECRET,
	    "password for Redis AUTH; empty: none"),
	RG_P_CUSTOM("redis_password_file", "", &kvc_secret_ops,
	    KV(redis_password_file), KV_R,
	    "file whose first line is the Redis password; refused if others may read it"),
	RG_P_INT("redis_database", "0", 0, 65535, KV(redis_database), KV_R,
	    "Redis database number (SELECT)"),
	RG_P_CUSTOM("redis_prefix", "rg:", &kvc_prefix_ops, KV(redis_prefix), KV_R,
	    "prefix of every key relayguard writes to Redis"),
	RG_P_TIME("redis_connect_timeout", "500ms", 10, 60000,
	    KV(redis_connect_timeout), KV_R,
	    "time allowed to connect to Redis and log in"),
	RG_P_TIME("redis_command_timeout", "200ms", 10, 60000,
	    KV(redis_command_timeout), KV_R,
	    "time allowed for one Redis operation"),
	RG_P_TIME("redis_reconnect_delay", "1s", 10, 3600000,
	    KV(redis_reconnect_delay), KV_R,
	    "wait after a Redis failure before the next connection attempt; doubles per failure"),
	RG_P_TIME("redis_reconnect_max_delay", "30s", 10, 3600000,
	    KV(redis_reconnect_max_delay), KV_R,
	    "longest wait between Redis connection attempts"),
	RG_P_ENUM("redis_failure_mode", "open", "open|tempfail",
	    KV(redis_failure_mode), 0,
	    "when the counter store fails: open (skip the limit) or tempfail (451 4.7.0)"),
	RG_P_END
};

/* rg_kv_conf_check - settings that only make sense together */
int
rg_kv_conf_check(struct rg_conf_ctx *cx, void *modconf)
{
	const struct rg_kv_conf *kc = modconf;
	int rc = 0;

	if (kc->redis_password[0] != '\0' && kc->redis_password_file.value) {
		rg_conf_perror(cx, "redis_password and redis_password_file are "
		    "both set; keep one");
		rc = -1;
	}
	if (kc->redis_reconnect_max_delay < kc->redis_reconnect_delay) {
		rg_conf_perror(cx, "redis_reconnect_max_delay is shorter than "
		    "redis_reconnect_delay");
		rc = -1;
	}
	return rc;
}
