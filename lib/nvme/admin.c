/* SPDX-License-Identifier: MIT */
/*
 * The admin queue: shared by every thread, serialized by dev->admin_lock,
 * synchronous (post, ring, poll until the completion or the deadline).
 * Data moves through one bounce buffer in DMA memory, so callers may pass
 * any memory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "nvme/nvme.h"
#include "nvme/prp.h"
#include "nvme/transport.h"

struct admin_wait {
	int done;
	int err;
	struct nvme_cqe cqe;
};

static void admin_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct admin_wait *w = arg;

	w->err = err;
	w->cqe = *cqe;
	w->done = 1;
}

/* A command given up on: its slot is freed if the completion ever comes. */
static void admin_abandoned(void *arg, int err, const struct nvme_cqe *cqe)
{
	(void)arg;
	nvp_log(NVP_LOG_WARN, "late admin completion for cid %u (err %d) after its timeout", cqe->cid, err);
}

int nvp_admin_init(struct nvp_dev *dev)
{
	int err = nvp_qpair_init(dev, &dev->admin, 0, NVP_ADMIN_QUEUE_DEPTH);

	if (err)
		return err;
	dev->admin_bounce = nvp_dma_pool_alloc(&dev->pool, NVP_ADMIN_BOUNCE_SIZE);
	if (!dev->admin_bounce) {
		nvp_qpair_fini(&dev->admin);
		return -ENOMEM;
	}
	return 0;
}

void nvp_admin_fini(struct nvp_dev *dev)
{
	if (dev->admin_bounce)
		nvp_dma_pool_free(&dev->pool, dev->admin_bounce);
	dev->admin_bounce = NULL;
	if (dev->admin.reqs)
		nvp_qpair_fini(&dev->admin);
}

/* Poll until the completion, or 64 empty polls: then CSTS and the deadline are checked. */
static int admin_progress(struct nvp_dev *dev, uint32_t csts, void *arg)
{
	struct admin_wait *w = arg;
	unsigned spins = 0;

	(void)csts;
	while (!w->done && spins < 64) {
		if (!nvp_qpair_poll(&dev->admin, 0))
			spins++;
	}
	return w->done;
}

/* 0, or -errno; *cfs set when the controller reported a fatal status. */
static int admin_wait(struct nvp_dev *dev, struct admin_wait *w, struct nvp_req *req, uint8_t opc, int *cfs)
{
	char what[32];
	int err;

	snprintf(what, sizeof(what), "admin opcode %#x", opc);
	err = nvp_ctrl_wait(dev, what, dev->opts.admin_timeout_ms, 1, admin_progress, w);
	if (!err)
		return 0;
	req->cb = admin_abandoned;
	if (err == -ENODEV) {
		nvp_dev_mark_removed(dev);
		return err;
	}
	if (err == -EIO) {
		*cfs = 1;
		return nvp_set_error(-EIO, "admin opcode %#x: controller fatal status (CSTS.CFS); resetting the controller", opc);
	}
	return nvp_set_error(-ETIMEDOUT, "admin opcode %#x: no completion within %u ms", opc,
			     dev->opts.admin_timeout_ms);
}

static int admin_sync(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
		      struct nvme_cqe *cqe, int *cfs)
{
	struct nvp_qpair *aq = &dev->admin;
	struct admin_wait w = { 0 };
	const struct nvp_dma_region *r = NULL;
	struct nvme_sqe sqe = *cmd;
	struct nvp_req *req;
	uint16_t cid;
	int err;

