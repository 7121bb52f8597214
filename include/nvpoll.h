/* SPDX-License-Identifier: MIT */
/*
 * nvpoll: a userspace, polled-mode NVMe driver.
 *
 * Open a controller with nvp_dev_open(), allocate DMA buffers with
 * nvp_dma_alloc(), create one qpair per I/O thread with nvp_qpair_create(),
 * submit with nvp_read() / nvp_write() / ... and reap completions with
 * nvp_qpair_poll(). No system call, lock or interrupt sits on that path.
 *
 * Errors: functions returning int return 0 or a negative errno and never set
 * errno. Functions returning a pointer return NULL and set errno. In both
 * cases nvp_errmsg() gives a sentence that says what went wrong and what to
 * do about it, for the calling thread.
 *
 * Threading: a struct nvp_qpair belongs to one thread at a time; its
 * functions take no lock. Everything that takes a struct nvp_dev (admin
 * commands, DMA allocation, qpair creation) may be called from any thread:
 * the admin queue is shared and serialized inside.
 */
#ifndef NVPOLL_H
#define NVPOLL_H

#include <stddef.h>
#include <stdint.h>

#include <nvpoll/spec.h>
#include <nvpoll/types.h> /* nvp_cb (the completion callback), struct nvp_qpair_stats */
#include <nvpoll/qpair.h> /* the inline hot path: nvp_qpair_ring(), nvp_qpair_poll() */

