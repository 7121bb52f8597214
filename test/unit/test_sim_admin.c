/* SPDX-License-Identifier: MIT */
/*
 * The sim's admin commands: Identify, features, queue creation and
 * deletion, log pages, Abort and Asynchronous Event Requests. Host: sim_host.h.
 */
#include "sim_host.h"

/* ---- admin -------------------------------------------------------------- */

static void test_identify(void **state)
{
	struct host *h = host_up(state, "ns=3,lbads=512:4096:512,size=16M:64M:1M,sn=SN42");
	struct nvme_id_ctrl *c = host_alloc(h, 4096);
	struct nvme_id_ns *ns = host_alloc(h, 4096);
	uint32_t *list = host_alloc(h, 4096);
	uint8_t *desc = host_alloc(h, 4096);

	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 0, NVME_ID_CNS_CTRL, 0, c, 4096, NULL), 0);
	assert_int_equal(c->vid, 0x1b36);
	assert_memory_equal(c->sn, "SN42                ", 20);
	assert_memory_equal(c->mn, "nvpoll sim", 10);
	assert_int_equal(c->mn[10], ' ');
	assert_memory_equal(c->fr, "0.1     ", 8);
	assert_int_equal(c->mdts, 5);
	assert_int_equal(c->nn, 3);
	assert_int_equal(c->ver, 0x00010400);
	assert_int_equal(c->sqes, 0x66);
	assert_int_equal(c->cqes, 0x44);
	assert_int_equal(c->oncs, NVME_ONCS_COMPARE | NVME_ONCS_WRITE_UNCOR | NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES |
					   NVME_ONCS_VERIFY | NVME_ONCS_COPY);
	assert_int_equal(c->ocfs, NVME_OCFS_FORMAT0);
	assert_int_equal(c->vwc & 1, 1);
	assert_int_equal(c->sgls & 3, 1);
	assert_int_equal(c->aerl, 3);
	assert_int_equal(c->elpe, 255);
	assert_int_equal(c->lpa, NVME_LPA_EXT_DATA);

	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 2, NVME_ID_CNS_NS, 0, ns, 4096, NULL), 0);
	assert_int_equal(ns->nsze, (64u << 20) / 4096);
	assert_int_equal(ns->ncap, ns->nsze);
	assert_int_equal(ns->lbaf[nvme_id_ns_flbas_index(ns)].lbads, 12);
	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 3, NVME_ID_CNS_NS, 0, ns, 4096, NULL), 0);
	assert_int_equal(ns->nsze, 2048);
	assert_int_equal(ns->lbaf[0].lbads, 9);
	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 4, NVME_ID_CNS_NS, 0, ns, 4096, NULL),
			 GEN_DNR(NVME_SC_INVALID_NS));
	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 0, NVME_ID_CNS_NS, 0, ns, 4096, NULL),
			 GEN_DNR(NVME_SC_INVALID_NS));

	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 0, NVME_ID_CNS_NS_ACTIVE_LIST, 0, list, 4096,
				    NULL), 0);
	assert_int_equal(list[0], 1);
	assert_int_equal(list[2], 3);
	assert_int_equal(list[3], 0);
	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 2, NVME_ID_CNS_NS_ACTIVE_LIST, 0, list, 4096,
				    NULL), 0);
	assert_int_equal(list[0], 3);
	assert_int_equal(list[1], 0);

	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 1, NVME_ID_CNS_NS_DESC_LIST, 0, desc, 4096,
				    NULL), 0);
	assert_int_equal(desc[0], 1);
	assert_int_equal(desc[1], 8);
	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 0, 0x55, 0, desc, 4096, NULL),
			 GEN_DNR(NVME_SC_INVALID_FIELD));
	/* Identify into a buffer at an offset, through PRP1 + PRP2. */
	c = (struct nvme_id_ctrl *)((uint8_t *)host_alloc(h, 8192) + 256);
	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 0, NVME_ID_CNS_CTRL, 0, c, 4096, NULL), 0);
	assert_int_equal(c->nn, 3);
}

