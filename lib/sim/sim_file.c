/* SPDX-License-Identifier: MIT */
/*
 * file=PATH: the sim's namespaces kept in a file, so what one process
 * writes the next one reads (plain "sim" starts empty every time).
 *
 * Layout, all little-endian (the sim runs on little-endian hosts only):
 *   0        header (struct sim_file_hdr): magic, version, the geometry
 *   64 KiB   namespace 1, then each next namespace at the next 64 KiB
 *            boundary after the one before; the file ends where the last
 *            namespace ends.
 * 64 KiB keeps every namespace's offset a multiple of any page size Linux
 * uses, so each one is one mmap(MAP_SHARED) of the file. The file is
 * created sparse (ftruncate): a namespace costs the blocks written to it,
 * and Deallocate / Write Zeroes punch the blocks out again.
 *
 * Geometry: a file remembers its namespaces' count, sizes and LBA sizes,
 * and which are detached (Namespace Attachment), as a controller keeps
 * that across power cycles: the file's state wins over detached=, which
 * only sets up a new file.
 * Options that give none of ns=, lbads=, size= take them from the file;
 * options that give any must match it, or the open fails (-EINVAL) with
 * both geometries in the message, rather than misreading the data.
 *
 * One user at a time: the open takes flock(LOCK_EX | LOCK_NB) for the
 * device's life, and a second open (any process, this one included) fails
 * with -EBUSY.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "sim/sim_model.h"

#define SIM_FILE_MAGIC "NVPSIMNS"
#define SIM_FILE_VERSION 1u

struct sim_file_ns {
	uint64_t offset;	/* bytes from the start of the file */
	uint64_t bytes;
	uint32_t lbads;		/* log2 of the LBA data size */
	uint32_t flags;		/* SIM_FILE_NS_DETACHED; 0 in files older than the flag */
};
#define SIM_FILE_NS_DETACHED 1u

struct sim_file_hdr {
	char magic[8];
	uint32_t version;
	uint32_t nr_ns;
	uint64_t file_bytes;	/* where the last namespace ends */
	uint8_t rsvd[40];
	struct sim_file_ns ns[SIM_MAX_NS];
};
_Static_assert(sizeof(struct sim_file_hdr) == 64 + 24 * SIM_MAX_NS, "sim file header size");
_Static_assert(sizeof(struct sim_file_hdr) <= SIM_FILE_NS_ALIGN, "sim file header fits before namespace 1");

/* Where namespace @i (from 0) starts in the file: the layout above. */
uint64_t sim_file_ns_offset(const struct sim_cfg *cfg, unsigned i)
{
	uint64_t off = SIM_FILE_NS_ALIGN;
	unsigned k;

	for (k = 0; k < i; k++)
		off = NVP_ALIGN_UP(off + cfg->size[k], SIM_FILE_NS_ALIGN);
	return off;
}

/* The header the configured geometry gives. */
static void sim_file_hdr_build(const struct sim_cfg *cfg, const unsigned *lbads, uint32_t detached,
			       struct sim_file_hdr *h)
{
	unsigned i;

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, SIM_FILE_MAGIC, sizeof(h->magic));
	h->version = SIM_FILE_VERSION;
	h->nr_ns = cfg->nr_ns;
	for (i = 0; i < cfg->nr_ns; i++) {
		h->ns[i].offset = sim_file_ns_offset(cfg, i);
		h->ns[i].bytes = cfg->size[i];
		h->ns[i].lbads = lbads[i];
		h->ns[i].flags = detached & 1u << i ? SIM_FILE_NS_DETACHED : 0;
	}
	h->file_bytes = h->ns[cfg->nr_ns - 1].offset + h->ns[cfg->nr_ns - 1].bytes;
}

