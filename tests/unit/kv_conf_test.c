/*
 * kv_conf_test.c - the counter store's parameters: defaults, redis_server
 * forms, bad values with their line, the password masked in dumps, the
 * password file refused when others may read it, cross-checks.
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

static char tmpdir[] = "/tmp/rgkvconfXXXXXX";

/* tmp_path - tmpdir/name (one of four rotating buffers) */
static const char *
tmp_path(const char *name)
{
	static char path[4][512];
	static int slot;
	char *p = path[slot++ % 4];

	snprintf(p, 512, "%s/%s", tmpdir, name);
	return p;
}

static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	const char *p = tmp_path(name);
	FILE *fp = fopen(p, "w");

	fputs(text, fp);
	fclose(fp);
	chmod(p, mode);
	return p;
}

static struct rg_conf *
load_text(const char *text, struct rg_buf *err)
{
	rg_buf_reset(err);
	return rg_conf_load(write_file("t.conf", text, 0644), err, NULL);
}

static void
setup(void)
{
	rgt_mkdtemp(tmpdir);
}

static void
test_defaults(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c = rg_conf_load(NULL, &err, NULL);

	RGT_CASE("defaults");
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c == NULL)
		return;
	RGT_INTEQ(c->kv.backend, RG_KV_BACKEND_MEMORY);
	RGT_INTEQ(c->kv.mem_max_entries, 100000);
	RGT_STREQ(c->kv.redis_server.host, "127.0.0.1");
	RGT_INTEQ(c->kv.redis_server.port, 6379);
	RGT_CHECK(c->kv.redis_server.path == NULL, "path set");
	RGT_STREQ(c->kv.redis_password, "");
	RGT_CHECK(c->kv.redis_password_file.value == NULL, "password file set");
	RGT_INTEQ(c->kv.redis_database, 0);
	RGT_STREQ(c->kv.redis_prefix, "rg:");
	RGT_INTEQ(c->kv.redis_connect_timeout, 500);
	RGT_INTEQ(c->kv.redis_command_timeout, 200);
	RGT_INTEQ(c->kv.redis_reconnect_delay, 1000);
	RGT_INTEQ(c->kv.redis_reconnect_max_delay, 30000);
	RGT_INTEQ(c->kv.redis_failure_mode, RG_KV_FAIL_OPEN);
	rg_conf_release(c);
	rg_buf_release(&err);
}

static void
test_servers(void)
{
	static const struct {
		const char *value, *host, *path;
		int port;
	} good[] = {
		{ "127.0.0.1:6380", "127.0.0.1", NULL, 6380 },
		{ "redis.example.net:7000", "redis.example.net", NULL, 7000 },
		{ "localhost", "localhost", NULL, 6379 },
		{ "[::1]:6390", "::1", NULL, 6390 },
		{ "[::1]", "::1", NULL, 6379 },
		{ "unix:/run/redis/redis.sock", NULL, "/run/redis/redis.sock", 0 },
	};
	static const char *const bad[] = {
		"::1:6379", "unix:run/redis.sock", "host:0", "host:65536", "host:x",
		"[::1", "[::1]x", ":6379", "[]:6379",
	};
	struct rg_buf err = RG_BUF_INIT;
	char text[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct rg_conf *c;

		RGT_CASE(good[i].value);
		snprintf(text, sizeof(text), "redis_server = %s\n", good[i].value);
		c = load_text(text, &err);
		RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
		if (c == NULL)
			continue;
		if (good[i].host)
			RGT_STREQ(c->kv.redis_server.host, good[i].host);
		else
			RGT_CHECK(c->kv.redis_server.host == NULL, "host set");
		if (good[i].path)
			RGT_STREQ(c->kv.redis_server.path, good[i].path);
		RGT_INTEQ(c->kv.redis_server.port, good[i].port);
		rg_conf_release(c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		RGT_CASE(bad[i]);
		snprintf(text, sizeof(text), "# a comment\nredis_server = %s\n", bad[i]);
		RGT_CHECK(load_text(text, &err) == NULL, "accepted");
		RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:2: redis_server");
	}
	rg_buf_release(&err);
}

static void
test_values(void)
{
	static const struct {
		const char *text, *want;	/* want NULL: accepted */
	} cases[] = {
		{ "kv_backend = redis\n", NULL },
		{ "kv_backend = sql\n", "t.conf:1: kv_backend" },
		{ "kv_mem_max_entries = 50\n", "t.conf:1: kv_mem_max_entries" },
		{ "redis_prefix = mx1/rg:\n", NULL },
		{ "redis_prefix = a b\n", "white space" },
		{ "redis_prefix = "
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		  "longer than 64" },
		{ "redis_database = 15\n", NULL },
		{ "redis_database = -1\n", "t.conf:1: redis_database" },
		{ "redis_command_timeout = 5ms\n", "t.conf:1: redis_command_timeout" },
		{ "redis_failure_mode = tempfail\n", NULL },
		{ "redis_failure_mode = accept\n", "t.conf:1: redis_failure_mode" },
		{ "redis_reconnect_delay = 10s\nredis_reconnect_max_delay = 5s\n",
		  "redis_reconnect_max_delay is shorter" },
	};
	struct rg_buf err = RG_BUF_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rg_conf *c;

		RGT_CASE(cases[i].text);
		c = load_text(cases[i].text, &err);
		if (cases[i].want == NULL) {
			RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
		} else {
			RGT_CHECK(c == NULL, "accepted");
			RGT_CONTAINS(rg_buf_cstr(&err), cases[i].want);
		}
		rg_conf_release(c);
	}
	RGT_CASE("values land in the struct");
	{
		struct rg_conf *c = load_text("kv_backend = redis\n"
		    "redis_failure_mode = tempfail\nredis_database = 3\n"
		    "redis_prefix = mx1:\nredis_command_timeout = 1s\n", &err);

		RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
		if (c != NULL) {
			RGT_INTEQ(c->kv.backend, RG_KV_BACKEND_REDIS);
			RGT_INTEQ(c->kv.redis_failure_mode, RG_KV_FAIL_TEMPFAIL);
			RGT_INTEQ(c->kv.redis_database, 3);
			RGT_STREQ(c->kv.redis_prefix, "mx1:");
			RGT_INTEQ(c->kv.redis_command_timeout, 1000);
		}
		rg_conf_release(c);
	}
	rg_buf_release(&err);
}