static void test_features(void **state)
{
	struct host *h = host_up(state, "nqueues=8");
	uint32_t dw0;

	assert_int_equal(admin(h, NVME_ADMIN_GET_FEATURES, NVME_FEAT_NUM_QUEUES, 0, &dw0), 0);
	assert_int_equal(dw0, 7u << 16 | 7);
	/* Ask for more than there are: granted what exists. */
	assert_int_equal(admin(h, NVME_ADMIN_SET_FEATURES, NVME_FEAT_NUM_QUEUES, 63u << 16 | 63, &dw0), 0);
	assert_int_equal(dw0, 7u << 16 | 7);
	assert_int_equal(admin(h, NVME_ADMIN_SET_FEATURES, NVME_FEAT_NUM_QUEUES, 1u << 16 | 2, &dw0), 0);
	assert_int_equal(dw0, 1u << 16 | 2);
	assert_int_equal(admin(h, NVME_ADMIN_GET_FEATURES, NVME_FEAT_NUM_QUEUES, 0, &dw0), 0);
	assert_int_equal(dw0, 1u << 16 | 2);
	/* Default (SEL 1) is still everything. */
	assert_int_equal(admin(h, NVME_ADMIN_GET_FEATURES, 1u << 8 | NVME_FEAT_NUM_QUEUES, 0, &dw0), 0);
	assert_int_equal(dw0, 7u << 16 | 7);
	assert_int_equal(admin(h, NVME_ADMIN_SET_FEATURES, NVME_FEAT_NUM_QUEUES, 0xffff, NULL),
			 GEN_DNR(NVME_SC_INVALID_FIELD));

	assert_int_equal(admin(h, NVME_ADMIN_SET_FEATURES, NVME_FEAT_ARBITRATION, 0x03020103, NULL), 0);
	assert_int_equal(admin(h, NVME_ADMIN_GET_FEATURES, NVME_FEAT_ARBITRATION, 0, &dw0), 0);
	assert_int_equal(dw0, 0x03020103);
	assert_int_equal(admin(h, NVME_ADMIN_GET_FEATURES, NVME_FEAT_VOLATILE_WC, 0, &dw0), 0);
	assert_int_equal(dw0, 1);
	assert_int_equal(admin(h, NVME_ADMIN_SET_FEATURES, NVME_FEAT_VOLATILE_WC, 0, NULL), 0);
	assert_int_equal(admin(h, NVME_ADMIN_GET_FEATURES, NVME_FEAT_VOLATILE_WC, 0, &dw0), 0);
	assert_int_equal(dw0, 0);
	assert_int_equal(admin(h, NVME_ADMIN_GET_FEATURES, 3u << 8 | NVME_FEAT_VOLATILE_WC, 0, &dw0), 0);
	assert_int_equal(dw0, 4);
	assert_int_equal(admin(h, NVME_ADMIN_SET_FEATURES, 1u << 31 | NVME_FEAT_ARBITRATION, 0, NULL),
			 CMD_DNR(NVME_SC_FEATURE_NOT_SAVEABLE));
	assert_int_equal(admin(h, NVME_ADMIN_GET_FEATURES, NVME_FEAT_TEMP_THRESH, 0, NULL),
			 GEN_DNR(NVME_SC_INVALID_FIELD));
	assert_int_equal(admin(h, NVME_ADMIN_SET_FEATURES, NVME_FEAT_POWER_MGMT, 1, NULL),
			 GEN_DNR(NVME_SC_INVALID_FIELD));

	/* The grant bounds queue ids; no new grant once a queue exists. */
	assert_int_equal(create_cq(h, 3, 4, host_alloc(h, PAGE), NVME_QUEUE_PHYS_CONTIG),
			 CMD_DNR(NVME_SC_QID_INVALID));
	ioq(h, 2, 4);
	assert_int_equal(create_sq(h, 4, 4, host_alloc(h, PAGE), 2, NVME_QUEUE_PHYS_CONTIG),
			 CMD_DNR(NVME_SC_QID_INVALID));
	assert_int_equal(admin(h, NVME_ADMIN_SET_FEATURES, NVME_FEAT_NUM_QUEUES, 0, NULL),
			 GEN_DNR(NVME_SC_CMD_SEQ_ERROR));
}

static void test_vwc_absent(void **state)
{
	struct host *h = host_up(state, "vwc=0");

	assert_int_equal(admin(h, NVME_ADMIN_GET_FEATURES, NVME_FEAT_VOLATILE_WC, 0, NULL),
			 GEN_DNR(NVME_SC_INVALID_FIELD));
}

