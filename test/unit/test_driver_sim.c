/*
 * The whole driver against the sim: bring-up and shutdown, admin and I/O
 * commands with data verified, queue wrap at tiny sizes, full queues, many
 * qpairs on many threads, and each injected fault giving its documented
 * outcome with nothing leaked (ASan) and nothing hanging (every wait bounded).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <nvpoll.h>
#include <nvpoll/sim.h>

#include "nvme/nvme.h"
#include "sync_io.h"

static struct nvp_dev *open_sim(const char *uri, unsigned admin_timeout_ms)
{
	struct nvp_opts opts;
	struct nvp_dev *dev;

	nvp_opts_init(&opts);
	if (admin_timeout_ms)
		opts.admin_timeout_ms = admin_timeout_ms;
	dev = nvp_dev_open(uri, &opts);
	if (!dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	return dev;
}

/*
 * The fixture of the fault, timeout and NULL tests: a sim opened with an
 * admin timeout (0: the default), namespace 1, one qpair of the default
 * depth and a 4 KiB DMA buffer. A test that destroys the qpair itself sets
 * fx->qp to NULL; teardown frees the rest in reverse order.
 */
struct sim_io {
	struct nvp_dev *dev;
	const struct nvp_ns *ns;
	struct nvp_qpair *qp;
	uint8_t *buf;
};

static int setup_sim_io_with(void **state, unsigned admin_timeout_ms)
{
	struct sim_io *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	*state = fx;
	fx->dev = open_sim("sim", admin_timeout_ms);
	fx->ns = nvp_ns_get(fx->dev, 1);
	fx->qp = nvp_qpair_create(fx->dev, NULL);
	fx->buf = nvp_dma_alloc(fx->dev, 4096);
	return 0;
}

static int setup_sim_io(void **state)
{
	return setup_sim_io_with(state, 0);
}

static int setup_sim_io_admin_300ms(void **state)
{
	return setup_sim_io_with(state, 300);
}

static int setup_sim_io_admin_1s(void **state)
{
	return setup_sim_io_with(state, 1000);
}

static int teardown_sim_io(void **state)
{
	struct sim_io *fx = *state;

	if (fx->buf)
		nvp_dma_free(fx->dev, fx->buf);
	if (fx->qp)
		nvp_qpair_destroy(fx->qp);
	nvp_dev_close(fx->dev);
	free(fx);
	return 0;
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 9));
}

static void rw_ok(struct nvp_qpair *qp, const struct nvp_ns *ns, int write, uint64_t slba, uint32_t nlb, void *buf)
{
	struct done d = { 0 };
	int err = write ? nvp_write(qp, ns, slba, nlb, buf, on_done, &d) : nvp_read(qp, ns, slba, nlb, buf, on_done, &d);

	if (err)
		fail_msg("submit: %s", nvp_errmsg());
	assert_true(wait_done(qp, &d, 5000));
	assert_int_equal(d.err, 0);
}

static void test_open_close_identify(void **state)
{
	struct nvp_dev *dev = open_sim("sim:ns=3,lbads=512:4096:512,size=1M:8M:2M,sn=UNIT42", 0);
	const struct nvme_id_ctrl *id = nvp_dev_id_ctrl(dev);
	const uint32_t *nsids;
	(void)state;

	assert_memory_equal(id->sn, "UNIT42", 6);
	assert_int_equal(nvp_ns_list(dev, &nsids), 3);
	assert_int_equal(nsids[0], 1);
	assert_int_equal(nsids[2], 3);
	assert_int_equal(nvp_ns_info(nvp_ns_get(dev, 2))->lba_size, 4096);
	assert_int_equal(nvp_ns_info(nvp_ns_get(dev, 2))->nsze, 2048);
	assert_int_equal(nvp_ns_info(nvp_ns_get(dev, 3))->nsze, 4096);
	assert_string_equal(nvp_dev_backend(dev), "sim");
	assert_non_null(nvp_dev_sim(dev));
	nvp_dev_close(dev);
}

static void test_bad_uri_and_options(void **state)
{
	(void)state;
	assert_null(nvp_dev_open("sim:frobnicate=1", NULL));
	assert_non_null(strstr(nvp_errmsg(), "frobnicate"));
	assert_null(nvp_dev_open("sim:lbads=1000", NULL));
	assert_null(nvp_dev_open("nonsense", NULL));
	assert_non_null(strstr(nvp_errmsg(), "not a device URI"));
	{
		struct nvp_opts o;

		nvp_opts_init(&o);
		o.be = "no-such-backend";
		assert_null(nvp_dev_open("sim", &o));
		assert_non_null(strstr(nvp_errmsg(), "no-such-backend"));
		o.be = NULL;
		o.mem = "tmpfs";
		assert_null(nvp_dev_open("sim", &o));
		assert_non_null(strstr(nvp_errmsg(), "tmpfs"));
	}
	/* A namespace that is not there. */
	assert_null(nvp_dev_open("sim/ns=2", NULL));
}

