/*
 * test_memlink.c - the in-memory link: delivery, rate limiting, impairments,
 * determinism from the seed, re-entrant delivery, the scheduled drop of one
 * chosen frame, and the fast path for unimpaired frames (its FIFO merged with
 * the heap, its observer events and drop counting).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "synack.h"

#define MAX_RECORDS 64

/* One frame handed to a deliver function. */
struct delivery {
	uint64_t now_us;
	size_t len;
	uint8_t data[1600];
};

/* One observer callback. */
struct seen {
	int from_end;
	enum sn_link_event ev;
	uint32_t id;
	uint64_t now_us;
};

struct fixture {
	struct sn_memlink *link;
	struct delivery got[2][MAX_RECORDS]; /* indexed by the receiving end */
	size_t ngot[2];
	struct seen ev[4 * MAX_RECORDS]; /* the first events, in order */
	size_t nev;
	size_t count[SN_LINK_DELIVERED + 1]; /* every event, by kind */
	int echo; /* deliver functions send frames back: -1 forever, n for n hops */
	struct end_ctx {
		struct fixture *fx;
		int end;
	} ends[2]; /* the deliver ctx of each end */
};

static uint32_t frame_id(const void *frame, size_t len)
{
	uint32_t id = 0;

	if (len >= 4)
		memcpy(&id, frame, 4);
	return id;
}

static void on_deliver(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct end_ctx *e = ctx;
	struct fixture *fx = e->fx;

	if (fx->ngot[e->end] < MAX_RECORDS) {
		struct delivery *d = &fx->got[e->end][fx->ngot[e->end]];

		d->now_us = now_us;
		d->len = len < sizeof(d->data) ? len : sizeof(d->data);
		memcpy(d->data, frame, d->len);
	}
	fx->ngot[e->end]++;
	if (fx->echo) {
		/* Count hops in the second word and stop after a few round trips. */
		uint8_t buf[8];
		uint32_t hops;

		assert_int_equal(len, sizeof(buf));
		memcpy(buf, frame, len);
		memcpy(&hops, buf + 4, 4);
		if (fx->echo > 0 && hops >= (uint32_t)fx->echo)
			return;
		hops++;
		memcpy(buf + 4, &hops, 4);
		assert_int_equal(sn_memlink_ops()->transmit(sn_memlink_end(fx->link, e->end),
		                                            buf, sizeof(buf), now_us),
		                 0);
	}
}

static void on_event(void *ctx, int from_end, enum sn_link_event ev, const void *frame,
                     size_t len, uint64_t now_us)
{
	struct fixture *fx = ctx;

	if (fx->nev < sizeof(fx->ev) / sizeof(fx->ev[0])) {
		struct seen *s = &fx->ev[fx->nev];

		s->from_end = from_end;
		s->ev = ev;
		s->id = frame_id(frame, len);
		s->now_us = now_us;
	}
	fx->nev++;
	fx->count[ev]++;
}

