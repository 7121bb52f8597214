/* SPDX-License-Identifier: MIT */
/*
 * nvpoll: the command line. Identify a controller, read its logs, read and
 * write logical blocks -- through the same library applications link.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nvpoll.h>
#include "tool.h"

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

struct args {
	const char *cmd, *dev, *data, *be, *mem, *log;
	uint32_t nsid;
	uint64_t slba;
	uint32_t nlb;
	int json, have_nsid, have_slba, have_nlb;
};

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
		case 'j': a->json = 1; break;
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

/* Identify strings are space padded, not terminated. */
static void fixed_str(char *out, const char *in, size_t len)
{
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\0'))
		len--;
	memcpy(out, in, len);
	out[len] = '\0';
}

static int cmd_identify(struct nvp_dev *dev, const struct args *a)
{
	const struct nvme_id_ctrl *id = nvp_dev_id_ctrl(dev);
	uint32_t vs = nvp_dev_vs(dev);
	const uint32_t *nsids;
	unsigned n = nvp_ns_list(dev, &nsids);
	char sn[21], mn[41], fr[9], ver[32];

	if (a->have_nsid && !nvp_ns_get(dev, a->nsid))
		return die("%s", nvp_errmsg());
	fixed_str(sn, id->sn, sizeof(id->sn));
	fixed_str(mn, id->mn, sizeof(id->mn));
	fixed_str(fr, id->fr, sizeof(id->fr));
	snprintf(ver, sizeof(ver), "%u.%u.%u", (unsigned)NVME_GET(vs, VS_MJR), (unsigned)NVME_GET(vs, VS_MNR),
		 (unsigned)NVME_GET(vs, VS_TER));
	if (a->json) {
		printf("{\"device\":");
		tool_json_str(a->dev);
		printf(",\"backend\":\"%s\",\"vid\":%u,\"ssvid\":%u,\"sn\":", nvp_dev_backend(dev), id->vid, id->ssvid);
		tool_json_str(sn);
		printf(",\"mn\":");
		tool_json_str(mn);
		printf(",\"fr\":");
		tool_json_str(fr);
		printf(",\"version\":\"%s\",\"mdts\":%u,\"max_xfer\":%zu,\"nn\":%u,\"oncs\":%u,\"vwc\":%u,"
		       "\"max_queue_depth\":%u,\"namespaces\":[",
		       ver, id->mdts, nvp_dev_max_xfer(dev), id->nn, id->oncs, id->vwc, nvp_dev_max_queue_depth(dev));
	} else {
		printf("vid      : 0x%04x\nssvid    : 0x%04x\nsn       : %s\nmn       : %s\nfr       : %s\n"
		       "version  : %s\nmdts     : %u (%zu bytes per command)\nnn       : %u\nbackend  : %s\n",
		       id->vid, id->ssvid, sn, mn, fr, ver, id->mdts, nvp_dev_max_xfer(dev), id->nn,
		       nvp_dev_backend(dev));
	}
	for (unsigned i = 0, shown = 0; i < n; i++) {
		const struct nvp_ns_info *ns = nvp_ns_info(nvp_ns_get(dev, nsids[i]));

		if (a->have_nsid && ns->nsid != a->nsid)
			continue;
		if (a->json)
			printf("%s{\"nsid\":%u,\"nsze\":%" PRIu64 ",\"ncap\":%" PRIu64 ",\"nuse\":%" PRIu64
			       ",\"lba_size\":%u,\"ms\":%u,\"lbaf\":%u}",
			       shown ? "," : "", ns->nsid, ns->nsze, ns->ncap, ns->nuse, ns->lba_size, ns->ms, ns->lbaf);
		else
			printf("namespace %u: nsze %" PRIu64 ", ncap %" PRIu64 ", nuse %" PRIu64
			       ", lba size %u, metadata %u\n",
			       ns->nsid, ns->nsze, ns->ncap, ns->nuse, ns->lba_size, ns->ms);
		shown++;
	}
	if (a->json)
		printf("]}\n");
	return 0;
}

struct sync_io {
	int done, err;
	uint16_t status;
};

static void sync_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct sync_io *s = arg;

	s->done = 1;
	s->err = err;
	s->status = nvp_cqe_status(cqe);
}

