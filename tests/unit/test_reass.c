/*
 * test_reass.c - the out-of-order queue (src/tcp/reass.c).
 *
 * First every arrival order of a few segments, driven the way the receiver
 * drives the queue (in-order text straight to the ring, the rest into the
 * queue, delivery after each segment); then the edges one by one (trimming,
 * duplicates, FIN, the 2^32 wrap, a full ring, SACK order); then a long
 * seeded random run against a byte-per-sequence-number model.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf/ring.h"
#include "tcp/reass.h"
#include "tcp/seq.h"
#include "util/rand.h"

/* Byte i of a test stream; a shifted copy does not match itself. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(((uint32_t)i * 2654435761u) >> 24);
}

static void fill_pattern(uint8_t *buf, uint64_t from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pattern(from + i);
}

static void assert_queue_empty(const struct sn_reass *q)
{
	uint32_t blocks[4][2];

	assert_true(sn_reass_empty(q));
	assert_int_equal(q->bytes, 0);
	assert_int_equal(q->nsegs, 0);
	assert_int_equal(q->nrecent, 0);
	assert_int_equal(sn_reass_sack_blocks(q, blocks, 4), 0);
}

/* ------------------------------------------------------------------------ */
/* A receiver, as the seventh and eighth steps of input would drive the queue */

struct rx {
	struct sn_reass q;
	struct sn_ring ring;
	uint32_t rcv_nxt;
	unsigned fins; /* FINs taken, by either path */
};

static void rx_init(struct rx *rx, uint32_t isn, uint32_t cap)
{
	sn_reass_init(&rx->q);
	sn_ring_init(&rx->ring, cap);
	rx->rcv_nxt = isn;
	rx->fins = 0;
}

static void rx_free(struct rx *rx)
{
	sn_reass_free(&rx->q);
	sn_ring_free(&rx->ring);
}

/* Take one segment; returns the bytes that reached the ring. */
static uint32_t rx_segment(struct rx *rx, uint32_t seq, const uint8_t *data, uint32_t len, bool fin)
{
	uint32_t moved = 0;
	bool got_fin = false;

	if (sn_seq_lt(seq, rx->rcv_nxt)) {
		uint32_t dup = rx->rcv_nxt - seq;

		if (dup > len)
			return 0;
		data += dup;
		len -= dup;
		seq = rx->rcv_nxt;
	}
	if (seq != rx->rcv_nxt) {
		long n = sn_reass_insert(&rx->q, rx->rcv_nxt, sn_ring_space(&rx->ring), seq, data,
		                         len, fin);

		assert_true(n >= 0);
		return 0;
	}
	long n = sn_ring_write(&rx->ring, data, len);

	assert_true(n >= 0);
	rx->rcv_nxt += (uint32_t)n;
	moved += (uint32_t)n;
	if ((uint32_t)n == len && fin) {
		rx->rcv_nxt++;
		rx->fins++;
	}
	moved += sn_reass_deliver(&rx->q, &rx->rcv_nxt, &rx->ring, &got_fin);
	if (got_fin)
		rx->fins++;
	return moved;
}

/* Permutation number k (0 <= k < n!) of 0..n-1, by its factorial digits. */
static void nth_permutation(unsigned k, unsigned n, unsigned *out)
{
	unsigned pool[8], fact = 1;

	for (unsigned i = 0; i < n; i++) {
		pool[i] = i;
		fact *= i + 1;
	}
	for (unsigned i = 0; i < n; i++) {
		unsigned pick;

		fact /= n - i;
		pick = k / fact;
		k %= fact;
		out[i] = pool[pick];
		memmove(pool + pick, pool + pick + 1, (n - i - pick - 1) * sizeof(pool[0]));
	}
}

struct span {
	uint32_t off, len; /* from the ISN */
};

/*
 * Feed spans (covering [0, total) between them) in each of the 120 orders;
 * after each segment the queue holds exactly the bytes received past
 * RCV.NXT, and at the end the ring holds the stream, byte for byte.
 */
static void run_permutations(const struct span *sp, uint32_t total, uint32_t isn, bool with_fin,
                             bool disjoint)
{
	uint8_t stream[256], out[256];
	bool have[256];
	unsigned order[5];

	assert_true(total <= sizeof(stream));
	fill_pattern(stream, isn, total);
	for (unsigned k = 0; k < 120; k++) {
		struct rx rx;

		nth_permutation(k, 5, order);
		rx_init(&rx, isn, 1024);
		memset(have, 0, sizeof(have));
		for (unsigned i = 0; i < 5; i++) {
			const struct span *s = &sp[order[i]];
			bool fin = with_fin && s->off + s->len == total;
			uint32_t after, expect = 0;

			for (uint32_t b = s->off; b < s->off + s->len; b++)
				have[b] = true;
			rx_segment(&rx, isn + s->off, stream + s->off, s->len, fin);
			after = rx.rcv_nxt - isn;
			if (after > total)
				after = total; /* past the FIN */
			assert_int_equal(sn_ring_used(&rx.ring), after);
			for (uint32_t b = after; b < total; b++)
				expect += have[b];
			assert_int_equal(rx.q.bytes, expect);
			if (disjoint) {
				/* One piece per segment still waiting. */
				unsigned held_segs = 0;

				for (unsigned j = 0; j <= i; j++)
					held_segs += sp[order[j]].off >= after;
				assert_int_equal(rx.q.nsegs, held_segs);
			}
		}
		assert_int_equal(rx.rcv_nxt, isn + total + (with_fin ? 1 : 0));
		assert_int_equal(rx.fins, with_fin ? 1 : 0);
		assert_queue_empty(&rx.q);
		assert_int_equal(sn_ring_read(&rx.ring, out, sizeof(out)), total);
		assert_memory_equal(out, stream, total);
		rx_free(&rx);
	}
}