static void test_admin_commands(void **state)
{
	struct nvp_dev *dev = open_sim("sim", 0);
	struct nvp_qpair *qp = nvp_qpair_create(dev, NULL);
	const struct nvp_ns *ns = nvp_ns_get(dev, 1);
	struct nvme_smart_log smart;
	struct nvme_fw_slot_log fw;
	struct nvme_error_log errlog[4];
	uint8_t *buf = nvp_dma_alloc(dev, 64 * 1024);
	uint32_t dw0 = 0;
	(void)state;

	/* Volatile write cache: set, then read back. */
	assert_int_equal(nvp_set_features(dev, NVME_FEAT_VOLATILE_WC, 0, NULL), 0);
	assert_int_equal(nvp_get_features(dev, NVME_FEAT_VOLATILE_WC, 0, &dw0), 0);
	assert_int_equal(dw0 & 1, 0);
	assert_int_equal(nvp_set_features(dev, NVME_FEAT_VOLATILE_WC, 1, NULL), 0);
	assert_int_equal(nvp_get_features(dev, NVME_FEAT_VOLATILE_WC, 0, &dw0), 0);
	assert_int_equal(dw0 & 1, 1);
	assert_int_equal(nvp_get_features(dev, NVME_FEAT_ARBITRATION, 0, &dw0), 0);
	/* An unknown feature is refused by the controller with its status in the message. */
	assert_int_equal(nvp_get_features(dev, 0x7e, 0, &dw0), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Invalid Field in Command"));

	/* SMART counts what we write: 64 KiB is 128 units of 512 bytes -> 1 (thousands, rounded up). */
	fill(buf, 64 * 1024, 1);
	rw_ok(qp, ns, 1, 0, 128, buf);
	rw_ok(qp, ns, 0, 0, 128, buf);
	assert_int_equal(nvp_get_log_page(dev, 0xffffffff, NVME_LOG_SMART, &smart, sizeof(smart)), 0);
	assert_int_equal(smart.data_units_written[0], 1);
	assert_int_equal(smart.host_writes[0], 1);
	assert_int_equal(smart.host_reads[0], 1);
	assert_int_equal(nvp_get_log_page(dev, 0, NVME_LOG_FW_SLOT, &fw, sizeof(fw)), 0);
	assert_int_equal(fw.afi & 7, 1);
	assert_memory_equal(fw.frs[0], "0.1", 3);
	assert_int_equal(nvp_get_log_page(dev, 0, NVME_LOG_ERROR, errlog, sizeof(errlog)), 0);
	/* Bad arguments never reach the controller. */
	assert_int_equal(nvp_get_log_page(dev, 0, NVME_LOG_SMART, &smart, 3), -EINVAL);
	assert_int_equal(nvp_identify(dev, NVME_ID_CNS_CTRL, 0, NULL), -EINVAL);
	assert_int_equal(nvp_admin_cmd(dev, NULL, NULL, 0, NULL), -EINVAL);

	nvp_dma_free(dev, buf);
	nvp_qpair_destroy(qp);
	nvp_dev_close(dev);
}

static void test_io_commands(void **state)
{
	struct nvp_dev *dev = open_sim("sim:ns=2,lbads=512:4096,size=4M", 0);
	struct nvp_qpair *qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 16 });
	uint8_t *w = nvp_dma_alloc(dev, 256 * 1024), *r = nvp_dma_alloc(dev, 256 * 1024);
	struct nvme_dsm_range *range = nvp_dma_alloc(dev, 4096);
	(void)state;

	for (uint32_t nsid = 1; nsid <= 2; nsid++) {
		const struct nvp_ns *ns = nvp_ns_get(dev, nsid);
		uint32_t lbs = nvp_ns_info(ns)->lba_size, max = (uint32_t)(nvp_dev_max_xfer(dev) / lbs);
		uint64_t last = nvp_ns_info(ns)->nsze - 1;
		struct done d = { 0 };

		for (uint32_t nlb = 1; nlb <= max; nlb = nlb * 2 + 1) {
			fill(w + 4, (size_t)nlb * lbs, nlb);
			rw_ok(qp, ns, 1, last + 1 - nlb, nlb, w + 4);
			memset(r, 0, (size_t)nlb * lbs);
			rw_ok(qp, ns, 0, last + 1 - nlb, nlb, r);
			assert_memory_equal(w + 4, r, (size_t)nlb * lbs);
		}
		/* Write Zeroes and Deallocate read back as zeroes. */
		fill(w, 8 * lbs, 3);
		rw_ok(qp, ns, 1, 10, 8, w);
		assert_int_equal(nvp_write_zeroes(qp, ns, 10, 4, on_done, &d), 0);
		assert_true(wait_done(qp, &d, 5000));
		assert_int_equal(d.err, 0);
		range->slba = 14;
		range->nlb = 4;
		memset(&d, 0, sizeof(d));
		assert_int_equal(nvp_dsm(qp, ns, range, 1, on_done, &d), 0);
		assert_true(wait_done(qp, &d, 5000));
		assert_int_equal(d.err, 0);
		memset(r, 0xee, 8 * lbs);
		rw_ok(qp, ns, 0, 10, 8, r);
		for (size_t i = 0; i < 8 * lbs; i++)
			assert_int_equal(r[i], 0);
		memset(&d, 0, sizeof(d));
		assert_int_equal(nvp_flush(qp, ns, on_done, &d), 0);
		assert_true(wait_done(qp, &d, 5000));
		assert_int_equal(d.err, 0);
	}

	/* Compare through passthrough: equal, then different. */
	{
		const struct nvp_ns *ns = nvp_ns_get(dev, 1);
		struct nvme_sqe cmp = { .opc = NVME_CMD_COMPARE, .nsid = 1, .cdw10 = 100, .cdw12 = 0 };
		struct done d = { 0 };

		fill(w, 512, 9);
		rw_ok(qp, ns, 1, 100, 1, w);
		assert_int_equal(nvp_io_cmd(qp, &cmp, w, 512, on_done, &d), 0);
		assert_true(wait_done(qp, &d, 5000));
		assert_int_equal(d.err, 0);
		w[17] ^= 1;
		memset(&d, 0, sizeof(d));
		assert_int_equal(nvp_io_cmd(qp, &cmp, w, 512, on_done, &d), 0);
		assert_true(wait_done(qp, &d, 5000));
		assert_int_equal(d.err, -EIO);
		assert_int_equal(d.status & NVME_STATUS_CODE_MASK, NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_COMPARE_FAILED));
		/* The controller's own range check: LBA Out of Range. */
		struct nvme_sqe rd = { .opc = NVME_CMD_READ, .nsid = 1, .cdw10 = 0xfffffff0u };

		memset(&d, 0, sizeof(d));
		assert_int_equal(nvp_io_cmd(qp, &rd, r, 512, on_done, &d), 0);
		assert_true(wait_done(qp, &d, 5000));
		assert_int_equal(d.status & NVME_STATUS_CODE_MASK, NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE));
	}
	nvp_dma_free(dev, range);
	nvp_dma_free(dev, w);
	nvp_dma_free(dev, r);
	nvp_qpair_destroy(qp);
	nvp_dev_close(dev);
}

/*
 * Reads and writes find their buffer's DMA region through the qpair's copy
 * of the last one (lib/nvme/io.c): a buffer in another region, the last
 * page of a region, one running past a region's end, one outside DMA
 * memory and one crossing a page all go right, data checked.
 */
static void test_buffer_regions(void **state)
{
	struct nvp_dev *dev = open_sim("sim:lbads=512,size=16M", 0);
	struct nvp_qpair *qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 8 });
	const struct nvp_ns *ns = nvp_ns_get(dev, 1);
	uint8_t *a = nvp_dma_alloc(dev, 4 * 4096);
	/* Regions are at least 8 MiB: this one cannot share the first, and fills a region of its own. */
	uint8_t *b = nvp_dma_alloc(dev, 8u << 20);
	uint8_t *end = b + (8u << 20), *heap = malloc(8192);
	struct done d = { 0 };
	(void)state;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(heap);
	fill(a, 4096, 1);
	rw_ok(qp, ns, 1, 0, 8, a);
	rw_ok(qp, ns, 0, 0, 8, end - 4096); /* the other region's last page */
	assert_memory_equal(a, end - 4096, 4096);
	fill(end - 4096, 4096, 2);
	rw_ok(qp, ns, 1, 8, 8, end - 4096);
	/* The region just used, but past its end. */
	assert_int_equal(nvp_read(qp, ns, 0, 8, end - 2048, on_done, &d), -EFAULT);
	assert_non_null(strstr(nvp_errmsg(), "runs past its DMA region"));
	assert_int_equal(nvp_write(qp, ns, 0, 8, end - 2048, on_done, &d), -EFAULT);
	rw_ok(qp, ns, 0, 8, 8, a + 4096 + 2048); /* back to the first region, across a page */
	assert_memory_equal(end - 4096, a + 4096 + 2048, 4096);
	assert_int_equal(nvp_read(qp, ns, 0, 1, heap, on_done, &d), -EFAULT);
	assert_non_null(strstr(nvp_errmsg(), "not in DMA memory"));
	assert_int_equal(nvp_read(qp, ns, 0, 1, a + 2, on_done, &d), -EINVAL);
	assert_int_equal(nvp_qpair_outstanding(qp), 0); /* no slot kept by a refused command */
	free(heap);
	nvp_dma_free(dev, b);
	nvp_dma_free(dev, a);
	nvp_qpair_destroy(qp);
	nvp_dev_close(dev);
}

