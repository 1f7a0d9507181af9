/* Connection timers: the retransmission timeout (RFC 6298 with Linux's
 * clamps and tcp_retries2 time budget, reference §2.2 and §3.3), the 3 s
 * fallback after a retransmitted handshake, and keepalive
 * (tcp_keepalive_time / intvl / probes). */
#include "tcp_harness.h"

#include <errno.h>

struct closed_log {
	int calls, err;
};

static void on_closed(void *ctx, struct tcp_conn *c, int err)
{
	(void)c;
	struct closed_log *log = ctx;
	log->calls++;
	log->err = err;
}

static const struct tcp_callbacks closed_cb = { .on_closed = on_closed };

static const struct tcp_opts mss1460 = { .has_mss = true, .mss = 1460 };

/* Sends 100 bytes that the peer never acknowledges and returns the times
 * (from the first send) of the next `n` retransmissions. */
static void lost_data_schedule(struct harness *h, struct h_peer *p, tl_usec_t *at, int n)
{
	static const uint8_t data[100];
	tl_usec_t t0 = h->now;
	assert_int_equal(tcp_send(p->c, data, sizeof(data), h->now), 100);
	h_expect(h, SEG(.flags = TH_ACK | TH_PSH, .seq = p->iss + 1, .len = 100));
	for (int k = 0; k < n; k++) {
		h_wait_segment(h, 600 * SEC);
		at[k] = h->now - t0;
		h_expect(h, SEG(.flags = TH_ACK | TH_PSH, .seq = p->iss + 1, .len = 100));
	}
}

/* RFC 6298 §2 with Linux's rule RTO = SRTT + max(4 x RTTVAR, 200 ms): the
 * first sample R gives SRTT = R, RTTVAR = R / 2. A lost segment is resent
 * after one RTO, then after doubled ones (§5.5), each capped at
 * tcp_rto_max_ms (Linux 6.15+). */
static void test_rfc6298_rto_from_measured_rtt_and_backoff(void **state)
{
	(void)state;
	static const struct {
		tl_usec_t rtt;     /* handshake RTT */
		int rto_max_ms;    /* 0: default 120 s */
		tl_usec_t gaps[6]; /* between consecutive transmissions */
	} rows[] = {
		/* RTT ~0: the 200 ms floor (plus the 1 us sample). */
		{ 0, 0, { 200001, 400002, 800004, 1600008, 3200016, 6400032 } },
		/* 10 ms: 10 + max(20, 200) = 210 ms. */
		{ 10 * MS, 0, { 210 * MS, 420 * MS, 840 * MS, 1680 * MS, 3360 * MS, 6720 * MS } },
		/* 100 ms: 100 + max(200, 200) = 300 ms. */
		{ 100 * MS, 0, { 300 * MS, 600 * MS, 1200 * MS, 2400 * MS, 4800 * MS, 9600 * MS } },
		/* 300 ms: the variance term wins, 300 + 600 = 900 ms. */
		{ 300 * MS, 0, { 900 * MS, 1800 * MS, 3600 * MS, 7200 * MS, 14400 * MS, 28800 * MS } },
		/* tcp_rto_max_ms = 1000 caps every step. */
		{ 100 * MS, 1000, { 300 * MS, 600 * MS, 1000 * MS, 1000 * MS, 1000 * MS, 1000 * MS } },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: rtt %.3f ms, rto_max %d ms\n", i, (double)rows[i].rtt / MS,
			      rows[i].rto_max_ms);
		struct harness *h = h_new();
		if (rows[i].rto_max_ms)
			stack_sysctl(h->st)->tcp_rto_max_ms = rows[i].rto_max_ms;
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_open_opt(h, l, 40000, 1000, mss1460, rows[i].rtt);
		tl_usec_t at[6];
		lost_data_schedule(h, &p, at, 6);
		tl_usec_t prev = 0;
		for (int k = 0; k < 6; k++) {
			print_message("  retransmission %d after %.6f s\n", k + 1, (double)(at[k] - prev) / SEC);
			assert_int_equal(at[k] - prev, rows[i].gaps[k]);
			prev = at[k];
		}
		assert_int_equal(h_mib(h)->tcpext.TCPTimeouts, 6);
		assert_int_equal(h_mib(h)->tcp.RetransSegs, 6);
		h_free(h);
	}
}

/* Reference §2.2 tcp_retries2: the connection dies at the first RTO
 * expiry at least tcp_model_timeout(retries2, 200 ms) after the original
 * send: ETIMEDOUT, TCPAbortOnTimeout, no reset sent. */
