/* SPDX-License-Identifier: MIT */
/*
 * The completion path fed arbitrary CQ memory: a qpair built by hand, as
 * test/unit/test_qpair_ring.c builds one (no device; the fuzz input plays
 * the controller), driven by a small program read from the input. A shadow
 * of the posted commands checks every callback and counter.
 *
 * Input: u8 queue size (2..64), then ops until the input ends, each an
 * opcode byte (n % 6) and its operands:
 *   0 POST k       post k % size commands (until the qpair is full)
 *   1 RAW i e[16]  write 16 raw bytes over CQ entry i % size
 *   2 POLL m       nvp_qpair_poll(qp, m)
 *   3 CPL c s h    "controller" completes: at its own tail, its own phase,
 *                  cid c, status s << 1, SQ head h (u8 each)
 *   4 RESUBMIT     toggle: callbacks post a new command (at most 64 times)
 *   5 FILL e[16*size]  write the whole CQ (as much as the input has)
 * Invariants: each callback belongs to a posted, not yet completed
 * command, and runs once; its error matches the status; consumed entries
 * = callbacks + bad_cqes; outstanding matches the shadow; doorbells carry
 * the heads/tails; at the end the free list holds exactly the idle slots
 * and every one of them can be taken again. ASan watches the rings and
 * the slots, each in an allocation of exactly its size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nvme/nvme.h"

#define MAX_SIZE 64
#define MAX_RESUBMITS 64

struct fake {
	struct nvp_bus bus;
	struct nvp_dev dev;
	struct nvp_qpair qp;
	uint32_t sq_db, cq_db;
	unsigned gen;
	uint16_t dev_cq_tail, dev_phase;	/* the "controller" side */
	uint8_t posted[MAX_SIZE];		/* shadow: cid in flight */
	unsigned in_flight, calls, resubmits;
	int resubmit;
};

static void on_done(void *arg, int err, const struct nvme_cqe *cqe);

static int post(struct fake *f)
{
	struct nvme_sqe sqe = { .opc = NVME_CMD_READ };
	struct nvp_req *req;
	uint16_t cid;

	req = nvp__req_get(&f->qp, &cid);
	if (!req) {
		FUZZ_CHECK(f->in_flight == f->qp.size - 1u);
		return -1;
	}
	FUZZ_CHECK(cid < f->qp.size - 1 && !f->posted[cid]);
	f->posted[cid] = 1;
	f->in_flight++;
	req->cb = on_done;
	req->arg = f;
	req->deadline = UINT64_MAX;
	sqe.cid = cid;
	nvp__sq_post(&f->qp, &sqe);
	return cid;
}

static void on_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct fake *f = arg;
	uint16_t cid = cqe->cid;

	/* Only a posted command completes, and only once. */
	FUZZ_CHECK(cid < f->qp.size - 1 && f->posted[cid]);
	FUZZ_CHECK(err == ((cqe->status & NVME_CQE_STATUS_CODE) ? -EIO : 0));
	f->posted[cid] = 0;
	f->in_flight--;
	f->calls++;
	/* The slot is free before the callback runs. */
	FUZZ_CHECK(!f->qp.reqs[cid].busy && nvp__outstanding(&f->qp) == f->in_flight);
	if (f->resubmit && f->resubmits < MAX_RESUBMITS) {
		f->resubmits++;
		FUZZ_CHECK(post(f) >= 0);
	}
}

static struct fake *fake_new(unsigned size)
{
	static int logged; /* nvp__qpair_bad_cqe() logs a qpair's first one: once per run is enough */
	struct fake *f = calloc(1, sizeof(*f));

	FUZZ_CHECK(f != NULL);
	snprintf(f->bus.name, sizeof(f->bus.name), "fuzz");
	f->dev.bus = &f->bus;
	f->qp.dev = &f->dev;
	f->qp.size = (uint16_t)size;
	f->qp.sq = malloc(size * sizeof(struct nvme_sqe));
	f->qp.cq = calloc(size, sizeof(struct nvme_cqe));
	f->qp.sq_db = &f->sq_db;
	f->qp.cq_db = &f->cq_db;
	f->qp.phase = 1;
	f->qp.dev_gen = &f->gen;
	f->qp.timeout_ticks = UINT64_MAX;
	f->qp.reqs_mem = aligned_alloc(64, NVP__FREE_CIDS_BYTES(size - 1) + (size - 1) * sizeof(*f->qp.reqs));
	f->qp.reqs = f->qp.reqs_mem ? (struct nvp_req *)(void *)((char *)f->qp.reqs_mem + NVP__FREE_CIDS_BYTES(size - 1)) : NULL;
	FUZZ_CHECK(f->qp.sq && f->qp.cq && f->qp.reqs);
	memset(f->qp.reqs, 0, (size - 1) * sizeof(*f->qp.reqs));
	nvp__free_reset(&f->qp);
	f->dev_phase = 1;
	f->qp.stats.bad_cqes = logged++ ? 1 : 0;
	return f;
}

