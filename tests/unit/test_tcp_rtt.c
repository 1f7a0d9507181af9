/* Unit tests for tcp_rtt: the RFC 6298 estimator with Linux's RTO floor and
 * clamps, exponential backoff, and Linux's retry schedules (tcp_retries2
 * budget, reference §2.2; SYN retransmission schedule, reference §3.2). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "tcp_rtt.h"
#include "tl_types.h"

#define MS 1000u
#define SEC 1000000u

/* RFC 6298 §2.1: before any measurement the RTO is the initial 1 s (3 s
 * after a retransmitted SYN, §5.7), and nothing is backed off. */
static void test_rfc6298_initial_rto(void **state)
{
	struct tcp_rtt r;

	(void)state;
	tcp_rtt_init(&r, TCP_TIMEOUT_INIT_US);
	assert_false(r.has_sample);
	assert_int_equal(tcp_rtt_rto(&r, TCP_RTO_MAX_US), 1 * SEC);
	tcp_rtt_init(&r, TCP_TIMEOUT_FALLBACK_US);
	assert_int_equal(tcp_rtt_rto(&r, TCP_RTO_MAX_US), 3 * SEC);
}

/* RFC 6298 §2.2-2.3 worked numbers: first sample R sets SRTT = R,
 * RTTVAR = R/2; later ones use beta = 1/4 (on the old SRTT) then
 * alpha = 1/8. RTO = SRTT + max(4 RTTVAR, rto_min). */
static void test_rfc6298_estimator_worked_numbers(void **state)
{
	struct tcp_rtt r;

	(void)state;
	tcp_rtt_init(&r, TCP_TIMEOUT_INIT_US);
	/* a 500 ms path: the variance term (1 s) exceeds the floor */
	tcp_rtt_sample(&r, 500 * MS, TCP_RTO_MIN_US, TCP_RTO_MAX_US);
	assert_int_equal(r.srtt_us, 500 * MS);
	assert_int_equal(r.rttvar_us, 250 * MS);
	assert_int_equal(r.rto_us, 1500 * MS);

	tcp_rtt_init(&r, TCP_TIMEOUT_INIT_US);
	tcp_rtt_sample(&r, 100 * MS, TCP_RTO_MIN_US, TCP_RTO_MAX_US);
	assert_int_equal(r.srtt_us, 100 * MS);
	assert_int_equal(r.rttvar_us, 50 * MS);
	assert_int_equal(r.rto_us, 300 * MS);
	/* R = 200 ms: RTTVAR = 3/4*50 + 1/4*|100-200| = 62.5 ms,
	 * SRTT = 7/8*100 + 1/8*200 = 112.5 ms, RTO = 112.5 + 250 */
	tcp_rtt_sample(&r, 200 * MS, TCP_RTO_MIN_US, TCP_RTO_MAX_US);
	assert_int_equal(r.rttvar_us, 62500);
	assert_int_equal(r.srtt_us, 112500);
	assert_int_equal(r.rto_us, 362500);
	/* R = SRTT: RTTVAR = 46.875 ms, 4 RTTVAR < 200 ms, the floor wins */
	tcp_rtt_sample(&r, 112500, TCP_RTO_MIN_US, TCP_RTO_MAX_US);
	assert_int_equal(r.rttvar_us, 46875);
	assert_int_equal(r.srtt_us, 112500);
	assert_int_equal(r.rto_us, 312500);
	assert_int_equal(r.min_rtt_us, 100 * MS);
	assert_true(r.has_sample);
}

/* Linux: the variance term is floored at rto_min, so on a 1 ms LAN the RTO
 * settles at SRTT + 200 ms (not RFC 6298's 1 s minimum), and a smaller
 * tcp_rto_min_us lowers it; the result is clamped to rto_max. */
static void test_linux_rto_floor_and_clamp(void **state)
{
	struct tcp_rtt r;

	(void)state;
	tcp_rtt_init(&r, TCP_TIMEOUT_INIT_US);
	for (int i = 0; i < 100; i++)
		tcp_rtt_sample(&r, 1 * MS, TCP_RTO_MIN_US, TCP_RTO_MAX_US);
	assert_int_equal(r.srtt_us, 1 * MS);
	assert_int_equal(r.rttvar_us, 0);
	assert_int_equal(r.rto_us, 201 * MS);
	assert_int_equal(tcp_rtt_rto(&r, TCP_RTO_MAX_US), 201 * MS);

	/* tcp_rto_min_us = 5000 */
	tcp_rtt_sample(&r, 1 * MS, 5 * MS, TCP_RTO_MAX_US);
	assert_int_equal(r.rto_us, 6 * MS);

	/* a 100 s sample would give 300 s; tcp_rto_max_ms clamps it */
	tcp_rtt_init(&r, TCP_TIMEOUT_INIT_US);
	tcp_rtt_sample(&r, 100 * SEC, TCP_RTO_MIN_US, TCP_RTO_MAX_US);
	assert_int_equal(r.rto_us, TCP_RTO_MAX_US);
	tcp_rtt_sample(&r, 100 * SEC, TCP_RTO_MIN_US, 60 * SEC);
	assert_int_equal(r.rto_us, 60 * SEC);

	/* a zero measurement is taken as 1 µs, never as "no sample" */
	tcp_rtt_init(&r, TCP_TIMEOUT_INIT_US);
	tcp_rtt_sample(&r, 0, TCP_RTO_MIN_US, TCP_RTO_MAX_US);
	assert_int_equal(r.srtt_us, 1);
	assert_int_equal(r.rto_us, 200001);
}

