/*
 * test_sack.c - the sender's SACK scoreboard (src/tcp/sack.c) and the
 * congestion-control arithmetic that needs no connection (RFC 6928's
 * initial window).
 *
 * Sequence numbers are written as BASE + offset; every test also runs with
 * BASE just below 2^32, so ranges cross the wrap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tcp/cc/cc.h"
#include "tcp/sack.h"

#define SMSS 1000u

static uint32_t base;

static uint32_t at(uint32_t off)
{
	return base + off;
}

static void assert_ranges(const struct sn_sackboard *b, unsigned n, const uint32_t (*want)[2])
{
	assert_int_equal(b->n, n);
	uint32_t sum = 0;
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(b->r[i].start, at(want[i][0]));
		assert_int_equal(b->r[i].end, at(want[i][1]));
		sum += want[i][1] - want[i][0];
	}
	assert_int_equal(b->sacked, sum);
}

static void add_merges_and_reports_news(void)
{
	struct sn_sackboard b = {0};
	uint32_t una = at(0), max = at(10000);
	assert_true(sn_sack_add(&b, at(3000), at(4000), una, max));
	assert_true(sn_sack_add(&b, at(6000), at(7000), una, max));
	assert_true(sn_sack_add(&b, at(1000), at(2000), una, max));
	const uint32_t three[][2] = {{1000, 2000}, {3000, 4000}, {6000, 7000}};
	assert_ranges(&b, 3, three);
	/* The same block again, or one inside a range: nothing new. */
	assert_false(sn_sack_add(&b, at(3000), at(4000), una, max));
	assert_false(sn_sack_add(&b, at(3200), at(3800), una, max));
	/* Touching ranges merge; one block can swallow several. */
	assert_true(sn_sack_add(&b, at(2000), at(3000), una, max));
	const uint32_t two[][2] = {{1000, 4000}, {6000, 7000}};
	assert_ranges(&b, 2, two);
	assert_true(sn_sack_add(&b, at(500), at(8000), una, max));
	const uint32_t one[][2] = {{500, 8000}};
	assert_ranges(&b, 1, one);
}

static void add_rejects_bad_blocks(void)
{
	struct sn_sackboard b = {0};
	uint32_t una = at(1000), max = at(10000);
	/* A D-SACK (RFC 2883) at or below SND.UNA, an empty or inverted block,
	 * one reaching past what was sent. */
	assert_false(sn_sack_add(&b, at(0), at(1000), una, max));
	assert_false(sn_sack_add(&b, at(2000), at(2000), una, max));
	assert_false(sn_sack_add(&b, at(3000), at(2000), una, max));
	assert_false(sn_sack_add(&b, at(9000), at(10001), una, max));
	assert_int_equal(b.n, 0);
	/* Partly below SND.UNA: only the part above counts. */
	assert_true(sn_sack_add(&b, at(500), at(1500), una, max));
	const uint32_t r[][2] = {{1000, 1500}};
	assert_ranges(&b, 1, r);
}

static void full_board_drops_new_ranges_only(void)
{
	struct sn_sackboard b = {0};
	uint32_t una = at(0), max = at(1000000);
	for (uint32_t i = 0; i < SN_SACK_RANGES; i++)
		assert_true(sn_sack_add(&b, at(1000 + 2000 * i), at(2000 + 2000 * i), una, max));
	assert_int_equal(b.n, SN_SACK_RANGES);
	/* No room for a separate range... */
	assert_false(sn_sack_add(&b, at(900000), at(901000), una, max));
	assert_int_equal(b.n, SN_SACK_RANGES);
	/* ...but growing an existing one still works. */
	assert_true(sn_sack_add(&b, at(2000), at(2500), una, max));
	assert_int_equal(b.n, SN_SACK_RANGES);
}

