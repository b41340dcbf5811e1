/*
 * test_cc.c - congestion control and loss recovery, end to end over the
 * memlink, read off the SN_TRACE_CC events and the segments:
 *
 *   - the initial window of 10 segments (RFC 6928) and slow start doubling
 *     it each round trip (RFC 5681 3.1 with RFC 3465 byte counting);
 *   - congestion avoidance adding one segment per round trip, and halving on
 *     fast retransmit (NewReno, over a rate-limited bottleneck with a
 *     bounded queue that drops at its tail);
 *   - a retransmission timeout collapsing cwnd to one segment;
 *   - limited transmit (RFC 3042);
 *   - NewReno repairing several losses in one window without a timeout
 *     (RFC 6582), one per round trip; SACK repairing three holes in about
 *     one round trip (RFC 6675); Proportional Rate Reduction (RFC 6937)
 *     spreading what recovery sends over its round trip;
 *   - CUBIC's window following W(t) = C (t - K)^3 + W_max (RFC 9438);
 *   - HyStart++ leaving slow start early on a deep queue (RFC 9406);
 *   - TCP_CONGESTION and sn_tcp_info.
 *
 * Side C (0) sends, side S (1) receives. Timestamps are off so that segments
 * carry 1460 bytes and the RTT comes from RFC 6298 timing.
 */
#include <errno.h>
#include <math.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h" /* HyStart++ and the algorithm's shared room */
#include "world.h"

#define C 0
#define S 1
#define MSS 1460u
#define BIG_BUF (4u << 20)
#define ENDLESS (1ull << 40) /* more than any test sends */

static int setup(void **state)
{
	static struct world w;
	world_prepare(&w);
	for (int i = 0; i < 2; i++) {
		w.cfg[i].no_timestamps = 1;
		w.cfg[i].rcvbuf = BIG_BUF;
		w.cfg[i].sndbuf = BIG_BUF;
		w.cfg[i].min_rto_ms = 200; /* as Linux: RTOs follow the RTT more closely */
	}
	*state = &w;
	return 0;
}

static int teardown(void **state)
{
	world_free(*state);
	return 0;
}

static struct sn_tcp_info info_of(const struct sn_sock *s)
{
	struct sn_tcp_info i;
	assert_int_equal(sn_tcp_info(s, &i), 0);
	return i;
}

/* Advance virtual time by exactly us, whatever is scheduled. */
static void tick(struct world *w, uint64_t us)
{
	uint64_t t = w->net.now_us + us;
	sn_simnet_wake_at(&w->net, t);
	sn_simnet_run_until(&w->net, t);
}

/* Connect C to S, one-way delay `delay`, and return both ends. */
static void connect_pair(struct world *w, uint64_t delay, struct sn_sock **c, struct sn_sock **s)
{
	world_go(w, delay);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	assert_non_null(ls);
	*c = w_connect(w, C, 40000, 80);
	assert_non_null(*c);
	tick(w, 4 * delay + 1000);
	*s = w_accept(ls);
	assert_non_null(*s);
	sn_close(ls);
	assert_int_equal(w_state_of(*c), SN_ESTABLISHED);
}

/*
 * Keep C's send buffer full (up to `total` bytes in all) and S's receive
 * buffer drained, in steps of 1 ms, until virtual time `until`. Returns the
 * bytes S has read in all, *sent the bytes C has accepted in all.
 */
static uint64_t pump(struct world *w, struct sn_sock *c, struct sn_sock *s, uint64_t until,
                     uint64_t total, uint64_t *sent)
{
	static uint8_t buf[65536];
	static uint64_t got;
	if (*sent == 0)
		got = 0;
	while (w->net.now_us < until) {
		while (*sent < total) {
			size_t want = total - *sent < sizeof(buf) ? (size_t)(total - *sent) : sizeof(buf);
			ssize_t n = sn_send(c, buf, want, 0);
			if (n <= 0)
				break;
			*sent += (uint64_t)n;
		}
		ssize_t n;
		while ((n = sn_recv(s, buf, sizeof(buf), 0)) > 0)
			got += (uint64_t)n;
		tick(w, 1000);
	}
	return got;
}

