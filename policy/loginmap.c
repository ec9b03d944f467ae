/*
 * loginmap.c - sender_login_maps (see loginmap.h)
 *
 * The file is read through rg_conf_foreach_item(), which already knows
 * file: paths relative to the configuration, comments and line numbers:
 * the first element of a line is the key, the rest of that line its
 * logins. Postfix's continuation lines (leading white space) are not
 * supported: each line is one entry, which keeps errors on their line.
 * A key listed twice keeps its first line, with a warning, as postmap does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "loginmap.h"
#include "strutil.h"
#include "xalloc.h"

struct loginmap_load {
	struct rg_loginmap *map;
	const char *param;
	const char *file;	/* where the current entry started */
	int line;
	struct rg_loginmap_entry *cur;	/* the entry being filled, or NULL */
	int nerr;
};

/* loginmap_key - "user@domain" or "@domain", domain normalised; -1 if bad */
static int
loginmap_key(const char *item, char *key, size_t size)
{
	const char *at = strrchr(item, '@');
	char dom[RG_ADDR_DOMAIN_MAX + 1];
	int n;

	if (at == NULL || rg_addr_norm_domain(at + 1, dom, sizeof(dom)) < 0)
		return -1;
	if (memchr(item, '@', (size_t)(at - item)) != NULL)
		return -1;
	n = snprintf(key, size, "%.*s@%s", (int)(at - item), item, dom);
	if (n < 0 || (size_t)n >= size)
		return -1;
	rg_str_lower(key);
	return 0;
}

/* loginmap_find_linear - the entry for key, or NULL (while loading) */
static struct rg_loginmap_entry *
loginmap_find_linear(struct rg_loginmap *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].key, key) == 0)
			return &m->v[i];
	return NULL;
}

/* loginmap_start - a new line: its first element is the key */
static void
loginmap_start(struct rg_conf_ctx *cx, struct loginmap_load *ld,
    const char *item, const char *file, int line)
{
	struct rg_loginmap *m = ld->map;
	struct rg_loginmap_entry *dup;
	char key[RG_ADDR_PATH_MAX + 1];

	ld->cur = NULL;
	if (loginmap_key(item, key, sizeof(key)) < 0) {
		rg_conf_error(cx, file, line, "%s: \"%s\" is neither user@domain "
		    "nor @domain", ld->param, item);
		ld->nerr++;
		return;
	}
	if ((dup = loginmap_find_linear(m, key)) != NULL) {
		rg_conf_warn(cx, file, line, "%s: %s is listed again; the first "
		    "entry is used", ld->param, key);
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->v = rg_xreallocarray(m->v, m->cap, sizeof(*m->v));
	}
	ld->cur = &m->v[m->n++];
	memset(ld->cur, 0, sizeof(*ld->cur));
	ld->cur->key = rg_xstrdup(key);
}

/* loginmap_check_done - the entry that just ended must name a login */
static void
loginmap_check_done(struct rg_conf_ctx *cx, struct loginmap_load *ld)
{
	if (ld->cur != NULL && ld->cur->logins.n == 0) {
		rg_conf_error(cx, ld->file, ld->line, "%s: no login for %s",
		    ld->param, ld->cur->key);
		ld->nerr++;
	}
}

/* loginmap_item - one element: a key when its line is new, else a login */
static int
loginmap_item(struct rg_conf_ctx *cx, const char *item, const char *file,
    int line, void *arg)
{
	struct loginmap_load *ld = arg;
	struct rg_strlist *l;

	if (ld->file == NULL || line != ld->line || strcmp(file, ld->file) != 0) {
		loginmap_check_done(cx, ld);
		ld->file = file;
		ld->line = line;
		loginmap_start(cx, ld, item, file, line);
		return 0;
	}
	if (ld->cur == NULL)
		return 0;	/* a bad or duplicate key: its logins go with it */
	l = &ld->cur->logins;
	l->v = rg_xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = rg_xstrdup(item);
	return 0;
}

/* loginmap_cmp - order of entries by key */
static int
loginmap_cmp(const void *x, const void *y)
{
	const struct rg_loginmap_entry *a = x, *b = y;

	return strcmp(a->key, b->key);
}

/* loginmap_conf_parse - value is "", a path, or file:path */
static int
loginmap_conf_parse(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	struct rg_loginmap *m = dst;
	struct loginmap_load ld = { m, p->name, NULL, 0, NULL, 0 };
	struct rg_buf spec = RG_BUF_INIT;
	int rc;

	if (*value == '\0')
		return 0;
	if (value[strcspn(value, ", \t")] != '\0') {
		rg_conf_perror(cx, "%s: expected one file name, not \"%s\"",
		    p->name, value);
		return -1;
	}
	if (strncmp(value, "file:", 5) != 0)
		rg_buf_puts(&spec, "file:");
	rg_buf_puts(&spec, value);
	m->enabled = 1;
	m->path = rg_xstrdup(value);
	rc = rg_conf_foreach_item(cx, rg_buf_cstr(&spec), loginmap_item, &ld);
	if (rc == 0)
		loginmap_check_done(cx, &ld);
	rg_buf_release(&spec);
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), loginmap_cmp);
	return rc < 0 || ld.nerr > 0 ? -1 : 0;
}

/* loginmap_lookup - binary search by key */
static const struct rg_loginmap_entry *
loginmap_lookup(const struct rg_loginmap *m, const char *key)
{
	struct rg_loginmap_entry k = { (char *)key, { 0, NULL } };

	if (m->n == 0)
		return NULL;
	return bsearch(&k, m->v, m->n, sizeof(*m->v), loginmap_cmp);
}

/* rg_loginmap_owns - the full address decides when listed, else @domain */
int
rg_loginmap_owns(const struct rg_loginmap *m, const char *local,
    const char *domain, const char *login)
{
	const struct rg_loginmap_entry *e;
	char key[RG_ADDR_PATH_MAX * 2 + 2];
	int n;

	if (domain == NULL || *domain == '\0' || login == NULL || *login == '\0')
		return 0;
	n = snprintf(key, sizeof(key), "%s@%s", local ? local : "", domain);
	if (n < 0 || (size_t)n >= sizeof(key))
		return 0;
	rg_str_lower(key);
	if ((e = loginmap_lookup(m, key)) == NULL)
		e = loginmap_lookup(m, strrchr(key, '@'));
	if (e == NULL)
		return 0;
	for (size_t i = 0; i < e->logins.n; i++)
		if (strcasecmp(e->logins.v[i], login) == 0)
			return 1;
	return 0;
}

/* rg_loginmap_release - free the contents, leave an empty map */
void
rg_loginmap_release(struct rg_loginmap *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		rg_strlist_free(&m->v[i].logins);
	}
	free(m->v);
	free(m->path);
	memset(m, 0, sizeof(*m));
}

/* loginmap_conf_free - release a configured map */
static void
loginmap_conf_free(void *dst)
{
	rg_loginmap_release(dst);
}

const struct rg_ptype_ops rg_loginmap_ops = {
	loginmap_conf_parse, loginmap_conf_free,
};
