/* A listener's two queues and SYN cookies, as Linux runs them
 * (tcp_conn_request, tcp_check_req, cookie_v4_check; reference §2.1, §4):
 * overflow of the SYN queue under each tcp_syncookies setting, overflow of
 * the accept queue with and without tcp_abort_on_overflow, somaxconn, and
 * what a cookie carries (MSS table, options in the timestamp, age). */
#include "tcp_harness.h"
#include "tcp_procfs.h"

#define COOKIE_TS_SACK 0x10

static void set_cookies(struct harness *h, int mode)
{
	stack_sysctl(h->st)->tcp_syncookies = mode;
}

/* A SYN from the peer's `port` with ISN 1000 * port; returns our SYN-ACK. */
static struct tcp_seg syn_from(struct harness *h, uint16_t port, struct tcp_opts opt)
{
	h_inject(h, SEG(.flags = TH_SYN, .sport = port, .seq = 1000u * port, .opt = opt));
	return h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1000u * port + 1));
}

static void ack_from(struct harness *h, uint16_t port, const struct tcp_seg *synack,
		     struct tcp_opts opt)
{
	h_inject(h, SEG(.flags = TH_ACK, .sport = port, .seq = 1000u * port + 1,
			.ack = synack->seq + 1, .opt = opt));
}

static const struct tcp_opts mss1460 = { .has_mss = true, .mss = 1460 };

/* Reference §2.1 steps 1 and 4, as a table over tcp_syncookies with a
 * listener backlog of 2 (so the SYN queue holds 3 requests, Linux 6.14+):
 * five SYNs arrive and nobody answers the SYN-ACKs. */
static void test_linux_syn_queue_overflow_by_syncookies(void **state)
{
	(void)state;
	static const struct {
		int cookies;
		int requests;       /* SYN_RECV requests created */
		int cookie_synacks; /* stateless SYN-ACKs */
		int dropped;        /* SYNs dropped (TCPReqQFullDrop) */
	} rows[] = {
		{ 0, 3, 0, 2 },  /* no cookies: a full queue drops SYNs */
		{ 1, 3, 2, 0 },  /* cookies only once the queue is full */
		{ 2, 0, 5, 0 },  /* cookies for every SYN, no request state */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: tcp_syncookies=%d\n", i, rows[i].cookies);
		struct harness *h = h_new();
		set_cookies(h, rows[i].cookies);
		struct tcp_conn *l = h_listen(h, 80, 2);
		struct tcp_seg sa[5];
		int answered = 0;
		for (uint16_t k = 0; k < 5; k++) {
			h_inject(h, SEG(.flags = TH_SYN, .sport = 41000 + k, .seq = 7000, .opt = mss1460));
			h_collect(h);
			if (h->out_count)
				sa[answered++] = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 7001));
		}
		struct stack_counters *m = h_mib(h);
		assert_int_equal(answered, rows[i].requests + rows[i].cookie_synacks);
		assert_int_equal(h_events_to(h, TCP_SYN_RECV), rows[i].requests);
		assert_int_equal(m->tcpext.SyncookiesSent, rows[i].cookie_synacks);
		assert_int_equal(m->tcpext.TCPReqQFullDoCookies, rows[i].cookie_synacks);
		assert_int_equal(m->tcpext.TCPReqQFullDrop, rows[i].dropped);
		assert_int_equal(m->tcpext.ListenDrops, rows[i].dropped);
		assert_int_equal(m->tcpext.ListenOverflows, 0);
		/* Requests resend their SYN-ACK after 1 s; cookies are never resent. */
		h_advance(h, 1 * SEC);
		for (int k = 0; k < rows[i].requests; k++)
			h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 7001));
		h_expect_nothing(h);

		if (rows[i].cookie_synacks) {
			/* The last SYN got a cookie: its ACK builds the connection. */
			struct tcp_seg *c = &sa[answered - 1];
			h_skip_events(h);
			h_inject(h, SEG(.flags = TH_ACK, .sport = c->dport, .seq = 7001, .ack = c->seq + 1));
			h_expect_nothing(h);
			struct tl_event ev = { 0 };
			assert_true(h_next_state(h, &ev));
			assert_int_equal(ev.old_state, TCP_LISTEN);
			assert_int_equal(ev.new_state, TCP_ESTABLISHED);
			assert_string_equal(ev.cause, "cookie-ACK");
			assert_true(ev.flags & TL_EVF_FROM_COOKIE);
			assert_true(ev.flags & TL_EVF_PASSIVE);
			assert_int_equal(m->tcpext.SyncookiesRecv, 1);
			struct tcp_conn *child = tcp_accept(l, h->now);
			assert_non_null(child);
			assert_int_equal(tcp_conn_state(child), TCP_ESTABLISHED);
			/* A forged cookie (any other ACK number) gets a reset. */
			struct tcp_seg *f = &sa[answered - 2];
			h_inject(h, SEG(.flags = TH_ACK, .sport = f->dport, .seq = 7001, .ack = f->seq + 1 + 4096));
			h_expect(h, SEG(.flags = TH_RST, .seq = f->seq + 1 + 4096));
			assert_int_equal(m->tcpext.SyncookiesFailed, 1);
			assert_int_equal(h_events_to(h, TCP_ESTABLISHED), 0);
		} else {
			/* A dropped SYN left nothing behind: its ACK is reset. */
			h_inject(h, SEG(.flags = TH_ACK, .sport = 41004, .seq = 7001, .ack = 99));
			h_expect(h, SEG(.flags = TH_RST, .seq = 99));
			assert_int_equal(m->tcpext.SyncookiesFailed, 0);
		}
		h_free(h);
	}
}

