/* SPDX-License-Identifier: MIT */
/*
 * uio-generic backend: a controller bound to uio_pci_generic, reached with
 * no IOMMU in the way.
 *
 * - BAR0: sysfs resource0, mmap'ed shared (the kernel maps it uncached).
 * - Bus mastering and memory decoding: the command register through the
 *   sysfs config file (uio_pci_generic enables neither).
 * - DMA: hugepages, handed to the device by physical address from
 *   /proc/self/pagemap. A 2 MiB hugepage is physically contiguous, so each
 *   map unit gets one address; nothing is pinned beyond what hugetlbfs
 *   already guarantees (hugepages are neither swapped nor moved).
 *
 * It needs root (CAP_SYS_ADMIN: the kernel hides page frame numbers from
 * everyone else), and it must refuse a device an IOMMU translates for:
 * physical addresses would be taken as IOVAs and fault. With the IOMMU off
 * or in passthrough (iommu=pt: an "identity" domain) DMA reaches memory.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/pci_regs.h>

#include "bus.h"
#include "hugemem/hugemem.h"
#include "internal.h"
#include "nvpoll.h"
#include "pci/bar.h"
#include "pci/bar_guard.h"
#include "pci/sysfs.h"
#include "uio/uio.h"

#define UIO_DRIVER "uio_pci_generic"

struct uio_bus {
	struct nvp_bus bus;	/* first: ops get &ub->bus back */
	int cfg_fd;		/* sysfs config: the command register */
	void *bar0;		/* bus.bar0 without volatile, for munmap */
	uint16_t cmd_orig;	/* command register before open, restored at close */
	int released;		/* atomic: the device was removed and let go (uio_release) */
};

static struct uio_bus *to_uio(struct nvp_bus *bus)
{
	return (struct uio_bus *)bus;
}

/* ---- what the machine and the device must offer --------------------------- */

/* Without /proc/self/status, root is the best guess. */
static int has_cap_sys_admin(void)
{
	int cap = nvp_has_cap(CAP_SYS_ADMIN);

	return cap < 0 ? geteuid() == 0 : cap;
}

static int check_root(void)
{
	if (has_cap_sys_admin())
		return 0;
	return nvp_set_error(-EPERM, "uio-generic needs root (CAP_SYS_ADMIN): it hands the device physical "
			     "addresses from /proc/self/pagemap, which the kernel hides from other users; run "
			     "as root, or use vfio-pci, which needs neither root nor physical addresses");
}

int nvp_uio_check_iommu(const char *bdf, char *type, size_t len)
{
	int group = nvp_pci_iommu_group(bdf), ret;

	type[0] = '\0';
	if (group == -ENOENT)
		return 0; /* no IOMMU in front of the device */
	if (group < 0)
		return nvp_set_error(group, "cannot read the IOMMU group of %s: %s", bdf, strerror(-group));
	ret = nvp_sysfs_read(type, len, "kernel/iommu_groups/%d/type", group);
	if (ret < 0) {
		/* Before Linux 5.11 the type is not shown: the first DMA will tell. */
		type[0] = '\0';
		nvp_log(NVP_LOG_WARN, "%s: cannot tell whether the IOMMU translates for IOMMU group %d; "
			"uio-generic needs it off or in passthrough (iommu=pt)", bdf, group);
		return 0;
	}
	if (!strcmp(type, "identity"))
		return 0;
	return nvp_set_error(-ENOTSUP, "%s: the IOMMU translates DMA for IOMMU group %d (domain type %s), so "
			     "the physical addresses uio-generic gives the device would fault: use vfio-pci "
			     "(scripts/setup.sh config), or boot with iommu=pt (or the IOMMU off) for "
			     "uio-generic", bdf, group, type);
}

static int check_hugepages(void)
{
	long nr;

	if (nvp_sysfs_read_long(&nr, "kernel/mm/hugepages/hugepages-2048kB/nr_hugepages") < 0 || nr <= 0)
		return nvp_set_error(-ENOMEM, "uio-generic needs 2 MiB hugepages and none are reserved: run "
				     "scripts/setup.sh config or echo 256 > /proc/sys/vm/nr_hugepages");
	return 0;
}

