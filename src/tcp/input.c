/*
 * input.c - segment arrival, RFC 9293 section 3.10.7, in its order of checks.
 *
 *   ipv4_input -> tcp_input -> demultiplex:
 *        connection table -> syn_sent_input (3.10.7.3)
 *                          | sync_input (3.10.7.4: seq, RST, SYN, ACK)
 *                              -> receive_text (URG, text, FIN)
 *        TIME-WAIT record  -> tw_input
 *        listener          -> listen_input (listen.c, 3.10.7.2)
 *        nothing           -> tcp_reply_rst (3.10.7.1)
 *
 * The segment is parsed once into a struct sn_tcp and passed down; nothing
 * here reads header bytes. Replies are not sent from the middle of processing:
 * processing marks an ACK as owed (tcp_send_ack) and the stack sends it when
 * the whole segment, and any application callback it caused, is done, so that
 * a reply written by the application carries the ACK.
 */
#include <errno.h>
#include <string.h>

#include "core.h"
#include "tcp/seq.h"

static void trace_drop(struct sn_sock *s, const char *why)
{
	struct sn_stack *st = s->stack;
	if (!st->trace_fn)
		return;
	struct sn_trace_event ev = {
		.kind = SN_TRACE_DROP, .now_us = st->now_us, .sock = s, .what = why,
	};
	stack_trace(st, &ev);
}

static void drop_bad(struct sn_sock *s, const char *why)
{
	STAT_INC(s->stack, tcp_drop_bad_seg);
	trace_drop(s, why);
}

/* RFC 5961 section 7: at most challenge_ack_per_sec challenge ACKs a second,
 * stack-wide, so an attacker cannot use them as an amplifier. */
bool tcp_challenge_ack_allowed(struct sn_stack *st)
{
	if (st->now_us - st->challenge_window_us >= 1000000) {
		st->challenge_window_us = st->now_us;
		st->challenge_count = 0;
	}
	if (st->challenge_count >= st->cfg.challenge_ack_per_sec)
		return false;
	st->challenge_count++;
	return true;
}

/*
 * An ACK for a segment we did not accept. In SYN-RECEIVED tcp_output answers
 * with the SYN-ACK again (the peer may have missed it); with the profile's
 * synrcvd_bare_ack a segment other than a SYN gets the plain
 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> of RFC 9293 3.10.7.4 instead, as BSD.
 */
static void ack_unaccepted(struct sn_sock *s, uint8_t flags)
{
	if (s->state == SN_SYN_RECEIVED && !(flags & SN_TH_SYN) &&
	    s->stack->cfg.profile.synrcvd_bare_ack) {
		tcp_send_raw(s->stack, &s->t, s->snd_nxt, s->rcv_nxt, SN_TH_ACK, tcp_rcv_window(s), s);
		return;
	}
	tcp_send_ack(s);
}

static void challenge_ack(struct sn_sock *s, uint8_t flags)
{
	struct sn_stack *st = s->stack;
	if (tcp_challenge_ack_allowed(st)) {
		STAT_INC(st, tcp_challenge_ack);
		s->flags |= SN_SF_ACK_PLAIN;
		ack_unaccepted(s, flags);
	} else {
		STAT_INC(st, tcp_challenge_ack_limited);
	}
}

/*
 * The ACK owed to a segment we cannot accept (RFC 9293 3.10.7.4 first check,
 * RFC 5961 5.2). Two ends that disagree about the sequence space, one misled
 * by a forged or stale segment, would otherwise answer each other's pure ACKs
 * with ACKs forever, at line rate. Like Linux (tcp_invalid_ratelimit), answer
 * a segment that occupies no sequence space, or a SYN, at most once per
 * OOW_ACK_INTERVAL_MS per connection; data is always answered, because its
 * sender needs the ACK to stop retransmitting.
 */
#define OOW_ACK_INTERVAL_MS 500u

/* RFC 7323 5.5: after this long idle, TS.Recent may have wrapped (a 1 ms
 * clock wraps its sign bit in 24.8 days), so PAWS must not use it. */
#define PAWS_IDLE_STAMPS (uint32_t)((24ull * 24 * 3600 * 1000000) >> TCP_STAMP_SHIFT)

/* Is an ACK waiting, either on the timer or held until the call ends? */
static bool delack_pending(const struct sn_sock *s)
{
	return sn_timer_armed(&s->delack_timer) || (s->flags & SN_SF_DELACK_HELD);
}

/*
 * An ACK that may wait (RFC 1122 4.2.3.2). Usually the application answers
 * before this stack call ends, and its reply carries the ACK; so instead of
 * arming the delayed-ACK timer now, only to stop it again when the reply
 * goes, remember the socket, and tcp_delack_flush (from stack_leave, after
 * every event and all output) arms the timer if the ACK is still owed.
 */
static void delack_hold(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	if (delack_pending(s))
		return;
	if (st->ndelack_held == SN_DELACK_HELD_MAX) {
		tcp_delack_arm(s); /* a busy call: the old way */
		return;
	}
	s->flags |= SN_SF_DELACK_HELD;
	st->delack_held[st->ndelack_held++] = s;
}

void tcp_delack_flush(struct sn_stack *st)
{
	unsigned n = st->ndelack_held;
	if (n == 0)
		return;
	st->ndelack_held = 0;
	for (unsigned i = 0; i < n; i++) {
		struct sn_sock *s = st->delack_held[i];
		s->flags &= ~SN_SF_DELACK_HELD;
		/* Every segment we send carries the ACK (sent_ack sets
		 * last_ack_sent); a closed socket owes nothing. Sockets are only
		 * freed after this, at the end of stack_leave. */
		if (s->state != SN_CLOSED && s->rcv_nxt != s->last_ack_sent)
			tcp_delack_arm(s);
	}
}

/* RFC 2883: remember [left, right) as duplicate data, to be reported in
 * the first SACK block of our next ACK. */