/* Reference §2.1 step 2: a SYN that finds the accept queue full (backlog
 * N holds N + 1 children) is dropped, cookies or not. */
static void test_linux_syn_dropped_while_accept_queue_full(void **state)
{
	(void)state;
	for (int cookies = 0; cookies <= 2; cookies++) {
		print_message("row %d: tcp_syncookies=%d\n", cookies, cookies);
		struct harness *h = h_new();
		struct tcp_conn *l = h_listen(h, 80, 2);
		for (uint16_t port = 41000; port < 41003; port++) {
			struct tcp_seg sa = syn_from(h, port, mss1460);
			ack_from(h, port, &sa, mss1460);
		}
		assert_int_equal(h_events_to(h, TCP_ESTABLISHED), 3);
		set_cookies(h, cookies);
		h_inject(h, SEG(.flags = TH_SYN, .sport = 41003, .seq = 5, .opt = mss1460));
		h_expect_nothing(h);
		assert_int_equal(h_mib(h)->tcpext.ListenOverflows, 1);
		assert_int_equal(h_mib(h)->tcpext.ListenDrops, 1);
		/* Once the application accepts one, the retried SYN gets in. */
		assert_non_null(tcp_accept(l, h->now));
		h_inject(h, SEG(.flags = TH_SYN, .sport = 41003, .seq = 5, .opt = mss1460));
		h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 6));
		h_free(h);
	}
}

/* Reference §2.1 tcp_abort_on_overflow: the final ACK finds the accept
 * queue full. 0: the ACK is dropped, the request marked acked, and the
 * SYN-ACK timer prompts the client again; 1: the client is reset. Either
 * way ListenOverflows and ListenDrops grow. */
