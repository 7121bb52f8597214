/* SPDX-License-Identifier: MIT */
/*
 * What every kernel config shares (kernel.h): finding the controller and
 * its namespace nodes from a URI, the admin ioctl, reset, the controller
 * steps, and the block configs' reading of an NVM command.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/nvme_ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "internal.h"
#include "kernel/kernel.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"
#include "pci/sysfs.h"

#define KERNEL_MAX_DEPTH 4096	/* io_uring's SQ ring holds 32768; a qpair's SQ ring is what limits */

/* @src into @dst of @len bytes; -ENAMETOOLONG when it does not fit (no sysfs name of ours is long). */
static int copy_name(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

/* "nvme3" from "nvme3n1" or "ng3n1": the controller the kernel numbered the node after. */
static int name_ctrl(const char *node, char *ctrl, size_t len)
{
	const char *p = !strncmp(node, "ng", 2) ? node + 2 : !strncmp(node, "nvme", 4) ? node + 4 : NULL;
	size_t digits = p ? strspn(p, "0123456789") : 0;

	if (!digits)
		return -ENOENT;
	snprintf(ctrl, len, "nvme%.*s", (int)digits, p);
	return 0;
}

/* The first controller "nvmeN" in sysfs directory @dir (a PCI device's nvme/, a subsystem). */
static int first_ctrl_in(const char *dir, char *ctrl, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int err = -ENOENT;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		const char *p = e->d_name + 4;

		if (!strncmp(e->d_name, "nvme", 4) && *p && strspn(p, "0123456789") == strlen(p) &&
		    !copy_name(ctrl, len, e->d_name)) {
			err = 0;
			break;
		}
	}
	closedir(d);
	return err;
}

/*
 * The controller behind a namespace node: sysfs's "device" link names it
 * (or, for a multipath head, its subsystem, whose first controller we
 * take); failing that, the node's own number.
 */
static int node_ctrl(const char *node, int block, char *ctrl, size_t len)
{
	char parent[64], dir[512];

	if (nvp_sysfs_link_name(parent, sizeof(parent), block ? "block/%s/device" : "class/nvme-generic/%s/device",
				node) >= 0) {
		if (!strncmp(parent, "nvme-subsys", 11)) {
			snprintf(dir, sizeof(dir), "%s/class/nvme-subsystem/%s", nvp_sysfs_root(), parent);
			if (!first_ctrl_in(dir, ctrl, len))
				return 0;
		} else if (!strncmp(parent, "nvme", 4) && !copy_name(ctrl, len, parent)) {
			return 0;
		}
	}
	return name_ctrl(node, ctrl, len);
}

static int ns_add(struct nvp_kdev *kd, const char *node)
{
	struct nvp_kns *grown, *ns;
	int fd, id;

	grown = realloc(kd->ns, (kd->nr_ns + 1) * sizeof(*grown));
	if (!grown)
		return nvp_set_error(-ENOMEM, "out of memory");
	kd->ns = grown;
	ns = &kd->ns[kd->nr_ns];
	memset(ns, 0, sizeof(*ns));
	memcpy(ns->path, "/dev/", 5);
	if (copy_name(ns->path + 5, sizeof(ns->path) - 5, node))
		return nvp_set_error(-ENAMETOOLONG, "namespace node name %s is too long", node);
	fd = open(ns->path, O_RDWR | O_CLOEXEC | (kd->block ? O_DIRECT : 0));
	if (fd < 0) {
		int err = -errno;

		if (err == -EACCES || err == -EPERM)
			return nvp_set_error(err, "cannot open %s: %s (the kernel's NVMe nodes need root, or "
					     "membership of their group)", ns->path, strerror(-err));
		return nvp_set_error(err, "cannot open %s: %s", ns->path, strerror(-err));
	}
	id = ioctl(fd, NVME_IOCTL_ID);
	if (id <= 0) {
		int err = id < 0 ? -errno : -ENODEV;

		close(fd);
		return nvp_set_error(err, "%s: NVME_IOCTL_ID: %s (not an NVMe namespace node?)", ns->path,
				     strerror(-err));
	}
	ns->fd = fd;
	ns->nsid = (uint32_t)id;
	kd->nr_ns++;
	return 0;
}

