/*
 * kvadmin.c - relayguardctl's commands over the counter store (kvadmin.h)
 *
 * Counters are read with the window their key names (rl:<kind>:<rule>:
 * <window>:..., lo:<kind>:<window>:...), because reading a counter with
 * another window would restart it. Keys are listed with rg_kv_scan, which
 * is slow on a big Redis: these commands are for people, not for mail.
 * Output is plain text, one line per item, meant to be read and grepped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocklist.h"
#include "kvadmin.h"
#include "lockout.h"
#include "ratelimit.h"
#include "settings.h"
#include "strutil.h"
#include "xalloc.h"

#define KVA_SHOW_MAX	1000	/* keys shown by "show PREFIX*" */
#define KVA_TOP_DEFAULT	10

struct kva_top {
	long long count;
	const char *key;
};

/* kva_window - the window a counter key names, or 0 for other keys */
static long long
kva_window(const char *key)
{
	char copy[RG_KV_KEY_MAX + 1], *f[5], *save = NULL;
	size_t n = 0, want;
	long long ms;

	if (strncmp(key, "rl:", 3) == 0)
		want = 4;	/* rl kind rule window */
	else if (strncmp(key, "lo:msg:", 7) == 0 ||
	    strncmp(key, "lo:rcpt:", 8) == 0)
		want = 3;	/* lo kind window */
	else
		return 0;
	if (rg_strlcpy(copy, key, sizeof(copy)) >= sizeof(copy))
		return 0;
	for (char *t = strtok_r(copy, ":", &save); t && n < want;
	    t = strtok_r(NULL, ":", &save))
		f[n++] = t;
	if (n < want || rg_rl_window_parse(f[want - 1], &ms) < 0)
		return 0;
	return ms;
}

/* kva_show_one - "key = value" or "key = count in window" */
static enum rg_kvadmin_status
kva_show_one(struct rg_kv *kv, const char *key, struct rg_buf *out)
{
	struct rg_buf val = RG_BUF_INIT, why = RG_BUF_INIT;
	long long w = kva_window(key), count = 0;
	enum rg_kv_status st;
	char win[24];

	if (w > 0) {
		st = rg_kv_count_get(kv, key, w, &count, &why);
		rg_rl_window_format(w, win, sizeof(win));
		if (st == RG_KV_OK)
			rg_buf_printf(out, "%s = %lld in %s\n", key, count, win);
	} else {
		st = rg_kv_get(kv, key, &val, &why);
		if (st == RG_KV_OK)
			rg_buf_printf(out, "%s = %s\n", key, rg_buf_cstr(&val));
		else if (st == RG_KV_NOTFOUND)
			rg_buf_printf(out, "%s: not found\n", key);
	}
	if (st == RG_KV_TEMPFAIL || st == RG_KV_INVAL)
		rg_buf_printf(out, "%s: %s\n", key, rg_buf_cstr(&why));
	rg_buf_release(&val);
	rg_buf_release(&why);
	return st == RG_KV_OK ? RG_KVADMIN_OK : RG_KVADMIN_FAIL;
}

/* kva_scan - keys under prefix, or an error line */
static int
kva_scan(struct rg_kv *kv, const char *prefix, size_t max,
    struct rg_kv_keys *keys, struct rg_buf *out)
{
	struct rg_buf why = RG_BUF_INIT;
	enum rg_kv_status st = rg_kv_scan(kv, prefix, max, keys, &why);

	if (st != RG_KV_OK)
		rg_buf_printf(out, "cannot list %s*: %s\n", prefix,
		    rg_buf_cstr(&why));
	else if (keys->truncated)
		rg_buf_printf(out, "# more than %zu keys match %s*; the rest "
		    "are not shown\n", max, prefix);
	rg_buf_release(&why);
	return st == RG_KV_OK ? 0 : -1;
}

/* kva_show - show KEY, or every key under PREFIX* */
static enum rg_kvadmin_status
kva_show(struct rg_kv *kv, const char *arg, struct rg_buf *out)
{
	size_t n = strlen(arg);
	struct rg_kv_keys keys;
	char prefix[RG_KV_KEY_MAX + 1];
	enum rg_kvadmin_status rc = RG_KVADMIN_OK;

	if (n == 0 || arg[n - 1] != '*')
		return kva_show_one(kv, arg, out);
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(n - 1), arg);
	if (kva_scan(kv, prefix, KVA_SHOW_MAX, &keys, out) < 0)
		return RG_KVADMIN_FAIL;
	for (size_t i = 0; i < keys.n; i++)
		if (kva_show_one(kv, keys.key[i], out) != RG_KVADMIN_OK)
			rc = RG_KVADMIN_FAIL;
	if (keys.n == 0)
		rg_buf_printf(out, "# no key matches %s\n", arg);
	rg_kv_keys_release(&keys);
	return rc;
}

