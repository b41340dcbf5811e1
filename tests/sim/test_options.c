/*
 * test_options.c - TCP options negotiated in the handshake: window scaling
 * and timestamps (RFC 7323, with RTTM and PAWS) and SACK (RFC 2018, the
 * receiver's blocks).
 *
 *   - every combination of WS / TS / SACK-permitted in the peer's SYN or
 *     SYN-ACK, from a hand-made peer, gives the agreed set in sn_tcp_info
 *     and in the options later segments carry;
 *   - which segments carry which option: WS and SACK-permitted only in
 *     SYNs, TS in every segment once agreed and never otherwise;
 *   - scaled windows: a 1 MiB receive buffer is advertised shifted, the
 *     right edge never moves back, and the sender keeps more than 64 KiB in
 *     flight;
 *   - RTTM: a sample from TSecr for (about) every ACK; PAWS drops an old
 *     duplicate, but not a RST, and not after 24 days idle; the TS.Recent
 *     update rule (SEG.SEQ <= Last.ACK.sent);
 *   - SACK blocks in the receiver's ACKs, most recent first, three at most
 *     with timestamps and four without; D-SACK blocks (RFC 2883) for
 *     segments received twice; the sender counts what it gets (test_cc.c
 *     has what it does with them).
 *
 * Outgoing segments are taken from the netifs' capture hook and parsed, so
 * the tests see the options exactly as they are on the wire. Side C (0) is
 * 198.18.0.1, side S (1) is 198.18.0.2; ISNs are 1000 and 8000. A hand-made
 * peer uses ISN 5000, and the link from the side it stands in for is cut so
 * that the real stack there stays out of the conversation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wire/wire.h"
#include "world.h"

#define C 0
#define S 1

enum { WS = SN_TCPI_OPT_WSCALE, TS = SN_TCPI_OPT_TIMESTAMPS, SACK = SN_TCPI_OPT_SACK };

/* ---- capture of what each side sends ----------------------------------- */

#define MAX_CAP 8192

struct cap {
	int side;
	struct sn_tcp th;
	size_t len;
};

static struct world the_world;
static struct cap caps[MAX_CAP];
static size_t ncaps;

static void capture(void *ctx, int dir, const void *frame, size_t len, uint64_t now_us)
{
	(void)now_us;
	if (dir != SN_DIR_OUT || ncaps >= MAX_CAP || len < SN_ETH_HLEN)
		return;
	struct sn_ipv4 ip;
	const uint8_t *p = (const uint8_t *)frame + SN_ETH_HLEN;
	if (sn_ipv4_parse(p, len - SN_ETH_HLEN, &ip) != SN_WIRE_OK || ip.proto != SN_IPPROTO_TCP)
		return;
	struct cap *c = &caps[ncaps];
	if (sn_tcp_parse(p + ip.payload_off, ip.payload_len, ip.src, ip.dst, true, &c->th) !=
	    SN_WIRE_OK)
		return;
	c->side = (int)(intptr_t)ctx;
	c->len = c->th.payload_len;
	ncaps++;
}

static int setup(void **state)
{
	world_prepare(&the_world);
	ncaps = 0;
	*state = &the_world;
	return 0;
}

static int teardown(void **state)
{
	world_free(*state);
	return 0;
}

static void go(struct world *w)
{
	world_start(w, 1 * W_MS);
	world_static_arp(w);
	for (int i = 0; i < 2; i++)
		sn_netif_set_capture(w->net.netif[i], capture, (void *)(intptr_t)i);
}

/* The last segment `side` sent, or NULL. */
static const struct cap *last_of(int side)
{
	for (size_t i = ncaps; i-- > 0;)
		if (caps[i].side == side)
			return &caps[i];
	return NULL;
}

static struct sn_tcp_info info_of(const struct sn_sock *s)
{
	struct sn_tcp_info i;
	assert_int_equal(sn_tcp_info(s, &i), 0);
	return i;
}

static unsigned opts_of(const struct sn_tcp_opts *o)
{
	return (o->has_wscale ? WS : 0) | (o->has_ts ? TS : 0) | (o->sack_permitted ? SACK : 0);
}

