/*
 * test_close2.c - the ways a connection ends, beyond the textbook four-way
 * close of test_close.c: half-close, the server closing first, simultaneous
 * close (RFC 9293 3.6 figure 13), TIME-WAIT (re-ACK of a retransmitted FIN,
 * 2*MSL, reopening by a new SYN, RFC 1122 4.2.2.13), a lost FIN, and the
 * lifetime of an orphaned FIN-WAIT-2 connection (which sends no keepalives).
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core.h" /* the stack's copy of its config: a later incarnation's ISN */
#include "world.h"

#define C 0
#define S 1
#define DELAY (5 * W_MS)

#define setup world_setup
#define teardown world_teardown

#define go(w) world_go((w), DELAY)

/* Connect from C:cport to S:80 and accept; returns the server's socket. */
static struct sn_sock *establish(struct world *w, struct sn_sock *ls, uint16_t cport,
                                 struct sn_sock **c)
{
	*c = w_connect(w, C, cport, 80);
	assert_non_null(*c);
	w_run(w, 100 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	assert_int_equal(w_state_of(*c), SN_ESTABLISHED);
	return s;
}

/* Connections from C:from .. C:to-1 to S:80, each closed by the server
 * first, so that the server keeps a TIME-WAIT record for each. */
static void server_closes_each(struct world *w, struct sn_sock *ls, uint16_t from, uint16_t to)
{
	struct sn_sock *c;
	char buf[4];
	for (uint16_t port = from; port < to; port++) {
		struct sn_sock *s = establish(w, ls, port, &c);
		assert_int_equal(sn_close(s), 0);
		w_run(w, 20 * W_MS);
		assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 0);
		assert_int_equal(sn_close(c), 0);
		w_run(w, 20 * W_MS);
	}
}

/*
 * tw_max bounds the TIME-WAIT records: six connections that the server
 * closes first leave it four records, the two oldest ended early. A SYN to
 * a 4-tuple still in TIME-WAIT (with the fixed ISN, below what the record
 * expects) is answered by an ACK (which the client answers with a RST, RFC
 * 9293 3.10.7.3); the oldest 4-tuple, whose record went, is open again and
 * gets a SYN-ACK.
 */
static void time_wait_records_bounded(void **state)
{
	struct world *w = *state;
	w->cfg[S].tw_max = 4;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	server_closes_each(w, ls, 40000, 40006);
	assert_int_equal(w_stats(w, S).tcp_tw_created, 6);
	assert_int_equal(w_stats(w, S).tcp_curr_tw, 4);
	assert_int_equal(w_stats(w, S).tcp_tw_evicted, 2);

	size_t mark = w->nsegs;
	c = w_connect(w, C, 40005, 80);
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark), "C SYN seq=1000 ack=0 len=0\n"
	                                     "S ACK seq=8002 ack=1002 len=0\n"
	                                     "C RST seq=1002 ack=0 len=0\n");
	sn_abort(c);
	w_run(w, 100 * W_MS);

	mark = w->nsegs;
	c = w_connect(w, C, 40000, 80);
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark), "C SYN seq=1000 ack=0 len=0\n"
	                                     "S SYN,ACK seq=8000 ack=1001 len=0\n"
	                                     "C ACK seq=1001 ack=8001 len=0\n");
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	sn_close(ls);
}

/*
 * Records come from blocks of 63 (tcb.c): 300 of them fill five blocks, and
 * their table doubles on the way (256 buckets to 512), placing each
 * record by the hash bits it keeps; they expire together (each found in its
 * bucket again: the count would stay above 0 otherwise), a second round
 * takes blocks again, and the stack's teardown frees the rest
 * (AddressSanitizer checks both in test-sanitize). Half of the second round
 * is ended early by a RST from the client, out of the FIFO's order, each
 * record found by a lookup in the grown table.
 */
static void many_time_wait_records(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 256), *c;
	for (int round = 0; round < 2; round++) {
		server_closes_each(w, ls, 40000, 40300);
		assert_int_equal(w_stats(w, S).tcp_curr_tw, 300);
		if (round == 0) {
			w_run(w, 61 * W_SEC);
			assert_int_equal(w_stats(w, S).tcp_curr_tw, 0);
		}
	}
	/* A SYN with the fixed ISN to every other 4-tuple: the record ACKs, the
	 * client's RST ends the record (RFC 9293 3.10.7.4). */
	for (uint16_t port = 40000; port < 40300; port += 2) {
		c = w_connect(w, C, port, 80);
		w_run(w, 20 * W_MS);
		sn_abort(c);
	}
	w_run(w, 100 * W_MS);
	assert_int_equal(w_stats(w, S).tcp_curr_tw, 150);
	sn_close(ls);
}

