/*
 * output.c - deciding what to send, and building segments.
 *
 *   stack_leave -> tcp_output(s) -> tcp_emit -> ipv4_send -> arp_output
 *   tcp_input   -> tcp_reply_rst / tcp_send_raw (no connection, TIME-WAIT)
 *
 * tcp_output is the one place that sends on behalf of a connection: the SYN
 * or SYN-ACK, data from the send ring, the FIN once the ring has drained, and
 * any ACK that input processing said is owed. Segments are built straight
 * into the stack's frame buffer behind room for the IPv4 and Ethernet headers;
 * data is copied once, from the send ring into that buffer. Retransmission is
 * the same path: the timer moves snd_nxt back and calls for output.
 */
#include <string.h>

#include "core.h"
#include "tcp/seq.h"
#include "trace/seg.h"

#define SN_TCP_DEFAULT_MSS 536 /* RFC 9293 3.7.1, when the peer sends no MSS option */

static uint8_t *seg_buf(struct sn_stack *st)
{
	return st->frame + SN_ETH_HLEN + SN_IPV4_HLEN;
}

static size_t seg_room(const struct sn_stack *st)
{
	return sizeof(st->frame) - SN_ETH_HLEN - SN_IPV4_HLEN;
}

static void trace_seg(struct sn_stack *st, enum sn_trace_kind kind, const struct sn_sock *s,
                      uint32_t saddr, uint32_t daddr, const struct sn_tcp *th, uint32_t len,
                      const char *what, uint16_t gso_size)
{
	struct sn_trace_event ev = {
		.kind = kind,
		.now_us = st->now_us,
		.sock = s,
		.seg = {.saddr = saddr, .daddr = daddr, .sport = th->sport, .dport = th->dport,
		        .seq = th->seq, .ack = th->ack, .flags = th->flags, .wnd = th->wnd,
		        .len = len, .gso_size = gso_size},
		.what = what,
	};
	sn_trace_seg_opts(&ev.seg, &th->opts);
	stack_trace(st, &ev);
}

void tcp_trace_seg(struct sn_stack *st, enum sn_trace_kind kind, const struct sn_sock *s,
                   uint32_t saddr, uint32_t daddr, const struct sn_tcp *th, uint32_t len,
                   const char *what)
{
	if (st->trace_fn)
		trace_seg(st, kind, s, saddr, daddr, th, len, what, 0);
}

/*
 * Finish the segment whose header fields are in th and whose payload (len
 * bytes) is already in place after the header, and send it. gso_size is
 * set for a TSO super-segment (tcp_output): len bytes that the link cuts
 * into pieces of gso_size. The checksum is left to the netif when it offers
 * that (SN_NETIF_TX_CSUM: the pseudo-header sum goes in the field).
 * Statistics count the pieces, the segments the wire carries, as Linux's
 * OutSegs does (tcp_skb_pcount); the trace shows one segment, its length
 * and gso_size.
 */
static void tcp_emit_gso(struct sn_stack *st, struct sn_netif *nif, const struct sn_tuple *t,
                         const struct sn_tcp *th, size_t hlen, size_t len,
                         const struct sn_sock *s, uint16_t gso_size)
{
	uint8_t *seg = seg_buf(st);
	uint32_t hop;
	struct sn_netif *out = ipv4_out_netif(st, nif, t->raddr, &hop);
	if (out && (out->offload & SN_NETIF_TX_CSUM))
		sn_tcp_set_csum_partial(seg, hlen + len, t->laddr, t->raddr);
	else
		sn_tcp_set_csum(seg, hlen + len, t->laddr, t->raddr);
	unsigned segs = gso_size ? (unsigned)((len + gso_size - 1) / gso_size) : 1;
	STAT_ADD(st, tcp_tx, segs);
	if (gso_size)
		STAT_INC(st, tcp_tso_tx);
	if (th->flags & SN_TH_RST)
		STAT_INC(st, tcp_rst_tx);
	if (st->trace_fn)
		trace_seg(st, SN_TRACE_SEG_OUT, s, t->laddr, t->raddr, th, (uint32_t)len, NULL, gso_size);
	if (!out) {
		STAT_INC(st, ip_drop_no_route);
		return;
	}
	ipv4_send(st, out, hop, t->laddr, t->raddr, SN_IPPROTO_TCP, hlen + len, gso_size, segs);
}

static void tcp_emit(struct sn_stack *st, struct sn_netif *nif, const struct sn_tuple *t,
                     const struct sn_tcp *th, size_t hlen, size_t len, const struct sn_sock *s)
{
	tcp_emit_gso(st, nif, t, th, hlen, len, s, 0);
}

/* Past SYN-SENT topts says what both SYNs carried; before, only our offer. */
static bool opt_on(const struct sn_sock *s, unsigned opt)
{
	return s->state >= SN_SYN_RECEIVED && (s->topts & opt);
}

/* RFC 7323 5.4: a 1 ms clock, shifted by a per-connection offset so that
 * TSval does not tell the peer how long the host has been up. */
