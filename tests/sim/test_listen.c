/*
 * test_listen.c - the listener (RFC 9293 3.10.7.2) and its two queues: the
 * SYN queue of half-open children and their SYN-ACK retransmission and
 * expiry, the accept queue and what happens when either is full, closing a
 * listener, the backlog argument, and connections that are used before the
 * application accepts them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "world.h"

#define C 0
#define S 1
#define DELAY (5 * W_MS)

#define setup world_setup
#define teardown world_teardown

#define go(w) world_go((w), DELAY)

/* A SYN to S:80 from C's address and a port with no socket behind it. */
static void syn_from(struct world *w, uint16_t sport, uint32_t seq)
{
	w_inject(w, S, &(struct w_pkt){.sport = sport, .dport = 80, .seq = seq,
	                               .flags = SN_TH_SYN, .mss = 1460});
}

static struct sn_sock *accept_one(struct sn_sock *ls)
{
	int err = 0;
	struct sn_sock *s = sn_accept(ls, NULL, NULL, &err);
	assert_int_equal(err, s ? 0 : -EAGAIN);
	return s;
}

/*
 * The final ACK never comes (the client side is silent): the SYN-ACK is sent
 * at 0 and retransmitted synack_retries (5) times at 1, 3, 7, 15 and 31 s;
 * 32 s after the last one the half-open child is dropped silently, at 63 s.
 * With a backlog of one, the SYN queue is full until then and empty after.
 */
static void synack_retransmission_and_expiry(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 1);
	w_impair(w, S, 1000000, DELAY);
	syn_from(w, 5555, 100);

	w_run_until(w, 63 * W_SEC - 1);
	syn_from(w, 5556, 200); /* the SYN queue is still full */
	assert_int_equal(w_stats(w, S).tcp_listen_overflow, 1);
	assert_int_equal(w->ndrops[S], 1);
	assert_int_equal(w_stats(w, S).tcp_halfopen_expired, 0);

	w_run_until(w, 63 * W_SEC);
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED CLOSED");
	assert_int_equal(w_state_time(w, S, SN_CLOSED), 63 * W_SEC);
	struct sn_stats ss = w_stats(w, S);
	assert_int_equal(ss.tcp_halfopen_expired, 1);
	assert_int_equal(ss.tcp_synack_retrans, 5);
	assert_int_equal(ss.tcp_retrans, 5);
	assert_int_equal(ss.tcp_rst_tx, 0); /* dropped silently */
	assert_int_equal(w_state_of(ls), SN_LISTEN);
	assert_null(accept_one(ls));

	/* Room again. */
	syn_from(w, 5557, 300);
	assert_string_equal(w_segs_timed(w, 0),
	                    "0 S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "1000 S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "3000 S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "7000 S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "15000 S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "31000 S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "63000 S SYN,ACK seq=8000 ack=301 len=0\n");
	assert_int_equal(w_stats(w, S).tcp_listen_overflow, 1);
	assert_int_equal(w_stats(w, S).tcp_passive_opens, 2);
	sn_close(ls);
}

