/* SPDX-License-Identifier: MIT */
/*
 * Queues and commands: creating and deleting queues, fetching commands
 * from SQs and dispatching them, holding completions back (delays, drops,
 * AERs) and posting them to CQs.
 *
 * Posting never overruns a CQ: an SQ is only fetched from when its CQ has
 * room, and a completion that still finds no room (a delayed one, an
 * abort) waits on the CQ's wait list until the host's head doorbell makes
 * room. How doorbells are read, shadow doorbells included: sim_dbbuf.c.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim/sim_model.h"

#define SIM_BATCH 64		/* commands from one SQ per pass, so no SQ starves another */

/* CQE stores by dword; the CQ ring is also seen as struct nvme_cqe. */
typedef uint32_t sim_u32 __attribute__((may_alias));

/* ---- completions ----------------------------------------------------- */

static struct sim_cpl *sim_cpl_get(struct nvp_sim *sim)
{
	struct sim_cpl *c = sim->free_cpl;

	if (c) {
		sim->free_cpl = c->next;
		return c;
	}
	c = malloc(sizeof(*c));
	if (!c)
		nvp_log(NVP_LOG_ERROR, "sim: out of memory: a completion is lost");
	return c;
}

static void sim_cpl_put(struct nvp_sim *sim, struct sim_cpl *c)
{
	c->next = sim->free_cpl;
	sim->free_cpl = c;
}

void sim_cpl_free_list(struct sim_cpl *c)
{
	struct sim_cpl *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
}

static bool sim_cq_full(const struct sim_cq *cq)
{
	return (cq->tail + 1) % cq->size == cq->head;
}

/* The host consumed entries up to the head it gave: room for as many. */
static bool sim_cq_take_head(struct nvp_sim *sim, struct sim_cq *cq)
{
	uint32_t head;
	unsigned news = sim_db_read(sim, &cq->db, &head);

	if (news & SIM_DB_REG) {
		SIM_STAT_ADD(sim, cq_doorbells, 1);
		cq->blocked = false;
	}
	if (news & SIM_DB_SHADOW)
		SIM_STAT_ADD(sim, cq_shadow_reads, 1);
	if (!news)
		return false;
	if (head >= cq->size) {
		nvp_log(NVP_LOG_WARN, "sim: CQ head doorbell %u is past the queue's %u entries, ignored",
			head, cq->size);
		return false;
	}
	cq->head = head;
	return true;
}

/* A head register write; the shadow alone is looked at only before posting. */
static bool sim_cq_read_head(struct nvp_sim *sim, struct sim_cq *cq)
{
	return sim_db_rung(&cq->db) && sim_cq_take_head(sim, cq);
}

/*
 * The newest head before posting. Behind a shadow doorbell: EventIdx = the
 * head the model knows, then the shadow, every time (QEMU 7.2.1 on); a CQ
 * still full is not looked at again until an event unblocks it (a head
 * register write, a new completion, new work on one of its SQs).
 */
static void sim_cq_refresh(struct nvp_sim *sim, struct sim_cq *cq)
{
	if (!cq->db.shadow) {
		if (sim_cq_full(cq))
			sim_cq_read_head(sim, cq);
		return;
	}
	if (cq->blocked)
		return;
	sim_db_event(&cq->db, cq->head);
	sim_cq_take_head(sim, cq);
	cq->blocked = sim_cq_full(cq);
}

static void sim_cq_write(struct sim_cq *cq, const struct nvme_cqe *cqe, bool bad_phase)
{
	sim_u32 *slot = (sim_u32 *)&cq->ring[cq->tail];
	const sim_u32 *src = (const sim_u32 *)cqe;
	uint32_t phase = cq->phase ^ bad_phase;

	slot[0] = src[0];
	slot[1] = src[1];
	slot[2] = src[2];
	/* Phase last, with release: a host that sees the new phase sees the whole entry. */
	nvp_store_release(&slot[3], cqe->cid | (uint32_t)((cqe->status & ~(uint32_t)NVME_CQE_PHASE) | phase) << 16);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
}

