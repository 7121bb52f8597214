/* SPDX-License-Identifier: MIT */
/*
 * The sim's option string: "key=value,key=value", strict, so a typo in a
 * test's URI fails loudly instead of silently testing the defaults.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sim/sim_model.h"

#define SIM_KEYS "ns, lbads, size, ms, mset, pi, pil, mdts, mqes, nqueues, ready_ms, dstrd, to, sgl, vwc, dbbuf, yield, oncs, zoned, zone_size, max_open, max_active, zasl, sn, file, detached"

/* Values given per namespace, before they are spread over ns=N. */
struct sim_lists {
	unsigned nr_lbads, nr_size;
	unsigned lbads[SIM_MAX_NS];
	uint64_t size[SIM_MAX_NS];
	unsigned ns;		/* 0: not given */
	unsigned nr_detached;
	uint64_t detached[SIM_MAX_NS];	/* namespace ids */
	struct sim_md_list {
		unsigned nr;
		uint64_t v[SIM_MAX_NS];
	} md[5];		/* ms, mset, pi, pil, zoned: sim_md_keys */
};

/* Metadata options, a value per namespace (or one for all), with what each may be. */
static const struct sim_md_key {
	const char *key;
	size_t off;		/* in struct sim_cfg */
	unsigned max;
	const char *want;
} sim_md_keys[5] = {
	{ "ms", offsetof(struct sim_cfg, ms), 16, "give 0, 8 or 16 metadata bytes per block" },
	{ "mset", offsetof(struct sim_cfg, mset), 1, "give 1 (extended LBAs) or 0 (a separate buffer)" },
	{ "pi", offsetof(struct sim_cfg, pi), 3, "give the PI type: 0 (none), 1, 2 or 3" },
	{ "pil", offsetof(struct sim_cfg, pil), 1, "give 1 (PI in the first 8 bytes of metadata) or 0 (the last)" },
	{ "zoned", offsetof(struct sim_cfg, zoned), 1, "give 1 (a zoned namespace, ZNS) or 0" },
};

struct sim_uint_opt {
	const char *key;
	size_t off;		/* in struct sim_cfg */
	unsigned min, max;
};

static const struct sim_uint_opt sim_uint_opts[] = {
	{ "mdts", offsetof(struct sim_cfg, mdts), 0, 15 },
	{ "mqes", offsetof(struct sim_cfg, mqes), 1, 65535 },
	{ "nqueues", offsetof(struct sim_cfg, nqueues), 1, 1024 },
	{ "ready_ms", offsetof(struct sim_cfg, ready_ms), 0, 600000 },
	{ "dstrd", offsetof(struct sim_cfg, dstrd), 0, 8 },
	{ "to", offsetof(struct sim_cfg, to), 1, 255 },
	{ "sgl", offsetof(struct sim_cfg, sgl), 0, 2 },
	{ "vwc", offsetof(struct sim_cfg, vwc), 0, 1 },
	{ "dbbuf", offsetof(struct sim_cfg, dbbuf), 0, 1 },
	{ "yield", offsetof(struct sim_cfg, yield), 0, 1 },
	{ "oncs", offsetof(struct sim_cfg, oncs), 0, 511 },
	{ "max_open", offsetof(struct sim_cfg, max_open), 0, 65536 },
	{ "max_active", offsetof(struct sim_cfg, max_active), 0, 65536 },
	{ "zasl", offsetof(struct sim_cfg, zasl), 0, 15 },
};

static void sim_cfg_defaults(struct sim_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_ns = 1;
	cfg->lbads[0] = 9;
	cfg->size[0] = 64ull << 20;
	cfg->mdts = 5;
	cfg->mqes = 1023;
	cfg->nqueues = 16;
	cfg->dstrd = 0;
	cfg->to = 20;
	cfg->sgl = 1;
	cfg->vwc = 1;
	cfg->dbbuf = 1;
	cfg->zone_size = 1ull << 20;
	cfg->oncs = NVME_ONCS_COMPARE | NVME_ONCS_WRITE_UNCOR | NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES |
		    NVME_ONCS_VERIFY | NVME_ONCS_COPY;
	snprintf(cfg->sn, sizeof(cfg->sn), "NVPSIM0001");
}

static int sim_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* "64M", "4096", "1G": binary suffixes K, M, G, T. */
static int sim_parse_size(const char *s, uint64_t *v)
{
	static const char suffixes[] = "KMGT";
	char num[32];
	size_t n = strlen(s);
	const char *suf;
	unsigned shift = 0;
	char c;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	c = (char)(num[n - 1] & ~0x20);
	suf = c ? strchr(suffixes, c) : NULL;
	if (suf) {
		shift = 10 * (unsigned)(suf - suffixes + 1);
		num[n - 1] = '\0';
	}
	if (sim_parse_u64(num, v) || *v > (UINT64_MAX >> shift))
		return -EINVAL;
	*v <<= shift;
	return 0;
}

static int sim_bad_value(const char *key, const char *val, const char *want)
{
	return nvp_set_error(-EINVAL, "sim option %s=%s is invalid: %s", key, val, want);
}

