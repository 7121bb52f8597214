/* SPDX-License-Identifier: MIT */
/*
 * vfio-pci backend: VFIO type1 through the legacy container/group API
 * (iommufd/cdev later: no test kernel is built with it yet).
 *
 * open() checks everything it can in sysfs before it touches /dev/vfio, so
 * the common mistakes (wrong address, device still bound to nvme, IOMMU off)
 * get a precise message instead of an ioctl errno.
 *
 * Each device gets its own container, so the IOVA space, the list of
 * mappings and every fd live in struct vfio_bus: two devices never share
 * state. Two devices of one IOMMU group would have to share a container;
 * that is refused with a message at the second open.
 *
 * The device request channel: when the kernel wants the device back (an
 * orderly hot-unplug, an unbind), vfio-pci signals an eventfd we register
 * at open and then blocks the removal until every fd of the device is
 * closed. lib/nvme polls the eventfd from its periodic checks and answers
 * with release(), which lets the removal finish while the process keeps
 * running and its buffers stay valid.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#include "bus.h"
#include "internal.h"
#include "nvpoll.h"
#include "pci/bar.h"
#include "pci/bar_guard.h"
#include "pci/sysfs.h"
#include "vfio/iova.h"
#include "vfio/probe.h"
#include "vfio/vfio.h"

#define MIB (1024 * 1024)

/*
 * Used when the kernel does not report valid IOVA ranges (before 5.4).
 * Above 4 GiB stays clear of the x86 MSI window and of PCI holes below
 * 4 GiB; below 2^39 fits the narrowest VT-d (and QEMU intel-iommu default)
 * address width. 508 GiB of IOVA is far more than we ever map.
 */
#define FALLBACK_IOVA_START (1ull << 32)
#define FALLBACK_IOVA_LAST ((1ull << 39) - 1)

struct vfio_map {
	void *vaddr;
	size_t len;
	uint64_t iova;
};

struct vfio_bus {
	struct nvp_bus bus;	/* first: ops get &vb->bus back */
	int container_fd;
	int group_fd;
	int device_fd;
	int group;
	void *bar0;		/* bus.bar0 without volatile, for munmap */
	uint64_t cfg_offset;	/* config space region in device_fd */
	int req_fd;		/* eventfd of the device request channel, -1 without */
	int released;		/* under lock: release() gave the device back */

	/* dma_map/unmap may come from any thread (DMA allocation is not per qpair). */
	pthread_mutex_t lock;
	struct nvp_iova_space iova;
	struct vfio_map *maps;	/* live mappings, unmapped at close */
	size_t nr_maps;
	size_t cap_maps;
	uint64_t pinned;	/* bytes mapped, for the memlock message */
};

static struct vfio_bus *to_vfio(struct nvp_bus *bus)
{
	return (struct vfio_bus *)bus;
}

static int unmap_iova(struct vfio_bus *vb, uint64_t iova, size_t len);

/* ---- container and group ------------------------------------------------- */

static int container_open(struct vfio_bus *vb, uint32_t *iommu_type)
{
	char path[256];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/vfio", nvp_vfio_dir());
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return nvp_set_error(-ENODEV, "%s does not exist: load vfio-pci (modprobe vfio-pci) "
					     "or run scripts/setup.sh config", path);
		if (ret == -EACCES || ret == -EPERM)
			return nvp_set_error(ret, "cannot open %s: permission denied: run as root", path);
		return nvp_set_error(ret, "cannot open %s: %s", path, strerror(-ret));
	}

	ret = ioctl(fd, VFIO_GET_API_VERSION);
	if (ret != VFIO_API_VERSION) {
		ret = nvp_set_error(-ENOTSUP, "%s speaks VFIO API version %d, nvpoll needs %d", path,
				    ret, VFIO_API_VERSION);
		goto out_close;
	}
	if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0) {
		*iommu_type = VFIO_TYPE1v2_IOMMU;
	} else if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0) {
		*iommu_type = VFIO_TYPE1_IOMMU;
	} else {
		ret = nvp_set_error(-ENOTSUP, "the kernel's vfio offers no type1 IOMMU: load it with "
				    "modprobe vfio_iommu_type1 (and boot with intel_iommu=on / iommu=pt)");
		goto out_close;
	}
	vb->container_fd = fd;
	return 0;