/* One read or write command, waited for. */
static int rw_chunk(struct nvp_qpair *qp, const struct nvp_ns *ns, int write, uint64_t slba, uint32_t nlb,
		    void *buf)
{
	struct sync_io s = { 0 };
	char status[96];
	int err;

	err = write ? nvp_write(qp, ns, slba, nlb, buf, sync_done, &s) : nvp_read(qp, ns, slba, nlb, buf, sync_done, &s);
	if (err)
		return die("%s", nvp_errmsg());
	while (!s.done)
		if (!nvp_qpair_poll(qp, 0))
			sched_yield(); /* a sim's thread (or valgrind's one CPU) needs the time */
	if (s.err) {
		fprintf(stderr, "nvpoll: %s of LBA %" PRIu64 "+%u failed: %s\n", write ? "write" : "read", slba, nlb,
			nvp_status_format(s.status, status, sizeof(status)));
		return 1;
	}
	return 0;
}

/*
 * The --data file of a read or write, opened before the device is (opening
 * resets the controller, so a bad path should cost nothing). "-" is standard
 * input or output.
 */
struct data_file {
	const char *name;	/* for messages */
	FILE *f;
	uint8_t *mem;		/* a write's input from a stream, read whole; else NULL */
	size_t off;		/* bytes of @mem handed out */
};

static int data_open(const char *path, int write, struct data_file *d)
{
	struct stat st;
	int fd;

	memset(d, 0, sizeof(*d));
	if (!strcmp(path, "-")) {
		d->name = write ? "standard input" : "standard output";
		d->f = write ? stdin : stdout;
		return 0;
	}
	d->name = path;
	/* No O_TRUNC: a read's output is truncated once the device is ready, not before. */
	fd = write ? open(path, O_RDONLY | O_CLOEXEC) : open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		fd = -1;
		errno = EISDIR;
	}
	d->f = fd >= 0 ? fdopen(fd, write ? "rb" : "wb") : NULL;
	if (!d->f) {
		fprintf(stderr, "nvpoll: cannot open %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	return 0;
}

/* Bytes left in a regular file from its position; -1 for a pipe, terminal, device. */
static long long regular_bytes_left(FILE *f)
{
	struct stat st;
	off_t pos;

	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode))
		return -1;
	pos = ftello(f);
	return pos >= 0 && st.st_size > pos ? (long long)(st.st_size - pos) : 0;
}

/*
 * All @total bytes a write needs are there before its first command goes out:
 * a regular file by its size, any other input read into memory whole.
 */
static int data_check_input(struct data_file *d, size_t total, uint32_t nlb, uint32_t lba_size)
{
	long long left = regular_bytes_left(d->f);
	size_t have;

	if (left >= 0) {
		have = (unsigned long long)left < total ? (size_t)left : total;
	} else {
		d->mem = malloc(total);
		if (!d->mem) {
			fprintf(stderr, "nvpoll: no memory to hold the %zu bytes of %s before writing them: "
				"nothing was written; write from a regular file instead\n", total, d->name);
			return 1;
		}
		have = fread(d->mem, 1, total, d->f);
		if (have < total && ferror(d->f)) {
			fprintf(stderr, "nvpoll: reading %s: %s: nothing was written\n", d->name, strerror(errno));
			return 1;
		}
	}
	if (have < total) {
		fprintf(stderr, "nvpoll: %s holds %zu bytes, less than the %zu bytes (%u blocks of %u) that "
			"--nlb %u asks for: nothing was written\n", d->name, have, total, nlb, lba_size, nlb);
		return 1;
	}
	return 0;
}

static int data_read(struct data_file *d, void *buf, size_t bytes)
{
	if (!d->mem)
		return fread(buf, 1, bytes, d->f) == bytes ? 0 : -1;
	memcpy(buf, d->mem + d->off, bytes);
	d->off += bytes;
	return 0;
}

/* A read's output starts empty, now that the device is ready to fill it. */
static int data_truncate(struct data_file *d)
{
	struct stat st;

	if (fstat(fileno(d->f), &st) || !S_ISREG(st.st_mode) || ftruncate(fileno(d->f), 0) == 0)
		return 0;
	fprintf(stderr, "nvpoll: cannot truncate %s: %s\n", d->name, strerror(errno));
	return 1;
}

