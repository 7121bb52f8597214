/*
 * Admin data lengths against the sim, through the public API: every
 * nvp_admin_cmd() buffer checked against what the spec says the command
 * moves; a 16 KiB Error Information log read in pieces (MDTS 8 KiB) with
 * each entry where it belongs; a controller that returns less than asked
 * (SHORT_XFER) leaving the rest of the caller's buffer alone; the Changed
 * Namespace List and RAE. Buffers are heap blocks of the exact size, so a
 * copy past the end shows under ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <nvpoll.h>
#include <nvpoll/sim.h>

#include "sync_io.h"

static struct nvp_dev *open_sim(const char *uri)
{
	struct nvp_dev *dev = nvp_dev_open(uri, NULL);

	if (!dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	return dev;
}

static void expect_msg(const char *what)
{
	if (!strstr(nvp_errmsg(), what))
		fail_msg("message \"%s\" lacks \"%s\"", nvp_errmsg(), what);
}

static void test_admin_cmd_lengths(void **state)
{
	struct nvp_dev *dev = open_sim("sim");
	uint8_t *page = malloc(4096);
	struct nvme_sqe id = { .opc = NVME_ADMIN_IDENTIFY, .cdw10 = NVME_ID_CNS_CTRL };
	struct nvme_sqe log = { .opc = NVME_ADMIN_GET_LOG_PAGE, .nsid = 0xffffffff,
				.cdw10 = NVME_LOG_SMART | (512 / 4 - 1) << 16 };
	struct nvme_sqe feat = { .opc = NVME_ADMIN_GET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES };
	struct nvme_sqe ts = { .opc = NVME_ADMIN_GET_FEATURES, .cdw10 = NVME_FEAT_TIMESTAMP };
	struct nvme_sqe hostid = { .opc = NVME_ADMIN_SET_FEATURES, .cdw10 = NVME_FEAT_HOST_ID, .cdw11 = 1 };
	struct nvme_sqe fmt = { .opc = NVME_ADMIN_FORMAT_NVM, .nsid = 1 };
	struct nvme_sqe vendor = { .opc = 0xc1 };
	struct nvme_cqe cqe;

	(void)state;
	assert_int_equal(nvp_admin_cmd(dev, &id, page, 4096, NULL), 0);
	assert_int_equal(nvp_admin_cmd(dev, &id, page, 512, NULL), -EINVAL);
	expect_msg("admin opcode 0x6 moves 4096 bytes: give a buffer of that size, not 512");
	assert_int_equal(nvp_admin_cmd(dev, &id, NULL, 0, NULL), -EINVAL);

	assert_int_equal(nvp_admin_cmd(dev, &log, page, 512, NULL), 0);
	assert_int_equal(nvp_admin_cmd(dev, &log, page, 4096, NULL), -EINVAL);
	expect_msg("NUMDL/NUMDU ask for 512 bytes but the buffer is 4096");
	assert_int_equal(nvp_admin_cmd(dev, &log, page, 256, NULL), -EINVAL);

	assert_int_equal(nvp_admin_cmd(dev, &feat, NULL, 0, &cqe), 0);
	assert_int_equal(nvp_admin_cmd(dev, &feat, page, 8, NULL), -EINVAL);
	expect_msg("feature 0x7 moves no data: give len 0, not 8");
	assert_int_equal(nvp_admin_cmd(dev, &ts, NULL, 0, NULL), -EINVAL);
	expect_msg("feature 0xe moves 8 bytes");
	assert_int_equal(nvp_admin_cmd(dev, &hostid, page, 8, NULL), -EINVAL);
	expect_msg("feature 0x81 moves 16 bytes"); /* EXHID: 128 bits */
	assert_int_equal(nvp_admin_cmd(dev, &fmt, page, 512, NULL), -EINVAL);
	expect_msg("admin opcode 0x80 moves no data");
	/* Vendor specific: the caller knows; the sim does not have it. */
	assert_int_equal(nvp_admin_cmd(dev, &vendor, page, 100, &cqe), -EIO);
	expect_msg("Invalid Command Opcode");
	free(page);
	nvp_dev_close(dev);
}

/* Error completions on purpose: reads past the end of the namespace. */
static void make_errors(struct nvp_dev *dev, unsigned n)
{
	struct nvp_qpair *qp = nvp_qpair_create(dev, NULL);
	const struct nvp_ns *ns = nvp_ns_get(dev, 1);
	struct nvme_sqe rd = { .opc = NVME_CMD_READ, .nsid = 1 };
	uint8_t *buf = nvp_dma_alloc(dev, 4096);

	assert_non_null(qp);
	for (unsigned i = 0; i < n; i++) {
		struct done d = { 0 };

		rd.cdw10 = (uint32_t)(nvp_ns_info(ns)->nsze + i);
		assert_int_equal(nvp_io_cmd(qp, &rd, buf, 512, on_done, &d), 0);
		assert_true(wait_done(qp, &d, 5000));
		assert_int_equal(d.err, -EIO);
	}
	nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
}

