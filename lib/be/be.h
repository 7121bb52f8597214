/* SPDX-License-Identifier: MIT */
/* The common backend interface: named configs and the URIs that select them. */
#ifndef NVP_BE_BE_H
#define NVP_BE_BE_H

#include <stdint.h>

#include "be/bus.h"

extern const struct nvp_bus_ops nvp_vfio_ops;
extern const struct nvp_bus_ops nvp_sim_ops;

#define NVP_URI_ADDR_MAX 256

struct nvp_uri {
	int is_sim;			/* "sim" or "sim:<options>" */
	char addr[NVP_URI_ADDR_MAX];	/* normalized BDF, or the sim's option string */
	uint32_t nsid;			/* from "/ns=N"; 0 when not given */
};

/*
 * Parse "0000:00:05.0", "00:05.0", either with "/ns=N", or "sim[:options]".
 * Returns 0 or -EINVAL with nvp_set_error() saying what a URI looks like.
 */
int nvp_uri_parse(const char *uri, struct nvp_uri *out);

/* The config named @name, or NULL. */
const struct nvp_bus_ops *nvp_be_find(const char *name);

/*
 * Open the bus for @uri: with the config named by opts->be, else $NVP_BE,
 * else the one that fits the device (sim for "sim", vfio-pci for a BDF).
 */
int nvp_be_open(const struct nvp_uri *uri, const char *be_name, const struct nvp_opts *opts,
		struct nvp_bus **bus);

#endif /* NVP_BE_BE_H */
