/* SPDX-License-Identifier: MIT */
/* nvpoll-perf's output: the header, the progress line, and the summary in text or JSON. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf.h"
#include "tool.h"

/* ---------------------------------------------------------------- report */

/* One direction's figures (or both together) over one or more threads. */
struct perf_side {
	uint64_t ios;
	double iops, mibps;	/* summed over the threads, each over its own time */
	struct perf_hist *h;
};

enum { SIDE_ALL, SIDE_READ, SIDE_WRITE };

struct perf_stats {
	double secs;		/* the longest thread's */
	struct perf_side side[3];
	struct perf_counts c;
	uint64_t zprep;		/* zoned: zones reset before the run */
	struct nvp_qpair_stats q;
	double cpu_user, cpu_sys;	/* the threads' CPU seconds in their measurement */
};

static int stats_init(struct perf_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 3; i++) {
		s->side[i].h = malloc(sizeof(*s->side[i].h));
		if (!s->side[i].h)
			return -1;
		perf_hist_reset(s->side[i].h);
	}
	return 0;
}

static void stats_fini(struct perf_stats *s)
{
	for (int i = 0; i < 3; i++)
		free(s->side[i].h);
}

static void side_add(const struct perf_run *r, struct perf_side *d, uint64_t ios, double secs)
{
	double iops = secs > 0 ? (double)ios / secs : 0;

	d->ios += ios;
	d->iops += iops;
	d->mibps += iops * (double)r->cfg.io_size / 1048576.0;
}

