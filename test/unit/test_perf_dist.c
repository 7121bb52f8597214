/*
 * nvpoll-perf's Zipf sampler (bench/perf/dist.c): the share of the head
 * ranks against the exact k^-theta / H(n, theta) for several theta (1
 * included) and n, the range, determinism under a seed, and the rank to
 * block map being a bijection. The .c is included so the test needs no
 * link rule of its own beyond -lm.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../bench/perf/dist.c"

#define SAMPLES 400000

/* Exact probability of ranks 1..k among 1..n. */
static double head_share(uint64_t n, double theta, uint64_t k)
{
	double head = 0, all = 0;

	for (uint64_t i = 1; i <= n; i++) {
		double p = pow((double)i, -theta);

		all += p;
		if (i <= k)
			head += p;
	}
	return head / all;
}

/* Sampled shares of rank 1 and of ranks 1..10 within 4.5 standard deviations of the exact ones. */
static void check_shares(uint64_t n, double theta)
{
	struct perf_zipf z;
	uint64_t rng = 12345, one = 0, ten = 0, hundred = 0;
	const uint64_t heads[3] = { 1, 10, 100 };
	uint64_t *got[3] = { &one, &ten, &hundred };

	assert_int_equal(perf_zipf_init(&z, n, theta), 0);
	for (int i = 0; i < SAMPLES; i++) {
		uint64_t k = perf_zipf_rank(&z, &rng);

		if (k < 1 || k > n)
			fail_msg("n %llu theta %g: rank %llu out of range", (unsigned long long)n, theta,
				 (unsigned long long)k);
		one += k == 1;
		ten += k <= 10;
		hundred += k <= 100;
	}
	for (int j = 0; j < 3; j++) {
		double p = head_share(n, theta, heads[j]), share = (double)*got[j] / SAMPLES;
		double sd = sqrt(p * (1 - p) / SAMPLES);

		if (fabs(share - p) > 4.5 * sd + 1e-9)
			fail_msg("n %llu theta %g: ranks 1..%llu drawn %.5f of the time, want %.5f (sd %.5f)",
				 (unsigned long long)n, theta, (unsigned long long)heads[j], share, p, sd);
	}
}

static void test_shares(void **state)
{
	(void)state;
	check_shares(10000, 0.99);	/* YCSB's and fio's usual */
	check_shares(10000, 1.0);	/* the harmonic case, a limit in the formulas */
	check_shares(10000, 1.2);
	check_shares(1000, 0.5);
	check_shares(1000, 2.5);
	check_shares(200, 0.1);
	check_shares(1000000, 0.9);
}

/* A much larger n costs no more set-up, and the head's share stays right: its tail is an integral. */
static void test_huge_n(void **state)
{
	struct perf_zipf z;
	uint64_t rng = 99, one = 0;
	const uint64_t n = 1ull << 36;
	(void)state;

	assert_int_equal(perf_zipf_init(&z, n, 1.5), 0);
	for (int i = 0; i < SAMPLES; i++) {
		uint64_t k = perf_zipf_rank(&z, &rng);

		assert_true(k >= 1 && k <= n);
		one += k == 1;
	}
	/* P(1) = 1 / zeta(1.5) for n this large: 0.38279. */
	assert_true(fabs((double)one / SAMPLES - 0.382793) < 0.004);
}

static void test_edges(void **state)
{
	struct perf_zipf z;
	uint64_t rng = 7;
	(void)state;

	assert_int_equal(perf_zipf_init(&z, 0, 1), -EINVAL);
	assert_int_equal(perf_zipf_init(&z, 10, 0), -EINVAL);
	assert_int_equal(perf_zipf_init(&z, 10, -1), -EINVAL);
	assert_int_equal(perf_zipf_init(&z, 10, NAN), -EINVAL);
	assert_int_equal(perf_zipf_init(&z, 10, 101), -EINVAL);
	assert_int_equal(perf_zipf_init(&z, 1, 1.1), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(perf_zipf_rank(&z, &rng), 1);
	assert_int_equal(perf_zipf_block(&z, 1), 0);
}

/* The same seed, the same ranks; another seed, others. */
static void test_seeded(void **state)
{
	struct perf_zipf z;
	uint64_t a = 42, b = 42, c = 43;
	int differ = 0;
	(void)state;

	assert_int_equal(perf_zipf_init(&z, 100000, 0.99), 0);
	for (int i = 0; i < 10000; i++) {
		uint64_t ka = perf_zipf_rank(&z, &a), kb = perf_zipf_rank(&z, &b), kc = perf_zipf_rank(&z, &c);

		assert_int_equal(ka, kb);
		differ += ka != kc;
	}
	assert_true(differ > 5000);
}

/* Every block is the image of exactly one rank, for every n up to 3000 and a few large ones. */
static void test_bijection(void **state)
{
	static const uint64_t big[] = { 65536, 100000, 131072, 510510 /* 2*3*5*7*11*13*17 */, 1000003 };
	uint8_t *seen = malloc(1000003);
	struct perf_zipf z;
	(void)state;

	assert_non_null(seen);
	for (uint64_t n = 1; n <= 3000 + sizeof(big) / sizeof(big[0]); n++) {
		uint64_t nn = n <= 3000 ? n : big[n - 3001];

		assert_int_equal(perf_zipf_init(&z, nn, 1), 0);
		memset(seen, 0, nn);
		for (uint64_t k = 1; k <= nn; k++) {
			uint64_t b = perf_zipf_block(&z, k);

			if (b >= nn || seen[b])
				fail_msg("n %llu: rank %llu -> block %llu, out of range or taken", (unsigned long long)nn,
					 (unsigned long long)k, (unsigned long long)b);
			seen[b] = 1;
		}
	}
	/* The head is scattered: ranks 1 and 2 are not neighbours. */
	assert_int_equal(perf_zipf_init(&z, 100000, 1), 0);
	assert_true(perf_zipf_block(&z, 2) - perf_zipf_block(&z, 1) > 1000);
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares), cmocka_unit_test(test_huge_n),  cmocka_unit_test(test_edges),
		cmocka_unit_test(test_seeded), cmocka_unit_test(test_bijection),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
