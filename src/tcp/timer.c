/*
 * timer.c - the per-connection timers. All of them live in the stack's timing
 * wheel (wheel.c), so arming and cancelling are O(1) and an idle connection
 * costs nothing per tick.
 *
 * A connection has three timers, not five: two pairs of timers never run
 * together, and each pair shares one struct sn_timer. Whichever of the pair
 * was armed last owns it, and says so by the function it is armed with
 * (t->fn, an index into tcp_timer_fns), which is also what runs on expiry;
 * nothing else records the role.
 *   rexmt_timer  rexmt, or persist: persist runs only while nothing the
 *                retransmission timer would watch is outstanding (it is
 *                armed only when that timer is not), and sending data arms
 *                rexmt over it. BSD and Linux also have one timer for both.
 *   delack_timer delack.
 *   keep_timer   keep, or fin2: an orphaned connection in FIN-WAIT-2 sends
 *                no keepalives (it has nothing to keep alive; Linux's
 *                keepalive timer does the FIN-WAIT-2 timeout the same way),
 *                so arming fin2 takes the timer over for good.
 *
 * rexmt  Retransmission. Armed when a segment that occupies sequence space
 *        (SYN, data, FIN) is sent and the timer is not already running;
 *        restarted when an ACK acknowledges new data and something is still
 *        outstanding; stopped when everything sent has been acknowledged
 *        (RFC 6298 5.1-5.3). On expiry: back off the RTO (5.5), go back to
 *        snd_una and send again (5.4). Gives up after syn_retries (SYN-SENT,
 *        reported as ETIMEDOUT), synack_retries (a half-open connection is
 *        silently dropped), or data_retries (ETIMEDOUT).
 *
 *        Karn's rule: a retransmitted segment is never timed, so the expiry
 *        also stops any RTT measurement in progress. With timestamps, it
 *        marks the clock: an echo older than that is not a sample. With TCP_USER_TIMEOUT
 *        set, the connection is dropped once SND.UNA has not moved for that
 *        long, and the timer never sleeps past that moment.
 *
 * delack Delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2). When in-order
 *        data arrives and no ACK is owed at once, armed at the end of that
 *        stack call if the ACK has not left by then (input.c, delack_hold);
 *        cancelled whenever any segment carrying the ACK leaves; on expiry
 *        the ACK is sent.
 *
 * persist Zero-window probing (RFC 9293 3.8.6.1) and the sender's SWS
 *        override (RFC 1122 4.2.3.4). Armed by tcp_output when data is
 *        waiting, nothing is in flight, and the window does not let it go;
 *        the interval starts at the RTO and doubles up to max_rto. On expiry:
 *        if some window is open, send what fits regardless of SWS; otherwise
 *        send a probe <SEQ=SND.UNA-1><ACK=RCV.NXT>, which any TCP answers
 *        with an ACK carrying its window. Probing never gives up while the
 *        peer answers (RFC 1122 4.2.2.17); after data_retries probes in a
 *        row go unanswered the peer is taken for gone, as the retransmission
 *        timer would (and as Linux does with tcp_retries2), and the
 *        connection is dropped with ETIMEDOUT. Cleared when the window opens,
 *        or replaced by rexmt when data is sent.
 *
 * keep   Keepalive (RFC 1122 4.2.3.6), only with SO_KEEPALIVE. Armed when
 *        the connection is established (or the option set) for keepidle;
 *        it does not move on every segment: on expiry it measures the idle
 *        time since the last segment received and sleeps again if there was
 *        traffic. When idle long enough and nothing is outstanding, it sends a
 *        probe <SEQ=SND.UNA-1><ACK=RCV.NXT> every keepintvl; after keepcnt
 *        unanswered probes the connection is reset with ETIMEDOUT.
 *
 * fin2   Orphaned FIN-WAIT-2. Once the application has closed its handle and
 *        our FIN is acknowledged, nothing obliges the peer ever to send its
 *        FIN. Armed on entering FIN-WAIT-2 without a handle (after the rest
 *        of that segment, whose FIN may end FIN-WAIT-2 at once; or on closing
 *        the handle there) for fin_wait2_timeout_ms; cleared when the connection
 *        leaves FIN-WAIT-2; on expiry the connection is dropped. It replaces
 *        a running keepalive.
 *
 * Stopping a timer (sn_timer_stop) only disarms it: it stays where it hangs
 * in the wheel, and arming it again for the same tick or a later one, as the
 * next segment usually does, writes the new expiry and nothing else (the lazy
 * moves of wheel.h). So does restarting rexmt on every ACK. Only
 * tcp_timers_stop takes the three off the wheel for good, with
 * sn_timer_cancel; it runs before a socket is freed (tcb_destroy).
 *
 * TIME-WAIT does not use the wheel: see struct sn_tw in core.h.
 */
