/* SPDX-License-Identifier: MIT */
/* Library-private controller state, shared by the files of lib/nvme. */
#ifndef NVP_NVME_NVME_H
#define NVP_NVME_NVME_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "bus.h"
#include "hugemem/dma.h"
#include "nvpoll.h"

#define NVP_ADMIN_QUEUE_DEPTH 32
#define NVP_ADMIN_BOUNCE_SIZE (64 * 1024)
#define NVP_MAX_XFER_CAP (2u << 20) /* nvpoll's own cap; one PRP list page at 4 KiB pages */
#define NVP_DEFAULT_ADMIN_TIMEOUT_MS 5000
#define NVP_DEFAULT_IO_QUEUES 64
#define NVP_DEFAULT_QUEUE_DEPTH 256
#define NVP_SHUTDOWN_TIMEOUT_MS 10000
#define NVP_DEFAULT_IO_TIMEOUT_MS 30000

struct nvp_ns {
	struct nvp_ns_info info;
	unsigned lba_shift;	/* log2 of info.lba_size */
	struct nvp_dev *dev;
};

struct nvp_be_config;
struct nvp_ctrl_ops;

struct nvp_dev {
	const struct nvp_be_config *be; /* the config it was opened with */
	struct nvp_bus *bus;
	const struct nvp_ctrl_ops *ctrl; /* the controller sequence: nvp_ctrl_pcie, or the transport's */
	const struct nvp_transport_ops *xport; /* NULL: PCIe, through bus->bar0 (transport.h) */
	struct nvp_dma_pool pool;
	struct nvp_opts opts;
	uint32_t uri_nsid;	/* the namespace the URI named; 0: none */

	uint64_t cap;
	uint32_t vs;
	unsigned page_shift;	/* controller memory page size (CC.MPS + 12) */
	unsigned db_stride;	/* bytes between doorbells: 4 << CAP.DSTRD */
	unsigned ready_timeout_ms; /* CAP.TO */
	unsigned max_queue_depth;  /* CAP.MQES + 1 */
	size_t max_xfer;

	struct nvme_id_ctrl id_ctrl;

	/* Shadow doorbells (dbbuf.c): one page each, NULL when not used; dbbuf_on once the controller took them. */
	uint32_t *dbbuf_dbs;
	uint32_t *dbbuf_eis;
	int dbbuf_on;

	/* The admin queue is shared by every thread: admin_lock serializes it. */
	pthread_mutex_t admin_lock;
	struct nvp_qpair admin;
	void *admin_bounce;

	/* I/O queues: ids 1 .. nr_io_queues; io_qpairs[qid] while in use (under admin_lock). */
	unsigned nr_io_queues;
	struct nvp_qpair **io_qpairs;

	struct nvp_ns **ns_all;	/* every namespace ever seen: handles stay valid until close */
	unsigned nr_ns_all;
	uint32_t *nsids;	/* the active ones, ascending */
	unsigned nr_ns;

	/* Asynchronous events (aer.c), under admin_lock. */
	unsigned aer_limit;	/* AERs to keep outstanding: min(AERL + 1, 4) */
	unsigned aer_outstanding;
	uint32_t aer_pending[16]; /* completion dword 0 of events not yet handled */
	unsigned nr_aer_pending;
	nvp_event_cb event_cb;
	void *event_arg;

	/* Recovery: bumped at every controller reset; qpairs compare theirs at each poll. */
	unsigned reset_gen;
	int removed;		/* BAR read all ones, or released: the device is gone */
	int released;		/* atomic: given back to the kernel at its request (release.c) */
	int removal_event;	/* atomic: the "removal requested" event is still to be delivered */
	nvp_reset_cb reset_cb;
	void *reset_arg;
};

/*
 * Doorbell layout (spec 3.1.24): SQ y tail, then CQ y head, stride apart --
 * from NVME_REG_DBS in BAR0, and from the start of the shadow doorbell and
 * EventIdx buffers (dbbuf.c).
 */
