/*
 * limits_fixture.h - a configuration, a memory store on a fake clock and
 * connections, for the tests of ratelimit.c, greylist.c, lockout.c and
 * kvadmin.c (which call the stage functions directly, without an MTA)
 */
#ifndef LIMITS_FIXTURE_H
#define LIMITS_FIXTURE_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "kv.h"
#include "limits.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "verdict.h"

/* an hour boundary, so that windows start where the tests expect */
#define LF_T0	1700002800000LL

struct lf {
	struct rg_conf *conf;	/* installed: connections acquire it */
	struct rg_kv *kv;
	long long now;
};

static __attribute__((unused)) long long
lf_clock(void *arg)
{
	return *(long long *)arg;
}

/* lf_load - a configuration from text, or NULL with the errors in err */
static __attribute__((unused)) struct rg_conf *
lf_load(const char *text, struct rg_buf *err)
{
	char path[] = "/tmp/rglimits.XXXXXX";
	int fd = mkstemp(path);
	struct rg_conf *c;

	if (fd < 0)
		return NULL;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	c = rg_conf_load(path, err, NULL);
	unlink(path);
	return c;
}

/* lf_open - configuration, store and clocks; 0 or -1 (printed) */
static __attribute__((unused)) int
lf_open(struct lf *f, const char *text)
{
	struct rg_buf err = RG_BUF_INIT;

	memset(f, 0, sizeof(*f));
	f->now = LF_T0;
	if ((f->conf = lf_load(text, &err)) == NULL) {
		printf("fixture: config: %s\n", rg_buf_cstr(&err));
		rg_buf_release(&err);
		return -1;
	}
	rg_conf_install(f->conf);
	if ((f->kv = rg_kv_create(&f->conf->kv, &err)) == NULL) {
		printf("fixture: store: %s\n", rg_buf_cstr(&err));
		rg_buf_release(&err);
		return -1;
	}
	rg_kv_set_clock(f->kv, lf_clock, &f->now);
	rg_kv_set_default(f->kv);
	rg_limits_set_clock(lf_clock, &f->now);
	rg_buf_release(&err);
	return 0;
}

static __attribute__((unused)) void
lf_close(struct lf *f)
{
	rg_kv_set_default(NULL);
	f->kv = rg_kv_free(f->kv);
	rg_limits_set_clock(NULL, NULL);
}

/* lf_conn - a connection from ip (v4 or v6), logged in as login or not */
static __attribute__((unused)) struct rg_conn *
lf_conn(const char *ip, const char *login)
{
	static unsigned long serial;
	struct rg_conn *c = rg_conn_new(rg_conf_acquire(), ++serial);
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;

	memset(&in4, 0, sizeof(in4));
	memset(&in6, 0, sizeof(in6));
	if (inet_pton(AF_INET, ip, &in4.sin_addr) == 1) {
		in4.sin_family = AF_INET;
		rg_conn_set_client(c, "client.test", (struct sockaddr *)&in4);
	} else if (inet_pton(AF_INET6, ip, &in6.sin6_addr) == 1) {
		in6.sin6_family = AF_INET6;
		rg_conn_set_client(c, "client.test", (struct sockaddr *)&in6);
	}
	if (login != NULL)
		rg_strlcpy(c->auth_user, login, sizeof(c->auth_user));
	return c;
}

/* lf_msg - a new message from sender on c */
static __attribute__((unused)) void
lf_msg(struct rg_conn *c, const char *sender)
{
	rg_msg_begin(c);
	rg_strlcpy(c->msg->sender, sender, sizeof(c->msg->sender));
	c->msg->null_sender = sender[0] == '\0';
}

/* lf_note - the value of a summary-line note of c's message, or "" */
static __attribute__((unused)) const char *
lf_note(const struct rg_conn *c, const char *key)
{
	for (size_t i = 0; c->msg && i < c->msg->nnotes; i++)
		if (strcmp(c->msg->notes[i].key, key) == 0)
			return c->msg->notes[i].value;
	return "";
}

#endif