static void trim_forgets_below_una(void)
{
	struct sn_sackboard b = {0};
	uint32_t max = at(10000);
	sn_sack_add(&b, at(1000), at(2000), at(0), max);
	sn_sack_add(&b, at(3000), at(5000), at(0), max);
	sn_sack_trim(&b, at(2000));
	const uint32_t r1[][2] = {{3000, 5000}};
	assert_ranges(&b, 1, r1);
	sn_sack_trim(&b, at(4000)); /* a reneging receiver's ACK inside a range */
	const uint32_t r2[][2] = {{4000, 5000}};
	assert_ranges(&b, 1, r2);
	sn_sack_trim(&b, at(6000));
	assert_int_equal(b.n, 0);
	assert_int_equal(b.sacked, 0);
	assert_int_equal(sn_sack_high(&b, at(6000)), at(6000));
}

static void lookup_helpers(void)
{
	struct sn_sackboard b = {0};
	sn_sack_add(&b, at(1000), at(2000), at(0), at(9000));
	sn_sack_add(&b, at(4000), at(5000), at(0), at(9000));
	uint32_t end = 0;
	assert_true(sn_sack_has(&b, at(1000), &end));
	assert_int_equal(end, at(2000));
	assert_true(sn_sack_has(&b, at(4999), NULL));
	assert_false(sn_sack_has(&b, at(2000), NULL));
	assert_false(sn_sack_has(&b, at(999), NULL));
	assert_int_equal(sn_sack_next_start(&b, at(0), at(9000)), at(1000));
	assert_int_equal(sn_sack_next_start(&b, at(2000), at(9000)), at(4000));
	assert_int_equal(sn_sack_next_start(&b, at(2000), at(3000)), at(3000));
	assert_int_equal(sn_sack_next_start(&b, at(5000), at(9000)), at(9000));
	assert_int_equal(sn_sack_high(&b, at(0)), at(5000));
}

/*
 * RFC 6675 IsLost: more than (DupThresh - 1) * SMSS octets SACKed above, or
 * DupThresh separate ranges above.
 */
static void is_lost_by_bytes_or_ranges(void)
{
	struct sn_sackboard b = {0};
	uint32_t una = at(0), max = at(20000);
	sn_sack_add(&b, at(1000), at(3000), una, max); /* exactly 2 SMSS above 0..999 */
	assert_false(sn_sack_is_lost(&b, at(0), SMSS));
	sn_sack_add(&b, at(3000), at(3001), una, max); /* one octet more */
	assert_true(sn_sack_is_lost(&b, at(0), SMSS));
	assert_false(sn_sack_is_lost(&b, at(5000), SMSS)); /* nothing above */

	struct sn_sackboard c = {0};
	sn_sack_add(&c, at(1000), at(1100), una, max);
	sn_sack_add(&c, at(2000), at(2100), una, max);
	assert_false(sn_sack_is_lost(&c, at(0), SMSS));
	sn_sack_add(&c, at(3000), at(3100), una, max); /* the third range */
	assert_true(sn_sack_is_lost(&c, at(0), SMSS));
	assert_false(sn_sack_is_lost(&c, at(1500), SMSS)); /* two ranges above */
}

/*
 * SetPipe: holes that are not lost count, lost ones do not, and what was
 * resent (below HighRxt) counts once more; the tail above the last range
 * counts.
 */
static void pipe_counts_per_rfc6675(void)
{
	struct sn_sackboard b = {0};
	uint32_t una = at(0), max = at(10000);
	/* Nothing SACKed: pipe is the flight. */
	assert_int_equal(sn_sack_pipe(&b, una, max, una, SMSS), 10000);
	/* Holes 0-1000 (lost: 3 ranges above), 2000-3000, 4000-5000 (not
	 * lost), ranges 1000-2000, 3000-4000, 5000-6000, tail 6000-10000. */
	sn_sack_add(&b, at(1000), at(2000), una, max);
	sn_sack_add(&b, at(3000), at(4000), una, max);
	sn_sack_add(&b, at(5000), at(6000), una, max);
	assert_true(sn_sack_is_lost(&b, at(0), SMSS));
	assert_int_equal(sn_sack_pipe(&b, una, max, una, SMSS), 1000 + 1000 + 4000);
	/* The lost hole resent: it counts once (as resent). */
	assert_int_equal(sn_sack_pipe(&b, una, max, at(1000), SMSS), 1000 + 1000 + 4000 + 1000);
}

