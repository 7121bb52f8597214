/* SPDX-License-Identifier: MIT */
/*
 * The identity commands: id-ctrl, id-ns and list-ns as nvme-cli has them
 * (JSON keys as nvme-cli 2.3 prints them: test/fixtures/nvme-cli/), and
 * nvpoll's own one-screen identify.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nvpoll.h"

int cmd_identify(struct nvp_dev *dev, const struct args *a)
{
	const struct nvme_id_ctrl *id = nvp_dev_id_ctrl(dev);
	uint32_t vs = nvp_dev_vs(dev);
	const uint32_t *nsids;
	unsigned n = nvp_ns_list(dev, &nsids);
	char sn[21], mn[41], fr[9], ver[32];

	if (a->have_nsid && !nvp_ns_get(dev, a->nsid))
		return op_error("%s", cli_errmsg());
	fixed_str(sn, id->sn, sizeof(id->sn));
	fixed_str(mn, id->mn, sizeof(id->mn));
	fixed_str(fr, id->fr, sizeof(id->fr));
	snprintf(ver, sizeof(ver), "%u.%u.%u", (unsigned)NVME_GET(vs, VS_MJR), (unsigned)NVME_GET(vs, VS_MNR),
		 (unsigned)NVME_GET(vs, VS_TER));
	if ((a->fmt == OUT_JSON)) {
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
		if ((a->fmt == OUT_JSON))
			printf("%s{\"nsid\":%u,\"nsze\":%" PRIu64 ",\"ncap\":%" PRIu64 ",\"nuse\":%" PRIu64
			       ",\"lba_size\":%u,\"ms\":%u,\"lbaf\":%u}",
			       shown ? "," : "", ns->nsid, ns->nsze, ns->ncap, ns->nuse, ns->lba_size, ns->ms, ns->lbaf);
		else
			printf("namespace %u: nsze %" PRIu64 ", ncap %" PRIu64 ", nuse %" PRIu64
			       ", lba size %u, metadata %u\n",
			       ns->nsid, ns->nsze, ns->ncap, ns->nuse, ns->lba_size, ns->ms);
		shown++;
	}
	if ((a->fmt == OUT_JSON))
		printf("]}\n");
	return 0;
}

/* ---- id-ctrl ---------------------------------------------------------------- */

enum fk { U, X, STR, U128, IEEE, GUID };	/* decimal, hex in text, string, 128-bit, 24-bit, UUID */

struct field {
	const char *name;
	unsigned off, size;
	enum fk kind;
};

#define F(name, kind) { #name, offsetof(struct nvme_id_ctrl, name), sizeof(((struct nvme_id_ctrl *)0)->name), kind }
/* nvme-cli's order; the fabrics fields live in nvmeof[]. */
static const struct field ctrl_fields[] = {
	F(vid, X), F(ssvid, X), F(sn, STR), F(mn, STR), F(fr, STR), F(rab, U), F(ieee, IEEE), F(cmic, X),
	F(mdts, U), F(cntlid, X), F(ver, X), F(rtd3r, U), F(rtd3e, U), F(oaes, X), F(ctratt, X), F(rrls, X),
	F(cntrltype, U), F(fguid, GUID), F(crdt1, U), F(crdt2, U), F(crdt3, U), F(nvmsr, U), F(vwci, U),
	F(mec, U), F(oacs, X), F(acl, U), F(aerl, U), F(frmw, X), F(lpa, X), F(elpe, U), F(npss, U),
	F(avscc, X), F(apsta, X), F(wctemp, U), F(cctemp, U), F(mtfa, U), F(hmpre, U), F(hmmin, U),
	F(tnvmcap, U128), F(unvmcap, U128), F(rpmbs, X), F(edstt, U), F(dsto, U), F(fwug, U), F(kas, U),
	F(hctma, X), F(mntmt, U), F(mxtmt, U), F(sanicap, X), F(hmminds, U), F(hmmaxd, U), F(nsetidmax, U),
	F(endgidmax, U), F(anatt, U), F(anacap, X), F(anagrpmax, U), F(nanagrpid, U), F(pels, U),
	F(domainid, U), F(megcap, U128), F(sqes, X), F(cqes, X), F(maxcmd, U), F(nn, U), F(oncs, X),
	F(fuses, X), F(fna, X), F(vwc, X), F(awun, U), F(awupf, U), F(icsvscc, X), F(nwpc, X), F(acwu, U),
	F(ocfs, X), F(sgls, X), F(mnan, U), F(maxdna, U128), F(maxcna, U), F(subnqn, STR),
	{ "ioccsz", 1792, 4, U }, { "iorcsz", 1796, 4, U }, { "icdoff", 1800, 2, U }, { "fcatt", 1802, 1, X },
	{ "msdbd", 1803, 1, U }, { "ofcs", 1804, 2, X },
};
#undef F

