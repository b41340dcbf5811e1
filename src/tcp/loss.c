/*
 * loss.c - finding lost segments and recovering from them, on the sender.
 *
 * Three ways a loss shows itself, and what we do:
 *
 *   duplicate ACKs   The receiver repeats its cumulative ACK for every
 *                    segment that arrives past a hole (RFC 5681 2). The
 *                    first two may be reordering: each lets one new segment
 *                    out beyond cwnd (limited transmit, RFC 3042), keeping
 *                    the ACK clock running. The third starts fast
 *                    retransmit and fast recovery.
 *   SACK blocks      With SACK agreed, the scoreboard (sack.c) says exactly
 *                    which octets the receiver holds; recovery starts as
 *                    soon as an octet counts as lost (RFC 6675 IsLost),
 *                    which may be before the third duplicate.
 *   the RTO          Nothing came back at all (timer.c): cwnd drops to one
 *                    segment and slow start resends from SND.UNA, skipping
 *                    what the scoreboard says the peer has (RFC 5681 3.1,
 *                    RFC 6675 5.1).
 *
 * Fast recovery comes in two forms, chosen when it starts:
 *
 *   NewReno (RFC 5681 3.2, RFC 6582), without SACK information: resend
 *     the first unacknowledged segment, set cwnd = ssthresh + 3 SMSS and
 *     inflate it by one SMSS per further duplicate, since each means a
 *     segment has left the network. A partial ACK (new data acknowledged,
 *     but not everything that was outstanding when recovery began) means
 *     the next segment was lost too: resend it at once and deflate cwnd by
 *     the amount acknowledged, so several losses in one window are repaired
 *     without waiting for the RTO. (The retransmission timer is restarted
 *     by every partial ACK: the "slow but steady" variant of RFC 6582 4.)
 *   SACK (RFC 6675): what may be sent is cwnd minus pipe, the
 *     scoreboard's estimate of what is still in the network; output.c
 *     asks NextSeg for the next octets: lost holes first, then new data,
 *     then holes not yet proven lost, then one "rescue" retransmission of
 *     the tail. cwnd itself follows Proportional Rate Reduction (RFC 6937):
 *     while pipe is above ssthresh, each ACK lets out ssthresh / RecoverFS
 *     of what it reports delivered, so the window comes down to ssthresh
 *     smoothly over one round trip instead of in one step, which would
 *     stop sending for half a round trip and then burst; once pipe is
 *     below ssthresh, slow start's pace (PRR-SSRB) brings it back up.
 *
 * Either ends when SND.UNA passes recover, the highest octet sent when it
 * began. After a timeout, recover is set to SND.MAX too, so the duplicate
 * ACKs that the go-back retransmissions provoke do not start a second,
 * spurious reduction (RFC 6582 3.2 step 2).
 */
#include <stdlib.h>

#include "core.h"
#include "tcp/seq.h"

static bool sack_on(const struct sn_sock *s)
{
	return (s->topts & SN_TCPI_OPT_SACK) != 0;
}

/* RFC 2018: record the peer's SACK blocks. Returns true if any of them
 * reported octets we did not know the peer held. */
static bool sack_update(struct sn_sock *s, const struct sn_tcp *th)
{
	struct sn_stack *st = s->stack;
	if (!sack_on(s) || th->opts.num_sack == 0)
		return false;
	STAT_ADD(st, tcp_sack_blocks_rcvd, th->opts.num_sack);
	if (!s->sack) {
		s->sack = calloc(1, sizeof(*s->sack));
		if (!s->sack)
			return false; /* recovery then works as without SACK */
	}
	bool news = false;
	for (unsigned i = 0; i < th->opts.num_sack; i++)
		news |= sn_sack_add(&s->sack->board, th->opts.sack[i].left, th->opts.sack[i].right,
		                    s->snd_una, s->snd_max);
	return news;
}

/*
 * RFC 6937 3, on every ACK of a SACK recovery: delivered octets (SND.UNA's
 * advance plus newly SACKed ones) earn sending; cwnd = pipe + sndcnt.
 */
