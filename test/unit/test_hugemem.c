/*
 * DMA memory sources. The hugepage tests read the kernel's 2 MiB pool first
 * and assert what must happen for it: success (and the pool shrinking by the
 * pages we took) when enough are free, the setup.sh / nr_hugepages message
 * when not. Reserve some with `echo 8 > /proc/sys/vm/nr_hugepages` to run
 * the success path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "hugemem/dma.h"
#include "hugemem/hugemem.h"
#include "nvpoll.h"

#define MIB (1ul << 20)
#define U NVP_DMA_UNIT_SIZE
#define POOL "/sys/kernel/mm/hugepages/hugepages-2048kB/"

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* 2 MiB pages a new private mapping can still get, as the kernel counts them. */
static long hp_avail(void)
{
	long free_pages = read_long(POOL "free_hugepages"), resv = read_long(POOL "resv_hugepages");

	return free_pages < 0 ? 0 : free_pages - (resv > 0 ? resv : 0);
}

static int all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Every page resident already (populated, nothing left to fault in). */
static int all_resident(void *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = len / page;
	unsigned char *vec = malloc(n);
	int ok = vec && mincore(p, len, vec) == 0;

	for (size_t i = 0; ok && i < n; i++)
		ok = vec[i] & 1;
	free(vec);
	return ok;
}

static void check_memory(void *va, size_t len)
{
	assert_non_null(va);
	assert_int_equal((uintptr_t)va % U, 0);
	assert_true(all_resident(va, len));
	assert_true(all_zero(va, len));
	memset(va, 0xa5, len); /* writable throughout */
}

static void test_find(void **state)
{
	(void)state;
	assert_ptr_equal(nvp_mem_find("hugepages"), &nvp_mem_hugepages);
	assert_ptr_equal(nvp_mem_find("libc"), &nvp_mem_libc);
	assert_null(nvp_mem_find("Hugepages"));
	assert_null(nvp_mem_find("huge"));
	assert_null(nvp_mem_find(""));
	assert_null(nvp_mem_find(NULL));
	assert_string_equal(nvp_mem_hugepages.name, "hugepages");
	assert_string_equal(nvp_mem_libc.name, "libc");
}

static void test_libc(void **state)
{
	static unsigned char vec[2 * U / 4096];
	void *va = NULL, *vb = NULL;

	(void)state;
	/* 3 MiB rounds up to two units; both must be usable. */
	assert_int_equal(nvp_mem_libc.alloc(3 * MIB, -1, &va), 0);
	check_memory(va, 2 * U);
	assert_int_equal(nvp_mem_libc.alloc(U, 0, &vb), 0); /* node 0 exists everywhere */
	check_memory(vb, U);
	assert_true((uint8_t *)vb + U <= (uint8_t *)va || (uint8_t *)va + 2 * U <= (uint8_t *)vb);
	nvp_mem_libc.free(va, 3 * MIB);
	nvp_mem_libc.free(vb, U);
	/* Gone: mincore fails on a range that is not mapped. */
	assert_int_equal(mincore(va, 2 * U, vec), -1);
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(nvp_mem_libc.alloc(0, -1, &va), -EINVAL);
}

static void test_hugepages_fit_or_explain(void **state)
{
	long before = hp_avail(), after;
	void *va = NULL;
	int ret;

	(void)state;
	ret = nvp_mem_hugepages.alloc(2 * U, numa_available() >= 0 ? 0 : -1, &va);
	if (before < 2) {
		print_message("only %ld free 2 MiB hugepages: expecting the explanation\n", before);
		assert_int_equal(ret, -ENOMEM);
		assert_non_null(strstr(nvp_errmsg(), "hugepages"));
		assert_non_null(strstr(nvp_errmsg(), "run scripts/setup.sh config or echo "));
		assert_non_null(strstr(nvp_errmsg(), "> /proc/sys/vm/nr_hugepages"));
		return;
	}
	print_message("%ld free 2 MiB hugepages: expecting success\n", before);
	assert_int_equal(ret, 0);
	check_memory(va, 2 * U);
	/* Really hugepages: the pool lost exactly the two we took. */
	after = hp_avail();
	assert_int_equal(after, before - 2);
	nvp_mem_hugepages.free(va, 2 * U);
	assert_int_equal(hp_avail(), before);
}

/* Ask for more than the pool has: must fail with the numbers and the fix. */
static void test_hugepages_too_many(void **state)
{
	long avail = hp_avail(), total = read_long(POOL "nr_hugepages");
	long over = read_long(POOL "nr_overcommit_hugepages");
	size_t len = (size_t)(avail + 1) * U;
	char want[256];
	void *va = NULL;

	(void)state;
	if (over != 0) {
		/* Surplus pages could satisfy the request: nothing exact to assert. */
		print_message("nr_overcommit_hugepages is %ld: not asserting\n", over);
		return;
	}
	assert_int_equal(nvp_mem_hugepages.alloc(len, -1, &va), -ENOMEM);
	if (avail == 0)
		snprintf(want, sizeof(want), "no free 2 MiB hugepages (0 of %ld free): run scripts/setup.sh "
			 "config or echo %ld > /proc/sys/vm/nr_hugepages", total, total + 1 > 512 ? total + 1 : 512);
	else
		snprintf(want, sizeof(want), "not enough free 2 MiB hugepages for %zu MiB (%ld of %ld free, %ld "
			 "needed): run scripts/setup.sh config or echo %ld > /proc/sys/vm/nr_hugepages",
			 len / MIB, avail, total, avail + 1, total + 1);
	assert_string_equal(nvp_errmsg(), want);
}

