/*
 * callbacks.h - the xxfi_* table handed to smfi_register()
 */
#ifndef RG_CALLBACKS_H
#define RG_CALLBACKS_H

#include <libmilter/mfapi.h>

extern struct smfiDesc rg_milter_desc;

/*
 * rg_callbacks_local - relayguard listens on a unix socket (1) or TCP (0);
 * set before smfi_main(). Over a unix socket the MTA is asked for fewer
 * replies (see cb_negotiate).
 */
void rg_callbacks_local(int local);

#endif
