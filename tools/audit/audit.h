/*
 * audit.h - relayguard-audit: what every part of the audit shares
 *
 * The audit is a set of checks (relay battery, STARTTLS, SPF, DMARC,
 * DKIM), each filling its own result struct and a list of notes. A note
 * has a severity: FAIL notes decide exit status 1 (an open relay, a
 * record missing or broken), ERROR notes exit status 2 (the check could
 * not run: no connection, a DNS failure), WARN and INFO only inform.
 * struct rg_audit_out writes the same calls as human-readable text or as
 * one JSON object (out.c), so both formats always carry the same facts.
 *
 * Ownership: results own their strings; each has a release function.
 * The tool is single-threaded (the resolver has its own threads).
 */
#ifndef RG_AUDIT_H
#define RG_AUDIT_H

#include <stddef.h>
#include <stdio.h>

#include "../../policy/buf.h"

enum rg_audit_sev {
	RG_AUDIT_OK,		/* a check passed; said so in the report */
	RG_AUDIT_INFO,		/* a fact worth knowing */
	RG_AUDIT_WARN,		/* weak, not broken: exit status unchanged */
	RG_AUDIT_FAIL,		/* open relay, record missing or broken: exit 1 */
	RG_AUDIT_ERROR,		/* could not check: exit 2 unless a FAIL */
};

struct rg_audit_note {
	enum rg_audit_sev sev;
	char *text;
};

struct rg_audit_notes {
	size_t n;
	struct rg_audit_note *v;
};

/* rg_audit_note - add one note (the text is copied) */
void rg_audit_note(struct rg_audit_notes *ns, enum rg_audit_sev sev,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void rg_audit_notes_release(struct rg_audit_notes *ns);
/* rg_audit_notes_count - how many notes of severity sev */
size_t rg_audit_notes_count(const struct rg_audit_notes *ns,
    enum rg_audit_sev sev);
const char *rg_audit_sev_name(enum rg_audit_sev sev);

/* ---- output: text or JSON from the same calls (out.c) ------------------ */

#define RG_AUDIT_OUT_DEPTH	16	/* nesting of objects and arrays */

struct rg_audit_out {
	FILE *fp;
	int json;
	int depth;
	int first[RG_AUDIT_OUT_DEPTH];	/* nothing written yet at this depth */
	int array[RG_AUDIT_OUT_DEPTH];	/* this depth is an array */
	int titled[RG_AUDIT_OUT_DEPTH];	/* text: the level below is indented */
};

void rg_audit_out_init(struct rg_audit_out *o, FILE *fp, int json);
/* an object: JSON key (NULL inside arrays), text heading (NULL: none) */
void rg_audit_out_begin(struct rg_audit_out *o, const char *key,
    const char *title);
void rg_audit_out_end(struct rg_audit_out *o);
/* an array: JSON only; text prints what is inside */
void rg_audit_out_array(struct rg_audit_out *o, const char *key);
void rg_audit_out_array_end(struct rg_audit_out *o);
/* a value: JSON key, text label (NULL: JSON only) */
void rg_audit_out_str(struct rg_audit_out *o, const char *key,
    const char *label, const char *value);
void rg_audit_out_int(struct rg_audit_out *o, const char *key,
    const char *label, long long value);
void rg_audit_out_bool(struct rg_audit_out *o, const char *key,
    const char *label, int value);
/* a string element of an array (text: one indented line) */
void rg_audit_out_item(struct rg_audit_out *o, const char *value);
/* the notes as a JSON array "notes" of {level, text}; text: one line each */
void rg_audit_out_notes(struct rg_audit_out *o, const struct rg_audit_notes *ns);
/* free text line in text mode only (ignored for JSON) */
void rg_audit_out_text(struct rg_audit_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* rg_audit_json_string - s as a JSON string; bad UTF-8 becomes U+FFFD */
void rg_audit_json_string(struct rg_buf *out, const char *s);
/* rg_audit_printable - s for a terminal: control bytes as \xNN */
void rg_audit_printable(struct rg_buf *out, const char *s);

#endif
