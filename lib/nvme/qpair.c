/* SPDX-License-Identifier: MIT */
/*
 * Queue pairs: SQ/CQ memory, request slots with their PRP lists, creation
 * and deletion of I/O queues. The per-I/O path is in include/nvpoll/qpair.h
 * and io.c; nothing here runs per command.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "nvme/nvme.h"
#include "nvme/prp.h"
#include "nvme/transport.h"

/* PRP list bytes per slot: a power of two up to a page, so no list straddles one. */
static size_t prp_slot_bytes(size_t entries, unsigned page_shift)
{
	size_t page = (size_t)1 << page_shift, bytes = 64;

	if (entries == 0)
		return 0;
	if (entries * sizeof(uint64_t) > page)
		return NVP_ALIGN_UP(entries * sizeof(uint64_t), page);
	while (bytes < entries * sizeof(uint64_t))
		bytes <<= 1;
	return bytes;
}

int nvp_qpair_init(struct nvp_dev *dev, struct nvp_qpair *qp, uint16_t qid, unsigned size)
{
	size_t max_xfer = qid ? dev->max_xfer : NVP_ADMIN_BOUNCE_SIZE;
	size_t entries = nvp_prp_list_entries(max_xfer, dev->page_shift);
	size_t slot_bytes = prp_slot_bytes(entries, dev->page_shift);
	unsigned slots = size - 1;

	memset(qp, 0, sizeof(*qp));
	qp->dev = dev;
	qp->qid = qid;
	qp->size = (uint16_t)size;
	qp->phase = 1;
	qp->page_shift = (uint16_t)dev->page_shift;
	qp->page_size = 1u << dev->page_shift;
	qp->max_xfer = (uint32_t)max_xfer;
	qp->prp_entries = (unsigned)entries;
	if (!dev->xport) { /* a transport's doorbells are its own: nvp_xport_qpair_init() */
		qp->sq_db = nvp_sq_doorbell(dev, qid);
		qp->cq_db = nvp_cq_doorbell(dev, qid);
	}
	qp->dev_gen = &dev->reset_gen;
	qp->gen = nvp_load_acquire(&dev->reset_gen); /* bumped by a reset on another thread */
	qp->timeout_ticks = qid ? nvp_ms_to_ticks(dev->opts.io_timeout_ms) : NVP_NO_TIMEOUT;

	qp->sq_mem = nvp_dma_pool_alloc(&dev->pool, (size_t)size * sizeof(struct nvme_sqe));
	qp->cq_mem = nvp_dma_pool_alloc(&dev->pool, (size_t)size * sizeof(struct nvme_cqe));
	qp->prp_mem = slot_bytes ? nvp_dma_pool_alloc(&dev->pool, slots * slot_bytes) : NULL;
	qp->reqs_mem = aligned_alloc(64, NVP__FREE_CIDS_BYTES(slots) + slots * sizeof(*qp->reqs));
	if (qp->reqs_mem) { /* the stack of idle cids just below reqs[0] (nvp__free_cids) */
		qp->reqs = (struct nvp_req *)(void *)((uint8_t *)qp->reqs_mem + NVP__FREE_CIDS_BYTES(slots));
		memset(qp->reqs, 0, slots * sizeof(*qp->reqs));
	}
	if (!qp->sq_mem || !qp->cq_mem || (slot_bytes && !qp->prp_mem) || !qp->reqs) {
		if (qp->sq_mem && qp->cq_mem && !qp->reqs)
			nvp_set_error(-ENOMEM, "out of memory for %u request slots", slots);
		nvp_qpair_fini(qp);
		return -ENOMEM;
	}
	qp->sq = qp->sq_mem;
	qp->cq = qp->cq_mem;
	if (qp->prp_mem)
		qp->prp_region = nvp_dma_pool_find(&dev->pool, qp->prp_mem, slots * slot_bytes);

	for (unsigned i = 0; i < slots; i++) {
		struct nvp_req *req = &qp->reqs[i];

		if (slot_bytes) {
			req->prp_list = (uint64_t *)((uint8_t *)qp->prp_mem + i * slot_bytes);
			req->prp_list_iova = nvp_dma_pool_iova(&dev->pool, req->prp_list);
		}
	}
	nvp_qpair_reset_rings(qp);
	return 0;
}

