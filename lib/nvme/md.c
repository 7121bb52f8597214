/* SPDX-License-Identifier: MIT */
/*
 * Read and Write with metadata and end-to-end protection: nvp_read_md(),
 * nvp_write_md(). Off the hot path: the SQE is built here (PRINFO in
 * CDW12, ILBRT in CDW14, LBAT/LBATM in CDW15, MPTR for a separate
 * metadata buffer) and submitted through nvp_io_cmd(), which maps the
 * data. nvp_cqe_error() turns a completion's PI check status into -EILSEQ.
 */
#include <errno.h>

#include "internal.h"
#include "nvme/cmd.h"
#include "nvme/nvme.h"

/* PRACT with PI as the whole metadata: the controller adds it on write and strips it on read. */
static int md_stripped(const struct nvp_ns_info *info, const struct nvp_pi_args *pi)
{
	return pi && (pi->flags & NVP_PI_PRACT) && info->ms == sizeof(struct nvme_pi_tuple);
}

static int md_submit(const char *fn, uint8_t opc, struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba,
		     uint32_t nlb, const void *buf, const void *md, const struct nvp_pi_args *pi, nvp_cb cb,
		     void *arg)
{
	const struct nvp_ns_info *info;
	const struct nvp_dma_region *r;
	struct nvme_sqe sqe;
	size_t len, mlen;
	int err, strip;

	if (!qp || !ns || !cb)
		return nvp_set_error(-EINVAL, "%s: qpair, namespace and callback must not be NULL", fn);
	info = &ns->info;
	err = nvp_io_check_range(ns, slba, nlb);
	if (err)
		return nvp_prefix_error(err, "%s", fn);
	if (pi && (pi->flags & ~(NVP_PI_CHECK_ALL | NVP_PI_PRACT)))
		return nvp_set_error(-EINVAL, "%s: PI flags 0x%x are not NVP_PI_CHECK_* or NVP_PI_PRACT", fn,
				     pi->flags);
	if (pi && pi->flags && !info->pi_type)
		return nvp_set_error(-EINVAL, "%s: namespace %u has no protection information (PI type 0): "
				     "pass no PI flags", fn, info->nsid);
	if (pi && (pi->flags & NVP_PI_CHECK_REF) && info->pi_type == 3)
		return nvp_set_error(-EINVAL, "%s: namespace %u has PI type 3, whose reference tag is not checked: "
				     "leave NVP_PI_CHECK_REF out", fn, info->nsid);
	strip = md_stripped(info, pi);
	mlen = (size_t)nlb * info->ms;
	len = ((size_t)nlb << ns->lba_shift) + (info->md_extended && !strip ? mlen : 0);
	nvp_cmd_range(&sqe, opc, ns, slba, nlb - 1);
	if (!info->ms || info->md_extended || strip) {
		if (md)
			return nvp_set_error(-EINVAL, "%s: namespace %u takes no separate metadata buffer here (%s): "
					     "md must be NULL", fn, info->nsid,
					     !info->ms ? "it has no metadata" :
					     info->md_extended ? "extended LBAs carry it in the data buffer" :
					     "PRACT with 8-byte PI moves none");
	} else {
		if (!md)
			return nvp_set_error(-EINVAL, "%s: namespace %u keeps %u metadata bytes per block apart: "
					     "give md, %zu bytes of DMA memory", fn, info->nsid, info->ms, mlen);
		r = nvp_dma_pool_find(&qp->dev->pool, md, mlen);
		if (!r)
			return nvp_set_error(-EFAULT, "%s: metadata buffer %p (%zu bytes) is not in DMA memory: "
					     "allocate it with nvp_dma_alloc()", fn, md, mlen);
		if ((uintptr_t)md & 3)
			return nvp_set_error(-EINVAL, "%s: metadata buffer %p is not 4-byte aligned (MPTR)", fn, md);
		sqe.mptr = nvp_dma_region_iova(r, md);
	}
	if (len > qp->max_xfer)
		return nvp_set_error(-E2BIG, "%s: %zu bytes (data%s) is above the largest transfer, %u bytes (MDTS): "
				     "split the I/O", fn, len, info->md_extended && !strip ? " and metadata" : "",
				     qp->max_xfer);
	if (pi) {
		sqe.cdw12 |= (uint32_t)NVME_SET(pi->flags, RW_PRINFO);
		sqe.cdw14 = pi->ref_tag;
		sqe.cdw15 = (uint32_t)(NVME_SET(pi->app_tag, RW_LBAT) | NVME_SET(pi->app_mask, RW_LBATM));
	}
	err = nvp_io_cmd(qp, &sqe, (void *)buf, len, cb, arg);
	return err ? nvp_prefix_error(err, "%s", fn) : 0;
}

NVP_API int nvp_read_md(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb, void *buf,
			void *md, const struct nvp_pi_args *pi, nvp_cb cb, void *arg)
{
	return md_submit("nvp_read_md", NVME_CMD_READ, qp, ns, slba, nlb, buf, md, pi, cb, arg);
}

NVP_API int nvp_write_md(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
			 const void *buf, const void *md, const struct nvp_pi_args *pi, nvp_cb cb, void *arg)
{
	return md_submit("nvp_write_md", NVME_CMD_WRITE, qp, ns, slba, nlb, buf, md, pi, cb, arg);
}

NVP_API int nvp_cqe_error(int err, const struct nvme_cqe *cqe)
{
	char st[128];
	uint16_t status;

	if (err != -EIO || !cqe)
		return err;
	status = nvp_cqe_status(cqe);
	nvp_status_format(status, st, sizeof(st));
	if (NVME_GET(status, STATUS_SCT) == NVME_SCT_MEDIA) {
		switch (NVME_GET(status, STATUS_SC)) {
		case NVME_SC_GUARD_CHECK:
		case NVME_SC_APPTAG_CHECK:
		case NVME_SC_REFTAG_CHECK:
			return nvp_set_error(-EILSEQ, "%s: the data or its protection information changed on the way", st);
		}
	}
	return nvp_set_error(-EIO, "%s", st);
}
