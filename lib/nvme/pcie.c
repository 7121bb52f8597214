/* SPDX-License-Identifier: MIT */
/*
 * The controller sequence over registers in BAR0 (vfio-pci, uio-generic
 * and sim all reach their controller this way), as one table of named
 * steps in the manner of SPDK's controller states. nvp_ctrl_run()
 * (recover.c) runs it: open from the first step, a reset from "disable".
 *
 * What a reset keeps from open: CAP and VS, the identity, the namespaces,
 * the queue and buffer memory. What it must give the controller again: the
 * admin queue, the number of queues, the shadow doorbells, the AERs. I/O
 * queues are re-created by their owners (nvp__qpair_recover) once they see
 * the new generation.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "nvme/nvme.h"

static int read_cap(struct nvp_dev *dev)
{
	int err = nvp_ctrl_parse_cap(dev, nvp_reg_read64(dev->bus->bar0, NVME_REG_CAP));

	if (err)
		return err;
	if (dev->bus->bar0_len < NVME_REG_DBS + 2 * dev->db_stride)
		return nvp_set_error(-ENODEV, "BAR0 (%zu bytes) is too small for the admin doorbells (stride %u)",
				     dev->bus->bar0_len, dev->db_stride);
	dev->vs = nvp_reg_read32(dev->bus->bar0, NVME_REG_VS);
	return 0;
}

static int disable_reset(struct nvp_dev *dev)
{
	int err = nvp_ctrl_disable(dev);

	if (err == -ENODEV)
		nvp_dev_mark_removed(dev);
	return err;
}

/* The disable dropped every admin command, AERs too: empty rings, the new generation. */
static int admin_queue_reset(struct nvp_dev *dev)
{
	nvp_qpair_reset_rings(&dev->admin);
	dev->admin.gen = dev->reset_gen;
	dev->aer_outstanding = 0;
	return 0;
}

static int identify(struct nvp_dev *dev)
{
	int err = nvp_identify(dev, NVME_ID_CNS_CTRL, 0, &dev->id_ctrl);

	if (err)
		return nvp_prefix_error(err, "Identify Controller");
	dev->max_xfer = nvp_ctrl_max_xfer(dev->id_ctrl.mdts, dev->cap);
	if (dev->id_ctrl.nn == 0)
		nvp_log(NVP_LOG_WARN, "%s: controller reports no namespaces (NN = 0)", dev->bus->name);
	return 0;
}

/* Set Features (Number of Queues) for @wanted SQs and as many CQs. */
static struct nvme_sqe num_queues_cmd(unsigned wanted)
{
	uint32_t n = wanted - 1;
	struct nvme_sqe cmd = {
		.opc = NVME_ADMIN_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES, .cdw11 = n | n << 16,
	};

	return cmd;
}

static int io_queues(struct nvp_dev *dev)
{
	unsigned wanted = dev->opts.nr_io_queues, nsq, ncq;
	/* Queue pairs whose doorbells lie inside BAR0: a wild CAP.DSTRD must not send stores past it. */
	size_t fit = (dev->bus->bar0_len - NVME_REG_DBS) / (2 * dev->db_stride);
	struct nvme_sqe cmd;
	struct nvme_cqe cqe;
	int err;

	if (wanted > 65535)
		wanted = 65535;
	if (fit < 2)
		return nvp_set_error(-ENODEV, "BAR0 (%zu bytes) has no room for I/O queue doorbells at stride %u",
				     dev->bus->bar0_len, dev->db_stride);
	if (wanted > fit - 1) {
		nvp_log(NVP_LOG_WARN, "%s: BAR0 holds doorbells for %zu I/O queues only", dev->bus->name, fit - 1);
		wanted = (unsigned)(fit - 1);
	}
	cmd = num_queues_cmd(wanted);
	err = nvp_admin_sync(dev, &cmd, NULL, 0, &cqe);
	if (err)
		return nvp_prefix_error(err, "Set Features (Number of Queues)");
	nsq = (cqe.dw0 & 0xffff) + 1;
	ncq = (cqe.dw0 >> 16) + 1;
	dev->nr_io_queues = nsq < ncq ? nsq : ncq;
	if (dev->nr_io_queues > wanted)
		dev->nr_io_queues = wanted; /* may report more than asked; we only use what we asked */
	dev->io_qpairs = calloc(dev->nr_io_queues + 1, sizeof(*dev->io_qpairs));
	return dev->io_qpairs ? 0 : -ENOMEM;
}

/* The controller forgot how many queues it granted; ask for the same again. */
static int io_queues_reset(struct nvp_dev *dev)
{
	struct nvme_sqe cmd = num_queues_cmd(dev->nr_io_queues);

	if (dev->nr_io_queues && nvp_admin_sync_locked(dev, &cmd, NULL, 0, NULL))
		nvp_log(NVP_LOG_WARN, "%s: reset: %s", dev->bus->name, nvp_errmsg());
	return 0;
}

/* ... and the shadow doorbells: qpairs bind to them again as they re-create their queues. */
static int dbbuf_reset(struct nvp_dev *dev)
{
	nvp_dbbuf_config_locked(dev); /* on failure: registers only, and it says so */
	return 0;
}

static int aer(struct nvp_dev *dev)
{
	pthread_mutex_lock(&dev->admin_lock);
	nvp_aer_arm_locked(dev);
	pthread_mutex_unlock(&dev->admin_lock);
	return 0;
}

static int aer_reset(struct nvp_dev *dev)
{
	nvp_aer_arm_locked(dev);
	return 0;
}

static const struct nvp_ctrl_step pcie_steps[] = {
	{ "read CAP and VS",	.open = read_cap },
	{ "disable",		.open = nvp_ctrl_disable,	.reset = disable_reset },
	{ "admin queue",	.open = nvp_admin_init,		.reset = admin_queue_reset },
	{ "enable",		.open = nvp_ctrl_enable,	.reset = nvp_ctrl_enable },
	{ "identify",		.open = identify },
	{ "number of queues",	.open = io_queues,		.reset = io_queues_reset },
	{ "doorbell buffer",	.open = nvp_dbbuf_setup,	.reset = dbbuf_reset },
	{ "namespaces",		.open = nvp_ns_scan },
	{ "AERs",		.open = aer,			.reset = aer_reset },
};

const struct nvp_ctrl_ops nvp_ctrl_pcie = {
	.name = "pcie",
	.steps = pcie_steps,
	.nr_steps = NVP_ARRAY_SIZE(pcie_steps),
	.reset_from = 1, /* "disable" */
};