/*
 * QD32 writes then reads with every byte checked, on a fresh qpair; returns
 * the qpair's counters. The sim only looks at a shadow doorbell after a
 * register write woke the queue: a register write the driver skipped when
 * EventIdx required it leaves commands unfetched, and this times out.
 */
static void shadow_io_round(struct nvp_dev *dev, unsigned seed, struct nvp_qpair_stats *st)
{
	struct nvp_qpair *qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 64 });
	const struct nvp_ns *ns = nvp_ns_get(dev, 1);
	uint8_t *w = nvp_dma_alloc(dev, 32 * 4096), *r = nvp_dma_alloc(dev, 32 * 4096);
	struct done d[32];

	assert_non_null(qp);
	assert_non_null(w);
	assert_non_null(r);
	/* One command first: a stale EventIdx of this qid (not reset to 0) would say it needs no register write. */
	memset(d, 0, sizeof(d));
	assert_int_equal(nvp_read(qp, ns, 0, 8, r, on_done, &d[0]), 0);
	assert_true(wait_done(qp, &d[0], 5000));
	for (unsigned round = 0; round < 20; round++) {
		for (int pass = 0; pass < 2; pass++) {
			memset(d, 0, sizeof(d));
			if (pass == 0)
				fill(w, 32 * 4096, seed + round);
			else
				memset(r, 0, 32 * 4096);
			for (unsigned i = 0; i < 32; i++) {
				uint64_t lba = (uint64_t)((round * 32 + i) % 200) * 8;
				int err = pass == 0 ? nvp_write(qp, ns, lba, 8, w + i * 4096, on_done, &d[i])
						    : nvp_read(qp, ns, lba, 8, r + i * 4096, on_done, &d[i]);

				assert_int_equal(err, 0);
				if (i % 5 == 4)
					nvp_qpair_poll(qp, 0); /* ring mid-batch: the sim may still be fetching */
			}
			for (unsigned i = 0; i < 32; i++) {
				assert_true(wait_done(qp, &d[i], 5000));
				assert_int_equal(d[i].err, 0);
			}
		}
		assert_memory_equal(w, r, 32 * 4096);
	}
	/* One more: the queue ends mid-ring, so stale shadow values of this qid would be non-zero. */
	memset(d, 0, sizeof(d));
	assert_int_equal(nvp_read(qp, ns, 0, 8, r, on_done, &d[0]), 0);
	assert_true(wait_done(qp, &d[0], 5000));
	assert_int_equal(d[0].err, 0);
	nvp_qpair_stats(qp, st);
	nvp_dma_free(dev, w);
	nvp_dma_free(dev, r);
	nvp_qpair_destroy(qp);
}

static struct nvp_dev *open_sim_with(const char *uri, unsigned shadow, unsigned policy)
{
	struct nvp_opts opts;
	struct nvp_dev *dev;

	nvp_opts_init(&opts);
	opts.shadow_doorbells = shadow;
	opts.reset_policy = policy;
	dev = nvp_dev_open(uri, &opts);
	if (!dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	return dev;
}

/*
 * Shadow doorbells: data intact, the sim picked values up from the shadow
 * buffer, and the driver skipped register writes EventIdx allowed; a second
 * qpair on the same queue id starts from zeroed shadow values and EventIdx.
 * Without the option, or with a controller that does not offer it, the
 * registers carry everything.
 */
static void test_shadow_doorbells(void **state)
{
	static const struct {
		const char *uri;
		unsigned shadow, expect_shadow;
	} cases[] = {
		{ "sim:size=4M", 1, 1 },
		{ "sim:size=4M", 0, 0 },
		{ "sim:size=4M,dbbuf=0", 1, 0 },
		{ "sim:size=4M,yield=1", 0, 0 }, /* the model thread never sleeps: same I/O */
	};
	(void)state;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct nvp_dev *dev = open_sim_with(cases[c].uri, cases[c].shadow, NVP_RESET_RESUBMIT);
		struct nvp_sim_stats *ss = calloc(1, sizeof(*ss));
		struct nvp_qpair_stats st;

		assert_non_null(ss);
		assert_int_equal(nvp_dev_shadow_doorbells(dev), cases[c].expect_shadow);
		shadow_io_round(dev, 1, &st);
		assert_int_equal(st.submitted, 1282);
		if (cases[c].expect_shadow) {
			/* EventIdx moves only as the sim fetches: most batches need no register write. */
			assert_true(st.sq_doorbells < st.submitted);
		} else {
			assert_true(st.sq_doorbells > 0);
			assert_int_equal(st.cq_doorbells, st.polls - st.polls_empty);
		}
		shadow_io_round(dev, 2, &st); /* same qid again: fresh shadow values */
		nvp_sim_stats(nvp_dev_sim(dev), ss);
		if (cases[c].expect_shadow)
			assert_true(ss->sq_shadow_reads > 0);
		else
			assert_int_equal(ss->sq_shadow_reads, 0);
		assert_int_equal(ss->admin_cmds[NVME_ADMIN_DBBUF_CONFIG], cases[c].shadow && cases[c].expect_shadow);
		free(ss);
		nvp_dev_close(dev);
	}
}

/* A reset makes the controller forget the buffers: the driver gives them again, I/O goes on. */
static void test_shadow_doorbells_after_reset(void **state)
{
	struct nvp_dev *dev = open_sim_with("sim:size=4M", 1, NVP_RESET_RESUBMIT);
	struct nvp_sim_stats *ss = calloc(1, sizeof(*ss));
	struct nvp_qpair_stats st;
	(void)state;

	assert_non_null(ss);
	shadow_io_round(dev, 3, &st);
	assert_int_equal(nvp_ctrl_reset(dev), 0);
	assert_int_equal(nvp_dev_shadow_doorbells(dev), 1);
	shadow_io_round(dev, 4, &st);
	nvp_sim_stats(nvp_dev_sim(dev), ss);
	assert_int_equal(ss->resets, 1); /* ours: at open the controller was disabled already */
	assert_int_equal(ss->admin_cmds[NVME_ADMIN_DBBUF_CONFIG], 2);
	free(ss);
	nvp_dev_close(dev);
}

