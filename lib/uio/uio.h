/* SPDX-License-Identifier: MIT */
/*
 * The uio-generic config: a controller bound to uio_pci_generic, reached
 * with no IOMMU in the way (uio.c). What it needs is checked without
 * opening anything, for nvp_backends(), nvp_enumerate() and the messages
 * of automatic selection; sysfs is read under nvp_sysfs_root(), so tests
 * can point it at a fake tree.
 */
#ifndef NVP_UIO_UIO_H
#define NVP_UIO_UIO_H

#include <stddef.h>

#include "bus.h"

extern const struct nvp_bus_ops nvp_uio_ops;

/*
 * Whether the config can be used on this machine now: 1 or 0, and @why
 * says what was found (and, when 0, what to do).
 */
int nvp_uio_usable(char *why, size_t len);

/*
 * Whether the config can open @bdf now, as far as sysfs and /dev tell:
 * 0, or -errno with nvp_set_error() saying why and what to do.
 */
int nvp_uio_check(const char *bdf);

/*
 * 0 when no IOMMU translates DMA for @bdf (no IOMMU group, or its domain
 * is "identity"): physical addresses reach memory. Otherwise -ENOTSUP with
 * a message. @type gets the group's domain type ("" when none).
 */
int nvp_uio_check_iommu(const char *bdf, char *type, size_t len);

#endif /* NVP_UIO_UIO_H */
