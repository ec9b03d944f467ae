/*
 * replay.c - run a fuzz target on saved inputs without libFuzzer
 *
 * Linked with one *_fuzz.c as BUILD/tests/fuzz/<name>_replay, it calls
 * LLVMFuzzerTestOneInput() once per file of each directory (or file) named
 * on the command line; with no arguments, of tests/fuzz/corpus/<name> and,
 * when it exists, tests/fuzz/regressions/<name> (tests/unit/run.sh runs it
 * so from the top of the tree). Files go in name order; names that start
 * with '.' and README files are skipped. Each input
 * that returns counts as passed; a crash, a sanitizer report or a broken
 * invariant ends the process, so the last "replay:" line on stderr names
 * the culprit. A missing directory, an unreadable file or no input at all
 * is a failure: a replay that runs nothing must not look like a pass.
 * Ends with "N passed, N failed"; exit status 1 when anything failed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_INPUT	(4 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int replay_passed, replay_failed;

/* replay_fail - count a failure and say why */
static void
replay_fail(const char *path, const char *why)
{
	printf("FAIL replay %s: %s\n", path, why);
	replay_failed++;
}

/* replay_file - one input */
static void
replay_file(const char *path)
{
	unsigned char *buf, *in;
	size_t len;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL) {
		replay_fail(path, strerror(errno));
		return;
	}
	buf = malloc(REPLAY_MAX_INPUT + 1);
	if (buf == NULL)
		abort();
	len = fread(buf, 1, REPLAY_MAX_INPUT + 1, fp);
	if (ferror(fp) || len > REPLAY_MAX_INPUT) {
		replay_fail(path, ferror(fp) ? "read error" : "larger than 4 MB");
	} else {
		fprintf(stderr, "replay: %s\n", path);
		/* an exact-size copy, so ASan sees any read past the end */
		if ((in = malloc(len ? len : 1)) == NULL)
			abort();
		memcpy(in, buf, len);
		LLVMFuzzerTestOneInput(in, len);
		free(in);
		replay_passed++;
	}
	free(buf);
	fclose(fp);
}

/* replay_skip - hidden files and READMEs are not inputs */
static int
replay_skip(const char *name)
{
	return name[0] == '.' || strncmp(name, "README", 6) == 0;
}

static int
replay_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* replay_dir - every regular file of a directory, in name order */
static void
replay_dir(const char *dir)
{
	struct dirent **list;
	char path[4096];
	struct stat st;
	int n;

	if ((n = scandir(dir, &list, NULL, replay_cmp)) < 0) {
		replay_fail(dir, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		if (!replay_skip(list[i]->d_name) &&
		    snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name) <
		    (int)sizeof(path) && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			replay_file(path);
		free(list[i]);
	}
	free(list);
}

/* replay_arg - a directory or a file named on the command line */
static void
replay_arg(const char *arg)
{
	struct stat st;

	if (stat(arg, &st) < 0)
		replay_fail(arg, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		replay_dir(arg);
	else
		replay_file(arg);
}

/* replay_defaults - the target's seeds and reproducers, named by argv[0] */
static void
replay_defaults(const char *argv0)
{
	const char *base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
	size_t n = strlen(base);
	char dir[512];
	struct stat st;

	if (n <= 7 || strcmp(base + n - 7, "_replay") != 0) {
		replay_fail(argv0, "not named <target>_replay; give directories");
		return;
	}
	snprintf(dir, sizeof(dir), "tests/fuzz/corpus/%.*s", (int)(n - 7), base);
	replay_arg(dir);
	snprintf(dir, sizeof(dir), "tests/fuzz/regressions/%.*s", (int)(n - 7),
	    base);
	if (stat(dir, &st) == 0)
		replay_arg(dir);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		replay_defaults(argv[0]);
	for (int i = 1; i < argc; i++)
		replay_arg(argv[i]);
	if (replay_passed + replay_failed == 0)
		replay_fail(argc > 1 ? argv[1] : argv[0], "no input files");
	printf("%d passed, %d failed\n", replay_passed, replay_failed);
	return replay_failed != 0;
}