uint32_t tcp_ts_now(const struct sn_sock *s)
{
	return (uint32_t)(s->stack->now_us / 1000) + s->ts_offset;
}

/* RFC 7323 2.3: the shift we offer is the smallest with which the whole
 * buffer can be advertised. */
static uint8_t wscale_for(uint32_t space, uint32_t max)
{
	uint8_t sh = 0;
	while (sh < max && (65535ull << sh) < space)
		sh++;
	return sh;
}

void tcp_options_init(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	s->topts = 0;
	if (!st->cfg.no_wscale)
		s->topts |= SN_TCPI_OPT_WSCALE;
	if (!st->cfg.no_timestamps)
		s->topts |= SN_TCPI_OPT_TIMESTAMPS;
	if (!st->cfg.no_sack)
		s->topts |= SN_TCPI_OPT_SACK;
	/* A profile may size the shift for the largest buffer the system
	 * allows rather than this one (FreeBSD, Linux): what they offer. */
	uint32_t space = st->cfg.profile.wscale_space ? st->cfg.profile.wscale_space : s->rcv_buf.cap;
	s->rcv_wscale = wscale_for(space, st->cfg.wscale_max);
	s->snd_wscale = 0;
	s->ts_recent = 0;
	s->ts_recent_stamp = 0;
	/* ts_offset comes with the ISN (isn_generate). */
}

/* The window field for a window of wnd bytes: RFC 7323 2.3, shifted right.
 * tcp_rcv_window rounds to a multiple of the scale, so nothing is lost. */
static uint16_t wnd_field(const struct sn_sock *s, uint32_t wnd)
{
	if (s->state >= SN_SYN_RECEIVED)
		wnd >>= s->rcv_wscale;
	return wnd > 65535 ? 65535 : (uint16_t)wnd;
}

/* RFC 7323 3.2: once agreed, TSval and TSecr = TS.Recent in every segment. */
static void ts_opts(const struct sn_sock *s, struct sn_tcp_opts *o)
{
	if (!opt_on(s, SN_TCPI_OPT_TIMESTAMPS))
		return;
	o->has_ts = true;
	o->ts_val = tcp_ts_now(s);
	o->ts_ecr = s->ts_recent;
}

void tcp_send_raw(struct sn_stack *st, const struct sn_tuple *t, uint32_t seq, uint32_t ack,
                  uint8_t flags, uint32_t wnd, struct sn_sock *s)
{
	struct sn_tcp th = {
		.sport = t->lport, .dport = t->rport, .seq = seq, .ack = ack,
		.flags = flags, .wnd = wnd > 65535 ? 65535 : (uint16_t)wnd,
	};
	if (s) {
		th.wnd = wnd_field(s, wnd);
		/* Probes and ACKs MUST carry timestamps; RFC 7323 3.2 says a RST
		 * SHOULD, as Linux's do. */
		ts_opts(s, &th.opts);
		if (flags & SN_TH_ACK)
			s->last_ack_sent = ack;
	}
	size_t hlen = sn_tcp_emit(seg_buf(st), seg_room(st), &th, NULL);
	if (hlen)
		tcp_emit(st, s ? s->netif : NULL, t, &th, hlen, 0, s);
}

void tcp_send_tw_ack(struct sn_stack *st, const struct sn_tw *tw)
{
	uint32_t wnd = tw->wnd >> tw->rcv_wscale;
	struct sn_tcp th = {
		.sport = tw->t.lport, .dport = tw->t.rport, .seq = tw->snd_nxt, .ack = tw->rcv_nxt,
		.flags = SN_TH_ACK, .wnd = wnd > 65535 ? 65535 : (uint16_t)wnd,
	};
	if (tw->ts) {
		th.opts.has_ts = true;
		th.opts.ts_val = (uint32_t)(st->now_us / 1000) + tw->ts_offset;
		th.opts.ts_ecr = tw->ts_recent;
	}
	size_t hlen = sn_tcp_emit(seg_buf(st), seg_room(st), &th, NULL);
	if (hlen)
		tcp_emit(st, NULL, &tw->t, &th, hlen, 0, NULL);
}

/*
 * RFC 9293 3.10.7.1: a segment for a connection that does not exist. Never
 * answer a RST. If the ACK bit is off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>,
 * where SYN and FIN count in SEG.LEN; if it is on: <SEQ=SEG.ACK><CTL=RST>.
 */
void tcp_reply_rst(struct sn_stack *st, uint32_t saddr, uint32_t daddr, const struct sn_tcp *th,
                   size_t payload_len)
{
	if (th->flags & SN_TH_RST)
		return;
	struct sn_tuple t = {.laddr = daddr, .raddr = saddr, .lport = th->dport, .rport = th->sport};
	if (th->flags & SN_TH_ACK) {
		tcp_send_raw(st, &t, th->ack, 0, SN_TH_RST, 0, NULL);
	} else {
		tcp_send_raw(st, &t, 0, th->seq + tcp_seg_seqlen(th->flags, payload_len),
		             SN_TH_RST | SN_TH_ACK, 0, NULL);
	}
}

