/* Hierarchical timing wheel (see timer_wheel.h for the contract).
 *
 * Expiry is lazy: tw_pop_expired() walks time forward only while the ready
 * list is empty, one "event" at a time, where an event is a millisecond whose
 * level-0 slot holds timers or a slot boundary at which a higher level must
 * cascade. Occupancy bitmaps let it jump straight from one event to the next,
 * so hours of idle virtual time cost a handful of steps. */
#include "timer_wheel.h"

#define WHERE_OVERFLOW ((uint16_t)(TW_LEVELS * TW_SLOTS))
#define WHERE_READY ((uint16_t)(TW_LEVELS * TW_SLOTS + 1))
/* Ticks covered by the levels; farther expiries go to the overflow list. */
#define TW_SPAN_BITS (TW_LEVELS * TW_LEVEL_BITS)

static uint64_t tick_of(tl_usec_t t)
{
	return t / TW_TICK_USEC;
}

/* Start of a tick in µs, saturating (ticks that far out hold no timer). */
static tl_usec_t tick_usec(uint64_t tick)
{
	return tick > TL_NEVER / TW_TICK_USEC ? TL_NEVER : tick * TW_TICK_USEC;
}

static void list_push(struct tw_timer **head, struct tw_timer *t)
{
	t->next = *head;
	if (t->next)
		t->next->pprev = &t->next;
	*head = t;
	t->pprev = head;
}

static void ready_append(struct timer_wheel *w, struct tw_timer *t)
{
	t->next = NULL;
	t->pprev = w->ready_tail;
	*w->ready_tail = t;
	w->ready_tail = &t->next;
	t->where = WHERE_READY;
	if (t->expires < w->ready_min)
		w->ready_min = t->expires;
}

/* Takes t off whatever list holds it (t is armed); keeps bitmaps, the ready
 * tail and ready_min right. Does not touch count. */
static void detach(struct timer_wheel *w, struct tw_timer *t)
{
	if (t->where == WHERE_READY && w->ready_tail == &t->next)
		w->ready_tail = t->pprev;
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	if (t->where < WHERE_OVERFLOW) {
		unsigned lvl = t->where / TW_SLOTS, idx = t->where % TW_SLOTS;
		if (!w->slot[lvl][idx])
			w->occupied[lvl] &= ~(1ULL << idx);
	} else if (t->where == WHERE_READY && !w->ready) {
		w->ready_min = TL_NEVER;
	}
	t->next = NULL;
	t->pprev = NULL;
}

/* Files an armed timer (off every list) by its distance from the current
 * tick. */
static void place(struct timer_wheel *w, struct tw_timer *t)
{
	uint64_t e, delta;
	unsigned lvl, idx;

	if (t->expires <= w->done) {
		ready_append(w, t);
		return;
	}
	e = tick_of(t->expires);
	TL_ASSERT(e >= w->tick);
	delta = e - w->tick;
	if (delta >> TW_SPAN_BITS) {
		list_push(&w->overflow, t);
		t->where = WHERE_OVERFLOW;
		return;
	}
	/* The lowest level whose span (64^(L+1) ticks) exceeds the distance. */
	lvl = delta ? (unsigned)(63 - __builtin_clzll(delta)) / TW_LEVEL_BITS : 0;
	idx = (unsigned)(e >> (lvl * TW_LEVEL_BITS)) & (TW_SLOTS - 1);
	t->where = (uint16_t)(lvl * TW_SLOTS + idx);
	list_push(&w->slot[lvl][idx], t);
	w->occupied[lvl] |= 1ULL << idx;
	if (lvl == 0 && e == w->tick && t->expires < w->cur_min)
		w->cur_min = t->expires;
}

void tw_init(struct timer_wheel *w, tl_usec_t now)
{
	for (unsigned l = 0; l < TW_LEVELS; l++) {
		for (unsigned i = 0; i < TW_SLOTS; i++)
			w->slot[l][i] = NULL;
		w->occupied[l] = 0;
	}
	w->overflow = NULL;
	w->ready = NULL;
	w->ready_tail = &w->ready;
	w->ready_min = TL_NEVER;
	w->done = now;
	w->tick = tick_of(now);
	w->cur_min = TL_NEVER;
	w->count = 0;
}

void tw_arm(struct timer_wheel *w, struct tw_timer *t, tl_usec_t expires)
{
	if (t->pprev && t->wheel == w) {
		detach(w, t);
	} else {
		tw_cancel(t); /* armed on another wheel: move it */
		w->count++;
	}
	t->expires = expires;
	t->wheel = w;
	place(w, t);
}

void tw_cancel(struct tw_timer *t)
{
	if (!t->pprev)
		return;
	detach(t->wheel, t);
	t->wheel->count--;
}

