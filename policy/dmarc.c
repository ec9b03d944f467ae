/*
 * dmarc.c - DMARC (RFC 7489): record discovery, alignment, disposition
 *
 * See dmarc.h for what is decided here rather than in libopendmarc and
 * why. The Public Suffix List is the one the link scanner loaded
 * (rg_uri_psl(): the system's copy or libpsl's built-in, read-only).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <libpsl.h>
#include <opendmarc/dmarc.h>

#include "authres.h"
#include "dmarc.h"
#include "dns.h"
#include "log.h"
#include "metrics.h"
#include "relay.h"
#include "session.h"
#include "settings.h"
#include "strutil.h"
#include "uri.h"

#define DMARC_ACTIONS "reject|quarantine|tag|accept"
#define DM(f) offsetof(struct rg_dmarc_conf, f)
#define DMARC_MAX_RECORD 2048	/* longer TXT records are not DMARC */

const struct rg_param rg_dmarc_params[] = {
	RG_P_BOOL("dmarc_enable", "yes", DM(enable), 0,
	    "evaluate DMARC (RFC 7489) for clients neither trusted nor logged in"),
	RG_P_ENUM("dmarc_reject_action", "reject", DMARC_ACTIONS, DM(reject_action), 0,
	    "what a failing message under p=reject gets: reject (550 5.7.1), quarantine, tag, accept"),
	RG_P_ENUM("dmarc_quarantine_action", "quarantine", DMARC_ACTIONS,
	    DM(quarantine_action), 0, "what a failing message under p=quarantine gets"),
	RG_P_STR("dmarc_history_file", "", DM(history_file), 0,
	    "append every evaluation here in OpenDMARC's history format, for opendmarc-import"),
	RG_P_CUSTOM("dmarc_trusted_forwarders", "", &rg_netset_ops,
	    DM(trusted_forwarders), 0,
	    "networks of forwarders (mailing lists) whose mail is judged but never refused"),
	RG_P_END
};

static pthread_once_t dmarc_once = PTHREAD_ONCE_INIT;
static int dmarc_lib_ok;

static void
dmarc_init_once(void)
{
	OPENDMARC_LIB_T lib;

	memset(&lib, 0, sizeof(lib));
	dmarc_lib_ok = opendmarc_policy_library_init(&lib) == DMARC_PARSE_OKAY;
}

const char *
rg_dmarc_result_name(enum rg_dmarc_result r)
{
	static const char *const n[] = { "none", "pass", "fail", "temperror",
	    "permerror" };

	return (unsigned)r < sizeof(n) / sizeof(n[0]) ? n[r] : "none";
}

static const char *
dmarc_policy_name(enum rg_dmarc_policy p)
{
	return p == RG_DMARC_P_REJECT ? "reject" :
	    p == RG_DMARC_P_QUARANTINE ? "quarantine" : "none";
}

void
rg_dmarc_org_domain(const char *domain, char *out, size_t size)
{
	const psl_ctx_t *psl = rg_uri_psl();
	const char *reg = psl ? psl_registrable_domain(psl, domain) : NULL;

	rg_strlcpy(out, reg ? reg : domain, size);
	rg_str_lower(out);
}

int
rg_dmarc_aligned(const char *a, const char *b, int strict)
{
	char oa[256], ob[256];

	if (*a == '\0' || *b == '\0')
		return 0;
	if (strcasecmp(a, b) == 0)
		return 1;
	if (strict)
		return 0;
	rg_dmarc_org_domain(a, oa, sizeof(oa));
	rg_dmarc_org_domain(b, ob, sizeof(ob));
	return strcmp(oa, ob) == 0;
}

