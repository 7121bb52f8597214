/* SPDX-License-Identifier: MIT */
/*
 * Device discovery: libpci scans the bus and names vendors and devices from
 * pci.ids; everything that decides whether nvpoll can open a device
 * (driver, IOMMU group, what each config checks) comes from the same sysfs
 * helpers the configs' open() uses, so `nvpoll list` and nvp_dev_open()
 * never disagree.
 *
 * libpci reads sysfs at nvp_sysfs_root()/bus/pci, so tests can hand it a
 * fake tree. Its error callback must not return: it jumps back here, and the
 * pci_access (one per call, nothing shared) is dropped.
 *
 * The same names tell a user who opens a function that is not an NVMe
 * controller what it is (nvp_pci_check_nvme()).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pci/pci.h>

#include <nvpoll.h>

#include "be/be.h"
#include "internal.h"
#include "pci/sysfs.h"

#define NVME_CLASS 0x010802 /* mass storage, non-volatile memory, NVM Express */

static __thread jmp_buf *pci_jmp;
static __thread char pci_msg[256];

static void pci_error(char *msg, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void pci_error(char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	vsnprintf(pci_msg, sizeof(pci_msg), msg, ap);
	va_end(ap);
	longjmp(*pci_jmp, 1);
}

static void pci_quiet(char *msg, ...) __attribute__((format(printf, 1, 2)));
static void pci_quiet(char *msg, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, msg);
	vsnprintf(buf, sizeof(buf), msg, ap);
	va_end(ap);
	nvp_log(NVP_LOG_DEBUG, "libpci: %s", buf);
}

/* A pci_access of our own, reading sysfs under nvp_sysfs_root(); NULL when out of memory. */
static struct pci_access *pci_start(void)
{
	char path[512];
	struct pci_access *pacc = pci_alloc();

	if (!pacc)
		return NULL;
	pacc->error = pci_error;
	pacc->warning = pci_quiet;
	pacc->debug = pci_quiet;
	pacc->method = PCI_ACCESS_SYS_BUS_PCI;
	snprintf(path, sizeof(path), "%s/bus/pci", nvp_sysfs_root());
	pci_set_param(pacc, "sysfs.path", path);
	return pacc;
}

/*
 * "Host bridge: Intel Corporation 440FX - 82441FX PMC [Natoma]" from pci.ids,
 * as lspci names it; as much of it as libpci knows, "" when nothing.
 */
static void pci_describe(const char *bdf, long class, char *out, size_t len)
{
	struct pci_access *pacc = pci_start();
	char cls[128] = "", dev[256] = "";
	long vendor, device;
	jmp_buf jb;

	out[0] = '\0';
	if (!pacc)
		return;
	pci_jmp = &jb;
	if (setjmp(jb) == 0) {
		if (!pci_lookup_name(pacc, cls, sizeof(cls), PCI_LOOKUP_CLASS | PCI_LOOKUP_NO_NUMBERS,
				     (int)(class >> 8)))
			cls[0] = '\0';
		if (nvp_sysfs_read_long(&vendor, "bus/pci/devices/%s/vendor", bdf) < 0 ||
		    nvp_sysfs_read_long(&device, "bus/pci/devices/%s/device", bdf) < 0 ||
		    !pci_lookup_name(pacc, dev, sizeof(dev), PCI_LOOKUP_VENDOR | PCI_LOOKUP_DEVICE |
				     PCI_LOOKUP_NO_NUMBERS, (int)vendor, (int)device))
			dev[0] = '\0';
		snprintf(out, len, "%s%s%s", cls, cls[0] && dev[0] ? ": " : "", dev);
	}
	pci_jmp = NULL;
	pci_cleanup(pacc);
}

int nvp_pci_check_nvme(const char *bdf)
{
	char what[384];
	long class;

	/* Unreadable: the open that follows says why (no such device, ...). */
	if (nvp_sysfs_read_long(&class, "bus/pci/devices/%s/class", bdf) < 0 || class == NVME_CLASS)
		return 0;
	pci_describe(bdf, class, what, sizeof(what));
	return nvp_set_error(-ENODEV, "%s is not an NVMe controller (class %#08lx%s%s): nvpoll drives only "
			     "NVMe controllers (class 0x010802); nvpoll list shows them", bdf, class,
			     what[0] ? ", " : "", what);
}

static int cmp_info(const void *a, const void *b)
{
	return strcmp(((const struct nvp_pci_info *)a)->bdf, ((const struct nvp_pci_info *)b)->bdf);
}

static int read_u16(const char *bdf, const char *attr)
{
	long v;

	return nvp_sysfs_read_long(&v, "bus/pci/devices/%s/%s", bdf, attr) < 0 ? 0 : (int)(v & 0xffff);
}

