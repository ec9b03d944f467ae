/*
 * main.c - relayguard: options, socket, privileges, signals, smfi_main()
 *
 * Start-up order: start libcrypto without its exit handler (before
 * anything else uses it; dkim.h says why); read and check the
 * configuration; register with libmilter and open the socket and the
 * control socket (as root if started so); detach unless -f; write the
 * pidfile; drop to the unprivileged user; open the resolver, the counter
 * store and the libraries (main_open_libraries); start the threads; then
 * wait for signals (main_wait) and stop in reverse order (main_stop).
 *
 * Threads: smfi_main() runs in its own thread. The main thread only waits
 * for signals. libmilter starts a signal thread of its own that treats
 * SIGHUP as "stop"; on Linux a process-directed signal goes to the thread
 * group leader when that thread is waiting for it, so keeping the main
 * thread in sigwait() means SIGHUP reloads instead. The reload itself runs
 * in a separate thread so the main thread is back in sigwait() at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "../policy/alert.h"
#include "../policy/blocklist.h"
#include "../policy/conf.h"
#include "../policy/dkim.h"
#include "../policy/dns.h"
#include "../policy/kv.h"
#include "../policy/log.h"
#include "../policy/ratelimit.h"
#include "../policy/settings.h"
#include "../policy/uri.h"
#include "../policy/strutil.h"
#include "../policy/xalloc.h"
#include "callbacks.h"
#include "metrics_http.h"
#include "notify.h"
#include "control.h"
#include "housekeep.h"

#ifndef RG_VERSION
#define RG_VERSION "0.0"
#endif
#ifndef RG_SYSCONFDIR
#define RG_SYSCONFDIR "/etc"
#endif
#define RG_DEFAULT_CONF RG_SYSCONFDIR "/relayguard/relayguard.conf"
/* longest wait at exit for sessions still using the counter store */
#define RG_KV_QUIESCE_MS 2000
#define RG_MILTER_JOIN_S 3	/* main_join_milter */

struct main_opts {
	const char *conf_path;
	int conf_explicit;
	int check_only;		/* -n */
	int dump;		/* -d */
	int foreground;		/* -f */
	const char *socket;	/* -p */
	const char *user;	/* -u */
	const char *pidfile;	/* -P */
};

#define MAIN_NOFILE_MAX	65536	/* open files relayguard asks for */

static struct main_opts opts;
static pthread_t main_thread;
static atomic_int main_milter_failed;

static pthread_mutex_t reload_mutex = PTHREAD_MUTEX_INITIALIZER;	/* reload_pending */
static pthread_cond_t reload_cond = PTHREAD_COND_INITIALIZER;
static int reload_pending;

static void
main_usage(void)
{
	fprintf(stderr,
	    "usage: relayguard [-dfnV] [-c file] [-p socket] [-u user] [-P pidfile]\n"
	    "  -c file     configuration file (default %s)\n"
	    "  -n          check the configuration and exit (0 good, 1 bad)\n"
	    "  -d          print the effective configuration, secrets masked\n"
	    "  -f          stay in the foreground\n"
	    "  -p socket   listen here instead of the configured socket\n"
	    "  -u user     run as this user instead of the configured one\n"
	    "  -P pidfile  write the process id here\n"
	    "  -V          print the version and exit\n", RG_DEFAULT_CONF);
	exit(2);
}

/* main_log_lines - log each line of a buffer (empty buffers have no data) */
static void
main_log_lines(int level, struct rg_buf *b)
{
	char *save = NULL;

	if (b->len == 0)
		return;
	for (char *l = strtok_r(b->data, "\n", &save); l != NULL;
	    l = strtok_r(NULL, "\n", &save))
		rg_log_write(level, "%s", l);
}

/* main_load - read the configuration; errors go to stderr or the log */
static struct rg_conf *
main_load(int to_stderr)
{
	struct rg_buf err = RG_BUF_INIT, warn = RG_BUF_INIT;
	const char *path = opts.conf_path;
	struct rg_conf *c;

	/* without -c, a missing default file means: run on embedded defaults */
	if (!opts.conf_explicit && access(path, F_OK) != 0)
		path = NULL;
	c = rg_conf_load(path, &err, &warn);
	if (to_stderr) {
		fputs(rg_buf_cstr(&warn), stderr);
		fputs(rg_buf_cstr(&err), stderr);
	} else {
		main_log_lines(RG_LOG_WARN, &warn);
		main_log_lines(RG_LOG_ERR, &err);
	}
	rg_buf_release(&err);
	rg_buf_release(&warn);
	return c;
}

