/*
 * alert_exec.c - start an alert command without a shell and without
 * waiting for it (rg_alert_spawn, declared in alert.h)
 *
 * Double fork: the intermediate child forks the program's process and
 * exits at once, so the caller reaps it immediately and the program is
 * adopted by init (or the nearest subreaper) instead of becoming our
 * zombie. A close-on-exec pipe tells the caller whether execv worked: it
 * closes without data on success and carries errno on failure. Between
 * fork and exec only async-signal-safe calls are made (the process is
 * multithreaded), so argv is built before the fork. Thread-safe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alert.h"

#define EXEC_WAIT_MS	2000	/* longest wait to learn whether exec worked */

/* exec_child - the program's process: reset what we changed, then exec */
static void __attribute__((noreturn))
exec_child(const char *const *argv, int errfd)
{
	sigset_t none;
	int fd, e;

	/* blocked signals and ignored ones survive exec: undo both */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	(void)setsid();
	if ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	/* the milter socket, connections, Redis: none of its business */
	if (errfd > 3)
		(void)close_range(3, (unsigned)errfd - 1, 0);
	(void)close_range((unsigned)errfd + 1, ~0U, 0);
	execv(argv[0], (char *const *)argv);
	e = errno;
	if (write(errfd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* exec_result - 0 when the pipe closed empty, else the errno it carried */
static int
exec_result(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int e = 0, r;
	ssize_t n;

	do
		r = poll(&pfd, 1, EXEC_WAIT_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return ETIMEDOUT;
	do
		n = read(fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	return n == (ssize_t)sizeof(e) ? e : 0;
}

/* exec_fail - the reason into err, and -1 */
static int
exec_fail(char *err, size_t errsize, const char *what, int e)
{
	char tmp[128];

	snprintf(err, errsize, "%s: %s", what, strerror_r(e, tmp, sizeof(tmp)));
	return -1;
}

int
rg_alert_spawn(const char *const *argv, char *err, size_t errsize)
{
	int p[2], st, e;
	pid_t pid, g;

	if (pipe2(p, O_CLOEXEC) < 0)
		return exec_fail(err, errsize, "pipe", errno);
	if ((pid = fork()) < 0) {
		e = errno;
		close(p[0]);
		close(p[1]);
		return exec_fail(err, errsize, "fork", e);
	}
	if (pid == 0) {
		close(p[0]);
		if ((g = fork()) == 0)
			exec_child(argv, p[1]);
		if (g < 0) {
			e = errno;
			if (write(p[1], &e, sizeof(e)) < 0)
				_exit(1);
		}
		_exit(g < 0);
	}
	close(p[1]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		continue;
	e = exec_result(p[0]);
	close(p[0]);
	if (e != 0)
		return exec_fail(err, errsize, "exec", e);
	return 0;
}
