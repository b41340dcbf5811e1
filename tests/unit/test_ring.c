/*
 * test_ring.c - the byte ring buffer (src/buf/ring.c).
 *
 * Boundaries first (empty, full, capacity 0, every wrap position of a small
 * ring), then a long seeded random run against a plain linear buffer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf/ring.h"
#include "util/rand.h"

/* Byte i of a test stream: distinct over any 251 consecutive bytes. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(i % 251);
}

static void fill_pattern(uint8_t *buf, size_t from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pattern(from + i);
}

static void test_lazy_storage(void **state)
{
	struct sn_ring r;
	uint8_t buf[16];

	sn_ring_init(&r, 16);
	assert_null(r.data);
	assert_int_equal(sn_ring_used(&r), 0);
	assert_int_equal(sn_ring_space(&r), 16);

	/* Nothing that stores no bytes allocates. */
	assert_int_equal(sn_ring_write(&r, buf, 0), 0);
	assert_int_equal(sn_ring_peek(&r, 0, buf, sizeof(buf)), 0);
	assert_int_equal(sn_ring_read(&r, buf, sizeof(buf)), 0);
	assert_int_equal(sn_ring_discard(&r, 5), 0);
	assert_int_equal(sn_ring_resize(&r, 32), 0);
	assert_null(r.data);
	assert_int_equal(r.cap, 32);

	fill_pattern(buf, 0, 5);
	assert_int_equal(sn_ring_write(&r, buf, 5), 5);
	assert_non_null(r.data);
	assert_int_equal(sn_ring_used(&r), 5);

	/* Emptying keeps storage; freeing drops it and keeps the capacity. */
	assert_int_equal(sn_ring_discard(&r, 5), 5);
	assert_non_null(r.data);
	sn_ring_free(&r);
	assert_null(r.data);
	assert_int_equal(r.cap, 32);
	assert_int_equal(sn_ring_used(&r), 0);
	assert_int_equal(r.head, 0);

	/* Freeing with data stored, and again, is fine. */
	assert_int_equal(sn_ring_write(&r, buf, 3), 3);
	sn_ring_free(&r);
	sn_ring_free(&r);
	assert_int_equal(sn_ring_used(&r), 0);
	assert_int_equal(sn_ring_space(&r), 32);
}

static void test_full_and_empty(void **state)
{
	struct sn_ring r;
	uint8_t in[12], out[12];

	sn_ring_init(&r, 8);
	fill_pattern(in, 0, sizeof(in));

	/* A write larger than the space is cut short. */
	assert_int_equal(sn_ring_write(&r, in, 10), 8);
	assert_int_equal(sn_ring_used(&r), 8);
	assert_int_equal(sn_ring_space(&r), 0);
	assert_int_equal(sn_ring_write(&r, in, 1), 0);

	/* Full and wrapped: free 3 at the front, write 3 at the back. */
	assert_int_equal(sn_ring_read(&r, out, 3), 3);
	assert_memory_equal(out, in, 3);
	assert_int_equal(sn_ring_write(&r, in + 8, 4), 3);
	assert_int_equal(sn_ring_space(&r), 0);
	assert_int_equal(sn_ring_peek(&r, 0, out, sizeof(out)), 8);
	assert_memory_equal(out, in + 3, 8);

	/* Discarding more than is stored removes what is there. */
	assert_int_equal(sn_ring_discard(&r, 100), 8);
	assert_int_equal(sn_ring_used(&r), 0);
	assert_int_equal(r.head, 0);
	assert_int_equal(sn_ring_discard(&r, 1), 0);
	assert_int_equal(sn_ring_read(&r, out, 1), 0);

	/* Reading to empty resets head as well. */
	assert_int_equal(sn_ring_write(&r, in, 5), 5);
	assert_int_equal(sn_ring_discard(&r, 2), 2);
	assert_int_equal(r.head, 2);
	assert_int_equal(sn_ring_read(&r, out, 10), 3);
	assert_memory_equal(out, in + 2, 3);
	assert_int_equal(r.head, 0);
	sn_ring_free(&r);
}

#define SMALL 7

/*
 * Bring a ring of capacity 7 to head h holding k bytes of pattern(0..k-1):
 * fill 0..h, drop h bytes, then write the rest (wrapping past the end).
 */
