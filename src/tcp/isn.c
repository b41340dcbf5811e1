/*
 * isn.c - initial sequence numbers, RFC 6528.
 *
 *   ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 *
 * M is a timer that ticks every 4 microseconds (RFC 9293 3.4.1); F is
 * SipHash-2-4 (tuple_siphash in tcb.c, equal to libsodium's crypto_shorthash)
 * under a 128-bit key taken from getrandom() when the stack is created. Each 4-tuple thus gets its own
 * sequence number space that an off-path attacker cannot predict, while
 * successive incarnations of the same 4-tuple still move forward with time.
 *
 * The same hash gives the connection's timestamp offset (RFC 7323 5.4: a
 * per-connection offset, so that TSval reveals no host-wide clock): F is the
 * low 32 bits of the 64-bit SipHash output, the offset the high 32. Halves of
 * a pseudorandom function's output are independent of each other, so
 * seeing one (TSval less our clock) says nothing of the other; one hash per
 * connection instead of two.
 */
#include "core.h"

void isn_generate(struct sn_stack *st, struct sn_sock *s)
{
	if (st->cfg.isn_fixed) {
		/* Tests and teaching: the ISN is given, and the offset comes
		 * from the key that cfg.random_seed makes, so that a seeded
		 * run repeats its timestamps too. */
		s->iss = st->cfg.isn_value;
		s->ts_offset = (uint32_t)(tuple_siphash(&s->t, st->hash_key) >> 32);
		return;
	}
	uint64_t h = tuple_siphash(&s->t, st->isn_key);
	s->iss = (uint32_t)(st->now_us / 4) + (uint32_t)h;
	s->ts_offset = (uint32_t)(h >> 32);
}
