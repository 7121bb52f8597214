/* SPDX-License-Identifier: MIT */
/* The latency histogram's slow path: reset, merge, percentiles. See hist.h. */
#include <stdint.h>
#include <string.h>

#include "hist.h"

void perf_hist_reset(struct perf_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void perf_hist_merge(struct perf_hist *dst, const struct perf_hist *src)
{
	for (unsigned i = 0; i < PERF_HIST_NR_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t perf_hist_bucket_low(unsigned i)
{
	unsigned shift;

	if (i < PERF_HIST_SUB)
		return i;
	shift = i / PERF_HIST_SUB - 1;
	return (uint64_t)(PERF_HIST_SUB + i % PERF_HIST_SUB) << shift;
}

uint64_t perf_hist_bucket_high(unsigned i)
{
	uint64_t low = perf_hist_bucket_low(i);
	uint64_t width = i < PERF_HIST_SUB ? 1 : (uint64_t)1 << (i / PERF_HIST_SUB - 1);

	/* The last bucket ends at 2^64: saturate. */
	return low + width < low ? UINT64_MAX : low + width;
}

uint64_t perf_hist_percentile(const struct perf_hist *h, double p)
{
	uint64_t rank, seen = 0;
	double want;

	if (h->count == 0)
		return 0;
	if (p <= 0)
		return h->min;
	if (p >= 100)
		return h->max;
	/* The rank-th smallest value, 1-based: ceil(want), the epsilon absorbing 99.9 / 100 being inexact. */
	want = p / 100.0 * (double)h->count;
	rank = (uint64_t)want;
	if ((double)rank < want - 1e-9 || rank == 0)
		rank++;
	for (unsigned i = 0; i < PERF_HIST_NR_BUCKETS; i++) {
		uint64_t low, high, v;

		seen += h->buckets[i];
		if (seen < rank)
			continue;
		low = perf_hist_bucket_low(i);
		high = perf_hist_bucket_high(i);
		v = low + (high - low - 1) / 2;
		if (v < h->min)
			v = h->min;
		if (v > h->max)
			v = h->max;
		return v;
	}
	return h->max;
}

uint64_t perf_hist_count_below(const struct perf_hist *h, uint64_t v)
{
	uint64_t n = 0, low, high;
	unsigned b;

	if (h->count == 0 || v <= h->min)
		return 0;
	if (v > h->max)
		return h->count;
	b = perf_hist_index(v);
	for (unsigned i = 0; i < b; i++)
		n += h->buckets[i];
	low = perf_hist_bucket_low(b);
	high = perf_hist_bucket_high(b);
	if (v > low)
		n += (uint64_t)((double)h->buckets[b] * (double)(v - low) / (double)(high - low));
	return n;
}

double perf_hist_mean(const struct perf_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}
