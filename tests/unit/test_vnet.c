/* Offloads (netemu/vnet.c and their use in the stack): the virtio_net_hdr
 * wire format, partial checksums (NEEDS_CSUM) completed as a NIC would,
 * software TSO as Linux's tcp_gso_segment cuts a superframe, receive of
 * superframes whose checksum the device vouches for, and TSO output
 * (stack_config.gso_max) counted as Linux counts it.
 *
 * Checksums are verified with the harness's own summing (f_sum below),
 * never with checksum.c. */
#include "tcp_harness.h"

#include <errno.h>

#include "vnet.h"

#define BIG 65536

/* Folded one's-complement sum, independent of checksum.c. */
static uint32_t f_sum(uint32_t acc, const uint8_t *p, size_t len)
{
	uint64_t s = acc;
	for (size_t i = 0; i < len; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

static uint32_t f_pseudo(uint32_t src, uint32_t dst, uint16_t len)
{
	uint8_t ph[12] = { 0 };
	put_be32(ph, src);
	put_be32(ph + 4, dst);
	ph[9] = IPPROTO_TCP_;
	put_be16(ph + 10, len);
	return f_sum(0, ph, sizeof(ph));
}

/* True when the frame's IPv4 header and TCP checksums are both right. */
static bool f_tcp4_valid(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + ETH_HLEN;
	size_t ihl = (size_t)(ip[0] & 15) * 4, tot = be16_at(ip + 2);
	if (ETH_HLEN + tot != len || f_sum(0, ip, ihl) != 0xffff)
		return false;
	uint32_t s = f_pseudo(be32_at(ip + 12), be32_at(ip + 16), (uint16_t)(tot - ihl));
	return f_sum(s, ip + ihl, tot - ihl) == 0xffff;
}

/* A TCP/IPv4 frame from the peer to us as a Linux sender with checksum
 * offload hands it to its device: the TCP checksum field holds only the
 * pseudo-header sum (NEEDS_CSUM). Payload byte i is (uint8_t)(i * 7).
 * Returns the frame length. */
static size_t f_partial_frame(uint8_t *buf, uint32_t seq, uint32_t ack, uint8_t flags,
			      size_t payload, uint16_t ip_id)
{
	memcpy(buf, h_us_mac, 6);
	memcpy(buf + 6, h_peer_mac, 6);
	put_be16(buf + 12, ETH_P_IP);
	uint8_t *ip = buf + ETH_HLEN, *th = ip + IPV4_HLEN;
	size_t tot = IPV4_HLEN + TCP_HDR_MIN + payload;
	memset(ip, 0, IPV4_HLEN + TCP_HDR_MIN);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)tot);
	put_be16(ip + 4, ip_id);
	put_be16(ip + 6, IPV4_DF);
	ip[8] = 64;
	ip[9] = IPPROTO_TCP_;
	put_be32(ip + 12, H_PEER);
	put_be32(ip + 16, H_US);
	put_be16(ip + 10, (uint16_t)~f_sum(0, ip, IPV4_HLEN));
	put_be16(th, 40000);
	put_be16(th + 2, 80);
	put_be32(th + 4, seq);
	put_be32(th + 8, ack);
	th[12] = 5 << 4;
	th[13] = flags;
	put_be16(th + 14, 65535);
	for (size_t i = 0; i < payload; i++)
		th[TCP_HDR_MIN + i] = (uint8_t)(i * 7);
	put_be16(th + 16, (uint16_t)f_pseudo(H_PEER, H_US, (uint16_t)(tot - IPV4_HLEN)));
	return ETH_HLEN + tot;
}

/* ---- the header ---- */

/* virtio 1.x §5.1.6: flags, gso_type, then four 16-bit fields, little
 * endian; get() reads back what put() wrote. */
