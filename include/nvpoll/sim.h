/* SPDX-License-Identifier: MIT */
/*
 * The sim: an NVMe controller model that runs inside the process, opened
 * with nvp_dev_open("sim[:options]", ...). The unchanged driver talks to it
 * through the same register and DMA interface as a real controller, so an
 * application can test its own code, including its error handling, with
 * no hardware.
 *
 * Options (comma separated, e.g. "sim:ns=2,lbads=512:4096,size=16M:64M"):
 *   ns=N          namespaces (default 1, or the length of the longest list)
 *   lbads=B       LBA data size in bytes, a power of two 512..65536 (512)
 *   size=S        namespace capacity, suffix K/M/G/T (64M)
 *   mdts=N        max transfer 2^N * 4 KiB, 0 = no limit (5: 128 KiB)
 *   mqes=N        CAP.MQES, largest I/O queue is N + 1 entries (1023)
 *   nqueues=N     I/O queue pairs the controller has (16)
 *   ready_ms=N    delay between CC.EN = 1 and CSTS.RDY = 1 (0)
 *   dstrd=N       CAP.DSTRD, doorbell stride 4 << N bytes (0)
 *   to=N          CAP.TO, in 500 ms units (20)
 *   sgl=0|1|2     advertise and accept SGLs: 1 byte aligned, with Bit Buckets
 *                 (default); 2 dword aligned (SGLS 10b: unaligned Data Blocks
 *                 fail, SGL Data Block Granularity Invalid), no Bit Bucket
 *   vwc=0|1       volatile write cache present (1)
 *   dbbuf=0|1     offer Doorbell Buffer Config (OACS bit 8): shadow doorbells
 *                 and EventIdx for I/O queues, until the next reset (1)
 *   yield=0|1     when idle, the model thread yields, never spins or sleeps: it
 *                 runs whenever a host thread yields, so a host that yields on
 *                 an empty poll sees its completions at once even where one
 *                 thread runs at a time (valgrind: bench/ipio.sh) (0)
 *   sn=STRING     serial number ("NVPSIM0001")
 *   file=PATH     keep the namespaces in PATH (no commas in it) instead of
 *                 memory: created sparse at the configured size when it is
 *                 missing or empty, reused as it is by the next open, locked
 *                 (flock) while open so a second opener fails with -EBUSY.
 *                 A header records the geometry: options without ns=,
 *                 lbads= and size= take it from the file, options with any
 *                 of them must match it (else -EINVAL). Namespace 1 starts
 *                 at 64 KiB, each next one at the next 64 KiB boundary.
 *                 Without file= every open starts with empty namespaces.
 * lbads and size take one value for all namespaces or a colon-separated
 * list with one value per namespace. Each namespace offers 8 LBA formats
 * (index i: 2^(9 + i) bytes, no metadata); Format NVM changes it and
 * erases the namespace (with file=, the file's header follows). A trailing "/ns=N" (as in
 * "sim:ns=2/ns=2" or "sim/ns=1") is not an option: it names the namespace
 * nvp_dev_nsid() returns, as in a PCI URI.
 *
 * Faults are injected into an opened sim with nvp_sim_inject(). Each fault
 * that targets commands picks them with a match (all of whose set filters
 * must hold; a zeroed match hits every command), then skips nth - 1 of
 * them and hits the next count. The effect each fault has on the wire:
 *
 *   FATAL       CSTS.CFS = 1 when the matching command is fetched; that
 *               command and every later one get no completion until the
 *               host resets the controller (CC.EN 1 -> 0 clears CFS).
 *   NEVER_READY every later CC.EN 0 -> 1 leaves CSTS.RDY = 0 (until
 *               nvp_sim_clear()).
 *   DROP        the command is executed but its completion is never posted.
 *               It stays outstanding: an Abort for it completes it with
 *               Command Abort Requested; a reset forgets it.
 *   DELAY       the command is executed, its completion posted delay_ms later.
 *   STATUS      the command is not executed: it completes with @status
 *               (the 15-bit status field, NVME_STATUS_DNR included or not).
 *   BAD_PHASE   the completion is written with the previous pass's phase
 *               bit, so the host never sees it nor any entry behind it.
 *   BAD_CID     an extra completion with cid 0xffff (which no command has)
 *               is posted just before the command's real one.
 *   REMOVE      surprise removal, effective when nvp_sim_inject() returns:
 *               BAR0's pages are swapped for pages of 0xff bytes, so every
 *               register the host never writes (CAP, VS, CSTS, ...) reads all
 *               ones from then on; a register the host writes itself may
 *               read back that value until the model's next pass (< 1 ms)
 *               rewrites it. The model stops: no DMA, no completion. Final.
 *   AER         raise an asynchronous event: an outstanding Asynchronous
 *               Event Request completes with it, else it waits for one.
 *   SHORT_XFER  the command runs, but of the data it returns only the first
 *               xfer_bytes reach the host; the rest of the host's buffer is
 *               not written (a controller answering a Get Log Page, which
 *               has no field for it, with less than asked).
 *   RELEASE_REQUEST
 *               the kernel asks for the device back, as vfio-pci's device
 *               request does on an orderly hot-unplug: the model keeps
 *               working until the driver releases the device, then it is
 *               removed as by REMOVE and maps no more DMA memory. Final.
 *
 * Thread safety: every function here may be called from any thread while
 * the driver runs; the sim serializes internally.
 */
