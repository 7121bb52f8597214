/* SPDX-License-Identifier: MIT */
/*
 * What vfio-pci needs from this machine and from one device, checked
 * without opening anything: for nvp_backends(), nvp_enumerate() and the
 * messages of automatic selection. Everything is read at the call (sysfs
 * under nvp_sysfs_root(), /dev/vfio under nvp_vfio_dir()), so tests can
 * point both at a fake tree.
 */
#ifndef NVP_VFIO_PROBE_H
#define NVP_VFIO_PROBE_H

#include <stddef.h>

/* Where the vfio character devices live: "/dev/vfio", or $NVP_VFIO_DIR (tests). */
const char *nvp_vfio_dir(void);

/*
 * Whether the config can be used on this machine now: 1 or 0, and @why
 * says what was found (and, when 0, what to do).
 */
int nvp_vfio_usable(char *why, size_t len);

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

/*
 * Explain why the kernel calls IOMMU group @group not viable: name every
 * device in it bound to a driver vfio does not accept. Returns -EBUSY with
 * nvp_set_error() when such a device exists, 0 when sysfs shows none.
 */
int nvp_iommu_group_check_viable(int group);

#endif /* NVP_VFIO_PROBE_H */
