/* Resets and segment acceptability: RFC 9293 §3.10.7.4 (first, second and
 * fourth steps), RFC 5961 (blind reset and SYN mitigation, challenge ACKs)
 * and Linux's counters for them (reference §6). */
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

/* RFC 5961 §3.2: an RST whose sequence number is exactly RCV.NXT resets
 * the connection: the application sees ECONNRESET, Linux counts an
 * EstabReset, and nothing is sent back. */
static void test_rfc5961_rst_exact_seq_resets(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	struct closed_log log = { 0 };
	tcp_set_callbacks(p.c, &closed_cb, &log);
	h_skip_events(h);
	h_inject(h, SEG(.flags = TH_RST, .seq = p.seq));
	h_expect_nothing(h);
	h_expect_transition(h, TCP_ESTABLISHED, TCP_CLOSE, TL_CAUSE_SEGMENT, "RST");
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.err, -ECONNRESET);
	char buf[4];
	assert_int_equal(tcp_recv(p.c, buf, sizeof(buf), h->now), -ECONNRESET);
	assert_int_equal(tcp_send(p.c, "x", 1, h->now), -EPIPE);
	assert_int_equal(h_mib(h)->tcp.EstabResets, 1);
	assert_int_equal(h_mib(h)->tcp.CurrEstab, 0);
	assert_int_equal(h_mib(h)->tcpext.TCPChallengeACK, 0);
	h_free(h);
}

/* RFC 5961 §3.2: an RST inside the window but not at RCV.NXT gets a
 * challenge ACK (SEQ = SND.NXT, ACK = RCV.NXT) and the connection stays;
 * a genuine peer answers it with an exact RST. */
static void test_rfc5961_rst_in_window_gets_challenge_ack(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	h_inject(h, SEG(.flags = TH_RST, .seq = p.seq + 5000));
	h_expect(h, SEG(.flags = TH_ACK, .seq = p.ack, .ack = p.seq));
	h_expect_nothing(h);
	assert_int_equal(tcp_conn_state(p.c), TCP_ESTABLISHED);
	assert_int_equal(h_mib(h)->tcpext.TCPChallengeACK, 1);
	assert_int_equal(h_mib(h)->tcp.EstabResets, 0);
	/* The real peer, seeing the challenge, resets at the exact sequence. */
	h_inject(h, SEG(.flags = TH_RST, .seq = p.seq));
	assert_int_equal(tcp_conn_state(p.c), TCP_CLOSE);
	h_free(h);
}

/* RFC 9293 §3.10.7.4 first: "If the RST bit is set, drop the segment and
 * return": a reset outside the window is ignored without any answer. */
static void test_rfc9293_rst_out_of_window_ignored(void **state)
{
	(void)state;
	static const int64_t offsets[] = {
		-1,          /* just below RCV.NXT */
		-100000,     /* far behind */
		70000,       /* beyond the 65535-byte window */
		0x40000000,  /* a blind guess a quarter of the space away */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(offsets); i++) {
		print_message("row %zu: RCV.NXT%+lld\n", i, (long long)offsets[i]);
		struct harness *h = h_new();
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_open(h, l, 1000);
		h_inject(h, SEG(.flags = TH_RST, .seq = p.seq + (uint32_t)offsets[i]));
		h_expect_nothing(h);
		assert_int_equal(tcp_conn_state(p.c), TCP_ESTABLISHED);
		assert_int_equal(h_mib(h)->tcpext.TCPChallengeACK, 0);
		h_free(h);
	}
}

/* RFC 5961 §4.2 (RFC 9293 §3.10.7.4 fourth): a SYN on an established
 * connection, in the window or not, is answered by a challenge ACK and the
 * connection stays. Linux counts TCPSYNChallenge and TCPChallengeACK, and
 * an input error. */
