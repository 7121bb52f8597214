/* SPDX-License-Identifier: MIT */
/*
 * Zoned namespaces (zoned=1, zone_size=BYTES, max_open=, max_active=,
 * zasl=): sequential-write-required zones of zone_size bytes whose
 * capacity is their size, each with a state and a write pointer, run as
 * the ZNS command set has them. Writes (and Write Zeroes) must land at the
 * write pointer inside one zone; an Empty or Closed zone they reach opens
 * implicitly, if the open and active limits allow (no implicit closing:
 * at the limit a write fails with Too Many Open Zones); a zone written to
 * its capacity is Full. Zone Management Send opens, closes, finishes and
 * resets a zone or all; Receive reports them, with the state filter and
 * partial reports; Zone Append writes at the pointer and says where.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim/sim_model.h"

static bool zs_open(uint8_t s)
{
	return s == NVME_ZS_IMP_OPEN || s == NVME_ZS_EXP_OPEN;
}

static bool zs_active(uint8_t s)
{
	return zs_open(s) || s == NVME_ZS_CLOSED;
}

static uint64_t zslba_of(const struct sim_ns *ns, uint64_t z)
{
	return z * ns->zone_blocks;
}

/* The one place a zone changes state: the open and active counts follow. */
static void zone_set(struct sim_ns *ns, struct sim_zone *z, uint8_t state)
{
	ns->nr_open += (unsigned)zs_open(state) - (unsigned)zs_open(z->state);
	ns->nr_active += (unsigned)zs_active(state) - (unsigned)zs_active(z->state);
	z->state = state;
}

void sim_zns_reset_all(struct sim_ns *ns)
{
	ns->nr_open = ns->nr_active = 0;
	for (uint64_t i = 0; i < ns->nr_zones; i++)
		ns->zones[i] = (struct sim_zone){ .wp = zslba_of(ns, i), .state = NVME_ZS_EMPTY };
}

static int sim_zns_geometry(struct nvp_sim *sim, struct sim_ns *ns, unsigned i)
{
	uint64_t zbytes = sim->cfg.zone_size;

	if (zbytes & (((uint64_t)1 << ns->lbads) - 1) || ns->bytes % zbytes)
		return nvp_set_error(-EINVAL, "sim namespace %u: zone_size %llu must be a multiple of the %u-byte "
				     "LBA size and divide the namespace's %zu bytes", i + 1,
				     (unsigned long long)zbytes, 1u << ns->lbads, ns->bytes);
	ns->zone_blocks = zbytes >> ns->lbads;
	ns->nr_zones = ns->nsze / ns->zone_blocks;
	return 0;
}

int sim_zns_init(struct nvp_sim *sim, struct sim_ns *ns, unsigned i)
{
	int err;

	ns->zoned = sim->cfg.zoned[i];
	if (!ns->zoned)
		return 0;
	err = sim_zns_geometry(sim, ns, i);
	if (err)
		return err;
	/* Sized for the smallest blocks, so a format never needs more. */
	ns->zones = calloc(ns->bytes / sim->cfg.zone_size, sizeof(*ns->zones));
	if (!ns->zones)
		return nvp_set_error(-ENOMEM, "sim: no memory for %llu zones", (unsigned long long)ns->nr_zones);
	sim_zns_reset_all(ns);
	return 0;
}

void sim_zns_fini(struct sim_ns *ns)
{
	free(ns->zones);
	ns->zones = NULL;
}

void sim_zns_id_ns(const struct nvp_sim *sim, const struct sim_ns *ns, uint8_t *buf)
{
	struct nvme_zns_id_ns *id = (struct nvme_zns_id_ns *)buf;

	id->ozcs = 1; /* reads may cross zone boundaries */
	id->mar = sim->cfg.max_active ? sim->cfg.max_active - 1 : NVME_ZNS_NO_LIMIT;
	id->mor = sim->cfg.max_open ? sim->cfg.max_open - 1 : NVME_ZNS_NO_LIMIT;
	/* The zone size in bytes is the same in every format. */
	for (unsigned i = 0; i < SIM_NR_LBAF && i < 16; i++)
		id->lbafe[i].zsze = sim->cfg.zone_size >> SIM_LBAF_LBADS(i);
	(void)ns;
}

