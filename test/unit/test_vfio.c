/*
 * vfio backend without a device: the IOVA allocator, PCI address parsing,
 * the sysfs helpers against a fake sysfs tree, and open()'s error messages
 * for everything sysfs alone can tell.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "xsystem.h"

#include "nvpoll.h"
#include "pci/sysfs.h"
#include "vfio/iova.h"
#include "vfio/probe.h"
#include "vfio/vfio.h"

#define MIB (1ull << 20)
#define U (2 * MIB)

/* ---- IOVA allocator ------------------------------------------------------ */

static void init_ok(struct nvp_iova_space *sp, const struct nvp_iova_range *r, size_t nr)
{
	assert_int_equal(nvp_iova_space_init(sp, r, nr), 0);
}

static void test_iova_never_zero_aligned(void **state)
{
	const struct nvp_iova_range r = { 0, (1ull << 39) - 1 };
	struct nvp_iova_space sp;
	uint64_t a, b;

	(void)state;
	init_ok(&sp, &r, 1);
	assert_int_equal(nvp_iova_space_avail(&sp), (1ull << 39) - U);
	assert_int_equal(nvp_iova_space_alloc(&sp, 4096, &a), 0);
	assert_int_equal(a, U); /* unit 0 is never handed out */
	assert_int_equal(nvp_iova_space_alloc(&sp, 3 * MIB, &b), 0);
	assert_int_equal(b, 2 * U); /* 4096 took a whole unit */
	assert_int_equal(nvp_iova_space_alloc(&sp, U, &a), 0);
	assert_int_equal(a, 4 * U); /* 3 MiB took two */
	assert_int_equal(nvp_iova_space_alloc(&sp, 0, &a), -EINVAL);
	nvp_iova_space_fini(&sp);
}

static void test_iova_39bit_limit(void **state)
{
	/* QEMU intel-iommu, default aw-bits=39, with the x86 MSI window cut out. */
	const struct nvp_iova_range r[] = {
		{ 0, 0xfedfffffull },
		{ 0xfef00000ull, (1ull << 39) - 1 },
	};
	struct nvp_iova_space sp;
	uint64_t a, total = 0;

	(void)state;
	init_ok(&sp, r, 2);
	/* Unit 0 and the 2 MiB unit holding the hole are lost; the rest is usable. */
	assert_int_equal(nvp_iova_space_avail(&sp), (0xfee00000ull - U) + ((1ull << 39) - 0xff000000ull));
	/* Everything handed out lies inside the ranges and is aligned. */
	while (nvp_iova_space_alloc(&sp, 64 * U, &a) == 0) {
		assert_int_equal(a % U, 0);
		assert_true(a + 64 * U - 1 <= (1ull << 39) - 1);
		assert_true(a + 64 * U - 1 < 0xfee00000ull || a >= 0xfef00000ull);
		total += 64 * U;
	}
	assert_true(total > (1ull << 39) - 4096 * MIB);
	assert_int_equal(nvp_iova_space_alloc(&sp, (1ull << 39), &a), -ENOSPC);
	nvp_iova_space_fini(&sp);
}

static void test_iova_holes_first_fit(void **state)
{
	/* Unsorted, one overlapping pair, unaligned edges. */
	const struct nvp_iova_range r[] = {
		{ 0x1000000, 0x1ffffff },	/* units 8..15 */
		{ 0x100001, 0x5fffff },		/* 0x100001 rounds up: units 1..2 */
		{ 0x1800000, 0x27fffff },	/* overlaps the first: units 12..19 */
		{ 0x3000000, 0x33ffffe },	/* unaligned end: only unit 24 */
	};
	struct nvp_iova_space sp;
	uint64_t a;

	(void)state;
	init_ok(&sp, r, 4);
	assert_int_equal(nvp_iova_space_avail(&sp), (2 + 12 + 1) * U);
	assert_int_equal(nvp_iova_space_alloc(&sp, U, &a), 0);
	assert_int_equal(a, 1 * U);
	/* 4 MiB no longer fits below the hole at units 3..7: skipped. */
	assert_int_equal(nvp_iova_space_alloc(&sp, 2 * U, &a), 0);
	assert_int_equal(a, 8 * U);
	/* The gap left below is filled first. */
	assert_int_equal(nvp_iova_space_alloc(&sp, U, &a), 0);
	assert_int_equal(a, 2 * U);
	/* 12 units would need the merged 8..19 whole: 10 are left. */
	assert_int_equal(nvp_iova_space_alloc(&sp, 12 * U, &a), -ENOSPC);
	assert_int_equal(nvp_iova_space_alloc(&sp, 10 * U, &a), 0);
	assert_int_equal(a, 10 * U);
	assert_int_equal(nvp_iova_space_alloc(&sp, U, &a), 0);
	assert_int_equal(a, 24 * U);
	assert_int_equal(nvp_iova_space_alloc(&sp, U, &a), -ENOSPC);
	assert_int_equal(nvp_iova_space_avail(&sp), 0);
	nvp_iova_space_fini(&sp);
}