/* from_domain_at - copy the domain after an '@' up to its end */
static int
from_domain_at(const char *at, char *out, size_t size)
{
	size_t n = 0;

	for (const char *p = at + 1; *p && !strchr(" \t\r\n()<>,;:\"", *p) &&
	    n + 1 < size; p++)
		out[n++] = (char)tolower((unsigned char)*p);
	while (n > 0 && out[n - 1] == '.')
		n--;
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/*
 * rg_dmarc_from_domain - walk the field once; an '@' counts only outside
 * comments and quoted strings, and inside <...> when the mailbox has one,
 * so neither a display name nor a comment can supply the domain
 */
int
rg_dmarc_from_domain(const char *value, char *out, size_t size)
{
	char dom[256];
	const char *at = NULL;
	int count = 0, quoted = 0, depth = 0, angle = 0, differ = 0;

	out[0] = '\0';
	for (const char *p = value;; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = 0;
			else if (*p == '\0')
				return -1;
			continue;
		}
		if (depth > 0) {
			if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			else if (*p == '\\' && p[1])
				p++;
			else if (*p == '\0')
				return -1;
			continue;
		}
		if (*p == '"') {
			quoted = 1;
		} else if (*p == '(') {
			depth = 1;
		} else if (*p == '<') {
			angle = 1;
			at = NULL;	/* the address is the one in brackets */
		} else if (*p == '>') {
			angle = 2;
		} else if (*p == '@' && angle != 2) {
			at = p;
		} else if (*p == ':' && angle == 0) {
			at = NULL;	/* a group's display name ends here */
		} else if (*p == ',' || *p == ';' || *p == '\0') {
			if (angle == 1)
				return -1;	/* '<' without '>' */
			if (at != NULL && from_domain_at(at, dom, sizeof(dom)) == 0) {
				if (count++ == 0)
					rg_strlcpy(out, dom, size);
				else if (strcmp(out, dom) != 0)
					differ = 1;
			}
			at = NULL;
			angle = 0;
			if (*p == '\0')
				break;
		}
	}
	return differ ? -1 : count;
}

/* dmarc_is_record - "v" *WSP "=" *WSP "DMARC1", then end, WSP or ';' */
static int
dmarc_is_record(const char *t)
{
	while (*t == ' ' || *t == '\t')
		t++;
	if (*t++ != 'v')
		return 0;
	while (*t == ' ' || *t == '\t')
		t++;
	if (*t++ != '=')
		return 0;
	while (*t == ' ' || *t == '\t')
		t++;
	if (strncmp(t, "DMARC1", 6) != 0)
		return 0;
	t += 6;
	return *t == '\0' || *t == ';' || *t == ' ' || *t == '\t';
}

/*
 * dmarc_fetch - the one DMARC record at _dmarc.<domain> (RFC 7489
 * s6.6.3): 1 found, 0 none (or several: no policy), -1 temporary error
 */
static int
dmarc_fetch(const struct rg_conn *c, const char *domain, char *rec, size_t size)
{
	char name[RG_DNS_QNAME_MAX + 8];
	struct rg_dns_result r;
	struct rg_dns *dns = rg_dns_default();
	int found = 0;

	if (dns == NULL || snprintf(name, sizeof(name), "_dmarc.%s", domain) >=
	    (int)sizeof(name))
		return 0;
	memset(&r, 0, sizeof(r));
	switch (rg_dns_query(dns, name, RG_DNS_T_TXT, c->conf->dns.timeout, &r)) {
	case RG_DNS_OK:
		break;
	case RG_DNS_NXDOMAIN:
	case RG_DNS_NODATA:
		rg_dns_result_release(&r);
		return 0;
	default:
		rg_dns_result_release(&r);
		return -1;
	}
	for (size_t i = 0; i < r.nrrs; i++) {
		const struct rg_dns_rr *rr = &r.rrs[i];

		if (rr->type != RG_DNS_T_TXT || rr->text == NULL ||
		    strlen(rr->text) != rr->textlen || rr->textlen >= DMARC_MAX_RECORD ||
		    !dmarc_is_record(rr->text))
			continue;
		if (found++ == 0)
			rg_strlcpy(rec, rr->text, size);
	}
	rg_dns_result_release(&r);
	return found == 1 ? 1 : 0;
}