	if (len > NVP_ADMIN_BOUNCE_SIZE || (len && !buf))
		return nvp_set_error(-EINVAL, "admin data of %zu bytes: at most %u bytes, and a buffer", len,
				     NVP_ADMIN_BOUNCE_SIZE);
	if (dev->removed)
		return nvp_set_error(-ENODEV, "the controller was removed");
	req = nvp__req_get(aq, &cid);
	if (!req)
		return nvp_set_error(-EAGAIN, "admin queue full: earlier commands timed out and never completed");
	/* Without data, PRP1 may carry the command's own pointer (Create I/O CQ/SQ). */
	if (len) {
		memcpy(dev->admin_bounce, buf, len);
		r = nvp_dma_pool_find(&dev->pool, dev->admin_bounce, len);
		err = nvp_prp_build(r, dev->admin_bounce, len, dev->page_shift, aq->prp_region,
				    req->prp_list, aq->prp_entries, &sqe.prp1, &sqe.prp2);
		if (err) {
			nvp__req_put(aq, cid);
			return nvp_set_error(err, "admin data pointer could not be built");
		}
		sqe.flags &= ~0xc0; /* PSDT = 0: PRPs */
	}
	sqe.cid = cid;
	req->cb = admin_done;
	req->arg = &w;
	req->deadline = UINT64_MAX; /* admin_wait keeps the admin deadline */
	nvp__sq_post(aq, &sqe);
	nvp_qpair_ring(aq);
	err = admin_wait(dev, &w, req, sqe.opc, cfs);
	if (err)
		return err;
	if (len)
		memcpy(buf, dev->admin_bounce, len);
	if (cqe)
		*cqe = w.cqe;
	if (w.err) {
		char status[96];

		return nvp_set_error(w.err, "admin opcode %#x failed: %s", sqe.opc,
				     nvp_status_format(nvp_cqe_status(&w.cqe), status, sizeof(status)));
	}
	return 0;
}

/* A transport's own admin path (the kernel's ioctl, nil's answers), with the same message for a failure. */
static int xport_admin(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
		       struct nvme_cqe *cqe)
{
	struct nvme_cqe c = { 0 };
	int err;

	if (len > NVP_ADMIN_BOUNCE_SIZE || (len && !buf))
		return nvp_set_error(-EINVAL, "admin data of %zu bytes: at most %u bytes, and a buffer", len,
				     NVP_ADMIN_BOUNCE_SIZE);
	err = dev->xport->admin(dev, cmd, buf, len, &c);
	if (cqe)
		*cqe = c;
	if (err == -EIO) {
		char status[96];

		return nvp_set_error(err, "admin opcode %#x failed: %s", cmd->opc,
				     nvp_status_format(nvp_cqe_status(&c), status, sizeof(status)));
	}
	return err;
}

int nvp_admin_sync_locked(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
			  struct nvme_cqe *cqe)
{
	int cfs = 0;

	if (dev->xport)
		return xport_admin(dev, cmd, buf, len, cqe);
	return admin_sync(dev, cmd, buf, len, cqe, &cfs);
}

int nvp_admin_sync(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
		   struct nvme_cqe *cqe)
{
	int cfs = 0, err;

	if (dev->xport)
		return xport_admin(dev, cmd, buf, len, cqe);
	pthread_mutex_lock(&dev->admin_lock);
	err = admin_sync(dev, cmd, buf, len, cqe, &cfs);
	pthread_mutex_unlock(&dev->admin_lock);
	/* A fatal controller is reset at once; this command still reports its failure. */
	if (cfs) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", nvp_errmsg());
		nvp_ctrl_recover(dev);
		nvp_set_error(err, "%s", msg);
	}
	return err;
}

int nvp_admin_abort(struct nvp_dev *dev, uint16_t sqid, uint16_t cid, int *aborted)
{
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_ABORT, .cdw10 = sqid | (uint32_t)cid << 16 };
	struct nvme_cqe cqe;
	int err = nvp_admin_sync(dev, &cmd, NULL, 0, &cqe);

	/* Dword 0 bit 0 set: the command was not aborted. */
	*aborted = !err && !(cqe.dw0 & 1);
	return err;
}

NVP_API int nvp_admin_cmd(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
			  struct nvme_cqe *cqe)
{
	if (!dev || !cmd)
		return nvp_set_error(-EINVAL, "nvp_admin_cmd: dev and cmd must not be NULL");
	if (len > dev->max_xfer)
		return nvp_set_error(-E2BIG, "admin data of %zu bytes is above the controller's MDTS (%zu bytes)",
				     len, dev->max_xfer);
	return nvp_admin_sync(dev, cmd, buf, len, cqe);
}

NVP_API int nvp_identify(struct nvp_dev *dev, uint8_t cns, uint32_t nsid, void *buf4k)
{
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_IDENTIFY, .nsid = nsid, .cdw10 = cns };

	if (!dev || !buf4k)
		return nvp_set_error(-EINVAL, "nvp_identify: dev and buf must not be NULL");
	return nvp_admin_sync(dev, &cmd, buf4k, 4096, NULL);
}

