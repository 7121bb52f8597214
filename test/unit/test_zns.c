/*
 * Zoned namespaces through the driver against the sim: the zone geometry
 * nvp_ns_info() reports, zones filled by write and by append (each append
 * told its LBA), read back, reported Full, reset and reported Empty; the
 * write pointer, boundary and full-zone errors by name; the open and
 * active limits; state transitions; report filters, partial reports and
 * paging; and the parser's bounds.
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

#include "sync_io.h"

#define ZONE 512u	/* blocks: zone_size=256K of 512-byte blocks */
#define NZONES 16u

struct fx {
	struct nvp_dev *dev;
	struct nvp_qpair *qp;
	const struct nvp_ns *ns, *plain;
	uint8_t *w, *r, *rep;
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
	f->plain = nvp_ns_get(f->dev, 1);
	f->ns = nvp_ns_get(f->dev, 2);
	f->w = nvp_dma_alloc(f->dev, 256 * 1024);
	f->r = nvp_dma_alloc(f->dev, 256 * 1024);
	f->rep = nvp_dma_alloc(f->dev, 4096);
	assert_true(f->qp && f->plain && f->ns && f->w && f->r && f->rep);
	return f;
}

static struct fx *up_default(void **state)
{
	return up(state, "sim:ns=2,size=4M,zoned=0:1,zone_size=256K,max_open=2,max_active=3");
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
	uint64_t lba;
};

static void on_wait(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct wait *w = arg;

	on_done(&w->d, err, cqe);
	w->err = nvp_cqe_error(err, cqe);
	w->lba = nvp_cqe_append_lba(cqe);
}

static int finish(struct fx *f, struct wait *w, int err)
{
	if (err)
		return err;
	assert_true(wait_done(f->qp, &w->d, 5000));
	return w->err;
}

#define RUN(f, call)                                                                                               \
	({                                                                                                         \
		struct wait w_ = { { 0 }, 0, 0 };                                                                  \
		struct wait *w = &w_;                                                                              \
		finish((f), w, (call));                                                                            \
	})

static int wr(struct fx *f, uint64_t slba, uint32_t nlb, const void *buf)
{
	return RUN(f, nvp_write(f->qp, f->ns, slba, nlb, buf, on_wait, w));
}

static int mgmt(struct fx *f, uint64_t zslba, unsigned action, int all)
{
	return RUN(f, nvp_zone_mgmt(f->qp, f->ns, zslba, action, all, on_wait, w));
}

/* Report from @slba into f->rep (@len bytes); the zones parsed into @z, their count returned. */
static int report(struct fx *f, uint64_t slba, unsigned filter, int partial, size_t len, struct nvp_zone *z,
		  unsigned max, uint64_t *nr)
{
	int err = RUN(f, nvp_zone_report(f->qp, f->ns, slba, filter, partial, f->rep, len, on_wait, w));

	if (err)
		return err;
	return nvp_zone_report_parse(f->rep, len, z, max, nr);
}

static uint8_t state_of(struct fx *f, unsigned zone)
{
	struct nvp_zone z;
	uint64_t nr;

	assert_int_equal(report(f, (uint64_t)zone * ZONE, 0, 1, 128, &z, 1, &nr), 1);
	assert_int_equal(z.zslba, (uint64_t)zone * ZONE);
	return z.state;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed * 59 + (i >> 9));
}

static void test_geometry(void **state)
{
	struct fx *f = up_default(state);
	const struct nvp_ns_info *i = nvp_ns_info(f->ns), *p = nvp_ns_info(f->plain);

	assert_int_equal(p->csi, NVME_CSI_NVM);
	assert_int_equal(p->zone_size, 0);
	assert_int_equal(i->csi, NVME_CSI_ZNS);
	assert_int_equal(i->zone_size, ZONE);
	assert_int_equal(i->nr_zones, NZONES);
	assert_int_equal(i->max_open_zones, 2);
	assert_int_equal(i->max_active_zones, 3);
	assert_int_equal(i->zone_append_max, nvp_dev_max_xfer(f->dev));
}

