/* SPDX-License-Identifier: MIT */
/*
 * PRP building, nvp_prp_build(), at fuzzed buffer offsets and lengths,
 * controller page sizes (4..64 KiB), list positions and list capacities.
 * The PRPs are walked as a controller would walk them and checked against
 * the truth. Around [list, list + capacity) the memory is poisoned, so ASan
 * stops at the first entry written past the capacity (or before the list),
 * and holds a guard pattern checked afterwards, for builds without ASan.
 *
 * Input: u8 page shift (12 + n % 5), u8 mode, u32 buffer offset, u32 length,
 * u16 list offset in its page (entries), u16 list capacity.
 * Mode bit 0: size and place the list as lib/nvme/qpair.c does for a
 * max_xfer of this length rounded up to a page (nvp_prp_list_entries(),
 * its slot placement), and then the build must succeed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "hugemem/dma.h"
#include "nvme/prp.h"

/* ASan (clang says so by __has_feature, gcc by __SANITIZE_ADDRESS__) gets told what is off limits. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#endif
#ifdef FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

#define UNITS 4
#define DATA_IOVA 0x100000000ull
#define LIST_IOVA 0x7f00000000ull
#define MAX_LIST_CAP 4096
#define GUARD 0xa5
#define GUARD_LEN 4096

/* A list page at any offset of the largest page, its capacity, and room past it. */
static uint8_t list_mem[65536 + MAX_LIST_CAP * 8 + GUARD_LEN] __attribute__((aligned(65536)));

static int guard_intact(const uint8_t *p, size_t n)
{
	uint8_t bad = 0;

	for (size_t i = 0; i < n; i++)
		bad |= p[i] ^ GUARD;
	return !bad;
}

/* Data region: 4 units whose bus addresses are not contiguous, allocated once. */
static struct nvp_dma_region data;
static uint64_t data_unit_iova[UNITS];

static void data_init(void)
{
	if (data.va)
		return;
	data.len = UNITS * NVP_DMA_UNIT_SIZE;
	data.va = aligned_alloc(NVP_DMA_UNIT_SIZE, data.len);
	FUZZ_CHECK(data.va != NULL);
	for (int k = 0; k < UNITS; k++)
		data_unit_iova[k] = DATA_IOVA + (uint64_t)(UNITS - k) * (64u << 20);
	data.unit_iova = data_unit_iova;
}

static uint64_t data_iova(size_t off)
{
	return data_unit_iova[off >> NVP_DMA_UNIT_SHIFT] + (off & (NVP_DMA_UNIT_SIZE - 1));
}

/* Offset in the data region of bus address @a, or SIZE_MAX when it is not in it. */
static size_t data_off(uint64_t a)
{
	for (size_t k = 0; k < UNITS; k++)
		if (a >= data_unit_iova[k] && a - data_unit_iova[k] < NVP_DMA_UNIT_SIZE)
			return (k << NVP_DMA_UNIT_SHIFT) + (size_t)(a - data_unit_iova[k]);
	return SIZE_MAX;
}

/* qpair.c's slot size: a power of two from 64 bytes up to a page, else whole pages. */
static size_t slot_bytes(size_t entries, size_t page)
{
	size_t bytes = 64;

	if (entries * 8 > page)
		return (entries * 8 + page - 1) & ~(page - 1);
	while (bytes < entries * 8)
		bytes <<= 1;
	return bytes;
}

/* List entries (chain pointers included) a walk of @pages data pages needs from list offset @lo. */
static size_t entries_needed(size_t pages, size_t lo, size_t page)
{
	size_t n = 0;

	for (size_t i = 0; i < pages; i++, n++, lo += 8)
		if (lo % page == page - 8 && i < pages - 1) {
			n++;
			lo += 8;
		}
	return n;
}