static void half_close(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	size_t mark = w->nsegs;
	char buf[64];

	/* The client's request and its end, in one segment. */
	assert_int_equal(sn_send(c, "hello", 5, 0), 5);
	assert_int_equal(sn_shutdown(c, SHUT_WR), 0);
	assert_int_equal(sn_send(c, "more", 4, 0), -EPIPE);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_state_of(c), SN_FIN_WAIT_2);
	assert_int_equal(w_state_of(s), SN_CLOSE_WAIT);
	assert_int_equal(sn_send(c, "more", 4, 0), -EPIPE);
	assert_int_equal(sn_shutdown(c, SHUT_WR), 0); /* again: nothing new */

	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0);

	/* The server still talks; the half-closed client still listens. */
	assert_int_equal(sn_send(s, "world!", 6, 0), 6);
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "world!", 6);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(sn_send(s, "again", 5, 0), 5);
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 5);

	assert_int_equal(sn_close(s), 0);
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 0);

	assert_string_equal(w_segs(w, mark),
	                    "C FIN,PSH,ACK seq=1001 ack=8001 len=5\n"
	                    "S ACK seq=8001 ack=1007 len=0\n"
	                    "S PSH,ACK seq=8001 ack=1007 len=6\n"
	                    "C ACK seq=1007 ack=8007 len=0\n"
	                    "S PSH,ACK seq=8007 ack=1007 len=5\n"
	                    "C ACK seq=1007 ack=8012 len=0\n"
	                    "S FIN,ACK seq=8012 ack=1007 len=0\n"
	                    "C ACK seq=1007 ack=8013 len=0\n");
	assert_string_equal(w_states(w, C),
	                    "SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 TIME_WAIT");
	assert_string_equal(w_states(w, S),
	                    "LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED");
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);
	assert_int_equal(sn_close(c), 0);
	sn_close(ls);
}

static void server_closes_first(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	size_t mark = w->nsegs;
	char buf[16];

	assert_int_equal(sn_close(s), 0);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_state_of(c), SN_CLOSE_WAIT);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 0);
	assert_int_equal(sn_close(c), 0);
	w_run(w, 100 * W_MS);

	assert_string_equal(w_segs(w, mark),
	                    "S FIN,ACK seq=8001 ack=1001 len=0\n"
	                    "C ACK seq=1001 ack=8002 len=0\n"
	                    "C FIN,ACK seq=1001 ack=8002 len=0\n"
	                    "S ACK seq=8002 ack=1002 len=0\n");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED ESTABLISHED FIN_WAIT_1 "
	                                    "FIN_WAIT_2 TIME_WAIT");
	assert_string_equal(w_states(w, C), "SYN_SENT ESTABLISHED CLOSE_WAIT LAST_ACK CLOSED");
	assert_int_equal(w_stats(w, S).tcp_curr_tw, 1);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 0);
	assert_int_equal(w_stats(w, S).tcp_curr_estab, 0);
	assert_int_equal(w_stats(w, C).tcp_curr_estab, 0);

	/* The server's TIME-WAIT lasts 2*MSL and then ends silently. */
	uint64_t tw = w_state_time(w, S, SN_TIME_WAIT);
	w_run_until(w, tw + 60 * W_SEC);
	assert_int_equal(w_stats(w, S).tcp_curr_tw, 0);
	assert_int_equal(w_state_time(w, S, SN_CLOSED), tw + 60 * W_SEC);
	assert_int_equal(w->nsegs, mark + 4);
	sn_close(ls);
}

/*
 * RFC 9293 3.6 figure 13: both FINs cross. Each side is in FIN-WAIT-1 when
 * the other's FIN arrives, so it goes to CLOSING and ACKs it; the ACK of its
 * own FIN then takes it to TIME-WAIT. Exactly FIN, FIN, ACK, ACK.
 */
