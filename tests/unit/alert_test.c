/*
 * alert_test.c - volume alerts: the window logic on a fake clock (quiet up
 * to the rate, raised once when it is passed, suppressed for the rest of
 * the window, raised again in a later window), a store that cannot answer,
 * the settings and their errors, what counts as a relayed message, the
 * window as text, and rg_alert_spawn running a real program with its
 * argument vector (and failing cleanly for a missing one).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "conf.h"
#include "kv.h"
#include "metrics.h"
#include "session.h"
#include "settings.h"
#include "rgtest.h"
#include "rgtest_conf.h"

static char tmpdir[] = "/tmp/rgalertXXXXXX";

/* the fake clock: ms since the epoch, at a window edge plus 1 s */
static long long fake_now = 60000LL * 29000000 + 1000;

static long long
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

/* the fake runner: remembers each argv */
struct runs {
	int n;
	char argv[8][RG_ALERT_ARGS][64];
};

static int
fake_run(const char *const *argv, void *arg)
{
	struct runs *r = arg;

	if (r->n < 8)
		for (int i = 0; i < RG_ALERT_ARGS - 1 && argv[i]; i++)
			snprintf(r->argv[r->n][i], 64, "%s", argv[i]);
	r->n++;
	return 0;
}

/* tmp_file - tmpdir/name */
static const char *
tmp_file(const char *name)
{
	static char path[2][512];
	static int slot;
	char *p = path[slot++ % 2];

	snprintf(p, 512, "%s/%s", tmpdir, name);
	return p;
}

static struct rg_conf *
load_text(const char *text, struct rg_buf *err)
{
	const char *p = tmp_file("t.conf");
	FILE *fp = fopen(p, "w");

	fputs(text, fp);
	fclose(fp);
	rg_buf_reset(err);
	return rg_conf_load(p, err, NULL);
}

/* new_alert - an alert on its own memory store, fake clock and runner */
static struct rg_alert *
new_alert(const struct rg_conf *c, struct runs *runs)
{
	struct rg_buf why = RG_BUF_INIT;
	struct rg_alert *a = rg_alert_create(NULL, &c->kv, &why);

	RGT_CHECK(a != NULL, "create: %s", rg_buf_cstr(&why));
	rg_buf_release(&why);
	if (a == NULL)
		exit(1);
	rg_alert_set_clock(a, fake_clock, NULL);
	rg_alert_set_runner(a, fake_run, runs);
	return a;
}

static void
test_window(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c = load_text("alert_outbound_rate = 3/1m\n"
	    "alert_command = /usr/local/bin/page-me\n", &err);
	struct runs runs = { 0 };
	struct rg_alert *a;
	long long n;
	int fired = 0;

	RGT_CASE("window: quiet, raised once, suppressed");
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c == NULL)
		return;
	a = new_alert(c, &runs);
	rg_metrics_reset();
	for (int i = 1; i <= 3; i++) {
		RGT_INTEQ(rg_alert_relayed(a, &c->alert, "T", 1, &n), RG_ALERT_QUIET);
		RGT_INTEQ(n, i);
		fake_now += 1000;
	}
	RGT_INTEQ(runs.n, 0);
	RGT_INTEQ(rg_alert_relayed(a, &c->alert, "T", 1, &n), RG_ALERT_FIRED);
	RGT_INTEQ(n, 4);
	RGT_INTEQ(runs.n, 1);
	RGT_STREQ(runs.argv[0][0], "/usr/local/bin/page-me");
	RGT_STREQ(runs.argv[0][1], "outbound_rate");
	RGT_STREQ(runs.argv[0][2], "4");
	RGT_STREQ(runs.argv[0][3], "1m");
	RGT_INTEQ(rg_metrics_get_label("alert", "outbound_rate", NULL), 1);
	for (int i = 0; i < 20; i++) {
		fake_now += 2000;
		RGT_INTEQ(rg_alert_relayed(a, &c->alert, "T", 1, NULL),
		    RG_ALERT_SUPPRESSED);
	}
	RGT_INTEQ(runs.n, 1);

	RGT_CASE("window: raised again once the window has passed");
	fake_now += 21000;	/* 61 s after the alert; still over the rate */
	for (int i = 0; i < 10; i++)
		fired += rg_alert_relayed(a, &c->alert, "T", 1, NULL) == RG_ALERT_FIRED;
	RGT_INTEQ(fired, 1);
	RGT_INTEQ(runs.n, 2);

	RGT_CASE("window: quiet again after two quiet windows");
	fake_now += 180000;
	for (int i = 1; i <= 3; i++)
		RGT_INTEQ(rg_alert_relayed(a, &c->alert, "T", 1, &n), RG_ALERT_QUIET);
	RGT_INTEQ(n, 3);
	RGT_INTEQ(rg_alert_relayed(a, &c->alert, "T", 1, &n), RG_ALERT_FIRED);
	RGT_INTEQ(runs.n, 3);
	rg_alert_free(a);
	rg_conf_release(c);
	rg_buf_release(&err);
}

