/* Unit tests for the timing wheel behind every TCP timer. The TCP tests
 * advance a virtual clock to exact seconds, so the rules proven here are:
 * a timer never fires early, fires at exactly its expiry (µs), comes out in
 * expiry order over long horizons, and the wheel's next deadline is never
 * later than the earliest timer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "timer_wheel.h"

#define MS TL_USEC_PER_MSEC
#define SEC TL_USEC_PER_SEC

/* A deterministic generator for test data (not the stack's prng). */
static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Pops everything due at `now` into out[] (may be NULL); returns the count. */
static size_t drain(struct timer_wheel *w, tl_usec_t now,
		    struct tw_timer **out, size_t max)
{
	size_t n = 0;
	struct tw_timer *t;

	while ((t = tw_pop_expired(w, now))) {
		assert_false(tw_armed(t));
		assert_true(t->expires <= now);
		if (out && n < max)
			out[n] = t;
		n++;
	}
	return n;
}

/* A timer is not returned one µs before its expiry and is returned at
 * exactly its expiry, also when that falls inside a millisecond slot. */
static void test_timer_wheel_fires_exactly_at_expiry_usec(void **state)
{
	static struct timer_wheel w;
	struct tw_timer a, b, c;

	(void)state;
	tw_init(&w, 0);
	tw_timer_init(&a);
	tw_timer_init(&b);
	tw_timer_init(&c);
	tw_arm(&w, &a, 5 * SEC);
	tw_arm(&w, &b, 1 * SEC + 1);     /* 1 µs into a millisecond */
	tw_arm(&w, &c, 1 * SEC + 999);   /* last µs of the same one */
	assert_int_equal(tw_count(&w), 3);

	assert_null(tw_pop_expired(&w, 1 * SEC));
	assert_ptr_equal(tw_pop_expired(&w, 1 * SEC + 1), &b);
	assert_null(tw_pop_expired(&w, 1 * SEC + 1));
	assert_null(tw_pop_expired(&w, 1 * SEC + 998));
	assert_ptr_equal(tw_pop_expired(&w, 1 * SEC + 999), &c);
	assert_null(tw_pop_expired(&w, 5 * SEC - 1));
	assert_true(tw_armed(&a));
	assert_ptr_equal(tw_pop_expired(&w, 5 * SEC), &a);
	assert_false(tw_armed(&a));
	assert_null(tw_pop_expired(&w, 5 * SEC));
	assert_int_equal(tw_count(&w), 0);
	assert_true(tw_check(&w));
}

/* The same at every level: for expiries from 1 ms to 3 h (and 30 days, on
 * the overflow list) a poll at expiry - 1 µs finds nothing and a poll at
 * the expiry finds exactly that timer. */
static void test_timer_wheel_exact_at_every_level(void **state)
{
	static struct timer_wheel w;
	static const tl_usec_t when[] = {
		1 * MS, 63 * MS, 64 * MS, 65 * MS, 4095 * MS, 4096 * MS,
		200 * SEC + 7, 262144 * MS, 3600 * SEC, 3 * 3600 * SEC,
		16777216 * MS + 1, 30ULL * 86400 * SEC,
	};
	struct tw_timer t;

	(void)state;
	for (size_t i = 0; i < TL_ARRAY_SIZE(when); i++) {
		/* start at an odd time so boundaries do not line up */
		tl_usec_t start = 123456789;
		tw_init(&w, start);
		tw_timer_init(&t);
		tw_arm(&w, &t, start + when[i]);
		assert_true(tw_check(&w));
		assert_true(tw_next_deadline(&w) <= start + when[i]);
		assert_null(tw_pop_expired(&w, start + when[i] - 1));
		assert_true(tw_check(&w));
		assert_ptr_equal(tw_pop_expired(&w, start + when[i]), &t);
		assert_int_equal(tw_count(&w), 0);
	}
}

/* Timers armed in shuffled order over 1 ms .. 3 h come out in expiry
 * order, whether time advances in one jump or in uneven steps. */
static void test_timer_wheel_order_over_long_horizon(void **state)
{
	enum { N = 2000 };
	static struct timer_wheel w;
	static struct tw_timer t[N];
	static struct tw_timer *out[N];
	const tl_usec_t horizon = 3 * 3600 * SEC;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		size_t got = 0;
		tl_usec_t now = 0, last = 0;

		tw_init(&w, 0);
		for (size_t i = 0; i < N; i++) {
			tw_timer_init(&t[i]);
			tw_arm(&w, &t[i], 1 * MS + rng() % horizon);
		}
		assert_true(tw_check(&w));
		if (pass == 0) {
			got = drain(&w, horizon + 1 * MS, out, N);
		} else {
			while (now <= horizon + 1 * MS) {
				now += rng() % (90 * SEC);
				got += drain(&w, now, out + got, N - got);
				assert_true(tw_check(&w));
			}
		}
		assert_int_equal(got, N);
		for (size_t i = 0; i < N; i++) {
			assert_true(out[i]->expires >= last);
			last = out[i]->expires;
		}
	}
}

