/*
 * test_open.c - opening a connection: the three-way handshake from both
 * ends, simultaneous open (RFC 9293 3.5 figure 7), the sequence numbers SYN
 * and FIN occupy, a connection refused (3.10.7.1), the RST a stray ACK draws,
 * the SYN-SENT checks of 3.10.7.3, and a connect that times out after the
 * SYN retransmissions (RFC 6298 5.5 back-off).
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

static int setup(void **state)
{
	static struct world w;
	world_prepare(&w);
	world_start(&w, DELAY);
	world_static_arp(&w);
	*state = &w;
	return 0;
}

static int teardown(void **state)
{
	world_free(*state);
	return 0;
}

static void ev_record(struct sn_sock *s, unsigned ev, void *user)
{
	(void)s;
	*(unsigned *)user |= ev;
}

static int so_error(struct sn_sock *s)
{
	int e = -1;
	socklen_t len = sizeof(e);
	assert_int_equal(sn_getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len), 0);
	return e;
}

static void active_passive_open(void **state)
{
	struct world *w = *state;
	unsigned lev = 0, cev = 0;
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	assert_non_null(ls);
	sn_set_event_cb(ls, ev_record, &lev);
	int err = 0;
	assert_null(sn_accept(ls, NULL, NULL, &err));
	assert_int_equal(err, -EAGAIN);

	struct sn_sock *c = w_connect(w, C, 40000, 80);
	assert_non_null(c);
	sn_set_event_cb(c, ev_record, &cev);
	assert_int_equal(w_state_of(c), SN_SYN_SENT);
	/* A second connect while the first is under way, RFC 9293 3.10.1. */
	struct sockaddr_in to = sn_simnet_sockaddr(S, 80);
	assert_int_equal(sn_connect(c, (struct sockaddr *)&to, sizeof(to)), -EALREADY);

	w_run(w, 100 * W_MS);
	assert_string_equal(w_segs_timed(w, 0),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "5 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "10 C ACK seq=1001 ack=8001 len=0\n");
	/* Both SYNs offer the MSS of a 1500-byte MTU, and the whole buffer. */
	assert_int_equal(w->segs[0].seg.mss, 1460);
	assert_int_equal(w->segs[1].seg.mss, 1460);
	assert_int_equal(w->segs[0].seg.wnd, 65535);
	assert_int_equal(w->segs[2].seg.mss, 0);
	assert_string_equal(w_states(w, C), "SYN_SENT ESTABLISHED");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED ESTABLISHED");
	assert_int_equal(w_state_time(w, C, SN_ESTABLISHED), 10 * W_MS);
	assert_int_equal(w_state_time(w, S, SN_ESTABLISHED), 15 * W_MS);
	assert_true(cev & SN_EV_CONNECTED);
	assert_false(cev & SN_EV_ERROR);
	assert_true(lev & SN_EV_ACCEPTABLE);

	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	struct sn_sock *s = sn_accept(ls, (struct sockaddr *)&peer, &plen, &err);
	assert_non_null(s);
	assert_int_equal(err, 0);
	assert_int_equal(ntohs(peer.sin_port), 40000);
	assert_int_equal(ntohl(peer.sin_addr.s_addr), SN_SIMNET_ADDR(C));
	assert_int_equal(w_state_of(s), SN_ESTABLISHED);
	assert_int_equal(sn_connect(c, (struct sockaddr *)&to, sizeof(to)), -EISCONN);

	struct sn_tcp_info ci, si;
	assert_int_equal(sn_tcp_info(c, &ci), 0);
	assert_int_equal(sn_tcp_info(s, &si), 0);
	assert_int_equal(ci.iss, 1000);
	assert_int_equal(ci.irs, 8000);
	assert_int_equal(ci.snd_una, 1001);
	assert_int_equal(ci.snd_nxt, 1001);
	assert_int_equal(ci.rcv_nxt, 8001);
	/* 1460 less the 12 bytes of timestamps, which both SYNs offered
	 * (RFC 7323 3.2; Linux reports the same 1448). */
	assert_int_equal(ci.mss, 1448);
	assert_int_equal(si.iss, 8000);
	assert_int_equal(si.irs, 1000);
	assert_int_equal(si.snd_una, 8001);
	assert_int_equal(si.rcv_nxt, 1001);

	struct sn_stats cs = w_stats(w, C), ss = w_stats(w, S);
	assert_int_equal(cs.tcp_active_opens, 1);
	assert_int_equal(ss.tcp_passive_opens, 1);
	assert_int_equal(cs.tcp_curr_estab, 1);
	assert_int_equal(ss.tcp_curr_estab, 1);
	assert_int_equal(cs.tcp_retrans + ss.tcp_retrans, 0);
	assert_int_equal(cs.tcp_drop_bad_seg + ss.tcp_drop_bad_seg, 0);

	/* Nothing more is said on an idle connection. */
	w_run(w, 10 * W_SEC);
	assert_int_equal(w->nsegs, 3);
	sn_close(ls);
}

