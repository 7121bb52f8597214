/* SPDX-License-Identifier: MIT */
/*
 * nvpoll-perf, the fio-like benchmark, in four parts:
 *
 *   main.c       a run in order: options, open, check, set up, run, report
 *   options.c    the command line, and the checks against the opened device
 *   workload.c   the threads and their I/O loop, --verify, the clock, signals
 *   report.c     the progress line and the summary (text or JSON)
 *
 * plus hist.c/hist.h, the latency histogram. This header is what they share:
 * the configuration, a worker's state and the run's.
 */
#ifndef NVP_BENCH_PERF_H
#define NVP_BENCH_PERF_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <nvpoll.h>

#include "dist.h"
#include "hist.h"

#define PERF_STR2(x) #x
#define PERF_STR(x) PERF_STR2(x)
/* libnvpoll is linked in statically: its header's version is the one that runs. */
#define PERF_VERSION PERF_STR(NVP_VERSION_MAJOR) "." PERF_STR(NVP_VERSION_MINOR)

#define PERF_EXIT_FAIL 1
#define PERF_EXIT_USAGE 2
#define PERF_EXIT_SIGNAL 128	/* + the signal's number: 130 SIGINT, 143 SIGTERM, as a shell reports it */
#define PERF_MAX_THREADS 256
#define PERF_MAX_TARGETS 64	/* DEVICE arguments (and -r) times --nsid entries */
#define PERF_DRAIN_S 5		/* after a stop, wait this long for commands in flight */
#define PERF_WATCHDOG_S 30	/* past the planned end, stop a run that does not end */
#define PERF_VERIFY_MAGIC 0x315246505056504eull /* "NVPVPFR1" */
#define PERF_VERIFY_MAX_BLOCKS (1ull << 28)	/* per thread: 1.25 GiB of state */

enum perf_mode { MODE_READ, MODE_WRITE, MODE_RANDREAD, MODE_RANDWRITE, MODE_RW, MODE_RANDRW, MODE_ZWRITE, MODE_ZAPPEND };
#define PERF_ZONED(mode) ((mode) == MODE_ZWRITE || (mode) == MODE_ZAPPEND)
extern const char *const perf_mode_names[];

struct perf_cfg {
	const char *uris[PERF_MAX_TARGETS];	/* DEVICE arguments and -r, in order */
	unsigned nr_uris;
	const char *be, *mem;
	unsigned depth;
	uint64_t io_size;
	enum perf_mode mode;
	unsigned read_pct;
	int have_mix;
	double time_s, warmup_s;
	double status_s;	/* --status-interval; 0: not given */
	uint64_t count;		/* 0: timed */
	unsigned threads;
	int have_threads;
	int cpus[PERF_MAX_THREADS];
	unsigned nr_cpus;
	uint32_t nsids[PERF_MAX_TARGETS];	/* --nsid LIST; none: each URI's own (/ns=N), else 1 */
	unsigned nr_nsids;
	int range_kind;		/* 0 none, 1 LBAs [range_a, range_b), 2 bytes range_a from LBA 0 */
	uint64_t range_a, range_b;
	int verify, json, hist, yield, use_tsc, shadow_doorbells, iopoll;
	uint64_t seed;
	uint64_t rate;		/* --rate: IOPS per thread; 0: as fast as it goes */
	double zipf_theta;	/* --random-dist zipf:THETA; 0: uniform */
	unsigned open_zones;	/* zwrite: -q; zappend: --open-zones (default 1): zones written at a time per thread */
};

/* ---------------------------------------------------------------- clock */

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ticks_now(int use_tsc)
{
#if defined(__x86_64__)
	if (use_tsc)
		return __rdtsc();
#endif
	(void)use_tsc;
	return mono_ns();
}

struct perf_clock {
	int use_tsc;
	uint64_t mono0, tick0;
	double ns_per_tick;
};

struct worker;

