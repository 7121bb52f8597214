/*
 * Format NVM on the sim, through the public API: the LBA formats Identify
 * Namespace offers, a format that changes the LBA size (the library
 * re-reads the namespaces after it, so nvp_ns_info() shows the new size),
 * the data erased, one namespace or all, the refusals, the Changed
 * Namespace List naming what changed, and with sim:file= the new format
 * kept in the file for the next open.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <nvpoll.h>

#include "sync_io.h"

static struct nvp_dev *open_sim(const char *uri)
{
	struct nvp_dev *dev = nvp_dev_open(uri, NULL);

	if (!dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	return dev;
}

static int format(struct nvp_dev *dev, uint32_t nsid, unsigned lbaf, unsigned ses, unsigned pi, uint16_t *status)
{
	struct nvme_sqe cmd = {
		.opc = NVME_ADMIN_FORMAT_NVM,
		.nsid = nsid,
		.cdw10 = (uint32_t)(NVME_SET(lbaf, FMT_LBAF) | NVME_SET(ses, FMT_SES) | NVME_SET(pi, FMT_PI)),
	};
	struct nvme_cqe cqe = { 0 };
	int err = nvp_admin_cmd(dev, &cmd, NULL, 0, &cqe);

	if (status)
		*status = nvp_cqe_status(&cqe) & (NVME_STATUS_CODE_MASK | NVME_STATUS_DNR);
	return err;
}

/* One I/O on namespace @nsid, waited for: 'r' read, 'w' write. */
static void io(struct nvp_dev *dev, uint32_t nsid, char op, uint64_t slba, uint32_t nlb, void *buf)
{
	const struct nvp_ns *ns = nvp_ns_get(dev, nsid);
	struct nvp_qpair *qp = nvp_qpair_create(dev, NULL);
	struct done d = { 0 };

	assert_non_null(ns);
	assert_non_null(qp);
	assert_int_equal(op == 'r' ? nvp_read(qp, ns, slba, nlb, buf, on_done, &d)
				   : nvp_write(qp, ns, slba, nlb, buf, on_done, &d), 0);
	assert_true(wait_done(qp, &d, 5000));
	assert_int_equal(d.err, 0);
	nvp_qpair_destroy(qp);
}

static const struct nvp_ns_info *info(struct nvp_dev *dev, uint32_t nsid)
{
	return nvp_ns_info(nvp_ns_get(dev, nsid));
}

static void test_lba_formats_listed(void **state)
{
	struct nvp_dev *dev = open_sim("sim:ns=2,lbads=512:4096,size=1M");
	struct nvme_id_ns *id = malloc(sizeof(*id));

	(void)state;
	assert_true(nvp_dev_id_ctrl(dev)->oacs & NVME_OACS_FORMAT);
	assert_int_equal(nvp_identify(dev, NVME_ID_CNS_NS, 2, id), 0);
	assert_int_equal(id->nlbaf, 7);
	for (unsigned i = 0; i <= id->nlbaf; i++) {
		assert_int_equal(id->lbaf[i].lbads, 9 + i);
		assert_int_equal(id->lbaf[i].ms, 0);
	}
	assert_int_equal(nvme_id_ns_flbas_index(id), 3); /* 4096 in use */
	assert_int_equal(id->lbaf[3].rp, 0);
	assert_int_equal(nvp_identify(dev, NVME_ID_CNS_NS, 1, id), 0);
	assert_int_equal(nvme_id_ns_flbas_index(id), 0);
	free(id);
	nvp_dev_close(dev);
}