static void simultaneous_close(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	size_t mark = w->nsegs;
	uint64_t t0 = w->net.now_us;

	assert_int_equal(sn_close(c), 0);
	assert_int_equal(sn_close(s), 0);
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark),
	                    "C FIN,ACK seq=1001 ack=8001 len=0\n"
	                    "S FIN,ACK seq=8001 ack=1001 len=0\n"
	                    "S ACK seq=8002 ack=1002 len=0\n"
	                    "C ACK seq=1002 ack=8002 len=0\n");
	assert_string_equal(w_states(w, C),
	                    "SYN_SENT ESTABLISHED FIN_WAIT_1 CLOSING TIME_WAIT");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED ESTABLISHED FIN_WAIT_1 "
	                                    "CLOSING TIME_WAIT");
	assert_int_equal(w_state_time(w, C, SN_CLOSING), t0 + 5 * W_MS);
	assert_int_equal(w_state_time(w, C, SN_TIME_WAIT), t0 + 10 * W_MS);
	assert_int_equal(w_state_time(w, S, SN_TIME_WAIT), t0 + 10 * W_MS);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);
	assert_int_equal(w_stats(w, S).tcp_curr_tw, 1);

	w_run_until(w, t0 + 10 * W_MS + 60 * W_SEC);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 0);
	assert_int_equal(w_stats(w, S).tcp_curr_tw, 0);
	assert_int_equal(w->nsegs, mark + 4);
	sn_close(ls);
}

/* The client closes first and ends in TIME-WAIT; returns when it got there. */
static uint64_t client_to_time_wait(struct world *w, struct sn_sock *ls, uint16_t cport)
{
	struct sn_sock *c;
	struct sn_sock *s = establish(w, ls, cport, &c);
	sn_close(c);
	w_run(w, 100 * W_MS);
	sn_close(s);
	w_run(w, 100 * W_MS);
	return w_state_time(w, C, SN_TIME_WAIT);
}

/*
 * RFC 9293 3.10.7.4, eighth check, TIME-WAIT: "The only thing that can
 * arrive in this state is a retransmission of the remote FIN. Acknowledge
 * it, and restart the 2 MSL timeout."
 */
static void time_wait_reacks_fin_and_restarts(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	uint64_t tw = client_to_time_wait(w, ls, 40000);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);
	size_t mark = w->nsegs;

	w_run_until(w, tw + 30 * W_SEC);
	/* The server really is closed and would answer the re-ACK with a RST,
	 * which ends TIME-WAIT (see time_wait_reack_draws_rst); keep it away. */
	w_impair(w, C, 1000000, DELAY);
	/* A plain ACK in the window: nothing to say, and no restart. */
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 8002, .ack = 1002,
	                               .flags = SN_TH_ACK});
	assert_int_equal(w->nsegs, mark);
	/* The server's FIN again. */
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 8001, .ack = 1002,
	                               .flags = SN_TH_FIN | SN_TH_ACK});
	assert_string_equal(w_segs(w, mark), "C ACK seq=1002 ack=8002 len=0\n");
	assert_int_equal(w->segs[mark].t, tw + 30 * W_SEC);
	assert_int_equal(w_stats(w, C).tcp_tw_reack, 1);

	/* Not over at the first deadline: 2*MSL runs again from the re-ACK. */
	w_run_until(w, tw + 60 * W_SEC);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);
	w_run_until(w, tw + 90 * W_SEC - 1);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);
	w_run_until(w, tw + 90 * W_SEC);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 0);
	assert_int_equal(w_state_time(w, C, SN_CLOSED), tw + 90 * W_SEC);
	assert_string_equal(w_states(w, C), "SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 "
	                                    "TIME_WAIT CLOSED");
	assert_int_equal(w->nsegs, mark + 1);

	/* After TIME-WAIT the tuple is unknown: the same FIN draws a RST. */
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 8001, .ack = 1002,
	                               .flags = SN_TH_FIN | SN_TH_ACK});
	assert_string_equal(w_segs(w, mark + 1), "C RST seq=1002 ack=0 len=0\n");
	sn_close(ls);
}

/*
 * The other end of a TIME-WAIT is CLOSED, so a re-ACK reaching it draws
 * <SEQ=SEG.ACK><CTL=RST> (3.10.7.1), which sits exactly at the record's
 * RCV.NXT and ends it (3.10.7.4 second check; the hazard of RFC 1337, which
 * RFC 9293 leaves as it is).
 */
