/*
 * The inline hot path on a queue pair with no device behind it: the test
 * plays the controller by writing CQ entries itself. Covers index wrap and
 * phase flip at tiny sizes, slot exhaustion, doorbell batching, and CQEs
 * with cids that must not be trusted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nvme/nvme.h"

struct fake {
	struct nvp_bus bus;
	struct nvp_dev dev;
	struct nvp_qpair qp;
	struct nvme_sqe sq[64];
	struct nvme_cqe cq[64];
	uint32_t sq_db, cq_db;
	unsigned gen;
	uint16_t dev_cq_tail; /* the "controller" side */
	uint16_t dev_phase;
	int calls, last_err;
	uint16_t last_cid;
};

static struct fake *fake_new(unsigned size)
{
	struct fake *f = calloc(1, sizeof(*f));

	snprintf(f->bus.name, sizeof(f->bus.name), "fake");
	f->dev.bus = &f->bus;
	f->qp.dev = &f->dev;
	f->qp.size = (uint16_t)size;
	f->qp.sq = f->sq;
	f->qp.cq = f->cq;
	f->qp.sq_db = &f->sq_db;
	f->qp.cq_db = &f->cq_db;
	f->qp.phase = 1;
	f->qp.dev_gen = &f->gen;
	f->dev_phase = 1;
	f->qp.reqs_mem = aligned_alloc(64, NVP__FREE_CIDS_BYTES(size - 1) + (size - 1) * sizeof(*f->qp.reqs));
	f->qp.reqs = f->qp.reqs_mem ? (struct nvp_req *)(void *)((char *)f->qp.reqs_mem + NVP__FREE_CIDS_BYTES(size - 1)) : NULL;
	memset(f->qp.reqs, 0, (size - 1) * sizeof(*f->qp.reqs));
	nvp__free_reset(&f->qp);
	return f;
}

static void fake_free(struct fake *f)
{
	free(f->qp.reqs_mem);
	free(f);
}

static void on_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct fake *f = arg;

	f->calls++;
	f->last_err = err;
	f->last_cid = cqe->cid;
}

/* Post one command the way io.c does; returns its cid or -1 when full. */
static int post(struct fake *f)
{
	struct nvme_sqe sqe = { .opc = NVME_CMD_READ };
	struct nvp_req *req;
	uint16_t cid;

	req = nvp__req_get(&f->qp, &cid);
	if (!req)
		return -1;
	req->cb = on_done;
	req->arg = f;
	sqe.cid = cid;
	nvp__sq_post(&f->qp, &sqe);
	return cid;
}

/* The controller completes @cid with @status (15-bit field). */
static void complete(struct fake *f, uint16_t cid, uint16_t status)
{
	struct nvme_cqe *e = &f->cq[f->dev_cq_tail];

	e->cid = cid;
	e->sq_head = 0;
	e->status = (uint16_t)(status << 1 | f->dev_phase);
	if (++f->dev_cq_tail == f->qp.size) {
		f->dev_cq_tail = 0;
		f->dev_phase ^= 1;
	}
}

static void test_wrap(void **state, unsigned size)
{
	struct fake *f = fake_new(size);
	(void)state;

	/* Many rounds: the indices wrap and the phase flips many times. */
	for (unsigned round = 0; round < 10 * size; round++) {
		int cid = post(f);

		assert_true(cid >= 0);
		nvp_qpair_ring(&f->qp);
		assert_int_equal(f->sq_db, (round + 1) % size);
		assert_int_equal(nvp_qpair_poll(&f->qp, 0), 0); /* nothing yet */
		complete(f, (uint16_t)cid, 0);
		assert_int_equal(nvp_qpair_poll(&f->qp, 0), 1);
		assert_int_equal(f->calls, round + 1);
		assert_int_equal(f->last_cid, cid);
		assert_int_equal(f->cq_db, (round + 1) % size);
		assert_int_equal(f->qp.phase, ((round + 1) / size) % 2 ? 0 : 1);
	}
	assert_int_equal(nvp__outstanding(&f->qp), 0);
	fake_free(f);
}

static void test_wrap_size2(void **state) { test_wrap(state, 2); }
static void test_wrap_size3(void **state) { test_wrap(state, 3); }
static void test_wrap_size64(void **state) { test_wrap(state, 64); }

static void test_full(void **state)
{
	struct fake *f = fake_new(4);
	(void)state;

	/* size 4: three slots, the fourth post finds none. */
	assert_int_equal(post(f), 0);
	assert_int_equal(post(f), 1);
	assert_int_equal(post(f), 2);
	assert_int_equal(post(f), -1);
	assert_int_equal(nvp__outstanding(&f->qp), 3);
	/* Out-of-order completion frees exactly that slot. */
	complete(f, 1, 0);
	assert_int_equal(nvp_qpair_poll(&f->qp, 0), 1);
	assert_int_equal(post(f), 1);
	fake_free(f);
}

