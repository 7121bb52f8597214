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

/* Get/Set Features data by FID: 0 none, >0 bytes, -1 not known here (reserved, vendor specific). */
static long feature_data_len(const struct nvme_sqe *cmd)
{
	uint8_t fid = cmd->cdw10 & 0xff;

	switch (fid) {
	case NVME_FEAT_LBA_RANGE:
		return 4096;
	case NVME_FEAT_AUTO_PST:
		return 256;
	case NVME_FEAT_HOST_MEM_BUF: /* Get: the attributes; Set: the list is in CDW12-15, not PRPs */
		return cmd->opc == NVME_ADMIN_GET_FEATURES ? 4096 : 0;
	case NVME_FEAT_TIMESTAMP:
		return 8;
	case NVME_FEAT_PLM_CONFIG:
	case NVME_FEAT_HOST_BEHAVIOR:
		return 512;
	case NVME_FEAT_HOST_ID:
		return cmd->cdw11 & 1 ? 16 : 8; /* EXHID: the 128-bit identifier */
	default:
		return (fid >= NVME_FEAT_ARBITRATION && fid <= NVME_FEAT_IOCS_PROFILE) ||
		       (fid >= NVME_FEAT_SW_PROGRESS && fid <= NVME_FEAT_RESV_PERSIST) ? 0 : -1;
	}
}

long nvp_admin_data_len(const struct nvme_sqe *cmd)
{
	switch (cmd->opc) {
	case NVME_ADMIN_IDENTIFY: /* every CNS returns one 4096-byte structure */
		return 4096;
	case NVME_ADMIN_GET_LOG_PAGE:
		return (long)(((cmd->cdw11 & 0xffff) << 16 | cmd->cdw10 >> 16) + 1) * 4;
	case NVME_ADMIN_GET_FEATURES:
	case NVME_ADMIN_SET_FEATURES:
		return feature_data_len(cmd);
	case NVME_ADMIN_FW_DOWNLOAD:
		return ((long)cmd->cdw10 + 1) * 4; /* NUMD, zero-based dwords */
	case NVME_ADMIN_NS_MGMT: /* SEL 0, create: the namespace's Identify structure */
		return (cmd->cdw10 & 0xf) == 0 ? 4096 : 0;
	case NVME_ADMIN_NS_ATTACH: /* the controller list */
		return 4096;
	case NVME_ADMIN_SECURITY_SEND:
	case NVME_ADMIN_SECURITY_RECV:
		return cmd->cdw11; /* TL / AL, bytes */
	/* PRP1 of these is not data: a queue, or the doorbell buffers, which the caller gives. */
	case NVME_ADMIN_CREATE_SQ:
	case NVME_ADMIN_CREATE_CQ:
	case NVME_ADMIN_DBBUF_CONFIG:
	case NVME_ADMIN_DELETE_SQ:
	case NVME_ADMIN_DELETE_CQ:
	case NVME_ADMIN_ABORT:
	case NVME_ADMIN_ASYNC_EVENT:
	case NVME_ADMIN_FW_COMMIT:
	case NVME_ADMIN_DEV_SELF_TEST:
	case NVME_ADMIN_KEEP_ALIVE:
	case NVME_ADMIN_VIRT_MGMT:
	case NVME_ADMIN_FORMAT_NVM:
	case NVME_ADMIN_SANITIZE:
		return 0;
	default: /* vendor specific (C0h-FFh), directives, NVMe-MI, ...: the caller knows */
		return -1;
	}
}

/*
 * The data pointer is built for @len bytes, the controller moves what the
 * command says: with less, it writes past the pages the PRPs describe (or
 * through a PRP2 of 0); with more, the tail of the buffer is never written
 * and would be parsed as if it had been. Either is refused.
 */
static int admin_check_len(const struct nvme_sqe *cmd, size_t len)
{
	long want = nvp_admin_data_len(cmd);

	if (want < 0 || (size_t)want == len)
		return 0;
	if (cmd->opc == NVME_ADMIN_GET_FEATURES || cmd->opc == NVME_ADMIN_SET_FEATURES) {
		if (!want)
			return nvp_set_error(-EINVAL, "admin opcode %#x, feature %#x moves no data: give len 0, "
					     "not %zu", cmd->opc, cmd->cdw10 & 0xff, len);
		return nvp_set_error(-EINVAL, "admin opcode %#x, feature %#x moves %ld bytes: give a buffer "
				     "of that size, not %zu", cmd->opc, cmd->cdw10 & 0xff, want, len);
	}
	if (!want)
		return nvp_set_error(-EINVAL, "admin opcode %#x moves no data: give len 0, not %zu", cmd->opc, len);
	if (cmd->opc == NVME_ADMIN_GET_LOG_PAGE)
		return nvp_set_error(-EINVAL, "admin opcode %#x: NUMDL/NUMDU ask for %ld bytes but the buffer "
				     "is %zu", cmd->opc, want, len);
	return nvp_set_error(-EINVAL, "admin opcode %#x moves %ld bytes: give a buffer of that size, not %zu",
			     cmd->opc, want, len);
}

static int admin_changes_namespaces(uint8_t opc)
{
	return opc == NVME_ADMIN_FORMAT_NVM || opc == NVME_ADMIN_NS_MGMT || opc == NVME_ADMIN_NS_ATTACH;
}

NVP_API int nvp_admin_cmd(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
			  struct nvme_cqe *cqe)
{
	int err;

	if (!dev || !cmd)
		return nvp_set_error(-EINVAL, "nvp_admin_cmd: dev and cmd must not be NULL");
	err = admin_check_len(cmd, len);
	if (err)
		return err;
	if (len > dev->max_xfer)
		return nvp_set_error(-E2BIG, "admin data of %zu bytes is above the controller's MDTS (%zu bytes)",
				     len, dev->max_xfer);
	err = nvp_admin_sync(dev, cmd, buf, len, cqe);
	if (err || !admin_changes_namespaces(cmd->opc))
		return err;
	/* The namespaces' sizes and formats, or the list itself, may have changed: read them again. */
	err = nvp_ns_scan(dev);
	return err ? nvp_prefix_error(err, "admin opcode %#x succeeded, but re-reading the namespaces failed",
				      cmd->opc) : 0;
}

NVP_API int nvp_identify(struct nvp_dev *dev, uint8_t cns, uint32_t nsid, void *buf4k)
{
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_IDENTIFY, .nsid = nsid, .cdw10 = cns };

	if (!dev || !buf4k)
		return nvp_set_error(-EINVAL, "nvp_identify: dev and buf must not be NULL");
	return nvp_admin_sync(dev, &cmd, buf4k, 4096, NULL);
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