static void time_wait_reack_draws_rst(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	uint64_t tw = client_to_time_wait(w, ls, 40000);
	size_t mark = w->nsegs;
	w_run_until(w, tw + 10 * W_SEC);
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 8001, .ack = 1002,
	                               .flags = SN_TH_FIN | SN_TH_ACK});
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark),
	                    "C ACK seq=1002 ack=8002 len=0\n"
	                    "S RST seq=8002 ack=0 len=0\n");
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 0);
	assert_int_equal(w_stats(w, C).tcp_rst_rx, 1);
	assert_int_equal(w_state_time(w, C, SN_CLOSED), tw + 10 * W_SEC + 10 * W_MS);
	sn_close(ls);
}

/* TIME-WAIT is 2*MSL of the configured MSL: 1 s -> 2 s. */
static void time_wait_is_two_msl(void **state)
{
	struct world *w = *state;
	w->cfg[C].msl_ms = 1000;
	w->cfg[S].msl_ms = 1000;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	uint64_t tw = client_to_time_wait(w, ls, 40000);
	assert_int_equal(w_stats(w, C).tcp_tw_created, 1);
	w_run_until(w, tw + 2 * W_SEC - 1);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);
	w_run_until(w, tw + 2 * W_SEC);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 0);
	assert_int_equal(w_state_time(w, C, SN_CLOSED), tw + 2 * W_SEC);
	sn_close(ls);
}

/* The server closes first on each connection from `ports`, so the server
 * holds the TIME-WAIT records, in that order. */
static void server_time_waits(struct world *w, struct sn_sock *ls, const uint16_t *ports,
                              int n)
{
	for (int i = 0; i < n; i++) {
		struct sn_sock *c;
		struct sn_sock *s = establish(w, ls, ports[i], &c);
		sn_close(s);
		w_run(w, 100 * W_MS);
		sn_close(c);
		w_run(w, 100 * W_MS);
	}
	assert_int_equal(w_stats(w, S).tcp_curr_tw, (uint64_t)n);
}

/*
 * RFC 1122 4.2.2.13 (and RFC 9293 3.10.7.4 note): a SYN whose sequence number
 * is above the TIME-WAIT record's RCV.NXT may reopen the connection when a
 * listener would take it. The record is gone at once and the SYN is handled
 * by the listener.
 */
static void time_wait_reopened_by_higher_syn(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	server_time_waits(w, ls, (uint16_t[]){40000}, 1);
	size_t mark = w->nsegs;

	w->net.stack[C]->cfg.isn_value = 50000; /* the next incarnation's ISN */
	struct sn_sock *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	assert_string_equal(w_segs(w, mark),
	                    "C SYN seq=50000 ack=0 len=0\n"
	                    "S SYN,ACK seq=8000 ack=50001 len=0\n"
	                    "C ACK seq=50001 ack=8001 len=0\n");
	assert_int_equal(w_stats(w, S).tcp_curr_tw, 0);
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED ESTABLISHED FIN_WAIT_1 "
	                                    "FIN_WAIT_2 TIME_WAIT CLOSED SYN_RECEIVED ESTABLISHED");
	assert_int_equal(sn_send(c, "new", 3, 0), 3);
	w_run(w, 100 * W_MS);
	char buf[8];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 3);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/* The same with more than one TIME-WAIT record held: the reopened one must
 * go, and only it, wherever it sits among the others. */
