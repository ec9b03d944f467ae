/*
 * engine.h - the policy stages, one per SMTP stage
 *
 * milter/callbacks.c copies what the MTA said into struct rg_conn and
 * struct rg_msg (session.h) and calls the matching stage; the stage runs
 * the checks that belong to it, in order, and fills the verdict. The first
 * check that refuses decides. Stages never block longer than their checks'
 * own deadlines and never end the process on bad input.
 */
#ifndef RG_ENGINE_H
#define RG_ENGINE_H

#include "session.h"
#include "verdict.h"

void rg_engine_connect(struct rg_conn *c, struct rg_verdict *v);
void rg_engine_helo(struct rg_conn *c, struct rg_verdict *v);
/* rg_engine_mail - c->msg has been begun and its sender set */
void rg_engine_mail(struct rg_conn *c, struct rg_verdict *v);
/* rg_engine_rcpt - one recipient, as the MTA gave it (with or without <>) */
void rg_engine_rcpt(struct rg_conn *c, const char *addr, struct rg_verdict *v);
/* rg_engine_header - one header field of the message, as received */
void rg_engine_header(struct rg_conn *c, const char *name, const char *value);
/* rg_engine_eoh - end of the header: signing is decided here (needs From) */
void rg_engine_eoh(struct rg_conn *c);
/* rg_engine_body - one body chunk, as the MTA sends it */
void rg_engine_body(struct rg_conn *c, const void *chunk, size_t len);
/* rg_engine_eom - the final verdict for the message, with header edits */
void rg_engine_eom(struct rg_conn *c, struct rg_verdict *v);
/* rg_engine_abort - the transaction ended without end of message */
void rg_engine_abort(struct rg_conn *c);
/* rg_engine_close - the connection ends; logs whatever is still open */
void rg_engine_close(struct rg_conn *c);

#endif