static void small_ring_at(struct sn_ring *r, uint32_t h, uint32_t k)
{
	uint8_t buf[SMALL];

	sn_ring_init(r, SMALL);
	for (uint32_t i = 0; i < h; i++)
		buf[i] = 0xee;
	buf[h] = pattern(0);
	assert_int_equal(sn_ring_write(r, buf, h + 1), h + 1);
	assert_int_equal(sn_ring_discard(r, h), h);
	fill_pattern(buf, 1, k - 1);
	assert_int_equal(sn_ring_write(r, buf, k - 1), k - 1);
	assert_int_equal(r->head, h);
	assert_int_equal(sn_ring_used(r), k);
}

static void test_wrap_every_offset(void **state)
{
	for (uint32_t h = 0; h < SMALL; h++) {
		for (uint32_t k = 1; k <= SMALL; k++) {
			struct sn_ring r;
			uint8_t want[SMALL], out[SMALL + 2];

			small_ring_at(&r, h, k);
			fill_pattern(want, 0, k);

			/* Byte i sits at (h + i) mod cap. */
			for (uint32_t i = 0; i < k; i++)
				assert_int_equal(r.data[(h + i) % SMALL], want[i]);

			/* Every offset, every length, inside and beyond. */
			for (size_t off = 0; off <= SMALL + 1; off++) {
				for (size_t len = 0; len <= SMALL + 2; len++) {
					size_t exp = off >= k ? 0 : (len < k - off ? len : k - off);

					memset(out, 0xaa, sizeof(out));
					assert_int_equal(sn_ring_peek(&r, off, out, len), exp);
					if (exp)
						assert_memory_equal(out, want + off, exp);
					/* Nothing written past what was copied. */
					assert_int_equal(out[exp], 0xaa);
				}
			}
			assert_int_equal(sn_ring_peek(&r, SIZE_MAX, out, 1), 0);
			assert_int_equal(sn_ring_used(&r), k);

			/* Read back in every chunk size. */
			for (uint32_t chunk = 1; chunk <= SMALL; chunk++) {
				struct sn_ring c;
				uint32_t got = 0;

				small_ring_at(&c, h, k);
				while (got < k) {
					size_t n = sn_ring_read(&c, out, chunk);

					assert_int_equal(n, chunk < k - got ? chunk : k - got);
					assert_memory_equal(out, want + got, n);
					got += (uint32_t)n;
				}
				assert_int_equal(sn_ring_used(&c), 0);
				assert_int_equal(c.head, 0);
				sn_ring_free(&c);
			}

			/* Fill the rest in one write, across the end if it wraps. */
			uint8_t more[SMALL];

			fill_pattern(more, k, SMALL - k);
			assert_int_equal(sn_ring_write(&r, more, SMALL), SMALL - k);
			assert_int_equal(sn_ring_peek(&r, 0, out, SMALL), SMALL);
			for (uint32_t i = 0; i < SMALL; i++)
				assert_int_equal(out[i], pattern(i));
			sn_ring_free(&r);
		}
	}
}

