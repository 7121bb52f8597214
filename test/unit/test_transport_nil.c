/* SPDX-License-Identifier: MIT */
/*
 * The transport seam through the nil config: the same qpair API, the same
 * checks and errors as PCIe, completions from the transport's CQ ring, and
 * nil's own promises (every command completes at the next poll, reads
 * return zeroes, nothing else happens).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <nvpoll.h>

#include "be/be.h"
#include "nvme/nvme.h"
#include "nvme/transport.h"
#include "sync_io.h"

static struct nvp_dev *open_nil(const char *uri, unsigned nr_io_queues)
{
	struct nvp_opts opts;
	struct nvp_dev *dev;

	nvp_opts_init(&opts);
	if (nr_io_queues)
		opts.nr_io_queues = nr_io_queues;
	dev = nvp_dev_open(uri, &opts);
	if (!dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	return dev;
}

static void expect_msg(const char *part)
{
	if (!strstr(nvp_errmsg(), part))
		fail_msg("message '%s' lacks '%s'", nvp_errmsg(), part);
}

static void test_open_identity(void **state)
{
	struct nvp_dev *dev = open_nil("nil:ns=3,lbads=9,blocks=1000", 0);
	const struct nvme_id_ctrl *id = nvp_dev_id_ctrl(dev);
	const uint32_t *nsids;
	const struct nvp_ns *ns;

	(void)state;
	assert_string_equal(nvp_dev_backend(dev), "nil");
	assert_memory_equal(id->mn, "nvpoll nil ", 11);
	assert_int_equal(id->nn, 3);
	assert_int_equal(nvp_dev_cap(dev), 0);		/* no registers */
	assert_int_equal(nvp_dev_vs(dev), 0x10400);	/* Identify's VER */
	assert_int_equal(nvp_dev_max_xfer(dev), 2u << 20);
	assert_int_equal(nvp_dev_max_queue_depth(dev), 4096);
	assert_int_equal(nvp_ns_list(dev, &nsids), 3);
	assert_int_equal(nsids[2], 3);
	ns = nvp_ns_get(dev, 2);
	assert_non_null(ns);
	assert_int_equal(nvp_ns_info(ns)->nsze, 1000);
	assert_int_equal(nvp_ns_info(ns)->lba_size, 512);
	assert_int_equal(nvp_admin_poll(dev), 0);	/* no AERs of its own */
	nvp_dev_close(dev);

	dev = open_nil("nil", 0);
	ns = nvp_ns_get(dev, 1);
	assert_int_equal(nvp_ns_info(ns)->nsze, 1ull << 28);
	assert_int_equal(nvp_ns_info(ns)->lba_size, 4096);
	assert_null(nvp_ns_get(dev, 2));
	nvp_dev_close(dev);
}