static void attach(struct fixture *fx)
{
	for (int i = 0; i < 2; i++) {
		fx->ends[i].fx = fx;
		fx->ends[i].end = i;
		sn_memlink_set_deliver(fx->link, i, on_deliver, &fx->ends[i]);
	}
	sn_memlink_set_observer(fx->link, on_event, fx);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->link = sn_memlink_new(42);
	if (!fx->link) {
		free(fx);
		return -1;
	}
	attach(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	sn_memlink_free(fx->link);
	free(fx);
	return 0;
}

static int send_id(struct sn_memlink *link, int end, uint32_t id, size_t len, uint64_t now_us)
{
	uint8_t buf[1600] = { 0 };

	assert_true(len >= 4 && len <= sizeof(buf));
	memcpy(buf, &id, 4);
	for (size_t i = 4; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + id);
	return sn_memlink_ops()->transmit(sn_memlink_end(link, end), buf, len, now_us);
}

/* Poll at every deadline until nothing is left in flight. */
static void drain(struct sn_memlink *link)
{
	uint64_t t;

	while ((t = sn_memlink_next_deadline(link)) != SN_TIME_NEVER)
		sn_memlink_poll(link, t);
}

static size_t count_events(const struct fixture *fx, enum sn_link_event ev)
{
	return fx->count[ev];
}

static void test_plain_delivery(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair imp = { .delay_us = 500 };

	assert_null(sn_memlink_end(fx->link, 2));
	assert_null(sn_memlink_end(fx->link, -1));
	sn_memlink_set_impair(fx->link, 0, &imp);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(send_id(fx->link, 0, i, 60, 1000 + 10 * i), 0);
	assert_int_equal(sn_memlink_in_flight(fx->link), 5);

	/* Nothing arrives a microsecond early, each frame exactly on time. */
	for (uint32_t i = 0; i < 5; i++) {
		uint64_t due = 1500 + 10 * i;

		assert_int_equal(sn_memlink_next_deadline(fx->link), due);
		assert_int_equal(sn_memlink_poll(fx->link, due - 1), 0);
		assert_int_equal(sn_memlink_poll(fx->link, due), 1);
		assert_int_equal(fx->ngot[1], i + 1);
		assert_int_equal(frame_id(fx->got[1][i].data, fx->got[1][i].len), i);
		assert_int_equal(fx->got[1][i].len, 60);
		assert_int_equal(fx->got[1][i].now_us, due);
	}
	assert_int_equal(fx->ngot[0], 0);
	assert_int_equal(sn_memlink_in_flight(fx->link), 0);

	/* The other direction has no delay configured and delivers the same tick. */
	assert_int_equal(send_id(fx->link, 1, 99, 60, 7000), 0);
	assert_int_equal(sn_memlink_poll(fx->link, 7000), 1);
	assert_int_equal(fx->ngot[0], 1);
	assert_int_equal(frame_id(fx->got[0][0].data, 60), 99);
}

static void test_same_time_keeps_send_order(void **state)
{
	struct fixture *fx = *state;

	for (uint32_t i = 0; i < 40; i++)
		assert_int_equal(send_id(fx->link, i % 2, i, 64, 0), 0);
	assert_int_equal(sn_memlink_poll(fx->link, 0), 40);
	for (uint32_t i = 0; i < 20; i++) {
		assert_int_equal(frame_id(fx->got[1][i].data, 64), 2 * i);
		assert_int_equal(frame_id(fx->got[0][i].data, 64), 2 * i + 1);
	}
}

/* For the heap check: every arrival is recorded as (time, id). */
struct arrival_log {
	uint64_t *at_us;
	uint32_t *id;
	size_t n;
};

static void log_arrival(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct arrival_log *log = ctx;

	log->at_us[log->n] = now_us;
	log->id[log->n] = frame_id(frame, len);
	log->n++;
}

static void test_many_frames_in_arrival_order(void **state)
{
	struct fixture *fx = *state;
	enum { N = 5000 };
	uint64_t *due = calloc(N, sizeof(*due));
	struct arrival_log log = { calloc(N, sizeof(uint64_t)), calloc(N, sizeof(uint32_t)), 0 };
	uint64_t x = 99;

	assert_non_null(due);
	assert_non_null(log.at_us);
	assert_non_null(log.id);
	sn_memlink_set_deliver(fx->link, 1, log_arrival, &log);
	/* Delays from a private generator, with many collisions on purpose. */
	for (uint32_t i = 0; i < N; i++) {
		struct sn_link_impair imp;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		imp = (struct sn_link_impair){ .delay_us = (x >> 33) % 300 };
		sn_memlink_set_impair(fx->link, 0, &imp);
		due[i] = i / 10 + imp.delay_us;
		assert_int_equal(send_id(fx->link, 0, i, 8, i / 10), 0);
		if (i % 97 == 0)
			sn_memlink_poll(fx->link, i / 10);
	}
	drain(fx->link);
	assert_int_equal(log.n, N);
	for (size_t k = 0; k < N; k++) {
		uint32_t id = log.id[k];

		assert_true(id < N);
		/* Polled late at most by the interleaved polls' granularity: never early. */
		assert_true(log.at_us[k] >= due[id]);
		if (k == 0)
			continue;
		assert_true(due[log.id[k - 1]] <= due[id]);
		if (due[log.id[k - 1]] == due[id])
			assert_true(log.id[k - 1] < id);
	}
	free(due);
	free(log.at_us);
	free(log.id);
}

static void test_rate_limit(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair imp = { .rate_bps = 1000000, .delay_us = 100 };

	sn_memlink_set_impair(fx->link, 0, &imp);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(send_id(fx->link, 0, i, 1250, 0), 0);
	drain(fx->link);
	assert_int_equal(fx->ngot[1], 10);
	/* 1250 bytes at 1 Mbit/s take 10 ms on the wire, back to back. */
	for (uint32_t i = 0; i < 10; i++) {
		assert_int_equal(frame_id(fx->got[1][i].data, 1250), i);
		assert_int_equal(fx->got[1][i].now_us, 10000 * (i + 1) + 100);
	}

	/* An idle transmitter starts at once: no credit, no debt. */
	assert_int_equal(send_id(fx->link, 0, 50, 1250, 500000), 0);
	assert_int_equal(sn_memlink_next_deadline(fx->link), 510100);
	drain(fx->link);
}

static void test_rate_fraction_does_not_drift(void **state)
{
	struct fixture *fx = *state;
	/* 5 bytes = 40 bits at 7 Mbit/s = 5.714 µs each; frame k leaves at 40k/7 µs. */
	struct sn_link_impair imp = { .rate_bps = 7000000 };
	const uint64_t expect[8] = { 6, 12, 18, 23, 29, 35, 40, 46 };

	sn_memlink_set_impair(fx->link, 0, &imp);
	for (uint32_t i = 0; i < 8; i++) {
		uint8_t b[5] = { (uint8_t)i };

		assert_int_equal(sn_memlink_ops()->transmit(sn_memlink_end(fx->link, 0), b, 5, 0), 0);
	}
	for (int i = 0; i < 8; i++) {
		assert_int_equal(sn_memlink_next_deadline(fx->link), expect[i]);
		assert_int_equal(sn_memlink_poll(fx->link, expect[i]), 1);
	}
}

static void test_queue_limit(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair imp = { .rate_bps = 1000000, .queue_limit_bytes = 2500 };
	const uint32_t want_ids[] = { 0, 1, 2, 5 };
	const uint64_t want_at[] = { 10000, 20000, 30000, 40000 };
	const uint32_t want_drop[] = { 3, 4, 6 };
	size_t ndrop = 0;

	sn_memlink_set_impair(fx->link, 0, &imp);
	/*
	 * At t=0 frame 0 goes straight onto the transmitter; 1 and 2 wait
	 * (2500 bytes), so 3 and 4 overflow the queue.
	 */
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(send_id(fx->link, 0, i, 1250, 0), 0);
	/* At 10 ms frame 1 is on the transmitter: 2 waits alone, 5 fits, 6 does not. */
	assert_int_equal(send_id(fx->link, 0, 5, 1250, 10000), 0);
	assert_int_equal(send_id(fx->link, 0, 6, 1250, 10000), 0);
	drain(fx->link);

	assert_int_equal(fx->ngot[1], 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(frame_id(fx->got[1][i].data, 1250), want_ids[i]);
		assert_int_equal(fx->got[1][i].now_us, want_at[i]);
	}
	for (size_t i = 0; i < fx->nev; i++) {
		if (fx->ev[i].ev != SN_LINK_QDROP)
			continue;
		assert_true(ndrop < 3);
		assert_int_equal(fx->ev[i].id, want_drop[ndrop]);
		assert_int_equal(fx->ev[i].from_end, 0);
		ndrop++;
	}
	assert_int_equal(ndrop, 3);
	assert_int_equal(count_events(fx, SN_LINK_SENT), 4);
}

static void test_loss_all_or_nothing(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair imp = { .loss_ppm = 1000000 };

	sn_memlink_set_impair(fx->link, 0, &imp);
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(send_id(fx->link, 0, i, 60, i), 0); /* loss is not an error */
	assert_int_equal(sn_memlink_in_flight(fx->link), 0);
	assert_int_equal(sn_memlink_poll(fx->link, 5000), 0);
	assert_int_equal(count_events(fx, SN_LINK_LOST), 1000);
	assert_int_equal(fx->nev, 1000);
	assert_int_equal(fx->ev[0].ev, SN_LINK_LOST);
	assert_int_equal(fx->ev[0].now_us, 0);

	imp.loss_ppm = 0;
	sn_memlink_set_impair(fx->link, 0, &imp);
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(send_id(fx->link, 0, i, 60, 10000), 0);
	assert_int_equal(sn_memlink_poll(fx->link, 10000), 1000);
	assert_int_equal(fx->ngot[1], 1000);
}

#define LOSS_FRAMES 100000

/* Send LOSS_FRAMES frames at 10% loss and record which were dropped. */
static size_t loss_pattern(uint64_t seed, uint8_t *lost)
{
	struct sn_memlink *link = sn_memlink_new(seed);
	struct sn_link_impair imp = { .loss_ppm = 100000 };
	size_t before, nlost = 0;

	assert_non_null(link);
	sn_memlink_set_impair(link, 0, &imp);
	for (uint32_t i = 0; i < LOSS_FRAMES; i++) {
		before = sn_memlink_in_flight(link);
		assert_int_equal(send_id(link, 0, i, 16, i), 0);
		lost[i] = sn_memlink_in_flight(link) == before;
		nlost += lost[i];
		/* No deliver function: frames are discarded, keeping memory flat. */
		sn_memlink_poll(link, i);
	}
	sn_memlink_free(link);
	return nlost;
}

static void test_loss_rate_and_seed(void **state)
{
	uint8_t *a = calloc(LOSS_FRAMES, 1);
	uint8_t *b = calloc(LOSS_FRAMES, 1);
	uint8_t *c = calloc(LOSS_FRAMES, 1);
	size_t na, nb, nc;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	na = loss_pattern(1234, a);
	nb = loss_pattern(1234, b);
	nc = loss_pattern(4321, c);
	assert_in_range(na, 9500, 10500);
	assert_in_range(nc, 9500, 10500);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, LOSS_FRAMES);
	assert_memory_not_equal(a, c, LOSS_FRAMES);
	free(a);
	free(b);
	free(c);
}

