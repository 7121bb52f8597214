/* SPDX-License-Identifier: MIT */
/*
 * Fault injection and counters: the public face of the sim
 * (include/nvpoll/sim.h). Callers arm faults under fault_lock; the model
 * thread applies them as it fetches commands, and only looks when
 * nr_faults says any are armed, so an unfaulted sim pays one load.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "sim/sim_model.h"

#define SIM_REMOVE_WAIT_NS 5000000000ull
#define SIM_DELAY_MAX_MS 3600000u

/* Faults that pick commands with a match. */
static bool sim_fault_per_cmd(enum nvp_sim_fault_type t)
{
	return t == NVP_SIM_FAULT_FATAL || t == NVP_SIM_FAULT_DROP || t == NVP_SIM_FAULT_DELAY ||
	       t == NVP_SIM_FAULT_STATUS || t == NVP_SIM_FAULT_BAD_PHASE || t == NVP_SIM_FAULT_BAD_CID ||
	       t == NVP_SIM_FAULT_SHORT_XFER || t == NVP_SIM_FAULT_CORRUPT;
}

static bool sim_cmd_has_lba(const struct sim_cmd *cmd)
{
	switch (cmd->sqe.opc) {
	case NVME_CMD_READ:
	case NVME_CMD_WRITE:
	case NVME_CMD_COMPARE:
	case NVME_CMD_WRITE_ZEROES:
		return cmd->sqid != 0;
	default:
		return false;
	}
}

static bool sim_lba_match(const struct nvp_sim_match *m, const struct sim_cmd *cmd)
{
	uint64_t slba = cmd->sqe.cdw10 | (uint64_t)cmd->sqe.cdw11 << 32;
	uint64_t nlb = (cmd->sqe.cdw12 & 0xffff) + 1;

	if (!sim_cmd_has_lba(cmd) || cmd->sqe.nsid != m->nsid)
		return false;
	/* Overlap of [slba, slba + nlb) and [m->slba, m->slba + m->nlb), without overflow. */
	return slba <= m->slba ? m->slba - slba < nlb : slba - m->slba < m->nlb;
}

static bool sim_match(const struct nvp_sim_match *m, const struct sim_cmd *cmd)
{
	if ((m->filter & NVP_SIM_MATCH_ADMIN) && cmd->sqid)
		return false;
	if ((m->filter & NVP_SIM_MATCH_IO) && !cmd->sqid)
		return false;
	if ((m->filter & NVP_SIM_MATCH_OPC) && cmd->sqe.opc != m->opcode)
		return false;
	if ((m->filter & NVP_SIM_MATCH_QID) && cmd->sqid != m->qid)
		return false;
	if ((m->filter & NVP_SIM_MATCH_LBA) && !sim_lba_match(m, cmd))
		return false;
	return true;
}

static void sim_hit_apply(const struct nvp_sim_fault *f, struct sim_hit *hit)
{
	switch (f->type) {
	case NVP_SIM_FAULT_FATAL:
		hit->fatal = true;
		break;
	case NVP_SIM_FAULT_DROP:
		hit->drop = true;
		break;
	case NVP_SIM_FAULT_DELAY:
		hit->delay_ms = f->delay_ms;
		break;
	case NVP_SIM_FAULT_STATUS:
		hit->has_status = true;
		hit->status = f->status;
		break;
	case NVP_SIM_FAULT_SHORT_XFER:
		hit->short_xfer = true;
		hit->xfer_bytes = f->xfer_bytes;
		break;
	case NVP_SIM_FAULT_CORRUPT:
		hit->corrupt = true;
		break;
	case NVP_SIM_FAULT_BAD_PHASE:
		hit->bad_phase = true;
		break;
	case NVP_SIM_FAULT_BAD_CID:
		hit->bad_cid = true;
		break;
	default:
		break;
	}
}

static void sim_fault_remove(struct nvp_sim *sim, unsigned i)
{
	sim->faults[i] = sim->faults[sim->nr_faults - 1];
	nvp_store_relaxed(&sim->nr_faults, sim->nr_faults - 1); /* under fault_lock; read unlocked as a hint */
}

