/* SPDX-License-Identifier: MIT */
/*
 * Configs are data: each is a const struct nvp_bus_ops plus what it can do
 * (caps: the URIs it opens, the memory kinds it accepts) and what it asks
 * of the machine, listed once in `configs` below. Adding one is one file
 * and one entry here.
 *
 * nvp_be_open() is the one place that chooses, in this order:
 *   1. opts->be, else $NVP_BE: that config, whatever the device is bound to
 *      (it fails with its own message if it cannot serve the device).
 *   2. "sim[:options]" URIs: sim.
 *   3. A PCI address: the config whose kernel driver the device is bound to,
 *      looked up in table order: vfio-pci -> "vfio-pci", uio_pci_generic ->
 *      "uio-generic". Bound to nvme, to another driver or to none: an error
 *      that says to run scripts/setup.sh config. Not an NVMe controller at
 *      all (its PCI class, checked first, whichever way the config was
 *      chosen): an error that says so, since setup.sh would not bind it.
 * The memory kind (opts->mem, else $NVP_MEM, else the config's default) is
 * checked against the config before the device is touched, and handed back
 * with the bus, so the open resolves neither again.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvpoll.h>

#include "be/be.h"
#include "hugemem/dma.h"
#include "internal.h"
#include "kernel/kernel.h"
#include "nil/nil.h"
#include "nvme/nvme.h"
#include "pci/sysfs.h"
#include "sim/sim.h"
#include "tcp/tcp.h"
#include "uio/uio.h"
#include "vfio/probe.h"
#include "vfio/vfio.h"

static int sim_usable(char *why, size_t len)
{
	snprintf(why, len, "in-process controller model: needs nothing");
	return 1;
}

static int nil_usable(char *why, size_t len)
{
	snprintf(why, len, "completes every command at once, moves no data: needs nothing");
	return 1;
}

static int tcp_usable(char *why, size_t len)
{
	snprintf(why, len, "NVMe/TCP host: needs a target reachable over TCP (tcp://HOST[:PORT]/NQN)");
	return 1;
}

static const struct nvp_be_config configs[] = {
	{
		.ops = &nvp_vfio_ops,
		.driver = "vfio-pci",
		.caps = NVP_BE_PCI | NVP_BE_MEM_HUGEPAGES | NVP_BE_MEM_LIBC,
		.usable = nvp_vfio_usable,
		.check = nvp_vfio_check,
	},
	{
		.ops = &nvp_uio_ops,
		.driver = "uio_pci_generic",
		.caps = NVP_BE_PCI | NVP_BE_MEM_HUGEPAGES,
		.mem_note = "without an IOMMU the device reaches memory by physical address, and only "
			    "hugepages stay in place and are physically contiguous per 2 MiB; use "
			    "mem=hugepages (the default) with hugepages reserved, or vfio-pci, which pins "
			    "libc pages through the IOMMU",
		.usable = nvp_uio_usable,
		.check = nvp_uio_check,
	},
	/* The kernel's paths: for a controller bound to nvme, and the kernel's namespace nodes. */
#define KERNEL_CAPS (NVP_BE_PCI | NVP_BE_NGDEV | NVP_BE_BLKDEV | NVP_BE_MEM_LIBC | NVP_BE_MEM_HUGEPAGES)
	{
		.ops = &nvp_kernel_uring_cmd_ops,
		.xport = &nvp_xport_uring_cmd,
		.driver = "nvme",
		.caps = KERNEL_CAPS,
		.usable = nvp_kernel_uring_cmd_usable,
		.check = nvp_kernel_check,
	},
	{
		.ops = &nvp_kernel_uring_ops,
		.xport = &nvp_xport_uring,
		.driver = "nvme",
		.caps = KERNEL_CAPS,
		.usable = nvp_kernel_uring_usable,
		.check = nvp_kernel_check,
	},
	{
		.ops = &nvp_kernel_aio_ops,
		.xport = &nvp_xport_aio,
		.driver = "nvme",
		.caps = KERNEL_CAPS,
		.usable = nvp_kernel_aio_usable,
		.check = nvp_kernel_check,
	},
	{
		.ops = &nvp_kernel_psync_ops,
		.xport = &nvp_xport_psync,
		.driver = "nvme",
		.caps = KERNEL_CAPS,
		.usable = nvp_kernel_psync_usable,
		.check = nvp_kernel_check,
	},
	{
		.ops = &nvp_sim_ops,
		.caps = NVP_BE_SIM | NVP_BE_MEM_HUGEPAGES | NVP_BE_MEM_LIBC,
		.usable = sim_usable,
	},
	{
		.ops = &nvp_nil_bus_ops,
		.xport = &nvp_xport_nil,
		.caps = NVP_BE_NIL | NVP_BE_MEM_HUGEPAGES | NVP_BE_MEM_LIBC,
		.usable = nil_usable,
	},
	{
		.ops = &nvp_tcp_bus_ops,
		.xport = &nvp_xport_tcp,
		.caps = NVP_BE_TCP | NVP_BE_MEM_LIBC | NVP_BE_MEM_HUGEPAGES,
		.usable = tcp_usable,
	},
};

