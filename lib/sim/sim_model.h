/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/sim: the controller model's state and the functions its
 * files share.
 *
 * Threads. One model thread per sim runs every command; it alone touches
 * queues, namespaces, logs and held completions, so none of those has a
 * lock. Other threads reach the model in three ways:
 *  - BAR0: the driver's plain stores; the model reads registers and
 *    doorbells with acquire loads and writes CSTS with release stores.
 *  - map_lock: dma_map()/dma_unmap() change the IOVA table; the model holds
 *    the lock for each whole pass that touches host memory, so after
 *    dma_unmap() returns the model never touches that memory again.
 *  - fault_lock: nvp_sim_inject() arms faults; the model looks at them only
 *    when an atomic count says some are armed.
 * Counters in stats are written by the model alone, with relaxed atomic
 * stores, so nvp_sim_stats() reads them from any thread without a lock.
 */
#ifndef NVP_SIM_MODEL_H
#define NVP_SIM_MODEL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nvpoll/barrier.h>
#include <nvpoll/sim.h>
#include <nvpoll/spec.h>

#include "bus.h"

#define SIM_MAX_NS 32
#define SIM_OPTS_MAX 256	/* as the URI parser allows */
#define SIM_MAX_FAULTS 16
#define SIM_MAX_EVENTS 16	/* raised and not yet sent to an AER */
#define SIM_MAX_ABORTS 16	/* aborts of commands not yet fetched */
#define SIM_ERRLOG_LEN 256	/* Error Information log entries (ELPE + 1): 16 KiB, more than one 4 KiB page */
#define SIM_AERL 3		/* AERs outstanding at most: AERL + 1 */
#define SIM_MPSMAX 4		/* CAP.MPSMAX: pages up to 64 KiB */
#define SIM_BAD_CID 0xffff	/* the cid of BAD_CID completions */
#define SIM_VS 0x00010400u	/* NVMe 1.4 */
#define SIM_CNTLID 1		/* the controller id: a subsystem of one controller */
#define SIM_COPY_MSSRL 256	/* Copy limits: blocks per source range ... */
#define SIM_COPY_MCL 1024	/* ... per command ... */
#define SIM_COPY_MSRC 15	/* ... and source ranges, zero-based */

/* Status helpers: the 15-bit status field. Errors the host caused carry DNR. */
#define SIM_SC(sc) NVME_STATUS_CODE(NVME_SCT_GENERIC, sc)
#define SIM_ERR(sct, sc) ((uint16_t)(NVME_STATUS_CODE(sct, sc) | NVME_STATUS_DNR))
#define SIM_ERR_GEN(sc) SIM_ERR(NVME_SCT_GENERIC, sc)
#define SIM_ERR_CMD(sc) SIM_ERR(NVME_SCT_CMD_SPECIFIC, sc)
#define SIM_HOLD 0xffffu	/* handler return: the command completes later */

/* What the options string sets (sim_opts.c). */
struct sim_cfg {
	unsigned nr_ns;
	unsigned lbads[SIM_MAX_NS];	/* log2 of the LBA data size */
	uint64_t size[SIM_MAX_NS];	/* bytes */
	/* Metadata per namespace: bytes per block, extended LBAs (mset), PI type, PI first (pil). */
	unsigned ms[SIM_MAX_NS], mset[SIM_MAX_NS], pi[SIM_MAX_NS], pil[SIM_MAX_NS];
	/* Zoned namespaces: zoned per namespace; zone size (bytes), open and active limits (0: none) for all. */
	unsigned zoned[SIM_MAX_NS];
	uint64_t zone_size;
	unsigned max_open, max_active, zasl;
	unsigned mdts, mqes, nqueues, ready_ms, dstrd, to;
	unsigned sgl, vwc, dbbuf;
	unsigned yield;		/* idle: yield, never sleep (runs as soon as a host thread yields) */
	unsigned oncs;			/* Identify Controller ONCS: the optional NVM commands run */
	char sn[21];
	bool geometry_given;		/* ns=, lbads= or size= was given */
	char file[SIM_OPTS_MAX];	/* file=PATH: namespaces backed by a file, "": memory */
	uint32_t detached;		/* bit n - 1: namespace n starts detached (a file's own state wins) */
};
int sim_cfg_parse(const char *opts, struct sim_cfg *cfg);