/* Our MSS to offer: what fits in the MTU of the interface we use, and no more
 * than TCP_MAXSEG, which tcp(7) says is also announced in the SYN. */
static uint16_t mss_offer(const struct sn_sock *s)
{
	uint16_t mtu = s->netif ? s->netif->mtu : 1500;
	uint16_t mss = (uint16_t)(mtu - SN_IPV4_HLEN - SN_TCP_HLEN);
	if (s->opt.user_mss && s->opt.user_mss < mss)
		mss = s->opt.user_mss;
	return mss;
}

/* The offer depends on the netif (set once, by connect or by the listener
 * for a child) and TCP_MAXSEG only, and is asked for a dozen times a
 * connection (every window computed, every send MSS): those who set either
 * call this, and s->mss_offer keeps the answer. */
void tcp_mss_offer_update(struct sn_sock *s)
{
	s->mss_offer = mss_offer(s);
}

uint16_t tcp_rcv_mss_offer(const struct sn_sock *s)
{
	return s->mss_offer ? s->mss_offer : mss_offer(s);
}

/*
 * The window to advertise, in bytes: the free receive buffer, at most what
 * the window field can say (65535 << our shift; with the shift at most 14,
 * under 2^30 as RFC 7323 2.3 requires). Three rules bend it:
 *  - never less than what we already promised: moving the right edge back is
 *    the "shrinking window" RFC 9293 3.8.6.2.2 tells us not to do;
 *  - receiver SWS avoidance, RFC 1122 4.2.3.3: move the right edge only by
 *    at least min(half the buffer, one MSS), so a slow reader does not invite
 *    a stream of tiny segments;
 *  - with window scaling the field carries wnd >> shift: round new space
 *    down to a multiple of the scale, but a promise up, so that what the
 *    peer reads back never ends before the edge it already has (RFC 7323
 *    2.4). Windows in SYN segments are not scaled (send_syn).
 */
uint32_t tcp_rcv_window(struct sn_sock *s)
{
	uint32_t free = sn_ring_space(&s->rcv_buf);
	if (s->state < SN_SYN_RECEIVED)
		return free > 65535 ? 65535 : free;
	uint32_t unit = 1u << s->rcv_wscale;
	uint32_t max = 65535u << s->rcv_wscale;
	if (free > max)
		free = max;
	uint32_t promised = tcp_rcv_offered(s);
	uint32_t wnd = promised;
	if (s->stack->cfg.profile.rcv_wnd_bsd) {
		/* BSD (tcp_output): offer all the free space whenever a segment
		 * goes out; the SWS rule only keeps a window smaller than a
		 * quarter of the buffer and one MSS shut. */
		if (free < s->rcv_buf.cap / 4 && free < tcp_rcv_mss_offer(s))
			free = 0;
		wnd = free & ~(unit - 1);
		if (wnd < promised)
			wnd = promised;
	} else if (free > promised) {
		uint32_t step = s->rcv_buf.cap / 2;
		uint32_t mss = tcp_rcv_mss_offer(s); /* the full-sized segment the peer may send */
		if (mss < step)
			step = mss;
		if (free - promised >= step)
			wnd = free & ~(unit - 1);
		if (wnd < promised)
			wnd = promised;
	}
	wnd = (wnd + unit - 1) & ~(unit - 1);
	return wnd > max ? max : wnd;
}

/* Largest payload per segment: the peer's MSS, our MTU, and TCP_MAXSEG. */
uint32_t tcp_send_mss(const struct sn_sock *s)
{
	uint32_t mss = s->peer_mss ? s->peer_mss : SN_TCP_DEFAULT_MSS;
	uint32_t mine = tcp_rcv_mss_offer(s);
	if (mine < mss)
		mss = mine;
	if (s->opt.user_mss && s->opt.user_mss < mss)
		mss = s->opt.user_mss;
	/* RFC 6691: the MSS counts no options; timestamps take 12 bytes of
	 * every segment (RFC 7323 3.2), so a full segment carries 12 fewer. */
	if (opt_on(s, SN_TCPI_OPT_TIMESTAMPS) && mss > 12 + 64)
		mss -= 12;
	return mss ? mss : 1;
}

void tcp_send_ack(struct sn_sock *s)
{
	s->flags |= SN_SF_ACK_NOW;
	tcb_want_output(s);
}

/*
 * Abort (RFC 9293 3.10.5, and close with unread data, 3.10.4 / RFC 2525
 * 2.17): <SEQ=SND.NXT><CTL=RST>. Once synchronized we also carry the ACK,
 * as Linux does, which makes the RST acceptable to an RFC 5961 receiver
 * regardless of what it last saw from us.
 */