/* Is block device @name ("nvme0n1", not a partition or a multipath path) one of @ctrl's? */
static int block_of(const char *name, const char *ctrl)
{
	char c[32];
	const char *n = strchr(name + 4, 'n');

	if (strncmp(name, "nvme", 4) || !n || strchr(name + 4, 'c') || strchr(name + 4, 'p') ||
	    node_ctrl(name, 1, c, sizeof(c)))
		return 0;
	return !strcmp(c, ctrl);
}

/* Every namespace node of kd->ctrl of the config's kind; @uri: the /dev node the URI named, or NULL. */
static int ns_scan(struct nvp_kdev *kd, const char *uri)
{
	char dir[512];
	struct dirent *e;
	DIR *d;
	int err = 0;

	if (kd->block)
		snprintf(dir, sizeof(dir), "%s/block", nvp_sysfs_root());
	else
		snprintf(dir, sizeof(dir), "%s/class/nvme/%s", nvp_sysfs_root(), kd->ctrl);
	d = opendir(dir);
	if (!d)
		return nvp_set_error(-errno, "cannot list %s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		if (!(kd->block ? block_of(e->d_name, kd->ctrl) : !strncmp(e->d_name, "ng", 2)))
			continue;
		err = ns_add(kd, e->d_name);
		/* The URI's own node must open; a sibling the kernel is still setting up is left out. */
		if (err && (!uri || strcmp(uri + 5, e->d_name)))
			nvp_log(NVP_LOG_WARN, "%s: namespace node /dev/%s left out: %s", kd->bus.name, e->d_name,
				nvp_errmsg());
		else if (err)
			break;
		err = 0;
	}
	closedir(d);
	if (!err && !kd->nr_ns)
		err = nvp_set_error(-ENODEV, "controller %s has no %s namespace nodes%s", kd->ctrl,
				    kd->block ? "block (/dev/nvmeXnY)" : "generic (/dev/ngXnY)",
				    kd->block ? "" : ": io_uring_cmd needs Linux 5.19 or later");
	return err;
}

/* The largest command the kernel passes for these namespaces, from any block node's queue limits. */
static size_t max_hw_bytes(const struct nvp_kdev *kd)
{
	for (unsigned i = 0; i < kd->nr_ns; i++) {
		const char *node = strrchr(kd->ns[i].path, '/') + 1;
		char blk[64];
		long kb;

		/* The generic node ngXnY stands beside the block node nvmeXnY. */
		snprintf(blk, sizeof(blk), "%s%s", kd->block ? "" : "nvme", kd->block ? node : node + 2);
		if (nvp_sysfs_read_long(&kb, "block/%s/queue/max_hw_sectors_kb", blk) == 0 && kb > 0)
			return (size_t)kb << 10;
	}
	return 0;
}

int nvp_kdev_open(const struct nvp_bus_ops *ops, int block, const char *addr, const struct nvp_opts *opts,
		  struct nvp_bus **out)
{
	struct nvp_kdev *kd = calloc(1, sizeof(*kd));
	const char *node = !strncmp(addr, "/dev/", 5) ? addr + 5 : NULL;
	char ctrl_path[64];
	int err;

