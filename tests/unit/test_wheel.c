/*
 * test_wheel.c - the hierarchical timing wheel (src/tcp/wheel.c).
 *
 * The rule under test: a timer armed for expires_us has expiry tick
 * ceil(expires_us / 1000) and fires in the first sn_wheel_advance(now_us)
 * whose target tick floor(now_us / 1000) is at or past that tick; never
 * before, never twice; a cancelled or stopped timer never fires. Re-arming a
 * timer for its own tick or a later one, and stopping it, are lazy (wheel.h):
 * those tests check that it fires at the new time and never at the old, and
 * that sn_timer_cancel leaves nothing behind. The last tests check the rule
 * against a brute-force model under a long random mix of operations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "tcp/wheel.h"
#include "util/rand.h"

#define MS 1000ULL
#define SEC (1000 * MS)
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

static uint64_t tick_of(uint64_t us)
{
	return us / MS + (us % MS != 0);
}

/* The tick a timer armed for exp_us at start_us fires at: its own, or
 * SN_WHEEL_MAX_AHEAD past the start if that is sooner (the clamp). */
static uint64_t fire_tick(uint64_t start_us, uint64_t exp_us)
{
	uint64_t max = start_us / MS + SN_WHEEL_MAX_AHEAD;

	return tick_of(exp_us) < max ? tick_of(exp_us) : max;
}

/* Every timer function of this file, in the wheel's table (struct
 * sn_timer.fn is an index into it). */
static void probe_fn(struct sn_timer *t, uint64_t now_us);
static void periodic_fn(struct sn_timer *t, uint64_t now_us);
static void meddler_fn(struct sn_timer *t, uint64_t now_us);
static void model_fn(struct sn_timer *t, uint64_t now_us);
enum { FN_PROBE, FN_PERIODIC, FN_MEDDLER, FN_MODEL };
static const sn_timer_fn fns[] = { probe_fn, periodic_fn, meddler_fn, model_fn };

/* A timer that records how often and when it fired. */
struct probe {
	struct sn_timer t;
	unsigned fires;
	uint64_t last_now_us;
};

static void probe_fn(struct sn_timer *t, uint64_t now_us)
{
	struct probe *p = container_of(t, struct probe, t);

	p->fires++;
	p->last_now_us = now_us;
}

static void probe_init(struct probe *p)
{
	p->fires = 0;
	p->last_now_us = 0;
	sn_timer_init(&p->t, FN_PROBE);
}

static bool wheel_empty(const struct sn_wheel *w)
{
	for (int l = 0; l < SN_WHEEL_LEVELS; l++)
		if (w->occupied[l])
			return false;
	return w->count == 0 && w->due == NULL;
}

/* Is t on any of the wheel's lists? (A stopped timer may be; a cancelled one
 * must not be.) */
static bool on_wheel(const struct sn_wheel *w, const struct sn_timer *t)
{
	for (const struct sn_timer *u = w->due; u; u = u->next)
		if (u == t)
			return true;
	for (int l = 0; l < SN_WHEEL_LEVELS; l++)
		for (int i = 0; i < SN_WHEEL_SLOTS; i++)
			for (const struct sn_timer *u = w->slot[l][i]; u; u = u->next)
				if (u == t)
					return true;
	return false;
}

/* Horizons named in the brief, from "already due" to beyond level 3. */
static const uint64_t horizons_us[] = {
	0, 1, 999, 1 * MS, 63 * MS, 64 * MS, 65 * MS, 4095 * MS, 4096 * MS, HOUR, 30 * DAY,
};

/* Start times: zero, unaligned, just before boundaries of levels 1..5, and
 * just before the low 32 bits of the tick wrap (a timer keeps only those). */
static const uint64_t starts_us[] = {
	0,
	((1ULL << 32) - 2) * MS + 500,
	((3ULL << 32) - 40) * MS,
	123456789,
	(64ULL - 1) * MS + 999,
	(4096ULL - 1) * MS + 500,
	((1ULL << 18) - 1) * MS,
	((1ULL << 24) - 2) * MS + 1,
	((1ULL << 30) - 1) * MS + 999,
	((1ULL << 36) - 3) * MS,
};

#define N_HORIZONS (sizeof(horizons_us) / sizeof(horizons_us[0]))
#define N_STARTS (sizeof(starts_us) / sizeof(starts_us[0]))

/*
 * Advance through the given increasing times and check that the probe fires
 * exactly at the first one whose tick reaches the expiry tick.
 */
static void walk(struct sn_wheel *w, struct probe *p, uint64_t exp_us, const uint64_t *times,
		 size_t n)
{
	uint64_t exp_tick = tick_of(exp_us);

	for (size_t i = 0; i < n; i++) {
		unsigned before = p->fires;
		size_t fired = sn_wheel_advance(w, times[i]);

		assert_int_equal(fired, p->fires - before);
		if (times[i] / MS >= exp_tick) {
			assert_int_equal(p->fires, 1);
			assert_true(p->last_now_us >= exp_us);
			assert_false(sn_timer_armed(&p->t));
			/* Every earlier step was before the expiry tick. */
			assert_true(i == 0 || times[i - 1] / MS < exp_tick);
			return;
		}
		assert_int_equal(p->fires, 0);
		assert_true(sn_timer_armed(&p->t));
		assert_int_equal(w->count, 1);
	}
	fail_msg("walk ended before the expiry tick");
}

/* Arm one timer at start + horizon on a fresh wheel started at start. */
static uint64_t setup_single(struct sn_wheel *w, struct probe *p, uint64_t start, uint64_t h)
{
	sn_wheel_init(w, start, fns);
	probe_init(p);
	sn_timer_arm(w, &p->t, start + h);
	assert_true(sn_timer_armed(&p->t));
	assert_int_equal(w->count, 1);
	return start + h;
}

static void test_single_one_jump(void **state)
{
	for (size_t s = 0; s < N_STARTS; s++) {
		for (size_t h = 0; h < N_HORIZONS; h++) {
			struct sn_wheel w;
			struct probe p;
			uint64_t exp = setup_single(&w, &p, starts_us[s], horizons_us[h]);
			uint64_t exp_tick = tick_of(exp);
			uint64_t times[3];
			size_t n = 0;

			/* Jump to the last microsecond before the expiry tick. */
			if (exp_tick * MS - 1 >= starts_us[s] && exp_tick > starts_us[s] / MS)
				times[n++] = exp_tick * MS - 1;
			times[n++] = exp_tick * MS;
			walk(&w, &p, exp, times, n);

			/* And straight past it, from a fresh wheel. */
			exp = setup_single(&w, &p, starts_us[s], horizons_us[h]);
			times[0] = exp_tick * MS + 777 * SEC;
			walk(&w, &p, exp, times, 1);
			assert_true(wheel_empty(&w));
		}
	}
}

