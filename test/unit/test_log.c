/*
 * lib/nvme/log.c by itself: how nvp_get_log() splits a log into commands
 * (offsets, NUMDL/NUMDU, RAE, LSP/LSI), what it refuses, and
 * nvp_changed_ns_parse() bounded by the bytes it is given. The .c is
 * included and nvp_admin_sync() stubbed: each "command" is recorded and
 * answered from a fake log, written into the caller's buffer for exactly
 * the command's length, so a piece cut too long or copied past the end
 * shows under ASan (every buffer here is a heap block of the exact size).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../lib/nvme/log.c"

#define MAX_CMDS 64

static struct nvme_sqe cmds[MAX_CMDS];
static size_t lens[MAX_CMDS];
static unsigned nr_cmds;
static int fail_at = -1;	/* command index that fails with -EIO */

/* Byte i of the fake log is a function of i, so any piece read from the wrong offset shows. */
static uint8_t log_byte(uint64_t i)
{
	return (uint8_t)(i * 13 + (i >> 8));
}

int nvp_admin_sync(struct nvp_dev *dev, const struct nvme_sqe *cmd, void *buf, size_t len, struct nvme_cqe *cqe)
{
	uint64_t off = cmd->cdw12 | (uint64_t)cmd->cdw13 << 32;

	(void)dev;
	(void)cqe;
	assert_true(nr_cmds < MAX_CMDS);
	cmds[nr_cmds] = *cmd;
	lens[nr_cmds] = len;
	if ((int)nr_cmds++ == fail_at)
		return nvp_set_error(-EIO, "admin opcode 0x2 failed: Invalid Field in Command");
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = log_byte(off + i);
	return 0;
}

static struct nvp_dev dev;

static int setup(void **state)
{
	(void)state;
	memset(&dev, 0, sizeof(dev));
	dev.max_xfer = 8192;
	dev.id_ctrl.lpa = NVME_LPA_EXT_DATA;
	nr_cmds = 0;
	fail_at = -1;
	return 0;
}

static size_t numd_bytes(const struct nvme_sqe *c)
{
	return (((size_t)(c->cdw11 & 0xffff) << 16 | c->cdw10 >> 16) + 1) * 4;
}

static void check_log(const uint8_t *buf, size_t len, uint64_t from)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != log_byte(from + i))
			fail_msg("byte %zu of the log read from %llu is wrong", i, (unsigned long long)from);
}

/* 20 KiB + 4 in 8 KiB pieces: 3 commands at 0, 8 K, 16 K; RAE on all but the last. */
static void test_split(void **state)
{
	struct nvp_log_args a = { .nsid = 0xffffffff, .lid = 0x01, .lsp = 0x7f, .lsi = 0xbeef };
	size_t len = 20 * 1024 + 4;
	uint8_t *buf = malloc(len);

	(void)state;
	assert_int_equal(nvp_get_log(&dev, &a, buf, len), 0);
	assert_int_equal(nr_cmds, 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct nvme_sqe *c = &cmds[i];

		assert_int_equal(c->opc, NVME_ADMIN_GET_LOG_PAGE);
		assert_int_equal(c->nsid, 0xffffffff);
		assert_int_equal(c->cdw10 & 0xff, 0x01);
		assert_int_equal(c->cdw10 >> 8 & 0x7f, 0x7f);
		assert_int_equal(c->cdw11 >> 16, 0xbeef);
		assert_int_equal(c->cdw12, i * 8192);
		assert_int_equal(c->cdw13, 0);
		assert_int_equal(numd_bytes(c), lens[i]);
		assert_int_equal(!!(c->cdw10 & NVME_LOG_RAE), i < 2);
	}
	assert_int_equal(lens[0], 8192);
	assert_int_equal(lens[2], 4 * 1024 + 4);
	check_log(buf, len, 0);

	/* RAE asked for: every piece keeps the event. */
	nr_cmds = 0;
	a.rae = 1;
	assert_int_equal(nvp_get_log(&dev, &a, buf, len), 0);
	for (unsigned i = 0; i < nr_cmds; i++)
		assert_true(cmds[i].cdw10 & NVME_LOG_RAE);
	free(buf);
}

/* An offset above 4 GiB lands in LPOU; one piece of 4 bytes has NUMD 0. */
static void test_offset_and_small(void **state)
{
	struct nvp_log_args a = { .lid = 0x02, .offset = (5ull << 32) + 512 };
	uint8_t *buf = malloc(4);

	(void)state;
	assert_int_equal(nvp_get_log(&dev, &a, buf, 4), 0);
	assert_int_equal(nr_cmds, 1);
	assert_int_equal(cmds[0].cdw12, 512);
	assert_int_equal(cmds[0].cdw13, 5);
	assert_int_equal(cmds[0].cdw10 >> 16, 0);
	assert_int_equal(cmds[0].cdw11 & 0xffff, 0);
	assert_false(cmds[0].cdw10 & NVME_LOG_RAE);
	check_log(buf, 4, a.offset);
	free(buf);
}