void nvp_qpair_reset_rings(struct nvp_qpair *qp)
{
	unsigned slots = qp->size - 1u;

	qp->sq_tail = qp->sq_tail_rung = qp->sq_head = 0;
	qp->cq_head = 0;
	qp->phase = 1;
	memset(qp->cq_mem, 0, (size_t)qp->size * sizeof(struct nvme_cqe));
	for (unsigned i = 0; i < slots; i++)
		qp->reqs[i].state = 0;
	nvp__free_reset(qp);
}

static uint64_t ticks_per_ms;
static pthread_once_t ticks_once = PTHREAD_ONCE_INIT;

/* Measure the tick rate against CLOCK_MONOTONIC over ~5 ms, once per process. */
static void ticks_calibrate(void)
{
	struct timespec pause = { 0, 5000000 };
	uint64_t ns0 = nvp_now_ns(), t0 = nvp__ticks(), ns1, t1;

	nanosleep(&pause, NULL);
	ns1 = nvp_now_ns();
	t1 = nvp__ticks();
	ticks_per_ms = ns1 > ns0 && t1 > t0 ? (t1 - t0) * 1000000 / (ns1 - ns0) : 1000000;
	if (ticks_per_ms == 0)
		ticks_per_ms = 1;
}

uint64_t nvp_ticks_per_ms(void)
{
	pthread_once(&ticks_once, ticks_calibrate);
	return ticks_per_ms;
}

uint64_t nvp_ms_to_ticks(unsigned ms)
{
	return ms ? ms * nvp_ticks_per_ms() : NVP_NO_TIMEOUT;
}

NVP_API void nvp_qpair_set_timeout(struct nvp_qpair *qp, unsigned ms)
{
	uint64_t ticks, now;

	if (!qp)
		return;
	ticks = nvp_ms_to_ticks(ms);
	if (ticks == qp->timeout_ticks)
		return;
	/*
	 * Submission stores no timeout: a POSTED slot gets the qpair's at the
	 * next check. Those posted under the old one get their deadline now
	 * (from now: never earlier than submission + timeout).
	 */
	now = nvp__ticks();
	for (uint16_t cid = 0; nvp__outstanding(qp) && cid < qp->size - 1; cid++) {
		struct nvp_req *req = &qp->reqs[cid];

		if (req->busy == NVP_REQ_POSTED) {
			req->deadline = now + qp->timeout_ticks;
			req->busy = NVP_REQ_STAMPED;
		}
	}
	qp->timeout_ticks = ticks;
}

/* A synthesized completion for a command the controller will never complete. */
static void finish(struct nvp_qpair *qp, uint16_t cid, int err)
{
	struct nvp_req *req = &qp->reqs[cid];
	struct nvme_cqe cqe = {
		.cid = cid,
		.sq_id = qp->qid,
		.status = NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_ABORT_QUEUE) << 1,
	};
	nvp_cb cb = req->cb;
	void *arg = req->arg;

	if (req->flags & NVP_REQ_TIMED_OUT)
		err = -ETIMEDOUT;
	nvp__req_put(qp, cid);
	cb(arg, err, &cqe);
}

/* The device is gone: every command ends with -ENODEV, no slot is handed out again. */
static void qpair_kill(struct nvp_qpair *qp)
{
	if (qp->dead)
		return;
	qp->dead = 1;
	qp->free_top = 0; /* submissions now fail with -ENODEV, callbacks' too (nvp__outstanding() says 0 from here) */
	for (uint16_t cid = 0; cid < qp->size - 1; cid++) {
		struct nvp_req *req = &qp->reqs[cid];
		struct nvme_cqe cqe = { .cid = cid, .sq_id = qp->qid, .status = 0xffff };

		if (!req->busy)
			continue;
		req->state = 0;
		req->cb(req->arg, -ENODEV, &cqe);
	}
}

int nvp_sqe_resubmittable(const struct nvme_sqe *sqe)
{
	switch (sqe->opc) {
	case NVME_CMD_READ: case NVME_CMD_WRITE: case NVME_CMD_FLUSH:
	case NVME_CMD_WRITE_ZEROES: case NVME_CMD_DSM: case NVME_CMD_COMPARE:
		return 1;
	default:
		return 0;
	}
}

