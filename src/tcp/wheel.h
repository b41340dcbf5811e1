/*
 * wheel.h - a hierarchical timing wheel with O(1) arm and cancel.
 *
 * Time is counted in ticks of 1 ms. A timer armed for an expiry in microseconds
 * fires at the first tick boundary at or after it, so it never fires early.
 * An expiry may lie at most SN_WHEEL_MAX_AHEAD ticks (2^32 - 1 ms, 49.7
 * days) past the wheel's current tick; a later one is clamped to that. No
 * TCP timer comes near it: the longest are TCP_USER_TIMEOUT and the
 * FIN-WAIT-2 timeout, 32-bit milliseconds both.
 *
 * A timer is 24 bytes (three in every connection, so it counts): it keeps
 * only the low 32 bits of its expiry tick, and its function as an index into
 * a table that the wheel's owner gives sn_wheel_init. The wheel's own clock
 * is 64-bit, and every armed timer expires within [now_tick, now_tick +
 * SN_WHEEL_MAX_AHEAD] (a timer already overdue is never re-placed: it waits
 * on the due list for the next advance), so the expiry is recovered exactly
 * as now_tick plus (expires_tick - now_tick) modulo 2^32.
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

#define SN_WHEEL_LEVELS 6         /* 64^6 = 2^36 ticks: covers SN_WHEEL_MAX_AHEAD */
#define SN_WHEEL_SLOTS 64
#define SN_WHEEL_MAX_AHEAD UINT32_MAX /* ticks */

struct sn_timer;
typedef void (*sn_timer_fn)(struct sn_timer *t, uint64_t now_us);

struct sn_timer {
	struct sn_timer *next;
	struct sn_timer **pprev; /* NULL when not armed */
	uint32_t expires_tick;   /* low 32 bits of the expiry tick */
	uint8_t fn;              /* what runs on expiry: index into the wheel's fns;
	                            the owner may change it while the timer is idle
	                            or re-arm with another */
};

struct sn_wheel {
	uint64_t now_tick;        /* every timer due at or before this tick has fired */
	const sn_timer_fn *fns;   /* the functions that struct sn_timer.fn indexes */
	struct sn_timer *slot[SN_WHEEL_LEVELS][SN_WHEEL_SLOTS];
	uint64_t occupied[SN_WHEEL_LEVELS]; /* bit i set = slot[l][i] non-empty */
	struct sn_timer *due;     /* armed for a tick <= now_tick: fire on next advance */
	size_t count;             /* armed timers */
};

/* Start the wheel at time now_us. fns (kept, not copied) lists the functions
 * its timers run, indexed by struct sn_timer.fn. */
void sn_wheel_init(struct sn_wheel *w, uint64_t now_us, const sn_timer_fn *fns);

/* Prepare a timer (not armed) that runs the wheel's fns[fn]. */
void sn_timer_init(struct sn_timer *t, uint8_t fn);

/* Arm (or re-arm) t to fire at expires_us, or SN_WHEEL_MAX_AHEAD ticks from
 * the wheel's current tick if that is sooner. O(1). */
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
