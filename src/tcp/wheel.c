/*
 * wheel.c - the hierarchical timing wheel behind every TCP timer.
 *
 * Call chain: the stack's poll (sn_poll) -> sn_wheel_advance() (inline: it
 * returns at once within the current tick) -> sn_wheel_advance_slow() -> each
 * due timer's function; connection code arms, stops and cancels with
 * sn_timer_arm(), sn_timer_stop() and sn_timer_cancel() (timer.c), and
 * sn_next_deadline() asks sn_wheel_next_deadline().
 *
 * Geometry. Level l has 64 slots, each covering a block of 64^l ticks; the
 * block number of tick x at level l is x >> 6l. A timer lives on the lowest
 * level at which its block is 1..63 blocks ahead of the current one, in slot
 * (block & 63). Level 0 therefore holds exact ticks up to 63 ms ahead, and a
 * timer on level l >= 1 is known only to lie somewhere inside its block. When
 * the current tick reaches the start of an occupied block, the slot is
 * cascaded: its timers are placed again relative to the new current tick,
 * which moves each of them to a lower level (or onto the due list) until it
 * reaches level 0 and fires on its exact tick.
 *
 * Invariant: an occupied slot on level l is always 1..63 blocks ahead of the
 * current tick's block. Advancing never steps past the start of an occupied
 * block without cascading it, so the slot at the current index of every level
 * is empty, and "the first occupied slot after the current index" is the
 * nearest one in time. That is what lets sn_wheel_advance() jump over idle
 * time: it goes from one interesting tick to the next, never tick by tick.
 *
 * Lazy moves (wheel.h). A timer on the wheel hangs at or before its expiry:
 * in a level-0 slot for a tick <= its expiry, in a level-l slot whose block
 * starts at or before it, or on the due list with an expiry of exactly
 * now_tick (a re-arm for later takes a timer off the due list at once, so
 * that it does not make sn_wheel_next_deadline() say "now"). Re-arming for a
 * tick no earlier than the one it hangs for keeps that true, so sn_timer_arm
 * then only writes the new expiry, and sn_timer_stop only clears armed.
 * Wherever the wheel reaches a timer (cascade, fire_list on a level-0 slot
 * or the due list) it looks again: stopped, it leaves the wheel; expiry
 * still ahead, it is placed again; otherwise it fires.
 */
#include "tcp/wheel.h"

#define LEVEL_SHIFT 6
#define SLOT_MASK ((uint64_t)SN_WHEEL_SLOTS - 1)
#define US_PER_TICK 1000

static unsigned level_shift(int level)
{
	return (unsigned)level * LEVEL_SHIFT;
}

/* Round up: a timer must never fire before the time it was armed for. */
static uint64_t us_to_tick_ceil(uint64_t us)
{
	if (us > UINT64_MAX - (US_PER_TICK - 1))
		return us / US_PER_TICK + (us % US_PER_TICK != 0);
	return (us + US_PER_TICK - 1) / US_PER_TICK;
}

/* The tick as a time; saturates, since ticks near 2^64 µs cannot be scaled. */
static uint64_t tick_to_us(uint64_t tick)
{
	if (tick > UINT64_MAX / US_PER_TICK)
		return UINT64_MAX;
	return tick * US_PER_TICK;
}

/*
 * struct sn_timer carries no record of where it hangs, so a list head inside
 * the slot array is recognised by its address. Unsigned arithmetic keeps this
 * a plain range check with no comparison of unrelated pointers. Returns the
 * flat slot index (level * 64 + slot), or -1 for the due list or a timer.
 */
static int head_index(const struct sn_wheel *w, struct sn_timer *const *pprev)
{
	uintptr_t base = (uintptr_t)&w->slot[0][0];
	uintptr_t off = (uintptr_t)pprev - base;

	if (off >= sizeof(w->slot))
		return -1;
	return (int)(off / sizeof(w->slot[0][0]));
}

static void list_push(struct sn_timer **head, struct sn_timer *t)
{
	t->next = *head;
	if (t->next)
		t->next->pprev = &t->next;
	*head = t;
	t->pprev = head;
}

