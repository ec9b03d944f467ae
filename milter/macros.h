/*
 * macros.h - MTA macros, under either MTA's spelling
 *
 * rg_macro() asks for "{name}" and then "name", so single-letter macros
 * (j, i, _) and long ones ({auth_authen}) work whichever way Postfix or
 * Sendmail sends them. The result is borrowed from libmilter and valid
 * only during the callback.
 */
#ifndef RG_MACROS_H
#define RG_MACROS_H

#include <stddef.h>
#include <libmilter/mfapi.h>

/* the macros asked for at each stage (SMFIM_*), macro_lists.c */
struct rg_macro_list {
	int stage;
	const char *list;
};
extern const struct rg_macro_list rg_macro_lists[];
extern const size_t rg_macro_nlists;

const char *rg_macro(SMFICTX *ctx, const char *name);
/* rg_macro_copy - copy a macro into a fixed field; unset leaves it alone */
void rg_macro_copy(SMFICTX *ctx, const char *name, char *dst, size_t size);
/* rg_macro_request - ask the MTA for the macros each stage needs */
void rg_macro_request(SMFICTX *ctx);

#endif