static void test_rfc5961_syn_in_established_gets_challenge_ack(void **state)
{
	(void)state;
	static const struct {
		int64_t off; /* SYN sequence relative to RCV.NXT */
	} rows[] = {
		{ 0 },       /* in the window, at RCV.NXT */
		{ 300 },     /* in the window */
		{ -1001 },   /* the old ISN: a duplicate of the first SYN */
		{ 200000 },  /* beyond the window */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: SYN at RCV.NXT%+lld\n", i, (long long)rows[i].off);
		struct harness *h = h_new();
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_open(h, l, 1000);
		uint64_t inerrs = h_mib(h)->tcp.InErrs;
		h_inject(h, SEG(.flags = TH_SYN, .seq = p.seq + (uint32_t)rows[i].off));
		h_expect(h, SEG(.flags = TH_ACK, .seq = p.ack, .ack = p.seq));
		h_expect_nothing(h);
		assert_int_equal(tcp_conn_state(p.c), TCP_ESTABLISHED);
		assert_int_equal(h_mib(h)->tcpext.TCPSYNChallenge, 1);
		assert_int_equal(h_mib(h)->tcpext.TCPChallengeACK, 1);
		assert_int_equal(h_mib(h)->tcp.InErrs, inerrs + 1);
		h_free(h);
	}
}

/* RFC 5961 §7 / Linux tcp_invalid_ratelimit: at most one challenge ACK
 * per 500 ms per connection; the ones held back are not counted as sent
 * (TCPSYNChallenge still counts every SYN). */
static void test_rfc5961_challenge_ack_rate_limit(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	h_inject(h, SEG(.flags = TH_RST, .seq = p.seq + 10));
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	h_inject(h, SEG(.flags = TH_RST, .seq = p.seq + 20));
	h_inject(h, SEG(.flags = TH_SYN, .seq = p.seq + 30));
	h_expect_nothing(h);
	h_advance(h, 500 * MS - 1);
	h_inject(h, SEG(.flags = TH_SYN, .seq = p.seq + 40));
	h_expect_nothing(h);
	h_advance(h, 1); /* 500 ms after the first challenge */
	h_inject(h, SEG(.flags = TH_RST, .seq = p.seq + 50));
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	h_expect_nothing(h);
	assert_int_equal(h_mib(h)->tcpext.TCPChallengeACK, 2);
	assert_int_equal(h_mib(h)->tcpext.TCPSYNChallenge, 2);
	assert_int_equal(tcp_conn_state(p.c), TCP_ESTABLISHED);
	h_free(h);
}

/* RFC 9293 §3.10.7.4 second, SYN-RECEIVED from a passive open, as Linux's
 * tcp_check_req() does it: a reset in the window the SYN-ACK offered drops
 * the request (EmbryonicRsts, AttemptFails); one outside is ignored. */
static void test_linux_rst_in_syn_recv_drops_request(void **state)
{
	(void)state;
	static const struct {
		int64_t off; /* RST sequence relative to the request's RCV.NXT */
		bool dropped;
	} rows[] = {
		{ 0, true },         /* exact */
		{ 1000, true },      /* in the window: Linux drops the request too */
		{ 65535, true },     /* the right edge: Linux's window test is inclusive */
		{ 65536, false },    /* beyond it */
		{ -1, false },       /* the SYN's own sequence number */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: RST at RCV.NXT%+lld\n", i, (long long)rows[i].off);
		struct harness *h = h_new();
		h_listen(h, 80, 16);
		h_inject(h, SEG(.flags = TH_SYN, .seq = 1000));
		struct tcp_seg sa = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001));
		h_skip_events(h);
		h_inject(h, SEG(.flags = TH_RST, .seq = 1001 + (uint32_t)rows[i].off));
		h_expect_nothing(h);
		if (rows[i].dropped) {
			h_expect_transition(h, TCP_SYN_RECV, TCP_CLOSE, TL_CAUSE_SEGMENT, "RST");
			assert_int_equal(h_mib(h)->tcpext.EmbryonicRsts, 1);
			assert_int_equal(h_mib(h)->tcp.AttemptFails, 1);
			/* Gone: the final ACK now meets the listener and is reset. */
			h_inject(h, SEG(.flags = TH_ACK, .seq = 1001, .ack = sa.seq + 1));
			h_expect(h, SEG(.flags = TH_RST, .seq = sa.seq + 1));
			/* ... and no SYN-ACK is retransmitted for it. */
			h_advance(h, 10 * SEC);
			h_expect_nothing(h);
		} else {
			assert_false(h_next_state(h, &(struct tl_event){ 0 }));
			assert_int_equal(h_mib(h)->tcpext.EmbryonicRsts, 0);
			h_inject(h, SEG(.flags = TH_ACK, .seq = 1001, .ack = sa.seq + 1));
			h_expect_nothing(h);
			h_expect_transition(h, TCP_SYN_RECV, TCP_ESTABLISHED, TL_CAUSE_SEGMENT, "ACK");
		}
		h_free(h);
	}
}

