/* SPDX-License-Identifier: MIT */
/*
 * nvpoll-perf's workload. Each thread owns one qpair and keeps
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
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "perf.h"
#include "tool.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---------------------------------------------------------------- clock */

void perf_clock_start(struct perf_clock *c, int use_tsc)
{
	c->use_tsc = use_tsc;
	c->mono0 = mono_ns();
	c->tick0 = ticks_now(use_tsc);
	c->ns_per_tick = 1.0;
}

void perf_clock_calibrate(struct perf_clock *c, unsigned min_ms)
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

int perf_stop; /* atomic: a stop signal, or a thread failed */
volatile sig_atomic_t perf_signal; /* the first SIGINT or SIGTERM; 0: none */

/*
 * Stays installed for the whole run: timeout(1) and a terminal signal the
 * whole process group, so a second signal can land right behind the first,
 * and it must not kill the process before the summary. The stop is bounded
 * anyway (PERF_DRAIN_S, then the controller's own timeouts).
 */
static void on_stop_signal(int sig)
{
	if (!perf_signal)
		perf_signal = sig;
	nvp_store_relaxed(&perf_stop, 1); /* a flag alone: workers read nothing behind it */
}

/* This thread submits nothing more, and every other thread stops too. */
/* Said once per run, by whichever thread sees it first: the reason every later error has. */
static void say_if_removed(struct worker *w, int err)
{
	static int said;

	if (err == -ENODEV && !nvp_xchg_acq_rel(&said, 1))
		fprintf(stderr, "nvpoll-perf: %s was removed (hot-unplug, unbind or surprise removal): stopping\n",
			w->target->uri);
}

/* Submits nothing more: every completion from now on only counts. */
static void stop(struct worker *w)
{
	w->phase = PHASE_STOP;
	w->chain = 0;
	w->left = 0;
	w->event = UINT64_MAX;
}