static void test_consecutive_permutations(void **state)
{
	/* Different lengths, so a misplaced segment shows. */
	static const struct span sp[5] = {{0, 7}, {7, 1}, {8, 13}, {21, 30}, {51, 4}};
	static const uint32_t isns[] = {1000, 0xffffffe0, 0xfffffff9, 0};

	for (unsigned i = 0; i < sizeof(isns) / sizeof(isns[0]); i++) {
		run_permutations(sp, 55, isns[i], false, true);
		run_permutations(sp, 55, isns[i], true, true);
	}
}

/*
 * Five spans with random starts and ends covering [0, 100) with overlaps
 * (and sometimes one inside another), as retransmissions with different
 * segment boundaries would be.
 */
static void random_overlapping(struct sn_rand *rng, struct span *sp)
{
	uint32_t starts[5] = {0};

	for (unsigned i = 1; i < 5; i++) {
		uint32_t v;
		bool dup;

		do {
			v = 1 + sn_rand_below(rng, 95);
			dup = false;
			for (unsigned j = 1; j < i; j++)
				dup |= starts[j] == v;
		} while (dup);
		starts[i] = v;
	}
	for (unsigned i = 1; i < 5; i++)
		for (unsigned j = i; j > 1 && starts[j - 1] > starts[j]; j--) {
			uint32_t t = starts[j];

			starts[j] = starts[j - 1];
			starts[j - 1] = t;
		}
	for (unsigned i = 0; i < 5; i++) {
		uint32_t next = i < 4 ? starts[i + 1] : 100;
		uint32_t end = next + (i < 4 ? sn_rand_below(rng, 12) : 0);

		if (sn_rand_below(rng, 4) == 0)
			end += sn_rand_below(rng, 40); /* swallow a neighbour or two */
		if (end > 100)
			end = 100;
		sp[i].off = starts[i];
		sp[i].len = end - starts[i];
	}
}

static void test_overlapping_permutations(void **state)
{
	for (uint64_t seed = 1; seed <= 12; seed++) {
		struct sn_rand rng;
		struct span sp[5];
		uint32_t isn;

		sn_rand_seed(&rng, seed);
		random_overlapping(&rng, sp);
		isn = seed % 3 == 0 ? 0xffffffd0 : (uint32_t)sn_rand_next(&rng);
		run_permutations(sp, 100, isn, false, false);
		run_permutations(sp, 100, isn, true, false);
	}
}

/* ------------------------------------------------------------------------ */
/* The edges, one at a time */

static void insert_pattern_ok(struct sn_reass *q, uint32_t rcv_nxt, uint32_t limit, uint32_t seq,
                              uint32_t len, bool fin, long expect)
{
	uint8_t buf[2048];

	assert_true(len <= sizeof(buf));
	fill_pattern(buf, seq, len);
	assert_int_equal(sn_reass_insert(q, rcv_nxt, limit, seq, buf, len, fin), expect);
}

/* Deliver into a roomy ring and check the bytes are [from, from + n). */
static void deliver_expect(struct sn_reass *q, uint32_t *rcv_nxt, uint32_t n, bool fin)
{
	struct sn_ring ring;
	uint8_t out[512], want[512];
	uint32_t from = *rcv_nxt;
	bool got_fin = !fin;

	sn_ring_init(&ring, sizeof(out));
	assert_int_equal(sn_reass_deliver(q, rcv_nxt, &ring, &got_fin), n);
	assert_int_equal(got_fin, fin);
	assert_int_equal(*rcv_nxt, from + n + (fin ? 1 : 0));
	assert_int_equal(sn_ring_read(&ring, out, sizeof(out)), n);
	fill_pattern(want, from, n);
	assert_memory_equal(out, want, n);
	sn_ring_free(&ring);
}

static void test_duplicates(void **state)
{
	struct sn_reass q;
	uint32_t rcv_nxt = 5000;

	sn_reass_init(&q);
	assert_queue_empty(&q);
	insert_pattern_ok(&q, rcv_nxt, 1000, 5100, 50, false, 50);
	insert_pattern_ok(&q, rcv_nxt, 1000, 5100, 50, false, 0); /* the same */
	insert_pattern_ok(&q, rcv_nxt, 1000, 5110, 20, false, 0); /* inside */
	insert_pattern_ok(&q, rcv_nxt, 1000, 5100, 1, false, 0);  /* first byte */
	insert_pattern_ok(&q, rcv_nxt, 1000, 5149, 1, false, 0);  /* last byte */
	insert_pattern_ok(&q, rcv_nxt, 1000, 5100, 0, false, 0);  /* empty */
	assert_int_equal(q.bytes, 50);
	assert_int_equal(q.nsegs, 1);

	/* Overlapping on either side: only the new parts are stored. */
	insert_pattern_ok(&q, rcv_nxt, 1000, 5090, 20, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 1000, 5140, 20, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 1000, 5080, 100, false, 30);
	assert_int_equal(q.bytes, 100);
	assert_int_equal(q.nsegs, 5);
	assert_false(sn_reass_empty(&q));

	/* Everything in one go, once the hole fills. */
	insert_pattern_ok(&q, rcv_nxt, 1000, 5000, 80, false, 80);
	deliver_expect(&q, &rcv_nxt, 180, false);
	assert_queue_empty(&q);
	sn_reass_free(&q);
}

