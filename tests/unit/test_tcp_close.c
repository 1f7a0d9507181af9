/* Connection release: RFC 9293 §3.6 and §3.10.7.4 (eighth step, FIN), with
 * Linux's TIME_WAIT (60 s, tcp_max_tw_buckets, tcp_rfc1337), orphaned
 * FIN_WAIT2 (tcp_fin_timeout) and close() semantics (reference §2.2, §8). */
#include "tcp_harness.h"

#include <errno.h>

static struct harness *h_new_msl(int msl_ms)
{
	struct harness *h = h_new();
	if (msl_ms)
		stack_sysctl(h->st)->msl_ms = msl_ms;
	return h;
}

/* RFC 9293 §3.6 case 1: we close first. ESTABLISHED -> FIN_WAIT1 ->
 * FIN_WAIT2 -> TIME_WAIT -> CLOSE, each step with its cause. */
static void test_rfc9293_active_close_four_way(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	h_skip_events(h);

	tcp_close(p.c, h->now);
	struct tcp_seg fin = h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK, .ack = p.seq));
	assert_int_equal(fin.seq, p.iss + 1);
	h_expect_transition(h, TCP_ESTABLISHED, TCP_FIN_WAIT1, TL_CAUSE_APP, "close");

	h_peer_ack(h, &p);
	h_expect_nothing(h);
	h_expect_transition(h, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TL_CAUSE_SEGMENT, "ACK");

	h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
	h_expect(h, SEG(.flags = TH_ACK, .seq = p.ack, .ack = p.seq));
	h_expect_transition(h, TCP_FIN_WAIT2, TCP_TIME_WAIT, TL_CAUSE_SEGMENT, "FIN");

	h_advance(h, 60 * SEC);
	h_expect_transition(h, TCP_TIME_WAIT, TCP_CLOSE, TL_CAUSE_TIMER, "timewait");
	h_expect_nothing(h);
	assert_int_equal(h_mib(h)->tcpext.TW, 1);
	assert_int_equal(h_mib(h)->tcp.CurrEstab, 0);
	assert_int_equal(h_mib(h)->tcp.EstabResets, 0);
	h_free(h);
}

/* RFC 9293 §3.6 case 1, other end: the peer closes first. ESTABLISHED ->
 * CLOSE_WAIT; the application reads EOF and closes -> LAST_ACK -> CLOSE. */
static void test_rfc9293_passive_close_four_way(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	h_skip_events(h);

	h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
	h_expect_transition(h, TCP_ESTABLISHED, TCP_CLOSE_WAIT, TL_CAUSE_SEGMENT, "FIN");
	char buf[8];
	assert_int_equal(tcp_recv(p.c, buf, sizeof(buf), h->now), 0); /* EOF */
	/* Linux: the FIN's ACK is delayed (ping-pong mode) ... */
	h_expect_nothing(h);
	h_advance(h, 40 * MS);
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));

	/* ... and our FIN follows when the application closes. */
	tcp_close(p.c, h->now);
	h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK, .seq = p.iss + 1, .ack = p.seq));
	h_expect_transition(h, TCP_CLOSE_WAIT, TCP_LAST_ACK, TL_CAUSE_APP, "close");
	h_peer_ack(h, &p);
	h_expect_transition(h, TCP_LAST_ACK, TCP_CLOSE, TL_CAUSE_SEGMENT, "ACK");
	h_expect_nothing(h);
	h_advance(h, 120 * SEC); /* no TIME_WAIT on this side, nothing left to time */
	h_expect_nothing(h);
	assert_false(h_next_state(h, &(struct tl_event){ 0 }));
	assert_int_equal(h_mib(h)->tcp.CurrEstab, 0);
	assert_int_equal(h_mib(h)->tcp.EstabResets, 0);
	h_free(h);
}

/* RFC 9293 §3.10.7.4 eighth, FIN-WAIT-1: a FIN that also acknowledges our
 * FIN passes through FIN_WAIT2 on its way to TIME_WAIT. */
