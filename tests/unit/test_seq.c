/*
 * test_seq.c - modular sequence number arithmetic (src/tcp/seq.h).
 *
 * The comparisons must agree with the plain integer order of the signed
 * distance between two numbers less than 2^31 apart, wherever they sit on
 * the circle, and in particular across the wrap from 2^32 - 1 to 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp/seq.h"
#include "util/rand.h"

/* Starting points: zero, both sides of the wrap and of 2^31, and odd ones. */
static const uint32_t bases[] = {
	0, 1, 0x10, 0x7ffffff0, 0x7fffffff, 0x80000000, 0x80000001,
	0xfffffff0, 0xfffffffe, 0xffffffff, 0x12345678, 0xdeadbeef,
};
#define N_BASES (sizeof(bases) / sizeof(bases[0]))

/* Signed distances, all of magnitude below 2^31. */
static const int32_t deltas[] = {
	0, 1, -1, 2, -2, 0x10, -0x10, 0x20, -0x20, 1000, -1000, 0xffff, -0xffff,
	0x40000000, -0x40000000, INT32_MAX - 1, -(INT32_MAX - 1), INT32_MAX, -INT32_MAX,
};
#define N_DELTAS (sizeof(deltas) / sizeof(deltas[0]))

static uint32_t seq_add(uint32_t a, int32_t d)
{
	return a + (uint32_t)d;
}

static void test_diff(void **state)
{
	assert_int_equal(sn_seq_diff(0x10, 0xfffffff0), 0x20);
	assert_int_equal(sn_seq_diff(0xfffffff0, 0x10), -0x20);
	assert_int_equal(sn_seq_diff(0, 0xffffffff), 1);
	assert_int_equal(sn_seq_diff(0xffffffff, 0), -1);
	assert_int_equal(sn_seq_diff(5, 5), 0);
	assert_int_equal(sn_seq_diff(0x7fffffff, 0), INT32_MAX);
	assert_int_equal(sn_seq_diff(0, 0x7fffffff), -INT32_MAX);
	/* 2^31 apart there is no sign to give; both ways read as -2^31. */
	assert_int_equal(sn_seq_diff(0x80000000, 0), INT32_MIN);
	assert_int_equal(sn_seq_diff(0, 0x80000000), INT32_MIN);

	for (size_t i = 0; i < N_BASES; i++)
		for (size_t j = 0; j < N_DELTAS; j++)
			assert_int_equal(sn_seq_diff(seq_add(bases[i], deltas[j]), bases[i]),
					 deltas[j]);
}

static void test_compare_across_wrap(void **state)
{
	assert_true(sn_seq_lt(0xfffffff0, 0x10));
	assert_true(sn_seq_leq(0xfffffff0, 0x10));
	assert_false(sn_seq_gt(0xfffffff0, 0x10));
	assert_false(sn_seq_geq(0xfffffff0, 0x10));

	assert_false(sn_seq_lt(0x10, 0xfffffff0));
	assert_false(sn_seq_leq(0x10, 0xfffffff0));
	assert_true(sn_seq_gt(0x10, 0xfffffff0));
	assert_true(sn_seq_geq(0x10, 0xfffffff0));

	assert_true(sn_seq_lt(0xffffffff, 0));
	assert_true(sn_seq_gt(0, 0xffffffff));

	/* Equal: only the non-strict ones hold. */
	assert_false(sn_seq_lt(0xffffffff, 0xffffffff));
	assert_true(sn_seq_leq(0xffffffff, 0xffffffff));
	assert_false(sn_seq_gt(0, 0));
	assert_true(sn_seq_geq(0, 0));
}

static void test_compare_at_2_31(void **state)
{
	for (size_t i = 0; i < N_BASES; i++) {
		uint32_t a = bases[i];
		uint32_t near = a + 0x7fffffff; /* the farthest that still orders */
		uint32_t half = a + 0x80000000;

		assert_true(sn_seq_lt(a, near));
		assert_true(sn_seq_gt(near, a));
		assert_false(sn_seq_geq(a, near));
		assert_false(sn_seq_leq(near, a));

		/* Past half the circle the order flips: a + 2^31 + 1 is before a. */
		assert_true(sn_seq_gt(a, half + 1));
		assert_true(sn_seq_lt(half + 1, a));

		/*
		 * Exactly half the circle apart neither is really first; the
		 * functions say each is before the other. Callers keep windows
		 * below 2^31 so this never arises.
		 */
		assert_true(sn_seq_lt(a, half));
		assert_true(sn_seq_lt(half, a));
	}
}

