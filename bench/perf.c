/* SPDX-License-Identifier: MIT */
/*
 * nvpoll-perf: the fio-like benchmark. Each thread owns one qpair and keeps
 * -q commands in flight on it: submit a batch, then poll; every completion
 * callback records the latency and posts the next command from the same
 * slot, and the next poll rings the doorbell once for all of them. Nothing
 * is allocated and no lock is taken after the threads start.
 *
 * Timing: one time stamp per I/O (the completion's, which is also the next
 * command's submission time), from rdtsc on x86-64 (calibrated against
 * CLOCK_MONOTONIC over the whole run) or from CLOCK_MONOTONIC itself.
 *
 * The LBA window (--range, default the namespace) is cut into one slice per
 * thread and each slice into I/O-size blocks; every I/O is one whole block.
 * With --verify no two commands in flight ever share a block, so each read
 * can be checked against the last write of its block.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <nvpoll.h>
#include "../tools/json.h"

#include "hist.h"
/*
 * The Makefile links build/nvpoll-perf from perf.o alone, so the histogram's
 * slow path comes in here; test/unit/test_perf_hist.c includes it the same way.
 */
#include "hist.c"

#define PERF_EXIT_FAIL 1
#define PERF_EXIT_USAGE 2
#define PERF_EXIT_SIGNAL 128	/* + the signal's number: 130 SIGINT, 143 SIGTERM, as a shell reports it */
#define PERF_MAX_THREADS 256
#define PERF_DRAIN_S 5		/* after a stop, wait this long for commands in flight */
#define PERF_WATCHDOG_S 30	/* past the planned end, stop a run that does not end */
#define PERF_VERIFY_MAGIC 0x315246505056504eull /* "NVPVPFR1" */
#define PERF_VERIFY_MAX_BLOCKS (1ull << 28)	/* per thread: 1.25 GiB of state */

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static const char usage_text[] =
	"usage: nvpoll-perf DEVICE [options]\n"
	"\n"
	"DEVICE is a PCI address (0000:00:05.0, optionally /ns=N) bound to vfio-pci, or sim[:options].\n"
	"\n"
	"workload:\n"
	"  -q, --depth N        commands in flight per thread (default 32)\n"
	"  -o, --size BYTES     I/O size, a multiple of the LBA size; K/M suffixes (default 4096)\n"
	"  -w, --workload W     read, write, randread, randwrite, rw, randrw (default randread)\n"
	"  -M, --mix PCT        reads in percent for rw and randrw (default 50)\n"
	"  -t, --time SECONDS   measure for this long (default 10)\n"
	"  -n, --count N        or: measure exactly N I/Os (split over the threads)\n"
	"      --warmup SECONDS run this long before measuring (default 0)\n"
	"  -T, --threads N      threads, each with its own qpair (default 1, or one per --cpus entry)\n"
	"      --cpus LIST      pin thread i to the i-th CPU of LIST, e.g. 1,3-5 (default: not pinned)\n"
	"      --nsid N         namespace (default 1, or the DEVICE's /ns=N)\n"
	"      --range A:B      LBAs A .. B-1; or a size from LBA 0, e.g. 64M (default: whole namespace)\n"
	"      --verify         writes carry LBA + sequence headers, reads check them; write-only\n"
	"                       workloads read each block back after writing it\n"
	"      --seed N         random seed (default: from the clock)\n"
	"\n"
	"device:\n"
	"      --be NAME        backend config: vfio-pci, uio-generic, sim (default: by device)\n"
	"      --mem KIND       DMA memory: hugepages or libc (default: the config's)\n"
	"      --shadow-doorbells  use shadow doorbells (Doorbell Buffer Config) if the controller offers them\n"
	"      --iopoll            io_uring, io_uring_cmd: polled completions (the nvme driver needs poll queues)\n"
	"\n"
	"output:\n"
	"      --json           one JSON document on stdout instead of the text report\n"
	"      --hist           also print the latency histogram's buckets\n"
	"      --clock KIND     tsc or monotonic (default: tsc on x86-64)\n"
	"      --yield          sched_yield() after a poll that found nothing (oversubscribed CPUs)\n"
	"  -h, --help           this text\n"
	"\n"
	"A progress line is printed every second when stdout is a terminal. Exit status: 0 done,\n"
	"1 device, I/O or verify failure, 2 bad options, 130 stopped by SIGINT, 143 by SIGTERM (the\n"
	"summary is still printed; further signals do not cut it short).\n";

enum perf_mode { MODE_READ, MODE_WRITE, MODE_RANDREAD, MODE_RANDWRITE, MODE_RW, MODE_RANDRW };
static const char *const mode_names[] = { "read", "write", "randread", "randwrite", "rw", "randrw" };

struct perf_cfg {
	const char *uri, *be, *mem;
	unsigned depth;
	uint64_t io_size;
	enum perf_mode mode;
	unsigned read_pct;
	int have_mix;
	double time_s, warmup_s;
	uint64_t count;		/* 0: timed */
	unsigned threads;
	int have_threads;
	int cpus[PERF_MAX_THREADS];
	unsigned nr_cpus;
	uint32_t nsid;		/* 0: from the URI, else 1 */
	int range_kind;		/* 0 none, 1 LBAs [range_a, range_b), 2 bytes range_a from LBA 0 */
	uint64_t range_a, range_b;
	int verify, json, hist, yield, use_tsc, shadow_doorbells, iopoll;
	uint64_t seed;
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

static void clock_start(struct perf_clock *c, int use_tsc)
{
	c->use_tsc = use_tsc;
	c->mono0 = mono_ns();
	c->tick0 = ticks_now(use_tsc);
	c->ns_per_tick = 1.0;
}

/* Rate from start to now; waits until at least @min_ms have passed, for precision. */
static void clock_calibrate(struct perf_clock *c, unsigned min_ms)
{
	uint64_t mono, tick;

	if (!c->use_tsc)
		return;
	while (mono_ns() - c->mono0 < (uint64_t)min_ms * 1000000)
		usleep(1000);
	mono = mono_ns();
	tick = ticks_now(1);
	if (tick > c->tick0)
		c->ns_per_tick = (double)(mono - c->mono0) / (double)(tick - c->tick0);
}

/* ---------------------------------------------------------------- workers */

/* A header at the start of every logical block a --verify write carries. */
struct verify_hdr {
	uint64_t magic;
	uint64_t lba;
	uint32_t seq;
	uint32_t thread;
	uint64_t check;		/* magic ^ lba ^ seq ^ thread: a torn header fails */
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
};

/* Measured since the warmup ended (I/Os done: the histogram's count; reads: the rest). */
struct perf_counts {
	uint64_t writes;
	uint64_t verified, unwritten;	/* --verify: LBAs checked; LBAs read that no --verify run wrote */
};

enum { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };

struct worker {
	/* Hot: every completion and submission reads these. */
	struct nvp_qpair *qp;
	const struct nvp_ns *ns;
	struct perf_hist *hist;
	uint64_t base_lba;	/* first LBA of this thread's slice */
	uint64_t nblocks;	/* I/O-size blocks in the slice */
	uint32_t io_lbas;
	uint32_t read_thresh;	/* read when the next 32 random bits * 100 >> 32 is below this */
	int rand, verify, use_tsc, phase;
	unsigned inflight;
	uint64_t rng;
	uint64_t next_block;	/* sequential workloads */
	uint64_t left;		/* submissions still allowed (-n), else UINT64_MAX */
	uint64_t event;		/* ticks of the next phase change */
	struct perf_counts c;
	uint64_t pub_ios, pub_lat; /* since start, for the main thread's progress line (relaxed atomics) */
	uint64_t base_ios, base_lat; /* I/Os and latency sum before the last histogram reset */

