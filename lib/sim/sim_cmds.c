/* SPDX-License-Identifier: MIT */
/*
 * Verify, Write Uncorrectable and Copy (Simple Copy, source range format
 * 0), each run only when the sim's ONCS (option oncs=) offers it, as a
 * controller without it answers Invalid Command Opcode. Blocks marked by
 * Write Uncorrectable fail reads, compares, verifies and copies with
 * Unrecovered Read Error until they are written, zeroed, deallocated or
 * formatted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim/sim_model.h"

#define SIM_UNC_UNIT_SHIFT 9 /* one bit per 512 bytes: any format's blocks are whole units */

int sim_unc_init(struct sim_ns *ns)
{
	size_t units = ns->bytes >> SIM_UNC_UNIT_SHIFT;

	ns->unc = calloc((units + 7) / 8, 1);
	return ns->unc ? 0 : nvp_set_error(-ENOMEM, "sim: no memory for the uncorrectable-block map");
}

void sim_unc_fini(struct sim_ns *ns)
{
	free(ns->unc);
	ns->unc = NULL;
}

/* The units of blocks [slba, slba + nlb). */
static void sim_unc_units(const struct sim_ns *ns, uint64_t slba, uint64_t nlb, uint64_t *first, uint64_t *end)
{
	unsigned shift = ns->lbads - SIM_UNC_UNIT_SHIFT;

	*first = slba << shift;
	*end = (slba + nlb) << shift;
}

void sim_unc_mark(struct sim_ns *ns, uint64_t slba, uint64_t nlb, bool bad)
{
	uint64_t u, end;

	if (!ns->unc)
		return;
	for (sim_unc_units(ns, slba, nlb, &u, &end); u < end; u++) {
		if (bad)
			ns->unc[u / 8] |= (uint8_t)(1u << (u % 8));
		else
			ns->unc[u / 8] &= (uint8_t)~(1u << (u % 8));
	}
}

bool sim_unc_any(const struct sim_ns *ns, uint64_t slba, uint64_t nlb)
{
	uint64_t u, end;

	if (!ns->unc)
		return false;
	for (sim_unc_units(ns, slba, nlb, &u, &end); u < end; u++)
		if (ns->unc[u / 8] & (1u << (u % 8)))
			return true;
	return false;
}

static bool sim_offers(const struct nvp_sim *sim, unsigned oncs_bit)
{
	return sim->cfg.oncs & oncs_bit;
}

/* Reads and checks the blocks (their PI with PRCHK); no data moves. */
uint16_t sim_io_verify(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	struct sim_rw rw;
	uint16_t st;

	if (!sim_offers(sim, NVME_ONCS_VERIFY))
		return SIM_ERR_GEN(NVME_SC_INVALID_OPCODE);
	st = sim_rw_check(sim, cmd, &rw, false);
	if (!st && sim_unc_any(rw.ns, rw.slba, rw.nlb))
		st = SIM_ERR(NVME_SCT_MEDIA, NVME_SC_READ_ERROR);
	if (!st && rw.ns->ms)
		st = sim_md_check(sim, cmd, &rw);
	return st;
}

uint16_t sim_io_write_uncor(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	struct sim_rw rw;
	uint16_t st;

	if (!sim_offers(sim, NVME_ONCS_WRITE_UNCOR))
		return SIM_ERR_GEN(NVME_SC_INVALID_OPCODE);
	st = sim_rw_check(sim, cmd, &rw, false);
	if (!st)
		sim_unc_mark(rw.ns, rw.slba, rw.nlb, true);
	return st;
}

/*
 * Source ranges read in order into one staging buffer, then written from
 * SDLBA on: ranges may overlap the destination. Limits as Identify
 * Namespace states them (MSRC, MSSRL, MCL): Command Size Limit Exceeded.
 * Metadata moves with the blocks; PRINFOR/PRINFOW are not modelled.
 */
uint16_t sim_io_copy(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	struct nvme_copy_range r[SIM_COPY_MSRC + 1];
	uint32_t cdw12 = cmd->sqe.cdw12;
	unsigned nr = NVME_GET(cdw12, COPY_NR) + 1, i;
	uint64_t sdlba = cmd->sqe.cdw10 | (uint64_t)cmd->sqe.cdw11 << 32, total = 0, done = 0;
	struct sim_ns *ns = sim_ns_active(sim, cmd->sqe.nsid);
	uint8_t *stage, *mstage = NULL;
	size_t lba;
	uint16_t st;

	if (!sim_offers(sim, NVME_ONCS_COPY))
		return SIM_ERR_GEN(NVME_SC_INVALID_OPCODE);
	if (!ns)
		return SIM_ERR_GEN(NVME_SC_INVALID_NS);
	if (NVME_GET(cdw12, COPY_DESC_FMT) != 0)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	if (nr > SIM_COPY_MSRC + 1)
		return SIM_ERR_CMD(NVME_SC_CMD_SIZE_LIMIT);
	st = sim_from_host(sim, cmd, r, nr * sizeof(r[0]));
	if (st)
		return st;
	lba = (size_t)1 << ns->lbads;
	for (i = 0; i < nr; i++) {
		uint64_t nlb = r[i].nlb + 1u;

		cmd->lba = r[i].slba;
		if (nlb > SIM_COPY_MSSRL)
			return SIM_ERR_CMD(NVME_SC_CMD_SIZE_LIMIT);
		if (r[i].slba >= ns->nsze || nlb > ns->nsze - r[i].slba)
			return SIM_ERR_GEN(NVME_SC_LBA_RANGE);
		if (sim_unc_any(ns, r[i].slba, nlb))
			return SIM_ERR(NVME_SCT_MEDIA, NVME_SC_READ_ERROR);
		total += nlb;
	}
	cmd->lba = sdlba;
	if (total > SIM_COPY_MCL)
		return SIM_ERR_CMD(NVME_SC_CMD_SIZE_LIMIT);
	if (sdlba >= ns->nsze || total > ns->nsze - sdlba)
		return SIM_ERR_GEN(NVME_SC_LBA_RANGE);
	stage = malloc(total * lba);
	if (ns->ms)
		mstage = malloc(total * ns->ms);
	if (!stage || (ns->ms && !mstage)) {
		free(stage);
		free(mstage);
		return SIM_SC(NVME_SC_INTERNAL);
	}
	for (i = 0; i < nr; i++) {
		uint64_t nlb = r[i].nlb + 1u;

		memcpy(stage + done * lba, ns->data + r[i].slba * lba, nlb * lba);
		if (ns->ms)
			memcpy(mstage + done * ns->ms, ns->md + r[i].slba * ns->ms, nlb * ns->ms);
		done += nlb;
	}
	memcpy(ns->data + sdlba * lba, stage, total * lba);
	if (ns->ms)
		memcpy(ns->md + sdlba * ns->ms, mstage, total * ns->ms);
	sim_unc_mark(ns, sdlba, total, false);
	sim->units_written += (total * lba) >> 9;
	free(stage);
	free(mstage);
	return 0;
}