struct sim_ns {
	uint8_t *data;		/* anonymous mapping (pages appear on first write), or the file's */
	size_t bytes;
	uint64_t file_off;	/* where data starts in the backing file (sim_file.c) */
	uint64_t nsze;		/* logical blocks */
	unsigned lbads;
	bool attached;		/* to the one controller (id SIM_CNTLID): active, I/O allowed */
	/* Metadata (sim_md.c): ms bytes per block in md, indexed by LBA; none when ms is 0. */
	uint8_t *md;
	size_t md_bytes;
	unsigned ms, mset, pi, pil;
	uint8_t *unc;		/* Write Uncorrectable (sim_cmds.c): a bit per 512-byte unit, set: reads fail */
	/* Zones (sim_zns.c), when zoned. */
	bool zoned;
	struct sim_zone {
		uint64_t wp;
		uint8_t state;	/* enum nvme_zone_state */
	} *zones;
	uint64_t zone_blocks, nr_zones;
	unsigned nr_open, nr_active;
};

/* A completion not in its CQ yet: held back by the model, or waiting for room. */
enum sim_cpl_kind { SIM_CPL_WAIT, SIM_CPL_DELAY, SIM_CPL_DROP, SIM_CPL_AER };
struct sim_cpl {
	struct sim_cpl *next;
	struct nvme_cqe cqe;	/* status without the phase bit */
	uint64_t due_ns;	/* SIM_CPL_DELAY */
	uint16_t cqid;
	uint8_t kind;
	bool bad_phase;
};

/*
 * A queue's doorbell: the register in BAR0 and, once the host gave
 * Doorbell Buffer Config, its shadow doorbell and EventIdx in host memory
 * (sim_dbbuf.c). The model acts on a value when it differs from the one
 * it last saw there.
 */
struct sim_db {
	uint32_t *reg;
	uint32_t *shadow;	/* NULL: the register alone */
	uint32_t *eventidx;
	uint32_t reg_seen, shadow_seen;
};

struct sim_sq {
	struct nvme_sqe *ring;	/* host memory, resolved at creation */
	struct sim_db db;	/* tail */
	uint32_t size, head, tail;
	uint16_t cqid;
	bool live;
};

struct sim_cq {
	struct nvme_cqe *ring;
	struct sim_db db;	/* head */
	uint32_t size, head, tail;
	unsigned nr_sqs;	/* SQs completing here: no delete while > 0 */
	struct sim_cpl *wait;	/* completions waiting for room, oldest first */
	struct sim_cpl **wait_tail;
	uint8_t phase;
	bool live;
	bool blocked;		/* shadow: found full, looks again only on an event */
};

/* One piece of host memory a command's data pointer resolved to. */
struct sim_iov {
	uint8_t *p;		/* NULL: SGL bit bucket, nothing is stored */
	size_t len;
};

struct sim_fault {
	struct nvp_sim_fault f;
	unsigned skip;		/* matching commands to let through first */
	unsigned left;		/* hits to go; NVP_SIM_ALWAYS: forever */
};

/* The faults that hit one command. */
struct sim_hit {
	bool fatal, drop, bad_phase, bad_cid, has_status, short_xfer, corrupt;
	uint16_t status;
	unsigned delay_ms;
	uint32_t xfer_bytes;	/* short_xfer: at most this much data reaches the host */
};

/* Feature values as Get Features returns them in dword 0. */
struct sim_feat {
	uint32_t arb, pm, vwce, irq_coalesce, aec, kato;
	uint32_t nq;		/* queues granted: NCQA << 16 | NSQA, zero-based */
};

struct nvp_sim {
	struct nvp_bus bus;	/* first: nvp_sim_from_bus() */
	struct sim_cfg cfg;
	uint8_t *bar;		/* BAR0, the model's view of bus.bar0 */
	size_t bar_len;
	pthread_t thread;
	bool thread_started;
	int stop;		/* atomic: close() asks the thread to end */