static void test_dup(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair imp = { .dup_ppm = 1000000, .delay_us = 20 };

	sn_memlink_set_impair(fx->link, 1, &imp);
	assert_int_equal(send_id(fx->link, 1, 7, 100, 0), 0);
	assert_int_equal(send_id(fx->link, 1, 8, 100, 0), 0);
	assert_int_equal(sn_memlink_in_flight(fx->link), 4);
	assert_int_equal(sn_memlink_poll(fx->link, 20), 4);
	assert_int_equal(fx->ngot[0], 4);
	/* Each copy follows its original at once, before the next frame. */
	assert_int_equal(frame_id(fx->got[0][0].data, 100), 7);
	assert_int_equal(frame_id(fx->got[0][1].data, 100), 7);
	assert_int_equal(frame_id(fx->got[0][2].data, 100), 8);
	assert_int_equal(frame_id(fx->got[0][3].data, 100), 8);
	assert_memory_equal(fx->got[0][0].data, fx->got[0][1].data, 100);
	assert_memory_equal(fx->got[0][2].data, fx->got[0][3].data, 100);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fx->got[0][i].now_us, 20);
	assert_int_equal(count_events(fx, SN_LINK_DUP), 2);
	assert_int_equal(count_events(fx, SN_LINK_SENT), 2);
	assert_int_equal(count_events(fx, SN_LINK_DELIVERED), 4);
}

static void test_corrupt_one_byte(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair imp = { .corrupt_ppm = 1000000 };
	uint8_t orig[200];
	size_t changed_at[200] = { 0 };
	size_t positions = 0;

	sn_memlink_set_impair(fx->link, 0, &imp);
	for (int n = 0; n < 2000; n++) {
		const uint8_t *got = fx->got[1][0].data;
		size_t diffs = 0, where = 0;

		for (size_t i = 0; i < sizeof(orig); i++)
			orig[i] = (uint8_t)(n + i);
		assert_int_equal(sn_memlink_ops()->transmit(sn_memlink_end(fx->link, 0), orig,
		                                            sizeof(orig), (uint64_t)n),
		                 0);
		fx->ngot[1] = 0;
		assert_int_equal(sn_memlink_poll(fx->link, (uint64_t)n), 1);
		assert_int_equal(fx->got[1][0].len, sizeof(orig));
		for (size_t i = 0; i < sizeof(orig); i++) {
			if (got[i] != orig[i]) {
				diffs++;
				where = i;
			}
		}
		assert_int_equal(diffs, 1);
		changed_at[where]++;
	}
	/* The byte is chosen at random, not always the same one. */
	for (size_t i = 0; i < sizeof(orig); i++)
		positions += changed_at[i] != 0;
	assert_true(positions > 150);
	assert_int_equal(count_events(fx, SN_LINK_CORRUPT), 2000);
}

