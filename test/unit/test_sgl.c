/*
 * Vectored data pointers: the PRP-compatibility check, vectored PRPs and
 * SGL building (lib/nvme/sgl.c), arithmetic alone, at every alignment
 * edge. Regions are fakes whose 2 MiB units are not contiguous in bus
 * addresses, so a builder that adds offsets instead of translating, or
 * lets a Data Block run across such a unit boundary, shows up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "hugemem/dma.h"
#include "nvme/prp.h"
#include "nvme/sgl.h"

#define PAGE 4096u
#define UNITS 4
#define IOVA_BASE 0x100000000ull

struct fake {
	struct nvp_dma_region r;
	uint64_t unit_iova[UNITS];
};

static struct fake *fake_new(int contiguous)
{
	struct fake *f = calloc(1, sizeof(*f));

	f->r.len = UNITS * NVP_DMA_UNIT_SIZE;
	f->r.va = aligned_alloc(NVP_DMA_UNIT_SIZE, f->r.len);
	for (int k = 0; k < UNITS; k++)
		f->unit_iova[k] = IOVA_BASE + (uint64_t)k * (contiguous ? NVP_DMA_UNIT_SIZE : 16u << 20);
	f->r.unit_iova = f->unit_iova;
	return f;
}

static void fake_free(struct fake *f)
{
	free(f->r.va);
	free(f);
}

static uint64_t iova(const struct fake *f, size_t off)
{
	return f->unit_iova[off >> NVP_DMA_UNIT_SHIFT] + (off & (NVP_DMA_UNIT_SIZE - 1));
}

struct ctx {
	struct fake *data, *list, *flat;
	uint64_t *listmem;
	const struct nvp_dma_region *regs[16];
	struct nvp_iov iov[16];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	c->data = fake_new(0);
	c->list = fake_new(0);
	c->flat = fake_new(1);
	c->listmem = (uint64_t *)c->list->r.va;
	for (int i = 0; i < 16; i++)
		c->regs[i] = &c->data->r;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fake_free(c->data);
	fake_free(c->list);
	fake_free(c->flat);
	free(c);
	return 0;
}

static void seg(struct ctx *c, int i, size_t off, size_t len)
{
	c->iov[i] = (struct nvp_iov){ .buf = c->data->r.va + off, .len = len };
}

static void test_prp_check(void **state)
{
	struct ctx *c = *state;
	unsigned bad = 99;

	/* One segment: anywhere dword aligned. */
	seg(c, 0, 4, 10);
	assert_int_equal(nvp_iov_prp_check(c->iov, 1, 12, &bad), NVP_IOV_FIT);
	seg(c, 0, 2, 10);
	assert_int_equal(nvp_iov_prp_check(c->iov, 1, 12, &bad), NVP_IOV_START_DWORD);
	assert_int_equal(bad, 0);
	/* First mid-page, ending on a page; then whole pages; the last anything. */
	seg(c, 0, PAGE - 512, 512);
	seg(c, 1, 8 * PAGE, 2 * PAGE);
	seg(c, 2, 3 * PAGE, 100);
	assert_int_equal(nvp_iov_prp_check(c->iov, 3, 12, &bad), NVP_IOV_FIT);
	/* The first ends a byte short of its page. */
	seg(c, 0, PAGE - 512, 511);
	assert_int_equal(nvp_iov_prp_check(c->iov, 3, 12, &bad), NVP_IOV_END_PAGE);
	assert_int_equal(bad, 0);
	seg(c, 0, PAGE - 512, 512);
	/* The middle one starts 4 bytes into a page. */
	seg(c, 1, 8 * PAGE + 4, 2 * PAGE - 4);
	assert_int_equal(nvp_iov_prp_check(c->iov, 3, 12, &bad), NVP_IOV_START_PAGE);
	assert_int_equal(bad, 1);
	/* The middle one ends mid-page. */
	seg(c, 1, 8 * PAGE, 2 * PAGE - 4);
	assert_int_equal(nvp_iov_prp_check(c->iov, 3, 12, &bad), NVP_IOV_END_PAGE);
	assert_int_equal(bad, 1);
	/* The last starts mid-page. */
	seg(c, 1, 8 * PAGE, 2 * PAGE);
	seg(c, 2, 3 * PAGE + 512, 100);
	assert_int_equal(nvp_iov_prp_check(c->iov, 3, 12, &bad), NVP_IOV_START_PAGE);
	assert_int_equal(bad, 2);
	/* With 64 KiB pages, 4 KiB boundaries are not page boundaries. */
	seg(c, 0, 0, PAGE);
	seg(c, 1, 16 * PAGE, PAGE);
	assert_int_equal(nvp_iov_prp_check(c->iov, 2, 12, &bad), NVP_IOV_FIT);
	assert_int_equal(nvp_iov_prp_check(c->iov, 2, 16, &bad), NVP_IOV_END_PAGE);
}