static void set_cc(struct sn_sock *s, const char *name)
{
	assert_int_equal(sn_setsockopt(s, IPPROTO_TCP, TCP_CONGESTION, name, (socklen_t)strlen(name)),
	                 0);
}

/* The last C-side cc event at or before t (NULL if none). */
static const struct w_cc *cc_at(const struct world *w, uint64_t t)
{
	const struct w_cc *e = NULL;
	for (size_t i = 0; i < w->ncc; i++) {
		if (w->cc[i].side != C)
			continue;
		if (w->cc[i].t > t)
			break;
		e = &w->cc[i];
	}
	return e;
}

/* Times of C's data segments sent from index `from` (SEG_OUT records). */
static size_t data_segs(const struct world *w, size_t from, uint64_t *t, uint32_t *seq, size_t max)
{
	size_t n = 0;
	for (size_t i = from; i < w->nsegs && n < max; i++) {
		if (w->segs[i].side != C || w->segs[i].seg.len == 0)
			continue;
		t[n] = w->segs[i].t;
		seq[n] = w->segs[i].seg.seq;
		n++;
	}
	return n;
}

/* ---- slow start ------------------------------------------------------------ */

/*
 * RFC 6928: the first flight is 10 segments. Slow start then doubles cwnd
 * every round trip: each ACK of two segments (the receiver's delayed-ACK
 * rule) adds two SMSS (RFC 3465, L = 2). Checked at the end of each of the
 * first five round trips of a 20 ms path with no bottleneck.
 */
static void slow_start_doubles_each_rtt_from_iw10(void **state)
{
	struct world *w = *state;
	struct sn_sock *c, *s;
	connect_pair(w, 10000, &c, &s);
	assert_int_equal(info_of(c).cwnd, 10 * MSS);
	assert_int_equal(info_of(c).ssthresh, UINT32_MAX);
	size_t mark = w->nsegs;
	uint64_t t0 = w->net.now_us, sent = 0;
	pump(w, c, s, t0 + 1000, BIG_BUF, &sent);
	uint64_t t[64];
	uint32_t seq[64];
	/* The first flight: ten segments at once, then nothing until ACKs. */
	size_t n = data_segs(w, mark, t, seq, 64);
	assert_int_equal(n, 10);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(t[i], t0);
	for (int k = 1; k <= 5; k++) {
		/* The ACKs of round k all arrive at t0 + k RTT (+ 1 ms of pump). */
		pump(w, c, s, t0 + (uint64_t)k * 20000 + 2000, BIG_BUF, &sent);
		uint32_t cwnd = info_of(c).cwnd;
		assert_int_equal(cwnd, (10u << k) * MSS);
	}
	assert_int_equal(w_stats(w, C).tcp_retrans, 0);
}

/* ---- congestion avoidance and fast retransmit, NewReno --------------------- */

/*
 * A 10 Mbit/s bottleneck with a 20 ms RTT and a 30 KB tail-drop queue:
 * NewReno (SACK off) fills the queue, loses a segment, and halves:
 * ssthresh = FlightSize / 2 and cwnd = ssthresh + 3 SMSS (RFC 5681 3.2).
 * Between losses, in congestion avoidance, cwnd grows by one SMSS per
 * round trip (the RTT including the queue's delay, from srtt).
 */
