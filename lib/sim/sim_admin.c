/* SPDX-License-Identifier: MIT */
/*
 * The admin command set: Identify, Get/Set Features, Get Log Page,
 * Format NVM, Namespace Attachment, Asynchronous Event Request, Keep
 * Alive, and the dispatch table (queue
 * management and Abort live in sim_queue.c, next to the queues; Doorbell
 * Buffer Config in sim_dbbuf.c).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "nvpoll.h"
#include "sim/sim_model.h"

#define SIM_VID 0x1b36		/* Red Hat, as QEMU's emulated controller */
#define SIM_SSVID 0x1af4
#define SIM_IDENTIFY_LEN 4096
#define SIM_NS_LIST_MAX 1024
#define SIM_LOG_MAX (1u << 20)	/* log transfer cap when MDTS sets none */

/* ---- Identify ---------------------------------------------------------- */

/* Identify strings are space padded, not NUL terminated. */
static void sim_pad(char *dst, size_t n, const char *s)
{
	size_t len = strlen(s);

	memset(dst, ' ', n);
	memcpy(dst, s, len < n ? len : n);
}

static void sim_id_ctrl(const struct nvp_sim *sim, struct nvme_id_ctrl *id)
{
	id->vid = SIM_VID;
	id->ssvid = SIM_SSVID;
	sim_pad(id->sn, sizeof(id->sn), sim->cfg.sn);
	sim_pad(id->mn, sizeof(id->mn), "nvpoll sim");
	sim_pad(id->fr, sizeof(id->fr), "0.1");
	id->rab = 6;
	id->ieee[0] = 0x00;
	id->ieee[1] = 0x54;
	id->ieee[2] = 0x52;
	id->mdts = (uint8_t)sim->cfg.mdts;
	id->cntlid = SIM_CNTLID;
	id->ver = SIM_VS;
	id->cntrltype = 1; /* I/O controller */
	/* Bit 3: Namespace Attachment; Namespace Management (create, delete) is not modelled. */
	id->oacs = NVME_OACS_FORMAT | NVME_OACS_NS_MGMT | (sim->cfg.dbbuf ? NVME_OACS_DBBUF : 0);
	id->acl = 3;
	id->aerl = SIM_AERL;
	id->frmw = 0x3; /* one slot, slot 1 read-only */
	id->lpa = NVME_LPA_EXT_DATA; /* log page offsets and NUMDU */
	id->elpe = SIM_ERRLOG_LEN - 1;
	id->wctemp = 343;
	id->cctemp = 373;
	id->kas = 1;
	id->sqes = NVME_SQES_LOG2 << 4 | NVME_SQES_LOG2;
	id->cqes = NVME_CQES_LOG2 << 4 | NVME_CQES_LOG2;
	id->nn = sim->cfg.nr_ns;
	id->oncs = (uint16_t)sim->cfg.oncs;
	id->ocfs = NVME_OCFS_FORMAT0;
	/* Format and erase per namespace (FNA bits 1:0 clear), cryptographic erase offered. */
	id->fna = NVME_FNA_CRYPTO_ERASE;
	/* bit 0 present, bits 2:1 = 11b: Flush takes NSID FFFFFFFFh */
	id->vwc = sim->cfg.vwc ? 0x7 : 0;
	/* bit 0: SGLs without alignment rules; bit 16: Bit Bucket descriptors */
	/* sgl=1: byte-aligned SGLs with Bit Buckets; sgl=2: dword alignment asked, no Bit Bucket. */
	id->sgls = sim->cfg.sgl == 1 ? NVME_SGLS_BYTE | NVME_SGLS_BIT_BUCKET : sim->cfg.sgl == 2 ? NVME_SGLS_DWORD : 0;
	snprintf(id->subnqn, sizeof(id->subnqn), "nqn.2024-01.dev.nvpoll:sim:%s", sim->cfg.sn);
	id->psd[0].mp = 2500; /* 25 W, in 0.01 W */
}

/* EUI-64 / NGUID: the IEEE OUI above, then the namespace id. */
static void sim_ns_eui(uint32_t nsid, uint8_t *out, size_t len)
{
	memset(out, 0, len);
	out[0] = 0x52;
	out[1] = 0x54;
	out[2] = 0x00;
	memcpy(out + len - 4, &nsid, 4);
}