static void no_options(struct sn_config *cfg)
{
	cfg->no_wscale = 1;
	cfg->no_timestamps = 1;
	cfg->no_sack = 1;
}

/* ---- a hand-made peer ---------------------------------------------------- */

#define PEER_ISS 5000u
#define PEER_TS0 1000u /* the peer's TSval in its SYN */

/*
 * C connects to a peer that exists only as injected segments: C's frames are
 * lost on the link, and the peer's SYN-ACK offers `offer`. Returns C's
 * socket, ESTABLISHED; *our_syn is what C's SYN carried.
 */
static struct sn_sock *active_to_fake(struct world *w, unsigned offer, struct sn_tcp *our_syn)
{
	w_impair(w, C, 1000000, 1 * W_MS);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	assert_non_null(c);
	w_run(w, 1 * W_MS);
	const struct cap *syn = last_of(C);
	assert_non_null(syn);
	assert_int_equal(syn->th.flags, SN_TH_SYN);
	if (our_syn)
		*our_syn = syn->th;
	struct w_pkt p = {
		.sport = 80, .dport = 40000, .seq = PEER_ISS, .ack = 1001,
		.flags = SN_TH_SYN | SN_TH_ACK, .mss = 1460,
		.has_wscale = offer & WS, .wscale = 7,
		.sack_permitted = offer & SACK,
		.has_ts = offer & TS, .ts_val = PEER_TS0, .ts_ecr = syn->th.opts.ts_val,
	};
	w_inject(w, C, &p);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	return c;
}

/* Inject a segment from the fake peer of active_to_fake. */
static void peer_send(struct world *w, uint32_t seq, uint8_t flags, const void *data, size_t len,
                      uint32_t tsval)
{
	const struct cap *last = last_of(C);
	struct w_pkt p = {
		.sport = 80, .dport = 40000, .seq = seq, .ack = 1001, .flags = flags,
		.data = data, .len = len,
		.has_ts = tsval != 0, .ts_val = tsval,
		.ts_ecr = last ? last->th.opts.ts_val : 0,
	};
	w_inject(w, C, &p);
}

/* ---- negotiation ----------------------------------------------------------- */

/* Every combination in the SYN-ACK our SYN is answered with. */
static void active_open_every_combination(void **state)
{
	for (unsigned offer = 0; offer < 8; offer++) {
		struct world *w = *state;
		if (offer > 0) {
			teardown(state);
			setup(state);
			w = *state;
		}
		go(w);
		struct sn_tcp syn;
		struct sn_sock *c = active_to_fake(w, offer, &syn);
		/* Our SYN offers all three (and MSS), TSecr 0 (RFC 7323 3.2). */
		assert_int_equal(opts_of(&syn.opts), WS | TS | SACK);
		assert_true(syn.opts.has_mss);
		assert_int_equal(syn.opts.wscale, 0); /* 64 KiB buffer: shift 0, still sent */
		assert_int_equal(syn.opts.ts_ecr, 0);
		assert_int_equal(syn.wnd, 65535);

		struct sn_tcp_info i = info_of(c);
		assert_int_equal(i.options, offer);
		assert_int_equal(i.snd_wscale, (offer & WS) ? 7 : 0);
		assert_int_equal(i.rcv_wscale, 0);
		assert_int_equal(i.mss, (offer & TS) ? 1448 : 1460);

		/* Our ACK of the SYN-ACK: TS if agreed, echoing the peer's SYN;
		 * never WS or SACK-permitted outside a SYN. */
		const struct cap *ack = last_of(C);
		assert_int_equal(ack->th.flags, SN_TH_ACK);
		assert_int_equal(opts_of(&ack->th.opts), offer & TS);
		assert_false(ack->th.opts.has_mss);
		if (offer & TS)
			assert_int_equal(ack->th.opts.ts_ecr, PEER_TS0);

		/* The peer's window (not a SYN) is scaled when WS is agreed. */
		struct w_pkt up = {.sport = 80, .dport = 40000, .seq = PEER_ISS + 1, .ack = 1001,
		                   .flags = SN_TH_ACK, .wnd = 1000, .has_ts = offer & TS,
		                   .ts_val = PEER_TS0 + 1, .ts_ecr = ack->th.opts.ts_val};
		w_inject(w, C, &up);
		assert_int_equal(info_of(c).snd_wnd, (offer & WS) ? 1000u << 7 : 1000u);

		/* Data carries the same options as the ACK. */
		assert_int_equal(sn_send(c, "hello", 5, 0), 5);
		w_run(w, 1 * W_MS);
		const struct cap *d = last_of(C);
		assert_int_equal(d->len, 5);
		assert_int_equal(opts_of(&d->th.opts), offer & TS);
		sn_abort(c);
	}
}