static void test_format_changes_lba_size(void **state)
{
	struct nvp_dev *dev = open_sim("sim:ns=2,size=1M");
	uint8_t *buf = nvp_dma_alloc(dev, 8192);
	uint32_t log[1024], ids[4];

	(void)state;
	memset(buf, 0x5a, 4096);
	io(dev, 1, 'w', 0, 8, buf);
	io(dev, 2, 'w', 0, 8, buf);
	assert_int_equal(nvp_get_log_page(dev, 0, NVME_LOG_CHANGED_NS, log, sizeof(log)), 0);
	assert_int_equal(nvp_changed_ns_parse(log, sizeof(log), ids, 4), 0);

	assert_int_equal(format(dev, 1, 3, NVME_FMT_SES_USER_DATA, 0, NULL), 0);
	/* Re-read by the library: the same handle, the new format. */
	assert_int_equal(info(dev, 1)->lba_size, 4096);
	assert_int_equal(info(dev, 1)->nsze, 256);
	assert_int_equal(info(dev, 1)->lbaf, 3);
	assert_int_equal(info(dev, 2)->lba_size, 512);
	/* Erased; namespace 2 untouched. */
	memset(buf, 0xee, 8192);
	io(dev, 1, 'r', 0, 2, buf);
	for (unsigned i = 0; i < 8192; i++)
		assert_int_equal(buf[i], 0);
	io(dev, 2, 'r', 0, 8, buf);
	assert_int_equal(buf[4095], 0x5a);
	/* 4 KiB blocks work: the last one of the namespace. */
	memset(buf, 0x77, 4096);
	io(dev, 1, 'w', 255, 1, buf);
	memset(buf, 0, 4096);
	io(dev, 1, 'r', 255, 1, buf);
	assert_int_equal(buf[0], 0x77);
	assert_int_equal(buf[4095], 0x77);
	/* The Changed Namespace List names namespace 1; read without RAE, it starts over. */
	assert_int_equal(nvp_get_log_page(dev, 0, NVME_LOG_CHANGED_NS, log, sizeof(log)), 0);
	assert_int_equal(nvp_changed_ns_parse(log, sizeof(log), ids, 4), 1);
	assert_int_equal(ids[0], 1);
	assert_int_equal(nvp_get_log_page(dev, 0, NVME_LOG_CHANGED_NS, log, sizeof(log)), 0);
	assert_int_equal(nvp_changed_ns_parse(log, sizeof(log), ids, 4), 0);

	/* All namespaces (NSID FFFFFFFFh), back to 512 (cryptographic erase); RAE keeps the list. */
	assert_int_equal(format(dev, 0xffffffff, 0, NVME_FMT_SES_CRYPTO, 0, NULL), 0);
	assert_int_equal(info(dev, 1)->lba_size, 512);
	assert_int_equal(info(dev, 1)->nsze, 2048);
	io(dev, 2, 'r', 0, 8, buf);
	assert_int_equal(buf[0], 0);
	{
		struct nvp_log_args a = { .lid = NVME_LOG_CHANGED_NS, .rae = 1 };

		assert_int_equal(nvp_get_log(dev, &a, log, sizeof(log)), 0);
		assert_int_equal(nvp_changed_ns_parse(log, sizeof(log), ids, 4), 2);
		assert_int_equal(nvp_get_log(dev, &a, log, sizeof(log)), 0);
		assert_int_equal(nvp_changed_ns_parse(log, sizeof(log), ids, 4), 2);
		assert_int_equal(ids[1], 2);
	}
	nvp_dma_free(dev, buf);
	nvp_dev_close(dev);
}

static void test_format_refused(void **state)
{
	/* 1 MiB + 512: no whole number of 4 KiB blocks. */
	struct nvp_dev *dev = open_sim("sim:ns=2,size=1M:1049088");
	uint16_t st;

	(void)state;
	assert_int_equal(format(dev, 1, 8, 0, 0, &st), -EIO);
	assert_int_equal(st, NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_FORMAT) | NVME_STATUS_DNR);
	assert_int_equal(format(dev, 1, 0, 0, 1, &st), -EIO); /* protection information */
	assert_int_equal(st, NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_FORMAT) | NVME_STATUS_DNR);
	assert_int_equal(format(dev, 1, 0, 3, 0, &st), -EIO);
	assert_int_equal(st, NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD) | NVME_STATUS_DNR);
	assert_int_equal(format(dev, 3, 0, 0, 0, &st), -EIO);
	assert_int_equal(st, NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_NS) | NVME_STATUS_DNR);
	assert_int_equal(format(dev, 2, 3, 0, 0, &st), -EIO);
	assert_int_equal(st, NVME_STATUS_CODE(NVME_SCT_CMD_SPECIFIC, NVME_SC_INVALID_FORMAT) | NVME_STATUS_DNR);
	/* All or nothing: namespace 2 cannot take 4 KiB, so namespace 1 is not formatted either. */
	assert_int_equal(format(dev, 0xffffffff, 3, 0, 0, &st), -EIO);
	assert_int_equal(info(dev, 1)->lba_size, 512);
	assert_int_equal(format(dev, 2, 0, 0, 0, NULL), 0);
	nvp_dev_close(dev);
}

/* With file=, the format is the file's: the next open without geometry has it, with the old one is refused. */
static void test_format_kept_in_file(void **state)
{
	char path[] = "/tmp/nvp-simfmt-XXXXXX", uri[128];
	int fd = mkstemp(path);
	struct nvp_dev *dev;
	uint8_t *buf;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(uri, sizeof(uri), "sim:file=%s,size=1M", path);
	dev = open_sim(uri);
	buf = nvp_dma_alloc(dev, 4096);
	memset(buf, 0x33, 4096);
	io(dev, 1, 'w', 0, 8, buf);
	assert_int_equal(format(dev, 1, 3, 0, 0, NULL), 0);
	nvp_dma_free(dev, buf);
	nvp_dev_close(dev);

	assert_null(nvp_dev_open(uri, NULL)); /* lbads 512 implied by size= */
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "holds namespaces ns=1,lbads=4096,size=1048576"));
	snprintf(uri, sizeof(uri), "sim:file=%s", path);
	dev = open_sim(uri);
	assert_int_equal(info(dev, 1)->lba_size, 4096);
	assert_int_equal(info(dev, 1)->nsze, 256);
	buf = nvp_dma_alloc(dev, 4096);
	memset(buf, 0xee, 4096);
	io(dev, 1, 'r', 0, 1, buf);
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(buf[i], 0); /* erased in the file too */
	nvp_dma_free(dev, buf);
	nvp_dev_close(dev);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lba_formats_listed),
		cmocka_unit_test(test_format_changes_lba_size),
		cmocka_unit_test(test_format_refused),
		cmocka_unit_test(test_format_kept_in_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
