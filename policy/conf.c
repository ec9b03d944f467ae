/*
 * conf.c - relayguard.conf parser and snapshots (see conf.h)
 *
 * Loading builds a fresh struct rg_conf: defaults first (parsed from their
 * text), then the file, then each module's cross-checks. Errors are
 * collected, each as "file:line: message", so `relayguard -n` shows them
 * all at once. conf_mutex protects only the pointer to the current
 * snapshot during acquire and install; the snapshot itself is immutable.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "settings.h"
#include "strutil.h"
#include "xalloc.h"

#define CONF_MAX_LINE	(1024 * 1024)	/* one logical line, continuations included */
#define CONF_MAX_ERRORS	50

struct conf_index {
	const struct rg_param *param;
	const struct rg_conf_section *section;
	int line;	/* where it was last set, while loading */
};

struct rg_conf_ctx {
	struct rg_buf *err;
	struct rg_buf *warn;
	const char *file;	/* config file, or "default" */
	int line;
	int nerr;
	const char *dir;	/* directory of the config file, for file: */
	struct rg_conf *conf;
};

static pthread_once_t conf_once = PTHREAD_ONCE_INIT;
static struct conf_index *conf_params;
static size_t conf_nparams;

static pthread_mutex_t conf_mutex = PTHREAD_MUTEX_INITIALIZER;	/* conf_current */
static struct rg_conf *conf_current;
static unsigned long conf_generation;

/* conf_build_index - flatten the module tables into one array */
static void
conf_build_index(void)
{
	size_t n = 0, i = 0;

	for (const struct rg_conf_section *s = rg_conf_sections; s->module; s++)
		for (const struct rg_param *p = s->params; p->name; p++)
			n++;
	conf_params = rg_xcalloc(n, sizeof(*conf_params));
	for (const struct rg_conf_section *s = rg_conf_sections; s->module; s++)
		for (const struct rg_param *p = s->params; p->name; p++) {
			conf_params[i].param = p;
			conf_params[i].section = s;
			i++;
		}
	conf_nparams = n;
}

size_t
rg_conf_param_count(void)
{
	pthread_once(&conf_once, conf_build_index);
	return conf_nparams;
}

const struct rg_param *
rg_conf_param_at(size_t i, const char **module)
{
	pthread_once(&conf_once, conf_build_index);
	if (i >= conf_nparams)
		return NULL;
	if (module)
		*module = conf_params[i].section->module;
	return conf_params[i].param;
}