/* The first tick after w->tick at which level `lvl` has work: a level-0
 * slot to expire or a higher slot to cascade. UINT64_MAX if none. The
 * level-0 slot of the current tick is not included. */
static uint64_t level_next_tick(const struct timer_wheel *w, unsigned lvl)
{
	unsigned shift = lvl * TW_LEVEL_BITS;
	uint64_t blk = w->tick >> shift;
	unsigned cur = (unsigned)blk & (TW_SLOTS - 1);
	unsigned rot = (cur + 1) & (TW_SLOTS - 1);
	uint64_t bits = w->occupied[lvl];

	if (lvl == 0)
		bits &= ~(1ULL << cur);
	if (!bits)
		return UINT64_MAX;
	/* Rotate so that bit 0 is the slot right after the current one; the
	 * lowest set bit is then the nearest block in the future. A slot equal
	 * to the current one (bit 63 after rotation) is a full turn away. */
	if (rot)
		bits = bits >> rot | bits << (64 - rot);
	return (blk + (unsigned)__builtin_ctzll(bits) + 1) << shift;
}

static uint64_t next_event_tick(const struct timer_wheel *w)
{
	uint64_t best = UINT64_MAX;

	for (unsigned l = 0; l < TW_LEVELS; l++)
		best = TL_MIN(best, level_next_tick(w, l));
	if (w->overflow)
		best = TL_MIN(best, ((w->tick >> TW_SPAN_BITS) + 1) << TW_SPAN_BITS);
	return best;
}

tl_usec_t tw_next_deadline(const struct timer_wheel *w)
{
	tl_usec_t best;
	unsigned cur = (unsigned)w->tick & (TW_SLOTS - 1);

	if (w->count == 0)
		return TL_NEVER;
	best = w->ready ? w->ready_min : TL_NEVER;
	/* Timers of the current millisecond all lie after `done`. */
	if (w->occupied[0] & (1ULL << cur))
		best = TL_MIN(best, TL_MAX(w->cur_min, w->done + 1));
	/* Elsewhere a timer never expires before the tick at which its slot is
	 * reached, so that tick is a safe (early) bound. */
	return TL_MIN(best, tick_usec(next_event_tick(w)));
}

/* Sorts a NULL-terminated list (linked by next only) by expiry, keeping
 * the list order of equal expiries (merge sort on halves). */
static struct tw_timer *sort_by_expiry(struct tw_timer *l, size_t n)
{
	struct tw_timer *a = l, *b, **cut = &l, *out = NULL, **to = &out;
	size_t half = n / 2;

	if (n < 2)
		return l;
	for (size_t i = 0; i < half; i++)
		cut = &(*cut)->next;
	b = *cut;
	*cut = NULL;
	a = sort_by_expiry(a, half);
	b = sort_by_expiry(b, n - half);
	while (a && b) {
		if (b->expires < a->expires) {
			*to = b;
			b = b->next;
		} else {
			*to = a;
			a = a->next;
		}
		to = &(*to)->next;
	}
	*to = a ? a : b;
	return out;
}

static void append_sorted(struct timer_wheel *w, struct tw_timer *l)
{
	size_t n = 0;

	for (const struct tw_timer *t = l; t; t = t->next)
		n++;
	l = sort_by_expiry(l, n);
	while (l) {
		struct tw_timer *n = l->next;
		ready_append(w, l);
		l = n;
	}
}

/* Moves a whole slot (all of it expired) to the ready list. */
static void expire_slot(struct timer_wheel *w, unsigned idx)
{
	struct tw_timer *l = w->slot[0][idx];

	w->slot[0][idx] = NULL;
	w->occupied[0] &= ~(1ULL << idx);
	append_sorted(w, l);
}

/* Moves the timers of the current tick with expires <= now to the ready
 * list and makes cur_min exact for those that stay. */
static void expire_current(struct timer_wheel *w, tl_usec_t now)
{
	unsigned idx = (unsigned)w->tick & (TW_SLOTS - 1);
	struct tw_timer *t = w->slot[0][idx], *due = NULL;

	w->cur_min = TL_NEVER;
	while (t) {
		struct tw_timer *n = t->next;
		if (t->expires <= now) {
			*t->pprev = n;
			if (n)
				n->pprev = t->pprev;
			t->next = due;
			due = t;
		} else if (t->expires < w->cur_min) {
			w->cur_min = t->expires;
		}
		t = n;
	}
	if (!w->slot[0][idx])
		w->occupied[0] &= ~(1ULL << idx);
	append_sorted(w, due);
}

/* Re-files every timer of a list relative to the (new) current tick. */
static void refile(struct timer_wheel *w, struct tw_timer *l)
{
	while (l) {
		struct tw_timer *n = l->next;
		place(w, l);
		l = n;
	}
}