static void fail(struct worker *w)
{
	w->failed = 1;
	stop(w);
	nvp_store_relaxed(&perf_stop, 1); /* a flag alone: workers read nothing behind it */
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

static int zone_submit(struct worker *w, struct perf_io *io, uint64_t now);

static inline int submit(struct worker *w, struct perf_io *io, uint64_t now)
{
	uint64_t b, lba;
	int rc;

	if (unlikely(w->zoned))
		return zone_submit(w, io, now) < 0 ? -1 : 0;
	if (likely(!io->readback)) {
		uint64_t r;

		if (unlikely(w->left == 0))
			return 0;
		w->left--;
		r = perf_rng_next(&w->rng);

		if (likely(w->rand == RAND_UNIFORM)) {
			/* Lemire's multiply-shift: uniform enough, and no division. */
			b = (uint64_t)(((unsigned __int128)r * w->nblocks) >> 64);
		} else if (w->rand == RAND_ZIPF) {
			b = perf_zipf_block(&w->zipf, perf_zipf_rank(&w->zipf, &w->rng));
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
			io->write ? "write" : "read", lba, tool_errmsg());
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
			io->write ? (w->zappend ? "zone append" : "write") : "read",
			w->base_lba + io->block * w->io_lbas, w->io_lbas,
			err == -EIO ? nvp_status_format(nvp_cqe_status(cqe), status, sizeof(status))
				    : strerror(-err));
	fail(w);
}

/* Check a completed read against what this run last wrote there; 0 or -1. */
static __attribute__((noinline)) int verify_check(struct worker *w, struct perf_io *io)
{
	uint64_t lba0 = w->base_lba + io->block * w->io_lbas;
	/* A Zone Append's data cannot know its LBA: its headers carry the zone's start instead. */
	uint64_t hdr0 = w->zappend ? w->zones[io->zone].zslba : lba0;
	uint32_t want = io->readback ? io->seq : w->vseq[io->block];
	uint32_t checked = 0;

	for (uint32_t i = 0; i < w->io_lbas; i++) {
		const uint8_t *p = io->buf + (size_t)i * w->lba_size;
		struct verify_hdr h;
		uint64_t tail;
		const char *why = NULL;

		memcpy(&h, p, sizeof(h));
		memcpy(&tail, p + w->lba_size - 8, 8);
		if (w->zoned && want == 0) {
			/* A zone is read back once full: every block of it was written since its reset. */
			why = "no write of it completed since the zone's reset";
		} else if (h.magic != PERF_VERIFY_MAGIC) {
			if (want == 0) {
				/* Never written by a --verify run: nothing to check. */
				w->c.unwritten++;
				continue;
			}
			why = "no header";
		} else if (h.check != (h.magic ^ h.lba ^ h.seq ^ h.thread) || tail != h.check) {
			why = "corrupt header or tail";
		} else if (h.lba != hdr0 + i) {
			why = "header of another LBA";
		} else if (want && (h.seq != want || h.thread != w->id)) {
			why = "stale or foreign data";
		}
		if (why) {
			char expect[64];

			if (want)
				snprintf(expect, sizeof(expect), "seq %u of thread %u", want, w->id);
			else
				snprintf(expect, sizeof(expect), "%s", w->zoned ? "a write since the zone's reset"
										: "any seq (not written by this run)");
			fprintf(stderr,
				"nvpoll-perf: verify failed: thread %u, LBA %" PRIu64 ": %s: expected lba %" PRIu64
				", %s; found magic %#" PRIx64 ", lba %" PRIu64 ", seq %u of thread %u\n",
				w->id, lba0 + i, why, hdr0 + i, expect, h.magic, h.lba, h.seq, h.thread);
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

/* This thread's CPU time so far, user and system, in seconds. */
static void thread_cpu(double *user, double *sys)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru)) {
		*user = *sys = 0;
		return;
	}
	*user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	*sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void counts_reset(struct worker *w, uint64_t now)
{
	thread_cpu(&w->cpu0_user, &w->cpu0_sys); /* once, when the warmup ends: no system call per I/O */
	for (int i = 0; i < 2; i++) {
		w->base_ios += w->hist[i]->count;
		w->base_lat += w->hist[i]->sum;
		perf_hist_reset(w->hist[i]);
	}
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
	stop(w);
}

static void zone_done(struct worker *w, struct perf_io *io, const struct nvme_cqe *cqe, uint64_t now);

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
	perf_hist_add(w->hist[io->write], lat);
	w->last_cpl = now;
	if (unlikely(err)) {
		io_failed(w, io, err, cqe);
		return;
	}
	if (unlikely(w->zoned)) {
		zone_done(w, io, cqe, now);
		return;
	}
	if (unlikely(w->verify) && verify_done(w, io)) {
		submit(w, io, now); /* the read-back: not counted against -n */
		return;
	}
	/* Failures, stops and --rate clear chain: one test covers them all, --rate off costs nothing. */
	if (likely(w->chain))
		submit(w, io, now);
	else if (w->rate_ticks > 0 && w->phase != PHASE_STOP)
		w->idle[w->nidle++] = io; /* the rated loop submits it when its time comes */
}

/* After a stop: 0 to go on draining, -1 to give up on what is still in flight. */
static int check_stop(struct worker *w, uint64_t *stop_at)
{
	uint64_t t = mono_ns();

	if (w->phase != PHASE_STOP) {
		stop(w);
		*stop_at = t;
	} else if (*stop_at && t - *stop_at > (uint64_t)PERF_DRAIN_S * 1000000000u) {
		fprintf(stderr, "nvpoll-perf: thread %u: %u commands still in flight %d s after the stop, abandoned\n",
			w->id, w->inflight, PERF_DRAIN_S);
		return -1;
	}
	return 0;
}

static inline void poll_once(struct worker *w)
{
	if (nvp_qpair_poll(w->qp, 0)) {
		/* Relaxed: the progress line needs each counter untorn, not the two in step. */
		nvp_store_relaxed(&w->pub_ios, w->base_ios + w->hist[0]->count + w->hist[1]->count);
		nvp_store_relaxed(&w->pub_lat, w->base_lat + w->hist[0]->sum + w->hist[1]->sum);
	} else if (w->cfg->yield) {
		sched_yield();
	}
}

/*
 * --rate: command i is due at start + (i + offset) * interval; a completion
 * puts its slot on the idle stack and this loop submits from there when the
 * next command is due. Its latency counts from the time it was due, not
 * from when a slot came free: a controller that stalls delays every
 * command behind it, and measuring from the real submission would leave
 * that wait out (coordinated omission). Commands that left more than one
 * interval late (no idle slot) are counted.
 */
static void worker_loop_rated(struct worker *w, uint64_t now)
{
	double next = (double)now + w->rate_ticks * w->rate_offset;
	uint64_t stop_at = 0;

	for (unsigned i = w->cfg->depth; i-- > 0;)
		w->idle[w->nidle++] = &w->ios[i];
	while (w->inflight || w->phase != PHASE_STOP) {
		now = ticks_now(w->use_tsc);
		if (unlikely(now >= w->event))
			phase_advance(w, now);
		while (w->nidle && (double)now >= next && w->phase != PHASE_STOP) {
			uint64_t due = (uint64_t)next;

			if (w->left == 0) { /* -n: all submitted */
				stop(w);
				break;
			}
			if ((double)(now - due) > w->rate_ticks)
				w->c.late++;
			if (submit(w, w->idle[--w->nidle], due))
				break;
			next += w->rate_ticks;
		}
		poll_once(w);
		if (unlikely(nvp_load_relaxed(&perf_stop)) && check_stop(w, &stop_at)) /* a flag alone */
			break;
	}
}

static void worker_loop(struct worker *w)
{
	uint64_t now = ticks_now(w->use_tsc), stop_at = 0;

	w->measure_start = now;
	w->last_cpl = now;
	w->chain = w->rate_ticks == 0;
	if (w->warm_ticks) {
		w->phase = PHASE_WARMUP;
		w->event = now + w->warm_ticks;
	} else {
		w->phase = PHASE_MEASURE;
		w->event = w->count ? UINT64_MAX : now + w->run_ticks;
	}
	if (w->rate_ticks > 0) {
		worker_loop_rated(w, now);
	} else {
		for (unsigned i = 0; i < w->cfg->depth && !w->failed; i++)
			submit(w, &w->ios[i], now);
		while (w->inflight) {
			poll_once(w);
			if (unlikely(nvp_load_relaxed(&perf_stop)) && check_stop(w, &stop_at)) /* a flag alone */
				break;
		}
	}
	nvp_qpair_ring(w->qp); /* nothing should be pending; harmless if so */
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
	thread_cpu(&w->cpu0_user, &w->cpu0_sys); /* without a warmup, the measurement starts here */
	worker_loop(w);
	thread_cpu(&w->cpu_user, &w->cpu_sys);
	w->cpu_user -= w->cpu0_user;
	w->cpu_sys -= w->cpu0_sys;
	nvp_qpair_stats(w->qp, &w->qstats);
	nvp_store_release(&w->finished, 1); /* the main thread reads qstats and the histogram after it */
	return NULL;
}

/* No SA_RESETHAND: a second signal must not kill the process before the summary. */
void perf_catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ---------------------------------------------------------------- zoned workloads */

/*
 * zwrite and zappend. A thread owns whole zones (its slice) and writes
 * --open-zones of them at a time, the "positions": zwrite writes at each
 * zone's write pointer with one write in flight per zone (a second would
 * race the first to the pointer), zappend lets every slot append to any
 * open zone and the controller says where each landed. A zone written to
 * its capacity is Full by itself; with --verify it is read back whole
 * first. Its position then moves on to the thread's next zone that no
 * position holds, and a zone that was filled before is reset (Zone
 * Management Send) before it is written again. A slot with nothing to do
 * parks on w->idle (no --rate here) until a completion changes a zone.
 */

static void zone_reset_done(void *arg, int err, const struct nvme_cqe *cqe);

static uint32_t zone_after(const struct worker *w, uint32_t zi)
{
	return zi + 1 == w->nzones ? 0 : zi + 1;
}

/* Position @p takes the next zone no position holds (there is one: the thread has at least as many). */
static void zone_take(struct worker *w, unsigned p)
{
	struct perf_zone *z;

	while (w->zones[w->znext].pos != PERF_ZONE_NOPOS)
		w->znext = zone_after(w, w->znext);
	z = &w->zones[w->znext];
	w->zpos[p] = w->znext;
	w->znext = zone_after(w, w->znext);
	z->pos = p;
	z->state = z->state == ZONE_EMPTY ? ZONE_OPEN : ZONE_NEED_RESET;
	z->sub = z->done = z->rb = z->rbdone = 0;
}

static void zone_retire(struct worker *w, struct perf_zone *z)
{
	unsigned p = z->pos;

	z->state = ZONE_FULL;
	z->pos = PERF_ZONE_NOPOS;
	zone_take(w, p);
}

static int zone_posted(struct worker *w, struct perf_io *io, int rc, const char *what, uint64_t lba)
{
	if (unlikely(rc)) {
		say_if_removed(w, rc);
		fprintf(stderr, "nvpoll-perf: thread %u: %s at LBA %" PRIu64 " not submitted: %s\n", w->id, what, lba,
			tool_errmsg());
		fail(w);
		return rc;
	}
	w->zones[io->zone].inflight++;
	w->inflight++;
	return 0;
}

static int zone_write(struct worker *w, struct perf_io *io, uint32_t zi, uint64_t now)
{
	struct perf_zone *z = &w->zones[zi];
	uint64_t lba = z->zslba + z->sub;
	int rc;

	io->zone = zi;
	io->write = 1;
	io->readback = 0;
	/* zappend: the block is the completion's to say; until then, the zone's first. */
	io->block = ((w->zappend ? z->zslba : lba) - w->base_lba) / w->io_lbas;
	if (unlikely(w->verify)) {
		if (++w->seq == 0)
			w->seq = 1;
		io->seq = w->seq;
		verify_fill(w, io, w->zappend ? z->zslba : lba);
	}
	z->sub += w->io_lbas;
	io->start = now;
	if (w->zappend)
		rc = nvp_zone_append(w->qp, w->ns, z->zslba, w->io_lbas, io->buf, on_done, io);
	else
		rc = nvp_write(w->qp, w->ns, lba, w->io_lbas, io->buf, on_done, io);
	return zone_posted(w, io, rc, w->zappend ? "zone append" : "write", w->zappend ? z->zslba : lba);
}

/* --verify: the next blocks of a Full zone, read back before the zone may be reset. */
static int zone_read(struct worker *w, struct perf_io *io, uint32_t zi, uint64_t now)
{
	struct perf_zone *z = &w->zones[zi];
	uint64_t lba = z->zslba + z->rb;

	io->zone = zi;
	io->write = 0;
	io->readback = 0; /* checked against vseq, as any read */
	io->block = (lba - w->base_lba) / w->io_lbas;
	verify_wipe(w, io);
	z->rb += w->io_lbas;
	io->start = now;
	return zone_posted(w, io, nvp_read(w->qp, w->ns, lba, w->io_lbas, io->buf, on_done, io), "read", lba);
}

static int zone_reset(struct worker *w, struct perf_io *io, uint32_t zi, uint64_t now)
{
	struct perf_zone *z = &w->zones[zi];

	io->zone = zi;
	io->start = now;
	z->state = ZONE_RESETTING;
	return zone_posted(w, io, nvp_zone_mgmt(w->qp, w->ns, z->zslba, NVME_ZSA_RESET, 0, zone_reset_done, io),
			   "zone reset", z->zslba);
}

/*
 * The next command for slot @io from the open positions, in turn: 0
 * submitted, 1 nothing to do (parked, unless the run stopped), or an error.
 * -n counts writes: once they are all submitted, zones still being read
 * back finish, but no zone is reset for more.
 */
static int zone_submit(struct worker *w, struct perf_io *io, uint64_t now)
{
	if (w->phase == PHASE_STOP)
		return 1;
	for (unsigned k = 0; k < w->npos; k++) {
		unsigned p = w->zrr;
		uint32_t zi = w->zpos[p];
		struct perf_zone *z = &w->zones[zi];

		w->zrr = p + 1 == w->npos ? 0 : p + 1;
		switch (z->state) {
		case ZONE_OPEN:
			if (z->sub == z->zcap || (!w->zappend && z->inflight) || w->left == 0)
				continue;
			w->left--;
			return zone_write(w, io, zi, now);
		case ZONE_READBACK:
			if (z->rb == z->zcap)
				continue;
			return zone_read(w, io, zi, now);
		case ZONE_NEED_RESET:
			if (w->left == 0)
				continue;
			return zone_reset(w, io, zi, now);
		default:
			continue;
		}
	}
	w->idle[w->nidle++] = io;
	return 1;
}

/* After a completion: its slot goes on, and so do parked slots while there is work. */
static void zone_kick(struct worker *w, struct perf_io *io, uint64_t now)
{
	int rc;

	if (!w->chain)
		return;
	rc = zone_submit(w, io, now);
	while (rc == 0 && w->nidle)
		rc = zone_submit(w, w->idle[--w->nidle], now);
}

/* A Zone Append's LBA, from the controller: inside the zone, on an I/O boundary, and (--verify) not given twice. */
static int zone_appended(struct worker *w, struct perf_io *io, const struct perf_zone *z, uint64_t lba)
{
	const char *why = NULL;

	if (lba < z->zslba || lba - z->zslba > z->zcap - w->io_lbas)
		why = "outside the zone's capacity";
	else if ((lba - z->zslba) % w->io_lbas)
		why = "not where an append of this size can land";
	else if (w->verify && w->vseq[(lba - w->base_lba) / w->io_lbas])
		why = "where an earlier append since the zone's reset landed";
	if (why) {
		fprintf(stderr, "nvpoll-perf: thread %u: zone append to the zone at LBA %" PRIu64 " (capacity %" PRIu64
			" LBAs) came back with LBA %" PRIu64 ": %s\n", w->id, z->zslba, z->zcap, lba, why);
		fail(w);
		return -1;
	}
	io->block = (lba - w->base_lba) / w->io_lbas;
	return 0;
}

static __attribute__((noinline)) void zone_done(struct worker *w, struct perf_io *io, const struct nvme_cqe *cqe,
						 uint64_t now)
{
	struct perf_zone *z = &w->zones[io->zone];

	z->inflight--;
	if (io->write) {
		if (w->zappend && zone_appended(w, io, z, nvp_cqe_append_lba(cqe)))
			return;
		if (w->verify)
			w->vseq[io->block] = io->seq;
		z->done += w->io_lbas;
		if (z->done == z->zcap) {
			w->c.zfull++;
			if (w->verify)
				z->state = ZONE_READBACK;
			else
				zone_retire(w, z);
		}
	} else {
		if (verify_check(w, io)) {
			fail(w);
			return;
		}
		z->rbdone += w->io_lbas;
		if (z->rbdone == z->zcap)
			zone_retire(w, z);
	}
	zone_kick(w, io, now);
}

static void zone_reset_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct perf_io *io = arg;
	struct worker *w = io->w;
	struct perf_zone *z = &w->zones[io->zone];
	uint64_t now = ticks_now(w->use_tsc);

	w->inflight--;
	z->inflight--;
	if (unlikely(now >= w->event))
		phase_advance(w, now);
	if (err) {
		err = nvp_cqe_error(err, cqe);
		say_if_removed(w, err);
		if (!w->failed)
			fprintf(stderr, "nvpoll-perf: thread %u: reset of the zone at LBA %" PRIu64 " failed: %s\n", w->id,
				z->zslba, err == -EIO || err == -EILSEQ ? tool_errmsg() : strerror(-err));
		fail(w);
		return;
	}
	w->c.zreset++;
	if (w->verify) /* nothing of the zone's last fill may vouch for what comes next */
		memset(&w->vseq[(z->zslba - w->base_lba) / w->io_lbas], 0,
		       (size_t)(w->zone_lbas / w->io_lbas) * sizeof(*w->vseq));
	z->state = ZONE_OPEN;
	z->sub = z->done = z->rb = z->rbdone = 0;
	zone_kick(w, io, now);
}

