/*
 * dkim_exit_test.c - a session thread that ends while the process exits.
 *
 * libmilter's worker threads outlive main(): an idle worker wakes every
 * few seconds and ends once the milter is stopping, which may be while
 * exit() runs its handlers. A worker that has made an RSA signature holds
 * libcrypto state of its own (its error state, and the random generator
 * RSA blinding draws from), freed when the thread ends, by a thread-local
 * destructor libcrypto registered. Were libcrypto's own exit handler to
 * run first, it would delete those keys, so the state of a worker ending
 * afterwards would never be freed (and a worker still in a session would
 * use freed library state).
 *
 * A child process plays the daemon: rg_dkim_crypto_init() first, as
 * main() does, then one thread signs a message with an RSA key and waits
 * like an idle worker. The child's main() returns; an exit handler
 * registered before libcrypto started (so it runs after libcrypto's, if
 * there is one) notes whether libcrypto is still up, then lets the thread
 * end. The parent checks that note and the child's exit status: under
 * AddressSanitizer the leak check runs after every exit handler and fails
 * the child when the thread's state was lost.
 */
#include <sys/wait.h>

#include <errno.h>

#include <openssl/crypto.h>

#include "dkimtest.h"

static pthread_mutex_t dx_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dx_cond = PTHREAD_COND_INITIALIZER;
enum dx_state { DX_SIGNING, DX_IDLE, DX_END };

static enum dx_state dx_state = DX_SIGNING;
static pthread_t dx_thread;
static int dx_signed = -1;		/* signatures the thread made */
static int dx_fd = -1;			/* the child's report to the parent */
static struct rg_conf *dx_conf;

/* dx_set - the thread's state, with a wake-up */
static void
dx_set(enum dx_state state)
{
	pthread_mutex_lock(&dx_lock);
	dx_state = state;
	pthread_cond_broadcast(&dx_cond);
	pthread_mutex_unlock(&dx_lock);
}

/* dx_wait - until the thread is in this state */
static void
dx_wait(enum dx_state state)
{
	pthread_mutex_lock(&dx_lock);
	while (dx_state != state)
		pthread_cond_wait(&dx_cond, &dx_lock);
	pthread_mutex_unlock(&dx_lock);
}

/* dx_session - sign one message with RSA, then idle until told to end */
static void *
dx_session(void *arg)
{
	struct rg_buf why = RG_BUF_INIT;
	struct tmsg m;
	size_t n = 0;

	(void)arg;
	tmsg_parse(&m, msg_text);
	if (sign(dx_conf, "alice@example.com", &m, &n, &why) == RG_DKIM_OK)
		dx_signed = (int)n;
	tmsg_free(&m);
	rg_buf_release(&why);
	dx_set(DX_IDLE);
	dx_wait(DX_END);
	return NULL;
}

/* dx_at_exit - after libcrypto's exit handler, if any: report whether
 * libcrypto is up, then let the session thread end and wait for it */
static void
dx_at_exit(void)
{
	char report[2];

	report[0] = OPENSSL_init_crypto(0, NULL) == 1 ? 'u' : 'd';
	report[1] = (char)('0' + (dx_signed < 0 ? 9 : dx_signed % 10));
	dx_set(DX_END);
	pthread_join(dx_thread, NULL);
	if (write(dx_fd, report, sizeof(report)) != (ssize_t)sizeof(report))
		_exit(4);
}

/* dx_child - the daemon's part; returns to exit() with the thread idle */
static void
dx_child(void)
{
	/* before libcrypto starts, so that this handler runs after its */
	atexit(dx_at_exit);
	if (rg_dkim_crypto_init() != 0)
		_exit(3);
	rg_dkim_set_resolver(fake_lookup, NULL);
	if (rg_dkim_init() != 0)
		_exit(3);
	dkt_keys();
	dx_conf = load("dkim_sign = example.com rsa %s\n", rsa_pem);
	if (pthread_create(&dx_thread, NULL, dx_session, NULL) != 0)
		_exit(3);
	dx_wait(DX_IDLE);
	/* as main_stop(): the library goes while the worker still exists */
	rg_dkim_shutdown();
}

static void
test_exit_with_worker(void)
{
	char report[2] = { '?', '?' };
	int p[2], status = 0;
	ssize_t r;
	pid_t pid;

	RGT_CASE("a worker ending during exit()");
	if (pipe(p) != 0 || (pid = fork()) < 0) {
		RGT_CHECK(0, "pipe or fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		close(p[0]);
		dx_fd = p[1];
		dx_child();
		exit(0);
	}
	close(p[1]);
	do
		r = read(p[0], report, sizeof(report));
	while (r < 0 && errno == EINTR);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	RGT_INTEQ(r, 2);
	RGT_CHECK(report[1] == '1', "the thread made %c signature(s), want 1",
	    report[1]);
	RGT_CHECK(report[0] == 'u', "libcrypto was cleaned up before the "
	    "worker ended: its thread state is lost");
	RGT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child: %s %d (a sanitizer report is in this test's stderr)",
	    WIFEXITED(status) ? "exit" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

int
main(void)
{
	/* nothing here touches libcrypto before the fork */
	test_exit_with_worker();
	printf("%d passed, %d failed\n", rgt_passed, rgt_failed);
	return rgt_failed != 0;
}