/* One command slot: its buffer and what is in flight from it. */
struct perf_io {
	struct worker *w;
	uint8_t *buf;
	uint64_t start;		/* ticks at submission */
	uint64_t block;		/* index in the thread's slice */
	uint32_t seq;		/* --verify: the sequence number this write carries */
	uint8_t write;
	uint8_t readback;	/* --verify, write-only workloads: the read after a write */
	uint32_t zone;		/* zoned workloads: index in the thread's zones */
};

/* Zoned workloads: one of a thread's zones, as the thread sees it. */
enum { ZONE_EMPTY, ZONE_OPEN, ZONE_READBACK, ZONE_FULL, ZONE_NEED_RESET, ZONE_RESETTING };

struct perf_zone {
	uint64_t zslba, zcap;
	uint64_t sub, done;	/* LBAs written (appended): submitted, completed, since the reset */
	uint64_t rb, rbdone;	/* --verify: LBAs read back: submitted, completed */
	unsigned inflight;
	uint32_t pos;		/* the write position holding it; PERF_ZONE_NOPOS: none */
	uint8_t state;		/* ZONE_* */
};
#define PERF_ZONE_NOPOS UINT32_MAX

/* Measured since the warmup ended (I/Os done, reads and writes: the histograms' counts). */
struct perf_counts {
	uint64_t verified, unwritten;	/* --verify: LBAs checked; LBAs read that no --verify run wrote */
	uint64_t late;			/* --rate: commands that left over one interval after they were due */
	uint64_t zfull, zreset;		/* zoned: zones written to their capacity; zones reset for reuse */
};

enum { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };
enum { RAND_SEQ, RAND_UNIFORM, RAND_ZIPF };

struct worker {
	/* Hot: every completion and submission reads these. */
	struct nvp_qpair *qp;
	const struct nvp_ns *ns;
	struct perf_hist *hist[2];	/* indexed by perf_io.write: reads, writes */
	uint64_t base_lba;	/* first LBA of this thread's slice */
	uint64_t nblocks;	/* I/O-size blocks in the slice */
	uint32_t io_lbas;
	uint32_t read_thresh;	/* read when the next 32 random bits * 100 >> 32 is below this */
	int rand, verify, use_tsc, phase;
	int zoned;		/* zwrite, zappend: zone_submit() and zone_done() take over */
	int chain;		/* a completion submits the next command from its slot: not stopped, no --rate */
	unsigned inflight;
	uint64_t rng;
	uint64_t next_block;	/* sequential workloads */
	uint64_t left;		/* submissions still allowed (-n), else UINT64_MAX */
	uint64_t event;		/* ticks of the next phase change */
	struct perf_counts c;
	uint64_t pub_ios, pub_lat; /* since start, for the main thread's progress line (relaxed atomics) */
	uint64_t base_ios, base_lat; /* I/Os and latency sum before the last histogram reset */

	/* Warm: --verify state, phase changes, --rate, --random-dist zipf. */
	double rate_ticks, rate_offset;	/* --rate: ticks between commands; this thread's share of one */
	struct perf_io **idle;		/* --rate: slots with nothing in flight */
	unsigned nidle;
	struct perf_zipf zipf;
	uint32_t *vseq;		/* per block: seq of its last completed write, 0: none this run */
	uint8_t *vbusy;		/* per block: a command is in flight on it */
	uint32_t seq;
	uint32_t lba_size;
	uint64_t measure_start, last_cpl;
	uint64_t warm_ticks, run_ticks, count;
	int failed;
	int measured;		/* left the warmup: the counts are a measurement */
	double cpu0_user, cpu0_sys;	/* the thread's CPU seconds when the measurement started ... */
	double cpu_user, cpu_sys;	/* ... and spent in it (getrusage RUSAGE_THREAD) */
	struct nvp_qpair_stats qstats;

	/* Zoned workloads (zwrite, zappend). */
	int zappend;
	struct perf_zone *zones;
	uint32_t nzones;	/* the thread's zones, from base_lba on */
	uint32_t *zpos;		/* per open position: the zone it writes */
	unsigned npos, zrr;	/* open positions; the next one a free slot tries */
	uint32_t znext;		/* the next zone a position moves on to */
	uint64_t zone_lbas;	/* zone size in LBAs */
	uint64_t zprep;		/* zones reset before the run (found not Empty) */

