/* SPDX-License-Identifier: MIT */
/*
 * The I/O commands: read, write, compare, flush, write-zeroes, dsm and
 * io-passthru, each on one I/O queue pair, one command at a time.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvpoll.h"

/* The --data file, opened by the check before the device is (opening resets the controller). */
static struct data_file data;
static int data_is_open;

struct sync_io {
	int done, err;
	uint16_t status;
	uint32_t dw0;
};

static void sync_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct sync_io *s = arg;

	s->done = 1;
	s->err = err;
	s->status = nvp_cqe_status(cqe);
	s->dw0 = cqe->dw0;
}

/* Waits for the command that @err says was posted (or not). 0, or EXIT_FAIL having said why. */
static int io_wait(struct nvp_qpair *qp, int err, struct sync_io *s, const char *what)
{
	char status[96];

	if (err)
		return op_error("%s: %s", what, cli_errmsg());
	while (!s->done)
		if (!nvp_qpair_poll(qp, 0))
			sched_yield(); /* a sim's thread (or valgrind's one CPU) needs the time */
	if (s->err) {
		if (s->err == -EIO)
			return op_error("%s failed: %s", what, nvp_status_format(s->status, status, sizeof(status)));
		return op_error("%s failed: %s", what, strerror(-s->err));
	}
	return 0;
}

/* One read or write command, waited for. */
static int rw_chunk(struct nvp_qpair *qp, const struct nvp_ns *ns, int write, uint64_t slba, uint32_t nlb,
		    void *buf)
{
	struct sync_io s = { 0 };
	char what[96];
	int err;

	err = write ? nvp_write(qp, ns, slba, nlb, buf, sync_done, &s) : nvp_read(qp, ns, slba, nlb, buf, sync_done, &s);
	snprintf(what, sizeof(what), "%s of LBA %" PRIu64 "+%u", write ? "write" : "read", slba, nlb);
	return io_wait(qp, err, &s, what);
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

/*
 * The namespace (--nsid, or the DEVICE's), and with @range the LBA range
 * --slba/--nlb inside it. NULL, with *@rc the exit status, when it fails.
 */
static const struct nvp_ns_info *io_ns(struct nvp_dev *dev, const struct args *a, int range,
				       const struct nvp_ns **ns, int *rc)
{
	const struct nvp_ns_info *info;
	uint32_t nsid;

	*rc = cmd_nsid_needed(dev, a, &nsid);
	if (*rc)
		return NULL;
	*rc = EXIT_FAIL;
	*ns = nvp_ns_get(dev, nsid);
	if (!*ns) {
		op_error("namespace %u: %s", nsid, cli_errmsg());
		return NULL;
	}
	info = nvp_ns_info(*ns);
	if (range && (a->slba >= info->nsze || a->nlb > info->nsze - a->slba)) {
		op_error("LBAs %" PRIu64 "..+%u are past the end of namespace %u (%" PRIu64 " blocks)", a->slba,
			 a->nlb, nsid, info->nsze);
		return NULL;
	}
	*rc = 0;
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

int cmd_rw(struct nvp_dev *dev, const struct args *a, int write, struct data_file *d)
{
	const struct nvp_ns *ns;
	struct nvp_qpair *qp;
	size_t chunk_blocks;
	void *buf;
	int rc;
	const struct nvp_ns_info *info = io_ns(dev, a, 1, &ns, &rc);

	if (!info)
		return rc;
	if (write ? data_check_input(d, (size_t)a->nlb * info->lba_size, a->nlb, info->lba_size) : data_truncate(d))
		return EXIT_FAIL;
	rc = EXIT_FAIL;
	chunk_blocks = nvp_dev_max_xfer(dev) / info->lba_size;
	qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 2 });
	buf = qp ? nvp_dma_alloc(dev, chunk_blocks * info->lba_size) : NULL;
	if (!buf)
		fprintf(stderr, "nvpoll: %s%s\n", cli_errmsg(), write ? ": nothing was written" : "");
	else
		rc = rw_loop(qp, ns, a, write, d, buf, chunk_blocks, info->lba_size);
	if (buf)
		nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
	return rc;
}

/* ---- checks before the device is opened ---------------------------------------- */

static int check_needs(const char *cmd, const char *usage, const char *const *names, const int *given, size_t n)
{
	unsigned nr_missing = 0, shown = 0;
	char missing[96] = "";
	size_t off = 0;

	for (size_t k = 0; k < n; k++)
		nr_missing += !given[k];
	if (!nr_missing)
		return 0;
	for (size_t k = 0; k < n; k++) {
		if (given[k])
			continue;
		off += (size_t)snprintf(missing + off, sizeof(missing) - off, "%s%s",
					!shown ? "" : shown + 1 == nr_missing ? " and " : ", ", names[k]);
		shown++;
	}
	return usage_error("%s needs %s: nvpoll %s DEVICE %s", cmd, missing, cmd, usage);
}