static void sim_id_ns(const struct nvp_sim *sim, uint32_t nsid, struct nvme_id_ns *id)
{
	const struct sim_ns *ns = &sim->ns[nsid - 1];

	unsigned i;

	id->nsze = id->ncap = id->nuse = ns->nsze;
	id->nlbaf = SIM_NR_LBAF - 1;
	id->flbas = (uint8_t)(ns->lbads - SIM_LBAF_LBADS(0));
	for (i = 0; i < SIM_NR_LBAF; i++) {
		id->lbaf[i].lbads = (uint8_t)SIM_LBAF_LBADS(i);
		id->lbaf[i].ms = (uint16_t)ns->ms; /* every format keeps the namespace's metadata size */
		/* Relative performance: 4 KiB best (0), 512 B better (1), the rest good (2). */
		id->lbaf[i].rp = SIM_LBAF_LBADS(i) == 12 ? 0 : SIM_LBAF_LBADS(i) == 9 ? 1 : 2;
	}
	id->dlfeat = 1; /* deallocated blocks read as zeroes */
	/* Copy: 16 ranges of up to 256 blocks, 1024 blocks a command (QEMU's defaults are 128/127/128). */
	id->mssrl = SIM_COPY_MSSRL;
	id->mcl = SIM_COPY_MCL;
	id->msrc = SIM_COPY_MSRC;
	if (ns->ms) {
		id->flbas |= ns->mset ? NVME_FLBAS_EXTENDED : 0;
		id->mc = NVME_MC_EXTENDED | NVME_MC_SEPARATE;
		/* Types 1, 2, 3, PI first and last: all, when the metadata can hold PI. */
		id->dpc = ns->ms >= 8 ? 0x1f : 0;
		id->dps = (uint8_t)(NVME_SET(ns->pi, DPS_PIT) | NVME_SET(ns->pil, DPS_PIP));
	}
	sim_ns_eui(nsid, id->eui64, sizeof(id->eui64));
	sim_ns_eui(nsid, id->nguid, sizeof(id->nguid));
}

/* Namespace ids above @after: the active ones (CNS 02h), or every allocated one (CNS 10h). */
static void sim_id_ns_list(const struct nvp_sim *sim, uint32_t after, bool all, uint32_t *list)
{
	uint32_t nsid;
	unsigned n = 0;

	for (nsid = after + 1; nsid <= sim->cfg.nr_ns && n < SIM_NS_LIST_MAX; nsid++)
		if (all || sim->ns[nsid - 1].attached)
			list[n++] = nsid;
}

/* Controller ids from @from up: all (CNS 13h), or those @ns is attached to (CNS 12h). */
static void sim_id_ctrl_list(const struct sim_ns *ns, uint16_t from, struct nvme_ctrl_list *l)
{
	if (SIM_CNTLID >= from && (!ns || ns->attached))
		l->ids[l->num++] = SIM_CNTLID;
}

/* Namespace Identification Descriptors: EUI-64 (type 1), NGUID (type 2), the command set (type 4). */
static void sim_id_ns_descs(const struct nvp_sim *sim, uint32_t nsid, uint8_t *buf)
{
	buf[0] = NVME_NIDT_EUI64;
	buf[1] = 8;
	sim_ns_eui(nsid, buf + 4, 8);
	buf[12] = NVME_NIDT_NGUID;
	buf[13] = 16;
	sim_ns_eui(nsid, buf + 16, 16);
	buf[32] = NVME_NIDT_CSI;
	buf[33] = 1;
	buf[36] = sim->ns[nsid - 1].zoned ? NVME_CSI_ZNS : NVME_CSI_NVM;
}

static bool sim_nsid_active(const struct nvp_sim *sim, uint32_t nsid)
{
	return nsid && nsid <= sim->cfg.nr_ns && sim->ns[nsid - 1].attached;
}

static bool sim_nsid_allocated(const struct nvp_sim *sim, uint32_t nsid)
{
	return nsid && nsid <= sim->cfg.nr_ns;
}

