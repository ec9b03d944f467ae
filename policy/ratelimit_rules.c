/*
 * ratelimit_rules.c - ratelimit_rules: the rule syntax, the parameter
 * table, and the counter keys every limit module shares
 *
 * Public: rg_ratelimit_params[], rg_rl_rate_ops, rg_rl_rule_parse(),
 * rg_rl_rate_parse(), rg_rl_window_*(), rg_rl_key() and the key helpers
 * (see ratelimit.h for the syntax). A rule file has one rule per line
 * with '#' comments; inline, rules are separated by ';' because the
 * configuration joins continuation lines into one. Errors name the file
 * and line of the rule (inline: the parameter's line and the rule's
 * number). Pure functions, thread-safe.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "siphash.h"
#include "strutil.h"
#include "xalloc.h"

#define RL_WORDS_MAX	16	/* words in one rule */
#define RL_LINE_MAX	4096	/* one rule */

static const char *const rl_count_names[] = {
	"connections", "messages", "recipients",
};
static const char *const rl_part_names[] = {
	"client_ip", "client_net", "sasl_user", "sender", "sender_domain",
	"rcpt_domain",
};
static const char *const rl_action_names[] = { "tempfail", "reject", "tag" };
static const char *const rl_class_names[] = {
	"all", "auth", "unauth", "trusted",
};
/* the key prefix of each kind of counter */
static const char *const rl_count_tags[] = { "conn", "msg", "rcpt" };

/* rl_word - index of w in names[0..n), or -1 */
static int
rl_word(const char *w, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w, names[i]) == 0)
			return (int)i;
	return -1;
}

/* rg_rl_count_name - connections, messages or recipients */
const char *
rg_rl_count_name(enum rg_rl_count c)
{
	return (unsigned)c < 3 ? rl_count_names[c] : "?";
}

/* rg_rl_action_name - tempfail, reject or tag */
const char *
rg_rl_action_name(enum rg_rl_action a)
{
	return (unsigned)a < 3 ? rl_action_names[a] : "?";
}

/* rg_rl_window_parse - [N]unit, unit s m h d w; 1s to RG_KV_WINDOW_MAX */
int
rg_rl_window_parse(const char *s, long long *ms)
{
	static const char units[] = "smhdw";
	static const long long scale[] = { 1000, 60000, 3600000, 86400000,
	    604800000 };
	long long n = 0;
	const char *u;
	size_t digits = 0;

	for (; isdigit((unsigned char)*s); s++, digits++) {
		if (digits == 9)
			return -1;
		n = n * 10 + (*s - '0');
	}
	if (digits == 0)
		n = 1;
	if (s[0] == '\0' || s[1] != '\0' || (u = strchr(units, s[0])) == NULL)
		return -1;
	n *= scale[u - units];
	if (n < 1000 || n > RG_KV_WINDOW_MAX)
		return -1;
	*ms = n;
	return 0;
}

/* rg_rl_window_format - the largest unit that divides ms exactly */
void
rg_rl_window_format(long long ms, char *out, size_t size)
{
	static const char units[] = "wdhms";
	static const long long scale[] = { 604800000, 86400000, 3600000,
	    60000, 1000 };

	for (size_t i = 0; i < sizeof(scale) / sizeof(scale[0]); i++)
		if (ms % scale[i] == 0) {
			snprintf(out, size, "%lld%c", ms / scale[i], units[i]);
			return;
		}
	snprintf(out, size, "%lldms", ms);
}

/* rg_rl_rate_parse - LIMIT/WINDOW */
int
rg_rl_rate_parse(const char *s, struct rg_rl_rate *out)
{
	const char *slash = strchr(s, '/');
	long long n = 0;

	if (slash == NULL || slash == s || slash - s > 11)
		return -1;
	for (const char *p = s; p < slash; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		n = n * 10 + (*p - '0');
	}
	if (n > RG_KV_COUNT_MAX || rg_rl_window_parse(slash + 1,
	    &out->window_ms) < 0)
		return -1;
	out->limit = n;
	return 0;
}

