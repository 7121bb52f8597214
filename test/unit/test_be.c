/*
 * The common backend interface without a device: URIs, choosing a config
 * (opts.be, $NVP_BE, the driver a device is bound to), memory kinds per
 * config, nvp_backends(), nvp_enumerate() through libpci, and the
 * uio-generic config opened for real against a fake sysfs tree (resource0
 * and config are plain files there).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "xsystem.h"

#include "nvpoll.h"
#include "be/be.h"
#include "hugemem/dma.h"
#include "pci/sysfs.h"
#include "sim/sim.h"
#include "uio/uio.h"
#include "vfio/probe.h"
#include "vfio/vfio.h"

#define MIB (1ul << 20)

struct fake {
	char root[64];
	char vfio_dir[64];
};

static struct fake *fk;

/*
 * One PCI function as sysfs shows it, with what libpci reads (vendor,
 * device, class) and what uio-generic opens (resource0, config).
 * @drv NULL: unbound; @group < 0: no IOMMU group; @type: the group's domain.
 */
static void fake_dev(const char *bdf, const char *drv, int group, const char *type, const char *class,
		     const char *numa)
{
	const char *r = fk->root;
	char d[256];

	snprintf(d, sizeof(d), "%s/devices/pci0000:00/%s", r, bdf);
	xsystem("mkdir -p %s %s/bus/pci/devices && ln -s ../../../devices/pci0000:00/%s %s/bus/pci/devices/%s && "
		"echo %s > %s/class && echo %s > %s/numa_node && echo 0x1b36 > %s/vendor && "
		"echo 0x0010 > %s/device && echo 0x1af4 > %s/subsystem_vendor && echo 0x1100 > %s/subsystem_device && "
		"truncate -s 16K %s/resource0 && truncate -s 256 %s/config",
		d, r, bdf, r, bdf, class, d, numa, d, d, d, d, d, d, d);
	if (drv)
		xsystem("mkdir -p %s/bus/pci/drivers/%s && ln -s ../../../bus/pci/drivers/%s %s/driver", r, drv, drv, d);
	if (group >= 0) {
		xsystem("mkdir -p %s/kernel/iommu_groups/%d/devices && "
			"ln -s ../../../kernel/iommu_groups/%d %s/iommu_group && "
			"ln -s ../../../../devices/pci0000:00/%s %s/kernel/iommu_groups/%d/devices/%s",
			r, group, group, d, bdf, r, group, bdf);
		if (type)
			xsystem("echo %s > %s/kernel/iommu_groups/%d/type", type, r, group);
	}
}

static void set_hugepages(int n)
{
	xsystem("mkdir -p %s/kernel/mm/hugepages/hugepages-2048kB && echo %d > "
		"%s/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", fk->root, n, fk->root);
}

static int fake_setup(void **state)
{
	(void)state;
	fk = calloc(1, sizeof(*fk));
	strcpy(fk->root, "/tmp/nvp-be-sysfs-XXXXXX");
	strcpy(fk->vfio_dir, "/tmp/nvp-be-vfio-XXXXXX");
	if (!mkdtemp(fk->root) || !mkdtemp(fk->vfio_dir))
		return -1;
	fake_dev("0000:00:03.0", "vfio-pci", 3, "DMA", "0x010802", "0");
	fake_dev("0000:00:04.0", "uio_pci_generic", -1, NULL, "0x010802", "1");
	fake_dev("0000:00:05.0", "nvme", 5, "DMA", "0x010802", "-1");
	fake_dev("0000:00:06.0", NULL, 6, "DMA", "0x010802", "-1");
	fake_dev("0000:00:07.0", "ahci", 7, "DMA", "0x010802", "-1");
	fake_dev("0000:00:08.0", "uio_pci_generic", 8, "DMA-FQ", "0x010802", "0");
	fake_dev("0000:00:09.0", "uio_pci_generic", 9, "identity", "0x010802", "0");
	fake_dev("0000:00:1f.2", "ahci", 10, "DMA", "0x010601", "0"); /* not NVMe: never listed */
	/* Not NVMe either, with the ids pci.ids names: QEMU's i440FX host bridge, a virtio disk. */
	fake_dev("0000:00:00.0", NULL, -1, NULL, "0x060000", "-1");
	fake_dev("0000:00:0b.0", "virtio-pci", -1, NULL, "0x010000", "-1");
	xsystem("cd %s/bus/pci/devices && echo 0x8086 > 0000:00:00.0/vendor && echo 0x1237 > 0000:00:00.0/device && "
		"echo 0x1af4 > 0000:00:0b.0/vendor && echo 0x1001 > 0000:00:0b.0/device", fk->root);
	set_hugepages(4);
	xsystem("touch %s/vfio %s/3", fk->vfio_dir, fk->vfio_dir);
	setenv("NVP_SYSFS_ROOT", fk->root, 1);
	setenv("NVP_VFIO_DIR", fk->vfio_dir, 1);
	unsetenv("NVP_BE");
	unsetenv("NVP_MEM");
	return 0;
}

static int fake_teardown(void **state)
{
	(void)state;
	xsystem("rm -rf %s %s", fk->root, fk->vfio_dir);
	unsetenv("NVP_SYSFS_ROOT");
	unsetenv("NVP_VFIO_DIR");
	free(fk);
	return 0;
}

