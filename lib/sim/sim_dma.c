/* SPDX-License-Identifier: MIT */
/*
 * DMA as the model sees it: bus addresses (IOVAs) handed out by dma_map(),
 * translated back to host memory for every access, and a command's data
 * pointer (PRP or SGL) resolved into a list of host pieces (sim->iov).
 *
 * IOVA layout: slot k of the table is the 2 MiB unit at
 * SIM_IOVA_BASE + k * 4 MiB, so every unit is followed by a 2 MiB hole and
 * no IOVA equals its virtual address. A driver that assumes one region's
 * units are contiguous on the bus, or that uses a virtual address as a bus
 * address, gets a DMA fault instead of silently working. Slots are never
 * reused, so a stale IOVA after dma_unmap() faults too.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim/sim_model.h"

#define SIM_IOVA_BASE 0x1000000000ull
#define SIM_IOVA_STRIDE (2 * NVP_DMA_UNIT_SIZE)
#define SIM_MAX_UNITS (1u << 20)	/* 2 TiB mapped over a sim's life */
#define SIM_SGL_MAX_DESC 65536		/* bounds a looping descriptor chain */

enum { SIM_SGL_DATA = 0, SIM_SGL_BIT_BUCKET = 1, SIM_SGL_SEGMENT = 2, SIM_SGL_LAST_SEGMENT = 3 };

/*
 * The model holds map_lock for whole passes and would take it straight
 * back; a waiting mapper announces itself so the model steps aside.
 */
void sim_map_lock(struct nvp_sim *sim)
{
	while (nvp_load_relaxed(&sim->map_waiters)) /* a hint: map_lock orders the rest */
		sched_yield();
	pthread_mutex_lock(&sim->map_lock);
}

void sim_map_unlock(struct nvp_sim *sim)
{
	pthread_mutex_unlock(&sim->map_lock);
}

static void sim_mapper_lock(struct nvp_sim *sim)
{
	nvp_fetch_add_relaxed(&sim->map_waiters, 1); /* a hint to the model: map_lock orders the rest */
	pthread_mutex_lock(&sim->map_lock);
	nvp_fetch_sub_relaxed(&sim->map_waiters, 1);
}

static int sim_units_reserve(struct nvp_sim *sim, size_t n)
{
	size_t cap = sim->cap_units ? sim->cap_units : 64;
	uint8_t **units;

	if (n > SIM_MAX_UNITS - sim->nr_units)
		return nvp_set_error(-ENOSPC, "sim: more than %u DMA map units used; "
				     "map fewer, larger regions", SIM_MAX_UNITS);
	while (cap < sim->nr_units + n)
		cap *= 2;
	if (cap == sim->cap_units)
		return 0;
	units = realloc(sim->units, cap * sizeof(*units));
	if (!units)
		return nvp_set_error(-ENOMEM, "sim: out of memory for the DMA map table");
	sim->units = units;
	sim->cap_units = cap;
	return 0;
}

static int sim_dma_check(void *vaddr, size_t len)
{
	if (!vaddr || !len || ((uintptr_t)vaddr | len) & (NVP_DMA_UNIT_SIZE - 1))
		return nvp_set_error(-EINVAL, "sim: dma_map of %p + %zu: address and length must "
				     "be non-zero multiples of 2 MiB", vaddr, len);
	return 0;
}

int sim_dma_map(struct nvp_bus *bus, void *vaddr, size_t len, uint64_t *unit_iova)
{
	struct nvp_sim *sim = (struct nvp_sim *)bus;
	size_t n = len >> NVP_DMA_UNIT_SHIFT, i;
	int err;

	err = sim_dma_check(vaddr, len);
	if (err)
		return err;
	if (nvp_load_acquire(&sim->released)) /* pairs with sim_release() */
		return nvp_set_error(-ENODEV, "sim: the device was released (removed): close it");
	sim_mapper_lock(sim);
	err = sim_units_reserve(sim, n);
	if (!err) {
		for (i = 0; i < n; i++) {
			sim->units[sim->nr_units] = (uint8_t *)vaddr + (i << NVP_DMA_UNIT_SHIFT);
			unit_iova[i] = SIM_IOVA_BASE + sim->nr_units * SIM_IOVA_STRIDE;
			sim->nr_units++;
		}
	}
	sim_map_unlock(sim);
	return err;
}

static long sim_iova_slot(const struct nvp_sim *sim, uint64_t iova)
{
	uint64_t rel = iova - SIM_IOVA_BASE;

	if (iova < SIM_IOVA_BASE || rel % SIM_IOVA_STRIDE || rel / SIM_IOVA_STRIDE >= sim->nr_units)
		return -1;
	return (long)(rel / SIM_IOVA_STRIDE);
}