static void test_doorbell_batching(void **state)
{
	struct fake *f = fake_new(64);
	struct nvp_qpair_stats st;
	int cids[16];
	(void)state;

	for (int i = 0; i < 16; i++)
		cids[i] = post(f);
	assert_int_equal(f->sq_db, 0); /* posting alone does not ring */
	assert_int_equal(nvp_qpair_poll(&f->qp, 0), 0); /* poll rings first */
	assert_int_equal(f->sq_db, 16);
	nvp_qpair_ring(&f->qp); /* nothing new: no second write */
	for (int i = 0; i < 16; i++)
		complete(f, (uint16_t)cids[i], 0);
	/* A capped batch leaves the rest for the next poll. */
	assert_int_equal(nvp_qpair_poll(&f->qp, 10), 10);
	assert_int_equal(nvp_qpair_poll(&f->qp, 0), 6);
	nvp_qpair_stats(&f->qp, &st);
	assert_int_equal(st.submitted, 16);
	assert_int_equal(st.sq_doorbells, 1);
	assert_int_equal(st.completed, 16);
	assert_int_equal(st.cq_doorbells, 2);
	assert_int_equal(st.polls, 3);
	assert_int_equal(st.polls_empty, 1);
	fake_free(f);
}

static void test_error_status(void **state)
{
	struct fake *f = fake_new(8);
	int cid = post(f);
	(void)state;

	complete(f, (uint16_t)cid, NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE) | NVME_STATUS_DNR);
	nvp_qpair_poll(&f->qp, 0);
	assert_int_equal(f->last_err, -EIO);
	/* DNR or More alone with a success code is still success. */
	cid = post(f);
	complete(f, (uint16_t)cid, NVME_STATUS_MORE);
	nvp_qpair_poll(&f->qp, 0);
	assert_int_equal(f->last_err, 0);
	/* A success for a command past its deadline (the periodic check flagged it) is -ETIMEDOUT ... */
	cid = post(f);
	f->qp.reqs[cid].flags = NVP_REQ_TIMED_OUT | NVP_REQ_ABORTED;
	f->qp.reqs[cid].busy = NVP_REQ_STAMPED;
	complete(f, (uint16_t)cid, 0);
	nvp_qpair_poll(&f->qp, 0);
	assert_int_equal(f->last_err, -ETIMEDOUT);
	/* ... and the flags go with the slot: its next command succeeds. */
	assert_int_equal(post(f), cid);
	complete(f, (uint16_t)cid, 0);
	nvp_qpair_poll(&f->qp, 0);
	assert_int_equal(f->last_err, 0);
	assert_int_equal(f->calls, 4);
	fake_free(f);
}

static void test_bad_cid(void **state)
{
	struct fake *f = fake_new(8);
	int cid = post(f);
	(void)state;

	complete(f, 7, 0);		/* beyond the 7 slots (0..6) */
	complete(f, 3, 0);		/* in range but idle */
	complete(f, (uint16_t)cid, 0);	/* the real one */
	complete(f, (uint16_t)cid, 0);	/* ... completed twice */
	assert_int_equal(nvp_qpair_poll(&f->qp, 0), 4);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->qp.stats.bad_cqes, 3);
	assert_int_equal(nvp__outstanding(&f->qp), 0);
	/* The free list is intact: all 7 slots can be taken again. */
	for (int i = 0; i < 7; i++)
		assert_true(post(f) >= 0);
	assert_int_equal(post(f), -1);
	fake_free(f);
}

/* A wild SQ head is never used as an index; the periodic check counts it. */
static void test_wild_sq_head(void **state)
{
	struct fake *f = fake_new(8);
	uint32_t *bar = calloc(1, 0x2000); /* CSTS reads 0: a healthy controller */
	int cid;
	(void)state;

	f->bus.bar0 = (volatile uint8_t *)bar;
	f->qp.qid = 1; /* the periodic check skips the admin queue */
	cid = post(f);
	complete(f, (uint16_t)cid, 0);
	f->cq[0].sq_head = 999;
	assert_int_equal(nvp_qpair_poll(&f->qp, 0), 1);
	assert_int_equal(f->calls, 1); /* the cid was good: delivered */
	for (int i = 0; i < 200; i++)
		nvp_qpair_poll(&f->qp, 0); /* the 128th poll runs the check */
	assert_int_equal(f->qp.stats.bad_cqes, 1);
	assert_int_equal(f->qp.sq_head, 0);
	free(bar);
	fake_free(f);
}

static void resubmit(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct fake *f = arg;

	on_done(arg, err, cqe);
	if (f->calls < 5) {
		int cid = post(f);

		assert_int_equal(cid, 0); /* the only slot, freed before this callback */
		f->qp.reqs[cid].cb = resubmit;
	}
}

static void test_callback_resubmits(void **state)
{
	struct fake *f = fake_new(2); /* one slot: resubmitting needs it freed first */
	uint16_t cid;
	struct nvp_req *req = nvp__req_get(&f->qp, &cid);
	struct nvme_sqe sqe = { .cid = cid };
	(void)state;

	req->cb = resubmit;
	req->arg = f;
	nvp__sq_post(&f->qp, &sqe);
	for (int i = 0; i < 5; i++) {
		complete(f, 0, 0);
		assert_int_equal(nvp_qpair_poll(&f->qp, 0), 1);
	}
	assert_int_equal(f->calls, 5);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_size2),
		cmocka_unit_test(test_wrap_size3),
		cmocka_unit_test(test_wrap_size64),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_doorbell_batching),
		cmocka_unit_test(test_error_status),
		cmocka_unit_test(test_bad_cid),
		cmocka_unit_test(test_wild_sq_head),
		cmocka_unit_test(test_callback_resubmits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