static uint64_t field_u64(const void *base, const struct field *f)
{
	const uint8_t *p = (const uint8_t *)base + f->off;
	uint64_t v = 0;

	for (unsigned i = f->size; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* The field's value as text; JSON numbers and strings as nvme-cli writes them. */
static const char *field_text(const void *base, const struct field *f, int json, char *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)base + f->off;

	switch (f->kind) {
	case STR: {
		size_t n = 0;

		while (n < f->size && n + 1 < len && p[n]) {
			buf[n] = (char)p[n];
			n++;
		}
		buf[n] = '\0';
		break;
	}
	case U128:
		u128_str(p, buf, len);
		break;
	case GUID:
		snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", p[0], p[1],
			 p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]);
		break;
	case IEEE:
		snprintf(buf, len, json ? "%" PRIu64 : "%06" PRIx64, field_u64(base, f));
		break;
	case X:
		snprintf(buf, len, json ? "%" PRIu64 : "%#" PRIx64, field_u64(base, f));
		break;
	default:
		snprintf(buf, len, "%" PRIu64, field_u64(base, f));
	}
	return buf;
}

static void fields_json(const void *base, const struct field *fs, size_t n)
{
	char buf[300];

	for (size_t i = 0; i < n; i++) {
		const struct field *f = &fs[i];

		if (f->kind == STR || f->kind == U128 || f->kind == GUID)
			js_str(f->name, field_text(base, f, 1, buf, sizeof(buf)));
		else
			js_u64(f->name, field_u64(base, f));
	}
}

/* One bit field of a -H decoding: bits hi..lo of @v, and what the value means. */
static void bits(uint64_t v, unsigned hi, unsigned lo, const char *what)
{
	uint64_t x = v >> lo & ((hi - lo >= 63) ? ~0ull : ((1ull << (hi - lo + 1)) - 1));

	printf("  [%u:%u] : %#" PRIx64 "\t%s\n", hi, lo, x, what);
}

static void bit(uint64_t v, unsigned b, const char *name)
{
	printf("  [%u:%u] : %u\t%s %s\n", b, b, (unsigned)(v >> b & 1), name,
	       v >> b & 1 ? "Supported" : "Not Supported");
}

static void ctrl_human(const struct nvme_id_ctrl *id, const char *name)
{
	if (!strcmp(name, "oacs")) {
		bit(id->oacs, 9, "Get LBA Status");
		bit(id->oacs, 8, "Doorbell Buffer Config");
		bit(id->oacs, 7, "Virtualization Management");
		bit(id->oacs, 6, "NVMe-MI Send and Receive");
		bit(id->oacs, 5, "Directives");
		bit(id->oacs, 4, "Device Self-test");
		bit(id->oacs, 3, "NS Management and Attachment");
		bit(id->oacs, 2, "FW Commit and Download");
		bit(id->oacs, 1, "Format NVM");
		bit(id->oacs, 0, "Security Send and Receive");
	} else if (!strcmp(name, "oncs")) {
		bit(id->oncs, 8, "Copy");
		bit(id->oncs, 7, "Verify");
		bit(id->oncs, 6, "Timestamp");
		bit(id->oncs, 5, "Reservations");
		bit(id->oncs, 4, "Save and Select");
		bit(id->oncs, 3, "Write Zeroes");
		bit(id->oncs, 2, "Data Set Management");
		bit(id->oncs, 1, "Write Uncorrectable");
		bit(id->oncs, 0, "Compare");
	} else if (!strcmp(name, "vwc")) {
		bits(id->vwc, 2, 1, (id->vwc >> 1 & 3) == 3 ? "Flush with NSID FFFFFFFFh Supported"
			: (id->vwc >> 1 & 3) == 2 ? "Flush with NSID FFFFFFFFh Not Supported"
			: "Support for NSID FFFFFFFFh Not Reported");
		bit(id->vwc, 0, "Volatile Write Cache");
	} else if (!strcmp(name, "frmw")) {
		bit(id->frmw, 4, "Firmware Activation Without Reset");
		bits(id->frmw, 3, 1, "Number of Firmware Slots");
		printf("  [0:0] : %u\tFirmware Slot 1 %s\n", id->frmw & 1, id->frmw & 1 ? "Read-Only" : "Read/Write");
	} else if (!strcmp(name, "lpa")) {
		bit(id->lpa, 3, "Telemetry Log");
		bit(id->lpa, 2, "Extended Data for Get Log Page");
		bit(id->lpa, 1, "Command Effects Log Page");
		bit(id->lpa, 0, "SMART/Health Log Page per NS");
	} else if (!strcmp(name, "sqes") || !strcmp(name, "cqes")) {
		uint8_t v = name[0] == 's' ? id->sqes : id->cqes;
		const char *q = name[0] == 's' ? "SQ" : "CQ";

		printf("  [7:4] : %u\tMax %s Entry Size (%u)\n  [3:0] : %u\tMin %s Entry Size (%u)\n", v >> 4, q,
		       1u << (v >> 4), v & 15, q, 1u << (v & 15));
	}
}