/* RFC 6298 §5.5: each expiry doubles the timeout, capped at rto_max
 * (Linux TCP_RTO_MAX 120 s or tcp_rto_max_ms); a new sample resets it. */
static void test_rfc6298_backoff_doubles_and_caps(void **state)
{
	struct tcp_rtt r;
	static const uint32_t want[] = {
		300 * MS, 600 * MS, 1200 * MS, 2400 * MS, 4800 * MS,
		9600 * MS, 19200 * MS, 38400 * MS, 76800 * MS,
		120 * SEC, 120 * SEC,
	};

	(void)state;
	tcp_rtt_init(&r, TCP_TIMEOUT_INIT_US);
	tcp_rtt_sample(&r, 100 * MS, TCP_RTO_MIN_US, TCP_RTO_MAX_US);
	for (size_t i = 0; i < TL_ARRAY_SIZE(want); i++) {
		assert_int_equal(tcp_rtt_rto(&r, TCP_RTO_MAX_US), want[i]);
		tcp_rtt_backoff(&r);
	}
	/* a lower tcp_rto_max_ms caps every step */
	assert_int_equal(tcp_rtt_rto(&r, 5 * SEC), 5 * SEC);
	/* hundreds of expiries never wrap around */
	for (int i = 0; i < 300; i++)
		tcp_rtt_backoff(&r);
	assert_int_equal(tcp_rtt_rto(&r, TCP_RTO_MAX_US), 120 * SEC);
	tcp_rtt_sample(&r, 100 * MS, TCP_RTO_MIN_US, TCP_RTO_MAX_US);
	assert_int_equal(r.backoff, 0);
	assert_true(tcp_rtt_rto(&r, TCP_RTO_MAX_US) < 1 * SEC);
}

/* Reference §2.2: tcp_retries2 (and tcp_orphan_retries) become a time
 * budget, the time N doublings from RTO_MIN would take with each step
 * capped at RTO_MAX: 15 -> 924.6 s, 8 -> 102.2 s. */
static void test_linux_retries2_model_timeout(void **state)
{
	(void)state;
	assert_int_equal(tcp_model_timeout_us(15, TCP_RTO_MIN_US, TCP_RTO_MAX_US),
			 924600000ULL);
	assert_int_equal(tcp_model_timeout_us(8, TCP_RTO_MIN_US, TCP_RTO_MAX_US),
			 102200000ULL);
	/* tcp_retries1 = 3: 0.2+0.4+0.8+1.6 s */
	assert_int_equal(tcp_model_timeout_us(3, TCP_RTO_MIN_US, TCP_RTO_MAX_US),
			 3000000ULL);
	assert_int_equal(tcp_model_timeout_us(0, TCP_RTO_MIN_US, TCP_RTO_MAX_US),
			 200000ULL);
	/* the first capped step: 9 doublings (102.4 s) fit, the 10th is 120 s */
	assert_int_equal(tcp_model_timeout_us(9, TCP_RTO_MIN_US, TCP_RTO_MAX_US),
			 204600000ULL);
	assert_int_equal(tcp_model_timeout_us(10, TCP_RTO_MIN_US, TCP_RTO_MAX_US),
			 324600000ULL);
	/* the closed form equals the capped sum for every count */
	for (unsigned n = 0; n < 40; n++) {
		uint64_t sum = 0, step = TCP_RTO_MIN_US;
		for (unsigned i = 0; i <= n; i++) {
			sum += step < TCP_RTO_MAX_US ? step : TCP_RTO_MAX_US;
			step *= 2;
			if (step > TCP_RTO_MAX_US)
				step = TCP_RTO_MAX_US;
		}
		assert_int_equal(tcp_model_timeout_us(n, TCP_RTO_MIN_US,
						      TCP_RTO_MAX_US), sum);
	}
}