static void test_bad_options(void **state)
{
	static const struct {
		const char *uri, *msg;
	} bad[] = {
		{ "nil:ns=17", "nil option ns=17: want a number in 1..16" },
		{ "nil:lbads=8", "nil option lbads=8: want a number in 9..16" },
		{ "nil:blocks=0", "nil option blocks=0" },
		{ "nil:blocks=12x", "nil option blocks=12x" },
		{ "nil:size=1", "unknown nil option 'size': use ns, lbads or blocks" },
		{ "nil:ns", "nil option 'ns' has no value" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(nvp_dev_open(bad[i].uri, NULL));
		assert_int_equal(errno, EINVAL);
		expect_msg(bad[i].msg);
	}
	/* nil opens nil URIs only, and nil URIs open with nil only. */
	{
		struct nvp_opts opts;

		nvp_opts_init(&opts);
		opts.be = "nil";
		assert_null(nvp_dev_open("sim", &opts));
		expect_msg("config 'nil' cannot open 'sim': config nil opens only nil[:options] URIs");
		opts.be = "sim";
		assert_null(nvp_dev_open("nil", &opts));
		expect_msg("config 'sim' cannot open 'nil': config sim opens only sim[:options] URIs");
	}
}

/* Reads return zeroes; every kind of command completes once, at the next poll, with success. */
static void test_io(void **state)
{
	struct nvp_dev *dev = open_nil("nil:lbads=9,blocks=4096", 0);
	const struct nvp_ns *ns = nvp_ns_get(dev, 1);
	struct nvp_qpair *qp = nvp_qpair_create(dev, NULL);
	uint8_t *buf = nvp_dma_alloc(dev, 2 << 20);
	struct nvme_dsm_range *r = nvp_dma_alloc(dev, 4096);
	struct nvme_sqe cmd = { .opc = 0x7f, .nsid = 1 }; /* any opcode: nil does nothing with it */
	struct done d[7] = { { 0 } };
	struct nvp_qpair_stats st;
	unsigned got = 0;

	(void)state;
	assert_non_null(qp);
	memset(buf, 0xa5, 2 << 20);
	r[0].slba = 0;
	r[0].nlb = 8;
	assert_int_equal(nvp_read(qp, ns, 0, 1, buf, on_done, &d[0]), 0);
	assert_int_equal(nvp_read(qp, ns, 8, 2048, buf + 4096, on_done, &d[1]), 0); /* a PRP list's worth */
	assert_int_equal(nvp_write(qp, ns, 4095, 1, buf, on_done, &d[2]), 0);
	assert_int_equal(nvp_flush(qp, ns, on_done, &d[3]), 0);
	assert_int_equal(nvp_write_zeroes(qp, ns, 0, 4096, on_done, &d[4]), 0);
	assert_int_equal(nvp_dsm(qp, ns, r, 1, on_done, &d[5]), 0);
	assert_int_equal(nvp_io_cmd(qp, &cmd, buf, 512, on_done, &d[6]), 0);
	assert_int_equal(nvp_qpair_outstanding(qp), 7);
	/* Nothing ran before the poll: the read's buffer is as it was. */
	assert_int_equal(buf[0], 0xa5);
	got = nvp_qpair_poll(qp, 0);
	assert_int_equal(got, 7);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(d[i].n, 1);
		assert_int_equal(d[i].err, 0);
		assert_int_equal(d[i].status, 0);
	}
	assert_int_equal(buf[0], 0);
	assert_int_equal(buf[511], 0);
	assert_int_equal(buf[512], 0xa5);	/* one block read, one block zeroed */
	assert_int_equal(buf[4096], 0);
	assert_int_equal(buf[4096 + (2048 << 9) - 1], 0);
	assert_int_equal(buf[4096 + (2048 << 9)], 0xa5);
	assert_int_equal(nvp_qpair_outstanding(qp), 0);
	assert_int_equal(nvp_qpair_poll(qp, 0), 0);
	nvp_qpair_stats(qp, &st);
	assert_int_equal(st.submitted, 7);
	assert_int_equal(st.completed, 7);
	assert_int_equal(st.polls_empty, 1);
	nvp_dma_free(dev, r);
	nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
	nvp_dev_close(dev);
}

/* The checks before a command is posted are the same as on PCIe. */
static void test_errors(void **state)
{
	struct nvp_dev *dev = open_nil("nil:lbads=9,blocks=4096", 0);
	const struct nvp_ns *ns = nvp_ns_get(dev, 1);
	struct nvp_qpair_opts qo = { .depth = 4 };
	struct nvp_qpair *qp = nvp_qpair_create(dev, &qo);
	uint8_t *buf = nvp_dma_alloc(dev, 8192);
	uint8_t stack[512];
	struct done d[4] = { { 0 } };

	(void)state;
	assert_int_equal(nvp_read(qp, ns, 4096, 1, buf, on_done, &d[0]), -ERANGE);
	assert_int_equal(nvp_read(qp, ns, 4095, 2, buf, on_done, &d[0]), -ERANGE);
	assert_int_equal(nvp_read(qp, ns, 0, 1, stack, on_done, &d[0]), -EFAULT);
	expect_msg("is not in DMA memory");
	assert_int_equal(nvp_read(qp, ns, 0, 4097, buf, on_done, &d[0]), -E2BIG);
	/* Depth 4: three slots, then -EAGAIN until a poll frees them. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(nvp_read(qp, ns, (uint64_t)i, 1, buf, on_done, &d[i]), 0);
	assert_int_equal(nvp_read(qp, ns, 3, 1, buf, on_done, &d[3]), -EAGAIN);
	expect_msg("qpair full");
	assert_int_equal(nvp_qpair_poll(qp, 2), 2);	/* max is honoured: one stays in the CQ ring */
	assert_int_equal(d[2].n, 0);
	assert_int_equal(nvp_read(qp, ns, 3, 1, buf, on_done, &d[3]), 0);
	assert_int_equal(nvp_qpair_poll(qp, 0), 2);
	for (int i = 0; i < 4; i++)
		assert_int_equal(d[i].n, 1);
	nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
	nvp_dev_close(dev);
}

