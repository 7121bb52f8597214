/* SPDX-License-Identifier: MIT */
/*
 * BAR0 of a PCI function, for the configs that drive the controller
 * themselves (vfio-pci, uio-generic): each finds BAR0 in its own file (the
 * vfio device fd at the region's offset, sysfs resource0), and both map
 * and unmap it the same way, guarded against the device's removal
 * (bar_guard.h).
 */
#ifndef NVP_PCI_BAR_H
#define NVP_PCI_BAR_H

#include <stddef.h>
#include <sys/types.h>

#include "bus.h"

/*
 * Map @len bytes of @fd at @off shared as BAR0 of @bus: into bus->bar0,
 * bus->bar0_len and *@bar0 (the same address without volatile, for
 * nvp_pci_bar0_unmap()), and guard it (a guard it cannot get is a warning).
 * @where names the file in the message, NULL for none. 0 or -errno with
 * nvp_set_error().
 */
int nvp_pci_bar0_map(struct nvp_bus *bus, int fd, off_t off, size_t len, const char *where, void **bar0);

/* Undo nvp_pci_bar0_map(): stop guarding the mapping, then unmap it. */
void nvp_pci_bar0_unmap(void *bar0, size_t len);

#endif /* NVP_PCI_BAR_H */
