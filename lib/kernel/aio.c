/* SPDX-License-Identifier: MIT */
/*
 * libaio (kernel.h): Linux AIO on the block nodes (O_DIRECT), one AIO
 * context per qpair: a poll submits what was posted since the last one
 * with one io_submit() and reaps with io_getevents() without waiting.
 */
#include <errno.h>
#include <libaio.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "kernel/kernel.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"

struct aio_qp {
	io_context_t ctx;
	unsigned inflight;
	struct iocb *iocbs;	/* one per slot, by cid */
	struct iocb **batch;
	struct io_event *events;
};

static void aio_qpair_fini(struct nvp_qpair *qp)
{
	struct aio_qp *a = qp->xport_priv;

	if (!a)
		return;
	if (a->ctx)
		io_destroy(a->ctx); /* waits for what is in flight */
	free(a->iocbs);
	free(a->batch);
	free(a->events);
	free(a);
	qp->xport_priv = NULL;
}

static int aio_qpair_init(struct nvp_qpair *qp)
{
	struct aio_qp *a = calloc(1, sizeof(*a));
	unsigned slots = qp->size - 1u;
	int err;

	if (!a)
		return nvp_set_error(-ENOMEM, "out of memory");
	qp->xport_priv = a;
	a->iocbs = calloc(slots, sizeof(*a->iocbs));
	a->batch = calloc(slots, sizeof(*a->batch));
	a->events = calloc(slots, sizeof(*a->events));
	if (!a->iocbs || !a->batch || !a->events) {
		aio_qpair_fini(qp);
		return nvp_set_error(-ENOMEM, "out of memory");
	}
	err = io_setup((int)slots, &a->ctx);
	if (err) {
		a->ctx = 0;
		aio_qpair_fini(qp);
		return nvp_set_error(err, "%s: io_setup(%u): %s%s", qp->dev->bus->name, slots, strerror(-err),
				     err == -EAGAIN ? " (above fs.aio-max-nr)" : "");
	}
	return 0;
}

static void aio_poll(struct nvp_qpair *qp)
{
	struct aio_qp *a = qp->xport_priv;
	const struct nvme_sqe *sqe;
	struct timespec zero = { 0, 0 };
	int n = 0, got;

	while ((sqe = nvp_xport_next_sqe(qp))) {
		struct iocb *cb = &a->iocbs[sqe->cid];
		struct nvp_kio io;

		nvp_kio_decode(qp, sqe, &io);
		if (io.op == KIO_READ)
			io_prep_pread(cb, io.fd, io.buf, io.len, (long long)io.off);
		else if (io.op == KIO_WRITE)
			io_prep_pwrite(cb, io.fd, io.buf, io.len, (long long)io.off);
		else if (io.op == KIO_FLUSH)
			io_prep_fdsync(cb, io.fd);
		if (io.op == KIO_DONE) {
			nvp_kio_complete(qp, sqe->cid, &io);
			continue;
		}
		if (io.op == KIO_WRITE && io.dsync)
			cb->aio_rw_flags = RWF_DSYNC;
		cb->data = (void *)(uintptr_t)sqe->cid;
		a->batch[n++] = cb;
	}
	for (int done = 0; done < n;) {
		int ret = io_submit(a->ctx, n - done, a->batch + done);

		if (ret <= 0) { /* the rest fail as one */
			int err = ret < 0 ? ret : -EIO;

			for (int i = done; i < n; i++)
				nvp_xport_complete_err(qp, (uint16_t)(uintptr_t)a->batch[i]->data,
						       nvp_set_error(err, "%s: io_submit: %s", qp->dev->bus->name,
								     strerror(-err)));
			break;
		}
		done += ret;
		a->inflight += (unsigned)ret;
	}
	if (!a->inflight)
		return;
	got = io_getevents(a->ctx, 0, (long)a->inflight, a->events, &zero);
	for (int i = 0; i < got; i++) {
		struct iocb *cb = a->events[i].obj;
		size_t len = cb->aio_lio_opcode == IO_CMD_FDSYNC ? 0 : cb->u.c.nbytes;

		nvp_kio_complete_res(qp, (uint16_t)(uintptr_t)cb->data, (long)a->events[i].res, len);
	}
	if (got > 0)
		a->inflight -= (unsigned)got;
}

const struct nvp_transport_ops nvp_xport_aio = {
	.name = "libaio",
	.ctrl = &nvp_kernel_ctrl,
	.admin = nvp_kernel_admin,
	.qpair_init = aio_qpair_init,
	.qpair_fini = aio_qpair_fini,
	.poll = aio_poll,
};

static int aio_open(const char *addr, const struct nvp_opts *opts, struct nvp_bus **out)
{
	return nvp_kdev_open(&nvp_kernel_aio_ops, 1, addr, opts, out);
}

const struct nvp_bus_ops nvp_kernel_aio_ops = {
	.name = "libaio",
	.default_mem = "libc",
	.open = aio_open,
	.close = nvp_kdev_close,
	.dma_map = nvp_xport_dma_map,
	.dma_unmap = nvp_xport_dma_unmap,
};

int nvp_kernel_aio_usable(char *why, size_t len)
{
	io_context_t ctx = 0;
	int err = io_setup(1, &ctx);

	if (err) {
		snprintf(why, len, "Linux AIO cannot be set up here: %s", strerror(-err));
		return 0;
	}
	io_destroy(ctx);
	return nvp_kdev_usable(why, len, "/dev/nvmeXnY and Linux AIO");
}