static void test_queue_checks(void **state)
{
	struct host *h = host_up(state, "mqes=63,nqueues=4");
	void *m = host_alloc(h, 64 * 64);
	struct nvme_sqe sqe = { 0 };

	assert_int_equal(create_cq(h, 0, 4, m, 1), CMD_DNR(NVME_SC_QID_INVALID));
	assert_int_equal(create_cq(h, 5, 4, m, 1), CMD_DNR(NVME_SC_QID_INVALID));
	assert_int_equal(create_cq(h, 1, 1, m, 1), CMD_DNR(NVME_SC_QUEUE_SIZE));
	assert_int_equal(create_cq(h, 1, 65, m, 1), CMD_DNR(NVME_SC_QUEUE_SIZE));
	assert_int_equal(create_cq(h, 1, 4, m, 0), GEN_DNR(NVME_SC_INVALID_FIELD));
	assert_int_equal(create_cq(h, 1, 4, (uint8_t *)m + 16, 1), GEN_DNR(NVME_SC_PRP_OFFSET_INVALID));
	assert_int_equal(create_cq(h, 1, 4, NULL, 1), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	assert_int_equal(create_cq(h, 1, 64, m, 1), 0);
	assert_int_equal(create_cq(h, 1, 4, m, 1), CMD_DNR(NVME_SC_QID_INVALID));

	m = host_alloc(h, 64 * 64);
	assert_int_equal(create_sq(h, 0, 4, m, 1, 1), CMD_DNR(NVME_SC_QID_INVALID));
	assert_int_equal(create_sq(h, 5, 4, m, 1, 1), CMD_DNR(NVME_SC_QID_INVALID));
	assert_int_equal(create_sq(h, 1, 4, m, 2, 1), CMD_DNR(NVME_SC_CQ_INVALID));
	assert_int_equal(create_sq(h, 1, 4, m, 0, 1), CMD_DNR(NVME_SC_CQ_INVALID));
	assert_int_equal(create_sq(h, 1, 65, m, 1, 1), CMD_DNR(NVME_SC_QUEUE_SIZE));
	assert_int_equal(create_sq(h, 1, 4, m, 1, 0), GEN_DNR(NVME_SC_INVALID_FIELD));
	assert_int_equal(create_sq(h, 1, 64, m, 1, 1), 0);
	/* Two SQs on one CQ. */
	assert_int_equal(create_sq(h, 2, 4, host_alloc(h, PAGE), 1, 1), 0);

	assert_int_equal(admin(h, NVME_ADMIN_DELETE_CQ, 1, 0, NULL),
			 CMD_DNR(NVME_SC_INVALID_QUEUE_DELETION));
	assert_int_equal(admin(h, NVME_ADMIN_DELETE_SQ, 0, 0, NULL), CMD_DNR(NVME_SC_QID_INVALID));
	assert_int_equal(admin(h, NVME_ADMIN_DELETE_SQ, 3, 0, NULL), CMD_DNR(NVME_SC_QID_INVALID));
	assert_int_equal(admin(h, NVME_ADMIN_DELETE_CQ, 0, 0, NULL), CMD_DNR(NVME_SC_QID_INVALID));
	assert_int_equal(admin(h, NVME_ADMIN_DELETE_SQ, 1, 0, NULL), 0);
	assert_int_equal(admin(h, NVME_ADMIN_DELETE_CQ, 1, 0, NULL),
			 CMD_DNR(NVME_SC_INVALID_QUEUE_DELETION));
	assert_int_equal(admin(h, NVME_ADMIN_DELETE_SQ, 2, 0, NULL), 0);
	assert_int_equal(admin(h, NVME_ADMIN_DELETE_CQ, 1, 0, NULL), 0);
	assert_int_equal(admin(h, NVME_ADMIN_DELETE_CQ, 1, 0, NULL), CMD_DNR(NVME_SC_QID_INVALID));

	/* Unknown opcodes, fused bits. */
	assert_int_equal(admin(h, 0x7f, 0, 0, NULL), GEN_DNR(NVME_SC_INVALID_OPCODE));
	sqe.opc = NVME_ADMIN_KEEP_ALIVE;
	sqe.flags = NVME_FUSE_FIRST << NVME_SQE_FUSE_SHIFT;
	assert_int_equal(run(h, &h->aq, &sqe, NULL), GEN_DNR(NVME_SC_INVALID_FIELD));
	assert_int_equal(stats(h)->admin_cmds[NVME_ADMIN_CREATE_CQ], 9);
}

/* CC.IOSQES/IOCQES must say 64/16 before I/O queues are created. */
static void test_queue_entry_sizes(void **state)
{
	struct host *h = host_open(state, "");

	tq_init(&h->aq, 0, 4, host_alloc(h, PAGE), host_alloc(h, PAGE));
	wreg32(h, NVME_REG_AQA, 0x00030003);
	nvp_reg_write64(h->bar, NVME_REG_ASQ, iova(h, h->aq.sq));
	nvp_reg_write64(h->bar, NVME_REG_ACQ, iova(h, h->aq.cq));
	wreg32(h, NVME_REG_CC, NVME_SET(1, CC_EN));
	assert_true(wait_csts(h, CSTS_RDY, CSTS_RDY, WAIT_MS));
	assert_int_equal(create_cq(h, 1, 4, host_alloc(h, PAGE), 1), GEN_DNR(NVME_SC_INVALID_FIELD));
	wreg32(h, NVME_REG_CC, cc_value(h, 1));
	assert_int_equal(create_cq(h, 1, 4, host_alloc(h, PAGE), 1), 0);
}

static void test_log_pages(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 16);
	struct nvme_error_log *el = host_alloc(h, 4096);
	struct nvme_smart_log *sl = host_alloc(h, 512);
	struct nvme_fw_slot_log *fw = host_alloc(h, 512);
	uint8_t *buf = host_alloc(h, 128 * 1024);
	uint64_t v;
	uint32_t numd = 512 / 4 - 1;

	/* 2000 + 1 + 1 blocks written, 256 read: 2002 units -> 3 (rounded up); 256 -> 1. */
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 250, buf, 250 * 512), 0);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 250, buf, 250 * 512), 0);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 250, buf, 250 * 512), 0);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 250, buf, 250 * 512), 0);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 250, buf, 250 * 512), 0);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 250, buf, 250 * 512), 0);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 250, buf, 250 * 512), 0);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 250, buf, 250 * 512), 0);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 1, buf, 512), 0);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 1, buf, 512), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 256, buf, 256 * 512), 0);
	assert_int_equal(admin_data(h, NVME_ADMIN_GET_LOG_PAGE, 0xffffffff, numd << 16 | NVME_LOG_SMART, 0,
				    sl, 512, NULL), 0);
	memcpy(&v, sl->data_units_written, 8);
	assert_int_equal(v, 3);
	memcpy(&v, sl->data_units_read, 8);
	assert_int_equal(v, 1);
	memcpy(&v, sl->host_writes, 8);
	assert_int_equal(v, 10);
	memcpy(&v, sl->host_reads, 8);
	assert_int_equal(v, 1);
	assert_int_equal(admin_data(h, NVME_ADMIN_GET_LOG_PAGE, 1, numd << 16 | NVME_LOG_SMART, 0, sl, 512,
				    NULL), GEN_DNR(NVME_SC_INVALID_FIELD));

	/* The error log has the errors the model returned, newest first. */
	assert_int_equal(rw(h, q, NVME_CMD_READ, 9, 0, 1, buf, 512), GEN_DNR(NVME_SC_INVALID_NS));
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 1u << 30, 1, buf, 512), GEN_DNR(NVME_SC_LBA_RANGE));
	assert_int_equal(admin_data(h, NVME_ADMIN_GET_LOG_PAGE, 0, 1023u << 16 | NVME_LOG_ERROR, 0, el,
				    4096, NULL), 0);
	/* Three errors: the SMART page for nsid 1 above, then these two. */
	assert_int_equal(el[0].error_count, 3);
	assert_int_equal(el[0].status >> NVME_CQE_STATUS_SHIFT, GEN_DNR(NVME_SC_LBA_RANGE));
	assert_int_equal(el[0].lba, 1u << 30);
	assert_int_equal(el[0].sqid, 1);
	assert_int_equal(el[1].error_count, 2);
	assert_int_equal(el[1].status >> NVME_CQE_STATUS_SHIFT, GEN_DNR(NVME_SC_INVALID_NS));
	assert_int_equal(el[1].nsid, 9);
	assert_int_equal(el[2].error_count, 1);
	assert_int_equal(el[2].sqid, 0);
	assert_int_equal(el[3].error_count, 0);
	/* An offset into the log (LPOL): the second entry. */
	{
		struct nvme_sqe sqe = { .opc = NVME_ADMIN_GET_LOG_PAGE, .cdw10 = 15u << 16 | NVME_LOG_ERROR,
					.cdw12 = 64 };

		prp_fill(h, &sqe, el, 64);
		assert_int_equal(run(h, &h->aq, &sqe, NULL), 0);
		assert_int_equal(el[0].error_count, 2);
		sqe.cdw12 = 4096; /* 16 KiB of 256 entries: entry 64 (none yet, zeroes) */
		assert_int_equal(run(h, &h->aq, &sqe, NULL), 0);
		assert_int_equal(el[0].error_count, 0);
		sqe.cdw12 = 16384; /* past the end */
		assert_int_equal(run(h, &h->aq, &sqe, NULL), GEN_DNR(NVME_SC_INVALID_FIELD));
	}

	assert_int_equal(admin_data(h, NVME_ADMIN_GET_LOG_PAGE, 0, numd << 16 | NVME_LOG_FW_SLOT, 0,
				    fw, 512, NULL), 0);
	assert_int_equal(fw->afi, 1);
	assert_memory_equal(fw->frs[0], "0.1     ", 8);
	assert_int_equal(admin_data(h, NVME_ADMIN_GET_LOG_PAGE, 0, numd << 16 | 0x77, 0, fw, 512, NULL),
			 CMD_DNR(NVME_SC_INVALID_LOG_PAGE));
	/* Above MDTS (128 KiB). */
	assert_int_equal(admin_data(h, NVME_ADMIN_GET_LOG_PAGE, 0, 0xffffu << 16 | NVME_LOG_ERROR, 0,
				    NULL, 0, NULL), GEN_DNR(NVME_SC_INVALID_FIELD));
}