/*
 * RFC 9293 3.5 figure 7: both SYNs cross. Each side answers the other's SYN
 * with a SYN-ACK from SYN-RECEIVED; each SYN-ACK completes the other side's
 * open. Four segments, and no ACK of the SYN-ACKs is needed.
 */
static void simultaneous_open(void **state)
{
	struct world *w = *state;
	unsigned aev = 0, bev = 0;
	struct sn_sock *a = sn_socket(w->net.stack[C]);
	struct sn_sock *b = sn_socket(w->net.stack[S]);
	struct sockaddr_in la = sn_simnet_sockaddr(C, 40000), lb = sn_simnet_sockaddr(S, 40001);
	assert_int_equal(sn_bind(a, (struct sockaddr *)&la, sizeof(la)), 0);
	assert_int_equal(sn_bind(b, (struct sockaddr *)&lb, sizeof(lb)), 0);
	sn_set_event_cb(a, ev_record, &aev);
	sn_set_event_cb(b, ev_record, &bev);
	assert_int_equal(sn_connect(a, (struct sockaddr *)&lb, sizeof(lb)), -EINPROGRESS);
	assert_int_equal(sn_connect(b, (struct sockaddr *)&la, sizeof(la)), -EINPROGRESS);
	w_run(w, 100 * W_MS);

	assert_string_equal(w_segs_timed(w, 0),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "0 S SYN seq=8000 ack=0 len=0\n"
	                    "5 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "5 C SYN,ACK seq=1000 ack=8001 len=0\n");
	assert_string_equal(w_states(w, C), "SYN_SENT SYN_RECEIVED ESTABLISHED");
	assert_string_equal(w_states(w, S), "SYN_SENT SYN_RECEIVED ESTABLISHED");
	assert_int_equal(w_state_time(w, C, SN_ESTABLISHED), 10 * W_MS);
	assert_int_equal(w_state_time(w, S, SN_ESTABLISHED), 10 * W_MS);
	assert_true(aev & SN_EV_CONNECTED);
	assert_true(bev & SN_EV_CONNECTED);

	/* Nothing else: no ACK of the SYN-ACKs, no retransmission. */
	w_run(w, 10 * W_SEC);
	assert_int_equal(w->nsegs, 4);
	struct sn_stats cs = w_stats(w, C), ss = w_stats(w, S);
	assert_int_equal(cs.tcp_retrans + ss.tcp_retrans, 0);
	assert_int_equal(cs.tcp_curr_estab, 1);
	assert_int_equal(ss.tcp_curr_estab, 1);

	struct sn_tcp_info ai;
	sn_tcp_info(a, &ai);
	assert_int_equal(ai.snd_una, 1001);
	assert_int_equal(ai.snd_nxt, 1001);
	assert_int_equal(ai.rcv_nxt, 8001);

	/* The connection carries data both ways from the first octet after the SYNs. */
	assert_int_equal(sn_send(a, "ping", 4, 0), 4);
	assert_int_equal(sn_send(b, "pong!", 5, 0), 5);
	w_run(w, 100 * W_MS);
	char buf[16];
	assert_int_equal(sn_recv(b, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(sn_recv(a, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "pong!", 5);
	/* Each side delays its ACK; both timers expire in the same tick. */
	assert_string_equal(w_segs(w, 4),
	                    "C PSH,ACK seq=1001 ack=8001 len=4\n"
	                    "S PSH,ACK seq=8001 ack=1001 len=5\n"
	                    "C ACK seq=1005 ack=8006 len=0\n"
	                    "S ACK seq=8006 ack=1005 len=0\n");
	sn_abort(a);
	sn_abort(b);
}

/*
 * Simultaneous open with one SYN-ACK lost: C completes on S's SYN-ACK; S
 * stays in SYN-RECEIVED until its retransmission timer (running since its
 * SYN) resends the SYN-ACK, which C, already ESTABLISHED, finds old and
 * answers with an ACK (3.10.7.4 first check). That ACK completes S.
 */
static void simultaneous_open_lost_synack(void **state)
{
	struct world *w = *state;
	struct sn_sock *a = sn_socket(w->net.stack[C]);
	struct sn_sock *b = sn_socket(w->net.stack[S]);
	struct sockaddr_in la = sn_simnet_sockaddr(C, 40000), lb = sn_simnet_sockaddr(S, 40001);
	sn_bind(a, (struct sockaddr *)&la, sizeof(la));
	sn_bind(b, (struct sockaddr *)&lb, sizeof(lb));
	sn_connect(a, (struct sockaddr *)&lb, sizeof(lb));
	sn_connect(b, (struct sockaddr *)&la, sizeof(la));
	w_run_until(w, 1 * W_MS);
	w_impair(w, C, 1000000, DELAY); /* C's SYN-ACK at 5 ms is lost */
	w_run_until(w, 6 * W_MS);
	w_impair(w, C, 0, DELAY);
	w_run_until(w, 5 * W_SEC);
	assert_string_equal(w_segs_timed(w, 0),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "0 S SYN seq=8000 ack=0 len=0\n"
	                    "5 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "5 C SYN,ACK seq=1000 ack=8001 len=0\n"
	                    "1000 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "1005 C ACK seq=1001 ack=8001 len=0\n");
	assert_string_equal(w_states(w, C), "SYN_SENT SYN_RECEIVED ESTABLISHED");
	assert_string_equal(w_states(w, S), "SYN_SENT SYN_RECEIVED ESTABLISHED");
	assert_int_equal(w_state_time(w, C, SN_ESTABLISHED), 10 * W_MS);
	assert_int_equal(w_state_time(w, S, SN_ESTABLISHED), 1010 * W_MS);
	assert_int_equal(w_stats(w, S).tcp_synack_retrans, 1);
	assert_int_equal(w_stats(w, C).tcp_retrans, 0);
	sn_abort(a);
	sn_abort(b);
}

/*
 * The SYN and the FIN each occupy one octet of sequence space (RFC 9293 3.4):
 * the first data octet is ISS+1, and the FIN after n octets is acknowledged
 * with ISS+1+n+1.
 */
static void syn_and_fin_consume_one_seq(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run(w, 100 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	size_t mark = w->nsegs;

	assert_int_equal(sn_send(c, "abcde", 5, 0), 5);
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_send(s, "xyz", 3, 0), 3);
	w_run(w, 100 * W_MS);
	char buf[16];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 3);
	assert_int_equal(sn_close(c), 0);
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 5);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 0);
	assert_int_equal(sn_close(s), 0);
	w_run(w, 100 * W_MS);

	assert_string_equal(w_segs(w, mark),
	                    "C PSH,ACK seq=1001 ack=8001 len=5\n"
	                    "S ACK seq=8001 ack=1006 len=0\n"
	                    "S PSH,ACK seq=8001 ack=1006 len=3\n"
	                    "C ACK seq=1006 ack=8004 len=0\n"
	                    "C FIN,ACK seq=1006 ack=8004 len=0\n"
	                    "S ACK seq=8004 ack=1007 len=0\n"
	                    "S FIN,ACK seq=8004 ack=1007 len=0\n"
	                    "C ACK seq=1007 ack=8005 len=0\n");
	sn_close(ls);
}

/*
 * RFC 9293 3.10.7.1: a SYN to a port nobody listens on. The SYN has no ACK
 * bit, so the reply is <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, the SYN
 * counting in SEG.LEN. The RST acknowledges our SYN, so SYN-SENT believes it
 * (3.10.7.3) and the application learns ECONNREFUSED.
 */
static void connect_refused(void **state)
{
	struct world *w = *state;
	unsigned cev = 0;
	struct sn_sock *c = w_connect(w, C, 40000, 81);
	assert_non_null(c);
	sn_set_event_cb(c, ev_record, &cev);
	w_run(w, 100 * W_MS);

	assert_string_equal(w_segs_timed(w, 0),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "5 S RST,ACK seq=0 ack=1001 len=0\n");
	assert_string_equal(w_states(w, C), "SYN_SENT CLOSED");
	assert_string_equal(w_states(w, S), "");
	assert_int_equal(w_state_time(w, C, SN_CLOSED), 10 * W_MS);
	assert_true(cev & SN_EV_ERROR);
	assert_false(cev & SN_EV_CONNECTED);
	assert_int_equal(so_error(c), ECONNREFUSED);
	assert_int_equal(so_error(c), 0); /* reading SO_ERROR clears it */
	char buf[4];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -ENOTCONN);
	assert_int_equal(sn_send(c, "x", 1, 0), -ENOTCONN);

	struct sn_stats cs = w_stats(w, C), ss = w_stats(w, S);
	assert_int_equal(cs.tcp_active_opens, 1);
	assert_int_equal(cs.tcp_attempt_fails, 1);
	assert_int_equal(cs.tcp_rst_rx, 1);
	assert_int_equal(ss.tcp_rst_tx, 1);
	assert_int_equal(cs.tcp_curr_estab, 0);
	/* Nothing else follows: no SYN retransmission after the refusal. */
	w_run(w, 10 * W_SEC);
	assert_int_equal(w->nsegs, 2);
	sn_close(c);
}

/*
 * RFC 9293 3.10.7.1, the other cases: a segment without ACK draws
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> where data and SYN and FIN all
 * count in SEG.LEN; a segment with ACK draws <SEQ=SEG.ACK><CTL=RST>; a RST
 * draws nothing.
 */
static void closed_port_rst_formats(void **state)
{
	struct world *w = *state;
	static const char data[10] = "0123456789";

	/* An ACK (with data) to a closed port. */
	w_inject(w, S, &(struct w_pkt){.sport = 5555, .dport = 81, .seq = 5000, .ack = 7777,
	                               .flags = SN_TH_ACK | SN_TH_PSH, .data = data, .len = 10});
	/* A SYN carrying 10 octets: SEG.LEN = 11. */
	w_inject(w, S, &(struct w_pkt){.sport = 5556, .dport = 81, .seq = 100,
	                               .flags = SN_TH_SYN, .data = data, .len = 10});
	/* A FIN without ACK: SEG.LEN = 1. */
	w_inject(w, S, &(struct w_pkt){.sport = 5557, .dport = 81, .seq = 300,
	                               .flags = SN_TH_FIN});
	/* Bare data without ACK. */
	w_inject(w, S, &(struct w_pkt){.sport = 5558, .dport = 81, .seq = 400,
	                               .data = data, .len = 3});
	/* A RST, with and without ACK: never answered. */
	w_inject(w, S, &(struct w_pkt){.sport = 5559, .dport = 81, .seq = 500,
	                               .flags = SN_TH_RST});
	w_inject(w, S, &(struct w_pkt){.sport = 5559, .dport = 81, .seq = 500, .ack = 9,
	                               .flags = SN_TH_RST | SN_TH_ACK});
	/* SYN and FIN together: dropped and counted, not answered. */
	w_inject(w, S, &(struct w_pkt){.sport = 5560, .dport = 81, .seq = 600,
	                               .flags = SN_TH_SYN | SN_TH_FIN});

	assert_string_equal(w_segs(w, 0),
	                    "S RST seq=7777 ack=0 len=0\n"
	                    "S RST,ACK seq=0 ack=111 len=0\n"
	                    "S RST,ACK seq=0 ack=301 len=0\n"
	                    "S RST,ACK seq=0 ack=403 len=0\n");
	struct sn_stats ss = w_stats(w, S);
	assert_int_equal(ss.tcp_rst_tx, 4);
	assert_int_equal(ss.tcp_drop_syn_fin, 1);
	assert_string_equal(w_states(w, S), "");
}

/*
 * RFC 9293 3.10.7.3, SYN-SENT: an ACK that does not acknowledge our SYN gets
 * <SEQ=SEG.ACK><CTL=RST> and is dropped; a RST without an acceptable ACK is
 * ignored; a segment with neither SYN nor RST is dropped. None of them
 * disturbs the open, which then completes with the real SYN-ACK.
 */
static void syn_sent_checks(void **state)
{
	struct world *w = *state;
	w_impair(w, C, 1000000, DELAY); /* the real SYN never arrives */
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run(w, 100 * W_MS);
	assert_int_equal(w->nsegs, 1);

	/* SEG.ACK =< ISS and SEG.ACK > SND.NXT: both unacceptable. */
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 9000, .ack = 1000,
	                               .flags = SN_TH_SYN | SN_TH_ACK});
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 9000, .ack = 1002,
	                               .flags = SN_TH_ACK});
	/* RST with an unacceptable ACK, and RST without ACK: no reply. */
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 9000, .ack = 1002,
	                               .flags = SN_TH_RST | SN_TH_ACK});
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 9000,
	                               .flags = SN_TH_RST});
	/* An acceptable ACK without SYN: dropped. */
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 9000, .ack = 1001,
	                               .flags = SN_TH_ACK});
	assert_string_equal(w_segs(w, 1),
	                    "C RST seq=1000 ack=0 len=0\n"
	                    "C RST seq=1002 ack=0 len=0\n");
	assert_int_equal(w_state_of(c), SN_SYN_SENT);
	assert_int_equal(w_stats(w, C).tcp_rst_rx, 0);
	assert_int_equal(w_stats(w, C).tcp_drop_bad_seg, 5);

	/* The SYN-ACK, with an MSS of 1000: ESTABLISHED, ACK at once. */
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 9000, .ack = 1001,
	                               .flags = SN_TH_SYN | SN_TH_ACK, .mss = 1000});
	assert_string_equal(w_segs(w, 3), "C ACK seq=1001 ack=9001 len=0\n");
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	struct sn_tcp_info ci;
	sn_tcp_info(c, &ci);
	assert_int_equal(ci.irs, 9000);
	assert_int_equal(ci.mss, 1000);
	assert_string_equal(w_states(w, C), "SYN_SENT ESTABLISHED");
	sn_abort(c);
}

