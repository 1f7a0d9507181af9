/* Unit tests for bytering: the byte ring behind send and receive buffers.
 * They check the bytes that come out, across the wrap, while the allocation
 * grows, and that the configured maximum is never exceeded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "bytering.h"

/* Fills p with a byte pattern that identifies each position of a stream. */
static void pattern(uint8_t *p, size_t n, size_t stream_off)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((stream_off + i) * 7 + 3);
}

/* A fresh ring owns no memory until written: idle connections stay small. */
static void test_bytering_lazy_allocation(void **state)
{
	struct bytering r;
	uint8_t b = 1;

	(void)state;
	assert_int_equal(bytering_init(&r, 1 << 20), 0);
	assert_null(r.buf);
	assert_int_equal(r.cap, 0);
	assert_int_equal(bytering_space(&r), 1 << 20);
	assert_int_equal(bytering_write(&r, &b, 1), 1);
	assert_int_equal(r.cap, BYTERING_MIN_ALLOC);
	assert_int_equal(bytering_read(&r, &b, 1), 1);
	bytering_trim(&r);
	assert_null(r.buf);
	assert_int_equal(r.cap, 0);
	bytering_fini(&r);
}

/* Writes and reads that straddle the end of the allocation come back in
 * stream order. */
static void test_bytering_wraparound_preserves_order(void **state)
{
	struct bytering r;
	uint8_t in[3000], out[3000];
	size_t wrote = 0, got = 0;

	(void)state;
	bytering_init(&r, BYTERING_MIN_ALLOC);
	/* Keep 3000 bytes in flight in a 4096-byte ring for many rounds so
	 * that head and tail wrap repeatedly. */
	for (int round = 0; round < 50; round++) {
		size_t n = bytering_space(&r) < 1500 ? bytering_space(&r) : 1500;
		pattern(in, n, wrote);
		assert_int_equal(bytering_write(&r, in, n), n);
		wrote += n;
		if (bytering_len(&r) > 2500) {
			size_t k = bytering_read(&r, out, 1700);
			uint8_t want[1700];
			pattern(want, k, got);
			assert_memory_equal(out, want, k);
			got += k;
		}
	}
	assert_int_equal(r.cap, BYTERING_MIN_ALLOC); /* never grew */
	while (bytering_len(&r)) {
		size_t k = bytering_read(&r, out, sizeof(out));
		uint8_t want[3000];
		pattern(want, k, got);
		assert_memory_equal(out, want, k);
		got += k;
	}
	assert_int_equal(got, wrote);
	bytering_fini(&r);
}

/* Growth keeps the contents (even when they wrapped) and doubles up to max,
 * never allocating beyond it. */
static void test_bytering_growth_keeps_wrapped_data(void **state)
{
	struct bytering r;
	static uint8_t in[20000], out[20000];

	(void)state;
	bytering_init(&r, 20000);
	pattern(in, 4000, 0);
	assert_int_equal(bytering_write(&r, in, 4000), 4000);
	assert_int_equal(bytering_read(&r, out, 3000), 3000);
	/* head at 3000 of 4096: this write wraps, then the next one grows */
	pattern(in, 3000, 4000);
	assert_int_equal(bytering_write(&r, in, 3000), 3000);
	assert_int_equal(r.cap, BYTERING_MIN_ALLOC);
	pattern(in, 10000, 7000);
	assert_int_equal(bytering_write(&r, in, 10000), 10000);
	assert_int_equal(bytering_len(&r), 14000);
	assert_int_equal(r.cap, 16384);
	/* the next growth would double to 32768 but stops at max */
	pattern(in, 6000, 17000);
	assert_int_equal(bytering_write(&r, in, 6000), 6000);
	assert_int_equal(r.cap, 20000);
	assert_int_equal(bytering_len(&r), 20000);
	assert_int_equal(bytering_read(&r, out, 20000), 20000);
	pattern(in, 20000, 3000);
	assert_memory_equal(out, in, 20000);
	bytering_fini(&r);
}

/* peek copies from any offset without consuming, across the wrap; spans
 * describe the same bytes as at most two contiguous pieces. */