static void sim_cq_post(struct nvp_sim *sim, struct sim_cq *cq, const struct nvme_cqe *cqe,
			bool bad_phase)
{
	struct sim_cpl *c;

	cq->blocked = false;
	if (!cq->wait)
		sim_cq_refresh(sim, cq);
	if (!cq->wait && !sim_cq_full(cq)) {
		sim_cq_write(cq, cqe, bad_phase);
		return;
	}
	c = sim_cpl_get(sim);
	if (!c)
		return;
	*c = (struct sim_cpl){ .cqe = *cqe, .kind = SIM_CPL_WAIT, .bad_phase = bad_phase };
	*cq->wait_tail = c;
	cq->wait_tail = &c->next;
}

static bool sim_cq_drain(struct nvp_sim *sim, struct sim_cq *cq)
{
	struct sim_cpl *c;
	bool moved = false;

	while (cq->wait) {
		sim_cq_refresh(sim, cq);
		if (sim_cq_full(cq))
			break;
		c = cq->wait;
		cq->wait = c->next;
		if (!cq->wait)
			cq->wait_tail = &cq->wait;
		sim_cq_write(cq, &c->cqe, c->bad_phase);
		sim_cpl_put(sim, c);
		moved = true;
	}
	return moved;
}

static struct nvme_cqe sim_cqe(const struct sim_cmd *cmd, uint16_t status)
{
	return (struct nvme_cqe){
		.dw0 = cmd->dw0,
		.dw1 = cmd->dw1,
		.sq_head = (uint16_t)cmd->sq->head,
		.sq_id = cmd->sqid,
		.cid = cmd->sqe.cid,
		.status = (uint16_t)(status << NVME_CQE_STATUS_SHIFT),
	};
}

static void sim_errlog_add(struct nvp_sim *sim, uint16_t sqid, uint16_t cid, uint32_t nsid,
			   uint64_t lba, uint16_t status)
{
	struct nvme_error_log *e = &sim->errlog[sim->err_count % SIM_ERRLOG_LEN];

	*e = (struct nvme_error_log){
		.error_count = ++sim->err_count,
		.sqid = sqid,
		.cid = cid,
		.status = (uint16_t)(status << NVME_CQE_STATUS_SHIFT),
		.param_error_location = 0xffff,
		.lba = lba,
		.nsid = nsid,
	};
	SIM_STAT_ADD(sim, errors, 1);
}

/* Keep @cmd's completion back: delayed until @due_ns, dropped, or an AER. */
void sim_hold(struct nvp_sim *sim, const struct sim_cmd *cmd, enum sim_cpl_kind kind,
	      uint64_t due_ns, bool bad_phase, uint16_t status)
{
	struct sim_cpl *c = sim_cpl_get(sim);

	if (!c)
		return;
	*c = (struct sim_cpl){
		.next = sim->held,
		.cqe = sim_cqe(cmd, status),
		.due_ns = due_ns,
		.cqid = cmd->sq->cqid,
		.kind = (uint8_t)kind,
		.bad_phase = bad_phase,
	};
	sim->held = c;
	sim->nr_delayed += kind == SIM_CPL_DELAY;
	sim->nr_aer += kind == SIM_CPL_AER;
}

/* Unlink *@pp from the held list and post it. */
static void sim_release(struct nvp_sim *sim, struct sim_cpl **pp)
{
	struct sim_cpl *c = *pp;
	struct sim_sq *sq = &sim->sqs[c->cqe.sq_id];

	*pp = c->next;
	sim->nr_delayed -= c->kind == SIM_CPL_DELAY;
	sim->nr_aer -= c->kind == SIM_CPL_AER;
	if (sq->live)
		c->cqe.sq_head = (uint16_t)sq->head;
	if (sim->cqs[c->cqid].live)
		sim_cq_post(sim, &sim->cqs[c->cqid], &c->cqe, c->bad_phase);
	sim_cpl_put(sim, c);
}

/* Release held completions of @sqid with @status (Abort, SQ deletion). */
static bool sim_release_cmds(struct nvp_sim *sim, uint16_t sqid, int cid, uint16_t status)
{
	struct sim_cpl **pp = &sim->held;
	bool found = false;

	while (*pp) {
		struct sim_cpl *c = *pp;

		if (c->kind == SIM_CPL_AER || c->cqe.sq_id != sqid || (cid >= 0 && c->cqe.cid != cid)) {
			pp = &c->next;
			continue;
		}
		c->cqe.status = (uint16_t)(status << NVME_CQE_STATUS_SHIFT);
		c->cqe.dw0 = 0;
		sim_errlog_add(sim, sqid, c->cqe.cid, 0, 0, status);
		sim_release(sim, pp);
		found = true;
	}
	return found;
}