static uint16_t sim_admin_identify(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	_Alignas(8) uint8_t buf[SIM_IDENTIFY_LEN] = { 0 };
	uint32_t nsid = cmd->sqe.nsid;

	switch (cmd->sqe.cdw10 & 0xff) {
	case NVME_ID_CNS_CTRL:
		sim_id_ctrl(sim, (struct nvme_id_ctrl *)buf);
		break;
	case NVME_ID_CNS_NS:
		/* An inactive (detached) namespace id: a structure of zeroes. */
		if (!sim_nsid_allocated(sim, nsid))
			return SIM_ERR_GEN(NVME_SC_INVALID_NS);
		if (sim_nsid_active(sim, nsid))
			sim_id_ns(sim, nsid, (struct nvme_id_ns *)buf);
		break;
	case NVME_ID_CNS_NS_ALLOC:
		if (!sim_nsid_allocated(sim, nsid))
			return SIM_ERR_GEN(NVME_SC_INVALID_NS);
		sim_id_ns(sim, nsid, (struct nvme_id_ns *)buf);
		break;
	case NVME_ID_CNS_NS_ACTIVE_LIST:
	case NVME_ID_CNS_NS_ALLOC_LIST:
		if (nsid >= 0xfffffffeu)
			return SIM_ERR_GEN(NVME_SC_INVALID_NS);
		sim_id_ns_list(sim, nsid, (cmd->sqe.cdw10 & 0xff) == NVME_ID_CNS_NS_ALLOC_LIST, (uint32_t *)buf);
		break;
	case NVME_ID_CNS_NS_CTRL_LIST: /* CDW10 bits 31:16: the first controller id */
		if (!sim_nsid_allocated(sim, nsid))
			return SIM_ERR_GEN(NVME_SC_INVALID_NS);
		sim_id_ctrl_list(&sim->ns[nsid - 1], (uint16_t)(cmd->sqe.cdw10 >> 16), (struct nvme_ctrl_list *)buf);
		break;
	case NVME_ID_CNS_CTRL_LIST:
		sim_id_ctrl_list(NULL, (uint16_t)(cmd->sqe.cdw10 >> 16), (struct nvme_ctrl_list *)buf);
		break;
	case NVME_ID_CNS_CSI_NS:
	case NVME_ID_CNS_CSI_CTRL: {
		uint8_t csi = (uint8_t)(cmd->sqe.cdw11 >> NVME_ID_CSI_SHIFT);
		bool ns_cns = (cmd->sqe.cdw10 & 0xff) == NVME_ID_CNS_CSI_NS;

		if (csi != NVME_CSI_NVM && csi != NVME_CSI_ZNS)
			return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
		if (ns_cns && !sim_nsid_active(sim, nsid))
			return SIM_ERR_GEN(NVME_SC_INVALID_NS);
		if (ns_cns && csi == NVME_CSI_ZNS && !sim->ns[nsid - 1].zoned)
			return SIM_ERR_GEN(NVME_SC_INVALID_FIELD); /* not a zoned namespace */
		if (csi == NVME_CSI_ZNS && ns_cns)
			sim_zns_id_ns(sim, &sim->ns[nsid - 1], buf);
		else if (csi == NVME_CSI_ZNS)
			sim_zns_id_ctrl(sim, buf);
		break; /* NVM's command set specific structures: all zeroes in NVMe 2.0's sense */
	}
	case NVME_ID_CNS_NS_DESC_LIST:
		if (!sim_nsid_active(sim, nsid))
			return SIM_ERR_GEN(NVME_SC_INVALID_NS);
		sim_id_ns_descs(sim, nsid, buf);
		break;
	default:
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	}
	return sim_to_host(sim, cmd, buf, sizeof(buf), sizeof(buf));
}

/* ---- Features ---------------------------------------------------------- */

struct sim_feat_desc {
	bool supported;
	bool needs_vwc;
	size_t off;	/* its uint32_t in struct sim_feat */
	/* Check (and adjust) a new value; NULL: any value is stored. */
	uint16_t (*set)(struct nvp_sim *sim, uint32_t *v);
};

/* Power state 0 only (NPSS = 0). */
static uint16_t sim_feat_pm_set(struct nvp_sim *sim, uint32_t *v)
{
	(void)sim;
	return *v & 0x1f ? SIM_ERR_GEN(NVME_SC_INVALID_FIELD) : 0;
}

