/*
 * lockout.c - lock an authenticated account that sends far too much
 *
 * Public: see lockout.h. At MAIL a logged-in client's lock:<login> is
 * read (one GET); the counters lo:msg:<window>:<login> and
 * lo:rcpt:<window>:<login> ride in the rate-limit check of MAIL and RCPT.
 * Over a threshold, the lock is stored without expiry, the alert is
 * logged once (lo:alert:<login>, an rg_kv_incr with limit 1, decides
 * which process and host logs it) and lockout_notify_command runs.
 * Thread-safe: no state but the connection's (limits.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "limits.h"
#include "lockout.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "session.h"
#include "settings.h"
#include "verdict.h"
#include "xalloc.h"

#define LO_CHECK	"lockout"

/* lo_parse_path - an absolute path, or "" */
static int
lo_parse_path(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *v, void *dst)
{
	if (v[0] != '\0' && v[0] != '/') {
		rg_conf_perror(cx, "%s: must be an absolute path, not \"%s\"",
		    p->name, v);
		return -1;
	}
	*(char **)dst = rg_xstrdup(v);
	return 0;
}

/* lo_free_str - release a string setting */
static void
lo_free_str(void *dst)
{
	free(*(char **)dst);
	*(char **)dst = NULL;
}

static const struct rg_ptype_ops lo_path_ops = {
	.parse = lo_parse_path, .free = lo_free_str,
};

#define LO(f) offsetof(struct rg_lockout_conf, f)

const struct rg_param rg_lockout_params[] = {
	RG_P_CUSTOM("lockout_threshold", "0", &rg_rl_rate_ops, LO(msgs), 0,
	    "messages an authenticated account may send per window before it is locked (e.g. 500/1h); 0: off"),
	RG_P_CUSTOM("lockout_rcpt_threshold", "0", &rg_rl_rate_ops, LO(rcpts), 0,
	    "recipients (counted, not distinct) an account may send to per window before it is locked; 0: off"),
	RG_P_ENUM("lockout_action", "reject", "reject|hold", LO(action), 0,
	    "mail of a locked account: reject (550 5.7.1) or hold (quarantine) until unlocked"),
	RG_P_CUSTOM("lockout_notify_command", "", &lo_path_ops,
	    LO(notify_command), 0,
	    "program run (no shell) with the account as its argument when an account is locked"),
	RG_P_END
};

/* rg_lockout_lock_key - lock:<login> */
void
rg_lockout_lock_key(const char *login, char *out, size_t size)
{
	rg_rl_key_join(out, size, "lock:", login);
}

/* rg_lockout_alert_key - lo:alert:<login> */
void
rg_lockout_alert_key(const char *login, char *out, size_t size)
{
	rg_rl_key_join(out, size, "lo:alert:", login);
}

/* rg_lockout_count_key - lo:<msg|rcpt>:<window>:<login>, or -1 when off */
int
rg_lockout_count_key(const struct rg_lockout_conf *lc, enum rg_rl_count kind,
    const char *login, char *out, size_t size)
{
	const struct rg_rl_rate *thr = kind == RG_RL_MESSAGES ? &lc->msgs :
	    kind == RG_RL_RECIPIENTS ? &lc->rcpts : NULL;
	char prefix[48], win[24];

	if (thr == NULL || thr->limit < 0 || login == NULL || *login == '\0')
		return -1;
	rg_rl_window_format(thr->window_ms, win, sizeof(win));
	snprintf(prefix, sizeof(prefix), "lo:%s:%s:",
	    kind == RG_RL_MESSAGES ? "msg" : "rcpt", win);
	rg_rl_key_join(out, size, prefix, login);
	return 0;
}

/* rg_lockout_over - count exceeds an enabled threshold */
int
rg_lockout_over(const struct rg_rl_rate *thr, long long count)
{
	return thr->limit >= 0 && count > thr->limit;
}

/* lo_refuse - a locked account's message: 550 5.7.1, or held at eom */
static void
lo_refuse(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_limits_conn *l = rg_limits_state(c);

	l->locked = 1;
	if (c->conf->lockout.action == RG_LOCKOUT_HOLD) {
		l->hold = 1;
		if (c->msg != NULL)
			rg_msg_note(c->msg, LO_CHECK, "locked, held");
		return;
	}
	if (c->msg != NULL)
		rg_msg_note(c->msg, LO_CHECK, "locked");
	rg_metrics_inc_label("ratelimit", "locked");
	rg_verdict_set(v, RG_ACT_REJECT, LO_CHECK, "550", "5.7.1",
	    "Sending is suspended for this account; contact your administrator");
}

