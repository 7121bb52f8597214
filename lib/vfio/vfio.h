/* SPDX-License-Identifier: MIT */
/*
 * The vfio-pci device-access backend: VFIO type1, legacy container/group API.
 * One container and one group per opened device, so devices in different
 * IOMMU groups open side by side; a second device of an already open group
 * is refused with a message (it would need a shared container).
 */
#ifndef NVP_VFIO_VFIO_H
#define NVP_VFIO_VFIO_H

#include "bus.h"

extern const struct nvp_bus_ops nvp_vfio_ops;

#endif /* NVP_VFIO_VFIO_H */