/* Before the run, one command at a time on the worker's qpair. */
struct zone_wait {
	int done, err;
};

static void zone_wait_cb(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct zone_wait *zw = arg;

	zw->err = nvp_cqe_error(err, cqe);
	zw->done = 1;
}

static int zone_wait(struct worker *w, struct zone_wait *zw)
{
	while (!zw->done)
		nvp_qpair_poll(w->qp, 0);
	return zw->err;
}

/*
 * The thread's zones from Report Zones (their capacity, which may be below
 * the zone size), each one not Empty reset so the run starts from write
 * pointers it knows; 0, or an exit status.
 */
static int zone_setup(struct worker *w, const struct perf_target *t)
{
	enum { PAGE = 4096, PER_PAGE = PAGE / 64 - 1 };
	struct nvp_dev *dev = t->ctrl->dev;
	struct nvp_zone d[PER_PAGE];
	uint8_t *buf;
	int rc = PERF_EXIT_FAIL;

	w->zoned = 1;
	w->zappend = w->cfg->mode == MODE_ZAPPEND;
	w->zone_lbas = t->info->zone_size;
	w->nzones = (uint32_t)t->zones_per_thread;
	w->npos = w->cfg->open_zones;
	w->base_lba = t->win_start + (uint64_t)w->tid * t->zones_per_thread * w->zone_lbas;
	w->zones = calloc(w->nzones, sizeof(*w->zones));
	w->zpos = calloc(w->npos, sizeof(*w->zpos));
	buf = nvp_dma_alloc(dev, PAGE);
	if (!w->zones || !w->zpos || !buf) {
		fprintf(stderr, "nvpoll-perf: thread %u: out of memory for %u zones\n", w->id, w->nzones);
		goto out;
	}
	for (uint32_t got = 0; got < w->nzones;) {
		uint64_t slba = w->base_lba + (uint64_t)got * w->zone_lbas;
		struct zone_wait zw = { 0 };
		int n, err;

		err = nvp_zone_report(w->qp, w->ns, slba, 0, 1, buf, PAGE, zone_wait_cb, &zw);
		if (!err)
			err = zone_wait(w, &zw);
		n = err ? err : nvp_zone_report_parse(buf, PAGE, d, PER_PAGE, NULL);
		if (n <= 0) {
			fprintf(stderr, "nvpoll-perf: thread %u: report zones from LBA %" PRIu64 ": %s\n", w->id, slba,
				n ? tool_errmsg() : "no zone reported");
			goto out;
		}
		for (int i = 0; i < n && got < w->nzones; i++, got++) {
			struct perf_zone *z = &w->zones[got];
			uint64_t want = w->base_lba + (uint64_t)got * w->zone_lbas;

			if (d[i].zslba != want || !d[i].zcap || d[i].zcap > w->zone_lbas) {
				fprintf(stderr, "nvpoll-perf: thread %u: report zones: zone %u of this thread should start at "
					"LBA %" PRIu64 " and hold up to %" PRIu64 " LBAs, the controller reports LBA %" PRIu64
					" with capacity %" PRIu64 "\n", w->id, got, want, w->zone_lbas, d[i].zslba, d[i].zcap);
				goto out;
			}
			if (d[i].zcap % w->io_lbas) {
				fprintf(stderr, "nvpoll-perf: -o %" PRIu64 ": the zone at LBA %" PRIu64 " can be written for "
					"%" PRIu64 " LBAs (its capacity), not a multiple of the %u LBAs per I/O\n",
					w->cfg->io_size, want, d[i].zcap, w->io_lbas);
				rc = PERF_EXIT_USAGE;
				goto out;
			}
			if (d[i].state == NVME_ZS_READ_ONLY || d[i].state == NVME_ZS_OFFLINE) {
				fprintf(stderr, "nvpoll-perf: thread %u: the zone at LBA %" PRIu64 " is %s: it cannot be "
					"written; narrow --range to leave it out\n", w->id, want,
					d[i].state == NVME_ZS_OFFLINE ? "offline" : "read only");
				rc = PERF_EXIT_USAGE;
				goto out;
			}
			*z = (struct perf_zone){ .zslba = want, .zcap = d[i].zcap, .pos = PERF_ZONE_NOPOS,
						 .state = ZONE_EMPTY };
			if (d[i].state != NVME_ZS_EMPTY) {
				struct zone_wait rw = { 0 };

				err = nvp_zone_mgmt(w->qp, w->ns, want, NVME_ZSA_RESET, 0, zone_wait_cb, &rw);
				if (!err)
					err = zone_wait(w, &rw);
				if (err) {
					fprintf(stderr, "nvpoll-perf: thread %u: reset of the zone at LBA %" PRIu64
						" before the run: %s\n", w->id, want, tool_errmsg());
					goto out;
				}
				w->zprep++;
			}
		}
	}
	for (unsigned p = 0; p < w->npos; p++)
		zone_take(w, p);
	rc = 0;
out:
	if (buf)
		nvp_dma_free(dev, buf);
	return rc;
}

