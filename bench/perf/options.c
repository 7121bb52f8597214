/* SPDX-License-Identifier: MIT */
/*
 * nvpoll-perf's command line: --help, each option parsed and checked, and
 * then (perf_check_device) what the opened device allows of them.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "perf.h"
#include "tool.h"

static const char usage_text[] =
	"usage: nvpoll-perf DEVICE... [options]\n"
	"\n"
	"DEVICE is a PCI address (0000:00:05.0, optionally /ns=N) bound to vfio-pci, a kernel namespace\n"
	"node (/dev/ngXnY, /dev/nvmeXnY), sim[:options] or nil[:options]. Several DEVICEs (or -r DEVICE,\n"
	"as spdk_nvme_perf takes them) and several --nsid entries make several targets in one run; the\n"
	"threads are dealt to them in turn, and a controller named twice is opened once.\n"
	"\n"
	"workload:\n"
	"  -q, --depth N        commands in flight per thread (default 32)\n"
	"  -o, --size BYTES     I/O size, a multiple of the LBA size; K/M suffixes (default 4096)\n"
	"  -w, --workload W     read, write, randread, randwrite, rw, randrw (default randread); on a\n"
	"                       zoned namespace zwrite (at each zone's write pointer, one write in\n"
	"                       flight per zone: -q zones open per thread) or zappend (Zone Append)\n"
	"      --open-zones N   zappend: zones appended to at a time per thread, -q spread over them\n"
	"                       (default 1)\n"
	"  -M, --mix PCT        reads in percent for rw and randrw (default 50)\n"
	"  -t, --time TIME      measure for this long: seconds, or with us, ms, s, m, h (10, 500ms, 2m;\n"
	"                       default 10s)\n"
	"  -n, --count N        or: measure exactly N I/Os (split over the threads)\n"
	"      --warmup TIME    run this long before measuring, units as for -t (default 0)\n"
	"  -T, --threads N      threads, each with its own qpair (default one per target, or one per\n"
	"                       --cpus entry); at least one per target\n"
	"      --cpus LIST      pin thread i to the i-th CPU of LIST, e.g. 1,3-5 (default: not pinned)\n"
	"  -r, --target DEVICE  one more target, as a DEVICE argument is\n"
	"      --nsid LIST      namespaces, e.g. 1 or 1,2: each DEVICE's (default 1, or its /ns=N)\n"
	"      --range A:B      LBAs A .. B-1; or a size from LBA 0, e.g. 64M (default: whole namespace)\n"
	"      --verify         writes carry LBA + sequence headers, reads check them; write-only\n"
	"                       workloads read each block back after writing it\n"
	"      --seed N         random seed (default: from the clock)\n"
	"      --rate IOPS      per thread, commands spread evenly in time; latency counts from when\n"
	"                       each was due (default: as fast as the queue depth allows)\n"
	"      --random-dist D  uniform or zipf:THETA, e.g. zipf:0.99, for the random workloads\n"
	"                       (default uniform)\n"
	"\n"
	"device:\n"
	"      --be NAME        backend config: vfio-pci, uio-generic, sim (default: by device)\n"
	"      --mem KIND       DMA memory: hugepages or libc (default: the config's)\n"
	"      --shadow-doorbells  use shadow doorbells (Doorbell Buffer Config) if the controller offers them\n"
	"      --iopoll            io_uring, io_uring_cmd: polled completions (the nvme driver needs poll queues)\n"
	"\n"
	"output:\n"
	"      --json           one JSON document on stdout instead of the text report\n"
	"      --status-interval TIME  a progress line every TIME (default: every second on a terminal,\n"
	"                       none otherwise); with --json one JSON object per line before the summary\n"
	"      --hist           also print the latency histogram's buckets\n"
	"      --clock KIND     tsc or monotonic (default: tsc on x86-64)\n"
	"      --yield          sched_yield() after a poll that found nothing (oversubscribed CPUs)\n"
	"      --version        the version of nvpoll this was built from\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 done, 1 device, I/O or verify failure, 2 bad options, 130 stopped by SIGINT,\n"
	"143 by SIGTERM (the summary is still printed; further signals do not cut it short).\n";

const char *const perf_mode_names[] = { "read", "write", "randread", "randwrite", "rw", "randrw", "zwrite", "zappend" };

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

/*
 * A duration: a number with an optional unit, us, ms, s, m or h (none:
 * seconds), such as 10, 2.5s, 500ms, 2m. Negative, NaN, infinite or past
 * about four months: -1.
 */