	/* ---- model thread only ---- */
	uint32_t cc;		/* CC as last acted on */
	uint32_t csts;		/* what CSTS holds */
	bool enabled, ready, halted, shut;
	uint64_t ready_at;
	unsigned page_shift;	/* CC.MPS + 12 */
	uint64_t max_xfer;	/* bytes, 0: no limit */
	struct sim_sq *sqs;	/* [nqueues + 1], index = qid */
	struct sim_cq *cqs;
	unsigned max_qid;	/* highest live queue id, bounds the polling loop */
	struct sim_feat feat;
	struct sim_cpl *held;	/* DELAY, DROP and AER completions */
	unsigned nr_delayed;
	unsigned nr_aer;
	struct sim_cpl *free_cpl;
	struct { uint16_t sqid, cid; } aborts[SIM_MAX_ABORTS];
	unsigned nr_aborts;
	uint32_t events[SIM_MAX_EVENTS]; /* AER dword 0 values, oldest first */
	unsigned nr_events;
	struct sim_ns ns[SIM_MAX_NS];
	int file_fd;		/* the backing file, locked (flock); -1: memory */
	struct sim_iov *iov;	/* the current command's data, see sim_dptr() */
	size_t nr_iov, cap_iov;
	size_t xfer_cap;	/* bytes of it the host gets (SHORT_XFER), else SIZE_MAX */
	bool corrupt;		/* CORRUPT: the current write's first byte is stored flipped */
	struct nvme_error_log errlog[SIM_ERRLOG_LEN];
	uint64_t err_count;
	uint32_t changed_ns;	/* bit n - 1: namespace n changed since the Changed Namespace List was read */
	uint64_t units_read, units_written;	/* 512-byte units */
	uint64_t host_reads, host_writes;
	uint64_t idle_since;
	uint32_t *dbbuf_dbs;	/* Doorbell Buffer Config: shadow doorbells, NULL: none */
	uint32_t *dbbuf_eis;	/* ... and EventIdx values */
	bool dbbuf_warned;	/* a register write without its shadow was logged */

	/* ---- map_lock ---- */
	pthread_mutex_t map_lock;
	int map_waiters;	/* atomic: mappers waiting, the model lets them in */
	uint8_t **units;	/* IOVA slot -> host address of its 2 MiB unit */
	size_t nr_units, cap_units;

	/* ---- fault_lock ---- */
	pthread_mutex_t fault_lock;
	struct sim_fault faults[SIM_MAX_FAULTS];
	unsigned nr_faults;	/* also read atomically without the lock */
	uint32_t raised[SIM_MAX_EVENTS];
	unsigned nr_raised;	/* also read atomically without the lock */
	int never_ready;	/* atomic */
	int remove_req;		/* atomic: nvp_sim_inject(REMOVE) waits for removed */
	int removed;		/* atomic */
	int release_asked;	/* atomic: RELEASE_REQUEST made, the driver has not seen it yet */
	int release_req;	/* atomic: RELEASE_REQUEST made (stays) */
	int released;		/* atomic: the driver released the device */

	struct nvp_sim_stats stats;
};

/* A fetched command on its way through the model. */
struct sim_cmd {
	struct nvme_sqe sqe;
	struct sim_sq *sq;
	uint16_t sqid;
	uint32_t dw0;		/* completion dword 0 */
	uint32_t dw1;		/* ... and 1 (Zone Append's LBA) */
	uint64_t lba;		/* for the error log */
};

typedef uint16_t (*sim_cmd_fn)(struct nvp_sim *sim, struct sim_cmd *cmd);
struct sim_cmd_desc {
	sim_cmd_fn fn;
};
extern const struct sim_cmd_desc sim_admin_cmds[256];
extern const struct sim_cmd_desc sim_io_cmds[256];

/* Counters: one writer (the model), readers anywhere; relaxed: untorn, nothing behind them. */
#define SIM_STAT_ADD(sim, field, n) nvp_store_relaxed(&(sim)->stats.field, (sim)->stats.field + (n))

/* A register or doorbell the host stores to; acquire: what the host wrote before it is visible. */
static inline uint32_t sim_load32(const void *p)
{
	return nvp_load_acquire((const uint32_t *)p);
}

/* Full barrier: a store (EventIdx) before a load (the shadow doorbell). */
static inline void sim_mb(void)
{
	nvp_mb();
}

static inline uint32_t *sim_reg(struct nvp_sim *sim, unsigned off)
{
	return (uint32_t *)(sim->bar + off);
}

static inline uint32_t *sim_doorbell(struct nvp_sim *sim, unsigned qid, unsigned is_cq)
{
	return sim_reg(sim, NVME_REG_DBS + (2 * qid + is_cq) * (4u << sim->cfg.dstrd));
}

/*
 * CC as the host wrote it before the doorbell the model just read: fresher
 * than sim->cc, which the model updates once per pass.
 */
static inline uint32_t sim_cc(struct nvp_sim *sim)
{
	return sim_load32(sim_reg(sim, NVME_REG_CC));
}

/* I/O queues granted by Number of Queues, one-based. */
static inline unsigned sim_nsq(const struct nvp_sim *sim)
{
	return (sim->feat.nq & 0xffff) + 1;
}

static inline unsigned sim_ncq(const struct nvp_sim *sim)
{
	return (sim->feat.nq >> 16) + 1;
}

static inline size_t sim_page_size(const struct nvp_sim *sim)
{
	return (size_t)1 << sim->page_shift;
}

