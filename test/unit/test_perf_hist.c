/*
 * nvpoll-perf's latency histogram (bench/perf/hist.c): bucket layout, exact
 * min/max/mean, percentiles of known distributions within one bucket's
 * error, and merging. The .c is included so the test needs no link rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../bench/perf/hist.c"

/* Largest error a reported value may have: half its bucket, rounded up, plus one. */
static uint64_t tolerance(uint64_t v)
{
	unsigned i = perf_hist_index(v);

	return (perf_hist_bucket_high(i) - perf_hist_bucket_low(i)) / 2 + 1;
}

static void assert_near(uint64_t got, uint64_t want)
{
	uint64_t tol = tolerance(want);
	uint64_t diff = got > want ? got - want : want - got;

	if (diff > tol)
		fail_msg("got %llu, want %llu +- %llu", (unsigned long long)got, (unsigned long long)want,
			 (unsigned long long)tol);
}

static struct perf_hist *hist_new(void)
{
	struct perf_hist *h = malloc(sizeof(*h));

	assert_non_null(h);
	perf_hist_reset(h);
	return h;
}

/* Every value lands in the bucket whose [low, high) holds it; buckets tile 0 .. 2^64. */
static void test_layout(void **state)
{
	static const uint64_t probes[] = { 0, 1, 127, 128, 129, 255, 256, 257, 1000, 4095, 4096,
					   1000000, 123456789, 1ull << 40, (1ull << 40) - 1,
					   UINT64_MAX - 1, UINT64_MAX };
	(void)state;

	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t v = probes[i];
		unsigned b = perf_hist_index(v);

		assert_true(b < PERF_HIST_NR_BUCKETS);
		assert_true(perf_hist_bucket_low(b) <= v);
		assert_true(v < perf_hist_bucket_high(b) || perf_hist_bucket_high(b) == UINT64_MAX);
	}
	assert_int_equal(perf_hist_index(UINT64_MAX), PERF_HIST_NR_BUCKETS - 1);
	assert_int_equal(perf_hist_bucket_low(0), 0);
	for (unsigned b = 0; b + 1 < PERF_HIST_NR_BUCKETS; b++) {
		uint64_t low = perf_hist_bucket_low(b), high = perf_hist_bucket_high(b);

		assert_int_equal(high, perf_hist_bucket_low(b + 1));
		assert_int_equal(perf_hist_index(low), b);
		assert_int_equal(perf_hist_index(high - 1), b);
		/* Relative width at most 2^-SUB_BITS once past the exact buckets. */
		if (low >= PERF_HIST_SUB)
			assert_true((high - low) * PERF_HIST_SUB <= low);
	}
}

static void test_empty(void **state)
{
	struct perf_hist *h = hist_new();
	(void)state;

	assert_int_equal(h->count, 0);
	assert_int_equal(perf_hist_percentile(h, 50), 0);
	assert_true(perf_hist_mean(h) == 0.0);
	free(h);
}

/* Small values are exact: every percentile of 1..100 is the value itself. */
static void test_exact_small(void **state)
{
	struct perf_hist *h = hist_new();
	(void)state;

	for (uint64_t v = 1; v <= 100; v++)
		perf_hist_add(h, v);
	assert_int_equal(h->min, 1);
	assert_int_equal(h->max, 100);
	assert_int_equal(h->count, 100);
	assert_true(perf_hist_mean(h) == 50.5);
	assert_int_equal(perf_hist_percentile(h, 1), 1);
	assert_int_equal(perf_hist_percentile(h, 50), 50);
	assert_int_equal(perf_hist_percentile(h, 90), 90);
	assert_int_equal(perf_hist_percentile(h, 99), 99);
	assert_int_equal(perf_hist_percentile(h, 99.9), 100);
	assert_int_equal(perf_hist_percentile(h, 100), 100);
	assert_int_equal(perf_hist_percentile(h, 0), 1);
	free(h);
}

/* Uniform 1 us .. 1 ms in 1 ns steps: p-th percentile near p% of the span. */
static void test_uniform(void **state)
{
	struct perf_hist *h = hist_new();
	const uint64_t lo = 1000, hi = 1000000;
	const double ps[] = { 50, 90, 99, 99.9, 99.99 };
	(void)state;

	for (uint64_t v = lo; v <= hi; v++)
		perf_hist_add(h, v);
	assert_int_equal(h->min, lo);
	assert_int_equal(h->max, hi);
	assert_int_equal(h->count, hi - lo + 1);
	assert_true(perf_hist_mean(h) == (double)(lo + hi) / 2);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t rank = (uint64_t)(ps[i] * (double)h->count / 100 + 0.999999);

		assert_near(perf_hist_percentile(h, ps[i]), lo + rank - 1);
	}
	free(h);
}

/*
 * A bimodal mix like a device with a slow tail: 99 % at 10 us, 1 % at
 * 5 ms. Percentiles up to p99 fall on the first value, above on the second;
 * min and max are exact no matter the bucket width.
 */