/* Reference §3.2: the SYN give-up budget T(R) = (2^(R+1) - 1) s for R <= 6,
 * then 127 s + (R - 6) * 120 s. */
static void test_linux_syn_retries_budget(void **state)
{
	static const uint64_t want[] = { 1, 3, 7, 15, 31, 63, 127, 247, 367 };

	(void)state;
	for (unsigned r = 0; r < TL_ARRAY_SIZE(want); r++)
		assert_int_equal(tcp_syn_budget_us(r), want[r] * SEC);
}

/* One row of the reference §3.2 table: SYN send times and the connect
 * failure time, in seconds. */
struct syn_row {
	unsigned syn_retries, linear;
	unsigned sends[12];
	unsigned nsends;
	unsigned fails_at;
};

/* Reference §3.2: iterating the interval and budget helpers the way the
 * SYN timer does (at each expiry: give up if elapsed >= T(R), else send
 * another SYN) reproduces the table for tcp_syn_retries 1..6, with
 * tcp_syn_linear_timeouts = 4 (default, 6.5+) and 0 (classic). */
static void test_linux_syn_retransmit_schedule(void **state)
{
	static const struct syn_row rows[] = {
		/* default linear = 4 */
		{ 1, 4, { 0, 1, 2 }, 3, 3 },
		{ 2, 4, { 0, 1, 2, 3, 4, 5 }, 6, 7 },
		{ 3, 4, { 0, 1, 2, 3, 4, 5, 7, 11 }, 8, 19 },
		{ 4, 4, { 0, 1, 2, 3, 4, 5, 7, 11, 19 }, 9, 35 },
		{ 5, 4, { 0, 1, 2, 3, 4, 5, 7, 11, 19, 35 }, 10, 67 },
		{ 6, 4, { 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 }, 11, 131 },
		/* classic pure doubling, linear = 0 */
		{ 1, 0, { 0, 1 }, 2, 3 },
		{ 2, 0, { 0, 1, 3 }, 3, 7 },
		{ 3, 0, { 0, 1, 3, 7 }, 4, 15 },
		{ 4, 0, { 0, 1, 3, 7, 15 }, 5, 31 },
		{ 5, 0, { 0, 1, 3, 7, 15, 31 }, 6, 63 },
		{ 6, 0, { 0, 1, 3, 7, 15, 31, 63 }, 7, 127 },
	};

	(void)state;
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		const struct syn_row *row = &rows[i];
		uint64_t budget = tcp_syn_budget_us(row->syn_retries);
		uint64_t t = 0;
		unsigned n = 0; /* SYNs sent so far (the first at 0) */

		print_message("row syn_retries=%u linear=%u\n",
			      row->syn_retries, row->linear);
		for (;;) {
			assert_true(n < row->nsends + 1);
			if (n < row->nsends)
				assert_int_equal(t, row->sends[n] * (uint64_t)SEC);
			n++;
			t += tcp_syn_interval_us(n - 1, row->linear,
						 TCP_RTO_MAX_US);
			if (t >= budget)
				break;
		}
		assert_int_equal(n, row->nsends);
		assert_int_equal(t, row->fails_at * (uint64_t)SEC);
	}
}

/* The SYN interval doubles after the linear phase and is capped by
 * tcp_rto_max_ms. */
static void test_linux_syn_interval_capped(void **state)
{
	(void)state;
	assert_int_equal(tcp_syn_interval_us(0, 0, TCP_RTO_MAX_US), 1 * SEC);
	assert_int_equal(tcp_syn_interval_us(4, 4, TCP_RTO_MAX_US), 1 * SEC);
	assert_int_equal(tcp_syn_interval_us(5, 4, TCP_RTO_MAX_US), 2 * SEC);
	assert_int_equal(tcp_syn_interval_us(6, 0, TCP_RTO_MAX_US), 64 * SEC);
	assert_int_equal(tcp_syn_interval_us(7, 0, TCP_RTO_MAX_US), 120 * SEC);
	assert_int_equal(tcp_syn_interval_us(200, 0, TCP_RTO_MAX_US), 120 * SEC);
	assert_int_equal(tcp_syn_interval_us(3, 0, 5 * SEC), 5 * SEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6298_initial_rto),
		cmocka_unit_test(test_rfc6298_estimator_worked_numbers),
		cmocka_unit_test(test_linux_rto_floor_and_clamp),
		cmocka_unit_test(test_rfc6298_backoff_doubles_and_caps),
		cmocka_unit_test(test_linux_retries2_model_timeout),
		cmocka_unit_test(test_linux_syn_retries_budget),
		cmocka_unit_test(test_linux_syn_retransmit_schedule),
		cmocka_unit_test(test_linux_syn_interval_capped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
