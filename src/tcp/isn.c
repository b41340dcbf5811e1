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
#include <sodium.h>
#include <string.h>

#include "core.h"

uint32_t isn_generate(struct sn_stack *st, const struct sn_tuple *t)
{
	if (st->cfg.isn_fixed)
		return st->cfg.isn_value;
	uint8_t in[12], out[8];
	sn_put32(in, t->laddr);
	sn_put16(in + 4, t->lport);
	sn_put32(in + 6, t->raddr);
	sn_put16(in + 10, t->rport);
	crypto_shorthash(out, in, sizeof(in), st->isn_key);
	uint32_t f;
	memcpy(&f, out, sizeof(f));
	return (uint32_t)(st->now_us / 4) + f;
}
