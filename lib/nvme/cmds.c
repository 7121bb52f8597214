/* SPDX-License-Identifier: MIT */
/*
 * The NVM commands beyond read and write: Compare, Verify, Write
 * Uncorrectable and Copy. Each is refused before it is posted when the
 * controller's ONCS says it lacks the command, then built here and
 * submitted through nvp_io_cmd(), off the hot path.
 */
#include <errno.h>

#include "internal.h"
#include "nvme/cmd.h"
#include "nvme/nvme.h"

/* 0 when ONCS has @bit, else -EOPNOTSUPP naming the command. */
static int need_oncs(const struct nvp_qpair *qp, uint16_t bit, const char *fn, const char *cmd, unsigned nr)
{
	if (qp->dev->id_ctrl.oncs & bit)
		return 0;
	return nvp_set_error(-EOPNOTSUPP, "%s: the controller does not support %s (Identify Controller ONCS bit %u "
			     "is clear)", fn, cmd, nr);
}

static int args(const char *fn, struct nvp_qpair *qp, const struct nvp_ns *ns, nvp_cb cb)
{
	if (!qp || !ns || !cb)
		return nvp_set_error(-EINVAL, "%s: qpair, namespace and callback must not be NULL", fn);
	return 0;
}

static int range(const char *fn, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb)
{
	int err = nvp_io_check_range(ns, slba, nlb);

	return err ? nvp_prefix_error(err, "%s", fn) : 0;
}

static int submit(const char *fn, struct nvp_qpair *qp, const struct nvme_sqe *sqe, const void *buf, size_t len,
		  nvp_cb cb, void *arg)
{
	int err = nvp_io_cmd(qp, sqe, (void *)buf, len, cb, arg);

	return err ? nvp_prefix_error(err, "%s", fn) : 0;
}

NVP_API int nvp_compare(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
			const void *buf, nvp_cb cb, void *arg)
{
	static const char fn[] = "nvp_compare";
	struct nvme_sqe sqe;
	int err = args(fn, qp, ns, cb);

	if (!err)
		err = need_oncs(qp, NVME_ONCS_COMPARE, fn, "Compare", 0);
	if (!err)
		err = range(fn, ns, slba, nlb);
	if (err)
		return err;
	nvp_cmd_range(&sqe, NVME_CMD_COMPARE, ns, slba, nlb - 1);
	return submit(fn, qp, &sqe, buf, (size_t)nlb << ns->lba_shift, cb, arg);
}

NVP_API int nvp_verify(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
		       const struct nvp_pi_args *pi, nvp_cb cb, void *arg)
{
	static const char fn[] = "nvp_verify";
	struct nvme_sqe sqe;
	int err = args(fn, qp, ns, cb);

	if (!err)
		err = need_oncs(qp, NVME_ONCS_VERIFY, fn, "Verify", 7);
	if (!err)
		err = range(fn, ns, slba, nlb);
	if (err)
		return err;
	if (pi && ((pi->flags & ~NVP_PI_CHECK_ALL) || (pi->flags && !ns->info.pi_type)))
		return nvp_set_error(-EINVAL, "%s: PI flags 0x%x: Verify takes NVP_PI_CHECK_* (no PRACT), on a "
				     "namespace with PI", fn, pi->flags);
	if (pi && (pi->flags & NVP_PI_CHECK_REF) && ns->info.pi_type == 3)
		return nvp_set_error(-EINVAL, "%s: namespace %u has PI type 3, whose reference tag is not checked: "
				     "leave NVP_PI_CHECK_REF out", fn, ns->info.nsid);
	nvp_cmd_range(&sqe, NVME_CMD_VERIFY, ns, slba, nlb - 1);
	if (pi) {
		sqe.cdw12 |= (uint32_t)NVME_SET(pi->flags, RW_PRINFO);
		sqe.cdw14 = pi->ref_tag;
		sqe.cdw15 = (uint32_t)(NVME_SET(pi->app_tag, RW_LBAT) | NVME_SET(pi->app_mask, RW_LBATM));
	}
	return submit(fn, qp, &sqe, NULL, 0, cb, arg);
}

