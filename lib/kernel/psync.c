/* SPDX-License-Identifier: MIT */
/*
 * psync (kernel.h): each command runs with pread/pwrite/fdatasync on its
 * namespace's block node when the poll takes it, and its completion is
 * reaped by the same poll. The API stays asynchronous; the I/O does not
 * overlap, which is what psync is for: the plainest path to compare with.
 */
#include <errno.h>
#include <unistd.h>
#include <sys/uio.h>

#include "internal.h"
#include "kernel/kernel.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"

static void psync_poll(struct nvp_qpair *qp)
{
	const struct nvme_sqe *sqe;

	while ((sqe = nvp_xport_next_sqe(qp))) {
		struct nvp_kio io;
		struct iovec iov;
		ssize_t res;

		nvp_kio_decode(qp, sqe, &io);
		iov.iov_base = io.buf;
		iov.iov_len = io.len;
		switch (io.op) {
		case KIO_READ:
			res = preadv2(io.fd, &iov, 1, (off_t)io.off, 0);
			break;
		case KIO_WRITE:
			res = pwritev2(io.fd, &iov, 1, (off_t)io.off, io.dsync ? RWF_DSYNC : 0);
			break;
		case KIO_FLUSH:
			res = fdatasync(io.fd);
			io.len = 0;
			break;
		default:
			nvp_kio_complete(qp, sqe->cid, &io);
			continue;
		}
		nvp_kio_complete_res(qp, sqe->cid, res < 0 ? -errno : res, io.len);
	}
}

const struct nvp_transport_ops nvp_xport_psync = {
	.name = "psync",
	.ctrl = &nvp_kernel_ctrl,
	.admin = nvp_kernel_admin,
	.poll = psync_poll,
};

static int psync_open(const char *addr, const struct nvp_opts *opts, struct nvp_bus **out)
{
	return nvp_kdev_open(&nvp_kernel_psync_ops, 1, addr, opts, out);
}

const struct nvp_bus_ops nvp_kernel_psync_ops = {
	.name = "psync",
	.default_mem = "libc",
	.open = psync_open,
	.close = nvp_kdev_close,
	.dma_map = nvp_xport_dma_map,
	.dma_unmap = nvp_xport_dma_unmap,
};

int nvp_kernel_psync_usable(char *why, size_t len)
{
	return nvp_kdev_usable(why, len, "/dev/nvmeXnY and pread/pwrite");
}