static void newreno_halves_then_grows_one_mss_per_rtt(void **state)
{
	struct world *w = *state;
	for (int i = 0; i < 2; i++) {
		w->cfg[i].no_sack = 1;
		snprintf(w->cfg[i].cc_default, sizeof(w->cfg[i].cc_default), "newreno");
	}
	struct sn_sock *c, *s;
	connect_pair(w, 10000, &c, &s);
	struct sn_link_impair imp = {
		.delay_us = 10000, .rate_bps = 10000000, .queue_limit_bytes = 30000,
	};
	sn_memlink_set_impair(w->net.link, C, &imp);
	uint64_t sent = 0, t0 = w->net.now_us;
	uint64_t got = pump(w, c, s, t0 + 20 * 1000000ull, ENDLESS, &sent);
	assert_true(got > 0);

	struct sn_stats st = w_stats(w, C);
	if (getenv("SN_CC_VERBOSE"))
		printf("got %llu sent %llu recoveries %llu rto %llu retrans %llu\n",
		       (unsigned long long)got, (unsigned long long)sent,
		       (unsigned long long)st.tcp_fast_recoveries,
		       (unsigned long long)st.tcp_rto_events, (unsigned long long)st.tcp_retrans);
	assert_true(st.tcp_fast_recoveries >= 3);
	assert_int_equal(st.tcp_rto_events, 0);

	/* Every fast retransmit halves the window it found. Between a
	 * recovery's end and the next loss, cwnd grows by one SMSS per RTT. */
	size_t halvings = 0, stretches = 0;
	uint32_t prev_cwnd = 0;
	bool in_ca = false;
	const struct w_cc *first = NULL, *last = NULL; /* ACKs of the current stretch */
	double srtt_sum = 0;
	size_t srtt_n = 0;
	for (size_t i = 0; i < w->ncc; i++) {
		const struct w_cc *e = &w->cc[i];
		if (e->side != C)
			continue;
		if (strcmp(e->what, "fast retransmit") == 0) {
			double ratio = (double)e->ssthresh / prev_cwnd;
			assert_true(ratio > 0.40 && ratio < 0.60);
			assert_int_equal(e->cwnd, e->ssthresh + 3 * MSS);
			halvings++;
			if (in_ca && first && last->t - first->t > 200000) {
				double rounds = (double)(last->t - first->t) / (srtt_sum / (double)srtt_n);
				double per_rtt = ((double)last->cwnd - first->cwnd) / rounds / MSS;
				if (getenv("SN_CC_VERBOSE"))
					printf("avoidance: %.2f SMSS per RTT over %.1f RTTs\n", per_rtt,
					       rounds);
				assert_true(per_rtt > 0.7 && per_rtt < 1.3);
				stretches++;
			}
			in_ca = false;
		} else if (strcmp(e->what, "recovered") == 0) {
			in_ca = true;
			first = last = NULL;
			srtt_sum = 0;
			srtt_n = 0;
		} else if (in_ca && strcmp(e->what, "ack") == 0) {
			if (!first)
				first = e;
			last = e;
			srtt_sum += e->srtt_us;
			srtt_n++;
		}
		prev_cwnd = e->cwnd;
	}
	assert_true(halvings >= 3);
	assert_true(stretches >= 2);
	/* And the bottleneck stays busy: 20 s at 10 Mbit/s is 25 MB. */
	assert_true(got > 21000000 && got <= sent);
}

/* ---- the retransmission timeout -------------------------------------------- */

/*
 * Everything in flight is lost (the link drops all for a while): the RTO
 * fires, ssthresh = FlightSize / 2 (NewReno), cwnd = one segment (RFC 5681
 * 3.1), and the go-back sends one segment, then two, then four.
 */
static void rto_collapses_cwnd_to_one_segment(void **state)
{
	struct world *w = *state;
	for (int i = 0; i < 2; i++)
		snprintf(w->cfg[i].cc_default, sizeof(w->cfg[i].cc_default), "newreno");
	struct sn_sock *c, *s;
	connect_pair(w, 10000, &c, &s);
	uint64_t sent = 0, t0 = w->net.now_us;
	/* Slow start with 30 segments to send: 10, then 20. The window
	 * grows only while it is filled (RFC 7661), so the last ACKs, with
	 * little left in flight, stop it at 28 segments. Then 28 segments into
	 * a link that loses everything for 150 ms. */
	pump(w, c, s, t0 + 41000, 30 * MSS, &sent);
	assert_int_equal(info_of(c).cwnd, 28 * MSS);
	assert_int_equal(info_of(c).bytes_in_flight, 0);
	struct sn_link_impair all = {.delay_us = 10000, .loss_ppm = 1000000};
	struct sn_link_impair none = {.delay_us = 10000};
	size_t mark = w->nsegs;
	sn_memlink_set_impair(w->net.link, C, &all);
	pump(w, c, s, w->net.now_us + 150000, sent + 28 * MSS, &sent);
	uint32_t flight = info_of(c).bytes_in_flight;
	assert_int_equal(flight, 28 * MSS);
	sn_memlink_set_impair(w->net.link, C, &none);
	pump(w, c, s, w->net.now_us + 2000000, sent, &sent);
	struct sn_stats st = w_stats(w, C);
	assert_int_equal(st.tcp_rto_events, 1);
	assert_int_equal(st.tcp_fast_recoveries, 0);
	/* The RTO's trace event: one segment, ssthresh half the flight. */
	const struct w_cc *rto = NULL;
	for (size_t i = 0; i < w->ncc; i++)
		if (w->cc[i].side == C && strcmp(w->cc[i].what, "rto") == 0)
			rto = &w->cc[i];
	assert_non_null(rto);
	assert_int_equal(rto->cwnd, MSS);
	assert_int_equal(rto->ssthresh, flight / 2);
	/* After it, 1, 2, 4 segments per round trip (bursts at one instant). */
	uint64_t t[256];
	uint32_t seq[256];
	size_t n = data_segs(w, mark, t, seq, 256);
	size_t i = 0;
	while (i < n && t[i] < rto->t)
		i++;
	size_t burst[3] = {0};
	for (int b = 0; b < 3 && i < n; b++) {
		uint64_t bt = t[i];
		while (i < n && t[i] == bt) {
			burst[b]++;
			i++;
		}
	}
	assert_int_equal(burst[0], 1);
	assert_int_equal(burst[1], 2);
	assert_int_equal(burst[2], 4);
}

