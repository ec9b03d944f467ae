/*
 * metrics_test.c - the metrics registry and its exposition: golden text of
 * the writers (counter, labels, escaping, histogram), the registry's
 * bounded labels (undeclared values count as "other" and never add a
 * series), every reason and result the modules produce is declared, the
 * whole rendering is well-formed text format 0.0.4 (HELP and TYPE before
 * the samples, names and label syntax), no configured secret appears,
 * metrics_listen forms and the loopback rule with its file:line.
 */
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "address.h"
#include "conf.h"
#include "dmarc.h"
#include "kv.h"
#include "metrics.h"
#include "session.h"
#include "settings.h"
#include "spf.h"
#include "rgtest.h"
#include "rgtest_conf.h"

static char tmpdir[] = "/tmp/rgmetricsXXXXXX";

/* load_text - a configuration from text, via a file in tmpdir */
static struct rg_conf *
load_text(const char *text, struct rg_buf *err)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
	fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
	rg_buf_reset(err);
	return rg_conf_load(path, err, NULL);
}

/* render - the whole exposition into a fresh buffer (caller releases) */
static void
render(struct rg_buf *out)
{
	rg_buf_reset(out);
	rg_metrics_render(out);
}

/* count_lines - lines of text */
static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_writers_golden(void)
{
	struct rg_buf b = RG_BUF_INIT;
	const char *l1[] = { "result", "pass" };
	const char *l2[] = { "verdict", "reject", "check", "we\"ird\\\nvalue" };

	RGT_CASE("golden: counter with labels and escaping");
	rg_metrics_write_head(&b, "relayguard_x_total", "counter",
	    "Things with \\ and\nnewline.");
	rg_metrics_write_sample(&b, "relayguard_x_total", NULL, 0, 0);
	rg_metrics_write_sample(&b, "relayguard_x_total", l1, 1, 42);
	rg_metrics_write_sample(&b, "relayguard_x_total", l2, 2,
	    18446744073709551615ULL);
	rg_metrics_write_gauge(&b, "relayguard_g", NULL, 0, -3);
	RGT_STREQ(rg_buf_cstr(&b),
	    "# HELP relayguard_x_total Things with \\\\ and\\nnewline.\n"
	    "# TYPE relayguard_x_total counter\n"
	    "relayguard_x_total 0\n"
	    "relayguard_x_total{result=\"pass\"} 42\n"
	    "relayguard_x_total{verdict=\"reject\",check=\"we\\\"ird\\\\\\nvalue\"} "
	    "18446744073709551615\n"
	    "relayguard_g -3\n");
	rg_buf_release(&b);
}

static void
test_histogram_golden(void)
{
	struct rg_buf b = RG_BUF_INIT;
	unsigned long long bucket[RG_METRICS_BUCKETS + 1] = { 0 };

	RGT_CASE("golden: histogram");
	bucket[0] = 2;		/* <= 0.1 ms */
	bucket[3] = 1;		/* <= 1 ms */
	bucket[RG_METRICS_BUCKETS] = 1;	/* over 5 s */
	rg_metrics_write_histogram(&b, "relayguard_stage_duration_seconds",
	    "stage", "rcpt", bucket, 6000450000ULL);
	RGT_STREQ(rg_buf_cstr(&b),
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.0001\"} 2\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.00025\"} 2\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.0005\"} 2\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.001\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.0025\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.005\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.01\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.025\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.05\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.1\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.25\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.5\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"1\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"2.5\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"5\"} 3\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"+Inf\"} 4\n"
	    "relayguard_stage_duration_seconds_sum{stage=\"rcpt\"} 6.000450000\n"
	    "relayguard_stage_duration_seconds_count{stage=\"rcpt\"} 4\n");
	rg_buf_release(&b);
}