static void
test_off_and_no_command(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c = load_text("alert_outbound_rate = 1/1h\n", &err);
	struct rg_conf *off = load_text("log_level = info\n", &err);
	struct runs runs = { 0 };
	struct rg_alert *a;

	RGT_CASE("off: no rate, nothing counted; no command: log only");
	if (c == NULL || off == NULL)
		return;
	a = new_alert(c, &runs);
	RGT_INTEQ(rg_alert_relayed(a, &off->alert, "T", 1, NULL), RG_ALERT_OFF);
	RGT_INTEQ(rg_alert_relayed(NULL, &c->alert, "T", 1, NULL), RG_ALERT_OFF);
	RGT_INTEQ(rg_alert_relayed(a, &c->alert, "T", 1, NULL), RG_ALERT_QUIET);
	RGT_INTEQ(rg_alert_relayed(a, &c->alert, "T", 1, NULL), RG_ALERT_FIRED);
	RGT_INTEQ(runs.n, 0);
	rg_alert_free(a);
	rg_conf_release(c);
	rg_conf_release(off);
	rg_buf_release(&err);
}

static void
test_store_down(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c = load_text("alert_outbound_rate = 1/1m\n"
	    "kv_backend = redis\nredis_server = 127.0.0.1:1\n"
	    "redis_connect_timeout = 100ms\n", &err);
	struct runs runs = { 0 };
	struct rg_alert *a;

	RGT_CASE("store down: tempfail, no alert, no crash");
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c == NULL)
		return;
	a = new_alert(c, &runs);
	RGT_INTEQ(rg_alert_relayed(a, &c->alert, "T", 1, NULL), RG_ALERT_TEMPFAIL);
	RGT_INTEQ(rg_alert_relayed(a, &c->alert, "T", 5, NULL), RG_ALERT_TEMPFAIL);
	RGT_INTEQ(runs.n, 0);
	rg_alert_free(a);
	rg_conf_release(c);
	rg_buf_release(&err);
}

static void
test_settings(void)
{
	static const struct {
		const char *text;
		long long count, window;	/* count -1: an error */
		const char *err;
	} t[] = {
		{ "alert_outbound_rate = 2000/10m\n", 2000, 600000, NULL },
		{ "alert_outbound_rate = 1/1s\n", 1, 1000, NULL },
		{ "alert_outbound_rate = 5/90\n", 5, 90000, NULL },
		{ "alert_outbound_rate =\n", 0, 0, NULL },
		{ "alert_outbound_rate = 0/10m\n", -1, 0, "t.conf:1: alert_outbound_rate: expected count/window" },
		{ "alert_outbound_rate = 10\n", -1, 0, "expected count/window" },
		{ "alert_outbound_rate = /10m\n", -1, 0, "expected count/window" },
		{ "alert_outbound_rate = 10/\n", -1, 0, "expected count/window" },
		{ "alert_outbound_rate = 10/10x\n", -1, 0, "expected count/window" },
		{ "alert_outbound_rate = 10/500ms\n", -1, 0, "expected count/window" },
		{ "alert_outbound_rate = -3/1m\n", -1, 0, "expected count/window" },
		{ "\nalert_command = page-me\n", -1, 0, "t.conf:2: alert_command: expected the absolute path" },
		{ "alert_command = /bin/page --now\n", -1, 0, "alert_command: expected the absolute path" },
	};
	struct rg_buf err = RG_BUF_INIT;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct rg_conf *c = load_text(t[i].text, &err);

		RGT_CASE(t[i].text);
		if (t[i].count < 0) {
			RGT_CHECK(c == NULL, "accepted");
			RGT_CONTAINS(rg_buf_cstr(&err), t[i].err);
			continue;
		}
		RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
		if (c == NULL)
			continue;
		RGT_INTEQ(c->alert.outbound_rate.count, t[i].count);
		RGT_INTEQ(c->alert.outbound_rate.window_ms, t[i].window);
		rg_conf_release(c);
	}
	rg_buf_release(&err);
}

static void
test_window_text(void)
{
	static const struct { long long ms; const char *want; } t[] = {
		{ 600000, "10m" }, { 60000, "1m" }, { 90000, "90s" },
		{ 1500, "1500ms" }, { 3600000, "1h" }, { 86400000, "1d" },
		{ 604800000, "1w" }, { 5400000, "90m" },
	};
	char buf[32];

	RGT_CASE("window text");
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rg_alert_window_text(t[i].ms, buf, sizeof(buf));
		RGT_STREQ(buf, t[i].want);
	}
}

/* conn_from - a connection from addr with one message and recipients */
static struct rg_conn *
conn_from(struct rg_conf *c, const char *addr, const char *user,
    const char *const *rcpts, size_t n)
{
	struct rg_conn *conn = rg_conn_new(c, 1);
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin.sin_addr);
	rg_conn_set_client(conn, "client.example", (struct sockaddr *)&sin);
	snprintf(conn->auth_user, sizeof(conn->auth_user), "%s", user);
	rg_msg_begin(conn);
	for (size_t i = 0; i < n; i++)
		rg_msg_add_rcpt(conn, rcpts[i]);
	return conn;
}

