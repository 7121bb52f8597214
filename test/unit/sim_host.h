/* SPDX-License-Identifier: MIT */
/*
 * The sim on its own, for the test_sim_*.c files: a minimal hand-rolled
 * host (AQA/ASQ/ACQ/CC through BAR0, SQEs and doorbells, CQEs by phase)
 * that drives the model, so each test can check what the spec says it
 * must answer. Every wait has a deadline.
 *
 * Each test gets its host from host_open() or host_up() and leaves it to
 * the teardown fixture: list tests as SIM_TEST(fn).
 */
#ifndef NVP_TEST_SIM_HOST_H
#define NVP_TEST_SIM_HOST_H

#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <nvpoll/barrier.h>
#include <nvpoll/sim.h>
#include <nvpoll/spec.h>

#include "bus.h"
#include "hugemem/dma.h"
#include "internal.h"
#include "sim/sim.h"

#define MEM_UNITS 2
#define MEM_LEN (MEM_UNITS * NVP_DMA_UNIT_SIZE)
#define PAGE 4096u
#define WAIT_MS 5000		/* for what must happen: generous, it costs nothing when it does */
#define QUIET_MS 100		/* for what must not */
#define MAX_QUEUES 8

/* Status field values (15-bit, as nvp_cqe_status() returns them). */
#define ST(sct, sc) NVME_STATUS_CODE(sct, sc)
#define ST_DNR(sct, sc) (ST(sct, sc) | NVME_STATUS_DNR)
#define GEN_DNR(sc) ST_DNR(NVME_SCT_GENERIC, sc)
#define CMD_DNR(sc) ST_DNR(NVME_SCT_CMD_SPECIFIC, sc)
#define TIMEOUT (-1)

struct tq {
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	uint16_t qid, size, tail, head;
	uint8_t phase;
	/* Shadow doorbells and EventIdx (tq_shadow), NULL: registers only */
	uint32_t *sq_sh, *cq_sh, *sq_ei, *cq_ei;
	uint16_t rung;		/* SQ tail last published */
};

struct host {
	struct nvp_bus *bus;
	struct nvp_sim *sim;
	volatile uint8_t *bar;
	uint8_t *mem;		/* MEM_UNITS 2 MiB units, dma_map()ed */
	uint64_t iova[MEM_UNITS];
	size_t brk;
	unsigned dstrd, mps;
	uint16_t cid;
	struct tq aq;
	struct tq io[MAX_QUEUES + 1];
	uint32_t *dbs, *eis;	/* Doorbell Buffer Config pages */
};

/* ---- the hand-rolled host ------------------------------------------------ */

static inline uint64_t now_ms(void)
{
	return nvp_now_ns() / 1000000u;
}

static inline void *host_alloc_align(struct host *h, size_t len, size_t align)
{
	void *p;

	h->brk = NVP_ALIGN_UP(h->brk, align);
	assert_true(h->brk + len <= MEM_LEN);
	p = h->mem + h->brk;
	h->brk += len;
	return p;
}

static inline void *host_alloc(struct host *h, size_t len)
{
	return host_alloc_align(h, len, (size_t)PAGE << h->mps);
}

/* Memory in the second unit, whose IOVA is not next to the first's. */
static inline void *host_alloc_unit1(struct host *h, size_t off)
{
	return h->mem + NVP_DMA_UNIT_SIZE + off;
}

static inline uint64_t iova(const struct host *h, const void *p)
{
	size_t off = (size_t)((const uint8_t *)p - h->mem);

	return h->iova[off >> NVP_DMA_UNIT_SHIFT] + (off & (NVP_DMA_UNIT_SIZE - 1));
}

static inline uint32_t reg32(struct host *h, unsigned off)
{
	return nvp_reg_read32(h->bar, off);
}

static inline void wreg32(struct host *h, unsigned off, uint32_t v)
{
	nvp_reg_write32(h->bar, off, v);
}

