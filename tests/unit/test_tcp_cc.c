/* Unit tests for congestion control (tcp_cc.c, tcp_cc_reno.c,
 * tcp_cc_cubic.c): slow start, AIMD and loss response of Reno (RFC 5681),
 * CUBIC's decrease, fast convergence, cubic curve and Reno-friendly region
 * (RFC 9438), all in virtual time: one window of ACKs per round trip,
 * spread evenly over it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <cmocka.h>

#include "tcp_cc.h"

#define MS 1000ULL
#define SEC 1000000ULL

/* One round trip: the window in flight at its start comes back as one ACK
 * per segment, spread evenly over rtt. Returns the new time. */
static tl_usec_t round_trip(struct tcp_cc *cc, tl_usec_t now, uint32_t rtt)
{
	uint32_t flight = cc->cwnd;
	for (uint32_t i = 1; i <= flight; i++)
		tcp_cc_on_ack(cc, 1, rtt, now + (tl_usec_t)rtt * i / flight);
	return now + rtt;
}

static void test_tcp_cc_init_and_names(void **state)
{
	(void)state;
	struct tcp_cc cc;
	assert_int_equal(tcp_cc_init(&cc, "reno", 10, 0), 0);
	assert_string_equal(cc.ops->name, "reno");
	assert_int_equal(cc.cwnd, 10);
	assert_int_equal(cc.ssthresh, 0x7fffffff);
	assert_int_equal(tcp_cc_init(&cc, "cubic", 4, 5 * SEC), 0);
	assert_string_equal(cc.ops->name, "cubic");
	assert_int_equal(cc.cwnd, 4);
	assert_int_equal(cc.ssthresh, 0x7fffffff);
	assert_int_equal(tcp_cc_init(&cc, "bbr", 10, 0), -ENOENT);
	assert_int_equal(tcp_cc_init(&cc, "Reno", 10, 0), -ENOENT);
	assert_string_equal(tcp_cc_available(), "reno cubic");
	assert_non_null(tcp_cc_find("cubic"));
	assert_null(tcp_cc_find("CUBIC"));
	assert_null(tcp_cc_find(NULL));
}

/* RFC 5681 §3.1: in slow start cwnd grows by the segments acked, i.e.
 * doubles every round trip (both algorithms share it). */
static void test_rfc5681_slow_start_doubles_per_rtt(void **state)
{
	(void)state;
	static const char *const names[] = { "reno", "cubic" };
	for (size_t a = 0; a < 2; a++) {
		struct tcp_cc cc;
		tl_usec_t now = 0;
		printf("# %s\n", names[a]);
		assert_int_equal(tcp_cc_init(&cc, names[a], 10, now), 0);
		now = round_trip(&cc, now, 100 * MS);
		assert_int_equal(cc.cwnd, 20);
		now = round_trip(&cc, now, 100 * MS);
		assert_int_equal(cc.cwnd, 40);
		now = round_trip(&cc, now, 100 * MS);
		assert_int_equal(cc.cwnd, 80);
		/* one stretch ACK for several segments counts them all */
		tcp_cc_on_ack(&cc, 5, 100 * MS, now);
		assert_int_equal(cc.cwnd, 85);
	}
}

/* RFC 5681 §3.1: slow start stops at ssthresh; the rest of the ACK feeds
 * congestion avoidance. */
static void test_rfc5681_slow_start_stops_at_ssthresh(void **state)
{
	(void)state;
	struct tcp_cc cc;
	assert_int_equal(tcp_cc_init(&cc, "reno", 10, 0), 0);
	cc.ssthresh = 12;
	tcp_cc_on_ack(&cc, 5, 100 * MS, 0);
	assert_int_equal(cc.cwnd, 12);
	assert_int_equal(cc.cwnd_cnt, 3);
}

/* RFC 5681 §3.1: congestion avoidance adds one segment per round trip. */
static void test_rfc5681_congestion_avoidance_one_segment_per_rtt(void **state)
{
	(void)state;
	struct tcp_cc cc;
	tl_usec_t now = 0;
	assert_int_equal(tcp_cc_init(&cc, "reno", 40, now), 0);
	tcp_cc_on_fast_retransmit(&cc, now);
	tcp_cc_on_recovery_exit(&cc, now);
	assert_int_equal(cc.cwnd, 20);
	for (uint32_t r = 1; r <= 10; r++) {
		now = round_trip(&cc, now, 50 * MS);
		assert_int_equal(cc.cwnd, 20 + r);
	}
}

