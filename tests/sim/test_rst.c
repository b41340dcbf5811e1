/*
 * test_rst.c - resets: sending them (ABORT, RFC 9293 3.10.5; close with data
 * unread or SO_LINGER 0, RFC 2525 2.17; data after close, RFC 1122
 * 4.2.2.13), and receiving them under the rules of RFC 5961 (exact RST,
 * challenge ACK for an in-window RST or a SYN, the rate limit of section 7,
 * the ACK range of 5.2), and a RST to a half-open passive child.
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

static void ev_record(struct sn_sock *s, unsigned ev, void *user)
{
	(void)s;
	*(unsigned *)user |= ev;
}

static struct sn_sock *establish(struct world *w, struct sn_sock *ls, struct sn_sock **c)
{
	*c = w_connect(w, C, 40000, 80);
	assert_non_null(*c);
	w_run(w, 100 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	assert_int_equal(w_state_of(*c), SN_ESTABLISHED);
	return s;
}

/* A segment from S:80 to C:40000, as the server would send it. */
static void to_client(struct world *w, uint8_t flags, uint32_t seq, uint32_t ack)
{
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = seq, .ack = ack,
	                               .flags = flags});
}

/*
 * RFC 9293 3.10.5, ABORT: <SEQ=SND.NXT><CTL=RST> (with the ACK as Linux
 * does, see tcp_send_rst), at once. The peer's next recv reports
 * ECONNRESET, once; after that the connection is simply gone: recv says
 * end of stream and send says EPIPE.
 */
static void abort_sends_rst(void **state)
{
	struct world *w = *state;
	go(w);
	unsigned sev = 0;
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, &c);
	sn_set_event_cb(s, ev_record, &sev);
	char buf[16];
	assert_int_equal(sn_send(c, "0123456789", 10, 0), 10);
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 10);
	assert_int_equal(sn_send(s, "abcd", 4, 0), 4);
	w_run(w, 100 * W_MS);
	size_t mark = w->nsegs;
	uint64_t t0 = w->net.now_us;

	assert_int_equal(sn_abort(c), 0);
	assert_string_equal(w_segs(w, mark), "C RST,ACK seq=1011 ack=8005 len=0\n");
	assert_int_equal(w->segs[mark].t, t0);
	w_run(w, 100 * W_MS);
	assert_int_equal(w->nsegs, mark + 1);
	assert_string_equal(w_states(w, C), "SYN_SENT ESTABLISHED CLOSED");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED ESTABLISHED CLOSED");
	assert_true(sev & SN_EV_ERROR);
	assert_true(sev & SN_EV_HUP);

	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), -ECONNRESET);
	assert_int_equal(sn_send(s, "x", 1, 0), -EPIPE);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0);

	struct sn_stats cs = w_stats(w, C), ss = w_stats(w, S);
	assert_int_equal(cs.tcp_rst_tx, 1);
	assert_int_equal(ss.tcp_rst_rx, 1);
	assert_int_equal(ss.tcp_estab_resets, 1);
	assert_int_equal(cs.tcp_curr_estab, 0);
	assert_int_equal(ss.tcp_curr_estab, 0);
	sn_close(s);
	sn_close(ls);
}

/* The error is reported by whichever call comes first: here send. */
static void reset_reported_to_send_first(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, &c);
	sn_abort(c);
	w_run(w, 100 * W_MS);
	int e = -1;
	socklen_t len = sizeof(e);
	assert_int_equal(sn_send(s, "x", 1, 0), -ECONNRESET);
	assert_int_equal(sn_getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len), 0);
	assert_int_equal(e, 0);
	assert_int_equal(sn_send(s, "x", 1, 0), -EPIPE);
	sn_close(s);
	sn_close(ls);
}

/* RFC 2525 2.17: closing with unread data resets, so the peer knows. */
static void close_with_unread_data_sends_rst(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, &c);
	assert_int_equal(sn_send(c, "hello", 5, 0), 5);
	w_run(w, 100 * W_MS);
	size_t mark = w->nsegs;

	assert_int_equal(sn_close(s), 0);
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark), "S RST,ACK seq=8001 ack=1006 len=0\n");
	char buf[8];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -ECONNRESET);
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED ESTABLISHED CLOSED");
	sn_close(c);
	sn_close(ls);
}

