/* SPDX-License-Identifier: MIT */
/*
 * Namespace attachment: attach-ns, detach-ns (also as ns-attach and
 * ns-detach) and list-ctrl, as nvme-cli has them. Namespace Management
 * (create-ns, delete-ns) is not here: neither the sim nor QEMU 7.2's
 * controller, the two nvpoll is tested on, implements it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvpoll.h"

/* "-c 1,2,0x41": controller ids, each 0..FFFFh, at most NVME_CTRL_LIST_MAX of them. */
static int parse_ctrl_list(const char *s, struct nvme_ctrl_list *l)
{
	char buf[4096], *save, *tok;
	uint64_t v;

	memset(l, 0, sizeof(*l));
	if (strlen(s) >= sizeof(buf))
		return usage_error("--controllers '%.32s...' is too long", s);
	snprintf(buf, sizeof(buf), "%s", s);
	if (!*s || s[0] == ',' || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
		return usage_error("--controllers '%s': expected controller ids separated by commas, e.g. 1 or 1,2", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (tool_parse_u64(tok, TOOL_NUM_C, 0xffff, &v))
			return usage_error("--controllers '%s': '%s' is not a controller id 0..0xffff", s, tok);
		if (l->num == NVME_CTRL_LIST_MAX)
			return usage_error("--controllers: at most %u ids", NVME_CTRL_LIST_MAX);
		l->ids[l->num++] = (uint16_t)v;
	}
	return 0;
}

static int check_attach(const struct args *a)
{
	struct nvme_ctrl_list l;
	uint32_t nsid;

	if (cmd_nsid(NULL, a, &nsid))
		return EXIT_USAGE;
	if (!nsid)
		return usage_error("%s needs --namespace-id N (list-ns --all lists the allocated namespaces)", a->cmd);
	if (nsid == 0xffffffff)
		return usage_error("%s: --namespace-id 0xffffffff: name one namespace", a->cmd);
	return a->ctrls ? parse_ctrl_list(a->ctrls, &l) : 0;
}

/* SEL @sel for the namespace, to the --controllers list or (none given) this controller. */
static int run_attach(struct nvp_dev *dev, const struct args *a, uint32_t sel)
{
	_Alignas(4096) static struct nvme_ctrl_list list;
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_NS_ATTACH, .cdw10 = sel };
	struct nvme_cqe cqe = { 0 };
	const char *verb = sel == NVME_NS_ATTACH_SEL_ATTACH ? "attach-ns" : "detach-ns";
	char status[96];
	uint32_t nsid;
	int rc = cmd_nsid_needed(dev, a, &nsid);

	if (rc)
		return rc;
	if (!(nvp_dev_id_ctrl(dev)->oacs & NVME_OACS_NS_MGMT))
		return op_error("the controller does not support Namespace Attachment (Identify OACS bit 3 is 0)");
	if (a->ctrls) {
		if (parse_ctrl_list(a->ctrls, &list))
			return EXIT_USAGE;
	} else {
		memset(&list, 0, sizeof(list));
		list.num = 1;
		list.ids[0] = nvp_dev_id_ctrl(dev)->cntlid;
	}
	cmd.nsid = nsid;
	if (nvp_admin_cmd(dev, &cmd, &list, sizeof(list), &cqe)) {
		if (cqe.status)
			return op_error("%s of namespace %u: %s", verb, nsid,
					nvp_status_format(nvp_cqe_status(&cqe), status, sizeof(status)));
		return op_error("%s: %s", verb, cli_errmsg());
	}
	printf("%s: Success, nsid:%u\n", verb, nsid);
	return 0;
}

static int run_attach_ns(struct nvp_dev *dev, const struct args *a)
{
	return run_attach(dev, a, NVME_NS_ATTACH_SEL_ATTACH);
}

static int run_detach_ns(struct nvp_dev *dev, const struct args *a)
{
	return run_attach(dev, a, NVME_NS_ATTACH_SEL_DETACH);
}

/* ---- list-ctrl -------------------------------------------------------------- */

static int check_list_ctrl(const struct args *a)
{
	uint64_t v;

	if (a->ctrls && tool_parse_u64(a->ctrls, TOOL_NUM_C, 0xffff, &v))
		return usage_error("--cntid '%s': expected a controller id 0..0xffff", a->ctrls);
	return 0;
}

/*
 * Identify CNS 13h (the subsystem's controllers) or, with a namespace,
 * CNS 12h (the controllers it is attached to); from --cntid up.
 */
static int run_list_ctrl(struct nvp_dev *dev, const struct args *a)
{
	_Alignas(4096) static struct nvme_ctrl_list list;
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_IDENTIFY };
	struct nvme_cqe cqe = { 0 };
	uint64_t from = 0;
	char status[96];
	uint32_t nsid;
	unsigned n;

	if (cmd_nsid(dev, a, &nsid))
		return EXIT_USAGE;
	if (a->ctrls && tool_parse_u64(a->ctrls, TOOL_NUM_C, 0xffff, &from))
		return EXIT_USAGE; /* check_list_ctrl() said why */
	cmd.nsid = nsid;
	cmd.cdw10 = (uint32_t)from << 16 | (nsid ? NVME_ID_CNS_NS_CTRL_LIST : NVME_ID_CNS_CTRL_LIST);
	if (nvp_admin_cmd(dev, &cmd, &list, sizeof(list), &cqe)) {
		if (cqe.status)
			return op_error("list-ctrl: %s", nvp_status_format(nvp_cqe_status(&cqe), status, sizeof(status)));
		return op_error("list-ctrl: %s", cli_errmsg());
	}
	n = list.num < NVME_CTRL_LIST_MAX ? list.num : NVME_CTRL_LIST_MAX;
	if (a->fmt == OUT_BINARY)
		return write_binary(&list, sizeof(list));
	if (a->fmt == OUT_JSON) {
		js_open(NULL, '{');
		js_u64("num_ctrl", list.num);
		js_open("ctrl_list", '[');
		for (unsigned i = 0; i < n; i++) {
			js_open(NULL, '{');
			js_u64("ctrl_id", list.ids[i]);
			js_close('}');
		}
		js_close(']');
		js_close('}');
		js_end();
		return 0;
	}
	printf("num of ctrls present: %u\n", list.num);
	for (unsigned i = 0; i < n; i++)
		printf("[%4u]:%#x\n", i, list.ids[i]);
	return 0;
}

const struct cmd ns_cmds[] = {
	{ "attach-ns", "DEVICE -n N [-c ID,...]", "Namespace Attachment: attach N to controllers (default: this one)",
	  0, check_attach, run_attach_ns, NULL },
	{ "detach-ns", "DEVICE -n N [-c ID,...]", "Namespace Attachment: detach N from controllers",
	  0, check_attach, run_detach_ns, NULL },
	{ "ns-attach", "DEVICE -n N [-c ID,...]", "the same as attach-ns", 0, check_attach, run_attach_ns, NULL },
	{ "ns-detach", "DEVICE -n N [-c ID,...]", "the same as detach-ns", 0, check_attach, run_detach_ns, NULL },
	{ "list-ctrl", "DEVICE [-n N] [-c FIRST] [-o FMT]", "controller ids: the subsystem's, or those N is attached to",
	  0, check_list_ctrl, run_list_ctrl, NULL },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL },
};
