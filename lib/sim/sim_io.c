/* SPDX-License-Identifier: MIT */
/*
 * Namespaces and the NVM command set: Read, Write, Compare, Write Zeroes,
 * Dataset Management, Flush. Namespace data lives in anonymous mappings,
 * so a 64 MiB namespace costs only the pages written to it, and
 * deallocated or zeroed pages go back to the kernel and read as zeroes;
 * with file=PATH, in shared mappings of a sparse file (sim_file.c).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "sim/sim_model.h"

/* Namespace @i's data: anonymous memory, or its part of the file= file. */
static void *sim_ns_map(struct nvp_sim *sim, unsigned i, uint64_t file_off)
{
	if (sim->file_fd < 0)
		return mmap(NULL, sim->cfg.size[i], PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return mmap(NULL, sim->cfg.size[i], PROT_READ | PROT_WRITE, MAP_SHARED, sim->file_fd, (off_t)file_off);
}

int sim_ns_init(struct nvp_sim *sim)
{
	unsigned i;
	int err;

	if (sim->cfg.file[0]) {
		err = sim_file_open(sim);
		if (err)
			return err;
	}
	for (i = 0; i < sim->cfg.nr_ns; i++) {
		struct sim_ns *ns = &sim->ns[i];
		uint64_t file_off = sim_file_ns_offset(&sim->cfg, i);
		void *p = sim_ns_map(sim, i, file_off);

		if (p == MAP_FAILED)
			return nvp_set_error(-ENOMEM, "sim: cannot map %llu bytes for namespace %u (%s): "
					     "give it a smaller size=",
					     (unsigned long long)sim->cfg.size[i], i + 1, strerror(errno));
		ns->data = p;
		ns->bytes = sim->cfg.size[i];
		ns->file_off = file_off;
		ns->lbads = sim->cfg.lbads[i];
		ns->nsze = ns->bytes >> ns->lbads;
		ns->attached = !(sim->cfg.detached & 1u << i);
		err = sim_md_init(sim, ns, i);
		if (!err)
			err = sim_unc_init(ns);
		if (!err)
			err = sim_zns_init(sim, ns, i);
		if (err)
			return err;
	}
	return 0;
}

void sim_ns_fini(struct nvp_sim *sim)
{
	unsigned i;

	for (i = 0; i < SIM_MAX_NS; i++) {
		if (sim->ns[i].data)
			munmap(sim->ns[i].data, sim->ns[i].bytes);
		sim_md_fini(&sim->ns[i]);
		sim_unc_fini(&sim->ns[i]);
		sim_zns_fini(&sim->ns[i]);
	}
	sim_file_close(sim);
}

/*
 * Zero [off, off + len): whole pages are dropped rather than written. In a
 * file, MADV_DONTNEED would only drop the cached copy, so blocks are
 * punched out of the file instead.
 */
void sim_ns_zero(struct nvp_sim *sim, struct sim_ns *ns, uint64_t off, uint64_t len)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = NVP_ALIGN_UP(off, pg), end = (off + len) & ~(pg - 1);

	sim_md_zero(ns, off >> ns->lbads, len >> ns->lbads);
	sim_unc_mark(ns, off >> ns->lbads, len >> ns->lbads, false);
	if (sim->file_fd >= 0) {
		if (sim_file_zero(sim, ns, off, len))
			memset(ns->data + off, 0, len);
		return;
	}
	if (end <= start || madvise(ns->data + start, end - start, MADV_DONTNEED)) {
		memset(ns->data + off, 0, len);
		return;
	}
	memset(ns->data + off, 0, start - off);
	memset(ns->data + end, 0, off + len - end);
}

/* Every block deallocated: Format NVM. */
void sim_ns_erase(struct nvp_sim *sim, struct sim_ns *ns)
{
	sim_ns_zero(sim, ns, 0, ns->bytes);
}