NVP_API void nvp__qpair_recover(struct nvp_qpair *qp)
{
	struct nvp_dev *dev = qp->dev;
	unsigned gen = nvp_load_acquire(qp->dev_gen); /* see the reset's controller state before acting on it */
	uint16_t *fail;
	unsigned nfail = 0;
	int err;

	if (qp->xport) { /* not a reset: a transport qpair comes here at every poll (transport.h) */
		qp->xport->poll(qp);
		return;
	}
	qp->gen = gen;
	if (qp->qid == 0)
		return; /* the reset itself re-creates the admin queue */
	if (dev->removed) {
		qpair_kill(qp);
		return;
	}
	/* Fresh rings; the slots of commands in flight stay taken. */
	qp->sq_tail = qp->sq_tail_rung = qp->sq_head = 0;
	qp->cq_head = 0;
	qp->phase = 1;
	memset(qp->cq_mem, 0, (size_t)qp->size * sizeof(struct nvme_cqe));
	err = nvp_admin_create_io_queues(dev, qp);
	qp->stats.recoveries++;
	if (err) {
		nvp_log(NVP_LOG_ERROR, "%s qid %u: re-creating queues after reset: %s", dev->bus->name, qp->qid,
			nvp_errmsg());
		qpair_kill(qp);
		return;
	}
	fail = malloc(qp->size * sizeof(*fail));
	/* Post first, complete later: a callback may submit into slots freed here. */
	for (uint16_t cid = 0; cid < qp->size - 1; cid++) {
		struct nvp_req *req = &qp->reqs[cid];

		if (!req->busy)
			continue;
		if (!(req->flags & NVP_REQ_TIMED_OUT) && dev->opts.reset_policy == NVP_RESET_RESUBMIT &&
		    nvp_sqe_resubmittable(&req->sqe)) {
			req->flags = 0;
			req->busy = NVP_REQ_POSTED; /* a fresh deadline from the next check, the qpair's timeout */
			nvp__sq_post(qp, &req->sqe);
			qp->stats.resubmitted++;
		} else if (fail) {
			fail[nfail++] = cid;
		}
	}
	nvp_qpair_ring(qp);
	for (unsigned i = 0; i < nfail; i++)
		finish(qp, fail[i], -EIO);
	free(fail);
}

/*
 * Stamp each command posted since the last check with its deadline (see
 * NVP_REQ_STAMPED), give each command past its deadline an Abort; 1 when
 * only a reset will do.
 */
static int expire(struct nvp_qpair *qp, uint64_t now)
{
	struct nvp_dev *dev = qp->dev;
	int need_reset = 0;

	for (uint16_t cid = 0; cid < qp->size - 1; cid++) {
		struct nvp_req *req = &qp->reqs[cid];
		int aborted = 0;

		if (req->busy == NVP_REQ_POSTED) {
			req->deadline = now + qp->timeout_ticks; /* NVP_NO_TIMEOUT cannot wrap */
			req->busy = NVP_REQ_STAMPED;
			continue;
		}
		if (!req->busy || req->deadline > now)
			continue;
		if (req->flags & NVP_REQ_ABORTED) {
			need_reset = 1; /* the abort's grace period passed too */
			continue;
		}
		req->flags |= NVP_REQ_TIMED_OUT | NVP_REQ_ABORTED;
		qp->stats.timeouts++;
		qp->stats.aborts++;
		nvp_log(NVP_LOG_WARN, "%s qid %u: cid %u (opcode %#x) timed out, aborting", dev->bus->name,
			qp->qid, cid, req->sqe.opc);
		nvp_admin_abort(dev, qp->qid, cid, &aborted);
		if (!aborted)
			need_reset = 1;
		/* Aborted: its completion (Abort Requested) must come within the admin timeout. */
		req->deadline = now + nvp_ms_to_ticks(dev->opts.admin_timeout_ms);
	}
	return need_reset;
}