	/* Warm: --verify state, phase changes. */
	uint32_t *vseq;		/* per block: seq of its last completed write, 0: none this run */
	uint8_t *vbusy;		/* per block: a command is in flight on it */
	uint32_t seq;
	uint32_t lba_size;
	uint64_t measure_start, last_cpl;
	uint64_t warm_ticks, run_ticks, count;
	int failed;
	int measured;		/* left the warmup: the counts are a measurement */
	struct nvp_qpair_stats qstats;

	/* Cold. */
	const struct perf_cfg *cfg;
	unsigned id;
	int cpu;
	struct perf_io *ios;
	void *bufs;
	size_t buf_stride;
	pthread_t thread;
	int started, finished;
};

static int g_stop; /* atomic: a stop signal, or a thread failed */
static volatile sig_atomic_t g_signal; /* the first SIGINT or SIGTERM; 0: none */

/*
 * Stays installed for the whole run: timeout(1) and a terminal signal the
 * whole process group, so a second signal can land right behind the first,
 * and it must not kill the process before the summary. The stop is bounded
 * anyway (PERF_DRAIN_S, then the controller's own timeouts).
 */
static void on_stop_signal(int sig)
{
	if (!g_signal)
		g_signal = sig;
	nvp_store_relaxed(&g_stop, 1); /* a flag alone: workers read nothing behind it */
}

static inline uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: a few cycles, plenty for picking blocks */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* This thread submits nothing more, and every other thread stops too. */
/* Said once per run, by whichever thread sees it first: the reason every later error has. */
static void say_if_removed(struct worker *w, int err)
{
	static int said;

	if (err == -ENODEV && !nvp_xchg_acq_rel(&said, 1))
		fprintf(stderr, "nvpoll-perf: %s was removed (hot-unplug, unbind or surprise removal): stopping\n",
			w->cfg->uri);
}

static void fail(struct worker *w)
{
	w->failed = 1;
	w->phase = PHASE_STOP;
	w->left = 0;
	w->event = UINT64_MAX;
	nvp_store_relaxed(&g_stop, 1); /* a flag alone: workers read nothing behind it */
}

static void on_done(void *arg, int err, const struct nvme_cqe *cqe);

static __attribute__((noinline, cold)) void verify_fill(struct worker *w, struct perf_io *io, uint64_t lba)
{
	for (uint32_t i = 0; i < w->io_lbas; i++) {
		uint8_t *p = io->buf + (size_t)i * w->lba_size;
		struct verify_hdr h = {
			.magic = PERF_VERIFY_MAGIC, .lba = lba + i, .seq = io->seq, .thread = w->id,
		};

		h.check = h.magic ^ h.lba ^ h.seq ^ h.thread;
		memcpy(p, &h, sizeof(h));
		/* The block's last bytes too: a transfer cut short shows. */
		memcpy(p + w->lba_size - 8, &h.check, 8);
	}
}

/* Before a read: wipe the headers, so a read that moved no data cannot pass. */
static __attribute__((noinline, cold)) void verify_wipe(struct worker *w, struct perf_io *io)
{
	for (uint32_t i = 0; i < w->io_lbas; i++) {
		uint8_t *p = io->buf + (size_t)i * w->lba_size;

		memset(p, 0, sizeof(struct verify_hdr));
		memset(p + w->lba_size - 8, 0, 8);
	}
}

/* Pick a block no command in flight touches (there are more blocks than slots). */
static uint64_t verify_pick(struct worker *w, uint64_t b)
{
	while (w->vbusy[b])
		b = b + 1 == w->nblocks ? 0 : b + 1;
	w->vbusy[b] = 1;
	return b;
}

static inline int submit(struct worker *w, struct perf_io *io, uint64_t now)
{
	uint64_t b, lba;
	int rc;

	if (likely(!io->readback)) {
		uint64_t r;

		if (unlikely(w->left == 0))
			return 0;
		w->left--;
		r = rng_next(&w->rng);

		if (w->rand) {
			/* Lemire's multiply-shift: uniform enough, and no division. */
			b = (uint64_t)(((unsigned __int128)r * w->nblocks) >> 64);
		} else {
			b = w->next_block;
			if (++w->next_block == w->nblocks)
				w->next_block = 0;
		}
		io->write = (uint32_t)((((r & 0xffffffffu) * 100) >> 32)) >= w->read_thresh;
		if (unlikely(w->verify)) {
			b = verify_pick(w, b);
			if (io->write) {
				if (++w->seq == 0)
					w->seq = 1;
				io->seq = w->seq;
			}
		}
		io->block = b;
	}
	lba = w->base_lba + io->block * w->io_lbas;
	if (unlikely(w->verify)) {
		if (io->write)
			verify_fill(w, io, lba);
		else
			verify_wipe(w, io);
	}
	io->start = now;
	if (io->write)
		rc = nvp_write(w->qp, w->ns, lba, w->io_lbas, io->buf, on_done, io);
	else
		rc = nvp_read(w->qp, w->ns, lba, w->io_lbas, io->buf, on_done, io);
	if (unlikely(rc)) {
		say_if_removed(w, rc);
		fprintf(stderr, "nvpoll-perf: thread %u: %s of LBA %" PRIu64 " not submitted: %s\n", w->id,
			io->write ? "write" : "read", lba, nvp_errmsg());
		fail(w);
		return rc;
	}
	w->inflight++;
	return 0;
}

static __attribute__((noinline, cold)) void io_failed(struct worker *w, struct perf_io *io, int err,
						      const struct nvme_cqe *cqe)
{
	char status[96];

	say_if_removed(w, err);
	if (!w->failed)
		fprintf(stderr, "nvpoll-perf: thread %u: %s of LBA %" PRIu64 "+%u failed: %s\n", w->id,
			io->write ? "write" : "read", w->base_lba + io->block * w->io_lbas, w->io_lbas,
			err == -EIO ? nvp_status_format(nvp_cqe_status(cqe), status, sizeof(status))
				    : strerror(-err));
	fail(w);
}

/* Check a completed read against what this run last wrote there; 0 or -1. */
static __attribute__((noinline)) int verify_check(struct worker *w, struct perf_io *io)
{
	uint64_t lba0 = w->base_lba + io->block * w->io_lbas;
	uint32_t want = io->readback ? io->seq : w->vseq[io->block];
	uint32_t checked = 0;

	for (uint32_t i = 0; i < w->io_lbas; i++) {
		const uint8_t *p = io->buf + (size_t)i * w->lba_size;
		struct verify_hdr h;
		uint64_t tail;
		const char *why = NULL;

		memcpy(&h, p, sizeof(h));
		memcpy(&tail, p + w->lba_size - 8, 8);
		if (h.magic != PERF_VERIFY_MAGIC) {
			if (want == 0) {
				/* Never written by a --verify run: nothing to check. */
				w->c.unwritten++;
				continue;
			}
			why = "no header";
		} else if (h.check != (h.magic ^ h.lba ^ h.seq ^ h.thread) || tail != h.check) {
			why = "corrupt header or tail";
		} else if (h.lba != lba0 + i) {
			why = "header of another LBA";
		} else if (want && (h.seq != want || h.thread != w->id)) {
			why = "stale or foreign data";
		}
		if (why) {
			char expect[64];

			if (want)
				snprintf(expect, sizeof(expect), "seq %u of thread %u", want, w->id);
			else
				snprintf(expect, sizeof(expect), "any seq (not written by this run)");
			fprintf(stderr,
				"nvpoll-perf: verify failed: thread %u, LBA %" PRIu64 ": %s: expected lba %" PRIu64
				", %s; found magic %#" PRIx64 ", lba %" PRIu64 ", seq %u of thread %u\n",
				w->id, lba0 + i, why, lba0 + i, expect, h.magic, h.lba, h.seq, h.thread);
			return -1;
		}
		checked++;
	}
	w->c.verified += checked;
	return 0;
}

/* --verify bookkeeping of a completed command; returns 1 if @io goes on with a read-back. */
static __attribute__((noinline)) int verify_done(struct worker *w, struct perf_io *io)
{
	if (io->write) {
		w->vseq[io->block] = io->seq;
		if (w->read_thresh == 0 && w->phase != PHASE_STOP) {
			io->readback = 1;
			io->write = 0;
			return 1;
		}
	} else if (verify_check(w, io)) {
		fail(w);
		return 0;
	}
	io->readback = 0;
	w->vbusy[io->block] = 0;
	return 0;
}

static void counts_reset(struct worker *w, uint64_t now)
{
	w->base_ios += w->hist->count;
	w->base_lat += w->hist->sum;
	perf_hist_reset(w->hist);
	memset(&w->c, 0, sizeof(w->c));
	nvp_qpair_stats_reset(w->qp);
	w->measure_start = now;
	w->last_cpl = now;
}

static __attribute__((noinline, cold)) void phase_advance(struct worker *w, uint64_t now)
{
	if (w->phase == PHASE_WARMUP) {
		counts_reset(w, now);
		w->phase = PHASE_MEASURE;
		w->measured = 1;
		if (w->count) {
			/* Those in flight (and this one) complete inside the measurement. */
			w->left = w->count > w->inflight + 1 ? w->count - w->inflight - 1 : 0;
			w->event = UINT64_MAX;
		} else {
			w->event = now + w->run_ticks;
		}
		return;
	}
	w->phase = PHASE_STOP;
	w->left = 0;
	w->event = UINT64_MAX;
}

static void on_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct perf_io *io = arg;
	struct worker *w = io->w;
	uint64_t now = ticks_now(w->use_tsc);
	uint64_t lat = now - io->start;