static void test_bimodal(void **state)
{
	struct perf_hist *h = hist_new();
	(void)state;

	for (int i = 0; i < 99000; i++)
		perf_hist_add(h, 10007);
	for (int i = 0; i < 1000; i++)
		perf_hist_add(h, 5000011);
	assert_int_equal(h->min, 10007);
	assert_int_equal(h->max, 5000011);
	assert_near(perf_hist_percentile(h, 50), 10007);
	assert_near(perf_hist_percentile(h, 99), 10007);
	assert_near(perf_hist_percentile(h, 99.9), 5000011);
	assert_near(perf_hist_percentile(h, 99.99), 5000011);
	/* A single value is reported exactly: the clamp to [min, max]. */
	perf_hist_reset(h);
	perf_hist_add(h, 123456789);
	assert_int_equal(perf_hist_percentile(h, 50), 123456789);
	assert_int_equal(perf_hist_percentile(h, 99.99), 123456789);
	free(h);
}

/*
 * A power law spanning 30 octaves, v = i^2 for i = 1 .. 100000: the value
 * of rank r is r^2, so every percentile has a closed form; the reported
 * one must lie within its bucket's error.
 */
static void test_power_law(void **state)
{
	struct perf_hist *h = hist_new();
	const double ps[] = { 1, 50, 90, 99, 99.9, 99.99 };
	const uint64_t n = 100000;
	uint64_t sum = 0;
	(void)state;

	for (uint64_t i = 1; i <= n; i++) {
		perf_hist_add(h, i * i);
		sum += i * i;
	}
	assert_int_equal(h->sum, sum);
	assert_int_equal(h->min, 1);
	assert_int_equal(h->max, n * n);
	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		uint64_t rank = (uint64_t)(ps[i] * (double)n / 100 + 0.5); /* exact for these p */

		assert_near(perf_hist_percentile(h, ps[i]), rank * rank);
	}
	free(h);
}

/* Merging two histograms equals adding all values to one. */
static void test_merge(void **state)
{
	struct perf_hist *a = hist_new(), *b = hist_new(), *all = hist_new(), *empty = hist_new();
	(void)state;

	for (uint64_t v = 500; v < 60000; v += 7) {
		perf_hist_add(a, v);
		perf_hist_add(all, v);
	}
	for (uint64_t v = 3; v < 9000000; v += 4099) {
		perf_hist_add(b, v);
		perf_hist_add(all, v);
	}
	perf_hist_merge(a, b);
	assert_int_equal(a->count, all->count);
	assert_int_equal(a->sum, all->sum);
	assert_int_equal(a->min, 3);
	assert_int_equal(a->max, all->max);
	assert_memory_equal(a->buckets, all->buckets, sizeof(a->buckets));
	assert_int_equal(perf_hist_percentile(a, 99), perf_hist_percentile(all, 99));
	/* An empty histogram changes nothing, either way round. */
	perf_hist_merge(a, empty);
	assert_int_equal(a->min, 3);
	assert_int_equal(a->count, all->count);
	perf_hist_merge(empty, a);
	assert_int_equal(empty->min, 3);
	assert_int_equal(empty->max, all->max);
	assert_int_equal(perf_hist_percentile(empty, 50), perf_hist_percentile(all, 50));
	free(a);
	free(b);
	free(all);
	free(empty);
}

/*
 * The coarse summary's counts: exact below 2^SUB_BITS and at bucket
 * boundaries, within one bucket's count elsewhere. Uniform 1 .. 10^6 in
 * steps of 1: below v there are exactly v - 1 values.
 */
static void test_count_below(void **state)
{
	static const uint64_t probes[] = { 1, 2, 50, 128, 1000, 4096, 10000, 99999, 100000, 777777, 1000000 };
	struct perf_hist *h = hist_new();
	(void)state;

	assert_int_equal(perf_hist_count_below(h, 10), 0);
	for (uint64_t v = 1; v <= 1000000; v++)
		perf_hist_add(h, v);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t v = probes[i], got = perf_hist_count_below(h, v);
		unsigned b = perf_hist_index(v);
		uint64_t tol = perf_hist_bucket_low(b) == v ? 0 : h->buckets[b];

		if ((got > v - 1 ? got - (v - 1) : v - 1 - got) > tol)
			fail_msg("below %llu: got %llu, want %llu +- %llu", (unsigned long long)v,
				 (unsigned long long)got, (unsigned long long)(v - 1), (unsigned long long)tol);
	}
	assert_int_equal(perf_hist_count_below(h, 0), 0);
	assert_int_equal(perf_hist_count_below(h, 1000001), 1000000);
	assert_int_equal(perf_hist_count_below(h, UINT64_MAX), 1000000);
	/* The bimodal device: 99 % under 100 us, all under 10 ms. */
	perf_hist_reset(h);
	for (int i = 0; i < 990; i++)
		perf_hist_add(h, 10007);
	for (int i = 0; i < 10; i++)
		perf_hist_add(h, 5000011);
	assert_int_equal(perf_hist_count_below(h, 10000), 0);
	assert_int_equal(perf_hist_count_below(h, 100000), 990);
	assert_int_equal(perf_hist_count_below(h, 1000000), 990);
	assert_int_equal(perf_hist_count_below(h, 10000000), 1000);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),	  cmocka_unit_test(test_empty),
		cmocka_unit_test(test_exact_small), cmocka_unit_test(test_uniform),
		cmocka_unit_test(test_bimodal),	  cmocka_unit_test(test_power_law),
		cmocka_unit_test(test_merge),	  cmocka_unit_test(test_count_below),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