/* Queues of 2 and 3 entries: every index wraps and the phase flips again and again. */
static void test_tiny_queues(void **state)
{
	struct nvp_dev *dev = open_sim("sim:size=1M", 0);
	const struct nvp_ns *ns = nvp_ns_get(dev, 1);
	uint8_t *w = nvp_dma_alloc(dev, 8192), *r = nvp_dma_alloc(dev, 8192);
	(void)state;

	for (unsigned depth = 2; depth <= 3; depth++) {
		struct nvp_qpair *qp = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = depth });
		struct done d[2];

		assert_non_null(qp);
		for (unsigned i = 0; i < 50; i++) {
			fill(w, 1024, i);
			rw_ok(qp, ns, 1, i, 2, w);
			rw_ok(qp, ns, 0, i, 2, r);
			assert_memory_equal(w, r, 1024);
		}
		/* depth - 1 in flight, then -EAGAIN. */
		memset(d, 0, sizeof(d));
		for (unsigned i = 0; i < depth - 1; i++)
			assert_int_equal(nvp_read(qp, ns, i, 1, r + 512 * i, on_done, &d[i]), 0);
		assert_int_equal(nvp_read(qp, ns, 0, 1, r, on_done, &d[0]), -EAGAIN);
		assert_non_null(strstr(nvp_errmsg(), "full"));
		for (unsigned i = 0; i < depth - 1; i++)
			assert_true(wait_done(qp, &d[i], 5000));
		nvp_qpair_destroy(qp);
	}
	nvp_dma_free(dev, w);
	nvp_dma_free(dev, r);
	nvp_dev_close(dev);
}

struct worker {
	struct nvp_dev *dev;
	unsigned id;
	unsigned rounds;
	int failed;
};

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	const struct nvp_ns *ns = nvp_ns_get(wk->dev, 1);
	struct nvp_qpair *qp = nvp_qpair_create(wk->dev, &(struct nvp_qpair_opts){ .depth = 8 });
	uint8_t *w = nvp_dma_alloc(wk->dev, 4096), *r = nvp_dma_alloc(wk->dev, 4096);

	if (!qp || !w || !r) {
		wk->failed = 1;
		return NULL;
	}
	for (unsigned i = 0; i < wk->rounds && !wk->failed; i++) {
		uint64_t lba = wk->id * 1000 + (i % 100) * 8;
		struct done d = { 0 };

		fill(w, 4096, wk->id * 1000 + i);
		if (nvp_write(qp, ns, lba, 8, w, on_done, &d) || !wait_done(qp, &d, 5000) || d.err)
			wk->failed = 1;
		memset(&d, 0, sizeof(d));
		if (nvp_read(qp, ns, lba, 8, r, on_done, &d) || !wait_done(qp, &d, 5000) || d.err ||
		    memcmp(w, r, 4096))
			wk->failed = 1;
	}
	nvp_dma_free(wk->dev, w);
	nvp_dma_free(wk->dev, r);
	nvp_qpair_destroy(qp);
	return NULL;
}

static void test_threads(void **state)
{
	struct nvp_dev *dev = open_sim("sim:nqueues=8", 0);
	pthread_t t[6];
	struct worker wk[6];
	(void)state;

	for (unsigned i = 0; i < 6; i++) {
		wk[i] = (struct worker){ .dev = dev, .id = i, .rounds = 300 };
		pthread_create(&t[i], NULL, worker_main, &wk[i]);
	}
	for (unsigned i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		assert_false(wk[i].failed);
	}
	/* The controller granted 8 queue pairs: the 9th is refused with EBUSY. */
	struct nvp_qpair *qps[9];

	for (unsigned i = 0; i < 8; i++)
		assert_non_null(qps[i] = nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 2 }));
	assert_null(nvp_qpair_create(dev, &(struct nvp_qpair_opts){ .depth = 2 }));
	assert_non_null(strstr(nvp_errmsg(), "in use"));
	for (unsigned i = 0; i < 8; i++)
		nvp_qpair_destroy(qps[i]);
	nvp_dev_close(dev);
}

/* ---- Injected faults ------------------------------------------------------ */

/*
 * A controller that never becomes ready within CAP.TO: the sim's ready_ms
 * above CAP.TO (to=1: 500 ms) is that, seen from the driver. (NEVER_READY
 * injection acts at the next enable, which needs the reset API.)
 */
static void test_fault_never_ready(void **state)
{
	uint64_t t0 = now_ms();
	(void)state;

	assert_null(nvp_dev_open("sim:to=1,ready_ms=3000", NULL));
	assert_int_equal(errno, ETIMEDOUT);
	assert_non_null(strstr(nvp_errmsg(), "CAP.TO"));
	assert_true(now_ms() - t0 < 2500); /* gave up after CAP.TO, not later */
}

static void test_fault_fatal(void **state)
{
	struct nvp_dev *dev = open_sim("sim", 1000);
	struct nvp_sim_fault f = { .type = NVP_SIM_FAULT_FATAL };
	uint32_t dw0;
	(void)state;

	assert_int_equal(nvp_sim_inject(nvp_dev_sim(dev), &f), 0);
	assert_int_equal(nvp_get_features(dev, NVME_FEAT_ARBITRATION, 0, &dw0), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "CSTS.CFS"));
	/* The controller was reset automatically: admin works again. */
	assert_int_equal(nvp_get_features(dev, NVME_FEAT_ARBITRATION, 0, &dw0), 0);
	nvp_dev_close(dev);
}

static void test_fault_admin_drop_times_out(void **state)
{
	struct nvp_dev *dev = open_sim("sim", 300);
	struct nvp_sim_fault f = {
		.type = NVP_SIM_FAULT_DROP,
		.match = { .filter = NVP_SIM_MATCH_ADMIN | NVP_SIM_MATCH_OPC, .opcode = NVME_ADMIN_GET_FEATURES },
	};
	uint32_t dw0;
	uint64_t t0;
	(void)state;

	assert_int_equal(nvp_sim_inject(nvp_dev_sim(dev), &f), 0);
	t0 = now_ms();
	assert_int_equal(nvp_get_features(dev, NVME_FEAT_ARBITRATION, 0, &dw0), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 300);
	assert_true(now_ms() - t0 < 3000);
	/* The admin queue still works afterwards. */
	assert_int_equal(nvp_get_features(dev, NVME_FEAT_ARBITRATION, 0, &dw0), 0);
	nvp_dev_close(dev);
}

static void test_fault_io_drop_cancelled_at_destroy(void **state)
{
	struct sim_io *fx = *state;
	struct nvp_sim_fault f = { .type = NVP_SIM_FAULT_DROP, .match = { .filter = NVP_SIM_MATCH_IO } };
	struct done d = { 0 };

	assert_int_equal(nvp_sim_inject(nvp_dev_sim(fx->dev), &f), 0);
	assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, fx->buf, on_done, &d), 0);
	assert_false(wait_done(fx->qp, &d, 200));
	assert_int_equal(nvp_qpair_outstanding(fx->qp), 1);
	nvp_qpair_destroy(fx->qp); /* the callback runs exactly once, with -ECANCELED */
	fx->qp = NULL; /* destroyed here: not again at teardown */
	assert_int_equal(d.n, 1);
	assert_int_equal(d.err, -ECANCELED);
}