/* Model thread: which armed faults hit @cmd. Several may hit the same command. */
void sim_fault_match(struct nvp_sim *sim, const struct sim_cmd *cmd, struct sim_hit *hit)
{
	unsigned i = 0;

	pthread_mutex_lock(&sim->fault_lock);
	while (i < sim->nr_faults) {
		struct sim_fault *f = &sim->faults[i];

		if (!sim_match(&f->f.match, cmd)) {
			i++;
			continue;
		}
		if (f->skip) {
			f->skip--;
			i++;
			continue;
		}
		sim_hit_apply(&f->f, hit);
		SIM_STAT_ADD(sim, faults_hit, 1);
		if (f->left != NVP_SIM_ALWAYS && --f->left == 0)
			sim_fault_remove(sim, i);
		else
			i++;
	}
	pthread_mutex_unlock(&sim->fault_lock);
}

/* Model thread: raised events go to AERs (or wait for one). */
void sim_fault_take_events(struct nvp_sim *sim)
{
	uint32_t ev[SIM_MAX_EVENTS];
	unsigned n, i;

	pthread_mutex_lock(&sim->fault_lock);
	n = sim->nr_raised;
	memcpy(ev, sim->raised, n * sizeof(ev[0]));
	nvp_store_relaxed(&sim->nr_raised, 0); /* under fault_lock; read unlocked as a hint */
	pthread_mutex_unlock(&sim->fault_lock);
	for (i = 0; i < n; i++)
		sim_post_event(sim, ev[i]);
}

static int sim_fault_check(const struct nvp_sim_fault *f)
{
	const struct nvp_sim_match *m = &f->match;
	unsigned known = NVP_SIM_MATCH_ADMIN | NVP_SIM_MATCH_IO | NVP_SIM_MATCH_OPC |
			 NVP_SIM_MATCH_QID | NVP_SIM_MATCH_LBA;

	if (f->type < NVP_SIM_FAULT_FATAL || f->type > NVP_SIM_FAULT_CORRUPT)
		return nvp_set_error(-EINVAL, "sim fault: unknown type %d", (int)f->type);
	if (!sim_fault_per_cmd(f->type))
		return f->type == NVP_SIM_FAULT_AER && f->aer_type > 7 ?
			nvp_set_error(-EINVAL, "sim fault: aer_type %u is not 0..7", f->aer_type) : 0;
	if (m->filter & ~known)
		return nvp_set_error(-EINVAL, "sim fault: unknown match filter bits 0x%x", m->filter & ~known);
	if ((m->filter & NVP_SIM_MATCH_ADMIN) && (m->filter & (NVP_SIM_MATCH_IO | NVP_SIM_MATCH_LBA)))
		return nvp_set_error(-EINVAL, "sim fault: a match cannot ask for admin and I/O commands");
	if ((m->filter & NVP_SIM_MATCH_LBA) && (!m->nlb || !m->nsid))
		return nvp_set_error(-EINVAL, "sim fault: an LBA match needs nsid and nlb > 0");
	if (f->type == NVP_SIM_FAULT_STATUS && !(f->status & NVME_STATUS_CODE_MASK))
		return nvp_set_error(-EINVAL, "sim fault: STATUS needs a non-zero status (SCT/SC)");
	if (f->type == NVP_SIM_FAULT_DELAY && (!f->delay_ms || f->delay_ms > SIM_DELAY_MAX_MS))
		return nvp_set_error(-EINVAL, "sim fault: delay_ms must be 1..%u", SIM_DELAY_MAX_MS);
	return 0;
}

static int sim_arm(struct nvp_sim *sim, const struct nvp_sim_fault *f)
{
	struct sim_fault *slot;

	if (sim->nr_faults == SIM_MAX_FAULTS)
		return nvp_set_error(-ENOSPC, "sim fault: %d faults armed already; nvp_sim_clear() first",
				     SIM_MAX_FAULTS);
	slot = &sim->faults[sim->nr_faults];
	slot->f = *f;
	slot->skip = f->match.nth ? f->match.nth - 1 : 0;
	slot->left = f->match.count ? f->match.count : 1;
	nvp_store_relaxed(&sim->nr_faults, sim->nr_faults + 1); /* under fault_lock; read unlocked as a hint */
	return 0;
}

