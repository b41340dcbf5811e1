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
 * is 64-bit, and every timer on the wheel (armed, or stopped: see below)
 * expires within [now_tick, now_tick + SN_WHEEL_MAX_AHEAD] (a timer already
 * overdue is never re-placed: it waits on the due list for the next
 * advance), so the expiry is recovered exactly as now_tick plus
 * (expires_tick - now_tick) modulo 2^32.
 *
 * Level l holds timers whose expiry differs from the wheel's current tick in
 * block number (tick >> 6l) by 1..63; a level-l slot is "cascaded" (its timers
 * re-inserted into lower levels) when the current tick reaches the start of its
 * block. Advancing jumps straight to the next non-empty slot using a 64-bit
 * occupancy bitmap per level, so an idle stack costs nothing per tick.
 *
 * Lazy moves. A timer re-armed for its own tick or a later one stays where it
 * hangs, with only its expiry changed, and one stopped with sn_timer_stop()
 * stays too, disarmed: both are the common case in TCP (the retransmission
 * timer is pushed back by every ACK, and stopped and started again around
 * every exchange). A timer's place is always at or before its expiry (the
 * start of its slot's block is), so when the wheel reaches it, it is fired
 * if its tick has come, placed again if it was pushed back, or dropped if it
 * was stopped: it fires at the same tick as if it had been moved at once,
 * and a stopped timer never fires. A re-arm for an earlier tick (or for a
 * later one, of a timer waiting on the due list) moves it at once, as does
 * arming a timer that is not on the wheel. The only cost: while some timer
 * is armed, sn_wheel_next_deadline() may name the time of an old place, one
 * early wake-up that finds nothing to fire.
 *
 * Timers are intrusive: embed a struct sn_timer in the object that owns it.
 * A timer may still hang on the wheel when it is not armed (stopped, as
 * above): sn_timer_cancel() takes it off for good, and must come before the
 * memory holding it is freed or reused.
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
	struct sn_timer **pprev; /* NULL when not on the wheel */
	uint32_t expires_tick;   /* low 32 bits of the expiry tick */
	uint8_t fn;              /* what runs on expiry: index into the wheel's fns;
	                            the owner may change it while the timer is idle
	                            or re-arm with another */
	bool armed;              /* will fire; on the wheel (pprev) if so, and
	                            perhaps also when not (stopped, see above) */
};

struct sn_wheel {
	uint64_t now_tick;        /* every timer due at or before this tick has fired */
	const sn_timer_fn *fns;   /* the functions that struct sn_timer.fn indexes */
	struct sn_timer *slot[SN_WHEEL_LEVELS][SN_WHEEL_SLOTS];
	uint64_t occupied[SN_WHEEL_LEVELS]; /* bit i set = slot[l][i] non-empty */
	struct sn_timer *due;     /* placed for a tick <= now_tick: fire (or drop, if
	                             stopped since) on the next advance */
	size_t count;             /* armed timers */
	uint64_t busy_us;         /* sn_wheel_advance has nothing to do before this
	                             time: the next tick, or 0 if due is not empty */
};

/* Start the wheel at time now_us. fns (kept, not copied) lists the functions
 * its timers run, indexed by struct sn_timer.fn. */
void sn_wheel_init(struct sn_wheel *w, uint64_t now_us, const sn_timer_fn *fns);

/* Prepare a timer (not armed) that runs the wheel's fns[fn]. A zeroed
 * struct sn_timer with fn set is the same thing. */
void sn_timer_init(struct sn_timer *t, uint8_t fn);

/* Arm (or re-arm) t to fire at expires_us, or SN_WHEEL_MAX_AHEAD ticks from
 * the wheel's current tick if that is sooner. O(1); for a timer still on the
 * wheel and a tick no earlier than the one it had, a few instructions (the
 * lazy move, see the top of the file). */
void sn_timer_arm(struct sn_wheel *w, struct sn_timer *t, uint64_t expires_us);

/* Disarm t if armed, and take it off the wheel. O(1). Safe to call on an
 * unarmed timer; afterwards the wheel holds no reference to t. */
void sn_timer_cancel(struct sn_wheel *w, struct sn_timer *t);

/* Disarm t if armed: it will not fire. It may stay on the wheel (see the
 * top of the file) until the wheel reaches its place, it is armed again, or
 * sn_timer_cancel() takes it off. A few instructions. */
static inline void sn_timer_stop(struct sn_wheel *w, struct sn_timer *t)
{
	if (t->armed) {
		t->armed = false;
		w->count--;
	}
}

static inline bool sn_timer_armed(const struct sn_timer *t) { return t->armed; }

/*
 * Fire every timer whose expiry, rounded up to a whole tick, is <= now_us (a
 * timer for 5.5 ms fires at 6 ms, not at 5.7 ms), in order of expiry tick (timers
 * of the same tick in unspecified order). A timer is disarmed before its
 * function runs, and the function may arm, stop or cancel any timer,
 * including itself and others in the same slot. Returns the number of timers fired.
 * now_us earlier than the wheel's current time is a no-op, and so is one in
 * the wheel's current tick with nothing due: both in a few inline
 * instructions (a busy stack is polled many times a millisecond).
 */
size_t sn_wheel_advance_slow(struct sn_wheel *w, uint64_t now_us);
static inline size_t sn_wheel_advance(struct sn_wheel *w, uint64_t now_us)
{
	if (now_us < w->busy_us)
		return 0;
	return sn_wheel_advance_slow(w, now_us);
}

/*
 * The earliest time (µs) at which an armed timer may be due: exact when the
 * earliest expiry tick lies in the current 64 ms block (tick >> 6) and no
 * timer was moved lazily or stopped, otherwise possibly the start of the
 * block of the nearest occupied slot, or the old tick of a timer moved lazily
 * or stopped (never later than the true expiry; advancing to it cascades or
 * settles those timers, and the next answer is closer). UINT64_MAX when no
 * timer is armed (stopped ones may still hang there: none needs waking for).
 */
uint64_t sn_wheel_next_deadline(const struct sn_wheel *w);

#endif /* SN_WHEEL_H */