static void test_single_steps(void **state)
{
	uint64_t *times = test_malloc(200000 * sizeof(*times));

	for (size_t s = 0; s < N_STARTS; s++) {
		for (size_t h = 0; h < N_HORIZONS; h++) {
			struct sn_wheel w;
			struct probe p;
			uint64_t start = starts_us[s];
			uint64_t exp = setup_single(&w, &p, start, horizons_us[h]);
			uint64_t exp_tick = tick_of(exp);
			size_t n = 0;

			if (horizons_us[h] <= 4096 * MS) {
				/* Every 250 µs up to a little past the expiry. */
				for (uint64_t t = start; t <= exp + 2 * MS; t += 250)
					times[n++] = t;
			} else {
				/*
				 * Halve the remaining distance each step, so the
				 * walk crosses each level's block boundaries.
				 */
				uint64_t t = start;

				times[n++] = t;
				while (exp_tick * MS - t > 1) {
					t += (exp_tick * MS - t) / 2;
					times[n++] = t;
				}
				times[n++] = exp_tick * MS - 1;
				times[n++] = exp_tick * MS;
			}
			walk(&w, &p, exp, times, n);
			assert_true(wheel_empty(&w));
		}
	}
	test_free(times);
}

/* A timer armed at or before the current tick fires on the next advance. */
static void test_due_fires_on_same_now(void **state)
{
	struct sn_wheel w;
	struct probe a, b;

	sn_wheel_init(&w, 5 * MS + 700, fns);
	probe_init(&a);
	probe_init(&b);
	sn_timer_arm(&w, &a.t, 0);
	sn_timer_arm(&w, &b.t, 5 * MS);
	assert_int_equal(sn_wheel_next_deadline(&w), 5 * MS);
	assert_int_equal(sn_wheel_advance(&w, 5 * MS + 700), 2);
	assert_int_equal(a.fires, 1);
	assert_int_equal(b.fires, 1);

	/* 5.5 ms rounds up to tick 6: not yet at 5.7 ms or 5.999 ms. */
	sn_timer_arm(&w, &a.t, 5 * MS + 500);
	assert_int_equal(sn_wheel_advance(&w, 5 * MS + 700), 0);
	assert_int_equal(sn_wheel_advance(&w, 6 * MS - 1), 0);
	assert_int_equal(sn_wheel_advance(&w, 6 * MS), 1);
	assert_int_equal(a.fires, 2);

	/* A clock that goes backwards is ignored, due timers included. */
	sn_timer_arm(&w, &a.t, 0);
	assert_int_equal(sn_wheel_advance(&w, 5 * MS), 0);
	assert_int_equal(a.fires, 2);
	assert_int_equal(sn_wheel_advance(&w, 6 * MS), 1);
	assert_int_equal(a.fires, 3);
	assert_true(wheel_empty(&w));
}

/* Horizons that land on each level, and two beyond SN_WHEEL_MAX_AHEAD. */
static const struct {
	uint64_t h_us;
	int level;
} level_cases[] = {
	{ 10 * MS, 0 },       { 100 * MS, 1 },  { 10 * SEC, 2 },    { 1000 * SEC, 3 },
	{ 100000 * SEC, 4 },  { 10000000 * SEC, 5 }, { 1000000000 * SEC, 5 },
};
#define N_LEVEL_CASES (sizeof(level_cases) / sizeof(level_cases[0]))

static void test_cancel_every_level(void **state)
{
	struct sn_wheel w;
	struct probe p[N_LEVEL_CASES];

	sn_wheel_init(&w, 0, fns);
	for (size_t i = 0; i < N_LEVEL_CASES; i++) {
		probe_init(&p[i]);
		sn_timer_arm(&w, &p[i].t, level_cases[i].h_us);
		assert_true(w.occupied[level_cases[i].level] != 0);
	}
	assert_int_equal(w.count, N_LEVEL_CASES);
	/* Beyond SN_WHEEL_MAX_AHEAD: clamped to it, 2^32 - 1 ticks, which is
	 * in the top level's slot 3 (blocks of 2^30 ticks). */
	assert_int_equal(w.occupied[SN_WHEEL_LEVELS - 1], 1ULL << 3);

	for (size_t i = 0; i < N_LEVEL_CASES; i++) {
		sn_timer_cancel(&w, &p[i].t);
		assert_false(sn_timer_armed(&p[i].t));
		assert_int_equal(w.count, N_LEVEL_CASES - 1 - i);
		/* Cancelling again, or an idle timer, changes nothing. */
		sn_timer_cancel(&w, &p[i].t);
		assert_int_equal(w.count, N_LEVEL_CASES - 1 - i);
	}
	assert_true(wheel_empty(&w));
	assert_int_equal(sn_wheel_next_deadline(&w), UINT64_MAX);
	assert_int_equal(sn_wheel_advance(&w, 100000 * DAY), 0);
	for (size_t i = 0; i < N_LEVEL_CASES; i++)
		assert_int_equal(p[i].fires, 0);

	/* Cancel from the due list too. */
	sn_timer_arm(&w, &p[0].t, 0);
	assert_non_null(w.due);
	sn_timer_cancel(&w, &p[0].t);
	assert_true(wheel_empty(&w));
	assert_int_equal(sn_wheel_advance(&w, 100000 * DAY), 0);
}

/* Removing the head, middle and tail of one slot keeps its bit right. */
static void test_cancel_within_slot(void **state)
{
	static const int orders[][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};

	for (size_t o = 0; o < 6; o++) {
		struct sn_wheel w;
		struct probe p[3];

		sn_wheel_init(&w, 0, fns);
		for (int i = 0; i < 3; i++) {
			probe_init(&p[i]);
			sn_timer_arm(&w, &p[i].t, 7 * MS);
		}
		assert_int_equal(w.occupied[0], 1ULL << 7);
		for (int k = 0; k < 3; k++) {
			sn_timer_cancel(&w, &p[orders[o][k]].t);
			assert_int_equal(w.occupied[0], k < 2 ? 1ULL << 7 : 0);
		}
		assert_true(wheel_empty(&w));
	}
}