#ifdef __cplusplus
extern "C" {
#endif

#define NVP_VERSION_MAJOR 0
#define NVP_VERSION_MINOR 3

struct nvp_dev;
struct nvp_ns;
struct nvp_qpair;

/* ---- Opening a device ------------------------------------------------ */

struct nvp_opts {
	const char *be;		/* a config (nvp_backends(): "vfio-pci", "io_uring_cmd", "nil", ...); NULL: $NVP_BE, else by the URI */
	const char *mem;	/* "hugepages" or "libc"; NULL: the config's default */
	int numa_node;		/* node for DMA memory; -1: the device's node */
	unsigned admin_timeout_ms; /* per admin command; 0: 5000 */
	unsigned nr_io_queues;	/* I/O queue pairs to ask the controller for; 0: 64 */
	unsigned io_timeout_ms;	/* default deadline of I/O commands; 0: 30000; see nvp_qpair_set_timeout() */
	unsigned reset_policy;	/* what a controller reset does to I/O in flight: NVP_RESET_* */
	unsigned shadow_doorbells; /* 1: shadow doorbells (Doorbell Buffer Config) where offered; 0: registers */
	unsigned kernel_iopoll;	/* io_uring, io_uring_cmd: 1 = polled completions (IORING_SETUP_IOPOLL;
				   the nvme driver needs poll queues: nvme.poll_queues=N) */
	/* NVMe/TCP (tcp://...) only; since 0.3. */
	const char *hostnqn;	/* NULL: /etc/nvme/hostnqn, else a stable one made from /etc/machine-id */
	unsigned tcp_digest;	/* NVP_DIGEST_HEADER | NVP_DIGEST_DATA; 0: $NVP_TCP_DIGEST, else none */
	unsigned keep_alive_ms;	/* Keep Alive Timeout to ask for; 0: 10000. Call nvp_admin_poll() within it */
	/* Since 0.3. 1: nvp_readv()/nvp_writev() always describe data with an SGL, even where PRPs
	   would do (for testing the SGL path); they then fail where Identify Controller SGLS says none. */
	unsigned force_sgl;
};

/* opts.tcp_digest: CRC32C digests on every PDU header, on all data. */
#define NVP_DIGEST_HEADER 1u
#define NVP_DIGEST_DATA 2u

/*
 * After a controller reset (nvp_ctrl_reset(), or automatic: CSTS.CFS, or a
 * timed-out command that Abort did not clear), each qpair re-creates its
 * queues on its owner thread's next nvp_qpair_poll(); its handle stays
 * valid. Commands that were in flight then are
 *  - NVP_RESET_RESUBMIT (default): submitted again as they were, when they
 *    are NVM commands that may safely run twice (Read, Write, Flush, Write
 *    Zeroes, Dataset Management, Compare); any other completes with -EIO;
 *  - NVP_RESET_FAIL: all completed with -EIO.
 * A command whose deadline had passed completes with -ETIMEDOUT either way.
 */
#define NVP_RESET_RESUBMIT 0
#define NVP_RESET_FAIL 1

/* Fill @opts with the defaults above. */
void nvp_opts_init(struct nvp_opts *opts);

/*
 * Open the controller named by @uri: a PCI address "0000:00:05.0" (the
 * domain may be left out; "/ns=N" names a namespace), a kernel namespace
 * node "/dev/ngXnY" or "/dev/nvmeXnY" (the controller the kernel drives,
 * through its paths), "sim[:options]", "nil[:options]", or an NVMe/TCP
 * target "tcp://HOST[:PORT]/SUBSYSTEM-NQN" (port 4420). @opts may be
 * NULL. nvpoll's own driver resets, enables and identifies the controller;
 * every config reads the active namespaces. Returns NULL with errno set
 * and nvp_errmsg() on failure.
 */
struct nvp_dev *nvp_dev_open(const char *uri, const struct nvp_opts *opts);

/*
 * Delete every I/O queue, shut the controller down cleanly (CC.SHN) so
 * written data is persistent, and release all memory. Qpairs still open are
 * destroyed; DMA buffers are freed. NULL is ignored.
 */
void nvp_dev_close(struct nvp_dev *dev);

/* The calling thread's last error message ("" if none). */
const char *nvp_errmsg(void);

/* Identify Controller data, read at open. */
const struct nvme_id_ctrl *nvp_dev_id_ctrl(const struct nvp_dev *dev);
/* Largest transfer one command may carry, in bytes (MDTS, capped by nvpoll). */
size_t nvp_dev_max_xfer(const struct nvp_dev *dev);
/* Most entries an I/O queue may have (CAP.MQES + 1). */
unsigned nvp_dev_max_queue_depth(const struct nvp_dev *dev);
/* The name of the config in use: "vfio-pci", "uio-generic", "io_uring_cmd", "sim", "nil", ... */
const char *nvp_dev_backend(const struct nvp_dev *dev);
/* 1 while I/O queues use shadow doorbells (opts.shadow_doorbells, and the controller took them). */
int nvp_dev_shadow_doorbells(const struct nvp_dev *dev);
/* The namespace the URI named ("/ns=N", or a kernel node such as /dev/ng0n2), 0 when it named none. */
uint32_t nvp_dev_nsid(const struct nvp_dev *dev);
/*
 * Controller register values read at open. Configs without registers
 * (the kernel's, nil) report CAP 0, and VS from Identify's VER.
 */
uint64_t nvp_dev_cap(const struct nvp_dev *dev);
uint32_t nvp_dev_vs(const struct nvp_dev *dev);

/* The controller registers, as nvp_dev_regs() reads them now (NVMe base spec, 3.1). */
struct nvp_regs {
	uint64_t cap;		/* Controller Capabilities */
	uint32_t vs;		/* Version */
	uint32_t intms, intmc;	/* Interrupt Mask Set / Clear */
	uint32_t cc;		/* Controller Configuration */
	uint32_t csts;		/* Controller Status */
	uint32_t nssr;		/* NVM Subsystem Reset */
	uint32_t aqa;		/* Admin Queue Attributes */
	uint64_t asq, acq;	/* Admin Submission / Completion Queue Base Address */
	uint32_t cmbloc, cmbsz;	/* Controller Memory Buffer Location / Size */
};
/*
 * Read the registers into @out. Only configs that map the controller's
 * BAR (vfio-pci, uio-generic, sim) have them: the kernel's configs and nil
 * return -EOPNOTSUPP, and the message says so.
 */
int nvp_dev_regs(const struct nvp_dev *dev, struct nvp_regs *out);

/* ---- Backend configs and device discovery ------------------------------- */

/*
 * Choosing a config: opts.be, else $NVP_BE, else by the URI: "sim[:...]"
 * opens with sim, "nil[:...]" with nil, /dev/ngXnY with io_uring_cmd,
 * /dev/nvmeXnY with io_uring, a PCI address with the config whose kernel
 * driver the device is bound to (vfio-pci -> "vfio-pci", uio_pci_generic
 * -> "uio-generic", nvme -> "io_uring_cmd" on that controller's
 * namespaces; none: an error naming scripts/setup.sh).
 * Memory: opts.mem, else $NVP_MEM, else the config's default.
 *
 * The kernel's configs (io_uring_cmd, io_uring, libaio, psync) leave the
 * controller to the kernel nvme driver: no shadow doorbells, no AERs of
 * nvpoll's, deadlines are the kernel's (nvp_qpair_set_timeout() has no
 * effect), nvp_ctrl_reset() is NVME_IOCTL_RESET, and commands reach the
 * kernel at the next nvp_qpair_poll(), not at nvp_qpair_ring(). io_uring,
 * libaio and psync move read, write, flush, DSM (deallocate) and write
 * zeroes; other opcodes complete with -EOPNOTSUPP. nil completes every
 * command at the next poll and moves no data (reads return zeroes).
 */

/* One built-in config, as nvp_backends() finds it. */
struct nvp_backend_info {
	const char *name;	/* "vfio-pci", "uio-generic", "io_uring_cmd", ...: the value for opts.be / $NVP_BE */
	const char *driver;	/* kernel driver a PCI device must be bound to; NULL for sim and nil */
	const char *default_mem; /* used when opts.mem is NULL: "hugepages" or "libc" */
	const char *mems;	/* memory kinds it accepts, comma separated: "hugepages,libc" */
	int usable;		/* 1 when this machine can use it right now */
	char reason[256];	/* what was found; when not usable, what to do */
};

/*
 * The configs built in, in the order automatic selection considers them:
 * fills up to @max entries of @out (NULL with @max 0 just counts) and
 * returns how many there are. Reads sysfs and /dev; any thread.
 */
unsigned nvp_backends(struct nvp_backend_info *out, unsigned max);

#define NVP_MAX_BACKENDS 16

/* One record of an NVMe over Fabrics discovery log, as nvp_discover() gives it. */
struct nvp_disc_entry {
	char subnqn[224];	/* the subsystem's NQN */
	char traddr[257];	/* its address ("127.0.0.1"), trailing spaces cut */
	char trsvcid[33];	/* its port ("4420") */
	uint8_t trtype;		/* NVME_TRTYPE_*: 3 is TCP */
	uint8_t adrfam;		/* NVME_ADRFAM_*: 1 IPv4, 2 IPv6 */
	uint8_t subtype;	/* NVME_NQN_*: 2 an NVM subsystem, 1 or 3 a discovery one */
	uint16_t portid;
	uint16_t cntlid;	/* 0xffff: any (dynamic controllers) */
};

/*
 * Ask the discovery controller at @uri, "tcp://HOST[:PORT]" (its NQN,
 * nqn.2014-08.org.nvmexpress.discovery, is added when none is given),
 * which subsystems it knows: *@list gets a malloc()ed array of them (free()
 * it; NULL for none). Returns the count, or -errno with nvp_errmsg().
 * @opts as for nvp_dev_open() (NULL: defaults). Any thread.
 */
int nvp_discover(const char *uri, const struct nvp_opts *opts, struct nvp_disc_entry **list);

/* One NVMe controller (PCI class 01:08:02) found by nvp_enumerate(). */
struct nvp_pci_info {
	char bdf[24];		/* "0000:00:05.0": the URI that opens it */
	uint16_t vendor_id, device_id;
	uint16_t subsys_vendor_id, subsys_device_id;
	char vendor[128];	/* names from pci.ids through libpci; "" when unknown */
	char device[128];
	int numa_node;		/* -1: unknown, or not a NUMA machine */
	char driver[64];	/* kernel driver bound now; "" when none */
	int iommu_group;	/* -1: none (no IOMMU in front of the device) */
	char iommu_type[16];	/* the group's domain: "DMA", "DMA-FQ", "identity", ...; "" unknown */
	const char *backend;	/* the config automatic selection picks; NULL when none fits */
	unsigned nr_usable;	/* configs that can open it now ... */
	const char *usable[NVP_MAX_BACKENDS]; /* ... by name, in selection order */
	char reason[256];	/* when none can: why, and what to do */
};

/*
 * Every NVMe controller on the PCI bus, found with libpci, sorted by
 * address. *@list gets an array to release with free() (NULL when there are
 * none). Returns the count, or -errno with nvp_errmsg(). Opens nothing;
 * any thread.
 */
int nvp_enumerate(struct nvp_pci_info **list);

/* ---- Namespaces -------------------------------------------------------- */

struct nvp_ns_info {
	uint32_t nsid;
	uint64_t nsze;		/* size in logical blocks */
	uint64_t ncap;
	uint64_t nuse;
	uint32_t lba_size;	/* data bytes per logical block, in-use format */
	uint16_t ms;		/* metadata bytes per logical block */
	uint8_t lbaf;		/* in-use LBA format index */
	uint8_t md_extended;	/* 1: metadata inline after each block's data (FLBAS bit 4); 0: a separate buffer */
	uint8_t pi_type;	/* end-to-end protection: 0 none, 1, 2, 3 (DPS bits 2:0) */
	uint8_t pi_first;	/* 1: PI in the first 8 bytes of metadata, 0: the last 8 (DPS bit 3) */
	/* Copy limits (Identify Namespace MSSRL, MCL, MSRC + 1); 0: none stated. */
	uint16_t copy_max_range_nlb;	/* blocks in one source range */
	uint16_t copy_max_ranges;	/* source ranges in one command */
	uint32_t copy_max_nlb;		/* blocks one command writes */
	/* Zoned namespaces (csi NVME_CSI_ZNS): the rest is 0 for others. */
	uint8_t csi;			/* command set: NVME_CSI_NVM, NVME_CSI_ZNS (Namespace Identification Descriptor) */
	uint64_t zone_size;		/* blocks per zone (ZSZE of the in-use format) */
	uint64_t nr_zones;		/* nsze / zone_size */
	uint32_t max_open_zones;	/* MOR + 1; 0: no limit */
	uint32_t max_active_zones;	/* MAR + 1; 0: no limit */
	uint32_t zone_append_max;	/* bytes one Zone Append may carry (ZASL, else the largest transfer) */
};

/* Number of active namespaces; @nsids (may be NULL) gets their ids, ascending. */
unsigned nvp_ns_list(const struct nvp_dev *dev, const uint32_t **nsids);
/* The active namespace @nsid, or NULL (errno ENOENT). Valid until close. */
const struct nvp_ns *nvp_ns_get(const struct nvp_dev *dev, uint32_t nsid);
const struct nvp_ns_info *nvp_ns_info(const struct nvp_ns *ns);

/* ---- End-to-end protection information (PI) ---------------------------- */

/*
 * The 16-bit guard format (T10 DIF): 8 bytes of each block's metadata hold
 * a guard (CRC-16 T10-DIF of the block's data and of any metadata before
 * the PI), an application tag and a reference tag, big-endian (struct
 * nvme_pi_tuple). Types 1 and 2 check the reference tag against the one
 * expected (ILBRT, plus one per block; type 1's ILBRT is the LBA's low 32
 * bits); type 3 does not check it. An application tag of 0xffff (types 1,
 * 2), or that with a reference tag of 0xffffffff (type 3), turns every
 * check of its block off.
 */

/* CRC-16 T10-DIF (polynomial 0x8bb7, no reflection, initial value 0) of @len bytes, continuing @crc. */
uint16_t nvp_crc16_t10dif(uint16_t crc, const void *buf, size_t len);

/* Per command: what the controller (or nvp_pi_verify()) checks and the tags it expects or generates. */
#define NVP_PI_CHECK_REF NVME_PRINFO_PRCHK_REF
#define NVP_PI_CHECK_APP NVME_PRINFO_PRCHK_APP
#define NVP_PI_CHECK_GUARD NVME_PRINFO_PRCHK_GUARD
#define NVP_PI_CHECK_ALL (NVP_PI_CHECK_REF | NVP_PI_CHECK_APP | NVP_PI_CHECK_GUARD)
#define NVP_PI_PRACT NVME_PRINFO_PRACT	/* the controller generates PI on write, strips it on read */

struct nvp_pi_args {
	unsigned flags;		/* NVP_PI_CHECK_* and NVP_PI_PRACT */
	uint32_t ref_tag;	/* reference tag of the first block (ILBRT) */
	uint16_t app_tag;	/* application tag (LBAT) ... */
	uint16_t app_mask;	/* ... and which of its bits are checked (LBATM) */
};

/* Where a check failed: the block (0-based, within the buffer) and the status a controller would give. */
struct nvp_pi_error {
	uint32_t block;
	uint16_t status;	/* NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_GUARD_CHECK / _APPTAG_ / _REFTAG_) */
};

/*
 * Fill the PI of @nlb blocks laid out as @fmt says (lba_size, ms, md_extended,
 * pi_type, pi_first; nvp_ns_info() gives a namespace's): with md_extended,
 * @data holds nlb * (lba_size + ms) bytes and @md is NULL; else @data holds
 * the blocks and @md their nlb * ms bytes of metadata. Reference tags start
 * at @pi->ref_tag (incrementing for types 1 and 2), application tags are
 * @pi->app_tag. Any memory; any thread. 0, or -EINVAL.
 */
int nvp_pi_generate(const struct nvp_ns_info *fmt, void *data, void *md, uint32_t nlb,
		    const struct nvp_pi_args *pi);
/*
 * Check the PI of @nlb blocks as the controller would with @pi->flags'
 * NVP_PI_CHECK_* bits. 0 when all pass; -EILSEQ at the first block that
 * fails, the check named in nvp_errmsg() ("End-to-end Guard Check Error
 * at block 3 ...") and in *@where (may be NULL); -EINVAL for bad arguments.
 */
int nvp_pi_verify(const struct nvp_ns_info *fmt, const void *data, const void *md, uint32_t nlb,
		  const struct nvp_pi_args *pi, struct nvp_pi_error *where);

/* ---- DMA memory ---------------------------------------------------------- */

/*
 * Allocate @size bytes the controller can reach, 4 KiB aligned and zeroed.
 * All data buffers given to I/O functions must lie in such memory.
 * Returns NULL with errno and nvp_errmsg() (e.g. no hugepages reserved).
 */
void *nvp_dma_alloc(struct nvp_dev *dev, size_t size);
void nvp_dma_free(struct nvp_dev *dev, void *buf);

/* ---- Status --------------------------------------------------------------- */

/* The 15-bit status field of a completion: SC, SCT, CRD, More, DNR. */
static inline uint16_t nvp_cqe_status(const struct nvme_cqe *cqe)
{
	return (uint16_t)(cqe->status >> NVME_CQE_STATUS_SHIFT);
}

/* Name of a status ("Invalid Field in Command"), ignoring CRD/More/DNR. */
const char *nvp_status_str(uint16_t status);
/* "Invalid Field in Command (SCT 0h / SC 2h, DNR)" into @buf; returns @buf. */
char *nvp_status_format(uint16_t status, char *buf, size_t len);

/* ---- Admin commands (any thread, serialized) ------------------------------ */

/*
 * Run one admin command and wait for it. @buf (may be NULL) is copied
 * through a bounce buffer, so any memory will do; @len at most 64 KiB.
 * The cid, PRPs and data pointer of @cmd are filled in here.
 * Returns 0, -EIO when the controller answered with an error status (in
 * *@cqe when not NULL), -ETIMEDOUT, or another -errno.
 */
int nvp_admin_cmd(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
		  struct nvme_cqe *cqe);
int nvp_identify(struct nvp_dev *dev, uint8_t cns, uint32_t nsid, void *buf4k);
int nvp_get_log_page(struct nvp_dev *dev, uint32_t nsid, uint8_t lid, void *buf, size_t len);

/*
 * Get Log Page with every field: @len bytes (a multiple of 4, any size) of
 * log @lid from byte @offset. Split into as many commands as the admin
 * path needs, each at its offset, all but the last with RAE set (the last
 * too when @rae): the event of the log stays pending until the whole log
 * has been read. Offsets and multi-command reads need LPA bit 2
 * (-EOPNOTSUPP without). nvp_get_log_page() is this with nsid and lid alone.
 */
struct nvp_log_args {
	uint32_t nsid;		/* 0xffffffff: the controller */
	uint8_t lid;
	uint8_t lsp;		/* log specific field, 7 bits */
	uint16_t lsi;		/* log specific identifier */
	uint64_t offset;	/* LPO, bytes, a multiple of 4 */
	int rae;		/* retain the asynchronous event */
};
int nvp_get_log(struct nvp_dev *dev, const struct nvp_log_args *args, void *buf, size_t len);

/*
 * The namespace ids of a Changed Namespace List log (NVME_LOG_CHANGED_NS)
 * in @log, of which only the first @len bytes are read: the ids before the
 * first 0, at most 1024. Stores at most @max in @ids and returns how many
 * there are (more than @max: some were left out), or -E2BIG when the log
 * says more than 1024 changed (rescan all), -EINVAL for NULL arguments.
 */
int nvp_changed_ns_parse(const void *log, size_t len, uint32_t *ids, unsigned max);
int nvp_get_features(struct nvp_dev *dev, uint8_t fid, uint32_t cdw11, uint32_t *dw0);
int nvp_set_features(struct nvp_dev *dev, uint8_t fid, uint32_t cdw11, uint32_t *dw0);

/* ---- Queue pairs and I/O --------------------------------------------------- */

/* The completion callback nvp_cb is documented in <nvpoll/types.h>. */

struct nvp_qpair_opts {
	unsigned depth; /* queue entries, 2 .. nvp_dev_max_queue_depth(); 0: 256 (clamped) */
};

/*
 * Create an I/O submission/completion queue pair. One qpair per thread;
 * a qpair can keep depth - 1 commands in flight.
 * Returns NULL with errno (EBUSY when the controller has no queue left).
 */
struct nvp_qpair *nvp_qpair_create(struct nvp_dev *dev, const struct nvp_qpair_opts *opts);
/*
 * Delete the queues. Commands still in flight are waited for (up to the
 * admin timeout); any that never complete get their callback with
 * -ECANCELED, here, on the calling thread.
 */
void nvp_qpair_destroy(struct nvp_qpair *qp);

/*
 * I/O submission. Each posts one command and returns 0, or -EAGAIN when the
 * qpair has no free slot (poll, then retry), -EINVAL for bad arguments,
 * -ERANGE for an LBA range past the end of the namespace, -E2BIG for a
 * transfer above nvp_dev_max_xfer() (nvpoll does not split commands),
 * -EFAULT for a buffer not in nvp_dma_alloc() memory.
 *
 * Posting does not ring the doorbell: nvp_qpair_ring() does, and so does
 * nvp_qpair_poll() before it looks for completions, so one doorbell write
 * covers a whole batch of submissions.
 *
 * @nlb is a count of logical blocks (1 .. 65536). @buf must be 4-byte
 * aligned and hold nlb * lba_size bytes.
 */
int nvp_read(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
	     void *buf, nvp_cb cb, void *arg);
int nvp_write(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
	      const void *buf, nvp_cb cb, void *arg);
int nvp_flush(struct nvp_qpair *qp, const struct nvp_ns *ns, nvp_cb cb, void *arg);
int nvp_write_zeroes(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
		     nvp_cb cb, void *arg);

/*
 * Dataset Management with the Deallocate attribute (trim) for @nr ranges
 * (1 .. 256). @ranges is read by the controller: like a data buffer it must
 * lie in nvp_dma_alloc() memory and stay untouched until the callback.
 * Each range's nlb there is a count (one-based), and is checked against the
 * namespace: -ERANGE when one runs past its end.
 */
int nvp_dsm(struct nvp_qpair *qp, const struct nvp_ns *ns, const struct nvme_dsm_range *ranges,
	    unsigned nr, nvp_cb cb, void *arg);

/*
 * Raw I/O command passthrough: @cmd is copied, its cid and data pointer
 * are filled in from @buf / @len (DMA memory, may be NULL / 0).
 */
int nvp_io_cmd(struct nvp_qpair *qp, const struct nvme_sqe *cmd, void *buf, size_t len,
	       nvp_cb cb, void *arg);

/*
 * Vectored Read and Write: the nlb * lba_size bytes of the blocks move
 * to or from @iovcnt segments (1 .. NVP_IOV_MAX) in order, each a buffer
 * in nvp_dma_alloc() memory with its length (not 0). The @iov array is
 * read before the call returns; the buffers must stay until the callback.
 * The data pointer is built as PRPs when the segments allow it (the first
 * starts dword aligned, every later one starts on a controller memory page
 * -- 4 KiB unless CAP.MPSMIN asks more -- and every earlier one ends on
 * one), else as an SGL where
 * Identify Controller SGLS says the controller takes them (with dword
 * alignment SGLS asks it of every segment's address and length), and
 * opts.force_sgl makes it an SGL always. Returns those of nvp_read(), and
 * -EINVAL naming the segment that fits neither, -EINVAL when the lengths
 * do not add up to nlb * lba_size, -E2BIG above MDTS or for more segments
 * than a command's list holds, -EOPNOTSUPP on a config without PCIe
 * queues of nvpoll's own (kernel, nil, tcp).
 */
#define NVP_IOV_MAX 256u
struct nvp_iov {
	void *buf;
	size_t len;
};
int nvp_readv(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
	      const struct nvp_iov *iov, unsigned iovcnt, nvp_cb cb, void *arg);
int nvp_writev(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
	       const struct nvp_iov *iov, unsigned iovcnt, nvp_cb cb, void *arg);

/*
 * Read and Write on a namespace with metadata (nvp_ns_info(): ms > 0) and
 * end-to-end protection. Extended LBAs (md_extended): @buf holds each
 * block's data followed by its metadata, nlb * (lba_size + ms) bytes, and
 * @md is NULL. Separate metadata: @buf holds the data, @md (DMA memory,
 * 4-byte aligned) nlb * ms bytes of metadata. @pi (may be NULL: no checks,
 * no PRACT) sets PRINFO, the reference tag (ILBRT) and application tag and
 * mask; with NVP_PI_PRACT and 8-byte metadata the controller generates PI
 * on write and strips it on read, so no metadata moves: @md is NULL and an
 * extended @buf holds data alone. Same returns as nvp_read(); a PI check
 * the controller fails completes with -EIO and its status (SCT 2h, SC
 * 82h..84h): nvp_cqe_error() names it.
 */
int nvp_read_md(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb, void *buf,
		void *md, const struct nvp_pi_args *pi, nvp_cb cb, void *arg);
int nvp_write_md(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
		 const void *buf, const void *md, const struct nvp_pi_args *pi, nvp_cb cb, void *arg);

/*
 * A completion's error, worded: for @err -EIO, sets nvp_errmsg() to the
 * status by name ("End-to-end Guard Check Error (SCT 2h / SC 82h, DNR)")
 * and returns -EILSEQ for the three PI checks, -EIO for the others; any
 * other @err is returned as it is. For use in a callback.
 */
int nvp_cqe_error(int err, const struct nvme_cqe *cqe);

/*
 * The optional NVM commands. Each returns -EOPNOTSUPP, before posting,
 * when Identify Controller ONCS says the controller lacks it, and
 * otherwise the returns of nvp_read(). Failures the controller reports
 * come back -EIO with their status ("Compare Failure", "Unrecovered Read
 * Error", "Command Size Limit Exceeded", ...; nvp_cqe_error() words it).
 *  - nvp_compare(): the blocks equal @buf (nlb * lba_size bytes)?
 *  - nvp_verify(): the controller reads the blocks and checks them (and
 *    their PI, with @pi's NVP_PI_CHECK_* flags; @pi may be NULL); no data moves.
 *  - nvp_write_uncorrectable(): marks the blocks so that reads of them fail
 *    (Unrecovered Read Error) until they are written again.
 *  - nvp_copy(): Simple Copy of @nr source ranges (format 0, in DMA memory,
 *    untouched until the callback; each range's nlb is zero-based, as on
 *    the wire) to consecutive blocks from @sdlba, within the namespace's
 *    limits (nvp_ns_info(): copy_max_ranges, copy_max_range_nlb,
 *    copy_max_nlb); -EINVAL names the one exceeded.
 */
int nvp_compare(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb, const void *buf,
		nvp_cb cb, void *arg);
int nvp_verify(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
	       const struct nvp_pi_args *pi, nvp_cb cb, void *arg);
int nvp_write_uncorrectable(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
			    nvp_cb cb, void *arg);
int nvp_copy(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t sdlba, const struct nvme_copy_range *ranges,
	     unsigned nr, nvp_cb cb, void *arg);

/* ---- Zoned namespaces (NVMe ZNS, CSI 02h) ------------------------------ */

/*
 * On a namespace whose nvp_ns_info()->csi is NVME_CSI_ZNS; elsewhere each
 * returns -EOPNOTSUPP. Zone errors complete with -EIO and their status:
 * "Zone Is Full", "Zone Boundary Error", "Zone Invalid Write", "Zone Is
 * Read Only", "Zone Is Offline", "Too Many Active Zones", "Too Many Open
 * Zones", "Invalid Zone State Transition" (nvp_cqe_error() names it).
 *  - nvp_zone_report(): Zone Management Receive (Report Zones) of the
 *    zones from the one holding @slba on, those in state @filter
 *    (NVME_ZRASF_*, 0: all), into @buf (DMA memory, @len bytes, a multiple
 *    of 64); with @partial the header counts the descriptors that fit,
 *    else all that match. Page by calling again from the last zone's end.
 *  - nvp_zone_mgmt(): Zone Management Send: @action NVME_ZSA_OPEN, _CLOSE,
 *    _FINISH, _RESET on the zone starting at @zslba, or with @all on every
 *    zone the action applies to (@zslba ignored).
 *  - nvp_zone_append(): writes @nlb blocks at the zone's write pointer;
 *    the callback finds the first LBA written with nvp_cqe_append_lba().
 */
int nvp_zone_report(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, unsigned filter, int partial,
		    void *buf, size_t len, nvp_cb cb, void *arg);
int nvp_zone_mgmt(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t zslba, unsigned action, int all,
		  nvp_cb cb, void *arg);
int nvp_zone_append(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t zslba, uint32_t nlb,
		    const void *buf, nvp_cb cb, void *arg);

/* The LBA a successful Zone Append wrote its first block to (completion dwords 0 and 1). */
static inline uint64_t nvp_cqe_append_lba(const struct nvme_cqe *cqe)
{
	return cqe->dw0 | (uint64_t)cqe->dw1 << 32;
}

/* One zone descriptor, decoded. */
struct nvp_zone {
	uint64_t zslba;		/* first block */
	uint64_t zcap;		/* blocks that may be written */
	uint64_t wp;		/* write pointer */
	uint8_t type;		/* NVME_ZONE_TYPE_SEQ_WRITE */
	uint8_t state;		/* enum nvme_zone_state */
	uint8_t attrs;		/* ZA */
};

/*
 * Decode a Report Zones buffer of @len bytes: stores up to @max zones in
 * @zones and returns how many it stored -- never more than the header
 * says nor than @len holds; *@nr_zones (may be NULL) gets the header's
 * count. -EINVAL when @len is below the 64-byte header or a pointer is
 * NULL (@zones may be NULL with @max 0). Pure: any memory, any thread.
 */
int nvp_zone_report_parse(const void *buf, size_t len, struct nvp_zone *zones, unsigned max, uint64_t *nr_zones);

void nvp_qpair_stats(const struct nvp_qpair *qp, struct nvp_qpair_stats *out);
void nvp_qpair_stats_reset(struct nvp_qpair *qp);
/* Commands posted and not yet completed. */
unsigned nvp_qpair_outstanding(const struct nvp_qpair *qp);

/*
 * Deadline of commands submitted from now on, in ms (0: none). It is the
 * qpair's default; set just before one submission and back after it, it
 * is that command's own (no system call, no lock; a call that changes it
 * looks over the slots once, so that the commands posted before it keep
 * the old value). A command past its
 * deadline is aborted (Abort admin command, from the polling thread); if
 * that does not clear it, the controller is reset. Its callback runs
 * exactly once, with -ETIMEDOUT. Deadlines are checked every 128 polls (at
 * most once a millisecond), so they are only as precise as the polling; a
 * deadline counts from the first check after submission (or from the
 * nvp_qpair_set_timeout() call that follows it, if that comes first),
 * never earlier.
 * NVMe/TCP (tcp://) has no Abort that makes a buffer safe to reuse: a
 * command past its deadline closes its qpair's connection instead, it
 * ends with -ETIMEDOUT and every other command in flight there with
 * -ENOTCONN, and so does every later one until nvp_ctrl_reset().
 */
void nvp_qpair_set_timeout(struct nvp_qpair *qp, unsigned ms);

/* ---- Recovery -------------------------------------------------------------- */

/*
 * Reset the controller: disable, re-enable, re-create the admin queue.
 * Each qpair then recovers on its owner's next poll (see NVP_RESET_*).
 * Any thread. Returns 0, or -errno when the controller does not come back
 * (-ENODEV when it is gone).
 */
int nvp_ctrl_reset(struct nvp_dev *dev);

/* Called after every controller reset, on the thread that did it. */
typedef void (*nvp_reset_cb)(struct nvp_dev *dev, int err, void *arg);
void nvp_dev_set_reset_cb(struct nvp_dev *dev, nvp_reset_cb cb, void *arg);

/*
 * 1 once the device is gone: its BAR read all ones (surprise removal), or
 * the kernel asked for it back and nvpoll released it (NVP_EVENT_REMOVAL).
 */
int nvp_dev_removed(const struct nvp_dev *dev);

/* ---- Asynchronous events ------------------------------------------------------ */

/*
 * nvpoll keeps Asynchronous Event Requests outstanding on the admin queue.
 * When one completes, nvp_admin_poll() reads the log page the event names
 * (which the spec requires to re-arm that event), refreshes the namespace
 * list on a Namespace Attribute Changed notice, re-arms, and calls the
 * event callback. Namespace handles stay valid across the refresh; a
 * namespace that went away reports nsze 0 and its I/O fails with -ERANGE.
 */
/*
 * NVP_EVENT_REMOVAL: the kernel asked for the device back (an orderly
 * hot-unplug, an unbind from vfio-pci), or removed it (uio-generic).
 * nvpoll has already released it, from whichever thread's poll saw it
 * first: every command ends with -ENODEV, qpairs and DMA buffers stay
 * valid until nvp_dev_close(), which the application should call soon.
 * Seeing the request needs a qpair poll or nvp_admin_poll() now and then;
 * until one runs, vfio-pci's removal waits. (A surprise removal, a BAR
 * that reads all ones, ends commands the same way but has no event.)
 */
enum nvp_event_kind {
	NVP_EVENT_AER = 0,	/* an Asynchronous Event: type, info, lid, dw0 */
	NVP_EVENT_REMOVAL = 1,	/* removed by the kernel, device released; the other fields are 0 */
};

struct nvp_event {
	uint8_t type;	/* NVP_EVENT_AER: enum nvme_aer_type: error, SMART/health, notice, ... */
	uint8_t info;	/* asynchronous event information */
	uint8_t lid;	/* log page that was read for it */
	uint8_t kind;	/* enum nvp_event_kind */
	uint32_t dw0;	/* the raw completion dword 0 */
};
typedef void (*nvp_event_cb)(struct nvp_dev *dev, const struct nvp_event *ev, void *arg);
void nvp_dev_set_event_cb(struct nvp_dev *dev, nvp_event_cb cb, void *arg);

/*
 * Reap admin completions and handle asynchronous events; call it now and
 * then from any one thread (a management thread, or a timer). Event
 * callbacks run inside it. Returns the number of events handled, or
 * -errno (-ENODEV once the device is removed, after delivering
 * NVP_EVENT_REMOVAL when that is why). Cheap when nothing happened;
 * returns 0 at once when another thread holds the admin queue.
 */
int nvp_admin_poll(struct nvp_dev *dev);

#ifdef __cplusplus
}
#endif

#endif /* NVPOLL_H */
