/* SPDX-License-Identifier: MIT */
/*
 * The I/O hot path, inline: request slots, posting an SQ entry, ringing the
 * SQ tail doorbell, reaping CQ entries. Included by <nvpoll.h>; use the
 * functions documented there, not the nvp__ internals below.
 *
 * A qpair belongs to one thread: nothing here takes a lock or an atomic.
 */
#ifndef NVPOLL_QPAIR_H
#define NVPOLL_QPAIR_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <nvpoll/barrier.h>
#include <nvpoll/spec.h>
#include <nvpoll/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NVP_NO_CID 0xffffu
/* A timeout that never comes: far enough that adding "now" cannot wrap. */
#define NVP_NO_TIMEOUT (UINT64_MAX >> 2)

struct nvp_dev;
struct nvp_dma_region;
struct nvp_transport_ops;

/*
 * A busy slot's state. Submission takes no time stamp and stores no
 * timeout: the periodic check (nvp__qpair_check, at most once a
 * millisecond) gives each POSTED slot it finds the deadline now + the
 * qpair's timeout and makes it STAMPED (nvp_qpair_set_timeout() does the
 * same, with the old timeout, for the slots posted before it). So a deadline counts from at most one
 * check after submission -- never earlier -- and a command that completes
 * before the next check costs no time stamp at all.
 */
#define NVP_REQ_POSTED 1
#define NVP_REQ_STAMPED 2

/* Per-slot flags. */
#define NVP_REQ_TIMED_OUT 0x1	/* deadline passed: completes with -ETIMEDOUT */
#define NVP_REQ_ABORTED 0x2	/* an Abort was sent for it */

/* One command slot; its index is the command id (cid). */
struct nvp_req {
	nvp_cb cb;
	void *arg;
	uint64_t deadline;	 /* STAMPED: the deadline in nvp__ticks(); POSTED: not set yet */
	union {
		struct {
			uint8_t busy;	 /* 0 idle, NVP_REQ_POSTED or NVP_REQ_STAMPED from submission to completion */
			uint8_t flags;	 /* NVP_REQ_* */
			uint16_t spare;	 /* always 0 */
		};
		/* All (little-endian: busy | flags << 8), for one test on completion; 32 bits: one store clears it. */
		uint32_t state;
	};
	uint32_t xfer_len;	 /* data bytes: what a transport other than PCIe hands on */
	uint64_t *prp_list;	 /* this slot's PRP list memory */
	uint64_t prp_list_iova;
	struct nvme_sqe sqe;	 /* as submitted: a controller reset resubmits it */
} __attribute__((aligned(64)));
/* Two cache lines a slot: a field more would make every slot, and every command, touch a third. */
NVME_STATIC_ASSERT(sizeof(struct nvp_req) == 128, "struct nvp_req is two cache lines");

struct nvp_qpair {
	/* Submission side: every submit touches these, and nothing else of the qpair (one cache line). */
	struct nvme_sqe *sq;
	struct nvp_req *reqs;
	/*
	 * The DMA region of the last data buffer (lib/nvme/io.c), copied here so
	 * that finding a buffer's bus address reads no other line: its start,
	 * length (0: none yet) and per-2-MiB-unit bus addresses.
	 */
	const uint8_t *dma_va;
	size_t dma_len;
	const uint64_t *dma_unit_iova;
	uint64_t timeout_ticks;	/* per-command deadline (stamped by the periodic check); NVP_NO_TIMEOUT: none */
	uint16_t sq_tail;
	uint16_t size;		/* entries in the SQ and in the CQ */
	/*
	 * The idle slots: a stack of cids in the 2 * (size - 1) bytes just below
	 * reqs[0], its top at ((uint16_t *)reqs)[free_top]; free_top runs from
	 * -(size - 1) (all idle) to 0 (all busy, or dead). So the commands in
	 * flight are size - 1 + free_top, with no counter to keep.
	 */
	int16_t free_top;
	uint16_t spare;
	uint32_t page_size;	/* controller memory page size in bytes ... */
	uint32_t max_xfer;	/* bytes per command */
	/* Read when ringing, once a batch (the second line). */
	volatile uint32_t *sq_db;
	volatile uint32_t *sq_shadow;	   /* shadow doorbell, NULL without Doorbell Buffer Config ... */
	const volatile uint32_t *sq_eventidx; /* ... and the controller's EventIdx next to it */
	uint16_t sq_tail_rung;	/* tail value last handed to the controller (register or shadow) */
	uint16_t page_shift;	/* ... and its log2 (PRP lists) */