void tcp_send_rst(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	if (s->state == SN_SYN_SENT)
		tcp_send_raw(st, &s->t, s->snd_nxt, 0, SN_TH_RST, 0, s);
	else
		tcp_send_raw(st, &s->t, s->snd_max, s->rcv_nxt, SN_TH_RST | SN_TH_ACK, 0, s);
}

/* A segment carrying our ACK is leaving: nothing is owed any more. */
static void sent_ack(struct sn_sock *s, uint32_t wnd)
{
	s->flags &= ~(SN_SF_ACK_NOW | SN_SF_DSACK | SN_SF_ACK_PLAIN);
	s->last_ack_sent = s->rcv_nxt;
	s->unacked_rcv = 0;
	sn_timer_stop(&s->stack->wheel, &s->delack_timer);
	if (sn_seq_gt(s->rcv_nxt + wnd, s->rcv_adv))
		s->rcv_adv = s->rcv_nxt + wnd;
}

/* Time this segment if nothing is being timed (RFC 6298 3: one at a time). */
static void rtt_start(struct sn_sock *s, uint32_t seq)
{
	if (s->flags & SN_SF_RTT_TIMING)
		return;
	s->flags |= SN_SF_RTT_TIMING;
	s->rtt_seq = seq;
	s->rtt_start_us = (uint32_t)s->stack->now_us;
}

static void send_syn(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	/* Past SYN-SENT it is a SYN-ACK, also when resent after a close in
	 * SYN-RECEIVED (see tcp_output). */
	bool synack = s->state != SN_SYN_SENT;
	/* RFC 7323 2.2: the window of a SYN is never scaled. */
	uint32_t wnd = sn_ring_space(&s->rcv_buf);
	if (wnd > 65535)
		wnd = 65535;
	struct sn_tcp th = {
		.sport = s->t.lport, .dport = s->t.rport, .seq = s->iss,
		.ack = synack ? s->rcv_nxt : 0,
		.flags = (uint8_t)(SN_TH_SYN | (synack ? SN_TH_ACK : 0)),
		.wnd = (uint16_t)wnd,
		.opts = {.has_mss = true, .mss = tcp_rcv_mss_offer(s)},
	};
	/* FreeBSD's syncache offers no more than the peer's MSS in its SYN-ACK. */
	if (synack && st->cfg.profile.synack_mss_min_peer && s->peer_mss &&
	    s->peer_mss < th.opts.mss)
		th.opts.mss = s->peer_mss;
	/* Our SYN offers what the config allows; a SYN-ACK carries what the
	 * peer's SYN offered too (topts is then the agreed set). RFC 7323 2.2
	 * and 3.2, RFC 2018 section 2. Window scale 0 is still sent, so that
	 * the peer may scale its own window. */
	if (s->topts & SN_TCPI_OPT_WSCALE) {
		th.opts.has_wscale = true;
		th.opts.wscale = s->rcv_wscale;
	}
	if (s->topts & SN_TCPI_OPT_SACK)
		th.opts.sack_permitted = true;
	if (s->topts & SN_TCPI_OPT_TIMESTAMPS) {
		th.opts.has_ts = true;
		th.opts.ts_val = tcp_ts_now(s);
		th.opts.ts_ecr = synack ? s->ts_recent : 0;
	}
	const char *order = st->cfg.profile.syn_opt_order[0] ? st->cfg.profile.syn_opt_order : NULL;
	size_t hlen = sn_tcp_emit(seg_buf(st), seg_room(st), &th, order);
	if (!hlen)
		return;
	s->snd_nxt = s->iss + 1;
	if (sn_seq_gt(s->snd_nxt, s->snd_max))
		s->snd_max = s->snd_nxt;
	if (s->syn_tries == 0) {
		rtt_start(s, s->iss);
	} else {
		/* Karn: once sent again (by the timer, or at once on the peer's
		 * repeated SYN) the ACK cannot tell which copy it answers. */
		s->flags &= ~SN_SF_RTT_TIMING;
		s->total_retrans++;
		STAT_INC(st, tcp_retrans);
	}
	s->syn_tries++;
	if (synack)
		sent_ack(s, wnd);
	if (!tcp_rexmt_armed(s))
		tcp_rexmt_arm(s);
	tcp_emit(st, s->netif, &s->t, &th, hlen, 0, s);
}

/*
 * RFC 2018 section 4: while out-of-order data is held, every ACK reports it,
 * the block holding the latest arrival first. With timestamps on (12 bytes)
 * three blocks fit in the 40 bytes of options, four without. A D-SACK block
 * (RFC 2883), when one is owed, goes before them.
 */
__attribute__((noinline)) static unsigned sack_blocks(const struct sn_sock *s,
                                                     struct sn_tcp_opts *o)
{
	unsigned max = o->has_ts ? 3 : SN_TCP_MAX_SACK, n = 0;
	/* RFC 2883: a duplicate just received is reported first, once. */
	if (s->flags & SN_SF_DSACK)
		o->sack[n++] = (struct sn_sack_block){s->dsack[0], s->dsack[1]};
	if (tcb_reass_held(s)) {
		uint32_t blocks[SN_TCP_MAX_SACK][2];
		unsigned k = sn_reass_sack_blocks(s->reass, blocks, max - n);
		for (unsigned i = 0; i < k; i++)
			o->sack[n++] = (struct sn_sack_block){blocks[i][0], blocks[i][1]};
	}
	o->num_sack = (uint8_t)n;
	return n;
}

