/*
 * log.c - syslog or stderr logging (see log.h)
 *
 * The target is process-wide; rg_log_mutex serialises writes to stderr so
 * lines from different milter threads never interleave.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

atomic_int rg_log_level = RG_LOG_INFO;
atomic_uint rg_log_debug_mask;

static enum rg_log_target log_target = RG_LOG_TO_STDERR;
static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;	/* stderr */

static const char *const log_level_names[] = {
	"alert", "error", "warning", "notice", "info", "debug",
};
static const int log_syslog_prio[] = {
	LOG_ALERT, LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG,
};
static const char *const log_module_names[RG_MOD_COUNT] = {
	"conf", "milter", "engine", "relay", "dns", "dnsbl", "surbl", "spf",
	"dkim", "dmarc", "kv", "ratelimit", "greylist",
};

/* rg_log_open - choose where lines go */
void
rg_log_open(enum rg_log_target target, int facility)
{
	if (target == RG_LOG_TO_SYSLOG)
		openlog("relayguard", LOG_PID | LOG_NDELAY, facility);
	log_target = target;
}

void
rg_log_set_level(int level)
{
	if (level < RG_LOG_ALERT)
		level = RG_LOG_ALERT;
	if (level > RG_LOG_DEBUG)
		level = RG_LOG_DEBUG;
	atomic_store_explicit(&rg_log_level, level, memory_order_relaxed);
}

void
rg_log_set_debug_mask(unsigned mask)
{
	atomic_store_explicit(&rg_log_debug_mask, mask, memory_order_relaxed);
}

int
rg_log_module_index(const char *name)
{
	for (int i = 0; i < RG_MOD_COUNT; i++)
		if (strcmp(name, log_module_names[i]) == 0)
			return i;
	return -1;
}

const char *
rg_log_module_name(int index)
{
	return index >= 0 && index < RG_MOD_COUNT ? log_module_names[index] : "?";
}

/* log_clean - replace control characters so input cannot forge lines */
static void
log_clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void
rg_log_vwrite(int level, const char *id, const char *fmt, va_list ap)
{
	char line[8192];
	int off = 0;

	if (level < RG_LOG_ALERT || level > RG_LOG_DEBUG)
		level = RG_LOG_ERR;
	if (id != NULL)
		off = snprintf(line, sizeof(line), "%s: ", id);
	if (off < 0 || (size_t)off >= sizeof(line))
		off = 0;
	vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
	log_clean(line);

	if (log_target == RG_LOG_TO_SYSLOG) {
		syslog(log_syslog_prio[level], "%s", line);
		return;
	}

	struct timeval tv;
	struct tm tm;
	char stamp[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_mutex_lock(&log_mutex);
	fprintf(stderr, "%s.%03dZ relayguard[%ld]: %s: %s\n", stamp,
	    (int)(tv.tv_usec / 1000), (long)getpid(), log_level_names[level], line);
	fflush(stderr);
	pthread_mutex_unlock(&log_mutex);
}

void
rg_log_write(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rg_log_vwrite(level, NULL, fmt, ap);
	va_end(ap);
}

void
rg_log_write_id(int level, const char *id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rg_log_vwrite(level, id, fmt, ap);
	va_end(ap);
}

void
rg_log_write_errno(int level, const char *fmt, ...)
{
	char msg[2048], ebuf[256];
	int saved = errno;
	const char *estr;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* GNU strerror_r may return a static string instead of filling ebuf */
	estr = strerror_r(saved, ebuf, sizeof(ebuf));
	rg_log_write(level, "%s: %s", msg, estr);
	errno = saved;
}

void
rg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rg_log_vwrite(RG_LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
rg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rg_log_vwrite(RG_LOG_ERR, "panic", fmt, ap);
	va_end(ap);
	abort();
}