static inline volatile uint32_t *doorbell(struct host *h, uint16_t qid, int cq)
{
	return (volatile uint32_t *)(h->bar + NVME_REG_DBS + (2u * qid + (unsigned)cq) * (4u << h->dstrd));
}

static inline struct host *host_open(void **state, const char *opts)
{
	struct host *h = calloc(1, sizeof(*h));
	int err;

	assert_non_null(h);
	*state = h;
	err = nvp_sim_ops.open(opts, NULL, &h->bus);
	assert_int_equal(err, 0);
	h->sim = nvp_sim_from_bus(h->bus);
	assert_non_null(h->sim);
	h->bar = h->bus->bar0;
	h->dstrd = NVME_GET(nvp_reg_read64(h->bar, NVME_REG_CAP), CAP_DSTRD);
	h->mem = aligned_alloc(NVP_DMA_UNIT_SIZE, MEM_LEN);
	assert_non_null(h->mem);
	memset(h->mem, 0, MEM_LEN);
	assert_int_equal(h->bus->ops->dma_map(h->bus, h->mem, MEM_LEN, h->iova), 0);
	return h;
}

static inline int teardown(void **state)
{
	struct host *h = *state;

	if (h) {
		if (h->bus)
			h->bus->ops->close(h->bus);
		free(h->mem);
		free(h);
	}
	*state = NULL;
	return 0;
}

static inline bool wait_csts(struct host *h, uint32_t mask, uint32_t val, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	do {
		if ((reg32(h, NVME_REG_CSTS) & mask) == val)
			return true;
		sched_yield();
	} while (now_ms() < end);
	return false;
}

#define CSTS_RDY NVME_SET(1, CSTS_RDY)
#define CSTS_CFS NVME_SET(1, CSTS_CFS)
#define CSTS_SHST NVME_SET(3, CSTS_SHST)

static inline uint32_t cc_value(struct host *h, int en)
{
	return (uint32_t)(NVME_SET(en, CC_EN) | NVME_SET(h->mps, CC_MPS) |
			  NVME_SET(NVME_SQES_LOG2, CC_IOSQES) | NVME_SET(NVME_CQES_LOG2, CC_IOCQES));
}

static inline void tq_init(struct tq *q, uint16_t qid, uint16_t size, void *sq, void *cq)
{
	*q = (struct tq){ .sq = sq, .cq = cq, .qid = qid, .size = size, .phase = 1 };
	memset(sq, 0, (size_t)size * sizeof(struct nvme_sqe));
	memset(cq, 0, (size_t)size * sizeof(struct nvme_cqe));
}

/* Program the admin queue and set CC.EN. */
static inline void host_start(struct host *h, uint16_t qsize)
{
	if (!h->aq.sq)
		tq_init(&h->aq, 0, qsize, host_alloc(h, qsize * 64u), host_alloc(h, qsize * 16u));
	else
		tq_init(&h->aq, 0, h->aq.size, h->aq.sq, h->aq.cq);
	wreg32(h, NVME_REG_AQA, (uint32_t)(NVME_SET(h->aq.size - 1, AQA_ASQS) |
					   NVME_SET(h->aq.size - 1, AQA_ACQS)));
	nvp_reg_write64(h->bar, NVME_REG_ASQ, iova(h, h->aq.sq));
	nvp_reg_write64(h->bar, NVME_REG_ACQ, iova(h, h->aq.cq));
	wreg32(h, NVME_REG_CC, cc_value(h, 1));
}

/* ... and wait for RDY. */
static inline bool host_enable(struct host *h, uint16_t qsize)
{
	host_start(h, qsize);
	return wait_csts(h, CSTS_RDY, CSTS_RDY, WAIT_MS);
}

static inline void host_disable(struct host *h)
{
	wreg32(h, NVME_REG_CC, cc_value(h, 0));
	assert_true(wait_csts(h, CSTS_RDY, 0, WAIT_MS));
}

