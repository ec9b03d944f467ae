/*
 * fuzzutil.h - what the fuzz targets share: a broken invariant aborts
 * with a message (libFuzzer and the replay driver both report it as a
 * crash), a private temporary directory removed at exit, and a
 * configuration snapshot built from text for a target's fixed setup.
 *
 * Targets keep their setup in statics made on the first input, so the
 * replay driver and libFuzzer need no separate initialisation.
 */
#ifndef RG_FUZZUTIL_H
#define RG_FUZZUTIL_H

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "verdict.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* FUZZ_CHECK - an invariant of the code under test; abort when broken */
#define FUZZ_CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: invariant broken: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); \
		fprintf(stderr, "\n"); \
		abort(); \
	} \
} while (0)

static char fuzz_dir[256];

/* fuzz_rmdir - remove the private directory and its files (no subdirectories) */
static inline void
fuzz_rmdir(void)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	if (fuzz_dir[0] == '\0' || (d = opendir(fuzz_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    snprintf(path, sizeof(path), "%s/%s", fuzz_dir, de->d_name) <
		    (int)sizeof(path))
			unlink(path);
	closedir(d);
	rmdir(fuzz_dir);
}

/*
 * fuzz_tmpdir - this process's own directory under $TMPDIR (or /tmp),
 * made once; removed at exit (libFuzzer ends without exit handlers, so
 * fuzz.sh gives each run a TMPDIR of its own and removes that)
 */
static inline const char *
fuzz_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (fuzz_dir[0] != '\0')
		return fuzz_dir;
	if (tmp == NULL || tmp[0] != '/' || snprintf(fuzz_dir, sizeof(fuzz_dir),
	    "%s/rgfuzz.XXXXXX", tmp) >= (int)sizeof(fuzz_dir))
		snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/rgfuzz.XXXXXX");
	if (mkdtemp(fuzz_dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	atexit(fuzz_rmdir);
	return fuzz_dir;
}

/*
 * fuzz_write - name in the private directory holding data[0..len) with
 * the given mode; the full path goes to path
 */
static inline void
fuzz_write(const char *name, const void *data, size_t len, mode_t mode,
    char *path, size_t size)
{
	FILE *fp;

	if (snprintf(path, size, "%s/%s", fuzz_tmpdir(), name) >= (int)size) {
		fprintf(stderr, "fuzz_write: path too long\n");
		abort();
	}
	if ((fp = fopen(path, "w")) == NULL ||
	    (len > 0 && fwrite(data, 1, len, fp) != len) || fclose(fp) != 0 ||
	    chmod(path, mode) != 0) {
		perror(path);
		abort();
	}
}

/* fuzz_conf - a snapshot from text, for a target's setup; aborts on error */
static inline struct rg_conf *
fuzz_conf(const char *text)
{
	struct rg_buf err = RG_BUF_INIT;
	struct rg_conf *c;
	char path[512];

	fuzz_write("setup.conf", text, strlen(text), 0600, path, sizeof(path));
	if ((c = rg_conf_load(path, &err, NULL)) == NULL) {
		fprintf(stderr, "fuzz_conf: %s", rg_buf_cstr(&err));
		abort();
	}
	unlink(path);
	rg_buf_release(&err);
	return c;
}

/*
 * fuzz_expand_paths - the input into out with each "$TMP" replaced by the
 * private directory; -1 (out empty) when the input could name a file
 * outside it: a '/' after anything but a letter, digit, '.', '_' or '-',
 * so that however a parser splits and trims words none starts an absolute
 * path, or ".." other than between digits (DNSBL ranges: "[2..11]"), so
 * that relative paths stay under the configuration's directory. Targets
 * that load files skip such inputs.
 */
static inline int
fuzz_expand_paths(const unsigned char *data, size_t size, struct rg_buf *out)
{
	const char *dir = fuzz_tmpdir();

	rg_buf_reset(out);
	for (size_t i = 0; i < size; i++) {
		unsigned char prev = i > 0 ? data[i - 1] : ' ';

		if (data[i] == '/' && !isalnum(prev) && strchr("._-", prev) == NULL)
			return -1;
		if (data[i] == '.' && i + 1 < size && data[i + 1] == '.' &&
		    !(isdigit(prev) && i + 2 < size && isdigit(data[i + 2])))
			return -1;
	}
	for (size_t i = 0; i < size; i++) {
		if (size - i >= 4 && memcmp(data + i, "$TMP", 4) == 0) {
			rg_buf_puts(out, dir);
			i += 3;
		} else {
			rg_buf_putc(out, (char)data[i]);
		}
	}
	return 0;
}

/*
 * fuzz_check_where - each line of configuration errors or warnings is
 * "file:line: ..." for a file in the private directory, or the "file: too
 * many errors" line; what names them in a broken invariant
 */
static inline void
fuzz_check_where(const char *text, const char *what)
{
	const char *dir = fuzz_tmpdir();
	size_t dlen = strlen(dir);

	for (const char *p = text; *p != '\0';) {
		const char *nl = strchr(p, '\n'), *colon, *d;

		FUZZ_CHECK(nl != NULL, "%s not ending in a newline: \"%s\"", what, p);
		FUZZ_CHECK(strncmp(p, dir, dlen) == 0 && p[dlen] == '/',
		    "%s line names no file of %s: \"%.*s\"", what, dir,
		    (int)(nl - p), p);
		colon = memchr(p + dlen, ':', (size_t)(nl - p) - dlen);
		FUZZ_CHECK(colon != NULL, "%s line without file:line: \"%.*s\"",
		    what, (int)(nl - p), p);
		for (d = colon + 1; d < nl && *d >= '0' && *d <= '9'; d++)
			;
		FUZZ_CHECK((d > colon + 1 && d + 1 < nl && d[0] == ':' &&
		    d[1] == ' ') || strncmp(colon, ": too many errors", 17) == 0,
		    "%s line without file:line: \"%.*s\"", what, (int)(nl - p), p);
		p = nl + 1;
	}
}

/* fuzz_check_printable - no control character in s (what names it) */
static inline void
fuzz_check_printable(const char *what, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "control character in %s: %s",
		    what, s);
}

/* fuzz_check_reply - a verdict's reply and added headers fit for the MTA */
static inline void
fuzz_check_reply(const struct rg_verdict *v)
{
	fuzz_check_printable("reply", v->text);
	for (const struct rg_hdr *h = v->add; h != NULL; h = h->next)
		fuzz_check_printable(h->name, h->value);
}

/* fuzz_cstr - the input as a C string, cut at its first NUL; free it */
static inline char *
fuzz_cstr(const unsigned char *data, size_t size)
{
	size_t n = strnlen((const char *)data, size);
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

#endif