/*
 * 256 entries (16 KiB) with MDTS 8 KiB: two commands, the second at LPO
 * 8 KiB. Newest first: error counts fall by one across the whole log, which
 * a second piece read from offset 0 would break. Without the split the sim
 * refuses the 16 KiB command (above MDTS).
 */
static void test_error_log_in_pieces(void **state)
{
	struct nvp_dev *dev = open_sim("sim:mdts=1,size=1M");
	size_t len = (nvp_dev_id_ctrl(dev)->elpe + 1u) * sizeof(struct nvme_error_log);
	struct nvme_error_log *el = malloc(len);
	struct nvp_sim_stats before, after;

	(void)state;
	assert_int_equal(len, 16384);
	assert_int_equal(nvp_dev_max_xfer(dev), 8192);
	make_errors(dev, 300);
	nvp_sim_stats(nvp_dev_sim(dev), &before);
	assert_int_equal(nvp_get_log_page(dev, 0, NVME_LOG_ERROR, el, len), 0);
	nvp_sim_stats(nvp_dev_sim(dev), &after);
	assert_int_equal(after.admin_cmds[NVME_ADMIN_GET_LOG_PAGE] - before.admin_cmds[NVME_ADMIN_GET_LOG_PAGE], 2);
	for (unsigned i = 0; i < 256; i++) {
		if (el[i].error_count != 300 - i)
			fail_msg("entry %u: error count %llu, want %u", i, (unsigned long long)el[i].error_count,
				 300 - i);
		assert_int_equal(el[i].sqid, 1);
	}
	/* From an offset: entry 200 on. */
	{
		struct nvp_log_args a = { .lid = NVME_LOG_ERROR, .offset = 200 * sizeof(*el) };
		struct nvme_error_log *tail = malloc(56 * sizeof(*el));

		assert_int_equal(nvp_get_log(dev, &a, tail, 56 * sizeof(*el)), 0);
		assert_int_equal(tail[0].error_count, 100);
		assert_int_equal(tail[55].error_count, 45);
		free(tail);
	}
	free(el);
	nvp_dev_close(dev);
}

/* A controller that returns fewer bytes than asked: the rest of the caller's buffer is untouched. */
static void test_short_answer(void **state)
{
	struct nvp_dev *dev = open_sim("sim");
	struct nvp_sim_fault f = {
		.type = NVP_SIM_FAULT_SHORT_XFER,
		.match = { .filter = NVP_SIM_MATCH_ADMIN | NVP_SIM_MATCH_OPC, .opcode = NVME_ADMIN_GET_LOG_PAGE },
		.xfer_bytes = 100,
	};
	uint8_t *smart = malloc(512);

	(void)state;
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(dev), &f), 0);
	memset(smart, 0xab, 512);
	assert_int_equal(nvp_get_log_page(dev, 0xffffffff, NVME_LOG_SMART, smart, 512), 0);
	/* Composite temperature (bytes 1-2): 300 K from the sim, within the 100 bytes. */
	assert_int_equal(smart[1] | smart[2] << 8, 300);
	for (unsigned i = 100; i < 512; i++)
		if (smart[i] != 0xab)
			fail_msg("byte %u was written: %#x", i, smart[i]);
	/* The fault is spent: the next read is whole (zero padded past the page's data). */
	assert_int_equal(nvp_get_log_page(dev, 0xffffffff, NVME_LOG_SMART, smart, 512), 0);
	assert_int_equal(smart[511], 0);
	free(smart);
	nvp_dev_close(dev);
}

/* Changed Namespace List: RAE keeps it, a read without RAE clears it. Empty on a fresh sim. */
static void test_changed_ns_log(void **state)
{
	struct nvp_dev *dev = open_sim("sim:ns=2,size=1M");
	uint32_t *log = malloc(4096), ids[4];

	(void)state;
	assert_int_equal(nvp_get_log_page(dev, 0, NVME_LOG_CHANGED_NS, log, 4096), 0);
	assert_int_equal(nvp_changed_ns_parse(log, 4096, ids, 4), 0);
	free(log);
	nvp_dev_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_admin_cmd_lengths),
		cmocka_unit_test(test_error_log_in_pieces),
		cmocka_unit_test(test_short_answer),
		cmocka_unit_test(test_changed_ns_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