/* "512:4096" into @out, one value per namespace. */
static int sim_parse_list(const char *key, const char *val, uint64_t *out, unsigned *nr,
			  int (*parse)(const char *, uint64_t *), const char *want)
{
	char buf[SIM_OPTS_MAX];
	char *save, *tok;

	snprintf(buf, sizeof(buf), "%s", val);
	*nr = 0;
	for (tok = strtok_r(buf, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		if (*nr == SIM_MAX_NS)
			return sim_bad_value(key, val, "more values than the 32 namespaces the sim has");
		if (parse(tok, &out[*nr]))
			return sim_bad_value(key, val, want);
		(*nr)++;
	}
	if (*nr == 0 || val[strlen(val) - 1] == ':' || val[0] == ':' || strstr(val, "::"))
		return sim_bad_value(key, val, want);
	return 0;
}

static int sim_parse_lbads(const char *key, const char *val, struct sim_lists *l)
{
	static const char want[] = "give the LBA data size in bytes, a power of two from 512 to 65536";
	uint64_t v[SIM_MAX_NS];
	unsigned i;
	int err;

	err = sim_parse_list(key, val, v, &l->nr_lbads, sim_parse_u64, want);
	if (err)
		return err;
	for (i = 0; i < l->nr_lbads; i++) {
		if (v[i] < 512 || v[i] > 65536 || (v[i] & (v[i] - 1)))
			return sim_bad_value(key, val, want);
		l->lbads[i] = (unsigned)__builtin_ctzll(v[i]);
	}
	return 0;
}

static int sim_parse_sizes(const char *key, const char *val, struct sim_lists *l)
{
	return sim_parse_list(key, val, l->size, &l->nr_size, sim_parse_size,
			      "give bytes with an optional K, M, G or T suffix, e.g. 64M");
}

static int sim_parse_sn(const char *key, const char *val, struct sim_cfg *cfg)
{
	const char *p;

	if (!*val || strlen(val) >= sizeof(cfg->sn))
		return sim_bad_value(key, val, "give 1 to 20 characters");
	for (p = val; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return sim_bad_value(key, val, "use printable ASCII");
	snprintf(cfg->sn, sizeof(cfg->sn), "%s", val);
	return 0;
}

static int sim_parse_uint(const struct sim_uint_opt *o, const char *val, struct sim_cfg *cfg)
{
	char want[64];
	uint64_t v;

	if (sim_parse_u64(val, &v) || v < o->min || v > o->max) {
		snprintf(want, sizeof(want), "give a number from %u to %u", o->min, o->max);
		return sim_bad_value(o->key, val, want);
	}
	*(unsigned *)((char *)cfg + o->off) = (unsigned)v;
	return 0;
}

static int sim_parse_one(const char *key, const char *val, struct sim_cfg *cfg, struct sim_lists *l)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < NVP_ARRAY_SIZE(sim_uint_opts); i++)
		if (strcmp(key, sim_uint_opts[i].key) == 0)
			return sim_parse_uint(&sim_uint_opts[i], val, cfg);
	if (strcmp(key, "ns") == 0) {
		if (sim_parse_u64(val, &v) || v < 1 || v > SIM_MAX_NS)
			return sim_bad_value(key, val, "give a number from 1 to 32");
		l->ns = (unsigned)v;
		return 0;
	}
	if (strcmp(key, "lbads") == 0)
		return sim_parse_lbads(key, val, l);
	for (i = 0; i < NVP_ARRAY_SIZE(sim_md_keys); i++) {
		const struct sim_md_key *k = &sim_md_keys[i];
		struct sim_md_list *m = &l->md[i];
		int err;

		if (strcmp(key, k->key))
			continue;
		err = sim_parse_list(key, val, m->v, &m->nr, sim_parse_u64, k->want);
		if (err)
			return err;
		for (unsigned j = 0; j < m->nr; j++)
			if (m->v[j] > k->max || (i == 0 && m->v[j] % 8))
				return sim_bad_value(key, val, k->want);
		return 0;
	}
	if (strcmp(key, "size") == 0)
		return sim_parse_sizes(key, val, l);
	if (strcmp(key, "zone_size") == 0) {
		if (sim_parse_size(val, &cfg->zone_size) || !cfg->zone_size)
			return sim_bad_value(key, val, "give the zone size in bytes with an optional K, M, G or T suffix");
		return 0;
	}
	if (strcmp(key, "sn") == 0)
		return sim_parse_sn(key, val, cfg);
	if (strcmp(key, "detached") == 0)
		return sim_parse_list(key, val, l->detached, &l->nr_detached, sim_parse_u64,
				      "give namespace ids separated by ':', e.g. 2 or 2:3");
	if (strcmp(key, "file") == 0) {
		/* The option string is split at commas: a path cannot hold one. */
		snprintf(cfg->file, sizeof(cfg->file), "%s", val);
		return 0;
	}
	return nvp_set_error(-EINVAL, "sim option '%s' is unknown: valid options are " SIM_KEYS, key);
}