/* Admin commands through the transport: answers, statuses and their messages. */
static void test_admin(void **state)
{
	struct nvp_dev *dev = open_nil("nil:ns=2", 0);
	struct nvme_sqe bad = { .opc = 0x7e };
	struct nvme_cqe cqe;
	uint8_t page[4096];
	uint32_t dw0 = 1;

	(void)state;
	memset(page, 0xff, sizeof(page));
	assert_int_equal(nvp_get_log_page(dev, 0xffffffff, NVME_LOG_SMART, page, 512), 0);
	assert_int_equal(page[0], 0);
	assert_int_equal(page[511], 0);
	assert_int_equal(page[512], 0xff);
	assert_int_equal(nvp_get_features(dev, NVME_FEAT_NUM_QUEUES, 0, &dw0), 0);
	assert_int_equal(dw0, 0);
	assert_int_equal(nvp_identify(dev, NVME_ID_CNS_NS, 3, page), -EIO);
	expect_msg("Invalid Namespace or Format");
	assert_int_equal(nvp_admin_cmd(dev, &bad, NULL, 0, &cqe), -EIO);
	assert_int_equal(nvp_cqe_status(&cqe), NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE) |
			 NVME_STATUS_DNR);
	expect_msg("admin opcode 0x7e failed: Invalid Command Opcode");
	assert_int_equal(nvp_admin_cmd(dev, &bad, page, 128 << 10, NULL), -EINVAL);
	expect_msg("at most 65536 bytes");
	nvp_dev_close(dev);
}

struct chain {
	struct nvp_qpair *qp;
	const struct nvp_ns *ns;
	void *buf;
	int left, done, err;
};

static void chain_cb(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct chain *c = arg;

	(void)cqe;
	c->done++;
	if (err)
		c->err = err;
	if (c->left > 0 && nvp_read(c->qp, c->ns, (uint64_t)c->left, 1, c->buf, chain_cb, c) == 0)
		c->left--;
}

/*
 * Callbacks that submit, a reset, qpairs to the limit and a destroy with
 * commands still posted: what applications do, with nothing lost.
 */
static void test_lifecycle(void **state)
{
	struct nvp_dev *dev = open_nil("nil", 2);
	const struct nvp_ns *ns = nvp_ns_get(dev, 1);
	struct nvp_qpair *qp = nvp_qpair_create(dev, NULL), *qp2 = nvp_qpair_create(dev, NULL);
	void *buf = nvp_dma_alloc(dev, 4096);
	struct chain c = { .qp = qp, .ns = ns, .buf = buf, .left = 1000 };
	struct done d[2] = { { 0 } };
	uint64_t end = now_ms() + 5000;

	(void)state;
	assert_non_null(qp2);
	assert_null(nvp_qpair_create(dev, NULL));
	assert_int_equal(errno, EBUSY);
	assert_int_equal(nvp_read(qp, ns, 0, 1, buf, chain_cb, &c), 0);
	while (c.done < 1001 && now_ms() < end)
		nvp_qpair_poll(qp, 0);
	assert_int_equal(c.done, 1001);
	assert_int_equal(c.err, 0);
	assert_int_equal(nvp_ctrl_reset(dev), 0);
	assert_int_equal(nvp_read(qp, ns, 0, 1, buf, on_done, &d[0]), 0);
	assert_true(wait_done(qp, &d[0], 1000));
	assert_int_equal(d[0].err, 0);
	/* Posted, never polled: destroy drains it, the callback runs once. */
	assert_int_equal(nvp_write(qp2, ns, 0, 1, buf, on_done, &d[1]), 0);
	nvp_qpair_destroy(qp2);
	assert_int_equal(d[1].n, 1);
	assert_int_equal(d[1].err, 0);
	qp2 = nvp_qpair_create(dev, NULL); /* its id is free again */
	assert_non_null(qp2);
	nvp_dma_free(dev, buf);
	/* close destroys qp and qp2 */
	nvp_dev_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_identity),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_lifecycle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