/* Cancel disarms (and is a no-op when repeated); re-arming moves the
 * timer, later or earlier, without duplicating it; a timer already expired
 * but not yet popped can still be cancelled. */
static void test_timer_wheel_cancel_and_rearm(void **state)
{
	static struct timer_wheel w;
	struct tw_timer a, b, c;

	(void)state;
	tw_init(&w, 0);
	tw_timer_init(&a);
	tw_timer_init(&b);
	tw_timer_init(&c);
	tw_cancel(&a); /* never armed */
	tw_arm(&w, &a, 10 * SEC);
	tw_arm(&w, &b, 20 * SEC);
	tw_arm(&w, &c, 2 * SEC);
	tw_cancel(&b);
	tw_cancel(&b);
	assert_false(tw_armed(&b));
	assert_int_equal(tw_count(&w), 2);

	tw_arm(&w, &a, 30 * SEC);  /* later */
	tw_arm(&w, &c, 1 * SEC);   /* earlier */
	assert_int_equal(tw_count(&w), 2);
	assert_true(tw_check(&w));
	assert_ptr_equal(tw_pop_expired(&w, 1 * SEC), &c);
	assert_null(tw_pop_expired(&w, 29 * SEC));
	assert_ptr_equal(tw_pop_expired(&w, 30 * SEC), &a);

	/* expired at 40 s: cancel a after the wheel moved it to its ready list */
	tw_arm(&w, &a, 35 * SEC);
	tw_arm(&w, &b, 36 * SEC);
	assert_ptr_equal(tw_pop_expired(&w, 40 * SEC), &a);
	tw_arm(&w, &c, 37 * SEC); /* in the past: fires on the next poll */
	tw_cancel(&b);
	assert_ptr_equal(tw_pop_expired(&w, 40 * SEC), &c);
	assert_null(tw_pop_expired(&w, 40 * SEC));
	assert_int_equal(tw_count(&w), 0);
	assert_true(tw_check(&w));
}

/* A handler that re-arms its timer for "now" (or earlier) sees it again in
 * the same drain; one re-armed for later does not. */
static void test_timer_wheel_rearm_from_handler(void **state)
{
	static struct timer_wheel w;
	struct tw_timer a;
	struct tw_timer *t;
	int fired = 0;

	(void)state;
	tw_init(&w, 0);
	tw_timer_init(&a);
	tw_arm(&w, &a, 1 * SEC);
	/* fires at 1 s, 2 s and 3 s; the last re-arm (4 s) is for later */
	while ((t = tw_pop_expired(&w, 3 * SEC))) {
		fired++;
		tw_arm(&w, t, t->expires + 1 * SEC);
	}
	assert_int_equal(fired, 3);
	assert_true(tw_armed(&a));
	assert_int_equal(a.expires, 4 * SEC);
	assert_ptr_equal(tw_pop_expired(&w, 4 * SEC), &a);
}

/* The next deadline is TL_NEVER with nothing armed, never later than the
 * earliest expiry, exact for the current millisecond, and polling at it
 * reaches a far timer in a few wake-ups (not one per millisecond). */
static void test_timer_wheel_next_deadline_bound(void **state)
{
	static struct timer_wheel w;
	struct tw_timer a, b;
	tl_usec_t now = 1 * SEC + 500, d;
	int wakeups = 0;

	(void)state;
	tw_init(&w, now);
	assert_int_equal(tw_next_deadline(&w), TL_NEVER);
	tw_timer_init(&a);
	tw_timer_init(&b);
	tw_arm(&w, &a, now + 300);  /* same millisecond */
	assert_int_equal(tw_next_deadline(&w), now + 300);
	tw_arm(&w, &b, now + 7200 * SEC + 17);
	assert_int_equal(tw_next_deadline(&w), now + 300);
	assert_ptr_equal(tw_pop_expired(&w, now + 300), &a);

	while ((d = tw_next_deadline(&w)) != TL_NEVER) {
		assert_true(d <= b.expires);
		assert_true(d > now); /* no busy loop on a past deadline */
		now = d;
		drain(&w, now, NULL, 0);
		wakeups++;
	}
	assert_int_equal(now, b.expires);
	assert_true(wakeups <= 2 * TW_LEVELS + 2);
}

/* 200,000 timers (1 ms .. 3 h) all fire, each at the first poll at or
 * after its expiry, the count tracks them, and at every poll the next
 * deadline is no later than the earliest remaining expiry. */
