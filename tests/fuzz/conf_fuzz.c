/*
 * conf_fuzz.c - libFuzzer target for relayguard.conf: the parser
 * (conf.c) and every parameter's own parser in the module tables
 * (settings.c lists them), through rg_conf_load() as relayguard -n runs it
 *
 * The input is written as a file in a private directory that also holds
 * small data sets for "file:" lists, rate rules, a login map, a Redis
 * password file, a DKIM key and OpenDKIM tables; "$TMP" in the input
 * names that directory. Inputs that could reach a file outside it are
 * skipped (fuzz_expand_paths). Invariants: a load either succeeds with no
 * error text, or fails with every error and warning line naming
 * file:line; a loaded configuration dumps.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "fuzzutil.h"

static int conf_ready;

/* conf_setup - the data sets the input may name as $TMP/<name> */
static void
conf_setup(void)
{
	static const struct {
		const char *name, *text;
		mode_t mode;
	} files[] = {
		{ "nets", "192.0.2.0/24\n# a comment\n10.0.0.0/8, 2001:db8::/32\n",
		    0644 },
		{ "domains", "example.org\n.example.net  # subdomains\n", 0644 },
		{ "exts", "exe\n.scr *.bat\n", 0644 },
		{ "rules", "per_login messages sasl_user 100/1h 1000/1d tempfail auth\n"
		    "c connections client_net 30/m unauth\n", 0644 },
		{ "logins", "alice@example.org  alice\n@example.net  bob, carol\n",
		    0644 },
		{ "sites", "zen.test=127.0.0.[2..11]*3\nbl.test\n", 0644 },
		{ "secret", "s3cret\n", 0600 },
		/* an Ed25519 seed as bare base64: a fixed, public test value */
		{ "ed.key", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n", 0600 },
		{ "signtable", "*@example.org  k1\n.example.net  k1,k2\n", 0644 },
	};
	char path[512], text[1024];

	rg_log_set_level(RG_LOG_DEBUG);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		fuzz_write(files[i].name, files[i].text, strlen(files[i].text),
		    files[i].mode, path, sizeof(path));
	snprintf(text, sizeof(text), "k1 example.org:sel:%s/ed.key\n"
	    "k2 %%:other:%s/ed.key\n", fuzz_tmpdir(), fuzz_tmpdir());
	fuzz_write("keytable", text, strlen(text), 0644, path, sizeof(path));
	conf_ready = 1;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct rg_buf text = RG_BUF_INIT, err = RG_BUF_INIT, warn = RG_BUF_INIT;
	struct rg_conf *c;
	char path[512];

	if (!conf_ready)
		conf_setup();
	if (fuzz_expand_paths(data, size, &text) < 0) {
		rg_buf_release(&text);
		return 0;
	}
	fuzz_write("relayguard.conf", text.data, text.len, 0644, path,
	    sizeof(path));
	c = rg_conf_load(path, &err, &warn);
	if (c == NULL) {
		FUZZ_CHECK(err.len > 0, "load failed without an error");
	} else {
		FUZZ_CHECK(err.len == 0, "loaded with errors: %s", rg_buf_cstr(&err));
		rg_buf_reset(&text);
		rg_conf_dump(c, &text);
		FUZZ_CHECK(text.len > 0, "empty dump");
		rg_conf_release(c);
	}
	fuzz_check_where(rg_buf_cstr(&err), "error");
	fuzz_check_where(rg_buf_cstr(&warn), "warning");
	rg_buf_release(&text);
	rg_buf_release(&err);
	rg_buf_release(&warn);
	return 0;
}