/* Driver, IOMMU, and which configs can open it: what open() would find. */
static void fill_access(struct nvp_pci_info *d)
{
	const struct nvp_be_config *configs, *pick = NULL;
	size_t n = nvp_be_configs(&configs);
	char pick_msg[sizeof(d->reason)] = "";

	if (nvp_pci_driver(d->bdf, d->driver, sizeof(d->driver)) < 0)
		d->driver[0] = '\0';
	d->iommu_group = nvp_pci_iommu_group(d->bdf);
	if (d->iommu_group < 0)
		d->iommu_group = -1;
	else if (nvp_sysfs_read(d->iommu_type, sizeof(d->iommu_type), "kernel/iommu_groups/%d/type",
				d->iommu_group) < 0)
		d->iommu_type[0] = '\0';

	if (nvp_be_select(d->bdf, &pick) == 0)
		d->backend = pick->ops->name;
	else
		snprintf(pick_msg, sizeof(pick_msg), "%s", nvp_errmsg());
	for (size_t i = 0; i < n; i++) {
		if (!configs[i].check)
			continue;
		if (configs[i].check(d->bdf) == 0) {
			if (d->nr_usable < NVP_MAX_BACKENDS)
				d->usable[d->nr_usable++] = configs[i].ops->name;
		} else if (&configs[i] == pick) {
			snprintf(pick_msg, sizeof(pick_msg), "%s", nvp_errmsg());
		}
	}
	if (!d->nr_usable)
		snprintf(d->reason, sizeof(d->reason), "%s", pick_msg);
}

static void fill_names(struct pci_access *pacc, struct pci_dev *p, struct nvp_pci_info *d)
{
	char buf[256];

	if (pci_lookup_name(pacc, buf, sizeof(buf), PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS, p->vendor_id))
		snprintf(d->vendor, sizeof(d->vendor), "%.*s", (int)sizeof(d->vendor) - 1, buf);
	if (pci_lookup_name(pacc, buf, sizeof(buf), PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS, p->vendor_id,
			    p->device_id))
		snprintf(d->device, sizeof(d->device), "%.*s", (int)sizeof(d->device) - 1, buf);
}

/*
 * Each NVMe controller of the scan into *@list, which is kept current so a
 * libpci error (a jump out of here) can free it. Returns the count or -errno.
 */
static int scan(struct pci_access *pacc, struct nvp_pci_info **list)
{
	struct nvp_pci_info *out = NULL, *bigger;
	size_t nr = 0, cap = 0;
	struct pci_dev *p;
	char bdf[NVP_BDF_LEN];
	long class;

	pci_scan_bus(pacc);
	for (p = pacc->devices; p; p = p->next) {
		struct nvp_pci_info *d;

		snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%x", (unsigned)p->domain, p->bus, p->dev, p->func);
		if (nvp_sysfs_read_long(&class, "bus/pci/devices/%s/class", bdf) < 0 || class != NVME_CLASS)
			continue;
		if (nr == cap) {
			cap = cap ? 2 * cap : 8;
			bigger = realloc(out, cap * sizeof(*out));
			if (!bigger)
				return nvp_set_error(-ENOMEM, "out of memory listing PCI devices");
			*list = out = bigger;
		}
		d = &out[nr++];
		memset(d, 0, sizeof(*d));
		snprintf(d->bdf, sizeof(d->bdf), "%s", bdf);
		pci_fill_info(p, PCI_FILL_IDENT);
		d->vendor_id = p->vendor_id;
		d->device_id = p->device_id;
		d->subsys_vendor_id = (uint16_t)read_u16(bdf, "subsystem_vendor");
		d->subsys_device_id = (uint16_t)read_u16(bdf, "subsystem_device");
		d->numa_node = nvp_pci_numa_node(bdf);
		fill_names(pacc, p, d);
	}
	return (int)nr;
}

NVP_API int nvp_enumerate(struct nvp_pci_info **list)
{
	struct pci_access *pacc;
	jmp_buf jb;
	int nr;

	*list = NULL;
	pacc = pci_start();
	if (!pacc)
		return nvp_set_error(-ENOMEM, "out of memory starting libpci");
	pci_jmp = &jb;
	if (setjmp(jb)) {
		pci_jmp = NULL;
		pci_cleanup(pacc);
		free(*list);
		*list = NULL;
		return nvp_set_error(-EIO, "listing PCI devices with libpci failed: %s", pci_msg);
	}
	pci_init(pacc);
	nr = scan(pacc, list);
	pci_jmp = NULL;
	pci_cleanup(pacc);
	if (nr <= 0) {
		free(*list);
		*list = NULL;
		return nr;
	}
	/* The access checks read sysfs only: done after libpci is gone. */
	for (int i = 0; i < nr; i++)
		fill_access(&(*list)[i]);
	qsort(*list, (size_t)nr, sizeof(**list), cmp_info);
	return nr;
}