out_close:
	close(fd);
	return ret;
}

/* True if this process already holds @path open: a second device of the same group. */
static int open_in_process(const char *path)
{
	char link[300], target[256];
	struct dirent *d;
	int found = 0;
	ssize_t n;
	DIR *dir;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return 0;
	while (!found && (d = readdir(dir))) {
		snprintf(link, sizeof(link), "/proc/self/fd/%s", d->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = !strcmp(target, path);
	}
	closedir(dir);
	return found;
}

static int group_open_error(const struct vfio_bus *vb, const char *path, int err)
{
	char noiommu[256];

	switch (err) {
	case ENOENT:
		snprintf(noiommu, sizeof(noiommu), "%s/noiommu-%d", nvp_vfio_dir(), vb->group);
		if (access(noiommu, F_OK) == 0)
			return nvp_set_error(-ENODEV, "%s is in vfio no-IOMMU mode, which nvpoll does not "
					     "use: boot with intel_iommu=on / iommu=pt, or use uio-generic",
					     vb->bus.name);
		return nvp_set_error(-ENODEV, "%s does not exist: vfio-pci is not loaded or the IOMMU is "
				     "off: boot with intel_iommu=on / iommu=pt (AMD: amd_iommu=on), then "
				     "run scripts/setup.sh config", path);
	case EACCES:
	case EPERM:
		return nvp_set_error(-err, "cannot open %s: permission denied: run as root, or run "
				     "scripts/setup.sh config with TARGET_USER=<you>", path);
	case EBUSY:
		if (open_in_process(path))
			return nvp_set_error(-EBUSY, "IOMMU group %d of %s is already open in this process "
					     "(another device of the same group?): nvpoll opens one device "
					     "per IOMMU group, close the other one first", vb->group,
					     vb->bus.name);
		return nvp_set_error(-EBUSY, "IOMMU group %d of %s is in use by another process (QEMU, "
				     "SPDK, DPDK, another nvpoll?): stop it first; fuser -v %s shows which",
				     vb->group, vb->bus.name, path);
	default:
		return nvp_set_error(-err, "cannot open %s: %s", path, strerror(err));
	}
}

static int group_open(struct vfio_bus *vb)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[256];
	int ret;

	snprintf(path, sizeof(path), "%s/%d", nvp_vfio_dir(), vb->group);
	vb->group_fd = open(path, O_RDWR | O_CLOEXEC);
	if (vb->group_fd < 0)
		return group_open_error(vb, path, errno);

	if (ioctl(vb->group_fd, VFIO_GROUP_GET_STATUS, &status) < 0) {
		ret = nvp_set_error(-errno, "VFIO_GROUP_GET_STATUS on %s: %s", path, strerror(errno));
		goto out_close;
	}
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		/* sysfs names the culprits; if it cannot, still say what to look at. */
		ret = nvp_iommu_group_check_viable(vb->group);
		if (ret != -EBUSY)
			ret = nvp_set_error(-EBUSY, "IOMMU group %d is not viable: a device of it is bound "
					    "to a host driver; bind every device in %s/kernel/iommu_groups/%d/"
					    "devices to vfio-pci or none", vb->group, nvp_sysfs_root(),
					    vb->group);
		goto out_close;
	}
	return 0;

out_close:
	close(vb->group_fd);
	vb->group_fd = -1;
	return ret;
}

/* ---- IOMMU and its valid IOVA ranges ------------------------------------ */

static int iommu_info(int container_fd, struct vfio_iommu_type1_info **out)
{
	struct vfio_iommu_type1_info *info = NULL, *bigger;
	size_t sz = sizeof(*info);
	int ret;

	/* The first call tells how large the capability chain is; grow and ask again. */
	for (;;) {
		bigger = realloc(info, sz);
		if (!bigger) {
			ret = -ENOMEM;
			goto out_free;
		}
		info = bigger;
		memset(info, 0, sz);
		info->argsz = (uint32_t)sz;
		if (ioctl(container_fd, VFIO_IOMMU_GET_INFO, info) < 0) {
			ret = -errno;
			goto out_free;
		}
		if (info->argsz <= sz)
			break;
		sz = info->argsz;
	}
	*out = info;
	return 0;

out_free:
	free(info);
	return ret;
}

