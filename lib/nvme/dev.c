/* SPDX-License-Identifier: MIT */
/*
 * Opening and closing a device: pick the config, reach the controller,
 * bring it up, learn what it is; and the reverse, ending in a clean
 * shutdown so everything written is persistent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "be/be.h"
#include "internal.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"

NVP_API void nvp_opts_init(struct nvp_opts *opts)
{
	if (!opts)
		return;
	memset(opts, 0, sizeof(*opts));
	opts->numa_node = -1;
	opts->admin_timeout_ms = NVP_DEFAULT_ADMIN_TIMEOUT_MS;
	opts->nr_io_queues = NVP_DEFAULT_IO_QUEUES;
	opts->io_timeout_ms = NVP_DEFAULT_IO_TIMEOUT_MS;
}

static void opts_fill(struct nvp_opts *dst, const struct nvp_opts *src)
{
	nvp_opts_init(dst);
	if (!src)
		return;
	*dst = *src;
	if (!dst->admin_timeout_ms)
		dst->admin_timeout_ms = NVP_DEFAULT_ADMIN_TIMEOUT_MS;
	if (!dst->nr_io_queues)
		dst->nr_io_queues = NVP_DEFAULT_IO_QUEUES;
	if (!dst->io_timeout_ms)
		dst->io_timeout_ms = NVP_DEFAULT_IO_TIMEOUT_MS;
}

/* Everything after the bus is open: DMA memory, then the controller's open sequence. */
static int bring_up(struct nvp_dev *dev, const struct nvp_mem_ops *mem)
{
	int numa = dev->opts.numa_node >= 0 ? dev->opts.numa_node : dev->bus->numa_node;
	int err;

	err = nvp_dma_pool_init(&dev->pool, dev->bus, mem, numa);
	if (err)
		return err;
	/* PCIe reaches its controller through registers in BAR0; a transport brings its own sequence. */
	dev->ctrl = dev->xport ? dev->xport->ctrl : &nvp_ctrl_pcie;
	return nvp_ctrl_run(dev, 0);
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

NVP_API struct nvp_dev *nvp_dev_open(const char *uri, const struct nvp_opts *opts)
{
	struct nvp_be_choice be;
	struct nvp_uri u;
	struct nvp_dev *dev;
	int err;

	err = nvp_uri_parse(uri, &u);
	if (err)
		return nvp_err_ptr(err);
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return nvp_err_ptr(nvp_set_error(-ENOMEM, "out of memory"));
	opts_fill(&dev->opts, opts);
	pthread_mutex_init(&dev->admin_lock, NULL);

	err = nvp_be_open(&u, &dev->opts, &be);
	if (err)
		goto out_free;
	dev->be = be.cfg;
	dev->bus = be.bus;
	dev->xport = be.cfg->xport;
	err = bring_up(dev, be.mem);
	if (err)
		goto out_disable;
	dev->uri_nsid = u.nsid ? u.nsid : dev->bus->nsid;
	if (dev->uri_nsid && !nvp_ns_get(dev, dev->uri_nsid)) {
		err = -ENOENT;
		goto out_disable;
	}
	return dev;

out_disable:
	/* Stop the controller before its queue memory goes away. */
	if (dev->cap && !dev->xport)
		nvp_ctrl_disable(dev);
out_free:
	nvp_prefix_error(err, "open %s", uri);
	dev_free(dev);
	return nvp_err_ptr(err);
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
	 * done); a transport's controller is not ours to shut down.
	 */
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
