/* SPDX-License-Identifier: MIT */
/*
 * Vectored data pointers: a list of (buffer, length) segments described
 * as PRPs when their boundaries fall on controller pages, else as an SGL
 * (spec 4.3). Arithmetic only, no device: the callers (vec.c) find each
 * segment's DMA region and say where the list memory is.
 */
#ifndef NVP_NVME_SGL_H
#define NVP_NVME_SGL_H

#include <stddef.h>
#include <stdint.h>

#include "nvpoll.h"

struct nvp_dma_region;

/* Why a segment list is not PRP-compatible (nvp_iov_prp_check()). */
enum nvp_iov_misfit {
	NVP_IOV_FIT = 0,
	NVP_IOV_START_DWORD,	/* the first segment does not start dword aligned */
	NVP_IOV_START_PAGE,	/* a segment after the first does not start on a page */
	NVP_IOV_END_PAGE,	/* a segment before the last does not end on a page */
};

/*
 * Whether @n segments can be PRPs for pages of 1 << @page_shift bytes:
 * NVP_IOV_FIT, or the first misfit with the segment's index in *@bad.
 */
enum nvp_iov_misfit nvp_iov_prp_check(const struct nvp_iov *iov, unsigned n, unsigned page_shift, unsigned *bad);

/*
 * PRP1/PRP2 (and a PRP list in @list, @list_cap entries, chained at list
 * memory page ends as nvp_prp_build() does) for segments that passed
 * nvp_iov_prp_check(); @regions[i] holds segment i. 0, or -E2BIG when
 * the list would not fit, -EINVAL for segments that do not fit PRPs.
 */
int nvp_iov_prp_build(const struct nvp_iov *iov, const struct nvp_dma_region *const *regions, unsigned n,
		      unsigned page_shift, const struct nvp_dma_region *list_region, uint64_t *list,
		      size_t list_cap, uint64_t *prp1, uint64_t *prp2);

/*
 * The Data Block descriptors @n segments need: one each, more where a
 * segment crosses a DMA unit whose bus address does not follow on.
 */
size_t nvp_sgl_data_descs(const struct nvp_iov *iov, const struct nvp_dma_region *const *regions, unsigned n);

/*
 * An SGL for the segments into *@sgl1 (the SQE's DPTR): a single Data
 * Block there when one descriptor does, else a Last Segment (or Segment)
 * descriptor pointing at @list (bus addresses through @list_region), which
 * holds the Data Blocks; a list that would cross a page of 1 << @page_shift
 * bytes of list memory ends that page with a Segment descriptor to the
 * next. @list_cap is in descriptors. 0, or -E2BIG when the list would not
 * fit, -EINVAL for a segment of length 0 or above 4 GiB - 1.
 */
int nvp_sgl_build(const struct nvp_iov *iov, const struct nvp_dma_region *const *regions, unsigned n,
		  unsigned page_shift, const struct nvp_dma_region *list_region, struct nvme_sgl_desc *list,
		  size_t list_cap, struct nvme_sgl_desc *sgl1);

#endif /* NVP_NVME_SGL_H */