	/* Completion side: every poll touches these. */
	volatile struct nvme_cqe *cq;
	volatile uint32_t *cq_db;
	volatile uint32_t *cq_shadow;	   /* as for the SQ */
	const volatile uint32_t *cq_eventidx;
	uint16_t cq_head;
	uint16_t phase;		/* phase value of new entries */
	uint16_t sq_head;	/* as last reported by the controller */
	uint16_t qid;
	const unsigned *dev_gen; /* the controller's reset generation ... */
	unsigned gen;		 /* ... and the one this qpair's queues exist in */
	int dead;		 /* device removed: every command ends with -ENODEV */

	struct nvp_qpair_stats stats;

	/* Private to lib/nvme: PRP building reads these, nothing else does per I/O. */
	const struct nvp_dma_region *last_region; /* the region dma_va.. was copied from */
	const struct nvp_dma_region *prp_region;  /* the region prp_mem lies in */
	unsigned prp_entries;	/* PRP list entries per slot */

	/* Cold: set up and torn down by lib/nvme, never read per I/O. */
	struct nvp_dev *dev;
	void *reqs_mem;		/* the stack of idle cids, then reqs */
	void *sq_mem;
	void *cq_mem;
	void *prp_mem;
	uint64_t next_check;	/* nvp__ticks() of the next timeout/health check */

	/* Transports other than PCIe (lib/nvme/transport.h); xport NULL for PCIe. */
	const struct nvp_transport_ops *xport;
	void *xport_priv;
	uint16_t xport_sq_head;	/* next SQ entry the transport takes */
	uint16_t xport_cq_tail;	/* where it posts the next completion ... */
	uint16_t xport_cq_phase; /* ... with this phase */
	uint32_t xport_db[2];	/* the doorbells: nothing reads them */
};
/* The qpair is allocated 64-byte aligned (lib/nvme/qpair.c): every submit touches one cache line of it. */
NVME_STATIC_ASSERT(offsetof(struct nvp_qpair, sq_db) == 64, "per-submit fields of nvp_qpair fill one cache line");

/*
 * A cheap, monotonic time stamp for deadlines: the TSC on x86 (one
 * instruction), CLOCK_MONOTONIC nanoseconds elsewhere. Converted from
 * milliseconds by the library, never compared with wall time.
 */
static inline uint64_t nvp__ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* Out of line: an entry whose cid is unknown or idle, or sq_head out of range (logged once, counted). */
void nvp__qpair_bad_cqe(struct nvp_qpair *qp, const struct nvme_cqe *cqe);
/* Out of line: any completion but a success of a busy slot with no flag (bad cid, error status, timed out). */
void nvp__qpair_complete_slow(struct nvp_qpair *qp, const struct nvme_cqe *cqe);
/* Out of line, every 128 polls: deadlines, device health, and recovery after a controller reset. */
void nvp__qpair_check(struct nvp_qpair *qp);
void nvp__qpair_recover(struct nvp_qpair *qp);

/* Bytes below reqs[0] that hold the stack of idle cids (whole cache lines: the slots stay aligned). */
#define NVP__FREE_CIDS_BYTES(slots) (((size_t)(slots) * sizeof(uint16_t) + 63) & ~(size_t)63)

