/*
 * Namespace Attachment on the sim, through the public API: detached=
 * starting a namespace detached, the active list (CNS 02h) without it and
 * the allocated list (CNS 10h) with it, the controller lists (CNS 12h,
 * 13h), attach and detach (the library re-reads the namespaces after
 * each), I/O to a detached namespace refused with Invalid Namespace or
 * Format, the refusals by status, the Changed Namespace List, and with
 * file= the state kept for the next open.
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

#define ST(sct, sc) (NVME_STATUS_CODE(sct, sc) | NVME_STATUS_DNR)

static struct nvp_dev *open_sim(const char *uri)
{
	struct nvp_dev *dev = nvp_dev_open(uri, NULL);

	if (!dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	return dev;
}

/* Namespace Attachment with a list of @n controller ids; the status without phase and More. */
static int ns_attach(struct nvp_dev *dev, uint32_t nsid, uint32_t sel, unsigned n, const uint16_t *ids,
		     uint16_t *status)
{
	struct nvme_ctrl_list *l = nvp_dma_alloc(dev, sizeof(*l));
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_NS_ATTACH, .nsid = nsid, .cdw10 = sel };
	struct nvme_cqe cqe = { 0 };
	int err;

	assert_non_null(l);
	memset(l, 0, sizeof(*l));
	l->num = (uint16_t)n;
	if (n)
		memcpy(l->ids, ids, n * sizeof(*ids));
	err = nvp_admin_cmd(dev, &cmd, l, sizeof(*l), &cqe);
	if (status)
		*status = nvp_cqe_status(&cqe) & (NVME_STATUS_CODE_MASK | NVME_STATUS_DNR);
	nvp_dma_free(dev, l);
	return err;
}

static const uint16_t ctrl1[] = { 1 };

/* An Identify list of 32-bit ids (CNS 02h, 10h): how many, into @ids. */
static unsigned id_list(struct nvp_dev *dev, uint8_t cns, uint32_t *ids, unsigned max)
{
	uint32_t *l = malloc(4096);
	unsigned n = 0;

	assert_int_equal(nvp_identify(dev, cns, 0, l), 0);
	while (n < 1024 && l[n]) {
		if (n < max)
			ids[n] = l[n];
		n++;
	}
	free(l);
	return n;
}

/* A raw Read of one block of namespace @nsid (not through a namespace handle): its status. */
static uint16_t raw_read(struct nvp_dev *dev, uint32_t nsid)
{
	struct nvp_qpair *qp = nvp_qpair_create(dev, NULL);
	void *buf = nvp_dma_alloc(dev, 4096);
	struct nvme_sqe cmd = { .opc = NVME_CMD_READ, .nsid = nsid };
	struct done d = { 0 };

	assert_non_null(qp);
	assert_non_null(buf);
	assert_int_equal(nvp_io_cmd(qp, &cmd, buf, 512, on_done, &d), 0);
	assert_true(wait_done(qp, &d, 5000));
	nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
	return d.status & (NVME_STATUS_CODE_MASK | NVME_STATUS_DNR);
}

