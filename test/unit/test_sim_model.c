/* SPDX-License-Identifier: MIT */
/*
 * The sim on its own: a minimal hand-rolled host (AQA/ASQ/ACQ/CC through
 * BAR0, SQEs and doorbells, CQEs by phase) drives the model and checks
 * what the spec says it must answer. Every wait has a deadline.
 */
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

static uint64_t now_ms(void)
{
	return nvp_now_ns() / 1000000u;
}

static void *host_alloc_align(struct host *h, size_t len, size_t align)
{
	void *p;

	h->brk = NVP_ALIGN_UP(h->brk, align);
	assert_true(h->brk + len <= MEM_LEN);
	p = h->mem + h->brk;
	h->brk += len;
	return p;
}

static void *host_alloc(struct host *h, size_t len)
{
	return host_alloc_align(h, len, (size_t)PAGE << h->mps);
}

/* Memory in the second unit, whose IOVA is not next to the first's. */
static void *host_alloc_unit1(struct host *h, size_t off)
{
	return h->mem + NVP_DMA_UNIT_SIZE + off;
}

static uint64_t iova(const struct host *h, const void *p)
{
	size_t off = (size_t)((const uint8_t *)p - h->mem);

	return h->iova[off >> NVP_DMA_UNIT_SHIFT] + (off & (NVP_DMA_UNIT_SIZE - 1));
}

static uint32_t reg32(struct host *h, unsigned off)
{
	return nvp_reg_read32(h->bar, off);
}

static void wreg32(struct host *h, unsigned off, uint32_t v)
{
	nvp_reg_write32(h->bar, off, v);
}

static volatile uint32_t *doorbell(struct host *h, uint16_t qid, int cq)
{
	return (volatile uint32_t *)(h->bar + NVME_REG_DBS + (2u * qid + (unsigned)cq) * (4u << h->dstrd));
}

static struct host *host_open(void **state, const char *opts)
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

static int teardown(void **state)
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

static bool wait_csts(struct host *h, uint32_t mask, uint32_t val, unsigned ms)
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

static uint32_t cc_value(struct host *h, int en)
{
	return (uint32_t)(NVME_SET(en, CC_EN) | NVME_SET(h->mps, CC_MPS) |
			  NVME_SET(NVME_SQES_LOG2, CC_IOSQES) | NVME_SET(NVME_CQES_LOG2, CC_IOCQES));
}

static void tq_init(struct tq *q, uint16_t qid, uint16_t size, void *sq, void *cq)
{
	*q = (struct tq){ .sq = sq, .cq = cq, .qid = qid, .size = size, .phase = 1 };
	memset(sq, 0, (size_t)size * sizeof(struct nvme_sqe));
	memset(cq, 0, (size_t)size * sizeof(struct nvme_cqe));
}

/* Program the admin queue and set CC.EN. */
static void host_start(struct host *h, uint16_t qsize)
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
static bool host_enable(struct host *h, uint16_t qsize)
{
	host_start(h, qsize);
	return wait_csts(h, CSTS_RDY, CSTS_RDY, WAIT_MS);
}

static void host_disable(struct host *h)
{
	wreg32(h, NVME_REG_CC, cc_value(h, 0));
	assert_true(wait_csts(h, CSTS_RDY, 0, WAIT_MS));
}

static struct host *host_up(void **state, const char *opts)
{
	struct host *h = host_open(state, opts);

	assert_true(host_enable(h, 32));
	return h;
}

/* Post without ringing, so tests can batch. */
static uint16_t post(struct host *h, struct tq *q, struct nvme_sqe *sqe)
{
	sqe->cid = h->cid++;
	q->sq[q->tail] = *sqe;
	q->tail = (uint16_t)((q->tail + 1) % q->size);
	return sqe->cid;
}

/* The host side of shared memory, as the driver does it: acquire what the model stored, release ours. */
static uint32_t ld(const uint32_t *p)
{
	return nvp_load_acquire(p);
}

static void st(uint32_t *p, uint32_t v)
{
	nvp_store_release(p, v);
}

