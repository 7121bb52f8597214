/* SPDX-License-Identifier: MIT */
/*
 * A plain main() for the fuzz targets, so `make fuzz-regress` replays the
 * committed corpora with any compiler and no libFuzzer. Arguments are files
 * or directories (every regular file in them, in name order); with none,
 * the target's own corpus, fuzz_corpus_dir (FUZZ_CORPUS, which the Makefile
 * defines when it compiles the target). Each
 * input is handed over in a buffer of exactly its size, so a sanitizer
 * build catches a target reading past it. No inputs at all is a failure:
 * a missing corpus must not pass as an empty one.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Targets may leave these out. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);
__attribute__((weak)) extern const char fuzz_corpus_dir[];

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	buf = malloc(len ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Returns the number of inputs run, or -1. */
static long run_path(const char *path)
{
	struct dirent **names;
	struct stat st;
	long n = 0;
	int count;

	if (stat(path, &st)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path) ? -1 : 1;
	count = scandir(path, &names, NULL, by_name);
	if (count < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < count; i++) {
		char file[4096];

		snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
		if (n >= 0 && stat(file, &st) == 0 && S_ISREG(st.st_mode))
			n = run_file(file) ? -1 : n + 1;
		free(names[i]);
	}
	free(names);
	return n;
}

int main(int argc, char **argv)
{
	char *dflt[] = { argv[0], (char *)fuzz_corpus_dir, NULL };
	long total = 0;

	if (argc < 2 && !fuzz_corpus_dir) {
		fprintf(stderr, "usage: %s FILE-OR-DIR...\n", argv[0]);
		return 2;
	}
	if (argc < 2) {
		argv = dflt;
		argc = 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		long n = run_path(argv[i]);

		if (n < 0)
			return 1;
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "no inputs found in the given paths\n");
		return 1;
	}
	printf("%s: %ld inputs, no failure\n", argv[0], total);
	return 0;
}
