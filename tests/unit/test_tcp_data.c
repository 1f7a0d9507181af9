/* Data transfer: RFC 9293 §3.4, §3.8 and §3.10.7.4 (seventh step), window
 * scaling and timestamps (RFC 7323), SACK reporting (RFC 2018), Nagle
 * (RFC 896, Minshall's form as Linux runs it), persist probes (RFC 9293
 * §3.8.6.1) and Linux's ACK policy and MSS rules. */
#include "tcp_harness.h"

#include <errno.h>

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)('a' + i % 26);
}

static void fill(uint8_t *buf, uint32_t off, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = pattern(off + i);
}

/* The peer sends [off, off + len) of the pattern stream starting at base. */
static void peer_data_at(struct harness *h, struct h_peer *p, uint32_t base, uint32_t off,
			 uint32_t len)
{
	uint8_t buf[2048];
	fill(buf, off, len);
	h_inject(h, SEG(.sport = p->port, .seq = base + off, .ack = p->ack, .flags = TH_ACK,
			.payload = buf, .len = len, .opt = p->opt, .wnd = p->wnd));
}

static const struct tcp_opts mss_sack = { .has_mss = true, .mss = 1460, .sack_ok = true };

/* RFC 9293 §3.4: bytes go both ways in order and are acknowledged. */
static void test_rfc9293_data_both_ways(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	static uint8_t in[200000], out[200000], got[200000];
	fill(in, 0, sizeof(in));
	fill(out, 7, sizeof(out));

	/* Peer to us, in full segments. */
	for (uint32_t off = 0; off < sizeof(in); off += 1460) {
		uint32_t n = TL_MIN(1460u, (uint32_t)sizeof(in) - off);
		h_peer_send(h, &p, TH_ACK, in + off, n);
		h_drop_output(h); /* our ACKs: the last one is checked below */
	}
	h_advance(h, 40 * MS);
	h_drop_output(h);
	assert_int_equal(h->last_sent.ack, p.seq);
	assert_int_equal(h_read(h, p.c, got, sizeof(got)), sizeof(in));
	assert_memory_equal(got, in, sizeof(in));

	/* Us to the peer: whatever the windows let out, the peer ACKs. */
	size_t queued = 0, received = 0;
	while (received < sizeof(out)) {
		if (queued < sizeof(out)) {
			ssize_t n = tcp_send(p.c, out + queued, sizeof(out) - queued, h->now);
			if (n > 0)
				queued += (size_t)n;
		}
		h_collect(h);
		assert_true(h->out_count > 0);
		while (h->out_count) {
			struct tcp_seg s = h_pop(h);
			assert_int_equal(s.seq, p.iss + 1 + received);
			assert_memory_equal(s.payload, out + received, s.len);
			received += s.len;
			p.ack = s.seq + s.len;
		}
		h_peer_ack(h, &p);
	}
	h_expect_nothing(h);
	assert_int_equal(h_mib(h)->tcp.RetransSegs, 0);
	h_free(h);
}

/* RFC 9293 §3.4: sequence numbers are modulo 2^32. A peer ISN just below
 * 2^32 makes its stream wrap; reordering across the wrap still works. */
static void test_rfc9293_sequence_wraparound(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	uint32_t isn = 0xfffffe00u;
	struct h_peer p = h_open_opt(h, l, 40000, isn, mss_sack, 0);
	uint32_t base = isn + 1;
	peer_data_at(h, &p, base, 400, 400); /* [0x..190, 0x320): straddles 2^32 */
	struct tcp_seg dup = h_expect(h, SEG(.flags = TH_ACK, .ack = base));
	assert_int_equal(dup.opt.nsack, 1);
	assert_int_equal(dup.opt.sack[0].start, base + 400);
	assert_int_equal(dup.opt.sack[0].end, base + 800);
	assert_true(dup.opt.sack[0].end < dup.opt.sack[0].start); /* wrapped */
	peer_data_at(h, &p, base, 0, 400);
	h_expect(h, SEG(.flags = TH_ACK, .ack = base + 800));
	peer_data_at(h, &p, base, 800, 300);
	h_expect(h, SEG(.flags = TH_ACK, .ack = base + 1100));
	uint8_t got[1100], want[1100];
	fill(want, 0, sizeof(want));
	assert_int_equal(h_read(h, p.c, got, sizeof(got)), 1100);
	assert_memory_equal(got, want, sizeof(want));
	h_free(h);
}