/* ---------------------------------------------------------------- setup */

int perf_setup_worker(struct perf_run *r, struct worker *w, unsigned id)
{
	const struct perf_cfg *cfg = &r->cfg;
	const struct perf_target *t = &r->t[id % r->nr_targets];
	struct nvp_dev *dev = t->ctrl->dev;
	uint32_t io_lbas = (uint32_t)(cfg->io_size / t->info->lba_size);

	w->cfg = cfg;
	w->id = id;
	w->cpu = cfg->nr_cpus ? cfg->cpus[id % cfg->nr_cpus] : -1;
	w->target = t;
	w->tid = id / r->nr_targets;
	w->ns = t->ns;
	w->lba_size = t->info->lba_size;
	w->io_lbas = io_lbas;
	w->nblocks = t->slice_blocks;
	w->base_lba = t->win_start + (uint64_t)w->tid * t->slice_blocks * io_lbas;
	w->rand = RAND_SEQ;
	if (cfg->mode == MODE_RANDREAD || cfg->mode == MODE_RANDWRITE || cfg->mode == MODE_RANDRW)
		w->rand = cfg->zipf_theta > 0 ? RAND_ZIPF : RAND_UNIFORM;
	if (w->rand == RAND_ZIPF && perf_zipf_init(&w->zipf, w->nblocks, cfg->zipf_theta)) {
		fprintf(stderr, "nvpoll-perf: thread %u: zipf:%g over %" PRIu64 " blocks: out of range\n", id,
			cfg->zipf_theta, w->nblocks);
		return -1;
	}
	if (cfg->rate) {
		w->rate_ticks = 1e9 / (double)cfg->rate / r->clk.ns_per_tick;
		w->rate_offset = (double)id / cfg->threads; /* the threads' commands interleave evenly */
	}
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

	w->qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = cfg->depth + 1 });
	if (!w->qp) {
		fprintf(stderr, "nvpoll-perf: thread %u: %s\n", id, tool_errmsg());
		return -1;
	}
	/* Slots start on 4 KiB boundaries, as an application's buffers would. */
	w->buf_stride = (cfg->io_size + 4095) & ~(size_t)4095;
	w->bufs = nvp_dma_alloc(dev, w->buf_stride * cfg->depth);
	if (!w->bufs) {
		fprintf(stderr, "nvpoll-perf: thread %u: %zu bytes of DMA memory: %s\n", id,
			w->buf_stride * cfg->depth, tool_errmsg());
		return -1;
	}
	w->hist[0] = malloc(sizeof(*w->hist[0]));
	w->hist[1] = malloc(sizeof(*w->hist[1]));
	w->ios = calloc(cfg->depth, sizeof(*w->ios));
	w->idle = calloc(cfg->depth, sizeof(*w->idle));
	if (cfg->verify) {
		w->vseq = calloc(w->nblocks, sizeof(*w->vseq));
		w->vbusy = calloc(w->nblocks, 1);
	}
	if (!w->hist[0] || !w->hist[1] || !w->ios || !w->idle || (cfg->verify && (!w->vseq || !w->vbusy))) {
		fprintf(stderr, "nvpoll-perf: thread %u: out of memory\n", id);
		return -1;
	}
	perf_hist_reset(w->hist[0]);
	perf_hist_reset(w->hist[1]);
	/* Data that no device could compress or dedupe away; --verify writes its own. */
	for (size_t i = 0; i < w->buf_stride * cfg->depth / 8; i++)
		((uint64_t *)w->bufs)[i] = perf_rng_next(&w->rng);
	for (unsigned i = 0; i < cfg->depth; i++) {
		w->ios[i].w = w;
		w->ios[i].buf = (uint8_t *)w->bufs + i * w->buf_stride;
	}
	if (PERF_ZONED(cfg->mode))
		return zone_setup(w, t);
	return 0;
}