/* Nearly always there is nothing to report: that test stays in line, the
 * blocks (and the registers their loop needs) out of it. */
static unsigned sack_opts(const struct sn_sock *s, struct sn_tcp_opts *o)
{
	if (!opt_on(s, SN_TCPI_OPT_SACK) || (!(s->flags & SN_SF_DSACK) && !tcb_reass_held(s)))
		return 0;
	return sack_blocks(s, o);
}

/* Options for the next segment (timestamps, SACK blocks) and the payload
 * room they leave: SACK blocks take it from the data, as the MSS excludes
 * options (RFC 6691); timestamps are already off full_mss. The SACK option
 * is NOP NOP, kind, length and 8 bytes a block in every layout we write. */
static uint32_t seg_opts(const struct sn_sock *s, struct sn_tcp_opts *opts, uint32_t full_mss,
                         unsigned *nsack)
{
	*opts = (struct sn_tcp_opts){0};
	ts_opts(s, opts);
	*nsack = sack_opts(s, opts);
	uint32_t extra = *nsack ? 4 + 8 * *nsack : 0;
	return full_mss > extra ? full_mss - extra : 1;
}

/*
 * Build and send one segment with our ACK, carrying len octets of the send
 * ring from seq, and our FIN if fin. Keeps the books: snd_max, RTT timing
 * (Karn: a segment sent again is never timed), the retransmission timer.
 * With gso_size, a TSO super-segment of len octets (tcp_output); the books
 * are the same as for its pieces sent one after the other: only the first
 * could have been timed, the rest extend snd_max. Returns false if the
 * segment could not be built.
 */
static bool send_seg(struct sn_sock *s, uint32_t seq, uint32_t len, bool fin,
                     const struct sn_tcp_opts *opts, unsigned nsack, uint16_t gso_size)
{
	struct sn_stack *st = s->stack;
	uint32_t wnd = tcp_rcv_window(s);
	uint32_t fin_seq = s->snd_buf_seq + sn_ring_used(&s->snd_buf);
	struct sn_tcp th = {
		.sport = s->t.lport, .dport = s->t.rport, .seq = seq,
		.ack = s->rcv_nxt, .flags = SN_TH_ACK, .wnd = wnd_field(s, wnd),
		.opts = *opts,
	};
	if (fin)
		th.flags |= SN_TH_FIN;
	/* PSH on the segment that empties what the application gave us. */
	if (len > 0 && seq + len == fin_seq)
		th.flags |= SN_TH_PSH;
	size_t hlen = sn_tcp_emit(seg_buf(st), seg_room(st), &th, NULL);
	if (!hlen)
		return false;
	if (len > 0)
		sn_ring_peek(&s->snd_buf, seq - s->snd_buf_seq, seg_buf(st) + hlen, len);
	if (len > 0 || fin) {
		if (sn_seq_lt(seq, s->snd_max)) {
			STAT_INC(st, tcp_retrans);
			s->total_retrans++;
			s->flags &= ~SN_SF_RTT_TIMING;
		} else if (!opt_on(s, SN_TCPI_OPT_TIMESTAMPS)) {
			/* With timestamps every ACK times itself (RFC 7323 4.1). */
			rtt_start(s, seq);
		}
		if (s->snd_una == s->snd_max)
			s->progress_ms = tcp_ms(st); /* the clock of TCP_USER_TIMEOUT starts */
		if (s->flags & SN_SF_SACK_RECOVERY)
			s->sack->prr_out += len + (fin ? 1 : 0); /* RFC 6937 */
		uint32_t end = seq + len + (fin ? 1 : 0);
		if (sn_seq_gt(end, s->snd_max))
			s->snd_max = end;
	}
	sent_ack(s, wnd);
	STAT_ADD(st, tcp_sack_blocks_sent, nsack);
	if ((len > 0 || fin) && !tcp_rexmt_armed(s))
		tcp_rexmt_arm(s);
	tcp_emit_gso(st, s->netif, &s->t, &th, hlen, len, s, gso_size);
	return true;
}

/*
 * Send again the sequence space [seq, seq + span), which lies below
 * snd_max: data, and the FIN if the span reaches it. Returns the octets of
 * sequence space sent, 0 if none.
 */