static void test_detached_at_start(void **state)
{
	struct nvp_dev *dev = open_sim("sim:ns=3,size=1M,detached=2");
	struct nvme_ctrl_list *cl = malloc(sizeof(*cl));
	struct nvme_id_ns *id = malloc(sizeof(*id));
	struct nvme_sqe cmd = { .opc = NVME_ADMIN_IDENTIFY };
	uint32_t ids[4];
	const uint32_t *active;

	(void)state;
	assert_true(nvp_dev_id_ctrl(dev)->oacs & NVME_OACS_NS_MGMT);
	assert_int_equal(nvp_dev_id_ctrl(dev)->nn, 3);
	assert_int_equal(id_list(dev, NVME_ID_CNS_NS_ACTIVE_LIST, ids, 4), 2);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 3);
	assert_int_equal(id_list(dev, NVME_ID_CNS_NS_ALLOC_LIST, ids, 4), 3);
	assert_int_equal(ids[1], 2);
	/* The library's list is the active one. */
	assert_int_equal(nvp_ns_list(dev, &active), 2);
	assert_null(nvp_ns_get(dev, 2));
	/* CNS 00h of an inactive id: zeroes; CNS 11h: the namespace as allocated. */
	memset(id, 0xff, sizeof(*id));
	assert_int_equal(nvp_identify(dev, NVME_ID_CNS_NS, 2, id), 0);
	assert_int_equal(id->nsze, 0);
	assert_int_equal(nvp_identify(dev, NVME_ID_CNS_NS_ALLOC, 2, id), 0);
	assert_int_equal(id->nsze, 2048);
	assert_int_equal(nvp_identify(dev, NVME_ID_CNS_NS_ALLOC, 4, id), -EIO);
	/* Controller lists: the subsystem's, namespace 1's, namespace 2's (none); from CNTID 2 up, none. */
	assert_int_equal(nvp_identify(dev, NVME_ID_CNS_CTRL_LIST, 0, cl), 0);
	assert_int_equal(cl->num, 1);
	assert_int_equal(cl->ids[0], nvp_dev_id_ctrl(dev)->cntlid);
	assert_int_equal(nvp_identify(dev, NVME_ID_CNS_NS_CTRL_LIST, 1, cl), 0);
	assert_int_equal(cl->num, 1);
	assert_int_equal(nvp_identify(dev, NVME_ID_CNS_NS_CTRL_LIST, 2, cl), 0);
	assert_int_equal(cl->num, 0);
	cmd.cdw10 = 2u << 16 | NVME_ID_CNS_CTRL_LIST;
	assert_int_equal(nvp_admin_cmd(dev, &cmd, cl, sizeof(*cl), NULL), 0);
	assert_int_equal(cl->num, 0);
	/* I/O: refused as to a namespace that is not there. */
	assert_int_equal(raw_read(dev, 2), ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NS));
	assert_int_equal(raw_read(dev, 3), 0);
	free(id);
	free(cl);
	nvp_dev_close(dev);
}

static void test_attach_detach(void **state)
{
	struct nvp_dev *dev = open_sim("sim:ns=2,size=1M,detached=2");
	uint32_t log[1024], ids[4];
	const struct nvp_ns *ns1 = nvp_ns_get(dev, 1);

	(void)state;
	assert_int_equal(nvp_get_log_page(dev, 0, NVME_LOG_CHANGED_NS, log, sizeof(log)), 0);
	assert_int_equal(ns_attach(dev, 2, NVME_NS_ATTACH_SEL_ATTACH, 1, ctrl1, NULL), 0);
	/* Re-read by the library after the command: namespace 2 is there, with its size. */
	assert_non_null(nvp_ns_get(dev, 2));
	assert_int_equal(nvp_ns_info(nvp_ns_get(dev, 2))->nsze, 2048);
	assert_int_equal(raw_read(dev, 2), 0);
	assert_int_equal(nvp_get_log_page(dev, 0, NVME_LOG_CHANGED_NS, log, sizeof(log)), 0);
	assert_int_equal(nvp_changed_ns_parse(log, sizeof(log), ids, 4), 1);
	assert_int_equal(ids[0], 2);

	assert_int_equal(ns_attach(dev, 1, NVME_NS_ATTACH_SEL_DETACH, 1, ctrl1, NULL), 0);
	/* The handle stays valid, with no blocks: I/O through it fails in the library. */
	assert_int_equal(nvp_ns_info(ns1)->nsze, 0);
	assert_null(nvp_ns_get(dev, 1));
	assert_int_equal(id_list(dev, NVME_ID_CNS_NS_ACTIVE_LIST, ids, 4), 1);
	assert_int_equal(ids[0], 2);
	assert_int_equal(raw_read(dev, 1), ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NS));
	/* Format of a detached namespace: not there either. */
	{
		struct nvme_sqe f = { .opc = NVME_ADMIN_FORMAT_NVM, .nsid = 1 };
		struct nvme_cqe cqe = { 0 };

		assert_int_equal(nvp_admin_cmd(dev, &f, NULL, 0, &cqe), -EIO);
		assert_int_equal(nvp_cqe_status(&cqe) & NVME_STATUS_CODE_MASK,
				 NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_NS));
	}
	/* And back. */
	assert_int_equal(ns_attach(dev, 1, NVME_NS_ATTACH_SEL_ATTACH, 1, ctrl1, NULL), 0);
	assert_int_equal(nvp_ns_info(ns1)->nsze, 2048);
	assert_ptr_equal(nvp_ns_get(dev, 1), ns1);
	assert_int_equal(raw_read(dev, 1), 0);
	nvp_dev_close(dev);
}

