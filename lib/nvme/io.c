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
#include "nvme/cmd.h"
#include "nvme/prp.h"

#define NVP_MAX_NLB 65536u /* the NLB field is 16 bits, zero-based */

/* The DMA region holding [buf, buf + len): the last one used, else a lookup (then the qpair's copy of it). */
static inline __attribute__((always_inline)) const struct nvp_dma_region *buf_region(struct nvp_qpair *qp, const void *buf, size_t len)
{
	const struct nvp_dma_region *r = qp->last_region;

	if (NVP_LIKELY(r && nvp_dma_region_contains(r, buf, len)))
		return r;
	r = nvp_dma_pool_find(&qp->dev->pool, buf, len);
	if (r) {
		qp->last_region = r;
		qp->dma_va = r->va;
		qp->dma_len = r->len;
		qp->dma_unit_iova = r->unit_iova;
	}
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

/*
 * Fill PRP1/PRP2 of @sqe for [buf, buf + len); 0 or -errno. Data that ends
 * within its second controller page (any I/O up to a page) is done here
 * inline; longer transfers build a PRP list.
 */
static inline __attribute__((always_inline)) int map_data(struct nvp_qpair *qp, struct nvp_req *req, const void *buf, size_t len,
			   struct nvme_sqe *sqe)
{
	const size_t page = qp->page_size;
	const size_t off = (uintptr_t)buf & (page - 1);
	const struct nvp_dma_region *r;
	int err;

	if (!len) {
		sqe->prp1 = sqe->prp2 = 0;
		return 0;
	}
	r = buf_region(qp, buf, len);
	if (NVP_UNLIKELY(!r))
		return buf_error(qp, buf, len, -EFAULT);
	if (NVP_LIKELY(!(off & 3) && off + len <= 2 * page)) {
		sqe->prp1 = nvp_dma_region_iova(r, buf);
		sqe->prp2 = off + len > page ? nvp_dma_region_iova(r, (const uint8_t *)buf + page - off) : 0;
		return 0;
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

static NVP_COLD int too_big(const struct nvp_qpair *qp, size_t len)
{
	return nvp_set_error(-E2BIG, "%zu bytes is above the largest transfer, %u bytes (MDTS): split the I/O",
			     len, qp->max_xfer);
}

static NVP_COLD int bad_args(const char *fn)
{
	return nvp_set_error(-EINVAL, "%s: qpair, namespace and callback must not be NULL", fn);
}

/*
 * Submission in two steps around the caller filling in its command: take a
 * slot and map the data into the slot's SQE (which a controller reset
 * resubmits), then post that SQE. The command is built once, in the slot,
 * and copied once, into the SQ.
 */
static inline __attribute__((always_inline)) struct nvp_req *
start(struct nvp_qpair *qp, const void *buf, size_t len, uint16_t *cid, int *err)
{
	struct nvp_req *req = nvp__req_get(qp, cid);

	if (NVP_UNLIKELY(!req)) {
		*err = qpair_full(qp);
		return NULL;
	}
	req->xfer_len = (uint32_t)len; /* for transports (nvme/transport.h); PCIe has the PRPs */
	*err = map_data(qp, req, buf, len, &req->sqe);
	if (NVP_UNLIKELY(*err)) {
		nvp__req_put(qp, *cid);
		return NULL;
	}
	return req;
}

static inline __attribute__((always_inline)) int
post(struct nvp_qpair *qp, struct nvp_req *req, uint16_t cid, nvp_cb cb, void *arg)
{
	req->cb = cb;
	req->arg = arg;
	/* No deadline stored: the periodic check gives a POSTED slot the qpair's timeout (NVP_REQ_POSTED). */
	req->sqe.cid = cid;
	nvp__sq_post(qp, &req->sqe);
	return 0;
}

/* Everything of an NVM command but its data pointer and cid. */
static inline void nvm_cmd(struct nvme_sqe *sqe, uint8_t opc, uint32_t nsid, uint32_t cdw10, uint32_t cdw11,
			   uint32_t cdw12)
{
	sqe->opc = opc;
	sqe->flags = 0;
	sqe->nsid = nsid;
	sqe->cdw2 = sqe->cdw3 = 0;
	sqe->mptr = 0;
	sqe->cdw10 = cdw10;
	sqe->cdw11 = cdw11;
	sqe->cdw12 = cdw12;
	sqe->cdw13 = sqe->cdw14 = sqe->cdw15 = 0;
}

static inline __attribute__((always_inline)) int
nvm_submit(struct nvp_qpair *qp, uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t cdw12, const void *buf,
	   size_t len, nvp_cb cb, void *arg)
{
	struct nvp_req *req;
	uint16_t cid;
	int err;

	req = start(qp, buf, len, &cid, &err);
	if (NVP_UNLIKELY(!req))
		return err;
	nvm_cmd(&req->sqe, opc, nsid, (uint32_t)slba, (uint32_t)(slba >> 32), cdw12);
	return post(qp, req, cid, cb, arg);
}

static inline __attribute__((always_inline)) int
rw_checked(struct nvp_qpair *qp, const struct nvp_ns *ns, uint8_t opc, uint64_t slba, uint32_t nlb, const void *buf,
	   nvp_cb cb, void *arg)
{
	size_t len;

	if (NVP_UNLIKELY(!qp || !ns || !cb))
		return bad_args(opc == NVME_CMD_READ ? "nvp_read" : "nvp_write");
	/* One compare for both nlb == 0 and a transfer above MDTS (len - 1 wraps for 0). */
	len = (size_t)nlb << ns->lba_shift;
	if (NVP_UNLIKELY(len - 1 >= qp->max_xfer))
		return len ? too_big(qp, len) : range_error(ns, slba, nlb);
	if (NVP_UNLIKELY(slba >= ns->info.nsze || nlb > ns->info.nsze - slba))
		return range_error(ns, slba, nlb);
	return nvm_submit(qp, opc, ns->info.nsid, slba, nlb - 1, buf, len, cb, arg);
}

/* Everything rw() leaves out: argument errors, a buffer in another region or needing a PRP list, a full qpair. */
static NVP_COLD int read_slow(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb, void *buf,
			      nvp_cb cb, void *arg)
{
	return rw_checked(qp, ns, NVME_CMD_READ, slba, nlb, buf, cb, arg);
}

static NVP_COLD int write_slow(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
			       void *buf, nvp_cb cb, void *arg)
{
	return rw_checked(qp, ns, NVME_CMD_WRITE, slba, nlb, buf, cb, arg);
}

/*
 * The same, once rw() has stored the callback, its argument, the LBA and
 * the block count in the idle slot @req: taken from there, so rw() need
 * not keep them in registers.
 */
static NVP_COLD int read_slow_slot(struct nvp_qpair *qp, const struct nvp_ns *ns, void *buf, const struct nvp_req *req)
{
	return rw_checked(qp, ns, NVME_CMD_READ, req->sqe.cdw10 | (uint64_t)req->sqe.cdw11 << 32, req->sqe.cdw12 + 1,
			  buf, req->cb, req->arg);
}

static NVP_COLD int write_slow_slot(struct nvp_qpair *qp, const struct nvp_ns *ns, void *buf, const struct nvp_req *req)
{
	return rw_checked(qp, ns, NVME_CMD_WRITE, req->sqe.cdw10 | (uint64_t)req->sqe.cdw11 << 32, req->sqe.cdw12 + 1,
			  buf, req->cb, req->arg);
}

/* 8 bytes of an SQE at once; may_alias: the SQE is read field by field elsewhere. */
typedef uint64_t __attribute__((may_alias)) sqe_word;

/*
 * The common read or write: arguments valid, the buffer in the region of
 * the last one (the qpair's copy, in the one cache line of the qpair a
 * submission reads) and within two controller pages, a free slot.
 * Anything else goes to @slow, a tail call to the general path above.
 * The command is stored as eight words straight into both its slot (a
 * reset resubmits that copy) and the SQ entry at the tail: no copy read
 * back. Each word is stored as soon as it is known, between the checks --
 * the first free slot and the SQ entry past the tail are nobody's until
 * the end, when the slot is taken and the tail moves, and the general path
 * overwrites both -- so few values stay live and no register is saved.
 */
static inline __attribute__((always_inline)) int
rw(struct nvp_qpair *qp, const struct nvp_ns *ns, uint8_t opc, uint64_t slba, uint32_t nlb, void *buf,
   nvp_cb cb, void *arg, int (*slow)(struct nvp_qpair *, const struct nvp_ns *, uint64_t, uint32_t, void *, nvp_cb, void *),
   int (*slow_slot)(struct nvp_qpair *, const struct nvp_ns *, void *, const struct nvp_req *))
{
	size_t len, off, poff, page;
	uint64_t nsze, prp2;
	const uint64_t *unit_iova;
	struct nvp_req *req;
	sqe_word *slot, *sq;
	uint16_t cid, tail;
	int top;

	/* Three tests, not one of three flags or'ed: the compiler makes fewer instructions of them. */
	if (NVP_UNLIKELY(!qp))
		return slow(qp, ns, slba, nlb, buf, cb, arg);
	if (NVP_UNLIKELY(!ns))
		return slow(qp, ns, slba, nlb, buf, cb, arg);
	if (NVP_UNLIKELY(!cb))
		return slow(qp, ns, slba, nlb, buf, cb, arg);
	top = qp->free_top;
	if (NVP_UNLIKELY(top == 0))
		return slow(qp, ns, slba, nlb, buf, cb, arg);
	cid = nvp__free_cids(qp)[top];
	req = &qp->reqs[cid];
	tail = qp->sq_tail;
	slot = (sqe_word *)&req->sqe;
	sq = (sqe_word *)&qp->sq[tail];
	req->cb = cb;
	req->arg = arg;
	/* opc, flags 0 (PRPs), cid, nsid | cdw2-3 | mptr | prp1 | prp2 | cdw10-11: slba | cdw12: nlb - 1, cdw13 | cdw14-15 */
	slot[0] = sq[0] = opc | (uint32_t)cid << 16 | (uint64_t)ns->info.nsid << 32;
	slot[5] = sq[5] = slba;
	slot[6] = sq[6] = nlb - 1;
	/* From here the slow path finds cb, arg, slba and nlb in the slot. */
	len = (size_t)nlb << ns->lba_shift;
	nsze = ns->info.nsze;
	/* len - 1 wraps for nlb == 0. */
	if (NVP_UNLIKELY(len - 1 >= qp->max_xfer || slba >= nsze || nlb > nsze - slba))
		return slow_slot(qp, ns, buf, req);
	off = (uintptr_t)buf - (uintptr_t)qp->dma_va; /* below the region: wraps above dma_len */
	/* off < dma_len first, so off + len cannot wrap. */
	if (NVP_UNLIKELY(off >= qp->dma_len || off + len > qp->dma_len))
		return slow_slot(qp, ns, buf, req);
	page = qp->page_size;
	poff = (uintptr_t)buf & (page - 1);
	if (NVP_UNLIKELY((poff & 3) || poff + len > 2 * page))
		return slow_slot(qp, ns, buf, req);
	unit_iova = qp->dma_unit_iova;
	slot[3] = sq[3] = unit_iova[off >> NVP_DMA_UNIT_SHIFT] + (off & (NVP_DMA_UNIT_SIZE - 1));
	prp2 = 0;
	if (poff + len > page) {
		off += page - poff;
		prp2 = unit_iova[off >> NVP_DMA_UNIT_SHIFT] + (off & (NVP_DMA_UNIT_SIZE - 1));
	}
	slot[4] = sq[4] = prp2;
	slot[1] = sq[1] = 0;
	slot[2] = sq[2] = 0;
	slot[7] = sq[7] = 0;
	/* Now the slot and the SQ entry are this command's. */
	/* No deadline stored: the periodic check gives a POSTED slot the qpair's timeout (NVP_REQ_POSTED). */
	req->xfer_len = (uint32_t)len;	   /* for transports (nvme/transport.h); PCIe has the PRPs */
	req->busy = NVP_REQ_POSTED;
	qp->free_top++; /* re-read: see the tail below */
	tail = qp->sq_tail; /* again: cheaper than keeping it in a register all along */
	if (++tail == qp->size)
		tail = 0;
	qp->sq_tail = tail;
	qp->stats.submitted++;
	return 0;
}

NVP_API int nvp_read(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
		     void *buf, nvp_cb cb, void *arg)
{
	return rw(qp, ns, NVME_CMD_READ, slba, nlb, buf, cb, arg, read_slow, read_slow_slot);
}

NVP_API int nvp_write(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
		      const void *buf, nvp_cb cb, void *arg)
{
	/* The device only reads it; the common path's type has no const. */
	return rw(qp, ns, NVME_CMD_WRITE, slba, nlb, (void *)(uintptr_t)buf, cb, arg, write_slow, write_slow_slot);
}

NVP_API int nvp_flush(struct nvp_qpair *qp, const struct nvp_ns *ns, nvp_cb cb, void *arg)
{
	if (!qp || !ns || !cb)
		return bad_args("nvp_flush");
	return nvm_submit(qp, NVME_CMD_FLUSH, ns->info.nsid, 0, 0, NULL, 0, cb, arg);
}

NVP_API int nvp_write_zeroes(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba,
			     uint32_t nlb, nvp_cb cb, void *arg)
{
	int err;

	if (!qp || !ns || !cb)
		return bad_args("nvp_write_zeroes");
	err = check_range(ns, slba, nlb);
	if (err)
		return err;
	return nvm_submit(qp, NVME_CMD_WRITE_ZEROES, ns->info.nsid, slba, nlb - 1, NULL, 0, cb, arg);
}

NVP_API int nvp_dsm(struct nvp_qpair *qp, const struct nvp_ns *ns, const struct nvme_dsm_range *ranges,
		    unsigned nr, nvp_cb cb, void *arg)
{
	struct nvp_req *req;
	uint16_t cid;
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
	req = start(qp, ranges, nr * sizeof(*ranges), &cid, &err);
	if (!req)
		return err;
	/* DSM's dwords: 10 = ranges - 1, 11 = attributes; no LBA. */
	nvm_cmd(&req->sqe, NVME_CMD_DSM, ns->info.nsid, nr - 1, NVME_DSM_ATTR_DEALLOCATE, 0);
	return post(qp, req, cid, cb, arg);
}

NVP_API int nvp_io_cmd(struct nvp_qpair *qp, const struct nvme_sqe *cmd, void *buf, size_t len,
		       nvp_cb cb, void *arg)
{
	struct nvp_req *req;
	uint64_t prp1, prp2;
	uint16_t cid;
	int err;

	if (!qp || !cmd || !cb)
		return nvp_set_error(-EINVAL, "nvp_io_cmd: qpair, command and callback must not be NULL");
	if (len > qp->max_xfer)
		return too_big(qp, len);
	req = start(qp, buf, len, &cid, &err);
	if (!req)
		return err;
	prp1 = req->sqe.prp1;
	prp2 = req->sqe.prp2;
	req->sqe = *cmd;
	req->sqe.flags &= ~NVME_SQE_PSDT; /* NVME_PSDT_PRP */
	req->sqe.prp1 = prp1;
	req->sqe.prp2 = prp2;
	return post(qp, req, cid, cb, arg);
}

/* For the commands of other files (lib/nvme/cmd.h): the range check of the ones above. */
int nvp_io_check_range(const struct nvp_ns *ns, uint64_t slba, uint32_t nlb)
{
	return check_range(ns, slba, nlb);
}

/*
 * For commands whose data pointer is not one buffer (vec.c): take a slot,
 * copy @cmd into it, let @map fill in its data pointer (and PSDT) with the
 * slot's list memory, post it. @len is the data's length, for transports.
 */
int nvp_io_cmd_map(struct nvp_qpair *qp, const struct nvme_sqe *cmd, size_t len,
		   int (*map)(struct nvp_qpair *qp, struct nvp_req *req, void *ctx), void *ctx, nvp_cb cb, void *arg)
{
	struct nvp_req *req;
	uint16_t cid;
	int err;

	req = start(qp, NULL, 0, &cid, &err);
	if (!req)
		return err;
	req->sqe = *cmd;
	req->xfer_len = (uint32_t)len;
	err = map(qp, req, ctx);
	if (err) {
		nvp__req_put(qp, cid);
		return err;
	}
	return post(qp, req, cid, cb, arg);
}