static uint32_t resend(struct sn_sock *s, uint32_t seq, uint32_t span, uint32_t mss)
{
	uint32_t fin_seq = s->snd_buf_seq + sn_ring_used(&s->snd_buf);
	bool fin_sent = (s->flags & SN_SF_FIN_QUEUED) && sn_seq_gt(s->snd_max, fin_seq);
	struct sn_tcp_opts opts;
	unsigned nsack;
	uint32_t room = seg_opts(s, &opts, mss, &nsack);
	if (span > room)
		span = room;
	uint32_t len = span;
	bool fin = false;
	if (fin_sent && sn_seq_geq(seq + span, fin_seq + 1)) {
		len = fin_seq - seq;
		fin = true;
	}
	if (!send_seg(s, seq, len, fin, &opts, nsack, 0))
		return 0;
	STAT_INC(s->stack, tcp_fast_retrans);
	return len + (fin ? 1 : 0);
}

/*
 * RFC 6675 5 (C): while cwnd - pipe >= 1 SMSS, send what NextSeg says:
 * (1) the lowest lost hole not yet resent, (2) new data, (3) the lowest
 * hole not yet resent, (4) once per recovery, the highest unSACKed
 * segment (the rescue: it makes the receiver tell us about the tail).
 */
static void sack_recovery_output(struct sn_sock *s, uint32_t mss, bool allow_new)
{
	struct sn_sackboard *b = &s->sack->board;
	for (;;) {
		uint32_t pipe = sn_sack_pipe(b, s->snd_una, s->snd_max, s->sack->high_rxt, mss);
		if (pipe + mss > s->cwnd)
			break;
		uint32_t seq, span, sent;
		if (sn_sack_next_hole(b, s->snd_una, s->sack->high_rxt, mss, true, &seq, &span)) {
			sent = resend(s, seq, span, mss);
			s->sack->high_rxt = seq + sent;
		} else if (allow_new && s->snd_nxt == s->snd_max &&
		           sn_ring_used(&s->snd_buf) > s->snd_max - s->snd_buf_seq &&
		           sn_seq_gt(s->snd_una + s->snd_wnd, s->snd_max)) {
			return; /* rule 2: new data goes by the ordinary path, within pipe */
		} else if (sn_sack_next_hole(b, s->snd_una, s->sack->high_rxt, mss, false, &seq, &span)) {
			sent = resend(s, seq, span, mss);
			s->sack->high_rxt = seq + sent;
		} else if (sn_seq_gt(s->snd_una, s->sack->rescue_rxt) &&
		           sn_seq_gt(s->snd_max, sn_sack_high(b, s->snd_una))) {
			/* Rule 4: the highest unSACKed octets are at the top. */
			span = s->snd_max - sn_sack_high(b, s->snd_una);
			if (span > mss)
				span = mss;
			sent = resend(s, s->snd_max - span, span, mss);
			s->sack->rescue_rxt = s->recover;
			STAT_INC(s->stack, tcp_sack_rescue);
		} else {
			break;
		}
		if (sent == 0)
			break;
	}
}

/*
 * Octets of new sequence space cwnd lets us send beyond snd_nxt. Outside
 * SACK recovery the network holds snd_nxt - SND.UNA (FlightSize; in NewReno
 * recovery cwnd is inflated to allow for what has left it); during SACK
 * recovery it holds pipe. Limited transmit (RFC 3042): each of the first
 * two duplicate ACKs lets one more segment out.
 */
static uint32_t cwnd_allowance(const struct sn_sock *s, uint32_t mss)
{
	uint32_t flight = s->snd_nxt - s->snd_una;
	uint32_t limit = s->cwnd;
	if (s->flags & SN_SF_SACK_RECOVERY)
		flight = sn_sack_pipe(&s->sack->board, s->snd_una, s->snd_max, s->sack->high_rxt, mss);
	else if (!(s->flags & SN_SF_RECOVERY) && s->dupacks > 0 && s->dupacks < SN_SACK_DUPTHRESH &&
	         s->snd_nxt == s->snd_max)
		limit += s->dupacks * mss;
	return limit > flight ? limit - flight : 0;
}

/*
 * TCP segmentation offload (SN_NETIF_TSO): how long a segment whose first
 * piece is a full mss octets at snd_nxt may grow, so that its pieces are
 * exactly the segments tcp_output's loop would have sent one after the
 * other. room is what the send ring, the peer's window and cwnd allow from
 * snd_nxt (each piece uses up as much of the window and of cwnd as of the
 * ring), avail what the ring holds, max the most data the netif takes.
 * Full pieces while room and max hold one; then a last, short piece if the
 * loop would have let it go: it would not start an idle connection (what
 * precedes it is in flight), so only the persist override, TCP_NODELAY or
 * a FIN behind it (with all that is queued), or the half-the-largest-window
 * rule let it out (RFC 1122 4.2.3.4, RFC 896), as they do in the loop.
 */
static uint32_t tso_len(const struct sn_sock *s, uint32_t mss, uint32_t room, uint32_t avail,
                        uint32_t max, bool fin_due)
{
	uint32_t len = mss;
	while (len + mss <= max && room - len >= mss)
		len += mss;
	uint32_t rest = room - len;
	if (rest == 0 || rest >= mss || len + rest > max)
		return len;
	bool all = rest == avail - len;
	bool ok = (s->flags & SN_SF_FORCE) || (all && ((s->flags & SN_SF_NODELAY) || fin_due)) ||
	          (s->max_snd_wnd > 0 && rest >= s->max_snd_wnd / 2);
	return ok ? len + rest : len;
}