/* --nsid, or a DEVICE that names its namespace: /ns=N, or a kernel node (known once open). */
static int nsid_given(const struct args *a)
{
	return a->have_nsid || strstr(a->dev, "/ns=") || !strncmp(a->dev, "/dev/", 5);
}

static int check_range(const struct args *a, int with_data)
{
	static const char *const names[] = { "--nsid", "--slba", "--nlb", "--data" };
	const int given[] = { nsid_given(a), a->have_slba, a->have_nlb, a->data != NULL };

	return check_needs(a->cmd, with_data ? "--nsid N --slba S --nlb C --data FILE" : "--nsid N --slba S --nlb C",
			   names, given, with_data ? 4 : 3);
}

/* read and write: the file too, so a bad path costs no controller reset. */
static int check_rw(const struct args *a)
{
	int rc = check_range(a, 1);

	if (rc)
		return rc;
	if (data_open(a->data, strcmp(a->cmd, "read") != 0, &data))
		return EXIT_FAIL;
	data_is_open = 1;
	return 0;
}

static int finish_data(const struct args *a, int rc)
{
	if (data_is_open && data_close(&data, strcmp(a->cmd, "read") != 0))
		rc = rc ? rc : EXIT_FAIL;
	data_is_open = 0;
	return rc;
}

static int run_read(struct nvp_dev *dev, const struct args *a)
{
	return cmd_rw(dev, a, 0, &data);
}

static int run_write(struct nvp_dev *dev, const struct args *a)
{
	return cmd_rw(dev, a, 1, &data);
}

/* ---- compare ---------------------------------------------------------------- */

static int run_compare(struct nvp_dev *dev, const struct args *a)
{
	const struct nvp_ns *ns;
	struct nvp_qpair *qp;
	size_t chunk, done = 0;
	uint8_t *buf;
	int rc;
	const struct nvp_ns_info *info = io_ns(dev, a, 1, &ns, &rc);

	if (!info)
		return rc;
	if (data_check_input(&data, (size_t)a->nlb * info->lba_size, a->nlb, info->lba_size))
		return EXIT_FAIL;
	chunk = nvp_dev_max_xfer(dev) / info->lba_size;
	if (chunk > 65536)
		chunk = 65536;
	qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 2 });
	buf = qp ? nvp_dma_alloc(dev, chunk * info->lba_size) : NULL;
	rc = buf ? 0 : op_error("%s", cli_errmsg());
	while (!rc && done < a->nlb) {
		uint32_t n = (uint32_t)(a->nlb - done < chunk ? a->nlb - done : chunk);
		struct nvme_sqe cmd = { .opc = NVME_CMD_COMPARE, .nsid = info->nsid };
		struct sync_io s = { 0 };
		uint64_t slba = a->slba + done;
		char what[96];

		if (data_read(&data, buf, (size_t)n * info->lba_size)) {
			rc = op_error("reading %s failed: it ended early", data.name);
			break;
		}
		cmd.cdw10 = (uint32_t)slba;
		cmd.cdw11 = (uint32_t)(slba >> 32);
		cmd.cdw12 = n - 1;
		snprintf(what, sizeof(what), "compare of LBA %" PRIu64 "+%u", slba, n);
		/* A mismatch is "Compare Failure" (SCT 2h / SC 85h): exit 1, with the status said. */
		rc = io_wait(qp, nvp_io_cmd(qp, &cmd, buf, (size_t)n * info->lba_size, sync_done, &s), &s, what);
		done += n;
	}
	if (!rc)
		printf("compare: LBAs %" PRIu64 "..%" PRIu64 " of namespace %u hold the data of %s\n", a->slba,
		       a->slba + a->nlb - 1, info->nsid, data.name);
	if (buf)
		nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
	return rc;
}

/* ---- flush, write-zeroes, dsm --------------------------------------------------- */