static bool sim_poll_delayed(struct nvp_sim *sim)
{
	struct sim_cpl **pp = &sim->held;
	uint64_t now = nvp_now_ns();
	bool busy = false;

	while (*pp) {
		if ((*pp)->kind == SIM_CPL_DELAY && (*pp)->due_ns <= now) {
			sim_release(sim, pp);
			busy = true;
		} else {
			pp = &(*pp)->next;
		}
	}
	return busy;
}

/* An asynchronous event: to the oldest outstanding AER, else kept for the next. */
void sim_post_event(struct nvp_sim *sim, uint32_t dw0)
{
	struct sim_cpl **pp, **oldest = NULL;

	for (pp = &sim->held; *pp; pp = &(*pp)->next)
		if ((*pp)->kind == SIM_CPL_AER)
			oldest = pp; /* the list is newest first */
	if (oldest) {
		(*oldest)->cqe.dw0 = dw0;
		sim_release(sim, oldest);
		return;
	}
	if (sim->nr_events == SIM_MAX_EVENTS) {
		nvp_log(NVP_LOG_WARN, "sim: %d events and no AER outstanding: the oldest is lost",
			SIM_MAX_EVENTS);
		memmove(sim->events, sim->events + 1, sizeof(sim->events[0]) * (SIM_MAX_EVENTS - 1));
		sim->nr_events--;
	}
	sim->events[sim->nr_events++] = dw0;
}

/* ---- queues ---------------------------------------------------------- */

void sim_sq_init(struct nvp_sim *sim, uint16_t qid, void *ring, uint32_t size, uint16_t cqid)
{
	struct sim_sq *sq = &sim->sqs[qid];

	*sq = (struct sim_sq){
		.ring = ring, .db.reg = sim_doorbell(sim, qid, 0), .size = size, .cqid = cqid, .live = true,
	};
	sim_dbbuf_bind(sim, &sq->db, qid, 0);
	sim->cqs[cqid].nr_sqs++;
	if (qid > sim->max_qid)
		sim->max_qid = qid;
}

void sim_cq_init(struct nvp_sim *sim, uint16_t qid, void *ring, uint32_t size)
{
	struct sim_cq *cq = &sim->cqs[qid];

	*cq = (struct sim_cq){
		.ring = ring, .db.reg = sim_doorbell(sim, qid, 1), .size = size, .phase = 1, .live = true,
	};
	sim_dbbuf_bind(sim, &cq->db, qid, 1);
	cq->wait_tail = &cq->wait;
	if (qid > sim->max_qid)
		sim->max_qid = qid;
}

/*
 * A new queue starts at 0; so must its doorbell, or a value the host wrote
 * for the queue's previous life would look like a new write. Only its own:
 * the other queue of the same id may be live.
 */
void sim_doorbell_zero(struct nvp_sim *sim, uint16_t qid, unsigned is_cq)
{
	nvp_store_relaxed(sim_doorbell(sim, qid, is_cq), 0); /* the host stores here too: untorn, no data behind it */
}

static void sim_cq_forget(struct nvp_sim *sim, struct sim_cq *cq)
{
	struct sim_cpl *c, *next;

	for (c = cq->wait; c; c = next) {
		next = c->next;
		sim_cpl_put(sim, c);
	}
	cq->wait = NULL;
	cq->wait_tail = &cq->wait;
	cq->live = false;
}

/* Forget every queue, held completion and doorbell buffer: nothing refers to host memory after. */
void sim_queues_drop(struct nvp_sim *sim)
{
	struct sim_cpl *c, *next;
	unsigned q;

	sim_dbbuf_forget(sim);
	for (q = 0; q <= sim->cfg.nqueues; q++) {
		sim->sqs[q].live = false;
		sim_cq_forget(sim, &sim->cqs[q]);
		sim->cqs[q].nr_sqs = 0;
	}
	for (c = sim->held; c; c = next) {
		next = c->next;
		sim_cpl_put(sim, c);
	}
	sim->held = NULL;
	sim->nr_delayed = sim->nr_aer = sim->nr_aborts = 0;
	sim->max_qid = 0;
}

