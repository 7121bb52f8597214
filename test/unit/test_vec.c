/*
 * nvp_readv()/nvp_writev() through the driver against the sim: odd
 * segment sizes both ways, built as PRPs where the segments allow and as
 * an SGL where they do not (and where opts.force_sgl asks), each checked
 * by what was posted (PSDT) and by reading back with a plain nvp_read();
 * a list chained over two pages, a segment across a DMA unit; and the
 * errors: misfit segments without SGLs, dword alignment SGLS 10b asks,
 * lengths, counts, MDTS, memory.
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

#define BUF (1024 * 1024)

struct fx {
	struct nvp_dev *dev;
	struct nvp_qpair *qp;
	const struct nvp_ns *ns;
	uint8_t *w, *r, *p;
	struct nvp_iov iov[NVP_IOV_MAX + 1];
	unsigned psdt; /* of the last command posted */
};

static struct fx *up(void **state, const char *uri, unsigned force_sgl)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct nvp_opts o;

	assert_non_null(f);
	*state = f;
	nvp_opts_init(&o);
	o.force_sgl = force_sgl;
	f->dev = nvp_dev_open(uri, &o);
	if (!f->dev)
		fail_msg("open %s: %s", uri, nvp_errmsg());
	f->qp = nvp_qpair_create(f->dev, NULL);
	f->ns = nvp_ns_get(f->dev, 1);
	f->w = nvp_dma_alloc(f->dev, BUF);
	f->r = nvp_dma_alloc(f->dev, BUF);
	f->p = nvp_dma_alloc(f->dev, BUF);
	assert_true(f->qp && f->ns && f->w && f->r && f->p);
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

static unsigned last_psdt(const struct nvp_qpair *qp)
{
	return NVME_GET(qp->sq[(qp->sq_tail + qp->size - 1u) % qp->size].flags, SQE_PSDT);
}

/* One vectored command, waited for; f->psdt says how its data was described. */
static int vec(struct fx *f, int write, uint64_t slba, uint32_t nlb, unsigned n)
{
	struct done d = { 0 };
	int err = write ? nvp_writev(f->qp, f->ns, slba, nlb, f->iov, n, on_done, &d)
			: nvp_readv(f->qp, f->ns, slba, nlb, f->iov, n, on_done, &d);

	if (err)
		return err;
	f->psdt = last_psdt(f->qp);
	assert_true(wait_done(f->qp, &d, 5000));
	return d.err;
}

static int plain(struct fx *f, int write, uint64_t slba, uint32_t nlb, uint8_t *buf)
{
	struct done d = { 0 };
	int err = write ? nvp_write(f->qp, f->ns, slba, nlb, buf, on_done, &d)
			: nvp_read(f->qp, f->ns, slba, nlb, buf, on_done, &d);

	if (err)
		return err;
	assert_true(wait_done(f->qp, &d, 5000));
	return d.err;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed * 31 + (i >> 8));
}

static void set(struct fx *f, unsigned i, uint8_t *buf, size_t len)
{
	f->iov[i] = (struct nvp_iov){ .buf = buf, .len = len };
}

/* Gather the segments' bytes into @out. */
static size_t gather(struct fx *f, unsigned n, uint8_t *out)
{
	size_t at = 0;

	for (unsigned i = 0; i < n; i++) {
		memcpy(out + at, f->iov[i].buf, f->iov[i].len);
		at += f->iov[i].len;
	}
	return at;
}

/* Odd sizes at odd addresses: an SGL, written, read back plainly and vectored in another cut. */
static void test_sgl_chosen(void **state)
{
	struct fx *f = up(state, "sim:size=4M", 0);

	fill(f->w, BUF, 1);
	set(f, 0, f->w + 1, 1000);
	set(f, 1, f->w + 5000, 3);
	set(f, 2, f->w + 9001, 8192 - 1003);
	assert_int_equal(vec(f, 1, 40, 16, 3), 0);
	assert_int_equal(f->psdt, NVME_PSDT_SGL);
	assert_int_equal(gather(f, 3, f->p), 8192);
	assert_int_equal(plain(f, 0, 40, 16, f->r), 0);
	assert_memory_equal(f->r, f->p, 8192);

	memset(f->r, 0, BUF);
	set(f, 0, f->r + 7, 4095);
	set(f, 1, f->r + 20002, 1);
	set(f, 2, f->r + 30001, 4096);
	assert_int_equal(vec(f, 0, 40, 16, 3), 0);
	assert_int_equal(f->psdt, NVME_PSDT_SGL);
	assert_int_equal(gather(f, 3, f->w), 8192);
	assert_memory_equal(f->w, f->p, 8192);
	assert_int_equal(f->r[6], 0);
	assert_int_equal(f->r[7 + 4095], 0);
}

