/*
 * Integration test against a real controller (QEMU's emulated NVMe in the
 * guest, through vfio-pci): identity, data at every size and offset,
 * QD 32 mixed I/O with every completion accounted for, bad input, and data
 * surviving close and reopen.
 *
 * usage: vm_rw [URI [EXPECTED_SERIAL EXPECTED_NSZE]] [--shadow-doorbells]
 * URI defaults to "sim", so the unit suite runs it with no guest. With
 * --shadow-doorbells every test runs with them, and the controller must
 * take them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>
#include <cmocka.h>

#include <nvpoll.h>

#include "sync_io.h"

static const char *uri;
static const char *want_serial;
static int want_shadow;
static uint64_t want_nsze;

struct env {
	struct nvp_dev *dev;
	const struct nvp_ns *ns;
	const struct nvp_ns_info *info;
	struct nvp_qpair *qp;
	size_t max_xfer;
	uint8_t *wbuf, *rbuf;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill_random(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = rnd();

		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

static struct nvp_dev *open_dev(void)
{
	struct nvp_opts opts;
	struct nvp_dev *dev;

	nvp_opts_init(&opts);
	opts.shadow_doorbells = (unsigned)want_shadow;
	dev = nvp_dev_open(uri, &opts);
	if (!dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	assert_int_equal(nvp_dev_shadow_doorbells(dev), want_shadow);
	return dev;
}

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	e->dev = open_dev();
	e->ns = nvp_ns_get(e->dev, 1);
	assert_non_null(e->ns);
	e->info = nvp_ns_info(e->ns);
	e->qp = nvp_qpair_create(e->dev, &(struct nvp_qpair_opts){ .depth = 64 });
	if (!e->qp)
		fail_msg("qpair: %s", nvp_errmsg());
	e->max_xfer = nvp_dev_max_xfer(e->dev);
	/* Room for the largest transfer plus a page of misalignment. */
	e->wbuf = nvp_dma_alloc(e->dev, e->max_xfer + 8192);
	e->rbuf = nvp_dma_alloc(e->dev, e->max_xfer + 8192);
	assert_non_null(e->wbuf);
	assert_non_null(e->rbuf);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	nvp_dma_free(e->dev, e->wbuf);
	nvp_dma_free(e->dev, e->rbuf);
	nvp_qpair_destroy(e->qp);
	nvp_dev_close(e->dev);
	free(e);
	return 0;
}

/* Poll until @d has completed, at most 30 s (TCG is slow, never that slow). */
static void wait_or_fail(struct nvp_qpair *qp, struct done *d)
{
	if (!wait_done(qp, d, 30000))
		fail_msg("command did not complete in 30 s");
}

static void sync_rw(struct env *e, int write, uint64_t slba, uint32_t nlb, void *buf)
{
	struct done d = { 0 };
	int err = write ? nvp_write(e->qp, e->ns, slba, nlb, buf, on_done, &d)
			: nvp_read(e->qp, e->ns, slba, nlb, buf, on_done, &d);

	if (err)
		fail_msg("%s slba %llu nlb %u: %d %s", write ? "write" : "read", (unsigned long long)slba, nlb,
			 err, nvp_errmsg());
	wait_or_fail(e->qp, &d);
	if (d.err) {
		char s[96];

		fail_msg("%s slba %llu nlb %u: %s", write ? "write" : "read", (unsigned long long)slba, nlb,
			 nvp_status_format(d.status, s, sizeof(s)));
	}
}

static void test_identify(void **state)
{
	struct env *e = *state;
	const struct nvme_id_ctrl *id = nvp_dev_id_ctrl(e->dev);
	char sn[21] = { 0 };

	memcpy(sn, id->sn, 20);
	for (int i = 19; i >= 0 && sn[i] == ' '; i--)
		sn[i] = 0;
	if (want_serial)
		assert_string_equal(sn, want_serial);
	if (want_nsze)
		assert_int_equal(e->info->nsze, want_nsze);
	assert_true(id->nn >= 1);
	assert_true(e->info->lba_size == 512 || e->info->lba_size == 4096);
	assert_true(e->max_xfer >= 4096);
	printf("# %s: sn %s, nsze %llu, lba %u, max_xfer %zu\n", uri, sn, (unsigned long long)e->info->nsze,
	       e->info->lba_size, e->max_xfer);
}

