/*
 * conf_test.c - the relayguard.conf parser: good files, every kind of
 * error with its line number, continuation lines, file: data sets,
 * dumping, and snapshot reference counting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "settings.h"
#include "rgtest.h"
#include "rgtest_conf.h"

static char tmpdir[] = "/tmp/rgconfXXXXXX";

#define write_file(name, text) rgt_write_file(tmpdir, name, text)

/* load_text - load a config from text; errors and warnings returned */
static struct rg_conf *
load_text(const char *text, struct rg_buf *err, struct rg_buf *warn)
{
	rg_buf_reset(err);
	rg_buf_reset(warn);
	return rg_conf_load(write_file("t.conf", text), err, warn);
}

static void
test_good(void)
{
	struct rg_buf err = RG_BUF_INIT, warn = RG_BUF_INIT;
	struct rg_conf *c;

	RGT_CASE("good file");
	c = load_text(
	    "# a comment\n"
	    "\n"
	    "socket = unix:/run/relayguard/relayguard.sock\n"
	    "  # comment inside is ignored\n"
	    "user=mailfilter\n"
	    "allow_root = Yes\n"
	    "log_level = DEBUG\n"
	    "milter_timeout = 2m\n"
	    "max_header_bytes = 512k\n"
	    "max_recipients = 50\n"
	    "debug_modules = relay, spf\n"
	    "   dns\n"
	    "\tkv\n"
	    "authserv_id = mx.example.com\n", &err, &warn);
	RGT_CHECK(c != NULL, "load failed: %s", rg_buf_cstr(&err));
	if (c == NULL)
		return;
	RGT_STREQ(c->core.socket, "unix:/run/relayguard/relayguard.sock");
	RGT_STREQ(c->core.user, "mailfilter");
	RGT_INTEQ(c->core.allow_root, 1);
	RGT_INTEQ(c->core.log_level, 5);
	RGT_INTEQ(c->core.milter_timeout, 120000);
	RGT_INTEQ(c->core.max_header_bytes, 512 * 1024);
	RGT_INTEQ(c->core.max_recipients, 50);
	RGT_INTEQ(c->core.debug_modules.n, 4);
	if (c->core.debug_modules.n == 4) {
		RGT_STREQ(c->core.debug_modules.v[0], "relay");
		RGT_STREQ(c->core.debug_modules.v[2], "dns");
		RGT_STREQ(c->core.debug_modules.v[3], "kv");
	}
	RGT_STREQ(c->core.authserv_id, "mx.example.com");
	/* untouched parameters keep their defaults */
	RGT_INTEQ(c->core.max_headers, 1000);
	RGT_STREQ(c->core.pidfile, "");
	RGT_STREQ(rg_buf_cstr(&warn), "");
	rg_conf_release(c);
	rg_buf_release(&err);
	rg_buf_release(&warn);
}

static void
test_units(void)
{
	static const struct {
		const char *text;
		long long want;
	} times[] = {
		{ "milter_timeout = 500ms", -1 },	/* below the 1s minimum */
		{ "milter_timeout = 5", 5000 },
		{ "milter_timeout = 5s", 5000 },
		{ "milter_timeout = 5m", 300000 },
		{ "milter_timeout = 1h", 3600000 },
		{ "milter_timeout = 1d", 86400000 },
		{ "milter_timeout = 2w", -1 },		/* above the 1d maximum */
		{ "milter_timeout = 5x", -1 },
		{ "milter_timeout = -5s", -1 },
		{ "milter_timeout = s", -1 },
		{ "milter_timeout = 99999999999999999999s", -1 },
	};
	struct rg_buf err = RG_BUF_INIT, warn = RG_BUF_INIT;

	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		char text[128];
		struct rg_conf *c;

		RGT_CASE(times[i].text);
		snprintf(text, sizeof(text), "%s\n", times[i].text);
		c = load_text(text, &err, &warn);
		if (times[i].want < 0) {
			RGT_CHECK(c == NULL, "accepted a bad time");
			RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:1: milter_timeout");
		} else {
			RGT_CHECK(c != NULL, "rejected: %s", rg_buf_cstr(&err));
			if (c)
				RGT_INTEQ(c->core.milter_timeout, times[i].want);
		}
		rg_conf_release(c);
	}
	rg_buf_release(&err);
	rg_buf_release(&warn);
}