/*
 * A buffer split at page boundaries gives the PRPs of the whole buffer:
 * every start offset class, every split, lengths up to past a list page.
 */
static void test_prp_split_equals_whole(void **state)
{
	static const size_t offs[] = { 0, 4, 512, PAGE - 4 };
	static const size_t lens[] = { 4, PAGE, 2 * PAGE, 3 * PAGE + 100, 20 * PAGE, 600 * PAGE };
	struct ctx *c = *state;
	uint64_t *whole = c->listmem + 4096; /* the whole buffer's list, 32 KiB into the list region */

	for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			size_t off = offs[o] + NVP_DMA_UNIT_SIZE - 3 * PAGE, len = lens[l];
			uint64_t p1, p2, q1, q2;
			size_t first = PAGE - (off & (PAGE - 1));

			assert_int_equal(nvp_prp_build(&c->data->r, c->data->r.va + off, len, 12, &c->list->r,
						       whole, 2048, &p1, &p2), 0);
			/* Split into the first page, then pieces of 1, 2, 3 ... pages. */
			unsigned n = 0;
			size_t at = 0, piece = first < len ? first : len;

			while (at < len && n < 16) {
				if (n == 15 || at + piece > len)
					piece = len - at;
				seg(c, (int)n++, off + at, piece);
				at += piece;
				piece = (n % 3 + 1) * PAGE;
			}
			assert_int_equal(at, len);
			memset(c->listmem, 0, 4096 * 8);
			assert_int_equal(nvp_iov_prp_build(c->iov, c->regs, n, 12, &c->list->r, c->listmem, 2048,
							   &q1, &q2), 0);
			assert_int_equal(q1, p1);
			if (len <= first + PAGE) {
				assert_int_equal(q2, p2);
			} else {
				assert_int_equal(q2, iova(c->list, 0));
				size_t entries = (len - first + PAGE - 1) / PAGE;
				entries += entries > 512 ? 1 : 0; /* one chain pointer past a full list page */
				for (size_t e = 0; e < entries; e++) {
					uint64_t want = whole[e];

					/* Chain pointers point into each builder's own list. */
					if (entries > 512 && e == 511) {
						assert_int_equal(want, iova(c->list, (4096 + 512) * 8));
						want = iova(c->list, 512 * 8);
					}
					assert_int_equal(c->listmem[e], want);
				}
			}
		}
	}
}