/* RFC 9293 §3.10.7.4 seventh and RFC 2018 §4: out-of-order segments wait
 * in the out-of-order queue (TCPOFOQueue); each is answered at once by a
 * duplicate ACK whose first SACK block holds the segment just received;
 * overlapping pieces merge; filling the holes delivers everything once. */
static void test_rfc2018_reassembly_with_sack_blocks(void **state)
{
	(void)state;
	static const struct {
		uint32_t off, len;
		uint32_t ack;                    /* ACK we answer with (offset) */
		unsigned nsack;
		struct tcp_sack_block sack[3];   /* offsets */
	} steps[] = {
		{ 200, 100, 0, 1, { { 200, 300 } } },                  /* C */
		{ 500, 100, 0, 2, { { 500, 600 }, { 200, 300 } } },    /* E: newest first */
		{ 150, 100, 0, 2, { { 150, 300 }, { 500, 600 } } },    /* overlaps C */
		{ 300, 100, 0, 2, { { 150, 400 }, { 500, 600 } } },    /* D joins C */
		{ 0, 100, 100, 2, { { 150, 400 }, { 500, 600 } } },    /* A, in order */
		{ 100, 50, 400, 1, { { 500, 600 } } },                 /* fills a hole */
		{ 400, 100, 600, 0, { { 0, 0 } } },                    /* fills the last */
	};
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open_opt(h, l, 40000, 1000, mss_sack, 0);
	uint32_t base = p.seq;
	for (size_t i = 0; i < TL_ARRAY_SIZE(steps); i++) {
		print_message("step %zu: [%u, %u)\n", i, steps[i].off, steps[i].off + steps[i].len);
		peer_data_at(h, &p, base, steps[i].off, steps[i].len);
		struct tcp_seg a = h_expect(h, SEG(.flags = TH_ACK, .ack = base + steps[i].ack));
		assert_int_equal(a.ack, base + steps[i].ack);
		assert_int_equal(a.opt.nsack, steps[i].nsack);
		for (unsigned k = 0; k < steps[i].nsack; k++) {
			assert_int_equal(a.opt.sack[k].start, base + steps[i].sack[k].start);
			assert_int_equal(a.opt.sack[k].end, base + steps[i].sack[k].end);
		}
	}
	assert_int_equal(h_mib(h)->tcpext.TCPOFOQueue, 4); /* C, E, the overlap, D */
	uint8_t got[700], want[600];
	fill(want, 0, sizeof(want));
	assert_int_equal(h_read(h, p.c, got, sizeof(got)), 600);
	assert_memory_equal(got, want, sizeof(want));
	h_free(h);
}

/* RFC 9293 §3.10.7.4 seventh: "segments with higher beginning sequence
 * numbers may be held"; what was already received is trimmed, so a
 * retransmission never delivers a byte twice. */
static void test_rfc9293_duplicates_trimmed(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	uint32_t base = p.seq;
	peer_data_at(h, &p, base, 0, 100);
	h_expect(h, SEG(.flags = TH_ACK, .ack = base + 100));
	peer_data_at(h, &p, base, 50, 100); /* half old, half new */
	h_expect(h, SEG(.flags = TH_ACK, .ack = base + 150));
	peer_data_at(h, &p, base, 0, 100); /* entirely old: ACKed at once */
	h_expect(h, SEG(.flags = TH_ACK, .ack = base + 150));
	/* A different payload over bytes we have does not change them. */
	uint8_t junk[100];
	memset(junk, 'X', sizeof(junk));
	h_inject(h, SEG(.seq = base + 100, .ack = p.ack, .flags = TH_ACK, .payload = junk, .len = 100));
	h_expect(h, SEG(.flags = TH_ACK, .ack = base + 200));
	uint8_t got[300], want[150];
	fill(want, 0, sizeof(want));
	assert_int_equal(h_read(h, p.c, got, sizeof(got)), 200);
	assert_memory_equal(got, want, 150);
	assert_memory_equal(got + 150, junk, 50);
	h_free(h);
}

