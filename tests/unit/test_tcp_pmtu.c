/* Path MTU discovery from ICMP (RFC 1191 §6.3; Linux tcp_v4_err(),
 * tcp_v4_mtu_reduced(), tcp_simple_retransmit()): a "fragmentation
 * needed" about a segment in flight shrinks the MSS to the next-hop MTU
 * less 40 and resends what was in flight at once, cut to the new size,
 * with the congestion window untouched; errors about other sequence
 * numbers are counted (OutOfWindowIcmps) and change nothing. */
#include "tcp_harness.h"

#include "icmp.h"
#include "tcp_int.h"

#define ROUTER 0xc61200feu /* 198.18.0.254, a router on the path */

#define FRAME_MAX (ETH_HLEN + IPV4_HLEN + ICMP_HLEN + IPV4_HLEN + 8)

/* Writes into frame the quote of our segment (80 -> p's port) that carried
 * `seq`: a full-sized TCP segment with DF, its IPv4 header and 8 bytes of
 * TCP. Returns where the quote starts. */
static uint8_t *quote_ours(uint8_t *frame, const struct h_peer *p, uint32_t seq)
{
	uint8_t *inner = frame + ETH_HLEN + IPV4_HLEN + ICMP_HLEN;
	inner[0] = 0x45;
	put_be16(inner + 2, 1500);
	put_be16(inner + 6, IPV4_DF);
	inner[8] = 64;
	inner[9] = IPPROTO_TCP_;
	put_be32(inner + 12, H_US);
	put_be32(inner + 16, H_PEER);
	put_be16(inner + 10, csum_buf(inner, IPV4_HLEN));
	put_be16(inner + IPV4_HLEN, p->our_port);
	put_be16(inner + IPV4_HLEN + 2, p->port);
	put_be32(inner + IPV4_HLEN + 4, seq);
	return inner;
}

/* Completes frame around the quote (its first `quote` bytes): ICMP 3/4
 * with next-hop `mtu` from the router, and injects it. */
static void inject_icmp(struct harness *h, uint8_t *frame, size_t quote, uint16_t mtu,
			bool bad_csum)
{
	uint8_t *ip = frame + ETH_HLEN, *icmp = ip + IPV4_HLEN;
	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = ICMP_FRAG_NEEDED;
	put_be16(icmp + 6, mtu);
	put_be16(icmp + 2, csum_buf(icmp, ICMP_HLEN + quote));
	if (bad_csum)
		icmp[2] ^= 0xff;
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(IPV4_HLEN + ICMP_HLEN + quote));
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP_;
	put_be32(ip + 12, ROUTER);
	put_be32(ip + 16, H_US);
	put_be16(ip + 10, csum_buf(ip, IPV4_HLEN));
	memcpy(frame, h_us_mac, 6);
	memcpy(frame + 6, h_peer_mac, 6);
	put_be16(frame + 12, ETH_P_IP);
	h_inject_frame(h, frame, ETH_HLEN + IPV4_HLEN + ICMP_HLEN + quote);
}

/* Injects ICMP 3/4 with next-hop `mtu` from the router about our segment
 * (80 -> p's port) that carried sequence number `seq`. */
static void inject_frag_needed(struct harness *h, const struct h_peer *p, uint32_t seq,
			       uint16_t mtu)
{
	uint8_t frame[FRAME_MAX] = { 0 };
	quote_ours(frame, p, seq);
	inject_icmp(h, frame, IPV4_HLEN + 8, mtu, false);
}

/* Sends `n` bytes from the application and returns the segments that left. */
static unsigned send_and_collect(struct harness *h, struct h_peer *p, uint32_t n,
				 struct tcp_seg *out, unsigned max)
{
	static uint8_t buf[8000];
	memset(buf, 'x', sizeof(buf));
	assert_true(n <= sizeof(buf));
	assert_int_equal(tcp_send(p->c, buf, n, h->now), (ssize_t)n);
	h_collect(h);
	unsigned k = 0;
	while (h->out_count && k < max)
		out[k++] = h_pop(h);
	return k;
}

/* Rows: next-hop MTU in the ICMP, the MSS we then use. */
static void test_rfc1191_frag_needed_shrinks_mss_and_resends(void **state)
{
	(void)state;
	static const struct {
		uint16_t mtu;
		uint16_t mss;
	} rows[] = {
		{ 1280, 1240 },
		{ 1400, 1360 },
		{ 300, 512 }, /* below Linux's min_pmtu 552: raised to it */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("next-hop MTU %u\n", rows[i].mtu);
		struct harness *h = h_new();
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_open(h, l, 1000);
		struct tcp_seg segs[16];
		unsigned n = send_and_collect(h, &p, 4000, segs, 16);
		assert_true(n >= 3);
		assert_int_equal(segs[0].len, 1460);
		uint32_t cwnd = p.c->cc.cwnd;
		inject_frag_needed(h, &p, segs[0].seq, rows[i].mtu);
		/* At once, no timer: the flight again, every segment cut. */
		uint32_t resent = 0;
		assert_true(h->out_count > 0);
		while (h->out_count) {
			struct tcp_seg s = h_pop(h);
			assert_int_equal(s.seq, p.iss + 1 + resent);
			assert_true(s.len <= rows[i].mss);
			resent += s.len;
		}
		assert_int_equal(resent, 4000);
		assert_int_equal(p.c->mss, rows[i].mss);
		assert_int_equal(p.c->cc.cwnd, cwnd);
		assert_true(h_mib(h)->tcp.RetransSegs >= 3);
		assert_int_equal(h_mib(h)->tcpext.TCPTimeouts, 0);
		assert_int_equal(h_mib(h)->icmp.InDestUnreachs, 1);
		/* Later data leaves at the new size too. */
		n = send_and_collect(h, &p, 3000, segs, 16);
		assert_true(n > 0);
		assert_int_equal(segs[0].len, rows[i].mss);
		h_free(h);
	}
}