/* Returns 1 if a read's output could not be completed; the input's close is not checked. */
static int data_close(struct data_file *d, int write)
{
	int err = d->f == stdin || d->f == stdout ? fflush(d->f) : fclose(d->f);

	free(d->mem);
	if (err && !write) {
		fprintf(stderr, "nvpoll: closing %s: %s\n", d->name, strerror(errno));
		return 1;
	}
	return 0;
}

/* The input ran out or failed after the size check passed: it shrank, or an I/O error. */
static void input_failed(const struct data_file *d, const struct args *a, size_t done)
{
	const char *why = ferror(d->f) ? strerror(errno) : "it ended early";

	if (!done)
		fprintf(stderr, "nvpoll: reading %s failed: %s: nothing was written\n", d->name, why);
	else
		fprintf(stderr, "nvpoll: reading %s failed: %s: LBAs %" PRIu64 "..%" PRIu64 " (%zu of the %u "
			"blocks) were written, the rest were not\n", d->name, why, a->slba, a->slba + done - 1,
			done, a->nlb);
}

/* The namespace, and the LBA range inside it. */
static const struct nvp_ns_info *rw_ns(struct nvp_dev *dev, const struct args *a, const struct nvp_ns **ns)
{
	const struct nvp_ns_info *info;

	*ns = nvp_ns_get(dev, a->nsid);
	if (!*ns) {
		fprintf(stderr, "nvpoll: %s\n", nvp_errmsg());
		return NULL;
	}
	info = nvp_ns_info(*ns);
	if (a->slba >= info->nsze || a->nlb > info->nsze - a->slba) {
		fprintf(stderr, "nvpoll: LBAs %" PRIu64 "..+%u are past the end of namespace %u (%" PRIu64 " blocks)\n",
			a->slba, a->nlb, a->nsid, info->nsze);
		return NULL;
	}
	return info;
}

/* Moves the blocks, one command of at most the controller's largest transfer at a time. */
static int rw_loop(struct nvp_qpair *qp, const struct nvp_ns *ns, const struct args *a, int write,
		   struct data_file *d, void *buf, size_t chunk_blocks, uint32_t lba_size)
{
	size_t done_blocks = 0;

	while (done_blocks < a->nlb) {
		uint32_t n = (uint32_t)(a->nlb - done_blocks < chunk_blocks ? a->nlb - done_blocks : chunk_blocks);
		size_t bytes = (size_t)n * lba_size;

		if (write && data_read(d, buf, bytes)) {
			input_failed(d, a, done_blocks);
			return 1;
		}
		if (rw_chunk(qp, ns, write, a->slba + done_blocks, n, buf))
			return 1;
		if (!write && fwrite(buf, 1, bytes, d->f) != bytes) {
			fprintf(stderr, "nvpoll: writing %s: %s\n", d->name, strerror(errno));
			return 1;
		}
		done_blocks += n;
	}
	return 0;
}

static int cmd_rw(struct nvp_dev *dev, const struct args *a, int write, struct data_file *d)
{
	const struct nvp_ns *ns;
	const struct nvp_ns_info *info = rw_ns(dev, a, &ns);
	struct nvp_qpair *qp;
	size_t chunk_blocks;
	void *buf;
	int rc = 1;

	if (!info)
		return 1;
	if (write ? data_check_input(d, (size_t)a->nlb * info->lba_size, a->nlb, info->lba_size) : data_truncate(d))
		return 1;
	chunk_blocks = nvp_dev_max_xfer(dev) / info->lba_size;
	qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 2 });
	buf = qp ? nvp_dma_alloc(dev, chunk_blocks * info->lba_size) : NULL;
	if (!buf)
		fprintf(stderr, "nvpoll: %s%s\n", nvp_errmsg(), write ? ": nothing was written" : "");
	else
		rc = rw_loop(qp, ns, a, write, d, buf, chunk_blocks, info->lba_size);
	if (buf)
		nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
	return rc;
}