void sim_zns_id_ctrl(const struct nvp_sim *sim, uint8_t *buf)
{
	((struct nvme_zns_id_ctrl *)buf)->zasl = (uint8_t)sim->cfg.zasl;
}

/* Resources for @z to become open (from Empty it becomes active too). */
static uint16_t zone_may_open(const struct nvp_sim *sim, const struct sim_ns *ns, const struct sim_zone *z)
{
	if (z->state == NVME_ZS_EMPTY && sim->cfg.max_active && ns->nr_active >= sim->cfg.max_active)
		return SIM_ERR_CMD(NVME_SC_ZONE_TOO_MANY_ACTIVE);
	if (!zs_open(z->state) && sim->cfg.max_open && ns->nr_open >= sim->cfg.max_open)
		return SIM_ERR_CMD(NVME_SC_ZONE_TOO_MANY_OPEN);
	return 0;
}

static uint16_t zone_state_error(uint8_t state)
{
	switch (state) {
	case NVME_ZS_FULL:
		return SIM_ERR_CMD(NVME_SC_ZONE_FULL);
	case NVME_ZS_READ_ONLY:
		return SIM_ERR_CMD(NVME_SC_ZONE_READ_ONLY);
	case NVME_ZS_OFFLINE:
		return SIM_ERR_CMD(NVME_SC_ZONE_OFFLINE);
	default:
		return 0;
	}
}

uint16_t sim_zns_write_check(const struct nvp_sim *sim, const struct sim_ns *ns, uint64_t slba, uint64_t nlb)
{
	uint64_t zi = slba / ns->zone_blocks;
	const struct sim_zone *z = &ns->zones[zi];
	uint16_t st = zone_state_error(z->state);

	if (st)
		return st;
	if (slba + nlb > zslba_of(ns, zi) + ns->zone_blocks)
		return SIM_ERR_CMD(NVME_SC_ZONE_BOUNDARY);
	if (slba != z->wp)
		return SIM_ERR_CMD(NVME_SC_ZONE_INVALID_WRITE);
	return zone_may_open(sim, ns, z);
}

void sim_zns_written(struct sim_ns *ns, uint64_t slba, uint64_t nlb)
{
	uint64_t zi = slba / ns->zone_blocks;
	struct sim_zone *z = &ns->zones[zi];

	if (!zs_open(z->state))
		zone_set(ns, z, NVME_ZS_IMP_OPEN);
	z->wp += nlb;
	if (z->wp == zslba_of(ns, zi) + ns->zone_blocks)
		zone_set(ns, z, NVME_ZS_FULL);
}

/* One action on one zone: 0, or why not (the zone stays as it was). */
static uint16_t zone_action(struct nvp_sim *sim, struct sim_ns *ns, uint64_t zi, unsigned zsa)
{
	struct sim_zone *z = &ns->zones[zi];
	uint64_t zslba = zslba_of(ns, zi);
	uint16_t st;

	switch (zsa) {
	case NVME_ZSA_OPEN:
		if (z->state == NVME_ZS_EXP_OPEN)
			return 0;
		if (z->state != NVME_ZS_EMPTY && z->state != NVME_ZS_CLOSED && z->state != NVME_ZS_IMP_OPEN)
			break;
		st = zone_may_open(sim, ns, z);
		if (st)
			return st;
		zone_set(ns, z, NVME_ZS_EXP_OPEN);
		return 0;
	case NVME_ZSA_CLOSE:
		if (z->state == NVME_ZS_CLOSED)
			return 0;
		if (!zs_open(z->state))
			break;
		zone_set(ns, z, NVME_ZS_CLOSED);
		return 0;
	case NVME_ZSA_FINISH:
		if (z->state == NVME_ZS_FULL)
			return 0;
		if (z->state != NVME_ZS_EMPTY && !zs_active(z->state))
			break;
		zone_set(ns, z, NVME_ZS_FULL);
		z->wp = zslba + ns->zone_blocks;
		return 0;
	case NVME_ZSA_RESET:
		if (z->state == NVME_ZS_EMPTY)
			return 0;
		if (!zs_active(z->state) && z->state != NVME_ZS_FULL)
			break;
		sim_ns_zero(sim, ns, zslba << ns->lbads, ns->zone_blocks << ns->lbads);
		zone_set(ns, z, NVME_ZS_EMPTY);
		z->wp = zslba;
		return 0;
	case NVME_ZSA_OFFLINE:
		if (z->state == NVME_ZS_OFFLINE)
			return 0;
		if (z->state != NVME_ZS_READ_ONLY)
			break;
		zone_set(ns, z, NVME_ZS_OFFLINE);
		return 0;
	default:
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	}
	return SIM_ERR_CMD(NVME_SC_ZONE_INVALID_TRANSITION);
}