/* rl_parse_key - "part+part..." into r */
static int
rl_parse_key(const char *w, struct rg_rl_rule *r, char *why, size_t ws)
{
	char copy[256], *save = NULL;

	if (rg_strlcpy(copy, w, sizeof(copy)) >= sizeof(copy) ||
	    w[0] == '+' || w[strlen(w) - 1] == '+' || strstr(w, "++")) {
		snprintf(why, ws, "bad key \"%.60s\"", w);
		return -1;
	}
	for (char *p = strtok_r(copy, "+", &save); p;
	    p = strtok_r(NULL, "+", &save)) {
		int k = rl_word(p, rl_part_names, RG_RLK_COUNT);

		if (k < 0) {
			snprintf(why, ws, "unknown key \"%.60s\" (client_ip, "
			    "client_net, sasl_user, sender, sender_domain, "
			    "rcpt_domain, or several joined by '+')", p);
			return -1;
		}
		for (size_t i = 0; i < r->nparts; i++)
			if (r->part[i] == (enum rg_rl_part)k) {
				snprintf(why, ws, "key %s given twice", p);
				return -1;
			}
		r->part[r->nparts++] = (enum rg_rl_part)k;
	}
	return 0;
}

/* rl_parse_rate - one more rate for r; windows must differ */
static int
rl_parse_rate(const char *w, struct rg_rl_rule *r, char *why, size_t ws)
{
	struct rg_rl_rate rt;

	if (rg_rl_rate_parse(w, &rt) < 0) {
		snprintf(why, ws, "bad rate \"%.60s\" (LIMIT/WINDOW, e.g. "
		    "100/1h; window 1s to 366d in s, m, h, d or w)", w);
		return -1;
	}
	if (r->nrates == RG_RL_WINDOWS_MAX) {
		snprintf(why, ws, "more than %d rates", RG_RL_WINDOWS_MAX);
		return -1;
	}
	for (size_t i = 0; i < r->nrates; i++)
		if (r->rate[i].window_ms == rt.window_ms) {
			snprintf(why, ws, "two rates for the same window in "
			    "\"%.60s\"", w);
			return -1;
		}
	r->rate[r->nrates++] = rt;
	return 0;
}

/* rl_parse_option - an action or a client class, each at most once */
static int
rl_parse_option(const char *w, struct rg_rl_rule *r, int *seen, char *why,
    size_t ws)
{
	int a = rl_word(w, rl_action_names, 3), k = rl_word(w, rl_class_names, 4);

	if (a < 0 && k < 0) {
		snprintf(why, ws, "unexpected \"%.60s\" (a rate LIMIT/WINDOW, "
		    "tempfail, reject, tag, all, auth, unauth or trusted)", w);
		return -1;
	}
	if (seen[a >= 0 ? 0 : 1]++) {
		snprintf(why, ws, "more than one %s (\"%.60s\")",
		    a >= 0 ? "action" : "client class", w);
		return -1;
	}
	if (a >= 0)
		r->action = (enum rg_rl_action)a;
	else
		r->class = (enum rg_rl_class)k;
	return 0;
}

/* rl_check_stage - what can be known at the stage the rule counts at */
static int
rl_check_stage(const struct rg_rl_rule *r, char *why, size_t ws)
{
	for (size_t i = 0; i < r->nparts; i++) {
		enum rg_rl_part p = r->part[i];

		if (r->count == RG_RL_CONNECTIONS && p != RG_RLK_CLIENT_IP &&
		    p != RG_RLK_CLIENT_NET) {
			snprintf(why, ws, "connections are counted at CONNECT, "
			    "where only client_ip and client_net are known");
			return -1;
		}
		if (r->count == RG_RL_MESSAGES && p == RG_RLK_RCPT_DOMAIN) {
			snprintf(why, ws, "rcpt_domain is known per recipient: "
			    "count recipients");
			return -1;
		}
	}
	if (r->count == RG_RL_CONNECTIONS && r->class == RG_RL_AUTH) {
		snprintf(why, ws, "a client logs in after CONNECT: connections "
		    "cannot be limited for auth clients");
		return -1;
	}
	if (r->nrates == 0) {
		snprintf(why, ws, "no rate (LIMIT/WINDOW, e.g. 100/1h)");
		return -1;
	}
	return 0;
}