/* An insert spanning several held pieces fills every gap between them. */
static void test_fill_gaps(void **state)
{
	struct sn_reass q;
	uint32_t rcv_nxt = 0;

	sn_reass_init(&q);
	insert_pattern_ok(&q, rcv_nxt, 1000, 10, 10, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 1000, 30, 10, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 1000, 50, 10, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 1000, 5, 60, false, 30);
	assert_int_equal(q.bytes, 60);
	assert_int_equal(q.nsegs, 7);
	insert_pattern_ok(&q, rcv_nxt, 1000, 0, 100, false, 40);
	assert_int_equal(q.bytes, 100);
	assert_int_equal(q.nsegs, 9);
	deliver_expect(&q, &rcv_nxt, 100, false);
	assert_queue_empty(&q);
}

/* What is held stays: a differing copy of the same bytes does not replace
 * it, only the bytes around it are taken. */
static void test_keep_held(void **state)
{
	struct sn_reass q;
	struct sn_ring ring;
	uint8_t a[10], b[20], c[5], out[32];
	uint32_t rcv_nxt = 0;
	bool fin;

	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	memset(c, 'C', sizeof(c));
	sn_reass_init(&q);
	sn_ring_init(&ring, sizeof(out));
	assert_int_equal(sn_reass_insert(&q, rcv_nxt, 100, 10, a, 10, false), 10);
	assert_int_equal(sn_reass_insert(&q, rcv_nxt, 100, 5, b, 20, false), 10);
	assert_int_equal(q.nsegs, 3);
	assert_int_equal(sn_reass_insert(&q, rcv_nxt, 100, 0, c, 5, false), 5);
	assert_int_equal(sn_reass_deliver(&q, &rcv_nxt, &ring, &fin), 25);
	assert_false(fin);
	assert_int_equal(sn_ring_read(&ring, out, sizeof(out)), 25);
	assert_memory_equal(out, "CCCCCBBBBBAAAAAAAAAABBBBB", 25);
	assert_queue_empty(&q);
	sn_ring_free(&ring);
}

static void test_trim_before_rcv_nxt(void **state)
{
	struct sn_reass q;
	uint32_t rcv_nxt = 100;

	sn_reass_init(&q);
	insert_pattern_ok(&q, rcv_nxt, 1000, 50, 30, false, 0); /* all old */
	insert_pattern_ok(&q, rcv_nxt, 1000, 70, 30, false, 0); /* ends at rcv_nxt */
	insert_pattern_ok(&q, rcv_nxt, 1000, 60, 30, true, 0);  /* an old FIN */
	assert_queue_empty(&q);
	insert_pattern_ok(&q, rcv_nxt, 1000, 90, 30, false, 20); /* straddles */
	assert_int_equal(q.bytes, 20);
	deliver_expect(&q, &rcv_nxt, 20, false);
	assert_queue_empty(&q);

	/* The head of a queue overtaken by in-order text is dropped or cut
	 * by deliver, not delivered twice. */
	insert_pattern_ok(&q, rcv_nxt, 1000, 130, 10, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 1000, 150, 10, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 1000, 160, 10, false, 10);
	rcv_nxt = 155; /* in-order text 120..155 went straight to the ring */
	deliver_expect(&q, &rcv_nxt, 15, false);
	assert_queue_empty(&q);

	/* A FIN exactly at RCV.NXT is taken. */
	insert_pattern_ok(&q, rcv_nxt, 1000, rcv_nxt - 10, 10, true, 0);
	assert_true(q.fin);
	deliver_expect(&q, &rcv_nxt, 0, true);
	assert_queue_empty(&q);
}

