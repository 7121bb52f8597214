/* SPDX-License-Identifier: MIT */
/*
 * The sim's Doorbell Buffer Config: shadow doorbells and EventIdx as the
 * model reads and writes them, reset, and a host that follows the protocol.
 * Host: sim_host.h, plus the shadow-buffer helpers here.
 */
#include "sim_host.h"

/* ---- the host's side of the shadow buffers ------------------------------- */

static void quiet(void)
{
	struct timespec ts = { 0, QUIET_MS * 1000000l };

	nanosleep(&ts, NULL);
}

static bool wait_val(const uint32_t *p, uint32_t v, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	do {
		if (ld(p) == v)
			return true;
		sched_yield();
	} while (now_ms() < end);
	return false;
}

static int dbbuf_config(struct host *h, uint64_t dbs, uint64_t eis)
{
	struct nvme_sqe sqe = { .opc = NVME_ADMIN_DBBUF_CONFIG, .prp1 = dbs, .prp2 = eis };

	return run(h, &h->aq, &sqe, NULL);
}

/* Give the model zeroed doorbell buffers, as the driver does before creating I/O queues. */
static void dbbuf_up(struct host *h)
{
	h->dbs = host_alloc(h, PAGE);
	h->eis = host_alloc(h, PAGE);
	assert_int_equal(dbbuf_config(h, iova(h, h->dbs), iova(h, h->eis)), 0);
}

/* Queue @qid's word in a doorbell buffer: laid out like the registers. */
static uint32_t *dbbuf_slot(struct host *h, uint32_t *buf, uint16_t qid, int cq)
{
	return buf + (2u * qid + (unsigned)cq) * (1u << h->dstrd);
}

/* From now on the host drives @q through its shadow doorbells. */
static void tq_shadow(struct host *h, struct tq *q)
{
	q->sq_sh = dbbuf_slot(h, h->dbs, q->qid, 0);
	q->cq_sh = dbbuf_slot(h, h->dbs, q->qid, 1);
	q->sq_ei = dbbuf_slot(h, h->eis, q->qid, 0);
	q->cq_ei = dbbuf_slot(h, h->eis, q->qid, 1);
}

static uint16_t post_flush(struct host *h, struct tq *q)
{
	struct nvme_sqe sqe = rw_sqe(NVME_CMD_FLUSH, 1, 0, 1);

	return post(h, q, &sqe);
}

/* For a CQ consumed by hand: the cid of the entry at @slot once it has @phase, or -1. */
static int cq_wait(struct tq *q, unsigned slot, unsigned phase)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (cqe_phase(&q->cq[slot]) != phase)
		if (now_ms() > end)
			return -1;
		else
			sched_yield();
	assert_int_equal(q->cq[slot].status >> NVME_CQE_STATUS_SHIFT, 0);
	return q->cq[slot].cid;
}

/* A new CQ head in the shadow and the register. */
static void cq_free(struct host *h, struct tq *q, uint32_t head)
{
	st(q->cq_sh, head);
	st((uint32_t *)doorbell(h, q->qid, 1), head);
}

/* An SQ of 8 on a CQ of 2: the model stops after each command until the host frees the CQ slot. */
static struct tq *ioq_cq2(struct host *h)
{
	struct tq *q = &h->io[1];

	tq_init(q, 1, 8, host_alloc(h, PAGE), host_alloc(h, PAGE));
	assert_int_equal(create_cq(h, 1, 2, q->cq, NVME_QUEUE_PHYS_CONTIG), 0);
	assert_int_equal(create_sq(h, 1, 8, q->sq, 1, NVME_QUEUE_PHYS_CONTIG), 0);
	tq_shadow(h, q);
	return q;
}

/* ---- Doorbell Buffer Config ----------------------------------------------- */

static void test_dbbuf_offered(void **state)
{
	struct host *h = host_up(state, "");
	struct nvme_id_ctrl *c = host_alloc(h, 4096);
	uint8_t *pg;

	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 0, NVME_ID_CNS_CTRL, 0, c, 4096, NULL), 0);
	assert_int_equal(c->oacs & NVME_OACS_DBBUF, NVME_OACS_DBBUF);
	teardown(state);

	h = host_up(state, "dbbuf=0");
	c = host_alloc(h, 4096);
	pg = host_alloc(h, 2 * PAGE);
	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 0, NVME_ID_CNS_CTRL, 0, c, 4096, NULL), 0);
	assert_int_equal(c->oacs & NVME_OACS_DBBUF, 0);
	assert_int_equal(dbbuf_config(h, iova(h, pg), iova(h, pg + PAGE)), GEN_DNR(NVME_SC_INVALID_OPCODE));
}

