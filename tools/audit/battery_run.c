/*
 * battery_run.c - the relay-abuse battery against a server (see battery.h)
 *
 * Sessions of MAIL, up to RG_AUDIT_BATTERY_ERRS refused RCPTs, RSET and
 * QUIT, until every address was offered: Postfix slows down and then
 * drops a client after a number of errors, and a fresh session keeps the
 * battery fast and complete. An address whose session broke (421, closed
 * connection) is offered once more in a new session. DATA is never sent,
 * so nothing is ever delivered, whatever the server accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "battery.h"
#include "../../policy/xalloc.h"

/* battery_own_literal - a template names the server's own address literally */
static int
battery_own_literal(const char *addr, const struct rg_audit_subst *s)
{
	char lit[80];

	if (s->ip4 != NULL) {
		snprintf(lit, sizeof(lit), "[%s]", s->ip4);
		if (strcasestr(addr, lit) != NULL)
			return 1;
	}
	if (s->ip6 != NULL) {
		snprintf(lit, sizeof(lit), "[IPv6:%s]", s->ip6);
		if (strcasestr(addr, lit) != NULL)
			return 1;
	}
	return 0;
}

/* battery_same - two addresses are sent alike (angle brackets are added) */
static int
battery_same(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la >= 2 && a[0] == '<' && a[la - 1] == '>') {
		a++;
		la -= 2;
	}
	if (lb >= 2 && b[0] == '<' && b[lb - 1] == '>') {
		b++;
		lb -= 2;
	}
	return la == lb && memcmp(a, b, la) == 0;
}

/* battery_skip - mark a case as not sent, and why */
static void
battery_skip(struct rg_audit_case *c, const char *why)
{
	c->result = RG_AUDIT_RCPT_SKIPPED;
	snprintf(c->reply, sizeof(c->reply), "%s", why);
}

