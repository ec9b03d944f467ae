/*
 * relayguardctl.c - the admin tool for relayguard's counter store
 *
 *   relayguardctl [-c FILE] COMMAND [ARG...]
 *
 * It reads the daemon's relayguard.conf to find the store. With
 * kv_backend = redis it talks to Redis itself (the same code as the
 * daemon: policy/kvadmin.c); with the memory store, whose counters live
 * in the daemon, it sends the command to the daemon's control_socket.
 * Without either it says so and exits 1. Exit status: 0 done, 1 failed or
 * not found, 2 usage or configuration error. See relayguardctl(8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../policy/conf.h"
#include "../policy/kvadmin.h"
#include "../policy/log.h"
#include "../policy/settings.h"
#include "../policy/strutil.h"

#ifndef RG_SYSCONFDIR
#define RG_SYSCONFDIR "/etc"
#endif
#define CTL_DEFAULT_CONF RG_SYSCONFDIR "/relayguard/relayguard.conf"
#define CTL_TIMEOUT	15	/* seconds for the daemon's answer */

/* ctl_usage - the usage message; exit 2 */
static void
ctl_usage(void)
{
	fprintf(stderr, "usage: relayguardctl [-c file] command [args]\n%s",
	    rg_kvadmin_usage());
	exit(2);
}

/* ctl_load - the configuration, or exit 2 with its errors */
static struct rg_conf *
ctl_load(const char *path)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c = rg_conf_load(path, &err, NULL);

	if (c == NULL) {
		fputs(rg_buf_cstr(&err), stderr);
		exit(2);
	}
	rg_buf_release(&err);
	return c;
}

/* ctl_direct - run the command on a store of our own (Redis) */
static int
ctl_direct(struct rg_conf *conf, int argc, char **argv)
{
	struct rg_buf why = RG_BUF_INIT, out = RG_BUF_INIT;
	struct rg_kv *kv = rg_kv_create(&conf->kv, &why);
	enum rg_kvadmin_status rc;

	if (kv == NULL) {
		fprintf(stderr, "relayguardctl: counter store: %s\n",
		    rg_buf_cstr(&why));
		return 1;
	}
	rc = rg_kvadmin_run(kv, conf, argc, argv, &out);
	fputs(rg_buf_cstr(&out), rc == RG_KVADMIN_OK ? stdout : stderr);
	rg_kv_free(kv);
	rg_buf_release(&out);
	rg_buf_release(&why);
	return (int)rc;
}

/* ctl_line - the command as one line; words may not hold white space */
static int
ctl_line(int argc, char **argv, char *line, size_t size)
{
	line[0] = '\0';
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] == '\0' || strpbrk(argv[i], " \t\r\n") != NULL) {
			fprintf(stderr, "relayguardctl: \"%s\": words with white "
			    "space cannot go over the control socket\n", argv[i]);
			return -1;
		}
		if ((i > 0 && rg_strlcat(line, " ", size) >= size) ||
		    rg_strlcat(line, argv[i], size) >= size) {
			fprintf(stderr, "relayguardctl: command too long\n");
			return -1;
		}
	}
	if (rg_strlcat(line, "\n", size) >= size)
		return -1;
	return 0;
}

/* ctl_connect - a connected socket to path, or -1 (reported) */
static int
ctl_connect(const char *path)
{
	struct timeval tv = { CTL_TIMEOUT, 0 };
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	rg_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "relayguardctl: control socket %s: %s (is "
		    "relayguard running?)\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* ctl_socket - send the command to the daemon, print its answer */
static int
ctl_socket(const char *path, int argc, char **argv)
{
	char line[RG_KVADMIN_LINE_MAX + 2], buf[4096];
	struct rg_buf in = RG_BUF_INIT;
	const char *body;
	ssize_t n;
	int fd, rc = 1;

	if (ctl_line(argc, argv, line, sizeof(line)) < 0)
		return 2;
	if ((fd = ctl_connect(path)) < 0)
		return 1;
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		fprintf(stderr, "relayguardctl: write: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		rg_buf_append(&in, buf, (size_t)n);
	close(fd);
	body = strchr(rg_buf_cstr(&in), '\n');
	if (sscanf(rg_buf_cstr(&in), "status %d", &rc) != 1 || body == NULL) {
		fprintf(stderr, "relayguardctl: no answer from %s%s%s\n", path,
		    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		rc = 1;
	} else {
		fputs(body + 1, rc == 0 ? stdout : stderr);
	}
	rg_buf_release(&in);
	return rc;
}

/* main - options, configuration, then Redis or the control socket */
int
main(int argc, char **argv)
{
	const char *path = CTL_DEFAULT_CONF;
	struct rg_conf *conf;
	int ch, rc;

	while ((ch = getopt(argc, argv, "c:h")) != -1) {
		if (ch == 'c')
			path = optarg;
		else
			ctl_usage();
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		ctl_usage();
	rg_log_open(RG_LOG_TO_STDERR, 0);
	rg_log_set_level(RG_LOG_ERR);
	conf = ctl_load(path);
	if (conf->kv.backend == RG_KV_BACKEND_REDIS)
		rc = ctl_direct(conf, argc, argv);
	else if (conf->admin.control_socket[0] != '\0')
		rc = ctl_socket(conf->admin.control_socket, argc, argv);
	else {
		fprintf(stderr, "relayguardctl: %s uses the memory store "
		    "(kv_backend = memory), which lives inside the daemon: set "
		    "control_socket there (and restart relayguard), or use "
		    "kv_backend = redis\n", path);
		rc = 1;
	}
	rg_conf_release(conf);
	return rc;
}