/* Segments on page boundaries: PRPs (no SGL needed), both ways. */
static void test_prp_chosen(void **state)
{
	struct fx *f = up(state, "sim:size=4M,sgl=0", 0);

	fill(f->w, BUF, 2);
	set(f, 0, f->w + 512, 4096 - 512); /* ends on a page */
	set(f, 1, f->w + 12 * 4096, 2 * 4096);
	set(f, 2, f->w + 5 * 4096, 512);   /* starts on one */
	assert_int_equal(vec(f, 1, 100, 24, 3), 0);
	assert_int_equal(f->psdt, NVME_PSDT_PRP);
	assert_int_equal(gather(f, 3, f->p), 12288);
	assert_int_equal(plain(f, 0, 100, 24, f->r), 0);
	assert_memory_equal(f->r, f->p, 12288);

	memset(f->r, 0, BUF);
	set(f, 0, f->r + 4096 - 4, 4);
	set(f, 1, f->r + 40 * 4096, 12288 - 4);
	assert_int_equal(vec(f, 0, 100, 24, 2), 0);
	assert_int_equal(f->psdt, NVME_PSDT_PRP);
	assert_int_equal(gather(f, 2, f->w), 12288);
	assert_memory_equal(f->w, f->p, 12288);
}

/* opts.force_sgl: the same page-aligned segments go as an SGL; without SGLs, refused. */
static void test_forced_sgl(void **state)
{
	struct fx *f = up(state, "sim:size=4M", 1);

	fill(f->w, BUF, 3);
	set(f, 0, f->w + 512, 4096 - 512);
	set(f, 1, f->w + 12 * 4096, 2 * 4096);
	set(f, 2, f->w + 5 * 4096, 512);
	assert_int_equal(vec(f, 1, 7, 24, 3), 0);
	assert_int_equal(f->psdt, NVME_PSDT_SGL);
	gather(f, 3, f->p);
	assert_int_equal(plain(f, 0, 7, 24, f->r), 0);
	assert_memory_equal(f->r, f->p, 12288);
	memset(f->r, 0, BUF);
	set(f, 0, f->r, 12288);
	assert_int_equal(vec(f, 0, 7, 24, 1), 0);
	assert_int_equal(f->psdt, NVME_PSDT_SGL);
	assert_memory_equal(f->r, f->p, 12288);
	down(state);

	f = up(state, "sim:size=4M,sgl=0", 1);
	set(f, 0, f->r, 4096);
	assert_int_equal(vec(f, 0, 0, 8, 1), -EOPNOTSUPP);
	assert_non_null(strstr(nvp_errmsg(), "force_sgl"));
}

/* Without SGLs, a misfit segment is refused by index and reason. */
static void test_no_sgl_misfit(void **state)
{
	struct fx *f = up(state, "sim:size=4M,sgl=0", 0);

	set(f, 0, f->w, 4096);
	set(f, 1, f->w + 8192 + 512, 4096);
	assert_int_equal(vec(f, 1, 0, 16, 2), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "segment 1"));
	assert_non_null(strstr(nvp_errmsg(), "does not start on a controller page"));
	assert_non_null(strstr(nvp_errmsg(), "takes no SGLs"));
	set(f, 0, f->w, 2048);
	set(f, 1, f->w + 8192, 6144);
	assert_int_equal(vec(f, 1, 0, 16, 2), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "segment 0"));
	assert_non_null(strstr(nvp_errmsg(), "does not end on a controller page"));
	set(f, 0, f->w + 2, 8192);
	assert_int_equal(vec(f, 1, 0, 16, 1), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "4-byte aligned"));
}

/* SGLS 10b: dword-aligned segments off pages go as an SGL; an odd one is refused, named. */
static void test_sgl_dword(void **state)
{
	struct fx *f = up(state, "sim:size=4M,sgl=2", 0);

	fill(f->w, BUF, 4);
	set(f, 0, f->w + 4, 1020);
	set(f, 1, f->w + 10000, 3076);
	assert_int_equal(vec(f, 1, 9, 8, 2), 0);
	assert_int_equal(f->psdt, NVME_PSDT_SGL);
	gather(f, 2, f->p);
	assert_int_equal(plain(f, 0, 9, 8, f->r), 0);
	assert_memory_equal(f->r, f->p, 4096);
	set(f, 1, f->w + 10001, 3076);
	assert_int_equal(vec(f, 1, 9, 8, 2), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "segment 1"));
	assert_non_null(strstr(nvp_errmsg(), "dword"));
}

