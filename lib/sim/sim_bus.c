/* SPDX-License-Identifier: MIT */
/*
 * The "sim" bus config: open builds a model from the option string, gives
 * it a BAR0 of ordinary memory, and starts its thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"
#include "nvpoll.h"
#include "sim/sim.h"
#include "sim/sim_model.h"

#define SIM_BAR_MIN (16u << 10)

static uint64_t sim_cap(const struct sim_cfg *cfg)
{
	return NVME_SET(cfg->mqes, CAP_MQES) | NVME_SET(1, CAP_CQR) | NVME_SET(cfg->to, CAP_TO) |
	       NVME_SET(cfg->dstrd, CAP_DSTRD) | NVME_SET(NVME_CAP_CSS_NVM | NVME_CAP_CSS_IOCS, CAP_CSS) |
	       NVME_SET(0, CAP_MPSMIN) | NVME_SET(SIM_MPSMAX, CAP_MPSMAX);
}

/* Registers, then a doorbell pair per queue at the configured stride. */
static int sim_bar_init(struct nvp_sim *sim)
{
	size_t len = NVME_REG_DBS + 2 * (sim->cfg.nqueues + 1) * (4u << sim->cfg.dstrd);
	uint64_t cap = sim_cap(&sim->cfg);
	void *bar;

	len = NVP_ALIGN_UP(len, 4096);
	if (len < SIM_BAR_MIN)
		len = SIM_BAR_MIN;
	bar = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bar == MAP_FAILED)
		return nvp_set_error(-ENOMEM, "sim: cannot map a %zu-byte BAR0: %s", len, strerror(errno));
	sim->bar = bar;
	sim->bar_len = len;
	nvp_reg_write64(bar, NVME_REG_CAP, cap);
	nvp_reg_write32(bar, NVME_REG_VS, SIM_VS);
	return 0;
}

static void sim_free(struct nvp_sim *sim)
{
	sim_ctrl_stop(sim);
	sim_ns_fini(sim);
	if (sim->bar)
		munmap(sim->bar, sim->bar_len);
	free(sim->units);
	pthread_mutex_destroy(&sim->fault_lock);
	pthread_mutex_destroy(&sim->map_lock);
	free(sim);
}

static int sim_open(const char *addr, const struct nvp_opts *opts, struct nvp_bus **out)
{
	struct nvp_sim *sim;
	int err;

	(void)opts;
	sim = calloc(1, sizeof(*sim));
	if (!sim)
		return nvp_set_error(-ENOMEM, "sim: out of memory");
	sim->file_fd = -1;
	sim->xfer_cap = SIZE_MAX;
	pthread_mutex_init(&sim->map_lock, NULL);
	pthread_mutex_init(&sim->fault_lock, NULL);
	err = sim_cfg_parse(addr, &sim->cfg);
	if (!err)
		err = sim_bar_init(sim);
	if (!err)
		err = sim_ns_init(sim);
	if (!err)
		err = sim_ctrl_start(sim);
	if (err) {
		sim_free(sim);
		return err;
	}
	sim->bus.ops = &nvp_sim_ops;
	sim->bus.bar0 = sim->bar;
	sim->bus.bar0_len = sim->bar_len;
	sim->bus.numa_node = -1;
	snprintf(sim->bus.name, sizeof(sim->bus.name), "sim");
	*out = &sim->bus;
	return 0;
}

static void sim_close(struct nvp_bus *bus)
{
	struct nvp_sim *sim = nvp_sim_from_bus(bus);

	if (sim)
		sim_free(sim);
}

static int sim_check_removal(struct nvp_bus *bus)
{
	struct nvp_sim *sim = (struct nvp_sim *)bus;

	/* Taken once, as reading vfio's eventfd takes its count. */
	return nvp_xchg_acq_rel(&sim->release_asked, 0) ? NVP_BUS_RELEASE_REQUESTED : NVP_BUS_PRESENT;
}

static void sim_release(struct nvp_bus *bus)
{
	struct nvp_sim *sim = (struct nvp_sim *)bus;

	if (nvp_xchg_acq_rel(&sim->released, 1)) /* one release */
		return;
	if (sim_request_removal(sim))
		nvp_log(NVP_LOG_WARN, "sim: release: %s", nvp_errmsg());
}

struct nvp_sim *nvp_sim_from_bus(struct nvp_bus *bus)
{
	return bus && bus->ops == &nvp_sim_ops ? (struct nvp_sim *)bus : NULL;
}

const struct nvp_bus_ops nvp_sim_ops = {
	.name = "sim",
	.default_mem = "libc",
	.open = sim_open,
	.close = sim_close,
	.dma_map = sim_dma_map,
	.dma_unmap = sim_dma_unmap,
	.check_removal = sim_check_removal,
	.release = sim_release,
};