static int run_id_ctrl(struct nvp_dev *dev, const struct args *a)
{
	_Alignas(4096) static struct nvme_id_ctrl id;
	size_t nf = sizeof(ctrl_fields) / sizeof(ctrl_fields[0]);
	char buf[300];

	/* Read now, not the copy from open: a format or firmware commit may have changed it. */
	if (nvp_identify(dev, NVME_ID_CNS_CTRL, 0, &id))
		return op_error("%s", cli_errmsg());
	if (a->fmt == OUT_BINARY)
		return write_binary(&id, sizeof(id));
	if (a->fmt == OUT_JSON) {
		js_open(NULL, '{');
		fields_json(&id, ctrl_fields, nf);
		js_open("psds", '[');
		for (unsigned i = 0; i <= id.npss && i < 32; i++) {
			const struct nvme_id_psd *p = &id.psd[i];

			js_open(NULL, '{');
			js_u64("max_power", p->mp);
			js_u64("flags", p->flags);
			js_u64("entry_lat", p->enlat);
			js_u64("exit_lat", p->exlat);
			js_u64("read_tput", p->rrt);
			js_u64("read_lat", p->rrl);
			js_u64("write_tput", p->rwt);
			js_u64("write_lat", p->rwl);
			js_u64("idle_power", p->idlp);
			js_u64("idle_scale", p->ips >> 6 & 3);
			js_u64("active_power", p->actp);
			js_u64("active_power_work", p->apws & 7);
			js_u64("active_scale", p->apws >> 6 & 3);
			js_close('}');
		}
		js_close(']');
		js_close('}');
		js_end();
		return 0;
	}
	printf("NVME Identify Controller:\n");
	for (size_t i = 0; i < nf; i++) {
		printf("%-10s: %s\n", ctrl_fields[i].name, field_text(&id, &ctrl_fields[i], 0, buf, sizeof(buf)));
		if (a->human)
			ctrl_human(&id, ctrl_fields[i].name);
	}
	for (unsigned i = 0; i <= id.npss && i < 32; i++) {
		const struct nvme_id_psd *p = &id.psd[i];

		printf("ps %6u : mp:%.2fW %s enlat:%u exlat:%u rrt:%u rrl:%u\n            rwt:%u rwl:%u\n", i,
		       p->flags & 1 ? p->mp / 10000.0 : p->mp / 100.0, p->flags & 2 ? "non-operational" : "operational",
		       p->enlat, p->exlat, p->rrt, p->rrl, p->rwt, p->rwl);
	}
	return 0;
}

/* ---- id-ns ------------------------------------------------------------------ */

#define N(name, kind) { #name, offsetof(struct nvme_id_ns, name), sizeof(((struct nvme_id_ns *)0)->name), kind }
static const struct field ns_fields[] = {
	N(nsze, X), N(ncap, X), N(nuse, X), N(nsfeat, X), N(nlbaf, U), N(flbas, X), N(mc, X), N(dpc, X),
	N(dps, X), N(nmic, X), N(rescap, X), N(fpi, X), N(dlfeat, U), N(nawun, U), N(nawupf, U), N(nacwu, U),
	N(nabsn, U), N(nabo, U), N(nabspf, U), N(noiob, U), N(nvmcap, U128), N(nsattr, U), N(nvmsetid, U),
	N(npwg, U), N(npwa, U), N(npdg, U), N(npda, U), N(nows, U), N(mssrl, U), N(mcl, U), N(msrc, U),
	{ "nulbaf", offsetof(struct nvme_id_ns, rsvd81), 1, U }, N(anagrpid, U), N(endgid, U),
};
#undef N

