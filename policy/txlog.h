/*
 * txlog.h - the one summary line per transaction
 *
 * Exactly one line per message (MAIL FROM to end of message or abort),
 * and one per connection refused before any message, with fixed fields in
 * a fixed order: verdict, client, helo, auth, tls, from, to, refused,
 * size, each check's result, reply, time. Rendered as key=value pairs
 * (log_format = kv) or as one JSON object (log_format = json).
 */
#ifndef RG_TXLOG_H
#define RG_TXLOG_H

struct rg_conn;

/* rg_txlog_message - log the summary of the message in progress, once */
void rg_txlog_message(struct rg_conn *c, const char *verdict);
/* rg_txlog_connection - log a connection refused before any message, once */
void rg_txlog_connection(struct rg_conn *c);

#endif