/*
 * Behind a shadow doorbell, as the driver does: store the shadow, then
 * write the register only when EventIdx lies in [old, val).
 */
static bool shadow_update(uint32_t *shadow, const uint32_t *eventidx, uint16_t val, uint16_t old)
{
	st(shadow, val);
	nvp_mb(); /* the model must see the value before we read its EventIdx */
	return (uint16_t)(val - (uint16_t)ld(eventidx) - 1) < (uint16_t)(val - old);
}

static void ring(struct host *h, struct tq *q)
{
	bool need = !q->sq_sh || shadow_update(q->sq_sh, q->sq_ei, q->tail, q->rung);

	q->rung = q->tail;
	/* Release: the entries are written before the model sees the new tail. */
	if (need)
		st((uint32_t *)doorbell(h, q->qid, 0), q->tail);
}

static uint16_t submit(struct host *h, struct tq *q, struct nvme_sqe *sqe)
{
	uint16_t cid = post(h, q, sqe);

	ring(h, q);
	return cid;
}

/* The phase bit of a CQ slot: acquire, pairing with the model's release of that dword. */
static unsigned cqe_phase(const struct nvme_cqe *e)
{
	/* Acquire: the model stores the phase last, with release. */
	return nvp_load_acquire((const uint32_t *)&e->cid) >> 16 & NVME_CQE_PHASE;
}

static bool reap(struct host *h, struct tq *q, struct nvme_cqe *out, unsigned ms)
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
static int run(struct host *h, struct tq *q, struct nvme_sqe *sqe, struct nvme_cqe *out)
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
static void prp_fill(struct host *h, struct nvme_sqe *sqe, void *buf, size_t len)
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