static void test_virtio_hdr_layout_little_endian(void **state)
{
	(void)state;
	struct vnet_hdr h = { .flags = VNET_F_NEEDS_CSUM, .gso_type = VNET_GSO_TCPV4,
			      .hdr_len = 66, .gso_size = 1448, .csum_start = 34,
			      .csum_offset = 16 };
	uint8_t b[VNET_HDR_LEN];
	vnet_hdr_put(b, &h);
	const uint8_t want[VNET_HDR_LEN] = { 1, 1, 66, 0, 0xa8, 0x05, 34, 0, 16, 0 };
	assert_memory_equal(b, want, sizeof(want));
	struct vnet_hdr g;
	vnet_hdr_get(b, &g);
	assert_memory_equal(&g, &h, sizeof(h));
}

/* vnet_parse checks, in order: the header fits, the NEEDS_CSUM field lies
 * inside the frame, GSO is TCPv4 with a size over an IPv4/TCP frame. */
static void test_virtio_parse_checks_in_order(void **state)
{
	(void)state;
	static uint8_t buf[VNET_HDR_LEN + BIG];
	size_t flen = f_partial_frame(buf + VNET_HDR_LEN, 1, 1, TH_ACK, 3000, 1);
	struct vnet_hdr h;
	const uint8_t *f;
	size_t fl;
	memset(buf, 0, VNET_HDR_LEN);
	assert_int_equal(vnet_parse(buf, VNET_HDR_LEN - 1, &h, &f, &fl), VNET_DROP_TOO_SHORT);
	assert_int_equal(vnet_parse(buf, VNET_HDR_LEN + flen, &h, &f, &fl), VNET_OK);
	assert_ptr_equal(f, buf + VNET_HDR_LEN);
	assert_int_equal(fl, flen);
	assert_false(vnet_csum_trusted(&h));

	/* checksum field: the last two bytes may hold it, one further may not */
	struct vnet_hdr n = { .flags = VNET_F_NEEDS_CSUM, .csum_start = (uint16_t)(flen - 2) };
	vnet_hdr_put(buf, &n);
	assert_int_equal(vnet_parse(buf, VNET_HDR_LEN + flen, &h, &f, &fl), VNET_OK);
	assert_true(vnet_csum_trusted(&h));
	n.csum_offset = 1;
	vnet_hdr_put(buf, &n);
	assert_int_equal(vnet_parse(buf, VNET_HDR_LEN + flen, &h, &f, &fl), VNET_DROP_BAD_CSUM);

	/* GSO: TCPv4 (ECN allowed) with a size; not UDP, not size 0 */
	struct vnet_hdr g = { .gso_type = VNET_GSO_TCPV4 | VNET_GSO_ECN, .gso_size = 1448 };
	vnet_hdr_put(buf, &g);
	assert_int_equal(vnet_parse(buf, VNET_HDR_LEN + flen, &h, &f, &fl), VNET_OK);
	g.gso_type = VNET_GSO_UDP;
	vnet_hdr_put(buf, &g);
	assert_int_equal(vnet_parse(buf, VNET_HDR_LEN + flen, &h, &f, &fl), VNET_DROP_BAD_GSO);
	g.gso_type = VNET_GSO_TCPV4;
	g.gso_size = 0;
	vnet_hdr_put(buf, &g);
	assert_int_equal(vnet_parse(buf, VNET_HDR_LEN + flen, &h, &f, &fl), VNET_DROP_BAD_GSO);
	/* ... and not over an ARP frame */
	g.gso_size = 1448;
	vnet_hdr_put(buf, &g);
	put_be16(buf + VNET_HDR_LEN + 12, ETH_P_ARP);
	assert_int_equal(vnet_parse(buf, VNET_HDR_LEN + flen, &h, &f, &fl), VNET_DROP_BAD_GSO);
}

/* A NIC completing NEEDS_CSUM: the sum over [csum_start, end) with the
 * pseudo-header sum in the field gives the wire checksum. */
static void test_virtio_needs_csum_completed_like_a_nic(void **state)
{
	(void)state;
	static uint8_t f[BIG];
	for (size_t payload = 0; payload < 4; payload++) { /* odd and even ends */
		size_t len = f_partial_frame(f, 5, 6, TH_ACK | TH_PSH, 1000 + payload, 9);
		assert_false(f_tcp4_valid(f, len));
		struct vnet_hdr h = { .flags = VNET_F_NEEDS_CSUM, .csum_start = ETH_HLEN + IPV4_HLEN,
				      .csum_offset = 16 };
		vnet_csum_complete(f, len, &h);
		assert_true(f_tcp4_valid(f, len));
		h.flags = 0; /* nothing to do without NEEDS_CSUM */
		uint8_t before[2] = { f[ETH_HLEN + IPV4_HLEN + 16], f[ETH_HLEN + IPV4_HLEN + 17] };
		vnet_csum_complete(f, len, &h);
		assert_memory_equal(f + ETH_HLEN + IPV4_HLEN + 16, before, 2);
	}
}

