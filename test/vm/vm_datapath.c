/*
 * Metadata, end-to-end protection and zones against a real controller
 * (QEMU's, through vfio-pci in the guest), and against the sim in the
 * unit suite. Namespaces are found by what they report:
 *  - each PI namespace (separate or extended metadata): host-made PI
 *    checked by the controller at several sizes and offsets, data and
 *    metadata read back; controller-made PI (PRACT) checked on the host;
 *    data changed behind its PI (written with checks off over PI made for
 *    other data) fails the guard check on read, by name;
 *  - the zoned namespace: a zone filled by write, one by append (each
 *    append told its LBA), read back, reported Full, reset, reported Empty;
 *    a write past the write pointer fails by name.
 *
 *  - a plain namespace: Compare and Copy; Verify and Write Uncorrectable
 *    where ONCS offers them, else their refusal by name (QEMU 7.2's
 *    ONCS, 0x15d, has neither; the sim's has both).
 *
 * usage: vm_datapath [URI PLAIN-NSID ZONED-NSID PI-NSID...]
 * Default: a sim with namespaces like the guest's: PI type 1 separate,
 * type 2 extended, type 3 extended with 16 bytes and PI first, zoned, plain.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <nvpoll.h>

#include "sync_io.h"

#define BUF (1u << 20)

static const char *uri = "sim:ns=5,size=16M,ms=8:8:16:0:0,mset=0:1:1:0:0,pi=1:2:3:0:0,pil=0:0:1:0:0,"
			 "zoned=0:0:0:1:0,zone_size=1M";
/* A plain namespace, the zoned one, then the PI ones. */
static uint32_t nsids[8] = { 5, 4, 1, 2, 3 };
static unsigned nr_nsids = 5;
#define PLAIN 0
#define ZONED 1
#define FIRST_PI 2

struct env {
	struct nvp_dev *dev;
	struct nvp_qpair *qp;
	uint8_t *w, *r, *wm, *rm, *rep;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->dev = nvp_dev_open(uri, NULL);
	if (!e->dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	e->qp = nvp_qpair_create(e->dev, NULL);
	e->w = nvp_dma_alloc(e->dev, BUF);
	e->r = nvp_dma_alloc(e->dev, BUF);
	e->wm = nvp_dma_alloc(e->dev, 65536);
	e->rm = nvp_dma_alloc(e->dev, 65536);
	e->rep = nvp_dma_alloc(e->dev, 4096);
	assert_true(e->qp && e->w && e->r && e->wm && e->rm && e->rep);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	nvp_dev_close(e->dev);
	free(e);
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

static int finish(struct env *e, struct wait *w, int err)
{
	if (err) {
		print_message("  (submission: %s)\n", nvp_errmsg());
		return err;
	}
	if (!wait_done(e->qp, &w->d, 30000))
		fail_msg("no completion in 30 s");
	if (w->err)
		print_message("  (completion: %s)\n", nvp_errmsg()); /* expected or not: the log shows which */
	return w->err;
}

#define RUN(e, call)                                                                                               \
	({                                                                                                         \
		struct wait w_ = { { 0 }, 0, 0 };                                                                  \
		struct wait *w = &w_;                                                                              \
		finish((e), w, (call));                                                                            \
	})

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 29 + seed * 83 + (i >> 9));
}

static const struct nvp_ns *ns_at(struct env *e, unsigned k)
{
	const struct nvp_ns *ns = nvp_ns_get(e->dev, nsids[k]);

	if (!ns)
		fail_msg("namespace %u: %s", nsids[k], nvp_errmsg());
	return ns;
}