static int admin_data(struct host *h, uint8_t opc, uint32_t nsid, uint32_t cdw10, uint32_t cdw11,
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

static int admin(struct host *h, uint8_t opc, uint32_t cdw10, uint32_t cdw11, uint32_t *dw0)
{
	return admin_data(h, opc, 0, cdw10, cdw11, NULL, 0, dw0);
}

static int create_cq(struct host *h, uint16_t qid, uint32_t size, void *mem, uint32_t flags)
{
	struct nvme_sqe sqe = {
		.opc = NVME_ADMIN_CREATE_CQ,
		.prp1 = mem ? iova(h, mem) : 0,
		.cdw10 = (size - 1) << 16 | qid,
		.cdw11 = flags,
	};

	return run(h, &h->aq, &sqe, NULL);
}

static int create_sq(struct host *h, uint16_t qid, uint32_t size, void *mem, uint16_t cqid,
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
static struct tq *ioq(struct host *h, uint16_t qid, uint16_t size)
{
	struct tq *q = &h->io[qid];

	tq_init(q, qid, size, host_alloc(h, size * 64u), host_alloc(h, size * 16u));
	assert_int_equal(create_cq(h, qid, size, q->cq, NVME_QUEUE_PHYS_CONTIG), 0);
	assert_int_equal(create_sq(h, qid, size, q->sq, qid, NVME_QUEUE_PHYS_CONTIG), 0);
	return q;
}

static struct nvme_sqe rw_sqe(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb)
{
	return (struct nvme_sqe){
		.opc = opc,
		.nsid = nsid,
		.cdw10 = (uint32_t)slba,
		.cdw11 = (uint32_t)(slba >> 32),
		.cdw12 = nlb - 1,
	};
}

static int rw(struct host *h, struct tq *q, uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb,
	      void *buf, size_t len)
{
	struct nvme_sqe sqe = rw_sqe(opc, nsid, slba, nlb);

	if (buf)
		prp_fill(h, &sqe, buf, len);
	return run(h, q, &sqe, NULL);
}

static void fill(void *buf, size_t len, unsigned seed)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

static struct nvp_sim_stats *stats(struct host *h)
{
	static struct nvp_sim_stats s;

	nvp_sim_stats(h->sim, &s);
	return &s;
}

static void inject(struct host *h, struct nvp_sim_fault f)
{
	assert_int_equal(nvp_sim_inject(h->sim, &f), 0);
}

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

/* ---- options and registers --------------------------------------------- */

static void test_options(void **state)
{
	static const char *bad[] = {
		"foo=1", "ns=0", "ns=33", "lbads=1000", "lbads=256", "size=0", "size=12X", "mdts=16",
		"mqes=0", "nqueues=0", "dstrd=9", "ns", "ns=", ",ns=1", "ns=1,", "ns=1,,mdts=1",
		"lbads=512:4096,ns=3", "size=1000", "lbads=4096,size=6K", "size=1M:", "sgl=2",
		"lbads=512:4096:512,size=1M:2M", "dbbuf=2",
	};
	struct nvp_bus *bus;
	size_t i;

	(void)state;
	for (i = 0; i < NVP_ARRAY_SIZE(bad); i++) {
		bus = NULL;
		if (nvp_sim_ops.open(bad[i], NULL, &bus) != -EINVAL) {
			print_error("option string '%s' was accepted\n", bad[i]);
			fail();
		}
	}
	assert_int_equal(nvp_sim_ops.open("size=1G:16M,lbads=4096,ns=2,mdts=0,to=1,sn=ABC,dbbuf=0",
					  NULL, &bus), 0);
	bus->ops->close(bus);
}

static void test_registers(void **state)
{
	struct host *h = host_open(state, "");
	uint64_t cap = nvp_reg_read64(h->bar, NVME_REG_CAP);

	assert_string_equal(nvp_sim_ops.name, "sim");
	assert_string_equal(nvp_sim_ops.default_mem, "libc");
	assert_int_equal(NVME_GET(cap, CAP_MQES), 1023);
	assert_int_equal(NVME_GET(cap, CAP_CQR), 1);
	assert_int_equal(NVME_GET(cap, CAP_TO), 20);
	assert_int_equal(NVME_GET(cap, CAP_DSTRD), 0);
	assert_int_equal(NVME_GET(cap, CAP_CSS), NVME_CAP_CSS_NVM);
	assert_int_equal(NVME_GET(cap, CAP_MPSMIN), 0);
	assert_int_equal(reg32(h, NVME_REG_VS), 0x00010400);
	assert_int_equal(reg32(h, NVME_REG_CSTS), 0);
	assert_true(h->bus->bar0_len >= 16384);
	assert_int_equal((uintptr_t)h->bus->bar0 & (PAGE - 1), 0);
	/* Fake IOVAs: never the virtual address, and units not adjacent on the bus. */
	assert_true(h->iova[0] != (uintptr_t)h->mem);
	assert_true(h->iova[1] != h->iova[0] + NVP_DMA_UNIT_SIZE);
}

static void test_dstrd_mqes(void **state)
{
	struct host *h = host_up(state, "dstrd=2,mqes=7,nqueues=4");
	uint64_t cap = nvp_reg_read64(h->bar, NVME_REG_CAP);
	struct tq *q;
	uint8_t *buf;

	assert_int_equal(NVME_GET(cap, CAP_MQES), 7);
	assert_int_equal(NVME_GET(cap, CAP_DSTRD), 2);
	assert_true(h->bus->bar0_len >= NVME_REG_DBS + 2 * 5 * 16);
	/* Queues are reached through the 16-byte doorbell stride. */
	q = ioq(h, 4, 8);
	buf = host_alloc(h, 512);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 1, buf, 512), 0);
	assert_int_equal(create_cq(h, 3, 9, host_alloc(h, 9 * 16), NVME_QUEUE_PHYS_CONTIG),
			 CMD_DNR(NVME_SC_QUEUE_SIZE));
}

/* ---- controller state ------------------------------------------------- */