int nvp_uio_check(const char *bdf)
{
	char type[32];
	struct stat st;
	char path[512];
	int ret;

	ret = nvp_pci_check_driver(bdf, UIO_DRIVER);
	if (ret < 0)
		return ret;
	ret = check_root();
	if (ret < 0)
		return ret;
	ret = nvp_uio_check_iommu(bdf, type, sizeof(type));
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/resource0", nvp_sysfs_root(), bdf);
	if (stat(path, &st) < 0 || !st.st_size)
		return nvp_set_error(-ENODEV, "%s has no memory BAR0 (%s): is it an NVMe controller? "
				     "(lspci -v -s %s)", bdf, path, bdf);
	return check_hugepages();
}

/* 2: loaded (the PCI driver is registered), 1: a module of the running kernel, 0: neither. */
static int module_state(void)
{
	static const char *const lists[] = { "modules.dep", "modules.builtin" };
	char path[512], line[1024];
	struct utsname u;
	int found = 0;

	snprintf(path, sizeof(path), "%s/bus/pci/drivers/" UIO_DRIVER, nvp_sysfs_root());
	if (access(path, F_OK) == 0)
		return 2;
	if (uname(&u) < 0)
		return 0;
	for (size_t i = 0; i < NVP_ARRAY_SIZE(lists) && !found; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "/lib/modules/%s/%s", u.release, lists[i]);
		f = fopen(path, "re");
		/* "kernel/drivers/uio/uio_pci_generic.ko.xz: kernel/drivers/uio/uio.ko.xz" */
		while (f && !found && fgets(line, sizeof(line), f)) {
			char *hit = strstr(line, "/" UIO_DRIVER ".ko");

			found = hit && hit < line + strcspn(line, ":");
		}
		if (f)
			fclose(f);
	}
	return found;
}

int nvp_uio_usable(char *why, size_t len)
{
	int mod = module_state(), root = has_cap_sys_admin();
	long hp = 0;

	if (nvp_sysfs_read_long(&hp, "kernel/mm/hugepages/hugepages-2048kB/nr_hugepages") < 0)
		hp = 0;
	if (mod < 2) {
		snprintf(why, len, "%s", mod ? "uio_pci_generic is not loaded: modprobe uio_pci_generic, then "
			 "scripts/setup.sh config" : "uio_pci_generic is neither loaded nor a module of the "
			 "running kernel (CONFIG_UIO_PCI_GENERIC)");
		return 0;
	}
	if (!root) {
		snprintf(why, len, "uio_pci_generic loaded, but not root: physical addresses need CAP_SYS_ADMIN");
		return 0;
	}
	if (hp <= 0) {
		snprintf(why, len, "uio_pci_generic loaded, root, but no 2 MiB hugepages reserved: "
			 "echo 256 > /proc/sys/vm/nr_hugepages");
		return 0;
	}
	snprintf(why, len, "uio_pci_generic loaded, root, %ld hugepages; devices need the IOMMU off or "
		 "in passthrough (iommu=pt)", hp);
	return 1;
}

/* ---- open / close ----------------------------------------------------------------- */

static int bar0_map(struct uio_bus *ub)
{
	char path[512];
	struct stat st;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/resource0", nvp_sysfs_root(), ub->bus.name);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return nvp_set_error(-ENODEV, "%s has no memory BAR0 (%s): is it an NVMe controller? "
					     "(lspci -v -s %s)", ub->bus.name, path, ub->bus.name);
		return nvp_set_error(ret, "cannot open %s: %s%s", path, strerror(-ret),
				     ret == -EACCES || ret == -EPERM ? ": run as root" : "");
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return nvp_set_error(-ENODEV, "BAR0 of %s has no size (%s)", ub->bus.name, path);
	}
	ret = nvp_pci_bar0_map(&ub->bus, fd, 0, (size_t)st.st_size, path, &ub->bar0);
	/* The mapping keeps BAR0 reachable: the fd is not needed any more. */
	close(fd);
	return ret;
}