/* RFC 2883 §4 (Linux tcp_dsack_set()): with SACK and tcp_dsack=1, the
 * ACK answering a duplicate reports the duplicate bytes in a first SACK
 * block (below the ACK: a D-SACK), once; a partly old segment reports its
 * old part; TCPDSACKOldSent counts them. With tcp_dsack=0, or without
 * SACK negotiated, no block. */
static void test_rfc2883_dsack_reports_duplicates(void **state)
{
	(void)state;
	static const struct tcp_opts mss_only = { .has_mss = true, .mss = 1460 };
	static const struct {
		bool sack;
		int tunable;
		unsigned nsack; /* blocks in the ACK answering a duplicate */
		uint64_t sent;  /* TCPDSACKOldSent at the end */
	} rows[] = { { true, 1, 1, 2 }, { true, 0, 0, 0 }, { false, 1, 0, 0 } };
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("sack=%d tcp_dsack=%d\n", rows[i].sack, rows[i].tunable);
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_dsack = rows[i].tunable;
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_open_opt(h, l, 40000, 1000, rows[i].sack ? mss_sack : mss_only, 0);
		uint32_t base = p.seq;
		peer_data_at(h, &p, base, 0, 100);
		struct tcp_seg a = h_expect(h, SEG(.flags = TH_ACK, .ack = base + 100));
		assert_int_equal(a.opt.nsack, 0);
		peer_data_at(h, &p, base, 0, 100); /* entirely old */
		a = h_expect(h, SEG(.flags = TH_ACK, .ack = base + 100));
		assert_int_equal(a.opt.nsack, rows[i].nsack);
		if (rows[i].nsack) {
			assert_int_equal(a.opt.sack[0].start, base);
			assert_int_equal(a.opt.sack[0].end, base + 100);
		}
		peer_data_at(h, &p, base, 50, 100); /* [50, 100) old, [100, 150) new */
		a = h_expect(h, SEG(.flags = TH_ACK, .ack = base + 150));
		assert_int_equal(a.opt.nsack, rows[i].nsack);
		if (rows[i].nsack) {
			assert_int_equal(a.opt.sack[0].start, base + 50);
			assert_int_equal(a.opt.sack[0].end, base + 100);
		}
		peer_data_at(h, &p, base, 150, 100); /* new only: the report is not repeated */
		a = h_expect(h, SEG(.flags = TH_ACK, .ack = base + 250));
		assert_int_equal(a.opt.nsack, 0);
		assert_int_equal(h_mib(h)->tcpext.TCPDSACKOldSent, rows[i].sent);
		h_free(h);
	}
}

/* RFC 2883 §4.1.3: a duplicate of out-of-order data is reported too: the
 * D-SACK block first, then the SACK block that holds it (TCPDSACKOfoSent). */
static void test_rfc2883_dsack_out_of_order_duplicate(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open_opt(h, l, 40000, 1000, mss_sack, 0);
	uint32_t base = p.seq;
	peer_data_at(h, &p, base, 200, 100);
	struct tcp_seg a = h_expect(h, SEG(.flags = TH_ACK, .ack = base));
	assert_int_equal(a.opt.nsack, 1);
	peer_data_at(h, &p, base, 220, 50); /* inside what waits already */
	a = h_expect(h, SEG(.flags = TH_ACK, .ack = base));
	assert_int_equal(a.opt.nsack, 2);
	assert_int_equal(a.opt.sack[0].start, base + 220);
	assert_int_equal(a.opt.sack[0].end, base + 270);
	assert_int_equal(a.opt.sack[1].start, base + 200);
	assert_int_equal(a.opt.sack[1].end, base + 300);
	assert_int_equal(h_mib(h)->tcpext.TCPDSACKOfoSent, 1);
	assert_int_equal(h_mib(h)->tcpext.TCPDSACKOldSent, 0);
	h_free(h);
}

/* RFC 7323 §2: window scaling is used only when both SYNs carry the
 * option; then every window after the SYNs is shifted. Rows: what the
 * peer offers, our tunable, and what that does to both directions. */