static enum rg_dmarc_policy
dmarc_policy_of(int p)
{
	return p == DMARC_RECORD_P_REJECT ? RG_DMARC_P_REJECT :
	    p == DMARC_RECORD_P_QUARANTINE ? RG_DMARC_P_QUARANTINE : RG_DMARC_P_NONE;
}

/* dmarc_tag_present - does the record carry tag name= */
static int
dmarc_tag_present(const char *rec, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = rec; (p = strstr(p, name)) != NULL; p += n) {
		const char *q = p + n;

		if (p != rec && p[-1] != ';' && p[-1] != ' ' && p[-1] != '\t')
			continue;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q == '=')
			return 1;
	}
	return 0;
}

/*
 * dmarc_parse - the record's tags via libopendmarc. RFC 7489 s6.6.3: a
 * record without a valid p but with a rua is read as p=none; libopendmarc
 * refuses it, so it is parsed again with the p tag replaced.
 */
static int
dmarc_parse(const struct rg_conn *c, const char *domain, const char *rec,
    struct rg_dmarc_outcome *o, int *sp, int *adkim, int *aspf)
{
	DMARC_POLICY_T *pctx = opendmarc_policy_connect_init((u_char *)c->client_addr,
	    c->client_sa.ss_family == AF_INET6 ? DMARC_POLICY_IP_TYPE_IPV6 :
	    DMARC_POLICY_IP_TYPE_IPV4);
	int rc, p = 0;
	char fixed[DMARC_MAX_RECORD + 16];

	if (pctx == NULL)
		return -1;
	rc = opendmarc_policy_parse_dmarc(pctx, (u_char *)domain, (u_char *)rec);
	if ((rc == DMARC_PARSE_ERROR_NO_REQUIRED_P || rc == DMARC_PARSE_ERROR_BAD_VALUE) &&
	    dmarc_tag_present(rec, "rua") && !dmarc_tag_present(rec, "p")) {
		snprintf(fixed, sizeof(fixed), "v=DMARC1; p=none;%s", strchr(rec, ';') ?
		    strchr(rec, ';') + 1 : "");
		/* a context keeps what a failed parse stored: start afresh */
		pctx = opendmarc_policy_connect_rset(pctx);
		rc = pctx ? opendmarc_policy_parse_dmarc(pctx, (u_char *)domain,
		    (u_char *)fixed) : DMARC_PARSE_ERROR_NULL_CTX;
	}
	if (rc == DMARC_PARSE_OKAY) {
		u_char **rua;

		opendmarc_policy_fetch_p(pctx, &p);
		opendmarc_policy_fetch_sp(pctx, sp);
		opendmarc_policy_fetch_pct(pctx, &o->pct);
		opendmarc_policy_fetch_adkim(pctx, adkim);
		opendmarc_policy_fetch_aspf(pctx, aspf);
		o->p = dmarc_policy_of(p);
		o->raw_p = p, o->raw_sp = *sp, o->raw_adkim = *adkim, o->raw_aspf = *aspf;
		rua = opendmarc_policy_fetch_rua(pctx, NULL, 0, 1);
		for (size_t i = 0; rua != NULL && rua[i] != NULL && i < 4; i++)
			rg_strlcpy(o->rua[i], (const char *)rua[i], sizeof(o->rua[i]));
	} else {
		snprintf(o->why, sizeof(o->why), "bad record at _dmarc.%s: %s", domain,
		    opendmarc_policy_status_to_str(rc));
	}
	opendmarc_policy_connect_shutdown(pctx);
	return rc == DMARC_PARSE_OKAY ? 0 : -1;
}

/* dmarc_sampled - RFC 7489 s6.6.4: apply the policy to pct% of failures */
static int
dmarc_sampled(int pct)
{
	unsigned r = 0;

	if (pct >= 100)
		return 1;
	if (pct <= 0)
		return 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		return 1;
	return (int)(r % 100) < pct;
}