NVP_API int nvp_get_log_page(struct nvp_dev *dev, uint32_t nsid, uint8_t lid, void *buf, size_t len)
{
	uint32_t numd = (uint32_t)(len / 4 - 1); /* zero-based dword count */
	struct nvme_sqe cmd = {
		.opc = NVME_ADMIN_GET_LOG_PAGE,
		.nsid = nsid,
		.cdw10 = lid | (numd & 0xffff) << 16,
		.cdw11 = numd >> 16,
	};

	if (!dev || !buf || len < 4 || len % 4)
		return nvp_set_error(-EINVAL, "nvp_get_log_page: need a buffer and a length that is a non-zero multiple of 4");
	return nvp_admin_cmd(dev, &cmd, buf, len, NULL);
}

static int features(struct nvp_dev *dev, uint8_t opc, uint8_t fid, uint32_t cdw11, uint32_t *dw0)
{
	struct nvme_sqe cmd = { .opc = opc, .cdw10 = fid, .cdw11 = cdw11 };
	struct nvme_cqe cqe;
	int err;

	if (!dev)
		return nvp_set_error(-EINVAL, "features: dev is NULL");
	err = nvp_admin_sync(dev, &cmd, NULL, 0, &cqe);
	if (!err && dw0)
		*dw0 = cqe.dw0;
	return err;
}

NVP_API int nvp_get_features(struct nvp_dev *dev, uint8_t fid, uint32_t cdw11, uint32_t *dw0)
{
	return features(dev, NVME_ADMIN_GET_FEATURES, fid, cdw11, dw0);
}

NVP_API int nvp_set_features(struct nvp_dev *dev, uint8_t fid, uint32_t cdw11, uint32_t *dw0)
{
	return features(dev, NVME_ADMIN_SET_FEATURES, fid, cdw11, dw0);
}

int nvp_admin_create_io_queues(struct nvp_dev *dev, struct nvp_qpair *qp)
{
	uint32_t qsize = (uint32_t)(qp->size - 1) << 16;
	struct nvme_sqe cq = {
		.opc = NVME_ADMIN_CREATE_CQ,
		.prp1 = nvp_dma_pool_iova(&dev->pool, qp->cq_mem),
		.cdw10 = qsize | qp->qid,
		.cdw11 = NVME_QUEUE_PHYS_CONTIG, /* polled: no interrupts */
	};
	struct nvme_sqe sq = {
		.opc = NVME_ADMIN_CREATE_SQ,
		.prp1 = nvp_dma_pool_iova(&dev->pool, qp->sq_mem),
		.cdw10 = qsize | qp->qid,
		.cdw11 = (uint32_t)qp->qid << 16 | NVME_QUEUE_PHYS_CONTIG,
	};
	struct nvme_sqe del = { .opc = NVME_ADMIN_DELETE_CQ, .cdw10 = qp->qid };
	int err;

	nvp_dbbuf_bind(qp);
	err = nvp_admin_sync(dev, &cq, NULL, 0, NULL);
	if (err)
		return nvp_prefix_error(err, "Create I/O CQ %u (%u entries)", qp->qid, qp->size);
	err = nvp_admin_sync(dev, &sq, NULL, 0, NULL);
	if (err) {
		nvp_prefix_error(err, "Create I/O SQ %u (%u entries)", qp->qid, qp->size);
		nvp_admin_sync(dev, &del, NULL, 0, NULL);
		return err;
	}
	return 0;
}

int nvp_admin_delete_io_queues(struct nvp_dev *dev, struct nvp_qpair *qp)
{
	struct nvme_sqe sq = { .opc = NVME_ADMIN_DELETE_SQ, .cdw10 = qp->qid };
	struct nvme_sqe cq = { .opc = NVME_ADMIN_DELETE_CQ, .cdw10 = qp->qid };
	int err = nvp_admin_sync(dev, &sq, NULL, 0, NULL);
	int err2 = nvp_admin_sync(dev, &cq, NULL, 0, NULL);

	return err ? err : err2;
}
