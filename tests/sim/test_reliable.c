/*
 * test_reliable.c - reliable data transfer, asserted to the segment and to
 * the millisecond of virtual time:
 *
 *   - the RFC 6298 estimator (SRTT, RTTVAR, RTO after known samples, the
 *     minimum, 5.7's 3 s after a lost SYN), Karn's rule, exponential
 *     back-off, data_retries and TCP_USER_TIMEOUT ending in ETIMEDOUT;
 *   - retransmission of exactly what was lost, in slow start from one
 *     segment after a timeout, and the receiver's reassembly queue (every order of five
 *     segments, overlaps, a FIN ahead of a hole);
 *   - delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2), Nagle (RFC 896) and
 *     sender/receiver SWS avoidance (RFC 1122 4.2.3.3, 4.2.3.4);
 *   - the persist timer (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17): probing
 *     while answered, giving up when not, a window shrunk under data in
 *     flight (RFC 9293 3.8.6.2.1); and keepalive (RFC 1122 4.2.3.6).
 *
 * Side C (0) connects from 198.18.0.1, side S (1) listens on 198.18.0.2:80;
 * ISNs are 1000 and 8000, so C's first data octet is 1001 and S's 8001. Times
 * in the expected listings are milliseconds of virtual time.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core.h" /* stack_enter/stack_leave, a socket's sequence numbers */
#include "world.h"

#define C 0
#define S 1
#define MSS 1460 /* 1500 - 20 - 20 on the simnet link */

static int setup(void **state)
{
	static struct world w;
	world_prepare(&w);
	/* These tests pin RFC 6298 one-segment timing, Karn's rule and
	 * 1460-byte segments to the millisecond. Timestamps (RFC 7323, on by
	 * default) replace the first with RTTM and take 12 bytes of every
	 * segment, so they are off here; test_options.c covers them. */
	for (int i = 0; i < 2; i++)
		w.cfg[i].no_timestamps = 1;
	*state = &w;
	return 0;
}

static int teardown(void **state)
{
	world_free(*state);
	return 0;
}

/* Start the world; change w->cfg[] before calling this. */
static void go(struct world *w, uint64_t delay_us)
{
	world_start(w, delay_us);
	world_static_arp(w);
}

static struct sn_sock *establish(struct world *w, struct sn_sock *ls, uint16_t lport,
                                 struct sn_sock **c)
{
	*c = w_connect(w, C, lport, 80);
	assert_non_null(*c);
	w_run(w, 1 * W_SEC);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	assert_int_equal(w_state_of(*c), SN_ESTABLISHED);
	assert_int_equal(w_state_of(s), SN_ESTABLISHED);
	return s;
}

static struct sn_tcp_info info_of(const struct sn_sock *s)
{
	struct sn_tcp_info i;
	assert_int_equal(sn_tcp_info(s, &i), 0);
	return i;
}

static uint8_t pattern_byte(size_t i)
{
	return (uint8_t)(i * 131 + (i >> 8) * 7 + 1);
}

static void pattern(uint8_t *buf, size_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(off + i);
}

static void ev_record(struct sn_sock *s, unsigned ev, void *user)
{
	(void)s;
	*(unsigned *)user |= ev;
}

static int opt_int(struct sn_sock *s, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);
	assert_int_equal(sn_getsockopt(s, level, name, &v, &len), 0);
	return v;
}

static int set_int(struct sn_sock *s, int level, int name, int v)
{
	return sn_setsockopt(s, level, name, &v, sizeof(v));
}

/* A growing expected listing. */
struct text {
	char buf[8192];
	size_t len;
};

static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(t->buf + t->len, sizeof(t->buf) - t->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(t->buf) - t->len);
	t->len += (size_t)n;
}

/* ---- the RFC 6298 estimator, computed here independently ----------------- */

/* RFC 6298 in integer microseconds: 2.2 for the first sample, 2.3 after
 * (RTTVAR before SRTT, both with the old SRTT), RTO = SRTT + max(G, 4 RTTVAR)
 * with G the 1 ms clock granularity, bounded below by the minimum (2.4). */
struct est {
	uint64_t srtt, rttvar, rto, min;
};

static void est_sample(struct est *e, uint64_t r)
{
	if (e->srtt == 0) {
		e->srtt = r;
		e->rttvar = r / 2;
	} else {
		uint64_t delta = e->srtt > r ? e->srtt - r : r - e->srtt;
		e->rttvar = (3 * e->rttvar + delta) / 4;
		e->srtt = (7 * e->srtt + r) / 8;
	}
	uint64_t k = 4 * e->rttvar;
	e->rto = e->srtt + (k > 1000 ? k : 1000);
	if (e->rto < e->min)
		e->rto = e->min;
}

static void check_est(const struct sn_sock *s, const struct est *e)
{
	struct sn_tcp_info i = info_of(s);
	assert_int_equal(i.srtt_us, e->srtt);
	assert_int_equal(i.rttvar_us, e->rttvar);
	assert_int_equal(i.rto_us, e->rto);
}

/*
 * One-way delay 50 ms, minimum RTO lowered to 10 ms so that the estimate
 * itself is the RTO. The handshake gives R = 100 ms on both sides; then
 * data round trips with known R: a small segment is ACKed after the 40 ms
 * delayed-ACK time (R = 140 ms), two full segments at once (R = 100 ms), and
 * with the forward delay raised to 150 ms, R = 200 ms.
 */
