/*
 * dkimkeys.h - test helpers for the DKIM tests: a private temporary
 * directory, files in it with a given mode, and keys made there with
 * `openssl genpkey` at test time (nothing secret is committed).
 */
#ifndef DKIMKEYS_H
#define DKIMKEYS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dk_dir[64];

/* dk_rm_dir - remove the temporary directory at exit */
static inline void
dk_rm_dir(void)
{
	char cmd[128];

	if (dk_dir[0] == '\0' || getenv("DK_KEEP") != NULL)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dk_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dk_dir);
}

/* dk_setup - make the directory once */
static inline const char *
dk_setup(void)
{
	if (dk_dir[0] != '\0')
		return dk_dir;
	snprintf(dk_dir, sizeof(dk_dir), "/tmp/rgdkimXXXXXX");
	if (mkdtemp(dk_dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	atexit(dk_rm_dir);
	return dk_dir;
}

/* dk_path - dir/name in a rotating static buffer */
static inline const char *
dk_path(const char *name)
{
	static char buf[8][512];
	static int slot;
	char *p = buf[slot++ % 8];

	snprintf(p, 512, "%s/%s", dk_setup(), name);
	return p;
}

/* dk_write - create dir/name with text and mode; its path */
static inline const char *
dk_write(const char *name, const char *text, mode_t mode)
{
	const char *p = dk_path(name);
	FILE *fp = fopen(p, "w");

	if (fp == NULL) {
		perror(p);
		exit(2);
	}
	fputs(text, fp);
	fclose(fp);
	chmod(p, mode);
	return p;
}

/* dk_run - run a shell command; exit the test on failure */
static inline void
dk_run(const char *cmd)
{
	if (system(cmd) != 0) {
		fprintf(stderr, "failed: %s\n", cmd);
		exit(2);
	}
}

/*
 * dk_genkey - dir/name: "rsa" with bits, or "ed25519"; mode 0600. With
 * traditional set, an RSA key is written as PKCS#1 ("BEGIN RSA PRIVATE
 * KEY") instead of PKCS#8. Returns the path, in storage of its own.
 */
static inline const char *
dk_genkey(const char *name, const char *type, int bits, int traditional)
{
	static char keep[16][512];	/* the paths stay reachable to the end */
	static int nkeep;
	const char *p = dk_path(name);
	char cmd[1024];

	if (nkeep == 16) {
		fprintf(stderr, "dk_genkey: too many keys\n");
		exit(2);
	}
	snprintf(keep[nkeep], sizeof(keep[nkeep]), "%s", p);
	p = keep[nkeep++];
	if (access(p, F_OK) == 0)
		return p;
	if (strcmp(type, "rsa") == 0)
		snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm RSA "
		    "-pkeyopt rsa_keygen_bits:%d -out '%s' 2>/dev/null", bits, p);
	else
		snprintf(cmd, sizeof(cmd), "openssl genpkey -algorithm ed25519 "
		    "-out '%s' 2>/dev/null", p);
	dk_run(cmd);
	if (traditional) {
		snprintf(cmd, sizeof(cmd), "openssl pkey -traditional -in '%s' "
		    "-out '%s.tmp' && mv '%s.tmp' '%s'", p, p, p, p);
		dk_run(cmd);
	}
	chmod(p, 0600);
	return p;
}

/* dk_slurp - a file's contents (malloc'd), or NULL */
static inline char *
dk_slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *data = NULL;
	size_t cap = 0, n = 0;

	if (fp == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap)
			data = realloc(data, cap = cap * 2 + 8192);
		size_t r = fread(data + n, 1, cap - n - 1, fp);

		if (r == 0)
			break;
		n += r;
	}
	fclose(fp);
	data[n] = '\0';
	return data;
}

/* dk_copy - dir/name with the contents of src and mode; its path */
static inline const char *
dk_copy(const char *src, const char *name, mode_t mode)
{
	char *text = dk_slurp(src);
	const char *p = dk_write(name, text ? text : "", mode);

	free(text);
	return p;
}

/* dk_cmd_output - first line of a command's output (static), or "" */
static inline const char *
dk_cmd_output(const char *cmd)
{
	static char line[8192];
	FILE *fp = popen(cmd, "r");

	line[0] = '\0';
	if (fp == NULL)
		return line;
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	pclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	return line;
}

#endif
