/* SPDX-License-Identifier: MIT */
/*
 * nvpoll-perf's random numbers: the per-thread generator, and the Zipf
 * distribution of --random-dist zipf:THETA.
 *
 * Zipf: rank k of 1..n comes up with probability k^-theta / H(n, theta),
 * H the generalized harmonic number. Sampled by rejection-inversion
 * (Hörmann and Derflinger, "Rejection-inversion to generate variates from
 * monotone discrete distributions", 1996): O(1) set-up whatever n, about
 * one uniform variate per sample, exact for every theta > 0 (1 included),
 * where the method of Gray et al. that YCSB and fio use needs H(n, theta),
 * a sum over all n ranks. Ranks are then scattered over the blocks by a
 * fixed bijection, as fio hashes its own, so the hot blocks are not the
 * first LBAs of the slice.
 */
#ifndef NVP_BENCH_DIST_H
#define NVP_BENCH_DIST_H

#include <stdint.h>

static inline uint64_t perf_rng_next(uint64_t *s)
{
	/* xorshift64*: a few cycles, plenty for picking blocks */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

struct perf_zipf {
	uint64_t n;
	double theta;
	double h_x1, h_n, squeeze;	/* H(1.5) - 1, H(n + 0.5), the acceptance shortcut */
	uint64_t mult;			/* rank - 1 -> block: (rank - 1) * mult mod n, gcd(mult, n) = 1 */
};

/* For @n ranks (n >= 1) and exponent @theta (0 < theta <= 100); 0, or -EINVAL. */
int perf_zipf_init(struct perf_zipf *z, uint64_t n, double theta);
/* A rank in 1..n, rank 1 the most frequent; advances @rng. */
uint64_t perf_zipf_rank(const struct perf_zipf *z, uint64_t *rng);
/* The block (0..n-1) rank @k stands for: a bijection of 1..n onto 0..n-1. */
static inline uint64_t perf_zipf_block(const struct perf_zipf *z, uint64_t k)
{
	return (uint64_t)(((unsigned __int128)(k - 1) * z->mult) % z->n);
}

#endif /* NVP_BENCH_DIST_H */