static const struct vfio_info_cap_header *find_cap(const struct vfio_iommu_type1_info *info,
						   uint16_t id, size_t need)
{
	const uint8_t *base = (const uint8_t *)info;
	uint32_t off = info->cap_offset;
	unsigned hops;

	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		return NULL;
	/* Bounded walk: a corrupt chain must not loop or read past argsz. */
	for (hops = 0; off && hops < 64; hops++) {
		const struct vfio_info_cap_header *h = (const void *)(base + off);

		if (off < sizeof(*info) || (size_t)off + sizeof(*h) > info->argsz)
			return NULL;
		if (h->id == id)
			return (size_t)off + need <= info->argsz ? h : NULL;
		off = h->next;
	}
	return NULL;
}

static int iova_ranges(struct vfio_bus *vb)
{
	static const struct nvp_iova_range fallback = { FALLBACK_IOVA_START, FALLBACK_IOVA_LAST };
	const struct vfio_iommu_type1_info_cap_iova_range *cap;
	const struct vfio_info_cap_header *h;
	struct vfio_iommu_type1_info *info = NULL;
	struct nvp_iova_range *ranges = NULL;
	uint32_t i, nr = 0;
	int ret;

	ret = iommu_info(vb->container_fd, &info);
	if (ret < 0)
		return nvp_set_error(ret, "VFIO_IOMMU_GET_INFO for %s: %s", vb->bus.name, strerror(-ret));
	h = find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, sizeof(*cap));
	if (h) {
		cap = (const void *)h;
		nr = cap->nr_iovas;
		if ((size_t)((const uint8_t *)h - (const uint8_t *)info) + sizeof(*cap) +
		    (size_t)nr * sizeof(cap->iova_ranges[0]) > info->argsz)
			nr = 0;
		ranges = nr ? calloc(nr, sizeof(*ranges)) : NULL;
		for (i = 0; ranges && i < nr; i++) {
			ranges[i].start = cap->iova_ranges[i].start;
			ranges[i].last = cap->iova_ranges[i].end;
			nvp_log(NVP_LOG_DEBUG, "%s: valid IOVA range [0x%llx, 0x%llx]", vb->bus.name,
				(unsigned long long)ranges[i].start, (unsigned long long)ranges[i].last);
		}
	}
	if (!ranges)
		nvp_log(NVP_LOG_INFO, "%s: the IOMMU reports no valid IOVA ranges, using [0x%llx, 0x%llx]",
			vb->bus.name, (unsigned long long)fallback.start, (unsigned long long)fallback.last);
	ret = nvp_iova_space_init(&vb->iova, ranges ? ranges : &fallback, ranges ? nr : 1);
	free(ranges);
	free(info);
	if (ret == -ENOSPC)
		return nvp_set_error(-ENOSPC, "the IOMMU of %s reports no 2 MiB aligned IOVA range to map "
				     "DMA memory into", vb->bus.name);
	if (ret < 0)
		return nvp_set_error(ret, "out of memory setting up the IOVA space of %s", vb->bus.name);
	return 0;
}

static int iommu_setup(struct vfio_bus *vb, uint32_t iommu_type)
{
	int ret;

	if (ioctl(vb->group_fd, VFIO_GROUP_SET_CONTAINER, &vb->container_fd) < 0)
		return nvp_set_error(-errno, "VFIO_GROUP_SET_CONTAINER for IOMMU group %d: %s", vb->group,
				     strerror(errno));
	if (ioctl(vb->container_fd, VFIO_SET_IOMMU, iommu_type) < 0) {
		ret = nvp_set_error(-errno, "VFIO_SET_IOMMU (type1%s) for IOMMU group %d: %s",
				    iommu_type == VFIO_TYPE1v2_IOMMU ? "v2" : "", vb->group, strerror(errno));
		goto out_unset;
	}
	ret = iova_ranges(vb);
	if (ret < 0)
		goto out_unset;
	return 0;

out_unset:
	ioctl(vb->group_fd, VFIO_GROUP_UNSET_CONTAINER);
	return ret;
}

/* ---- the device: BAR0 and config space ---------------------------------- */

