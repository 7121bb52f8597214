/* SPDX-License-Identifier: MIT */
/* The common backend interface: named configs and the URIs that select them. */
#ifndef NVP_BE_BE_H
#define NVP_BE_BE_H

#include <stddef.h>
#include <stdint.h>

#include "bus.h"

struct nvp_opts;
struct nvp_mem_ops;
struct nvp_transport_ops;

/* What a config can do: bits of nvp_be_config.caps. */
enum nvp_be_cap {
	NVP_BE_MEM_HUGEPAGES = 1u << 0,	/* accepts mem=hugepages */
	NVP_BE_MEM_LIBC = 1u << 1,	/* accepts mem=libc */
	NVP_BE_PCI = 1u << 2,		/* opens PCI addresses (BDF URIs) */
	NVP_BE_SIM = 1u << 3,		/* opens sim[:options] URIs: its bus is the in-process model */
	NVP_BE_NIL = 1u << 4,		/* opens nil[:options] URIs */
	NVP_BE_NGDEV = 1u << 5,		/* opens /dev/ngXnY (the kernel's NVMe generic char devices) */
	NVP_BE_BLKDEV = 1u << 6,	/* opens /dev/nvmeXnY (the kernel's NVMe block devices) */
	NVP_BE_TCP = 1u << 7,		/* opens tcp://HOST[:PORT]/NQN (NVMe/TCP targets) */
};

/*
 * One config: its bus ops and what it asks of the machine and the device.
 * All of them sit in one const table in be.c, in the order automatic
 * selection considers them.
 */
struct nvp_be_config {
	const struct nvp_bus_ops *ops;
	const struct nvp_transport_ops *xport; /* NULL: PCIe through the bus's BAR0 (nvme/transport.h) */
	const char *driver;	/* kernel driver a device must be bound to; NULL: not a PCI config */
	unsigned caps;		/* enum nvp_be_cap */
	const char *mem_note;	/* why others are refused, and what to do */
	/* Usable on this machine now? 1 or 0, @why says what was found. */
	int (*usable)(char *why, size_t len);
	/* Can it open this PCI device now? 0 or -errno with nvp_set_error(). NULL: never. */
	int (*check)(const char *bdf);
};

#define NVP_URI_ADDR_MAX 320 /* a tcp:// URI: a host, a port and an NQN of up to 223 bytes */

/* What a URI names; each kind has the cap bit of the configs that open it. */
enum nvp_uri_kind {
	NVP_URI_PCI,		/* "0000:00:05.0" or "00:05.0", with "/ns=N" or not */
	NVP_URI_SIM,		/* "sim" or "sim:<options>" */
	NVP_URI_NIL,		/* "nil" or "nil:<options>" */
	NVP_URI_NGDEV,		/* "/dev/ngXnY" */
	NVP_URI_BLKDEV,		/* "/dev/nvmeXnY" */
	NVP_URI_TCP,		/* "tcp://HOST[:PORT]/SUBSYSTEM-NQN" */
};

struct nvp_uri {
	enum nvp_uri_kind kind;
	char addr[NVP_URI_ADDR_MAX];	/* normalized BDF, the sim's or nil's option string, the /dev path, or
					   what follows tcp:// */
	uint32_t nsid;			/* from "/ns=N"; 0 when not given */
};

/* The cap bit of configs that open URIs of @kind. */
unsigned nvp_uri_kind_cap(enum nvp_uri_kind kind);

/*
 * Parse "0000:00:05.0", "00:05.0", either with "/ns=N", "sim[:options]",
 * "nil[:options]", "/dev/ngXnY", "/dev/nvmeXnY" or "tcp://HOST[:PORT]/NQN".
 * Returns 0 or -EINVAL
 * with nvp_set_error() saying what a URI looks like.
 */
int nvp_uri_parse(const char *uri, struct nvp_uri *out);

/* The config named @name, or NULL. */
const struct nvp_bus_ops *nvp_be_find(const char *name);
const struct nvp_be_config *nvp_be_config_find(const char *name);
/* The table: *@configs gets it, the count comes back. */
size_t nvp_be_configs(const struct nvp_be_config **configs);

/*
 * The config automatic selection picks for PCI device @bdf: the one whose
 * kernel driver the device is bound to. -ENODEV (no such device, not an
 * NVMe controller, or not bound) or -EBUSY (bound to nvme or another driver
 * no config uses), with a message naming scripts/setup.sh where binding
 * would help.
 */
int nvp_be_select(const char *bdf, const struct nvp_be_config **out);

/*
 * 0 if PCI function @bdf is an NVMe controller (class 0x010802), or if
 * sysfs cannot tell; else -ENODEV with a message giving its class and what
 * libpci calls it, since binding it (scripts/setup.sh) would not help.
 */
int nvp_pci_check_nvme(const char *bdf);

/* The memory kind a device opened with @cfg uses: opts->mem, else $NVP_MEM, else the default. */
const char *nvp_be_mem_name(const struct nvp_bus_ops *ops, const struct nvp_opts *opts);
/* 0 if @cfg accepts memory kind @mem, else -EINVAL with a message. */
int nvp_be_check_mem(const struct nvp_be_config *cfg, const char *mem);

/* Everything an open needs from the backend layer. */
struct nvp_be_choice {
	const struct nvp_be_config *cfg;
	struct nvp_bus *bus;		/* opened; cfg->ops->close() releases it */
	const struct nvp_mem_ops *mem;	/* where its DMA memory comes from */
};

/*
 * The one place a config and a memory kind are chosen, and the bus opened:
 * the config is opts->be, else $NVP_BE, else by binding (sim for "sim",
 * the bound driver's config for a BDF); the memory kind is opts->mem, else
 * $NVP_MEM, else the config's default, checked against the config before
 * the device is touched. 0 with *@out filled, or -errno with a message.
 */
int nvp_be_open(const struct nvp_uri *uri, const struct nvp_opts *opts, struct nvp_be_choice *out);

#endif /* NVP_BE_BE_H */
