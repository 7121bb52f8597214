/* SPDX-License-Identifier: MIT */
/*
 * Controller bring-up and shutdown over MMIO (NVMe Base spec 3.5.1, 3.6),
 * or over a transport's properties (Fabrics Property Get/Set), the same way.
 *
 * Order: disable (wait CSTS.RDY = 0), program AQA/ASQ/ACQ, write CC with
 * the queue entry sizes and page size and EN = 1, wait CSTS.RDY = 1. Every
 * wait is bounded by CAP.TO and gives up early on CSTS.CFS or on a BAR that
 * reads all ones (device gone); nvp_ctrl_wait() is the one loop that does
 * it, for these waits and for the admin queue's.
 */
#include <errno.h>
#include <sched.h>

#include "internal.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"

#define HOST_PAGE_SHIFT 12

/*
 * The registers: in BAR0, or a transport's properties (NVMe over Fabrics'
 * Property Get/Set). A property that cannot be read reads as all ones,
 * which every caller below already takes for "the controller is gone";
 * the transport's message says why.
 */
static uint32_t ctrl_read32(struct nvp_dev *dev, unsigned off)
{
	uint64_t v;

	if (!dev->xport)
		return nvp_reg_read32(dev->bus->bar0, off);
	return dev->xport->prop_get(dev, off, 4, &v) ? UINT32_MAX : (uint32_t)v;
}

static void ctrl_write32(struct nvp_dev *dev, unsigned off, uint32_t v)
{
	if (!dev->xport)
		nvp_reg_write32(dev->bus->bar0, off, v);
	else if (dev->xport->prop_set(dev, off, 4, v))
		nvp_log(NVP_LOG_WARN, "%s: %s", dev->bus->name, nvp_errmsg());
}

int nvp_ctrl_parse_cap(struct nvp_dev *dev, uint64_t cap)
{
	unsigned mpsmin = NVME_GET(cap, CAP_MPSMIN) + 12;
	unsigned mpsmax = NVME_GET(cap, CAP_MPSMAX) + 12;

	if (cap == UINT64_MAX)
		return nvp_set_error(-ENODEV, "controller registers read all ones: the device is gone or not responding");
	if (!(NVME_GET(cap, CAP_CSS) & NVME_CAP_CSS_NVM))
		return nvp_set_error(-ENOTSUP, "controller does not support the NVM command set (CAP.CSS=%#x)",
				     (unsigned)NVME_GET(cap, CAP_CSS));
	if (mpsmin > mpsmax || mpsmin > 16)
		return nvp_set_error(-ENOTSUP, "controller memory page sizes 2^%u..2^%u are not supported",
				     mpsmin, mpsmax);
	dev->cap = cap;
	/* The host page size (4 KiB) when the controller allows it, else its minimum. */
	dev->page_shift = HOST_PAGE_SHIFT < mpsmin ? mpsmin :
			  HOST_PAGE_SHIFT > mpsmax ? mpsmax : HOST_PAGE_SHIFT;
	dev->db_stride = 4u << NVME_GET(cap, CAP_DSTRD);
	dev->ready_timeout_ms = (unsigned)NVME_GET(cap, CAP_TO) * 500;
	if (dev->ready_timeout_ms == 0)
		dev->ready_timeout_ms = 500;
	dev->max_queue_depth = (unsigned)NVME_GET(cap, CAP_MQES) + 1;
	if (dev->max_queue_depth < 2)
		return nvp_set_error(-ENOTSUP, "controller reports CAP.MQES=0: no usable queue size");
	return 0;
}

size_t nvp_ctrl_max_xfer(uint8_t mdts, uint64_t cap)
{
	size_t mpsmin = (size_t)1 << (NVME_GET(cap, CAP_MPSMIN) + 12);

	if (mdts == 0 || mdts >= 20)
		return NVP_MAX_XFER_CAP;
	if (mpsmin << mdts > NVP_MAX_XFER_CAP)
		return NVP_MAX_XFER_CAP;
	return mpsmin << mdts;
}

int nvp_ctrl_wait(struct nvp_dev *dev, const char *what, unsigned timeout_ms, int cfs,
		  int (*done)(struct nvp_dev *dev, uint32_t csts, void *arg), void *arg)
{
	uint64_t deadline = nvp_now_ns() + (uint64_t)timeout_ms * 1000000;

	for (;;) {
		uint32_t csts = ctrl_read32(dev, NVME_REG_CSTS);

		/* First: all ones would pass for RDY = 1 and SHST = complete. */
		if (csts == UINT32_MAX)
			return nvp_set_error(-ENODEV, "%s: controller registers read all ones (device removed?)",
					     what);
		if (done(dev, csts, arg))
			return 0;
		/*
		 * A device on its way out need not read all ones (uio: its BAR
		 * then answers garbage), so ask the bus too. Not during the
		 * release itself, whose shutdown waits here.
		 */
		if (!nvp_load_acquire(&dev->released) && nvp_dev_check_release(dev))
			return nvp_set_error(-ENODEV, "%s: the device was removed", what);
		if (cfs && NVME_GET(csts, CSTS_CFS))
			return -EIO;
		if (nvp_now_ns() > deadline)
			return -ETIMEDOUT;
		sched_yield();
	}
}

static int csts_rdy_is(struct nvp_dev *dev, uint32_t csts, void *arg)
{
	(void)dev;
	return NVME_GET(csts, CSTS_RDY) == *(const unsigned *)arg;
}

