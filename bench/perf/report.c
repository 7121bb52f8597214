/* SPDX-License-Identifier: MIT */
/* nvpoll-perf's output: the header, the progress line, and the summary in text or JSON. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "perf.h"
#include "tool.h"

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

void perf_report(const struct perf_run *r, int failed)
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
		tool_json_str(cfg->uri);
		printf(",\"backend\":\"%s\",\"doorbells\":\"%s\",\"nsid\":%u,\"lba_size\":%u,\"config\":{\"workload\":\"%s\",\"read_pct\":%u,"
		       "\"io_size\":%" PRIu64 ",\"queue_depth\":%u,\"threads\":%u,\"time_s\":%.3f,\"count\":%" PRIu64
		       ",\"warmup_s\":%.3f,\"range\":{\"start_lba\":%" PRIu64 ",\"end_lba\":%" PRIu64
		       "},\"verify\":%s,\"clock\":\"%s\",\"seed\":%" PRIu64 "},\"interrupted\":%s,\"signal\":%s%s%s,"
		       "\"left_warmup\":%s,\"failed\":%s,",
		       nvp_dev_backend(r->dev), nvp_dev_shadow_doorbells(r->dev) ? "shadow" : "registers", r->nsid,
		       r->info->lba_size, perf_mode_names[cfg->mode], cfg->read_pct,
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

void perf_progress(const struct perf_run *r, unsigned sec, uint64_t *last_ios, uint64_t *last_lat)
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

void perf_print_header(const struct perf_run *r)
{
	const struct perf_cfg *cfg = &r->cfg;

	printf("nvpoll-perf: %s (%s%s), nsid %u, %u-byte LBAs, LBAs %" PRIu64 "..%" PRIu64 "\n", cfg->uri,
	       nvp_dev_backend(r->dev), nvp_dev_shadow_doorbells(r->dev) ? ", shadow doorbells" : "", r->nsid,
	       r->info->lba_size, r->win_start, r->win_start + r->win_lbas - 1);
	printf("%s", perf_mode_names[cfg->mode]);
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