/* ---- software TSO ---- */

/* Linux tcp_gso_segment: 3 full segments and a short one; sequence
 * numbers advance by the payload, IPv4 ids count up, FIN and PSH only on
 * the last segment, CWR only on the first, every checksum right, and the
 * payloads concatenated are the superframe's. */
static void test_linux_tso_segments_like_tcp_gso_segment(void **state)
{
	(void)state;
	static uint8_t f[BIG];
	size_t payload = 3 * 1448 + 100;
	size_t len = f_partial_frame(f, 0xfffff000u, 77, TH_ACK | TH_PSH | TH_FIN | TH_CWR,
				     payload, 0xfffe);
	struct pktq q = { 0 };
	assert_int_equal(vnet_tso_segment(f, len, 1448, &q), 4);
	assert_int_equal(q.count, 4);
	size_t off = 0;
	for (int i = 0; i < 4; i++) {
		struct pktbuf *pb = pktq_pop(&q);
		const uint8_t *ip = pb->data + ETH_HLEN, *th = ip + IPV4_HLEN;
		size_t chunk = i < 3 ? 1448 : 100;
		assert_int_equal(pb->len, ETH_HLEN + IPV4_HLEN + TCP_HDR_MIN + chunk);
		assert_memory_equal(pb->data, f, ETH_HLEN); /* same MACs */
		assert_true(f_tcp4_valid(pb->data, pb->len));
		assert_int_equal(be16_at(ip + 4), (uint16_t)(0xfffe + i)); /* wraps */
		assert_int_equal(be16_at(ip + 6), IPV4_DF);
		assert_int_equal(be32_at(th + 4), 0xfffff000u + (uint32_t)off);
		assert_int_equal(be32_at(th + 8), 77);
		uint8_t want = TH_ACK | (i == 0 ? TH_CWR : 0) | (i == 3 ? TH_PSH | TH_FIN : 0);
		assert_int_equal(th[13], want);
		assert_memory_equal(th + TCP_HDR_MIN, f + ETH_HLEN + IPV4_HLEN + TCP_HDR_MIN + off,
				    chunk);
		off += chunk;
		pktbuf_free(pb);
	}
	assert_int_equal(off, payload);
	pktbuf_pool_drain();
}

/* A frame whose payload fits gso_size (or gso_size 0) comes out whole,
 * with its checksum now complete; a frame that is not IPv4/TCP is refused. */
static void test_linux_tso_short_frame_is_one_segment(void **state)
{
	(void)state;
	static uint8_t f[BIG];
	size_t len = f_partial_frame(f, 1, 2, TH_ACK, 500, 3);
	struct pktq q = { 0 };
	assert_int_equal(vnet_tso_segment(f, len, 1448, &q), 1);
	assert_int_equal(vnet_tso_segment(f, len, 0, &q), 1);
	for (int i = 0; i < 2; i++) {
		struct pktbuf *pb = pktq_pop(&q);
		assert_int_equal(pb->len, len);
		assert_true(f_tcp4_valid(pb->data, pb->len));
		pktbuf_free(pb);
	}
	put_be16(f + 12, ETH_P_ARP);
	assert_int_equal(vnet_tso_segment(f, len, 1448, &q), -EINVAL);
	assert_int_equal(q.count, 0);
	pktbuf_pool_drain();
}