/* rl_parse_name - letters, digits, '_', '-', '.' */
static int
rl_parse_name(const char *w, struct rg_rl_rule *r, char *why, size_t ws)
{
	size_t n = strlen(w);

	if (n == 0 || n > RG_RL_NAME_MAX || strspn(w, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") != n) {
		snprintf(why, ws, "bad rule name \"%.60s\" (1 to %d letters, "
		    "digits, '_', '-' or '.')", w, RG_RL_NAME_MAX);
		return -1;
	}
	memcpy(r->name, w, n + 1);
	return 0;
}

/* rg_rl_rule_parse - NAME COUNT KEY RATE... [ACTION] [CLASS] */
int
rg_rl_rule_parse(const char *line, struct rg_rl_rule *out, char *why,
    size_t ws)
{
	char copy[RL_LINE_MAX], *w[RL_WORDS_MAX + 1], *save = NULL;
	size_t n = 0;
	int seen[2] = { 0, 0 }, k;

	memset(out, 0, sizeof(*out));
	if (rg_strlcpy(copy, line, sizeof(copy)) >= sizeof(copy)) {
		snprintf(why, ws, "rule too long");
		return -1;
	}
	for (char *t = strtok_r(copy, " \t\r\n", &save); t && n <= RL_WORDS_MAX;
	    t = strtok_r(NULL, " \t\r\n", &save))
		w[n++] = t;
	if (n < 4 || n > RL_WORDS_MAX) {
		snprintf(why, ws, "expected NAME COUNT KEY RATE... [ACTION] "
		    "[CLASS], e.g. \"per_login messages sasl_user 100/1h "
		    "tempfail auth\"");
		return -1;
	}
	if (rl_parse_name(w[0], out, why, ws) < 0)
		return -1;
	if ((k = rl_word(w[1], rl_count_names, 3)) < 0) {
		snprintf(why, ws, "unknown count \"%.60s\" (connections, "
		    "messages or recipients)", w[1]);
		return -1;
	}
	out->count = (enum rg_rl_count)k;
	if (rl_parse_key(w[2], out, why, ws) < 0)
		return -1;
	for (size_t i = 3; i < n; i++)
		if ((strchr(w[i], '/') ? rl_parse_rate(w[i], out, why, ws) :
		    rl_parse_option(w[i], out, seen, why, ws)) < 0)
			return -1;
	return rl_check_stage(out, why, ws);
}

/* --- the parameter ---------------------------------------------------- */

struct rl_load {
	struct rg_conf_ctx *cx;
	struct rg_rl_rules *rules;
	size_t ops[3];		/* counters per stage */
	int rc;
};

/* rl_add - one parsed rule, checked against the ones before it */
static void
rl_add(struct rl_load *ld, const char *text, const char *file, int line,
    size_t inline_no)
{
	struct rg_rl_rule r;
	char why[512], where[48] = "";

	if (inline_no > 0)
		snprintf(where, sizeof(where), "rule %zu: ", inline_no);
	if (rg_rl_rule_parse(text, &r, why, sizeof(why)) < 0)
		goto fail;
	for (size_t i = 0; i < ld->rules->n; i++)
		if (strcmp(ld->rules->v[i].name, r.name) == 0) {
			snprintf(why, sizeof(why), "rule name \"%s\" used twice",
			    r.name);
			goto fail;
		}
	if (ld->rules->n == RG_RL_RULES_MAX) {
		snprintf(why, sizeof(why), "more than %d rules", RG_RL_RULES_MAX);
		goto fail;
	}
	if ((ld->ops[r.count] += r.nrates) > RG_RL_STAGE_OPS_MAX) {
		snprintf(why, sizeof(why), "more than %d rates count %s (one "
		    "store call per stage carries them all)",
		    RG_RL_STAGE_OPS_MAX, rl_count_names[r.count]);
		goto fail;
	}
	ld->rules->v = rg_xreallocarray(ld->rules->v, ld->rules->n + 1,
	    sizeof(r));
	ld->rules->v[ld->rules->n++] = r;
	return;
fail:
	rg_conf_error(ld->cx, file, line, "ratelimit_rules: %s%s", where, why);
	ld->rc = -1;
}

/* rl_load_file - one rule per line, '#' comments */
static void
rl_load_file(struct rl_load *ld, const char *name)
{
	char path[4096], *line = NULL;
	const char *dir = rg_conf_dir(ld->cx);
	size_t cap = 0;
	int lineno = 0;
	FILE *fp;

	if (name[0] != '/' && dir != NULL) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		    (int)sizeof(path)) {
			rg_conf_perror(ld->cx, "ratelimit_rules: file name too "
			    "long: %s", name);
			ld->rc = -1;
			return;
		}
		name = path;
	}
	if ((fp = fopen(name, "r")) == NULL) {
		rg_conf_perror(ld->cx, "ratelimit_rules: cannot open %s: %s",
		    name, strerror(errno));
		ld->rc = -1;
		return;
	}
	while (getline(&line, &cap, fp) >= 0) {
		char *t;

		lineno++;
		line[strcspn(line, "#")] = '\0';
		if (*(t = rg_str_trim(line)) != '\0')
			rl_add(ld, t, name, lineno, 0);
	}
	free(line);
	fclose(fp);
}