static void test_iova_free_reuse_merge(void **state)
{
	const struct nvp_iova_range r = { 0, 8 * U - 1 }; /* units 1..7 */
	struct nvp_iova_space sp;
	uint64_t a, b, c, d;

	(void)state;
	init_ok(&sp, &r, 1);
	assert_int_equal(nvp_iova_space_alloc(&sp, U, &a), 0);
	assert_int_equal(nvp_iova_space_alloc(&sp, 2 * U, &b), 0);
	assert_int_equal(nvp_iova_space_alloc(&sp, U, &c), 0);
	assert_int_equal(nvp_iova_space_alloc(&sp, 3 * U, &d), 0);
	assert_int_equal(d, 5 * U);
	assert_int_equal(nvp_iova_space_alloc(&sp, U, &d), -ENOSPC);

	/* Free b: a 2-unit hole; a 3-unit request still fails. */
	assert_int_equal(nvp_iova_space_free(&sp, b, 2 * U), 0);
	assert_int_equal(nvp_iova_space_alloc(&sp, 3 * U, &d), -ENOSPC);
	/* Free a and c: merges with both neighbours into units 1..4. */
	assert_int_equal(nvp_iova_space_free(&sp, a, U), 0);
	assert_int_equal(nvp_iova_space_free(&sp, c, U), 0);
	assert_int_equal(sp.nr_free, 1);
	assert_int_equal(nvp_iova_space_alloc(&sp, 4 * U, &d), 0);
	assert_int_equal(d, a);
	assert_int_equal(nvp_iova_space_avail(&sp), 0);
	nvp_iova_space_fini(&sp);
}

static void test_iova_bad_free(void **state)
{
	const struct nvp_iova_range r[] = { { 0, 4 * U - 1 }, { 8 * U, 12 * U - 1 } };
	struct nvp_iova_space sp;
	uint64_t a, b;

	(void)state;
	init_ok(&sp, r, 2);
	assert_int_equal(nvp_iova_space_alloc(&sp, U, &a), 0);
	assert_int_equal(nvp_iova_space_alloc(&sp, U, &b), 0);
	assert_int_equal(nvp_iova_space_free(&sp, a + 4096, U), -EINVAL); /* misaligned */
	assert_int_equal(nvp_iova_space_free(&sp, 0, U), -EINVAL);	 /* never handed out */
	assert_int_equal(nvp_iova_space_free(&sp, a, 0), -EINVAL);
	assert_int_equal(nvp_iova_space_free(&sp, 5 * U, U), -EINVAL);	 /* in the hole */
	assert_int_equal(nvp_iova_space_free(&sp, 3 * U, U), -EINVAL);	 /* still free */
	assert_int_equal(nvp_iova_space_free(&sp, b, 2 * U), -EINVAL);	 /* runs into free space */
	assert_int_equal(nvp_iova_space_free(&sp, a, U), 0);
	assert_int_equal(nvp_iova_space_free(&sp, a, U), -EINVAL);	 /* double free */
	assert_int_equal(nvp_iova_space_avail(&sp), 6 * U);
	nvp_iova_space_fini(&sp);
}

