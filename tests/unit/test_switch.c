/* The segment switch (netemu/switch.c): IEEE 802.1D transparent bridging
 * as the Linux bridge does it — learning, forwarding to the known port,
 * flooding broadcast/multicast/unknown destinations, filtering, station
 * moves and ageing (ageing_time, 300 s by default). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "switch.h"

#define SEC TL_USEC_PER_SEC
#define T0 (1000 * SEC)

static const uint8_t A[6] = { 0x02, 0, 0, 0, 0, 0xa };
static const uint8_t B[6] = { 0x02, 0, 0, 0, 0, 0xb };
static const uint8_t C[6] = { 0x02, 0, 0, 0, 0, 0xc };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };

static uint8_t frame[60];

static const uint8_t *f(const uint8_t dst[6], const uint8_t src[6])
{
	memset(frame, 0, sizeof(frame));
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
	frame[12] = 0x08;
	return frame;
}

/* 802.1D 7.8: an unknown destination is flooded to every port but the
 * one it came in on; the reply is then forwarded to the learned port
 * only, and so is everything after it. */
static void test_8021d_flood_unknown_then_forward_learned(void **state)
{
	(void)state;
	static struct l2switch sw;
	sw_init(&sw, 4, 0);
	assert_int_equal(sw_input(&sw, 0, f(B, A), 60, T0), 0xe); /* ports 1..3 */
	assert_int_equal(sw_input(&sw, 2, f(A, B), 60, T0), 1u << 0);
	assert_int_equal(sw_input(&sw, 0, f(B, A), 60, T0), 1u << 2);
	assert_int_equal(sw_lookup(&sw, A, T0), 0);
	assert_int_equal(sw_lookup(&sw, B, T0), 2);
	assert_int_equal(sw_lookup(&sw, C, T0), -1);
	assert_int_equal(sw.c.flooded, 1);
	assert_int_equal(sw.c.forwarded, 2);
	assert_int_equal(sw.c.learned, 2);
}

/* Broadcast and multicast go to every other port, even when known; a
 * group source address is never learned. */
static void test_8021d_broadcast_multicast_flooded_group_source_not_learned(void **state)
{
	(void)state;
	static struct l2switch sw;
	sw_init(&sw, 3, 0);
	sw_input(&sw, 1, f(A, B), 60, T0);
	assert_int_equal(sw_input(&sw, 1, f(BCAST, B), 60, T0), 0x5);
	assert_int_equal(sw_input(&sw, 0, f(MCAST, A), 60, T0), 0x6);
	assert_int_equal(sw_input(&sw, 2, f(A, MCAST), 60, T0), 1u << 0); /* A learned above */
	assert_int_equal(sw_lookup(&sw, MCAST, T0), -1);
}

/* A frame for a station on its own ingress port is filtered (dropped). */
static void test_8021d_same_port_filtered(void **state)
{
	(void)state;
	static struct l2switch sw;
	sw_init(&sw, 3, 0);
	sw_input(&sw, 1, f(BCAST, A), 60, T0);
	sw_input(&sw, 1, f(BCAST, B), 60, T0);
	assert_int_equal(sw_input(&sw, 1, f(B, A), 60, T0), 0);
	assert_int_equal(sw.c.filtered, 1);
}

/* A station heard on another port moves there at once (a host that
 * changed its attachment, or a MAC spoofer). */
static void test_linux_bridge_station_moves(void **state)
{
	(void)state;
	static struct l2switch sw;
	sw_init(&sw, 3, 0);
	sw_input(&sw, 0, f(BCAST, A), 60, T0);
	sw_input(&sw, 2, f(BCAST, A), 60, T0 + 1);
	assert_int_equal(sw_lookup(&sw, A, T0 + 1), 2);
	assert_int_equal(sw_input(&sw, 1, f(A, B), 60, T0 + 2), 1u << 2);
	assert_int_equal(sw.c.moved, 1);
	assert_int_equal(sw.c.learned, 2); /* A and B */
}