/* Bad buffers change nothing: the registers alone go on, EventIdx untouched. */
static void test_dbbuf_config_checks(void **state)
{
	struct host *h = host_up(state, "");
	uint32_t *dbs = host_alloc(h, PAGE), *eis = host_alloc(h, PAGE);
	uint64_t d = iova(h, dbs), e = iova(h, eis), io[1];
	struct tq *q;

	assert_int_equal(dbbuf_config(h, d + 64, e), GEN_DNR(NVME_SC_INVALID_FIELD));
	assert_int_equal(dbbuf_config(h, d, e + 4), GEN_DNR(NVME_SC_INVALID_FIELD));
	assert_int_equal(dbbuf_config(h, 0, e), GEN_DNR(NVME_SC_INVALID_FIELD));
	assert_int_equal(dbbuf_config(h, d, 0), GEN_DNR(NVME_SC_INVALID_FIELD));
	assert_int_equal(dbbuf_config(h, d, 0x100000), GEN_DNR(NVME_SC_INVALID_FIELD));
	/* Aligned, but in the IOVA hole after a unit: not mapped. */
	assert_int_equal(dbbuf_config(h, h->iova[0] + NVP_DMA_UNIT_SIZE, e), GEN_DNR(NVME_SC_INVALID_FIELD));
	h->dbs = dbs;
	h->eis = eis;
	*dbbuf_slot(h, eis, 1, 0) = *dbbuf_slot(h, eis, 1, 1) = 0xdead;
	q = ioq(h, 1, 8);
	assert_int_equal(rw(h, q, NVME_CMD_FLUSH, 1, 0, 1, NULL, 0), 0);
	assert_int_equal(rw(h, q, NVME_CMD_FLUSH, 1, 0, 1, NULL, 0), 0);
	quiet();
	assert_int_equal(ld(dbbuf_slot(h, eis, 1, 0)), 0xdead);
	assert_int_equal(ld(dbbuf_slot(h, eis, 1, 1)), 0xdead);

	/* Buffers in use are like queue memory: unmapping them fails the controller. */
	d = iova(h, host_alloc_unit1(h, 0));
	assert_int_equal(dbbuf_config(h, d, d + PAGE), 0);
	io[0] = h->iova[1];
	assert_int_equal(h->bus->ops->dma_unmap(h->bus, host_alloc_unit1(h, 0), NVP_DMA_UNIT_SIZE, io), 0);
	assert_true(wait_csts(h, CSTS_CFS, CSTS_CFS, WAIT_MS));
}

/* An SQ at rest wakes for a register write only; shadow-only entries wait for one. */
static void test_dbbuf_sq_wakes_on_register(void **state)
{
	struct host *h = host_up(state, "");
	struct nvme_cqe cqe;
	struct tq *q;
	uint64_t rings;
	uint16_t cid[2];

	dbbuf_up(h);
	q = ioq(h, 1, 8);
	tq_shadow(h, q);
	rings = stats(h)->sq_doorbells;
	assert_int_equal(rw(h, q, NVME_CMD_FLUSH, 1, 0, 1, NULL, 0), 0);
	assert_true(wait_val(q->sq_ei, 1, WAIT_MS));
	assert_int_equal(stats(h)->sq_doorbells, rings + 1);

	cid[0] = post_flush(h, q);
	cid[1] = post_flush(h, q);
	st(q->sq_sh, q->tail);
	assert_false(reap(h, q, &cqe, QUIET_MS));
	assert_int_equal(stats(h)->sq_shadow_reads, 0);
	st((uint32_t *)doorbell(h, 1, 0), q->tail);
	q->rung = q->tail;
	assert_true(reap(h, q, &cqe, WAIT_MS));
	assert_int_equal(cqe.cid, cid[0]);
	assert_true(reap(h, q, &cqe, WAIT_MS));
	assert_int_equal(cqe.cid, cid[1]);
	assert_true(wait_val(q->sq_ei, 3, WAIT_MS));
	assert_int_equal(stats(h)->sq_doorbells, rings + 2);
	assert_int_equal(stats(h)->sq_shadow_reads, 0);

	/* A register written without its shadow is a host bug: the register value wins. */
	cid[0] = post_flush(h, q);
	st((uint32_t *)doorbell(h, 1, 0), q->tail);
	assert_true(reap(h, q, &cqe, WAIT_MS));
	assert_int_equal(cqe.cid, cid[0]);
	assert_true(wait_val(q->sq_ei, 4, WAIT_MS));
}

