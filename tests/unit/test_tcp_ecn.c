/* Explicit Congestion Notification (RFC 3168 §6.1), as Linux negotiates
 * and runs it (tcp_ecn_* in net/ipv4/tcp_input.c and tcp_output.c). */
#include "tcp_harness.h"

#include "tcp_int.h"
#include "tcp_sysctl.h"

#define ECT0 2
#define CE 3

static const struct tcp_opts mss_ts = { .has_mss = true, .mss = 1460, .has_ts = true,
					.ts_val = 100 };

/* Passive side, per tcp_ecn and what the SYN carries. Rows: the tunable,
 * the SYN's flags beside SYN, its IP ECN field, and whether the SYN-ACK
 * agrees (ECE alone) and the connection runs ECN. */
static void test_rfc3168_passive_negotiation(void **state)
{
	(void)state;
	static const struct {
		int tcp_ecn;
		uint8_t flags, ip_ecn;
		bool agreed;
	} rows[] = {
		{ 2, TH_ECE | TH_CWR, 0, true },     /* Linux's default accepts */
		{ 1, TH_ECE | TH_CWR, 0, true },
		{ 0, TH_ECE | TH_CWR, 0, false },    /* never */
		{ 2, TH_ECE, 0, false },             /* not an ECN-setup SYN */
		{ 2, 0, 0, false },
		{ 2, TH_ECE | TH_CWR, ECT0, false }, /* an ECN-capable SYN: RFC 3168 §6.1.1 */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("tcp_ecn=%d flags=%#x ip_ecn=%u\n", rows[i].tcp_ecn, rows[i].flags,
			      rows[i].ip_ecn);
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_ecn = rows[i].tcp_ecn;
		struct tcp_conn *l = h_listen(h, 80, 16);
		h_inject(h, SEG(.flags = TH_SYN | rows[i].flags, .seq = 1000, .ip_ecn = rows[i].ip_ecn,
				.opt = { .has_mss = true, .mss = 1460 }));
		struct tcp_seg sa = h_pop(h);
		assert_int_equal(sa.flags, TH_SYN | TH_ACK | (rows[i].agreed ? TH_ECE : 0));
		assert_int_equal(sa.ip_ecn, 0); /* a SYN-ACK is never ECN-capable */
		h_inject(h, SEG(.flags = TH_ACK, .seq = 1001, .ack = sa.seq + 1));
		struct tcp_conn *c = tcp_accept(l, h->now);
		assert_non_null(c);
		assert_int_equal(!!(c->ecn_flags & TCP_ECN_OK), rows[i].agreed);
		/* New data is ECT(0) only on an ECN connection. */
		assert_int_equal(tcp_send(c, "data", 4, h->now), 4);
		struct tcp_seg d = h_pop(h);
		assert_int_equal(d.len, 4);
		assert_int_equal(d.ip_ecn, rows[i].agreed ? ECT0 : 0);
		h_free(h);
	}
}

/* Active side: tcp_ecn=1 asks (ECE and CWR on the SYN); a SYN-ACK with ECE
 * alone agrees, with ECE and CWR or without ECE it does not; tcp_ecn=2
 * does not ask. A retransmitted SYN stops asking with tcp_ecn_fallback. */