static void time_wait_reopen_among_others(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	server_time_waits(w, ls, (uint16_t[]){40000, 40001, 40002}, 3);
	size_t mark = w->nsegs;

	w->net.stack[C]->cfg.isn_value = 50000;
	struct sn_sock *c;
	struct sn_sock *s = establish(w, ls, 40001, &c);
	assert_string_equal(w_segs(w, mark),
	                    "C SYN seq=50000 ack=0 len=0\n"
	                    "S SYN,ACK seq=8000 ack=50001 len=0\n"
	                    "C ACK seq=50001 ack=8001 len=0\n");
	assert_int_equal(w_stats(w, S).tcp_curr_tw, 2);
	/* The other two still answer their FINs. */
	w_inject(w, S, &(struct w_pkt){.sport = 40000, .dport = 80, .seq = 1001, .ack = 8002,
	                               .flags = SN_TH_FIN | SN_TH_ACK});
	w_inject(w, S, &(struct w_pkt){.sport = 40002, .dport = 80, .seq = 1001, .ack = 8002,
	                               .flags = SN_TH_FIN | SN_TH_ACK});
	assert_string_equal(w_segs(w, mark + 3),
	                    "S ACK seq=8002 ack=1002 len=0\n"
	                    "S ACK seq=8002 ack=1002 len=0\n");
	assert_int_equal(w_stats(w, S).tcp_tw_reack, 2);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * RFC 9293 3.10.7.4, second check, TIME-WAIT: a RST (with the exact
 * sequence number) ends the record; the others stay.
 */
static void time_wait_rst_ends_record(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	server_time_waits(w, ls, (uint16_t[]){40000, 40001}, 2);
	size_t mark = w->nsegs;

	/* Not at RCV.NXT: ignored. */
	w_inject(w, S, &(struct w_pkt){.sport = 40000, .dport = 80, .seq = 1003,
	                               .flags = SN_TH_RST});
	assert_int_equal(w_stats(w, S).tcp_curr_tw, 2);
	w_inject(w, S, &(struct w_pkt){.sport = 40000, .dport = 80, .seq = 1002,
	                               .flags = SN_TH_RST});
	assert_int_equal(w_stats(w, S).tcp_curr_tw, 1);
	assert_int_equal(w->nsegs, mark);
	/* The record for 40000 is gone (a FIN now draws a RST); 40001's is not. */
	w_inject(w, S, &(struct w_pkt){.sport = 40000, .dport = 80, .seq = 1001, .ack = 8002,
	                               .flags = SN_TH_FIN | SN_TH_ACK});
	w_inject(w, S, &(struct w_pkt){.sport = 40001, .dport = 80, .seq = 1001, .ack = 8002,
	                               .flags = SN_TH_FIN | SN_TH_ACK});
	assert_string_equal(w_segs(w, mark),
	                    "S RST seq=8002 ack=0 len=0\n"
	                    "S ACK seq=8002 ack=1002 len=0\n");
	sn_close(ls);
}

/*
 * A client reusing its port with an ISN below the record's RCV.NXT: the
 * record answers the SYN with an ACK (RFC 5961 4.2), which the client in
 * SYN-SENT finds unacceptable and answers with <SEQ=SEG.ACK><CTL=RST>
 * (3.10.7.3); that RST sits at RCV.NXT and ends the record, so the client's
 * SYN retransmission reaches the listener.
 */
static void time_wait_old_syn_resolved_by_rst(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	server_time_waits(w, ls, (uint16_t[]){40000}, 1);
	size_t mark = w->nsegs;
	uint64_t t0 = w->net.now_us;

	struct sn_sock *c = w_connect(w, C, 40000, 80);
	assert_non_null(c);
	w_run(w, 2 * W_SEC);
	assert_string_equal(w_segs(w, mark),
	                    "C SYN seq=1000 ack=0 len=0\n"
	                    "S ACK seq=8002 ack=1002 len=0\n"
	                    "C RST seq=1002 ack=0 len=0\n"
	                    "C SYN seq=1000 ack=0 len=0\n"
	                    "S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "C ACK seq=1001 ack=8001 len=0\n");
	assert_int_equal(w->segs[mark + 3].t, t0 + 1 * W_SEC);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	assert_int_equal(w_stats(w, S).tcp_curr_tw, 0);
	assert_non_null(w_accept(ls));
	sn_abort(c);
	sn_close(ls);
}

/* While the 4-tuple is in TIME-WAIT, a new connection from the same port to
 * the same peer is refused locally; to another port it is fine. */
static void connect_to_time_wait_tuple(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	struct sn_sock *ls81 = w_listen(w, S, 81, 8);
	client_to_time_wait(w, ls, 40000);
	struct sn_sock *c = sn_socket(w->net.stack[C]);
	struct sockaddr_in me = sn_simnet_sockaddr(C, 40000), to = sn_simnet_sockaddr(S, 80);
	assert_int_equal(sn_bind(c, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(sn_connect(c, (struct sockaddr *)&to, sizeof(to)), -EADDRNOTAVAIL);
	to = sn_simnet_sockaddr(S, 81);
	assert_int_equal(sn_connect(c, (struct sockaddr *)&to, sizeof(to)), -EINPROGRESS);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	sn_abort(c);
	sn_close(ls81);
	sn_close(ls);
}

/*
 * A TIME-WAIT record answers a SYN (RFC 5961 4.2) and an unacceptable
 * segment (3.10.7.4 first check) from the stack's challenge-ACK budget
 * (RFC 5961 section 7); what it sends and what it holds back are counted
 * with the other challenge ACKs.
 */
static void time_wait_challenge_acks_counted(void **state)
{
	struct world *w = *state;
	w->cfg[S].challenge_ack_per_sec = 2;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	server_time_waits(w, ls, (uint16_t[]){40000}, 1);
	w_impair(w, S, 1000000, DELAY); /* C's stack would answer with a RST */
	size_t mark = w->nsegs;
	w_inject(w, S, &(struct w_pkt){.sport = 40000, .dport = 80, .seq = 500,
	                               .flags = SN_TH_SYN});
	w_inject(w, S, &(struct w_pkt){.sport = 40000, .dport = 80, .seq = 1002 + 70000,
	                               .ack = 8002, .flags = SN_TH_ACK});
	w_inject(w, S, &(struct w_pkt){.sport = 40000, .dport = 80, .seq = 500,
	                               .flags = SN_TH_SYN});
	assert_string_equal(w_segs(w, mark),
	                    "S ACK seq=8002 ack=1002 len=0\n"
	                    "S ACK seq=8002 ack=1002 len=0\n");
	struct sn_stats ss = w_stats(w, S);
	assert_int_equal(ss.tcp_challenge_ack, 2);
	assert_int_equal(ss.tcp_challenge_ack_limited, 1);
	assert_int_equal(ss.tcp_curr_tw, 1);
	sn_close(ls);
}

/*
 * RFC 9293 3.10.4: CLOSE in SYN-RECEIVED sends a FIN at once. Here it is the
 * SYN-RECEIVED of a simultaneous open, so our SYN is not yet acknowledged
 * when the FIN leaves, and both our SYN-ACK and the FIN are lost. The
 * retransmission timeout must send both again, SYN-ACK first; then the
 * peer completes its open and takes the FIN. (Sending nothing would leave
 * SND.NXT at ISS, and every ACK we sent would fall below the peer's window
 * and draw another SYN-ACK: an ACK war until the peer gives up.)
 */
static void close_in_simultaneous_open_with_loss(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *a = sn_socket(w->net.stack[C]);
	struct sn_sock *b = sn_socket(w->net.stack[S]);
	struct sockaddr_in la = sn_simnet_sockaddr(C, 40000), lb = sn_simnet_sockaddr(S, 40001);
	sn_bind(a, (struct sockaddr *)&la, sizeof(la));
	sn_bind(b, (struct sockaddr *)&lb, sizeof(lb));
	sn_connect(a, (struct sockaddr *)&lb, sizeof(lb));
	sn_connect(b, (struct sockaddr *)&la, sizeof(la));
	w_run_until(w, 1 * W_MS);
	w_impair(w, C, 1000000, DELAY); /* C's SYN-ACK and FIN are lost */
	w_run_until(w, 6 * W_MS);
	assert_int_equal(w_state_of(a), SN_SYN_RECEIVED);
	assert_int_equal(sn_close(a), 0);
	w_run_until(w, 2 * W_SEC);
	w_impair(w, C, 0, DELAY);
	w_run_until(w, 4 * W_SEC);

	assert_string_equal(w_segs_timed(w, 0),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "0 S SYN seq=8000 ack=0 len=0\n"
	                    "5 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "5 C SYN,ACK seq=1000 ack=8001 len=0\n"
	                    "6 C FIN,ACK seq=1001 ack=8001 len=0\n"
	                    "10 C ACK seq=1002 ack=8001 len=0\n"
	                    "1000 C SYN,ACK seq=1000 ack=8001 len=0\n"
	                    "1000 C FIN,ACK seq=1001 ack=8001 len=0\n"
	                    "1000 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "1005 C ACK seq=1002 ack=8001 len=0\n"
	                    "3000 C SYN,ACK seq=1000 ack=8001 len=0\n"
	                    "3000 C FIN,ACK seq=1001 ack=8001 len=0\n"
	                    "3000 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "3005 S ACK seq=8001 ack=1002 len=0\n"
	                    "3005 C ACK seq=1002 ack=8001 len=0\n");
	assert_string_equal(w_states(w, C), "SYN_SENT SYN_RECEIVED FIN_WAIT_1 FIN_WAIT_2");
	assert_string_equal(w_states(w, S), "SYN_SENT SYN_RECEIVED ESTABLISHED CLOSE_WAIT");

	sn_close(b);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);
	assert_string_equal(w_states(w, S), "SYN_SENT SYN_RECEIVED ESTABLISHED CLOSE_WAIT "
	                                    "LAST_ACK CLOSED");
}

/* A FIN that is lost is retransmitted after the RTO, like data. */
static void lost_fin_retransmitted(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	size_t mark = w->nsegs;
	uint64_t t0 = w->net.now_us;

	w_impair(w, C, 1000000, DELAY);
	sn_close(c);
	w_run(w, 500 * W_MS);
	w_impair(w, C, 0, DELAY);
	w_run(w, 1 * W_SEC);
	assert_string_equal(w_segs(w, mark),
	                    "C FIN,ACK seq=1001 ack=8001 len=0\n"
	                    "C FIN,ACK seq=1001 ack=8001 len=0\n"
	                    "S ACK seq=8001 ack=1002 len=0\n");
	assert_int_equal(w->segs[mark].t, t0);
	assert_int_equal(w->segs[mark + 1].t, t0 + 1 * W_SEC);
	assert_int_equal(w_state_of(s), SN_CLOSE_WAIT);
	assert_int_equal(w_stats(w, C).tcp_retrans, 1);
	sn_close(s);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);
	sn_close(ls);
}

/*
 * An orphan: the client closed its handle, the server never closes. Once
 * the FIN is acknowledged nothing obliges the peer to send its own, so the
 * connection is dropped fin_wait2_timeout_ms after entering FIN-WAIT-2,
 * silently. A late FIN from the server then finds no connection and draws a
 * RST, which the server in LAST-ACK accepts.
 */
static void fin_wait2_orphan_times_out(void **state)
{
	struct world *w = *state;
	w->cfg[C].fin_wait2_timeout_ms = 5000;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	size_t mark = w->nsegs;

	sn_close(c);
	w_run(w, 100 * W_MS);
	uint64_t fw2 = w_state_time(w, C, SN_FIN_WAIT_2);
	assert_int_not_equal(fw2, UINT64_MAX);
	w_run_until(w, fw2 + 5 * W_SEC - 1);
	assert_int_equal(w_state_time(w, C, SN_CLOSED), UINT64_MAX);
	w_run_until(w, fw2 + 10 * W_SEC);
	assert_int_equal(w_state_time(w, C, SN_CLOSED), fw2 + 5 * W_SEC);
	assert_string_equal(w_states(w, C), "SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 CLOSED");
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 0);
	assert_string_equal(w_segs(w, mark),
	                    "C FIN,ACK seq=1001 ack=8001 len=0\n"
	                    "S ACK seq=8001 ack=1002 len=0\n");
	assert_int_equal(w_state_of(s), SN_CLOSE_WAIT);

	sn_close(s);
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark + 2),
	                    "S FIN,ACK seq=8001 ack=1002 len=0\n"
	                    "C RST seq=1002 ack=0 len=0\n");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT "
	                                    "LAST_ACK CLOSED");
	sn_close(ls);
}