static void expect_msg(const char *what)
{
	if (!strstr(nvp_errmsg(), what))
		fail_msg("message \"%s\" lacks \"%s\"", nvp_errmsg(), what);
}

static int open_be(const char *uri, const char *be, const char *mem, struct nvp_bus **bus)
{
	struct nvp_be_choice c;
	struct nvp_opts opts;
	struct nvp_uri u;
	int ret;

	nvp_opts_init(&opts);
	opts.be = be;
	opts.mem = mem;
	ret = nvp_uri_parse(uri, &u);
	if (ret)
		return ret;
	/* As nvp_dev_open() calls it. */
	ret = nvp_be_open(&u, &opts, &c);
	if (!ret)
		*bus = c.bus;
	return ret;
}

static uint16_t fake_cmd_reg(const char *bdf)
{
	char path[256];
	uint16_t v = 0xffff;
	int fd;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/config", fk->root, bdf);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, 2, 4), 2);
	close(fd);
	return v;
}

/* ---- URIs ----------------------------------------------------------------------- */

static void test_uri(void **state)
{
	static const char *const bad[] = {
		"", "/ns=1", "simx", "nvme0n1", "0000:00:03.0:ns=1", "0000:00:03/ns=1",
		"nilx", "/dev/nvme0", "/dev/ng0", "/dev/nvme0n1p1", "/dev/ng0n", "/dev/ngXn1", "/dev/nvme0n1/ns=1",
		"/dev/sda", "dev/ng0n1",
	};
	/* Malformed in one named part: the message says which. */
	static const struct { const char *uri, *msg; } bad_part[] = {
		{ "0000:00:03.0/ns=0", "'0000:00:03.0/ns=0': /ns=0 is not a namespace id: give 1 to 4294967294" },
		{ "0000:00:03.0/ns=4294967295", "/ns=4294967295 is not a namespace id" },
		{ "0000:00:03.0/ns=99999999999999999999", "/ns=99999999999999999999 is not a namespace id" },
		{ "0000:00:03.0/ns=", "after the PCI address 0000:00:03.0 only /ns=N may follow" },
		{ "0000:00:03.0/nsid=1", "after the PCI address 0000:00:03.0 only /ns=N may follow" },
		{ "0000:00:03.0/ns=1x", "after the PCI address 0000:00:03.0 only /ns=N may follow" },
		{ "0000:00:03.0/ns=-1", "after the PCI address 0000:00:03.0 only /ns=N may follow" },
		{ "0000:00:03.0/", "after the PCI address 0000:00:03.0 only /ns=N may follow" },
		{ "0000:00:03.0/ns=1/ns=2", "after the PCI address 0000:00:03.0 only /ns=N may follow" },
		{ "sim/ns=0", "'sim/ns=0': /ns=0 is not a namespace id" },
		{ "sim:ns=2/ns=4294967295", "/ns=4294967295 is not a namespace id" },
		{ "sim/foo", "'sim/foo' is not a device URI: after sim come only :options and /ns=N" },
		{ "sim/ns=", "after sim come only :options and /ns=N" },
		{ "nil/ns=x", "after nil come only :options and /ns=N" },
	};
	struct nvp_uri u;

	(void)state;
	assert_int_equal(nvp_uri_parse("00:03.0/ns=2", &u), 0);
	assert_string_equal(u.addr, "0000:00:03.0");
	assert_int_equal(u.nsid, 2);
	assert_int_equal(u.kind, NVP_URI_PCI);
	assert_int_equal(nvp_uri_parse("0000:00:03.0/ns=4294967294", &u), 0);
	assert_int_equal(u.nsid, 0xfffffffe);
	assert_int_equal(nvp_uri_parse("sim:ns=2,lbads=512:4096", &u), 0);
	assert_int_equal(u.kind, NVP_URI_SIM);
	assert_string_equal(u.addr, "ns=2,lbads=512:4096");
	assert_int_equal(u.nsid, 0);
	assert_int_equal(nvp_uri_parse("sim", &u), 0);
	assert_int_equal(u.kind, NVP_URI_SIM);
	/* /ns=N after sim and nil, as the fio engine takes it: the namespace, not an option. */
	assert_int_equal(nvp_uri_parse("sim/ns=1", &u), 0);
	assert_int_equal(u.kind, NVP_URI_SIM);
	assert_string_equal(u.addr, "");
	assert_int_equal(u.nsid, 1);
	assert_int_equal(nvp_uri_parse("sim:ns=2,size=1M/ns=2", &u), 0);
	assert_string_equal(u.addr, "ns=2,size=1M");
	assert_int_equal(u.nsid, 2);
	assert_int_equal(nvp_uri_parse("sim:/ns=3", &u), 0);
	assert_string_equal(u.addr, "");
	assert_int_equal(u.nsid, 3);
	/* The last /ns= counts: a file's path may have one of its own. */
	assert_int_equal(nvp_uri_parse("sim:file=/tmp/ns=1/img/ns=2", &u), 0);
	assert_string_equal(u.addr, "file=/tmp/ns=1/img");
	assert_int_equal(u.nsid, 2);
	assert_int_equal(nvp_uri_parse("sim:file=/tmp/ns=1x", &u), 0);
	assert_string_equal(u.addr, "file=/tmp/ns=1x");
	assert_int_equal(u.nsid, 0);
	assert_int_equal(nvp_uri_parse("nil:ns=4/ns=4", &u), 0);
	assert_int_equal(u.kind, NVP_URI_NIL);
	assert_string_equal(u.addr, "ns=4");
	assert_int_equal(u.nsid, 4);
	assert_int_equal(nvp_uri_parse("nil", &u), 0);
	assert_int_equal(u.kind, NVP_URI_NIL);
	assert_string_equal(u.addr, "");
	assert_int_equal(nvp_uri_parse("nil:ns=2,lbads=9", &u), 0);
	assert_int_equal(u.kind, NVP_URI_NIL);
	assert_string_equal(u.addr, "ns=2,lbads=9");
	assert_int_equal(nvp_uri_parse("/dev/ng0n1", &u), 0);
	assert_int_equal(u.kind, NVP_URI_NGDEV);
	assert_string_equal(u.addr, "/dev/ng0n1");
	assert_int_equal(nvp_uri_parse("/dev/nvme12n3", &u), 0);
	assert_int_equal(u.kind, NVP_URI_BLKDEV);
	assert_string_equal(u.addr, "/dev/nvme12n3");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (nvp_uri_parse(bad[i], &u) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		expect_msg(i ? "is not a device URI: use a PCI address such as 0000:00:05.0" : "no device given");
	}
	for (size_t i = 0; i < sizeof(bad_part) / sizeof(bad_part[0]); i++) {
		if (nvp_uri_parse(bad_part[i].uri, &u) != -EINVAL)
			fail_msg("'%s' was accepted", bad_part[i].uri);
		expect_msg(bad_part[i].msg);
	}
	assert_int_equal(nvp_uri_parse(NULL, &u), -EINVAL);
	/* Through the public API: NULL and errno, EINVAL for a bad URI or sim option (the CLI's exit 2). */
	errno = 0;
	assert_null(nvp_dev_open("0000:00:03.0/ns=x", NULL));
	assert_int_equal(errno, EINVAL);
	expect_msg("only /ns=N may follow");
	errno = 0;
	assert_null(nvp_dev_open("sim:size=1M/ns=x", NULL));
	assert_int_equal(errno, EINVAL);
	expect_msg("sim option size=1M/ns=x is invalid");
	errno = 0;
	assert_null(nvp_dev_open("sim:frob=1", NULL));
	assert_int_equal(errno, EINVAL);
	expect_msg("sim option 'frob' is unknown");
	/* A well-formed id the sim does not have: not a usage error. */
	errno = 0;
	assert_null(nvp_dev_open("sim/ns=2", NULL));
	assert_int_equal(errno, ENOENT);
	expect_msg("namespace 2 is not active");
}