static void test_rearm_moves(void **state)
{
	struct sn_wheel w;
	struct probe p;

	sn_wheel_init(&w, 0, fns);
	probe_init(&p);

	/* Far to near: fires at the near time only. */
	sn_timer_arm(&w, &p.t, 100 * SEC);
	sn_timer_arm(&w, &p.t, 10 * MS);
	assert_int_equal(w.count, 1);
	assert_int_equal(w.occupied[2], 0);
	assert_int_equal(sn_wheel_advance(&w, 10 * MS - 1), 0);
	assert_int_equal(sn_wheel_advance(&w, 10 * MS), 1);
	assert_int_equal(sn_wheel_advance(&w, 200 * SEC), 0);
	assert_int_equal(p.fires, 1);

	/* Near to far: does not fire at the near time. */
	sn_timer_arm(&w, &p.t, 200 * SEC + 5 * MS);
	sn_timer_arm(&w, &p.t, 200 * SEC + 5000 * MS);
	assert_int_equal(w.count, 1);
	assert_int_equal(sn_wheel_advance(&w, 200 * SEC + 4999 * MS), 0);
	assert_int_equal(sn_wheel_advance(&w, 200 * SEC + 5000 * MS), 1);
	assert_int_equal(p.fires, 2);

	/* Into the past: due at once. */
	sn_timer_arm(&w, &p.t, 300 * SEC);
	sn_timer_arm(&w, &p.t, 1);
	assert_non_null(w.due);
	assert_int_equal(sn_wheel_advance(&w, 205 * SEC), 1);
	assert_int_equal(p.fires, 3);
	assert_true(wheel_empty(&w));
}

/* Re-arms itself every 10 ms, measured from the time it is told. */
struct periodic {
	struct sn_timer t;
	struct sn_wheel *w;
	unsigned fires;
	uint64_t period_us;
};

static void periodic_fn(struct sn_timer *t, uint64_t now_us)
{
	struct periodic *p = container_of(t, struct periodic, t);

	p->fires++;
	sn_timer_arm(p->w, t, now_us + p->period_us);
}

static void test_periodic(void **state)
{
	struct sn_wheel w;
	struct periodic p = { .w = &w, .period_us = 10 * MS };

	sn_wheel_init(&w, 0, fns);
	sn_timer_init(&p.t, FN_PERIODIC);
	sn_timer_arm(&w, &p.t, 10 * MS);
	for (uint64_t t = 0; t <= 1000 * MS; t += MS) {
		sn_wheel_advance(&w, t);
		assert_int_equal(p.fires, t / (10 * MS));
	}
	assert_int_equal(w.count, 1);

	/* One jump of a second fires once, and the next period starts then. */
	assert_int_equal(sn_wheel_advance(&w, 2000 * MS), 1);
	assert_int_equal(p.fires, 101);
	assert_int_equal(sn_wheel_next_deadline(&w), 2010 * MS);
	sn_timer_cancel(&w, &p.t);
	assert_true(wheel_empty(&w));
}

/* Each member of a group cancels, re-arms or arms the others as it fires. */
struct meddler {
	struct sn_timer t;
	struct sn_wheel *w;
	struct meddler *victim;
	enum { M_CANCEL, M_REARM_LATER, M_ARM_NOW, M_STOP } act;
	uint64_t arg_us;
	unsigned fires;
};

static void meddler_fn(struct sn_timer *t, uint64_t now_us)
{
	struct meddler *m = container_of(t, struct meddler, t);

	m->fires++;
	if (!m->victim)
		return;
	switch (m->act) {
	case M_CANCEL:
		sn_timer_cancel(m->w, &m->victim->t);
		break;
	case M_REARM_LATER:
		sn_timer_arm(m->w, &m->victim->t, now_us + m->arg_us);
		break;
	case M_ARM_NOW:
		sn_timer_arm(m->w, &m->victim->t, now_us);
		break;
	case M_STOP:
		sn_timer_stop(m->w, &m->victim->t);
		break;
	}
}

static void meddler_init(struct meddler *m, struct sn_wheel *w, struct meddler *victim, int act,
			 uint64_t arg_us)
{
	*m = (struct meddler){ .w = w, .victim = victim, .act = act, .arg_us = arg_us };
	sn_timer_init(&m->t, FN_MEDDLER);
}

static void test_callback_meddles_in_slot(void **state)
{
	/* The due list, one level-0 slot, and slots reached through cascades. */
	static const uint64_t when_us[] = { 0, 20 * MS, 300 * MS, 9 * SEC };

	for (size_t k = 0; k < 4; k++) {
		for (int order = 0; order < 2; order++) {
			struct sn_wheel w;
			struct meddler a, b, c, d;
			uint64_t when = when_us[k];
			unsigned d_fires;

			/* a and b cancel each other: exactly one of them fires. */
			sn_wheel_init(&w, 0, fns);
			meddler_init(&a, &w, &b, M_CANCEL, 0);
			meddler_init(&b, &w, &a, M_CANCEL, 0);
			sn_timer_arm(&w, order ? &b.t : &a.t, when);
			sn_timer_arm(&w, order ? &a.t : &b.t, when);
			assert_int_equal(sn_wheel_advance(&w, when + 10 * SEC), 1);
			assert_int_equal(a.fires + b.fires, 1);
			assert_true(wheel_empty(&w));

			/*
			 * c pushes d, which shares its tick, 5 ms later. Which
			 * of the two runs first is unspecified; both orders of
			 * arming are tried so that c goes first in one of them.
			 */
			meddler_init(&c, &w, &d, M_REARM_LATER, 5 * MS);
			meddler_init(&d, &w, NULL, M_CANCEL, 0);
			sn_timer_arm(&w, order ? &d.t : &c.t, when + 10 * SEC);
			sn_timer_arm(&w, order ? &c.t : &d.t, when + 10 * SEC);
			sn_wheel_advance(&w, when + 10 * SEC);
			assert_int_equal(c.fires, 1);
			assert_true(sn_timer_armed(&d.t));
			d_fires = d.fires;
			assert_int_equal(sn_wheel_advance(&w, when + 10 * SEC + 5 * MS - 1), 0);
			assert_int_equal(sn_wheel_advance(&w, when + 10 * SEC + 5 * MS), 1);
			assert_int_equal(d.fires, d_fires + 1);

			/* c arms d for "now": d fires in the same advance. */
			meddler_init(&c, &w, &d, M_ARM_NOW, 0);
			sn_timer_arm(&w, &c.t, when + 30 * SEC);
			assert_int_equal(sn_wheel_advance(&w, when + 40 * SEC), 2);
			assert_int_equal(c.fires, 1);
			assert_int_equal(d.fires, d_fires + 2);
			assert_true(wheel_empty(&w));

			/* a and b stop each other: one fires, neither stays. */
			meddler_init(&a, &w, &b, M_STOP, 0);
			meddler_init(&b, &w, &a, M_STOP, 0);
			sn_timer_arm(&w, order ? &b.t : &a.t, when + 50 * SEC);
			sn_timer_arm(&w, order ? &a.t : &b.t, when + 50 * SEC);
			assert_int_equal(sn_wheel_advance(&w, when + 60 * SEC), 1);
			assert_int_equal(a.fires + b.fires, 1);
			assert_true(wheel_empty(&w));

			/*
			 * c pushes d back while d hangs in a later slot (the
			 * lazy move, from inside an advance); then a stops d
			 * where it hangs. Neither must fire d early.
			 */
			meddler_init(&c, &w, &d, M_REARM_LATER, 7 * SEC);
			meddler_init(&d, &w, NULL, M_CANCEL, 0);
			meddler_init(&a, &w, &d, M_STOP, 0);
			sn_timer_arm(&w, &c.t, when + 70 * SEC);
			sn_timer_arm(&w, &d.t, when + 70 * SEC + 3 * MS);
			assert_int_equal(sn_wheel_advance(&w, when + 70 * SEC), 1);
			assert_int_equal(sn_wheel_advance(&w, when + 70 * SEC + 3 * MS), 0);
			assert_int_equal(d.fires, 0);
			assert_true(sn_timer_armed(&d.t));
			assert_int_equal(sn_wheel_advance(&w, when + 77 * SEC - 1), 0);
			assert_int_equal(sn_wheel_advance(&w, when + 77 * SEC), 1);
			assert_int_equal(d.fires, 1);
			sn_timer_arm(&w, &a.t, when + 80 * SEC);
			sn_timer_arm(&w, &d.t, when + 80 * SEC + 5 * MS);
			assert_int_equal(sn_wheel_advance(&w, when + 90 * SEC), 1);
			assert_int_equal(a.fires, 1);
			assert_int_equal(d.fires, 1);
			assert_true(wheel_empty(&w));
		}
	}
}