	w->inflight--;
	if (unlikely(now >= w->event))
		phase_advance(w, now);
	if (unlikely((int64_t)lat < 0))
		lat = 0; /* an unpinned thread moved between CPUs whose TSCs differ */
	perf_hist_add(w->hist, lat);
	w->last_cpl = now;
	w->c.writes += io->write;
	if (unlikely(err)) {
		io_failed(w, io, err, cqe);
		return;
	}
	if (unlikely(w->verify) && verify_done(w, io)) {
		submit(w, io, now); /* the read-back: not counted against -n */
		return;
	}
	/* Failures and stops set PHASE_STOP: one test covers them all. */
	if (likely(w->phase != PHASE_STOP))
		submit(w, io, now);
}

static void worker_loop(struct worker *w)
{
	uint64_t now = ticks_now(w->use_tsc), stop_at = 0;
	struct nvp_qpair *qp = w->qp;

	w->measure_start = now;
	w->last_cpl = now;
	if (w->warm_ticks) {
		w->phase = PHASE_WARMUP;
		w->event = now + w->warm_ticks;
	} else {
		w->phase = PHASE_MEASURE;
		w->event = w->count ? UINT64_MAX : now + w->run_ticks;
	}
	for (unsigned i = 0; i < w->cfg->depth && !w->failed; i++)
		submit(w, &w->ios[i], now);

	while (w->inflight) {
		if (nvp_qpair_poll(qp, 0)) {
			/* Relaxed: the progress line needs each counter untorn, not the two in step. */
			nvp_store_relaxed(&w->pub_ios, w->base_ios + w->hist->count);
			nvp_store_relaxed(&w->pub_lat, w->base_lat + w->hist->sum);
		} else if (w->cfg->yield) {
			sched_yield();
		}
		if (unlikely(nvp_load_relaxed(&g_stop))) { /* a flag alone */
			uint64_t t = mono_ns();

			if (w->phase != PHASE_STOP) {
				w->phase = PHASE_STOP;
				w->left = 0;
				w->event = UINT64_MAX;
				stop_at = t;
			} else if (stop_at && t - stop_at > (uint64_t)PERF_DRAIN_S * 1000000000u) {
				fprintf(stderr, "nvpoll-perf: thread %u: %u commands still in flight %d s after the stop, "
					"abandoned\n", w->id, w->inflight, PERF_DRAIN_S);
				break;
			}
		}
	}
	nvp_qpair_ring(qp); /* nothing should be pending; harmless if so */
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->cpu >= 0) {
		cpu_set_t set;
		int rc;

		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (rc)
			fprintf(stderr, "nvpoll-perf: thread %u: cannot pin to CPU %d: %s (running unpinned)\n",
				w->id, w->cpu, strerror(rc));
	}
	worker_loop(w);
	nvp_qpair_stats(w->qp, &w->qstats);
	nvp_store_release(&w->finished, 1); /* the main thread reads qstats and the histogram after it */
	return NULL;
}

/* ---------------------------------------------------------------- options */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nvpoll-perf: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(nvpoll-perf --help lists the options)\n");
	return PERF_EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* A byte count with an optional binary suffix: 4096, 4k, 64M, 1G. */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	default: return -1;
	}
	if (*end && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
		return -1;
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0) || v > 1e7)
		return -1;
	*out = v;
	return 0;
}

/* "0,2-3": CPUs the process may run on, in order. */
static int parse_cpus(const char *s, struct perf_cfg *cfg)
{
	cpu_set_t allowed;
	const char *p = s;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		CPU_ZERO(&allowed);
	cfg->nr_cpus = 0;
	while (*p) {
		unsigned long a, b;
		char *end;

		if (*p < '0' || *p > '9')
			return usage_error("--cpus '%s': expected a list like 0,2-3", s);
		a = b = strtoul(p, &end, 10);
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				return usage_error("--cpus '%s': expected a list like 0,2-3", s);
			b = strtoul(p, &end, 10);
		}
		if (b < a || b >= CPU_SETSIZE)
			return usage_error("--cpus '%s': bad range %lu-%lu", s, a, b);
		for (unsigned long c = a; c <= b; c++) {
			if (!CPU_ISSET(c, &allowed))
				return usage_error("--cpus: CPU %lu does not exist or is not allowed for this process", c);
			if (cfg->nr_cpus == PERF_MAX_THREADS)
				return usage_error("--cpus: at most %d entries", PERF_MAX_THREADS);
			cfg->cpus[cfg->nr_cpus++] = (int)c;
		}
		if (*end == ',' && end[1])
			end++;
		else if (*end)
			return usage_error("--cpus '%s': expected a list like 0,2-3", s);
		p = end;
	}
	if (cfg->nr_cpus == 0)
		return usage_error("--cpus: empty list");
	return 0;
}

