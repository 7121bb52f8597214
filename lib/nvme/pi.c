/* SPDX-License-Identifier: MIT */
/*
 * The host's PI helpers, nvp_pi_generate() and nvp_pi_verify(): the
 * arguments checked and worded, the work done by lib/pi.c (which the
 * sim's controller shares), a failed check named as the controller
 * would name it.
 */
#include <errno.h>

#include "internal.h"
#include "pi.h"

static int pi_args(const char *fn, const struct nvp_ns_info *fmt, const void *data, const void *md,
		   const struct nvp_pi_args *pi, struct nvp_pi_layout *l)
{
	if (!fmt || !data || !pi)
		return nvp_set_error(-EINVAL, "%s: format, data and PI arguments must not be NULL", fn);
	*l = (struct nvp_pi_layout){ .lba_size = fmt->lba_size, .ms = fmt->ms, .type = fmt->pi_type,
				     .first = fmt->pi_first, .extended = fmt->md_extended };
	if (l->type < 1 || l->type > 3)
		return nvp_set_error(-EINVAL, "%s: PI type %u: the format has no protection information (types 1..3)",
				     fn, l->type);
	if (nvp_pi_layout_ok(l, md))
		return nvp_set_error(-EINVAL, "%s: %u metadata bytes per %u-byte block cannot hold the 8-byte PI%s",
				     fn, l->ms, l->lba_size,
				     l->ms >= 8 && l->lba_size ? " without a metadata buffer (md is NULL)" : "");
	if (l->extended && md)
		return nvp_set_error(-EINVAL, "%s: extended LBAs carry metadata in the data buffer: md must be NULL", fn);
	return 0;
}

NVP_API int nvp_pi_generate(const struct nvp_ns_info *fmt, void *data, void *md, uint32_t nlb,
			    const struct nvp_pi_args *pi)
{
	struct nvp_pi_layout l;
	int err = pi_args("nvp_pi_generate", fmt, data, md, pi, &l);

	if (err)
		return err;
	nvp_pi_gen(&l, data, md, nlb, pi->ref_tag, pi->app_tag);
	return 0;
}

NVP_API int nvp_pi_verify(const struct nvp_ns_info *fmt, const void *data, const void *md, uint32_t nlb,
			  const struct nvp_pi_args *pi, struct nvp_pi_error *where)
{
	struct nvp_pi_layout l;
	uint32_t block = 0;
	uint16_t st;
	int err = pi_args("nvp_pi_verify", fmt, data, md, pi, &l);

	if (err)
		return err;
	st = nvp_pi_check(&l, data, md, nlb, pi->flags, pi->ref_tag, pi->app_tag, pi->app_mask, &block);
	if (!st)
		return 0;
	if (where)
		*where = (struct nvp_pi_error){ .block = block, .status = st };
	return nvp_set_error(-EILSEQ, "%s at block %u of %u (reference tag expected 0x%x)", nvp_status_str(st),
			     block, nlb, l.type == 3 ? pi->ref_tag : pi->ref_tag + block);
}