/* Write random data, read it back, compare: sizes 1 LBA .. MDTS, buffers at several offsets. */
static void test_sizes_and_offsets(void **state)
{
	struct env *e = *state;
	const uint32_t lbs = e->info->lba_size;
	const uint32_t max_nlb = (uint32_t)(e->max_xfer / lbs);
	const uint64_t nsze = e->info->nsze;
	static const size_t buf_offs[] = { 0, 4, 512, 4092 };
	uint32_t sizes[64];
	unsigned ns = 0, checked = 0;

	/* 1, 2, 3, every power of two and its neighbours, up to MDTS. */
	for (uint32_t n = 1; n <= max_nlb && ns < 60; n = n < 4 ? n + 1 : n * 2) {
		sizes[ns++] = n;
		if (n > 4 && n - 1 != sizes[ns - 2])
			sizes[ns++] = n - 1;
		if (n > 4 && n + 1 <= max_nlb)
			sizes[ns++] = n + 1;
	}
	sizes[ns++] = max_nlb;

	for (unsigned i = 0; i < ns; i++) {
		for (size_t o = 0; o < sizeof(buf_offs) / sizeof(buf_offs[0]); o++) {
			uint32_t nlb = sizes[i];
			size_t len = (size_t)nlb * lbs;
			uint64_t lbas[3] = { 0, rnd() % (nsze - nlb + 1), nsze - nlb }; /* first, random, ending at the last LBA */
			uint8_t *w = e->wbuf + buf_offs[o], *r = e->rbuf + buf_offs[(o + 1) % 4];

			for (int l = 0; l < 3; l++) {
				fill_random(w, len);
				memset(r, 0xa5, len);
				sync_rw(e, 1, lbas[l], nlb, w);
				sync_rw(e, 0, lbas[l], nlb, r);
				if (memcmp(w, r, len))
					fail_msg("data mismatch: slba %llu nlb %u wbuf+%zu", (unsigned long long)lbas[l],
						 nlb, buf_offs[o]);
				checked++;
			}
		}
	}
	printf("# %u write/read/compare rounds, %u sizes 1..%u blocks\n", checked, ns, max_nlb);
}

static void test_bad_input(void **state)
{
	struct env *e = *state;
	const uint64_t nsze = e->info->nsze;
	struct done d = { 0 };

	assert_int_equal(nvp_read(e->qp, e->ns, nsze, 1, e->rbuf, on_done, &d), -ERANGE);
	assert_non_null(strstr(nvp_errmsg(), "past the end"));
	assert_int_equal(nvp_read(e->qp, e->ns, nsze - 1, 2, e->rbuf, on_done, &d), -ERANGE);
	assert_int_equal(nvp_write(e->qp, e->ns, UINT64_MAX, 2, e->wbuf, on_done, &d), -ERANGE);
	assert_int_equal(nvp_read(e->qp, e->ns, 0, 0, e->rbuf, on_done, &d), -EINVAL);
	assert_int_equal(nvp_read(e->qp, e->ns, 0, (uint32_t)(e->max_xfer / e->info->lba_size) + 1, e->rbuf,
			 on_done, &d), -E2BIG);
	assert_int_equal(nvp_read(e->qp, e->ns, 0, 1, e->rbuf + 2, on_done, &d), -EINVAL);
	{
		static uint8_t not_dma[4096];

		assert_int_equal(nvp_read(e->qp, e->ns, 0, 1, not_dma, on_done, &d), -EFAULT);
		assert_non_null(strstr(nvp_errmsg(), "nvp_dma_alloc"));
	}
	assert_null(nvp_ns_get(e->dev, 0xfffffff0));
	assert_int_equal(d.n, 0);
	assert_int_equal(nvp_qpair_outstanding(e->qp), 0);
}

