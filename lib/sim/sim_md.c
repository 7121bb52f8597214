/* SPDX-License-Identifier: MIT */
/*
 * Namespaces with metadata (ms=8|16), separate (MPTR) or extended (mset=1:
 * inline after each block's data), and end-to-end protection (pi=1|2|3,
 * pil=1 for PI first), as a controller runs them: on Write, PRACT
 * generates PI and PRCHK checks the host's; on Read, PRCHK checks what is
 * stored, and PRACT with 8-byte metadata strips it (nothing moves to the
 * host but data). The model keeps data in the namespace's data mapping and
 * metadata beside it, indexed by LBA; blocks never written (or zeroed,
 * deallocated, formatted) hold PI escape values, so reads of them pass
 * every check, as on QEMU's controller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"
#include "pi.h"
#include "sim/sim_model.h"

int sim_md_init(struct nvp_sim *sim, struct sim_ns *ns, unsigned i)
{
	ns->ms = sim->cfg.ms[i];
	ns->mset = sim->cfg.mset[i];
	ns->pi = sim->cfg.pi[i];
	ns->pil = sim->cfg.pil[i];
	if (!ns->ms)
		return 0;
	/* Room for the most blocks any format gives (512-byte ones). */
	ns->md_bytes = (ns->bytes >> SIM_LBAF_LBADS(0)) * ns->ms;
	ns->md = mmap(NULL, ns->md_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ns->md == MAP_FAILED) {
		ns->md = NULL;
		return nvp_set_error(-ENOMEM, "sim: cannot map %zu bytes of metadata for namespace %u",
				     ns->md_bytes, i + 1);
	}
	sim_md_zero(ns, 0, ns->nsze);
	return 0;
}

void sim_md_fini(struct sim_ns *ns)
{
	if (ns->md)
		munmap(ns->md, ns->md_bytes);
	ns->md = NULL;
}

void sim_md_zero(struct sim_ns *ns, uint64_t slba, uint64_t nlb)
{
	if (ns->md)
		memset(ns->md + slba * ns->ms, ns->pi ? 0xff : 0, nlb * ns->ms);
}

/* One command's PI fields. */
struct sim_pi {
	unsigned prinfo;
	bool pract, strip;	/* strip: PRACT with 8-byte metadata, none moves to or from the host */
	uint32_t ref;
	uint16_t app, mask;
};

static uint16_t sim_pi_decode(const struct sim_ns *ns, const struct sim_cmd *cmd, const struct sim_rw *rw,
			      struct sim_pi *p)
{
	memset(p, 0, sizeof(*p));
	if (!ns->pi)
		return 0; /* PRINFO means nothing without PI */
	p->prinfo = NVME_GET(cmd->sqe.cdw12, RW_PRINFO);
	p->pract = p->prinfo & NVME_PRINFO_PRACT;
	p->strip = p->pract && ns->ms == sizeof(struct nvme_pi_tuple);
	p->ref = cmd->sqe.cdw14;
	p->app = (uint16_t)NVME_GET(cmd->sqe.cdw15, RW_LBAT);
	p->mask = (uint16_t)NVME_GET(cmd->sqe.cdw15, RW_LBATM);
	/* Type 1's reference tag is the LBA: a command starting elsewhere is refused. */
	if (ns->pi == 1 && (p->prinfo & NVME_PRINFO_PRCHK_REF) && p->ref != (uint32_t)rw->slba)
		return SIM_ERR_CMD(NVME_SC_INVALID_PI);
	/* Type 3 has no reference tag to check: asking is invalid, as QEMU's controller answers. */
	if (ns->pi == 3 && (p->prinfo & NVME_PRINFO_PRCHK_REF))
		return SIM_ERR_CMD(NVME_SC_INVALID_PI);
	return 0;
}

static struct nvp_pi_layout sim_layout(const struct sim_ns *ns)
{
	return (struct nvp_pi_layout){ .lba_size = 1u << ns->lbads, .ms = (uint16_t)ns->ms, .type = (uint8_t)ns->pi,
				       .first = (uint8_t)ns->pil, .extended = 0 };
}

/* Bytes of the host's data buffer: metadata inline with extended LBAs, unless stripped. */
static size_t sim_host_len(const struct sim_ns *ns, const struct sim_rw *rw, const struct sim_pi *p)
{
	return rw->len + (ns->mset && !p->strip ? (size_t)rw->nlb * ns->ms : 0);
}

/* The separate metadata buffer at MPTR, NULL when the command has none to move. */
static uint16_t sim_mptr(struct nvp_sim *sim, const struct sim_cmd *cmd, const struct sim_rw *rw,
			 const struct sim_pi *p, uint8_t **out)
{
	const struct sim_ns *ns = rw->ns;

	*out = NULL;
	if (ns->mset || p->strip)
		return 0;
	*out = sim_dma_ptr(sim, cmd->sqe.mptr, (size_t)rw->nlb * ns->ms);
	return *out ? 0 : SIM_ERR_GEN(NVME_SC_DATA_XFER_ERROR); /* sim_dma_ptr() counted the fault */
}

