/* SPDX-License-Identifier: MIT */
/*
 * The controller commands: format, reset, show-regs and admin-passthru.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvpoll.h"

/* ---- format ----------------------------------------------------------------- */

static int check_format(const struct args *a)
{
	if (!a->have_lbaf)
		return usage_error("format needs --lbaf N (id-ns lists the formats): nvpoll format DEVICE --nsid N "
				   "--lbaf N [--ses S] --force");
	if (a->ses > 2)
		return usage_error("--ses %u: expected 0 (no secure erase), 1 (user data erase) or 2 (cryptographic "
				   "erase)", a->ses);
	if (!a->force)
		return usage_error("format erases every block of the namespace: add --force to say so");
	return 0;
}

static void show_ns(const struct nvp_ns_info *ns)
{
	char size[32];

	printf("namespace %u: %" PRIu64 " blocks of %u bytes (%s), LBA format %u\n", ns->nsid, ns->nsze,
	       ns->lba_size, human_size(ns->nsze * ns->lba_size, size, sizeof(size)), ns->lbaf);
}

static int run_format(struct nvp_dev *dev, const struct args *a)
{
	_Alignas(4096) static struct nvme_id_ns id;
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_FORMAT_NVM };
	struct nvme_cqe cqe = { 0 };
	const uint32_t *ids;
	uint32_t nsid;
	char status[96];
	unsigned n;
	int rc = cmd_nsid_needed(dev, a, &nsid);

	if (rc)
		return rc;
	if (!(nvp_dev_id_ctrl(dev)->oacs & NVME_OACS_FORMAT))
		return op_error("the controller does not support Format NVM (Identify OACS bit 1 is 0)");
	if (nsid != 0xffffffff) {
		if (nvp_identify(dev, NVME_ID_CNS_NS, nsid, &id))
			return op_error("namespace %u: %s", nsid, cli_errmsg());
		if (a->lbaf > id.nlbaf)
			return op_error("--lbaf %u: namespace %u has LBA formats 0..%u (nvpoll id-ns lists them)", a->lbaf,
					nsid, id.nlbaf);
	}
	cmd.nsid = nsid;
	cmd.cdw10 = (a->lbaf & 0xf) | (a->lbaf >> 4 & 3) << 12 | a->ses << 9;
	if (nvp_admin_cmd(dev, &cmd, NULL, 0, &cqe)) {
		if (cqe.status)
			return op_error("format of namespace %#x to LBA format %u: %s", nsid, a->lbaf,
					nvp_status_format(nvp_cqe_status(&cqe), status, sizeof(status)));
		return op_error("format: %s", cli_errmsg());
	}
	printf("Success formatting namespace:%x\n", nsid);
	/* nvp_admin_cmd() read the namespaces again after the format: their new sizes. */
	n = nvp_ns_list(dev, &ids);
	for (unsigned i = 0; i < n; i++)
		if (nsid == 0xffffffff || ids[i] == nsid)
			show_ns(nvp_ns_info(nvp_ns_get(dev, ids[i])));
	return 0;
}

/* ---- reset ------------------------------------------------------------------ */

static int run_reset(struct nvp_dev *dev, const struct args *a)
{
	(void)a;
	if (nvp_ctrl_reset(dev))
		return op_error("%s", cli_errmsg());
	printf("controller reset: done, %s ready again\n", a->dev);
	return 0;
}

/* ---- show-regs -------------------------------------------------------------- */