static void
test_registry(void)
{
	struct rg_buf b = RG_BUF_INIT;

	RGT_CASE("registry: counters and labels in the rendering");
	rg_metrics_reset();
	rg_metrics_inc_label("spf", "pass");
	rg_metrics_inc_label("spf", "pass");
	rg_metrics_inc_label("spf", "no-such-result");
	rg_metrics_inc_label2("messages", "reject", "relay");
	rg_metrics_inc_label2("messages", "bogus", "bogus");
	rg_metrics_inc(RG_M_RELOADS_OK);
	rg_metrics_add(RG_M_CONNECTIONS_OPEN, 2);
	rg_metrics_add(RG_M_CONNECTIONS_OPEN, -1);
	RGT_INTEQ(rg_metrics_get_label("spf", "pass", NULL), 2);
	RGT_INTEQ(rg_metrics_get_label("spf", "other", NULL), 1);
	RGT_INTEQ(rg_metrics_get_label("nope", "pass", NULL), -1);
	RGT_INTEQ(rg_metrics_get(RG_M_CONNECTIONS_OPEN), 1);
	render(&b);
	RGT_CONTAINS(rg_buf_cstr(&b), "\nrelayguard_spf_results_total{result=\"pass\"} 2\n");
	RGT_CONTAINS(rg_buf_cstr(&b), "\nrelayguard_spf_results_total{result=\"other\"} 1\n");
	RGT_CONTAINS(rg_buf_cstr(&b),
	    "\nrelayguard_messages_total{verdict=\"reject\",check=\"relay\"} 1\n");
	RGT_CONTAINS(rg_buf_cstr(&b),
	    "\nrelayguard_messages_total{verdict=\"other\",check=\"other\"} 1\n");
	RGT_CONTAINS(rg_buf_cstr(&b),
	    "\nrelayguard_config_reloads_total{result=\"ok\"} 1\n"
	    "relayguard_config_reloads_total{result=\"failed\"} 0\n");
	RGT_CONTAINS(rg_buf_cstr(&b), "\nrelayguard_connections_open 1\n");
	RGT_CHECK(strstr(rg_buf_cstr(&b), "no-such-result") == NULL,
	    "an undeclared value became a series");
	rg_buf_release(&b);
}

static void
test_stage_histogram(void)
{
	struct rg_buf b = RG_BUF_INIT;

	RGT_CASE("registry: stage histogram");
	rg_metrics_reset();
	rg_metrics_observe(RG_MS_RCPT, 300000);		/* 0.3 ms */
	rg_metrics_observe(RG_MS_RCPT, 250000);		/* on a bound: le counts */
	rg_metrics_observe(RG_MS_EOM, 7000000000ULL);	/* 7 s: only +Inf */
	rg_metrics_stage(RG_MS_HELO, rg_metrics_now());
	render(&b);
	RGT_CONTAINS(rg_buf_cstr(&b), "\n# TYPE relayguard_stage_duration_seconds histogram\n");
	RGT_CONTAINS(rg_buf_cstr(&b),
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.0001\"} 0\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.00025\"} 1\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"rcpt\",le=\"0.0005\"} 2\n");
	RGT_CONTAINS(rg_buf_cstr(&b),
	    "relayguard_stage_duration_seconds_sum{stage=\"rcpt\"} 0.000550000\n"
	    "relayguard_stage_duration_seconds_count{stage=\"rcpt\"} 2\n");
	RGT_CONTAINS(rg_buf_cstr(&b),
	    "relayguard_stage_duration_seconds_bucket{stage=\"eom\",le=\"5\"} 0\n"
	    "relayguard_stage_duration_seconds_bucket{stage=\"eom\",le=\"+Inf\"} 1\n");
	RGT_CONTAINS(rg_buf_cstr(&b),
	    "relayguard_stage_duration_seconds_count{stage=\"helo\"} 1\n");
	rg_buf_release(&b);
}

#define THREADS		4
#define PER_THREAD	100000

/* hammer - count from several threads at once */
static void *
hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		rg_metrics_inc_label("dnsbl", "listed");
		rg_metrics_inc(RG_M_CONNECTIONS);
		rg_metrics_observe(RG_MS_MAIL, 1000000);
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[THREADS];
	struct rg_buf b = RG_BUF_INIT;
	char want[200];

	RGT_CASE("threads: no count is lost");
	rg_metrics_reset();
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, hammer, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	RGT_INTEQ(rg_metrics_get_label("dnsbl", "listed", NULL), THREADS * PER_THREAD);
	RGT_INTEQ(rg_metrics_get(RG_M_CONNECTIONS), THREADS * PER_THREAD);
	render(&b);
	snprintf(want, sizeof(want), "relayguard_stage_duration_seconds_sum"
	    "{stage=\"mail\"} %d.000000000\n"
	    "relayguard_stage_duration_seconds_count{stage=\"mail\"} %d\n",
	    THREADS * PER_THREAD / 1000, THREADS * PER_THREAD);
	RGT_CONTAINS(rg_buf_cstr(&b), want);
	rg_buf_release(&b);
}

