/*
 * keytable.c - dkim_sign, dkim_key_table and dkim_signing_table (see
 * keytable.h): parsing with file:line errors, and the SigningTable lookup
 *
 * The file formats are OpenDKIM's (opendkim.conf(5)), so its users can
 * point relayguard at the files they have: one entry per line, '#' starts
 * a comment at the start of a line or after white space, blank lines are
 * skipped. Only plain files are read ("file:" or a bare absolute path, and
 * "refile:" for wildcard SigningTables); OpenDKIM's database and LDAP
 * back-ends are refused by name. Every key a table names is loaded and
 * checked while the configuration loads.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "keytable.h"
#include "strutil.h"
#include "xalloc.h"

#define KT_MAX_LINE	4096	/* one table line */
#define KT_MAX_FIELDS	4
#define KT_NAME_MAX	253	/* RFC 1035 s2.3.4: a domain name, as text */
#define KT_ADDR_MAX	520	/* RFC 5321 s4.5.3.1: 64 + 1 + 255, with room */

typedef int (*kt_line_fn)(struct rg_conf_ctx *cx, char *line,
    const char *file, int lineno, void *arg);

/* kt_error - an error at file:line, or at the parameter when file is NULL */
static int __attribute__((format(printf, 4, 5)))
kt_error(struct rg_conf_ctx *cx, const char *file, int line,
    const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (file == NULL)
		rg_conf_perror(cx, "%s", msg);
	else
		rg_conf_error(cx, file, line, "%s", msg);
	return -1;
}

/* kt_strip_comment - cut at '#' that starts the line or follows space */
static void
kt_strip_comment(char *s)
{
	for (char *h = s; (h = strchr(h, '#')) != NULL; h++)
		if (h == s || isspace((unsigned char)h[-1])) {
			*h = '\0';
			return;
		}
}

