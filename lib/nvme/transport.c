/* SPDX-License-Identifier: MIT */
/* What every transport other than PCIe shares: see transport.h. */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"

/* Never a transport qpair's own generation (0): its polls always take the out-of-line branch. */
static const unsigned xport_gen = 1;

int nvp_xport_qpair_init(struct nvp_qpair *qp)
{
	qp->xport = qp->dev->xport;
	qp->sq_db = &qp->xport_db[0];
	qp->cq_db = &qp->xport_db[1];
	qp->dev_gen = &xport_gen;
	qp->gen = 0;
	qp->xport_sq_head = qp->xport_cq_tail = 0;
	qp->xport_cq_phase = 1;
	return qp->xport->qpair_init ? qp->xport->qpair_init(qp) : 0;
}

void nvp_xport_complete_err(struct nvp_qpair *qp, uint16_t cid, int err)
{
	struct nvp_req *req = &qp->reqs[cid];
	struct nvme_cqe cqe = { .cid = cid, .sq_id = qp->qid, .sq_head = qp->xport_sq_head };
	nvp_cb cb = req->cb;
	void *arg = req->arg;

	nvp__req_put(qp, cid);
	qp->stats.completed++;
	cb(arg, err, &cqe);
}

unsigned nvp_xport_lba_shift(const struct nvp_dev *dev, uint32_t nsid)
{
	for (unsigned i = 0; i < dev->nr_ns_all; i++)
		if (dev->ns_all[i]->info.nsid == nsid && dev->ns_all[i]->info.nsze)
			return dev->ns_all[i]->lba_shift;
	return 0;
}

int nvp_xport_identify(struct nvp_dev *dev, size_t max_xfer)
{
	int err = nvp_identify(dev, NVME_ID_CNS_CTRL, 0, &dev->id_ctrl);

	if (err)
		return nvp_prefix_error(err, "Identify Controller");
	/* No registers: CAP stays 0 (4 KiB pages, MPSMIN 0), VS is Identify's VER. */
	dev->page_shift = 12;
	dev->vs = dev->id_ctrl.ver;
	dev->max_xfer = nvp_ctrl_max_xfer(dev->id_ctrl.mdts, 0);
	if (max_xfer && max_xfer < dev->max_xfer)
		dev->max_xfer = max_xfer;
	return 0;
}

int nvp_xport_queues(struct nvp_dev *dev, unsigned max_depth)
{
	dev->nr_io_queues = dev->opts.nr_io_queues;
	dev->max_queue_depth = max_depth;
	dev->io_qpairs = calloc(dev->nr_io_queues + 1, sizeof(*dev->io_qpairs));
	return dev->io_qpairs ? 0 : nvp_set_error(-ENOMEM, "out of memory for %u qpairs", dev->nr_io_queues);
}

int nvp_xport_dma_map(struct nvp_bus *bus, void *vaddr, size_t len, uint64_t *unit_iova)
{
	(void)bus;
	for (size_t i = 0; i < len / NVP_DMA_UNIT_SIZE; i++)
		unit_iova[i] = (uint64_t)(uintptr_t)vaddr + i * NVP_DMA_UNIT_SIZE;
	return 0;
}

int nvp_xport_dma_unmap(struct nvp_bus *bus, void *vaddr, size_t len, const uint64_t *unit_iova)
{
	(void)bus, (void)vaddr, (void)len, (void)unit_iova;
	return 0;
}