static void pi_case(struct env *e, const struct nvp_ns *ns)
{
	const struct nvp_ns_info *i = nvp_ns_info(ns);
	static const struct { uint64_t slba; uint32_t nlb; } c[] = { { 0, 1 }, { 7, 3 }, { 100, 16 }, { 1000, 64 } };
	size_t stride = i->lba_size + (i->md_extended ? i->ms : 0);
	void *md = i->md_extended ? NULL : e->wm, *rmd = i->md_extended ? NULL : e->rm;
	struct nvp_pi_error where;
	/* Type 3 has no reference tag to check (the controller refuses the flag). */
	unsigned checks = i->pi_type == 3 ? NVP_PI_CHECK_GUARD | NVP_PI_CHECK_APP : NVP_PI_CHECK_ALL;

	print_message("namespace %u: ms %u, %s, PI type %u, PI %s\n", i->nsid, i->ms,
		      i->md_extended ? "extended" : "separate", i->pi_type, i->pi_first ? "first" : "last");
	assert_true(i->pi_type >= 1 && i->pi_type <= 3 && i->ms >= 8);
	for (unsigned k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		struct nvp_pi_args pi = { .flags = checks, .ref_tag = (uint32_t)c[k].slba,
					  .app_tag = (uint16_t)(0x100 + k), .app_mask = 0xffff };
		size_t mlen = (size_t)c[k].nlb * i->ms;

		fill(e->w, c[k].nlb * stride, k);
		fill(e->wm, mlen, k + 50);
		assert_int_equal(nvp_pi_generate(i, e->w, md, c[k].nlb, &pi), 0);
		assert_int_equal(RUN(e, nvp_write_md(e->qp, ns, c[k].slba, c[k].nlb, e->w, md, &pi, on_wait, w)), 0);
		memset(e->r, 0, c[k].nlb * stride);
		memset(e->rm, 0, mlen);
		assert_int_equal(RUN(e, nvp_read_md(e->qp, ns, c[k].slba, c[k].nlb, e->r, rmd, &pi, on_wait, w)), 0);
		assert_memory_equal(e->r, e->w, c[k].nlb * stride);
		if (md)
			assert_memory_equal(e->rm, e->wm, mlen);
		assert_int_equal(nvp_pi_verify(i, e->r, rmd, c[k].nlb, &pi, NULL), 0);
	}
	/*
	 * PRACT: the controller makes the PI, the host checks it. With 8 bytes
	 * of metadata none moves (the buffer is data alone); with more, the
	 * metadata moves and the controller fills the PI into it.
	 */
	{
		struct nvp_pi_args pract = { .flags = NVP_PI_PRACT, .ref_tag = 2000, .app_tag = 0x55 };
		struct nvp_pi_args chk = { .flags = checks, .ref_tag = 2000, .app_tag = 0x55, .app_mask = 0xffff };
		int strip = i->ms == 8;
		size_t wstride = strip ? i->lba_size : stride;

		fill(e->w, 8 * wstride, 9);
		fill(e->wm, 8 * i->ms, 10);
		assert_int_equal(RUN(e, nvp_write_md(e->qp, ns, 2000, 8, e->w, strip ? NULL : md, &pract, on_wait, w)), 0);
		assert_int_equal(RUN(e, nvp_read_md(e->qp, ns, 2000, 8, e->r, rmd, &chk, on_wait, w)), 0);
		assert_int_equal(nvp_pi_verify(i, e->r, rmd, 8, &chk, NULL), 0);
		for (unsigned b = 0; b < 8; b++)
			assert_memory_equal(e->r + b * stride, e->w + b * wstride, i->lba_size);
	}
	/* Behind PI: PI made for one buffer, the data changed, written with no checks; the read's guard check fails. */
	{
		struct nvp_pi_args pi = { .flags = checks, .ref_tag = 3000, .app_tag = 1, .app_mask = 0xffff };
		struct nvp_pi_args off = pi;

		off.flags = 0;
		fill(e->w, 4 * stride, 11);
		assert_int_equal(nvp_pi_generate(i, e->w, md, 4, &pi), 0);
		e->w[2 * stride + 17] ^= 0x20;
		assert_int_equal(RUN(e, nvp_write_md(e->qp, ns, 3000, 4, e->w, md, &off, on_wait, w)), 0);
		assert_int_equal(RUN(e, nvp_read_md(e->qp, ns, 3000, 4, e->r, rmd, &pi, on_wait, w)), -EILSEQ);
		assert_non_null(strstr(nvp_errmsg(), "End-to-end Guard Check Error"));
		/* Read with checks off, the host's check finds the block. */
		assert_int_equal(RUN(e, nvp_read_md(e->qp, ns, 3000, 4, e->r, rmd, &off, on_wait, w)), 0);
		assert_int_equal(nvp_pi_verify(i, e->r, rmd, 4, &pi, &where), -EILSEQ);
		assert_int_equal(where.block, 2);
		/* ... and the controller refuses such a write with its checks on. */
		assert_int_equal(RUN(e, nvp_write_md(e->qp, ns, 3000, 4, e->w, md, &pi, on_wait, w)), -EILSEQ);
		assert_non_null(strstr(nvp_errmsg(), "End-to-end Guard Check Error"));
	}
}

static void test_pi(void **state)
{
	for (unsigned k = FIRST_PI; k < nr_nsids; k++)
		pi_case(*state, ns_at(*state, k));
}

static uint8_t zone_state(struct env *e, const struct nvp_ns *ns, uint64_t zslba)
{
	struct nvp_zone z;

	assert_int_equal(RUN(e, nvp_zone_report(e->qp, ns, zslba, 0, 1, e->rep, 128, on_wait, w)), 0);
	assert_int_equal(nvp_zone_report_parse(e->rep, 128, &z, 1, NULL), 1);
	assert_int_equal(z.zslba, zslba);
	return z.state;
}