static uint16_t sim_feat_vwc_set(struct nvp_sim *sim, uint32_t *v)
{
	(void)sim;
	*v &= 1;
	return 0;
}

/* Grant what was asked for, up to what the controller has; only before any I/O queue exists. */
static uint16_t sim_feat_nq_set(struct nvp_sim *sim, uint32_t *v)
{
	uint32_t nsqr = *v & 0xffff, ncqr = *v >> 16, max = sim->cfg.nqueues - 1;

	if (sim_io_queues_exist(sim))
		return SIM_ERR_GEN(NVME_SC_CMD_SEQ_ERROR);
	if (nsqr == 0xffff || ncqr == 0xffff)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	*v = (ncqr < max ? ncqr : max) << 16 | (nsqr < max ? nsqr : max);
	return 0;
}

#define SIM_FEAT(f, ...) { .supported = true, .off = offsetof(struct sim_feat, f), __VA_ARGS__ }
static const struct sim_feat_desc sim_feats[256] = {
	[NVME_FEAT_ARBITRATION] = SIM_FEAT(arb),
	[NVME_FEAT_POWER_MGMT] = SIM_FEAT(pm, .set = sim_feat_pm_set),
	[NVME_FEAT_VOLATILE_WC] = SIM_FEAT(vwce, .set = sim_feat_vwc_set, .needs_vwc = true),
	[NVME_FEAT_NUM_QUEUES] = SIM_FEAT(nq, .set = sim_feat_nq_set),
	[NVME_FEAT_IRQ_COALESCE] = SIM_FEAT(irq_coalesce),
	[NVME_FEAT_ASYNC_EVENT] = SIM_FEAT(aec),
	[NVME_FEAT_KEEP_ALIVE] = SIM_FEAT(kato),
};

static const struct sim_feat_desc *sim_feat_find(const struct nvp_sim *sim, uint8_t fid)
{
	const struct sim_feat_desc *d = &sim_feats[fid];

	if (!d->supported || (d->needs_vwc && !sim->cfg.vwc))
		return NULL;
	return d;
}

static uint32_t *sim_feat_val(struct sim_feat *f, const struct sim_feat_desc *d)
{
	return (uint32_t *)((char *)f + d->off);
}

enum { SIM_SEL_CURRENT, SIM_SEL_DEFAULT, SIM_SEL_SAVED, SIM_SEL_CAPS };

static uint16_t sim_admin_get_features(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	const struct sim_feat_desc *d = sim_feat_find(sim, cmd->sqe.cdw10 & 0xff);
	unsigned sel = cmd->sqe.cdw10 >> 8 & 0x7;
	struct sim_feat dflt;

	if (!d || sel > SIM_SEL_CAPS)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	if (sel == SIM_SEL_CAPS) {
		cmd->dw0 = 1u << 2; /* changeable, neither saveable nor per namespace */
		return 0;
	}
	if (sel == SIM_SEL_CURRENT) {
		cmd->dw0 = *sim_feat_val(&sim->feat, d);
		return 0;
	}
	/* Nothing is saveable, so the saved value is the default. */
	sim_feat_defaults(sim, &dflt);
	cmd->dw0 = *sim_feat_val(&dflt, d);
	return 0;
}

static uint16_t sim_admin_set_features(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	const struct sim_feat_desc *d = sim_feat_find(sim, cmd->sqe.cdw10 & 0xff);
	uint32_t v = cmd->sqe.cdw11;
	uint16_t st;

	if (!d)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	if (cmd->sqe.cdw10 & 1u << 31)
		return SIM_ERR_CMD(NVME_SC_FEATURE_NOT_SAVEABLE);
	st = d->set ? d->set(sim, &v) : 0;
	if (st)
		return st;
	*sim_feat_val(&sim->feat, d) = v;
	if (d == &sim_feats[NVME_FEAT_NUM_QUEUES])
		cmd->dw0 = v;
	return 0;
}

/* ---- Get Log Page ------------------------------------------------------ */

