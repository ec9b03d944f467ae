/*
 * control.h - the local control socket relayguardctl(8) talks to
 *
 * With the memory store (kv_backend = memory) the counters live inside
 * the daemon, so relayguardctl sends its command over a unix socket
 * (control_socket): one line of words, one reply, one connection each.
 * The socket is mode 0600, owned by the daemon's user; a peer must be root
 * or that user (SO_PEERCRED). One thread serves clients one at a time,
 * each within RG_CONTROL_TIMEOUT.
 */
#ifndef RG_CONTROL_H
#define RG_CONTROL_H

#include "../policy/kv.h"

#define RG_CONTROL_TIMEOUT	5	/* seconds per client */

/*
 * rg_control_open - bind and listen on path (a stale socket is replaced,
 * a live one is fatal), owned by user when started as root; the fd, or
 * rg_fatal() at start-up
 */
int rg_control_open(const char *path, const char *user);
/* rg_control_start - serve fd with kv in a thread of its own */
void rg_control_start(int fd, const char *path, struct rg_kv *kv);
/* rg_control_stop - stop the thread, close and remove the socket */
void rg_control_stop(void);

#endif