/* 128-bit little-endian SMART counter; saturates at UINT64_MAX for printing. */
static uint64_t le128(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 15; i >= 8; i--)
		if (b[i])
			return UINT64_MAX;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static int cmd_log(struct nvp_dev *dev, const struct args *a)
{
	union {
		struct nvme_smart_log smart;
		struct nvme_error_log err[8];
		struct nvme_fw_slot_log fw;
	} u;
	int err;

	/* check_options() vetted --log before the device was opened. */
	if (strcmp(a->log, "smart") == 0) {
		err = nvp_get_log_page(dev, 0xffffffff, NVME_LOG_SMART, &u.smart, sizeof(u.smart));
		if (err)
			return die("%s", nvp_errmsg());
		const struct nvme_smart_log *s = &u.smart;
		unsigned temp = (unsigned)(s->temperature[0] | s->temperature[1] << 8);

		printf(a->json ? "{\"critical_warning\":%u,\"temperature_k\":%u,\"avail_spare\":%u,\"percent_used\":%u,"
				 "\"data_units_read\":%" PRIu64 ",\"data_units_written\":%" PRIu64
				 ",\"host_reads\":%" PRIu64 ",\"host_writes\":%" PRIu64 ",\"power_cycles\":%" PRIu64
				 ",\"unsafe_shutdowns\":%" PRIu64 ",\"media_errors\":%" PRIu64 "}\n"
			       : "critical_warning   : %#x\ntemperature        : %u K\navail_spare        : %u%%\n"
				 "percent_used       : %u%%\ndata_units_read    : %" PRIu64 "\ndata_units_written : %" PRIu64
				 "\nhost_reads         : %" PRIu64 "\nhost_writes        : %" PRIu64
				 "\npower_cycles       : %" PRIu64 "\nunsafe_shutdowns   : %" PRIu64
				 "\nmedia_errors       : %" PRIu64 "\n",
		       s->critical_warning, temp, s->avail_spare, s->percent_used, le128(s->data_units_read),
		       le128(s->data_units_written), le128(s->host_reads), le128(s->host_writes),
		       le128(s->power_cycles), le128(s->unsafe_shutdowns), le128(s->media_errors));
	} else if (strcmp(a->log, "error") == 0) {
		err = nvp_get_log_page(dev, 0, NVME_LOG_ERROR, u.err, sizeof(u.err));
		if (err)
			return die("%s", nvp_errmsg());
		printf(a->json ? "[" : "");
		for (unsigned i = 0, shown = 0; i < 8; i++) {
			const struct nvme_error_log *e = &u.err[i];
			char status[96];

			if (!e->error_count)
				continue;
			if (a->json)
				printf("%s{\"error_count\":%" PRIu64 ",\"sqid\":%u,\"cid\":%u,\"status\":%u,\"lba\":%" PRIu64
				       ",\"nsid\":%u}", shown ? "," : "", e->error_count, e->sqid, e->cid, e->status >> NVME_CQE_STATUS_SHIFT,
				       e->lba, e->nsid);
			else
				printf("#%" PRIu64 ": sqid %u cid %u nsid %u lba %" PRIu64 ": %s\n", e->error_count, e->sqid,
				       e->cid, e->nsid, e->lba, nvp_status_format((uint16_t)(e->status >> NVME_CQE_STATUS_SHIFT), status, sizeof(status)));
			shown++;
		}
		printf(a->json ? "]\n" : "");
	} else if (strcmp(a->log, "fw") == 0) {
		err = nvp_get_log_page(dev, 0, NVME_LOG_FW_SLOT, &u.fw, sizeof(u.fw));
		if (err)
			return die("%s", nvp_errmsg());
		printf(a->json ? "{\"active_slot\":%u,\"slots\":[" : "active slot: %u\n", u.fw.afi & 7);
		for (int i = 0; i < 7; i++) {
			char fr[9];

			fixed_str(fr, u.fw.frs[i], 8);
			if (a->json) {
				printf(i ? "," : "");
				tool_json_str(fr);
			} else if (fr[0]) {
				printf("slot %d: %s\n", i + 1, fr);
			}
		}
		printf(a->json ? "]}\n" : "");
	}
	return 0;
}