/* Walk the PRPs as the controller would: every data page in order, chains followed. */
static void check_prps(size_t off, size_t len, size_t page, const uint64_t *list, size_t list_cap,
		       uint64_t list_iova, uint64_t prp1, uint64_t prp2)
{
	size_t first = page - (off & (page - 1)), pages, i, n = 0;
	const uint64_t *e = list;

	if (len == 0) {
		FUZZ_CHECK(prp1 == 0 && prp2 == 0);
		return;
	}
	FUZZ_CHECK(prp1 == data_iova(off));
	if (len <= first) {
		FUZZ_CHECK(prp2 == 0);
		return;
	}
	pages = (len - first + page - 1) / page;
	off += first;
	if (pages == 1) {
		FUZZ_CHECK(prp2 == data_iova(off));
		return;
	}
	FUZZ_CHECK(prp2 == list_iova);
	for (i = 0; i < pages; i++, off += page) {
		size_t got;

		if (((uintptr_t)e & (page - 1)) == page - 8 && i < pages - 1) {
			/* The last slot of a list page chains to the next, page aligned. */
			FUZZ_CHECK(n++ < list_cap);
			FUZZ_CHECK(*e == list_iova + (uint64_t)((const uint8_t *)(e + 1) - (const uint8_t *)list));
			FUZZ_CHECK(*e % page == 0);
			e++;
		}
		FUZZ_CHECK(n++ < list_cap);
		FUZZ_CHECK(*e % page == 0);
		got = data_off(*e);
		/* Translates back into the buffer, at the page this position stands for. */
		FUZZ_CHECK(got != SIZE_MAX && got == off);
		FUZZ_CHECK(*e == data_iova(off));
		e++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *in_data, size_t in_size)
{
	struct fuzz_in in = { in_data, in_size };
	unsigned shift = 12 + (unsigned)(fuzz_take(&in, 1) % 5);
	unsigned mode = (unsigned)fuzz_take(&in, 1);
	size_t page = (size_t)1 << shift;
	size_t off, len, list_off, list_cap, end, pre, first, pages, needed;
	struct nvp_dma_region list_region = { 0 };
	uint64_t list_unit_iova = LIST_IOVA, list_iova, prp1 = ~0ull, prp2 = ~0ull, *list;
	int ret;

	data_init();
	off = (size_t)(fuzz_take(&in, 4) % data.len);
	len = (size_t)(fuzz_take(&in, 4) % (data.len - off + 1));
	list_off = (size_t)(fuzz_take(&in, 2) * 8 % page);
	list_cap = (size_t)(fuzz_take(&in, 2) % (MAX_LIST_CAP + 1));
	if (mode & 1) {
		/* max_xfer is always whole pages (MDTS, nvpoll's cap, the admin bounce buffer). */
		size_t max_xfer = (len + page - 1) & ~(page - 1);
		size_t entries = nvp_prp_list_entries(max_xfer, shift), slot = slot_bytes(entries, page);

		list_cap = entries;
		list_off = slot < page ? list_off / slot * slot : 0;
		if (list_cap > MAX_LIST_CAP)
			return 0;
	}

	/* Only [list, list + list_cap) may be written: a guard pattern on either side. */
	end = list_off + list_cap * 8;
	pre = list_off < GUARD_LEN ? list_off : GUARD_LEN;
	memset(list_mem + list_off - pre, GUARD, pre);
	memset(list_mem + end, GUARD, GUARD_LEN);
	ASAN_POISON_MEMORY_REGION(list_mem, list_off);
	ASAN_POISON_MEMORY_REGION(list_mem + end, sizeof(list_mem) - end);
	list = (uint64_t *)(list_mem + list_off);
	list_region.va = list_mem;
	list_region.len = NVP_DMA_UNIT_SIZE;
	list_region.unit_iova = &list_unit_iova;
	list_iova = LIST_IOVA + list_off;

	ret = nvp_prp_build(&data, data.va + off, len, shift, &list_region, list, list_cap, &prp1, &prp2);

	/* The outcome is decided by alignment and by the entries the walk needs. */
	first = page - (off & (page - 1));
	pages = len > first ? (len - first + page - 1) / page : 0;
	needed = pages > 1 ? entries_needed(pages, list_off, page) : 0;
	if (off & 3)
		FUZZ_CHECK(ret == -EINVAL);
	else if (needed > list_cap)
		FUZZ_CHECK(ret == -E2BIG);
	else
		FUZZ_CHECK(ret == 0);
	if (mode & 1 && !(off & 3))
		FUZZ_CHECK(ret == 0); /* what qpair.c sizes per slot always suffices */
	if (ret == 0)
		check_prps(off, len, page, list, list_cap, list_iova, prp1, prp2);
	ASAN_UNPOISON_MEMORY_REGION(list_mem, sizeof(list_mem));
	FUZZ_CHECK(guard_intact(list_mem + list_off - pre, pre) && guard_intact(list_mem + end, GUARD_LEN));
	return 0;
}