static void test_rfc7323_window_scaling_both_ways(void **state)
{
	(void)state;
	static const struct {
		bool peer_offers;
		uint8_t peer_shift;
		int tunable;
		bool we_offer;
		uint32_t sendable;   /* bytes a raw window of 1000 lets us send */
		uint16_t our_raw;    /* raw window in our ACK after 100 bytes in */
	} rows[] = {
		/* Scaled: 6 MB >> 7. 100 bytes in do not shrink it: the right
		 * edge stays, rounded up to the 128-byte unit. */
		{ true, 2, 1, true, 4000, 6291456 >> 7 },     /* both scale */
		{ true, 0, 1, true, 1000, 6291456 >> 7 },     /* shift 0 is still scaling */
		{ true, 14, 1, true, 14600, 6291456 >> 7 },   /* huge: cwnd limits (10 x MSS) */
		{ false, 0, 1, false, 1000, 65535 },                      /* peer cannot: none at all */
		{ true, 2, 0, false, 1000, 65535 },                       /* we may not: none at all */
	};
	static uint8_t data[30000];
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: peer %s %u, tcp_window_scaling=%d\n", i,
			      rows[i].peer_offers ? "offers" : "does not offer", rows[i].peer_shift,
			      rows[i].tunable);
		struct harness *h = h_new();
		stack_sysctl(h->st)->tcp_window_scaling = rows[i].tunable;
		struct tcp_conn *l = h_listen(h, 80, 16);
		h_inject(h, SEG(.flags = TH_SYN, .seq = 1000,
				.opt = { .has_mss = true, .mss = 1460, .has_wscale = rows[i].peer_offers,
					 .wscale = rows[i].peer_shift }));
		struct tcp_seg sa = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001));
		assert_int_equal(sa.opt.has_wscale, rows[i].we_offer);
		if (rows[i].we_offer)
			assert_int_equal(sa.opt.wscale, 7); /* covers tcp_rmem[2] = 6 MB */
		assert_int_equal(sa.wnd, 65535);        /* never scaled in a SYN */
		struct h_peer p = { .port = 40000, .our_port = 80, .iss = sa.seq, .seq = 1001,
				    .ack = sa.seq + 1, .wnd = 1000 };
		h_peer_ack(h, &p);
		p.c = tcp_accept(l, h->now);
		assert_non_null(p.c);
		assert_int_equal(tcp_send(p.c, data, sizeof(data), h->now), (ssize_t)sizeof(data));
		uint32_t sent = 0;
		h_collect(h);
		while (h->out_count)
			sent += h_pop(h).len;
		assert_int_equal(sent, rows[i].sendable);
		h_peer_send(h, &p, TH_ACK, data, 100);
		struct tcp_seg a = h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
		assert_int_equal(a.wnd, rows[i].our_raw);
		h_free(h);
	}
}

/* RFC 7323 §2.4 (RFC 9293 §3.8.6.2.2 MUST-35 in spirit): the right edge
 * we advertise (ACK + window << scale) never moves left, even though the
 * scaled window can only count in units of 2^scale. The application reads
 * nothing; the peer fills the window in odd-sized pieces until it is shut. */
static void test_rfc7323_receive_window_never_shrinks(void **state)
{
	(void)state;
	struct harness *h = h_new();
	stack_sysctl(h->st)->tcp_rmem[2] = 200000; /* scale 2 */
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open_opt(h, l, 40000, 1000,
				     (struct tcp_opts){ .has_mss = true, .mss = 1460, .has_wscale = true },
				     0);
	uint32_t edge = h->last_sent.ack + h->last_sent.wnd; /* the handshake: unscaled */
	static uint8_t piece[999];
	unsigned acks = 0;
	for (;;) {
		uint32_t room = edge - p.seq;
		if (room == 0)
			break;
		h_peer_send(h, &p, TH_ACK, piece, TL_MIN(room, (uint32_t)sizeof(piece)));
		h_advance(h, 40 * MS); /* let any delayed ACK out */
		h_collect(h);
		while (h->out_count) {
			struct tcp_seg a = h_pop(h);
			uint32_t e = a.ack + ((uint32_t)a.wnd << 2);
			if ((int32_t)(e - edge) < 0)
				fail_msg("right edge moved left: %u -> %u (ack %u wnd %u)", edge, e, a.ack, a.wnd);
			edge = e;
			assert_int_equal(a.ack, p.seq); /* every promised byte was taken */
			acks++;
		}
	}
	assert_true(acks > 100);
	assert_int_equal(h->last_sent.wnd, 0);
	/* Rounding up may promise a few bytes past the buffer; all came in. */
	print_message("buffer 200000, promised and taken %zu\n", tcp_recv_avail(p.c));
	assert_true(tcp_recv_avail(p.c) >= 200000);
	assert_true(tcp_recv_avail(p.c) < 200000 + 1000);
	h_free(h);
}