#include <errno.h>

#include "core.h"
#include "tcp/seq.h"

static void trace_timer(struct sn_sock *s, const char *what)
{
	if (!s->stack->trace_fn)
		return;
	struct sn_trace_event ev = {
		.kind = SN_TRACE_TIMER, .now_us = s->stack->now_us, .sock = s, .what = what,
	};
	ev.seg.saddr = s->t.laddr;
	ev.seg.daddr = s->t.raddr;
	ev.seg.sport = s->t.lport;
	ev.seg.dport = s->t.rport;
	stack_trace(s->stack, &ev);
}

static bool user_timeout_over(const struct sn_sock *s)
{
	return s->opt.user_timeout_ms &&
	       tcp_ms_since(s->stack, s->progress_ms) >= s->opt.user_timeout_ms;
}

static void rexmt_expired(struct sn_timer *t, uint64_t now_us)
{
	struct sn_sock *s = SN_CONTAINER_OF(t, struct sn_sock, rexmt_timer);
	struct sn_stack *st = s->stack;
	trace_timer(s, "rexmt");

	switch (s->state) {
	case SN_SYN_SENT:
		if (s->syn_tries > st->cfg.syn_retries) {
			STAT_INC(st, tcp_attempt_fails);
			tcb_close(s, ETIMEDOUT);
			return;
		}
		STAT_INC(st, tcp_syn_retrans);
		break;
	case SN_SYN_RECEIVED:
		if (s->syn_tries > st->cfg.synack_retries) {
			if (s->flags & SN_SF_PASSIVE) {
				/* The half-open lifetime is over: forget it quietly, as
				 * if the SYN had never come. */
				STAT_INC(st, tcp_halfopen_expired);
				tcb_close(s, 0);
			} else {
				STAT_INC(st, tcp_attempt_fails);
				tcb_close(s, ETIMEDOUT);
			}
			return;
		}
		STAT_INC(st, tcp_synack_retrans);
		break;
	default:
		if (s->rexmt_count >= st->cfg.data_retries || user_timeout_over(s)) {
			STAT_INC(st, tcp_timeouts);
			tcb_close(s, ETIMEDOUT);
			return;
		}
		tcp_loss_rto(s); /* cwnd to one segment, ssthresh (loss.c) */
		break;
	}
	s->rexmt_count++;
	s->flags &= ~SN_SF_RTT_TIMING; /* Karn: what is sent again is not timed */
	/* With timestamps, echoes older than this moment measure our timer,
	 * not the path (input.c, ts_rtt_sample). */
	s->ts_rexmt = tcp_ts_now(s);
	s->flags |= SN_SF_TS_REXMT;
	sn_rtt_backoff(&s->rtt, &st->rto);
	/* Go back to the oldest unacknowledged octet, RFC 6298 5.4. */
	s->snd_nxt = s->snd_una;
	tcb_want_output(s);
}

static void fin2_expired(struct sn_timer *t, uint64_t now_us)
{
	struct sn_sock *s = SN_CONTAINER_OF(t, struct sn_sock, keep_timer);
	trace_timer(s, "fin_wait_2");
	if (s->state == SN_FIN_WAIT_2)
		tcb_close(s, 0);
}

void tcp_rtt_init(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	sn_rtt_init(&s->rtt, &st->rto, st->cfg.initial_rto_ms * 1000u);
}

static void delack_expired(struct sn_timer *t, uint64_t now_us)
{
	struct sn_sock *s = SN_CONTAINER_OF(t, struct sn_sock, delack_timer);
	trace_timer(s, "delack");
	STAT_INC(s->stack, tcp_delayed_acks);
	tcp_send_ack(s);
}

void tcp_delack_arm(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	if (!sn_timer_armed(&s->delack_timer))
		sn_timer_arm(&st->wheel, &s->delack_timer,
		             st->now_us + (uint64_t)st->cfg.delack_ms * 1000);
}