bool sim_io_queues_exist(const struct nvp_sim *sim)
{
	unsigned q;

	for (q = 1; q <= sim->max_qid; q++)
		if (sim->sqs[q].live || sim->cqs[q].live)
			return true;
	return false;
}

/* Host memory for a new I/O queue: contiguous, page aligned, mapped. */
static uint16_t sim_queue_mem(struct nvp_sim *sim, const struct sim_cmd *cmd, size_t bytes,
			      void **ring)
{
	uint64_t base = cmd->sqe.prp1;

	if (!(cmd->sqe.cdw11 & NVME_QUEUE_PHYS_CONTIG))
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD); /* CAP.CQR = 1 */
	if (base & (sim_page_size(sim) - 1))
		return SIM_ERR_GEN(NVME_SC_PRP_OFFSET_INVALID);
	*ring = sim_dma_ptr(sim, base, bytes);
	return *ring ? 0 : SIM_ERR_GEN(NVME_SC_DATA_XFER_ERROR);
}

uint16_t sim_queue_create_cq(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	uint16_t qid = cmd->sqe.cdw10 & 0xffff;
	uint32_t size = (cmd->sqe.cdw10 >> 16) + 1, flags = cmd->sqe.cdw11;
	void *ring;
	uint16_t st;

	if (!qid || qid > sim_ncq(sim) || sim->cqs[qid].live)
		return SIM_ERR_CMD(NVME_SC_QID_INVALID);
	if (size < 2 || size > sim->cfg.mqes + 1)
		return SIM_ERR_CMD(NVME_SC_QUEUE_SIZE);
	/* Polled model: no interrupt vector but 0 exists. */
	if ((flags & NVME_CQ_IRQ_ENABLED) && flags >> 16)
		return SIM_ERR_CMD(NVME_SC_INVALID_INT_VECTOR);
	if (NVME_GET(sim_cc(sim), CC_IOCQES) != NVME_CQES_LOG2)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	st = sim_queue_mem(sim, cmd, (size_t)size * sizeof(struct nvme_cqe), &ring);
	if (st)
		return st;
	sim_doorbell_zero(sim, qid, 1);
	sim_cq_init(sim, qid, ring, size);
	return 0;
}

uint16_t sim_queue_create_sq(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	uint16_t qid = cmd->sqe.cdw10 & 0xffff, cqid = cmd->sqe.cdw11 >> 16;
	uint32_t size = (cmd->sqe.cdw10 >> 16) + 1;
	void *ring;
	uint16_t st;

	if (!qid || qid > sim_nsq(sim) || sim->sqs[qid].live)
		return SIM_ERR_CMD(NVME_SC_QID_INVALID);
	if (!cqid || cqid > sim->cfg.nqueues || !sim->cqs[cqid].live)
		return SIM_ERR_CMD(NVME_SC_CQ_INVALID);
	if (size < 2 || size > sim->cfg.mqes + 1)
		return SIM_ERR_CMD(NVME_SC_QUEUE_SIZE);
	if (NVME_GET(sim_cc(sim), CC_IOSQES) != NVME_SQES_LOG2)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	st = sim_queue_mem(sim, cmd, (size_t)size * sizeof(struct nvme_sqe), &ring);
	if (st)
		return st;
	sim_doorbell_zero(sim, qid, 0);
	sim_sq_init(sim, qid, ring, size, cqid);
	return 0;
}

static void sim_aborts_forget(struct nvp_sim *sim, uint16_t sqid)
{
	unsigned i = 0;

	while (i < sim->nr_aborts) {
		if (sim->aborts[i].sqid == sqid)
			sim->aborts[i] = sim->aborts[--sim->nr_aborts];
		else
			i++;
	}
}

/* Commands the SQ still holds are aborted: their completions go out first. */
uint16_t sim_queue_delete_sq(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	uint16_t qid = cmd->sqe.cdw10 & 0xffff;
	struct sim_sq *sq = &sim->sqs[qid];

	if (!qid || qid > sim->cfg.nqueues || !sq->live)
		return SIM_ERR_CMD(NVME_SC_QID_INVALID);
	sim_release_cmds(sim, qid, -1, SIM_SC(NVME_SC_ABORT_QUEUE));
	sim_aborts_forget(sim, qid);
	sq->live = false;
	sim->cqs[sq->cqid].nr_sqs--;
	return 0;
}