/*
 * Lazy moves (wheel.h). Pairs of horizons: armed for the first, then
 * re-armed for the second, or stopped, or stopped and re-armed, or re-armed
 * and cancelled, before the wheel moves. Each case is walked three ways (one
 * jump to just before and then to the tick; every step an event loop would
 * wake at; tick by tick around the old and the new tick), and the timer must
 * fire exactly once, at the tick it was last armed for, or never.
 */
static const uint64_t lazy_h_us[] = {
	0, 1, 999, 1 * MS, 2 * MS, 40 * MS, 63 * MS, 64 * MS, 65 * MS, 100 * MS, 200 * MS,
	1000 * MS, 1001 * MS, 4095 * MS, 4096 * MS, 4097 * MS, 10 * SEC, HOUR, 30 * DAY,
};
#define N_LAZY_H (sizeof(lazy_h_us) / sizeof(lazy_h_us[0]))

enum lazy_op { L_REARM, L_STOP, L_STOP_REARM, L_REARM_CANCEL, L_STOP_CANCEL };

/* Set up one case; returns the tick it must fire at, or UINT64_MAX. */
static uint64_t lazy_setup(struct sn_wheel *w, struct probe *p, uint64_t start, uint64_t h1,
			   uint64_t h2, enum lazy_op op)
{
	struct sn_timer **pprev;
	uint64_t now_tick = start / MS;

	sn_wheel_init(w, start, fns);
	probe_init(p);
	sn_timer_arm(w, &p->t, start + h1);
	pprev = p->t.pprev;
	switch (op) {
	case L_REARM:
		sn_timer_arm(w, &p->t, start + h2);
		break;
	case L_STOP:
		sn_timer_stop(w, &p->t);
		assert_false(sn_timer_armed(&p->t));
		assert_int_equal(w->count, 0);
		/* Still there (lazy), but it will never fire, and with nothing
		 * armed there is nothing to wake up for. */
		assert_true(on_wheel(w, &p->t));
		assert_int_equal(sn_wheel_next_deadline(w), UINT64_MAX);
		sn_timer_stop(w, &p->t);
		assert_int_equal(w->count, 0);
		return UINT64_MAX;
	case L_STOP_REARM:
		sn_timer_stop(w, &p->t);
		sn_timer_arm(w, &p->t, start + h2);
		break;
	case L_REARM_CANCEL:
	case L_STOP_CANCEL:
		if (op == L_REARM_CANCEL)
			sn_timer_arm(w, &p->t, start + h2);
		else
			sn_timer_stop(w, &p->t);
		sn_timer_cancel(w, &p->t);
		assert_false(sn_timer_armed(&p->t));
		assert_null(p->t.pprev);
		assert_false(on_wheel(w, &p->t));
		assert_true(wheel_empty(w));
		return UINT64_MAX;
	}
	assert_true(sn_timer_armed(&p->t));
	assert_int_equal(w->count, 1);
	assert_true(on_wheel(w, &p->t));
	/* The lazy path was taken exactly when it may be: the timer hangs
	 * where it was for a tick no earlier than its old one, but never on
	 * the due list for a later tick. */
	if (fire_tick(start, start + h2) >= fire_tick(start, start + h1) &&
	    (fire_tick(start, start + h1) > now_tick || fire_tick(start, start + h2) == now_tick))
		assert_ptr_equal(p->t.pprev, pprev);
	if (fire_tick(start, start + h2) > now_tick)
		assert_null(w->due);
	return fire_tick(start, start + h2);
}

/* Advance to now_us and check the probe against the tick it must fire at. */
static void lazy_step(struct sn_wheel *w, struct probe *p, uint64_t want, uint64_t now_us)
{
	size_t fired = sn_wheel_advance(w, now_us);

	if (want != UINT64_MAX && now_us / MS >= want) {
		assert_int_equal(p->fires, 1);
		if (fired)
			assert_int_equal(p->last_now_us, now_us);
		assert_false(sn_timer_armed(&p->t));
	} else {
		assert_int_equal(fired, 0);
		assert_int_equal(p->fires, 0);
		assert_int_equal(sn_timer_armed(&p->t), want != UINT64_MAX);
	}
}

static void lazy_case(uint64_t start, uint64_t h1, uint64_t h2, enum lazy_op op)
{
	struct sn_wheel w;
	struct probe p;
	uint64_t old = fire_tick(start, start + h1);
	uint64_t want = lazy_setup(&w, &p, start, h1, h2, op);
	uint64_t end = (want != UINT64_MAX ? want : old) + 2 * 64 * 64 * 64 * 64 * 64ULL;
	unsigned wakes = 0;

	/* 1: jumps to just before the old tick, onto it, before the new. */
	if (old * MS > start)
		lazy_step(&w, &p, want, old * MS - 1);
	lazy_step(&w, &p, want, old * MS);
	if (want != UINT64_MAX && want * MS > old * MS) {
		lazy_step(&w, &p, want, want * MS - 1);
		lazy_step(&w, &p, want, want * MS);
	}
	lazy_step(&w, &p, want, end * MS);
	assert_true(wheel_empty(&w));

	/* 2: an event loop's wake-ups, each never past the firing tick. */
	lazy_setup(&w, &p, start, h1, h2, op);
	for (uint64_t d; (d = sn_wheel_next_deadline(&w)) != UINT64_MAX;) {
		if (want != UINT64_MAX && !p.fires)
			assert_true(d <= want * MS);
		lazy_step(&w, &p, want, d);
		assert_true(++wakes <= 20);
	}
	assert_int_equal(p.fires, want != UINT64_MAX);
	if (want != UINT64_MAX)
		assert_int_equal(p.last_now_us, want * MS);
	/* Nothing armed, so no deadline, though a stopped timer may hang on. */
	lazy_step(&w, &p, want, end * MS);
	assert_true(wheel_empty(&w));

	/* 3: tick by tick around the old tick and up to the new one. */
	if (want == UINT64_MAX || want - old < 5000) {
		uint64_t from = old > start / MS + 3 ? old - 3 : start / MS;
		uint64_t to = (want != UINT64_MAX ? want : old) + 3;

		lazy_setup(&w, &p, start, h1, h2, op);
		for (uint64_t t = from; t <= to; t++)
			lazy_step(&w, &p, want, t * MS + 500);
		lazy_step(&w, &p, want, end * MS);
		assert_true(wheel_empty(&w));
	}
}