static void test_enable_disable_shutdown(void **state)
{
	struct host *h = host_open(state, "");
	uint32_t cc;

	assert_true(host_enable(h, 2));
	assert_int_equal(admin(h, NVME_ADMIN_KEEP_ALIVE, 0, 0, NULL), 0);
	host_disable(h);
	assert_int_equal(stats(h)->resets, 1);
	/* Enable again with the same memory: the model starts the queues at 0. */
	assert_true(host_enable(h, 2));
	assert_int_equal(admin(h, NVME_ADMIN_KEEP_ALIVE, 0, 0, NULL), 0);
	cc = cc_value(h, 1) | (uint32_t)NVME_SET(NVME_CC_SHN_NORMAL, CC_SHN);
	wreg32(h, NVME_REG_CC, cc);
	assert_true(wait_csts(h, CSTS_SHST, NVME_SET(NVME_CSTS_SHST_COMPLETE, CSTS_SHST), WAIT_MS));
	/* SHN back to 0 clears SHST (as QEMU does). */
	wreg32(h, NVME_REG_CC, cc_value(h, 1));
	assert_true(wait_csts(h, CSTS_SHST, 0, WAIT_MS));
	host_disable(h);
}

static void test_ready_delay(void **state)
{
	struct host *h = host_open(state, "ready_ms=60");
	uint64_t t0 = now_ms();

	assert_true(host_enable(h, 4));
	assert_true(now_ms() - t0 >= 60);
}

static void test_enable_refused(void **state)
{
	struct host *h = host_open(state, "");
	uint8_t *q = host_alloc(h, PAGE);

	/* ASQ outside any dma_map: a DMA fault, so CFS. */
	wreg32(h, NVME_REG_AQA, 0x00030003);
	nvp_reg_write64(h->bar, NVME_REG_ASQ, 0x4000);
	nvp_reg_write64(h->bar, NVME_REG_ACQ, iova(h, q));
	wreg32(h, NVME_REG_CC, cc_value(h, 1));
	assert_true(wait_csts(h, CSTS_CFS, CSTS_CFS, WAIT_MS));
	assert_int_equal(reg32(h, NVME_REG_CSTS) & CSTS_RDY, 0);
	assert_true(stats(h)->dma_faults >= 1);
	/* A reset clears CFS. */
	wreg32(h, NVME_REG_CC, cc_value(h, 0));
	assert_true(wait_csts(h, CSTS_CFS, 0, WAIT_MS));
	/* An admin queue of one entry is refused too. */
	wreg32(h, NVME_REG_AQA, 0);
	nvp_reg_write64(h->bar, NVME_REG_ASQ, iova(h, q));
	wreg32(h, NVME_REG_CC, cc_value(h, 1));
	assert_true(wait_csts(h, CSTS_CFS, CSTS_CFS, WAIT_MS));
	wreg32(h, NVME_REG_CC, cc_value(h, 0));
	assert_true(wait_csts(h, CSTS_CFS, 0, WAIT_MS));
	/* Unaligned ASQ. */
	nvp_reg_write64(h->bar, NVME_REG_ASQ, iova(h, q) + 64);
	wreg32(h, NVME_REG_AQA, 0x00030003);
	wreg32(h, NVME_REG_CC, cc_value(h, 1));
	assert_true(wait_csts(h, CSTS_CFS, CSTS_CFS, WAIT_MS));
	wreg32(h, NVME_REG_CC, cc_value(h, 0));
	assert_true(wait_csts(h, CSTS_CFS, 0, WAIT_MS));
	assert_true(host_enable(h, 4));
}

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
	assert_int_equal(c->oncs, NVME_ONCS_COMPARE | NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES);
	assert_int_equal(c->vwc & 1, 1);
	assert_int_equal(c->sgls & 3, 1);
	assert_int_equal(c->aerl, 3);
	assert_int_equal(c->elpe, 63);

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
		sqe.cdw12 = 4096;
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

/* ---- I/O -------------------------------------------------------------- */

