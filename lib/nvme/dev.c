/* SPDX-License-Identifier: MIT */
/*
 * A device's controller half: once lib/be chose the config and opened the
 * bus (nvp_dev_open(), lib/be/open.c), bring the controller up and learn
 * what it is; and the reverse, ending in a clean shutdown so everything
 * written is persistent. Then what was learnt, for the application.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"

struct nvp_dev *nvp_dev_alloc(const struct nvp_opts *opts)
{
	struct nvp_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return nvp_err_ptr(nvp_set_error(-ENOMEM, "out of memory"));
	dev->opts = *opts;
	pthread_mutex_init(&dev->admin_lock, NULL);
	return dev;
}

int nvp_dev_bring_up(struct nvp_dev *dev, struct nvp_bus *bus, const struct nvp_transport_ops *xport,
		     const struct nvp_mem_ops *mem, uint32_t uri_nsid)
{
	int numa, err;

	dev->bus = bus;
	dev->xport = xport;
	numa = dev->opts.numa_node >= 0 ? dev->opts.numa_node : bus->numa_node;
	err = nvp_dma_pool_init(&dev->pool, bus, mem, numa);
	if (err)
		return err;
	/* PCIe reaches its controller through registers in BAR0; a transport brings its own sequence. */
	dev->ctrl = xport ? xport->ctrl : &nvp_ctrl_pcie;
	err = nvp_ctrl_run(dev, 0);
	if (err)
		return err;
	dev->uri_nsid = uri_nsid ? uri_nsid : bus->nsid;
	if (dev->uri_nsid && !nvp_ns_get(dev, dev->uri_nsid))
		return -ENOENT; /* nvp_ns_get() said why */
	return 0;
}

static void dev_free(struct nvp_dev *dev)
{
	nvp_ns_free(dev);
	free(dev->io_qpairs);
	if (dev->pool.mem)
		nvp_dbbuf_free(dev);
	nvp_admin_fini(dev);
	if (dev->pool.mem)
		nvp_dma_pool_fini(&dev->pool);
	if (dev->bus)
		dev->bus->ops->close(dev->bus);
	pthread_mutex_destroy(&dev->admin_lock);
	free(dev);
}

void nvp_dev_abandon(struct nvp_dev *dev)
{
	/* Stop the controller before its queue memory goes away. */
	if (dev->cap && !dev->xport)
		nvp_ctrl_disable(dev);
	dev_free(dev);
}

NVP_API void nvp_dev_close(struct nvp_dev *dev)
{
	if (!dev)
		return;
	for (unsigned qid = 1; dev->io_qpairs && qid <= dev->nr_io_queues; qid++)
		if (dev->io_qpairs[qid])
			nvp_qpair_destroy(dev->io_qpairs[qid]);
	/*
	 * A removed device has no registers left to shut down (released: already
	 * done); a transport's controller is not ours to shut down, unless the
	 * transport says it is (NVMe/TCP: CC.SHN over Property Set).
	 */
	if (!dev->removed && dev->xport && dev->xport->shutdown)
		dev->xport->shutdown(dev);
	if (!dev->removed && !dev->xport) {
		if (nvp_ctrl_shutdown(dev))
			nvp_log(NVP_LOG_WARN, "%s: %s", dev->bus->name, nvp_errmsg());
		/* Disabled, the controller forgets the admin queue before its memory is unmapped. */
		nvp_ctrl_disable(dev);
	}
	dev_free(dev);
}

NVP_API const struct nvme_id_ctrl *nvp_dev_id_ctrl(const struct nvp_dev *dev)
{
	return dev ? &dev->id_ctrl : NULL;
}

NVP_API size_t nvp_dev_max_xfer(const struct nvp_dev *dev)
{
	return dev ? dev->max_xfer : 0;
}

NVP_API unsigned nvp_dev_max_queue_depth(const struct nvp_dev *dev)
{
	return dev ? dev->max_queue_depth : 0;
}

NVP_API int nvp_dev_shadow_doorbells(const struct nvp_dev *dev)
{
	return dev ? nvp_load_acquire(&dev->dbbuf_on) : 0; /* set by the admin path, read from any thread */
}

NVP_API const char *nvp_dev_backend(const struct nvp_dev *dev)
{
	return dev ? dev->bus->ops->name : NULL;
}

NVP_API uint32_t nvp_dev_nsid(const struct nvp_dev *dev)
{
	return dev ? dev->uri_nsid : 0;
}

NVP_API uint64_t nvp_dev_cap(const struct nvp_dev *dev)
{
	return dev ? dev->cap : 0;
}

NVP_API uint32_t nvp_dev_vs(const struct nvp_dev *dev)
{
	return dev ? dev->vs : 0;
}

NVP_API int nvp_dev_regs(const struct nvp_dev *dev, struct nvp_regs *out)
{
	volatile uint8_t *bar;

	if (!dev || !out)
		return nvp_set_error(-EINVAL, "nvp_dev_regs: dev or out is NULL");
	bar = dev->bus->bar0;
	if (dev->xport || !bar)
		return nvp_set_error(-EOPNOTSUPP, "%s: the %s config has no controller registers to read "
				     "(the kernel or nil owns them); open the controller through vfio-pci or "
				     "uio-generic", dev->bus->name, dev->bus->ops->name);
	out->cap = nvp_reg_read64(bar, NVME_REG_CAP);
	out->vs = nvp_reg_read32(bar, NVME_REG_VS);
	out->intms = nvp_reg_read32(bar, NVME_REG_INTMS);
	out->intmc = nvp_reg_read32(bar, NVME_REG_INTMC);
	out->cc = nvp_reg_read32(bar, NVME_REG_CC);
	out->csts = nvp_reg_read32(bar, NVME_REG_CSTS);
	out->nssr = nvp_reg_read32(bar, NVME_REG_NSSR);
	out->aqa = nvp_reg_read32(bar, NVME_REG_AQA);
	out->asq = nvp_reg_read64(bar, NVME_REG_ASQ);
	out->acq = nvp_reg_read64(bar, NVME_REG_ACQ);
	out->cmbloc = nvp_reg_read32(bar, NVME_REG_CMBLOC);
	out->cmbsz = nvp_reg_read32(bar, NVME_REG_CMBSZ);
	return 0;
}

NVP_API void *nvp_dma_alloc(struct nvp_dev *dev, size_t size)
{
	if (!dev)
		return nvp_err_ptr(nvp_set_error(-EINVAL, "nvp_dma_alloc: dev is NULL"));
	return nvp_dma_pool_alloc(&dev->pool, size);
}

NVP_API void nvp_dma_free(struct nvp_dev *dev, void *buf)
{
	if (dev && buf && nvp_dma_pool_free(&dev->pool, buf))
		nvp_log(NVP_LOG_ERROR, "nvp_dma_free(%p): not a buffer from nvp_dma_alloc()", buf);
}