static void test_linux_accept_queue_full_final_ack(void **state)
{
	(void)state;
	for (int abort_on = 0; abort_on <= 1; abort_on++) {
		print_message("row %d: tcp_abort_on_overflow=%d\n", abort_on, abort_on);
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_abort_on_overflow = abort_on;
		struct tcp_conn *l = h_listen(h, 80, 2);
		/* Two children queued, then two requests. */
		for (uint16_t port = 41000; port < 41002; port++) {
			struct tcp_seg sa = syn_from(h, port, mss1460);
			ack_from(h, port, &sa, mss1460);
		}
		struct tcp_seg sa_c = syn_from(h, 41002, mss1460);
		struct tcp_seg sa_d = syn_from(h, 41003, mss1460);
		tl_usec_t t_d = h->now;
		ack_from(h, 41002, &sa_c, mss1460); /* third child: the queue is full */
		h_skip_events(h);

		ack_from(h, 41003, &sa_d, mss1460);
		assert_int_equal(h_mib(h)->tcpext.ListenOverflows, 1);
		assert_int_equal(h_mib(h)->tcpext.ListenDrops, 1);
		if (abort_on) {
			h_expect(h, SEG(.flags = TH_RST, .seq = sa_d.seq + 1));
			h_expect_transition(h, TCP_SYN_RECV, TCP_CLOSE, TL_CAUSE_SEGMENT,
					    "accept-queue-full");
			assert_int_equal(h_mib(h)->tcpext.EmbryonicRsts, 1);
			h_advance(h, 70 * SEC);
			h_expect_nothing(h); /* the request is gone: nothing resent */
		} else {
			h_expect_nothing(h);
			assert_false(h_next_state(h, &(struct tl_event){ 0 }));
			/* The request waits; its timer resends the SYN-ACK at 1 s. */
			h_wait_segment(h, 2 * SEC);
			assert_int_equal(h->now - t_d, 1 * SEC);
			h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .seq = sa_d.seq, .ack = 41003001));
			/* The application makes room; the client's next ACK gets in. */
			assert_non_null(tcp_accept(l, h->now));
			ack_from(h, 41003, &sa_d, mss1460);
			h_expect_nothing(h);
			h_expect_transition(h, TCP_SYN_RECV, TCP_ESTABLISHED, TL_CAUSE_SEGMENT, "ACK");
		}
		h_free(h);
	}
}

/* Reference §2.1 net.core.somaxconn: listen() silently caps its backlog;
 * with cookies off the SYN queue then holds backlog + 1 requests. */
static void test_linux_somaxconn_caps_backlog(void **state)
{
	(void)state;
	static const struct {
		int somaxconn, backlog, held;
	} rows[] = {
		{ 4096, 2, 3 },  /* under the cap: as asked */
		{ 1, 128, 2 },   /* capped to 1 */
		{ 0, 128, 1 },   /* capped to 0: still one (Linux 6.14+) */
		{ 3, -1, 4 },    /* a negative backlog means "the maximum" */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: somaxconn=%d listen(%d)\n", i, rows[i].somaxconn, rows[i].backlog);
		struct harness *h = h_new();
		set_cookies(h, 0);
		stack_sysctl(h->st)->somaxconn = rows[i].somaxconn;
		h_listen(h, 80, rows[i].backlog);
		int answered = 0;
		for (uint16_t port = 41000; port < 41010; port++) {
			h_inject(h, SEG(.flags = TH_SYN, .sport = port, .seq = 5, .opt = mss1460));
			h_collect(h);
			if (h->out_count) {
				h_expect(h, SEG(.flags = TH_SYN | TH_ACK));
				answered++;
			}
		}
		assert_int_equal(answered, rows[i].held);
		assert_int_equal(h_mib(h)->tcpext.TCPReqQFullDrop, 10 - rows[i].held);
		h_free(h);
	}
}

/* Opens a connection through a cookie (tcp_syncookies = 2) and returns
 * the child; `synack` receives our SYN-ACK. */