static void test_fault_delay(void **state)
{
	struct sim_io *fx = *state;
	struct nvp_sim_fault f = { .type = NVP_SIM_FAULT_DELAY, .delay_ms = 150,
				   .match = { .filter = NVP_SIM_MATCH_IO } };
	struct done d = { 0 };
	uint64_t t0;

	assert_int_equal(nvp_sim_inject(nvp_dev_sim(fx->dev), &f), 0);
	t0 = now_ms();
	assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, fx->buf, on_done, &d), 0);
	assert_true(wait_done(fx->qp, &d, 5000));
	assert_true(now_ms() - t0 >= 150);
	assert_int_equal(d.err, 0);
}

static void test_fault_status(void **state)
{
	struct sim_io *fx = *state;
	struct nvp_sim_fault nth = {
		.type = NVP_SIM_FAULT_STATUS,
		.status = NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_READ_ERROR) | NVME_STATUS_DNR,
		.match = { .filter = NVP_SIM_MATCH_IO, .nth = 3 },
	};
	struct nvp_sim_fault range = {
		.type = NVP_SIM_FAULT_STATUS,
		.status = NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_WRITE_FAULT),
		.match = { .filter = NVP_SIM_MATCH_LBA, .nsid = 1, .slba = 500, .nlb = 10, .count = NVP_SIM_ALWAYS },
	};
	/* SCT is three bits: SCT 4 (reserved) with SC 0 is an error too. */
	struct nvp_sim_fault sct4 = {
		.type = NVP_SIM_FAULT_STATUS,
		.status = NVME_STATUS_CODE(4, 0),
		.match = { .filter = NVP_SIM_MATCH_IO, .nth = 1 },
	};

	assert_int_equal(nvp_sim_inject(nvp_dev_sim(fx->dev), &nth), 0);
	for (int i = 1; i <= 4; i++) {
		struct done d = { 0 };

		assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, fx->buf, on_done, &d), 0);
		assert_true(wait_done(fx->qp, &d, 5000));
		if (i == 3) {
			assert_int_equal(d.err, -EIO);
			assert_int_equal(d.status, nth.status);
		} else {
			assert_int_equal(d.err, 0);
		}
	}
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(fx->dev), &range), 0);
	for (uint64_t lba = 490; lba < 520; lba += 5) {
		struct done d = { 0 };

		assert_int_equal(nvp_write(fx->qp, fx->ns, lba, 5, fx->buf, on_done, &d), 0);
		assert_true(wait_done(fx->qp, &d, 5000));
		assert_int_equal(d.err, (lba + 5 > 500 && lba < 510) ? -EIO : 0);
	}
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(fx->dev), &sct4), 0);
	{
		struct done d = { 0 };

		assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, fx->buf, on_done, &d), 0);
		assert_true(wait_done(fx->qp, &d, 5000));
		assert_int_equal(d.err, -EIO);
		assert_int_equal(d.status, sct4.status);
	}
}

static void test_fault_bad_cid(void **state)
{
	struct sim_io *fx = *state;
	struct nvp_sim_fault f = { .type = NVP_SIM_FAULT_BAD_CID, .match = { .filter = NVP_SIM_MATCH_IO } };
	struct nvp_qpair_stats st;
	struct done d = { 0 };

	assert_int_equal(nvp_sim_inject(nvp_dev_sim(fx->dev), &f), 0);
	assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, fx->buf, on_done, &d), 0);
	assert_true(wait_done(fx->qp, &d, 5000));
	assert_int_equal(d.n, 1);
	assert_int_equal(d.err, 0);
	nvp_qpair_stats(fx->qp, &st);
	assert_int_equal(st.bad_cqes, 1);
	assert_int_equal(st.completed, 1);
}

static void test_fault_bad_phase(void **state)
{
	struct sim_io *fx = *state;
	struct nvp_sim_fault f = { .type = NVP_SIM_FAULT_BAD_PHASE, .match = { .filter = NVP_SIM_MATCH_IO } };
	struct done d = { 0 };

	/* An entry with a stale phase is never taken for a new one. */
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(fx->dev), &f), 0);
	assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, fx->buf, on_done, &d), 0);
	assert_false(wait_done(fx->qp, &d, 200));
	assert_int_equal(nvp_qpair_outstanding(fx->qp), 1);
	nvp_qpair_destroy(fx->qp);
	fx->qp = NULL; /* destroyed here: not again at teardown */
	assert_int_equal(d.err, -ECANCELED);
}

static void test_fault_surprise_removal(void **state)
{
	struct sim_io *fx = *state;
	struct nvp_sim_fault f = { .type = NVP_SIM_FAULT_REMOVE };
	struct done d = { 0 }, d2 = { 0 };
	uint32_t dw0;

	struct nvp_sim_fault hold = { .type = NVP_SIM_FAULT_DROP, .match = { .filter = NVP_SIM_MATCH_IO } };

	/* A command the controller holds, in flight when the device disappears. */
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(fx->dev), &hold), 0);
	assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, fx->buf, on_done, &d), 0);
	assert_false(wait_done(fx->qp, &d, 50));
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(fx->dev), &f), 0);
	/* The poll path notices within its health check: the command ends with -ENODEV. */
	assert_true(wait_done(fx->qp, &d, 2000));
	assert_int_equal(d.n, 1);
	assert_int_equal(d.err, -ENODEV);
	assert_true(nvp_dev_removed(fx->dev));
	assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, fx->buf, on_done, &d2), -ENODEV);
	assert_non_null(strstr(nvp_errmsg(), "removed"));
	assert_int_equal(nvp_get_features(fx->dev, NVME_FEAT_ARBITRATION, 0, &dw0), -ENODEV);
	assert_int_equal(nvp_ctrl_reset(fx->dev), -ENODEV);
	nvp_qpair_destroy(fx->qp);
	fx->qp = NULL; /* destroyed here: not again at teardown */
	assert_int_equal(d.n, 1); /* exactly once */
	assert_int_equal(d2.n, 0);
	/* The teardown's close still releases everything. */
}

/* ---- Timeouts, abort, reset ------------------------------------------------ */

