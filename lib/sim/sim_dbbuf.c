/* SPDX-License-Identifier: MIT */
/*
 * Doorbells as the model reads them, and Doorbell Buffer Config (admin
 * opcode 0x7C, OACS bit 8): shadow doorbells and EventIdx in host memory,
 * for I/O queues, modelled on QEMU's controller.
 *
 * Both buffers are one memory page laid out like the doorbell registers.
 * The host stores each new SQ tail / CQ head in the shadow, and writes the
 * register only when the model's EventIdx says it stopped looking. So the
 * model is event driven, as QEMU is, and a host that skips a register
 * write it owes hangs here too:
 *  - an SQ sleeps once its head reaches the tail; only a register write
 *    wakes it. Awake, it reads the shadow tail, and after each command
 *    sets EventIdx to the tail it read and reads the shadow again;
 *  - before each completion it posts to a CQ, the model sets EventIdx to
 *    the head it knows and reads the shadow head; a CQ found full is not
 *    looked at again until an event (sim_queue.c).
 * The admin queue keeps the registers alone, as Linux drives it.
 */
#include "internal.h"
#include "sim/sim_model.h"

/* Answers Invalid Opcode, like any admin command it does not know, with dbbuf=0. */
uint16_t sim_dbbuf_config(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	uint64_t dbs = cmd->sqe.prp1, eis = cmd->sqe.prp2, mask = sim_page_size(sim) - 1;
	uint32_t *d, *e;
	unsigned q;

	if (!sim->cfg.dbbuf)
		return SIM_ERR_GEN(NVME_SC_INVALID_OPCODE);
	if (cmd->sqe.flags & NVME_SQE_PSDT || !dbs || !eis || (dbs | eis) & mask)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	d = sim_dma_ptr(sim, dbs, mask + 1);
	e = sim_dma_ptr(sim, eis, mask + 1);
	if (!d || !e)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	sim->dbbuf_dbs = d;
	sim->dbbuf_eis = e;
	for (q = 1; q <= sim->max_qid; q++) {
		if (sim->sqs[q].live)
			sim_dbbuf_bind(sim, &sim->sqs[q].db, (uint16_t)q, 0);
		if (sim->cqs[q].live)
			sim_dbbuf_bind(sim, &sim->cqs[q].db, (uint16_t)q, 1);
	}
	return 0;
}

/*
 * Give I/O queue @qid's doorbell its place in the buffers, if configured
 * and the page reaches that far. What the shadow holds now is not news.
 */
void sim_dbbuf_bind(struct nvp_sim *sim, struct sim_db *db, uint16_t qid, unsigned is_cq)
{
	size_t off = (2u * qid + is_cq) * (4u << sim->cfg.dstrd);

	db->shadow = db->eventidx = NULL;
	if (!sim->dbbuf_dbs || !qid || off + 4 > sim_page_size(sim))
		return;
	db->shadow = sim->dbbuf_dbs + off / 4;
	db->eventidx = sim->dbbuf_eis + off / 4;
	db->shadow_seen = sim_load32(db->shadow) & 0xffff;
}

/* A reset forgets the buffers; the queues that used them are gone with it. */
void sim_dbbuf_forget(struct nvp_sim *sim)
{
	sim->dbbuf_dbs = sim->dbbuf_eis = NULL;
}

/*
 * What the host says through @db since the model last looked: SIM_DB_*
 * flags, and the value to act on in *@val. The register is read on both
 * sides of the shadow until it holds still: the host stores the shadow
 * before the register, so the shadow read is then never older than the
 * register value acted on, and a newer shadow value wins.
 *
 * A register write is seen only as a changed value. With shadow-only
 * updates in between, the host may write the very value the register held
 * before (the ring went round), so the register is set to what the model
 * knows now, unless the host wrote it meanwhile.
 */
unsigned sim_db_read(struct nvp_sim *sim, struct sim_db *db, uint32_t *val)
{
	/* Acquire: what the host wrote before the value (entries, CQEs read) is visible. */
	uint32_t reg = sim_load32(db->reg), again, shadow;
	bool reg_new, shadow_new;
	unsigned news;

	if (!db->shadow) {
		if (reg == db->reg_seen)
			return 0;
		*val = db->reg_seen = reg;
		return SIM_DB_REG;
	}
	for (;;) {
		shadow = sim_load32(db->shadow) & 0xffff;
		again = sim_load32(db->reg);
		if (again == reg)
			break;
		reg = again;
	}
	reg_new = reg != db->reg_seen;
	shadow_new = shadow != db->shadow_seen;
	db->reg_seen = reg;
	db->shadow_seen = shadow;
	if (reg_new && !shadow_new && shadow != reg && !sim->dbbuf_warned) {
		sim->dbbuf_warned = true;
		nvp_log(NVP_LOG_WARN, "sim: host bug: a doorbell register was written with %u but its "
			"shadow doorbell holds %u; the register value is used (logged once)", reg, shadow);
	}
	news = (reg_new ? SIM_DB_REG : 0) | (shadow_new && (!reg_new || shadow != reg) ? SIM_DB_SHADOW : 0);
	*val = shadow_new ? shadow : reg;
	/* Relaxed: only the register value itself matters; a host store in between wins. */
	if (*val != reg && nvp_cmpxchg_relaxed(db->reg, &reg, *val))
		db->reg_seen = *val;
	return news;
}

/* EventIdx = @val, seen by the host before the model's next shadow read. */
void sim_db_event(struct sim_db *db, uint32_t val)
{
	nvp_store_relaxed(db->eventidx, val); /* ordered by sim_mb() below */
	/* Pairs with the host's barrier between its shadow store and EventIdx load. */
	sim_mb();
}

/* The host's latest value, read without acting on it. */
uint32_t sim_db_peek(const struct sim_db *db)
{
	return db->shadow ? sim_load32(db->shadow) & 0xffff : sim_load32(db->reg);
}