static void
test_label_bounds(void)
{
	struct rg_buf b = RG_BUF_INIT;
	size_t before, after;
	char junk[64];

	RGT_CASE("labels: input never adds a series");
	rg_metrics_reset();
	render(&b);
	before = count_lines(rg_buf_cstr(&b));
	for (int i = 0; i < 5000; i++) {
		snprintf(junk, sizeof(junk), "user%d@example.com\"}", i);
		rg_metrics_inc_label("relay", junk);
		rg_metrics_inc_label("dnsbl", junk);
		rg_metrics_inc_label2("messages", junk, junk);
	}
	rg_metrics_inc_label("relay", NULL);
	render(&b);
	after = count_lines(rg_buf_cstr(&b));
	RGT_INTEQ(after, before);
	RGT_INTEQ(rg_metrics_get_label("relay", "other", NULL), 5001);
	RGT_INTEQ(rg_metrics_get_label("messages", "other", "other"), 5000);
	RGT_CHECK(strstr(rg_buf_cstr(&b), "example.com") == NULL,
	    "input text in the output");
	rg_buf_release(&b);
}

static void
test_values_declared(void)
{
	static const char *const relay_own[] = { "foreign-domain",
	    "null-sender", "no-tls", "old-tls" };

	RGT_CASE("labels: every value the modules produce is declared");
	rg_metrics_reset();
	for (int t = RG_TRICK_NONE + 1; t < RG_TRICK_COUNT; t++)
		rg_metrics_inc_label("relay", rg_addr_trick_name(t));
	for (size_t i = 0; i < sizeof(relay_own) / sizeof(relay_own[0]); i++)
		rg_metrics_inc_label("relay", relay_own[i]);
	RGT_INTEQ(rg_metrics_get_label("relay", "other", NULL), 0);
	for (int r = RG_SPF_NONE; r <= RG_SPF_PERMERROR; r++)
		rg_metrics_inc_label("spf", rg_spf_result_name(r));
	RGT_INTEQ(rg_metrics_get_label("spf", "other", NULL), 0);
	for (int r = RG_DMARC_NONE; r <= RG_DMARC_PERMERROR; r++)
		rg_metrics_inc_label("dmarc", rg_dmarc_result_name(r));
	RGT_INTEQ(rg_metrics_get_label("dmarc", "other", NULL), 0);
	for (int a = RG_ACT_TEMPFAIL; a <= RG_ACT_QUARANTINE; a++)
		rg_metrics_inc_label2("messages", rg_action_name(a), "relay");
	rg_metrics_inc_label2("messages", "accept", "none");
	rg_metrics_inc_label2("messages", "aborted", "none");
	RGT_INTEQ(rg_metrics_get_label("messages", "other", "relay"), 0);
	RGT_INTEQ(rg_metrics_get_label("messages", "other", "none"), 0);
}

/* line_ok - one line of the text format: comment, or name{labels} value */
static int
line_ok(const regex_t *sample, const regex_t *comment, const char *line)
{
	if (line[0] == '#')
		return regexec(comment, line, 0, NULL, 0) == 0;
	return regexec(sample, line, 0, NULL, 0) == 0;
}

/* base_name - a sample's metric family (histogram suffixes removed) */
static void
base_name(const char *line, char *name, size_t size)
{
	size_t n = strcspn(line, "{ ");
	static const char *const suffix[] = { "_bucket", "_sum", "_count" };

	snprintf(name, size, "%.*s", (int)n, line);
	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(name), s = strlen(suffix[i]);

		if (l > s && strcmp(name + l - s, suffix[i]) == 0 &&
		    strstr(name, "_duration_seconds") != NULL)
			name[l - s] = '\0';
	}
}