/* Commands beyond what the drive answers get the controller's status through the callback. */
static void test_other_commands(void **state)
{
	struct env *e = *state;
	const uint32_t lbs = e->info->lba_size;
	struct nvme_dsm_range *range = nvp_dma_alloc(e->dev, 4096);
	struct nvme_sqe flush = { .opc = NVME_CMD_FLUSH, .nsid = 1 };
	struct done d = { 0 };

	fill_random(e->wbuf, 8 * lbs);
	sync_rw(e, 1, 100, 8, e->wbuf);
	assert_int_equal(nvp_write_zeroes(e->qp, e->ns, 100, 8, on_done, &d), 0);
	wait_or_fail(e->qp, &d);
	assert_int_equal(d.err, 0);
	memset(e->rbuf, 0xff, 8 * lbs);
	sync_rw(e, 0, 100, 8, e->rbuf);
	for (size_t i = 0; i < 8 * lbs; i++)
		if (e->rbuf[i])
			fail_msg("write zeroes: byte %zu is %#x", i, e->rbuf[i]);

	memset(&d, 0, sizeof(d));
	assert_int_equal(nvp_flush(e->qp, e->ns, on_done, &d), 0);
	wait_or_fail(e->qp, &d);
	assert_int_equal(d.err, 0);

	memset(&d, 0, sizeof(d));
	assert_int_equal(nvp_io_cmd(e->qp, &flush, NULL, 0, on_done, &d), 0);
	wait_or_fail(e->qp, &d);
	assert_int_equal(d.err, 0);

	memset(&d, 0, sizeof(d));
	range->slba = 200;
	range->nlb = 16;
	assert_int_equal(nvp_dsm(e->qp, e->ns, range, 1, on_done, &d), 0);
	wait_or_fail(e->qp, &d);
	assert_int_equal(d.err, 0);
	range->slba = e->info->nsze - 1;
	assert_int_equal(nvp_dsm(e->qp, e->ns, range, 1, on_done, &d), -ERANGE);

	/*
	 * Compare (blocks 100..107 are zeroes now): the controller's verdict,
	 * except on the kernel's block configs, which cannot pass it and say
	 * which config can; a controller without Compare (ONCS bit 0 clear,
	 * such as Linux's nvmet) answers Invalid Command Opcode.
	 */
	{
		const char *be = nvp_dev_backend(e->dev);
		int block = !strcmp(be, "io_uring") || !strcmp(be, "libaio") || !strcmp(be, "psync");
		int no_compare = !block && !(nvp_dev_id_ctrl(e->dev)->oncs & NVME_ONCS_COMPARE);
		struct nvme_sqe cmp = { .opc = NVME_CMD_COMPARE, .nsid = e->info->nsid, .cdw10 = 100, .cdw12 = 7 };

		memset(e->wbuf, 0, 8 * lbs);
		memset(&d, 0, sizeof(d));
		assert_int_equal(nvp_io_cmd(e->qp, &cmp, e->wbuf, 8 * lbs, on_done, &d), 0);
		wait_or_fail(e->qp, &d);
		if (block) {
			assert_int_equal(d.err, -EOPNOTSUPP);
			assert_non_null(strstr(nvp_errmsg(), "config io_uring_cmd passes any NVMe command"));
		} else if (no_compare) {
			assert_int_equal(d.err, -EIO);
			assert_int_equal(d.status & NVME_STATUS_CODE_MASK,
					 NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE));
			printf("# Compare: the controller has none (ONCS %#x): Invalid Command Opcode\n",
			       nvp_dev_id_ctrl(e->dev)->oncs);
		} else {
			assert_int_equal(d.err, 0);
			e->wbuf[lbs + 3] = 1;
			memset(&d, 0, sizeof(d));
			assert_int_equal(nvp_io_cmd(e->qp, &cmp, e->wbuf, 8 * lbs, on_done, &d), 0);
			wait_or_fail(e->qp, &d);
			assert_int_equal(d.err, -EIO);
			assert_int_equal(d.status & NVME_STATUS_CODE_MASK,
					 NVME_STATUS_CODE(NVME_SCT_MEDIA, NVME_SC_COMPARE_FAILED));
		}
	}

	/* A command the controller rejects: Read of namespace 0xfffffff0. */
	struct nvme_sqe bad = { .opc = NVME_CMD_READ, .nsid = 0xfffffff0 };

	memset(&d, 0, sizeof(d));
	assert_int_equal(nvp_io_cmd(e->qp, &bad, e->rbuf, lbs, on_done, &d), 0);
	wait_or_fail(e->qp, &d);
	assert_int_equal(d.err, -EIO);
	assert_int_equal(d.status & NVME_STATUS_CODE_MASK, NVME_STATUS_CODE(NVME_SCT_GENERIC, NVME_SC_INVALID_NS));
	nvp_dma_free(e->dev, range);
}

/*
 * QD 32 of mixed I/O for a few seconds. Writes go to distinct LBAs of a
 * window with a per-LBA generation; reads of idle LBAs check the data is the
 * last generation written. Every submission must complete exactly once.
 */
#define MIX_QD 32
#define MIX_LBAS 1024

struct mix;
struct mix_io {
	struct mix *m;
	uint64_t lba;
	int write;
	uint8_t *buf;
};

struct mix {
	struct env *e;
	uint32_t gen[MIX_LBAS];
	uint8_t busy[MIX_LBAS];
	struct mix_io io[MIX_QD];
	uint64_t submitted, completed, reads_checked, errors;
	int stop, reset_done;
};

static int mix_reset; /* reset the controller in the middle of the run */

static void stamp(uint8_t *buf, uint32_t lbs, uint64_t lba, uint32_t gen)
{
	for (uint32_t i = 0; i < lbs; i += 16) {
		memcpy(buf + i, &lba, 8);
		memcpy(buf + i + 8, &gen, 4);
		memcpy(buf + i + 12, &i, 4);
	}
}