/* main_apply_logging - level and debug modules from a snapshot */
static void
main_apply_logging(const struct rg_conf *c)
{
	unsigned mask = 0;

	rg_log_set_level(c->core.log_level);
	for (size_t i = 0; i < c->core.debug_modules.n; i++) {
		int m = rg_log_module_index(c->core.debug_modules.v[i]);

		if (m >= 0)
			mask |= 1u << m;
		else
			rg_log_warn("debug_modules: unknown module \"%s\"",
			    c->core.debug_modules.v[i]);
	}
	rg_log_set_debug_mask(mask);
}

/* main_socket_path - the file of a unix socket spec, or NULL */
static const char *
main_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

/* the address libmilter's listening socket is bound to (main_listener) */
static struct sockaddr_storage main_listen_ss;
static socklen_t main_listen_len;

/*
 * main_listener - find libmilter's listening socket, the only one open
 * yet, which libmilter offers no call for: note its address for
 * main_wake_listener, and set TCP_NODELAY on it. Without TCP_NODELAY, a
 * header change and the final reply go out as two small writes and the
 * second waits for the MTA's delayed ACK (about 40 ms a message).
 * Accepted sockets inherit it.
 */
static void
main_listener(void)
{
	for (int fd = 0; fd < 1024; fd++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss), il = sizeof(int);
		int acc = 0, one = 1;

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &il) < 0 || !acc)
			continue;
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
		    sl > sizeof(ss))
			continue;
		if (main_listen_len == 0) {
			main_listen_ss = ss;
			main_listen_len = sl;
		}
		if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			rg_log_warn_errno("setsockopt TCP_NODELAY");
	}
}

/*
 * main_wake_listener - one connection to libmilter's listening socket (a
 * wildcard address over loopback), closed at once; best effort.
 */
static void
main_wake_listener(void)
{
	struct sockaddr_storage ss = main_listen_ss;
	int fd;

	if (main_listen_len == 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		if (in->sin_addr.s_addr == htonl(INADDR_ANY))
			in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
			in6->sin6_addr = in6addr_loopback;
	}
	/* non-blocking: a full backlog must not hold up the stop */
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)connect(fd, (struct sockaddr *)&ss, main_listen_len);
	close(fd);
}

/*
 * main_waker - while smfi_stop() runs. libmilter's listener holds its
 * lock while it waits up to 5 seconds for a connection, and smfi_stop()
 * needs that lock to close the socket, so the stop would wait for the
 * wait to end. A connection every 20 ms ends it (the listener takes the
 * connection, finds the stop flag, returns; the session it started reads
 * end of file), until smfi_stop() has returned or 6 seconds have passed.
 */
static atomic_int main_stop_done;

static void *
main_waker(void *arg)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };

	(void)arg;
	for (int i = 0; i < 300 && !atomic_load(&main_stop_done); i++) {
		main_wake_listener();
		nanosleep(&tick, NULL);
	}
	return NULL;
}

static void
main_open_socket(const struct rg_conf *c, const char *spec)
{
	mode_t old;

	if (smfi_register(rg_milter_desc) != MI_SUCCESS)
		rg_fatal("smfi_register failed");
	if (smfi_setconn((char *)spec) != MI_SUCCESS)
		rg_fatal("bad socket %s", spec);
	rg_callbacks_local(main_socket_path(spec) != NULL);
	if (smfi_settimeout((int)(c->core.milter_timeout / 1000)) != MI_SUCCESS)
		rg_fatal("smfi_settimeout failed");
	if (smfi_setbacklog(c->core.socket_backlog) != MI_SUCCESS)
		rg_fatal("smfi_setbacklog failed");
	/* a unix socket is created rw for user and group only (0660) */
	old = umask(0117);
	if (smfi_opensocket(1) != MI_SUCCESS)
		rg_fatal("cannot open socket %s (in use, or no permission?)", spec);
	umask(old);
	main_listener();
}