/* ---- Abort, AER ------------------------------------------------------------ */

static void test_abort(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *buf = host_alloc(h, 512);
	struct nvme_sqe sqe = rw_sqe(NVME_CMD_READ, 1, 0, 1);
	struct nvme_cqe cqe;
	uint32_t dw0;
	uint16_t cid;

	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_DROP,
					  .match = { .filter = NVP_SIM_MATCH_IO } });
	prp_fill(h, &sqe, buf, 512);
	cid = submit(h, q, &sqe);
	assert_false(reap(h, q, &cqe, QUIET_MS));
	assert_int_equal(admin(h, NVME_ADMIN_ABORT, (uint32_t)cid << 16 | 1, 0, &dw0), 0);
	assert_int_equal(dw0, 0);
	assert_true(reap(h, q, &cqe, WAIT_MS));
	assert_int_equal(cqe.cid, cid);
	assert_int_equal(cqe.status >> NVME_CQE_STATUS_SHIFT, ST(NVME_SCT_GENERIC, NVME_SC_ABORT_REQ));
	/* Nothing left to abort. */
	assert_int_equal(admin(h, NVME_ADMIN_ABORT, (uint32_t)cid << 16 | 1, 0, &dw0), 0);
	assert_int_equal(dw0 & 1, 1);
	assert_int_equal(admin(h, NVME_ADMIN_ABORT, 7u << 16 | 9, 0, &dw0), 0);
	assert_int_equal(dw0 & 1, 1);
}