static void prr_ack(struct sn_sock *s, int64_t delivered, uint32_t mss)
{
	if (delivered < 0)
		delivered = 0; /* a reneging receiver: nothing was delivered */
	s->sack->prr_delivered += (uint32_t)delivered;
	uint32_t pipe = sn_sack_pipe(&s->sack->board, s->snd_una, s->snd_max, s->sack->high_rxt, mss);
	int64_t sndcnt;
	if (pipe > s->ssthresh) {
		/* Proportional: sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out. */
		uint64_t fs = s->sack->recover_fs ? s->sack->recover_fs : 1;
		int64_t allowed = (int64_t)(((uint64_t)s->sack->prr_delivered * s->ssthresh + fs - 1) / fs);
		sndcnt = allowed - (int64_t)s->sack->prr_out;
	} else {
		/* PRR-SSRB: catch up towards ssthresh, at most what was
		 * delivered (and not yet matched by sending) plus one SMSS. */
		int64_t limit = (int64_t)s->sack->prr_delivered - (int64_t)s->sack->prr_out;
		if (limit < delivered)
			limit = delivered;
		limit += mss;
		sndcnt = (int64_t)s->ssthresh - (int64_t)pipe;
		if (sndcnt > limit)
			sndcnt = limit;
	}
	if (sndcnt < 0)
		sndcnt = 0;
	s->cwnd = pipe + (uint32_t)sndcnt;
}

static void enter_recovery(struct sn_sock *s, uint32_t mss)
{
	struct sn_stack *st = s->stack;
	STAT_INC(st, tcp_fast_recoveries);
	tcp_cc_congestion(s, SN_CC_FAST_RETRANSMIT);
	s->recover = s->snd_max;
	s->flags |= SN_SF_RECOVERY | SN_SF_REXMT_UNA;
	if (s->sack && s->sack->board.n > 0) {
		/* RFC 6675 5 with PRR (RFC 6937) in place of its cwnd = ssthresh;
		 * the caller counts this ACK's delivery (prr_ack). */
		s->flags |= SN_SF_SACK_RECOVERY;
		s->sack->high_rxt = s->snd_una;
		s->sack->rescue_rxt = s->snd_una;
		s->sack->prr_delivered = 0;
		s->sack->prr_out = 0;
		s->sack->recover_fs = s->snd_max - s->snd_una;
	} else {
		/* RFC 5681 3.2 step 4: the three duplicates are three segments
		 * that left the network. */
		s->cwnd = s->ssthresh + 3 * mss;
	}
	tcb_want_output(s);
}

static void exit_recovery(struct sn_sock *s, uint32_t mss)
{
	if (s->flags & SN_SF_SACK_RECOVERY) {
		s->cwnd = s->ssthresh;
	} else {
		/* RFC 6582 3.2 step 3, the first option: deflate to ssthresh,
		 * but not so far that a burst follows if little is in flight. */
		uint32_t flight = tcp_flight_size(s);
		uint32_t w = (flight > mss ? flight : mss) + mss;
		s->cwnd = w < s->ssthresh ? w : s->ssthresh;
	}
	s->flags &= ~(SN_SF_RECOVERY | SN_SF_SACK_RECOVERY | SN_SF_REXMT_UNA);
}