/* The stack of idle cids: index it with free_top (from -(size - 1) to -1). */
static inline uint16_t *nvp__free_cids(const struct nvp_qpair *qp)
{
	return (uint16_t *)(void *)qp->reqs;
}

/* Every slot idle, taken in cid order from 0 (the memory below reqs[0] must be there). */
static inline void nvp__free_reset(struct nvp_qpair *qp)
{
	int slots = qp->size - 1;

	for (int i = 0; i < slots; i++)
		nvp__free_cids(qp)[i - slots] = (uint16_t)i;
	qp->free_top = (int16_t)-slots;
}

/* Commands in flight: taken slots; none on a dead qpair (its free stack is emptied for good). */
static inline unsigned nvp__outstanding(const struct nvp_qpair *qp)
{
	return qp->dead ? 0 : (unsigned)(qp->size - 1 + qp->free_top);
}

/* Take an idle slot; NULL when the qpair is full. */
static inline struct nvp_req *nvp__req_get(struct nvp_qpair *qp, uint16_t *cid)
{
	int top = qp->free_top;
	uint16_t c;
	struct nvp_req *req;

	if (__builtin_expect(top == 0, 0))
		return NULL;
	c = nvp__free_cids(qp)[top];
	qp->free_top = (int16_t)(top + 1);
	req = &qp->reqs[c];
	req->busy = NVP_REQ_POSTED;
	*cid = c;
	return req;
}

/* Give back a slot taken by nvp__req_get(): never posted, or completed. */
static inline void nvp__req_put(struct nvp_qpair *qp, uint16_t cid)
{
	struct nvp_req *req = &qp->reqs[cid];

	req->state = 0; /* busy and flags */
	(nvp__free_cids(qp) + qp->free_top)[-1] = cid;
	qp->free_top--;
}

/*
 * Copy @sqe into the SQ at the tail and advance it. Slots number size - 1,
 * so a taken slot guarantees a free SQ entry: the controller's head (as last
 * reported) never lags more than the commands still in flight.
 */
static inline void nvp__sq_post(struct nvp_qpair *qp, const struct nvme_sqe *sqe)
{
	qp->sq[qp->sq_tail] = *sqe;
	if (++qp->sq_tail == qp->size)
		qp->sq_tail = 0;
	qp->stats.submitted++;
}

/*
 * Shadow doorbells (Doorbell Buffer Config, for emulated controllers whose
 * register writes trap): store the new value @val (it was @old) in the
 * shadow doorbell, then say whether the register must be written too --
 * only when the controller's EventIdx lies in [old, val), that is, when it
 * stopped reading the shadow somewhere in the entries just published.
 */
static inline int nvp__shadow_db_update(volatile uint32_t *shadow, const volatile uint32_t *eventidx,
					uint16_t val, uint16_t old)
{
	*shadow = val;
	nvp_mb(); /* the controller must see the value before we read its EventIdx */
	return (uint16_t)(val - (uint16_t)*eventidx - 1) < (uint16_t)(val - old);
}

/* Hand doorbell value @val (it was @old) to the controller: the register, or its shadow when that suffices. */
static inline void nvp__doorbell(volatile uint32_t *reg, volatile uint32_t *shadow, const volatile uint32_t *eventidx,
				 uint16_t val, uint16_t old, uint64_t *reg_writes)
{
	if (!shadow || nvp__shadow_db_update(shadow, eventidx, val, old)) {
		*reg = val;
		(*reg_writes)++;
	}
}

/* Ring the SQ tail doorbell if anything was posted since the last ring. */
static inline void nvp_qpair_ring(struct nvp_qpair *qp)
{
	uint16_t tail = qp->sq_tail;

	if (tail == qp->sq_tail_rung)
		return;
	nvp_wmb(); /* the controller must see the entries before the new tail */
	nvp__doorbell(qp->sq_db, qp->sq_shadow, qp->sq_eventidx, tail, qp->sq_tail_rung, &qp->stats.sq_doorbells);
	qp->sq_tail_rung = tail;
}