/* The URI's namespace is the device's: nvp_dev_nsid(). */
static void test_uri_nsid_sim(void **state)
{
	struct nvp_dev *dev;

	(void)state;
	dev = nvp_dev_open("sim:ns=3,size=1M/ns=3", NULL);
	if (!dev)
		fail_msg("%s", nvp_errmsg());
	assert_int_equal(nvp_dev_nsid(dev), 3);
	nvp_dev_close(dev);
	dev = nvp_dev_open("sim", NULL);
	assert_non_null(dev);
	assert_int_equal(nvp_dev_nsid(dev), 0);
	nvp_dev_close(dev);
}

/* ---- choosing a config ---------------------------------------------------------- */

static void test_select_by_binding(void **state)
{
	const struct nvp_be_config *cfg = NULL;

	(void)state;
	assert_int_equal(nvp_be_select("0000:00:03.0", &cfg), 0);
	assert_string_equal(cfg->ops->name, "vfio-pci");
	assert_int_equal(nvp_be_select("0000:00:04.0", &cfg), 0);
	assert_string_equal(cfg->ops->name, "uio-generic");
	assert_ptr_equal(cfg->ops, &nvp_uio_ops);
	/* Bound to the kernel's driver: the kernel's passthrough path on its controller. */
	assert_int_equal(nvp_be_select("0000:00:05.0", &cfg), 0);
	assert_string_equal(cfg->ops->name, "io_uring_cmd");
	assert_int_equal(nvp_be_select("0000:00:06.0", &cfg), -ENODEV);
	expect_msg("device 0000:00:06.0 is not bound to any driver: run scripts/setup.sh config");
	assert_int_equal(nvp_be_select("0000:00:07.0", &cfg), -EBUSY);
	expect_msg("bound to ahci, which no nvpoll config uses: run scripts/setup.sh config");
	assert_int_equal(nvp_be_select("0000:00:0a.0", &cfg), -ENODEV);
	expect_msg("no PCI device 0000:00:0a.0");
}