/* rg_audit_battery_subst - every case with our names; skips what cannot run */
void
rg_audit_battery_subst(struct rg_audit_battery *b, const struct rg_audit_subst *s)
{
	for (size_t i = 0; i < b->n; i++) {
		struct rg_audit_case *c = &b->v[i];

		free(c->addr);
		c->addr = rg_audit_subst_addr(c->tmpl, s);
		c->result = RG_AUDIT_RCPT_UNTRIED;
		c->reply[0] = '\0';
		if (c->addr == NULL) {
			battery_skip(c, "names an address family the connection does not use");
			continue;
		}
		if (strlen(c->addr) > RG_AUDIT_BATTERY_ADDR) {
			battery_skip(c, "too long after substitution");
			continue;
		}
		/* the list's own foreign literals, not our placeholders */
		if (c->attack && battery_own_literal(c->tmpl, s)) {
			battery_skip(c, "names the server's own address");
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (b->v[j].addr != NULL && b->v[j].result != RG_AUDIT_RCPT_SKIPPED &&
			    battery_same(b->v[j].addr, c->addr)) {
				battery_skip(c, "same address as an earlier line");
				break;
			}
	}
}

/* battery_record - the reply to one RCPT */
static void
battery_record(struct rg_audit_case *c, const struct rg_smtp_reply *r)
{
	/* a reply is for the report: its beginning is enough */
	snprintf(c->reply, sizeof(c->reply), "%d %.*s", r->code,
	    (int)sizeof(c->reply) - 5, r->text);
	c->reply[strcspn(c->reply, "\n")] = '\0';
	if (r->code / 100 == 2)
		c->result = RG_AUDIT_RCPT_ACCEPTED;
	else if (r->code / 100 == 4)
		c->result = RG_AUDIT_RCPT_DEFERRED;
	else
		c->result = RG_AUDIT_RCPT_REFUSED;
}

/* battery_rcpts - RCPT for cases from *next on; -1 when the session broke */
static int
battery_rcpts(struct rg_audit_battery *b, struct rg_audit_session *s, size_t *next)
{
	struct rg_smtp_reply r;
	enum rg_smtp_status st;
	int errs = 0;

	while (*next < b->n && errs < RG_AUDIT_BATTERY_ERRS) {
		struct rg_audit_case *c = &b->v[*next];

		if (c->result == RG_AUDIT_RCPT_SKIPPED) {
			(*next)++;
			continue;
		}
		st = rg_smtp_cmd(s->smtp, &r, "RCPT TO:%s%s%s", c->addr[0] == '<' ? "" : "<",
		    c->addr, c->addr[0] == '<' ? "" : ">");
		if (st != RG_SMTP_OK || r.code == 421) {
			if (!c->retried) {
				c->retried = 1;
				return -1;
			}
			c->result = RG_AUDIT_RCPT_ERROR;
			snprintf(c->reply, sizeof(c->reply), "%.*s",
			    (int)sizeof(c->reply) - 1, st != RG_SMTP_OK ?
			    rg_smtp_why(s->smtp) : r.text);
			(*next)++;
			return -1;
		}
		battery_record(c, &r);
		errs += r.code >= 400;
		(*next)++;
	}
	return 0;
}

/* battery_first - once connected: the server's address fills the literals */
static void
battery_first(struct rg_audit_battery *b, struct rg_audit_session *s,
    struct rg_audit_subst *sub)
{
	int family;
	const char *peer = rg_smtp_peer(s->smtp, &family);

	snprintf(b->peer, sizeof(b->peer), "%s", peer);
	sub->ip4 = family == AF_INET ? peer : NULL;
	sub->ip6 = family == AF_INET6 ? peer : NULL;
	rg_audit_battery_subst(b, sub);
	sub->ip4 = sub->ip6 = NULL;	/* peer belongs to the session */
	b->tls_used = s->tls_used;
	b->xclient_used = s->xclient_used;
}

/* battery_mail - MAIL FROM; 0, or -1 with an ERROR note */
static int
battery_mail(struct rg_audit_battery *b, struct rg_audit_session *s,
    const char *sender)
{
	struct rg_smtp_reply r;
	enum rg_smtp_status st = rg_smtp_cmd(s->smtp, &r, "MAIL FROM:<%s>", sender);

	if (st != RG_SMTP_OK) {
		rg_audit_note(&b->notes, RG_AUDIT_ERROR, "MAIL FROM:<%s>: %s; the "
		    "battery stopped", sender, rg_smtp_why(s->smtp));
		return -1;
	}
	if (r.code / 100 != 2) {
		r.text[strcspn(r.text, "\n")] = '\0';
		rg_audit_note(&b->notes, RG_AUDIT_ERROR, "MAIL FROM:<%s> refused: "
		    "%d %s; the battery stopped (choose another --sender)", sender,
		    r.code, r.text);
		return -1;
	}
	return 0;
}

/* rg_audit_battery_run - every case at RCPT, as many sessions as it takes */
void
rg_audit_battery_run(struct rg_audit_battery *b, const struct rg_audit_target *t,
    int use_tls, const char *sender, struct rg_audit_subst *sub)
{
	struct rg_audit_session s;
	struct rg_smtp_reply r;
	char why[512];
	size_t next = 0;

	b->ran = 1;
	b->local = rg_xstrdup(sub->local);
	b->foreign = rg_xstrdup(sub->foreign);
	b->relay = rg_xstrdup(sub->relay ? sub->relay : sub->local);
	b->sender = rg_xstrdup(sender);
	b->client = t->xclient ? rg_xstrdup(t->xclient) : NULL;
	while (next < b->n) {
		enum rg_audit_sess_status ss = rg_audit_session_open(t, use_tls, 1, &s,
		    why, sizeof(why));

		if (ss == RG_AUDIT_SESS_TLS && use_tls) {
			rg_audit_note(&b->notes, RG_AUDIT_WARN, "%s; the battery runs "
			    "without TLS", why);
			use_tls = 0;
			continue;
		}
		if (ss != RG_AUDIT_SESS_OK) {
			rg_audit_note(&b->notes, RG_AUDIT_ERROR, "%s", why);
			return;
		}
		if (b->sessions++ == 0)
			battery_first(b, &s, sub);
		if (battery_mail(b, &s, sender) < 0) {
			rg_audit_session_close(&s);
			return;
		}
		if (battery_rcpts(b, &s, &next) == 0)
			(void)rg_smtp_cmd(s.smtp, &r, "RSET");
		rg_audit_session_close(&s);
	}
}

/* battery_count - cases with this result (and, when attack >= 0, kind) */
static size_t
battery_count(const struct rg_audit_battery *b, enum rg_audit_rcpt res, int attack)
{
	size_t k = 0;

	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].result == res && (attack < 0 || b->v[i].attack == attack))
			k++;
	return k;
}

/* battery_shown - the address as sent: in angle brackets */
static void
battery_shown(struct rg_buf *b, const struct rg_audit_case *c)
{
	rg_buf_printf(b, "%s%s%s", c->addr[0] == '<' ? "" : "<", c->addr,
	    c->addr[0] == '<' ? "" : ">");
}