/* Linux bridge ageing_time (300 s by default): an entry lives exactly
 * that long after its station was last heard, then the destination is
 * unknown (flooded) again; hearing it refreshes the entry. */
static void test_linux_bridge_ageing_time_300s(void **state)
{
	(void)state;
	static struct l2switch sw;
	sw_init(&sw, 3, 0);
	assert_int_equal(sw.ageing, 300 * SEC);
	sw_input(&sw, 0, f(BCAST, A), 60, T0);
	assert_int_equal(sw_input(&sw, 1, f(A, B), 60, T0 + 300 * SEC), 1u << 0);
	assert_int_equal(sw_input(&sw, 1, f(A, B), 60, T0 + 300 * SEC + 1), 0x5);
	assert_int_equal(sw_fdb_live(&sw, T0 + 300 * SEC + 1), 1); /* B only */
	sw_input(&sw, 0, f(B, A), 60, T0 + 400 * SEC); /* heard again */
	assert_int_equal(sw_lookup(&sw, A, T0 + 650 * SEC), 0);
	assert_int_equal(sw_lookup(&sw, A, T0 + 700 * SEC + 1), -1);
	/* a shorter ageing time, as `ageing_time` on a bridge sets it */
	sw_init(&sw, 2, 10 * SEC);
	sw_input(&sw, 0, f(BCAST, A), 60, T0);
	assert_int_equal(sw_lookup(&sw, A, T0 + 10 * SEC + 1), -1);
}

/* A runt (shorter than an Ethernet header) is dropped and counted. */
static void test_switch_runt_dropped(void **state)
{
	(void)state;
	static struct l2switch sw;
	sw_init(&sw, 2, 0);
	assert_int_equal(sw_input(&sw, 0, f(B, A), 13, T0), 0);
	assert_int_equal(sw.c.runts, 1);
	assert_int_equal(sw_lookup(&sw, A, T0), -1);
}

/* A flood of made-up source MACs fills the table but stays bounded: the
 * extra stations are counted as not learned, stations learned before
 * stay known, and once aged the slots are reused. */
static void test_switch_fdb_bounded_under_mac_flood(void **state)
{
	(void)state;
	static struct l2switch sw;
	sw_init(&sw, 3, 0);
	sw_input(&sw, 2, f(BCAST, C), 60, T0);
	uint8_t m[6] = { 0x02, 0x66, 0, 0, 0, 0 };
	for (uint32_t i = 0; i < 5000; i++) {
		m[2] = (uint8_t)(i >> 16);
		m[3] = (uint8_t)(i >> 8);
		m[4] = (uint8_t)i;
		sw_input(&sw, 0, f(BCAST, m), 60, T0 + 1);
	}
	assert_true(sw.fdb_used <= SW_FDB_SLOTS);
	assert_true(sw.c.fdb_full > 0);
	assert_int_equal(sw.c.learned + sw.c.fdb_full, 5001);
	assert_int_equal(sw_lookup(&sw, C, T0 + 1), 2);
	/* 300 s later every flood entry has aged: new stations fit again */
	uint64_t full = sw.c.fdb_full;
	sw_input(&sw, 1, f(BCAST, A), 60, T0 + 302 * SEC);
	assert_int_equal(sw.c.fdb_full, full);
	assert_int_equal(sw_lookup(&sw, A, T0 + 302 * SEC), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_8021d_flood_unknown_then_forward_learned),
		cmocka_unit_test(test_8021d_broadcast_multicast_flooded_group_source_not_learned),
		cmocka_unit_test(test_8021d_same_port_filtered),
		cmocka_unit_test(test_linux_bridge_station_moves),
		cmocka_unit_test(test_linux_bridge_ageing_time_300s),
		cmocka_unit_test(test_switch_runt_dropped),
		cmocka_unit_test(test_switch_fdb_bounded_under_mac_flood),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