/* Select All: the zones each action applies to; others are left alone. */
static bool zone_selected(unsigned zsa, uint8_t s)
{
	switch (zsa) {
	case NVME_ZSA_OPEN:
		return s == NVME_ZS_CLOSED;
	case NVME_ZSA_CLOSE:
		return zs_open(s);
	case NVME_ZSA_FINISH:
		return zs_active(s);
	case NVME_ZSA_RESET:
		return zs_active(s) || s == NVME_ZS_FULL;
	case NVME_ZSA_OFFLINE:
		return s == NVME_ZS_READ_ONLY;
	default:
		return false;
	}
}

static struct sim_ns *sim_zoned_ns(struct nvp_sim *sim, const struct sim_cmd *cmd, uint16_t *st)
{
	struct sim_ns *ns = sim_ns_active(sim, cmd->sqe.nsid);

	/* As QEMU's: with CC.CSS the NVM set alone, a zoned namespace takes NVM commands only. */
	bool zns = ns && ns->zoned && NVME_GET(sim->cc, CC_CSS) == NVME_CC_CSS_ALL;

	*st = !ns ? SIM_ERR_GEN(NVME_SC_INVALID_NS) : !zns ? SIM_ERR_GEN(NVME_SC_INVALID_OPCODE) : 0;
	return *st ? NULL : ns;
}

uint16_t sim_io_zone_send(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	uint64_t slba = cmd->sqe.cdw10 | (uint64_t)cmd->sqe.cdw11 << 32;
	unsigned zsa = cmd->sqe.cdw13 & 0xff;
	uint16_t st;
	struct sim_ns *ns = sim_zoned_ns(sim, cmd, &st);

	if (!ns)
		return st;
	cmd->lba = slba;
	if (cmd->sqe.cdw13 & NVME_ZSA_SELECT_ALL) {
		if (zsa < NVME_ZSA_CLOSE || zsa > NVME_ZSA_OFFLINE)
			return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
		for (uint64_t i = 0; i < ns->nr_zones; i++)
			if (zone_selected(zsa, ns->zones[i].state) && (st = zone_action(sim, ns, i, zsa)))
				return st;
		return 0;
	}
	if (slba >= ns->nsze)
		return SIM_ERR_GEN(NVME_SC_LBA_RANGE);
	if (slba % ns->zone_blocks)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	return zone_action(sim, ns, slba / ns->zone_blocks, zsa);
}

static bool zone_matches(unsigned zrasf, uint8_t s)
{
	static const uint8_t want[] = {
		[NVME_ZRASF_EMPTY] = NVME_ZS_EMPTY, [NVME_ZRASF_IMP_OPEN] = NVME_ZS_IMP_OPEN,
		[NVME_ZRASF_EXP_OPEN] = NVME_ZS_EXP_OPEN, [NVME_ZRASF_CLOSED] = NVME_ZS_CLOSED,
		[NVME_ZRASF_FULL] = NVME_ZS_FULL, [NVME_ZRASF_READ_ONLY] = NVME_ZS_READ_ONLY,
		[NVME_ZRASF_OFFLINE] = NVME_ZS_OFFLINE,
	};

	return zrasf == NVME_ZRASF_ALL || want[zrasf] == s;
}

