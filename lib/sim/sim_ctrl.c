/* SPDX-License-Identifier: MIT */
/*
 * The controller: the model thread and the registers it watches (CC) and
 * answers (CSTS): enable with its checks, reset, shutdown, fatal status,
 * surprise removal. Queues and commands are in sim_queue.c.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "internal.h"
#include "sim/sim_model.h"

/*
 * Idle policy: spin while work is recent (latency), then yield, then sleep
 * short, then long. Sleeping bounds the latency of the first command after
 * a pause; the long sleep keeps an idle sim near 1% of a CPU.
 */
#define SIM_SPIN_NS 50000ull		/* idle this long: stop spinning and yield */
#define SIM_YIELD_NS 1000000ull		/* idle this long: sleep SIM_NAP_NS between passes */
#define SIM_DOZE_NS 100000000ull	/* idle this long: sleep SIM_SLEEP_NS */
#define SIM_NAP_NS 100000l
#define SIM_SLEEP_NS 1000000l

#define SIM_CSTS_RDY NVME_SET(1, CSTS_RDY)
#define SIM_CSTS_CFS NVME_SET(1, CSTS_CFS)
#define SIM_CSTS_SHST NVME_SET(NVME_CSTS_SHST_MASK, CSTS_SHST)

static inline void sim_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static void sim_csts_set(struct nvp_sim *sim, uint32_t csts)
{
	sim->csts = csts;
	/* Release: a host that sees RDY sees every queue state set before it. */
	nvp_store_release(sim_reg(sim, NVME_REG_CSTS), csts);
}

/* ---- controller state: CC -> CSTS ------------------------------------ */

/* Until Set Features says otherwise, every queue the controller has is granted. */
void sim_feat_defaults(const struct nvp_sim *sim, struct sim_feat *f)
{
	*f = (struct sim_feat){
		.vwce = sim->cfg.vwc,
		.nq = (sim->cfg.nqueues - 1) << 16 | (sim->cfg.nqueues - 1),
	};
}

/* CSTS.CFS: the controller stops until the host resets it. */
void sim_halt(struct nvp_sim *sim, const char *why)
{
	if (sim->halted)
		return;
	nvp_log(NVP_LOG_INFO, "sim: controller fatal status (CSTS.CFS): %s", why);
	sim->halted = true;
	sim_queues_drop(sim);
	sim_csts_set(sim, sim->csts | SIM_CSTS_CFS);
}

static const char *sim_enable_check(uint32_t cc, uint32_t aqa, uint64_t asq, uint64_t acq)
{
	unsigned iosqes = NVME_GET(cc, CC_IOSQES), iocqes = NVME_GET(cc, CC_IOCQES);

	if (NVME_GET(cc, CC_CSS) != NVME_CC_CSS_NVM && NVME_GET(cc, CC_CSS) != NVME_CC_CSS_ALL)
		return "CC.CSS selects neither the NVM command set nor all of them";
	if (NVME_GET(cc, CC_MPS) > SIM_MPSMAX)
		return "CC.MPS is above CAP.MPSMAX";
	if (NVME_GET(cc, CC_AMS) != 0)
		return "CC.AMS selects an arbitration mechanism CAP.AMS does not offer";
	if ((iosqes && iosqes != NVME_SQES_LOG2) || (iocqes && iocqes != NVME_CQES_LOG2))
		return "CC.IOSQES/IOCQES are not 6/4 (64- and 16-byte entries)";
	if (!NVME_GET(aqa, AQA_ASQS) || !NVME_GET(aqa, AQA_ACQS))
		return "AQA gives an admin queue of 1 entry (its sizes are zero-based)";
	if ((asq | acq) & ((4096ull << NVME_GET(cc, CC_MPS)) - 1))
		return "ASQ or ACQ is not aligned to the memory page size (CC.MPS)";
	return NULL;
}

static const char *sim_admin_queues(struct nvp_sim *sim, uint32_t aqa, uint64_t asq, uint64_t acq)
{
	uint32_t sqs = NVME_GET(aqa, AQA_ASQS) + 1, cqs = NVME_GET(aqa, AQA_ACQS) + 1;
	void *sq = sim_dma_ptr(sim, asq, sqs * sizeof(struct nvme_sqe));
	void *cq = sim_dma_ptr(sim, acq, cqs * sizeof(struct nvme_cqe));

	if (!sq || !cq)
		return "ASQ or ACQ is not in memory mapped with dma_map (DMA fault)";
	sim_cq_init(sim, 0, cq, cqs);
	sim_sq_init(sim, 0, sq, sqs, 0);
	return NULL;
}

