/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous events: a few Asynchronous Event Requests stay outstanding
 * on the admin queue. Their completions are collected under admin_lock
 * (by whoever polls the admin queue) and handled in nvp_admin_poll(),
 * outside the lock, because handling one takes admin commands of its own.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"

#define AER_MAX_OUTSTANDING 4

static void aer_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct nvp_dev *dev = arg;

	dev->aer_outstanding--;
	/* Aborted at a reset or refused (limit): nothing happened, just re-arm later. */
	if (err)
		return;
	if (dev->nr_aer_pending == NVP_ARRAY_SIZE(dev->aer_pending)) {
		nvp_log(NVP_LOG_WARN, "%s: asynchronous event %#x dropped: nvp_admin_poll() is not called often enough",
			dev->bus->name, cqe->dw0);
		return;
	}
	dev->aer_pending[dev->nr_aer_pending++] = cqe->dw0;
}

void nvp_aer_arm_locked(struct nvp_dev *dev)
{
	struct nvp_qpair *aq = &dev->admin;

	if (!dev->aer_limit) {
		dev->aer_limit = dev->id_ctrl.aerl + 1u;
		if (dev->aer_limit > AER_MAX_OUTSTANDING)
			dev->aer_limit = AER_MAX_OUTSTANDING;
	}
	while (dev->aer_outstanding < dev->aer_limit && !dev->removed) {
		struct nvme_sqe sqe = { .opc = NVME_ADMIN_ASYNC_EVENT };
		struct nvp_req *req;
		uint16_t cid;

		req = nvp__req_get(aq, &cid);
		if (!req)
			break;
		req->cb = aer_done;
		req->arg = dev;
		req->deadline = UINT64_MAX; /* outstanding until an event: no deadline */
		sqe.cid = cid;
		nvp__sq_post(aq, &sqe);
		dev->aer_outstanding++;
	}
	nvp_qpair_ring(aq);
}

/* Log page bytes to read for an event: enough to clear it. */
static size_t log_len(uint8_t lid)
{
	switch (lid) {
	case NVME_LOG_ERROR:
		return sizeof(struct nvme_error_log);
	case NVME_LOG_CHANGED_NS:
		return 4096;
	default:
		return 512; /* SMART / Health, Firmware Slot */
	}
}

/* Which namespaces changed, as far as the page read says: the rescan covers them all anyway. */
static void log_changed_ns(struct nvp_dev *dev, const uint8_t *page, size_t len)
{
	uint32_t ids[8];
	int n = nvp_changed_ns_parse(page, len, ids, NVP_ARRAY_SIZE(ids));

	if (n < 0) {
		nvp_log(NVP_LOG_INFO, "%s: changed namespaces: %s", dev->bus->name, nvp_errmsg());
		return;
	}
	for (int i = 0; i < n && i < (int)NVP_ARRAY_SIZE(ids); i++)
		nvp_log(NVP_LOG_INFO, "%s: namespace %u changed", dev->bus->name, ids[i]);
	if (n > (int)NVP_ARRAY_SIZE(ids))
		nvp_log(NVP_LOG_INFO, "%s: ... and %d more namespaces changed", dev->bus->name,
			n - (int)NVP_ARRAY_SIZE(ids));
}

static int handle_event(struct nvp_dev *dev, uint32_t dw0)
{
	struct nvp_event ev = {
		.type = (uint8_t)NVME_GET(dw0, AER_TYPE),
		.info = (uint8_t)NVME_GET(dw0, AER_INFO),
		.lid = (uint8_t)NVME_GET(dw0, AER_LID),
		.dw0 = dw0,
	};
	uint8_t page[4096];
	int err = 0;

	nvp_log(NVP_LOG_INFO, "%s: asynchronous event type %u info %#x log %#x", dev->bus->name, ev.type,
		ev.info, ev.lid);
	/* Reading the page (RAE = 0) is what re-enables this kind of event. */
	if (ev.lid)
		err = nvp_get_log_page(dev, ev.lid == NVME_LOG_SMART ? 0xffffffff : 0, ev.lid, page, log_len(ev.lid));
	if (err)
		nvp_log(NVP_LOG_WARN, "%s: reading log %#x for an event: %s", dev->bus->name, ev.lid, nvp_errmsg());
	else if (ev.lid == NVME_LOG_CHANGED_NS)
		log_changed_ns(dev, page, log_len(ev.lid));
	/* Notice 0: Namespace Attribute Changed. */
	if (ev.type == NVME_AER_NOTICE && ev.info == 0) {
		err = nvp_ns_scan(dev);
		if (err)
			nvp_log(NVP_LOG_WARN, "%s: refreshing namespaces: %s", dev->bus->name, nvp_errmsg());
	}
	if (dev->event_cb)
		dev->event_cb(dev, &ev, dev->event_arg);
	return err;
}

NVP_API int nvp_admin_poll(struct nvp_dev *dev)
{
	uint32_t events[NVP_ARRAY_SIZE(dev->aer_pending)];
	unsigned n;

	if (!dev)
		return nvp_set_error(-EINVAL, "nvp_admin_poll: dev is NULL");
	nvp_dev_check_release(dev);
	if (nvp_dev_take_removal_event(dev) && dev->event_cb) {
		struct nvp_event ev = { .kind = NVP_EVENT_REMOVAL };

		dev->event_cb(dev, &ev, dev->event_arg);
	}
	if (dev->removed)
		return nvp_set_error(-ENODEV, "the controller was removed");
	/* A transport's controller keeps its own AERs (the kernel's) or has none (nil, tcp); tcp's Keep Alive. */
	if (dev->xport)
		return dev->xport->admin_poll ? dev->xport->admin_poll(dev) : 0;
	if (pthread_mutex_trylock(&dev->admin_lock))
		return 0;
	nvp_qpair_poll(&dev->admin, 0);
	n = dev->nr_aer_pending;
	memcpy(events, dev->aer_pending, n * sizeof(events[0]));
	dev->nr_aer_pending = 0;
	pthread_mutex_unlock(&dev->admin_lock);

	for (unsigned i = 0; i < n; i++)
		handle_event(dev, events[i]);

	pthread_mutex_lock(&dev->admin_lock);
	nvp_aer_arm_locked(dev);
	pthread_mutex_unlock(&dev->admin_lock);
	return (int)n;
}

NVP_API void nvp_dev_set_event_cb(struct nvp_dev *dev, nvp_event_cb cb, void *arg)
{
	if (!dev)
		return;
	pthread_mutex_lock(&dev->admin_lock);
	dev->event_cb = cb;
	dev->event_arg = arg;
	pthread_mutex_unlock(&dev->admin_lock);
}
