/*
 * rtt.c - the retransmission timeout, RFC 6298.
 *
 * Until the first RTT measurement the RTO is initial_rto_ms (1 s, RFC 6298
 * 2.1); every expiry of the retransmission timer doubles it (5.5), bounded by
 * max_rto_ms. RTT sampling (SRTT/RTTVAR, Karn's rule) arrives with reliable
 * data transfer; the SYN and FIN machinery uses only the initial value and
 * the back-off.
 */
#include "core.h"

void rtt_init(struct sn_sock *s)
{
	const struct sn_config *c = &s->stack->cfg;
	s->srtt_us = 0;
	s->rttvar_us = 0;
	s->rto_us = c->initial_rto_ms * 1000u;
}

void rtt_backoff(struct sn_sock *s)
{
	uint64_t max = (uint64_t)s->stack->cfg.max_rto_ms * 1000;
	uint64_t rto = (uint64_t)s->rto_us * 2;
	s->rto_us = (uint32_t)(rto > max ? max : rto);
}
