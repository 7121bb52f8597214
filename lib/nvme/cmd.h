/* SPDX-License-Identifier: MIT */
/*
 * For the NVM commands off the hot path (md.c: metadata and PI; later
 * zones, copy, verify): what io.c's commands check, shared. Each builds
 * its SQE and submits it through nvp_io_cmd(), which takes the slot, maps
 * the data and posts.
 */
#ifndef NVP_NVME_CMD_H
#define NVP_NVME_CMD_H

#include <stdint.h>

#include "nvme/nvme.h"

/* 0, or -EINVAL (nlb 0 or above 65536) / -ERANGE (past the end) with a message. */
int nvp_io_check_range(const struct nvp_ns *ns, uint64_t slba, uint32_t nlb);

/*
 * io.c, for vec.c: post @cmd in a free slot after @map has filled in its
 * data pointer from the slot's list memory (req->prp_list); 0 or -errno.
 */
int nvp_io_cmd_map(struct nvp_qpair *qp, const struct nvme_sqe *cmd, size_t len,
		   int (*map)(struct nvp_qpair *qp, struct nvp_req *req, void *ctx), void *ctx, nvp_cb cb, void *arg);

/* zns.c: at a namespace scan, whether @ns is zoned and its zones; 0, or -errno (skip it). */
int nvp_ns_zns_identify(struct nvp_dev *dev, struct nvp_ns *ns);
/* The CSI a Namespace Identification Descriptor list of @len bytes names; NVM without one. */
uint8_t nvp_ns_desc_csi(const uint8_t *list, size_t len);

/* Everything of an NVM command on a range but its data pointer and cid. */
static inline void nvp_cmd_range(struct nvme_sqe *sqe, uint8_t opc, const struct nvp_ns *ns, uint64_t slba,
				 uint32_t cdw12)
{
	*sqe = (struct nvme_sqe){ .opc = opc, .nsid = ns->info.nsid, .cdw10 = (uint32_t)slba,
				  .cdw11 = (uint32_t)(slba >> 32), .cdw12 = cdw12 };
}

#endif /* NVP_NVME_CMD_H */
