/*
 * notify.h - tell systemd how the service is doing (sd_notify(3))
 *
 * With libsystemd (configure found it: HAVE_SYSTEMD) these send READY=1,
 * RELOADING=1 and STOPPING=1 to $NOTIFY_SOCKET, for Type=notify units;
 * without it, or outside systemd, they do nothing. Thread-safe.
 */
#ifndef RG_NOTIFY_H
#define RG_NOTIFY_H

/* rg_notify_ready - serving (at start, and when a reload is done) */
void rg_notify_ready(void);
/* rg_notify_reloading - a reload starts */
void rg_notify_reloading(void);
/* rg_notify_stopping - shutting down */
void rg_notify_stopping(void);
/* rg_notify_built_in - 1 when built with libsystemd */
int rg_notify_built_in(void);

#endif