/* 128-bit little-endian counters: the low 64 bits are enough here. */
static void sim_put128(uint8_t *dst, uint64_t v)
{
	memcpy(dst, &v, sizeof(v));
}

/* Newest entry first, as the spec orders them. */
static size_t sim_log_error(const struct nvp_sim *sim, uint8_t *buf)
{
	struct nvme_error_log *out = (struct nvme_error_log *)buf;
	uint64_t n = sim->err_count < SIM_ERRLOG_LEN ? sim->err_count : SIM_ERRLOG_LEN, i;

	for (i = 0; i < n; i++)
		out[i] = sim->errlog[(sim->err_count - 1 - i) % SIM_ERRLOG_LEN];
	return SIM_ERRLOG_LEN * sizeof(*out);
}

/* Data units are thousands of 512-byte units, rounded up. */
static size_t sim_log_smart(const struct nvp_sim *sim, uint8_t *buf)
{
	struct nvme_smart_log *s = (struct nvme_smart_log *)buf;
	uint16_t kelvin = 300;

	memcpy(s->temperature, &kelvin, sizeof(kelvin));
	s->avail_spare = 100;
	s->spare_thresh = 10;
	sim_put128(s->data_units_read, (sim->units_read + 999) / 1000);
	sim_put128(s->data_units_written, (sim->units_written + 999) / 1000);
	sim_put128(s->host_reads, sim->host_reads);
	sim_put128(s->host_writes, sim->host_writes);
	sim_put128(s->power_cycles, 1);
	sim_put128(s->num_err_log_entries, sim->err_count);
	return sizeof(*s);
}

static size_t sim_log_fw_slot(const struct nvp_sim *sim, uint8_t *buf)
{
	struct nvme_fw_slot_log *f = (struct nvme_fw_slot_log *)buf;

	(void)sim;
	f->afi = 1;
	sim_pad(f->frs[0], sizeof(f->frs[0]), "0.1");
	return sizeof(*f);
}

/* The namespaces changed since the last read with RAE = 0, ascending, then zeroes. */
static size_t sim_log_changed_ns(const struct nvp_sim *sim, uint8_t *buf)
{
	uint32_t *ids = (uint32_t *)buf;
	unsigned n = 0, i;

	for (i = 0; i < SIM_MAX_NS; i++)
		if (sim->changed_ns & 1u << i)
			ids[n++] = i + 1;
	return NVME_CHANGED_NS_MAX * sizeof(*ids);
}

static uint16_t sim_admin_get_log(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	_Alignas(8) uint8_t buf[SIM_ERRLOG_LEN * sizeof(struct nvme_error_log)] = { 0 };
	const struct nvme_sqe *c = &cmd->sqe;
	size_t len = (((size_t)(c->cdw11 & 0xffff) << 16 | c->cdw10 >> 16) + 1) * 4, size;
	uint64_t off = c->cdw12 | (uint64_t)c->cdw13 << 32;
	uint16_t st;

	switch (c->cdw10 & 0xff) {
	case NVME_LOG_ERROR:
		size = sim_log_error(sim, buf);
		break;
	case NVME_LOG_SMART:
		/* No per-namespace SMART (LPA bit 0 = 0): the controller-wide page only. */
		if (c->nsid && c->nsid != 0xffffffffu)
			return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
		size = sim_log_smart(sim, buf);
		break;
	case NVME_LOG_FW_SLOT:
		size = sim_log_fw_slot(sim, buf);
		break;
	case NVME_LOG_CHANGED_NS:
		size = sim_log_changed_ns(sim, buf);
		break;
	default:
		return SIM_ERR_CMD(NVME_SC_INVALID_LOG_PAGE);
	}
	if (off & 3 || off >= size || len > (sim->max_xfer ? sim->max_xfer : SIM_LOG_MAX))
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	st = sim_to_host(sim, cmd, buf + off, size - off, len);
	/* Read without Retain Asynchronous Event: the list starts over. */
	if (!st && (c->cdw10 & 0xff) == NVME_LOG_CHANGED_NS && !(c->cdw10 & NVME_LOG_RAE))
		sim->changed_ns = 0;
	return st;
}

/* ---- Format NVM ------------------------------------------------------------ */

