/* SPDX-License-Identifier: MIT */
/*
 * The sim as the rest of the library sees it: a bus config ("sim") and a
 * way back from an opened bus to the model, for nvp_dev_sim() and tests.
 */
#ifndef NVP_SIM_SIM_H
#define NVP_SIM_SIM_H

#include <nvpoll/sim.h>

#include "bus.h"

extern const struct nvp_bus_ops nvp_sim_ops;

/* The model behind @bus, or NULL when @bus is not a sim. */
struct nvp_sim *nvp_sim_from_bus(struct nvp_bus *bus);

#endif /* NVP_SIM_SIM_H */
