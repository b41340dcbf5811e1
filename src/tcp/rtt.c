/*
 * rtt.c - the RFC 6298 estimator; see rtt.h.
 */
#include "tcp/rtt.h"

static uint32_t clamp(const struct sn_rto_bounds *b, uint64_t rto)
{
	if (rto < b->min_us)
		return b->min_us;
	if (rto > b->max_us)
		return b->max_us;
	return (uint32_t)rto;
}

static void recompute(struct sn_rtt *r, const struct sn_rto_bounds *b)
{
	uint64_t rto = (uint64_t)r->base_us << (r->backoff > 20 ? 20 : r->backoff);
	r->rto_us = rto > b->max_us ? b->max_us : (uint32_t)rto;
}

void sn_rtt_init(struct sn_rtt *r, const struct sn_rto_bounds *b, uint32_t initial_us)
{
	r->srtt_us = 0;
	r->rttvar_us = 0;
	r->backoff = 0;
	/* 2.1: before any sample the RTO is the initial value, which is not
	 * subject to the minimum (a profile may set 1 s initial, 200 ms min). */
	r->base_us = initial_us;
	recompute(r, b);
}

void sn_rtt_sample(struct sn_rtt *r, const struct sn_rto_bounds *b, uint32_t rtt_us)
{
	if (rtt_us == 0)
		rtt_us = 1; /* a sample below the clock's resolution still counts */
	if (r->srtt_us == 0) {
		r->srtt_us = rtt_us;
		r->rttvar_us = rtt_us / 2;
	} else {
		uint32_t delta = r->srtt_us > rtt_us ? r->srtt_us - rtt_us : rtt_us - r->srtt_us;
		/* RTTVAR first: it uses the SRTT before this sample (2.3). */
		r->rttvar_us = (uint32_t)(((uint64_t)r->rttvar_us * 3 + delta) / 4);
		r->srtt_us = (uint32_t)(((uint64_t)r->srtt_us * 7 + rtt_us) / 8);
	}
	uint64_t var4 = (uint64_t)r->rttvar_us * 4;
	r->base_us =
	    clamp(b, r->srtt_us + (var4 > SN_RTT_GRANULARITY_US ? var4 : SN_RTT_GRANULARITY_US));
	r->backoff = 0;
	recompute(r, b);
}

void sn_rtt_backoff(struct sn_rtt *r, const struct sn_rto_bounds *b)
{
	if (r->rto_us < b->max_us)
		r->backoff++;
	recompute(r, b);
}

void sn_rtt_reset_backoff(struct sn_rtt *r, const struct sn_rto_bounds *b)
{
	/* Every change of base_us or backoff recomputes rto_us, so without a
	 * backoff it is already right (most ACKs: nothing timed out). */
	if (r->backoff == 0)
		return;
	r->backoff = 0;
	recompute(r, b);
}

void sn_rtt_set_base(struct sn_rtt *r, const struct sn_rto_bounds *b, uint32_t rto_us)
{
	r->base_us = rto_us;
	r->backoff = 0;
	recompute(r, b);
}