static void test_lazy_moves(void **state)
{
	static const enum lazy_op ops[] = {
		L_REARM, L_STOP, L_STOP_REARM, L_REARM_CANCEL, L_STOP_CANCEL,
	};

	for (size_t s = 0; s < N_STARTS; s++)
		for (size_t i = 0; i < N_LAZY_H; i++)
			for (size_t j = 0; j < N_LAZY_H; j++)
				for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
					lazy_case(starts_us[s], lazy_h_us[i], lazy_h_us[j], ops[o]);
}

/*
 * The retransmission timer's life: pushed back by every ACK, stopped when
 * all is acknowledged, started again by the next segment. It fires once, at
 * the last expiry, and a stopped timer at its old place never does.
 */
static void test_lazy_pushed_back_often(void **state)
{
	struct sn_wheel w;
	struct probe p;
	uint64_t now = 5 * MS + 300;
	uint64_t rto = 200 * MS;

	sn_wheel_init(&w, now, fns);
	probe_init(&p);
	sn_timer_arm(&w, &p.t, now + rto);
	for (int i = 0; i < 2000; i++) {
		now += 700;  /* an ACK every 0.7 ms */
		assert_int_equal(sn_wheel_advance(&w, now), 0);
		if (i % 100 == 99) {
			sn_timer_stop(&w, &p.t);
			assert_int_equal(sn_wheel_advance(&w, now), 0);
		}
		sn_timer_arm(&w, &p.t, now + rto);
		assert_true(sn_wheel_next_deadline(&w) <= tick_of(now + rto) * MS);
	}
	assert_int_equal(p.fires, 0);
	assert_int_equal(sn_wheel_advance(&w, tick_of(now + rto) * MS - 1), 0);
	assert_int_equal(sn_wheel_advance(&w, tick_of(now + rto) * MS), 1);
	assert_int_equal(p.last_now_us, tick_of(now + rto) * MS);

	/* Stopped for good: the wheel reaches its place and lets it go. */
	sn_timer_arm(&w, &p.t, now + 2 * rto);
	sn_timer_stop(&w, &p.t);
	assert_true(on_wheel(&w, &p.t));
	assert_int_equal(sn_wheel_advance(&w, now + 10 * rto), 0);
	assert_false(on_wheel(&w, &p.t));
	assert_true(wheel_empty(&w));
	assert_int_equal(p.fires, 1);
}

/*
 * On the due list: re-armed for the same (current) tick it stays and fires
 * on the next advance; re-armed for later it leaves at once, so that the
 * next deadline is not "now"; stopped there it is dropped by the next
 * advance without firing.
 */
static void test_lazy_due_list(void **state)
{
	struct sn_wheel w;
	struct probe p;

	sn_wheel_init(&w, 50 * MS + 100, fns);
	probe_init(&p);
	sn_timer_arm(&w, &p.t, 3 * MS);
	assert_ptr_equal(w.due, &p.t);
	sn_timer_arm(&w, &p.t, 50 * MS);
	assert_ptr_equal(w.due, &p.t);
	assert_int_equal(sn_wheel_advance(&w, 50 * MS + 200), 1);

	sn_timer_arm(&w, &p.t, 3 * MS);
	sn_timer_arm(&w, &p.t, 57 * MS);
	assert_null(w.due);
	assert_int_equal(sn_wheel_next_deadline(&w), 57 * MS);
	assert_int_equal(sn_wheel_advance(&w, 57 * MS - 1), 0);
	assert_int_equal(sn_wheel_advance(&w, 57 * MS), 1);
	assert_int_equal(p.fires, 2);

	sn_timer_arm(&w, &p.t, 0);
	sn_timer_stop(&w, &p.t);
	assert_ptr_equal(w.due, &p.t);
	assert_int_equal(sn_wheel_advance(&w, 57 * MS), 0);
	assert_null(w.due);
	assert_true(wheel_empty(&w));
	assert_int_equal(p.fires, 2);
}

/*
 * sn_wheel_advance returns at once within the current tick with nothing
 * due, and never misses what is due: a timer armed for the current tick,
 * and the first poll of a new tick.
 */
static void test_advance_fast_path(void **state)
{
	struct sn_wheel w;
	struct probe p;

	sn_wheel_init(&w, 7 * MS + 10, fns);
	probe_init(&p);
	assert_int_equal(w.busy_us, 8 * MS);
	for (uint64_t t = 7 * MS; t < 8 * MS; t += 37)
		assert_int_equal(sn_wheel_advance(&w, t), 0);
	assert_int_equal(w.now_tick, 7);
	sn_timer_arm(&w, &p.t, 7 * MS);
	assert_int_equal(w.busy_us, 0);
	assert_int_equal(sn_wheel_advance(&w, 7 * MS + 20), 1);
	assert_int_equal(w.busy_us, 8 * MS);
	sn_timer_arm(&w, &p.t, 8 * MS);
	assert_int_equal(sn_wheel_advance(&w, 8 * MS - 1), 0);
	assert_int_equal(sn_wheel_advance(&w, 8 * MS), 1);
	assert_int_equal(w.now_tick, 8);
	assert_int_equal(w.busy_us, 9 * MS);
	assert_int_equal(sn_wheel_advance(&w, 20 * MS + 5), 0);
	assert_int_equal(w.now_tick, 20);
	assert_int_equal(w.busy_us, 21 * MS);
	/* Near the end of representable time, busy_us saturates. */
	sn_wheel_init(&w, UINT64_MAX - 5, fns);
	assert_int_equal(w.busy_us, UINT64_MAX);
	sn_timer_arm(&w, &p.t, 0);
	assert_int_equal(w.busy_us, 0);
	assert_int_equal(sn_wheel_advance(&w, UINT64_MAX), 1);
	assert_int_equal(w.busy_us, UINT64_MAX);
	assert_int_equal(p.fires, 3);
}