static void test_read_write(void **state)
{
	struct host *h = host_up(state, "ns=2,lbads=512:4096,size=1M:4M");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *w = host_alloc(h, 64 * 1024), *r = host_alloc(h, 64 * 1024);

	fill(w, 64 * 1024, 1);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 10, 128, w, 64 * 1024), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 10, 128, r, 64 * 1024), 0);
	assert_memory_equal(w, r, 64 * 1024);
	/* Partial overlap, then the untouched neighbour reads as zeroes. */
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 74, 64, r, 32 * 1024), 0);
	assert_memory_equal(w + 32 * 1024, r, 32 * 1024);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 10, r, 5120), 0);
	assert_true(r[0] == 0 && r[5119] == 0);

	/* Namespace 2: 4 KiB blocks, last block. */
	fill(w, 8192, 2);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 2, 1022, 2, w, 8192), 0);
	memset(r, 0, 8192);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 2, 1022, 2, r, 8192), 0);
	assert_memory_equal(w, r, 8192);
	/* ... and namespace 1 did not see it. */
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 10, 16, r, 8192), 0);
	fill(w, 64 * 1024, 1);
	assert_memory_equal(w, r, 8192);

	assert_int_equal(rw(h, q, NVME_CMD_READ, 2, 1023, 2, r, 8192), GEN_DNR(NVME_SC_LBA_RANGE));
	assert_int_equal(rw(h, q, NVME_CMD_READ, 2, 1024, 1, r, 4096), GEN_DNR(NVME_SC_LBA_RANGE));
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, ~0ull, 1, r, 512), GEN_DNR(NVME_SC_LBA_RANGE));
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 3, 0, 1, r, 512), GEN_DNR(NVME_SC_INVALID_NS));
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 0, 0, 1, r, 512), GEN_DNR(NVME_SC_INVALID_NS));
	/* MDTS 5: 128 KiB; 33 blocks of 4 KiB is over. */
	assert_int_equal(rw(h, q, NVME_CMD_READ, 2, 0, 33, NULL, 0), GEN_DNR(NVME_SC_INVALID_FIELD));
	assert_int_equal(rw(h, q, 0x7e, 1, 0, 1, NULL, 0), GEN_DNR(NVME_SC_INVALID_OPCODE));
	assert_int_equal(stats(h)->io_cmds[NVME_CMD_READ], 9);
	assert_int_equal(stats(h)->io_cmds[NVME_CMD_WRITE], 4);
}

static void test_compare_zeroes_dsm_flush(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *w = host_alloc(h, 16384), *r = host_alloc(h, 16384);
	struct nvme_dsm_range *ranges = host_alloc(h, PAGE);
	struct nvme_sqe sqe;

	fill(w, 16384, 3);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 100, 32, w, 16384), 0);
	assert_int_equal(rw(h, q, NVME_CMD_COMPARE, 1, 100, 32, w, 16384), 0);
	w[5000] ^= 1;
	assert_int_equal(rw(h, q, NVME_CMD_COMPARE, 1, 100, 32, w, 16384),
			 ST(NVME_SCT_MEDIA, NVME_SC_COMPARE_FAILED));
	w[5000] ^= 1;

	/* Write Zeroes of blocks 104..111, the rest stays. */
	assert_int_equal(rw(h, q, NVME_CMD_WRITE_ZEROES, 1, 104, 8, NULL, 0), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 100, 32, r, 16384), 0);
	memset(w + 2048, 0, 4096);
	assert_memory_equal(w, r, 16384);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE_ZEROES, 1, 131071, 2, NULL, 0),
			 GEN_DNR(NVME_SC_LBA_RANGE));
	/* Write Zeroes is not bound by MDTS. */
	assert_int_equal(rw(h, q, NVME_CMD_WRITE_ZEROES, 1, 0, 65536, NULL, 0), 0);

	/* Deallocate two ranges: they read back as zeroes. */
	fill(w, 16384, 4);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 100, 32, w, 16384), 0);
	ranges[0] = (struct nvme_dsm_range){ .nlb = 2, .slba = 100 };
	ranges[1] = (struct nvme_dsm_range){ .nlb = 3, .slba = 129 };
	sqe = (struct nvme_sqe){ .opc = NVME_CMD_DSM, .nsid = 1, .cdw10 = 1,
				 .cdw11 = NVME_DSM_ATTR_DEALLOCATE };
	prp_fill(h, &sqe, ranges, 32);
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 100, 32, r, 16384), 0);
	memset(w, 0, 1024);
	memset(w + 29 * 512, 0, 3 * 512);
	assert_memory_equal(w, r, 16384);
	/* A bad range fails the whole command, nothing is dropped. */
	ranges[0] = (struct nvme_dsm_range){ .nlb = 1, .slba = 102 };
	ranges[1] = (struct nvme_dsm_range){ .nlb = 1, .slba = 1u << 20 };
	sqe = (struct nvme_sqe){ .opc = NVME_CMD_DSM, .nsid = 1, .cdw10 = 1,
				 .cdw11 = NVME_DSM_ATTR_DEALLOCATE };
	prp_fill(h, &sqe, ranges, 32);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_LBA_RANGE));
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 100, 32, r, 16384), 0);
	assert_memory_equal(w, r, 16384);

	sqe = (struct nvme_sqe){ .opc = NVME_CMD_FLUSH, .nsid = 1 };
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	sqe = (struct nvme_sqe){ .opc = NVME_CMD_FLUSH, .nsid = 0xffffffff };
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	sqe = (struct nvme_sqe){ .opc = NVME_CMD_FLUSH, .nsid = 2 };
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_INVALID_NS));
}

