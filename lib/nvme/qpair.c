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

#include "internal.h"
#include "nvme/nvme.h"
#include "nvme/prp.h"

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
	qp->max_xfer = (uint32_t)max_xfer;
	qp->prp_entries = (unsigned)entries;
	qp->sq_db = nvp_sq_doorbell(dev, qid);
	qp->cq_db = nvp_cq_doorbell(dev, qid);

	qp->sq_mem = nvp_dma_pool_alloc(&dev->pool, (size_t)size * sizeof(struct nvme_sqe));
	qp->cq_mem = nvp_dma_pool_alloc(&dev->pool, (size_t)size * sizeof(struct nvme_cqe));
	qp->prp_mem = slot_bytes ? nvp_dma_pool_alloc(&dev->pool, slots * slot_bytes) : NULL;
	qp->reqs = calloc(slots, sizeof(*qp->reqs));
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

		req->next_free = (uint16_t)(i + 1 < slots ? i + 1 : NVP_NO_CID);
		if (slot_bytes) {
			req->prp_list = (uint64_t *)((uint8_t *)qp->prp_mem + i * slot_bytes);
			req->prp_list_iova = nvp_dma_pool_iova(&dev->pool, req->prp_list);
		}
	}
	qp->free_head = 0;
	return 0;
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
	free(qp->reqs);
	qp->reqs = NULL;
	qp->sq_mem = qp->cq_mem = qp->prp_mem = NULL;
}

NVP_API void nvp__qpair_bad_cqe(struct nvp_qpair *qp, const struct nvme_cqe *cqe)
{
	/* Log the first one only: a broken device would flood stderr. */
	if (qp->stats.bad_cqes++ == 0)
		nvp_log(NVP_LOG_ERROR, "%s qid %u: completion for %s cid %u (sq_head %u, status %#x) ignored",
			qp->dev->bus->name, qp->qid, cqe->cid < qp->size - 1 ? "idle" : "unknown",
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

	err = nvp_admin_create_io_queues(dev, qp);
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

	while (qp->outstanding && nvp_now_ns() < deadline) {
		if (!nvp_qpair_poll(qp, 0))
			sched_yield();
	}
	if (qp->outstanding)
		nvp_log(NVP_LOG_WARN, "%s qid %u: %u commands still in flight at destroy",
			qp->dev->bus->name, qp->qid, qp->outstanding);
}

/* Once the queues are deleted, commands that never completed end with -ECANCELED. */
static void cancel_outstanding(struct nvp_qpair *qp)
{
	for (uint16_t cid = 0; qp->outstanding && cid < qp->size - 1; cid++) {
		struct nvp_req *req = &qp->reqs[cid];
		struct nvme_cqe cqe = { .cid = cid, .sq_id = qp->qid };

		if (!req->busy)
			continue;
		nvp__req_put(qp, cid);
		req->cb(req->arg, -ECANCELED, &cqe);
	}
}

NVP_API void nvp_qpair_destroy(struct nvp_qpair *qp)
{
	struct nvp_dev *dev;

	if (!qp)
		return;
	dev = qp->dev;
	drain(qp);
	nvp_admin_delete_io_queues(dev, qp);
	cancel_outstanding(qp);
	pthread_mutex_lock(&dev->admin_lock);
	dev->io_qpairs[qp->qid] = NULL;
	nvp_qpair_fini(qp);
	pthread_mutex_unlock(&dev->admin_lock);
	free(qp);
}

NVP_API void nvp_qpair_stats(const struct nvp_qpair *qp, struct nvp_qpair_stats *out)
{
	*out = qp->stats;
}

NVP_API void nvp_qpair_stats_reset(struct nvp_qpair *qp)
{
	memset(&qp->stats, 0, sizeof(qp->stats));
}

NVP_API unsigned nvp_qpair_outstanding(const struct nvp_qpair *qp)
{
	return qp->outstanding;
}