/* Performs the cascades due on arrival at tick t (w->tick == t): the
 * overflow list every 2^30 ticks, then each level whose block starts here,
 * highest first. A timer refiled here never lands in a slot that is about
 * to cascade at this same tick (its distance is below that level's span). */
static void cascade(struct timer_wheel *w, uint64_t t)
{
	if (w->overflow && !(t & ((1ULL << TW_SPAN_BITS) - 1))) {
		struct tw_timer *l = w->overflow;
		w->overflow = NULL;
		refile(w, l);
	}
	for (unsigned lvl = TW_LEVELS - 1; lvl >= 1; lvl--) {
		unsigned shift = lvl * TW_LEVEL_BITS;
		unsigned idx;
		struct tw_timer *l;

		if (t & ((1ULL << shift) - 1))
			continue;
		idx = (unsigned)(t >> shift) & (TW_SLOTS - 1);
		l = w->slot[lvl][idx];
		if (!l)
			continue;
		w->slot[lvl][idx] = NULL;
		w->occupied[lvl] &= ~(1ULL << idx);
		refile(w, l);
	}
}

/* Takes the first timer with expires <= now off the ready list (only
 * needed when now went backwards below `done`). */
static struct tw_timer *ready_take(struct timer_wheel *w, tl_usec_t now)
{
	for (struct tw_timer *t = w->ready; t; t = t->next) {
		if (t->expires <= now) {
			detach(w, t);
			return t;
		}
	}
	return NULL;
}

struct tw_timer *tw_pop_expired(struct timer_wheel *w, tl_usec_t now)
{
	for (;;) {
		uint64_t target, next;
		struct tw_timer *t;

		if (w->ready) {
			t = now >= w->done ? w->ready : NULL;
			if (t)
				detach(w, t);
			else
				t = ready_take(w, now);
			if (t)
				w->count--;
			return t;
		}
		if (now <= w->done)
			return NULL;
		target = tick_of(now);
		if (w->tick == target) {
			expire_current(w, now);
			w->done = now;
			continue;
		}
		/* Everything in the current tick is due (now is in a later one);
		 * then jump to the next tick with work, or to now's tick. */
		expire_slot(w, (unsigned)w->tick & (TW_SLOTS - 1));
		next = TL_MIN(next_event_tick(w), target);
		w->tick = next;
		w->done = next * TW_TICK_USEC - 1;
		w->cur_min = (w->occupied[0] >> (next & (TW_SLOTS - 1)) & 1)
				     ? next * TW_TICK_USEC
				     : TL_NEVER;
		cascade(w, next);
	}
}

/* Checks one list: back links, owner, position, and its tick rules. */
static bool check_list(const struct timer_wheel *w,
		       struct tw_timer *const *head, unsigned where,
		       size_t *n)
{
	struct tw_timer *const *pp = head;

	for (const struct tw_timer *t = *head; t; t = t->next) {
		if (t->pprev != pp || t->wheel != w || t->where != where)
			return false;
		if (where == WHERE_READY) {
			if (t->expires < w->ready_min)
				return false;
		} else {
			uint64_t e = tick_of(t->expires);
			if (t->expires <= w->done || e < w->tick)
				return false;
			if (where < WHERE_OVERFLOW) {
				unsigned lvl = where / TW_SLOTS;
				unsigned shift = lvl * TW_LEVEL_BITS;
				if (((e >> shift) & (TW_SLOTS - 1)) !=
				    where % TW_SLOTS)
					return false;
				/* within one turn of this level from now,
				 * and above level 0 in a later block */
				if ((e >> shift) - (w->tick >> shift) > TW_SLOTS)
					return false;
				if (lvl && (e >> shift) <= (w->tick >> shift))
					return false;
				if (lvl == 0 && e == w->tick &&
				    t->expires < w->cur_min)
					return false;
			}
		}
		pp = &t->next;
		(*n)++;
	}
	if (where == WHERE_READY && w->ready_tail != pp)
		return false;
	return true;
}

bool tw_check(const struct timer_wheel *w)
{
	size_t n = 0;

	for (unsigned l = 0; l < TW_LEVELS; l++) {
		for (unsigned i = 0; i < TW_SLOTS; i++) {
			bool bit = w->occupied[l] >> i & 1;
			if (bit != (w->slot[l][i] != NULL))
				return false;
			if (!check_list(w, &w->slot[l][i],
					l * TW_SLOTS + i, &n))
				return false;
		}
	}
	if (!check_list(w, &w->overflow, WHERE_OVERFLOW, &n) ||
	    !check_list(w, &w->ready, WHERE_READY, &n))
		return false;
	return n == w->count;
}