static struct tcp_conn *cookie_conn(struct harness *h, struct tcp_conn *l, uint16_t port,
				    struct tcp_opts syn_opt, struct tcp_opts ack_opt, uint16_t ack_wnd,
				    struct tcp_seg *synack)
{
	*synack = syn_from(h, port, syn_opt);
	if (ack_opt.has_ts)
		ack_opt.ts_ecr = synack->opt.ts_val;
	h_inject(h, SEG(.flags = TH_ACK, .sport = port, .seq = 1000u * port + 1,
			.ack = synack->seq + 1, .opt = ack_opt, .wnd = ack_wnd));
	h_expect_nothing(h);
	assert_int_equal(h_mib(h)->tcpext.SyncookiesRecv, 1);
	struct tcp_conn *c = tcp_accept(l, h->now);
	assert_non_null(c);
	return c;
}

/* Reference §4: a cookie encodes the client's MSS as an index into
 * {536, 1300, 1440, 1460}, rounded down (anything below 536 gets 536). We
 * then send segments of exactly that size. */
static void test_linux_syncookie_mss_quantised(void **state)
{
	(void)state;
	static const struct {
		int client_mss; /* 0: no MSS option (RFC 9293 default 536) */
		uint32_t segment;
	} rows[] = {
		{ 1460, 1460 }, { 1459, 1440 }, { 1440, 1440 }, { 1439, 1300 },
		{ 1300, 1300 }, { 1299, 536 },  { 536, 536 },   { 100, 536 },
		{ 0, 536 },     { 9000, 1460 },
	};
	static uint8_t data[3000];
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: client MSS %d\n", i, rows[i].client_mss);
		struct harness *h = h_new();
		set_cookies(h, 2);
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct tcp_opts o = { .has_mss = rows[i].client_mss != 0, .mss = (uint16_t)rows[i].client_mss };
		struct tcp_seg sa;
		struct tcp_conn *c = cookie_conn(h, l, 41000, o, (struct tcp_opts){ 0 }, 65535, &sa);
		assert_int_equal(sa.opt.mss, 1460); /* we still offer ours */
		assert_int_equal(tcp_send(c, data, sizeof(data), h->now), (ssize_t)sizeof(data));
		h_expect(h, SEG(.flags = TH_ACK, .seq = sa.seq + 1, .len = rows[i].segment));
		h_free(h);
	}
}

/* Linux: with tcp_timestamps=1 the cookie SYN-ACK's TSval carries the
 * per-peer offset on top of the encoded options; the offset is taken off
 * the ACK's TSecr before decoding, so the options still come back. */
static void test_linux_syncookie_options_survive_ts_offset(void **state)
{
	(void)state;
	struct harness *h = h_new();
	set_cookies(h, 2);
	assert_int_equal(stack_sysctl(h->st)->tcp_timestamps, 1);
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct tcp_opts syn = { .has_mss = true, .mss = 1460, .has_ts = true, .ts_val = 500,
				.has_wscale = true, .wscale = 7, .sack_ok = true };
	struct tcp_opts ack = { .has_ts = true, .ts_val = 501 };
	struct tcp_seg sa;
	struct tcp_conn *c = cookie_conn(h, l, 41000, syn, ack, 100, &sa);
	struct strbuf info = { 0 };
	assert_int_equal(tcp_procfs_conn_info(stack_tcp(h->st), tcp_conn_id(c), h->now, &info), 0);
	assert_non_null(strstr(info.p, "options ts sack wscale\n"));
	assert_non_null(strstr(info.p, "snd_wscale 7\n"));
	sb_free(&info);
	tcp_abort(c, h->now);
	h_free(h);
}

/* Reference §4 "options via timestamps": the client's window scale and
 * SACK ride in the low 6 bits of our cookie SYN-ACK's TSval and come back
 * in the ACK's TSecr. Without timestamps both are lost. (tcp_timestamps=2
 * keeps the per-peer TSval offset out, so the bits show on the wire; with 1
 * the offset is added after encoding and removed before decoding.) */