static void test_dma_faults(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *buf = host_alloc(h, 8192);
	struct nvme_sqe sqe = rw_sqe(NVME_CMD_READ, 1, 0, 1);
	uint64_t faults = stats(h)->dma_faults;

	/* A virtual address is not a bus address. */
	sqe.prp1 = (uintptr_t)buf;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	assert_int_equal(stats(h)->dma_faults, faults + 1);
	/* Past the end of the first unit: the hole, not the second unit. */
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 16);
	sqe.prp1 = h->iova[0] + NVP_DMA_UNIT_SIZE - PAGE;
	sqe.prp2 = h->iova[0] + NVP_DMA_UNIT_SIZE;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	assert_int_equal(stats(h)->dma_faults, faults + 2);
	/* The same transfer with the right per-unit address works. */
	sqe.prp2 = h->iova[1];
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	/* A write from unmapped memory leaves the namespace alone. */
	sqe = rw_sqe(NVME_CMD_WRITE, 1, 0, 1);
	sqe.prp1 = 0x1000;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	assert_int_equal(stats(h)->dma_faults, faults + 3);
}

static void test_prp(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *w = host_alloc(h, 64 * 1024), *r = host_alloc(h, 64 * 1024);
	uint64_t *list = host_alloc(h, 2 * PAGE), *list2 = host_alloc(h, PAGE);
	uint8_t *p1 = host_alloc_unit1(h, 0);
	struct nvme_sqe sqe;
	unsigned i;

	fill(w, 64 * 1024, 5);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 128, w, 64 * 1024), 0);

	/* PRP1 at a dword offset, PRP2 the next page: 4 KiB across two pages. */
	memset(r, 0, 8192);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 8, r + 100, 4096), 0);
	assert_memory_equal(r + 100, w, 4096);

	/* Chained list: the first list page holds two entries (data, then the chain). */
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 32);
	sqe.prp1 = iova(h, p1);
	sqe.prp2 = iova(h, (uint8_t *)list + PAGE - 16);
	list[PAGE / 8 - 2] = iova(h, p1 + 3 * PAGE);
	list[PAGE / 8 - 1] = iova(h, list2);
	list2[0] = iova(h, p1 + PAGE);	/* pages out of order on purpose */
	list2[1] = iova(h, p1 + 2 * PAGE);
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	assert_memory_equal(p1, w, PAGE);
	assert_memory_equal(p1 + 3 * PAGE, w + PAGE, PAGE);
	assert_memory_equal(p1 + PAGE, w + 2 * PAGE, PAGE);
	assert_memory_equal(p1 + 2 * PAGE, w + 3 * PAGE, PAGE);

	/* A list over many pages: 64 KiB from 16 separate pages in the second unit. */
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 128);
	sqe.prp1 = iova(h, p1 + 100 * PAGE);
	for (i = 1; i < 16; i++)
		list[i - 1] = iova(h, p1 + (100 + 2 * i) * PAGE);
	sqe.prp2 = iova(h, list);
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	for (i = 0; i < 16; i++)
		assert_memory_equal(p1 + (100 + (i ? 2 * i : 0)) * PAGE, w + i * PAGE, PAGE);

	/* Offsets: PRP1 not dword aligned, PRP2 data page and list entry not page aligned. */
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 1);
	sqe.prp1 = iova(h, r) + 2;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_PRP_OFFSET_INVALID));
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 16);
	sqe.prp1 = iova(h, r);
	sqe.prp2 = iova(h, r + PAGE) + 512;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_PRP_OFFSET_INVALID));
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 24);
	sqe.prp1 = iova(h, r);
	list[0] = iova(h, r + PAGE);
	list[1] = iova(h, r + 2 * PAGE) + 8;
	sqe.prp2 = iova(h, list);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_PRP_OFFSET_INVALID));
	/* List entry unmapped: Data Transfer Error. */
	list[1] = 0x7000;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	/* List pointer itself unmapped. */
	sqe.prp2 = 0x9000;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
}