static void sim_enable(struct nvp_sim *sim, uint32_t cc)
{
	uint32_t aqa = sim_load32(sim_reg(sim, NVME_REG_AQA));
	uint64_t asq = sim_load32(sim_reg(sim, NVME_REG_ASQ)) |
		       (uint64_t)sim_load32(sim_reg(sim, NVME_REG_ASQ + 4)) << 32;
	uint64_t acq = sim_load32(sim_reg(sim, NVME_REG_ACQ)) |
		       (uint64_t)sim_load32(sim_reg(sim, NVME_REG_ACQ + 4)) << 32;
	const char *why = sim_enable_check(cc, aqa, asq, acq);

	sim->enabled = true;
	sim->shut = false;
	if (!why) {
		sim->page_shift = 12 + NVME_GET(cc, CC_MPS);
		why = sim_admin_queues(sim, aqa, asq, acq);
	}
	if (why) {
		nvp_log(NVP_LOG_WARN, "sim: CC.EN = 1 refused, CSTS.CFS set: %s", why);
		sim_halt(sim, why);
		return;
	}
	sim_feat_defaults(sim, &sim->feat);
	sim->max_xfer = sim->cfg.mdts ? 4096ull << sim->cfg.mdts : 0;
	sim->ready_at = nvp_now_ns() + sim->cfg.ready_ms * 1000000ull;
}

/* CC.EN 1 -> 0: a controller reset. Queues, held commands and CFS go. */
static void sim_disable(struct nvp_sim *sim)
{
	unsigned q;

	sim_queues_drop(sim);
	for (q = 0; q <= sim->cfg.nqueues; q++) {
		sim_doorbell_zero(sim, (uint16_t)q, 0);
		sim_doorbell_zero(sim, (uint16_t)q, 1);
	}
	sim->enabled = sim->ready = sim->halted = false;
	sim_csts_set(sim, sim->csts & ~(SIM_CSTS_RDY | SIM_CSTS_CFS));
	SIM_STAT_ADD(sim, resets, 1);
}

/* RAM keeps nothing to flush: shutdown completes at once; commands stop until a reset. */
static void sim_shutdown(struct nvp_sim *sim, unsigned shn)
{
	uint32_t csts = sim->csts & ~SIM_CSTS_SHST;

	if (shn) {
		sim->shut = true;
		csts |= NVME_SET(NVME_CSTS_SHST_COMPLETE, CSTS_SHST);
	}
	sim_csts_set(sim, csts);
}

static bool sim_poll_cc(struct nvp_sim *sim)
{
	uint32_t cc = sim_cc(sim), old = sim->cc;

	if (cc == old)
		return false;
	sim->cc = cc;
	if (NVME_GET(old, CC_EN) && !NVME_GET(cc, CC_EN))
		sim_disable(sim);
	if (!NVME_GET(old, CC_EN) && NVME_GET(cc, CC_EN))
		sim_enable(sim, cc);
	if (NVME_GET(cc, CC_SHN) != NVME_GET(old, CC_SHN))
		sim_shutdown(sim, NVME_GET(cc, CC_SHN));
	return true;
}

/*
 * Act now on CC writes the host made before calling into the sim from its
 * own thread (dma_unmap): a disable it wrote just before unmapping the
 * admin queue has happened, as it would have on a real controller by then.
 * Under map_lock, which every change of model state holds. Not after
 * removal: the registers read all ones.
 */
void sim_ctrl_catch_up(struct nvp_sim *sim)
{
	if (!nvp_load_acquire(&sim->remove_req)) /* pairs with sim_request_removal() */
		sim_poll_cc(sim);
}

static bool sim_poll_ready(struct nvp_sim *sim)
{
	if (sim->halted || nvp_load_relaxed(&sim->never_ready) || /* a flag alone */
	    nvp_now_ns() < sim->ready_at)
		return false;
	sim->ready = true;
	sim_csts_set(sim, sim->csts | SIM_CSTS_RDY);
	return true;
}

/* ---- surprise removal ------------------------------------------------ */

/*
 * Swap BAR0's pages for pages of 0xff in one mremap(): the host never sees
 * a half-filled register, and its pointer to BAR0 stays valid.
 */