struct sim_ns *sim_ns_alloc(struct nvp_sim *sim, uint32_t nsid)
{
	return nsid && nsid <= sim->cfg.nr_ns ? &sim->ns[nsid - 1] : NULL;
}

/* I/O to a detached namespace is Invalid Namespace or Format, as to one that does not exist. */
struct sim_ns *sim_ns_active(struct nvp_sim *sim, uint32_t nsid)
{
	struct sim_ns *ns = sim_ns_alloc(sim, nsid);

	return ns && ns->attached ? ns : NULL;
}

static bool sim_lba_ok(const struct sim_ns *ns, uint64_t slba, uint64_t nlb)
{
	return slba < ns->nsze && nlb <= ns->nsze - slba;
}

/* Checks in the order QEMU makes them: namespace, MDTS, LBA range. */
uint16_t sim_rw_check(struct nvp_sim *sim, struct sim_cmd *cmd, struct sim_rw *rw, bool xfer)
{
	rw->ns = sim_ns_active(sim, cmd->sqe.nsid);
	if (!rw->ns)
		return SIM_ERR_GEN(NVME_SC_INVALID_NS);
	rw->slba = cmd->sqe.cdw10 | (uint64_t)cmd->sqe.cdw11 << 32;
	rw->nlb = (cmd->sqe.cdw12 & 0xffff) + 1;
	rw->len = (size_t)rw->nlb << rw->ns->lbads;
	cmd->lba = rw->slba;
	if (xfer && sim->max_xfer && rw->len > sim->max_xfer)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	if (!sim_lba_ok(rw->ns, rw->slba, rw->nlb))
		return SIM_ERR_GEN(NVME_SC_LBA_RANGE);
	rw->data = rw->ns->data + (rw->slba << rw->ns->lbads);
	return 0;
}

static uint16_t sim_io_read(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	struct sim_rw rw;
	uint16_t st = sim_rw_check(sim, cmd, &rw, true);

	if (!st && sim_unc_any(rw.ns, rw.slba, rw.nlb))
		st = SIM_ERR(NVME_SCT_MEDIA, NVME_SC_READ_ERROR);
	if (!st)
		st = rw.ns->ms ? sim_md_read(sim, cmd, &rw) : sim_to_host(sim, cmd, rw.data, rw.len, rw.len);
	if (!st) {
		sim->units_read += rw.len >> 9;
		sim->host_reads++;
	}
	return st;
}

uint16_t sim_io_write(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	struct sim_rw rw;
	uint16_t st = sim_rw_check(sim, cmd, &rw, true);

	if (!st && rw.ns->zoned)
		st = sim_zns_write_check(sim, rw.ns, rw.slba, rw.nlb);
	if (!st)
		st = rw.ns->ms ? sim_md_write(sim, cmd, &rw) : sim_from_host(sim, cmd, rw.data, rw.len);
	if (!st && sim->corrupt)
		rw.data[0] ^= 0x01; /* behind any PI: what the controller checked is not what it keeps */
	if (!st)
		sim_unc_mark(rw.ns, rw.slba, rw.nlb, false);
	if (!st && rw.ns->zoned)
		sim_zns_written(rw.ns, rw.slba, rw.nlb);
	if (!st) {
		sim->units_written += rw.len >> 9;
		sim->host_writes++;
	}
	return st;
}

static uint16_t sim_io_compare(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	struct sim_rw rw;
	uint16_t st;

	if (!(sim->cfg.oncs & NVME_ONCS_COMPARE))
		return SIM_ERR_GEN(NVME_SC_INVALID_OPCODE);
	st = sim_rw_check(sim, cmd, &rw, true);

	if (!st && sim_unc_any(rw.ns, rw.slba, rw.nlb))
		st = SIM_ERR(NVME_SCT_MEDIA, NVME_SC_READ_ERROR);
	if (!st)
		st = sim_dptr(sim, cmd, rw.len, false);
	if (st)
		return st;
	sim->units_read += rw.len >> 9;
	sim->host_reads++;
	return sim_iov_equal(sim, rw.data) ? 0 : NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_COMPARE_FAILED);
}

