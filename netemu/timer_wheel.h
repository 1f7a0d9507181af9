/* Hierarchical timing wheel: lets hundreds of thousands of connections keep
 * timers without any scan over them. Timers are intrusive (embedded in the
 * object that owns them), arming and cancelling are O(1), and expiry costs
 * amortised O(1) per timer plus O(1) per millisecond of virtual time that
 * holds something to do.
 *
 * Layout: 1 ms ticks; TW_LEVELS levels of 64 slots, level L spanning 64^(L+1)
 * ticks (64 ms, 4.1 s, 4.4 min, 4.7 h, 12.4 days); later expiries wait on an
 * overflow list that is re-sorted every 2^30 ticks. A timer sits in the level
 * where its distance from the current tick fits and moves down ("cascades")
 * as time passes.
 *
 * Contract the TCP code relies on: a timer never fires before its `expires`
 * (µs), and a poll with now == expires returns it; tw_next_deadline() is
 * never later than the earliest armed expiry (it may be earlier: a spurious
 * wake-up). Timers come out of tw_pop_expired() in order of expiry across
 * milliseconds and, for timers that expire within one call, in exact µs
 * order; timers armed with an expiry already in the past come out as soon
 * as possible.
 *
 * Pure (time is always an argument); one thread owns a wheel and all the
 * timers armed on it (the loop thread). A wheel must not be moved or copied
 * after tw_init (the lists point into it). */
#ifndef TL_NETEMU_TIMER_WHEEL_H
#define TL_NETEMU_TIMER_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl_types.h"

#define TW_TICK_USEC 1000ULL /* one slot = 1 ms */
#define TW_LEVEL_BITS 6
#define TW_SLOTS (1u << TW_LEVEL_BITS)
#define TW_LEVELS 5

/* One timer, embedded in its owner (recover the owner with tw_entry()).
 * Invariant: pprev == NULL iff not armed; while armed, *pprev == this timer,
 * `wheel` is the wheel it is on and `where` names its list there. A zeroed
 * struct (or tw_timer_init) is a valid unarmed timer. */
struct tw_timer {
	struct tw_timer *next, **pprev;
	tl_usec_t expires;          /* absolute, µs; meaningful while armed */
	struct timer_wheel *wheel;  /* while armed */
	uint16_t where;             /* slot index, or overflow / ready list */
};

/* The wheel. Invariants (checked by tw_check()):
 * - every armed timer with expires <= done is on `ready`; every other armed
 *   timer is in a slot or on `overflow`, and its tick (expires / 1 ms) is
 *   >= tick;
 * - a timer in level L, slot i has (tick_of(expires) >> 6L) & 63 == i and
 *   will be cascaded (or, at level 0, expired) no later than its tick;
 * - bit i of occupied[L] is set iff slot[L][i] is non-empty;
 * - ready is non-empty or ready_tail == &ready;
 * - cur_min <= the expiry of every timer in the level-0 slot of `tick`;
 *   ready_min <= the expiry of every timer on `ready`;
 * - count is the number of armed timers. */
struct timer_wheel {
	struct tw_timer *slot[TW_LEVELS][TW_SLOTS];
	uint64_t occupied[TW_LEVELS];  /* bit i: slot[L][i] non-empty */
	struct tw_timer *overflow;     /* beyond the top level */
	struct tw_timer *ready;        /* expired, FIFO, popped from the head */
	struct tw_timer **ready_tail;
	tl_usec_t ready_min;
	tl_usec_t done;                /* time up to which expiry is complete */
	uint64_t tick;                 /* current tick (ms) */
	tl_usec_t cur_min;
	size_t count;
};

/* Recovers the owner of an embedded timer: tw_entry(t, struct tcp_conn, rto). */
#define tw_entry(ptr, type, member)                                          \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

void tw_init(struct timer_wheel *w, tl_usec_t now);

static inline void tw_timer_init(struct tw_timer *t)
{
	t->next = NULL;
	t->pprev = NULL;
	t->expires = 0;
	t->wheel = NULL;
	t->where = 0;
}

/* Arms t to fire at `expires` (absolute µs); re-arms it if already armed
 * (on this wheel). An expiry at or before the last poll fires on the next
 * tw_pop_expired call. */
void tw_arm(struct timer_wheel *w, struct tw_timer *t, tl_usec_t expires);

/* Disarms t; a no-op if it is not armed. O(1). */
void tw_cancel(struct tw_timer *t);

static inline bool tw_armed(const struct tw_timer *t)
{
	return t->pprev != NULL;
}

/* A time <= the earliest armed expiry (TL_NEVER if nothing is armed),
 * exact for timers in the current millisecond and for expired ones, a slot
 * boundary otherwise. O(TW_LEVELS). */
tl_usec_t tw_next_deadline(const struct timer_wheel *w);

/* Returns one armed timer with expires <= now, disarmed, or NULL when there
 * is none; call repeatedly until NULL. `now` should not go backwards; if it
 * does, only timers with expires <= now are returned. The owner may re-arm
 * or cancel any timer (including the returned one) between calls. */
struct tw_timer *tw_pop_expired(struct timer_wheel *w, tl_usec_t now);

static inline size_t tw_count(const struct timer_wheel *w)
{
	return w->count;
}

/* Checks the invariants above by walking every timer (tests and debug
 * builds only: O(n)); true when they all hold. */
bool tw_check(const struct timer_wheel *w);

#endif