static ssize_t
conf_lookup(const char *name)
{
	for (size_t i = 0; i < conf_nparams; i++)
		if (strcmp(conf_params[i].param->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* conf_suggest - the known name nearest to an unknown one, or NULL */
static const char *
conf_suggest(const char *name)
{
	size_t best = SIZE_MAX, limit = strlen(name) / 3 + 2;
	const char *hit = NULL;

	for (size_t i = 0; i < conf_nparams; i++) {
		size_t d = rg_str_levenshtein(name, conf_params[i].param->name);

		if (d < best) {
			best = d;
			hit = conf_params[i].param->name;
		}
	}
	return best <= limit ? hit : NULL;
}

void
rg_conf_error(struct rg_conf_ctx *cx, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;

	if (++cx->nerr > CONF_MAX_ERRORS)
		return;
	if (cx->err == NULL)
		return;
	rg_buf_printf(cx->err, "%s:%d: ", file, line);
	va_start(ap, fmt);
	rg_buf_vprintf(cx->err, fmt, ap);
	va_end(ap);
	rg_buf_putc(cx->err, '\n');
	if (cx->nerr == CONF_MAX_ERRORS)
		rg_buf_printf(cx->err, "%s: too many errors, stopped reporting\n", file);
}

/* rg_conf_perror - an error at the parameter being parsed */
void
rg_conf_perror(struct rg_conf_ctx *cx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rg_conf_error(cx, cx->file, cx->line, "%s", msg);
}

/* rg_conf_where - where the parameter being parsed was written */
void
rg_conf_where(const struct rg_conf_ctx *cx, const char **file, int *line)
{
	*file = cx->file;
	*line = cx->line;
}

/* rg_conf_warn - a warning at a place in a file; loading goes on */
void
rg_conf_warn(struct rg_conf_ctx *cx, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;

	if (cx->warn == NULL)
		return;
	rg_buf_printf(cx->warn, "%s:%d: warning: ", file, line);
	va_start(ap, fmt);
	rg_buf_vprintf(cx->warn, fmt, ap);
	va_end(ap);
	rg_buf_putc(cx->warn, '\n');
}

/* rg_conf_file - the file of the parameter being parsed */
const char *
rg_conf_file(const struct rg_conf_ctx *cx)
{
	return cx->file;
}

/* rg_conf_line - the line of the parameter being parsed */
int
rg_conf_line(const struct rg_conf_ctx *cx)
{
	return cx->line;
}

/* rg_conf_dir - the configuration file's directory, for relative file: */
const char *
rg_conf_dir(const struct rg_conf_ctx *cx)
{
	return cx->dir;
}

/* --- value parsers ----------------------------------------------------- */

static int
conf_parse_bool(const char *v, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };

	for (int i = 0; yes[i]; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
	for (int i = 0; no[i]; i++)
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	return -1;
}

/* conf_parse_scaled - a non-negative number with a unit from a table */
static int
conf_parse_scaled(const char *v, const char *const *units,
    const long long *scale, long long defscale, long long *out)
{
	char *end;
	unsigned long long n;
	long long mul = -1;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || n > LLONG_MAX)
		return -1;
	if (*end == '\0')
		mul = defscale;
	for (int i = 0; mul < 0 && units[i]; i++)
		if (strcasecmp(end, units[i]) == 0)
			mul = scale[i];
	if (mul < 0)
		return -1;
	if (n != 0 && (unsigned long long)mul > (unsigned long long)LLONG_MAX / n)
		return -1;
	*out = (long long)n * mul;
	return 0;
}

static int
conf_parse_time(const char *v, long long *ms)
{
	static const char *const u[] = { "ms", "s", "m", "h", "d", "w", NULL };
	static const long long s[] = { 1, 1000, 60000, 3600000, 86400000,
	    604800000 };

	return conf_parse_scaled(v, u, s, 1000, ms);
}

/* rg_conf_parse_time - a time value as the parameter tables read it */
int
rg_conf_parse_time(const char *v, long long *ms)
{
	return conf_parse_time(v, ms);
}

static int
conf_parse_size(const char *v, long long *bytes)
{
	static const char *const u[] = { "b", "k", "kb", "m", "mb", "g", "gb", NULL };
	static const long long s[] = { 1, 1024, 1024, 1048576, 1048576,
	    1073741824, 1073741824 };

	return conf_parse_scaled(v, u, s, 1, bytes);
}

static int
conf_parse_enum(const char *v, const char *choices, int *out)
{
	size_t vl = strlen(v);
	const char *p = choices;

	for (int i = 0; *p; i++) {
		const char *bar = strchr(p, '|');
		size_t l = bar ? (size_t)(bar - p) : strlen(p);

		if (l == vl && strncasecmp(p, v, l) == 0)
			return *out = i, 0;
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return -1;
}

/* conf_read_items - the elements of a file: data set */
static int
conf_read_items(struct rg_conf_ctx *cx, const char *path,
    int (*fn)(struct rg_conf_ctx *, const char *, const char *, int, void *),
    void *arg)
{
	char fullpath[4096], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	FILE *fp;

	if (path[0] != '/' && cx->dir != NULL) {
		if (snprintf(fullpath, sizeof(fullpath), "%s/%s", cx->dir, path)
		    >= (int)sizeof(fullpath)) {
			rg_conf_perror(cx, "file name too long: %s", path);
			return -1;
		}
		path = fullpath;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		rg_conf_perror(cx, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (len = getline(&line, &cap, fp)) >= 0) {
		char *p, *save = NULL, *tok;

		lineno++;
		if (len > CONF_MAX_LINE) {
			rg_conf_error(cx, path, lineno, "line too long");
			rc = -1;
			break;
		}
		p = line;
		/* '#' starts a comment at the start of a line or after space */
		for (char *h = p; (h = strchr(h, '#')) != NULL; h++)
			if (h == p || isspace((unsigned char)h[-1])) {
				*h = '\0';
				break;
			}
		for (tok = strtok_r(p, ", \t\r\n", &save); tok && rc == 0;
		    tok = strtok_r(NULL, ", \t\r\n", &save))
			rc = fn(cx, tok, path, lineno, arg);
	}
	if (ferror(fp)) {
		rg_conf_perror(cx, "cannot read %s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(fp);
	return rc;
}

int
rg_conf_foreach_item(struct rg_conf_ctx *cx, const char *value,
    int (*fn)(struct rg_conf_ctx *, const char *, const char *, int, void *),
    void *arg)
{
	char *copy = rg_xstrdup(value), *save = NULL, *tok;
	int rc = 0;

	for (tok = strtok_r(copy, ", \t\r\n", &save); tok && rc == 0;
	    tok = strtok_r(NULL, ", \t\r\n", &save)) {
		if (strncmp(tok, "file:", 5) == 0)
			rc = conf_read_items(cx, tok + 5, fn, arg);
		else
			rc = fn(cx, tok, cx->file, cx->line, arg);
	}
	free(copy);
	return rc;
}

static int
conf_list_add(struct rg_conf_ctx *cx, const char *item, const char *file,
    int line, void *arg)
{
	struct rg_strlist *l = arg;

	(void)cx, (void)file, (void)line;
	l->v = rg_xreallocarray(l->v, l->n + 1, sizeof(char *));
	l->v[l->n++] = rg_xstrdup(item);
	return 0;
}

void
rg_strlist_free(struct rg_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
rg_strlist_contains(const struct rg_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/* conf_field - the address of a parameter's field in a snapshot */
static void *
conf_field(struct rg_conf *c, const struct conf_index *ix)
{
	return (char *)c + ix->section->off + ix->param->off;
}

static void
conf_free_value(const struct rg_param *p, void *field)
{
	switch (p->type) {
	case RG_PT_STR:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case RG_PT_LIST:
		rg_strlist_free(field);
		break;
	case RG_PT_CUSTOM:
		if (p->ops->free)
			p->ops->free(field);
		break;
	default:
		break;
	}
}

static int
conf_check_range(struct rg_conf_ctx *cx, const struct rg_param *p,
    long long v, const char *value)
{
	if ((p->min != 0 || p->max != 0) && (v < p->min || v > p->max)) {
		rg_conf_perror(cx, "%s: value \"%s\" out of range", p->name, value);
		return -1;
	}
	return 0;
}

/* conf_parse_value - parse text into a (released) field */
static int
conf_parse_value(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *field)
{
	long long n;
	int b;

	switch (p->type) {
	case RG_PT_BOOL:
		if (conf_parse_bool(value, &b) < 0) {
			rg_conf_perror(cx, "%s: expected yes or no, not \"%s\"",
			    p->name, value);
			return -1;
		}
		*(int *)field = b;
		return 0;
	case RG_PT_INT:
		if (rg_str_parse_ll(value, &n) < 0) {
			rg_conf_perror(cx, "%s: expected a number, not \"%s\"",
			    p->name, value);
			return -1;
		}
		if (conf_check_range(cx, p, n, value) < 0)
			return -1;
		*(long long *)field = n;
		return 0;
	case RG_PT_TIME:
		if (conf_parse_time(value, &n) < 0) {
			rg_conf_perror(cx, "%s: expected a time such as 30s, 5m or "
			    "500ms, not \"%s\"", p->name, value);
			return -1;
		}
		if (conf_check_range(cx, p, n, value) < 0)
			return -1;
		*(long long *)field = n;
		return 0;
	case RG_PT_SIZE:
		if (conf_parse_size(value, &n) < 0) {
			rg_conf_perror(cx, "%s: expected a size such as 512k or 10m, "
			    "not \"%s\"", p->name, value);
			return -1;
		}
		if (conf_check_range(cx, p, n, value) < 0)
			return -1;
		*(long long *)field = n;
		return 0;
	case RG_PT_STR:
		*(char **)field = rg_xstrdup(value);
		return 0;
	case RG_PT_ENUM:
		if (conf_parse_enum(value, p->choices, &b) < 0) {
			rg_conf_perror(cx, "%s: expected one of %s, not \"%s\"",
			    p->name, p->choices, value);
			return -1;
		}
		*(int *)field = b;
		return 0;
	case RG_PT_LIST:
		return rg_conf_foreach_item(cx, value, conf_list_add, field);
	case RG_PT_CUSTOM:
		return p->ops->parse(cx, p, value, field);
	}
	rg_panic("parameter %s: unknown type %d", p->name, (int)p->type);
}

/* conf_set - replace a parameter's value; the raw text is kept for -d */
static int
conf_set(struct rg_conf_ctx *cx, size_t i, const char *value)
{
	const struct rg_param *p = conf_params[i].param;
	void *field = conf_field(cx->conf, &conf_params[i]);
	int rc;

	conf_free_value(p, field);
	memset(field, 0, p->type == RG_PT_LIST ? sizeof(struct rg_strlist) :
	    p->type == RG_PT_STR ? sizeof(char *) :
	    p->type == RG_PT_BOOL || p->type == RG_PT_ENUM ? sizeof(int) :
	    p->type == RG_PT_CUSTOM ? 0 : sizeof(long long));
	rc = conf_parse_value(cx, p, value, field);
	free(cx->conf->raw[i]);
	cx->conf->raw[i] = rg_xstrdup(value);
	return rc;
}

static void
conf_free(struct rg_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < conf_nparams; i++) {
		conf_free_value(conf_params[i].param, conf_field(c, &conf_params[i]));
		free(c->raw[i]);
	}
	free(c->raw);
	free(c->isset);
	free(c->path);
	free(c);
}

/* conf_line - handle one logical line "name = value" */
static void
conf_line(struct rg_conf_ctx *cx, char *text, int *setline)
{
	char *eq = strchr(text, '='), *name, *value;
	ssize_t i;

	if (eq == NULL) {
		rg_conf_perror(cx, "expected \"name = value\", not \"%.60s\"", text);
		return;
	}
	*eq = '\0';
	name = rg_str_trim(text);
	value = rg_str_trim(eq + 1);
	for (char *q = name; *q; q++)
		if (!islower((unsigned char)*q) && !isdigit((unsigned char)*q) && *q != '_') {
			rg_conf_perror(cx, "bad parameter name \"%.60s\"", name);
			return;
		}
	if (*name == '\0') {
		rg_conf_perror(cx, "missing parameter name before '='");
		return;
	}
	if ((i = conf_lookup(name)) < 0) {
		const char *hint = conf_suggest(name);

		if (hint)
			rg_conf_perror(cx, "unknown parameter \"%s\" (did you mean \"%s\"?)",
			    name, hint);
		else
			rg_conf_perror(cx, "unknown parameter \"%s\"", name);
		return;
	}
	if (cx->conf->isset[i] && cx->warn)
		rg_buf_printf(cx->warn, "%s:%d: %s is also set at line %d; "
		    "the later setting wins\n", cx->file, cx->line, name, setline[i]);
	cx->conf->isset[i] = 1;
	setline[i] = cx->line;
	(void)conf_set(cx, (size_t)i, value);
}

/* conf_read_file - read logical lines and apply them */
static void
conf_read_file(struct rg_conf_ctx *cx, FILE *fp)
{
	struct rg_buf logical = RG_BUF_INIT;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, start = 0;
	int *setline = rg_xcalloc(conf_nparams, sizeof(int));

	while ((len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (memchr(line, '\0', (size_t)len) != NULL) {
			rg_conf_error(cx, cx->file, lineno, "NUL byte in line");
			continue;
		}
		char *t = line;

		while (isspace((unsigned char)*t))
			t++;
		if (*t == '\0' || *t == '#')
			continue;
		if (t != line) {
			/* continuation of the logical line before */
			if (start == 0) {
				rg_conf_error(cx, cx->file, lineno,
				    "continuation line without a parameter before it");
				continue;
			}
			if (logical.len + (size_t)len > CONF_MAX_LINE) {
				rg_conf_error(cx, cx->file, lineno, "logical line too long");
				continue;
			}
			rg_buf_putc(&logical, ' ');
			rg_buf_puts(&logical, t);
			continue;
		}
		if (start != 0) {
			cx->line = start;
			conf_line(cx, logical.data, setline);
		}
		rg_buf_reset(&logical);
		rg_buf_puts(&logical, line);
		start = lineno;
	}
	if (start != 0) {
		cx->line = start;
		conf_line(cx, logical.data, setline);
	}
	if (ferror(fp))
		rg_conf_error(cx, cx->file, lineno, "read error: %s", strerror(errno));
	free(line);
	free(setline);
	rg_buf_release(&logical);
}

struct rg_conf *
rg_conf_load(const char *path, struct rg_buf *err, struct rg_buf *warn)
{
	struct rg_conf_ctx cx = { .err = err, .warn = warn };
	struct rg_conf *c;
	char *dir = NULL;

	pthread_once(&conf_once, conf_build_index);
	c = rg_xcalloc(1, sizeof(*c));
	atomic_init(&c->refs, 1);
	c->raw = rg_xcalloc(conf_nparams, sizeof(char *));
	c->isset = rg_xcalloc(conf_nparams, 1);
	c->path = path ? rg_xstrdup(path) : NULL;
	cx.conf = c;

	/* defaults go through the parser: a bad default is a bug */
	cx.file = "default";
	for (size_t i = 0; i < conf_nparams; i++)
		if (conf_set(&cx, i, conf_params[i].param->def) < 0)
			rg_panic("parameter %s: invalid default \"%s\"",
			    conf_params[i].param->name, conf_params[i].param->def);

	if (path != NULL) {
		FILE *fp = fopen(path, "r");
		char *slash;

		if (fp == NULL) {
			rg_buf_printf(err, "%s: cannot open: %s\n", path, strerror(errno));
			conf_free(c);
			return NULL;
		}
		dir = rg_xstrdup(path);
		if ((slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
		} else {
			free(dir);
			dir = rg_xstrdup(".");
		}
		cx.dir = dir;
		cx.file = path;
		conf_read_file(&cx, fp);
		fclose(fp);
	}
	/* module cross-checks, reported at the end of the file */
	for (const struct rg_conf_section *s = rg_conf_sections; s->module; s++)
		if (s->check != NULL && cx.nerr == 0)
			s->check(&cx, (char *)c + s->off);
	free(dir);
	if (cx.nerr > 0) {
		conf_free(c);
		return NULL;
	}
	return c;
}

const char *
rg_conf_path(const struct rg_conf *c)
{
	return c->path ? c->path : "(embedded defaults)";
}

const char *
rg_conf_raw(const struct rg_conf *c, const char *name)
{
	ssize_t i = conf_lookup(name);

	if (i < 0)
		return NULL;
	if ((conf_params[i].param->flags & RG_CF_SECRET) && c->raw[i][0])
		return "********";
	return c->raw[i];
}

void
rg_conf_dump(const struct rg_conf *c, struct rg_buf *out)
{
	const char *last = NULL;

	rg_buf_printf(out, "# effective configuration from %s\n", rg_conf_path(c));
	for (size_t i = 0; i < conf_nparams; i++) {
		const struct rg_param *p = conf_params[i].param;
		const char *v = rg_conf_raw(c, p->name);
		size_t w;

		if (last != conf_params[i].section->module) {
			last = conf_params[i].section->module;
			rg_buf_printf(out, "\n# %s\n", last);
		}
		w = strlen(p->name) + 3 + strlen(v);
		rg_buf_printf(out, "%s = %s", p->name, v);
		if (!c->isset[i])
			rg_buf_printf(out, "%*s# default", w < 48 ? (int)(48 - w) : 1, "");
		rg_buf_putc(out, '\n');
	}
}

void
rg_conf_install(struct rg_conf *c)
{
	struct rg_conf *old;

	pthread_mutex_lock(&conf_mutex);
	old = conf_current;
	c->generation = ++conf_generation;
	conf_current = c;
	pthread_mutex_unlock(&conf_mutex);
	rg_conf_release(old);
}

struct rg_conf *
rg_conf_acquire(void)
{
	struct rg_conf *c;

	pthread_mutex_lock(&conf_mutex);
	c = conf_current;
	if (c != NULL)
		atomic_fetch_add(&c->refs, 1);
	pthread_mutex_unlock(&conf_mutex);
	return c;
}

void
rg_conf_release(struct rg_conf *c)
{
	if (c != NULL && atomic_fetch_sub(&c->refs, 1) == 1)
		conf_free(c);
}

unsigned long
rg_conf_generation(const struct rg_conf *c)
{
	return c->generation;
}
