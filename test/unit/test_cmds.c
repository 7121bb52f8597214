/*
 * Compare, Verify, Write Uncorrectable and Copy through the driver against
 * the sim: each command's effect read back, its failures by status name,
 * Copy's limits refused on the host (and by the controller when the host
 * is bypassed), and each command refused with a message when ONCS lacks it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <nvpoll.h>
#include <nvpoll/sim.h>

#include "sync_io.h"

#define BUF (512 * 1024)

struct fx {
	struct nvp_dev *dev;
	struct nvp_qpair *qp;
	const struct nvp_ns *ns;
	uint8_t *w, *r;
	struct nvme_copy_range *ranges;
};

static struct fx *up(void **state, const char *uri)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	*state = f;
	f->dev = nvp_dev_open(uri, NULL);
	if (!f->dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	f->qp = nvp_qpair_create(f->dev, NULL);
	f->ns = nvp_ns_get(f->dev, 1);
	f->w = nvp_dma_alloc(f->dev, BUF);
	f->r = nvp_dma_alloc(f->dev, BUF);
	f->ranges = nvp_dma_alloc(f->dev, 4096);
	assert_true(f->qp && f->ns && f->w && f->r && f->ranges);
	return f;
}

static int down(void **state)
{
	struct fx *f = *state;

	if (f) {
		nvp_dev_close(f->dev);
		free(f);
	}
	return 0;
}

struct wait {
	struct done d;
	int err;
};

static void on_wait(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct wait *w = arg;

	on_done(&w->d, err, cqe);
	w->err = nvp_cqe_error(err, cqe);
}

/* Wait for the command just posted (@err its submission's return). */
static int finish(struct fx *f, struct wait *w, int err)
{
	if (err)
		return err;
	assert_true(wait_done(f->qp, &w->d, 5000));
	return w->err;
}

#define RUN(f, call)                                                                                               \
	({                                                                                                         \
		struct wait w_ = { { 0 }, 0 };                                                                     \
		struct wait *w = &w_;                                                                              \
		finish((f), w, (call));                                                                            \
	})

static int wr(struct fx *f, uint64_t slba, uint32_t nlb, void *buf)
{
	return RUN(f, nvp_write(f->qp, f->ns, slba, nlb, buf, on_wait, w));
}

static int rd(struct fx *f, uint64_t slba, uint32_t nlb, void *buf)
{
	return RUN(f, nvp_read(f->qp, f->ns, slba, nlb, buf, on_wait, w));
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed * 101 + (i >> 9));
}

