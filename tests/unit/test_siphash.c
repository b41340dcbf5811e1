/*
 * test_siphash.c - the stack's own SipHash-2-4 of a 4-tuple (tcb.c's
 * tuple_siphash, which keys ISNs and timestamp offsets) is the same function
 * as libsodium's crypto_shorthash of the tuple's 12 serialised bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core.h"

static uint64_t reference(const struct sn_tuple *t, const uint8_t key[16])
{
	uint8_t in[12], out[8];
	sn_put32(in, t->laddr);
	sn_put16(in + 4, t->lport);
	sn_put32(in + 6, t->raddr);
	sn_put16(in + 10, t->rport);
	crypto_shorthash(out, in, sizeof(in), key);
	uint64_t h = 0;
	for (int i = 7; i >= 0; i--)
		h = h << 8 | out[i];
	return h;
}

/* The SipHash paper's key (00 01 .. 0f) and a tuple of known bytes. */
static void test_known_key(void **state)
{
	(void)state;
	uint8_t key[16];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	struct sn_tuple t = {.laddr = 0x00010203, .lport = 0x0405, .raddr = 0x06070809,
	                     .rport = 0x0a0b};
	/* Message 00 01 .. 0b: the 12-byte vector of the SipHash paper's
	 * appendix, whose output is this (as a little-endian word). */
	assert_int_equal(tuple_siphash(&t, key), 0x751e8fbc860ee5fbull);
	assert_int_equal(tuple_siphash(&t, key), reference(&t, key));
}

static void test_agrees_with_libsodium(void **state)
{
	(void)state;
	for (int n = 0; n < 100000; n++) {
		uint8_t key[16];
		struct sn_tuple t;
		randombytes_buf(key, sizeof(key));
		randombytes_buf(&t, sizeof(t));
		assert_int_equal(tuple_siphash(&t, key), reference(&t, key));
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_key),
		cmocka_unit_test(test_agrees_with_libsodium),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
