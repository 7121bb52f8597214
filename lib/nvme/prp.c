/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "hugemem/dma.h"
#include "nvme/prp.h"

int nvp_prp_build(const struct nvp_dma_region *data, const void *buf, size_t len,
		  unsigned page_shift, const struct nvp_dma_region *list_region, uint64_t *list,
		  size_t list_cap, uint64_t *prp1, uint64_t *prp2)
{
	const size_t page = (size_t)1 << page_shift;
	uintptr_t va = (uintptr_t)buf;
	size_t first, pages, avail;
	uint64_t *entry = list;

	if (va & 3)
		return -EINVAL;
	*prp1 = len ? nvp_dma_region_iova(data, buf) : 0;
	*prp2 = 0;
	first = page - (va & (page - 1));
	if (len <= first)
		return 0;
	va += first;
	pages = (len - first + page - 1) >> page_shift;
	if (pages == 1) {
		*prp2 = nvp_dma_region_iova(data, (const void *)va);
		return 0;
	}

	*prp2 = nvp_dma_region_iova(list_region, list);
	/* Entries left in the list page @entry is on. */
	avail = (page - ((uintptr_t)entry & (page - 1))) / sizeof(*entry);
	while (pages) {
		if (avail == 1 && pages > 1) {
			/* Chain: the page's last entry points at the next list page. */
			if (list_cap == 0)
				return -E2BIG;
			*entry = nvp_dma_region_iova(list_region, entry + 1);
			entry++;
			list_cap--;
			avail = page / sizeof(*entry);
			continue;
		}
		if (list_cap == 0)
			return -E2BIG;
		*entry++ = nvp_dma_region_iova(data, (const void *)va);
		va += page;
		pages--;
		list_cap--;
		avail--;
	}
	return 0;
}

size_t nvp_prp_list_entries(size_t max_xfer, unsigned page_shift)
{
	const size_t per_page = ((size_t)1 << page_shift) / sizeof(uint64_t);
	/* Whole pages, and an unaligned buffer touches one page more. */
	size_t pages = ((max_xfer + ((size_t)1 << page_shift) - 1) >> page_shift) + 1;
	size_t entries = pages - 1; /* PRP1 covers the first page */

	if (entries <= per_page)
		return entries;
	/* Every full list page but the last gives its last entry to the chain. */
	return entries + (entries - 2) / (per_page - 1);
}
