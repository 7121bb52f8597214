/* SPDX-License-Identifier: MIT */
/*
 * IOVA allocator: a sorted array of free extents, first fit. A container
 * holds a handful of mappings (one per DMA memory chunk), so a linear walk
 * is the simplest thing that is obviously correct; it runs on the slow path.
 *
 * Extents are kept in 2 MiB units, which makes alignment automatic and keeps
 * an inclusive end of 2^64 - 1 from overflowing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfio/iova.h"

#define UNIT_MASK (NVP_IOVA_ALIGN - 1)
#define UNITS_MAX (1ull << (64 - NVP_IOVA_SHIFT)) /* one past the last unit */

static uint64_t len_to_units(uint64_t len)
{
	return (len >> NVP_IOVA_SHIFT) + ((len & UNIT_MASK) != 0);
}

/* The whole 2 MiB units inside [start, last], never unit 0. False if none. */
static int range_to_extent(const struct nvp_iova_range *r, struct nvp_iova_extent *e)
{
	if (r->last < r->start)
		return 0;
	e->start = len_to_units(r->start);
	if (e->start == 0)
		e->start = 1;
	if (r->last == UINT64_MAX)
		e->end = UNITS_MAX;
	else
		e->end = (r->last + 1) >> NVP_IOVA_SHIFT;
	return e->start < e->end;
}

static int extent_cmp(const void *a, const void *b)
{
	const struct nvp_iova_extent *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int grow(struct nvp_iova_space *sp)
{
	size_t cap = sp->cap ? sp->cap * 2 : 8;
	struct nvp_iova_extent *n = realloc(sp->free, cap * sizeof(*n));

	if (!n)
		return -ENOMEM;
	sp->free = n;
	sp->cap = cap;
	return 0;
}

int nvp_iova_space_init(struct nvp_iova_space *sp, const struct nvp_iova_range *ranges, size_t nr)
{
	struct nvp_iova_extent e;
	size_t i, out;
	int ret;

	memset(sp, 0, sizeof(*sp));
	for (i = 0; i < nr; i++) {
		if (!range_to_extent(&ranges[i], &e))
			continue;
		if (sp->nr_free == sp->cap && (ret = grow(sp)) < 0)
			goto out_fini;
		sp->free[sp->nr_free++] = e;
	}
	if (!sp->nr_free) {
		ret = -ENOSPC;
		goto out_fini;
	}

	/* The kernel sorts its list, but merging costs nothing and trusts nothing. */
	qsort(sp->free, sp->nr_free, sizeof(*sp->free), extent_cmp);
	for (i = 1, out = 0; i < sp->nr_free; i++) {
		if (sp->free[i].start <= sp->free[out].end) {
			if (sp->free[i].end > sp->free[out].end)
				sp->free[out].end = sp->free[i].end;
		} else {
			sp->free[++out] = sp->free[i];
		}
	}
	sp->nr_free = out + 1;

	sp->valid = malloc(sp->nr_free * sizeof(*sp->valid));
	if (!sp->valid) {
		ret = -ENOMEM;
		goto out_fini;
	}
	memcpy(sp->valid, sp->free, sp->nr_free * sizeof(*sp->valid));
	sp->nr_valid = sp->nr_free;
	return 0;

out_fini:
	nvp_iova_space_fini(sp);
	return ret;
}

void nvp_iova_space_fini(struct nvp_iova_space *sp)
{
	free(sp->free);
	free(sp->valid);
	memset(sp, 0, sizeof(*sp));
}

static void remove_at(struct nvp_iova_space *sp, size_t i)
{
	memmove(&sp->free[i], &sp->free[i + 1], (sp->nr_free - i - 1) * sizeof(*sp->free));
	sp->nr_free--;
}

int nvp_iova_space_alloc(struct nvp_iova_space *sp, size_t len, uint64_t *iova)
{
	uint64_t n = len_to_units(len);
	size_t i;

	if (!n)
		return -EINVAL;
	for (i = 0; i < sp->nr_free; i++) {
		struct nvp_iova_extent *e = &sp->free[i];

		if (e->end - e->start < n)
			continue;
		*iova = e->start << NVP_IOVA_SHIFT;
		e->start += n;
		if (e->start == e->end)
			remove_at(sp, i);
		return 0;
	}
	return -ENOSPC;
}

static int is_valid(const struct nvp_iova_space *sp, uint64_t start, uint64_t end)
{
	size_t i;

	for (i = 0; i < sp->nr_valid; i++)
		if (start >= sp->valid[i].start && end <= sp->valid[i].end)
			return 1;
	return 0;
}

int nvp_iova_space_free(struct nvp_iova_space *sp, uint64_t iova, size_t len)
{
	uint64_t start = iova >> NVP_IOVA_SHIFT, n = len_to_units(len), end;
	struct nvp_iova_extent *prev = NULL, *next = NULL;
	size_t i;
	int ret;

	if (!n || !start || (iova & UNIT_MASK) || n > UNITS_MAX - start)
		return -EINVAL;
	end = start + n;
	if (!is_valid(sp, start, end))
		return -EINVAL;

	/* i: first extent after the freed range; it and the one before must not overlap it. */
	for (i = 0; i < sp->nr_free && sp->free[i].start < end; i++)
		if (sp->free[i].end > start)
			return -EINVAL;
	if (i > 0 && sp->free[i - 1].end == start)
		prev = &sp->free[i - 1];
	if (i < sp->nr_free && sp->free[i].start == end)
		next = &sp->free[i];

	if (prev && next) {
		prev->end = next->end;
		remove_at(sp, i);
	} else if (prev) {
		prev->end = end;
	} else if (next) {
		next->start = start;
	} else {
		if (sp->nr_free == sp->cap && (ret = grow(sp)) < 0)
			return ret;
		memmove(&sp->free[i + 1], &sp->free[i], (sp->nr_free - i) * sizeof(*sp->free));
		sp->free[i] = (struct nvp_iova_extent){ start, end };
		sp->nr_free++;
	}
	return 0;
}

uint64_t nvp_iova_space_avail(const struct nvp_iova_space *sp)
{
	uint64_t units = 0;
	size_t i;

	for (i = 0; i < sp->nr_free; i++)
		units += sp->free[i].end - sp->free[i].start;
	return units << NVP_IOVA_SHIFT;
}
