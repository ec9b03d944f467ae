/*
 * loginmap.h - sender_login_maps: which SASL logins own which senders
 *
 * The file has the format of Postfix's smtpd_sender_login_maps source
 * (postmap(1) input): "sender  login[, login ...]" per line, '#' comments.
 * The sender is a full address (user@example.com) or a whole domain
 * (@example.com); a full-address line is consulted first and, when there
 * is one, the domain line is not (Postfix's lookup order). Keys and logins
 * compare without regard to case, as Postfix compares them.
 *
 * Read once per configuration load, then immutable: thread-safe to read.
 */
#ifndef RG_LOGINMAP_H
#define RG_LOGINMAP_H

#include <stddef.h>

#include "conf.h"

struct rg_loginmap_entry {
	char *key;		/* "user@example.com" or "@example.com", lowercase */
	struct rg_strlist logins;
};

struct rg_loginmap {
	int enabled;		/* a file was configured */
	char *path;
	struct rg_loginmap_entry *v;	/* sorted by key */
	size_t n, cap;
};

/*
 * rg_loginmap_owns - 1 when login may use local@domain as sender; local
 * and domain as rg_addr_parse() delivers them. 0 when the map names other
 * owners or none at all.
 */
int rg_loginmap_owns(const struct rg_loginmap *m, const char *local,
    const char *domain, const char *login);
void rg_loginmap_release(struct rg_loginmap *m);

/* RG_PT_CUSTOM ops: the value is a path (or file:path), "" for off */
extern const struct rg_ptype_ops rg_loginmap_ops;

#endif