static void test_reorder(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair held = { .delay_us = 100, .reorder_ppm = 1000000,
	                               .reorder_delay_us = 1000 };
	struct sn_link_impair plain = { .delay_us = 100 };

	sn_memlink_set_impair(fx->link, 0, &held);
	assert_int_equal(send_id(fx->link, 0, 1, 60, 0), 0);
	sn_memlink_set_impair(fx->link, 0, &plain);
	assert_int_equal(send_id(fx->link, 0, 2, 60, 10), 0);
	assert_int_equal(send_id(fx->link, 0, 3, 60, 20), 0);
	assert_int_equal(sn_memlink_next_deadline(fx->link), 110);
	drain(fx->link);

	assert_int_equal(fx->ngot[1], 3);
	assert_int_equal(frame_id(fx->got[1][0].data, 60), 2);
	assert_int_equal(frame_id(fx->got[1][1].data, 60), 3);
	assert_int_equal(frame_id(fx->got[1][2].data, 60), 1);
	assert_int_equal(fx->got[1][0].now_us, 110);
	assert_int_equal(fx->got[1][1].now_us, 120);
	assert_int_equal(fx->got[1][2].now_us, 1100);
	assert_int_equal(count_events(fx, SN_LINK_REORDER), 1);
	assert_int_equal(fx->ev[0].ev, SN_LINK_REORDER);
	assert_int_equal(fx->ev[0].id, 1);
}

static void test_echo_terminates(void **state)
{
	struct fixture *fx = *state;
	uint8_t buf[8] = { 0 };
	size_t polls = 0;

	/* Unbounded zero-delay ping-pong: each poll delivers what was there. */
	fx->echo = -1;
	assert_int_equal(sn_memlink_ops()->transmit(sn_memlink_end(fx->link, 0), buf, 8, 5), 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(sn_memlink_poll(fx->link, 5), 1);
		assert_int_equal(sn_memlink_in_flight(fx->link), 1);
		assert_int_equal(sn_memlink_next_deadline(fx->link), 5);
	}
	assert_int_equal(fx->ngot[0] + fx->ngot[1], 10);
	assert_int_equal(fx->ngot[0], 5);
	assert_int_equal(fx->ngot[1], 5);

	/* Bounded: the echo stops after 9 hops, so 10 deliveries later it is quiet. */
	sn_memlink_free(fx->link);
	fx->link = sn_memlink_new(42);
	assert_non_null(fx->link);
	attach(fx);
	fx->ngot[0] = fx->ngot[1] = 0;
	fx->echo = 9;
	{
		struct sn_link_impair imp = { .delay_us = 3 };

		sn_memlink_set_impair(fx->link, 0, &imp);
		sn_memlink_set_impair(fx->link, 1, &imp);
	}
	assert_int_equal(sn_memlink_ops()->transmit(sn_memlink_end(fx->link, 0), buf, 8, 0), 0);
	while (sn_memlink_next_deadline(fx->link) != SN_TIME_NEVER) {
		sn_memlink_poll(fx->link, sn_memlink_next_deadline(fx->link));
		assert_true(++polls <= 10);
	}
	assert_int_equal(polls, 10);
	assert_int_equal(fx->ngot[1], 5);
	assert_int_equal(fx->ngot[0], 5);
	/* Hop k arrives at 3(k+1) µs. */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(fx->got[1][i].now_us, 3 * (2 * i + 1));
		assert_int_equal(fx->got[0][i].now_us, 3 * (2 * i + 2));
	}
}

static void test_next_deadline(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair slow = { .delay_us = 900 };
	struct sn_link_impair fast = { .delay_us = 50 };

	assert_true(sn_memlink_next_deadline(fx->link) == SN_TIME_NEVER);
	assert_int_equal(sn_memlink_poll(fx->link, 1000000), 0);
	sn_memlink_set_impair(fx->link, 0, &slow);
	sn_memlink_set_impair(fx->link, 1, &fast);
	assert_int_equal(send_id(fx->link, 0, 1, 60, 100), 0);
	assert_int_equal(sn_memlink_next_deadline(fx->link), 1000);
	assert_int_equal(send_id(fx->link, 1, 2, 60, 200), 0);
	assert_int_equal(sn_memlink_next_deadline(fx->link), 250);
	assert_int_equal(sn_memlink_poll(fx->link, 999), 1);
	assert_int_equal(sn_memlink_next_deadline(fx->link), 1000);
	assert_int_equal(sn_memlink_poll(fx->link, 5000), 1);
	assert_true(sn_memlink_next_deadline(fx->link) == SN_TIME_NEVER);
}

static void test_no_deliver_fn_discards(void **state)
{
	struct fixture *fx = *state;

	sn_memlink_set_deliver(fx->link, 1, NULL, NULL);
	assert_int_equal(send_id(fx->link, 0, 1, 60, 0), 0);
	assert_int_equal(sn_memlink_poll(fx->link, 0), 0);
	assert_int_equal(sn_memlink_in_flight(fx->link), 0);
	assert_int_equal(count_events(fx, SN_LINK_DELIVERED), 0);
}