/*
 * One namespace, or all (NSID FFFFFFFFh), to LBA format LBAF: every block
 * is deallocated (reads zeroes) whatever SES asks, as QEMU's controller
 * does; SES 1 and 2 are accepted as such erases. A format whose LBA size
 * does not divide a namespace's bytes is refused, so capacity in bytes
 * never changes. The Changed Namespace List names it, and a Namespace
 * Attribute Changed notice goes out when AEC bit 8 enables it.
 */
static uint16_t sim_admin_format(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	uint32_t cdw10 = cmd->sqe.cdw10, nsid = cmd->sqe.nsid;
	unsigned lbaf = NVME_GET(cdw10, FMT_LBAF) | NVME_GET(cdw10, FMT_LBAFU) << 4, lbads, i;
	unsigned first = nsid - 1, last = nsid - 1;

	if (nsid == 0xffffffffu) {
		first = 0;
		last = sim->cfg.nr_ns - 1;
	} else if (!sim_nsid_active(sim, nsid)) {
		return SIM_ERR_GEN(NVME_SC_INVALID_NS);
	}
	if (NVME_GET(cdw10, FMT_SES) > NVME_FMT_SES_CRYPTO)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	if (lbaf >= SIM_NR_LBAF)
		return SIM_ERR_CMD(NVME_SC_INVALID_FORMAT);
	lbads = SIM_LBAF_LBADS(lbaf);
	for (i = first; i <= last; i++) {
		if (!sim->ns[i].attached)
			continue;
		if (sim->ns[i].bytes & ((1ull << lbads) - 1))
			return SIM_ERR_CMD(NVME_SC_INVALID_FORMAT);
		/* PI needs 8 bytes of metadata, extended LBAs some (DPC = 0 without). */
		if (sim->ns[i].zoned && sim->cfg.zone_size % (1ull << lbads))
			return SIM_ERR_CMD(NVME_SC_INVALID_FORMAT);
		if ((NVME_GET(cdw10, FMT_PI) && sim->ns[i].ms < 8) ||
		    ((NVME_GET(cdw10, FMT_MSET) || NVME_GET(cdw10, FMT_PIL)) && !sim->ns[i].ms))
			return SIM_ERR_CMD(NVME_SC_INVALID_FORMAT);
	}
	if (NVME_GET(cdw10, FMT_PI) > 3)
		return SIM_ERR_CMD(NVME_SC_INVALID_PI);
	for (i = first; i <= last; i++) {
		struct sim_ns *ns = &sim->ns[i];

		if (!ns->attached)
			continue;
		ns->lbads = lbads;
		ns->nsze = ns->bytes >> lbads;
		if (ns->ms) {
			ns->mset = NVME_GET(cdw10, FMT_MSET);
			ns->pi = NVME_GET(cdw10, FMT_PI);
			ns->pil = NVME_GET(cdw10, FMT_PIL);
		}
		sim_ns_erase(sim, ns); /* after: the metadata's erased value depends on the PI type */
		if (ns->zoned) {
			ns->zone_blocks = sim->cfg.zone_size >> lbads;
			ns->nr_zones = ns->nsze / ns->zone_blocks;
			sim_zns_reset_all(ns);
		}
		sim->changed_ns |= 1u << i;
	}
	if (sim_file_store_geometry(sim)) {
		nvp_log(NVP_LOG_WARN, "sim: format: %s", nvp_errmsg());
		return SIM_SC(NVME_SC_INTERNAL);
	}
	if (sim->feat.aec & 1u << 8)
		sim_post_event(sim, NVME_SET(NVME_AER_NOTICE, AER_TYPE) | NVME_SET(0, AER_INFO) |
					    NVME_SET(NVME_LOG_CHANGED_NS, AER_LID));
	return 0;
}

/* ---- Namespace Attachment ------------------------------------------------ */

/*
 * SEL 0 attaches namespace NSID to the controllers of the list, SEL 1
 * detaches it; the subsystem has one controller (SIM_CNTLID), so that is
 * the only id a list may hold. Checks in QEMU's order: the namespace, the
 * list, then the state. The Changed Namespace List names the namespace
 * and a Namespace Attribute Changed notice goes out when AEC bit 8 asks.
 */