int perf_parse_duration(const char *s, double *out)
{
	static const struct { const char *name; double secs; } units[] = {
		{ "", 1 }, { "s", 1 }, { "ms", 1e-3 }, { "us", 1e-6 }, { "m", 60 }, { "h", 3600 },
	};
	char *end;
	double v;

	if (!s || !*s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v >= 0))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].name) == 0) {
			v *= units[i].secs;
			if (!(v <= 1e7))
				return -1;
			*out = v;
			return 0;
		}
	}
	return -1;
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

/* "1" or "1,2,4": namespace ids, each once. */
static int parse_nsids(const char *s, struct perf_cfg *cfg)
{
	char buf[256], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf) || !*s)
		return usage_error("--nsid '%s': expected namespace ids such as 1 or 1,2", s);
	snprintf(buf, sizeof(buf), "%s", s);
	cfg->nr_nsids = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (tool_parse_u64(tok, TOOL_NUM_DECIMAL, 0xfffffffe, &v) || v == 0)
			return usage_error("--nsid '%s': '%s' is not a namespace id 1..4294967294", s, tok);
		for (unsigned i = 0; i < cfg->nr_nsids; i++)
			if (cfg->nsids[i] == v)
				return usage_error("--nsid '%s': namespace %" PRIu64 " given twice", s, v);
		if (cfg->nr_nsids == PERF_MAX_TARGETS)
			return usage_error("--nsid '%s': at most %d namespaces", s, PERF_MAX_TARGETS);
		cfg->nsids[cfg->nr_nsids++] = (uint32_t)v;
	}
	if (s[strlen(s) - 1] == ',' || strstr(s, ",,") || s[0] == ',')
		return usage_error("--nsid '%s': expected namespace ids such as 1 or 1,2", s);
	return 0;
}

static int uri_ok(const char *uri);

static int add_uri(struct perf_cfg *cfg, const char *uri)
{
	if (!uri_ok(uri))
		return usage_error("'%s' is not a device: use a PCI address such as 0000:00:05.0 (optionally /ns=N), "
				   "/dev/ngXnY, /dev/nvmeXnY, sim[:options], nil[:options] or tcp://HOST[:PORT]/NQN", uri);
	if (cfg->nr_uris == PERF_MAX_TARGETS)
		return usage_error("at most %d devices", PERF_MAX_TARGETS);
	cfg->uris[cfg->nr_uris++] = uri;
	return 0;
}

/* uniform, or zipf:THETA with 0 < THETA <= 100 */
static int parse_random_dist(const char *s, struct perf_cfg *cfg)
{
	char *end;

	if (strcmp(s, "uniform") == 0) {
		cfg->zipf_theta = 0;
		return 0;
	}
	if (strncmp(s, "zipf:", 5) == 0 && s[5] >= '0' && s[5] <= '9') {
		errno = 0;
		cfg->zipf_theta = strtod(s + 5, &end);
		if (!errno && !*end && cfg->zipf_theta > 0 && cfg->zipf_theta <= 100)
			return 0;
	}
	return usage_error("--random-dist '%s': expected uniform or zipf:THETA with THETA above 0 and at most 100 "
			   "(e.g. zipf:0.99)", s);
}