static void test_free_with_frames_in_flight(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair imp = { .delay_us = 1000000, .rate_bps = 10000000,
	                              .dup_ppm = 500000 };

	/* Enough frames to grow the heap and the rate limiter's queue several times. */
	sn_memlink_set_impair(fx->link, 0, &imp);
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(send_id(fx->link, 0, i, 1500, i), 0);
	assert_true(sn_memlink_in_flight(fx->link) > 1000);
	/* teardown frees the link; the sanitizer build checks nothing leaks. */
}

static void test_observer_sees_everything(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair imp = { .delay_us = 10, .reorder_ppm = 1000000,
	                              .reorder_delay_us = 5, .corrupt_ppm = 1000000,
	                              .dup_ppm = 1000000 };
	const enum sn_link_event want[] = { SN_LINK_REORDER, SN_LINK_CORRUPT, SN_LINK_SENT,
	                                    SN_LINK_DUP, SN_LINK_DELIVERED, SN_LINK_DELIVERED };

	sn_memlink_set_impair(fx->link, 1, &imp);
	/* Held back 5 µs on top of the 10 µs delay; the copy travels with it. */
	assert_int_equal(send_id(fx->link, 1, 0, 64, 100), 0);
	assert_int_equal(sn_memlink_poll(fx->link, 114), 0);
	assert_int_equal(sn_memlink_poll(fx->link, 115), 2);
	assert_int_equal(fx->nev, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(fx->ev[i].ev, want[i]);
		assert_int_equal(fx->ev[i].from_end, 1);
		assert_int_equal(fx->ev[i].now_us, i < 4 ? 100 : 115);
	}
	assert_memory_equal(fx->got[0][0].data, fx->got[0][1].data, 64);

	/* Loss and queue drops are reported too. */
	fx->nev = 0;
	imp = (struct sn_link_impair){ .loss_ppm = 1000000 };
	sn_memlink_set_impair(fx->link, 0, &imp);
	assert_int_equal(send_id(fx->link, 0, 3, 64, 200), 0);
	imp = (struct sn_link_impair){ .rate_bps = 8000, .queue_limit_bytes = 100 };
	sn_memlink_set_impair(fx->link, 0, &imp);
	assert_int_equal(send_id(fx->link, 0, 4, 64, 200), 0);
	assert_int_equal(send_id(fx->link, 0, 5, 64, 200), 0);
	assert_int_equal(send_id(fx->link, 0, 6, 64, 200), 0);
	assert_int_equal(fx->nev, 4);
	assert_int_equal(fx->ev[0].ev, SN_LINK_LOST);
	assert_int_equal(fx->ev[0].id, 3);
	assert_int_equal(fx->ev[1].ev, SN_LINK_SENT);
	assert_int_equal(fx->ev[2].ev, SN_LINK_SENT);
	assert_int_equal(fx->ev[3].ev, SN_LINK_QDROP);
	assert_int_equal(fx->ev[3].id, 6);
	assert_int_equal(fx->ev[3].from_end, 0);
}

/* Ids of the frames the observer saw lost, in order. */
static size_t lost_ids(const struct fixture *fx, uint32_t *ids, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < fx->nev && i < sizeof(fx->ev) / sizeof(fx->ev[0]); i++) {
		if (fx->ev[i].ev != SN_LINK_LOST)
			continue;
		assert_true(n < max);
		ids[n++] = fx->ev[i].id;
	}
	return n;
}

static void test_drop_nth_drops_one_frame(void **state)
{
	struct fixture *fx = *state;
	uint32_t ids[8];

	sn_memlink_drop_nth(fx->link, 0, 3);
	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(send_id(fx->link, 0, i, 60, i), 0); /* a drop is not an error */
	/* The other direction has its own count and nothing scheduled. */
	for (uint32_t i = 100; i < 106; i++)
		assert_int_equal(send_id(fx->link, 1, i, 60, i), 0);
	drain(fx->link);

	assert_int_equal(lost_ids(fx, ids, 8), 1);
	assert_int_equal(ids[0], 2);
	assert_int_equal(fx->ngot[1], 5);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(frame_id(fx->got[1][i].data, 60), i < 2 ? i : i + 1);
	assert_int_equal(fx->ngot[0], 6);
	assert_int_equal(count_events(fx, SN_LINK_SENT), 11);

	/* One shot: once taken, the link is clean again. */
	for (uint32_t i = 10; i < 20; i++)
		assert_int_equal(send_id(fx->link, 0, i, 60, 100), 0);
	drain(fx->link);
	assert_int_equal(count_events(fx, SN_LINK_LOST), 1);
	assert_int_equal(fx->ngot[1], 15);

	/* n = 1 is the very next frame; an invalid end is ignored. */
	sn_memlink_drop_nth(fx->link, 2, 1);
	sn_memlink_drop_nth(NULL, 0, 1);
	sn_memlink_drop_nth(fx->link, 1, 1);
	assert_int_equal(send_id(fx->link, 1, 200, 60, 200), 0);
	assert_int_equal(send_id(fx->link, 1, 201, 60, 200), 0);
	drain(fx->link);
	assert_int_equal(lost_ids(fx, ids, 8), 2);
	assert_int_equal(ids[1], 200);
	assert_int_equal(frame_id(fx->got[0][fx->ngot[0] - 1].data, 60), 201);
}

