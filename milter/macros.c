/*
 * macros.c - MTA macros (see macros.h)
 *
 * The lists below are what the policy reads at each stage. Postfix
 * (milter protocol 6) and Sendmail 8.14 and later send them when the
 * filter asks with smfi_setsymlist, and the filter's list replaces the
 * MTA's own for that stage; the lists in the contrib snippets serve MTAs
 * that cannot be asked. Both MTAs use the same names for every macro read
 * here. TLS facts are asked for at MAIL as well as HELO because STARTTLS
 * comes after the first EHLO.
 */
#include <stdio.h>
#include <string.h>

#include "../policy/log.h"
#include "../policy/session.h"
#include "macros.h"

static const struct {
	int stage;
	const char *list;
} macro_lists[] = {
	{ SMFIM_CONNECT, "j _ {daemon_name} {daemon_addr} {client_addr} "
	    "{client_name} {client_port}" },
	{ SMFIM_HELO, "{tls_version} {cipher} {cipher_bits}" },
	{ SMFIM_ENVFROM, "i {auth_type} {auth_authen} {auth_author} "
	    "{tls_version} {cipher} {mail_addr}" },
	{ SMFIM_ENVRCPT, "i {rcpt_addr} {rcpt_host} {rcpt_mailer}" },
	{ SMFIM_DATA, "i" },
	{ SMFIM_EOH, "i" },
	{ SMFIM_EOM, "i" },
};

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
	for (size_t i = 0; i < sizeof(macro_lists) / sizeof(macro_lists[0]); i++)
		if (smfi_setsymlist(ctx, macro_lists[i].stage,
		    (char *)macro_lists[i].list) != MI_SUCCESS)
			rg_log_warn("MTA refused the macro list for stage %d",
			    macro_lists[i].stage);
}
