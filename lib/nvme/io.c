/* SPDX-License-Identifier: MIT */
/*
 * I/O commands: check the arguments, take a slot, describe the buffer with
 * PRPs, post the SQ entry. The doorbell is left to nvp_qpair_ring() /
 * nvp_qpair_poll() so a batch of submissions costs one MMIO write.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "nvme/nvme.h"
#include "nvme/prp.h"

#define NVP_MAX_NLB 65536u /* the NLB field is 16 bits, zero-based */

/* The DMA region holding [buf, buf + len): the last one used, else a lookup. */
static inline const struct nvp_dma_region *buf_region(struct nvp_qpair *qp, const void *buf, size_t len)
{
	const struct nvp_dma_region *r = qp->last_region;

	if (NVP_LIKELY(r && nvp_dma_region_contains(r, buf, len)))
		return r;
	r = nvp_dma_pool_find(&qp->dev->pool, buf, len);
	if (r)
		qp->last_region = r;
	return r;
}

static NVP_COLD int buf_error(struct nvp_qpair *qp, const void *buf, size_t len, int err)
{
	if (err == -EINVAL)
		return nvp_set_error(-EINVAL, "buffer %p is not 4-byte aligned (PRP1 needs dword alignment)", buf);
	if (nvp_dma_pool_find(&qp->dev->pool, buf, 1))
		return nvp_set_error(-EFAULT, "buffer %p is too small for %zu bytes: it runs past its DMA region", buf, len);
	return nvp_set_error(-EFAULT, "buffer %p is not in DMA memory: allocate it with nvp_dma_alloc()", buf);
}

/* Fill the data pointer of @sqe for [buf, buf + len); 0 or -errno. */
static inline int map_data(struct nvp_qpair *qp, struct nvp_req *req, const void *buf, size_t len,
			   struct nvme_sqe *sqe)
{
	const struct nvp_dma_region *r = NULL;
	int err;

	if (len) {
		r = buf_region(qp, buf, len);
		if (NVP_UNLIKELY(!r))
			return buf_error(qp, buf, len, -EFAULT);
	}
	err = nvp_prp_build(r, buf, len, qp->page_shift, qp->prp_region, req->prp_list, qp->prp_entries,
			    &sqe->prp1, &sqe->prp2);
	if (NVP_UNLIKELY(err))
		return buf_error(qp, buf, len, err);
	return 0;
}

static NVP_COLD int range_error(const struct nvp_ns *ns, uint64_t slba, uint32_t nlb)
{
	if (nlb == 0 || nlb > NVP_MAX_NLB)
		return nvp_set_error(-EINVAL, "nlb %u is out of range: a command moves 1..%u logical blocks",
				     nlb, NVP_MAX_NLB);
	return nvp_set_error(-ERANGE, "LBAs %llu..+%u are past the end of namespace %u (%llu blocks)",
			     (unsigned long long)slba, nlb, ns->info.nsid, (unsigned long long)ns->info.nsze);
}

static inline int check_range(const struct nvp_ns *ns, uint64_t slba, uint32_t nlb)
{
	/* Written so that slba + nlb cannot wrap. */
	if (NVP_UNLIKELY(nlb - 1 >= NVP_MAX_NLB || slba >= ns->info.nsze || nlb > ns->info.nsze - slba))
		return range_error(ns, slba, nlb);
	return 0;
}

static NVP_COLD int qpair_full(const struct nvp_qpair *qp)
{
	if (qp->dead)
		return nvp_set_error(-ENODEV, "the controller was removed: close the device");
	return nvp_set_error(-EAGAIN, "qpair full: poll for completions, then retry");
}

static NVP_COLD int bad_args(const char *fn)
{
	return nvp_set_error(-EINVAL, "%s: qpair, namespace and callback must not be NULL", fn);
}

static int submit(struct nvp_qpair *qp, struct nvme_sqe *sqe, const void *buf, size_t len,
		  nvp_cb cb, void *arg)
{
	struct nvp_req *req;
	uint16_t cid;
	int err;

	req = nvp__req_get(qp, &cid);
	if (NVP_UNLIKELY(!req))
		return qpair_full(qp);
	err = map_data(qp, req, buf, len, sqe);
	if (NVP_UNLIKELY(err)) {
		nvp__req_put(qp, cid);
		return err;
	}
	req->cb = cb;
	req->arg = arg;
	req->deadline = qp->timeout_ticks == UINT64_MAX ? UINT64_MAX : nvp__ticks() + qp->timeout_ticks;
	sqe->cid = cid;
	/* Kept in the slot: a controller reset resubmits it from there. */
	req->sqe = *sqe;
	nvp__sq_post(qp, &req->sqe);
	return 0;
}

