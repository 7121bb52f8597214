/* SPDX-License-Identifier: MIT */
/*
 * Vectored Read and Write: nvp_readv(), nvp_writev(). Off the hot path:
 * each segment's DMA region is looked up, the segments are described as
 * PRPs where their boundaries are on controller pages and as an SGL
 * (sgl.c) where they are not and the controller takes SGLs, in the slot's
 * list memory, and the command is posted through nvp_io_cmd_map().
 */
#include <errno.h>

#include "internal.h"
#include "nvme/cmd.h"
#include "nvme/nvme.h"
#include "nvme/sgl.h"
#include "nvme/transport.h"

struct vec {
	const char *fn;
	const struct nvp_iov *iov;
	const struct nvp_dma_region *regions[NVP_IOV_MAX];
	unsigned n;
	int sgl;
};

static const char *misfit_str(enum nvp_iov_misfit m)
{
	switch (m) {
	case NVP_IOV_START_DWORD:
		return "does not start 4-byte aligned";
	case NVP_IOV_START_PAGE:
		return "does not start on a controller page (it is not the first)";
	case NVP_IOV_END_PAGE:
		return "does not end on a controller page (it is not the last)";
	default:
		return "fits";
	}
}

/* PRPs or SGL for the segments, and each one's region; 0 or -errno with a message. */
static int vec_plan(struct vec *v, struct nvp_qpair *qp, size_t want)
{
	const struct nvp_dev *dev = qp->dev;
	unsigned sgls = NVME_GET(dev->id_ctrl.sgls, SGLS_SUPPORT), bad;
	enum nvp_iov_misfit m;
	size_t total = 0;

	for (unsigned i = 0; i < v->n; i++) {
		const struct nvp_iov *s = &v->iov[i];

		if (!s->buf || !s->len)
			return nvp_set_error(-EINVAL, "%s: segment %u is empty (buf %p, len %zu)", v->fn, i, s->buf,
					     s->len);
		if (s->len > want - total)
			return nvp_set_error(-EINVAL, "%s: segments 0..%u hold more than nlb * lba_size = %zu bytes",
					     v->fn, i, want);
		total += s->len;
		v->regions[i] = nvp_dma_pool_find((struct nvp_dma_pool *)&dev->pool, s->buf, s->len);
		if (!v->regions[i])
			return nvp_set_error(-EFAULT, "%s: segment %u (%p, %zu bytes) is not in DMA memory: allocate "
					     "it with nvp_dma_alloc()", v->fn, i, s->buf, s->len);
	}
	if (total != want)
		return nvp_set_error(-EINVAL, "%s: the segments hold %zu bytes; nlb * lba_size is %zu", v->fn, total,
				     want);
	m = nvp_iov_prp_check(v->iov, v->n, qp->page_shift, &bad);
	if (m == NVP_IOV_FIT && !dev->opts.force_sgl) {
		v->sgl = 0;
		return 0;
	}
	if (sgls == NVME_SGLS_NONE || sgls > NVME_SGLS_DWORD) {
		if (m == NVP_IOV_FIT)
			return nvp_set_error(-EOPNOTSUPP, "%s: opts.force_sgl, but the controller takes no SGLs "
					     "(Identify Controller SGLS bits 1:0 are %u)", v->fn, sgls);
		return nvp_set_error(-EINVAL, "%s: segment %u (%p, %zu bytes) %s, so the segments cannot be PRPs, "
				     "and the controller takes no SGLs (Identify Controller SGLS bits 1:0 are %u)",
				     v->fn, bad, v->iov[bad].buf, v->iov[bad].len, misfit_str(m), sgls);
	}
	if (sgls == NVME_SGLS_DWORD) {
		for (unsigned i = 0; i < v->n; i++)
			if (((uintptr_t)v->iov[i].buf | v->iov[i].len) & 3)
				return nvp_set_error(-EINVAL, "%s: segment %u (%p, %zu bytes) is not dword aligned in "
						     "address and length, as the controller's SGLs ask (SGLS bits 1:0 "
						     "= 10b)%s", v->fn, i, v->iov[i].buf, v->iov[i].len,
						     m == NVP_IOV_FIT ? "" : "; nor do the segments fit PRPs");
	}
	v->sgl = 1;
	return 0;
}

