/* SPDX-License-Identifier: MIT */
/*
 * Memory sources for DMA: 2 MiB hugepages (the default: one IOMMU entry or
 * one physical range per page) and plain libc pages (works with no setup,
 * for vfio only). Both hand out memory that is 2 MiB aligned, zeroed, and
 * already faulted in, on the requested NUMA node when there is one.
 */
#include <errno.h>
#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hugemem/dma.h"
#include "hugemem/hugemem.h"
#include "internal.h"
#include "pci/sysfs.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

#define MIB (1024 * 1024)
#define HUGEPAGES_DIR "kernel/mm/hugepages/hugepages-2048kB"

static size_t round_len(size_t len)
{
	return NVP_ALIGN_UP(len, NVP_DMA_UNIT_SIZE);
}

/* ---- NUMA placement ------------------------------------------------------- */

static int numa_usable(int node)
{
	return node >= 0 && numa_available() >= 0 && node <= numa_max_node();
}

/*
 * MPOL_PREFERRED, not MPOL_BIND: mmap reserved the hugepages from the global
 * pool, and a strict binding to a node short of free pages would fail the
 * fault (SIGBUS) although the memory exists. Remote memory is slower, not
 * wrong, so we take it and warn.
 */
static void numa_prefer(void *va, size_t len, int node)
{
	struct bitmask *mask = numa_allocate_nodemask();

	if (!mask)
		return;
	numa_bitmask_setbit(mask, (unsigned)node);
	if (mbind(va, len, MPOL_PREFERRED, mask->maskp, mask->size + 1, 0) < 0)
		nvp_log(NVP_LOG_WARN, "mbind of DMA memory to NUMA node %d failed: %s", node,
			strerror(errno));
	numa_bitmask_free(mask);
}

static void numa_check(void *va, size_t len, int node, const char *what)
{
	size_t n = len >> NVP_DMA_UNIT_SHIFT, k, remote = 0;
	void **pages = calloc(n, sizeof(*pages));
	int *status = calloc(n, sizeof(*status));

	if (!pages || !status)
		goto out_free;
	for (k = 0; k < n; k++)
		pages[k] = (uint8_t *)va + (k << NVP_DMA_UNIT_SHIFT);
	/* With nodes NULL, move_pages only reports where each page lives. */
	if (move_pages(0, (unsigned long)n, pages, NULL, status, 0) < 0)
		goto out_free;
	for (k = 0; k < n; k++)
		remote += status[k] >= 0 && status[k] != node;
	if (remote)
		nvp_log(NVP_LOG_WARN, "%zu of %zu MiB of DMA %s are not on NUMA node %d: %s", remote * 2,
			n * 2, what, node,
			strcmp(what, "hugepages") ? "the node is short of free memory" :
			"reserve hugepages on that node (/sys/devices/system/node/nodeN/hugepages)");
out_free:
	free(pages);
	free(status);
}

