/* SPDX-License-Identifier: MIT */
/*
 * Get Log Page of any length: one command per piece the admin path can
 * carry (MDTS, the bounce buffer), each at its byte offset (LPO), every
 * piece but the last with RAE set so an event is not cleared by half a
 * read. The controller never says how much it returned: every byte the
 * caller gets is one it asked for, and parsers bound themselves by the
 * length they asked for (see nvp_changed_ns_parse()).
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "nvme/nvme.h"

/* One Get Log Page SQE for @len bytes at byte @off of the log. */
void nvp_log_cmd_build(struct nvme_sqe *cmd, const struct nvp_log_args *a, uint64_t off, size_t len,
		       int rae)
{
	uint32_t numd = (uint32_t)(len / 4 - 1); /* zero-based dword count */

	memset(cmd, 0, sizeof(*cmd));
	cmd->opc = NVME_ADMIN_GET_LOG_PAGE;
	cmd->nsid = a->nsid;
	cmd->cdw10 = a->lid | (uint32_t)(a->lsp & 0x7f) << 8 | (rae ? NVME_LOG_RAE : 0) | (numd & 0xffff) << 16;
	cmd->cdw11 = numd >> 16 | (uint32_t)a->lsi << 16;
	cmd->cdw12 = (uint32_t)off;
	cmd->cdw13 = (uint32_t)(off >> 32);
}

/* Bytes one Get Log Page may carry here: the admin path's limit and MDTS, a multiple of 4. */
static size_t log_piece_max(const struct nvp_dev *dev)
{
	size_t max = NVP_ADMIN_BOUNCE_SIZE;

	if (dev->max_xfer && dev->max_xfer < max)
		max = dev->max_xfer;
	return max & ~(size_t)3;
}

NVP_API int nvp_get_log(struct nvp_dev *dev, const struct nvp_log_args *args, void *buf, size_t len)
{
	size_t piece = 0, done, n;
	struct nvme_sqe cmd;
	int err;

	if (!dev || !args || !buf || len < 4 || len % 4)
		return nvp_set_error(-EINVAL, "nvp_get_log: need a buffer and a length that is a non-zero multiple of 4");
	if (args->offset % 4)
		return nvp_set_error(-EINVAL, "log page offset %llu is not a multiple of 4",
				     (unsigned long long)args->offset);
	piece = log_piece_max(dev);
	/* Offsets (LPO) and NUMDU are the extended data of LPA bit 2: without it one piece from 0. */
	if ((args->offset || len > piece) && !(dev->id_ctrl.lpa & NVME_LPA_EXT_DATA))
		return nvp_set_error(-EOPNOTSUPP, "log page %#x: the controller has no log page offsets (LPA bit 2 "
				     "clear): read at most %zu bytes, from offset 0", args->lid, piece);
	if (len - 4 > UINT64_MAX - args->offset)
		return nvp_set_error(-EINVAL, "log page %#x: offset %llu + %zu bytes overflows", args->lid,
				     (unsigned long long)args->offset, len);
	for (done = 0; done < len; done += n) {
		n = len - done < piece ? len - done : piece;
		nvp_log_cmd_build(&cmd, args, args->offset + done, n, args->rae || done + n < len);
		err = nvp_admin_sync(dev, &cmd, (uint8_t *)buf + done, n, NULL);
		if (err)
			return done ? nvp_prefix_error(err, "log page %#x at byte %zu of %zu", args->lid,
						       done, len) : err;
	}
	return 0;
}

NVP_API int nvp_get_log_page(struct nvp_dev *dev, uint32_t nsid, uint8_t lid, void *buf, size_t len)
{
	struct nvp_log_args a = { .nsid = nsid, .lid = lid };

	return nvp_get_log(dev, &a, buf, len);
}

NVP_API int nvp_changed_ns_parse(const void *log, size_t len, uint32_t *ids, unsigned max)
{
	const uint8_t *p = log;
	size_t entries = len / 4;
	unsigned n = 0;
	uint32_t id;

	if (!log || (max && !ids))
		return nvp_set_error(-EINVAL, "nvp_changed_ns_parse: log and ids must not be NULL");
	if (entries > NVME_CHANGED_NS_MAX)
		entries = NVME_CHANGED_NS_MAX;
	for (size_t i = 0; i < entries; i++) {
		memcpy(&id, p + 4 * i, sizeof(id)); /* any alignment */
		if (id == 0)
			break;
		if (i == 0 && id == NVME_CHANGED_NS_OVERFLOW)
			return nvp_set_error(-E2BIG, "more than %u namespaces changed: rescan them all",
					     NVME_CHANGED_NS_MAX);
		if (n < max)
			ids[n] = id;
		n++;
	}
	return (int)n;
}