/* NVP_IOV_MAX segments of 512 bytes, none on a page: a full list page of Data Blocks. Then one across a DMA unit. */
static void test_sgl_full_list_and_unit(void **state)
{
	struct fx *f = up(state, "sim:size=8M,mdts=0", 0);
	uint8_t *big;

	fill(f->w, BUF, 5);
	for (unsigned i = 0; i < NVP_IOV_MAX; i++)
		set(f, i, f->w + i * 1024 + 1 + (i & 3), 512);
	assert_int_equal(vec(f, 1, 1000, 256, NVP_IOV_MAX), 0);
	assert_int_equal(f->psdt, NVME_PSDT_SGL);
	gather(f, NVP_IOV_MAX, f->p);
	assert_int_equal(plain(f, 0, 1000, 256, f->r), 0);
	assert_memory_equal(f->r, f->p, 256 * 512);

	big = nvp_dma_alloc(f->dev, 4u << 20);
	assert_non_null(big);
	fill(big, 4u << 20, 6);
	set(f, 0, big + (2u << 20) - 1001, 3000); /* across the boundary of two 2 MiB units */
	set(f, 1, big + 5, 1096);
	assert_int_equal(vec(f, 1, 3, 8, 2), 0);
	gather(f, 2, f->p);
	assert_int_equal(plain(f, 0, 3, 8, f->r), 0);
	assert_memory_equal(f->r, f->p, 4096);
}

static void test_errors(void **state)
{
	struct fx *f = up(state, "sim:size=1M", 0); /* mdts 5: 128 KiB, lists of 16 SGL descriptors */
	uint8_t stack[512];

	set(f, 0, f->w + 1, 1000);
	set(f, 1, f->w + 3001, 23);
	assert_int_equal(vec(f, 1, 0, 2, 2), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "1023 bytes"));
	assert_int_equal(vec(f, 1, 0, 1, 2), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "more than nlb * lba_size"));
	assert_int_equal(vec(f, 1, 0, 2, 0), -EINVAL);
	assert_int_equal(vec(f, 1, 0, 2, NVP_IOV_MAX + 1), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "NVP_IOV_MAX"));
	assert_int_equal(nvp_writev(f->qp, f->ns, 0, 1, NULL, 1, on_done, NULL), -EINVAL);
	set(f, 0, f->w, 0);
	assert_int_equal(vec(f, 1, 0, 1, 2), -EINVAL);
	assert_non_null(strstr(nvp_errmsg(), "segment 0 is empty"));
	set(f, 0, f->w, 512);
	set(f, 1, stack, 512);
	assert_int_equal(vec(f, 1, 0, 2, 2), -EFAULT);
	assert_non_null(strstr(nvp_errmsg(), "segment 1"));
	set(f, 0, f->w, 512);
	assert_int_equal(vec(f, 1, 2047, 2, 1), -ERANGE);
	set(f, 0, f->w, 256 * 1024);
	assert_int_equal(vec(f, 1, 0, 512, 1), -E2BIG);
	assert_non_null(strstr(nvp_errmsg(), "MDTS"));
	/* 20 Data Blocks and a 16-descriptor list. */
	for (unsigned i = 0; i < 20; i++)
		set(f, i, f->w + i * 1024 + 1, 512);
	assert_int_equal(vec(f, 1, 0, 20, 20), -E2BIG);
	assert_non_null(strstr(nvp_errmsg(), "fewer segments"));
	assert_int_equal(nvp_qpair_outstanding(f->qp), 0);
	assert_int_equal(vec(f, 1, 0, 16, 16), 0); /* and the slot was given back: the qpair still works */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sgl_chosen, down),
		cmocka_unit_test_teardown(test_prp_chosen, down),
		cmocka_unit_test_teardown(test_forced_sgl, down),
		cmocka_unit_test_teardown(test_no_sgl_misfit, down),
		cmocka_unit_test_teardown(test_sgl_dword, down),
		cmocka_unit_test_teardown(test_sgl_full_list_and_unit, down),
		cmocka_unit_test_teardown(test_errors, down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