/* Beyond 256 KiB in one command NUMDU carries the upper dwords (MDTS 0, a 2 MiB cap: pieces of 64 KiB here). */
static void test_numdu(void **state)
{
	struct nvme_sqe c;
	struct nvp_log_args a = { .lid = 0x0d };

	(void)state;
	nvp_log_cmd_build(&c, &a, 0, 1u << 20, 0);
	assert_int_equal(c.cdw10 >> 16, 0xffff);
	assert_int_equal(c.cdw11 & 0xffff, 3);
	assert_int_equal(numd_bytes(&c), 1u << 20);
	dev.max_xfer = 2u << 20;
	{
		uint8_t *buf = malloc(200 * 1024);

		assert_int_equal(nvp_get_log(&dev, &a, buf, 200 * 1024), 0);
		assert_int_equal(nr_cmds, 4); /* the 64 KiB bounce buffer bounds each piece */
		assert_int_equal(lens[3], 8 * 1024);
		check_log(buf, 200 * 1024, 0);
		free(buf);
	}
}

static void test_refused(void **state)
{
	struct nvp_log_args a = { .lid = 0x01 };
	uint8_t *buf = malloc(16384);

	(void)state;
	assert_int_equal(nvp_get_log(&dev, &a, buf, 0), -EINVAL);
	assert_int_equal(nvp_get_log(&dev, &a, buf, 6), -EINVAL);
	assert_int_equal(nvp_get_log(&dev, &a, NULL, 4), -EINVAL);
	assert_int_equal(nvp_get_log(&dev, NULL, buf, 4), -EINVAL);
	a.offset = 2;
	assert_int_equal(nvp_get_log(&dev, &a, buf, 4), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "offset 2 is not a multiple of 4"));
	a.offset = UINT64_MAX - 3;
	assert_int_equal(nvp_get_log(&dev, &a, buf, 8), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "overflows"));
	/* No extended data (LPA bit 2): one piece from 0 only. */
	dev.id_ctrl.lpa = 0;
	a.offset = 0;
	assert_int_equal(nvp_get_log(&dev, &a, buf, 8192), 0);
	assert_int_equal(nvp_get_log(&dev, &a, buf, 16384), -EOPNOTSUPP);
	assert_non_null(strstr(nvp_errmsg(), "no log page offsets (LPA bit 2 clear): read at most 8192 bytes"));
	a.offset = 4;
	assert_int_equal(nvp_get_log(&dev, &a, buf, 4), -EOPNOTSUPP);
	assert_int_equal(nr_cmds, 1);
	free(buf);
}

/* A failed piece stops the read and says where. */
static void test_piece_fails(void **state)
{
	struct nvp_log_args a = { .lid = 0x01 };
	uint8_t *buf = malloc(16384);

	(void)state;
	fail_at = 1;
	assert_int_equal(nvp_get_log(&dev, &a, buf, 16384), -EIO);
	assert_int_equal(nr_cmds, 2);
	assert_non_null(strstr(nvp_errmsg(), "log page 0x1 at byte 8192 of 16384"));
	free(buf);
}

/* ---- Changed Namespace List ------------------------------------------------ */

static uint32_t *id_log(size_t len, uint32_t first, unsigned n)
{
	uint32_t *log = malloc(len);

	memset(log, 0, len);
	for (unsigned i = 0; i < n && (i + 1) * 4 <= len; i++)
		log[i] = first + i;
	return log;
}

static void test_changed_ns(void **state)
{
	uint32_t ids[4], *log;

	(void)state;
	/* Full: 1024 ids and no terminating zero; nothing past the 4096 bytes is read. */
	log = id_log(4096, 1, 1024);
	assert_int_equal(nvp_changed_ns_parse(log, 4096, ids, 4), 1024);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[3], 4);
	free(log);
	/* A larger buffer still holds 1024 at most. */
	log = id_log(8192, 1, 2048);
	assert_int_equal(nvp_changed_ns_parse(log, 8192, ids, 4), 1024);
	free(log);
	/* Only the bytes given: 6 bytes hold one whole id. */
	log = id_log(6, 7, 2);
	assert_int_equal(nvp_changed_ns_parse(log, 6, ids, 4), 1);
	assert_int_equal(ids[0], 7);
	free(log);
	log = id_log(4096, 3, 2);
	assert_int_equal(nvp_changed_ns_parse(log, 4096, ids, 4), 2);
	assert_int_equal(ids[1], 4);
	assert_int_equal(nvp_changed_ns_parse(log, 4096, NULL, 0), 2);
	assert_int_equal(nvp_changed_ns_parse(log, 0, ids, 4), 0);
	log[0] = NVME_CHANGED_NS_OVERFLOW;
	assert_int_equal(nvp_changed_ns_parse(log, 4096, ids, 4), -E2BIG);
	assert_int_equal(nvp_changed_ns_parse(NULL, 4096, ids, 4), -EINVAL);
	assert_int_equal(nvp_changed_ns_parse(log, 4096, NULL, 4), -EINVAL);
	free(log);
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_split), T(test_offset_and_small), T(test_numdu), T(test_refused), T(test_piece_fails),
		T(test_changed_ns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
