/*
 * verdict.c - what a policy stage decides (see verdict.h)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "strutil.h"
#include "verdict.h"
#include "xalloc.h"

void
rg_verdict_init(struct rg_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->action = RG_ACT_CONTINUE;
}

static struct rg_hdr *
verdict_free_list(struct rg_hdr *h)
{
	while (h != NULL) {
		struct rg_hdr *next = h->next;

		free(h->name);
		free(h->value);
		free(h);
		h = next;
	}
	return NULL;
}

void
rg_verdict_clear(struct rg_verdict *v)
{
	verdict_free_list(v->add);
	verdict_free_list(v->del);
	rg_verdict_init(v);
}

void
rg_verdict_set(struct rg_verdict *v, enum rg_action a, const char *check,
    const char *rcode, const char *xcode, const char *fmt, ...)
{
	va_list ap;

	v->action = a;
	rg_strlcpy(v->check, check ? check : "", sizeof(v->check));
	rg_strlcpy(v->rcode, rcode ? rcode : "", sizeof(v->rcode));
	rg_strlcpy(v->xcode, xcode ? xcode : "", sizeof(v->xcode));
	v->text[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(v->text, sizeof(v->text), fmt, ap);
		va_end(ap);
	}
}

void
rg_verdict_take(struct rg_verdict *dst, const struct rg_verdict *src)
{
	rg_verdict_set(dst, src->action, src->check, src->rcode, src->xcode,
	    "%s", src->text);
}

static void
verdict_append(struct rg_hdr **list, const char *name, const char *value,
    int index)
{
	struct rg_hdr *h = rg_xcalloc(1, sizeof(*h)), **tail = list;

	h->name = rg_xstrdup(name);
	h->value = rg_xstrdup(value ? value : "");
	h->index = index;
	while (*tail)
		tail = &(*tail)->next;
	*tail = h;
}

void
rg_verdict_add_header(struct rg_verdict *v, const char *name,
    const char *value, int index)
{
	verdict_append(&v->add, name, value, index);
}

void
rg_verdict_del_header(struct rg_verdict *v, const char *name, int index)
{
	verdict_append(&v->del, name, "", index);
}

const char *
rg_action_name(enum rg_action a)
{
	static const char *const names[] = {
		"continue", "accept", "tempfail", "reject", "discard", "quarantine",
	};

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

int
rg_verdict_is_final(const struct rg_verdict *v)
{
	return v->action == RG_ACT_TEMPFAIL || v->action == RG_ACT_REJECT ||
	    v->action == RG_ACT_DISCARD || v->action == RG_ACT_ACCEPT;
}

static const char *const tag_names[RG_TAG_COUNT] = {
	[RG_TAG_SPF] = "X-Relayguard-SPF",
	[RG_TAG_DMARC] = "X-Relayguard-DMARC",
	[RG_TAG_SURBL] = "X-Relayguard-SURBL",
	[RG_TAG_HEADER] = "X-Relayguard-Header",
	[RG_TAG_ATTACHMENT] = "X-Relayguard-Attachment",
	[RG_TAG_RATELIMIT] = "X-Relayguard-Ratelimit",
};

const char *
rg_tag_name(enum rg_tag t)
{
	return (unsigned)t < RG_TAG_COUNT ? tag_names[t] : "X-Relayguard";
}

int
rg_tag_lookup(const char *name)
{
	/* one cheap test first: nearly every field is none of ours */
	if (strncasecmp(name, "X-Relayguard-", 13) != 0)
		return -1;
	for (int t = 0; t < RG_TAG_COUNT; t++)
		if (strcasecmp(name, tag_names[t]) == 0)
			return t;
	return -1;
}