static void
test_errors(void)
{
	static const struct {
		const char *name, *text, *want;
	} cases[] = {
		{ "unknown with hint", "log_levl = info\n",
		    "t.conf:1: unknown parameter \"log_levl\" (did you mean \"log_level\"?)" },
		{ "unknown without hint", "\n\nfrobnicate_everything = 1\n",
		    "t.conf:3: unknown parameter \"frobnicate_everything\"\n" },
		{ "missing equals", "# c\nuser nobody\n",
		    "t.conf:2: expected \"name = value\"" },
		{ "empty name", "= 5\n", "t.conf:1: missing parameter name" },
		{ "bad name", "User = x\n", "t.conf:1: bad parameter name \"User\"" },
		{ "bad bool", "\nallow_root = maybe\n",
		    "t.conf:2: allow_root: expected yes or no, not \"maybe\"" },
		{ "bad int", "max_headers = 12abc\n",
		    "t.conf:1: max_headers: expected a number" },
		{ "int below range", "max_headers = 9\n",
		    "t.conf:1: max_headers: value \"9\" out of range" },
		{ "int above range", "max_recipients = 100001\n",
		    "t.conf:1: max_recipients: value \"100001\" out of range" },
		{ "bad size", "max_header_bytes = 12q\n",
		    "t.conf:1: max_header_bytes: expected a size" },
		{ "bad enum", "log_format = xml\n",
		    "t.conf:1: log_format: expected one of kv|json, not \"xml\"" },
		{ "leading continuation", "  user = x\n",
		    "t.conf:1: continuation line without a parameter" },
		{ "bad socket", "socket = tcp:25\n",
		    "t.conf:1: socket: expected unix:/path" },
		{ "relative unix socket", "socket = unix:relayguard.sock\n",
		    "t.conf:1: socket: unix socket path must be absolute" },
		{ "bad port", "socket = inet:0@127.0.0.1\n",
		    "t.conf:1: socket: bad port" },
		{ "missing file", "user = x\ndebug_modules = file:/nonexistent/list\n",
		    "t.conf:2: cannot open /nonexistent/list" },
		{ "continuation keeps the start line",
		    "user = x\nmax_recipients =\n  abc\n",
		    "t.conf:2: max_recipients: expected a number, not \"abc\"" },
		{ "error after continuation",
		    "debug_modules = a\n  b\nlog_level = x\n",
		    "t.conf:3: log_level" },
		{ "two errors (first)", "log_level = x\nlog_format = y\n",
		    "t.conf:1: log_level: expected one of alert|error|warning|"
		    "notice|info|debug, not \"x\"\n" },
		{ "two errors (second)", "log_level = x\nlog_format = y\n",
		    "t.conf:2: log_format: expected one of kv|json, not \"y\"\n" },
	};
	struct rg_buf err = RG_BUF_INIT, warn = RG_BUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rg_conf *c;

		RGT_CASE(cases[i].name);
		c = load_text(cases[i].text, &err, &warn);
		RGT_CHECK(c == NULL, "accepted a bad file");
		RGT_CONTAINS(rg_buf_cstr(&err), cases[i].want);
		rg_conf_release(c);
	}

	RGT_CASE("missing config file");
	rg_buf_reset(&err);
	RGT_CHECK(rg_conf_load("/nonexistent/relayguard.conf", &err, NULL) == NULL,
	    "loaded a missing file");
	RGT_CONTAINS(rg_buf_cstr(&err), "/nonexistent/relayguard.conf: cannot open");
	rg_buf_release(&err);
	rg_buf_release(&warn);
}