NVP_API void nvp__qpair_check(struct nvp_qpair *qp)
{
	struct nvp_dev *dev = qp->dev;
	uint64_t now = nvp__ticks();
	uint32_t csts;

	/* Transports: the kernel keeps deadlines and health, tcp its own poll (transport.h). */
	if (qp->qid == 0 || qp->dead || qp->xport || now < qp->next_check)
		return;
	qp->next_check = now + nvp_ticks_per_ms();
	if (NVP_UNLIKELY(qp->sq_head >= qp->size)) {
		/* A corrupt CQE: its cid was checked on arrival; count and forget the head. */
		struct nvme_cqe bad = { .sq_head = qp->sq_head, .sq_id = qp->qid, .cid = NVP_NO_CID };

		nvp__qpair_bad_cqe(qp, &bad);
		qp->sq_head = 0;
	}
	nvp_dev_check_release(dev); /* after a release, BAR0 reads all ones */
	csts = nvp_reg_read32(dev->bus->bar0, NVME_REG_CSTS);
	if (csts == UINT32_MAX || dev->removed) {
		nvp_dev_mark_removed(dev);
		qpair_kill(qp);
		return;
	}
	if (NVME_GET(csts, CSTS_CFS)) {
		nvp_log(NVP_LOG_ERROR, "%s: controller fatal status (CSTS.CFS)", dev->bus->name);
	} else if (!nvp__outstanding(qp) || !expire(qp, now)) {
		return;
	}
	nvp_ctrl_recover(dev);
	nvp__qpair_recover(qp);
}

void nvp_qpair_fini(struct nvp_qpair *qp)
{
	struct nvp_dev *dev = qp->dev;

	if (qp->prp_mem)
		nvp_dma_pool_free(&dev->pool, qp->prp_mem);
	if (qp->cq_mem)
		nvp_dma_pool_free(&dev->pool, qp->cq_mem);
	if (qp->sq_mem)
		nvp_dma_pool_free(&dev->pool, qp->sq_mem);
	free(qp->reqs_mem);
	qp->reqs = qp->reqs_mem = NULL;
	qp->sq_mem = qp->cq_mem = qp->prp_mem = NULL;
}

NVP_API void nvp__qpair_complete_slow(struct nvp_qpair *qp, const struct nvme_cqe *cqe)
{
	uint16_t cid = cqe->cid;
	struct nvp_req *req;
	nvp_cb cb;
	void *arg;
	int err = 0;

	if (cid >= qp->size - 1 || !qp->reqs[cid].busy) {
		nvp__qpair_bad_cqe(qp, cqe);
		return;
	}
	qp->sq_head = cqe->sq_head; /* as nvp__qpair_complete() does */
	req = &qp->reqs[cid];
	cb = req->cb;
	arg = req->arg;
	/* Any SCT/SC bit set is an error, or any flag; a timed-out command says so. */
	if ((cqe->status & NVME_CQE_STATUS_CODE) | req->flags)
		err = (req->flags & NVP_REQ_TIMED_OUT) ? -ETIMEDOUT : -EIO;
	nvp__req_put(qp, cid);
	qp->stats.completed++;
	cb(arg, err, cqe);
}

NVP_API void nvp__qpair_bad_cqe(struct nvp_qpair *qp, const struct nvme_cqe *cqe)
{
	/* Log the first one only: a broken device would flood stderr. */
	if (qp->stats.bad_cqes++ == 0)
		nvp_log(NVP_LOG_ERROR, "%s qid %u: completion for %s cid %u (sq_head %u, status %#x) ignored",
			qp->dev->bus->name, qp->qid,
			cqe->sq_head >= qp->size ? "out-of-range SQ head," : cqe->cid < qp->size - 1 ? "idle" : "unknown",
			cqe->cid, cqe->sq_head, cqe->status >> 1);
}

static int pick_depth(const struct nvp_dev *dev, const struct nvp_qpair_opts *opts, unsigned *depth)
{
	unsigned d = opts ? opts->depth : 0;

	if (d == 0) {
		d = NVP_DEFAULT_QUEUE_DEPTH;
		if (d > dev->max_queue_depth)
			d = dev->max_queue_depth;
	}
	if (d < 2 || d > dev->max_queue_depth)
		return nvp_set_error(-EINVAL, "queue depth %u is out of range: the controller allows 2..%u (CAP.MQES+1)",
				     d, dev->max_queue_depth);
	/* An SQ larger than one 2 MiB unit would not be bus-contiguous under uio. */
	if ((size_t)d * sizeof(struct nvme_sqe) > NVP_DMA_UNIT_SIZE)
		return nvp_set_error(-EINVAL, "queue depth %u is above nvpoll's limit of %zu", d,
				     NVP_DMA_UNIT_SIZE / sizeof(struct nvme_sqe));
	*depth = d;
	return 0;
}