uint16_t sim_queue_delete_cq(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	uint16_t qid = cmd->sqe.cdw10 & 0xffff;
	struct sim_cq *cq = &sim->cqs[qid];

	if (!qid || qid > sim->cfg.nqueues || !cq->live)
		return SIM_ERR_CMD(NVME_SC_QID_INVALID);
	if (cq->nr_sqs)
		return SIM_ERR_CMD(NVME_SC_INVALID_QUEUE_DELETION);
	sim_cq_forget(sim, cq);
	return 0;
}

/* ---- Abort ------------------------------------------------------------ */

/* Is @cid between the SQ's head and the host's latest tail, not fetched yet? */
static bool sim_sq_queued(struct sim_sq *sq, uint16_t cid)
{
	uint32_t tail = sim_db_peek(&sq->db), i;

	if (tail >= sq->size)
		return false;
	for (i = sq->head; i != tail; i = (i + 1) % sq->size)
		if (sq->ring[i].cid == cid)
			return true;
	return false;
}

static bool sim_abort_take(struct nvp_sim *sim, uint16_t sqid, uint16_t cid)
{
	unsigned i;

	for (i = 0; i < sim->nr_aborts; i++) {
		if (sim->aborts[i].sqid == sqid && sim->aborts[i].cid == cid) {
			sim->aborts[i] = sim->aborts[--sim->nr_aborts];
			return true;
		}
	}
	return false;
}

/* dw0 bit 0 = 1: not aborted (already completed, or unknown). */
uint16_t sim_abort_cmd(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	uint16_t sqid = cmd->sqe.cdw10 & 0xffff, cid = cmd->sqe.cdw10 >> 16;

	cmd->dw0 = 1;
	if (sim_release_cmds(sim, sqid, cid, SIM_SC(NVME_SC_ABORT_REQ))) {
		cmd->dw0 = 0;
		return 0;
	}
	if (sqid <= sim->cfg.nqueues && sim->sqs[sqid].live && sim->nr_aborts < SIM_MAX_ABORTS &&
	    sim_sq_queued(&sim->sqs[sqid], cid)) {
		sim->aborts[sim->nr_aborts].sqid = sqid;
		sim->aborts[sim->nr_aborts++].cid = cid;
		cmd->dw0 = 0;
	}
	return 0;
}

/* ---- commands ----------------------------------------------------------- */

static void sim_complete(struct nvp_sim *sim, struct sim_cmd *cmd, uint16_t status,
			 const struct sim_hit *hit)
{
	struct sim_cq *cq = &sim->cqs[cmd->sq->cqid];
	struct nvme_cqe cqe;

	if (status)
		sim_errlog_add(sim, cmd->sqid, cmd->sqe.cid, cmd->sqe.nsid, cmd->lba, status);
	if (hit->drop) {
		sim_hold(sim, cmd, SIM_CPL_DROP, 0, hit->bad_phase, status);
		return;
	}
	if (hit->delay_ms) {
		sim_hold(sim, cmd, SIM_CPL_DELAY, nvp_now_ns() + hit->delay_ms * 1000000ull,
			 hit->bad_phase, status);
		return;
	}
	if (hit->bad_cid) {
		cqe = sim_cqe(cmd, status);
		cqe.cid = SIM_BAD_CID;
		sim_cq_post(sim, cq, &cqe, false);
	}
	cqe = sim_cqe(cmd, status);
	sim_cq_post(sim, cq, &cqe, hit->bad_phase);
}

static uint16_t sim_dispatch(struct nvp_sim *sim, struct sim_cmd *cmd, const struct sim_hit *hit)
{
	const struct sim_cmd_desc *d = cmd->sqid ? &sim_io_cmds[cmd->sqe.opc]
						 : &sim_admin_cmds[cmd->sqe.opc];

	if (sim->nr_aborts && sim_abort_take(sim, cmd->sqid, cmd->sqe.cid))
		return SIM_SC(NVME_SC_ABORT_REQ);
	if (hit->has_status)
		return hit->status;
	sim->xfer_cap = hit->short_xfer ? hit->xfer_bytes : SIZE_MAX;
	sim->corrupt = hit->corrupt;
	if (cmd->sqe.flags & NVME_SQE_FUSE) /* fused operations: FUSE = 0 */
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	if (!d->fn)
		return SIM_ERR_GEN(NVME_SC_INVALID_OPCODE);
	return d->fn(sim, cmd);
}

