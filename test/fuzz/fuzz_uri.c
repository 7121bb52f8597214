/* SPDX-License-Identifier: MIT */
/*
 * Device URIs and the sim's option string, from arbitrary bytes: the
 * parsers must accept exactly what they document, and an accepted sim
 * option string must bring up a controller that is what it asked for.
 *
 *   nvp_uri_parse()      "0000:00:05.0[/ns=N]", "00:05.0", "sim[:options][/ns=N]"
 *   nvp_pci_bdf_parse()  the BDF alone
 *   sim_cfg_parse()      "key=value,..." (lib/sim/sim_opts.c)
 *   nvp_dev_open()       "sim:" + the input, when the options parse and stay
 *                        cheap; then the namespaces are checked and the
 *                        device closed (LeakSanitizer checks the close)
 */
#include <stdlib.h>
#include <string.h>

#include "be/be.h"
#include "fuzz.h"
#include "nvpoll.h"
#include "pci/sysfs.h"
#include "sim/sim_model.h"

/*
 * Bring-up is run only for configs that stay cheap: namespace data is an
 * anonymous MAP_NORESERVE mapping (sim_io.c), so size= costs address space
 * and no RAM, but the address space is bounded, and under ASan much of it
 * is shadow; ready_ms is a real wait.
 */
#define OPEN_MAX_BYTES (64ull << 30)
#define OPEN_MAX_READY_MS 20
#define OPENED_MAX 4096

/*
 * A bring-up takes milliseconds (the model's thread, the admin commands),
 * a parse microseconds: bring up one config per shape only, so the parsers
 * keep most of the time. The shape is what steers bring-up: counts, and
 * log2 of the values whose size alone does not (sizes, depths).
 */
struct cfg_shape {
	unsigned nr_ns, mdts, nqueues, dstrd, to, sgl, vwc, ready;
	unsigned mqes, lbads[SIM_MAX_NS], size[SIM_MAX_NS];
};
static uint64_t opened[OPENED_MAX];
static unsigned nr_opened;

static unsigned log2_of(uint64_t v)
{
	return v ? 64 - (unsigned)__builtin_clzll(v) : 0;
}