static int run_flush(struct nvp_dev *dev, const struct args *a)
{
	const uint32_t *ids;
	unsigned n = nvp_ns_list(dev, &ids);
	struct nvp_qpair *qp;
	uint32_t nsid;
	int rc = 0;

	if (cmd_nsid(dev, a, &nsid))
		return EXIT_USAGE;
	qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 2 });
	if (!qp)
		return op_error("%s", cli_errmsg());
	/* No namespace named: every active one, as the kernel does on a controller flush. */
	for (unsigned i = 0; i < n && !rc; i++) {
		struct sync_io s = { 0 };
		char what[48];

		if (nsid && ids[i] != nsid)
			continue;
		snprintf(what, sizeof(what), "flush of namespace %u", ids[i]);
		rc = io_wait(qp, nvp_flush(qp, nvp_ns_get(dev, ids[i]), sync_done, &s), &s, what);
		if (!rc)
			printf("NVMe Flush: success (namespace %u)\n", ids[i]);
	}
	if (nsid && !nvp_ns_get(dev, nsid))
		rc = op_error("namespace %u: %s", nsid, cli_errmsg());
	nvp_qpair_destroy(qp);
	return rc;
}

static int run_write_zeroes(struct nvp_dev *dev, const struct args *a)
{
	const struct nvp_ns *ns;
	struct nvp_qpair *qp;
	uint64_t done = 0;
	int rc;
	const struct nvp_ns_info *info = io_ns(dev, a, 1, &ns, &rc);

	if (!info)
		return rc;
	qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 2 });
	if (!qp)
		return op_error("%s", cli_errmsg());
	while (!rc && done < a->nlb) {
		uint32_t n = (uint32_t)(a->nlb - done < 65536 ? a->nlb - done : 65536);
		struct sync_io s = { 0 };

		rc = io_wait(qp, nvp_write_zeroes(qp, ns, a->slba + done, n, sync_done, &s), &s, "write-zeroes");
		done += n;
	}
	if (!rc) {
		char size[32];

		printf("NVMe Write Zeroes: success: LBAs %" PRIu64 "..%" PRIu64 " (%s) of namespace %u\n", a->slba,
		       a->slba + a->nlb - 1, human_size((uint64_t)a->nlb * info->lba_size, size, sizeof(size)), info->nsid);
	}
	nvp_qpair_destroy(qp);
	return rc;
}

static int check_wz(const struct args *a)
{
	return check_range(a, 0);
}

static int check_dsm(const struct args *a)
{
	int rc = check_range(a, 0);

	if (!rc && !a->ad)
		rc = usage_error("dsm needs --ad (deallocate), the one attribute nvpoll sends: "
				 "nvpoll dsm DEVICE --nsid N --slba S --nlb C --ad");
	return rc;
}

static int run_dsm(struct nvp_dev *dev, const struct args *a)
{
	const struct nvp_ns *ns;
	struct nvp_qpair *qp;
	struct nvme_dsm_range *r;
	struct sync_io s = { 0 };
	int rc;
	const struct nvp_ns_info *info = io_ns(dev, a, 1, &ns, &rc);

	if (!info)
		return rc;
	qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 2 });
	r = qp ? nvp_dma_alloc(dev, 4096) : NULL;
	if (!r) {
		rc = op_error("%s", cli_errmsg());
	} else {
		memset(r, 0, sizeof(*r));
		r->slba = a->slba;
		r->nlb = a->nlb;
		rc = io_wait(qp, nvp_dsm(qp, ns, r, 1, sync_done, &s), &s, "dsm (deallocate)");
		if (!rc)
			printf("NVMe DSM: success: deallocated LBAs %" PRIu64 "..%" PRIu64 " of namespace %u\n", a->slba,
			       a->slba + a->nlb - 1, info->nsid);
		nvp_dma_free(dev, r);
	}
	nvp_qpair_destroy(qp);
	return rc;
}

/* ---- io-passthru ------------------------------------------------------------ */

int check_passthru(const struct args *a)
{
	if (!a->have_opcode)
		return usage_error("%s needs --opcode: nvpoll %s DEVICE --opcode OPC [--nsid N] [--cdw2 .. --cdw15 V] "
				   "[--data-len BYTES --read|--write] [--data FILE]", a->cmd, a->cmd);
	if (a->dir_read && a->dir_write)
		return usage_error("%s: --read and --write both given; a command moves data one way", a->cmd);
	if ((a->dir_read || a->dir_write || a->data) && !a->data_len)
		return usage_error("%s: --data-len BYTES says how much data the command moves", a->cmd);
	if (a->dir_write && !a->data)
		return usage_error("%s --write needs --data FILE (- for standard input)", a->cmd);
	if (a->data) {
		if (data_open(a->data, a->dir_write, &data))
			return EXIT_FAIL;
		data_is_open = 1;
	}
	return 0;
}

int passthru_finish(const struct args *a, int rc)
{
	if (data_is_open && data_close(&data, a->dir_write))
		rc = rc ? rc : EXIT_FAIL;
	data_is_open = 0;
	return rc;
}