static void test_linux_syncookie_options_in_timestamp(void **state)
{
	(void)state;
	static const struct {
		bool ts, ws, sack;
		uint32_t low_bits;   /* expected TSval & 63 */
		uint32_t window_bytes; /* what a raw window of 100 allows */
		bool sack_blocks;
	} rows[] = {
		{ true, true, true, 7 | COOKIE_TS_SACK, 100 << 7, true },  /* all recovered */
		{ true, false, true, 15 | COOKIE_TS_SACK, 100, true },     /* 15: no scaling */
		{ true, true, false, 7, 100 << 7, false },
		{ false, true, true, 0, 100, false },                      /* no TS: all lost */
	};
	static uint8_t data[20000];
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: ts=%d ws=%d sack=%d\n", i, rows[i].ts, rows[i].ws, rows[i].sack);
		struct harness *h = h_new();
		set_cookies(h, 2);
		stack_sysctl(h->st)->tcp_timestamps = 2;
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct tcp_opts syn = { .has_mss = true, .mss = 1460, .has_ts = rows[i].ts, .ts_val = 500,
					.has_wscale = rows[i].ws, .wscale = 7, .sack_ok = rows[i].sack };
		struct tcp_opts ack = { .has_ts = rows[i].ts, .ts_val = 501 };
		struct tcp_seg sa;
		struct tcp_conn *c = cookie_conn(h, l, 41000, syn, ack, 100, &sa);
		assert_int_equal(sa.opt.has_ts, rows[i].ts);
		if (rows[i].ts) {
			assert_int_equal(sa.opt.ts_val & 63, rows[i].low_bits);
			assert_int_equal(sa.opt.has_wscale, rows[i].ws);
			assert_int_equal(sa.opt.sack_ok, rows[i].sack);
		} else {
			assert_false(sa.opt.has_wscale || sa.opt.sack_ok);
		}
		/* Window scaling: the peer's raw window of 100 means 100 << 7 bytes. */
		assert_int_equal(tcp_send(c, data, sizeof(data), h->now), (ssize_t)sizeof(data));
		uint32_t sent = 0;
		h_collect(h);
		while (h->out_count) {
			struct tcp_seg d = h_pop(h);
			assert_int_equal(d.opt.has_ts, rows[i].ts);
			if (rows[i].ts)
				assert_int_equal(d.opt.ts_ecr, 501);
			sent += d.len;
		}
		assert_int_equal(sent, rows[i].window_bytes);
		/* SACK: out-of-order data is reported in our duplicate ACK. */
		h_inject(h, SEG(.flags = TH_ACK, .sport = 41000, .seq = 41000001 + 100, .ack = sa.seq + 1,
				.wnd = 100, .payload = data, .len = 10, .opt = ack));
		struct tcp_seg dup = h_expect(h, SEG(.flags = TH_ACK, .ack = 41000001));
		assert_int_equal(dup.opt.nsack, rows[i].sack_blocks ? 1 : 0);
		if (rows[i].sack_blocks) {
			assert_int_equal(dup.opt.sack[0].start, 41000001 + 100);
			assert_int_equal(dup.opt.sack[0].end, 41000001 + 110);
		}
		h_free(h);
	}
}

/* Reference §4: a cookie is valid for the minute it was made and the next
 * one (MAX_SYNCOOKIE_AGE 2), so it lives 60 to 120 s depending on when in
 * its minute it was made. Later ACKs fail (SyncookiesFailed, RST). */
