/* SPDX-License-Identifier: MIT */
/* The Zipf sampler of --random-dist (see dist.h for the method). */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "dist.h"

/* log1p(x) / x and expm1(x) / x, with their limits near 0 where the quotient is 0/0. */
static double log1p_over(double x)
{
	return fabs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}

static double expm1_over(double x)
{
	return fabs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x));
}

/* H(x): the integral of t^-theta, shifted so it is continuous in theta (log x at theta = 1). */
static double h_int(const struct perf_zipf *z, double x)
{
	double lx = log(x);

	return expm1_over((1 - z->theta) * lx) * lx;
}

static double h(const struct perf_zipf *z, double x)
{
	return exp(-z->theta * log(x));
}

static double h_int_inv(const struct perf_zipf *z, double y)
{
	double t = y * (1 - z->theta);

	if (t < -1)
		t = -1; /* rounding near the lower end of the range */
	return exp(log1p_over(t) * y);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

int perf_zipf_init(struct perf_zipf *z, uint64_t n, double theta)
{
	if (n == 0 || !(theta > 0) || theta > 100)
		return -EINVAL;
	z->n = n;
	z->theta = theta;
	z->h_x1 = h_int(z, 1.5) - 1;
	z->h_n = h_int(z, (double)n + 0.5);
	z->squeeze = 2 - h_int_inv(z, h_int(z, 2.5) - h(z, 2));
	/* Near n times the golden ratio's fraction: neighbouring ranks land far apart. */
	z->mult = (uint64_t)((double)n * 0.6180339887498949) | 1;
	while (z->mult >= n && n > 1)
		z->mult -= n;
	while (n > 1 && gcd(z->mult, n) != 1)
		z->mult++;
	if (n == 1)
		z->mult = 0;
	return 0;
}

uint64_t perf_zipf_rank(const struct perf_zipf *z, uint64_t *rng)
{
	for (;;) {
		/* 53 random bits: a uniform double in [0, 1). */
		double u01 = (double)(perf_rng_next(rng) >> 11) * 0x1p-53;
		double u = z->h_n + u01 * (z->h_x1 - z->h_n);
		double x = h_int_inv(z, u);
		double kd = floor(x + 0.5);
		uint64_t k;

		if (kd < 1)
			kd = 1;
		else if (kd > (double)z->n)
			kd = (double)z->n;
		k = (uint64_t)kd;
		/* Accept at once inside the squeeze, else when u lies under the histogram's step. */
		if (kd - x <= z->squeeze || u >= h_int(z, kd + 0.5) - h(z, kd))
			return k;
	}
}