static void dsack_note(struct sn_sock *s, uint32_t left, uint32_t right)
{
	if (!s->stack->cfg.profile.dsack || !(s->topts & SN_TCPI_OPT_SACK) || left == right)
		return;
	s->dsack[0] = left;
	s->dsack[1] = right;
	s->flags |= SN_SF_DSACK;
	tcp_send_ack(s); /* a duplicate is answered at once, like a hole */
}

static void oow_ack(struct sn_sock *s, uint32_t seglen, uint8_t flags)
{
	struct sn_stack *st = s->stack;
	if (seglen == 0 || (flags & SN_TH_SYN)) {
		if (s->last_oow_ack_ms != 0 &&
		    tcp_ms_since(st, s->last_oow_ack_ms) < OOW_ACK_INTERVAL_MS)
			return;
		s->last_oow_ack_ms = tcp_ms(st);
	}
	ack_unaccepted(s, flags);
}


/* RFC 9293 3.10.7.4, first check: the four cases of segment acceptability. */
static bool seq_acceptable(uint32_t seq, uint32_t seglen, uint32_t rcv_nxt, uint32_t wnd)
{
	if (seglen == 0) {
		if (wnd == 0)
			return seq == rcv_nxt;
		return sn_seq_in(seq, rcv_nxt, rcv_nxt + wnd);
	}
	if (wnd == 0)
		return false;
	return sn_seq_in(seq, rcv_nxt, rcv_nxt + wnd) ||
	       sn_seq_in(seq + seglen - 1, rcv_nxt, rcv_nxt + wnd);
}

/* RFC 7323 2.3: the window field of a non-SYN segment is scaled by the
 * shift the peer announced, once both SYNs carried the option (else 0). */
static uint32_t seg_wnd(const struct sn_sock *s, const struct sn_tcp *th)
{
	if (th->flags & SN_TH_SYN)
		return th->wnd; /* 2.2: a SYN's window is never scaled */
	return (uint32_t)th->wnd << s->snd_wscale;
}

void tcp_options_agree(struct sn_sock *s, const struct sn_tcp *th)
{
	if (!th->opts.has_wscale)
		s->topts &= (uint8_t)~SN_TCPI_OPT_WSCALE;
	if (!th->opts.has_ts)
		s->topts &= (uint8_t)~SN_TCPI_OPT_TIMESTAMPS;
	if (!th->opts.sack_permitted)
		s->topts &= (uint8_t)~SN_TCPI_OPT_SACK;
	if (s->topts & SN_TCPI_OPT_WSCALE) {
		/* RFC 7323 2.3: a shift above 14 is used as 14. */
		s->snd_wscale = th->opts.wscale > 14 ? 14 : th->opts.wscale;
	} else {
		/* 2.2: scaling in neither direction unless both offered. */
		s->snd_wscale = 0;
		s->rcv_wscale = 0;
	}
	if (s->topts & SN_TCPI_OPT_TIMESTAMPS) {
		s->ts_recent = th->opts.ts_val; /* 4.3: TS.Recent from the SYN */
		s->ts_recent_stamp = tcp_stamp(s->stack);
	}
	if (s->stack->cfg.profile.rcvbuf_round_mss) {
		/* FreeBSD (tcp_mss) rounds the receive buffer up to a whole
		 * number of segments once the MSS is known, so that the window
		 * is a multiple of it: 65536 becomes 65700 for an MSS of 1460. */
		uint32_t mss = th->opts.has_mss ? th->opts.mss : 536;
		uint32_t mine = tcp_rcv_mss_offer(s);
		if (mine < mss)
			mss = mine;
		if (mss > 0 && s->rcv_buf.cap % mss != 0)
			sn_ring_resize(&s->rcv_buf, (s->rcv_buf.cap / mss + 1) * mss);
	}
}

static void update_window(struct sn_sock *s, const struct sn_tcp *th)
{
	/* RFC 9293 3.10.7.4 fifth check: only a segment newer than the one that
	 * last set the window may change it, so reordered segments cannot. */
	if (sn_seq_lt(s->snd_wl1, th->seq) ||
	    (s->snd_wl1 == th->seq && sn_seq_leq(s->snd_wl2, th->ack))) {
		uint32_t wnd = seg_wnd(s, th);
		bool opened = wnd > s->snd_wnd;
		s->snd_wnd = wnd;
		s->snd_wl1 = th->seq;
		s->snd_wl2 = th->ack;
		if (s->snd_wnd > s->max_snd_wnd)
			s->max_snd_wnd = s->snd_wnd;
		if (opened)
			tcb_want_output(s);
	}
}

/*
 * RFC 7323 4.1 (RTTM): with timestamps on, every ACK that acknowledges new
 * data carries in TSecr the TSval of the segment that caused it, so the RTT
 * is our clock minus TSecr. Retransmissions need no Karn's rule here: the
 * echoed TSval says which copy arrived. A TSecr of 0 is no echo (4.2: the
 * peer may not have had a TSval to echo).
 */
static uint32_t ts_rtt_sample(struct sn_sock *s, const struct sn_tcp *th)
{
	if (!(s->topts & SN_TCPI_OPT_TIMESTAMPS) || !th || !th->opts.has_ts || th->opts.ts_ecr == 0)
		return 0;
	/* An echo of a TSval from before our last retransmission timeout
	 * answers an original transmission whose ACK was lost or held: it
	 * measures the timeout, not the path, and taking it would let the
	 * RTO run away (the ambiguity Karn's rule avoids; RFC 3522 tells the
	 * two apart the same way). Later echoes are clean again. */
	if (s->flags & SN_SF_TS_REXMT) {
		if (sn_seq_lt(th->opts.ts_ecr, s->ts_rexmt))
			return 0;
		s->flags &= ~SN_SF_TS_REXMT;
	}
	uint32_t ms = tcp_ts_now(s) - th->opts.ts_ecr;
	/* An echo from the future, or older than any RTO could be, is bogus. */
	if (ms > s->stack->cfg.max_rto_ms * 2u)
		return 0;
	/* A 1 ms clock: an echo of this very millisecond is under 1 ms. */
	uint32_t us = ms ? ms * 1000u : SN_RTT_GRANULARITY_US;
	sn_rtt_sample(&s->rtt, &s->stack->rto, ms * 1000u);
	STAT_INC(s->stack, tcp_rtt_samples);
	return us;
}