static void test_rfc9293_fin_with_ack_of_our_fin(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_conn_in(h, l, TCP_FIN_WAIT1);
	h_skip_events(h);
	h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0); /* p.ack covers our FIN */
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	h_expect_transition(h, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TL_CAUSE_SEGMENT, "ACK");
	h_expect_transition(h, TCP_FIN_WAIT2, TCP_TIME_WAIT, TL_CAUSE_SEGMENT, "FIN");
	h_expect_nothing(h);
	h_free(h);
}

/* RFC 9293 §3.6 case 2, figure 13: FINs cross. FIN_WAIT1 -> CLOSING on
 * the peer's FIN, CLOSING -> TIME_WAIT on the ACK of ours. */
static void test_rfc9293_simultaneous_close(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	h_skip_events(h);
	tcp_shutdown_write(p.c, h->now);
	struct tcp_seg fin = h_expect(h, SEG(.flags = TH_FIN | TH_ACK));
	h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0); /* does not ack our FIN */
	h_expect(h, SEG(.flags = TH_ACK, .seq = fin.seq + 1, .ack = p.seq));
	h_expect_transition(h, TCP_ESTABLISHED, TCP_FIN_WAIT1, TL_CAUSE_APP, "shutdown");
	h_expect_transition(h, TCP_FIN_WAIT1, TCP_CLOSING, TL_CAUSE_SEGMENT, "FIN");
	assert_int_equal(tcp_conn_state(p.c), TCP_CLOSING);
	p.ack = fin.seq + 1;
	h_peer_ack(h, &p);
	h_expect_nothing(h);
	h_expect_transition(h, TCP_CLOSING, TCP_TIME_WAIT, TL_CAUSE_SEGMENT, "ACK");
	h_free(h);
}

/* RFC 9293 §3.10.7.4 eighth, TIME-WAIT: "Remain in the TIME-WAIT state.
 * Restart the 2 MSL time-out." A retransmitted FIN is ACKed again. */
static void test_rfc9293_time_wait_reacks_fin_and_restarts_2msl(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_conn_in(h, l, TCP_TIME_WAIT);
	h_skip_events(h);
	h_advance(h, 30 * SEC);
	/* The peer lost our ACK and sends its FIN again. */
	h_inject(h, SEG(.flags = TH_FIN | TH_ACK, .seq = p.seq - 1, .ack = p.ack));
	h_expect(h, SEG(.flags = TH_ACK, .seq = p.ack, .ack = p.seq));
	h_advance(h, 60 * SEC - 1); /* 90 s after entering, 60 s after the FIN */
	assert_int_equal(h_events_to(h, TCP_CLOSE), 0);
	h_advance(h, 1);
	h_expect_transition(h, TCP_TIME_WAIT, TCP_CLOSE, TL_CAUSE_TIMER, "timewait");
	h_expect_nothing(h);
	h_free(h);
}

/* Linux tcp_timewait_state_process(): any ACK from the peer restarts the
 * 60 s; a bare ACK at RCV.NXT is taken silently, an old one is answered
 * (at most once per 500 ms); an old ACKless SYN restarts nothing. */
