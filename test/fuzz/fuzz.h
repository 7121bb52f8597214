/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target shares: the libFuzzer entry points and a check
 * that fails loudly in both builds (libFuzzer's and the plain regression
 * driver's), whatever NDEBUG says.
 */
#ifndef NVP_FUZZ_H
#define NVP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The regression build names the target's corpus, for standalone.c to run by default. */
extern const char fuzz_corpus_dir[];
#ifdef FUZZ_CORPUS
const char fuzz_corpus_dir[] = FUZZ_CORPUS;
#endif

/* An invariant the library broke: print it and abort, so the input is kept as a crash. */
#define FUZZ_CHECK(cond)                                                             \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,   \
				__LINE__, #cond);                                    \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* Reads the fuzz input front to back; past its end every value is 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

static inline uint64_t fuzz_take(struct fuzz_in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->left; i++, in->p++, in->left--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

#endif /* NVP_FUZZ_H */