static void rto_follows_rtt_samples(void **state)
{
	struct world *w = *state;
	w->cfg[C].min_rto_ms = 10;
	w->cfg[S].min_rto_ms = 10;
	go(w, 50 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	/* 2.1: before any sample the RTO is the initial 1 s. */
	struct sn_tcp_info i = info_of(c);
	assert_int_equal(i.rto_us, 1000000);
	assert_int_equal(i.srtt_us, 0);
	assert_int_equal(i.rttvar_us, 0);
	w_run(w, 1 * W_SEC);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);

	/* 2.2: SRTT = R, RTTVAR = R/2, RTO = R + 4 R/2 = 300 ms. */
	struct est ec = {.min = 10000}, es = {.min = 10000};
	est_sample(&ec, 100000);
	est_sample(&es, 100000);
	assert_int_equal(ec.rto, 300000);
	check_est(c, &ec);
	check_est(s, &es);

	uint8_t buf[4 * MSS], got[4 * MSS];
	pattern(buf, 0, sizeof(buf));
	size_t mark = w->nsegs;
	w_run_until(w, 1000 * W_MS);
	assert_int_equal(sn_send(c, buf, 100, 0), 100);
	w_run_until(w, 2000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C PSH,ACK seq=1001 ack=8001 len=100\n"
	                    "1090 S ACK seq=8001 ack=1101 len=0\n");
	est_sample(&ec, 140000);
	/* 2.3 by hand once: RTTVAR = 3/4 50 + 1/4 |100 - 140| = 47.5 ms,
	 * SRTT = 7/8 100 + 1/8 140 = 105 ms, RTO = 105 + 4 * 47.5 = 295 ms. */
	assert_int_equal(ec.rttvar, 47500);
	assert_int_equal(ec.srtt, 105000);
	assert_int_equal(ec.rto, 295000);
	check_est(c, &ec);

	mark = w->nsegs;
	assert_int_equal(sn_send(c, buf, 2 * MSS, 0), 2 * MSS);
	w_run_until(w, 2001 * W_MS);
	i = info_of(c);
	assert_int_equal(i.bytes_in_flight, 2 * MSS);
	assert_int_equal(i.snd_una, 1101);
	assert_int_equal(i.snd_nxt, 1101 + 2 * MSS);
	assert_int_equal(i.snd_wnd, 65535 - 100); /* S has not read the first 100 */
	w_run_until(w, 3000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "2000 C ACK seq=1101 ack=8001 len=1460\n"
	                    "2000 C PSH,ACK seq=2561 ack=8001 len=1460\n"
	                    "2050 S ACK seq=8001 ack=4021 len=0\n");
	est_sample(&ec, 100000);
	check_est(c, &ec);
	assert_int_equal(info_of(c).bytes_in_flight, 0);

	w_impair(w, C, 0, 150 * W_MS);
	for (int round = 0; round < 3; round++) {
		assert_int_equal(sn_send(c, buf, 2 * MSS, 0), 2 * MSS);
		w_run(w, 1 * W_SEC);
		est_sample(&ec, 200000);
		check_est(c, &ec);
	}
	/* The receiver holds everything unread: its window is what is left. */
	i = info_of(s);
	assert_int_equal(i.rcv_buf_used, 100 + 8 * MSS);
	assert_int_equal(i.rcv_wnd, 65535 - 100 - 8 * MSS);
	assert_int_equal(info_of(c).snd_wnd, 65535 - 100 - 8 * MSS);
	assert_int_equal(sn_recv(s, got, 100, 0), 100);
	assert_memory_equal(got, buf, 100);

	assert_int_equal(w_stats(w, C).tcp_rtt_samples, 1 + 1 + 1 + 3);
	assert_int_equal(w_stats(w, S).tcp_rtt_samples, 1);
	check_est(s, &es); /* S sent no data: nothing more to measure */
	assert_int_equal(w_stats(w, C).tcp_retrans, 0);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/* RFC 6298 2.4: with the default 1 s minimum, a 100 ms path has a 1 s RTO. */
static void rto_has_one_second_floor(void **state)
{
	struct world *w = *state;
	go(w, 50 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	struct sn_tcp_info i = info_of(c);
	assert_int_equal(i.srtt_us, 100000);
	assert_int_equal(i.rttvar_us, 50000);
	assert_int_equal(i.rto_us, 1000000);
	assert_int_equal(sn_send(c, "x", 1, 0), 1);
	w_run(w, 1 * W_SEC);
	struct est e = {.min = 1000000};
	est_sample(&e, 100000);
	est_sample(&e, 140000);
	check_est(c, &e);
	assert_int_equal(e.rto, 1000000);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/* ---- back-off and giving up --------------------------------------------- */

/* Establish, then from 1 s on lose everything C sends. */
static struct sn_sock *blackhole_after_handshake(struct world *w, struct sn_sock **ls,
                                                 struct sn_sock **c)
{
	go(w, 5 * W_MS);
	*ls = w_listen(w, S, 80, 8);
	struct sn_sock *s = establish(w, *ls, 40000, c);
	w_run_until(w, 1000 * W_MS);
	w_impair(w, C, 1000000, 5 * W_MS);
	return s;
}

/*
 * RFC 6298 5.4-5.6: each expiry resends the oldest unacknowledged segment
 * (same sequence number and length) and doubles the RTO: 1, 2, 4, 8, 16 s.
 * With data_retries = 5 the sixth expiry, 63 s after the first send, ends
 * the connection with ETIMEDOUT and no RST.
 */
static void backoff_doubles_until_etimedout(void **state)
{
	struct world *w = *state;
	w->cfg[C].data_retries = 5;
	struct sn_sock *ls, *c;
	struct sn_sock *s = blackhole_after_handshake(w, &ls, &c);
	unsigned cev = 0;
	sn_set_event_cb(c, ev_record, &cev);
	size_t mark = w->nsegs;
	assert_int_equal(sn_send(c, "0123456789", 10, 0), 10);

	static const uint64_t at[] = {1000, 2000, 4000, 8000, 16000, 32000};
	for (unsigned k = 0; k < 6; k++) {
		w_run_until(w, at[k] * W_MS);
		assert_int_equal(w->nsegs, mark + k + 1);
		const struct w_seg *g = &w->segs[mark + k];
		assert_int_equal(g->t, at[k] * W_MS);
		assert_int_equal(g->seg.seq, 1001);
		assert_int_equal(g->seg.len, 10);
		struct sn_tcp_info i = info_of(c);
		assert_int_equal(i.retransmits, k);
		assert_int_equal(i.total_retrans, k);
		assert_int_equal(i.rto_us, 1000000u << k);
		assert_int_equal(i.bytes_in_flight, 10);
		assert_int_equal(i.snd_una, 1001);
		assert_int_equal(i.snd_nxt, 1011);
		assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	}
	w_run_until(w, 64000 * W_MS - 1);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	w_run_until(w, 70000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "2000 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "4000 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "8000 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "16000 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "32000 C PSH,ACK seq=1001 ack=8001 len=10\n");
	assert_int_equal(w_state_time(w, C, SN_CLOSED), 64000 * W_MS);
	assert_true(cev & SN_EV_ERROR);
	assert_true(cev & SN_EV_HUP);
	struct sn_stats cs = w_stats(w, C);
	assert_int_equal(cs.tcp_retrans, 5);
	assert_int_equal(cs.tcp_timeouts, 1);
	assert_int_equal(cs.tcp_rst_tx, 0);
	assert_int_equal(cs.tcp_curr_estab, 0);
	/* The error is reported once, by whichever call comes first. */
	char buf[16];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -ETIMEDOUT);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 0);
	assert_int_equal(sn_send(c, "x", 1, 0), -EPIPE);
	sn_close(c);
	sn_abort(s);
	sn_close(ls);
}

/* RFC 6298 5.5 with a maximum (2.5): 1, 2, 4, 8, 8, 8, 8 s; SO_ERROR reports. */
static void backoff_capped_at_max_rto(void **state)
{
	struct world *w = *state;
	w->cfg[C].data_retries = 7;
	w->cfg[C].max_rto_ms = 8000;
	struct sn_sock *ls, *c;
	struct sn_sock *s = blackhole_after_handshake(w, &ls, &c);
	size_t mark = w->nsegs;
	assert_int_equal(sn_send(c, "abc", 3, 0), 3);
	w_run_until(w, 33000 * W_MS);
	assert_int_equal(info_of(c).rto_us, 8000000);
	assert_int_equal(info_of(c).retransmits, 6);
	w_run_until(w, 60000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C PSH,ACK seq=1001 ack=8001 len=3\n"
	                    "2000 C PSH,ACK seq=1001 ack=8001 len=3\n"
	                    "4000 C PSH,ACK seq=1001 ack=8001 len=3\n"
	                    "8000 C PSH,ACK seq=1001 ack=8001 len=3\n"
	                    "16000 C PSH,ACK seq=1001 ack=8001 len=3\n"
	                    "24000 C PSH,ACK seq=1001 ack=8001 len=3\n"
	                    "32000 C PSH,ACK seq=1001 ack=8001 len=3\n"
	                    "40000 C PSH,ACK seq=1001 ack=8001 len=3\n");
	assert_int_equal(w_state_time(w, C, SN_CLOSED), 48000 * W_MS);
	assert_int_equal(opt_int(c, SOL_SOCKET, SO_ERROR), ETIMEDOUT);
	assert_int_equal(opt_int(c, SOL_SOCKET, SO_ERROR), 0);
	assert_int_equal(sn_send(c, "x", 1, 0), -EPIPE);
	assert_int_equal(w_stats(w, C).tcp_timeouts, 1);
	sn_close(c);
	sn_abort(s);
	sn_close(ls);
}

/* The defaults: 15 retransmissions, RTO capped at 120 s: given up after
 * 1+2+4+...+64 + 9 * 120 = 1207 s. */
static void default_retries_give_up_after_1207s(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c;
	struct sn_sock *s = blackhole_after_handshake(w, &ls, &c);
	assert_int_equal(sn_send(c, "abc", 3, 0), 3);
	w_run_until(w, 1300 * W_SEC);
	assert_int_equal(w_state_time(w, C, SN_CLOSED), (1000 + 1207000) * W_MS);
	assert_int_equal(w_stats(w, C).tcp_retrans, 15);
	assert_int_equal(w_stats(w, C).tcp_timeouts, 1);
	assert_int_equal(sn_send(c, "x", 1, 0), -ETIMEDOUT);
	sn_close(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * TCP_USER_TIMEOUT: the connection is dropped once sent data has gone
 * unacknowledged that long, at that moment, not at the next back-off step:
 * 2500 ms after the send, where the retries alone would have waited longer.
 */
static void user_timeout_ends_earlier(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c;
	struct sn_sock *s = blackhole_after_handshake(w, &ls, &c);
	assert_int_equal(set_int(c, IPPROTO_TCP, TCP_USER_TIMEOUT, 2500), 0);
	assert_int_equal(opt_int(c, IPPROTO_TCP, TCP_USER_TIMEOUT), 2500);
	size_t mark = w->nsegs;
	assert_int_equal(sn_send(c, "abc", 3, 0), 3);
	w_run_until(w, 3499 * W_MS);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	w_run_until(w, 10 * W_SEC);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C PSH,ACK seq=1001 ack=8001 len=3\n"
	                    "2000 C PSH,ACK seq=1001 ack=8001 len=3\n");
	assert_int_equal(w_state_time(w, C, SN_CLOSED), 3500 * W_MS);
	assert_int_equal(w_stats(w, C).tcp_timeouts, 1);
	assert_int_equal(opt_int(c, SOL_SOCKET, SO_ERROR), ETIMEDOUT);
	char b[4];
	assert_int_equal(sn_recv(c, b, sizeof(b), 0), 0);
	sn_close(c);
	sn_abort(s);
	sn_close(ls);
}

/* ---- Karn's rule and RFC 6298 5.7 ----------------------------------------- */

/*
 * Karn: the ACK of a segment that was sent twice cannot tell which copy it
 * answers, so it gives no sample, whether the first copy was lost or only
 * late; the back-off it caused is undone by the ACK of new data. A segment
 * sent once gives a sample again.
 */
static void karn_no_sample_from_retransmission(void **state)
{
	struct world *w = *state;
	w->cfg[C].min_rto_ms = 10;
	w->cfg[S].min_rto_ms = 10;
	go(w, 50 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	struct est e = {.min = 10000};
	est_sample(&e, 100000);
	check_est(c, &e);
	assert_int_equal(w_stats(w, C).tcp_rtt_samples, 1);

	/* Lost: resent at the 300 ms RTO, ACKed (delayed) 140 ms later. */
	size_t mark = w->nsegs;
	sn_memlink_drop_nth(w->net.link, C, 1);
	assert_int_equal(sn_send(c, "0123456789", 10, 0), 10);
	w_run_until(w, 1301 * W_MS);
	struct sn_tcp_info i = info_of(c);
	assert_int_equal(i.retransmits, 1);
	assert_int_equal(i.rto_us, 600000);
	w_run_until(w, 2000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "1300 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "1390 S ACK seq=8001 ack=1011 len=0\n");
	assert_int_equal(w_stats(w, C).tcp_rtt_samples, 1);
	check_est(c, &e); /* back-off undone, estimate untouched */
	i = info_of(c);
	assert_int_equal(i.retransmits, 0);
	assert_int_equal(i.total_retrans, 1);

	/* Sent once: sampled. */
	assert_int_equal(sn_send(c, "abcdefghij", 10, 0), 10);
	w_run_until(w, 3000 * W_MS);
	assert_int_equal(w_stats(w, C).tcp_rtt_samples, 2);
	est_sample(&e, 140000);
	check_est(c, &e);
	assert_int_equal(e.rto, 295000);

	/* Only late: the forward delay jumps to 400 ms, the RTO (295 ms)
	 * fires first; the original's ACK arrives at 3490, the copy's
	 * (a duplicate, ACKed at once) at 3745. Neither is a sample. */
	w_impair(w, C, 0, 400 * W_MS);
	mark = w->nsegs;
	assert_int_equal(sn_send(c, "ABCDEFGHIJ", 10, 0), 10);
	w_run_until(w, 4000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "3000 C PSH,ACK seq=1021 ack=8001 len=10\n"
	                    "3295 C PSH,ACK seq=1021 ack=8001 len=10\n"
	                    "3440 S ACK seq=8001 ack=1031 len=0\n"
	                    "3695 S ACK seq=8001 ack=1031 len=0\n");
	assert_int_equal(w_stats(w, C).tcp_rtt_samples, 2);
	check_est(c, &e);
	assert_int_equal(info_of(c).total_retrans, 2);

	w_impair(w, C, 0, 50 * W_MS);
	assert_int_equal(sn_send(c, "klmnopqrst", 10, 0), 10);
	w_run_until(w, 5000 * W_MS);
	assert_int_equal(w_stats(w, C).tcp_rtt_samples, 3);
	est_sample(&e, 140000);
	check_est(c, &e);
	char buf[64];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 40);
	assert_memory_equal(buf, "0123456789abcdefghijABCDEFGHIJklmnopqrst", 40);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * RFC 6298 5.7: the first SYN is lost; the handshake completes on the
 * retransmission without a sample, and data transfer starts with a 3 s RTO,
 * which the next lost segment waits for. A clean sample then replaces it.
 */
static void lost_syn_gives_three_second_rto(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	sn_memlink_drop_nth(w->net.link, C, 1);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run_until(w, 2000 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	assert_string_equal(w_segs_timed(w, 0),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "1000 C SYN seq=1000 ack=0 len=0\n"
	                    "1005 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "1010 C ACK seq=1001 ack=8001 len=0\n");
	struct sn_tcp_info i = info_of(c);
	assert_int_equal(i.rto_us, 3000000);
	assert_int_equal(i.srtt_us, 0);
	assert_int_equal(w_stats(w, C).tcp_rtt_samples, 0);
	/* The passive side timed its SYN-ACK cleanly: 10 ms, RTO at the 1 s floor. */
	i = info_of(s);
	assert_int_equal(i.srtt_us, 10000);
	assert_int_equal(i.rto_us, 1000000);

	size_t mark = w->nsegs;
	sn_memlink_drop_nth(w->net.link, C, 1);
	assert_int_equal(sn_send(c, "0123456789", 10, 0), 10);
	w_run_until(w, 6000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "2000 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "5000 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "5045 S ACK seq=8001 ack=1011 len=0\n");
	i = info_of(c);
	assert_int_equal(i.rto_us, 3000000); /* still no sample (Karn) */
	assert_int_equal(i.srtt_us, 0);

	assert_int_equal(sn_send(c, "abcdefghij", 10, 0), 10);
	w_run_until(w, 7000 * W_MS);
	struct est e = {.min = 1000000};
	est_sample(&e, 50000);
	check_est(c, &e);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * RFC 6298 5.7 raises an RTO below 3 s to 3 s; it does not lower a larger
 * one. With a 4 s initial RTO the lost SYN is resent at 4 s, and data
 * transfer starts with the 4 s RTO (not the 8 s backed-off one).
 */
static void lost_syn_keeps_larger_initial_rto(void **state)
{
	struct world *w = *state;
	w->cfg[C].initial_rto_ms = 4000;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	sn_memlink_drop_nth(w->net.link, C, 1);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run_until(w, 5000 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	assert_int_equal(w_state_time(w, C, SN_ESTABLISHED), 4010 * W_MS);
	assert_int_equal(info_of(c).rto_us, 4000000);
	assert_int_equal(info_of(c).srtt_us, 0);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * The passive side's SYN-ACK is lost. The client's SYN retransmission makes
 * the server resend it at once (before its own, longer, timer): that copy is
 * a retransmission too, so the final ACK is no sample (Karn) and the server
 * starts with the RFC 6298 5.7 RTO of 3 s, like the client.
 */
static void lost_synack_no_sample_and_three_seconds(void **state)
{
	struct world *w = *state;
	w->cfg[S].initial_rto_ms = 3000;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	sn_memlink_drop_nth(w->net.link, S, 1);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run_until(w, 2000 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	assert_string_equal(w_segs_timed(w, 0),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "5 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "1000 C SYN seq=1000 ack=0 len=0\n"
	                    "1005 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "1010 C ACK seq=1001 ack=8001 len=0\n");
	assert_int_equal(w_stats(w, S).tcp_rtt_samples, 0);
	assert_int_equal(info_of(s).srtt_us, 0);
	assert_int_equal(info_of(s).rto_us, 3000000);
	assert_int_equal(w_stats(w, C).tcp_rtt_samples, 0);
	assert_int_equal(info_of(c).rto_us, 3000000);
	/* One SYN-ACK was sent again, once. */
	assert_int_equal(w_stats(w, S).tcp_synack_retrans, 1);
	assert_int_equal(w_stats(w, S).tcp_retrans, 1);
	assert_int_equal(info_of(s).total_retrans, 1);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/* ---- retransmitting what was lost, and only that -------------------------- */

/*
 * The 2nd of 4 full segments is lost. The receiver keeps the 3rd and 4th
 * (tcp_ooo_queued) and says at once, twice, where the hole is; the sender
 * resends exactly the lost segment one RTO after the last ACK of new data
 * (RFC 6298 5.3), and the ACK of the hole filled covers all four.
 */
static void single_loss_resends_exactly_the_hole(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	uint8_t buf[4 * MSS], got[4 * MSS + 1];
	pattern(buf, 0, sizeof(buf));
	size_t mark = w->nsegs;
	sn_memlink_drop_nth(w->net.link, C, 2);
	assert_int_equal(sn_send(c, buf, sizeof(buf), 0), sizeof(buf));
	w_run_until(w, 1500 * W_MS);
	assert_int_equal(w_stats(w, S).tcp_ooo_queued, 2);
	struct sn_tcp_info i = info_of(c);
	assert_int_equal(i.snd_una, 2461);
	assert_int_equal(i.bytes_in_flight, 3 * MSS);
	assert_int_equal(i.retransmits, 0);
	i = info_of(s);
	assert_int_equal(i.rcv_nxt, 2461);
	assert_int_equal(i.rcv_buf_used, MSS);
	w_run_until(w, 2012 * W_MS);
	i = info_of(c);
	assert_int_equal(i.retransmits, 1);
	assert_int_equal(i.total_retrans, 1);
	assert_int_equal(i.bytes_in_flight, 3 * MSS);
	assert_int_equal(i.rto_us, 2000000);
	w_run_until(w, 3000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C ACK seq=1001 ack=8001 len=1460\n"
	                    "1000 C ACK seq=2461 ack=8001 len=1460\n"
	                    "1000 C ACK seq=3921 ack=8001 len=1460\n"
	                    "1000 C PSH,ACK seq=5381 ack=8001 len=1460\n"
	                    "1005 S ACK seq=8001 ack=2461 len=0\n"
	                    "1005 S ACK seq=8001 ack=2461 len=0\n"
	                    "2010 C ACK seq=2461 ack=8001 len=1460\n"
	                    "2015 S ACK seq=8001 ack=6841 len=0\n");
	i = info_of(c);
	assert_int_equal(i.retransmits, 0);
	assert_int_equal(i.bytes_in_flight, 0);
	assert_int_equal(i.rto_us, 1000000);
	assert_int_equal(w_stats(w, C).tcp_retrans, 1);
	assert_int_equal(w_stats(w, S).tcp_delayed_acks, 0);
	assert_int_equal(sn_recv(s, got, sizeof(got), 0), sizeof(buf));
	assert_memory_equal(got, buf, sizeof(buf));
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * After a timeout the sender goes back to SND.UNA in slow start from one
 * segment (RFC 5681 3.1), and resends only the holes: the 2nd and 4th of
 * five are lost, which draws two duplicate ACKs (too few for fast
 * retransmit, and too little SACKed above the hole for RFC 6675 to call it
 * lost), so the RTO fires. The resent 2nd is ACKed at once up to the 4th
 * (RFC 5681 4.2); the 3rd, which the peer SACKed, is skipped, and only the
 * 4th goes again, never the 3rd or 5th that the receiver holds.
 */
static void after_timeout_only_holes_are_resent(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	uint8_t buf[5 * MSS], got[5 * MSS + 1];
	pattern(buf, 0, sizeof(buf));
	size_t mark = w->nsegs;
	/* Full-sized writes leave at once whatever is in flight. */
	for (int k = 0; k < 5; k++) {
		if (k == 1 || k == 3)
			sn_memlink_drop_nth(w->net.link, C, 1);
		assert_int_equal(sn_send(c, buf + k * MSS, MSS, 0), MSS);
		w_run(w, 1 * W_MS);
	}
	w_run_until(w, 3000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C PSH,ACK seq=1001 ack=8001 len=1460\n"
	                    "1001 C PSH,ACK seq=2461 ack=8001 len=1460\n"
	                    "1002 C PSH,ACK seq=3921 ack=8001 len=1460\n"
	                    "1003 C PSH,ACK seq=5381 ack=8001 len=1460\n"
	                    "1004 C PSH,ACK seq=6841 ack=8001 len=1460\n"
	                    "1007 S ACK seq=8001 ack=2461 len=0\n"
	                    "1009 S ACK seq=8001 ack=2461 len=0\n"
	                    "2012 C ACK seq=2461 ack=8001 len=1460\n"
	                    "2017 S ACK seq=8001 ack=5381 len=0\n"
	                    "2022 C ACK seq=5381 ack=8001 len=1460\n"
	                    "2027 S ACK seq=8001 ack=8301 len=0\n");
	assert_int_equal(w_stats(w, C).tcp_retrans, 2);
	assert_int_equal(w_stats(w, C).tcp_rto_events, 1);
	assert_int_equal(w_stats(w, C).tcp_fast_recoveries, 0);
	assert_int_equal(info_of(c).total_retrans, 2);
	assert_int_equal(info_of(c).bytes_in_flight, 0);
	assert_int_equal(w_stats(w, S).tcp_ooo_queued, 2);
	assert_int_equal(sn_recv(s, got, sizeof(got), 0), sizeof(buf));
	assert_memory_equal(got, buf, sizeof(buf));
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/* ---- delayed ACK ---------------------------------------------------------- */

/*
 * RFC 1122 4.2.3.2 / RFC 5681 4.2: a lone small segment is ACKed exactly
 * delack_ms after it arrives; the second of two full-sized segments is ACKed
 * at once; out-of-order data is ACKed at once, and so is the segment that
 * fills the hole.
 */
static void delayed_ack_rules(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	uint8_t buf[2 * MSS];
	pattern(buf, 0, sizeof(buf));
	size_t mark = w->nsegs;
	w_run_until(w, 1000 * W_MS);
	assert_int_equal(sn_send(c, buf, 10, 0), 10);
	w_run_until(w, 2000 * W_MS);
	assert_int_equal(sn_send(c, buf, 2 * MSS, 0), 2 * MSS);
	w_run_until(w, 3000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "1045 S ACK seq=8001 ack=1011 len=0\n"
	                    "2000 C ACK seq=1011 ack=8001 len=1460\n"
	                    "2000 C PSH,ACK seq=2471 ack=8001 len=1460\n"
	                    "2005 S ACK seq=8001 ack=3931 len=0\n");
	assert_int_equal(w_stats(w, S).tcp_delayed_acks, 1);

	/* The first of two small segments is lost (TCP_NODELAY lets the second
	 * go at once): the second is out of order and ACKed at once, and so
	 * is the retransmission that fills the hole. The second segment's
	 * ACK carries a SACK block for it, so the retransmission (after the
	 * RTO: one duplicate ACK is no reason for fast retransmit) carries
	 * only the hole. */
	assert_int_equal(set_int(c, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	mark = w->nsegs;
	sn_memlink_drop_nth(w->net.link, C, 1);
	assert_int_equal(sn_send(c, "AAAAAAAAAA", 10, 0), 10);
	w_run(w, 1 * W_MS);
	assert_int_equal(sn_send(c, "BBBBBBBBBB", 10, 0), 10);
	w_run_until(w, 5000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "3000 C PSH,ACK seq=3931 ack=8001 len=10\n"
	                    "3001 C PSH,ACK seq=3941 ack=8001 len=10\n"
	                    "3006 S ACK seq=8001 ack=3931 len=0\n"
	                    "4000 C ACK seq=3931 ack=8001 len=10\n"
	                    "4005 S ACK seq=8001 ack=3951 len=0\n");
	assert_int_equal(w_stats(w, S).tcp_delayed_acks, 1);
	uint8_t got[3 * MSS];
	assert_int_equal(sn_recv(s, got, sizeof(got), 0), 10 + 2 * MSS + 20);
	assert_memory_equal(got + 10 + 2 * MSS, "AAAAAAAAAABBBBBBBBBB", 20);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/* cfg.delack_ms sets the delay: 100 ms here; above 200 ms it is capped. */
static void delayed_ack_configured(void **state)
{
	struct world *w = *state;
	w->cfg[S].delack_ms = 100;
	w->cfg[C].delack_ms = 5000;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	size_t mark = w->nsegs;
	w_run_until(w, 1000 * W_MS);
	assert_int_equal(sn_send(c, "hello", 5, 0), 5);
	w_run_until(w, 2000 * W_MS);
	assert_int_equal(sn_send(s, "world", 5, 0), 5);
	w_run_until(w, 3000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C PSH,ACK seq=1001 ack=8001 len=5\n"
	                    "1105 S ACK seq=8001 ack=1006 len=0\n"
	                    "2000 S PSH,ACK seq=8001 ack=1006 len=5\n"
	                    "2205 C ACK seq=1006 ack=8006 len=0\n");
	assert_int_equal(w_stats(w, S).tcp_delayed_acks, 1);
	assert_int_equal(w_stats(w, C).tcp_delayed_acks, 1);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * A stack call that holds back ACKs on more sockets than it keeps a list
 * for (input.c, delack_hold): those past the list arm their timer at once,
 * the others at the end of the call; every one is ACKed delack_ms later.
 */
static void delayed_acks_of_many_sockets_in_one_call(void **state)
{
	enum { N = SN_DELACK_HELD_MAX + 4 };
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, N), *c[N], *s[N];
	for (int i = 0; i < N; i++)
		s[i] = establish(w, ls, (uint16_t)(40000 + i), &c[i]);
	w_impair(w, C, 1000000, 0); /* nothing of the client's own */
	w_run_until(w, 10 * W_SEC);
	size_t mark = w->nsegs;
	uint64_t delayed0 = w_stats(w, S).tcp_delayed_acks;
	struct sn_stack *st = w->net.stack[S];
	uint64_t t_in = w->net.now_us;
	stack_enter(st, t_in);
	for (int i = 0; i < N; i++)
		w_inject(w, S, &(struct w_pkt){.sport = (uint16_t)(40000 + i), .dport = 80,
		                               .seq = c[i]->snd_nxt, .ack = c[i]->rcv_nxt,
		                               .flags = SN_TH_ACK | SN_TH_PSH, .data = "0123456789",
		                               .len = 10});
	stack_leave(st);
	assert_int_equal(w->nsegs, mark); /* every ACK held */
	w_run(w, 1 * W_SEC);
	/* The server's N ACKs, all delack_ms after the call. */
	size_t acks = 0;
	for (size_t k = mark; k < w->nsegs; k++) {
		if (w->segs[k].side != S)
			continue;
		assert_int_equal(w->segs[k].t, t_in + w->cfg[S].delack_ms * W_MS);
		acks++;
	}
	assert_int_equal(acks, N);
	assert_int_equal(w_stats(w, S).tcp_delayed_acks - delayed0, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(s[i]->last_ack_sent, c[i]->snd_nxt + 10);
		sn_abort(c[i]);
		sn_abort(s[i]);
	}
	sn_close(ls);
}

static void reply_on_readable(struct sn_sock *s, unsigned ev, void *user)
{
	(void)user;
	char buf[16];
	if ((ev & SN_EV_READABLE) && sn_recv(s, buf, sizeof(buf), 0) > 0)
		assert_int_equal(sn_send(s, "pong", 4, 0), 4);
}

/*
 * A reply the application writes while the ACK is being held carries the
 * ACK: from the READABLE callback (the same instant) or 20 ms later. No
 * separate ACK goes out, and the delayed-ACK timer does not fire.
 */
static void reply_carries_the_ack(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	size_t mark = w->nsegs;
	sn_set_event_cb(s, reply_on_readable, NULL);
	w_run_until(w, 1000 * W_MS);
	assert_int_equal(sn_send(c, "ping", 4, 0), 4);
	w_run_until(w, 1500 * W_MS);
	sn_set_event_cb(s, NULL, NULL);

	w_run_until(w, 2000 * W_MS);
	assert_int_equal(sn_send(c, "ping", 4, 0), 4);
	w_run_until(w, 2025 * W_MS);
	char buf[8];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 4);
	assert_int_equal(sn_send(s, "pong", 4, 0), 4);
	w_run_until(w, 3000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C PSH,ACK seq=1001 ack=8001 len=4\n"
	                    "1005 S PSH,ACK seq=8001 ack=1005 len=4\n"
	                    "1050 C ACK seq=1005 ack=8005 len=0\n"
	                    "2000 C PSH,ACK seq=1005 ack=8005 len=4\n"
	                    "2025 S PSH,ACK seq=8005 ack=1009 len=4\n"
	                    "2070 C ACK seq=1009 ack=8009 len=0\n");
	assert_int_equal(w_stats(w, S).tcp_delayed_acks, 0);
	assert_int_equal(w_stats(w, C).tcp_delayed_acks, 2);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/* ---- Nagle ---------------------------------------------------------------- */

/*
 * RFC 896 / RFC 1122 4.2.3.4: with data in flight a small write waits for
 * the ACK, and everything written meanwhile leaves in one segment; a full
 * segment's worth leaves at once; TCP_NODELAY sends small writes at once.
 */
static void nagle_holds_small_writes(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	uint8_t big[MSS + 100];
	pattern(big, 0, sizeof(big));
	size_t mark = w->nsegs;
	w_run_until(w, 1000 * W_MS);
	assert_int_equal(sn_send(c, "a", 1, 0), 1);
	w_run_until(w, 1001 * W_MS);
	assert_int_equal(sn_send(c, "b", 1, 0), 1);
	w_run_until(w, 1002 * W_MS);
	assert_int_equal(sn_send(c, "c", 1, 0), 1);
	w_run_until(w, 1020 * W_MS);
	struct sn_tcp_info i = info_of(c);
	assert_int_equal(i.bytes_in_flight, 1);
	assert_int_equal(i.snd_buf_used, 3);
	w_run_until(w, 2000 * W_MS);
	/* A full segment goes even with "d" in flight; the 100 bytes after a
	 * full segment wait for its ACK. */
	assert_int_equal(sn_send(c, "d", 1, 0), 1);
	w_run_until(w, 2001 * W_MS);
	assert_int_equal(sn_send(c, big, MSS, 0), MSS);
	w_run_until(w, 3000 * W_MS);
	assert_int_equal(sn_send(c, big, sizeof(big), 0), sizeof(big));
	w_run_until(w, 4000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C PSH,ACK seq=1001 ack=8001 len=1\n"
	                    "1045 S ACK seq=8001 ack=1002 len=0\n"
	                    "1050 C PSH,ACK seq=1002 ack=8001 len=2\n"
	                    "1095 S ACK seq=8001 ack=1004 len=0\n"
	                    "2000 C PSH,ACK seq=1004 ack=8001 len=1\n"
	                    "2001 C PSH,ACK seq=1005 ack=8001 len=1460\n"
	                    "2045 S ACK seq=8001 ack=2465 len=0\n"
	                    "3000 C ACK seq=2465 ack=8001 len=1460\n"
	                    "3045 S ACK seq=8001 ack=3925 len=0\n"
	                    "3050 C PSH,ACK seq=3925 ack=8001 len=100\n"
	                    "3095 S ACK seq=8001 ack=4025 len=0\n");

	/* TCP_NODELAY: each small write leaves at once. */
	assert_int_equal(set_int(c, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	mark = w->nsegs;
	assert_int_equal(sn_send(c, "e", 1, 0), 1);
	w_run_until(w, 4001 * W_MS);
	assert_int_equal(sn_send(c, "f", 1, 0), 1);
	w_run_until(w, 4002 * W_MS);
	assert_int_equal(sn_send(c, "g", 1, 0), 1);
	w_run_until(w, 5000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "4000 C PSH,ACK seq=4025 ack=8001 len=1\n"
	                    "4001 C PSH,ACK seq=4026 ack=8001 len=1\n"
	                    "4002 C PSH,ACK seq=4027 ack=8001 len=1\n"
	                    "4045 S ACK seq=8001 ack=4028 len=0\n");
	uint8_t got[4096];
	assert_int_equal(sn_recv(s, got, sizeof(got), 0), 3 + 1 + MSS + MSS + 100 + 3);
	assert_memory_equal(got, "abcd", 4);
	assert_memory_equal(got + 4, big, MSS);
	assert_memory_equal(got + 4 + MSS, big, sizeof(big));
	assert_memory_equal(got + 4 + MSS + sizeof(big), "efg", 3);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/* ---- zero window and the persist timer ----------------------------------- */

/*
 * Check what `side` advertised from segment `from` on: the right edge
 * (ACK + window) never moves left (RFC 9293 3.8.6.2.2), and when it moves
 * right it moves by at least `step` (RFC 1122 4.2.3.3).
 */
static void check_right_edge(struct world *w, size_t from, int side, uint32_t step)
{
	int have = 0;
	uint32_t edge = 0;
	for (size_t k = from; k < w->nsegs; k++) {
		const struct w_seg *g = &w->segs[k];
		if (g->side != side || !(g->seg.flags & SN_TH_ACK) || (g->seg.flags & SN_TH_RST))
			continue;
		uint32_t e = g->seg.ack + g->seg.wnd;
		if (have) {
			int32_t moved = (int32_t)(e - edge);
			if (moved < 0 || (moved > 0 && (uint32_t)moved < step))
				fail_msg("segment %zu at %llu us: right edge %u -> %u", k,
				         (unsigned long long)g->t, edge, e);
		}
		edge = e;
		have = 1;
	}
}

static struct sn_sock *small_window_pair(struct world *w, struct sn_sock **ls, struct sn_sock **c)
{
	go(w, 5 * W_MS);
	*ls = w_listen(w, S, 80, 8);
	assert_int_equal(set_int(*ls, SOL_SOCKET, SO_RCVBUF, 4096), 0);
	struct sn_sock *s = establish(w, *ls, 40000, c);
	assert_int_equal(opt_int(s, SOL_SOCKET, SO_RCVBUF), 4096);
	assert_int_equal(info_of(*c).snd_wnd, 4096);
	assert_int_equal(info_of(s).rcv_wnd, 4096);
	return s;
}

/*
 * The receiver does not read. The sender fills the 4096-byte window: two
 * full segments, then 1176 bytes that sender SWS avoidance holds back until
 * the persist timer overrides it one RTO later. The window is then zero:
 * probes <SEQ=SND.UNA-1><ACK=RCV.NXT> without data go 1, 2, 4, ... s apart
 * (capped at 120 s), each answered with the zero window, for half an hour,
 * and the connection stays, TCP_USER_TIMEOUT or not. A read opens the window; the update restarts
 * the sender at once.
 */
/*
 * Reading from a zero window announces the reopening at once, even when what
 * was freed (1500 of 4096 bytes) is less than the usual window-update step:
 * otherwise the sender learns of it only at its next probe, seconds later.
 */
static void reopening_zero_window_is_announced(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c;
	struct sn_sock *s = small_window_pair(w, &ls, &c);
	static uint8_t data[8192];
	assert_int_equal(sn_send(c, data, sizeof(data), 0), (ssize_t)sizeof(data));
	w_run(w, 2 * W_SEC); /* the window fills and closes */
	assert_int_equal(info_of(s).rcv_wnd, 0);
	size_t mark = w->nsegs;
	uint64_t t0 = w->net.now_us;
	uint8_t buf[1500];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 1500);
	w_run(w, 20 * W_MS);
	/* The update leaves at once and the sender answers within the RTT. */
	assert_true(w->nsegs >= mark + 2);
	assert_int_equal(w->segs[mark].side, S);
	assert_true(w->segs[mark].seg.wnd >= 1460);
	assert_true(w->segs[mark].t == t0);
	assert_int_equal(w->segs[mark + 1].side, C);
	assert_true(w->segs[mark + 1].seg.len > 0);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

static void zero_window_probes_forever(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c;
	struct sn_sock *s = small_window_pair(w, &ls, &c);
	/* SND.UNA does not move while the window is closed; that is no reason
	 * for TCP_USER_TIMEOUT to end a connection whose probes are answered. */
	assert_int_equal(set_int(c, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000), 0);
	static uint8_t buf[8192], got[8192];
	pattern(buf, 0, sizeof(buf));
	size_t mark = w->nsegs;
	w_run_until(w, 1000 * W_MS);
	assert_int_equal(sn_send(c, buf, sizeof(buf), 0), sizeof(buf));
	w_run_until(w, 6000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C ACK seq=1001 ack=8001 len=1460\n"
	                    "1000 C ACK seq=2461 ack=8001 len=1460\n"
	                    "1005 S ACK seq=8001 ack=3921 len=0\n"
	                    "2010 C ACK seq=3921 ack=8001 len=1176\n"
	                    "2055 S ACK seq=8001 ack=5097 len=0\n"
	                    "3060 C ACK seq=5096 ack=8001 len=0\n"
	                    "3065 S ACK seq=8001 ack=5097 len=0\n"
	                    "5060 C ACK seq=5096 ack=8001 len=0\n"
	                    "5065 S ACK seq=8001 ack=5097 len=0\n");
	assert_int_equal(w->segs[mark + 2].seg.wnd, 1176);
	assert_int_equal(w->segs[mark + 4].seg.wnd, 0);
	assert_int_equal(w->segs[mark + 6].seg.wnd, 0);
	struct sn_tcp_info i = info_of(c);
	assert_int_equal(i.snd_wnd, 0);
	assert_int_equal(i.bytes_in_flight, 0);
	assert_int_equal(i.snd_una, 5097);
	assert_int_equal(i.snd_buf_used, 8192 - 4096);
	i = info_of(s);
	assert_int_equal(i.rcv_wnd, 0);
	assert_int_equal(i.rcv_buf_used, 4096);

	/* Half an hour: probes 1, 2, 4, ..., 64 s apart, then every 120 s. */
	w_run_until(w, 1800 * W_SEC);
	uint64_t t = 3060, gap = 2000;
	size_t k = mark + 5, probes = 0;
	for (; t <= 1800000; t += gap, gap = gap * 2 > 120000 ? 120000 : gap * 2) {
		assert_true(k + 1 < w->nsegs);
		assert_int_equal(w->segs[k].t, t * W_MS);
		assert_int_equal(w->segs[k].side, C);
		assert_int_equal(w->segs[k].seg.seq, 5096);
		assert_int_equal(w->segs[k].seg.ack, 8001);
		assert_int_equal(w->segs[k].seg.len, 0);
		assert_int_equal(w->segs[k + 1].side, S);
		assert_int_equal(w->segs[k + 1].t, (t + 5) * W_MS);
		assert_int_equal(w->segs[k + 1].seg.ack, 5097);
		assert_int_equal(w->segs[k + 1].seg.wnd, 0);
		k += 2;
		probes++;
	}
	assert_int_equal(k, w->nsegs);
	assert_int_equal(probes, 20);
	assert_int_equal(w_stats(w, C).tcp_persist_probes, probes);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	assert_int_equal(w_state_of(s), SN_ESTABLISHED);
	assert_int_equal(info_of(c).retransmits, 0);

	/* The reader wakes between two probes: the window update goes at
	 * once and the sender resumes on it. */
	uint64_t r = 1800500;
	w_run_until(w, r * W_MS);
	mark = w->nsegs;
	assert_int_equal(sn_recv(s, got, sizeof(got), 0), 4096);
	assert_memory_equal(got, buf, 4096);
	w_run_until(w, (r + 1000) * W_MS);
	struct text e = {0};
	add(&e, "%llu S ACK seq=8001 ack=5097 len=0\n", (unsigned long long)r);
	add(&e, "%llu C ACK seq=5097 ack=8001 len=1460\n", (unsigned long long)r + 5);
	add(&e, "%llu C ACK seq=6557 ack=8001 len=1460\n", (unsigned long long)r + 5);
	add(&e, "%llu S ACK seq=8001 ack=8017 len=0\n", (unsigned long long)r + 10);
	add(&e, "%llu C PSH,ACK seq=8017 ack=8001 len=1176\n", (unsigned long long)r + 15);
	add(&e, "%llu S ACK seq=8001 ack=9193 len=0\n", (unsigned long long)r + 60);
	assert_string_equal(w_segs_timed(w, mark), e.buf);
	assert_int_equal(w->segs[mark].seg.wnd, 4096);
	assert_int_equal(w->segs[mark + 3].seg.wnd, 1176);
	assert_int_equal(w->segs[mark + 5].seg.wnd, 0);
	assert_int_equal(sn_recv(s, got, sizeof(got), 0), 4096);
	assert_memory_equal(got, buf + 4096, 4096);
	assert_int_equal(w_stats(w, C).tcp_persist_probes, probes);
	check_right_edge(w, 0, S, 1460);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * The window update after the read is lost: the sender is still probing,
 * and the answer to its next probe carries the open window, which restarts
 * it. Two full segments go at once; the 1176 bytes left in the window are
 * less than an MSS, less than half the largest window and not all that is
 * queued, so sender SWS avoidance holds them until the persist timer's
 * override one RTO later (RFC 1122 4.2.3.4). The probe back-off starts again
 * from one RTO on the next closed window.
 */
static void lost_window_update_recovered_by_probe(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c;
	struct sn_sock *s = small_window_pair(w, &ls, &c);
	static uint8_t buf[3 * 4096], got[4096];
	pattern(buf, 0, sizeof(buf));
	w_run_until(w, 1000 * W_MS);
	assert_int_equal(sn_send(c, buf, sizeof(buf), 0), sizeof(buf));
	/* As above: zero window from 2060, probes at 3060, 5060, 9060. */
	w_run_until(w, 6000 * W_MS);
	size_t mark = w->nsegs;
	sn_memlink_drop_nth(w->net.link, S, 1);
	assert_int_equal(sn_recv(s, got, sizeof(got), 0), 4096);
	assert_memory_equal(got, buf, 4096);
	w_run_until(w, 10200 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "6000 S ACK seq=8001 ack=5097 len=0\n"
	                    "9060 C ACK seq=5096 ack=8001 len=0\n"
	                    "9065 S ACK seq=8001 ack=5097 len=0\n"
	                    "9070 C ACK seq=5097 ack=8001 len=1460\n"
	                    "9070 C ACK seq=6557 ack=8001 len=1460\n"
	                    "9075 S ACK seq=8001 ack=8017 len=0\n"
	                    "10080 C ACK seq=8017 ack=8001 len=1176\n"
	                    "10125 S ACK seq=8001 ack=9193 len=0\n");
	assert_int_equal(w->segs[mark].seg.wnd, 4096);
	assert_int_equal(w->segs[mark + 2].seg.wnd, 4096);
	assert_int_equal(w_stats(w, C).tcp_persist_probes, 3);
	/* Closed again at 10130: the first probe is one RTO later. */
	mark = w->nsegs;
	w_run_until(w, 12000 * W_MS);
	assert_string_equal(w_segs_timed(w, mark),
	                    "11130 C ACK seq=9192 ack=8001 len=0\n"
	                    "11135 S ACK seq=8001 ack=9193 len=0\n");
	check_right_edge(w, 0, S, 1460);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * A slow reader (500 bytes every 100 ms) behind a 4096-byte buffer: the
 * advertised right edge never moves left and only moves in steps of at
 * least min(4096/2, MSS) = 1460 (RFC 1122 4.2.3.3), and the sender never
 * sends a segment shorter than that except the last one and those the
 * persist timer forces out (RFC 1122 4.2.3.4). The data arrives intact.
 */
static void slow_reader_sws_avoidance(void **state)
{
	struct world *w = *state;
	struct sn_sock *ls, *c;
	struct sn_sock *s = small_window_pair(w, &ls, &c);
	enum { N = 20000 };
	static uint8_t buf[N], got[N];
	pattern(buf, 0, sizeof(buf));
	size_t mark = w->nsegs, have = 0;
	assert_int_equal(sn_send(c, buf, N, 0), N);
	for (int k = 0; k < 1000 && have < N; k++) {
		w_run(w, 100 * W_MS);
		ssize_t n = sn_recv(s, got + have, N - have < 500 ? N - have : 500, 0);
		if (n > 0)
			have += (size_t)n;
	}
	assert_int_equal(have, N);
	assert_memory_equal(got, buf, N);
	check_right_edge(w, 0, S, 1460);
	for (size_t k = mark; k < w->nsegs; k++) {
		const struct w_seg *g = &w->segs[k];
		if (g->side != C || g->seg.len == 0 || g->seg.len >= 1460)
			continue;
		/* Short: the last segment, or one forced by the persist timer. */
		if (!(g->seg.flags & SN_TH_PSH) && g->seg.seq + g->seg.len != 1001 + N) {
			uint64_t prev = 0;
			for (size_t j = k; j-- > mark;)
				if (w->segs[j].side == C) {
					prev = w->segs[j].t;
					break;
				}
			if (g->t - prev < 1000 * W_MS)
				fail_msg("short segment %zu (len %u) at %llu us", k, g->seg.len,
				         (unsigned long long)g->t);
		}
	}
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * RFC 1122 4.2.2.17 obliges the sender to keep probing only while the
 * probes are answered. Here the peer vanishes just after closing its
 * window: after data_retries (4) unanswered probes, at 3060, 5060, 9060 and
 * 17060, the next expiry (33060) drops the connection with ETIMEDOUT, as the
 * retransmission timer would. SO_KEEPALIVE with a short idle time is on and
 * must not reset that count: it leaves a connection with data waiting to
 * the persist timer.
 */
static void zero_window_unanswered_probes_time_out(void **state)
{
	struct world *w = *state;
	w->cfg[C].data_retries = 4;
	struct sn_sock *ls, *c;
	struct sn_sock *s = small_window_pair(w, &ls, &c);
	assert_int_equal(set_int(c, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
	assert_int_equal(set_int(c, IPPROTO_TCP, TCP_KEEPIDLE, 1), 0);
	assert_int_equal(set_int(c, IPPROTO_TCP, TCP_KEEPINTVL, 1), 0);
	static uint8_t buf[8192];
	pattern(buf, 0, sizeof(buf));
	w_run_until(w, 1000 * W_MS);
	assert_int_equal(sn_send(c, buf, sizeof(buf), 0), sizeof(buf));
	w_run_until(w, 2100 * W_MS); /* zero window since 2060 */
	assert_int_equal(info_of(c).snd_wnd, 0);
	w_impair(w, S, 1000000, 5 * W_MS);
	size_t mark = w->nsegs;
	w_run_until(w, 100 * W_SEC);
	assert_string_equal(w_segs_timed(w, mark),
	                    "3060 C ACK seq=5096 ack=8001 len=0\n"
	                    "3065 S ACK seq=8001 ack=5097 len=0\n"
	                    "5060 C ACK seq=5096 ack=8001 len=0\n"
	                    "5065 S ACK seq=8001 ack=5097 len=0\n"
	                    "9060 C ACK seq=5096 ack=8001 len=0\n"
	                    "9065 S ACK seq=8001 ack=5097 len=0\n"
	                    "17060 C ACK seq=5096 ack=8001 len=0\n"
	                    "17065 S ACK seq=8001 ack=5097 len=0\n");
	assert_int_equal(w_state_time(w, C, SN_CLOSED), 33060 * W_MS);
	assert_int_equal(w_stats(w, C).tcp_persist_probes, 4);
	assert_int_equal(w_stats(w, C).tcp_keepalive_probes, 0);
	assert_int_equal(w_stats(w, C).tcp_timeouts, 1);
	assert_int_equal(sn_send(c, "x", 1, 0), -ETIMEDOUT);
	sn_close(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * RFC 9293 3.8.6.2.1: the sender must be robust against a window that
 * shrinks. The data segment is lost and the peer (here a forged ACK) then
 * offers a zero window, leaving the data beyond the window: the timeout
 * finds nothing it may resend, so the persist timer must take over, one RTO
 * later, and the probe's answer (the real window) lets the resend go.
 */
static void window_shrunk_to_zero_with_data_in_flight(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *c;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	w_impair(w, C, 1000000, 5 * W_MS);
	size_t mark = w->nsegs;
	assert_int_equal(sn_send(c, "0123456789", 10, 0), 10);
	w_run_until(w, 1100 * W_MS);
	w_impair(w, C, 0, 5 * W_MS);
	w_inject_wnd(w, C, &(struct w_pkt){.sport = 80, .dport = 40000, .seq = 8001, .ack = 1001,
	                                   .flags = SN_TH_ACK}, 0);
	struct sn_tcp_info i = info_of(c);
	assert_int_equal(i.snd_wnd, 0);
	assert_int_equal(i.bytes_in_flight, 10);
	w_run_until(w, 5000 * W_MS);
	/* The timeout at 2000 sends nothing; the probe at 3000 is answered
	 * with S's real window, and the data goes again at once. */
	assert_string_equal(w_segs_timed(w, mark),
	                    "1000 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "3000 C ACK seq=1000 ack=8001 len=0\n"
	                    "3005 S ACK seq=8001 ack=1001 len=0\n"
	                    "3010 C PSH,ACK seq=1001 ack=8001 len=10\n"
	                    "3055 S ACK seq=8001 ack=1011 len=0\n");
	assert_int_equal(w_stats(w, C).tcp_persist_probes, 1);
	i = info_of(c);
	assert_int_equal(i.bytes_in_flight, 0);
	assert_int_equal(i.snd_wnd, 65535 - 10);
	assert_int_equal(i.total_retrans, 1);
	char buf[16];
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), 10);
	assert_memory_equal(buf, "0123456789", 10);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/* ---- keepalive ------------------------------------------------------------ */

static void keepalive_opts(struct sn_sock *s, int idle, int intvl, int cnt)
{
	assert_int_equal(set_int(s, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, idle), 0);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_KEEPINTVL, intvl), 0);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_KEEPCNT, cnt), 0);
}

/*
 * RFC 1122 4.2.3.6: after 10 s without a segment from the peer, a probe
 * <SEQ=SND.UNA-1><ACK=RCV.NXT> with no data; the peer answers with an ACK,
 * and the next probe comes 10 s after that answer. The connection lives.
 */
static void keepalive_answered(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	keepalive_opts(c, 10, 2, 3);
	w_run_until(w, 100 * W_MS);
	struct sn_sock *s = w_accept(ls);
	size_t mark = w->nsegs;
	w_run_until(w, 45 * W_SEC);
	assert_string_equal(w_segs_timed(w, mark),
	                    "10010 C ACK seq=1000 ack=8001 len=0\n"
	                    "10015 S ACK seq=8001 ack=1001 len=0\n"
	                    "20020 C ACK seq=1000 ack=8001 len=0\n"
	                    "20025 S ACK seq=8001 ack=1001 len=0\n"
	                    "30030 C ACK seq=1000 ack=8001 len=0\n"
	                    "30035 S ACK seq=8001 ack=1001 len=0\n"
	                    "40040 C ACK seq=1000 ack=8001 len=0\n"
	                    "40045 S ACK seq=8001 ack=1001 len=0\n");
	assert_int_equal(w_stats(w, C).tcp_keepalive_probes, 4);
	assert_int_equal(w_stats(w, C).tcp_keepalive_drops, 0);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);

	/* Traffic postpones the probe: idle is counted from the last segment
	 * received. */
	w_run_until(w, 45000 * W_MS);
	assert_int_equal(sn_send(s, "hi", 2, 0), 2);
	mark = w->nsegs;
	w_run_until(w, 60 * W_SEC);
	assert_string_equal(w_segs_timed(w, mark),
	                    "45000 S PSH,ACK seq=8001 ack=1001 len=2\n"
	                    "45045 C ACK seq=1001 ack=8003 len=0\n"
	                    "55005 C ACK seq=1000 ack=8003 len=0\n"
	                    "55010 S ACK seq=8003 ack=1001 len=0\n");
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

/*
 * The peer is silent: probes at 10, 12 and 14 s of idleness, then at 16 s
 * a RST and ETIMEDOUT.
 */
static void keepalive_silent_peer_dropped(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	keepalive_opts(c, 10, 2, 3);
	w_run_until(w, 100 * W_MS);
	struct sn_sock *s = w_accept(ls);
	unsigned cev = 0;
	sn_set_event_cb(c, ev_record, &cev);
	w_impair(w, S, 1000000, 5 * W_MS);
	size_t mark = w->nsegs;
	w_run_until(w, 60 * W_SEC);
	assert_string_equal(w_segs_timed(w, mark),
	                    "10010 C ACK seq=1000 ack=8001 len=0\n"
	                    "10015 S ACK seq=8001 ack=1001 len=0\n"
	                    "12010 C ACK seq=1000 ack=8001 len=0\n"
	                    "12015 S ACK seq=8001 ack=1001 len=0\n"
	                    "14010 C ACK seq=1000 ack=8001 len=0\n"
	                    "14015 S ACK seq=8001 ack=1001 len=0\n"
	                    "16010 C RST,ACK seq=1001 ack=8001 len=0\n");
	assert_int_equal(w_state_time(w, C, SN_CLOSED), 16010 * W_MS);
	assert_true(cev & SN_EV_ERROR);
	struct sn_stats cs = w_stats(w, C);
	assert_int_equal(cs.tcp_keepalive_probes, 3);
	assert_int_equal(cs.tcp_keepalive_drops, 1);
	assert_int_equal(cs.tcp_timeouts, 0);
	char b[4];
	assert_int_equal(sn_recv(c, b, sizeof(b), 0), -ETIMEDOUT);
	assert_int_equal(sn_recv(c, b, sizeof(b), 0), 0);
	/* The RST reached the server. */
	assert_int_equal(w_state_of(s), SN_CLOSED);
	assert_int_equal(sn_recv(s, b, sizeof(b), 0), -ECONNRESET);
	sn_close(c);
	sn_close(s);
	sn_close(ls);
}

/*
 * The same with the clock crossing a multiple of 2^32 ms (the 32-bit
 * millisecond clock of last_rcv_ms wraps) between the last segment and the
 * probes: the idle time is still counted right.
 */
static void keepalive_across_ms_clock_wrap(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	w_run_until(w, ((1ull << 32) - 5000) * W_MS);
	uint64_t t0 = w->net.now_us;
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	keepalive_opts(c, 10, 2, 3);
	w_run_until(w, t0 + 100 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	w_impair(w, S, 1000000, 5 * W_MS);
	w_run_until(w, t0 + 60 * W_SEC);
	assert_int_equal(w_stats(w, C).tcp_keepalive_probes, 3);
	assert_int_equal(w_stats(w, C).tcp_keepalive_drops, 1);
	/* The handshake ended at t0 + 10 ms: probes at 10, 12, 14 s idle. */
	assert_int_equal(w_state_time(w, C, SN_CLOSED), t0 + 16010 * W_MS);
	sn_close(c);
	sn_close(s);
	sn_close(ls);
}

/* An answer after two unanswered probes resets the count: three more
 * unanswered probes are needed to drop the connection. */
static void keepalive_answer_resets_count(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	keepalive_opts(c, 10, 2, 3);
	w_run_until(w, 100 * W_MS);
	struct sn_sock *s = w_accept(ls);
	size_t mark = w->nsegs;
	w_impair(w, S, 1000000, 5 * W_MS);
	w_run_until(w, 13 * W_SEC);
	w_impair(w, S, 0, 5 * W_MS);
	w_run_until(w, 15 * W_SEC);
	w_impair(w, S, 1000000, 5 * W_MS);
	w_run_until(w, 60 * W_SEC);
	assert_string_equal(w_segs_timed(w, mark),
	                    "10010 C ACK seq=1000 ack=8001 len=0\n"
	                    "10015 S ACK seq=8001 ack=1001 len=0\n"
	                    "12010 C ACK seq=1000 ack=8001 len=0\n"
	                    "12015 S ACK seq=8001 ack=1001 len=0\n"
	                    "14010 C ACK seq=1000 ack=8001 len=0\n"
	                    "14015 S ACK seq=8001 ack=1001 len=0\n"
	                    "24020 C ACK seq=1000 ack=8001 len=0\n"
	                    "24025 S ACK seq=8001 ack=1001 len=0\n"
	                    "26020 C ACK seq=1000 ack=8001 len=0\n"
	                    "26025 S ACK seq=8001 ack=1001 len=0\n"
	                    "28020 C ACK seq=1000 ack=8001 len=0\n"
	                    "28025 S ACK seq=8001 ack=1001 len=0\n"
	                    "30020 C RST,ACK seq=1001 ack=8001 len=0\n");
	assert_int_equal(w_stats(w, C).tcp_keepalive_probes, 6);
	assert_int_equal(w_stats(w, C).tcp_keepalive_drops, 1);
	sn_close(c);
	sn_close(s);
	sn_close(ls);
}

/* Ranges as Linux's tcp(7); what was set is what is read back. */
static void keepalive_options_validated(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *s = sn_socket(w->net.stack[C]);
	assert_int_equal(opt_int(s, SOL_SOCKET, SO_KEEPALIVE), 0);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_KEEPIDLE), 7200);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_KEEPINTVL), 75);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_KEEPCNT), 9);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);

	static const struct {
		int name, lo, hi;
	} r[] = {{TCP_KEEPIDLE, 1, 32767}, {TCP_KEEPINTVL, 1, 32767}, {TCP_KEEPCNT, 1, 127}};
	for (size_t k = 0; k < sizeof(r) / sizeof(r[0]); k++) {
		int before = opt_int(s, IPPROTO_TCP, r[k].name);
		assert_int_equal(set_int(s, IPPROTO_TCP, r[k].name, r[k].lo - 1), -EINVAL);
		assert_int_equal(set_int(s, IPPROTO_TCP, r[k].name, r[k].hi + 1), -EINVAL);
		assert_int_equal(set_int(s, IPPROTO_TCP, r[k].name, -5), -EINVAL);
		assert_int_equal(opt_int(s, IPPROTO_TCP, r[k].name), before);
		assert_int_equal(set_int(s, IPPROTO_TCP, r[k].name, r[k].lo), 0);
		assert_int_equal(opt_int(s, IPPROTO_TCP, r[k].name), r[k].lo);
		assert_int_equal(set_int(s, IPPROTO_TCP, r[k].name, r[k].hi), 0);
		assert_int_equal(opt_int(s, IPPROTO_TCP, r[k].name), r[k].hi);
		uint8_t shorty = 1;
		assert_int_equal(sn_setsockopt(s, IPPROTO_TCP, r[k].name, &shorty, 1), -EINVAL);
	}
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT, -1), -EINVAL);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT, 30000), 0);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT), 30000);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
	assert_int_equal(opt_int(s, SOL_SOCKET, SO_KEEPALIVE), 1);
	assert_int_equal(set_int(s, SOL_SOCKET, SO_KEEPALIVE, 0), 0);
	assert_int_equal(opt_int(s, SOL_SOCKET, SO_KEEPALIVE), 0);
	int v = 0;
	socklen_t len = 2;
	assert_int_equal(sn_getsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, &len), -EINVAL);
	sn_close(s);
}

/*
 * The options are kept in narrow fields (struct sn_sockopts): defaults in
 * sn_config beyond what setsockopt allows are bounded as it would refuse
 * them; SO_LINGER keeps up to 65535 s (only zero or not acts); the whole
 * non-negative int range of TCP_USER_TIMEOUT is kept.
 */
static void socket_option_bounds(void **state)
{
	struct world *w = *state;
	w->cfg[C].keepidle_s = 100000;
	w->cfg[C].keepintvl_s = 32768;
	w->cfg[C].keepcnt = 1000;
	go(w, 5 * W_MS);
	struct sn_sock *s = sn_socket(w->net.stack[C]);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_KEEPIDLE), 32767);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_KEEPINTVL), 32767);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_KEEPCNT), 127);

	static const struct {
		int set, get;
	} lingers[] = {{0, 0}, {-3, 0}, {30, 30}, {65535, 65535}, {65536, 65535}, {1 << 30, 65535}};
	for (size_t k = 0; k < sizeof(lingers) / sizeof(lingers[0]); k++) {
		struct linger l = {.l_onoff = 1, .l_linger = lingers[k].set};
		assert_int_equal(sn_setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
		socklen_t len = sizeof(l);
		memset(&l, 0xff, sizeof(l));
		assert_int_equal(sn_getsockopt(s, SOL_SOCKET, SO_LINGER, &l, &len), 0);
		assert_int_equal(l.l_onoff, 1);
		assert_int_equal(l.l_linger, lingers[k].get);
	}

	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT, INT32_MAX), 0);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT), INT32_MAX);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_MAXSEG, 65535), 0);
	assert_int_equal(set_int(s, IPPROTO_TCP, TCP_MAXSEG, 65536), -EINVAL);
	sn_close(s);
}