/* Linux tcp_v4_err(): an error about a sequence number outside
 * [snd_una, snd_nxt) is not about a segment in flight (OutOfWindowIcmps);
 * one asking for a larger MTU than we use changes nothing. */
static void test_linux_frag_needed_ignored_unless_it_applies(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	struct tcp_seg segs[16];
	unsigned n = send_and_collect(h, &p, 2000, segs, 16);
	assert_int_equal(n, 2);
	inject_frag_needed(h, &p, p.iss + 1 + 5000, 1280); /* beyond what we sent */
	h_expect_nothing(h);
	assert_int_equal(h_mib(h)->tcpext.OutOfWindowIcmps, 1);
	inject_frag_needed(h, &p, p.iss, 1280); /* our SYN: acknowledged long ago */
	h_expect_nothing(h);
	assert_int_equal(h_mib(h)->tcpext.OutOfWindowIcmps, 2);
	inject_frag_needed(h, &p, segs[0].seq, 9000); /* larger than our path */
	h_expect_nothing(h);
	assert_int_equal(p.c->mss, 1460);
	assert_int_equal(h_mib(h)->tcp.RetransSegs, 0);
	h_free(h);
}

/* Malformed errors change nothing and crash nothing: the quoted datagram
 * cut short, not IPv4, not TCP, a header length below 20, a bad checksum
 * (counted by ICMP as InCsumErrors). */
static void test_frag_needed_malformed_is_ignored(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open(h, l, 1000);
	struct tcp_seg segs[4];
	assert_int_equal(send_and_collect(h, &p, 1460, segs, 4), 1);
	static const struct {
		const char *what;
		size_t cut;     /* bytes of the quoted datagram kept (0: all) */
		int off, val;   /* one byte of the quoted IPv4 header changed, or off < 0 */
		bool bad_csum;
	} rows[] = {
		{ "quoted header only", IPV4_HLEN, -1, 0, false },
		{ "quoted 10 bytes", 10, -1, 0, false },
		{ "IPv6 version", 0, 0, 0x65, false },
		{ "UDP, not TCP", 0, 9, 17, false },
		{ "header length 12", 0, 0, 0x43, false },
		{ "header length 60 (beyond the quote)", 0, 0, 0x4f, false },
		{ "bad ICMP checksum", 0, -1, 0, true },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("%s\n", rows[i].what);
		uint8_t frame[FRAME_MAX] = { 0 };
		uint8_t *inner = quote_ours(frame, &p, segs[0].seq);
		if (rows[i].off >= 0)
			inner[rows[i].off] = (uint8_t)rows[i].val;
		inject_icmp(h, frame, rows[i].cut ? rows[i].cut : IPV4_HLEN + 8, 1280, rows[i].bad_csum);
		h_expect_nothing(h);
		assert_int_equal(p.c->mss, 1460);
	}
	assert_int_equal(h_mib(h)->icmp.InCsumErrors, 1);
	assert_int_equal(h_mib(h)->tcp.RetransSegs, 0);
	h_free(h);
}

/* Linux tcp_write_timeout() and tcp_mtu_probing(): when ICMP never comes
 * back (a black hole), retransmissions past tcp_retries1 (3: 3 s of
 * backoff from a 200 ms RTO) suspect the path MTU. With tcp_mtu_probing=1
 * the next retransmission is cut to tcp_base_mss (1024), each later one to
 * half the last (512, 256, ...), never below tcp_mtu_probe_floor; with 0
 * the segment keeps its size until tcp_retries2 gives up. Rows: the
 * tunables, and the sizes of the first seven retransmissions. */
static void test_linux_mtu_black_hole_detection(void **state)
{
	(void)state;
	static const struct {
		int probing, base_mss, floor;
		uint32_t len[7];
	} rows[] = {
		{ 0, 1024, 48, { 1460, 1460, 1460, 1460, 1460, 1460, 1460 } },
		{ 1, 1024, 48, { 1460, 1460, 1460, 1024, 512, 256, 128 } },
		{ 1, 1200, 400, { 1460, 1460, 1460, 1200, 600, 400, 400 } },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("tcp_mtu_probing=%d tcp_base_mss=%d tcp_mtu_probe_floor=%d\n",
			      rows[i].probing, rows[i].base_mss, rows[i].floor);
		struct harness *h = h_new();
		struct tcp_sysctl *s = stack_sysctl(h->st);
		s->tcp_mtu_probing = rows[i].probing;
		s->tcp_base_mss = rows[i].base_mss;
		s->tcp_mtu_probe_floor = rows[i].floor;
		struct tcp_conn *l = h_listen(h, 80, 16);
		struct h_peer p = h_open(h, l, 1000);
		struct tcp_seg segs[4];
		assert_int_equal(send_and_collect(h, &p, 1460, segs, 4), 1);
		for (unsigned k = 0; k < 7; k++) {
			h_wait_segment(h, 200 * SEC);
			struct tcp_seg r = h_pop(h);
			assert_int_equal(r.seq, p.iss + 1); /* the same bytes, never ACKed */
			assert_int_equal(r.len, rows[i].len[k]);
			h_drop_output(h); /* the rest of the cut flight */
		}
		assert_int_equal(h_mib(h)->tcpext.TCPTimeouts, 7);
		h_free(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1191_frag_needed_shrinks_mss_and_resends),
		cmocka_unit_test(test_linux_frag_needed_ignored_unless_it_applies),
		cmocka_unit_test(test_frag_needed_malformed_is_ignored),
		cmocka_unit_test(test_linux_mtu_black_hole_detection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