/* dmarc_discover - find and read the policy; result NONE when there is none */
static void
dmarc_discover(const struct rg_conn *c, struct rg_dmarc_outcome *o, int *adkim,
    int *aspf)
{
	char rec[DMARC_MAX_RECORD], org[256];
	int found, sp = 0;

	rg_strlcpy(o->policy_domain, o->from_domain, sizeof(o->policy_domain));
	found = dmarc_fetch(c, o->from_domain, rec, sizeof(rec));
	rg_dmarc_org_domain(o->from_domain, org, sizeof(org));
	if (found == 0 && strcmp(org, o->from_domain) != 0) {
		rg_strlcpy(o->policy_domain, org, sizeof(o->policy_domain));
		found = dmarc_fetch(c, org, rec, sizeof(rec));
	}
	if (found < 0) {
		o->result = RG_DMARC_TEMPERROR;
		snprintf(o->why, sizeof(o->why), "DNS error at _dmarc.%s", o->policy_domain);
		return;
	}
	if (found == 0) {
		o->result = RG_DMARC_NONE;
		return;
	}
	if (dmarc_parse(c, o->policy_domain, rec, o, &sp, adkim, aspf) < 0) {
		o->result = RG_DMARC_PERMERROR;
		return;
	}
	/* RFC 7489 s6.3: sp applies to subdomains of the organizational domain */
	if (strcmp(o->policy_domain, o->from_domain) != 0 && sp != 0)
		o->p = dmarc_policy_of(sp);
	o->result = RG_DMARC_FAIL;	/* until aligned */
}

/* dmarc_evaluate - everything but the enforcement */
static void
dmarc_evaluate(const struct rg_conn *c, const struct rg_dmarc_dkim *sigs,
    size_t nsigs, struct rg_dmarc_outcome *o)
{
	const struct rg_spf_state *spf = &c->msg->spf;
	int adkim = 0, aspf = 0;

	dmarc_discover(c, o, &adkim, &aspf);
	if (o->result != RG_DMARC_FAIL)
		return;
	o->spf_aligned = spf->result == RG_SPF_PASS &&
	    rg_dmarc_aligned(spf->domain, o->from_domain, aspf == DMARC_RECORD_A_STRICT);
	for (size_t i = 0; i < nsigs && !o->dkim_aligned; i++)
		o->dkim_aligned = sigs[i].pass && sigs[i].domain != NULL &&
		    rg_dmarc_aligned(sigs[i].domain, o->from_domain,
		    adkim == DMARC_RECORD_A_STRICT);
	if (o->spf_aligned || o->dkim_aligned)
		o->result = RG_DMARC_PASS;
}

/* dmarc_enforce - the disposition, and the verdict it leads to */
static void
dmarc_enforce(struct rg_conn *c, struct rg_dmarc_outcome *o, struct rg_verdict *v)
{
	const struct rg_dmarc_conf *dc = &c->conf->dmarc;
	int act;

	o->disposition = RG_DMARC_P_NONE;
	if (o->result != RG_DMARC_FAIL || o->p == RG_DMARC_P_NONE)
		return;
	o->disposition = o->p;
	if (!dmarc_sampled(o->pct))	/* s6.6.4: the next less strict policy */
		o->disposition = o->p == RG_DMARC_P_REJECT ? RG_DMARC_P_QUARANTINE :
		    RG_DMARC_P_NONE;
	if (rg_netset_contains(&dc->trusted_forwarders, (const struct sockaddr *)&c->client_sa)) {
		snprintf(o->why, sizeof(o->why), "trusted forwarder");
		o->disposition = RG_DMARC_P_NONE;
	}
	act = o->disposition == RG_DMARC_P_REJECT ? dc->reject_action :
	    o->disposition == RG_DMARC_P_QUARANTINE ? dc->quarantine_action :
	    RG_DMARC_ACT_ACCEPT;
	if (act == RG_DMARC_ACT_REJECT)
		rg_verdict_set(v, RG_ACT_REJECT, "dmarc", "550", "5.7.1",
		    "Email rejected per DMARC policy for %s", o->policy_domain);
	else if (act == RG_DMARC_ACT_QUARANTINE)
		rg_verdict_set(v, RG_ACT_QUARANTINE, "dmarc", NULL, NULL,
		    "DMARC policy of %s", o->policy_domain);
	else if (act == RG_DMARC_ACT_TAG)
		rg_verdict_add_header(v, rg_tag_name(RG_TAG_DMARC), "fail", -1);
}

