/*
 * macro_lists.c - the MTA macros relayguard asks for, per stage
 *
 * These are what the policy reads at each stage. Postfix (milter protocol
 * 6) and Sendmail 8.14 and later send them when the filter asks with
 * smfi_setsymlist, and the filter's list replaces the MTA's own for that
 * stage; the lists in the contrib snippets serve MTAs that cannot be
 * asked. Both MTAs use the same names for every macro read here. TLS facts
 * are asked for at MAIL as well as HELO because STARTTLS comes after the
 * first EHLO. The table stands alone (no project library) so that the
 * benchmark's nullfilter asks for exactly the same.
 */
#include "macros.h"

const struct rg_macro_list rg_macro_lists[] = {
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

const size_t rg_macro_nlists = sizeof(rg_macro_lists) / sizeof(rg_macro_lists[0]);
