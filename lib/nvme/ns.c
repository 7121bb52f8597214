/* SPDX-License-Identifier: MIT */
/* Namespaces: the active list and each one's Identify Namespace data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nvme/cmd.h"
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
	ns->info.copy_max_range_nlb = id->mssrl;
	ns->info.copy_max_ranges = (uint16_t)(id->msrc + 1u);
	ns->info.copy_max_nlb = id->mcl;
	if (ns->info.ms) {
		ns->info.md_extended = !!(id->flbas & NVME_FLBAS_EXTENDED);
		ns->info.pi_type = (uint8_t)NVME_GET(id->dps, DPS_PIT);
		ns->info.pi_first = (uint8_t)NVME_GET(id->dps, DPS_PIP);
	}
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

/* The namespace object for @nsid, active or not; NULL if never seen. */
static struct nvp_ns *ns_find(const struct nvp_dev *dev, uint32_t nsid)
{
	for (unsigned i = 0; i < dev->nr_ns_all; i++)
		if (dev->ns_all[i]->info.nsid == nsid)
			return dev->ns_all[i];
	return NULL;
}

/*
 * Read the active namespace list and each namespace's identity. Objects
 * are kept for the life of the device, so a namespace handle an
 * application holds stays valid across a rescan: its info is updated in
 * place, and a namespace that went away keeps a size of 0 (its I/O fails
 * with -ERANGE) and leaves the active list.
 */
int nvp_ns_scan(struct nvp_dev *dev)
{
	struct nvme_id_ns *id = malloc(sizeof(*id));
	uint32_t *ids = NULL, *active = NULL;
	unsigned n = 0, kept = 0;
	int err;

	if (!id)
		return -ENOMEM;
	err = read_active_list(dev, &ids, &n);
	if (err)
		goto out;
	active = calloc(n ? n : 1, sizeof(*active));
	if (!active) {
		err = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		struct nvp_ns parsed, *ns;

		err = nvp_identify(dev, NVME_ID_CNS_NS, ids[i], id);
		if (err)
			goto out;
		if (nvp_ns_parse(&parsed, ids[i], id) || nvp_ns_zns_identify(dev, &parsed)) {
			nvp_log(NVP_LOG_WARN, "%s: %s; namespace skipped", dev->bus->name, nvp_errmsg());
			continue;
		}
		ns = ns_find(dev, ids[i]);
		if (!ns) {
			struct nvp_ns **grown = realloc(dev->ns_all, (dev->nr_ns_all + 1) * sizeof(*grown));

			ns = malloc(sizeof(*ns));
			if (!grown || !ns) {
				free(ns);
				if (grown)
					dev->ns_all = grown;
				err = -ENOMEM;
				goto out;
			}
			dev->ns_all = grown;
			dev->ns_all[dev->nr_ns_all++] = ns;
		}
		parsed.dev = dev;
		*ns = parsed;
		active[kept++] = ids[i];
	}
	/* Namespaces no longer active keep their object, with no blocks left. */
	for (unsigned i = 0; i < dev->nr_ns_all; i++) {
		struct nvp_ns *ns = dev->ns_all[i];
		unsigned k = 0;

		while (k < kept && active[k] != ns->info.nsid)
			k++;
		if (k == kept)
			ns->info.nsze = ns->info.ncap = ns->info.nuse = 0;
	}
	free(dev->nsids);
	dev->nsids = active;
	dev->nr_ns = kept;
	active = NULL;
out:
	free(active);
	free(ids);
	free(id);
	return err;
}

void nvp_ns_free(struct nvp_dev *dev)
{
	for (unsigned i = 0; i < dev->nr_ns_all; i++)
		free(dev->ns_all[i]);
	free(dev->ns_all);
	free(dev->nsids);
	dev->ns_all = NULL;
	dev->nsids = NULL;
	dev->nr_ns = dev->nr_ns_all = 0;
}

NVP_API unsigned nvp_ns_list(const struct nvp_dev *dev, const uint32_t **nsids)
{
	if (!dev)
		return 0;
	if (nsids)
		*nsids = dev->nsids;
	return dev->nr_ns;
}

NVP_API const struct nvp_ns *nvp_ns_get(const struct nvp_dev *dev, uint32_t nsid)
{
	const struct nvp_ns *ns = dev ? ns_find(dev, nsid) : NULL;

	if (ns && ns->info.nsze)
		return ns;
	nvp_set_error(-ENOENT, "namespace %u is not active on this controller (nvpoll identify lists them)", nsid);
	errno = ENOENT;
	return NULL;
}

NVP_API const struct nvp_ns_info *nvp_ns_info(const struct nvp_ns *ns)
{
	return ns ? &ns->info : NULL;
}