static pthread_mutex_t dmarc_history_mutex = PTHREAD_MUTEX_INITIALIZER;	/* the file */

static int
dmarc_spf_ares(enum rg_spf_result r)
{
	static const int map[] = {
		[RG_SPF_NONE] = RG_ARES_NONE, [RG_SPF_NEUTRAL] = RG_ARES_NEUTRAL,
		[RG_SPF_PASS] = RG_ARES_PASS, [RG_SPF_FAIL] = RG_ARES_FAIL,
		[RG_SPF_SOFTFAIL] = RG_ARES_SOFTFAIL, [RG_SPF_TEMPERROR] = RG_ARES_TEMPERROR,
		[RG_SPF_PERMERROR] = RG_ARES_PERMERROR,
	};

	return (unsigned)r < sizeof(map) / sizeof(map[0]) ? map[r] : RG_ARES_NONE;
}

void
rg_dmarc_history(const struct rg_conn *c, const struct rg_dmarc_dkim *sigs,
    size_t nsigs, const struct rg_dmarc_outcome *o, struct rg_buf *out)
{
	/* OpenDMARC's numbers: policy DMARC_POLICY_*, action DMARC_RESULT_* */
	static const int policy[] = { [RG_DMARC_P_NONE] = 18,
	    [RG_DMARC_P_QUARANTINE] = 17, [RG_DMARC_P_REJECT] = 16 };
	static const int action[] = { [RG_DMARC_P_NONE] = 2,
	    [RG_DMARC_P_QUARANTINE] = 4, [RG_DMARC_P_REJECT] = 0 };
	const struct rg_msg *m = c->msg;
	const char *at = strrchr(m->sender, '@');

	rg_buf_printf(out, "job %s\nreporter %s\nreceived %ld\nipaddr %s\n",
	    c->qid[0] ? c->qid : c->id, c->mta_host[0] ? c->mta_host : "localhost",
	    (long)time(NULL), c->client_addr);
	rg_buf_printf(out, "from %s\nmfrom %s\n", o->from_domain,
	    at ? at + 1 : m->null_sender ? c->helo : m->sender);
	if (m->spf.receiver[0])
		rg_buf_printf(out, "spf %d\n", dmarc_spf_ares(m->spf.result));
	for (size_t i = 0; i < nsigs; i++)
		rg_buf_printf(out, "dkim %s %s %d\n", sigs[i].domain ? sigs[i].domain : "-",
		    sigs[i].selector ? sigs[i].selector : "-", (int)sigs[i].ares);
	rg_buf_printf(out, "pdomain %s\npolicy %d\n", o->policy_domain,
	    o->result == RG_DMARC_PASS ? 15 : policy[o->p]);
	if (o->rua[0][0] == '\0')
		rg_buf_puts(out, "rua -\n");
	for (size_t i = 0; i < 4 && o->rua[i][0]; i++)
		rg_buf_printf(out, "rua %s\n", o->rua[i]);
	rg_buf_printf(out, "pct %d\nadkim %d\naspf %d\np %d\nsp %d\n", o->pct,
	    o->raw_adkim, o->raw_aspf, o->raw_p, o->raw_sp);
	rg_buf_printf(out, "align_dkim %d\nalign_spf %d\naction %d\n",
	    o->dkim_aligned ? DMARC_POLICY_DKIM_ALIGNMENT_PASS :
	    DMARC_POLICY_DKIM_ALIGNMENT_FAIL, o->spf_aligned ?
	    DMARC_POLICY_SPF_ALIGNMENT_PASS : DMARC_POLICY_SPF_ALIGNMENT_FAIL,
	    action[o->disposition]);
}