static uint16_t sim_io_write_zeroes(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	struct sim_rw rw;
	uint16_t st = sim_rw_check(sim, cmd, &rw, false);

	if (!st && rw.ns->zoned)
		st = sim_zns_write_check(sim, rw.ns, rw.slba, rw.nlb);
	if (!st)
		sim_ns_zero(sim, rw.ns, (uint64_t)(rw.data - rw.ns->data), rw.len);
	if (!st && rw.ns->zoned)
		sim_zns_written(rw.ns, rw.slba, rw.nlb);
	return st;
}

/*
 * In memory there is nothing to flush; with file= the namespace's pages
 * are written to the file. NSID FFFFFFFFh means all (VWC bits 2:1).
 */
static uint16_t sim_io_flush(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	struct sim_ns *ns = sim_ns_active(sim, cmd->sqe.nsid);
	unsigned i;

	if (cmd->sqe.nsid != 0xffffffffu && !ns)
		return SIM_ERR_GEN(NVME_SC_INVALID_NS);
	if (sim->file_fd < 0)
		return 0;
	for (i = 0; i < sim->cfg.nr_ns; i++)
		if ((ns ? ns == &sim->ns[i] : sim->ns[i].attached) && sim_file_sync(sim, &sim->ns[i]))
			return SIM_ERR_GEN(NVME_SC_INTERNAL);
	return 0;
}

/* Deallocate: the blocks read back as zeroes (DLFEAT = 1). Other attributes are hints. */
static uint16_t sim_io_dsm(struct nvp_sim *sim, struct sim_cmd *cmd)
{
	struct nvme_dsm_range r[NVME_DSM_MAX_RANGES];
	struct sim_ns *ns = sim_ns_active(sim, cmd->sqe.nsid);
	unsigned nr = (cmd->sqe.cdw10 & 0xff) + 1, i;
	uint16_t st;

	if (!ns)
		return SIM_ERR_GEN(NVME_SC_INVALID_NS);
	st = sim_from_host(sim, cmd, r, nr * sizeof(r[0]));
	if (st || !(cmd->sqe.cdw11 & NVME_DSM_ATTR_DEALLOCATE))
		return st;
	/* All or nothing: check every range before any is dropped. */
	for (i = 0; i < nr; i++) {
		if (r[i].nlb && !sim_lba_ok(ns, r[i].slba, r[i].nlb)) {
			cmd->lba = r[i].slba;
			return SIM_ERR_GEN(NVME_SC_LBA_RANGE);
		}
	}
	for (i = 0; i < nr; i++)
		if (r[i].nlb)
			sim_ns_zero(sim, ns, r[i].slba << ns->lbads, (uint64_t)r[i].nlb << ns->lbads);
	return 0;
}

const struct sim_cmd_desc sim_io_cmds[256] = {
	[NVME_CMD_FLUSH] = { sim_io_flush },
	[NVME_CMD_WRITE] = { sim_io_write },
	[NVME_CMD_READ] = { sim_io_read },
	[NVME_CMD_COMPARE] = { sim_io_compare },
	[NVME_CMD_WRITE_ZEROES] = { sim_io_write_zeroes },
	[NVME_CMD_DSM] = { sim_io_dsm },
	[NVME_CMD_WRITE_UNCOR] = { sim_io_write_uncor },
	[NVME_CMD_VERIFY] = { sim_io_verify },
	[NVME_CMD_COPY] = { sim_io_copy },
	[NVME_CMD_ZONE_MGMT_SEND] = { sim_io_zone_send },
	[NVME_CMD_ZONE_MGMT_RECV] = { sim_io_zone_recv },
	[NVME_CMD_ZONE_APPEND] = { sim_io_zone_append },
};