static int parse_range(const char *s, struct perf_cfg *cfg)
{
	const char *colon = strchr(s, ':');

	if (!colon) {
		if (parse_size(s, &cfg->range_a) || cfg->range_a == 0)
			return usage_error("--range '%s': expected LBAs START:END or a size such as 64M", s);
		cfg->range_kind = 2;
		return 0;
	}
	{
		char a[32];
		size_t n = (size_t)(colon - s);

		if (n == 0 || n >= sizeof(a))
			return usage_error("--range '%s': expected LBAs START:END (END exclusive)", s);
		memcpy(a, s, n);
		a[n] = '\0';
		if (parse_u64(a, &cfg->range_a) || parse_u64(colon + 1, &cfg->range_b))
			return usage_error("--range '%s': expected LBAs START:END (END exclusive)", s);
		if (cfg->range_b <= cfg->range_a)
			return usage_error("--range '%s': END must be above START", s);
	}
	cfg->range_kind = 1;
	return 0;
}

/* The shape of a device URI (the library checks it again); the device is not touched. */
static int uri_ok(const char *uri)
{
	unsigned a, b, c, d;
	int n = 0;

	if ((strncmp(uri, "sim", 3) == 0 || strncmp(uri, "nil", 3) == 0) && (uri[3] == '\0' || uri[3] == ':'))
		return 1;
	if (strncmp(uri, "/dev/ng", 7) == 0 || strncmp(uri, "/dev/nvme", 9) == 0)
		return 1; /* a kernel namespace node: the library says if it is not one */
	if (sscanf(uri, "%4x:%2x:%2x.%1x%n", &a, &b, &c, &d, &n) != 4 || n == 0) {
		n = 0;
		if (sscanf(uri, "%2x:%2x.%1x%n", &a, &b, &c, &n) != 3 || n == 0)
			return 0;
	}
	return uri[n] == '\0' || (strncmp(uri + n, "/ns=", 4) == 0 && uri[n + 4] >= '1' && uri[n + 4] <= '9');
}

static int parse_args(int argc, char **argv, struct perf_cfg *cfg)
{
	enum { O_WARMUP = 256, O_CPUS, O_NSID, O_RANGE, O_VERIFY, O_SEED, O_BE, O_MEM, O_JSON, O_HIST,
	       O_CLOCK, O_YIELD, O_SHADOW_DB, O_IOPOLL };
	static const struct option opts[] = {
		{ "depth", required_argument, NULL, 'q' },   { "size", required_argument, NULL, 'o' },
		{ "workload", required_argument, NULL, 'w' }, { "mix", required_argument, NULL, 'M' },
		{ "time", required_argument, NULL, 't' },    { "count", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 'T' }, { "warmup", required_argument, NULL, O_WARMUP },
		{ "cpus", required_argument, NULL, O_CPUS }, { "nsid", required_argument, NULL, O_NSID },
		{ "range", required_argument, NULL, O_RANGE }, { "verify", no_argument, NULL, O_VERIFY },
		{ "seed", required_argument, NULL, O_SEED }, { "be", required_argument, NULL, O_BE },
		{ "mem", required_argument, NULL, O_MEM },   { "json", no_argument, NULL, O_JSON },
		{ "hist", no_argument, NULL, O_HIST },	     { "clock", required_argument, NULL, O_CLOCK },
		{ "yield", no_argument, NULL, O_YIELD },     { "help", no_argument, NULL, 'h' },
		{ "shadow-doorbells", no_argument, NULL, O_SHADOW_DB }, { "iopoll", no_argument, NULL, O_IOPOLL },
		{ NULL, 0, NULL, 0 },
	};
	int have_time = 0, have_seed = 0, c, rc;
	uint64_t v;

	memset(cfg, 0, sizeof(*cfg));
	cfg->depth = 32;
	cfg->io_size = 4096;
	cfg->mode = MODE_RANDREAD;
	cfg->read_pct = 50;
	cfg->time_s = 10;
	cfg->threads = 1;
#if defined(__x86_64__)
	cfg->use_tsc = 1;
#endif
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":q:o:w:M:t:n:T:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			if (parse_u64(optarg, &v) || v == 0 || v > 65535)
				return usage_error("-q '%s': expected a queue depth 1..65535", optarg);
			cfg->depth = (unsigned)v;
			break;
		case 'o':
			if (parse_size(optarg, &v) || v == 0 || v % 512 || v > (1u << 30))
				return usage_error("-o '%s': expected an I/O size in bytes, a multiple of 512 (e.g. 4096 or 4k)",
						   optarg);
			cfg->io_size = v;
			break;
		case 'w': {
			unsigned i;

			for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++)
				if (strcmp(optarg, mode_names[i]) == 0)
					break;
			if (i == sizeof(mode_names) / sizeof(mode_names[0]))
				return usage_error("-w '%s': expected read, write, randread, randwrite, rw or randrw", optarg);
			cfg->mode = (enum perf_mode)i;
			break;
		}
		case 'M':
			if (parse_u64(optarg, &v) || v > 100)
				return usage_error("-M '%s': expected a read percentage 0..100", optarg);
			cfg->read_pct = (unsigned)v;
			cfg->have_mix = 1;
			break;
		case 't':
			if (parse_seconds(optarg, &cfg->time_s) || cfg->time_s <= 0)
				return usage_error("-t '%s': expected a number of seconds above 0", optarg);
			have_time = 1;
			break;
		case 'n':
			if (parse_u64(optarg, &cfg->count) || cfg->count == 0)
				return usage_error("-n '%s': expected a count of I/Os, at least 1", optarg);
			break;
		case 'T':
			if (parse_u64(optarg, &v) || v == 0 || v > PERF_MAX_THREADS)
				return usage_error("-T '%s': expected 1..%d threads", optarg, PERF_MAX_THREADS);
			cfg->threads = (unsigned)v;
			cfg->have_threads = 1;
			break;
		case O_WARMUP:
			if (parse_seconds(optarg, &cfg->warmup_s))
				return usage_error("--warmup '%s': expected a number of seconds, 0 or more", optarg);
			break;
		case O_CPUS:
			rc = parse_cpus(optarg, cfg);
			if (rc)
				return rc;
			break;
		case O_NSID:
			if (parse_u64(optarg, &v) || v == 0 || v > 0xfffffffe)
				return usage_error("--nsid '%s': expected a namespace id 1..4294967294", optarg);
			cfg->nsid = (uint32_t)v;
			break;
		case O_RANGE:
			rc = parse_range(optarg, cfg);
			if (rc)
				return rc;
			break;
		case O_VERIFY: cfg->verify = 1; break;
		case O_SEED:
			if (parse_u64(optarg, &cfg->seed))
				return usage_error("--seed '%s': expected a number", optarg);
			have_seed = 1;
			break;
		case O_BE: cfg->be = optarg; break;
		case O_MEM:
			if (strcmp(optarg, "hugepages") && strcmp(optarg, "libc"))
				return usage_error("--mem '%s': expected hugepages or libc", optarg);
			cfg->mem = optarg;
			break;
		case O_JSON: cfg->json = 1; break;
		case O_HIST: cfg->hist = 1; break;
		case O_CLOCK:
			if (strcmp(optarg, "tsc") == 0) {
#if !defined(__x86_64__)
				return usage_error("--clock tsc: only on x86-64; use --clock monotonic");
#endif
				cfg->use_tsc = 1;
			} else if (strcmp(optarg, "monotonic") == 0) {
				cfg->use_tsc = 0;
			} else {
				return usage_error("--clock '%s': expected tsc or monotonic", optarg);
			}
			break;
		case O_YIELD: cfg->yield = 1; break;
		case O_SHADOW_DB: cfg->shadow_doorbells = 1; break;
		case O_IOPOLL: cfg->iopoll = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case ':': return usage_error("option %s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option -%c", optopt);
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no device given: nvpoll-perf DEVICE [options], DEVICE a PCI address or sim");
	if (optind + 1 < argc)
		return usage_error("one device only, and '%s' is not an option", argv[optind + 1]);
	cfg->uri = argv[optind];
	if (!uri_ok(cfg->uri))
		return usage_error("'%s' is not a device: use a PCI address such as 0000:00:05.0 (optionally /ns=N), "
				   "/dev/ngXnY, /dev/nvmeXnY, sim[:options] or nil[:options]", cfg->uri);
	if (have_time && cfg->count)
		return usage_error("-t and -n exclude each other: measure for a time or for a count");
	if (cfg->have_mix && cfg->mode != MODE_RW && cfg->mode != MODE_RANDRW)
		return usage_error("-M applies to -w rw and -w randrw only");
	if (cfg->mode == MODE_READ || cfg->mode == MODE_RANDREAD)
		cfg->read_pct = 100;
	else if (cfg->mode == MODE_WRITE || cfg->mode == MODE_RANDWRITE)
		cfg->read_pct = 0;
	if (cfg->nr_cpus && !cfg->have_threads)
		cfg->threads = cfg->nr_cpus;
	if (cfg->count && cfg->count < cfg->threads)
		return usage_error("-n %" PRIu64 " is fewer I/Os than the %u threads", cfg->count, cfg->threads);
	if (!have_seed)
		cfg->seed = mono_ns() ^ ((uint64_t)getpid() << 32);
	return 0;
}