static void test_zones(void **state)
{
	struct env *e = *state;
	const struct nvp_ns *ns = ns_at(e, ZONED);
	const struct nvp_ns_info *i = nvp_ns_info(ns);
	uint64_t zs = i->zone_size, chunk;
	size_t zbytes;

	print_message("namespace %u: %llu zones of %llu blocks, open %u, active %u, append %u bytes\n", i->nsid,
		      (unsigned long long)i->nr_zones, (unsigned long long)zs, i->max_open_zones,
		      i->max_active_zones, i->zone_append_max);
	assert_int_equal(i->csi, NVME_CSI_ZNS);
	assert_true(zs && i->nr_zones >= 3);
	zbytes = (size_t)zs * i->lba_size;
	assert_true(zbytes <= BUF);
	chunk = (i->zone_append_max < nvp_dev_max_xfer(e->dev) ? i->zone_append_max : nvp_dev_max_xfer(e->dev)) /
		i->lba_size;
	if (chunk > 256)
		chunk = 256;
	assert_int_equal(RUN(e, nvp_zone_mgmt(e->qp, ns, 0, NVME_ZSA_RESET, 1, on_wait, w)), 0);
	fill(e->w, zbytes, 21);
	/* Zone 0 by write, zone 1 by append. */
	for (uint64_t off = 0; off < zs; off += chunk)
		assert_int_equal(RUN(e, nvp_write(e->qp, ns, off, (uint32_t)chunk, e->w + off * i->lba_size, on_wait,
						  w)), 0);
	for (uint64_t off = 0; off < zs; off += chunk) {
		struct wait a = { { 0 }, 0, 0 };

		assert_int_equal(finish(e, &a, nvp_zone_append(e->qp, ns, zs, (uint32_t)chunk,
							       e->w + off * i->lba_size, on_wait, &a)), 0);
		assert_int_equal(a.lba, zs + off);
	}
	for (unsigned z = 0; z < 2; z++)
		for (uint64_t off = 0; off < zs; off += chunk) {
			assert_int_equal(RUN(e, nvp_read(e->qp, ns, z * zs + off, (uint32_t)chunk, e->r, on_wait, w)), 0);
			assert_memory_equal(e->r, e->w + off * i->lba_size, chunk * i->lba_size);
		}
	assert_int_equal(zone_state(e, ns, 0), NVME_ZS_FULL);
	assert_int_equal(zone_state(e, ns, zs), NVME_ZS_FULL);
	assert_int_equal(RUN(e, nvp_write(e->qp, ns, 5, 1, e->w, on_wait, w)), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Zone Is Full"));
	assert_int_equal(RUN(e, nvp_zone_mgmt(e->qp, ns, 0, NVME_ZSA_RESET, 0, on_wait, w)), 0);
	assert_int_equal(zone_state(e, ns, 0), NVME_ZS_EMPTY);
	/* Past the write pointer of an empty zone. */
	assert_int_equal(RUN(e, nvp_write(e->qp, ns, 2 * zs + 8, 1, e->w, on_wait, w)), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Zone Invalid Write"));
	assert_int_equal(RUN(e, nvp_zone_mgmt(e->qp, ns, 0, NVME_ZSA_RESET, 1, on_wait, w)), 0);
}

/* Compare, Copy; Verify and Write Uncorrectable where ONCS offers them (refused by name where not: QEMU 7.2 has neither). */
static void test_cmds(void **state)
{
	struct env *e = *state;
	const struct nvp_ns *ns = ns_at(e, PLAIN);
	size_t lba = nvp_ns_info(ns)->lba_size;
	struct nvme_copy_range *r = (struct nvme_copy_range *)e->rep;
	uint16_t oncs = nvp_dev_id_ctrl(e->dev)->oncs;

	print_message("ONCS 0x%x\n", oncs);
	fill(e->w, 16 * lba, 31);
	assert_int_equal(RUN(e, nvp_write(e->qp, ns, 100, 16, e->w, on_wait, w)), 0);
	assert_int_equal(RUN(e, nvp_compare(e->qp, ns, 100, 16, e->w, on_wait, w)), 0);
	e->w[3 * lba + 1] ^= 1;
	assert_int_equal(RUN(e, nvp_compare(e->qp, ns, 100, 16, e->w, on_wait, w)), -EIO);
	assert_non_null(strstr(nvp_errmsg(), "Compare Failure"));
	e->w[3 * lba + 1] ^= 1;
	if (oncs & NVME_ONCS_VERIFY) {
		assert_int_equal(RUN(e, nvp_verify(e->qp, ns, 100, 16, NULL, on_wait, w)), 0);
	} else {
		assert_int_equal(RUN(e, nvp_verify(e->qp, ns, 100, 16, NULL, on_wait, w)), -EOPNOTSUPP);
		assert_non_null(strstr(nvp_errmsg(), "ONCS bit 7"));
		print_message("Verify: not offered, refused: %s\n", nvp_errmsg());
	}
	/*
	 * Copy 100..109 and 112..115 to 500: read back as the two pieces, in
	 * order. A namespace taking one source range (QEMU 7.2's namespace 1:
	 * MSRC 0) copies them one command each, and the host refuses two.
	 */
	print_message("Copy limits: %u ranges of %u blocks, %u in all\n", nvp_ns_info(ns)->copy_max_ranges,
		      nvp_ns_info(ns)->copy_max_range_nlb, nvp_ns_info(ns)->copy_max_nlb);
	r[0] = (struct nvme_copy_range){ .slba = 100, .nlb = 9 };
	r[1] = (struct nvme_copy_range){ .slba = 112, .nlb = 3 };
	if (nvp_ns_info(ns)->copy_max_ranges >= 2) {
		assert_int_equal(RUN(e, nvp_copy(e->qp, ns, 500, r, 2, on_wait, w)), 0);
	} else {
		assert_int_equal(RUN(e, nvp_copy(e->qp, ns, 500, r, 2, on_wait, w)), -EINVAL);
		assert_non_null(strstr(nvp_errmsg(), "MSRC"));
		assert_int_equal(RUN(e, nvp_copy(e->qp, ns, 500, r, 1, on_wait, w)), 0);
		assert_int_equal(RUN(e, nvp_copy(e->qp, ns, 510, r + 1, 1, on_wait, w)), 0);
	}
	assert_int_equal(RUN(e, nvp_read(e->qp, ns, 500, 14, e->r, on_wait, w)), 0);
	assert_memory_equal(e->r, e->w, 10 * lba);
	assert_memory_equal(e->r + 10 * lba, e->w + 12 * lba, 4 * lba);
	if (oncs & NVME_ONCS_WRITE_UNCOR) {
		assert_int_equal(RUN(e, nvp_write_uncorrectable(e->qp, ns, 104, 2, on_wait, w)), 0);
		assert_int_equal(RUN(e, nvp_read(e->qp, ns, 100, 16, e->r, on_wait, w)), -EIO);
		assert_non_null(strstr(nvp_errmsg(), "Unrecovered Read Error"));
		assert_int_equal(RUN(e, nvp_write(e->qp, ns, 104, 2, e->w + 4 * lba, on_wait, w)), 0);
		assert_int_equal(RUN(e, nvp_read(e->qp, ns, 100, 16, e->r, on_wait, w)), 0);
	} else {
		assert_int_equal(RUN(e, nvp_write_uncorrectable(e->qp, ns, 104, 2, on_wait, w)), -EOPNOTSUPP);
		assert_non_null(strstr(nvp_errmsg(), "ONCS bit 1"));
		print_message("Write Uncorrectable: not offered, refused: %s\n", nvp_errmsg());
	}
}

/*
 * Vectored I/O on the plain namespace: odd segments (an SGL where the
 * controller's SGLS offers them, else refused naming the segment), and
 * page-aligned ones (PRPs), each read back by a plain read and by
 * nvp_readv in another cut. With $NVP_VEC_OUT set, the bytes the SGL write
 * left at LBA VEC_SLBA go to that file, for the guest script to compare
 * with what the kernel's driver reads there after a rebind.
 */
#define VEC_SLBA 4096
#define VEC_BYTES 65536

static int vec_run(struct env *e, const struct nvp_ns *ns, int write, uint64_t slba, uint32_t nlb,
		   const struct nvp_iov *iov, unsigned n)
{
	return RUN(e, write ? nvp_writev(e->qp, ns, slba, nlb, iov, n, on_wait, w)
			    : nvp_readv(e->qp, ns, slba, nlb, iov, n, on_wait, w));
}

static void test_vectored(void **state)
{
	struct env *e = *state;
	const struct nvp_ns *ns = nvp_ns_get(e->dev, nsids[PLAIN]);
	unsigned sgls = nvp_dev_id_ctrl(e->dev)->sgls & 3;
	uint32_t lba, nlb;
	const char *out = getenv("NVP_VEC_OUT");
	/* Odd sizes at odd addresses: 1 + 3 + 517 + 4095 + ... adding up to 64 KiB. */
	static const size_t odd[] = { 1, 3, 517, 4095, 20000, 1, 12345 };
	struct nvp_iov iov[8];
	unsigned n = 0;
	size_t at = 0, off = 1;

	assert_non_null(ns);
	lba = nvp_ns_info(ns)->lba_size;
	nlb = VEC_BYTES / lba;
	print_message("Identify SGLS bits 1:0 = %u\n", sgls);
	fill(e->w, BUF, 11);
	for (; n < sizeof(odd) / sizeof(odd[0]); n++) {
		iov[n] = (struct nvp_iov){ .buf = e->w + off, .len = odd[n] };
		at += odd[n];
		off += odd[n] + 4097; /* a gap, and never on a page */
	}
	iov[n] = (struct nvp_iov){ .buf = e->w + off, .len = VEC_BYTES - at };
	n++;
	if (!sgls) {
		assert_int_equal(vec_run(e, ns, 1, VEC_SLBA, nlb, iov, n), -EINVAL);
		assert_non_null(strstr(nvp_errmsg(), "takes no SGLs"));
		fail_msg("the controller offers no SGLs: the SGL path is not tested here");
	}
	/* SGLS 10b would refuse odd addresses: this is for QEMU's (and the sim's) 01b. */
	assert_int_equal(sgls, 1);
	assert_int_equal(vec_run(e, ns, 1, VEC_SLBA, nlb, iov, n), 0);
	at = 0;
	for (unsigned k = 0; k < n; k++) {
		memcpy(e->r + BUF / 2 + at, iov[k].buf, iov[k].len);
		at += iov[k].len;
	}
	memset(e->r, 0, VEC_BYTES);
	assert_int_equal(RUN(e, nvp_read(e->qp, ns, VEC_SLBA, nlb, e->r, on_wait, w)), 0);
	assert_memory_equal(e->r, e->r + BUF / 2, VEC_BYTES);
	/* Read back vectored, cut elsewhere: 3 odd pieces. */
	memset(e->r, 0, BUF / 2);
	iov[0] = (struct nvp_iov){ .buf = e->r + 3, .len = 7 };
	iov[1] = (struct nvp_iov){ .buf = e->r + 10001, .len = 40000 };
	iov[2] = (struct nvp_iov){ .buf = e->r + 60001, .len = VEC_BYTES - 40007 };
	assert_int_equal(vec_run(e, ns, 0, VEC_SLBA, nlb, iov, 3), 0);
	assert_memory_equal(e->r + 3, e->r + BUF / 2, 7);
	assert_memory_equal(e->r + 10001, e->r + BUF / 2 + 7, 40000);
	assert_memory_equal(e->r + 60001, e->r + BUF / 2 + 40007, VEC_BYTES - 40007);
	if (out) {
		FILE *fp = fopen(out, "wb");

		assert_non_null(fp);
		assert_int_equal(fwrite(e->r + BUF / 2, 1, VEC_BYTES, fp), VEC_BYTES);
		assert_int_equal(fclose(fp), 0);
	}
	/* Page-aligned boundaries: PRPs, at another LBA. */
	fill(e->w, BUF, 12);
	iov[0] = (struct nvp_iov){ .buf = e->w + 4096 - 512, .len = 512 };
	iov[1] = (struct nvp_iov){ .buf = e->w + 20 * 4096, .len = 3 * 4096 };
	iov[2] = (struct nvp_iov){ .buf = e->w + 8 * 4096, .len = 4096 - 512 };
	assert_int_equal(vec_run(e, ns, 1, VEC_SLBA + 256, 16384 / lba, iov, 3), 0);
	assert_int_equal(RUN(e, nvp_read(e->qp, ns, VEC_SLBA + 256, 16384 / lba, e->r, on_wait, w)), 0);
	assert_memory_equal(e->r, iov[0].buf, 512);
	assert_memory_equal(e->r + 512, iov[1].buf, 3 * 4096);
	assert_memory_equal(e->r + 512 + 3 * 4096, iov[2].buf, 4096 - 512);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pi),
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_cmds),
		cmocka_unit_test(test_vectored),
	};

	if (argc >= 5 && argc <= 10) {
		uri = argv[1];
		nr_nsids = (unsigned)argc - 2;
		for (unsigned k = 0; k < nr_nsids; k++)
			nsids[k] = (uint32_t)strtoul(argv[2 + k], NULL, 0);
	} else if (argc != 1) {
		fprintf(stderr, "usage: vm_datapath [URI PLAIN-NSID ZONED-NSID PI-NSID...]\n");
		return 2;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