/*
 * No answer at all: the SYN goes at 0 and is retransmitted syn_retries (6)
 * times with the RTO doubling from 1 s (RFC 6298 2.1, 5.5): at 1, 3, 7, 15,
 * 31 and 63 s. The last one is given 64 s, so the attempt fails with
 * ETIMEDOUT at 127 s.
 */
static void connect_timeout(void **state)
{
	struct world *w = *state;
	unsigned cev = 0;
	w_impair(w, C, 1000000, DELAY);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	sn_set_event_cb(c, ev_record, &cev);

	w_run_until(w, 127 * W_SEC - 1);
	assert_int_equal(w_state_of(c), SN_SYN_SENT);
	assert_int_equal(cev, 0);
	w_run_until(w, 200 * W_SEC);
	assert_string_equal(w_segs_timed(w, 0),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "1000 C SYN seq=1000 ack=0 len=0\n"
	                    "3000 C SYN seq=1000 ack=0 len=0\n"
	                    "7000 C SYN seq=1000 ack=0 len=0\n"
	                    "15000 C SYN seq=1000 ack=0 len=0\n"
	                    "31000 C SYN seq=1000 ack=0 len=0\n"
	                    "63000 C SYN seq=1000 ack=0 len=0\n");
	assert_string_equal(w_states(w, C), "SYN_SENT CLOSED");
	assert_int_equal(w_state_time(w, C, SN_CLOSED), 127 * W_SEC);
	assert_true(cev & SN_EV_ERROR);
	assert_false(cev & SN_EV_CONNECTED);
	assert_int_equal(so_error(c), ETIMEDOUT);

	struct sn_stats cs = w_stats(w, C);
	assert_int_equal(cs.tcp_syn_retrans, 6);
	assert_int_equal(cs.tcp_retrans, 6);
	assert_int_equal(cs.tcp_attempt_fails, 1);
	assert_int_equal(cs.tcp_rst_tx, 0); /* nobody to tell */
	assert_int_equal(w_stats(w, S).tcp_rx, 0);
	sn_close(c);
}