static int vec_map(struct nvp_qpair *qp, struct nvp_req *req, void *ctx)
{
	struct vec *v = ctx;
	size_t cap;
	int err;

	req->sqe.flags &= ~NVME_SQE_PSDT;
	if (!v->sgl) {
		err = nvp_iov_prp_build(v->iov, v->regions, v->n, qp->page_shift, qp->prp_region, req->prp_list,
					qp->prp_entries, &req->sqe.prp1, &req->sqe.prp2);
		if (err)
			return nvp_set_error(err, "%s: the PRP list does not fit the %u entries of a command's list",
					     v->fn, qp->prp_entries);
		return 0;
	}
	cap = qp->prp_entries * sizeof(uint64_t) / sizeof(struct nvme_sgl_desc);
	err = nvp_sgl_build(v->iov, v->regions, v->n, qp->page_shift, qp->prp_region,
			    (struct nvme_sgl_desc *)req->prp_list, cap, &req->sqe.sgl);
	if (err)
		return nvp_set_error(err, "%s: %zu SGL data descriptors (and their segment pointers) do not fit the "
				     "%zu of a command's list: use fewer segments", v->fn,
				     nvp_sgl_data_descs(v->iov, v->regions, v->n), cap);
	req->sqe.flags |= (uint8_t)NVME_SET(NVME_PSDT_SGL, SQE_PSDT);
	return 0;
}

static int vec_submit(const char *fn, uint8_t opc, struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba,
		      uint32_t nlb, const struct nvp_iov *iov, unsigned iovcnt, nvp_cb cb, void *arg)
{
	struct vec v = { .fn = fn, .iov = iov, .n = iovcnt };
	struct nvme_sqe sqe;
	size_t len;
	int err;

	if (!qp || !ns || !cb || !iov)
		return nvp_set_error(-EINVAL, "%s: qpair, namespace, iov and callback must not be NULL", fn);
	if (qp->dev->xport)
		return nvp_set_error(-EOPNOTSUPP, "%s: the %s config moves one buffer a command: vectored I/O "
				     "needs nvpoll's own PCIe queues (vfio-pci, uio, sim)", fn, qp->dev->xport->name);
	err = nvp_io_check_range(ns, slba, nlb);
	if (err)
		return nvp_prefix_error(err, "%s", fn);
	if (iovcnt == 0 || iovcnt > NVP_IOV_MAX)
		return nvp_set_error(-EINVAL, "%s: %u segments; a command takes 1..%u (NVP_IOV_MAX)", fn, iovcnt,
				     NVP_IOV_MAX);
	len = (size_t)nlb << ns->lba_shift;
	if (len > qp->max_xfer)
		return nvp_set_error(-E2BIG, "%s: %zu bytes is above the largest transfer, %u bytes (MDTS): split the "
				     "I/O", fn, len, qp->max_xfer);
	err = vec_plan(&v, qp, len);
	if (err)
		return err;
	nvp_cmd_range(&sqe, opc, ns, slba, nlb - 1);
	err = nvp_io_cmd_map(qp, &sqe, len, vec_map, &v, cb, arg);
	return err ? nvp_prefix_error(err, "%s", fn) : 0;
}

NVP_API int nvp_readv(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
		      const struct nvp_iov *iov, unsigned iovcnt, nvp_cb cb, void *arg)
{
	return vec_submit("nvp_readv", NVME_CMD_READ, qp, ns, slba, nlb, iov, iovcnt, cb, arg);
}

NVP_API int nvp_writev(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
		       const struct nvp_iov *iov, unsigned iovcnt, nvp_cb cb, void *arg)
{
	return vec_submit("nvp_writev", NVME_CMD_WRITE, qp, ns, slba, nlb, iov, iovcnt, cb, arg);
}