static void test_trim_limit(void **state)
{
	struct sn_reass q;
	uint32_t rcv_nxt = 1000, blocks[4][2];

	sn_reass_init(&q);
	/* Cut at rcv_nxt + limit; the FIN after the cut bytes goes too. */
	insert_pattern_ok(&q, rcv_nxt, 50, 1040, 20, true, 10);
	assert_false(q.fin);
	assert_int_equal(q.bytes, 10);
	assert_int_equal(sn_reass_sack_blocks(&q, blocks, 4), 1);
	assert_int_equal(blocks[0][0], 1040);
	assert_int_equal(blocks[0][1], 1050);
	/* Entirely at or past the limit: nothing. */
	insert_pattern_ok(&q, rcv_nxt, 50, 1050, 10, false, 0);
	insert_pattern_ok(&q, rcv_nxt, 50, 1070, 10, true, 0);
	insert_pattern_ok(&q, rcv_nxt, 50, 1051, 0, true, 0);
	insert_pattern_ok(&q, rcv_nxt, 0, 1001, 10, false, 0);
	assert_false(q.fin);
	assert_int_equal(q.bytes, 10);
	assert_int_equal(q.nsegs, 1);
	/* A FIN right at the limit takes no room: kept. */
	insert_pattern_ok(&q, rcv_nxt, 50, 1050, 0, true, 0);
	assert_true(q.fin);
	assert_int_equal(q.fin_seq, 1050);
	insert_pattern_ok(&q, rcv_nxt, 50, 1000, 40, false, 40);
	deliver_expect(&q, &rcv_nxt, 50, true);
	assert_queue_empty(&q);

	/* A zero limit holds nothing, not even a byte at RCV.NXT. */
	insert_pattern_ok(&q, rcv_nxt, 0, rcv_nxt, 5, true, 0);
	assert_queue_empty(&q);
	/* An enormous limit is no trouble. */
	insert_pattern_ok(&q, rcv_nxt, UINT32_MAX, rcv_nxt + 5, 5, false, 5);
	insert_pattern_ok(&q, rcv_nxt, UINT32_MAX, rcv_nxt, 5, false, 5);
	deliver_expect(&q, &rcv_nxt, 10, false);
	assert_queue_empty(&q);
}

static void test_fin(void **state)
{
	struct sn_reass q;
	uint32_t rcv_nxt = 0;

	sn_reass_init(&q);
	/* A lone FIN, then the data before it. */
	insert_pattern_ok(&q, rcv_nxt, 100, 30, 0, true, 0);
	assert_true(q.fin);
	assert_int_equal(q.fin_seq, 30);
	assert_false(sn_reass_empty(&q));
	/* Its retransmission changes nothing; a FIN elsewhere is ignored;
	 * bytes at or past the FIN are dropped. */
	insert_pattern_ok(&q, rcv_nxt, 100, 20, 10, true, 10);
	insert_pattern_ok(&q, rcv_nxt, 100, 10, 5, true, 5);
	insert_pattern_ok(&q, rcv_nxt, 100, 25, 20, true, 0);
	insert_pattern_ok(&q, rcv_nxt, 100, 30, 5, false, 0);
	insert_pattern_ok(&q, rcv_nxt, 100, 40, 5, false, 0);
	assert_int_equal(q.fin_seq, 30);
	assert_int_equal(q.bytes, 15);
	/* Not before all the data. */
	insert_pattern_ok(&q, rcv_nxt, 100, 0, 10, false, 10);
	deliver_expect(&q, &rcv_nxt, 15, false);
	assert_true(q.fin);
	insert_pattern_ok(&q, rcv_nxt, 100, 15, 5, false, 5);
	deliver_expect(&q, &rcv_nxt, 15, true);
	assert_queue_empty(&q);
	/* Once taken, a retransmitted FIN is old. */
	insert_pattern_ok(&q, rcv_nxt, 100, 20, 10, true, 0);
	assert_queue_empty(&q);

	/* A FIN inside what is held already contradicts it: ignored. */
	rcv_nxt = 0;
	insert_pattern_ok(&q, rcv_nxt, 100, 50, 10, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 100, 20, 10, true, 10);
	assert_false(q.fin);
	insert_pattern_ok(&q, rcv_nxt, 100, 10, 10, true, 10);
	assert_false(q.fin);
	insert_pattern_ok(&q, rcv_nxt, 100, 40, 20, true, 10);
	assert_true(q.fin);
	assert_int_equal(q.fin_seq, 60);
	sn_reass_free(&q);
	assert_queue_empty(&q);

	/* In-order text that runs past a known FIN: the FIN is forgotten,
	 * not reported. */
	rcv_nxt = 0;
	insert_pattern_ok(&q, rcv_nxt, 100, 10, 10, true, 10);
	rcv_nxt = 25;
	deliver_expect(&q, &rcv_nxt, 0, false);
	assert_queue_empty(&q);

	/* The receiver took an in-order FIN itself (rcv_nxt one past it):
	 * the queue's copy is not reported again. */
	rcv_nxt = 0;
	insert_pattern_ok(&q, rcv_nxt, 100, 10, 10, true, 10);
	rcv_nxt = 21;
	deliver_expect(&q, &rcv_nxt, 0, false);
	assert_queue_empty(&q);
}