/* Large buffers: a 64 KiB frame gets a large buffer, recycled as one. */
static void test_pktbuf_large_class_holds_a_superframe(void **state)
{
	(void)state;
	struct pktbuf *s = pktbuf_alloc_len(PKTBUF_CAPACITY - PKTBUF_HEADROOM);
	assert_int_equal(s->cap, PKTBUF_CAPACITY);
	struct pktbuf *l = pktbuf_alloc_len(ETH_HLEN + 65535);
	assert_non_null(l);
	assert_int_equal(l->cap, PKTBUF_LARGE_CAPACITY);
	assert_int_equal(pktbuf_headroom(l), PKTBUF_HEADROOM);
	assert_true(pktbuf_tailroom(l) >= ETH_HLEN + 65535);
	assert_null(pktbuf_alloc_len(PKTBUF_LARGE_CAPACITY));
	l->gso_size = 1448;
	l->csum_partial = 1;
	pktbuf_free(l);
	pktbuf_free(s);
	struct pktbuf *l2 = pktbuf_alloc_len(3000);
	assert_ptr_equal(l2, l); /* from the large pool, reset */
	assert_int_equal(l2->gso_size, 0);
	assert_int_equal(l2->csum_partial, 0);
	assert_ptr_equal(pktbuf_alloc(), s);
	pktbuf_free(l2);
	pktbuf_free(s);
	pktbuf_pool_drain();
}

/* ---- the stack with offloads ---- */

/* Receive: a 40 KB superframe whose checksum is only the pseudo-header
 * sum is dropped as a checksum error from a plain device, and delivered
 * whole when the device vouches for it (STACK_RX_CSUM_OK), as Linux
 * trusts CHECKSUM_PARTIAL. */
static void test_linux_rx_trusts_partial_checksum_from_device(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 4);
	struct h_peer p = h_open(h, l, 1000);
	static uint8_t f[BIG], got[BIG];
	size_t payload = 40000;
	size_t len = f_partial_frame(f, p.seq, p.ack, TH_ACK | TH_PSH, payload, 1);

	stack_input(h->st, f, len, h->now);
	h_collect(h);
	assert_int_equal(h_mib(h)->tcp.InCsumErrors, 1);
	assert_int_equal(tcp_recv_avail(p.c), 0);

	stack_input_rx(h->st, f, len, STACK_RX_CSUM_OK, h->now);
	h_collect(h);
	assert_int_equal(h_mib(h)->tcp.InCsumErrors, 1);
	assert_int_equal(h_read(h, p.c, got, sizeof(got)), payload);
	for (size_t i = 0; i < payload; i++)
		if (got[i] != (uint8_t)(i * 7))
			fail_msg("byte %zu differs", i);
	/* more than one MSS arrived: acknowledged at once (Linux) */
	struct tcp_seg ack = h_pop(h);
	assert_int_equal(ack.ack, p.seq + payload);
	h_free(h);
}

/* Pops the stack's next frame (not through the harness: a superframe's
 * checksum is partial, which the harness would refuse). */
static struct pktbuf *pop_frame(struct harness *h)
{
	struct pktbuf *pb = stack_pop_output(h->st);
	assert_non_null(pb);
	return pb;
}

/* Transmit with gso_max: the first flight (10 segments of initial cwnd)
 * leaves as one superframe marked for TSO with a partial checksum; cut in
 * software it is exactly the 10 MSS-sized segments Linux would send, and
 * OutSegs counts 10 (tcp_skb_pcount). */