static void test_drop_nth_replace_and_cancel(void **state)
{
	struct fixture *fx = *state;
	uint32_t ids[8];

	/* Replaced after one frame: the new n counts from the second call. */
	sn_memlink_drop_nth(fx->link, 0, 3);
	assert_int_equal(send_id(fx->link, 0, 0, 60, 0), 0);
	sn_memlink_drop_nth(fx->link, 0, 3);
	for (uint32_t i = 1; i < 6; i++)
		assert_int_equal(send_id(fx->link, 0, i, 60, 0), 0);
	drain(fx->link);
	assert_int_equal(lost_ids(fx, ids, 8), 1);
	assert_int_equal(ids[0], 3);

	/* Cancelled before its frame: nothing is lost. */
	sn_memlink_drop_nth(fx->link, 0, 5);
	assert_int_equal(send_id(fx->link, 0, 10, 60, 10), 0);
	assert_int_equal(send_id(fx->link, 0, 11, 60, 10), 0);
	sn_memlink_drop_nth(fx->link, 0, 0);
	for (uint32_t i = 12; i < 30; i++)
		assert_int_equal(send_id(fx->link, 0, i, 60, 10), 0);
	drain(fx->link);
	assert_int_equal(count_events(fx, SN_LINK_LOST), 1);
	assert_int_equal(fx->ngot[1], 5 + 20);
}

static void test_drop_nth_counts_randomly_lost_frames(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair all = { .loss_ppm = 1000000 };
	struct sn_link_impair none = { 0 };
	uint32_t ids[8];

	/* Frames the loss draw takes still count towards n. */
	sn_memlink_drop_nth(fx->link, 0, 3);
	sn_memlink_set_impair(fx->link, 0, &all);
	assert_int_equal(send_id(fx->link, 0, 0, 60, 0), 0);
	assert_int_equal(send_id(fx->link, 0, 1, 60, 0), 0);
	sn_memlink_set_impair(fx->link, 0, &none);
	for (uint32_t i = 2; i < 5; i++)
		assert_int_equal(send_id(fx->link, 0, i, 60, 0), 0);
	drain(fx->link);
	assert_int_equal(lost_ids(fx, ids, 8), 3);
	assert_int_equal(ids[2], 2);
	assert_int_equal(fx->ngot[1], 2);
	assert_int_equal(frame_id(fx->got[1][0].data, 60), 3);
	assert_int_equal(frame_id(fx->got[1][1].data, 60), 4);
}

#define FATE_FRAMES 3000

/*
 * Every delivery in order: arrival time and a digest of the bytes. The digest
 * rather than the id, since the corruption impairment may hit the id itself.
 */
struct fate_log {
	uint64_t at_us[2 * FATE_FRAMES];
	uint64_t sum[2 * FATE_FRAMES];
	size_t n;
};

static void log_fate(void *ctx, const void *frame, size_t len, uint64_t now_us)
{
	struct fate_log *log = ctx;
	const uint8_t *p = frame;
	uint64_t h = 14695981039346656037ULL;

	assert_true(log->n < 2 * FATE_FRAMES);
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	log->at_us[log->n] = now_us;
	log->sum[log->n] = h;
	log->n++;
}

/*
 * Every impairment at once, FATE_FRAMES frames offered in bursts; `skip` is
 * left out (never sent) and `drop` is dropped with drop_nth (UINT32_MAX =
 * none).
 */
static void fate_run(struct fate_log *log, uint32_t skip, uint32_t drop)
{
	struct sn_memlink *link = sn_memlink_new(777);
	struct sn_link_impair imp = { .loss_ppm = 100000, .dup_ppm = 50000,
	                              .reorder_ppm = 100000, .corrupt_ppm = 50000,
	                              .delay_us = 300, .reorder_delay_us = 900,
	                              .rate_bps = 100000000, .queue_limit_bytes = 3000 };

	assert_non_null(link);
	memset(log, 0, sizeof(*log));
	sn_memlink_set_impair(link, 0, &imp);
	sn_memlink_set_deliver(link, 1, log_fate, log);
	if (drop != UINT32_MAX)
		sn_memlink_drop_nth(link, 0, (uint64_t)drop + 1);
	for (uint32_t i = 0; i < FATE_FRAMES; i++) {
		/* Bursts of four back to back, so the queue limit bites now and then. */
		uint64_t t = (uint64_t)(i / 4) * 400;

		sn_memlink_poll(link, t);
		if (i != skip)
			assert_int_equal(send_id(link, 0, i, 1000, t), 0);
	}
	while (sn_memlink_next_deadline(link) != SN_TIME_NEVER)
		sn_memlink_poll(link, sn_memlink_next_deadline(link));
	sn_memlink_free(link);
}

static int same_fates(const struct fate_log *a, const struct fate_log *b)
{
	return a->n == b->n && !memcmp(a->at_us, b->at_us, a->n * sizeof(a->at_us[0])) &&
	       !memcmp(a->sum, b->sum, a->n * sizeof(a->sum[0]));
}

static void test_drop_nth_keeps_random_sequence(void **state)
{
	struct fate_log *a = calloc(1, sizeof(*a));
	struct fate_log *b = calloc(1, sizeof(*b));
	struct fate_log *c = calloc(1, sizeof(*c));
	const uint32_t k = 1234;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	/*
	 * Dropping frame k with drop_nth and never sending it must leave every
	 * other frame with the same fate: same arrival, same bytes, same copies.
	 * The frame takes no transmitter time and no random draws.
	 */
	fate_run(a, UINT32_MAX, k);
	fate_run(b, k, UINT32_MAX);
	assert_true(a->n > FATE_FRAMES / 2);
	assert_true(same_fates(a, b));

	/* Sending k does change what follows, so the check above can fail. */
	fate_run(c, UINT32_MAX, UINT32_MAX);
	assert_false(same_fates(a, c));
	free(a);
	free(b);
	free(c);
}

/*
 * A frame goes to the FIFO if it arrives no earlier than the FIFO's last, to
 * the heap otherwise; a poll merges the two by (arrival, send order) across
 * both directions, whatever the impairments were when each frame was sent.
 */
