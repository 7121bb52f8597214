/* SPDX-License-Identifier: MIT */
/*
 * nil: every command completes at the next poll and moves no data (reads
 * return zeroes), as xNVMe's nil does. What it measures is the library's
 * own cost per I/O: submission, the qpair rings, the poll, the callback.
 * Its controller answers Identify (one or more namespaces of "blocks"
 * blocks of 2^lbads bytes), logs (zeroes) and features (0), and nothing
 * else: any other admin opcode gets Invalid Command Opcode.
 *
 * URI: nil[:key=value,...] with ns (namespaces, 1..16; default 1), lbads
 * (9..16; default 12) and blocks (per namespace; default 2^28).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "nil/nil.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"

#define NIL_MAX_NS 16
#define NIL_OPTS_MAX 256	/* as the URI parser allows, like the sim's */
#define NIL_MDTS 9		/* 2 MiB at 4 KiB pages: nvpoll's own cap */
#define NIL_MAX_DEPTH 4096

struct nil_bus {
	struct nvp_bus bus;	/* first: the bus pointer is the nil_bus pointer */
	unsigned nr_ns;
	unsigned lbads;
	uint64_t blocks;
};

static int nil_uint(const char *key, const char *val, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(val, &end, 0);
	if (!*val || *end || errno || v < min || v > max)
		return nvp_set_error(-EINVAL, "nil option %s=%s: want a number in %llu..%llu", key, val,
				     (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

static int nil_parse(const char *opts, struct nil_bus *nb)
{
	char buf[NIL_OPTS_MAX], *save = NULL, *kv;
	uint64_t v;
	int err;

	nb->nr_ns = 1;
	nb->lbads = 12;
	nb->blocks = 1ull << 28;
	if (strlen(opts) >= sizeof(buf))
		return nvp_set_error(-EINVAL, "nil options are too long");
	snprintf(buf, sizeof(buf), "%s", opts);
	for (kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *val = strchr(kv, '=');

		if (!val)
			return nvp_set_error(-EINVAL, "nil option '%s' has no value: use key=value (ns, lbads, blocks)", kv);
		*val++ = '\0';
		if (!strcmp(kv, "ns"))
			err = nil_uint(kv, val, 1, NIL_MAX_NS, &v), nb->nr_ns = (unsigned)v;
		else if (!strcmp(kv, "lbads"))
			err = nil_uint(kv, val, 9, 16, &v), nb->lbads = (unsigned)v;
		else if (!strcmp(kv, "blocks"))
			err = nil_uint(kv, val, 1, 1ull << 48, &v), nb->blocks = v;
		else
			return nvp_set_error(-EINVAL, "unknown nil option '%s': use ns, lbads or blocks", kv);
		if (err)
			return err;
	}
	return 0;
}

static int nil_open(const char *addr, const struct nvp_opts *opts, struct nvp_bus **out)
{
	struct nil_bus *nb = calloc(1, sizeof(*nb));
	int err;

	(void)opts;
	if (!nb)
		return nvp_set_error(-ENOMEM, "out of memory");
	err = nil_parse(addr, nb);
	if (err) {
		free(nb);
		return err;
	}
	nb->bus.ops = &nvp_nil_bus_ops;
	nb->bus.numa_node = -1;
	snprintf(nb->bus.name, sizeof(nb->bus.name), "nil");
	*out = &nb->bus;
	return 0;
}

static void nil_close(struct nvp_bus *bus)
{
	free(bus);
}

const struct nvp_bus_ops nvp_nil_bus_ops = {
	.name = "nil",
	.default_mem = "libc",
	.open = nil_open,
	.close = nil_close,
	.dma_map = nvp_xport_dma_map,
	.dma_unmap = nvp_xport_dma_unmap,
};

/* ---- The controller's answers ------------------------------------------ */

static void nil_id_ctrl(const struct nil_bus *nb, struct nvme_id_ctrl *id)
{
	memset(id, 0, sizeof(*id));
	memcpy(id->sn, "NVPNIL0001          ", sizeof(id->sn));
	memcpy(id->mn, "nvpoll nil                              ", sizeof(id->mn));
	memcpy(id->fr, "0.1     ", sizeof(id->fr));
	id->mdts = NIL_MDTS;
	id->ver = 0x00010400; /* 1.4 */
	id->nn = nb->nr_ns;
	id->oncs = NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES;
	id->sqes = 0x66;
	id->cqes = 0x44;
}

static int nil_identify(const struct nil_bus *nb, const struct nvme_sqe *cmd, void *buf, size_t len)
{
	uint8_t page[4096] = { 0 };

	switch (cmd->cdw10 & 0xff) {
	case NVME_ID_CNS_CTRL:
		nil_id_ctrl(nb, (struct nvme_id_ctrl *)page);
		break;
	case NVME_ID_CNS_NS: {
		struct nvme_id_ns *id = (struct nvme_id_ns *)page;

		if (cmd->nsid == 0 || cmd->nsid > nb->nr_ns)
			return NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_NS) | NVME_STATUS_DNR;
		id->nsze = id->ncap = nb->blocks;
		id->lbaf[0].lbads = (uint8_t)nb->lbads;
		id->dlfeat = 0x9; /* deallocated blocks read as zeroes, as every read here does */
		break;
	}
	case NVME_ID_CNS_NS_ACTIVE_LIST: {
		uint32_t *ids = (uint32_t *)page;
		unsigned n = 0;

		for (uint32_t nsid = cmd->nsid + 1; nsid <= nb->nr_ns; nsid++)
			ids[n++] = nsid;
		break;
	}
	default:
		return NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD) | NVME_STATUS_DNR;
	}
	memcpy(buf, page, len < sizeof(page) ? len : sizeof(page));
	return 0;
}

static int nil_admin(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len,
		     struct nvme_cqe *cqe)
{
	const struct nil_bus *nb = (const struct nil_bus *)dev->bus;
	int status = 0;

	switch (cmd->opc) {
	case NVME_ADMIN_IDENTIFY:
		status = buf ? nil_identify(nb, cmd, buf, len) :
			NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR);
		break;
	case NVME_ADMIN_GET_LOG_PAGE:
		if (buf)
			memset(buf, 0, len);
		break;
	case NVME_ADMIN_GET_FEATURES:
	case NVME_ADMIN_SET_FEATURES:
		break;
	default:
		status = NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE) | NVME_STATUS_DNR;
	}
	cqe->status = (uint16_t)(status << 1);
	return status ? -EIO : 0;
}