/*
 * An accepted socket inherits its listener's SO_KEEPALIVE, TCP_KEEPIDLE,
 * TCP_KEEPINTVL, TCP_KEEPCNT, TCP_USER_TIMEOUT and TCP_NODELAY, and acts on
 * them: the server probes 10 s after the last segment it received (the
 * handshake's ACK, at 15 ms).
 */
static void keepalive_inherited_from_listener(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	keepalive_opts(ls, 10, 2, 3);
	assert_int_equal(set_int(ls, IPPROTO_TCP, TCP_USER_TIMEOUT, 2500), 0);
	assert_int_equal(set_int(ls, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	struct sn_sock *c;
	size_t mark = w->nsegs;
	struct sn_sock *s = establish(w, ls, 40000, &c);
	assert_int_equal(opt_int(s, SOL_SOCKET, SO_KEEPALIVE), 1);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_KEEPIDLE), 10);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_KEEPINTVL), 2);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_KEEPCNT), 3);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT), 2500);
	assert_int_equal(opt_int(s, IPPROTO_TCP, TCP_NODELAY), 1);
	assert_int_equal(opt_int(c, SOL_SOCKET, SO_KEEPALIVE), 0);
	w_impair(w, C, 1000000, 5 * W_MS);
	w_run_until(w, 30 * W_SEC);
	assert_string_equal(w_segs_timed(w, mark),
	                    "0 C SYN seq=1000 ack=0 len=0\n"
	                    "5 S SYN,ACK seq=8000 ack=1001 len=0\n"
	                    "10 C ACK seq=1001 ack=8001 len=0\n"
	                    "10015 S ACK seq=8000 ack=1001 len=0\n"
	                    "10020 C ACK seq=1001 ack=8001 len=0\n"
	                    "12015 S ACK seq=8000 ack=1001 len=0\n"
	                    "12020 C ACK seq=1001 ack=8001 len=0\n"
	                    "14015 S ACK seq=8000 ack=1001 len=0\n"
	                    "14020 C ACK seq=1001 ack=8001 len=0\n"
	                    "16015 S RST,ACK seq=8001 ack=1001 len=0\n");
	assert_int_equal(w_stats(w, S).tcp_keepalive_drops, 1);
	assert_int_equal(opt_int(s, SOL_SOCKET, SO_ERROR), ETIMEDOUT);
	sn_close(c);
	sn_close(s);
	sn_close(ls);
}