/* Zone 0 by write, zone 1 by append; read back; Full; reset; Empty and zeroes. */
static void test_fill_reset(void **state)
{
	struct fx *f = up_default(state);
	struct nvp_zone z[NZONES];
	uint64_t nr;

	fill(f->w, 256 * 1024, 1);
	for (unsigned k = 0; k < 4; k++)
		assert_int_equal(wr(f, k * 128, 128, f->w + k * 65536), 0);
	for (unsigned k = 0; k < 4; k++) {
		struct wait a = { { 0 }, 0, 0 };

		assert_int_equal(finish(f, &a, nvp_zone_append(f->qp, f->ns, ZONE, 128, f->w + k * 65536,
							       on_wait, &a)), 0);
		assert_int_equal(a.lba, ZONE + k * 128);
	}
	for (unsigned zone = 0; zone < 2; zone++) {
		assert_int_equal(RUN(f, nvp_read(f->qp, f->ns, zone * ZONE, 256, f->r, on_wait, w)), 0);
		assert_memory_equal(f->r, f->w, 128 * 1024);
		assert_int_equal(RUN(f, nvp_read(f->qp, f->ns, zone * ZONE + 256, 256, f->r, on_wait, w)), 0);
		assert_memory_equal(f->r, f->w + 128 * 1024, 128 * 1024);
	}
	assert_int_equal(report(f, 0, 0, 0, 64 + NZONES * 64, z, NZONES, &nr), NZONES);
	assert_int_equal(nr, NZONES);
	assert_int_equal(z[0].state, NVME_ZS_FULL);
	assert_int_equal(z[1].state, NVME_ZS_FULL);
	for (unsigned k = 2; k < NZONES; k++) {
		assert_int_equal(z[k].state, NVME_ZS_EMPTY);
		assert_int_equal(z[k].zslba, k * ZONE);
		assert_int_equal(z[k].wp, k * ZONE);
		assert_int_equal(z[k].zcap, ZONE);
		assert_int_equal(z[k].type, NVME_ZONE_TYPE_SEQ_WRITE);
	}
	/* Full zones refuse more, by name. */
	assert_int_equal(wr(f, 100, 1, f->w), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Zone Is Full"));
	assert_int_equal(RUN(f, nvp_zone_append(f->qp, f->ns, ZONE, 1, f->w, on_wait, w)), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Zone Is Full"));

	assert_int_equal(mgmt(f, 0, NVME_ZSA_RESET, 0), 0);
	assert_int_equal(state_of(f, 0), NVME_ZS_EMPTY);
	assert_int_equal(state_of(f, 1), NVME_ZS_FULL);
	assert_int_equal(RUN(f, nvp_read(f->qp, f->ns, 0, 8, f->r, on_wait, w)), 0);
	for (unsigned k = 0; k < 8 * 512; k++)
		assert_int_equal(f->r[k], 0);
	/* Written again from its start. */
	assert_int_equal(wr(f, 0, 8, f->w), 0);
	assert_int_equal(state_of(f, 0), NVME_ZS_IMP_OPEN);
}

static void test_write_errors(void **state)
{
	struct fx *f = up_default(state);

	fill(f->w, 65536, 2);
	/* Past the write pointer (the zone is empty: it is at 1024). */
	assert_int_equal(wr(f, 2 * ZONE + 10, 1, f->w), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Zone Invalid Write"));
	assert_int_equal(wr(f, 2 * ZONE, 100, f->w), 0);
	/* Behind it. */
	assert_int_equal(wr(f, 2 * ZONE + 50, 1, f->w), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Zone Invalid Write"));
	/* Across the zone's end. */
	assert_int_equal(wr(f, 2 * ZONE + 100, 128, f->w), 0);
	assert_int_equal(wr(f, 2 * ZONE + 228, 128, f->w), 0);
	assert_int_equal(wr(f, 2 * ZONE + 356, 128, f->w), 0);
	assert_int_equal(wr(f, 2 * ZONE + 484, 64, f->w), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Zone Boundary Error"));
	/* Reads may cross zones (OZCS bit 0). */
	assert_int_equal(RUN(f, nvp_read(f->qp, f->ns, 2 * ZONE + 480, 64, f->r, on_wait, w)), 0);
	/* Write Zeroes follows the pointer too. */
	assert_int_equal(RUN(f, nvp_write_zeroes(f->qp, f->ns, 2 * ZONE + 484, 28, on_wait, w)), 0);
	assert_int_equal(state_of(f, 2), NVME_ZS_FULL);
}

/* max_open=2, max_active=3; transitions allowed and not. */
static void test_limits_and_transitions(void **state)
{
	struct fx *f = up_default(state);
	struct nvp_zone z[NZONES];
	uint64_t nr;

	fill(f->w, 4096, 3);
	assert_int_equal(wr(f, 2 * ZONE, 1, f->w), 0);			/* zone 2 implicitly open */
	assert_int_equal(mgmt(f, 3 * ZONE, NVME_ZSA_OPEN, 0), 0);	/* zone 3 explicitly */
	assert_int_equal(state_of(f, 2), NVME_ZS_IMP_OPEN);
	assert_int_equal(state_of(f, 3), NVME_ZS_EXP_OPEN);
	assert_int_equal(wr(f, 4 * ZONE, 1, f->w), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Too Many Open Zones"));
	assert_int_equal(mgmt(f, 4 * ZONE, NVME_ZSA_OPEN, 0), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Too Many Open Zones"));
	assert_int_equal(mgmt(f, 3 * ZONE, NVME_ZSA_CLOSE, 0), 0);
	assert_int_equal(state_of(f, 3), NVME_ZS_CLOSED);
	assert_int_equal(wr(f, 4 * ZONE, 1, f->w), 0);			/* 2 open, 3 active */
	assert_int_equal(mgmt(f, 5 * ZONE, NVME_ZSA_CLOSE, 0), -EIO);	/* an empty zone cannot close */
	assert_non_null(strstr(nvp_errmsg(), "Invalid Zone State Transition"));
	assert_int_equal(mgmt(f, 3 * ZONE, NVME_ZSA_CLOSE, 0), 0);	/* closing a closed zone: nothing to do */
	assert_int_equal(mgmt(f, 2 * ZONE, NVME_ZSA_CLOSE, 0), 0);
	assert_int_equal(mgmt(f, 5 * ZONE, NVME_ZSA_OPEN, 0), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Too Many Active Zones"));
	/* Finish zone 4: Full, no longer active; zone 5 may open. */
	assert_int_equal(mgmt(f, 4 * ZONE, NVME_ZSA_FINISH, 0), 0);
	assert_int_equal(state_of(f, 4), NVME_ZS_FULL);
	assert_int_equal(mgmt(f, 5 * ZONE, NVME_ZSA_OPEN, 0), 0);
	assert_int_equal(mgmt(f, 4 * ZONE, NVME_ZSA_OPEN, 0), -EIO);	/* a full zone cannot open */
	assert_non_null(strstr(nvp_errmsg(), "Invalid Zone State Transition"));
	/* Select All: finish every active zone (2, 3 closed; 5 open), then the filter counts them. */
	assert_int_equal(mgmt(f, 0, NVME_ZSA_FINISH, 1), 0);
	assert_int_equal(report(f, 0, NVME_ZRASF_FULL, 0, 64 + NZONES * 64, z, NZONES, &nr), 4);
	assert_int_equal(nr, 4);
	assert_int_equal(z[0].zslba, 2 * ZONE);
	assert_int_equal(z[3].zslba, 5 * ZONE);
	assert_int_equal(report(f, 0, NVME_ZRASF_EMPTY, 0, 64 + NZONES * 64, z, NZONES, &nr), NZONES - 4);
	/* Reset all: every zone Empty. */
	assert_int_equal(mgmt(f, 0, NVME_ZSA_RESET, 1), 0);
	assert_int_equal(report(f, 0, NVME_ZRASF_FULL, 0, 128, z, 1, &nr), 0);
	assert_int_equal(nr, 0);
	assert_int_equal(report(f, 0, NVME_ZRASF_EMPTY, 0, 128, z, 1, &nr), 1);
	assert_int_equal(nr, NZONES);
}

/* Four descriptors a page: partial counts what came, full counts all; paging collects every zone. */
static void test_report_paging(void **state)
{
	struct fx *f = up_default(state);
	struct nvp_zone z[4], all[NZONES];
	unsigned got = 0;
	uint64_t nr, slba = 0;

	assert_int_equal(report(f, 0, 0, 1, 64 + 4 * 64, z, 4, &nr), 4);
	assert_int_equal(nr, 4);
	assert_int_equal(report(f, 0, 0, 0, 64 + 4 * 64, z, 4, &nr), 4);
	assert_int_equal(nr, NZONES);
	/* From the middle of zone 13: zones 13, 14, 15. */
	assert_int_equal(report(f, 13 * ZONE + 7, 0, 0, 64 + 4 * 64, z, 4, &nr), 3);
	assert_int_equal(nr, 3);
	assert_int_equal(z[0].zslba, 13 * ZONE);
	while (got < NZONES) {
		int n = report(f, slba, 0, 1, 64 + 4 * 64, z, 4, &nr);

		assert_true(n > 0);
		memcpy(all + got, z, (size_t)n * sizeof(z[0]));
		got += (unsigned)n;
		slba = z[n - 1].zslba + ZONE;
	}
	for (unsigned k = 0; k < NZONES; k++)
		assert_int_equal(all[k].zslba, k * ZONE);
	/* The parser keeps to the buffer, to max, and to the header. */
	assert_int_equal(nvp_zone_report_parse(f->rep, 64 + 2 * 64, z, 4, &nr), 2);
	assert_int_equal(nvp_zone_report_parse(f->rep, 64 + 4 * 64, z, 1, &nr), 1);
	memset(f->rep, 0, 8);
	assert_int_equal(nvp_zone_report_parse(f->rep, 64 + 4 * 64, z, 4, &nr), 0);
	assert_int_equal(nvp_zone_report_parse(f->rep, 63, z, 4, &nr), -EINVAL);
	assert_int_equal(nvp_zone_report_parse(NULL, 64, z, 4, &nr), -EINVAL);
}

static void test_bad_args(void **state)
{
	struct fx *f = up(state, "sim:ns=2,size=4M,zoned=0:1,zone_size=256K,zasl=1");
	struct wait wt = { { 0 }, 0, 0 };

	assert_int_equal(nvp_ns_info(f->ns)->zone_append_max, 8192);
	assert_int_equal(nvp_zone_append(f->qp, f->ns, 0, 17, f->w, on_wait, &wt), -E2BIG);
	assert_non_null(strstr(nvp_errmsg(), "ZASL"));
	assert_int_equal(RUN(f, nvp_zone_append(f->qp, f->ns, 0, 16, f->w, on_wait, w)), 0);
	assert_int_equal(nvp_zone_append(f->qp, f->ns, 5, 1, f->w, on_wait, &wt), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "not the start of a zone"));
	assert_int_equal(nvp_zone_mgmt(f->qp, f->ns, 7, NVME_ZSA_RESET, 0, on_wait, &wt), -EINVAL);
	assert_int_equal(nvp_zone_mgmt(f->qp, f->ns, 0, 9, 0, on_wait, &wt), -EINVAL);
	assert_int_equal(nvp_zone_report(f->qp, f->ns, 0, 0, 0, f->rep, 100, on_wait, &wt), -EINVAL);
	assert_int_equal(nvp_zone_report(f->qp, f->ns, 0, 8, 0, f->rep, 128, on_wait, &wt), -EINVAL);
	assert_int_equal(nvp_zone_report(f->qp, f->ns, 1u << 20, 0, 0, f->rep, 128, on_wait, &wt), -ERANGE);
	assert_int_equal(nvp_zone_mgmt(f->qp, f->plain, 0, NVME_ZSA_RESET, 0, on_wait, &wt), -EOPNOTSUPP);
	assert_non_null(strstr(nvp_errmsg(), "not zoned"));
	assert_int_equal(nvp_zone_append(f->qp, f->plain, 0, 1, f->w, on_wait, &wt), -EOPNOTSUPP);
	assert_int_equal(nvp_zone_report(f->qp, f->plain, 0, 0, 0, f->rep, 128, on_wait, &wt), -EOPNOTSUPP);
	assert_int_equal(wt.d.n, 0);
	/* The sim refuses a zone size that does not divide the namespace. */
	assert_null(nvp_dev_open("sim:size=1M,zoned=1,zone_size=384K", NULL));
	assert_non_null(strstr(nvp_errmsg(), "zone_size"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_geometry, down),
		cmocka_unit_test_teardown(test_fill_reset, down),
		cmocka_unit_test_teardown(test_write_errors, down),
		cmocka_unit_test_teardown(test_limits_and_transitions, down),
		cmocka_unit_test_teardown(test_report_paging, down),
		cmocka_unit_test_teardown(test_bad_args, down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
