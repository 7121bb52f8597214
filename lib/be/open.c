/* SPDX-License-Identifier: MIT */
/*
 * nvp_dev_open(): parse the URI, choose the config and the memory and open
 * the bus (be.c), then hand the bus to lib/nvme to bring the controller up
 * (nvp_dev_bring_up()). The top of the stack: it is the one place that
 * knows both the configs and the controller.
 */
#include <errno.h>
#include <string.h>

#include <nvpoll.h>

#include "be/be.h"
#include "internal.h"
#include "nvme/nvme.h"

NVP_API void nvp_opts_init(struct nvp_opts *opts)
{
	if (!opts)
		return;
	memset(opts, 0, sizeof(*opts));
	opts->numa_node = -1;
	opts->admin_timeout_ms = NVP_DEFAULT_ADMIN_TIMEOUT_MS;
	opts->nr_io_queues = NVP_DEFAULT_IO_QUEUES;
	opts->io_timeout_ms = NVP_DEFAULT_IO_TIMEOUT_MS;
}

/* @src with its zeroes read as "the default". */
static void opts_fill(struct nvp_opts *dst, const struct nvp_opts *src)
{
	nvp_opts_init(dst);
	if (!src)
		return;
	*dst = *src;
	if (!dst->admin_timeout_ms)
		dst->admin_timeout_ms = NVP_DEFAULT_ADMIN_TIMEOUT_MS;
	if (!dst->nr_io_queues)
		dst->nr_io_queues = NVP_DEFAULT_IO_QUEUES;
	if (!dst->io_timeout_ms)
		dst->io_timeout_ms = NVP_DEFAULT_IO_TIMEOUT_MS;
}

NVP_API struct nvp_dev *nvp_dev_open(const char *uri, const struct nvp_opts *opts)
{
	struct nvp_be_choice be;
	struct nvp_opts o;
	struct nvp_uri u;
	struct nvp_dev *dev;
	int err;

	err = nvp_uri_parse(uri, &u);
	if (err)
		return nvp_err_ptr(err);
	opts_fill(&o, opts);
	dev = nvp_dev_alloc(&o);
	if (!dev)
		return NULL;
	err = nvp_be_open(&u, &dev->opts, &be);
	if (err)
		goto fail;
	dev->be = be.cfg;
	err = nvp_dev_bring_up(dev, be.bus, be.cfg->xport, be.mem, u.nsid);
	if (err)
		goto fail;
	return dev;
fail:
	nvp_prefix_error(err, "open %s", uri);
	nvp_dev_abandon(dev);
	return nvp_err_ptr(err);
}
