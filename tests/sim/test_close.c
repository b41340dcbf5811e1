/*
 * test_close.c - the textbook conversation: three-way handshake, data both
 * ways, four-way close, TIME-WAIT for 2*MSL, asserted segment by segment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "world.h"

#define C 0
#define S 1

static int setup(void **state)
{
	static struct world w;
	world_prepare(&w);
	world_start(&w, 5 * W_MS);
	world_static_arp(&w);
	*state = &w;
	return 0;
}

static int teardown(void **state)
{
	world_free(*state);
	return 0;
}

static void handshake_data_four_way_close(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	assert_non_null(ls);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	assert_non_null(c);
	w_run(w, 100 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	assert_int_equal(w_state_of(s), SN_ESTABLISHED);

	assert_int_equal(sn_send(c, "01234567890123456789", 20, 0), 20);
	w_run(w, 100 * W_MS);
	char buf[64];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 20);
	assert_memory_equal(buf, "01234567890123456789", 20);
	assert_int_equal(sn_send(s, "abcdefghij", 10, 0), 10);
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 10);

	assert_int_equal(sn_close(c), 0);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_state_of(s), SN_CLOSE_WAIT);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0); /* end of stream */
	assert_int_equal(sn_close(s), 0);
	w_run(w, 100 * W_MS);

	assert_string_equal(w_segs(w, 0),
	                    "C SYN seq=1000 ack=0 len=0\n"
	                    "S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C PSH,ACK seq=1001 ack=8001 len=20\n"
	                    "S ACK seq=8001 ack=1021 len=0\n"
	                    "S PSH,ACK seq=8001 ack=1021 len=10\n"
	                    "C ACK seq=1021 ack=8011 len=0\n"
	                    "C FIN,ACK seq=1021 ack=8011 len=0\n"
	                    "S ACK seq=8011 ack=1022 len=0\n"
	                    "S FIN,ACK seq=8011 ack=1022 len=0\n"
	                    "C ACK seq=1022 ack=8012 len=0\n");
	assert_string_equal(w_states(w, C),
	                    "SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED");
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);

	/* TIME-WAIT ends 2*MSL (60 s) after it began, not before. */
	uint64_t tw_start = 0;
	for (size_t i = 0; i < w->nstates; i++)
		if (w->states[i].side == C && w->states[i].to == SN_TIME_WAIT)
			tw_start = w->states[i].t;
	w_run_until(w, tw_start + 60 * W_SEC - 1000);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);
	w_run_until(w, tw_start + 60 * W_SEC);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 0);
	assert_string_equal(w_states(w, C),
	                    "SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT CLOSED");
	sn_close(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(handshake_data_four_way_close, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