/* New data acknowledged: SND.UNA moves to ack. th is the segment, or NULL
 * when the ACK only completes the handshake (syn_acked took that sample).
 * Returns the RTT sample the ACK gave, in µs, or 0. */
static uint32_t ack_advance(struct sn_sock *s, uint32_t ack, const struct sn_tcp *th)
{
	if (sn_seq_gt(ack, s->snd_buf_seq)) {
		uint32_t n = ack - s->snd_buf_seq;
		uint32_t used = sn_ring_used(&s->snd_buf);
		if (n > used)
			n = used; /* the rest acknowledges our FIN */
		if (n > 0) {
			sn_ring_discard(&s->snd_buf, n);
			s->snd_buf_seq += n;
			if (!(s->flags & SN_SF_FIN_QUEUED))
				tcb_event(s, SN_EV_WRITABLE);
		}
	}
	struct sn_stack *st = s->stack;
	/* RFC 6298: the timed segment is acknowledged, so take the sample
	 * (never from a retransmission: the timeout cleared the flag). With
	 * timestamps, RTTM instead. */
	uint32_t rtt_us = 0;
	if (s->topts & SN_TCPI_OPT_TIMESTAMPS) {
		rtt_us = ts_rtt_sample(s, th);
	} else if ((s->flags & SN_SF_RTT_TIMING) && sn_seq_gt(ack, s->rtt_seq)) {
		s->flags &= ~SN_SF_RTT_TIMING;
		rtt_us = (uint32_t)st->now_us - s->rtt_start_us;
		sn_rtt_sample(&s->rtt, &st->rto, rtt_us);
		STAT_INC(st, tcp_rtt_samples);
	}
	sn_rtt_reset_backoff(&s->rtt, &st->rto);
	s->progress_ms = tcp_ms(st);
	s->snd_una = ack;
	if (sn_seq_lt(s->snd_nxt, s->snd_una))
		s->snd_nxt = s->snd_una;
	s->rexmt_count = 0;
	/* RFC 6298 5.2 and 5.3. */
	if (s->snd_una == s->snd_max)
		tcp_rexmt_stop(s);
	else
		tcp_rexmt_arm(s);
	/* More may fit in the window now. */
	if (sn_ring_used(&s->snd_buf) > 0 || (s->flags & SN_SF_FIN_QUEUED))
		tcb_want_output(s);
	return rtt_us;
}

/* Has the peer acknowledged our FIN? */
static bool fin_acked(const struct sn_sock *s)
{
	return (s->flags & SN_SF_FIN_QUEUED) && sn_ring_used(&s->snd_buf) == 0 &&
	       s->snd_una == s->snd_buf_seq + 1;
}

static void established(struct sn_sock *s, const struct sn_tcp *th)
{
	s->snd_wnd = seg_wnd(s, th);
	s->snd_wl1 = th->seq;
	s->snd_wl2 = th->ack;
	s->max_snd_wnd = s->snd_wnd;
	tcb_set_state(s, SN_ESTABLISHED);
	tcp_keepalive_update(s);
	tcp_cc_init(s); /* the initial window needs the agreed MSS */
}

/* Our SYN (or SYN-ACK) is acknowledged by ack, in segment th. */
static void syn_acked(struct sn_sock *s, uint32_t ack, const struct sn_tcp *th)
{
	struct sn_stack *st = s->stack;
	if (ts_rtt_sample(s, th)) {
		/* RFC 7323 4.1: TSecr echoes our SYN's TSval, even a resent one. */
		s->flags &= ~SN_SF_RTT_TIMING;
	} else if ((s->flags & SN_SF_RTT_TIMING) && sn_seq_gt(ack, s->rtt_seq)) {
		s->flags &= ~SN_SF_RTT_TIMING;
		sn_rtt_sample(&s->rtt, &st->rto, (uint32_t)st->now_us - s->rtt_start_us);
		STAT_INC(st, tcp_rtt_samples);
	} else if (s->syn_tries > 1 && s->rtt.srtt_us == 0) {
		/* RFC 6298 5.7: the SYN had to be sent again and gave no
		 * sample; start data transfer with a 3 s RTO, or the initial
		 * one if that is larger (5.7 only raises an RTO below 3 s). */
		sn_rtt_set_base(&s->rtt, &st->rto,
		                s->rtt.base_us > 3000000 ? s->rtt.base_us : 3000000);
	}
}