static void test_iova_edges(void **state)
{
	const struct nvp_iova_range full = { 0, UINT64_MAX };
	const struct nvp_iova_range tiny[] = { { 0, U - 1 }, { 5 * U + 1, 6 * U + 4095 }, { 9, 3 } };
	struct nvp_iova_space sp;
	uint64_t a;

	(void)state;
	/* An inclusive end of 2^64 - 1 must not overflow. */
	init_ok(&sp, &full, 1);
	assert_int_equal(nvp_iova_space_avail(&sp), 0 - U);
	assert_int_equal(nvp_iova_space_alloc(&sp, U, &a), 0);
	assert_int_equal(a, U);
	assert_int_equal(nvp_iova_space_free(&sp, 0 - U, 2 * U), -EINVAL);
	nvp_iova_space_fini(&sp);
	/* Nothing usable: unit 0 only, a partial unit, an inverted range. */
	assert_int_equal(nvp_iova_space_init(&sp, tiny, 3), -ENOSPC);
	assert_int_equal(nvp_iova_space_init(&sp, tiny, 0), -ENOSPC);
}

/* Random alloc/free against a bitmap model that predicts first fit exactly. */
#define MODEL_UNITS 96
static int model_fit(const int *used, const int *valid, int n)
{
	for (int s = 0; s + n <= MODEL_UNITS; s++) {
		int ok = 1;

		for (int k = s; k < s + n && ok; k++)
			ok = valid[k] && !used[k];
		if (ok)
			return s;
	}
	return -1;
}

static void test_iova_random_model(void **state)
{
	const struct nvp_iova_range r[] = {
		{ 0, 20 * U - 1 }, { 24 * U, 40 * U - 1 }, { 41 * U, 41 * U + 7 }, { 50 * U, 96 * U - 1 },
	};
	int valid[MODEL_UNITS] = { 0 }, used[MODEL_UNITS] = { 0 };
	struct { uint64_t iova; int n; } live[256];
	int nlive = 0;
	struct nvp_iova_space sp;

	(void)state;
	for (int k = 1; k < MODEL_UNITS; k++)
		valid[k] = (k < 20) || (k >= 24 && k < 40) || k >= 50;
	init_ok(&sp, r, 4);
	srand(42);
	for (int step = 0; step < 20000; step++) {
		if (nlive && (rand() % 2 || nlive == 256)) {
			int i = rand() % nlive;

			assert_int_equal(nvp_iova_space_free(&sp, live[i].iova, live[i].n * U), 0);
			for (int k = 0; k < live[i].n; k++)
				used[live[i].iova / U + k] = 0;
			live[i] = live[--nlive];
		} else {
			int n = 1 + rand() % 8, want = model_fit(used, valid, n);
			uint64_t a;
			int ret = nvp_iova_space_alloc(&sp, (size_t)n * U - (size_t)(rand() % 4096), &a);

			if (want < 0) {
				assert_int_equal(ret, -ENOSPC);
				continue;
			}
			assert_int_equal(ret, 0);
			assert_int_equal(a, (uint64_t)want * U);
			for (int k = 0; k < n; k++)
				used[want + k] = 1;
			live[nlive].iova = a;
			live[nlive++].n = n;
		}
	}
	nvp_iova_space_fini(&sp);
}

/* ---- PCI addresses -------------------------------------------------------- */

