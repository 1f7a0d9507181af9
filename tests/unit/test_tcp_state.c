/* Unit tests for tcp_state.c: Linux's state numbers and names (netstat and
 * ss spellings) and the transition table of RFC 9293 §3.3.2 + reference §8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "tcp_state.h"
#include "tl_types.h"

/* Linux: /proc/net/tcp prints these numbers (include/net/tcp_states.h). */
static void test_linux_state_numbers(void **state)
{
	(void)state;
	assert_int_equal(TCP_ESTABLISHED, 1);
	assert_int_equal(TCP_SYN_RECV, 3);
	assert_int_equal(TCP_TIME_WAIT, 6);
	assert_int_equal(TCP_CLOSE, 7);
	assert_int_equal(TCP_LISTEN, 10);
	assert_int_equal(TCP_CLOSING, 11);
}

static const struct {
	int state;
	const char *linux_name, *ss_name;
} name_rows[] = {
	{ TCP_ESTABLISHED, "ESTABLISHED", "ESTAB" },
	{ TCP_SYN_SENT, "SYN_SENT", "SYN-SENT" },
	{ TCP_SYN_RECV, "SYN_RECV", "SYN-RECV" },
	{ TCP_FIN_WAIT1, "FIN_WAIT1", "FIN-WAIT-1" },
	{ TCP_FIN_WAIT2, "FIN_WAIT2", "FIN-WAIT-2" },
	{ TCP_TIME_WAIT, "TIME_WAIT", "TIME-WAIT" },
	{ TCP_CLOSE, "CLOSE", "UNCONN" },
	{ TCP_CLOSE_WAIT, "CLOSE_WAIT", "CLOSE-WAIT" },
	{ TCP_LAST_ACK, "LAST_ACK", "LAST-ACK" },
	{ TCP_LISTEN, "LISTEN", "LISTEN" },
	{ TCP_CLOSING, "CLOSING", "CLOSING" },
};

/* Linux: netstat/procps and ss spell every state as listed above. */
static void test_linux_state_names_netstat_and_ss(void **state)
{
	(void)state;
	for (size_t i = 0; i < TL_ARRAY_SIZE(name_rows); i++) {
		printf("# row %zu: %s\n", i, name_rows[i].linux_name);
		assert_string_equal(tcp_state_name(name_rows[i].state),
				    name_rows[i].linux_name);
		assert_string_equal(tcp_state_ss_name(name_rows[i].state),
				    name_rows[i].ss_name);
		assert_int_equal(tcp_state_from_name(name_rows[i].linux_name),
				 name_rows[i].state);
		assert_int_equal(tcp_state_from_name(name_rows[i].ss_name),
				 name_rows[i].state);
	}
}

static void test_state_invalid_numbers_named_question_mark(void **state)
{
	(void)state;
	assert_string_equal(tcp_state_name(0), "?");
	assert_string_equal(tcp_state_name(12), "?");
	assert_string_equal(tcp_state_name(-1), "?");
	assert_string_equal(tcp_state_ss_name(0), "?");
	assert_string_equal(tcp_state_ss_name(99), "?");
}

/* RFC 9293 spellings and lower case are accepted too; unknown gives 0. */
static void test_rfc9293_state_names_parse(void **state)
{
	(void)state;
	assert_int_equal(tcp_state_from_name("SYN-RECEIVED"), TCP_SYN_RECV);
	assert_int_equal(tcp_state_from_name("syn-received"), TCP_SYN_RECV);
	assert_int_equal(tcp_state_from_name("FIN-WAIT-1"), TCP_FIN_WAIT1);
	assert_int_equal(tcp_state_from_name("FIN-WAIT-2"), TCP_FIN_WAIT2);
	assert_int_equal(tcp_state_from_name("CLOSED"), TCP_CLOSE);
	assert_int_equal(tcp_state_from_name("estab"), TCP_ESTABLISHED);
	assert_int_equal(tcp_state_from_name("time_wait"), TCP_TIME_WAIT);
	assert_int_equal(tcp_state_from_name("TIME-WAIT"), TCP_TIME_WAIT);
	assert_int_equal(tcp_state_from_name("LAST-ACK"), TCP_LAST_ACK);
	assert_int_equal(tcp_state_from_name("CLOSE-WAIT"), TCP_CLOSE_WAIT);
	assert_int_equal(tcp_state_from_name("bogus"), 0);
	assert_int_equal(tcp_state_from_name(""), 0);
	assert_int_equal(tcp_state_from_name(NULL), 0);
}