static void
test_wellformed(void)
{
	struct rg_buf b = RG_BUF_INIT, err = RG_BUF_INIT;
	regex_t sample, comment;
	char *save = NULL, typed[128] = "", name[128];
	size_t nlines = 0, bad = 0, untyped = 0;
	struct rg_conf *c;
	struct rg_kv *kv;

	RGT_CASE("exposition: well-formed, every sample after its TYPE");
	regcomp(&sample, "^[a-zA-Z_:][a-zA-Z0-9_:]*"
	    "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
	    "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\")*\\})? "
	    "-?[0-9]+(\\.[0-9]+)?$", REG_EXTENDED | REG_NOSUB);
	regcomp(&comment, "^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE "
	    "[a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram))$",
	    REG_EXTENDED | REG_NOSUB);
	/* every source present: a configuration, a store, the hook */
	c = load_text("log_level = info\n", &err);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	rg_conf_install(c);
	kv = rg_kv_create(&c->kv, &err);
	rg_metrics_set_kv(kv);
	render(&b);
	for (char *l = strtok_r(b.data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		nlines++;
		if (!line_ok(&sample, &comment, l)) {
			if (bad++ < 5)
				printf("bad line: %s\n", l);
			continue;
		}
		if (strncmp(l, "# TYPE ", 7) == 0)
			snprintf(typed, sizeof(typed), "%.*s", (int)strcspn(l + 7, " "), l + 7);
		if (l[0] == '#')
			continue;
		base_name(l, name, sizeof(name));
		if (strcmp(name, typed) != 0 && untyped++ < 5)
			printf("sample before its TYPE: %s (last TYPE %s)\n", l, typed);
	}
	RGT_INTEQ(bad, 0);
	RGT_INTEQ(untyped, 0);
	RGT_CHECK(nlines > 200, "only %zu lines", nlines);
	render(&b);
	RGT_CONTAINS(rg_buf_cstr(&b), "\nrelayguard_kv_commands_total 0\n");
	RGT_CONTAINS(rg_buf_cstr(&b), "\nrelayguard_config_generation ");
	rg_metrics_set_kv(NULL);
	rg_kv_free(kv);
	regfree(&sample);
	regfree(&comment);
	rg_buf_release(&b);
	rg_buf_release(&err);
}

static void
test_sources(void)
{
	struct rg_buf b = RG_BUF_INIT, err = RG_BUF_INIT;
	struct rg_conf *c;
	struct rg_kv *kv;
	long long n;

	RGT_CASE("sources: the store's counters, no secret");
	c = load_text("redis_password = Secr3t-pw-value\n"
	    "metrics_listen = 127.0.0.1:9324\n", &err);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c == NULL)
		return;
	rg_conf_install(c);
	kv = rg_kv_create(&c->kv, &err);
	rg_metrics_set_kv(kv);
	rg_kv_count_add(kv, "k", 1, 60000, &n, NULL);
	rg_kv_count_add(kv, "k", 1, 60000, &n, NULL);
	render(&b);
	RGT_CONTAINS(rg_buf_cstr(&b), "\nrelayguard_kv_commands_total 2\n");
	RGT_CONTAINS(rg_buf_cstr(&b), "\nrelayguard_kv_entries 1\n");
	RGT_CONTAINS(rg_buf_cstr(&b), "\nrelayguard_kv_pending_connections 0\n");
	RGT_CONTAINS(rg_buf_cstr(&b), "\nrelayguard_kv_pending_full_total 0\n");
	RGT_CHECK(strstr(rg_buf_cstr(&b), "Secr3t") == NULL, "the password is shown");
	RGT_CHECK(strstr(rg_buf_cstr(&b), "9324") == NULL, "settings are shown");
	rg_metrics_set_kv(NULL);
	render(&b);
	RGT_CHECK(strstr(rg_buf_cstr(&b), "relayguard_kv_") == NULL, "store still shown");
	rg_kv_free(kv);
	rg_buf_release(&b);
	rg_buf_release(&err);
}

static void
test_message_hooks(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c = load_text("log_level = info\n", &err);
	struct rg_conn *conn;

	RGT_CASE("hooks: messages by verdict and check, refused connections");
	if (c == NULL)
		return;
	rg_metrics_reset();
	conn = rg_conn_new(c, 1);
	rg_msg_begin(conn);
	rg_verdict_set(&conn->msg->verdict, RG_ACT_REJECT, "relay", "550",
	    "5.7.1", "no");
	rg_metrics_message(conn, "reject");
	/* an accepted message that had a recipient refused: check none */
	rg_metrics_message(conn, "accept");
	rg_metrics_message(conn, "aborted");
	rg_verdict_set(&conn->msg->verdict, RG_ACT_TEMPFAIL, "", "451",
	    "4.7.1", "later");
	rg_metrics_message(conn, "tempfail");
	rg_verdict_set(&conn->verdict, RG_ACT_REJECT, "relay", "554", "5.7.1",
	    "blocked");
	rg_metrics_connection(conn);
	RGT_INTEQ(rg_metrics_get_label("messages", "reject", "relay"), 1);
	RGT_INTEQ(rg_metrics_get_label("messages", "accept", "none"), 1);
	RGT_INTEQ(rg_metrics_get_label("messages", "accept", "relay"), 0);
	RGT_INTEQ(rg_metrics_get_label("messages", "aborted", "none"), 1);
	RGT_INTEQ(rg_metrics_get_label("messages", "tempfail", "none"), 1);
	RGT_INTEQ(rg_metrics_get_label("conn_refused", "relay", NULL), 1);
	rg_conn_free(conn);
	rg_buf_release(&err);
}

