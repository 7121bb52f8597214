/* PRP building: arithmetic alone, at every alignment and size edge. */
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

#define PAGE 4096u
#define UNITS 4
#define IOVA_BASE 0x100000000ull

/*
 * A fake region of 4 units whose bus addresses are deliberately not
 * contiguous (unit k at IOVA_BASE + k * 16 MiB), so a builder that adds
 * offsets across units instead of translating each page shows up.
 */
struct fake {
	struct nvp_dma_region r;
	uint64_t unit_iova[UNITS];
};

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	f->r.len = UNITS * NVP_DMA_UNIT_SIZE;
	f->r.va = aligned_alloc(NVP_DMA_UNIT_SIZE, f->r.len);
	for (int k = 0; k < UNITS; k++)
		f->unit_iova[k] = IOVA_BASE + (uint64_t)k * (16u << 20);
	f->r.unit_iova = f->unit_iova;
	return f;
}

static void fake_free(struct fake *f)
{
	free(f->r.va);
	free(f);
}

static uint64_t iova(struct fake *f, size_t off)
{
	return f->unit_iova[off >> NVP_DMA_UNIT_SHIFT] + (off & (NVP_DMA_UNIT_SIZE - 1));
}

struct ctx {
	struct fake *data, *list;
	uint64_t *listmem;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	c->data = fake_new();
	c->list = fake_new();
	c->listmem = (uint64_t *)c->list->r.va; /* page aligned */
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	fake_free(c->data);
	fake_free(c->list);
	free(c);
	return 0;
}

static int build(struct ctx *c, size_t off, size_t len, size_t cap, uint64_t *p1, uint64_t *p2)
{
	return nvp_prp_build(&c->data->r, c->data->r.va + off, len, 12, &c->list->r, c->listmem, cap, p1, p2);
}

/* Check the data pages the PRPs describe, in order, against the truth. */
static void expect_pages(struct ctx *c, size_t off, size_t len, uint64_t p1, uint64_t p2)
{
	size_t first = PAGE - (off % PAGE), pages, i;
	uint64_t *e = c->listmem;

	assert_int_equal(p1, iova(c->data, off));
	if (len <= first) {
		assert_int_equal(p2, 0);
		return;
	}
	pages = (len - first + PAGE - 1) / PAGE;
	off += first;
	if (pages == 1) {
		assert_int_equal(p2, iova(c->data, off));
		return;
	}
	assert_int_equal(p2, iova(c->list, 0));
	for (i = 0; i < pages; i++, off += PAGE) {
		/* The last slot of a list page chains to the next page. */
		if ((((uintptr_t)e) % PAGE) == PAGE - 8 && i < pages - 1) {
			assert_int_equal(*e, iova(c->list, (size_t)((uint8_t *)(e + 1) - c->list->r.va)));
			e++;
		}
		assert_int_equal(*e, iova(c->data, off));
		assert_int_equal(*e % PAGE, 0);
		e++;
	}
}

static void test_single_page(void **state)
{
	struct ctx *c = *state;
	uint64_t p1, p2;

	assert_int_equal(build(c, 0, 512, 16, &p1, &p2), 0);
	expect_pages(c, 0, 512, p1, p2);
	assert_int_equal(build(c, 0, PAGE, 16, &p1, &p2), 0);
	assert_int_equal(p2, 0);
	/* Offset buffer that still ends inside its page. */
	assert_int_equal(build(c, 100, PAGE - 100, 16, &p1, &p2), 0);
	assert_int_equal(p1, iova(c->data, 100));
	assert_int_equal(p2, 0);
}

static void test_two_pages(void **state)
{
	struct ctx *c = *state;
	uint64_t p1, p2;

	assert_int_equal(build(c, 0, 2 * PAGE, 16, &p1, &p2), 0);
	assert_int_equal(p2, iova(c->data, PAGE));
	/* Unaligned 4 KiB crosses into a second page: PRP2 is that page, not a list. */
	assert_int_equal(build(c, 512, PAGE, 16, &p1, &p2), 0);
	assert_int_equal(p1, iova(c->data, 512));
	assert_int_equal(p2, iova(c->data, PAGE));
	/* One byte over the first page. */
	assert_int_equal(build(c, 0, PAGE + 1, 16, &p1, &p2), 0);
	assert_int_equal(p2, iova(c->data, PAGE));
}