/* ---- limited transmit -------------------------------------------------------- */

/*
 * RFC 3042: with cwnd full, the first and second duplicate ACKs each let
 * one new segment out; the third starts fast retransmit. Twelve segments
 * queued against an initial window of ten, the first one lost.
 */
static void limited_transmit_sends_on_first_two_dupacks(void **state)
{
	struct world *w = *state;
	for (int i = 0; i < 2; i++)
		w->cfg[i].no_sack = 1;
	struct sn_sock *c, *s;
	connect_pair(w, 10000, &c, &s);
	size_t mark = w->nsegs;
	sn_memlink_drop_nth(w->net.link, C, 1);
	static uint8_t buf[12 * MSS];
	assert_int_equal(sn_send(c, buf, sizeof(buf), 0), sizeof(buf));
	uint64_t t0 = w->net.now_us;
	tick(w, 25000);
	uint64_t t[32];
	uint32_t seq[32];
	size_t n = data_segs(w, mark, t, seq, 32);
	/* 10 at t0, #11 and #12 one each on the first two duplicates, then the
	 * fast retransmit of #1 on the third. */
	if (getenv("SN_CC_VERBOSE"))
		printf("%s", w_segs_timed(w, mark));
	assert_true(n >= 13);
	for (int i = 0; i < 10; i++)
		assert_int_equal(t[i], t0);
	assert_int_equal(seq[10], 1001 + 10 * MSS);
	assert_int_equal(seq[11], 1001 + 11 * MSS);
	assert_true(t[10] > t0 && t[11] >= t[10]);
	assert_int_equal(seq[12], 1001);
	assert_true(t[12] >= t[11]);
	assert_int_equal(w_stats(w, C).tcp_limited_transmit, 2);
	assert_int_equal(w_stats(w, C).tcp_fast_recoveries, 1);
}

/* ---- several losses in one window --------------------------------------------- */

/*
 * Three segments of one 28-segment window are lost. Without SACK, NewReno
 * (RFC 6582) resends the first on the third duplicate ACK and each of the
 * others on the partial ACK that the previous repair draws: one hole per
 * round trip, no timeout. With SACK (RFC 6675) the scoreboard shows all
 * three holes at once and they are resent within one round trip.
 */
