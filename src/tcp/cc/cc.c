/*
 * cc.c - what every congestion control algorithm shares; see cc.h.
 */
#include <string.h>

#include "core.h"
#include "tcp/seq.h"

#define CWND_MAX (1u << 30) /* no window field can ask for more */

const struct sn_cc_ops *const sn_cc_algorithms[SN_CC_COUNT] = {
	[SN_CC_CUBIC] = &sn_cc_cubic,
	[SN_CC_NEWRENO] = &sn_cc_newreno,
};

const struct sn_cc_ops *sn_cc_find(const char *name)
{
	for (size_t i = 0; i < SN_CC_COUNT; i++)
		if (strcmp(sn_cc_algorithms[i]->name, name) == 0)
			return sn_cc_algorithms[i];
	return NULL;
}

uint8_t sn_cc_index(const struct sn_cc_ops *ops)
{
	uint8_t i = 0;
	while (i < SN_CC_COUNT - 1 && sn_cc_algorithms[i] != ops)
		i++;
	return i;
}

uint32_t sn_cc_initial_window(uint32_t segs, uint32_t smss)
{
	if (segs == 0)
		segs = 1;
	uint64_t by_segs = (uint64_t)segs * smss;
	uint64_t floor = 2ull * smss;
	uint64_t by_bytes = (uint64_t)segs * 1460;
	uint64_t iw = by_bytes > floor ? by_bytes : floor;
	if (by_segs < iw)
		iw = by_segs;
	return iw > CWND_MAX ? CWND_MAX : (uint32_t)iw;
}

uint32_t tcp_flight_size(const struct sn_sock *s)
{
	return s->snd_max - s->snd_una;
}

/* Reset the algorithm's state. */
static void algorithm_init(struct sn_sock *s)
{
	memset(s->cc_priv, 0, sizeof(s->cc_priv));
	tcp_cc(s)->init(s);
}

/* HyStart++ is over (or never ran): its room becomes the algorithm's. Before
 * anything asks the algorithm. */
static void hystart_end(struct sn_sock *s)
{
	if (s->hs_phase == SN_HS_DONE)
		return;
	s->hs_phase = SN_HS_DONE;
	algorithm_init(s);
}

void tcp_cc_init(struct sn_sock *s)
{
	uint32_t mss = tcp_send_mss(s);
	s->cwnd = sn_cc_initial_window(s->stack->cfg.init_cwnd_segs, mss);
	/* RFC 5681 3.1: if the SYN or SYN-ACK had to be sent again, start
	 * with one segment. */
	if (s->syn_tries > 1)
		s->cwnd = mss;
	s->ssthresh = UINT32_MAX; /* 3.1: "arbitrarily high" */
	s->bytes_acked = 0;
	s->dupacks = 0;
	s->recover = s->snd_una - 1;
	s->flags &= ~(SN_SF_RECOVERY | SN_SF_REXMT_UNA);
	if (s->stack->cfg.no_hystart) {
		s->hs_phase = SN_HS_DONE;
		algorithm_init(s);
		return;
	}
	/* The algorithm's state waits for the end of HyStart++ (cc.h). */
	s->hs_phase = SN_HS_SLOW_START;
	s->hs = (struct sn_hystart){
		.window_end = s->snd_max, .last_min_us = UINT32_MAX, .cur_min_us = UINT32_MAX,
		.css_base_us = UINT32_MAX,
	};
}

void tcp_cc_set(struct sn_sock *s, uint8_t i)
{
	s->opt.cc = i;
	if (s->hs_phase == SN_HS_DONE)
		algorithm_init(s);
}

void tcp_cc_idle_restart(struct sn_sock *s)
{
	uint32_t rw = sn_cc_initial_window(s->stack->cfg.init_cwnd_segs, tcp_send_mss(s));
	if (rw < s->cwnd) {
		s->cwnd = rw;
		s->bytes_acked = 0;
		if (s->hs_phase == SN_HS_DONE) /* else still HyStart++'s room, and reset then */
			tcp_cc(s)->init(s);
		tcp_cc_trace(s, "idle restart");
	}
}

#define HS_MIN_RTT_THRESH_US 4000u  /* RFC 9406 4.3 */
#define HS_MAX_RTT_THRESH_US 16000u
#define HS_MIN_RTT_DIVISOR 8u
#define HS_N_RTT_SAMPLE 8u
#define HS_CSS_GROWTH_DIVISOR 4u
#define HS_CSS_ROUNDS 5u

/* RFC 9406 4.3, on an ACK of new data in the first slow start: keep the
 * round's RTTs, move between slow start and CSS. Returns the growth to
 * apply, given what slow start alone would add. */