/* dmarc_history_write - append one record; the file is opened per record
 * so that log rotation needs no signal */
static void
dmarc_history_write(const struct rg_conn *c, const struct rg_dmarc_dkim *sigs,
    size_t nsigs, const struct rg_dmarc_outcome *o)
{
	const char *path = c->conf->dmarc.history_file;
	struct rg_buf rec = RG_BUF_INIT;
	FILE *fp;

	if (path[0] == '\0' || (o->result != RG_DMARC_PASS && o->result != RG_DMARC_FAIL))
		return;
	rg_dmarc_history(c, sigs, nsigs, o, &rec);
	pthread_mutex_lock(&dmarc_history_mutex);
	if ((fp = fopen(path, "a")) == NULL ||
	    fwrite(rec.data, 1, rec.len, fp) != rec.len)
		rg_log_id(RG_LOG_ERR, c->id, "dmarc: cannot append to %s", path);
	if (fp != NULL && fclose(fp) != 0)
		rg_log_id(RG_LOG_ERR, c->id, "dmarc: cannot write %s", path);
	pthread_mutex_unlock(&dmarc_history_mutex);
	rg_buf_release(&rec);
}

void
rg_dmarc_eom(struct rg_conn *c, const struct rg_dmarc_dkim *sigs, size_t nsigs,
    struct rg_verdict *v, struct rg_dmarc_outcome *out)
{
	struct rg_msg *m = c->msg;
	struct rg_buf ri = RG_BUF_INIT;
	const char *from;
	int n;

	memset(out, 0, sizeof(*out));
	if (!c->conf->dmarc.enable || rg_relay_is_trusted(c) ||
	    rg_relay_is_authenticated(c))
		return;
	pthread_once(&dmarc_once, dmarc_init_once);
	if (!dmarc_lib_ok)
		return;
	from = rg_msg_header(m, "From");
	n = from ? rg_dmarc_from_domain(from, out->from_domain,
	    sizeof(out->from_domain)) : 0;
	if (n <= 0) {
		/* RFC 7489 s6.6.1: no usable author domain, nothing to judge */
		out->result = RG_DMARC_PERMERROR;
		snprintf(out->why, sizeof(out->why), n < 0 ? "From holds several "
		    "domains" : "no address in From");
		rg_msg_note(m, "dmarc", "permerror");
		rg_metrics_inc_label("dmarc", "permerror");
		rg_authres_add(m, "dmarc=permerror");
		return;
	}
	dmarc_evaluate(c, sigs, nsigs, out);
	dmarc_enforce(c, out, v);
	dmarc_history_write(c, sigs, nsigs, out);
	/* RFC 7489 s11.2 */
	rg_buf_printf(&ri, "dmarc=%s", rg_dmarc_result_name(out->result));
	if (out->result == RG_DMARC_PASS || out->result == RG_DMARC_FAIL)
		rg_buf_printf(&ri, " (p=%s dis=%s)", dmarc_policy_name(out->p),
		    dmarc_policy_name(out->disposition));
	rg_buf_puts(&ri, " header.from=");
	rg_authres_pvalue(&ri, out->from_domain);
	rg_authres_add(m, rg_buf_cstr(&ri));
	rg_buf_release(&ri);
	rg_msg_note(m, "dmarc", "%s p=%s dis=%s", rg_dmarc_result_name(out->result),
	    dmarc_policy_name(out->p), dmarc_policy_name(out->disposition));
	rg_metrics_inc_label("dmarc", rg_dmarc_result_name(out->result));
	if (out->why[0])
		rg_log_id(RG_LOG_INFO, c->id, "dmarc: %s for %s: %s",
		    rg_dmarc_result_name(out->result), out->from_domain, out->why);
}
