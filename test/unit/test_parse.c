/* Pure decoding: status codes, CAP fields, MDTS, Identify Namespace, URIs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "be/be.h"
#include "nvme/nvme.h"

static void test_status_str(void **state)
{
	char buf[128];
	(void)state;

	assert_string_equal(nvp_status_str(0), "Successful Completion");
	assert_string_equal(nvp_status_str(NVME_STATUS_CODE(0, 0x80)), "LBA Out of Range");
	assert_string_equal(nvp_status_str(NVME_STATUS_CODE(1, 0x01)), "Invalid Queue Identifier");
	assert_string_equal(nvp_status_str(NVME_STATUS_CODE(2, 0x85)), "Compare Failure");
	/* CRD, More and DNR do not change the name. */
	assert_string_equal(nvp_status_str(NVME_STATUS_CODE(0, 2) | NVME_STATUS_DNR | NVME_STATUS_MORE),
			    "Invalid Field in Command");
	assert_string_equal(nvp_status_str(NVME_STATUS_CODE(3, 0x00)), "Internal Path Error");
	assert_string_equal(nvp_status_str(NVME_STATUS_CODE(3, 0x71)), "Command Aborted By Host");
	assert_string_equal(nvp_status_str(NVME_STATUS_CODE(3, 0x05)), "Path Related Status");
	assert_string_equal(nvp_status_str(NVME_STATUS_CODE(7, 0x12)), "Vendor Specific Status");
	assert_string_equal(nvp_status_str(NVME_STATUS_CODE(0, 0x7f)), "Unknown Status");
	assert_string_equal(nvp_status_format(NVME_STATUS_CODE(0, 2) | NVME_STATUS_DNR, buf, sizeof(buf)),
			    "Invalid Field in Command (SCT 0h / SC 2h, DNR)");
	assert_string_equal(nvp_status_format(NVME_STATUS_CODE(1, 0x0c) | NVME_STATUS_MORE, buf, sizeof(buf)),
			    "Invalid Queue Deletion (SCT 1h / SC ch, More)");
}

static void test_status_fields(void **state)
{
	/* CQE dword 3: phase bit 16, SC 24:17, SCT 27:25, CRD 29:28, M 30, DNR 31. */
	struct nvme_cqe cqe = { .status = (uint16_t)(1u | 0x80u << 1 | 2u << 9 | 1u << 14 | 1u << 15) };
	uint16_t st = nvp_cqe_status(&cqe);
	(void)state;

	assert_int_equal(NVME_GET(st, STATUS_SC), 0x80);
	assert_int_equal(NVME_GET(st, STATUS_SCT), 2);
	assert_int_equal(NVME_GET(st, STATUS_MORE), 1);
	assert_int_equal(NVME_GET(st, STATUS_DNR), 1);
}

static void test_cap(void **state)
{
	struct nvp_bus bus = { .name = "t" };
	struct nvp_dev dev = { .bus = &bus };
	/* QEMU's: MQES 2047, CQR, TO 15, DSTRD 0, CSS NVM, MPSMIN 0, MPSMAX 4. */
	uint64_t cap = 0x7ffull | 1ull << 16 | 15ull << 24 | 1ull << 37 | 4ull << 52;
	(void)state;

	assert_int_equal(nvp_ctrl_parse_cap(&dev, cap), 0);
	assert_int_equal(dev.max_queue_depth, 2048);
	assert_int_equal(dev.ready_timeout_ms, 7500);
	assert_int_equal(dev.db_stride, 4);
	assert_int_equal(dev.page_shift, 12);
	/* DSTRD 2: doorbells 16 bytes apart. MPSMIN 1: 8 KiB pages. */
	assert_int_equal(nvp_ctrl_parse_cap(&dev, cap | 2ull << 32 | 1ull << 48), 0);
	assert_int_equal(dev.db_stride, 16);
	assert_int_equal(dev.page_shift, 13);
	/* A gone device, no NVM command set, a queue size of one. */
	assert_int_equal(nvp_ctrl_parse_cap(&dev, UINT64_MAX), -ENODEV);
	assert_int_equal(nvp_ctrl_parse_cap(&dev, cap & ~(1ull << 37)), -ENOTSUP);
	assert_int_equal(nvp_ctrl_parse_cap(&dev, cap & ~0xffffull), -ENOTSUP);
	assert_non_null(strstr(nvp_errmsg(), "MQES"));
}

