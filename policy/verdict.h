/*
 * verdict.h - what a policy stage decides
 *
 * Every stage fills a struct rg_verdict: an action, the SMTP reply (code,
 * enhanced code per RFC 3463, text), the check that decided, and header
 * edits to apply at end of message. milter/reply.c alone turns it into
 * libmilter calls. Owned by the caller: rg_verdict_clear() frees headers.
 */
#ifndef RG_VERDICT_H
#define RG_VERDICT_H

enum rg_action {
	RG_ACT_CONTINUE,
	RG_ACT_ACCEPT,
	RG_ACT_TEMPFAIL,
	RG_ACT_REJECT,
	RG_ACT_DISCARD,
	RG_ACT_QUARANTINE,
};

struct rg_hdr {
	struct rg_hdr *next;
	char *name;
	char *value;
	int index;	/* add: position (0 = top, -1 = bottom); delete: occurrence, 1-based */
};

struct rg_verdict {
	enum rg_action action;
	char rcode[4];		/* "550" */
	char xcode[16];		/* "5.7.1" */
	char text[512];		/* reply text; sanitised by milter/reply.c */
	char check[32];		/* the deciding check, for the log ("relay") */
	struct rg_hdr *add;	/* headers to add, in order */
	struct rg_hdr *del;	/* headers to remove */
};

void rg_verdict_init(struct rg_verdict *v);
void rg_verdict_clear(struct rg_verdict *v);
/* rg_verdict_set - decide: action, deciding check, reply */
void rg_verdict_set(struct rg_verdict *v, enum rg_action a, const char *check,
    const char *rcode, const char *xcode, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* rg_verdict_take - src's decision (action, check, reply) into dst; dst's
 * header edits stay as they are */
void rg_verdict_take(struct rg_verdict *dst, const struct rg_verdict *src);
void rg_verdict_add_header(struct rg_verdict *v, const char *name,
    const char *value, int index);
void rg_verdict_del_header(struct rg_verdict *v, const char *name, int index);
const char *rg_action_name(enum rg_action a);
/* rg_verdict_is_final - the action ends the message or the recipient */
int rg_verdict_is_final(const struct rg_verdict *v);

/*
 * The header fields relayguard adds to tag a message it lets through.
 * The same fields arriving from outside would pass for our verdict, so
 * the engine removes them (see rg_engine_header).
 */
enum rg_tag {
	RG_TAG_SPF,
	RG_TAG_DMARC,
	RG_TAG_SURBL,
	RG_TAG_HEADER,
	RG_TAG_ATTACHMENT,
	RG_TAG_RATELIMIT,
	RG_TAG_COUNT
};
/* rg_tag_name - the field name of a tag */
const char *rg_tag_name(enum rg_tag t);
/* rg_tag_lookup - the tag a field name is (any case), or -1 */
int rg_tag_lookup(const char *name);

#endif
