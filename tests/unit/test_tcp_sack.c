/* The sender's SACK scoreboard (RFC 2018, RFC 6675): merging reported
 * blocks, ignoring blocks outside (SND.UNA, SND.MAX], and finding holes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tcp_sack.h"

static struct tcp_opts blocks(unsigned n, const uint32_t *se)
{
	struct tcp_opts o = { .nsack = (uint8_t)n };
	for (unsigned i = 0; i < n; i++) {
		o.sack[i].start = se[2 * i];
		o.sack[i].end = se[2 * i + 1];
	}
	return o;
}

static void test_rfc6675_scoreboard_merges_and_sorts(void **state)
{
	(void)state;
	struct tcp_sack_board b;
	tcp_sack_clear(&b);
	const uint32_t a[] = { 3000, 4000, 1000, 2000 };
	struct tcp_opts o = blocks(2, a);
	tcp_sack_update(&b, &o, 0, 10000);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.r[0].start, 1000);
	assert_int_equal(b.r[1].start, 3000);
	const uint32_t bridge[] = { 2000, 3000 }; /* touches both: one range */
	o = blocks(1, bridge);
	tcp_sack_update(&b, &o, 0, 10000);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.r[0].start, 1000);
	assert_int_equal(b.r[0].end, 4000);
	assert_int_equal(tcp_sack_bytes_above(&b, 0), 3000);
	assert_int_equal(tcp_sack_bytes_above(&b, 2500), 1500);
}

static void test_rfc6675_blocks_outside_window_ignored(void **state)
{
	(void)state;
	struct tcp_sack_board b;
	tcp_sack_clear(&b);
	const uint32_t bad[] = { 500, 900,     /* below SND.UNA (a D-SACK) */
				 9000, 12000,  /* beyond SND.MAX */
				 5000, 4000 }; /* inverted */
	struct tcp_opts o = blocks(3, bad);
	tcp_sack_update(&b, &o, 1000, 10000);
	assert_int_equal(b.n, 0);
}

static void test_rfc6675_cumulative_ack_trims(void **state)
{
	(void)state;
	struct tcp_sack_board b;
	tcp_sack_clear(&b);
	const uint32_t a[] = { 2000, 3000, 4000, 5000 };
	struct tcp_opts o = blocks(2, a), none = { 0 };
	tcp_sack_update(&b, &o, 1000, 10000);
	tcp_sack_update(&b, &none, 2500, 10000);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.r[0].start, 2500);
	tcp_sack_update(&b, &none, 4500, 10000);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.r[0].start, 4500);
}

static void test_rfc6675_next_hole(void **state)
{
	(void)state;
	struct tcp_sack_board b;
	tcp_sack_clear(&b);
	const uint32_t a[] = { 2000, 3000, 4000, 5000 };
	struct tcp_opts o = blocks(2, a);
	tcp_sack_update(&b, &o, 1000, 10000);
	uint32_t start, len;
	assert_true(tcp_sack_next_hole(&b, 1000, &start, &len));
	assert_int_equal(start, 1000);
	assert_int_equal(len, 1000);
	assert_true(tcp_sack_next_hole(&b, 2000, &start, &len)); /* skips the SACKed range */
	assert_int_equal(start, 3000);
	assert_int_equal(len, 1000);
	assert_false(tcp_sack_next_hole(&b, 4000, &start, &len)); /* above: not known lost */
}

static void test_rfc6675_scoreboard_wraps(void **state)
{
	(void)state;
	struct tcp_sack_board b;
	tcp_sack_clear(&b);
	const uint32_t a[] = { 0xfffffc00u, 0x200u };
	struct tcp_opts o = blocks(1, a);
	tcp_sack_update(&b, &o, 0xfffff000u, 0x1000u);
	assert_int_equal(b.n, 1);
	assert_int_equal(tcp_sack_bytes_above(&b, 0xfffff000u), 0x600);
	uint32_t start, len;
	assert_true(tcp_sack_next_hole(&b, 0xfffff000u, &start, &len));
	assert_int_equal(start, 0xfffff000u);
	assert_int_equal(len, 0xc00);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6675_scoreboard_merges_and_sorts),
		cmocka_unit_test(test_rfc6675_blocks_outside_window_ignored),
		cmocka_unit_test(test_rfc6675_cumulative_ack_trims),
		cmocka_unit_test(test_rfc6675_next_hole),
		cmocka_unit_test(test_rfc6675_scoreboard_wraps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