static void
test_parse_listen(void)
{
	static const struct {
		const char *in;
		int ok, family, loopback;
	} t[] = {
		{ "127.0.0.1:9324", 1, AF_INET, 1 },
		{ "127.1.2.3:1", 1, AF_INET, 1 },
		{ "[::1]:9324", 1, AF_INET6, 1 },
		{ "[::ffff:127.0.0.1]:9324", 1, AF_INET6, 1 },
		{ "0.0.0.0:9324", 1, AF_INET, 0 },
		{ "192.0.2.1:9324", 1, AF_INET, 0 },
		{ "[::]:9324", 1, AF_INET6, 0 },
		{ "[2001:db8::1]:80", 1, AF_INET6, 0 },
		{ "localhost:9324", 0, 0, 0 },
		{ "127.0.0.1", 0, 0, 0 },
		{ "127.0.0.1:", 0, 0, 0 },
		{ "127.0.0.1:0", 0, 0, 0 },
		{ "127.0.0.1:65536", 0, 0, 0 },
		{ "127.0.0.1:93x", 0, 0, 0 },
		{ "::1:9324", 0, 0, 0 },
		{ "[::1]9324", 0, 0, 0 },
		{ "[::1", 0, 0, 0 },
		{ "[127.0.0.1]:9324", 0, 0, 0 },
		{ ":9324", 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct rg_metrics_listen l;
		const char *why;

		memset(&l, 0, sizeof(l));
		RGT_CASE(t[i].in);
		why = rg_metrics_parse_listen(t[i].in, &l);
		RGT_CHECK((why == NULL) == t[i].ok, "%s: got %s", t[i].in,
		    why ? why : "accepted");
		if (why != NULL || !t[i].ok)
			continue;
		RGT_INTEQ(l.sa.ss_family, t[i].family);
		RGT_INTEQ(l.loopback, t[i].loopback);
	}
}

static void
test_conf_remote(void)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c;
	char want[600];

	RGT_CASE("conf: a remote metrics_listen needs metrics_allow_remote");
	c = load_text("# metrics\n\nmetrics_listen = 192.0.2.1:9324\n", &err);
	RGT_CHECK(c == NULL, "accepted a remote address");
	snprintf(want, sizeof(want), "%s/t.conf:3: metrics_listen: 192.0.2.1:9324 "
	    "is not a loopback address", tmpdir);
	RGT_CONTAINS(rg_buf_cstr(&err), want);
	rg_conf_release(c);
	c = load_text("metrics_listen = [::]:9324\nmetrics_allow_remote = yes\n", &err);
	RGT_CHECK(c != NULL, "%s", rg_buf_cstr(&err));
	if (c != NULL) {
		RGT_INTEQ(c->metrics.listen.set, 1);
		RGT_STREQ(c->metrics.listen.text, "[::]:9324");
	}
	rg_conf_release(c);
	c = load_text("metrics_listen = localhost:9324\n", &err);
	RGT_CHECK(c == NULL, "accepted a host name");
	RGT_CONTAINS(rg_buf_cstr(&err), "t.conf:1: metrics_listen: expected an IP address");
	c = load_text("log_level = info\n", &err);
	RGT_CHECK(c != NULL && !c->metrics.listen.set, "default is not off");
	rg_conf_release(c);
	rg_buf_release(&err);
}

static void
setup(void)
{
	rgt_mkdtemp(tmpdir);
}

static void
cleanup(void)
{
	char path[600];

	rg_conf_install(rg_conf_load(NULL, NULL, NULL));
	snprintf(path, sizeof(path), "%s/t.conf", tmpdir);
	unlink(path);
	rmdir(tmpdir);
}

RGT_MAIN(setup, test_writers_golden, test_histogram_golden, test_registry,
    test_stage_histogram, test_threads, test_label_bounds, test_values_declared,
    test_wellformed, test_sources, test_message_hooks, test_parse_listen,
    test_conf_remote, cleanup)