static void test_timeout_abort(void **state)
{
	struct sim_io *fx = *state;
	struct nvp_sim_fault f = { .type = NVP_SIM_FAULT_DROP, .match = { .filter = NVP_SIM_MATCH_IO } };
	struct nvp_qpair_stats st;
	struct done d = { 0 };
	uint64_t t0 = now_ms();

	nvp_qpair_set_timeout(fx->qp, 100);
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(fx->dev), &f), 0);
	assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, fx->buf, on_done, &d), 0);
	/* The dropped command is aborted after 100 ms; the sim completes it with Abort Requested. */
	assert_true(wait_done(fx->qp, &d, 3000));
	assert_true(now_ms() - t0 >= 100);
	assert_int_equal(d.err, -ETIMEDOUT);
	assert_int_equal(d.status & NVME_STATUS_CODE_MASK, NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_ABORT_REQ));
	nvp_qpair_stats(fx->qp, &st);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.aborts, 1);
	assert_int_equal(st.recoveries, 0); /* the abort sufficed */
	/* Exactly once, and the qpair goes on working. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, fx->buf, on_done, &d), 0);
	assert_true(wait_done(fx->qp, &d, 3000));
	assert_int_equal(d.n, 1);
	assert_int_equal(d.err, 0);
}

struct reset_seen {
	int n, err;
};

static void on_reset(struct nvp_dev *dev, int err, void *arg)
{
	struct reset_seen *r = arg;
	(void)dev;

	r->n++;
	r->err = err;
}

/*
 * A completion the host can never see (stale phase): Abort finds nothing to
 * abort, so the controller is reset; the timed-out command ends with
 * -ETIMEDOUT and the others in flight are resubmitted and complete with
 * their data intact.
 */
static void test_timeout_reset_resubmit(void **state)
{
	struct nvp_dev *dev = open_sim("sim", 1000);
	const struct nvp_ns *ns = nvp_ns_get(dev, 1);
	struct nvp_qpair *qp = nvp_qpair_create(dev, NULL);
	uint8_t *w = nvp_dma_alloc(dev, 8 * 4096), *r = nvp_dma_alloc(dev, 8 * 4096);
	struct nvp_sim_fault phase = { .type = NVP_SIM_FAULT_BAD_PHASE,
				       .match = { .filter = NVP_SIM_MATCH_IO, .nth = 1 } };
	struct nvp_sim_fault slow = { .type = NVP_SIM_FAULT_DELAY, .delay_ms = 400,
				      .match = { .filter = NVP_SIM_MATCH_IO, .count = 7 } };
	struct reset_seen rs = { 0 };
	struct nvp_qpair_stats st;
	struct done d[8];
	(void)state;

	nvp_dev_set_reset_cb(dev, on_reset, &rs);
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(dev), &phase), 0);
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(dev), &slow), 0);
	memset(d, 0, sizeof(d));
	for (int i = 0; i < 8; i++) {
		/* The first command's deadline is short; the slow ones' are long: they are in flight at the reset. */
		nvp_qpair_set_timeout(qp, i == 0 ? 150 : 5000);
		fill(w + i * 4096, 4096, 100 + (unsigned)i);
		assert_int_equal(nvp_write(qp, ns, (uint64_t)i * 8, 8, w + i * 4096, on_done, &d[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		assert_true(wait_done(qp, &d[i], 5000));
	assert_int_equal(d[0].err, -ETIMEDOUT);
	assert_int_equal(rs.n, 1);
	assert_int_equal(rs.err, 0);
	nvp_qpair_stats(qp, &st);
	assert_int_equal(st.recoveries, 1);
	assert_true(st.resubmitted >= 1);
	for (int i = 1; i < 8; i++) {
		struct done rd = { 0 };

		assert_int_equal(d[i].n, 1);
		assert_int_equal(d[i].err, 0);
		assert_int_equal(nvp_read(qp, ns, (uint64_t)i * 8, 8, r, on_done, &rd), 0);
		assert_true(wait_done(qp, &rd, 3000));
		assert_int_equal(rd.err, 0);
		assert_memory_equal(r, w + i * 4096, 4096);
	}
	nvp_dma_free(dev, w);
	nvp_dma_free(dev, r);
	nvp_qpair_destroy(qp);
	nvp_dev_close(dev);
}

/* An explicit reset with I/O in flight, both policies (and resubmission with shadow doorbells). */
static void reset_with_io(unsigned policy, unsigned shadow)
{
	struct nvp_dev *dev;
	struct nvp_qpair *qp;
	const struct nvp_ns *ns;
	uint8_t *w, *r;
	struct nvp_sim_fault slow = { .type = NVP_SIM_FAULT_DELAY, .delay_ms = 300,
				      .match = { .filter = NVP_SIM_MATCH_IO, .count = NVP_SIM_ALWAYS } };
	struct done d[16];

	dev = open_sim_with("sim", shadow, policy);
	ns = nvp_ns_get(dev, 1);
	qp = nvp_qpair_create(dev, NULL);
	w = nvp_dma_alloc(dev, 16 * 512);
	r = nvp_dma_alloc(dev, 16 * 512);
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(dev), &slow), 0);
	memset(d, 0, sizeof(d));
	fill(w, 16 * 512, 77);
	for (int i = 0; i < 16; i++)
		assert_int_equal(nvp_write(qp, ns, (uint64_t)i, 1, w + i * 512, on_done, &d[i]), 0);
	nvp_qpair_ring(qp);
	assert_int_equal(nvp_ctrl_reset(dev), 0);
	nvp_sim_clear(nvp_dev_sim(dev));
	for (int i = 0; i < 16; i++) {
		assert_true(wait_done(qp, &d[i], 5000));
		assert_int_equal(d[i].n, 1);
		assert_int_equal(d[i].err, policy == NVP_RESET_RESUBMIT ? 0 : -EIO);
	}
	if (policy == NVP_RESET_RESUBMIT) {
		struct done rd = { 0 };

		assert_int_equal(nvp_read(qp, ns, 0, 16, r, on_done, &rd), 0);
		assert_true(wait_done(qp, &rd, 3000));
		assert_memory_equal(r, w, 16 * 512);
	}
	nvp_dma_free(dev, w);
	nvp_dma_free(dev, r);
	nvp_qpair_destroy(qp);
	nvp_dev_close(dev);
}

static void test_reset_resubmits(void **state)
{
	(void)state;
	reset_with_io(NVP_RESET_RESUBMIT, 0);
	reset_with_io(NVP_RESET_RESUBMIT, 1);
}

static void test_reset_fails_in_flight(void **state)
{
	(void)state;
	reset_with_io(NVP_RESET_FAIL, 0);
}

/* CSTS.CFS seen by the poll path: automatic reset, I/O goes on. */
static void test_fatal_in_io_path_recovers(void **state)
{
	struct sim_io *fx = *state;
	struct nvp_sim_fault f = { .type = NVP_SIM_FAULT_FATAL, .match = { .filter = NVP_SIM_MATCH_IO } };
	struct done d = { 0 };
	uint32_t dw0;

	fill(fx->buf, 512, 5);
	assert_int_equal(nvp_sim_inject(nvp_dev_sim(fx->dev), &f), 0);
	assert_int_equal(nvp_write(fx->qp, fx->ns, 9, 1, fx->buf, on_done, &d), 0);
	assert_true(wait_done(fx->qp, &d, 5000));
	assert_int_equal(d.err, 0); /* resubmitted after the reset */
	assert_int_equal(nvp_get_features(fx->dev, NVME_FEAT_ARBITRATION, 0, &dw0), 0);
}

/* Every public entry point takes NULL without crashing and says so. */
/* Open and reset run one table: reset is its tail from "disable", minus the open-only steps. */
static void test_ctrl_steps(void **state)
{
	const struct nvp_ctrl_ops *c = &nvp_ctrl_pcie;
	unsigned nreset = 0;
	(void)state;

	assert_true(c->reset_from < c->nr_steps);
	assert_string_equal(c->steps[c->reset_from].name, "disable");
	for (unsigned i = 0; i < c->nr_steps; i++) {
		assert_non_null(c->steps[i].open);
		if (i < c->reset_from)
			assert_null(c->steps[i].reset);
		nreset += c->steps[i].reset != NULL;
	}
	assert_int_equal(nreset, 6); /* disable, admin queue, enable, queues, doorbell buffer, AERs */
}

static void test_null_inputs(void **state)
{
	struct sim_io *fx = *state;
	struct nvme_sqe cmd = { .opc = NVME_CMD_FLUSH, .nsid = 1 };
	struct nvp_qpair_stats st;
	uint32_t dw0;

	assert_null(nvp_dev_open(NULL, NULL));
	assert_null(nvp_dev_id_ctrl(NULL));
	assert_int_equal(nvp_dev_max_xfer(NULL), 0);
	assert_int_equal(nvp_ns_list(NULL, NULL), 0);
	assert_null(nvp_ns_get(NULL, 1));
	assert_null(nvp_ns_info(NULL));
	assert_null(nvp_dma_alloc(NULL, 4096));
	assert_null(nvp_dma_alloc(fx->dev, 0));
	assert_null(nvp_qpair_create(NULL, NULL));
	assert_int_equal(nvp_read(NULL, fx->ns, 0, 1, fx->buf, on_done, NULL), -EINVAL);
	assert_int_equal(nvp_read(fx->qp, NULL, 0, 1, fx->buf, on_done, NULL), -EINVAL);
	assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, fx->buf, NULL, NULL), -EINVAL);
	assert_int_equal(nvp_read(fx->qp, fx->ns, 0, 1, NULL, on_done, NULL), -EFAULT);
	assert_int_equal(nvp_write(fx->qp, fx->ns, 0, 1, fx->buf + 1, on_done, NULL), -EINVAL);
	assert_int_equal(nvp_flush(fx->qp, NULL, on_done, NULL), -EINVAL);
	assert_int_equal(nvp_write_zeroes(NULL, fx->ns, 0, 1, on_done, NULL), -EINVAL);
	assert_int_equal(nvp_dsm(fx->qp, fx->ns, NULL, 1, on_done, NULL), -EINVAL);
	assert_int_equal(nvp_dsm(fx->qp, fx->ns, (void *)fx->buf, 0, on_done, NULL), -EINVAL);
	assert_int_equal(nvp_dsm(fx->qp, fx->ns, (void *)fx->buf, 257, on_done, NULL), -EINVAL);
	assert_int_equal(nvp_io_cmd(fx->qp, NULL, NULL, 0, on_done, NULL), -EINVAL);
	assert_int_equal(nvp_io_cmd(fx->qp, &cmd, fx->buf, 1u << 30, on_done, NULL), -E2BIG);
	assert_int_equal(nvp_admin_cmd(NULL, &cmd, NULL, 0, NULL), -EINVAL);
	assert_int_equal(nvp_get_features(NULL, 1, 0, &dw0), -EINVAL);
	assert_int_equal(nvp_get_log_page(fx->dev, 0, NVME_LOG_SMART, NULL, 512), -EINVAL);
	assert_int_equal(nvp_ctrl_reset(NULL), -EINVAL);
	assert_int_equal(nvp_admin_poll(NULL), -EINVAL);
	assert_int_equal(nvp_dev_removed(NULL), 0);
	assert_int_equal(nvp_qpair_outstanding(NULL), 0);
	nvp_qpair_stats(NULL, &st);
	nvp_qpair_set_timeout(NULL, 5);
	nvp_opts_init(NULL);
	nvp_dma_free(fx->dev, NULL);
	nvp_dma_free(fx->dev, fx->buf + 4); /* not an allocation: logged, ignored */
	nvp_qpair_destroy(NULL);
	nvp_dev_close(NULL);
	assert_int_equal(nvp_qpair_outstanding(fx->qp), 0); /* nothing got posted */
}