/* RFC 9293 3.10.7.3: SYN-SENT. */
static void syn_sent_input(struct sn_sock *s, const struct sn_tcp *th, const uint8_t *data,
                           size_t len)
{
	struct sn_stack *st = s->stack;
	bool ack_ok = false;

	/* First, the ACK bit: it must acknowledge our SYN and nothing more. */
	if (th->flags & SN_TH_ACK) {
		if (sn_seq_leq(th->ack, s->iss) || sn_seq_gt(th->ack, s->snd_max)) {
			if (!(th->flags & SN_TH_RST))
				tcp_send_raw(st, &s->t, th->ack, 0, SN_TH_RST, 0, s);
			drop_bad(s, "ACK of something we never sent");
			return;
		}
		ack_ok = true;
	}

	/* Second, RST: believed only if it acknowledges our SYN (RFC 5961 3.2
	 * applied to SYN-SENT). */
	if (th->flags & SN_TH_RST) {
		if (!ack_ok) {
			drop_bad(s, "RST without an acceptable ACK");
			return;
		}
		STAT_INC(st, tcp_rst_rx);
		STAT_INC(st, tcp_attempt_fails);
		tcb_close(s, ECONNREFUSED);
		return;
	}

	/* Fourth, SYN. */
	if (!(th->flags & SN_TH_SYN)) {
		drop_bad(s, "neither SYN nor RST in SYN-SENT");
		return;
	}
	s->irs = th->seq;
	s->rcv_nxt = th->seq + 1;
	s->rcv_adv = s->rcv_nxt;
	s->last_rcv_ms = tcp_ms(st);
	s->peer_mss = th->opts.has_mss ? th->opts.mss : 0;
	tcp_options_agree(s, th);

	if (ack_ok) {
		/* Our SYN is acknowledged: ESTABLISHED, and ACK their SYN. */
		syn_acked(s, th->ack, th);
		s->snd_una = th->ack;
		s->progress_ms = tcp_ms(st);
		tcp_rexmt_stop(s);
		s->rexmt_count = 0;
		established(s, th);
		s->flags &= ~SN_SF_CONNECTING;
		tcb_event(s, SN_EV_CONNECTED | SN_EV_WRITABLE);
		tcp_send_ack(s);
		/* Data on a SYN-ACK is rare but legal: keep it if it fits. */
		if (len > 0) {
			long n = sn_ring_write(&s->rcv_buf, data, len);
			if (n > 0) {
				s->rcv_nxt += (uint32_t)n;
				tcb_event(s, SN_EV_READABLE);
			}
		}
		return;
	}

	/* A SYN without ACK: simultaneous open (RFC 9293 3.5 figure 7). Answer
	 * with <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>; the retransmission timer
	 * already running for our SYN now guards the SYN-ACK. */
	s->snd_wnd = th->wnd; /* a SYN: not scaled */
	s->snd_wl1 = th->seq;
	s->max_snd_wnd = th->wnd;
	/* "If there are other controls or text in the segment, queue them for
	 * processing after the ESTABLISHED state has been reached": the text
	 * is held in the reassembly queue, unacknowledged, until then
	 * (sync_input). A FIN on the SYN is not kept, as in FreeBSD: it is
	 * not acknowledged, so the peer sends it again. */
	if (len > 0 && tcb_reass(s))
		sn_reass_insert(s->reass, s->rcv_nxt, sn_ring_space(&s->rcv_buf), s->rcv_nxt, data,
		                (uint32_t)len, false);
	tcb_set_state(s, SN_SYN_RECEIVED);
	s->snd_nxt = s->iss;
	s->syn_tries = 0;
	tcb_want_output(s);
}

/* RFC 9293 3.10.7.4, sixth to eighth: URG, segment text, FIN. seq, flags,
 * data and len are what the first check left of the segment, wnd the
 * window it was checked against. */