static void sim_remove(struct nvp_sim *sim)
{
	void *ones = mmap(NULL, sim->bar_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (ones != MAP_FAILED) {
		memset(ones, 0xff, sim->bar_len);
		if (mremap(ones, sim->bar_len, sim->bar_len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   sim->bar) == MAP_FAILED) {
			munmap(ones, sim->bar_len);
			ones = MAP_FAILED;
		}
	}
	if (ones == MAP_FAILED)
		nvp_log(NVP_LOG_WARN, "sim: removal: mremap failed (%s), filling BAR0 in place",
			strerror(errno));
	sim_map_lock(sim);
	sim_queues_drop(sim);
	sim->halted = true;
	sim_map_unlock(sim);
	nvp_store_release(&sim->removed, 1); /* the waiter sees the queues dropped and the BAR all ones */
}

/* The host's own stores land in the all-ones pages: undo them. */
static bool sim_removed_pass(struct nvp_sim *sim)
{
	uint32_t *w = (uint32_t *)sim->bar;
	size_t i;

	for (i = 0; i < sim->bar_len / 4; i++)
		if (nvp_load_relaxed(&w[i]) != ~0u) /* the host stores to these words too: untorn, unordered */
			nvp_store_relaxed(&w[i], ~0u);
	return false;
}

/* ---- the model thread -------------------------------------------------- */

static bool sim_pass(struct nvp_sim *sim)
{
	bool busy;

	sim_map_lock(sim);
	busy = sim_poll_cc(sim);
	if (sim->enabled && !sim->ready)
		busy |= sim_poll_ready(sim);
	if (sim->ready && !sim->halted && !sim->shut)
		busy |= sim_poll_queues(sim);
	sim_map_unlock(sim);
	return busy;
}

/* An idle sim must not eat a CPU of a 2-core CI machine running other tests. */
static void sim_idle(struct nvp_sim *sim, bool busy)
{
	struct timespec ts = { 0, SIM_NAP_NS };
	uint64_t now, idle;

	if (busy) {
		sim->idle_since = 0;
		return;
	}
	if (sim->cfg.yield) { /* neither spin nor sleep: hand the CPU to whoever waits */
		sched_yield();
		return;
	}
	now = nvp_now_ns();
	if (!sim->idle_since)
		sim->idle_since = now;
	idle = now - sim->idle_since;
	if (idle < SIM_SPIN_NS) {
		sim_cpu_relax();
		return;
	}
	if (idle < SIM_YIELD_NS) {
		sched_yield();
		return;
	}
	if (idle >= SIM_DOZE_NS)
		ts.tv_nsec = SIM_SLEEP_NS;
	nanosleep(&ts, NULL);
}

static void *sim_thread(void *arg)
{
	struct nvp_sim *sim = arg;
	bool busy;

	while (!nvp_load_acquire(&sim->stop)) { /* pairs with sim_ctrl_stop() */
		if (nvp_load_acquire(&sim->remove_req) && /* pairs with sim_request_removal() */
		    !nvp_load_relaxed(&sim->removed)) /* only this thread stores it */
			sim_remove(sim);
		if (nvp_load_relaxed(&sim->removed))
			busy = sim_removed_pass(sim);
		else
			busy = sim_pass(sim);
		sim_idle(sim, busy);
	}
	return NULL;
}

int sim_ctrl_start(struct nvp_sim *sim)
{
	unsigned q;
	int err;

	sim->sqs = calloc(sim->cfg.nqueues + 1, sizeof(*sim->sqs));
	sim->cqs = calloc(sim->cfg.nqueues + 1, sizeof(*sim->cqs));
	if (!sim->sqs || !sim->cqs)
		return nvp_set_error(-ENOMEM, "sim: out of memory for %u queues", sim->cfg.nqueues);
	for (q = 0; q <= sim->cfg.nqueues; q++)
		sim->cqs[q].wait_tail = &sim->cqs[q].wait;
	sim->page_shift = 12;
	sim_feat_defaults(sim, &sim->feat);
	err = pthread_create(&sim->thread, NULL, sim_thread, sim);
	if (err)
		return nvp_set_error(-err, "sim: cannot start the controller thread: %s", strerror(err));
	sim->thread_started = true;
	pthread_setname_np(sim->thread, "nvp-sim");
	return 0;
}

/* Join the thread and free what it owned. Safe after a failed start. */
void sim_ctrl_stop(struct nvp_sim *sim)
{
	if (sim->thread_started) {
		nvp_store_release(&sim->stop, 1); /* the model thread stops after what we did before */
		pthread_join(sim->thread, NULL);
		sim->thread_started = false;
	}
	if (sim->sqs && sim->cqs)
		sim_queues_drop(sim);
	sim_cpl_free_list(sim->free_cpl);
	sim->free_cpl = NULL;
	free(sim->sqs);
	free(sim->cqs);
	free(sim->iov);
}