static void test_attach_refused(void **state)
{
	struct nvp_dev *dev = open_sim("sim:ns=2,size=1M,detached=2");
	const uint16_t other[] = { 2 }, two[] = { 1, 7 };
	uint16_t st;

	(void)state;
	assert_int_equal(ns_attach(dev, 1, NVME_NS_ATTACH_SEL_ATTACH, 1, ctrl1, &st), -EIO);
	assert_int_equal(st, ST(NVME_SCT_CMD_SPECIFIC, NVME_SC_NS_ALREADY_ATTACHED));
	assert_string_equal(nvp_status_str(st), "Namespace Already Attached");
	assert_int_equal(ns_attach(dev, 2, NVME_NS_ATTACH_SEL_DETACH, 1, ctrl1, &st), -EIO);
	assert_int_equal(st, ST(NVME_SCT_CMD_SPECIFIC, NVME_SC_NS_NOT_ATTACHED));
	assert_string_equal(nvp_status_str(st), "Namespace Not Attached");
	assert_int_equal(ns_attach(dev, 2, NVME_NS_ATTACH_SEL_ATTACH, 0, NULL, &st), -EIO);
	assert_int_equal(st, ST(NVME_SCT_CMD_SPECIFIC, NVME_SC_CTRL_LIST_INVALID));
	assert_string_equal(nvp_status_str(st), "Controller List Invalid");
	assert_int_equal(ns_attach(dev, 2, NVME_NS_ATTACH_SEL_ATTACH, 1, other, &st), -EIO);
	assert_int_equal(st, ST(NVME_SCT_CMD_SPECIFIC, NVME_SC_CTRL_LIST_INVALID));
	assert_int_equal(ns_attach(dev, 2, NVME_NS_ATTACH_SEL_ATTACH, 2, two, &st), -EIO);
	assert_int_equal(st, ST(NVME_SCT_CMD_SPECIFIC, NVME_SC_CTRL_LIST_INVALID));
	assert_int_equal(ns_attach(dev, 3, NVME_NS_ATTACH_SEL_ATTACH, 1, ctrl1, &st), -EIO);
	assert_int_equal(st, ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NS));
	assert_int_equal(ns_attach(dev, 0xffffffff, NVME_NS_ATTACH_SEL_ATTACH, 1, ctrl1, &st), -EIO);
	assert_int_equal(st, ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	assert_int_equal(ns_attach(dev, 2, 2, 1, ctrl1, &st), -EIO); /* SEL 2: reserved */
	assert_int_equal(st, ST(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD));
	/* Nothing changed. */
	assert_null(nvp_ns_get(dev, 2));
	assert_non_null(nvp_ns_get(dev, 1));
	nvp_dev_close(dev);
}

static void test_detached_option(void **state)
{
	(void)state;
	assert_null(nvp_dev_open("sim:ns=2,detached=3", NULL));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "detached=3"));
	assert_null(nvp_dev_open("sim:detached=0", NULL));
	assert_null(nvp_dev_open("sim:ns=2,detached=1:", NULL));
}

/* With file=, the state is the file's: the next open has namespace 2 detached whatever detached= says. */
static void test_state_kept_in_file(void **state)
{
	char path[] = "/tmp/nvp-simatt-XXXXXX", uri[128];
	int fd = mkstemp(path);
	struct nvp_dev *dev;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	/* A new file of one namespace (no geometry given) has no namespace 2 to detach. */
	snprintf(uri, sizeof(uri), "sim:file=%s,detached=2", path);
	assert_null(nvp_dev_open(uri, NULL));
	assert_non_null(strstr(nvp_errmsg(), "has namespaces 1 to 1"));
	assert_int_equal(truncate(path, 0), 0);
	snprintf(uri, sizeof(uri), "sim:file=%s,ns=2,size=1M", path);
	dev = open_sim(uri);
	assert_int_equal(ns_attach(dev, 2, NVME_NS_ATTACH_SEL_DETACH, 1, ctrl1, NULL), 0);
	nvp_dev_close(dev);
	dev = open_sim(uri);
	assert_null(nvp_ns_get(dev, 2));
	assert_int_equal(raw_read(dev, 2), ST(NVME_SCT_GENERIC, NVME_SC_INVALID_NS));
	assert_int_equal(ns_attach(dev, 2, NVME_NS_ATTACH_SEL_ATTACH, 1, ctrl1, NULL), 0);
	nvp_dev_close(dev);
	snprintf(uri, sizeof(uri), "sim:file=%s,detached=2", path);
	dev = open_sim(uri);
	assert_non_null(nvp_ns_get(dev, 2));
	nvp_dev_close(dev);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detached_at_start),
		cmocka_unit_test(test_attach_detach),
		cmocka_unit_test(test_attach_refused),
		cmocka_unit_test(test_detached_option),
		cmocka_unit_test(test_state_kept_in_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
