/* Connection establishment: RFC 9293 §3.5 and §3.10.7.1-3, with Linux's
 * SYN-ACK and SYN retransmission schedules (reference §3). */
#include "tcp_harness.h"

#include <errno.h>

static struct tcp_conn *listen80(struct harness *h)
{
	struct tcp_conn *l;
	assert_int_equal(tcp_listen(stack_tcp(h->st), 80, 128, NULL, NULL, &l), 0);
	return l;
}

static void test_rfc9293_closed_port_syn_gets_rst_ack(void **state)
{
	(void)state;
	struct harness *h = h_new();
	h_inject(h, SEG(.flags = TH_SYN, .seq = 5000, .dport = 81));
	h_expect(h, SEG(.flags = TH_RST | TH_ACK, .ack = 5001));
	/* An ACK gets a bare RST whose sequence is the ACK's acknowledgment. */
	h_inject(h, SEG(.flags = TH_ACK, .seq = 7, .ack = 12345, .dport = 81));
	struct tcp_seg rst = h_expect(h, SEG(.flags = TH_RST, .seq = 12345));
	assert_int_equal(rst.ack, 0);
	/* A reset is never answered. */
	h_inject(h, SEG(.flags = TH_RST, .seq = 1, .dport = 81));
	h_expect_nothing(h);
	assert_int_equal(h_mib(h)->tcp.OutRsts, 2);
	h_free(h);
}

static void test_rfc9293_passive_open_three_way_handshake(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = listen80(h);
	h_inject(h, SEG(.flags = TH_SYN, .seq = 1000,
			.opt = { .has_mss = true, .mss = 1460, .sack_ok = true, .has_ts = true,
				 .ts_val = 77, .has_wscale = true, .wscale = 7 }));
	struct tcp_seg sa = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001));
	assert_true(sa.opt.has_mss);
	assert_int_equal(sa.opt.mss, 1460);
	assert_true(sa.opt.sack_ok);
	assert_true(sa.opt.has_ts);
	assert_int_equal(sa.opt.ts_ecr, 77);
	assert_true(sa.opt.has_wscale);
	assert_int_equal(h_events_to(h, TCP_SYN_RECV), 1);
	assert_null(tcp_accept(l, h->now));

	h_inject(h, SEG(.flags = TH_ACK, .seq = 1001, .ack = sa.seq + 1,
			.opt = { .has_ts = true, .ts_val = 78, .ts_ecr = sa.opt.ts_val }));
	h_expect_nothing(h);
	assert_int_equal(h_events_to(h, TCP_ESTABLISHED), 1);
	struct tcp_conn *c = tcp_accept(l, h->now);
	assert_non_null(c);
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	assert_int_equal(h_mib(h)->tcp.PassiveOpens, 1);
	assert_int_equal(h_mib(h)->tcp.CurrEstab, 1);
	h_free(h);
}

static void test_rfc9293_passive_open_without_options(void **state)
{
	(void)state;
	struct harness *h = h_new();
	listen80(h);
	h_inject(h, SEG(.flags = TH_SYN, .seq = 1000));
	struct tcp_seg sa = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001));
	/* Only MSS is offered back when the peer offered nothing. */
	assert_true(sa.opt.has_mss);
	assert_false(sa.opt.sack_ok);
	assert_false(sa.opt.has_ts);
	assert_false(sa.opt.has_wscale);
	h_free(h);
}

/* Reference §3.1: retransmissions at 1, 3, 7, ... 2^R - 1 s; the request
 * is dropped at 2^(R+1) - 1 s. */
static void test_linux_synack_retries_schedule(void **state)
{
	(void)state;
	for (int r = 0; r <= 5; r++) {
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_synack_retries = r;
		listen80(h);
		tl_usec_t t0 = h->now;
		h_inject(h, SEG(.flags = TH_SYN, .seq = 1000));
		h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001));
		h_events_to(h, TCP_SYN_RECV);
		for (int i = 1; i <= r; i++) {
			h_wait_segment(h, 200 * SEC);
			print_message("synack_retries=%d retransmission %d at %.3f s\n", r, i,
				      (double)(h->now - t0) / SEC);
			assert_int_equal(h->now - t0, ((1ULL << i) - 1) * SEC);
			h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001));
		}
		/* Nothing more is sent; the request ends at 2^(R+1) - 1 s. */
		h_advance(h, ((1ULL << (r + 1)) - 1) * SEC - (h->now - t0) - 1);
		assert_int_equal(h_events_to(h, TCP_CLOSE), 0);
		h_advance(h, 1);
		assert_int_equal(h_events_to(h, TCP_CLOSE), 1);
		h_expect_nothing(h);
		assert_int_equal(h_mib(h)->tcpext.TCPSynRetrans, (uint64_t)r);
		/* The peer's late ACK now meets no request: a reset. */
		h_inject(h, SEG(.flags = TH_ACK, .seq = 1001, .ack = 5));
		h_expect(h, SEG(.flags = TH_RST, .seq = 5));
		h_free(h);
	}
}