static void test_linux_time_wait_ack_restarts_timer(void **state)
{
	(void)state;
	static const struct {
		uint8_t flags;
		int32_t seq_off;   /* relative to RCV.NXT */
		bool answered, restarts;
	} rows[] = {
		{ TH_ACK, 0, false, true },      /* in the window: silent */
		{ TH_ACK, -1000, true, true },   /* old: re-ACKed */
		{ TH_SYN, -1000, true, false },  /* old SYN: re-ACKed, no restart */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: flags %#x seq%+d\n", i, rows[i].flags, rows[i].seq_off);
		struct harness *h = h_new();
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_conn_in(h, l, TCP_TIME_WAIT);
		h_skip_events(h);
		h_advance(h, 30 * SEC);
		h_inject(h, SEG(.flags = rows[i].flags, .seq = p.seq + (uint32_t)rows[i].seq_off,
				.ack = rows[i].flags & TH_ACK ? p.ack : 0));
		if (rows[i].answered)
			h_expect(h, SEG(.flags = TH_ACK, .seq = p.ack, .ack = p.seq));
		h_expect_nothing(h);
		tl_usec_t left = rows[i].restarts ? 60 * SEC : 30 * SEC;
		h_advance(h, left - 1);
		assert_int_equal(h_events_to(h, TCP_CLOSE), 0);
		h_advance(h, 1);
		h_expect_transition(h, TCP_TIME_WAIT, TCP_CLOSE, TL_CAUSE_TIMER, "timewait");
		h_free(h);
	}
}

/* Linux TCP_TIMEWAIT_LEN: TIME_WAIT lasts exactly 60 s; the lab knob
 * msl_ms makes it 2 * msl_ms. */
static void test_linux_time_wait_length(void **state)
{
	(void)state;
	static const struct {
		int msl_ms;        /* 0: leave the default */
		tl_usec_t length;
	} rows[] = {
		{ 0, 60 * SEC },       /* default: Linux's fixed 60 s */
		{ 30000, 60 * SEC },   /* the default written out */
		{ 1000, 2 * SEC },     /* a short lab TIME_WAIT */
		{ 120000, 240 * SEC }, /* a long one */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: msl_ms=%d\n", i, rows[i].msl_ms);
		struct harness *h = h_new_msl(rows[i].msl_ms);
		struct tcp_conn *l = h_listen(h, 80, 16);
		h_conn_in(h, l, TCP_TIME_WAIT);
		h_skip_events(h);
		tl_usec_t t0 = h->now;
		h_advance(h, rows[i].length - 1);
		assert_int_equal(h_events_to(h, TCP_CLOSE), 0);
		h_advance(h, 1);
		struct tl_event ev = { 0 };
		assert_true(h_next_state(h, &ev));
		assert_int_equal(ev.old_state, TCP_TIME_WAIT);
		assert_int_equal(ev.new_state, TCP_CLOSE);
		assert_int_equal(ev.time - t0, rows[i].length);
		assert_int_equal(h_mib(h)->tcpext.TW, 1);
		h_free(h);
	}
}

/* Linux tcp_timewait_state_process(): an RST at RCV.NXT kills TIME_WAIT
 * unless tcp_rfc1337 is set (RFC 1337 asks to ignore it); an RST out of
 * the window never does. */
static void test_linux_time_wait_rst_and_rfc1337(void **state)
{
	(void)state;
	static const struct {
		int rfc1337;
		int32_t seq_off; /* RST sequence relative to RCV.NXT */
		bool killed;
	} rows[] = {
		{ 0, 0, true },      /* assassination allowed (Linux default) */
		{ 1, 0, false },     /* RFC 1337: ignored */
		{ 0, 1000, false },  /* not at RCV.NXT: ignored */
		{ 0, -1, false },    /* an old reset: ignored */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: rfc1337=%d seq%+d\n", i, rows[i].rfc1337, rows[i].seq_off);
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_rfc1337 = rows[i].rfc1337;
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_conn_in(h, l, TCP_TIME_WAIT);
		h_skip_events(h);
		h_inject(h, SEG(.flags = TH_RST, .seq = p.seq + (uint32_t)rows[i].seq_off));
		h_expect_nothing(h); /* a reset is never answered */
		if (rows[i].killed) {
			h_expect_transition(h, TCP_TIME_WAIT, TCP_CLOSE, TL_CAUSE_SEGMENT, "RST");
			/* The tuple is free: a late ACK meets the listener, which resets it. */
			h_peer_ack(h, &p);
			h_expect(h, SEG(.flags = TH_RST, .seq = p.ack));
		} else {
			assert_int_equal(h_events_to(h, TCP_CLOSE), 0);
			h_advance(h, 60 * SEC);
			h_expect_transition(h, TCP_TIME_WAIT, TCP_CLOSE, TL_CAUSE_TIMER, "timewait");
		}
		h_free(h);
	}
}