static int sim_raise(struct nvp_sim *sim, const struct nvp_sim_fault *f)
{
	if (sim->nr_raised == SIM_MAX_EVENTS)
		return nvp_set_error(-ENOSPC, "sim fault: %d events raised and not yet taken",
				     SIM_MAX_EVENTS);
	sim->raised[sim->nr_raised] = NVME_SET(f->aer_type, AER_TYPE) | NVME_SET(f->aer_info, AER_INFO) |
				      NVME_SET(f->aer_lid, AER_LID);
	nvp_store_relaxed(&sim->nr_raised, sim->nr_raised + 1); /* under fault_lock; read unlocked as a hint */
	return 0;
}

/* The model thread does the swap (it alone writes CSTS); wait until it has. */
int sim_request_removal(struct nvp_sim *sim)
{
	uint64_t deadline = nvp_now_ns() + SIM_REMOVE_WAIT_NS;
	struct timespec ts = { 0, 100000 };

	nvp_store_release(&sim->remove_req, 1); /* the model thread acts on it */
	while (!nvp_load_acquire(&sim->removed)) { /* and then the queues are gone, BAR all ones */
		if (nvp_now_ns() > deadline)
			return nvp_set_error(-ETIMEDOUT, "sim fault: the model thread did not remove the device");
		nanosleep(&ts, NULL);
	}
	return 0;
}

NVP_API int nvp_sim_inject(struct nvp_sim *sim, const struct nvp_sim_fault *fault)
{
	int err;

	if (!sim || !fault)
		return nvp_set_error(-EINVAL, "sim fault: no sim or no fault given");
	err = sim_fault_check(fault);
	if (err)
		return err;
	/* Both pair with the releases of the removal: nothing is armed after either. */
	if (nvp_load_acquire(&sim->remove_req) || nvp_load_acquire(&sim->release_req))
		return nvp_set_error(-ENODEV, "sim fault: the device was removed or its removal requested");
	switch (fault->type) {
	case NVP_SIM_FAULT_REMOVE:
		return sim_request_removal(sim);
	case NVP_SIM_FAULT_RELEASE_REQUEST:
		nvp_store_release(&sim->release_req, 1);   /* later injections see it and refuse */
		nvp_store_release(&sim->release_asked, 1); /* the driver's next check takes it */
		return 0;
	case NVP_SIM_FAULT_NEVER_READY:
		nvp_store_relaxed(&sim->never_ready, 1); /* a flag alone: the model reads nothing behind it */
		return 0;
	default:
		break;
	}
	pthread_mutex_lock(&sim->fault_lock);
	err = fault->type == NVP_SIM_FAULT_AER ? sim_raise(sim, fault) : sim_arm(sim, fault);
	pthread_mutex_unlock(&sim->fault_lock);
	return err;
}

NVP_API void nvp_sim_clear(struct nvp_sim *sim)
{
	if (!sim)
		return;
	pthread_mutex_lock(&sim->fault_lock);
	nvp_store_relaxed(&sim->nr_faults, 0); /* under fault_lock; read unlocked as a hint */
	nvp_store_relaxed(&sim->never_ready, 0);
	pthread_mutex_unlock(&sim->fault_lock);
}

NVP_API void nvp_sim_stats(struct nvp_sim *sim, struct nvp_sim_stats *out)
{
	const uint64_t *src = (const uint64_t *)&sim->stats;
	uint64_t *dst = (uint64_t *)out;
	size_t i;

	_Static_assert(sizeof(*out) % sizeof(uint64_t) == 0, "stats are 64-bit counters only");
	if (!sim) {
		memset(out, 0, sizeof(*out));
		return;
	}
	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = nvp_load_relaxed(&src[i]); /* each counter untorn; no snapshot across them */
}