static void test_fifo_and_heap_merge_in_order(void **state)
{
	struct fixture *fx = *state;
	uint64_t at[8];
	uint32_t id[8];
	struct arrival_log log = { at, id, 0 };
	struct sn_link_impair imp = { 0 };
	const uint32_t want_id[] = { 5, 1, 3, 6, 2, 4 };
	const uint64_t want_at[] = { 30, 100, 100, 150, 200, 200 };

	sn_memlink_set_deliver(fx->link, 0, log_arrival, &log);
	sn_memlink_set_deliver(fx->link, 1, log_arrival, &log);
	imp.delay_us = 100;
	sn_memlink_set_impair(fx->link, 0, &imp);
	assert_int_equal(send_id(fx->link, 0, 1, 60, 0), 0);  /* due 100 */
	imp.delay_us = 190;
	sn_memlink_set_impair(fx->link, 0, &imp);
	assert_int_equal(send_id(fx->link, 0, 2, 60, 10), 0); /* due 200 */
	imp.delay_us = 80;
	sn_memlink_set_impair(fx->link, 0, &imp);
	assert_int_equal(send_id(fx->link, 0, 3, 60, 20), 0); /* due 100, after 1 */
	assert_int_equal(sn_memlink_next_deadline(fx->link), 100);
	assert_int_equal(send_id(fx->link, 1, 5, 60, 30), 0); /* due 30, before all */
	assert_int_equal(sn_memlink_next_deadline(fx->link), 30);
	imp.delay_us = 160;
	sn_memlink_set_impair(fx->link, 0, &imp);
	assert_int_equal(send_id(fx->link, 0, 4, 60, 40), 0); /* due 200, after 2 */
	/* An impairment switched on with frames of both directions in flight. */
	imp = (struct sn_link_impair){ .reorder_ppm = 1000000, .reorder_delay_us = 100 };
	sn_memlink_set_impair(fx->link, 1, &imp);
	assert_int_equal(send_id(fx->link, 1, 6, 60, 50), 0); /* due 150 */
	assert_int_equal(sn_memlink_in_flight(fx->link), 6);

	assert_int_equal(sn_memlink_poll(fx->link, 30), 1);
	assert_int_equal(sn_memlink_poll(fx->link, 99), 0);
	assert_int_equal(sn_memlink_next_deadline(fx->link), 100);
	assert_int_equal(sn_memlink_in_flight(fx->link), 5);
	drain(fx->link);
	assert_true(sn_memlink_next_deadline(fx->link) == SN_TIME_NEVER);
	assert_int_equal(sn_memlink_in_flight(fx->link), 0);
	assert_int_equal(log.n, 6);
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(id[i], want_id[i]);
		assert_int_equal(at[i], want_at[i]);
	}
	assert_int_equal(count_events(fx, SN_LINK_SENT), 6);
	assert_int_equal(count_events(fx, SN_LINK_REORDER), 1);
	assert_int_equal(count_events(fx, SN_LINK_DELIVERED), 6);
}

/*
 * Unimpaired frames queued at once, then a rate limit switched on and off
 * again: the frames sent meanwhile arrive later, the ones after arrive at
 * once and overtake them, and the first ones keep their place.
 */
static void test_impairment_switched_mid_run_keeps_order(void **state)
{
	struct fixture *fx = *state;
	uint64_t at[16];
	uint32_t id[16];
	struct arrival_log log = { at, id, 0 };
	struct sn_link_impair rate = { .rate_bps = 8000000 }; /* 100 bytes: 100 µs */
	const uint32_t want_id[] = { 0, 1, 2, 3, 4, 8, 9, 5, 6, 7 };
	const uint64_t want_at[] = { 0, 0, 0, 0, 0, 0, 0, 100, 200, 300 };

	sn_memlink_set_deliver(fx->link, 0, log_arrival, &log);
	sn_memlink_set_deliver(fx->link, 1, log_arrival, &log);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(send_id(fx->link, i % 2, i, 100, 0), 0);
	sn_memlink_set_impair(fx->link, 0, &rate);
	for (uint32_t i = 5; i < 8; i++)
		assert_int_equal(send_id(fx->link, 0, i, 100, 0), 0);
	sn_memlink_set_impair(fx->link, 0, NULL);
	assert_int_equal(send_id(fx->link, 0, 8, 100, 0), 0);
	assert_int_equal(send_id(fx->link, 1, 9, 100, 0), 0);
	assert_int_equal(sn_memlink_in_flight(fx->link), 10);
	assert_int_equal(sn_memlink_next_deadline(fx->link), 0);

	assert_int_equal(sn_memlink_poll(fx->link, 0), 7);
	drain(fx->link);
	assert_int_equal(log.n, 10);
	for (size_t i = 0; i < 10; i++) {
		assert_int_equal(id[i], want_id[i]);
		assert_int_equal(at[i], want_at[i]);
	}
}

/*
 * The fast path (no impairment, or a plain delay) still reports every frame
 * to the observer, sent and delivered, in order, with its end and time.
 */
