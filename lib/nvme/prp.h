/* SPDX-License-Identifier: MIT */
/* PRP (Physical Region Page) list building: arithmetic only, no device. */
#ifndef NVP_NVME_PRP_H
#define NVP_NVME_PRP_H

#include <stddef.h>
#include <stdint.h>

struct nvp_dma_region;

/*
 * Describe the data buffer [buf, buf + len) for a controller whose memory
 * page size is 1 << page_shift (spec 4.3):
 *  - PRP1 is the first byte's bus address (any dword-aligned offset);
 *  - the data fits the first page: PRP2 = 0;
 *  - it ends in the second page: PRP2 = that page's address;
 *  - otherwise PRP2 points at a PRP list in @list (bus addresses through
 *    @list_region), one page-aligned entry per further page; a list that
 *    reaches the end of a memory page continues in the next one, the last
 *    entry of the full page pointing there (chaining).
 * @list_cap is the number of entries @list can hold. Returns 0, -EINVAL
 * when buf is not dword aligned, -E2BIG when the list would not fit.
 */
int nvp_prp_build(const struct nvp_dma_region *data, const void *buf, size_t len,
		  unsigned page_shift, const struct nvp_dma_region *list_region, uint64_t *list,
		  size_t list_cap, uint64_t *prp1, uint64_t *prp2);

/*
 * List entries (chain pointers included) a command of up to @max_xfer bytes
 * needs at worst, for a list that starts on a page boundary.
 */
size_t nvp_prp_list_entries(size_t max_xfer, unsigned page_shift);

#endif /* NVP_NVME_PRP_H */