static void test_open_auto_errors(void **state)
{
	struct nvp_bus *bus = NULL;

	(void)state;
	assert_int_equal(open_be("0000:00:05.0", NULL, NULL, &bus), -ENODEV);
	expect_msg("0000:00:05.0 is bound to nvme but has no controller in ");
	assert_int_equal(open_be("00:06.0", NULL, NULL, &bus), -ENODEV);
	expect_msg("not bound to any driver");
	/* Whole path, public API: the URI comes first in the message. */
	assert_null(nvp_dev_open("0000:00:05.0/ns=1", NULL));
	assert_int_equal(errno, ENODEV);
	expect_msg("open 0000:00:05.0/ns=1: 0000:00:05.0 is bound to nvme but has no controller");
	assert_null(bus);
}

static void expect_not_nvme(const char *what)
{
	expect_msg(what);
	expect_msg("nvpoll drives only NVMe controllers (class 0x010802)");
	if (strstr(nvp_errmsg(), "setup.sh"))
		fail_msg("\"%s\" tells the user to bind a function that is no NVMe controller", nvp_errmsg());
}

/* Binding would not help a function that is no NVMe controller: it is told what it is instead. */
static void test_not_nvme(void **state)
{
	const struct nvp_be_config *cfg = NULL;
	struct nvp_bus *bus = NULL;

	(void)state;
	assert_int_equal(nvp_be_select("0000:00:00.0", &cfg), -ENODEV);
	expect_not_nvme("0000:00:00.0 is not an NVMe controller (class 0x060000, Host bridge: "
			"Intel Corporation 440FX - 82441FX PMC [Natoma])");
	assert_int_equal(nvp_be_select("0000:00:0b.0", &cfg), -ENODEV);
	expect_not_nvme("0000:00:0b.0 is not an NVMe controller (class 0x010000, SCSI storage controller: "
			"Red Hat, Inc. Virtio block device)");
	assert_null(cfg);
	/* A config named by the caller checks it too, before its own binding checks. */
	assert_int_equal(open_be("0000:00:00.0", "vfio-pci", NULL, &bus), -ENODEV);
	expect_not_nvme("0000:00:00.0 is not an NVMe controller (class 0x060000, Host bridge");
	assert_int_equal(open_be("0000:00:0b.0", "uio-generic", NULL, &bus), -ENODEV);
	expect_not_nvme("0000:00:0b.0 is not an NVMe controller (class 0x010000");
	assert_null(bus);
	/* Whole path, public API. */
	assert_null(nvp_dev_open("0000:00:1f.2", NULL));
	assert_int_equal(errno, ENODEV);
	expect_not_nvme("open 0000:00:1f.2: 0000:00:1f.2 is not an NVMe controller (class 0x010601, SATA controller");
}

static void test_unknown_backend(void **state)
{
	struct nvp_opts opts;
	struct nvp_bus *bus = NULL;

	(void)state;
	assert_int_equal(open_be("0000:00:03.0", "spdk", NULL, &bus), -EINVAL);
	expect_msg("unknown backend config 'spdk': use one of vfio-pci, uio-generic, io_uring_cmd, io_uring, libaio, psync, sim, nil, tcp (nvpoll list-backends)");
	nvp_opts_init(&opts);
	opts.be = "vfio";
	assert_null(nvp_dev_open("sim", &opts));
	assert_int_equal(errno, EINVAL);
	expect_msg("unknown backend config 'vfio'");
	/* A config for the other kind of URI. */
	assert_int_equal(open_be("0000:00:03.0", "sim", NULL, &bus), -EINVAL);
	expect_msg("config 'sim' cannot open '0000:00:03.0': config sim opens only sim[:options] URIs");
	assert_int_equal(open_be("sim", "uio-generic", NULL, &bus), -EINVAL);
	expect_msg("config 'uio-generic' cannot open 'sim'");
	assert_null(bus);
	assert_ptr_equal(nvp_be_find("uio-generic"), &nvp_uio_ops);
	assert_ptr_equal(nvp_be_find("vfio-pci"), &nvp_vfio_ops);
	assert_ptr_equal(nvp_be_find("sim"), &nvp_sim_ops);
	assert_null(nvp_be_find("uio"));
}

/* The kernel's configs and nil: which URIs each opens, and what each refuses, by name. */
static void test_kernel_config_refusals(void **state)
{
	struct nvp_opts opts;
	struct nvp_bus *bus = NULL;

	(void)state;
	assert_int_equal(open_be("sim", "io_uring_cmd", NULL, &bus), -EINVAL);
	expect_msg("config 'io_uring_cmd' cannot open 'sim': sim[:options] URIs open with config sim");
	assert_int_equal(open_be("/dev/ng0n1", "vfio-pci", NULL, &bus), -EINVAL);
	expect_msg("config 'vfio-pci' cannot open '/dev/ng0n1': /dev/ngXnY URIs open with config io_uring_cmd, "
		   "io_uring, libaio, psync");
	assert_int_equal(open_be("/dev/nvme0n1", "nil", NULL, &bus), -EINVAL);
	expect_msg("config nil opens only nil[:options] URIs");
	assert_null(bus);
	/* A node that is not there. */
	assert_null(nvp_dev_open("/dev/ng97n3", NULL));
	assert_int_equal(errno, ENODEV);
	expect_msg("open /dev/ng97n3: /dev/ng97n3 does not exist: nvme list");
	assert_null(nvp_dev_open("/dev/nvme97n3", NULL));
	expect_msg("/dev/nvme97n3 does not exist");
	/* Options only nvpoll's own driver, or only io_uring, has. */
	nvp_opts_init(&opts);
	opts.shadow_doorbells = 1;
	assert_null(nvp_dev_open("nil", &opts));
	assert_int_equal(errno, EINVAL);
	expect_msg("config nil has no doorbells of nvpoll's to shadow: shadow doorbells are nvpoll's own PCIe "
		   "driver's (vfio-pci, uio-generic, sim)");
	opts.be = "psync";
	assert_null(nvp_dev_open("/dev/nvme0n1", &opts));
	expect_msg("config psync has no doorbells of nvpoll's to shadow");
	opts.shadow_doorbells = 0;
	opts.kernel_iopoll = 1;
	assert_null(nvp_dev_open("/dev/nvme0n1", &opts));
	expect_msg("config psync has no kernel polled completions: they are io_uring's and io_uring_cmd's");
	opts.be = NULL;
	assert_null(nvp_dev_open("sim", &opts));
	expect_msg("config sim has no kernel polled completions: they are io_uring's and io_uring_cmd's "
		   "(IORING_SETUP_IOPOLL); nvpoll's own driver always polls");
}