/* Fault every page in, writable, so nothing is left for the first DMA or pin to do. */
static int populate(void *va, size_t len)
{
	volatile uint8_t *p = va;
	size_t off, step = (size_t)sysconf(_SC_PAGESIZE);

	if (madvise(va, len, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* Before Linux 5.14: touch each page. Writing 0 keeps the memory zeroed. */
	for (off = 0; off < len; off += step)
		p[off] = 0;
	return 0;
}

/* ---- hugepages --------------------------------------------------------------- */

static long hp_count(const char *attr)
{
	long v;

	return nvp_sysfs_read_long(&v, HUGEPAGES_DIR "/%s", attr) < 0 ? -1 : v;
}

static long hp_node_free(int node)
{
	long v;

	if (nvp_sysfs_read_long(&v, "devices/system/node/node%d/hugepages/hugepages-2048kB/free_hugepages",
				node) < 0)
		return -1;
	return v;
}

static int hugepages_error(size_t len, int node, int err)
{
	long total = hp_count("nr_hugepages"), free_pages = hp_count("free_hugepages");
	long resv = hp_count("resv_hugepages"), need = (long)(len >> NVP_DMA_UNIT_SHIFT), avail, node_free;
	char where[64] = "";

	if (err != ENOMEM)
		return nvp_set_error(-err, "mmap of %zu MiB of 2 MiB hugepages: %s", len / MIB, strerror(err));
	if (total < 0 || free_pages < 0)
		return nvp_set_error(-ENOMEM, "this kernel offers no 2 MiB hugepages (%s/%s missing): use the "
				     "libc memory source instead", nvp_sysfs_root(), HUGEPAGES_DIR);
	/* Free counts pages promised to other mappings (resv); they are not ours to take. */
	avail = free_pages - (resv > 0 ? resv : 0);
	if (avail < 0)
		avail = 0;
	node_free = node >= 0 ? hp_node_free(node) : -1;
	if (node_free >= 0)
		snprintf(where, sizeof(where), ", %ld free on NUMA node %d", node_free, node);
	if (!avail)
		return nvp_set_error(-ENOMEM, "no free 2 MiB hugepages (%ld of %ld free%s): run scripts/setup.sh "
				     "config or echo %ld > /proc/sys/vm/nr_hugepages", avail, total, where,
				     total + need > 512 ? total + need : 512);
	return nvp_set_error(-ENOMEM, "not enough free 2 MiB hugepages for %zu MiB (%ld of %ld free%s, %ld "
			     "needed): run scripts/setup.sh config or echo %ld > /proc/sys/vm/nr_hugepages",
			     len / MIB, avail, total, where, need, total + need - avail);
}

static int hugepages_alloc(size_t len, int numa_node, void **va)
{
	int bind = numa_usable(numa_node), ret;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB;
	void *p;

	if (!len)
		return nvp_set_error(-EINVAL, "DMA memory of 0 bytes requested");
	len = round_len(len);
	/* MAP_POPULATE would fault the pages in before mbind could place them. */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags | (bind ? 0 : MAP_POPULATE), -1, 0);
	if (p == MAP_FAILED)
		return hugepages_error(len, numa_node, errno);
	if (bind) {
		numa_prefer(p, len, numa_node);
		ret = populate(p, len);
		if (ret < 0) {
			munmap(p, len);
			return hugepages_error(len, numa_node, -ret == EFAULT ? ENOMEM : -ret);
		}
		numa_check(p, len, numa_node, "hugepages");
	}
	*va = p;
	return 0;
}

static void mem_unmap(void *va, size_t len)
{
	if (va)
		munmap(va, round_len(len));
}

const struct nvp_mem_ops nvp_mem_hugepages = {
	.name = "hugepages",
	.alloc = hugepages_alloc,
	.free = mem_unmap,
};

/* ---- libc pages ----------------------------------------------------------------- */

/*
 * Ordinary anonymous memory, 2 MiB aligned so it splits into map units like
 * hugepages do. vfio pins every page at map time, so they never move while
 * the device may DMA to them.
 */
static int libc_alloc(size_t len, int numa_node, void **va)
{
	size_t head, map_len;
	uint8_t *p, *aligned;
	int ret;

	if (!len)
		return nvp_set_error(-EINVAL, "DMA memory of 0 bytes requested");
	len = round_len(len);
	map_len = len + NVP_DMA_UNIT_SIZE;
	p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return nvp_set_error(-errno, "mmap of %zu MiB for DMA memory: %s", len / MIB, strerror(errno));
	aligned = (uint8_t *)NVP_ALIGN_UP((uintptr_t)p, NVP_DMA_UNIT_SIZE);
	head = (size_t)(aligned - p);
	if (head)
		munmap(p, head);
	if (map_len - head - len)
		munmap(aligned + len, map_len - head - len);

	if (numa_usable(numa_node))
		numa_prefer(aligned, len, numa_node);
	ret = populate(aligned, len);
	if (ret < 0) {
		munmap(aligned, len);
		return nvp_set_error(ret, "faulting in %zu MiB of DMA memory: %s", len / MIB, strerror(-ret));
	}
	if (numa_usable(numa_node))
		numa_check(aligned, len, numa_node, "memory");
	*va = aligned;
	return 0;
}

const struct nvp_mem_ops nvp_mem_libc = {
	.name = "libc",
	.alloc = libc_alloc,
	.free = mem_unmap,
};

const struct nvp_mem_ops *nvp_mem_find(const char *name)
{
	if (!name)
		return NULL;
	if (!strcmp(name, nvp_mem_hugepages.name))
		return &nvp_mem_hugepages;
	if (!strcmp(name, nvp_mem_libc.name))
		return &nvp_mem_libc;
	return NULL;
}

/* ---- physical addresses (uio) ------------------------------------------------------ */

#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_PFN_MASK ((1ull << 55) - 1)

int nvp_hugemem_phys(const void *va, uint64_t *pa)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), v = (uintptr_t)va, entry, pfn;
	ssize_t n;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return nvp_set_error(-errno, "cannot open /proc/self/pagemap: %s", strerror(errno));
	n = pread(fd, &entry, sizeof(entry), (off_t)(v / page * sizeof(entry)));
	close(fd);
	if (n != sizeof(entry))
		return nvp_set_error(-EIO, "reading /proc/self/pagemap at %p failed", va);
	if (!(entry & PAGEMAP_PRESENT))
		return nvp_set_error(-EFAULT, "the page at %p is not resident: DMA memory must be faulted in "
				     "before its physical address is taken", va);
	pfn = entry & PAGEMAP_PFN_MASK;
	/* Since Linux 4.2 the kernel reports PFN 0 to readers without CAP_SYS_ADMIN. */
	if (!pfn)
		return nvp_set_error(-EPERM, "reading physical addresses needs root (CAP_SYS_ADMIN): run as "
				     "root, or use vfio-pci, which needs none");
	*pa = pfn * page + v % page;
	return 0;
}