/* The retry count is the configured one. */
static void synack_retries_configured(void **state)
{
	struct world *w = *state;
	w->cfg[S].synack_retries = 1;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	w_impair(w, S, 1000000, DELAY);
	syn_from(w, 5555, 100);
	w_run_until(w, 10 * W_SEC);
	assert_string_equal(w_segs_timed(w, 0),
	                    "0 S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "1000 S SYN,ACK seq=8000 ack=101 len=0\n");
	assert_int_equal(w_state_time(w, S, SN_CLOSED), 3 * W_SEC);
	assert_int_equal(w_stats(w, S).tcp_halfopen_expired, 1);
	sn_close(ls);
}

/*
 * A retransmitted SYN (same sequence number) means our SYN-ACK was lost:
 * the child sends it again at once, without waiting for its timer, whose
 * schedule does not change. A SYN with another sequence number returns the
 * child to LISTEN (RFC 9293 3.10.7.4 fourth check).
 */
static void retransmitted_syn_resends_synack(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	w_impair(w, S, 1000000, DELAY);
	syn_from(w, 5555, 100);
	w_run_until(w, 500 * W_MS);
	syn_from(w, 5555, 100);
	w_run_until(w, 1500 * W_MS);
	/* The timer now counts from the early resend: one RTO after it. */
	assert_string_equal(w_segs_timed(w, 0),
	                    "0 S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "500 S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "1500 S SYN,ACK seq=8000 ack=101 len=0\n");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED");
	assert_int_equal(w_stats(w, S).tcp_passive_opens, 1);
	/* The early resend counts as a retransmission, like the timer's. */
	assert_int_equal(w_stats(w, S).tcp_synack_retrans, 2);

	syn_from(w, 5555, 5000);
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED CLOSED");
	assert_int_equal(w->nsegs, 3);
	w_run_until(w, 10 * W_SEC);
	assert_int_equal(w->nsegs, 3);
	sn_close(ls);
}

/* SYN queue full: further SYNs are dropped, counted, and traced. */
static void syn_queue_full(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 2);
	w_impair(w, S, 1000000, DELAY);
	syn_from(w, 5001, 100);
	syn_from(w, 5002, 200);
	syn_from(w, 5003, 300);
	assert_string_equal(w_segs(w, 0),
	                    "S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "S SYN,ACK seq=8000 ack=201 len=0\n");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED SYN_RECEIVED");
	assert_int_equal(w_stats(w, S).tcp_listen_overflow, 1);
	assert_int_equal(w_stats(w, S).tcp_passive_opens, 2);
	assert_int_equal(w->ndrops[S], 1);
	sn_close(ls);
}

/* The stack-wide bound on any SYN queue (syn_backlog_max) caps a bigger backlog. */
static void syn_backlog_max_caps(void **state)
{
	struct world *w = *state;
	w->cfg[S].syn_backlog_max = 1;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 100);
	w_impair(w, S, 1000000, DELAY);
	syn_from(w, 5001, 100);
	syn_from(w, 5002, 200);
	assert_int_equal(w->nsegs, 1);
	assert_int_equal(w_stats(w, S).tcp_listen_overflow, 1);
	sn_close(ls);
}

/*
 * Accept queue full (backlog 1, one connection not yet accepted): a second
 * client's SYN is dropped, so its SYN retransmissions keep asking; the one
 * after the application accepts succeeds. The demo's backlog-full scenario.
 */
static void accept_queue_full_client_retries(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 1);
	struct sn_sock *c1 = w_connect(w, C, 40000, 80);
	w_run_until(w, 100 * W_MS);
	assert_int_equal(w_state_of(c1), SN_ESTABLISHED);
	size_t mark = w->nsegs;

	struct sn_sock *c2 = w_connect(w, C, 40001, 80);
	w_run_until(w, 2500 * W_MS);
	assert_int_equal(w_state_of(c2), SN_SYN_SENT);
	assert_int_equal(w_stats(w, S).tcp_listen_overflow, 2);
	assert_int_equal(w->ndrops[S], 2);
	struct sn_sock *s1 = accept_one(ls);
	assert_non_null(s1);
	assert_null(accept_one(ls));

	w_run_until(w, 4 * W_SEC);
	assert_string_equal(w_segs_timed(w, mark),
	                    "100 C SYN seq=1000 ack=0 len=0\n"
	                    "1100 C SYN seq=1000 ack=0 len=0\n"
	                    "3100 C SYN seq=1000 ack=0 len=0\n"
	                    "3105 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "3110 C ACK seq=1001 ack=8001 len=0\n");
	assert_int_equal(w_state_of(c2), SN_ESTABLISHED);
	struct sn_sock *s2 = accept_one(ls);
	assert_non_null(s2);
	assert_int_equal(w_stats(w, S).tcp_listen_overflow, 2);
	assert_int_equal(w_stats(w, C).tcp_syn_retrans, 2);
	sn_abort(c1);
	sn_abort(c2);
	sn_abort(s1);
	sn_abort(s2);
	sn_close(ls);
}

