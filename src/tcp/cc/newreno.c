/*
 * newreno.c - the standard algorithm's window arithmetic, RFC 5681 3.1.
 * (The "New" of NewReno, RFC 6582's partial ACKs, is in loss.c, shared by
 * every algorithm.)
 */
#include "core.h"

static void newreno_init(struct sn_sock *s)
{
	(void)s;
}

/* Congestion avoidance by byte counting (RFC 3465 3.1): one SMSS more each
 * time a whole window's worth of octets has been acknowledged, which is
 * the "about one segment per round trip" of RFC 5681 eq. 3 without its
 * dependence on how many ACKs the receiver sends. */
static void newreno_cong_avoid(struct sn_sock *s, uint32_t acked)
{
	s->bytes_acked += acked;
	if (s->bytes_acked >= s->cwnd) {
		s->bytes_acked -= s->cwnd;
		s->cwnd += tcp_send_mss(s);
	}
}

/* RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS) (the floor is
 * applied by the caller). */
static uint32_t newreno_ssthresh(struct sn_sock *s, enum sn_cc_event ev)
{
	(void)ev;
	return tcp_flight_size(s) / 2;
}

const struct sn_cc_ops sn_cc_newreno = {
	.name = "newreno",
	.init = newreno_init,
	.cong_avoid = newreno_cong_avoid,
	.ssthresh = newreno_ssthresh,
};
