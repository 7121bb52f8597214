/* SPDX-License-Identifier: MIT */
/*
 * The sim's queue mechanics: wrap, a full CQ, batches behind one doorbell,
 * the DMA map rules, a CQ shared by two SQs, two sims side by side. Host: sim_host.h.
 */
#include "sim_host.h"

/* ---- queue mechanics ------------------------------------------------------ */

/* Queues of 2 and 3 entries wrap many times; sq_head and phase stay right. */
static void test_queue_wrap(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q2 = ioq(h, 1, 2), *q3 = ioq(h, 2, 3);
	uint8_t *buf = host_alloc(h, 512);
	unsigned i;

	for (i = 0; i < 20; i++) {
		assert_int_equal(rw(h, q2, NVME_CMD_WRITE, 1, i, 1, buf, 512), 0);
		assert_int_equal(rw(h, q3, NVME_CMD_READ, 1, i, 1, buf, 512), 0);
	}
	assert_int_equal(stats(h)->sq_doorbells >= 40, 1);
}

/* A CQ of 2 entries holds one completion: the model must wait for the head doorbell. */
static void test_cq_full(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = &h->io[1];
	struct nvme_cqe cqe;
	struct nvme_sqe sqe;
	uint16_t cid[3];
	unsigned i;

	tq_init(q, 1, 2, host_alloc(h, 4 * 64), host_alloc(h, 2 * 16));
	assert_int_equal(create_cq(h, 1, 2, q->cq, 1), 0);
	assert_int_equal(create_sq(h, 1, 4, q->sq, 1, 1), 0);
	q->size = 4; /* the SQ's size; the CQ is handled by hand below */
	for (i = 0; i < 3; i++) {
		sqe = rw_sqe(NVME_CMD_FLUSH, 1, 0, 1);
		cid[i] = post(h, q, &sqe);
	}
	ring(h, q);
	/* One completion, and nothing written over it. */
	for (i = 0; i < 3; i++) {
		uint64_t end = now_ms() + WAIT_MS;

		while (cqe_phase(&q->cq[i % 2]) != (i < 2) &&
		       now_ms() < end)
			sched_yield();
		assert_int_equal(q->cq[i % 2].status & NVME_CQE_PHASE, i < 2 ? 1 : 0);
		cqe = q->cq[i % 2];
		assert_int_equal(cqe.cid, cid[i]);
		assert_int_equal(cqe.sq_head, i + 1);
		{
			struct timespec ts = { 0, 20 * 1000000 };

			nanosleep(&ts, NULL);
		}
		assert_int_equal(q->cq[(i + 1) % 2].status & NVME_CQE_PHASE, i < 1 ? 0 : 1);
		if (i == 1)
			assert_int_equal(q->cq[0].cid, cid[0]); /* not overwritten by cid[2] */
		nvp_store_release((uint32_t *)doorbell(h, 1, 1), (i + 1) % 2); /* CQ head: we are done with the entry */
	}
}

/* A batch behind one doorbell, on several queues at once. */
static void test_batch(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q[4];
	uint8_t *buf = host_alloc(h, 16 * 512);
	struct nvme_cqe cqe;
	struct nvme_sqe sqe;
	unsigned i, j, got;

	for (j = 0; j < 4; j++)
		q[j] = ioq(h, (uint16_t)(j + 1), 32);
	for (j = 0; j < 4; j++) {
		for (i = 0; i < 16; i++) {
			sqe = rw_sqe(NVME_CMD_READ, 1, i, 1);
			prp_fill(h, &sqe, buf + i * 512, 512);
			post(h, q[j], &sqe);
		}
		ring(h, q[j]);
	}
	for (j = 0; j < 4; j++) {
		for (got = 0; got < 16 && reap(h, q[j], &cqe, WAIT_MS); got++)
			assert_int_equal(cqe.status >> NVME_CQE_STATUS_SHIFT, 0);
		assert_int_equal(got, 16);
	}
}

