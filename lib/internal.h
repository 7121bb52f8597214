/* SPDX-License-Identifier: MIT */
/*
 * Library-private helpers shared by every layer: error messages, logging,
 * time, register access. Nothing here is exported.
 */
#ifndef NVP_INTERNAL_H
#define NVP_INTERNAL_H

#include <stdint.h>
#include <time.h>

#define NVP_LIKELY(x) __builtin_expect(!!(x), 1)
#define NVP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NVP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NVP_ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define NVP_COLD __attribute__((cold, noinline))
#define NVP_PRINTF(f, a) __attribute__((format(printf, f, a)))
/* Marks the public API: everything else stays hidden (-fvisibility=hidden). */
#define NVP_API __attribute__((visibility("default")))

/*
 * Record why the calling thread's last call failed (nvp_errmsg() returns it)
 * and return @err, so error paths read `return nvp_set_error(-EINVAL, ...)`.
 * The message should say what to do, not only what failed.
 */
int nvp_set_error(int err, const char *fmt, ...) NVP_PRINTF(2, 3) NVP_COLD;
/* Prefix the current message with more context ("open 0000:00:05.0: ..."). */
int nvp_prefix_error(int err, const char *fmt, ...) NVP_PRINTF(2, 3) NVP_COLD;

/* Diagnostics on stderr, filtered by $NVP_LOG (error, warn, info, debug; default warn). */
enum nvp_log_level { NVP_LOG_ERROR, NVP_LOG_WARN, NVP_LOG_INFO, NVP_LOG_DEBUG };
void nvp_log(enum nvp_log_level level, const char *fmt, ...) NVP_PRINTF(2, 3) NVP_COLD;

static inline uint64_t nvp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Controller registers. 64-bit registers are accessed as two 32-bit halves, low first. */
static inline uint32_t nvp_reg_read32(volatile uint8_t *bar, unsigned off)
{
	return *(volatile uint32_t *)(bar + off);
}

static inline void nvp_reg_write32(volatile uint8_t *bar, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(bar + off) = v;
}

static inline uint64_t nvp_reg_read64(volatile uint8_t *bar, unsigned off)
{
	uint64_t lo = nvp_reg_read32(bar, off);

	return lo | (uint64_t)nvp_reg_read32(bar, off + 4) << 32;
}

static inline void nvp_reg_write64(volatile uint8_t *bar, unsigned off, uint64_t v)
{
	nvp_reg_write32(bar, off, (uint32_t)v);
	nvp_reg_write32(bar, off + 4, (uint32_t)(v >> 32));
}

#endif /* NVP_INTERNAL_H */