static bool sim_in_range(const void *p, const uint8_t *va, size_t len)
{
	return (const uint8_t *)p >= va && (const uint8_t *)p < va + len;
}

/*
 * Unmapping memory a live queue or the doorbell buffers live in is what an
 * IOMMU would fault on at the next access: the controller fails (CFS) and
 * forgets its queues, so the model never touches memory the driver may
 * now free.
 */
static void sim_unmap_check_queues(struct nvp_sim *sim, const uint8_t *va, size_t len)
{
	unsigned q;

	if (!sim->sqs)
		return;
	sim_ctrl_catch_up(sim);
	if (!sim->enabled)
		return;
	if ((sim->dbbuf_dbs && sim_in_range(sim->dbbuf_dbs, va, len)) ||
	    (sim->dbbuf_eis && sim_in_range(sim->dbbuf_eis, va, len))) {
		nvp_log(NVP_LOG_WARN, "sim: dma_unmap of the doorbell buffers still in use");
		sim_halt(sim, "doorbell buffer memory unmapped");
		return;
	}
	for (q = 0; q <= sim->max_qid; q++) {
		if ((sim->sqs[q].live && sim_in_range(sim->sqs[q].ring, va, len)) ||
		    (sim->cqs[q].live && sim_in_range(sim->cqs[q].ring, va, len))) {
			nvp_log(NVP_LOG_WARN, "sim: dma_unmap of memory that queue %u still uses", q);
			sim_halt(sim, "queue memory unmapped");
			return;
		}
	}
}

int sim_dma_unmap(struct nvp_bus *bus, void *vaddr, size_t len, const uint64_t *unit_iova)
{
	struct nvp_sim *sim = (struct nvp_sim *)bus;
	size_t n = len >> NVP_DMA_UNIT_SHIFT, i;
	long slot;
	int err;

	err = sim_dma_check(vaddr, len);
	if (err)
		return err;
	sim_mapper_lock(sim);
	for (i = 0; i < n; i++) {
		slot = sim_iova_slot(sim, unit_iova[i]);
		if (slot < 0 || sim->units[slot] != (uint8_t *)vaddr + (i << NVP_DMA_UNIT_SHIFT)) {
			sim_map_unlock(sim);
			return nvp_set_error(-EINVAL, "sim: dma_unmap of %p + %zu does not match a dma_map",
					     vaddr, len);
		}
	}
	sim_unmap_check_queues(sim, vaddr, len);
	for (i = 0; i < n; i++)
		sim->units[sim_iova_slot(sim, unit_iova[i])] = NULL;
	sim_map_unlock(sim);
	return 0;
}

/* Host address of [iova, iova + len), which must lie in one mapped unit; NULL is a DMA fault. */
void *sim_dma_ptr(struct nvp_sim *sim, uint64_t iova, size_t len)
{
	uint64_t rel = iova - SIM_IOVA_BASE, slot = rel / SIM_IOVA_STRIDE;
	uint64_t off = rel % SIM_IOVA_STRIDE;

	if (iova < SIM_IOVA_BASE || slot >= sim->nr_units || !sim->units[slot] ||
	    off >= NVP_DMA_UNIT_SIZE || len > NVP_DMA_UNIT_SIZE - off) {
		SIM_STAT_ADD(sim, dma_faults, 1);
		nvp_log(NVP_LOG_INFO, "sim: DMA fault at IOVA 0x%llx + %zu", (unsigned long long)iova, len);
		return NULL;
	}
	return sim->units[slot] + off;
}

static uint16_t sim_iov_push(struct nvp_sim *sim, uint8_t *p, size_t len)
{
	struct sim_iov *last = sim->nr_iov ? &sim->iov[sim->nr_iov - 1] : NULL;
	struct sim_iov *iov;

	/* Pages the driver placed back to back are one piece: fewer, larger copies. */
	if (last && p && last->p && last->p + last->len == p) {
		last->len += len;
		return 0;
	}
	if (sim->nr_iov == sim->cap_iov) {
		size_t cap = sim->cap_iov ? sim->cap_iov * 2 : 64;

		iov = realloc(sim->iov, cap * sizeof(*iov));
		if (!iov)
			return SIM_SC(NVME_SC_INTERNAL);
		sim->iov = iov;
		sim->cap_iov = cap;
	}
	sim->iov[sim->nr_iov++] = (struct sim_iov){ .p = p, .len = len };
	return 0;
}

static uint16_t sim_iov_add(struct nvp_sim *sim, uint64_t iova, size_t len)
{
	uint8_t *p = sim_dma_ptr(sim, iova, len);

	if (!p)
		return SIM_ERR_GEN(NVME_SC_DATA_XFER_ERROR);
	return sim_iov_push(sim, p, len);
}

/*
 * A PRP list from @list on: every entry page aligned, the last entry of a
 * list page points to the next list page when more than one page remains.
 */
