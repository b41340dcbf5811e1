/*
 * cubic.c - CUBIC, RFC 9438.
 *
 * After a congestion event the window follows a cubic function of the time
 * t since the window last shrank (the "epoch"), in segments:
 *
 *   W_cubic(t) = C * (t - K)^3 + W_max                        (eq. 1)
 *   K = cbrt((W_max - cwnd_epoch) / C)                         (eq. 2)
 *
 * so it climbs quickly towards W_max, the window at which the last loss
 * happened, flattens near it, and then probes beyond it ever faster. Each
 * ACK moves cwnd a step towards W_cubic(t + RTT) (4.4), never more than
 * half the window per round trip. Where a Reno flow would do better
 * (short RTTs, small windows), CUBIC behaves as Reno would: W_est grows by
 * alpha_cubic segments per round trip, and cwnd follows whichever is
 * larger (4.3). On a loss, W_max = cwnd (less, if the window is shrinking
 * from one epoch to the next: fast convergence, 4.7) and ssthresh =
 * cwnd * beta_cubic (4.6); a timeout sets ssthresh the same way (4.8).
 *
 * The arithmetic is in double precision for clarity; the quantities are
 * segments and seconds, as in the RFC.
 */
#include <math.h>

#include "core.h"

#define CUBIC_C 0.4     /* RFC 9438 4.1 */
#define CUBIC_BETA 0.7  /* RFC 9438 4.1: beta_cubic */

struct cubic {
	uint64_t epoch_us;  /* start of the current epoch, 0 = none */
	/* Stored as float, computed in double: seven significant digits are
	 * plenty for windows in segments and K in seconds, and keep the
	 * state in 24 bytes of every connection. */
	float w_max;        /* segments: cwnd at the last congestion event */
	float k;            /* seconds: when W_cubic returns to w_max */
	float w_est;        /* segments: the Reno-friendly estimate (4.3) */
	float cwnd_prior;   /* segments: cwnd just before the last reduction */
};
_Static_assert(sizeof(struct cubic) <= SN_CC_PRIV, "cubic state does not fit");

static struct cubic *cubic_of(struct sn_sock *s)
{
	return (struct cubic *)(void *)s->cc_priv;
}

static void cubic_init(struct sn_sock *s)
{
	struct cubic *c = cubic_of(s);
	c->epoch_us = 0;
	c->w_max = 0;
	c->k = 0;
	c->w_est = 0;
	c->cwnd_prior = 0;
}

/* W_cubic(t), eq. 1. */
static double w_cubic(const struct cubic *c, double t)
{
	double d = t - c->k;
	return CUBIC_C * d * d * d + c->w_max;
}

static void cubic_cong_avoid(struct sn_sock *s, uint32_t acked)
{
	struct cubic *c = cubic_of(s);
	uint64_t now = s->stack->now_us;
	double mss = (double)tcp_send_mss(s);
	double cwnd = (double)s->cwnd / mss;

	if (c->epoch_us == 0) {
		/* The first ACK of a new epoch (4.2). Without a loss yet, the
		 * curve starts flat at the current window. */
		c->epoch_us = now;
		if (c->w_max < cwnd) {
			c->w_max = (float)cwnd;
			c->k = 0;
		} else {
			c->k = (float)cbrt((c->w_max - cwnd) / CUBIC_C);
		}
		c->w_est = (float)cwnd;
	}
	double t = (double)(now - c->epoch_us) / 1e6;
	double rtt = (double)s->rtt.srtt_us / 1e6;
	double segs_acked = (double)acked / mss;

	/* 4.3: the Reno-friendly region. alpha_cubic = 3 (1 - beta) / (1 + beta)
	 * until W_est reaches the window before the reduction, then 1. */
	double alpha = c->w_est >= c->cwnd_prior ? 1.0 : 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);
	c->w_est = (float)(c->w_est + alpha * segs_acked / cwnd);

	double next;
	if (w_cubic(c, t) < c->w_est) {
		next = c->w_est;
	} else {
		/* 4.4, 4.5: aim at where the curve will be one RTT from now,
		 * within [cwnd, 1.5 cwnd]. */
		double target = w_cubic(c, t + rtt);
		if (target < cwnd)
			target = cwnd;
		if (target > 1.5 * cwnd)
			target = 1.5 * cwnd;
		next = cwnd + (target - cwnd) / cwnd * segs_acked;
	}
	if (next > cwnd) {
		double bytes = next * mss;
		s->cwnd = bytes > (double)(1u << 30) ? (1u << 30) : (uint32_t)bytes;
	}
}

static uint32_t cubic_ssthresh(struct sn_sock *s, enum sn_cc_event ev)
{
	(void)ev;
	struct cubic *c = cubic_of(s);
	double mss = (double)tcp_send_mss(s);
	double cwnd = (double)s->cwnd / mss;
	/* 4.7 fast convergence: a window that did not get back to the last
	 * W_max means the share is shrinking; give up a little more. */
	if (cwnd < c->w_max)
		c->w_max = (float)(cwnd * (1 + CUBIC_BETA) / 2);
	else
		c->w_max = (float)cwnd;
	c->cwnd_prior = (float)cwnd;
	c->epoch_us = 0;
	return (uint32_t)(cwnd * CUBIC_BETA * mss);
}

const struct sn_cc_ops sn_cc_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.cong_avoid = cubic_cong_avoid,
	.ssthresh = cubic_ssthresh,
};