/* Every combination in the SYN a listener receives: the SYN-ACK mirrors it. */
static void passive_open_every_combination(void **state)
{
	for (unsigned offer = 0; offer < 8; offer++) {
		struct world *w = *state;
		if (offer > 0) {
			teardown(state);
			setup(state);
			w = *state;
		}
		go(w);
		w_impair(w, S, 1000000, 1 * W_MS);
		struct sn_sock *ls = w_listen(w, S, 80, 4);
		struct w_pkt syn = {
			.sport = 40000, .dport = 80, .seq = PEER_ISS, .flags = SN_TH_SYN, .mss = 1460,
			.has_wscale = offer & WS, .wscale = 9, .sack_permitted = offer & SACK,
			.has_ts = offer & TS, .ts_val = PEER_TS0,
		};
		w_inject(w, S, &syn);
		w_run(w, 1 * W_MS);
		const struct cap *sa = last_of(S);
		assert_non_null(sa);
		assert_int_equal(sa->th.flags, SN_TH_SYN | SN_TH_ACK);
		assert_int_equal(opts_of(&sa->th.opts), offer);
		assert_true(sa->th.opts.has_mss);
		assert_int_equal(sa->th.wnd, 65535);
		if (offer & TS) {
			assert_int_equal(sa->th.opts.ts_ecr, PEER_TS0);
			assert_int_not_equal(sa->th.opts.ts_val, 0);
		}
		struct w_pkt ack = {
			.sport = 40000, .dport = 80, .seq = PEER_ISS + 1, .ack = 8001,
			.flags = SN_TH_ACK, .wnd = 100, .has_ts = offer & TS,
			.ts_val = PEER_TS0 + 5, .ts_ecr = sa->th.opts.ts_val,
		};
		w_inject(w, S, &ack);
		struct sn_sock *a = w_accept(ls);
		assert_non_null(a);
		struct sn_tcp_info i = info_of(a);
		assert_int_equal(i.options, offer);
		assert_int_equal(i.snd_wscale, (offer & WS) ? 9 : 0);
		/* The ACK's window is scaled by the shift of the peer's SYN. */
		assert_int_equal(i.snd_wnd, (offer & WS) ? 100u << 9 : 100u);

		assert_int_equal(sn_send(a, "hello", 5, 0), 5);
		w_run(w, 1 * W_MS);
		const struct cap *d = last_of(S);
		assert_int_equal(d->len, 5);
		assert_int_equal(opts_of(&d->th.opts), offer & TS);
		if (offer & TS)
			assert_int_equal(d->th.opts.ts_ecr, PEER_TS0 + 5);
		sn_abort(a);
		sn_close(ls);
	}
}

/* A stack with the options turned off offers none, and a SYN-ACK that
 * carries them anyway (which no correct peer sends) agrees to nothing. */