/* The namespace: --nsid, else the one the URI names (/ns=N, a kernel namespace node), else 1. */
static uint32_t pick_nsid(const struct perf_cfg *cfg, const struct nvp_dev *dev)
{
	if (cfg->nsid)
		return cfg->nsid;
	return nvp_dev_nsid(dev) ? nvp_dev_nsid(dev) : 1;
}

/* ---------------------------------------------------------------- setup */

struct perf_run {
	struct perf_cfg cfg;
	struct perf_clock clk;
	struct nvp_dev *dev;
	const struct nvp_ns *ns;
	const struct nvp_ns_info *info;
	uint32_t nsid;
	uint64_t win_start, win_lbas;	/* the LBA window */
	uint64_t slice_blocks;		/* I/O-size blocks per thread */
	struct worker *w;
	unsigned nr_workers;		/* set up so far */
	int signal;			/* the signal that stopped the run; 0: none */
};

/* What the device must allow, checked once it is open; exit status or 0. */
static int check_device(struct perf_run *r)
{
	const struct perf_cfg *cfg = &r->cfg;
	uint64_t nsze, io_lbas, slice;

	r->nsid = pick_nsid(cfg, r->dev);
	r->ns = nvp_ns_get(r->dev, r->nsid);
	if (!r->ns)
		return usage_error("namespace %u: %s", r->nsid, nvp_errmsg());
	r->info = nvp_ns_info(r->ns);
	nsze = r->info->nsze;
	if (cfg->io_size % r->info->lba_size)
		return usage_error("-o %" PRIu64 ": namespace %u has %u-byte LBAs; use a multiple of that",
				   cfg->io_size, r->nsid, r->info->lba_size);
	if (cfg->io_size > nvp_dev_max_xfer(r->dev))
		return usage_error("-o %" PRIu64 ": the controller moves at most %zu bytes per command (MDTS)",
				   cfg->io_size, nvp_dev_max_xfer(r->dev));
	if (cfg->depth + 1 > nvp_dev_max_queue_depth(r->dev))
		return usage_error("-q %u: the controller's queues hold %u entries, so -q %u at most", cfg->depth,
				   nvp_dev_max_queue_depth(r->dev), nvp_dev_max_queue_depth(r->dev) - 1);
	switch (cfg->range_kind) {
	case 1:
		if (cfg->range_b > nsze)
			return usage_error("--range %" PRIu64 ":%" PRIu64 ": namespace %u has %" PRIu64 " LBAs",
					   cfg->range_a, cfg->range_b, r->nsid, nsze);
		r->win_start = cfg->range_a;
		r->win_lbas = cfg->range_b - cfg->range_a;
		break;
	case 2:
		if (cfg->range_a % r->info->lba_size || cfg->range_a / r->info->lba_size > nsze)
			return usage_error("--range %" PRIu64 " bytes: namespace %u has %" PRIu64 " LBAs of %u bytes "
					   "(%" PRIu64 " bytes); give a multiple of the LBA size up to that",
					   cfg->range_a, r->nsid, nsze, r->info->lba_size, nsze * r->info->lba_size);
		r->win_start = 0;
		r->win_lbas = cfg->range_a / r->info->lba_size;
		break;
	default:
		r->win_start = 0;
		r->win_lbas = nsze;
	}
	io_lbas = cfg->io_size / r->info->lba_size;
	slice = r->win_lbas / cfg->threads;
	r->slice_blocks = slice / io_lbas;
	if (r->slice_blocks == 0)
		return usage_error("the window of %" PRIu64 " LBAs holds no %" PRIu64 "-byte I/O per thread (-T %u)",
				   r->win_lbas, cfg->io_size, cfg->threads);
	if (cfg->verify && r->slice_blocks <= cfg->depth)
		return usage_error("--verify needs more blocks per thread (%" PRIu64 ") than commands in flight (-q %u): "
				   "widen --range or lower -q", r->slice_blocks, cfg->depth);
	if (cfg->verify && r->slice_blocks > PERF_VERIFY_MAX_BLOCKS)
		return usage_error("--verify keeps 5 bytes per block: %" PRIu64 " blocks per thread is too many, "
				   "narrow the window with --range", r->slice_blocks);
	return 0;
}