static void receive_text(struct sn_sock *s, const struct sn_tcp *th, uint32_t seq, uint8_t flags,
                         const uint8_t *data, size_t len, uint32_t wnd)
{
	struct sn_stack *st = s->stack;

	/* Sixth: URG. The urgent mechanism is not supported; the pointer is
	 * ignored and the data is delivered in line. */

	s->last_rcv_ms = tcp_ms(st);
	s->keep_probes = 0;

	/* Trim what we already have off the front (a retransmission that
	 * overlaps), and anything past the window off the end. */
	if (sn_seq_lt(seq, s->rcv_nxt)) {
		uint32_t dup = s->rcv_nxt - seq;
		if (len > 0)
			dsack_note(s, seq, dup < len ? s->rcv_nxt : seq + (uint32_t)len);
		if (dup >= len) {
			data += len;
			len = 0;
		} else {
			data += dup;
			len -= dup;
		}
		seq = s->rcv_nxt;
	}
	/* Text that overlaps what the reassembly queue holds is a duplicate
	 * too (RFC 2883 section 4, the first such range). */
	uint32_t dl, dr;
	if (len > 0 && !(s->flags & SN_SF_DSACK) &&
	    s->reass && sn_reass_first_dup(s->reass, seq, (uint32_t)len, &dl, &dr))
		dsack_note(s, dl, dr);
	uint32_t room = s->rcv_nxt + wnd - seq; /* seq lies in the window here */
	if (len > room) {
		len = room;
		flags &= (uint8_t)~SN_TH_FIN; /* the FIN lies past the window */
	}
	/* A segment longer than the MSS we offered is several of the peer's
	 * merged on the way (GRO, or a TSO sender whose link passes its
	 * super-segments whole): it counts as full-sized, no more, or the
	 * "every second full-sized segment" ACK would wait for two of them.
	 * Linux caps rcv_mss at advmss the same way. */
	if (len > s->rcv_mss) {
		uint32_t offer = tcp_rcv_mss_offer(s);
		s->rcv_mss = (uint16_t)(len < offer ? len : offer);
	}

	/* Seventh: segment text, and a FIN that arrives ahead of a hole. */
	bool text_state = s->state == SN_ESTABLISHED || s->state == SN_FIN_WAIT_1 ||
	                  s->state == SN_FIN_WAIT_2;
	bool fin = false;        /* a FIN is now in order */
	bool fin_counted = false; /* ... and the reassembly queue already stepped over it */
	if (len > 0 && (s->flags & SN_SF_USER_CLOSED) && !s->parent && text_state) {
		/* RFC 1122 4.2.2.13: data after the application closed cannot
		 * be delivered; say so with a RST. A child still waiting in the
		 * accept queue also carries USER_CLOSED (no handle yet), but its
		 * application is still to come: keep the data. BSD answers as for
		 * a connection that no longer exists (<SEQ=SEG.ACK><CTL=RST>). */
		if (st->cfg.profile.rst_reply_after_close)
			tcp_reply_rst(st, s->t.raddr, s->t.laddr, th, len);
		else
			tcp_send_rst(s);
		tcb_close(s, 0);
		return;
	}
	if (text_state && tcb_reass_held(s) &&
	    sn_reass_deliver(s->reass, &s->rcv_nxt, &s->rcv_buf, &fin) > 0) {
		/* Text that came on the peer's SYN while we were in SYN-SENT
		 * waited in the queue for ESTABLISHED (RFC 9293 3.10.7.3); it
		 * is in order now. (Otherwise the queue never starts at
		 * RCV.NXT here: a filled hole is delivered below.) */
		fin_counted = fin;
		tcb_event(s, SN_EV_READABLE);
		delack_hold(s);
		if (sn_reass_empty(s->reass))
			tcb_reass_drop(s);
	}
	if (text_state && seq != s->rcv_nxt && (len > 0 || (flags & SN_TH_FIN))) {
		/* Out of order: hold it until the hole before it fills, and
		 * say at once where the hole is (RFC 5681 4.2, RFC 9293 3.10.7.4
		 * seventh step). */
		if (tcb_reass(s) && sn_reass_insert(s->reass, s->rcv_nxt, wnd, seq, data,
		                                    (uint32_t)len, flags & SN_TH_FIN) > 0)
			STAT_INC(st, tcp_ooo_queued);
		if (s->reass && sn_reass_empty(s->reass))
			tcb_reass_drop(s); /* nothing of it fitted the window */
		tcp_send_ack(s);
		return;
	}
	if (len > 0 && text_state) {
		tcb_ring_prime(st, &s->rcv_buf);
		long n = sn_ring_write(&s->rcv_buf, data, len);
		if (n < 0)
			n = 0; /* no memory: as if lost; the peer sends it again */
		s->rcv_nxt += (uint32_t)n;
		bool all = (size_t)n == len;
		/* In-order text while something is queued fills all or part of
		 * a gap, whether or not queued bytes can follow it yet. */
		bool gap = tcb_reass_held(s);
		bool filled = false;
		if (gap) {
			filled = sn_reass_deliver(s->reass, &s->rcv_nxt, &s->rcv_buf, &fin) > 0 || fin;
			fin_counted = fin;
			if (sn_reass_empty(s->reass))
				tcb_reass_drop(s);
		}
		if (n > 0 || filled)
			tcb_event(s, SN_EV_READABLE);
		fin = fin || (all && (flags & SN_TH_FIN));
		s->unacked_rcv += (uint32_t)n;
		/* Delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2): at once when a
		 * gap is filled in whole or in part, for at least every second
		 * full-sized segment, and for a FIN (below); otherwise within
		 * delack_ms. */
		bool second = st->cfg.profile.ack_every_2nd_seg &&
		              delack_pending(s); /* FreeBSD: any size */
		bool quick = false;
		if (st->cfg.profile.quickack && n > 0) {
			/* Linux's quick-ACK mode: the first text of a connection
			 * starts it, for up to 16 segments (fewer when half the
			 * buffer holds fewer), each ACKed at once. */
			if (!(s->flags & SN_SF_DATA_SEEN)) {
				uint32_t q = s->rcv_buf.cap / (2u * (s->rcv_mss ? s->rcv_mss : 536));
				s->flags |= SN_SF_DATA_SEEN;
				s->quickacks = (uint8_t)(q > 16 ? 16 : q);
			}
			if (s->quickacks > 0) {
				s->quickacks--;
				quick = true;
			}
		}
		if (gap || !all || s->unacked_rcv >= 2u * s->rcv_mss || second || quick)
			tcp_send_ack(s);
		else
			delack_hold(s);
	} else if (text_state && (flags & SN_TH_FIN)) {
		fin = true; /* a bare FIN at RCV.NXT */
	} else if (flags & SN_TH_FIN) {
		/* CLOSE-WAIT, CLOSING, LAST-ACK: the peer already closed; a FIN
		 * that passed the first check says nothing new. ACK it. */
		tcp_send_ack(s);
	}
	/* CLOSE-WAIT, CLOSING, LAST-ACK ignore new text: the peer has sent its
	 * FIN and cannot send more. */

	/* Eighth: FIN, only once everything before it has arrived. */
	if (fin) {
		if (!fin_counted)
			s->rcv_nxt += 1;
		s->flags |= SN_SF_FIN_RCVD;
		tcb_reass_drop(s); /* nothing can follow a FIN */
		tcb_event(s, SN_EV_READABLE);
		switch (s->state) {
		case SN_SYN_RECEIVED:
		case SN_ESTABLISHED:
			tcb_set_state(s, SN_CLOSE_WAIT);
			/* Linux takes a FIN as the sign of an interactive peer
			 * (ping-pong mode) and delays its ACK, unless no text has
			 * come yet (its ACK timeout is then still zero). */
			if (st->cfg.profile.quickack && (s->flags & SN_SF_DATA_SEEN))
				delack_hold(s);
			else
				tcp_send_ack(s);
			break;
		case SN_FIN_WAIT_1:
			/* Our FIN is not yet acknowledged (else we would be in
			 * FIN-WAIT-2 by now): simultaneous close. */
			tcb_set_state(s, SN_CLOSING);
			tcp_send_ack(s);
			break;
		case SN_FIN_WAIT_2:
			tcb_enter_time_wait(s, true);
			break;
		default:
			tcp_send_ack(s);
			break;
		}
	}
}

