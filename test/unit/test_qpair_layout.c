/* SPDX-License-Identifier: MIT */
/*
 * No cache line is written by two qpairs: each thread owns its qpair, and a
 * line two threads write bounces between their cores on every I/O. Every
 * piece of memory a qpair's I/O path writes -- the qpair itself, its slots,
 * its SQ, CQ and PRP lists -- is checked, for qpairs created on different
 * threads of one device, to lie on cache lines no other qpair's does. The
 * struct layout asserts the per-submit fields' line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <nvpoll.h>

#define LINE 64u
#define NQP 6

/* The per-submit fields fill the qpair's first line, the ring fields start the second. */
_Static_assert(offsetof(struct nvp_qpair, sq) == 0, "the qpair starts with its per-submit line");
_Static_assert(offsetof(struct nvp_qpair, max_xfer) + sizeof(uint32_t) <= LINE, "per-submit fields in line 0");
_Static_assert(offsetof(struct nvp_qpair, sq_db) == LINE, "the ring fields start line 1");
_Static_assert(sizeof(struct nvp_req) % LINE == 0 && _Alignof(struct nvp_req) == LINE,
	       "a slot is whole cache lines");

/* [first, last] cache line index of one memory range of one qpair. */
struct span {
	uintptr_t first, last;
	int owner;
	const char *what;
};

static int add(struct span *s, int n, int owner, const char *what, const void *p, size_t len)
{
	assert_true(len > 0);
	s[n] = (struct span){ (uintptr_t)p / LINE, ((uintptr_t)p + len - 1) / LINE, owner, what };
	return n + 1;
}

static int spans_of(struct span *s, int n, int owner, const struct nvp_qpair *qp)
{
	unsigned slots = qp->size - 1u;

	/* The whole struct: its stats, ring state and slow-path fields are all written by its thread. */
	n = add(s, n, owner, "struct nvp_qpair", qp, sizeof(*qp));
	n = add(s, n, owner, "request slots", qp->reqs, slots * sizeof(*qp->reqs));
	n = add(s, n, owner, "SQ", qp->sq, qp->size * sizeof(*qp->sq));
	n = add(s, n, owner, "CQ", (const void *)qp->cq, qp->size * sizeof(*qp->cq));
	assert_true(slots >= 2);
	if (qp->reqs[0].prp_list) /* one run: slot i's list at a fixed stride from slot 0's */
		n = add(s, n, owner, "PRP lists", qp->reqs[0].prp_list,
			slots * (size_t)((uint8_t *)qp->reqs[1].prp_list - (uint8_t *)qp->reqs[0].prp_list));
	return n;
}

/* 1 with *a, *b set when two spans of different owners share a line. */
static int find_shared(const struct span *s, int n, int *a, int *b)
{
	for (*a = 0; *a < n; (*a)++)
		for (*b = *a + 1; *b < n; (*b)++)
			if (s[*a].owner != s[*b].owner && s[*a].first <= s[*b].last && s[*b].first <= s[*a].last)
				return 1;
	return 0;
}

/* The checker itself: two slot arrays 64 bytes apart in one allocation do share a line, 128 apart do not. */
static void test_checker(void **state)
{
	static struct nvp_req mem[4];
	struct span s[2];
	int a, b;
	(void)state;

	add(s, add(s, 0, 0, "slots", &mem[0], 2 * sizeof(mem[0])), 1, "slots", (uint8_t *)&mem[2] - 64,
	    sizeof(mem[0]));
	assert_true(find_shared(s, 2, &a, &b));
	add(s, add(s, 0, 0, "slots", &mem[0], 2 * sizeof(mem[0])), 1, "slots", &mem[2], sizeof(mem[0]));
	assert_false(find_shared(s, 2, &a, &b));
}

struct maker {
	struct nvp_dev *dev;
	unsigned depth;
	struct nvp_qpair *qp;
};

static void *make_qpair(void *arg)
{
	struct maker *m = arg;

	m->qp = nvp_qpair_create(m->dev, &(struct nvp_qpair_opts){ .depth = m->depth });
	return NULL;
}

static void test_no_shared_lines(void **state)
{
	struct nvp_dev *dev = nvp_dev_open("sim:nqueues=8", NULL);
	struct maker m[NQP];
	struct span s[NQP * 5];
	int n = 0, a, b;
	(void)state;

	assert_non_null(dev);
	/* Each qpair on a thread of its own, as nvpoll-perf -T makes them; odd depths so sizes differ. */
	for (int i = 0; i < NQP; i++) {
		pthread_t t;

		m[i] = (struct maker){ .dev = dev, .depth = 3 + 2 * (unsigned)i };
		assert_int_equal(pthread_create(&t, NULL, make_qpair, &m[i]), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_non_null(m[i].qp);
		assert_int_equal((uintptr_t)m[i].qp % LINE, 0);
		n = spans_of(s, n, i, m[i].qp);
	}
	if (find_shared(s, n, &a, &b))
		fail_msg("qpair %d's %s and qpair %d's %s share cache line %#lx", s[a].owner, s[a].what, s[b].owner,
			 s[b].what, (unsigned long)((s[a].first > s[b].first ? s[a].first : s[b].first) * LINE));
	for (int i = 0; i < NQP; i++)
		nvp_qpair_destroy(m[i].qp);
	nvp_dev_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker),
		cmocka_unit_test(test_no_shared_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