/* Three commands published in the shadow, one register write for them: the first completes. */
static void post_three_ring_once(struct host *h, struct tq *q, uint16_t *cid)
{
	for (unsigned i = 0; i < 3; i++)
		cid[i] = post_flush(h, q);
	st(q->sq_sh, 3);
	st((uint32_t *)doorbell(h, 1, 0), 3);
	assert_int_equal(cq_wait(q, 0, 1), cid[0]);
}

/* While it works through an SQ the model sets EventIdx to the tail it read, then reads the shadow. */
static void test_dbbuf_sq_eventidx(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q;
	uint64_t rings;
	uint16_t cid[5];

	dbbuf_up(h);
	q = ioq_cq2(h);
	st(q->sq_ei, 0xdead);
	rings = stats(h)->sq_doorbells;
	post_three_ring_once(h, q, cid);
	assert_true(wait_val(q->sq_ei, 3, WAIT_MS));
	quiet();
	assert_int_equal(cqe_phase(&q->cq[1]), 0); /* the CQ is full */

	/* Two more in the shadow alone: the busy queue picks them up after its next command. */
	cid[3] = post_flush(h, q);
	cid[4] = post_flush(h, q);
	st(q->sq_sh, 5);
	cq_free(h, q, 1);
	assert_int_equal(cq_wait(q, 1, 1), cid[1]);
	quiet();
	assert_int_equal(ld(q->sq_ei), 3);
	assert_int_equal(stats(h)->sq_shadow_reads, 1);
	cq_free(h, q, 0);
	assert_int_equal(cq_wait(q, 0, 0), cid[2]);
	assert_true(wait_val(q->sq_ei, 5, WAIT_MS));
	cq_free(h, q, 1);
	assert_int_equal(cq_wait(q, 1, 0), cid[3]);
	cq_free(h, q, 0);
	assert_int_equal(cq_wait(q, 0, 1), cid[4]);
	cq_free(h, q, 1);
	quiet();
	assert_int_equal(cqe_phase(&q->cq[1]), 0);
	assert_int_equal(stats(h)->sq_doorbells, rings + 1);
	assert_int_equal(stats(h)->sq_shadow_reads, 1);
	assert_int_equal(ld(q->sq_ei), 5);
}

/*
 * Before each completion the model sets the CQ's EventIdx to the head it
 * knows and reads the shadow head; a CQ found full waits for an event.
 */
static void test_dbbuf_cq_shadow_head(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q;
	uint64_t cq_rings;
	uint16_t cid[4];

	dbbuf_up(h);
	q = ioq_cq2(h);
	st(q->cq_ei, 0xdead);
	post_three_ring_once(h, q, cid);
	assert_int_equal(ld(q->cq_ei), 0);
	quiet();
	assert_int_equal(cqe_phase(&q->cq[1]), 0);
	cq_rings = stats(h)->cq_doorbells; /* the admin CQ's last head is seen by now */

	/* The head moves in the shadow alone: the full CQ is not looked at again... */
	st(q->cq_sh, 1);
	quiet();
	assert_int_equal(cqe_phase(&q->cq[1]), 0);
	assert_int_equal(stats(h)->cq_shadow_reads, 0);
	/* ... until an event: new work, whose completion the model goes to post. */
	cid[3] = post_flush(h, q);
	st(q->sq_sh, 4);
	st((uint32_t *)doorbell(h, 1, 0), 4);
	assert_int_equal(cq_wait(q, 1, 1), cid[1]);
	assert_int_equal(ld(q->cq_ei), 1);
	assert_int_equal(stats(h)->cq_shadow_reads, 1);
	assert_int_equal(stats(h)->cq_doorbells, cq_rings);

	/* A head register write is an event too. */
	cq_free(h, q, 0);
	assert_int_equal(cq_wait(q, 0, 0), cid[2]);
	assert_int_equal(ld(q->cq_ei), 0);
	cq_free(h, q, 1);
	assert_int_equal(cq_wait(q, 1, 0), cid[3]);
	assert_int_equal(ld(q->cq_ei), 1);
	assert_int_equal(stats(h)->cq_doorbells, cq_rings + 2);
	assert_int_equal(stats(h)->cq_shadow_reads, 1);
}