struct connect_result {
	int connected, closed, err;
};

static void on_connected(void *ctx, struct tcp_conn *c)
{
	(void)c;
	((struct connect_result *)ctx)->connected++;
}

static void on_closed(void *ctx, struct tcp_conn *c, int err)
{
	(void)c;
	((struct connect_result *)ctx)->closed++;
	((struct connect_result *)ctx)->err = err;
}

static const struct tcp_callbacks connect_cb = { .on_connected = on_connected,
						 .on_closed = on_closed };

static void test_rfc9293_active_open(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct connect_result res = { 0 };
	struct tcp_conn *c;
	assert_int_equal(tcp_connect(stack_tcp(h->st), H_PEER, 5001, 0, &connect_cb, &res, h->now, &c), 0);
	struct tcp_seg syn = h_expect(h, SEG(.flags = TH_SYN));
	assert_true(syn.opt.has_mss && syn.opt.sack_ok && syn.opt.has_ts && syn.opt.has_wscale);
	assert_int_equal(tcp_conn_state(c), TCP_SYN_SENT);
	h_inject(h, SEG(.flags = TH_SYN | TH_ACK, .seq = 9000, .ack = syn.seq + 1, .sport = 5001,
			.dport = syn.sport, .opt = { .has_mss = true, .mss = 1400 }));
	h_expect(h, SEG(.flags = TH_ACK, .seq = syn.seq + 1, .ack = 9001));
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	assert_int_equal(res.connected, 1);
	assert_int_equal(h_mib(h)->tcp.ActiveOpens, 1);
	tcp_abort(c, h->now);
	h_free(h);
}

static void test_rfc9293_active_open_refused_by_rst(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct connect_result res = { 0 };
	struct tcp_conn *c;
	tcp_connect(stack_tcp(h->st), H_PEER, 5001, 0, &connect_cb, &res, h->now, &c);
	struct tcp_seg syn = h_expect(h, SEG(.flags = TH_SYN));
	/* A RST without an acceptable ACK is ignored ... */
	h_inject(h, SEG(.flags = TH_RST | TH_ACK, .ack = syn.seq + 7, .sport = 5001, .dport = syn.sport));
	assert_int_equal(tcp_conn_state(c), TCP_SYN_SENT);
	h_expect_nothing(h); /* (and, being a reset, is not answered) */
	/* ... one acknowledging our SYN refuses the connection. */
	h_inject(h, SEG(.flags = TH_RST | TH_ACK, .ack = syn.seq + 1, .sport = 5001, .dport = syn.sport));
	assert_int_equal(tcp_conn_state(c), TCP_CLOSE);
	assert_int_equal(res.err, -ECONNREFUSED);
	assert_int_equal(h_mib(h)->tcp.AttemptFails, 1);
	tcp_close(c, h->now);
	h_free(h);
}

/* Reference §3.2: SYN retries start linear (tcp_syn_linear_timeouts) and
 * give up on a time budget. Rows: retries, linear, SYN times, failure. */