/* Add thread @w's figures to @s. */
static void stats_add(const struct perf_run *r, struct perf_stats *s, const struct worker *w)
{
	double secs = (double)(w->last_cpl - w->measure_start) * r->clk.ns_per_tick / 1e9;
	struct nvp_qpair_stats *q = &s->q;

	if (secs > s->secs)
		s->secs = secs;
	side_add(r, &s->side[SIDE_ALL], w->hist[0]->count + w->hist[1]->count, secs);
	for (int d = 0; d < 2; d++) {
		side_add(r, &s->side[SIDE_READ + d], w->hist[d]->count, secs);
		perf_hist_merge(s->side[SIDE_READ + d].h, w->hist[d]);
		perf_hist_merge(s->side[SIDE_ALL].h, w->hist[d]);
	}
	s->cpu_user += w->cpu_user;
	s->cpu_sys += w->cpu_sys;
	s->c.verified += w->c.verified;
	s->c.unwritten += w->c.unwritten;
	s->c.late += w->c.late;
	s->c.zfull += w->c.zfull;
	s->c.zreset += w->c.zreset;
	s->zprep += w->zprep;
	q->submitted += w->qstats.submitted;
	q->sq_doorbells += w->qstats.sq_doorbells;
	q->completed += w->qstats.completed;
	q->cq_doorbells += w->qstats.cq_doorbells;
	q->polls += w->qstats.polls;
	q->polls_empty += w->qstats.polls_empty;
	q->bad_cqes += w->qstats.bad_cqes;
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

/* The coarse summary's bounds, as fio's latency buckets: powers of ten, 1 us .. 10 s. */
#define NR_BOUNDS 8
static const char *const bound_names[NR_BOUNDS] = { "1us", "10us", "100us", "1ms", "10ms", "100ms", "1s", "10s" };

static double pct_below_us(const struct perf_run *r, const struct perf_hist *h, double us)
{
	uint64_t v = (uint64_t)(us * 1000.0 / r->clk.ns_per_tick + 0.5);

	return h->count ? 100.0 * (double)perf_hist_count_below(h, v) / (double)h->count : 0;
}

static void json_lat(const struct perf_run *r, const struct perf_hist *h)
{
	double us = 1;

	printf("\"lat_us\":{\"min\":%.3f,\"mean\":%.3f,\"max\":%.3f", h->count ? to_us(r, h->min) : 0,
	       perf_hist_mean(h) * r->clk.ns_per_tick / 1000, to_us(r, h->max));
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		printf(",\"%s\":%.3f", pct_names[i], to_us(r, perf_hist_percentile(h, pcts[i])));
	printf("},\"lat_pct_under\":{");
	for (int i = 0; i < NR_BOUNDS; i++, us *= 10)
		printf("%s\"%s\":%.4f", i ? "," : "", bound_names[i], pct_below_us(r, h, us));
	printf("}");
}

static void json_side(const struct perf_run *r, const char *name, const struct perf_side *d)
{
	printf(",\"%s\":{\"ios\":%" PRIu64 ",\"iops\":%.1f,\"mibps\":%.3f,", name, d->ios, d->iops, d->mibps);
	json_lat(r, d->h);
	printf("}");
}

static void json_stats(const struct perf_run *r, const struct perf_stats *s)
{
	const struct nvp_qpair_stats *q = &s->q;
	const struct perf_side *a = &s->side[SIDE_ALL];

	printf("\"seconds\":%.6f,\"ios\":%" PRIu64 ",\"reads\":%" PRIu64 ",\"writes\":%" PRIu64
	       ",\"iops\":%.1f,\"mibps\":%.3f,",
	       s->secs, a->ios, s->side[SIDE_READ].ios, s->side[SIDE_WRITE].ios, a->iops, a->mibps);
	json_lat(r, a->h);
	json_side(r, "read", &s->side[SIDE_READ]);
	json_side(r, "write", &s->side[SIDE_WRITE]);
	printf(",\"counters\":{\"submitted\":%" PRIu64 ",\"sq_doorbells\":%" PRIu64 ",\"completed\":%" PRIu64
	       ",\"cq_doorbells\":%" PRIu64 ",\"polls\":%" PRIu64 ",\"polls_empty\":%" PRIu64 ",\"bad_cqes\":%" PRIu64
	       ",\"submissions_per_sq_doorbell\":%.3f,\"completions_per_busy_poll\":%.3f,"
	       "\"empty_polls_per_io\":%.3f}",
	       q->submitted, q->sq_doorbells, q->completed, q->cq_doorbells, q->polls, q->polls_empty, q->bad_cqes,
	       ratio(q->submitted, q->sq_doorbells), ratio(q->completed, q->polls - q->polls_empty),
	       ratio(q->polls_empty, q->completed));
	printf(",\"cpu\":{\"user_s\":%.6f,\"sys_s\":%.6f,\"us_per_io\":%.3f,\"user_us_per_io\":%.3f,"
	       "\"sys_us_per_io\":%.3f}", s->cpu_user, s->cpu_sys,
	       a->ios ? (s->cpu_user + s->cpu_sys) * 1e6 / (double)a->ios : 0,
	       a->ios ? s->cpu_user * 1e6 / (double)a->ios : 0, a->ios ? s->cpu_sys * 1e6 / (double)a->ios : 0);
	if (r->cfg.rate)
		printf(",\"rate_late\":%" PRIu64, s->c.late);
	if (PERF_ZONED(r->cfg.mode))
		printf(",\"zones\":{\"written_full\":%" PRIu64 ",\"reset\":%" PRIu64 ",\"reset_before_run\":%" PRIu64 "}",
		       s->c.zfull, s->c.zreset, s->zprep);
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

static void text_row(const struct perf_run *r, const char *name, int cpu, const struct perf_side *d)
{
	const struct perf_hist *h = d->h;
	char cpus[12] = "-";

	if (cpu >= 0)
		snprintf(cpus, sizeof(cpus), "%d", cpu);
	printf("%-8s %4s %11.1f %9.2f %9.2f %9.2f %9.2f", name, cpus, d->iops, d->mibps,
	       h->count ? to_us(r, h->min) : 0, perf_hist_mean(h) * r->clk.ns_per_tick / 1000, to_us(r, h->max));
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		printf(" %9.2f", to_us(r, perf_hist_percentile(h, pcts[i])));
	printf("\n");
}

/* "under 10us 0.00%, 100us 97.12%, 1ms 100%": from the last bound none is under to the first all are. */
static void text_coarse(const struct perf_run *r, const char *name, const struct perf_hist *h)
{
	double pct[NR_BOUNDS], us = 1;
	int first = 0, last = NR_BOUNDS - 1;

	if (!h->count)
		return;
	for (int i = 0; i < NR_BOUNDS; i++, us *= 10)
		pct[i] = pct_below_us(r, h, us);
	while (first + 1 < NR_BOUNDS && pct[first + 1] == 0)
		first++;
	for (int i = first; i < NR_BOUNDS; i++)
		if (pct[i] >= 100) {
			last = i;
			break;
		}
	printf("%s latency under", name);
	/* Short of 100 % shows as such: a tail of one in 10^5 is what the line is for. */
	for (int i = first; i <= last; i++)
		printf("%s %s %.*f%%", i == first ? "" : ",", bound_names[i], pct[i] < 100 && pct[i] >= 99.99 ? 4 : 2,
		       pct[i] < 100 && pct[i] > 99.9999 ? 99.9999 : pct[i]);
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

void perf_report(const struct perf_run *r, int failed)
{
	const struct perf_cfg *cfg = &r->cfg;
	int mixed = cfg->mode == MODE_RW || cfg->mode == MODE_RANDRW;
	const struct perf_target *t0 = &r->t[0];
	struct perf_stats tot, *ts = calloc(r->nr_workers, sizeof(*ts)), *tt = calloc(r->nr_targets, sizeof(*tt));
	int oom = !ts || !tt || stats_init(&tot);

	for (unsigned i = 0; !oom && i < r->nr_workers; i++)
		oom = stats_init(&ts[i]);
	for (unsigned i = 0; !oom && i < r->nr_targets; i++)
		oom = stats_init(&tt[i]);
	if (oom) {
		fprintf(stderr, "nvpoll-perf: out of memory for the report\n");
		goto out;
	}
	for (unsigned i = 0; i < r->nr_workers; i++) {
		stats_add(r, &ts[i], &r->w[i]);
		stats_add(r, &tt[i % r->nr_targets], &r->w[i]);
		stats_add(r, &tot, &r->w[i]);
	}

	if (cfg->json) {
		/* The first target's device and namespace at the top, as before there could be several. */
		printf("{\"version\":\"%s\",\"device\":", PERF_VERSION);
		tool_json_str(t0->uri);
		printf(",\"backend\":\"%s\",\"doorbells\":\"%s\",\"nsid\":%u,\"lba_size\":%u,\"config\":{\"workload\":\"%s\",\"read_pct\":%u,"
		       "\"io_size\":%" PRIu64 ",\"queue_depth\":%u,\"threads\":%u,\"time_s\":%.3f,\"count\":%" PRIu64
		       ",\"warmup_s\":%.3f,\"range\":{\"start_lba\":%" PRIu64 ",\"end_lba\":%" PRIu64
		       "},\"verify\":%s,\"clock\":\"%s\",\"seed\":%" PRIu64 ",\"rate_iops\":%" PRIu64
		       ",\"random_dist\":\"%s\",\"zipf_theta\":%g,\"open_zones\":%u},\"interrupted\":%s,\"signal\":%s%s%s,"
		       "\"left_warmup\":%s,\"failed\":%s,",
		       nvp_dev_backend(t0->ctrl->dev), nvp_dev_shadow_doorbells(t0->ctrl->dev) ? "shadow" : "registers",
		       t0->nsid, t0->info->lba_size, perf_mode_names[cfg->mode], cfg->read_pct,
		       cfg->io_size, cfg->depth, cfg->threads, cfg->count ? 0 : cfg->time_s, cfg->count, cfg->warmup_s,
		       t0->win_start, t0->win_start + t0->win_lbas, cfg->verify ? "true" : "false",
		       cfg->use_tsc ? "tsc" : "monotonic", cfg->seed, cfg->rate, cfg->zipf_theta > 0 ? "zipf" : "uniform",
		       cfg->zipf_theta, cfg->open_zones, r->signal ? "true" : "false",
		       r->signal ? "\"" : "", r->signal ? signal_name(r->signal) : "null", r->signal ? "\"" : "",
		       nr_unmeasured(r) ? "false" : "true", failed ? "true" : "false");
		printf("\"threads\":[");
		for (unsigned i = 0; i < r->nr_workers; i++) {
			printf("%s{\"id\":%u,\"target\":%u,\"cpu\":%d,\"left_warmup\":%s,", i ? "," : "", i,
			       i % r->nr_targets, r->w[i].cpu, r->w[i].measured ? "true" : "false");
			json_stats(r, &ts[i]);
			printf("}");
		}
		printf("],\"targets\":[");
		for (unsigned i = 0; i < r->nr_targets; i++) {
			const struct perf_target *t = &r->t[i];

			printf("%s{\"id\":%u,\"device\":", i ? "," : "", i);
			tool_json_str(t->uri);
			printf(",\"controller\":");
			tool_json_str(t->ctrl->key);
			printf(",\"backend\":\"%s\",\"doorbells\":\"%s\",\"nsid\":%u,\"lba_size\":%u,"
			       "\"range\":{\"start_lba\":%" PRIu64 ",\"end_lba\":%" PRIu64 "},",
			       nvp_dev_backend(t->ctrl->dev), nvp_dev_shadow_doorbells(t->ctrl->dev) ? "shadow" : "registers",
			       t->nsid, t->info->lba_size, t->win_start, t->win_start + t->win_lbas);
			if (PERF_ZONED(cfg->mode))
				printf("\"zone_lbas\":%" PRIu64 ",\"zones_per_thread\":%" PRIu64 ",", t->info->zone_size,
				       t->zones_per_thread);
			printf("\"threads\":[");
			for (unsigned j = i; j < r->nr_workers; j += r->nr_targets)
				printf("%s%u", j == i ? "" : ",", j);
			printf("],");
			json_stats(r, &tt[i]);
			printf("}");
		}
		printf("],\"total\":{");
		json_stats(r, &tot);
		printf("}");
		if (cfg->hist)
			hist_json(r, tot.side[SIDE_ALL].h);
		printf("}\n");
	} else {
		printf("\n%-8s %4s %11s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "thread", "cpu", "IOPS", "MiB/s",
		       "min(us)", "mean(us)", "max(us)", "p50", "p90", "p99", "p99.9", "p99.99");
		for (unsigned i = 0; i < r->nr_workers; i++) {
			char name[16];

			snprintf(name, sizeof(name), "%u", i);
			text_row(r, name, r->w[i].cpu, &ts[i].side[SIDE_ALL]);
		}
		for (unsigned i = 0; r->nr_targets > 1 && i < r->nr_targets; i++) {
			char name[24];

			snprintf(name, sizeof(name), "target%u", i);
			text_row(r, name, -1, &tt[i].side[SIDE_ALL]);
		}
		text_row(r, "total", -1, &tot.side[SIDE_ALL]);
		if (mixed) {
			text_row(r, "  read", -1, &tot.side[SIDE_READ]);
			text_row(r, "  write", -1, &tot.side[SIDE_WRITE]);
		}
		printf("\n%" PRIu64 " I/Os (%" PRIu64 " reads, %" PRIu64 " writes) in %.3f s%s%s\n",
		       tot.side[SIDE_ALL].ios, tot.side[SIDE_READ].ios, tot.side[SIDE_WRITE].ios, tot.secs,
		       r->signal ? ", stopped by " : "", r->signal ? signal_name(r->signal) : "");
		warmup_text(r);
		text_coarse(r, mixed ? "all I/Os:" : "I/Os:", tot.side[SIDE_ALL].h);
		if (mixed) {
			text_coarse(r, "reads:", tot.side[SIDE_READ].h);
			text_coarse(r, "writes:", tot.side[SIDE_WRITE].h);
		}
		for (unsigned i = 0; i < r->nr_workers; i++) {
			const struct nvp_qpair_stats *q = &ts[i].q;

			printf("thread %u: %.2f submissions per SQ doorbell, %.2f completions per poll that found work, "
			       "%" PRIu64 " polls found nothing (%.2f per I/O)%s\n",
			       i, ratio(q->submitted, q->sq_doorbells), ratio(q->completed, q->polls - q->polls_empty),
			       q->polls_empty, ratio(q->polls_empty, q->completed), q->bad_cqes ? ", BAD CQEs seen" : "");
		}
		if (cfg->rate)
			printf("rate: %" PRIu64 " IOPS per thread; %" PRIu64 " commands left over one interval late "
			       "(all %u slots busy)%s\n", cfg->rate, tot.c.late, cfg->depth,
			       tot.c.late ? ": the controller did not keep up, latencies include the wait" : "");
		if (PERF_ZONED(cfg->mode))
			printf("zones: %" PRIu64 " written full, %" PRIu64 " reset for reuse, %" PRIu64 " reset before "
			       "the run (not Empty)\n", tot.c.zfull, tot.c.zreset, tot.zprep);
		if (cfg->verify)
			printf("verify: %" PRIu64 " LBAs read and checked, %" PRIu64 " read that no --verify run wrote%s\n",
			       tot.c.verified, tot.c.unwritten, failed ? "" : ", no mismatch");
		if (cfg->hist)
			hist_text(r, tot.side[SIDE_ALL].h);
	}
	fflush(stdout);
out:
	for (unsigned i = 0; ts && i < r->nr_workers; i++)
		stats_fini(&ts[i]);
	for (unsigned i = 0; tt && i < r->nr_targets; i++)
		stats_fini(&tt[i]);
	stats_fini(&tot);
	free(ts);
	free(tt);
}

void perf_progress(const struct perf_run *r, struct perf_progress_state *p, uint64_t now)
{
	uint64_t ios = 0, lat = 0;
	double dt = (double)(now - p->last_t) / 1e9, elapsed = (double)(now - p->t0) / 1e9, iops, mibps, mean;
	int warmup = elapsed <= r->cfg.warmup_s;

	for (unsigned i = 0; i < r->nr_workers; i++) {
		ios += nvp_load_relaxed(&r->w[i].pub_ios); /* progress only: see worker_loop() */
		lat += nvp_load_relaxed(&r->w[i].pub_lat);
	}
	iops = dt > 0 ? (double)(ios - p->last_ios) / dt : 0;
	mibps = iops * (double)r->cfg.io_size / 1048576.0;
	mean = ios > p->last_ios ? (double)(lat - p->last_lat) / (double)(ios - p->last_ios) * r->clk.ns_per_tick / 1000 : 0;
	if (r->cfg.json)
		printf("{\"status\":{\"elapsed_s\":%.3f,\"phase\":\"%s\",\"ios\":%" PRIu64 ",\"iops\":%.1f,"
		       "\"mibps\":%.3f,\"mean_us\":%.3f}}\n", elapsed, warmup ? "warmup" : "measure", ios, iops, mibps, mean);
	else
		printf("[%7.1f s%s] %10.0f IOPS %9.2f MiB/s  mean %8.2f us\n", elapsed, warmup ? " warmup" : "", iops, mibps,
		       mean);
	fflush(stdout);
	p->last_t = now;
	p->last_ios = ios;
	p->last_lat = lat;
}

void perf_print_header(const struct perf_run *r)
{
	const struct perf_cfg *cfg = &r->cfg;

	for (unsigned i = 0; i < r->nr_targets; i++) {
		const struct perf_target *t = &r->t[i];
		char tag[24] = "";

		if (r->nr_targets > 1)
			snprintf(tag, sizeof(tag), "target%u ", i);
		printf("nvpoll-perf: %s%s (%s%s), nsid %u, %u-byte LBAs, LBAs %" PRIu64 "..%" PRIu64, tag, t->uri,
		       nvp_dev_backend(t->ctrl->dev), nvp_dev_shadow_doorbells(t->ctrl->dev) ? ", shadow doorbells" : "",
		       t->nsid, t->info->lba_size, t->win_start, t->win_start + t->win_lbas - 1);
		if (r->nr_targets > 1) {
			printf(", thread%s", t->nr_threads == 1 ? "" : "s");
			for (unsigned j = i; j < r->nr_workers; j += r->nr_targets)
				printf("%s%u", j == i ? " " : ",", j);
		}
		printf("\n");
	}
	printf("%s", perf_mode_names[cfg->mode]);
	if (cfg->mode == MODE_RW || cfg->mode == MODE_RANDRW)
		printf(" (%u%% reads)", cfg->read_pct);
	if (PERF_ZONED(cfg->mode))
		printf(" (%u open zone%s per thread of %" PRIu64 ", %" PRIu64 " LBAs each)", cfg->open_zones,
		       cfg->open_zones == 1 ? "" : "s", r->t[0].zones_per_thread, r->t[0].info->zone_size);
	printf(", %" PRIu64 " bytes, QD %u, %u thread%s, ", cfg->io_size, cfg->depth, cfg->threads,
	       cfg->threads == 1 ? "" : "s");
	if (cfg->count)
		printf("%" PRIu64 " I/Os", cfg->count);
	else
		printf("%g s", cfg->time_s);
	if (cfg->warmup_s > 0)
		printf(" after %g s warmup", cfg->warmup_s);
	if (cfg->rate)
		printf(", %" PRIu64 " IOPS per thread", cfg->rate);
	if (cfg->zipf_theta > 0)
		printf(", zipf:%g", cfg->zipf_theta);
	printf("%s, clock %s\n", cfg->verify ? ", verify" : "", cfg->use_tsc ? "tsc" : "monotonic");
	fflush(stdout);
}