static uint16_t sim_admin_ns_attach(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	_Alignas(8) struct nvme_ctrl_list list;
	uint32_t nsid = cmd->sqe.nsid, sel = cmd->sqe.cdw10 & 0xf;
	struct sim_ns *ns;
	uint16_t st;
	unsigned i;

	if (sel > NVME_NS_ATTACH_SEL_DETACH)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	if (nsid == 0xffffffffu)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	if (!sim_nsid_allocated(sim, nsid))
		return SIM_ERR_GEN(NVME_SC_INVALID_NS);
	ns = &sim->ns[nsid - 1];
	st = sim_from_host(sim, cmd, &list, sizeof(list));
	if (st)
		return st;
	if (!list.num || list.num > NVME_CTRL_LIST_MAX)
		return SIM_ERR_CMD(NVME_SC_CTRL_LIST_INVALID);
	for (i = 0; i < list.num; i++)
		if (list.ids[i] != SIM_CNTLID)
			return SIM_ERR_CMD(NVME_SC_CTRL_LIST_INVALID);
	if (sel == NVME_NS_ATTACH_SEL_ATTACH && ns->attached)
		return SIM_ERR_CMD(NVME_SC_NS_ALREADY_ATTACHED);
	if (sel == NVME_NS_ATTACH_SEL_DETACH && !ns->attached)
		return SIM_ERR_CMD(NVME_SC_NS_NOT_ATTACHED);
	ns->attached = sel == NVME_NS_ATTACH_SEL_ATTACH;
	sim->changed_ns |= 1u << (nsid - 1);
	if (sim_file_store_geometry(sim)) {
		nvp_log(NVP_LOG_WARN, "sim: namespace attachment: %s", nvp_errmsg());
		return SIM_SC(NVME_SC_INTERNAL);
	}
	if (sim->feat.aec & 1u << 8)
		sim_post_event(sim, NVME_SET(NVME_AER_NOTICE, AER_TYPE) | NVME_SET(0, AER_INFO) |
					    NVME_SET(NVME_LOG_CHANGED_NS, AER_LID));
	return 0;
}

/* ---- AER, Keep Alive ------------------------------------------------------ */

/* Answered at once when an event is waiting, else held until one is raised. */
static uint16_t sim_admin_aer(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	if (sim->nr_aer > SIM_AERL)
		return SIM_ERR_CMD(NVME_SC_ASYNC_LIMIT);
	if (sim->nr_events) {
		cmd->dw0 = sim->events[0];
		memmove(sim->events, sim->events + 1, sizeof(sim->events[0]) * --sim->nr_events);
		return 0;
	}
	sim_hold(sim, cmd, SIM_CPL_AER, 0, false, 0);
	return SIM_HOLD;
}

/* The model has no keep-alive timer to restart. */
static uint16_t sim_admin_keep_alive(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	(void)sim;
	(void)cmd;
	return 0;
}

const struct sim_cmd_desc sim_admin_cmds[256] = {
	[NVME_ADMIN_DELETE_SQ] = { sim_queue_delete_sq },
	[NVME_ADMIN_CREATE_SQ] = { sim_queue_create_sq },
	[NVME_ADMIN_GET_LOG_PAGE] = { sim_admin_get_log },
	[NVME_ADMIN_DELETE_CQ] = { sim_queue_delete_cq },
	[NVME_ADMIN_CREATE_CQ] = { sim_queue_create_cq },
	[NVME_ADMIN_IDENTIFY] = { sim_admin_identify },
	[NVME_ADMIN_ABORT] = { sim_abort_cmd },
	[NVME_ADMIN_SET_FEATURES] = { sim_admin_set_features },
	[NVME_ADMIN_GET_FEATURES] = { sim_admin_get_features },
	[NVME_ADMIN_ASYNC_EVENT] = { sim_admin_aer },
	[NVME_ADMIN_KEEP_ALIVE] = { sim_admin_keep_alive },
	[NVME_ADMIN_DBBUF_CONFIG] = { sim_dbbuf_config },
	[NVME_ADMIN_FORMAT_NVM] = { sim_admin_format },
	[NVME_ADMIN_NS_ATTACH] = { sim_admin_ns_attach },
};