	/* Cold. */
	const struct perf_cfg *cfg;
	const struct perf_target *target;
	unsigned id, tid;	/* thread number, and index among its target's threads */
	int cpu;
	struct perf_io *ios;
	void *bufs;
	size_t buf_stride;
	pthread_t thread;
	int started, finished;
};

/* One controller, opened once however many namespaces of it are targets. */
struct perf_ctrl {
	char key[128];		/* the URI without /ns=N: two URIs with one key are one controller */
	struct nvp_dev *dev;
	unsigned nr_threads;	/* qpairs it needs */
};

/* One namespace of one controller; threads are dealt to the targets in turn (thread i: target i % n). */
struct perf_target {
	const char *uri;	/* as given */
	struct perf_ctrl *ctrl;
	uint32_t nsid;
	const struct nvp_ns *ns;
	const struct nvp_ns_info *info;
	uint64_t win_start, win_lbas;	/* the LBA window */
	uint64_t slice_blocks;		/* I/O-size blocks per thread */
	unsigned nr_threads;
	uint64_t zones_per_thread;	/* zoned workloads: whole zones of the window per thread */
};

struct perf_run {
	struct perf_cfg cfg;
	struct perf_clock clk;
	struct perf_ctrl ctrls[PERF_MAX_TARGETS];
	unsigned nr_ctrls;
	struct perf_target t[PERF_MAX_TARGETS];
	unsigned nr_targets;
	struct worker *w;
	unsigned nr_workers;		/* set up so far */
	int signal;			/* the signal that stopped the run; 0: none */
};

/* ---------------------------------------------------------------- options.c */

/* The command line into @cfg; 0, or the exit status (usage text and errors printed). */
int perf_parse_args(int argc, char **argv, struct perf_cfg *cfg);
/* "10", "2.5s", "500ms", "2m", "1h" into seconds; 0 or -1. */
int perf_parse_duration(const char *s, double *out);
/* The targets from the URIs and --nsid, each controller once (not opened yet); exit status or 0. */
int perf_plan_targets(struct perf_run *r);
/* What the devices must allow, checked once they are open; exit status or 0. */
int perf_check_device(struct perf_run *r);

/* ---------------------------------------------------------------- workload.c */

extern int perf_stop; /* atomic: a stop signal, or a thread failed */
extern volatile sig_atomic_t perf_signal; /* the first SIGINT or SIGTERM; 0: none */

void perf_clock_start(struct perf_clock *c, int use_tsc);
/* Rate from start to now; waits until at least @min_ms have passed, for precision. */
void perf_clock_calibrate(struct perf_clock *c, unsigned min_ms);
/* SIGINT and SIGTERM stop the run (and set perf_signal) instead of the process. */
void perf_catch_stop_signals(void);
/* 0, -1 (said why), or PERF_EXIT_USAGE for what the options ask of the device and it cannot do. */
int perf_setup_worker(struct perf_run *r, struct worker *w, unsigned id);
/* Starts the threads, shows progress, stops a run that overstays; returns when all have ended. */
void perf_run_threads(struct perf_run *r);
void perf_teardown(struct perf_run *r);
/* Every controller opened so far, shut down (CC.SHN) and closed. */
void perf_close_devices(struct perf_run *r);

/* ---------------------------------------------------------------- report.c */

void perf_print_header(const struct perf_run *r);
/* Where the progress lines left off: the published counters and the time of the last line. */
struct perf_progress_state {
	uint64_t t0, last_t, last_ios, last_lat;
};
/* A progress line (text, or one JSON object with --json) from the workers' published counters. */
void perf_progress(const struct perf_run *r, struct perf_progress_state *p, uint64_t now);
void perf_report(const struct perf_run *r, int failed);

#endif /* NVP_BENCH_PERF_H */