/* kva_top_cmp - qsort: highest count first, then by key */
static int
kva_top_cmp(const void *a, const void *b)
{
	const struct kva_top *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* kva_top_read - the current count of every key under prefix */
static void
kva_top_read(struct rg_kv *kv, const char *prefix, struct rg_kv_keys *keys,
    struct kva_top **t, size_t *nt, struct rg_buf *out)
{
	if (kva_scan(kv, prefix, RG_KVADMIN_TOP_SCAN, keys, out) < 0)
		return;
	*t = rg_xreallocarray(*t, *nt + keys->n + 1, sizeof(**t));
	for (size_t i = 0; i < keys->n; i++) {
		long long w = kva_window(keys->key[i]), count = 0;

		if (w > 0 && rg_kv_count_get(kv, keys->key[i], w, &count,
		    NULL) == RG_KV_OK && count > 0)
			(*t)[(*nt)++] = (struct kva_top){ count, keys->key[i] };
	}
}

/* kva_top - top [messages|recipients] [N] */
static enum rg_kvadmin_status
kva_top(struct rg_kv *kv, int argc, char **argv, struct rg_buf *out)
{
	const char *what = "messages";
	long long n = KVA_TOP_DEFAULT;
	struct rg_kv_keys rl = { 0, NULL, 0 }, lo = { 0, NULL, 0 };
	struct kva_top *t = NULL;
	size_t nt = 0;
	int i = 1, msgs;

	if (i < argc && (strcmp(argv[i], "messages") == 0 ||
	    strcmp(argv[i], "recipients") == 0))
		what = argv[i++];
	if (i < argc && (rg_str_parse_ll(argv[i++], &n) < 0 || n < 1))
		return RG_KVADMIN_USAGE;
	if (i < argc)
		return RG_KVADMIN_USAGE;
	msgs = what[0] == 'm';
	kva_top_read(kv, msgs ? "rl:msg:" : "rl:rcpt:", &rl, &t, &nt, out);
	kva_top_read(kv, msgs ? "lo:msg:" : "lo:rcpt:", &lo, &t, &nt, out);
	if (nt > 1)
		qsort(t, nt, sizeof(*t), kva_top_cmp);
	for (size_t j = 0; j < nt && j < (size_t)n; j++)
		rg_buf_printf(out, "%12lld  %s\n", t[j].count, t[j].key);
	if (nt == 0)
		rg_buf_printf(out, "# no %s counted\n", what);
	free(t);
	rg_kv_keys_release(&rl);
	rg_kv_keys_release(&lo);
	return RG_KVADMIN_OK;
}

/* kva_stamp - the time now, for the values admins set */
static void
kva_stamp(char *out, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%lld", (long long)now);
}

/* kva_status - a line for a store failure; the command's status */
static enum rg_kvadmin_status
kva_status(enum rg_kv_status st, const char *what, const struct rg_buf *why,
    struct rg_buf *out)
{
	if (st == RG_KV_OK)
		return RG_KVADMIN_OK;
	rg_buf_printf(out, "%s: %s\n", what, st == RG_KV_NOTFOUND ?
	    "not found" : rg_buf_cstr(why));
	return RG_KVADMIN_FAIL;
}

/* kva_lock - lock or unlock ACCOUNT */
static enum rg_kvadmin_status
kva_lock(struct rg_kv *kv, const struct rg_conf *conf, int lock,
    const char *account, struct rg_buf *out)
{
	struct rg_buf why = RG_BUF_INIT;
	char key[RG_KV_KEY_MAX + 1], value[128], stamp[32];
	enum rg_kv_status st;
	enum rg_kvadmin_status rc;

	if (lock) {
		rg_lockout_lock_key(account, key, sizeof(key));
		kva_stamp(stamp, sizeof(stamp));
		snprintf(value, sizeof(value), "locked %s: by the administrator",
		    stamp);
		st = rg_kv_set(kv, key, value, strlen(value), 0, &why);
	} else {
		st = rg_lockout_unlock(kv, &conf->lockout, account, &why);
	}
	rc = kva_status(st, account, &why, out);
	if (rc == RG_KVADMIN_OK)
		rg_buf_printf(out, "%s %s\n", lock ? "locked" : "unlocked",
		    account);
	else if (st == RG_KV_NOTFOUND)
		rg_buf_printf(out, "%s was not locked\n", account);
	rg_buf_release(&why);
	return rc;
}

/* kva_block - block or unblock a network */
static enum rg_kvadmin_status
kva_block(struct rg_kv *kv, int block, const char *arg, struct rg_buf *out)
{
	struct rg_buf why = RG_BUF_INIT;
	char cidr[64], key[96], value[96], stamp[32], err[160];
	enum rg_kv_status st;
	enum rg_kvadmin_status rc;

	if (rg_block_canon(arg, cidr, sizeof(cidr), err, sizeof(err)) < 0) {
		rg_buf_printf(out, "%s\n", err);
		return RG_KVADMIN_USAGE;
	}
	snprintf(key, sizeof(key), "%s%s", RG_BLOCK_PREFIX, cidr);
	if (block) {
		kva_stamp(stamp, sizeof(stamp));
		snprintf(value, sizeof(value), "blocked %s", stamp);
		st = rg_kv_set(kv, key, value, strlen(value), 0, &why);
	} else {
		st = rg_kv_del(kv, key, &why);
	}
	rc = kva_status(st, cidr, &why, out);
	if (rc == RG_KVADMIN_OK) {
		rg_buf_printf(out, "%s %s\n", block ? "blocked" : "unblocked",
		    cidr);
		/* this process's cache (the daemon's, via the control socket) */
		rg_blocklist_refresh(kv, NULL);
	}
	rg_buf_release(&why);
	return rc;
}

/* kva_list - every key under prefix with its value, prefix stripped */
static enum rg_kvadmin_status
kva_list(struct rg_kv *kv, const char *prefix, const char *none,
    struct rg_buf *out)
{
	struct rg_buf val = RG_BUF_INIT;
	struct rg_kv_keys keys;
	size_t plen = strlen(prefix);

	if (kva_scan(kv, prefix, RG_KV_SCAN_MAX, &keys, out) < 0)
		return RG_KVADMIN_FAIL;
	for (size_t i = 0; i < keys.n; i++)
		if (rg_kv_get(kv, keys.key[i], &val, NULL) == RG_KV_OK)
			rg_buf_printf(out, "%-40s %s\n", keys.key[i] + plen,
			    rg_buf_cstr(&val));
	if (keys.n == 0)
		rg_buf_printf(out, "# %s\n", none);
	rg_kv_keys_release(&keys);
	rg_buf_release(&val);
	return RG_KVADMIN_OK;
}

/* rg_kvadmin_usage - the commands, for usage messages */
const char *
rg_kvadmin_usage(void)
{
	return "commands:\n"
	    "  show KEY|PREFIX*          a value or counter (keys: rl:, lo:, "
	    "lock:, block:, slot:, gl:)\n"
	    "  top [messages|recipients] [N]  the N highest counters\n"
	    "  lock ACCOUNT | unlock ACCOUNT\n"
	    "  block IP|CIDR | unblock IP|CIDR\n"
	    "  locked | blocked          list locked accounts, blocked networks\n";
}

/* rg_kvadmin_run - dispatch one command */
enum rg_kvadmin_status
rg_kvadmin_run(struct rg_kv *kv, const struct rg_conf *conf, int argc,
    char **argv, struct rg_buf *out)
{
	const char *cmd = argc > 0 ? argv[0] : "";
	int one = argc == 2;

	if (strcmp(cmd, "show") == 0 && one)
		return kva_show(kv, argv[1], out);
	if (strcmp(cmd, "top") == 0 && argc <= 3)
		return kva_top(kv, argc, argv, out);
	if ((strcmp(cmd, "lock") == 0 || strcmp(cmd, "unlock") == 0) && one)
		return kva_lock(kv, conf, cmd[0] == 'l', argv[1], out);
	if ((strcmp(cmd, "block") == 0 || strcmp(cmd, "unblock") == 0) && one)
		return kva_block(kv, cmd[0] == 'b', argv[1], out);
	if (strcmp(cmd, "locked") == 0 && argc == 1)
		return kva_list(kv, "lock:", "no account is locked", out);
	if (strcmp(cmd, "blocked") == 0 && argc == 1)
		return kva_list(kv, RG_BLOCK_PREFIX, "no network is blocked", out);
	rg_buf_printf(out, "%s", rg_kvadmin_usage());
	return RG_KVADMIN_USAGE;
}