/* rl_conf_parse - "file:/path" and rules separated by ';', in any mix */
static int
rl_conf_parse(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	struct rl_load ld = { cx, dst, { 0, 0, 0 }, 0 };
	char *copy = rg_xstrdup(value), *save = NULL;
	size_t no = 0;

	(void)p;
	for (char *t = strtok_r(copy, ";", &save); t;
	    t = strtok_r(NULL, ";", &save)) {
		t = rg_str_trim(t);
		if (*t == '\0')
			continue;
		if (strncmp(t, "file:", 5) == 0 && strpbrk(t, " \t") == NULL)
			rl_load_file(&ld, t + 5);
		else
			rl_add(&ld, t, rg_conf_file(cx), rg_conf_line(cx), ++no);
	}
	free(copy);
	return ld.rc;
}

/* rl_conf_free - release the rules of a snapshot */
static void
rl_conf_free(void *dst)
{
	struct rg_rl_rules *r = dst;

	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static const struct rg_ptype_ops rl_rules_ops = {
	.parse = rl_conf_parse, .free = rl_conf_free,
};

/* rl_rate_conf_parse - a threshold: LIMIT/WINDOW, or "" / "0" for off */
static int
rl_rate_conf_parse(struct rg_conf_ctx *cx, const struct rg_param *p,
    const char *value, void *dst)
{
	struct rg_rl_rate *r = dst;

	r->limit = -1;
	r->window_ms = 0;
	if (value[0] == '\0' || strcmp(value, "0") == 0)
		return 0;
	if (rg_rl_rate_parse(value, r) < 0) {
		r->limit = -1;
		rg_conf_perror(cx, "%s: expected LIMIT/WINDOW (e.g. 500/1h), or "
		    "0 for off, not \"%s\"", p->name, value);
		return -1;
	}
	return 0;
}

/* rl_rate_conf_free - a rate holds nothing to release */
static void
rl_rate_conf_free(void *dst)
{
	(void)dst;
}

const struct rg_ptype_ops rg_rl_rate_ops = {
	.parse = rl_rate_conf_parse, .free = rl_rate_conf_free,
};

#define RL(f) offsetof(struct rg_ratelimit_conf, f)

const struct rg_param rg_ratelimit_params[] = {
	RG_P_CUSTOM("ratelimit_rules", "", &rl_rules_ops, RL(rules), 0,
	    "rate limits: NAME COUNT KEY RATE... [ACTION] [CLASS], ';' between rules, or file:/path"),
	RG_P_INT("max_connections_per_client", "0", 0, 100000,
	    RL(max_connections), 0,
	    "concurrent sessions per client address; more get 451 4.7.0 at CONNECT; 0: no limit"),
	RG_P_TIME("max_connections_ttl", "1h", 60000, 86400000LL, RL(slot_ttl), 0,
	    "a session's slot expires this long after it was taken, should its close be lost"),
	RG_P_END
};

/* --- keys ------------------------------------------------------------- */

/* rg_rl_key_value - lower case; control bytes, space and '|' become '?' */
void
rg_rl_key_value(char *key, size_t size, const char *value)
{
	size_t n = strlen(key);

	for (; *value && n + 1 < size; value++) {
		unsigned char ch = (unsigned char)*value;

		key[n++] = ch <= 0x20 || ch == 0x7f || ch == '|' ? '?' :
		    (char)tolower(ch);
	}
	key[n] = '\0';
}

/* rl_v4mapped - the IPv4 address inside ::ffff:a.b.c.d, or NULL */
static const unsigned char *
rl_v4mapped(const struct sockaddr_in6 *in6)
{
	return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) ?
	    in6->sin6_addr.s6_addr + 12 : NULL;
}

/* rl_client - family and address bytes, IPv4-mapped made IPv4 */
static int
rl_client(const struct sockaddr *sa, unsigned char addr[16])
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		const unsigned char *v4 = rl_v4mapped(in6);

		if (v4 != NULL) {
			memcpy(addr, v4, 4);
			return AF_INET;
		}
		memcpy(addr, in6->sin6_addr.s6_addr, 16);
		return AF_INET6;
	}
	return 0;
}