/* RFC 9293 §3.8.6.1 (MUST-36/37) and Linux tcp_probe_timer(): with data
 * waiting and the peer's window shut, we probe it: first after one RTO,
 * then backing off (doubling). A probe is an ACK with an old sequence
 * number (TCPWinProbe). Answered probes keep the connection alive however
 * many there are; when the window opens the data flows at once. */
static void test_rfc9293_zero_window_probes_and_reopening(void **state)
{
	(void)state;
	struct harness *h = h_new();
	stack_sysctl(h->st)->tcp_retries2 = 3; /* fewer than the probes below */
	struct tcp_conn *l = h_listen(h, 80, 16);
	/* RTT 100 ms: RTO = 100 + max(4 x 50, 200) = 300 ms. */
	struct h_peer p = h_open_opt(h, l, 40000, 1000, (struct tcp_opts){ .has_mss = true, .mss = 1460 },
				     100 * MS);
	p.wnd = 0;
	h_peer_ack(h, &p); /* window update: shut */
	static uint8_t data[1000];
	assert_int_equal(tcp_send(p.c, data, sizeof(data), h->now), 1000);
	h_expect_nothing(h);
	static const tl_usec_t gaps[] = { 300 * MS, 600 * MS, 1200 * MS, 2400 * MS, 4800 * MS };
	for (size_t k = 0; k < TL_ARRAY_SIZE(gaps); k++) {
		tl_usec_t waited = h_wait_segment(h, 10 * SEC);
		print_message("probe %zu after %.3f s\n", k + 1, (double)waited / SEC);
		assert_int_equal(waited, gaps[k]);
		h_expect(h, SEG(.flags = TH_ACK, .seq = p.ack - 1, .ack = p.seq, .len = 0));
		h_peer_ack(h, &p); /* still shut */
		h_expect_nothing(h);
	}
	assert_int_equal(h_mib(h)->tcpext.TCPWinProbe, 5);
	assert_int_equal(tcp_conn_state(p.c), TCP_ESTABLISHED);
	p.wnd = 65535;
	h_peer_ack(h, &p);
	h_peer_recv(h, &p, SEG(.flags = TH_ACK | TH_PSH, .seq = p.iss + 1, .len = 1000));
	h_peer_ack(h, &p);
	h_advance(h, 60 * SEC);
	h_expect_nothing(h); /* no probes once the window is open and data acked */
	h_free(h);
}

/* Linux tcp_probe_timer(): unanswered zero-window probes give up after
 * tcp_retries2 of them (ETIMEDOUT, TCPAbortOnTimeout). */
static void test_linux_unanswered_zero_window_probes_give_up(void **state)
{
	(void)state;
	struct harness *h = h_new();
	stack_sysctl(h->st)->tcp_retries2 = 3;
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open_opt(h, l, 40000, 1000, (struct tcp_opts){ .has_mss = true, .mss = 1460 },
				     100 * MS);
	p.wnd = 0;
	h_peer_ack(h, &p);
	tl_usec_t t0 = h->now;
	assert_int_equal(tcp_send(p.c, "x", 1, h->now), 1);
	for (int k = 0; k < 3; k++) {
		h_wait_segment(h, 10 * SEC);
		h_expect(h, SEG(.flags = TH_ACK, .seq = p.ack - 1));
	}
	h_skip_events(h);
	h_advance(h, 10 * SEC);
	h_expect_nothing(h);
	struct tl_event ev = { 0 };
	assert_true(h_next_state(h, &ev));
	assert_int_equal(ev.new_state, TCP_CLOSE);
	assert_int_equal(ev.time - t0, (300 + 600 + 1200 + 2400) * MS);
	assert_int_equal(h_mib(h)->tcpext.TCPAbortOnTimeout, 1);
	char buf[4];
	assert_int_equal(tcp_recv(p.c, buf, sizeof(buf), h->now), -ETIMEDOUT);
	h_free(h);
}