/* CC.MPS = 1: 8 KiB memory pages change the PRP arithmetic. */
static void test_prp_8k_pages(void **state)
{
	struct host *h = host_open(state, "");
	struct tq *q;
	uint8_t *w, *r;

	h->mps = 1;
	assert_true(host_enable(h, 4));
	q = ioq(h, 1, 4);
	w = host_alloc(h, 65536);
	r = host_alloc(h, 65536);
	fill(w, 65536, 6);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 128, w, 65536), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 120, r + 4096, 61440), 0);
	assert_memory_equal(w, r + 4096, 61440);
	/* 4 KiB aligned is not 8 KiB aligned any more. */
	assert_int_equal(create_cq(h, 2, 4, r + 4096, 1), GEN_DNR(NVME_SC_PRP_OFFSET_INVALID));
}

static struct nvme_sgl_desc sgl(uint64_t addr, uint32_t len, unsigned type)
{
	return (struct nvme_sgl_desc){ .addr = addr, .length = len, .type = (uint8_t)(type << 4) };
}

static void test_sgl(void **state)
{
	struct host *h = host_up(state, "");
	struct tq *q = ioq(h, 1, 8);
	uint8_t *w = host_alloc(h, 16384), *r = host_alloc(h, 16384);
	struct nvme_sgl_desc *seg1 = host_alloc(h, PAGE), *seg2 = host_alloc(h, PAGE);
	struct nvme_sqe sqe;

	fill(w, 16384, 7);
	/* One data block in the SQE, at an odd address. */
	sqe = rw_sqe(NVME_CMD_WRITE, 1, 0, 8);
	sqe.flags = NVME_PSDT_SGL << NVME_SQE_PSDT_SHIFT;
	sqe.sgl = sgl(iova(h, w + 1), 4096, 0);
	memmove(w + 1, w, 4096);
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	assert_int_equal(rw(h, q, NVME_CMD_READ, 1, 0, 8, r, 4096), 0);
	assert_memory_equal(r, w + 1, 4096);

	/* Segment -> last segment, with a bit bucket skipping 512 bytes. */
	fill(w, 16384, 8);
	assert_int_equal(rw(h, q, NVME_CMD_WRITE, 1, 0, 8, w, 4096), 0);
	memset(r, 0xee, 16384);
	seg1[0] = sgl(iova(h, r), 1000, 0);
	seg1[1] = sgl(iova(h, seg2), 32, 3);
	seg2[0] = sgl(0, 512, 1);
	seg2[1] = sgl(iova(h, r + 8192), 4096 - 1512, 0);
	sqe = rw_sqe(NVME_CMD_READ, 1, 0, 8);
	sqe.flags = NVME_PSDT_SGL << NVME_SQE_PSDT_SHIFT;
	sqe.sgl = sgl(iova(h, seg1), 32, 2);
	assert_int_equal(run(h, q, &sqe, NULL), 0);
	assert_memory_equal(r, w, 1000);
	assert_int_equal(r[1000], 0xee);
	assert_memory_equal(r + 8192, w + 1512, 4096 - 1512);

	/* Too little data described, or too much. */
	seg2[1].length -= 4;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_DATA));
	seg2[1].length += 8;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_DATA));
	seg2[1].length -= 4;
	/* A bit bucket in a write. */
	sqe.opc = NVME_CMD_WRITE;
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_TYPE));
	sqe.opc = NVME_CMD_READ;
	/* A segment descriptor inside the last segment. */
	seg2[0] = sgl(iova(h, seg1), 32, 2);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_LAST));
	/* Bad type, bad length of a segment, unmapped segment. */
	sqe.sgl = sgl(iova(h, seg1), 32, 5);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_TYPE));
	sqe.sgl = sgl(iova(h, seg1), 24, 2);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_SGL_INVALID_COUNT));
	sqe.sgl = sgl(0x5000, 32, 3);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	/* A data block running off its 2 MiB unit. */
	sqe.sgl = sgl(h->iova[0] + NVP_DMA_UNIT_SIZE - 512, 4096, 0);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_DATA_XFER_ERROR));
	/* Admin commands take PRPs only. */
	sqe = (struct nvme_sqe){ .opc = NVME_ADMIN_IDENTIFY, .flags = NVME_PSDT_SGL << NVME_SQE_PSDT_SHIFT, .cdw10 = 1 };
	sqe.sgl = sgl(iova(h, r), 4096, 0);
	assert_int_equal(run(h, &h->aq, &sqe, NULL), GEN_DNR(NVME_SC_INVALID_FIELD));
}