/* Take t off whatever list it is on; the slot's bit goes when it empties. */
static void unlink_timer(struct sn_wheel *w, struct sn_timer *t)
{
	struct sn_timer **pprev = t->pprev;

	*pprev = t->next;
	if (t->next) {
		t->next->pprev = pprev;
	} else {
		/* Last on its list; if the list head is a slot, the slot is empty. */
		int i = head_index(w, pprev);

		if (i >= 0)
			w->occupied[i / SN_WHEEL_SLOTS] &= ~((uint64_t)1 << (i % SN_WHEEL_SLOTS));
	}
	t->next = NULL;
	t->pprev = NULL;
}

/* Place t relative to the current tick (see the top of the file). Its expiry
 * is at or after now_tick. */
static void place_timer(struct sn_wheel *w, struct sn_timer *t)
{
	uint64_t now = w->now_tick;
	/* Its full expiry tick from the 32 bits it keeps (wheel.h): it lies in
	 * [now_tick, now_tick + SN_WHEEL_MAX_AHEAD]. */
	uint32_t ahead = t->expires_tick - (uint32_t)now;
	uint64_t exp = now + ahead;
	int level;
	uint64_t slot;

	if (ahead - 1 < SN_WHEEL_SLOTS - 1) {
		/* 1..63 ticks ahead (most TCP timers): level 0, the exact tick. */
		slot = exp & SLOT_MASK;
		list_push(&w->slot[0][slot], t);
		w->occupied[0] |= (uint64_t)1 << slot;
		return;
	}
	if (ahead == 0) {
		/*
		 * Already due: it fires on the next advance, before anything
		 * on the wheel. Overdue timers count as due now, so the list
		 * keeps no order among them.
		 */
		list_push(&w->due, t);
		w->busy_us = 0; /* sn_wheel_advance must look at it */
		return;
	}
	/* The top level's blocks are 2^30 ticks: an expiry at most 2^32 - 1
	 * ticks ahead is at most 4 of them away, so the top level always fits. */
	for (level = 1; level < SN_WHEEL_LEVELS - 1; level++) {
		unsigned sh = level_shift(level);

		if ((exp >> sh) - (now >> sh) < SN_WHEEL_SLOTS)
			break;
	}
	slot = (exp >> level_shift(level)) & SLOT_MASK;
	list_push(&w->slot[level][slot], t);
	w->occupied[level] |= (uint64_t)1 << slot;
}

/*
 * The first tick of the nearest occupied block on this level, or UINT64_MAX
 * if the level is empty. Rotating the bitmap so that the slot after the
 * current one becomes bit 0 turns "next occupied slot in rotation order" into
 * a count of trailing zeros.
 */
static uint64_t level_next_tick(const struct sn_wheel *w, int level)
{
	uint64_t occ = w->occupied[level];
	unsigned sh = level_shift(level);
	uint64_t block = w->now_tick >> sh;
	unsigned rot = (unsigned)((block + 1) & SLOT_MASK);
	uint64_t ahead;

	if (!occ)
		return UINT64_MAX;
	ahead = rot ? (occ >> rot) | (occ << (64 - rot)) : occ;
	/* Bit k is the slot k + 1 blocks ahead of the current one. */
	return (block + 1 + (uint64_t)__builtin_ctzll(ahead)) << sh;
}

static uint64_t wheel_next_tick(const struct sn_wheel *w)
{
	uint64_t best = UINT64_MAX;

	for (int level = 0; level < SN_WHEEL_LEVELS; level++) {
		uint64_t t = level_next_tick(w, level);

		if (t < best)
			best = t;
	}
	return best;
}

/* Re-place every timer of a slot whose block starts at the current tick;
 * stopped ones leave the wheel. */
static void cascade(struct sn_wheel *w, int level, unsigned slot)
{
	struct sn_timer *t = w->slot[level][slot];

	w->slot[level][slot] = NULL;
	w->occupied[level] &= ~((uint64_t)1 << slot);
	while (t) {
		struct sn_timer *next = t->next;

		if (t->armed) {
			place_timer(w, t);
		} else {
			t->next = NULL;
			t->pprev = NULL;
		}
		t = next;
	}
}

/*
 * Fire the list (the due list, or the level-0 slot of the current tick) one
 * timer at a time, re-reading the head after each call: the function may
 * cancel or stop any timer on the list, or arm new ones onto it. A timer
 * armed from here for a time already reached fires in this same advance, so
 * a function that always re-arms itself that way never returns. A timer
 * stopped while it hung here leaves; one re-armed for later is placed again
 * (never onto this list: its expiry is after now_tick).
 */
