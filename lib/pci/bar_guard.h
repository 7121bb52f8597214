/* SPDX-License-Identifier: MIT */
/*
 * Surviving a vanished BAR. When a device is removed (hot-unplug, or vfio
 * zapping its mappings), loads and stores to its mapped BAR raise SIGBUS.
 * A registered BAR mapping that faults is replaced, in the signal handler,
 * by anonymous pages of 0xff bytes, and the access is retried: it reads all
 * ones, which is how the driver notices a removed device everywhere else.
 * A SIGBUS outside every registered mapping goes to the handler that was
 * installed before ours (or the default action: the process dies, as it
 * would have).
 */
#ifndef NVP_PCI_BAR_GUARD_H
#define NVP_PCI_BAR_GUARD_H

#include <stddef.h>

/* Watch [addr, addr + len). 0, or -ENOSPC / -errno (the mapping is then unguarded). */
int nvp_bar_guard_add(void *addr, size_t len);
/* Stop watching the mapping at @addr (before it is unmapped). */
void nvp_bar_guard_remove(void *addr);
/*
 * Swap the mapping [addr, addr + len) for anonymous pages of 0xff bytes in
 * one step (mremap): a thread that accesses it meanwhile sees either the
 * device or all ones, never zeroes. The device mapping is unmapped by it.
 * 0 or -errno.
 */
int nvp_bar_fill_ones(void *addr, size_t len);

#endif /* NVP_PCI_BAR_GUARD_H */