static void reg_human(const struct nvp_regs *r)
{
	uint64_t cap = r->cap;

	printf("cap     : %#" PRIx64 "\n", cap);
	printf("\tController Ready With Media Support (CRWMS): %u\n", (unsigned)(cap >> 59 & 1));
	printf("\tController Memory Buffer Supported (CMBS): %u\n", (unsigned)(cap >> 57 & 1));
	printf("\tPersistent Memory Region Supported (PMRS): %u\n", (unsigned)(cap >> 56 & 1));
	printf("\tMemory Page Size Maximum (MPSMAX): %u bytes\n", 1u << (12 + (cap >> 52 & 0xf)));
	printf("\tMemory Page Size Minimum (MPSMIN): %u bytes\n", 1u << (12 + (cap >> 48 & 0xf)));
	printf("\tBoot Partition Support (BPS): %u\n", (unsigned)(cap >> 45 & 1));
	printf("\tCommand Sets Supported (CSS): NVM %s, I/O command sets %s, admin only %s\n",
	       cap >> 37 & 1 ? "yes" : "no", cap >> 43 & 1 ? "yes" : "no", cap >> 44 & 1 ? "yes" : "no");
	printf("\tNVM Subsystem Reset Supported (NSSRS): %u\n", (unsigned)(cap >> 36 & 1));
	printf("\tDoorbell Stride (DSTRD): %u bytes\n", 4u << (cap >> 32 & 0xf));
	printf("\tTimeout (TO): %u ms\n", (unsigned)(cap >> 24 & 0xff) * 500);
	printf("\tArbitration Mechanism Supported (AMS): weighted round robin %s, vendor %s\n",
	       cap >> 17 & 1 ? "yes" : "no", cap >> 18 & 1 ? "yes" : "no");
	printf("\tContiguous Queues Required (CQR): %u\n", (unsigned)(cap >> 16 & 1));
	printf("\tMaximum Queue Entries Supported (MQES): %u\n\n", (unsigned)(cap & 0xffff) + 1);
	printf("version : %#x\n\tNVMe specification %u.%u.%u\n\n", r->vs, r->vs >> 16, r->vs >> 8 & 0xff,
	       r->vs & 0xff);
	printf("intms   : %#x\n\tInterrupt Vector Mask Set (IVMS): %#x\n\n", r->intms, r->intms);
	printf("intmc   : %#x\n\tInterrupt Vector Mask Clear (IVMC): %#x\n\n", r->intmc, r->intmc);
	printf("cc      : %#x\n", r->cc);
	printf("\tI/O Completion Queue Entry Size (IOCQES): %u bytes\n", 1u << (r->cc >> 20 & 0xf));
	printf("\tI/O Submission Queue Entry Size (IOSQES): %u bytes\n", 1u << (r->cc >> 16 & 0xf));
	printf("\tShutdown Notification (SHN): %s\n", (r->cc >> 14 & 3) == 0 ? "no notification"
	       : (r->cc >> 14 & 3) == 1 ? "normal shutdown" : (r->cc >> 14 & 3) == 2 ? "abrupt shutdown" : "reserved");
	printf("\tArbitration Mechanism Selected (AMS): %s\n", (r->cc >> 11 & 7) == 0 ? "round robin"
	       : (r->cc >> 11 & 7) == 1 ? "weighted round robin with urgent priority" : "other");
	printf("\tMemory Page Size (MPS): %u bytes\n", 1u << (12 + (r->cc >> 7 & 0xf)));
	printf("\tI/O Command Set Selected (CSS): %u\n", r->cc >> 4 & 7);
	printf("\tEnable (EN): %s\n\n", r->cc & 1 ? "yes" : "no");
	printf("csts    : %#x\n", r->csts);
	printf("\tProcessing Paused (PP): %s\n", r->csts >> 5 & 1 ? "yes" : "no");
	printf("\tNVM Subsystem Reset Occurred (NSSRO): %s\n", r->csts >> 4 & 1 ? "yes" : "no");
	printf("\tShutdown Status (SHST): %s\n", (r->csts >> 2 & 3) == 0 ? "normal operation"
	       : (r->csts >> 2 & 3) == 1 ? "shutdown processing occurring" : "shutdown processing complete");
	printf("\tController Fatal Status (CFS): %s\n", r->csts >> 1 & 1 ? "yes" : "no");
	printf("\tReady (RDY): %s\n\n", r->csts & 1 ? "yes" : "no");
	printf("nssr    : %#x\n\n", r->nssr);
	printf("aqa     : %#x\n\tAdmin Completion Queue Size (ACQS): %u\n\tAdmin Submission Queue Size (ASQS): %u\n\n",
	       r->aqa, (r->aqa >> 16 & 0xfff) + 1, (r->aqa & 0xfff) + 1);
	printf("asq     : %#" PRIx64 "\n\tAdmin Submission Queue Base (ASQB): %#" PRIx64 "\n\n", r->asq, r->asq);
	printf("acq     : %#" PRIx64 "\n\tAdmin Completion Queue Base (ACQB): %#" PRIx64 "\n\n", r->acq, r->acq);
	printf("cmbloc  : %#x\n", r->cmbloc);
	printf("cmbsz   : %#x%s\n", r->cmbsz, r->cmbsz ? "" : "\n\tController Memory Buffer feature is not supported");
}

