/* SPDX-License-Identifier: MIT */
/*
 * nvpoll identify: the controller's and its namespaces' identity.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
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