static inline size_t nvp_db_offset(const struct nvp_dev *dev, unsigned qid, unsigned is_cq)
{
	return (2 * (size_t)qid + is_cq) * dev->db_stride;
}

static inline volatile uint32_t *nvp_sq_doorbell(const struct nvp_dev *dev, unsigned qid)
{
	return (volatile uint32_t *)(dev->bus->bar0 + NVME_REG_DBS + nvp_db_offset(dev, qid, 0));
}

static inline volatile uint32_t *nvp_cq_doorbell(const struct nvp_dev *dev, unsigned qid)
{
	return (volatile uint32_t *)(dev->bus->bar0 + NVME_REG_DBS + nvp_db_offset(dev, qid, 1));
}

/*
 * One step of a controller sequence. @open runs at nvp_dev_open(), before
 * the device is shared, without admin_lock; @reset at a reset, with
 * admin_lock held. NULL: not part of that run. 0 or -errno with a message.
 */
struct nvp_ctrl_step {
	const char *name;
	int (*open)(struct nvp_dev *dev);
	int (*reset)(struct nvp_dev *dev);
};

/*
 * How a transport brings its controller up, as SPDK names controller
 * states: a table of steps; open runs them from the first, a reset from
 * @reset_from. PCIe's (pcie.c) works on the registers in BAR0; a transport
 * without them (the kernel's ioctls, NVMe/TCP's Property Get/Set) brings
 * its own table. Slow path only: the I/O path never looks here.
 */
struct nvp_ctrl_ops {
	const char *name;
	const struct nvp_ctrl_step *steps;
	unsigned nr_steps;
	unsigned reset_from;
};
/* pcie.c: vfio-pci, uio-generic, sim. */
extern const struct nvp_ctrl_ops nvp_ctrl_pcie;
/* recover.c: run dev->ctrl's open sequence (@reset 0) or its reset part (1), logging each step at debug level. */
int nvp_ctrl_run(struct nvp_dev *dev, int reset);

/* ctrl.c: register-level bring-up and shutdown. */
int nvp_ctrl_disable(struct nvp_dev *dev);
int nvp_ctrl_enable(struct nvp_dev *dev);
int nvp_ctrl_shutdown(struct nvp_dev *dev);
/*
 * The one wait on CSTS: until @done(csts) says so, for at most @timeout_ms.
 * Gives up at once when the registers read all ones (-ENODEV, with the
 * message "@what: controller registers read all ones (device removed?)")
 * or, when @cfs, on CSTS.CFS (-EIO); else -ETIMEDOUT. -EIO and -ETIMEDOUT
 * carry no message: the caller words them. Yields between reads.
 */
int nvp_ctrl_wait(struct nvp_dev *dev, const char *what, unsigned timeout_ms, int cfs,
		  int (*done)(struct nvp_dev *dev, uint32_t csts, void *arg), void *arg);
/* Decode CAP into dev (page size, stride, timeouts); -ENODEV/-ENOTSUP on a bad CAP. */
int nvp_ctrl_parse_cap(struct nvp_dev *dev, uint64_t cap);
/* MDTS in bytes, capped by nvpoll; 0 MDTS means no limit of the controller's. */
size_t nvp_ctrl_max_xfer(uint8_t mdts, uint64_t cap);

/* log.c: one Get Log Page command for @len bytes at byte @off; @rae sets RAE. */
void nvp_log_cmd_build(struct nvme_sqe *cmd, const struct nvp_log_args *a, uint64_t off, size_t len,
		       int rae);
/* admin.c: the data length the spec gives @cmd: 0 none, >0 exact, -1 any (vendor, unknown). */
long nvp_admin_data_len(const struct nvme_sqe *cmd);