static void test_fast_path_observed(void **state)
{
	struct fixture *fx = *state;
	struct sn_link_impair delay = { .delay_us = 7 };

	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(send_id(fx->link, i % 2, i, 60, 100), 0);
	assert_int_equal(count_events(fx, SN_LINK_SENT), 10);
	assert_int_equal(sn_memlink_poll(fx->link, 100), 10);
	assert_int_equal(fx->nev, 20);
	for (uint32_t i = 0; i < 20; i++) {
		assert_int_equal(fx->ev[i].ev, i < 10 ? SN_LINK_SENT : SN_LINK_DELIVERED);
		assert_int_equal(fx->ev[i].id, i % 10);
		assert_int_equal(fx->ev[i].from_end, i % 2);
		assert_int_equal(fx->ev[i].now_us, 100);
	}

	sn_memlink_set_impair(fx->link, 0, &delay);
	sn_memlink_set_impair(fx->link, 1, &delay);
	for (uint32_t i = 10; i < 20; i++)
		assert_int_equal(send_id(fx->link, i % 2, i, 60, 200 + i), 0);
	drain(fx->link);
	assert_int_equal(count_events(fx, SN_LINK_SENT), 20);
	assert_int_equal(count_events(fx, SN_LINK_DELIVERED), 20);
	assert_int_equal(fx->ngot[0] + fx->ngot[1], 20);
	for (uint32_t i = 0; i < 5; i++) {
		assert_int_equal(frame_id(fx->got[1][5 + i].data, 60), 10 + 2 * i);
		assert_int_equal(fx->got[1][5 + i].now_us, 200 + 10 + 2 * i + 7);
	}
}

struct flags_log {
	uint32_t id[16];
	unsigned flags[16];
	size_t n;
};

static void log_flags(void *ctx, const void *frame, size_t len, unsigned rx_flags,
                      uint64_t now_us)
{
	struct flags_log *log = ctx;

	(void)now_us;
	assert_true(log->n < 16);
	log->id[log->n] = frame_id(frame, len);
	log->flags[log->n] = rx_flags;
	log->n++;
}

/*
 * Frames on the fast path count towards drop_nth and drop_also; a pending drop
 * takes the direction off the fast path (in offload mode: frames arrive
 * without SN_RX_CSUM_OK) until the last one is taken.
 */
static void test_drop_counts_fast_path_frames(void **state)
{
	struct fixture *fx = *state;
	struct flags_log log = { 0 };
	const uint32_t want_id[] = { 0, 1, 2, 3, 5, 7, 8 };
	const unsigned want_flags[] = { SN_RX_CSUM_OK, SN_RX_CSUM_OK, SN_RX_CSUM_OK, 0, 0,
	                                SN_RX_CSUM_OK, SN_RX_CSUM_OK };
	uint32_t ids[8];

	sn_memlink_set_offload(fx->link, 1);
	sn_memlink_set_deliver_ex(fx->link, 1, log_flags, &log);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(send_id(fx->link, 0, i, 60, 0), 0);
	sn_memlink_drop_nth(fx->link, 0, 2);                       /* frame 4 */
	assert_int_equal(sn_memlink_drop_also(fx->link, 0, 4), 0); /* frame 6 */
	for (uint32_t i = 3; i < 9; i++)
		assert_int_equal(send_id(fx->link, 0, i, 60, 0), 0);
	drain(fx->link);

	assert_int_equal(lost_ids(fx, ids, 8), 2);
	assert_int_equal(ids[0], 4);
	assert_int_equal(ids[1], 6);
	assert_int_equal(count_events(fx, SN_LINK_SENT), 7);
	assert_int_equal(log.n, 7);
	for (size_t i = 0; i < 7; i++) {
		assert_int_equal(log.id[i], want_id[i]);
		assert_int_equal(log.flags[i], want_flags[i]);
	}
}

/*
 * Scheduling the same frame twice drops it once and leaves nothing behind:
 * the direction is back on the fast path (in offload mode: SN_RX_CSUM_OK)
 * after that frame, and the second call did not use up a slot.
 */
static void test_drop_also_same_frame_twice(void **state)
{
	struct fixture *fx = *state;
	struct flags_log log = { 0 };
	uint32_t ids[8];

	sn_memlink_set_offload(fx->link, 1);
	sn_memlink_set_deliver_ex(fx->link, 1, log_flags, &log);
	assert_int_equal(sn_memlink_drop_also(fx->link, 0, 2), 0);
	assert_int_equal(sn_memlink_drop_also(fx->link, 0, 2), 0);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(send_id(fx->link, 0, i, 60, 0), 0);
	drain(fx->link);

	assert_int_equal(lost_ids(fx, ids, 8), 1);
	assert_int_equal(ids[0], 1);
	assert_int_equal(log.n, 4);
	assert_int_equal(log.id[0], 0);
	assert_int_equal(log.flags[0], 0);
	for (size_t i = 1; i < 4; i++) {
		assert_int_equal(log.id[i], i + 1);
		assert_int_equal(log.flags[i], SN_RX_CSUM_OK);
	}

	/* drop_nth then drop_also of the same frame: one slot, as above. */
	sn_memlink_drop_nth(fx->link, 0, 1);
	assert_int_equal(sn_memlink_drop_also(fx->link, 0, 1), 0);
	for (uint64_t k = 2; k <= SN_MEMLINK_MAX_DROPS; k++)
		assert_int_equal(sn_memlink_drop_also(fx->link, 0, k), 0);
	assert_int_equal(sn_memlink_drop_also(fx->link, 0, 100), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_time_keeps_send_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_frames_in_arrival_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_fraction_does_not_drift, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loss_all_or_nothing, setup, teardown),
		cmocka_unit_test(test_loss_rate_and_seed),
		cmocka_unit_test_setup_teardown(test_dup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_one_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_echo_terminates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_deliver_fn_discards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_with_frames_in_flight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_observer_sees_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_nth_drops_one_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_nth_replace_and_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_nth_counts_randomly_lost_frames, setup,
		                                teardown),
		cmocka_unit_test(test_drop_nth_keeps_random_sequence),
		cmocka_unit_test_setup_teardown(test_fifo_and_heap_merge_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_impairment_switched_mid_run_keeps_order, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_fast_path_observed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_counts_fast_path_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_also_same_frame_twice, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
