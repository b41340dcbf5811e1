/*
 * isn.c - initial sequence numbers, RFC 6528.
 *
 *   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 *
 * M is a timer that ticks every 4 microseconds (RFC 9293 3.4.1); F is
 * SipHash-2-4 (libsodium's crypto_shorthash) under a 128-bit key taken from
 * getrandom() when the stack is created. Each 4-tuple thus gets its own
 * sequence number space that an off-path attacker cannot predict, while
 * successive incarnations of the same 4-tuple still move forward with time.
 */
#include "core.h"

uint32_t isn_generate(struct sn_stack *st, const struct sn_tuple *t)
{
	if (st->cfg.isn_fixed)
		return st->cfg.isn_value;
	uint32_t f = (uint32_t)tuple_siphash(t, st->isn_key);
	return (uint32_t)(st->now_us / 4) + f;
}