static void test_bdf_parse(void **state)
{
	static const char *const good[][2] = {
		{ "0000:00:05.0", "0000:00:05.0" },
		{ "00:05.0", "0000:00:05.0" },
		{ "0000:AB:1F.7", "0000:ab:1f.7" },
		{ "10000:e1:00.1", "10000:e1:00.1" }, /* VMD domain */
		{ "ffffffff:ff:1f.7", "ffffffff:ff:1f.7" },
	};
	static const char *const bad[] = {
		"", "0000:00:05", "00:5.0", "0000:00:20.0", "0000:00:05.8", "0000:00:05.0 ",
		" 0000:00:05.0", "000:00:05.0", "x0000:00:05.0", "0000:00:05.0/ns=1", "0000-00-05.0",
		"123456789:00:05.0", "0000:000:05.0", "0000:00:05.00", "0000:00:05:0", "00:05.0:1",
		"sim", "0000:0g:05.0",
	};
	char bdf[NVP_BDF_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(nvp_pci_bdf_parse(good[i][0], bdf), 0);
		assert_string_equal(bdf, good[i][1]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[128];

		if (nvp_pci_bdf_parse(bad[i], bdf) != -EINVAL)
			fail_msg("\"%s\" was accepted as %s", bad[i], bdf);
		snprintf(want, sizeof(want), "invalid PCI address \"%s\": expected DDDD:BB:DD.F or BB:DD.F",
			 bad[i]);
		assert_non_null(strstr(nvp_errmsg(), want));
		assert_non_null(strstr(nvp_errmsg(), "e.g. 0000:00:05.0"));
	}
	assert_int_equal(nvp_pci_bdf_parse(NULL, bdf), -EINVAL);
}

/* ---- fake sysfs -------------------------------------------------------------- */

struct fake {
	char root[64];
	char vfio_dir[64];
};

/*
 * Lay out one PCI device the way sysfs does: the real directory under
 * devices/, symlinks from bus/pci/devices, to the driver, to the group, and
 * from the group back. @drv NULL: unbound; @group < 0: no IOMMU group.
 */
static void fake_dev(struct fake *f, const char *bdf, const char *drv, int group, const char *class,
		     const char *numa)
{
	const char *r = f->root;

	xsystem("mkdir -p %s/devices/pci0000:00/%s %s/bus/pci/devices && "
		"ln -s ../../../devices/pci0000:00/%s %s/bus/pci/devices/%s && "
		"echo %s > %s/devices/pci0000:00/%s/class && echo %s > %s/devices/pci0000:00/%s/numa_node",
		r, bdf, r, bdf, r, bdf, class, r, bdf, numa, r, bdf);
	if (drv)
		xsystem("mkdir -p %s/bus/pci/drivers/%s && "
			"ln -s ../../../bus/pci/drivers/%s %s/devices/pci0000:00/%s/driver",
			r, drv, drv, r, bdf);
	if (group >= 0)
		xsystem("mkdir -p %s/kernel/iommu_groups/%d/devices && "
			"ln -s ../../../kernel/iommu_groups/%d %s/devices/pci0000:00/%s/iommu_group && "
			"ln -s ../../../../devices/pci0000:00/%s %s/kernel/iommu_groups/%d/devices/%s",
			r, group, group, r, bdf, bdf, r, group, bdf);
}

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	strcpy(f->root, "/tmp/nvp-sysfs-XXXXXX");
	strcpy(f->vfio_dir, "/tmp/nvp-vfio-XXXXXX");
	if (!mkdtemp(f->root) || !mkdtemp(f->vfio_dir))
		return -1;
	fake_dev(f, "0000:00:05.0", "vfio-pci", 3, "0x010802", "0");
	fake_dev(f, "0000:00:06.0", "nvme", 4, "0x010802", "-1");
	fake_dev(f, "0000:00:07.0", NULL, 5, "0x010802", "1");
	fake_dev(f, "0000:00:08.0", "vfio-pci", -1, "0x010802", "0");
	/* Group 7: an NVMe device sharing its group with a chipset's functions. */
	fake_dev(f, "0000:00:1f.0", "pcieport", 7, "0x060400", "0");
	fake_dev(f, "0000:00:1f.2", "ahci", 7, "0x010601", "0");
	fake_dev(f, "0000:00:1f.3", "vfio-pci", 7, "0x010802", "0");
	fake_dev(f, "0000:00:1f.4", NULL, 7, "0x0c0500", "0");
	fake_dev(f, "0000:00:1f.5", "pci-stub", 7, "0x0c8000", "0");
	fake_dev(f, "0000:00:1f.6", "i801_smbus", 7, "0x0c0500", "0");
	setenv("NVP_SYSFS_ROOT", f->root, 1);
	setenv("NVP_VFIO_DIR", f->vfio_dir, 1);
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	xsystem("rm -rf %s %s", f->root, f->vfio_dir);
	unsetenv("NVP_SYSFS_ROOT");
	unsetenv("NVP_VFIO_DIR");
	free(f);
	return 0;
}

static void test_sysfs_root(void **state)
{
	struct fake *f = *state;

	assert_string_equal(nvp_sysfs_root(), f->root);
	unsetenv("NVP_SYSFS_ROOT");
	assert_string_equal(nvp_sysfs_root(), "/sys");
	setenv("NVP_SYSFS_ROOT", f->root, 1);
}

