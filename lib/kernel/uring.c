/* SPDX-License-Identifier: MIT */
/*
 * io_uring_cmd and io_uring (kernel.h): one io_uring per qpair, set up on
 * the qpair's thread, with the namespace nodes registered as fixed files.
 * A poll puts the commands posted since the last one on the ring with one
 * io_uring_submit() and reaps the ring's completions without a system call
 * (the kernel posts them as it returns to user space); with
 * opts.kernel_iopoll (IORING_SETUP_IOPOLL) each poll enters the kernel to
 * poll the device, which needs the nvme driver's poll queues.
 *
 * io_uring_cmd hands the NVMe command as it is to the kernel
 * (NVME_URING_CMD_IO on /dev/ngXnY, 128-byte SQEs, 32-byte CQEs): the
 * completion carries the controller's status and dword 0.
 */
#include <errno.h>
#include <liburing.h>
#include <linux/nvme_ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <nvpoll/barrier.h>

#include "internal.h"
#include "kernel/kernel.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"

/*
 * After a controller reset the kernel fails passthrough commands for a
 * while (those in flight, and those issued while its namespace scan has
 * the queues frozen: -EFAULT, -EINTR or Command Aborted By Host); it only
 * requeues its own block I/O. Under NVP_RESET_RESUBMIT, a command that may
 * run twice and fails within RESET_GRACE_NS of a reset goes again every
 * RETRY_NS, as nvpoll's own driver resubmits it.
 */
#define RESET_GRACE_NS 2000000000ull
#define RETRY_NS 2000000ull

struct uring_qp {
	struct io_uring ring;
	int passthru;		/* io_uring_cmd: NVMe commands, not block I/O */
	int iopoll;
	unsigned inflight;
	/* Resubmission after a reset (passthrough only). */
	unsigned gen;		/* dev->reset_gen as last seen ... */
	uint64_t reset_ns;	/* ... and when this qpair saw it move */
	uint16_t *retry;	/* slots to put on the ring again ... */
	unsigned nr_retry;
	uint64_t retry_ns;	/* ... at this time */
};

static void uring_free(struct uring_qp *u)
{
	free(u->retry);
	free(u);
}

static int ring_init(struct nvp_qpair *qp, int passthru)
{
	struct nvp_kdev *kd = nvp_kdev(qp->dev->bus);
	struct uring_qp *u = calloc(1, sizeof(*u));
	struct io_uring_params p = { 0 };
	int *fds, err;

	if (!u)
		return nvp_set_error(-ENOMEM, "out of memory");
	u->passthru = passthru;
	u->iopoll = kd->iopoll;
	u->gen = nvp_load_acquire(&qp->dev->reset_gen);
	u->retry = calloc(qp->size, sizeof(*u->retry));
	if (!u->retry) {
		uring_free(u);
		return nvp_set_error(-ENOMEM, "out of memory");
	}
	if (passthru)
		p.flags |= IORING_SETUP_SQE128 | IORING_SETUP_CQE32;
	if (u->iopoll)
		p.flags |= IORING_SETUP_IOPOLL;
	/* Entries for every slot: the ring never refuses a command the qpair took. */
	err = io_uring_queue_init_params(qp->size, &u->ring, &p);
	if (err) {
		uring_free(u);
		return nvp_set_error(err, "%s: io_uring setup (%u entries%s%s): %s%s", kd->bus.name, qp->size,
				     passthru ? ", SQE128|CQE32" : "", kd->iopoll ? ", IOPOLL" : "", strerror(-err),
				     err == -EPERM ? " (io_uring disabled: sysctl kernel.io_uring_disabled)" :
				     err == -ENOMEM ? " (RLIMIT_MEMLOCK too low for the ring)" : "");
	}
	fds = malloc(kd->nr_ns * sizeof(*fds));
	for (unsigned i = 0; fds && i < kd->nr_ns; i++)
		fds[i] = kd->ns[i].fd;
	err = fds ? io_uring_register_files(&u->ring, fds, kd->nr_ns) : -ENOMEM;
	free(fds);
	if (err) {
		io_uring_queue_exit(&u->ring);
		uring_free(u);
		return nvp_set_error(err, "%s: io_uring_register_files: %s", kd->bus.name, strerror(-err));
	}
	qp->xport_priv = u;
	return 0;
}

static int uring_cmd_qpair_init(struct nvp_qpair *qp)
{
	return ring_init(qp, 1);
}

static int uring_qpair_init(struct nvp_qpair *qp)
{
	return ring_init(qp, 0);
}

static void uring_qpair_fini(struct nvp_qpair *qp)
{
	struct uring_qp *u = qp->xport_priv;

	if (!u)
		return;
	io_uring_queue_exit(&u->ring); /* cancels what is still in flight */
	uring_free(u);
	qp->xport_priv = NULL;
}