/* The number of SYN retransmissions is the configured one. */
static void connect_timeout_syn_retries(void **state)
{
	struct world *w = *state;
	world_free(w);
	world_prepare(w);
	w->cfg[C].syn_retries = 2;
	w->cfg[C].initial_rto_ms = 500;
	world_start(w, DELAY);
	world_static_arp(w);
	w_impair(w, C, 1000000, DELAY);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run_until(w, 100 * W_SEC);
	assert_string_equal(w_segs_timed(w, 0),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "500 C SYN seq=1000 ack=0 len=0\n"
	                    "1500 C SYN seq=1000 ack=0 len=0\n");
	assert_int_equal(w_state_time(w, C, SN_CLOSED), 3500 * W_MS);
	assert_int_equal(so_error(c), ETIMEDOUT);
	assert_int_equal(w_stats(w, C).tcp_syn_retrans, 2);
	sn_close(c);
}

/* A connecting socket that is closed says nothing (RFC 9293 3.10.4, SYN-SENT)
 * and stops retransmitting; the SYN-ACK that was on its way draws a RST
 * from the now closed port, which clears the server's half-open child. */
static void close_in_syn_sent(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run(w, 3 * W_MS); /* the SYN is on the wire */
	assert_int_equal(sn_close(c), 0);
	w_run(w, 10 * W_SEC);
	assert_string_equal(w_segs_timed(w, 0),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "5 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "10 C RST seq=1001 ack=0 len=0\n");
	assert_string_equal(w_states(w, C), "SYN_SENT CLOSED");
	assert_string_equal(w_states(w, S), "LISTEN SYN_RECEIVED CLOSED");
	int err;
	assert_null(sn_accept(ls, NULL, NULL, &err));
	sn_close(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(active_passive_open, setup, teardown),
		cmocka_unit_test_setup_teardown(simultaneous_open, setup, teardown),
		cmocka_unit_test_setup_teardown(simultaneous_open_lost_synack, setup, teardown),
		cmocka_unit_test_setup_teardown(syn_and_fin_consume_one_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(connect_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(closed_port_rst_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(syn_sent_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(connect_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(connect_timeout_syn_retries, setup, teardown),
		cmocka_unit_test_setup_teardown(close_in_syn_sent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
