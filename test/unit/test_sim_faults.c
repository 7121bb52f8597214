/* SPDX-License-Identifier: MIT */
/*
 * The sim's injected faults: fatal status, never ready, drop and delay,
 * error status, bad CQEs, surprise removal, and the injection API's checks. Host: sim_host.h.
 */
#include "sim_host.h"

/* ---- faults ------------------------------------------------------------- */

static void test_fault_fatal(void **state)
{
	struct host *h = host_up(state, "");
	struct nvme_sqe sqe = { .opc = NVME_ADMIN_KEEP_ALIVE };
	struct nvme_cqe cqe;

	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_FATAL });
	submit(h, &h->aq, &sqe);
	assert_true(wait_csts(h, CSTS_CFS, CSTS_CFS, WAIT_MS));
	assert_false(reap(h, &h->aq, &cqe, QUIET_MS));
	assert_true(stats(h)->faults_hit == 1);
	/* Reset and bring-up work again; the fault was one-shot. */
	host_disable(h);
	assert_int_equal(reg32(h, NVME_REG_CSTS) & CSTS_CFS, 0);
	assert_true(host_enable(h, 4));
	assert_int_equal(admin(h, NVME_ADMIN_KEEP_ALIVE, 0, 0, NULL), 0);
}

static void test_fault_never_ready(void **state)
{
	struct host *h = host_open(state, "");

	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_NEVER_READY });
	host_start(h, 4);
	assert_false(wait_csts(h, CSTS_RDY, CSTS_RDY, QUIET_MS));
	nvp_sim_clear(h->sim);
	assert_true(wait_csts(h, CSTS_RDY, CSTS_RDY, WAIT_MS));
	assert_int_equal(admin(h, NVME_ADMIN_KEEP_ALIVE, 0, 0, NULL), 0);
}

/*
 * A host that gives up on an enable writes EN = 0 and, RDY being 0 already,
 * unmaps the admin queue at once: the sim takes the disable as done first
 * rather than failing the controller for unmapping live queue memory.
 */
static void test_unmap_after_disable(void **state)
{
	struct host *h = host_open(state, "");
	uint64_t io[1] = { 0 };

	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_NEVER_READY });
	host_start(h, 4);
	assert_false(wait_csts(h, CSTS_RDY, CSTS_RDY, QUIET_MS));
	wreg32(h, NVME_REG_CC, cc_value(h, 0));
	io[0] = h->iova[0];
	assert_int_equal(h->bus->ops->dma_unmap(h->bus, h->mem, NVP_DMA_UNIT_SIZE, io), 0);
	assert_int_equal(reg32(h, NVME_REG_CSTS) & CSTS_CFS, 0);
	assert_int_equal(stats(h)->resets, 1);
}

static void test_fault_drop_delay(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	uint64_t t0, hits;
	uint16_t cid;

	/* Drop only Flush; a Write Zeroes next to it completes. */
	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_DROP,
					  .match = { .filter = NVP_SIM_MATCH_OPC | NVP_SIM_MATCH_IO,
						     .opcode = NVME_CMD_FLUSH } });
	sqe = rw_sqe(NVME_CMD_FLUSH, 1, 0, 1);
	submit(h, q, &sqe);
	sqe = rw_sqe(NVME_CMD_WRITE_ZEROES, 1, 0, 1);
	cid = submit(h, q, &sqe);
	assert_true(reap(h, q, &cqe, WAIT_MS));
	assert_int_equal(cqe.cid, cid);
	assert_false(reap(h, q, &cqe, QUIET_MS));

	/* Delay the 2nd I/O command from now by 150 ms; only that one. */
	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_DELAY, .delay_ms = 150,
					  .match = { .filter = NVP_SIM_MATCH_IO, .nth = 2 } });
	hits = stats(h)->faults_hit;
	assert_int_equal(rw(h, q, NVME_CMD_WRITE_ZEROES, 1, 0, 1, NULL, 0), 0);
	assert_int_equal(stats(h)->faults_hit, hits);
	t0 = now_ms();
	assert_int_equal(rw(h, q, NVME_CMD_WRITE_ZEROES, 1, 0, 1, NULL, 0), 0);
	assert_true(now_ms() - t0 >= 150);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE_ZEROES, 1, 0, 1, NULL, 0), 0);
	assert_int_equal(stats(h)->faults_hit, hits + 1);
}