static inline struct host *host_up(void **state, const char *opts)
{
	struct host *h = host_open(state, opts);

	assert_true(host_enable(h, 32));
	return h;
}

/* Post without ringing, so tests can batch. */
static inline uint16_t post(struct host *h, struct tq *q, struct nvme_sqe *sqe)
{
	sqe->cid = h->cid++;
	q->sq[q->tail] = *sqe;
	q->tail = (uint16_t)((q->tail + 1) % q->size);
	return sqe->cid;
}

/* The host side of shared memory, as the driver does it: acquire what the model stored, release ours. */
static inline uint32_t ld(const uint32_t *p)
{
	return nvp_load_acquire(p);
}

static inline void st(uint32_t *p, uint32_t v)
{
	nvp_store_release(p, v);
}

/*
 * Behind a shadow doorbell, as the driver does: store the shadow, then
 * write the register only when EventIdx lies in [old, val).
 */
static inline bool shadow_update(uint32_t *shadow, const uint32_t *eventidx, uint16_t val, uint16_t old)
{
	st(shadow, val);
	nvp_mb(); /* the model must see the value before we read its EventIdx */
	return (uint16_t)(val - (uint16_t)ld(eventidx) - 1) < (uint16_t)(val - old);
}

static inline void ring(struct host *h, struct tq *q)
{
	bool need = !q->sq_sh || shadow_update(q->sq_sh, q->sq_ei, q->tail, q->rung);

	q->rung = q->tail;
	/* Release: the entries are written before the model sees the new tail. */
	if (need)
		st((uint32_t *)doorbell(h, q->qid, 0), q->tail);
}

static inline uint16_t submit(struct host *h, struct tq *q, struct nvme_sqe *sqe)
{
	uint16_t cid = post(h, q, sqe);

	ring(h, q);
	return cid;
}

/* The phase bit of a CQ slot: acquire, pairing with the model's release of that dword. */
static inline unsigned cqe_phase(const struct nvme_cqe *e)
{
	/* Acquire: the model stores the phase last, with release. */
	return nvp_load_acquire((const uint32_t *)&e->cid) >> 16 & NVME_CQE_PHASE;
}

static inline bool reap(struct host *h, struct tq *q, struct nvme_cqe *out, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	struct nvme_cqe *e;

	do {
		e = &q->cq[q->head];
		if (cqe_phase(e) == q->phase) {
			*out = *e;
			uint16_t old = q->head;

			if (++q->head == q->size) {
				q->head = 0;
				q->phase ^= 1;
			}
			if (!q->cq_sh || shadow_update(q->cq_sh, q->cq_ei, q->head, old))
				st((uint32_t *)doorbell(h, q->qid, 1), q->head);
			return true;
		}
		sched_yield();
	} while (now_ms() < end);
	return false;
}

/* Submit, wait, check the CQE's identity; the 15-bit status or TIMEOUT. */
static inline int run(struct host *h, struct tq *q, struct nvme_sqe *sqe, struct nvme_cqe *out)
{
	struct nvme_cqe cqe;
	uint16_t cid = submit(h, q, sqe);

	if (!reap(h, q, &cqe, WAIT_MS))
		return TIMEOUT;
	assert_int_equal(cqe.cid, cid);
	assert_int_equal(cqe.sq_id, q->qid);
	assert_int_equal(cqe.sq_head, q->tail);
	if (out)
		*out = cqe;
	return cqe.status >> NVME_CQE_STATUS_SHIFT;
}

/* Point the SQE's PRPs at @buf, with a list in host memory when needed. */
static inline void prp_fill(struct host *h, struct nvme_sqe *sqe, void *buf, size_t len)
{
	size_t psz = (size_t)PAGE << h->mps, first, off, i;
	uint64_t *list;

	sqe->prp1 = iova(h, buf);
	first = psz - (sqe->prp1 & (psz - 1));
	if (len <= first)
		return;
	if (len - first <= psz) {
		sqe->prp2 = iova(h, (uint8_t *)buf + first);
		return;
	}
	list = host_alloc(h, psz);
	for (off = first, i = 0; off < len; off += psz, i++)
		list[i] = iova(h, (uint8_t *)buf + off);
	assert_true(i < psz / 8);
	sqe->prp2 = iova(h, list);
}