static void test_sysfs_driver_group_numa(void **state)
{
	char drv[64], buf[16];
	long v;

	(void)state;
	assert_int_equal(nvp_pci_driver("0000:00:05.0", drv, sizeof(drv)), 0);
	assert_string_equal(drv, "vfio-pci");
	assert_int_equal(nvp_pci_driver("0000:00:06.0", drv, sizeof(drv)), 0);
	assert_string_equal(drv, "nvme");
	assert_int_equal(nvp_pci_driver("0000:00:07.0", drv, sizeof(drv)), 0);
	assert_string_equal(drv, "");
	assert_int_equal(nvp_pci_driver("0000:00:05.0", drv, 4), -ENAMETOOLONG);

	assert_int_equal(nvp_pci_iommu_group("0000:00:05.0"), 3);
	assert_int_equal(nvp_pci_iommu_group("0000:00:1f.2"), 7);
	assert_int_equal(nvp_pci_iommu_group("0000:00:08.0"), -ENOENT);

	assert_int_equal(nvp_pci_numa_node("0000:00:07.0"), 1);
	assert_int_equal(nvp_pci_numa_node("0000:00:06.0"), -1);
	assert_int_equal(nvp_pci_numa_node("0000:00:09.0"), -1);

	assert_int_equal(nvp_sysfs_read_long(&v, "bus/pci/devices/%s/class", "0000:00:1f.0"), 0);
	assert_int_equal(v, 0x060400);
	assert_int_equal(nvp_sysfs_read(buf, sizeof(buf), "bus/pci/devices/0000:00:1f.2/class"), 8);
	assert_string_equal(buf, "0x010601"); /* newline stripped */
	assert_int_equal(nvp_sysfs_read(buf, sizeof(buf), "nope"), -ENOENT);
}

static void test_sysfs_check_driver(void **state)
{
	(void)state;
	assert_int_equal(nvp_pci_check_driver("0000:00:05.0", "vfio-pci"), 0);
	assert_int_equal(nvp_pci_check_driver("0000:00:06.0", "vfio-pci"), -EBUSY);
	assert_string_equal(nvp_errmsg(), "device 0000:00:06.0 is bound to nvme, run scripts/setup.sh "
			    "config to hand it to vfio-pci");
	assert_int_equal(nvp_pci_check_driver("0000:00:07.0", "uio_pci_generic"), -ENODEV);
	assert_string_equal(nvp_errmsg(), "device 0000:00:07.0 is not bound to any driver, run "
			    "scripts/setup.sh config to bind it to uio_pci_generic");
	assert_int_equal(nvp_pci_check_exists("0000:00:05.0"), 0);
	assert_int_equal(nvp_pci_check_exists("0000:00:09.0"), -ENODEV);
	assert_string_equal(nvp_errmsg(), "no PCI device 0000:00:09.0: check the address with lspci -D / "
			    "nvpoll list");
}

static int collect(const char *dev, void *arg)
{
	char *out = arg;

	strcat(out, dev);
	strcat(out, " ");
	return strcmp(dev, "0000:00:1f.5") ? 0 : 42;
}

static void test_sysfs_group_members(void **state)
{
	char list[256] = "";

	(void)state;
	assert_int_equal(nvp_iommu_group_for_each(3, collect, list), 0);
	assert_string_equal(list, "0000:00:05.0 ");
	list[0] = '\0';
	/* Sorted, and stops at the first non-zero return, which comes back. */
	assert_int_equal(nvp_iommu_group_for_each(7, collect, list), 42);
	assert_string_equal(list, "0000:00:1f.0 0000:00:1f.2 0000:00:1f.3 0000:00:1f.4 0000:00:1f.5 ");
	assert_int_equal(nvp_iommu_group_for_each(99, collect, list), -ENOENT);
}

static void test_sysfs_viable(void **state)
{
	const char *msg;

	(void)state;
	assert_int_equal(nvp_iommu_group_check_viable(3), 0);
	assert_int_equal(nvp_iommu_group_check_viable(5), 0); /* unbound is fine */
	assert_int_equal(nvp_iommu_group_check_viable(4), -EBUSY);
	assert_string_equal(nvp_errmsg(), "IOMMU group 4 is not viable: 0000:00:06.0 is bound to nvme; "
			    "bind every device of the group to vfio-pci or none (scripts/setup.sh config), "
			    "or move the NVMe device to a slot with its own group");
	assert_int_equal(nvp_iommu_group_check_viable(7), -EBUSY);
	msg = nvp_errmsg();
	assert_non_null(strstr(msg, "IOMMU group 7 is not viable: 0000:00:1f.2 is bound to ahci, "
			       "0000:00:1f.6 is bound to i801_smbus; bind every device"));
	/* Bridges, vfio, pci-stub and unbound devices are not to blame. */
	assert_null(strstr(msg, "1f.0"));
	assert_null(strstr(msg, "1f.3"));
	assert_null(strstr(msg, "1f.4"));
	assert_null(strstr(msg, "1f.5"));
	assert_int_equal(nvp_iommu_group_check_viable(99), -ENOENT);
}