static void test_rfc3168_active_negotiation(void **state)
{
	(void)state;
	static const struct {
		int tcp_ecn;
		uint8_t synack_flags;
		bool asks, agreed;
	} rows[] = {
		{ 1, TH_ECE, true, true },
		{ 1, TH_ECE | TH_CWR, true, false },
		{ 1, 0, true, false },
		{ 2, TH_ECE, false, false },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("tcp_ecn=%d SYN-ACK flags %#x\n", rows[i].tcp_ecn, rows[i].synack_flags);
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_ecn = rows[i].tcp_ecn;
		struct tcp_conn *c;
		assert_int_equal(tcp_connect(stack_tcp(h->st), H_PEER, 5001, 0, NULL, NULL, h->now, &c), 0);
		struct tcp_seg syn = h_pop(h);
		assert_int_equal(syn.flags, TH_SYN | (rows[i].asks ? TH_ECE | TH_CWR : 0));
		assert_int_equal(syn.ip_ecn, 0);
		h_inject(h, SEG(.flags = TH_SYN | TH_ACK | rows[i].synack_flags, .seq = 9000,
				.ack = syn.seq + 1, .sport = 5001, .dport = syn.sport,
				.opt = { .has_mss = true, .mss = 1460 }));
		h_expect(h, SEG(.flags = TH_ACK, .ack = 9001));
		assert_int_equal(!!(c->ecn_flags & TCP_ECN_OK), rows[i].agreed);
		tcp_abort(c, h->now);
		h_free(h);
	}
	for (int fallback = 0; fallback <= 1; fallback++) {
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_ecn = 1;
		stack_sysctl(h->st)->tcp_ecn_fallback = fallback;
		struct tcp_conn *c;
		assert_int_equal(tcp_connect(stack_tcp(h->st), H_PEER, 5001, 0, NULL, NULL, h->now, &c), 0);
		assert_int_equal(h_pop(h).flags, TH_SYN | TH_ECE | TH_CWR);
		h_wait_segment(h, 5 * SEC);
		assert_int_equal(h_pop(h).flags, TH_SYN | (fallback ? 0 : TH_ECE | TH_CWR));
		tcp_abort(c, h->now);
		h_free(h);
	}
}

/* An ECN connection from the peer (ECN-setup SYN, timestamps). */
static struct h_peer ecn_open(struct harness *h, struct tcp_conn *l)
{
	struct h_peer p = { .port = 40000, .our_port = 80, .seq = 1000, .wnd = 65535 };
	h_inject(h, SEG(.flags = TH_SYN | TH_ECE | TH_CWR, .seq = 1000,
			.opt = { .has_mss = true, .mss = 1460 }));
	struct tcp_seg sa = h_expect(h, SEG(.flags = TH_SYN | TH_ACK | TH_ECE, .ack = 1001));
	p.iss = sa.seq;
	p.seq = 1001;
	p.ack = sa.seq + 1;
	h_peer_ack(h, &p);
	p.c = tcp_accept(l, h->now);
	assert_non_null(p.c);
	assert_true(p.c->ecn_flags & TCP_ECN_OK);
	return p;
}

/* Receiver: data marked CE is acknowledged at once with ECE, and every
 * segment carries ECE until the sender's CWR arrives (RFC 3168 §6.1.3). */
static void test_rfc3168_receiver_echoes_ce_until_cwr(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = ecn_open(h, l);
	uint8_t buf[100];
	memset(buf, 'a', sizeof(buf));
	h_inject(h, SEG(.flags = TH_ACK, .seq = p.seq, .ack = p.ack, .payload = buf, .len = 100,
			.ip_ecn = CE));
	p.seq += 100;
	h_expect(h, SEG(.flags = TH_ACK | TH_ECE, .ack = p.seq)); /* at once */
	h_inject(h, SEG(.flags = TH_ACK, .seq = p.seq, .ack = p.ack, .payload = buf, .len = 100,
			.ip_ecn = ECT0));
	p.seq += 100;
	h_advance(h, 100 * MS);
	struct tcp_seg a = h_pop(h);
	assert_true(a.flags & TH_ECE); /* still echoing */
	h_inject(h, SEG(.flags = TH_ACK | TH_CWR, .seq = p.seq, .ack = p.ack, .payload = buf,
			.len = 100, .ip_ecn = ECT0));
	p.seq += 100;
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq)); /* at once, without ECE */
	/* Our own data: ECT(0), no ECE now. */
	assert_int_equal(tcp_send(p.c, "x", 1, h->now), 1);
	struct tcp_seg d = h_expect(h, SEG(.flags = TH_ACK | TH_PSH, .len = 1));
	assert_int_equal(d.ip_ecn, ECT0);
	h_free(h);
}

/* Sender: an ACK with ECE halves the window once (as a loss would, with
 * no retransmission), the next new segment carries CWR; a second ECE in
 * the same window changes nothing; one after that window cuts again.
 * Retransmissions and pure ACKs are never ECN-capable. */