/* May a FIN be sent in this state once the data before it is out? */
static bool fin_state(int state)
{
	return state == SN_FIN_WAIT_1 || state == SN_CLOSING || state == SN_LAST_ACK;
}

void tcp_output(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	switch (s->state) {
	case SN_CLOSED:
	case SN_LISTEN:
	case SN_TIME_WAIT:
		return;
	case SN_SYN_SENT:
	case SN_SYN_RECEIVED:
		/* Nothing but the SYN until the handshake completes. A simultaneous
		 * open's SYN-ACK goes back to the start the same way. */
		if (s->snd_nxt == s->iss)
			send_syn(s);
		else if (s->flags & SN_SF_ACK_NOW && s->state == SN_SYN_RECEIVED) {
			/* The peer missed our SYN-ACK; say it again, and let the
			 * timer count from this resend (as Linux does). */
			send_syn(s);
			tcp_rexmt_arm(s);
		}
		return;
	default:
		break;
	}
	/* Closed in SYN-RECEIVED (RFC 9293 3.10.4: the FIN goes at once) before
	 * our SYN was acknowledged: a retransmission timeout rewinds to ISS, and
	 * the SYN-ACK must go again before the FIN can. */
	if (!(s->flags & SN_SF_EVER_CONNECTED) && s->snd_nxt == s->iss)
		send_syn(s);

	uint32_t full_mss = tcp_send_mss(s);

	/* Loss recovery first (loss.c): the segment at SND.UNA that fast
	 * retransmit or a partial ACK asked for, whatever cwnd says (RFC 5681
	 * 3.2, RFC 6582, RFC 6675 5 (4.3)); then, with SACK, the holes. */
	if (s->flags & SN_SF_REXMT_UNA) {
		s->flags &= ~SN_SF_REXMT_UNA;
		uint32_t span = s->snd_max - s->snd_una;
		if (s->sack)
			span = sn_sack_next_start(&s->sack->board, s->snd_una, s->snd_max) - s->snd_una;
		uint32_t sent = span ? resend(s, s->snd_una, span, full_mss) : 0;
		if (sent && (s->flags & SN_SF_SACK_RECOVERY)) {
			s->sack->high_rxt = sn_seq_max(s->sack->high_rxt, s->snd_una + sent);
			s->sack->rescue_rxt = s->snd_una + sent;
		}
	}
	if (s->flags & SN_SF_SACK_RECOVERY)
		sack_recovery_output(s, full_mss, true);

	/* Then new data: from snd_nxt, within the peer's window and cwnd. After
	 * a timeout snd_nxt is back at SND.UNA and this resends, in slow start
	 * from one segment, skipping what the scoreboard says the peer holds. */
	bool waiting = false; /* data or our FIN not sent when we stop */
	/* RFC 5681 4.1: after an idle period longer than the RTO the ACK
	 * clock is gone; new data starts again from the initial window. */
	if (s->snd_una == s->snd_max && sn_ring_used(&s->snd_buf) > s->snd_max - s->snd_buf_seq &&
	    (uint64_t)tcp_ms_since(st, s->progress_ms) * 1000 > s->rtt.rto_us)
		tcp_cc_idle_restart(s);
	/* The most data a super-segment may carry: the netif's limit less the
	 * largest IPv4 and TCP headers; 0 without TSO. */
	uint32_t hop, tso_max = 0;
	struct sn_netif *out = ipv4_out_netif(st, s->netif, s->t.raddr, &hop);
	if (out && (out->offload & SN_NETIF_TSO) && out->tso_max > SN_IPV4_HLEN + SN_TCP_HLEN + 40)
		tso_max = out->tso_max - (SN_IPV4_HLEN + SN_TCP_HLEN + 40);
	for (;;) {
		struct sn_tcp_opts opts;
		unsigned nsack;
		uint32_t mss = seg_opts(s, &opts, full_mss, &nsack);
		bool recovering = sn_seq_lt(s->snd_nxt, s->snd_max);
		if (recovering && s->sack) {
			uint32_t end;
			while (sn_seq_lt(s->snd_nxt, s->snd_max) && sn_sack_has(&s->sack->board, s->snd_nxt, &end))
				s->snd_nxt = sn_seq_min(end, s->snd_max);
			recovering = sn_seq_lt(s->snd_nxt, s->snd_max);
		}
		uint32_t used = sn_ring_used(&s->snd_buf);
		uint32_t off = s->snd_nxt - s->snd_buf_seq;
		uint32_t avail = sn_seq_lt(s->snd_nxt, s->snd_buf_seq) ? 0 : (off < used ? used - off : 0);
		if (recovering && s->sack) {
			uint32_t next = sn_sack_next_start(&s->sack->board, s->snd_nxt, s->snd_max);
			if (next - s->snd_nxt < avail)
				avail = next - s->snd_nxt;
		}
		uint32_t wnd_edge = s->snd_una + s->snd_wnd;
		uint32_t usable = sn_seq_gt(wnd_edge, s->snd_nxt) ? wnd_edge - s->snd_nxt : 0;
		uint32_t allowed = cwnd_allowance(s, full_mss);
		if (allowed < usable)
			usable = allowed;
		uint32_t room = avail < usable ? avail : usable;
		uint32_t len = room < mss ? room : mss;
		uint32_t fin_seq = s->snd_buf_seq + used;
		bool fin_due = (s->flags & SN_SF_FIN_QUEUED) && fin_state(s->state) &&
		               sn_seq_leq(s->snd_nxt, fin_seq);
		/* The FIN takes no room in the window, but cwnd must allow
		 * something: after a timeout it goes only when its turn comes. */
		bool fin = fin_due && s->snd_nxt + len == fin_seq && (len > 0 || allowed > 0);
		if (len > 0 && len < mss && !recovering && !(s->flags & SN_SF_FORCE)) {
			/* RFC 1122 4.2.3.4 (sender SWS avoidance) with Nagle's rule
			 * (RFC 896): a short segment goes only if it carries all
			 * that is queued and nothing is in flight (or TCP_NODELAY,
			 * or it ends with our FIN), or if it is at least half the
			 * largest window the peer has offered. */
			bool all = len == avail;
			bool idle = s->snd_nxt == s->snd_una;
			bool ok = (all && (idle || (s->flags & SN_SF_NODELAY) || fin_due)) ||
			          (s->max_snd_wnd > 0 && len >= s->max_snd_wnd / 2);
			if (!ok) {
				len = 0;
				fin = false;
			}
		}
		if (len == 0 && !fin && !(s->flags & SN_SF_ACK_NOW)) {
			waiting = avail > 0 || fin_due;
			break;
		}
		/* TSO: one segment of several MSS instead of several, when the
		 * first is full and the rest would follow it at once. Not while
		 * anything makes segments differ from one to the next: SACK
		 * blocks (a D-SACK goes on the first only), loss recovery and
		 * its go-back (retransmissions stay MSS-sized), limited
		 * transmit (one segment per duplicate ACK). */
		uint16_t gso = 0;
		if (tso_max && len == mss && !fin && !recovering && nsack == 0 && s->dupacks == 0 &&
		    !(s->flags & (SN_SF_RECOVERY | SN_SF_SACK_RECOVERY))) {
			uint32_t total = tso_len(s, mss, room, avail, tso_max, fin_due);
			if (total > len) {
				len = total;
				gso = (uint16_t)mss;
				fin = fin_due && s->snd_nxt + len == fin_seq;
			}
		}
		if (len > 0 && !recovering && !(s->flags & SN_SF_RECOVERY) && s->dupacks > 0 &&
		    s->snd_nxt + len - s->snd_una > s->cwnd)
			STAT_INC(st, tcp_limited_transmit);
		/* A bare ACK carries the next unsent octet, not snd_nxt: after a
		 * timeout snd_nxt is back at snd_una, below what the peer may
		 * already hold, and an ACK numbered there would fail the peer's
		 * sequence check and be thrown away with the news it carries
		 * (as BSD's tcp_output says). */
		uint32_t seq = (len == 0 && !fin) ? s->snd_max : s->snd_nxt;
		if (len == 0 && !fin && st->cfg.profile.ack_resends_fin &&
		    !(s->flags & SN_SF_ACK_PLAIN) && (s->flags & SN_SF_FIN_QUEUED) &&
		    fin_state(s->state) && s->snd_max == fin_seq + 1 &&
		    sn_seq_leq(s->snd_una, fin_seq)) {
			/* The freebsd profile: BSD's tcp_output puts our FIN,
			 * sent and not yet acknowledged, on any ACK it sends. */
			send_seg(s, fin_seq, 0, true, &opts, nsack, 0);
			break;
		}
		if (!send_seg(s, seq, len, fin, &opts, nsack, gso))
			break;
		s->snd_nxt += len + (fin ? 1 : 0);
		if (fin)
			break;
	}
	if (s->flags & SN_SF_SACK_RECOVERY)
		sack_recovery_output(s, full_mss, false);
	/* The persist timer's override is good for this pass only. */
	s->flags &= ~SN_SF_FORCE;
	/* Data that the window (or SWS avoidance) holds back while no
	 * retransmission timer runs would wait forever for an ACK that never
	 * comes: probe. That is nothing in flight, or a window the peer shrank
	 * below what is in flight, so that a timeout had nothing it could send
	 * (RFC 9293 3.8.6.2.1: be robust against shrinking windows). */
	tcp_persist_update(s, waiting && !tcp_rexmt_armed(s));
}