static void test_max_xfer(void **state)
{
	uint64_t cap = 1ull << 37;
	(void)state;

	assert_int_equal(nvp_ctrl_max_xfer(5, cap), 128 * 1024);
	assert_int_equal(nvp_ctrl_max_xfer(7, cap), 512 * 1024);
	assert_int_equal(nvp_ctrl_max_xfer(1, cap | 1ull << 48), 16 * 1024); /* MPSMIN 8 KiB */
	/* No limit, or beyond nvpoll's own: capped. */
	assert_int_equal(nvp_ctrl_max_xfer(0, cap), NVP_MAX_XFER_CAP);
	assert_int_equal(nvp_ctrl_max_xfer(12, cap), NVP_MAX_XFER_CAP);
	assert_int_equal(nvp_ctrl_max_xfer(255, cap), NVP_MAX_XFER_CAP);
}

static void test_ns_parse(void **state)
{
	struct nvme_id_ns *id = calloc(1, sizeof(*id));
	struct nvp_ns ns;
	(void)state;

	id->nsze = id->ncap = 131072;
	id->nlbaf = 1;
	id->lbaf[0].lbads = 9;
	id->lbaf[1].lbads = 12;
	id->lbaf[1].ms = 8;
	id->flbas = 1;
	assert_int_equal(nvp_ns_parse(&ns, 3, id), 0);
	assert_int_equal(ns.info.nsid, 3);
	assert_int_equal(ns.info.lba_size, 4096);
	assert_int_equal(ns.info.ms, 8);
	assert_int_equal(ns.lba_shift, 12);
	assert_int_equal(ns.info.nsze, 131072);
	/* Absurd data is refused, not trusted. */
	id->lbaf[1].lbads = 0;
	assert_int_equal(nvp_ns_parse(&ns, 3, id), -EINVAL);
	id->lbaf[1].lbads = 40;
	assert_int_equal(nvp_ns_parse(&ns, 3, id), -EINVAL);
	id->lbaf[1].lbads = 12;
	id->flbas = 5; /* format 5 of 2 */
	assert_int_equal(nvp_ns_parse(&ns, 3, id), -EINVAL);
	/* FLBAS bits 6:5 are the high bits of the index (NVMe 2.0). */
	id->nlbaf = 63;
	id->lbaf[17].lbads = 12;
	id->flbas = 1 | 1 << 5;
	assert_int_equal(nvp_ns_parse(&ns, 3, id), 0);
	assert_int_equal(ns.info.lbaf, 17);
	free(id);
}

static void test_uri(void **state)
{
	struct nvp_uri u;
	(void)state;

	assert_int_equal(nvp_uri_parse("0000:00:05.0", &u), 0);
	assert_string_equal(u.addr, "0000:00:05.0");
	assert_int_equal(u.nsid, 0);
	assert_int_equal(nvp_uri_parse("00:1F.7/ns=2", &u), 0);
	assert_string_equal(u.addr, "0000:00:1f.7");
	assert_int_equal(u.nsid, 2);
	assert_int_equal(nvp_uri_parse("sim", &u), 0);
	assert_int_equal(u.kind, NVP_URI_SIM);
	assert_string_equal(u.addr, "");
	assert_int_equal(nvp_uri_parse("sim:ns=2,lbads=4096", &u), 0);
	assert_string_equal(u.addr, "ns=2,lbads=4096");

	static const char *const bad[] = {
		"", "simulator", "0000:00:05", "00:20.0", "00:05.8", "0000:100:05.0", "00:05.0/ns=",
		"00:05.0/ns=0", "00:05.0/ns=x", "00:05.0/nsid=1", "00:05.0 ", "/ns=1", "g0:05.0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(nvp_uri_parse(bad[i], &u), -EINVAL);
		/* What is wrong is named: the address, or the namespace id after it. */
		assert_non_null(strstr(nvp_errmsg(), !bad[i][0] ? "no device" :
					      strstr(bad[i], "ns=0") ? "/ns=0 is not a namespace id" : "PCI address"));
	}
	assert_int_equal(nvp_uri_parse(NULL, &u), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_str),
		cmocka_unit_test(test_status_fields),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_max_xfer),
		cmocka_unit_test(test_ns_parse),
		cmocka_unit_test(test_uri),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