static int run_show_regs(struct nvp_dev *dev, const struct args *a)
{
	struct nvp_regs r;

	if (nvp_dev_regs(dev, &r))
		return op_error("%s", cli_errmsg());
	if (a->fmt == OUT_BINARY)
		return write_binary(&r, sizeof(r));
	if (a->fmt == OUT_JSON) {
		js_open(NULL, '{');
		js_u64("cap", r.cap);
		js_u64("vs", r.vs);
		js_u64("intms", r.intms);
		js_u64("intmc", r.intmc);
		js_u64("cc", r.cc);
		js_u64("csts", r.csts);
		js_u64("nssr", r.nssr);
		js_u64("aqa", r.aqa);
		js_u64("asq", r.asq);
		js_u64("acq", r.acq);
		js_u64("cmbloc", r.cmbloc);
		js_u64("cmbsz", r.cmbsz);
		js_close('}');
		js_end();
		return 0;
	}
	if (a->human) {
		reg_human(&r);
		return 0;
	}
	printf("cap     : %" PRIx64 "\nversion : %x\ncc      : %x\ncsts    : %x\nnssr    : %x\n"
	       "intms   : %x\nintmc   : %x\naqa     : %x\nasq     : %" PRIx64 "\nacq     : %" PRIx64 "\n"
	       "cmbloc  : %x\ncmbsz   : %x\n", r.cap, r.vs, r.cc, r.csts, r.nssr, r.intms, r.intmc, r.aqa, r.asq,
	       r.acq, r.cmbloc, r.cmbsz);
	return 0;
}

/* ---- admin-passthru --------------------------------------------------------- */

static int run_admin_passthru(struct nvp_dev *dev, const struct args *a)
{
	struct nvme_sqe cmd;
	struct nvme_cqe cqe = { 0 };
	int to_ctrl, from_ctrl, rc = 0;
	uint8_t *buf = NULL;
	uint32_t nsid;
	char status[96];

	if (cmd_nsid(dev, a, &nsid))
		return EXIT_USAGE;
	passthru_sqe(a, nsid, &cmd, &to_ctrl, &from_ctrl);
	if (a->data_len && !(buf = calloc(1, a->data_len)))
		return op_error("no memory for %u bytes", a->data_len);
	if (to_ctrl)
		rc = passthru_input(a, buf);
	if (!rc && nvp_admin_cmd(dev, &cmd, buf, a->data_len, &cqe)) {
		if (cqe.status)
			rc = op_error("admin-passthru opcode %#x: %s", a->opcode,
				      nvp_status_format(nvp_cqe_status(&cqe), status, sizeof(status)));
		else
			rc = op_error("admin-passthru: %s", cli_errmsg());
	}
	if (!rc)
		rc = passthru_output(a, cqe.dw0, buf, a->data_len, from_ctrl);
	free(buf);
	return rc;
}

const struct cmd admin_cmds[] = {
	{ "format", "DEVICE --nsid N --lbaf N [--ses S] --force", "Format NVM: a new LBA format, blocks erased",
	  0, check_format, run_format, NULL },
	{ "reset", "DEVICE", "reset the controller (disable, enable, queues back)", 0, NULL, run_reset, NULL },
	{ "show-regs", "DEVICE [-H] [-o FMT]", "the controller registers: CAP, VS, CC, CSTS, AQA, ASQ, ACQ...",
	  0, NULL, run_show_regs, NULL },
	{ "admin-passthru", "DEVICE --opcode OPC [--nsid N] [--cdwN V] [--data-len L --read|--write --data F]",
	  "any admin command", 0, check_passthru, run_admin_passthru, passthru_finish },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL },
};