/* ---- reassembly, end to end ------------------------------------------------ */

#define RSEG 100 /* bytes per injected segment */

/* A data segment of S's stream (offset off, len bytes), as S would send it
 * to C's port lport, injected straight into C. */
static void stream_to_client(struct world *w, uint16_t lport, uint32_t off, uint32_t len,
                             uint8_t extra_flags)
{
	uint8_t data[8 * RSEG];
	assert_true(len <= sizeof(data));
	pattern(data, off, len);
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = lport, .seq = 8001 + off,
	                               .ack = 1001, .flags = SN_TH_ACK | extra_flags,
	                               .data = data, .len = len});
}

/* C's connection on lport, with everything C sends from now on lost, so
 * that its ACKs are only recorded and S's socket stays out of the way. */
static struct sn_sock *deaf_client(struct world *w, struct sn_sock *ls, uint16_t lport,
                                   struct sn_sock **s)
{
	w_impair(w, C, 0, 5 * W_MS);
	struct sn_sock *c = w_connect(w, C, lport, 80);
	assert_non_null(c);
	w_run(w, 20 * W_MS);
	*s = w_accept(ls);
	assert_non_null(*s);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	w_impair(w, C, 1000000, 5 * W_MS);
	return c;
}

static void end_deaf_client(struct world *w, struct sn_sock *c, struct sn_sock *s)
{
	sn_abort(c);
	sn_abort(s);
	w_run(w, 20 * W_MS);
}