static int cmd_list_backends(const struct args *a)
{
	struct nvp_backend_info be[NVP_MAX_BACKENDS];
	unsigned n = nvp_backends(be, NVP_MAX_BACKENDS);

	if (n > NVP_MAX_BACKENDS)
		n = NVP_MAX_BACKENDS;
	if (a->json)
		printf("[");
	else
		printf("%-12s %-6s %-16s %-15s %s\n", "CONFIG", "USABLE", "DRIVER", "MEMORY", "WHY");
	for (unsigned i = 0; i < n; i++) {
		if (a->json) {
			printf("%s{\"name\":", i ? "," : "");
			tool_json_str(be[i].name);
			printf(",\"driver\":");
			tool_json_str_or_null(be[i].driver);
			printf(",\"default_mem\":");
			tool_json_str(be[i].default_mem);
			printf(",\"mems\":");
			tool_json_str(be[i].mems);
			printf(",\"usable\":%s,\"reason\":", be[i].usable ? "true" : "false");
			tool_json_str(be[i].reason);
			printf("}");
		} else {
			printf("%-12s %-6s %-16s %-15s %s\n", be[i].name, be[i].usable ? "yes" : "no",
			       be[i].driver ? be[i].driver : "-", be[i].mems, be[i].reason);
		}
	}
	if (a->json)
		printf("]\n");
	return 0;
}

static void list_json(const struct nvp_pci_info *d, unsigned idx)
{
	printf("%s{\"bdf\":", idx ? "," : "");
	tool_json_str(d->bdf);
	printf(",\"vendor_id\":\"%04x\",\"device_id\":\"%04x\",\"subsys_vendor_id\":\"%04x\","
	       "\"subsys_device_id\":\"%04x\",\"vendor\":", d->vendor_id, d->device_id, d->subsys_vendor_id,
	       d->subsys_device_id);
	tool_json_str_or_null(d->vendor);
	printf(",\"device\":");
	tool_json_str_or_null(d->device);
	printf(",\"numa_node\":");
	tool_json_index_or_null(d->numa_node);
	printf(",\"driver\":");
	tool_json_str_or_null(d->driver);
	printf(",\"iommu_group\":");
	tool_json_index_or_null(d->iommu_group);
	printf(",\"iommu_type\":");
	tool_json_str_or_null(d->iommu_type);
	printf(",\"backend\":");
	tool_json_str_or_null(d->backend);
	printf(",\"usable\":[");
	for (unsigned k = 0; k < d->nr_usable; k++) {
		printf(k ? "," : "");
		tool_json_str(d->usable[k]);
	}
	printf("],\"reason\":");
	tool_json_str_or_null(d->reason);
	printf("}");
}

static void list_text(const struct nvp_pci_info *d)
{
	char numa[16] = "-", group[32] = "-", usable[128] = "";
	size_t off = 0;

	if (d->numa_node >= 0)
		snprintf(numa, sizeof(numa), "%d", d->numa_node);
	if (d->iommu_group >= 0)
		snprintf(group, sizeof(group), "%d%s%s%s", d->iommu_group, d->iommu_type[0] ? " (" : "",
			 d->iommu_type, d->iommu_type[0] ? ")" : "");
	for (unsigned k = 0; k < d->nr_usable && off < sizeof(usable); k++)
		off += (size_t)snprintf(usable + off, sizeof(usable) - off, "%s%s", k ? "," : "", d->usable[k]);
	printf("%-13s %04x:%04x  %-4s %-16s %-14s %-12s %s%s%s\n", d->bdf, d->vendor_id, d->device_id, numa,
	       d->driver[0] ? d->driver : "-", group, d->nr_usable ? usable : "none", d->vendor,
	       d->vendor[0] && d->device[0] ? " " : "", d->device);
	if (!d->nr_usable && d->reason[0])
		printf("              %s\n", d->reason);
}

static int cmd_list(const struct args *a)
{
	struct nvp_pci_info *list;
	int n = nvp_enumerate(&list);

	if (n < 0) {
		fprintf(stderr, "nvpoll: %s\n", nvp_errmsg());
		return 1;
	}
	if (a->json)
		printf("{\"controllers\":[");
	else if (n)
		printf("%-13s %-10s %-4s %-16s %-14s %-12s %s\n", "BDF", "ID", "NUMA", "DRIVER", "IOMMU GROUP",
		       "CAN OPEN", "NAME");
	else
		printf("no NVMe controllers (PCI class 01:08:02) found\n");
	for (int i = 0; i < n; i++) {
		if (a->json)
			list_json(&list[i], (unsigned)i);
		else
			list_text(&list[i]);
	}
	if (a->json)
		printf("]}\n");
	free(list);
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
		fprintf(stderr, "nvpoll: %s\n", nvp_errmsg());
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
