/* SPDX-License-Identifier: MIT */
/*
 * Zoned namespaces (ZNS, CSI 02h): which namespaces are zoned and their
 * zone geometry (at each namespace scan), the Report Zones parser, and
 * the three zoned commands, built here and posted through nvp_io_cmd().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nvme/cmd.h"
#include "nvme/nvme.h"

static int identify_csi(struct nvp_dev *dev, uint8_t cns, uint32_t nsid, uint8_t csi, void *buf)
{
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_IDENTIFY, .nsid = nsid, .cdw10 = cns,
				.cdw11 = (uint32_t)csi << NVME_ID_CSI_SHIFT };

	return nvp_admin_sync(dev, &cmd, buf, 4096, NULL);
}

/* The CSI descriptor of a Namespace Identification Descriptor list; NVM when there is none. */
uint8_t nvp_ns_desc_csi(const uint8_t *list, size_t len)
{
	size_t off = 0;

	while (off + 4 <= len && list[off]) {
		size_t n = list[off + 1];

		if (list[off] == NVME_NIDT_CSI && n >= 1 && off + 5 <= len)
			return list[off + 4];
		off += 4 + n;
	}
	return NVME_CSI_NVM;
}

int nvp_ns_zns_identify(struct nvp_dev *dev, struct nvp_ns *ns)
{
	uint8_t *buf = malloc(4096);
	const struct nvme_zns_id_ns *z = (const void *)buf;
	const struct nvme_zns_id_ctrl *zc = (const void *)buf;
	uint32_t nsid = ns->info.nsid;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	/* Controllers before NVMe 1.3 lack the list: their namespaces are NVM. */
	if (nvp_identify(dev, NVME_ID_CNS_NS_DESC_LIST, nsid, buf) ||
	    nvp_ns_desc_csi(buf, 4096) != NVME_CSI_ZNS)
		goto out;
	ns->info.csi = NVME_CSI_ZNS;
	err = identify_csi(dev, NVME_ID_CNS_CSI_NS, nsid, NVME_CSI_ZNS, buf);
	if (err) {
		err = nvp_prefix_error(err, "namespace %u is zoned, but its ZNS Identify Namespace failed", nsid);
		goto out;
	}
	ns->info.zone_size = ns->info.lbaf < 16 ? z->lbafe[ns->info.lbaf].zsze : 0;
	if (!ns->info.zone_size || ns->info.nsze % ns->info.zone_size) {
		err = nvp_set_error(-EINVAL, "namespace %u: zone size %llu blocks does not divide its %llu blocks",
				    nsid, (unsigned long long)ns->info.zone_size, (unsigned long long)ns->info.nsze);
		goto out;
	}
	ns->info.nr_zones = ns->info.nsze / ns->info.zone_size;
	ns->info.max_open_zones = z->mor == NVME_ZNS_NO_LIMIT ? 0 : z->mor + 1;
	ns->info.max_active_zones = z->mar == NVME_ZNS_NO_LIMIT ? 0 : z->mar + 1;
	ns->info.zone_append_max = (uint32_t)dev->max_xfer;
	if (!identify_csi(dev, NVME_ID_CNS_CSI_CTRL, 0, NVME_CSI_ZNS, buf) && zc->zasl) {
		uint64_t zasl = (uint64_t)1 << (12 + NVME_GET(dev->cap, CAP_MPSMIN) + zc->zasl);

		if (zasl < ns->info.zone_append_max)
			ns->info.zone_append_max = (uint32_t)zasl;
	}
out:
	free(buf);
	return err;
}

NVP_API int nvp_zone_report_parse(const void *buf, size_t len, struct nvp_zone *zones, unsigned max,
				  uint64_t *nr_zones)
{
	struct nvme_zone_report_hdr hdr;
	uint64_t fit, n;

	if (!buf || (!zones && max))
		return nvp_set_error(-EINVAL, "nvp_zone_report_parse: buffer and zones must not be NULL");
	if (len < sizeof(hdr))
		return nvp_set_error(-EINVAL, "nvp_zone_report_parse: %zu bytes is shorter than the 64-byte header",
				     len);
	memcpy(&hdr, buf, sizeof(hdr));
	if (nr_zones)
		*nr_zones = hdr.nr_zones;
	fit = (len - sizeof(hdr)) / sizeof(struct nvme_zone_desc);
	n = hdr.nr_zones < fit ? hdr.nr_zones : fit;
	if (n > max)
		n = max;
	for (uint64_t i = 0; i < n; i++) {
		struct nvme_zone_desc d;

		memcpy(&d, (const uint8_t *)buf + sizeof(hdr) + i * sizeof(d), sizeof(d));
		zones[i] = (struct nvp_zone){ .zslba = d.zslba, .zcap = d.zcap, .wp = d.wp, .type = d.zt & 0xf,
					      .state = d.zs >> 4, .attrs = d.za };
	}
	return (int)n;
}