static const char *hex_bytes(const uint8_t *p, size_t n, char *buf)
{
	for (size_t i = 0; i < n; i++)
		sprintf(buf + 2 * i, "%02x", p[i]);
	buf[2 * n] = '\0';
	return buf;
}

static void ns_human(const struct nvme_id_ns *ns, const char *name)
{
	if (!strcmp(name, "nsfeat")) {
		bit(ns->nsfeat, 4, "NPWG, NPWA, NPDG, NPDA, and NOWS are");
		bit(ns->nsfeat, 2, "Deallocated or Unwritten Logical Block error");
		bit(ns->nsfeat, 0, "Thin Provisioning");
	} else if (!strcmp(name, "flbas")) {
		bits(ns->flbas, 6, 5, "Most significant 2 bits of Current LBA Format Selected");
		printf("  [4:4] : %#x\tMetadata Transferred %s\n", ns->flbas >> 4 & 1,
		       ns->flbas & 0x10 ? "at End of Data LBA" : "in Separate Contiguous Buffer");
		bits(ns->flbas, 3, 0, "Least significant 4 bits of Current LBA Format Selected");
	} else if (!strcmp(name, "mc")) {
		bit(ns->mc, 1, "Metadata Pointer");
		bit(ns->mc, 0, "Metadata as Part of Extended Data LBA");
	} else if (!strcmp(name, "dpc")) {
		bit(ns->dpc, 4, "Protection Information Transferred as Last 8 Bytes of Metadata");
		bit(ns->dpc, 3, "Protection Information Transferred as First 8 Bytes of Metadata");
		bit(ns->dpc, 2, "Protection Information Type 3");
		bit(ns->dpc, 1, "Protection Information Type 2");
		bit(ns->dpc, 0, "Protection Information Type 1");
	} else if (!strcmp(name, "dps")) {
		printf("  [3:3] : %u\tProtection Information is Transferred as %s 8 Bytes of Metadata\n", ns->dps >> 3 & 1,
		       ns->dps & 8 ? "First" : "Last");
		printf("  [2:0] : %u\tProtection Information %s\n", ns->dps & 7, (ns->dps & 7) ? "Enabled" : "Disabled");
	} else if (!strcmp(name, "nmic")) {
		printf("  [0:0] : %u\tNamespace Multipath %sCapable\n", ns->nmic & 1, ns->nmic & 1 ? "" : "Not ");
	} else if (!strcmp(name, "dlfeat")) {
		bit(ns->dlfeat, 3, "Deallocate Bit in the Write Zeroes Command is");
		printf("  [2:0] : %#x\tBytes Read From a Deallocated Logical Block and its Metadata are %s\n",
		       ns->dlfeat & 7, (ns->dlfeat & 7) == 1 ? "0x00" : (ns->dlfeat & 7) == 2 ? "0xFF" : "Not Reported");
	}
}