static void test_linux_tso_output_superframe_counts_segments(void **state)
{
	(void)state;
	struct harness *h = h_new();
	stack_set_gso_max(h->st, 65536); /* clamped to 65535 */
	assert_int_equal(stack_config(h->st)->gso_max, 65535);
	struct tcp_conn *l = h_listen(h, 80, 4);
	struct h_peer p = h_open(h, l, 1000);
	uint64_t segs0 = h_mib(h)->tcp.OutSegs;
	static uint8_t data[200000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	assert_true(tcp_send(p.c, data, sizeof(data), h->now) > 0);

	struct pktbuf *pb = pop_frame(h);
	assert_null(stack_pop_output(h->st)); /* one superframe for the flight */
	assert_int_equal(pb->gso_size, 1460);
	assert_true(pb->csum_partial);
	assert_int_equal(pb->len, ETH_HLEN + IPV4_HLEN + TCP_HDR_MIN + 10 * 1460);
	struct vnet_hdr vh;
	assert_int_equal(vnet_hdr_for(pb, &vh), 0);
	assert_int_equal(vh.flags, VNET_F_NEEDS_CSUM);
	assert_int_equal(vh.gso_type, VNET_GSO_TCPV4);
	assert_int_equal(vh.gso_size, 1460);
	assert_int_equal(vh.hdr_len, ETH_HLEN + IPV4_HLEN + TCP_HDR_MIN);
	assert_int_equal(vh.csum_start, ETH_HLEN + IPV4_HLEN);
	assert_int_equal(vh.csum_offset, 16);
	/* The partial field is what a Linux sender leaves: the pseudo-header
	 * sum over the whole TCP length. */
	const uint8_t *ip = pb->data + ETH_HLEN;
	assert_int_equal(be16_at(ip + IPV4_HLEN + 16),
			 (uint16_t)f_pseudo(H_US, H_PEER, (uint16_t)(TCP_HDR_MIN + 10 * 1460)));
	assert_int_equal(h_mib(h)->tcp.OutSegs - segs0, 10);

	struct pktq q = { 0 };
	assert_int_equal(vnet_tso_segment(pb->data, pb->len, pb->gso_size, &q), 10);
	uint16_t id0 = be16_at(ip + 4);
	for (uint32_t i = 0; i < 10; i++) {
		struct pktbuf *s = pktq_pop(&q);
		assert_true(f_tcp4_valid(s->data, s->len));
		assert_int_equal(s->len, ETH_HLEN + IPV4_HLEN + TCP_HDR_MIN + 1460);
		const uint8_t *sip = s->data + ETH_HLEN;
		assert_int_equal(be16_at(sip + 4), (uint16_t)(id0 + i));
		assert_int_equal(be32_at(sip + IPV4_HLEN + 4), p.iss + 1 + i * 1460);
		assert_memory_equal(sip + IPV4_HLEN + TCP_HDR_MIN, data + i * 1460, 1460);
		pktbuf_free(s);
	}
	pktbuf_free(pb);

	/* The next superframe's IPv4 id starts after the 10 the first used. */
	static uint8_t ackf[128];
	size_t alen = f_partial_frame(ackf, p.seq, p.ack + 10 * 1460, TH_ACK, 0, 2);
	stack_input_rx(h->st, ackf, alen, STACK_RX_CSUM_OK, h->now);
	pb = pop_frame(h);
	assert_int_equal(be16_at(pb->data + ETH_HLEN + 4), (uint16_t)(id0 + 10));
	pktbuf_free(pb);
	while ((pb = stack_pop_output(h->st)))
		pktbuf_free(pb);
	h_free(h);
}

/* Without gso_max every segment fits the MTU, however much is queued. */
static void test_linux_no_tso_without_gso_max(void **state)
{
	(void)state;
	struct harness *h = h_new();
	struct tcp_conn *l = h_listen(h, 80, 4);
	struct h_peer p = h_open(h, l, 1000);
	static uint8_t data[100000];
	assert_true(tcp_send(p.c, data, sizeof(data), h->now) > 0);
	struct pktbuf *pb;
	int n = 0;
	while ((pb = stack_pop_output(h->st))) {
		assert_int_equal(pb->gso_size, 0);
		assert_int_equal(pb->csum_partial, 0);
		assert_true(pb->len <= ETH_HLEN + 1500);
		pktbuf_free(pb);
		n++;
	}
	assert_int_equal(n, 10);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_virtio_hdr_layout_little_endian),
		cmocka_unit_test(test_virtio_parse_checks_in_order),
		cmocka_unit_test(test_virtio_needs_csum_completed_like_a_nic),
		cmocka_unit_test(test_linux_tso_segments_like_tcp_gso_segment),
		cmocka_unit_test(test_linux_tso_short_frame_is_one_segment),
		cmocka_unit_test(test_pktbuf_large_class_holds_a_superframe),
		cmocka_unit_test(test_linux_rx_trusts_partial_checksum_from_device),
		cmocka_unit_test(test_linux_tso_output_superframe_counts_segments),
		cmocka_unit_test(test_linux_no_tso_without_gso_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