static int zoned(const char *fn, struct nvp_qpair *qp, const struct nvp_ns *ns, nvp_cb cb)
{
	if (!qp || !ns || !cb)
		return nvp_set_error(-EINVAL, "%s: qpair, namespace and callback must not be NULL", fn);
	if (ns->info.csi != NVME_CSI_ZNS)
		return nvp_set_error(-EOPNOTSUPP, "%s: namespace %u is not zoned (command set %u, not ZNS)", fn,
				     ns->info.nsid, ns->info.csi);
	return 0;
}

static int zone_start(const char *fn, const struct nvp_ns *ns, uint64_t zslba)
{
	if (zslba >= ns->info.nsze || zslba % ns->info.zone_size)
		return nvp_set_error(-EINVAL, "%s: LBA %llu is not the start of a zone (zones of %llu blocks, %llu "
				     "of them)", fn, (unsigned long long)zslba, (unsigned long long)ns->info.zone_size,
				     (unsigned long long)ns->info.nr_zones);
	return 0;
}

static int submit(const char *fn, struct nvp_qpair *qp, const struct nvme_sqe *sqe, const void *buf, size_t len,
		  nvp_cb cb, void *arg)
{
	int err = nvp_io_cmd(qp, sqe, (void *)buf, len, cb, arg);

	return err ? nvp_prefix_error(err, "%s", fn) : 0;
}

NVP_API int nvp_zone_report(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, unsigned filter,
			    int partial, void *buf, size_t len, nvp_cb cb, void *arg)
{
	static const char fn[] = "nvp_zone_report";
	struct nvme_sqe sqe;
	int err = zoned(fn, qp, ns, cb);

	if (err)
		return err;
	if (slba >= ns->info.nsze)
		return nvp_set_error(-ERANGE, "%s: LBA %llu is past the end of namespace %u", fn,
				     (unsigned long long)slba, ns->info.nsid);
	if (filter > NVME_ZRASF_OFFLINE)
		return nvp_set_error(-EINVAL, "%s: state filter %u is not NVME_ZRASF_* (0..7)", fn, filter);
	if (!buf || len < sizeof(struct nvme_zone_report_hdr) || len % sizeof(struct nvme_zone_desc))
		return nvp_set_error(-EINVAL, "%s: the buffer must be a multiple of 64 bytes, at least 64", fn);
	nvp_cmd_range(&sqe, NVME_CMD_ZONE_MGMT_RECV, ns, slba, (uint32_t)(len / 4 - 1));
	sqe.cdw13 = (uint32_t)(NVME_SET(NVME_ZRA_REPORT, ZRA) | NVME_SET(filter, ZRASF) |
			       NVME_SET(!!partial, ZRA_PARTIAL));
	return submit(fn, qp, &sqe, buf, len, cb, arg);
}

NVP_API int nvp_zone_mgmt(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t zslba, unsigned action, int all,
			  nvp_cb cb, void *arg)
{
	static const char fn[] = "nvp_zone_mgmt";
	struct nvme_sqe sqe;
	int err = zoned(fn, qp, ns, cb);

	if (err)
		return err;
	if (action != NVME_ZSA_OPEN && action != NVME_ZSA_CLOSE && action != NVME_ZSA_FINISH &&
	    action != NVME_ZSA_RESET)
		return nvp_set_error(-EINVAL, "%s: action %u is not NVME_ZSA_OPEN, _CLOSE, _FINISH or _RESET", fn,
				     action);
	if (all)
		zslba = 0;
	else if ((err = zone_start(fn, ns, zslba)))
		return err;
	nvp_cmd_range(&sqe, NVME_CMD_ZONE_MGMT_SEND, ns, zslba, 0);
	sqe.cdw13 = action | (all ? NVME_ZSA_SELECT_ALL : 0);
	return submit(fn, qp, &sqe, NULL, 0, cb, arg);
}

NVP_API int nvp_zone_append(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t zslba, uint32_t nlb,
			    const void *buf, nvp_cb cb, void *arg)
{
	static const char fn[] = "nvp_zone_append";
	struct nvme_sqe sqe;
	size_t len;
	int err = zoned(fn, qp, ns, cb);

	if (!err)
		err = zone_start(fn, ns, zslba);
	if (!err)
		err = nvp_io_check_range(ns, zslba, nlb);
	if (err)
		return err == -ERANGE || err == -EINVAL ? nvp_prefix_error(err, "%s", fn) : err;
	len = (size_t)nlb << ns->lba_shift;
	if (len > ns->info.zone_append_max)
		return nvp_set_error(-E2BIG, "%s: %zu bytes is above the zone append limit, %u bytes (ZASL)", fn, len,
				     ns->info.zone_append_max);
	nvp_cmd_range(&sqe, NVME_CMD_ZONE_APPEND, ns, zslba, nlb - 1);
	return submit(fn, qp, &sqe, buf, len, cb, arg);
}
