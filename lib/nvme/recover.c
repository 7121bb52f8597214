/* SPDX-License-Identifier: MIT */
/*
 * Running a controller sequence, and the one way back from a failed
 * controller. The steps belong to the transport (dev->ctrl: pcie.c for
 * every config today); this file knows them only through that table.
 *
 * Every reset goes through nvp_ctrl_recover(): the application's
 * nvp_ctrl_reset(), the admin path on CSTS.CFS (admin.c) and the poll
 * path's health check (qpair.c). Those paths call down to here, and from
 * here the reset reaches admin commands only through dev->ctrl's steps.
 */
#include <errno.h>

#include "internal.h"
#include "nvme/nvme.h"

int nvp_ctrl_run(struct nvp_dev *dev, int reset)
{
	const struct nvp_ctrl_ops *ctrl = dev->ctrl;
	const char *run = reset ? "reset" : "open";

	for (unsigned i = reset ? ctrl->reset_from : 0; i < ctrl->nr_steps; i++) {
		const struct nvp_ctrl_step *step = &ctrl->steps[i];
		int (*fn)(struct nvp_dev *dev) = reset ? step->reset : step->open;
		int err;

		if (!fn)
			continue;
		nvp_log(NVP_LOG_DEBUG, "%s: %s %s: %s", dev->bus->name, ctrl->name, run, step->name);
		err = fn(dev);
		if (err) {
			nvp_log(NVP_LOG_DEBUG, "%s: %s %s: %s failed (%d)", dev->bus->name, ctrl->name, run,
				step->name, err);
			return err;
		}
	}
	return 0;
}

/*
 * The generation moves first, so no qpair keeps trusting a queue that the
 * disable is about to drop.
 */
int nvp_ctrl_reset_locked(struct nvp_dev *dev)
{
	int err;

	nvp_add_fetch_acq_rel(&dev->reset_gen, 1); /* qpairs load it with acquire to recover */
	if (dev->removed)
		return nvp_set_error(-ENODEV, "reset: the controller was removed");
	nvp_log(NVP_LOG_WARN, "%s: resetting the controller", dev->bus->name);
	err = nvp_ctrl_run(dev, 1);
	return err ? nvp_prefix_error(err, "reset") : 0;
}

int nvp_ctrl_recover(struct nvp_dev *dev)
{
	int err;

	pthread_mutex_lock(&dev->admin_lock);
	err = nvp_ctrl_reset_locked(dev);
	pthread_mutex_unlock(&dev->admin_lock);
	if (dev->reset_cb)
		dev->reset_cb(dev, err, dev->reset_arg);
	return err;
}

NVP_API int nvp_ctrl_reset(struct nvp_dev *dev)
{
	if (!dev)
		return nvp_set_error(-EINVAL, "nvp_ctrl_reset: dev is NULL");
	return nvp_ctrl_recover(dev);
}

NVP_API void nvp_dev_set_reset_cb(struct nvp_dev *dev, nvp_reset_cb cb, void *arg)
{
	if (!dev)
		return;
	pthread_mutex_lock(&dev->admin_lock);
	dev->reset_cb = cb;
	dev->reset_arg = arg;
	pthread_mutex_unlock(&dev->admin_lock);
}
