/* SPDX-License-Identifier: MIT */
/*
 * Every memory barrier nvpoll uses, in one place.
 *
 * The driver shares two kinds of memory with the controller: queue memory
 * (ordinary cacheable RAM the controller reads and writes by DMA) and the
 * doorbell registers (uncached MMIO in BAR0). Three orderings matter:
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
 * WB stores, so nvp_wmb and nvp_rmb are compiler barriers only -- which is
 * what Linux's writel()/dma_rmb() reduce to there too. On arm64 they need
 * the outer-shareable dmb forms. Anything else gets a full fence: correct,
 * slower. The sim, playing the controller, needs nvp_mb for the mirror of
 * the shadow doorbell case: it stores EventIdx, then loads the shadow.
 *
 * Threads share ordinary memory with each other too: the controller's
 * reset generation and removal flag that every qpair reads, the DMA region
 * table, the BAR guard table a signal handler walks, the sim's thread and
 * the threads that drive it. Those go through the C11 atomics below, named
 * for their ordering, which cost no fence on x86-64:
 *
 *  - nvp_store_release() publishes: everything written before it is seen by
 *    a thread whose nvp_load_acquire() reads the value it stored.
 *  - nvp_load_relaxed() / nvp_store_relaxed() are single untorn accesses
 *    with no ordering: counters and flags whose readers need no data
 *    behind them, or that a later acquire or release already orders.
 *  - Read-modify-writes say their ordering in the name:
 *    nvp_fetch_add_relaxed(), nvp_fetch_sub_relaxed(),
 *    nvp_add_fetch_acq_rel(), nvp_xchg_acq_rel(), nvp_cmpxchg_release()
 *    and nvp_cmpxchg_relaxed() (strong; on failure *@expected gets the
 *    current value, with no ordering).
 *
 * Every call site says in a line why it needs what it uses.
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

/* Between threads: see above. @p points to an integer or pointer object. */
#define nvp_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define nvp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define nvp_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define nvp_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define nvp_fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define nvp_fetch_sub_relaxed(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_RELAXED)
#define nvp_add_fetch_acq_rel(p, v) __atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
#define nvp_xchg_acq_rel(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define nvp_cmpxchg_release(p, expected, v) \
	__atomic_compare_exchange_n((p), (expected), (v), 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)
#define nvp_cmpxchg_relaxed(p, expected, v) \
	__atomic_compare_exchange_n((p), (expected), (v), 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)

#endif /* NVPOLL_BARRIER_H */