static void test_linux_tcp_retries2_gives_up(void **state)
{
	(void)state;
	static const struct {
		int retries2;
		tl_usec_t rtt;
		int retransmissions;
		tl_usec_t death; /* from the first send */
	} rows[] = {
		/* budget 3 s (15 x 200 ms); RTO 300 ms: 0.3 0.9 2.1, dies at 4.5 */
		{ 3, 100 * MS, 3, 4500 * MS },
		/* budget 3 s; RTO 200.001 ms: dies at 15 x RTO = 3.000015 s */
		{ 3, 0, 3, 3000015 },
		/* budget 0.6 s: one retransmission at 0.3, dies at 0.9 */
		{ 1, 100 * MS, 1, 900 * MS },
		/* budget 12.6 s: 0.3 0.9 2.1 4.5 9.3, dies at 18.9 */
		{ 5, 100 * MS, 5, 18900 * MS },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: retries2=%d rtt %.0f ms\n", i, rows[i].retries2,
			      (double)rows[i].rtt / MS);
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_retries2 = rows[i].retries2;
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_open_opt(h, l, 40000, 1000, mss1460, rows[i].rtt);
		struct closed_log log = { 0 };
		tcp_set_callbacks(p.c, &closed_cb, &log);
		tl_usec_t t0 = h->now;
		tl_usec_t at[8];
		lost_data_schedule(h, &p, at, rows[i].retransmissions);
		h_skip_events(h);
		h_advance(h, rows[i].death - (h->now - t0) - 1);
		assert_int_equal(log.calls, 0);
		h_expect_nothing(h);
		h_advance(h, 1);
		assert_int_equal(log.calls, 1);
		assert_int_equal(log.err, -ETIMEDOUT);
		h_expect_transition(h, TCP_ESTABLISHED, TCP_CLOSE, TL_CAUSE_TIMER, "retries2");
		h_expect_nothing(h); /* no RST: the peer is presumed gone */
		assert_int_equal(h_mib(h)->tcpext.TCPAbortOnTimeout, 1);
		assert_int_equal(h_mib(h)->tcp.EstabResets, 1);
		h_free(h);
	}
}

/* RFC 6298 §5.7 / Linux TCP_TIMEOUT_FALLBACK: when the SYN or SYN-ACK had
 * to be retransmitted (and no timestamp says which copy was answered),
 * there is no RTT sample and the first data RTO is 3 s, not 1 s. */
static void test_rfc6298_rto_3s_after_retransmitted_handshake(void **state)
{
	(void)state;
	static const uint8_t data[100];
	for (int passive = 1; passive >= 0; passive--) {
		print_message("row: %s open\n", passive ? "passive" : "active");
		struct harness *h = h_new();
		struct h_peer p = { .port = 40000, .our_port = 80, .wnd = 65535 };
		if (passive) {
			struct tcp_conn *l = h_listen(h, 80, 16);
			h_inject(h, SEG(.flags = TH_SYN, .seq = 1000, .opt = mss1460));
			struct tcp_seg sa = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001));
			assert_int_equal(h_wait_segment(h, 2 * SEC), 1 * SEC);
			h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001)); /* resent */
			p.iss = sa.seq;
			p.seq = 1001;
			p.ack = sa.seq + 1;
			h_peer_ack(h, &p);
			p.c = tcp_accept(l, h->now);
		} else {
			assert_int_equal(tcp_connect(stack_tcp(h->st), H_PEER, 80, 0, NULL, NULL, h->now, &p.c), 0);
			struct tcp_seg syn = h_expect(h, SEG(.flags = TH_SYN));
			assert_int_equal(h_wait_segment(h, 2 * SEC), 1 * SEC);
			h_expect(h, SEG(.flags = TH_SYN)); /* resent */
			p.port = 80;
			p.our_port = syn.sport;
			p.iss = syn.seq;
			h_inject(h, SEG(.flags = TH_SYN | TH_ACK, .sport = 80, .dport = syn.sport, .seq = 1000,
					.ack = syn.seq + 1, .opt = mss1460));
			h_expect(h, SEG(.flags = TH_ACK, .ack = 1001));
			p.seq = 1001;
			p.ack = syn.seq + 1;
		}
		assert_non_null(p.c);
		assert_int_equal(tcp_conn_state(p.c), TCP_ESTABLISHED);
		assert_int_equal(tcp_send(p.c, data, sizeof(data), h->now), 100);
		h_expect(h, SEG(.flags = TH_ACK | TH_PSH, .len = 100));
		assert_int_equal(h_wait_segment(h, 10 * SEC), 3 * SEC);
		h_expect(h, SEG(.flags = TH_ACK | TH_PSH, .len = 100));
		assert_int_equal(h_wait_segment(h, 10 * SEC), 6 * SEC);
		h_expect(h, SEG(.flags = TH_ACK | TH_PSH, .len = 100));
		h_free(h);
	}
}

