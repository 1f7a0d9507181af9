/* Unit tests for tcp_seq.h: sequence-number comparisons on the 2^32 circle
 * (RFC 9293 §3.4), especially across the wrap from 0xffffffff to 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcp_seq.h"

/* RFC 9293 §3.4: ordering is by signed difference, not by magnitude. */
static void test_rfc9293_seq_compare_plain(void **state)
{
	(void)state;
	assert_true(seq_lt(1, 2));
	assert_false(seq_lt(2, 2));
	assert_true(seq_leq(2, 2));
	assert_true(seq_gt(3, 2));
	assert_false(seq_gt(2, 2));
	assert_true(seq_geq(2, 2));
	assert_false(seq_geq(1, 2));
}

/* RFC 9293 §3.4: 0xfffffff0 comes before 0x10 (the space wrapped). */
static void test_rfc9293_seq_compare_wraparound(void **state)
{
	(void)state;
	assert_true(seq_lt(0xfffffff0u, 0x10u));
	assert_true(seq_gt(0x10u, 0xfffffff0u));
	assert_true(seq_leq(0xffffffffu, 0u));
	assert_true(seq_geq(0u, 0xffffffffu));
	assert_false(seq_lt(0u, 0xffffffffu));
	/* Just under half the circle apart is still "after". */
	assert_true(seq_gt(0x7fffffffu, 0u));
	assert_true(seq_lt(0x80000001u, 0u)); /* more than half: "before" */
	assert_int_equal(seq_diff(5, 0xfffffffbu), 10);
	assert_int_equal(seq_diff(0xfffffffbu, 5), -10);
}

/* seq_in(x, lo, hi) is lo <= x < hi, also for windows straddling 2^32. */
static void test_rfc9293_seq_in_window(void **state)
{
	(void)state;
	assert_true(seq_in(100, 100, 200));
	assert_true(seq_in(199, 100, 200));
	assert_false(seq_in(200, 100, 200));
	assert_false(seq_in(99, 100, 200));
	/* window [0xffffff00, 0x100) across the wrap */
	assert_true(seq_in(0xffffff00u, 0xffffff00u, 0x100u));
	assert_true(seq_in(0xffffffffu, 0xffffff00u, 0x100u));
	assert_true(seq_in(0u, 0xffffff00u, 0x100u));
	assert_true(seq_in(0xffu, 0xffffff00u, 0x100u));
	assert_false(seq_in(0x100u, 0xffffff00u, 0x100u));
	assert_false(seq_in(0xfffffeffu, 0xffffff00u, 0x100u));
	/* an empty window holds nothing, not even its edge */
	assert_false(seq_in(5, 5, 5));
}

/* seq_max/seq_min pick by circle order, so max(0xfffffff0, 0x10) is 0x10. */
static void test_rfc9293_seq_max_min_wraparound(void **state)
{
	(void)state;
	assert_int_equal(seq_max(0xfffffff0u, 0x10u), 0x10u);
	assert_int_equal(seq_min(0xfffffff0u, 0x10u), 0xfffffff0u);
	assert_int_equal(seq_max(7, 9), 9);
	assert_int_equal(seq_min(7, 9), 7);
	assert_int_equal(seq_max(4, 4), 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9293_seq_compare_plain),
		cmocka_unit_test(test_rfc9293_seq_compare_wraparound),
		cmocka_unit_test(test_rfc9293_seq_in_window),
		cmocka_unit_test(test_rfc9293_seq_max_min_wraparound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
