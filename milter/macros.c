/*
 * macros.c - MTA macros (see macros.h); the lists asked for are in
 * macro_lists.c
 */
#include <stdio.h>
#include <string.h>

#include "../policy/log.h"
#include "../policy/session.h"
#include "macros.h"

const char *
rg_macro(SMFICTX *ctx, const char *name)
{
	char braced[64];
	const char *v;

	if (snprintf(braced, sizeof(braced), "{%s}", name) >= (int)sizeof(braced))
		return NULL;
	v = smfi_getsymval(ctx, braced);
	if (v == NULL)
		v = smfi_getsymval(ctx, (char *)name);
	return v;
}

void
rg_macro_copy(SMFICTX *ctx, const char *name, char *dst, size_t size)
{
	const char *v = rg_macro(ctx, name);

	if (v != NULL)
		rg_copy_field(dst, size, v);
}

void
rg_macro_request(SMFICTX *ctx)
{
	for (size_t i = 0; i < rg_macro_nlists; i++)
		if (smfi_setsymlist(ctx, rg_macro_lists[i].stage,
		    (char *)rg_macro_lists[i].list) != MI_SUCCESS)
			rg_log_warn("MTA refused the macro list for stage %d",
			    rg_macro_lists[i].stage);
}