/* The memory kinds, each with its cap bit, in the order lists name them. */
static const struct {
	unsigned cap;
	const struct nvp_mem_ops *ops;
} mem_kinds[] = {
	{ NVP_BE_MEM_HUGEPAGES, &nvp_mem_hugepages },
	{ NVP_BE_MEM_LIBC, &nvp_mem_libc },
};

size_t nvp_be_configs(const struct nvp_be_config **out)
{
	*out = configs;
	return NVP_ARRAY_SIZE(configs);
}

const struct nvp_be_config *nvp_be_config_find(const char *name)
{
	for (size_t i = 0; name && i < NVP_ARRAY_SIZE(configs); i++)
		if (strcmp(configs[i].ops->name, name) == 0)
			return &configs[i];
	return NULL;
}

const struct nvp_bus_ops *nvp_be_find(const char *name)
{
	const struct nvp_be_config *cfg = nvp_be_config_find(name);

	return cfg ? cfg->ops : NULL;
}

/* "vfio-pci, uio-generic, sim" */
static const char *config_names(void)
{
	static __thread char buf[128];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NVP_ARRAY_SIZE(configs) && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? ", " : "",
					configs[i].ops->name);
	return buf;
}

unsigned nvp_uri_kind_cap(enum nvp_uri_kind kind)
{
	static const unsigned caps[] = {
		[NVP_URI_PCI] = NVP_BE_PCI, [NVP_URI_SIM] = NVP_BE_SIM, [NVP_URI_NIL] = NVP_BE_NIL,
		[NVP_URI_NGDEV] = NVP_BE_NGDEV, [NVP_URI_BLKDEV] = NVP_BE_BLKDEV, [NVP_URI_TCP] = NVP_BE_TCP,
	};

	return caps[kind];
}

/*
 * A trailing "/ns=N" names a namespace: *len is cut to what comes before it.
 * The last one counts, so a sim file's path may hold "/ns=" of its own.
 * 0 with *nsid = 0 when there is none; -EINVAL when N is not an id.
 */
static int uri_ns_suffix(const char *uri, size_t *len, uint32_t *nsid)
{
	const char *p, *last = NULL, *digits;
	unsigned long long v;
	char *end;

	*nsid = 0;
	for (p = strstr(uri, "/ns="); p; p = strstr(p + 1, "/ns="))
		last = p;
	if (!last)
		return 0;
	digits = last + 4;
	if (!*digits || strspn(digits, "0123456789") != strlen(digits))
		return 0; /* not a suffix: the caller says what is wrong with the rest */
	errno = 0;
	v = strtoull(digits, &end, 10);
	if (errno || v == 0 || v > 0xfffffffeull)
		return nvp_set_error(-EINVAL, "'%s': /ns=%s is not a namespace id: give 1 to 4294967294",
				     uri, digits);
	*nsid = (uint32_t)v;
	*len = (size_t)(last - uri);
	return 0;
}

/*
 * "sim", "sim:OPTIONS", either with "/ns=N" (and the same for nil): the
 * options after the colon into out->addr, N into out->nsid.
 */
static int uri_model(const char *uri, const char *word, enum nvp_uri_kind kind, struct nvp_uri *out)
{
	size_t n = strlen(word), len = strlen(uri);
	int err;

	if (strncmp(uri, word, n) || (uri[n] != '\0' && uri[n] != ':' && uri[n] != '/'))
		return 0;
	out->kind = kind;
	err = uri_ns_suffix(uri, &len, &out->nsid);
	if (err)
		return err;
	if (len > n && uri[n] != ':')
		return nvp_set_error(-EINVAL, "'%s' is not a device URI: after %s come only :options and /ns=N "
				     "(%s:key=value,.../ns=N)", uri, word, word);
	if (len - n >= sizeof(out->addr))
		return nvp_set_error(-EINVAL, "%s options are too long", word);
	snprintf(out->addr, sizeof(out->addr), "%.*s", len > n ? (int)(len - n - 1) : 0, uri + n + 1);
	return 1;
}