/*
 * The accept queue fills between a child's SYN and its final ACK (here the
 * application lowers the backlog with a second listen()). The ACK is
 * ignored and the child stays half-open; its SYN-ACK retransmission draws
 * another ACK from the client, and the first one after the application
 * made room completes the connection.
 */
static void accept_queue_full_at_final_ack(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 2);
	struct sn_sock *c1 = w_connect(w, C, 40000, 80);
	struct sn_sock *c2 = w_connect(w, C, 40001, 80);
	w_run_until(w, 7 * W_MS); /* both SYNs are in the SYN queue */
	assert_int_equal(sn_listen(ls, 1), 0);
	w_run_until(w, 2000 * W_MS);
	assert_int_equal(w_state_of(c1), SN_ESTABLISHED);
	assert_int_equal(w_state_of(c2), SN_ESTABLISHED); /* it believes so */
	struct sn_sock *s1 = accept_one(ls);
	assert_non_null(s1);
	assert_null(accept_one(ls));
	w_run_until(w, 4 * W_SEC);
	struct sn_sock *s2 = accept_one(ls);
	assert_non_null(s2);

	assert_string_equal(w_segs_timed(w, 0),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "5 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "5 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "10 C ACK seq=1001 ack=8001 len=0\n"
	                    "10 C ACK seq=1001 ack=8001 len=0\n"
	                    "1005 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "1010 C ACK seq=1001 ack=8001 len=0\n"
	                    "3005 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "3010 C ACK seq=1001 ack=8001 len=0\n");
	assert_int_equal(w_stats(w, S).tcp_listen_overflow, 2);
	assert_int_equal(w_stats(w, S).tcp_synack_retrans, 2);
	assert_int_equal(w_state_time(w, S, SN_ESTABLISHED), 3015 * W_MS);
	sn_abort(c1);
	sn_abort(c2);
	sn_abort(s1);
	sn_abort(s2);
	sn_close(ls);
}

/*
 * Closing a listener: connections in the accept queue believe they are
 * established, so they are reset; half-open ones are forgotten (no RST, no
 * more SYN-ACKs); connections already accepted are not the listener's any
 * more and carry on. The port is free again afterwards.
 */
static void listener_close_resets_queue(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	struct sn_sock *ca = w_connect(w, C, 40000, 80);
	w_run(w, 100 * W_MS);
	struct sn_sock *sa = accept_one(ls);
	assert_non_null(sa);
	struct sn_sock *cb = w_connect(w, C, 40001, 80);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_state_of(cb), SN_ESTABLISHED);
	w_impair(w, S, 1000000, DELAY);
	syn_from(w, 5555, 100); /* a half-open child whose SYN-ACK is lost */
	w_run(w, 100 * W_MS);
	w_impair(w, S, 0, DELAY);
	size_t mark = w->nsegs;

	assert_int_equal(sn_close(ls), 0);
	assert_string_equal(w_segs(w, mark), "S RST,ACK seq=8001 ack=1001 len=0\n");
	w_run(w, 10 * W_SEC);
	assert_int_equal(w->nsegs, mark + 1);
	char buf[4];
	assert_int_equal(sn_recv(cb, buf, sizeof(buf), 0), -ECONNRESET);
	assert_string_equal(w_states(w, S),
	                    "LISTEN SYN_RECEIVED ESTABLISHED SYN_RECEIVED ESTABLISHED "
	                    "SYN_RECEIVED CLOSED CLOSED CLOSED");
	assert_int_equal(w_stats(w, S).tcp_synack_retrans, 0);

	/* The accepted one is untouched. */
	assert_int_equal(w_state_of(sa), SN_ESTABLISHED);
	assert_int_equal(sn_send(ca, "hi", 2, 0), 2);
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_recv(sa, buf, sizeof(buf), 0), 2);

	/* Nobody listens now; then someone can again. */
	struct sn_sock *c3 = w_connect(w, C, 40002, 80);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_state_of(c3), SN_CLOSED);
	struct sn_sock *ls2 = w_listen(w, S, 80, 4);
	assert_non_null(ls2);
	sn_close(c3);
	sn_abort(ca);
	sn_abort(sa);
	sn_close(cb);
	sn_close(ls2);
}