static uint16_t sim_prp_list(struct nvp_sim *sim, uint64_t list, size_t len)
{
	size_t psz = sim_page_size(sim), n, i, chunk;
	const uint64_t *ent;
	uint16_t st;

	if (list & 7)
		return SIM_ERR_GEN(NVME_SC_PRP_OFFSET_INVALID);
	while (len) {
		n = (psz - (list & (psz - 1))) / 8;
		ent = sim_dma_ptr(sim, list, n * 8);
		if (!ent)
			return SIM_ERR_GEN(NVME_SC_DATA_XFER_ERROR);
		for (i = 0; i < n && len; i++) {
			if (ent[i] & (psz - 1))
				return SIM_ERR_GEN(NVME_SC_PRP_OFFSET_INVALID);
			if (i == n - 1 && len > psz) {
				list = ent[i];
				break;
			}
			chunk = len < psz ? len : psz;
			st = sim_iov_add(sim, ent[i], chunk);
			if (st)
				return st;
			len -= chunk;
		}
	}
	return 0;
}

/* PRP1 may start anywhere dword aligned; everything after it is whole pages. */
static uint16_t sim_prp_map(struct nvp_sim *sim, uint64_t prp1, uint64_t prp2, size_t len)
{
	size_t psz = sim_page_size(sim);
	size_t first = psz - (prp1 & (psz - 1));
	uint16_t st;

	if (prp1 & 3)
		return SIM_ERR_GEN(NVME_SC_PRP_OFFSET_INVALID);
	if (first > len)
		first = len;
	st = sim_iov_add(sim, prp1, first);
	if (st || first == len)
		return st;
	len -= first;
	if (len <= psz) {
		if (prp2 & (psz - 1))
			return SIM_ERR_GEN(NVME_SC_PRP_OFFSET_INVALID);
		return sim_iov_add(sim, prp2, len);
	}
	return sim_prp_list(sim, prp2, len);
}

/* A Data Block or Bit Bucket descriptor: @len is what the command still needs. */
static uint16_t sim_sgl_data(struct nvp_sim *sim, const struct nvme_sgl_desc *d, size_t *len,
			     bool to_host)
{
	unsigned type = d->type >> 4;

	if (d->length > *len)
		return SIM_ERR_GEN(NVME_SC_SGL_INVALID_DATA);
	/* SGLS bits 1:0 = 10b (sgl=2): every Data Block dword aligned in address and length. */
	if (sim->cfg.sgl == 2 && type == SIM_SGL_DATA && ((d->addr | d->length) & 3))
		return SIM_ERR_GEN(NVME_SC_SGL_GRANULARITY);
	*len -= d->length;
	if (type == SIM_SGL_BIT_BUCKET) {
		/* Only where Identify Controller SGLS bit 16 offers it. */
		if (sim->cfg.sgl != 1)
			return SIM_ERR_GEN(NVME_SC_SGL_INVALID_TYPE);
		/* Only a read may discard data: a write has nothing to take it from. */
		if (!to_host)
			return SIM_ERR_GEN(NVME_SC_SGL_INVALID_TYPE);
		return d->length ? sim_iov_push(sim, NULL, d->length) : 0;
	}
	return d->length ? sim_iov_add(sim, d->addr, d->length) : 0;
}

static bool sim_sgl_is_data(const struct nvme_sgl_desc *d)
{
	return d->type >> 4 == SIM_SGL_DATA || d->type >> 4 == SIM_SGL_BIT_BUCKET;
}

/*
 * One SGL segment (@seg describes it): data descriptors, and as its last
 * entry optionally the descriptor of the next segment, copied to @next.
 */
static uint16_t sim_sgl_segment(struct nvp_sim *sim, const struct nvme_sgl_desc *seg, size_t *len,
				bool to_host, struct nvme_sgl_desc *next, unsigned *budget)
{
	const struct nvme_sgl_desc *list;
	bool last = seg->type >> 4 == SIM_SGL_LAST_SEGMENT;
	unsigned n = seg->length / 16, i;
	uint16_t st;

	if (!n || seg->length % 16 || n > *budget)
		return SIM_ERR_GEN(NVME_SC_SGL_INVALID_COUNT);
	*budget -= n;
	list = sim_dma_ptr(sim, seg->addr, seg->length);
	if (!list)
		return SIM_ERR_GEN(NVME_SC_DATA_XFER_ERROR);
	for (i = 0; i < n; i++) {
		struct nvme_sgl_desc d = list[i];

		if (d.type & 0xf)
			return SIM_ERR_GEN(NVME_SC_SGL_INVALID_TYPE);
		if (sim_sgl_is_data(&d)) {
			st = sim_sgl_data(sim, &d, len, to_host);
			if (st)
				return st;
			continue;
		}
		if (d.type >> 4 != SIM_SGL_SEGMENT && d.type >> 4 != SIM_SGL_LAST_SEGMENT)
			return SIM_ERR_GEN(NVME_SC_SGL_INVALID_TYPE);
		/* Only a non-last segment may chain, and only from its last entry. */
		if (last || i != n - 1)
			return SIM_ERR_GEN(NVME_SC_SGL_INVALID_LAST);
		*next = d;
		return 0;
	}
	if (!last)
		return SIM_ERR_GEN(NVME_SC_SGL_INVALID_LAST);
	next->type = 0xff;	/* end of the list */
	return 0;
}