/* Reference §2.2 keepalive: after tcp_keepalive_time idle seconds a probe
 * (an ACK with SEQ = SND.UNA - 1, TCPKeepAlive) goes out every
 * tcp_keepalive_intvl seconds; after tcp_keepalive_probes unanswered ones
 * the connection is reset (RST, ETIMEDOUT, TCPAbortOnTimeout). */
static void test_linux_keepalive_probes_then_reset(void **state)
{
	(void)state;
	static const struct {
		int time, intvl, probes;
	} rows[] = {
		{ 0, 0, 0 },      /* defaults: 7200 s, 75 s, 9: reset at 7875 s */
		{ 60, 5, 3 },     /* reset at 75 s */
		{ 10, 1, 1 },     /* one probe at 10 s, reset at 11 s */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		struct harness *h = h_new();
		struct tcp_sysctl *s = stack_sysctl(h->st);
		if (rows[i].time) {
			s->tcp_keepalive_time = rows[i].time;
			s->tcp_keepalive_intvl = rows[i].intvl;
			s->tcp_keepalive_probes = rows[i].probes;
		}
		print_message("row %zu: time %d intvl %d probes %d\n", i, s->tcp_keepalive_time,
			      s->tcp_keepalive_intvl, s->tcp_keepalive_probes);
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_open(h, l, 1000);
		struct closed_log log = { 0 };
		tcp_set_callbacks(p.c, &closed_cb, &log);
		tcp_set_keepalive(p.c, 1, h->now);
		tl_usec_t t0 = h->now;
		for (int k = 0; k < s->tcp_keepalive_probes; k++) {
			h_wait_segment(h, 10000 * SEC);
			tl_usec_t want = (tl_usec_t)(s->tcp_keepalive_time + k * s->tcp_keepalive_intvl) * SEC;
			assert_int_equal(h->now - t0, want);
			h_expect(h, SEG(.flags = TH_ACK, .seq = p.ack - 1, .ack = p.seq, .len = 0));
		}
		h_skip_events(h);
		h_wait_segment(h, 10000 * SEC);
		assert_int_equal(h->now - t0, (tl_usec_t)(s->tcp_keepalive_time +
							  s->tcp_keepalive_probes * s->tcp_keepalive_intvl) * SEC);
		h_expect(h, SEG(.flags = TH_RST | TH_ACK, .seq = p.ack));
		h_expect_transition(h, TCP_ESTABLISHED, TCP_CLOSE, TL_CAUSE_TIMER, "keepalive");
		assert_int_equal(log.err, -ETIMEDOUT);
		assert_int_equal(h_mib(h)->tcpext.TCPKeepAlive, (uint64_t)s->tcp_keepalive_probes);
		assert_int_equal(h_mib(h)->tcpext.TCPAbortOnTimeout, 1);
		h_free(h);
	}
}

/* Keepalive answered: every ACK from the peer shows it alive, the probe
 * count starts over and the next probe waits a full tcp_keepalive_time
 * again, however many probes it takes. Traffic postpones probing too. */
static void test_linux_keepalive_answered_keeps_connection(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	tcp_set_keepalive(p.c, 1, h->now);
	/* Data after an hour: the first probe comes 7200 s after it. */
	h_advance(h, 3600 * SEC);
	h_peer_send(h, &p, TH_ACK | TH_PSH, "ping", 4);
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	for (int k = 0; k < 20; k++) { /* more than tcp_keepalive_probes */
		assert_int_equal(h_wait_segment(h, 10000 * SEC), 7200 * SEC);
		h_expect(h, SEG(.flags = TH_ACK, .seq = p.ack - 1, .len = 0));
		h_peer_ack(h, &p); /* "I'm here" */
		h_expect_nothing(h);
	}
	assert_int_equal(tcp_conn_state(p.c), TCP_ESTABLISHED);
	assert_int_equal(h_mib(h)->tcpext.TCPKeepAlive, 20);
	assert_int_equal(h_mib(h)->tcpext.TCPAbortOnTimeout, 0);
	/* Switched off: no more probes. */
	tcp_set_keepalive(p.c, 0, h->now);
	h_advance(h, 100000 * SEC);
	h_expect_nothing(h);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc6298_rto_from_measured_rtt_and_backoff),
		cmocka_unit_test(test_linux_tcp_retries2_gives_up),
		cmocka_unit_test(test_rfc6298_rto_3s_after_retransmitted_handshake),
		cmocka_unit_test(test_linux_keepalive_probes_then_reset),
		cmocka_unit_test(test_linux_keepalive_answered_keeps_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