/* Abort of a command still in the SQ: its CQ is full, so it is not fetched yet. */
static void test_abort_queued(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = &h->io[1];
	struct nvme_sqe sqe;
	struct nvme_cqe cqe;
	uint16_t cid[3];
	uint32_t dw0;
	unsigned i;

	tq_init(q, 1, 4, host_alloc(h, 4 * 64), host_alloc(h, 2 * 16));
	assert_int_equal(create_cq(h, 1, 2, q->cq, 1), 0);
	assert_int_equal(create_sq(h, 1, 4, q->sq, 1, 1), 0);
	for (i = 0; i < 3; i++) {
		sqe = rw_sqe(NVME_CMD_FLUSH, 1, 0, 1);
		cid[i] = post(h, q, &sqe);
	}
	ring(h, q);
	{
		uint64_t end = now_ms() + WAIT_MS;

		while (cqe_phase(&q->cq[0]) != 1 && now_ms() < end)
			sched_yield();
		assert_int_equal(q->cq[0].cid, cid[0]);
	}
	assert_int_equal(admin(h, NVME_ADMIN_ABORT, (uint32_t)cid[2] << 16 | 1, 0, &dw0), 0);
	assert_int_equal(dw0, 0);
	/* Consume by hand (the CQ has 2 entries, the SQ 4). */
	for (i = 0; i < 3; i++) {
		uint64_t end = now_ms() + WAIT_MS;
		unsigned slot = i % 2, phase = i < 2;

		while (cqe_phase(&q->cq[slot]) != phase && now_ms() < end)
			sched_yield();
		cqe = q->cq[slot];
		assert_int_equal(cqe.cid, cid[i]);
		assert_int_equal(cqe.status >> NVME_CQE_STATUS_SHIFT, i == 2 ? ST(NVME_SCT_GENERIC, NVME_SC_ABORT_REQ) : 0);
		nvp_store_release((uint32_t *)doorbell(h, 1, 1), (i + 1) % 2); /* CQ head: we are done with the entry */
	}
}