/* main_pidfile - write our pid; the file is not followed if a symlink */
static void
main_pidfile(const char *path)
{
	char line[32];
	int fd, n;

	if (path == NULL || *path == '\0')
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		rg_fatal("cannot write pidfile %s: %s", path, strerror(errno));
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (write(fd, line, (size_t)n) != n)
		rg_fatal("cannot write pidfile %s: %s", path, strerror(errno));
	close(fd);
}

/*
 * main_raise_nofile - the soft limit of open files up to the hard one, at
 * most MAIN_NOFILE_MAX: every session, DNS socket and Redis connection
 * (one per thread, and up to RG_KV_PENDING_MAX for answers read a stage
 * later) takes a descriptor, and 1024, the usual default, is near. Nothing
 * in the process uses select().
 */
static void
main_raise_nofile(void)
{
	struct rlimit rl;
	rlim_t want;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		rg_log_warn_errno("cannot read the limit of open files");
		return;
	}
	want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > MAIN_NOFILE_MAX ?
	    MAIN_NOFILE_MAX : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			rg_log_warn_errno("cannot raise the limit of open files "
			    "to %llu", (unsigned long long)want);
	}
}

/*
 * main_drop_privileges - become the unprivileged user, after giving a
 * unix socket to that user and the socket group (mode 0660)
 */
static void
main_drop_privileges(const struct rg_conf *c, const char *spec)
{
	const char *user = opts.user ? opts.user : c->core.user;
	const char *path = main_socket_path(spec);
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[4096];
	gid_t gid;

	if (geteuid() != 0)
		return;
	if (*user == '\0' || strcmp(user, "root") == 0) {
		if (!c->core.allow_root)
			rg_fatal("refusing to run as root: set \"user\" to an "
			    "unprivileged user (or allow_root = yes)");
		rg_log_warn("running as root (allow_root = yes)");
		return;
	}
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL)
		rg_fatal("unknown user \"%s\"", user);
	if (pw.pw_uid == 0 && !c->core.allow_root)
		rg_fatal("user \"%s\" has uid 0: refusing to run as root", user);
	gid = pw.pw_gid;
	if (path != NULL) {
		gid_t sgid = gid;
		char gbuf[4096];

		if (c->core.socket_group[0]) {
			if (getgrnam_r(c->core.socket_group, &gr, gbuf, sizeof(gbuf),
			    &grp) != 0 || grp == NULL)
				rg_fatal("unknown socket_group \"%s\"", c->core.socket_group);
			sgid = gr.gr_gid;
		}
		if (chown(path, pw.pw_uid, sgid) < 0 || chmod(path, 0660) < 0)
			rg_fatal("cannot give socket %s to %s: %s", path, user,
			    strerror(errno));
	}
	if (initgroups(user, gid) < 0 || setgid(gid) < 0 || setuid(pw.pw_uid) < 0)
		rg_fatal("cannot become user %s: %s", user, strerror(errno));
	if (setuid(0) == 0)
		rg_fatal("could regain root after dropping privileges");
	rg_log_info("running as user %s", user);
}

