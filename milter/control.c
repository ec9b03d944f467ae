/*
 * control.c - the control socket (see control.h)
 *
 * Protocol, one exchange per connection:
 *   client: COMMAND [ARG...] LF        (words separated by spaces; at most
 *                                       RG_KVADMIN_LINE_MAX bytes)
 *   server: "status N" LF, then the command's output; then it closes.
 * N is the exit status relayguardctl passes on (0 done, 1 failed or not
 * found, 2 usage). Commands are those of policy/kvadmin.c, run on the
 * daemon's own store, and each is logged with the peer's uid. The thread
 * polls with a short timeout so that rg_control_stop is prompt; cs_stop is
 * atomic, the rest belongs to the thread.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../policy/buf.h"
#include "../policy/conf.h"
#include "../policy/kvadmin.h"
#include "../policy/log.h"
#include "../policy/settings.h"
#include "../policy/strutil.h"
#include "control.h"

#define CS_POLL_MS	500	/* how soon a stop is noticed */

static atomic_int cs_stop;
static int cs_fd = -1, cs_running;
static char cs_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static pthread_t cs_tid;
static struct rg_kv *cs_kv;

/* cs_addr - the socket address of path, or rg_fatal */
static socklen_t
cs_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (rg_strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path))
		rg_fatal("control_socket %s: path too long", path);
	return (socklen_t)sizeof(*sun);
}

/* cs_unlink_stale - remove a socket nobody listens on; fatal if in use */
static void
cs_unlink_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) != 0)
		return;
	if (!S_ISSOCK(st.st_mode))
		rg_fatal("control_socket %s exists and is not a socket", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		int live = connect(fd, (const struct sockaddr *)sun,
		    sizeof(*sun)) == 0;

		close(fd);
		if (live)
			rg_fatal("control_socket %s is in use by another "
			    "process", path);
	}
	(void)unlink(path);
}

/* cs_give - the socket to the user the daemon runs as, mode 0600 */
static void
cs_give(const char *path, const char *user)
{
	struct passwd pw, *pwp = NULL;
	char buf[4096];

	if (chmod(path, 0600) < 0)
		rg_fatal("control_socket %s: chmod: %s", path, strerror(errno));
	if (geteuid() != 0 || user == NULL || *user == '\0' ||
	    strcmp(user, "root") == 0)
		return;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL)
		rg_fatal("unknown user \"%s\"", user);
	if (chown(path, pw.pw_uid, pw.pw_gid) < 0)
		rg_fatal("control_socket %s: chown: %s", path, strerror(errno));
}

/* rg_control_open - bind the control socket (start-up, maybe as root) */
int
rg_control_open(const char *path, const char *user)
{
	struct sockaddr_un sun;
	socklen_t len = cs_addr(path, &sun);
	mode_t old;
	int fd;

	cs_unlink_stale(path, &sun);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		rg_fatal("control_socket: socket: %s", strerror(errno));
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, len) < 0 || listen(fd, 8) < 0)
		rg_fatal("control_socket %s: %s", path, strerror(errno));
	umask(old);
	cs_give(path, user);
	rg_strlcpy(cs_path, path, sizeof(cs_path));
	return fd;
}

/* cs_peer_ok - root, or the user the daemon runs as */
static int
cs_peer_ok(int fd, uid_t *uid)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0)
		return 0;
	*uid = cr.uid;
	return cr.uid == 0 || cr.uid == geteuid();
}

/* cs_read_line - one line (without LF) within the socket's timeout */
static int
cs_read_line(int fd, char *line, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < size) {
		r = read(fd, line + n, size - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n += (size_t)r;
		line[n] = '\0';
		if (strchr(line, '\n') != NULL) {
			line[strcspn(line, "\r\n")] = '\0';
			return 0;
		}
	}
	return -1;
}

/* cs_write_all - the whole buffer, or give up at the timeout */
static void
cs_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* cs_run - split the line into words and run the command */
static int
cs_run(char *line, struct rg_buf *out)
{
	char *argv[RG_KVADMIN_ARGS_MAX + 1], *save = NULL;
	int argc = 0, rc;
	struct rg_conf *conf;

	for (char *w = strtok_r(line, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save)) {
		if (argc == RG_KVADMIN_ARGS_MAX) {
			rg_buf_puts(out, "too many words\n");
			return RG_KVADMIN_USAGE;
		}
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if ((conf = rg_conf_acquire()) == NULL) {
		rg_buf_puts(out, "no configuration loaded\n");
		return RG_KVADMIN_FAIL;
	}
	rc = (int)rg_kvadmin_run(cs_kv, conf, argc, argv, out);
	rg_conf_release(conf);
	return rc;
}

/* cs_serve - one client: a line in, the status and output back */
static void
cs_serve(int fd)
{
	struct timeval tv = { RG_CONTROL_TIMEOUT, 0 };
	struct rg_buf out = RG_BUF_INIT;
	char line[RG_KVADMIN_LINE_MAX + 2], head[32], cmd[128];
	uid_t uid = (uid_t)-1;
	int rc;

	if (!cs_peer_ok(fd, &uid)) {
		rg_log_warn("control: refused a client with uid %ld", (long)uid);
		return;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (cs_read_line(fd, line, sizeof(line)) < 0) {
		rg_log_warn("control: no command line within %ds or too long",
		    RG_CONTROL_TIMEOUT);
		return;
	}
	rg_strlcpy(cmd, line, sizeof(cmd));
	rc = cs_run(line, &out);
	rg_log_notice("control: \"%s\" from uid %ld: status %d", cmd, (long)uid,
	    rc);
	snprintf(head, sizeof(head), "status %d\n", rc);
	cs_write_all(fd, head, strlen(head));
	cs_write_all(fd, rg_buf_cstr(&out), out.len);
	rg_buf_release(&out);
}

/* cs_thread - accept and serve until told to stop */
static void *
cs_thread(void *arg)
{
	struct pollfd p = { .fd = cs_fd, .events = POLLIN };

	(void)arg;
	while (!atomic_load(&cs_stop)) {
		int fd;

		if (poll(&p, 1, CS_POLL_MS) <= 0)
			continue;
		if ((fd = accept4(cs_fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		cs_serve(fd);
		close(fd);
	}
	return NULL;
}

/* rg_control_start - serve the control socket in a thread */
void
rg_control_start(int fd, const char *path, struct rg_kv *kv)
{
	cs_fd = fd;
	cs_kv = kv;
	rg_strlcpy(cs_path, path, sizeof(cs_path));
	atomic_store(&cs_stop, 0);
	if (pthread_create(&cs_tid, NULL, cs_thread, NULL) != 0)
		rg_fatal("cannot start the control socket thread");
	cs_running = 1;
	rg_log_info("control socket on %s", path);
}

/* rg_control_stop - stop serving and remove the socket */
void
rg_control_stop(void)
{
	if (!cs_running)
		return;
	atomic_store(&cs_stop, 1);
	pthread_join(cs_tid, NULL);
	cs_running = 0;
	close(cs_fd);
	cs_fd = -1;
	/* may fail once privileges are gone: the next start replaces it */
	(void)unlink(cs_path);
}
