/* SPDX-License-Identifier: MIT */
/*
 * Every memory barrier nvpoll uses, in one place.
 *
 * The driver shares two kinds of memory with the controller: queue memory
 * (ordinary cacheable RAM the controller reads and writes by DMA) and the
 * doorbell registers (uncached MMIO in BAR0). Two orderings matter:
 *
 *  - Submission: the SQ entry must be globally visible before the doorbell
 *    store that tells the controller to fetch it (nvp_wmb before the store).
 *  - Completion: the CQE's phase bit is read first to learn the entry is
 *    new; the rest of the entry must not be read before that load
 *    (nvp_rmb after it), or we could act on a stale cid.
 *  - Shadow doorbells: the new value is stored to memory, then the
 *    controller's EventIdx is loaded to decide whether the register write
 *    is needed. A store followed by a load is the one reordering TSO
 *    allows, so this needs a full fence (nvp_mb) even on x86.
 *
 * On x86-64 (TSO) stores are not reordered with older stores and loads not
 * with older loads, and a store to UC memory is not reordered with older
 * WB stores, so both are compiler barriers only -- which is what Linux's
 * writel()/dma_rmb() reduce to there too. On arm64 they need the
 * outer-shareable dmb forms. Anything else gets a full fence: correct,
 * slower.
 */
#ifndef NVPOLL_BARRIER_H
#define NVPOLL_BARRIER_H

#if defined(__x86_64__) || defined(__i386__)
#define nvp_wmb() __asm__ __volatile__("" ::: "memory")
#define nvp_rmb() __asm__ __volatile__("" ::: "memory")
/* A locked no-op orders like mfence for ordinary memory, and costs less. */
#define nvp_mb() __asm__ __volatile__("lock; orl $0, (%%rsp)" ::: "memory", "cc")
#elif defined(__aarch64__)
#define nvp_wmb() __asm__ __volatile__("dmb oshst" ::: "memory")
#define nvp_rmb() __asm__ __volatile__("dmb oshld" ::: "memory")
#define nvp_mb() __asm__ __volatile__("dmb osh" ::: "memory")
#else
#define nvp_wmb() __sync_synchronize()
#define nvp_rmb() __sync_synchronize()
#define nvp_mb() __sync_synchronize()
#endif

/* Keep the compiler from caching or reordering around a point; no CPU fence. */
#define nvp_compiler_barrier() __asm__ __volatile__("" ::: "memory")

#endif /* NVPOLL_BARRIER_H */