static void test_linux_syncookie_expires_after_two_minutes(void **state)
{
	(void)state;
	static const struct {
		tl_usec_t made;   /* seconds into a minute */
		tl_usec_t age;    /* when the ACK comes */
		bool valid;
	} rows[] = {
		{ 0, 120 * SEC - 1, true },  /* made at a minute's start: almost 2 min */
		{ 0, 120 * SEC, false },
		{ 30 * SEC, 90 * SEC - 1, true }, /* made mid-minute: 90 s */
		{ 30 * SEC, 90 * SEC, false },
		{ 59 * SEC, 61 * SEC - 1, true }, /* made at a minute's end: 61 s */
		{ 59 * SEC, 61 * SEC, false },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: made %.0f s into a minute, ACK %.6f s later\n", i,
			      (double)rows[i].made / SEC, (double)rows[i].age / SEC);
		struct harness *h = h_new();
		set_cookies(h, 2);
		struct tcp_conn *l = h_listen(h, 80, 16);
		h_advance(h, 60 * SEC - h->now % (60 * SEC) + rows[i].made);
		struct tcp_seg sa = syn_from(h, 41000, mss1460);
		/* Keep the listener "recently overflowed" (another client's SYN)
		 * so that only the cookie's own age decides. */
		h_advance(h, rows[i].age - 10 * SEC);
		syn_from(h, 42000, mss1460);
		h_advance(h, 10 * SEC);
		ack_from(h, 41000, &sa, (struct tcp_opts){ 0 });
		if (rows[i].valid) {
			h_expect_nothing(h);
			assert_int_equal(h_mib(h)->tcpext.SyncookiesRecv, 1);
			assert_non_null(tcp_accept(l, h->now));
		} else {
			h_expect(h, SEG(.flags = TH_RST, .seq = sa.seq + 1));
			assert_int_equal(h_mib(h)->tcpext.SyncookiesFailed, 1);
			assert_null(tcp_accept(l, h->now));
		}
		h_free(h);
	}
}

/* Reference §4: cookie ACKs are checked only within 2 minutes of the
 * listener's last overflow; otherwise an ACK is a stray, reset without
 * counting a failed cookie. */
static void test_linux_cookie_ack_needs_recent_overflow(void **state)
{
	(void)state;
	struct harness *h = h_new();
	set_cookies(h, 1);
	struct tcp_conn *l = h_listen(h, 80, 0); /* one request fills the queue */
	h_inject(h, SEG(.flags = TH_ACK, .seq = 5, .ack = 77));
	h_expect(h, SEG(.flags = TH_RST, .seq = 77));
	assert_int_equal(h_mib(h)->tcpext.SyncookiesFailed, 0);

	syn_from(h, 41000, mss1460);                         /* a request */
	struct tcp_seg sa = syn_from(h, 41001, mss1460);     /* overflow: a cookie */
	assert_int_equal(h_mib(h)->tcpext.SyncookiesSent, 1);
	h_inject(h, SEG(.flags = TH_RST, .sport = 41000, .seq = 41000001)); /* the request goes */
	h_advance(h, 2 * SEC);
	ack_from(h, 41001, &sa, (struct tcp_opts){ 0 });
	h_expect_nothing(h);
	assert_int_equal(h_mib(h)->tcpext.SyncookiesRecv, 1);
	assert_non_null(tcp_accept(l, h->now));

	h_advance(h, 119 * SEC); /* 121 s after the overflow */
	h_expect_nothing(h);
	h_inject(h, SEG(.flags = TH_ACK, .sport = 41005, .seq = 5, .ack = 77));
	h_expect(h, SEG(.flags = TH_RST, .seq = 77));
	assert_int_equal(h_mib(h)->tcpext.SyncookiesFailed, 0);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_syn_queue_overflow_by_syncookies),
		cmocka_unit_test(test_linux_syn_dropped_while_accept_queue_full),
		cmocka_unit_test(test_linux_accept_queue_full_final_ack),
		cmocka_unit_test(test_linux_somaxconn_caps_backlog),
		cmocka_unit_test(test_linux_syncookie_mss_quantised),
		cmocka_unit_test(test_linux_syncookie_options_in_timestamp),
		cmocka_unit_test(test_linux_syncookie_options_survive_ts_offset),
		cmocka_unit_test(test_linux_syncookie_expires_after_two_minutes),
		cmocka_unit_test(test_linux_cookie_ack_needs_recent_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
