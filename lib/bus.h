/* SPDX-License-Identifier: MIT */
/*
 * Device access: how nvpoll reaches one NVMe controller's BAR0 and lets it
 * DMA. Each way (vfio-pci, uio-generic, the in-process sim) is a const
 * struct nvp_bus_ops; the layers above (lib/nvme) only ever see a
 * struct nvp_bus and never know which one they talk to.
 *
 * BAR0 is accessed by plain volatile loads and stores through bus->bar0:
 * no function pointer sits on the I/O path.
 *
 * The contract sits at the base of lib/, next to internal.h: the buses
 * (vfio, uio, sim, kernel, nil) implement it, hugemem maps memory through
 * it, lib/nvme drives it and lib/be picks one, so no folder names another
 * to reach it.
 */
#ifndef NVP_BUS_H
#define NVP_BUS_H

#include <stddef.h>
#include <stdint.h>

struct nvp_opts;
struct nvp_bus;

/* The map unit of dma_map(): each has one bus address. 2 MiB: one hugepage, one IOMMU entry. */
#define NVP_DMA_UNIT_SHIFT 21
#define NVP_DMA_UNIT_SIZE (1ul << NVP_DMA_UNIT_SHIFT)

/* What check_removal() found. */
enum nvp_bus_removal {
	NVP_BUS_PRESENT = 0,
	NVP_BUS_RELEASE_REQUESTED,	/* the kernel waits for us to let go (vfio's device request) */
	NVP_BUS_GONE,			/* the kernel removed it already (uio: its sysfs files are gone) */
};

struct nvp_bus_ops {
	const char *name;	/* config name: "vfio-pci", "uio-generic", "sim" */
	const char *default_mem; /* "hugepages" or "libc" when opts->mem is NULL */

	/*
	 * Open the device at @addr (a BDF such as "0000:00:05.0", or the sim's
	 * option string). Returns 0 or -errno, with nvp_set_error() called so
	 * the user learns why and what to do.
	 */
	int (*open)(const char *addr, const struct nvp_opts *opts, struct nvp_bus **out);
	/* Unmap BAR0 and release everything open() took. DMA maps are gone after. */
	void (*close)(struct nvp_bus *bus);

	/*
	 * Make [vaddr, vaddr + len) reachable by the device and store the bus
	 * address of each 2 MiB unit of it in unit_iova[len >> 21]. vaddr and
	 * len are multiples of 2 MiB (NVP_DMA_UNIT_SIZE). Each unit must be
	 * contiguous in bus address space; units need not be contiguous with
	 * each other (uio: physical addresses of separate hugepages). Slow path:
	 * called once per memory chunk. Returns 0 or -errno with nvp_set_error().
	 */
	int (*dma_map)(struct nvp_bus *bus, void *vaddr, size_t len, uint64_t *unit_iova);
	/* Undo one dma_map() of exactly the same range. */
	int (*dma_unmap)(struct nvp_bus *bus, void *vaddr, size_t len, const uint64_t *unit_iova);

	/*
	 * Optional: has the kernel asked for the device back (vfio's device
	 * request on hot-unplug or unbind), or removed it (enum nvp_bus_removal)?
	 * One system call at most: lib/nvme calls it from its periodic checks,
	 * never per I/O. A request is reported once.
	 */
	int (*check_removal)(struct nvp_bus *bus);
	/*
	 * Optional, with check_removal: give the device back now and keep
	 * the bus object. BAR0 becomes anonymous pages of 0xff bytes at the same
	 * address, so an access racing in from another thread is harmless and
	 * reads as removed; bus mastering, DMA mappings and the device's fds are
	 * dropped. Afterwards dma_map() fails with -ENODEV, dma_unmap() succeeds
	 * and close() frees the rest. Any thread; a second call does nothing.
	 */
	void (*release)(struct nvp_bus *bus);
};

struct nvp_bus {
	const struct nvp_bus_ops *ops;
	volatile uint8_t *bar0;	/* NVMe controller registers, mapped */
	size_t bar0_len;
	int numa_node;		/* -1 when unknown */
	char name[64];		/* BDF, "sim", a /dev node: for messages */
	uint32_t nsid;		/* the namespace the address itself names (a kernel node's); 0: none */
};

#endif /* NVP_BUS_H */