static void mix_submit(struct mix *m, struct mix_io *io);

static void mix_done(void *arg, int err, const struct nvme_cqe *cqe)
{
	struct mix_io *io = arg;
	struct mix *m = io->m;
	uint32_t lbs = m->e->info->lba_size;
	uint8_t *expect = malloc(lbs);

	m->completed++;
	if (err && m->errors++ < 4)
		print_error("mix: %s of LBA %llu failed: %d (%s), status %#x\n", io->write ? "write" : "read",
			    (unsigned long long)io->lba, err, nvp_errmsg(), nvp_cqe_status(cqe));
	if (!io->write && !err) {
		stamp(expect, lbs, io->lba, m->gen[io->lba]);
		if (memcmp(expect, io->buf, lbs)) {
			print_error("mix: LBA %llu does not hold generation %u\n", (unsigned long long)io->lba,
				    m->gen[io->lba]);
			m->errors++;
		}
		m->reads_checked++;
	}
	free(expect);
	m->busy[io->lba] = 0;
	if (!m->stop)
		mix_submit(m, io);
}

static void mix_submit(struct mix *m, struct mix_io *io)
{
	struct env *e = m->e;
	uint32_t lbs = e->info->lba_size;
	uint64_t lba;
	int err;

	do
		lba = rnd() % MIX_LBAS;
	while (m->busy[lba]);
	m->busy[lba] = 1;
	io->lba = lba;
	io->write = (int)(rnd() & 1);
	if (io->write)
		stamp(io->buf, lbs, lba, ++m->gen[lba]);
	err = io->write ? nvp_write(e->qp, e->ns, lba, 1, io->buf, mix_done, io)
			: nvp_read(e->qp, e->ns, lba, 1, io->buf, mix_done, io);
	if (err)
		fail_msg("mix submit: %s", nvp_errmsg());
	m->submitted++;
}

static void test_qd32_mixed(void **state)
{
	struct env *e = *state;
	uint32_t lbs = e->info->lba_size;
	struct mix *m = calloc(1, sizeof(*m));
	uint8_t *bufs = nvp_dma_alloc(e->dev, (size_t)MIX_QD * lbs);
	uint8_t *init = nvp_dma_alloc(e->dev, (size_t)MIX_LBAS * lbs);
	time_t end;

	assert_non_null(bufs);
	assert_non_null(init);
	m->e = e;
	/* Generation 0 everywhere first, so every read has something to check. */
	for (uint64_t l = 0; l < MIX_LBAS; l++)
		stamp(init + l * lbs, lbs, l, 0);
	for (uint64_t l = 0; l < MIX_LBAS; l += e->max_xfer / lbs) {
		uint32_t n = (uint32_t)(e->max_xfer / lbs);

		sync_rw(e, 1, l, n > MIX_LBAS - l ? (uint32_t)(MIX_LBAS - l) : n, init + l * lbs);
	}
	for (int i = 0; i < MIX_QD; i++) {
		m->io[i].m = m;
		m->io[i].buf = bufs + (size_t)i * lbs;
		mix_submit(m, &m->io[i]);
	}
	assert_int_equal(nvp_qpair_outstanding(e->qp), MIX_QD);
	end = time(NULL) + 3;
	while (time(NULL) < end) {
		nvp_qpair_poll(e->qp, 0);
		/* Halfway, reset the controller under QD 32: nothing may be lost or wrong. */
		if (mix_reset && !m->reset_done && time(NULL) >= end - 2) {
			assert_int_equal(nvp_ctrl_reset(e->dev), 0);
			m->reset_done = 1;
		}
	}
	m->stop = 1;
	end = time(NULL) + 30;
	while (nvp_qpair_outstanding(e->qp) && time(NULL) < end)
		nvp_qpair_poll(e->qp, 0);

	printf("# QD%d mixed: %llu submitted, %llu completed, %llu reads verified\n", MIX_QD,
	       (unsigned long long)m->submitted, (unsigned long long)m->completed,
	       (unsigned long long)m->reads_checked);
	assert_int_equal(nvp_qpair_outstanding(e->qp), 0);
	assert_int_equal(m->submitted, m->completed);
	assert_int_equal(m->errors, 0);
	assert_true(m->reads_checked > 0);
	struct nvp_qpair_stats st;

	nvp_qpair_stats(e->qp, &st);
	assert_int_equal(st.bad_cqes, 0);
	if (mix_reset) {
		printf("# reset under load: %llu commands resubmitted\n", (unsigned long long)st.resubmitted);
		/* nvpoll's own driver re-creates the queues; a transport's kernel keeps its own (no CAP of ours). */
		assert_int_equal(st.recoveries, nvp_dev_cap(e->dev) ? 1 : 0);
	}
	/* Every LBA holds the last generation acknowledged. */
	for (uint64_t l = 0; l < MIX_LBAS; l++) {
		uint8_t expect[4096];

		sync_rw(e, 0, l, 1, e->rbuf);
		stamp(expect, lbs, l, m->gen[l]);
		if (memcmp(expect, e->rbuf, lbs))
			fail_msg("LBA %llu lost generation %u", (unsigned long long)l, m->gen[l]);
	}

	/* Close and reopen: a clean shutdown keeps every acknowledged write. */
	if (strncmp(uri, "sim", 3) == 0) {
		/* Each open of "sim" is a new controller with empty RAM: nothing to compare. */
		printf("# reopen check not applicable to the sim (its storage lives while open)\n");
		nvp_dma_free(e->dev, bufs);
		nvp_dma_free(e->dev, init);
		free(m);
		return;
	}
	uint32_t *gen = malloc(sizeof(m->gen));

	memcpy(gen, m->gen, sizeof(m->gen));
	nvp_dma_free(e->dev, bufs);
	nvp_dma_free(e->dev, init);
	env_teardown(state);
	env_setup(state);
	e = *state;
	for (uint64_t l = 0; l < MIX_LBAS; l++) {
		uint8_t expect[4096];

		sync_rw(e, 0, l, 1, e->rbuf);
		stamp(expect, lbs, l, gen[l]);
		if (memcmp(expect, e->rbuf, lbs))
			fail_msg("after reopen: LBA %llu lost generation %u", (unsigned long long)l, gen[l]);
	}
	free(gen);
	free(m);
}

