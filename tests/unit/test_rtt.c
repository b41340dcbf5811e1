/*
 * test_rtt.c - the RFC 6298 estimator, value by value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "tcp/rtt.h"

#define MS 1000u
#define SEC 1000000u

static void initial_rto_before_any_sample(void **state)
{
	struct sn_rtt r;
	struct sn_rto_bounds b = { 200 * MS, 120 * SEC };
	sn_rtt_init(&r, &b, 1 * SEC);
	assert_int_equal(r.rto_us, 1 * SEC);
	assert_int_equal(r.srtt_us, 0);
}

static void first_sample(void **state)
{
	struct sn_rtt r;
	struct sn_rto_bounds b = { 1 * MS, 120 * SEC };
	sn_rtt_init(&r, &b, 1 * SEC);
	sn_rtt_sample(&r, &b, 100 * MS);
	/* 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR = 300 ms. */
	assert_int_equal(r.srtt_us, 100 * MS);
	assert_int_equal(r.rttvar_us, 50 * MS);
	assert_int_equal(r.rto_us, 300 * MS);
}

static void later_samples(void **state)
{
	struct sn_rtt r;
	struct sn_rto_bounds b = { 1 * MS, 120 * SEC };
	sn_rtt_init(&r, &b, 1 * SEC);
	sn_rtt_sample(&r, &b, 100 * MS);
	sn_rtt_sample(&r, &b, 200 * MS);
	/* 2.3: RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 ms,
	 *      SRTT = 7/8 * 100 + 1/8 * 200 = 112.5 ms,
	 *      RTO = 112.5 + 4 * 62.5 = 362.5 ms. */
	assert_int_equal(r.rttvar_us, 62500);
	assert_int_equal(r.srtt_us, 112500);
	assert_int_equal(r.rto_us, 362500);
	sn_rtt_sample(&r, &b, 112500);
	/* delta 0: RTTVAR shrinks by a quarter, SRTT unchanged. */
	assert_int_equal(r.rttvar_us, 46875);
	assert_int_equal(r.srtt_us, 112500);
	assert_int_equal(r.rto_us, 112500 + 4 * 46875);
}

static void converges_on_a_steady_rtt(void **state)
{
	struct sn_rtt r;
	struct sn_rto_bounds b = { 1 * MS, 120 * SEC };
	sn_rtt_init(&r, &b, 1 * SEC);
	for (int i = 0; i < 200; i++)
		sn_rtt_sample(&r, &b, 40 * MS);
	assert_int_equal(r.srtt_us, 40 * MS);
	/* RTTVAR decays toward 0, so G (1 ms) sets the margin. */
	assert_true(r.rttvar_us < SN_RTT_GRANULARITY_US / 4);
	assert_int_equal(r.rto_us, 40 * MS + SN_RTT_GRANULARITY_US);
}

static void minimum_applies(void **state)
{
	struct sn_rtt r;
	struct sn_rto_bounds b = { 1 * SEC, 120 * SEC };
	sn_rtt_init(&r, &b, 1 * SEC);
	sn_rtt_sample(&r, &b, 10 * MS);
	/* 2.4: 10 + 4 * 5 = 30 ms is raised to the 1 s minimum. */
	assert_int_equal(r.rto_us, 1 * SEC);
	assert_int_equal(r.srtt_us, 10 * MS);
}

static void backoff_doubles_up_to_max(void **state)
{
	struct sn_rtt r;
	struct sn_rto_bounds b = { 1 * SEC, 60 * SEC };
	sn_rtt_init(&r, &b, 1 * SEC);
	uint32_t expect[] = {2, 4, 8, 16, 32, 60, 60};
	for (unsigned i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		sn_rtt_backoff(&r, &b);
		assert_int_equal(r.rto_us, expect[i] * SEC);
	}
	/* A new sample recomputes the RTO from the estimate (5.7 aside). */
	sn_rtt_sample(&r, &b, 500 * MS);
	assert_int_equal(r.rto_us, 1500 * MS);
}

static void ack_of_new_data_undoes_backoff(void **state)
{
	struct sn_rtt r;
	struct sn_rto_bounds b = { 200 * MS, 60 * SEC };
	sn_rtt_init(&r, &b, 1 * SEC);
	sn_rtt_sample(&r, &b, 100 * MS);
	assert_int_equal(r.rto_us, 300 * MS);
	sn_rtt_backoff(&r, &b);
	sn_rtt_backoff(&r, &b);
	assert_int_equal(r.rto_us, 1200 * MS);
	sn_rtt_reset_backoff(&r, &b);
	assert_int_equal(r.rto_us, 300 * MS);
	assert_int_equal(r.srtt_us, 100 * MS); /* the estimate is untouched */
	sn_rtt_reset_backoff(&r, &b); /* nothing to undo: the same RTO */
	assert_int_equal(r.rto_us, 300 * MS);
	sn_rtt_backoff(&r, &b);
	sn_rtt_sample(&r, &b, 100 * MS); /* a sample ends the backoff too */
	assert_int_equal(r.rto_us, 250 * MS); /* RTTVAR 37.5 ms now */
	sn_rtt_reset_backoff(&r, &b);
	assert_int_equal(r.rto_us, 250 * MS);
	/* RFC 6298 5.7: 3 s after a retransmitted SYN, before any sample. */
	sn_rtt_init(&r, &b, 1 * SEC);
	sn_rtt_backoff(&r, &b);
	sn_rtt_set_base(&r, &b, 3 * SEC);
	assert_int_equal(r.rto_us, 3 * SEC);
}

static void zero_sample_counts(void **state)
{
	struct sn_rtt r;
	struct sn_rto_bounds b = { 1, 120 * SEC };
	sn_rtt_init(&r, &b, 1 * SEC);
	sn_rtt_sample(&r, &b, 0);
	assert_int_not_equal(r.srtt_us, 0); /* still "have a sample" */
	assert_int_equal(r.rto_us, 1 + SN_RTT_GRANULARITY_US);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(initial_rto_before_any_sample),
		cmocka_unit_test(first_sample),
		cmocka_unit_test(later_samples),
		cmocka_unit_test(converges_on_a_steady_rtt),
		cmocka_unit_test(minimum_applies),
		cmocka_unit_test(backoff_doubles_up_to_max),
		cmocka_unit_test(ack_of_new_data_undoes_backoff),
		cmocka_unit_test(zero_sample_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