static size_t fire_list(struct sn_wheel *w, struct sn_timer **head, uint64_t now_us)
{
	size_t fired = 0;
	struct sn_timer *t;

	while ((t = *head) != NULL) {
		unlink_timer(w, t);
		if (!t->armed)
			continue;
		if (t->expires_tick != (uint32_t)w->now_tick) {
			place_timer(w, t);
			continue;
		}
		t->armed = false;
		w->count--;
		w->fns[t->fn](t, now_us);
		fired++;
	}
	return fired;
}

void sn_wheel_init(struct sn_wheel *w, uint64_t now_us, const sn_timer_fn *fns)
{
	*w = (struct sn_wheel){ .now_tick = now_us / US_PER_TICK, .fns = fns };
	w->busy_us = tick_to_us(w->now_tick + 1);
}

void sn_timer_init(struct sn_timer *t, uint8_t fn)
{
	*t = (struct sn_timer){ .fn = fn };
}

void sn_timer_arm(struct sn_wheel *w, struct sn_timer *t, uint64_t expires_us)
{
	uint64_t tick = us_to_tick_ceil(expires_us);
	uint64_t now = w->now_tick;
	uint64_t ahead = tick - now;

	/* Keep the expiry within the range its 32 bits can name (wheel.h):
	 * overdue counts as due now, and the far future is clamped. The
	 * usual case, 0..SN_WHEEL_MAX_AHEAD ticks ahead, is one test. */
	if (ahead > SN_WHEEL_MAX_AHEAD)
		ahead = tick < now ? 0 : SN_WHEEL_MAX_AHEAD;
	if (!t->armed) {
		t->armed = true;
		w->count++;
	}
	if (t->pprev) {
		/* On the wheel, armed or stopped: its place is good for any
		 * tick from the one it hangs for on (the top of the file),
		 * except on the due list (was == 0), which holds only the
		 * current tick. */
		uint32_t was = t->expires_tick - (uint32_t)now;

		if (was ? ahead >= was : ahead == 0) {
			t->expires_tick = (uint32_t)(now + ahead);
			return;
		}
		unlink_timer(w, t);
	}
	t->expires_tick = (uint32_t)(now + ahead);
	place_timer(w, t);
}

void sn_timer_cancel(struct sn_wheel *w, struct sn_timer *t)
{
	if (!t->pprev)
		return; /* not on the wheel, so not armed either */
	sn_timer_stop(w, t);
	unlink_timer(w, t);
}

size_t sn_wheel_advance_slow(struct sn_wheel *w, uint64_t now_us)
{
	uint64_t target = now_us / US_PER_TICK;
	size_t fired = 0;

	/* sn_wheel_advance already returned for a time before busy_us: a
	 * busy stack is polled many times a millisecond, and within the
	 * current tick, with nothing due, there is nothing to do. Here the
	 * tick has moved, or the due list has been used since. */
	if (target < w->now_tick)
		return 0;
	for (;;) {
		uint64_t tick;

		fired += fire_list(w, &w->due, now_us);
		tick = wheel_next_tick(w);
		if (tick > target) {
			/* Nothing occupied starts by then: the invariant holds at target. */
			w->now_tick = target;
			break;
		}
		w->now_tick = tick;
		/*
		 * Cascade every block that begins at this tick, top down. A
		 * re-placed timer lands on a lower level and never in a block
		 * that begins now, so one pass is enough.
		 */
		for (int level = SN_WHEEL_LEVELS - 1; level >= 1; level--) {
			unsigned sh = level_shift(level);

			if ((tick & (((uint64_t)1 << sh) - 1)) == 0 &&
			    (w->occupied[level] >> ((tick >> sh) & SLOT_MASK) & 1))
				cascade(w, level, (unsigned)((tick >> sh) & SLOT_MASK));
		}
		fired += fire_list(w, &w->slot[0][tick & SLOT_MASK], now_us);
	}
	/* The last turn emptied the due list (fire_list also fires what the
	 * functions put on it), and nothing else is due until the next tick. */
	w->busy_us = tick_to_us(w->now_tick + 1);
	return fired;
}

uint64_t sn_wheel_next_deadline(const struct sn_wheel *w)
{
	/* Nothing armed: stopped timers may still hang on the wheel, but
	 * none of them needs a wake-up. Otherwise some slot is occupied, or
	 * the due list is not empty. */
	if (!w->count)
		return UINT64_MAX;
	if (w->due)
		return tick_to_us(w->now_tick);
	return tick_to_us(wheel_next_tick(w));
}
