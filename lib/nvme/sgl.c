/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "hugemem/dma.h"
#include "nvme/sgl.h"

enum nvp_iov_misfit nvp_iov_prp_check(const struct nvp_iov *iov, unsigned n, unsigned page_shift, unsigned *bad)
{
	const uintptr_t mask = ((uintptr_t)1 << page_shift) - 1;

	for (unsigned i = 0; i < n; i++) {
		uintptr_t va = (uintptr_t)iov[i].buf;

		*bad = i;
		if (i == 0 && (va & 3))
			return NVP_IOV_START_DWORD;
		if (i > 0 && (va & mask))
			return NVP_IOV_START_PAGE;
		if (i + 1 < n && ((va + iov[i].len) & mask))
			return NVP_IOV_END_PAGE;
	}
	return NVP_IOV_FIT;
}

/* The pages after PRP1's, one by one, across the segments. */
struct page_walk {
	const struct nvp_iov *iov;
	const struct nvp_dma_region *const *regions;
	unsigned n, i;
	uintptr_t va; /* the next page of segment i */
	size_t page;
};

static void walk_start(struct page_walk *w, const struct nvp_iov *iov, const struct nvp_dma_region *const *regions,
		       unsigned n, size_t page)
{
	*w = (struct page_walk){ .iov = iov, .regions = regions, .n = n, .page = page };
	w->va = ((uintptr_t)iov[0].buf & ~(page - 1)) + page; /* PRP1 holds the first page */
}

/* The next page's bus address into *@iova; 0 when there is none. */
static int walk_next(struct page_walk *w, uint64_t *iova)
{
	while (w->i < w->n) {
		uintptr_t end = (uintptr_t)w->iov[w->i].buf + w->iov[w->i].len;

		if (w->va < end) {
			*iova = nvp_dma_region_iova(w->regions[w->i], (const void *)w->va);
			w->va += w->page;
			return 1;
		}
		if (++w->i < w->n)
			w->va = (uintptr_t)w->iov[w->i].buf;
	}
	return 0;
}

int nvp_iov_prp_build(const struct nvp_iov *iov, const struct nvp_dma_region *const *regions, unsigned n,
		      unsigned page_shift, const struct nvp_dma_region *list_region, uint64_t *list,
		      size_t list_cap, uint64_t *prp1, uint64_t *prp2)
{
	const size_t page = (size_t)1 << page_shift;
	struct page_walk w;
	size_t pages = 0, avail;
	uint64_t addr, *entry = list;
	unsigned bad;

	if (!n || nvp_iov_prp_check(iov, n, page_shift, &bad) != NVP_IOV_FIT)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!iov[i].len)
			return -EINVAL;
	*prp1 = nvp_dma_region_iova(regions[0], iov[0].buf);
	*prp2 = 0;
	walk_start(&w, iov, regions, n, page);
	while (walk_next(&w, &addr))
		pages++;
	walk_start(&w, iov, regions, n, page);
	if (pages <= 1) {
		if (pages)
			walk_next(&w, prp2);
		return 0;
	}
	*prp2 = nvp_dma_region_iova(list_region, list);
	avail = (page - ((uintptr_t)entry & (page - 1))) / sizeof(*entry);
	while (pages) {
		if (list_cap == 0)
			return -E2BIG;
		if (avail == 1 && pages > 1) {
			/* Chain: the page's last entry points at the next list page. */
			*entry = nvp_dma_region_iova(list_region, entry + 1);
			entry++;
			list_cap--;
			avail = page / sizeof(*entry);
			continue;
		}
		walk_next(&w, entry++);
		pages--;
		list_cap--;
		avail--;
	}
	return 0;
}

/* The Data Block descriptors, one by one: a segment split where its bus addresses jump. */
struct data_walk {
	const struct nvp_iov *iov;
	const struct nvp_dma_region *const *regions;
	unsigned n, i;
	size_t done; /* bytes of segment i already described */
};

static int data_next(struct data_walk *w, struct nvme_sgl_desc *d)
{
	const struct nvp_dma_region *r;
	const uint8_t *p;
	size_t left, chunk;
	uint64_t iova;

	if (w->i >= w->n)
		return 0;
	r = w->regions[w->i];
	p = (const uint8_t *)w->iov[w->i].buf + w->done;
	left = w->iov[w->i].len - w->done;
	iova = nvp_dma_region_iova(r, p);
	/* To the end of p's unit, then on through units whose bus addresses follow. */
	chunk = NVP_DMA_UNIT_SIZE - ((size_t)(p - (const uint8_t *)r->va) & (NVP_DMA_UNIT_SIZE - 1));
	while (chunk < left && nvp_dma_region_iova(r, p + chunk) == iova + chunk)
		chunk += NVP_DMA_UNIT_SIZE;
	if (chunk > left)
		chunk = left;
	*d = (struct nvme_sgl_desc){ .addr = iova, .length = (uint32_t)chunk,
				     .type = NVME_SGL_DESC_TYPE(NVME_SGL_TYPE_DATA_BLOCK) };
	w->done += chunk;
	if (w->done == w->iov[w->i].len) {
		w->i++;
		w->done = 0;
	}
	return 1;
}

size_t nvp_sgl_data_descs(const struct nvp_iov *iov, const struct nvp_dma_region *const *regions, unsigned n)
{
	struct data_walk w = { .iov = iov, .regions = regions, .n = n };
	struct nvme_sgl_desc d;
	size_t count = 0;

	while (data_next(&w, &d))
		count++;
	return count;
}

int nvp_sgl_build(const struct nvp_iov *iov, const struct nvp_dma_region *const *regions, unsigned n,
		  unsigned page_shift, const struct nvp_dma_region *list_region, struct nvme_sgl_desc *list,
		  size_t list_cap, struct nvme_sgl_desc *sgl1)
{
	const size_t page = (size_t)1 << page_shift;
	struct data_walk w = { .iov = iov, .regions = regions, .n = n };
	struct nvme_sgl_desc *ptr = sgl1, *entry = list;
	size_t left, avail, seg;

	if (!n)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!iov[i].len || iov[i].len > UINT32_MAX)
			return -EINVAL;
	left = nvp_sgl_data_descs(iov, regions, n);
	if (left == 1) {
		data_next(&w, sgl1);
		return 0;
	}
	while (left) {
		/* One segment from @entry: to the end of its list page, the last slot chaining on if more remain. */
		avail = (page - ((uintptr_t)entry & (page - 1))) / sizeof(*entry);
		seg = left <= avail ? left : avail - 1;
		if (seg + (left > seg) > list_cap)
			return -E2BIG;
		*ptr = (struct nvme_sgl_desc){
			.addr = nvp_dma_region_iova(list_region, entry),
			.length = (uint32_t)((seg + (left > seg)) * sizeof(*entry)),
			.type = NVME_SGL_DESC_TYPE(left > seg ? NVME_SGL_TYPE_SEGMENT : NVME_SGL_TYPE_LAST_SEGMENT),
		};
		list_cap -= seg + (left > seg);
		left -= seg;
		while (seg--)
			data_next(&w, entry++);
		ptr = entry++; /* the next pointer (when left > 0), at the segment's end */
	}
	return 0;
}