static void test_fault_status(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *buf = host_alloc(h, 4096);
	uint16_t media = ST(NVME_SCT_MEDIA, NVME_SC_READ_ERROR);
	unsigned i;

	/* The 3rd command from now, once, retryable (no DNR). */
	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_STATUS,
					  .status = ST(NVME_SCT_GENERIC, NVME_SC_INTERNAL),
					  .match = { .nth = 3 } });
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 1, buf, 512), 0);
	assert_int_equal(admin(h, NVME_ADMIN_KEEP_ALIVE, 0, 0, NULL), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 1, buf, 512),
			 ST(NVME_SCT_GENERIC, NVME_SC_INTERNAL));
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 1, buf, 512), 0);

	/* A bad LBA range on namespace 1, for good, with DNR: a written block is not touched. */
	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_STATUS, .status = media | NVME_STATUS_DNR,
					  .match = { .filter = NVP_SIM_MATCH_LBA, .nsid = 1, .slba = 100,
						     .nlb = 8, .count = NVP_SIM_ALWAYS } });
	for (i = 0; i < 3; i++) {
		assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 96, 8, buf, 4096), media | NVME_STATUS_DNR);
		assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 107, 1, buf, 512), media | NVME_STATUS_DNR);
	}
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 92, 8, buf, 4096), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 108, 8, buf, 4096), 0);
	nvp_sim_clear(h->sim);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 96, 8, buf, 4096), 0);
}

static void test_fault_bad_cqes(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	struct nvme_sqe sqe = rw_sqe(NVME_CMD_FLUSH, 1, 0, 1);
	struct nvme_cqe cqe;
	uint16_t cid;

	/* Unknown cid: an extra CQE, then the real one. */
	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_BAD_CID,
					  .match = { .filter = NVP_SIM_MATCH_QID, .qid = 1 } });
	cid = submit(h, q, &sqe);
	assert_true(reap(h, q, &cqe, WAIT_MS));
	assert_int_equal(cqe.cid, 0xffff);
	assert_true(reap(h, q, &cqe, WAIT_MS));
	assert_int_equal(cqe.cid, cid);
	assert_int_equal(cqe.status >> NVME_CQE_STATUS_SHIFT, 0);

	/* Wrong phase: the CQE is written but the host never sees it. */
	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_BAD_PHASE });
	sqe = rw_sqe(NVME_CMD_FLUSH, 1, 0, 1);
	cid = submit(h, q, &sqe);
	assert_false(reap(h, q, &cqe, QUIET_MS));
	assert_int_equal(q->cq[q->head].cid, cid);
	assert_int_equal(q->cq[q->head].status & NVME_CQE_PHASE, q->phase ^ 1);
}

static void test_fault_remove(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	struct nvme_sqe sqe = rw_sqe(NVME_CMD_FLUSH, 1, 0, 1);
	struct nvme_cqe cqe;
	struct nvp_sim_fault f = { .type = NVP_SIM_FAULT_REMOVE };
	uint64_t end;

	inject(h, f);
	assert_int_equal(reg32(h, NVME_REG_CSTS), 0xffffffff);
	assert_int_equal(nvp_reg_read64(h->bar, NVME_REG_CAP), ~0ull);
	assert_int_equal(reg32(h, NVME_REG_VS), 0xffffffff);
	/* The host's own stores read back as all ones soon after. */
	wreg32(h, NVME_REG_CC, 0);
	submit(h, q, &sqe);
	end = now_ms() + WAIT_MS;
	while ((reg32(h, NVME_REG_CC) != ~0u || *doorbell(h, 1, 0) != ~0u) && now_ms() < end)
		sched_yield();
	assert_int_equal(reg32(h, NVME_REG_CC), 0xffffffff);
	assert_int_equal(*doorbell(h, 1, 0), 0xffffffff);
	assert_false(reap(h, q, &cqe, QUIET_MS));
	assert_int_equal(nvp_sim_inject(h->sim, &f), -ENODEV);
}

static void test_fault_api_checks(void **state)
{
	struct host *h = host_open(state, "");
	struct nvp_sim_fault f = { .type = NVP_SIM_FAULT_STATUS };
	unsigned i;

	assert_int_equal(nvp_sim_inject(h->sim, &f), -EINVAL); /* status 0 */
	f = (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_DELAY };
	assert_int_equal(nvp_sim_inject(h->sim, &f), -EINVAL);
	f = (struct nvp_sim_fault){ .type = 99 };
	assert_int_equal(nvp_sim_inject(h->sim, &f), -EINVAL);
	f = (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_DROP, .match = { .filter = NVP_SIM_MATCH_LBA } };
	assert_int_equal(nvp_sim_inject(h->sim, &f), -EINVAL);
	f = (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_DROP,
				    .match = { .filter = NVP_SIM_MATCH_ADMIN | NVP_SIM_MATCH_IO } };
	assert_int_equal(nvp_sim_inject(h->sim, &f), -EINVAL);
	f = (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_DROP };
	for (i = 0; i < 16; i++)
		assert_int_equal(nvp_sim_inject(h->sim, &f), 0);
	assert_int_equal(nvp_sim_inject(h->sim, &f), -ENOSPC);
	nvp_sim_clear(h->sim);
	assert_int_equal(nvp_sim_inject(h->sim, &f), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SIM_TEST(test_fault_fatal),
		SIM_TEST(test_fault_never_ready),
		SIM_TEST(test_unmap_after_disable),
		SIM_TEST(test_fault_drop_delay),
		SIM_TEST(test_fault_status),
		SIM_TEST(test_fault_bad_cqes),
		SIM_TEST(test_fault_remove),
		SIM_TEST(test_fault_api_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