/* The command of --opcode and --cdwN; data direction from --read/--write, else the opcode's bits 1:0. */
void passthru_sqe(const struct args *a, uint32_t nsid, struct nvme_sqe *cmd, int *to_ctrl, int *from_ctrl)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->opc = (uint8_t)a->opcode;
	cmd->nsid = nsid;
	cmd->cdw2 = a->cdw[2];
	cmd->cdw3 = a->cdw[3];
	cmd->cdw10 = a->cdw[10];
	cmd->cdw11 = a->cdw[11];
	cmd->cdw12 = a->cdw[12];
	cmd->cdw13 = a->cdw[13];
	cmd->cdw14 = a->cdw[14];
	cmd->cdw15 = a->cdw[15];
	*to_ctrl = a->dir_write || (!a->dir_read && (a->opcode & 3) == 1);
	*from_ctrl = a->dir_read || (!a->dir_write && (a->opcode & 3) == 2);
	if (!a->data_len)
		*to_ctrl = *from_ctrl = 0;
}

/* The data a passthru command brought back: to --data, raw with -b, else a hex dump. */
int passthru_output(const struct args *a, uint32_t dw0, const void *buf, size_t len, int from_ctrl)
{
	if (a->fmt == OUT_JSON) {
		js_open(NULL, '{');
		js_u64("result", dw0);
		js_u64("data_len", from_ctrl ? len : 0);
		js_close('}');
		js_end();
	} else if (a->fmt == OUT_NORMAL) {
		printf("NVMe command result:%08x\n", dw0);
	}
	if (!from_ctrl || !len)
		return 0;
	if (data_is_open)
		return fwrite(buf, 1, len, data.f) == len ? 0 : op_error("writing %s: %s", data.name, strerror(errno));
	if (a->fmt == OUT_BINARY)
		return write_binary(buf, len);
	if (a->fmt == OUT_NORMAL)
		hex_dump(buf, len);
	return 0;
}

/* The data a passthru command sends: --data-len bytes of --data. */
int passthru_input(const struct args *a, void *buf)
{
	if (data_check_input(&data, a->data_len, 0, 0))
		return EXIT_FAIL;
	return data_read(&data, buf, a->data_len) ? op_error("reading %s failed", data.name) : 0;
}

static int run_io_passthru(struct nvp_dev *dev, const struct args *a)
{
	struct nvp_qpair *qp;
	struct nvme_sqe cmd;
	struct sync_io s = { 0 };
	int to_ctrl, from_ctrl, rc;
	void *buf = NULL;
	uint32_t nsid;

	if (cmd_nsid(dev, a, &nsid))
		return EXIT_USAGE;
	passthru_sqe(a, nsid, &cmd, &to_ctrl, &from_ctrl);
	qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 2 });
	if (qp && a->data_len && !(buf = nvp_dma_alloc(dev, a->data_len)))
		rc = op_error("%s", cli_errmsg());
	else if (!qp)
		rc = op_error("%s", cli_errmsg());
	else
		rc = 0;
	if (!rc && buf)
		memset(buf, 0, a->data_len);
	if (!rc && to_ctrl)
		rc = passthru_input(a, buf);
	if (!rc)
		rc = io_wait(qp, nvp_io_cmd(qp, &cmd, buf, a->data_len, sync_done, &s), &s, "io-passthru");
	if (!rc)
		rc = passthru_output(a, s.dw0, buf, a->data_len, from_ctrl);
	if (buf)
		nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
	return rc;
}

const struct cmd io_cmds[] = {
	{ "read", "DEVICE --nsid N --slba S --nlb C --data FILE", "read C blocks from S into FILE (- for stdout)",
	  0, check_rw, run_read, finish_data },
	{ "write", "DEVICE --nsid N --slba S --nlb C --data FILE",
	  "write C blocks at S from FILE (- for stdin); nothing unless FILE holds all C", 0, check_rw, run_write,
	  finish_data },
	{ "compare", "DEVICE --nsid N --slba S --nlb C --data FILE", "do the blocks hold FILE's data? (exit 1: no)",
	  0, check_rw, run_compare, finish_data },
	{ "flush", "DEVICE [--nsid N]", "commit the volatile write cache (every namespace without --nsid)",
	  0, NULL, run_flush, NULL },
	{ "write-zeroes", "DEVICE --nsid N --slba S --nlb C", "zero C blocks from S", 0, check_wz,
	  run_write_zeroes, NULL },
	{ "dsm", "DEVICE --nsid N --slba S --nlb C --ad", "deallocate (trim) C blocks from S", 0, check_dsm,
	  run_dsm, NULL },
	{ "io-passthru", "DEVICE --opcode OPC [--nsid N] [--cdwN V] [--data-len L --read|--write --data F]",
	  "any I/O command", 0, check_passthru, run_io_passthru, passthru_finish },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL },
};
