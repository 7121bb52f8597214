/* SPDX-License-Identifier: MIT */
/*
 * nvpoll: the command line. Identify a controller, read its logs and
 * features, format it, read and write logical blocks -- through the same
 * library applications link. The commands are named and shaped as
 * nvme-cli's. This file parses the command line and dispatches; the
 * commands live beside it, one file per family, each with its table.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvpoll.h"

#ifdef NVPOLL_TEST_HOOKS
#define main nvpoll_main
int nvpoll_main(int argc, char **argv);
#endif

static const struct cmd *const cmd_tables[] = {
	list_cmds, identify_cmds, log_cmds, feature_cmds, admin_cmds, ns_cmds, io_cmds,
};

static const char usage_head[] =
	"usage: nvpoll COMMAND [DEVICE] [options]\n"
	"\n"
	"DEVICE is a PCI address (0000:00:05.0, optionally /ns=N) bound by nvpoll-setup config\n"
	"(or by the kernel's nvme driver: then through io_uring_cmd), a kernel namespace node\n"
	"(/dev/ng0n1, /dev/nvme0n1), sim[:options], nil[:options] or an NVMe/TCP target\n"
	"tcp://HOST[:PORT]/SUBSYSTEM-NQN.\n"
	"\n"
	"commands:\n";

static const char usage_tail[] =
	"\n"
	"options for every command:\n"
	"  -o, --output-format FMT   normal, json or binary (the raw structure); --json is -o json\n"
	"  -n, --nsid N              the namespace (also --namespace-id); a DEVICE's /ns=N says the same\n"
	"  --be NAME     backend config, one of list-backends (default: $NVP_BE, else by\n"
	"                the device: its driver, its node's kind, sim, nil, tcp://)\n"
	"  --mem KIND    DMA memory: hugepages or libc (default: $NVP_MEM, else the config's)\n"
	"  -h, --help    this text;  -V, --version  the version\n"
	"\n"
	"exit status: 0 done, 1 the operation failed, 2 the command line is wrong.\n"
	"nvpoll(1) describes every command and option.\n";

static void usage(FILE *f)
{
	fputs(usage_head, f);
	for (size_t t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++)
		for (const struct cmd *c = cmd_tables[t]; c->name; c++) {
			int n = fprintf(f, "  %s %s", c->name, c->synopsis);

			if (n > 42)
				fprintf(f, "\n%44s%s\n", "", c->help);
			else
				fprintf(f, "%*s%s\n", 44 - n, "", c->help);
		}
	fputs(usage_tail, f);
}

enum {
	OPT_BE = 256, OPT_MEM, OPT_LOG, OPT_JSON, OPT_SLBA, OPT_NLB, OPT_DATA, OPT_LOG_ID, OPT_LOG_LEN,
	OPT_SEL, OPT_CDW11, OPT_SAVE, OPT_LBAF, OPT_SES, OPT_FORCE, OPT_AD, OPT_OPCODE, OPT_DATA_LEN,
	OPT_READ, OPT_WRITE, OPT_CDW2, /* .. OPT_CDW2 + 13 */
};

/* parse_opt(): --help or --version said all there was to say; exit 0. */
#define DONE (-1)

/* A number option: @what names what it is in the message. */
static int num(const char *opt, const char *s, uint64_t max, const char *what, uint64_t *out)
{
	uint64_t v;

	if (tool_parse_u64(s, TOOL_NUM_C, UINT64_MAX, &v))
		return usage_error("%s '%s': expected %s", opt, s, what);
	if (v > max)
		return usage_error("%s %s is too large: at most %" PRIu64, opt, s, max);
	*out = v;
	return 0;
}

static int num32(const char *opt, const char *s, uint32_t max, const char *what, uint32_t *out)
{
	uint64_t v = 0;
	int rc = num(opt, s, max, what, &v);

	if (!rc)
		*out = (uint32_t)v;
	return rc;
}

