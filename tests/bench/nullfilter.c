/*
 * nullfilter.c - a libmilter filter that checks nothing: the floor of the
 * benchmarks.
 *
 * What a milter costs end to end is partly the filter's work and partly the
 * protocol itself: the MTA's milter client, libmilter's threads and the
 * system calls of one packet per macro list, command and header. This
 * filter does none of the work and all of the protocol, so the benchmark
 * can show the two apart in one run.
 *
 *   nullfilter [-n] [-g group] SOCKET
 *
 * By default it talks to the MTA as relayguard does: the same protocol
 * steps skipped (SMFIP_NOUNKNOWN), no reply per header nor at end of
 * header (SMFIP_NR_HDR, SMFIP_NR_EOH), header values as received
 * (SMFIP_HDR_LEADSPC), the same macro lists asked for, and two header
 * fields added at end of message, as relayguard adds Received-SPF and
 * Authentication-Results. With -n it is the plain do-nothing filter: a
 * callback for every stage, nothing negotiated, nothing added.
 *
 * SOCKET is libmilter's syntax (unix:/path, inet:port@host). A unix socket
 * is made group-writable for -g group (the MTA's). libmilter stops it on
 * SIGTERM.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "../../milter/macros.h"

static int plain;
static char nr_marker;		/* priv: the MTA granted SMFIP_NR_HDR/EOH */

#define NF_NOREPLY(ctx) \
	(smfi_getpriv(ctx) == &nr_marker ? SMFIS_NOREPLY : SMFIS_CONTINUE)

static sfsistat
nf_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2, (void)f3;
	*pf2 = *pf3 = 0;
	if (plain) {
		*pf0 = 0;
		*pf1 = 0;
		return SMFIS_CONTINUE;
	}
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST);
	*pf1 = f1 & (SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC | SMFIP_NR_HDR |
	    SMFIP_NR_EOH);
	if ((*pf1 & (SMFIP_NR_HDR | SMFIP_NR_EOH)) == (SMFIP_NR_HDR | SMFIP_NR_EOH))
		(void)smfi_setpriv(ctx, &nr_marker);
	if (f0 & SMFIF_SETSYMLIST)
		for (size_t i = 0; i < rg_macro_nlists; i++)
			(void)smfi_setsymlist(ctx, rg_macro_lists[i].stage,
			    (char *)rg_macro_lists[i].list);
	return SMFIS_CONTINUE;
}

static sfsistat
nf_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx, (void)host, (void)addr;
	return SMFIS_CONTINUE;
}

static sfsistat
nf_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx, (void)helo;
	return SMFIS_CONTINUE;
}

static sfsistat
nf_args(SMFICTX *ctx, char **argv)
{
	(void)ctx, (void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
nf_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name, (void)value;
	return NF_NOREPLY(ctx);
}

static sfsistat
nf_stage(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
nf_eoh(SMFICTX *ctx)
{
	return NF_NOREPLY(ctx);
}

static sfsistat
nf_body(SMFICTX *ctx, unsigned char *p, size_t len)
{
	(void)ctx, (void)p, (void)len;
	return SMFIS_CONTINUE;
}

static sfsistat
nf_eom(SMFICTX *ctx)
{
	if (!plain) {
		(void)smfi_insheader(ctx, 0, "Received-SPF", " none (nullfilter)");
		(void)smfi_insheader(ctx, 0, "Authentication-Results",
		    " nullfilter; none");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
nf_unknown(SMFICTX *ctx, const char *cmd)
{
	(void)ctx, (void)cmd;
	return SMFIS_CONTINUE;
}

static struct smfiDesc nf_desc = {
	.xxfi_name = "nullfilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST,
	.xxfi_connect = nf_connect,
	.xxfi_helo = nf_helo,
	.xxfi_envfrom = nf_args,
	.xxfi_envrcpt = nf_args,
	.xxfi_header = nf_header,
	.xxfi_eoh = nf_eoh,
	.xxfi_body = nf_body,
	.xxfi_eom = nf_eom,
	.xxfi_abort = nf_stage,
	.xxfi_close = nf_stage,
	.xxfi_unknown = nf_unknown,
	.xxfi_data = nf_stage,
	.xxfi_negotiate = nf_negotiate,
};

int
main(int argc, char **argv)
{
	const char *group = NULL, *spec;
	int ch;

	while ((ch = getopt(argc, argv, "g:n")) != -1) {
		switch (ch) {
		case 'g':
			group = optarg;
			break;
		case 'n':
			plain = 1;
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	spec = argv[optind];
	if (smfi_register(nf_desc) != MI_SUCCESS ||
	    smfi_setconn((char *)spec) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "nullfilter: cannot listen on %s\n", spec);
		return 1;
	}
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		const char *path = strchr(spec, ':') + 1;
		struct group *gr = group != NULL ? getgrnam(group) : NULL;

		if (group != NULL && gr == NULL) {
			fprintf(stderr, "nullfilter: no group %s\n", group);
			return 1;
		}
		if (gr != NULL && (chown(path, (uid_t)-1, gr->gr_gid) != 0 ||
		    chmod(path, 0660) != 0)) {
			fprintf(stderr, "nullfilter: %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
usage:
	fprintf(stderr, "usage: nullfilter [-n] [-g group] SOCKET\n");
	return 2;
}
