/* SPDX-License-Identifier: MIT */
/*
 * nvpoll: the command line. Identify a controller, read its logs, read and
 * write logical blocks -- through the same library applications link.
 * This file parses the command line and dispatches; the commands live
 * beside it, one file per family.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvpoll.h"

#ifdef NVPOLL_TEST_HOOKS
#define main nvpoll_main
int nvpoll_main(int argc, char **argv);
#endif

static const char usage_text[] =
	"usage: nvpoll COMMAND [DEVICE] [options]\n"
	"\n"
	"DEVICE is a PCI address (0000:00:05.0, optionally /ns=N) bound by scripts/setup.sh\n"
	"(or by the kernel's nvme driver: then through io_uring_cmd), a kernel namespace node\n"
	"(/dev/ng0n1, /dev/nvme0n1), sim[:options] or nil[:options].\n"
	"\n"
	"commands:\n"
	"  list [--json]                              NVMe controllers: driver, NUMA node, IOMMU\n"
	"                                            group, and which configs can open each now\n"
	"  list-backends [--json]                     the configs built in, and whether each is\n"
	"                                            usable on this machine now\n"
	"  identify DEVICE [--nsid N] [--json]        controller and namespace identity\n"
	"  read DEVICE --nsid N --slba S --nlb C --data FILE\n"
	"                                            read C logical blocks from S into FILE\n"
	"                                            (- for standard output)\n"
	"  write DEVICE --nsid N --slba S --nlb C --data FILE\n"
	"                                            write C logical blocks at S from FILE\n"
	"                                            (- for standard input); nothing is written\n"
	"                                            unless FILE holds all C blocks\n"
	"  log DEVICE --log smart|error|fw [--json]   read a log page\n"
	"\n"
	"options for every command:\n"
	"  --be NAME     backend config, one of list-backends (default: $NVP_BE, else by\n"
	"                the device: its driver, its node's kind, sim, nil)\n"
	"  --mem KIND    DMA memory: hugepages or libc (default: $NVP_MEM, else the config's)\n"
	"  -h, --help    this text\n";

static int die(const char *fmt, const char *arg)
{
	fprintf(stderr, "nvpoll: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	return 2;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "nsid", required_argument, NULL, 'n' }, { "slba", required_argument, NULL, 's' },
		{ "nlb", required_argument, NULL, 'c' },  { "data", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },	  { "be", required_argument, NULL, 'b' },
		{ "mem", required_argument, NULL, 'm' },  { "log", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },	  { NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	memset(a, 0, sizeof(*a));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (tool_parse_u64(optarg, TOOL_NUM_C, 0xfffffffe, &v) || v == 0)
				return die("--nsid '%s': expected a namespace id 1..4294967294", optarg);
			a->nsid = (uint32_t)v;
			a->have_nsid = 1;
			break;
		case 's':
			if (tool_parse_u64(optarg, TOOL_NUM_C, UINT64_MAX, &a->slba))
				return die("--slba '%s': expected a logical block address", optarg);
			a->have_slba = 1;
			break;
		case 'c':
			if (tool_parse_u64(optarg, TOOL_NUM_C, UINT32_MAX, &v) || v == 0)
				return die("--nlb '%s': expected a count of logical blocks, at least 1", optarg);
			a->nlb = (uint32_t)v;
			a->have_nlb = 1;
			break;
		case 'd': a->data = optarg; break;
		case 'j': a->fmt = OUT_JSON; break;
		case 'b': a->be = optarg; break;
		case 'm': a->mem = optarg; break;
		case 'l': a->log = optarg; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		default: return 2;
		}
	}
	if (optind >= argc || optind + 2 < argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	a->cmd = argv[optind];
	a->dev = optind + 1 < argc ? argv[optind + 1] : NULL;
	return 0;
}

enum { CMD_IDENTIFY, CMD_READ, CMD_WRITE, CMD_LOG, CMD_LIST, CMD_LIST_BACKENDS, NR_CMDS };
static const char *const cmd_names[NR_CMDS] = { "identify", "read", "write", "log", "list", "list-backends" };

static int check_rw_options(const char *cmd, const struct args *a)
{
	static const char *const names[] = { "--nsid", "--slba", "--nlb", "--data" };
	const int given[] = { a->have_nsid, a->have_slba, a->have_nlb, a->data != NULL };
	unsigned nr_missing = 0, shown = 0;
	char missing[64] = "";
	size_t off = 0;

	for (size_t k = 0; k < 4; k++)
		nr_missing += !given[k];
	if (!nr_missing)
		return 0;
	for (size_t k = 0; k < 4; k++) {
		if (given[k])
			continue;
		off += (size_t)snprintf(missing + off, sizeof(missing) - off, "%s%s",
					!shown ? "" : shown + 1 == nr_missing ? " and " : ", ", names[k]);
		shown++;
	}
	fprintf(stderr, "nvpoll: %s needs %s: nvpoll %s DEVICE --nsid N --slba S --nlb C --data FILE\n", cmd,
		missing, cmd);
	return 2;
}

/* What a command needs, checked before the device is opened: opening resets the controller. */
static int check_options(unsigned cmd, const struct args *a)
{
	if (cmd == CMD_READ || cmd == CMD_WRITE)
		return check_rw_options(cmd_names[cmd], a);
	if (cmd == CMD_LOG && !a->log)
		return die("%s", "log needs --log smart|error|fw");
	if (cmd == CMD_LOG && strcmp(a->log, "smart") && strcmp(a->log, "error") && strcmp(a->log, "fw"))
		return die("--log '%s': expected smart, error or fw", a->log);
	return 0;
}

static int run_on_device(unsigned cmd, const struct args *a)
{
	struct data_file data;
	struct nvp_opts opts;
	struct nvp_dev *dev;
	int rw = cmd == CMD_READ || cmd == CMD_WRITE, rc;

	if (rw && data_open(a->data, cmd == CMD_WRITE, &data))
		return 1;
	nvp_opts_init(&opts);
	opts.be = a->be;
	opts.mem = a->mem;
	dev = nvp_dev_open(a->dev, &opts);
	if (!dev) {
		fprintf(stderr, "nvpoll: %s\n", cli_errmsg());
		rc = 1;
	} else {
		switch (cmd) {
		case CMD_IDENTIFY: rc = cmd_identify(dev, a); break;
		case CMD_LOG: rc = cmd_log(dev, a); break;
		default: rc = cmd_rw(dev, a, cmd == CMD_WRITE, &data); break;
		}
		nvp_dev_close(dev);
	}
	if (rw && data_close(&data, cmd == CMD_WRITE))
		rc = 1;
	return rc;
}

int main(int argc, char **argv)
{
	struct args a;
	int rc = parse_args(argc, argv, &a);
	unsigned cmd;

	if (rc)
		return rc;
	for (cmd = 0; cmd < NR_CMDS && strcmp(cmd_names[cmd], a.cmd); cmd++)
		;
	if (cmd == NR_CMDS)
		return die("unknown command '%s' (nvpoll --help lists them)", a.cmd);
	if (cmd >= CMD_LIST && a.dev)
		return die("%s takes no DEVICE", a.cmd);
	if (cmd == CMD_LIST)
		return cmd_list(&a);
	if (cmd == CMD_LIST_BACKENDS)
		return cmd_list_backends(&a);
	if (!a.dev)
		return die("%s needs a DEVICE: a PCI address such as 0000:00:05.0 (nvpoll list), or sim", a.cmd);
	rc = check_options(cmd, &a);
	return rc ? rc : run_on_device(cmd, &a);
}