/* qpair.c: queue memory and request slots, shared by admin and I/O queues. */
int nvp_qpair_init(struct nvp_dev *dev, struct nvp_qpair *qp, uint16_t qid, unsigned size);
void nvp_qpair_fini(struct nvp_qpair *qp);
/* Commands that may run twice with the same outcome: what NVP_RESET_RESUBMIT submits again. */
int nvp_sqe_resubmittable(const struct nvme_sqe *sqe);
/* Empty rings and a full free list, as after init: for re-creating queues. */
void nvp_qpair_reset_rings(struct nvp_qpair *qp);
/* nvp__ticks() per millisecond, measured once per process. */
uint64_t nvp_ticks_per_ms(void);
uint64_t nvp_ms_to_ticks(unsigned ms);

/* recover.c: bump the generation, run the reset steps (admin_lock held). */
int nvp_ctrl_reset_locked(struct nvp_dev *dev);
/*
 * The one entry point of recovery: take admin_lock, reset, tell the
 * application's reset callback. For nvp_ctrl_reset() and for the admin
 * and poll paths when they find the controller failed.
 */
int nvp_ctrl_recover(struct nvp_dev *dev);
/* ctrl.c */
/* Note the device is gone (once, logged). */
void nvp_dev_mark_removed(struct nvp_dev *dev);

/*
 * release.c: when the bus says the kernel wants the device back, release it
 * (the device then counts as removed). Cheap; call from periodic checks.
 * Returns 1 once the device is released.
 */
int nvp_dev_check_release(struct nvp_dev *dev);
/* The pending "removal requested" event for nvp_admin_poll(); 1 when there was one. */
int nvp_dev_take_removal_event(struct nvp_dev *dev);

/* admin.c */
int nvp_admin_init(struct nvp_dev *dev);
void nvp_admin_fini(struct nvp_dev *dev);
int nvp_admin_sync(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
		   struct nvme_cqe *cqe);
/* The same with admin_lock already held (the reset path). */
int nvp_admin_sync_locked(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
			  struct nvme_cqe *cqe);
/* Abort command @cid of SQ @sqid; *aborted says whether the controller did. */
int nvp_admin_abort(struct nvp_dev *dev, uint16_t sqid, uint16_t cid, int *aborted);
int nvp_admin_create_io_queues(struct nvp_dev *dev, struct nvp_qpair *qp);
int nvp_admin_delete_io_queues(struct nvp_dev *dev, struct nvp_qpair *qp);

/* dbbuf.c: shadow doorbells. */
int nvp_dbbuf_setup(struct nvp_dev *dev);
int nvp_dbbuf_config_locked(struct nvp_dev *dev);
void nvp_dbbuf_free(struct nvp_dev *dev);
void nvp_dbbuf_bind(struct nvp_qpair *qp);

/* aer.c: keep AERs outstanding (admin_lock held). */
void nvp_aer_arm_locked(struct nvp_dev *dev);

/* ns.c */
int nvp_ns_scan(struct nvp_dev *dev);
void nvp_ns_free(struct nvp_dev *dev);
/* Fill an nvp_ns from Identify Namespace data; -EINVAL for absurd data. */
int nvp_ns_parse(struct nvp_ns *ns, uint32_t nsid, const struct nvme_id_ns *id);

/*
 * dev.c: the controller half of nvp_dev_open() (lib/be/open.c). A device
 * with @opts (defaults filled in), NULL with a message; bring it up over
 * @bus (opened by its config; @xport NULL for PCIe, memory from @mem),
 * checking the URI's namespace @uri_nsid (0: the bus's own, if any): 0 or
 * -errno with a message; after a failure, nvp_dev_abandon() stops and
 * frees what was done, the bus included.
 */
struct nvp_dev *nvp_dev_alloc(const struct nvp_opts *opts);
int nvp_dev_bring_up(struct nvp_dev *dev, struct nvp_bus *bus, const struct nvp_transport_ops *xport,
		     const struct nvp_mem_ops *mem, uint32_t uri_nsid);
void nvp_dev_abandon(struct nvp_dev *dev);

/* Set errno from a negative error, return NULL: for pointer-returning API calls. */
static inline void *nvp_err_ptr(int err)
{
	errno = -err;
	return NULL;
}

#endif /* NVP_NVME_NVME_H */