/* rg_rl_client_ip - the client address as key text */
int
rg_rl_client_ip(const struct sockaddr *sa, char *out, size_t size)
{
	unsigned char a[16];
	int af = rl_client(sa, a);

	if (af == 0 || inet_ntop(af, a, out, (socklen_t)size) == NULL)
		return -1;
	return 0;
}

/* rg_rl_client_net - the client network (/24, /64) as key text */
int
rg_rl_client_net(const struct sockaddr *sa, char *out, size_t size)
{
	unsigned char a[16];
	int af = rl_client(sa, a), plen;
	char text[INET6_ADDRSTRLEN];

	if (af == 0)
		return -1;
	plen = af == AF_INET ? RG_RL_NET4_PREFIX : RG_RL_NET6_PREFIX;
	memset(a + plen / 8, 0, (size_t)((af == AF_INET ? 4 : 16) - plen / 8));
	if (inet_ntop(af, a, text, sizeof(text)) == NULL ||
	    snprintf(out, size, "%s/%d", text, plen) >= (int)size)
		return -1;
	return 0;
}

/* rg_rl_domain_of - the domain of an address, or NULL */
const char *
rg_rl_domain_of(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

/* rl_part_value - the text of one key part, or NULL when unknown */
static const char *
rl_part_value(enum rg_rl_part p, const struct rg_rl_facts *f, char *buf,
    size_t size)
{
	switch (p) {
	case RG_RLK_CLIENT_IP:
		return rg_rl_client_ip(f->sa, buf, size) == 0 ? buf : NULL;
	case RG_RLK_CLIENT_NET:
		return rg_rl_client_net(f->sa, buf, size) == 0 ? buf : NULL;
	case RG_RLK_SASL_USER:
		return f->sasl_user && *f->sasl_user ? f->sasl_user : NULL;
	case RG_RLK_SENDER:
		return f->sender && *f->sender ? f->sender : NULL;
	case RG_RLK_SENDER_DOMAIN:
		return rg_rl_domain_of(f->sender);
	case RG_RLK_RCPT_DOMAIN:
		return rg_rl_domain_of(f->rcpt);
	case RG_RLK_COUNT:
		break;
	}
	return NULL;
}

/* rg_rl_key_shorten - a value longer than RG_RL_KEYTEXT_MAX becomes a hash */
void
rg_rl_key_shorten(char *value)
{
	/* fixed: every host and the admin tool must name the same key */
	static const unsigned char k[RG_SIPHASH_KEY_LEN] = "relayguard-keys";
	size_t n = strlen(value);
	unsigned long long h;

	if (n <= RG_RL_KEYTEXT_MAX)
		return;
	h = (unsigned long long)rg_siphash24(k, value, n);
	snprintf(value, RG_RL_KEYTEXT_MAX, "#%016llx", h);
}

/* rg_rl_key_join - prefix and one normalised value */
void
rg_rl_key_join(char *out, size_t size, const char *prefix, const char *value)
{
	char v[RG_KV_KEY_MAX + 1] = "";

	rg_rl_key_value(v, sizeof(v), value);
	rg_rl_key_shorten(v);
	snprintf(out, size, "%s%s", prefix, v);
}

/* rg_rl_key - the counter key of rule r, rate index rate, for facts f */
int
rg_rl_key(const struct rg_rl_rule *r, size_t rate,
    const struct rg_rl_facts *f, char *out, size_t size)
{
	char value[RG_KV_KEY_MAX + 1] = "", part[INET6_ADDRSTRLEN + 8];
	char win[24];

	for (size_t i = 0; i < r->nparts; i++) {
		const char *v = rl_part_value(r->part[i], f, part, sizeof(part));

		if (v == NULL)
			return -1;
		if (i > 0)
			rg_strlcat(value, "|", sizeof(value));
		rg_rl_key_value(value, sizeof(value), v);
	}
	rg_rl_key_shorten(value);
	rg_rl_window_format(r->rate[rate].window_ms, win, sizeof(win));
	if (snprintf(out, size, "rl:%s:%s:%s:%s", rl_count_tags[r->count],
	    r->name, win, value) >= (int)size)
		return -1;
	return 0;
}