/* lo_store_failed - the failure mode, as for rate limits */
static void
lo_store_failed(struct rg_conn *c, struct rg_kv *kv, enum rg_kv_status st,
    const char *why, struct rg_verdict *v)
{
	if (st == RG_KV_INVAL) {
		rg_log_id(RG_LOG_ERR, c->id, "lockout: store refused the "
		    "request: %s; not checked", why);
		return;
	}
	if (rg_kv_failure(kv, &c->conf->kv, c->id, "lockout", why) ==
	    RG_KV_FAIL_TEMPFAIL)
		rg_verdict_set(v, RG_ACT_TEMPFAIL, LO_CHECK, "451", "4.7.0",
		    "Temporary local problem, try again later");
}

/* rg_lockout_mail - refuse or hold mail of a locked account (one GET) */
void
rg_lockout_mail(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_buf val = RG_BUF_INIT, why = RG_BUF_INIT;
	char key[RG_KV_KEY_MAX + 1];
	enum rg_kv_status st;
	struct rg_kv *kv;

	if (rg_verdict_is_final(v) || !rg_relay_is_authenticated(c) ||
	    (kv = rg_kv_hold()) == NULL)
		return;
	rg_lockout_lock_key(c->auth_user, key, sizeof(key));
	st = rg_kv_get(kv, key, &val, &why);
	if (st == RG_KV_OK) {
		rg_log_id(RG_LOG_NOTICE, c->id, "lockout: account %s is locked "
		    "(%s)", c->auth_user, rg_buf_cstr(&val));
		lo_refuse(c, v);
	} else if (st != RG_KV_NOTFOUND) {
		lo_store_failed(c, kv, st, rg_buf_cstr(&why), v);
	}
	rg_kv_unhold(kv);
	rg_buf_release(&val);
	rg_buf_release(&why);
}

/* rg_lockout_op - the account's counter as an op of the stage's check */
int
rg_lockout_op(const struct rg_conn *c, enum rg_rl_count kind,
    struct rg_kv_op *op, char *key, size_t size)
{
	const struct rg_lockout_conf *lc = &c->conf->lockout;

	/* a locked account's held mail would only lock it again */
	if (!rg_relay_is_authenticated(c) || (c->limits != NULL &&
	    c->limits->msgno == c->nmsgs && c->limits->locked) ||
	    rg_lockout_count_key(lc, kind, c->auth_user, key, size) < 0)
		return -1;
	op->key = key;
	op->add = 1;
	op->window_ms = kind == RG_RL_MESSAGES ? lc->msgs.window_ms :
	    lc->rcpts.window_ms;
	op->limit = RG_KV_NOLIMIT;
	return 0;
}

/* rg_lockout_count - judge the counter; lock and refuse when over */
void
rg_lockout_count(struct rg_conn *c, struct rg_kv *kv, enum rg_rl_count kind,
    const struct rg_kv_op *op, long long count, int added,
    struct rg_verdict *v)
{
	const struct rg_lockout_conf *lc = &c->conf->lockout;
	const struct rg_rl_rate *thr = kind == RG_RL_MESSAGES ? &lc->msgs :
	    &lc->rcpts;
	struct rg_buf why = RG_BUF_INIT;
	char reason[128], win[24];

	/* refused by a rate limit: nothing was counted, but attempts count */
	if (!added && rg_kv_count_add(kv, op->key, 1, op->window_ms, &count,
	    &why) != RG_KV_OK) {
		rg_log_id(RG_LOG_WARN, c->id, "lockout: cannot count %s: %s",
		    op->key, rg_buf_cstr(&why));
		rg_buf_release(&why);
		return;
	}
	if (!rg_lockout_over(thr, count))
		return;
	rg_rl_window_format(thr->window_ms, win, sizeof(win));
	snprintf(reason, sizeof(reason), "%lld %s in %s, threshold %lld", count,
	    kind == RG_RL_MESSAGES ? "messages" : "recipients", win, thr->limit);
	if (rg_lockout_lock(kv, lc, c->auth_user, reason, c->id, &why) !=
	    RG_KV_OK)
		rg_log_id(RG_LOG_ERR, c->id, "lockout: cannot lock account %s "
		    "(%s): %s", c->auth_user, reason, rg_buf_cstr(&why));
	lo_refuse(c, v);
	rg_buf_release(&why);
}

/* lo_stamp - "2024-05-01T12:00:00Z" */
static void
lo_stamp(char *out, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%lld", (long long)now);
}