/* Segments far apart, across non-contiguous units: each page translated on its own. */
static void test_prp_scattered(void **state)
{
	struct ctx *c = *state;
	uint64_t p1, p2;

	seg(c, 0, 3 * NVP_DMA_UNIT_SIZE - PAGE + 8, PAGE - 8);
	seg(c, 1, NVP_DMA_UNIT_SIZE - PAGE, 2 * PAGE); /* crosses into unit 1 */
	seg(c, 2, 5 * PAGE, 1);
	assert_int_equal(nvp_iov_prp_build(c->iov, c->regs, 3, 12, &c->list->r, c->listmem, 16, &p1, &p2), 0);
	assert_int_equal(p1, iova(c->data, 3 * NVP_DMA_UNIT_SIZE - PAGE + 8));
	assert_int_equal(p2, iova(c->list, 0));
	assert_int_equal(c->listmem[0], iova(c->data, NVP_DMA_UNIT_SIZE - PAGE));
	assert_int_equal(c->listmem[1], iova(c->data, NVP_DMA_UNIT_SIZE));
	assert_int_equal(c->listmem[1], IOVA_BASE + (16u << 20)); /* translated, not added */
	assert_int_equal(c->listmem[2], iova(c->data, 5 * PAGE));
	/* Exactly two pages: PRP2 is the second, no list. */
	seg(c, 0, PAGE - 4, 4);
	seg(c, 1, 9 * PAGE, 7);
	assert_int_equal(nvp_iov_prp_build(c->iov, c->regs, 2, 12, &c->list->r, c->listmem, 16, &p1, &p2), 0);
	assert_int_equal(p1, iova(c->data, PAGE - 4));
	assert_int_equal(p2, iova(c->data, 9 * PAGE));
	/* A list that does not fit its capacity; misfits and empty segments refused. */
	seg(c, 1, 9 * PAGE, 3 * PAGE);
	assert_int_equal(nvp_iov_prp_build(c->iov, c->regs, 2, 12, &c->list->r, c->listmem, 2, &p1, &p2), -E2BIG);
	assert_int_equal(nvp_iov_prp_build(c->iov, c->regs, 2, 12, &c->list->r, c->listmem, 3, &p1, &p2), 0);
	seg(c, 1, 9 * PAGE + 4, 3 * PAGE);
	assert_int_equal(nvp_iov_prp_build(c->iov, c->regs, 2, 12, &c->list->r, c->listmem, 8, &p1, &p2), -EINVAL);
	seg(c, 1, 9 * PAGE, 0);
	assert_int_equal(nvp_iov_prp_build(c->iov, c->regs, 2, 12, &c->list->r, c->listmem, 8, &p1, &p2), -EINVAL);
}

static void assert_desc(const struct nvme_sgl_desc *d, unsigned type, uint64_t addr, uint32_t len)
{
	assert_int_equal(d->type, type << 4);
	assert_int_equal(d->addr, addr);
	assert_int_equal(d->length, len);
}

static void test_sgl_single(void **state)
{
	struct ctx *c = *state;
	struct nvme_sgl_desc sgl1;

	/* Odd address and length: one Data Block in DPTR, no list. */
	seg(c, 0, 4097, 1023);
	memset(c->listmem, 0xaa, 64);
	assert_int_equal(nvp_sgl_build(c->iov, c->regs, 1, 12, &c->list->r, (struct nvme_sgl_desc *)c->listmem, 8,
				       &sgl1), 0);
	assert_desc(&sgl1, NVME_SGL_TYPE_DATA_BLOCK, iova(c->data, 4097), 1023);
	assert_int_equal(c->listmem[0], 0xaaaaaaaaaaaaaaaaull);
	/* Empty segments are refused. */
	seg(c, 0, 4097, 0);
	assert_int_equal(nvp_sgl_build(c->iov, c->regs, 1, 12, &c->list->r, (struct nvme_sgl_desc *)c->listmem, 8,
				       &sgl1), -EINVAL);
}

static void test_sgl_last_segment(void **state)
{
	struct ctx *c = *state;
	struct nvme_sgl_desc sgl1, *l = (struct nvme_sgl_desc *)c->listmem;

	seg(c, 0, 3, 509);
	seg(c, 1, 10 * PAGE + 1, 4095);
	seg(c, 2, 7, 1);
	assert_int_equal(nvp_sgl_build(c->iov, c->regs, 3, 12, &c->list->r, l, 8, &sgl1), 0);
	assert_desc(&sgl1, NVME_SGL_TYPE_LAST_SEGMENT, iova(c->list, 0), 3 * 16);
	assert_desc(&l[0], NVME_SGL_TYPE_DATA_BLOCK, iova(c->data, 3), 509);
	assert_desc(&l[1], NVME_SGL_TYPE_DATA_BLOCK, iova(c->data, 10 * PAGE + 1), 4095);
	assert_desc(&l[2], NVME_SGL_TYPE_DATA_BLOCK, iova(c->data, 7), 1);
	/* Capacity exactly, and one short. */
	assert_int_equal(nvp_sgl_build(c->iov, c->regs, 3, 12, &c->list->r, l, 3, &sgl1), 0);
	assert_int_equal(nvp_sgl_build(c->iov, c->regs, 3, 12, &c->list->r, l, 2, &sgl1), -E2BIG);
}