/* Sequence numbers across 2^32. */
static void test_wrap(void **state)
{
	struct sn_reass q;
	uint32_t rcv_nxt = 0xfffffff0, blocks[4][2];

	sn_reass_init(&q);
	insert_pattern_ok(&q, rcv_nxt, 1000, 0xfffffffa, 12, false, 12); /* across 0 */
	insert_pattern_ok(&q, rcv_nxt, 1000, 0x10, 8, true, 8);
	insert_pattern_ok(&q, rcv_nxt, 1000, 0xfffffff8, 4, false, 2);
	insert_pattern_ok(&q, rcv_nxt, 1000, 0x4, 14, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 1000, 0x18, 4, false, 0);        /* past the FIN */
	insert_pattern_ok(&q, rcv_nxt, 1000, 0xffffffe0, 16, false, 0); /* old */
	assert_true(q.fin);
	assert_int_equal(q.fin_seq, 0x18);
	assert_int_equal(q.bytes, 32);
	assert_int_equal(sn_reass_sack_blocks(&q, blocks, 4), 1);
	assert_int_equal(blocks[0][0], 0xfffffff8);
	assert_int_equal(blocks[0][1], 0x18);
	insert_pattern_ok(&q, rcv_nxt, 1000, 0xffffffe8, 16, false, 8);
	deliver_expect(&q, &rcv_nxt, 40, true);
	assert_int_equal(rcv_nxt, 0x19);
	assert_queue_empty(&q);

	/* Segments far away in either direction (beyond 2^31) are not in
	 * the window. */
	insert_pattern_ok(&q, rcv_nxt, 1000, rcv_nxt + 0x80000000u, 10, false, 0);
	insert_pattern_ok(&q, rcv_nxt, 1000, rcv_nxt + 0x90000000u, 10, true, 0);
	assert_queue_empty(&q);
}

/* The ring is smaller than what is held: delivery stops and resumes. */
static void test_ring_full(void **state)
{
	struct sn_reass q;
	struct sn_ring ring;
	uint8_t out[64], want[100];
	uint32_t rcv_nxt = 0xffffffd0, start = rcv_nxt, blocks[4][2];
	bool fin;

	sn_reass_init(&q);
	sn_ring_init(&ring, 16);
	fill_pattern(want, start, sizeof(want));
	insert_pattern_ok(&q, rcv_nxt, 1000, start + 10, 30, false, 30);
	insert_pattern_ok(&q, rcv_nxt, 1000, start + 40, 30, false, 30);
	insert_pattern_ok(&q, rcv_nxt, 1000, start + 70, 30, true, 30);
	insert_pattern_ok(&q, rcv_nxt, 1000, start + 0, 10, false, 10);

	size_t got = 0;
	for (unsigned round = 0; round < 6; round++) {
		uint32_t n = sn_reass_deliver(&q, &rcv_nxt, &ring, &fin);

		assert_int_equal(n, 16);
		assert_false(fin);
		assert_int_equal(q.bytes, 100 - got - 16);
		/* What waits behind the full ring is still held and still
		 * reported. */
		assert_int_equal(sn_reass_sack_blocks(&q, blocks, 4), 1);
		assert_int_equal(blocks[0][0], rcv_nxt);
		assert_int_equal(blocks[0][1], start + 100);
		/* Nothing more fits. */
		assert_int_equal(sn_reass_deliver(&q, &rcv_nxt, &ring, &fin), 0);
		assert_int_equal(sn_ring_read(&ring, out, sizeof(out)), 16);
		assert_memory_equal(out, want + got, 16);
		got += 16;
	}
	assert_int_equal(sn_reass_deliver(&q, &rcv_nxt, &ring, &fin), 100 - got);
	assert_true(fin);
	assert_int_equal(rcv_nxt, start + 101);
	assert_int_equal(sn_ring_read(&ring, out, sizeof(out)), 100 - got);
	assert_memory_equal(out, want + got, 100 - got);
	assert_queue_empty(&q);
	/* Nothing reported twice. */
	assert_int_equal(sn_reass_deliver(&q, &rcv_nxt, &ring, &fin), 0);
	assert_false(fin);
	sn_ring_free(&ring);
}

static void expect_blocks(const struct sn_reass *q, unsigned max, unsigned n, const uint32_t *want)
{
	uint32_t blocks[8][2];

	assert_true(max <= 8);
	assert_int_equal(sn_reass_sack_blocks(q, blocks, max), n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(blocks[i][0], want[2 * i]);
		assert_int_equal(blocks[i][1], want[2 * i + 1]);
	}
}