static int setup_worker(struct perf_run *r, struct worker *w, unsigned id)
{
	const struct perf_cfg *cfg = &r->cfg;
	uint32_t io_lbas = (uint32_t)(cfg->io_size / r->info->lba_size);

	w->cfg = cfg;
	w->id = id;
	w->cpu = cfg->nr_cpus ? cfg->cpus[id % cfg->nr_cpus] : -1;
	w->ns = r->ns;
	w->lba_size = r->info->lba_size;
	w->io_lbas = io_lbas;
	w->nblocks = r->slice_blocks;
	w->base_lba = r->win_start + (uint64_t)id * r->slice_blocks * io_lbas;
	w->rand = cfg->mode == MODE_RANDREAD || cfg->mode == MODE_RANDWRITE || cfg->mode == MODE_RANDRW;
	w->read_thresh = cfg->read_pct;
	w->verify = cfg->verify;
	w->use_tsc = cfg->use_tsc;
	w->rng = cfg->seed * 0x9e3779b97f4a7c15ull + id + 1;
	if (!w->rng)
		w->rng = 1;
	w->left = UINT64_MAX;
	if (cfg->count)
		w->left = w->count = cfg->count / cfg->threads + (id < cfg->count % cfg->threads);
	w->warm_ticks = (uint64_t)(cfg->warmup_s * 1e9 / r->clk.ns_per_tick);
	w->measured = !w->warm_ticks;
	w->run_ticks = (uint64_t)(cfg->time_s * 1e9 / r->clk.ns_per_tick);

	w->qp = nvp_qpair_create(r->dev, &(struct nvp_qpair_opts){ .depth = cfg->depth + 1 });
	if (!w->qp) {
		fprintf(stderr, "nvpoll-perf: thread %u: %s\n", id, nvp_errmsg());
		return -1;
	}
	/* Slots start on 4 KiB boundaries, as an application's buffers would. */
	w->buf_stride = (cfg->io_size + 4095) & ~(size_t)4095;
	w->bufs = nvp_dma_alloc(r->dev, w->buf_stride * cfg->depth);
	if (!w->bufs) {
		fprintf(stderr, "nvpoll-perf: thread %u: %zu bytes of DMA memory: %s\n", id,
			w->buf_stride * cfg->depth, nvp_errmsg());
		return -1;
	}
	w->hist = malloc(sizeof(*w->hist));
	w->ios = calloc(cfg->depth, sizeof(*w->ios));
	if (cfg->verify) {
		w->vseq = calloc(w->nblocks, sizeof(*w->vseq));
		w->vbusy = calloc(w->nblocks, 1);
	}
	if (!w->hist || !w->ios || (cfg->verify && (!w->vseq || !w->vbusy))) {
		fprintf(stderr, "nvpoll-perf: thread %u: out of memory\n", id);
		return -1;
	}
	perf_hist_reset(w->hist);
	/* Data that no device could compress or dedupe away; --verify writes its own. */
	for (size_t i = 0; i < w->buf_stride * cfg->depth / 8; i++)
		((uint64_t *)w->bufs)[i] = rng_next(&w->rng);
	for (unsigned i = 0; i < cfg->depth; i++) {
		w->ios[i].w = w;
		w->ios[i].buf = (uint8_t *)w->bufs + i * w->buf_stride;
	}
	return 0;
}

static void teardown(struct perf_run *r)
{
	for (unsigned i = 0; i < r->nr_workers; i++) {
		struct worker *w = &r->w[i];

		/* Stopped: a completion that still arrives in the destroy's drain submits nothing. */
		w->phase = PHASE_STOP;
		w->left = 0;
		if (w->qp)
			nvp_qpair_destroy(w->qp);
		if (w->bufs)
			nvp_dma_free(r->dev, w->bufs);
		free(w->hist);
		free(w->ios);
		free(w->vseq);
		free(w->vbusy);
	}
	free(r->w);
	nvp_dev_close(r->dev); /* deletes the queues, CC.SHN: the controller is shut down cleanly */
}

/* ---------------------------------------------------------------- report */

struct perf_stats {
	double secs, iops, mibps;
	uint64_t ios, reads;
	struct perf_counts c;
	struct nvp_qpair_stats q;
	const struct perf_hist *h;
};

static void stats_of(const struct perf_run *r, const struct worker *w, struct perf_stats *s)
{
	s->secs = (double)(w->last_cpl - w->measure_start) * r->clk.ns_per_tick / 1e9;
	s->ios = w->hist->count;
	s->reads = s->ios - w->c.writes;
	s->iops = s->secs > 0 ? (double)s->ios / s->secs : 0;
	s->mibps = s->iops * (double)r->cfg.io_size / 1048576.0;
	s->c = w->c;
	s->q = w->qstats;
	s->h = w->hist;
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

static double to_us(const struct perf_run *r, uint64_t ticks)
{
	return (double)ticks * r->clk.ns_per_tick / 1000.0;
}

static const double pcts[] = { 50, 90, 99, 99.9, 99.99 };
static const char *const pct_names[] = { "p50", "p90", "p99", "p99.9", "p99.99" };

static void json_stats(const struct perf_run *r, const struct perf_stats *s)
{
	const struct nvp_qpair_stats *q = &s->q;

	printf("\"seconds\":%.6f,\"ios\":%" PRIu64 ",\"reads\":%" PRIu64 ",\"writes\":%" PRIu64
	       ",\"iops\":%.1f,\"mibps\":%.3f,\"lat_us\":{\"min\":%.3f,\"mean\":%.3f,\"max\":%.3f",
	       s->secs, s->ios, s->reads, s->c.writes, s->iops, s->mibps,
	       s->h->count ? to_us(r, s->h->min) : 0, perf_hist_mean(s->h) * r->clk.ns_per_tick / 1000,
	       to_us(r, s->h->max));
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		printf(",\"%s\":%.3f", pct_names[i], to_us(r, perf_hist_percentile(s->h, pcts[i])));
	printf("},\"counters\":{\"submitted\":%" PRIu64 ",\"sq_doorbells\":%" PRIu64 ",\"completed\":%" PRIu64
	       ",\"cq_doorbells\":%" PRIu64 ",\"polls\":%" PRIu64 ",\"polls_empty\":%" PRIu64 ",\"bad_cqes\":%" PRIu64
	       ",\"submissions_per_sq_doorbell\":%.3f,\"completions_per_busy_poll\":%.3f,"
	       "\"empty_polls_per_io\":%.3f}",
	       q->submitted, q->sq_doorbells, q->completed, q->cq_doorbells, q->polls, q->polls_empty, q->bad_cqes,
	       ratio(q->submitted, q->sq_doorbells), ratio(q->completed, q->polls - q->polls_empty),
	       ratio(q->polls_empty, q->completed));
	if (r->cfg.verify)
		printf(",\"verify\":{\"lbas_checked\":%" PRIu64 ",\"lbas_never_written\":%" PRIu64 "}",
		       s->c.verified, s->c.unwritten);
}

static void hist_json(const struct perf_run *r, const struct perf_hist *h)
{
	int first = 1;

	printf(",\"hist\":{\"unit\":\"us\",\"buckets\":[");
	for (unsigned i = 0; i < PERF_HIST_NR_BUCKETS; i++) {
		if (!h->buckets[i])
			continue;
		printf("%s[%.3f,%.3f,%" PRIu64 "]", first ? "" : ",", to_us(r, perf_hist_bucket_low(i)),
		       to_us(r, perf_hist_bucket_high(i)), h->buckets[i]);
		first = 0;
	}
	printf("]}");
}

static void hist_text(const struct perf_run *r, const struct perf_hist *h)
{
	uint64_t seen = 0;

	printf("\nlatency histogram (all threads): bucket [low, high) us, count, cumulative\n");
	for (unsigned i = 0; i < PERF_HIST_NR_BUCKETS; i++) {
		if (!h->buckets[i])
			continue;
		seen += h->buckets[i];
		printf("  %12.3f .. %12.3f  %12" PRIu64 "  %8.4f%%\n", to_us(r, perf_hist_bucket_low(i)),
		       to_us(r, perf_hist_bucket_high(i)), h->buckets[i], 100.0 * (double)seen / (double)h->count);
	}
}

static void text_row(const struct perf_run *r, const char *name, int cpu, const struct perf_stats *s)
{
	char cpus[12] = "-";

	if (cpu >= 0)
		snprintf(cpus, sizeof(cpus), "%d", cpu);
	printf("%-6s %4s %11.1f %9.2f %9.2f %9.2f %9.2f", name, cpus, s->iops, s->mibps,
	       s->h->count ? to_us(r, s->h->min) : 0, perf_hist_mean(s->h) * r->clk.ns_per_tick / 1000,
	       to_us(r, s->h->max));
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		printf(" %9.2f", to_us(r, perf_hist_percentile(s->h, pcts[i])));
	printf("\n");
}

static const char *signal_name(int sig)
{
	return sig == SIGTERM ? "SIGTERM" : "SIGINT";
}

/* Workers still in the warmup when the run stopped: their counts are warmup I/Os. */
static unsigned nr_unmeasured(const struct perf_run *r)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->nr_workers; i++)
		n += !r->w[i].measured;
	return n;
}