/* Report Zones from the zone holding SLBA: as many descriptors as fit, the header counting per Partial Report. */
uint16_t sim_io_zone_recv(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	uint64_t slba = cmd->sqe.cdw10 | (uint64_t)cmd->sqe.cdw11 << 32, matched = 0, stored = 0;
	size_t len = ((size_t)cmd->sqe.cdw12 + 1) * 4, fit;
	unsigned zra = NVME_GET(cmd->sqe.cdw13, ZRA), zrasf = NVME_GET(cmd->sqe.cdw13, ZRASF);
	bool partial = NVME_GET(cmd->sqe.cdw13, ZRA_PARTIAL);
	struct nvme_zone_report_hdr hdr = { 0 };
	uint8_t *out;
	uint16_t st;
	struct sim_ns *ns = sim_zoned_ns(sim, cmd, &st);

	if (!ns)
		return st;
	cmd->lba = slba;
	if (zra != NVME_ZRA_REPORT || zrasf > NVME_ZRASF_OFFLINE || len < sizeof(hdr))
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	if (sim->max_xfer && len > sim->max_xfer)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	if (slba >= ns->nsze)
		return SIM_ERR_GEN(NVME_SC_LBA_RANGE);
	out = calloc(1, len);
	if (!out)
		return SIM_SC(NVME_SC_INTERNAL);
	fit = (len - sizeof(hdr)) / sizeof(struct nvme_zone_desc);
	for (uint64_t i = slba / ns->zone_blocks; i < ns->nr_zones; i++) {
		const struct sim_zone *z = &ns->zones[i];
		struct nvme_zone_desc d = { 0 };

		if (!zone_matches(zrasf, z->state))
			continue;
		matched++;
		if (stored == fit)
			continue;
		d.zt = NVME_ZONE_TYPE_SEQ_WRITE;
		d.zs = (uint8_t)(z->state << 4);
		d.zcap = ns->zone_blocks;
		d.zslba = zslba_of(ns, i);
		/* Full, read-only and offline zones have no valid write pointer: all ones, as QEMU reports. */
		d.wp = z->state == NVME_ZS_FULL || z->state >= NVME_ZS_READ_ONLY ? UINT64_MAX : z->wp;
		memcpy(out + sizeof(hdr) + stored * sizeof(d), &d, sizeof(d));
		stored++;
	}
	hdr.nr_zones = partial ? stored : matched;
	memcpy(out, &hdr, sizeof(hdr));
	st = sim_to_host(sim, cmd, out, len, len);
	free(out);
	return st;
}

/* Zone Append: a write at the zone's write pointer; completion dwords 0 and 1 say where it went. */
uint16_t sim_io_zone_append(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	uint64_t zslba = cmd->sqe.cdw10 | (uint64_t)cmd->sqe.cdw11 << 32, wp;
	uint64_t nlb = (cmd->sqe.cdw12 & 0xffff) + 1;
	uint16_t st;
	struct sim_ns *ns = sim_zoned_ns(sim, cmd, &st);

	if (!ns)
		return st;
	cmd->lba = zslba;
	if (zslba >= ns->nsze)
		return SIM_ERR_GEN(NVME_SC_LBA_RANGE);
	if (zslba % ns->zone_blocks)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	if (sim->cfg.zasl && (nlb << ns->lbads) > (size_t)1 << (12 + sim->cfg.zasl))
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	st = zone_state_error(ns->zones[zslba / ns->zone_blocks].state);
	if (st)
		return st;
	wp = ns->zones[zslba / ns->zone_blocks].wp;
	cmd->sqe.cdw10 = (uint32_t)wp;
	cmd->sqe.cdw11 = (uint32_t)(wp >> 32);
	st = sim_io_write(sim, cmd);
	if (!st) {
		cmd->dw0 = (uint32_t)wp;
		cmd->dw1 = (uint32_t)(wp >> 32);
	}
	return st;
}