static void holes_repaired(struct world *w, bool sack, uint64_t *first, uint64_t *last,
                           uint64_t *done)
{
	for (int i = 0; i < 2; i++)
		w->cfg[i].no_sack = !sack;
	struct sn_sock *c, *s;
	connect_pair(w, 10000, &c, &s);
	/* Open cwnd to 28 segments first (as in the RTO test), everything
	 * acknowledged. */
	uint64_t sent = 0, t0 = w->net.now_us;
	pump(w, c, s, t0 + 41000, 30 * MSS, &sent);
	assert_int_equal(info_of(c).cwnd, 28 * MSS);
	/* The next window: 28 segments; lose the 5th, 15th and 22nd. */
	size_t mark = w->nsegs;
	sn_memlink_drop_nth(w->net.link, C, 5);
	assert_int_equal(sn_memlink_drop_also(w->net.link, C, 15), 0);
	assert_int_equal(sn_memlink_drop_also(w->net.link, C, 22), 0);
	uint64_t total = sent + 28 * MSS;
	pump(w, c, s, w->net.now_us + 400000, total, &sent);
	struct sn_stats st = w_stats(w, C);
	assert_int_equal(st.tcp_rto_events, 0);
	assert_int_equal(st.tcp_fast_recoveries, 1);
	assert_int_equal(st.tcp_retrans, 3);
	/* Times of the three retransmissions, and of the last ACK. */
	uint64_t t[128];
	uint32_t seq[128];
	size_t n = data_segs(w, mark, t, seq, 128);
	uint32_t hi = 0;
	int k = 0;
	uint64_t rt[3] = {0};
	for (size_t i = 0; i < n; i++) {
		if (hi && seq[i] < hi && k < 3)
			rt[k++] = t[i];
		if (seq[i] > hi)
			hi = seq[i];
	}
	assert_int_equal(k, 3);
	*first = rt[0];
	*last = rt[2];
	assert_int_equal(info_of(c).bytes_in_flight, 0);
	*done = 0;
	for (size_t i = 0; i < w->nsegs; i++)
		if (w->segs[i].side == S)
			*done = w->segs[i].t;
	uint8_t buf[4096];
	while (sn_recv(s, buf, sizeof(buf), 0) > 0) {
	}
}

static void newreno_repairs_three_holes_one_per_rtt(void **state)
{
	uint64_t first, last, done;
	holes_repaired(*state, false, &first, &last, &done);
	/* Two more round trips (20 ms each) after the first repair. */
	assert_true(last - first >= 2 * 20000 - 2000);
	assert_true(last - first <= 2 * 20000 + 5000);
}

static void sack_repairs_three_holes_in_one_rtt(void **state)
{
	uint64_t first, last, done;
	holes_repaired(*state, true, &first, &last, &done);
	assert_true(last - first < 20000);
	assert_int_equal(w_stats(*state, C).tcp_sack_rescue, 0);
}

/* ---- PRR ----------------------------------------------------------------------- */

/*
 * RFC 6937: during SACK recovery each ACK lets out ssthresh / RecoverFS of
 * what it reports delivered (0.7 for CUBIC), from the first ACKs on,
 * instead of nothing until pipe has fallen to ssthresh and then a segment
 * per ACK. A 10 Mbit/s link (ACKs 1.2 ms apart) with no queue limit; the
 * first segment of a window is lost and the application has more to send.
 */
static void prr_spreads_sending_over_recovery(void **state)
{
	struct world *w = *state;
	struct sn_sock *c, *s;
	connect_pair(w, 10000, &c, &s);
	struct sn_link_impair imp = {.delay_us = 10000, .rate_bps = 10000000};
	sn_memlink_set_impair(w->net.link, C, &imp);
	uint64_t sent = 0;
	pump(w, c, s, w->net.now_us + 200000, 30 * MSS, &sent);
	assert_int_equal(info_of(c).bytes_in_flight, 0);
	size_t mark = w->nsegs;
	sn_memlink_drop_nth(w->net.link, C, 1);
	pump(w, c, s, w->net.now_us + 400000, sent + 200 * MSS, &sent);
	assert_int_equal(w_stats(w, C).tcp_fast_recoveries, 1);
	assert_int_equal(w_stats(w, C).tcp_rto_events, 0);

	const struct w_cc *fr = NULL, *rec = NULL;
	for (size_t i = 0; i < w->ncc; i++) {
		if (w->cc[i].side != C)
			continue;
		if (!fr && strcmp(w->cc[i].what, "fast retransmit") == 0)
			fr = &w->cc[i];
		if (fr && !rec && strcmp(w->cc[i].what, "recovered") == 0)
			rec = &w->cc[i];
	}
	assert_non_null(fr);
	assert_non_null(rec);
	static uint64_t t[512];
	static uint32_t seq[512];
	size_t n = data_segs(w, mark, t, seq, 512);
	/* Before the retransmission: the window the loss was in (RecoverFS,
	 * with the segments limited transmit added). */
	size_t i = 0, window = 0;
	uint32_t first = seq[0], top = 0;
	while (i < n && !(window > 0 && seq[i] == first)) {
		window++;
		top = seq[i] > top ? seq[i] : top;
		i++;
	}
	assert_true(i < n);
	uint64_t t_rexmt = t[i++];
	size_t fresh = 0;
	uint64_t t_first_new = 0;
	for (; i < n && t[i] < rec->t; i++) {
		if (seq[i] > top) {
			fresh++;
			if (!t_first_new)
				t_first_new = t[i];
		}
	}
	double ratio = (double)fresh / (double)window;
	if (getenv("SN_CC_VERBOSE"))
		printf("PRR: window %zu, sent %zu new in recovery (%.2f), first after %.1f ms\n",
		       window, fresh, ratio, (double)(t_first_new - t_rexmt) / 1000);
	assert_true(ratio > 0.55 && ratio < 0.85);
	/* Sending resumes within a few ACKs of the fast retransmit. */
	assert_true(t_first_new > 0 && t_first_new - t_rexmt <= 4 * 1200 + 500);
}