static void test_next_deadline(void **state)
{
	struct sn_wheel w;
	struct probe p, q;

	sn_wheel_init(&w, 0, fns);
	probe_init(&p);
	probe_init(&q);
	assert_int_equal(sn_wheel_next_deadline(&w), UINT64_MAX);

	/* Any level-0 timer alone is exact, from every position in a block. */
	for (uint64_t now = 1000; now < 1000 + 64; now++) {
		for (uint64_t h = 1; h < 64; h++) {
			sn_wheel_init(&w, now * MS + 300, fns);
			sn_timer_arm(&w, &p.t, (now + h) * MS - 200);
			assert_int_equal(sn_wheel_next_deadline(&w), (now + h) * MS);
			/* A far timer beside it does not disturb that. */
			sn_timer_arm(&w, &q.t, now * MS + HOUR);
			assert_int_equal(sn_wheel_next_deadline(&w), (now + h) * MS);
			sn_timer_cancel(&w, &q.t);
			sn_timer_cancel(&w, &p.t);
		}
	}

	/* Due: now. */
	sn_wheel_init(&w, 42 * MS + 5, fns);
	sn_timer_arm(&w, &p.t, 7);
	assert_int_equal(sn_wheel_next_deadline(&w), 42 * MS);
	sn_timer_cancel(&w, &p.t);

	/*
	 * A level-0 timer at tick 73 and a level-1 timer at 74, seen from tick
	 * 10: the level-1 slot is only known to start at 64, so the deadline is
	 * 64 ms. Waking then costs nothing and makes the answer exact.
	 */
	sn_wheel_init(&w, 10 * MS, fns);
	probe_init(&p);
	probe_init(&q);
	sn_timer_arm(&w, &p.t, 73 * MS);
	sn_timer_arm(&w, &q.t, 74 * MS);
	assert_true(sn_wheel_next_deadline(&w) <= 73 * MS);
	assert_true(sn_wheel_next_deadline(&w) >= 64 * MS);
	assert_int_equal(sn_wheel_advance(&w, sn_wheel_next_deadline(&w)), 0);
	assert_int_equal(sn_wheel_next_deadline(&w), 73 * MS);
	assert_int_equal(sn_wheel_advance(&w, 73 * MS), 1);
	assert_int_equal(sn_wheel_next_deadline(&w), 74 * MS);
	assert_int_equal(sn_wheel_advance(&w, 74 * MS), 1);
	assert_int_equal(sn_wheel_next_deadline(&w), UINT64_MAX);

	/* Near the end of representable time the answer saturates. */
	sn_wheel_init(&w, UINT64_MAX - 10 * SEC, fns);
	sn_timer_arm(&w, &p.t, UINT64_MAX);
	assert_true(sn_wheel_next_deadline(&w) > UINT64_MAX - 10 * SEC);
	assert_int_equal(sn_wheel_advance(&w, UINT64_MAX - 1), 0);
	assert_int_equal(sn_wheel_next_deadline(&w), UINT64_MAX);
	sn_timer_cancel(&w, &p.t);
	assert_true(wheel_empty(&w));
}

/*
 * An event loop that sleeps until the next deadline wakes a handful of times
 * (about one per level) for a single far timer, and every wake-up is at or
 * before the expiry.
 */
static void test_idle_wakeups(void **state)
{
	static const uint64_t far_us[] = {
		2 * HOUR, 30 * DAY + 123, 900 * DAY, 5 * 365 * DAY + 1,
	};

	for (size_t i = 0; i < sizeof(far_us) / sizeof(far_us[0]); i++) {
		for (size_t s = 0; s < N_STARTS; s++) {
			struct sn_wheel w;
			struct probe p;
			uint64_t exp = setup_single(&w, &p, starts_us[s], far_us[i]);
			unsigned wakes = 0;

			while (!p.fires) {
				uint64_t d = sn_wheel_next_deadline(&w);

				assert_true(d <= fire_tick(starts_us[s], exp) * MS);
				sn_wheel_advance(&w, d);
				wakes++;
				assert_true(wakes <= 16);
			}
			assert_int_equal(p.fires, 1);
			/* 900 days and 5 years are clamped to 49.7 days. */
			assert_true(p.last_now_us == fire_tick(starts_us[s], exp) * MS);
		}
	}
}

/*
 * A timer keeps the low 32 bits of its expiry tick, read modulo 2^32 from
 * the wheel's 64-bit tick. Around a wrap of those 32 bits, and at the ends
 * of the range (2^31 ahead, SN_WHEEL_MAX_AHEAD, past it: clamped), every
 * timer fires at its exact tick, whether the wheel jumps there or wakes up
 * at each deadline on the way.
 */
static void test_expiry_modulo_wrap(void **state)
{
	static const uint64_t start_ticks[] = {
		(1ULL << 32) - 3, (1ULL << 33) - 1, (5ULL << 32) + (1ULL << 31) - 2, 1ULL << 32,
	};
	static const uint64_t ahead[] = {
		0, 1, 2, 3, 4, 63, 64, 65, 4097, (1ULL << 31) - 1, 1ULL << 31, (1ULL << 31) + 1,
		(1ULL << 32) - 2, (1ULL << 32) - 1, 1ULL << 32, 1ULL << 33,
	};

	for (size_t s = 0; s < sizeof(start_ticks) / sizeof(start_ticks[0]); s++) {
		for (size_t a = 0; a < sizeof(ahead) / sizeof(ahead[0]); a++) {
			uint64_t start = start_ticks[s] * MS;
			uint64_t exp = start + ahead[a] * MS - 250; /* tick start + ahead */
			uint64_t want = ahead[a] < SN_WHEEL_MAX_AHEAD ? ahead[a]
			                                              : SN_WHEEL_MAX_AHEAD;
			struct sn_wheel w;
			struct probe p;
			unsigned wakes = 0;

			want += start_ticks[s];
			if (ahead[a] == 0)
				exp = start; /* the current tick: due now */
			assert_int_equal(fire_tick(start, exp), want);

			/* In one jump, from just before. */
			setup_single(&w, &p, start, exp - start);
			if (want > start_ticks[s]) {
				assert_int_equal(sn_wheel_advance(&w, want * MS - 1), 0);
				assert_true(sn_timer_armed(&p.t));
			}
			assert_int_equal(sn_wheel_advance(&w, want * MS), 1);
			assert_int_equal(p.last_now_us, want * MS);

			/* Waking at each deadline: the cascades cross the wrap. */
			setup_single(&w, &p, start, exp - start);
			while (!p.fires) {
				uint64_t d = sn_wheel_next_deadline(&w);

				assert_true(d <= want * MS);
				sn_wheel_advance(&w, d);
				assert_true(++wakes <= 16);
			}
			assert_int_equal(p.last_now_us, want * MS);
			assert_true(wheel_empty(&w));
		}
	}
}