/* RFC 9293 §3.8.6.2.2 receiver side: our window shuts when the
 * application stops reading, a probe is answered with the shut window,
 * and reading sends a window update at once (Linux tcp_cleanup_rbuf). */
static void test_rfc9293_our_zero_window_and_update(void **state)
{
	(void)state;
	struct harness *h = h_new();
	stack_sysctl(h->st)->tcp_rmem[2] = 4096;
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	static uint8_t buf[4096];
	for (uint32_t off = 0; off < 4096; off += 1024) {
		h_peer_send(h, &p, TH_ACK, buf, 1024);
		h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	}
	assert_int_equal(h->last_sent.wnd, 0);
	h_inject(h, SEG(.flags = TH_ACK, .seq = p.seq - 1, .ack = p.ack)); /* a probe */
	struct tcp_seg a = h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	assert_int_equal(a.wnd, 0);
	assert_int_equal(h_read(h, p.c, buf, sizeof(buf)), 4096);
	a = h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	assert_int_equal(a.wnd, 4096);
	h_free(h);
}

/* RFC 9293 §3.7.1 (MUST-14/15) and Linux tcp_current_mss(): we never send
 * more than the peer's MSS, never more than the MTU allows (1500 - 40),
 * and options we carry come out of that budget. */
static void test_rfc9293_mss_clamping(void **state)
{
	(void)state;
	static const struct {
		int peer_mss;       /* 0: no MSS option */
		bool ts;
		uint32_t segment;
	} rows[] = {
		{ 1000, false, 1000 },  /* the peer's MSS */
		{ 1000, true, 988 },    /* minus 12 bytes of timestamp option */
		{ 9000, false, 1460 },  /* our MTU: 1500 - 20 - 20 */
		{ 9000, true, 1448 },
		{ 0, false, 536 },      /* RFC 9293 default when the option is absent */
		{ 40, false, 48 },      /* raised to tcp_min_snd_mss (Linux) */
	};
	static uint8_t data[5000];
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: peer MSS %d%s\n", i, rows[i].peer_mss, rows[i].ts ? " +TS" : "");
		struct harness *h = h_new();
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct tcp_opts o = { .has_mss = rows[i].peer_mss != 0, .mss = (uint16_t)rows[i].peer_mss,
				      .has_ts = rows[i].ts, .ts_val = 5 };
		struct h_peer p = h_open_opt(h, l, 40000, 1000, o, 0);
		assert_int_equal(tcp_send(p.c, data, sizeof(data), h->now), (ssize_t)sizeof(data));
		h_collect(h);
		unsigned n = 0;
		while (h->out_count) {
			struct tcp_seg s = h_pop(h);
			assert_true(s.len <= rows[i].segment);
			assert_true(IPV4_HLEN + s.hdr_len + s.len <= 1500);
			if (n++ == 0)
				assert_int_equal(s.len, rows[i].segment);
		}
		h_free(h);
	}
}

/* Linux's ACK policy (tcp_event_data_recv, __tcp_ack_snd_check): the
 * first 16 data segments are ACKed at once (quick ACK mode); after that
 * an ACK waits up to 40 ms (DelayedACKs) unless more than one full
 * segment is unacknowledged. */
static void test_linux_delayed_ack_and_quickack(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	static uint8_t full[1460];
	for (int k = 0; k < 16; k++) {
		h_peer_send(h, &p, TH_ACK, full, sizeof(full));
		h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq)); /* quick */
	}
	/* One full segment: delayed. */
	h_peer_send(h, &p, TH_ACK, full, sizeof(full));
	h_expect_nothing(h);
	assert_int_equal(h_wait_segment(h, 1 * SEC), 40 * MS);
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	assert_int_equal(h_mib(h)->tcpext.DelayedACKs, 1);
	/* Two full segments: the second is ACKed at once. */
	h_peer_send(h, &p, TH_ACK, full, sizeof(full));
	h_expect_nothing(h);
	h_peer_send(h, &p, TH_ACK, full, sizeof(full));
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	/* Two small segments are less than one full one: delayed. */
	h_peer_send(h, &p, TH_ACK, full, 100);
	h_advance(h, 10 * MS);
	h_peer_send(h, &p, TH_ACK, full, 100);
	h_expect_nothing(h);
	assert_int_equal(h_wait_segment(h, 1 * SEC), 30 * MS); /* 40 ms after the first */
	h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	assert_int_equal(h_mib(h)->tcpext.DelayedACKs, 2);
	/* Data we send carries the ACK: nothing is left to delay. */
	h_peer_send(h, &p, TH_ACK, full, 100);
	assert_int_equal(tcp_send(p.c, "reply", 5, h->now), 5);
	h_peer_recv(h, &p, SEG(.flags = TH_ACK | TH_PSH, .ack = p.seq, .len = 5));
	h_peer_ack(h, &p);
	h_advance(h, 1 * SEC);
	h_expect_nothing(h);
	assert_int_equal(h_mib(h)->tcpext.DelayedACKs, 2);
	h_free(h);
}