/* main_daemonize - detach; the parent exits when the child is ready */
static int
main_daemonize(void)
{
	int p[2];
	pid_t pid;
	char ok;

	if (pipe(p) < 0)
		rg_fatal("pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		rg_fatal("fork: %s", strerror(errno));
	if (pid > 0) {
		close(p[1]);
		/* the child writes one byte when it is serving */
		_exit(read(p[0], &ok, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		rg_fatal("setsid: %s", strerror(errno));
	if (chdir("/") < 0)
		rg_fatal("chdir /: %s", strerror(errno));
	return p[1];
}

static void
main_detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void *
main_milter_thread(void *arg)
{
	(void)arg;
	if (smfi_main() != MI_SUCCESS)
		atomic_store(&main_milter_failed, 1);
	/* wake the main thread: it exits when libmilter is done */
	pthread_kill(main_thread, SIGTERM);
	return NULL;
}

/* main_reload - SIGHUP: a new snapshot, or keep the old one and say why */
static void
main_reload(void)
{
	struct rg_conf *old, *c;

	rg_notify_reloading();
	old = rg_conf_acquire();
	c = main_load(0);
	if (c == NULL) {
		rg_log_error("reload failed: keeping the configuration loaded "
		    "from %s", old ? rg_conf_path(old) : "?");
		rg_conf_release(old);
		rg_metrics_inc(RG_M_RELOADS_FAILED);
		rg_notify_ready();
		return;
	}
	for (size_t i = 0; old && i < rg_conf_param_count(); i++) {
		const struct rg_param *p = rg_conf_param_at(i, NULL);

		if ((p->flags & RG_CF_RESTART) &&
		    strcmp(rg_conf_raw(old, p->name), rg_conf_raw(c, p->name)) != 0)
			rg_log_warn("reload: %s changed; it takes effect at restart",
			    p->name);
	}
	main_apply_logging(c);
	rg_conf_install(c);
	rg_log_info("reloaded configuration from %s (generation %lu)",
	    rg_conf_path(c), rg_conf_generation(c));
	rg_conf_release(old);
	rg_metrics_inc(RG_M_RELOADS_OK);
	rg_notify_ready();
}

static void *
main_reload_thread(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&reload_mutex);
		while (!reload_pending)
			pthread_cond_wait(&reload_cond, &reload_mutex);
		reload_pending = 0;
		pthread_mutex_unlock(&reload_mutex);
		main_reload();
	}
	return NULL;
}

static void
main_parse_args(int argc, char **argv)
{
	int ch;

	opts.conf_path = RG_DEFAULT_CONF;
	while ((ch = getopt(argc, argv, "c:dfnp:u:P:Vh")) != -1) {
		switch (ch) {
		case 'c':
			opts.conf_path = optarg;
			opts.conf_explicit = 1;
			break;
		case 'd':
			opts.dump = 1;
			break;
		case 'f':
			opts.foreground = 1;
			break;
		case 'n':
			opts.check_only = 1;
			break;
		case 'p':
			opts.socket = optarg;
			break;
		case 'u':
			opts.user = optarg;
			break;
		case 'P':
			opts.pidfile = optarg;
			break;
		case 'V': {
			unsigned int ma = 0, mi = 0, pl = 0;

			smfi_version(&ma, &mi, &pl);
			printf("relayguard %s (libmilter %u.%u.%u%s)\n", RG_VERSION,
			    ma, mi, pl, rg_notify_built_in() ? ", sd_notify" : "");
			exit(0);
		}
		default:
			main_usage();
		}
	}
	if (optind != argc)
		main_usage();
}

/*
 * main_alert_open - the volume alerts, counting in the daemon's one
 * counter store (so a fleet sharing Redis sums up); the metrics show that
 * store's counters too.
 */
static struct rg_alert *
main_alert_open(struct rg_kv *kv)
{
	struct rg_buf why = RG_BUF_INIT;
	struct rg_alert *a = rg_alert_create(kv, NULL, &why);

	if (a == NULL)
		rg_fatal("volume alerts: %s", rg_buf_cstr(&why));
	rg_buf_release(&why);
	rg_alert_set_default(a);
	rg_metrics_set_kv(kv);
	return a;
}

/* main_metrics_start - the HTTP endpoint, when metrics_listen is set */
static struct rg_metrics_http *
main_metrics_start(void)
{
	struct rg_conf *c = rg_conf_acquire();
	struct rg_buf why = RG_BUF_INIT;
	struct rg_metrics_http *h = NULL;

	if (c != NULL && c->metrics.listen.set) {
		h = rg_metrics_http_start(&c->metrics.listen, &why);
		if (h == NULL)
			rg_fatal("metrics_listen: %s", rg_buf_cstr(&why));
		rg_log_info("metrics on http://%s/metrics", c->metrics.listen.text);
	}
	rg_buf_release(&why);
	rg_conf_release(c);
	return h;
}

/* what start-up opened and shutdown closes, in that order */
struct main_services {
	struct rg_dns *dns;
	struct rg_kv *kv;
	struct rg_alert *alert;
	struct rg_metrics_http *mhttp;
	pthread_t milter_tid;
	char pidpath[4096];
	char ctlpath[108];
	int ctl_fd;
};

/* main_dump - -d: the configuration in effect, secrets masked */
static int
main_dump(struct rg_conf *conf)
{
	struct rg_buf out = RG_BUF_INIT;

	rg_conf_dump(conf, &out);
	fputs(rg_buf_cstr(&out), stdout);
	rg_buf_release(&out);
	rg_conf_release(conf);
	return 0;
}

/* main_open_log - stderr in the foreground or when asked, else syslog */
static void
main_open_log(const struct rg_conf *conf)
{
	if (conf->core.log_target == RG_LT_STDERR ||
	    (conf->core.log_target == RG_LT_AUTO && opts.foreground))
		rg_log_open(RG_LOG_TO_STDERR, 0);
	else
		rg_log_open(RG_LOG_TO_SYSLOG,
		    rg_settings_facility(conf->core.syslog_facility));
	main_apply_logging(conf);
}

/*
 * main_open_libraries - the resolver, the counter store, the Public
 * Suffix List and libopendkim, after the fork (threads do not survive
 * it) and the privilege drop (files they read must be readable by the
 * user), before any milter thread (libunbound's configuration calls are
 * not thread-safe). Redis connections are made per thread, later.
 */
static void
main_open_libraries(const struct rg_conf *conf, struct main_services *sv)
{
	struct rg_buf err = RG_BUF_INIT;

	if ((sv->dns = rg_dns_open(conf, &err)) == NULL)
		rg_fatal("resolver: %s", rg_buf_cstr(&err));
	rg_dns_set_default(sv->dns);
	if ((sv->kv = rg_kv_create(&conf->kv, &err)) == NULL)
		rg_fatal("counter store: %s", rg_buf_cstr(&err));
	rg_kv_set_default(sv->kv);
	rg_buf_release(&err);
	if (rg_uri_global_init() < 0)
		rg_log_warn("no Public Suffix List: link domains are not checked");
	if (rg_dkim_init() < 0)
		rg_fatal("cannot initialise the DKIM library");
	rg_dkim_set_resolver(rg_dkim_resolver_lookup, NULL);
	sv->alert = main_alert_open(sv->kv);
}

/* main_start_threads - metrics, reload, milter, housekeeping, control */
static void
main_start_threads(struct main_services *sv)
{
	pthread_t reload_tid;

	sv->mhttp = main_metrics_start();
	if (pthread_create(&reload_tid, NULL, main_reload_thread, NULL) != 0 ||
	    pthread_create(&sv->milter_tid, NULL, main_milter_thread, NULL) != 0)
		rg_fatal("cannot start threads");
	pthread_detach(reload_tid);
	rg_housekeep_start(sv->kv);
	if (sv->ctl_fd >= 0)
		rg_control_start(sv->ctl_fd, sv->ctlpath, sv->kv);
}

/* main_wait - serve until SIGTERM or SIGINT; SIGHUP asks for a reload */
static int
main_wait(const sigset_t *set)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			return sig;
		pthread_mutex_lock(&reload_mutex);
		reload_pending = 1;
		pthread_cond_signal(&reload_cond);
		pthread_mutex_unlock(&reload_mutex);
	}
}

