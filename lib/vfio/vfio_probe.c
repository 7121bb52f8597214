/* SPDX-License-Identifier: MIT */
/*
 * What vfio-pci needs, checked without opening anything: for nvp_backends()
 * and nvp_enumerate(). vfio.c's open() runs the same checks on its way in
 * and then learns the rest (API version, group viability as the kernel
 * sees it, busy groups) from the ioctls themselves. vfio.c calls into this
 * file, never the other way round.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "pci/sysfs.h"
#include "vfio/probe.h"

const char *nvp_vfio_dir(void)
{
	const char *dir = getenv("NVP_VFIO_DIR");

	return dir && *dir ? dir : "/dev/vfio";
}

static int count_iommu_groups(void)
{
	char path[512];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/kernel/iommu_groups", nvp_sysfs_root());
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

int nvp_vfio_usable(char *why, size_t len)
{
	int groups = count_iommu_groups();
	char path[300], drv[512];

	snprintf(path, sizeof(path), "%s/vfio", nvp_vfio_dir());
	snprintf(drv, sizeof(drv), "%s/bus/pci/drivers/vfio-pci", nvp_sysfs_root());
	if (access(path, F_OK) < 0) {
		snprintf(why, len, "%s does not exist: modprobe vfio-pci (scripts/setup.sh config)", path);
		return 0;
	}
	if (!groups) {
		snprintf(why, len, "no IOMMU groups: the IOMMU is off; boot with intel_iommu=on / iommu=pt "
			 "(AMD: amd_iommu=on)");
		return 0;
	}
	if (access(drv, F_OK) < 0) {
		snprintf(why, len, "%s present, %d IOMMU groups, but the vfio-pci driver is not loaded: "
			 "modprobe vfio-pci", path, groups);
		return 0;
	}
	if (access(path, R_OK | W_OK) < 0) {
		snprintf(why, len, "%s present, %d IOMMU groups, but not accessible: run as root or "
			 "scripts/setup.sh config with TARGET_USER=<you>", path, groups);
		return 0;
	}
	snprintf(why, len, "%s present, %d IOMMU groups, vfio-pci loaded", path, groups);
	return 1;
}

int nvp_vfio_sysfs_group(const char *bdf, int *group)
{
	int ret;

	ret = nvp_pci_check_driver(bdf, "vfio-pci");
	if (ret < 0)
		return ret;
	*group = nvp_pci_iommu_group(bdf);
	if (*group == -ENOENT)
		return nvp_set_error(-ENODEV, "%s has no IOMMU group: the IOMMU is off; boot with "
				     "intel_iommu=on / iommu=pt (AMD: amd_iommu=on), or use uio-generic", bdf);
	if (*group < 0)
		return nvp_set_error(*group, "cannot read the IOMMU group of %s: %s", bdf, strerror(-*group));
	return 0;
}

struct viable_ctx {
	int group;
	char msg[768];
	size_t len;
	int bad;
};

/*
 * The kernel's rule (vfio_dev_driver_allowed): a group is viable when each
 * device is unbound, bound to a vfio driver or pci-stub, or is a bridge
 * (non-type-0 header), which pcieport may keep.
 */
static int driver_allowed(const char *drv)
{
	return !drv[0] || strstr(drv, "vfio") || !strcmp(drv, "pci-stub");
}

static int is_bridge(int group, const char *dev)
{
	long class;

	if (nvp_sysfs_read_long(&class, "kernel/iommu_groups/%d/devices/%s/class", group, dev) < 0)
		return 0;
	class >>= 8;
	return class == 0x0604 || class == 0x0607 || class == 0x0609;
}

static int viable_one(const char *dev, void *arg)
{
	struct viable_ctx *c = arg;
	char drv[64];
	int n;

	if (nvp_sysfs_link_name(drv, sizeof(drv), "kernel/iommu_groups/%d/devices/%s/driver",
				c->group, dev) < 0)
		drv[0] = '\0';
	if (driver_allowed(drv) || is_bridge(c->group, dev))
		return 0;
	n = snprintf(c->msg + c->len, sizeof(c->msg) - c->len, "%s%s is bound to %s",
		     c->bad ? ", " : "", dev, drv);
	if (n > 0)
		c->len = c->len + (size_t)n < sizeof(c->msg) ? c->len + (size_t)n : sizeof(c->msg) - 1;
	c->bad++;
	return 0;
}

int nvp_iommu_group_check_viable(int group)
{
	struct viable_ctx c = { .group = group };
	int ret;

	ret = nvp_iommu_group_for_each(group, viable_one, &c);
	if (ret < 0)
		return nvp_set_error(ret, "cannot list IOMMU group %d in %s/kernel/iommu_groups: %s",
				     group, nvp_sysfs_root(), strerror(-ret));
	if (!c.bad)
		return 0;
	return nvp_set_error(-EBUSY, "IOMMU group %d is not viable: %s; bind every device of the group "
			     "to vfio-pci or none (scripts/setup.sh config), or move the NVMe device to a "
			     "slot with its own group", group, c.msg);
}

int nvp_vfio_check(const char *bdf)
{
	char path[300];
	int group, ret;

	ret = nvp_vfio_sysfs_group(bdf, &group);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/%d", nvp_vfio_dir(), group);
	if (access(path, F_OK) < 0)
		return nvp_set_error(-ENODEV, "%s does not exist: vfio-pci is not loaded or the IOMMU is off: "
				     "boot with intel_iommu=on / iommu=pt, then run scripts/setup.sh config", path);
	if (access(path, R_OK | W_OK) < 0)
		return nvp_set_error(-EACCES, "cannot open %s: permission denied: run as root, or run "
				     "scripts/setup.sh config with TARGET_USER=<you>", path);
	return nvp_iommu_group_check_viable(group);
}