/* RFC 9293 3.10.7.4, for SYN-RECEIVED and every synchronized state. */
static void sync_input(struct sn_sock *s, const struct sn_tcp *th, const uint8_t *data,
                       size_t len)
{
	struct sn_stack *st = s->stack;
	uint8_t flags = th->flags;
	uint32_t seq = th->seq;

	if (s->state == SN_SYN_RECEIVED && (flags & SN_TH_SYN) && !(flags & SN_TH_ACK) &&
	    seq == s->irs) {
		/* The peer's SYN again: our SYN-ACK was lost or is late. Resend it
		 * now rather than wait for our timer; it counts as one of the
		 * SYN-ACK's retransmissions (send_syn counts it in tcp_retrans). */
		STAT_INC(st, tcp_synack_retrans);
		tcp_send_ack(s);
		return;
	}

	/* Simultaneous open, the peer's SYN-ACK while we are in SYN-RECEIVED. By
	 * the letter of the first check its SYN octet is old (it sits at IRS, below
	 * RCV.NXT), which would cost an extra ACK each way; like Linux, accept it
	 * as the acknowledgement of our SYN so the open takes four segments. */
	bool simopen_synack = s->state == SN_SYN_RECEIVED && !(s->flags & SN_SF_PASSIVE) &&
	                      (flags & (SN_TH_SYN | SN_TH_ACK)) == (SN_TH_SYN | SN_TH_ACK) &&
	                      seq == s->irs && th->ack == s->snd_max && len == 0;
	if (simopen_synack) {
		flags &= (uint8_t)~SN_TH_SYN;
		seq = s->irs + 1;
	}

	uint32_t wnd = tcp_rcv_offered(s); /* the window of the acceptability test */
	/* BSD tests against the space it has (rcv_wnd), which may exceed what
	 * the 16-bit field could offer without scaling. */
	if (st->cfg.profile.rcv_wnd_bsd && sn_ring_space(&s->rcv_buf) > wnd &&
	    !(s->state == SN_SYN_RECEIVED && (s->flags & SN_SF_PASSIVE)))
		wnd = sn_ring_space(&s->rcv_buf); /* (a syncache entry: the offer) */
	uint32_t seglen = tcp_seg_seqlen(flags, len);
	bool ts = (s->topts & SN_TCPI_OPT_TIMESTAMPS) && th->opts.has_ts;

	/* RFC 7323 5.3 R1, PAWS, ahead of the sequence number check: a segment
	 * whose TSval is older than TS.Recent is an old duplicate from an
	 * earlier wrap of the sequence space; ACK it and drop it. Not for a
	 * RST (5.2: its TSval may be out of step and it must still work).
	 * After 24 days idle TS.Recent is stale (5.5) and nothing is dropped.
	 * A segment without timestamps is let through, as Linux does. */
	if (ts && !(flags & SN_TH_RST) && sn_seq_lt(th->opts.ts_val, s->ts_recent)) {
		if (tcp_stamp(st) - s->ts_recent_stamp > PAWS_IDLE_STAMPS) {
			s->ts_recent = th->opts.ts_val;
			s->ts_recent_stamp = tcp_stamp(st);
		} else {
			STAT_INC(st, tcp_paws_drops);
			oow_ack(s, seglen, flags);
			trace_drop(s, "PAWS: old timestamp");
			return;
		}
	}

	/* First: sequence number check. */
	if (!seq_acceptable(seq, seglen, s->rcv_nxt, wnd)) {
		if (wnd == 0 && seq == s->rcv_nxt) {
			/* A zero window still takes ACKs, URGs and RSTs: process the
			 * control part, drop the text (3.10.7.4). */
			len = 0;
			flags &= (uint8_t)~SN_TH_FIN;
			tcp_send_ack(s);
		} else {
			if (flags & SN_TH_RST)
				STAT_INC(st, tcp_rst_ignored);
			else if ((flags & SN_TH_SYN) && s->state != SN_SYN_RECEIVED)
				challenge_ack(s, flags); /* RFC 5961 4.2: whatever its seq */
			else {
				if (len > 0 && sn_seq_lt(seq, s->rcv_nxt))
					dsack_note(s, seq, sn_seq_lt(seq + (uint32_t)len, s->rcv_nxt)
					                       ? seq + (uint32_t)len : s->rcv_nxt);
				oow_ack(s, seglen, flags);
			}
			drop_bad(s, "not in the receive window");
			return;
		}
	}

	/* Second: RST. RFC 5961 3.2: only an exact match on RCV.NXT resets; any
	 * other in-window RST may be a blind attack and gets a challenge ACK. */
	if (flags & SN_TH_RST) {
		/* With the profile's RFC 793 switch (FreeBSD insecure_rst) any
		 * RST in the window resets, as RFC 793 had it. */
		if (seq != s->rcv_nxt && !st->cfg.profile.rfc793_rst) {
			challenge_ack(s, flags);
			return;
		}
		STAT_INC(st, tcp_rst_rx);
		switch (s->state) {
		case SN_SYN_RECEIVED:
			if (s->flags & SN_SF_PASSIVE) {
				/* Return to LISTEN: the listener simply forgets this one. */
				tcb_close(s, 0);
			} else {
				STAT_INC(st, tcp_attempt_fails);
				tcb_close(s, ECONNREFUSED);
			}
			return;
		case SN_ESTABLISHED:
		case SN_CLOSE_WAIT:
			STAT_INC(st, tcp_estab_resets);
			tcb_close(s, ECONNRESET);
			return;
		case SN_FIN_WAIT_1:
		case SN_FIN_WAIT_2:
		case SN_CLOSING:
			/* RFC 9293 has CLOSING end without a word to the user;
			 * Linux and FreeBSD report the reset (SO_ERROR) to an
			 * application that may still hold the socket after
			 * shutdown(SHUT_WR), as in FIN-WAIT. */
			tcb_close(s, ECONNRESET);
			return;
		default: /* LAST_ACK: the application has closed */
			tcb_close(s, 0);
			return;
		}
	}

	/* Third (security) does not apply: no IP security options. */

	/* RFC 7323 4.3 (and 5.3 R3): the segment is acceptable; if it starts
	 * at or before the last ACK we sent, its TSval is the one our next ACK
	 * echoes. So TSecr reports the oldest segment not yet acknowledged,
	 * and delayed ACKs and holes count in the peer's RTT. */
	/* Not from a segment whose ACK acknowledges what we never sent: that
	 * segment is dropped below, and a forged TSval must not stay behind
	 * to make PAWS drop the real ones (as Linux, tcp_validate_incoming). */
	bool ack_sane = !(flags & SN_TH_ACK) || sn_seq_leq(th->ack, s->snd_max);
	if (ts && ack_sane && sn_seq_leq(seq, s->last_ack_sent) &&
	    sn_seq_geq(th->opts.ts_val, s->ts_recent)) {
		s->ts_recent = th->opts.ts_val;
		s->ts_recent_stamp = tcp_stamp(st);
	}

	/* Fourth: SYN. RFC 5961 4.2: in a synchronized state, whatever its
	 * sequence number, answer with a challenge ACK. */
	if (flags & SN_TH_SYN) {
		if (s->state == SN_SYN_RECEIVED && (s->flags & SN_SF_PASSIVE)) {
			tcb_close(s, 0); /* 3.10.7.4: return to LISTEN */
			return;
		}
		if (st->cfg.profile.rfc793_syn) {
			/* RFC 793 3.9 (FreeBSD insecure_syn): a SYN in the window
			 * is an error; reset the connection and tell the user. */
			tcp_send_rst(s);
			if (s->state == SN_ESTABLISHED || s->state == SN_CLOSE_WAIT)
				STAT_INC(st, tcp_estab_resets);
			tcb_close(s, ECONNRESET);
			return;
		}
		challenge_ack(s, flags);
		return;
	}

	/* Fifth: ACK. Without it the segment is dropped. */
	if (!(flags & SN_TH_ACK)) {
		drop_bad(s, "no ACK bit");
		return;
	}
	if (s->state == SN_SYN_RECEIVED) {
		if (!sn_seq_gt(th->ack, s->snd_una) || sn_seq_gt(th->ack, s->snd_max)) {
			tcp_send_raw(st, &s->t, th->ack, 0, SN_TH_RST, 0, s);
			drop_bad(s, "unacceptable ACK in SYN-RECEIVED");
			return;
		}
		if ((s->flags & SN_SF_PASSIVE) && s->parent &&
		    s->parent->listener->accept_len >= s->parent->listener->backlog) {
			/* Nowhere to put it: ignore the ACK and stay half-open; the
			 * SYN-ACK timer will ask again, and the application may have
			 * made room by then. */
			STAT_INC(st, tcp_listen_overflow);
			trace_drop(s, "accept queue full");
			return;
		}
		syn_acked(s, th->ack, th);
		established(s, th);
		ack_advance(s, th->ack, NULL);
		if (s->flags & SN_SF_PASSIVE) {
			listen_child_established(s);
		} else {
			s->flags &= ~SN_SF_CONNECTING;
			tcb_event(s, SN_EV_CONNECTED | SN_EV_WRITABLE);
		}
	} else {
		/* RFC 5961 5.2: acceptable ACKs lie in
		 * [SND.UNA - MAX.SND.WND, SND.NXT]; anything else is answered
		 * with an ACK and dropped. snd_max stands for SND.NXT because
		 * a retransmission may have moved snd_nxt back. */
		if (sn_seq_gt(th->ack, s->snd_max) ||
		    sn_seq_lt(th->ack, s->snd_una - s->max_snd_wnd)) {
			/* Linux answers an ACK of data never sent with silence. */
			if (!(sn_seq_gt(th->ack, s->snd_max) && st->cfg.profile.ack_unsent_silent))
				oow_ack(s, seglen, flags);
			drop_bad(s, "ACK outside the acceptable range");
			return;
		}
		uint32_t prior_una = s->snd_una, prior_wnd = s->snd_wnd, rtt_us = 0;
		if (sn_seq_gt(th->ack, s->snd_una))
			rtt_us = ack_advance(s, th->ack, th);
		update_window(s, th);
		/* Duplicate ACKs, SACK blocks, partial ACKs, cwnd: loss.c. */
		tcp_loss_ack(s, th, len, prior_una, prior_wnd, rtt_us);
	}

	bool fin2_orphan = false; /* FIN-WAIT-2 reached after the application closed */
	switch (s->state) {
	case SN_FIN_WAIT_1:
		if (fin_acked(s)) {
			tcb_set_state(s, SN_FIN_WAIT_2);
			fin2_orphan = (s->flags & SN_SF_USER_CLOSED) != 0;
		}
		break;
	case SN_CLOSING:
		if (fin_acked(s)) {
			tcb_enter_time_wait(s, false);
			return;
		}
		break;
	case SN_LAST_ACK:
		if (fin_acked(s)) {
			tcb_close(s, 0);
			return;
		}
		break;
	default:
		break;
	}

	receive_text(s, th, seq, flags, data, len, wnd);
	/* An orphaned FIN-WAIT-2 connection lives fin_wait2_timeout_ms at most.
	 * The timer is armed only now, after the FIN step, because the peer's
	 * FIN usually comes on the very segment that ACKs ours and takes the
	 * connection to TIME-WAIT at once. */
	if (fin2_orphan && s->state == SN_FIN_WAIT_2)
		tcp_fin2_arm(s);
}

