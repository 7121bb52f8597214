/* SPDX-License-Identifier: MIT */
/*
 * A log-linear latency histogram with bounded memory (HdrHistogram's
 * layout): values below 2^SUB_BITS get one bucket each; every octave
 * [2^k, 2^(k+1)) above is split into 2^SUB_BITS equal buckets. A bucket is
 * then at most 2^-SUB_BITS (0.78 %) of the values it holds wide, for any
 * value up to UINT64_MAX, in a fixed 58 KiB. Count, sum, min and max are
 * kept exactly beside the buckets.
 *
 * One histogram belongs to one thread; merge them for a total.
 */
#ifndef NVP_BENCH_HIST_H
#define NVP_BENCH_HIST_H

#include <stdint.h>

#define PERF_HIST_SUB_BITS 7
#define PERF_HIST_SUB (1u << PERF_HIST_SUB_BITS)
/* Linear buckets 0 .. SUB-1, then one group of SUB per octave 2^SUB_BITS .. 2^63. */
#define PERF_HIST_NR_BUCKETS ((64 - PERF_HIST_SUB_BITS + 1) * PERF_HIST_SUB)

struct perf_hist {
	uint64_t count;
	uint64_t sum;		/* wraps only after 584 years of nanoseconds */
	uint64_t min;		/* UINT64_MAX while empty */
	uint64_t max;
	uint64_t buckets[PERF_HIST_NR_BUCKETS];
};

/* Empty @h. */
void perf_hist_reset(struct perf_hist *h);
/* Add every value of @src to @dst. */
void perf_hist_merge(struct perf_hist *dst, const struct perf_hist *src);
/*
 * The value at percentile @p (0 < p <= 100): the smallest bucket holding at
 * least ceil(p / 100 * count) values, reported as that bucket's midpoint,
 * clamped to [min, max]; 0 for an empty histogram. p <= 0 gives min.
 */
uint64_t perf_hist_percentile(const struct perf_hist *h, double p);
/*
 * How many values lie below @v: exact where @v is a bucket boundary (every
 * value below 2^SUB_BITS is one), else the bucket holding @v counted in
 * proportion to the part of it below @v (an error of at most that bucket's
 * count, itself at most 2^-SUB_BITS of @v wide).
 */
uint64_t perf_hist_count_below(const struct perf_hist *h, uint64_t v);
/* Mean, from the exact sum; 0 when empty. */
double perf_hist_mean(const struct perf_hist *h);
/* Lowest value of bucket @i, and one past its highest. */
uint64_t perf_hist_bucket_low(unsigned i);
uint64_t perf_hist_bucket_high(unsigned i);

static inline unsigned perf_hist_index(uint64_t v)
{
	unsigned k, shift;

	if (v < PERF_HIST_SUB)
		return (unsigned)v;
	k = 63u - (unsigned)__builtin_clzll(v);	/* v in [2^k, 2^(k+1)), k >= SUB_BITS */
	shift = k - PERF_HIST_SUB_BITS;		/* bucket width 2^shift */
	/* v >> shift lies in [SUB, 2 * SUB): the octave's group starts at (shift + 1) * SUB. */
	return (shift + 1) * PERF_HIST_SUB + (unsigned)(v >> shift) - PERF_HIST_SUB;
}

/* Hot path: a handful of instructions, no branch but the min/max ones. */
static inline void perf_hist_add(struct perf_hist *h, uint64_t v)
{
	h->buckets[perf_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

#endif /* NVP_BENCH_HIST_H */