/* Fetch the command at the SQ head and run it. */
static void sim_exec(struct nvp_sim *sim, struct sim_sq *sq, uint16_t sqid)
{
	struct sim_cmd cmd = { .sq = sq, .sqid = sqid };
	struct sim_hit hit = { 0 };
	uint16_t status;

	cmd.sqe = sq->ring[sq->head];
	if (++sq->head == sq->size)
		sq->head = 0;
	if (sqid)
		SIM_STAT_ADD(sim, io_cmds[cmd.sqe.opc], 1);
	else
		SIM_STAT_ADD(sim, admin_cmds[cmd.sqe.opc], 1);
	if (nvp_load_relaxed(&sim->nr_faults)) /* a hint: sim_fault_match() reads the faults under fault_lock */
		sim_fault_match(sim, &cmd, &hit);
	if (hit.fatal) {
		sim_halt(sim, "injected fault");
		return;
	}
	status = sim_dispatch(sim, &cmd, &hit);
	if (status != SIM_HOLD)
		sim_complete(sim, &cmd, status, &hit);
}

static bool sim_cq_has_room(struct nvp_sim *sim, struct sim_cq *cq)
{
	if (cq->wait)
		return false;
	if (sim_cq_full(cq))
		sim_cq_refresh(sim, cq);
	return !sim_cq_full(cq);
}

/* The host's new tail, if it gave one. Acquire: the entries up to it were written before it. */
static unsigned sim_sq_read_tail(struct nvp_sim *sim, struct sim_sq *sq, uint16_t qid)
{
	uint32_t tail;
	unsigned news = sim_db_read(sim, &sq->db, &tail);

	if (news & SIM_DB_REG)
		SIM_STAT_ADD(sim, sq_doorbells, 1);
	if (news & SIM_DB_SHADOW)
		SIM_STAT_ADD(sim, sq_shadow_reads, 1);
	if (!news)
		return 0;
	if (tail < sq->size)
		sq->tail = tail;
	else
		nvp_log(NVP_LOG_WARN, "sim: SQ %u tail doorbell %u is past the queue's %u entries, "
			"ignored", qid, tail, sq->size);
	return news;
}

static bool sim_sq_poll(struct nvp_sim *sim, uint16_t qid)
{
	struct sim_sq *sq = &sim->sqs[qid];
	struct sim_cq *cq = &sim->cqs[sq->cqid];
	unsigned n = 0;

	/* Behind a shadow, an SQ at rest (head == tail) wakes for a register write only. */
	if ((!sq->db.shadow || sim_db_rung(&sq->db)) && (sim_sq_read_tail(sim, sq, qid) & SIM_DB_REG))
		cq->blocked = false; /* new work: its completions will want room */
	while (sq->head != sq->tail && n < SIM_BATCH && sim_cq_has_room(sim, cq)) {
		sim_exec(sim, sq, qid);
		n++;
		if (sim->halted || !sq->live)
			break;
		if (sq->db.shadow) {
			/* The host rings the register for entries past the tail read. */
			sim_db_event(&sq->db, sq->tail);
			sim_sq_read_tail(sim, sq, qid);
		}
	}
	return n > 0;
}

bool sim_poll_queues(struct nvp_sim *sim)
{
	bool busy = false;
	unsigned q;

	for (q = 0; q <= sim->max_qid; q++) {
		struct sim_cq *cq = &sim->cqs[q];

		if (!cq->live)
			continue;
		busy |= sim_cq_read_head(sim, cq);
		if (cq->wait)
			busy |= sim_cq_drain(sim, cq);
	}
	for (q = 0; q <= sim->max_qid && !sim->halted; q++)
		if (sim->sqs[q].live)
			busy |= sim_sq_poll(sim, (uint16_t)q);
	if (sim->nr_delayed && !sim->halted)
		busy |= sim_poll_delayed(sim);
	if (nvp_load_relaxed(&sim->nr_raised) && !sim->halted) { /* a hint: taken under fault_lock */
		sim_fault_take_events(sim);
		busy = true;
	}
	return busy;
}