/*
 * A segment for a connection in TIME-WAIT (3.10.7.4, TIME-WAIT rows). The
 * record answers a retransmitted FIN and restarts its 2*MSL; a new SYN with a
 * higher sequence number may reopen the 4-tuple (RFC 1122 4.2.2.13), so a
 * client that reuses its port does not have to wait.
 */
static void tw_input(struct sn_stack *st, struct sn_tw *tw, struct sn_netif *nif,
                     const struct sn_ipv4 *ip, const struct sn_tcp *th, size_t len)
{
	if (th->flags & SN_TH_RST) {
		if (th->seq == tw->rcv_nxt) {
			STAT_INC(st, tcp_rst_rx);
			tw_kill(st, tw);
		}
		return;
	}
	const struct sn_profile *pf = &st->cfg.profile;
	uint32_t seglen = tcp_seg_seqlen(th->flags, len);
	if ((th->flags & SN_TH_SYN) && pf->rfc793_syn &&
	    sn_seq_in(th->seq, tw->rcv_nxt, tw->rcv_nxt + tw->wnd)) {
		/* RFC 793 (FreeBSD insecure_syn): a SYN in the window is an
		 * error in every synchronized state; reset. */
		struct sn_tuple t = tw->t;
		uint32_t snd = tw->snd_nxt, rcv = tw->rcv_nxt;
		tw_kill(st, tw);
		tcp_send_raw(st, &t, snd, rcv, SN_TH_RST | SN_TH_ACK, 0, NULL);
		return;
	}
	if ((th->flags & SN_TH_SYN) && !(th->flags & SN_TH_ACK) && sn_seq_gt(th->seq, tw->rcv_nxt) &&
	    pf->tw_syn_reopen) {
		struct sn_sock *ls = tcb_find_listener(st, tw->t.laddr, tw->t.lport);
		if (ls) {
			tw_kill(st, tw);
			listen_input(ls, ip, th);
			return;
		}
	}
	if ((th->flags & SN_TH_FIN) && th->seq + seglen == tw->rcv_nxt) {
		STAT_INC(st, tcp_tw_reack);
		tcp_send_tw_ack(st, tw);
		tw_restart(st, tw);
		return;
	}
	if ((th->flags & SN_TH_SYN) ||
	    !seq_acceptable(th->seq, seglen, tw->rcv_nxt, tw->wnd)) {
		/* RFC 5961 4.2 for a SYN; 3.10.7.4 first check otherwise. Both
		 * draw on the challenge ACK budget, so count them with it. */
		if (tcp_challenge_ack_allowed(st)) {
			STAT_INC(st, tcp_challenge_ack);
			tcp_send_tw_ack(st, tw);
		} else {
			STAT_INC(st, tcp_challenge_ack_limited);
		}
	} else if (pf->tw_ack_unexpected && (th->flags & SN_TH_ACK) &&
	           (th->flags != SN_TH_ACK || len > 0 || th->seq != tw->rcv_nxt ||
	            th->ack != tw->snd_nxt)) {
		/* BSD (tcp_twcheck): anything but a duplicate of the last ACK
		 * is answered with an ACK that says where we are. */
		tcp_send_tw_ack(st, tw);
	}
}

