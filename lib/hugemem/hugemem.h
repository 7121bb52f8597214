/* SPDX-License-Identifier: MIT */
/*
 * Hugepage helpers beyond the nvp_mem_ops tables of dma.h: what the uio
 * backend needs to hand the device physical addresses.
 */
#ifndef NVP_HUGEMEM_HUGEMEM_H
#define NVP_HUGEMEM_HUGEMEM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Physical address of @va (which must be resident: DMA memory from
 * nvp_mem_ops is) through /proc/self/pagemap. Returns 0, -EPERM when the
 * kernel hides page frame numbers (needs CAP_SYS_ADMIN), -EFAULT when the
 * page is not present; each with nvp_set_error().
 */
int nvp_hugemem_phys(const void *va, uint64_t *pa);

/*
 * Physical address of @va when all of [va, va + len) is resident and
 * physically contiguous (one hugepage is; libc pages hardly ever are), read
 * with one pagemap access. @va and @len are page multiples. Returns 0,
 * -EINVAL (not contiguous), or the errors of nvp_hugemem_phys(); each with
 * nvp_set_error().
 */
int nvp_hugemem_phys_contig(const void *va, size_t len, uint64_t *pa);

#endif /* NVP_HUGEMEM_HUGEMEM_H */
