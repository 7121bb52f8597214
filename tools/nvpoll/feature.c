/* SPDX-License-Identifier: MIT */
/*
 * get-feature and set-feature as nvme-cli has them: -f, -v, --sel, --cdw11,
 * --save, with the common features decoded.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nvpoll.h"

static const char *const sel_names[] = { "current", "default", "saved", "supported" };

static const char *feature_name(uint32_t fid)
{
	switch (fid) {
	case 0x01: return "Arbitration";
	case 0x02: return "Power Management";
	case 0x03: return "LBA Range Type";
	case 0x04: return "Temperature Threshold";
	case 0x05: return "Error Recovery";
	case 0x06: return "Volatile Write Cache";
	case 0x07: return "Number of Queues";
	case 0x08: return "Interrupt Coalescing";
	case 0x09: return "Interrupt Vector Configuration";
	case 0x0a: return "Write Atomicity Normal";
	case 0x0b: return "Asynchronous Event Configuration";
	case 0x0c: return "Autonomous Power State Transition";
	case 0x0d: return "Host Memory Buffer";
	case 0x0e: return "Timestamp";
	case 0x0f: return "Keep Alive Timer";
	case 0x10: return "Host Controlled Thermal Management";
	case 0x11: return "Non-Operational Power State Config";
	default: return fid >= 0xc0 ? "Vendor Specific" : "Unknown";
	}
}

/*
 * The fields of a value, each as (JSON key, text label, value, unit); the
 * same list makes the text and the JSON.
 */
struct decoded {
	const char *key, *label;
	uint64_t v;
	const char *unit;
};

static unsigned decode(uint32_t fid, uint32_t v, struct decoded *d)
{
	unsigned n = 0;

#define D(k, l, val, u) d[n++] = (struct decoded){ k, l, val, u }
	switch (fid) {
	case 0x01:
		D("hpw", "High Priority Weight (HPW)", (v >> 24) + 1, NULL);
		D("mpw", "Medium Priority Weight (MPW)", (v >> 16 & 0xff) + 1, NULL);
		D("lpw", "Low Priority Weight (LPW)", (v >> 8 & 0xff) + 1, NULL);
		D("ab", "Arbitration Burst (AB)", (v & 7) == 7 ? 0 : 1u << (v & 7), "commands, 0: no limit");
		break;
	case 0x02:
		D("wh", "Workload Hint (WH)", v >> 5 & 7, NULL);
		D("ps", "Power State (PS)", v & 0x1f, NULL);
		break;
	case 0x04:
		D("thsel", "Threshold Type Select (THSEL)", v >> 20 & 3, "0: over, 1: under");
		D("tmpsel", "Threshold Temperature Select (TMPSEL)", v >> 16 & 0xf, "0: composite");
		D("tmpth", "Temperature Threshold (TMPTH)", v & 0xffff, "K");
		D("tmpth_celsius", "Temperature Threshold (TMPTH)", (uint64_t)(int64_t)((int)(v & 0xffff) - 273), "°C");
		break;
	case 0x05:
		D("dulbe", "Deallocated or Unwritten Logical Block Error Enable (DULBE)", v >> 16 & 1, NULL);
		D("tler", "Time Limited Error Recovery (TLER)", (v & 0xffff) * 100ull, "ms");
		break;
	case 0x06:
		D("wce", "Volatile Write Cache Enable (WCE)", v & 1, NULL);
		break;
	case 0x07:
		D("ncqa", "Number of IO Completion Queues Allocated (NCQA)", (v >> 16) + 1, NULL);
		D("nsqa", "Number of IO Submission Queues Allocated (NSQA)", (v & 0xffff) + 1, NULL);
		break;
	case 0x08:
		D("time", "Aggregation Time (TIME)", (v >> 8 & 0xff) * 100ull, "us");
		D("thr", "Aggregation Threshold (THR)", (v & 0xff) + 1, NULL);
		break;
	case 0x0a:
		D("dn", "Disable Normal (DN)", v & 1, NULL);
		break;
	case 0x0b:
		D("smart", "SMART / Health Critical Warnings", v & 0xff, NULL);
		D("nan", "Namespace Attribute Notices", v >> 8 & 1, NULL);
		D("fan", "Firmware Activation Notices", v >> 9 & 1, NULL);
		break;
	case 0x0f:
		D("kato", "Keep Alive Timeout (KATO)", v, "ms");
		break;
	}
#undef D
	return n;
}

static int check_get_feature(const struct args *a)
{
	if (!a->have_fid)
		return usage_error("get-feature needs -f (--feature-id): nvpoll get-feature DEVICE -f FID "
				   "[--sel current|default|saved|supported]");
	return 0;
}

