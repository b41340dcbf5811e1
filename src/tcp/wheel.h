/*
 * wheel.h - a hierarchical timing wheel with O(1) arm and cancel.
 *
 * Time is counted in ticks of 1 ms. A timer armed for an expiry in microseconds
 * fires at the first tick boundary at or after it, so it never fires early.
 * Six levels of 64 slots cover 2^36 ms (about 795 days); later expiries are
 * clamped to the farthest slot.
 *
 * Level l holds timers whose expiry differs from the wheel's current tick in
 * block number (tick >> 6l) by 1..63; a level-l slot is "cascaded" (its timers
 * re-inserted into lower levels) when the current tick reaches the start of its
 * block. Advancing jumps straight to the next non-empty slot using a 64-bit
 * occupancy bitmap per level, so an idle stack costs nothing per tick.
 *
 * Timers are intrusive: embed a struct sn_timer in the object that owns it.
 */
#ifndef SN_WHEEL_H
#define SN_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SN_WHEEL_LEVELS 6
#define SN_WHEEL_SLOTS 64

struct sn_timer;
typedef void (*sn_timer_fn)(struct sn_timer *t, uint64_t now_us);

struct sn_timer {
	struct sn_timer *next;
	struct sn_timer **pprev; /* NULL when not armed */
	uint64_t expires_tick;
	sn_timer_fn fn;
};

struct sn_wheel {
	uint64_t now_tick;        /* every timer due at or before this tick has fired */
	struct sn_timer *slot[SN_WHEEL_LEVELS][SN_WHEEL_SLOTS];
	uint64_t occupied[SN_WHEEL_LEVELS]; /* bit i set = slot[l][i] non-empty */
	struct sn_timer *due;     /* armed for a tick <= now_tick: fire on next advance */
	size_t count;             /* armed timers */
};

/* Start the wheel at time now_us. */
void sn_wheel_init(struct sn_wheel *w, uint64_t now_us);

/* Prepare a timer (not armed). */
void sn_timer_init(struct sn_timer *t, sn_timer_fn fn);

/* Arm (or re-arm) t to fire at expires_us. O(1). */
void sn_timer_arm(struct sn_wheel *w, struct sn_timer *t, uint64_t expires_us);

/* Disarm t if armed. O(1). Safe to call on an unarmed timer. */
void sn_timer_cancel(struct sn_wheel *w, struct sn_timer *t);

static inline bool sn_timer_armed(const struct sn_timer *t) { return t->pprev != NULL; }

/*
 * Fire every timer whose expiry, rounded up to a whole tick, is <= now_us (a
 * timer for 5.5 ms fires at 6 ms, not at 5.7 ms), in order of expiry tick (timers
 * of the same tick in unspecified order). A timer is disarmed before its
 * function runs, and the function may arm or cancel any timer, including
 * itself and others in the same slot. Returns the number of timers fired.
 * now_us earlier than the wheel's current time is a no-op.
 */
size_t sn_wheel_advance(struct sn_wheel *w, uint64_t now_us);

/*
 * The earliest time (µs) at which an armed timer may be due: exact when the
 * earliest expiry tick lies in the current 64 ms block (tick >> 6), otherwise
 * possibly the start of the block of the nearest occupied slot (never later
 * than the true expiry; advancing to it cascades, and the next answer is
 * closer). UINT64_MAX when no timer is armed.
 */
uint64_t sn_wheel_next_deadline(const struct sn_wheel *w);

#endif /* SN_WHEEL_H */
