/*
 * kvadmin.h - the admin commands of relayguardctl(8) over the counter store
 *
 * One function runs one command and writes its output as text: the same
 * code serves relayguardctl talking to Redis itself and the daemon's
 * control socket (milter/control.c) for the memory store. Commands:
 *   show KEY|PREFIX*   top [messages|recipients] [N]   locked   blocked
 *   lock ACCOUNT   unlock ACCOUNT   block IP|CIDR   unblock IP|CIDR
 * Thread-safe (the store is).
 */
#ifndef RG_KVADMIN_H
#define RG_KVADMIN_H

#include "buf.h"
#include "kv.h"

struct rg_conf;

#define RG_KVADMIN_ARGS_MAX	8
#define RG_KVADMIN_LINE_MAX	4096	/* one command on the control socket */
#define RG_KVADMIN_TOP_SCAN	100000	/* keys read by top */

enum rg_kvadmin_status {
	RG_KVADMIN_OK = 0,
	RG_KVADMIN_FAIL = 1,		/* the store failed, or nothing found */
	RG_KVADMIN_USAGE = 2,
};

/*
 * rg_kvadmin_run - one command (argv[0] is the command); output and
 * errors go to out, one line each
 */
enum rg_kvadmin_status rg_kvadmin_run(struct rg_kv *kv,
    const struct rg_conf *conf, int argc, char **argv, struct rg_buf *out);
/* rg_kvadmin_usage - the command summary, for usage messages */
const char *rg_kvadmin_usage(void);

#endif
