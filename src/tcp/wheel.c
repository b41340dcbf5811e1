/*
 * wheel.c - the hierarchical timing wheel behind every TCP timer.
 *
 * Call chain: the stack's poll (sn_poll) -> sn_wheel_advance() -> each due
 * timer's function; connection code arms and cancels with sn_timer_arm() and
 * sn_timer_cancel(), and sn_next_deadline() asks sn_wheel_next_deadline().
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
	return us / US_PER_TICK + (us % US_PER_TICK != 0);
}

/* A timer's full expiry tick from the 32 bits it keeps (see wheel.h): it
 * lies in [now_tick, now_tick + SN_WHEEL_MAX_AHEAD] while on the wheel. */
static uint64_t expiry_tick(const struct sn_wheel *w, const struct sn_timer *t)
{
	return w->now_tick + (uint32_t)(t->expires_tick - (uint32_t)w->now_tick);
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

/* Place t relative to the current tick (see the top of the file). */
static void place_timer(struct sn_wheel *w, struct sn_timer *t)
{
	uint64_t now = w->now_tick;
	uint64_t exp = expiry_tick(w, t);
	int level;
	uint64_t slot;

	if (exp <= now) {
		/*
		 * Already due: it fires on the next advance, before anything
		 * on the wheel. Overdue timers count as due now, so the list
		 * keeps no order among them.
		 */
		list_push(&w->due, t);
		return;
	}
	/* The top level's blocks are 2^30 ticks: an expiry at most 2^32 - 1
	 * ticks ahead is at most 4 of them away, so the top level always fits. */
	for (level = 0; level < SN_WHEEL_LEVELS - 1; level++) {
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

/* Re-place every timer of a slot whose block starts at the current tick. */
static void cascade(struct sn_wheel *w, int level, unsigned slot)
{
	struct sn_timer *t = w->slot[level][slot];

	w->slot[level][slot] = NULL;
	w->occupied[level] &= ~((uint64_t)1 << slot);
	while (t) {
		struct sn_timer *next = t->next;

		place_timer(w, t);
		t = next;
	}
}

/*
 * Fire the list one timer at a time, re-reading the head after each call:
 * the function may cancel any timer on the list, or arm new ones onto it.
 * A timer armed from here for a time already reached fires in this same
 * advance, so a function that always re-arms itself that way never returns.
 */
static size_t fire_list(struct sn_wheel *w, struct sn_timer **head, uint64_t now_us)
{
	size_t fired = 0;
	struct sn_timer *t;

	while ((t = *head) != NULL) {
		unlink_timer(w, t);
		w->count--;
		w->fns[t->fn](t, now_us);
		fired++;
	}
	return fired;
}

void sn_wheel_init(struct sn_wheel *w, uint64_t now_us, const sn_timer_fn *fns)
{
	*w = (struct sn_wheel){ .now_tick = now_us / US_PER_TICK, .fns = fns };
}

void sn_timer_init(struct sn_timer *t, uint8_t fn)
{
	*t = (struct sn_timer){ .fn = fn };
}

void sn_timer_arm(struct sn_wheel *w, struct sn_timer *t, uint64_t expires_us)
{
	uint64_t tick = us_to_tick_ceil(expires_us);

	if (sn_timer_armed(t))
		unlink_timer(w, t);
	else
		w->count++;
	/* Keep the expiry within the range its 32 bits can name (wheel.h):
	 * overdue counts as due now, and the far future is clamped. */
	if (tick < w->now_tick)
		tick = w->now_tick;
	else if (tick - w->now_tick > SN_WHEEL_MAX_AHEAD)
		tick = w->now_tick + SN_WHEEL_MAX_AHEAD;
	t->expires_tick = (uint32_t)tick;
	place_timer(w, t);
}

void sn_timer_cancel(struct sn_wheel *w, struct sn_timer *t)
{
	if (!sn_timer_armed(t))
		return;
	unlink_timer(w, t);
	w->count--;
}

size_t sn_wheel_advance(struct sn_wheel *w, uint64_t now_us)
{
	uint64_t target = now_us / US_PER_TICK;
	size_t fired = 0;

	if (target < w->now_tick)
		return 0;
	/* Polled again within the same tick with nothing due (a busy stack is
	 * polled many times a millisecond): by the invariant there is nothing
	 * to do, and no bitmap needs scanning. */
	if (target == w->now_tick && !w->due)
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
	return fired;
}

uint64_t sn_wheel_next_deadline(const struct sn_wheel *w)
{
	uint64_t tick;

	if (w->due)
		return tick_to_us(w->now_tick);
	tick = wheel_next_tick(w);
	if (tick == UINT64_MAX)
		return UINT64_MAX;
	return tick_to_us(tick);
}
