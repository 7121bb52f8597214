/* SPDX-License-Identifier: MIT */
/*
 * Shadow doorbells (Doorbell Buffer Config, admin opcode 0x7C; offered by
 * controllers with OACS bit 8, which in practice means emulated ones).
 *
 * A doorbell register write to an emulated controller traps into its
 * emulator -- the most expensive thing the hot path does there. With a
 * shadow doorbell buffer the host stores each new SQ tail / CQ head in
 * memory, and the controller publishes, per queue, an EventIdx: the value
 * after which it stops looking at the shadow and wants the register
 * written again. nvp__shadow_db_update() (include/nvpoll/qpair.h) does the
 * per-I/O part; this file sets the buffers up, and again after every
 * controller reset, which makes the controller forget them.
 *
 * Both buffers are one controller memory page, laid out like the doorbell
 * registers: SQ y at (2y) * stride, CQ y at (2y + 1) * stride. The admin
 * queue keeps plain register writes (as Linux does); I/O queues use the
 * shadow when the controller accepted the buffers.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "nvme/nvme.h"

static size_t dbbuf_bytes(const struct nvp_dev *dev)
{
	return (size_t)1 << dev->page_shift;
}

/* Zero both buffers and hand them to the controller; on failure I/O queues use registers only. */
int nvp_dbbuf_config_locked(struct nvp_dev *dev)
{
	struct nvme_sqe cmd = {
		.opc = NVME_ADMIN_DBBUF_CONFIG,
	};
	int err;

	if (!dev->dbbuf_dbs)
		return 0;
	memset(dev->dbbuf_dbs, 0, dbbuf_bytes(dev));
	memset(dev->dbbuf_eis, 0, dbbuf_bytes(dev));
	cmd.prp1 = nvp_dma_pool_iova(&dev->pool, dev->dbbuf_dbs);
	cmd.prp2 = nvp_dma_pool_iova(&dev->pool, dev->dbbuf_eis);
	err = nvp_admin_sync_locked(dev, &cmd, NULL, 0, NULL);
	nvp_store_release(&dev->dbbuf_on, !err); /* a qpair that sees it on sees the buffers set up */
	if (err)
		nvp_log(NVP_LOG_WARN, "%s: Doorbell Buffer Config failed, using doorbell registers only: %s",
			dev->bus->name, nvp_errmsg());
	return err;
}

int nvp_dbbuf_setup(struct nvp_dev *dev)
{
	size_t bytes = dbbuf_bytes(dev);
	int err;

	if (!dev->opts.shadow_doorbells)
		return 0;
	if (!(dev->id_ctrl.oacs & NVME_OACS_DBBUF)) {
		nvp_log(NVP_LOG_INFO, "%s: shadow doorbells asked for, but the controller does not offer "
			"Doorbell Buffer Config (OACS bit 8): using doorbell registers", dev->bus->name);
		return 0;
	}
	/* Pool memory is 4 KiB aligned; the buffers must be page aligned, one page each. */
	if (dev->page_shift != 12 || nvp_db_offset(dev, dev->nr_io_queues, 1) + 4 > bytes) {
		nvp_log(NVP_LOG_INFO, "%s: shadow doorbells not used (memory page 2^%u, %u queues at stride %u)",
			dev->bus->name, dev->page_shift, dev->nr_io_queues, dev->db_stride);
		return 0;
	}
	dev->dbbuf_dbs = nvp_dma_pool_alloc(&dev->pool, bytes);
	dev->dbbuf_eis = nvp_dma_pool_alloc(&dev->pool, bytes);
	if (!dev->dbbuf_dbs || !dev->dbbuf_eis) {
		nvp_dbbuf_free(dev);
		return -ENOMEM;
	}
	pthread_mutex_lock(&dev->admin_lock);
	err = nvp_dbbuf_config_locked(dev);
	pthread_mutex_unlock(&dev->admin_lock);
	if (err == -ENODEV || err == -ETIMEDOUT)
		return err; /* the controller is gone or hung: open fails */
	if (err)
		nvp_dbbuf_free(dev); /* refused: registers only */
	return 0;
}

void nvp_dbbuf_free(struct nvp_dev *dev)
{
	dev->dbbuf_on = 0;
	if (dev->dbbuf_dbs)
		nvp_dma_pool_free(&dev->pool, dev->dbbuf_dbs);
	if (dev->dbbuf_eis)
		nvp_dma_pool_free(&dev->pool, dev->dbbuf_eis);
	dev->dbbuf_dbs = dev->dbbuf_eis = NULL;
}

/*
 * Point an I/O qpair at its shadow doorbells (or at none) before its queues
 * are created, with both values and EventIdx at 0 as a new queue's are: a
 * stale shadow tail would make the controller fetch entries never posted.
 */
void nvp_dbbuf_bind(struct nvp_qpair *qp)
{
	struct nvp_dev *dev = qp->dev;
	size_t sq_word = nvp_db_offset(dev, qp->qid, 0) / 4, cq_word = nvp_db_offset(dev, qp->qid, 1) / 4;

	if (!nvp_load_acquire(&dev->dbbuf_on)) { /* pairs with the release above */
		qp->sq_shadow = qp->cq_shadow = NULL;
		qp->sq_eventidx = qp->cq_eventidx = NULL;
		return;
	}
	qp->sq_shadow = &dev->dbbuf_dbs[sq_word];
	qp->cq_shadow = &dev->dbbuf_dbs[cq_word];
	qp->sq_eventidx = &dev->dbbuf_eis[sq_word];
	qp->cq_eventidx = &dev->dbbuf_eis[cq_word];
	*qp->sq_shadow = 0;
	*qp->cq_shadow = 0;
	dev->dbbuf_eis[sq_word] = 0;
	dev->dbbuf_eis[cq_word] = 0;
	nvp_wmb();
}
