/* SPDX-License-Identifier: MIT */
/*
 * The kernel's NVMe paths as configs: the controller belongs to the kernel
 * nvme driver and nvpoll is one of its clients. Admin commands go through
 * NVME_IOCTL_ADMIN_CMD on /dev/nvmeX; I/O through the namespace nodes:
 *   io_uring_cmd  /dev/ngXnY, IORING_OP_URING_CMD (NVMe passthrough): any I/O command
 *   io_uring      /dev/nvmeXnY, O_DIRECT reads, writes, fsync through io_uring
 *   libaio        the same through Linux AIO
 *   psync         the same with pread/pwrite, run at the poll that takes them
 * The three block configs do Dataset Management (deallocate) and Write
 * Zeroes with the BLKDISCARD / BLKZEROOUT ioctls, synchronously, and refuse
 * other opcodes with -EOPNOTSUPP (nvp_errmsg() names io_uring_cmd).
 *
 * A device is opened by a namespace node (the URI's namespace then is the
 * default one) or by the PCI address of a controller bound to nvme; either
 * way every namespace of the controller with a node of the config's kind
 * is reachable, by its nsid.
 */
#ifndef NVP_KERNEL_KERNEL_H
#define NVP_KERNEL_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "bus.h"

struct nvp_dev;
struct nvp_qpair;
struct nvme_sqe;
struct nvme_cqe;
struct nvp_ctrl_ops;
struct nvp_opts;
struct nvp_transport_ops;

/* One namespace node: its nsid, fd, and data bytes per block (log2). */
struct nvp_kns {
	uint32_t nsid;
	int fd;
	unsigned lba_shift;
	char path[64];
};

/* The bus of every kernel config: the controller's fd and the namespace nodes. */
struct nvp_kdev {
	struct nvp_bus bus;	/* first: dev->bus is the nvp_kdev */
	char ctrl[32];		/* "nvme0" */
	int ctrl_fd;		/* /dev/nvme0: admin commands, reset */
	int block;		/* 1: block nodes /dev/nvmeXnY, 0: generic char nodes /dev/ngXnY */
	int iopoll;		/* opts.kernel_iopoll */
	uint32_t uri_nsid;	/* the namespace the URI's node is, 0 for a PCI address */
	size_t max_hw;		/* bytes per command the kernel passes (max_hw_sectors_kb), 0: unknown */
	struct nvp_kns *ns;
	unsigned nr_ns;
	unsigned last;		/* index of the last namespace looked up */
};

/* The kernel config's bus behind dev->bus. */
static inline struct nvp_kdev *nvp_kdev(struct nvp_bus *bus)
{
	return (struct nvp_kdev *)bus;
}

/* The namespace node of @nsid, or NULL. */
struct nvp_kns *nvp_kdev_ns(struct nvp_kdev *kd, uint32_t nsid);

/*
 * A block config's view of an NVM command (io_uring, libaio, psync):
 * KIO_READ / KIO_WRITE / KIO_FLUSH for the caller to issue, or KIO_DONE
 * when it is finished here (DSM and Write Zeroes run as ioctls, a bad
 * namespace or opcode fails) with *status or *err set.
 */
enum nvp_kio_op { KIO_READ, KIO_WRITE, KIO_FLUSH, KIO_DONE };
struct nvp_kio {
	enum nvp_kio_op op;
	int fd;
	unsigned ns_index;	/* in kd->ns: the registered file of io_uring */
	void *buf;
	size_t len;
	uint64_t off;
	int dsync;		/* Force Unit Access: RWF_DSYNC */
	uint16_t status;	/* KIO_DONE: the NVMe status, or ... */
	int err;		/* ... a -errno (then status is ignored) */
};
void nvp_kio_decode(struct nvp_qpair *qp, const struct nvme_sqe *sqe, struct nvp_kio *io);
/* Finish a KIO_DONE command, or one the kernel ended with @res (bytes, or -errno) for @len bytes. */
void nvp_kio_complete(struct nvp_qpair *qp, uint16_t cid, const struct nvp_kio *io);
void nvp_kio_complete_res(struct nvp_qpair *qp, uint16_t cid, long res, size_t len);

/* kdev.c: the steps and the admin path, shared by every kernel config. */
extern const struct nvp_ctrl_ops nvp_kernel_ctrl;
int nvp_kernel_admin(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
		     struct nvme_cqe *cqe);
/* For be.c: can a kernel config open PCI device @bdf (bound to nvme, with a controller)? */
int nvp_kernel_check(const char *bdf);

/* The configs: each one's bus ops and transport, and whether this machine can use it. */
extern const struct nvp_bus_ops nvp_kernel_uring_cmd_ops, nvp_kernel_uring_ops, nvp_kernel_aio_ops,
	nvp_kernel_psync_ops;
extern const struct nvp_transport_ops nvp_xport_uring_cmd, nvp_xport_uring, nvp_xport_aio, nvp_xport_psync;
int nvp_kernel_uring_cmd_usable(char *why, size_t len);
int nvp_kernel_uring_usable(char *why, size_t len);
int nvp_kernel_aio_usable(char *why, size_t len);
int nvp_kernel_psync_usable(char *why, size_t len);

/* kdev.c: open the bus, generic (@block 0) or block (1) nodes; for each config's bus ops. */
int nvp_kdev_open(const struct nvp_bus_ops *ops, int block, const char *addr, const struct nvp_opts *opts,
		  struct nvp_bus **out);
void nvp_kdev_close(struct nvp_bus *bus);
/* The controllers the kernel has ("nvme0 nvme1"), for usable(); how many. */
int nvp_kdev_controllers(char *names, size_t len);
/* usable() once the config's own mechanism works: 1 when the kernel has controllers, @why names them. */
int nvp_kdev_usable(char *why, size_t len, const char *what);

#endif /* NVP_KERNEL_KERNEL_H */