static void test_qd32_reset_midway(void **state)
{
	mix_reset = 1;
	test_qd32_mixed(state);
	mix_reset = 0;
}

static void test_many_qpairs(void **state)
{
	struct env *e = *state;
	struct nvp_qpair *qps[8];
	struct done d[8];

	memset(d, 0, sizeof(d));
	for (int i = 0; i < 8; i++) {
		qps[i] = nvp_qpair_create(e->dev, &(struct nvp_qpair_opts){ .depth = (unsigned)(2 + i * 7) });
		if (!qps[i])
			fail_msg("qpair %d: %s", i, nvp_errmsg());
		assert_int_equal(nvp_read(qps[i], e->ns, (uint64_t)i, 1, e->rbuf + i * 4096, on_done, &d[i]), 0);
	}
	for (int i = 7; i >= 0; i--) {
		wait_or_fail(qps[i], &d[i]);
		assert_int_equal(d[i].err, 0);
		nvp_qpair_destroy(qps[i]);
	}
	/* Depth limits are checked. */
	assert_null(nvp_qpair_create(e->dev, &(struct nvp_qpair_opts){ .depth = 1 }));
	assert_null(nvp_qpair_create(e->dev, &(struct nvp_qpair_opts){ .depth = nvp_dev_max_queue_depth(e->dev) + 1 }));
	assert_non_null(strstr(nvp_errmsg(), "MQES"));
}

static void test_queue_full(void **state)
{
	struct env *e = *state;
	struct nvp_qpair *qp = nvp_qpair_create(e->dev, &(struct nvp_qpair_opts){ .depth = 4 });
	struct done d[3];

	assert_non_null(qp);
	memset(d, 0, sizeof(d));
	for (int i = 0; i < 3; i++)
		assert_int_equal(nvp_read(qp, e->ns, 0, 1, e->rbuf, on_done, &d[i]), 0);
	assert_int_equal(nvp_read(qp, e->ns, 0, 1, e->rbuf, on_done, &d[0]), -EAGAIN);
	for (int i = 0; i < 3; i++)
		wait_or_fail(qp, &d[i]);
	nvp_qpair_destroy(qp);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identify, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_sizes_and_offsets, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_other_commands, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_qd32_mixed, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_qd32_reset_midway, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_many_qpairs, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_queue_full, env_setup, env_teardown),
	};

	if (argc > 1 && strcmp(argv[argc - 1], "--shadow-doorbells") == 0) {
		want_shadow = 1;
		argc--;
	}
	uri = argc > 1 ? argv[1] : "sim";
	if (argc > 3) {
		want_serial = argv[2];
		want_nsze = strtoull(argv[3], NULL, 0);
	}
	return cmocka_run_group_tests_name(want_shadow ? "shadow doorbells" : uri, tests, NULL, NULL);
}
