/* SPDX-License-Identifier: MIT */
/*
 * sysfs and PCI address helpers, below every config that reaches a PCI
 * device or reads sysfs (vfio-pci, uio-generic, the kernel's, hugemem's
 * page counts, lib/be's selection and listing).
 *
 * Every sysfs path is built under nvp_sysfs_root(): "/sys", or $NVP_SYSFS_ROOT
 * so tests can lay out a fake tree in a temporary directory. It is read at
 * each call, so nothing here is state two devices could fight over.
 */
#ifndef NVP_PCI_SYSFS_H
#define NVP_PCI_SYSFS_H

#include <stddef.h>

#include "internal.h"

/* "ffffffff:ff:1f.7" and its NUL, rounded up. */
#define NVP_BDF_LEN 20

const char *nvp_sysfs_root(void);

/*
 * Read the attribute at <root>/<fmt...> into @buf, trailing whitespace
 * removed. Returns its length or -errno (no message: callers know the context).
 */
int nvp_sysfs_read(char *buf, size_t len, const char *fmt, ...) NVP_PRINTF(3, 4);
/* ... parsed as an integer ("0x010802", "-1", "7"). -EINVAL if it is not one. */
int nvp_sysfs_read_long(long *val, const char *fmt, ...) NVP_PRINTF(2, 3);
/* The last path component of the symlink <root>/<fmt...> points to. */
int nvp_sysfs_link_name(char *buf, size_t len, const char *fmt, ...) NVP_PRINTF(3, 4);

/*
 * Check and normalize a PCI address: "0000:00:05.0" or "00:05.0" (domain 0),
 * hex in either case, to the lower-case form sysfs uses. Returns 0 or
 * -EINVAL with nvp_set_error().
 */
int nvp_pci_bdf_parse(const char *addr, char bdf[NVP_BDF_LEN]);

/* 0 if sysfs knows the device, else -ENODEV with a message saying what to do. */
int nvp_pci_check_exists(const char *bdf);

/* Name of the bound driver into @drv; "" when none. 0 or -errno. */
int nvp_pci_driver(const char *bdf, char *drv, size_t len);

/*
 * The check before a config takes a device: sysfs knows @bdf
 * (nvp_pci_check_exists()), and the name of its bound driver goes into
 * @drv ("" when none). 0 or -errno with a message.
 */
int nvp_pci_bound_driver(const char *bdf, char *drv, size_t len);

/*
 * 0 if @bdf exists and is bound to @want; otherwise the errors of
 * nvp_pci_bound_driver(), -EBUSY ("bound to nvme") or -ENODEV ("not bound
 * to any driver"), each with a message (the setup.sh hint).
 */
int nvp_pci_check_driver(const char *bdf, const char *want);

/* The IOMMU group number, or -ENOENT when the device has none (IOMMU off). */
int nvp_pci_iommu_group(const char *bdf);

/* The device's NUMA node, -1 when unknown or not NUMA. */
int nvp_pci_numa_node(const char *bdf);

/*
 * Call @fn for each device of IOMMU group @group, in directory order, until
 * it returns non-zero (which is returned). -ENOENT if the group does not exist.
 */
int nvp_iommu_group_for_each(int group, int (*fn)(const char *dev, void *arg), void *arg);

/*
 * Whether the process's effective capability set holds @cap (CAP_IPC_LOCK,
 * CAP_SYS_ADMIN, ...): 1 or 0, as /proc/self/status says; -errno when that
 * cannot be read, so the caller picks its own guess.
 */
int nvp_has_cap(unsigned cap);

#endif /* NVP_PCI_SYSFS_H */