static bool next_perm(int *a, int n)
{
	int i = n - 2;
	while (i >= 0 && a[i] >= a[i + 1])
		i--;
	if (i < 0)
		return false;
	int j = n - 1;
	while (a[j] <= a[i])
		j--;
	int t = a[i];
	a[i] = a[j];
	a[j] = t;
	for (int l = i + 1, r = n - 1; l < r; l++, r--) {
		t = a[l];
		a[l] = a[r];
		a[r] = t;
	}
	return true;
}

/*
 * Five segments of a known stream, in each of the 120 orders, to a fresh
 * connection. After every segment the receiver's answer is what RFC 5681
 * 4.2 asks: out of order, an immediate ACK of RCV.NXT; in order while
 * something is queued (a gap filled, wholly or in part), an immediate ACK of
 * the new RCV.NXT; in order with nothing queued, no ACK yet (delayed). The
 * application reads exactly the stream, and the last ACK covers all of it.
 */
static void reassembly_every_order(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 128);
	int perm[5] = {0, 1, 2, 3, 4};
	uint8_t want[5 * RSEG], got[5 * RSEG + 1];
	pattern(want, 0, sizeof(want));
	unsigned orders = 0;
	uint64_t ooo = 0;
	do {
		struct sn_sock *s;
		uint16_t port = (uint16_t)(30000 + orders);
		struct sn_sock *c = deaf_client(w, ls, port, &s);
		bool held[5] = {false};
		uint32_t nxt = 0; /* segments in order so far */
		for (int k = 0; k < 5; k++) {
			int seg = perm[k];
			size_t mark = w->nsegs;
			bool queued = false;
			for (int q = 0; q < 5; q++)
				queued = queued || held[q];
			stream_to_client(w, port, (uint32_t)seg * RSEG, RSEG, 0);
			char want_ack[80];
			if ((uint32_t)seg != nxt) {
				held[seg] = true;
				ooo++;
				snprintf(want_ack, sizeof(want_ack), "C ACK seq=1001 ack=%u len=0\n",
				         8001 + nxt * RSEG);
			} else {
				nxt++;
				while (nxt < 5 && held[nxt])
					held[nxt++] = false;
				if (queued)
					snprintf(want_ack, sizeof(want_ack),
					         "C ACK seq=1001 ack=%u len=0\n", 8001 + nxt * RSEG);
				else
					want_ack[0] = 0;
			}
			if (strcmp(w_segs(w, mark), want_ack) != 0)
				fail_msg("order %d%d%d%d%d, segment %d: got \"%s\" want \"%s\"",
				         perm[0], perm[1], perm[2], perm[3], perm[4], seg,
				         w_segs(w, mark), want_ack);
		}
		/* A delayed ACK, if one is still owed, comes 40 ms later. */
		size_t mark = w->nsegs;
		w_run(w, 50 * W_MS);
		if (mark < w->nsegs)
			assert_int_equal(w->segs[w->nsegs - 1].seg.ack, 8001 + 5 * RSEG);
		else
			assert_int_equal(w->segs[mark - 1].seg.ack, 8001 + 5 * RSEG);
		struct sn_tcp_info i = info_of(c);
		assert_int_equal(i.rcv_nxt, 8001 + 5 * RSEG);
		assert_int_equal(i.rcv_buf_used, 5 * RSEG);
		assert_int_equal(sn_recv(c, got, sizeof(got), 0), 5 * RSEG);
		assert_memory_equal(got, want, sizeof(want));
		assert_int_equal(w_state_of(c), SN_ESTABLISHED);
		end_deaf_client(w, c, s);
		orders++;
	} while (next_perm(perm, 5));
	assert_int_equal(orders, 120);
	assert_int_equal(w_stats(w, C).tcp_ooo_queued, ooo);
	sn_close(ls);
}