/* A segment across a unit boundary whose bus address jumps: two Data Blocks; with contiguous units, one. */
static void test_sgl_unit_split(void **state)
{
	struct ctx *c = *state;
	struct nvme_sgl_desc sgl1, *l = (struct nvme_sgl_desc *)c->listmem;
	const struct nvp_dma_region *flat[1] = { &c->flat->r };

	seg(c, 0, NVP_DMA_UNIT_SIZE - 100, 300);
	assert_int_equal(nvp_sgl_data_descs(c->iov, c->regs, 1), 2);
	assert_int_equal(nvp_sgl_build(c->iov, c->regs, 1, 12, &c->list->r, l, 8, &sgl1), 0);
	assert_desc(&sgl1, NVME_SGL_TYPE_LAST_SEGMENT, iova(c->list, 0), 2 * 16);
	assert_desc(&l[0], NVME_SGL_TYPE_DATA_BLOCK, iova(c->data, NVP_DMA_UNIT_SIZE - 100), 100);
	assert_desc(&l[1], NVME_SGL_TYPE_DATA_BLOCK, IOVA_BASE + (16u << 20), 200);

	c->iov[0].buf = c->flat->r.va + NVP_DMA_UNIT_SIZE - 100;
	assert_int_equal(nvp_sgl_data_descs(c->iov, flat, 1), 1);
	assert_int_equal(nvp_sgl_build(c->iov, flat, 1, 12, &c->list->r, l, 8, &sgl1), 0);
	assert_desc(&sgl1, NVME_SGL_TYPE_DATA_BLOCK, IOVA_BASE + NVP_DMA_UNIT_SIZE - 100, 300);
}

/*
 * A list that starts two descriptors before the end of a list page: that
 * page holds one Data Block and a Segment descriptor to the next page,
 * whose segment is the last. At every start slot near the end.
 */
static void test_sgl_chain(void **state)
{
	struct ctx *c = *state;
	struct nvme_sgl_desc sgl1;

	for (unsigned n = 2; n <= 6; n++)
		seg(c, (int)n - 2, (n - 2) * 1000 + 1, 999);
	for (unsigned slot = 251; slot < 256; slot++) {
		struct nvme_sgl_desc *l = (struct nvme_sgl_desc *)c->listmem + slot;
		unsigned in_first = 256 - slot, n = 5;

		memset(c->listmem, 0, 2 * PAGE);
		assert_int_equal(nvp_sgl_build(c->iov, c->regs, n, 12, &c->list->r, l, 64, &sgl1), 0);
		if (in_first >= n) {
			assert_desc(&sgl1, NVME_SGL_TYPE_LAST_SEGMENT, iova(c->list, slot * 16), n * 16);
			continue;
		}
		/* in_first - 1 Data Blocks, then the pointer in the page's last slot. */
		assert_desc(&sgl1, NVME_SGL_TYPE_SEGMENT, iova(c->list, slot * 16), in_first * 16);
		for (unsigned k = 0; k + 1 < in_first; k++)
			assert_desc(&l[k], NVME_SGL_TYPE_DATA_BLOCK, iova(c->data, k * 1000 + 1), 999);
		assert_desc(&l[in_first - 1], NVME_SGL_TYPE_LAST_SEGMENT, iova(c->list, PAGE),
			    (n - (in_first - 1)) * 16);
		for (unsigned k = in_first - 1; k < n; k++)
			assert_desc(&l[k + 1], NVME_SGL_TYPE_DATA_BLOCK, iova(c->data, k * 1000 + 1), 999);
		/* The chain pointer counts against the capacity. */
		assert_int_equal(nvp_sgl_build(c->iov, c->regs, n, 12, &c->list->r, l, n + 1, &sgl1), 0);
		assert_int_equal(nvp_sgl_build(c->iov, c->regs, n, 12, &c->list->r, l, n, &sgl1), -E2BIG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prp_check),
		cmocka_unit_test(test_prp_split_equals_whole),
		cmocka_unit_test(test_prp_scattered),
		cmocka_unit_test(test_sgl_single),
		cmocka_unit_test(test_sgl_last_segment),
		cmocka_unit_test(test_sgl_unit_split),
		cmocka_unit_test(test_sgl_chain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