/* kt_read_lines - call fn for each non-empty line of a file, trimmed */
static int
kt_read_lines(struct rg_conf_ctx *cx, const char *param, const char *path,
    kt_line_fn fn, void *arg)
{
	char *line = NULL, *t;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return kt_error(cx, NULL, 0, "%s: cannot open %s: %s", param, path,
		    strerror(errno));
	while (rc == 0 && (len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (len > KT_MAX_LINE || memchr(line, '\0', (size_t)len) != NULL) {
			rc = kt_error(cx, path, lineno, "line too long or NUL byte");
			break;
		}
		kt_strip_comment(line);
		t = rg_str_trim(line);
		if (*t != '\0')
			rc = fn(cx, t, path, lineno, arg);
	}
	if (rc == 0 && ferror(fp))
		rc = kt_error(cx, NULL, 0, "%s: cannot read %s: %s", param, path,
		    strerror(errno));
	free(line);
	fclose(fp);
	return rc;
}

/* kt_fields - split on white space into at most max fields; count or -1 */
static int
kt_fields(char *s, char **f, int max)
{
	char *save = NULL, *tok;
	int n = 0;

	for (tok = strtok_r(s, " \t", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return -1;
		f[n++] = tok;
	}
	return n;
}

/* kt_valid_domain - host name characters, 1..253 of them, or "%" */
static int
kt_valid_domain(const char *d, int percent_ok)
{
	size_t n = strlen(d);

	if (percent_ok && strcmp(d, "%") == 0)
		return 1;
	if (n == 0 || n > KT_NAME_MAX || d[0] == '.' || d[n - 1] == '.' ||
	    strstr(d, "..") != NULL)
		return 0;
	for (; *d; d++)
		if (!isalnum((unsigned char)*d) && *d != '-' && *d != '.' &&
		    *d != '_')
			return 0;
	return 1;
}

/* rg_dkim_domain_ok - what kt_valid_domain accepts, without "%" */
int
rg_dkim_domain_ok(const char *domain)
{
	return kt_valid_domain(domain, 0);
}

/* kt_table_path - "file:/p" or "/p" (or "refile:/p" when allowed) */
static const char *
kt_table_path(struct rg_conf_ctx *cx, const char *param, const char *value,
    int refile_ok, int *wildcard)
{
	const char *colon = strchr(value, ':');

	*wildcard = 0;
	if (strncmp(value, "file:", 5) == 0)
		value += 5;
	else if (refile_ok && strncmp(value, "refile:", 7) == 0) {
		value += 7;
		*wildcard = 1;
	} else if (colon != NULL && value[0] != '/') {
		kt_error(cx, NULL, 0, "%s: data set type \"%.*s:\" is not supported; "
		    "use file:%s", param, (int)(colon - value), value,
		    refile_ok ? " or refile:" : "");
		return NULL;
	}
	if (value[0] != '/') {
		kt_error(cx, NULL, 0, "%s: \"%s\" must be an absolute path", param,
		    value);
		return NULL;
	}
	return value;
}

/* kt_key_add - append a key and load its file; errors at file:line */
static int
kt_key_add(struct rg_conf_ctx *cx, struct rg_dkim_keylist *l,
    const char *name, const char *domain, const char *sel, const char *path,
    const char *file, int line)
{
	struct rg_buf why = RG_BUF_INIT;
	struct rg_dkim_key *k;
	int rc = 0;

	if (!kt_valid_domain(domain, name != NULL))
		return kt_error(cx, file, line, "bad signing domain \"%s\"", domain);
	if (!kt_valid_domain(sel, 0))
		return kt_error(cx, file, line, "bad selector \"%s\"", sel);
	if (path[0] != '/')
		return kt_error(cx, file, line, "key file \"%s\" must be an "
		    "absolute path (inline key data is not supported)", path);
	l->v = rg_xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	k = &l->v[l->n++];
	memset(k, 0, sizeof(*k));
	k->name = name ? rg_xstrdup(name) : NULL;
	k->domain = rg_xstrdup(domain);
	rg_str_lower(k->domain);
	k->selector = rg_xstrdup(sel);
	k->path = rg_xstrdup(path);
	if (rg_dkim_key_load(k, &why) < 0)
		rc = kt_error(cx, file, line, "%s", rg_buf_cstr(&why));
	rg_buf_release(&why);
	return rc;
}

/* --- dkim_sign: "domain selector /path, ..." ------------------------- */

struct kt_triple_arg {
	struct rg_dkim_keylist *out;
};

/* kt_triple - one "domain selector /path/key" */
static int
kt_triple(struct rg_conf_ctx *cx, char *s, const char *file, int line,
    void *arg)
{
	struct kt_triple_arg *a = arg;
	char *f[KT_MAX_FIELDS];
	int n = kt_fields(s, f, KT_MAX_FIELDS);

	if (n != 3)
		return kt_error(cx, file, line, "dkim_sign: expected \"domain "
		    "selector /path/to/key\", not \"%.80s\"", s);
	return kt_key_add(cx, a->out, NULL, f[0], f[1], f[2], file, line);
}

/* rg_dkim_keylist_parse - dkim_sign: triples, inline or from file: lists */
int
rg_dkim_keylist_parse(struct rg_conf_ctx *cx, const char *param,
    const char *value, struct rg_dkim_keylist *out)
{
	struct kt_triple_arg a = { out };
	char *copy = rg_xstrdup(value), *save = NULL, *item, *t;
	int rc = 0;

	for (item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
	    item = strtok_r(NULL, ",", &save)) {
		t = rg_str_trim(item);
		if (*t == '\0')
			continue;
		if (strncmp(t, "file:", 5) != 0)
			rc = kt_triple(cx, t, NULL, 0, &a);
		else if (t[5] != '/')
			rc = kt_error(cx, NULL, 0, "%s: \"%s\" must be an absolute "
			    "path", param, t + 5);
		else
			rc = kt_read_lines(cx, param, t + 5, kt_triple, &a);
	}
	free(copy);
	return rc;
}

/* --- KeyTable: "name domain:selector:/path" -------------------------- */

/* kt_keytable_line - one KeyTable entry */
static int
kt_keytable_line(struct rg_conf_ctx *cx, char *s, const char *file,
    int line, void *arg)
{
	struct rg_keytable *t = arg;
	char *f[KT_MAX_FIELDS], *c1, *c2;

	if (kt_fields(s, f, KT_MAX_FIELDS) != 2 ||
	    (c1 = strchr(f[1], ':')) == NULL || (c2 = strchr(c1 + 1, ':')) == NULL)
		return kt_error(cx, file, line, "expected \"keyname "
		    "domain:selector:/path/to/key\", not \"%.80s\"", s);
	for (size_t i = 0; i < t->keys.n; i++)
		if (strcmp(t->keys.v[i].name, f[0]) == 0)
			return kt_error(cx, file, line, "key name \"%s\" used twice",
			    f[0]);
	*c1 = *c2 = '\0';
	return kt_key_add(cx, &t->keys, f[0], f[1], c1 + 1, c2 + 1, file, line);
}

/* rg_keytable_parse - dkim_key_table: every line, every key loaded */
int
rg_keytable_parse(struct rg_conf_ctx *cx, const char *param,
    const char *value, struct rg_keytable *out)
{
	const char *path;
	int wild;

	memset(out, 0, sizeof(*out));
	if (*value == '\0')
		return 0;
	if ((path = kt_table_path(cx, param, value, 0, &wild)) == NULL)
		return -1;
	out->path = rg_xstrdup(path);
	return kt_read_lines(cx, param, path, kt_keytable_line, out);
}

/* --- SigningTable: "pattern name[,name...] [signer]" ----------------- */

/* kt_split_names - "a,b,c" into the entry's names */
static int
kt_split_names(struct rg_signtable_entry *e, char *s)
{
	char *save = NULL, *tok;

	for (tok = strtok_r(s, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		e->names = rg_xreallocarray(e->names, e->nkeys + 1, sizeof(char *));
		e->names[e->nkeys++] = rg_xstrdup(tok);
	}
	return e->nkeys > 0 ? 0 : -1;
}

/* kt_signtable_line - one SigningTable entry */
static int
kt_signtable_line(struct rg_conf_ctx *cx, char *s, const char *file,
    int line, void *arg)
{
	struct rg_signtable *t = arg;
	struct rg_signtable_entry *e;
	char *f[KT_MAX_FIELDS];
	int n = kt_fields(s, f, KT_MAX_FIELDS);

	if (n < 2 || n > 3)
		return kt_error(cx, file, line, "expected \"pattern keyname[,keyname...] "
		    "[signer]\", not \"%.80s\"", s);
	t->v = rg_xreallocarray(t->v, t->n + 1, sizeof(*t->v));
	e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	e->pattern = rg_xstrdup(f[0]);
	e->signer = n == 3 ? rg_xstrdup(f[2]) : NULL;
	e->line = line;
	if (kt_split_names(e, f[1]) < 0)
		return kt_error(cx, file, line, "no key name in \"%.80s\"", s);
	return 0;
}

/* rg_signtable_parse - dkim_signing_table: every line; names resolved later */
int
rg_signtable_parse(struct rg_conf_ctx *cx, const char *param,
    const char *value, struct rg_signtable *out)
{
	const char *path;

	memset(out, 0, sizeof(*out));
	if (*value == '\0')
		return 0;
	if ((path = kt_table_path(cx, param, value, 1, &out->wildcard)) == NULL)
		return -1;
	out->path = rg_xstrdup(path);
	return kt_read_lines(cx, param, path, kt_signtable_line, out);
}

/* kt_key_index - position of a key name in the KeyTable, or -1 */
static long
kt_key_index(const struct rg_keytable *kt, const char *name)
{
	for (size_t i = 0; i < kt->keys.n; i++)
		if (strcmp(kt->keys.v[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* rg_signtable_resolve - names to KeyTable indices; unknown ones are errors */
int
rg_signtable_resolve(struct rg_conf_ctx *cx, struct rg_signtable *st,
    const struct rg_keytable *kt)
{
	for (size_t i = 0; i < st->n; i++) {
		struct rg_signtable_entry *e = &st->v[i];

		e->keys = rg_xcalloc(e->nkeys, sizeof(size_t));
		for (size_t j = 0; j < e->nkeys; j++) {
			long k = kt_key_index(kt, e->names[j]);

			if (kt->path == NULL)
				return kt_error(cx, st->path, e->line, "key \"%s\": "
				    "dkim_signing_table needs a dkim_key_table",
				    e->names[j]);
			if (k < 0)
				return kt_error(cx, st->path, e->line, "key \"%s\" is not "
				    "in dkim_key_table %s", e->names[j], kt->path);
			e->keys[j] = (size_t)k;
		}
	}
	return 0;
}

/* --- release ---------------------------------------------------------- */

/* rg_dkim_keylist_release - release every key of a list */
void
rg_dkim_keylist_release(struct rg_dkim_keylist *l)
{
	for (size_t i = 0; i < l->n; i++)
		rg_dkim_key_release(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* rg_keytable_release - release a KeyTable */
void
rg_keytable_release(struct rg_keytable *t)
{
	rg_dkim_keylist_release(&t->keys);
	free(t->path);
	t->path = NULL;
}

/* rg_signtable_release - release a SigningTable */
void
rg_signtable_release(struct rg_signtable *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct rg_signtable_entry *e = &t->v[i];

		for (size_t j = 0; j < e->nkeys; j++)
			free(e->names[j]);
		free(e->names);
		free(e->keys);
		free(e->pattern);
		free(e->signer);
	}
	free(t->v);
	free(t->path);
	memset(t, 0, sizeof(*t));
}

/* --- lookup ----------------------------------------------------------- */

/* rg_wildmat - '*' is any run of characters; iterative, so never deep */
int
rg_wildmat(const char *p, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p != '\0' &&
		    tolower((unsigned char)*p) == tolower((unsigned char)*s)) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* kt_find - the entry whose pattern is exactly key (any case) */
static const struct rg_signtable_entry *
kt_find(const struct rg_signtable *t, const char *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcasecmp(t->v[i].pattern, key) == 0)
			return &t->v[i];
	return NULL;
}

/* kt_find_parents - "user@.parent" or ".parent" for each parent domain */
static const struct rg_signtable_entry *
kt_find_parents(const struct rg_signtable *t, const char *user,
    const char *host, int with_user)
{
	const struct rg_signtable_entry *e;
	char key[KT_ADDR_MAX + 8];

	for (const char *dot = strchr(host, '.'); dot != NULL;
	    dot = strchr(dot + 1, '.')) {
		int n = with_user ? snprintf(key, sizeof(key), "%s@%s", user, dot) :
		    snprintf(key, sizeof(key), "%s", dot);

		if (n > 0 && (size_t)n < sizeof(key) && (e = kt_find(t, key)) != NULL)
			return e;
	}
	return NULL;
}

/* kt_lookup_exact - OpenDKIM's order for non-wildcard tables */
static const struct rg_signtable_entry *
kt_lookup_exact(const struct rg_signtable *t, const char *addr)
{
	const struct rg_signtable_entry *e;
	const char *at = strrchr(addr, '@');
	char user[KT_ADDR_MAX], key[KT_ADDR_MAX + 4];
	const char *host = at ? at + 1 : addr;
	int has_user = at != NULL && at != addr && (size_t)(at - addr) < sizeof(user);

	if ((e = kt_find(t, addr)) != NULL || (at && (e = kt_find(t, host)) != NULL))
		return e;
	if (has_user) {
		memcpy(user, addr, (size_t)(at - addr));
		user[at - addr] = '\0';
		if ((e = kt_find_parents(t, user, host, 1)) != NULL)
			return e;
	}
	if ((e = kt_find_parents(t, "", host, 0)) != NULL)
		return e;
	if (has_user && snprintf(key, sizeof(key), "%s@*", user) < (int)sizeof(key) &&
	    (e = kt_find(t, key)) != NULL)
		return e;
	return kt_find(t, "*");
}

/* rg_signtable_lookup - the entry that applies to a From address, or NULL */
const struct rg_signtable_entry *
rg_signtable_lookup(const struct rg_signtable *t, const char *addr)
{
	if (t->n == 0 || addr == NULL || *addr == '\0')
		return NULL;
	if (!t->wildcard)
		return kt_lookup_exact(t, addr);
	for (size_t i = 0; i < t->n; i++)
		if (rg_wildmat(t->v[i].pattern, addr))
			return &t->v[i];
	return NULL;
}