/*
 * Overlaps: queued pieces overlapping each other and the in-order data are
 * stored once; a segment partly old is trimmed; a wholly old one is ACKed
 * at once and dropped. The application reads the stream exactly.
 */
static void reassembly_overlaps(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *s;
	struct sn_sock *c = deaf_client(w, ls, 40000, &s);
	size_t mark = w->nsegs;
	stream_to_client(w, 40000, 200, 200, 0); /* [200,400) */
	stream_to_client(w, 40000, 300, 200, 0); /* [300,500): half new */
	stream_to_client(w, 40000, 250, 100, 0); /* all held already */
	stream_to_client(w, 40000, 100, 150, 0); /* [100,250): overlaps the front */
	stream_to_client(w, 40000, 0, 120, 0);   /* fills the gap, overlaps [100,120) */
	stream_to_client(w, 40000, 450, 150, SN_TH_PSH); /* half old: [500,600) new */
	w_run(w, 50 * W_MS);
	stream_to_client(w, 40000, 0, 100, 0);   /* wholly old */
	assert_string_equal(w_segs(w, mark),
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C ACK seq=1001 ack=8501 len=0\n"
	                    "C ACK seq=1001 ack=8601 len=0\n"
	                    "C ACK seq=1001 ack=8601 len=0\n");
	/* The partly old tail is ACKed at once, not after the delayed-ACK
	 * time: its old half is a duplicate, reported as a D-SACK block
	 * (RFC 2883) while it is news to the sender. */
	assert_int_equal(w->segs[w->nsegs - 2].t, w->segs[w->nsegs - 3].t);
	assert_int_equal(w->segs[w->nsegs - 2].seg.num_sack, 1);
	assert_int_equal(w->segs[w->nsegs - 2].seg.sack[0][0], 8001 + 450);
	assert_int_equal(w->segs[w->nsegs - 2].seg.sack[0][1], 8001 + 500);
	/* The wholly old one: its D-SACK block is all of it. */
	assert_int_equal(w->segs[w->nsegs - 1].seg.num_sack, 1);
	assert_int_equal(w->segs[w->nsegs - 1].seg.sack[0][0], 8001);
	assert_int_equal(w->segs[w->nsegs - 1].seg.sack[0][1], 8001 + 100);
	uint8_t want[600], got[700];
	pattern(want, 0, sizeof(want));
	assert_int_equal(sn_recv(c, got, sizeof(got), 0), 600);
	assert_memory_equal(got, want, 600);
	end_deaf_client(w, c, s);
	sn_close(ls);
}