static void test_dma_map_rules(void **state)
{
	struct host *h = host_up(state, "");
	uint64_t io[1];
	struct tq *q;

	assert_int_equal(h->bus->ops->dma_map(h->bus, h->mem + 4096, NVP_DMA_UNIT_SIZE, io), -EINVAL);
	assert_int_equal(h->bus->ops->dma_map(h->bus, h->mem, 4096, io), -EINVAL);
	io[0] = h->iova[1];
	assert_int_equal(h->bus->ops->dma_unmap(h->bus, h->mem, NVP_DMA_UNIT_SIZE, io), -EINVAL);
	/* Unmapping the second unit (no queue there) is fine; its IOVA faults after. */
	assert_int_equal(h->bus->ops->dma_unmap(h->bus, h->mem + NVP_DMA_UNIT_SIZE, NVP_DMA_UNIT_SIZE, io),
			 0);
	q = ioq(h, 1, 4);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 1, host_alloc_unit1(h, 0), 512),
			 GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	/* Remapped, it gets a new IOVA: the old one stays dead. */
	assert_int_equal(h->bus->ops->dma_map(h->bus, h->mem + NVP_DMA_UNIT_SIZE, NVP_DMA_UNIT_SIZE,
					      &h->iova[1]), 0);
	assert_true(h->iova[1] != io[0]);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 1, host_alloc_unit1(h, 0), 512), 0);
	/* Unmapping memory live queues use: the controller fails rather than touch it. */
	io[0] = h->iova[0];
	assert_int_equal(h->bus->ops->dma_unmap(h->bus, h->mem, NVP_DMA_UNIT_SIZE, io), 0);
	assert_true(wait_csts(h, CSTS_CFS, CSTS_CFS, WAIT_MS));
	assert_int_equal(h->bus->ops->dma_map(h->bus, h->mem, NVP_DMA_UNIT_SIZE, &h->iova[0]), 0);
}

/* SQ 2 on CQ 1, then SQ 1 on the same CQ: creating SQ 1 leaves CQ 1's head alone. */
static void test_shared_cq(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q1 = &h->io[1], *q2 = &h->io[2];
	struct nvme_cqe cqe;
	struct nvme_sqe sqe;
	unsigned i;

	tq_init(q1, 1, 4, host_alloc(h, PAGE), host_alloc(h, PAGE));
	tq_init(q2, 2, 4, host_alloc(h, PAGE), q1->cq);
	assert_int_equal(create_cq(h, 1, 4, q1->cq, 1), 0);
	assert_int_equal(create_sq(h, 2, 4, q2->sq, 1, 1), 0);
	/* Three completions on CQ 1: the host's head doorbell is at 3. */
	for (i = 0; i < 3; i++) {
		sqe = rw_sqe(NVME_CMD_FLUSH, 1, 0, 1);
		submit(h, q2, &sqe);
		assert_true(reap(h, q1, &cqe, WAIT_MS));
		assert_int_equal(cqe.sq_id, 2);
	}
	assert_int_equal(create_sq(h, 1, 4, q1->sq, 1, 1), 0);
	/* If CQ 1's head had been reset, the model would count 3 free slots as used. */
	for (i = 0; i < 6; i++) {
		sqe = rw_sqe(NVME_CMD_FLUSH, 1, 0, 1);
		submit(h, i % 2 ? q1 : q2, &sqe);
		assert_true(reap(h, q1, &cqe, WAIT_MS));
		assert_int_equal(cqe.sq_id, i % 2 ? 1 : 2);
		assert_int_equal(cqe.status >> NVME_CQE_STATUS_SHIFT, 0);
	}
}

/* Two sims in one process share nothing. */
static void test_two_sims(void **state)
{
	struct host *a = host_up(state, "sn=A");
	struct host *b;
	void *bstate = NULL;
	struct tq *qa = ioq(a, 1, 4), *qb;
	uint8_t *wa = host_alloc(a, 512), *ra = host_alloc(a, 512), *rb;

	b = host_open(&bstate, "sn=B,lbads=4096");
	assert_true(host_enable(b, 4));
	qb = ioq(b, 1, 4);
	rb = host_alloc(b, 4096);
	fill(wa, 512, 9);
	assert_int_equal(rw(a, qa, NVME_CMD_WRITE, 1, 0, 1, wa, 512), 0);
	assert_int_equal(rw(b, qb, NVME_CMD_READ, 1, 0, 1, rb, 4096), 0);
	assert_int_equal(rb[0] | rb[511], 0);
	assert_int_equal(rw(a, qa, NVME_CMD_READ, 1, 0, 1, ra, 512), 0);
	assert_memory_equal(wa, ra, 512);
	assert_int_equal(stats(b)->io_cmds[NVME_CMD_WRITE], 0);
	teardown(&bstate);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SIM_TEST(test_queue_wrap),
		SIM_TEST(test_cq_full),
		SIM_TEST(test_batch),
		SIM_TEST(test_dma_map_rules),
		SIM_TEST(test_shared_cq),
		SIM_TEST(test_two_sims),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