	if (!kd)
		return nvp_set_error(-ENOMEM, "out of memory");
	kd->bus.ops = ops;
	kd->ctrl_fd = -1;
	kd->block = block;
	kd->iopoll = opts ? (int)opts->kernel_iopoll : 0;
	snprintf(kd->bus.name, sizeof(kd->bus.name), "%s", addr);
	if (node) {
		if (access(addr, F_OK))
			err = nvp_set_error(-ENODEV, "%s does not exist: nvme list (or ls /dev/ng* /dev/nvme*) "
					    "shows the namespaces the kernel has", addr);
		else
			err = node_ctrl(node, !strncmp(node, "nvme", 4), kd->ctrl, sizeof(kd->ctrl));
		if (err == -ENOENT)
			err = nvp_set_error(-ENODEV, "%s: no NVMe controller found for it in sysfs", addr);
	} else {
		char dir[512];

		snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s/nvme", nvp_sysfs_root(), addr);
		err = first_ctrl_in(dir, kd->ctrl, sizeof(kd->ctrl));
		if (err)
			err = nvp_set_error(-ENODEV, "%s is bound to nvme but has no controller in %s (still "
					    "probing, or it failed: see dmesg)", addr, dir);
	}
	if (err)
		goto fail;
	err = ns_scan(kd, node ? addr : NULL);
	if (err)
		goto fail;
	if (node) {
		for (unsigned i = 0; i < kd->nr_ns; i++)
			if (!strcmp(kd->ns[i].path, addr))
				kd->uri_nsid = kd->ns[i].nsid;
		if (!kd->uri_nsid) { /* a node of the other kind: its namespace is found by its number */
			int fd = open(addr, O_RDONLY | O_CLOEXEC), id = fd >= 0 ? ioctl(fd, NVME_IOCTL_ID) : -1;

			if (fd >= 0)
				close(fd);
			kd->uri_nsid = id > 0 ? (uint32_t)id : 0;
		}
	}
	snprintf(ctrl_path, sizeof(ctrl_path), "/dev/%s", kd->ctrl);
	kd->ctrl_fd = open(ctrl_path, O_RDWR | O_CLOEXEC);
	if (kd->ctrl_fd < 0) {
		err = nvp_set_error(-errno, "cannot open %s for admin commands: %s", ctrl_path, strerror(errno));
		goto fail;
	}
	kd->bus.nsid = kd->uri_nsid;
	kd->max_hw = max_hw_bytes(kd);
	if (kd->iopoll && kd->block) {
		const char *name = strrchr(kd->ns[0].path, '/') + 1;
		long io_poll = 1;

		/* The kernel would fail every polled command with EOPNOTSUPP: say so once, now. */
		if (nvp_sysfs_read_long(&io_poll, "block/%s/queue/io_poll", name) == 0 && !io_poll) {
			err = nvp_set_error(-EOPNOTSUPP, "%s has no polled I/O (queue/io_poll is 0): the nvme driver "
					    "needs poll queues (nvme.poll_queues=N), and a multipath node may have none; "
					    "io_uring_cmd polls on /dev/ng%s", kd->ns[0].path, name + 4);
			goto fail;
		}
	}
	{
		long node_nr;

		kd->bus.numa_node = nvp_sysfs_read_long(&node_nr, "class/nvme/%s/device/numa_node", kd->ctrl) == 0 ?
			(int)node_nr : -1;
	}
	*out = &kd->bus;
	return 0;
fail:
	nvp_kdev_close(&kd->bus);
	return err;
}

void nvp_kdev_close(struct nvp_bus *bus)
{
	struct nvp_kdev *kd = nvp_kdev(bus);

	for (unsigned i = 0; i < kd->nr_ns; i++)
		close(kd->ns[i].fd);
	if (kd->ctrl_fd >= 0)
		close(kd->ctrl_fd);
	free(kd->ns);
	free(kd);
}

struct nvp_kns *nvp_kdev_ns(struct nvp_kdev *kd, uint32_t nsid)
{
	if (kd->last < kd->nr_ns && kd->ns[kd->last].nsid == nsid)
		return &kd->ns[kd->last];
	for (unsigned i = 0; i < kd->nr_ns; i++) {
		if (kd->ns[i].nsid == nsid) {
			kd->last = i;
			return &kd->ns[i];
		}
	}
	return NULL;
}