static int run_id_ns(struct nvp_dev *dev, const struct args *a)
{
	_Alignas(4096) static struct nvme_id_ns ns;
	size_t nf = sizeof(ns_fields) / sizeof(ns_fields[0]);
	unsigned inuse;
	uint32_t nsid;
	char buf[300];
	int rc = cmd_nsid_needed(dev, a, &nsid);

	if (rc)
		return rc;
	if (nvp_identify(dev, NVME_ID_CNS_NS, nsid, &ns))
		return op_error("namespace %u: %s", nsid, cli_errmsg());
	if (a->fmt == OUT_BINARY)
		return write_binary(&ns, sizeof(ns));
	inuse = nvme_id_ns_flbas_index(&ns);
	if (a->fmt == OUT_JSON) {
		js_open(NULL, '{');
		fields_json(&ns, ns_fields, nf);
		js_str("eui64", hex_bytes(ns.eui64, 8, buf));
		js_str("nguid", hex_bytes(ns.nguid, 16, buf));
		js_open("lbafs", '[');
		for (unsigned i = 0; i <= ns.nlbaf && i < 64; i++) {
			js_open(NULL, '{');
			js_u64("ms", ns.lbaf[i].ms);
			js_u64("ds", ns.lbaf[i].lbads);
			js_u64("rp", ns.lbaf[i].rp & 3);
			js_close('}');
		}
		js_close(']');
		js_close('}');
		js_end();
		return 0;
	}
	printf("NVME Identify Namespace %u:\n", nsid);
	for (size_t i = 0; i < nf; i++) {
		const struct field *f = &ns_fields[i];

		printf("%-8s: %s", f->name, field_text(&ns, f, 0, buf, sizeof(buf)));
		/* nsze, ncap, nuse: also as blocks and bytes */
		if (i < 3 && inuse <= ns.nlbaf && ns.lbaf[inuse].lbads >= 9 && ns.lbaf[inuse].lbads < 32) {
			char size[32];

			printf(" (%" PRIu64 " blocks, %s)", field_u64(&ns, f),
			       human_size(field_u64(&ns, f) << ns.lbaf[inuse].lbads, size, sizeof(size)));
		}
		printf("\n");
		if (a->human)
			ns_human(&ns, f->name);
	}
	printf("nguid   : %s\n", hex_bytes(ns.nguid, 16, buf));
	printf("eui64   : %s\n", hex_bytes(ns.eui64, 8, buf));
	for (unsigned i = 0; i <= ns.nlbaf && i < 64; i++) {
		static const char *const rp[] = { "Best", "Better", "Good", "Degraded" };

		printf("LBA Format %2u : Metadata Size: %-3u bytes - Data Size: %u bytes - Relative Performance: %#x %s%s\n",
		       i, ns.lbaf[i].ms, ns.lbaf[i].lbads < 32 ? 1u << ns.lbaf[i].lbads : 0, ns.lbaf[i].rp & 3,
		       rp[ns.lbaf[i].rp & 3], i == inuse ? " (in use)" : "");
	}
	return 0;
}

/* ---- list-ns ---------------------------------------------------------------- */

/*
 * The controller's active namespace list, read now (Identify CNS 02h), as
 * nvme-cli's list-ns; with --all the allocated ones, attached or not (CNS 10h).
 */
static int run_list_ns(struct nvp_dev *dev, const struct args *a)
{
	_Alignas(4096) static uint32_t list[1024];
	unsigned n = 0;

	if (nvp_identify(dev, a->all ? NVME_ID_CNS_NS_ALLOC_LIST : NVME_ID_CNS_NS_ACTIVE_LIST, 0, list))
		return op_error("%s", cli_errmsg());
	while (n < 1024 && list[n])
		n++;
	if (a->fmt == OUT_BINARY)
		return write_binary(list, sizeof(list));
	if (a->fmt == OUT_JSON) {
		js_open(NULL, '{');
		js_open("nsid_list", '[');
		for (unsigned i = 0; i < n; i++) {
			js_open(NULL, '{');
			js_u64("nsid", list[i]);
			js_close('}');
		}
		js_close(']');
		js_close('}');
		js_end();
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct nvp_ns *ns = nvp_ns_get(dev, list[i]);
		char size[32] = "";

		if (ns && nvp_ns_info(ns)->nsze) /* a detached one has no size here */
			human_size(nvp_ns_info(ns)->nsze * nvp_ns_info(ns)->lba_size, size, sizeof(size));
		printf("[%4u]:%#x%s%s%s\n", i, list[i], size[0] ? "  (" : "", size, size[0] ? ")" : "");
	}
	return 0;
}

static int check_identify(const struct args *a)
{
	if (a->fmt == OUT_BINARY)
		return usage_error("identify has no binary form: id-ctrl or id-ns -o binary");
	return 0;
}

const struct cmd identify_cmds[] = {
	{ "identify", "DEVICE [--nsid N] [--json]", "controller and namespace identity, on one screen",
	  0, check_identify, cmd_identify, NULL },
	{ "id-ctrl", "DEVICE [-H] [-o FMT]", "Identify Controller, every field (nvme-cli's id-ctrl)",
	  0, NULL, run_id_ctrl, NULL },
	{ "id-ns", "DEVICE --nsid N [-H] [-o FMT]", "Identify Namespace, with every LBA format",
	  0, NULL, run_id_ns, NULL },
	{ "list-ns", "DEVICE [-a] [-o FMT]", "the active namespace ids; -a, --all: the allocated ones too",
	  0, NULL, run_list_ns, NULL },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL },
};