static int parse_range(const char *s, struct perf_cfg *cfg)
{
	const char *colon = strchr(s, ':');

	if (!colon) {
		if (tool_parse_size(s, &cfg->range_a) || cfg->range_a == 0)
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
		if (tool_parse_u64(a, TOOL_NUM_DECIMAL, UINT64_MAX, &cfg->range_a) ||
		    tool_parse_u64(colon + 1, TOOL_NUM_DECIMAL, UINT64_MAX, &cfg->range_b))
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

	if ((strncmp(uri, "sim", 3) == 0 || strncmp(uri, "nil", 3) == 0) &&
	    (uri[3] == '\0' || uri[3] == ':' || uri[3] == '/'))
		return 1; /* options and /ns=N: the library names what is wrong */
	if (strncmp(uri, "/dev/ng", 7) == 0 || strncmp(uri, "/dev/nvme", 9) == 0 || strncmp(uri, "tcp://", 6) == 0)
		return 1; /* a kernel namespace node or an NVMe/TCP target: the library says if it is not one */
	if (sscanf(uri, "%4x:%2x:%2x.%1x%n", &a, &b, &c, &d, &n) != 4 || n == 0) {
		n = 0;
		if (sscanf(uri, "%2x:%2x.%1x%n", &a, &b, &c, &n) != 3 || n == 0)
			return 0;
	}
	return uri[n] == '\0' || (strncmp(uri + n, "/ns=", 4) == 0 && uri[n + 4] >= '1' && uri[n + 4] <= '9');
}

int perf_parse_args(int argc, char **argv, struct perf_cfg *cfg)
{
	enum { O_WARMUP = 256, O_CPUS, O_NSID, O_RANGE, O_VERIFY, O_SEED, O_BE, O_MEM, O_JSON, O_HIST,
	       O_CLOCK, O_YIELD, O_SHADOW_DB, O_IOPOLL, O_STATUS, O_RATE, O_RANDOM_DIST, O_VERSION, O_OPEN_ZONES };
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
		{ "status-interval", required_argument, NULL, O_STATUS }, { "rate", required_argument, NULL, O_RATE },
		{ "random-dist", required_argument, NULL, O_RANDOM_DIST }, { "target", required_argument, NULL, 'r' },
		{ "version", no_argument, NULL, O_VERSION }, { "open-zones", required_argument, NULL, O_OPEN_ZONES },
		{ NULL, 0, NULL, 0 },
	};
	int have_time = 0, have_seed = 0, c, rc;
	unsigned nr_targets;
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
	while ((c = getopt_long(argc, argv, "-:q:o:w:M:t:n:T:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			if (tool_parse_u64(optarg, TOOL_NUM_DECIMAL, 65535, &v) || v == 0)
				return usage_error("-q '%s': expected a queue depth 1..65535", optarg);
			cfg->depth = (unsigned)v;
			break;
		case 'o':
			if (tool_parse_size(optarg, &v) || v == 0 || v % 512 || v > (1u << 30))
				return usage_error("-o '%s': expected an I/O size in bytes, a multiple of 512 (e.g. 4096 or 4k)",
						   optarg);
			cfg->io_size = v;
			break;
		case 'w': {
			unsigned i;

			for (i = 0; i < sizeof(perf_mode_names) / sizeof(perf_mode_names[0]); i++)
				if (strcmp(optarg, perf_mode_names[i]) == 0)
					break;
			if (i == sizeof(perf_mode_names) / sizeof(perf_mode_names[0]))
				return usage_error("-w '%s': expected read, write, randread, randwrite, rw, randrw, zwrite or "
						   "zappend", optarg);
			cfg->mode = (enum perf_mode)i;
			break;
		}
		case 'M':
			if (tool_parse_u64(optarg, TOOL_NUM_DECIMAL, 100, &v))
				return usage_error("-M '%s': expected a read percentage 0..100", optarg);
			cfg->read_pct = (unsigned)v;
			cfg->have_mix = 1;
			break;
		case 't':
			if (perf_parse_duration(optarg, &cfg->time_s) || cfg->time_s <= 0)
				return usage_error("-t '%s': expected a time above 0: seconds, or a number with us, ms, s, m "
						   "or h (10, 2.5s, 500ms, 2m)", optarg);
			have_time = 1;
			break;
		case 'n':
			if (tool_parse_u64(optarg, TOOL_NUM_DECIMAL, UINT64_MAX, &cfg->count) || cfg->count == 0)
				return usage_error("-n '%s': expected a count of I/Os, at least 1", optarg);
			break;
		case 'T':
			if (tool_parse_u64(optarg, TOOL_NUM_DECIMAL, PERF_MAX_THREADS, &v) || v == 0)
				return usage_error("-T '%s': expected 1..%d threads", optarg, PERF_MAX_THREADS);
			cfg->threads = (unsigned)v;
			cfg->have_threads = 1;
			break;
		case O_WARMUP:
			if (perf_parse_duration(optarg, &cfg->warmup_s))
				return usage_error("--warmup '%s': expected a time, 0 or more: seconds, or a number with us, ms, "
						   "s, m or h (10, 2.5s, 500ms, 2m)", optarg);
			break;
		case O_STATUS:
			if (perf_parse_duration(optarg, &cfg->status_s) || cfg->status_s < 0.01)
				return usage_error("--status-interval '%s': expected a time of at least 10ms: seconds, or a "
						   "number with us, ms, s, m or h (1, 500ms, 1m)", optarg);
			break;
		case O_RATE:
			if (tool_parse_u64(optarg, TOOL_NUM_DECIMAL, 1000000000, &cfg->rate) || cfg->rate == 0)
				return usage_error("--rate '%s': expected IOPS per thread, 1..1000000000", optarg);
			break;
		case O_OPEN_ZONES:
			if (tool_parse_u64(optarg, TOOL_NUM_DECIMAL, 65535, &v) || v == 0)
				return usage_error("--open-zones '%s': expected a number of zones 1..65535", optarg);
			cfg->open_zones = (unsigned)v;
			break;
		case O_RANDOM_DIST:
			rc = parse_random_dist(optarg, cfg);
			if (rc)
				return rc;
			break;
		case O_CPUS:
			rc = parse_cpus(optarg, cfg);
			if (rc)
				return rc;
			break;
		case O_NSID:
			rc = parse_nsids(optarg, cfg);
			if (rc)
				return rc;
			break;
		case 1:	/* a DEVICE argument ("-" in the option string: in order among the -r ones) */
		case 'r':
			rc = add_uri(cfg, optarg);
			if (rc)
				return rc;
			break;
		case O_RANGE:
			rc = parse_range(optarg, cfg);
			if (rc)
				return rc;
			break;
		case O_VERIFY: cfg->verify = 1; break;
		case O_SEED:
			if (tool_parse_u64(optarg, TOOL_NUM_DECIMAL, UINT64_MAX, &cfg->seed))
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
		case O_VERSION: printf("nvpoll-perf (nvpoll) %s\n", PERF_VERSION); exit(0);
		case ':': return usage_error("option %s needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option -%c", optopt);
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	for (int i = optind; i < argc; i++) { /* after "--" */
		rc = add_uri(cfg, argv[i]);
		if (rc)
			return rc;
	}
	if (cfg->nr_uris == 0)
		return usage_error("no device given: nvpoll-perf DEVICE [options], DEVICE a PCI address or sim");
	nr_targets = cfg->nr_uris * (cfg->nr_nsids ? cfg->nr_nsids : 1);
	if (nr_targets > PERF_MAX_TARGETS)
		return usage_error("%u devices times %u namespaces is %u targets: at most %d", cfg->nr_uris,
				   cfg->nr_nsids, nr_targets, PERF_MAX_TARGETS);
	if (have_time && cfg->count)
		return usage_error("-t and -n exclude each other: measure for a time or for a count");
	if (cfg->have_mix && cfg->mode != MODE_RW && cfg->mode != MODE_RANDRW)
		return usage_error("-M applies to -w rw and -w randrw only");
	if (cfg->mode == MODE_READ || cfg->mode == MODE_RANDREAD)
		cfg->read_pct = 100;
	else if (cfg->mode == MODE_WRITE || cfg->mode == MODE_RANDWRITE || PERF_ZONED(cfg->mode))
		cfg->read_pct = 0;
	if (cfg->open_zones && cfg->mode != MODE_ZAPPEND)
		return usage_error("--open-zones applies to -w zappend only%s", cfg->mode == MODE_ZWRITE ?
				   " (zwrite keeps one write in flight per zone: -q is its number of open zones)" : "");
	if (cfg->mode == MODE_ZWRITE)
		cfg->open_zones = cfg->depth;
	else if (cfg->mode == MODE_ZAPPEND && !cfg->open_zones)
		cfg->open_zones = 1;
	if (cfg->open_zones > cfg->depth)
		return usage_error("--open-zones %u is more zones than the %u commands in flight (-q): zones with "
				   "nothing in flight are not written", cfg->open_zones, cfg->depth);
	if (PERF_ZONED(cfg->mode) && cfg->rate)
		return usage_error("--rate does not apply to -w %s: it keeps -q commands in flight",
				   perf_mode_names[cfg->mode]);
	if (cfg->zipf_theta > 0 && cfg->mode != MODE_RANDREAD && cfg->mode != MODE_RANDWRITE && cfg->mode != MODE_RANDRW)
		return usage_error("--random-dist applies to randread, randwrite and randrw only");
	if (cfg->nr_cpus && !cfg->have_threads)
		cfg->threads = cfg->nr_cpus;
	else if (!cfg->have_threads)
		cfg->threads = nr_targets;
	if (cfg->threads < nr_targets)
		return usage_error("%u threads for %u targets: each target needs a thread of its own (-T %u at least)",
				   cfg->threads, nr_targets, nr_targets);
	if (cfg->count && cfg->count < cfg->threads)
		return usage_error("-n %" PRIu64 " is fewer I/Os than the %u threads", cfg->count, cfg->threads);
	if (!have_seed)
		cfg->seed = mono_ns() ^ ((uint64_t)getpid() << 32);
	return 0;
}

/*
 * The controller a URI names: the URI without a trailing /ns=N (the last
 * one, as the library reads it: a sim file= path may hold one), whose N
 * goes to @nsid; a kernel node as it is (its namespace is the node's).
 */
static void ctrl_key(const char *uri, char *key, size_t size, uint32_t *nsid)
{
	const char *ns = NULL, *p = uri;
	size_t digits;

	while ((p = strstr(p, "/ns=")))
		ns = p++;
	*nsid = 0;
	digits = ns ? strspn(ns + 4, "0123456789") : 0;
	/* A bad id (0, too large) is left in: the library's open says what is wrong with it. */
	if (ns && strncmp(uri, "/dev/", 5) != 0 && digits && digits <= 10 && ns[4 + digits] == '\0' &&
	    strtoull(ns + 4, NULL, 10) - 1 < 0xfffffffeull) {
		*nsid = (uint32_t)strtoul(ns + 4, NULL, 10);
		snprintf(key, size, "%.*s", (int)(ns - uri), uri);
	} else {
		snprintf(key, size, "%s", uri);
	}
}

int perf_plan_targets(struct perf_run *r)
{
	const struct perf_cfg *cfg = &r->cfg;

	for (unsigned u = 0; u < cfg->nr_uris; u++) {
		char key[sizeof(r->ctrls[0].key)];
		struct perf_ctrl *c = NULL;
		uint32_t uri_nsid;

		if (strlen(cfg->uris[u]) >= sizeof(key))
			return usage_error("'%s': device name too long", cfg->uris[u]);
		ctrl_key(cfg->uris[u], key, sizeof(key), &uri_nsid);
		for (unsigned i = 0; i < r->nr_ctrls && !c; i++)
			if (strcmp(r->ctrls[i].key, key) == 0)
				c = &r->ctrls[i];
		if (!c) {
			c = &r->ctrls[r->nr_ctrls++];
			snprintf(c->key, sizeof(c->key), "%s", key);
		}
		for (unsigned n = 0; n < (cfg->nr_nsids ? cfg->nr_nsids : 1); n++) {
			struct perf_target *t = &r->t[r->nr_targets++];

			t->uri = cfg->uris[u];
			t->ctrl = c;
			/* --nsid, else the URI's /ns=N; 0 here: the device's own (a namespace node), else 1. */
			t->nsid = cfg->nr_nsids ? cfg->nsids[n] : uri_nsid;
			/* Known before the device opens: said before it is touched. */
			for (const struct perf_target *o = r->t; t->nsid && o < t; o++)
				if (o->ctrl == c && o->nsid == t->nsid)
					return usage_error("%s: namespace %u of %s is a target twice (%s): name each once",
							   t->uri, t->nsid, c->key, o->uri);
		}
	}
	for (unsigned i = 0; i < cfg->threads; i++) {
		r->t[i % r->nr_targets].nr_threads++;
		r->t[i % r->nr_targets].ctrl->nr_threads++;
	}
	return 0;
}

/*
 * Zoned workloads need a zoned namespace, and a zoned namespace takes no
 * other writes (they must land at a write pointer); the window is whole
 * zones, shared out between the target's threads, and the zones open at a
 * time must fit the namespace's open and active limits.
 */
static int check_zoned(struct perf_run *r, struct perf_target *t, uint64_t io_lbas)
{
	const struct perf_cfg *cfg = &r->cfg;
	const struct nvp_ns_info *info = t->info;
	const char *mode = perf_mode_names[cfg->mode];
	uint64_t open = (uint64_t)cfg->open_zones * t->nr_threads;

	if (info->csi != NVME_CSI_ZNS)
		return usage_error("-w %s: %s: namespace %u is not zoned (command set %u, not ZNS %u); zoned workloads "
				   "need a zoned namespace (for the sim: sim:zoned=1)", mode, t->uri, t->nsid, info->csi,
				   NVME_CSI_ZNS);
	if (!PERF_ZONED(cfg->mode)) {
		if (cfg->read_pct == 100)
			return 0; /* reads go anywhere */
		return usage_error("-w %s: %s: namespace %u is zoned: writes must land at each zone's write pointer; "
				   "use -w zwrite or -w zappend (or a read workload)", mode, t->uri, t->nsid);
	}
	if (t->win_start % info->zone_size)
		return usage_error("--range: LBA %" PRIu64 " is not the start of a zone (zones of %" PRIu64 " LBAs): "
				   "zoned workloads write whole zones", t->win_start, info->zone_size);
	if (info->zone_size % io_lbas)
		return usage_error("-o %" PRIu64 ": %" PRIu64 " LBAs per I/O do not divide the zone size, %" PRIu64
				   " LBAs", cfg->io_size, io_lbas, info->zone_size);
	if (cfg->mode == MODE_ZAPPEND && cfg->io_size > info->zone_append_max)
		return usage_error("-o %" PRIu64 ": a Zone Append carries at most %u bytes on this controller (ZASL)",
				   cfg->io_size, info->zone_append_max);
	t->zones_per_thread = t->win_lbas / info->zone_size / t->nr_threads;
	if (t->zones_per_thread < cfg->open_zones)
		return usage_error("-w %s: %u open zones per thread (%s) but the window holds %" PRIu64 " whole zones "
				   "of %" PRIu64 " LBAs per thread (%u threads): widen --range, or lower %s or -T",
				   mode, cfg->open_zones, cfg->mode == MODE_ZWRITE ? "-q" : "--open-zones",
				   t->zones_per_thread, info->zone_size, t->nr_threads,
				   cfg->mode == MODE_ZWRITE ? "-q" : "--open-zones");
	if (info->max_open_zones && open > info->max_open_zones)
		return usage_error("-w %s: %u open zones per thread times %u threads is %" PRIu64 "; namespace %u allows "
				   "%u open zones (MOR): lower %s or -T", mode, cfg->open_zones, t->nr_threads, open,
				   t->nsid, info->max_open_zones, cfg->mode == MODE_ZWRITE ? "-q" : "--open-zones");
	if (info->max_active_zones && open > info->max_active_zones)
		return usage_error("-w %s: %u open zones per thread times %u threads is %" PRIu64 "; namespace %u allows "
				   "%u active zones (MAR): lower %s or -T", mode, cfg->open_zones, t->nr_threads, open,
				   t->nsid, info->max_active_zones, cfg->mode == MODE_ZWRITE ? "-q" : "--open-zones");
	return 0;
}

static int check_target(struct perf_run *r, struct perf_target *t)
{
	const struct perf_cfg *cfg = &r->cfg;
	struct nvp_dev *dev = t->ctrl->dev;
	uint64_t nsze, io_lbas, slice;

	if (!t->nsid)
		t->nsid = nvp_dev_nsid(dev) ? nvp_dev_nsid(dev) : 1;
	for (const struct perf_target *o = r->t; o < t; o++)
		if (o->ctrl == t->ctrl && o->nsid == t->nsid)
			return usage_error("%s: namespace %u of %s is a target twice (%s): name each once", t->uri, t->nsid,
					   t->ctrl->key, o->uri);
	t->ns = nvp_ns_get(dev, t->nsid);
	if (!t->ns)
		return usage_error("%s: namespace %u: %s", t->uri, t->nsid, tool_errmsg());
	t->info = nvp_ns_info(t->ns);
	nsze = t->info->nsze;
	if (cfg->io_size % t->info->lba_size)
		return usage_error("-o %" PRIu64 ": namespace %u has %u-byte LBAs; use a multiple of that",
				   cfg->io_size, t->nsid, t->info->lba_size);
	if (cfg->io_size > nvp_dev_max_xfer(dev))
		return usage_error("-o %" PRIu64 ": the controller moves at most %zu bytes per command (MDTS)",
				   cfg->io_size, nvp_dev_max_xfer(dev));
	if (cfg->depth + 1 > nvp_dev_max_queue_depth(dev))
		return usage_error("-q %u: the controller's queues hold %u entries, so -q %u at most", cfg->depth,
				   nvp_dev_max_queue_depth(dev), nvp_dev_max_queue_depth(dev) - 1);
	switch (cfg->range_kind) {
	case 1:
		if (cfg->range_b > nsze)
			return usage_error("--range %" PRIu64 ":%" PRIu64 ": namespace %u has %" PRIu64 " LBAs",
					   cfg->range_a, cfg->range_b, t->nsid, nsze);
		t->win_start = cfg->range_a;
		t->win_lbas = cfg->range_b - cfg->range_a;
		break;
	case 2:
		if (cfg->range_a % t->info->lba_size || cfg->range_a / t->info->lba_size > nsze)
			return usage_error("--range %" PRIu64 " bytes: namespace %u has %" PRIu64 " LBAs of %u bytes "
					   "(%" PRIu64 " bytes); give a multiple of the LBA size up to that",
					   cfg->range_a, t->nsid, nsze, t->info->lba_size, nsze * t->info->lba_size);
		t->win_start = 0;
		t->win_lbas = cfg->range_a / t->info->lba_size;
		break;
	default:
		t->win_start = 0;
		t->win_lbas = nsze;
	}
	io_lbas = cfg->io_size / t->info->lba_size;
	if (t->info->csi == NVME_CSI_ZNS || PERF_ZONED(cfg->mode)) {
		int rc = check_zoned(r, t, io_lbas);

		if (rc)
			return rc;
	}
	slice = t->win_lbas / t->nr_threads;
	t->slice_blocks = slice / io_lbas;
	if (PERF_ZONED(cfg->mode))
		t->slice_blocks = t->zones_per_thread * t->info->zone_size / io_lbas;
	if (t->slice_blocks == 0)
		return usage_error("the window of %" PRIu64 " LBAs holds no %" PRIu64 "-byte I/O per thread (%u threads)",
				   t->win_lbas, cfg->io_size, t->nr_threads);
	if (cfg->verify && !PERF_ZONED(cfg->mode) && t->slice_blocks <= cfg->depth)
		return usage_error("--verify needs more blocks per thread (%" PRIu64 ") than commands in flight (-q %u): "
				   "widen --range or lower -q", t->slice_blocks, cfg->depth);
	if (cfg->verify && t->slice_blocks > PERF_VERIFY_MAX_BLOCKS)
		return usage_error("--verify keeps 5 bytes per block: %" PRIu64 " blocks per thread is too many, "
				   "narrow the window with --range", t->slice_blocks);
	return 0;
}

int perf_check_device(struct perf_run *r)
{
	for (unsigned i = 0; i < r->nr_targets; i++) {
		int rc = check_target(r, &r->t[i]);

		if (rc)
			return rc;
	}
	return 0;
}