int nvp_kdev_controllers(char *names, size_t len)
{
	char dir[512];
	struct dirent *e;
	size_t off = 0;
	int n = 0;
	DIR *d;

	names[0] = '\0';
	snprintf(dir, sizeof(dir), "%s/class/nvme", nvp_sysfs_root());
	d = opendir(dir);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "nvme", 4) || !e->d_name[4])
			continue;
		if (off < len)
			off += (size_t)snprintf(names + off, len - off, "%s%s", n ? " " : "", e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

int nvp_kdev_usable(char *why, size_t len, const char *what)
{
	char names[128];
	int n = nvp_kdev_controllers(names, sizeof(names));

	if (!n) {
		snprintf(why, len, "the kernel nvme driver has no controller (/sys/class/nvme is empty): "
			 "nothing to open through %s", what);
		return 0;
	}
	snprintf(why, len, "%d controller%s of the kernel's (%s), through %s", n, n > 1 ? "s" : "", names, what);
	return 1;
}

int nvp_kernel_check(const char *bdf)
{
	char dir[512], ctrl[32];
	int err = nvp_pci_check_driver(bdf, "nvme");

	if (err)
		return err;
	snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s/nvme", nvp_sysfs_root(), bdf);
	if (first_ctrl_in(dir, ctrl, sizeof(ctrl)))
		return nvp_set_error(-ENODEV, "%s is bound to nvme but has no controller yet", bdf);
	return 0;
}

/* ---- Admin, reset, the controller steps ------------------------------------ */

int nvp_kernel_admin(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
		     struct nvme_cqe *cqe)
{
	struct nvp_kdev *kd = nvp_kdev(dev->bus);
	struct nvme_passthru_cmd c = {
		.opcode = cmd->opc,
		.flags = cmd->flags & NVME_SQE_FUSE,
		.nsid = cmd->nsid,
		.cdw2 = cmd->cdw2,
		.cdw3 = cmd->cdw3,
		.addr = (uint64_t)(uintptr_t)buf,
		.data_len = (uint32_t)len,
		.cdw10 = cmd->cdw10, .cdw11 = cmd->cdw11, .cdw12 = cmd->cdw12,
		.cdw13 = cmd->cdw13, .cdw14 = cmd->cdw14, .cdw15 = cmd->cdw15,
		.timeout_ms = dev->opts.admin_timeout_ms,
	};
	int ret = ioctl(kd->ctrl_fd, NVME_IOCTL_ADMIN_CMD, &c);

	memset(cqe, 0, sizeof(*cqe));
	if (ret < 0)
		return nvp_set_error(-errno, "admin opcode %#x through the kernel (NVME_IOCTL_ADMIN_CMD on /dev/%s): %s",
				     cmd->opc, kd->ctrl, strerror(errno));
	cqe->dw0 = c.result;
	cqe->status = (uint16_t)(ret << 1);
	return ret ? -EIO : 0;
}

static int k_identify(struct nvp_dev *dev)
{
	return nvp_xport_identify(dev, nvp_kdev(dev->bus)->max_hw);
}

static int k_queues(struct nvp_dev *dev)
{
	return nvp_xport_queues(dev, KERNEL_MAX_DEPTH);
}

/* Each namespace node's block size, from the namespaces nvp_ns_scan() read; nodes of inactive ones go. */
static int k_nodes(struct nvp_dev *dev)
{
	struct nvp_kdev *kd = nvp_kdev(dev->bus);

	for (unsigned i = 0; i < kd->nr_ns; i++) {
		kd->ns[i].lba_shift = nvp_xport_lba_shift(dev, kd->ns[i].nsid);
		if (!kd->ns[i].lba_shift)
			nvp_log(NVP_LOG_WARN, "%s: %s (nsid %u) is not an active namespace of %s", kd->bus.name,
				kd->ns[i].path, kd->ns[i].nsid, kd->ctrl);
	}
	return 0;
}

static int k_reset(struct nvp_dev *dev)
{
	struct nvp_kdev *kd = nvp_kdev(dev->bus);

	if (ioctl(kd->ctrl_fd, NVME_IOCTL_RESET) < 0)
		return nvp_set_error(-errno, "NVME_IOCTL_RESET on /dev/%s: %s%s", kd->ctrl, strerror(errno),
				     errno == EACCES || errno == EPERM ? " (the kernel resets a controller for "
				     "CAP_SYS_ADMIN only)" : "");
	return 0;
}

static const struct nvp_ctrl_step kernel_steps[] = {
	{ "identify",		.open = k_identify },
	{ "queues",		.open = k_queues },
	{ "namespaces",		.open = nvp_ns_scan },
	{ "namespace nodes",	.open = k_nodes },
	{ "reset (NVME_IOCTL_RESET)", .reset = k_reset },
};

const struct nvp_ctrl_ops nvp_kernel_ctrl = {
	.name = "kernel",
	.steps = kernel_steps,
	.nr_steps = NVP_ARRAY_SIZE(kernel_steps),
	.reset_from = 4,
};

/* ---- Block configs: an NVM command as block I/O ------------------------------ */

static int blk_ioctl_range(int fd, unsigned long req, uint64_t slba, uint64_t nlb, unsigned shift)
{
	uint64_t range[2] = { slba << shift, nlb << shift };

	return ioctl(fd, req, range) < 0 ? -errno : 0;
}

static void unsupported(struct nvp_kio *io, const struct nvp_qpair *qp, uint8_t opc)
{
	io->op = KIO_DONE;
	io->err = nvp_set_error(-EOPNOTSUPP, "%s: opcode %#x is not a block operation (read, write, flush, DSM "
				"and write zeroes are): config io_uring_cmd passes any NVMe command",
				qp->dev->bus->ops->name, opc);
}

void nvp_kio_decode(struct nvp_qpair *qp, const struct nvme_sqe *sqe, struct nvp_kio *io)
{
	struct nvp_kdev *kd = nvp_kdev(qp->dev->bus);
	struct nvp_kns *ns = nvp_kdev_ns(kd, sqe->nsid);
	uint64_t slba = sqe->cdw10 | (uint64_t)sqe->cdw11 << 32;
	uint32_t nlb = (sqe->cdw12 & 0xffff) + 1;

	memset(io, 0, sizeof(*io));
	io->buf = nvp_xport_data(qp, sqe, &io->len);
	if (!ns || !ns->lba_shift) {
		io->op = KIO_DONE;
		io->status = NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_NS) | NVME_STATUS_DNR;
		return;
	}
	io->fd = ns->fd;
	io->ns_index = (unsigned)(ns - kd->ns);
	switch (sqe->opc) {
	case NVME_CMD_READ:
	case NVME_CMD_WRITE:
		io->op = sqe->opc == NVME_CMD_READ ? KIO_READ : KIO_WRITE;
		io->off = slba << ns->lba_shift;
		io->dsync = !!(sqe->cdw12 & (1u << 30)); /* FUA */
		if (((size_t)nlb << ns->lba_shift) > io->len) {
			io->op = KIO_DONE;
			io->err = nvp_set_error(-EINVAL, "%s: %u blocks need %zu bytes, the buffer has %zu",
						kd->bus.name, nlb, (size_t)nlb << ns->lba_shift, io->len);
		}
		io->len = (size_t)nlb << ns->lba_shift;
		return;
	case NVME_CMD_FLUSH:
		io->op = KIO_FLUSH;
		return;
	case NVME_CMD_WRITE_ZEROES:
		io->op = KIO_DONE;
		io->err = blk_ioctl_range(ns->fd, BLKZEROOUT, slba, nlb, ns->lba_shift);
		break;
	case NVME_CMD_DSM: {
		const struct nvme_dsm_range *r = io->buf;
		unsigned nr = (sqe->cdw10 & 0xff) + 1;

		io->op = KIO_DONE;
		if (!(sqe->cdw11 & NVME_DSM_ATTR_DEALLOCATE))
			return; /* hints only: nothing a block device takes */
		for (unsigned i = 0; r && i < nr && (i + 1) * sizeof(*r) <= io->len && !io->err; i++)
			io->err = blk_ioctl_range(ns->fd, BLKDISCARD, r[i].slba, r[i].nlb, ns->lba_shift);
		break;
	}
	default:
		unsupported(io, qp, sqe->opc);
		return;
	}
	if (io->err)
		io->err = nvp_set_error(io->err, "%s: %s: %s", kd->bus.name,
					sqe->opc == NVME_CMD_DSM ? "BLKDISCARD" : "BLKZEROOUT", strerror(-io->err));
}

void nvp_kio_complete(struct nvp_qpair *qp, uint16_t cid, const struct nvp_kio *io)
{
	if (io->err)
		nvp_xport_complete_err(qp, cid, io->err);
	else
		nvp_xport_post_cqe(qp, cid, io->status, 0);
}

void nvp_kio_complete_res(struct nvp_qpair *qp, uint16_t cid, long res, size_t len)
{
	if (res < 0)
		nvp_xport_complete_err(qp, cid, nvp_set_error((int)res, "%s: %s", qp->dev->bus->name,
							       strerror((int)-res)));
	else if ((size_t)res != len)
		nvp_xport_complete_err(qp, cid, nvp_set_error(-EIO, "%s: %ld of %zu bytes moved", qp->dev->bus->name,
							       res, len));
	else
		nvp_xport_post_cqe(qp, cid, 0, 0);
}