/* ---- Asynchronous events ---------------------------------------------------- */

struct events_seen {
	int n;
	struct nvp_event last;
};

static void on_event(struct nvp_dev *dev, const struct nvp_event *ev, void *arg)
{
	struct events_seen *e = arg;
	(void)dev;

	e->n++;
	e->last = *ev;
}

static int poll_events(struct nvp_dev *dev, struct events_seen *e, int want)
{
	uint64_t end = now_ms() + 3000;

	while (e->n < want && now_ms() < end) {
		assert_true(nvp_admin_poll(dev) >= 0);
		sched_yield();
	}
	return e->n;
}

/*
 * The kernel asks for the device back (vfio's device request): the first
 * poll that sees it releases the device; every command in flight, on every
 * qpair, ends with -ENODEV; the application hears of it once through
 * nvp_admin_poll(); what it holds stays valid until close (ASan checks).
 */
static void test_removal_requested(void **state)
{
	struct nvp_dev *dev = open_sim("sim", 300);
	struct nvp_sim *sim = nvp_dev_sim(dev);
	const struct nvp_ns *ns = nvp_ns_get(dev, 1);
	struct nvp_qpair *qp1 = nvp_qpair_create(dev, NULL), *qp2 = nvp_qpair_create(dev, NULL);
	uint8_t *buf = nvp_dma_alloc(dev, 4096);
	struct nvp_sim_fault hold = { .type = NVP_SIM_FAULT_DROP,
				      .match = { .filter = NVP_SIM_MATCH_IO, .count = NVP_SIM_ALWAYS } };
	struct nvp_sim_fault ask = { .type = NVP_SIM_FAULT_RELEASE_REQUEST };
	struct done d1 = { 0 }, d2 = { 0 }, d3 = { 0 };
	struct events_seen e = { 0 };
	(void)state;

	nvp_dev_set_event_cb(dev, on_event, &e);
	rw_ok(qp1, ns, 1, 0, 1, buf); /* the device works before the request */
	assert_int_equal(nvp_sim_inject(sim, &hold), 0);
	assert_int_equal(nvp_read(qp1, ns, 0, 1, buf, on_done, &d1), 0);
	assert_int_equal(nvp_read(qp2, ns, 1, 1, buf, on_done, &d2), 0);
	assert_false(wait_done(qp1, &d1, 20));
	assert_false(nvp_dev_removed(dev));

	assert_int_equal(nvp_sim_inject(sim, &ask), 0);
	/* qp1's health check sees the request and releases the device. */
	assert_true(wait_done(qp1, &d1, 2000));
	assert_int_equal(d1.err, -ENODEV);
	assert_true(nvp_dev_removed(dev));
	assert_int_equal(nvp_sim_inject(sim, &hold), -ENODEV); /* the sim was released: no more faults */
	/* qp2 never looked at the request itself: it learns at its next check. */
	assert_true(wait_done(qp2, &d2, 2000));
	assert_int_equal(d2.err, -ENODEV);
	assert_int_equal(nvp_read(qp2, ns, 0, 1, buf, on_done, &d3), -ENODEV);
	assert_non_null(strstr(nvp_errmsg(), "removed"));

	/* One event, kind REMOVAL, then the plain -ENODEV of a removed device. */
	assert_int_equal(nvp_admin_poll(dev), -ENODEV);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.last.kind, NVP_EVENT_REMOVAL);
	assert_int_equal(nvp_admin_poll(dev), -ENODEV);
	assert_int_equal(e.n, 1);

	/* Held memory stays usable; new DMA memory cannot be mapped for a released device. */
	memset(buf, 0x5a, 4096);
	assert_null(nvp_dma_alloc(dev, 8u << 20));
	assert_int_equal(errno, ENODEV);
	assert_int_equal(nvp_ctrl_reset(dev), -ENODEV);
	nvp_qpair_destroy(qp1);
	nvp_qpair_destroy(qp2);
	assert_int_equal(d1.n + d2.n + d3.n, 2); /* each exactly once */
	nvp_dma_free(dev, buf);
	nvp_dev_close(dev);
}