/*
 * ICMP Destination Unreachable about one of our segments. Only a message
 * that quotes a sequence number we have sent and not yet seen acknowledged
 * (SND.UNA <= SEG.SEQ < SND.MAX) is believed (RFC 5927 4.1), so a blind
 * attacker must guess it as for a RST. The hard errors (protocol or port
 * unreachable, administratively prohibited: RFC 1122 4.2.3.9, RFC 1812
 * 5.2.7.1) end a connection attempt in SYN-SENT, as Linux and FreeBSD do;
 * in a synchronized state they, like the soft ones, are left to the
 * retransmission timer, as RFC 5461 recommends: a route may come back.
 */
void tcp_icmp_unreach(struct sn_stack *st, const struct sn_tuple *t, uint32_t seq, uint8_t code)
{
	struct sn_sock *s = tcb_lookup(st, t);
	if (!s)
		return;
	if (!sn_seq_geq(seq, s->snd_una) || !sn_seq_lt(seq, s->snd_max)) {
		STAT_INC(st, icmp_unreach_ignored);
		return;
	}
	STAT_INC(st, icmp_unreach_rx);
	bool refused = code == 2 || code == 3;   /* protocol, port unreachable */
	bool prohibited = code == 9 || code == 10 || code == 13;
	if (s->state != SN_SYN_SENT || !(refused || prohibited))
		return;
	STAT_INC(st, tcp_attempt_fails);
	/* Linux reports a prohibited route as EHOSTUNREACH; FreeBSD (the
	 * freebsd profile) as ECONNREFUSED, like a refused port. */
	tcb_close(s, refused || st->cfg.profile.icmp_unreach_refused ? ECONNREFUSED : EHOSTUNREACH);
}

static void segment_input(struct sn_netif *nif, const struct sn_ipv4 *ip, const uint8_t *seg,
                          size_t len, unsigned rx_flags)
{
	struct sn_stack *st = nif->stack;
	struct sn_tcp th;
	STAT_INC(st, tcp_rx);
	/* A driver that verified the checksum, or whose frame never crossed
	 * anything that could corrupt it, says so; then the field may hold
	 * only the sender's partial sum (checksum offload), and is not read. */
	bool verify = !(rx_flags & SN_RX_CSUM_OK);
	switch (sn_tcp_parse(seg, len, ip->src, ip->dst, verify, &th)) {
	case SN_WIRE_OK:
		break;
	case SN_WIRE_BAD_CSUM:
		STAT_INC(st, tcp_drop_csum);
		return;
	case SN_WIRE_BAD_OPTION:
		STAT_INC(st, tcp_drop_options);
		return;
	default:
		STAT_INC(st, tcp_drop_malformed);
		return;
	}
	if (!verify)
		STAT_INC(st, tcp_rx_csum_trusted);
	const uint8_t *data = seg + th.payload_off;
	size_t dlen = th.payload_len;

	struct sn_tuple t = {.laddr = ip->dst, .raddr = ip->src, .lport = th.dport, .rport = th.sport};
	struct sn_tw *tw;
	struct sn_sock *s = tcb_demux(st, &t, &tw);
	tcp_trace_seg(st, SN_TRACE_SEG_IN, s, ip->src, ip->dst, &th, (uint32_t)dlen, NULL);

	/* SYN and FIN together make no sense in any state; scanners use them.
	 * A profile may take them as they come (FreeBSD drop_synfin=0): a
	 * listener then sees a SYN, the FIN being ignored like the data. */
	bool synfin = (th.flags & (SN_TH_SYN | SN_TH_FIN)) == (SN_TH_SYN | SN_TH_FIN);
	if (synfin && st->cfg.profile.drop_synfin && !st->cfg.profile.synfin_listen_only) {
		STAT_INC(st, tcp_drop_syn_fin);
		return;
	}

	if (s) {
		if (s->state == SN_SYN_SENT)
			syn_sent_input(s, &th, data, dlen);
		else
			sync_input(s, &th, data, dlen);
		return;
	}
	if (tw) {
		tw_input(st, tw, nif, ip, &th, dlen);
		return;
	}
	struct sn_sock *ls = tcb_find_listener(st, t.laddr, t.lport);
	if (ls) {
		if (synfin && st->cfg.profile.drop_synfin) {
			STAT_INC(st, tcp_drop_syn_fin);
			return;
		}
		if (synfin)
			th.flags &= (uint8_t)~SN_TH_FIN;
		listen_input(ls, ip, &th);
		return;
	}
	tcp_reply_rst(st, ip->src, ip->dst, &th, dlen);
}

void tcp_input(struct sn_netif *nif, const struct sn_ipv4 *ip, const uint8_t *seg, size_t len,
               unsigned rx_flags)
{
	segment_input(nif, ip, seg, len, rx_flags);
	tcb_demux_done(nif->stack);
}