/* ---- open(): errors found before /dev/vfio is touched ---------------------------- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/*
 * Open @addr and expect @err and a message containing @msg. Watches the
 * fake /dev/vfio with inotify to tell whether open() went there (@touched).
 */
static void open_expect(struct fake *f, const char *addr, int err, const char *msg, int touched)
{
	struct nvp_bus *bus = (void *)0x1;
	char ev[4096];
	int in, fds, ret;

	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	assert_true(in >= 0);
	assert_true(inotify_add_watch(in, f->vfio_dir, IN_OPEN | IN_ACCESS) >= 0);
	fds = count_fds();
	ret = nvp_vfio_ops.open(addr, NULL, &bus);
	if (ret != err)
		fail_msg("open(%s) = %d, wanted %d: %s", addr, ret, err, nvp_errmsg());
	if (!strstr(nvp_errmsg(), msg))
		fail_msg("open(%s): message \"%s\" lacks \"%s\"", addr, nvp_errmsg(), msg);
	assert_ptr_equal(bus, (void *)0x1);
	assert_int_equal(count_fds(), fds); /* nothing leaked on the error path */
	assert_int_equal(read(in, ev, sizeof(ev)) > 0, touched);
	close(in);
}

static void test_open_errors(void **state)
{
	struct fake *f = *state;
	char path[128];
	int fd;

	assert_string_equal(nvp_vfio_ops.name, "vfio-pci");
	assert_string_equal(nvp_vfio_ops.default_mem, "hugepages");

	/* A file named vfio: if open() reached it we would see the event. */
	snprintf(path, sizeof(path), "%s/vfio", f->vfio_dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);

	open_expect(f, "0000:00:05", -EINVAL, "invalid PCI address \"0000:00:05\"", 0);
	open_expect(f, "0000:00:09.0", -ENODEV,
		    "no PCI device 0000:00:09.0: check the address with lspci -D / nvpoll list", 0);
	open_expect(f, "00:09.0", -ENODEV, "no PCI device 0000:00:09.0", 0);
	open_expect(f, "0000:00:06.0", -EBUSY, "device 0000:00:06.0 is bound to nvme, run scripts/setup.sh config", 0);
	open_expect(f, "00:07.0", -ENODEV, "device 0000:00:07.0 is not bound to any driver, run scripts/setup.sh config", 0);
	open_expect(f, "0000:00:08.0", -ENODEV, "0000:00:08.0 has no IOMMU group: the IOMMU is off; boot with intel_iommu=on", 0);
	/* Control: a device sysfs is happy with does reach /dev/vfio (a plain file: no VFIO API). */
	open_expect(f, "0000:00:05.0", -ENOTSUP, "speaks VFIO API version -1", 1);
	unlink(path);
	snprintf(path, sizeof(path), "%s/vfio does not exist: load vfio-pci", f->vfio_dir);
	open_expect(f, "0000:00:05.0", -ENODEV, path, 0);
}

int main(void)
{
	const struct CMUnitTest iova[] = {
		cmocka_unit_test(test_iova_never_zero_aligned),
		cmocka_unit_test(test_iova_39bit_limit),
		cmocka_unit_test(test_iova_holes_first_fit),
		cmocka_unit_test(test_iova_free_reuse_merge),
		cmocka_unit_test(test_iova_bad_free),
		cmocka_unit_test(test_iova_edges),
		cmocka_unit_test(test_iova_random_model),
		cmocka_unit_test(test_bdf_parse),
	};
	const struct CMUnitTest sysfs[] = {
		cmocka_unit_test(test_sysfs_root),
		cmocka_unit_test(test_sysfs_driver_group_numa),
		cmocka_unit_test(test_sysfs_check_driver),
		cmocka_unit_test(test_sysfs_group_members),
		cmocka_unit_test(test_sysfs_viable),
		cmocka_unit_test(test_open_errors),
	};
	int failed = cmocka_run_group_tests_name("iova", iova, NULL, NULL);

	return failed + cmocka_run_group_tests_name("sysfs", sysfs, fake_setup, fake_teardown);
}