/* RFC 9293 §3.10.7.4 / RFC 1122 4.2.2.13, as Linux does it: a new SYN
 * beyond the old stream reopens a TIME_WAIT tuple; an old SYN does not. */
static void test_rfc1122_time_wait_new_syn_reopens(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_conn_in(h, l, TCP_TIME_WAIT);
	h_skip_events(h);

	/* An old duplicate SYN (below RCV.NXT) is answered by an ACK. */
	h_inject(h, SEG(.flags = TH_SYN, .seq = p.seq - 500));
	h_expect(h, SEG(.flags = TH_ACK, .seq = p.ack, .ack = p.seq));
	assert_int_equal(h_events_to(h, TCP_CLOSE), 0);

	/* A SYN beyond it starts a new incarnation. */
	uint32_t isn = p.seq + 100000;
	h_inject(h, SEG(.flags = TH_SYN, .seq = isn));
	struct tcp_seg sa = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = isn + 1));
	/* Linux: the new ISS is the old SND.NXT + 65537, beyond anything the
	 * old incarnation used. */
	assert_int_equal(sa.seq, p.ack + 65535 + 2);
	h_expect_transition(h, TCP_TIME_WAIT, TCP_CLOSE, TL_CAUSE_SEGMENT, "SYN");
	h_expect_transition(h, TCP_LISTEN, TCP_SYN_RECV, TL_CAUSE_SEGMENT, "SYN");
	h_inject(h, SEG(.flags = TH_ACK, .seq = isn + 1, .ack = sa.seq + 1));
	struct tcp_conn *c = tcp_accept(l, h->now);
	assert_non_null(c);
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	h_free(h);
}

/* Linux tcp_max_tw_buckets: beyond the cap a closing connection skips
 * TIME_WAIT (TCPTimeWaitOverflow) and its tuple is free at once. */
static void test_linux_tcp_max_tw_buckets_overflow(void **state)
{
	(void)state;
	struct harness *h = h_new();
	stack_sysctl(h->st)->tcp_max_tw_buckets = 1;
	struct tcp_conn *l = h_listen(h, 80, 16);
	h_conn_in(h, l, TCP_TIME_WAIT);
	assert_int_equal(h_mib(h)->tcpext.TCPTimeWaitOverflow, 0);

	struct h_peer p = h_open_opt(h, l, 40001, 5000, (struct tcp_opts){ .has_mss = true, .mss = 1460 }, 0);
	tcp_shutdown_write(p.c, h->now);
	h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK));
	h_peer_ack(h, &p);
	h_skip_events(h);
	h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq)); /* the FIN is still ACKed */
	h_expect_transition(h, TCP_FIN_WAIT2, TCP_CLOSE, TL_CAUSE_SEGMENT, "tw_overflow");
	assert_int_equal(h_mib(h)->tcpext.TCPTimeWaitOverflow, 1);
	/* Nothing holds the tuple: the FIN retransmitted meets the listener. */
	h_inject(h, SEG(.flags = TH_FIN | TH_ACK, .sport = 40001, .seq = p.seq - 1, .ack = p.ack));
	h_expect(h, SEG(.flags = TH_RST, .seq = p.ack));
	h_free(h);
}

/* Linux tcp_fin_time(): an orphaned FIN_WAIT2 (the application closed)
 * vanishes silently after max(tcp_fin_timeout, 3.5 x RTO), counted from
 * the ACK of our FIN. */