static void test_sgl_disabled(void **state)
{
	struct host *h = host_up(state, "sgl=0");
	struct tq *q = ioq(h, 1, 4);
	uint8_t *r = host_alloc(h, 4096);
	struct nvme_id_ctrl *c = host_alloc(h, 4096);
	struct nvme_sqe sqe = rw_sqe(NVME_CMD_READ, 1, 0, 8);

	assert_int_equal(admin_data(h, NVME_ADMIN_IDENTIFY, 0, NVME_ID_CNS_CTRL, 0, c, 4096, NULL), 0);
	assert_int_equal(c->sgls, 0);
	sqe.flags = NVME_PSDT_SGL << NVME_SQE_PSDT_SHIFT;
	sqe.sgl = sgl(iova(h, r), 4096, 0);
	assert_int_equal(run(h, q, &sqe, NULL), GEN_DNR(NVME_SC_INVALID_FIELD));
}

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
#define T(fn) cmocka_unit_test_teardown(fn, teardown)
		T(test_options),
		T(test_registers),
		T(test_dstrd_mqes),
		T(test_enable_disable_shutdown),
		T(test_ready_delay),
		T(test_enable_refused),
		T(test_identify),
		T(test_features),
		T(test_vwc_absent),
		T(test_queue_checks),
		T(test_queue_entry_sizes),
		T(test_log_pages),
		T(test_read_write),
		T(test_compare_zeroes_dsm_flush),
		T(test_dma_faults),
		T(test_prp),
		T(test_prp_8k_pages),
		T(test_sgl),
		T(test_sgl_disabled),
		T(test_queue_wrap),
		T(test_cq_full),
		T(test_batch),
		T(test_dma_map_rules),
		T(test_abort),
		T(test_abort_queued),
		T(test_shared_cq),
		T(test_two_sims),
		T(test_delete_sq_with_held),
		T(test_aer),
		T(test_dbbuf_offered),
		T(test_dbbuf_config_checks),
		T(test_dbbuf_sq_wakes_on_register),
		T(test_dbbuf_sq_eventidx),
		T(test_dbbuf_cq_shadow_head),
		T(test_dbbuf_reset),
		T(test_dbbuf_host_protocol),
		T(test_fault_fatal),
		T(test_fault_never_ready),
		T(test_unmap_after_disable),
		T(test_fault_drop_delay),
		T(test_fault_status),
		T(test_fault_bad_cqes),
		T(test_fault_remove),
		T(test_fault_api_checks),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