static uint64_t persist_interval(const struct sn_sock *s)
{
	uint64_t max = (uint64_t)s->stack->cfg.max_rto_ms * 1000;
	uint64_t t = (uint64_t)s->rtt.base_us << (s->persist_backoff > 20 ? 20 : s->persist_backoff);
	return t > max ? max : t;
}

static void persist_expired(struct sn_timer *t, uint64_t now_us)
{
	struct sn_sock *s = SN_CONTAINER_OF(t, struct sn_sock, rexmt_timer);
	struct sn_stack *st = s->stack;
	trace_timer(s, "persist");
	if (s->persist_backoff < 30)
		s->persist_backoff++;
	uint32_t edge = s->snd_una + s->snd_wnd;
	if (sn_seq_gt(edge, s->snd_nxt)) {
		/* Some window is open but SWS avoidance held the data back:
		 * send what fits now (RFC 1122 4.2.3.4, the override). */
		s->flags |= SN_SF_FORCE;
	} else {
		/* Any segment from the peer clears keep_probes (input.c). */
		if (s->keep_probes >= st->cfg.data_retries) {
			STAT_INC(st, tcp_timeouts);
			tcb_close(s, ETIMEDOUT);
			return;
		}
		if (s->keep_probes < UINT8_MAX)
			s->keep_probes++;
		STAT_INC(st, tcp_persist_probes);
		tcp_send_raw(st, &s->t, s->snd_una - 1, s->rcv_nxt, SN_TH_ACK, tcp_rcv_window(s), s);
	}
	/* tcp_output re-arms us (with the new back-off) if still needed. */
	tcb_want_output(s);
}

/* Called by tcp_output: is data waiting on a window that will not let it go?
 * Only asked while the retransmission timer is not running (tcp_output). */
void tcp_persist_update(struct sn_sock *s, bool needed)
{
	struct sn_stack *st = s->stack;
	bool persisting = sn_timer_armed(&s->rexmt_timer) && s->rexmt_timer.fn == TCP_TIMER_PERSIST;
	if (!needed) {
		if (persisting)
			sn_timer_stop(&st->wheel, &s->rexmt_timer);
		s->persist_backoff = 0;
		return;
	}
	if (!persisting) {
		s->rexmt_timer.fn = TCP_TIMER_PERSIST;
		sn_timer_arm(&st->wheel, &s->rexmt_timer, st->now_us + persist_interval(s));
	}
}

static bool keepalive_state(int state)
{
	return state == SN_ESTABLISHED || state == SN_CLOSE_WAIT || state == SN_FIN_WAIT_1 ||
	       state == SN_FIN_WAIT_2 || state == SN_CLOSING || state == SN_LAST_ACK;
}

static void keep_expired(struct sn_timer *t, uint64_t now_us)
{
	struct sn_sock *s = SN_CONTAINER_OF(t, struct sn_sock, keep_timer);
	struct sn_stack *st = s->stack;
	if (!(s->flags & SN_SF_KEEPALIVE) || !keepalive_state(s->state))
		return;
	uint32_t idle_ms = s->opt.keepidle_s * 1000u;
	uint64_t intvl_us = (uint64_t)s->opt.keepintvl_s * 1000000;
	/* Data in flight or waiting: the retransmission and persist timers
	 * already watch the peer (and the persist timer counts its unanswered
	 * probes in keep_probes, so leave it alone). */
	if (s->snd_una != s->snd_max || sn_ring_used(&s->snd_buf) > 0) {
		sn_timer_arm(&st->wheel, &s->keep_timer, st->now_us + (uint64_t)idle_ms * 1000);
		return;
	}
	/* Heard from the peer since we last looked (input clears keep_probes):
	 * sleep until the idle time has passed since then. */
	if (s->keep_probes == 0 && tcp_ms_since(st, s->last_rcv_ms) < idle_ms) {
		sn_timer_arm(&st->wheel, &s->keep_timer,
		             tcp_ms_when_us(st, s->last_rcv_ms, idle_ms));
		return;
	}
	trace_timer(s, "keepalive");
	if (s->keep_probes >= s->opt.keepcnt) {
		STAT_INC(st, tcp_keepalive_drops);
		tcp_send_rst(s);
		tcb_close(s, ETIMEDOUT);
		return;
	}
	s->keep_probes++;
	STAT_INC(st, tcp_keepalive_probes);
	tcp_send_raw(st, &s->t, s->snd_una - 1, s->rcv_nxt, SN_TH_ACK, tcp_rcv_window(s), s);
	sn_timer_arm(&st->wheel, &s->keep_timer, st->now_us + intvl_us);
}