static void test_linux_orphan_fin_wait2_fin_timeout(void **state)
{
	(void)state;
	static const struct {
		int fin_timeout; /* s */
		tl_usec_t rtt;   /* handshake RTT: RTO = rtt + 200 ms */
		tl_usec_t life;
	} rows[] = {
		{ 60, 0, 60 * SEC },                  /* the default */
		{ 10, 0, 10 * SEC },                  /* a shorter tunable */
		{ 0, 100 * MS, 1050 * MS },           /* floor: 3.5 x RTO (300 ms) */
		{ 1, 400 * MS, 4200 * MS },           /* 3.5 x RTO (1.2 s) beats 1 s */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: fin_timeout=%d rtt=%llu us\n", i, rows[i].fin_timeout,
			      (unsigned long long)rows[i].rtt);
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_fin_timeout = rows[i].fin_timeout;
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_open_opt(h, l, 40000, 1000,
					     (struct tcp_opts){ .has_mss = true, .mss = 1460 },
					     rows[i].rtt);
		tcp_close(p.c, h->now);
		h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK));
		h_peer_ack(h, &p);
		h_skip_events(h);
		h_advance(h, rows[i].life - 1);
		assert_int_equal(h_state_of(h, 80, 40000), TCP_FIN_WAIT2);
		h_advance(h, 1);
		h_expect_transition(h, TCP_FIN_WAIT2, TCP_CLOSE, TL_CAUSE_TIMER, "fin_timeout");
		h_expect_nothing(h); /* silently: no reset */
		h_free(h);
	}
}

/* Linux: a FIN_WAIT2 connection the application still holds (it only
 * shut down writing) has no timeout; closing it later starts the clock. */
static void test_linux_owned_fin_wait2_waits_forever(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_conn_in(h, l, TCP_FIN_WAIT2);
	h_advance(h, 10 * 3600 * SEC);
	assert_int_equal(tcp_conn_state(p.c), TCP_FIN_WAIT2);
	h_expect_nothing(h);
	h_skip_events(h);
	tcp_close(p.c, h->now);
	h_expect_nothing(h);
	h_advance(h, 60 * SEC);
	h_expect_transition(h, TCP_FIN_WAIT2, TCP_CLOSE, TL_CAUSE_TIMER, "fin_timeout");
	h_free(h);
}

/* Linux (reference §8): CLOSE_WAIT has no timer; it lasts until the
 * application closes, however long that takes. */
static void test_linux_close_wait_lasts_until_app_closes(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_conn_in(h, l, TCP_CLOSE_WAIT);
	h_advance(h, 40 * MS);
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq)); /* the delayed ACK of the FIN */
	h_advance(h, 100 * 3600 * SEC);
	h_expect_nothing(h);
	assert_int_equal(tcp_conn_state(p.c), TCP_CLOSE_WAIT);
	assert_int_equal(h_state_of(h, 80, p.port), TCP_CLOSE_WAIT);
	assert_int_equal(h_mib(h)->tcp.CurrEstab, 1); /* Linux counts CLOSE_WAIT as established */
	tcp_close(p.c, h->now);
	h_expect(h, SEG(.flags = TH_FIN | TH_ACK));
	assert_int_equal(h_state_of(h, 80, p.port), TCP_LAST_ACK);
	h_free(h);
}

/* Linux tcp_close() (RFC 2525 §2.17): closing with unread data sends RST
 * instead of FIN and counts TCPAbortOnClose; from ESTABLISHED that is an
 * EstabReset. */
static void test_linux_close_with_unread_data_sends_rst(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	h_peer_send(h, &p, TH_ACK | TH_PSH, "unread", 6);
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	h_skip_events(h);
	tcp_close(p.c, h->now);
	h_expect(h, SEG(.flags = TH_RST | TH_ACK, .seq = p.ack, .ack = p.seq));
	h_expect_transition(h, TCP_ESTABLISHED, TCP_CLOSE, TL_CAUSE_APP, "close-unread");
	h_expect_nothing(h);
	assert_int_equal(h_mib(h)->tcpext.TCPAbortOnClose, 1);
	assert_int_equal(h_mib(h)->tcpext.TCPAbortOnData, 0);
	assert_int_equal(h_mib(h)->tcp.EstabResets, 1);
	assert_int_equal(h_mib(h)->tcp.CurrEstab, 0);
	h_free(h);
}