static void test_sack_blocks(void **state)
{
	struct sn_reass q;
	uint32_t rcv_nxt = 1000;

	sn_reass_init(&q);
	/* A, then C, then B: the most recent first. */
	insert_pattern_ok(&q, rcv_nxt, 2000, 1100, 10, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 2000, 1300, 10, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 2000, 1200, 10, false, 10);
	expect_blocks(&q, 4, 3, (const uint32_t[]){1200, 1210, 1300, 1310, 1100, 1110});
	expect_blocks(&q, 2, 2, (const uint32_t[]){1200, 1210, 1300, 1310});
	expect_blocks(&q, 0, 0, NULL);

	/* Growing A makes it the first, whole. */
	insert_pattern_ok(&q, rcv_nxt, 2000, 1110, 10, false, 10);
	expect_blocks(&q, 4, 3, (const uint32_t[]){1100, 1120, 1200, 1210, 1300, 1310});
	insert_pattern_ok(&q, rcv_nxt, 2000, 1090, 10, false, 10);
	expect_blocks(&q, 4, 3, (const uint32_t[]){1090, 1120, 1200, 1210, 1300, 1310});

	/* Joining B and C leaves one block for both. */
	insert_pattern_ok(&q, rcv_nxt, 2000, 1205, 100, false, 90);
	expect_blocks(&q, 4, 2, (const uint32_t[]){1200, 1310, 1090, 1120});

	/* A duplicate inside an older block brings that block forward
	 * (it is what the ACK answers). */
	insert_pattern_ok(&q, rcv_nxt, 2000, 1095, 5, false, 0);
	expect_blocks(&q, 4, 2, (const uint32_t[]){1090, 1120, 1200, 1310});

	/* More blocks than recent[] holds: the rest in sequence order. */
	insert_pattern_ok(&q, rcv_nxt, 2000, 1500, 10, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 2000, 1400, 10, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 2000, 1600, 10, false, 10);
	insert_pattern_ok(&q, rcv_nxt, 2000, 1700, 10, false, 10);
	expect_blocks(&q, 8, 6,
	              (const uint32_t[]){1700, 1710, 1600, 1610, 1400, 1410, 1500, 1510, 1090, 1120,
	                                 1200, 1310});
	expect_blocks(&q, 3, 3, (const uint32_t[]){1700, 1710, 1600, 1610, 1400, 1410});
	expect_blocks(&q, 1, 1, (const uint32_t[]){1700, 1710});

	/* Delivered blocks vanish. */
	insert_pattern_ok(&q, rcv_nxt, 2000, 1000, 90, false, 90);
	deliver_expect(&q, &rcv_nxt, 120, false);
	expect_blocks(
	    &q, 8, 5,
	    (const uint32_t[]){1700, 1710, 1600, 1610, 1400, 1410, 1500, 1510, 1200, 1310});
	insert_pattern_ok(&q, rcv_nxt, 2000, 1120, 80, false, 80);
	deliver_expect(&q, &rcv_nxt, 190, false);
	expect_blocks(&q, 8, 4, (const uint32_t[]){1700, 1710, 1600, 1610, 1400, 1410, 1500, 1510});
	/* Joining two recent blocks through a gap. */
	insert_pattern_ok(&q, rcv_nxt, 2000, 1410, 90, false, 90);
	expect_blocks(&q, 8, 3, (const uint32_t[]){1400, 1510, 1700, 1710, 1600, 1610});
	sn_reass_free(&q);
	assert_queue_empty(&q);
}

/*
 * A long run of appends after one hole: each must find its place at the
 * tail without walking the list. Not a timing test as such, but a walk from
 * the head makes this quadratic (hours instead of a fraction of a second),
 * far past the CTest timeout.
 */
static void test_many_appends(void **state)
{
	struct sn_reass q;
	struct sn_ring ring;
	uint8_t byte, *out;
	uint32_t rcv_nxt = 0xfff00000, blocks[4][2];
	bool fin;
	const uint32_t n = 1000000;

	sn_reass_init(&q);
	for (uint32_t i = 1; i <= n; i++) {
		byte = pattern(rcv_nxt + i);
		assert_int_equal(
		    sn_reass_insert(&q, rcv_nxt, UINT32_MAX, rcv_nxt + i, &byte, 1, i == n), 1);
	}
	assert_int_equal(q.nsegs, n);
	assert_int_equal(sn_reass_sack_blocks(&q, blocks, 4), 1);
	assert_int_equal(blocks[0][0], rcv_nxt + 1);
	assert_int_equal(blocks[0][1], rcv_nxt + n + 1);
	byte = pattern(rcv_nxt);
	assert_int_equal(sn_reass_insert(&q, rcv_nxt, UINT32_MAX, rcv_nxt, &byte, 1, false), 1);
	sn_ring_init(&ring, n + 1);
	assert_int_equal(sn_reass_deliver(&q, &rcv_nxt, &ring, &fin), n + 1);
	assert_true(fin);
	assert_queue_empty(&q);
	out = test_malloc(n + 1);
	assert_int_equal(sn_ring_read(&ring, out, n + 1), n + 1);
	for (uint32_t i = 0; i <= n; i++)
		assert_int_equal(out[i], pattern(0xfff00000u + i));
	test_free(out);
	sn_ring_free(&ring);
}

/* Freeing with data and a FIN held: nothing leaks (ASan checks). */
static void test_free_with_data(void **state)
{
	struct sn_reass q;

	sn_reass_init(&q);
	sn_reass_free(&q);
	for (uint32_t i = 0; i < 50; i++)
		insert_pattern_ok(&q, 0, 10000, 10 + 20 * (i * 7 % 50), 10, false, 10);
	insert_pattern_ok(&q, 0, 10000, 0, 2000, true, 1500);
	assert_int_equal(q.bytes, 2000);
	sn_reass_free(&q);
	assert_queue_empty(&q);
	/* Usable again after free. */
	insert_pattern_ok(&q, 0, 100, 5, 5, false, 5);
	sn_reass_free(&q);
}

/* ------------------------------------------------------------------------ */
/* The random model */

/*
 * The model: one flag per sequence number from RCV.NXT on (held, and whether
 * a stored piece begins there), kept as stream positions (int64, from 0) so
 * that it never wraps; the queue sees base + position.
 */
#define MAX_LIMIT 1000
#define MODEL_WIN 2048 /* > MAX_LIMIT: all held positions fit */
#define MODEL_OPS 100000

struct model {
	int64_t r; /* RCV.NXT */
	bool held[MODEL_WIN];
	bool start[MODEL_WIN];
	bool fin;
	int64_t fin_pos;
	int64_t recent[4][2];
	unsigned nrecent;
	uint8_t fifo[4096]; /* what the ring should hold */
	uint32_t fifo_len;
};

