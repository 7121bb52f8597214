/* SPDX-License-Identifier: MIT */
/* The nil config: a controller that does nothing, at once (nil.c). */
#ifndef NVP_NIL_NIL_H
#define NVP_NIL_NIL_H

#include "bus.h"

struct nvp_transport_ops;

extern const struct nvp_bus_ops nvp_nil_bus_ops;
extern const struct nvp_transport_ops nvp_xport_nil;

#endif /* NVP_NIL_NIL_H */