/* SO_LINGER {1, 0}: close resets. {1, 5} closes gracefully. */
static void linger_zero_close_sends_rst(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, &c);
	size_t mark = w->nsegs;

	struct linger l = {.l_onoff = 1, .l_linger = 0}, got;
	socklen_t len = sizeof(got);
	assert_int_equal(sn_setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	assert_int_equal(sn_getsockopt(c, SOL_SOCKET, SO_LINGER, &got, &len), 0);
	assert_int_equal(got.l_onoff, 1);
	assert_int_equal(got.l_linger, 0);
	assert_int_equal(sn_close(c), 0);
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark), "C RST,ACK seq=1001 ack=8001 len=0\n");
	assert_int_equal(w_state_of(s), SN_CLOSED);
	sn_close(s);

	/* A non-zero linger time is a graceful close. */
	struct sn_sock *s2 = establish(w, ls, &c);
	mark = w->nsegs;
	l.l_linger = 5;
	assert_int_equal(sn_setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	assert_int_equal(sn_close(c), 0);
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark),
	                    "C FIN,ACK seq=1001 ack=8001 len=0\n"
	                    "S ACK seq=8001 ack=1002 len=0\n");
	sn_abort(s2);
	sn_close(ls);
}

/* An accepted socket inherits SO_LINGER from its listener. */
static void linger_inherited_from_listener(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	assert_int_equal(sn_setsockopt(ls, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	struct sn_sock *s = establish(w, ls, &c);
	size_t mark = w->nsegs;
	sn_close(s);
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark), "S RST,ACK seq=8001 ack=1001 len=0\n");
	sn_close(c);
	sn_close(ls);
}

/* RFC 5961 3.2: a RST exactly at RCV.NXT resets; nothing is sent. */
static void rst_at_rcv_nxt_resets(void **state)
{
	struct world *w = *state;
	go(w);
	unsigned cev = 0;
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, &c);
	sn_set_event_cb(c, ev_record, &cev);
	size_t mark = w->nsegs;
	to_client(w, SN_TH_RST, 8001, 0);
	assert_int_equal(w->nsegs, mark);
	assert_string_equal(w_states(w, C), "SYN_SENT ESTABLISHED CLOSED");
	assert_true(cev & SN_EV_ERROR);
	char buf[4];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -ECONNRESET);
	assert_int_equal(w_stats(w, C).tcp_rst_rx, 1);
	assert_int_equal(w_stats(w, C).tcp_estab_resets, 1);
	assert_int_equal(w_stats(w, C).tcp_challenge_ack, 0);
	sn_close(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * RFC 5961 3.2: a RST inside the window but not at RCV.NXT may be blind; it
 * gets a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and the
 * connection goes on.
 */
static void rst_in_window_gets_challenge_ack(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, &c);
	size_t mark = w->nsegs;
	to_client(w, SN_TH_RST, 8002, 0);
	to_client(w, SN_TH_RST | SN_TH_ACK, 8001 + 65534, 1001); /* last octet of the window */
	assert_string_equal(w_segs(w, mark),
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C ACK seq=1001 ack=8001 len=0\n");
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	struct sn_stats cs = w_stats(w, C);
	assert_int_equal(cs.tcp_challenge_ack, 2);
	assert_int_equal(cs.tcp_rst_rx, 0);

	/* Still a working connection (the peer ignores the duplicate ACKs). */
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_send(c, "ok", 2, 0), 2);
	w_run(w, 100 * W_MS);
	char buf[4];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 2);
	assert_int_equal(w_state_of(s), SN_ESTABLISHED);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/* RFC 9293 3.10.7.4 first check: a RST outside the window is dropped
 * without a reply, and counted as such. */
static void rst_outside_window_ignored(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, &c);
	size_t mark = w->nsegs;
	to_client(w, SN_TH_RST, 8001 + 65535, 0); /* first octet past the window */
	to_client(w, SN_TH_RST, 8000, 0);         /* just below RCV.NXT */
	to_client(w, SN_TH_RST | SN_TH_ACK, 8001 - 100000, 1001);
	assert_int_equal(w->nsegs, mark);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	struct sn_stats cs = w_stats(w, C);
	assert_int_equal(cs.tcp_rst_ignored, 3);
	assert_int_equal(cs.tcp_rst_rx, 0);
	assert_int_equal(cs.tcp_challenge_ack, 0);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * RFC 5961 4.2: a SYN in a synchronized state, whatever its sequence number,
 * gets a challenge ACK, and the connection goes on (RFC 9293 3.10.7.4 fourth
 * check). Out of the window too: counted and rate-limited as a challenge ACK,
 * not as the first check's plain ACK.
 */