static bool *held_at(struct model *m, int64_t pos)
{
	return &m->held[pos & (MODEL_WIN - 1)];
}

static bool *start_at(struct model *m, int64_t pos)
{
	return &m->start[pos & (MODEL_WIN - 1)];
}

/* Nothing is held at or past r + MAX_LIMIT (limit <= MAX_LIMIT, r only
 * grows), so scans stop there. */
static bool model_held(struct model *m, int64_t pos)
{
	return pos >= m->r && pos < m->r + MAX_LIMIT && *held_at(m, pos);
}

static void model_forget(struct model *m, int64_t pos)
{
	*held_at(m, pos) = false;
	*start_at(m, pos) = false;
}

static void model_note_recent(struct model *m, int64_t pos)
{
	int64_t left = pos, right = pos, keep[4][2];
	unsigned n = 0;

	while (model_held(m, left - 1))
		left--;
	while (model_held(m, right))
		right++;
	for (unsigned i = 0; i < m->nrecent && n < (left == m->r ? 4u : 3u); i++) {
		if (m->recent[i][0] < right && left < m->recent[i][1])
			continue;
		keep[n][0] = m->recent[i][0];
		keep[n][1] = m->recent[i][1];
		n++;
	}
	if (left == m->r) {
		/* About to be delivered: not reported, nothing pushed out. */
		memcpy(m->recent, keep, n * sizeof(keep[0]));
		m->nrecent = n;
		return;
	}
	m->recent[0][0] = left;
	m->recent[0][1] = right;
	memcpy(m->recent[1], keep, n * sizeof(keep[0]));
	m->nrecent = n + 1;
}

static long model_insert(struct model *m, int64_t s, int64_t e, uint32_t limit, bool fin)
{
	long stored = 0;
	bool prev_new = false;

	if (e < m->r)
		return 0;
	if (s < m->r)
		s = m->r;
	if (s - m->r > limit)
		return 0;
	if (e - m->r > limit) {
		e = m->r + limit;
		fin = false;
	}
	if (m->fin) {
		fin = false;
		if (e > m->fin_pos)
			e = s > m->fin_pos ? s : m->fin_pos;
	}
	for (int64_t i = s; i < e; i++) {
		if (*held_at(m, i)) {
			prev_new = false;
			continue;
		}
		*held_at(m, i) = true;
		*start_at(m, i) = !prev_new;
		prev_new = true;
		stored++;
	}
	if (e > s)
		model_note_recent(m, s);
	if (fin) {
		bool past = false;

		for (int64_t i = e; i < m->r + MAX_LIMIT; i++)
			past |= model_held(m, i);
		if (!past) {
			m->fin = true;
			m->fin_pos = e;
		}
	}
	return stored;
}

/* Returns bytes moved; *fin as deliver would set it. */
static uint32_t model_deliver(struct model *m, uint32_t ring_cap, bool *fin)
{
	uint32_t moved = 0;
	unsigned n = 0;

	while (model_held(m, m->r) && m->fifo_len < ring_cap) {
		m->fifo[m->fifo_len++] = pattern((uint64_t)m->r);
		model_forget(m, m->r);
		m->r++;
		moved++;
	}
	if (model_held(m, m->r))
		*start_at(m, m->r) = true; /* the rest of a piece cut in two */
	*fin = false;
	if (m->fin && m->r == m->fin_pos) {
		model_forget(m, m->r);
		m->r++;
		m->fin = false;
		*fin = true;
	} else if (m->fin && m->r > m->fin_pos) {
		m->fin = false;
	}
	for (unsigned i = 0; i < m->nrecent; i++) {
		if (m->recent[i][1] <= m->r)
			continue;
		m->recent[n][0] = m->recent[i][0] > m->r ? m->recent[i][0] : m->r;
		m->recent[n][1] = m->recent[i][1];
		n++;
	}
	m->nrecent = n;
	return moved;
}

static void model_check(struct model *m, const struct sn_reass *q, uint32_t base,
                        struct sn_rand *rng)
{
	uint32_t bytes = 0, nsegs = 0, blocks[8][2], want[8][2];
	unsigned max = sn_rand_below(rng, 7), n = 0;

	for (int64_t i = m->r; i < m->r + MAX_LIMIT; i++) {
		bytes += *held_at(m, i);
		nsegs += *held_at(m, i) && *start_at(m, i);
	}
	assert_int_equal(q->bytes, bytes);
	assert_int_equal(q->nsegs, nsegs);
	assert_int_equal(q->fin, m->fin);
	if (m->fin)
		assert_int_equal(q->fin_seq, base + (uint32_t)m->fin_pos);
	assert_int_equal(sn_reass_empty(q), bytes == 0 && !m->fin);