static int cmd_read(struct uio_bus *ub, uint16_t *cmd)
{
	uint16_t v;

	if (pread(ub->cfg_fd, &v, sizeof(v), PCI_COMMAND) != sizeof(v))
		return nvp_set_error(-EIO, "reading the PCI command register of %s failed", ub->bus.name);
	*cmd = le16toh(v);
	return 0;
}

static int cmd_write(struct uio_bus *ub, uint16_t cmd)
{
	uint16_t v = htole16(cmd);

	if (pwrite(ub->cfg_fd, &v, sizeof(v), PCI_COMMAND) != sizeof(v))
		return nvp_set_error(-EIO, "writing the PCI command register of %s failed", ub->bus.name);
	return 0;
}

/* The device decodes BAR0 (memory space) and may DMA (bus master): uio_pci_generic sets neither. */
static int enable_device(struct uio_bus *ub)
{
	char path[512];
	uint16_t cmd = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/config", nvp_sysfs_root(), ub->bus.name);
	ub->cfg_fd = open(path, O_RDWR | O_CLOEXEC);
	if (ub->cfg_fd < 0)
		return nvp_set_error(-errno, "cannot open %s: %s", path, strerror(errno));
	ret = cmd_read(ub, &cmd);
	if (ret < 0)
		goto out_close;
	ub->cmd_orig = cmd;
	ret = cmd_write(ub, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (ret < 0)
		goto out_close;
	return 0;

out_close:
	close(ub->cfg_fd);
	ub->cfg_fd = -1;
	return ret;
}

static int uio_open(const char *addr, const struct nvp_opts *opts, struct nvp_bus **out)
{
	char bdf[NVP_BDF_LEN];
	struct uio_bus *ub;
	int ret;

	(void)opts;
	ret = nvp_pci_bdf_parse(addr, bdf);
	if (ret < 0)
		return ret;
	/* Bound to uio_pci_generic, root, no translating IOMMU, a BAR0, hugepages. */
	ret = nvp_uio_check(bdf);
	if (ret < 0)
		return ret;

	ub = calloc(1, sizeof(*ub));
	if (!ub)
		return nvp_set_error(-ENOMEM, "out of memory opening %s", bdf);
	ub->bus.ops = &nvp_uio_ops;
	snprintf(ub->bus.name, sizeof(ub->bus.name), "%s", bdf);
	ub->bus.numa_node = nvp_pci_numa_node(bdf);
	ub->cfg_fd = -1;
	ret = bar0_map(ub);
	if (ret < 0)
		goto out_free;
	ret = enable_device(ub);
	if (ret < 0)
		goto out_unmap_bar;
	*out = &ub->bus;
	return 0;

out_unmap_bar:
	nvp_pci_bar0_unmap(ub->bar0, ub->bus.bar0_len);
out_free:
	free(ub);
	return ret;
}

/*
 * uio_pci_generic asks nobody before a removal, and the kernel leaves our
 * BAR0 mapping in place over a physical range nothing answers any more
 * (QEMU's reads of it are not all ones). What does show is sysfs: a file
 * of a removed device polls POLLERR.
 */
static int uio_check_removal(struct nvp_bus *bus)
{
	struct uio_bus *ub = to_uio(bus);
	struct pollfd p = { .fd = ub->cfg_fd, .events = POLLPRI };

	if (ub->cfg_fd < 0 || poll(&p, 1, 0) != 1 || !(p.revents & (POLLERR | POLLNVAL)))
		return NVP_BUS_PRESENT;
	return NVP_BUS_GONE;
}

static void uio_release(struct nvp_bus *bus)
{
	struct uio_bus *ub = to_uio(bus);
	int err;

	if (nvp_xchg_acq_rel(&ub->released, 1)) /* one release, whoever saw the removal */
		return;
	err = nvp_bar_fill_ones(ub->bar0, ub->bus.bar0_len);
	if (err)
		nvp_log(NVP_LOG_WARN, "%s: release: cannot replace the BAR0 mapping: %s", bus->name, strerror(-err));
	close(ub->cfg_fd);
	ub->cfg_fd = -1;
}

/*
 * The layer above has disabled the controller; with bus mastering back as
 * it was, nothing the device still holds can reach memory we give back.
 */
static void uio_close(struct nvp_bus *bus)
{
	struct uio_bus *ub = to_uio(bus);
	uint16_t cmd = 0;

	if (!bus)
		return;
	if (ub->cfg_fd >= 0 && !(ub->cmd_orig & PCI_COMMAND_MASTER) && cmd_read(ub, &cmd) == 0)
		cmd_write(ub, cmd & ~PCI_COMMAND_MASTER);
	if (ub->cfg_fd >= 0)
		close(ub->cfg_fd);
	nvp_pci_bar0_unmap(ub->bar0, ub->bus.bar0_len);
	free(ub);
}

/* ---- DMA: physical addresses of hugepages ---------------------------------------- */

#define KPF_HUGE_BIT 17 /* include/uapi/linux/kernel-page-flags.h: a hugetlb page */

/*
 * Contiguous is not enough: a transparent huge page is contiguous too, but
 * the kernel may split or move it. Only hugetlb pages stay put. -1 when the
 * kernel does not say (no /proc/kpageflags).
 */
static int is_hugetlb_page(uint64_t pa)
{
	uint64_t flags, pfn = pa / (uint64_t)sysconf(_SC_PAGESIZE);
	ssize_t n;
	int fd;

	fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = pread(fd, &flags, sizeof(flags), (off_t)(pfn * sizeof(flags)));
	close(fd);
	if (n != sizeof(flags))
		return -1;
	return (int)((flags >> KPF_HUGE_BIT) & 1);
}

static int uio_dma_map(struct nvp_bus *bus, void *vaddr, size_t len, uint64_t *unit_iova)
{
	size_t k;
	int ret;

	if (!len || (len | (uintptr_t)vaddr) & (NVP_DMA_UNIT_SIZE - 1))
		return nvp_set_error(-EINVAL, "dma_map of %p + %zu on %s: address and length must be "
				     "non-zero multiples of 2 MiB", vaddr, len, bus->name);
	if (nvp_load_acquire(&to_uio(bus)->released)) /* pairs with uio_release() */
		return nvp_set_error(-ENODEV, "%s was removed: close it", bus->name);
	for (k = 0; k < len >> NVP_DMA_UNIT_SHIFT; k++) {
		uint8_t *unit = (uint8_t *)vaddr + (k << NVP_DMA_UNIT_SHIFT);
		uint64_t pa;

		/* One hugepage: contiguous, and 2 MiB aligned in physical memory too. */
		ret = nvp_hugemem_phys_contig(unit, NVP_DMA_UNIT_SIZE, &pa);
		if (ret == -EINVAL || (!ret && (pa & (NVP_DMA_UNIT_SIZE - 1) || !is_hugetlb_page(pa))))
			return nvp_set_error(-EINVAL, "DMA memory at %p on %s is not one 2 MiB hugepage: "
					     "uio-generic gives the device physical addresses, which only "
					     "hugepages keep contiguous; use mem=hugepages", unit, bus->name);
		if (ret < 0)
			return nvp_prefix_error(ret, "DMA memory for %s", bus->name);
		unit_iova[k] = pa;
	}
	/*
	 * Nothing pins these pages: after a fork, a write by either side would
	 * copy a private page away from the address the device holds. The
	 * child gets no copy at all instead.
	 */
	if (madvise(vaddr, len, MADV_DONTFORK) < 0)
		nvp_log(NVP_LOG_WARN, "%s: madvise(MADV_DONTFORK) on DMA memory failed: %s; do not fork "
			"while the device is open", bus->name, strerror(errno));
	return 0;
}

/* Nothing was pinned or mapped: the hugepages stay where they are until freed. */
static int uio_dma_unmap(struct nvp_bus *bus, void *vaddr, size_t len, const uint64_t *unit_iova)
{
	(void)bus;
	(void)unit_iova;
	madvise(vaddr, len, MADV_DOFORK);
	return 0;
}

const struct nvp_bus_ops nvp_uio_ops = {
	.name = "uio-generic",
	.default_mem = "hugepages",
	.open = uio_open,
	.close = uio_close,
	.dma_map = uio_dma_map,
	.dma_unmap = uio_dma_unmap,
	.check_removal = uio_check_removal,
	.release = uio_release,
};
