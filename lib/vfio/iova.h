/* SPDX-License-Identifier: MIT */
/*
 * IOVA space of one vfio container: which bus addresses we may hand the
 * device, which are in use. Pure bookkeeping (no ioctl), so it is unit
 * tested on its own.
 *
 * The IOMMU tells us its valid ranges (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE):
 * QEMU's intel-iommu, for one, only translates 39-bit addresses by default,
 * and x86 reserves the MSI window at 0xfee00000. Everything handed out lies
 * inside those ranges, is aligned to and a multiple of 2 MiB (one DMA map
 * unit), and is never 0, so a zero bus address always means "not mapped".
 */
#ifndef NVP_VFIO_IOVA_H
#define NVP_VFIO_IOVA_H

#include <stddef.h>
#include <stdint.h>

#define NVP_IOVA_SHIFT 21 /* == NVP_DMA_UNIT_SHIFT */
#define NVP_IOVA_ALIGN (1ull << NVP_IOVA_SHIFT)

/* A valid range as the kernel reports it: both ends inclusive. */
struct nvp_iova_range {
	uint64_t start;
	uint64_t last;
};

/* A free extent, in 2 MiB units: [start, end). */
struct nvp_iova_extent {
	uint64_t start;
	uint64_t end;
};

struct nvp_iova_space {
	struct nvp_iova_extent *free;	/* sorted by start, never adjacent */
	size_t nr_free;
	size_t cap;
	struct nvp_iova_extent *valid;	/* the usable ranges, to reject stray frees */
	size_t nr_valid;
};

/*
 * Take the @nr valid ranges (any order, may overlap). Parts not 2 MiB
 * aligned and the first 2 MiB are left out. Returns 0, -ENOSPC when no
 * usable 2 MiB is left, or -ENOMEM. No message: the caller knows the context.
 */
int nvp_iova_space_init(struct nvp_iova_space *sp, const struct nvp_iova_range *ranges, size_t nr);
void nvp_iova_space_fini(struct nvp_iova_space *sp);

/*
 * Reserve @len bytes (rounded up to 2 MiB), contiguous, lowest fit first.
 * Returns 0 with *@iova set, -EINVAL for len 0, -ENOSPC when no free
 * extent is large enough.
 */
int nvp_iova_space_alloc(struct nvp_iova_space *sp, size_t len, uint64_t *iova);

/*
 * Give back exactly what one alloc returned. Returns -EINVAL (and changes
 * nothing) for a misaligned @iova, a range that is already free, or one
 * outside the valid ranges; -ENOMEM if the free list cannot grow.
 */
int nvp_iova_space_free(struct nvp_iova_space *sp, uint64_t iova, size_t len);

/* Bytes still free; for tests and messages. */
uint64_t nvp_iova_space_avail(const struct nvp_iova_space *sp);

#endif /* NVP_VFIO_IOVA_H */