static int parse_sel(const char *s, uint32_t *out)
{
	static const char *const names[] = { "current", "default", "saved", "supported" };

	for (uint32_t i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	return num32("--sel", s, 3, "current, default, saved, supported or 0..3", out);
}

static int parse_fmt(const char *s, enum out_fmt *out)
{
	if (!strcmp(s, "normal"))
		*out = OUT_NORMAL;
	else if (!strcmp(s, "json"))
		*out = OUT_JSON;
	else if (!strcmp(s, "binary"))
		*out = OUT_BINARY;
	else
		return usage_error("-o '%s': expected normal, json or binary", s);
	return 0;
}

static int parse_opt(int c, struct args *a)
{
	uint64_t v = 0;
	int rc = 0;

	switch (c) {
	case 'n':
		rc = num("--nsid", optarg, 0xffffffff, "a namespace id 1..4294967294, or 0xffffffff for all", &v);
		if (!rc && v == 0)
			rc = usage_error("--nsid 0: namespace ids start at 1");
		a->nsid = (uint32_t)v;
		a->have_nsid = 1;
		break;
	case OPT_SLBA:
		rc = num("--slba", optarg, UINT64_MAX, "a logical block address", &a->slba);
		a->have_slba = 1;
		break;
	case OPT_NLB:
		rc = num("--nlb", optarg, UINT32_MAX, "a count of logical blocks, at least 1", &v);
		if (!rc && v == 0)
			rc = usage_error("--nlb 0: expected a count of logical blocks, at least 1");
		a->nlb = (uint32_t)v;
		a->have_nlb = 1;
		break;
	case OPT_DATA: a->data = optarg; break;
	case 'c': a->ctrls = optarg; break;
	case 'a': a->all = 1; break;
	case OPT_JSON: a->fmt = OUT_JSON; break;
	case 'o': rc = parse_fmt(optarg, &a->fmt); break;
	case OPT_BE: a->be = optarg; break;
	case OPT_MEM: a->mem = optarg; break;
	case OPT_LOG: a->log = optarg; break;
	case 'H': a->human = 1; break;
	case 'b': a->raw = 1; break;
	case OPT_LOG_ID:
		rc = num32("--log-id", optarg, 255, "a log page identifier 0..255", &a->log_id);
		a->have_log_id = 1;
		break;
	case OPT_LOG_LEN:
		rc = num32("--log-len", optarg, 1u << 20, "a length in bytes", &a->log_len);
		if (!rc && (a->log_len == 0 || a->log_len % 4))
			rc = usage_error("--log-len %s: expected a multiple of 4 bytes, at least 4", optarg);
		a->have_log_len = 1;
		break;
	case 'f':
		rc = num32("--feature-id", optarg, 255, "a feature identifier 0..255", &a->fid);
		a->have_fid = 1;
		break;
	case 'v':
		rc = num32("--value", optarg, UINT32_MAX, "a 32-bit value", &a->value);
		a->have_value = 1;
		break;
	case OPT_SEL:
		rc = parse_sel(optarg, &a->sel);
		a->have_sel = 1;
		break;
	case OPT_CDW11: rc = num32("--cdw11", optarg, UINT32_MAX, "a 32-bit value", &a->cdw11); break;
	case OPT_SAVE: a->save = 1; break;
	case OPT_LBAF:
		rc = num32("--lbaf", optarg, 63, "an LBA format index 0..63", &a->lbaf);
		a->have_lbaf = 1;
		break;
	case OPT_SES: rc = num32("--ses", optarg, 7, "a secure erase setting 0..2", &a->ses); break;
	case OPT_FORCE: a->force = 1; break;
	case OPT_AD: a->ad = 1; break;
	case OPT_OPCODE:
		rc = num32("--opcode", optarg, 255, "an opcode 0..255", &a->opcode);
		a->have_opcode = 1;
		break;
	case OPT_DATA_LEN: rc = num32("--data-len", optarg, 1u << 20, "a length in bytes", &a->data_len); break;
	case OPT_READ: a->dir_read = 1; break;
	case OPT_WRITE: a->dir_write = 1; break;
	case 'V':
		printf("nvpoll version %d.%d\n", NVP_VERSION_MAJOR, NVP_VERSION_MINOR);
		return DONE;
	case 'h':
		usage(stdout);
		return DONE;
	default:
		if (c >= OPT_CDW2 && c < OPT_CDW2 + 14) {
			char name[16];

			snprintf(name, sizeof(name), "--cdw%d", c - OPT_CDW2 + 2);
			return num32(name, optarg, UINT32_MAX, "a 32-bit value", &a->cdw[c - OPT_CDW2 + 2]);
		}
		return EXIT_USAGE; /* getopt said what */
	}
	return rc;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const char *const cdw_names[14] = { "cdw2", "cdw3", "cdw4", "cdw5", "cdw6", "cdw7", "cdw8",
						    "cdw9", "cdw10", "cdw11", "cdw12", "cdw13", "cdw14", "cdw15" };
	static struct option opts[] = {
		{ "nsid", required_argument, NULL, 'n' }, { "namespace-id", required_argument, NULL, 'n' },
		{ "slba", required_argument, NULL, OPT_SLBA }, { "nlb", required_argument, NULL, OPT_NLB },
		{ "data", required_argument, NULL, OPT_DATA }, { "json", no_argument, NULL, OPT_JSON },
		{ "output-format", required_argument, NULL, 'o' }, { "be", required_argument, NULL, OPT_BE },
		{ "mem", required_argument, NULL, OPT_MEM }, { "log", required_argument, NULL, OPT_LOG },
		{ "human-readable", no_argument, NULL, 'H' }, { "raw-binary", no_argument, NULL, 'b' },
		{ "log-id", required_argument, NULL, OPT_LOG_ID }, { "log-len", required_argument, NULL, OPT_LOG_LEN },
		{ "feature-id", required_argument, NULL, 'f' }, { "value", required_argument, NULL, 'v' },
		{ "sel", required_argument, NULL, OPT_SEL }, { "cdw11", required_argument, NULL, OPT_CDW11 },
		{ "save", no_argument, NULL, OPT_SAVE }, { "lbaf", required_argument, NULL, OPT_LBAF },
		{ "ses", required_argument, NULL, OPT_SES }, { "force", no_argument, NULL, OPT_FORCE },
		{ "ad", no_argument, NULL, OPT_AD }, { "opcode", required_argument, NULL, OPT_OPCODE },
		{ "data-len", required_argument, NULL, OPT_DATA_LEN }, { "read", no_argument, NULL, OPT_READ },
		{ "write", no_argument, NULL, OPT_WRITE }, { "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' }, { "controllers", required_argument, NULL, 'c' },
		{ "cntid", required_argument, NULL, 'c' }, { "all", no_argument, NULL, 'a' },
		/* --cdw2 .. --cdw15, filled in below; then the end */
		[32] = { NULL, 0, NULL, 0 }, [46] = { NULL, 0, NULL, 0 }, [47] = { NULL, 0, NULL, 0 },
	};
	int c, rc;

	for (int i = 0; i < 14; i++) {
		/* --cdw11 is get-feature's too: the entry above; this twin is never reached */
		opts[32 + i] = (struct option){ cdw_names[i], required_argument, NULL, OPT_CDW2 + i };
	}
	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "hHbVan:o:f:v:c:", opts, NULL)) != -1) {
		rc = parse_opt(c, a);
		if (rc)
			return rc;
	}
	if (a->raw)
		a->fmt = OUT_BINARY;
	a->cdw[11] = a->cdw11;
	if (optind >= argc || optind + 2 < argc) {
		if (optind + 2 < argc)
			fprintf(stderr, "nvpoll: unexpected argument '%s'\n", argv[optind + 2]);
		usage(stderr);
		return EXIT_USAGE;
	}
	a->cmd = argv[optind];
	a->dev = optind + 1 < argc ? argv[optind + 1] : NULL;
	return 0;
}