/* Wait until CSTS.RDY equals @rdy. */
static int wait_ready(struct nvp_dev *dev, unsigned rdy, const char *what)
{
	int err = nvp_ctrl_wait(dev, what, dev->ready_timeout_ms, rdy, csts_rdy_is, &rdy);

	if (err == -EIO)
		return nvp_set_error(-EIO, "%s: controller fatal status (CSTS.CFS) set", what);
	if (err == -ETIMEDOUT)
		return nvp_set_error(-ETIMEDOUT, "%s: CSTS.RDY did not become %u within CAP.TO (%u ms)",
				     what, rdy, dev->ready_timeout_ms);
	return err;
}

int nvp_ctrl_disable(struct nvp_dev *dev)
{
	uint32_t cc = ctrl_read32(dev, NVME_REG_CC);
	uint32_t csts = ctrl_read32(dev, NVME_REG_CSTS);
	int err;

	if (cc == UINT32_MAX)
		return nvp_set_error(-ENODEV, "controller registers read all ones (device removed?)");
	/*
	 * Changing EN while RDY still follows the previous value is undefined
	 * (spec 3.1.6): let an enable in progress finish first. A controller
	 * that is failed or never gets ready is disabled anyway: that is the
	 * only way back.
	 */
	if (NVME_GET(cc, CC_EN) && !NVME_GET(csts, CSTS_RDY) && !NVME_GET(csts, CSTS_CFS)) {
		err = wait_ready(dev, 1, "waiting for a previous enable");
		if (err == -ENODEV)
			return err;
	}
	if (NVME_GET(cc, CC_EN))
		ctrl_write32(dev, NVME_REG_CC, cc & ~(uint32_t)NVME_SET(1, CC_EN));
	return wait_ready(dev, 0, "disabling the controller");
}

int nvp_ctrl_enable(struct nvp_dev *dev)
{
	struct nvp_qpair *aq = &dev->admin;
	uint32_t aqa, cc;
	unsigned css;

	/* Over Fabrics the admin queue is the one Connect made: it has no registers. */
	if (!dev->xport) {
		volatile uint8_t *bar = dev->bus->bar0;

		aqa = (uint32_t)(NVME_SET(aq->size - 1, AQA_ASQS) | NVME_SET(aq->size - 1, AQA_ACQS));
		nvp_reg_write32(bar, NVME_REG_AQA, aqa);
		nvp_reg_write64(bar, NVME_REG_ASQ, nvp_dma_pool_iova(&dev->pool, aq->sq_mem));
		nvp_reg_write64(bar, NVME_REG_ACQ, nvp_dma_pool_iova(&dev->pool, aq->cq_mem));
	}

	/* Every command set the controller has, when it has more than NVM: zoned namespaces need it. */
	css = NVME_GET(dev->cap, CAP_CSS) & NVME_CAP_CSS_IOCS ? NVME_CC_CSS_ALL : NVME_CC_CSS_NVM;
	cc = (uint32_t)(NVME_SET(css, CC_CSS) | NVME_SET(dev->page_shift - 12, CC_MPS) |
			NVME_SET(0, CC_AMS) | NVME_SET(NVME_SQES_LOG2, CC_IOSQES) |
			NVME_SET(NVME_CQES_LOG2, CC_IOCQES));
	/* Queue registers first, then EN in its own write, as the spec orders it. */
	ctrl_write32(dev, NVME_REG_CC, cc);
	ctrl_write32(dev, NVME_REG_CC, cc | (uint32_t)NVME_SET(1, CC_EN));
	return wait_ready(dev, 1, "enabling the controller");
}

static int csts_shutdown_done(struct nvp_dev *dev, uint32_t csts, void *arg)
{
	(void)dev;
	(void)arg;
	return NVME_GET(csts, CSTS_SHST) == NVME_CSTS_SHST_COMPLETE;
}

int nvp_ctrl_shutdown(struct nvp_dev *dev)
{
	unsigned timeout_ms = NVP_SHUTDOWN_TIMEOUT_MS;
	uint32_t cc = ctrl_read32(dev, NVME_REG_CC);
	int err;

	if (cc == UINT32_MAX)
		return nvp_set_error(-ENODEV, "shutdown: controller registers read all ones");
	if (!NVME_GET(cc, CC_EN))
		return 0;
	/* RTD3E (µs) says how long the controller needs; honour it when longer. */
	if (dev->id_ctrl.rtd3e / 1000 > timeout_ms)
		timeout_ms = dev->id_ctrl.rtd3e / 1000;
	cc &= ~(uint32_t)NVME_SET(NVME_CC_SHN_MASK, CC_SHN);
	ctrl_write32(dev, NVME_REG_CC, cc | (uint32_t)NVME_SET(NVME_CC_SHN_NORMAL, CC_SHN));
	err = nvp_ctrl_wait(dev, "shutdown", timeout_ms, 0, csts_shutdown_done, NULL);
	if (err == -ETIMEDOUT)
		return nvp_set_error(-ETIMEDOUT, "shutdown did not complete within %u ms", timeout_ms);
	return err;
}

void nvp_dev_mark_removed(struct nvp_dev *dev)
{
	if (!nvp_xchg_acq_rel(&dev->removed, 1)) /* any thread may see all ones: log once */
		nvp_log(NVP_LOG_ERROR, "%s: controller registers read all ones: device removed; "
			"every command now ends with -ENODEV", dev->bus->name);
}

NVP_API int nvp_dev_removed(const struct nvp_dev *dev)
{
	return dev ? nvp_load_acquire(&dev->removed) : 0; /* set by whichever thread saw all ones */
}
