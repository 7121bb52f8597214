/* SPDX-License-Identifier: MIT */
/*
 * Giving the device back when the kernel asks (vfio's device request: an
 * orderly hot-unplug, an unbind). The kernel blocks the removal until the
 * device's fds are closed, so nvpoll answers from its periodic checks
 * instead of waiting for nvp_dev_close(): it treats the device as removed
 * (every command in flight and every new one ends with -ENODEV), tells the
 * controller to shut down if it still answers, and has the bus release the
 * device. What the application holds (qpairs, DMA buffers, namespaces)
 * stays valid until nvp_dev_close(), which then only frees memory.
 *
 * A device the kernel removed without asking (uio_pci_generic) goes the
 * same way, without the shutdown: nothing answers at its address.
 */
#include <pthread.h>

#include "internal.h"
#include "nvme/nvme.h"

static void release(struct nvp_dev *dev, int why)
{
	uint32_t csts;

	if (nvp_xchg_acq_rel(&dev->released, 1)) /* one release, whichever thread saw it first */
		return;
	if (why == NVP_BUS_GONE)
		nvp_log(NVP_LOG_WARN, "%s: the kernel removed the device (hot-unplug or unbind); every command now "
			"ends with -ENODEV", dev->bus->name);
	else
		nvp_log(NVP_LOG_WARN, "%s: the kernel asks for the device back (hot-unplug or unbind): device "
			"removed, releasing it; every command now ends with -ENODEV", dev->bus->name);
	/* First, so no thread starts a reset or an admin command on a device about to go. */
	nvp_store_release(&dev->removed, 1);
	/*
	 * A normal shutdown makes the controller write back its volatile cache,
	 * as the kernel's nvme driver does on removal. Only without contention:
	 * a thread holding the admin queue may be mid-reset, and waiting for it
	 * here could stall the release for the admin timeout.
	 */
	csts = nvp_reg_read32(dev->bus->bar0, NVME_REG_CSTS);
	if (why != NVP_BUS_GONE && csts != UINT32_MAX && !pthread_mutex_trylock(&dev->admin_lock)) {
		if (nvp_ctrl_shutdown(dev))
			nvp_log(NVP_LOG_WARN, "%s: release: %s", dev->bus->name, nvp_errmsg());
		pthread_mutex_unlock(&dev->admin_lock);
	}
	dev->bus->ops->release(dev->bus);
	nvp_store_release(&dev->removal_event, 1); /* after the release: the event means it is done */
}

int nvp_dev_check_release(struct nvp_dev *dev)
{
	const struct nvp_bus_ops *ops = dev->bus->ops;
	int why;

	if (nvp_load_acquire(&dev->released)) /* pairs with release() */
		return 1;
	why = ops && ops->check_removal ? ops->check_removal(dev->bus) : NVP_BUS_PRESENT;
	if (why == NVP_BUS_PRESENT)
		return 0;
	release(dev, why);
	return 1;
}

int nvp_dev_take_removal_event(struct nvp_dev *dev)
{
	return nvp_xchg_acq_rel(&dev->removal_event, 0); /* delivered once */
}
