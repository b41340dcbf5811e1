/*
 * rtt.h - the retransmission timeout estimator of RFC 6298.
 *
 * Pure arithmetic on one struct, so it can be tested to the microsecond:
 *   first sample R:   SRTT = R, RTTVAR = R/2                       (2.2)
 *   later samples R': RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|,
 *                     SRTT   = 7/8 SRTT + 1/8 R'                   (2.3)
 *   RTO = SRTT + max(G, 4 RTTVAR), then bounded to [min, max]      (2.4, 2.5)
 *   each expiry of the timer doubles the RTO, up to max            (5.5)
 * G, the clock granularity, is the timing wheel's tick: 1 ms.
 *
 * The back-off is kept as a shift over the estimate. It is undone by a new
 * sample and also, like Linux and FreeBSD do, when an ACK acknowledges new
 * data (sn_rtt_reset_backoff): the path is delivering again, and keeping a
 * doubled RTO until a clean sample arrives would leave every hole of a
 * lossy window waiting for a minute-long timer.
 * Which segments may be sampled (Karn's rule) is the caller's business.
 */
#ifndef SN_RTT_H
#define SN_RTT_H

#include <stdint.h>

#define SN_RTT_GRANULARITY_US 1000u

struct sn_rtt {
	uint32_t srtt_us;    /* 0 until the first sample */
	uint32_t rttvar_us;
	uint32_t rto_us;     /* current timeout: base_us << backoff, bounded */
	uint32_t base_us;    /* the timeout the estimate gives, before back-off */
	uint8_t backoff;     /* timer expiries since the last reset */
};

/* The RTO's bounds (2.4, 2.5). Every connection of a stack has the same
 * (struct sn_stack.rto, from sn_config), so they are passed in rather than
 * kept in each struct sn_rtt. max_us >= min_us. */
struct sn_rto_bounds {
	uint32_t min_us, max_us;
};

void sn_rtt_init(struct sn_rtt *r, const struct sn_rto_bounds *b, uint32_t initial_us);
void sn_rtt_sample(struct sn_rtt *r, const struct sn_rto_bounds *b, uint32_t rtt_us);
void sn_rtt_backoff(struct sn_rtt *r, const struct sn_rto_bounds *b);
void sn_rtt_reset_backoff(struct sn_rtt *r, const struct sn_rto_bounds *b);
/* Set the timeout before any sample (RFC 6298 5.7 uses this for 3 s). */
void sn_rtt_set_base(struct sn_rtt *r, const struct sn_rto_bounds *b, uint32_t rto_us);

#endif /* SN_RTT_H */