/* RFC 5681 §3.2 (Linux: from cwnd): fast retransmit halves the window, it
 * does not grow during recovery, and recovery ends at ssthresh. */
static void test_rfc5681_fast_retransmit_halves_window(void **state)
{
	(void)state;
	static const struct {
		uint32_t cwnd, ssthresh;
	} rows[] = { { 40, 20 }, { 41, 20 }, { 10, 5 }, { 3, 2 }, { 1, 2 } };
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct tcp_cc cc;
		printf("# row %zu: cwnd %u\n", i, rows[i].cwnd);
		assert_int_equal(tcp_cc_init(&cc, "reno", rows[i].cwnd, 0), 0);
		tcp_cc_on_fast_retransmit(&cc, 0);
		assert_int_equal(cc.ssthresh, rows[i].ssthresh);
		assert_int_equal(cc.cwnd, rows[i].ssthresh);
		/* ACKs during recovery do not grow the window */
		tcp_cc_on_ack(&cc, 10, 100 * MS, 1000);
		assert_int_equal(cc.cwnd, rows[i].ssthresh);
		/* a second fast retransmit in the same recovery changes nothing */
		tcp_cc_on_fast_retransmit(&cc, 2000);
		assert_int_equal(cc.ssthresh, rows[i].ssthresh);
		tcp_cc_on_recovery_exit(&cc, 3000);
		assert_int_equal(cc.cwnd, rows[i].ssthresh);
	}
}

/* RFC 5681 §3.1 (4): a timeout sets ssthresh to half and cwnd to 1; then
 * slow start runs again up to ssthresh. Linux: a backed-off repeat of the
 * timeout keeps that ssthresh. */
static void test_rfc5681_rto_restarts_slow_start(void **state)
{
	(void)state;
	struct tcp_cc cc;
	tl_usec_t now = 0;
	assert_int_equal(tcp_cc_init(&cc, "reno", 40, now), 0);
	tcp_cc_on_rto(&cc, now);
	assert_int_equal(cc.cwnd, 1);
	assert_int_equal(cc.ssthresh, 20);
	tcp_cc_on_rto(&cc, now + 1 * SEC);
	assert_int_equal(cc.cwnd, 1);
	assert_int_equal(cc.ssthresh, 20);
	now = 3 * SEC;
	static const uint32_t expect[] = { 2, 4, 8, 16, 20, 21, 22 };
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		now = round_trip(&cc, now, 100 * MS);
		assert_int_equal(cc.cwnd, expect[i]);
	}
	/* after ACK progress a new timeout picks a fresh ssthresh */
	tcp_cc_on_rto(&cc, now);
	assert_int_equal(cc.ssthresh, 11);
}

/* Linux: a timeout during fast recovery keeps the recovery's ssthresh. */
static void test_linux_rto_during_recovery_keeps_ssthresh(void **state)
{
	(void)state;
	struct tcp_cc cc;
	assert_int_equal(tcp_cc_init(&cc, "reno", 40, 0), 0);
	tcp_cc_on_fast_retransmit(&cc, 0);
	tcp_cc_on_rto(&cc, 1 * SEC);
	assert_int_equal(cc.ssthresh, 20);
	assert_int_equal(cc.cwnd, 1);
	tcp_cc_on_ack(&cc, 1, 100 * MS, 2 * SEC);
	assert_int_equal(cc.cwnd, 2); /* slow start again, not recovery */
}

/* RFC 9438 §4.6: CUBIC cuts to beta = 0.7 (Linux 717/1024). */
static void test_rfc9438_multiplicative_decrease_beta(void **state)
{
	(void)state;
	static const struct {
		uint32_t cwnd, after;
	} rows[] = { { 100, 70 }, { 10, 7 }, { 1000, 700 }, { 2, 2 } };
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct tcp_cc cc;
		printf("# row %zu: cwnd %u\n", i, rows[i].cwnd);
		assert_int_equal(tcp_cc_init(&cc, "cubic", rows[i].cwnd, 0), 0);
		tcp_cc_on_fast_retransmit(&cc, 0);
		assert_int_equal(cc.ssthresh, rows[i].after);
		assert_int_equal(cc.cwnd, rows[i].after);
		tcp_cc_on_recovery_exit(&cc, 0);
		assert_int_equal(cc.cwnd, rows[i].after);
	}
	struct tcp_cc cc;
	assert_int_equal(tcp_cc_init(&cc, "cubic", 100, 0), 0);
	tcp_cc_on_rto(&cc, 0);
	assert_int_equal(cc.ssthresh, 70);
	assert_int_equal(cc.cwnd, 1);
}