/* 1 the first time a config of this shape comes by, else 0. */
static int new_shape(const struct sim_cfg *cfg)
{
	struct cfg_shape k;
	uint64_t h = 14695981039346656037ull;

	memset(&k, 0, sizeof(k));
	k.nr_ns = cfg->nr_ns;
	k.mdts = cfg->mdts;
	k.nqueues = log2_of(cfg->nqueues);
	k.dstrd = cfg->dstrd;
	k.to = cfg->to;
	k.sgl = cfg->sgl;
	k.vwc = cfg->vwc;
	k.ready = cfg->ready_ms != 0;
	k.mqes = log2_of(cfg->mqes);
	for (unsigned i = 0; i < cfg->nr_ns; i++) {
		k.lbads[i] = cfg->lbads[i];
		k.size[i] = log2_of(cfg->size[i] >> cfg->lbads[i]);
	}
	for (size_t i = 0; i < sizeof(k); i++)
		h = (h ^ ((const uint8_t *)&k)[i]) * 1099511628211ull;
	for (unsigned i = 0; i < nr_opened; i++)
		if (opened[i] == h)
			return 0;
	if (nr_opened == OPENED_MAX)
		nr_opened = 0;
	opened[nr_opened++] = h;
	return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Bring-up warnings (NCAP > NSZE, ...) are expected here: keep stderr quiet. */
	setenv("NVP_LOG", "error", 0);
	return 0;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* "DDDD:BB:DD.F": 4 to 8 lower-case hex digits of domain, device <= 1f, function <= 7. */
static void check_bdf(const char *a)
{
	size_t len = strlen(a), d = len - 8; /* the domain's digits */

	FUZZ_CHECK(len >= 12 && len <= 16);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(i == d || i == d + 3 || i == d + 6 || is_hex(a[i]));
	FUZZ_CHECK(a[d] == ':' && a[d + 3] == ':' && a[d + 6] == '.');
	FUZZ_CHECK(a[d + 4] <= '1' && a[d + 7] <= '7');
}

/*
 * Where the "/ns=N" suffix that gave @nsid starts in @s (strlen(s) when
 * @nsid is 0): the last "/ns=", followed by decimal digits alone, worth @nsid.
 */
static size_t ns_suffix_start(const char *s, uint32_t nsid)
{
	const char *last = NULL, *p;

	if (!nsid)
		return strlen(s);
	for (p = strstr(s, "/ns="); p; p = strstr(p + 1, "/ns="))
		last = p;
	FUZZ_CHECK(last != NULL);
	FUZZ_CHECK(last[4] && strspn(last + 4, "0123456789") == strlen(last + 4));
	FUZZ_CHECK(nsid >= 1 && strtoull(last + 4, NULL, 10) == nsid);
	return (size_t)(last - s);
}

static void fuzz_uri(const char *s)
{
	struct nvp_uri u, again;
	char bdf[NVP_BDF_LEN];

	if (nvp_pci_bdf_parse(s, bdf) == 0) {
		check_bdf(bdf);
		/* Normalizing is idempotent. */
		FUZZ_CHECK(nvp_pci_bdf_parse(bdf, bdf) == 0);
	}
	if (nvp_uri_parse(s, &u))
		return;
	FUZZ_CHECK(memchr(u.addr, '\0', sizeof(u.addr)) != NULL);
	if (u.kind == NVP_URI_SIM || u.kind == NVP_URI_NIL) {
		size_t base = ns_suffix_start(s, u.nsid), opts = base > 3 ? base - 4 : 0;

		FUZZ_CHECK(strncmp(s, u.kind == NVP_URI_SIM ? "sim" : "nil", 3) == 0);
		/* The options are what lies between the colon and the /ns=N suffix. */
		FUZZ_CHECK(base == 3 || s[3] == ':');
		FUZZ_CHECK(strlen(u.addr) == opts && memcmp(u.addr, s + 4, opts) == 0);
		return;
	}
	if (u.kind == NVP_URI_NGDEV || u.kind == NVP_URI_BLKDEV) {
		FUZZ_CHECK(strncmp(s, u.kind == NVP_URI_NGDEV ? "/dev/ng" : "/dev/nvme", u.kind == NVP_URI_NGDEV ? 7 : 9) == 0);
		FUZZ_CHECK(strcmp(u.addr, s) == 0 && u.nsid == 0);
		return;
	}
	FUZZ_CHECK(u.kind == NVP_URI_PCI);
	check_bdf(u.addr);
	FUZZ_CHECK(u.nsid <= 0xfffffffeu);
	FUZZ_CHECK((u.nsid != 0) == (strchr(s, '/') != NULL));
	FUZZ_CHECK(!u.nsid || ns_suffix_start(s, u.nsid) == (size_t)(strchr(s, '/') - s));
	FUZZ_CHECK(nvp_uri_parse(u.addr, &again) == 0);
	FUZZ_CHECK(again.kind == NVP_URI_PCI && again.nsid == 0 && strcmp(again.addr, u.addr) == 0);
}

static int cfg_cheap(const struct sim_cfg *cfg)
{
	uint64_t bytes = 0;

	/* file= would create files wherever the input says: parsed, never opened here. */
	if (cfg->file[0])
		return 0;
	for (unsigned i = 0; i < cfg->nr_ns; i++) {
		if (cfg->size[i] > OPEN_MAX_BYTES - bytes)
			return 0;
		bytes += cfg->size[i];
	}
	return cfg->ready_ms <= OPEN_MAX_READY_MS;
}

/* What the controller reports must be what the options asked for. */
static void check_dev(struct nvp_dev *dev, const struct sim_cfg *cfg)
{
	const uint32_t *nsids;
	unsigned n = nvp_ns_list(dev, &nsids);
	size_t max_xfer = nvp_dev_max_xfer(dev);

	FUZZ_CHECK(strcmp(nvp_dev_backend(dev), "sim") == 0);
	FUZZ_CHECK(n == cfg->nr_ns);
	for (unsigned i = 0; i < n; i++) {
		const struct nvp_ns *ns = nvp_ns_get(dev, nsids[i]);
		const struct nvp_ns_info *info;

		FUZZ_CHECK(ns != NULL);
		info = nvp_ns_info(ns);
		FUZZ_CHECK(info->nsid == nsids[i] && nsids[i] == i + 1);
		FUZZ_CHECK(info->lba_size == 1u << cfg->lbads[i]);
		FUZZ_CHECK((uint64_t)info->nsze * info->lba_size == cfg->size[i]);
	}
	FUZZ_CHECK(max_xfer >= 4096 && max_xfer <= (2u << 20));
	/* The sim's pages start at 4 KiB (CAP.MPSMIN = 0); MDTS 0 means no limit but nvpoll's. */
	FUZZ_CHECK(max_xfer == (cfg->mdts && cfg->mdts < 9 ? 4096u << cfg->mdts : 2u << 20));
	FUZZ_CHECK(nvp_dev_max_queue_depth(dev) == cfg->mqes + 1);
}

static void fuzz_sim_opts(const char *s)
{
	struct sim_cfg cfg;
	struct nvp_opts opts;
	struct nvp_dev *dev;
	char uri[8 + SIM_OPTS_MAX];

	if (sim_cfg_parse(s, &cfg))
		return;
	FUZZ_CHECK(cfg.nr_ns >= 1 && cfg.nr_ns <= SIM_MAX_NS);
	for (unsigned i = 0; i < cfg.nr_ns; i++) {
		FUZZ_CHECK(cfg.lbads[i] >= 9 && cfg.lbads[i] <= 16);
		FUZZ_CHECK(cfg.size[i] != 0 && cfg.size[i] % (1u << cfg.lbads[i]) == 0);
	}
	FUZZ_CHECK(cfg.mdts <= 15 && cfg.mqes >= 1 && cfg.mqes <= 65535);
	FUZZ_CHECK(cfg.nqueues >= 1 && cfg.nqueues <= 1024 && cfg.dstrd <= 8);
	FUZZ_CHECK(cfg.to >= 1 && cfg.to <= 255 && cfg.sgl <= 2 && cfg.vwc <= 1);
	FUZZ_CHECK(cfg.sn[0] != '\0' && memchr(cfg.sn, '\0', sizeof(cfg.sn)));

	if (!cfg_cheap(&cfg) || !new_shape(&cfg))
		return;
	snprintf(uri, sizeof(uri), "sim:%s", s);
	nvp_opts_init(&opts);
	opts.be = "sim";
	opts.mem = "libc";
	opts.nr_io_queues = 4;
	opts.admin_timeout_ms = 2000;
	dev = nvp_dev_open(uri, &opts);
	if (!dev)
		return;
	check_dev(dev, &cfg);
	nvp_dev_close(dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_uri(s);
	fuzz_sim_opts(s);
	free(s);
	return 0;
}