static void test_mem_per_config(void **state)
{
	const struct nvp_be_config *uio = nvp_be_config_find("uio-generic");
	const struct nvp_be_config *vfio = nvp_be_config_find("vfio-pci");
	struct nvp_bus *bus = NULL;

	(void)state;
	assert_int_equal(nvp_be_check_mem(vfio, "libc"), 0);
	assert_int_equal(nvp_be_check_mem(vfio, "hugepages"), 0);
	assert_int_equal(nvp_be_check_mem(uio, "hugepages"), 0);
	assert_int_equal(nvp_be_check_mem(uio, "libc"), -EINVAL);
	assert_int_equal(nvp_be_check_mem(uio, "huge"), -EINVAL);
	expect_msg("unknown memory 'huge': use hugepages or libc");

	/* Refused before the device is touched: the command register stays 0. */
	assert_int_equal(open_be("0000:00:04.0", "uio-generic", "libc", &bus), -EINVAL);
	expect_msg("uio-generic cannot use mem=libc: without an IOMMU the device reaches memory by physical address");
	expect_msg("or vfio-pci, which pins libc pages through the IOMMU");
	assert_int_equal(fake_cmd_reg("0000:00:04.0"), 0);
	/* The same by automatic selection, and from $NVP_MEM. */
	assert_int_equal(open_be("0000:00:04.0", NULL, "libc", &bus), -EINVAL);
	expect_msg("uio-generic cannot use mem=libc");
	setenv("NVP_MEM", "libc", 1);
	assert_string_equal(nvp_be_mem_name(&nvp_uio_ops, NULL), "libc");
	assert_int_equal(open_be("0000:00:04.0", NULL, NULL, &bus), -EINVAL);
	expect_msg("uio-generic cannot use mem=libc");
	/* opts.mem wins over the environment. */
	assert_int_equal(open_be("0000:00:04.0", NULL, "bogus", &bus), -EINVAL);
	expect_msg("unknown memory 'bogus'");
	unsetenv("NVP_MEM");
	assert_string_equal(nvp_be_mem_name(&nvp_uio_ops, NULL), "hugepages");
	assert_string_equal(nvp_be_mem_name(&nvp_sim_ops, NULL), "libc");
	assert_int_equal(fake_cmd_reg("0000:00:04.0"), 0);
	assert_null(bus);
}

static void test_env_override(void **state)
{
	struct nvp_opts opts;
	struct nvp_bus *bus = NULL;
	struct nvp_dev *dev;

	(void)state;
	/* $NVP_BE beats the binding: uio-generic on a vfio-bound device, and it says so. */
	setenv("NVP_BE", "uio-generic", 1);
	assert_int_equal(open_be("0000:00:03.0", NULL, NULL, &bus), -EBUSY);
	expect_msg("device 0000:00:03.0 is bound to vfio-pci, run scripts/setup.sh config to hand it to uio_pci_generic");
	expect_msg("(config uio-generic from NVP_BE; the device is bound to vfio-pci, which config vfio-pci serves");
	/* Even through nvp_be_open() called with no opts. */
	{
		struct nvp_be_choice c;
		struct nvp_uri u;

		assert_int_equal(nvp_uri_parse("0000:00:03.0", &u), 0);
		assert_int_equal(nvp_be_open(&u, NULL, &c), -EBUSY);
		expect_msg("from NVP_BE");
	}
	/* The public path; a sim URI with a PCI config named in the environment. */
	setenv("NVP_BE", "vfio-pci", 1);
	assert_null(nvp_dev_open("sim", NULL));
	expect_msg("config 'vfio-pci' from NVP_BE cannot open 'sim'");
	setenv("NVP_BE", "nope", 1);
	assert_null(nvp_dev_open("sim", NULL));
	expect_msg("unknown backend config 'nope' from NVP_BE");
	/* opts.be beats $NVP_BE. */
	nvp_opts_init(&opts);
	opts.be = "sim";
	dev = nvp_dev_open("sim", &opts);
	if (!dev)
		fail_msg("%s", nvp_errmsg());
	assert_string_equal(nvp_dev_backend(dev), "sim");
	nvp_dev_close(dev);
	/* Empty means unset. */
	setenv("NVP_BE", "", 1);
	dev = nvp_dev_open("sim", NULL);
	assert_non_null(dev);
	nvp_dev_close(dev);
	unsetenv("NVP_BE");
	assert_null(bus);
}

