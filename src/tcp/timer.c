/*
 * timer.c - the per-connection timers. All of them live in the stack's timing
 * wheel (wheel.c), so arming and cancelling are O(1) and an idle connection
 * costs nothing per tick.
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
 * fin2   Orphaned FIN-WAIT-2. Once the application has closed its handle and
 *        our FIN is acknowledged, nothing obliges the peer ever to send its
 *        FIN. Armed on entering FIN-WAIT-2 without a handle (or on closing the
 *        handle there) for fin_wait2_timeout_ms; cleared when the connection
 *        leaves FIN-WAIT-2; on expiry the connection is dropped.
 *
 * TIME-WAIT does not use the wheel: see struct sn_tw in core.h.
 */
#include <errno.h>

#include "core.h"

static void trace_timer(struct sn_sock *s, const char *what)
{
	struct sn_trace_event ev = {
		.kind = SN_TRACE_TIMER, .now_us = s->stack->now_us, .sock = s, .what = what,
	};
	ev.seg.saddr = s->t.laddr;
	ev.seg.daddr = s->t.raddr;
	ev.seg.sport = s->t.lport;
	ev.seg.dport = s->t.rport;
	stack_trace(s->stack, &ev);
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
		if (s->rexmt_count >= st->cfg.data_retries) {
			STAT_INC(st, tcp_timeouts);
			tcb_close(s, ETIMEDOUT);
			return;
		}
		break;
	}
	s->rexmt_count++;
	s->total_retrans++;
	STAT_INC(st, tcp_retrans);
	sn_rtt_backoff(&s->rtt);
	/* Go back to the oldest unacknowledged octet, RFC 6298 5.4. */
	s->snd_nxt = s->snd_una;
	tcb_want_output(s);
}

static void fin2_expired(struct sn_timer *t, uint64_t now_us)
{
	struct sn_sock *s = SN_CONTAINER_OF(t, struct sn_sock, fin2_timer);
	trace_timer(s, "fin_wait_2");
	if (s->state == SN_FIN_WAIT_2)
		tcb_close(s, 0);
}

void tcp_rtt_init(struct sn_sock *s)
{
	const struct sn_config *c = &s->stack->cfg;
	sn_rtt_init(&s->rtt, c->initial_rto_ms * 1000u, c->min_rto_ms * 1000u, c->max_rto_ms * 1000u);
}

void tcp_timers_init(struct sn_sock *s)
{
	sn_timer_init(&s->rexmt_timer, rexmt_expired);
	sn_timer_init(&s->fin2_timer, fin2_expired);
}

void tcp_rexmt_arm(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	sn_timer_arm(&st->wheel, &s->rexmt_timer, st->now_us + s->rtt.rto_us);
}

void tcp_rexmt_stop(struct sn_sock *s)
{
	sn_timer_cancel(&s->stack->wheel, &s->rexmt_timer);
}

void tcp_fin2_arm(struct sn_sock *s)
{
	struct sn_stack *st = s->stack;
	sn_timer_arm(&st->wheel, &s->fin2_timer,
	             st->now_us + (uint64_t)st->cfg.fin_wait2_timeout_ms * 1000);
}

void tcp_timers_stop(struct sn_sock *s)
{
	sn_timer_cancel(&s->stack->wheel, &s->rexmt_timer);
	sn_timer_cancel(&s->stack->wheel, &s->fin2_timer);
}