static void test_resize(void **state)
{
	struct sn_ring r;
	uint8_t out[32], in[32];

	fill_pattern(in, 0, sizeof(in));

	/* Grow a wrapped ring: content kept, and laid out from index 0. */
	small_ring_at(&r, 5, 6);
	assert_int_equal(sn_ring_resize(&r, 20), 0);
	assert_int_equal(r.cap, 20);
	assert_int_equal(r.head, 0);
	assert_int_equal(sn_ring_used(&r), 6);
	assert_int_equal(sn_ring_space(&r), 14);
	assert_memory_equal(r.data, in, 6);
	assert_int_equal(sn_ring_write(&r, in + 6, 20), 14);
	assert_int_equal(sn_ring_peek(&r, 0, out, sizeof(out)), 20);
	assert_memory_equal(out, in, 20);

	/* Too small: refused, nothing changed. */
	assert_int_equal(sn_ring_discard(&r, 3), 3);
	assert_int_equal(sn_ring_resize(&r, 16), -EINVAL);
	assert_int_equal(r.cap, 20);
	assert_int_equal(r.head, 3);
	assert_int_equal(sn_ring_used(&r), 17);
	assert_int_equal(sn_ring_peek(&r, 0, out, sizeof(out)), 17);
	assert_memory_equal(out, in + 3, 17);

	/* Shrink to exactly what is stored: full, and still readable. */
	assert_int_equal(sn_ring_resize(&r, 17), 0);
	assert_int_equal(sn_ring_space(&r), 0);
	assert_int_equal(sn_ring_read(&r, out, sizeof(out)), 17);
	assert_memory_equal(out, in + 3, 17);

	/* Same size: nothing to do. */
	assert_int_equal(sn_ring_write(&r, in, 4), 4);
	assert_int_equal(sn_ring_resize(&r, 17), 0);
	assert_int_equal(sn_ring_peek(&r, 0, out, 4), 4);
	assert_memory_equal(out, in, 4);

	/* An empty ring gives its storage back; the next write allocates. */
	assert_int_equal(sn_ring_discard(&r, 4), 4);
	assert_int_equal(sn_ring_resize(&r, 3), 0);
	assert_null(r.data);
	assert_int_equal(sn_ring_write(&r, in, 5), 3);
	assert_int_equal(sn_ring_read(&r, out, 5), 3);
	assert_memory_equal(out, in, 3);
	sn_ring_free(&r);
}

static void test_cap_zero(void **state)
{
	struct sn_ring r;
	uint8_t buf[4] = { 1, 2, 3, 4 };

	sn_ring_init(&r, 0);
	assert_int_equal(sn_ring_space(&r), 0);
	assert_int_equal(sn_ring_write(&r, buf, sizeof(buf)), 0);
	assert_null(r.data);
	assert_int_equal(sn_ring_peek(&r, 0, buf, sizeof(buf)), 0);
	assert_int_equal(sn_ring_read(&r, buf, sizeof(buf)), 0);
	assert_int_equal(sn_ring_discard(&r, 1), 0);
	assert_int_equal(sn_ring_resize(&r, 0), 0);
	assert_int_equal(sn_ring_resize(&r, 2), 0);
	assert_int_equal(sn_ring_write(&r, buf, sizeof(buf)), 2);
	assert_int_equal(sn_ring_resize(&r, 0), -EINVAL);
	assert_int_equal(sn_ring_read(&r, buf + 2, 2), 2);
	assert_int_equal(buf[2], 1);
	assert_int_equal(buf[3], 2);
	assert_int_equal(sn_ring_resize(&r, 0), 0);
	assert_null(r.data);
	assert_int_equal(sn_ring_write(&r, buf, 1), 0);
	sn_ring_free(&r);
}

/* The model: the stored bytes, oldest first, in a flat array. */
struct model {
	uint8_t *bytes;
	size_t len;
};

#define MODEL_OPS 100000
#define MAX_CAP 5000