/*
 * The message comes from the sysfs counts: fake them and ask for more than
 * the real pool can reserve (16 GiB; 16 TiB if surplus pages are allowed,
 * which valgrind cannot map but no machine here can reserve), for an exact,
 * machine-independent check.
 */
static void test_hugepages_message_fake_sysfs(void **state)
{
	const size_t len = read_long(POOL "nr_overcommit_hugepages") == 0 ? 16ul << 30 : 16ul << 40;
	const long need = (long)(len / U);
	char root[] = "/tmp/nvp-hp-XXXXXX", cmd[512], want[256];
	void *va = NULL;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(cmd, sizeof(cmd),
		 "d=%s/kernel/mm/hugepages/hugepages-2048kB && mkdir -p $d && echo 4 > $d/nr_hugepages && "
		 "echo 3 > $d/free_hugepages && echo 1 > $d/resv_hugepages && "
		 "n=%s/devices/system/node/node0/hugepages/hugepages-2048kB && mkdir -p $n && "
		 "echo 2 > $n/free_hugepages", root, root);
	assert_int_equal(system(cmd), 0);
	setenv("NVP_SYSFS_ROOT", root, 1);

	assert_int_equal(nvp_mem_hugepages.alloc(len, -1, &va), -ENOMEM);
	snprintf(want, sizeof(want), "not enough free 2 MiB hugepages for %zu MiB (2 of 4 free, %ld needed): "
		 "run scripts/setup.sh config or echo %ld > /proc/sys/vm/nr_hugepages", len / MIB, need,
		 4 + need - 2);
	assert_string_equal(nvp_errmsg(), want);
	assert_int_equal(nvp_mem_hugepages.alloc(len, 0, &va), -ENOMEM);
	snprintf(want, sizeof(want), "(2 of 4 free, 2 free on NUMA node 0, %ld needed)", need);
	assert_non_null(strstr(nvp_errmsg(), want));

	snprintf(cmd, sizeof(cmd), "d=%s/kernel/mm/hugepages/hugepages-2048kB && echo 0 > $d/nr_hugepages && "
		 "echo 0 > $d/free_hugepages && echo 0 > $d/resv_hugepages", root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(nvp_mem_hugepages.alloc(len, -1, &va), -ENOMEM);
	snprintf(want, sizeof(want), "no free 2 MiB hugepages (0 of 0 free): run scripts/setup.sh config "
		 "or echo %ld > /proc/sys/vm/nr_hugepages", need > 512 ? need : 512);
	assert_string_equal(nvp_errmsg(), want);

	snprintf(cmd, sizeof(cmd), "rm -rf %s/kernel", root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(nvp_mem_hugepages.alloc(len, -1, &va), -ENOMEM);
	assert_non_null(strstr(nvp_errmsg(), "this kernel offers no 2 MiB hugepages"));

	unsetenv("NVP_SYSFS_ROOT");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(nvp_mem_hugepages.alloc(0, -1, &va), -EINVAL);
}

static void test_phys(void **state)
{
	uint64_t pa = 0, pa2 = 0;
	void *va = NULL, *untouched;
	int ret;

	(void)state;
	assert_int_equal(nvp_mem_libc.alloc(U, -1, &va), 0);
	ret = nvp_hugemem_phys((uint8_t *)va + 0x123, &pa);
	if (ret == 0) {
		assert_true(pa != 0);
		assert_int_equal(pa & 0xfff, 0x123);
	} else {
		/* No CAP_SYS_ADMIN: the kernel shows PFN 0. */
		assert_int_equal(ret, -EPERM);
		assert_string_equal(nvp_errmsg(), "reading physical addresses needs root (CAP_SYS_ADMIN): "
				    "run as root, or use vfio-pci, which needs none");
	}
	nvp_mem_libc.free(va, U);

	/* A page never touched has no frame. */
	untouched = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(untouched != MAP_FAILED);
	assert_int_equal(nvp_hugemem_phys(untouched, &pa), -EFAULT);
	assert_non_null(strstr(nvp_errmsg(), "is not resident"));
	munmap(untouched, 4096);

	/* Within one hugepage, physical addresses are contiguous: what uio relies on. */
	if (ret == 0 && hp_avail() >= 1 && nvp_mem_hugepages.alloc(U, -1, &va) == 0) {
		assert_int_equal(nvp_hugemem_phys(va, &pa), 0);
		assert_int_equal(pa % U, 0);
		assert_int_equal(nvp_hugemem_phys((uint8_t *)va + U - 8, &pa2), 0);
		assert_int_equal(pa2, pa + U - 8);
		nvp_mem_hugepages.free(va, U);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_libc),
		cmocka_unit_test(test_hugepages_fit_or_explain),
		cmocka_unit_test(test_hugepages_too_many),
		cmocka_unit_test(test_hugepages_message_fake_sysfs),
		cmocka_unit_test(test_phys),
	};

	return cmocka_run_group_tests_name("hugemem", tests, NULL, NULL);
}