static void test_compare(void **state)
{
	struct fx *f = up(state, "sim:size=1M");

	fill(f->w, 8192, 1);
	assert_int_equal(wr(f, 30, 16, f->w), 0);
	assert_int_equal(RUN(f, nvp_compare(f->qp, f->ns, 30, 16, f->w, on_wait, w)), 0);
	f->w[4000] ^= 2;
	assert_int_equal(RUN(f, nvp_compare(f->qp, f->ns, 30, 16, f->w, on_wait, w)), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Compare Failure"));
}

static void test_write_uncorrectable_and_verify(void **state)
{
	struct fx *f = up(state, "sim:size=1M,lbads=4096");

	fill(f->w, 10 * 4096, 2);
	assert_int_equal(wr(f, 10, 10, f->w), 0);
	assert_int_equal(RUN(f, nvp_verify(f->qp, f->ns, 10, 10, NULL, on_wait, w)), 0);
	assert_int_equal(RUN(f, nvp_write_uncorrectable(f->qp, f->ns, 12, 2, on_wait, w)), 0);
	assert_int_equal(rd(f, 10, 10, f->r), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Unrecovered Read Error"));
	assert_int_equal(RUN(f, nvp_verify(f->qp, f->ns, 13, 1, NULL, on_wait, w)), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Unrecovered Read Error"));
	assert_int_equal(RUN(f, nvp_compare(f->qp, f->ns, 10, 10, f->w, on_wait, w)), -EIO);
	/* The blocks around them read as written. */
	assert_int_equal(rd(f, 14, 6, f->r), 0);
	assert_memory_equal(f->r, f->w + 4 * 4096, 6 * 4096);
	assert_int_equal(rd(f, 10, 2, f->r), 0);
	/* Written again, they read again. */
	assert_int_equal(wr(f, 12, 2, f->w + 2 * 4096), 0);
	assert_int_equal(rd(f, 10, 10, f->r), 0);
	assert_memory_equal(f->r, f->w, 10 * 4096);
	/* Write Zeroes clears the mark too. */
	assert_int_equal(RUN(f, nvp_write_uncorrectable(f->qp, f->ns, 0, 1, on_wait, w)), 0);
	assert_int_equal(RUN(f, nvp_write_zeroes(f->qp, f->ns, 0, 1, on_wait, w)), 0);
	assert_int_equal(RUN(f, nvp_verify(f->qp, f->ns, 0, 1, NULL, on_wait, w)), 0);
	assert_int_equal(RUN(f, nvp_verify(f->qp, f->ns, 250, 7, NULL, on_wait, w)), -ERANGE);
}

/* Verify checks PI: a block changed behind it fails the guard check, by name. */
static void test_verify_pi(void **state)
{
	struct fx *f = up(state, "sim:size=1M,ms=8,pi=1");
	struct nvp_pi_args pract = { .flags = NVP_PI_PRACT, .ref_tag = 64 };
	struct nvp_pi_args chk = { .flags = NVP_PI_CHECK_ALL, .ref_tag = 64, .app_mask = 0xffff };
	struct nvp_sim_fault corrupt = { .type = NVP_SIM_FAULT_CORRUPT,
					 .match = { .filter = NVP_SIM_MATCH_LBA, .nsid = 1, .slba = 64, .nlb = 1 } };

	fill(f->w, 8 * 512, 3);
	assert_int_equal(RUN(f, nvp_write_md(f->qp, f->ns, 64, 8, f->w, NULL, &pract, on_wait, w)), 0);
	assert_int_equal(RUN(f, nvp_verify(f->qp, f->ns, 64, 8, &chk, on_wait, w)), 0);
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(f->dev), &corrupt), 0);
	assert_int_equal(RUN(f, nvp_write_md(f->qp, f->ns, 64, 8, f->w, NULL, &pract, on_wait, w)), 0);
	assert_int_equal(RUN(f, nvp_verify(f->qp, f->ns, 64, 8, &chk, on_wait, w)), -EILSEQ);
	assert_non_null(strstr(nvp_errmsg(), "End-to-end Guard Check Error"));
	assert_int_equal(RUN(f, nvp_verify(f->qp, f->ns, 64, 8, NULL, on_wait, w)), 0);
	chk.flags = NVP_PI_PRACT;
	assert_int_equal(RUN(f, nvp_verify(f->qp, f->ns, 64, 8, &chk, on_wait, w)), -EINVAL);
}

static void test_copy(void **state)
{
	struct fx *f = up(state, "sim:size=1M");
	struct nvme_copy_range *r = f->ranges;
	uint8_t *expect = malloc(64 * 512);

	fill(f->w, 200 * 512, 4);
	assert_int_equal(wr(f, 0, 200, f->w), 0);
	/* Three ranges, out of order, one overlapping the destination. */
	r[0] = (struct nvme_copy_range){ .slba = 100, .nlb = 9 };
	r[1] = (struct nvme_copy_range){ .slba = 5, .nlb = 0 };
	r[2] = (struct nvme_copy_range){ .slba = 150, .nlb = 19 };
	memcpy(expect, f->w + 100 * 512, 10 * 512);
	memcpy(expect + 10 * 512, f->w + 5 * 512, 512);
	memcpy(expect + 11 * 512, f->w + 150 * 512, 20 * 512);
	assert_int_equal(RUN(f, nvp_copy(f->qp, f->ns, 145, r, 3, on_wait, w)), 0);
	assert_int_equal(rd(f, 145, 31, f->r), 0);
	assert_memory_equal(f->r, expect, 31 * 512);
	/* The blocks before the destination are untouched. */
	assert_int_equal(rd(f, 140, 5, f->r), 0);
	assert_memory_equal(f->r, f->w + 140 * 512, 5 * 512);

	/* Limits, on the host: MSRC + 1 = 16 ranges, MSSRL 256, MCL 1024, the namespace's end. */
	assert_int_equal(nvp_ns_info(f->ns)->copy_max_ranges, 16);
	assert_int_equal(nvp_ns_info(f->ns)->copy_max_range_nlb, 256);
	assert_int_equal(nvp_ns_info(f->ns)->copy_max_nlb, 1024);
	for (unsigned i = 0; i < 17; i++)
		r[i] = (struct nvme_copy_range){ .slba = i * 10, .nlb = 0 };
	assert_int_equal(RUN(f, nvp_copy(f->qp, f->ns, 1000, r, 17, on_wait, w)), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "MSRC"));
	r[0].nlb = 256;
	assert_int_equal(RUN(f, nvp_copy(f->qp, f->ns, 1000, r, 1, on_wait, w)), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "MSSRL"));
	for (unsigned i = 0; i < 5; i++)
		r[i] = (struct nvme_copy_range){ .slba = i * 256, .nlb = 254 };
	assert_int_equal(RUN(f, nvp_copy(f->qp, f->ns, 0, r, 5, on_wait, w)), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "MCL"));
	assert_int_equal(RUN(f, nvp_copy(f->qp, f->ns, 2047, r, 1, on_wait, w)), -ERANGE);
	assert_non_null(strstr(nvp_errmsg(), "destination"));
	r[0].slba = 2000;
	assert_int_equal(RUN(f, nvp_copy(f->qp, f->ns, 0, r, 1, on_wait, w)), -ERANGE);
	assert_non_null(strstr(nvp_errmsg(), "source range 0"));

	/* The controller's own limit, with the host's checks bypassed. */
	{
		struct nvme_sqe sqe = { .opc = NVME_CMD_COPY, .nsid = 1, .cdw12 = 16 /* 17 ranges */ };

		for (unsigned i = 0; i < 17; i++)
			r[i] = (struct nvme_copy_range){ .slba = i, .nlb = 0 };
		assert_int_equal(RUN(f, nvp_io_cmd(f->qp, &sqe, r, 17 * sizeof(*r), on_wait, w)), -EIO);
		assert_non_null(strstr(nvp_errmsg(), "Command Size Limit Exceeded"));
	}
	/* A source marked uncorrectable fails the copy. */
	assert_int_equal(RUN(f, nvp_write_uncorrectable(f->qp, f->ns, 3, 1, on_wait, w)), 0);
	r[0] = (struct nvme_copy_range){ .slba = 0, .nlb = 7 };
	assert_int_equal(RUN(f, nvp_copy(f->qp, f->ns, 500, r, 1, on_wait, w)), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Unrecovered Read Error"));
	free(expect);
}