static const struct cmd *find_cmd(const char *name)
{
	for (size_t t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++)
		for (const struct cmd *c = cmd_tables[t]; c->name; c++)
			if (!strcmp(c->name, name))
				return c;
	return NULL;
}

/* "/ns=N" at the end of a DEVICE, as the library reads it; 0 when there is none. */
static uint32_t uri_nsid(const char *dev)
{
	const char *p = dev ? strstr(dev, "/ns=") : NULL;
	uint64_t v;

	if (!p || tool_parse_u64(p + 4, TOOL_NUM_C, 0xffffffff, &v))
		return 0;
	return (uint32_t)v;
}

int cmd_nsid(struct nvp_dev *dev, const struct args *a, uint32_t *nsid)
{
	uint32_t named = dev ? nvp_dev_nsid(dev) : uri_nsid(a->dev);

	if (a->have_nsid && named && named != a->nsid) {
		usage_error("--nsid %u conflicts with namespace %u, which %s names", a->nsid, named, a->dev);
		return -1;
	}
	*nsid = a->have_nsid ? a->nsid : named;
	return 0;
}

int cmd_nsid_needed(struct nvp_dev *dev, const struct args *a, uint32_t *nsid)
{
	if (cmd_nsid(dev, a, nsid))
		return EXIT_USAGE;
	if (!*nsid)
		return usage_error("%s needs a namespace: --nsid N, or a DEVICE that names one (/ns=N)", a->cmd);
	return 0;
}