/* listen() with a backlog <= 0 admits one connection, as Linux does. */
static void backlog_zero_or_negative_is_one(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls0 = w_listen(w, S, 80, 0);
	struct sn_sock *lsn = w_listen(w, S, 81, -5);
	assert_non_null(ls0);
	assert_non_null(lsn);
	struct sn_sock *c[4] = {
		w_connect(w, C, 40000, 80), w_connect(w, C, 40001, 81),
	};
	w_run(w, 100 * W_MS);
	c[2] = w_connect(w, C, 40002, 80);
	c[3] = w_connect(w, C, 40003, 81);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_state_of(c[0]), SN_ESTABLISHED);
	assert_int_equal(w_state_of(c[1]), SN_ESTABLISHED);
	assert_int_equal(w_state_of(c[2]), SN_SYN_SENT);
	assert_int_equal(w_state_of(c[3]), SN_SYN_SENT);
	assert_int_equal(w_stats(w, S).tcp_listen_overflow, 2);
	struct sn_sock *s0 = accept_one(ls0), *s1 = accept_one(lsn);
	assert_non_null(s0);
	assert_non_null(s1);
	for (int i = 0; i < 4; i++)
		sn_abort(c[i]);
	sn_abort(s0);
	sn_abort(s1);
	sn_close(ls0);
	sn_close(lsn);
}

/*
 * A connection is the peer's to use as soon as it is established, accepted
 * or not: data that arrives before sn_accept is kept and acknowledged, and
 * so is a FIN.
 */
static void data_before_accept_is_kept(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run(w, 100 * W_MS);
	size_t mark = w->nsegs;
	assert_int_equal(sn_send(c, "early", 5, 0), 5);
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_shutdown(c, SHUT_WR), 0);
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark),
	                    "C PSH,ACK seq=1001 ack=8001 len=5\n"
	                    "S ACK seq=8001 ack=1006 len=0\n"
	                    "C FIN,ACK seq=1006 ack=8001 len=0\n"
	                    "S ACK seq=8001 ack=1007 len=0\n");
	assert_int_equal(w_state_of(c), SN_FIN_WAIT_2);

	struct sn_sock *s = accept_one(ls);
	assert_non_null(s);
	assert_int_equal(w_state_of(s), SN_CLOSE_WAIT);
	char buf[8];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "early", 5);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0);
	assert_int_equal(sn_send(s, "late", 4, 0), 4);
	assert_int_equal(sn_close(s), 0);
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 4);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 0);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 1);
	assert_int_equal(w_stats(w, S).tcp_rst_tx, 0);
	sn_close(c);
	sn_close(ls);
}

/*
 * A connection reset while it waits in the accept queue leaves the queue:
 * the application never sees it. The client, which did not send that RST
 * (it was forged), learns of it from the listener's answer to its next
 * segment, <SEQ=SEG.ACK><CTL=RST> (3.10.7.2).
 */
static void reset_child_leaves_accept_queue(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_stats(w, S).tcp_curr_estab, 1);
	w_inject(w, S, &(struct w_pkt){.sport = 40000, .dport = 80, .seq = 1001,
	                               .flags = SN_TH_RST});
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED ESTABLISHED CLOSED");
	assert_int_equal(w_stats(w, S).tcp_curr_estab, 0);
	assert_null(accept_one(ls));
	size_t mark = w->nsegs;

	assert_int_equal(sn_send(c, "hello", 5, 0), 5);
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark),
	                    "C PSH,ACK seq=1001 ack=8001 len=5\n"
	                    "S RST seq=8001 ack=0 len=0\n");
	char buf[8];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -ECONNRESET);
	/* The queue has its room back. */
	struct sn_sock *c2 = w_connect(w, C, 40001, 80);
	w_run(w, 100 * W_MS);
	struct sn_sock *s2 = accept_one(ls);
	assert_non_null(s2);
	sn_close(c);
	sn_abort(c2);
	sn_abort(s2);
	sn_close(ls);
}