/*
 * main_join_milter - wait for smfi_main() to return, at most
 * RG_MILTER_JOIN_S seconds. Debian's libmilter destroys its worker pool's
 * lock when it stops while workers and the listener may still take it;
 * now and then they all wait on it for ever and smfi_main() never
 * returns. The stop goes on without it then: the slots of open sessions
 * are still given back, and exit ends those threads.
 */
static void
main_join_milter(pthread_t tid)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += RG_MILTER_JOIN_S;
	if (pthread_timedjoin_np(tid, NULL, &until) != 0)
		rg_log_warn("libmilter did not finish stopping within %d s; "
		    "stopping without it", RG_MILTER_JOIN_S);
}

/* main_stop - stop the milter, then everything in reverse order */
static void
main_stop(struct main_services *sv)
{
	pthread_t waker;
	int quiesced, waking;

	waking = pthread_create(&waker, NULL, main_waker, NULL) == 0;
	smfi_stop();
	atomic_store(&main_stop_done, 1);
	if (waking)
		pthread_join(waker, NULL);
	main_join_milter(sv->milter_tid);
	sv->mhttp = rg_metrics_http_stop(sv->mhttp);
	rg_metrics_set_kv(NULL);
	rg_alert_set_default(NULL);
	sv->alert = rg_alert_free(sv->alert);
	rg_control_stop();
	rg_housekeep_stop();
	/* libmilter does not wait for its session threads: let them finish
	 * their store calls before the store goes */
	rg_kv_set_default(NULL);
	quiesced = rg_kv_quiesce(RG_KV_QUIESCE_MS) == 0;
	/* no session takes or gives a slot now; those still open will not
	 * close in time: their slots go back, with those the store owes */
	rg_ratelimit_slots_shutdown(sv->kv);
	if (!quiesced)
		rg_log_warn("counter store still in use at exit; not freed");
	else
		rg_kv_free(sv->kv);
	rg_blocklist_clear();
	rg_dns_set_default(NULL);
	rg_dns_close(sv->dns);
	rg_uri_global_free();
	rg_dkim_shutdown();
	if (sv->pidpath[0] != '\0')
		(void)unlink(sv->pidpath);
}