static void warmup_text(const struct perf_run *r)
{
	unsigned n = nr_unmeasured(r);

	if (n && n == r->nr_workers) {
		printf("the run never left warmup (--warmup %g): the figures above are warmup I/Os, "
		       "not a measurement\n", r->cfg.warmup_s);
		return;
	}
	for (unsigned i = 0; n && i < r->nr_workers; i++)
		if (!r->w[i].measured)
			printf("thread %u never left warmup: its figures are warmup I/Os, not a measurement\n", i);
}

static void report(const struct perf_run *r, int failed)
{
	const struct perf_cfg *cfg = &r->cfg;
	struct perf_hist *all = malloc(sizeof(*all));
	struct perf_stats tot = { 0 }, *ts = calloc(r->nr_workers, sizeof(*ts));

	if (!all || !ts) {
		fprintf(stderr, "nvpoll-perf: out of memory for the report\n");
		free(all);
		free(ts);
		return;
	}
	perf_hist_reset(all);
	for (unsigned i = 0; i < r->nr_workers; i++) {
		const struct worker *w = &r->w[i];
		struct perf_stats *s = &ts[i];
		struct nvp_qpair_stats *q = &tot.q;

		stats_of(r, w, s);
		perf_hist_merge(all, w->hist);
		tot.iops += s->iops;
		tot.mibps += s->mibps;
		if (s->secs > tot.secs)
			tot.secs = s->secs;
		tot.ios += s->ios;
		tot.reads += s->reads;
		tot.c.writes += s->c.writes;
		tot.c.verified += s->c.verified;
		tot.c.unwritten += s->c.unwritten;
		q->submitted += s->q.submitted;
		q->sq_doorbells += s->q.sq_doorbells;
		q->completed += s->q.completed;
		q->cq_doorbells += s->q.cq_doorbells;
		q->polls += s->q.polls;
		q->polls_empty += s->q.polls_empty;
		q->bad_cqes += s->q.bad_cqes;
	}
	tot.h = all;

	if (cfg->json) {
		printf("{\"device\":");
		json_str(cfg->uri);
		printf(",\"backend\":\"%s\",\"doorbells\":\"%s\",\"nsid\":%u,\"lba_size\":%u,\"config\":{\"workload\":\"%s\",\"read_pct\":%u,"
		       "\"io_size\":%" PRIu64 ",\"queue_depth\":%u,\"threads\":%u,\"time_s\":%.3f,\"count\":%" PRIu64
		       ",\"warmup_s\":%.3f,\"range\":{\"start_lba\":%" PRIu64 ",\"end_lba\":%" PRIu64
		       "},\"verify\":%s,\"clock\":\"%s\",\"seed\":%" PRIu64 "},\"interrupted\":%s,\"signal\":%s%s%s,"
		       "\"left_warmup\":%s,\"failed\":%s,",
		       nvp_dev_backend(r->dev), nvp_dev_shadow_doorbells(r->dev) ? "shadow" : "registers", r->nsid,
		       r->info->lba_size, mode_names[cfg->mode], cfg->read_pct,
		       cfg->io_size, cfg->depth, cfg->threads, cfg->count ? 0 : cfg->time_s, cfg->count, cfg->warmup_s,
		       r->win_start, r->win_start + r->win_lbas, cfg->verify ? "true" : "false",
		       cfg->use_tsc ? "tsc" : "monotonic", cfg->seed, r->signal ? "true" : "false",
		       r->signal ? "\"" : "", r->signal ? signal_name(r->signal) : "null", r->signal ? "\"" : "",
		       nr_unmeasured(r) ? "false" : "true", failed ? "true" : "false");
		printf("\"threads\":[");
		for (unsigned i = 0; i < r->nr_workers; i++) {
			printf("%s{\"id\":%u,\"cpu\":%d,\"left_warmup\":%s,", i ? "," : "", i, r->w[i].cpu,
			       r->w[i].measured ? "true" : "false");
			json_stats(r, &ts[i]);
			printf("}");
		}
		printf("],\"total\":{");
		json_stats(r, &tot);
		printf("}");
		if (cfg->hist)
			hist_json(r, all);
		printf("}\n");
	} else {
		printf("\n%-6s %4s %11s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "thread", "cpu", "IOPS", "MiB/s",
		       "min(us)", "mean(us)", "max(us)", "p50", "p90", "p99", "p99.9", "p99.99");
		for (unsigned i = 0; i < r->nr_workers; i++) {
			char name[16];

			snprintf(name, sizeof(name), "%u", i);
			text_row(r, name, r->w[i].cpu, &ts[i]);
		}
		text_row(r, "total", -1, &tot);
		printf("\n%" PRIu64 " I/Os (%" PRIu64 " reads, %" PRIu64 " writes) in %.3f s%s%s\n", tot.ios,
		       tot.reads, tot.c.writes, tot.secs, r->signal ? ", stopped by " : "",
		       r->signal ? signal_name(r->signal) : "");
		warmup_text(r);
		for (unsigned i = 0; i < r->nr_workers; i++) {
			const struct nvp_qpair_stats *q = &ts[i].q;

			printf("thread %u: %.2f submissions per SQ doorbell, %.2f completions per poll that found work, "
			       "%" PRIu64 " polls found nothing (%.2f per I/O)%s\n",
			       i, ratio(q->submitted, q->sq_doorbells), ratio(q->completed, q->polls - q->polls_empty),
			       q->polls_empty, ratio(q->polls_empty, q->completed), q->bad_cqes ? ", BAD CQEs seen" : "");
		}
		if (cfg->verify)
			printf("verify: %" PRIu64 " LBAs read and checked, %" PRIu64 " read that no --verify run wrote%s\n",
			       tot.c.verified, tot.c.unwritten, failed ? "" : ", no mismatch");
		if (cfg->hist)
			hist_text(r, all);
	}
	fflush(stdout);
	free(all);
	free(ts);
}