static void test_random_model(void **state)
{
	static const uint32_t caps[] = { 1, 2, 3, 7, 16, 100, 1023, MAX_CAP };
	struct sn_rand rng;
	struct sn_ring r;
	struct model m = { .bytes = test_malloc(MAX_CAP) };
	uint8_t *in = test_malloc(MAX_CAP + 16);
	uint8_t *out = test_malloc(MAX_CAP + 16);
	size_t next_byte = 0;

	sn_rand_seed(&rng, 0x21e6);
	sn_ring_init(&r, caps[sn_rand_below(&rng, 8)]);
	for (unsigned op = 0; op < MODEL_OPS; op++) {
		uint32_t k = sn_rand_below(&rng, 100);
		/* Lengths up to a little past the capacity, often small. */
		size_t len = sn_rand_below(&rng, 2) ? sn_rand_below(&rng, 8)
						    : sn_rand_below(&rng, r.cap + 9);

		if (k < 35) {
			size_t exp = len < r.cap - m.len ? len : r.cap - m.len;

			fill_pattern(in, next_byte, len);
			assert_int_equal(sn_ring_write(&r, in, len), (long)exp);
			memcpy(m.bytes + m.len, in, exp);
			m.len += exp;
			next_byte += exp;
		} else if (k < 60) {
			size_t off = sn_rand_below(&rng, (uint32_t)m.len + 3);
			size_t exp = off >= m.len ? 0 : (len < m.len - off ? len : m.len - off);

			assert_int_equal(sn_ring_peek(&r, off, out, len), exp);
			if (exp)
				assert_memory_equal(out, m.bytes + off, exp);
		} else if (k < 75) {
			size_t exp = len < m.len ? len : m.len;

			assert_int_equal(sn_ring_read(&r, out, len), exp);
			if (exp)
				assert_memory_equal(out, m.bytes, exp);
			memmove(m.bytes, m.bytes + exp, m.len - exp);
			m.len -= exp;
		} else if (k < 90) {
			size_t exp = len < m.len ? len : m.len;

			assert_int_equal(sn_ring_discard(&r, len), exp);
			memmove(m.bytes, m.bytes + exp, m.len - exp);
			m.len -= exp;
		} else if (k < 99) {
			uint32_t cap = sn_rand_below(&rng, 2) ? caps[sn_rand_below(&rng, 8)]
							      : sn_rand_below(&rng, MAX_CAP + 1);
			uint32_t old_cap = r.cap;
			int rc = sn_ring_resize(&r, cap);

			if (cap < m.len) {
				assert_int_equal(rc, -EINVAL);
			} else {
				assert_int_equal(rc, 0);
				assert_int_equal(r.cap, cap);
				/* A new buffer is filled from index 0. */
				if (cap != old_cap)
					assert_int_equal(r.head, 0);
			}
		} else {
			sn_ring_free(&r);
			m.len = 0;
		}

		assert_int_equal(sn_ring_used(&r), m.len);
		assert_true(r.len <= r.cap);
		assert_true(r.head < r.cap || r.head == 0);
		if (m.len == 0)
			assert_int_equal(r.head, 0);
	}
	/* Everything still stored reads back in order. */
	assert_int_equal(sn_ring_read(&r, out, MAX_CAP + 16), m.len);
	if (m.len)
		assert_memory_equal(out, m.bytes, m.len);
	sn_ring_free(&r);
	test_free(m.bytes);
	test_free(in);
	test_free(out);
}

/* Storage handed in is used as is; storage taken out leaves a ring with
 * none, whose next write allocates again. The bytes survive a wrap and the
 * growth past the block (which frees the block: malloc'd, as required). */
static void test_attach_detach(void **state)
{
	struct sn_ring r;
	uint8_t in[3000], out[3000];
	uint32_t size = 1;

	(void)state;
	sn_ring_init(&r, 4096);
	assert_null(sn_ring_detach(&r, &size));
	assert_int_equal(size, 0);

	uint8_t *block = malloc(SN_RING_MIN);
	assert_non_null(block);
	sn_ring_attach(&r, block, SN_RING_MIN);
	fill_pattern(in, 0, sizeof(in));
	assert_int_equal(sn_ring_write(&r, in, 1000), 1000);
	assert_ptr_equal(r.data, block);
	assert_int_equal(sn_ring_read(&r, out, 600), 600);
	assert_int_equal(sn_ring_write(&r, in + 1000, 500), 500); /* wraps */
	assert_ptr_equal(r.data, block);
	assert_int_equal(sn_ring_peek(&r, 0, out, 900), 900);
	assert_memory_equal(out, in + 600, 900);

	uint8_t *got = sn_ring_detach(&r, &size);
	assert_ptr_equal(got, block);
	assert_int_equal(size, SN_RING_MIN);
	assert_null(r.data);
	assert_int_equal(sn_ring_used(&r), 0);
	assert_int_equal(sn_ring_space(&r), 4096);

	/* Handed in again, then outgrown: the bytes move, nothing leaks. */
	sn_ring_attach(&r, got, SN_RING_MIN);
	assert_int_equal(sn_ring_write(&r, in, 3000), 3000);
	assert_true(r.size >= 3000);
	assert_int_equal(sn_ring_read(&r, out, sizeof(out)), 3000);
	assert_memory_equal(out, in, 3000);
	sn_ring_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lazy_storage),
		cmocka_unit_test(test_full_and_empty),
		cmocka_unit_test(test_wrap_every_offset),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_cap_zero),
		cmocka_unit_test(test_random_model),
		cmocka_unit_test(test_attach_detach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