/* ---- CUBIC ------------------------------------------------------------------- */

/*
 * RFC 9438: after a loss, with W_max the window (in segments) when it
 * happened and cwnd_epoch = 0.7 W_max the window recovery ends with, cwnd
 * follows W(t) = C (t - K)^3 + W_max with C = 0.4 and
 * K = cbrt((W_max - cwnd_epoch) / C), t counted from the end of recovery.
 * On a 100 ms path with no bottleneck, one loss, then 10 s of growth that
 * covers the concave part, the plateau at W_max and the convex part beyond.
 * Each ACK aims cwnd at W(t + RTT) (4.4), so cwnd lies between W(t) and
 * W(t + RTT); the tolerance is 5 % and two segments either way.
 */
static void cubic_follows_rfc9438_curve(void **state)
{
	struct world *w = *state;
	struct sn_sock *c, *s;
	connect_pair(w, 50000, &c, &s);
	struct sn_tcp_info i0 = info_of(c);
	assert_string_equal(i0.congestion, "cubic");
	/* One loss, in the slow-start round with about 160 segments out. */
	sn_memlink_drop_nth(w->net.link, C, 250);
	uint64_t sent = 0, t0 = w->net.now_us;
	pump(w, c, s, t0 + 11000000, ENDLESS, &sent);
	assert_int_equal(w_stats(w, C).tcp_fast_recoveries, 1);
	assert_int_equal(w_stats(w, C).tcp_rto_events, 0);

	const struct w_cc *loss = NULL, *rec = NULL;
	uint32_t before = 0;
	for (size_t i = 0; i < w->ncc; i++) {
		const struct w_cc *e = &w->cc[i];
		if (e->side != C)
			continue;
		if (!loss && strcmp(e->what, "fast retransmit") == 0)
			loss = e;
		else if (!loss)
			before = e->cwnd;
		if (loss && !rec && strcmp(e->what, "recovered") == 0)
			rec = e;
	}
	assert_non_null(loss);
	assert_non_null(rec);
	double w_max = (double)before / MSS;
	double epoch = (double)rec->cwnd / MSS;
	assert_true(fabs(epoch - 0.7 * w_max) <= 1.0); /* beta_cubic */
	double k = cbrt((w_max - epoch) / 0.4);
	double rtt = rec->srtt_us / 1e6;
	int checked = 0;
	for (double t = 0.5; t <= 10.0; t += 0.25) {
		const struct w_cc *e = cc_at(w, rec->t + (uint64_t)(t * 1e6));
		assert_non_null(e);
		double cwnd = (double)e->cwnd / MSS;
		double lo = 0.4 * pow(t - k, 3) + w_max;
		double hi = 0.4 * pow(t + rtt - k, 3) + w_max;
		if (getenv("SN_CC_VERBOSE"))
			printf("t=%.2f cwnd=%.1f W(t)=%.1f W(t+rtt)=%.1f\n", t, cwnd, lo, hi);
		assert_true(cwnd >= lo * 0.95 - 2 && cwnd <= hi * 1.05 + 2);
		checked++;
	}
	assert_true(checked > 20);
	/* The curve went past W_max, into the convex region. */
	assert_true((double)cc_at(w, rec->t + 10000000)->cwnd / MSS > w_max + 20);
}