static int region_info(struct vfio_bus *vb, uint32_t index, struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	if (ioctl(vb->device_fd, VFIO_DEVICE_GET_REGION_INFO, ri) < 0)
		return nvp_set_error(-errno, "VFIO_DEVICE_GET_REGION_INFO %u of %s: %s", index,
				     vb->bus.name, strerror(errno));
	return 0;
}

static int bar0_map(struct vfio_bus *vb)
{
	struct vfio_region_info ri;
	int ret;

	ret = region_info(vb, VFIO_PCI_BAR0_REGION_INDEX, &ri);
	if (ret < 0)
		return ret;
	if (!ri.size)
		return nvp_set_error(-ENODEV, "%s has no BAR0: is it an NVMe controller? (lspci -v -s %s)",
				     vb->bus.name, vb->bus.name);
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return nvp_set_error(-ENOTSUP, "vfio does not allow mmap of BAR0 of %s (region flags 0x%x)",
				     vb->bus.name, ri.flags);
	return nvp_pci_bar0_map(&vb->bus, vb->device_fd, (off_t)ri.offset, ri.size, NULL, &vb->bar0);
}

/* The device DMAs (bus master) and decodes BAR0 (memory space): neither is a given after binding. */
static int enable_device(struct vfio_bus *vb)
{
	struct vfio_region_info ri;
	uint16_t cmd;
	off_t off;
	int ret;

	ret = region_info(vb, VFIO_PCI_CONFIG_REGION_INDEX, &ri);
	if (ret < 0)
		return ret;
	vb->cfg_offset = ri.offset;
	off = (off_t)(ri.offset + PCI_COMMAND);
	if (pread(vb->device_fd, &cmd, sizeof(cmd), off) != sizeof(cmd))
		return nvp_set_error(-EIO, "reading the PCI command register of %s failed", vb->bus.name);
	cmd = htole16(le16toh(cmd) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (pwrite(vb->device_fd, &cmd, sizeof(cmd), off) != sizeof(cmd))
		return nvp_set_error(-EIO, "enabling bus mastering on %s failed", vb->bus.name);
	return 0;
}

static int device_open(struct vfio_bus *vb)
{
	int ret;

	vb->device_fd = ioctl(vb->group_fd, VFIO_GROUP_GET_DEVICE_FD, vb->bus.name);
	if (vb->device_fd < 0) {
		ret = -errno;
		vb->device_fd = -1;
		if (ret == -EBUSY)
			return nvp_set_error(ret, "%s is already open through vfio, by this or another "
					     "process: close it there first", vb->bus.name);
		return nvp_set_error(ret, "VFIO_GROUP_GET_DEVICE_FD for %s: %s", vb->bus.name,
				     strerror(-ret));
	}
	ret = bar0_map(vb);
	if (ret < 0)
		goto out_close;
	ret = enable_device(vb);
	if (ret < 0)
		goto out_unmap_bar;
	return 0;

out_unmap_bar:
	nvp_pci_bar0_unmap(vb->bar0, vb->bus.bar0_len);
	vb->bar0 = NULL;
	vb->bus.bar0 = NULL;
out_close:
	close(vb->device_fd);
	vb->device_fd = -1;
	return ret;
}

/* ---- the device request channel ------------------------------------------ */

/*
 * Register an eventfd for VFIO_PCI_REQ_IRQ_INDEX where the device offers
 * it. Without one the kernel logs "No device request channel registered,
 * blocked until released by user" and a removal waits for our exit, so a
 * failure here is worth a warning but not a failed open.
 * NVP_TEST_NO_DEVICE_REQUEST=1 leaves it out: the guest test's control run.
 */
static void request_channel_open(struct vfio_bus *vb)
{
	struct vfio_irq_info irq = { .argsz = sizeof(irq), .index = VFIO_PCI_REQ_IRQ_INDEX };
	struct {
		struct vfio_irq_set set;
		int32_t fd;
	} req = {
		.set = {
			.argsz = sizeof(req),
			.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
			.index = VFIO_PCI_REQ_IRQ_INDEX,
			.count = 1,
		},
	};
	const char *off = getenv("NVP_TEST_NO_DEVICE_REQUEST");

	if (off && *off && strcmp(off, "0")) {
		nvp_log(NVP_LOG_WARN, "%s: NVP_TEST_NO_DEVICE_REQUEST is set: a removal of the device will wait "
			"until this process closes it", vb->bus.name);
		return;
	}
	if (ioctl(vb->device_fd, VFIO_DEVICE_GET_IRQ_INFO, &irq) < 0 || irq.count == 0) {
		nvp_log(NVP_LOG_INFO, "%s: vfio offers no device request channel: a removal of the device will "
			"wait until this process closes it", vb->bus.name);
		return;
	}
	req.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (req.fd < 0 || ioctl(vb->device_fd, VFIO_DEVICE_SET_IRQS, &req) < 0) {
		nvp_log(NVP_LOG_WARN, "%s: cannot register the device request channel (%s): a removal of the "
			"device will wait until this process closes it", vb->bus.name, strerror(errno));
		if (req.fd >= 0)
			close(req.fd);
		return;
	}
	vb->req_fd = req.fd;
}

static int vfio_check_removal(struct nvp_bus *bus)
{
	struct vfio_bus *vb = to_vfio(bus);
	uint64_t n;

	/* Non-blocking: EAGAIN until the kernel asks. The count is consumed, the caller remembers. */
	if (vb->req_fd >= 0 && read(vb->req_fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		return NVP_BUS_RELEASE_REQUESTED;
	return NVP_BUS_PRESENT;
}

static void fds_close(struct vfio_bus *vb)
{
	/* Device first: vfio releases the group only when no device fd is left. */
	int *fds[] = { &vb->device_fd, &vb->req_fd, &vb->group_fd, &vb->container_fd };

	for (size_t i = 0; i < NVP_ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static void vfio_release(struct nvp_bus *bus)
{
	struct vfio_bus *vb = to_vfio(bus);
	uint16_t cmd;
	off_t off = (off_t)(vb->cfg_offset + PCI_COMMAND);
	int err;

	pthread_mutex_lock(&vb->lock);
	if (vb->released) {
		pthread_mutex_unlock(&vb->lock);
		return;
	}
	/* No DMA from here on, so dropping the mappings below cannot make IOMMU faults. */
	if (pread(vb->device_fd, &cmd, sizeof(cmd), off) == sizeof(cmd)) {
		cmd = htole16(le16toh(cmd) & ~PCI_COMMAND_MASTER);
		if (pwrite(vb->device_fd, &cmd, sizeof(cmd), off) != sizeof(cmd))
			nvp_log(NVP_LOG_WARN, "%s: release: cannot turn bus mastering off", vb->bus.name);
	}
	/* The BAR mapping holds the device file: it must go before the fd can really close. */
	err = nvp_bar_fill_ones(vb->bar0, vb->bus.bar0_len);
	if (err) {
		nvp_log(NVP_LOG_WARN, "%s: release: cannot replace the BAR0 mapping (%s), unmapping it",
			vb->bus.name, strerror(-err));
		nvp_pci_bar0_unmap(vb->bar0, vb->bus.bar0_len);
		vb->bar0 = NULL;
	}
	for (size_t i = 0; i < vb->nr_maps; i++)
		unmap_iova(vb, vb->maps[i].iova, vb->maps[i].len);
	vb->nr_maps = 0;
	vb->pinned = 0;
	fds_close(vb);
	vb->released = 1;
	pthread_mutex_unlock(&vb->lock);
	nvp_log(NVP_LOG_INFO, "%s: released to the kernel", vb->bus.name);
}

/* ---- open / close --------------------------------------------------------- */

/* Everything sysfs can tell us, before any /dev/vfio access. */
static int check_sysfs(const char *addr, char bdf[NVP_BDF_LEN], int *group)
{
	int ret;

	ret = nvp_pci_bdf_parse(addr, bdf);
	if (ret < 0)
		return ret;
	return nvp_vfio_sysfs_group(bdf, group);
}

static int vfio_open(const char *addr, const struct nvp_opts *opts, struct nvp_bus **out)
{
	char bdf[NVP_BDF_LEN];
	struct vfio_bus *vb;
	uint32_t iommu_type = VFIO_TYPE1v2_IOMMU;
	int group, ret;

	(void)opts;
	ret = check_sysfs(addr, bdf, &group);
	if (ret < 0)
		return ret;

	vb = calloc(1, sizeof(*vb));
	if (!vb)
		return nvp_set_error(-ENOMEM, "out of memory opening %s", bdf);
	vb->bus.ops = &nvp_vfio_ops;
	snprintf(vb->bus.name, sizeof(vb->bus.name), "%s", bdf);
	vb->bus.numa_node = nvp_pci_numa_node(bdf);
	vb->group = group;
	vb->container_fd = vb->group_fd = vb->device_fd = vb->req_fd = -1;
	pthread_mutex_init(&vb->lock, NULL);

	ret = container_open(vb, &iommu_type);
	if (ret < 0)
		goto out_free;
	ret = group_open(vb);
	if (ret < 0)
		goto out_close_container;
	ret = iommu_setup(vb, iommu_type);
	if (ret < 0)
		goto out_close_group;
	ret = device_open(vb);
	if (ret < 0)
		goto out_fini_iova;
	request_channel_open(vb);
	*out = &vb->bus;
	return 0;

out_fini_iova:
	nvp_iova_space_fini(&vb->iova);
out_close_group:
	close(vb->group_fd);
out_close_container:
	close(vb->container_fd);
out_free:
	pthread_mutex_destroy(&vb->lock);
	free(vb);
	return ret;
}

static int unmap_iova(struct vfio_bus *vb, uint64_t iova, size_t len)
{
	struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = len };

	if (ioctl(vb->container_fd, VFIO_IOMMU_UNMAP_DMA, &u) < 0)
		return -errno;
	return u.size == len ? 0 : -EIO;
}

static void vfio_close(struct nvp_bus *bus)
{
	struct vfio_bus *vb = to_vfio(bus);
	size_t i;

	if (!bus)
		return;
	/* The container would drop them on close too; unmapping first keeps the accounting exact. */
	for (i = 0; i < vb->nr_maps; i++)
		unmap_iova(vb, vb->maps[i].iova, vb->maps[i].len);
	free(vb->maps);
	nvp_iova_space_fini(&vb->iova);
	if (vb->bar0)
		nvp_pci_bar0_unmap(vb->bar0, vb->bus.bar0_len);
	fds_close(vb);
	pthread_mutex_destroy(&vb->lock);
	free(vb);
}

/* ---- DMA mapping ------------------------------------------------------------ */

static int map_error(struct vfio_bus *vb, size_t len, uint64_t iova, int err)
{
	struct rlimit rl;

	/*
	 * vfio fails with ENOMEM when pinning would pass RLIMIT_MEMLOCK. Other
	 * pinned memory of the process counts too, so for ENOMEM the limit is
	 * the likely cause even when this device alone stays below it.
	 */
	if ((err == ENOMEM || err == EFAULT) && !getrlimit(RLIMIT_MEMLOCK, &rl) &&
	    rl.rlim_cur != RLIM_INFINITY && nvp_has_cap(CAP_IPC_LOCK) != 1 && /* CAP_IPC_LOCK lifts the limit */
	    (err == ENOMEM || vb->pinned + len > rl.rlim_cur))
		return nvp_set_error(-ENOMEM, "pinning %zu MiB for DMA on %s exceeds the memlock limit "
				     "(%llu KiB, %" PRIu64 " MiB already pinned): raise it with ulimit -l "
				     "or limits.conf, or run as root (CAP_IPC_LOCK)", len / MIB, vb->bus.name,
				     (unsigned long long)rl.rlim_cur / 1024, vb->pinned / MIB);
	if (err == ENOSPC)
		return nvp_set_error(-ENOSPC, "VFIO_IOMMU_MAP_DMA on %s: the IOMMU's mapping limit is reached "
				     "(vfio_iommu_type1 dma_entry_limit): use fewer, larger DMA chunks",
				     vb->bus.name);
	return nvp_set_error(-err, "VFIO_IOMMU_MAP_DMA of %zu MiB at IOVA 0x%" PRIx64 " on %s: %s",
			     len / MIB, iova, vb->bus.name, strerror(err));
}

static int maps_reserve(struct vfio_bus *vb)
{
	size_t cap = vb->cap_maps ? vb->cap_maps * 2 : 16;
	struct vfio_map *m;

	if (vb->nr_maps < vb->cap_maps)
		return 0;
	m = realloc(vb->maps, cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	vb->maps = m;
	vb->cap_maps = cap;
	return 0;
}

static int map_locked(struct vfio_bus *vb, void *vaddr, size_t len, uint64_t *iova)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)vaddr,
		.size = len,
	};
	int ret;

	if (maps_reserve(vb) < 0)
		return nvp_set_error(-ENOMEM, "out of memory mapping DMA memory for %s", vb->bus.name);
	ret = nvp_iova_space_alloc(&vb->iova, len, iova);
	if (ret < 0)
		return nvp_set_error(ret, "no IOVA space left on %s for %zu MiB (%" PRIu64 " MiB free in "
				     "the IOMMU's valid ranges): allocate less DMA memory", vb->bus.name,
				     len / MIB, nvp_iova_space_avail(&vb->iova) / MIB);
	m.iova = *iova;
	if (ioctl(vb->container_fd, VFIO_IOMMU_MAP_DMA, &m) < 0) {
		ret = map_error(vb, len, *iova, errno);
		nvp_iova_space_free(&vb->iova, *iova, len);
		return ret;
	}
	vb->maps[vb->nr_maps++] = (struct vfio_map){ vaddr, len, *iova };
	vb->pinned += len;
	return 0;
}

static int vfio_dma_map(struct nvp_bus *bus, void *vaddr, size_t len, uint64_t *unit_iova)
{
	struct vfio_bus *vb = to_vfio(bus);
	uint64_t iova;
	size_t k;
	int ret;

	if (!len || (len | (uintptr_t)vaddr) & (NVP_DMA_UNIT_SIZE - 1))
		return nvp_set_error(-EINVAL, "dma_map of %p + %zu on %s: address and length must be "
				     "non-zero multiples of 2 MiB", vaddr, len, bus->name);
	pthread_mutex_lock(&vb->lock);
	ret = vb->released ? nvp_set_error(-ENODEV, "%s was released to the kernel (removed): close it",
					    bus->name)
			   : map_locked(vb, vaddr, len, &iova);
	pthread_mutex_unlock(&vb->lock);
	if (ret < 0)
		return ret;
	for (k = 0; k < len >> NVP_DMA_UNIT_SHIFT; k++)
		unit_iova[k] = iova + ((uint64_t)k << NVP_DMA_UNIT_SHIFT);
	return 0;
}

static int unmap_locked(struct vfio_bus *vb, void *vaddr, size_t len, const uint64_t *unit_iova)
{
	struct vfio_map *m = NULL;
	size_t i;
	int ret;

	for (i = 0; i < vb->nr_maps && !m; i++)
		if (vb->maps[i].vaddr == vaddr && vb->maps[i].len == len)
			m = &vb->maps[i];
	if (!m || (unit_iova && unit_iova[0] != m->iova))
		return nvp_set_error(-EINVAL, "dma_unmap of %p + %zu on %s: no such mapping", vaddr, len,
				     vb->bus.name);
	ret = unmap_iova(vb, m->iova, len);
	if (ret < 0)
		return nvp_set_error(ret, "VFIO_IOMMU_UNMAP_DMA of %zu MiB at IOVA 0x%" PRIx64 " on %s: %s",
				     len / MIB, m->iova, vb->bus.name, strerror(-ret));
	nvp_iova_space_free(&vb->iova, m->iova, len);
	vb->pinned -= len;
	*m = vb->maps[--vb->nr_maps];
	return 0;
}

static int vfio_dma_unmap(struct nvp_bus *bus, void *vaddr, size_t len, const uint64_t *unit_iova)
{
	struct vfio_bus *vb = to_vfio(bus);
	int ret;

	pthread_mutex_lock(&vb->lock);
	/* Released: the mappings went with the container. */
	ret = vb->released ? 0 : unmap_locked(vb, vaddr, len, unit_iova);
	pthread_mutex_unlock(&vb->lock);
	return ret;
}

const struct nvp_bus_ops nvp_vfio_ops = {
	.name = "vfio-pci",
	.default_mem = "hugepages",
	.open = vfio_open,
	.close = vfio_close,
	.dma_map = vfio_dma_map,
	.dma_unmap = vfio_dma_unmap,
	.check_removal = vfio_check_removal,
	.release = vfio_release,
};