/* ---- uio-generic against the fake tree ---------------------------------------------- */

static void test_uio_open_close(void **state)
{
	struct nvp_bus *bus = NULL;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(open_be("0000:00:04.0", NULL, NULL, &bus), 0);
	assert_ptr_equal(bus->ops, &nvp_uio_ops);
	assert_string_equal(bus->name, "0000:00:04.0");
	assert_int_equal(bus->bar0_len, 16384);
	assert_int_equal(bus->numa_node, 1);
	assert_non_null(bus->bar0);
	/* Memory space and bus master on, through the config file. */
	assert_int_equal(fake_cmd_reg("0000:00:04.0"), 0x6);
	/* BAR0 is the resource0 file, shared. */
	bus->bar0[0x10] = 0x5a;
	bus->ops->close(bus);
	/* Bus mastering back off (it was off before); memory decoding may stay. */
	assert_int_equal(fake_cmd_reg("0000:00:04.0"), 0x2);
	{
		char path[256];
		uint8_t b = 0;
		int fd;

		snprintf(path, sizeof(path), "%s/bus/pci/devices/0000:00:04.0/resource0", fk->root);
		fd = open(path, O_RDONLY);
		assert_int_equal(pread(fd, &b, 1, 0x10), 1);
		close(fd);
		assert_int_equal(b, 0x5a);
	}
	/* Identity domain: passthrough, fine. */
	bus = NULL;
	assert_int_equal(open_be("0000:00:09.0", "uio-generic", NULL, &bus), 0);
	assert_int_equal(bus->numa_node, 0);
	bus->ops->close(bus);
}

static void test_uio_refuses_translating_iommu(void **state)
{
	struct nvp_bus *bus = NULL;
	char type[32];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(open_be("0000:00:08.0", NULL, NULL, &bus), -ENOTSUP);
	expect_msg("0000:00:08.0: the IOMMU translates DMA for IOMMU group 8 (domain type DMA-FQ), so the "
		   "physical addresses uio-generic gives the device would fault: use vfio-pci");
	expect_msg("iommu=pt");
	assert_int_equal(fake_cmd_reg("0000:00:08.0"), 0);
	assert_int_equal(nvp_uio_check_iommu("0000:00:09.0", type, sizeof(type)), 0);
	assert_string_equal(type, "identity");
	assert_int_equal(nvp_uio_check_iommu("0000:00:04.0", type, sizeof(type)), 0);
	assert_string_equal(type, "");
	assert_null(bus);
}

