/* SPDX-License-Identifier: MIT */
/*
 * sysfs and PCI address helpers. Each reads what it needs at the time of the
 * call: bindings change under us (setup.sh, another process), so nothing is
 * cached.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "pci/sysfs.h"

#define PATH_LEN 512

const char *nvp_sysfs_root(void)
{
	const char *root = getenv("NVP_SYSFS_ROOT");

	return root && *root ? root : "/sys";
}

static int vpath(char *buf, size_t len, const char *fmt, va_list ap)
{
	int n = snprintf(buf, len, "%s/", nvp_sysfs_root()), m;

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	m = vsnprintf(buf + n, len - n, fmt, ap);
	if (m < 0 || (size_t)m >= len - n)
		return -ENAMETOOLONG;
	return 0;
}

static int path_of(char *buf, size_t len, const char *fmt, ...) NVP_PRINTF(3, 4);
static int path_of(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vpath(buf, len, fmt, ap);
	va_end(ap);
	return ret;
}

static int read_path(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return (int)n;
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	return (int)n;
}

int nvp_sysfs_read(char *buf, size_t len, const char *fmt, ...)
{
	char path[PATH_LEN];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	return ret < 0 ? ret : read_path(path, buf, len);
}

static int parse_long(const char *s, long *val)
{
	char *end;

	errno = 0;
	*val = strtol(s, &end, 0);
	if (errno || end == s || *end)
		return -EINVAL;
	return 0;
}

int nvp_sysfs_read_long(long *val, const char *fmt, ...)
{
	char path[PATH_LEN], buf[64];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (ret < 0)
		return ret;
	ret = read_path(path, buf, sizeof(buf));
	return ret < 0 ? ret : parse_long(buf, val);
}

static int link_name(const char *path, char *buf, size_t len)
{
	char target[PATH_LEN];
	const char *base;
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return 0;
}

int nvp_sysfs_link_name(char *buf, size_t len, const char *fmt, ...)
{
	char path[PATH_LEN];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	return ret < 0 ? ret : link_name(path, buf, len);
}

/* Exactly @min..@max hex digits at *p; advances *p. */
static int hex_field(const char **p, int min, int max, unsigned long *val)
{
	int n = 0;

	*val = 0;
	while (n < max && isxdigit((unsigned char)**p)) {
		char c = (char)tolower((unsigned char)**p);

		*val = *val << 4 | (unsigned long)(isdigit((unsigned char)c) ? c - '0' : c - 'a' + 10);
		(*p)++;
		n++;
	}
	return n >= min && !isxdigit((unsigned char)**p);
}

static int expect(const char **p, char c)
{
	return *(*p)++ == c;
}

int nvp_pci_bdf_parse(const char *addr, char bdf[NVP_BDF_LEN])
{
	unsigned long dom = 0, bus, dev, fn;
	const char *p = addr, *colon;

	if (!addr)
		return nvp_set_error(-EINVAL, "no PCI address given: pass one such as 0000:00:05.0 (see nvpoll list or lspci -D)");
	/* Two colons: the domain is there (4 digits as lspci prints it, up to 8 as Linux allows). */
	colon = strchr(addr, ':');
	if (colon && strchr(colon + 1, ':') && !(hex_field(&p, 4, 8, &dom) && expect(&p, ':')))
		goto out_invalid;
	if (!(hex_field(&p, 2, 2, &bus) && expect(&p, ':') && hex_field(&p, 2, 2, &dev) &&
	      expect(&p, '.') && hex_field(&p, 1, 1, &fn) && *p == '\0'))
		goto out_invalid;
	if (dev > 0x1f || fn > 7)
		goto out_invalid;
	snprintf(bdf, NVP_BDF_LEN, "%04lx:%02lx:%02lx.%lx", dom, bus, dev, fn);
	return 0;

out_invalid:
	return nvp_set_error(-EINVAL, "invalid PCI address \"%s\": expected DDDD:BB:DD.F or BB:DD.F "
			     "(device 00-1f, function 0-7), e.g. 0000:00:05.0 (see nvpoll list or lspci -D)",
			     addr);
}

int nvp_pci_check_exists(const char *bdf)
{
	char path[PATH_LEN];
	struct stat st;
	int ret;

	ret = path_of(path, sizeof(path), "bus/pci/devices/%s", bdf);
	if (ret < 0)
		return nvp_set_error(ret, "sysfs path for %s too long (NVP_SYSFS_ROOT=%s)", bdf, nvp_sysfs_root());
	if (stat(path, &st) == 0)
		return 0;
	if (errno == ENOENT)
		return nvp_set_error(-ENODEV, "no PCI device %s: check the address with lspci -D / nvpoll list", bdf);
	return nvp_set_error(-errno, "cannot look up PCI device %s at %s: %s", bdf, path, strerror(errno));
}

int nvp_pci_driver(const char *bdf, char *drv, size_t len)
{
	int ret = nvp_sysfs_link_name(drv, len, "bus/pci/devices/%s/driver", bdf);

	if (ret == -ENOENT) {
		drv[0] = '\0';
		return 0;
	}
	return ret;
}

int nvp_pci_bound_driver(const char *bdf, char *drv, size_t len)
{
	int ret;

	ret = nvp_pci_check_exists(bdf);
	if (ret < 0)
		return ret;
	ret = nvp_pci_driver(bdf, drv, len);
	if (ret < 0)
		return nvp_set_error(ret, "cannot read the driver of %s: %s", bdf, strerror(-ret));
	return 0;
}

int nvp_pci_check_driver(const char *bdf, const char *want)
{
	char drv[64];
	int ret;

	ret = nvp_pci_bound_driver(bdf, drv, sizeof(drv));
	if (ret < 0)
		return ret;
	if (!strcmp(drv, want))
		return 0;
	if (!drv[0])
		return nvp_set_error(-ENODEV, "device %s is not bound to any driver, run scripts/setup.sh config "
				     "to bind it to %s", bdf, want);
	return nvp_set_error(-EBUSY, "device %s is bound to %s, run scripts/setup.sh config to hand it to %s",
			     bdf, drv, want);
}

int nvp_pci_iommu_group(const char *bdf)
{
	char name[32];
	long group;
	int ret;

	ret = nvp_sysfs_link_name(name, sizeof(name), "bus/pci/devices/%s/iommu_group", bdf);
	if (ret < 0)
		return ret;
	if (parse_long(name, &group) < 0 || group < 0 || group > 0x7fffffff)
		return -EINVAL;
	return (int)group;
}

int nvp_pci_numa_node(const char *bdf)
{
	long node;

	if (nvp_sysfs_read_long(&node, "bus/pci/devices/%s/numa_node", bdf) < 0 || node < 0 ||
	    node > 0xffff)
		return -1;
	return (int)node;
}

int nvp_iommu_group_for_each(int group, int (*fn)(const char *dev, void *arg), void *arg)
{
	struct dirent **names;
	char path[PATH_LEN];
	int n, i, ret = 0;

	ret = path_of(path, sizeof(path), "kernel/iommu_groups/%d/devices", group);
	if (ret < 0)
		return ret;
	/* Sorted, so messages list devices in the order lspci does. */
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		if (!ret && names[i]->d_name[0] != '.')
			ret = fn(names[i]->d_name, arg);
		free(names[i]);
	}
	free(names);
	return ret;
}

int nvp_has_cap(unsigned cap)
{
	unsigned long long caps = 0;
	char line[256];
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return cap < 64 && (caps & (1ull << cap));
}