/* "/dev/" @prefix X "n" Y, X and Y decimal: the kernel's names for a namespace's nodes. */
static int dev_node(const char *uri, const char *prefix)
{
	const char *p = uri + strlen("/dev/");
	size_t n = strlen(prefix), digits;

	if (strncmp(uri, "/dev/", 5) || strncmp(p, prefix, n))
		return 0;
	p += n;
	digits = strspn(p, "0123456789");
	if (!digits || p[digits] != 'n')
		return 0;
	p += digits + 1;
	digits = strspn(p, "0123456789");
	return digits && p[digits] == '\0';
}

int nvp_uri_parse(const char *uri, struct nvp_uri *out)
{
	char bdf[NVP_URI_ADDR_MAX];
	const char *slash;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!uri || !*uri)
		return nvp_set_error(-EINVAL, "no device given: use a PCI address such as 0000:00:05.0, "
				     "/dev/ng0n1, /dev/nvme0n1, sim, nil or tcp://HOST[:PORT]/NQN");
	if ((ret = uri_model(uri, "sim", NVP_URI_SIM, out)) || (ret = uri_model(uri, "nil", NVP_URI_NIL, out)))
		return ret < 0 ? ret : 0;
	if (!strncmp(uri, "tcp://", 6)) {
		struct nvp_tcp_addr a;

		out->kind = NVP_URI_TCP;
		if (strlen(uri + 6) >= sizeof(out->addr))
			return nvp_set_error(-EINVAL, "tcp:// URI is too long (at most %zu bytes after tcp://)",
					     sizeof(out->addr) - 1);
		snprintf(out->addr, sizeof(out->addr), "%s", uri + 6);
		return nvp_tcp_addr_parse(out->addr, &a);
	}
	if (dev_node(uri, "ng") || dev_node(uri, "nvme")) {
		out->kind = dev_node(uri, "ng") ? NVP_URI_NGDEV : NVP_URI_BLKDEV;
		if (strlen(uri) >= sizeof(out->addr))
			goto bad;
		snprintf(out->addr, sizeof(out->addr), "%s", uri);
		return 0;
	}
	out->kind = NVP_URI_PCI;
	slash = strchr(uri, '/');
	if ((size_t)(slash ? slash - uri : (long)strlen(uri)) >= sizeof(bdf))
		goto bad;
	snprintf(bdf, sizeof(bdf), "%.*s", (int)(slash ? slash - uri : (long)strlen(uri)), uri);
	if (nvp_pci_bdf_parse(bdf, out->addr))
		goto bad;
	if (slash) {
		size_t len = strlen(uri);

		ret = uri_ns_suffix(uri, &len, &out->nsid);
		if (ret)
			return ret;
		if (len != (size_t)(slash - uri) || !out->nsid)
			return nvp_set_error(-EINVAL, "'%s' is not a device URI: after the PCI address %s only "
					     "/ns=N may follow (N a namespace id from 1)", uri, bdf);
	}
	return 0;
bad:
	return nvp_set_error(-EINVAL, "'%s' is not a device URI: use a PCI address such as 0000:00:05.0 "
			     "(optionally /ns=N), a namespace node /dev/ngXnY or /dev/nvmeXnY, sim[:options], "
			     "nil[:options] or tcp://HOST[:PORT]/SUBSYSTEM-NQN", uri);
}

int nvp_be_select(const char *bdf, const struct nvp_be_config **out)
{
	char drv[64];
	int ret;

	/* The class first: it passes a device sysfs does not know, which the next check names. */
	ret = nvp_pci_check_nvme(bdf);
	if (ret < 0)
		return ret;
	ret = nvp_pci_bound_driver(bdf, drv, sizeof(drv));
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < NVP_ARRAY_SIZE(configs); i++) {
		if (configs[i].driver && !strcmp(configs[i].driver, drv)) {
			*out = &configs[i];
			return 0;
		}
	}
	if (!drv[0])
		return nvp_set_error(-ENODEV, "device %s is not bound to any driver: run scripts/setup.sh "
				     "config to hand it to vfio-pci (or uio_pci_generic), or name a config "
				     "with opts.be / NVP_BE", bdf);
	if (!strcmp(drv, "nvme"))
		return nvp_set_error(-EBUSY, "device %s is bound to nvme: run scripts/setup.sh config to "
				     "hand it to vfio-pci (or uio_pci_generic); the kernel driver owns it "
				     "until then", bdf);
	return nvp_set_error(-EBUSY, "device %s is bound to %s, which no nvpoll config uses: run "
			     "scripts/setup.sh config to hand it to vfio-pci (or uio_pci_generic)", bdf, drv);
}

