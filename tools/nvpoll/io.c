/* SPDX-License-Identifier: MIT */
/*
 * nvpoll read and write: logical blocks between a namespace and a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nvpoll.h"

struct sync_io {
	int done, err;
	uint16_t status;
};

static void sync_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct sync_io *s = arg;

	s->done = 1;
	s->err = err;
	s->status = nvp_cqe_status(cqe);
}

/* One read or write command, waited for. */
static int rw_chunk(struct nvp_qpair *qp, const struct nvp_ns *ns, int write, uint64_t slba, uint32_t nlb,
		    void *buf)
{
	struct sync_io s = { 0 };
	char status[96];
	int err;

	err = write ? nvp_write(qp, ns, slba, nlb, buf, sync_done, &s) : nvp_read(qp, ns, slba, nlb, buf, sync_done, &s);
	if (err)
		return op_error("%s", cli_errmsg());
	while (!s.done)
		if (!nvp_qpair_poll(qp, 0))
			sched_yield(); /* a sim's thread (or valgrind's one CPU) needs the time */
	if (s.err) {
		fprintf(stderr, "nvpoll: %s of LBA %" PRIu64 "+%u failed: %s\n", write ? "write" : "read", slba, nlb,
			nvp_status_format(s.status, status, sizeof(status)));
		return 1;
	}
	return 0;
}

/* The input ran out or failed after the size check passed: it shrank, or an I/O error. */
static void input_failed(const struct data_file *d, const struct args *a, size_t done)
{
	const char *why = ferror(d->f) ? strerror(errno) : "it ended early";

	if (!done)
		fprintf(stderr, "nvpoll: reading %s failed: %s: nothing was written\n", d->name, why);
	else
		fprintf(stderr, "nvpoll: reading %s failed: %s: LBAs %" PRIu64 "..%" PRIu64 " (%zu of the %u "
			"blocks) were written, the rest were not\n", d->name, why, a->slba, a->slba + done - 1,
			done, a->nlb);
}

/* The namespace, and the LBA range inside it. */
static const struct nvp_ns_info *rw_ns(struct nvp_dev *dev, const struct args *a, const struct nvp_ns **ns)
{
	const struct nvp_ns_info *info;

	*ns = nvp_ns_get(dev, a->nsid);
	if (!*ns) {
		fprintf(stderr, "nvpoll: %s\n", cli_errmsg());
		return NULL;
	}
	info = nvp_ns_info(*ns);
	if (a->slba >= info->nsze || a->nlb > info->nsze - a->slba) {
		fprintf(stderr, "nvpoll: LBAs %" PRIu64 "..+%u are past the end of namespace %u (%" PRIu64 " blocks)\n",
			a->slba, a->nlb, a->nsid, info->nsze);
		return NULL;
	}
	return info;
}

/* Moves the blocks, one command of at most the controller's largest transfer at a time. */
static int rw_loop(struct nvp_qpair *qp, const struct nvp_ns *ns, const struct args *a, int write,
		   struct data_file *d, void *buf, size_t chunk_blocks, uint32_t lba_size)
{
	size_t done_blocks = 0;

	while (done_blocks < a->nlb) {
		uint32_t n = (uint32_t)(a->nlb - done_blocks < chunk_blocks ? a->nlb - done_blocks : chunk_blocks);
		size_t bytes = (size_t)n * lba_size;

		if (write && data_read(d, buf, bytes)) {
			input_failed(d, a, done_blocks);
			return 1;
		}
		if (rw_chunk(qp, ns, write, a->slba + done_blocks, n, buf))
			return 1;
		if (!write && fwrite(buf, 1, bytes, d->f) != bytes) {
			fprintf(stderr, "nvpoll: writing %s: %s\n", d->name, strerror(errno));
			return 1;
		}
		done_blocks += n;
	}
	return 0;
}

int cmd_rw(struct nvp_dev *dev, const struct args *a, int write, struct data_file *d)
{
	const struct nvp_ns *ns;
	const struct nvp_ns_info *info = rw_ns(dev, a, &ns);
	struct nvp_qpair *qp;
	size_t chunk_blocks;
	void *buf;
	int rc = 1;

	if (!info)
		return 1;
	if (write ? data_check_input(d, (size_t)a->nlb * info->lba_size, a->nlb, info->lba_size) : data_truncate(d))
		return 1;
	chunk_blocks = nvp_dev_max_xfer(dev) / info->lba_size;
	qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 2 });
	buf = qp ? nvp_dma_alloc(dev, chunk_blocks * info->lba_size) : NULL;
	if (!buf)
		fprintf(stderr, "nvpoll: %s%s\n", cli_errmsg(), write ? ": nothing was written" : "");
	else
		rc = rw_loop(qp, ns, a, write, d, buf, chunk_blocks, info->lba_size);
	if (buf)
		nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
	return rc;
}
