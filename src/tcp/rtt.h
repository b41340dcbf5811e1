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
 * Which segments may be sampled (Karn's rule) is the caller's business.
 */
#ifndef SN_RTT_H
#define SN_RTT_H

#include <stdint.h>

#define SN_RTT_GRANULARITY_US 1000u

struct sn_rtt {
	uint32_t srtt_us;    /* 0 until the first sample */
	uint32_t rttvar_us;
	uint32_t rto_us;     /* current timeout, backed off if the timer expired */
	uint32_t min_rto_us, max_rto_us;
};

void sn_rtt_init(struct sn_rtt *r, uint32_t initial_us, uint32_t min_us, uint32_t max_us);
void sn_rtt_sample(struct sn_rtt *r, uint32_t rtt_us);
void sn_rtt_backoff(struct sn_rtt *r);

#endif /* SN_RTT_H */