/*
 * A FIN that arrives ahead of a hole is held with its segment; only when the
 * hole fills is it processed (RFC 9293 3.10.7.4, eighth step: "only once
 * everything before it"): CLOSE-WAIT then, and the ACK covers the FIN. Also
 * a bare FIN ahead of a hole.
 */
static void fin_ahead_of_hole(void **state)
{
	struct world *w = *state;
	go(w, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 8), *s;
	struct sn_sock *c = deaf_client(w, ls, 40000, &s);
	unsigned cev = 0;
	sn_set_event_cb(c, ev_record, &cev);
	size_t mark = w->nsegs;
	stream_to_client(w, 40000, 200, 100, SN_TH_FIN); /* [200,300) + FIN */
	w_run(w, 100 * W_MS);
	stream_to_client(w, 40000, 100, 100, 0);
	w_run(w, 100 * W_MS);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	assert_int_equal(cev, 0);
	char buf[400];
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -EAGAIN);
	uint64_t fill = w->net.now_us;
	stream_to_client(w, 40000, 0, 100, 0);
	assert_int_equal(w_state_of(c), SN_CLOSE_WAIT);
	assert_int_equal(w_state_time(w, C, SN_CLOSE_WAIT), fill);
	assert_string_equal(w_segs(w, mark),
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C ACK seq=1001 ack=8302 len=0\n");
	assert_true(cev & SN_EV_READABLE);
	uint8_t want[300];
	pattern(want, 0, sizeof(want));
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 300);
	assert_memory_equal(buf, want, 300);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 0);
	end_deaf_client(w, c, s);

	/* A bare FIN ahead of the hole. */
	c = deaf_client(w, ls, 40001, &s);
	mark = w->nsegs;
	w_inject(w, C, &(struct w_pkt){.sport = 80, .dport = 40001, .seq = 8101, .ack = 1001,
	                               .flags = SN_TH_FIN | SN_TH_ACK});
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	stream_to_client(w, 40001, 0, 100, 0);
	assert_int_equal(w_state_of(c), SN_CLOSE_WAIT);
	assert_string_equal(w_segs(w, mark),
	                    "C ACK seq=1001 ack=8001 len=0\n"
	                    "C ACK seq=1001 ack=8102 len=0\n");
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 100);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 0);
	end_deaf_client(w, c, s);
	sn_close(ls);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(rto_follows_rtt_samples),
		T(rto_has_one_second_floor),
		T(backoff_doubles_until_etimedout),
		T(backoff_capped_at_max_rto),
		T(default_retries_give_up_after_1207s),
		T(user_timeout_ends_earlier),
		T(karn_no_sample_from_retransmission),
		T(lost_syn_gives_three_second_rto),
		T(lost_syn_keeps_larger_initial_rto),
		T(lost_synack_no_sample_and_three_seconds),
		T(single_loss_resends_exactly_the_hole),
		T(after_timeout_only_holes_are_resent),
		T(delayed_ack_rules),
		T(delayed_ack_configured),
		T(reply_carries_the_ack),
		T(delayed_acks_of_many_sockets_in_one_call),
		T(nagle_holds_small_writes),
		T(zero_window_probes_forever),
		T(lost_window_update_recovered_by_probe),
		T(reopening_zero_window_is_announced),
		T(zero_window_unanswered_probes_time_out),
		T(window_shrunk_to_zero_with_data_in_flight),
		T(slow_reader_sws_avoidance),
		T(keepalive_answered),
		T(keepalive_across_ms_clock_wrap),
		T(keepalive_silent_peer_dropped),
		T(keepalive_answer_resets_count),
		T(keepalive_options_validated),
		T(socket_option_bounds),
		T(keepalive_inherited_from_listener),
		T(reassembly_every_order),
		T(reassembly_overlaps),
		T(fin_ahead_of_hole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
