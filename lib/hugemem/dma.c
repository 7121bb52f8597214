/* SPDX-License-Identifier: MIT */
/*
 * The DMA pool: regions of 2 MiB units taken from a memory source, each
 * mapped for the device once when it is created, carved into 4 KiB blocks.
 *
 * An allocation no larger than one unit never straddles a unit boundary, so
 * it is contiguous in bus address space even when units are not (uio's
 * physical addresses): queues and PRP lists rely on that.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <nvpoll/barrier.h>

#include "bus.h"
#include "hugemem/dma.h"
#include "internal.h"

#define REGION_MIN_SIZE (4 * NVP_DMA_UNIT_SIZE)
#define BLOCKS_PER_UNIT (NVP_DMA_UNIT_SIZE / NVP_DMA_BLOCK_SIZE)

int nvp_dma_pool_init(struct nvp_dma_pool *pool, struct nvp_bus *bus,
		      const struct nvp_mem_ops *mem, int numa_node)
{
	memset(pool, 0, sizeof(*pool));
	pool->bus = bus;
	pool->mem = mem;
	pool->numa_node = numa_node;
	return -pthread_mutex_init(&pool->lock, NULL);
}

static void region_destroy(struct nvp_dma_pool *pool, struct nvp_dma_region *r, int mapped)
{
	if (mapped)
		pool->bus->ops->dma_unmap(pool->bus, r->va, r->len, r->unit_iova);
	if (r->va)
		pool->mem->free(r->va, r->len);
	free(r->unit_iova);
	free(r->used);
	free(r->alloc_len);
	free(r);
}

void nvp_dma_pool_fini(struct nvp_dma_pool *pool)
{
	for (unsigned i = 0; i < pool->nr_regions; i++)
		region_destroy(pool, pool->regions[i], 1);
	pool->nr_regions = 0;
	pthread_mutex_destroy(&pool->lock);
}

/* NULL with nvp_set_error() and *errp set (-ENOMEM, or the memory's or bus's own error). */
static struct nvp_dma_region *region_create(struct nvp_dma_pool *pool, size_t min_len, int *errp)
{
	size_t len = NVP_ALIGN_UP(min_len, NVP_DMA_UNIT_SIZE);
	struct nvp_dma_region *r;
	void *va;
	int err;

	if (len < REGION_MIN_SIZE)
		len = REGION_MIN_SIZE;
	r = calloc(1, sizeof(*r));
	if (!r)
		goto out_nomem;
	r->len = len;
	r->nblocks = len / NVP_DMA_BLOCK_SIZE;
	r->unit_iova = calloc(len / NVP_DMA_UNIT_SIZE, sizeof(*r->unit_iova));
	r->used = calloc((r->nblocks + 63) / 64, sizeof(*r->used));
	r->alloc_len = calloc(r->nblocks, sizeof(*r->alloc_len));
	if (!r->unit_iova || !r->used || !r->alloc_len)
		goto out_free_region;

	err = pool->mem->alloc(len, pool->numa_node, &va);
	if (err)
		goto out_free_region_keep_error;
	r->va = va;
	err = pool->bus->ops->dma_map(pool->bus, va, len, r->unit_iova);
	if (err)
		goto out_free_region_keep_error;
	return r;

out_free_region:
	region_destroy(pool, r, 0);
out_nomem:
	*errp = nvp_set_error(-ENOMEM, "out of memory for DMA region bookkeeping");
	return NULL;
out_free_region_keep_error:
	region_destroy(pool, r, 0);
	*errp = err;
	return NULL;
}

static int block_used(const struct nvp_dma_region *r, size_t b)
{
	return (r->used[b / 64] >> (b % 64)) & 1;
}

static void blocks_mark(struct nvp_dma_region *r, size_t first, size_t n, int used)
{
	for (size_t b = first; b < first + n; b++) {
		if (used)
			r->used[b / 64] |= 1ull << (b % 64);
		else
			r->used[b / 64] &= ~(1ull << (b % 64));
	}
}