/* ---- I/O ----------------------------------------------------------------- */

static void nil_poll(struct nvp_qpair *qp)
{
	const struct nvme_sqe *sqe;

	while ((sqe = nvp_xport_next_sqe(qp))) {
		size_t len;
		void *buf = nvp_xport_data(qp, sqe, &len);

		if (sqe->opc == NVME_CMD_READ && buf)
			memset(buf, 0, len);
		nvp_xport_post_cqe(qp, sqe->cid, 0, 0);
	}
}

static int nil_identify_step(struct nvp_dev *dev)
{
	return nvp_xport_identify(dev, 0);
}

static int nil_queues(struct nvp_dev *dev)
{
	return nvp_xport_queues(dev, NIL_MAX_DEPTH);
}

static int nil_reset(struct nvp_dev *dev)
{
	(void)dev;
	return 0; /* nothing to reset: commands never wait */
}

static const struct nvp_ctrl_step nil_steps[] = {
	{ "identify",		.open = nil_identify_step },
	{ "queues",		.open = nil_queues },
	{ "namespaces",		.open = nvp_ns_scan },
	{ "reset",		.reset = nil_reset },
};

static const struct nvp_ctrl_ops nil_ctrl = {
	.name = "nil",
	.steps = nil_steps,
	.nr_steps = NVP_ARRAY_SIZE(nil_steps),
	.reset_from = 3,
};

const struct nvp_transport_ops nvp_xport_nil = {
	.name = "nil",
	.ctrl = &nil_ctrl,
	.admin = nil_admin,
	.poll = nil_poll,
};