static int run_on_device(const struct cmd *c, const struct args *a)
{
	struct nvp_opts opts;
	struct nvp_dev *dev;
	uint32_t nsid;
	int rc;

	nvp_opts_init(&opts);
	opts.be = a->be;
	opts.mem = a->mem;
	dev = nvp_dev_open(a->dev, &opts);
	if (!dev) {
		/* EINVAL: the DEVICE (a malformed URI, a sim option), --be or --mem is wrong. */
		rc = errno == EINVAL ? usage_error("%s", cli_errmsg()) : op_error("%s", cli_errmsg());
		return c->finish ? c->finish(a, rc) : rc;
	}
	/* The DEVICE's own namespace (a kernel node's) is known only now. */
	rc = cmd_nsid(dev, a, &nsid) ? EXIT_USAGE : c->run(dev, a);
	nvp_dev_close(dev);
	return c->finish ? c->finish(a, rc) : rc;
}

int main(int argc, char **argv)
{
	const struct cmd *c;
	struct args a;
	uint32_t nsid;
	int rc = parse_args(argc, argv, &a);

	if (rc)
		return rc == DONE ? EXIT_OK : rc;
	if (!strcmp(a.cmd, "version") || !strcmp(a.cmd, "help"))
		return parse_opt(a.cmd[0] == 'v' ? 'V' : 'h', &a) == DONE ? EXIT_OK : EXIT_USAGE;
	c = find_cmd(a.cmd);
	if (!c)
		return usage_error("unknown command '%s' (nvpoll --help lists them)", a.cmd);
	if (c->no_dev == 1 && a.dev)
		return usage_error("%s takes no DEVICE", a.cmd);
	if (c->no_dev == NO_DEV_TARGET && !a.dev)
		return usage_error("%s needs a target: nvpoll %s tcp://HOST[:PORT]", a.cmd, a.cmd);
	if (!c->no_dev && !a.dev)
		return usage_error("%s needs a DEVICE: a PCI address such as 0000:00:05.0 (nvpoll list), or sim",
				   a.cmd);
	if (cmd_nsid(NULL, &a, &nsid))
		return EXIT_USAGE;
	rc = c->check ? c->check(&a) : 0;
	if (rc)
		return rc;
	return c->no_dev ? c->run(NULL, &a) : run_on_device(c, &a);
}