static void test_linux_syn_retries_schedule(void **state)
{
	(void)state;
	static const struct {
		int retries, linear;
		int times[12];
		int ntimes, fail;
	} rows[] = {
		{ 1, 4, { 0, 1, 2 }, 3, 3 },
		{ 2, 4, { 0, 1, 2, 3, 4, 5 }, 6, 7 },
		{ 3, 4, { 0, 1, 2, 3, 4, 5, 7, 11 }, 8, 19 },
		{ 6, 4, { 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 }, 11, 131 },
		{ 3, 0, { 0, 1, 3, 7 }, 4, 15 },   /* classic doubling */
		{ 6, 0, { 0, 1, 3, 7, 15, 31, 63 }, 7, 127 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_syn_retries = rows[i].retries;
		stack_sysctl(h->st)->tcp_syn_linear_timeouts = rows[i].linear;
		struct connect_result res = { 0 };
		struct tcp_conn *c;
		tl_usec_t t0 = h->now;
		tcp_connect(stack_tcp(h->st), H_PEER, 5001, 0, &connect_cb, &res, h->now, &c);
		for (int k = 0; k < rows[i].ntimes; k++) {
			h_wait_segment(h, 300 * SEC);
			print_message("row %zu: SYN %d at %.3f s\n", i, k, (double)(h->now - t0) / SEC);
			assert_int_equal(h->now - t0, (tl_usec_t)rows[i].times[k] * SEC);
			h_expect(h, SEG(.flags = TH_SYN));
		}
		h_advance(h, (tl_usec_t)rows[i].fail * SEC - (h->now - t0) - 1);
		assert_int_equal(res.closed, 0);
		h_advance(h, 1);
		assert_int_equal(res.closed, 1);
		assert_int_equal(res.err, -ETIMEDOUT);
		h_expect_nothing(h);
		tcp_close(c, h->now);
		h_free(h);
	}
}

/* RFC 9293 §3.5 figure 7: both ends send SYN; SYN_SENT -> SYN_RECV ->
 * ESTABLISHED. */
static void test_rfc9293_simultaneous_open(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct connect_result res = { 0 };
	struct tcp_conn *c;
	tcp_connect(stack_tcp(h->st), H_PEER, 5001, 0, &connect_cb, &res, h->now, &c);
	struct tcp_seg syn = h_expect(h, SEG(.flags = TH_SYN));
	h_inject(h, SEG(.flags = TH_SYN, .seq = 300, .sport = 5001, .dport = syn.sport));
	struct tcp_seg sa = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 301));
	assert_int_equal(sa.seq, syn.seq); /* same ISS */
	assert_int_equal(tcp_conn_state(c), TCP_SYN_RECV);
	h_inject(h, SEG(.flags = TH_SYN | TH_ACK, .seq = 300, .ack = syn.seq + 1, .sport = 5001,
			.dport = syn.sport));
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	h_expect(h, SEG(.flags = TH_ACK, .seq = syn.seq + 1, .ack = 301));
	assert_int_equal(res.connected, 1);
	tcp_abort(c, h->now);
	h_free(h);
}

/* RFC 9293 §3.10.7.4: when the bare final ACK and the first data are lost,
 * a later data segment completes the handshake; the child's stream still
 * starts at IRS+1, so the later bytes wait out of order for the first. */
static void test_rfc9293_handshake_completed_by_later_data(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = listen80(h);
	h_inject(h, SEG(.flags = TH_SYN, .seq = 1000, .opt = { .has_mss = true, .mss = 1460 }));
	struct tcp_seg sa = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001));
	/* bytes 1001..1004 were lost; 1005..1008 arrive first */
	h_inject(h, SEG(.flags = TH_ACK | TH_PSH, .seq = 1005, .ack = sa.seq + 1,
			.payload = (const uint8_t *)"EFGH", .len = 4));
	struct tcp_conn *c = tcp_accept(l, h->now);
	assert_non_null(c);
	assert_int_equal(tcp_recv_avail(c), 0);
	h_expect(h, SEG(.flags = TH_ACK, .ack = 1001)); /* a duplicate ACK at once */
	h_inject(h, SEG(.flags = TH_ACK | TH_PSH, .seq = 1001, .ack = sa.seq + 1,
			.payload = (const uint8_t *)"ABCD", .len = 4));
	char buf[16] = { 0 };
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), h->now), 8);
	assert_string_equal(buf, "ABCDEFGH");
	tcp_abort(c, h->now);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9293_closed_port_syn_gets_rst_ack),
		cmocka_unit_test(test_rfc9293_passive_open_three_way_handshake),
		cmocka_unit_test(test_rfc9293_passive_open_without_options),
		cmocka_unit_test(test_linux_synack_retries_schedule),
		cmocka_unit_test(test_rfc9293_active_open),
		cmocka_unit_test(test_rfc9293_active_open_refused_by_rst),
		cmocka_unit_test(test_linux_syn_retries_schedule),
		cmocka_unit_test(test_rfc9293_simultaneous_open),
		cmocka_unit_test(test_rfc9293_handshake_completed_by_later_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
