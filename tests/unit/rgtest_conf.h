/*
 * rgtest_conf.h - fixtures shared by policy tests: a temporary directory,
 * a configuration from text, and the fake resolver installed as the
 * process default. Exits the
 * test with a message when a fixture cannot be built.
 */
#ifndef RGTEST_CONF_H
#define RGTEST_CONF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "dns.h"

/*
 * rgt_write_file - dir/name holding text; the path, valid until four more
 * calls (tests name config files and the data sets they point at)
 */
static inline const char *
rgt_write_file(const char *dir, const char *name, const char *text)
{
	static char path[4][512];
	static int slot;
	char *p = path[slot++ % 4];
	FILE *fp;

	snprintf(p, 512, "%s/%s", dir, name);
	if ((fp = fopen(p, "w")) == NULL || fputs(text, fp) < 0 || fclose(fp) != 0) {
		perror(p);
		exit(1);
	}
	return p;
}

/* rgt_conf_load_in - load text as dir/t.conf (so file: paths can be
 * relative to dir); err is reset first */
static inline struct rg_conf *
rgt_conf_load_in(const char *dir, const char *text, struct rg_buf *err)
{
	rg_buf_reset(err);
	return rg_conf_load(rgt_write_file(dir, "t.conf", text), err, NULL);
}

/* rgt_conf_text - a snapshot loaded from text (via a temporary file) */
static inline struct rg_conf *
rgt_conf_text(const char *text)
{
	struct rg_buf err = RG_BUF_INIT;
	char path[] = "/tmp/rgtestXXXXXX";
	int fd = mkstemp(path);
	struct rg_conf *c;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror("rgt_conf_text");
		exit(1);
	}
	close(fd);
	c = rg_conf_load(path, &err, NULL);
	unlink(path);
	if (c == NULL) {
		fprintf(stderr, "rgt_conf_text: %s", rg_buf_cstr(&err));
		exit(1);
	}
	rg_buf_release(&err);
	return c;
}

/* rgt_fake_dns - answer every lookup from zone (dns_fake.c syntax) */
static inline void
rgt_fake_dns(const char *zone)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_dns *d = rg_dns_fake_open_text(zone, "zone", &err);

	if (d == NULL) {
		fprintf(stderr, "rgt_fake_dns: %s", rg_buf_cstr(&err));
		exit(1);
	}
	rg_dns_set_default(d);
	rg_buf_release(&err);
}

/* rgt_mkdtemp - make the test's temporary directory from tmpl, or exit */
static inline void
rgt_mkdtemp(char *tmpl)
{
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

/* rgt_rmtree - remove a test's temporary directory (a warning if not) */
static inline void
rgt_rmtree(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", dir);
}

static inline void
rgt_fake_dns_close(void)
{
	struct rg_dns *d = rg_dns_default();

	rg_dns_set_default(NULL);
	rg_dns_close(d);
}

#endif
