/* SPDX-License-Identifier: MIT */
/*
 * What each device-access config needs from this machine and from one
 * device, checked without opening anything: for nvp_backends(),
 * nvp_enumerate() and the messages of automatic selection. Everything is
 * read at the call (sysfs under nvp_sysfs_root(), /dev/vfio under
 * nvp_vfio_dir()), so tests can point both at a fake tree.
 */
#ifndef NVP_VFIO_PROBE_H
#define NVP_VFIO_PROBE_H

#include <stddef.h>

#include "bus.h"

extern const struct nvp_bus_ops nvp_uio_ops;

/*
 * Whether the config can be used on this machine now: 1 or 0, and @why
 * says what was found (and, when 0, what to do).
 */
int nvp_vfio_usable(char *why, size_t len);
int nvp_uio_usable(char *why, size_t len);

/*
 * Whether the config can open @bdf now, as far as sysfs and /dev tell:
 * 0, or -errno with nvp_set_error() saying why and what to do.
 */
int nvp_vfio_check(const char *bdf);
/*
 * What sysfs alone says of a vfio device: it exists, it is bound to
 * vfio-pci, and its IOMMU group (in *group). 0 or -errno with a message.
 */
int nvp_vfio_sysfs_group(const char *bdf, int *group);
int nvp_uio_check(const char *bdf);

/*
 * Explain why the kernel calls IOMMU group @group not viable: name every
 * device in it bound to a driver vfio does not accept. Returns -EBUSY with
 * nvp_set_error() when such a device exists, 0 when sysfs shows none.
 */
int nvp_iommu_group_check_viable(int group);

/*
 * 0 when no IOMMU translates DMA for @bdf (no IOMMU group, or its domain
 * is "identity"): physical addresses reach memory. Otherwise -ENOTSUP with
 * a message. @type gets the group's domain type ("" when none).
 */
int nvp_uio_check_iommu(const char *bdf, char *type, size_t len);

#endif /* NVP_VFIO_PROBE_H */