/* An NVMe command as NVME_URING_CMD_IO on namespace node @idx. */
static void prep_passthru(struct io_uring_sqe *s, unsigned idx, const struct nvme_sqe *sqe, void *buf,
			  size_t len)
{
	struct nvme_uring_cmd *c = (struct nvme_uring_cmd *)s->cmd;

	memset(s, 0, 2 * sizeof(*s)); /* a 128-byte entry */
	s->opcode = IORING_OP_URING_CMD;
	s->fd = (int)idx;
	s->flags = IOSQE_FIXED_FILE;
	s->cmd_op = NVME_URING_CMD_IO;
	c->opcode = sqe->opc;
	c->flags = sqe->flags & NVME_SQE_FUSE;
	c->nsid = sqe->nsid;
	c->cdw2 = sqe->cdw2;
	c->cdw3 = sqe->cdw3;
	c->addr = (uint64_t)(uintptr_t)buf;
	c->data_len = (uint32_t)len;
	c->cdw10 = sqe->cdw10;
	c->cdw11 = sqe->cdw11;
	c->cdw12 = sqe->cdw12;
	c->cdw13 = sqe->cdw13;
	c->cdw14 = sqe->cdw14;
	c->cdw15 = sqe->cdw15;
}

/* A free ring entry; there is one for every slot, so NULL would be a bug of ours: the command fails. */
static struct io_uring_sqe *ring_sqe(struct nvp_qpair *qp, struct uring_qp *u, uint16_t cid)
{
	struct io_uring_sqe *s = io_uring_get_sqe(&u->ring);

	if (!s)
		nvp_xport_complete_err(qp, cid, nvp_set_error(-EBUSY, "%s: io_uring SQ ring full",
							       qp->dev->bus->name));
	return s;
}

/* 1 when @sqe became a ring entry, 0 when it was finished here. */
static int take(struct nvp_qpair *qp, struct uring_qp *u, const struct nvme_sqe *sqe)
{
	struct io_uring_sqe *s;
	struct nvp_kio io;

	if (u->passthru) {
		struct nvp_kns *ns = nvp_kdev_ns(nvp_kdev(qp->dev->bus), sqe->nsid);
		size_t len;
		void *buf = nvp_xport_data(qp, sqe, &len);

		if (!ns) { /* no node for it: the controller's own answer */
			nvp_xport_post_cqe(qp, sqe->cid, NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_NS) |
					   NVME_STATUS_DNR, 0);
			return 0;
		}
		s = ring_sqe(qp, u, sqe->cid);
		if (!s)
			return 0;
		prep_passthru(s, (unsigned)(ns - nvp_kdev(qp->dev->bus)->ns), sqe, buf, len);
		io_uring_sqe_set_data64(s, sqe->cid);
		return 1;
	}
	nvp_kio_decode(qp, sqe, &io);
	if (io.op == KIO_DONE) {
		nvp_kio_complete(qp, sqe->cid, &io);
		return 0;
	}
	s = ring_sqe(qp, u, sqe->cid);
	if (!s)
		return 0;
	if (io.op == KIO_FLUSH) {
		io_uring_prep_fsync(s, (int)io.ns_index, IORING_FSYNC_DATASYNC);
	} else {
		if (io.op == KIO_READ)
			io_uring_prep_read(s, (int)io.ns_index, io.buf, (unsigned)io.len, io.off);
		else
			io_uring_prep_write(s, (int)io.ns_index, io.buf, (unsigned)io.len, io.off);
		s->rw_flags = io.dsync ? RWF_DSYNC : 0;
	}
	s->flags |= IOSQE_FIXED_FILE;
	/* The length travels with the cid, for the short-transfer check at completion. */
	io_uring_sqe_set_data64(s, sqe->cid | (uint64_t)io.len << 16);
	return 1;
}

/* A failed passthrough command that goes again (see RESET_GRACE_NS): 1 when @cid will. */
static int resubmit(struct nvp_qpair *qp, struct uring_qp *u, uint16_t cid)
{
	uint64_t now;

	if (qp->dev->opts.reset_policy != NVP_RESET_RESUBMIT || !nvp_sqe_resubmittable(&qp->reqs[cid].sqe))
		return 0;
	now = nvp_now_ns();
	if (nvp_load_acquire(&qp->dev->reset_gen) != u->gen) {
		u->gen = nvp_load_acquire(&qp->dev->reset_gen);
		u->reset_ns = now;
	}
	if (!u->reset_ns || now - u->reset_ns > RESET_GRACE_NS)
		return 0;
	if (!u->nr_retry)
		u->retry_ns = now + RETRY_NS;
	u->retry[u->nr_retry++] = cid;
	qp->stats.resubmitted++;
	return 1;
}