/* Deleting an SQ completes what it still holds with Aborted - SQ Deletion. */
static void test_delete_sq_with_held(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	struct nvme_sqe sqe = rw_sqe(NVME_CMD_FLUSH, 1, 0, 1);
	struct nvme_cqe cqe;
	uint16_t cid;

	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_DROP,
					  .match = { .filter = NVP_SIM_MATCH_IO } });
	cid = submit(h, q, &sqe);
	assert_false(reap(h, q, &cqe, QUIET_MS));
	assert_int_equal(admin(h, NVME_ADMIN_DELETE_SQ, 1, 0, NULL), 0);
	assert_true(reap(h, q, &cqe, WAIT_MS));
	assert_int_equal(cqe.cid, cid);
	assert_int_equal(cqe.status >> NVME_CQE_STATUS_SHIFT, ST(NVME_SCT_GENERIC, NVME_SC_ABORT_QUEUE));
	assert_int_equal(admin(h, NVME_ADMIN_DELETE_CQ, 1, 0, NULL), 0);
}

static void test_aer(void **state)
{
	struct host *h = host_up(state, "");
	struct nvme_sqe sqe = { .opc = NVME_ADMIN_ASYNC_EVENT };
	struct nvme_cqe cqe;
	uint16_t cids[4];
	unsigned i;

	/* Raised before any AER: the first one answers at once. */
	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_AER, .aer_type = NVME_AER_SMART,
					  .aer_info = 1, .aer_lid = NVME_LOG_SMART });
	assert_int_equal(run(h, &h->aq, &sqe, &cqe), 0);
	assert_int_equal(cqe.dw0, NVME_AER_SMART | 1u << 8 | (uint32_t)NVME_LOG_SMART << 16);

	/* AERL + 1 = 4 outstanding, the fifth is over the limit. */
	for (i = 0; i < 4; i++) {
		sqe = (struct nvme_sqe){ .opc = NVME_ADMIN_ASYNC_EVENT };
		cids[i] = submit(h, &h->aq, &sqe);
	}
	assert_false(reap(h, &h->aq, &cqe, QUIET_MS));
	sqe = (struct nvme_sqe){ .opc = NVME_ADMIN_ASYNC_EVENT };
	assert_int_equal(run(h, &h->aq, &sqe, NULL), CMD_DNR(NVME_SC_ASYNC_LIMIT));
	/* Admin commands still flow past the held AERs. */
	assert_int_equal(admin(h, NVME_ADMIN_KEEP_ALIVE, 0, 0, NULL), 0);

	inject(h, (struct nvp_sim_fault){ .type = NVP_SIM_FAULT_AER, .aer_type = NVME_AER_NOTICE,
					  .aer_lid = NVME_LOG_CHANGED_NS });
	assert_true(reap(h, &h->aq, &cqe, WAIT_MS));
	assert_int_equal(cqe.cid, cids[0]);
	assert_int_equal(cqe.status >> NVME_CQE_STATUS_SHIFT, 0);
	assert_int_equal(cqe.dw0, NVME_AER_NOTICE | (uint32_t)NVME_LOG_CHANGED_NS << 16);
	assert_false(reap(h, &h->aq, &cqe, QUIET_MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		SIM_TEST(test_identify),
		SIM_TEST(test_features),
		SIM_TEST(test_vwc_absent),
		SIM_TEST(test_queue_checks),
		SIM_TEST(test_queue_entry_sizes),
		SIM_TEST(test_log_pages),
		SIM_TEST(test_abort),
		SIM_TEST(test_abort_queued),
		SIM_TEST(test_delete_sq_with_held),
		SIM_TEST(test_aer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