static void test_rfc3168_sender_reacts_once_per_window(void **state)
{
	(void)state;
	struct harness *h = h_new();
	snprintf(stack_sysctl(h->st)->tcp_congestion_control, TCP_CA_NAME_MAX, "reno"); /* cwnd / 2 */
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = ecn_open(h, l);
	static uint8_t data[40000];
	memset(data, 'd', sizeof(data));
	assert_int_equal(tcp_send(p.c, data, sizeof(data), h->now), (ssize_t)sizeof(data));
	h_collect(h);
	uint32_t sent_end = 0;
	while (h->out_count) {
		struct tcp_seg s = h_pop(h);
		assert_int_equal(s.ip_ecn, ECT0);
		assert_false(s.flags & TH_CWR);
		sent_end = s.seq + s.len;
	}
	uint32_t cwnd0 = p.c->cc.cwnd;
	assert_true(cwnd0 >= 10);
	/* The first segment is ACKed with ECE. */
	h_inject(h, SEG(.flags = TH_ACK | TH_ECE, .seq = p.seq, .ack = p.iss + 1 + 1460));
	assert_int_equal(p.c->cc.ssthresh, cwnd0 / 2);
	assert_int_equal(p.c->cc.cwnd, cwnd0 / 2);
	assert_int_equal(h_mib(h)->tcpext.TCPDeliveredCE, 1);
	assert_int_equal(h_mib(h)->tcp.RetransSegs, 0);
	/* A second ECE within the same window: no further cut. */
	h_inject(h, SEG(.flags = TH_ACK | TH_ECE, .seq = p.seq, .ack = p.iss + 1 + 2 * 1460));
	assert_int_equal(p.c->cc.ssthresh, cwnd0 / 2);
	/* Everything sent so far acknowledged, without ECE: the cut ends, and
	 * the first new segment carries CWR, only it. */
	h_drop_output(h);
	h_inject(h, SEG(.flags = TH_ACK, .seq = p.seq, .ack = sent_end));
	h_collect(h);
	assert_true(h->out_count >= 2);
	struct tcp_seg first = h_pop(h), second = h_pop(h);
	assert_true(first.flags & TH_CWR);
	assert_int_equal(first.ip_ecn, ECT0);
	assert_true(first.len <= 1460);
	assert_false(second.flags & TH_CWR);
	h_drop_output(h);
	/* An ECE after that window cuts again. */
	uint32_t cwnd1 = p.c->cc.cwnd;
	h_inject(h, SEG(.flags = TH_ACK | TH_ECE, .seq = p.seq, .ack = first.seq + first.len));
	assert_int_equal(p.c->cc.ssthresh, TL_MAX(cwnd1 / 2, 2u));
	/* A retransmission (RTO) is Not-ECT. */
	h_drop_output(h);
	h_wait_segment(h, 10 * SEC);
	struct tcp_seg r = h_pop(h);
	assert_true(seq_lt(r.seq, p.c->snd_max));
	assert_int_equal(r.ip_ecn, 0);
	h_free(h);
}

/* SYN cookies keep ECN in the timestamp (Linux cookie_ecn_ok()); without
 * timestamps the cookie cannot, so the SYN-ACK does not agree. */
static void test_linux_syncookie_keeps_ecn_in_timestamp(void **state)
{
	(void)state;
	for (int ts = 0; ts <= 1; ts++) {
		print_message("timestamps %d\n", ts);
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_syncookies = 2;
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct tcp_opts o = ts ? mss_ts : (struct tcp_opts){ .has_mss = true, .mss = 1460 };
		h_inject(h, SEG(.flags = TH_SYN | TH_ECE | TH_CWR, .seq = 1000, .opt = o));
		struct tcp_seg sa = h_pop(h);
		assert_int_equal(sa.flags, TH_SYN | TH_ACK | (ts ? TH_ECE : 0));
		struct tcp_opts ack_opt = { .has_ts = ts, .ts_val = 101, .ts_ecr = sa.opt.ts_val };
		h_inject(h, SEG(.flags = TH_ACK, .seq = 1001, .ack = sa.seq + 1, .opt = ack_opt));
		struct tcp_conn *c = tcp_accept(l, h->now);
		assert_non_null(c);
		assert_true(c->from_cookie);
		assert_int_equal(!!(c->ecn_flags & TCP_ECN_OK), ts);
		h_free(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3168_passive_negotiation),
		cmocka_unit_test(test_rfc3168_active_negotiation),
		cmocka_unit_test(test_rfc3168_receiver_echoes_ce_until_cwr),
		cmocka_unit_test(test_rfc3168_sender_reacts_once_per_window),
		cmocka_unit_test(test_linux_syncookie_keeps_ecn_in_timestamp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