static inline int rw(struct nvp_qpair *qp, const struct nvp_ns *ns, uint8_t opc, uint64_t slba,
		     uint32_t nlb, const void *buf, nvp_cb cb, void *arg)
{
	struct nvme_sqe sqe;
	size_t len;
	int err;

	if (NVP_UNLIKELY(!qp || !ns || !cb))
		return bad_args(opc == NVME_CMD_READ ? "nvp_read" : "nvp_write");
	err = check_range(ns, slba, nlb);
	if (NVP_UNLIKELY(err))
		return err;
	len = (size_t)nlb << ns->lba_shift;
	if (NVP_UNLIKELY(len > qp->max_xfer))
		return nvp_set_error(-E2BIG, "%zu bytes is above the largest transfer, %u bytes (MDTS): split the I/O",
				     len, qp->max_xfer);
	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = opc;
	sqe.nsid = ns->info.nsid;
	sqe.cdw10 = (uint32_t)slba;
	sqe.cdw11 = (uint32_t)(slba >> 32);
	sqe.cdw12 = nlb - 1;
	return submit(qp, &sqe, buf, len, cb, arg);
}

NVP_API int nvp_read(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
		     void *buf, nvp_cb cb, void *arg)
{
	return rw(qp, ns, NVME_CMD_READ, slba, nlb, buf, cb, arg);
}

NVP_API int nvp_write(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
		      const void *buf, nvp_cb cb, void *arg)
{
	return rw(qp, ns, NVME_CMD_WRITE, slba, nlb, buf, cb, arg);
}

NVP_API int nvp_flush(struct nvp_qpair *qp, const struct nvp_ns *ns, nvp_cb cb, void *arg)
{
	struct nvme_sqe sqe = { .opc = NVME_CMD_FLUSH };

	if (!qp || !ns || !cb)
		return bad_args("nvp_flush");
	sqe.nsid = ns->info.nsid;
	return submit(qp, &sqe, NULL, 0, cb, arg);
}

NVP_API int nvp_write_zeroes(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba,
			     uint32_t nlb, nvp_cb cb, void *arg)
{
	struct nvme_sqe sqe = { .opc = NVME_CMD_WRITE_ZEROES };
	int err;

	if (!qp || !ns || !cb)
		return bad_args("nvp_write_zeroes");
	err = check_range(ns, slba, nlb);
	if (err)
		return err;
	sqe.nsid = ns->info.nsid;
	sqe.cdw10 = (uint32_t)slba;
	sqe.cdw11 = (uint32_t)(slba >> 32);
	sqe.cdw12 = nlb - 1;
	return submit(qp, &sqe, NULL, 0, cb, arg);
}

NVP_API int nvp_dsm(struct nvp_qpair *qp, const struct nvp_ns *ns, const struct nvme_dsm_range *ranges,
		    unsigned nr, nvp_cb cb, void *arg)
{
	struct nvme_sqe sqe = { .opc = NVME_CMD_DSM };
	int err;

	if (!qp || !ns || !cb || !ranges)
		return bad_args("nvp_dsm");
	if (nr == 0 || nr > NVME_DSM_MAX_RANGES)
		return nvp_set_error(-EINVAL, "nvp_dsm: %u ranges; a command takes 1..%u", nr,
				     NVME_DSM_MAX_RANGES);
	for (unsigned i = 0; i < nr; i++) {
		err = check_range(ns, ranges[i].slba, ranges[i].nlb);
		if (err)
			return nvp_prefix_error(err, "nvp_dsm range %u", i);
	}
	sqe.nsid = ns->info.nsid;
	sqe.cdw10 = nr - 1;
	sqe.cdw11 = NVME_DSM_ATTR_DEALLOCATE;
	return submit(qp, &sqe, ranges, nr * sizeof(*ranges), cb, arg);
}

NVP_API int nvp_io_cmd(struct nvp_qpair *qp, const struct nvme_sqe *cmd, void *buf, size_t len,
		       nvp_cb cb, void *arg)
{
	struct nvme_sqe sqe;

	if (!qp || !cmd || !cb)
		return nvp_set_error(-EINVAL, "nvp_io_cmd: qpair, command and callback must not be NULL");
	if (len > qp->max_xfer)
		return nvp_set_error(-E2BIG, "%zu bytes is above the largest transfer, %u bytes (MDTS)",
				     len, qp->max_xfer);
	sqe = *cmd;
	sqe.flags &= ~0xc0; /* PSDT = 0: PRPs */
	return submit(qp, &sqe, buf, len, cb, arg);
}
