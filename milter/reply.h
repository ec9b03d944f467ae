/*
 * reply.h - the one place where a verdict becomes a libmilter answer
 */
#ifndef RG_REPLY_H
#define RG_REPLY_H

#include <libmilter/mfapi.h>

#include "../policy/session.h"
#include "../policy/verdict.h"

/*
 * rg_reply - set the SMTP reply, apply header edits (end of message only)
 * and return the SMFIS_* code for the verdict.
 */
sfsistat rg_reply(SMFICTX *ctx, struct rg_conn *c, const struct rg_verdict *v,
    int eom);
/* rg_reply_tempfail - 451 4.3.0 when we cannot decide (internal error) */
sfsistat rg_reply_tempfail(SMFICTX *ctx, const char *why);

#endif