	/* SACK: the recent blocks, then the other runs lowest first. */
	for (unsigned i = 0; i < m->nrecent && n < max; i++, n++) {
		want[n][0] = base + (uint32_t)m->recent[i][0];
		want[n][1] = base + (uint32_t)m->recent[i][1];
	}
	for (int64_t i = m->r; i < m->r + MAX_LIMIT && n < max; i++) {
		int64_t left = i;
		bool recent = false;

		if (!model_held(m, i))
			continue;
		while (model_held(m, i))
			i++;
		for (unsigned j = 0; j < m->nrecent; j++)
			recent |= m->recent[j][0] == left;
		if (!recent) {
			want[n][0] = base + (uint32_t)left;
			want[n][1] = base + (uint32_t)i;
			n++;
		}
	}
	assert_int_equal(sn_reass_sack_blocks(q, blocks, max), n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(blocks[i][0], want[i][0]);
		assert_int_equal(blocks[i][1], want[i][1]);
	}
}

static void model_run(uint64_t seed, uint32_t base, uint32_t ring_cap)
{
	struct sn_rand rng;
	struct model *m = test_calloc(1, sizeof(*m));
	struct sn_reass q;
	struct sn_ring ring;
	uint8_t buf[4096];
	uint32_t rcv_nxt;
	unsigned fins = 0;

	assert_true(ring_cap <= sizeof(m->fifo));
	sn_rand_seed(&rng, seed);
	sn_reass_init(&q);
	sn_ring_init(&ring, ring_cap);
	m->r = 100; /* room for segments that start before RCV.NXT */
	rcv_nxt = base + (uint32_t)m->r;
	for (unsigned op = 0; op < MODEL_OPS; op++) {
		uint32_t k = sn_rand_below(&rng, 100);
		bool fin, mfin;

		if (k < 60) {
			/* A segment somewhere around the window. */
			uint32_t limit = sn_rand_below(&rng, 8) == 0
			                     ? sn_rand_below(&rng, 20)
			                     : sn_rand_below(&rng, MAX_LIMIT + 1);
			int64_t pos = m->r - 40 + sn_rand_below(&rng, limit + 100);
			uint32_t len = sn_rand_below(&rng, 8) == 0 ? sn_rand_below(&rng, 500)
			                                           : sn_rand_below(&rng, 60);

			fin = sn_rand_ppm(&rng, 5000);
			fill_pattern(buf, (uint64_t)pos, len);
			assert_int_equal(sn_reass_insert(&q, rcv_nxt, limit, base + (uint32_t)pos,
			                                 buf, len, fin),
			                 model_insert(m, pos, pos + len, limit, fin));
		} else if (k < 75) {
			/* In-order text straight into the ring, then delivery. */
			uint32_t len = 1 + sn_rand_below(&rng, 80);
			long n;

			fill_pattern(buf, (uint64_t)m->r, len);
			n = sn_ring_write(&ring, buf, len);
			assert_true(n >= 0);
			memcpy(m->fifo + m->fifo_len, buf, (size_t)n);
			m->fifo_len += (uint32_t)n;
			for (long i = 0; i < n; i++)
				model_forget(m, m->r++);
			rcv_nxt += (uint32_t)n;
			assert_int_equal(sn_reass_deliver(&q, &rcv_nxt, &ring, &fin),
			                 model_deliver(m, ring_cap, &mfin));
			assert_int_equal(fin, mfin);
			fins += fin;
		} else if (k < 85) {
			assert_int_equal(sn_reass_deliver(&q, &rcv_nxt, &ring, &fin),
			                 model_deliver(m, ring_cap, &mfin));
			assert_int_equal(fin, mfin);
			fins += fin;
		} else if (k < 99) {
			/* The application reads. */
			uint32_t len = sn_rand_below(&rng, ring_cap + 1);
			uint32_t n = len < m->fifo_len ? len : m->fifo_len;

			assert_int_equal(sn_ring_read(&ring, buf, len), n);
			assert_memory_equal(buf, m->fifo, n);
			memmove(m->fifo, m->fifo + n, m->fifo_len - n);
			m->fifo_len -= n;
		} else if (sn_rand_below(&rng, 10) == 0) {
			/* The connection goes away with data held. */
			sn_reass_free(&q);
			for (int64_t i = m->r; i < m->r + MAX_LIMIT; i++)
				model_forget(m, i);
			m->fin = false;
			m->nrecent = 0;
		}
		assert_int_equal(rcv_nxt, base + (uint32_t)m->r);
		model_check(m, &q, base, &rng);
	}
	/* The runs should have seen some FINs and wrapped. */
	assert_true(fins > 0);
	sn_reass_free(&q);
	sn_ring_free(&ring);
	test_free(m);
}

static void test_random_model(void **state)
{
	/* Bases just short of 2^32 so that every run wraps early. */
	model_run(0x5eed1, 0xffffff00u, 4096);
	model_run(0x5eed2, 0xfffff000u, 700);
	model_run(0x5eed3, 0x7fffff00u, 60);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_consecutive_permutations),
	    cmocka_unit_test(test_overlapping_permutations),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_fill_gaps),
	    cmocka_unit_test(test_keep_held),
	    cmocka_unit_test(test_trim_before_rcv_nxt),
	    cmocka_unit_test(test_trim_limit),
	    cmocka_unit_test(test_fin),
	    cmocka_unit_test(test_wrap),
	    cmocka_unit_test(test_ring_full),
	    cmocka_unit_test(test_sack_blocks),
	    cmocka_unit_test(test_many_appends),
	    cmocka_unit_test(test_free_with_data),
	    cmocka_unit_test(test_random_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