#ifndef NVPOLL_SIM_H
#define NVPOLL_SIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct nvp_dev;
struct nvp_sim;

/*
 * The sim behind an opened device, or NULL when @dev is not a sim.
 * Valid until nvp_dev_close(). (Implemented in lib/nvme.)
 */
struct nvp_sim *nvp_dev_sim(struct nvp_dev *dev);

enum nvp_sim_fault_type {
	NVP_SIM_FAULT_FATAL = 1,
	NVP_SIM_FAULT_NEVER_READY,
	NVP_SIM_FAULT_DROP,
	NVP_SIM_FAULT_DELAY,
	NVP_SIM_FAULT_STATUS,
	NVP_SIM_FAULT_BAD_PHASE,
	NVP_SIM_FAULT_BAD_CID,
	NVP_SIM_FAULT_REMOVE,
	NVP_SIM_FAULT_AER,
	NVP_SIM_FAULT_RELEASE_REQUEST,
	NVP_SIM_FAULT_SHORT_XFER,
	/*
	 * A matching Write is checked as usual (PI included) and completes
	 * successfully, but its first data byte is stored flipped: data
	 * changed behind its protection information, for a later read with
	 * the guard check on to catch.
	 */
	NVP_SIM_FAULT_CORRUPT,
};

/* Filters of struct nvp_sim_match, set in .filter. */
#define NVP_SIM_MATCH_ADMIN (1u << 0) /* admin commands only */
#define NVP_SIM_MATCH_IO (1u << 1)    /* I/O commands only */
#define NVP_SIM_MATCH_OPC (1u << 2)   /* opcode == .opcode */
#define NVP_SIM_MATCH_QID (1u << 3)   /* submitted on queue .qid */
/* Read, Write, Compare, Write Zeroes on .nsid touching [slba, slba + nlb) */
#define NVP_SIM_MATCH_LBA (1u << 4)

#define NVP_SIM_ALWAYS 0xffffffffu /* .count: every matching command until cleared */

struct nvp_sim_match {
	unsigned filter;	/* NVP_SIM_MATCH_*; 0 matches every command */
	uint8_t opcode;
	uint16_t qid;
	uint32_t nsid;
	uint64_t slba;
	uint64_t nlb;
	unsigned nth;		/* hit the nth matching command from now (0 and 1: the next) */
	unsigned count;		/* hit this many (0: one; NVP_SIM_ALWAYS) */
};

struct nvp_sim_fault {
	enum nvp_sim_fault_type type;
	struct nvp_sim_match match; /* DROP, DELAY, STATUS, BAD_PHASE, BAD_CID, FATAL, SHORT_XFER, CORRUPT */
	uint16_t status;	/* STATUS: NVME_STATUS_CODE(sct, sc) [| NVME_STATUS_DNR] */
	unsigned delay_ms;	/* DELAY */
	uint8_t aer_type;	/* AER: enum nvme_aer_type */
	uint8_t aer_info;
	uint8_t aer_lid;	/* log page to read to clear the event */
	uint32_t xfer_bytes;	/* SHORT_XFER: data bytes that reach the host */
};

/*
 * Arm @fault. Returns 0, -EINVAL for a bad fault (nvp_errmsg() says which
 * field), -ENOSPC when 16 faults are armed already, or -ENODEV after REMOVE.
 */
int nvp_sim_inject(struct nvp_sim *sim, const struct nvp_sim_fault *fault);
/* Disarm every armed fault and NEVER_READY. Events raised and REMOVE stay. */
void nvp_sim_clear(struct nvp_sim *sim);

/*
 * Counters since open. The model only sees a doorbell's value when it
 * polls, so two writes between its looks count once: the doorbell counters
 * are changes seen, a lower bound of writes.
 */
struct nvp_sim_stats {
	uint64_t admin_cmds[256];	/* commands fetched, by opcode */
	uint64_t io_cmds[256];
	uint64_t dma_faults;		/* host addresses not in any dma_map() */
	uint64_t sq_doorbells;		/* SQ tail doorbell changes seen */
	uint64_t cq_doorbells;		/* CQ head doorbell changes seen */
	uint64_t errors;		/* completions with a non-zero status */
	uint64_t faults_hit;		/* injected faults applied */
	uint64_t resets;		/* CC.EN 1 -> 0 */
	/*
	 * With Doorbell Buffer Config: new values the model took from a shadow
	 * doorbell that no register change announced, i.e. register writes the
	 * host skipped. The doorbell counters above count register changes only.
	 */
	uint64_t sq_shadow_reads;	/* SQ tails */
	uint64_t cq_shadow_reads;	/* CQ heads */
};
void nvp_sim_stats(struct nvp_sim *sim, struct nvp_sim_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* NVPOLL_SIM_H */