/* ms, mset, pi, pil over the namespaces, as lbads and size are; then whether they fit together. */
static int sim_cfg_metadata(struct sim_cfg *cfg, const struct sim_lists *l)
{
	for (unsigned k = 0; k < NVP_ARRAY_SIZE(sim_md_keys); k++) {
		const struct sim_md_list *m = &l->md[k];
		unsigned *out = (unsigned *)((char *)cfg + sim_md_keys[k].off);

		if (m->nr > 1 && m->nr != cfg->nr_ns)
			return nvp_set_error(-EINVAL, "sim option %s has %u values for %u namespaces: "
					     "give one value, or one per namespace", sim_md_keys[k].key, m->nr,
					     cfg->nr_ns);
		for (unsigned i = 0; i < cfg->nr_ns; i++)
			out[i] = m->nr ? (unsigned)m->v[m->nr > 1 ? i : 0] : 0;
	}
	for (unsigned i = 0; i < cfg->nr_ns; i++) {
		if (cfg->pi[i] && cfg->ms[i] < 8)
			return nvp_set_error(-EINVAL, "sim namespace %u: pi=%u needs 8 or more metadata bytes "
					     "(ms=8 or ms=16)", i + 1, cfg->pi[i]);
		if ((cfg->mset[i] || cfg->pil[i]) && !cfg->ms[i])
			return nvp_set_error(-EINVAL, "sim namespace %u: mset and pil need metadata (ms=8 or ms=16)",
					     i + 1);
		if (cfg->ms[i] && cfg->file[0])
			return nvp_set_error(-EINVAL, "sim namespace %u: metadata (ms=) is kept in memory only: "
					     "leave out file= or ms=", i + 1);
	}
	return 0;
}

/* Spread the per-namespace lists over ns=N: one value fits all, else one each. */
static int sim_cfg_namespaces(struct sim_cfg *cfg, const struct sim_lists *l)
{
	unsigned nr = l->ns, i;

	if (!nr)
		nr = l->nr_lbads > l->nr_size ? l->nr_lbads : l->nr_size;
	if (!nr)
		nr = 1;
	if (l->nr_lbads > 1 && l->nr_lbads != nr)
		return nvp_set_error(-EINVAL, "sim option lbads has %u values for %u namespaces: "
				     "give one value, or one per namespace", l->nr_lbads, nr);
	if (l->nr_size > 1 && l->nr_size != nr)
		return nvp_set_error(-EINVAL, "sim option size has %u values for %u namespaces: "
				     "give one value, or one per namespace", l->nr_size, nr);
	cfg->nr_ns = nr;
	cfg->geometry_given = l->ns || l->nr_lbads || l->nr_size;
	for (i = 0; i < nr; i++) {
		cfg->lbads[i] = l->nr_lbads ? l->lbads[l->nr_lbads > 1 ? i : 0] : 9;
		cfg->size[i] = l->nr_size ? l->size[l->nr_size > 1 ? i : 0] : 64ull << 20;
		if (cfg->size[i] == 0 || cfg->size[i] & ((1ull << cfg->lbads[i]) - 1))
			return nvp_set_error(-EINVAL, "sim namespace %u: size %llu is not a non-zero "
					     "multiple of its %u-byte LBA size", i + 1,
					     (unsigned long long)cfg->size[i], 1u << cfg->lbads[i]);
	}
	/* file= without geometry: the count is the file's, checked when a new file is made (sim_file.c). */
	for (i = 0; i < l->nr_detached; i++) {
		if (l->detached[i] < 1 || l->detached[i] > (cfg->file[0] && !cfg->geometry_given ? SIM_MAX_NS : nr))
			return nvp_set_error(-EINVAL, "sim option detached=%llu: the sim has namespaces 1 to %u",
					     (unsigned long long)l->detached[i], nr);
		cfg->detached |= 1u << (l->detached[i] - 1);
	}
	return sim_cfg_metadata(cfg, l);
}

int sim_cfg_parse(const char *opts, struct sim_cfg *cfg)
{
	char buf[SIM_OPTS_MAX];
	struct sim_lists lists = { 0 };
	char *save, *tok, *eq;
	int err;

	sim_cfg_defaults(cfg);
	if (!opts)
		opts = "";
	if (strlen(opts) >= sizeof(buf))
		return nvp_set_error(-EINVAL, "sim options are longer than %d characters", SIM_OPTS_MAX - 1);
	snprintf(buf, sizeof(buf), "%s", opts);
	if (*buf && (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,")))
		return nvp_set_error(-EINVAL, "sim options '%s' have an empty entry: "
				     "write key=value,key=value", opts);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (!eq || eq == tok || !eq[1])
			return nvp_set_error(-EINVAL, "sim option '%s' is not key=value: valid keys are "
					     SIM_KEYS, tok);
		*eq = '\0';
		err = sim_parse_one(tok, eq + 1, cfg, &lists);
		if (err)
			return err;
	}
	return sim_cfg_namespaces(cfg, &lists);
}