/* ---------------------------------------------------------------- main */

static void progress(const struct perf_run *r, unsigned sec, uint64_t *last_ios, uint64_t *last_lat)
{
	uint64_t ios = 0, lat = 0;
	double iops, mean;

	for (unsigned i = 0; i < r->nr_workers; i++) {
		ios += nvp_load_relaxed(&r->w[i].pub_ios); /* progress only: see worker_loop() */
		lat += nvp_load_relaxed(&r->w[i].pub_lat);
	}
	iops = (double)(ios - *last_ios);
	mean = ios > *last_ios ? (double)(lat - *last_lat) / (double)(ios - *last_ios) * r->clk.ns_per_tick / 1000 : 0;
	printf("[%4u s%s] %10.0f IOPS %9.2f MiB/s  mean %8.2f us\n", sec,
	       sec <= r->cfg.warmup_s ? " warmup" : "", iops, iops * (double)r->cfg.io_size / 1048576.0, mean);
	fflush(stdout);
	*last_ios = ios;
	*last_lat = lat;
}

static void print_header(const struct perf_run *r)
{
	const struct perf_cfg *cfg = &r->cfg;

	printf("nvpoll-perf: %s (%s%s), nsid %u, %u-byte LBAs, LBAs %" PRIu64 "..%" PRIu64 "\n", cfg->uri,
	       nvp_dev_backend(r->dev), nvp_dev_shadow_doorbells(r->dev) ? ", shadow doorbells" : "", r->nsid,
	       r->info->lba_size, r->win_start, r->win_start + r->win_lbas - 1);
	printf("%s", mode_names[cfg->mode]);
	if (cfg->mode == MODE_RW || cfg->mode == MODE_RANDRW)
		printf(" (%u%% reads)", cfg->read_pct);
	printf(", %" PRIu64 " bytes, QD %u, %u thread%s, ", cfg->io_size, cfg->depth, cfg->threads,
	       cfg->threads == 1 ? "" : "s");
	if (cfg->count)
		printf("%" PRIu64 " I/Os", cfg->count);
	else
		printf("%g s", cfg->time_s);
	if (cfg->warmup_s > 0)
		printf(" after %g s warmup", cfg->warmup_s);
	printf("%s, clock %s\n", cfg->verify ? ", verify" : "", cfg->use_tsc ? "tsc" : "monotonic");
	fflush(stdout);
}

/* Starts the threads, shows progress, stops a run that overstays; returns when all have ended. */
static void run(struct perf_run *r)
{
	const struct perf_cfg *cfg = &r->cfg;
	int show = !cfg->json && isatty(STDOUT_FILENO);
	uint64_t t0 = mono_ns(), next = t0 + 1000000000u, last_ios = 0, last_lat = 0;
	double limit_s = cfg->warmup_s + cfg->time_s + PERF_WATCHDOG_S;
	unsigned sec = 0, done;

	for (unsigned i = 0; i < r->nr_workers; i++) {
		int rc = pthread_create(&r->w[i].thread, NULL, worker_main, &r->w[i]);

		if (rc) {
			fprintf(stderr, "nvpoll-perf: cannot start thread %u: %s\n", i, strerror(rc));
			r->w[i].failed = 1;
			nvp_store_relaxed(&g_stop, 1); /* a flag alone */
			break;
		}
		r->w[i].started = 1;
	}
	do {
		uint64_t now;

		usleep(20000);
		now = mono_ns();
		if (show && now >= next) {
			progress(r, ++sec, &last_ios, &last_lat);
			next += 1000000000u;
		}
		/* -n has no planned end: only a stall would keep it going forever, so no watchdog. */
		if (!cfg->count && (double)(now - t0) / 1e9 > limit_s && !nvp_load_relaxed(&g_stop)) {
			fprintf(stderr, "nvpoll-perf: the run is %d s past its end: stopping it\n", PERF_WATCHDOG_S);
			nvp_store_relaxed(&g_stop, 1); /* a flag alone */
		}
		done = 0;
		for (unsigned i = 0; i < r->nr_workers; i++)
			done += !r->w[i].started || nvp_load_acquire(&r->w[i].finished); /* then its results are there */
	} while (done < r->nr_workers);
	for (unsigned i = 0; i < r->nr_workers; i++)
		if (r->w[i].started)
			pthread_join(r->w[i].thread, NULL);
}

int main(int argc, char **argv)
{
	struct perf_run r = { 0 };
	struct nvp_opts opts;
	struct sigaction sa;
	int rc, failed = 0;

	rc = parse_args(argc, argv, &r.cfg);
	if (rc)
		return rc;

	/* No SA_RESETHAND: a second signal must not kill the process before the summary. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	clock_start(&r.clk, r.cfg.use_tsc);
	nvp_opts_init(&opts);
	opts.be = r.cfg.be;
	opts.mem = r.cfg.mem;
	opts.shadow_doorbells = (unsigned)r.cfg.shadow_doorbells;
	opts.kernel_iopoll = (unsigned)r.cfg.iopoll;
	if (r.cfg.threads > opts.nr_io_queues)
		opts.nr_io_queues = r.cfg.threads;
	r.dev = nvp_dev_open(r.cfg.uri, &opts);
	if (!r.dev) {
		fprintf(stderr, "nvpoll-perf: %s\n", nvp_errmsg());
		return PERF_EXIT_FAIL;
	}
	rc = check_device(&r);
	if (rc) {
		nvp_dev_close(r.dev);
		return rc;
	}
	clock_calibrate(&r.clk, 20);

	r.w = calloc(r.cfg.threads, sizeof(*r.w));
	if (!r.w) {
		fprintf(stderr, "nvpoll-perf: out of memory\n");
		nvp_dev_close(r.dev);
		return PERF_EXIT_FAIL;
	}
	for (unsigned i = 0; i < r.cfg.threads; i++) {
		r.nr_workers = i + 1;
		if (setup_worker(&r, &r.w[i], i)) {
			teardown(&r);
			return PERF_EXIT_FAIL;
		}
	}
	if (!r.cfg.json)
		print_header(&r);
	if (!nvp_load_relaxed(&g_stop)) /* SIGINT before the run: a flag alone */
		run(&r);
	/* Over the whole run, the TSC's rate is known to a few parts per million. */
	clock_calibrate(&r.clk, 0);
	r.signal = g_signal;
	for (unsigned i = 0; i < r.nr_workers; i++)
		failed |= r.w[i].failed;
	report(&r, failed);
	teardown(&r);
	if (failed)
		return PERF_EXIT_FAIL;
	return r.signal ? PERF_EXIT_SIGNAL + r.signal : 0;
}