static void
test_secrets(void)
{
	struct rg_buf err = RG_BUF_INIT, out = RG_BUF_INIT;
	struct rg_conf *c;
	char text[1024], pw[512];

	RGT_CASE("the password is masked in -d");
	c = load_text("redis_password = s3cr3t-pw\n", &err);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_STREQ(c->kv.redis_password, "s3cr3t-pw");
		RGT_STREQ(rg_conf_raw(c, "redis_password"), "********");
		rg_conf_dump(c, &out);
		RGT_CHECK(strstr(rg_buf_cstr(&out), "s3cr3t-pw") == NULL,
		    "password in the dump");
		RGT_CONTAINS(rg_buf_cstr(&out), "redis_password = ********");
	}
	rg_conf_release(c);

	RGT_CASE("password file: first line, owner only");
	snprintf(pw, sizeof(pw), "%s", write_file("pw", "file-pw\nsecond line\n",
	    0600));
	snprintf(text, sizeof(text), "redis_password_file = %s\n", pw);
	c = load_text(text, &err);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_STREQ(c->kv.redis_password_file.value, "file-pw");
		rg_buf_reset(&out);
		rg_conf_dump(c, &out);
		RGT_CHECK(strstr(rg_buf_cstr(&out), "file-pw") == NULL,
		    "file password in the dump");
	}
	rg_conf_release(c);
	RGT_CASE("password file: group may read");
	chmod(pw, 0640);
	c = load_text(text, &err);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	rg_conf_release(c);
	RGT_CASE("password file: others may read, refused");
	chmod(pw, 0644);
	RGT_CHECK(load_text(text, &err) == NULL, "accepted");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:1: redis_password_file");
	RGT_CONTAINS(rg_buf_cstr(&err), "others may read");
	RGT_CASE("password file: others may write, refused");
	chmod(pw, 0602);
	RGT_CHECK(load_text(text, &err) == NULL, "accepted");
	chmod(pw, 0600);
	RGT_CASE("password file and password both");
	snprintf(text, sizeof(text), "redis_password = x\nredis_password_file = %s\n", pw);
	RGT_CHECK(load_text(text, &err) == NULL, "accepted");
	RGT_CONTAINS(rg_buf_cstr(&err), "both set");
	RGT_CASE("password file: missing, relative, empty, a directory");
	snprintf(text, sizeof(text), "redis_password_file = %s\n", tmp_path("nope"));
	RGT_CHECK(load_text(text, &err) == NULL, "accepted");
	RGT_CONTAINS(rg_buf_cstr(&err), "No such file");
	RGT_CHECK(load_text("redis_password_file = pw\n", &err) == NULL, "accepted");
	RGT_CONTAINS(rg_buf_cstr(&err), "absolute");
	snprintf(text, sizeof(text), "redis_password_file = %s\n",
	    write_file("empty", "\n", 0600));
	RGT_CHECK(load_text(text, &err) == NULL, "accepted");
	RGT_CONTAINS(rg_buf_cstr(&err), "empty");
	snprintf(text, sizeof(text), "redis_password_file = %s\n", tmpdir);
	chmod(tmpdir, 0700);
	RGT_CHECK(load_text(text, &err) == NULL, "accepted");
	RGT_CONTAINS(rg_buf_cstr(&err), "not a regular file");
	rg_buf_release(&err);
	rg_buf_release(&out);
}

static void
teardown(void)
{
	static const char *const files[] = { "t.conf", "pw", "empty" };

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(tmp_path(files[i]));
	rmdir(tmpdir);
}

RGT_MAIN(setup, test_defaults, test_servers, test_values, test_secrets, teardown)