static uint16_t sim_sgl_map(struct nvp_sim *sim, const struct nvme_sgl_desc *sgl, size_t len,
			    bool to_host)
{
	struct nvme_sgl_desc d = *sgl;
	unsigned budget = SIM_SGL_MAX_DESC;
	uint16_t st;

	for (;;) {
		if (d.type & 0xf)
			return SIM_ERR_GEN(NVME_SC_SGL_INVALID_TYPE);
		if (sim_sgl_is_data(&d)) {
			st = sim_sgl_data(sim, &d, &len, to_host);
			break;
		}
		if (d.type >> 4 != SIM_SGL_SEGMENT && d.type >> 4 != SIM_SGL_LAST_SEGMENT)
			return SIM_ERR_GEN(NVME_SC_SGL_INVALID_TYPE);
		st = sim_sgl_segment(sim, &d, &len, to_host, &d, &budget);
		if (st || d.type == 0xff)
			break;
	}
	if (!st && len)
		st = SIM_ERR_GEN(NVME_SC_SGL_INVALID_DATA);
	return st;
}

/*
 * Resolve @cmd's data pointer for @len bytes into sim->iov. Checks every
 * pointer before any data moves, so a bad one fails the command with no
 * partial transfer.
 */
uint16_t sim_dptr(struct nvp_sim *sim, const struct sim_cmd *cmd, size_t len, bool to_host)
{
	unsigned psdt = NVME_GET(cmd->sqe.flags, SQE_PSDT);

	sim->nr_iov = 0;
	if (!len)
		return 0;
	if (psdt == NVME_PSDT_PRP)
		return sim_prp_map(sim, cmd->sqe.prp1, cmd->sqe.prp2, len);
	/* Admin commands over PCIe take PRPs only. */
	if (psdt > NVME_PSDT_SGL_MPTR_SGL || !sim->cfg.sgl || cmd->sqid == 0)
		return SIM_ERR_GEN(NVME_SC_INVALID_FIELD);
	return sim_sgl_map(sim, &cmd->sqe.sgl, len, to_host);
}

/*
 * Copy @src to the resolved host pieces; past @src_len the host gets
 * zeroes. A SHORT_XFER fault stops it after sim->xfer_cap bytes: the rest
 * of the host's buffer keeps what it held.
 */
void sim_iov_to_host(struct nvp_sim *sim, const uint8_t *src, size_t src_len)
{
	size_t cap = sim->xfer_cap, i, n, len;

	for (i = 0; i < sim->nr_iov && cap; i++) {
		const struct sim_iov *v = &sim->iov[i];

		len = v->len < cap ? v->len : cap;
		n = len < src_len ? len : src_len;
		if (v->p) {
			memcpy(v->p, src, n);
			memset(v->p + n, 0, len - n);
		}
		src += n;
		src_len -= n;
		cap -= len;
	}
}

void sim_iov_from_host(struct nvp_sim *sim, uint8_t *dst)
{
	size_t i;

	for (i = 0; i < sim->nr_iov; i++) {
		memcpy(dst, sim->iov[i].p, sim->iov[i].len);
		dst += sim->iov[i].len;
	}
}

bool sim_iov_equal(struct nvp_sim *sim, const uint8_t *buf)
{
	size_t i;

	for (i = 0; i < sim->nr_iov; i++) {
		if (memcmp(buf, sim->iov[i].p, sim->iov[i].len))
			return false;
		buf += sim->iov[i].len;
	}
	return true;
}

/* Send @src (zero-padded from @src_len up to @len) to the command's data buffer. */
uint16_t sim_to_host(struct nvp_sim *sim, const struct sim_cmd *cmd, const void *src,
		     size_t src_len, size_t len)
{
	uint16_t st = sim_dptr(sim, cmd, len, true);

	if (!st)
		sim_iov_to_host(sim, src, src_len);
	return st;
}

uint16_t sim_from_host(struct nvp_sim *sim, const struct sim_cmd *cmd, void *dst, size_t len)
{
	uint16_t st = sim_dptr(sim, cmd, len, false);

	if (!st)
		sim_iov_from_host(sim, dst);
	return st;
}