/*
 * The segment that ACKs an orphan's FIN may carry the peer's FIN out of
 * order (a hole before it): the FIN waits in the reassembly queue and the
 * connection stays in FIN-WAIT-2, so it still needs its timeout (input.c
 * arms it after the FIN step, which this segment leaves early).
 */
static void fin_wait2_orphan_with_early_fin_times_out(void **state)
{
	struct world *w = *state;
	w->cfg[C].fin_wait2_timeout_ms = 5000;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	w_impair(w, S, 1000000, 0); /* only hand-made segments reach the client */

	sn_close(c);
	w_run(w, 10 * W_MS);
	assert_int_equal(w_state_of(c), SN_FIN_WAIT_1);
	/* Our FIN ACKed, and the peer's FIN one octet past a hole. */
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 8002, .ack = 1002,
	                               .flags = SN_TH_FIN | SN_TH_ACK});
	uint64_t fw2 = w_state_time(w, C, SN_FIN_WAIT_2);
	assert_int_equal(fw2, w->net.now_us);
	w_run_until(w, fw2 + 5 * W_SEC - 1);
	assert_int_equal(w_state_time(w, C, SN_CLOSED), UINT64_MAX);
	w_run_until(w, fw2 + 10 * W_SEC);
	assert_int_equal(w_state_time(w, C, SN_CLOSED), fw2 + 5 * W_SEC);
	assert_string_equal(w_states(w, C), "SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 CLOSED");
	sn_abort(s);
	sn_close(ls);
}

