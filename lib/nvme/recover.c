/* SPDX-License-Identifier: MIT */
/*
 * Running a controller sequence, and the way back from a failed
 * controller. The steps belong to the transport (dev->ctrl: pcie.c for
 * every config today); this file knows them only through that table.
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

	__atomic_add_fetch(&dev->reset_gen, 1, __ATOMIC_ACQ_REL);
	if (dev->removed)
		return nvp_set_error(-ENODEV, "reset: the controller was removed");
	nvp_log(NVP_LOG_WARN, "%s: resetting the controller", dev->bus->name);
	err = nvp_ctrl_run(dev, 1);
	return err ? nvp_prefix_error(err, "reset") : 0;
}