static int show(const struct args *a, const char *what, uint32_t fid, unsigned sel, uint32_t dw0)
{
	struct decoded d[8];
	unsigned n = sel == 3 ? 0 : decode(fid, dw0, d);

	if (a->fmt == OUT_BINARY)
		return write_binary(&dw0, sizeof(dw0));
	if (a->fmt == OUT_JSON) {
		js_open(NULL, '{');
		js_u64("feature_id", fid);
		js_str("name", feature_name(fid));
		js_str("sel", sel_names[sel]);
		js_u64("value", dw0);
		if (sel == 3) {
			js_bool("saveable", dw0 & 1);
			js_bool("per_namespace", dw0 >> 1 & 1);
			js_bool("changeable", dw0 >> 2 & 1);
		}
		for (unsigned i = 0; i < n; i++)
			if (d[i].v > INT64_MAX)
				js_i64(d[i].key, (int64_t)d[i].v);
			else
				js_u64(d[i].key, d[i].v);
		js_close('}');
		js_end();
		return 0;
	}
	printf("%s:%#04x (%s), %s value:0x%08x\n", what, fid, feature_name(fid),
	       sel == 0 ? "Current" : sel == 1 ? "Default" : sel == 2 ? "Saved" : "Supported capabilities", dw0);
	if (sel == 3)
		printf("\tsaveable: %s, per namespace: %s, changeable: %s\n", dw0 & 1 ? "yes" : "no",
		       dw0 & 2 ? "yes" : "no", dw0 & 4 ? "yes" : "no");
	if (a->human || a->fmt == OUT_NORMAL)
		for (unsigned i = 0; i < n; i++) {
			if (!strcmp(d[i].key, "tmpth_celsius"))
				printf("\t%s: %" PRId64 " %s\n", d[i].label, (int64_t)d[i].v, d[i].unit);
			else
				printf("\t%s: %" PRIu64 "%s%s\n", d[i].label, d[i].v, d[i].unit ? " " : "",
				       d[i].unit ? d[i].unit : "");
		}
	return 0;
}

static int run_get_feature(struct nvp_dev *dev, const struct args *a)
{
	struct nvme_sqe cmd = { 0 };
	struct nvme_cqe cqe = { 0 };
	uint32_t nsid;
	char status[96];

	if (cmd_nsid(dev, a, &nsid))
		return EXIT_USAGE;
	cmd.opc = NVME_ADMIN_GET_FEATURES;
	cmd.nsid = nsid;
	cmd.cdw10 = a->fid | a->sel << 8;
	cmd.cdw11 = a->cdw11;
	if (nvp_admin_cmd(dev, &cmd, NULL, 0, &cqe)) {
		if (cqe.status)
			return op_error("get-feature %#x (%s), %s: %s", a->fid, feature_name(a->fid), sel_names[a->sel],
					nvp_status_format(nvp_cqe_status(&cqe), status, sizeof(status)));
		return op_error("%s", cli_errmsg());
	}
	return show(a, "get-feature", a->fid, a->sel, cqe.dw0);
}

static int check_set_feature(const struct args *a)
{
	if (!a->have_fid || !a->have_value)
		return usage_error("set-feature needs -f (--feature-id) and -v (--value): nvpoll set-feature DEVICE "
				   "-f FID -v VALUE [--save]");
	if (a->have_sel)
		return usage_error("--sel is get-feature's; set-feature sets the current value (and with --save "
				   "the saved one)");
	return 0;
}

static int run_set_feature(struct nvp_dev *dev, const struct args *a)
{
	struct nvme_sqe cmd = { 0 };
	struct nvme_cqe cqe = { 0 };
	uint32_t nsid;
	char status[96];

	if (cmd_nsid(dev, a, &nsid))
		return EXIT_USAGE;
	cmd.opc = NVME_ADMIN_SET_FEATURES;
	cmd.nsid = nsid;
	cmd.cdw10 = a->fid | (a->save ? 1u << 31 : 0);
	cmd.cdw11 = a->value;
	cmd.cdw12 = a->cdw[12];
	if (nvp_admin_cmd(dev, &cmd, NULL, 0, &cqe)) {
		if (cqe.status)
			return op_error("set-feature %#x (%s) to %#x: %s", a->fid, feature_name(a->fid), a->value,
					nvp_status_format(nvp_cqe_status(&cqe), status, sizeof(status)));
		return op_error("%s", cli_errmsg());
	}
	if (a->fmt == OUT_NORMAL)
		printf("set-feature:%#04x (%s), value:0x%08x, cdw12:0x%08x, save:%d\n", a->fid, feature_name(a->fid),
		       a->value, a->cdw[12], a->save);
	/* What the controller answered (Number of Queues: what it granted). */
	return a->fmt == OUT_NORMAL && !a->human ? 0 : show(a, "set-feature result", a->fid, 0, cqe.dw0);
}

const struct cmd feature_cmds[] = {
	{ "get-feature", "DEVICE -f FID [--sel SEL] [--cdw11 V] [-H] [-o FMT]",
	  "a feature's value (SEL: current, default, saved, supported), decoded", 0, check_get_feature,
	  run_get_feature, NULL },
	{ "set-feature", "DEVICE -f FID -v VALUE [--save] [--cdw12 V]", "set a feature's value", 0,
	  check_set_feature, run_set_feature, NULL },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL },
};