/*
 * RFC 9293 3.10.7.4 fifth check, SYN-RECEIVED: an ACK that does not
 * acknowledge our SYN (or acknowledges more) is answered with
 * <SEQ=SEG.ACK><CTL=RST>; the child itself stays and completes with the
 * right ACK.
 */
static void bad_ack_to_half_open_child(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	w_impair(w, S, 1000000, DELAY);
	syn_from(w, 5555, 100);
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 101, .ack = 8000,
	                               .flags = SN_TH_ACK});
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 101, .ack = 9999,
	                               .flags = SN_TH_ACK});
	assert_string_equal(w_segs(w, 0),
	                    "S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "S RST seq=8000 ack=0 len=0\n"
	                    "S RST seq=9999 ack=0 len=0\n");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED");
	assert_null(accept_one(ls));
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 101, .ack = 8001,
	                               .flags = SN_TH_ACK});
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED ESTABLISHED");
	struct sn_sock *s = accept_one(ls);
	assert_non_null(s);
	assert_int_equal(w->nsegs, 3);
	sn_abort(s);
	sn_close(ls);
}

/* The handshake's final ACK may carry data already. */
static void data_on_final_ack_is_kept(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	w_impair(w, S, 1000000, DELAY); /* S's SYN-ACK goes to the injector only */
	syn_from(w, 5555, 100);
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 101, .ack = 8001,
	                               .flags = SN_TH_ACK | SN_TH_PSH, .data = "abc", .len = 3});
	/* The data's ACK is delayed (40 ms), not sent at once. */
	assert_string_equal(w_segs(w, 0), "S SYN,ACK seq=8000 ack=101 len=0\n");
	w_run(w, 50 * W_MS);
	assert_string_equal(w_segs(w, 0),
	                    "S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "S ACK seq=8001 ack=104 len=0\n");
	struct sn_sock *s = accept_one(ls);
	assert_non_null(s);
	char buf[4];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 3);
	sn_abort(s);
	sn_close(ls);
}

/*
 * RFC 9293 3.10.7.2: a listener ignores a RST, answers any ACK with
 * <SEQ=SEG.ACK><CTL=RST>, and drops anything else that is not a SYN.
 */
static void listener_other_segments(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 100, .flags = SN_TH_RST});
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 100, .ack = 777,
	                               .flags = SN_TH_ACK});
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 100,
	                               .flags = SN_TH_FIN});
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 100, .data = "x",
	                               .len = 1});
	assert_string_equal(w_segs(w, 0), "S RST seq=777 ack=0 len=0\n");
	assert_string_equal(w_states(w, S), "LISTEN");
	assert_int_equal(w_stats(w, S).tcp_passive_opens, 0);
	int err;
	assert_null(sn_accept(ls, NULL, NULL, &err));
	assert_int_equal(err, -EAGAIN);
	struct sn_sock *c = w_connect(w, C, 40000, 81);
	w_run(w, 100 * W_MS);
	assert_null(sn_accept(c, NULL, NULL, &err));
	assert_int_equal(err, -EINVAL);
	sn_close(c);
	sn_close(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(synack_retransmission_and_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(synack_retries_configured, setup, teardown),
		cmocka_unit_test_setup_teardown(retransmitted_syn_resends_synack, setup, teardown),
		cmocka_unit_test_setup_teardown(syn_queue_full, setup, teardown),
		cmocka_unit_test_setup_teardown(syn_backlog_max_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(accept_queue_full_client_retries, setup, teardown),
		cmocka_unit_test_setup_teardown(accept_queue_full_at_final_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(listener_close_resets_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(backlog_zero_or_negative_is_one, setup, teardown),
		cmocka_unit_test_setup_teardown(data_before_accept_is_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_ack_to_half_open_child, setup, teardown),
		cmocka_unit_test_setup_teardown(data_on_final_ack_is_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_child_leaves_accept_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(listener_other_segments, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