/* Linux tcp_rcv_state_process() (RFC 1122 4.2.2.13): data arriving after
 * close() is answered with RST and counts TCPAbortOnData. */
static void test_linux_data_after_close_sends_rst(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	tcp_close(p.c, h->now);
	h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK));
	h_peer_ack(h, &p);
	h_skip_events(h);
	h_peer_send(h, &p, TH_ACK | TH_PSH, "late", 4);
	h_expect(h, SEG(.flags = TH_RST, .seq = p.ack));
	h_expect_transition(h, TCP_FIN_WAIT2, TCP_CLOSE, TL_CAUSE_SEGMENT, "data-after-close");
	assert_int_equal(h_mib(h)->tcpext.TCPAbortOnData, 1);
	h_free(h);
}

/* Linux tcp_disconnect() (SO_LINGER 0): abort sends RST at once; Linux
 * counts it as TCPAbortOnData. */
static void test_linux_abort_sends_rst(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	h_skip_events(h);
	tcp_abort(p.c, h->now);
	h_expect(h, SEG(.flags = TH_RST | TH_ACK, .seq = p.ack, .ack = p.seq));
	h_expect_transition(h, TCP_ESTABLISHED, TCP_CLOSE, TL_CAUSE_APP, "abort");
	assert_int_equal(h_mib(h)->tcpext.TCPAbortOnData, 1);
	assert_int_equal(h_mib(h)->tcp.EstabResets, 1);
	h_free(h);
}

/* RFC 9293 §3.6: a half-closed connection still carries data the other
 * way. We shut down writing; the peer keeps sending until its own FIN. */
static void test_rfc9293_half_close_we_stop_sending(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_conn_in(h, l, TCP_FIN_WAIT2);
	assert_int_equal(tcp_send(p.c, "x", 1, h->now), -EPIPE);
	h_peer_send(h, &p, TH_ACK | TH_PSH, "still talking", 13);
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	char buf[32];
	assert_int_equal(h_read(h, p.c, buf, sizeof(buf)), 13);
	assert_memory_equal(buf, "still talking", 13);
	h_peer_send(h, &p, TH_FIN | TH_ACK | TH_PSH, "bye", 3);
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	assert_int_equal(h_read(h, p.c, buf, sizeof(buf)), 3);
	assert_int_equal(tcp_recv(p.c, buf, sizeof(buf), h->now), 0); /* EOF */
	assert_int_equal(h_state_of(h, 80, p.port), TCP_TIME_WAIT);
	h_free(h);
}

/* RFC 9293 §3.6, other direction: after the peer's FIN (CLOSE_WAIT) we
 * may keep sending; our data is delivered and acknowledged. */
static void test_rfc9293_half_close_peer_stops_sending(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_conn_in(h, l, TCP_CLOSE_WAIT);
	char buf[8];
	assert_int_equal(tcp_recv(p.c, buf, sizeof(buf), h->now), 0); /* EOF */
	assert_int_equal(tcp_send(p.c, "reply after EOF", 15, h->now), 15);
	struct tcp_seg d = h_peer_recv(h, &p, SEG(.flags = TH_ACK | TH_PSH, .ack = p.seq, .len = 15));
	assert_memory_equal(d.payload, "reply after EOF", 15);
	h_peer_ack(h, &p);
	h_expect_nothing(h);
	tcp_close(p.c, h->now);
	h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK, .seq = p.iss + 16));
	h_peer_ack(h, &p);
	assert_int_equal(h_state_of(h, 80, p.port), TCP_CLOSE);
	h_free(h);
}