static void test_bytering_peek_and_spans_across_wrap(void **state)
{
	struct bytering r;
	uint8_t in[4096], out[4096], want[4096];
	struct bytering_span sp[2];

	(void)state;
	bytering_init(&r, BYTERING_MIN_ALLOC);
	pattern(in, 4096, 0);
	bytering_write(&r, in, 4096);
	bytering_drop(&r, 3500); /* head at 3500, stream offset 3500 */
	pattern(in, 2000, 4096);
	assert_int_equal(bytering_write(&r, in, 2000), 2000); /* wraps */
	assert_int_equal(bytering_len(&r), 2596);

	/* peek [500, 800): crosses the physical end at ring offset 596 */
	assert_int_equal(bytering_peek(&r, 500, out, 300), 300);
	pattern(want, 300, 3500 + 500);
	assert_memory_equal(out, want, 300);
	assert_int_equal(bytering_len(&r), 2596); /* nothing consumed */

	/* a peek past the end is clipped; at the end it is empty */
	assert_int_equal(bytering_peek(&r, 2500, out, 1000), 96);
	pattern(want, 96, 3500 + 2500);
	assert_memory_equal(out, want, 96);
	assert_int_equal(bytering_peek(&r, 2596, out, 10), 0);

	assert_int_equal(bytering_spans(&r, 500, 300, sp), 2);
	assert_int_equal(sp[0].len, 96);
	assert_int_equal(sp[1].len, 204);
	pattern(want, 300, 4000);
	assert_memory_equal(sp[0].p, want, 96);
	assert_memory_equal(sp[1].p, want + 96, 204);
	assert_int_equal(bytering_spans(&r, 0, 100, sp), 1);
	assert_int_equal(sp[0].len, 100);
	assert_int_equal(bytering_spans(&r, 1000, 100, sp), 1);
	assert_ptr_equal(sp[0].p, r.buf + 404);
	assert_int_equal(bytering_spans(&r, 2596, 1, sp), 0);
	bytering_fini(&r);
}

/* The limit is enforced: writes are cut at max - len, and a lowered max
 * keeps the stored bytes but accepts nothing until reads make room. */
static void test_bytering_max_enforced(void **state)
{
	struct bytering r;
	uint8_t in[10000], out[10000];

	(void)state;
	pattern(in, sizeof(in), 0);
	bytering_init(&r, 5000);
	assert_int_equal(bytering_write(&r, in, 10000), 5000);
	assert_int_equal(bytering_space(&r), 0);
	assert_int_equal(bytering_write(&r, in, 1), 0);
	assert_true(r.cap <= 5000);
	bytering_set_max(&r, 3000);
	assert_int_equal(bytering_len(&r), 5000);
	assert_int_equal(bytering_space(&r), 0);
	assert_int_equal(bytering_write(&r, in, 1), 0);
	assert_int_equal(bytering_read(&r, out, 2500), 2500);
	assert_int_equal(bytering_space(&r), 500);
	assert_int_equal(bytering_write(&r, in + 5000, 1000), 500);
	assert_int_equal(bytering_read(&r, out, 10000), 3000);
	assert_memory_equal(out, in + 2500, 3000);
	bytering_fini(&r);
}

/* drop consumes without copying and never more than is stored. */
static void test_bytering_drop_consumes(void **state)
{
	struct bytering r;
	uint8_t in[100], out[100];

	(void)state;
	pattern(in, 100, 0);
	bytering_init(&r, 1000);
	bytering_write(&r, in, 100);
	bytering_drop(&r, 40);
	assert_int_equal(bytering_len(&r), 60);
	assert_int_equal(bytering_read(&r, out, 10), 10);
	assert_memory_equal(out, in + 40, 10);
	bytering_drop(&r, 1000);
	assert_int_equal(bytering_len(&r), 0);
	assert_int_equal(bytering_read(&r, out, 10), 0);
	bytering_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytering_lazy_allocation),
		cmocka_unit_test(test_bytering_wraparound_preserves_order),
		cmocka_unit_test(test_bytering_growth_keeps_wrapped_data),
		cmocka_unit_test(test_bytering_peek_and_spans_across_wrap),
		cmocka_unit_test(test_bytering_max_enforced),
		cmocka_unit_test(test_bytering_drop_consumes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