/* A slot's state word (busy | flags << 8) that completes without a look at the flags: busy, none set. */
#define NVP__REQ_STATE_PLAIN(st) ((uint32_t)((st) - NVP_REQ_POSTED) <= NVP_REQ_STAMPED - NVP_REQ_POSTED)

static inline void nvp__qpair_complete(struct nvp_qpair *qp, const struct nvme_cqe *cqe)
{
	uint16_t cid = cqe->cid;
	struct nvp_req *req = &qp->reqs[cid];
	nvp_cb cb;
	void *arg;

	/*
	 * Slots number size - 1; a cid outside them or idle is never trusted
	 * (req is not read before the bound holds). One test of the slot's
	 * state word covers idle and flagged (timed out); any SCT/SC bit set is
	 * an error (CRD, More and DNR alone are not). All of those: out of line.
	 */
	if (__builtin_expect(cid >= qp->size - 1 || !NVP__REQ_STATE_PLAIN(req->state) ||
			     (cqe->status & NVME_CQE_STATUS_CODE), 0)) {
		nvp__qpair_complete_slow(qp, cqe);
		return;
	}
	/* Never an index: checked against the ring size by the periodic check. */
	qp->sq_head = cqe->sq_head;
	cb = req->cb;
	arg = req->arg;
	/* Free the slot before the callback, so the callback can resubmit. */
	nvp__req_put(qp, cid);
	qp->stats.completed++;
	cb(arg, 0, cqe);
}

/*
 * Ring the SQ doorbell if needed, then reap up to @max completions (0: up
 * to a ring's worth), running their callbacks. Writes the CQ head doorbell
 * (or its shadow) once for the whole batch. Every 128 calls it also checks
 * deadlines and the controller's health (out of line), and after a
 * controller reset it re-creates this qpair's queues first. Returns the CQ
 * entries consumed.
 */
static inline unsigned nvp_qpair_poll(struct nvp_qpair *qp, unsigned max)
{
	uint16_t head, phase, old_head;
	unsigned n = 0;

	/* Acquire: a reset on another thread bumped it after rebuilding the controller. */
	if (__builtin_expect(qp->gen != nvp_load_acquire(qp->dev_gen), 0))
		nvp__qpair_recover(qp);
	nvp_qpair_ring(qp);
	if (__builtin_expect((++qp->stats.polls & 127) == 0, 0))
		nvp__qpair_check(qp);
	/* Cap the batch so the head doorbell never lags a whole ring. */
	if (max == 0 || max > (unsigned)qp->size - 1)
		max = qp->size - 1;
	/*
	 * Callbacks may submit but never poll (a reset is acted on above, never
	 * inside one): the CQ head and phase stay in registers, stored once after.
	 */
	head = old_head = qp->cq_head;
	phase = qp->phase;
	while (n < max) {
		volatile struct nvme_cqe *vc = &qp->cq[head];

		if ((vc->status & NVME_CQE_PHASE) != phase)
			break;
		nvp_rmb(); /* read the rest of the entry only after its phase bit */
		if (++head == qp->size) {
			head = 0;
			phase ^= 1;
		}
		/*
		 * The entry itself, not a copy: the controller reuses it only after
		 * the CQ head doorbell below, so it holds still through the callback.
		 */
		nvp__qpair_complete(qp, (const struct nvme_cqe *)(uintptr_t)vc);
		n++;
	}
	if (n == 0) {
		qp->stats.polls_empty++;
		return 0;
	}
	qp->cq_head = head;
	qp->phase = phase;
	nvp_rmb(); /* done reading the entries before the controller may reuse them */
	nvp__doorbell(qp->cq_db, qp->cq_shadow, qp->cq_eventidx, head, old_head, &qp->stats.cq_doorbells);
	return n;
}

#ifdef __cplusplus
}
#endif

#endif /* NVPOLL_QPAIR_H */