const char *nvp_be_mem_name(const struct nvp_bus_ops *ops, const struct nvp_opts *opts)
{
	const char *env;

	if (opts && opts->mem)
		return opts->mem;
	env = getenv("NVP_MEM");
	return env && *env ? env : ops->default_mem;
}

static unsigned mem_cap(const struct nvp_mem_ops *mem)
{
	for (size_t i = 0; i < NVP_ARRAY_SIZE(mem_kinds); i++)
		if (mem_kinds[i].ops == mem)
			return mem_kinds[i].cap;
	return 0;
}

int nvp_be_check_mem(const struct nvp_be_config *cfg, const char *mem)
{
	const struct nvp_mem_ops *ops = nvp_mem_find(mem);

	if (!ops)
		return nvp_set_error(-EINVAL, "unknown memory '%s': use hugepages or libc", mem);
	if (!(cfg->caps & mem_cap(ops)))
		return nvp_set_error(-EINVAL, "%s cannot use mem=%s: %s", cfg->ops->name, mem,
				     cfg->mem_note ? cfg->mem_note : "use one it accepts");
	return 0;
}

/*
 * A config named explicitly failed on a device another config serves: say
 * so, since the cure is often to leave the choice to the binding.
 */
static int hint_other_config(int err, const struct nvp_be_config *cfg, const char *bdf, const char *from)
{
	const struct nvp_be_config *fits;
	char msg[768];

	snprintf(msg, sizeof(msg), "%s", nvp_errmsg());
	if (nvp_be_select(bdf, &fits) < 0 || fits == cfg)
		return nvp_set_error(err, "%s", msg);
	return nvp_set_error(err, "%s (config %s%s; the device is bound to %s, which config %s serves: "
			     "name that one, or none to choose by binding)", msg, cfg->ops->name, from,
			     fits->driver, fits->ops->name);
}

/* The first config in table order that opens URIs with cap bit @cap (every kind has one). */
static const struct nvp_be_config *first_for(unsigned cap)
{
	for (size_t i = 0; i < NVP_ARRAY_SIZE(configs); i++)
		if (configs[i].caps & cap)
			return &configs[i];
	return NULL;
}

/* The URI as the user knows it: "sim" for sim's (its options say nothing), else its address. */
static const char *uri_text(const struct nvp_uri *uri)
{
	switch (uri->kind) {
	case NVP_URI_SIM: return "sim";
	case NVP_URI_NIL: return "nil";
	case NVP_URI_TCP: return "tcp://...";
	default: return uri->addr;
	}
}

/* "config sim opens only sim[:options] URIs", or which configs open a URI of @kind. */
static const char *what_opens(const struct nvp_be_config *cfg, enum nvp_uri_kind kind)
{
	static const char *const forms[] = {
		[NVP_URI_PCI] = "PCI address", [NVP_URI_SIM] = "sim[:options]", [NVP_URI_NIL] = "nil[:options]",
		[NVP_URI_NGDEV] = "/dev/ngXnY", [NVP_URI_BLKDEV] = "/dev/nvmeXnY",
		[NVP_URI_TCP] = "tcp://HOST[:PORT]/NQN",
	};
	static __thread char buf[256];
	size_t off;

	if (cfg->caps & (NVP_BE_SIM | NVP_BE_NIL | NVP_BE_TCP)) {
		snprintf(buf, sizeof(buf), "config %s opens only %s URIs", cfg->ops->name,
			 forms[cfg->caps & NVP_BE_SIM ? NVP_URI_SIM : cfg->caps & NVP_BE_NIL ? NVP_URI_NIL : NVP_URI_TCP]);
		return buf;
	}
	off = (size_t)snprintf(buf, sizeof(buf), "%s URIs open with config", forms[kind]);
	for (size_t i = 0, n = 0; i < NVP_ARRAY_SIZE(configs) && off < sizeof(buf); i++)
		if (configs[i].caps & nvp_uri_kind_cap(kind))
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s %s", n++ ? "," : "",
						configs[i].ops->name);
	return buf;
}

