/* SPDX-License-Identifier: MIT */
/* Namespaces: the active list and each one's Identify Namespace data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nvme/nvme.h"

#define NSID_LIST_LEN 1024 /* ids per Identify CNS 02h page */

int nvp_ns_parse(struct nvp_ns *ns, uint32_t nsid, const struct nvme_id_ns *id)
{
	unsigned fmt = nvme_id_ns_flbas_index(id);
	unsigned lbads;

	memset(ns, 0, sizeof(*ns));
	if (fmt > id->nlbaf || fmt >= NVP_ARRAY_SIZE(id->lbaf))
		return nvp_set_error(-EINVAL, "namespace %u: in-use LBA format %u is beyond the %u formats reported",
				     nsid, fmt, id->nlbaf + 1);
	lbads = id->lbaf[fmt].lbads;
	if (lbads < 9 || lbads > 16)
		return nvp_set_error(-EINVAL, "namespace %u: LBA data size 2^%u is not supported (9..16)",
				     nsid, lbads);
	if (id->ncap > id->nsze || id->nuse > id->ncap)
		nvp_log(NVP_LOG_WARN, "namespace %u: NCAP/NUSE exceed NSZE", nsid);
	ns->info.nsid = nsid;
	ns->info.nsze = id->nsze;
	ns->info.ncap = id->ncap;
	ns->info.nuse = id->nuse;
	ns->info.lba_size = 1u << lbads;
	ns->info.ms = id->lbaf[fmt].ms;
	ns->info.lbaf = (uint8_t)fmt;
	ns->lba_shift = lbads;
	return 0;
}

/* Active namespace ids (CNS 02h), ascending; walks pages for more than 1024. */
static int read_active_list(struct nvp_dev *dev, uint32_t **ids_out, unsigned *n_out)
{
	uint32_t *page = malloc(4096), *ids = NULL;
	uint32_t after = 0;
	unsigned n = 0;
	int err = 0;

	if (!page)
		return -ENOMEM;
	for (;;) {
		unsigned got = 0;
		uint32_t *grown;

		err = nvp_identify(dev, NVME_ID_CNS_NS_ACTIVE_LIST, after, page);
		if (err)
			break;
		while (got < NSID_LIST_LEN && page[got])
			got++;
		grown = realloc(ids, (n + got + 1) * sizeof(*ids));
		if (!grown) {
			err = -ENOMEM;
			break;
		}
		ids = grown;
		for (unsigned i = 0; i < got; i++) {
			/* Ascending and within NN, or the list is not to be trusted. */
			if (page[i] <= after || page[i] > dev->id_ctrl.nn) {
				err = nvp_set_error(-EIO, "active namespace list is malformed (nsid %u after %u, NN %u)",
						    page[i], after, dev->id_ctrl.nn);
				goto out;
			}
			ids[n++] = after = page[i];
		}
		if (got < NSID_LIST_LEN)
			break;
	}
out:
	free(page);
	if (err) {
		free(ids);
		return err;
	}
	*ids_out = ids;
	*n_out = n;
	return 0;
}

int nvp_ns_scan(struct nvp_dev *dev)
{
	struct nvme_id_ns *id = malloc(sizeof(*id));
	uint32_t *ids = NULL;
	unsigned n = 0, kept = 0;
	int err;

	if (!id)
		return -ENOMEM;
	err = read_active_list(dev, &ids, &n);
	if (err)
		goto out;
	dev->ns = calloc(n ? n : 1, sizeof(*dev->ns));
	dev->nsids = calloc(n ? n : 1, sizeof(*dev->nsids));
	if (!dev->ns || !dev->nsids) {
		err = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		err = nvp_identify(dev, NVME_ID_CNS_NS, ids[i], id);
		if (err)
			goto out;
		if (nvp_ns_parse(&dev->ns[kept], ids[i], id)) {
			nvp_log(NVP_LOG_WARN, "%s: %s; namespace skipped", dev->bus->name, nvp_errmsg());
			continue;
		}
		dev->ns[kept].dev = dev;
		dev->nsids[kept++] = ids[i];
	}
	dev->nr_ns = kept;
out:
	free(ids);
	free(id);
	return err;
}

void nvp_ns_free(struct nvp_dev *dev)
{
	free(dev->ns);
	free(dev->nsids);
	dev->ns = NULL;
	dev->nsids = NULL;
	dev->nr_ns = 0;
}

NVP_API unsigned nvp_ns_list(const struct nvp_dev *dev, const uint32_t **nsids)
{
	if (nsids)
		*nsids = dev->nsids;
	return dev->nr_ns;
}

NVP_API const struct nvp_ns *nvp_ns_get(const struct nvp_dev *dev, uint32_t nsid)
{
	if (dev)
		for (unsigned i = 0; i < dev->nr_ns; i++)
			if (dev->ns[i].info.nsid == nsid)
				return &dev->ns[i];
	nvp_set_error(-ENOENT, "namespace %u is not active on this controller (nvpoll identify lists them)", nsid);
	errno = ENOENT;
	return NULL;
}

NVP_API const struct nvp_ns_info *nvp_ns_info(const struct nvp_ns *ns)
{
	return &ns->info;
}