NVP_API int nvp_write_uncorrectable(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t slba, uint32_t nlb,
				    nvp_cb cb, void *arg)
{
	static const char fn[] = "nvp_write_uncorrectable";
	struct nvme_sqe sqe;
	int err = args(fn, qp, ns, cb);

	if (!err)
		err = need_oncs(qp, NVME_ONCS_WRITE_UNCOR, fn, "Write Uncorrectable", 1);
	if (!err)
		err = range(fn, ns, slba, nlb);
	if (err)
		return err;
	nvp_cmd_range(&sqe, NVME_CMD_WRITE_UNCOR, ns, slba, nlb - 1);
	return submit(fn, qp, &sqe, NULL, 0, cb, arg);
}

/* Each range inside the namespace and the limits of Identify Namespace; the total in *@total. */
static int copy_ranges(const char *fn, const struct nvp_ns *ns, const struct nvme_copy_range *r, unsigned nr,
		       uint64_t *total)
{
	const struct nvp_ns_info *i = &ns->info;

	*total = 0;
	for (unsigned k = 0; k < nr; k++) {
		uint32_t nlb = r[k].nlb + 1u;
		int err = nvp_io_check_range(ns, r[k].slba, nlb);

		if (err)
			return nvp_prefix_error(err, "%s: source range %u", fn, k);
		if (i->copy_max_range_nlb && nlb > i->copy_max_range_nlb)
			return nvp_set_error(-EINVAL, "%s: source range %u has %u blocks, above the namespace's %u "
					     "(MSSRL)", fn, k, nlb, i->copy_max_range_nlb);
		*total += nlb;
	}
	if (i->copy_max_nlb && *total > i->copy_max_nlb)
		return nvp_set_error(-EINVAL, "%s: %llu blocks in all, above the namespace's %u (MCL): split the copy",
				     fn, (unsigned long long)*total, i->copy_max_nlb);
	return 0;
}

NVP_API int nvp_copy(struct nvp_qpair *qp, const struct nvp_ns *ns, uint64_t sdlba,
		     const struct nvme_copy_range *ranges, unsigned nr, nvp_cb cb, void *arg)
{
	static const char fn[] = "nvp_copy";
	struct nvme_sqe sqe;
	uint64_t total;
	int err = args(fn, qp, ns, cb);

	if (!err && !ranges)
		err = nvp_set_error(-EINVAL, "%s: ranges must not be NULL", fn);
	if (!err)
		err = need_oncs(qp, NVME_ONCS_COPY, fn, "Copy", 8);
	if (err)
		return err;
	if (!(qp->dev->id_ctrl.ocfs & NVME_OCFS_FORMAT0))
		return nvp_set_error(-EOPNOTSUPP, "%s: the controller's Copy does not take source range format 0 "
				     "(OCFS bit 0 is clear)", fn);
	if (nr == 0 || nr > NVME_COPY_MAX_RANGES || nr > ns->info.copy_max_ranges)
		return nvp_set_error(-EINVAL, "%s: %u source ranges; the namespace takes 1..%u (MSRC + 1)", fn, nr,
				     ns->info.copy_max_ranges < NVME_COPY_MAX_RANGES ? ns->info.copy_max_ranges
										     : NVME_COPY_MAX_RANGES);
	err = copy_ranges(fn, ns, ranges, nr, &total);
	if (err)
		return err;
	if (sdlba >= ns->info.nsze || total > ns->info.nsze - sdlba)
		return nvp_set_error(-ERANGE, "%s: destination LBAs %llu..+%llu are past the end of namespace %u "
				     "(%llu blocks)", fn, (unsigned long long)sdlba, (unsigned long long)total,
				     ns->info.nsid, (unsigned long long)ns->info.nsze);
	nvp_cmd_range(&sqe, NVME_CMD_COPY, ns, sdlba, (uint32_t)NVME_SET(nr - 1, COPY_NR));
	return submit(fn, qp, &sqe, ranges, nr * sizeof(*ranges), cb, arg);
}