/* ---- HyStart++ ---------------------------------------------------------------- */

/*
 * RFC 9406: a 10 Mbit/s bottleneck, 40 ms RTT, a deep 300 KB queue, 5 s.
 * Plain slow start doubles until the queue overflows and loses hundreds of
 * segments at once. With HyStart++ (timestamps on, so every ACK is an RTT
 * sample) the rising RTT ends slow start while the window is still far
 * below the overflow point; Conservative Slow Start (a quarter of the
 * growth, five rounds) follows, and the first loss comes later and costs a
 * small fraction of the segments.
 */
static uint64_t deep_queue_run(struct world *w, bool hystart, const struct w_cc **exit_ev,
                               const struct w_cc **done_ev)
{
	for (int i = 0; i < 2; i++) {
		w->cfg[i].no_timestamps = 0;
		w->cfg[i].no_hystart = !hystart;
	}
	struct sn_sock *c, *s;
	connect_pair(w, 20000, &c, &s);
	struct sn_link_impair imp = {
		.delay_us = 20000, .rate_bps = 10000000, .queue_limit_bytes = 300000,
	};
	sn_memlink_set_impair(w->net.link, C, &imp);
	uint64_t sent = 0;
	pump(w, c, s, w->net.now_us + 5000000, ENDLESS, &sent);
	*exit_ev = *done_ev = NULL;
	for (size_t i = 0; i < w->ncc; i++) {
		const struct w_cc *e = &w->cc[i];
		if (e->side != C)
			continue;
		if (getenv("SN_CC_VERBOSE") && strcmp(e->what, "ack") != 0)
			printf("  %8.1f ms %s cwnd=%u ssthresh=%u srtt=%u\n", (double)e->t / 1000,
			       e->what, e->cwnd, e->ssthresh, e->srtt_us);
		if (strcmp(e->what, "hystart css") == 0 && !*exit_ev)
			*exit_ev = e;
		if (strcmp(e->what, "hystart done") == 0 && !*done_ev)
			*done_ev = e;
	}
	return w_stats(w, C).tcp_retrans;
}

static void hystart_limits_the_slow_start_overshoot(void **state)
{
	struct world *w = *state;
	const struct w_cc *ev, *done;
	uint64_t plain = deep_queue_run(w, false, &ev, &done);
	assert_null(ev);
	assert_int_equal(w_stats(w, C).tcp_hystart_exits, 0);
	uint64_t plain_first_loss = 0;
	for (size_t i = 0; i < w->ncc && !plain_first_loss; i++)
		if (w->cc[i].side == C && strcmp(w->cc[i].what, "fast retransmit") == 0)
			plain_first_loss = w->cc[i].t;
	world_free(w);
	setup(state);

	uint64_t hy = deep_queue_run(w, true, &ev, &done);
	if (getenv("SN_CC_VERBOSE"))
		printf("retransmitted: plain %llu, HyStart++ %llu\n", (unsigned long long)plain,
		       (unsigned long long)hy);
	assert_int_equal(w_stats(w, C).tcp_hystart_exits, 1);
	assert_int_equal(w_stats(w, C).tcp_rto_events, 0);
	/* Out of slow start with the path's 50 KB filled and a few ms of
	 * queue, far below the 350 KB at which the queue overflows. */
	assert_non_null(ev);
	assert_true(ev->cwnd > 50000 && ev->cwnd < 200000);
	/* Five rounds of CSS later, ssthresh comes from HyStart++, not a loss. */
	assert_non_null(done);
	assert_true(done->ssthresh < UINT32_MAX && done->ssthresh == done->cwnd);
	const struct w_cc *first_loss = NULL;
	for (size_t i = 0; i < w->ncc && !first_loss; i++)
		if (w->cc[i].side == C && strcmp(w->cc[i].what, "fast retransmit") == 0)
			first_loss = &w->cc[i];
	assert_true(!first_loss || first_loss->t > done->t);
	assert_true(!first_loss || first_loss->t > plain_first_loss);
	assert_true(hy * 5 < plain);
}

/*
 * HyStart++ and the algorithm share room in the socket (core.h): switching
 * the algorithm during the first slow start leaves HyStart++'s state alone,
 * and the first congestion event ends HyStart++ and hands the room to the
 * algorithm, initialized, before it is asked for ssthresh (CUBIC then keeps
 * the window of the event as W_max).
 */