/* First fit; a run of at most one unit must stay inside one unit. */
static long region_find_run(const struct nvp_dma_region *r, size_t n)
{
	size_t b = 0;

	while (b + n <= r->nblocks) {
		size_t unit_end = (b / BLOCKS_PER_UNIT + 1) * BLOCKS_PER_UNIT;
		size_t i;

		if (n > BLOCKS_PER_UNIT && b % BLOCKS_PER_UNIT) {
			b = unit_end; /* large runs start on a unit */
			continue;
		}
		if (n <= BLOCKS_PER_UNIT && b + n > unit_end) {
			b = unit_end;
			continue;
		}
		for (i = 0; i < n && !block_used(r, b + i); i++)
			;
		if (i == n)
			return (long)b;
		b += i + 1;
	}
	return -1;
}

static void *region_alloc(struct nvp_dma_region *r, size_t n)
{
	long b = region_find_run(r, n);
	void *p;

	if (b < 0)
		return NULL;
	blocks_mark(r, (size_t)b, n, 1);
	r->alloc_len[b] = (uint32_t)n;
	p = r->va + (size_t)b * NVP_DMA_BLOCK_SIZE;
	memset(p, 0, n * NVP_DMA_BLOCK_SIZE);
	return p;
}

void *nvp_dma_pool_alloc(struct nvp_dma_pool *pool, size_t size)
{
	size_t n = (NVP_ALIGN_UP(size, NVP_DMA_BLOCK_SIZE)) / NVP_DMA_BLOCK_SIZE;
	struct nvp_dma_region *r;
	void *p = NULL;
	int err = -ENOMEM;

	if (size == 0) {
		nvp_set_error(-EINVAL, "DMA allocation of 0 bytes");
		errno = EINVAL;
		return NULL;
	}
	pthread_mutex_lock(&pool->lock);
	for (unsigned i = 0; i < pool->nr_regions && !p; i++)
		p = region_alloc(pool->regions[i], n);
	if (p)
		goto out_unlock;
	if (pool->nr_regions == NVP_DMA_MAX_REGIONS) {
		nvp_set_error(-ENOMEM, "DMA pool is full (%d regions): free buffers or allocate fewer, larger ones",
			      NVP_DMA_MAX_REGIONS);
		goto out_unlock;
	}
	r = region_create(pool, n * NVP_DMA_BLOCK_SIZE, &err);
	if (!r)
		goto out_unlock;
	p = region_alloc(r, n);
	pool->regions[pool->nr_regions] = r;
	/* Lock-free readers see the region pointer before the new count. */
	nvp_store_release(&pool->nr_regions, pool->nr_regions + 1);
out_unlock:
	pthread_mutex_unlock(&pool->lock);
	if (!p)
		errno = -err;
	return p;
}

int nvp_dma_pool_free(struct nvp_dma_pool *pool, void *p)
{
	int err = -EINVAL;

	pthread_mutex_lock(&pool->lock);
	for (unsigned i = 0; i < pool->nr_regions; i++) {
		struct nvp_dma_region *r = pool->regions[i];
		size_t off, b;

		if (!nvp_dma_region_contains(r, p, 1))
			continue;
		off = (size_t)((uint8_t *)p - r->va);
		b = off / NVP_DMA_BLOCK_SIZE;
		if (off % NVP_DMA_BLOCK_SIZE || r->alloc_len[b] == 0)
			break;
		blocks_mark(r, b, r->alloc_len[b], 0);
		r->alloc_len[b] = 0;
		err = 0;
		break;
	}
	pthread_mutex_unlock(&pool->lock);
	return err;
}

const struct nvp_dma_region *nvp_dma_pool_find(struct nvp_dma_pool *pool, const void *p, size_t len)
{
	unsigned n = nvp_load_acquire(&pool->nr_regions); /* pairs with the release in the allocator */

	for (unsigned i = 0; i < n; i++)
		if (nvp_dma_region_contains(pool->regions[i], p, len))
			return pool->regions[i];
	return NULL;
}

uint64_t nvp_dma_pool_iova(struct nvp_dma_pool *pool, const void *p)
{
	const struct nvp_dma_region *r = nvp_dma_pool_find(pool, p, 1);

	return r ? nvp_dma_region_iova(r, p) : 0;
}
