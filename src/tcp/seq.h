/*
 * seq.h - modular 32-bit sequence number arithmetic (RFC 9293 3.4).
 *
 * Sequence numbers wrap at 2^32; a is "before" b when the signed difference
 * a - b is negative, which is right as long as the two are less than 2^31
 * apart. Never compare sequence numbers with < directly; use these.
 */
#ifndef SN_SEQ_H
#define SN_SEQ_H

#include <stdbool.h>
#include <stdint.h>

static inline int32_t sn_seq_diff(uint32_t a, uint32_t b) { return (int32_t)(a - b); }
static inline bool sn_seq_lt(uint32_t a, uint32_t b) { return sn_seq_diff(a, b) < 0; }
static inline bool sn_seq_leq(uint32_t a, uint32_t b) { return sn_seq_diff(a, b) <= 0; }
static inline bool sn_seq_gt(uint32_t a, uint32_t b) { return sn_seq_diff(a, b) > 0; }
static inline bool sn_seq_geq(uint32_t a, uint32_t b) { return sn_seq_diff(a, b) >= 0; }

/* lo <= x < hi, modulo 2^32 (an empty range when lo == hi). */
static inline bool sn_seq_in(uint32_t x, uint32_t lo, uint32_t hi)
{
	return x - lo < hi - lo;
}

static inline uint32_t sn_seq_max(uint32_t a, uint32_t b) { return sn_seq_gt(a, b) ? a : b; }
static inline uint32_t sn_seq_min(uint32_t a, uint32_t b) { return sn_seq_lt(a, b) ? a : b; }

#endif /* SN_SEQ_H */
