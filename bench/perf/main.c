/* SPDX-License-Identifier: MIT */
/*
 * nvpoll-perf, a run in order: the options, the device opened and checked
 * against them, one worker per thread set up, the threads run, the summary.
 * See perf.h for where each part lives.
 */
#include <stdio.h>
#include <stdlib.h>

#include "perf.h"
#include "tool.h"

int main(int argc, char **argv)
{
	struct perf_run r = { 0 };
	struct nvp_opts opts;
	int rc, failed = 0;

	rc = perf_parse_args(argc, argv, &r.cfg);
	if (!rc)
		rc = perf_plan_targets(&r);
	if (rc)
		return rc;
	perf_catch_stop_signals();

	perf_clock_start(&r.clk, r.cfg.use_tsc);
	nvp_opts_init(&opts);
	opts.be = r.cfg.be;
	opts.mem = r.cfg.mem;
	opts.shadow_doorbells = (unsigned)r.cfg.shadow_doorbells;
	opts.kernel_iopoll = (unsigned)r.cfg.iopoll;
	for (unsigned i = 0; i < r.nr_ctrls; i++) {
		struct perf_ctrl *c = &r.ctrls[i];
		struct nvp_opts o = opts;

		if (c->nr_threads > o.nr_io_queues)
			o.nr_io_queues = c->nr_threads;
		c->dev = nvp_dev_open(c->key, &o);
		if (!c->dev) {
			fprintf(stderr, "nvpoll-perf: %s%s%s\n", r.nr_ctrls > 1 ? c->key : "", r.nr_ctrls > 1 ? ": " : "",
				tool_errmsg());
			perf_close_devices(&r);
			return PERF_EXIT_FAIL;
		}
	}
	rc = perf_check_device(&r);
	if (rc) {
		perf_close_devices(&r);
		return rc;
	}
	perf_clock_calibrate(&r.clk, 20);

	r.w = calloc(r.cfg.threads, sizeof(*r.w));
	if (!r.w) {
		fprintf(stderr, "nvpoll-perf: out of memory\n");
		perf_close_devices(&r);
		return PERF_EXIT_FAIL;
	}
	for (unsigned i = 0; i < r.cfg.threads; i++) {
		r.nr_workers = i + 1;
		rc = perf_setup_worker(&r, &r.w[i], i);
		if (rc) {
			perf_teardown(&r);
			return rc == PERF_EXIT_USAGE ? PERF_EXIT_USAGE : PERF_EXIT_FAIL;
		}
	}
	if (!r.cfg.json)
		perf_print_header(&r);
	if (!nvp_load_relaxed(&perf_stop)) /* SIGINT before the run: a flag alone */
		perf_run_threads(&r);
	/* Over the whole run, the TSC's rate is known to a few parts per million. */
	perf_clock_calibrate(&r.clk, 0);
	r.signal = perf_signal;
	for (unsigned i = 0; i < r.nr_workers; i++)
		failed |= r.w[i].failed;
	perf_report(&r, failed);
	perf_teardown(&r);
	if (failed)
		return PERF_EXIT_FAIL;
	return r.signal ? PERF_EXIT_SIGNAL + r.signal : 0;
}