/* Every legal transition; every pair not listed here must be refused. */
static const struct {
	int from, to;
	const char *why;
} legal_rows[] = {
	{ TCP_CLOSE, TCP_LISTEN, "passive open" },
	{ TCP_CLOSE, TCP_SYN_SENT, "active open" },
	{ TCP_LISTEN, TCP_SYN_RECV, "SYN creates a request" },
	{ TCP_LISTEN, TCP_CLOSE, "close of a listener" },
	{ TCP_LISTEN, TCP_SYN_SENT, "RFC 9293 SEND on a listener" },
	{ TCP_SYN_SENT, TCP_ESTABLISHED, "SYN-ACK acks our SYN" },
	{ TCP_SYN_SENT, TCP_SYN_RECV, "simultaneous open" },
	{ TCP_SYN_SENT, TCP_CLOSE, "RST / timeout / close" },
	{ TCP_SYN_RECV, TCP_ESTABLISHED, "ACK of our SYN" },
	{ TCP_SYN_RECV, TCP_FIN_WAIT1, "close() in SYN_RECV" },
	{ TCP_SYN_RECV, TCP_CLOSE, "RST, active side" },
	{ TCP_SYN_RECV, TCP_LISTEN, "RST, passive side" },
	{ TCP_SYN_RECV, TCP_CLOSE_WAIT, "FIN on the final ACK" },
	{ TCP_ESTABLISHED, TCP_FIN_WAIT1, "close()" },
	{ TCP_ESTABLISHED, TCP_CLOSE_WAIT, "FIN received" },
	{ TCP_ESTABLISHED, TCP_CLOSE, "RST / abort" },
	{ TCP_FIN_WAIT1, TCP_FIN_WAIT2, "our FIN acked" },
	{ TCP_FIN_WAIT1, TCP_CLOSING, "simultaneous close" },
	{ TCP_FIN_WAIT1, TCP_TIME_WAIT, "FIN+ACK of our FIN" },
	{ TCP_FIN_WAIT1, TCP_CLOSE, "RST / orphan retries" },
	{ TCP_FIN_WAIT2, TCP_TIME_WAIT, "FIN received" },
	{ TCP_FIN_WAIT2, TCP_CLOSE, "RST / orphan timeout" },
	{ TCP_CLOSING, TCP_TIME_WAIT, "our FIN acked" },
	{ TCP_CLOSING, TCP_CLOSE, "RST / timeout" },
	{ TCP_CLOSE_WAIT, TCP_LAST_ACK, "close()" },
	{ TCP_CLOSE_WAIT, TCP_CLOSE, "RST / abort" },
	{ TCP_LAST_ACK, TCP_CLOSE, "our FIN acked" },
	{ TCP_TIME_WAIT, TCP_CLOSE, "2MSL expiry / RST" },
	{ TCP_TIME_WAIT, TCP_SYN_RECV, "new SYN reuses the tuple" },
};

static bool listed_legal(int from, int to)
{
	for (size_t i = 0; i < TL_ARRAY_SIZE(legal_rows); i++)
		if (legal_rows[i].from == from && legal_rows[i].to == to)
			return true;
	return false;
}

/* RFC 9293 §3.3.2 + reference §8: the whole 11 x 11 grid matches the list. */
static void test_rfc9293_state_transition_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < TL_ARRAY_SIZE(legal_rows); i++) {
		printf("# legal row %zu: %s -> %s (%s)\n", i,
		       tcp_state_name(legal_rows[i].from),
		       tcp_state_name(legal_rows[i].to), legal_rows[i].why);
		assert_true(tcp_state_transition_ok(legal_rows[i].from,
						    legal_rows[i].to));
	}
	for (int from = TCP_ESTABLISHED; from <= TCP_STATE_MAX; from++) {
		for (int to = TCP_ESTABLISHED; to <= TCP_STATE_MAX; to++) {
			if (listed_legal(from, to))
				continue;
			if (tcp_state_transition_ok(from, to))
				fail_msg("%s -> %s must be refused",
					 tcp_state_name(from), tcp_state_name(to));
		}
	}
}

/* Some illegal transitions a buggy state machine might try. */
static void test_rfc9293_state_transition_refusals(void **state)
{
	(void)state;
	assert_false(tcp_state_transition_ok(TCP_CLOSE, TCP_ESTABLISHED));
	assert_false(tcp_state_transition_ok(TCP_LISTEN, TCP_ESTABLISHED));
	assert_false(tcp_state_transition_ok(TCP_FIN_WAIT2, TCP_CLOSING));
	assert_false(tcp_state_transition_ok(TCP_CLOSE_WAIT, TCP_FIN_WAIT1));
	assert_false(tcp_state_transition_ok(TCP_ESTABLISHED, TCP_ESTABLISHED));
	assert_false(tcp_state_transition_ok(0, TCP_CLOSE));
	assert_false(tcp_state_transition_ok(TCP_CLOSE, 12));
	assert_false(tcp_state_transition_ok(-3, 400));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_state_numbers),
		cmocka_unit_test(test_linux_state_names_netstat_and_ss),
		cmocka_unit_test(test_state_invalid_numbers_named_question_mark),
		cmocka_unit_test(test_rfc9293_state_names_parse),
		cmocka_unit_test(test_rfc9293_state_transition_table),
		cmocka_unit_test(test_rfc9293_state_transition_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