static double cube(double x)
{
	return x * x * x;
}

/* RFC 9438 §4.2: after a loss at W_max = 100 the window follows
 * W(t) = C (t - K)^3 + W_max with C = 0.4 and K = cbrt(W_max (1 - beta) / C):
 * concave up to W_max at t = K, convex beyond. Checked within 3 segments
 * at several points (the window is whole segments and moves per ACK). */
static void test_rfc9438_window_follows_cubic_curve(void **state)
{
	(void)state;
	const double C = 0.4, wmax = 100;
	/* K = cbrt(W_max (1 - beta) / C), from the actual window after the cut. */
	double k = 0;
	while (cube(k + 0.0001) < (wmax - 70) / C)
		k += 0.0001;
	struct tcp_cc cc;
	const uint32_t rtt = 100 * MS;
	tl_usec_t now = 10 * SEC;
	assert_int_equal(tcp_cc_init(&cc, "cubic", 100, now), 0);
	tcp_cc_on_fast_retransmit(&cc, now);
	tcp_cc_on_recovery_exit(&cc, now);
	assert_int_equal(cc.cwnd, 70);

	const tl_usec_t epoch = now;
	static const double checkpoints[] = { 1.0, 2.0, 3.0, 4.2, 5.0, 6.0, 7.0 };
	size_t next = 0;
	while (next < sizeof(checkpoints) / sizeof(checkpoints[0])) {
		now = round_trip(&cc, now, rtt);
		double t = (double)(now - epoch) / 1e6;
		if (t + 1e-9 < checkpoints[next])
			continue;
		double w = C * cube(t - k) + wmax;
		printf("# t=%.1f s: cwnd %u, W(t) %.1f\n", t, cc.cwnd, w);
		if (cc.cwnd + 3 < w || cc.cwnd > w + 3)
			fail_msg("t=%.1f s: cwnd %u, cubic curve %.1f", t, cc.cwnd, w);
		next++;
	}
	/* the plateau: near t = K the window sits at W_max */
	assert_true(k > 4.2 && k < 4.25);
}

/* Linux CUBIC HyStart (RFC 9406 delay increase): slow start ends when the
 * RTT grows by max(4 ms, min RTT / 8) once cwnd >= 16, not at the first
 * loss; with a steady RTT slow start goes on doubling. Reno has no HyStart. */
static void test_linux_cubic_hystart_leaves_slow_start_on_delay(void **state)
{
	(void)state;
	struct tcp_cc cc;
	assert_int_equal(tcp_cc_init(&cc, "cubic", 10, 0), 0);
	for (int i = 0; i < 10; i++)
		tcp_cc_on_ack(&cc, 1, 10000, 1000 * (tl_usec_t)i);
	assert_int_equal(cc.cwnd, 20);               /* steady 10 ms: still doubling */
	assert_true(tcp_cc_in_slow_start(&cc));
	tcp_cc_on_ack(&cc, 1, 13000, 20000);         /* +3 ms: under the 4 ms floor */
	assert_true(tcp_cc_in_slow_start(&cc));
	tcp_cc_on_ack(&cc, 1, 14500, 21000);         /* +4.5 ms: a queue is building */
	assert_false(tcp_cc_in_slow_start(&cc));
	assert_int_equal(cc.ssthresh, 21);

	assert_int_equal(tcp_cc_init(&cc, "reno", 20, 0), 0);
	tcp_cc_on_ack(&cc, 1, 10000, 0);
	tcp_cc_on_ack(&cc, 1, 50000, 1000);
	assert_true(tcp_cc_in_slow_start(&cc));
}

/* RFC 9438 §4.7: a loss before regaining the previous W_max lowers the
 * plateau to cwnd (1 + beta) / 2, so the flow yields to newcomers. */
static void test_rfc9438_fast_convergence(void **state)
{
	(void)state;
	struct tcp_cc cc;
	tl_usec_t now = 0;
	const uint32_t rtt = 100 * MS;
	assert_int_equal(tcp_cc_init(&cc, "cubic", 1000, now), 0);
	tcp_cc_on_fast_retransmit(&cc, now);
	tcp_cc_on_recovery_exit(&cc, now);
	assert_int_equal(cc.priv.cubic.last_max_cwnd, 1000);
	while (cc.cwnd < 900)
		now = round_trip(&cc, now, rtt);
	uint32_t w = cc.cwnd;
	tcp_cc_on_fast_retransmit(&cc, now);
	tcp_cc_on_recovery_exit(&cc, now);
	uint32_t plateau = w * 1741 / 2048; /* w (1 + beta) / 2 */
	assert_int_equal(cc.priv.cubic.last_max_cwnd, plateau);
	assert_int_equal(cc.cwnd, w * 717 / 1024);
	/* Half a second before the new K the window is just under the
	 * lowered plateau, far below the old maximum of 1000. */
	double k = 0;
	while (cube(k + 0.0001) < (plateau - cc.cwnd) / 0.4)
		k += 0.0001;
	tl_usec_t epoch = now;
	while ((double)(now - epoch) / 1e6 < k - 0.5)
		now = round_trip(&cc, now, rtt);
	printf("# plateau %u, K %.2f s, cwnd %u\n", plateau, k, cc.cwnd);
	assert_true(cc.cwnd <= plateau);
	assert_true(cc.cwnd + 5 >= plateau);
}