int nvp_hugemem_phys_contig(const void *va, size_t len, uint64_t *pa)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), v = (uintptr_t)va, *entries, first;
	size_t n = len / page, i;
	ssize_t got;
	int fd, ret = 0;

	if (!len || len % page || v % page)
		return nvp_set_error(-EINVAL, "physical address of %p + %zu: not whole pages", va, len);
	entries = malloc(n * sizeof(*entries));
	if (!entries)
		return nvp_set_error(-ENOMEM, "out of memory reading /proc/self/pagemap");
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = nvp_set_error(-errno, "cannot open /proc/self/pagemap: %s", strerror(errno));
		goto out_free;
	}
	got = pread(fd, entries, n * sizeof(*entries), (off_t)(v / page * sizeof(*entries)));
	close(fd);
	if (got != (ssize_t)(n * sizeof(*entries))) {
		ret = nvp_set_error(-EIO, "reading /proc/self/pagemap at %p failed", va);
		goto out_free;
	}
	for (i = 0; i < n; i++) {
		if (!(entries[i] & PAGEMAP_PRESENT)) {
			ret = nvp_set_error(-EFAULT, "the page at %p is not resident: DMA memory must be faulted "
					    "in before its physical address is taken", (const uint8_t *)va + i * page);
			goto out_free;
		}
		if (!(entries[i] & PAGEMAP_PFN_MASK)) {
			ret = nvp_set_error(-EPERM, "reading physical addresses needs root (CAP_SYS_ADMIN): run as "
					    "root, or use vfio-pci, which needs none");
			goto out_free;
		}
	}
	first = entries[0] & PAGEMAP_PFN_MASK;
	for (i = 1; i < n; i++) {
		if ((entries[i] & PAGEMAP_PFN_MASK) != first + i) {
			ret = nvp_set_error(-EINVAL, "the %zu KiB at %p are not physically contiguous (page %zu "
					    "breaks the run): not one hugepage", len / 1024, va, i);
			goto out_free;
		}
	}
	*pa = first * page;
out_free:
	free(entries);
	return ret;
}