/* Options only some configs have, refused by the others with the name of one that has them. */
static int check_opts(const struct nvp_be_config *cfg, const struct nvp_opts *opts)
{
	const char *name = cfg->ops->name;

	if (!opts)
		return 0;
	if (opts->shadow_doorbells && cfg->xport)
		return nvp_set_error(-EINVAL, "config %s has no doorbells of nvpoll's to shadow: shadow doorbells "
				     "are nvpoll's own PCIe driver's (vfio-pci, uio-generic, sim)", name);
	if (opts->kernel_iopoll && cfg->xport != &nvp_xport_uring && cfg->xport != &nvp_xport_uring_cmd)
		return nvp_set_error(-EINVAL, "config %s has no kernel polled completions: they are io_uring's "
				     "and io_uring_cmd's (IORING_SETUP_IOPOLL)%s", name,
				     cfg->xport ? "" : "; nvpoll's own driver always polls");
	if ((opts->hostnqn || opts->tcp_digest || opts->keep_alive_ms) && cfg->xport != &nvp_xport_tcp)
		return nvp_set_error(-EINVAL, "config %s has no host NQN, digests or Keep Alive of nvpoll's: they "
				     "are NVMe/TCP's (tcp://HOST[:PORT]/NQN)", name);
	return 0;
}

int nvp_be_open(const struct nvp_uri *uri, const struct nvp_opts *opts, struct nvp_be_choice *out)
{
	const char *be_name = opts ? opts->be : NULL, *from = "", *mem, *env = getenv("NVP_BE");
	const struct nvp_be_config *cfg;
	int err;

	memset(out, 0, sizeof(*out));
	if (!be_name && env && *env) {
		be_name = env;
		from = " from NVP_BE";
	}

	if (be_name) {
		cfg = nvp_be_config_find(be_name);
		if (!cfg)
			return nvp_set_error(-EINVAL, "unknown backend config '%s'%s: use one of %s "
					     "(nvpoll list-backends)", be_name, from, config_names());
		if (!(cfg->caps & nvp_uri_kind_cap(uri->kind)))
			return nvp_set_error(-EINVAL, "config '%s'%s cannot open '%s': %s", be_name, from,
					     uri_text(uri), what_opens(cfg, uri->kind));
		/* Before the config's own checks, whose cure (setup.sh) could not bind it. */
		err = uri->kind == NVP_URI_PCI ? nvp_pci_check_nvme(uri->addr) : 0;
		if (err)
			return err;
	} else if (uri->kind != NVP_URI_PCI) {
		cfg = first_for(nvp_uri_kind_cap(uri->kind));
	} else {
		err = nvp_be_select(uri->addr, &cfg);
		if (err)
			return err;
	}

	err = check_opts(cfg, opts);
	if (err)
		return err;
	mem = nvp_be_mem_name(cfg->ops, opts);
	err = nvp_be_check_mem(cfg, mem);
	if (err)
		return err;
	err = cfg->ops->open(uri->addr, opts, &out->bus);
	if (err)
		return be_name && uri->kind == NVP_URI_PCI ? hint_other_config(err, cfg, uri->addr, from) : err;
	out->cfg = cfg;
	out->mem = nvp_mem_find(mem);
	return 0;
}

/* ---- nvp_backends() ------------------------------------------------------- */

/* Per config, the memory kinds it accepts as a list: its default first, then table order. */
static char mem_lists[NVP_ARRAY_SIZE(configs)][32];
static pthread_once_t mem_lists_once = PTHREAD_ONCE_INIT;

static void mem_lists_fill(void)
{
	for (size_t i = 0; i < NVP_ARRAY_SIZE(configs); i++) {
		const char *dflt = configs[i].ops->default_mem;
		size_t off = (size_t)snprintf(mem_lists[i], sizeof(mem_lists[i]), "%s", dflt);

		for (size_t k = 0; k < NVP_ARRAY_SIZE(mem_kinds) && off < sizeof(mem_lists[i]); k++)
			if ((configs[i].caps & mem_kinds[k].cap) && strcmp(mem_kinds[k].ops->name, dflt))
				off += (size_t)snprintf(mem_lists[i] + off, sizeof(mem_lists[i]) - off, ",%s",
							mem_kinds[k].ops->name);
	}
}

NVP_API unsigned nvp_backends(struct nvp_backend_info *out, unsigned max)
{
	pthread_once(&mem_lists_once, mem_lists_fill);
	for (unsigned i = 0; i < NVP_ARRAY_SIZE(configs) && i < max; i++) {
		const struct nvp_be_config *c = &configs[i];

		memset(&out[i], 0, sizeof(out[i]));
		out[i].name = c->ops->name;
		out[i].driver = c->driver;
		out[i].default_mem = c->ops->default_mem;
		out[i].mems = mem_lists[i];
		out[i].usable = c->usable(out[i].reason, sizeof(out[i].reason));
	}
	return NVP_ARRAY_SIZE(configs);
}

/* The model behind a device: config sim's bus is one, which lib/nvme need not know. */
NVP_API struct nvp_sim *nvp_dev_sim(struct nvp_dev *dev)
{
	return dev && (dev->be->caps & NVP_BE_SIM) ? nvp_sim_from_bus(dev->bus) : NULL;
}