/* sim_ctrl.c */
int sim_ctrl_start(struct nvp_sim *sim);
void sim_ctrl_stop(struct nvp_sim *sim);
void sim_feat_defaults(const struct nvp_sim *sim, struct sim_feat *f);
void sim_halt(struct nvp_sim *sim, const char *why);
void sim_ctrl_catch_up(struct nvp_sim *sim);

/* sim_queue.c */
void sim_sq_init(struct nvp_sim *sim, uint16_t qid, void *ring, uint32_t size, uint16_t cqid);
void sim_cq_init(struct nvp_sim *sim, uint16_t qid, void *ring, uint32_t size);
void sim_doorbell_zero(struct nvp_sim *sim, uint16_t qid, unsigned is_cq);
void sim_queues_drop(struct nvp_sim *sim);
void sim_cpl_free_list(struct sim_cpl *c);
bool sim_poll_queues(struct nvp_sim *sim);
void sim_hold(struct nvp_sim *sim, const struct sim_cmd *cmd, enum sim_cpl_kind kind,
	      uint64_t due_ns, bool bad_phase, uint16_t status);
void sim_post_event(struct nvp_sim *sim, uint32_t dw0);
uint16_t sim_queue_create_cq(struct nvp_sim *sim, struct sim_cmd *cmd);
uint16_t sim_queue_create_sq(struct nvp_sim *sim, struct sim_cmd *cmd);
uint16_t sim_queue_delete_cq(struct nvp_sim *sim, struct sim_cmd *cmd);
uint16_t sim_queue_delete_sq(struct nvp_sim *sim, struct sim_cmd *cmd);
uint16_t sim_abort_cmd(struct nvp_sim *sim, struct sim_cmd *cmd);
bool sim_io_queues_exist(const struct nvp_sim *sim);

/* sim_dbbuf.c */
#define SIM_DB_REG 1u		/* sim_db_read(): the register changed */
#define SIM_DB_SHADOW 2u	/* ... the shadow brought a value no register write announced */
uint16_t sim_dbbuf_config(struct nvp_sim *sim, struct sim_cmd *cmd);
void sim_dbbuf_bind(struct nvp_sim *sim, struct sim_db *db, uint16_t qid, unsigned is_cq);
void sim_dbbuf_forget(struct nvp_sim *sim);
unsigned sim_db_read(struct nvp_sim *sim, struct sim_db *db, uint32_t *val);
void sim_db_event(struct sim_db *db, uint32_t val);
uint32_t sim_db_peek(const struct sim_db *db);

/* Has the host written the register since the model last looked? */
static inline bool sim_db_rung(const struct sim_db *db)
{
	return sim_load32(db->reg) != db->reg_seen;
}

/* sim_dma.c */
int sim_dma_map(struct nvp_bus *bus, void *vaddr, size_t len, uint64_t *unit_iova);
int sim_dma_unmap(struct nvp_bus *bus, void *vaddr, size_t len, const uint64_t *unit_iova);
void sim_map_lock(struct nvp_sim *sim);
void sim_map_unlock(struct nvp_sim *sim);
void *sim_dma_ptr(struct nvp_sim *sim, uint64_t iova, size_t len);
uint16_t sim_dptr(struct nvp_sim *sim, const struct sim_cmd *cmd, size_t len, bool to_host);
void sim_iov_to_host(struct nvp_sim *sim, const uint8_t *src, size_t src_len);
void sim_iov_from_host(struct nvp_sim *sim, uint8_t *dst);
bool sim_iov_equal(struct nvp_sim *sim, const uint8_t *buf);
uint16_t sim_to_host(struct nvp_sim *sim, const struct sim_cmd *cmd, const void *src,
		     size_t src_len, size_t len);
uint16_t sim_from_host(struct nvp_sim *sim, const struct sim_cmd *cmd, void *dst, size_t len);

/* sim_io.c */
int sim_ns_init(struct nvp_sim *sim);
void sim_ns_fini(struct nvp_sim *sim);
void sim_ns_erase(struct nvp_sim *sim, struct sim_ns *ns);
/* An allocated namespace (attached or not), or NULL. */
struct sim_ns *sim_ns_alloc(struct nvp_sim *sim, uint32_t nsid);
/* An active namespace: allocated and attached, or NULL. */
struct sim_ns *sim_ns_active(struct nvp_sim *sim, uint32_t nsid);
void sim_ns_zero(struct nvp_sim *sim, struct sim_ns *ns, uint64_t off, uint64_t len);

