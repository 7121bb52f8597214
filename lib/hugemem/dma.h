/* SPDX-License-Identifier: MIT */
/*
 * lib/hugemem holds every source of DMA memory (hugepages and libc pages:
 * hugemem.c) and the pool that hands it out (dma.c); the folder is named
 * after the first source.
 *
 * DMA memory: where it comes from (struct nvp_mem_ops: hugepages or libc
 * pages), how it is made reachable by the device (the bus's dma_map, once
 * per chunk), and how buffers are carved out of it and translated to bus
 * addresses (struct nvp_dma_pool).
 *
 * Translation works on 2 MiB map units: each unit of a region has its own
 * bus address, so memory that is contiguous only per hugepage (physical
 * addresses under uio) translates as correctly as one IOVA range (vfio).
 */
#ifndef NVP_HUGEMEM_DMA_H
#define NVP_HUGEMEM_DMA_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h" /* NVP_DMA_UNIT_*: the bus's map unit */

#define NVP_DMA_BLOCK_SHIFT 12 /* allocation granule and alignment: 4 KiB */
#define NVP_DMA_BLOCK_SIZE (1ul << NVP_DMA_BLOCK_SHIFT)
#define NVP_DMA_MAX_REGIONS 64

/* Where DMA memory comes from. Both return 2 MiB aligned, zeroed, populated memory. */
struct nvp_mem_ops {
	const char *name; /* "hugepages", "libc" */
	int (*alloc)(size_t len, int numa_node, void **va);
	void (*free)(void *va, size_t len);
};
extern const struct nvp_mem_ops nvp_mem_hugepages;
extern const struct nvp_mem_ops nvp_mem_libc;
const struct nvp_mem_ops *nvp_mem_find(const char *name);

/* One chunk of DMA memory, mapped for the device once, carved into buffers. */
struct nvp_dma_region {
	uint8_t *va;
	size_t len;		/* multiple of NVP_DMA_UNIT_SIZE */
	uint64_t *unit_iova;	/* bus address of each 2 MiB unit */
	size_t nblocks;		/* len / NVP_DMA_BLOCK_SIZE */
	uint64_t *used;		/* bitmap of allocated blocks */
	uint32_t *alloc_len;	/* per block: blocks allocated starting here (0: not a start) */
};

static inline int nvp_dma_region_contains(const struct nvp_dma_region *r, const void *p, size_t len)
{
	/* Below the region, the offset wraps to a huge value: one compare covers both ends. */
	size_t off = (uintptr_t)p - (uintptr_t)r->va;

	return off <= r->len && len <= r->len - off;
}

static inline uint64_t nvp_dma_region_iova(const struct nvp_dma_region *r, const void *p)
{
	size_t off = (size_t)((const uint8_t *)p - r->va);

	return r->unit_iova[off >> NVP_DMA_UNIT_SHIFT] + (off & (NVP_DMA_UNIT_SIZE - 1));
}

struct nvp_dma_pool {
	struct nvp_bus *bus;
	const struct nvp_mem_ops *mem;
	int numa_node;
	pthread_mutex_t lock;		/* allocation only; lookups are lock-free */
	struct nvp_dma_region *regions[NVP_DMA_MAX_REGIONS];
	unsigned nr_regions;		/* published with release, read with acquire */
};

int nvp_dma_pool_init(struct nvp_dma_pool *pool, struct nvp_bus *bus,
		      const struct nvp_mem_ops *mem, int numa_node);
void nvp_dma_pool_fini(struct nvp_dma_pool *pool);
/* Zeroed, 4 KiB aligned. NULL with nvp_set_error() on failure. */
void *nvp_dma_pool_alloc(struct nvp_dma_pool *pool, size_t size);
/* Returns -EINVAL if p is not the start of a live allocation. */
int nvp_dma_pool_free(struct nvp_dma_pool *pool, void *p);
/* The region holding all of [p, p + len), or NULL. Lock-free. */
const struct nvp_dma_region *nvp_dma_pool_find(struct nvp_dma_pool *pool, const void *p, size_t len);
/* Bus address of p, which must lie in pool memory; 0 when it does not. */
uint64_t nvp_dma_pool_iova(struct nvp_dma_pool *pool, const void *p);

#endif /* NVP_HUGEMEM_DMA_H */