/* battery_judge_case - a FAIL or ERROR note for one attack */
static void
battery_judge_case(struct rg_audit_battery *b, const struct rg_audit_case *c)
{
	const char *why = c->reason[0] ? c->reason : "attack";
	struct rg_buf a = RG_BUF_INIT;

	battery_shown(&a, c);
	if (c->result == RG_AUDIT_RCPT_ACCEPTED && c->dest == RG_AUDIT_DEST_FOREIGN)
		rg_audit_note(&b->notes, RG_AUDIT_FAIL, "open relay: accepted %s "
		    "(%s): %s", rg_buf_cstr(&a), why, c->reply);
	else if (c->result == RG_AUDIT_RCPT_ERROR)
		rg_audit_note(&b->notes, RG_AUDIT_ERROR, "%s (%s) could not be "
		    "tested: %s", rg_buf_cstr(&a), why, c->reply);
	rg_buf_release(&a);
}

/* battery_judge_group - one WARN naming every attack of a kind */
static void
battery_judge_group(struct rg_audit_battery *b, enum rg_audit_rcpt res,
    int foreign, const char *what)
{
	struct rg_buf list = RG_BUF_INIT;
	size_t n = 0;

	for (size_t i = 0; i < b->n; i++) {
		const struct rg_audit_case *c = &b->v[i];

		if (!c->attack || c->result != res ||
		    (foreign >= 0 && (c->dest == RG_AUDIT_DEST_FOREIGN) != foreign))
			continue;
		if (n++ > 0)
			rg_buf_puts(&list, ", ");
		battery_shown(&list, c);
	}
	if (n > 0)
		rg_audit_note(&b->notes, RG_AUDIT_WARN, "%zu %s: %s", n, what,
		    rg_buf_cstr(&list));
	rg_buf_release(&list);
}

/* rg_audit_battery_judge - notes for what the server did */
void
rg_audit_battery_judge(struct rg_audit_battery *b)
{
	size_t tried = 0, attacks = 0, controls = 0, refused;

	for (size_t i = 0; i < b->n; i++) {
		const struct rg_audit_case *c = &b->v[i];

		if (c->result == RG_AUDIT_RCPT_SKIPPED || c->result == RG_AUDIT_RCPT_UNTRIED)
			continue;
		tried++;
		if (c->attack) {
			attacks++;
			battery_judge_case(b, c);
		} else {
			controls++;
		}
	}
	refused = battery_count(b, RG_AUDIT_RCPT_REFUSED, 1);
	battery_judge_group(b, RG_AUDIT_RCPT_ACCEPTED, 0, "routing tricks "
	    "accepted that only name your own domain or a loopback address (no "
	    "relay by themselves, but relayguard refuses them)");
	battery_judge_group(b, RG_AUDIT_RCPT_DEFERRED, -1, "attacks deferred "
	    "(4xx), neither accepted nor refused");
	if (controls > 0 && battery_count(b, RG_AUDIT_RCPT_ACCEPTED, 0) == 0)
		rg_audit_note(&b->notes, RG_AUDIT_WARN, "no address of the local "
		    "domain %s was accepted: check --local-domain, or the server "
		    "refuses this client anyway", b->local ? b->local : "");
	if (attacks > 0 && refused == attacks)
		rg_audit_note(&b->notes, RG_AUDIT_OK, "no open relay: all %zu "
		    "attacks were refused", attacks);
	else if (attacks > 0 && rg_audit_notes_count(&b->notes, RG_AUDIT_FAIL) == 0)
		rg_audit_note(&b->notes, RG_AUDIT_OK, "no open relay found: %zu of "
		    "%zu attacks refused, none to a foreign domain accepted",
		    refused, attacks);
	if (tried == 0 && rg_audit_notes_count(&b->notes, RG_AUDIT_ERROR) == 0)
		rg_audit_note(&b->notes, RG_AUDIT_ERROR, "no address was tested");
}

/* rg_audit_rcpt_name - a result for the JSON output */
const char *
rg_audit_rcpt_name(enum rg_audit_rcpt r)
{
	static const char *const names[] = {
		"untried", "accepted", "refused", "deferred", "error", "skipped",
	};

	if ((size_t)r < sizeof(names) / sizeof(names[0]))
		return names[r];
	return "?";
}

/* battery_dest_name - for the JSON output */
static const char *
battery_dest_name(enum rg_audit_dest d)
{
	return d == RG_AUDIT_DEST_FOREIGN ? "foreign" :
	    d == RG_AUDIT_DEST_LOOPBACK ? "loopback" : "ours";
}