/* RFC 9438 §4.3: with a small W_max and a short RTT, Reno would grow
 * faster than the cubic curve; CUBIC then grows like Reno, by
 * alpha = 3 (1 - beta) / (1 + beta) ~ 0.53 segments per round trip. */
static void test_rfc9438_reno_friendly_region(void **state)
{
	(void)state;
	struct tcp_cc cc;
	tl_usec_t now = 0;
	const uint32_t rtt = 10 * MS;
	assert_int_equal(tcp_cc_init(&cc, "cubic", 10, now), 0);
	tcp_cc_on_fast_retransmit(&cc, now);
	tcp_cc_on_recovery_exit(&cc, now);
	assert_int_equal(cc.cwnd, 7);
	for (int r = 0; r < 100; r++)
		now = round_trip(&cc, now, rtt);
	/* cubic alone: W(1 s) = 10 - 0.4 (1.96 - 1)^3 < 10; Reno-friendly:
	 * 7 + 0.53 * 100 ~ 60 */
	printf("# cwnd after 100 RTTs: %u\n", cc.cwnd);
	assert_true(cc.cwnd >= 7 + 45);
	assert_true(cc.cwnd <= 7 + 60);
}

/* RFC 9438 §4.8 / Linux: after a timeout CUBIC forgets the curve: slow
 * start up to ssthresh, then the curve starts flat there (K = 0) and
 * rises by at least 5% of the window per round trip. */
static void test_rfc9438_after_timeout_curve_restarts(void **state)
{
	(void)state;
	struct tcp_cc cc;
	tl_usec_t now = 0;
	const uint32_t rtt = 100 * MS;
	assert_int_equal(tcp_cc_init(&cc, "cubic", 100, now), 0);
	tcp_cc_on_rto(&cc, now);
	assert_int_equal(cc.cwnd, 1);
	assert_int_equal(cc.ssthresh, 70);
	assert_int_equal(cc.priv.cubic.last_max_cwnd, 0);
	static const uint32_t ss[] = { 2, 4, 8, 16, 32, 64 };
	for (size_t i = 0; i < sizeof(ss) / sizeof(ss[0]); i++) {
		now = round_trip(&cc, now, rtt);
		assert_int_equal(cc.cwnd, ss[i]);
	}
	/* 64 ACKs: 6 finish slow start at 70, the other 58 earn at most
	 * one segment per 20 on the flat curve */
	now = round_trip(&cc, now, rtt);
	assert_true(cc.cwnd >= 70 && cc.cwnd <= 73);
	uint32_t before = cc.cwnd;
	now = round_trip(&cc, now, rtt);
	assert_true(cc.cwnd >= before + before / 20);
	assert_true(cc.cwnd <= before + before / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_cc_init_and_names),
		cmocka_unit_test(test_rfc5681_slow_start_doubles_per_rtt),
		cmocka_unit_test(test_rfc5681_slow_start_stops_at_ssthresh),
		cmocka_unit_test(test_rfc5681_congestion_avoidance_one_segment_per_rtt),
		cmocka_unit_test(test_rfc5681_fast_retransmit_halves_window),
		cmocka_unit_test(test_rfc5681_rto_restarts_slow_start),
		cmocka_unit_test(test_linux_rto_during_recovery_keeps_ssthresh),
		cmocka_unit_test(test_rfc9438_multiplicative_decrease_beta),
		cmocka_unit_test(test_rfc9438_window_follows_cubic_curve),
		cmocka_unit_test(test_rfc9438_fast_convergence),
		cmocka_unit_test(test_linux_cubic_hystart_leaves_slow_start_on_delay),
		cmocka_unit_test(test_rfc9438_reno_friendly_region),
		cmocka_unit_test(test_rfc9438_after_timeout_curve_restarts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