/* Metadata (and so PI) moves with the blocks. */
static void test_copy_metadata(void **state)
{
	struct fx *f = up(state, "sim:size=1M,ms=8,pi=2");
	struct nvp_pi_args pi = { .flags = NVP_PI_PRACT, .ref_tag = 7, .app_tag = 0x42 };
	struct nvp_pi_args chk = { .flags = NVP_PI_CHECK_ALL, .ref_tag = 7, .app_tag = 0x42, .app_mask = 0xffff };

	fill(f->w, 4 * 512, 5);
	assert_int_equal(RUN(f, nvp_write_md(f->qp, f->ns, 20, 4, f->w, NULL, &pi, on_wait, w)), 0);
	f->ranges[0] = (struct nvme_copy_range){ .slba = 20, .nlb = 3 };
	assert_int_equal(RUN(f, nvp_copy(f->qp, f->ns, 300, f->ranges, 1, on_wait, w)), 0);
	/* Type 2: the copy keeps the tags the blocks had, so the same ILBRT checks at the destination. */
	assert_int_equal(RUN(f, nvp_read_md(f->qp, f->ns, 300, 4, f->r, f->r + 8192, &chk, on_wait, w)), 0);
	assert_memory_equal(f->r, f->w, 4 * 512);
}

static void test_oncs_refusals(void **state)
{
	/* ONCS 0x0c: DSM and Write Zeroes only. */
	struct fx *f = up(state, "sim:size=1M,oncs=12");
	struct nvme_sqe sqe = { .opc = NVME_CMD_COPY, .nsid = 1 };
	struct wait wt = { { 0 }, 0 };

	f->ranges[0] = (struct nvme_copy_range){ .slba = 0, .nlb = 0 };
	assert_int_equal(nvp_compare(f->qp, f->ns, 0, 1, f->w, on_wait, &wt), -EOPNOTSUPP);
	assert_non_null(strstr(nvp_errmsg(), "does not support Compare (Identify Controller ONCS bit 0"));
	assert_int_equal(nvp_write_uncorrectable(f->qp, f->ns, 0, 1, on_wait, &wt), -EOPNOTSUPP);
	assert_non_null(strstr(nvp_errmsg(), "Write Uncorrectable (Identify Controller ONCS bit 1"));
	assert_int_equal(nvp_verify(f->qp, f->ns, 0, 1, NULL, on_wait, &wt), -EOPNOTSUPP);
	assert_non_null(strstr(nvp_errmsg(), "Verify (Identify Controller ONCS bit 7"));
	assert_int_equal(nvp_copy(f->qp, f->ns, 10, f->ranges, 1, on_wait, &wt), -EOPNOTSUPP);
	assert_non_null(strstr(nvp_errmsg(), "Copy (Identify Controller ONCS bit 8"));
	assert_int_equal(wt.d.n, 0);
	/* The controller agrees: a Copy sent anyway is an invalid opcode. */
	assert_int_equal(RUN(f, nvp_io_cmd(f->qp, &sqe, f->ranges, 32, on_wait, w)), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Invalid Command Opcode"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_compare, down),
		cmocka_unit_test_teardown(test_write_uncorrectable_and_verify, down),
		cmocka_unit_test_teardown(test_verify_pi, down),
		cmocka_unit_test_teardown(test_copy, down),
		cmocka_unit_test_teardown(test_copy_metadata, down),
		cmocka_unit_test_teardown(test_oncs_refusals, down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