/* ---- The acceptability table ---- */

enum pos {
	POS_BEFORE,     /* RCV.NXT - 100: old */
	POS_FIN,        /* RCV.NXT - 1: the peer's FIN's own number */
	POS_AT,         /* RCV.NXT */
	POS_IN,         /* RCV.NXT + 100: inside the window */
	POS_EDGE,       /* RCV.NXT + RCV.WND: first byte beyond the window */
	POS_BEYOND,     /* RCV.NXT + RCV.WND + 100 */
	POS_AT_PLUS1,   /* RCV.NXT + 1 (zero-window rows) */
};

enum kind { K_RST, K_ACK, K_DATA };

enum outcome {
	O_SILENT,   /* dropped without an answer, state kept */
	O_ACK,      /* answered by an ACK of RCV.NXT (dup or challenge), state kept */
	O_RESET,    /* the connection is reset */
	O_TAKEN,    /* the byte is delivered: ACK of RCV.NXT + 1 */
	O_QUEUED,   /* the byte waits out of order: ACK of RCV.NXT, TCPOFOQueue */
};

/* A connection whose receive window is shut: the peer filled our 4096-byte
 * buffer and the application reads nothing. */
static struct h_peer zero_window_conn(struct harness *h)
{
	stack_sysctl(h->st)->tcp_rmem[2] = 4096;
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	static const uint8_t fill[4096];
	uint32_t sent = 0;
	while (sent < sizeof(fill)) {
		uint32_t n = TL_MIN(1460u, (uint32_t)sizeof(fill) - sent);
		h_peer_send(h, &p, TH_ACK, fill + sent, n);
		sent += n;
		h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	}
	assert_int_equal(h->last_sent.wnd, 0);
	assert_int_equal(tcp_recv_avail(p.c), 4096);
	return p;
}

/* RFC 9293 §3.10.7.4 first (the four acceptability cases, plus PAWS off)
 * and second (RFC 5961 resets), as a table: state x position x kind.
 * A segment is acceptable when
 *   len 0, RCV.WND 0:  SEG.SEQ = RCV.NXT
 *   len 0, RCV.WND >0: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
 *   len >0, RCV.WND 0: never
 *   len >0, RCV.WND >0: its first or last byte inside the window.
 * An unacceptable segment gets an ACK unless it is a reset. Rows tagged
 * "Linux" are where the engine follows Linux rather than the RFC. */