/* Only an orphan times out: after shutdown(SHUT_WR) the application still
 * holds the handle and FIN-WAIT-2 lasts; closing the handle starts the clock. */
static void fin_wait2_with_handle_lasts(void **state)
{
	struct world *w = *state;
	w->cfg[C].fin_wait2_timeout_ms = 5000;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);

	sn_shutdown(c, SHUT_WR);
	w_run(w, 60 * W_SEC);
	assert_int_equal(w_state_of(c), SN_FIN_WAIT_2);
	uint64_t t = w->net.now_us;
	sn_close(c);
	w_run(w, 10 * W_SEC);
	assert_int_equal(w_state_time(w, C, SN_CLOSED), t + 5 * W_SEC);
	sn_abort(s);
	sn_close(ls);
}

/*
 * Keepalive and the FIN-WAIT-2 timeout share one timer (timer.c): with a
 * handle, a half-closed connection in FIN-WAIT-2 sends keepalives; once the
 * handle is closed the orphan sends none (Linux does the same) and is
 * dropped fin_wait2_timeout_ms later, not by keepalive.
 */
static void fin_wait2_orphan_sends_no_keepalive(void **state)
{
	struct world *w = *state;
	w->cfg[C].fin_wait2_timeout_ms = 5000;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	int one = 1;
	assert_int_equal(sn_setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)), 0);
	assert_int_equal(sn_setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof(one)), 0);
	assert_int_equal(sn_setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &one, sizeof(one)), 0);

	sn_shutdown(c, SHUT_WR);
	w_run(w, 3500 * W_MS);
	assert_int_equal(w_state_of(c), SN_FIN_WAIT_2);
	uint64_t probes = w_stats(w, C).tcp_keepalive_probes;
	assert_true(probes >= 2); /* answered, so the connection lives */

	uint64_t t = w->net.now_us;
	sn_close(c);
	w_run(w, 10 * W_SEC);
	assert_int_equal(w_state_time(w, C, SN_CLOSED), t + 5 * W_SEC);
	assert_int_equal(w_stats(w, C).tcp_keepalive_probes, probes);
	assert_int_equal(w_stats(w, C).tcp_keepalive_drops, 0);
	sn_abort(s);
	sn_close(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(half_close, setup, teardown),
		cmocka_unit_test_setup_teardown(server_closes_first, setup, teardown),
		cmocka_unit_test_setup_teardown(simultaneous_close, setup, teardown),
		cmocka_unit_test_setup_teardown(time_wait_reacks_fin_and_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(time_wait_reack_draws_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(time_wait_is_two_msl, setup, teardown),
		cmocka_unit_test_setup_teardown(time_wait_reopened_by_higher_syn, setup, teardown),
		cmocka_unit_test_setup_teardown(time_wait_reopen_among_others, setup, teardown),
		cmocka_unit_test_setup_teardown(time_wait_rst_ends_record, setup, teardown),
		cmocka_unit_test_setup_teardown(time_wait_old_syn_resolved_by_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(connect_to_time_wait_tuple, setup, teardown),
		cmocka_unit_test_setup_teardown(time_wait_challenge_acks_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(close_in_simultaneous_open_with_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(lost_fin_retransmitted, setup, teardown),
		cmocka_unit_test_setup_teardown(fin_wait2_orphan_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(fin_wait2_orphan_with_early_fin_times_out, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(fin_wait2_with_handle_lasts, setup, teardown),
		cmocka_unit_test_setup_teardown(fin_wait2_orphan_sends_no_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(time_wait_records_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(many_time_wait_records, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