static void test_timer_wheel_200k_timers(void **state)
{
	enum { N = 200000 };
	static struct timer_wheel w;
	struct tw_timer *t = calloc(N, sizeof(*t));
	tl_usec_t now = 5 * SEC, prev;
	size_t fired = 0, cancelled = 0, step = 0;
	struct tw_timer *x;

	(void)state;
	assert_non_null(t);
	tw_init(&w, now);
	for (size_t i = 0; i < N; i++)
		tw_arm(&w, &t[i], now + 1 * MS + rng() % (3 * 3600 * SEC));
	/* cancel every 10th, re-arm every 7th somewhere else */
	for (size_t i = 0; i < N; i += 10) {
		tw_cancel(&t[i]);
		cancelled++;
	}
	for (size_t i = 3; i < N; i += 7)
		if (tw_armed(&t[i]))
			tw_arm(&w, &t[i], now + rng() % (3 * 3600 * SEC) + 1);
	assert_int_equal(tw_count(&w), N - cancelled);
	assert_true(tw_check(&w));

	while (tw_count(&w)) {
		tl_usec_t earliest = TL_NEVER, d = tw_next_deadline(&w);
		for (size_t i = 0; i < N; i++)
			if (tw_armed(&t[i]) && t[i].expires < earliest)
				earliest = t[i].expires;
		assert_true(d <= earliest);
		prev = now;
		/* alternate exact jumps to the earliest expiry and long steps */
		now = (step++ % 4 == 0) ? earliest : now + rng() % (200 * SEC) + 1;
		while ((x = tw_pop_expired(&w, now))) {
			assert_true(x->expires <= now);
			assert_true(x->expires > prev); /* not late */
			fired++;
		}
		/* nothing still armed is due */
		assert_true(tw_next_deadline(&w) > now);
	}
	assert_int_equal(fired, N - cancelled);
	assert_true(tw_check(&w));
	free(t);
}

/* Random arms (past, same millisecond, every level, overflow), cancels
 * and polls (tiny and huge steps, exact expiries) against a brute-force
 * model: after each poll exactly the timers with expires <= now have fired,
 * and the invariants hold after every operation. */
static void test_timer_wheel_matches_model(void **state)
{
	enum { N = 300, OPS = 40000 };
	static struct timer_wheel w;
	static struct tw_timer t[N];
	static bool fired[N];
	tl_usec_t now = 987654321;
	static const tl_usec_t scale[] = {
		1, 1000, 64 * MS, 4 * SEC, 300 * SEC, 5 * 3600 * SEC,
		20ULL * 86400 * SEC,
	};

	(void)state;
	tw_init(&w, now);
	for (size_t i = 0; i < N; i++)
		tw_timer_init(&t[i]);
	for (int op = 0; op < OPS; op++) {
		size_t i = rng() % N;
		uint64_t r = rng();
		tl_usec_t span = scale[r % TL_ARRAY_SIZE(scale)];

		switch ((r >> 8) % 4) {
		case 0:
		case 1: /* arm, sometimes slightly in the past */
			if ((r >> 16) % 16 == 0)
				tw_arm(&w, &t[i], now - rng() % 2000);
			else
				tw_arm(&w, &t[i], now + rng() % (2 * span));
			break;
		case 2:
			tw_cancel(&t[i]);
			break;
		case 3: { /* poll: to some armed expiry, or a random step */
			struct tw_timer *x;
			tl_usec_t to = now + rng() % (2 * span);
			if (tw_armed(&t[i]) && t[i].expires >= now &&
			    (r >> 16) % 2)
				to = t[i].expires;
			for (size_t k = 0; k < N; k++)
				fired[k] = false;
			while ((x = tw_pop_expired(&w, to))) {
				assert_false(fired[x - t]);
				fired[x - t] = true;
			}
			now = to;
			for (size_t k = 0; k < N; k++) {
				/* due timers fired, none else is left due */
				if (fired[k])
					assert_true(t[k].expires <= now);
				else if (tw_armed(&t[k]))
					assert_true(t[k].expires > now);
			}
			break;
		}
		}
		assert_true(tw_check(&w));
		{
			tl_usec_t earliest = TL_NEVER;
			for (size_t k = 0; k < N; k++)
				if (tw_armed(&t[k]) && t[k].expires < earliest)
					earliest = t[k].expires;
			assert_true(tw_next_deadline(&w) <= earliest);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_wheel_fires_exactly_at_expiry_usec),
		cmocka_unit_test(test_timer_wheel_exact_at_every_level),
		cmocka_unit_test(test_timer_wheel_order_over_long_horizon),
		cmocka_unit_test(test_timer_wheel_cancel_and_rearm),
		cmocka_unit_test(test_timer_wheel_rearm_from_handler),
		cmocka_unit_test(test_timer_wheel_next_deadline_bound),
		cmocka_unit_test(test_timer_wheel_200k_timers),
		cmocka_unit_test(test_timer_wheel_matches_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