static uint32_t hystart(struct sn_sock *s, uint32_t inc, uint32_t rtt_us)
{
	struct sn_hystart *h = &s->hs;
	if (sn_seq_gt(s->snd_una, h->window_end)) {
		/* A round has ended. */
		if (s->hs_phase == SN_HS_CSS) {
			if (h->cur_min_us < h->css_base_us) {
				s->hs_phase = SN_HS_SLOW_START; /* the RTT rise was spurious */
				h->css_base_us = UINT32_MAX;
				tcp_cc_trace(s, "hystart resume");
			} else if (++h->css_rounds >= HS_CSS_ROUNDS) {
				s->ssthresh = s->cwnd;
				hystart_end(s);
				tcp_cc_trace(s, "hystart done");
				return 0; /* congestion avoidance from the next ACK */
			}
		}
		h->last_min_us = h->cur_min_us;
		h->cur_min_us = UINT32_MAX;
		h->samples = 0;
		h->window_end = s->snd_max;
	}
	if (rtt_us) {
		if (rtt_us < h->cur_min_us)
			h->cur_min_us = rtt_us;
		if (h->samples < UINT8_MAX)
			h->samples++;
	}
	if (s->hs_phase == SN_HS_SLOW_START && h->samples >= HS_N_RTT_SAMPLE &&
	    h->cur_min_us != UINT32_MAX && h->last_min_us != UINT32_MAX) {
		uint32_t thresh = h->last_min_us / HS_MIN_RTT_DIVISOR;
		if (thresh < HS_MIN_RTT_THRESH_US)
			thresh = HS_MIN_RTT_THRESH_US;
		if (thresh > HS_MAX_RTT_THRESH_US)
			thresh = HS_MAX_RTT_THRESH_US;
		if (h->cur_min_us >= h->last_min_us + thresh) {
			s->hs_phase = SN_HS_CSS;
			h->css_base_us = h->cur_min_us;
			h->css_rounds = 0;
			STAT_INC(s->stack, tcp_hystart_exits);
			tcp_cc_trace(s, "hystart css");
		}
	}
	return s->hs_phase == SN_HS_CSS ? inc / HS_CSS_GROWTH_DIVISOR : inc;
}

void tcp_cc_ack(struct sn_sock *s, uint32_t acked, uint32_t in_flight, uint32_t rtt_us,
                uint32_t mss)
{
	bool slow_start = s->cwnd < s->ssthresh;
	/* RFC 7661 in spirit: a window the sender did not fill proves
	 * nothing about the path, so it does not grow. In slow start the
	 * window may be up to twice what was in flight (Linux's rule). */
	bool limited = slow_start ? (uint64_t)in_flight * 2 > s->cwnd : in_flight + mss >= s->cwnd;
	if (!limited)
		return;
	if (slow_start) {
		/* RFC 3465 with L = 2: count bytes, at most 2 SMSS per ACK, so
		 * that a delayed ACK for two segments still doubles the window
		 * each round trip. */
		uint32_t inc = acked < 2 * mss ? acked : 2 * mss;
		/* HyStart++ only while ssthresh is still the initial "arbitrarily
		 * high" (RFC 9406 4.2): after a loss, plain slow start. */
		if (s->hs_phase != SN_HS_DONE && s->ssthresh == UINT32_MAX)
			inc = hystart(s, inc, rtt_us);
		s->cwnd += inc;
		if (s->cwnd > s->ssthresh)
			s->cwnd = s->ssthresh > mss ? s->ssthresh : mss;
	} else {
		hystart_end(s); /* (ssthresh set some other way: nothing does now) */
		tcp_cc(s)->cong_avoid(s, acked);
	}
	if (s->cwnd > CWND_MAX)
		s->cwnd = CWND_MAX;
}

void tcp_cc_congestion(struct sn_sock *s, enum sn_cc_event ev)
{
	uint32_t mss = tcp_send_mss(s);
	hystart_end(s); /* RFC 9406 4.3: a loss ends HyStart++ */
	uint32_t t = tcp_cc(s)->ssthresh(s, ev);
	s->ssthresh = t > 2 * mss ? t : 2 * mss;
	s->bytes_acked = 0;
}

void tcp_cc_trace(struct sn_sock *s, const char *why)
{
	struct sn_stack *st = s->stack;
	if (!st->trace_fn)
		return;
	uint32_t pipe = tcp_flight_size(s);
	if (s->flags & SN_SF_SACK_RECOVERY)
		pipe = sn_sack_pipe(&s->sack->board, s->snd_una, s->snd_max, s->sack->high_rxt,
		                    tcp_send_mss(s));
	struct sn_trace_event ev = {
		.kind = SN_TRACE_CC, .now_us = st->now_us, .sock = s, .what = why,
		.seg = {.saddr = s->t.laddr, .daddr = s->t.raddr, .sport = s->t.lport,
		        .dport = s->t.rport},
		.cc = {.cwnd = s->cwnd, .ssthresh = s->ssthresh, .srtt_us = s->rtt.srtt_us,
		       .pipe = pipe},
	};
	stack_trace(st, &ev);
}