/* RFC 896 as Linux runs it (Minshall's variant, tcp_nagle_check): a small
 * segment waits while an earlier small segment is unacknowledged; full
 * segments never wait; TCP_NODELAY turns it off. */
static void test_rfc896_nagle(void **state)
{
	(void)state;
	static uint8_t data[4000];
	for (int nodelay = 0; nodelay <= 1; nodelay++) {
		print_message("row %d: nodelay=%d\n", nodelay, nodelay);
		struct harness *h = h_new();
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_open(h, l, 1000);
		tcp_set_nodelay(p.c, nodelay);
		tcp_send(p.c, data, 100, h->now);
		h_peer_recv(h, &p, SEG(.flags = TH_ACK | TH_PSH, .len = 100)); /* nothing in flight */
		tcp_send(p.c, data, 100, h->now);
		tcp_send(p.c, data, 100, h->now);
		if (nodelay) {
			h_peer_recv(h, &p, SEG(.flags = TH_ACK | TH_PSH, .len = 100));
			h_peer_recv(h, &p, SEG(.flags = TH_ACK | TH_PSH, .len = 100));
		} else {
			h_expect_nothing(h); /* held behind the first small segment */
			h_peer_ack(h, &p);
			h_peer_recv(h, &p, SEG(.flags = TH_ACK | TH_PSH, .len = 200)); /* coalesced */
		}
		h_peer_ack(h, &p);
		h_expect_nothing(h);
		/* Minshall: full segments in flight do not hold a small one back... */
		tcp_send(p.c, data, 2 * 1460 + 100, h->now);
		h_peer_recv(h, &p, SEG(.flags = TH_ACK, .len = 1460));
		h_peer_recv(h, &p, SEG(.flags = TH_ACK, .len = 1460));
		h_peer_recv(h, &p, SEG(.flags = TH_ACK | TH_PSH, .len = 100));
		/* ... but an unacknowledged small one does. */
		uint32_t small_end = p.ack;
		tcp_send(p.c, data, 100, h->now);
		if (!nodelay) {
			h_expect_nothing(h);
			p.ack = small_end - 100; /* the peer acks the full ones only */
			h_peer_ack(h, &p);
			h_expect_nothing(h);
			p.ack = small_end;
			h_peer_ack(h, &p);
		}
		h_peer_recv(h, &p, SEG(.flags = TH_ACK | TH_PSH, .len = 100));
		h_free(h);
	}
}

/* Opens a timestamped connection and uses up the quick ACKs, so that the
 * next ACKs follow the delayed-ACK rules. TS.Recent ends at 200. */
static struct h_peer ts_conn(struct harness *h)
{
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open_opt(h, l, 40000, 1000,
				     (struct tcp_opts){ .has_mss = true, .mss = 1460, .has_ts = true,
							.ts_val = 100 },
				     0);
	static uint8_t full[1448];
	p.opt.ts_val = 200;
	for (int k = 0; k < 16; k++) {
		h_peer_send(h, &p, TH_ACK, full, sizeof(full));
		struct tcp_seg a = h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
		assert_int_equal(a.opt.ts_ecr, 200); /* RFC 7323 §3.2: TSecr echoes TSval */
	}
	return p;
}

/* RFC 7323 §3.2 and §4.3: we echo the peer's TSval in TSecr; with a
 * delayed ACK the echo is that of the earliest unacknowledged segment
 * (Last.ACK.sent rule), so the peer measures the whole delay. Our own
 * TSval is a 1 ms clock. */