static void syn_in_established_gets_challenge_ack(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, &c);
	size_t mark = w->nsegs;
	to_client(w, SN_TH_SYN, 8001, 0);
	to_client(w, SN_TH_SYN, 9000, 0);
	to_client(w, SN_TH_SYN | SN_TH_ACK, 8001, 1001);
	assert_string_equal(w_segs(w, mark),
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C ACK seq=1001 ack=8001 len=0\n");
	assert_int_equal(w_stats(w, C).tcp_challenge_ack, 3);
	to_client(w, SN_TH_SYN, 5000, 0); /* out of the window */
	assert_string_equal(w_segs(w, mark + 3), "C ACK seq=1001 ack=8001 len=0\n");
	assert_int_equal(w_stats(w, C).tcp_challenge_ack, 4);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);

	w_run(w, 100 * W_MS);
	assert_int_equal(w_state_of(s), SN_ESTABLISHED);
	assert_int_equal(sn_send(s, "ok", 2, 0), 2);
	w_run(w, 100 * W_MS);
	char buf[4];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 2);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * RFC 5961 section 7: at most challenge_ack_per_sec challenge ACKs a second.
 * 20 in-window RSTs at once with a limit of 5: five ACKs, fifteen
 * suppressed; still none 999 ms later; the budget is back one second after
 * the window opened.
 */
static void challenge_ack_rate_limit(void **state)
{
	struct world *w = *state;
	w->cfg[C].challenge_ack_per_sec = 5;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, &c);
	w_impair(w, C, 1000000, DELAY); /* the duplicate ACKs need not reach S */
	w_run_until(w, 2 * W_SEC);
	size_t mark = w->nsegs;
	uint64_t t0 = w->net.now_us;

	for (uint32_t i = 0; i < 20; i++)
		to_client(w, SN_TH_RST, 8002 + i, 0);
	assert_int_equal(w->nsegs, mark + 5);
	for (size_t i = mark; i < w->nsegs; i++) {
		assert_int_equal(w->segs[i].seg.flags, SN_TH_ACK);
		assert_int_equal(w->segs[i].seg.seq, 1001);
		assert_int_equal(w->segs[i].seg.ack, 8001);
		assert_int_equal(w->segs[i].t, t0);
	}
	struct sn_stats cs = w_stats(w, C);
	assert_int_equal(cs.tcp_challenge_ack, 5);
	assert_int_equal(cs.tcp_challenge_ack_limited, 15);

	w_run_until(w, t0 + 999 * W_MS);
	to_client(w, SN_TH_RST, 8002, 0);
	assert_int_equal(w->nsegs, mark + 5);
	assert_int_equal(w_stats(w, C).tcp_challenge_ack_limited, 16);

	w_run_until(w, t0 + W_SEC);
	for (uint32_t i = 0; i < 6; i++)
		to_client(w, SN_TH_RST, 8002 + i, 0);
	assert_int_equal(w->nsegs, mark + 10);
	cs = w_stats(w, C);
	assert_int_equal(cs.tcp_challenge_ack, 10);
	assert_int_equal(cs.tcp_challenge_ack_limited, 17);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * RFC 9293 3.10.7.4 fifth check and RFC 5961 5.2: an ACK of something not
 * yet sent (SEG.ACK > SND.NXT), or older than SND.UNA - MAX.SND.WND, gets an
 * ACK and the segment (data included) is dropped.
 */
static void unacceptable_ack_answered_and_dropped(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, &c);
	size_t mark = w->nsegs;
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 8001, .ack = 1101,
	                               .flags = SN_TH_ACK | SN_TH_PSH, .data = "xyz", .len = 3});
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 8001,
	                               .ack = 1001 - 65536, .flags = SN_TH_ACK | SN_TH_PSH,
	                               .data = "xyz", .len = 3});
	assert_string_equal(w_segs(w, mark),
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C ACK seq=1001 ack=8001 len=0\n");
	char buf[4];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -EAGAIN);
	struct sn_tcp_info ci;
	sn_tcp_info(c, &ci);
	assert_int_equal(ci.snd_una, 1001);
	assert_int_equal(ci.rcv_nxt, 8001);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	assert_int_equal(w_stats(w, C).tcp_drop_bad_seg, 2);

	/* The oldest acceptable ACK, SND.UNA - MAX.SND.WND, is taken. */
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 8001,
	                               .ack = 1001 - 65535, .flags = SN_TH_ACK | SN_TH_PSH,
	                               .data = "xyz", .len = 3});
	/* Its ACK is a delayed one: let C's clock (only) run 50 ms, so the
	 * real S never sees an ACK of data it did not send. */
	sn_poll(w->net.stack[C], w->net.now_us + 50 * W_MS);
	assert_string_equal(w_segs(w, mark + 2), "C ACK seq=1001 ack=8004 len=0\n");
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 3);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * RFC 1122 4.2.2.13: data that arrives after the application closed cannot
 * be delivered, and the sender is told so with a RST.
 */