static void test_rfc9293_segment_acceptability_table(void **state)
{
	(void)state;
	static const struct {
		int state;
		bool zero_wnd;
		enum pos pos;
		enum kind kind;
		enum outcome out;
	} rows[] = {
		/* Resets in every synchronized state (RFC 5961 §3.2). */
		{ TCP_ESTABLISHED, false, POS_BEFORE, K_RST, O_SILENT },
		{ TCP_ESTABLISHED, false, POS_FIN, K_RST, O_SILENT },
		{ TCP_ESTABLISHED, false, POS_AT, K_RST, O_RESET },
		{ TCP_ESTABLISHED, false, POS_IN, K_RST, O_ACK },       /* challenge */
		{ TCP_ESTABLISHED, false, POS_EDGE, K_RST, O_SILENT },
		{ TCP_ESTABLISHED, false, POS_BEYOND, K_RST, O_SILENT },
		{ TCP_FIN_WAIT1, false, POS_BEFORE, K_RST, O_SILENT },
		{ TCP_FIN_WAIT1, false, POS_AT, K_RST, O_RESET },
		{ TCP_FIN_WAIT1, false, POS_IN, K_RST, O_ACK },
		{ TCP_FIN_WAIT1, false, POS_EDGE, K_RST, O_SILENT },
		{ TCP_FIN_WAIT1, false, POS_BEYOND, K_RST, O_SILENT },
		{ TCP_FIN_WAIT2, false, POS_BEFORE, K_RST, O_SILENT },
		{ TCP_FIN_WAIT2, false, POS_AT, K_RST, O_RESET },
		{ TCP_FIN_WAIT2, false, POS_IN, K_RST, O_ACK },
		{ TCP_FIN_WAIT2, false, POS_EDGE, K_RST, O_SILENT },
		{ TCP_FIN_WAIT2, false, POS_BEYOND, K_RST, O_SILENT },
		{ TCP_CLOSE_WAIT, false, POS_BEFORE, K_RST, O_SILENT },
		{ TCP_CLOSE_WAIT, false, POS_FIN, K_RST, O_RESET },      /* Linux tcp_reset_check */
		{ TCP_CLOSE_WAIT, false, POS_AT, K_RST, O_RESET },
		{ TCP_CLOSE_WAIT, false, POS_IN, K_RST, O_ACK },
		{ TCP_CLOSE_WAIT, false, POS_EDGE, K_RST, O_SILENT },
		{ TCP_CLOSE_WAIT, false, POS_BEYOND, K_RST, O_SILENT },
		{ TCP_CLOSING, false, POS_BEFORE, K_RST, O_SILENT },
		{ TCP_CLOSING, false, POS_FIN, K_RST, O_RESET },         /* Linux tcp_reset_check */
		{ TCP_CLOSING, false, POS_AT, K_RST, O_RESET },
		{ TCP_CLOSING, false, POS_IN, K_RST, O_ACK },
		{ TCP_CLOSING, false, POS_EDGE, K_RST, O_SILENT },
		{ TCP_CLOSING, false, POS_BEYOND, K_RST, O_SILENT },
		{ TCP_LAST_ACK, false, POS_BEFORE, K_RST, O_SILENT },
		{ TCP_LAST_ACK, false, POS_FIN, K_RST, O_RESET },        /* Linux tcp_reset_check */
		{ TCP_LAST_ACK, false, POS_AT, K_RST, O_RESET },
		{ TCP_LAST_ACK, false, POS_IN, K_RST, O_ACK },
		{ TCP_LAST_ACK, false, POS_EDGE, K_RST, O_SILENT },
		{ TCP_LAST_ACK, false, POS_BEYOND, K_RST, O_SILENT },
		/* Zero window: only RCV.NXT itself is acceptable. */
		{ TCP_ESTABLISHED, true, POS_AT, K_RST, O_RESET },
		{ TCP_ESTABLISHED, true, POS_AT_PLUS1, K_RST, O_SILENT },
		/* Pure ACKs (no sequence space). Linux also accepts one at the
		 * right edge (its test is SEG.SEQ =< RCV.NXT+RCV.WND); the RFC
		 * does not, and neither do we. */
		{ TCP_ESTABLISHED, false, POS_BEFORE, K_ACK, O_ACK },
		{ TCP_ESTABLISHED, false, POS_AT, K_ACK, O_SILENT },
		{ TCP_ESTABLISHED, false, POS_IN, K_ACK, O_SILENT },
		{ TCP_ESTABLISHED, false, POS_EDGE, K_ACK, O_ACK },
		{ TCP_ESTABLISHED, false, POS_BEYOND, K_ACK, O_ACK },
		{ TCP_ESTABLISHED, true, POS_AT, K_ACK, O_SILENT },
		{ TCP_ESTABLISHED, true, POS_AT_PLUS1, K_ACK, O_ACK },
		/* One byte of data. */
		{ TCP_ESTABLISHED, false, POS_BEFORE, K_DATA, O_ACK },
		{ TCP_ESTABLISHED, false, POS_FIN, K_DATA, O_ACK },     /* a duplicate of the last byte */
		{ TCP_ESTABLISHED, false, POS_AT, K_DATA, O_TAKEN },
		{ TCP_ESTABLISHED, false, POS_IN, K_DATA, O_QUEUED },
		{ TCP_ESTABLISHED, false, POS_EDGE, K_DATA, O_ACK },
		{ TCP_ESTABLISHED, false, POS_BEYOND, K_DATA, O_ACK },
		{ TCP_ESTABLISHED, true, POS_AT, K_DATA, O_ACK },      /* no room: ACK, byte dropped */
		{ TCP_ESTABLISHED, true, POS_AT_PLUS1, K_DATA, O_ACK },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		static const char *const kinds[] = { "RST", "ACK", "1 byte" };
		static const char *const poss[] = { "before", "RCV.NXT-1", "RCV.NXT", "in window",
						    "right edge", "beyond", "RCV.NXT+1" };
		print_message("row %2zu: %-11s %s %-10s %s\n", i, tcp_state_name(rows[i].state),
			      rows[i].zero_wnd ? "wnd 0" : "wnd >0", poss[rows[i].pos],
			      kinds[rows[i].kind]);
		struct harness *h = h_new();
		struct h_peer p;
		if (rows[i].zero_wnd) {
			p = zero_window_conn(h);
		} else {
			struct tcp_conn *l = h_listen(h, 80, 16);
			p = h_conn_in(h, l, rows[i].state);
		}
		struct closed_log log = { 0 };
		tcp_set_callbacks(p.c, &closed_cb, &log);
		uint32_t rcv_nxt = p.seq;
		uint32_t edge = h->last_sent.ack + h->last_sent.wnd; /* no window scaling here */
		uint32_t seq = 0;
		switch (rows[i].pos) {
		case POS_BEFORE: seq = rcv_nxt - 100; break;
		case POS_FIN: seq = rcv_nxt - 1; break;
		case POS_AT: seq = rcv_nxt; break;
		case POS_IN: seq = rcv_nxt + 100; break;
		case POS_EDGE: seq = edge; break;
		case POS_BEYOND: seq = edge + 100; break;
		case POS_AT_PLUS1: seq = rcv_nxt + 1; break;
		}
		size_t avail = tcp_recv_avail(p.c);
		uint64_t ofo = h_mib(h)->tcpext.TCPOFOQueue;
		uint8_t flags = rows[i].kind == K_RST ? TH_RST : TH_ACK;
		h_inject(h, SEG(.flags = flags, .seq = seq, .ack = p.ack,
				.payload = (const uint8_t *)"x", .len = rows[i].kind == K_DATA));
		switch (rows[i].out) {
		case O_SILENT:
			h_expect_nothing(h);
			break;
		case O_ACK:
			h_expect(h, SEG(.flags = TH_ACK, .ack = rcv_nxt));
			break;
		case O_RESET:
			h_expect_nothing(h);
			assert_int_equal(tcp_conn_state(p.c), TCP_CLOSE);
			assert_int_equal(log.calls, 1);
			assert_int_equal(log.err, rows[i].state == TCP_CLOSE_WAIT ? -EPIPE : -ECONNRESET);
			break;
		case O_TAKEN:
			h_expect(h, SEG(.flags = TH_ACK, .ack = rcv_nxt + 1));
			assert_int_equal(tcp_recv_avail(p.c), avail + 1);
			break;
		case O_QUEUED:
			h_expect(h, SEG(.flags = TH_ACK, .ack = rcv_nxt));
			assert_int_equal(h_mib(h)->tcpext.TCPOFOQueue, ofo + 1);
			break;
		}
		h_expect_nothing(h);
		if (rows[i].out != O_RESET) {
			assert_int_equal(tcp_conn_state(p.c), rows[i].state);
			assert_int_equal(log.calls, 0);
		}
		if (rows[i].out != O_TAKEN)
			assert_int_equal(tcp_recv_avail(p.c), avail);
		if (rows[i].out != O_QUEUED)
			assert_int_equal(h_mib(h)->tcpext.TCPOFOQueue, ofo);
		if (rows[i].zero_wnd && rows[i].kind == K_DATA && rows[i].pos == POS_AT)
			assert_int_equal(h_mib(h)->tcpext.TCPZeroWindowDrop, 1);
		h_free(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5961_rst_exact_seq_resets),
		cmocka_unit_test(test_rfc5961_rst_in_window_gets_challenge_ack),
		cmocka_unit_test(test_rfc9293_rst_out_of_window_ignored),
		cmocka_unit_test(test_rfc5961_syn_in_established_gets_challenge_ack),
		cmocka_unit_test(test_rfc5961_challenge_ack_rate_limit),
		cmocka_unit_test(test_linux_rst_in_syn_recv_drops_request),
		cmocka_unit_test(test_rfc9293_segment_acceptability_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