/* Extended LBAs: block i's data and metadata side by side in @host, apart in @data / @md. */
static void sim_split(const struct sim_ns *ns, const uint8_t *host, uint8_t *data, uint8_t *md, uint32_t nlb)
{
	size_t lba = (size_t)1 << ns->lbads;

	for (uint32_t i = 0; i < nlb; i++) {
		memcpy(data + i * lba, host + i * (lba + ns->ms), lba);
		memcpy(md + i * ns->ms, host + i * (lba + ns->ms) + lba, ns->ms);
	}
}

static void sim_join(const struct sim_ns *ns, uint8_t *host, const uint8_t *data, const uint8_t *md, uint32_t nlb)
{
	size_t lba = (size_t)1 << ns->lbads;

	for (uint32_t i = 0; i < nlb; i++) {
		memcpy(host + i * (lba + ns->ms), data + i * lba, lba);
		memcpy(host + i * (lba + ns->ms) + lba, md + i * ns->ms, ns->ms);
	}
}

static uint16_t sim_pi_verify(const struct sim_ns *ns, const struct sim_pi *p, const uint8_t *data,
			      const uint8_t *md, uint32_t nlb)
{
	struct nvp_pi_layout l = sim_layout(ns);
	unsigned prchk = p->prinfo & (NVME_PRINFO_PRCHK_GUARD | NVME_PRINFO_PRCHK_APP | NVME_PRINFO_PRCHK_REF);
	uint32_t block;
	uint16_t st;

	if (!prchk)
		return 0;
	st = nvp_pi_check(&l, data, md, nlb, prchk, p->ref, p->app, p->mask, &block);
	return st ? (uint16_t)(st | NVME_STATUS_DNR) : 0;
}

uint16_t sim_md_check(struct nvp_sim *sim, struct sim_cmd *cmd, const struct sim_rw *rw)
{
	struct sim_pi p;
	uint16_t st = sim_pi_decode(rw->ns, cmd, rw, &p);

	(void)sim;
	if (st || !rw->ns->pi)
		return st;
	return sim_pi_verify(rw->ns, &p, rw->data, rw->ns->md + rw->slba * rw->ns->ms, rw->nlb);
}

uint16_t sim_md_write(struct nvp_sim *sim, struct sim_cmd *cmd, const struct sim_rw *rw)
{
	struct sim_ns *ns = rw->ns;
	uint8_t *md = ns->md + rw->slba * ns->ms, *host = NULL, *mptr, *stage;
	size_t mlen = (size_t)rw->nlb * ns->ms;
	struct sim_pi p;
	uint16_t st = sim_pi_decode(ns, cmd, rw, &p);

	if (!st)
		st = sim_mptr(sim, cmd, rw, &p, &mptr);
	if (st)
		return st;
	/* Staged, so a failed check leaves the blocks as they were. */
	stage = malloc(rw->len + mlen);
	if (!stage)
		return SIM_SC(NVME_SC_INTERNAL);
	if (ns->mset && !p.strip) {
		host = malloc(sim_host_len(ns, rw, &p));
		st = host ? sim_from_host(sim, cmd, host, sim_host_len(ns, rw, &p)) : SIM_SC(NVME_SC_INTERNAL);
		if (!st)
			sim_split(ns, host, stage, stage + rw->len, rw->nlb);
	} else {
		st = sim_from_host(sim, cmd, stage, rw->len);
		if (mptr)
			memcpy(stage + rw->len, mptr, mlen);
		else
			memset(stage + rw->len, 0, mlen);
	}
	if (!st && ns->pi) {
		if (p.pract) {
			struct nvp_pi_layout l = sim_layout(ns);

			nvp_pi_gen(&l, stage, stage + rw->len, rw->nlb, p.ref, p.app);
		} else {
			st = sim_pi_verify(ns, &p, stage, stage + rw->len, rw->nlb);
		}
	}
	if (!st) {
		memcpy(rw->data, stage, rw->len);
		memcpy(md, stage + rw->len, mlen);
	}
	free(host);
	free(stage);
	return st;
}

uint16_t sim_md_read(struct nvp_sim *sim, struct sim_cmd *cmd, const struct sim_rw *rw)
{
	struct sim_ns *ns = rw->ns;
	const uint8_t *md = ns->md + rw->slba * ns->ms;
	size_t mlen = (size_t)rw->nlb * ns->ms;
	uint8_t *mptr, *host;
	struct sim_pi p;
	uint16_t st = sim_pi_decode(ns, cmd, rw, &p);

	if (!st)
		st = sim_mptr(sim, cmd, rw, &p, &mptr);
	if (!st && ns->pi)
		st = sim_pi_verify(ns, &p, rw->data, md, rw->nlb);
	if (st)
		return st;
	if (!ns->mset || p.strip) {
		st = sim_to_host(sim, cmd, rw->data, rw->len, rw->len);
		if (!st && mptr)
			memcpy(mptr, md, mlen);
		return st;
	}
	host = malloc(sim_host_len(ns, rw, &p));
	if (!host)
		return SIM_SC(NVME_SC_INTERNAL);
	sim_join(ns, host, rw->data, md, rw->nlb);
	st = sim_to_host(sim, cmd, host, sim_host_len(ns, rw, &p), sim_host_len(ns, rw, &p));
	free(host);
	return st;
}
