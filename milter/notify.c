/*
 * notify.c - systemd's readiness notification, when built with libsystemd
 *
 * sd_notify() does nothing when NOTIFY_SOCKET is unset, so the same
 * binary runs under systemd (Type=notify), under another supervisor, or
 * from a shell. A failed notification is logged, never fatal: systemd
 * then times the start out by itself. RELOADING=1 carries
 * MONOTONIC_USEC, which systemd 253 and later require for Type=notify-reload
 * and older ones ignore.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "../policy/log.h"
#include "notify.h"

#ifdef HAVE_SYSTEMD
/* notify_send - one state string; errors logged */
static void
notify_send(const char *state)
{
	int r = sd_notify(0, state);

	if (r < 0)
		rg_log_warn("sd_notify %s: %s", state, strerror(-r));
}
#endif

void
rg_notify_ready(void)
{
#ifdef HAVE_SYSTEMD
	notify_send("READY=1\nSTATUS=serving");
#endif
}

void
rg_notify_reloading(void)
{
#ifdef HAVE_SYSTEMD
	struct timespec ts;
	char state[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_send(state);
#endif
}

void
rg_notify_stopping(void)
{
#ifdef HAVE_SYSTEMD
	notify_send("STOPPING=1");
#endif
}

int
rg_notify_built_in(void)
{
#ifdef HAVE_SYSTEMD
	return 1;
#else
	return 0;
#endif
}