static double elapsed_s(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

/*
 * A single advance over two idle hours must not walk the 7.2 million ticks.
 * A thousand of them, stepping tick by tick, would take many seconds; jumping, they
 * take microseconds. The bound is loose so a loaded machine does not flake.
 */
static void test_idle_jump_is_cheap(void **state)
{
	struct sn_wheel w;
	struct probe p;
	struct timespec t0;
	uint64_t now = 0;

	sn_wheel_init(&w, now, fns);
	probe_init(&p);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < 1000; i++) {
		sn_timer_arm(&w, &p.t, now + HOUR + i);
		now += 2 * HOUR;
		assert_int_equal(sn_wheel_advance(&w, now), 1);
	}
	assert_int_equal(p.fires, 1000);
	assert_true(elapsed_s(&t0) < 5.0);
}

/*
 * The model test. Each timer knows what the model expects of it; the
 * callbacks check each firing as it happens and may arm or cancel timers
 * themselves, and after each advance nothing the model thinks due may be left.
 */
#define MODEL_TIMERS 256
#define MODEL_OPS 200000

struct model;

struct mtimer {
	struct sn_timer t;
	struct model *m;
	bool armed;      /* the model's view */
	uint64_t exp_us;
	uint64_t exp_tick;
};

struct model {
	struct sn_wheel w;
	struct sn_rand rng;
	struct mtimer tm[MODEL_TIMERS];
	size_t armed;
	uint64_t clock_us;     /* the test's clock; never goes back */
	uint64_t wheel_tick;   /* the model's idea of the wheel's tick */
	/* State of the advance in progress. */
	uint64_t adv_now_us;
	uint64_t adv_target;
	uint64_t adv_start_tick;
	uint64_t adv_last_tick; /* latest tick fired past adv_start_tick, or 0 */
	size_t adv_fired;
	bool meddle;            /* may callbacks arm and cancel? */
	uint64_t total_fired;
};

static void model_arm(struct model *m, struct mtimer *mt, uint64_t exp_us)
{
	if (!mt->armed)
		m->armed++;
	mt->armed = true;
	mt->exp_us = exp_us;
	mt->exp_tick = tick_of(exp_us);
	if (mt->exp_tick > m->w.now_tick + SN_WHEEL_MAX_AHEAD) {
		/* The clamp (wheel.h): it fires that far from the wheel's tick. */
		mt->exp_tick = m->w.now_tick + SN_WHEEL_MAX_AHEAD;
		mt->exp_us = mt->exp_tick * MS;
	}
	sn_timer_arm(&m->w, &mt->t, exp_us);
}

static void model_cancel(struct model *m, struct mtimer *mt)
{
	if (mt->armed)
		m->armed--;
	mt->armed = false;
	sn_timer_cancel(&m->w, &mt->t);
	assert_null(mt->t.pprev);
}

/* Lazy: it may stay on the wheel, but must never fire. */
static void model_stop(struct model *m, struct mtimer *mt)
{
	if (mt->armed)
		m->armed--;
	mt->armed = false;
	sn_timer_stop(&m->w, &mt->t);
}

/* What TCP does to its retransmission timer on every ACK: a little later
 * than it was (the lazy move), or sometimes a little earlier. */
static void model_push_back(struct model *m, struct mtimer *mt)
{
	uint64_t base = mt->armed ? mt->exp_us : m->clock_us;
	uint64_t d = sn_rand_below(&m->rng, 3000);

	if (sn_rand_below(&m->rng, 4) == 0)
		d = sn_rand_below(&m->rng, 100000);
	if (sn_rand_below(&m->rng, 8) == 0 && base > m->clock_us + d)
		model_arm(m, mt, base - d);
	else
		model_arm(m, mt, base + d);
}

/* Short horizons are common in TCP; long ones must still work. */
static uint64_t random_horizon(struct sn_rand *r)
{
	uint32_t k = sn_rand_below(r, 1000);

	if (k < 300)
		return sn_rand_below(r, 64000);
	if (k < 550)
		return sn_rand_below(r, 5000000);
	if (k < 700)
		return (uint64_t)sn_rand_below(r, 300000) * 1000 + sn_rand_below(r, 3) * 500;
	if (k < 850)
		return sn_rand_next(r) % 10000000000ULL;
	if (k < 999)
		return sn_rand_next(r) % (1ULL << sn_rand_below(r, 34));
	/* Rarely, past SN_WHEEL_MAX_AHEAD (49.7 days): clamped. */
	return sn_rand_next(r) % 100000000000000ULL;
}

static uint64_t random_step(struct sn_rand *r)
{
	uint32_t k = sn_rand_below(r, 1000);

	if (k < 30)
		return 0;
	if (k < 450)
		return sn_rand_below(r, 2000);
	if (k < 700)
		return sn_rand_below(r, 100000);
	if (k < 850)
		return sn_rand_below(r, 5000000);
	if (k < 950)
		return sn_rand_next(r) % 1000000000ULL;
	if (k < 998)
		return sn_rand_next(r) % 10000000000ULL;
	return sn_rand_next(r) % 10000000000000ULL;
}

static void model_fn(struct sn_timer *t, uint64_t now_us)
{
	struct mtimer *mt = container_of(t, struct mtimer, t);
	struct model *m = mt->m;

	/* Exactly once, never early, in the first advance that reaches it. */
	assert_true(mt->armed);
	assert_int_equal(now_us, m->adv_now_us);
	assert_true(mt->exp_us <= now_us);
	assert_true(mt->exp_tick <= m->adv_target);
	assert_false(sn_timer_armed(t));
	/* In order of tick: the ones already due first, then rising ticks. */
	if (mt->exp_tick <= m->adv_start_tick) {
		assert_int_equal(m->adv_last_tick, 0);
	} else {
		assert_true(mt->exp_tick >= m->adv_last_tick);
		m->adv_last_tick = mt->exp_tick;
	}
	mt->armed = false;
	m->armed--;
	m->adv_fired++;
	m->total_fired++;
	assert_int_equal(m->w.count, m->armed);

	if (!m->meddle)
		return;
	/*
	 * Arm only at or after now_us, so that a timer armed here never
	 * expires before one already fired in this advance.
	 */
	uint32_t k = sn_rand_below(&m->rng, 100);
	struct mtimer *other = &m->tm[sn_rand_below(&m->rng, MODEL_TIMERS)];

	if (k < 20)
		model_arm(m, mt, now_us + (sn_rand_below(&m->rng, 4) ? sn_rand_below(&m->rng, 200000) : 0));
	else if (k < 25)
		model_cancel(m, other);
	else if (k < 30)
		model_stop(m, other);
	else if (k < 35)
		model_arm(m, other, now_us + random_horizon(&m->rng));
	else if (k < 40 && (other->armed || sn_rand_below(&m->rng, 2)))
		model_push_back(m, other);
}

