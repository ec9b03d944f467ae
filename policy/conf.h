/*
 * conf.h - relayguard.conf: parameter tables, parser, snapshots
 *
 * Syntax (as Postfix main.cf): "name = value"; '#' starts a comment line;
 * a line that starts with white space continues the one before; lists are
 * separated by commas or white space; a list element "file:/path" is
 * replaced by the elements of that file (one or more per line, '#'
 * comments); times carry units (ms, s, m, h, d, w; bare numbers are
 * seconds); sizes carry k, m or g.
 *
 * Each parameter is declared once, in a struct rg_param table beside the
 * module that uses it (policy/settings.c lists the tables). Defaults are
 * text and go through the same parser as the file, so a default is always
 * a valid, documented value.
 *
 * A loaded configuration is an immutable, reference-counted snapshot:
 * rg_conf_acquire() pins the current one, rg_conf_release() unpins it, and
 * rg_conf_install() swaps in a new one (SIGHUP). Thread-safe.
 */
#ifndef RG_CONF_H
#define RG_CONF_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"

enum rg_ptype {
	RG_PT_BOOL,	/* int: yes/no */
	RG_PT_INT,	/* long long, within min..max */
	RG_PT_TIME,	/* long long milliseconds, within min..max (ms) */
	RG_PT_SIZE,	/* long long bytes, within min..max */
	RG_PT_STR,	/* char * (never NULL) */
	RG_PT_ENUM,	/* int index into choices "a|b|c" */
	RG_PT_LIST,	/* struct rg_strlist */
	RG_PT_CUSTOM,	/* parsed by ops->parse into the module's own type */
};

#define RG_CF_SECRET	0x01	/* never logged or dumped */
#define RG_CF_RESTART	0x02	/* read at start-up only (socket, user) */

struct rg_strlist {
	size_t n;
	char **v;
};

struct rg_conf_ctx;
struct rg_param;

struct rg_ptype_ops {
	/* parse value into dst (zeroed); on error call rg_conf_error(), -1 */
	int (*parse)(struct rg_conf_ctx *cx, const struct rg_param *p,
	    const char *value, void *dst);
	/* release what parse stored in dst */
	void (*free)(void *dst);
};

struct rg_param {
	const char *name;
	enum rg_ptype type;
	const char *def;	/* default, as it would be written in the file */
	long long min, max;	/* INT, TIME (ms) and SIZE bounds */
	unsigned flags;
	size_t off;		/* offsetof() into the module's struct */
	const char *choices;	/* ENUM: "a|b|c" */
	const struct rg_ptype_ops *ops;	/* CUSTOM */
	const char *doc;	/* one line, also in relayguard.conf(5) */
};

/* table rows; off is offsetof() into the module's struct */
#define RG_P_BOOL(n, d, off, fl, doc) \
	{ n, RG_PT_BOOL, d, 0, 1, fl, off, NULL, NULL, doc }
#define RG_P_INT(n, d, lo, hi, off, fl, doc) \
	{ n, RG_PT_INT, d, lo, hi, fl, off, NULL, NULL, doc }
#define RG_P_TIME(n, d, lo, hi, off, fl, doc) \
	{ n, RG_PT_TIME, d, lo, hi, fl, off, NULL, NULL, doc }
#define RG_P_SIZE(n, d, lo, hi, off, fl, doc) \
	{ n, RG_PT_SIZE, d, lo, hi, fl, off, NULL, NULL, doc }
#define RG_P_STR(n, d, off, fl, doc) \
	{ n, RG_PT_STR, d, 0, 0, fl, off, NULL, NULL, doc }
#define RG_P_ENUM(n, d, ch, off, fl, doc) \
	{ n, RG_PT_ENUM, d, 0, 0, fl, off, ch, NULL, doc }
#define RG_P_LIST(n, d, off, fl, doc) \
	{ n, RG_PT_LIST, d, 0, 0, fl, off, NULL, NULL, doc }
#define RG_P_CUSTOM(n, d, ops, off, fl, doc) \
	{ n, RG_PT_CUSTOM, d, 0, 0, fl, off, NULL, ops, doc }
#define RG_P_END { NULL, 0, NULL, 0, 0, 0, 0, NULL, NULL, NULL }

/* a module's table and where its struct sits in struct rg_conf */
struct rg_conf_section {
	const char *module;
	const struct rg_param *params;
	size_t off;
	/* cross-parameter checks after the whole file is read; may be NULL */
	int (*check)(struct rg_conf_ctx *cx, void *modconf);
};

struct rg_conf;

/*
 * rg_conf_load - read a file (NULL: embedded defaults only). On error
 * returns NULL and appends "file:line: message" lines to err; warnings
 * (a parameter set twice) go to warn when it is not NULL.
 * Caller owns the result: release with rg_conf_release().
 */
struct rg_conf *rg_conf_load(const char *path, struct rg_buf *err,
    struct rg_buf *warn);
/* rg_conf_dump - "name = value" for every parameter, secrets masked */
void rg_conf_dump(const struct rg_conf *c, struct rg_buf *out);
const char *rg_conf_path(const struct rg_conf *c);
/* rg_conf_raw - the value text of a parameter (masked if secret) */
const char *rg_conf_raw(const struct rg_conf *c, const char *name);

void rg_conf_install(struct rg_conf *c);
struct rg_conf *rg_conf_acquire(void);
void rg_conf_release(struct rg_conf *c);
/* rg_conf_current_generation - counts installs, for logs and tests */
unsigned long rg_conf_generation(const struct rg_conf *c);

/* for custom parsers */
void rg_conf_error(struct rg_conf_ctx *cx, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void rg_conf_perror(struct rg_conf_ctx *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* rg_conf_parse_time - "30s", "5m", "500ms" (bare: seconds) to ms; 0 or -1 */
int rg_conf_parse_time(const char *v, long long *ms);
/* rg_conf_where - the file and line being parsed (file valid during load) */
void rg_conf_where(const struct rg_conf_ctx *cx, const char **file, int *line);
/* rg_conf_warn - "file:line: warning: ..." to the warnings; not an error */
void rg_conf_warn(struct rg_conf_ctx *cx, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* where the parameter being parsed was written, and the file's directory
 * (NULL for the embedded defaults), for parsers that read files */
const char *rg_conf_file(const struct rg_conf_ctx *cx);
int rg_conf_line(const struct rg_conf_ctx *cx);
const char *rg_conf_dir(const struct rg_conf_ctx *cx);
/*
 * rg_conf_foreach_item - call fn for each element of a list value,
 * expanding "file:" elements; fn gets each element with where it was
 * written, for error messages. Stops at the first fn returning -1.
 */
int rg_conf_foreach_item(struct rg_conf_ctx *cx, const char *value,
    int (*fn)(struct rg_conf_ctx *cx, const char *item, const char *file,
	int line, void *arg), void *arg);

/* iterate over every parameter of every section (docs, tests) */
const struct rg_param *rg_conf_param_at(size_t i, const char **module);
size_t rg_conf_param_count(void);

void rg_strlist_free(struct rg_strlist *l);
int rg_strlist_contains(const struct rg_strlist *l, const char *s);

#endif
