/*
 * log.h - the one logging API
 *
 * Lines go to syslog (facility configurable) or to stderr. The level is
 * checked inside the macros, before any formatting, so a disabled debug line
 * costs one comparison. rg_log_id() prefixes a line with an identifier, the
 * MTA queue id or "NOQUEUE-<serial>", so one message can be followed across
 * the MTA's log and ours. Control characters in a line are replaced, so text
 * from a client can never forge a log line.
 *
 * Thread-safe; the target and level are set at start-up and at reload.
 */
#ifndef RG_LOG_H
#define RG_LOG_H

#include <stdarg.h>
#include <stdatomic.h>

enum rg_log_level {
	RG_LOG_ALERT,
	RG_LOG_ERR,
	RG_LOG_WARN,
	RG_LOG_NOTICE,
	RG_LOG_INFO,
	RG_LOG_DEBUG,
};

enum rg_log_target {
	RG_LOG_TO_STDERR,
	RG_LOG_TO_SYSLOG,
};

/* modules that can be debugged on their own (debug_modules) */
enum rg_log_module {
	RG_MOD_CONF,
	RG_MOD_MILTER,
	RG_MOD_ENGINE,
	RG_MOD_RELAY,
	RG_MOD_DNS,
	RG_MOD_DNSBL,
	RG_MOD_SURBL,
	RG_MOD_SPF,
	RG_MOD_DKIM,
	RG_MOD_DMARC,
	RG_MOD_KV,
	RG_MOD_RATELIMIT,
	RG_MOD_GREYLIST,
	RG_MOD_COUNT
};

/*
 * Read by every thread before each line, written by a reload: atomics, read
 * relaxed (each is a flag of its own; nothing else is published with it).
 */
extern atomic_int rg_log_level;
extern atomic_uint rg_log_debug_mask;

void rg_log_open(enum rg_log_target target, int facility);
void rg_log_set_level(int level);
/* rg_log_set_debug_mask - modules logged at debug level, 1u << RG_MOD_x */
void rg_log_set_debug_mask(unsigned mask);
/* rg_log_module_index - index of a module name, or -1 */
int rg_log_module_index(const char *name);
const char *rg_log_module_name(int index);

void rg_log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rg_log_vwrite(int level, const char *id, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void rg_log_write_id(int level, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rg_log_write_errno(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define RG_LOG_LEVEL_NOW() \
	atomic_load_explicit(&rg_log_level, memory_order_relaxed)
#define RG_LOG_ON(lvl) ((lvl) <= RG_LOG_LEVEL_NOW())
#define RG_DEBUG_ON(mod) \
	(RG_LOG_LEVEL_NOW() >= RG_LOG_DEBUG || \
	    (atomic_load_explicit(&rg_log_debug_mask, memory_order_relaxed) & \
	    (1u << (mod))))

#define rg_log_alert(...) rg_log_write(RG_LOG_ALERT, __VA_ARGS__)
#define rg_log_error(...) rg_log_write(RG_LOG_ERR, __VA_ARGS__)
#define rg_log_warn(...) \
	do { if (RG_LOG_ON(RG_LOG_WARN)) rg_log_write(RG_LOG_WARN, __VA_ARGS__); } while (0)
#define rg_log_notice(...) \
	do { if (RG_LOG_ON(RG_LOG_NOTICE)) rg_log_write(RG_LOG_NOTICE, __VA_ARGS__); } while (0)
#define rg_log_info(...) \
	do { if (RG_LOG_ON(RG_LOG_INFO)) rg_log_write(RG_LOG_INFO, __VA_ARGS__); } while (0)
#define rg_log_debug(mod, ...) \
	do { if (RG_DEBUG_ON(mod)) rg_log_write(RG_LOG_DEBUG, __VA_ARGS__); } while (0)
#define rg_log_error_errno(...) rg_log_write_errno(RG_LOG_ERR, __VA_ARGS__)
#define rg_log_warn_errno(...) rg_log_write_errno(RG_LOG_WARN, __VA_ARGS__)

/* lines about one connection or message, prefixed with its id */
#define rg_log_id(lvl, id, ...) \
	do { if (RG_LOG_ON(lvl)) rg_log_write_id((lvl), (id), __VA_ARGS__); } while (0)
#define rg_log_id_debug(mod, id, ...) \
	do { if (RG_DEBUG_ON(mod)) rg_log_write_id(RG_LOG_DEBUG, (id), __VA_ARGS__); } while (0)

/* rg_fatal - a start-up problem: log and exit(1) */
void rg_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
/* rg_panic - a bug or broken invariant: log and abort() for a core dump */
void rg_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