static inline int admin_data(struct host *h, uint8_t opc, uint32_t nsid, uint32_t cdw10, uint32_t cdw11,
			     void *buf, size_t len, uint32_t *dw0)
{
	struct nvme_sqe sqe = { .opc = opc, .nsid = nsid, .cdw10 = cdw10, .cdw11 = cdw11 };
	struct nvme_cqe cqe;
	int st;

	if (buf)
		prp_fill(h, &sqe, buf, len);
	st = run(h, &h->aq, &sqe, &cqe);
	if (dw0)
		*dw0 = cqe.dw0;
	return st;
}

static inline int admin(struct host *h, uint8_t opc, uint32_t cdw10, uint32_t cdw11, uint32_t *dw0)
{
	return admin_data(h, opc, 0, cdw10, cdw11, NULL, 0, dw0);
}

static inline int create_cq(struct host *h, uint16_t qid, uint32_t size, void *mem, uint32_t flags)
{
	struct nvme_sqe sqe = {
		.opc = NVME_ADMIN_CREATE_CQ,
		.prp1 = mem ? iova(h, mem) : 0,
		.cdw10 = (size - 1) << 16 | qid,
		.cdw11 = flags,
	};

	return run(h, &h->aq, &sqe, NULL);
}

static inline int create_sq(struct host *h, uint16_t qid, uint32_t size, void *mem, uint16_t cqid,
			    uint32_t flags)
{
	struct nvme_sqe sqe = {
		.opc = NVME_ADMIN_CREATE_SQ,
		.prp1 = mem ? iova(h, mem) : 0,
		.cdw10 = (size - 1) << 16 | qid,
		.cdw11 = (uint32_t)cqid << 16 | flags,
	};

	return run(h, &h->aq, &sqe, NULL);
}

/* A working I/O queue pair qid/qid of @size entries. */
static inline struct tq *ioq(struct host *h, uint16_t qid, uint16_t size)
{
	struct tq *q = &h->io[qid];

	tq_init(q, qid, size, host_alloc(h, size * 64u), host_alloc(h, size * 16u));
	assert_int_equal(create_cq(h, qid, size, q->cq, NVME_QUEUE_PHYS_CONTIG), 0);
	assert_int_equal(create_sq(h, qid, size, q->sq, qid, NVME_QUEUE_PHYS_CONTIG), 0);
	return q;
}

static inline struct nvme_sqe rw_sqe(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb)
{
	return (struct nvme_sqe){
		.opc = opc,
		.nsid = nsid,
		.cdw10 = (uint32_t)slba,
		.cdw11 = (uint32_t)(slba >> 32),
		.cdw12 = nlb - 1,
	};
}

static inline int rw(struct host *h, struct tq *q, uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb,
		     void *buf, size_t len)
{
	struct nvme_sqe sqe = rw_sqe(opc, nsid, slba, nlb);

	if (buf)
		prp_fill(h, &sqe, buf, len);
	return run(h, q, &sqe, NULL);
}

static inline void fill(void *buf, size_t len, unsigned seed)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

static inline struct nvp_sim_stats *stats(struct host *h)
{
	static struct nvp_sim_stats s;

	nvp_sim_stats(h->sim, &s);
	return &s;
}

static inline void inject(struct host *h, struct nvp_sim_fault f)
{
	assert_int_equal(nvp_sim_inject(h->sim, &f), 0);
}

#define SIM_TEST(fn) cmocka_unit_test_teardown(fn, teardown)

#endif /* NVP_TEST_SIM_HOST_H */