void perf_teardown(struct perf_run *r)
{
	for (unsigned i = 0; i < r->nr_workers; i++) {
		struct worker *w = &r->w[i];

		/* Stopped: a completion that still arrives in the destroy's drain submits nothing. */
		stop(w);
		if (w->qp)
			nvp_qpair_destroy(w->qp);
		if (w->bufs)
			nvp_dma_free(w->target->ctrl->dev, w->bufs);
		free(w->hist[0]);
		free(w->hist[1]);
		free(w->ios);
		free(w->idle);
		free(w->vseq);
		free(w->vbusy);
		free(w->zones);
		free(w->zpos);
	}
	free(r->w);
	perf_close_devices(r);
}

void perf_close_devices(struct perf_run *r)
{
	for (unsigned i = 0; i < r->nr_ctrls; i++) {
		if (r->ctrls[i].dev)
			nvp_dev_close(r->ctrls[i].dev); /* deletes the queues, CC.SHN: shut down cleanly */
		r->ctrls[i].dev = NULL;
	}
}

/* ---------------------------------------------------------------- run */

/* --status-interval, else every second on a terminal for the text report; 0: no progress lines. */
static uint64_t status_interval_ns(const struct perf_cfg *cfg)
{
	if (cfg->status_s > 0)
		return (uint64_t)(cfg->status_s * 1e9);
	return !cfg->json && isatty(STDOUT_FILENO) ? 1000000000u : 0;
}