static void
test_files(void)
{
	struct rg_buf err = RG_BUF_INIT, warn = RG_BUF_INIT;
	struct rg_conf *c;
	char text[1024];

	RGT_CASE("file: data set, absolute and relative");
	write_file("mods", "# modules to debug\nrelay spf   # two on a line\n\n"
	    "dns,kv\n");
	snprintf(text, sizeof(text), "debug_modules = engine, file:%s/mods, "
	    "file:mods\n", tmpdir);
	c = load_text(text, &err, &warn);
	RGT_CHECK(c != NULL, "load failed: %s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_INTEQ(c->core.debug_modules.n, 9);
		RGT_CHECK(c->core.debug_modules.n == 9 &&
		    strcmp(c->core.debug_modules.v[0], "engine") == 0 &&
		    strcmp(c->core.debug_modules.v[1], "relay") == 0 &&
		    strcmp(c->core.debug_modules.v[4], "kv") == 0 &&
		    strcmp(c->core.debug_modules.v[8], "kv") == 0,
		    "wrong items from file");
		RGT_CHECK(rg_strlist_contains(&c->core.debug_modules, "dns"),
		    "dns missing");
	}
	rg_conf_release(c);

	RGT_CASE("duplicate setting warns, last wins");
	c = load_text("user = a\nlog_level = info\nuser = b\n", &err, &warn);
	RGT_CHECK(c != NULL, "load failed: %s", rg_buf_cstr(&err));
	if (c != NULL)
		RGT_STREQ(c->core.user, "b");
	RGT_CONTAINS(rg_buf_cstr(&warn), "t.conf:3: user is also set at line 1");
	rg_conf_release(c);
	rg_buf_release(&err);
	rg_buf_release(&warn);
}

static void
test_dump(void)
{
	struct rg_buf err = RG_BUF_INIT, warn = RG_BUF_INIT, out = RG_BUF_INIT;
	struct rg_conf *c;

	RGT_CASE("dump");
	c = load_text("user = mailfilter\n", &err, &warn);
	if (c == NULL) {
		RGT_CHECK(0, "load failed");
		return;
	}
	rg_conf_dump(c, &out);
	RGT_CONTAINS(rg_buf_cstr(&out), "\nuser = mailfilter\n");
	RGT_CONTAINS(rg_buf_cstr(&out), "log_level = info");
	RGT_CONTAINS(rg_buf_cstr(&out), "# default");
	/* every parameter appears in the dump */
	for (size_t i = 0; i < rg_conf_param_count(); i++) {
		char want[128];

		snprintf(want, sizeof(want), "\n%s = ", rg_conf_param_at(i, NULL)->name);
		RGT_CONTAINS(rg_buf_cstr(&out), want);
	}
	rg_conf_release(c);
	rg_buf_release(&out);
	rg_buf_release(&err);
	rg_buf_release(&warn);
}

static void
test_defaults(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c;

	RGT_CASE("embedded defaults");
	c = rg_conf_load(NULL, &err, NULL);
	RGT_CHECK(c != NULL, "defaults do not load: %s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_STREQ(c->core.socket, "inet:8894@127.0.0.1");
		RGT_STREQ(c->core.user, "nobody");
		RGT_INTEQ(c->core.allow_root, 0);
	}
	rg_conf_release(c);
	rg_buf_release(&err);
}

static void
test_snapshots(void)
{
	struct rg_conf *a = rg_conf_load(NULL, NULL, NULL);
	struct rg_conf *b = rg_conf_load(NULL, NULL, NULL);
	struct rg_conf *pin, *now;

	RGT_CASE("snapshots");
	rg_conf_install(a);
	pin = rg_conf_acquire();	/* a session in flight */
	RGT_CHECK(pin == a, "acquire did not return the installed snapshot");
	RGT_INTEQ(atomic_load(&a->refs), 2);
	rg_conf_install(b);
	now = rg_conf_acquire();
	RGT_CHECK(now == b, "new sessions do not get the new snapshot");
	RGT_CHECK(rg_conf_generation(b) == rg_conf_generation(a) + 1,
	    "generation not incremented");
	/* the old snapshot is still whole for the session that pinned it */
	RGT_INTEQ(atomic_load(&pin->refs), 1);
	RGT_STREQ(pin->core.user, "nobody");
	rg_conf_release(pin);
	rg_conf_release(now);
	RGT_INTEQ(atomic_load(&b->refs), 1);
}

static void
setup(void)
{
	rgt_mkdtemp(tmpdir);
}

static void
teardown(void)
{
	rgt_rmtree(tmpdir);
}

RGT_MAIN(setup, test_good, test_units, test_errors, test_files, test_dump,
    test_defaults, test_snapshots, teardown)
