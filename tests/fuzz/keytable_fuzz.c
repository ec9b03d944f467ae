/*
 * keytable_fuzz.c - libFuzzer target for OpenDKIM's KeyTable and
 * SigningTable as keytable.c reads them, and the SigningTable lookup
 *
 * Input: a flags byte, the KeyTable text, a NUL, the SigningTable text.
 * Both become files of the private directory, loaded through
 * rg_conf_load() (the only way in: errors need the parser's file:line).
 * Flags: bit 0 makes the SigningTable "refile:" (wildcards), bit 1 also
 * reads the first text as a dkim_sign file of triples. "$TMP" names the
 * directory, where ed.key is a valid Ed25519 key; inputs that could name
 * a file outside it are skipped. Invariants: errors name file:line; in a
 * loaded table every entry has keys, each an index into the KeyTable,
 * and every lookup returns an entry of the table or nothing.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "keytable.h"
#include "settings.h"
#include "fuzzutil.h"

static int kt_ready;

/* addresses every lookup is tried with, on top of the table's own patterns */
static const char *const kt_addrs[] = {
	"user@example.org", "USER@Example.ORG", "a@b.example.org", "x@example.net",
	"@example.org", "user@", "user", "*", "a@.example.org", "",
	"verylongname@a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z",
};

/* kt_lookup - look addr up; what comes back is one of the table's entries */
static void
kt_lookup(const struct rg_signtable *st, const char *addr)
{
	const struct rg_signtable_entry *e = rg_signtable_lookup(st, addr);

	FUZZ_CHECK(e == NULL || (e >= st->v && e < st->v + st->n),
	    "lookup of \"%s\" returned no entry of the table", addr);
}

/* kt_check - a loaded configuration's tables */
static void
kt_check(const struct rg_conf *c)
{
	const struct rg_signtable *st = &c->dkim.signing_table;
	const struct rg_keytable *kt = &c->dkim.key_table;

	for (size_t i = 0; i < kt->keys.n; i++)
		FUZZ_CHECK(kt->keys.v[i].pem != NULL && kt->keys.v[i].name != NULL,
		    "key %zu not loaded", i);
	for (size_t i = 0; i < st->n; i++) {
		FUZZ_CHECK(st->v[i].nkeys > 0, "entry %zu without keys", i);
		for (size_t j = 0; j < st->v[i].nkeys; j++)
			FUZZ_CHECK(st->v[i].keys[j] < kt->keys.n, "entry %zu key %zu: "
			    "index %zu of %zu keys", i, j, st->v[i].keys[j], kt->keys.n);
	}
	for (size_t i = 0; i < sizeof(kt_addrs) / sizeof(kt_addrs[0]); i++)
		kt_lookup(st, kt_addrs[i]);
	for (size_t i = 0; i < st->n && i < 16; i++)
		kt_lookup(st, st->v[i].pattern);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct rg_buf text = RG_BUF_INIT, err = RG_BUF_INIT, warn = RG_BUF_INIT;
	const unsigned char *nul;
	char path[512], ktpath[512], conf[2048];
	struct rg_conf *c;
	unsigned flags;

	if (!kt_ready) {
		rg_log_set_level(RG_LOG_DEBUG);
		/* an Ed25519 seed as bare base64: a fixed, public test value */
		fuzz_write("ed.key", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n",
		    45, 0600, path, sizeof(path));
		kt_ready = 1;
	}
	if (size == 0)
		return 0;
	flags = data[0];
	data++, size--;
	nul = memchr(data, '\0', size);
	if (fuzz_expand_paths(data, nul ? (size_t)(nul - data) : size, &text) < 0)
		goto out;
	fuzz_write("keytable", text.data, text.len, 0644, ktpath, sizeof(ktpath));
	if (fuzz_expand_paths(nul ? nul + 1 : data, nul ? size -
	    (size_t)(nul + 1 - data) : 0, &text) < 0)
		goto out;
	fuzz_write("signtable", text.data, text.len, 0644, path, sizeof(path));
	snprintf(conf, sizeof(conf), "dkim_key_table = file:%s\n"
	    "dkim_signing_table = %s:%s\n%s%s\n", ktpath, flags & 1 ? "refile" :
	    "file", path, flags & 2 ? "dkim_sign = file:" : "", flags & 2 ? ktpath :
	    "");
	fuzz_write("keytable.conf", conf, strlen(conf), 0644, path, sizeof(path));
	if ((c = rg_conf_load(path, &err, &warn)) != NULL) {
		kt_check(c);
		rg_conf_release(c);
	} else {
		FUZZ_CHECK(err.len > 0, "load failed without an error");
	}
	fuzz_check_where(rg_buf_cstr(&err), "error");
	fuzz_check_where(rg_buf_cstr(&warn), "warning");
out:
	rg_buf_release(&text);
	rg_buf_release(&err);
	rg_buf_release(&warn);
	return 0;
}