/* A reset forgets the buffers: registers only, until they are given again. */
static void test_dbbuf_reset(void **state)
{
	struct host *h = host_up(state, "");
	uint32_t *ei1;
	struct tq *q;
	unsigned i;

	dbbuf_up(h);
	q = ioq(h, 1, 8);
	tq_shadow(h, q);
	assert_int_equal(rw(h, q, NVME_CMD_FLUSH, 1, 0, 1, NULL, 0), 0);
	assert_true(wait_val(q->sq_ei, 1, WAIT_MS));
	host_disable(h);
	assert_true(host_enable(h, 32));

	q = ioq(h, 1, 8);
	ei1 = dbbuf_slot(h, h->eis, 1, 0);
	st(ei1, 0xdead);
	st(dbbuf_slot(h, h->eis, 1, 1), 0xdead);
	st(dbbuf_slot(h, h->dbs, 1, 0), 7); /* a shadow tail that would be wrong */
	for (i = 0; i < 3; i++)
		assert_int_equal(rw(h, q, NVME_CMD_FLUSH, 1, 0, 1, NULL, 0), 0);
	quiet();
	assert_int_equal(ld(ei1), 0xdead);
	assert_int_equal(ld(dbbuf_slot(h, h->eis, 1, 1)), 0xdead);
	assert_int_equal(stats(h)->sq_shadow_reads, 0);

	/* Given again (zeroed, before the queue is created, as the driver does), used again. */
	memset(h->dbs, 0, PAGE);
	memset(h->eis, 0, PAGE);
	assert_int_equal(dbbuf_config(h, iova(h, h->dbs), iova(h, h->eis)), 0);
	q = ioq(h, 2, 8);
	tq_shadow(h, q);
	st(q->cq_ei, 5); /* the model writes 0, the head it knows, before posting */
	assert_int_equal(rw(h, q, NVME_CMD_FLUSH, 1, 0, 1, NULL, 0), 0);
	assert_true(wait_val(q->sq_ei, 1, WAIT_MS));
	assert_int_equal(ld(q->cq_ei), 0);
}

/* A host that follows EventIdx as the driver does never hangs, on queues of any fill. */
static void test_dbbuf_host_protocol(void **state)
{
	struct host *h = host_up(state, "dstrd=1");
	struct nvme_cqe cqe;
	struct tq *q[2];
	unsigned round, j, i, n[2];

	dbbuf_up(h);
	for (j = 0; j < 2; j++) {
		q[j] = ioq(h, (uint16_t)(j + 1), 16);
		tq_shadow(h, q[j]);
	}
	for (round = 0; round < 300; round++) {
		for (j = 0; j < 2; j++) {
			n[j] = 1 + (round * 7 + j * 5) % 15;
			for (i = 0; i < n[j]; i++) {
				post_flush(h, q[j]);
				if (i % 4 == 3)
					ring(h, q[j]);
			}
			ring(h, q[j]);
		}
		for (j = 0; j < 2; j++) {
			for (i = 0; i < n[j]; i++) {
				assert_true(reap(h, q[j], &cqe, WAIT_MS));
				assert_int_equal(cqe.status >> NVME_CQE_STATUS_SHIFT, 0);
			}
		}
	}
	assert_false(reap(h, q[0], &cqe, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SIM_TEST(test_dbbuf_offered),
		SIM_TEST(test_dbbuf_config_checks),
		SIM_TEST(test_dbbuf_sq_wakes_on_register),
		SIM_TEST(test_dbbuf_sq_eventidx),
		SIM_TEST(test_dbbuf_cq_shadow_head),
		SIM_TEST(test_dbbuf_reset),
		SIM_TEST(test_dbbuf_host_protocol),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