/* SO_KEEPALIVE or its parameters changed, or the connection got established. */
void tcp_keepalive_update(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	if (s->keep_timer.fn == TCP_TIMER_FIN2)
		return; /* an orphan in FIN-WAIT-2: no handle to set options with */
	if (!(s->flags & SN_SF_KEEPALIVE) || !keepalive_state(s->state)) {
		sn_timer_stop(&st->wheel, &s->keep_timer);
		return;
	}
	s->keep_probes = 0;
	if (s->last_rcv_ms == 0)
		s->last_rcv_ms = tcp_ms(st);
	sn_timer_arm(&st->wheel, &s->keep_timer,
	             tcp_ms_when_us(st, s->last_rcv_ms, s->opt.keepidle_s * 1000u));
}

/* The stack's wheel runs these (stack.c), indexed by struct sn_timer.fn. */
const sn_timer_fn tcp_timer_fns[TCP_TIMER_FNS] = {
	[TCP_TIMER_REXMT] = rexmt_expired,   [TCP_TIMER_PERSIST] = persist_expired,
	[TCP_TIMER_DELACK] = delack_expired, [TCP_TIMER_KEEP] = keep_expired,
	[TCP_TIMER_FIN2] = fin2_expired,
};

/* The three timers of a new socket, which tcb.c has zeroed: a zeroed
 * struct sn_timer is an idle one (wheel.h), so only the roles are set. */
void tcp_timers_init(struct sn_sock *s)
{
	s->rexmt_timer.fn = TCP_TIMER_REXMT;
	s->delack_timer.fn = TCP_TIMER_DELACK;
	s->keep_timer.fn = TCP_TIMER_KEEP;
}

/* A new socket's keepalive options (a listener's child copies its parent's
 * instead): the defaults as setsockopt allows them (Linux's limits, and the
 * width of struct sn_sockopts). Read here, not when the stack is made:
 * synack drill changes them in a running stack (FreeBSD's sysctls). */
void tcp_keepalive_defaults(struct sn_sock *s)
{
	const struct sn_config *c = &s->stack->cfg;
	s->opt.keepidle_s = (uint16_t)(c->keepidle_s < 32767 ? c->keepidle_s : 32767);
	s->opt.keepintvl_s = (uint16_t)(c->keepintvl_s < 32767 ? c->keepintvl_s : 32767);
	s->opt.keepcnt = (uint8_t)(c->keepcnt < 127 ? c->keepcnt : 127);
}

void tcp_rexmt_arm(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	uint64_t when = st->now_us + s->rtt.rto_us;
	if (s->opt.user_timeout_ms && s->state >= SN_ESTABLISHED) {
		uint64_t limit = tcp_ms_when_us(st, s->progress_ms, s->opt.user_timeout_ms);
		if (limit < when)
			when = limit > st->now_us ? limit : st->now_us;
	}
	s->rexmt_timer.fn = TCP_TIMER_REXMT; /* persist, if it ran, gives way */
	sn_timer_arm(&st->wheel, &s->rexmt_timer, when);
}

/* Stops retransmission only: a running persist timer stays (tcp_output
 * decides about it). */
void tcp_rexmt_stop(struct sn_sock *s)
{
	if (s->rexmt_timer.fn == TCP_TIMER_REXMT)
		sn_timer_stop(&s->stack->wheel, &s->rexmt_timer);
}

void tcp_fin2_arm(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	s->keep_timer.fn = TCP_TIMER_FIN2; /* for good: see the top of the file */
	sn_timer_arm(&st->wheel, &s->keep_timer,
	             st->now_us + (uint64_t)st->cfg.fin_wait2_timeout_ms * 1000);
}

/* Off the wheel for good, stopped or not: the socket may be freed next. */
void tcp_timers_stop(struct sn_sock *s)
{
	struct sn_wheel *w = &s->stack->wheel;
	sn_timer_cancel(w, &s->rexmt_timer);
	sn_timer_cancel(w, &s->delack_timer);
	sn_timer_cancel(w, &s->keep_timer);
}