static void
test_is_relay(void)
{
	static const char *const foreign[] = { "<a@ours.example>", "<b@far.example>" };
	static const char *const ours[] = { "<a@ours.example>", "<b@sub.ours.example>" };
	static const char *const trick[] = { "<b%far.example@ours.example>" };
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c = load_text("local_domains = ours.example, .ours.example\n"
	    "trusted_networks = 198.51.100.0/24\n", &err);
	struct rg_verdict ok, rej;
	struct rg_conn *conn;

	RGT_CASE("is_relay");
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c == NULL)
		return;
	rg_verdict_init(&ok);
	rg_verdict_init(&rej);
	rg_verdict_set(&rej, RG_ACT_REJECT, "dmarc", "550", "5.7.1", "no");
	/* each conn takes a reference of its own */
	for (int i = 0; i < 5; i++)
		atomic_fetch_add(&c->refs, 1);
	conn = conn_from(c, "198.51.100.7", "", foreign, 2);
	RGT_CHECK(rg_alert_is_relay(conn, &ok), "trusted to foreign: not relay");
	RGT_CHECK(!rg_alert_is_relay(conn, &rej), "a rejected message counted");
	conn->msg->rcpts[1].action = RG_ACT_REJECT;
	RGT_CHECK(!rg_alert_is_relay(conn, &ok), "a refused recipient counted");
	rg_conn_free(conn);
	conn = conn_from(c, "198.51.100.7", "", ours, 2);
	RGT_CHECK(!rg_alert_is_relay(conn, &ok), "local mail counted as relay");
	rg_conn_free(conn);
	conn = conn_from(c, "198.51.100.7", "", trick, 1);
	RGT_CHECK(rg_alert_is_relay(conn, &ok), "a percent hack is not relay");
	rg_conn_free(conn);
	conn = conn_from(c, "192.0.2.7", "", foreign, 2);
	RGT_CHECK(!rg_alert_is_relay(conn, &ok), "untrusted client counted");
	rg_conn_free(conn);
	conn = conn_from(c, "192.0.2.7", "alice", foreign, 2);
	RGT_CHECK(rg_alert_is_relay(conn, &ok), "logged-in client not counted");
	rg_conn_free(conn);
	rg_verdict_clear(&rej);
	rg_conf_release(c);
	rg_buf_release(&err);
}

/* wait_file - the contents of path once it has a newline (5 s at most) */
static int
wait_file(const char *path, char *buf, size_t size)
{
	for (int i = 0; i < 500; i++) {
		FILE *fp = fopen(path, "r");
		size_t n = 0;

		if (fp != NULL) {
			n = fread(buf, 1, size - 1, fp);
			fclose(fp);
			buf[n] = '\0';
			if (strchr(buf, '\n') != NULL)
				return 0;
		}
		usleep(10000);
	}
	return -1;
}

static void
test_spawn(void)
{
	char script[512], out[512], got[1200], err[200], text[2600];
	const char *argv[RG_ALERT_ARGS] = { script, "outbound_rate", "4",
	    "1m", NULL };
	const char *missing[] = { "/nonexistent/relayguard-alert", "x", NULL };
	FILE *fp;

	RGT_CASE("spawn: argv reaches the program, stdin is /dev/null");
	snprintf(script, sizeof(script), "%s", tmp_file("alert.sh"));
	snprintf(out, sizeof(out), "%s", tmp_file("argv.out"));
	snprintf(text, sizeof(text), "#!/bin/sh\n"
	    "read line; r=$?\n"
	    "printf '%%s|' \"$0\" \"$@\" \"stdin=$r\" >%s.tmp\n"
	    "echo >>%s.tmp\nmv %s.tmp %s\n", out, out, out, out);
	fp = fopen(script, "w");
	fputs(text, fp);
	fclose(fp);
	chmod(script, 0755);
	RGT_INTEQ(rg_alert_spawn(argv, err, sizeof(err)), 0);
	RGT_CHECK(wait_file(out, got, sizeof(got)) == 0, "no output from the script");
	snprintf(text, sizeof(text), "%s|outbound_rate|4|1m|stdin=1|\n", script);
	RGT_STREQ(got, text);
	unlink(out);
	unlink(script);

	RGT_CASE("spawn: a missing program is reported");
	err[0] = '\0';
	RGT_INTEQ(rg_alert_spawn(missing, err, sizeof(err)), -1);
	RGT_CONTAINS(err, "No such file");
}

static void
setup(void)
{
	rgt_mkdtemp(tmpdir);
}

static void
cleanup(void)
{
	unlink(tmp_file("t.conf"));
	rmdir(tmpdir);
}

RGT_MAIN(setup, test_window, test_off_and_no_command, test_store_down,
    test_settings, test_window_text, test_is_relay, test_spawn, cleanup)