int
main(int argc, char **argv)
{
	static struct main_services sv;
	struct rg_conf *conf;
	const char *spec, *pidfile;
	sigset_t set;
	int ready_fd = -1, sig, log_stderr;

	/* before the configuration's keys: libcrypto must not clean up at
	 * exit under libmilter's worker threads (see dkim.h) */
	if (rg_dkim_crypto_init() < 0)
		rg_fatal("libcrypto failed to start");
	main_parse_args(argc, argv);
	conf = main_load(1);
	if (conf == NULL)
		return 1;
	if (opts.check_only) {
		rg_conf_release(conf);
		return 0;
	}
	if (opts.dump)
		return main_dump(conf);
	main_open_log(conf);
	main_raise_nofile();

	spec = opts.socket ? opts.socket : conf->core.socket;
	if (opts.socket != NULL && rg_settings_check_socket(opts.socket) != NULL)
		rg_fatal("-p %s: %s", opts.socket, rg_settings_check_socket(opts.socket));
	pidfile = opts.pidfile ? opts.pidfile : conf->core.pidfile;
	if (rg_strlcpy(sv.pidpath, pidfile, sizeof(sv.pidpath)) >=
	    sizeof(sv.pidpath))
		rg_fatal("pidfile name too long");
	main_open_socket(conf, spec);
	sv.ctl_fd = -1;
	if (conf->admin.control_socket[0] != '\0') {
		rg_strlcpy(sv.ctlpath, conf->admin.control_socket,
		    sizeof(sv.ctlpath));
		sv.ctl_fd = rg_control_open(sv.ctlpath,
		    opts.user ? opts.user : conf->core.user);
	}
	if (!opts.foreground)
		ready_fd = main_daemonize();
	main_pidfile(pidfile);
	main_drop_privileges(conf, spec);
	main_open_libraries(conf, &sv);
	/* read what is needed later now: after install, a reload may free conf */
	log_stderr = conf->core.log_target == RG_LT_STDERR;
	rg_log_info("relayguard %s ready on %s (configuration %s)", RG_VERSION,
	    spec, rg_conf_path(conf));
	rg_conf_install(conf);
	conf = NULL;

	/* every thread inherits this mask: signals reach sigwait() below */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	main_thread = pthread_self();
	main_start_threads(&sv);

	if (ready_fd >= 0) {
		if (write(ready_fd, "1", 1) != 1)
			rg_log_warn_errno("cannot tell the parent we are ready");
		close(ready_fd);
		if (!log_stderr)
			main_detach_stdio();
	}
	rg_notify_ready();
	sig = main_wait(&set);
	rg_notify_stopping();
	rg_log_info("stopping on signal %d", sig);
	main_stop(&sv);
	rg_log_info("stopped");
	return atomic_load(&main_milter_failed) ? 1 : 0;
}