/* A free I/O queue id, or 0. Caller holds admin_lock. */
static uint16_t qid_get(struct nvp_dev *dev)
{
	for (unsigned qid = 1; qid <= dev->nr_io_queues; qid++)
		if (!dev->io_qpairs[qid])
			return (uint16_t)qid;
	return 0;
}

NVP_API struct nvp_qpair *nvp_qpair_create(struct nvp_dev *dev, const struct nvp_qpair_opts *opts)
{
	struct nvp_qpair *qp;
	unsigned depth = 0;
	uint16_t qid;
	int err;

	if (!dev)
		return nvp_err_ptr(nvp_set_error(-EINVAL, "nvp_qpair_create: dev is NULL"));
	err = pick_depth(dev, opts, &depth);
	if (err)
		return nvp_err_ptr(err);
	qp = aligned_alloc(64, NVP_ALIGN_UP(sizeof(*qp), 64));
	if (!qp)
		return nvp_err_ptr(nvp_set_error(-ENOMEM, "out of memory for a qpair"));

	pthread_mutex_lock(&dev->admin_lock);
	qid = qid_get(dev);
	if (!qid) {
		err = nvp_set_error(-EBUSY, "all %u I/O queue pairs granted by the controller are in use",
				    dev->nr_io_queues);
		goto out_unlock;
	}
	err = nvp_qpair_init(dev, qp, qid, depth);
	if (err)
		goto out_unlock;
	dev->io_qpairs[qid] = qp; /* reserve the id before dropping the lock */
	pthread_mutex_unlock(&dev->admin_lock);

	err = dev->xport ? nvp_xport_qpair_init(qp) : nvp_admin_create_io_queues(dev, qp);
	if (err)
		goto out_release_qid;
	return qp;

out_release_qid:
	pthread_mutex_lock(&dev->admin_lock);
	dev->io_qpairs[qid] = NULL;
	nvp_qpair_fini(qp);
out_unlock:
	pthread_mutex_unlock(&dev->admin_lock);
	free(qp);
	return nvp_err_ptr(err);
}

static void drain(struct nvp_qpair *qp)
{
	uint64_t deadline = nvp_now_ns() + (uint64_t)qp->dev->opts.admin_timeout_ms * 1000000;

	while (nvp__outstanding(qp) && nvp_now_ns() < deadline) {
		if (!nvp_qpair_poll(qp, 0))
			sched_yield();
	}
	if (nvp__outstanding(qp))
		nvp_log(NVP_LOG_WARN, "%s qid %u: %u commands still in flight at destroy",
			qp->dev->bus->name, qp->qid, nvp__outstanding(qp));
}

/* Once the queues are deleted, commands that never completed end with -ECANCELED. */
static void cancel_outstanding(struct nvp_qpair *qp)
{
	for (uint16_t cid = 0; nvp__outstanding(qp) && cid < qp->size - 1; cid++) {
		if (qp->reqs[cid].busy)
			finish(qp, cid, -ECANCELED);
	}
}

NVP_API void nvp_qpair_destroy(struct nvp_qpair *qp)
{
	struct nvp_dev *dev;

	if (!qp)
		return;
	dev = qp->dev;
	drain(qp);
	if (qp->xport) {
		if (qp->xport->qpair_fini)
			qp->xport->qpair_fini(qp);
	} else {
		nvp_admin_delete_io_queues(dev, qp);
	}
	cancel_outstanding(qp);
	pthread_mutex_lock(&dev->admin_lock);
	dev->io_qpairs[qp->qid] = NULL;
	nvp_qpair_fini(qp);
	pthread_mutex_unlock(&dev->admin_lock);
	free(qp);
}

NVP_API void nvp_qpair_stats(const struct nvp_qpair *qp, struct nvp_qpair_stats *out)
{
	if (qp && out)
		*out = qp->stats;
}

NVP_API void nvp_qpair_stats_reset(struct nvp_qpair *qp)
{
	if (qp)
		memset(&qp->stats, 0, sizeof(qp->stats));
}

NVP_API unsigned nvp_qpair_outstanding(const struct nvp_qpair *qp)
{
	return qp ? nvp__outstanding(qp) : 0;
}