static void next_hole_rules_one_and_three(void)
{
	struct sn_sackboard b = {0};
	uint32_t una = at(0), max = at(10000), seq, len;
	sn_sack_add(&b, at(1500), at(2000), una, max);
	sn_sack_add(&b, at(3000), at(4000), una, max);
	sn_sack_add(&b, at(5000), at(6000), una, max);
	/* Rule 1: the lowest lost hole above HighRxt, at most one SMSS. */
	assert_true(sn_sack_next_hole(&b, una, una, SMSS, true, &seq, &len));
	assert_int_equal(seq, at(0));
	assert_int_equal(len, 1000);
	assert_true(sn_sack_next_hole(&b, una, at(1000), SMSS, true, &seq, &len));
	assert_int_equal(seq, at(1000));
	assert_int_equal(len, 500); /* not into the SACKed range */
	/* 2000-3000 has two ranges and 2000 octets above it: not lost. */
	assert_false(sn_sack_next_hole(&b, una, at(1500), SMSS, true, &seq, &len));
	/* Rule 3 takes it anyway. */
	assert_true(sn_sack_next_hole(&b, una, at(1500), SMSS, false, &seq, &len));
	assert_int_equal(seq, at(2000));
	assert_int_equal(len, 1000);
	/* Nothing above the highest range is a hole for these rules. */
	assert_false(sn_sack_next_hole(&b, una, at(5000), SMSS, false, &seq, &len));
}

static void run_both_bases(void (*f)(void))
{
	base = 1000;
	f();
	base = UINT32_MAX - 2500; /* the ranges cross 2^32 */
	f();
}

#define BOTH(name)                        \
	static void name##_t(void **state) \
	{                                 \
		(void)state;              \
		run_both_bases(name);     \
	}
BOTH(add_merges_and_reports_news)
BOTH(add_rejects_bad_blocks)
BOTH(full_board_drops_new_ranges_only)
BOTH(trim_forgets_below_una)
BOTH(lookup_helpers)
BOTH(is_lost_by_bytes_or_ranges)
BOTH(pipe_counts_per_rfc6675)
BOTH(next_hole_rules_one_and_three)

/* RFC 6928: IW = min(10 * MSS, max(2 * MSS, 14600)). */
static void initial_window_rfc6928(void **state)
{
	(void)state;
	assert_int_equal(sn_cc_initial_window(10, 1460), 14600);
	assert_int_equal(sn_cc_initial_window(10, 1448), 14480);
	assert_int_equal(sn_cc_initial_window(10, 536), 5360);
	assert_int_equal(sn_cc_initial_window(10, 9000), 18000);
	assert_int_equal(sn_cc_initial_window(4, 1460), 4 * 1460);
	assert_int_equal(sn_cc_initial_window(1, 1460), 1460);
	assert_int_equal(sn_cc_initial_window(0, 1460), 1460);
	/* No overflow for absurd settings. */
	assert_int_equal(sn_cc_initial_window(UINT32_MAX, 65495), 1u << 30);
}

static void algorithms_by_name(void **state)
{
	(void)state;
	assert_ptr_equal(sn_cc_find("cubic"), &sn_cc_cubic);
	assert_ptr_equal(sn_cc_find("newreno"), &sn_cc_newreno);
	assert_null(sn_cc_find("reno"));
	assert_null(sn_cc_find(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_merges_and_reports_news_t),
		cmocka_unit_test(add_rejects_bad_blocks_t),
		cmocka_unit_test(full_board_drops_new_ranges_only_t),
		cmocka_unit_test(trim_forgets_below_una_t),
		cmocka_unit_test(lookup_helpers_t),
		cmocka_unit_test(is_lost_by_bytes_or_ranges_t),
		cmocka_unit_test(pipe_counts_per_rfc6675_t),
		cmocka_unit_test(next_hole_rules_one_and_three_t),
		cmocka_unit_test(initial_window_rfc6928),
		cmocka_unit_test(algorithms_by_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