static void uring_poll(struct nvp_qpair *qp)
{
	struct uring_qp *u = qp->xport_priv;
	const struct nvme_sqe *sqe;
	struct io_uring_cqe *cqe;
	unsigned queued = 0, seen = 0, head;

	while ((sqe = nvp_xport_next_sqe(qp)))
		queued += (unsigned)take(qp, u, sqe);
	if (NVP_UNLIKELY(u->nr_retry) && nvp_now_ns() >= u->retry_ns) {
		unsigned n = u->nr_retry;

		u->nr_retry = 0;
		for (unsigned i = 0; i < n; i++)
			queued += (unsigned)take(qp, u, &qp->reqs[u->retry[i]].sqe);
	}
	if (queued || (u->iopoll && u->inflight)) {
		int ret = io_uring_submit_and_get_events(&u->ring);

		if (ret < 0 && ret != -EAGAIN && ret != -EINTR && ret != -EBUSY)
			nvp_log(NVP_LOG_ERROR, "%s: io_uring_enter: %s", qp->dev->bus->name, strerror(-ret));
		u->inflight += queued;
	}
	if (!u->inflight)
		return;
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		uint16_t cid = (uint16_t)cqe->user_data;

		seen++;
		if (u->passthru) {
			if (cqe->res && resubmit(qp, u, cid))
				continue;
			if (cqe->res < 0)
				nvp_xport_complete_err(qp, cid, nvp_set_error(cqe->res, "%s: io_uring_cmd: %s",
									      qp->dev->bus->name, strerror(-cqe->res)));
			else /* res: the NVMe status field; the big CQE's first word: dword 0 */
				nvp_xport_post_cqe(qp, cid, (uint16_t)cqe->res, (uint32_t)cqe->big_cqe[0]);
		} else {
			nvp_kio_complete_res(qp, cid, cqe->res, (size_t)(cqe->user_data >> 16));
		}
	}
	io_uring_cq_advance(&u->ring, seen);
	u->inflight -= seen;
}

const struct nvp_transport_ops nvp_xport_uring_cmd = {
	.name = "io_uring_cmd",
	.ctrl = &nvp_kernel_ctrl,
	.admin = nvp_kernel_admin,
	.qpair_init = uring_cmd_qpair_init,
	.qpair_fini = uring_qpair_fini,
	.poll = uring_poll,
};

const struct nvp_transport_ops nvp_xport_uring = {
	.name = "io_uring",
	.ctrl = &nvp_kernel_ctrl,
	.admin = nvp_kernel_admin,
	.qpair_init = uring_qpair_init,
	.qpair_fini = uring_qpair_fini,
	.poll = uring_poll,
};

static int uring_cmd_open(const char *addr, const struct nvp_opts *opts, struct nvp_bus **out)
{
	return nvp_kdev_open(&nvp_kernel_uring_cmd_ops, 0, addr, opts, out);
}

static int uring_open(const char *addr, const struct nvp_opts *opts, struct nvp_bus **out)
{
	return nvp_kdev_open(&nvp_kernel_uring_ops, 1, addr, opts, out);
}

const struct nvp_bus_ops nvp_kernel_uring_cmd_ops = {
	.name = "io_uring_cmd",
	.default_mem = "libc",
	.open = uring_cmd_open,
	.close = nvp_kdev_close,
	.dma_map = nvp_xport_dma_map,
	.dma_unmap = nvp_xport_dma_unmap,
};

const struct nvp_bus_ops nvp_kernel_uring_ops = {
	.name = "io_uring",
	.default_mem = "libc",
	.open = uring_open,
	.close = nvp_kdev_close,
	.dma_map = nvp_xport_dma_map,
	.dma_unmap = nvp_xport_dma_unmap,
};

/* io_uring works here: a ring can be set up (not disabled by sysctl, not filtered by seccomp). */
static int ring_works(char *why, size_t len, unsigned flags)
{
	struct io_uring ring;
	struct io_uring_params p = { .flags = flags };
	int err = io_uring_queue_init_params(2, &ring, &p);

	if (err) {
		snprintf(why, len, "io_uring cannot be set up here: %s", strerror(-err));
		return 0;
	}
	io_uring_queue_exit(&ring);
	return 1;
}

int nvp_kernel_uring_cmd_usable(char *why, size_t len)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (!ring_works(why, len, IORING_SETUP_SQE128 | IORING_SETUP_CQE32))
		return 0;
	if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 && (major < 5 || (major == 5 && minor < 19))) {
		snprintf(why, len, "Linux %s has no NVMe passthrough over io_uring (5.19 or later)", u.release);
		return 0;
	}
	return nvp_kdev_usable(why, len, "/dev/ngXnY and io_uring passthrough");
}

int nvp_kernel_uring_usable(char *why, size_t len)
{
	if (!ring_works(why, len, 0))
		return 0;
	return nvp_kdev_usable(why, len, "/dev/nvmeXnY and io_uring");
}