void perf_run_threads(struct perf_run *r)
{
	const struct perf_cfg *cfg = &r->cfg;
	uint64_t t0 = mono_ns(), every = status_interval_ns(cfg), next = t0 + every;
	struct perf_progress_state prog = { .t0 = t0, .last_t = t0 };
	useconds_t nap = every && every < 20000000u ? (useconds_t)(every / 1000) : 20000;
	double limit_s = cfg->warmup_s + cfg->time_s + PERF_WATCHDOG_S;
	unsigned done;

	for (unsigned i = 0; i < r->nr_workers; i++) {
		int rc = pthread_create(&r->w[i].thread, NULL, worker_main, &r->w[i]);

		if (rc) {
			fprintf(stderr, "nvpoll-perf: cannot start thread %u: %s\n", i, strerror(rc));
			r->w[i].failed = 1;
			nvp_store_relaxed(&perf_stop, 1); /* a flag alone */
			break;
		}
		r->w[i].started = 1;
	}
	do {
		uint64_t now;

		usleep(nap);
		now = mono_ns();
		if (every && now >= next) {
			perf_progress(r, &prog, now);
			next += every;
			if (next <= now) /* a late wake-up: the next line one interval on, not a burst */
				next = now + every;
		}
		/* -n has no planned end: only a stall would keep it going forever, so no watchdog. */
		if (!cfg->count && (double)(now - t0) / 1e9 > limit_s && !nvp_load_relaxed(&perf_stop)) {
			fprintf(stderr, "nvpoll-perf: the run is %d s past its end: stopping it\n", PERF_WATCHDOG_S);
			nvp_store_relaxed(&perf_stop, 1); /* a flag alone */
		}
		done = 0;
		for (unsigned i = 0; i < r->nr_workers; i++)
			done += !r->w[i].started || nvp_load_acquire(&r->w[i].finished); /* then its results are there */
	} while (done < r->nr_workers);
	for (unsigned i = 0; i < r->nr_workers; i++)
		if (r->w[i].started)
			pthread_join(r->w[i].thread, NULL);
}