static void test_rfc7323_timestamps_echoed(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct h_peer p = ts_conn(h);
	uint32_t ts0 = h->last_sent.opt.ts_val;
	static uint8_t small[100];
	p.opt.ts_val = 300;
	h_peer_send(h, &p, TH_ACK, small, sizeof(small));
	h_advance(h, 5 * MS);
	p.opt.ts_val = 305;
	h_peer_send(h, &p, TH_ACK, small, sizeof(small));
	h_wait_segment(h, 1 * SEC);
	struct tcp_seg a = h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	assert_int_equal(a.opt.ts_ecr, 300);
	assert_int_equal(a.opt.ts_val - ts0, 40); /* ms since the last ACK */
	/* The next ACK echoes the newest segment it covers. */
	p.opt.ts_val = 310;
	h_peer_send(h, &p, TH_ACK, small, sizeof(small));
	h_wait_segment(h, 1 * SEC);
	a = h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
	assert_int_equal(a.opt.ts_ecr, 310);
	h_free(h);
}

/* RFC 7323 §5 PAWS, with Linux's one-tick tolerance (TCP_PAWS_WINDOW): a
 * data segment whose TSval is older than TS.Recent by more than 1 is
 * dropped and answered with a duplicate ACK (PAWSEstab); a reset is
 * exempt. */
static void test_rfc7323_paws_drops_old_segments(void **state)
{
	(void)state;
	static const struct {
		int32_t ts_off;  /* TSval relative to TS.Recent (200) */
		bool kept;
	} rows[] = {
		{ 1, true },          /* newer */
		{ 0, true },          /* equal */
		{ -1, true },         /* one tick older: Linux tolerates it */
		{ -2, false },        /* older: a stale duplicate */
		{ -1000000, false },  /* much older */
	};
	static uint8_t data[100];
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: TSval TS.Recent%+d\n", i, rows[i].ts_off);
		struct harness *h = h_new();
		struct h_peer p = ts_conn(h);
		size_t avail = tcp_recv_avail(p.c);
		uint32_t rcv_nxt = p.seq;
		p.opt.ts_val = 200 + (uint32_t)rows[i].ts_off;
		h_peer_send(h, &p, TH_ACK, data, sizeof(data));
		h_advance(h, 40 * MS);
		struct tcp_seg a = h_expect(h, SEG(.flags = TH_ACK));
		assert_int_equal(a.ack, rows[i].kept ? rcv_nxt + 100 : rcv_nxt);
		assert_int_equal(tcp_recv_avail(p.c), avail + (rows[i].kept ? 100 : 0));
		assert_int_equal(h_mib(h)->tcpext.PAWSEstab, rows[i].kept ? 0 : 1);
		if (!rows[i].kept) {
			/* A reset with a stale timestamp still resets. */
			h_inject(h, SEG(.flags = TH_RST, .seq = rcv_nxt, .opt = p.opt));
			assert_int_equal(tcp_conn_state(p.c), TCP_CLOSE);
		}
		h_free(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9293_data_both_ways),
		cmocka_unit_test(test_rfc9293_sequence_wraparound),
		cmocka_unit_test(test_rfc2018_reassembly_with_sack_blocks),
		cmocka_unit_test(test_rfc9293_duplicates_trimmed),
		cmocka_unit_test(test_rfc2883_dsack_reports_duplicates),
		cmocka_unit_test(test_rfc2883_dsack_out_of_order_duplicate),
		cmocka_unit_test(test_rfc7323_window_scaling_both_ways),
		cmocka_unit_test(test_rfc7323_receive_window_never_shrinks),
		cmocka_unit_test(test_rfc9293_zero_window_probes_and_reopening),
		cmocka_unit_test(test_linux_unanswered_zero_window_probes_give_up),
		cmocka_unit_test(test_rfc9293_our_zero_window_and_update),
		cmocka_unit_test(test_rfc9293_mss_clamping),
		cmocka_unit_test(test_linux_delayed_ack_and_quickack),
		cmocka_unit_test(test_rfc896_nagle),
		cmocka_unit_test(test_rfc7323_timestamps_echoed),
		cmocka_unit_test(test_rfc7323_paws_drops_old_segments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