static void test_async_events(void **state)
{
	struct nvp_dev *dev = open_sim("sim:ns=2", 0);
	struct nvp_sim *sim = nvp_dev_sim(dev);
	const struct nvp_ns *ns2 = nvp_ns_get(dev, 2);
	struct nvp_sim_fault smart = { .type = NVP_SIM_FAULT_AER, .aer_type = NVME_AER_SMART, .aer_info = 1,
				       .aer_lid = NVME_LOG_SMART };
	struct nvp_sim_fault nschg = { .type = NVP_SIM_FAULT_AER, .aer_type = NVME_AER_NOTICE, .aer_info = 0,
				       .aer_lid = NVME_LOG_CHANGED_NS };
	struct nvp_sim_stats before, after;
	struct events_seen e = { 0 };
	(void)state;

	nvp_dev_set_event_cb(dev, on_event, &e);
	assert_int_equal(nvp_admin_poll(dev), 0); /* nothing happened yet */
	/* Armed at open: the model fetches them asynchronously. */
	for (uint64_t end = now_ms() + 2000; now_ms() < end; sched_yield()) {
		nvp_sim_stats(sim, &before);
		if (before.admin_cmds[NVME_ADMIN_ASYNC_EVENT] >= 1)
			break;
	}
	assert_true(before.admin_cmds[NVME_ADMIN_ASYNC_EVENT] >= 1);
	nanosleep(&(struct timespec){ 0, 50000000 }, NULL); /* all of them, not the first only */
	nvp_sim_stats(sim, &before);
	unsigned armed = (unsigned)before.admin_cmds[NVME_ADMIN_ASYNC_EVENT];

	assert_int_equal(nvp_sim_inject(sim, &smart), 0);
	assert_int_equal(poll_events(dev, &e, 1), 1);
	assert_int_equal(e.last.type, NVME_AER_SMART);
	assert_int_equal(e.last.info, 1);
	assert_int_equal(e.last.lid, NVME_LOG_SMART);
	/* The log page was read (that re-enables the event) and another AER posted. */
	for (uint64_t end = now_ms() + 2000; now_ms() < end; sched_yield()) {
		nvp_sim_stats(sim, &after);
		if (after.admin_cmds[NVME_ADMIN_ASYNC_EVENT] > armed)
			break;
	}
	assert_int_equal(after.admin_cmds[NVME_ADMIN_GET_LOG_PAGE], before.admin_cmds[NVME_ADMIN_GET_LOG_PAGE] + 1);
	assert_int_equal(after.admin_cmds[NVME_ADMIN_ASYNC_EVENT], armed + 1);

	/* Namespace Attribute Changed: the list is read again; handles stay valid. */
	before = after;
	assert_int_equal(nvp_sim_inject(sim, &nschg), 0);
	assert_int_equal(poll_events(dev, &e, 2), 2);
	assert_int_equal(e.last.type, NVME_AER_NOTICE);
	nvp_sim_stats(sim, &after);
	assert_true(after.admin_cmds[NVME_ADMIN_IDENTIFY] >= before.admin_cmds[NVME_ADMIN_IDENTIFY] + 3);
	assert_ptr_equal(nvp_ns_get(dev, 2), ns2);
	assert_int_equal(nvp_ns_list(dev, NULL), 2);

	/* Still armed after a reset. */
	assert_int_equal(nvp_ctrl_reset(dev), 0);
	assert_int_equal(nvp_sim_inject(sim, &smart), 0);
	assert_int_equal(poll_events(dev, &e, 3), 3);
	nvp_dev_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_close_identify),
		cmocka_unit_test(test_bad_uri_and_options),
		cmocka_unit_test(test_admin_commands),
		cmocka_unit_test(test_io_commands),
		cmocka_unit_test(test_buffer_regions),
		cmocka_unit_test(test_tiny_queues),
		cmocka_unit_test(test_shadow_doorbells),
		cmocka_unit_test(test_shadow_doorbells_after_reset),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_fault_never_ready),
		cmocka_unit_test(test_fault_fatal),
		cmocka_unit_test(test_fault_admin_drop_times_out),
		cmocka_unit_test_setup_teardown(test_fault_io_drop_cancelled_at_destroy, setup_sim_io_admin_300ms, teardown_sim_io),
		cmocka_unit_test_setup_teardown(test_fault_delay, setup_sim_io, teardown_sim_io),
		cmocka_unit_test_setup_teardown(test_fault_status, setup_sim_io, teardown_sim_io),
		cmocka_unit_test_setup_teardown(test_fault_bad_cid, setup_sim_io, teardown_sim_io),
		cmocka_unit_test_setup_teardown(test_fault_bad_phase, setup_sim_io_admin_300ms, teardown_sim_io),
		cmocka_unit_test_setup_teardown(test_fault_surprise_removal, setup_sim_io_admin_300ms, teardown_sim_io),
		cmocka_unit_test_setup_teardown(test_timeout_abort, setup_sim_io_admin_1s, teardown_sim_io),
		cmocka_unit_test(test_timeout_reset_resubmit),
		cmocka_unit_test(test_reset_resubmits),
		cmocka_unit_test(test_reset_fails_in_flight),
		cmocka_unit_test_setup_teardown(test_fatal_in_io_path_recovers, setup_sim_io_admin_1s, teardown_sim_io),
		cmocka_unit_test(test_async_events),
		cmocka_unit_test(test_removal_requested),
		cmocka_unit_test(test_ctrl_steps),
		cmocka_unit_test_setup_teardown(test_null_inputs, setup_sim_io, teardown_sim_io),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