/* In a child that gives up root for good: uio-generic must say it needs root. */
static void test_uio_needs_root(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	xsystem("chmod 755 %s %s", fk->root, fk->vfio_dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct nvp_bus *bus = NULL;
		char why[256];
		int ret;

		if (setgid(65534) || setuid(65534))
			_exit(3);
		ret = open_be("0000:00:04.0", NULL, NULL, &bus);
		if (ret != -EPERM || !strstr(nvp_errmsg(), "uio-generic needs root (CAP_SYS_ADMIN)")) {
			fprintf(stderr, "open: %d %s\n", ret, nvp_errmsg());
			_exit(1);
		}
		if (nvp_uio_usable(why, sizeof(why)) != 0 || !strstr(why, "not root")) {
			fprintf(stderr, "usable: %s\n", why);
			_exit(2);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_uio_dma_map(void **state)
{
	/* uio's own state follows the bus in its object: zeroes there mean "open, not removed". */
	static union {
		struct nvp_bus bus;
		char with_private_state[1024];
	} fake = { .bus = { .ops = &nvp_uio_ops, .name = "fake" } };
	uint64_t iova[2] = { 0, 0 };
	void *va;

	(void)state;
	if (geteuid() != 0)
		skip();
	/* Plain pages: never handed to the device by physical address. */
	assert_int_equal(nvp_mem_libc.alloc(2 * NVP_DMA_UNIT_SIZE, -1, &va), 0);
	assert_int_equal(nvp_uio_ops.dma_map(&fake.bus, va, 2 * NVP_DMA_UNIT_SIZE, iova), -EINVAL);
	expect_msg("is not one 2 MiB hugepage: uio-generic gives the device physical addresses");
	assert_int_equal(nvp_uio_ops.dma_map(&fake.bus, (uint8_t *)va + 4096, NVP_DMA_UNIT_SIZE, iova), -EINVAL);
	expect_msg("multiples of 2 MiB");
	nvp_mem_libc.free(va, 2 * NVP_DMA_UNIT_SIZE);

	/* Hugepages (when the host has two free): one physical address per unit, 2 MiB aligned. */
	unsetenv("NVP_SYSFS_ROOT");
	if (nvp_mem_hugepages.alloc(2 * NVP_DMA_UNIT_SIZE, -1, &va) == 0) {
		assert_int_equal(nvp_uio_ops.dma_map(&fake.bus, va, 2 * NVP_DMA_UNIT_SIZE, iova), 0);
		assert_int_not_equal(iova[0], 0);
		assert_int_equal(iova[0] % NVP_DMA_UNIT_SIZE, 0);
		assert_int_equal(iova[1] % NVP_DMA_UNIT_SIZE, 0);
		assert_int_equal(nvp_uio_ops.dma_unmap(&fake.bus, va, 2 * NVP_DMA_UNIT_SIZE, iova), 0);
		nvp_mem_hugepages.free(va, 2 * NVP_DMA_UNIT_SIZE);
	} else {
		print_message("no free hugepages on this host: only the refusal of plain pages was checked\n");
	}
	setenv("NVP_SYSFS_ROOT", fk->root, 1);
}

/* ---- nvp_backends() and nvp_enumerate() ------------------------------------------- */

static void test_backends(void **state)
{
	struct nvp_backend_info be[NVP_MAX_BACKENDS];
	char path[128];

	(void)state;
	assert_int_equal(nvp_backends(NULL, 0), 9);
	assert_int_equal(nvp_backends(be, 1), 9); /* counts all, fills one */
	assert_string_equal(be[0].name, "vfio-pci");
	assert_int_equal(nvp_backends(be, NVP_MAX_BACKENDS), 9);
	assert_string_equal(be[0].name, "vfio-pci");
	assert_string_equal(be[0].driver, "vfio-pci");
	assert_string_equal(be[0].mems, "hugepages,libc");
	assert_string_equal(be[0].default_mem, "hugepages");
	assert_int_equal(be[0].usable, 1);
	assert_non_null(strstr(be[0].reason, "/vfio present, 7 IOMMU groups, vfio-pci loaded"));
	assert_string_equal(be[1].name, "uio-generic");
	assert_string_equal(be[1].driver, "uio_pci_generic");
	assert_string_equal(be[1].mems, "hugepages");
	assert_int_equal(be[1].usable, geteuid() == 0);
	if (geteuid() == 0)
		assert_non_null(strstr(be[1].reason, "uio_pci_generic loaded, root, 4 hugepages"));
	/* The kernel's paths: nothing to open without a controller of the kernel's. */
	for (int i = 2; i < 6; i++) {
		static const char *const names[] = { "io_uring_cmd", "io_uring", "libaio", "psync" };

		assert_string_equal(be[i].name, names[i - 2]);
		assert_string_equal(be[i].driver, "nvme");
		assert_string_equal(be[i].mems, "libc,hugepages");
		assert_int_equal(be[i].usable, 0);
		if (!strstr(be[i].reason, "/sys/class/nvme is empty") && !strstr(be[i].reason, "cannot be set up"))
			fail_msg("%s: %s", be[i].name, be[i].reason);
	}
	assert_string_equal(be[6].name, "sim");
	assert_null(be[6].driver);
	assert_string_equal(be[6].mems, "libc,hugepages");
	assert_int_equal(be[6].usable, 1);
	assert_string_equal(be[7].name, "nil");
	assert_null(be[7].driver);
	assert_string_equal(be[7].mems, "libc,hugepages");
	assert_int_equal(be[7].usable, 1);
	assert_string_equal(be[8].name, "tcp");
	assert_null(be[8].driver);
	assert_string_equal(be[8].mems, "libc,hugepages");
	assert_int_equal(be[8].usable, 1);
	assert_non_null(strstr(be[8].reason, "tcp://HOST[:PORT]/NQN"));
	/* A controller of the kernel's: named. */
	xsystem("mkdir -p %s/class/nvme/nvme3", fk->root);
	nvp_backends(be, NVP_MAX_BACKENDS);
	if (be[5].usable != 1 || !strstr(be[5].reason, "1 controller of the kernel's (nvme3)"))
		fail_msg("psync: %s", be[5].reason);
	xsystem("rm -r %s/class/nvme", fk->root);

	/* Take things away: each is named. */
	set_hugepages(0);
	nvp_backends(be, NVP_MAX_BACKENDS);
	assert_int_equal(be[1].usable, 0);
	if (geteuid() == 0)
		assert_non_null(strstr(be[1].reason, "no 2 MiB hugepages reserved"));
	set_hugepages(4);
	snprintf(path, sizeof(path), "%s/vfio", fk->vfio_dir);
	unlink(path);
	nvp_backends(be, NVP_MAX_BACKENDS);
	assert_int_equal(be[0].usable, 0);
	assert_non_null(strstr(be[0].reason, "/vfio does not exist: modprobe vfio-pci"));
	xsystem("touch %s && mv %s/kernel/iommu_groups %s/kernel/groups-off", path, fk->root, fk->root);
	nvp_backends(be, NVP_MAX_BACKENDS);
	assert_int_equal(be[0].usable, 0);
	assert_non_null(strstr(be[0].reason, "no IOMMU groups: the IOMMU is off"));
	xsystem("mv %s/kernel/groups-off %s/kernel/iommu_groups", fk->root, fk->root);
}

static const struct nvp_pci_info *find(const struct nvp_pci_info *l, int n, const char *bdf)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(l[i].bdf, bdf))
			return &l[i];
	fail_msg("%s not listed", bdf);
	return NULL;
}

static void test_enumerate(void **state)
{
	const struct nvp_pci_info *d;
	struct nvp_pci_info *list;
	int n;

	(void)state;
	n = nvp_enumerate(&list);
	if (n < 0)
		fail_msg("%s", nvp_errmsg());
	/* Every NVMe function, sorted; the SATA controller is not one. */
	assert_int_equal(n, 7);
	for (int i = 1; i < n; i++)
		assert_true(strcmp(list[i - 1].bdf, list[i].bdf) < 0);

	d = find(list, n, "0000:00:03.0");
	assert_int_equal(d->vendor_id, 0x1b36);
	assert_int_equal(d->device_id, 0x0010);
	assert_int_equal(d->subsys_vendor_id, 0x1af4);
	assert_int_equal(d->subsys_device_id, 0x1100);
	assert_string_equal(d->vendor, "Red Hat, Inc.");
	assert_string_equal(d->device, "QEMU NVM Express Controller");
	assert_int_equal(d->numa_node, 0);
	assert_string_equal(d->driver, "vfio-pci");
	assert_int_equal(d->iommu_group, 3);
	assert_string_equal(d->iommu_type, "DMA");
	assert_string_equal(d->backend, "vfio-pci");
	assert_int_equal(d->nr_usable, 1);
	assert_string_equal(d->usable[0], "vfio-pci");
	assert_string_equal(d->reason, "");

	d = find(list, n, "0000:00:04.0");
	assert_int_equal(d->numa_node, 1);
	assert_int_equal(d->iommu_group, -1);
	assert_string_equal(d->backend, "uio-generic");
	if (geteuid() == 0) {
		assert_int_equal(d->nr_usable, 1);
		assert_string_equal(d->usable[0], "uio-generic");
	}

	d = find(list, n, "0000:00:05.0");
	assert_int_equal(d->numa_node, -1);
	assert_string_equal(d->driver, "nvme");
	assert_string_equal(d->backend, "io_uring_cmd");
	assert_int_equal(d->nr_usable, 0);	/* no controller of the kernel's in sysfs yet */
	assert_non_null(strstr(d->reason, "0000:00:05.0 is bound to nvme but has no controller yet"));

	d = find(list, n, "0000:00:06.0");
	assert_string_equal(d->driver, "");
	assert_non_null(strstr(d->reason, "not bound to any driver"));

	d = find(list, n, "0000:00:08.0");
	assert_string_equal(d->backend, "uio-generic");
	assert_string_equal(d->iommu_type, "DMA-FQ");
	assert_int_equal(d->nr_usable, 0);
	if (geteuid() == 0)
		assert_non_null(strstr(d->reason, "the IOMMU translates DMA for IOMMU group 8"));
	free(list);

	/* A vfio group that has no /dev/vfio node yet: listed, not openable, and why. */
	xsystem("mv %s/3 %s/3.off", fk->vfio_dir, fk->vfio_dir);
	n = nvp_enumerate(&list);
	d = find(list, n, "0000:00:03.0");
	assert_int_equal(d->nr_usable, 0);
	assert_non_null(strstr(d->reason, "/3 does not exist"));
	free(list);
	xsystem("mv %s/3.off %s/3", fk->vfio_dir, fk->vfio_dir);

	/* Once the kernel's controller shows up, every kernel config can open the device. */
	xsystem("mkdir -p %s/bus/pci/devices/0000:00:05.0/nvme/nvme3", fk->root);
	n = nvp_enumerate(&list);
	d = find(list, n, "0000:00:05.0");
	assert_int_equal(d->nr_usable, 4);
	assert_string_equal(d->usable[0], "io_uring_cmd");
	assert_string_equal(d->usable[3], "psync");
	assert_string_equal(d->reason, "");
	free(list);
	xsystem("rm -r %s/bus/pci/devices/0000:00:05.0/nvme", fk->root);
}

static void test_enumerate_no_sysfs(void **state)
{
	struct nvp_pci_info *list = (void *)1;
	int n;

	(void)state;
	setenv("NVP_SYSFS_ROOT", "/nonexistent-nvp", 1);
	n = nvp_enumerate(&list);
	/* libpci cannot scan: an error, or nothing; never a crash or exit. */
	assert_true(n == 0 || n == -EIO);
	assert_null(list);
	if (n < 0)
		expect_msg("listing PCI devices with libpci failed");
	setenv("NVP_SYSFS_ROOT", fk->root, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_uri_nsid_sim),
		cmocka_unit_test(test_select_by_binding),
		cmocka_unit_test(test_open_auto_errors),
		cmocka_unit_test(test_not_nvme),
		cmocka_unit_test(test_unknown_backend),
		cmocka_unit_test(test_kernel_config_refusals),
		cmocka_unit_test(test_mem_per_config),
		cmocka_unit_test(test_env_override),
		cmocka_unit_test(test_uio_open_close),
		cmocka_unit_test(test_uio_refuses_translating_iommu),
		cmocka_unit_test(test_uio_needs_root),
		cmocka_unit_test(test_uio_dma_map),
		cmocka_unit_test(test_backends),
		cmocka_unit_test(test_enumerate),
		cmocka_unit_test(test_enumerate_no_sysfs),
	};

	return cmocka_run_group_tests_name("be", tests, fake_setup, fake_teardown);
}