/* A Read, Write, Compare or Write Zeroes, decoded and checked (sim_rw_check()). */
struct sim_rw {
	struct sim_ns *ns;
	uint64_t slba;
	uint32_t nlb;
	size_t len;	/* bytes of data (no metadata) */
	uint8_t *data;	/* in the namespace */
};
uint16_t sim_rw_check(struct nvp_sim *sim, struct sim_cmd *cmd, struct sim_rw *rw, bool xfer);

/* sim_cmds.c: Verify, Write Uncorrectable, Copy, and the blocks marked uncorrectable. */
int sim_unc_init(struct sim_ns *ns);
void sim_unc_fini(struct sim_ns *ns);
void sim_unc_mark(struct sim_ns *ns, uint64_t slba, uint64_t nlb, bool bad);
bool sim_unc_any(const struct sim_ns *ns, uint64_t slba, uint64_t nlb);
uint16_t sim_io_verify(struct nvp_sim *sim, struct sim_cmd *cmd);
uint16_t sim_io_write_uncor(struct nvp_sim *sim, struct sim_cmd *cmd);
uint16_t sim_io_copy(struct nvp_sim *sim, struct sim_cmd *cmd);

/* sim_zns.c: zoned namespaces. */
int sim_zns_init(struct nvp_sim *sim, struct sim_ns *ns, unsigned i);
void sim_zns_fini(struct sim_ns *ns);
void sim_zns_reset_all(struct sim_ns *ns);	/* every zone empty: at a format */
/* Before a write of [slba, slba + nlb): 0 or the zone error; after it succeeded, move the write pointer. */
uint16_t sim_zns_write_check(const struct nvp_sim *sim, const struct sim_ns *ns, uint64_t slba, uint64_t nlb);
void sim_zns_written(struct sim_ns *ns, uint64_t slba, uint64_t nlb);
void sim_zns_id_ns(const struct nvp_sim *sim, const struct sim_ns *ns, uint8_t *buf);
void sim_zns_id_ctrl(const struct nvp_sim *sim, uint8_t *buf);
uint16_t sim_io_zone_send(struct nvp_sim *sim, struct sim_cmd *cmd);
uint16_t sim_io_zone_recv(struct nvp_sim *sim, struct sim_cmd *cmd);
uint16_t sim_io_zone_append(struct nvp_sim *sim, struct sim_cmd *cmd);
uint16_t sim_io_write(struct nvp_sim *sim, struct sim_cmd *cmd);

/* sim_md.c: namespaces with metadata, and protection information. */
/* PRCHK of @cmd on @nlb stored blocks (Verify, Read): 0 or the check's status. */
uint16_t sim_md_check(struct nvp_sim *sim, struct sim_cmd *cmd, const struct sim_rw *rw);
int sim_md_init(struct nvp_sim *sim, struct sim_ns *ns, unsigned i);
void sim_md_fini(struct sim_ns *ns);
/* Blocks [slba, slba + nlb) lose their metadata (deallocated: PI escapes, no check). */
void sim_md_zero(struct sim_ns *ns, uint64_t slba, uint64_t nlb);
uint16_t sim_md_read(struct nvp_sim *sim, struct sim_cmd *cmd, const struct sim_rw *rw);
uint16_t sim_md_write(struct nvp_sim *sim, struct sim_cmd *cmd, const struct sim_rw *rw);

/*
 * LBA formats every namespace offers: index i is 2^(9 + i) bytes of data,
 * no metadata (512 B .. 64 KiB); Format NVM picks one.
 */
#define SIM_NR_LBAF 8
#define SIM_LBAF_LBADS(i) (9u + (i))

/* sim_file.c: file=PATH; namespaces start at multiples of SIM_FILE_NS_ALIGN in the file */
#define SIM_FILE_NS_ALIGN (64u << 10)
int sim_file_open(struct nvp_sim *sim);
uint64_t sim_file_ns_offset(const struct sim_cfg *cfg, unsigned i);
void sim_file_close(struct nvp_sim *sim);
int sim_file_sync(struct nvp_sim *sim, const struct sim_ns *ns);
int sim_file_zero(struct nvp_sim *sim, const struct sim_ns *ns, uint64_t off, uint64_t len);
/* The namespaces' LBA sizes and attachment state into the header. */
int sim_file_store_geometry(struct nvp_sim *sim);

/* sim_fault.c */
void sim_fault_match(struct nvp_sim *sim, const struct sim_cmd *cmd, struct sim_hit *hit);
void sim_fault_take_events(struct nvp_sim *sim);
/* REMOVE's effect, from any thread but the model's: returns once BAR0 reads all ones. */
int sim_request_removal(struct nvp_sim *sim);

#endif /* NVP_SIM_MODEL_H */