static void options_off_offer_nothing(void **state)
{
	struct world *w = *state;
	no_options(&w->cfg[C]);
	no_options(&w->cfg[S]);
	go(w);
	struct sn_tcp syn;
	struct sn_sock *c = active_to_fake(w, WS | TS | SACK, &syn);
	assert_int_equal(opts_of(&syn.opts), 0);
	assert_true(syn.opts.has_mss);
	assert_int_equal(info_of(c).options, 0);
	assert_int_equal(info_of(c).mss, 1460);
	assert_int_equal(opts_of(&last_of(C)->th.opts), 0);
	sn_abort(c);

	/* The listener answers a SYN offering everything with none. */
	w_impair(w, S, 1000000, 1 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	struct w_pkt p = {.sport = 40001, .dport = 80, .seq = PEER_ISS, .flags = SN_TH_SYN,
	                  .mss = 1460, .has_wscale = true, .wscale = 3, .sack_permitted = true,
	                  .has_ts = true, .ts_val = 77};
	w_inject(w, S, &p);
	w_run(w, 1 * W_MS);
	assert_int_equal(last_of(S)->th.flags, SN_TH_SYN | SN_TH_ACK);
	assert_int_equal(opts_of(&last_of(S)->th.opts), 0);
	sn_close(ls);
}

/* Two synack stacks agree on all three; WS and SACK-permitted appear only in
 * the SYNs, TS in every segment, to the end of the connection. */
static void two_stacks_agree_and_options_placed(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run(w, 10 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	assert_int_equal(info_of(c).options, WS | TS | SACK);
	assert_int_equal(info_of(s).options, WS | TS | SACK);
	static uint8_t buf[20000];
	assert_int_equal(sn_send(c, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(sn_send(s, buf, 3000, 0), 3000);
	w_run(w, 100 * W_MS);
	assert_int_equal(sn_recv(s, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 3000);
	sn_close(c);
	w_run(w, 10 * W_MS);
	sn_close(s);
	w_run(w, 100 * W_MS);

	size_t syns = 0, others = 0;
	for (size_t i = 0; i < ncaps; i++) {
		const struct sn_tcp *th = &caps[i].th;
		if (th->flags & SN_TH_SYN) {
			syns++;
			assert_int_equal(opts_of(&th->opts), WS | TS | SACK);
			assert_true(th->opts.has_mss);
		} else {
			others++;
			assert_int_equal(opts_of(&th->opts), TS);
			assert_false(th->opts.has_mss);
			assert_int_not_equal(th->opts.ts_ecr, 0);
			assert_int_equal(th->opts.num_sack, 0); /* nothing was out of order */
			if (caps[i].len > 0)
				assert_true(caps[i].len <= 1448);
		}
	}
	assert_int_equal(syns, 2);
	assert_true(others > 10);
	/* TSval is a 1 ms clock with a per-connection offset (RFC 7323 5.4):
	 * not the raw uptime, and different on the two sides. */
	assert_true(caps[0].th.opts.ts_val != 0 && caps[0].th.opts.ts_val != 1);
	assert_int_not_equal(caps[0].th.opts.ts_val, caps[1].th.opts.ts_val);
}

/* ---- window scaling -------------------------------------------------------- */

static void scaled_window_one_mib(void **state)
{
	struct world *w = *state;
	for (int i = 0; i < 2; i++) {
		w->cfg[i].rcvbuf = 1u << 20;
		w->cfg[i].sndbuf = 1u << 20;
	}
	go(w);
	w_impair(w, C, 0, 5 * W_MS);
	w_impair(w, S, 0, 5 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run(w, 20 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	/* 65535 << 4 is 16 bytes short of 1 MiB: the shift is 5. */
	assert_int_equal(caps[0].th.opts.wscale, 5);
	assert_int_equal(caps[0].th.wnd, 65535); /* a SYN's window is not scaled */
	assert_int_equal(info_of(c).snd_wscale, 5);
	assert_int_equal(info_of(c).rcv_wscale, 5);
	assert_int_equal(info_of(s).snd_wscale, 5);
	/* C's ACK of the SYN-ACK offers the whole buffer: 2^20 >> 5. */
	assert_int_equal(caps[2].th.flags, SN_TH_ACK);
	assert_int_equal(caps[2].th.wnd, 32768);
	assert_int_equal(info_of(s).snd_wnd, 1u << 20);

	/* S does not read; C sends 768 KiB. */
	static uint8_t buf[768 * 1024];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	assert_int_equal(sn_send(c, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	uint32_t max_flight = 0;
	for (int t = 0; t < 200; t++) {
		w_run(w, 1 * W_MS);
		uint32_t f = info_of(c).bytes_in_flight;
		if (f > max_flight)
			max_flight = f;
	}
	assert_true(max_flight > 65535);
	assert_int_equal(info_of(s).rcv_buf_used, sizeof(buf));

	/* Every window S advertised is its window >> 5 on the wire, and the
	 * right edge never moved back (RFC 7323 2.4). */
	uint32_t edge = 0;
	size_t n = 0;
	for (size_t i = 0; i < ncaps; i++) {
		if (caps[i].side != S || (caps[i].th.flags & SN_TH_SYN))
			continue;
		uint32_t e = caps[i].th.ack + ((uint32_t)caps[i].th.wnd << 5);
		if (n++)
			assert_true((int32_t)(e - edge) >= 0);
		edge = e;
	}
	assert_true(n > 10);
	struct sn_tcp_info si = info_of(s);
	assert_int_equal(last_of(S)->th.wnd, si.rcv_wnd >> 5);
	assert_int_equal(si.rcv_wnd % 32, 0);
	/* At least the free space is offered. It may be a little more: each
	 * ACK's rounding up may move the edge on by under 32 bytes, as Linux's
	 * ALIGN(cur_win) does, rather than back (RFC 7323 2.4). */
	assert_int_equal(si.rcv_wnd % 32, 0);
	assert_true(si.rcv_wnd + 31 >= (1u << 20) - si.rcv_buf_used);
	assert_true(si.rcv_wnd <= (1u << 20) - si.rcv_buf_used + 31 * n);

	static uint8_t got[768 * 1024];
	assert_int_equal(sn_recv(s, got, sizeof(got), 0), (ssize_t)sizeof(got));
	assert_memory_equal(got, buf, sizeof(buf));
	/* Reading opens the window again, announced scaled. */
	w_run(w, 20 * W_MS);
	assert_int_equal(last_of(S)->th.wnd, info_of(s).rcv_wnd >> 5);
	assert_true(info_of(s).rcv_wnd > 65535);
}

/* wscale_max bounds the shift; windows never exceed 65535 << shift. */
static void wscale_max_bounds_shift(void **state)
{
	struct world *w = *state;
	w->cfg[C].rcvbuf = 1u << 20;
	w->cfg[C].wscale_max = 2;
	go(w);
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run(w, 20 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	assert_int_equal(caps[0].th.opts.wscale, 2);
	assert_int_equal(info_of(s).snd_wscale, 2);
	assert_int_equal(info_of(s).snd_wnd, 65535u << 2);
	assert_int_equal(info_of(c).rcv_wnd, 65535u << 2);
}

/* ---- timestamps ------------------------------------------------------------ */

/* RTTM (RFC 7323 4.1): every ACK of new data gives a sample. */
static void rttm_sample_per_ack(void **state)
{
	struct world *w = *state;
	go(w);
	w_impair(w, C, 0, 10 * W_MS);
	w_impair(w, S, 0, 10 * W_MS);
	struct sn_sock *ls = w_listen(w, S, 80, 4);
	struct sn_sock *c = w_connect(w, C, 40000, 80);
	w_run(w, 50 * W_MS);
	struct sn_sock *s = w_accept(ls);
	assert_non_null(s);
	uint64_t samples0 = w_stats(w, C).tcp_rtt_samples;
	uint64_t acks0 = w_stats(w, S).tcp_tx;

	static uint8_t buf[200 * 1000];
	size_t sent = 0, rcvd = 0;
	while (rcvd < sizeof(buf)) {
		ssize_t n = sn_send(c, buf + sent, sizeof(buf) - sent, 0);
		if (n > 0)
			sent += (size_t)n;
		w_run(w, 1 * W_MS);
		n = sn_recv(s, buf, sizeof(buf), 0);
		if (n > 0)
			rcvd += (size_t)n;
		assert_true(w->net.now_us < 30 * W_SEC);
	}
	w_run(w, 100 * W_MS);
	uint64_t samples = w_stats(w, C).tcp_rtt_samples - samples0;
	uint64_t acks = w_stats(w, S).tcp_tx - acks0; /* S sends nothing but ACKs */
	print_message("acks %llu samples %llu\n", (unsigned long long)acks,
	              (unsigned long long)samples);
	/* Window updates after a read acknowledge nothing new; the rest do. */
	assert_true(samples <= acks);
	assert_true(samples * 10 >= acks * 8);
	assert_true(samples > 50);
	/* The path's round trip is 20 ms (plus at most a delayed ACK). */
	struct sn_tcp_info i = info_of(c);
	assert_true(i.srtt_us >= 19000 && i.srtt_us <= 65000);
}

/* PAWS (RFC 7323 5): an old TSval is dropped and ACKed; a RST is exempt;
 * after 24 days idle TS.Recent is no longer trusted. */
static void paws_drops_old_duplicate(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *c = active_to_fake(w, WS | TS | SACK, NULL);
	char buf[64];

	peer_send(w, PEER_ISS + 1, SN_TH_ACK, "0123456789", 10, 2000);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 10);

	size_t mark = ncaps;
	peer_send(w, PEER_ISS + 11, SN_TH_ACK, "old-dup!!!", 10, 1500);
	assert_int_equal(w_stats(w, C).tcp_paws_drops, 1);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), -EAGAIN);
	assert_int_equal(info_of(c).rcv_nxt, PEER_ISS + 11);
	/* ... and answered at once with an ACK echoing TS.Recent. */
	assert_int_equal(ncaps, mark + 1);
	assert_int_equal(caps[mark].th.ack, PEER_ISS + 11);
	assert_int_equal(caps[mark].th.opts.ts_ecr, 2000);

	/* The same bytes with a current TSval are taken. */
	peer_send(w, PEER_ISS + 11, SN_TH_ACK, "abcdefghij", 10, 2500);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 10);
	assert_int_equal(w_stats(w, C).tcp_paws_drops, 1);

	/* 5.5: after more than 24 days without a segment, an older TSval is
	 * accepted (the peer's clock may have wrapped). */
	w_run(w, 25ull * 24 * 3600 * W_SEC);
	peer_send(w, PEER_ISS + 21, SN_TH_ACK, "late", 4, 100);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 4);
	assert_int_equal(w_stats(w, C).tcp_paws_drops, 1);

	/* The age is not taken modulo a short clock: 2^32 ms (49.7 days) and
	 * an hour later TS.Recent is stale, not an hour old. */
	w_run(w, ((1ull << 32) + 3600 * 1000) * W_MS);
	peer_send(w, PEER_ISS + 25, SN_TH_ACK, "wrap", 4, 50);
	assert_int_equal(sn_recv(c, buf, sizeof(buf), 0), 4);
	assert_int_equal(w_stats(w, C).tcp_paws_drops, 1);

	/* 5.2: a RST is not PAWS-checked: an old TSval still resets. */
	peer_send(w, PEER_ISS + 29, SN_TH_RST, NULL, 0, 20);
	assert_int_equal(w_stats(w, C).tcp_paws_drops, 1);
	assert_int_equal(w_state_of(c), SN_CLOSED);
	sn_close(c);
}

/* RFC 7323 4.3: TS.Recent takes SEG.TSval only from a segment that starts at
 * or before Last.ACK.sent, so an ACK echoes the oldest unacknowledged one. */
static void ts_recent_update_rule(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *c = active_to_fake(w, WS | TS | SACK, NULL);
	assert_int_equal(last_of(C)->th.opts.ts_ecr, PEER_TS0);
	static const char data[100];

	/* In order, at RCV.NXT: recorded; the (delayed) ACK echoes it. */
	peer_send(w, PEER_ISS + 1, SN_TH_ACK, data, 100, 2000);
	w_run(w, 100 * W_MS);
	assert_int_equal(last_of(C)->th.ack, PEER_ISS + 101);
	assert_int_equal(last_of(C)->th.opts.ts_ecr, 2000);

	/* Beyond a hole: not recorded; the duplicate ACK echoes 2000. */
	peer_send(w, PEER_ISS + 201, SN_TH_ACK, data, 100, 3000);
	assert_int_equal(last_of(C)->th.ack, PEER_ISS + 101);
	assert_int_equal(last_of(C)->th.opts.ts_ecr, 2000);

	/* Filling the hole: recorded. */
	peer_send(w, PEER_ISS + 101, SN_TH_ACK, data, 100, 4000);
	assert_int_equal(last_of(C)->th.ack, PEER_ISS + 301);
	assert_int_equal(last_of(C)->th.opts.ts_ecr, 4000);

	/* Two in a row while the ACK is held: the second starts past
	 * Last.ACK.sent, so the ACK echoes the first. */
	size_t mark = ncaps;
	peer_send(w, PEER_ISS + 301, SN_TH_ACK, data, 100, 5000);
	assert_int_equal(ncaps, mark); /* delayed */
	peer_send(w, PEER_ISS + 401, SN_TH_ACK, data, 100, 6000);
	w_run(w, 100 * W_MS);
	assert_int_equal(last_of(C)->th.ack, PEER_ISS + 501);
	assert_int_equal(last_of(C)->th.opts.ts_ecr, 5000);
	sn_abort(c);
}

/* ---- SACK ------------------------------------------------------------------ */

static void check_blocks(const struct cap *k, unsigned n, const uint32_t (*want)[2])
{
	assert_int_equal(k->th.opts.num_sack, n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(k->th.opts.sack[i].left, want[i][0]);
		assert_int_equal(k->th.opts.sack[i].right, want[i][1]);
	}
}

static void sack_blocks_most_recent_first(void **state, unsigned offer, unsigned max)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *c = active_to_fake(w, offer, NULL);
	static const char data[100];
	uint32_t ts = (offer & TS) ? 2000 : 0;
	const uint32_t base = PEER_ISS + 1;

	/* Four segments, each after a hole of 100 bytes. */
	for (unsigned k = 0; k < 4; k++) {
		peer_send(w, base + 100 + 200 * k, SN_TH_ACK, data, 100, ts ? ts + k : 0);
		const struct cap *a = last_of(C);
		assert_int_equal(a->th.ack, base);
		uint32_t want[4][2];
		unsigned n = k + 1 < max ? k + 1 : max;
		for (unsigned j = 0; j < n; j++) {
			want[j][0] = base + 100 + 200 * (k - j);
			want[j][1] = want[j][0] + 100;
		}
		check_blocks(a, n, (const uint32_t(*)[2])want);
		if (offer & TS)
			assert_true(a->th.opts.has_ts);
	}
	/* Joining the first two blocks: the merged one comes first. */
	peer_send(w, base + 200, SN_TH_ACK, data, 100, ts ? ts + 9 : 0);
	const struct cap *a = last_of(C);
	assert_true(a->th.opts.num_sack >= 1);
	assert_int_equal(a->th.opts.sack[0].left, base + 100);
	assert_int_equal(a->th.opts.sack[0].right, base + 400);
	assert_true(a->th.opts.num_sack <= max);
	assert_true(w_stats(w, C).tcp_sack_blocks_sent >= 1 + 2 + 3 + 3);

	/* Filling the first hole: all in order, no blocks. */
	peer_send(w, base, SN_TH_ACK, data, 100, ts ? ts + 10 : 0);
	a = last_of(C);
	assert_int_equal(a->th.ack, base + 400);
	assert_int_equal(a->th.opts.num_sack, 2 < max ? 2 : max); /* two blocks remain */
	sn_abort(c);
}

static void sack_blocks_with_timestamps(void **state)
{
	sack_blocks_most_recent_first(state, WS | TS | SACK, 3);
}

static void sack_blocks_without_timestamps(void **state)
{
	sack_blocks_most_recent_first(state, WS | SACK, 4);
}

/*
 * RFC 2883 D-SACK: a segment received twice is reported as the first block
 * of the ACK it draws, once; for a segment that is partly old, the old
 * part. Without SACK agreed, nothing.
 */
static void dsack_reports_duplicates_once(void **state, unsigned offer)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *c = active_to_fake(w, offer, NULL);
	static const char data[200];
	const uint32_t base = PEER_ISS + 1;
	peer_send(w, base, SN_TH_ACK | SN_TH_PSH, data, 100, 2000);
	w_run(w, 100 * W_MS); /* the delayed ACK */
	assert_int_equal(last_of(C)->th.ack, base + 100);
	assert_int_equal(last_of(C)->th.opts.num_sack, 0);
	/* The same segment again: ACKed at once, with the D-SACK block. */
	size_t mark = ncaps;
	peer_send(w, base, SN_TH_ACK | SN_TH_PSH, data, 100, 2001);
	assert_int_equal(ncaps, mark + 1);
	const struct cap *a = last_of(C);
	assert_int_equal(a->th.ack, base + 100);
	if (offer & SACK) {
		const uint32_t want[1][2] = {{base, base + 100}};
		check_blocks(a, 1, want);
	} else {
		assert_int_equal(a->th.opts.num_sack, 0);
	}
	/* Partly old: 50 old octets, 150 new; the old part is reported, with
	 * the out-of-order block that a hole after it makes. */
	peer_send(w, base + 300, SN_TH_ACK, data, 100, 2002);
	peer_send(w, base + 50, SN_TH_ACK, data, 200, 2003);
	a = last_of(C);
	assert_int_equal(a->th.ack, base + 250);
	if (offer & SACK) {
		const uint32_t want[2][2] = {{base + 50, base + 100}, {base + 300, base + 400}};
		check_blocks(a, 2, want);
	}
	/* The next ACK carries no D-SACK any more. */
	peer_send(w, base + 250, SN_TH_ACK, data, 50, 2004);
	a = last_of(C);
	assert_int_equal(a->th.ack, base + 400);
	assert_int_equal(a->th.opts.num_sack, 0);
	sn_abort(c);
}

static void dsack_with_sack(void **state)
{
	dsack_reports_duplicates_once(state, WS | TS | SACK);
}

static void no_dsack_without_sack(void **state)
{
	dsack_reports_duplicates_once(state, WS | TS);
}

/* SACK not agreed: no blocks, whatever is out of order. */
static void no_sack_blocks_unless_agreed(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *c = active_to_fake(w, WS | TS, NULL);
	static const char data[100];
	peer_send(w, PEER_ISS + 201, SN_TH_ACK, data, 100, 2000);
	assert_int_equal(last_of(C)->th.ack, PEER_ISS + 1);
	assert_int_equal(last_of(C)->th.opts.num_sack, 0);
	assert_int_equal(w_stats(w, C).tcp_sack_blocks_sent, 0);
	sn_abort(c);
}

/* The sender parses the peer's blocks and counts them (acting on them is
 * the congestion-control work). */
static void sender_counts_sack_blocks(void **state)
{
	struct world *w = *state;
	go(w);
	struct sn_sock *c = active_to_fake(w, WS | TS | SACK, NULL);
	struct w_pkt p = {.sport = 80, .dport = 40000, .seq = PEER_ISS + 1, .ack = 1001,
	                  .flags = SN_TH_ACK, .has_ts = true, .ts_val = 2000,
	                  .num_sack = 2, .sack = {{1101, 1201}, {1301, 1401}}};
	w_inject(w, C, &p);
	assert_int_equal(w_stats(w, C).tcp_sack_blocks_rcvd, 2);
	assert_int_equal(w_state_of(c), SN_ESTABLISHED);
	sn_abort(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(active_open_every_combination, setup, teardown),
		cmocka_unit_test_setup_teardown(passive_open_every_combination, setup, teardown),
		cmocka_unit_test_setup_teardown(options_off_offer_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(two_stacks_agree_and_options_placed, setup, teardown),
		cmocka_unit_test_setup_teardown(scaled_window_one_mib, setup, teardown),
		cmocka_unit_test_setup_teardown(wscale_max_bounds_shift, setup, teardown),
		cmocka_unit_test_setup_teardown(rttm_sample_per_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(paws_drops_old_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(ts_recent_update_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(sack_blocks_with_timestamps, setup, teardown),
		cmocka_unit_test_setup_teardown(sack_blocks_without_timestamps, setup, teardown),
		cmocka_unit_test_setup_teardown(no_sack_blocks_unless_agreed, setup, teardown),
		cmocka_unit_test_setup_teardown(sender_counts_sack_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(dsack_with_sack, setup, teardown),
		cmocka_unit_test_setup_teardown(no_dsack_without_sack, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