static void test_list(void **state)
{
	struct ctx *c = *state;
	uint64_t p1, p2;

	assert_int_equal(build(c, 0, 3 * PAGE, 16, &p1, &p2), 0);
	expect_pages(c, 0, 3 * PAGE, p1, p2);
	assert_int_equal(c->listmem[0], iova(c->data, PAGE));
	assert_int_equal(c->listmem[1], iova(c->data, 2 * PAGE));
	/* Unaligned 8 KiB spans three pages. */
	assert_int_equal(build(c, 8, 2 * PAGE, 16, &p1, &p2), 0);
	expect_pages(c, 8, 2 * PAGE, p1, p2);
	/* 128 KiB, the usual MDTS. */
	assert_int_equal(build(c, 0, 128 * 1024, 64, &p1, &p2), 0);
	expect_pages(c, 0, 128 * 1024, p1, p2);
}

static void test_crosses_unit(void **state)
{
	struct ctx *c = *state;
	size_t off = NVP_DMA_UNIT_SIZE - 2 * PAGE + 4;
	uint64_t p1, p2;

	/* Pages on both sides of a unit boundary get their own unit's address. */
	assert_int_equal(build(c, off, 4 * PAGE, 16, &p1, &p2), 0);
	expect_pages(c, off, 4 * PAGE, p1, p2);
	assert_int_equal(c->listmem[1], IOVA_BASE + (16u << 20));
}

static void test_chained_list(void **state)
{
	struct ctx *c = *state;
	size_t len = 2u << 20; /* 512 data pages + PRP1's: 511 entries more than fit one list page */
	uint64_t p1, p2;

	/* A list that starts 16 bytes before its page's end chains after one entry. */
	c->listmem = (uint64_t *)(c->list->r.va + PAGE - 16);
	assert_int_equal(build(c, 0, 5 * PAGE, 16, &p1, &p2), 0);
	assert_int_equal(p2, iova(c->list, PAGE - 16));
	assert_int_equal(c->listmem[0], iova(c->data, PAGE));
	assert_int_equal(c->listmem[1], iova(c->list, PAGE)); /* chain pointer */
	assert_int_equal(c->listmem[2], iova(c->data, 2 * PAGE));
	assert_int_equal(c->listmem[4], iova(c->data, 4 * PAGE));

	/* A page-aligned list longer than one page. */
	c->listmem = (uint64_t *)c->list->r.va;
	assert_int_equal(build(c, 0, len + 2 * PAGE, 1024, &p1, &p2), 0);
	expect_pages(c, 0, len + 2 * PAGE, p1, p2);
	assert_int_equal(c->listmem[511], iova(c->list, PAGE));
}

static void test_limits(void **state)
{
	struct ctx *c = *state;
	uint64_t p1 = 1, p2 = 1;

	/* 3 entries needed, 2 available. */
	assert_int_equal(build(c, 0, 4 * PAGE, 2, &p1, &p2), -E2BIG);
	assert_int_equal(build(c, 0, 4 * PAGE, 3, &p1, &p2), 0);
	/* PRP1 needs dword alignment. */
	assert_int_equal(build(c, 2, 512, 16, &p1, &p2), -EINVAL);
	/* No data: both zero. */
	assert_int_equal(nvp_prp_build(NULL, NULL, 0, 12, &c->list->r, c->listmem, 16, &p1, &p2), 0);
	assert_int_equal(p1, 0);
	assert_int_equal(p2, 0);
}

static void test_list_entries(void **state)
{
	(void)state;
	/* 128 KiB: 33 pages when unaligned, PRP1 takes one. */
	assert_int_equal(nvp_prp_list_entries(128 * 1024, 12), 32);
	assert_int_equal(nvp_prp_list_entries(2u << 20, 12), 512);
	/* 4 MiB: 1024 data entries over 3 pages, 2 of them chaining. */
	assert_int_equal(nvp_prp_list_entries(4u << 20, 12), 1026);
	assert_int_equal(nvp_prp_list_entries(4096, 12), 1);
	/* Not a whole number of pages: 4104 bytes at offset 4092 touch 3 pages, 2 in the list. */
	assert_int_equal(nvp_prp_list_entries(4104, 12), 2);
}

/* Every size from 4 bytes to 64 KiB at many offsets, against the model above. */
static void test_sweep(void **state)
{
	struct ctx *c = *state;
	static const size_t offs[] = { 0, 4, 508, 512, 2048, 4092 };
	uint64_t p1, p2;

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		for (size_t len = 4; len <= 64 * 1024; len += 508) {
			assert_int_equal(build(c, offs[i], len, 32, &p1, &p2), 0);
			expect_pages(c, offs[i], len, p1, p2);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_single_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crosses_unit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chained_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test(test_list_entries),
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