void tcp_loss_ack(struct sn_sock *s, const struct sn_tcp *th, size_t len, uint32_t prior_una,
                  uint32_t prior_wnd, uint32_t rtt_us)
{
	uint32_t mss = tcp_send_mss(s);
	uint32_t acked = s->snd_una - prior_una;
	uint32_t prior_flight = s->snd_max - prior_una;
	uint32_t cwnd0 = s->cwnd, ssthresh0 = s->ssthresh;
	const char *why = "ack";

	uint32_t sacked0 = s->sack ? s->sack->board.sacked : 0;
	bool sack_news = sack_update(s, th);
	if (acked > 0 && s->sack)
		sn_sack_trim(&s->sack->board, s->snd_una);
	/* RFC 6937 DeliveredData: what SND.UNA passed plus what is newly
	 * SACKed (SACKed octets SND.UNA passed are counted once). */
	int64_t delivered = (int64_t)acked + (s->sack ? (int64_t)s->sack->board.sacked - sacked0 : 0);

	/* RFC 5681 2: a duplicate ACK acknowledges nothing new, carries no
	 * data, SYN or FIN, arrives while data is outstanding, and leaves the
	 * window as it was. With SACK blocks on it, it counts if it reports
	 * something new (RFC 6675 2), whatever the window did. */
	bool dup = false;
	if (acked == 0 && prior_flight > 0 && len == 0 &&
	    !(th->flags & (SN_TH_SYN | SN_TH_FIN))) {
		if (sack_on(s) && th->opts.num_sack > 0)
			dup = sack_news;
		else
			dup = s->snd_wnd == prior_wnd;
	}

	if (acked > 0) {
		s->dupacks = 0;
		if (s->flags & SN_SF_RECOVERY) {
			if (sn_seq_geq(s->snd_una, s->recover)) {
				exit_recovery(s, mss);
				why = "recovered";
			} else if (s->flags & SN_SF_SACK_RECOVERY) {
				prr_ack(s, delivered, mss);
			} else {
				/* RFC 6582 3.2 step 5: a partial ACK. The segment
				 * at the new SND.UNA is lost as well. */
				s->flags |= SN_SF_REXMT_UNA;
				s->cwnd = s->cwnd > acked ? s->cwnd - acked : 0;
				if (acked >= mss)
					s->cwnd += mss;
				if (s->cwnd < mss)
					s->cwnd = mss;
				why = "partial ack";
			}
			tcb_want_output(s);
		} else {
			tcp_cc_ack(s, acked, prior_flight, rtt_us, mss);
		}
		/* Keep recover just behind SND.UNA once it is passed, so that
		 * the test "SND.UNA > recover" stays meaningful however far the
		 * sequence numbers run. */
		if (sn_seq_gt(s->snd_una, s->recover))
			s->recover = s->snd_una - 1;
	} else if (dup) {
		if (s->dupacks < UINT8_MAX)
			s->dupacks++;
		if (s->flags & SN_SF_RECOVERY) {
			if (s->flags & SN_SF_SACK_RECOVERY)
				prr_ack(s, delivered, mss);
			else
				s->cwnd += mss; /* RFC 5681 3.2 step 5: inflate */
			tcb_want_output(s);
		} else if (sn_seq_gt(s->snd_una, s->recover) &&
		           (s->dupacks >= SN_SACK_DUPTHRESH ||
		            (s->sack && sn_sack_is_lost(&s->sack->board, s->snd_una, mss)))) {
			enter_recovery(s, mss);
			if (s->flags & SN_SF_SACK_RECOVERY)
				prr_ack(s, delivered, mss);
			why = "fast retransmit";
		} else if (s->dupacks < SN_SACK_DUPTHRESH) {
			tcb_want_output(s); /* limited transmit, RFC 3042 */
		}
	} else if (sack_news && (s->flags & SN_SF_SACK_RECOVERY)) {
		prr_ack(s, delivered, mss); /* pipe shrank */
		tcb_want_output(s);
	}

	/* (Tested here too: this runs for every ACK, traced or not.) */
	if (s->stack->trace_fn && (acked > 0 || s->cwnd != cwnd0 || s->ssthresh != ssthresh0))
		tcp_cc_trace(s, why);
}

void tcp_loss_rto(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	STAT_INC(st, tcp_rto_events);
	/* RFC 5681 3.1 eq. 4 (RFC 9438 4.8 for CUBIC): ssthresh only on the
	 * first timeout of a segment; later ones keep it. */
	if (s->rexmt_count == 0)
		tcp_cc_congestion(s, SN_CC_TIMEOUT);
	s->cwnd = tcp_send_mss(s); /* the loss window */
	s->bytes_acked = 0;
	s->dupacks = 0;
	s->flags &= ~(SN_SF_RECOVERY | SN_SF_SACK_RECOVERY | SN_SF_REXMT_UNA);
	s->recover = s->snd_max;
	if (s->sack)
		s->sack->high_rxt = s->snd_una;
	/* RFC 2018 8: a receiver may discard what it SACKed (renege). We keep
	 * believing it for one timeout, so the go-back skips what the peer
	 * holds; a second timeout in a row means the peer may not hold it,
	 * and the scoreboard is forgotten. */
	if (s->rexmt_count >= 1 && s->sack) {
		s->sack->board.n = 0;
		s->sack->board.sacked = 0;
	}
	tcp_cc_trace(s, "rto");
}

void tcp_loss_free(struct sn_sock *s)
{
	free(s->sack);
	s->sack = NULL;
}