/* The history of one connection, as events: every transition in order,
 * each with its cause, under one connection id from request to TIME_WAIT. */
static void test_linux_close_events_in_order(void **state)
{
	(void)state;
	static const struct {
		int from, to, kind;
		const char *cause;
	} want[] = {
		{ TCP_CLOSE, TCP_LISTEN, TL_CAUSE_APP, "listen" },
		{ TCP_LISTEN, TCP_SYN_RECV, TL_CAUSE_SEGMENT, "SYN" },
		{ TCP_SYN_RECV, TCP_ESTABLISHED, TL_CAUSE_SEGMENT, "ACK" },
		{ TCP_ESTABLISHED, TCP_FIN_WAIT1, TL_CAUSE_APP, "close" },
		{ TCP_FIN_WAIT1, TCP_FIN_WAIT2, TL_CAUSE_SEGMENT, "ACK" },
		{ TCP_FIN_WAIT2, TCP_TIME_WAIT, TL_CAUSE_SEGMENT, "FIN" },
		{ TCP_TIME_WAIT, TCP_CLOSE, TL_CAUSE_TIMER, "timewait" },
	};
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	tcp_close(p.c, h->now);
	h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK));
	h_peer_ack(h, &p);
	h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
	h_advance(h, 60 * SEC);
	uint64_t id = 0;
	for (size_t i = 0; i < TL_ARRAY_SIZE(want); i++) {
		struct tl_event ev = { 0 };
		assert_true(h_next_state(h, &ev));
		print_message("event %zu: %s -> %s (%s)\n", i, tcp_state_name(ev.old_state),
			      tcp_state_name(ev.new_state), ev.cause);
		h->ev_read--; /* let h_expect_transition check the same event */
		h_expect_transition(h, want[i].from, want[i].to, want[i].kind, want[i].cause);
		assert_int_equal(ev.lport, 80);
		if (i == 0)
			continue; /* the listener is an object of its own */
		assert_int_equal(ev.rport, p.port);
		assert_true(ev.flags & TL_EVF_PASSIVE);
		if (i == 1)
			id = ev.conn_id;
		assert_int_equal(ev.conn_id, id);
		if (ev.cause_kind == TL_CAUSE_SEGMENT)
			assert_true(ev.seg_flags & (want[i].cause[0] == 'S' ? TH_SYN
						    : want[i].cause[0] == 'F' ? TH_FIN : TH_ACK));
	}
	assert_false(h_next_state(h, &(struct tl_event){ 0 }));
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9293_active_close_four_way),
		cmocka_unit_test(test_rfc9293_passive_close_four_way),
		cmocka_unit_test(test_rfc9293_fin_with_ack_of_our_fin),
		cmocka_unit_test(test_rfc9293_simultaneous_close),
		cmocka_unit_test(test_rfc9293_time_wait_reacks_fin_and_restarts_2msl),
		cmocka_unit_test(test_linux_time_wait_ack_restarts_timer),
		cmocka_unit_test(test_linux_time_wait_length),
		cmocka_unit_test(test_linux_time_wait_rst_and_rfc1337),
		cmocka_unit_test(test_rfc1122_time_wait_new_syn_reopens),
		cmocka_unit_test(test_linux_tcp_max_tw_buckets_overflow),
		cmocka_unit_test(test_linux_orphan_fin_wait2_fin_timeout),
		cmocka_unit_test(test_linux_owned_fin_wait2_waits_forever),
		cmocka_unit_test(test_linux_close_wait_lasts_until_app_closes),
		cmocka_unit_test(test_linux_close_with_unread_data_sends_rst),
		cmocka_unit_test(test_linux_data_after_close_sends_rst),
		cmocka_unit_test(test_linux_abort_sends_rst),
		cmocka_unit_test(test_rfc9293_half_close_we_stop_sending),
		cmocka_unit_test(test_rfc9293_half_close_peer_stops_sending),
		cmocka_unit_test(test_linux_close_events_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