static void hystart_shares_room_with_the_algorithm(void **state)
{
	struct world *w = *state;
	struct sn_sock *c, *s;
	connect_pair(w, 10000, &c, &s);
	uint64_t sent = 0;
	pump(w, c, s, w->net.now_us + 100000, ENDLESS, &sent);
	assert_int_equal(c->hs_phase, SN_HS_SLOW_START);
	assert_int_equal(c->ssthresh, UINT32_MAX);
	assert_int_not_equal(c->hs.last_min_us, UINT32_MAX); /* rounds with samples */
	struct sn_hystart before = c->hs;
	set_cc(c, "newreno");
	set_cc(c, "cubic");
	assert_memory_equal(&c->hs, &before, sizeof(before));
	assert_int_equal(c->hs_phase, SN_HS_SLOW_START);

	uint32_t cwnd = c->cwnd;
	tcp_cc_congestion(c, SN_CC_FAST_RETRANSMIT);
	assert_int_equal(c->hs_phase, SN_HS_DONE);
	/* struct cubic (cubic.c): the epoch's start, then W_max in segments. */
	struct {
		uint64_t epoch_us;
		float w_max, k, w_est, cwnd_prior;
	} cubic;
	memcpy(&cubic, c->cc_priv, sizeof(cubic));
	assert_int_equal(cubic.epoch_us, 0);
	assert_true(cubic.w_max == (float)((double)cwnd / tcp_send_mss(c)));
	assert_true(cubic.cwnd_prior == cubic.w_max);
	assert_true(cubic.k == 0 && cubic.w_est == 0);
	sn_abort(c);
	sn_abort(s);
}

/* ---- the API ------------------------------------------------------------------ */

static void tcp_congestion_option(void **state)
{
	struct world *w = *state;
	snprintf(w->cfg[S].cc_default, sizeof(w->cfg[S].cc_default), "newreno");
	world_go(w, 1000);
	struct sn_sock *ls = w_listen(w, S, 80, 8);
	char name[16];
	socklen_t len = sizeof(name);
	assert_int_equal(sn_getsockopt(ls, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	assert_string_equal(name, "newreno");
	assert_int_equal(len, 8);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	len = sizeof(name);
	assert_int_equal(sn_getsockopt(c, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	assert_string_equal(name, "cubic");
	assert_int_equal(sn_setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, "reno", 4), -ENOENT);
	assert_int_equal(sn_setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, "a-name-far-too-long", 19),
	                 -ENOENT);
	assert_int_equal(sn_setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, NULL, 4), -EINVAL);
	/* Not NUL-terminated within len, as Linux allows. */
	assert_int_equal(sn_setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, "newrenoXYZ", 7), 0);
	assert_string_equal(info_of(c).congestion, "newreno");
	set_cc(c, "cubic");
	assert_string_equal(info_of(c).congestion, "cubic");
	/* A child takes its listener's algorithm. */
	set_cc(ls, "cubic");
	tick(w, 10000);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	assert_string_equal(info_of(s).congestion, "cubic");
	struct sn_tcp_info i = info_of(c);
	assert_int_equal(i.cwnd, 10 * MSS);
	assert_int_equal(i.ssthresh, UINT32_MAX);
	assert_int_equal(i.in_recovery, 0);
	/* A short buffer is filled to len, as Linux does. */
	len = 3;
	assert_int_equal(sn_getsockopt(c, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(name, "cub", 3);
	sn_abort(c);
	sn_abort(s);
	sn_close(ls);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(slow_start_doubles_each_rtt_from_iw10),
		T(newreno_halves_then_grows_one_mss_per_rtt),
		T(rto_collapses_cwnd_to_one_segment),
		T(limited_transmit_sends_on_first_two_dupacks),
		T(newreno_repairs_three_holes_one_per_rtt),
		T(sack_repairs_three_holes_in_one_rtt),
		T(prr_spreads_sending_over_recovery),
		T(cubic_follows_rfc9438_curve),
		T(hystart_limits_the_slow_start_overshoot),
		T(hystart_shares_room_with_the_algorithm),
		T(tcp_congestion_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