/* "ns=2,lbads=512:4096,size=67108864:1048576", as options would give it. */
static void sim_file_geometry_str(const struct sim_file_hdr *h, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "ns=%u,lbads=", h->nr_ns);
	unsigned i;

	for (i = 0; i < h->nr_ns && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%u", i ? ":" : "", 1u << h->ns[i].lbads);
	for (i = 0; i < h->nr_ns && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%" PRIu64, i ? ":" : ",size=", h->ns[i].bytes);
}

/* A header read from disk: is it one this code wrote, and self-consistent? */
static bool sim_file_hdr_valid(const struct sim_file_hdr *h, uint64_t file_bytes)
{
	uint64_t end = SIM_FILE_NS_ALIGN;
	unsigned i;

	if (memcmp(h->magic, SIM_FILE_MAGIC, sizeof(h->magic)) || h->version != SIM_FILE_VERSION ||
	    h->nr_ns < 1 || h->nr_ns > SIM_MAX_NS)
		return false;
	for (i = 0; i < h->nr_ns; i++) {
		const struct sim_file_ns *ns = &h->ns[i];

		if (ns->lbads < 9 || ns->lbads > 16 || !ns->bytes || ns->bytes & ((1ull << ns->lbads) - 1) ||
		    ns->offset != end || ns->bytes > UINT64_MAX / 2 - ns->offset || ns->flags & ~SIM_FILE_NS_DETACHED)
			return false;
		end = NVP_ALIGN_UP(ns->offset + ns->bytes, SIM_FILE_NS_ALIGN);
	}
	return h->file_bytes == h->ns[h->nr_ns - 1].offset + h->ns[h->nr_ns - 1].bytes &&
	       file_bytes >= h->file_bytes;
}

static int sim_file_write_hdr(struct nvp_sim *sim, const struct sim_file_hdr *h)
{
	ssize_t n = pwrite(sim->file_fd, h, sizeof(*h), 0);

	if (n != (ssize_t)sizeof(*h))
		return nvp_set_error(n < 0 ? -errno : -EIO, "sim file %s: cannot write its header: %s",
				     sim->cfg.file, n < 0 ? strerror(errno) : "short write");
	return 0;
}

/* A new (or empty) file: the header, then the size, sparse. */
static int sim_file_create(struct nvp_sim *sim, struct sim_file_hdr *h)
{
	int err;

	if ((uint64_t)sim->cfg.detached >> sim->cfg.nr_ns)
		return nvp_set_error(-EINVAL, "sim option detached= names namespace %u, but the new file %s has "
				     "namespaces 1 to %u", 32 - (unsigned)__builtin_clz(sim->cfg.detached), sim->cfg.file,
				     sim->cfg.nr_ns);
	sim_file_hdr_build(&sim->cfg, sim->cfg.lbads, sim->cfg.detached, h);
	err = sim_file_write_hdr(sim, h);
	if (err)
		return err;
	if (ftruncate(sim->file_fd, (off_t)h->file_bytes))
		return nvp_set_error(-errno, "sim file %s: cannot make it %" PRIu64 " bytes: %s", sim->cfg.file,
				     h->file_bytes, strerror(errno));
	return 0;
}

/* An existing file: its geometry, checked against the options or taken from the file. */
static int sim_file_adopt(struct nvp_sim *sim, const struct sim_file_hdr *h)
{
	struct sim_cfg *cfg = &sim->cfg;
	struct sim_file_hdr want;
	char have_s[320], want_s[320];
	uint32_t detached = 0;
	unsigned i;

	for (i = 0; i < h->nr_ns; i++)
		if (h->ns[i].flags & SIM_FILE_NS_DETACHED)
			detached |= 1u << i;
	if (!cfg->geometry_given) {
		cfg->nr_ns = h->nr_ns;
		for (i = 0; i < h->nr_ns; i++) {
			cfg->size[i] = h->ns[i].bytes;
			cfg->lbads[i] = h->ns[i].lbads;
		}
		cfg->detached = detached;
		return 0;
	}
	/* The attachment state is the file's, not part of the geometry compared. */
	sim_file_hdr_build(cfg, cfg->lbads, detached, &want);
	if (!memcmp(&want, h, sizeof(want))) {
		cfg->detached = detached;
		return 0;
	}
	sim_file_geometry_str(h, have_s, sizeof(have_s));
	sim_file_geometry_str(&want, want_s, sizeof(want_s));
	return nvp_set_error(-EINVAL, "sim file %s holds namespaces %s but the options ask for %s: "
			     "give the file's geometry (or no ns=, lbads=, size= to take it from the file), "
			     "or use another file", cfg->file, have_s, want_s);
}

/* Open (or create) and lock the file, and settle the geometry; the namespaces are mapped after. */
int sim_file_open(struct nvp_sim *sim)
{
	const char *path = sim->cfg.file;
	struct sim_file_hdr h;
	struct stat st;
	ssize_t n;

	sim->file_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (sim->file_fd < 0)
		return nvp_set_error(-errno, "sim file %s: cannot open it: %s", path, strerror(errno));
	if (flock(sim->file_fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			return nvp_set_error(-EBUSY, "sim file %s is in use by another open sim (flock): "
					     "one process at a time may open it; close the other first", path);
		return nvp_set_error(-errno, "sim file %s: cannot lock it: %s", path, strerror(errno));
	}
	if (fstat(sim->file_fd, &st))
		return nvp_set_error(-errno, "sim file %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return nvp_set_error(-EINVAL, "sim file %s is not a regular file", path);
	if (st.st_size == 0)
		return sim_file_create(sim, &h);
	n = pread(sim->file_fd, &h, sizeof(h), 0);
	if (n != (ssize_t)sizeof(h) || !sim_file_hdr_valid(&h, (uint64_t)st.st_size))
		return nvp_set_error(-EINVAL, "sim file %s is not a sim namespace file (no valid %s header, "
				     "or shorter than its header says): give a new or empty file", path,
				     SIM_FILE_MAGIC);
	return sim_file_adopt(sim, &h);
}

void sim_file_close(struct nvp_sim *sim)
{
	if (sim->file_fd >= 0)
		close(sim->file_fd); /* drops the flock */
	sim->file_fd = -1;
}

/* Flush: what the namespace holds reaches the file. */
int sim_file_sync(struct nvp_sim *sim, const struct sim_ns *ns)
{
	(void)sim;
	return msync(ns->data, ns->bytes, MS_SYNC) ? -errno : 0;
}

/* Zero a range by punching it out of the file: the mapping then reads zeroes. */
int sim_file_zero(struct nvp_sim *sim, const struct sim_ns *ns, uint64_t off, uint64_t len)
{
	return fallocate(sim->file_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 (off_t)(ns->file_off + off), (off_t)len) ? -errno : 0;
}

/* After a Format NVM or a Namespace Attachment: the file remembers the new LBA sizes and state. */
int sim_file_store_geometry(struct nvp_sim *sim)
{
	struct sim_file_hdr h;
	unsigned lbads[SIM_MAX_NS], i;
	uint32_t detached = 0;

	if (sim->file_fd < 0)
		return 0;
	for (i = 0; i < sim->cfg.nr_ns; i++) {
		lbads[i] = sim->ns[i].lbads;
		if (!sim->ns[i].attached)
			detached |= 1u << i;
	}
	sim_file_hdr_build(&sim->cfg, lbads, detached, &h);
	return sim_file_write_hdr(sim, &h);
}
