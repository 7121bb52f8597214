/* SPDX-License-Identifier: MIT */
/*
 * Transports: how commands travel when the controller is not ours to drive
 * through BAR0. PCIe (vfio-pci, uio-generic, sim) is no transport here: it
 * is the inline path of include/nvpoll/qpair.h, and dev->xport is NULL.
 * Every other config (the kernel's paths in lib/kernel, nil in lib/nil)
 * is a const struct nvp_transport_ops, chosen by the config table (be.c).
 *
 * A transport qpair keeps the PCIe qpair's shape, so the I/O API and its
 * inline code stay the same and PCIe pays nothing for the seam:
 *  - submission is unchanged: nvp_read() and friends build the command in
 *    a slot and post it to qp->sq, an SQ ring in plain memory; the slot's
 *    xfer_len and the SQE's PRP1 (a DMA pool address: the buffer's own
 *    virtual address, since the transport's bus maps memory one to one)
 *    say where the data is;
 *  - qp->gen never matches *qp->dev_gen, so nvp_qpair_poll() always takes
 *    its out-of-line branch, nvp__qpair_recover(), which calls ->poll():
 *    it takes the SQ entries posted since the last call to the kernel (or
 *    wherever), and posts what finished to qp->cq as completion entries
 *    with the phase bit, which the inline loop then reaps as from a
 *    controller. A command that failed without an NVMe status (an errno
 *    from the kernel) is completed at once with that errno, by
 *    nvp_xport_complete_err();
 *  - the doorbells are two words in the qpair: writing them does nothing.
 * So commands reach the transport at the next poll, not at
 * nvp_qpair_ring(); deadlines and Abort are the kernel's business there,
 * except over NVMe/TCP, whose ->poll keeps the slots' deadlines itself
 * (lib/tcp/tcp.c: tcp_expire()).
 *
 * Slow path of its own: none of this is reached from a PCIe qpair.
 */
#ifndef NVP_NVME_TRANSPORT_H
#define NVP_NVME_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "nvme/nvme.h"

struct nvp_transport_ops {
	const char *name;
	/* Bring-up and reset, as a table of steps (nvme.h). */
	const struct nvp_ctrl_ops *ctrl;
	/*
	 * One admin command, synchronously: @buf is any memory (@len bytes,
	 * in or out as the opcode says). 0, -EIO with the status in *@cqe, or
	 * -errno with a message. Any thread; the caller holds no lock.
	 */
	int (*admin)(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
		     struct nvme_cqe *cqe);
	/* Per-qpair state (qp->xport_priv) once the rings and slots exist; 0 or -errno with a message. NULL: none. */
	int (*qpair_init)(struct nvp_qpair *qp);
	/* Undo qpair_init; commands still in flight are given up (nvp_qpair_destroy() cancels them). NULL: none. */
	void (*qpair_fini)(struct nvp_qpair *qp);
	/* Start what was posted since the last call, reap what finished. On the qpair's thread. */
	void (*poll)(struct nvp_qpair *qp);
	/*
	 * The controller's registers as properties (NVMe over Fabrics' Property
	 * Get/Set), so ctrl.c's enable, disable, CSTS waits and shutdown run
	 * over them unchanged: @size 4 or 8 bytes at offset @off (enum
	 * nvme_reg). 0 or -errno with a message. NULL: no registers at all.
	 */
	int (*prop_get)(struct nvp_dev *dev, unsigned off, unsigned size, uint64_t *val);
	int (*prop_set)(struct nvp_dev *dev, unsigned off, unsigned size, uint64_t val);
	/* From nvp_admin_poll(), any thread: the transport's periodic admin work (Keep Alive). NULL: none. */
	int (*admin_poll)(struct nvp_dev *dev);
	/* At nvp_dev_close(), after the qpairs are gone: shut the controller down. NULL: not ours to. */
	void (*shutdown)(struct nvp_dev *dev);
};

/* Set up a transport qpair on top of nvp_qpair_init(): doorbells, generation, ->qpair_init. */
int nvp_xport_qpair_init(struct nvp_qpair *qp);

/*
 * The next SQ entry posted and not yet taken, or NULL. Its cid names the
 * slot (qp->reqs[cid]); nvp_xport_data() says where its data is.
 */
static inline const struct nvme_sqe *nvp_xport_next_sqe(struct nvp_qpair *qp)
{
	const struct nvme_sqe *sqe;

	if (qp->xport_sq_head == qp->sq_tail)
		return NULL;
	sqe = &qp->sq[qp->xport_sq_head];
	if (++qp->xport_sq_head == qp->size)
		qp->xport_sq_head = 0;
	return sqe;
}

/* The command's data: its address (the buffer's own, see above) and length; NULL, 0 without. */
static inline void *nvp_xport_data(const struct nvp_qpair *qp, const struct nvme_sqe *sqe, size_t *len)
{
	*len = qp->reqs[sqe->cid].xfer_len;
	return *len ? (void *)(uintptr_t)sqe->prp1 : NULL;
}

/*
 * Post a completion for @cid to the CQ ring: @status is the 15-bit status
 * field (0: success), @dw0 the command specific dword. The inline loop of
 * nvp_qpair_poll() reaps it and runs the callback. Never overflows: a
 * slot stays busy until its entry is reaped, and slots number size - 1.
 */
static inline void nvp_xport_post_cqe(struct nvp_qpair *qp, uint16_t cid, uint16_t status, uint32_t dw0)
{
	volatile struct nvme_cqe *cqe = &qp->cq[qp->xport_cq_tail];

	cqe->dw0 = dw0;
	cqe->dw1 = 0;
	cqe->sq_head = qp->xport_sq_head;
	cqe->sq_id = qp->qid;
	cqe->cid = cid;
	/* The phase bit last: the loop reads the entry once it sees it (one thread, no barrier needed). */
	cqe->status = (uint16_t)(status << 1 | qp->xport_cq_phase);
	if (++qp->xport_cq_tail == qp->size) {
		qp->xport_cq_tail = 0;
		qp->xport_cq_phase ^= 1;
	}
}

/* Complete @cid now with @err (a -errno the kernel gave, with no NVMe status), its callback run here. */
void nvp_xport_complete_err(struct nvp_qpair *qp, uint16_t cid, int err);

/* Namespace @nsid's data bytes per block as a shift, or 0 when it is not active. */
unsigned nvp_xport_lba_shift(const struct nvp_dev *dev, uint32_t nsid);

/*
 * Steps of a transport's controller sequence. Identify Controller through
 * ->admin, then VS from its VER, 4 KiB pages, and the largest transfer from
 * MDTS capped by @max_xfer (0: no cap of the transport's).
 */
int nvp_xport_identify(struct nvp_dev *dev, size_t max_xfer);
/* opts.nr_io_queues qpairs of at most @max_depth entries: no controller queues to ask for. */
int nvp_xport_queues(struct nvp_dev *dev, unsigned max_depth);

/*
 * The bus half of a transport (bus.h): its memory is reached by the
 * kernel or by nobody, so a DMA address is the virtual address itself.
 */
int nvp_xport_dma_map(struct nvp_bus *bus, void *vaddr, size_t len, uint64_t *unit_iova);
int nvp_xport_dma_unmap(struct nvp_bus *bus, void *vaddr, size_t len, const uint64_t *unit_iova);

#endif /* NVP_NVME_TRANSPORT_H */