/* battery_print_cases - every case (JSON only: the text report has notes) */
static void
battery_print_cases(struct rg_audit_out *o, const struct rg_audit_battery *b)
{
	if (!o->json)
		return;
	rg_audit_out_array(o, "cases");
	for (size_t i = 0; i < b->n; i++) {
		const struct rg_audit_case *c = &b->v[i];

		rg_audit_out_begin(o, NULL, NULL);
		rg_audit_out_str(o, "address", NULL, c->addr);
		rg_audit_out_str(o, "template", NULL, c->tmpl);
		rg_audit_out_str(o, "expected", NULL, c->attack ? "reject" : "accept");
		rg_audit_out_str(o, "reason", NULL, c->reason);
		rg_audit_out_str(o, "destination", NULL, battery_dest_name(c->dest));
		rg_audit_out_str(o, "result", NULL, rg_audit_rcpt_name(c->result));
		rg_audit_out_str(o, "reply", NULL, c->reply);
		rg_audit_out_end(o);
	}
	rg_audit_out_array_end(o);
}

/* battery_print_accepted - the accepted attacks, by address */
static void
battery_print_accepted(struct rg_audit_out *o, const struct rg_audit_battery *b)
{
	rg_audit_out_array(o, "accepted");
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].attack && b->v[i].result == RG_AUDIT_RCPT_ACCEPTED &&
		    o->json)
			rg_audit_out_item(o, b->v[i].addr);
	rg_audit_out_array_end(o);
}

/* rg_audit_battery_print - the "relay" section */
void
rg_audit_battery_print(struct rg_audit_out *o, const struct rg_audit_battery *b)
{
	size_t acc = 0;

	for (size_t i = 0; i < b->n; i++)
		acc += b->v[i].attack && b->v[i].result == RG_AUDIT_RCPT_ACCEPTED &&
		    b->v[i].dest == RG_AUDIT_DEST_FOREIGN;
	rg_audit_out_begin(o, "relay", "Relay battery");
	rg_audit_out_bool(o, "ran", NULL, b->ran);
	rg_audit_out_bool(o, "open_relay", NULL, acc > 0);
	rg_audit_out_str(o, "local_domain", "local domain", b->local);
	rg_audit_out_str(o, "foreign_domain", "foreign domain", b->foreign);
	rg_audit_out_str(o, "relay_domain", NULL, b->relay);
	rg_audit_out_str(o, "sender", "sender", b->sender);
	rg_audit_out_str(o, "xclient", "presented as (XCLIENT)", b->client);
	rg_audit_out_bool(o, "tls", "over TLS", b->tls_used);
	rg_audit_out_int(o, "sessions", NULL, (long long)b->sessions);
	rg_audit_out_int(o, "attacks_refused", NULL,
	    (long long)battery_count(b, RG_AUDIT_RCPT_REFUSED, 1));
	rg_audit_out_int(o, "attacks_accepted", NULL,
	    (long long)battery_count(b, RG_AUDIT_RCPT_ACCEPTED, 1));
	rg_audit_out_int(o, "attacks_deferred", NULL,
	    (long long)battery_count(b, RG_AUDIT_RCPT_DEFERRED, 1));
	rg_audit_out_int(o, "controls_accepted", NULL,
	    (long long)battery_count(b, RG_AUDIT_RCPT_ACCEPTED, 0));
	rg_audit_out_int(o, "skipped", NULL,
	    (long long)battery_count(b, RG_AUDIT_RCPT_SKIPPED, -1));
	rg_audit_out_int(o, "errors", NULL,
	    (long long)battery_count(b, RG_AUDIT_RCPT_ERROR, -1));
	rg_audit_out_text(o, "attacks: %zu refused, %zu accepted, %zu deferred; "
	    "own-domain controls: %zu accepted, %zu refused; %zu skipped; "
	    "%zu session(s)", battery_count(b, RG_AUDIT_RCPT_REFUSED, 1),
	    battery_count(b, RG_AUDIT_RCPT_ACCEPTED, 1),
	    battery_count(b, RG_AUDIT_RCPT_DEFERRED, 1),
	    battery_count(b, RG_AUDIT_RCPT_ACCEPTED, 0),
	    battery_count(b, RG_AUDIT_RCPT_REFUSED, 0),
	    battery_count(b, RG_AUDIT_RCPT_SKIPPED, -1), b->sessions);
	battery_print_accepted(o, b);
	battery_print_cases(o, b);
	rg_audit_out_notes(o, &b->notes);
	rg_audit_out_end(o);
}

/* rg_audit_battery_release - free the cases and notes */
void
rg_audit_battery_release(struct rg_audit_battery *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->v[i].tmpl);
		free(b->v[i].addr);
		free(b->v[i].reason);
	}
	free(b->v);
	free(b->local);
	free(b->foreign);
	free(b->relay);
	free(b->sender);
	free(b->client);
	rg_audit_notes_release(&b->notes);
	memset(b, 0, sizeof(*b));
}