static void fake_free(struct fake *f)
{
	free(f->qp.reqs_mem);
	free((void *)f->qp.cq);
	free(f->qp.sq);
	free(f);
}

static void poll_once(struct fake *f, unsigned max)
{
	struct nvp_qpair *qp = &f->qp;
	uint64_t bad = qp->stats.bad_cqes, completed = qp->stats.completed;
	unsigned calls = f->calls, limit = max == 0 || max > qp->size - 1u ? qp->size - 1u : max;
	unsigned n = nvp_qpair_poll(qp, max);

	FUZZ_CHECK(n <= limit);
	FUZZ_CHECK(n == (f->calls - calls) + (qp->stats.bad_cqes - bad));
	FUZZ_CHECK(qp->stats.completed - completed == f->calls - calls);
	FUZZ_CHECK(nvp__outstanding(qp) == f->in_flight);
	/* sq_head is the device's word, never an index: the periodic check validates it. */
	FUZZ_CHECK(qp->cq_head < qp->size && qp->phase <= 1);
	if (n)
		FUZZ_CHECK(f->cq_db == qp->cq_head);
	/* Callbacks may have posted: those wait for the next ring. */
	FUZZ_CHECK(qp->sq_tail < qp->size);
}

/* The free list holds exactly the idle slots, once each; all of them can be taken. */
static void check_slots(struct fake *f)
{
	struct nvp_qpair *qp = &f->qp;
	unsigned slots = qp->size - 1u, idle = 0, busy = 0, taken = 0;
	uint8_t seen[MAX_SIZE] = { 0 };
	uint16_t cid;

	for (unsigned i = 0; i < slots; i++)
		busy += qp->reqs[i].busy != 0;
	FUZZ_CHECK(busy == f->in_flight && nvp__outstanding(qp) == f->in_flight);
	FUZZ_CHECK(qp->free_top >= -(int)slots && qp->free_top <= 0);
	for (int i = qp->free_top; i < 0; i++) {
		cid = nvp__free_cids(qp)[i];
		FUZZ_CHECK(cid < slots && !seen[cid] && !qp->reqs[cid].busy);
		seen[cid] = 1;
		idle++;
	}
	FUZZ_CHECK(idle + busy == slots);
	while (nvp__req_get(qp, &cid)) {
		FUZZ_CHECK(cid < slots && seen[cid]);
		seen[cid] = 0;
		taken++;
	}
	FUZZ_CHECK(taken == idle && nvp__outstanding(qp) == slots);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned qsize = 2 + (unsigned)(fuzz_take(&in, 1) % (MAX_SIZE - 1));
	struct fake *f = fake_new(qsize);
	volatile struct nvme_cqe *cq = f->qp.cq;

	while (in.left) {
		switch (fuzz_take(&in, 1) % 6) {
		case 0: {
			unsigned k = (unsigned)(fuzz_take(&in, 1) % qsize);

			while (k-- && post(f) >= 0)
				;
			break;
		}
		case 1: {
			unsigned i = (unsigned)(fuzz_take(&in, 1) % qsize);
			struct nvme_cqe e;

			for (unsigned b = 0; b < sizeof(e); b++)
				((uint8_t *)&e)[b] = (uint8_t)fuzz_take(&in, 1);
			cq[i] = e;
			break;
		}
		case 2:
			poll_once(f, (unsigned)fuzz_take(&in, 1));
			break;
		case 3: {
			struct nvme_cqe e = { 0 };

			e.cid = (uint16_t)fuzz_take(&in, 1);
			e.status = (uint16_t)(fuzz_take(&in, 1) << 1 | f->dev_phase);
			e.sq_head = (uint16_t)fuzz_take(&in, 1);
			cq[f->dev_cq_tail] = e;
			if (++f->dev_cq_tail == qsize) {
				f->dev_cq_tail = 0;
				f->dev_phase ^= 1;
			}
			break;
		}
		case 4:
			f->resubmit = !f->resubmit;
			break;
		case 5:
			for (unsigned i = 0; i < qsize && in.left; i++) {
				struct nvme_cqe e;

				for (unsigned b = 0; b < sizeof(e); b++)
					((uint8_t *)&e)[b] = (uint8_t)fuzz_take(&in, 1);
				cq[i] = e;
			}
			break;
		}
	}
	poll_once(f, 0);
	check_slots(f);
	fake_free(f);
	return 0;
}