/* Everything the model thinks due has fired; next_deadline is sound. */
static void model_check(struct model *m)
{
	uint64_t min_tick = UINT64_MAX;
	size_t armed = 0;

	assert_int_equal(m->w.count, m->armed);
	assert_int_equal(m->w.now_tick, m->wheel_tick);
	for (size_t i = 0; i < MODEL_TIMERS; i++) {
		struct mtimer *mt = &m->tm[i];

		assert_int_equal(sn_timer_armed(&mt->t), mt->armed);
		if (!mt->armed)
			continue;
		armed++;
		if (mt->exp_tick < min_tick)
			min_tick = mt->exp_tick;
	}
	assert_int_equal(armed, m->armed);

	uint64_t d = sn_wheel_next_deadline(&m->w);

	if (min_tick == UINT64_MAX) {
		/* Nothing armed, though stopped timers may still hang there. */
		assert_int_equal(d, UINT64_MAX);
	} else if (min_tick <= m->wheel_tick) {
		assert_int_equal(d, m->wheel_tick * MS);
	} else {
		/*
		 * Never late. It may be early: a level's block start, or where a
		 * timer moved lazily or stopped still hangs (test_next_deadline
		 * checks that it is exact without those); a stopped timer on the
		 * due list makes it "now" while another is armed.
		 */
		assert_true(d >= m->wheel_tick * MS);
		assert_true(d <= min_tick * MS);
	}
}

static void model_advance(struct model *m, uint64_t now_us)
{
	uint64_t target = now_us / MS;
	size_t fired;

	m->adv_now_us = now_us;
	m->adv_target = target;
	m->adv_start_tick = m->wheel_tick;
	m->adv_last_tick = 0;
	m->adv_fired = 0;
	fired = sn_wheel_advance(&m->w, now_us);
	assert_int_equal(fired, m->adv_fired);
	if (target < m->wheel_tick) {
		/* The clock went back: a no-op. */
		assert_int_equal(fired, 0);
		return;
	}
	m->wheel_tick = target;
	for (size_t i = 0; i < MODEL_TIMERS; i++)
		assert_false(m->tm[i].armed && m->tm[i].exp_tick <= target);
}

/*
 * Drain as an event loop would: sleep until the next deadline, advance, ask
 * again, until nothing is armed. Each timer costs a handful of wake-ups (one
 * per level it cascades through, one more where it was stopped or moved
 * lazily). Stopped timers may be left hanging then: a far advance sweeps them.
 */
static void model_drain_by_deadline(struct model *m)
{
	unsigned wakes = 0;
	uint64_t d;

	while ((d = sn_wheel_next_deadline(&m->w)) != UINT64_MAX) {
		assert_true(d >= m->wheel_tick * MS);
		if (d > m->clock_us)
			m->clock_us = d;
		model_advance(m, m->clock_us);
		model_check(m);
		assert_true(++wakes <= 16 * MODEL_TIMERS);
	}
	assert_int_equal(m->armed, 0);
	assert_int_equal(m->w.count, 0);
	m->clock_us += 200000000000000ULL;
	model_advance(m, m->clock_us);
}

static void run_model(uint64_t seed, uint64_t start_us, bool drain_by_deadline)
{
	struct model *m = test_calloc(1, sizeof(*m));
	uint64_t fired_before_drain;

	assert_non_null(m);
	sn_rand_seed(&m->rng, seed);
	m->clock_us = start_us;
	m->wheel_tick = start_us / MS;
	m->meddle = true;
	sn_wheel_init(&m->w, start_us, fns);
	for (size_t i = 0; i < MODEL_TIMERS; i++) {
		m->tm[i].m = m;
		sn_timer_init(&m->tm[i].t, FN_MODEL);
	}

	for (unsigned op = 0; op < MODEL_OPS; op++) {
		uint32_t k = sn_rand_below(&m->rng, 100);
		struct mtimer *mt = &m->tm[sn_rand_below(&m->rng, MODEL_TIMERS)];

		if (k < 35) {
			uint64_t exp;

			if (sn_rand_below(&m->rng, 50) == 0)
				exp = m->clock_us - m->clock_us % (sn_rand_below(&m->rng, 100000) + 1);
			else
				exp = m->clock_us + random_horizon(&m->rng);
			model_arm(m, mt, exp);
		} else if (k < 45) {
			model_push_back(m, mt);
		} else if (k < 52) {
			model_cancel(m, mt);
		} else if (k < 60) {
			model_stop(m, mt);
		} else if (k < 62) {
			/* A clock that lags the wheel's tick (or equals it). */
			uint64_t back = sn_rand_below(&m->rng, 3000);

			model_advance(m, m->clock_us > back ? m->clock_us - back : 0);
		} else {
			m->clock_us += random_step(&m->rng);
			model_advance(m, m->clock_us);
		}
		model_check(m);
	}

	/* Drain: everything left fires once, with no new arming. */
	m->meddle = false;
	fired_before_drain = m->total_fired;
	size_t left = m->armed;

	if (drain_by_deadline) {
		model_drain_by_deadline(m);
	} else {
		m->clock_us += 200000000000000ULL;
		model_advance(m, m->clock_us);
	}
	assert_int_equal(m->total_fired - fired_before_drain, left);
	model_check(m);
	assert_true(wheel_empty(&m->w));
	/* A sanity check that the mix exercised firing, not just arming. */
	assert_true(m->total_fired > MODEL_OPS / 10);
	test_free(m);
}

static void test_model_random(void **state)
{
	run_model(0x5eed0001, 0, false);
}

static void test_model_random_odd_start(void **state)
{
	/* Start mid-block on every level, far from zero. */
	run_model(0x5eed0002, ((1ULL << 36) - 5) * MS + 321, false);
}

/* Another mix, drained by deadlines: stopped and lazily moved timers still
 * on the wheel must neither fire nor keep the event loop awake for ever. */
static void test_model_random_deadline_drain(void **state)
{
	run_model(0x5eed0003, 123456789, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_one_jump),
		cmocka_unit_test(test_single_steps),
		cmocka_unit_test(test_due_fires_on_same_now),
		cmocka_unit_test(test_cancel_every_level),
		cmocka_unit_test(test_cancel_within_slot),
		cmocka_unit_test(test_rearm_moves),
		cmocka_unit_test(test_periodic),
		cmocka_unit_test(test_callback_meddles_in_slot),
		cmocka_unit_test(test_lazy_moves),
		cmocka_unit_test(test_lazy_pushed_back_often),
		cmocka_unit_test(test_lazy_due_list),
		cmocka_unit_test(test_advance_fast_path),
		cmocka_unit_test(test_next_deadline),
		cmocka_unit_test(test_idle_wakeups),
		cmocka_unit_test(test_expiry_modulo_wrap),
		cmocka_unit_test(test_idle_jump_is_cheap),
		cmocka_unit_test(test_model_random),
		cmocka_unit_test(test_model_random_odd_start),
		cmocka_unit_test(test_model_random_deadline_drain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