/* For every pair less than 2^31 apart: the order of the signed distance. */
static void test_compare_agrees_with_distance(void **state)
{
	struct sn_rand rng;

	sn_rand_seed(&rng, 0x5e9);
	for (size_t n = 0; n < N_BASES * N_DELTAS + 200000; n++) {
		uint32_t a;
		int32_t d;

		if (n < N_BASES * N_DELTAS) {
			a = bases[n / N_DELTAS];
			d = deltas[n % N_DELTAS];
		} else {
			a = (uint32_t)sn_rand_next(&rng);
			/* Uniform over -(2^31 - 1) .. 2^31 - 1. */
			d = (int32_t)((int64_t)sn_rand_below(&rng, 0xffffffffu) - INT32_MAX);
		}
		uint32_t b = seq_add(a, d);

		/* b is d after a. */
		assert_int_equal(sn_seq_lt(a, b), d > 0);
		assert_int_equal(sn_seq_leq(a, b), d >= 0);
		assert_int_equal(sn_seq_gt(a, b), d < 0);
		assert_int_equal(sn_seq_geq(a, b), d <= 0);
		assert_int_equal(sn_seq_lt(b, a), d < 0);
		assert_int_equal(sn_seq_gt(b, a), d > 0);
		assert_int_equal(sn_seq_max(a, b), d >= 0 ? b : a);
		assert_int_equal(sn_seq_min(a, b), d >= 0 ? a : b);
		assert_int_equal(sn_seq_max(b, a), sn_seq_max(a, b));
		assert_int_equal(sn_seq_min(b, a), sn_seq_min(a, b));
	}
}

static void test_max_min(void **state)
{
	assert_int_equal(sn_seq_max(0xfffffff0, 0x10), 0x10);
	assert_int_equal(sn_seq_max(0x10, 0xfffffff0), 0x10);
	assert_int_equal(sn_seq_min(0xfffffff0, 0x10), 0xfffffff0);
	assert_int_equal(sn_seq_min(0x10, 0xfffffff0), 0xfffffff0);
	assert_int_equal(sn_seq_max(3, 7), 7);
	assert_int_equal(sn_seq_min(3, 7), 3);
	assert_int_equal(sn_seq_max(0x7fffffff, 0x80000000), 0x80000000);
	assert_int_equal(sn_seq_min(0x7fffffff, 0x80000000), 0x7fffffff);
	assert_int_equal(sn_seq_max(9, 9), 9);
	assert_int_equal(sn_seq_min(9, 9), 9);
}

static void test_in_plain_and_wrapping(void **state)
{
	/* [10, 20) */
	assert_false(sn_seq_in(9, 10, 20));
	assert_true(sn_seq_in(10, 10, 20));
	assert_true(sn_seq_in(19, 10, 20));
	assert_false(sn_seq_in(20, 10, 20));
	assert_false(sn_seq_in(0x80000010, 10, 20));

	/* [0xfffffff0, 0x10): across the wrap */
	assert_false(sn_seq_in(0xffffffef, 0xfffffff0, 0x10));
	assert_true(sn_seq_in(0xfffffff0, 0xfffffff0, 0x10));
	assert_true(sn_seq_in(0xffffffff, 0xfffffff0, 0x10));
	assert_true(sn_seq_in(0, 0xfffffff0, 0x10));
	assert_true(sn_seq_in(0xf, 0xfffffff0, 0x10));
	assert_false(sn_seq_in(0x10, 0xfffffff0, 0x10));
	assert_false(sn_seq_in(0x80000000, 0xfffffff0, 0x10));

	/* A range ending exactly at the wrap, and one starting there. */
	assert_true(sn_seq_in(0xffffffff, 0xfffffff0, 0));
	assert_false(sn_seq_in(0, 0xfffffff0, 0));
	assert_true(sn_seq_in(0, 0, 5));
	assert_false(sn_seq_in(0xffffffff, 0, 5));

	/* Half the circle and more: the test is the offset from lo, not order. */
	assert_true(sn_seq_in(0x90000000, 0x10000000, 0x90000001));
	assert_false(sn_seq_in(0x90000001, 0x10000000, 0x90000001));
	assert_true(sn_seq_in(3, 5, 4));
	assert_false(sn_seq_in(4, 5, 4));
}

static void test_in_empty(void **state)
{
	for (size_t i = 0; i < N_BASES; i++) {
		uint32_t lo = bases[i];

		assert_false(sn_seq_in(lo, lo, lo));
		assert_false(sn_seq_in(lo + 1, lo, lo));
		assert_false(sn_seq_in(lo - 1, lo, lo));
		assert_false(sn_seq_in(lo + 0x80000000, lo, lo));
		/* One-element range: only lo. */
		assert_true(sn_seq_in(lo, lo, lo + 1));
		assert_false(sn_seq_in(lo + 1, lo, lo + 1));
		assert_false(sn_seq_in(lo - 1, lo, lo + 1));
	}
}

/* Against counting: x is in [lo, lo + n) when lo + k == x for some k < n. */
static void test_in_against_counting(void **state)
{
	struct sn_rand rng;

	sn_rand_seed(&rng, 0x1a);
	for (unsigned iter = 0; iter < 20000; iter++) {
		uint32_t lo = iter < N_BASES ? bases[iter] : (uint32_t)sn_rand_next(&rng);
		uint32_t n = sn_rand_below(&rng, 40);
		uint32_t hi = lo + n;

		for (uint32_t j = 0; j < n + 10; j++) {
			uint32_t x = lo - 5 + j;
			bool want = false;

			for (uint32_t k = 0; k < n; k++)
				if (lo + k == x)
					want = true;
			assert_int_equal(sn_seq_in(x, lo, hi), want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_compare_across_wrap),
		cmocka_unit_test(test_compare_at_2_31),
		cmocka_unit_test(test_compare_agrees_with_distance),
		cmocka_unit_test(test_max_min),
		cmocka_unit_test(test_in_plain_and_wrapping),
		cmocka_unit_test(test_in_empty),
		cmocka_unit_test(test_in_against_counting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