/* rg_lockout_lock - store the lock; alert and notify once */
enum rg_kv_status
rg_lockout_lock(struct rg_kv *kv, const struct rg_lockout_conf *lc,
    const char *login, const char *reason, const char *id, struct rg_buf *why)
{
	char key[RG_KV_KEY_MAX + 1], value[256], stamp[32];
	struct rg_kv_res res = { 0, 1 };
	enum rg_kv_status st;

	rg_lockout_lock_key(login, key, sizeof(key));
	lo_stamp(stamp, sizeof(stamp));
	snprintf(value, sizeof(value), "locked %s: %s", stamp, reason);
	if ((st = rg_kv_set(kv, key, value, strlen(value), 0, why)) != RG_KV_OK)
		return st;
	/* one alert per lock, whichever process or host gets here first */
	rg_lockout_alert_key(login, key, sizeof(key));
	if (rg_kv_incr(kv, key, 1, 1, RG_KV_TTL_MAX, &res, NULL) == RG_KV_OK &&
	    !res.allowed)
		return RG_KV_OK;
	rg_log_id(RG_LOG_ALERT, id, "lockout: account %s locked: %s; its mail "
	    "is %s until an admin runs: relayguardctl unlock %s", login, reason,
	    lc->action == RG_LOCKOUT_HOLD ? "held" : "refused", login);
	if (lc->notify_command[0] != '\0')
		rg_lockout_notify(lc->notify_command, login);
	return RG_KV_OK;
}

/* rg_lockout_unlock - remove lock, alert gate and counters */
enum rg_kv_status
rg_lockout_unlock(struct rg_kv *kv, const struct rg_lockout_conf *lc,
    const char *login, struct rg_buf *why)
{
	char key[RG_KV_KEY_MAX + 1];
	enum rg_kv_status st, rc;
	enum rg_rl_count kinds[] = { RG_RL_MESSAGES, RG_RL_RECIPIENTS };

	rg_lockout_lock_key(login, key, sizeof(key));
	rc = rg_kv_del(kv, key, why);
	if (rc != RG_KV_OK && rc != RG_KV_NOTFOUND)
		return rc;
	rg_lockout_alert_key(login, key, sizeof(key));
	if ((st = rg_kv_del(kv, key, why)) == RG_KV_TEMPFAIL)
		return st;
	/* without this the next message would lock the account again */
	for (size_t i = 0; i < 2; i++)
		if (rg_lockout_count_key(lc, kinds[i], login, key,
		    sizeof(key)) == 0 &&
		    (st = rg_kv_del(kv, key, why)) == RG_KV_TEMPFAIL)
			return st;
	return rc;
}

/* rg_lockout_eom - quarantine a held message of a locked account */
void
rg_lockout_eom(struct rg_conn *c, struct rg_verdict *v)
{
	struct rg_limits_conn *l = c->limits;

	if (l == NULL || l->msgno != c->nmsgs || !l->hold ||
	    rg_verdict_is_final(v))
		return;
	rg_verdict_set(v, RG_ACT_QUARANTINE, LO_CHECK, NULL, NULL,
	    "relayguard: account %s locked", c->auth_user);
}

/* lo_child - the grandchild: only async-signal-safe calls until exec */
static void __attribute__((noreturn))
lo_child(const char *path, char *const argv[], const sigset_t *none,
    const struct sigaction *dfl)
{
	int fd;

	(void)setsid();
	(void)sigprocmask(SIG_SETMASK, none, NULL);
	(void)sigaction(SIGPIPE, dfl, NULL);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		(void)dup2(fd, 0);
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
	}
	(void)close_range(3, ~0U, 0);
	execv(path, argv);
	_exit(127);
}

/* rg_lockout_notify - run the notify program detached, never as root */
int
rg_lockout_notify(const char *path, const char *login)
{
	char *const argv[] = { (char *)path, (char *)login, NULL };
	struct sigaction dfl;
	sigset_t none;
	pid_t pid, g;
	int st = 0;

	if (geteuid() == 0 || getuid() == 0) {
		rg_log_error("lockout: not running %s as root", path);
		return -1;
	}
	if (access(path, X_OK) != 0) {
		rg_log_error("lockout: cannot run %s: %s", path, strerror(errno));
		return -1;
	}
	/* prepared before fork: the children may only make safe calls */
	sigemptyset(&none);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	if ((pid = fork()) < 0) {
		rg_log_error_errno("lockout: fork for %s", path);
		return -1;
	}
	if (pid == 0) {
		/* the middle child exits at once: init adopts the program */
		if ((g = fork()) == 0)
			lo_child(path, argv, &none, &dfl);
		_exit(g < 0 ? 1 : 0);
	}
	while ((g = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (g < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		rg_log_error("lockout: cannot start %s", path);
		return -1;
	}
	rg_log_info("lockout: started %s %s", path, login);
	return 0;
}