static void data_after_close_gets_rst(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, &c);
	size_t mark = w->nsegs;
	sn_close(c);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_state_of(s), SN_CLOSE_WAIT);
	assert_int_equal(sn_send(s, "late", 4, 0), 4);
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs(w, mark),
	                    "C FIN,ACK seq=1001 ack=8001 len=0\n"
	                    "S ACK seq=8001 ack=1002 len=0\n"
	                    "S PSH,ACK seq=8001 ack=1002 len=4\n"
	                    "C RST,ACK seq=1002 ack=8001 len=0\n");
	assert_string_equal(w_states(w, C),
	                    "SYN_SENT ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 CLOSED");
	assert_string_equal(w_states(w, S),
	                    "LISTEN SYN_RECEIVED ESTABLISHED CLOSE_WAIT CLOSED");
	char buf[4];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0); /* the FIN came first */
	assert_int_equal(sn_send(s, "x", 1, 0), -ECONNRESET);
	assert_int_equal(w_stats(w, S).tcp_estab_resets, 1);
	assert_int_equal(w_stats(w, C).tcp_curr_tw, 0);
	sn_close(s);
	sn_close(ls);
}

/*
 * RFC 9293 3.10.7.4 second check, SYN-RECEIVED from a passive OPEN: a RST
 * returns the connection to LISTEN. Here the SYN comes from a port with no
 * socket behind it, so the SYN-ACK draws <SEQ=SEG.ACK><CTL=RST> (3.10.7.1),
 * which is exactly at the child's RCV.NXT. The child goes; the listener,
 * with a backlog of one, takes the next SYN.
 */
static void rst_removes_passive_child(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 1);
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 100,
	                               .flags = SN_TH_SYN});
	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs_timed(w, 0),
	                    "0 S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "5 C RST seq=101 ack=0 len=0\n");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED CLOSED");
	assert_int_equal(w_state_of(ls), SN_LISTEN);
	assert_int_equal(w_stats(w, S).tcp_rst_rx, 1);
	int err;
	assert_null(sn_accept(ls, NULL, NULL, &err));
	assert_int_equal(err, -EAGAIN);

	/* No SYN-ACK retransmission for the dead child, and room for a new one. */
	struct sn_sock *c;
	struct sn_sock *s = establish(w, ls, &c);
	assert_int_equal(w_stats(w, S).tcp_synack_retrans, 0);
	assert_int_equal(w_stats(w, S).tcp_listen_overflow, 0);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * A RST in the window but not at RCV.NXT, to a half-open child: challenge
 * it (RFC 5961 3.2). In SYN-RECEIVED the engine's ACK is its SYN-ACK again,
 * which completes the handshake with a real peer and tells a confused one
 * where we are. The child stays.
 */
static void rst_in_window_to_passive_child(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 1);
	w_impair(w, S, 1000000, DELAY); /* C's stack must not answer */
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 100,
	                               .flags = SN_TH_SYN});
	w_run(w, 100 * W_MS);
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 150,
	                               .flags = SN_TH_RST});
	assert_string_equal(w_segs(w, 0),
	                    "S SYN,ACK seq=8000 ack=101 len=0\n"
	                    "S SYN,ACK seq=8000 ack=101 len=0\n");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED");
	assert_int_equal(w_stats(w, S).tcp_challenge_ack, 1);
	/* The exact one does reset it. */
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 80, .seq = 101,
	                               .flags = SN_TH_RST});
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED CLOSED");
	assert_int_equal(w->nsegs, 2);
	sn_close(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(abort_sends_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_reported_to_send_first, setup, teardown),
		cmocka_unit_test_setup_teardown(close_with_unread_data_sends_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(linger_zero_close_sends_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(linger_inherited_from_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(rst_at_rcv_nxt_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(rst_in_window_gets_challenge_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(rst_outside_window_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(syn_in_established_gets_challenge_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(challenge_ack_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(unacceptable_ack_answered_and_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(data_after_close_gets_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(rst_removes_passive_child, setup, teardown),
		cmocka_unit_test_setup_teardown(rst_in_window_to_passive_child, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
