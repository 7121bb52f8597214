/* SPDX-License-Identifier: MIT */
/*
 * One command, waited for: the struct a test passes as the callback
 * argument, the callback that fills it, and the poll loop that waits for
 * it. Shared by test/unit and test/vm (built with -Itest). examples/ keep
 * their own few lines on purpose: each is a program to read alone.
 */
#ifndef NVP_TEST_SYNC_IO_H
#define NVP_TEST_SYNC_IO_H

#include <sched.h>
#include <stdint.h>
#include <time.h>

#include <nvpoll.h>

/* Completions seen, the last error, and the last one's status and dw0. */
struct done {
	int n, err;
	uint16_t status;
	uint32_t dw0;
};

/* nvp_cb: count the completion; an error, once seen, stays. */
static inline void on_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct done *d = (struct done *)arg;

	d->n++;
	if (err)
		d->err = err;
	d->status = nvp_cqe_status(cqe);
	d->dw0 = cqe->dw0;
}

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Poll until @d completes or @ms pass; returns whether it completed. */
static inline int wait_done(struct nvp_qpair *qp, struct done *d, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (!d->n && now_ms() < end)
		if (!nvp_qpair_poll(qp, 0))
			sched_yield(); /* let the sim's thread run on a loaded (or valgrind's) CPU */
	return d->n;
}

#endif /* NVP_TEST_SYNC_IO_H */
